"""Generic CSV/TXT reader: layouts, column detection, units, signs, sweeps, bad input.

Every fixture is a small synthetic file written into tmp_path.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eisfit
from eisfit import Spectrum
from eisfit.errors import CorruptFileError, MissingColumnError, ReadError, UnknownFormatError
from eisfit.io import ReadWarning, detect_format
from eisfit.io.export import write_csv, write_json

F = np.array([1e5, 1e4, 1e3, 1e2, 10.0, 1.0])
Z = 100 + 1000 / (1 + 1j * 2 * np.pi * F * 1e-6 * 1000)  # R + RC: capacitive, Z'' < 0


def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_text(text, encoding=encoding)
    return p


def _rows(fmt, cols):
    """Text rows from columns (numpy scalars turned into Python numbers so that !r is plain)."""
    plain = [[v.item() if hasattr(v, "item") else v for v in col] for col in cols]
    return "\n".join(fmt.format(*row) for row in zip(*plain)) + "\n"


def _read1(path, **kw):
    spectra = eisfit.read(path, **kw)
    assert len(spectra) == 1
    return spectra[0]


def test_comma_csv_with_header(tmp_path):
    p = _write(tmp_path, "a.csv", "freq/Hz,Z'/ohm,Z''/ohm\n" + _rows("{:.12g},{:.12g},{:.12g}", (F, Z.real, Z.imag)))
    s = _read1(p)
    np.testing.assert_allclose(s.frequency, F)
    np.testing.assert_allclose(s.z, Z, rtol=1e-10)
    assert s.meta["delimiter"] == "comma" and s.meta["decimal"] == "."
    assert s.meta["columns_detected"] == {"frequency": "freq/Hz", "real": "Z'/ohm", "imag": "Z''/ohm"}
    assert s.meta["imag_sign"] == "negative" and s.meta["format"] == "csv"


def test_semicolon_decimal_comma_minus_header_and_units(tmp_path):
    """NOVA-like export: ';' separator, ',' decimal, kHz and kOhm, -Z'' and -Phase columns."""
    body = _rows("{};{};{};{};{}", (
        [f"{v / 1e3:.10g}".replace(".", ",") for v in F],
        [f"{v / 1e3:.10g}".replace(".", ",") for v in Z.real],
        [f"{-v / 1e3:.10g}".replace(".", ",") for v in Z.imag],
        [f"{v / 1e3:.10g}".replace(".", ",") for v in abs(Z)],
        [f"{-v:.10g}".replace(".", ",") for v in np.degrees(np.angle(Z))],
    ))
    p = _write(tmp_path, "nova.txt", "Frequency (kHz);Z' (kΩ);-Z'' (kOhm);Z (kΩ);-Phase (°)\n" + body)
    s = _read1(p, format="csv")
    np.testing.assert_allclose(s.frequency, F, rtol=1e-9)
    np.testing.assert_allclose(s.z, Z, rtol=1e-8)
    assert s.meta["delimiter"] == "semicolon" and s.meta["decimal"] == ","
    assert s.meta["imag_sign_source"] == "header"


def test_tab_whitespace_and_preamble(tmp_path):
    """NEISYS-like file: free text lines, then a tab header with units in brackets."""
    text = ("LAGP dynamicVT, 1.12.2020, 14:42\nFixed value(s) :  AC Volt  [Vrms]=7.1000e-03\n"
            " Freq. [Hz]\tZs' [Ohms]\tZs'' [Ohms]\n" + _rows("{:.10e}\t{:.10e}\t{:.10e}", (F, Z.real, Z.imag)))
    s = _read1(_write(tmp_path, "neisys.txt", text))
    np.testing.assert_allclose(s.z, Z, rtol=1e-9)
    assert s.meta["delimiter"] == "tab" and s.meta["header_line"] == 3
    ws = _read1(_write(tmp_path, "ws.dat", _rows("{:.10e}   {:.10e}   {:.10e}", (F, Z.real, Z.imag))))
    assert ws.meta["delimiter"] == "whitespace"
    np.testing.assert_allclose(ws.z, Z, rtol=1e-9)


def test_no_header_positional(tmp_path):
    s = _read1(_write(tmp_path, "n.csv", _rows("{!r},{!r},{!r}", (F, Z.real, Z.imag))))
    np.testing.assert_array_equal(s.frequency, F)
    assert s.meta["columns_detected"]["frequency"] == "column 1"


def test_modulus_phase_only_and_mega_units(tmp_path):
    text = "f (MHz),|Z| (Mohm),phase (deg)\n" + _rows("{!r},{!r},{!r}", (F / 1e6, abs(Z) / 1e6, np.degrees(np.angle(Z))))
    s = _read1(_write(tmp_path, "mp.csv", text))
    np.testing.assert_allclose(s.frequency, F, rtol=1e-12)
    np.testing.assert_allclose(s.z, Z, rtol=1e-9)


def test_positive_imag_flipped_with_warning_and_option(tmp_path):
    p = _write(tmp_path, "pos.csv", "freq,zre,zim\n" + _rows("{!r},{!r},{!r}", (F, Z.real, -Z.imag)))
    with pytest.warns(UserWarning, match="flipping"):
        s = _read1(p)
    np.testing.assert_allclose(s.z, Z)
    assert s.meta["imag_sign_detected"] is True and s.meta["imag_sign"] == "positive"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = _read1(p, imag_sign="negative")
        flipped = _read1(p, imag_sign="positive")
    np.testing.assert_allclose(kept.z, np.conj(Z))
    np.testing.assert_allclose(flipped.z, Z)
    with pytest.raises(ReadError, match="imag_sign"):
        eisfit.read(p, imag_sign="down")


def test_modulus_consistency_warning(tmp_path):
    text = "freq,re,im,|Z|\n" + _rows("{!r},{!r},{!r},{!r}", (F, Z.real, Z.imag, 1.2 * abs(Z)))
    with pytest.warns(UserWarning, match="differs"):
        _read1(_write(tmp_path, "m.csv", text))


def test_sweeps_by_reset_counter_and_zero_rows(tmp_path):
    both = np.concatenate([F, F])
    zz = np.concatenate([Z, Z * 2])
    resets = _write(tmp_path, "r.csv", "freq,re,im\n" + _rows("{!r},{!r},{!r}", (both, zz.real, zz.imag)))
    assert [len(s) for s in eisfit.read(resets)] == [6, 6]
    counter = _write(tmp_path, "c.csv", "cycle number,freq,re,im\n" + _rows(
        "{},{!r},{!r},{!r}", ([1] * 6 + [2] * 6, both, zz.real, zz.imag)))
    spectra = eisfit.read(counter)
    assert [s.meta["sweep"] for s in spectra] == [0, 1] and spectra[1].meta["n_sweeps"] == 2
    np.testing.assert_allclose(spectra[1].z, 2 * Z)
    # an all-zero row separates two sweeps measured in the same direction (ascending here)
    up = F[::-1]
    lines = _rows("{!r},{!r},{!r}", (up, Z.real[::-1], Z.imag[::-1]))
    sep = _write(tmp_path, "z.csv", "freq,re,im\n0,0,0\n" + lines + "0,0,0\n" + lines)
    assert [len(s) for s in eisfit.read(sep)] == [6, 6]


def test_a_counter_changing_in_the_middle_of_a_sweep_does_not_split_it(tmp_path):
    """A cycle column that changes (1 -> 2, then 2 -> 1: a reset) in the middle of a sweep
    whose frequency keeps falling: one sweep per frequency sweep, every value as written
    (before, each change of the counter opened a sweep: 3 + 3 + 3 + 3 points). Where the
    counter changes and the frequency does not go straight on (back up, or the same
    frequency again in a single-frequency monitor), it still confirms a new sweep."""
    both = np.concatenate([F, F])
    zz = np.concatenate([Z, Z * 2])
    counter = [1, 1, 1, 2, 2, 2, 3, 3, 3, 1, 1, 1]
    path = _write(tmp_path, "c.csv", "cycle number,freq/Hz,Re(Z)/Ohm,Im(Z)/Ohm\n" + _rows(
        "{},{!r},{!r},{!r}", (counter, both, zz.real, zz.imag)))
    spectra = eisfit.read(path)
    assert [len(s) for s in spectra] == [6, 6]
    for s, expected in zip(spectra, (Z, 2 * Z)):
        np.testing.assert_array_equal(s.frequency, F)
        np.testing.assert_array_equal(s.z, expected)
    monitor = _write(tmp_path, "m.csv", "cycle number,freq/Hz,Re(Z)/Ohm,Im(Z)/Ohm\n" + _rows(
        "{},{!r},{!r},{!r}", ([1, 1, 2, 2, 3, 3], [1000.0] * 6, Z.real, Z.imag)))
    assert [len(s) for s in eisfit.read(monitor)] == [2, 2, 2]


def test_export_round_trip(tmp_path):
    spectra = [eisfit.Spectrum(F, Z, {"technique": "PEIS", "area": 0.785, "area_unit": "cm^2"},
                               columns={"time/s": np.arange(6.0)}),
               eisfit.Spectrum(F[::-1], np.conj(Z[::-1]), {"technique": "PEIS"},  # inductive-looking
                               columns={"time/s": np.arange(6.0) + 10})]
    out = write_csv(spectra, tmp_path / "out.csv")
    assert detect_format(out) == "csv"
    back = eisfit.read(out)
    assert len(back) == 2
    for a, b in zip(spectra, back):
        np.testing.assert_allclose(b.frequency, a.frequency, rtol=1e-12, atol=0)
        np.testing.assert_allclose(b.z, a.z, rtol=1e-12, atol=0)
    assert back[0].meta["area"] == 0.785 and back[0].meta["technique"] == "PEIS"
    np.testing.assert_array_equal(back[0].columns["time/s"], np.arange(6.0))
    import json
    doc = json.loads(write_json(spectra, tmp_path / "out.json").read_text())
    assert doc["spectra"][1]["z_imag_ohm"] == list(np.conj(Z[::-1]).imag)
    assert set(doc["spectra"][0]) >= {"frequency_Hz", "z_real_ohm", "z_imag_ohm", "z_modulus_ohm", "phase_deg", "meta"}


def test_json_export_reads_back_and_both_exports_state_the_sign_convention(tmp_path):
    """``eisfit convert --to json`` wrote files no eisfit reader took; now they read back to
    the same numbers, meta and extra columns, and both exports say Z'' < 0 is capacitive."""
    spectra = [Spectrum(F, Z, meta={"area": 0.785, "technique": "PEIS", "source": "cell.DTA", "format": "gamry"},
                        columns={"time/s": np.arange(6.0)}),
               Spectrum(F[::-1], np.conj(Z[::-1]), meta={"area": 0.785}, columns={"time/s": np.arange(6.0) + 10})]
    out = write_json(spectra, tmp_path / "out.json")
    assert detect_format(out) == "eisfit-json"
    back = eisfit.read(out)
    assert len(back) == 2
    for a, b in zip(spectra, back):
        np.testing.assert_array_equal(b.frequency, a.frequency)
        np.testing.assert_array_equal(b.z, a.z)
        np.testing.assert_array_equal(b.columns["time/s"], a.columns["time/s"])
    assert back[0].meta["area"] == 0.785 and back[0].meta["technique"] == "PEIS"
    assert back[0].meta["original_format"] == "gamry" and back[0].meta["format"] == "eisfit-json"
    assert back[1].meta["sweep"] == 1 and back[1].meta["source"] == str(out)
    import json
    assert "negative for capacitive" in json.loads(out.read_text())["convention"]
    csv_text = write_csv(spectra, tmp_path / "out.csv").read_text()
    assert "# convention: z_imag_ohm is Z'' in ohm, negative for capacitive" in csv_text


@pytest.mark.parametrize("text, problem", [
    ('{"eisfit_export": 1, "spectra": [{"frequency_Hz": [1, 2], "z_real_ohm": [1, 2]}]}', "no 'z_imag_ohm'"),
    ('{"eisfit_export": 1, "spectra": [{"frequency_Hz": [1, 2], "z_real_ohm": [1], "z_imag_ohm": [1, 2]}]}',
     "differ in length"),
    ('{"eisfit_export": 1, "spectra": [{"frequency_Hz": [1, 2], "z_real_ohm": [1, 2], "z_imag_ohm": ["a", 2]}]}',
     "not numeric"),
    ('{"eisfit_export": 1, "spectra": [{"frequency_Hz": [1, 2], "z_real_ohm": [1, 2], "z_imag_ohm": [1, 2]}',
     "not a readable eisfit JSON export"),
    ('{"eisfit_export": 2, "spectra": []}', "not an eisfit JSON export"),
    ('{"eisfit_export": 1, "spectra": [{"frequency_Hz": [1, 2], "z_real_ohm": [1, 2], "z_imag_ohm": [1, 2], '
     '"columns": "x"}]}', "'meta' and 'columns' must be objects"),
    ('{"eisfit_export": 1, "spectra": [{"frequency_Hz": [1, -2], "z_real_ohm": [1, 2], "z_imag_ohm": [1, 2]}]}',
     "spectrum 0: 1 frequency value"),
])
def test_damaged_json_export_is_one_read_error(tmp_path, text, problem):
    p = tmp_path / "damaged.json"
    p.write_text(text)
    with pytest.raises(ReadError, match=problem) as err:
        eisfit.read(p, format="eisfit-json")
    assert "damaged.json" in str(err.value)


def test_columns_option(tmp_path):
    text = "a,b,c,d\n" + _rows("{},{!r},{!r},{!r}", ([7] * 6, F, Z.real, Z.imag))
    p = _write(tmp_path, "x.csv", text)
    with pytest.raises(MissingColumnError, match="no frequency column"):
        eisfit.read(p)
    s = _read1(p, columns={"frequency": "b", "real": 2, "imag": 3})
    np.testing.assert_array_equal(s.frequency, F)


@pytest.mark.parametrize("columns, problem", [
    ({"frequency": 0, "real": 2, "imag": 2}, r"column 2 \(\"Z'' \(Ohm\)\"\) is given as both 'real' and 'imag'"),
    ({"frequency": "Freq (Hz)", "real": 0, "imag": 2}, "column 0 .* both 'frequency' and 'real'"),
])
def test_the_columns_option_gives_one_column_one_role(tmp_path, columns, problem):
    """columns={'frequency': 0, 'real': 2, 'imag': 2} read one column as Z' and Z''."""
    p = _write(tmp_path, "x.csv", "Freq (Hz),Z' (Ohm),Z'' (Ohm)\n" + _rows("{!r},{!r},{!r}", (F, Z.real, Z.imag)))
    with pytest.raises(ReadError, match=problem):
        eisfit.read(p, columns=columns)


