"""Excel workbooks (.xlsx): sheets, shared and inline strings, formulas, bad files.

The workbooks are written by the small Office Open XML writer below (zip of XML parts,
as ECMA-376 lays them out), not by a spreadsheet library; the expected impedances come
from the closed form of the circuit, not from the reader.
"""
from __future__ import annotations

import struct
import warnings
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pytest

import eisfit
from eisfit.errors import CorruptFileError, MissingColumnError, ReadError, UnknownFormatError
from eisfit.io import detect_format
from eisfit.io._common import ReadWarning

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_MAIN = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def z_cell_ohm(f_hz: np.ndarray) -> np.ndarray:
    """Closed form R0 + R1/(1 + jw R1 C1) + R2/(1 + jw R2 C2), ohm."""
    w = 2 * np.pi * np.asarray(f_hz, dtype=float)
    return 12.0 + 150.0 / (1 + 1j * w * 150.0 * 2e-9) + 90.0 / (1 + 1j * w * 90.0 * 4e-6)


def _column_letters(k: int) -> str:
    out = ""
    k += 1
    while k:
        k, rest = divmod(k - 1, 26)
        out = chr(65 + rest) + out
    return out


class Book:
    """A minimal .xlsx writer: sheets of rows (lists of str, float or None), text cells
    as shared strings (default) or inline strings, formulas as ('=...', cached value)."""

    def __init__(self, namespace: str = MAIN, inline: bool = False):
        self.sheets: list[tuple[str, list[tuple[int, int, list]]]] = []
        self.namespace, self.inline = namespace, inline
        self.strings: list[str] = []

    def sheet(self, name: str, rows: list[list], first_row: int = 1, first_column: int = 0) -> "Book":
        self.sheets.append((name, [(first_row + i, first_column, row) for i, row in enumerate(rows)]))
        return self

    def _cell(self, ref: str, value) -> str:
        if value is None:
            return ""
        if isinstance(value, tuple) and value[0] in ("date", "clock"):  # a number shown as a date / time
            return f'<c r="{ref}" s="{1 if value[0] == "date" else 2}"><v>{value[1]!r}</v></c>'
        if isinstance(value, tuple):  # (formula, cached number)
            return f'<c r="{ref}"><f>{escape(value[0][1:])}</f><v>{value[1]!r}</v></c>'
        if isinstance(value, str):
            if self.inline:
                return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
            if value not in self.strings:
                self.strings.append(value)
            return f'<c r="{ref}" t="s"><v>{self.strings.index(value)}</v></c>'
        return f'<c r="{ref}"><v>{float(value)!r}</v></c>'

    def _sheet_xml(self, rows) -> str:
        body = "".join(
            f'<row r="{r}">' + "".join(self._cell(f"{_column_letters(c0 + j)}{r}", v) for j, v in enumerate(row))
            + "</row>" for r, c0, row in rows)
        return f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{self.namespace}"><sheetData>{body}</sheetData></worksheet>'

    def save(self, path: Path) -> Path:
        sheets_xml = "".join(f'<sheet name="{escape(n)}" sheetId="{k + 1}" r:id="rId{k + 1}"/>'
                             for k, (n, _) in enumerate(self.sheets))
        rels = "".join(f'<Relationship Id="rId{k + 1}" Type="{REL}/worksheet" Target="worksheets/sheet{k + 1}.xml"/>'
                       for k in range(len(self.sheets)))
        parts = {f"xl/worksheets/sheet{k + 1}.xml": self._sheet_xml(rows) for k, (_, rows) in enumerate(self.sheets)}
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
            zf.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook xmlns="{self.namespace}" '
                                           f'xmlns:r="{REL}"><sheets>{sheets_xml}</sheets></workbook>')
            zf.writestr("xl/_rels/workbook.xml.rels",
                        f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL}">{rels}</Relationships>')
            for name, xml in parts.items():
                zf.writestr(name, xml)
            zf.writestr("xl/styles.xml", f'<?xml version="1.0"?><styleSheet xmlns="{self.namespace}"><numFmts count="1">'
                        '<numFmt numFmtId="164" formatCode="hh:mm:ss;@"/></numFmts><cellXfs count="3">'
                        '<xf numFmtId="0"/><xf numFmtId="22"/><xf numFmtId="164"/></cellXfs></styleSheet>')
            if self.strings:
                items = "".join(f"<si><t>{escape(s)}</t></si>" for s in self.strings)
                zf.writestr("xl/sharedStrings.xml", f'<?xml version="1.0"?><sst xmlns="{self.namespace}">{items}</sst>')
        return path


