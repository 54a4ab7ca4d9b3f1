"""BioLogic .mpt reader on synthetic text exports (always run)."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from eisfit.errors import CorruptFileError, MissingColumnError, NoImpedanceDataError, ReadError
from eisfit.io import ReadWarning, mpt

LABELS = ["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "|Z|/Ohm", "Phase(Z)/deg", "time/s",
          "<Ewe>/V", "<I>/mA", "Cs/µF", "cycle number"]


def rows_for(n_sweeps: int = 2, n_per: int = 6, dc_rows: int = 2, cycle: bool = True) -> list[list[float]]:
    """Rows of LABELS values: DC rows (freq 0), then descending R0 + R1||C1 sweeps."""
    f = np.concatenate([np.zeros(dc_rows)] + [np.logspace(5, 0, n_per)] * n_sweeps)
    z = 10 + 100 / (1 + 2j * np.pi * np.where(f > 0, f, 1) * 100 * 1e-6)
    z[f == 0] = 0
    cyc = np.concatenate([np.ones(dc_rows)] + [np.full(n_per, k + 1.0) for k in range(n_sweeps)])
    if not cycle:
        cyc[:] = 0
    return [[f[i], z[i].real, -z[i].imag, abs(z[i]), np.degrees(np.angle(z[i])), 10.0 + i,
             3.4, 0.01, 1.5, cyc[i]] for i in range(f.size)]


def header_lines(n_header: int, technique: str = "Potentio Electrochemical Impedance Spectroscopy",
                 started: str = "03/02/2021 16:17:59.000", area: str = "0.785 cm²") -> list[str]:
    lines = ["EC-Lab ASCII FILE", f"Nb header lines : {n_header}                    ", "", technique, "",
             "Run on channel : 1 (SN 1)", f"Acquisition started on : {started}",
             "EC-Lab for windows v11.33 (software)", f"Electrode surface area : {area}",
             "Characteristic mass : 0.001 g"]
    return lines


def write_mpt(path: Path, rows: list[list[float]], *, labels: list[str] = LABELS, header: bool = True,
              decimal_comma: bool = False, newline: str = "\r\n", trailing_tab: bool = True,
              **header_kw) -> Path:
    def fmt(v: float) -> str:
        s = f"{v:.7E}"
        return s.replace(".", ",") if decimal_comma else s

    tail = "\t" if trailing_tab else ""
    body = ["\t".join(labels) + tail] + ["\t".join(fmt(v) for v in r) + tail for r in rows]
    lines = []
    if header:
        pre = header_lines(0, **header_kw)
        pre[1] = f"Nb header lines : {len(pre) + 1}                    "
        if decimal_comma:
            pre = [ln.replace("0.785", "0,785") for ln in pre]
        lines = pre
    text = newline.join(lines + body) + newline
    path.write_bytes(text.encode("cp1252"))
    return path


def test_header_block_crlf_cp1252(tmp_path):
    rows = rows_for()
    spectra = mpt.read(write_mpt(tmp_path / "a.mpt", rows))
    assert [len(s) for s in spectra] == [6, 6]
    s = spectra[0]
    np.testing.assert_allclose(s.frequency, [r[0] for r in rows[2:8]], rtol=1e-7)
    np.testing.assert_allclose(s.z.real, [r[1] for r in rows[2:8]], rtol=1e-7)
    np.testing.assert_allclose(s.z.imag, [-r[2] for r in rows[2:8]], rtol=1e-7)
    assert "Cs/µF" in s.columns and "time/s" in s.columns and "cycle number" in s.columns
    m = s.meta
    assert m["format"] == "biologic-mpt"
    assert m["technique"] == "Potentio Electrochemical Impedance Spectroscopy"
    assert m["technique_short"] == "PEIS"
    assert m["start_time"] == "2021-03-02T16:17:59.000"
    assert m["sweep_start_time"] == "2021-03-02T16:18:11.000"  # time/s = 12 s
    assert m["software_version"] == "11.33"
    assert m["area"] == 0.785 and m["area_unit"] == "cm2" and m["area_cm2"] == 0.785
    assert m["sweep"] == 0 and m["n_sweeps"] == 2


@pytest.mark.parametrize("newline", ["\r", "\r\r\n"])
def test_classic_mac_and_twice_converted_line_ends_read_as_crlf(tmp_path, newline):
    """CR alone, and CR CR LF (CRLF ends converted once more, e.g. copied in text mode on
    Windows), which Python splits into a line and an empty line each: the same spectra, with
    the header's 'Nb header lines' pointing at the labels as in the original."""
    rows = rows_for()
    want = mpt.read(write_mpt(tmp_path / "a.mpt", rows))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "does not point at the column labels" guess
        got = mpt.read(write_mpt(tmp_path / "b.mpt", rows, newline=newline))
    assert len(got) == len(want) == 2
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.frequency, w.frequency)
        np.testing.assert_array_equal(g.z, w.z)
        assert g.meta["start_time"] == w.meta["start_time"] and g.meta["area_cm2"] == w.meta["area_cm2"]