def test_a_role_named_by_the_header_does_not_take_a_column_the_option_gave_another_role(tmp_path):
    """columns={'frequency': 0, 'imag': 1} on f, Z', Z'': Z' came from the header's Z' column,
    the very column given as imag (Z' read as both parts)."""
    p = _write(tmp_path, "x.csv", "Freq (Hz),Z' (Ohm),Z'' (Ohm)\n" + _rows("{!r},{!r},{!r}", (F, Z.real, Z.imag)))
    with pytest.raises(MissingColumnError, match="no impedance columns"):
        eisfit.read(p, columns={"frequency": 0, "imag": 1})
    s = _read1(p, columns={"frequency": 0, "imag": 2})  # the header's Z' column is still taken as real
    np.testing.assert_array_equal(s.z, Z)


# ---- bad input: one ReadError subclass naming the file --------------------------
BAD = {
    "empty.csv": (b"", ReadError, "empty"),
    "blank.csv": (b"\n  \n", CorruptFileError, "empty"),
    "garbage.bin": (bytes(range(256)) * 8, UnknownFormatError, "not recognised"),
    "nofreq.csv": (b"time,zre,zim\n1,2,-3\n2,3,-4\n", MissingColumnError, "no frequency column"),
    "noimag.csv": (b"freq,zre\n1,2\n2,3\n", MissingColumnError, "no impedance columns"),
    "text.csv": (b"freq,zre,zim\n1,2,-3\n2,abc,-4\n3,4,-5\n", CorruptFileError, "line 3: non-numeric"),
    "negf.csv": (b"freq,zre,zim\n10,2,-3\n-1,3,-4\n", CorruptFileError, "frequency <= 0"),
    "ragged.csv": (b"freq,zre,zim\n10,2,-3\n5,3\n1,3,-5\n", CorruptFileError, "mismatched row length"),
    "unit.csv": (b"freq (ohm),zre,zim\n10,2,-3\n1,3,-4\n", MissingColumnError, "not a frequency unit"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_gives_one_clear_read_error(tmp_path, name):
    data, exc_type, message = BAD[name]
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(exc_type, match=message) as info:
        eisfit.read(p)
    assert str(p) in str(info.value)


def test_forced_csv_on_binary_is_corrupt(tmp_path):
    p = tmp_path / "g.csv"
    p.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(CorruptFileError, match="binary"):
        eisfit.read(p, format="csv")


def test_unknown_format_name(tmp_path):
    p = _write(tmp_path, "a.csv", "f,re,im\n1,2,-3\n2,3,-4\n")
    with pytest.raises(UnknownFormatError, match="unknown format"):
        eisfit.read(p, format="nope")


@pytest.mark.parametrize("delimiter, style", [(",", "%.9e"), (", ", "%g"), ("\t", "%.6f"), ("   ", "%.12g"),
                                              (";", "%.4e")])
def test_short_clean_tables_read_as_the_strict_parser_reads_them(tmp_path, monkeypatch, delimiter, style):
    """Short tables of nothing but numbers take the values locate_table parsed; values and line
    numbers must be those of the strict line-by-line parser."""
    from eisfit.io import tabular

    rng = np.random.default_rng(11)
    f = np.logspace(6, -1, 37)
    rows = np.c_[f, rng.uniform(1, 1e4, f.size), -rng.uniform(1, 1e4, f.size)]
    path = tmp_path / "t.txt"
    path.write_text("# cell A\nfreq/Hz" + delimiter + "Re(Z)/Ohm" + delimiter + "-Im(Z)/Ohm\n"
                    + "\n".join(delimiter.join(style % v for v in row) for row in rows) + "\n")
    lines = tabular.text_lines(path)
    layout = tabular.locate_table(lines)
    assert tabular._rows_parsed_by_layout(lines, layout, layout.data_start, len(lines), 1) is not None
    clean = tabular.parse_rows(lines, layout, path, ["f", "re", "im"])
    monkeypatch.setattr(tabular, "_rows_parsed_by_layout", lambda *a: None)
    strict = tabular.parse_rows(lines, layout, path, ["f", "re", "im"])
    assert clean.values.shape == (f.size, 3)
    np.testing.assert_array_equal(clean.values, strict.values)
    np.testing.assert_array_equal(clean.line_numbers, strict.line_numbers)
    assert clean.line_numbers[0] == 3


@pytest.mark.parametrize("line, delimiter", [
    ("1.5,-2e3,7", ","), (" 1.5 , 2 ,3 ", ","), ("1.5\u2003,2", ","), ("1.5;2;3", ";"), ("1.5  2\t3", None),
    ("1.5,2,", ","), ("1.5,,2", ","), ('"1.5",2', ","), ('"1,000.5",2', ","), ("1,000.5;2", ";"),
    ("1e999,2", ","), ("nan,2", ","), ("inf,2", ","), ("1e308,1e308", ","), ("1.0D+03,2", ","),
    ("\u22121.5,2", ","), ("1_000,2", ","), ("\u0661\u0662,2", ","), ("0x10,2", ","), ("", ","), ("   ", None),
    ("Cycle 2", None), ("freq,re,im", ","),
])
def test_plain_numbers_read_in_one_step_as_parse_number_reads_them(line, delimiter):
    """numeric_fields takes a line of plain finite numbers in one step: the values must be
    those of the field-by-field parse, and anything else must be left to that parse (an
    empty cell between numbers of a delimited line is NaN, where two cells hold numbers)."""
    from eisfit.io import tabular

    fields = tabular.split_fields(line, delimiter)
    try:
        expected = [float("nan") if (not text and delimiter) else tabular.parse_number(text, ".")
                    for text in fields] if fields else None
    except ValueError:
        expected = None
    if expected is not None and sum(v == v for v in expected) < 2 and "" in fields:
        expected = None
    got = tabular.numeric_fields(line, delimiter, ".")
    assert (None if got is None else [v.hex() for v in got]) == (None if expected is None else [v.hex() for v in expected])


@pytest.mark.parametrize("body", [
    "f;re;im\n1000,5;10,25;-3,5\n100,5;12,5;-7,25\n10;20;-9\n1;30;-4\n",  # decimal commas
    'f,re,im\n"1000,5","10,25","-3,5"\n"100,5","12,5","-7,25"\n"10","20","-9"\n"1","30","-4"\n',  # quoted
    'f,re,im\n"1,000.5",10,-3\n100,12.5,-7\n10,20,-9\n1,30,-4\n',  # a digit group
    "f,re,im\n1.0D+03,10,-3\n1.0D+02,12.5,-7\n10,20,-9\n1,30,-4\n",  # Fortran exponents
    "f,re,im\n1000,10,-3\n\n100,12.5,-7\n10,20,-9\n1,30,-4\n",  # a blank line
    "f,re,im\n1000,10,-3\n100,12.5,-7\nf,re,im\n10,20,-9\n1,30,-4\n",  # a repeated header
    "f,re,im\n1000,10,-3\n100,12.5,-7\nCycle 2\n10,20,-9\n1,30,-4\n",  # a title between blocks
    "f,re,im\n1000,10,-3\n100,12.5,-7\n10,20,\u22129\n1,30,-4\n",  # a Unicode minus
])
def test_short_tables_the_one_step_path_cannot_take_read_as_the_strict_parser_reads_them(tmp_path, monkeypatch,
                                                                                          body):
    """A table with what only the careful parser reads (decimal commas, quotes, digit groups, a
    stray line) gives the rows, blocks and warnings of that parser, with or without the values
    locate_table parsed."""
    from eisfit.io import tabular

    path = _write(tmp_path, "t.csv", body)
    lines = tabular.text_lines(path)
    layout = tabular.locate_table(lines)
    header = lines[layout.header_index]
    with warnings.catch_warnings(record=True) as fast_warnings:
        warnings.simplefilter("always")
        fast = tabular.parse_rows(lines, layout, path, ["f", "re", "im"], header_line=header)
    monkeypatch.setattr(tabular, "_rows_parsed_by_layout", lambda *a: None)
    with warnings.catch_warnings(record=True) as strict_warnings:
        warnings.simplefilter("always")
        strict = tabular.parse_rows(lines, layout, path, ["f", "re", "im"], header_line=header)
    assert fast.values.tobytes() == strict.values.tobytes()
    np.testing.assert_array_equal(fast.line_numbers, strict.line_numbers)
    assert fast.block_starts == strict.block_starts
    assert [str(w.message) for w in fast_warnings] == [str(w.message) for w in strict_warnings]


@pytest.mark.parametrize("bad, message", [("1e3,2,abc", "non-numeric value 'abc'"), ("1e3,2", "2 values"),
                                          ("1e3,2,nan", "non-numeric value 'nan'")])
def test_a_short_table_with_one_bad_row_names_that_line(tmp_path, bad, message):
    rows = [f"{10.0 ** -k:.6e},{k + 1.0},{-k - 1.0}" for k in range(10)]
    rows[6] = bad
    path = tmp_path / "t.csv"
    path.write_text("freq_Hz,Zre_ohm,Zim_ohm\n" + "\n".join(rows) + "\n")
    with pytest.raises(CorruptFileError, match=f"line 8: .*{message}"):
        eisfit.read(path)


def test_header_written_as_a_comment_line_names_the_columns(tmp_path):
    """EISFitpython writes its fitted data with the header as a comment line:
    '# Freq.[Hz]  Zs'[ohm]  Zs''[ohm]' (it read as a missing frequency column)."""
    f = np.logspace(5, 0, 12)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-4)
    lines = ["# Fitted impedance data", "# Freq.[Hz]\t\t Zs'[ohm] \t\t Zs''[ohm]"]
    lines += [f"{a:.6e}\t{b.real:.6e}\t{b.imag:.6e}" for a, b in zip(f, z)]
    path = tmp_path / "fit_data.txt"
    path.write_text("\n".join(lines) + "\n")
    s = eisfit.read(path)[0]
    np.testing.assert_allclose(s.frequency, f, rtol=1e-6)
    np.testing.assert_allclose(s.z, z, rtol=1e-6)


def test_missing_frequency_column_error_says_how_to_name_the_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6\n7,8,9\n")
    with pytest.raises(MissingColumnError, match="--columns frequency=0,real=1,imag=2"):
        eisfit.read(path)


def test_a_point_count_between_header_and_data_does_not_hide_the_header(tmp_path):
    """Exports that write the number of points on its own line after the column names
    (title and time lines before): the header above the count names the columns, so the
    -Z'' column and the extra columns are not guessed by content."""
    rows = _rows(" {:.6e}\t {:.6e}\t {:.6e}\t {:.3e}\t {:.3e}\t", (F, Z.real, -Z.imag, F * 0 + 59.3, F * 0 + 0.31))
    text = ("Procedure : cell 7\n01.02.2026 10:00:00 - 01.02.2026 10:12:00\nDescription\nt =  736.4 s\n"
            " f/Hz       \t Z'/Ohm     \t -Z''/Ohm   \t time/s    \t Edc/V     \t\n"
            f" {F.size} \n" + rows)
    s = _read1(_write(tmp_path, "cell.P00", text))
    assert s.meta["columns_detected"] == {"frequency": "f/Hz", "real": "Z'/Ohm", "imag": "-Z''/Ohm"}
    np.testing.assert_allclose(s.z, Z, rtol=1e-6)
    assert s.meta["time_s"] == 59.3
    # a lone number above the data under a line that is no header changes nothing
    plain = "run 7\n6\n" + _rows("{:.12g}\t{:.12g}\t{:.12g}", (F, Z.real, Z.imag))
    s2 = _read1(_write(tmp_path, "plain.txt", plain))
    assert "columns_rule" in s2.meta  # identified by content, no header
    np.testing.assert_allclose(s2.z, Z, rtol=1e-10)


@pytest.mark.parametrize("orient", ["columns", "index", "records", "split", "table", "lists"])
def test_json_tables_in_every_pandas_layout(tmp_path, orient):
    import json

    import pandas as pd

    df = pd.DataFrame({"frequency / Hz": F, "Zre / ohm": Z.real, "-Zim / ohm": -Z.imag})
    text = json.dumps({k: v.tolist() for k, v in df.items()}) if orient == "lists" else df.to_json(orient=orient, double_precision=15)
    p = _write(tmp_path, "cell.json", text)
    assert detect_format(p) == "json-table"
    s = _read1(p)
    np.testing.assert_array_equal(s.frequency, F)
    np.testing.assert_allclose(s.z, Z, rtol=1e-15)
    assert s.meta["columns_detected"] == {"frequency": "frequency / Hz", "real": "Zre / ohm", "imag": "-Zim / ohm"}


@pytest.mark.parametrize("orient", ["split", "records", "table"])
def test_a_json_table_with_nova_column_names_is_a_json_table(tmp_path, orient):
    """A DataFrame of NOVA's column names (Frequency (Hz), Z' (Ohm), -Z'' (Ohm)) written with
    to_json: the Autolab sniffer, which finds those names anywhere in the first bytes, claimed
    it above the JSON reader and read it as text ('no table of numbers found')."""
    import pandas as pd

    df = pd.DataFrame({"Frequency (Hz)": F, "Z' (Ohm)": Z.real, "-Z'' (Ohm)": -Z.imag})
    p = _write(tmp_path, "nova.json", df.to_json(orient=orient, double_precision=15))
    assert detect_format(p) == "json-table"
    s = _read1(p)
    np.testing.assert_allclose(s.z, Z, rtol=1e-14)


def test_quoted_names_holding_a_comma_name_their_quantity(tmp_path):
    """'Impedance, real (Ohm)': a quoted name with a comma in it is one column (the csv
    quoting), and the comma does not hide the quantity it names."""
    text = '"Frequency (Hz)","Impedance, real (Ohm)","Impedance, imaginary (Ohm)"\n' + _rows(
        "{:.12g},{:.12g},{:.12g}", (F, Z.real, Z.imag))
    s = _read1(_write(tmp_path, "comma_names.csv", text))
    np.testing.assert_allclose(s.z, Z, rtol=1e-10)
    assert s.meta["columns_detected"]["imag"] == "Impedance, imaginary (Ohm)"


def test_units_after_a_comma_and_more_names_of_the_modulus_and_phase(tmp_path):
    """'f, kHz', "Z', kOhm", "Z' in kOhm", "Z' kOhm": a unit after a comma, 'in' or a space was
    not read: the frequency column was not found, and an impedance in kOhm was taken in ohm
    (1000x off, without a warning, beside a 'Frequency (Hz)'); 'Zmag', 'Z magnitude', 'Zabs'
    name |Z|, 'Angle (deg)' (an angle unit) the phase and 'w (rad/s)' the frequency."""
    text = "f, kHz;Z', kOhm;-Z'', kOhm\n" + _rows("{:.12g};{:.12g};{:.12g}", (F / 1e3, Z.real / 1e3, -Z.imag / 1e3))
    s = _read1(_write(tmp_path, "comma_units.txt", text))
    np.testing.assert_allclose(s.frequency, F, rtol=1e-10)
    np.testing.assert_allclose(s.z, Z, rtol=1e-10)
    for names in ("Frequency (Hz);Z', kOhm;-Z'', kOhm", "Frequency in Hz;Z' in kOhm;-Z'' in kOhm",
                  "Frequency Hz;Z' kOhm;-Z'' kOhm"):
        text = names + "\n" + _rows("{:.12g};{:.12g};{:.12g}", (F, Z.real / 1e3, -Z.imag / 1e3))
        np.testing.assert_allclose(_read1(_write(tmp_path, "kohm.txt", text)).z, Z, rtol=1e-10, err_msg=names)
    text = "w (rad/s)\tZ' (Ohm)\tZ'' (Ohm)\n" + _rows("{:.12g}\t{:.12g}\t{:.12g}", (2 * np.pi * F, Z.real, Z.imag))
    np.testing.assert_allclose(_read1(_write(tmp_path, "omega.txt", text)).frequency, F, rtol=1e-10)
    for modulus, phase in (("Zmag (Ohm)", "Angle (deg)"), ("Z magnitude", "Zphase"), ("Zabs", "Ang (deg)")):
        text = f"Frequency (Hz)\t{modulus}\t{phase}\n" + _rows(
            "{:.12g}\t{:.12g}\t{:.12g}", (F, np.abs(Z), np.degrees(np.angle(Z))))
        s = _read1(_write(tmp_path, "bode.txt", text))
        np.testing.assert_allclose(s.z, Z, rtol=1e-9)


def test_a_normalised_impedance_is_not_read_as_ohm(tmp_path):
    """Z'/Z0, "Z' norm", "Z' (%)": the name gives the part but no ohm (Z0 is not in the file),
    so these columns are no impedance data: beside the measured ones they are left out, alone
    the table is refused (they were read as ohm)."""
    both = "Frequency (Hz)\tZ'/Z0\tZ''/Z0\tZ' (Ohm)\tZ'' (Ohm)\n" + _rows(
        "{:.12g}\t{:.12g}\t{:.12g}\t{:.12g}\t{:.12g}", (F, Z.real / 50, Z.imag / 50, Z.real, Z.imag))
    np.testing.assert_allclose(_read1(_write(tmp_path, "both.txt", both)).z, Z, rtol=1e-10)
    alone = "Frequency (Hz)\tZ' norm\tZ'' norm\n" + _rows("{:.12g}\t{:.12g}\t{:.12g}", (F, Z.real / 50, Z.imag / 50))
    with pytest.raises(MissingColumnError):
        eisfit.read(_write(tmp_path, "alone.txt", alone))


def test_damaged_json_tables_get_one_clear_error(tmp_path):
    import json

    whole = json.dumps({"f / Hz": F.tolist(), "Zre / ohm": Z.real.tolist(), "Zim / ohm": Z.imag.tolist()})
    with pytest.raises(CorruptFileError, match=r"cut.json: damaged JSON: .* \(truncated file\?\)"):
        eisfit.read(_write(tmp_path, "cut.json", whole[: len(whole) // 2]))
    uneven = json.dumps({"f / Hz": F.tolist(), "Zre / ohm": Z.real.tolist()[:-1], "Zim / ohm": Z.imag.tolist()})
    with pytest.raises(CorruptFileError, match=r"columns of different lengths \(5, 6\)"):
        eisfit.read(_write(tmp_path, "uneven.json", uneven))
    with pytest.raises(MissingColumnError, match="not a table"):
        eisfit.read(_write(tmp_path, "settings.json", json.dumps({"frequency_max_Hz": 1e6, "points": 51})))
    hole = json.dumps({"f / Hz": F.tolist(), "Zre / ohm": [None] + Z.real.tolist()[1:], "Zim / ohm": Z.imag.tolist()})
    with pytest.raises(ReadError, match="hole.json"):
        eisfit.read(_write(tmp_path, "hole.json", hole))


def test_text_columns_beside_the_numbers_are_set_aside(tmp_path):
    """Dates, clock times and comments in a table of impedance data: the numeric columns are
    read (the text columns named in meta; a column of dates with clock times becomes time/s,
    :func:`test_a_column_of_dates_and_clock_times_gives_the_sweep_times`), a damaged number
    is still reported with its line, and a log with text columns but no frequency column
    stays 'not an impedance data file'."""
    stamps = [f"2026-02-01 10:00:{k:02d}" for k in range(F.size)]
    rows = "".join(f"{t}\t{f!r}\t{z.real!r}\t{z.imag!r}\tok\n" for t, f, z in zip(stamps, F.tolist(), Z.tolist()))
    s = _read1(_write(tmp_path, "a.txt", "Date\tFreq/Hz\tZ'/ohm\tZ''/ohm\tNote\n" + rows))
    np.testing.assert_array_equal(s.frequency, F)
    np.testing.assert_allclose(s.z, Z, rtol=1e-15)
    assert s.meta["text_columns"] == ["Note"] and s.meta["clock_column"] == "Date"
    np.testing.assert_array_equal(s.columns["time/s"], np.arange(F.size))
    comma = "".join(f"{t};{str(f).replace('.', ',')};{str(z.real).replace('.', ',')};{str(-z.imag).replace('.', ',')}\n"
                    for t, f, z in zip(["10:00:01"] * F.size, F.tolist(), Z.tolist()))
    s2 = _read1(_write(tmp_path, "b.csv", "Zeit;Frequenz/Hz;Re(Z)/Ohm;-Im(Z)/Ohm\n" + comma))
    np.testing.assert_allclose(s2.z, Z, rtol=1e-12)
    bad = rows.splitlines()
    bad[2] = bad[2].replace(repr(float(Z[2].real)), "1.2.3")
    with pytest.raises(ReadError, match="line 4"):
        eisfit.read(_write(tmp_path, "c.txt", "Date\tFreq/Hz\tZ'/ohm\tZ''/ohm\tNote\n" + "\n".join(bad) + "\n"))
    empty = "Freq/Hz\tZ'/ohm\tZ''/ohm\tT/s\n" + "".join(f"{f!r}\t{z.real!r}\tn/a\t{k}\n"
                                                      for k, (f, z) in enumerate(zip(F.tolist(), Z.tolist())))
    with pytest.raises(MissingColumnError, match="set aside as text .no number in any row.: \"Z''/ohm\""):
        eisfit.read(_write(tmp_path, "empty.txt", empty))  # a needed column without numbers is named
    log = "Date;Capacity/mAh;U/V;I/mA\n" + "".join(f"2026-02-0{k};1.{k};3.4;0.5\n" for k in range(1, 6))
    with pytest.raises(UnknownFormatError, match="not an impedance data file"):
        eisfit.read(_write(tmp_path, "log.txt", log))


def _stamped_table(stamp, starts, header="Timestamp,freq/Hz,Z'/ohm,Z''/ohm", time_column=False):
    """Three sweeps of F, Z in one comma table, a point every 2 s from each of ``starts``
    (datetimes), the time stamps written with strftime ``stamp``; with ``time_column`` also
    a numeric 'time/s' column counting from the file's own origin (10 s before the first)."""
    import datetime as dt

    lines = [header + (",time/s" if time_column else "")]
    for t0 in starts:
        for i, (f, z) in enumerate(zip(F.tolist(), Z.tolist())):
            moment = t0 + dt.timedelta(seconds=2 * i)
            row = f"{moment.strftime(stamp)},{f!r},{z.real!r},{z.imag!r}"
            lines.append(row + (f",{(moment - starts[0]).total_seconds() + 10.0!r}" if time_column else ""))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("stamp", ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%m/%d/%Y %I:%M:%S %p",
                                   "%d.%m.%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S"])
def test_a_column_of_dates_and_clock_times_gives_the_sweep_times(tmp_path, stamp):
    """A time stamp per row: read as time/s (seconds since the first), each sweep's start
    time the stamp of its first point (what a campaign orders its files by and counts its
    hours from), in ISO, US (12-hour clock), German and day-first forms (the 13th and 25th
    tell the order)."""
    import datetime as dt

    starts = [dt.datetime(2024, 5, 1, 10), dt.datetime(2024, 5, 13, 11), dt.datetime(2024, 5, 25, 12, 30)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spectra = eisfit.read(_write(tmp_path, "stamped.csv", _stamped_table(stamp, starts)))
    assert len(spectra) == 3
    for s, t0 in zip(spectra, starts):
        np.testing.assert_allclose(s.z, Z, rtol=1e-15)
        assert s.meta["sweep_start_time"] == t0.isoformat(timespec="milliseconds")
        assert s.meta["time_s"] == (t0 - starts[0]).total_seconds()
        assert s.meta["start_time"] == "2024-05-01T10:00:00.000" and s.meta["clock_column"] == "Timestamp"
        np.testing.assert_allclose(np.diff(s.columns["time/s"]), 2.0)


def test_a_date_column_and_a_time_column_side_by_side_give_the_sweep_times(tmp_path):
    """'Date' and 'Time' in two columns (a logger's or a spreadsheet's layout): read together;
    a time column alone (clock times without a date) stays text."""
    import datetime as dt

    starts = [dt.datetime(2024, 5, 13, 23, 59, 50), dt.datetime(2024, 5, 14, 8, 30)]
    rows = []
    for t0 in starts:
        for i, (f, z) in enumerate(zip(F.tolist(), Z.tolist())):
            m = t0 + dt.timedelta(seconds=5 * i)  # the first sweep runs past midnight
            rows.append(f"{m:%d.%m.%Y};{m:%H:%M:%S};{f!r};{z.real!r};{z.imag!r}")
    spectra = eisfit.read(_write(tmp_path, "dt.csv", "Date;Time;f/Hz;Zre/ohm;Zim/ohm\n" + "\n".join(rows) + "\n"))
    assert [s.meta["sweep_start_time"] for s in spectra] == [t.isoformat(timespec="milliseconds") for t in starts]
    assert spectra[0].meta["clock_column"] == "Date + Time" and "text_columns" not in spectra[0].meta
    np.testing.assert_allclose(spectra[0].columns["time/s"], 5.0 * np.arange(F.size))
    clock_only = _read1(_write(tmp_path, "t.csv", "Time;f/Hz;Zre/ohm;Zim/ohm\n" + "".join(
        f"10:00:{k:02d};{f!r};{z.real!r};{z.imag!r}\n" for k, (f, z) in enumerate(zip(F.tolist(), Z.tolist())))))
    assert clock_only.meta["text_columns"] == ["Time"] and clock_only.meta.get("start_time") is None


def test_a_clock_column_beside_a_time_column(tmp_path):
    """Beside a numeric time/s (which keeps giving time_s), the stamps become 'clock time/s'
    and still give the start times."""
    import datetime as dt

    starts = [dt.datetime(2024, 3, 12, 10), dt.datetime(2024, 3, 12, 13), dt.datetime(2024, 3, 13, 9)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spectra = eisfit.read(_write(tmp_path, "both.csv", _stamped_table("%m/%d/%Y %H:%M:%S", starts,
                                                                           time_column=True)))
    assert [s.meta["time_s"] for s in spectra] == [10.0, 10810.0, 82810.0]  # from the time/s column
    assert [s.meta["sweep_start_time"] for s in spectra] == [t.isoformat(timespec="milliseconds") for t in starts]
    np.testing.assert_allclose(spectra[1].columns["clock time/s"][:2], [10800.0, 10802.0])


def test_dates_that_read_day_or_month_first_alike_give_no_date(tmp_path):
    """03/02/2024 is 3 February or 2 March: a table whose stamps are all of such a day keeps
    the times between its points (time/s) but takes no start time, with a warning; stamps of
    several such days (their spacing depends on the order too) stay text. Nothing is guessed:
    a folder of day-first files would otherwise be ordered by wrong dates."""
    import datetime as dt

    one_day = [dt.datetime(2024, 3, 2, 10), dt.datetime(2024, 3, 2, 13)]
    with pytest.warns(ReadWarning, match=r"'Timestamp': its dates read day or month first alike"):
        spectra = eisfit.read(_write(tmp_path, "one.csv", _stamped_table("%m/%d/%Y %H:%M:%S", one_day)))
    assert [s.meta["time_s"] for s in spectra] == [0.0, 10800.0]
    assert all(s.meta.get("start_time") is None and s.meta.get("sweep_start_time") is None for s in spectra)
    two_days = [dt.datetime(2024, 3, 2, 10), dt.datetime(2024, 3, 3, 9)]
    spectra = eisfit.read(_write(tmp_path, "two.csv", _stamped_table("%m/%d/%Y %H:%M:%S", two_days)))
    assert spectra[0].meta["text_columns"] == ["Timestamp"] and spectra[0].meta.get("time_s") is None
    with pytest.warns(ReadWarning, match="reads day or month first alike .no day above 12.: not taken"):
        s = _read1(_write(tmp_path, "pre.csv", _pstrace_like("02/03/2025 16:05:12")))
    assert s.meta.get("start_time") is None


def _pstrace_like(measured: str, sweeps: int = 1, scale: float = 1.0) -> str:
    """A PalmSens PSTrace-style CSV of ``scale`` x Z: the export's 'Date and time', notes, a
    title, the 'Date and time measurement' line, then a table with -Z''."""
    rows = "".join(f"{f!r},{float(np.degrees(-np.angle(z)))!r},0.1,{abs(z)!r},{z.real!r},{-z.imag!r}\n"
                   for _ in range(sweeps) for f, z in zip(F.tolist(), (scale * Z).tolist()))
    return ("Date and time:,2025-03-01 09:00:00\nNotes:\n,,,,\nImpedance Spectroscopy: cell 7\n"
            f"Date and time measurement:,{measured}\n"
            "freq / Hz,neg. Phase / \u00b0,Idc / uA,Z / Ohm,Z' / Ohm,-Z'' / Ohm\n" + rows)


def test_the_moment_a_preamble_states_is_the_start_of_a_one_sweep_table(tmp_path):
    """'Date and time measurement:,...' (PSTrace) wins over the export's 'Date and time:';
    a table of several sweeps takes none (one moment would put them all at one time), and
    a date line after the first row of numbers is no preamble."""
    s = _read1(_write(tmp_path, "cell7.csv", _pstrace_like("2025-02-27 16:05:12"), encoding="utf-16"))
    np.testing.assert_allclose(s.z, Z, rtol=1e-15)
    assert s.meta["start_time"] == s.meta["sweep_start_time"] == "2025-02-27T16:05:12.000"
    assert s.meta["start_time_label"] == "Date and time measurement"
    two = eisfit.read(_write(tmp_path, "two.csv", _pstrace_like("2025-02-27 16:05:12", sweeps=2)))
    assert len(two) == 2 and all(t.meta.get("start_time") is None for t in two)
    after = _read1(_write(tmp_path, "after.csv", "f/Hz,Zre/ohm,Zim/ohm\n" + "".join(
        f"{f!r},{z.real!r},{z.imag!r}\n" for f, z in zip(F.tolist(), Z.tolist())) + "Date: 2025-02-27 16:05:12\n"))
    assert after.meta.get("start_time") is None


def test_a_pstrace_export_dated_by_its_file_and_its_measurement_starts_at_the_measurement(tmp_path):
    """PSTrace 5's CSV: 'File date:' (the export) above 'Date and time:' (the measurement),
    UTF-16 with one more byte-order mark after the last line end (real exports: HOLL95/
    General_electrochemistry). The start time had been the export's, and the stray mark a
    last line 'cut off'."""
    rows = "".join(f"{f!r},{float(np.degrees(-np.angle(z)))!r},0.1,{abs(z)!r},{z.real!r},{-z.imag!r},\r\n"
                   for f, z in zip(F.tolist(), Z.tolist()))
    text = ("File date:,2022-05-17 17:52:20\r\nMeasurement:,Impedance Spectroscopy [1]\r\nNotes:,\r\n"
            "Date and time:,2022-04-28 13:42:47\r\nFixed at 51 freqs [1]\r\n"
            "freq / Hz,neg. Phase / \u00b0,Idc / uA,Z / Ohm,Z' / Ohm,-Z'' / Ohm,\r\n" + rows + "\r\n")
    p = tmp_path / "pstrace5.csv"
    p.write_bytes(text.encode("utf-16") + "\ufeff".encode("utf-16-le"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no line 'cut off'
        s = _read1(p)
    np.testing.assert_allclose(s.z, Z, rtol=1e-15)
    assert s.meta["start_time"] == "2022-04-28T13:42:47.000" and s.meta["start_time_label"] == "Date and time"


def test_a_folder_of_exports_with_preamble_dates_is_ordered_by_them(tmp_path):
    from eisfit.campaign import load_checkpoints

    for k, (name, moment) in enumerate((("a.csv", "2025-03-02 10:00:00"), ("b.csv", "2025-03-01 10:00:00"),
                                        ("c.csv", "2025-03-04 22:00:00"))):
        _write(tmp_path, name, _pstrace_like(moment, scale=1.0 + k), encoding="utf-16")
    src = load_checkpoints(tmp_path)
    assert src.ordering.startswith("acquisition time")
    assert [c.file for c in src.checkpoints] == ["b.csv", "a.csv", "c.csv"]
    assert [c.time_h for c in src.checkpoints] == pytest.approx([0.0, 24.0, 84.0])


def test_impedance_named_columns(tmp_path):
    """'Impedance/Ohm' beside 'Phase/deg' (the text export of Zahner Thales) is |Z|;
    'Impedance Real' / 'Impedance Imaginary' are Z' and Z''."""
    text = "Number\tFrequency/Hz\tImpedance/Ohm\tPhase/deg\tSignificance\tTime/s\n" + "".join(
        f"{k}\t{f!r}\t{abs(z)!r}\t{float(np.degrees(np.angle(z)))!r}\t0.99\t{2.0 * k!r}\n"
        for k, (f, z) in enumerate(zip(F.tolist(), Z.tolist())))
    s = _read1(_write(tmp_path, "thales.txt", text))
    assert s.meta["columns_detected"]["modulus"] == "Impedance/Ohm"
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)
    squid = "Frequency [Hz],Impedance Real [Ohms],Impedance Imaginary [Ohms]\n" + "".join(
        f"{f!r},{z.real!r},{z.imag!r}\n" for f, z in zip(F.tolist(), Z.tolist()))
    s2 = _read1(_write(tmp_path, "squid.csv", squid))
    assert s2.meta["columns_detected"] == {"frequency": "Frequency [Hz]", "real": "Impedance Real [Ohms]",
                                           "imag": "Impedance Imaginary [Ohms]"}


# ---------------------------------------------------------------------------
# side-by-side tables: one spectrum per column group
# ---------------------------------------------------------------------------
def _arc_cell(f_hz: np.ndarray, r2_ohm: float) -> np.ndarray:
    """Closed form 10 + 100/(1 + jw 100 * 1e-9) + R2/(1 + jw R2 * 1e-6), ohm."""
    w = 2 * np.pi * f_hz
    return 10.0 + 100.0 / (1 + 1j * w * 100.0 * 1e-9) + r2_ohm / (1 + 1j * w * r2_ohm * 1e-6)


SIDE_R2 = (150.0, 75.0, 45.0)
SIDE_F = np.logspace(6, -1, 29)


def _side_by_side_rows(lengths=(29, 29, 22)) -> list[list[str]]:
    """A title row ('0 h', '500 h', '1000 h'), a header repeating freq / Z' / -Z'' with an
    empty spacer column between groups, and rows of three spectra of different lengths."""
    titles, header = [], []
    for k, t in enumerate(("0 h", "500 h", "1000 h")):
        titles += [t, "", ""] + ([""] if k < 2 else [])
        header += ["Freq / Hz", "Z' / Ohm", "-Z'' / Ohm"] + ([""] if k < 2 else [])
    rows = [titles, header]
    for i in range(max(lengths)):
        row = []
        for k, (r2, n) in enumerate(zip(SIDE_R2, lengths)):
            z = _arc_cell(SIDE_F[i:i + 1], r2)[0]
            row += [repr(float(SIDE_F[i])), repr(float(z.real)), repr(float(-z.imag))] if i < n else ["", "", ""]
            row += [""] if k < 2 else []
        rows.append(row)
    return rows


def test_spectra_side_by_side_in_one_table_are_one_spectrum_each(tmp_path):
    """Checkpoints pasted next to each other (freq, Z', -Z'' repeated, spacer columns, the
    last one shorter): one spectrum per column group, every digit kept, in column order,
    the title above each group in its meta. Before, the table read as its first group
    alone, silently."""
    path = tmp_path / "side.csv"
    path.write_text("\n".join(",".join(r) for r in _side_by_side_rows()) + "\n")
    spectra = eisfit.read(path)
    assert [len(s) for s in spectra] == [29, 29, 22]
    for k, (s, r2) in enumerate(zip(spectra, SIDE_R2)):
        np.testing.assert_array_equal(s.frequency, SIDE_F[:len(s)])
        np.testing.assert_allclose(s.z, _arc_cell(SIDE_F[:len(s)], r2), rtol=1e-15)
        assert s.meta["sweep"] == k and s.meta["n_sweeps"] == 3 and s.meta["column_group"] == k + 1
    assert [s.meta["column_group_title"] for s in spectra] == ["0 h", "500 h", "1000 h"]
    assert [s.meta["column_group_columns"] for s in spectra] == ["1-3", "5-7", "9-11"]
    assert len({s.label for s in spectra}) == 3


def test_a_bad_cell_of_a_side_by_side_table_names_its_line_and_column(tmp_path):
    rows = _side_by_side_rows()
    rows[9][5] = "n/a"  # group 2, Z', the 8th data row (line 10)
    path = tmp_path / "side_bad.csv"
    path.write_text("\n".join(";".join(r) for r in rows) + "\n")
    with pytest.raises(CorruptFileError, match=r"line 10"):
        eisfit.read(path)


def test_one_frequency_column_beside_a_second_frequency_like_one_is_one_table(tmp_path):
    """A set-point column named like a frequency but without impedance columns of its own
    does not split the table."""
    z = _arc_cell(SIDE_F, 150.0)
    lines = ["freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm,freq set/Hz"] + [
        f"{float(f)!r},{float(v.real)!r},{float(-v.imag)!r},{float(f)!r}" for f, v in zip(SIDE_F, z)]
    path = tmp_path / "one.csv"
    path.write_text("\n".join(lines) + "\n")
    (s,) = eisfit.read(path)
    np.testing.assert_allclose(s.z, z, rtol=1e-15)
    assert "column_group" not in s.meta


def test_side_by_side_nova_style_with_decimal_commas_reads_every_group(tmp_path):
    """Autolab/NOVA names ('Frequency (Hz)', "Z' (Ω)", "-Z'' (Ω)") repeated, semicolons and
    decimal commas: the instrument reader splits the column groups too."""
    lines = [";".join(["Frequency (Hz)", "Z' (Ω)", "-Z'' (Ω)"] * 2)]
    for i, f in enumerate(SIDE_F):
        cells = []
        for r2 in SIDE_R2[:2]:
            z = _arc_cell(SIDE_F[i:i + 1], r2)[0]
            cells += [f"{x:.9e}".replace(".", ",") for x in (float(f), z.real, -z.imag)]
        lines.append(";".join(cells))
    path = tmp_path / "nova_side.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spectra = eisfit.read(path)
    assert [s.meta["column_group"] for s in spectra] == [1, 2]
    for s, r2 in zip(spectra, SIDE_R2):
        np.testing.assert_allclose(s.z, _arc_cell(SIDE_F, r2), rtol=1e-8)


def _quoted_grouped(x: float, german: bool) -> str:
    """``x`` with three decimals and its digits grouped by threes, in double quotes, as a
    spreadsheet's CSV export writes it: "100,000.000", or "100.000,000" in German."""
    text = f"{x:,.3f}"
    return '"' + (text.translate(str.maketrans(",.", ".,")) if german else text) + '"'


@pytest.mark.parametrize("german, delimiter", [(False, ","), (True, ","), (True, ";")])
@pytest.mark.parametrize("units_row", [False, True])
def test_side_by_side_spectra_with_quoted_thousands_read_as_one_spectrum_does(tmp_path, german, delimiter,
                                                                              units_row):
    """Two spectra side by side ('Freq 1, Z' 1, Z'' 1, Freq 2, ...'), every number quoted
    with digits grouped by threes ("100,000.000", German "100.000,000"), a units row or
    not: each group reads back the numbers written, as the same group alone in a file does.
    Before, the comma-delimited tables were refused (a quoted "100,000.000" split in two:
    'line 7: 3 values where the table has 2 columns' / 'no impedance columns')."""
    f_hz = np.logspace(5, -1, 13)
    spectra_z = [_arc_cell(f_hz, r2) for r2 in SIDE_R2[:2]]
    names = [f'"Freq {k}"{delimiter}"Z\' {k}"{delimiter}"-Z\'\' {k}"' for k in (1, 2)]
    units = [delimiter.join(['"Hz"', '"Ohm"', '"Ohm"'])] * 2
    rows = [[delimiter.join(_quoted_grouped(x, german) for x in (f, z.real, -z.imag)) for z in (z1, z2)]
            for f, z1, z2 in zip(f_hz, *spectra_z)]
    def table(groups):
        lines = [names] + ([units] if units_row else []) + rows
        return "\n".join(delimiter.join(line[g] for g in groups) for line in lines) + "\n"
    path = _write(tmp_path, "side.csv", table([0, 1]))
    spectra = eisfit.read(path, imag_sign="positive")
    assert [s.meta["column_group"] for s in spectra] == [1, 2]
    expected_f = np.array([float(f"{f:.3f}") for f in f_hz])  # the numbers written, read by Python
    for k, (s, z) in enumerate(zip(spectra, spectra_z)):
        np.testing.assert_array_equal(s.frequency, expected_f)
        np.testing.assert_array_equal(s.z.real, [float(f"{v:.3f}") for v in z.real])
        np.testing.assert_array_equal(s.z.imag, [-float(f"{-v:.3f}") for v in z.imag])
        (alone,) = eisfit.read(_write(tmp_path, f"alone{k}.csv", table([k])), imag_sign="positive")
        np.testing.assert_array_equal(alone.frequency, s.frequency)
        np.testing.assert_array_equal(alone.z, s.z)


def test_a_table_borrowing_ec_lab_unit_notation_is_a_table_not_an_mpt(tmp_path):
    """'f/Hz', '|Z|/Ohm', 'Phase/deg' with tabs: read as a table (it was taken for a
    headerless EC-Lab export and refused, 'no freq/Hz column'); side by side too."""
    z = _arc_cell(SIDE_F, 150.0)
    cells = [(f"{float(f)!r}", f"{float(abs(v))!r}", f"{float(np.degrees(np.angle(v)))!r}") for f, v in zip(SIDE_F, z)]
    one = tmp_path / "mod.txt"
    one.write_text("f/Hz\t|Z|/Ohm\tPhase/deg\n" + "\n".join("\t".join(c) for c in cells) + "\n")
    assert detect_format(one) == "csv"
    (s,) = eisfit.read(one)
    np.testing.assert_allclose(s.z, z, rtol=1e-12)
    two = tmp_path / "mod_side.txt"
    two.write_text("\t".join(["f/Hz", "|Z|/Ohm", "Phase/deg"] * 2) + "\n"
                   + "\n".join("\t".join(c + c) for c in cells) + "\n")
    assert [len(x) for x in eisfit.read(two)] == [SIDE_F.size, SIDE_F.size]


@pytest.mark.parametrize("header", ["omega (rad/s),Z'/ohm,Z''/ohm", "ω [rad s-1],Z'/ohm,Z''/ohm",
                                    "omega,Z'/ohm,Z''/ohm", "Angular frequency / rad·s⁻¹,Z'/ohm,Z''/ohm"])
def test_an_angular_frequency_column_is_divided_by_two_pi(tmp_path, header):
    """omega = 2 pi f: read as Hz it would put every arc 6.28x off in frequency (a column named
    omega without a unit is rad/s too)."""
    p = _write(tmp_path, "w.csv", header + "\n" + _rows("{!r},{!r},{!r}", (2 * np.pi * F, Z.real, Z.imag)))
    s = _read1(p)
    np.testing.assert_allclose(s.frequency, F, rtol=1e-12)
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)


def test_a_rad_per_s_unit_converts_a_column_named_with_the_columns_option(tmp_path):
    body = _rows("{!r},{!r},{!r}", (2 * np.pi * F, Z.real, Z.imag))
    p = _write(tmp_path, "w.csv", "w (rad/s),a (ohm),b (ohm)\n" + body)
    s = _read1(p, columns={"frequency": 0, "real": 1, "imag": 2})
    np.testing.assert_allclose(s.frequency, F, rtol=1e-12)


def test_a_row_of_units_under_the_names_is_read_as_their_units(tmp_path):
    """Gamry's ZCURVE table copied out of a .DTA (or an Origin export): names, then units, then
    the data. The unit row was taken as the header ('no frequency column': '#', 's', 'Hz'...)."""
    body = _rows("{},{},{!r},{!r},{!r},{}", (np.arange(F.size), np.arange(F.size) * 2.0, F,
                                             Z.real / 1e3, Z.imag / 1e3, np.zeros(F.size)))
    p = _write(tmp_path, "g.csv", "Pt,Time,Freq,Zreal,Zimag,Idc\n#,s,Hz,kohm,kohm,A\n" + body)
    s = _read1(p)
    assert s.meta["columns_detected"]["frequency"] == "Freq (Hz)"
    assert s.meta["columns_detected"]["real"] == "Zreal (kohm)"
    np.testing.assert_allclose(s.frequency, F)
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)


@pytest.mark.parametrize("delimiter", ["\t", ";", "  "])
def test_a_row_of_units_starting_with_a_point_counter_mark_is_read_in_any_delimiter(tmp_path, delimiter):
    """'#' heads the point counter's unit ('Pt' over '#'): with a tab, a semicolon or spaces
    after it, it was taken for a comment mark and stripped with them, the row of units lost a
    column and the table was refused."""
    body = "\n".join(delimiter.join([str(k), f"{2.0 * k:.12g}", f"{f / 1e3:.12g}", f"{z.real * 1e3:.12g}",
                                      f"{z.imag * 1e3:.12g}"]) for k, (f, z) in enumerate(zip(F, Z))) + "\n"
    header = delimiter.join(["Pt", "Time", "Freq", "Zreal", "Zimag"]) + "\n" + delimiter.join(
        ["#", "s", "kHz", "mOhm", "mOhm"]) + "\n"
    s = _read1(_write(tmp_path, "g.txt", header + body))
    assert s.meta["columns_detected"]["frequency"] == "Freq (kHz)"
    np.testing.assert_allclose(s.frequency, F, rtol=1e-10)
    np.testing.assert_allclose(s.z, Z, rtol=1e-10)


def test_a_unit_row_needs_names_above_it(tmp_path):
    """Without a line naming a frequency above it, a units-looking header stays the header
    (and its missing frequency name is reported)."""
    body = _rows("{!r},{!r},{!r}", (F, Z.real, Z.imag))
    p = _write(tmp_path, "u.csv", "some title\nHz,ohm,ohm\n" + body)
    with pytest.raises(MissingColumnError, match="no frequency column"):
        eisfit.read(p)


def test_a_minus_sign_the_data_contradict_is_warned_and_kept(tmp_path):
    """'-Z''' over values that already hold Z'' (capacitive negative): read as labelled, the
    arcs lie above the real axis. The reader says so and names the option that reads it right."""
    p = _write(tmp_path, "m.csv", "Frequency (Hz),Z' (Ohm),-Z'' (Ohm)\n" + _rows("{!r},{!r},{!r}", (F, Z.real, Z.imag)))
    with pytest.warns(ReadWarning, match=r"has a minus sign, but the data read so are inductive.*imag_sign='negative'"):
        s = _read1(p)
    np.testing.assert_allclose(s.z, np.conj(Z))  # as labelled
    assert "imag_sign_contradicted_by_data" in s.meta
    with pytest.warns(ReadWarning, match="overrides the minus sign"):
        np.testing.assert_allclose(_read1(p, imag_sign="negative").z, Z)


def test_a_minus_sign_the_data_agree_with_is_silent(tmp_path):
    body = _rows("{!r},{!r},{!r}", (F, Z.real, -Z.imag))
    p = _write(tmp_path, "ok.csv", "Frequency (Hz),Z' (Ohm),-Z'' (Ohm)\n" + body)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = _read1(p)
    np.testing.assert_allclose(s.z, Z)
    assert "imag_sign_contradicted_by_data" not in s.meta


@pytest.mark.parametrize("header, cols", [
    ("Frequency (Hz),R (Ohm),X (Ohm)", lambda: (F, Z.real, Z.imag)),          # an LCR meter's R-X mode
    ("Frequency (Hz),Rs (kOhm),Xs (kOhm)", lambda: (F, Z.real / 1e3, Z.imag / 1e3)),
    ("Frequency (Hz),Resistance (Ohm),Reactance (Ohm)", lambda: (F, Z.real, Z.imag)),
    ("Frequency (Hz),|Z| (Ohm),θ (°)", lambda: (F, np.abs(Z), np.degrees(np.angle(Z)))),
    ("Frequency (Hz),Impedance magnitude (Ohm),Z Phase (deg)", lambda: (F, np.abs(Z), np.degrees(np.angle(Z)))),
    ("Frequency (Hz),Mod(Z) (Ohm),Phase(Z) (deg.)", lambda: (F, np.abs(Z), np.degrees(np.angle(Z)))),  # pyimpspec's
])
def test_the_names_of_lcr_meters_and_polar_exports(tmp_path, header, cols):
    p = _write(tmp_path, "lcr.csv", header + "\n" + _rows("{!r},{!r},{!r}", cols()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every unit known ('deg.' had been 'a unit eisfit does not know')
        s = _read1(p)
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)


def test_r_and_x_without_an_impedance_unit_are_not_taken_as_impedance(tmp_path):
    p = _write(tmp_path, "rx.csv", "Frequency (Hz),R,X\n" + _rows("{!r},{!r},{!r}", (F, Z.real, Z.imag)))
    with pytest.raises(MissingColumnError, match="no impedance columns"):
        eisfit.read(p)


def test_a_down_and_up_sweep_sharing_the_turning_frequency_split_there(tmp_path):
    """Measured down to f_min and back up: the up sweep starts by measuring f_min again. That
    point opened no sweep (equal neighbours never split one): the down sweep got it as a
    repeated frequency and the up sweep lacked it."""
    z_up = Z[::-1] * 1.1
    body = _rows("{!r},{!r},{!r}", (np.r_[F, F[::-1]], np.r_[Z.real, z_up.real], np.r_[Z.imag, z_up.imag]))
    p = _write(tmp_path, "downup.csv", "freq/Hz,Z'/ohm,Z''/ohm\n" + body)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no repeated frequency to report
        down, up = eisfit.read(p)
    np.testing.assert_array_equal(down.frequency, F)
    np.testing.assert_array_equal(up.frequency, F[::-1])
    np.testing.assert_allclose(up.z, z_up, rtol=1e-12)


def _sweep_with_two_points_swapped(tmp_path, f: np.ndarray, swapped: int):
    """(file, frequencies in file order) of one RC sweep over ``f`` with points ``swapped``
    and ``swapped + 1`` written out of order."""
    order = np.arange(f.size)
    order[[swapped, swapped + 1]] = order[[swapped + 1, swapped]]
    z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-4)
    p = _write(tmp_path, "glitch.csv", "freq/Hz,Z'/ohm,Z''/ohm\n"
               + _rows("{!r},{!r},{!r}", (f[order], z.real[order], z.imag[order])))
    return p, f[order]


@pytest.mark.parametrize("swapped", [10, 34])  # mid-sweep; the last two points
def test_two_frequencies_swapped_keep_one_sweep_with_a_warning(tmp_path, swapped):
    """A 36-point sweep with two neighbouring frequencies written out of order was read as two
    sweeps (11 + 25 points) with no word: a new sweep needs the frequency to go back toward
    its start, not one step."""
    f = np.logspace(6, -1, 36)
    p, in_file = _sweep_with_two_points_swapped(tmp_path, f, swapped)
    with pytest.warns(ReadWarning, match=rf"sweep 0, point {swapped + 2}: {f[swapped]:g} Hz after "
                                         rf"{f[swapped + 1]:g} Hz\): points out of order"):
        (s,) = eisfit.read(p)
    np.testing.assert_array_equal(s.frequency, in_file)


@pytest.mark.parametrize("swapped", [0, 1, 2])
def test_frequencies_swapped_among_the_first_points_keep_one_sweep(tmp_path, swapped):
    """Two of the first four frequencies written out of order split a 61-point sweep into 2 + 59
    or 3 + 58 points with no word (the rule for a step back needed more points before it)."""
    p, in_file = _sweep_with_two_points_swapped(tmp_path, np.logspace(5, -1, 61), swapped)
    with pytest.warns(ReadWarning, match=r"frequency step\(s\) against the sweep direction .* points out of order"):
        (s,) = eisfit.read(p)
    np.testing.assert_array_equal(s.frequency, in_file)


def test_a_short_fragment_before_a_full_sweep_stays_a_sweep_of_its_own(tmp_path):
    """Two points of an aborted sweep (1 MHz, 500 kHz), then a sweep from 800 kHz down: the
    new sweep passes the fragment's points again, so it is no continuation."""
    f2 = np.logspace(np.log10(8e5), -1, 50)
    f = np.concatenate([[1e6, 5e5], f2])
    z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-4)
    p = _write(tmp_path, "fragment.csv", "freq/Hz,Z'/ohm,Z''/ohm\n" + _rows("{!r},{!r},{!r}", (f, z.real, z.imag)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spectra = eisfit.read(p)
    assert [len(x) for x in spectra] == [2, 50]


def test_a_sweep_that_goes_back_to_its_start_is_a_new_sweep(tmp_path):
    """Two sweeps of the same range, and one that restarts a few points back: split, no warning."""
    f = np.logspace(6, -1, 36)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-4)
    resumed = np.r_[np.arange(20), np.arange(16, 36)]  # goes back 4 points: measured again
    for rows, sizes in ((np.r_[np.arange(36), np.arange(36)], [36, 36]), (resumed, [20, 20])):
        p = _write(tmp_path, "two.csv", "freq/Hz,Z'/ohm,Z''/ohm\n"
                   + _rows("{!r},{!r},{!r}", (f[rows], z.real[rows], z.imag[rows])))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert [len(s) for s in eisfit.read(p)] == sizes


@pytest.mark.parametrize("layout", ["titles", "titles and headers"])
def test_sweeps_separated_by_title_lines(tmp_path, layout):
    """Several measurements in one text file, each under a title ('Cycle 2'), with or without
    the header repeated: read as one sweep per block (before: 'mismatched row length')."""
    zs = [Z * (1 + 0.1 * k) for k in range(3)]
    header = "Freq (Hz),Zre (Ohm),Zim (Ohm)\n"
    blocks = [f"Cycle {k + 1}\n" + (header if layout != "titles" else "")
              + _rows("{!r},{!r},{!r}", (F, z.real, z.imag)) for k, z in enumerate(zs)]
    text = (header if layout == "titles" else "") + "".join(blocks)
    p = _write(tmp_path, "cycles.csv", text)
    with pytest.warns(ReadWarning, match=r"2 text line\(s\) between rows of numbers read as titles.*'Cycle 2'"):
        spectra = eisfit.read(p)
    assert len(spectra) == 3
    for s, z in zip(spectra, zs):
        np.testing.assert_allclose(s.z, z, rtol=1e-12)


def test_a_row_of_text_as_wide_as_the_table_is_still_an_error(tmp_path):
    body = _rows("{!r},{!r},{!r}", (F, Z.real, Z.imag))
    p = _write(tmp_path, "bad.csv", "Freq (Hz),Zre (Ohm),Zim (Ohm)\n" + body + "abc,def,ghi\n" + body)
    with pytest.raises(CorruptFileError, match="non-numeric value 'abc'"):
        eisfit.read(p)


@pytest.mark.parametrize("header, scale_f, scale_z", [
    ("frequency_Hz,z_real_ohm,z_imag_ohm", 1.0, 1.0),          # eisfit's own names, pandas exports
    ("f_kHz,Zre_kohm,Zim_kohm", 1e-3, 1e-3),                  # the prefix was ignored: 1000x off
])
def test_units_written_as_a_name_suffix(tmp_path, header, scale_f, scale_z):
    p = _write(tmp_path, "snake.csv", header + "\n" + _rows("{!r},{!r},{!r}", (F * scale_f, Z.real * scale_z,
                                                                              Z.imag * scale_z)))
    s = _read1(p)
    np.testing.assert_allclose(s.frequency, F, rtol=1e-12)
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)


def test_eisfit_read_labels_per_area_data_and_reads_its_own_output_back(tmp_path):
    """`eisfit read` of an ohm*cm2 file writes z_real_ohm_cm2 (not _ohm), and that CSV reads
    back marked per area."""
    from click.testing import CliRunner

    from eisfit.cli import main

    p = _write(tmp_path, "area.csv", "Frequency (Hz),Z' (Ohm cm2),Z'' (Ohm cm2)\n"
               + _rows("{!r},{!r},{!r}", (F, Z.real, Z.imag)))
    out = CliRunner().invoke(main, ["read", str(p)])
    assert out.exit_code == 0 and "sweep,frequency_Hz,z_real_ohm_cm2,z_imag_ohm_cm2" in out.output
    back = _write(tmp_path, "back.csv", out.output[out.output.index("sweep,"):])
    with pytest.warns(ReadWarning, match="per area"):
        s = _read1(back)
    assert s.area_specific
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)
    info = CliRunner().invoke(main, ["info", str(p)])
    assert "impedance per area (ohm*cm2)" in info.output


@pytest.mark.parametrize("header, scale, sign", [
    ("Frequency (Hz),Y' (S),Y'' (S)", 1.0, 1.0),
    ("Frequency (Hz),G (mS),B (mS)", 1e3, 1.0),      # an LCR meter's G-B mode
    ("Frequency (Hz),Y' (S),-Y'' (S)", 1.0, -1.0),
    ("frequency_Hz,y_real_uS,y_imag_uS", 1e6, 1.0),
])
def test_an_admittance_table_is_read_as_its_impedance(tmp_path, header, scale, sign):
    y = 1.0 / Z  # Y'' > 0 for a capacitive Z
    body = _rows("{!r},{!r},{!r}", (F, y.real * scale, sign * y.imag * scale))
    p = _write(tmp_path, "y.csv", header + "\n" + body)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = _read1(p)
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)
    assert s.meta["impedance_from"] == "admittance"


def test_an_admittance_column_of_the_other_sign_is_flipped_with_a_warning(tmp_path):
    y = 1.0 / Z
    body = _rows("{!r},{!r},{!r}", (F, y.real, -y.imag))
    p = _write(tmp_path, "y.csv", "Frequency (Hz),Re(Y) (S),Im(Y) (S)\n" + body)
    with pytest.warns(ReadWarning, match="holds -Y''"):
        s = _read1(p)
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)
    np.testing.assert_allclose(_read1(p, imag_sign="positive").z, Z, rtol=1e-12)