def _table(f: np.ndarray, z: np.ndarray, minus_imag: bool = True) -> list[list]:
    head = ["Freq / Hz", "Re(Z) / Ohm", "-Im(Z) / Ohm" if minus_imag else "Im(Z) / Ohm"]
    return [head] + [[float(a), float(b.real), float(-b.imag if minus_imag else b.imag)] for a, b in zip(f, z)]


F = np.logspace(6, -1, 36)


def read_the_data_sheet(path: Path, fmt: str, f: np.ndarray, sheet: str, notes: str):
    """The one spectrum of a workbook whose sheet ``notes`` is left out with a warning:
    detected as ``fmt``, every digit of the closed form kept."""
    assert detect_format(path) == fmt
    with pytest.warns(ReadWarning, match=f"'{notes}'"):
        (s,) = eisfit.read(path)
    np.testing.assert_array_equal(s.frequency, f)
    np.testing.assert_allclose(s.z, z_cell_ohm(f), rtol=1e-15)
    assert s.meta["sheet"] == sheet and s.meta["format"] == fmt
    assert s.meta["sweep"] == 0 and s.meta["n_sweeps"] == 1
    return s


def test_a_sheet_with_a_title_and_an_offset_table_reads_every_digit_and_leaves_notes_out(tmp_path):
    book = Book().sheet("Notes", [["cell 7, LLZTO pellet"], ["operator", "A.B."]])
    book.sheet("EIS 25 C", [["PEIS export, 25 C"], []] + _table(F, z_cell_ohm(F)), first_row=2, first_column=1)
    read_the_data_sheet(book.save(tmp_path / "cell7.xlsx"), "xlsx", F, "EIS 25 C", "Notes")


def test_detected_by_content_without_the_extension(tmp_path):
    path = Book().sheet("Sheet1", _table(F, z_cell_ohm(F))).save(tmp_path / "download.bin")
    assert detect_format(path) == "xlsx"
    (s,) = eisfit.read(path)
    np.testing.assert_allclose(s.z, z_cell_ohm(F), rtol=1e-15)


def test_every_data_sheet_is_a_spectrum_and_sheet_picks_one(tmp_path):
    z2 = z_cell_ohm(F) * 1.5
    book = Book().sheet("0 h", _table(F, z_cell_ohm(F))).sheet("500 h", _table(F, z2, minus_imag=False))
    path = book.save(tmp_path / "campaign.xlsx")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a, b = eisfit.read(path)
    assert (a.meta["sheet"], b.meta["sheet"]) == ("0 h", "500 h")
    assert (a.meta["sweep"], b.meta["sweep"], b.meta["n_sweeps"]) == (0, 1, 2)
    np.testing.assert_allclose(b.z, z2, rtol=1e-15)  # Im(Z) column: sign decided from the data
    (only,) = eisfit.read(path, sheet="500 h")
    np.testing.assert_allclose(only.z, z2, rtol=1e-15)
    (first,) = eisfit.read(path, sheet=0)
    np.testing.assert_allclose(first.z, z_cell_ohm(F), rtol=1e-15)
    with pytest.raises(ReadError, match=r"no sheet named '1000 h'; sheets: '0 h', '500 h'"):
        eisfit.read(path, sheet="1000 h")
    with pytest.raises(ReadError, match="sheet 5 does not exist"):
        eisfit.read(path, sheet=5)