def _with_clock_times(path: Path, time_format: str, stamp: str, start="2021-03-02 16:17:59") -> Path:
    """The export at ``path`` as EC-Lab writes it with 'Time format : ``time_format``': time/s
    as the acquisition start + the elapsed seconds, written with ``stamp`` (strftime)."""
    import datetime as dt

    lines = path.read_bytes().decode("cp1252").split("\r\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("freq/Hz"))
    col = lines[at].split("\t").index("time/s")
    origin = dt.datetime.fromisoformat(start)
    for i in range(at + 1, len(lines)):
        fields = lines[i].split("\t")
        if len(fields) > col:
            moment = origin + dt.timedelta(seconds=float(fields[col]))
            fields[col] = moment.strftime(stamp)[:-2]  # 4 decimals of the second, as EC-Lab
            lines[i] = "\t".join(fields)
    lines[at - 1:at - 1] = ["Text export", "   Mode : Standard", f"   Time format : {time_format}"]
    lines[1] = f"Nb header lines : {at + 4}                    "
    path.write_bytes("\r\n".join(lines).encode("cp1252"))
    return path


@pytest.mark.parametrize("time_format,stamp", [("Absolute MMDDYYYY", "%m/%d/%Y %H:%M:%S.%f"),
                                               ("Absolute DDMMYYYY", "%d/%m/%Y %H:%M:%S.%f")])
def test_absolute_time_export_gives_the_elapsed_seconds_and_sweep_times(tmp_path, time_format, stamp):
    """EC-Lab's text export with an absolute time format writes a date and a clock time in
    time/s: read as seconds since the acquisition start (the same sweep times as the elapsed
    export), the day first where the header says so; 16:17:59 on 3 Feb and 2 Mar differ."""
    rows = rows_for()
    want = mpt.read(write_mpt(tmp_path / "elapsed.mpt", rows))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = mpt.read(_with_clock_times(write_mpt(tmp_path / "absolute.mpt", rows), time_format, stamp))
    assert len(got) == len(want) == 2
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.z, w.z)
        np.testing.assert_allclose(g.columns["time/s"], w.columns["time/s"], atol=1e-4)
        assert g.meta["time_s"] == pytest.approx(w.meta["time_s"], abs=1e-4)
        assert g.meta["sweep_start_time"] == w.meta["sweep_start_time"]
    assert got[1].meta["sweep_start_time"] == "2021-03-02T16:18:17.000"  # start + time/s 18 s


def test_absolute_time_export_without_a_start_keeps_exact_sweep_times(tmp_path):
    """An anonymised acquisition start: the first point is the time origin, and the sweep
    start times are still the clock times the file holds."""
    rows = rows_for()
    path = write_mpt(tmp_path / "anon.mpt", rows, started="XX/XX/XXXX XX:XX:XX")
    got = mpt.read(_with_clock_times(path, "Absolute MMDDYYYY", "%m/%d/%Y %H:%M:%S.%f"))
    assert got[0].meta["start_time"] is None
    assert [s.meta["sweep_start_time"] for s in got] == ["2021-03-02T16:18:11.000", "2021-03-02T16:18:17.000"]
    assert got[0].meta["time_s"] == pytest.approx(2.0)  # after the first (DC) row at 16:18:09