def test_seconds_are_not_siemens(tmp_path):
    body = _rows("{!r},{!r},{!r},{!r}", (np.arange(F.size, dtype=float), F, Z.real, Z.imag))
    s = _read1(_write(tmp_path, "t.csv", "time (s),Frequency (Hz),Z' (Ohm),Z'' (Ohm)\n" + body))
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)


def test_text_after_the_last_row_is_ignored_with_a_warning(tmp_path):
    """A footer ('End of data') after the rows was 'mismatched row length'."""
    p = _write(tmp_path, "footer.csv", "Freq (Hz),Zre (Ohm),Zim (Ohm)\n"
               + _rows("{!r},{!r},{!r}", (F, Z.real, Z.imag)) + "End of data\n")
    with pytest.warns(ReadWarning, match=r"1 text line\(s\) after the last row of numbers ignored .*'End of data'"):
        s = _read1(p)
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)


def test_origin_long_name_units_and_comments_rows(tmp_path):
    """Origin's three header rows (long names, units, comments) over the data: the names and
    units name the columns; the comments row names nothing."""
    body = _rows("{!r}\t{!r}\t{!r}", (F, Z.real / 1e3, Z.imag / 1e3))
    p = _write(tmp_path, "origin.dat", "Frequency\tZ'\tZ''\nHz\tkOhm\tkOhm\nsample A\tsample A\tsample A\n" + body)
    s = _read1(p)
    assert s.meta["columns_detected"] == {"frequency": "Frequency (Hz)", "real": "Z' (kOhm)", "imag": "Z'' (kOhm)"}
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)


