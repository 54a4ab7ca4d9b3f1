"""Issue 14: Zahner .ism, RelaxIS exports, wide tables, headerless tables identified by
content, mostly-inductive spectra, cycle/time/loop columns and bad input.

Every fixture is synthetic and written by the test; the expected impedances come from
the closed form of the circuit below, not from the reader.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import eisfit
from eisfit.errors import CorruptFileError, MissingColumnError, ReadError
from eisfit.io import available_formats, detect_format
from eisfit.io._common import ReadWarning, build_spectra
from eisfit.model import Circuit

L_H = 2e-6  # series inductance of a large Li-ion cell (cables + windings)


def z_cell_ohm(f_hz: np.ndarray, l_h: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """Closed form jwL + R0 + R1/(1 + jw R1 C1) + 1/(Q (jw)^0.5), ohm."""
    w = 2 * np.pi * np.asarray(f_hz, dtype=float)
    return 1j * w * l_h + scale * (0.02 + 0.01 / (1 + 1j * w * 0.01) + 1 / (50 * (1j * w) ** 0.5))


def _num(x) -> str:
    return repr(float(x))


def _read_quiet(path: Path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none expected
        return eisfit.read(path, **options)


# ---- Zahner .ism ---------------------------------------------------------------------
def _ism_bytes(f_hz: np.ndarray, z_ohm: np.ndarray, count_minus_one: int | None = None,
               trailer: bytes = b"") -> bytes:
    n1 = f_hz.size - 1 if count_minus_one is None else count_minus_one
    return (bytes.fromhex("000000000004") + n1.to_bytes(6, "big") + f_hz.astype(">f8").tobytes()
            + np.abs(z_ohm).astype(">f8").tobytes() + np.angle(z_ohm).astype(">f8").tobytes() + trailer)


def test_zahner_ism_detected_by_content_and_decoded(tmp_path):
    f = np.logspace(5, -1, 61)
    p = tmp_path / "cell_export.bin"  # no .ism extension: detection by content
    p.write_bytes(_ism_bytes(f, z_cell_ohm(f), trailer=b"\x00" * 40))
    assert detect_format(p) == "zahner-ism"
    (s,) = _read_quiet(p)
    np.testing.assert_array_equal(s.frequency, f)
    np.testing.assert_allclose(s.z, z_cell_ohm(f), rtol=1e-12)
    assert s.meta["ism_trailing_bytes"] == 40 and s.meta["ism_leading_points"] == 0
    (forced,) = _read_quiet(p, format="zahner-ism")
    np.testing.assert_array_equal(forced.z, s.z)


def test_zahner_ism_leading_points_swept_the_other_way_join_the_main_sweep(tmp_path):
    lead = np.array([1.5e3, 3e3, 6e3])  # swept upward first
    main = np.logspace(5, -1, 61)  # then down from the top
    f = np.r_[lead, main]
    p = tmp_path / "a.ism"
    p.write_bytes(_ism_bytes(f, z_cell_ohm(f)))
    (s,) = _read_quiet(p)
    assert len(s) == f.size
    assert np.all(np.diff(s.frequency) < 0)  # one sweep in the main (downward) direction
    np.testing.assert_allclose(s.z, z_cell_ohm(s.frequency), rtol=1e-12)
    np.testing.assert_array_equal(np.sort(s.frequency), np.sort(f))
    assert s.meta["ism_leading_points"] == 3
    assert "swept the other way" in s.meta["point_order"]


def test_zahner_ism_truncated_or_garbage_is_a_clear_error(tmp_path):
    f = np.logspace(4, 0, 20)
    cut = tmp_path / "cut.ism"
    cut.write_bytes(_ism_bytes(f, z_cell_ohm(f))[:-50])
    with pytest.raises(CorruptFileError, match="declares 20 points"):
        eisfit.read(cut)
    garbage = tmp_path / "bad.ism"
    garbage.write_bytes(_ism_bytes(f, z_cell_ohm(f) * 0 + 1e20 * np.exp(-0.5j)))
    with pytest.raises(CorruptFileError, match="1e\\+12 ohm"):
        eisfit.read(garbage, format="zahner-ism")
    huge_f = tmp_path / "hf.ism"
    huge_f.write_bytes(_ism_bytes(np.r_[3e38, f[1:]], z_cell_ohm(f)))
    with pytest.raises(CorruptFileError, match="outside the plausible"):
        eisfit.read(huge_f, format="zahner-ism")


# ---- RelaxIS export ------------------------------------------------------------------
def _relaxis_text(blocks) -> str:
    out = ["RelaxIS 3.0 Spectrum export", "01.05.2024 10:00:00",
           "Data: Frequency\tData: Z'\tData: Z''\tData: |Z|\tData: Theta (Z)"]
    for info, f, z in blocks:
        out.append(info)
        out += ["\t".join(_num(x) for x in (fi, zi.real, zi.imag, abs(zi), np.degrees(np.angle(zi))))
                for fi, zi in zip(f, z)]
    return "\n".join(out) + "\n"


def test_relaxis_export_reads_every_spectrum_with_its_metadata_line(tmp_path):
    f = np.logspace(5, -1, 41)
    blocks = [("DC: 0 V\tTM: 25 C\tModel: R-RC\tSource: a.mpr", f, z_cell_ohm(f)),
              ("DC: 0.1 V\tTM: 25 C\tModel: R-RC\tSource: b.mpr", f, z_cell_ohm(f, scale=2.0))]
    p = tmp_path / "export.txt"
    p.write_text(_relaxis_text(blocks))
    assert detect_format(p) == "relaxis"
    spectra = _read_quiet(p)
    assert len(spectra) == 2 and [s.meta["sweep"] for s in spectra] == [0, 1]
    for s, (info, fk, zk) in zip(spectra, blocks):
        np.testing.assert_allclose(s.frequency, fk, rtol=1e-15)
        np.testing.assert_allclose(s.z, zk, rtol=1e-12)
        assert s.meta["relaxis_info"] == " ".join(info.split())
        assert s.meta["format"] == "relaxis" and s.meta["export_date"] == "01.05.2024 10:00:00"


# ---- wide tables -----------------------------------------------------------------------
def _wide_text(f, cycles, minus=True, delimiter=","):
    im = "-Im(Z)" if minus else "Im(Z)"
    head = delimiter.join(["date", "cycle_Nr", "I/mA", "Q/mAh"]
                          + [c for x in f for c in (f"Re(Z){x:g}", f"{im}{x:g}")])
    lines = [head]
    for k, cycle in enumerate(cycles):
        z = z_cell_ohm(f, scale=1 + 0.1 * k)
        values = [v for zi in z for v in (zi.real, -zi.imag if minus else zi.imag)]
        lines.append(delimiter.join([f"2024-01-0{k + 1} 10:00", str(cycle), "0.5", _num(1.2 - 0.01 * k)]
                                    + [_num(v) for v in values]))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("minus", [True, False])
def test_wide_table_one_spectrum_per_row_frequency_from_column_names(tmp_path, minus):
    f = np.logspace(4, -1, 36)  # 72 impedance columns + 4 others, as in the issue
    p = tmp_path / "wide.csv"
    p.write_text(_wide_text(f, [5, 10, 15], minus=minus))
    assert detect_format(p) == "wide-table"
    spectra = _read_quiet(p)
    assert len(spectra) == 3
    for k, s in enumerate(spectra):
        np.testing.assert_allclose(s.frequency, [float(f"{x:g}") for x in f])
        np.testing.assert_allclose(s.z, z_cell_ohm(s.frequency, scale=1 + 0.1 * k), rtol=1e-5)
        assert s.meta["cycle"] == [5, 10, 15][k]
        assert s.meta["row_values"]["Q/mAh"] == pytest.approx(1.2 - 0.01 * k)
        assert s.meta["row_values"]["date"] == f"2024-01-0{k + 1} 10:00"
    assert spectra[0].meta["imag_sign_source"] == ("header" if minus else "data")


def test_wide_table_units_in_column_names(tmp_path):
    text = "cycle;Re(Z) @ 1 kHz;-Im(Z) @ 1 kHz;Re(Z)_500mHz;-Im(Z)_500mHz;Re(Z)_2Hz;-Im(Z)_2Hz\n1;1;-0.5;3;2;2;1\n"
    p = tmp_path / "w.txt"
    p.write_text(text)
    (s,) = eisfit.read(p)
    np.testing.assert_array_equal(s.frequency, [1000.0, 0.5, 2.0])
    np.testing.assert_array_equal(s.z, [1 + 0.5j, 3 - 2j, 2 - 1j])


def test_wide_table_of_zreal_and_zimag_blocks(tmp_path):
    # NREL/battery_capacity_from_eis's data.csv: conditions, then Zreal_<f>Hz, Zimag_<f>Hz, Zmag_<f>Hz
    # and Zphz_<f>Hz blocks (frequencies written as 3.2e+04): refused before as having no frequency column
    f = np.array([3.2e4, 2.5e3, 79.0, 0.5, 0.013])
    head = ["seriesIdx", "TdegC_EIS", "soc_EIS"] + [f"{block}_{x:.2g}Hz" for block in ("Zreal", "Zimag", "Zmag")
                                                     for x in f]
    rows = []
    for k in range(3):
        z = z_cell_ohm(f, scale=1 + 0.1 * k)
        rows.append([str(k), "25", "0.5"] + [_num(v) for v in (*z.real, *z.imag, *np.abs(z))])
    p = tmp_path / "data.csv"
    p.write_text(",".join(head) + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    spectra = eisfit.read(p)
    assert len(spectra) == 3 and spectra[0].meta["format"] == "wide-table"
    for k, s in enumerate(spectra):
        np.testing.assert_allclose(s.frequency, [float(f"{x:.2g}") for x in f])
        np.testing.assert_allclose(s.z, z_cell_ohm(f, scale=1 + 0.1 * k), rtol=1e-12)
        assert s.meta["row_values"]["TdegC_EIS"] == 25.0


@pytest.mark.parametrize("delimiter", ["\t", ";"])
def test_wide_table_with_decimal_commas_reads_them_as_decimals(tmp_path, delimiter):
    """A European export: decimal commas, also in a header frequency (Re(Z)0,5Hz). Values
    written with three decimals (12,594) were read as digits grouped by threes: 12594 ohm,
    1000x every value, without a warning; others with a comma were refused."""
    f = np.array([1e4, 100.0, 0.5])
    z = z_cell_ohm(f) * 1e3  # ohms of tens
    head = delimiter.join(["cycle", "Q/mAh"] + [c for x in ("10000", "100", "0,5")
                                                for c in (f"Re(Z){x}Hz", f"-Im(Z){x}Hz")])
    rows = []
    for k, digits in enumerate((3, 6)):
        values = [v for zi in z for v in (zi.real, -zi.imag)]
        rows.append(delimiter.join([str(k + 1), "1,25"] + [f"{v:.{digits}f}".replace(".", ",") for v in values]))
    p = tmp_path / "eu_wide.txt"
    p.write_text(head + "\n" + "\n".join(rows) + "\n")
    spectra = eisfit.read(p)
    assert [s.meta["decimal"] for s in spectra] == [",", ","]
    for s, digits in zip(spectra, (3, 6)):
        np.testing.assert_allclose(s.frequency, f)
        np.testing.assert_allclose(s.z, z, atol=10.0 ** -digits)
        assert s.meta["row_values"]["Q/mAh"] == 1.25


def test_wide_table_header_frequency_comma_follows_the_values_decimal_mark(tmp_path):
    # decimal points in the values: a comma in a header frequency groups digits (1,000 Hz),
    # and one that cannot (1,5) is an error, not a frequency of 1.5 or 15 Hz
    head = "cycle\tRe(Z)10,000Hz\t-Im(Z)10,000Hz\tRe(Z)1,000Hz\t-Im(Z)1,000Hz\tRe(Z)10\t-Im(Z)10"
    p = tmp_path / "us_wide.txt"
    p.write_text(head + "\n1\t1.5\t0.25\t2.5\t1.0\t4.0\t1.5\n")
    (s,) = eisfit.read(p)
    np.testing.assert_array_equal(s.frequency, [1e4, 1e3, 10.0])
    np.testing.assert_array_equal(s.z, [1.5 - 0.25j, 2.5 - 1j, 4 - 1.5j])
    p.write_text(head.replace("1,000Hz", "1,5Hz") + "\n1\t1.5\t0.25\t2.5\t1.0\t4.0\t1.5\n")
    with pytest.raises(CorruptFileError, match="'Re\\(Z\\)1,5Hz': its frequency is no number"):
        eisfit.read(p)


def test_wide_table_unpaired_column_is_an_error(tmp_path):
    p = tmp_path / "w.csv"
    p.write_text("Re(Z)1,-Im(Z)1,Re(Z)10,-Im(Z)10,Re(Z)100\n1,2,3,4,5\n")
    with pytest.raises(MissingColumnError, match="do not pair up at 100 Hz"):
        eisfit.read(p)


# ---- headerless tables: columns by content ---------------------------------------------
def _headerless(f, n_sweeps, l_h=L_H):
    rows = []
    for c in range(n_sweeps):
        z = z_cell_ohm(f, l_h, scale=1 + 0.05 * c)
        rows += [f"{abs(v):.12g}\t{x:.12g}\t{v.real:.12g}\t{v.imag:.12g}\t{c + 1}" for x, v in zip(f, z)]
    return "\n".join(rows) + "\n"


def test_headerless_modulus_f_re_im_cycle_identified_by_content(tmp_path):
    f = np.logspace(4, np.log10(9e-3), 60)
    p = tmp_path / "h.txt"
    p.write_text(_headerless(f, 8))
    spectra = _read_quiet(p)
    assert len(spectra) == 8 and {len(s) for s in spectra} == {60}
    for c, s in enumerate(spectra):
        np.testing.assert_allclose(s.frequency, f, rtol=1e-11)
        np.testing.assert_allclose(s.z, z_cell_ohm(f, L_H, scale=1 + 0.05 * c), rtol=1e-10)
        assert s.meta["cycle"] == c + 1
    rule = spectra[0].meta["columns_rule"]
    assert "frequency = column 2" in rule and "|Z| = column 1" in rule and "cycle = column 5" in rule
    assert spectra[0].meta["columns_detected"] == {
        "frequency": "column 2", "sweep": "column 5", "real": "column 3", "imag": "column 4",
        "modulus": "column 1"}


def test_headerless_modulus_and_phase_beside_the_frequency_are_named_in_the_refusal(tmp_path):
    """An LCR meter's headerless f;|Z|;phase table. Where |Z| rises in log steps as steadily
    as the frequency falls (a dielectric sample), two columns look like frequencies and the
    file is refused: the refusal had offered only the real/imag form of --columns; it now
    names the phase column and the modulus/phase option, which reads the file. Where |Z|
    levels off (an arc) the table reads as f, Z', Z'' with the other reading in its rule, and
    a fit flags it (columns-modulus-phase). A sheet of Z', -Z'' pairs without frequencies
    (five rising columns) is told it holds none."""
    f = np.logspace(7, 1.4, 35)
    capacitor = 1 / (1j * 2 * np.pi * f * 5e-12)
    path = tmp_path / "lcr.txt"
    path.write_text("".join(f"{x:.9g};{abs(v):.9g};{np.degrees(np.angle(v)):.9g}\n" for x, v in zip(f, capacitor)))
    with pytest.raises(MissingColumnError, match=r"columns 1, 2 all look like frequencies; column 3 lies within ±90 "
                                                 r"\(a phase in deg\?\).*--columns frequency=0,modulus=1,phase=2"):
        eisfit.read(path)
    (s,) = eisfit.read(path, columns={"frequency": 0, "modulus": 1, "phase": 2})
    np.testing.assert_allclose(s.z, capacitor, rtol=1e-7)
    arc = 50 + 2e7 / (1 + 1j * 2 * np.pi * f * 2e7 * 5e-12)
    path.write_text("".join(f"{x:.9g};{abs(v):.9g};{np.degrees(np.angle(v)):.9g}\n" for x, v in zip(f, arc)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (s,) = eisfit.read(path)
        assert "--columns frequency=0,modulus=1,phase=2 reads it" in s.meta["columns_rule"]
        assert any(flag.startswith("columns-modulus-phase") for flag in eisfit.fit(s, circuit="R0-p(R1,CPE1)").flags)
    pairs = tmp_path / "pairs.txt"
    arcs = [30 * k + 100 / (1 + 1j * 2 * np.pi * f * 1e-4 * k) for k in range(1, 6)]
    pairs.write_text("".join("\t".join(f"{a[i].real:.9g}\t{-a[i].imag:.9g}" for a in arcs) + "\n" for i in range(f.size)))
    with pytest.raises(MissingColumnError, match="seldom frequencies: a table of Z', -Z'' pairs without its frequencies"):
        eisfit.read(pairs)


def test_headerless_columns_of_zeros_are_padding_not_a_cycle(tmp_path):
    """A public headerless f, Z', Z'', 0, 0, 0 table read "cycle 0" from its padding; a column
    of zeros is set aside (the rule says so), a column of one cycle number is still the cycle."""
    f = np.logspace(4, -1, 30)
    z = z_cell_ohm(f)
    padded = tmp_path / "padded.csv"
    padded.write_text("".join(f"{x:.6E},{v.real:.6E},{v.imag:.6E},0.00000E+00,0,0\n" for x, v in zip(f, z)))
    (s,) = eisfit.read(padded)
    assert "cycle" not in s.meta and "column(s) 4, 5, 6 all zeros (set aside)" in s.meta["columns_rule"]
    np.testing.assert_allclose(s.z, z, rtol=1e-5)
    numbered = tmp_path / "numbered.csv"
    numbered.write_text("".join(f"{x:.6E},{v.real:.6E},{v.imag:.6E},3\n" for x, v in zip(f, z)))
    (s,) = eisfit.read(numbered)
    assert s.meta["cycle"] == 3


def test_headerless_ambiguous_tables_ask_for_columns(tmp_path):
    f = np.logspace(4, -1, 30)
    z = z_cell_ohm(f)
    two_freqs = tmp_path / "two.txt"  # two log-spaced positive columns
    two_freqs.write_text("".join(f"{x!r}\t{2 * x!r}\t{v.real!r}\t{v.imag!r}\n" for x, v in
                                 zip(f.tolist(), z.tolist())))
    with pytest.raises(MissingColumnError, match="columns 1, 2 all look like frequencies.*columns="):
        eisfit.read(two_freqs)
    extra = tmp_path / "extra.txt"  # f, Z', Z'' and two unexplained columns
    extra.write_text("".join(f"{x!r}\t{v.real!r}\t{v.imag!r}\t{float(np.sin(k))!r}\t{float(np.cos(k))!r}\n"
                             for k, (x, v) in enumerate(zip(f.tolist(), z.tolist()))))
    with pytest.raises(MissingColumnError, match="--columns"):
        eisfit.read(extra)
    # the option resolves it
    spectra = eisfit.read(extra, columns={"frequency": 0, "real": 1, "imag": 2})
    np.testing.assert_allclose(spectra[0].z, z, rtol=1e-15)


@pytest.mark.parametrize("n_sweeps", [1, 3])
def test_headerless_f_re_minus_im_of_two_arcs(tmp_path, n_sweeps):
    """f, Z', -Z'' with no header (the layout of DRTtools' sample files): -Z'' of two arcs is
    positive, and monotonic and log-spaced between its turning points, so it looked like a
    second frequency column and the file was refused. Only the frequency repeats one grid."""
    f = np.logspace(5, -2, 50)
    circ = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
    zs = [circ.impedance([10, 100 * (1 + 0.2 * k), 1e-8, 0.9, 300, 1e-5, 0.8], f) for k in range(n_sweeps)]
    p = tmp_path / "drt_tools_like.txt"
    p.write_text("".join(f"{x!r}\t{v.real!r}\t{-v.imag!r}\n" for z in zs for x, v in zip(f.tolist(), z.tolist())))
    with pytest.warns(ReadWarning, match="holds -Z'' .*flipping it"):  # no header: the sign from the data
        spectra = eisfit.read(p)
    assert len(spectra) == n_sweeps
    for s, z in zip(spectra, zs):
        np.testing.assert_allclose(s.z, z, rtol=1e-15)
    assert "column 3 also rises and falls in log steps, but not over one repeated grid" in \
        spectra[0].meta["columns_rule"]


@pytest.mark.parametrize("layout", ["f re im phase", "f re minus_im minus_phase_rad", "f re im phase clock"])
def test_headerless_f_re_im_phase_reads_z_not_the_phase(tmp_path, layout):
    """f, Z', Z'', phase with no header and no |Z|: Z' rises over a sweep from high to low
    frequency as a clock does, was set aside as time, and the phase was read as Z' or Z''
    (a quarter of such generated tables read wrong values without an error). The phase is
    atan(Z''/Z') of the other two: it names them and their order."""
    f = np.logspace(6, -1, 36)
    w = 2 * np.pi * f
    z = 12 + 80 / (1 + (1j * w * 1e-6) ** 0.9) + 150 / (1 + (1j * w * 1e-3) ** 0.85)
    columns = {"f": f, "re": z.real, "im": z.imag, "minus_im": -z.imag, "phase": np.degrees(np.angle(z)),
               "minus_phase_rad": -np.angle(z), "clock": np.cumsum(np.maximum(1.0, 2.0 / f))}
    path = tmp_path / "bode_too.txt"
    np.savetxt(path, np.column_stack([columns[c] for c in layout.split()]), delimiter="\t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # -Z'' without a header: the sign from the data, said in a warning
        (s,) = eisfit.read(path)
    np.testing.assert_allclose(s.frequency, f, rtol=1e-12)
    np.testing.assert_allclose(s.z, z, rtol=1e-12)
    assert "atan(Z''/Z')" in s.meta["columns_rule"]
    assert s.meta["columns_detected"]["real"] == "column 2"


def test_headerless_f_minus_im_before_re_is_told_apart_by_the_shape_of_z_real(tmp_path):
    """f, -Z'', Z' with no header: both columns positive, so the usual order (Z' first) read
    them swapped. Z' of a passive RC network never falls as the frequency falls; -Z'' rises
    and falls over each arc. A column that only rises (-Z'' of a blocking line) decides nothing."""
    f = np.logspace(6, -1, 36)
    w = 2 * np.pi * f
    arcs = 12 + 80 / (1 + (1j * w * 1e-6) ** 0.9) + 150 / (1 + (1j * w * 1e-3) ** 0.85)
    p = tmp_path / "swapped.txt"
    np.savetxt(p, np.c_[f, -arcs.imag, arcs.real], delimiter="\t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # -Z'' without a header: the sign from the data
        (s,) = eisfit.read(p)
    np.testing.assert_allclose(s.z, arcs, rtol=1e-12)
    assert "never falls" in s.meta["columns_rule"]
    blocking = 12 + 80 / (1 + (1j * w * 1e-6) ** 0.9) + 1 / (1e-4 * (1j * w) ** 0.8)
    np.savetxt(p, np.c_[f, blocking.real, -blocking.imag], delimiter="\t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (s,) = eisfit.read(p)
    np.testing.assert_allclose(s.z, blocking, rtol=1e-12)
    assert "usual order" in s.meta["columns_rule"]


def _two_arcs_with_hf_artefact(f: np.ndarray) -> np.ndarray:
    """Two arcs whose Z' dips below zero at the two highest frequencies (an HF artefact, as in
    real PowerSuite data at 1.1-2 MHz), Z'' capacitive everywhere."""
    w = 2 * np.pi * f
    z = 12 + 80 / (1 + (1j * w * 1e-6) ** 0.9) + 150 / (1 + (1j * w * 1e-3) ** 0.85)
    z.real[:2] = [-3.0, -1.5]
    return z


def test_headerless_re_negative_at_high_frequency_is_not_taken_for_z_imag(tmp_path):
    """f, Z', -Z'' with Z' slightly negative at the highest frequencies: "Z' is the column
    positive everywhere" took -Z'' for Z' (Z' and Z'' swapped). A few small negative values
    at the high-frequency end do not tell Z' from Z''; the shapes do."""
    f = np.logspace(6, -1, 36)
    z = _two_arcs_with_hf_artefact(f)
    p = tmp_path / "artefact.txt"
    np.savetxt(p, np.c_[f, z.real, -z.imag], delimiter="\t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # -Z'' without a header: the sign from the data
        (s,) = eisfit.read(p)
    np.testing.assert_allclose(s.z, z, rtol=1e-12)
    assert "never falls" in s.meta["columns_rule"]


def test_headerless_unsure_which_column_is_z_real_is_refused(tmp_path):
    """A positive column after one negative only at the highest frequencies, with shapes that
    decide nothing (-Z'' of a blocking line only rises): refused with the remedy, not guessed."""
    f = np.logspace(6, -1, 36)
    w = 2 * np.pi * f
    z = 12 + 80 / (1 + (1j * w * 1e-6) ** 0.9) + 1 / (1e-4 * (1j * w) ** 0.8)
    z.real[:2] = [-3.0, -1.5]
    p = tmp_path / "blocking.txt"
    np.savetxt(p, np.c_[f, z.real, -z.imag], delimiter="\t")
    with pytest.raises(MissingColumnError, match="which one is Z' is not known.*--columns"):
        eisfit.read(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (s,) = eisfit.read(p, columns={"frequency": 0, "real": 1, "imag": 2}, imag_sign="positive")
    np.testing.assert_allclose(s.z, z, rtol=1e-12)


def test_headerless_powersuite_without_header_and_negated_z_imag(tmp_path, realdata):
    """The real PowerSuite sweep (its Z' goes negative at 1.1 and 2 MHz) without its header and
    with Z'' negated: Z' and Z'' were read swapped (Z' 49014 instead of 423929 ohm at 0.1 Hz)."""
    lines = (realdata / "text/impedance_py/data/exampleDataPowersuite.txt").read_text().splitlines()[1:]
    rows = [[float(v) for v in line.split()] for line in lines if line.strip()]
    p = tmp_path / "noheader_neg.txt"
    p.write_text("".join(f"{f!r}\t{re!r}\t{-im!r}\n" for f, re, im in rows))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (s,) = eisfit.read(p)
    assert s.frequency[0] == 0.1 and s.z[0] == complex(423929.46, -49014.063)


def test_headerless_f_re_im_keeps_the_usual_order(tmp_path):
    f = np.logspace(5, -1, 40)
    z = z_cell_ohm(f)
    p = tmp_path / "three.csv"
    p.write_text("".join(f"{x!r},{v.real!r},{v.imag!r}\n" for x, v in zip(f.tolist(), z.tolist())))
    (s,) = _read_quiet(p)
    np.testing.assert_array_equal(s.z, z)


# ---- sign of Z'' on mostly-inductive spectra ------------------------------------------
def _read_sign_undeclared(path: Path, f: np.ndarray, z: np.ndarray, stored: str):
    """The spectrum read from a 'freq,Zre,Zim' table (a header that fixes no sign convention)
    holding Z'' (``stored`` "z_imag") or -Z'' of ``z``, and the warnings of the read."""
    column = z.imag if stored == "z_imag" else -z.imag
    path.write_text("freq,Zre,Zim\n" + "".join(f"{x!r},{a!r},{b!r}\n" for x, a, b in
                                               zip(f.tolist(), z.real.tolist(), column.tolist())))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (s,) = eisfit.read(path)
    return s, caught


@pytest.mark.parametrize("stored", ["z_imag", "minus_z_imag"])
def test_mostly_inductive_spectrum_sign_from_low_frequency_end(tmp_path, stored):
    f = np.logspace(5, -1, 61)
    l_h = 2e-5
    z = z_cell_ohm(f, l_h)
    assert np.mean(z.imag > 0) > 0.5  # precondition: most points inductive
    s, caught = _read_sign_undeclared(tmp_path / "li_ion.csv", f, z, stored)
    np.testing.assert_allclose(s.z, z, rtol=1e-15)
    assert np.max(-s.z.imag) == pytest.approx(np.max(-z.imag))
    assert "low-frequency end" in s.meta["imag_sign_rule"] and "arc shape" in s.meta["imag_sign_rule"]
    flipped = [w for w in caught if "flipping" in str(w.message)]
    assert len(flipped) == (0 if stored == "z_imag" else 1)
    assert all(issubclass(w.category, ReadWarning) for w in caught)


@pytest.mark.parametrize("stored", ["z_imag", "minus_z_imag"])
def test_an_inductance_alone_in_a_file_keeps_its_sign_in_either_convention(tmp_path, stored):
    """The readers use the rule of eisfit._sign where the header does not fix the convention:
    a column of -Z'' holding an R-L measurement (every point inductive) is flipped, one of Z''
    is kept (the low-frequency rule alone had taken the inductive points for capacitive ones)."""
    f = np.logspace(6, 1, 30)
    z = 0.5 + 1j * 2 * np.pi * f * 2e-7
    s, caught = _read_sign_undeclared(tmp_path / f"{stored}.csv", f, z, stored)
    np.testing.assert_allclose(s.z, z, rtol=1e-15)
    assert "an inductance" in s.meta["imag_sign_rule"]
    assert len([w for w in caught if "flipping" in str(w.message)]) == (stored == "minus_z_imag")


# ---- cycle / time / loop columns -----------------------------------------------------
def test_cycle_time_and_loop_columns_become_meta(tmp_path):
    f = np.logspace(4, 0, 9)
    lines = ["freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\tcycle number\ttime/s\tloop_index"]
    for k in range(3):
        z = z_cell_ohm(f, scale=1 + k)
        lines += [f"{x!r}\t{v.real!r}\t{-v.imag!r}\t{k + 2}\t{100.0 * k + j!r}\t{k}"
                  for j, (x, v) in enumerate(zip(f.tolist(), z.tolist()))]
    p = tmp_path / "c.txt"
    p.write_text("\n".join(lines) + "\n")
    spectra = _read_quiet(p)
    assert [s.meta["cycle"] for s in spectra] == [2, 3, 4]
    assert [s.meta["time_s"] for s in spectra] == [0.0, 100.0, 200.0]
    assert [s.meta["loop"] for s in spectra] == [0, 1, 2]
    np.testing.assert_allclose(spectra[2].z, z_cell_ohm(f, scale=3), rtol=1e-15)


def test_mpt_cycle_number_and_time_become_meta(tmp_path):
    f = np.logspace(4, 0, 5)
    lines = ["freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\ttime/s\tcycle number"]
    for k in range(2):
        lines += [f"{x!r}\t1.0\t0.5\t{50.0 * k + j!r}\t{k + 1}.0" for j, x in enumerate(f.tolist())]
    p = tmp_path / "a.mpt"
    p.write_text("\n".join(lines) + "\n")
    spectra = _read_quiet(p)
    assert [(s.meta["cycle"], s.meta["time_s"]) for s in spectra] == [(1, 0.0), (2, 50.0)]


# ---- bad input -------------------------------------------------------------------------
def _csv_rows(f, z) -> list[str]:
    return [f"{x:.6e},{v.real:.6e},{v.imag:.6e}" for x, v in zip(f, z)]


def test_cut_last_line_is_dropped_with_a_warning(tmp_path):
    f = np.logspace(4, 0, 9)
    z = z_cell_ohm(f)
    rows = _csv_rows(f, z)
    p = tmp_path / "cut.csv"
    p.write_text("freq,zre,zim\n" + "\n".join(rows[:-1] + [rows[-1][:-1]]))  # 4.93e-01 -> 4.93e-0
    with pytest.warns(ReadWarning, match="line 10 looks cut off"):
        (s,) = eisfit.read(p)
    assert len(s) == 8
    np.testing.assert_allclose(s.z, z[:8], rtol=1e-6)
    fewer = tmp_path / "fewer.csv"
    fewer.write_text("freq,zre,zim\n" + "\n".join(rows[:-1] + [rows[-1].rsplit(",", 1)[0]]))
    with pytest.warns(ReadWarning, match="looks cut off"):
        (s,) = eisfit.read(fewer)
    assert len(s) == 8
    complete = tmp_path / "complete.csv"  # same rows, no final line end, nothing cut
    complete.write_text("freq,zre,zim\n" + "\n".join(rows))
    (s,) = _read_quiet(complete)
    assert len(s) == 9


def test_odd_length_utf16_is_a_read_error(tmp_path):
    """A UTF-16 file cut inside a character (an odd byte that is no NUL padding) is refused;
    a trailing NUL byte is padding (a file copied while written), read with a warning."""
    p = tmp_path / "u16.csv"
    p.write_bytes("freq,zre,zim\n1,2,-3\n10,2,-1\n".encode("utf-16") + b"\x31")
    with pytest.raises(ReadError, match="undecodable text"):
        eisfit.read(p)
    with pytest.raises(ReadError, match="undecodable text"):
        eisfit.read(p, format="csv")
    p.write_bytes("freq,zre,zim\n1,2,-3\n10,2,-1\n".encode("utf-16") + b"\x00")
    with pytest.warns(UserWarning, match="1 NUL bytes at the end of the file ignored"):
        eisfit.read(p, format="csv")


@pytest.mark.parametrize("suffix", [".csv", ".mpt"])
def test_repeated_frequencies_warn_with_their_values(tmp_path, suffix):
    f = [1000.0, 100.0, 100.0, 10.0, 1.0]
    if suffix == ".csv":
        text = "freq,zre,zim\n" + "".join(f"{x!r},{1 + k!r},-0.5\n" for k, x in enumerate(f))
    else:
        text = "freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\n" + "".join(f"{x!r}\t{1 + k!r}\t0.5\n" for k, x in enumerate(f))
    p = tmp_path / f"dup{suffix}"
    p.write_text(text)
    with pytest.warns(ReadWarning, match=r"repeated frequencies in 1 sweep\(s\) \(sweep 0: 100 Hz\)"):
        (s,) = eisfit.read(p)
    assert len(s) == 5  # the points are kept


def test_repeated_frequency_check_is_shared_by_every_reader(tmp_path):
    """build_spectra is where .mpr, .mpt, tables, wide tables, RelaxIS and .ism end."""
    f = np.array([10.0, 5.0, 2.0, 1.0, 10.0, 5.0, 5.0, 1.0])
    with pytest.warns(ReadWarning, match=r"x.mpr: repeated frequencies in 1 sweep\(s\) \(sweep 1: 5 Hz\)"):
        spectra = build_spectra(tmp_path / "x.mpr", f, np.ones(8) - 0.5j, {},
                                [np.arange(0, 4), np.arange(4, 8)])
    assert [len(s) for s in spectra] == [4, 4]


@pytest.mark.parametrize("suffix,bad", [(".csv", "1e-45"), (".csv", "3e38"), (".mpt", "1e-45"),
                                        (".csv", "big_z")])
def test_implausible_frequency_or_modulus_is_an_error(tmp_path, suffix, bad):
    f = ["1000.0", "100.0", "10.0", "1.0"]
    zre = ["1.0", "2.0", "3.0", "4.0"]
    if bad == "big_z":
        zre[1] = "1e300"
    else:
        f[2] = bad
    sep, head = ("\t", "freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm") if suffix == ".mpt" else (",", "freq,zre,-zim")
    p = tmp_path / f"x{suffix}"
    p.write_text(head + "\n" + "".join(f"{a}{sep}{b}{sep}0.5\n" for a, b in zip(f, zre)))
    with pytest.raises(CorruptFileError, match="plausible 1e-06-1e\\+09 Hz" if bad != "big_z" else "1e\\+12 ohm"):
        eisfit.read(p)


def test_new_format_names_are_accepted_by_format():
    names = available_formats()
    for name in ("zahner-ism", "relaxis", "wide-table", "biologic-mpr", "biologic-mpt"):
        assert name in names


# ---- command line ----------------------------------------------------------------------
def _cli(args):
    from click.testing import CliRunner

    from eisfit.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def test_info_shows_cycle_and_time_and_prints_names_that_format_accepts(tmp_path):
    f = np.logspace(4, 0, 9)
    table = tmp_path / "c.txt"
    table.write_text("freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\tcycle number\ttime/s\n" + "".join(
        f"{x!r}\t1.5\t0.5\t{k + 7}\t{3600.0 * k + j!r}\n" for k in range(2) for j, x in enumerate(f.tolist())))
    ism = tmp_path / "z.ism"
    ism.write_bytes(_ism_bytes(f, z_cell_ohm(f)))
    wide = tmp_path / "w.csv"
    wide.write_text(_wide_text(f, [3, 4]))
    result = _cli(["info", table, ism, wide])
    assert result.exit_code == 0, result.output
    assert "sweep 1: 9 points, 1 Hz - 10 kHz, cycle 8, time 3600 s" in result.output
    assert "sweep 1: 9 points, 1 Hz - 10 kHz, cycle 4" in result.output
    for path in (table, ism, wide):
        line = next(ln for ln in result.output.splitlines() if ln.startswith(f"{path}: format "))
        name = line.split("format ", 1)[1].split(",")[0]
        forced = _cli(["read", path, "--format", name])
        assert forced.exit_code == 0, (name, forced.output)


def test_columns_option_on_the_command_line(tmp_path):
    f = np.logspace(4, -1, 30)
    z = z_cell_ohm(f)
    p = tmp_path / "extra.txt"
    p.write_text("".join(f"{v.real!r}\t{x!r}\t{v.imag!r}\t{float(np.sin(k))!r}\t{float(np.cos(k))!r}\n"
                         for k, (x, v) in enumerate(zip(f.tolist(), z.tolist()))))
    failed = _cli(["read", p])
    assert failed.exit_code == 2 and "--columns" in failed.output
    result = _cli(["read", p, "--columns", "frequency=1,real=0,imag=2"])
    assert result.exit_code == 0, result.output
    rows = [ln.split(",") for ln in result.output.splitlines()[1:]]
    np.testing.assert_allclose([float(r[3]) for r in rows], z.imag, rtol=1e-15)
    bad = _cli(["read", p, "--columns", "frequency"])
    assert bad.exit_code == 2 and "ROLE=COLUMN" in bad.output


# ---- large tables: the fast parser gives the same numbers and the same errors ---------
def _long_table(n_sweeps: int, delimiter=",", decimal="."):
    f = np.logspace(5, -1, 50)
    rows = []
    for k in range(n_sweeps):
        z = z_cell_ohm(f, scale=1 + 0.01 * k)
        rows += [delimiter.join(_num(v).replace(".", decimal) for v in (x, zi.real, zi.imag))
                 for x, zi in zip(f, z)]
    return f, rows


@pytest.mark.parametrize("delimiter,decimal", [(",", "."), (";", ","), ("\t", ".")])
def test_large_table_values_exact(tmp_path, delimiter, decimal):
    f, rows = _long_table(60, delimiter, decimal)  # 3000 rows: the fast path
    p = tmp_path / "long.csv"
    p.write_text(delimiter.join(["freq", "zre", "zim"]) + "\n" + "\n".join(rows) + "\n")
    spectra = _read_quiet(p)
    assert len(spectra) == 60
    for k, s in enumerate(spectra):
        np.testing.assert_array_equal(s.frequency, f)
        np.testing.assert_array_equal(s.z, z_cell_ohm(f, scale=1 + 0.01 * k))


def test_large_table_bad_value_still_named_by_line(tmp_path):
    f, rows = _long_table(60)
    rows[2400] = rows[2400].replace(",", ",abc", 1)
    p = tmp_path / "long.csv"
    p.write_text("freq,zre,zim\n" + "\n".join(rows) + "\n")
    with pytest.raises(CorruptFileError, match="line 2402: non-numeric value"):
        eisfit.read(p)


def test_wide_table_bad_value_and_cut_last_row(tmp_path):
    f = np.logspace(3, 0, 4)
    text = _wide_text(f, [1, 2, 3])
    bad = tmp_path / "bad.csv"
    bad.write_text(text.replace(_num(z_cell_ohm(f, scale=1.1)[2].real), "abc", 1))
    with pytest.raises(CorruptFileError, match="line 3: 'abc' in column 'Re\\(Z\\)10' is not a number"):
        eisfit.read(bad)
    cut = tmp_path / "cut.csv"
    cut.write_text(text.rstrip("\n").rsplit(",", 2)[0])
    with pytest.warns(ReadWarning, match="line 4 looks cut off"):
        spectra = eisfit.read(cut)
    assert [s.meta["cycle"] for s in spectra] == [1, 2]


def test_headerless_table_with_a_repeated_frequency_is_still_identified(tmp_path):
    f = np.r_[np.logspace(4, 1, 13), 10.0, np.logspace(0.75, -1, 8)]  # 10 Hz twice
    z = z_cell_ohm(f)
    p = tmp_path / "rep.txt"
    p.write_text("".join(f"{v.real!r} {x!r} {v.imag!r} {abs(v)!r}\n" for x, v in zip(f.tolist(), z.tolist())))
    with pytest.warns(ReadWarning, match="sweep 0: 10 Hz"):
        (s,) = eisfit.read(p)
    np.testing.assert_array_equal(s.frequency, f)
    np.testing.assert_array_equal(s.z, z)
    assert s.meta["columns_detected"]["frequency"] == "column 2"


def test_short_last_value_of_a_free_width_column_is_kept(tmp_path):
    p = tmp_path / "free.csv"  # widths vary: a short last value is no sign of a cut
    p.write_text("freq,zre,zim\n1000,10.5,-20.125\n100,11.25,-15.3\n10,12.0,-9.75\n1,13.5,-9")
    (s,) = _read_quiet(p)
    assert len(s) == 4 and s.z[-1] == 13.5 - 9j


def test_headerless_bode_table_with_columns_option(tmp_path):
    f = np.logspace(4, -1, 30)
    z = z_cell_ohm(f)
    p = tmp_path / "bode.txt"
    p.write_text("".join(f"{x!r}\t{abs(v)!r}\t{float(np.degrees(np.angle(v)))!r}\n" for x, v in zip(f.tolist(), z.tolist())))
    (s,) = eisfit.read(p, columns={"frequency": 0, "modulus": 1, "phase": 2})
    np.testing.assert_allclose(s.z, z, rtol=1e-12)


def test_zahner_ism_phases_are_read_as_the_format_stores_them_unless_told(tmp_path):
    f = np.logspace(5, -1, 61)
    p = tmp_path / "neg.ism"
    p.write_bytes(_ism_bytes(f, np.conj(z_cell_ohm(f))))  # phases stored with the other sign (another program)
    (s,) = _read_quiet(p)  # the format's convention, the phase of Z: no guess from the data
    np.testing.assert_allclose(s.z, np.conj(z_cell_ohm(f)), rtol=1e-12)
    assert s.meta["imag_sign"] == "phase of Z" and s.meta["imag_sign_source"] == "format"
    assert "low-frequency end" in s.meta["imag_sign_rule"]  # what the data rule sees, for the record
    (s,) = _read_quiet(p, imag_sign="positive")
    np.testing.assert_allclose(s.z, z_cell_ohm(f), rtol=1e-12)
    assert s.meta["imag_sign"] == "negated phase" and s.meta["imag_sign_source"] == "option"
    with pytest.raises(ReadError, match="imag_sign must be one of"):
        eisfit.read(p, imag_sign="flipped")


def test_zahner_ism_inductive_shunt_keeps_its_sign(tmp_path):
    # a 0.5 mOhm shunt to 1 MHz (a real Zahner file's shape): inductive wherever |Z''| counts, Z'
    # bending negative at the top (the instrument's artefact); the data rule reads that as a negated
    # arc, the format stores the phase of Z
    f = np.logspace(6, 0, 61)
    w = 2 * np.pi * f
    z = 5.1e-4 + 1j * w * 2e-10 - 1.7e-3 * (f / 1e6) ** 2
    p = tmp_path / "shunt.ism"
    p.write_bytes(_ism_bytes(f, z))
    (s,) = _read_quiet(p)
    np.testing.assert_allclose(s.z, z[::-1] if s.frequency[0] < s.frequency[-1] else z, rtol=1e-12)
    assert np.all(s.z.imag > 0)


def test_spectrum_ending_on_a_noisy_resistive_plateau_keeps_its_sign_without_warning(tmp_path):
    f = np.logspace(6, -2, 50)
    w = 2 * np.pi * f
    z = 30 + 150 / (1 + 1j * w * 150 * 1e-6)  # arc apex at ~1 kHz, plateau below ~1 Hz
    rng = np.random.default_rng(3)
    z = z * (1 + 0.01 * (rng.normal(size=f.size) + 1j * rng.normal(size=f.size)))
    low = z.imag[f < 0.5]
    assert 0.3 < np.mean(low > 0) < 0.7  # precondition: the lowest points are sign noise
    p = tmp_path / "plateau.csv"
    p.write_text("freq,zre,zim\n" + "".join(f"{x!r},{v.real!r},{v.imag!r}\n" for x, v in zip(f.tolist(), z.tolist())))
    (s,) = _read_quiet(p)
    np.testing.assert_array_equal(s.z, z)
    assert s.meta["imag_sign_source"] == "data"


def test_the_sign_rule_s_median_is_numpy_s():
    """The arc-shape rule's median of a few values (eisfit._sign._median) is np.median's, for odd
    and even counts and values of any size."""
    from eisfit._sign import _median

    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 4, 17, 18):
        for _ in range(50):
            values = rng.standard_normal(n) * 10 ** rng.uniform(-3, 6)
            assert _median(values) == float(np.median(values))



def test_the_sign_of_a_small_arc_on_a_large_series_resistance_is_decided(tmp_path):
    """An electrolyte-dominated cell (a 0.08 ohm arc on 1.43 ohm: -Z'' at most 1.5 % of |Z|, no
    point at the 5 % the sign rule asks) had the 'could not be decided' warning on every
    command: its points of 25 % of the largest |Z''| or more decide it, stored either way; a
    resistor whose Z'' is noise (0.01 % of |Z|) still says it cannot tell."""
    f = np.logspace(5, -3, 81)
    z = 1.425 + 0.08 / (1 + (2j * np.pi * f * 0.3) ** 0.8)
    noise = 2e-5 * np.random.default_rng(1).standard_normal(f.size)
    for flipped, stored in ((False, z.imag + noise), (True, -(z.imag + noise))):
        path = tmp_path / "small.csv"
        path.write_text("freq,Z_real,Z_imag\n" + "".join(f"{a:.12g},{b:.12g},{c:.12g}\n" for a, b, c in zip(f, z.real, stored)))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            (s,) = eisfit.read(path)
        said = " ".join(str(w.message) for w in caught)
        assert "could not be decided" not in said
        assert ("holds -Z''" in said) is flipped  # a flip the data decide is said
        np.testing.assert_allclose(s.z.imag, z.imag + noise, atol=1e-12)
        assert "a small arc" in s.meta["imag_sign_rule"]
    from eisfit._sign import capacitive_sign

    lead = 100.0 + 2j * np.pi * np.logspace(0, 5, 51) * 1e-6  # a resistor's leads: wL at most 0.63 % of |Z|
    sign, rule = capacitive_sign(np.logspace(0, 5, 51), lead.real, lead.imag)
    assert sign == -1 and "every point with |Z''| >= 25 % of its largest" in rule  # the points that judged it
    flat = tmp_path / "resistor.csv"
    flat.write_text("freq,Z_real,Z_imag\n" + "".join(f"{a:.12g},{100.0 + 1e-3 * k:.12g},{1e-2 * n:.12g}\n"
                                                      for k, (a, n) in enumerate(zip(f, noise / 2e-5))))
    with pytest.warns(UserWarning, match="could not be decided"):
        eisfit.read(flat)
