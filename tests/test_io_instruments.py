"""Instrument exports (Gamry, ZPlot/ZView, CH Instruments, Autolab NOVA, Parstat,
PowerSuite, VersaStudio) on small synthetic files: detection by content, columns,
sign convention, metadata, truncated files."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eisfit
from eisfit.errors import CorruptFileError
from eisfit.io import available_formats, detect_format

F = np.array([1e5, 1e4, 1e3, 1e2, 10.0])
Z = 50 + 500 / (1 + 1j * 2 * np.pi * F * 1e-6 * 500)


def _pts():
    """(f, z) pairs as Python numbers (so that !r writes plain numbers)."""
    return [(float(f), complex(z)) for f, z in zip(F, Z)]


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _one(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (s,) = eisfit.read(path, **kw)
    return s


def gamry_text(n=len(F), aborted=False):
    rows = "".join(f"\t{i}\t{i}\t{f!r}\t{z.real!r}\t{z.imag!r}\t1\t{abs(z)!r}\t{float(np.degrees(np.angle(z)))!r}\t0\t0\t9\n"
                   for i, (f, z) in enumerate(_pts()[:n]))
    return ("EXPLAIN\nTAG\tGALVEIS\nTITLE\tLABEL\tGalvanostatic EIS\tTest &Identifier\n"
            "DATE\tLABEL\t4/23/2018\tDate\nTIME\tLABEL\t16:43:15\tTime\n"
            "VAC\tQUANT\t1.00000E+001\tAC &Voltage (mV rms)\nAREA\tQUANT\t7.85000E-001\t&Area (cm^2)\n"
            "ZCURVE\tTABLE\n\tPt\tTime\tFreq\tZreal\tZimag\tZsig\tZmod\tZphz\tIdc\tVdc\tIERange\n"
            "\t#\ts\tHz\tohm\tohm\tV\tohm\t\u00b0\tA\tV\t#\n" + rows
            + ("EXPERIMENTABORTED\tTOGGLE\tT\tExperiment Aborted\n" if aborted else ""))


def test_gamry(tmp_path):
    p = _write(tmp_path, "cell.DTA", gamry_text())
    assert detect_format(p) == "gamry"
    s = _one(p)
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)
    assert s.meta["technique"] == "GEIS" and s.meta["area"] == 0.785 and s.meta["area_unit"] == "cm^2"
    assert s.meta["start_time"] == "2018-04-23T16:43:15" and s.meta["ac_amplitude"] == 10.0
    assert s.meta["aborted"] is False
    aborted = _write(tmp_path, "ab.DTA", gamry_text(n=3, aborted=True))
    with pytest.warns(UserWarning, match="aborted"):
        (a,) = eisfit.read(aborted)
    assert len(a) == 3 and a.meta["aborted"] is True
    no_table = _write(tmp_path, "cv.DTA", "EXPLAIN\nTAG\tCV\n")
    with pytest.raises(eisfit.NoImpedanceDataError, match="no impedance data .Gamry CV.: no ZCURVE table"):
        eisfit.read(no_table)
    cut = _write(tmp_path, "cut.DTA", "EXPLAIN\nTAG\tEISPOT\nTITLE\tLABEL\tPotentiostatic EIS\tTest\n")
    with pytest.raises(CorruptFileError, match="no ZCURVE table .not an impedance measurement, or truncated"):
        eisfit.read(cut)


def test_zplot_both_layouts(tmp_path):
    rows = "".join(f"{f:.6E}\t1.0E-02\t0.0E+00\t{k}.0\t{z.real!r}\t{z.imag!r}\t0\t0\t3\n"
                   for k, (f, z) in enumerate(_pts()))
    z2 = _write(tmp_path, "a.z", "ZPLOT2 ASCII\n  Measured Data, ZPlot:       3.2c\n"
                "  Date:                       10-12-2018\n  Time:                       11:04:34\n"
                "End Comments\n" + rows)
    s = _one(z2)
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)
    assert s.meta["start_time"] == "2018-10-12T11:04:34" and s.meta["software_version"] == "3.2c"
    # 10-12: October 12 or December 10; ZPlot writes month first, the note says the file does not confirm it
    assert s.meta["start_time_note"].startswith("10-12-2018 read month first")
    late = _one(_write(tmp_path, "late.z", z2.read_text().replace("10-12-2018", "10-13-2018")))
    assert late.meta["start_time"] == "2018-10-13T11:04:34" and "start_time_note" not in late.meta
    w = _write(tmp_path, "b.txt", '"ZPlotW Data File: Version 3.2c"\n"Raw Data"\nDate: 12-17-2019    Time: 16:24:35\n'
               '0,3,0,1,300000,0.005\n9\n"  Freq(Hz)    Ampl     Bias   Time(Sec)   Z\'(a)    Z\'\'(b)    GD   Err   Range"\n'
               + rows.replace("\t", ", "))
    assert detect_format(w) == "zview"
    with pytest.warns(UserWarning, match="declares 9 points but the file holds 5"):
        eisfit.read(w)
    blank = _write(tmp_path, "c.txt", "\n\n" + z2.read_text())  # blank lines before the signature
    assert detect_format(blank) == "zview"
    s = _one(blank)
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)
    assert s.meta["software_version"] == "3.2c"


def test_zview_saved_data_names_zview(tmp_path):
    # a file ZView saved (m0l0t0ph/thesis's FitResult.z): the software had read 'ZPLOT2 ASCII'
    rows = "".join(f"{f:.6E}\t1.0E-02\t0.0E+00\t{k}.0\t{z.real!r}\t{z.imag!r}\t0\t0\t3\n"
                   for k, (f, z) in enumerate(_pts()))
    s = _one(_write(tmp_path, "saved.z", "ZPLOT2 ASCII\n  Saved Data, ZView:          3\nEnd Comments\n" + rows))
    assert s.meta["software"] == "ZView" and s.meta["software_version"] == "3"


def test_z60w_names_row_in_the_comments_gives_the_units(tmp_path):
    """Z60W writes its column names, with units, among the comments of a ZPLOT2 file: a
    public file's ``Z'(Ohm.cm²)`` had been read as ohm (the fixed ZPlot names), so that an
    ASR came out multiplied by the area twice. Its units now count: per area, with the
    warning; a names row of another length than the data is not used."""
    rows = "".join(f"{f:.5E}\t1.0E+01\t6.0E-01\t{k}.0\t{z.real!r}\t{z.imag!r}\t0\t0\t0\n"
                   for k, (f, z) in enumerate(_pts()))
    names = "Freq(Hz)\tAmpl(mV)\tBias(V)\tTime(Sec)\tZ'(Ohm.cm\u00b2)\tZ''(Ohm.cm\u00b2)\tGD\tErr\tRange\n"
    p = _write(tmp_path, "a.z60", "\ufeffZ60W Data File: Version 1.1\nSweep Frequency: Control Voltage\nComment\n"
               + names + "End Comments\n" + rows)
    with pytest.warns(UserWarning, match="the impedance is given per area"):
        (s,) = eisfit.read(p)
    assert s.meta["impedance_unit"] == "ohm*cm2" and s.area_specific
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)
    kilo = _write(tmp_path, "k.z60", p.read_text(encoding="utf-8-sig").replace("Ohm.cm\u00b2", "kOhm"))
    np.testing.assert_allclose(_one(kilo).z, Z * 1e3, rtol=1e-12)
    short = _write(tmp_path, "s.z60", p.read_text(encoding="utf-8-sig").replace("\tGD\tErr\tRange", ""))
    s = _one(short)  # 6 names over 9 columns: the ZPlot columns, in ohm
    assert not s.area_specific
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)


def test_zplot2_data_points_line_checks_the_point_count(tmp_path):
    """A ZPLOT2 ASCII preamble's 'Data Points: 56' over 21 rows (impedance.py's real
    exampleDataZPlot.z) was read as a complete sweep without a word."""
    rows = "".join(f"{f:.6E}\t1.0E-02\t0.0E+00\t{k}.0\t{z.real!r}\t{z.imag!r}\t0\t0\t3\n"
                   for k, (f, z) in enumerate(_pts()))
    p = _write(tmp_path, "a.z", "ZPLOT2 ASCII\n  Measured Data, ZPlot:       3.2c\n  Data Points:                8\n"
               "End Comments\n" + rows)
    with pytest.warns(UserWarning, match="header declares 8 points but the file holds 5"):
        (s,) = eisfit.read(p)
    assert s.meta["declared_points"] == 8
    complete = _write(tmp_path, "b.z", p.read_text().replace("Data Points:                8", "Data Points: 5"))
    _quiet(complete)


def test_zplot2_real_file_holding_fewer_points_than_declared(realdata):
    with pytest.warns(UserWarning, match="declares 56 points but the file holds 21"):
        eisfit.read(realdata / "text/impedance_py/data/exampleDataZPlot.z")


def _gamry_sweep(initial="1.00000E+005", final="1.00000E+001", n=len(F)):
    """gamry_text() whose header sets the sweep FREQINIT -> FREQFINAL at 1 point per decade."""
    params = (f"FREQINIT\tQUANT\t{initial}\tInitial Freq. (Hz)\nFREQFINAL\tQUANT\t{final}\tFinal Freq. (Hz)\n"
              "PTSPERDEC\tQUANT\t1.00000E+000\tPoints/decade\n")
    return gamry_text(n).replace("ZCURVE\tTABLE\n", params + "ZCURVE\tTABLE\n")


def test_gamry_sweep_stopping_short_of_its_final_frequency_is_flagged(tmp_path):
    """A .DTA cut at a line end (copied during the measurement) read as a complete, shorter
    sweep: 62 of 72 points, stopping at 159 mHz for a FREQFINAL of 0.02 Hz, without a word."""
    _quiet(_write(tmp_path, "full.DTA", _gamry_sweep()))
    short = _write(tmp_path, "short.DTA", _gamry_sweep(n=3))
    with pytest.warns(UserWarning, match="stops at 1000 Hz, about 2 point.s. short of the final frequency 10 Hz"):
        (s,) = eisfit.read(short)
    assert len(s) == 3
    _quiet(_write(tmp_path, "aborted.DTA", gamry_text(n=3, aborted=True).replace(  # aborted: said already
        "ZCURVE\tTABLE\n", "FREQFINAL\tQUANT\t1.00000E+001\tFinal\nZCURVE\tTABLE\n")), ignore="aborted")


def test_gamry_sweep_starting_after_its_initial_frequency_is_flagged(tmp_path):
    """A real EISPOT file's table began at point 4 (39.9 kHz) after a FREQINIT of 100 kHz: its
    first rows taken out, read without a word."""
    late = _write(tmp_path, "late.DTA", _gamry_sweep(initial="1.00000E+007"))  # two decades above the first row
    with pytest.warns(UserWarning, match="starts at 100000 Hz, about 2 point.s. after the initial frequency 1e.07 Hz"):
        (s,) = eisfit.read(late)
    assert len(s) == len(F)


@pytest.mark.parametrize("date, calibration, start, ambiguous", [
    ("5/4/2018", "5/4/2018", "2018-05-04", True),  # nothing tells: month first, said
    ("5/4/2018", "4/23/2018", "2018-05-04", False),  # a calibration date says month first
    ("5/4/2018", "23/4/2018", "2018-04-05", False),  # ... or day first
    ("23/04/2018", "23/04/2018", "2018-04-23", False),
    ("05.04.2018", "05.04.2018", "2018-04-05", False),  # dot dates are day first
])
def test_gamry_date_order_is_read_from_the_file_or_said(tmp_path, date, calibration, start, ambiguous):
    """DATE 5/4/2018 was read month first without a word while 23/04/2018 was read day first:
    the start time orders a campaign's checkpoints."""
    text = gamry_text().replace("DATE\tLABEL\t4/23/2018\tDate\n", f"DATE\tLABEL\t{date}\tDate\n"
                                f"DCCALDATE\tLABEL\t{calibration}\tDC Calibration Date\n")
    p = _write(tmp_path, "d.DTA", text)
    if ambiguous:
        with pytest.warns(UserWarning, match=f"DATE {date} is ambiguous .*read month first, start_time {start}"):
            (s,) = eisfit.read(p)
    else:
        (s,) = _quiet(p)
    assert s.meta["start_time"] == f"{start}T16:43:15"