# --------------------------------------------------------------------------- number notations
@pytest.mark.parametrize("text, decimal, value", [
    ("1,000,000.5", ".", 1000000.5), ("12,345", ".", 12345.0), ("-1,000", ".", -1000.0),
    ("1.000.000,5", ",", 1000000.5), ("10.000", ",", 10000.0), ("1.5", ",", 1.5), ("0,125", ",", 0.125),
    ("1'000", ".", 1000.0), ("1\u00a0000,5", ",", 1000.5), ("1 000", ",", 1000.0),
    ("1.0D+03", ".", 1000.0), ("-2.5d-2", ".", -0.025), ("1,0D+03", ",", 1000.0),
])
def test_parse_number_reads_digit_grouping_and_fortran_exponents(text, decimal, value):
    from eisfit.io.tabular import parse_number

    assert parse_number(text, decimal) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize("text, decimal", [("0,125", "."), ("1,00", "."), ("1,0000", "."), ("1.2.3", ","),
                                           ("1.0D", "."), ("D+03", ".")])
def test_parse_number_refuses_what_is_not_a_grouped_number(text, decimal):
    from eisfit.io.tabular import parse_number

    with pytest.raises(ValueError):
        parse_number(text, decimal)


def _grouped(value: float, group: str, decimal: str, decimals: int = 1) -> str:
    """``value`` written with its thousands grouped by ``group`` and ``decimal`` as the mark."""
    text = f"{value:,.{decimals}f}"  # Python groups with ',' and uses '.'
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