def test_inline_strings_formulas_and_the_strict_namespace(tmp_path):
    rows = _table(F, z_cell_ohm(F))
    rows[1][1] = ("=12+150+90", rows[1][1])  # a formula: its cached value is read
    path = Book(namespace=STRICT_MAIN, inline=True).sheet("data", rows).save(tmp_path / "strict.xlsx")
    (s,) = eisfit.read(path)
    np.testing.assert_allclose(s.z, z_cell_ohm(F), rtol=1e-15)


def test_a_bad_cell_is_reported_with_its_sheet_and_row(tmp_path):
    rows = _table(F, z_cell_ohm(F))
    rows[5][2] = "#DIV/0!"  # spreadsheet row 6
    path = Book().sheet("data", rows).save(tmp_path / "bad.xlsx")
    for options in ({"sheet": "data"}, {}):  # a damaged data sheet is never left out as "no table"
        with pytest.raises(ReadError) as info:
            eisfit.read(path, **options)
        assert str(info.value) == f"{path}: sheet 'data': row 6: non-numeric value '#DIV/0!' in column '-Im(Z) / Ohm'"


def test_no_impedance_sheet_names_every_sheet_and_why(tmp_path):
    """A workbook of notes or fit results is no impedance data file (UnknownFormatError: a folder
    campaign leaves it out with a warning); one with a sheet that names a frequency column but
    holds no impedance is damaged data (MissingColumnError: a checkpoint with its error)."""
    path = Book().sheet("Notes", [["just notes"]]).sheet("Empty", []).sheet(
        "Fits", [["cell", "R0", "R1"], ["a", 10.0, 20.0], ["b", 11.0, 21.0]]).save(tmp_path / "notes.xlsx")
    with pytest.raises(UnknownFormatError, match="not an impedance data file: no sheet holds an impedance table: "
                                                 "'Notes' .*'Empty' .*'Fits' "):
        eisfit.read(path)
    half = Book().sheet("Notes", [["just notes"]]).sheet(
        "Sweep", [["Frequency (Hz)", "Voltage (V)"], [1000.0, 0.1], [100.0, 0.2], [10.0, 0.3]]).save(tmp_path / "half.xlsx")
    with pytest.raises(MissingColumnError, match="half.xlsx: no sheet holds an impedance table: 'Notes' .*'Sweep' "):
        eisfit.read(half)


def test_damaged_and_foreign_zip_files_get_one_clear_error(tmp_path):
    good = Book().sheet("data", _table(F, z_cell_ohm(F))).save(tmp_path / "good.xlsx")
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match="cut.xlsx: damaged .xlsx workbook"):
        eisfit.read(cut)
    other = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "not a workbook")
    with pytest.raises(UnknownFormatError, match="without xl/workbook.xml"):
        eisfit.read(other)
    legacy = tmp_path / "old.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(CorruptFileError, match="old.xls: damaged .xls workbook"):
        eisfit.read(legacy)
    with pytest.raises(UnknownFormatError, match="legacy Excel 97-2003 workbook .* read it as format 'xls'"):
        eisfit.read(legacy, format="xlsx")


def test_the_cli_describes_and_fits_a_workbook(tmp_path):
    from click.testing import CliRunner

    from eisfit.cli import main as cli

    path = Book().sheet("data", _table(F, z_cell_ohm(F))).save(tmp_path / "cell.xlsx")
    out = CliRunner().invoke(cli, ["info", str(path)])
    assert out.exit_code == 0, out.output
    assert "format xlsx" in out.output and "sheet 'data'" in out.output
    fitted = CliRunner().invoke(cli, ["fit", str(path), "--circuit", "R0-p(R1,C1)-p(R2,C2)", "--json"])
    assert fitted.exit_code == 0, fitted.output
    assert '"R1"' in fitted.output