def test_absolute_times_whose_date_order_no_value_tells_follow_the_acquisition_start(tmp_path):
    """Dates such as 03/02/2021 under a time format that does not name the order: the reading
    whose first point follows the acquisition start most closely is taken, without a warning
    (the start, 02/03/2021 16:17:59, is 3 February: the times are read day first)."""
    rows = rows_for()
    path = write_mpt(tmp_path / "a.mpt", rows, started="02/03/2021 16:17:59.000")
    path = _with_clock_times(path, "Absolute", "%d/%m/%Y %H:%M:%S.%f", start="2021-02-03 16:17:59")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = mpt.read(path)
    assert [s.meta["sweep_start_time"] for s in got] == ["2021-02-03T16:18:11.000", "2021-02-03T16:18:17.000"]


def test_unreadable_or_unknown_time_values_leave_the_time_column_out_with_a_warning(tmp_path):
    rows = rows_for()
    path = write_mpt(tmp_path / "odd.mpt", rows)
    text = path.read_bytes().decode("cp1252").replace("1.0000000E+01\t3.4", "ten s\t3.4")
    path.write_bytes(text.encode("cp1252"))
    with pytest.warns(UserWarning, match=r"time/s holds 'ten s', neither seconds nor a date .* left out"):
        got = mpt.read(path)
    assert len(got) == 2 and "time/s" not in got[0].columns and got[0].meta.get("time_s") is None
    numbers = write_mpt(tmp_path / "excel.mpt", rows)
    lines = numbers.read_bytes().decode("cp1252").split("\r\n")
    lines[2:2] = ["   Time format : Absolute Excel"]
    lines[1] = f"Nb header lines : {int(lines[1].split(':')[1]) + 1}"
    numbers.write_bytes("\r\n".join(lines).encode("cp1252"))
    with pytest.warns(UserWarning, match="holds numbers but the header's time format is 'Absolute Excel'"):
        got = mpt.read(numbers)
    assert len(got) == 2 and "time/s" not in got[0].columns


def test_decimal_comma_lf(tmp_path):
    rows = rows_for()
    spectra = mpt.read(write_mpt(tmp_path / "de.mpt", rows, decimal_comma=True, newline="\n"))
    assert len(spectra) == 2
    np.testing.assert_allclose(spectra[1].frequency, [r[0] for r in rows[8:]], rtol=1e-7)
    assert spectra[0].meta["area"] == 0.785


def test_area_mm2_and_date_variants(tmp_path):
    p = write_mpt(tmp_path / "mm.mpt", rows_for(1), area="113.100 mm²", started="05.20.2022 17:01:24.701")
    m = mpt.read(p)[0].meta
    assert m["area_unit"] == "mm2" and m["area_cm2"] == pytest.approx(1.131)
    assert m["start_time"] == "2022-05-20T17:01:24.701"
    p = write_mpt(tmp_path / "nos.mpt", rows_for(1), started="02/04/2018 10:02:46")
    assert mpt.read(p)[0].meta["start_time"] == "2018-02-04T10:02:46.000"


@pytest.mark.parametrize("anonymised", ["xx/xx/xxxx xx:xx:xx", "DD/MM/YYYY HH:MM:SS", ""])
def test_anonymised_start_time_is_none(tmp_path, anonymised):
    m = mpt.read(write_mpt(tmp_path / "anon.mpt", rows_for(1), started=anonymised))[0].meta
    assert m["start_time"] is None and m["sweep_start_time"] is None


def test_headerless_with_labels_near_top(tmp_path):
    p = tmp_path / "nohead.mpt"
    write_mpt(p, rows_for(), header=False)
    p.write_bytes(b"\r\n" + p.read_bytes())  # an empty line, then the labels
    spectra = mpt.read(p)
    assert len(spectra) == 2 and spectra[0].meta["start_time"] is None


def test_nb_header_lines_3(tmp_path):
    p = tmp_path / "h3.mpt"
    write_mpt(p, rows_for(), header=False)
    p.write_bytes(b"EC-Lab ASCII FILE\r\nNb header lines : 3   \r\n" + p.read_bytes())
    assert len(mpt.read(p)) == 2


def test_frequency_resets_when_cycle_number_constant(tmp_path):
    p = write_mpt(tmp_path / "multi.mpt", rows_for(3, cycle=False))
    assert [len(s) for s in mpt.read(p)] == [6, 6, 6]


