"""Excel workbooks (.xlsx, .xlsm): the impedance table of each worksheet.

What this reader knows of the file (Office Open XML, ECMA-376): an .xlsx file is a zip
archive of XML parts.

* ``xl/workbook.xml`` lists the sheets (name and relationship id) in workbook order;
* ``xl/_rels/workbook.xml.rels`` maps each relationship id to its sheet part
  (``xl/worksheets/sheet1.xml``; the target is relative to ``xl/`` or absolute);
* ``xl/sharedStrings.xml`` holds the text of the cells whose type ``t`` is ``s`` (their
  value is an index into it; a string may be split into formatted runs);
* a sheet part holds rows ``<row r="5">`` of cells ``<c r="B5" t="..."><v>...</v></c>``:
  ``t`` absent or ``n`` is a number, ``s`` a shared string, ``str`` the text result of a
  formula, ``inlineStr`` text in ``<is><t>``, ``b`` a boolean, ``e`` an error such as
  ``#DIV/0!``; a formula cell carries its last computed value in ``<v>``;
* a cell's style ``s`` indexes ``cellXfs`` in ``xl/styles.xml``, whose number format shows
  a number of days since 1899-12-30 (1904-01-01 with ``date1904`` in the workbook) as a date
  or a clock time when it is a built-in date/time format (ids 14-22, 27-36, 45-47, 50-58) or
  a custom code with d, m, y, h or s outside quotes: such cells are read as date text.

Element names are matched without their namespace, so transitional and strict files read
alike. Each worksheet becomes a tab-separated table, one line per spreadsheet row (so the
line numbers of error messages are row numbers), read by the table engine of
:mod:`eisfit.io.tabular`: header and units, the sign of the imaginary column, sweep
splitting. Numbers are written back with every digit Excel stored.

Sheets without an impedance table (notes, a fit report, an empty sheet) are left out
with a warning naming them when another sheet has one; where none has one, a workbook of
such sheets is no impedance data file (UnknownFormatError: a folder campaign leaves it
out) and one with a sheet that names a frequency but holds no impedance is damaged
(MissingColumnError); with ``sheet=`` only that sheet is read and its problem is the error. Spectra carry ``meta["sheet"]``; ``sweep`` counts
over the whole workbook. Legacy Excel 97-2003 ``.xls`` files (binary, not XML) have their
own reader (:mod:`eisfit.io.xls`).
"""
from __future__ import annotations

import datetime as _dt
import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping
from xml.etree import ElementTree

from ..errors import CorruptFileError, ReadError, UnknownFormatError
from ..spectrum import Spectrum
from ._common import suffix_of
from ._sheets import (DATE_FORMAT_IDS, EPOCH_1900, EPOCH_1904, cell_text, damage_reported, date_text, is_date_format,
                      spectra_of_sheets)

NAME = "xlsx"
NAMES = ["xlsx", "excel"]
EXTENSIONS = [".xlsx", ".xlsm"]

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # compound file of legacy .xls (and .doc, ...)
_CELL_REF = re.compile(r"^([A-Za-z]{1,3})(\d+)$")


def sniff(head: bytes, path: Path) -> int:
    """80 for a zip archive holding an ``xl/`` part or named .xlsx/.xlsm (Excel workbook)."""
    if head.startswith(ZIP_MAGIC):
        return 80 if (b"xl/" in head or suffix_of(path) in EXTENSIONS) else 0
    return 0


def read(path: str | Path, *, sheet: str | int | None = None, imag_sign: str | None = None,
         decimal: str | None = None, header: bool | None = None,
         columns: Mapping[str, int | str] | None = None) -> list[Spectrum]:
    """Read the impedance tables of an Excel workbook (frequency Hz, Z ohm, Z'' < 0 capacitive).

    Parameters
    ----------
    path : the .xlsx / .xlsm file.
    sheet : read only this sheet, by name or 0-based position (default: every sheet that
        holds an impedance table).
    imag_sign, decimal, header, columns : as for delimited tables
        (:func:`eisfit.io.tabular.read`); ``decimal`` only matters for numbers stored as text.

    Returns
    -------
    list of Spectrum, one per sweep, sheet after sheet in workbook order; ``meta["sheet"]``
    names the sheet.
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            legacy = fh.read(len(OLE2_MAGIC)) == OLE2_MAGIC
    except OSError as exc:
        raise ReadError(p, f"cannot open: {exc.strerror or exc}") from None
    if legacy:
        raise UnknownFormatError(p, "a legacy Excel 97-2003 workbook (.xls), not .xlsx: read it as format 'xls'")
    with damage_reported(p, ".xlsx workbook"), zipfile.ZipFile(p) as zf:
        return _read_workbook(p, zf, sheet, dict(imag_sign=imag_sign, decimal=decimal, header=header,
                                                 columns=columns))


def _read_workbook(p: Path, zf: zipfile.ZipFile, sheet: str | int | None, options: dict) -> list[Spectrum]:
    book = _BookText(_shared_strings(zf), _date_styles(zf), _epoch(zf))

    def rows_of(part: str):
        return lambda: _rows(zf, part, book)

    sheets = [(name, rows_of(part)) for name, part in _sheet_parts(p, zf)]
    return spectra_of_sheets(p, sheets, sheet, NAME, options)


# ---------------------------------------------------------------------------
# workbook structure
# ---------------------------------------------------------------------------
def _local(tag: str) -> str:
    """An element or attribute name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _attribute(element: ElementTree.Element, name: str) -> str | None:
    """An attribute by local name, whatever its namespace (``r:id`` is namespaced)."""
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def _xml_root(zf: zipfile.ZipFile, part: str) -> ElementTree.Element | None:
    try:
        data = zf.read(part)
    except KeyError:
        return None
    return ElementTree.fromstring(data)