@pytest.mark.parametrize("group, decimal, delimiter", [(".", ",", ";"), (",", ".", "\t"), ("\u00a0", ",", ";")])
def test_a_table_with_grouped_thousands_is_read_at_full_value(tmp_path, group, decimal, delimiter):
    """Excel's number format '#,##0.0' in a German (1.000,5), English (1,000.5) or French
    (1 000,5) locale: before, German frequencies of 1-999 kHz were read 1000x too small."""
    rows = "\n".join(delimiter.join([_grouped(f, group, decimal), _grouped(z.real, group, decimal, 4),
                                     _grouped(z.imag, group, decimal, 4)]) for f, z in zip(F, Z))
    path = _write(tmp_path, "grouped.csv", f"Frequency (Hz){delimiter}Z' (Ohm){delimiter}Z'' (Ohm)\n{rows}\n")
    s = _read1(path)
    np.testing.assert_allclose(s.frequency, F)
    np.testing.assert_allclose(s.z, Z, rtol=1e-6)


def test_quoted_fields_may_hold_the_comma_of_a_comma_table(tmp_path):
    rows = "\n".join(f'"{_grouped(f, ",", ".")}",{z.real:.6f},{z.imag:.6f}' for f, z in zip(F, Z))
    s = _read1(_write(tmp_path, "quoted.csv", f"Frequency (Hz),Z' (Ohm),Z'' (Ohm)\n{rows}\n"))
    np.testing.assert_allclose(s.frequency, F)
    np.testing.assert_allclose(s.z, Z, rtol=1e-5)


