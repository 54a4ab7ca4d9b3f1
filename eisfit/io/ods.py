"""OpenDocument spreadsheets: ``.ods`` (a zip archive) and ``.fods`` (one flat XML file).

What this reader knows of the files (OpenDocument 1.2, part 1):

* an ``.ods`` archive holds the cells in ``content.xml`` (its first member, ``mimetype``,
  reads ``application/vnd.oasis.opendocument.spreadsheet``); a ``.fods`` file is that
  document in one XML file whose root ``office:document`` carries the same mime type;
* each sheet is a ``table:table`` (``table:name``) of ``table:table-row`` elements of
  ``table:table-cell`` (and ``table:covered-table-cell`` under merged cells);
  ``table:number-rows-repeated`` and ``table:number-columns-repeated`` repeat a row or a
  cell (spreadsheets write the empty rest of a sheet so, thousands of times);
* a cell's ``office:value-type`` says what it holds: ``float``, ``percentage`` and
  ``currency`` keep the full number in ``office:value`` (the text shown may be rounded),
  other cells their text in ``text:p`` paragraphs.

Each sheet is then read like an Excel sheet (:mod:`eisfit.io._sheets`): a table per sheet,
sheets without an impedance table left out with a warning, ``sheet=`` to pick one.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO, Iterator, Mapping
from xml.etree import ElementTree

from ..errors import CorruptFileError, UnknownFormatError
from ..spectrum import Spectrum
from ._sheets import MAX_CELLS, cell_text, damage_reported, spectra_of_sheets

NAME = "ods"
NAMES = ["ods", "fods", "opendocument"]
EXTENSIONS = [".ods", ".fods"]

MIME = b"application/vnd.oasis.opendocument.spreadsheet"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_NUMERIC = {"float", "percentage", "currency"}


def sniff(head: bytes, path: Path) -> int:
    """90 for an OpenDocument spreadsheet (the mime type in the archive's first member or
    in a flat file's root element); 0 otherwise."""
    if MIME in head and (head.startswith(b"PK\x03\x04") or b"office:document" in head):
        return 90
    return 0


def read(path: str | Path, *, sheet: str | int | None = None, imag_sign: str | None = None,
         decimal: str | None = None, header: bool | None = None,
         columns: Mapping[str, int | str] | None = None) -> list[Spectrum]:
    """Read the impedance tables of an OpenDocument spreadsheet (frequency Hz, Z ohm,
    Z'' < 0 capacitive); the options are those of :func:`eisfit.io.xlsx.read`."""
    p = Path(path)
    options = dict(imag_sign=imag_sign, decimal=decimal, header=header, columns=columns)
    with damage_reported(p, "OpenDocument spreadsheet"):
        if not zipfile.is_zipfile(p):  # a flat .fods
            return _read_document(p, lambda: open(p, "rb"), sheet, options)
        with zipfile.ZipFile(p) as zf:
            if "content.xml" not in zf.namelist():
                raise UnknownFormatError(p, "a zip archive without content.xml: not an OpenDocument spreadsheet")
            return _read_document(p, lambda: zf.open("content.xml"), sheet, options)


def _read_document(p: Path, open_content, sheet: str | int | None, options: dict) -> list[Spectrum]:
    """The spectra of the document whose XML ``open_content()`` streams."""
    names = _sheet_names(open_content())
    if not names:
        raise CorruptFileError(p, "no sheet (table:table) in the document")
    return spectra_of_sheets(p, [(n, _rows_of(open_content, k)) for k, n in enumerate(names)], sheet, NAME, options)


def _sheet_names(stream: IO[bytes]) -> list[str]:
    """The names of the document's sheets, in order (one streamed pass)."""
    names: list[str] = []
    with stream:
        for _, element in ElementTree.iterparse(stream, events=("start",)):
            if element.tag == f"{{{_TABLE}}}table":
                names.append(element.get(f"{{{_TABLE}}}name") or f"Sheet{len(names) + 1}")
    return names


def _rows_of(open_stream, index: int):
    return lambda: _rows(open_stream(), index)


def _rows(stream: IO[bytes], index: int) -> Iterator[tuple[int, dict[int, str]]]:
    """(1-based row number, {0-based column: text}) of the non-empty rows of sheet ``index``."""
    table, row_tag = f"{{{_TABLE}}}table", f"{{{_TABLE}}}table-row"
    depth = -1  # tables seen
    number = 0
    with stream:
        for event, element in ElementTree.iterparse(stream, events=("start", "end")):
            if element.tag == table and event == "start":
                depth += 1
                continue
            if depth != index or element.tag != row_tag or event != "end":
                if element.tag == table and event == "end" and depth == index:
                    return
                continue
            repeat = _repeat(element, "number-rows-repeated")
            cells = _cells(element)
            element.clear()
            if cells:
                for _ in range(min(repeat, MAX_CELLS)):
                    number += 1
                    yield number, cells
            else:
                number += repeat


def _cells(row: ElementTree.Element) -> dict[int, str]:
    out: dict[int, str] = {}
    column = 0
    for cell in row:
        if cell.tag not in (f"{{{_TABLE}}}table-cell", f"{{{_TABLE}}}covered-table-cell"):
            continue
        repeat = _repeat(cell, "number-columns-repeated")
        text = _cell_value(cell)
        if text:
            for k in range(min(repeat, 16384)):
                out[column + k] = text
        column += repeat
    return out


def _cell_value(cell: ElementTree.Element) -> str:
    kind = cell.get(f"{{{_OFFICE}}}value-type")
    if kind in _NUMERIC and cell.get(f"{{{_OFFICE}}}value") is not None:
        return cell.get(f"{{{_OFFICE}}}value", "")
    return cell_text(" ".join("".join(p.itertext()) for p in cell if p.tag == f"{{{_TEXT}}}p"))


def _repeat(element: ElementTree.Element, attribute: str) -> int:
    value = element.get(f"{{{_TABLE}}}{attribute}")
    if value is None:
        return 1
    count = int(value)
    if count < 1:
        raise ValueError(f"{attribute}={count}")
    return count
