"""Empty cells in tables: a column filled in some rows only (what ``DataFrame.to_csv`` and
``to_excel`` write for missing values, with the DataFrame's index as an unnamed first
column) and rows that lack a value the spectrum needs (a spreadsheet row of a point never
measured). Real cases: an instrument workbook whose sweeps end with a row holding its index
alone had been refused whole; a DataFrame saved with a sparse column had been refused as
'mismatched row length'.

Every fixture is synthetic and written by the test; the expected impedances come from the
closed form of the circuit, not from the reader.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import eisfit
from eisfit.errors import CorruptFileError
from eisfit.io._common import ReadWarning

F = np.logspace(5, -1, 30)


def z_ohm(f_hz: np.ndarray) -> np.ndarray:
    """Closed form R0 + R1/(1 + jw R1 C1): 10 ohm, 100 ohm, 10 uF."""
    w = 2 * np.pi * f_hz
    return 10.0 + 100.0 / (1 + 1j * w * 100.0 * 1e-5)


def _frame(sparse_rows) -> pd.DataFrame:
    z = z_ohm(F)
    decade = np.full(F.size, np.nan)
    decade[list(sparse_rows)] = 1.0
    return pd.DataFrame({"freq": F, "real": z.real, "imag": z.imag, "decade": decade})


@pytest.mark.parametrize("sparse_rows", [[0, 5, 10, 15], [3], range(30)])
def test_a_dataframe_csv_with_its_index_and_a_sparse_column(tmp_path, sparse_rows):
    p = tmp_path / "frame.csv"
    _frame(sparse_rows).to_csv(p)  # the index as an unnamed first column, NaN as empty cells
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is left out
        (s,) = eisfit.read(p)
    np.testing.assert_allclose(s.frequency, F, rtol=1e-15)
    np.testing.assert_allclose(s.z, z_ohm(F), rtol=1e-14)
    decade = s.columns["decade"]
    assert np.count_nonzero(decade == 1.0) == len(list(sparse_rows))
    assert np.count_nonzero(np.isnan(decade)) == F.size - len(list(sparse_rows))


def test_a_row_without_an_impedance_value_is_left_out_and_named(tmp_path):
    z = z_ohm(F)
    lines = ["freq,real,imag,note"] + [f"{f!r},{a.real!r},{a.imag!r},{k}" for k, (f, a) in
                                       enumerate(zip(F.tolist(), z.tolist()))]
    lines[8] = f"{float(F[7])!r},,{float(z[7].imag)!r},7"  # Z' of the 8th point emptied (line 9)
    p = tmp_path / "gap.csv"
    p.write_text("\n".join(lines) + "\n")
    with pytest.warns(ReadWarning, match=r"gap\.csv: 1 row\(s\) without a value in 'real' left out \(line 9\)"):
        (s,) = eisfit.read(p)
    keep = np.arange(F.size) != 7
    np.testing.assert_allclose(s.frequency, F[keep], rtol=1e-15)
    np.testing.assert_allclose(s.z, z[keep], rtol=1e-14)


def test_a_table_whose_rows_all_lack_a_needed_value_is_refused(tmp_path):
    p = tmp_path / "hollow.csv"
    z = z_ohm(F)
    rows = [f"{f!r},{a.real!r},,{k}" for k, (f, a) in enumerate(zip(F.tolist(), z.tolist()))]
    rows[3] = f"{float(F[3])!r},{float(z[3].real)!r},,"  # the note column: every row has 4 cells
    p.write_text("freq,real,imag,note\n" + "\n".join(rows) + "\n")
    with pytest.raises(CorruptFileError, match=r"hollow\.csv: no row has a value in every column the spectrum "
                                               r"needs \('imag'\)"):
        eisfit.read(p)


def test_a_ragged_row_is_still_a_mismatch(tmp_path):
    p = tmp_path / "ragged.csv"  # a row with fewer cells (not empty cells) stays an error naming it
    p.write_text("freq,real,imag\n10,2,-3\n5,3\n1,3,-5\n")
    with pytest.raises(CorruptFileError, match="line 3: 2 values where the table has 3 columns"):
        eisfit.read(p)


def test_a_workbook_sheet_with_a_sparse_column_and_an_unmeasured_last_row(tmp_path):
    from test_io_xlsx import Book

    z = z_ohm(F)
    rows = [[None, "freq", "real", "imag", "decade"]]
    rows += [[k, float(f), float(a.real), float(a.imag), 1.0 if k % 10 == 0 else None]
             for k, (f, a) in enumerate(zip(F, z))]
    rows.append([F.size, None, None, None, None])  # the sweep's last row: its index alone
    p = Book().sheet("0.1", rows).sheet("0.2", rows[:-1]).save(tmp_path / "sweeps.xlsx")
    with pytest.warns(ReadWarning, match=r"sweeps\.xlsx: sheet '0\.1': 1 row\(s\) without a value in 'freq', 'real', "
                                         r"'imag' left out \(row 32\)"):
        a, b = eisfit.read(p)
    for s in (a, b):
        np.testing.assert_allclose(s.frequency, F, rtol=1e-15)
        np.testing.assert_allclose(s.z, z, rtol=1e-14)
    assert (a.meta["sheet"], b.meta["sheet"]) == ("0.1", "0.2")
    assert np.count_nonzero(a.columns["decade"] == 1.0) == 3


def test_a_sheet_whose_table_is_followed_by_padding_rows_in_a_side_column(tmp_path):
    # an instrument's transfer workbook: the data, an empty spacer column, a side column that
    # repeats the frequency and goes on with zeros for 20 rows below the table
    from test_io_xlsx import Book

    z = z_ohm(F)
    rows = [["Frequency (Hz)", "Z' (Ohm)", "Z'' (Ohm)", None, "X-axis"]]
    rows += [[float(f), float(a.real), float(a.imag), None, float(f)] for f, a in zip(F, z)]
    rows += [[None, None, None, None, 0.0]] * 20
    p = Book().sheet("trace", rows).save(tmp_path / "transfer.xlsx")
    with pytest.warns(ReadWarning, match=r"sheet 'trace': 20 row\(s\) without a value in 'Frequency \(Hz\)', "
                                         r"\"Z' \(Ohm\)\", \"Z'' \(Ohm\)\" left out \(row 32, 33, 34, 35, 36 \.\.\.\)"):
        (s,) = eisfit.read(p)
    np.testing.assert_allclose(s.frequency, F, rtol=1e-15)
    np.testing.assert_allclose(s.z, z, rtol=1e-14)


def test_a_headerless_table_with_an_empty_cell_has_its_columns_told_by_the_complete_rows(tmp_path):
    z = z_ohm(F)
    lines = [f"{f!r},{a.real!r},{a.imag!r}" for f, a in zip(F.tolist(), z.tolist())]
    lines[4] = f"{float(F[4])!r},,{float(z[4].imag)!r}"
    p = tmp_path / "bare.csv"
    p.write_text("\n".join(lines) + "\n")
    with pytest.warns(ReadWarning, match=r"bare\.csv: 1 row\(s\) without a value in 'column 2' left out \(line 5\)"):
        (s,) = eisfit.read(p)
    assert s.meta["columns_detected"] == {"frequency": "column 1", "real": "column 2", "imag": "column 3"}
    keep = np.arange(F.size) != 4
    np.testing.assert_allclose(s.z, z[keep], rtol=1e-14)