def test_a_nova_style_sheet_with_modulus_phase_and_unicode_units(tmp_path):
    z = z_cell_ohm(F)
    rows = [["Index", "Frequency (Hz)", "Z' (Ω)", "-Z'' (Ω)", "Z (Ω)", "-Phase (°)", "Time (s)"]]
    rows += [[k + 1, float(a), float(b.real), float(-b.imag), float(abs(b)), float(-np.degrees(np.angle(b))),
              100.0 + 10.0 * k] for k, (a, b) in enumerate(zip(F, z))]
    path = Book().sheet("FRA measurement", rows).save(tmp_path / "nova.xlsx")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (s,) = eisfit.read(path)
    np.testing.assert_allclose(s.z, z, rtol=1e-14)  # |Z| is checked against Z' and Z''
    assert s.meta["time_s"] == 100.0


def test_a_campaign_folder_of_workbooks(tmp_path):
    folder = tmp_path / "cell"
    folder.mkdir()
    for hours, scale in ((0, 1.0), (500, 0.5)):
        f = np.logspace(6, 0, 31)
        z = 12.0 + 150.0 / (1 + 1j * 2 * np.pi * f * 150.0 * 2e-9) + scale * 90.0 / (
            1 + 1j * 2 * np.pi * f * scale * 90.0 * 4e-6)
        Book().sheet("data", _table(f, z)).save(folder / f"cell_{hours:04d}h.xlsx")
    camp = eisfit.fit_campaign(folder, circuit="R0-p(R1,C1)-p(R2,C2)", cache_dir=False, progress=False)
    np.testing.assert_allclose(camp.table["R2"].to_numpy(float), [90.0, 45.0], rtol=1e-6)


# ---- OpenDocument spreadsheets (.ods, .fods) -------------------------------------------
ODS_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')
ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"


def _ods_cell(value) -> str:
    if value is None:
        return '<table:table-cell table:number-columns-repeated="2"/>'  # an empty run of cells
    if isinstance(value, str):
        return f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p></table:table-cell>'
    shown = f"{value:.4g}"  # what the sheet displays: rounded; office:value keeps every digit
    return (f'<table:table-cell office:value-type="float" office:value="{value!r}">'
            f'<text:p>{shown}</text:p></table:table-cell>')


def _ods_body(sheets: dict[str, list[list]]) -> str:
    tables = []
    for name, rows in sheets.items():
        body = "".join("<table:table-row>" + "".join(_ods_cell(v) for v in row) + "</table:table-row>" for row in rows)
        body += '<table:table-row table:number-rows-repeated="1048000"><table:table-cell/></table:table-row>'
        tables.append(f'<table:table table:name="{escape(name)}">{body}</table:table>')
    return f"<office:body><office:spreadsheet>{''.join(tables)}</office:spreadsheet></office:body>"


def write_ods(path: Path, sheets: dict[str, list[list]]) -> Path:
    content = f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NS}>{_ods_body(sheets)}</office:document-content>'
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", ODS_MIME, compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return path


def write_fods(path: Path, sheets: dict[str, list[list]]) -> Path:
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?><office:document {ODS_NS} office:mimetype="{ODS_MIME}">'
                    f'{_ods_body(sheets)}</office:document>', encoding="utf-8")
    return path


def _ods_table(f, z) -> list[list]:
    return [["Freq / Hz", None, "Re(Z) / Ohm", "-Im(Z) / Ohm"]] + [
        [float(a), None, float(b.real), float(-b.imag)] for a, b in zip(f, z)]


@pytest.mark.parametrize("flat", [False, True])
def test_opendocument_spreadsheets_keep_every_digit_and_skip_notes(tmp_path, flat):
    sheets = {"notes": [["cell 7"]], "EIS": [["title row"], []] + _ods_table(F, z_cell_ohm(F))}
    path = (write_fods if flat else write_ods)(tmp_path / ("cell.data" if flat else "cell.ods"), sheets)
    s = read_the_data_sheet(path, "ods", F, "EIS", "notes")  # office:value, not the rounded text
    (again,) = eisfit.read(path, sheet="EIS")
    np.testing.assert_array_equal(again.z, s.z)