def test_three_decimals_after_a_decimal_comma_are_not_thousands(tmp_path):
    """'1,250' in a semicolon table is 1.25: a frequency column spanning decades (100000,000,
    0,500) is no grouping, so the decimal-comma layout wins."""
    f = np.array([1e5, 1e4, 1e3, 1e2, 10.0, 0.5])
    rows = "\n".join(f"{a:.3f};{z.real / 100:.3f};{-z.imag / 100:.3f}".replace(".", ",") for a, z in zip(f, Z))
    s = _read1(_write(tmp_path, "dc.csv", f"freq/Hz;Re(Z)/Ohm;-Im(Z)/Ohm\n{rows}\n"))
    np.testing.assert_allclose(s.frequency, f)
    np.testing.assert_allclose(s.z.real, np.round(Z.real / 100, 3))


def test_decimal_points_among_decimal_commas_are_never_thousands(tmp_path):
    """A semicolon table of decimal commas with some rows written with points (edited or
    pasted rows): '630.957' was read as 630957 Hz while '63.0957' stayed 63.0957, and the
    sweep split in two. Where '.' is a decimal point somewhere (63.0957 cannot group digits),
    it is one everywhere, with a warning naming a line."""
    f = np.logspace(6, 0, 31)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-4)
    rows = [f"{a:.6g};{b:.6g};{c:.6g}" for a, b, c in zip(f, z.real, z.imag)]
    rows = [r if k % 3 == 0 else r.replace(".", ",") for k, r in enumerate(rows)]
    p = _write(tmp_path, "mixed.csv", "Freq (Hz);Z' (Ohm);Z'' (Ohm)\n" + "\n".join(rows) + "\n")
    with pytest.warns(ReadWarning, match=r"decimal commas and decimal points in one table \(line 2: '\d+\.\d+'\)"):
        s = _read1(p)
    np.testing.assert_allclose(s.frequency, f, rtol=1e-5)
    np.testing.assert_allclose(s.z, z, rtol=1e-5)
    assert s.meta["decimal"] == ",."


def test_kilohertz_written_with_digit_groups_stay_groups_beside_a_decimal_point_elsewhere(tmp_path):
    """Decimal commas, frequencies from 1 kHz on written with '.' groups (100.000, 63.096) and
    one current cell written 1.5: the '.' of the frequency column are digit groups, the 1.5 a
    decimal; the table had switched to '.' as a decimal everywhere (f 1000x too small, the
    sweep split)."""
    f = np.logspace(5, -1, 31)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-4)

    def comma(v):
        return f"{v:.6g}".replace(".", ",")

    rows = [f"{(f'{a:,.0f}'.replace(',', '.') if a >= 1000 else comma(a))};{comma(b.real)};{comma(-b.imag)};"
            f"{'1.5' if k == 3 else comma(0.01 * k)}" for k, (a, b) in enumerate(zip(f, z))]
    p = _write(tmp_path, "grouped.csv", "freq/Hz;Re(Z)/Ohm;-Im(Z)/Ohm;Idc/mA\n" + "\n".join(rows) + "\n")
    s = _read1(p)
    np.testing.assert_allclose(s.frequency, np.where(f >= 1000, np.round(f), f), rtol=1e-5)
    assert s.meta["decimal"] == ","


def test_fortran_double_precision_exponents(tmp_path):
    rows = "\n".join(f"{f:.6E}  {z.real:.8E}  {z.imag:.8E}".replace("E", "D") for f, z in zip(F, Z))
    s = _read1(_write(tmp_path, "fortran.dat", f"freq zr zi\n{rows}\n"))
    np.testing.assert_allclose(s.frequency, F)
    np.testing.assert_allclose(s.z, Z, rtol=1e-7)


def test_a_table_borrowing_ec_labs_frequency_label_is_read_as_a_table(tmp_path):
    """'freq/Hz' over other impedance names (not EC-Lab's Re(Z)/Ohm): was refused by the
    .mpt reader ('need Re(Z)/Ohm and -Im(Z)/Ohm')."""
    rows = _rows("{:.3f}\t{:.4f}\t{:.4f}", [F, Z.real, Z.imag])
    s = _read1(_write(tmp_path, "script.txt", "freq/Hz\tZ', Ohm\tZ'', Ohm\n" + rows))
    np.testing.assert_allclose(s.z, Z, rtol=1e-4)


@pytest.mark.parametrize("names, quantity", [("Eps'\tEps''", "permittivity"), ("Sig' [S/cm]\tSig'' [S/cm]", "conductivity"),
                                             ("M'\tM''", "electric modulus")])
def test_a_dielectric_export_is_refused_by_name_not_read_as_impedance(tmp_path, names, quantity):
    rows = _rows("{:.3e}\t{:.4f}\t{:.4f}", [F, -Z.imag, Z.real])
    with pytest.raises(MissingColumnError, match=quantity) as err:
        eisfit.read(_write(tmp_path, "novocontrol.txt", f"Freq. [Hz]\t{names}\n" + rows))
    assert "--columns" not in str(err.value)  # naming columns would read them as Z


def _polar_table(tmp_path, name, phase_header, phase_values):
    rows = _rows("{!r},{!r},{!r}", [F, np.abs(Z), phase_values])
    return _write(tmp_path, name, f"Frequency (Hz),|Z| (Ohm),{phase_header}\n" + rows)


def test_a_phase_column_without_unit_is_degrees_unless_every_value_fits_radians(tmp_path):
    degrees = _read1(_polar_table(tmp_path, "deg.csv", "Phase", np.degrees(np.angle(Z))))
    np.testing.assert_allclose(degrees.z, Z, rtol=1e-9)
    with pytest.warns(ReadWarning, match="read as radians"):  # numpy.angle's output, as a script writes it
        radians = _read1(_polar_table(tmp_path, "rad.csv", "Phase", np.angle(Z)))
    np.testing.assert_allclose(radians.z, Z, rtol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReadWarning)  # a unit decides without a word
        named = _read1(_polar_table(tmp_path, "named.csv", "Phase (rad)", np.angle(Z)))
    np.testing.assert_allclose(named.z, Z, rtol=1e-9)


@pytest.mark.parametrize("z_text, frequency_scale", [
    ("{:.3f}", 1.0),  # '12,500' beside '500,000': every number has a decimal comma
    ("{:.1f}", 1000.0),  # '12.5' beside '500,000': the comma groups the digits of 500000
])
def test_a_comma_between_three_digits_reads_as_the_rest_of_the_table_does(tmp_path, z_text, frequency_scale):
    f = np.array([500.0, 200.0, 100.0, 50.0, 20.0, 10.0, 5.0])
    z = 12.5 + 30 / (1 + 1j * f / 60)  # every part 1 or more: no 0,xxx to settle it

    def number(v, fmt):
        text = fmt.format(v)
        return text.replace(".", ",") if fmt == "{:.3f}" else text

    rows = "\n".join("\t".join([f"{a:.3f}".replace(".", ","), number(b.real, z_text), number(b.imag, z_text)])
                     for a, b in zip(f, z))
    s = _read1(_write(tmp_path, "ambiguous.txt", "f\tzr\tzi\n" + rows + "\n"))
    np.testing.assert_allclose(s.frequency, f * frequency_scale)
    np.testing.assert_allclose(s.z, z, atol=0.06)


@pytest.mark.parametrize("unit", ["dB", "dBOhm", "dB\u03a9"])
def test_a_modulus_in_decibels_is_read_as_ohm(tmp_path, unit):
    """|Z| in dB re 1 ohm (an impedance analyser's export): was read as ohm (20 dB as 20 ohm)."""
    rows = _rows("{!r},{!r},{!r}", [F, 20 * np.log10(np.abs(Z)), np.degrees(np.angle(Z))])
    s = _read1(_write(tmp_path, "db.csv", f"Frequency (Hz),|Z| ({unit}),Phase (deg)\n" + rows))
    np.testing.assert_allclose(s.z, Z, rtol=1e-9)


def test_decibels_on_a_real_part_are_refused(tmp_path):
    rows = _rows("{!r},{!r},{!r}", [F, 20 * np.log10(np.abs(Z.real)), Z.imag])
    with pytest.raises(MissingColumnError, match="unit 'dB' is not an impedance unit"):
        eisfit.read(_write(tmp_path, "db_re.csv", "Frequency (Hz),Z' (dB),Z'' (Ohm)\n" + rows))


@pytest.mark.parametrize("name", ["Freq (log Hz)", "Frequency [log10 Hz]", "freq (log)"])
def test_a_column_of_logarithms_is_refused(tmp_path, name):
    """log10(f) in a column named as a frequency: was read as f (10 Hz-100 kHz as 1-5 Hz)."""
    rows = _rows("{!r},{!r},{!r}", [np.log10(F), Z.real, Z.imag])
    with pytest.raises(MissingColumnError, match="holds logarithms"):
        eisfit.read(_write(tmp_path, "log.csv", f"{name},Z' (Ohm),Z'' (Ohm)\n" + rows))


@pytest.mark.parametrize("first", ["Freq index", "Frequency number", "Freq #", "Freq set"])
def test_a_counter_or_unitless_column_named_like_a_frequency_does_not_take_its_place(tmp_path, first):
    """'Freq index' before 'Frequency (Hz)': the index (1..N) was read as the frequency."""
    rows = _rows("{!r},{!r},{!r},{!r}", [np.arange(1, F.size + 1), F, Z.real, Z.imag])
    s = _read1(_write(tmp_path, "counter.csv", f"{first},Frequency (Hz),Z' (Ohm),Z'' (Ohm)\n" + rows))
    np.testing.assert_allclose(s.frequency, F)


def test_the_columns_of_a_fit_are_not_the_data(tmp_path):
    """'Z' calc' before the measured Z': the model's values were read as the data."""
    model = Z * 0.97
    rows = _rows("{!r},{!r},{!r},{!r},{!r}", [F, model.real, model.imag, Z.real, Z.imag])
    s = _read1(_write(tmp_path, "fit.csv", "Frequency (Hz),Z' calc (Ohm),Z'' calc (Ohm),Z' (Ohm),Z'' (Ohm)\n" + rows))
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)
    only = _write(tmp_path, "sim.csv", "Frequency (Hz),Z' sim (Ohm),Z'' sim (Ohm)\n" + _rows(
        "{!r},{!r},{!r}", [F, model.real, model.imag]))
    with pytest.raises(MissingColumnError, match="no measured impedance columns"):
        eisfit.read(only)
    named = _read1(only, columns={"frequency": 0, "real": 1, "imag": 2})  # the user says they are data
    np.testing.assert_allclose(named.z, model, rtol=1e-12)


@pytest.mark.parametrize("re_name, im_name", [("ReZ", "ImZ"), ("Z.re", "Z.im"), ("Re[Z]", "Im[Z]"), ("Zr", "Zi"),
                                              ("Z-Real", "Z-Imag"), ("Re_Z", "Im_Z")])
def test_more_names_of_the_real_and_imaginary_parts(tmp_path, re_name, im_name):
    rows = _rows("{!r},{!r},{!r}", [F, Z.real, Z.imag])
    s = _read1(_write(tmp_path, "names.csv", f"Frequency (Hz),{re_name} (Ohm),{im_name} (Ohm)\n" + rows))
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)


@pytest.mark.parametrize("name", ["Fréquence (Hz)", "Frecuencia (Hz)", "Frequência (Hz)", "Frequenz (Hz)"])
def test_the_frequency_named_in_other_languages(tmp_path, name):
    rows = _rows("{!r},{!r},{!r}", [F, Z.real, Z.imag])
    s = _read1(_write(tmp_path, "lang.csv", f"{name},Z' (Ohm),Z'' (Ohm)\n" + rows))
    np.testing.assert_allclose(s.frequency, F)


@pytest.mark.parametrize("unit", ["Ohm/cm2", "Ohm m", "Ohm·m"])
def test_an_ohm_unit_that_cannot_be_converted_is_refused(tmp_path, unit):
    """'Ohm/cm2' (per area is ohm*cm2), a resistivity 'Ohm m': they were read as ohm."""
    rows = _rows("{!r},{!r},{!r}", [F, Z.real, Z.imag])
    with pytest.raises(MissingColumnError, match="is not one eisfit converts"):
        eisfit.read(_write(tmp_path, "unit.csv", f"Frequency (Hz),Z' ({unit}),Z'' ({unit})\n" + rows))