def test_gamry_table_count_checks_the_points(tmp_path):
    p = _write(tmp_path, "n.DTA", gamry_text().replace("ZCURVE\tTABLE\n", "ZCURVE\tTABLE\t7\n"))
    with pytest.warns(UserWarning, match="the ZCURVE TABLE line declares 7 points but the file holds 5"):
        eisfit.read(p)


def test_gamry_row_cut_mid_line_is_dropped_with_a_warning(tmp_path):
    """A .DTA cut inside its last row was refused ('8 values where the table has 11 columns');
    the cut row is dropped with a warning, as CLI.md promises and the .mpt reader does."""
    text = gamry_text()
    p = _write(tmp_path, "cut.DTA", text[:text.rindex("\t1\t") + 3])
    with pytest.warns(UserWarning, match=r"line \d+ looks cut off .*\d+ of 11 values\): dropped"):
        (s,) = eisfit.read(p)
    np.testing.assert_allclose(s.z, Z[:-1], rtol=1e-12)


def _quiet(path, ignore: str | None = None):
    """Read ``path`` expecting no warning (but one matching ``ignore``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spectra = eisfit.read(path)
    left = [str(w.message) for w in caught if ignore is None or ignore not in str(w.message)]
    assert not left, left
    return spectra


def test_ch_instruments_recognised_by_content(tmp_path):
    rows = "".join(f"{f:.3e}, {z.real:.4e}, {z.imag:.4e}, {abs(z):.4e}, {np.degrees(np.angle(z)):.1f}\n"
                   for f, z in _pts())
    text = ("Feb. 20, 2020   15:55:08\nA.C. Impedance\nInstrument Model:  CHI660E\n\nInit E (V) = 0\n"
            "Amplitude (V) = 0.005\n\nFreq/Hz, Z'/ohm, Z\"/ohm, Z/ohm, Phase/deg\n\n" + rows)
    p = _write(tmp_path, "export.csv", text)  # extension says csv, content says CH Instruments
    assert detect_format(p) == "ch"
    s = _one(p)
    np.testing.assert_allclose(s.z, Z, rtol=1e-3)
    assert s.meta["instrument"] == "CHI660E" and s.meta["start_time"] == "2020-02-20T15:55:08"
    generic = _one(p, format="csv")  # forcing the generic reader works too
    np.testing.assert_allclose(generic.z, s.z)


def test_autolab_nova_decimal_comma(tmp_path):
    def c(v):
        return f"{v:.10g}".replace(".", ",")
    rows = "".join(f"{c(f)};{c(z.real)};{c(-z.imag)};{c(abs(z))};{c(-np.degrees(np.angle(z)))};{c(k * 1.5)}\n"
                   for k, (f, z) in enumerate(_pts()))
    p = _write(tmp_path, "nova.txt", "Frequency (Hz);Z' (\u03a9);-Z'' (\u03a9);Z (\u03a9);-Phase (\u00b0);Time (s)\n" + rows)
    assert detect_format(p) == "autolab"
    s = _one(p)
    np.testing.assert_allclose(s.z, Z, rtol=1e-9)
    assert s.meta["imag_sign_source"] == "header" and s.meta["decimal"] == ","
    np.testing.assert_allclose(s.columns["Time (s)"], np.arange(5) * 1.5)


def test_three_column_names_anyone_writes_are_no_nova_export(tmp_path):
    """Frequency (Hz), Z' (Ohm cm2), -Z'' (Ohm cm2) alone: a hand-made CSV had been reported
    as "software Metrohm Autolab NOVA"; with NOVA's other columns it is one."""
    rows = "".join(f"{f},{z.real},{-z.imag}\n" for f, z in _pts())
    plain = _write(tmp_path, "mine.csv", "Frequency (Hz),Z' (Ohm cm2),-Z'' (Ohm cm2)\n" + rows)
    assert detect_format(plain) == "csv"
    nova = _write(tmp_path, "nova.csv", "Index,Frequency (Hz),Z' (Ohm),-Z'' (Ohm)\n"
                  + "".join(f"{k},{line}" for k, line in enumerate(rows.splitlines(keepends=True))))
    assert detect_format(nova) == "autolab"