def test_damaged_opendocument_spreadsheets_get_one_clear_error(tmp_path):
    good = write_ods(tmp_path / "good.ods", {"EIS": _ods_table(F, z_cell_ohm(F))})
    cut = tmp_path / "cut.ods"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    with pytest.raises(CorruptFileError, match="cut.ods: "):
        eisfit.read(cut)
    flat = write_fods(tmp_path / "flat.fods", {"EIS": _ods_table(F, z_cell_ohm(F))})
    broken = tmp_path / "broken.fods"
    broken.write_text(flat.read_text()[:3000], encoding="utf-8")
    with pytest.raises(CorruptFileError, match="broken.fods: damaged OpenDocument spreadsheet: malformed XML"):
        eisfit.read(broken)


# ---- legacy Excel 97-2003 (.xls) ---------------------------------------------------------
def _xls_rows(f, z, *, compact: bool = False) -> list[list]:
    """Header (shared strings) and rows; ``compact``: the number records Excel writes for
    round values (RK, MULRK) and formula cells."""
    rows = [["Freq / Hz", "Re(Z) / Ohm", "-Im(Z) / Ohm", "cycle"]]
    for k, (a, b) in enumerate(zip(f, z)):
        if compact and k == 0:
            rows.append([("rk", 100000.0), ("formula", float(b.real)), float(-b.imag), ("rk", 2.5)])
        elif compact and k == 1:
            rows.append([float(a), float(b.real), float(-b.imag), ("formula-text", "2.5")])
        else:
            rows.append([float(a), float(b.real), float(-b.imag), ("rk", 2.5)])
    return rows


@pytest.mark.parametrize("small", [False, True])
def test_legacy_xls_workbooks_read_every_cell_kind(tmp_path, small):
    from xls_writer import write_xls

    f = np.logspace(5, -1, 25)
    path = write_xls(tmp_path / "cell7.xls", {"notes": [["cell 7, LLZTO"]], "EIS": _xls_rows(f, z_cell_ohm(f),
                     compact=True)}, pad=not small, split_string=1)  # small: the stream lives in mini sectors
    s = read_the_data_sheet(path, "xls", f, "EIS", "notes")
    assert s.meta["cycle"] == 2.5  # RK (x100) and a formula's text result


def test_excel_95_workbooks_are_read_in_their_code_page(tmp_path):
    """Excel 5.0/95 (BIFF5: a Book stream, no shared strings, 8-bit text in the CODEPAGE
    record's code page) was refused ("save it as .xlsx"); older instrument software wrote it."""
    from xls_writer import write_xls

    f = np.logspace(5, -1, 25)
    rows = _xls_rows(f, z_cell_ohm(f), compact=True)
    rows[0][0] = ("rstring", rows[0][0])  # a header cell with formatting runs
    path = write_xls(tmp_path / "old95.xls", {"Notizen": [["Zelle 7, 25 °C"]], "Zelle ä": rows},
                     stream_name="Book", biff=5, pad=False)
    s = read_the_data_sheet(path, "xls", f, "Zelle ä", "Notizen")
    assert s.meta["cycle"] == 2.5  # RK (x100) and a formula's text result (a BIFF5 STRING record)
    cyrillic = write_xls(tmp_path / "cp1251.xls", {"Ячейка 3": _xls_rows(f, z_cell_ohm(f))}, stream_name="Book",
                         biff=5, codepage=1251)
    (s,) = eisfit.read(cyrillic)
    assert s.meta["sheet"] == "Ячейка 3"
    np.testing.assert_allclose(s.z, z_cell_ohm(f), rtol=1e-15)