def test_more_labels_than_values_aligns_by_position(tmp_path):
    labels = LABELS + ["", "Ewe-Ece/V"]  # like EC-Lab 11.61's 63-label/61-value export
    spectra = mpt.read(write_mpt(tmp_path / "63.mpt", rows_for(), labels=labels))
    assert len(spectra) == 2
    assert "Ewe-Ece/V" not in spectra[0].columns


def test_fewer_labels_than_values_is_an_error(tmp_path):
    labels = [lab for lab in LABELS if lab != "|Z|/Ohm"]
    with pytest.raises(CorruptFileError, match="17.mpt: rows hold 10 values but the label line names 9 columns: "
                                               "cannot tell which value belongs to which column"):
        mpt.read(write_mpt(tmp_path / "17.mpt", rows_for(), labels=labels))


def test_an_empty_label_field_after_the_impedance_columns_is_no_column(tmp_path):
    """EC-Lab 11.71 wrote '...Rwe-ce/Ohm<tab><tab>Ewe-Ece/V' over rows of one value per label
    without the empty field (a real PEM-cell export of 18 sweeps had been refused as 'rows hold 88
    values but the label line names only 88 columns'). Its first row also lacked the last value."""
    rows = [r + [r[6] - 0.5] for r in rows_for()]  # an Ewe-Ece/V column after the gap
    labels = LABELS + ["", "Ewe-Ece/V"]  # as 11.61's labels, but with the Ewe-Ece/V values in the rows
    p = write_mpt(tmp_path / "gap.mpt", rows, labels=labels)
    text = p.read_bytes().decode("cp1252").split("\r\n")
    first = next(i for i, ln in enumerate(text) if ln.startswith("0.0000000E+00"))
    text[first] = text[first].rsplit("\t", 2)[0] + "\t"  # the first row without its last value
    p.write_bytes("\r\n".join(text).encode("cp1252"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spectra = mpt.read(p)
    assert len(spectra) == 2
    reference = mpt.read(write_mpt(tmp_path / "plain.mpt", rows_for()))
    for a, b in zip(spectra, reference):
        np.testing.assert_array_equal(a.z, b.z)
        np.testing.assert_array_equal(a.columns["cycle number"], b.columns["cycle number"])
    assert np.isclose(spectra[0].columns["Ewe-Ece/V"][0], 3.4 - 0.5)


def test_an_empty_label_field_before_the_impedance_columns_is_an_error(tmp_path):
    labels = ["freq/Hz", "", *LABELS[1:]]
    with pytest.raises(CorruptFileError, match=r"gap.mpt: rows hold 10 values but the label line names 10 columns "
                                               r"and has an empty field \(column 2\) before the impedance columns"):
        mpt.read(write_mpt(tmp_path / "gap.mpt", rows_for(), labels=labels))


def test_a_short_row_missing_a_spectrum_value_is_an_error(tmp_path):
    p = write_mpt(tmp_path / "short.mpt", rows_for(), labels=LABELS[:9] + ["cycle number"])
    text = p.read_bytes().decode("cp1252").split("\r\n")
    last = max(i for i, ln in enumerate(text) if ln.strip())
    text[last - 3] = text[last - 3].rsplit("\t", 2)[0] + "\t"  # a row without its cycle number
    p.write_bytes("\r\n".join(text).encode("cp1252"))
    with pytest.raises(CorruptFileError, match="short.mpt: line .*: column 'cycle number' holds ''"):
        mpt.read(p)


def test_missing_frequency_label(tmp_path):
    """A PEIS export without its frequency column is damaged (an error a folder campaign reports),
    not a file of another technique (which it leaves out): NoImpedanceDataError is for those."""
    labels = LABELS[1:]
    with pytest.raises(MissingColumnError, match="nofreq.mpt: Potentio Electrochemical Impedance Spectroscopy, "
                                                 "but no 'freq/Hz'.*damaged or edited") as info:
        mpt.read(write_mpt(tmp_path / "nofreq.mpt", [r[1:] for r in rows_for()], labels=labels))
    assert not isinstance(info.value, NoImpedanceDataError)
    cycling = write_mpt(tmp_path / "gcpl.mpt", [r[1:] for r in rows_for()], labels=labels,
                        technique="Galvanostatic Cycling with Potential Limitation")
    with pytest.raises(NoImpedanceDataError, match="gcpl.mpt: no impedance data .Galvanostatic"):
        mpt.read(cycling)


def test_labels_separated_by_semicolons_are_named_as_such(tmp_path):
    """A copy re-saved by a spreadsheet program with ';' between the fields said "no 'freq/Hz'
    column among the labels (1 labels)"."""
    p = write_mpt(tmp_path / "resaved.mpt", rows_for())
    p.write_bytes(p.read_bytes().replace(b"\t", b";"))
    with pytest.raises(CorruptFileError, match=r"line \d+: the column labels are separated by semicolons, not by "
                                               r"tabs .*--format csv"):
        mpt.read(p)


def test_a_header_line_count_far_from_the_labels_is_named_as_such(tmp_path):
    """'Nb header lines' 20 lines too many said "no 'freq/Hz' column among the labels (48
    labels)": a data row had been taken for the labels."""
    p = write_mpt(tmp_path / "plus20.mpt", rows_for(n_sweeps=3))
    text = p.read_bytes().decode("cp1252")
    n = int(re.search(r"Nb header lines : (\d+)", text).group(1))
    p.write_bytes(text.replace(f"Nb header lines : {n}", f"Nb header lines : {n + 12}").encode("cp1252"))
    with pytest.raises(CorruptFileError, match=rf"'Nb header lines : {n + 12}' puts the column labels on line "
                                               rf"{n + 12}, but they are on line {n}: the header line count does not "
                                               "match the file"):
        mpt.read(p)


def test_modulus_and_phase_only(tmp_path):
    rows = [[r[0], r[3], r[4], r[5]] for r in rows_for()]
    labels = ["freq/Hz", "|Z|/Ohm", "Phase(Z)/deg", "time/s"]
    spectra = mpt.read(write_mpt(tmp_path / "mp.mpt", rows, labels=labels))
    ref = rows_for()
    np.testing.assert_allclose(spectra[0].z.real, [r[1] for r in ref[2:8]], rtol=1e-6)
    np.testing.assert_allclose(spectra[0].z.imag, [-r[2] for r in ref[2:8]], rtol=1e-6)


def test_no_impedance_columns(tmp_path):
    rows = [[r[0], r[5]] for r in rows_for()]
    with pytest.raises(MissingColumnError, match="noz.mpt"):
        mpt.read(write_mpt(tmp_path / "noz.mpt", rows, labels=["freq/Hz", "time/s"]))


def test_bad_number(tmp_path):
    p = write_mpt(tmp_path / "bad.mpt", rows_for())
    p.write_bytes(p.read_bytes().replace(b"3.4000000E+00", b"3.4x", 1))
    with pytest.raises(CorruptFileError, match="bad.mpt: line 12: column '<Ewe>/V'"):
        mpt.read(p)


def test_blank_lines_before_the_header_are_skipped(tmp_path):
    """An export with blank lines before 'EC-Lab ASCII FILE' (pasted, concatenated, edited):
    'Nb header lines' counts from that line, and line numbers in messages from the file's start."""
    good = write_mpt(tmp_path / "good.mpt", rows_for())
    # a real export's header: the settings table makes it 40-70 lines long
    text = good.read_bytes().replace(b"Characteristic mass : 0.001 g\r\n",
                                     b"Characteristic mass : 0.001 g\r\n" + b"Mode\t\tSingle sine\r\n" * 50)
    n_header = int(re.search(rb"Nb header lines : (\d+)", text).group(1)) + 50
    good.write_bytes(re.sub(rb"Nb header lines : \d+", b"Nb header lines : %d" % n_header, text))
    shifted = tmp_path / "shifted.mpt"
    shifted.write_bytes(b"\r\n\r\n" + good.read_bytes())
    for a, b in zip(mpt.read(shifted), mpt.read(good)):
        np.testing.assert_array_equal(a.frequency, b.frequency)
        np.testing.assert_array_equal(a.z, b.z)
        assert a.meta["start_time"] == b.meta["start_time"] == "2021-03-02T16:17:59.000"
    shifted.write_bytes(shifted.read_bytes().replace(b"3.4000000E+00", b"3.4x", 1))
    with pytest.raises(CorruptFileError, match="shifted.mpt: line 64: column '<Ewe>/V'"):
        mpt.read(shifted)


@pytest.mark.parametrize("off", [-2, -1, 1, 2])
def test_a_header_line_count_off_by_a_line_or_two_finds_the_labels(tmp_path, off):
    """'Nb header lines' one or two lines off (an edited file, another program's export) made a
    PEIS export 'no impedance data' (the labels read from a header or data line), which a
    folder campaign leaves out: the labels are found next to the declared line, with a warning."""
    good = write_mpt(tmp_path / "good.mpt", rows_for())
    text = good.read_bytes()
    n = int(re.search(rb"Nb header lines : (\d+)", text).group(1))
    shifted = tmp_path / "off.mpt"
    shifted.write_bytes(re.sub(rb"Nb header lines : \d+", b"Nb header lines : %d" % (n + off), text))
    with pytest.warns(UserWarning, match=f"'Nb header lines : {n + off}' does not point at the column labels; "
                                         f"they are on line {n}"):
        spectra = mpt.read(shifted)
    for a, b in zip(spectra, mpt.read(good)):
        np.testing.assert_array_equal(a.z, b.z)
        assert a.meta["start_time"] == b.meta["start_time"]


def test_nan_frequency(tmp_path):
    rows = rows_for()
    rows[4][0] = float("nan")
    with pytest.raises(CorruptFileError, match="nan.mpt"):
        mpt.read(write_mpt(tmp_path / "nan.mpt", rows))


@pytest.mark.parametrize("content", [b"", b"EC-Lab ASCII FILE\r\n", b"EC-Lab ASCII FILE\r\nNb header lines : 99\r\n",
                                     b"hello world\n1 2 3\n", b"\x00\x01\x02BIO"])
def test_bad_files(tmp_path, content):
    p = tmp_path / "junk.mpt"
    p.write_bytes(content)
    with pytest.raises(ReadError, match="junk.mpt"):
        mpt.read(p)


def test_labels_but_no_rows(tmp_path):
    with pytest.raises(ReadError, match="no data rows"):
        mpt.read(write_mpt(tmp_path / "empty.mpt", []))


def test_sniff():
    assert mpt.sniff(b"EC-Lab ASCII FILE\r\nNb header lines : 3", Path("x.txt")) == 100
    assert mpt.sniff(b"BT-Lab ASCII FILE\r\n", Path("x")) == 100
    assert mpt.sniff(b"\nfreq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\n1\t2\t3\n", Path("x.mpt")) >= 70
    assert mpt.sniff(b"f,re,im\n", Path("x.csv")) == 0
    assert mpt.sniff(b"f,re,im\n", Path("x.mpt")) == 10


def test_dispatcher_reads_mpt(tmp_path):
    import eisfit

    assert len(eisfit.read(write_mpt(tmp_path / "d.mpt", rows_for()), format="mpt")) == 2


def test_a_file_cut_off_mid_line_keeps_every_complete_point(tmp_path):
    """A copy cut off halfway (or a run stopped mid-write) failed whole ("column
    'Phase(Z)/deg' holds '', not a number"); the cut-off last line is dropped with a
    warning, as the table reader does, and every complete point is kept."""
    import eisfit
    from eisfit.io._common import ReadWarning

    full_path = sorted((Path(__file__).resolve().parent.parent / "sample_data" / "garnet_campaign" / "mpt").glob("*.mpt"))[3]
    raw = full_path.read_bytes()
    cut = tmp_path / "cut.mpt"
    cut.write_bytes(raw[:len(raw) // 2])
    assert not raw[:len(raw) // 2].endswith(b"\n")
    with pytest.warns(ReadWarning, match="looks cut off"):
        part = eisfit.read(cut)[0]
    full = eisfit.read(full_path)[0]
    assert 0 < len(part) < len(full)
    np.testing.assert_array_equal(part.frequency, full.frequency[:len(part)])
    np.testing.assert_array_equal(part.z, full.z[:len(part)])


def _one_row_cut(tmp_path: Path, n_values: int) -> Path:
    """A one-point export (a single frequency) cut after its first ``n_values`` values, the last
    one halved as a copy stopped mid-write leaves it."""
    path = write_mpt(tmp_path / "one.mpt", rows_for(n_sweeps=1, n_per=1, dc_rows=0))
    raw = path.read_bytes().rstrip(b"\r\n")
    head, row = raw.rsplit(b"\r\n", 1)
    fields = row.split(b"\t")[:n_values]
    fields[-1] = fields[-1][: len(fields[-1]) // 2]
    path.write_bytes(head + b"\r\n" + b"\t".join(fields))
    return path


def test_a_cut_only_row_is_refused_not_read_with_a_cut_value(tmp_path):
    """A copy of a one-point export cut inside its only data row was read as a point with the
    cut value (yadg's zir.mpt cut at 80 %: -Im(Z) '9.' read as 9 ohm for 93,853): with no row
    before it to compare with, the labels say the row is short."""
    with pytest.raises(ReadError, match=r"one\.mpt.*the only data row, is cut off .*3 of 10 values"):
        mpt.read(_one_row_cut(tmp_path, 3))


def test_a_short_only_row_is_read_where_the_spectrum_columns_are_whole(tmp_path):
    """Exports label columns they leave empty (yadg's peis.issue_225: 63 labels, 61 values), so
    a short row alone is no sign of a cut: the row is read when its last value is in a column
    the spectrum does not use (here <I>/mA, cut: its value is not kept)."""
    (s,) = mpt.read(_one_row_cut(tmp_path, 8))
    full = rows_for(n_sweeps=1, n_per=1, dc_rows=0)[0]
    assert s.frequency[0] == pytest.approx(full[0], rel=1e-7)
    assert s.z[0] == pytest.approx(complex(full[1], -full[2]), rel=1e-7)


@pytest.mark.parametrize("column, value, what", [(0, float("nan"), "an invalid frequency"),
                                                 (0, -5.0, "an invalid frequency"),
                                                 (1, float("inf"), "a NaN or infinite impedance")])
def test_a_bad_value_names_its_line_and_what_is_wrong(tmp_path, column, value, what):
    """The error named no line (the CSV and .mpr ones do) and spoke of a 'negative ...
    impedance' that is never checked. The header is 10 lines, the labels line 11: data row 4
    is line 16."""
    rows = rows_for()
    rows[4][column] = value
    with pytest.raises(CorruptFileError) as info:
        mpt.read(write_mpt(tmp_path / "bad.mpt", rows))
    assert f"1 point(s) have {what}" in str(info.value)
    assert "first at line 16" in str(info.value)
    assert "negative frequency or impedance" not in str(info.value)


def test_the_software_is_named_as_the_header_names_it(tmp_path):
    """'EC-Lab for windows v11.33' gave software_version 11.33 only: `eisfit info` printed
    'software 11.33'."""
    s = mpt.read(write_mpt(tmp_path / "a.mpt", rows_for()))[0]
    assert (s.meta["software"], s.meta["software_version"]) == ("EC-Lab", "11.33")


def test_staircase_peis_is_named_speis(tmp_path):
    # a Mott-Schottky staircase export (Alex6022/SPEIS-analysis): technique_short had been None
    p = write_mpt(tmp_path / "speis.mpt", rows_for(),
                  technique="Staircase Potentio Electrochemical Impedance Spectroscopy (Mott-Schottky)")
    spectra = mpt.read(p)
    assert len(spectra) == 2 and all(s.meta["technique_short"] == "SPEIS" for s in spectra)


@pytest.mark.parametrize("cycle", [True, False])
def test_a_zero_frequency_inside_a_sweep_is_left_out_with_a_warning(tmp_path, cycle):
    """A 0 Hz row between two points of one sweep had been dropped like a DC step's rows,
    without a word; the DC rows before the sweeps still go without one."""
    rows = rows_for(cycle=cycle)
    rows[2 + 6 + 3][0] = 0.0  # the 4th point of the 2nd sweep
    with pytest.warns(ReadWarning, match=r"zero.mpt: 1 point\(s\) at 0 Hz inside a sweep, first at line \d+"):
        spectra = mpt.read(write_mpt(tmp_path / "zero.mpt", rows))
    assert [s.frequency.size for s in spectra] == [6, 5]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [s.frequency.size for s in mpt.read(write_mpt(tmp_path / "dc.mpt", rows_for(cycle=cycle)))] == [6, 6]