def test_parstat_powersuite_versastudio(tmp_path):
    par_rows = "3.5\t-0.1\t10\t0\t0\t0\t0\t0\t\n" * 3 + "".join(
        f"3.5\t0.02\t{100 + k}\t{f!r}\t{z.real!r}\t{z.imag!r}\t0.005\t0.1\t\n" for k, (f, z) in enumerate(_pts()))
    parstat = _write(tmp_path, "p.txt", "Potential (V)\tCurrent (A)\tElapsed Time (s)\tFrequency (Hz)\tZre (ohms)\t"
                     "Zim (ohms)\t|Vac| (V)\t|Iac| (A)\t\n" + par_rows)
    assert detect_format(parstat) == "parstat"
    np.testing.assert_allclose(_one(parstat).z, Z)
    ps = _write(tmp_path, "ps.txt", "Frequency\t Zre\t Zimg\n" + "".join(
        f"{f!r}\t {z.real!r}\t {z.imag!r}\n" for f, z in _pts()))
    assert detect_format(ps) == "powersuite"
    np.testing.assert_allclose(_one(ps).z, Z)
    vs = _write(tmp_path, "v.par", "<Application>\nName=VersaStudio\nVersion=2.52.3.0\n</Application>\n"
                "<Experiment>\nTimeAcquired=9:40:30 AM\nDateAcquired=Thursday, July 19, 2018\n</Experiment>\n"
                "<Action1>\nWorking Electrode Area (cm2)=0.5\nAmplitude (mV RMS)=20\n</Action1>\n<Segment1>\n"
                "Definition=Segment #, Point #, Frequency(Hz), Z Real, Z Imag, 0\n" + "".join(
                    f"0,{k},{f!r},{z.real!r},{z.imag!r}\n" for k, (f, z) in enumerate(_pts())) + "</Segment1>\n")
    assert detect_format(vs) == "versastudio"
    s = _one(vs)
    np.testing.assert_allclose(s.z, Z)
    assert s.meta["area"] == 0.5 and s.meta["start_time"] == "2018-07-19T09:40:30"