def test_rk_and_mulrk_numbers_decode_exactly(tmp_path):
    from xls_writer import write_xls

    f = np.array([100000.0, 10000.0, 1000.0, 100.0, 10.0, 1.0])
    re_part = np.array([12.0, 12.5, 40.25, -3.0, 0.5, 1000.0])  # integers, /100 values, a float with 32 zero bits
    rows = [["f / Hz", "Zre / ohm", "Zim / ohm"]] + [[("mulrk", [a, b, -1.0])] for a, b in zip(f, re_part)]
    (s,) = eisfit.read(write_xls(tmp_path / "rk.xls", {"data": rows}), imag_sign="negative")
    np.testing.assert_array_equal(s.frequency, f)
    np.testing.assert_array_equal(s.z.real, re_part)
    np.testing.assert_array_equal(s.z.imag, -1.0)


def test_damaged_and_foreign_compound_files_get_one_clear_error(tmp_path):
    from xls_writer import compound_file, workbook_stream, write_xls

    f = np.logspace(5, -1, 25)
    good = write_xls(tmp_path / "good.xls", {"EIS": _xls_rows(f, z_cell_ohm(f))})
    cut = tmp_path / "cut.xls"
    cut.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(CorruptFileError, match="cut.xls: damaged .xls workbook"):
        eisfit.read(cut)
    word = tmp_path / "report.xls"
    word.write_bytes(compound_file({"WordDocument": bytes(5000)}))
    with pytest.raises(UnknownFormatError, match="without a Workbook stream"):
        eisfit.read(word)
    odd = write_xls(tmp_path / "odd.xls", {"EIS": _xls_rows(f, z_cell_ohm(f))})
    data = bytearray(odd.read_bytes())
    at = data.index(struct.pack("<HHH", 0x0809, 16, 0x0600))  # the globals' BOF: version 0x0600 -> 0x0400
    data[at + 4:at + 6] = struct.pack("<H", 0x0400)
    odd.write_bytes(bytes(data))
    with pytest.raises(UnknownFormatError, match="not a BIFF8 or BIFF5 workbook"):
        eisfit.read(odd)
    locked = tmp_path / "locked.xls"
    locked.write_bytes(compound_file({"Workbook": workbook_stream({"EIS": _xls_rows(f, z_cell_ohm(f))},
                                                                  encrypted=True)}))
    with pytest.raises(UnknownFormatError, match="encrypted"):
        eisfit.read(locked)