def _sheet_parts(p: Path, zf: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, zip member of its part) of every worksheet, in workbook order."""
    workbook = _xml_root(zf, "xl/workbook.xml")
    if workbook is None:
        raise UnknownFormatError(p, "a zip archive without xl/workbook.xml: not an Excel workbook")
    rels = _xml_root(zf, "xl/_rels/workbook.xml.rels")
    targets = {} if rels is None else {
        _attribute(r, "Id"): _attribute(r, "Target") for r in rels.iter() if _local(r.tag) == "Relationship"}
    members = set(zf.namelist())
    out: list[tuple[str, str]] = []
    for k, element in enumerate(e for e in workbook.iter() if _local(e.tag) == "sheet"):
        name = _attribute(element, "name") or f"Sheet{k + 1}"
        target = targets.get(_attribute(element, "id"))
        if target is None:
            continue  # a chart sheet or a dangling entry: no cells
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        if part in members and "worksheets/" in part:
            out.append((name, part))
    if not out:
        raise CorruptFileError(p, "the workbook lists no worksheet with cells")
    return out


@dataclass(frozen=True)
class _BookText:
    """What turns a cell into text: the shared strings, the styles that show a number as a
    date or time, and the workbook's day zero."""

    strings: list[str]
    date_styles: frozenset[int]
    epoch: _dt.datetime


def _date_styles(zf: zipfile.ZipFile) -> frozenset[int]:
    """Indices of the cell styles (``cellXfs``) whose number format shows a date or a time:
    a built-in date/time format or a custom code with d, m, y, h or s outside quotes."""
    root = _xml_root(zf, "xl/styles.xml")
    if root is None:
        return frozenset()
    custom = {}
    for fmt in root.iter():
        if _local(fmt.tag) == "numFmt":
            custom[int(fmt.get("numFmtId", -1))] = is_date_format(fmt.get("formatCode", ""))
    xfs = next((e for e in root.iter() if _local(e.tag) == "cellXfs"), None)
    if xfs is None:
        return frozenset()
    out = set()
    for k, xf in enumerate(e for e in xfs if _local(e.tag) == "xf"):
        fmt_id = int(xf.get("numFmtId", 0))
        if fmt_id in DATE_FORMAT_IDS or custom.get(fmt_id, False):
            out.add(k)
    return frozenset(out)


def _epoch(zf: zipfile.ZipFile) -> _dt.datetime:
    """Day zero of the workbook's date serial numbers: 1899-12-30, or 1904-01-01 when the
    workbook says ``date1904``."""
    root = _xml_root(zf, "xl/workbook.xml")
    pr = None if root is None else next((e for e in root.iter() if _local(e.tag) == "workbookPr"), None)
    flag = None if pr is None else pr.get("date1904", "")
    return EPOCH_1904 if flag in ("1", "true") else EPOCH_1900


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    root = _xml_root(zf, "xl/sharedStrings.xml")
    if root is None:
        return []
    return [_text_of(si) for si in root if _local(si.tag) == "si"]


def _text_of(element: ElementTree.Element) -> str:
    """The text of a string item: its ``t`` elements joined (runs), phonetic hints left out."""
    parts: list[str] = []
    for child in element.iter():
        if _local(child.tag) == "t" and child.text:
            parts.append(child.text)
        elif _local(child.tag) == "rPh":
            break  # phonetic runs follow the text
    return "".join(parts)


# ---------------------------------------------------------------------------
# cells -> lines
# ---------------------------------------------------------------------------
def _column_number(ref: str) -> int | None:
    """0-based column of a cell reference such as ``B5`` or ``AA12``."""
    m = _CELL_REF.match(ref)
    if m is None:
        return None
    number = 0
    for ch in m.group(1).upper():
        number = number * 26 + (ord(ch) - 64)
    return number - 1


def _cell_text(cell: ElementTree.Element, book: _BookText) -> str:
    kind = cell.get("t", "n")
    value = next((c.text or "" for c in cell if _local(c.tag) == "v"), None)
    if kind == "inlineStr":
        text = next((_text_of(c) for c in cell if _local(c.tag) == "is"), "")
    elif kind == "n" and value and int(cell.get("s", 0)) in book.date_styles:
        # a date or clock time (days since the epoch): text, never read as a number of seconds
        text = date_text(float(value), book.epoch)
    elif kind == "s":
        try:
            text = book.strings[int(value)]
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"cell {cell.get('r', '?')}: shared string {value!r} does not exist") from None
    elif kind == "b":
        text = "TRUE" if value == "1" else "FALSE"
    else:
        text = value or ""
    return cell_text(text)


def _rows(zf: zipfile.ZipFile, part: str, book: _BookText) -> Iterator[tuple[int, dict[int, str]]]:
    """(1-based row number, {0-based column: text}) of each row of a sheet part, streamed."""
    last_row = 0
    with zf.open(part) as stream:
        for _, element in ElementTree.iterparse(stream, events=("end",)):
            if _local(element.tag) != "row":
                continue
            number = int(element.get("r") or last_row + 1)
            cells: dict[int, str] = {}
            column = -1
            for cell in element:
                if _local(cell.tag) != "c":
                    continue
                at = _column_number(cell.get("r", ""))
                column = column + 1 if at is None else at
                text = _cell_text(cell, book)
                if text:
                    cells[column] = text
            element.clear()
            last_row = number
            yield number, cells
