"""What the spreadsheet readers (Excel .xlsx and .xls, OpenDocument .ods/.fods) share: a
sheet's cells become tab-separated lines (line k is spreadsheet row k; text columns beside
the numbers set aside as in text tables), read by the table engine of :mod:`eisfit.io.tabular`;
a workbook's sheets are read in order, those without an impedance table left out with a
warning, a damaged data sheet an error naming it; a number whose format shows a date or a
clock time is date text (:func:`is_date_format`, :func:`date_text`).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import re
import struct
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence
from xml.etree import ElementTree

from ..errors import CorruptFileError, MissingColumnError, ReadError, UnknownFormatError
from ..spectrum import Spectrum
from ._common import ReadWarning, numbered_sweeps, warn
from .tabular import EITHER_DECIMAL, TableFormat, is_number, parse_header, read_text_table, role_of
from .wide import is_wide, spectra_from_wide_lines

MAX_CELLS = 5_000_000  # a sheet larger than this is not an impedance export (a zip bomb, a data dump)

Row = tuple[int, Mapping[int, str]]  # (1-based row number, {0-based column: text of a non-empty cell})
SheetSource = tuple[str, Callable[[], Iterable[Row]]]  # (sheet name, its rows when asked)


@contextlib.contextmanager
def damage_reported(p: Path, what: str) -> Iterator[None]:
    """What a damaged spreadsheet raises while it is decoded (zip, zlib, XML, struct, an
    index out of range) becomes one CorruptFileError naming the file: 'damaged <what> ...'."""
    try:
        yield
    except ReadError:
        raise
    except zipfile.BadZipFile as exc:
        raise CorruptFileError(p, f"damaged {what}: not a readable zip archive (truncated?): {exc}") from None
    except (zlib.error, EOFError) as exc:
        raise CorruptFileError(p, f"damaged {what}: a compressed part does not decompress ({exc})") from None
    except ElementTree.ParseError as exc:
        raise CorruptFileError(p, f"damaged {what}: malformed XML ({exc})") from None
    except (ValueError, KeyError, IndexError, OverflowError, NotImplementedError, RuntimeError, struct.error,
            OSError, MemoryError) as exc:  # a bad offset, count or index; an unknown compression
        raise CorruptFileError(p, f"damaged {what} ({type(exc).__name__}: {exc})") from None


# number formats that show a number of days as a date or a clock time: the built-in ones (the
# last two ranges for East Asian locales) and custom codes with d, m, y, h or s outside quotes
DATE_FORMAT_IDS = frozenset(range(14, 23)) | frozenset(range(27, 37)) | frozenset(range(45, 48)) | frozenset(
    range(50, 59))
_QUOTED_OR_BRACKETED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')
EPOCH_1900 = _dt.datetime(1899, 12, 30)  # day zero of the spreadsheets' date serial numbers
EPOCH_1904 = _dt.datetime(1904, 1, 1)  # ... of workbooks in the 1904 date system


def is_date_format(code: str) -> bool:
    """Whether a custom number format code shows a date or a time ('yyyy-mm-dd', 'hh:mm:ss')."""
    return any(ch in _QUOTED_OR_BRACKETED.sub("", code).lower() for ch in "dmyhs")


def date_text(days: float, epoch: _dt.datetime) -> str:
    """A spreadsheet date serial number as text ('2026-02-01 10:00:00'): never a number of seconds."""
    return (epoch + _dt.timedelta(days=days)).isoformat(sep=" ", timespec="seconds")


def cell_text(text: str) -> str:
    """A cell's text on one line: no tab or line break may split the table's line."""
    return " ".join(text.split())


def rows_to_lines(p: Path, rows: Iterable[Row], where: str) -> list[str]:
    """Tab-separated lines, line k + 1 being row k + 1 (blank rows blank). Only columns with
    a cell in some row are written: the table may start in any column and have empty spacer
    columns between its data columns. Every row has a cell for each of them, empty ones
    too: a column filled in some rows only (a DataFrame's missing values) keeps its place
    in the others (the table engine reads such rows at the table's width)."""
    kept: list[Row] = []
    n_cells = 0
    for number, cells in rows:
        if cells:
            kept.append((number, cells))
            n_cells += len(cells)
            if n_cells > MAX_CELLS:
                raise CorruptFileError(p, f"{where}: more than {MAX_CELLS} cells, not an impedance export")
    if not kept:
        return []
    beside = _side_text_columns(kept)
    position = {column: k for k, column in enumerate(sorted(set().union(*(cells.keys() for _, cells in kept))
                                                           - beside))}
    lines = [""] * max(number for number, _ in kept)
    for number, cells in kept:
        fields = [""] * len(position)
        for column, text in cells.items():
            if column in position:
                fields[position[column]] = text
        lines[number - 1] = "\t".join(fields)
    return lines


def _side_text_columns(rows: Sequence[Row]) -> set[int]:
    """The columns beside a sheet's table that hold no number in any row and fewer cells than
    half its rows of numbers: a list of choices next to the table's first rows (a Keysight
    4294A transfer workbook's 'Dropdown List' of column names, in the column after its data),
    labels of a settings block. Their text in a row of numbers had made that row no data row,
    and the row below it was read as the table's header. A text column filled in every row
    (a comment, a date) is not one of them: the table engine sets it aside by name."""
    numeric_rows = 0
    text_cells: dict[int, int] = {}
    numbers: set[int] = set()
    for _, cells in rows:
        found = [column for column, text in cells.items() if is_number(text, EITHER_DECIMAL)]  # a decimal comma too
        numbers.update(found)
        numeric_rows += len(found) >= 2
        for column in cells:
            text_cells[column] = text_cells.get(column, 0) + 1
    return {column for column, n in text_cells.items() if column not in numbers and n < numeric_rows / 2}


def spectra_of_sheets(p: Path, sheets: Sequence[SheetSource], sheet: str | int | None, fmt_name: str,
                      options: Mapping) -> list[Spectrum]:
    """The spectra of every sheet with an impedance table (or of the one ``sheet`` names,
    by name or 0-based position), in sheet order; ``meta["sheet"]`` names each one's sheet
    and ``sweep`` counts over the workbook. ``options``: those of the table engine
    (imag_sign, decimal, header, columns)."""
    if sheet is not None:
        sheets = [_chosen_sheet(p, sheets, sheet)]
    out: list[Spectrum] = []
    skipped: list[str] = []
    foreign = True  # every sheet so far empty or no impedance table at all (notes, fit results)
    for name, rows in sheets:
        lines: list[str] = []
        try:
            lines = rows_to_lines(p, rows(), f"sheet {name!r}")
            if not any(line.strip() for line in lines):
                raise UnknownFormatError(p, "empty sheet")
            spectra = _sheet_spectra_warned(p, name, lines, fmt_name, options)
        except (UnknownFormatError, MissingColumnError) as exc:  # no impedance table here
            if sheet is not None:
                raise type(exc)(p, f"sheet {name!r}: {_in_rows(exc.reason)}{_date_formatted_note(lines)}") from None
            skipped.append(f"{name!r} ({_in_rows(exc.reason)}{_date_formatted_note(lines)})")
            foreign = foreign and isinstance(exc, UnknownFormatError)
            continue
        except ReadError as exc:  # a table with a damaged cell: never left out silently
            raise type(exc)(p, f"sheet {name!r}: {_in_rows(exc.reason)}{_date_formatted_note(lines)}") from None
        out.extend(spectra)
    if not out:
        # a workbook of notes or results is no impedance data file (a folder campaign leaves it out);
        # one whose sheet names a frequency column but lacks the impedance is damaged data
        error = UnknownFormatError if foreign else MissingColumnError
        raise error(p, ("not an impedance data file: " if foreign else "")
                    + "no sheet holds an impedance table: " + "; ".join(skipped))
    if skipped:
        warn(f"{p}: sheets without an impedance table left out: {'; '.join(skipped)}")
    return numbered_sweeps(out)


_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")  # a date-formatted number, as date_text writes it


def _date_formatted_note(lines: Sequence[str]) -> str:
    """What a sheet's refusal leaves unsaid where its header row names a frequency or an
    impedance column whose cells below are dates or clock times (:func:`date_text`): the
    spreadsheet formatted the numbers as times (0.01 Hz as 00:14:24), so that the table
    engine saw text; empty where no such column is found. A LCR meter's workbook had been
    refused with "no column names a frequency" and its data values listed as column names."""
    rows = [line.split("\t") for line in lines if line.strip()]
    for k, header in enumerate(rows[:20]):
        below = rows[k + 1:k + 21]
        dated = [name.strip() for j, name in enumerate(header)
                 if role_of(parse_header(name).key, parse_header(name).kind) in _IMPEDANCE_ROLES
                 and sum(len(r) > j and bool(_DATE_TEXT.match(r[j].strip())) for r in below) >= max(2, len(below) // 5)]
        if dated:
            return ("; column(s) " + ", ".join(repr(d) for d in dated) + " hold cells formatted as dates or clock "
                    "times (numbers the spreadsheet shows as times), read as text: format those cells as numbers "
                    "in the spreadsheet and save it again")
    return ""


_IMPEDANCE_ROLES = ("frequency", "real", "imag", "modulus", "phase")


def _sheet_spectra_warned(p: Path, name: str, lines: list[str], fmt_name: str, options: Mapping) -> list[Spectrum]:
    """:func:`_sheet_spectra`, its ReadWarnings naming the sheet and its rows (the table
    engine's name the file and its lines: 'book.xlsx: sheet '0.2': 1 row(s) ... (row 101)')."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spectra = _sheet_spectra(p, name, lines, fmt_name, options)
    for w in caught:
        if issubclass(w.category, ReadWarning):
            text = str(w.message)
            for prefix in (f"{p}: ", f"{p.name}: "):
                text = text[len(prefix):] if text.startswith(prefix) else text
            warn(f"{p.name}: sheet {name!r}: {_in_rows(text)}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return spectra


def _sheet_spectra(p: Path, name: str, lines: list[str], fmt_name: str, options: Mapping) -> list[Spectrum]:
    """The spectra of one sheet's table: one per row of a wide table (``Re(Z)<f>`` columns),
    one per column group of a side-by-side table, else its sweeps."""
    if options.get("header") is not False and not options.get("columns") and is_wide(lines):
        return spectra_from_wide_lines(p, lines, True, options.get("imag_sign"), {"sheet": name, "format": fmt_name})
    meta: dict = {"sheet": name}
    traces = None if options.get("columns") else _analyser_trace_columns(p, name, lines)
    if traces is not None:
        columns, parameter = traces
        options = {**options, "columns": columns}
        meta.update(instrument="Keysight/Agilent 4294A", measurement_parameter=parameter)
    return read_text_table(p, lines, TableFormat(name=fmt_name), meta, delimiter="\t", **options)


# a Keysight/Agilent 4294A "Data Transfer Program" sheet: 'Meas. Parameter' in its settings block
# names what its two traces hold, in the 'Data Trace A Real' and 'Data Trace B Real' columns
_TRACE_COLUMNS = {"|z|-theta": ("modulus", "phase"), "|z|-θ": ("modulus", "phase"), "r-x": ("real", "imag"),
                  "g-b": ("y_real", "y_imag")}


def _analyser_trace_columns(p: Path, name: str, lines: Sequence[str]) -> tuple[dict[str, str], str] | None:
    """The ``columns`` option of a Keysight/Agilent 4294A transfer sheet, from its 'Meas.
    Parameter' (|Z| - theta: modulus and phase in degrees; R - X: Z' and Z''; G - B: Y' and
    Y'') and its header ('Frequency', 'Data Trace A Real', 'Data Trace B Real'), and that
    parameter; None for any other sheet. MissingColumnError for a parameter that is no
    impedance or admittance pair (Cp - D, Ls - Rs: quantities of an equivalent circuit)."""
    fields = [line.split("\t") for line in lines[:_SETTINGS_LINES]]
    parameter = next((next((f.strip() for f in row[k + 1:] if f.strip()), "") for row in fields
                      for k, f in enumerate(row) if f.strip().lower() == "meas. parameter"), None)
    if parameter is None or not any({"Frequency", "Data Trace A Real", "Data Trace B Real"} <= {f.strip() for f in row}
                                    for row in fields):
        return None
    roles = _TRACE_COLUMNS.get(parameter.replace(" ", "").lower())
    if roles is None:
        raise MissingColumnError(p, f"sheet {name!r}: Keysight/Agilent 4294A measurement parameter {parameter!r} is "
                                    "no impedance (|Z| - theta, R - X) or admittance (G - B) pair; name the columns "
                                    "with --columns (columns= in Python)")
    return {"frequency": "Frequency", roles[0]: "Data Trace A Real", roles[1]: "Data Trace B Real"}, parameter


_SETTINGS_LINES = 40  # a transfer sheet's settings block and header lie within its first rows


def _in_rows(reason: str) -> str:
    """A table engine message in spreadsheet terms: its line numbers are row numbers."""
    return re.sub(r"\bline(s?)(?= \d)", r"row\1", reason)


def _chosen_sheet(p: Path, sheets: Sequence[SheetSource], sheet: str | int) -> SheetSource:
    names = [n for n, _ in sheets]
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if not -len(sheets) <= sheet < len(sheets):
            raise ReadError(p, f"sheet {sheet} does not exist: the workbook has {len(sheets)} sheet(s) "
                               f"({', '.join(map(repr, names))})")
        return sheets[sheet]
    for entry in sheets:
        if entry[0] == sheet:
            return entry
    raise ReadError(p, f"no sheet named {sheet!r}; sheets: {', '.join(map(repr, names))}")