def _instrument_exports() -> dict[str, str]:
    """Small exports of four instruments whose readers find their tables by line: Gamry's
    ZCURVE block, ZPlot's 'End Comments', CH Instruments' label line, VersaStudio's segment."""
    zplot = "".join(f"{f:.6E}\t1.0E-02\t0.0E+00\t{k}.0\t{z.real!r}\t{z.imag!r}\t0\t0\t3\n"
                    for k, (f, z) in enumerate(_pts()))
    chi = "".join(f"{f:.3e}, {z.real:.4e}, {z.imag:.4e}, {abs(z):.4e}, {np.degrees(np.angle(z)):.1f}\n"
                  for f, z in _pts())
    versa = "".join(f"0,{k},{f!r},{z.real!r},{z.imag!r}\n" for k, (f, z) in enumerate(_pts()))
    return {
        "cell.DTA": gamry_text(),
        "a.z": "ZPLOT2 ASCII\n  Measured Data, ZPlot:       3.2c\nEnd Comments\n" + zplot,
        "export.csv": ("Feb. 20, 2020   15:55:08\nA.C. Impedance\nInstrument Model:  CHI660E\n\n"
                       "Freq/Hz, Z'/ohm, Z\"/ohm, Z/ohm, Phase/deg\n\n" + chi),
        "v.par": ("<Application>\nName=VersaStudio\nVersion=2.52.3.0\n</Application>\n<Segment1>\n"
                  "Definition=Segment #, Point #, Frequency(Hz), Z Real, Z Imag, 0\n" + versa + "</Segment1>\n"),
    }


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\r\r\n"])
@pytest.mark.parametrize("name", list(_instrument_exports()))
def test_instrument_exports_with_other_line_ends_read_the_same(tmp_path, name, newline):
    """CRLF, CR alone and CR CR LF (CRLF converted twice, which Python splits into a line and
    an empty line; Gamry's ZCURVE block lost its labels to it before): the same points."""
    text = _instrument_exports()[name]
    want = _one(_write(tmp_path, name, text))
    changed = tmp_path / "changed" / name
    changed.parent.mkdir()
    changed.write_bytes(text.replace("\n", newline).encode("utf-8"))
    got = _one(changed)
    np.testing.assert_array_equal(got.frequency, want.frequency)
    np.testing.assert_array_equal(got.z, want.z)
    np.testing.assert_allclose(got.z, Z, rtol=1e-3)