@pytest.mark.parametrize("unit, scale", [("Om", 1.0), ("kOm", 1e3), ("\u041e\u043c", 1.0), ("\u043a\u041e\u043c", 1e3),
                                         ("\u041c\u041e\u043c", 1e6), ("\u043c\u041e\u043c", 1e-3)])
def test_ohm_as_russian_exports_write_it(tmp_path, unit, scale):
    """'Om' and 'Ом' (ohm transliterated and in Cyrillic, with the prefixes к, М, м), after a
    comma as such exports put it."""
    rows = _rows("{!r};{!r};{!r}", [F, Z.real, Z.imag])
    path = _write(tmp_path, "ru.csv", f"f, Hz;Z', {unit};Z'', {unit}\n" + rows)
    np.testing.assert_allclose(_read1(path).z, Z * scale, rtol=1e-12)


def test_an_impedance_times_a_length_is_refused_with_what_it_is(tmp_path):
    """A public export's 'Z', Om·cm' (a specific impedance Z x A/L) was read as ohm without
    a word: R0 219.87 'ohm' where the sample's impedance was 59.6 ohm."""
    rows = _rows("{!r};{!r};{!r}", [F, Z.real, Z.imag])
    with pytest.raises(MissingColumnError, match=r"unit 'Om·cm' is not one eisfit converts.*specific impedance Z x A/L"):
        eisfit.read(_write(tmp_path, "rho.csv", "f;Z', Om\u00b7cm;\"Z\"\", Om\u00b7cm\"\n" + rows))


def test_a_temperature_and_a_cell_voltage_column_give_each_sweeps_values(tmp_path):
    """A battery impedance meter's Frequency(Hz),R(ohm),X(ohm),V(V),T(deg C): the cell voltage
    and the temperature had been left as extra columns. They give each sweep's
    ``dc_potential_V`` and ``temperature_C`` (medians over its points), which a campaign takes
    as its checkpoints' temperatures; 'T/K' is in kelvin, and a bare 'T' stays a time."""
    from eisfit.campaign import load_checkpoints

    v = np.linspace(3.446, 3.448, F.size)
    body = _rows("{!r},{!r},{!r},{!r},{!r}", [F, Z.real, Z.imag, v, np.full(F.size, 20.0)])
    s = _read1(_write(tmp_path, "hioki.csv", "Frequency(Hz),R(ohm),X(ohm),V(V),T(deg C)\n" + body))
    assert s.meta["temperature_C"] == 20.0 and s.meta["dc_potential_V"] == pytest.approx(np.median(v))
    np.testing.assert_allclose(s.z, Z, rtol=1e-12)
    folder = tmp_path / "series"
    folder.mkdir()
    for k, t_k in enumerate((300.0, 320.0)):
        rows = _rows("{!r},{!r},{!r},{!r}", [F, Z.real, -Z.imag, np.full(F.size, t_k)])
        _write(folder, f"s{k}.csv", "freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm,T/K\n" + rows)
    assert [c.temperature_K for c in load_checkpoints(folder).checkpoints] == pytest.approx([300.0, 320.0])
    bare = _read1(_write(tmp_path, "time.csv", "freq/Hz,Re(Z)/Ohm,Im(Z)/Ohm,T\n"
                         + _rows("{!r},{!r},{!r},{!r}", [F, Z.real, Z.imag, np.arange(F.size, dtype=float)])))
    assert "temperature_C" not in bare.meta and bare.meta["time_s"] == 0.0


def test_a_table_that_says_it_holds_fitted_values_is_read_with_a_warning(tmp_path):
    """Another program's fit saved as a table ("# Fitted impedance data") read as a
    measurement would be fitted to itself: the reader says what the file says."""
    body = "".join(f"{f:g},{10 + 5 / (1 + f):g},{-5 * f / (1 + f * f):g}\n" for f in np.logspace(4, -1, 12))
    fitted = tmp_path / "fit.csv"
    fitted.write_text("# Fitted impedance data\n# Circuit Model: R1-p(R2,C2)\nfreq_Hz,Zre_ohm,Zim_ohm\n" + body)
    with pytest.warns(UserWarning, match=r"fit.csv: the file says it holds fitted impedance .*not a measurement"):
        eisfit.read(fitted)
    measured = tmp_path / "measured.csv"  # a software name with "Fit" in it is no such statement
    measured.write_text("# exported by Z Fit 2.1\nfreq_Hz,Zre_ohm,Zim_ohm\n" + body)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eisfit.read(measured)


def test_a_sweep_the_spectrum_refuses_names_its_file_once(tmp_path):
    path = tmp_path / "zero.csv"
    path.write_text("freq_Hz,Zre_ohm,Zim_ohm\n" + "".join(f"{f:g},0,0\n" for f in np.logspace(4, 0, 9)))
    with pytest.raises(eisfit.errors.ReadError) as info:
        eisfit.read(path)
    assert str(info.value).count("zero.csv") == 1 and "sweep 0: impedance is 0" in str(info.value), str(info.value)


def test_rows_in_no_frequency_order_are_one_sweep_with_a_warning(tmp_path):
    """Rows sorted by another column (or shuffled) change direction at almost every row: no
    file holds sweeps of 2 points; read as one sweep (it gave one error per piece)."""
    f = np.logspace(5, -1, 40)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-3)
    order = np.random.default_rng(1).permutation(f.size)
    path = tmp_path / "shuffled.csv"
    path.write_text("freq_Hz,Zre_ohm,Zim_ohm\n" + "".join(f"{f[k]:.10g},{z[k].real:.10g},{z[k].imag:.10g}\n"
                                                        for k in order))
    with pytest.warns(UserWarning, match="40 rows are in no sweep order"):
        (s,) = eisfit.read(path)
    assert len(s) == 40
    assert sorted(s.frequency) == pytest.approx(sorted(f), rel=1e-9)


def test_a_column_of_nan_is_named_as_such_not_as_no_numbers(tmp_path):
    path = tmp_path / "nan.csv"
    path.write_text("freq_Hz,Zre_ohm,Zim_ohm\n" + "".join(f"{f:g},nan,-{f:g}\n" for f in np.logspace(4, 0, 9)))
    with pytest.raises(eisfit.errors.CorruptFileError, match=r"9 line\(s\) hold nan or inf values \(line 2: "):
        eisfit.read(path)


def test_a_phase_beyond_180_degrees_is_no_phase_of_z(tmp_path):
    f = np.logspace(4, 0, 9)
    path = tmp_path / "phase.csv"
    path.write_text("freq_Hz,Zmod_ohm,phase_deg\n" + "".join(f"{x:g},100,{-50 * k:g}\n" for k, x in enumerate(f)))
    with pytest.raises(eisfit.errors.CorruptFileError, match=r"5 value\(s\) beyond \+-180 deg \(largest 400 deg\)"):
        eisfit.read(path)
    path.write_text("freq_Hz,Zmod_ohm,phase_deg\n" + "".join(f"{x:g},100,{-10 * k:g}\n" for k, x in enumerate(f)))
    assert len(eisfit.read(path)[0]) == 9  # down to -80 deg: a phase


def test_a_table_of_another_technique_is_named_so_not_asked_for_its_frequency_column(tmp_path):
    """A cycling table (time/s, Ewe/V, I/mA) got "name the columns with --columns frequency=0,...",
    which would read time as frequency."""
    path = tmp_path / "gcpl.csv"
    path.write_text("time/s,Ewe/V,I/mA\n" + "".join(f"{t},{3 + 0.01 * t},0.1\n" for t in range(20)))
    with pytest.raises(eisfit.errors.MissingColumnError, match=r"no impedance data: .*another technique") as info:
        eisfit.read(path)
    assert "--columns" not in str(info.value)


def test_a_comma_table_of_quoted_decimal_comma_numbers_reads(tmp_path):
    """pandas' to_csv(decimal=",") with its default sep="," quotes every number: "16,87"."""
    import pandas as pd

    f = np.logspace(5, -1, 13)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-3)
    path = tmp_path / "eu.csv"
    pd.DataFrame({"Freq (Hz)": f, "Z' (Ohm)": z.real, "Z'' (Ohm)": z.imag}).to_csv(path, index=False, decimal=",")
    assert '"' in path.read_text().splitlines()[1]
    (s,) = eisfit.read(path)
    np.testing.assert_allclose(s.frequency, f, rtol=1e-12)
    np.testing.assert_allclose(s.z, z, rtol=1e-12)


@pytest.mark.parametrize("extra", ["time", "index"])
def test_a_headerless_table_with_a_clock_or_row_index_reads_from_high_to_low_frequency(tmp_path, extra):
    """Z' rises over a sweep from high to low frequency as a time column does: the table was
    refused ("1 columns left for the impedance"). The clock advances by at least half a
    period at low frequency; a row index counts 1, 2, 3."""
    f = np.logspace(6, -1, 36)
    z = 12 + 80 / (1 + (1j * 2 * np.pi * f * 1e-6) ** 0.9) + 150 / (1 + (1j * 2 * np.pi * f * 1e-3) ** 0.85)
    # a point takes about a second, or two periods where they are longer
    first = np.cumsum(np.maximum(1.0, 2.0 / f)) if extra == "time" else np.arange(1, f.size + 1)
    path = tmp_path / f"{extra}.txt"
    np.savetxt(path, np.c_[first, f, z.real, z.imag], delimiter="\t")
    (s,) = eisfit.read(path)
    np.testing.assert_allclose(s.frequency, f, rtol=1e-12)
    np.testing.assert_allclose(s.z, z, rtol=1e-12)


@pytest.mark.parametrize("layout", ["clock last, tabs", "date first, commas", "date first, semicolons"])
def test_a_headerless_table_with_a_clock_or_date_column_is_read(tmp_path, layout):
    """A headerless f, Z', Z'' table with a clock time or a date in every line (an
    instrument's log-style export) was 'not an impedance data file': text columns were set
    aside only under a header naming a frequency. Without a header, they are set aside when
    a numeric column holds frequencies; the rule says what was counted. A log of other
    quantities with a date column (no frequencies) stays unrecognised."""
    f = np.logspace(6, -1, 36)
    z = 12 + 80 / (1 + (1j * 2 * np.pi * f * 1e-6) ** 0.9) + 150 / (1 + (1j * 2 * np.pi * f * 1e-3) ** 0.85)
    stamps = [f"12:{k // 60:02d}:{k % 60:02d}" for k in range(f.size)]
    if layout == "clock last, tabs":
        lines = [f"{a!r}\t{b!r}\t{c!r}\t{t}"
                 for a, b, c, t in zip(f.tolist(), z.real.tolist(), z.imag.tolist(), stamps)]
        text_field = "field 4 of each line"
    else:
        delim = "," if "commas" in layout else ";"
        lines = [f"2025-01-10 {t}{delim}{a!r}{delim}{b!r}{delim}{c!r}"
                 for a, b, c, t in zip(f.tolist(), z.real.tolist(), z.imag.tolist(), stamps)]
        text_field = "field 1 of each line"
    s = _read1(_write(tmp_path, "log_style.txt", "\n".join(lines) + "\n"))
    np.testing.assert_allclose(s.frequency, f, rtol=1e-12)
    np.testing.assert_allclose(s.z, z, rtol=1e-12)
    assert s.meta["text_columns"] == [text_field]
    assert f"counted without {text_field}" in s.meta["columns_rule"]
    log = "".join(f"2025-01-10 12:00:{k:02d},3.4{k},0.50,{k // 10 + 1}\n" for k in range(30))
    with pytest.raises(UnknownFormatError, match="not an impedance data file"):
        eisfit.read(_write(tmp_path, "cycler_log.txt", log))


def test_a_headerless_row_counter_with_a_row_left_out_is_not_taken_for_z_real(tmp_path):
    """A row counter that skips the number of a row left out (1, 2, ..., 11, 13), beside a Z'
    that rises fast enough at low frequency to pace the sweep as a clock would: the counter
    was not recognised, two clock-like columns left one for the impedance, and the table was
    refused."""
    f = np.logspace(5, 0, 12)
    z = 30 + 100 / (1 + (1j * 2 * np.pi * f * 1e-5) ** 0.9) + 250 / (1 + (1j * 2 * np.pi * f * 0.03) ** 0.85)
    counter = np.r_[np.arange(1, 12), 13.0]
    path = tmp_path / "counter.txt"
    np.savetxt(path, np.c_[f, z.real, z.imag, counter], delimiter=";")
    (s,) = eisfit.read(path)
    np.testing.assert_allclose(s.frequency, f, rtol=1e-12)
    np.testing.assert_allclose(s.z, z, rtol=1e-12)


def test_space_separated_header_with_units_after_a_space_keeps_the_units(tmp_path):
    # one space between fields and inside the names: 'Frequency (kHz) Z' (kOhm) -Z'' (Ohm)' is
    # 6 words over 3 columns; each unit joins the name before it
    text = "Frequency (kHz) Z' (kOhm) -Z'' (Ohm)\n" + _rows("{:.12g} {:.12g} {:.12g}", (F / 1e3, Z.real / 1e3, -Z.imag))
    s = _read1(_write(tmp_path, "units.txt", text))
    np.testing.assert_allclose(s.frequency, F, rtol=1e-10)
    np.testing.assert_allclose(s.z, Z, rtol=1e-10)
    assert s.meta["columns_detected"] == {"frequency": "Frequency (kHz)", "real": "Z' (kOhm)", "imag": "-Z'' (Ohm)"}


@pytest.mark.parametrize("header, scale", [("f [Hz] Real Z Imag Z I/mA", 1.0), ("Freq Re Z (mOhm) Z_im I/mA", 1e3),
                                           ("Frequency Real part Imaginary part I/mA", 1.0)])
def test_space_separated_header_with_two_word_names_reads_them_as_one(tmp_path, header, scale):
    # 'Real Z', 'Z imag', 'Imaginary part' over columns separated by spaces: the one reading of
    # the words that gives a name per column joins them (and the unit after them)
    current = np.full(F.size, 1e-3)
    text = header + "\n" + _rows("{:.12g} {:.12g} {:.12g} {:.12g}", (F, Z.real * scale, Z.imag, current))
    s = _read1(_write(tmp_path, "spaces.txt", text))
    np.testing.assert_allclose(s.z, Z, rtol=1e-10)
    np.testing.assert_allclose(s.frequency, F)


def test_a_header_of_thousands_of_words_is_refused_not_a_crash(tmp_path):
    # every way of joining 'Re Z' pairs is a reading: the search stops after MAX_PHRASE_READINGS
    text = "Freq " + "Re Z " * 3000 + "\n" + _rows("{:.12g} {:.12g} {:.12g}", (F, Z.real, Z.imag))
    with pytest.raises(MissingColumnError, match="does not split into one name per column"):
        eisfit.read(_write(tmp_path, "long.txt", text))


