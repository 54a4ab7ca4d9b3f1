"""Exports that the generic readers read with wrong numbers and no word (session 65's
adversarial review of the readers): each read now gives the file's own spectrum."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import eisfit
from eisfit.io._common import ReadWarning

F = np.logspace(5, -1, 40)
Z = 10 + 100 / (1 + 2j * np.pi * F * 1e-3) + 200 / (1 + (2j * np.pi * F * 0.1) ** 0.8)
POINTS = list(zip(F.tolist(), Z.tolist()))  # Python floats: their repr is the number


def _read_one(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spectra = eisfit.read(path)
    assert len(spectra) == 1
    return spectra[0], [str(w.message) for w in caught]


@pytest.mark.parametrize("sep", [";", "\t", ","])
def test_pandas_to_csv_with_its_index_column(tmp_path, sep):
    """``df.to_csv(sep=';')`` writes ';freq;...' over an index column: the ';' was read as a
    comment mark (a tab as white space) and every name moved one column left: the index read
    as the frequency, the frequencies as Z'."""
    frame = pd.DataFrame({"freq": F, "Z real (Ohm)": Z.real, "Z imag (Ohm)": Z.imag}).iloc[3:]
    path = tmp_path / "pandas.csv"
    frame.to_csv(path, sep=sep)
    s, _ = _read_one(path)
    np.testing.assert_allclose(s.frequency, F[3:], rtol=1e-12)
    np.testing.assert_allclose(s.z, Z[3:], rtol=1e-12)


def test_a_header_over_a_point_number_marked_hash(tmp_path):
    path = tmp_path / "hash.csv"
    path.write_text("#;freq;Z real (Ohm);Z imag (Ohm)\n"
                    + "".join(f"{k};{f!r};{z.real!r};{z.imag!r}\n" for k, (f, z) in enumerate(POINTS, 1)))
    s, _ = _read_one(path)
    np.testing.assert_allclose(s.frequency, F, rtol=1e-12)


def test_a_short_first_row_no_longer_hides_the_header_and_its_units(tmp_path):
    """A first point with an empty Z'' cell made the table headerless: kHz and kOhm read as Hz
    and ohm, the row dropped, no warning. The header is kept and the row left out, named."""
    g = lambda v: f"{v:.6g}"  # noqa: E731
    path = tmp_path / "short.csv"
    path.write_text("\n".join(["Freq (kHz),Z' (kOhm),Z'' (kOhm)", f"{g(F[0] / 1e3)},{g(Z[0].real / 1e3)},"]
                              + [f"{g(f / 1e3)},{g(z.real / 1e3)},{g(z.imag / 1e3)}" for f, z in zip(F[1:], Z[1:])]) + "\n")
    s, caught = _read_one(path)
    np.testing.assert_allclose(s.frequency, F[1:], rtol=1e-5)
    np.testing.assert_allclose(s.z, Z[1:], rtol=1e-5)
    assert any("line(s) 2 between the header and the table hold fewer values than its 3 columns: left out" in w
               for w in caught)


def test_json_of_a_frame_with_a_text_index_keeps_its_rows_in_order(tmp_path):
    """The index keys 'p0', 'p1', 'p10'... were sorted as text: one sweep read as four."""
    frame = pd.DataFrame({"freq (Hz)": F, "Z' (Ohm)": Z.real, "Z'' (Ohm)": Z.imag}, index=[f"p{k}" for k in range(F.size)])
    path = tmp_path / "frame.json"
    path.write_text(frame.to_json())
    s, _ = _read_one(path)
    np.testing.assert_allclose(s.frequency, F, rtol=1e-9)  # to_json writes 10 digits
    assert json.loads(path.read_text())["freq (Hz)"]  # the columns layout, as written


def test_fit_columns_written_snake_case_are_not_read_as_data(tmp_path):
    path = tmp_path / "fit.csv"
    path.write_text("Freq/Hz,Z'_fit/Ohm,Z''_fit/Ohm,Z'/Ohm,Z''/Ohm\n" + "".join(
        f"{f!r},{2 * z.real!r},{2 * z.imag!r},{z.real!r},{z.imag!r}\n" for f, z in POINTS))
    s, _ = _read_one(path)
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)


def test_a_loop_time_is_no_sweep_counter_and_a_constant_cycle_column_splits_nothing(tmp_path):
    """'Loop time (s)' (a name starting with 'loop') split one sweep into 40 one-point
    spectra; a 'cycle number' of 0 on every row merged two sweeps into one."""
    timed = tmp_path / "timed.txt"
    timed.write_text("Freq (Hz)\tZ' (Ohm)\tZ'' (Ohm)\tLoop time (s)\n" + "".join(
        f"{f!r}\t{z.real!r}\t{z.imag!r}\t{1.5 * k!r}\n" for k, (f, z) in enumerate(POINTS)))
    s, _ = _read_one(timed)
    assert len(s) == F.size
    constant = tmp_path / "constant.txt"
    constant.write_text("Freq (Hz)\tZ' (Ohm)\tZ'' (Ohm)\tcycle number\n" + "".join(
        f"{f!r}\t{z.real!r}\t{z.imag!r}\t0\n" for f, z in POINTS + POINTS))
    assert [len(x) for x in eisfit.read(constant)] == [F.size, F.size]


def test_r_write_table_row_names_put_the_names_over_the_columns_after_them(tmp_path):
    """R's write.table writes one name fewer than the columns (none over its row names):
    the names had gone over the first columns, the row numbers read as the frequency."""
    path = tmp_path / "r.csv"
    path.write_text("freq;Zre;Zim\n" + "".join(f"{k};{f!r};{z.real!r};{z.imag!r}\n"
                                               for k, (f, z) in enumerate(POINTS, 1)))
    with pytest.warns(ReadWarning, match="the first column numbers the rows"):
        (s,) = eisfit.read(path)
    np.testing.assert_allclose(s.frequency, F, rtol=1e-12)
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)