def test_format_names_and_aliases():
    names = available_formats()
    for name in ["gamry", "zview", "ch", "autolab", "parstat", "powersuite", "versastudio", "csv", "txt", "table"]:
        assert name in names


def test_forced_format_mismatch_is_a_read_error(tmp_path):
    p = _write(tmp_path, "a.csv", "freq,re,im\n1,2,-3\n2,3,-4\n")
    with pytest.raises(CorruptFileError, match="ZCURVE"):
        eisfit.read(p, format="gamry")
    with pytest.raises(eisfit.ReadError, match=str(p)):
        eisfit.read(p, format="versastudio")


def test_gamry_file_written_with_decimal_commas(tmp_path):
    """A Framework on a European Windows locale writes decimal commas in the ZCURVE rows and
    the QUANT lines: the points and the area, AC amplitude as with decimal points; the
    table's point count after TABLE is read past."""
    lines = []
    for line in gamry_text().split("\n"):
        if line.startswith(("AREA", "VAC")) or (line.startswith("\t") and line[1:2].isdigit()):
            line = line.replace(".", ",")
        lines.append(line)
    text = "\n".join(lines).replace("ZCURVE\tTABLE\n", f"ZCURVE\tTABLE\t{len(F)}\n")
    s = _one(_write(tmp_path, "comma.DTA", text))
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)
    assert s.meta["area"] == 0.785 and s.meta["ac_amplitude"] == 10.0