def test_dates_and_clock_times_are_text_columns_not_seconds(tmp_path):
    """Excel stores a date or a clock time as a number of days with a date style: read as a
    number, a 'Time' column of clock times would become time_s = 0.42 s. Such cells are text:
    a column of clock times alone is set aside, one of dates with times (here a point a
    minute) gives the points' seconds and the sweep's start time."""
    rows = [["Date", "Time", "Freq / Hz", "Re(Z) / Ohm", "-Im(Z) / Ohm"]]
    rows += [[("date", 46054.0 + k / 1440), ("clock", 0.4167 + k / 86400), float(a), float(b.real), float(-b.imag)]
             for k, (a, b) in enumerate(zip(F, z_cell_ohm(F)))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (s,) = eisfit.read(Book().sheet("EIS", rows).save(tmp_path / "dated.xlsx"))
    assert s.meta["text_columns"] == ["Time"] and s.meta["clock_column"] == "Date"
    assert s.meta["time_s"] == 0.0 and s.meta["sweep_start_time"] == "2026-02-01T00:00:00.000"
    np.testing.assert_allclose(s.columns["time/s"], 60.0 * np.arange(F.size), atol=1e-3)
    np.testing.assert_allclose(s.z, z_cell_ohm(F), rtol=1e-15)


def test_impedance_cells_formatted_as_times_are_named_in_the_refusal(tmp_path):
    """An LCR meter's workbook whose R and X cells a spreadsheet had formatted as clock
    times was refused with "no column names a frequency" and data values listed as column
    names: the refusal now names the columns whose cells are dates or times and what to do."""
    rows = [["Frequency(Hz)", "R(ohm)", "X(ohm)", "T(deg C)"]]
    rows += [[float(a), ("date", float(b.real)), ("date", float(b.imag)), 20.0] for a, b in zip(F, z_cell_ohm(F))]
    with pytest.raises(eisfit.EisfitError, match=r"column\(s\) 'R\(ohm\)', 'X\(ohm\)' hold cells formatted as dates "
                                                 r"or clock times .* format those cells as numbers"):
        eisfit.read(Book().sheet("Hk", rows).save(tmp_path / "timed.xlsx"))
    plain = [rows[0]] + [[r[0], r[1][1], r[2][1], r[3]] for r in rows[1:]]
    (s,) = eisfit.read(Book().sheet("Hk", plain).save(tmp_path / "plain.xlsx"))
    np.testing.assert_allclose(s.z, z_cell_ohm(F), rtol=1e-12)


def test_legacy_xls_dates_and_clock_times_are_text_columns(tmp_path):
    from xls_writer import write_xls

    f = np.logspace(5, -1, 25)
    rows = [["Date", "Time", "Freq / Hz", "Re(Z) / Ohm", "-Im(Z) / Ohm"]]
    rows += [[("date", 46054.0 + k / 1440), ("clock", 0.5 + k / 1024), float(a), float(b.real), float(-b.imag)]
             for k, (a, b) in enumerate(zip(f, z_cell_ohm(f)))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (s,) = eisfit.read(write_xls(tmp_path / "dated.xls", {"EIS": rows}))
    assert s.meta["text_columns"] == ["Time"] and s.meta["clock_column"] == "Date"
    assert s.meta["sweep_start_time"] == "2026-02-01T00:00:00.000"
    np.testing.assert_allclose(s.z, z_cell_ohm(f), rtol=1e-15)


def test_spectra_side_by_side_in_a_sheet_are_one_spectrum_each(tmp_path):
    """A sheet of checkpoints pasted next to each other (Freq, Re, -Im repeated, a title
    row above, an empty spacer column, the last group shorter): one spectrum per group,
    numbered over the workbook, the titles in their meta."""
    groups = [(F, 1.0), (F, 0.5), (F[:30], 0.25)]  # the interface arc shrinks: z scaled below
    title, head = [], []
    for k, t in enumerate(("0 h", "500 h", "1000 h")):
        title += [t, None, None, None]
        head += ["Freq / Hz", "Re(Z) / Ohm", "-Im(Z) / Ohm", None]
    rows = [title, head]
    for i in range(F.size):
        row = []
        for f, scale in groups:
            z = scale * z_cell_ohm(f[i:i + 1])[0] if i < f.size else None
            row += [float(f[i]), float(z.real), float(-z.imag), None] if z is not None else [None] * 4
        rows.append(row)
    path = Book().sheet("EIS", rows).save(tmp_path / "side.xlsx")
    spectra = eisfit.read(path)
    assert [len(s) for s in spectra] == [F.size, F.size, 30]
    for k, (s, (f, scale)) in enumerate(zip(spectra, groups)):
        np.testing.assert_array_equal(s.frequency, f)
        np.testing.assert_allclose(s.z, scale * z_cell_ohm(f), rtol=1e-15)
        assert s.meta["sheet"] == "EIS" and s.meta["sweep"] == k and s.meta["n_sweeps"] == 3
    assert [s.meta["column_group_title"] for s in spectra] == ["0 h", "500 h", "1000 h"]


def test_a_wide_sheet_is_one_spectrum_per_row(tmp_path):
    """One spectrum per row, Re(Z)<f> / -Im(Z)<f> column pairs and a cycle column (the wide
    layout of eisfit.io.wide, here in a sheet): it was refused ('no frequency column')."""
    f = F[::3]
    head = ["cycle"] + [name for fr in f for name in (f"Re(Z){fr:g}", f"-Im(Z){fr:g}")]
    scales = (1.0, 0.8, 0.6)
    rows = [head] + [[float(k + 1)] + [v for z in s * z_cell_ohm(f) for v in (float(z.real), float(-z.imag))]
                     for k, s in enumerate(scales)]
    path = Book().sheet("wide", rows).save(tmp_path / "wide.xlsx")
    spectra = eisfit.read(path)
    assert len(spectra) == 3
    for k, (s, scale) in enumerate(zip(spectra, scales)):
        np.testing.assert_allclose(s.frequency, [float(f"{fr:g}") for fr in f])
        np.testing.assert_allclose(s.z, scale * z_cell_ohm(s.frequency), rtol=1e-5)  # the header's 6 digits of f
        assert s.meta["cycle"] == k + 1 and s.meta["sheet"] == "wide" and s.meta["format"] == "xlsx"


def _analyser_sheet(parameter: str, trace_a, trace_b, f) -> list[list]:
    """A Keysight/Agilent 4294A 'Data Transfer Program' sheet as the public one is laid out
    (sivart213/impedance_analysis, agilant.xlsm; not bundled): a date, the settings block with
    'Meas. Parameter' and a graph block beside it, a blank row, the header with an 'X-axis'
    formula column and a 'Dropdown List' of column names beside the first data rows, the
    traces, then padding rows whose formula column alone holds 0."""
    names = ["Point#", "Frequency", "Data Trace A Real", "Data Trace A Imag", "Data Trace B Real",
             "Data Trace B Imag"]
    rows: list[list] = [[("date", 44767.5)], ["FW: REV1.1"],
                        ["Meas. Parameter", None, parameter, None, "Osc Level", None, "0.5 [V]", None, None,
                         "Graph Parameter"],
                        ["Sweep Type", None, "LOG", None, "BW", None, 5.0, None, None, "X", "Frequency"],
                        ["Number of Points", None, float(len(f)), None, "Sweep Averaging", None, "Off", None, None,
                         "Y1", "|Z|"], [],
                        names + [None] * 6 + ["X-axis", "Dropdown List"]]
    for k, (fk, a, b) in enumerate(zip(f, trace_a, trace_b)):
        side = names[k] if k < len(names) else None
        rows.append([float(k + 1), float(fk), float(a), 0.0, float(b), 0.0] + [None] * 6 + [("=B1", float(fk)), side])
    rows += [[None] * 12 + [("=B1", 0.0)] for _ in range(20)]
    return rows


def test_a_keysight_4294a_transfer_sheet_reads_its_traces_by_its_measurement_parameter(tmp_path):
    """The settings block's 'Meas. Parameter' says what 'Data Trace A/B Real' hold: |Z| - theta
    (ohm, degrees) and R - X (Z', Z''); a 'Dropdown List' of names beside the first data rows
    had made them no data rows and the second data row the header (the workbook was refused
    with a list of numbers as column names). Cp - D (no impedance pair) is refused by name."""
    f = np.logspace(7, 2, 30)
    z = z_cell_ohm(f)
    book = Book().sheet("Main", [["Instructions"], ["Press Read"]])
    book.sheet("polar", _analyser_sheet("|Z| - theta", np.abs(z), np.degrees(np.angle(z)), f))
    book.sheet("cartesian", _analyser_sheet("R - X", z.real, z.imag, f))
    path = book.save(tmp_path / "agilent.xlsm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReadWarning)  # the notes sheet and the padding rows, left out with a word
        polar, cartesian = eisfit.read(path)
    for s in (polar, cartesian):
        np.testing.assert_array_equal(s.frequency, f)
        np.testing.assert_allclose(s.z, z, rtol=1e-12)
        assert s.meta["instrument"] == "Keysight/Agilent 4294A"
    assert polar.meta["measurement_parameter"] == "|Z| - theta" and cartesian.meta["sheet"] == "cartesian"
    other = Book().sheet("cp", _analyser_sheet("Cp - D", np.full(f.size, 1e-9), np.full(f.size, 0.01), f))
    with pytest.raises(MissingColumnError, match="4294A measurement parameter 'Cp - D'"):
        eisfit.read(other.save(tmp_path / "cp.xlsm"), sheet="cp")