@pytest.mark.parametrize("header, data_columns", [("Freq Re Z Im I/mA", 4), ("f [Hz] Real Z Imag Z I/mA", 5)])
def test_space_separated_header_that_does_not_split_per_column_is_refused_not_guessed(tmp_path, header,
                                                                                     data_columns):
    # names with spaces over columns separated by spaces where the words do not say which name
    # (and unit) belongs to which column: 'Re Z Im' is 'Re Z, Im' or 'Re, Z Im'; no reading gives
    # one name per column. Cutting the words to the number of columns had read the current as
    # Z'' or Z'' as Z', and the mOhm of Re Z onto another column.
    extra = [np.full(F.size, 1e-3), np.full(F.size, 7.0)][:data_columns - 3]
    fmt = " ".join(["{:.12g}"] * data_columns)
    text = header + "\n" + _rows(fmt, (F, Z.real, Z.imag, *extra))
    p = _write(tmp_path, "spaces.txt", text)
    with pytest.raises(MissingColumnError, match=r"does not split into one name per column.*--columns"):
        eisfit.read(p)
    s = _read1(p, columns={"frequency": 0, "real": 1, "imag": 2})
    np.testing.assert_allclose(s.z, Z, rtol=1e-10)
    np.testing.assert_allclose(s.frequency, F)


def test_space_separated_header_with_a_name_beyond_the_data_keeps_its_one_word_names(tmp_path):
    # one word per name and a comment column without values: the names stay over their columns
    text = "Freq Zre Zim comment\n" + _rows("{:.12g} {:.12g} {:.12g}", (F, Z.real, Z.imag))
    with pytest.warns(ReadWarning, match="header has 4 names for 3 data columns"):
        s = _read1(_write(tmp_path, "trail.txt", text))
    np.testing.assert_allclose(s.z, Z, rtol=1e-10)
    assert s.meta["columns_detected"] == {"frequency": "Freq", "real": "Zre", "imag": "Zim"}
    # fewer names than columns: the unnamed last column is numbered, as with any delimiter
    text = "Freq Zre Zim\n" + _rows("{:.12g} {:.12g} {:.12g} 7", (F, Z.real, Z.imag))
    with pytest.warns(ReadWarning, match="header has 3 names for 4 data columns"):
        s = _read1(_write(tmp_path, "fewer.txt", text))
    np.testing.assert_allclose(s.z, Z, rtol=1e-10)


def test_reader_variants_script_reads_every_kind_back_or_refuses_it(tmp_path):
    """scripts/reader_variants.py (the differential check of the readers), 60 seeded files of
    each kind of table: none read with wrong values, at least 55 read back. Session 30's
    readers read 4 header and 17 headerless variants of this seed wrong, without an error
    (a space-separated header whose names hold spaces; f, Z', Z'', phase; f, -Z'', Z'), and
    refused 17 rows of units after '#', 22 wide tables with decimal commas and JSON tables of
    NOVA's column names."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "reader_variants.py"
    spec = importlib.util.spec_from_file_location("reader_variants", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for family in module.FAMILIES:
        back, refused, wrong = module.check(family, 60, seed=3, folder=tmp_path)
        assert wrong == [], (family, wrong)
        assert back >= 55, (family, back, refused)


def test_a_table_borrowing_ec_lab_labels_after_notes_is_read_as_a_table(tmp_path):
    """Notes, then a tab header that borrows EC-Lab's 'freq/Hz' and 'Re(Z)/Ohm' but names the
    imaginary part otherwise: no EC-Lab export (no 'EC-Lab ASCII FILE' line), so the table
    reader reads it (the .mpt reader took the notes for its header block and refused it:
    'need Re(Z)/Ohm and -Im(Z)/Ohm')."""
    text = "Sample: LLZO pellet\nOperator: x\nfreq/Hz\tRe(Z)/Ohm\tZimag (Ohm)\n" + _rows(
        "{:.12g}\t{:.12g}\t{:.12g}", (F, Z.real, Z.imag))
    s = _read1(_write(tmp_path, "notes.txt", text))
    np.testing.assert_allclose(s.z, Z, rtol=1e-10)
    assert s.meta["format"] == "csv"


# -- units a header names that eisfit does not convert (audit s42, item 6) --------------------
_UNIT_F = [1000.0, 500.0, 200.0, 100.0, 50.0, 10.0]
_UNIT_Z = [complex(10 + k, -1 - k) for k in range(6)]


def _unit_table(tmp_path, f_unit: str = "Hz", z_unit: str = "Ohm"):
    p = tmp_path / "u.csv"
    p.write_text(f"freq ({f_unit}),Z' ({z_unit}),Z'' ({z_unit})\n"
                 + "".join(f"{f},{z.real},{z.imag}\n" for f, z in zip(_UNIT_F, _UNIT_Z)), encoding="utf-8")
    return p


@pytest.mark.parametrize("z_unit, quantity", [("V", "a potential"), ("mA", "a current"), ("s", "a time"),
                                              ("mA/cm2", "a current per area"), ("A/m2", "a current per area"),
                                              ("µA cm-2", "a current per area")])
def test_an_impedance_column_in_a_unit_of_another_quantity_is_refused(tmp_path, z_unit, quantity):
    """"Z' (V)" was read as ohm without a word; so, with a warning of an unknown unit, was a
    photocurrent (IMPS) spectrum's "Re(Z) [mA/cm2]", a current density."""
    with pytest.raises(MissingColumnError, match=rf"column \"Z' \({z_unit}\)\" was taken as real but its unit "
                                                 rf"'{z_unit}' is that of {quantity}"):
        eisfit.read(_unit_table(tmp_path, z_unit=z_unit))


@pytest.mark.parametrize("f_unit", ["s", "ms"])
def test_a_frequency_column_in_seconds_is_a_period_and_refused(tmp_path, f_unit):
    """'freq (s)' was read as Hz: a period taken for a frequency."""
    with pytest.raises(MissingColumnError, match=r"'freq \(m?s\)' was taken as frequency .*a period, not a frequency"):
        eisfit.read(_unit_table(tmp_path, f_unit=f_unit))


def test_a_unit_eisfit_does_not_know_is_read_with_a_warning_naming_the_column(tmp_path):
    """'Z' (foo)' and 'freq (cps)' were read as ohm and Hz without a word."""
    with pytest.warns(ReadWarning) as caught:
        (s,) = eisfit.read(_unit_table(tmp_path, f_unit="cps", z_unit="foo"))
    text = " | ".join(str(w.message) for w in caught)
    assert "column \"Z' (foo)\" (taken as real): unit 'foo' is not one eisfit knows; read in ohm" in text
    assert "column 'freq (cps)' (taken as frequency): unit 'cps' is not one eisfit knows; read in Hz" in text
    np.testing.assert_array_equal(s.z, _UNIT_Z)


@pytest.mark.parametrize("z_unit, scale", [("\u00ce\u00a9", 1.0), ("k\u00ce\u00a9", 1e3)])
def test_an_ohm_sign_decoded_from_utf8_as_cp1252_is_read_as_ohm(tmp_path, z_unit, scale):
    """'Î©' (the UTF-8 bytes of Ω read as cp1252) was read as ohm by chance, 'kÎ©' as ohm too
    (1000 times too small): both are mended to Ω, kΩ."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReadWarning)
        (s,) = eisfit.read(_unit_table(tmp_path, z_unit=z_unit))
    np.testing.assert_allclose(s.z, np.array(_UNIT_Z) * scale)


def test_zview_part_labels_and_a_quantity_in_brackets_are_no_units(tmp_path):
    """ZView's "Z'(a)", "Z''(b)" and RelaxIS' 'Theta (Z)' name parts and quantities, not units."""
    p = tmp_path / "zv.csv"
    p.write_text("Freq(Hz),Z'(a),Z''(b)\n" + "".join(f"{f},{z.real},{z.imag}\n" for f, z in zip(_UNIT_F, _UNIT_Z)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReadWarning)
        eisfit.read(p)


def test_a_csv_export_reads_back_with_the_admittance_columns_and_no_sweep_column(tmp_path):
    """A BioLogic export's 'Re(Y)/Ohm-1', 'Im(Y)/Ohm-1' were written into the CSV export but
    dropped on reading it back (taken as the admittance, unused beside Z' and Z''), and the
    export's own 'sweep' column came back as an extra column; the JSON export kept them."""
    f = np.array(_UNIT_F)
    z = np.array(_UNIT_Z)
    extra = {"Re(Y)/Ohm-1": (1 / z).real, "Im(Y)/Ohm-1": (1 / z).imag, "time/s": np.arange(6.0)}
    spectra = [Spectrum(f, z, {"source": "a.mpt", "sweep": k}, columns=extra) for k in range(2)]
    for write, name in ((write_csv, "a.csv"), (write_json, "a.json")):
        back = eisfit.read(write(spectra, tmp_path / name))
        assert [sorted(s.columns) for s in back] == [sorted(extra)] * 2, name
        for key, values in extra.items():
            np.testing.assert_array_equal(back[1].columns[key], values)
        np.testing.assert_array_equal(back[1].z, z)


def test_a_column_holding_the_frequencies_is_no_impedance(tmp_path):
    """An AD5933 logger's CSV (chamodw/eis-data) wrote ``freq`` into its ``imaginary`` column
    beside raw counts: it had been read as Z'' = +f ohm, with a sign warning only."""
    body = "freq, real, imaginary, concentration\n" + "".join(
        f"{f:.0f},{1300 + k * 7},{f:.0f},0.5\n" for k, f in enumerate(np.arange(10000, 19000, 300.0)))
    p = _write(tmp_path, "raw.csv", "#, session_id, gain_factor\n#nano,1.01e-08\n" + body)
    with pytest.raises(CorruptFileError, match=r"raw\.csv: the column 'imaginary', read as Z'', holds the "
                                               r"frequencies of 'freq' in every row: no impedance in it"):
        eisfit.read(p)


def test_lin_kk_tool_column_names(tmp_path):
    """Boukamp's Lin-KK input (m0l0t0ph/thesis's LinKK_Input_LATP_PEIS_04.xls): Frequency,
    Data Real, Data Imag; refused before as naming no impedance column."""
    text = "Frequency\tData Real\tData Imag\n" + "".join(
        f"{f!r}\t{z.real!r}\t{z.imag!r}\n" for f, z in zip(F.tolist(), Z.tolist()))
    s = _read1(_write(tmp_path, "linkk.txt", text))
    assert s.meta["columns_detected"] == {"frequency": "Frequency", "real": "Data Real", "imag": "Data Imag"}
    np.testing.assert_allclose(s.z, Z, rtol=1e-15)


def test_a_side_by_side_group_titled_fit_is_left_out(tmp_path):
    """A measured group beside its fit ('Messung', 'Fit': m0l0t0ph/thesis's evaluation
    workbook): the fit's curve had been read as a second measured spectrum."""
    fit = Z * 1.01
    lines = ["Messung\t\t\t\tFit", "Freq\tZ'\tZ''\t\tFreq\tZ'\tZ''"] + [
        f"{f!r}\t{z.real!r}\t{z.imag!r}\t\t{f!r}\t{m.real!r}\t{m.imag!r}" for f, z, m in zip(F.tolist(), Z.tolist(),
                                                                                     fit.tolist())]
    p = _write(tmp_path, "eval.txt", "\n".join(lines) + "\n")
    with pytest.warns(ReadWarning, match=r"eval\.txt: column group\(s\) 2 \('Fit'\) left out: the title names a "
                                         r"model's curve"):
        (s,) = eisfit.read(p)
    np.testing.assert_allclose(s.z, Z, rtol=1e-15)
    assert s.meta["column_group_title"] == "Messung"


def test_each_sweep_carries_its_dc_potential_from_a_potential_column(tmp_path):
    """A staircase PEIS (Mott-Schottky: -0.4 -> 0.6 V in 25 mV steps, a real EC-Lab file of
    41 sweeps) carried only each sweep's time and cycle, not the potential that is the
    series' axis. A column of the DC potential (<Ewe>/V, Ewe/V, Vdc, E dc (V), in V or mV)
    gives each sweep ``meta["dc_potential_V"]``, the median over its points (V)."""
    from eisfit.io._common import axis_of_column

    for name, scale in (("<Ewe>/V", 1.0), ("Ewe/V", 1.0), ("Vdc", 1.0), ("E dc (V)", 1.0), ("<Ewe>/mV", 1e-3)):
        assert axis_of_column(name) == ("dc_potential_V", scale), name
    assert axis_of_column("E/V") is None and axis_of_column("I/mA") is None
    steps = (-0.4, -0.375)
    lines = ["freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\tcycle number\t<Ewe>/mV"]
    rng = np.random.default_rng(0)
    for k, e in enumerate(steps):
        for f, z, jitter in zip(F, Z, rng.normal(0.0, 0.2, F.size)):
            lines.append(f"{f:.10g}\t{z.real:.10g}\t{-z.imag:.10g}\t{k + 1}\t{1e3 * e + jitter:.4f}")
    spectra = eisfit.read(_write(tmp_path, "speis.txt", "\n".join(lines) + "\n"))
    assert [s.meta["cycle"] for s in spectra] == [1, 2]
    for s, e in zip(spectra, steps):
        assert s.meta["dc_potential_V"] == pytest.approx(e, abs=2e-4)
        assert s.meta["axis_columns"]["dc_potential_V"] == "<Ewe>/mV"


def test_numbers_in_engineering_notation_are_read(tmp_path):
    """Zahner's Thales/Analysis CSV writes '735.948m' and '1.462k' (an SI prefix as the
    number's suffix): the file had been refused ('non-numeric value'). The prefixes p, n, u,
    µ, m, k, M and G scale the number; a unit after it is no such number."""
    from eisfit.io.tabular import parse_number

    for text, value in (("735.948m", 0.735948), ("1.462k", 1462.0), ("500.000k", 5e5), ("3.3u", 3.3e-6),
                        ("2M", 2e6), ("-4.5n", -4.5e-9), ("1e3m", 1.0)):
        assert parse_number(text) == pytest.approx(value, rel=1e-12), text
    for text in ("5 mV", "1.2km", "m", "k1"):
        with pytest.raises(ValueError):
            parse_number(text)
    f = np.array([5.0, 98.966, 1462.0, 5e5])
    modulus = np.array([14.151, 0.735948, 0.078668, 0.062476])
    phase = np.array([-88.811, -84.415, -44.011, 42.507])
    shown = ["5.000", "98.966", "1.462k", "500.000k"], ["14.151", "735.948m", "78.668m", "62.476m"]
    rows = "".join(f"{a};{b};{c:.3f}\n" for a, b, c in zip(*shown, phase))
    s = _read1(_write(tmp_path, "EIS.csv", "Frequency;Impedance;Phase\n" + rows))
    np.testing.assert_allclose(s.frequency, f, rtol=1e-12)
    np.testing.assert_allclose(np.abs(s.z), modulus, rtol=1e-9)
    np.testing.assert_allclose(np.degrees(np.angle(s.z)), phase, atol=1e-9)