def test_gamry_file_with_a_second_zcurve_table_says_it_is_not_read(tmp_path):
    text = gamry_text()
    second = text[text.index("ZCURVE\tTABLE"):]
    p = _write(tmp_path, "two.DTA", text + second)
    with pytest.warns(UserWarning, match=r"1 more ZCURVE table\(s\) from line \d+ on are not read"):
        (s,) = eisfit.read(p)
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)


def maccor_text() -> str:
    """A Maccor cycler's AC impedance test export laid out as the public sample
    (TRI-AMDD/beep's maccor_test_file_*.EDA0001.041, not bundled): a preamble, a tab-separated
    header of 24 names over rows of 13 cells (four of them empty), CRLF line ends."""
    names = ["Freq(Hz)", "Polar(V)", "time(sec)", "Z'(a)", "Z''(b)", "Phase_Angle", "Z-Mag", "C(F)", "Status",
             "irg", "VMag", "IMag", "V-DC", "isg", "rc", "vsc", "vsg", "vsp", "bl", "bf", "bhc", "ufl", "ufh", "blh"]
    rows = [f"{f:.5f}\t{2 * np.pi * f:.6f}\t{38.2 + 10 * k:.6f}\t{z.real:.6f}\t{z.imag:.6f}\t"
            f"{np.degrees(np.angle(z)):.6f}\t{abs(z):.6f}\t0.000000\t7.153637\t\t\t\t3.909893"
            for k, (f, z) in enumerate(_pts())]
    lines = ["MACCOR, INC.    AC Impedance Test", "Frequency Sweep:   Open Circut Voltage", "EIS 1.000FRA default",
             "DESKTOP_4267-66-6519.EDA0001.041", "Line 4", "Line 5",
             "Start Date:  Wednesday, November 2, 2016 Start Time:   15:58", "Line 7",
             "0.0005  2  0  0  0  0  0  10  1000  1  10  0  0.1  1  0  3000  0  1  191  20  10  10  5  10000", "",
             "\t".join(names), "", *rows]
    return "\r\n".join(lines) + "\r\n"


def test_maccor_ac_impedance_export_reads_its_z_columns_by_name(tmp_path):
    """The header names 24 columns over rows of 13 tab-separated cells: the table engine
    refused it ('values separated by spaces ... names with spaces in them?'), and its
    suggested --columns frequency=0,real=1,imag=2 read omega (Polar(V)) as Z' and the time as
    Z''. Read by name now: Z'(a), Z''(b) (Z'' < 0 capacitive), the start time, the DC
    potential, every digit."""
    path = _write(tmp_path, "cell.EDA0001.041", maccor_text())
    assert detect_format(path) == "maccor" and "maccor" in available_formats()
    s = _one(path)
    np.testing.assert_array_equal(s.frequency, np.round(F, 5))
    np.testing.assert_allclose(s.z, Z, atol=1e-6)
    assert s.meta["software"] == "Maccor" and s.meta["start_time"] == "2016-11-02T15:58:00"
    assert s.meta["time_s"] == pytest.approx(38.2) and s.meta["dc_potential_V"] == pytest.approx(3.909893)
    damaged = _write(tmp_path, "bad.041", maccor_text().replace("Freq(Hz)", "Frequency"))
    with pytest.raises(CorruptFileError, match="without its 'Freq\\(Hz\\)' header line"):
        eisfit.read(damaged)
