"""Generic delimited text tables (CSV/TXT) and the table engine the instrument readers share.

The engine works in small steps, each usable on its own by a format module:

1. :func:`text_lines` decodes the file (UTF-8/UTF-16/cp1252) and refuses binary content;
2. :func:`locate_table` finds the delimiter, the decimal mark, the header line and the
   first data line (preamble lines before the header are skipped);
3. :func:`parse_rows` turns the data lines into a float array, strictly: a row with the
   wrong number of values or a non-numeric value is an error naming the line;
4. :func:`assign_roles` maps header names to roles (frequency, real, imag, modulus,
   phase, sweep counter), with units (Hz/kHz/MHz, ohm/kohm/Mohm, deg/rad) and a
   leading minus sign meaning "this column is negated";
5. :func:`spectra_from_table` computes f (Hz) and Z (ohm, Z'' < 0 capacitive), applies
   the imaginary-sign convention, checks consistency and splits sweeps.

Instrument modules pass a :class:`TableFormat` (their column map and sign convention).
"""
from __future__ import annotations

import csv as _csv
import datetime as _dt
import functools
import io as _stdio
import json
import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .._checks import did_you_mean
from ..errors import CorruptFileError, MissingColumnError, NoImpedanceDataError, ReadError, UnknownFormatError
from ..spectrum import AREA_SPECIFIC_UNIT, Spectrum
from ..units import KELVIN_AT_0C
from ._clock import iso_time, parse_clock_times, preamble_start_time
from ._common import (axis_of_column, build_spectra, merge_continued_sweeps, numbered_sweeps, read_text_bytes,
                      split_by_counter, split_lines, suffix_of, sweeps_at_frequency_resets, warn)
from ._identify import has_frequency_column, identify_columns, modulus_phase_alternative
from .._sign import capacitive_sign
from .export import MAGIC as EXPORT_MAGIC, META_PREFIX as EXPORT_META_PREFIX, restored_meta

NAME = "csv"
NAMES = ["csv", "txt", "table"]
EXTENSIONS = [".csv", ".txt", ".dat", ".tsv", ".tab"]

IMAG_SIGNS = ("auto", "negative", "positive")


def check_imag_sign(option: str | None, path: Path | str) -> None:
    """ReadError naming ``path`` unless ``option`` is None or one of :data:`IMAG_SIGNS`."""
    if option not in (None, *IMAG_SIGNS):
        raise ReadError(path, f"imag_sign must be one of {', '.join(IMAG_SIGNS)}, not {option!r}")

# (delimiter, decimal mark) candidates in order of preference; None = runs of whitespace
_LAYOUTS: tuple[tuple[str | None, str], ...] = (
    ("\t", "."), ("\t", ","), (";", "."), (";", ","), (",", "."), (None, "."), (None, ","),
    (",", ","),  # only with quoted fields: "1,5","-2,25" (pandas' to_csv(decimal=",") with its default sep)
)
_DELIMITER_NAMES = {"\t": "tab", ";": "semicolon", ",": "comma", None: "whitespace"}
_MAX_SNIFF_LINES = 5000  # lines whose values decide the number of columns and the first data row
_MAX_DELIMITER_LINES = 1000  # non-blank lines tried with each (delimiter, decimal) candidate

ROLES = ("frequency", "real", "imag", "modulus", "phase", "sweep", "y_real", "y_imag")


# ---------------------------------------------------------------------------
# 1. text
# ---------------------------------------------------------------------------
def looks_binary(head: bytes) -> bool:
    """True when ``head`` is not text: NUL bytes (outside UTF-16) or many control bytes."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    if b"\x00" in head:
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > 0.02 * max(len(head), 1)


_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


def decode_text(data: bytes, errors: str = "strict") -> str:
    """Decode file bytes: UTF-16 (BOM), UTF-8 (with or without BOM), else cp1252/latin-1.

    UTF-16 that cannot be decoded (an odd number of bytes, a lone surrogate) raises
    UnicodeDecodeError unless ``errors="replace"`` (used on the cut-off head when sniffing).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors=errors)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


@dataclass(frozen=True)
class HeadText:
    """A file's first bytes as the format sniffers read them."""

    binary: bool  # :func:`looks_binary`
    text: str  # :func:`decode_text` with a character cut at the end replaced

    @functools.cached_property
    def lines(self) -> tuple[str, ...]:
        return tuple(split_lines(self.text))


@functools.lru_cache(maxsize=2)
def head_text(head: bytes) -> HeadText:
    """The :class:`HeadText` of ``head``, remembered: every format's sniffer reads the same head."""
    return HeadText(looks_binary(head), decode_text(head, errors="replace"))


def read_text(path: Path) -> tuple[list[str], bool]:
    """(lines without line ends, whether the file ends with a line end).

    CorruptFileError for binary content and for text that cannot be decoded
    (e.g. UTF-16 with an odd number of bytes).
    """
    data = read_text_bytes(path)
    if not data.strip():
        raise CorruptFileError(path, "file is empty")
    if looks_binary(data[:8192]):
        raise CorruptFileError(path, "binary content, not a text table")
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        raise CorruptFileError(path, f"undecodable text ({exc.encoding}: {exc.reason} at byte "
                                     f"{exc.start} of {len(data)}; truncated or damaged file)") from None
    del data
    return split_lines(text), text.endswith(("\n", "\r"))


def text_lines(path: Path) -> list[str]:
    """The lines of a text file (line ends removed); CorruptFileError for binary or undecodable content."""
    return read_text(path)[0]


# ---------------------------------------------------------------------------
# 2. layout
# ---------------------------------------------------------------------------
def split_fields(line: str, delimiter: str | None) -> list[str]:
    """Split one line into stripped fields; trailing empty fields (a final delimiter) dropped.
    A field in double quotes may hold the delimiter (``"1,000,000"`` in a comma table)."""
    text = line.strip()
    if not text:
        return []
    if delimiter is None:
        return text.split()
    fields = [f.strip() for f in delimited_cells(text, delimiter)]
    while fields and fields[-1] == "":
        fields.pop()
    return fields


def delimited_cells(line: str, delimiter: str) -> list[str]:
    """The cells of one line split at ``delimiter``, every cell kept (empty ones too), a
    cell in double quotes read as one cell without its quotes (``"1,000.5"`` in a comma
    table); a line without a double quote is split as it is."""
    if '"' not in line:
        return line.split(delimiter)
    return next(_csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])


def joined_cells(cells: Sequence[str], delimiter: str) -> str:
    """One line of ``cells`` that :func:`delimited_cells` splits back into them: a cell
    holding the delimiter or a double quote is written in double quotes."""
    return delimiter.join(f'"{c.replace(chr(34), chr(34) * 2)}"' if delimiter in c or '"' in c else c
                          for c in cells)


def parse_number(text: str, decimal: str = ".") -> float:
    """One numeric field; ``decimal=','`` accepts a decimal comma. ValueError if not a number."""
    if decimal in (".", EITHER_DECIMAL):  # '.' is a decimal mark in both: float() reads it as they do
        try:  # the common case first: a plain finite number
            value = float(text)
        except ValueError:
            pass
        else:
            if math.isfinite(value):
                return value
    t = text.strip().strip('"').replace("\u2212", "-")
    grouped = _GROUPED[decimal].match(t)
    if grouped:  # digit grouping: '1,000,000.5' ('.' decimal), '1.000.000,5' (',' decimal), '1 000', "1'000"
        t = re.sub(_GROUP_MARKS[decimal], "", t)
    if decimal != ".":  # ',' or EITHER_DECIMAL
        t = t.replace(",", ".")
    if not t or t.lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
        raise ValueError(text)
    try:
        return float(t)
    except ValueError:
        if _FORTRAN_EXPONENT.match(t):  # '1.0D+03': Fortran's double-precision exponent
            return float(t.replace("D", "e").replace("d", "e"))
        prefixed = _SI_PREFIXED.match(t)
        if prefixed:  # '735.948m', '1.462k': engineering notation (Zahner Thales/Analysis CSV)
            return float(prefixed[1]) * _NUMBER_SUFFIX[prefixed[2]]
        raise


# A number written with its digits grouped by threes: the first group 1-3 digits not starting
# with 0 ('0,125' is a decimal comma, never a group), then groups of exactly three, then the
# decimal part. In a '.'-decimal table ',' groups; in a ','-decimal table '.' groups (a '.'
# that does not group, '1.5', is still read as a decimal point); a space, no-break space or
# apostrophe groups in both.
_GROUPED = {
    ".": re.compile(r"^[+-]?[1-9]\d{0,2}(?:([,'\u00a0\u202f ])\d{3})(?:\1\d{3})*(?:\.\d*)?$"),
    ",": re.compile(r"^[+-]?[1-9]\d{0,2}(?:([.'\u00a0\u202f ])\d{3})(?:\1\d{3})*(?:,\d*)?$"),
    ",.": re.compile(r"^[+-]?[1-9]\d{0,2}(?:(['\u00a0\u202f ])\d{3})(?:\1\d{3})*(?:[,.]\d*)?$"),
}
_GROUP_MARKS = {".": r"[,'\u00a0\u202f ]", ",": r"[.'\u00a0\u202f ]", ",.": r"['\u00a0\u202f ]"}
# the decimal mark of a table of decimal commas where '.' is a decimal point too (10,8923 and
# 10.8923 in one table, as rows edited by hand or pasted from another locale): '.' is then
# never a digit group ('630.957' is 630.957, not 630957)
EITHER_DECIMAL = ",."
_FORTRAN_EXPONENT = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)[dD][+-]?\d+$")
# a number with an SI prefix as its suffix, no space and no unit: '735.948m', '1.462k', '3.3u'
_SI_PREFIXED = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([pnu\u00b5\u03bcmkMG])$")


def numeric_fields(line: str, delimiter: str | None, decimal: str) -> list[float] | None:
    """The values of a line when every field is a number, else None. In a delimited line an
    empty cell between numbers is no value, NaN (a DataFrame's missing value), where at least
    two cells hold numbers; empty cells at the end of the line are not counted.

    A line whose fields Python's float() reads as finite numbers has those values (what
    :func:`parse_number` returns for each field with a '.' decimal), taken in one step: the
    fields need no stripping (float() ignores the same whitespace as str.strip()); a quote,
    an empty field or anything else float() refuses goes through the careful path."""
    if decimal == ".":  # the common case first: every field a plain finite number
        try:
            values = list(map(float, line.split(delimiter)))
        except ValueError:
            pass
        else:  # finite sum: every value finite (an overflow of the sum only defers to the careful path)
            if values and math.isfinite(sum(values)):
                return values
    fields = split_fields(line, delimiter)
    if not fields:
        return None
    if delimiter is not None and "" in fields:  # empty cells: no value (NaN), in a row of at least two numbers
        try:
            values = [math.nan if not f else parse_number(f, decimal) for f in fields]
        except ValueError:
            return None
        return values if sum(v == v for v in values) >= 2 else None
    try:
        return [parse_number(f, decimal) for f in fields]
    except ValueError:
        return None


@dataclass(frozen=True)
class TableLayout:
    """Where the table is in the file and how its values are written."""

    delimiter: str | None
    decimal: str
    n_columns: int
    header_index: int | None  # 0-based line index of the header, None when absent
    data_start: int  # 0-based line index of the first data row
    # line text -> its values (numeric_fields under this delimiter and decimal mark; None when not a
    # row of numbers), for every line of a short table: parse_rows takes them instead of parsing again
    parsed_lines: Mapping[str, list[float] | None] = field(default_factory=dict, compare=False, repr=False)
    # 0-based indices of rows of fewer values between the header and the data, left out (the read warns)
    left_out: tuple[int, ...] = ()

    @property
    def delimiter_name(self) -> str:
        return _DELIMITER_NAMES[self.delimiter]


def _parsed_lines(lines: Sequence[str], delimiter: str | None, decimal: str,
                  parsed: dict[str, list[float] | None] | None = None) -> dict[str, list[float] | None]:
    """:func:`numeric_fields` of each distinct line (None for a line that is not a row of
    numbers), added to ``parsed`` (lines already there are not parsed again)."""
    parsed = {} if parsed is None else parsed
    for line in lines:
        if line not in parsed:
            parsed[line] = numeric_fields(line, delimiter, decimal)
    return parsed


def detect_delimiter(lines: Sequence[str]) -> tuple[str | None, str]:
    """(delimiter, decimal) that makes the most lines rows of >= 2 numbers."""
    return _detect_layout(lines)[:2]


def _detect_layout(lines: Sequence[str]) -> tuple[str | None, str, dict[str, list[float] | None]]:
    """:func:`detect_delimiter` and the values of the sampled lines under the winner
    (:func:`_parsed_lines`; :func:`_locate_table` reuses them instead of parsing the same lines again)."""
    sample = [ln for ln in lines[:_MAX_SNIFF_LINES] if ln.strip()][:_MAX_DELIMITER_LINES]
    # a line without a digit is never a row of numbers: no layout can count more than this
    reachable = sum(1 for ln in sample if any(map(str.isdigit, ln)))
    best, best_n, best_counts = _LAYOUTS[0], 0, {}
    text = "\n".join(sample)
    grouped_commas = False  # the best layout so far reads a comma in a number as a digit group
    for delimiter, decimal in _LAYOUTS:
        if (delimiter is not None and delimiter not in text) or (decimal == "," and "," not in text):
            continue  # a layout whose characters never occur cannot split a row
        if delimiter == decimal and '"' not in text:
            continue  # a comma both separates and marks decimals only inside quoted fields
        if grouped_commas and (delimiter, decimal) != (best[0], ","):
            break  # only the decimal-comma reading of the same delimiter may still win the tie
        counts = _parsed_lines(sample, delimiter, decimal)
        n = sum(1 for ln in sample if len(counts[ln] or ()) >= 2)
        tie = grouped_commas and n == best_n
        if n > best_n or (tie and _mixed_marks(sample, counts, delimiter, ",") < _mixed_marks(
                sample, best_counts, delimiter, ".")):
            best, best_n, best_counts = (delimiter, decimal), n, counts
        if tie:
            break
        if best_n == reachable:  # the first layout that reaches the bound wins, unless it read
            # a comma as a digit group: '1,250' is 1.25 in a decimal-comma table, 1250 in a
            # decimal-point one; the reading that needs fewer of the other mark's uses wins
            grouped_commas = best[1] == "." and best[0] != "," and _mixed_marks(sample, counts, best[0], ".") > 0
            if not grouped_commas:
                break
    if best_n == 0:
        raise ValueError("no rows of numbers")
    if best[1] == "," and _points_are_decimal_too(sample, best_counts, best[0]):
        return best[0], EITHER_DECIMAL, _parsed_lines(sample, best[0], EITHER_DECIMAL)
    return best[0], best[1], best_counts


def _points_are_decimal_too(sample: Sequence[str], counts: Mapping[str, list[float] | None],
                            delimiter: str | None) -> bool:
    """Whether a table of decimal commas also writes decimal points where they look like digit
    groups: one column holds both a '.' that cannot group digits ('63.0957') and one that
    could ('630.957'), so that in that column '.' is a decimal point (edited or pasted rows);
    and no field holds both marks ('1.000,5' groups with '.'). A column whose '.' fields all
    look like digit groups ('100.000', '63.096': kHz written with groups) keeps them as
    groups, whatever another column writes ('1.5' elsewhere is a decimal in either reading)."""
    rows = [split_fields(line, delimiter) for line in sample if counts.get(line) and "." in line]
    if any("." in f and "," in f for fields in rows for f in fields):
        return False
    grouped: dict[int, bool] = {}
    decimal: dict[int, bool] = {}
    for fields in rows:
        for k, text in enumerate(fields):
            text = text.strip().strip('"')
            if "." not in text:
                continue
            if _GROUPED[","].match(text):
                grouped[k] = True
            elif _number_with_point(text):
                decimal[k] = True
    return any(grouped.get(k) for k in decimal)


def _number_with_point(text: str) -> bool:
    """Whether ``text`` reads as a number written with a decimal point (:func:`parse_number`)."""
    try:
        parse_number(text)
    except ValueError:
        return False
    return True


def first_decimal_point(lines: Sequence[str], layout: TableLayout, first_line_number: int = 1) -> tuple[int, str] | None:
    """(line number, field) of the first data field of ``lines`` written with a decimal point
    in a table read with ``EITHER_DECIMAL``, for the warning that says so; else None."""
    if layout.decimal != EITHER_DECIMAL:
        return None
    for k in range(layout.data_start, len(lines)):
        for text in split_fields(lines[k], layout.delimiter):
            if "." in text and not _GROUPED[","].match(text.strip('"')):
                return first_line_number + k, text
    return None


def _mixed_marks(sample: Sequence[str], counts: Mapping[str, list[float] | None], delimiter: str | None,
                 decimal: str) -> int:
    """Fields of the numeric rows that use the other decimal mark: a comma (a digit group)
    where the decimal mark is '.', a '.' that is not a digit group (a decimal point) where
    it is ','."""
    other = "," if decimal == "." else "."
    used = 0
    for line in sample:
        if counts.get(line) and other in line:
            used += sum(1 for f in split_fields(line, delimiter)
                        if other in f and not (decimal == "," and _GROUPED[","].match(f.strip('"'))))
    return used


def locate_table(
    lines: Sequence[str],
    path: Path | str | None = None,
    delimiter: str | None | bool = False,
    decimal: str | None = None,
) -> TableLayout:
    """Find delimiter, decimal mark, header line and first data row.

    The data start at the first row of numbers with the most common number of
    values; the non-blank line just before it, if it is not numeric, is the header.
    Everything earlier is preamble; everything later must be data (checked by
    :func:`parse_rows`).
    ``delimiter=False`` / ``decimal=None`` mean "detect". The last few layouts are
    remembered (a format sniff and the read that follows look at the same lines).
    """
    key = (tuple(lines[:_MAX_SNIFF_LINES]), delimiter, decimal)
    if key in _LAYOUT_MEMORY:
        return _LAYOUT_MEMORY[key]
    layout = _locate_table(lines, path, delimiter, decimal)
    _LAYOUT_MEMORY[key] = layout
    while len(_LAYOUT_MEMORY) > 8:
        _LAYOUT_MEMORY.pop(next(iter(_LAYOUT_MEMORY)))
    return layout


_LAYOUT_MEMORY: dict[tuple, TableLayout] = {}
_FREQUENCY_WORD = re.compile(r"freq|hz", re.IGNORECASE)


def names_a_frequency(text: str) -> bool:
    """Whether ``text`` (a header, a file's first lines) names a frequency column: 'freq'
    or 'Hz'; what tells a damaged or empty data table from notes."""
    return _FREQUENCY_WORD.search(text) is not None


# a header field that names an impedance (or admittance) quantity: Z', Zre, Y'', Re(Z), real, phase...,
# or carries a unit of ohm
_IMPEDANCE_NAME = re.compile(r"""^[-"'|(]*([zy](?![a-z])|[zy](re|im|real|imag|mod|abs|phz|s['"_])|re\(|im\(|real|imag|phase|phz)"""
                             r"|ohm|\u03a9|\u2126", re.IGNORECASE)
_HEADER_FIELDS = re.compile(r"[\t,;]|\s+")


def names_impedance_columns(text: str) -> bool:
    """Whether a line of ``text`` (a file's first lines) reads as the header of an impedance
    table: of its fields (split at tabs, commas, semicolons and spaces), one names a frequency
    and another an impedance quantity (``Freq [Hz]; Z' [Ohm]``). What tells a damaged data
    table from notes that only mention a frequency range ('1 MHz to 100 mHz'). Markup lines
    (``<Fit FrequencyRange="1 Hz - 1 MHz" Unit="Ohm"/>``: an XML model or settings file) are no
    header."""
    for line in text.splitlines():
        if line.lstrip().startswith("<"):
            continue
        fields = [f for f in _HEADER_FIELDS.split(line) if f]
        named = [names_a_frequency(f) for f in fields]
        if any(named) and any(_IMPEDANCE_NAME.search(f) for f, freq in zip(fields, named) if not freq):
            return True
    return False


_NON_FINITE = re.compile(r"(?<![\w.])[-+]?(nan|inf|infinity)(?![\w.])", re.IGNORECASE)


# a Python complex number as pandas' to_csv and numpy's savetxt write one: (10.29-1.14j), 3+4j
_COMPLEX_LITERAL = re.compile(r"(?<![\w.])\(?[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[-+]"
                              r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[jJ]\)?(?![\w.])")


def _complex_literals(lines: Sequence[str]) -> str | None:
    """The first complex literal in the table's lines (``(10.29-1.14j)``), None when none."""
    for line in lines[:_MAX_SNIFF_LINES]:
        m = _COMPLEX_LITERAL.search(line)
        if m:
            return m.group(0)
    return None


def _no_table_reason(lines: Sequence[str]) -> str:
    """Why no table was found: complex numbers written as such, lines of numbers spoilt by
    nan/inf values (a column with no value), or no line of two or more numbers at all."""
    literal = _complex_literals(lines)
    if literal is not None:
        return (f"the impedance is written as complex numbers ({literal}), which eisfit does not read: write Z' "
                "and Z'' (ohm) as columns of their own, e.g. numpy.column_stack([f, z.real, z.imag])")
    spoilt = [(k, line) for k, line in enumerate(lines[:_MAX_SNIFF_LINES], 1) if _NON_FINITE.search(line)]
    if spoilt:
        k, line = spoilt[0]
        return (f"no table of finite numbers: {len(spoilt)} line(s) hold nan or inf values (line {k}: "
                f"{line.strip()[:60]!r}); a column without values cannot be read")
    return "no table of numbers found (no line holds two or more numeric values)"


def _locate_table(lines: Sequence[str], path: Path | str | None, delimiter: str | None | bool,
                  decimal: str | None) -> TableLayout:
    known: dict[str, list[float] | None] = {}
    if delimiter is False or decimal is None:
        try:
            det_delim, det_dec, det_counts = _detect_layout(lines)
        except ValueError:
            if not names_impedance_columns("\n".join(lines[:_MAX_SNIFF_LINES])) \
                    and _complex_literals(lines) is None:
                # no numbers and no header of an impedance table: not an impedance data file (notes that
                # mention a frequency range, a log)
                raise UnknownFormatError(path, "not an impedance data file: no table of numbers and no "
                                               "header naming frequency and impedance columns") from None
            raise CorruptFileError(path, _no_table_reason(lines)) from None
        if (delimiter is False or delimiter == det_delim) and decimal in (None, det_dec):
            known = det_counts
        if delimiter is False:
            delimiter = det_delim
        decimal = decimal or det_dec
    parsed = _parsed_lines(lines[:_MAX_SNIFF_LINES], delimiter, decimal, known)
    counts = [None if (values := parsed[line]) is None else len(values) for line in lines[:_MAX_SNIFF_LINES]]
    sizes = [c for c in counts if c is not None and c >= 2]
    if not sizes:
        raise CorruptFileError(
            path, f"no table of numbers found with {_DELIMITER_NAMES.get(delimiter, delimiter)} delimiter"
        )
    n_columns = max(set(sizes), key=sizes.count)
    widened = _sparse_width(lines[:_MAX_SNIFF_LINES], counts, n_columns, max(sizes), delimiter)
    if widened:  # every row holds the cells of the widest ones, some of them empty
        counts = [c if c is None or c < n_columns else widened for c in counts]
        n_columns = widened
    nonblank = [i for i, ln in enumerate(lines[:_MAX_SNIFF_LINES]) if ln.strip()]
    first_row = next(k for k, i in enumerate(nonblank) if counts[i] == n_columns)
    start, before = nonblank[first_row], nonblank[:first_row]
    header = before[-1] if before and counts[before[-1]] is None else None
    if header is not None and len(before) >= 2 and counts[before[-2]] is None:
        header = _header_above_title(lines, before[-2], header, delimiter, n_columns)
    if header is None and len(before) >= 2 and counts[before[-1]] == 1 and counts[before[-2]] is None:
        header = _header_above_count(lines, before[-2], before[-1], TableLayout(delimiter, decimal, n_columns,
                                                                                None, start))
    left_out: tuple[int, ...] = ()
    if header is None and before and counts[before[-1]] is not None:
        header, left_out = _header_above_short_rows(lines, before, counts, delimiter, n_columns)
    short = len(lines) < _FAST_MIN_LINES  # a longer table's rows are read by pandas: its lines are not kept
    return TableLayout(delimiter, decimal, n_columns, header, start, parsed if short else {}, left_out)


def _sparse_width(lines: Sequence[str], counts: Sequence[int | None], usual: int, widest: int,
                 delimiter: str | None) -> int | None:
    """``widest`` when the rows of ``usual`` values are rows of ``widest`` cells whose last
    ones are empty: a column filled in some rows only (``DataFrame.to_csv`` of a table with
    missing values writes their cells empty). Every row of ``usual`` to ``widest`` values
    must have ``widest`` cells; None otherwise (the rows of other lengths then stay what they
    are: a mismatch the parser names)."""
    if delimiter is None or widest <= usual:
        return None
    rows = [line for line, c in zip(lines, counts) if c is not None and usual <= c <= widest]
    if any(len(row_cells(line, delimiter, widest)) != widest for line in rows):
        return None
    return widest


def row_cells(line: str, delimiter: str, width: int) -> list[str]:
    """The cells of a delimited line, stripped, the empty ones at its end too (a tab table's
    trailing tabs are cells, not white space around the line) up to ``width`` cells."""
    cells = [c.strip() for c in delimited_cells(line.strip(" \t\r\n\f\v".replace(delimiter, "")), delimiter)]
    while len(cells) > width and not cells[-1]:
        cells.pop()
    return cells


def _header_above_short_rows(lines: Sequence[str], before: Sequence[int], counts: Sequence[int | None],
                             delimiter: str | None, n_columns: int) -> tuple[int | None, tuple[int, ...]]:
    """(header, the rows left out) where rows of numbers with fewer values than the table (a
    first point whose Z'' cell is empty) stand between the table and a header above them that
    names a frequency with one name per column: those rows had hidden the header, and the
    table was read as headerless, its kHz and kOhm as Hz and ohm, without a word. The read
    names the rows left out (:attr:`TableLayout.left_out`). (None, ()) otherwise."""
    k = len(before) - 1
    while k >= 0 and counts[before[k]] is not None:
        k -= 1
    if k < 0 or not names_a_frequency(lines[before[k]]) or len(split_fields(lines[before[k]], delimiter)) != n_columns:
        return None, ()
    return before[k], tuple(before[k + 1:])


def _header_above_title(lines: Sequence[str], above: int, line: int, delimiter: str | None, n_columns: int) -> int:
    """``above`` when ``line`` (just before the data) is a title of fewer fields than the
    table ('Cycle 1') and ``above`` names a frequency with one field per column, else
    ``line``: the header, not the title of the first block, names the columns."""
    if len(split_fields(lines[line], delimiter)) >= n_columns or not names_a_frequency(lines[above]):
        return line
    return above if len(split_fields(lines[above], delimiter)) == n_columns else line


def _header_above_count(lines: Sequence[str], above: int, count: int, layout: TableLayout) -> int | None:
    """``above`` when the line between it and the data is a point count (one integer, as some
    instrument exports write) and it names a frequency and one column per data column."""
    try:
        value = float(lines[count].strip().replace(",", "."))
    except ValueError:
        return None
    if not (value.is_integer() and value > 0 and names_a_frequency(lines[above])):
        return None
    return above if _names_of_every_column(lines[above], layout) is not None else None


def _names_of_every_column(line: str, layout: TableLayout) -> list[str] | None:
    """:func:`header_names` of ``line`` when it gives one name per data column, else None (a
    line of another count of names is not this table's header; header_names would warn)."""
    names, given = _fitted_header_names(line, layout)
    return names if given == layout.n_columns else None


_COMMENT_MARK = re.compile(r"^(?:#|%|;|//)+\s*")  # a header written as a comment line
_COUNT_MARKS = {"", "#", "-", "no", "no.", "n"}  # what a unit row holds over a point counter or a text column


def _names_above_unit_row(lines: Sequence[str], layout: TableLayout, units: list[str]) -> list[str] | None:
    """Column names 'name (unit)' when the line above the data is a row of units under the
    row of names (Gamry's ZCURVE table copied out: 'Pt Time Freq Zreal ...' over '# s Hz ohm
    ...'; Origin's long-name and units rows), else None; also with one more row between the
    units and the data that names no frequency (Origin's comments row: 'sample A'...). The
    unit row must give the frequency or impedance columns a recognised unit, and the row
    above it name a frequency with as many names as there are data columns."""
    named = _names_over_units(lines, layout, layout.header_index, units)
    if named is not None or names_a_frequency(lines[layout.header_index]):
        return named
    unit_row = next((i for i in range(layout.header_index - 1, -1, -1) if lines[i].strip()), None)
    units = None if unit_row is None else _names_of_every_column(lines[unit_row], layout)
    return None if units is None else _names_over_units(lines, layout, unit_row, units)


def _names_over_units(lines: Sequence[str], layout: TableLayout, unit_row: int, units: list[str]) -> list[str] | None:
    """:func:`_names_above_unit_row` for the unit row at index ``unit_row``."""
    if not any(parse_unit(u)[0] in ("frequency", "impedance", IMPEDANCE_PER_AREA, "admittance") for u in units):
        return None
    if not all(u.lower() in _COUNT_MARKS or parse_unit(u)[0] is not None or (len(u) <= 8 and " " not in u.strip())
               for u in units):
        return None
    above = next((i for i in range(unit_row - 1, -1, -1) if lines[i].strip()), None)
    if above is None or not names_a_frequency(lines[above]):
        return None
    names = _names_of_every_column(lines[above], layout)
    if names is None:
        return None
    return [f"{name} ({unit})" if unit.lower() not in _COUNT_MARKS else name for name, unit in zip(names, units)]


def header_names(line: str, layout: TableLayout, first_rows: Sequence[str] = ()) -> list[str] | None:
    """Column names of a header line, matched to the number of data columns when possible
    (a ReadWarning when the line gives another number of names); None when the names
    cannot be matched to the columns (see :func:`_fitted_header_names`). A header one name
    short over rows whose first field counts them 1, 2... (``first_rows``, the first data
    lines) names the columns after that count: R's ``write.table`` writes its row names so."""
    names, given = _fitted_header_names(line, layout)
    if names is not None and given == layout.n_columns - 1 and _rows_numbered(first_rows, layout):
        warn(f"header has {given} names for {layout.n_columns} data columns and the first column numbers the "
             "rows (1, 2, ...: row names, as R's write.table writes them): the names are those of the columns "
             "after it")
        return ["row"] + names[:given]
    if names is not None and given != layout.n_columns:
        warn(f"header has {given} names for {layout.n_columns} data columns; names beyond the data are "
             "ignored and unnamed columns numbered")
    return names


def _rows_numbered(rows: Sequence[str], layout: TableLayout) -> bool:
    """Whether the first fields of ``rows`` (two data lines or more) read 1, 2, ... in order."""
    if layout.delimiter is None or len(rows) < 2:
        return False
    firsts = [split_fields(row, layout.delimiter)[:1] for row in rows]
    return all(f and f[0].strip('"') == str(k) for k, f in enumerate(firsts, 1))


_UNIT_TOKEN = re.compile(r"^(?:\([^()]*\)|\[[^\[\]]*\]|/\S+)$")  # '(Hz)', '[Ω]', '/Ohm': a unit on its own


def _units_joined(tokens: Sequence[str]) -> list[str]:
    """Header tokens with each unit standing alone (``(Hz)``, ``[Ω]``, ``/Ohm``) joined to the
    name before it: a header separated by spaces whose names carry their units after a
    space (``Frequency (Hz) Z' (Ohm) -Z'' (Ohm)``)."""
    out: list[str] = []
    for token in tokens:
        if out and _UNIT_TOKEN.match(token):
            out[-1] = f"{out[-1]} {token}"
        else:
            out.append(token)
    return out


_PART_WORDS = frozenset({"re", "im", "real", "imag", "imaginary"})  # with 'Z' or 'part': one name
MAX_PHRASE_READINGS = 64  # ways of reading a header's words as names, tried at most


def _joins(a: str, b: str) -> bool:
    """Whether header words ``a b`` can be one impedance name: a part word and ``Z`` in
    either order (``Real Z``, ``Z imag``), or a part word and ``part`` (``Imaginary part``)."""
    a, b = a.lower().strip('"'), b.lower().strip('"')
    return (a in _PART_WORDS and b in ("z", "part")) or (a == "z" and b in _PART_WORDS)


def _phrase_readings(words: Sequence[str]) -> list[list[str]] | None:
    """Every reading of the header's ``words`` as names in which some neighbours that
    :func:`_joins` allows are joined into one name (each word in one name); None where
    there are more than ``MAX_PHRASE_READINGS`` (a header that is no list of names)."""
    if not any(_joins(a, b) for a, b in zip(words, words[1:])):
        return []
    readings: list[list[str]] = []
    pending: list[tuple[int, list[str], bool]] = [(0, [], False)]  # (next word, names so far, any joined)
    while pending:
        k, names, joined = pending.pop()
        if k == len(words):
            if joined:
                readings.append(names)
                if len(readings) > MAX_PHRASE_READINGS:
                    return None
            continue
        pending.append((k + 1, names + [words[k]], joined))
        if k + 1 < len(words) and _joins(words[k], words[k + 1]):
            pending.append((k + 2, names + [f"{words[k]} {words[k + 1]}"], True))
    return readings


def _phrases_joined(words: Sequence[str], n: int) -> list[str] | None:
    """The one reading of the header's words as ``n`` names (units joined to their names,
    :func:`_units_joined`) with two-word impedance names (``Real Z``, ``Z imag``) joined;
    None where no reading, or more than one, gives ``n`` names (``Re Z Im`` over two
    columns: which name the ``Z`` belongs to, the words do not say)."""
    readings = _phrase_readings(words)
    if readings is None:
        return None
    fits = {tuple(names) for names in map(_units_joined, readings) if len(names) == n}
    return list(next(iter(fits))) if len(fits) == 1 else None


def _fitted_header_names(line: str, layout: TableLayout) -> tuple[list[str] | None, int]:
    """(:func:`header_names` of ``line``, the number of names the line gives): one name per data
    column when some way of splitting the line gives that many (a unit after a space joins
    its name, :func:`_units_joined`). Else, in a table whose fields a delimiter separates,
    the names cut (a name beyond the data: a column without values) or numbered (fewer
    names than columns): each name stays over its own column. In a table separated by
    spaces, None: where a name holds a space (``Real Z``, ``Re Z (mOhm)``) the names do
    not say which column each belongs to, and cutting them would put names, units
    included, over the wrong columns; unless the names are plainly one word each and those
    beyond the data name nothing eisfit reads (:func:`_cut_is_safe`). Fewer names than
    columns are numbered on (``column 4``), as before, whatever the delimiter."""
    n = layout.n_columns
    over_an_index = _names_over_an_index(line, layout)
    if over_an_index is not None:
        return over_an_index, n
    text = line.strip().strip("\ufeff")
    raw = _COMMENT_MARK.sub("", text)  # "# Freq.[Hz]  Z'[ohm] ..."
    words = raw.split()
    candidates = [
        split_fields(raw, layout.delimiter),
        [f for f in split_fields(raw, layout.delimiter) if f],
        [f.strip() for f in re.split(r"\t+|\s{2,}", raw) if f.strip()],
        words,
        _units_joined(words),
    ]
    phrases = _phrases_joined(words, n)
    if phrases is not None:  # 'Real Z', 'Z imag', 'Imaginary part': one name each
        candidates.append(phrases)
    if raw != text:  # '#' over a point counter in a row of units ('#<TAB>s<TAB>Hz...'), not a comment mark
        candidates.append(split_fields(text, layout.delimiter))
    for names in candidates:
        if len(names) == n:
            return [unquoted_name(nm) for nm in names], n
    names = [unquoted_name(nm) for nm in candidates[1]]
    if layout.delimiter is None and len(names) > n and not _cut_is_safe(words, n):
        return None, len(names)
    return names[:n] + [f"column {k + 1}" for k in range(len(names), n)], len(names)


def unquoted_name(field: str) -> str:
    """A header field without the quotes a CSV writer puts around it (``"Z'"`` -> ``Z'``; an
    embedded quote is doubled there, which is undone) or a lone opening one, but with a closing
    quote that stands for a double prime (``Z"``, CH Instruments' Z''): stripping every quote
    had named that column ``Z``, read as |Z| beside a phase column (Z' came out negative)."""
    text = field.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1].replace('""', '"').strip()
    return text.lstrip('"').strip()


def _names_over_an_index(line: str, layout: TableLayout) -> list[str] | None:
    """The names of a header whose first field, over a row index, is empty or a count mark
    (``;freq;Z'...`` or ``<TAB>freq<TAB>Z'...``: what pandas' ``to_csv`` writes for a
    DataFrame's index; ``#;freq;...`` over a point number), one per data column, split at the
    delimiter as the line stands. Stripping the line first (a leading tab is white space) or
    reading its ';' or '#' as a comment mark put every name one column to the left: the index
    read as the frequency, the frequencies as Z'. None for any other line."""
    if layout.delimiter is None:
        return None
    own = line.rstrip("\r\n").lstrip("\ufeff")
    fields = [unquoted_name(f) for f in own.split(layout.delimiter)]
    while fields and fields[-1] == "":
        fields.pop()
    if len(fields) != layout.n_columns or fields[0].lower() not in _COUNT_MARKS:
        return None
    return fields


# words that make one column name with a neighbour ('Real Z', 'Z imag', 'Real Part'), not one on their own
_NAME_PARTS = _PART_WORDS | {"part", "z"}


def _cut_is_safe(words: Sequence[str], n: int) -> bool:
    """Whether the first ``n`` of the header's ``words`` (a table separated by spaces with
    fewer columns than words) are the names of its ``n`` columns: no unit stands apart
    from its name, no word is a part of a longer name (:data:`_NAME_PARTS`), and the
    words beyond the data name no quantity eisfit reads (a comment column without values)."""
    if _units_joined(words) != list(words):
        return False
    if any(w.lower().strip('"') in _NAME_PARTS for w in words):
        return False
    return not any(_names_a_quantity(w) for w in words[n:])


def _names_a_quantity(name: str) -> bool:
    """Whether a column name names a quantity eisfit reads (a role) or carries a unit it knows."""
    header = parse_header(name)
    return header.kind is not None or role_of(header.key, header.kind) is not None


# ---------------------------------------------------------------------------
# 3. rows
# ---------------------------------------------------------------------------
@dataclass
class Rows:
    """Parsed data rows: ``values[i]`` came from 1-based file line ``line_numbers[i]``;
    a new block starts at each index in ``block_starts`` (a repeated header split them)."""

    values: np.ndarray
    line_numbers: np.ndarray
    block_starts: list[int] = field(default_factory=lambda: [0])


def parse_rows(
    lines: Sequence[str],
    layout: TableLayout,
    path: Path | str | None,
    names: Sequence[str],
    start: int | None = None,
    stop: int | None = None,
    first_line_number: int = 1,
    header_line: str | None = None,
    last_line_complete: bool = True,
) -> Rows:
    """Parse the data rows strictly. Blank lines are skipped; a line repeating the header
    starts a new block, and so does a title between blocks of rows (a line of fewer fields
    than the table, none of them a number: 'Cycle 2', 'Measurement 3 at 25 C'; named in a
    ReadWarning); any other line must hold exactly ``n_columns`` numbers.

    ``last_line_complete=False`` (the file does not end with a line end) makes the last
    line suspect: when it has too few values, an unreadable value, or a last value
    shorter than every value of that column in the (up to 200) rows before it while
    those are written with a fixed width (``4.93e-0`` cut from ``4.93e-01``), it is
    dropped with a ReadWarning rather than read as a wrong number. A cut that leaves a
    valid number of the usual width cannot be seen.
    """
    start = layout.data_start if start is None else start
    stop = len(lines) if stop is None else stop
    if not last_line_complete:
        stop = _drop_cut_last_line(lines, layout, path, start, stop, first_line_number)
    fast = (_parse_rows_fast(lines, layout, start, stop, first_line_number)
            or _rows_parsed_by_layout(lines, layout, start, stop, first_line_number))
    if fast is not None:
        return fast
    n = layout.n_columns
    header_key = header_line.strip() if header_line else None
    values: list[list[float]] = []
    numbers: list[int] = []
    blocks = [0]
    titles: list[tuple[int, str, int]] = []  # line number, text, rows before it
    for i in range(start, stop):
        line = lines[i]
        lineno = first_line_number + i
        fields = split_fields(line, layout.delimiter)
        if not fields:
            continue
        if header_key is not None and line.strip() == header_key:
            if values and blocks[-1] != len(values):
                blocks.append(len(values))
            continue
        if len(fields) < n and values and _is_title(fields, layout.decimal):
            titles.append((lineno, line.strip()[:40], len(values)))
            if blocks[-1] != len(values):
                blocks.append(len(values))
            continue
        if len(fields) != n:
            cells = [] if layout.delimiter is None else row_cells(line, layout.delimiter, n)
            if len(cells) != n:
                raise CorruptFileError(
                    path, f"line {lineno}: {len(fields)} values where the table has {n} columns "
                    f"(mismatched row length): {line.strip()[:60]!r}"
                )
            fields = cells  # its last cells empty
        row = []
        for k, text in enumerate(fields):
            if not text and layout.delimiter is not None:  # an empty cell: no value (see _complete_rows)
                row.append(math.nan)
                continue
            try:
                row.append(parse_number(text, layout.decimal))
            except ValueError:
                col = names[k] if k < len(names) else f"column {k + 1}"
                raise CorruptFileError(
                    path, f"line {lineno}: non-numeric value {text[:30]!r} in column {col!r}"
                ) from None
        values.append(row)
        numbers.append(lineno)
    if not values:
        raise CorruptFileError(path, "the table has a header but no data rows")
    _warn_text_lines(path, [t for t in titles if t[2] < len(values)], [t for t in titles if t[2] == len(values)])
    return Rows(np.array(values, dtype=float), np.array(numbers), blocks)


def _warn_text_lines(path: Path | str | None, between: list[tuple[int, str, int]],
                     after: list[tuple[int, str, int]]) -> None:
    """One ReadWarning for title lines between blocks of rows, one for text after the last row."""
    name = Path(str(path)).name if path is not None else "table"
    for lines, what in ((between, "between rows of numbers read as titles starting a new block of rows"),
                        (after, "after the last row of numbers ignored")):
        if lines:
            shown = "; ".join(f"line {k}: {text!r}" for k, text, _ in lines[:3]) + (" ..." if len(lines) > 3 else "")
            warn(f"{name}: {len(lines)} text line(s) {what} ({shown})")


def _is_title(fields: Sequence[str], decimal: str) -> bool:
    """No field of the line is a number (a title such as 'Cycle 2', not a damaged row)."""
    return not any(is_number(text, decimal) for text in fields) and any(text.strip() for text in fields)


def _rows_parsed_by_layout(lines: Sequence[str], layout: TableLayout, start: int, stop: int,
                           first_line_number: int) -> Rows | None:
    """The rows of a short table whose every line from ``start`` to ``stop`` is a row of
    ``n_columns`` numbers that :func:`locate_table` parsed already (``layout.parsed_lines``:
    the same :func:`numeric_fields` the strict parser applies field by field, so the same
    values); None for anything else (a blank line, a repeated header, a title, a row of
    another length or a line it did not parse): the strict parser then reads the table."""
    parsed = layout.parsed_lines
    values = [parsed.get(line) for line in lines[start:stop]]
    if not values or not all(v is not None and len(v) == layout.n_columns for v in values):
        return None
    return Rows(np.array(values, dtype=float), np.arange(start, stop) + first_line_number, [0])


_FAST_MIN_LINES = 2000
_FAST_CHUNK_LINES = 50000


def _parse_rows_fast(lines: Sequence[str], layout: TableLayout, start: int, stop: int,
                     first_line_number: int) -> Rows | None:
    """pandas' C parser for large, clean tables; None (use the strict parser, which names the
    faulty line) on anything unusual: a repeated header, a non-numeric or non-finite value,
    a row of the wrong length."""
    if stop - start < _FAST_MIN_LINES or layout.decimal == EITHER_DECIMAL:  # pandas takes one decimal mark
        return None
    import pandas as pd

    sep = r"\s+" if layout.delimiter is None else layout.delimiter
    buffer = _stdio.BytesIO()  # 1 byte per character, filled in chunks to keep the peak low
    for a in range(start, stop, _FAST_CHUNK_LINES):
        buffer.write("\n".join(lines[a:min(stop, a + _FAST_CHUNK_LINES)]).encode("utf-8"))
        buffer.write(b"\n")
    buffer.seek(0)
    try:  # a repeated header line is not numeric: the parse fails and the strict parser runs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(buffer, header=None, sep=sep, engine="c", encoding="utf-8",
                                decimal=layout.decimal, dtype=float, quotechar='"',
                                skip_blank_lines=True, comment=None, na_filter=True)
        values = frame.to_numpy(dtype=float)
    except (ValueError, pd.errors.ParserError):
        return None
    if values.ndim != 2 or values.shape[1] != layout.n_columns or not np.all(np.isfinite(values)):
        return None
    if values.shape[0] == stop - start:
        numbers = np.arange(start, stop) + first_line_number
    else:
        region = lines[start:stop]
        nonblank = np.fromiter((bool(ln.strip()) for ln in region), dtype=bool, count=len(region))
        numbers = np.flatnonzero(nonblank) + start + first_line_number
        if numbers.size != values.shape[0]:
            return None
    return Rows(values, numbers, [0])


def _drop_cut_last_line(lines: Sequence[str], layout: TableLayout, path: Path | str | None,
                        start: int, stop: int, first_line_number: int) -> int:
    """``stop`` without the last data line when that line looks cut off (see :func:`parse_rows`)."""
    last = stop - 1
    while last >= start and not lines[last].strip():
        last -= 1
    if last <= start:
        return stop
    fields = split_fields(lines[last], layout.delimiter)
    reason = None
    if len(fields) != layout.n_columns:
        reason = f"{len(fields)} of {layout.n_columns} values"
    else:
        try:
            parse_number(fields[-1], layout.decimal)
        except ValueError:
            reason = f"last value {fields[-1]!r} is not a number"
    if reason is None:
        above = (split_fields(ln, layout.delimiter) for ln in lines[max(start, last - 200):last])
        widths = [len(f[-1]) for f in above if len(f) == layout.n_columns]
        fixed_width = bool(widths) and max(widths) - min(widths) <= 1  # a sign may add one character
        if fixed_width and len(fields[-1]) < min(widths):
            reason = (f"last value {fields[-1]!r} is shorter than every value of that column "
                      f"above it ({min(widths)}+ characters)")
    if reason is None:
        return stop
    name = Path(str(path)).name if path is not None else "file"
    warn(f"{name}: line {first_line_number + last} looks cut off (the file ends without a line end "
         f"and {reason}): dropped")
    return last


# ---------------------------------------------------------------------------
# 4. column roles
# ---------------------------------------------------------------------------
_PRIMES = str.maketrans({"\u2019": "'", "\u2032": "'", "\u00b4": "'", "`": "'", "\u201d": '"',
                         "\u2033": '"', "\u2212": "-", "\u2013": "-"})
_UNIT_RE = re.compile(r"\s*(?:/\s*([^/()\[\]]+)|\(([^()]*)\)|\[([^\[\]]*)\]|/\s*(1\s*/\s*s))\s*$")
# a unit written as a suffix of a snake_case name: frequency_Hz, z_real_ohm, z_real_ohm_cm2, phase_deg,
# y_real_mS (siemens in upper case only: time_s and time_ms stay seconds, parse_unit decides)
_SUFFIX_UNIT_RE = re.compile(r"_((?:[kmu\u00b5]?ohms?(?:_cm2)?)|(?:[kmg]?hz)|deg|rad|(?:[kmun\u00b5]?s))$", re.IGNORECASE)
_COMMA_UNIT_RE = re.compile(r",\s*([^,]+?)\s*$")  # a unit after a comma: 'f, Hz', "Z', kOhm"
_WORD_UNIT_RE = re.compile(r"\s+(?:in\s+)?(\S+)$", re.IGNORECASE)  # the last word a unit: "Z' kOhm", "Z' in kOhm"
_SI_PREFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3, "u": 1e-6, "\u00b5": 1e-6, "\u03bc": 1e-6}
_NUMBER_SUFFIX = {**_SI_PREFIX, "n": 1e-9, "p": 1e-12}  # a number's SI suffix ('735.948m', _SI_PREFIXED): n, p too
_PER_SECOND = re.compile(r"^(?:1/s|1/sec|s\^?-1|s\u207b\u00b9|sec\^?-1)$")
# a unit spelled out in words, its prefix too: 'kiloHertz', 'kilohm', 'kilo-ohm' ('k-ohm': a symbol)
_SPELLED_UNIT = re.compile(r"^(?P<prefix>kilo|kil|mega|meg|giga|milli|micro)?-?(?P<base>hertz|ohms?)$")
_SPELLED_PREFIX = {"": 1.0, "kilo": 1e3, "kil": 1e3, "mega": 1e6, "meg": 1e6, "giga": 1e9, "milli": 1e-3,
                   "micro": 1e-6}
# an impedance per area: ohm (any prefix) times cm2, mm2 or m2, joined by nothing, a dot, a
# middle dot, '*', 'x' or '-' ('Ohm cm2', 'Ω·cm²', 'kOhm.cm^2')
_OHM_WORD = r"(?:ohms?|\u03c9|\u2126|om|\u043e\u043c)"  # ohm as units write it: Ohm, ω, Ω, Om, Ом
_PER_AREA_UNIT = re.compile(r"^(?P<ohm>.*?" + _OHM_WORD + r")[.\u00b7\u22c5*x\u00d7-]?"
                            r"(?P<area>cm|mm|m)(?:\^?2|\u00b2)$", re.IGNORECASE)
_CYRILLIC_PREFIX = {"\u043a": "k", "\u041c": "M", "\u043c": "m", "\u043c\u043a": "u"}  # к, М, м, мк
_OM_TOKEN = re.compile(r"(?:^|[^a-z\u0430-\u044f])[kmg\u00b5u]?(?:om|\u043e\u043c)(?:[^a-z\u0430-\u044f]|$)")  # 'Om·cm'
_CM2_PER = {"cm": 1.0, "mm": 1e-2, "m": 1e4}  # cm2 in one unit of area
IMPEDANCE_PER_AREA = "impedance-per-area"  # the kind of an ohm*cm2 unit (scale: to ohm*cm2)
DECIBEL = "decibel"  # |Z| in dB re 1 ohm (20 log10(|Z| / 1 ohm)), as impedance analysers can write it
UNREADABLE_OHM = "unreadable-ohm"  # a unit naming ohm that is none eisfit converts ('Ohm/cm2')
LOGARITHM = "logarithm"  # a unit of logarithms ('log Hz', 'log10 ohm', 'log'): no column eisfit reads holds one
_LOG_UNIT = re.compile(r"^(?:log(?:10)?|lg|ln)\b", re.IGNORECASE)
_SIEMENS = {"S": 1.0, "kS": 1e3, "mS": 1e-3, "uS": 1e-6, "\u00b5S": 1e-6, "\u03bcS": 1e-6, "nS": 1e-9}  # to S
_SIEMENS_WORDS = ("siemens", "mho", "1/ohm", "ohm-1", "ohm^-1", "\u03c9-1", "\u03c9^-1", "\u03c9\u207b\u00b9",
                  "ohm\u207b\u00b9")
# rad/s, rad s-1, rad·s⁻¹: an angular frequency
_ANGULAR_UNIT = re.compile(r"^rad(?:ians?)?(?:/s|[.*\u00b7]?s\^?-1|[.*\u00b7]?s\u207b\u00b9)$")
_ANGULAR_NAMES = ("omega", "\u03c9", "angular frequency", "angular freq")  # an angular frequency column


@dataclass(frozen=True)
class Header:
    """One parsed column name: role-matching key, sign, unit and its scale factor."""

    name: str
    key: str  # lower-case base name without sign and unit
    negated: bool
    unit: str | None
    kind: str | None  # "frequency", "impedance", "angle" or None (no recognised unit)
    scale: float  # to Hz, ohm or degrees
    unread_unit: str | None = None  # a unit written in brackets or after '/' that parse_unit does not know


@functools.lru_cache(maxsize=4096)  # a pure function of a column name: a campaign's files repeat theirs
def parse_unit(unit: str) -> tuple[str | None, float]:
    """(kind, scale) of a unit text: Hz/kHz/MHz -> ("frequency", Hz per unit),
    ohm/kOhm/MΩ -> ("impedance", ohm per unit), ohm*cm2/kΩ·cm²/Ω·m² ->
    (``IMPEDANCE_PER_AREA``, ohm*cm2 per unit), deg/°/rad -> ("angle", deg per unit)."""
    u = _unmangled(unit.strip().replace(" ", ""))
    low = u.lower()
    if low in ("deg", "deg.", "degree", "degrees", "\u00b0", "\u00ba"):
        return "angle", 1.0
    if low in ("rad", "radian", "radians"):
        return "angle", 180.0 / np.pi
    if low in ("db", "dbohm", "dbohms", "db\u03c9", "db\u2126".lower(), "db(ohm)"):
        return DECIBEL, 1.0
    if _LOG_UNIT.match(unit.strip()):
        return LOGARITHM, 1.0
    if _ANGULAR_UNIT.match(low):
        return "frequency", 1.0 / (2.0 * np.pi)
    if u in _SIEMENS or low in _SIEMENS_WORDS:  # 'S' upper case only: 's' is a second
        return "admittance", _SIEMENS.get(u, 1.0)
    if _PER_SECOND.match(low):  # 1/s, s^-1: a frequency (an angular one is written rad/s)
        return "frequency", 1.0
    spelled = _SPELLED_UNIT.match(low)
    if spelled:  # kilohertz, megahertz, kiloohm, kilohm, megohm, milliohm
        return ("frequency" if spelled["base"] == "hertz" else "impedance"), _SPELLED_PREFIX[spelled["prefix"] or ""]
    per_area = _PER_AREA_UNIT.match(u)
    if per_area:
        kind, scale = parse_unit(per_area["ohm"])
        if kind == "impedance":
            return IMPEDANCE_PER_AREA, scale * _CM2_PER[per_area["area"].lower()]
    for base, kind in (("hz", "frequency"), ("ohms", "impedance"), ("ohm", "impedance"),
                       ("\u03c9", "impedance"), ("\u2126", "impedance"), ("om", "impedance"),
                       ("\u043e\u043c", "impedance")):  # 'Om', 'Ом': ohm as Russian exports write it
        if low.endswith(base):
            prefix = u[: len(u) - len(base)].removesuffix("-")  # 'k-ohm', 'M-ohm'
            prefix = _CYRILLIC_PREFIX.get(prefix, prefix)  # 'кОм'
            if prefix in _SI_PREFIX:
                return kind, _SI_PREFIX[prefix]
    if "ohm" in low or "\u03c9" in low or _OM_TOKEN.search(low):  # 'Ohm/cm2', 'Ohm m', 'Om·cm': an impedance
        # unit eisfit cannot convert
        return UNREADABLE_OHM, 1.0
    return None, 1.0


# UTF-8 bytes of a unit symbol read as Windows-1252 or Latin-1 (a UTF-8 header in a file
# decoded as cp1252): 'Î©' is 'Ω', 'Âµ' is 'µ', 'Â°' is '°'. Only these whole sequences are
# mended: each is two characters no unit is written with.
_MOJIBAKE = {"\u00ce\u00a9": "\u03a9", "\u00e2\u201e\u00a6": "\u2126", "\u00c2\u00b5": "\u00b5",
             "\u00ce\u00bc": "\u03bc", "\u00c2\u00b0": "\u00b0", "\u00c2\u00b2": "\u00b2"}


def _unmangled(unit: str) -> str:
    """``unit`` with the mis-decoded UTF-8 symbols of :data:`_MOJIBAKE` mended ('kÎ©' -> 'kΩ')."""
    for bad, good in _MOJIBAKE.items():
        unit = unit.replace(bad, good)
    return unit


# in brackets but no unit: ZView's part labels "Z'(a)", "Z''(b)" (and Autolab's copies); the
# quantity of 'Theta (Z)', 'Phase (Y)' (z or y in any case, tested where this is used)
_PART_LABELS = ("a", "b")

# units of other quantities (case as written; an SI prefix allowed): a column named Z' or
# freq whose unit is one of these holds no impedance or frequency
_OTHER_QUANTITY_UNITS = {"s": "a time", "min": "a time", "h": "a time", "V": "a potential", "A": "a current",
                         "C": "a charge", "Ah": "a charge", "A.h": "a charge", "F": "a capacitance",
                         "H": "an inductance", "W": "a power", "J": "an energy", "K": "a temperature",
                         "\u00b0C": "a temperature", "degC": "a temperature"}
_UNIT_PREFIXES = ("", "k", "m", "u", "\u00b5", "\u03bc", "n", "p")


_PER_AREA_SUFFIX = re.compile(r"^(?P<base>.+?)(?:/|\*|\u00b7|\.)?(?:c|m)?m(?:2|\^2|\u00b2|-2|\^-2|\u207b\u00b2)$")


def other_quantity(unit: str) -> str | None:
    """The quantity ('a time', 'a potential'...) that ``unit`` measures when it is a unit of
    neither frequency, impedance nor angle ('s', 'mV', 'µA', 'mA.h'), or such a quantity per
    area ('mA/cm2', 'A/m2', 'µA cm-2': a current density, what a photocurrent (IMPS) spectrum
    holds); None otherwise."""
    u = _unmangled(unit.strip().replace(" ", ""))
    per_area = _PER_AREA_SUFFIX.match(u)
    if per_area and not per_area["base"].lower().endswith(("ohm", "\u03c9", "\u2126")):
        base = other_quantity(per_area["base"])
        return None if base is None else f"{base} per area"
    for prefix in _UNIT_PREFIXES:
        if u.startswith(prefix) and u[len(prefix):] in _OTHER_QUANTITY_UNITS:
            if prefix and u[len(prefix):] in ("min", "h", "\u00b0C", "degC"):
                continue
            return _OTHER_QUANTITY_UNITS[u[len(prefix):]]
    return None


_TIMES_LENGTH = re.compile(_OHM_WORD + r"\s*[.\u00b7\u22c5*x\u00d7 -]?\s*(?:cm|mm|m)$",
                           re.IGNORECASE)


def _times_length_hint(unit: str | None) -> str:
    """For an impedance times a length ('Ohm m', 'Om·cm'): what such a column holds."""
    if unit is None or not _TIMES_LENGTH.search(unit.strip()):
        return ""
    return ("; an impedance times a length is a specific impedance Z x A/L of a sample of area A and "
            "thickness L: multiply it by L/A (in that length unit) to get ohm")


@functools.lru_cache(maxsize=4096)  # a pure function of a column name: a campaign's files repeat theirs
def parse_header(name: str) -> Header:
    """Split a column name into sign, base name and unit (``-Z'' (kOhm)`` -> negated, z'', kohm).

    The unit is read where it is written in brackets or after a slash (``Z' (kOhm)``,
    ``Z' [kOhm]``, ``Z'/kOhm``), as a snake_case suffix (``z_real_kohm``), after a comma
    (``Z', kOhm``), or as the last word, after ``in`` or not (``Z' in kOhm``, ``Z' kOhm``);
    only a unit :func:`parse_unit` knows counts (``Z real`` keeps its name). A unit in
    brackets or after a slash that it does not know (``Z' (V)``, ``freq (s)``) stays in the
    name and is kept as ``unread_unit``: :func:`_check_units` refuses or names it."""
    text = unquoted_name(name).translate(_PRIMES)
    negated = text.startswith("-")
    if negated:
        text = text[1:].strip()
    unit, kind, scale, unread = None, None, 1.0, None
    m = _UNIT_RE.search(text)
    if m:
        candidate = next(g for g in m.groups() if g is not None).strip()
        c_kind, c_scale = parse_unit(candidate)
        if c_kind is not None:
            unit, kind, scale = candidate, c_kind, c_scale
            text = text[: m.start()].strip()
        elif candidate and candidate not in _PART_LABELS and candidate.lower() not in ("z", "y"):
            unread = candidate
    elif (s := _SUFFIX_UNIT_RE.search(text)) and text[: s.start()]:
        c_kind, c_scale = parse_unit(s.group(1).replace("_", ""))
        if c_kind is not None:
            unit, kind, scale = s.group(1), c_kind, c_scale
            text = text[: s.start()]
    elif (c := _COMMA_UNIT_RE.search(text) or _WORD_UNIT_RE.search(text)) and text[: c.start()].strip():
        c_kind, c_scale = parse_unit(c.group(1))  # 'f, Hz', "Z', kOhm", "Z' in kOhm", 'Frequency kHz'
        if c_kind is not None:
            unit, kind, scale = c.group(1).strip(), c_kind, c_scale
            text = text[: c.start()]
    key = " ".join(text.lower().split())
    if kind is None and key.startswith(_ANGULAR_NAMES):  # omega without a unit: rad/s, not Hz
        unit, kind, scale = "rad/s", "frequency", 1.0 / (2.0 * np.pi)
    return Header(name, key, negated, unit, kind, scale, unread)


def _admittance_role(k: str, unit_kind: str | None) -> str | None:
    """``y_real``/``y_imag`` for admittance columns: Y', Y'', Re(Y)... by name, and G, B
    (conductance, susceptance) or a real/imaginary part by an admittance unit (S, mS...)."""
    if k.startswith(('y"', "y''", "im(y)", "yim", "y im", "y_im", "y imag", "admittance imag")):
        return "y_imag"
    if k.startswith(("y'", "re(y)", "yre", "y re", "y_re", "y real", "admittance real")):
        return "y_real"
    if unit_kind == "admittance":
        if k in ("g", "gp", "conductance") or k.startswith(("real", "re ")):
            return "y_real"
        if k in ("b", "bp", "susceptance") or k.startswith(("imag", "im ")):
            return "y_imag"
    return None


def _lcr_meter_phase(names: Sequence[str], index: dict[str, int]) -> None:
    """An LCR meter's phase column (Hioki IM35xx: ``Z``, ``Rs``, ``PH``, ``Cp``; the phase of Z
    in degrees) into ``index``: a column named ``PH`` beside one named ``Z`` (upper case as the
    meter writes them; a ``pH`` column stays no phase)."""
    if "phase" in index or "modulus" not in index or names[index["modulus"]].strip() != "Z":
        return
    phase = next((i for i, n in enumerate(names) if n.strip() == "PH"), None)
    if phase is not None and phase not in index.values():
        index["phase"] = phase


@functools.lru_cache(maxsize=4096)  # a pure function of a column name: a campaign's files repeat theirs
def role_of(key: str, unit_kind: str | None = None) -> str | None:
    """Role of a column from its lower-case base name (prefix rules of domain_conventions §4)
    and, for the names an LCR meter gives (R and X, resistance and reactance), the kind of
    its unit (:func:`parse_unit`): those are Z' and Z'' only with an impedance unit. A
    column of a fit or a simulation, or of residuals or errors (``Z' calc``, ``Z'' fit``,
    ``Z' residual``), holds no data: no role."""
    k = _WORD_JOINER.sub(" ", key.rstrip(".: "))  # 'Z-Real', 'Re_Z', 'Z.im': the words apart
    k = " ".join(k.replace(",", " ").split())  # 'Impedance, real' (a quoted name holding a comma)
    if _NOT_DATA_WORDS.search(k) or _NORMALISED.search(k):
        return None
    for word in ("impedance ", "data "):  # 'Impedance Real [Ohms]'; 'Data Real', 'Data Imag' (Boukamp's Lin-KK)
        if k.startswith(word) and k[len(word):].startswith(("real", "imag", "re", "im")):
            k = k[len(word):]
    if k.startswith(("phase", "phz", "phi", "zphz", "\u03c6", "theta", "\u03b8", "z phase", "z_phase", "zphase",
                     "arg z", "arg(z)", "fase", "z fase")):  # Spanish, Italian, Portuguese 'fase' (Z_Fase)
        return "phase"
    if k in ("z", "|z|", "mod", "zmod", "abs(z)", "mod(z)", "mod z", "impedance", "|impedance|", "zabs",
             "z abs") or k.startswith(("|z|", "modulus", "magnitude", "mag", "zmod", "z_mod", "z mod", "zmag",
                                       "z mag", "impedance magnitude", "impedance modulus")):
        return "modulus"
    if unit_kind == "angle" and k.startswith(("angle", "ang")):  # 'Angle (deg)': a phase by its unit
        return "phase"
    if unit_kind in ("impedance", IMPEDANCE_PER_AREA) and k in ("r", "x", "resistance", "reactance", "rs", "xs"):
        return "real" if k in ("r", "resistance", "rs") else "imag"  # series R and X of an LCR meter
    admittance = _admittance_role(k, unit_kind)
    if admittance is not None:
        return admittance
    if k.startswith(('z"', "z''", 'zs"', "zs''", "z im", "z_im", "zim", "imaginary", "imag", "im(z)", "im z", "imz",
                     "im[z]", "z.im", "img(z)", "img z", "imgz", "img[z]", "z img")) or k in ("im", "img", "zi", "z_i"):
        return "imag"
    if k.startswith(("z'", "zs'", "z re", "z_re", "zre", "real", "re(z)", "re z", "rez", "re[z]", "z.re")) \
            or k in ("re", "zr", "z_r"):
        return "real"
    if (k.startswith(("frequency", "freq", "fr\u00e9q", "frec", "frequ\u00ea") + _ANGULAR_NAMES) or k == "f") \
            and not _COUNTER_WORDS.search(k):  # Frequenz, fréquence, frecuencia, frequência
        return "frequency"
    if unit_kind == "frequency" and k in ("w", "nu", "\u03bd"):  # 'w (rad/s)', 'nu (Hz)': a frequency by its unit
        return "frequency"
    if k.startswith(("cycle", "z cycle", "loop", "sweep", "scan")) and not _NOT_COUNTER_WORDS.search(k):
        return "sweep"
    return None


_WORD_JOINER = re.compile(r"(?<=[a-z'\"\u2032\u2033])[-_.](?=[a-z])")  # "Z'_fit" too: "z' fit"
_NOT_DATA_WORDS = re.compile(r"\b(?:calc|calculated|fit|fitted|sim|simulated|model|modelled|modeled|residuals?|"
                             r"resid|errors?|err|std|sd|sigma)\b")  # 'Z' calc', 'Z'' fit': the model's columns
_NORMALISED = re.compile(r"\bnorm|/\s*z0|%")  # "Z' norm", "Z'/Z0", "Z' (%)": no ohm to fit (Z0 unknown)
# 'Loop time (s)', 'Scan rate', 'Cycle duration': a quantity of the loop, no count of sweeps
_NOT_COUNTER_WORDS = re.compile(r"\b(?:time|rate|duration|speed|temperature)\b")
_COUNTER_WORDS = re.compile(r"\b(?:index|idx|number|no|num|nr|count|point|step)\b|#")  # 'Freq index': a counter


_DIELECTRIC_NAMES = (  # lower-case name prefixes of a dielectric analyser's other quantities
    (("eps", "\u03b5", "permittivity", "er'", "er''", 'er"'), "complex permittivity"),
    (("sig", "\u03c3", "conductivity"), "complex conductivity"),
    (("m'", "m''", 'm"', "electric modulus"), "electric modulus"),
    (("tan", "loss tangent"), "loss tangent"),
    (("c'", "c''", 'c"', "cp", "capacitance"), "capacitance"),
)


def _dielectric_quantity(headers: Sequence[Header]) -> str | None:
    """The quantity of a dielectric export (permittivity, conductivity, electric modulus,
    loss tangent, capacitance) that the columns name, or None: such tables are not impedance
    and must not be read as Z' and Z'' by position."""
    for prefixes, quantity in _DIELECTRIC_NAMES:
        if any(h.key.startswith(prefixes) for h in headers):
            return quantity
    return None


def _unit_decides(role: str, first: Header, other: Header) -> bool:
    """Whether ``other`` takes ``role`` from the ``first`` column named for it: a frequency
    column with a frequency unit over one without ('Frequency (Hz)' after 'Freq set')."""
    return role == "frequency" and first.kind != "frequency" and other.kind == "frequency"


@dataclass
class ColumnRoles:
    """Which column (0-based index) holds each role, with its header information."""

    index: dict[str, int]
    headers: list[Header]
    by_position: bool = False

    def header(self, role: str) -> Header:
        return self.headers[self.index[role]]

    def describe(self) -> dict[str, str]:
        """role -> original column name (or position), for ``meta['columns_detected']``."""
        return {r: (self.headers[i].name if not self.by_position else f"column {i + 1}")
                for r, i in self.index.items()}


def check_column_roles(columns: Mapping[str, Any] | None, path: Path | str | None) -> None:
    """ReadError naming ``path`` (None: no file) when a role of the ``columns`` option is not
    one of :data:`ROLES` (with "did you mean")."""
    for role in columns or {}:
        if role not in ROLES:
            raise ReadError(path, f"columns option: unknown role {role!r}{did_you_mean(str(role), ROLES)}; "
                                  f"roles are {', '.join(ROLES)}")


def _columns_option(columns: Mapping[str, int | str] | None, names: Sequence[str], n_columns: int,
                    path: Path | str | None) -> dict[str, int]:
    """role -> 0-based column of the ``columns`` option (indexes or header names), checked: a
    known role, an existing column, and no column given two roles (ReadError /
    MissingColumnError naming the problem)."""
    check_column_roles(columns, path)
    chosen: dict[str, int] = {}
    for role, where in (columns or {}).items():
        if isinstance(where, str):
            matches = [i for i, n in enumerate(names) if n.strip().lower() == where.strip().lower()]
            if not matches:
                raise MissingColumnError(path, f"columns option: no column named {where!r} (columns: {', '.join(names)})")
            column = matches[0]
        else:
            if not 0 <= int(where) < n_columns:
                raise MissingColumnError(path, f"columns option: column {where} out of range (table has {n_columns})")
            column = int(where)
        twin = next((r for r, c in chosen.items() if c == column), None)
        if twin is not None:
            raise ReadError(path, f"columns option: column {column} ({names[column].strip()!r}) is given as both "
                                  f"{twin!r} and {role!r}; a column holds one role")
        chosen[role] = column
    return chosen


def assign_roles(
    names: Sequence[str] | None,
    n_columns: int,
    path: Path | str | None,
    column_map: Mapping[str, str] | None = None,
    columns: Mapping[str, int | str] | None = None,
    values: np.ndarray | None = None,
) -> ColumnRoles:
    """Map columns to roles.

    ``column_map`` (a format's map, exact header name -> role) wins over the generic
    prefix rules; ``columns`` (user option, role -> 0-based index or header name) wins
    over both. Without a header, ``columns`` must name the roles (the content rules of
    :mod:`eisfit.io._identify` are applied by :func:`spectra_from_table` before).
    ``values`` (rows, columns): the table, to tell a table of other quantities (no column
    named as, or holding, frequencies or impedances: :class:`NoImpedanceDataError`) from a
    spectrum whose header names nothing (:class:`MissingColumnError`).
    """
    by_position = names is None
    if names is None:
        names = [f"column {k + 1}" for k in range(n_columns)]
    headers = [parse_header(n) for n in names]
    index: dict[str, int] = {}
    if not by_position:
        for i, h in enumerate(headers):
            role = role_of(h.key, h.kind)
            if column_map and names[i].strip() in column_map:
                role = column_map[names[i].strip()]
            if role and (role not in index or _unit_decides(role, headers[index[role]], h)):
                index[role] = i
        _lcr_meter_phase(names, index)
    chosen = _columns_option(columns, names, n_columns, path)
    # a role the header fills may not take a column the option gave to another role
    index = {role: i for role, i in index.items() if i not in chosen.values()}
    index.update(chosen)
    listing = ", ".join(repr(n) for n in names)
    if "frequency" not in index:
        if not columns and len([n for n in names if _OTHER_TECHNIQUE.search(n)]) >= 2:
            raise NoImpedanceDataError(path, f"no impedance data: the columns hold another technique's quantities "
                                             f"(columns: {listing}: time, potential, current...), no frequency")
        if not (columns or by_position or index.keys() & IMPEDANCE_ROLES) and values is not None and \
                not has_frequency_column(values):
            # a table of other quantities (a results table: hours, R1, R2...) beside the spectra
            raise NoImpedanceDataError(path, f"no impedance data: no column names a frequency or an impedance "
                                             f"quantity, nor holds frequencies (columns: {listing}); if it holds "
                                             "a spectrum, name the columns with --columns frequency=0,real=1,imag=2 "
                                             "(columns= in Python)")
        raise MissingColumnError(path, f"no frequency column (columns: {listing}); name the columns with "
                                       "--columns frequency=0,real=1,imag=2 (columns= in Python)")
    if not ({"real", "imag"} <= index.keys() or {"modulus", "phase"} <= index.keys()
            or {"y_real", "y_imag"} <= index.keys()):
        model = [h.name for h in headers if _NOT_DATA_WORDS.search(h.key)
                 and role_of(_NOT_DATA_WORDS.sub(" ", h.key).strip(), h.kind) in ("real", "imag", "modulus", "phase")]
        if model and not columns:
            raise MissingColumnError(
                path, f"no measured impedance columns: {', '.join(repr(m) for m in model)} hold a fit's, a "
                      f"simulation's, residuals or errors (columns: {listing}); to read them as data, name them "
                      "with --columns frequency=0,real=1,imag=2 (columns= in Python)")
        quantity = None if columns else _dielectric_quantity(headers)
        if quantity is not None:
            raise MissingColumnError(
                path, f"the columns hold the {quantity} (columns: {listing}), not the impedance: eisfit fits "
                      "Z in ohm. Export Z' and Z'' (ohm) from the analyser, or convert with the cell geometry "
                      "(Z = 1/(j 2 pi f C0 eps*) with C0 = eps0 A/L; Z = L/(A sigma*))")
        raise MissingColumnError(
            path, f"no impedance columns: need Z' and Z'' or |Z| and phase (or the admittance Y', Y'') "
                  f"(columns: {listing}); {_missing_columns_advice(names, index)}")
    return ColumnRoles(index, headers, by_position)


def _missing_columns_advice(names: Sequence[str], index: Mapping[str, int]) -> str:
    """What to do about a table without impedance columns: name them with ``--columns``,
    unless the table cannot hold a spectrum (a frequency and |Z| alone: ``--columns
    frequency=0,real=1,imag=2`` had been advised for a 2-column table, and then failed as
    'column 2 out of range')."""
    if "modulus" in index and "phase" not in index:
        return (f"{names[index['modulus']]!r} holds |Z| but no column holds the phase: |Z| alone is no spectrum "
                "(export the phase, or Z' and Z'', from the analyser)")
    if len(names) < 3:
        return (f"the table has {len(names)} columns: a spectrum needs the frequency and two impedance columns "
                "(Z' and Z'', or |Z| and phase)")
    return "name the columns with --columns frequency=0,real=1,imag=2 (columns= in Python)"


# ---------------------------------------------------------------------------
# 5. spectra
# ---------------------------------------------------------------------------
@dataclass
class TableFormat:
    """What a format module knows about its tables.

    ``imag_sign``: convention of the file's Z'' column ("negative": capacitive values
    stored negative; "positive": -Z'' stored; None: detect from header and data).
    ``column_map``: exact header name -> role.
    ``own_columns``: names of columns that are the format's own structure, not data (an
    eisfit export's ``sweep``: it becomes ``meta["sweep"]``), never kept as extra columns.
    """

    name: str = NAME
    imag_sign: str | None = None
    column_map: Mapping[str, str] = field(default_factory=dict)
    technique: str = "EIS"
    own_columns: frozenset[str] = frozenset()


def _phase_radians(phase: np.ndarray, header: Header, path: Path | str) -> np.ndarray:
    """A phase column in radians. Degrees unless its unit says rad; a column without a unit
    whose values all lie within +-pi/2, at least one beyond 0.05, holds radians (as
    ``numpy.angle`` writes them; read as degrees, it would be a spectrum whose phase never
    passes 1.6 deg: a resistor, no arc), read so with a ReadWarning."""
    values = phase[np.isfinite(phase)]
    largest = float(np.max(np.abs(values))) if values.size else 0.0
    if header.kind is None and 0.05 < largest <= np.pi / 2 + 1e-9:
        warn(f"{Path(str(path)).name}: the phase column {header.name.strip()!r} has no unit and every value "
             f"lies within +-pi/2 (largest {largest:.3g}): read as radians; name its unit ('Phase (deg)') "
             "if it holds degrees")
        return phase
    radians = np.radians(phase)  # the column's unit scale (rad -> deg) is applied already
    beyond = np.abs(radians[np.isfinite(radians)]) > np.pi * (1 + 1e-9)
    if beyond.any():  # an impedance's phase lies within +-180 deg (+-90 for a passive cell)
        raise CorruptFileError(path, f"the phase column {header.name.strip()!r} has {int(beyond.sum())} value(s) "
                                     f"beyond +-180 deg (largest {np.degrees(np.max(np.abs(radians))):.4g} deg): "
                                     "not a phase angle of Z")
    return radians


def _column_values(rows: Rows, roles: ColumnRoles, role: str) -> np.ndarray:
    h = roles.header(role)
    v = rows.values[:, roles.index[role]] * h.scale
    if h.kind == DECIBEL:  # 20 log10(|Z| / 1 ohm)
        v = 10.0 ** (v / 20.0)
    return -v if h.negated else v


IMPEDANCE_ROLES = frozenset(ROLES) - {"frequency", "sweep"}  # the roles of impedance (or admittance) columns
# column names of a cycling, voltammetry or chronoamperometry table (time/s, Ewe/V, I/mA, Q charge...)
_OTHER_TECHNIQUE = re.compile(r"^\s*(time|t|ewe|ece|e|u|v|voltage|potential|i|current|q|charge|capacity|"
                              r"dq|energy|power)\b(\s*[/(\[]|\s*$)", re.IGNORECASE)


_READ_AS = {"frequency": "Hz", "impedance": "ohm", "angle": "degrees (radians where every value lies within "
             "+-pi/2)", "admittance": "S"}  # what a column of each kind is read in without a known unit


def _check_units(roles: ColumnRoles, path: Path | str) -> None:
    """MissingColumnError when a role column carries a unit of another kind (Hz for Z, V or s
    for Z', s for a frequency: a period); a ReadWarning naming the column when its unit is
    none eisfit knows ('Z' (foo)'): it is read in the kind's base unit (ohm, Hz...)."""
    expected = {"frequency": "frequency", "real": "impedance", "imag": "impedance",
                "modulus": "impedance", "phase": "angle", "y_real": "admittance", "y_imag": "admittance"}
    for role, kind in expected.items():
        if role in roles.index:
            h = roles.header(role)
            if h.kind is None and h.unread_unit is not None:
                _check_unread_unit(h, role, kind, path)
            if h.kind == LOGARITHM:
                raise MissingColumnError(
                    path, f"column {h.name!r} (taken as {role}) holds logarithms (unit {h.unit!r}); eisfit reads "
                          "linear values: write 10**value (Hz, ohm) or export the column linear")
            if h.kind == UNREADABLE_OHM:
                raise MissingColumnError(
                    path, f"column {h.name!r} (taken as {role}): unit {h.unit!r} is not one eisfit converts; "
                          "impedance is read in ohm (kOhm, mOhm...) or per area in ohm*cm2 (R x A: 'Ohm cm2')"
                          + _times_length_hint(h.unit))
            if h.kind not in (None, kind) and not (kind == "impedance" and h.kind == IMPEDANCE_PER_AREA) \
                    and not (role == "modulus" and h.kind == DECIBEL):
                raise MissingColumnError(
                    path, f"column {h.name!r} was taken as {role} but its unit {h.unit!r} is not "
                    f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} unit; pass columns={{...}} to assign columns")


def _check_unread_unit(h: Header, role: str, kind: str, path: Path | str) -> None:
    """A role column whose unit :func:`parse_unit` does not know: refused (MissingColumnError)
    when the unit is one of another quantity (:func:`other_quantity`: 'V', 'mA', 's'; a
    frequency in s is a period), else read in the kind's base unit with a ReadWarning."""
    quantity = other_quantity(h.unread_unit)
    name = h.name.strip()
    if quantity is not None:
        period = " (a period, not a frequency: f = 1/T)" if role == "frequency" and quantity == "a time" else ""
        base = _READ_AS[kind].split(" (")[0]
        raise MissingColumnError(
            path, f"column {name!r} was taken as {role} but its unit {h.unread_unit!r} is that of {quantity}"
                  f"{period}, not {'an' if kind[0] in 'aeiou' else 'a'} {kind} unit: convert the column to {base} "
                  "(or correct the unit in its header)")
    warn(f"{Path(str(path)).name}: column {name!r} (taken as {role}): unit {h.unread_unit!r} is not one eisfit "
         f"knows; read in {_READ_AS[kind]}")


def _apply_imag_sign(
    z_imag: np.ndarray, roles: ColumnRoles, fmt: TableFormat, option: str | None, path: Path | str,
    frequency: np.ndarray, z_real: np.ndarray, keep: np.ndarray,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Z'' with capacitive values negative, and what was decided (for meta).

    Order: the ``imag_sign`` option, a minus sign in the header, the format's convention,
    else the data (:func:`eisfit._sign.capacitive_sign`: low-frequency end and arc
    shape, never a majority vote)."""
    imag_role = "imag" if "imag" in roles.index else "phase"
    negated = roles.header(imag_role).negated
    check_imag_sign(option, path)
    if option in ("negative", "positive"):
        raw = -z_imag if negated else z_imag  # undo the header sign: the option describes the column
        if negated and option == "negative":
            warn(f"imag_sign='negative' overrides the minus sign of column "
                 f"{roles.header(imag_role).name!r}")
        return (raw if option == "negative" else -raw), {"imag_sign": option, "imag_sign_source": "option"}
    if negated or (fmt.imag_sign is not None and option is None):  # the header's minus, or the format's convention
        z_imag = z_imag if negated or fmt.imag_sign == "negative" else -z_imag
        source = "header" if negated else "format"
        meta = {"imag_sign": "positive" if negated else fmt.imag_sign, "imag_sign_source": source}
        sign, rule = _data_sign(frequency, z_real, z_imag, keep)
        if sign > 0:  # read as the header or format says, the arcs lie above the real axis
            what = f"column {roles.header(imag_role).name!r} has a minus sign" if negated else \
                f"the {fmt.name} convention gives the column as {'Z' if fmt.imag_sign == 'negative' else '-Z'}''"
            warn(f"{Path(str(path)).name}: {what}, but the data read so are inductive where a cell is capacitive "
                 f"({rule}): the label may be wrong; read as labelled (pass imag_sign='negative', on the command line "
                 f"--imag-sign negative, if the column holds Z'' with capacitive values negative, 'positive' "
                 f"if it holds -Z'')")
            meta["imag_sign_contradicted_by_data"] = rule
        return z_imag, meta
    sign, rule = _data_sign(frequency, z_real, z_imag, keep)
    if sign > 0:
        label = "the table has no header" if roles.by_position else "the header has no minus sign"
        warn(f"{Path(str(path)).name}: the imaginary column holds -Z'' ({rule}); {label}: "
             "flipping it (pass imag_sign='negative', on the command line --imag-sign negative, to keep it)")
        return -z_imag, {"imag_sign": "positive", "imag_sign_source": "data", "imag_sign_detected": True,
                         "imag_sign_rule": rule}
    if sign == 0:
        warn(f"{Path(str(path)).name}: the sign convention of the imaginary column could not be decided from the data "
             f"({rule}); reading it as Z'' (capacitive negative); pass imag_sign='negative' or "
             "'positive' (--imag-sign on the command line) to say")
        return z_imag, {"imag_sign": "negative", "imag_sign_source": "undecided", "imag_sign_detected": False,
                        "imag_sign_rule": rule}
    return z_imag, {"imag_sign": "negative", "imag_sign_source": "data", "imag_sign_detected": False,
                    "imag_sign_rule": rule}


def _admittance_sign(z_imag: np.ndarray, option: str | None, path: Path | str, frequency: np.ndarray,
                     z_real: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Z'' of admittance columns (Z = 1/Y, Y'' > 0 capacitive; a header minus sign already
    applied), and what was decided: ``imag_sign='negative'`` keeps that convention,
    ``'positive'`` flips it; by default the data check it (low-frequency end and arc shape)
    and a contradiction flips it with a warning."""
    check_imag_sign(option, path)
    meta: dict[str, Any] = {"impedance_from": "admittance", "imag_sign_source": "option" if option in (
        "negative", "positive") else "admittance convention"}
    if option in ("negative", "positive"):
        return (z_imag if option == "negative" else -z_imag), meta
    sign, rule = _data_sign(frequency, z_real, z_imag, keep)
    if sign > 0:
        warn(f"{Path(str(path)).name}: the admittance's imaginary column holds -Y'' ({rule}, read as Y'' > 0 "
             f"capacitive): flipping it (pass imag_sign='negative' to keep it)")
        return -z_imag, {**meta, "imag_sign_source": "data", "imag_sign_rule": rule}
    return z_imag, meta


def _data_sign(frequency: np.ndarray, z_real: np.ndarray, z_imag: np.ndarray, keep: np.ndarray) -> tuple[int, str]:
    """:func:`eisfit._sign.capacitive_sign` of the kept rows (no copies when every row is kept)."""
    if keep.all():
        return capacitive_sign(frequency, z_real, z_imag)
    return capacitive_sign(frequency[keep], z_real[keep], z_imag[keep])


def _check_modulus(z: np.ndarray, modulus: np.ndarray, path: Path | str) -> None:
    """Warn when |Z|^2 differs from Z'^2 + Z''^2 by more than 1 %."""
    m2 = modulus ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(np.abs(z) ** 2 - m2) / np.where(m2 > 0, m2, np.nan)
    bad = int(np.sum(rel > 0.01))
    if bad:
        warn(f"{Path(str(path)).name}: |Z|^2 differs from Z'^2+Z''^2 by more than 1 % at "
             f"{bad} of {z.size} points (check the column assignment)")


POLAR_PART_RTOL = 0.01  # |Z| cos(phase) agrees with a Z' column (|Z| sin(phase) with Z'') within 1 % of |Z|


def _check_polar_against_part(re_part: np.ndarray, im_part: np.ndarray, modulus: np.ndarray, rows: Rows,
                              roles: ColumnRoles, path: Path | str) -> None:
    """MissingColumnError when Z is read from |Z| and phase while the table also has a Z'
    (or Z'') column, and they disagree at most points (beyond ``POLAR_PART_RTOL`` of |Z|,
    either sign of Z''): a column named for one role read as another (Z' then came out
    negative, without a word)."""
    for role, part in (("real", re_part), ("imag", im_part)):
        if role not in roles.index:
            continue
        given = _column_values(rows, roles, role)
        scale = np.where(np.abs(modulus) > 0, np.abs(modulus), np.nan)
        with np.errstate(invalid="ignore"):
            off = np.minimum(np.abs(given - part), np.abs(given + part) if role == "imag" else np.inf) / scale
        finite = np.isfinite(off)
        if finite.any() and np.mean(off[finite] > POLAR_PART_RTOL) > 0.5:
            names = ", ".join(repr(roles.header(r).name) for r in ("modulus", "phase", role))
            part_name = "Z'" if role == "real" else "Z''"
            bad = int(np.sum(off[finite] > POLAR_PART_RTOL))
            raise MissingColumnError(path, f"the columns read as |Z|, phase and {part_name} ({names}) disagree at "
                                           f"{bad} of {int(finite.sum())} points: a column named for another role? "
                                           "Name the columns with --columns frequency=0,real=1,imag=2 (columns= in "
                                           "Python)")


PHASE_SIGN_MIN_SHARE = 0.02  # a point whose Z'' and sin(phase) both exceed 2 % of |Z|: a sign either column states


def _warn_phase_sign_contradiction(f: np.ndarray, z: np.ndarray, rows: Rows, roles: ColumnRoles, keep: np.ndarray,
                                   path: Path | str) -> None:
    """A ReadWarning where Z'' as read (its sign decided for the whole column) has the sign
    opposite to the one the file's own phase column gives at some points but not at most
    (at most, the phase column is written in the other convention, -phase: nothing to
    say): a table whose ``Imag`` (-Z'') column reads capacitive at the 10 highest
    frequencies where its ``Phase(Z)/deg`` and ``Im(Y)`` read inductive (7 MHz: Imag 7.32,
    phase +8.66 deg) had been read without a word. Only a phase column with an angle unit
    is read (a bare one may be anything)."""
    header = roles.header("phase")
    if header.kind != "angle":
        return
    phase_deg = _column_values(rows, roles, "phase")[keep]
    modulus = np.abs(z)
    with np.errstate(invalid="ignore"):
        stated = (np.abs(z.imag) > PHASE_SIGN_MIN_SHARE * modulus) & (
            np.abs(np.sin(np.radians(phase_deg))) > PHASE_SIGN_MIN_SHARE)
        against = stated & (np.sign(z.imag) != np.sign(np.sin(np.radians(phase_deg))))
    n_against, n_stated = int(against.sum()), int(stated.sum())
    if n_against == 0 or n_against > n_stated / 2:
        return
    at = f[against]
    warn(f"{Path(str(path)).name}: at {n_against} of {n_stated} points ({at.min():.4g}-{at.max():.4g} Hz) the "
         f"sign of Z'' read from {roles.header('imag').name.strip()!r} contradicts the phase column "
         f"{header.name.strip()!r} (Z'' {'capacitive' if z.imag[against][0] < 0 else 'inductive'} where the phase "
         "says the opposite): read as the Z'' column gives; the file contradicts itself there (check those points, "
         "or exclude them: --exclude-hz)")


def _separator_mask(f: np.ndarray, z_parts: Sequence[np.ndarray]) -> np.ndarray:
    """Rows whose frequency and impedance values are all zero (sweep separators)."""
    sep = f == 0
    for part in z_parts:
        sep &= part == 0
    return sep


UNORDERED_MIN_PARTS = 4  # a block that splits into this many pieces or more, ...
UNORDERED_MEDIAN_POINTS = 2  # ... most of at most 2 points, is in no sweep order (shuffled rows)


def _sweeps(f: np.ndarray, counter: np.ndarray | None, blocks: Sequence[np.ndarray],
            path: Path | str | None = None) -> list[np.ndarray]:
    """Index arrays of sweeps: inside each block, by counter if present (a run of the
    counter joined to the one before where the frequency carries straight on: a counter
    reset in the middle of a sweep splits nothing, :func:`merge_continued_sweeps`), else at
    frequency resets. A block whose frequencies change direction at almost every row (sorted by
    another column, shuffled) holds no sweeps of 2 points each: it is one sweep, with a
    warning (it gave one error per "sweep" before)."""
    out = []
    for block in blocks:
        if counter is not None and np.unique(counter[block]).size > 1:
            parts = merge_continued_sweeps(f[block], split_by_counter(counter[block]))
        else:  # no counter, or one that holds one value (a cycle column of 0 over every sweep)
            parts = sweeps_at_frequency_resets(f[block], path)
            sizes = [p.size for p in parts]
            if len(parts) >= UNORDERED_MIN_PARTS and np.median(sizes) <= UNORDERED_MEDIAN_POINTS:
                warn(f"{Path(str(path)).name}: the frequencies of {block.size} rows are in no sweep order "
                     f"({len(parts) - 1} changes of direction): read as one sweep; a table of several sweeps "
                     "needs a sweep or cycle column")
                parts = [np.arange(block.size)]
        out.extend(block[p] for p in parts if p.size)
    return out


def spectra_from_table(
    path: Path | str,
    names: Sequence[str] | None,
    rows: Rows,
    fmt: TableFormat,
    meta: Mapping[str, Any] | None = None,
    imag_sign: str | None = None,
    columns: Mapping[str, int | str] | None = None,
) -> list[Spectrum]:
    """Spectra from a parsed table: roles, units, sign, checks, sweeps, meta."""
    n_cols = rows.values.shape[1]
    rule = alternative = None
    if names is None and not columns:
        complete = ~np.isnan(rows.values).any(axis=1)  # the columns told by content from rows with every value
        index, rule = identify_columns(rows.values[complete] if complete.any() else rows.values, path)
        if (meta or {}).get("text_columns"):
            rule += (f"; columns counted without {', '.join(meta['text_columns'])} (text, set aside: no number "
                     "in any row)")
        alternative = modulus_phase_alternative(rows.values[complete] if complete.any() else rows.values, index)
        if alternative:
            reading, option = alternative.split("; ")
            rule += (f"; the same values could be {reading} (a fit checks that reading against the Lin-KK test; "
                     f"{option} reads it)")
        roles = ColumnRoles(index, [parse_header(f"column {k + 1}") for k in range(n_cols)], True)
    else:
        try:
            roles = assign_roles(names, n_cols, path, fmt.column_map, columns, rows.values)
        except MissingColumnError as exc:
            text_columns = (meta or {}).get("text_columns")
            if not text_columns:
                raise
            raise MissingColumnError(path, f"{exc.reason}; set aside as text (no number in any row): "
                                           f"{', '.join(map(repr, text_columns))}") from None
    _check_units(roles, path)
    rows = _complete_rows(rows, roles, path)
    per_area_meta = _per_area_meta(roles, path)
    f = _column_values(rows, roles, "frequency")
    has_re_im = {"real", "imag"} <= roles.index.keys()
    has_y = not (has_re_im or {"modulus", "phase"} <= roles.index.keys()) and {"y_real", "y_imag"} <= roles.index.keys()
    if has_re_im:
        re_part = _column_values(rows, roles, "real")
        im_part = _column_values(rows, roles, "imag")
        parts = [rows.values[:, roles.index["real"]], rows.values[:, roles.index["imag"]]]
    elif has_y:  # Z = 1 / (G + jB), B > 0 capacitive
        with np.errstate(divide="ignore", invalid="ignore"):  # all-zero separator rows are dropped below
            z_of_y = 1.0 / (_column_values(rows, roles, "y_real") + 1j * _column_values(rows, roles, "y_imag"))
        re_part, im_part = z_of_y.real, z_of_y.imag
        parts = [rows.values[:, roles.index["y_real"]], rows.values[:, roles.index["y_imag"]]]
    else:
        mod = _column_values(rows, roles, "modulus")
        phase = _phase_radians(_column_values(rows, roles, "phase"), roles.header("phase"), path)
        re_part, im_part = mod * np.cos(phase), mod * np.sin(phase)
        parts = [rows.values[:, roles.index["modulus"]]]
        _check_polar_against_part(re_part, im_part, mod, rows, roles, path)
    _refuse_frequency_copies(rows, roles, f, path)
    sep = _separator_mask(f, parts)
    keep = ~sep
    bad_f = keep & ~(f > 0)
    if bad_f.any():
        lines = rows.line_numbers[bad_f]
        shown = ", ".join(str(n) for n in lines[:5]) + (" ..." if lines.size > 5 else "")
        raise CorruptFileError(path, f"frequency <= 0 Hz at {lines.size} row(s) (line {shown})")
    if has_y:
        im_part, sign_meta = _admittance_sign(im_part, imag_sign, path, f, re_part, keep)
    else:
        im_part, sign_meta = _apply_imag_sign(im_part, roles, fmt, imag_sign, path, f, re_part, keep)
    z = np.empty(f.size, dtype=complex)  # filled in place: no complex temporaries
    z.real, z.imag = re_part, im_part
    if has_re_im and "modulus" in roles.index:
        _check_modulus(z[keep], _column_values(rows, roles, "modulus")[keep], path)
    if has_re_im and "phase" in roles.index:
        _warn_phase_sign_contradiction(f[keep], z[keep], rows, roles, keep, path)
    blocks = _blocks(rows, sep)
    counter = rows.values[:, roles.index["sweep"]] if "sweep" in roles.index else None
    sweeps = _sweeps(f, counter, blocks, path)
    z_from = ("y_real", "y_imag") if has_y else ("real", "imag", "modulus", "phase")
    extra = _extra_columns(rows, roles, z_from, fmt.own_columns)
    full_meta = {
        "format": fmt.name,
        "technique": fmt.technique,
        "columns_detected": roles.describe(),
        **({"columns_rule": rule} if rule else {}),
        **({"columns_alternative": alternative} if alternative else {}),
        **sign_meta,
        **per_area_meta,
        **dict(meta or {}),
    }
    return build_spectra(path, f, z, full_meta, sweeps, columns=extra)


SPECTRUM_ROLES = ("frequency", "real", "imag", "modulus", "phase", "y_real", "y_imag", "sweep")


def _refuse_frequency_copies(rows: Rows, roles: ColumnRoles, f: np.ndarray, path: Path | str | None) -> None:
    """CorruptFileError where a column taken as an impedance or admittance part holds the
    frequencies themselves in every row (an AD5933 logger's CSV wrote ``freq`` into its
    ``imaginary`` column beside raw counts: read as Z'' = +f ohm, with only a sign warning)."""
    words = {"real": "Z'", "imag": "Z''", "modulus": "|Z|", "y_real": "Y'", "y_imag": "Y''"}
    for role, what in words.items():
        column = rows.values[:, roles.index[role]] if role in roles.index else None
        if column is not None and column[0] == f[0] and np.array_equal(column, f) and np.unique(f).size >= 3:
            raise CorruptFileError(
                path, f"the column {roles.header(role).name!r}, read as {what}, holds the frequencies of "
                      f"{roles.header('frequency').name!r} in every row: no impedance in it (name the columns with "
                      "--columns, columns= in Python, if another one holds it)")


def _complete_rows(rows: Rows, roles: ColumnRoles, path: Path | str | None) -> Rows:
    """``rows`` without those that have no value (an empty cell, read as NaN) in a column
    the spectrum is read from (frequency, impedance or admittance, sweep counter), named in
    one ReadWarning: a point a spreadsheet row left unmeasured (a sweep's last row holding
    its index alone), a cell a user emptied. Empty cells of other columns stay NaN there.
    CorruptFileError when no row is left."""
    if math.isfinite(rows.values.sum()):  # no empty cell at all (a NaN would carry through the sum): most tables
        return rows
    used = [roles.index[r] for r in SPECTRUM_ROLES if r in roles.index]
    missing = np.isnan(rows.values[:, used]).any(axis=1)
    if not missing.any():
        return rows
    lines = rows.line_numbers[missing]
    name = Path(str(path)).name if path is not None else "table"
    columns = [roles.headers[i].name or f"column {i + 1}" for i in used if np.isnan(rows.values[missing, i]).any()]
    if missing.all():
        raise CorruptFileError(path, f"no row has a value in every column the spectrum needs "
                                     f"({', '.join(map(repr, columns))})")
    shown = ", ".join(str(n) for n in lines[:5]) + (" ..." if lines.size > 5 else "")
    warn(f"{name}: {lines.size} row(s) without a value in {', '.join(map(repr, columns))} left out "
         f"(line {shown})")
    kept = np.flatnonzero(~missing)
    starts = sorted({int(np.searchsorted(kept, b)) for b in rows.block_starts if np.searchsorted(kept, b) < kept.size})
    return Rows(rows.values[kept], rows.line_numbers[kept], starts or [0])


def _per_area_meta(roles: ColumnRoles, path: Path | str) -> dict[str, str]:
    """``{"impedance_unit": "ohm*cm2"}`` (and a ReadWarning) when the impedance columns give
    the impedance per area, {} when they give ohm; MissingColumnError when they disagree."""
    used = [r for r in ("real", "imag", "modulus") if r in roles.index]
    per_area = [roles.header(r).kind == IMPEDANCE_PER_AREA for r in used]
    if not any(per_area):
        return {}
    if not all(per_area):
        names = ", ".join(repr(roles.header(r).name) for r in used)
        raise MissingColumnError(path, f"the impedance columns mix ohm and ohm*cm2 ({names}): give them in one unit")
    names = " and ".join(repr(roles.header(r).name) for r in used)
    warn(f"{Path(str(path)).name}: the impedance is given per area ({names}): read in ohm*cm2 "
         "(meta['impedance_unit']); a fit divides it by the electrode area it is given (area_cm2, --area-cm2 "
         "on the command line) and refuses it without one")
    return {"impedance_unit": AREA_SPECIFIC_UNIT}


def _blocks(rows: Rows, sep: np.ndarray) -> list[np.ndarray]:
    """Index arrays of row blocks between separators (repeated headers, all-zero rows)."""
    n = sep.size
    cut = np.zeros(n + 1, dtype=bool)
    cut[rows.block_starts] = True
    cut[:n] |= sep
    cut[1:] |= sep  # a separator also ends the block before it
    bounds = np.flatnonzero(cut[:n])
    edges = np.concatenate([[0], bounds, [n]])
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        idx = np.arange(a, b)
        idx = idx[~sep[idx]]
        if idx.size:
            out.append(idx)
    return out


def _extra_columns(rows: Rows, roles: ColumnRoles, z_from: Sequence[str],
                   own_columns: frozenset[str] = frozenset()) -> dict[str, np.ndarray]:
    """Columns kept per point: every column not folded into f and Z, plus the sweep counter.

    ``z_from``: the roles Z was read from (Z', Z'' and |Z|, phase, which restate it; or the
    admittance Y', Y''); a column of another role is kept: the admittance beside Z' and Z''
    (a BioLogic export's ``Re(Y)/Ohm-1``), so that a CSV export reads back with it.
    ``own_columns``: names of the format's own structure (:class:`TableFormat`), not kept.
    A headerless table's counter is named ``cycle`` (so that it becomes ``meta["cycle"]``),
    its other columns ``column k``."""
    folded = {i for role, i in roles.index.items() if role == "frequency" or role in z_from}
    out = {}
    for i, h in enumerate(roles.headers):
        if i in folded or h.name.strip() in own_columns:
            continue
        name = "cycle" if roles.by_position and roles.index.get("sweep") == i else h.name
        out[name] = rows.values[:, i]
    return out


def read_table_lines(
    path: Path | str,
    lines: Sequence[str],
    fmt: TableFormat,
    meta: Mapping[str, Any] | None = None,
    *,
    names: Sequence[str] | None = None,
    header: bool | None = None,
    delimiter: str | None | bool = False,
    decimal: str | None = None,
    imag_sign: str | None = None,
    columns: Mapping[str, int | str] | None = None,
    first_line_number: int = 1,
    last_line_complete: bool = True,
) -> list[Spectrum]:
    """Locate, parse and interpret a table in ``lines`` (the engine of every text reader).

    ``names``: column names when the table has no header line (format knowledge);
    ``header=False`` forces "no header line", True requires one.
    ``last_line_complete=False``: the text did not end with a line end (see :func:`parse_rows`).
    A header that repeats the frequency column with its impedance columns (spectra side by
    side, :func:`column_groups`) is read as one table per column group.
    """
    def one(table_lines: list[str], group_meta: dict[str, Any]) -> list[Spectrum]:
        return _read_one_table(path, table_lines, fmt, {**dict(meta or {}), **group_meta}, names=names,
                               header=header, delimiter=delimiter, decimal=decimal, imag_sign=imag_sign,
                               columns=columns, first_line_number=first_line_number,
                               last_line_complete=last_line_complete)

    return spectra_by_column_group(lines, delimiter, one, split=names is None and header is not False and not columns,
                                   name=Path(str(path)).name)


def _read_one_table(path: Path | str, lines: Sequence[str], fmt: TableFormat, meta: Mapping[str, Any], *,
                    names: Sequence[str] | None, header: bool | None, delimiter: str | None | bool,
                    decimal: str | None, imag_sign: str | None, columns: Mapping[str, int | str] | None,
                    first_line_number: int, last_line_complete: bool) -> list[Spectrum]:
    layout = locate_table(lines, path, delimiter, decimal)
    if layout.left_out:
        shown = ", ".join(str(first_line_number + i) for i in layout.left_out[:5])
        warn(f"{Path(str(path)).name}: line(s) {shown} between the header and the table hold fewer values than "
             f"its {layout.n_columns} columns: left out")
    header_line = None
    if names is None and header is not False and layout.header_index is not None:
        header_line = lines[layout.header_index]
        names = header_names(header_line, layout, lines[layout.data_start:layout.data_start + 3])
        if names is None:
            names = _names_of_unsplit_header(path, header_line, layout, columns)
        else:
            names = _names_above_unit_row(lines, layout, names) or names
    elif header is True and names is None:
        raise MissingColumnError(path, "header=True but no header line found above the data")
    if names is not None and len(names) != layout.n_columns:
        names = list(names)[: layout.n_columns] + [
            f"column {k + 1}" for k in range(len(names), layout.n_columns)]
    rows = parse_rows(lines, layout, path, names or [], first_line_number=first_line_number,
                      header_line=header_line, last_line_complete=last_line_complete)
    point = first_decimal_point(lines, layout, first_line_number)
    if point is not None:
        warn(f"{Path(str(path)).name}: decimal commas and decimal points in one table (line {point[0]}: "
             f"{point[1]!r}): both read as decimal marks, '.' never as a thousands separator")
    layout_meta = {"delimiter": layout.delimiter_name, "decimal": layout.decimal,
                   "header_line": None if header_line is None else layout.header_index + first_line_number}
    return spectra_from_table(path, names, rows, fmt, {**layout_meta, **dict(meta or {})},
                              imag_sign=imag_sign, columns=columns)


def _names_of_unsplit_header(path: Path | str, line: str, layout: TableLayout,
                             columns: Mapping[str, int | str] | None) -> list[str]:
    """The column names when the header line gives another number of names than the table
    has columns and spaces separate both (:func:`_fitted_header_names` gives None): numbered,
    when ``columns`` places the roles by position; else a MissingColumnError (eisfit does
    not guess which name, and which unit, belongs to which column)."""
    if columns and all(not isinstance(where, str) for where in columns.values()):
        return [f"column {k + 1}" for k in range(layout.n_columns)]
    given = len(_COMMENT_MARK.sub("", line.strip()).split())
    raise MissingColumnError(
        path, f"the header {line.strip()[:80]!r} does not split into one name per column: {layout.n_columns} "
              f"columns of values separated by spaces, {given} words in the header (names with spaces in "
              "them?); name the columns with --columns frequency=0,real=1,imag=2 (columns= in Python; "
              "0-based positions), or separate the header's names by tabs or commas")


# ---------------------------------------------------------------------------
# side-by-side tables: several spectra next to each other, one column group each
# ---------------------------------------------------------------------------
COLUMN_GROUP_SEARCH_LINES = 50  # lines searched for a header that repeats the frequency column


def column_groups(lines: Sequence[str], delimiter: str | None | bool = False, name: str = "table"
                  ) -> list[tuple[list[str], dict[str, Any]]] | None:
    """The column groups of a table holding several spectra side by side (checkpoints
    pasted next to each other: ``freq, Z', Z'', freq, Z', Z'', ...``), else None.

    The header (within the first ``COLUMN_GROUP_SEARCH_LINES`` lines, tab-, semicolon- or
    comma-delimited) names a frequency column more than once, and every group of columns
    from one frequency column to the last named column before the next holds Z' and Z''
    (or |Z| and phase); columns before the first frequency column belong to no group.
    Returns, per group, the lines as a table of that group alone (same line numbers: the
    lines above the header blank, a row whose cells of the group are all empty blank, so
    groups of different lengths end where their data end) and its meta: ``column_group``
    (1-based), ``column_group_columns`` (its first and last column, 1-based) and
    ``column_group_title``, the text above its first columns on the line before the
    header (e.g. ``500 h``), where there is one."""
    options = ("\t", ";", ",") if delimiter is False else tuple(d for d in ("\t", ";", ",") if d == delimiter)
    for at, line in enumerate(lines[:COLUMN_GROUP_SEARCH_LINES]):
        for delim in options:
            if line.count(delim) < 5:  # two groups of three columns or more
                continue
            if not (names_a_frequency(line) or _BARE_F.search(line)):  # a row of numbers, notes
                break
            spans = _group_spans([f.strip().strip('"') for f in delimited_cells(line, delim)])
            if spans is None:
                continue
            above = delimited_cells(lines[at - 1], delim) if at else []
            groups = []
            for g, (a, b) in enumerate(spans):
                meta: dict[str, Any] = {"column_group": g + 1, "column_group_columns": f"{a + 1}-{b}"}
                title = " ".join(t.strip().strip('"') for t in above[a:b] if t.strip().strip('"'))
                if title and not is_number(title, "."):
                    meta["column_group_title"] = title
                groups.append(([_group_line(ln, delim, a, b) if k >= at else "" for k, ln in enumerate(lines)], meta))
            return _without_model_groups(groups, name)
    return None


def _without_model_groups(groups: list[tuple[list[str], dict[str, Any]]], name: str
                          ) -> list[tuple[list[str], dict[str, Any]]]:
    """``groups`` without those whose title names a model's curve (``Fit``, ``Simulation``,
    ``calc``: a measured group ``Messung`` beside its fit ``Fit``, m0l0t0ph/thesis), named in a
    ReadWarning, where a measured group is left; all of them otherwise."""
    model = [g for g in groups if _NOT_DATA_WORDS.search(g[1].get("column_group_title", "").lower())]
    if not model or len(model) == len(groups):
        return groups
    warn(f"{name}: column group(s) " + ", ".join(f"{g[1]['column_group']} ({g[1]['column_group_title']!r})" for g in model)
         + " left out: the title names a model's curve, not measured data")
    return [g for g in groups if g not in model]


def _group_spans(names: Sequence[str]) -> list[tuple[int, int]] | None:
    """(first, end) column of each group of a header that repeats the frequency column,
    each group ending at its last named column (spacer columns belong to none); None unless
    there are two groups or more and each holds impedance columns."""
    headers = [parse_header(n) if n else None for n in names]
    roles = [role_of(h.key, h.kind) if h else None for h in headers]
    starts = [k for k, role in enumerate(roles) if role == "frequency"]
    if len(starts) < 2:
        return None
    spans = [(a, max(k for k in range(a, b) if names[k]) + 1) for a, b in zip(starts, starts[1:] + [len(names)])]
    return spans if all(_holds_impedance(roles[a:b]) for a, b in spans) else None


_BARE_F = re.compile(r"(?:^|[\t;,])\s*\"?f\"?\s*(?:[\t;,]|$)", re.IGNORECASE)  # a column named just f


def _holds_impedance(roles: Sequence[str | None]) -> bool:
    present = set(roles)
    return {"real", "imag"} <= present or {"modulus", "phase"} <= present or {"y_real", "y_imag"} <= present


def spectra_by_column_group(lines: Sequence[str], delimiter: str | None | bool,
                            read_one: Callable[[list[str], dict[str, Any]], list[Spectrum]],
                            split: bool = True, name: str = "table") -> list[Spectrum]:
    """``read_one(lines, group_meta)`` of each column group of a side-by-side table
    (:func:`column_groups`), numbered as the file's sweeps; of the whole table (meta {})
    when it has no groups or ``split`` is False (a header given or refused, roles named).
    ``name``: the file's, for the warnings."""
    groups = column_groups(lines, delimiter, name) if split else None
    if not groups:
        return read_one(list(lines), {})
    return numbered_sweeps([s for group_lines, meta in groups for s in read_one(group_lines, meta)])


def _group_line(line: str, delimiter: str, first: int, end: int) -> str:
    """The cells ``first:end`` of a line (a quoted cell may hold the delimiter:
    ``"100,000.0"``), blank when they are all empty."""
    cells = delimited_cells(line, delimiter)[first:end]
    return joined_cells(cells, delimiter) if any(c.strip().strip('"') for c in cells) else ""


# ---------------------------------------------------------------------------
# format-module contract
# ---------------------------------------------------------------------------
_DELIMITER_OPTIONS = {"tab": "\t", "\\t": "\t", "\t": "\t", "semicolon": ";", ";": ";",
                      "comma": ",", ",": ",", "whitespace": None, "space": None, " ": None}


SNIFF_MAX = 60  # the most :func:`sniff` gives (50 + 10): eisfit.io.read skips it where a format scored as much


def sniff(head: bytes, path: Path) -> int:
    """Confidence that the head is a delimited impedance table: 50 with a header naming
    frequency and impedance columns, 40 for 3+ numeric columns without header, 15-30 for
    weaker tables; +10 for a .csv/.txt/.dat extension (at most :data:`SNIFF_MAX`). A text
    file with such an extension but no usable table still gets 5, so that reading it reports
    the precise problem. 0 for binary content."""
    if not head or head_text(head).binary:
        return 0
    generic_ext = suffix_of(path) in EXTENSIONS
    lines = head_text(head).lines
    if len(lines) > 1 and len(head) >= 8192:
        lines = lines[:-1]  # last line may be cut
    try:
        lines = numeric_lines(lines)[0]
        layout = locate_table(lines)
    except (ReadError, ValueError, StopIteration):
        return 5 if generic_ext else 0
    score = 0
    if layout.header_index is not None:
        names = [parse_header(n).key for n in header_names_quiet(lines[layout.header_index], layout)]
        roles = {role_of(k) for k in names}
        if "frequency" in roles and ({"real", "imag"} <= roles or {"modulus", "phase"} <= roles):
            score = 50
        elif "frequency" in roles:
            score = 30
        elif layout.n_columns >= 3:
            score = 15
    elif layout.n_columns >= 3:
        score = 40
    if not score:
        return 5 if generic_ext else 0
    if score and suffix_of(path) in EXTENSIONS:
        score += 10
    return score


def numeric_lines(lines: Sequence[str], path: Path | str | None = None, delimiter: str | None | bool = False,
                  decimal: str | None = None) -> tuple[Sequence[str], list[str], ClockColumn | None]:
    """``lines`` when they hold a table of numbers; else, when a delimited table has text
    columns (dates, clock times, comments: never a number in a row that holds numbers), the
    lines without those columns, the columns' names, and the :class:`ClockColumn` that
    replaced a column of dates with clock times (None where there is none). The lines keep
    their number and order, so messages keep their line numbers. The table's own error when
    neither works."""
    try:
        locate_table(lines, path, delimiter, decimal)
        return lines, [], None
    except ReadError:
        found = without_text_columns(lines, delimiter)
        if found is None:
            raise
        return found


@dataclass(frozen=True)
class ClockColumn:
    """A column of dates with clock times ('2024-05-01 10:00:02') that the table engine
    read as seconds since ``origin``, the earliest of them: ``name`` is the column it became
    (``time/s``, which gives each sweep its ``time_s``, or ``clock time/s`` beside another
    time column), ``source`` its name in the file. ``dated`` False: dates that read day or
    month first alike ('03/02/2024', no day above 12), all of one day, so that the seconds
    hold either way but the date does not: no start time is taken from them."""

    name: str
    source: str
    origin: _dt.datetime
    dated: bool = True

    def sweep_start(self, spectrum: Spectrum) -> str | None:
        """ISO start time of ``spectrum`` (a sweep read from the table): the clock time of
        its first point."""
        seconds = spectrum.columns.get(self.name)
        if seconds is None or len(seconds) == 0:
            return None
        return iso_time(self.origin + _dt.timedelta(seconds=float(seconds[0])))


def without_text_columns(lines: Sequence[str], delimiter: str | None | bool = False
                         ) -> tuple[list[str], list[str], ClockColumn | None] | None:
    """(lines without the text columns, their names, the clock column) of a tab-, semicolon-
    or comma-delimited table whose most common row width is 3 or more, where at least 3
    columns hold numbers and whose header row (a row of that width without numbers) names a
    frequency column, or which has no header and a column of frequencies (a headerless f, Z',
    Z'' table with a clock or date column: the text columns are named ``field k of each
    line``); None when the lines hold no such table (a log or notes with text columns stays
    unrecognised). Under a header, the first text column whose every value is a date with a
    clock time (:func:`~eisfit.io._clock.parse_clock_times`), or a 'Date' and a 'Time' column
    side by side, stays, as seconds since the earliest of them (:func:`_clock_column`)."""
    sample = [ln for ln in lines[:_MAX_SNIFF_LINES] if ln.strip()]
    for delim in ("\t", ";", ","):
        if delimiter is not False and delim != delimiter or not any(delim in ln for ln in sample):
            continue
        rows = [split_fields(ln, delim) for ln in sample]
        widths = Counter(len(r) for r in rows if len(r) >= 3)
        if not widths:
            continue
        width = widths.most_common(1)[0][0]
        table = [r for r in rows if len(r) == width]
        for decimal in ((".",) if delim == "," else (".", ",")):
            flags = [[is_number(x, decimal) for x in r] for r in table]
            data = [fl for fl in flags if sum(fl) >= 2]
            text = [j for j in range(width) if not any(fl[j] for fl in data)]
            if len(data) < 3 or not text or width - len(text) < 3:
                continue
            header = next((r for r, fl in zip(table, flags) if not any(fl)), None)
            keep = [j for j in range(width) if j not in text]
            if header is None:  # headerless: the numbers must hold a frequency column
                if not _holds_frequencies(table, flags, keep, decimal):
                    continue
                header = [f"field {j + 1} of each line" for j in range(width)]
            elif not any(names_a_frequency(header[j]) for j in keep):
                continue
            named = not header[0].startswith("field ")
            clock = _clock_column(lines, delim, width, header, text, keep) if named else None
            if clock is not None:
                out, column, used = clock
                return out, [header[j] for j in text if j not in used], column
            out = []
            for line in lines:
                fields = split_fields(line, delim)
                out.append(delim.join(fields[j] for j in keep) if len(fields) == width else line)
            return out, [header[j] for j in text], None
    return None


def _clock_column(lines: Sequence[str], delim: str, width: int, header: list[str], text: list[int],
                  keep: list[int]) -> tuple[list[str], ClockColumn, tuple[int, ...]] | None:
    """The lines with the first text column of dates and clock times as seconds since the
    earliest of them (and the other text columns left out), its :class:`ClockColumn` and
    the positions it was read from; where no one column holds such times in every row, two
    neighbouring ones that do together (a 'Date' and a 'Time' column). None where none do."""
    rows = [(i, fields) for i, line in enumerate(lines)
            if len(fields := split_fields(line, delim)) == width and fields != header]
    pairs = [(j, k) for j, k in zip(text, text[1:]) if k == j + 1]
    for used in [(j,) for j in text] + pairs:
        texts = [" ".join(fields[j] for j in used) for _, fields in rows]
        clock = parse_clock_times(texts)
        if clock is None:
            continue
        dated = clock.note is None
        if not dated and not _same_seconds_either_order(texts):
            continue  # dates of several days whose order nothing tells: left as text
        taken = {parse_header(header[k]).name for k in keep}
        name = "clock time/s" if any((axis_of_column(n) or ("",))[0] == "time_s" for n in taken) else "time/s"
        origin = min(clock.moments)
        seconds = {i: repr((t - origin).total_seconds()) for (i, _), t in zip(rows, clock.moments)}
        at = used[0]
        columns = sorted(keep + [at])
        out = []
        for i, line in enumerate(lines):
            fields = split_fields(line, delim)
            if len(fields) != width:
                out.append(line)
                continue
            fields[at] = seconds.get(i, name)  # the header row (and its repeats) names the column
            out.append(delim.join(fields[k] for k in columns))
        return out, ClockColumn(name, " + ".join(header[j] for j in used), origin, dated), used
    return None


def _same_seconds_either_order(texts: list[str]) -> bool:
    """Whether dates read month first and day first give the same times relative to the
    earliest (every row of one day): the seconds between the points hold, the date not."""
    readings = [parse_clock_times(texts, day_first) for day_first in (False, True)]
    if any(r is None for r in readings):
        return False
    relative = [[t - min(r.moments) for t in r.moments] for r in readings]  # type: ignore[union-attr]
    return relative[0] == relative[1]


def _holds_frequencies(table: list[list[str]], flags: list[list[bool]], keep: list[int], decimal: str) -> bool:
    """Whether one of the columns ``keep`` of a headerless table's rows (their fields, and
    which fields are numbers) holds frequencies (:func:`~eisfit.io._identify.has_frequency_column`):
    a spectrum with a clock or date column, not a log of other quantities with one."""
    rows = [r for r, fl in zip(table, flags) if all(fl[j] for j in keep)]
    if len(rows) < 3:
        return False
    values = np.array([[parse_number(r[j], decimal) for j in keep] for r in rows])
    return has_frequency_column(values)


def is_number(text: str, decimal: str) -> bool:
    """Whether ``text`` is one number as :func:`parse_number` reads it with ``decimal``."""
    try:
        parse_number(text, decimal)
    except ValueError:
        return False
    return True


def header_names_quiet(line: str, layout: TableLayout) -> list[str]:
    """:func:`header_names` without warnings (for sniffing); [] where it gives None."""
    return _fitted_header_names(line, layout)[0] or []


def read(
    path: Path | str,
    *,
    imag_sign: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    header: bool | None = None,
    columns: Mapping[str, int | str] | None = None,
) -> list[Spectrum]:
    """Read a delimited text table of impedance data.

    Parameters
    ----------
    path : the file (.csv, .txt, ...).
    imag_sign : "auto" (the default, None, means the same: a minus sign in the header,
        else the data decide from the low-frequency end and the arc shape, see
        :mod:`eisfit._sign`; eisfit's own exports are known to hold Z''),
        "negative" (the Z'' column holds capacitive values negative) or "positive"
        (the column holds -Z'').
    delimiter : "comma", "semicolon", "tab", "whitespace" (default: detect).
    decimal : "." or "," (default: detect).
    header : False when the first line is data, True to require a header (default: detect).
    columns : role -> 0-based column index or header name, e.g.
        ``{"frequency": 0, "real": 3, "imag": 4}``; roles: frequency, real, imag,
        modulus, phase, sweep. Without a header and without this option the columns are
        identified by content (:mod:`eisfit.io._identify`); an ambiguous table raises a
        MissingColumnError asking for this option.

    Returns
    -------
    list of Spectrum (frequency Hz, Z ohm with Z'' < 0 capacitive), one per sweep.
    ``meta`` records ``columns_detected`` (and ``columns_rule`` for a headerless table),
    ``delimiter``, ``decimal``, ``imag_sign`` and ``imag_sign_rule``; a cycle, time or loop
    column gives ``cycle``, ``time_s`` (start of the sweep) and ``loop``. A last line cut off
    (no final line end) is dropped with a warning.
    """
    p = path if isinstance(path, Path) else Path(path)
    if delimiter is not None and delimiter not in _DELIMITER_OPTIONS:
        raise ReadError(p, f"delimiter must be one of comma, semicolon, tab, whitespace, not {delimiter!r}")
    if decimal not in (None, ".", ","):
        raise ReadError(p, f"decimal must be '.' or ',', not {decimal!r}")
    delim = _DELIMITER_OPTIONS[delimiter] if delimiter is not None else False
    lines, ends_with_newline = read_text(p)
    own_export = bool(lines) and lines[0].strip() == EXPORT_MAGIC
    fmt = TableFormat(imag_sign="negative", own_columns=frozenset({"sweep"})) if own_export else TableFormat()
    spectra = read_text_table(p, lines, fmt, header=header, delimiter=delim, decimal=decimal, imag_sign=imag_sign,
                              columns=columns, last_line_complete=ends_with_newline, split=not own_export)
    _warn_if_model_values(p, lines)
    return _restore_export_meta(spectra, lines) if own_export else spectra


_MODEL_VALUES = re.compile(r"\b(fitted|simulated|modell?ed|calculated|synthetic)\s+"
                           r"(impedance|data|spectrum|spectra|values)\b", re.IGNORECASE)


def _warn_if_model_values(path: Path, lines: Sequence[str], head: int = 20) -> None:
    """Warn when a comment line before the table says the numbers are a model's ("# Fitted
    impedance data", "# simulated spectrum"): another program's fit, read as a measurement,
    fits itself."""
    for line in lines[:head]:
        text = line.strip()
        if text and not text.startswith(("#", "%", ";", "!")):
            return  # the table (or a header) starts: only a comment preamble is read
        match = _MODEL_VALUES.search(text)
        if match:
            warn(f"{path.name}: the file says it holds {match.group(0).lower()} ({text.lstrip('#%;! ')[:60]!r}): "
                 "a model's values, not a measurement")
            return


def read_text_table(path: Path | str, lines: Sequence[str], fmt: TableFormat, meta: Mapping[str, Any] | None = None,
                    *, header: bool | None = None, delimiter: str | None | bool = False, decimal: str | None = None,
                    imag_sign: str | None = None, columns: Mapping[str, int | str] | None = None,
                    last_line_complete: bool = True, split: bool = True) -> list[Spectrum]:
    """:func:`read_table_lines` of a table that may hold text columns beside its numbers
    (dates, clock times, comments: set aside, named in ``meta["text_columns"]``, see
    :func:`numeric_lines`) and several spectra side by side (one table per column group,
    :func:`column_groups`, unless ``split`` is False or the header or the roles are given).
    Text columns are set aside per group: a side-by-side table's spacer columns hold nothing."""
    def one(table_lines: list[str], group_meta: dict[str, Any]) -> list[Spectrum]:
        table, text_columns, clock = numeric_lines(table_lines, path, delimiter, decimal)
        table_meta = {**dict(meta or {}), **group_meta, **({"text_columns": text_columns} if text_columns else {})}
        spectra = _read_one_table(path, table, fmt, table_meta, names=None, header=header, delimiter=delimiter,
                                  decimal=decimal, imag_sign=imag_sign, columns=columns, first_line_number=1,
                                  last_line_complete=last_line_complete)
        spectra = _with_preamble_temperature(spectra, table_lines)
        if clock is None:
            return _with_preamble_start(spectra, table_lines, path)
        if not clock.dated:
            warn(f"{Path(str(path)).name}: {clock.source!r}: its dates read day or month first alike (no day "
                 "above 12): the times between the points are kept (time/s), the date is not (no start time)")
            return [s.with_meta(clock_column=clock.source) for s in spectra]
        return [s.with_meta(start_time=iso_time(clock.origin), sweep_start_time=clock.sweep_start(s),
                            clock_column=clock.source) for s in spectra]

    return spectra_by_column_group(lines, delimiter, one, split=split and header is not False and not columns,
                                   name=Path(str(path)).name)


# 'Temp. [K]=3.0656e+02' (Novocontrol WinDETA's ASCII export), 'Temperature (°C): 25'
_PREAMBLE_TEMPERATURE = re.compile(r"\btemp(?:erature)?\.?\s*[\[(]\s*(K|°C|deg\.?\s*C|C)\s*[\])]\s*[=:]\s*"
                                   r"([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)", re.IGNORECASE)
_ROW_FIELD = re.compile(r"[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?")


def _with_preamble_temperature(spectra: list[Spectrum], lines: Sequence[str]) -> list[Spectrum]:
    """A one-sweep table whose preamble (the lines before its first row of numbers) states
    the temperature it was measured at, with its unit (Novocontrol WinDETA's ASCII export:
    'Fixed value(s) :  Temp. [K]=3.0656e+02'): ``meta["temperature_K"]`` and
    ``meta["temperature_C"]``, which a campaign's Arrhenius analysis reads (three such files
    had been refused by --arrhenius as having no temperature). A sweep that has one already
    (a temperature column) keeps its own."""
    if len(spectra) != 1 or any(spectra[0].meta.get(k) is not None for k in ("temperature_K", "temperature_C")):
        return spectra
    for line in lines[:200]:
        fields = re.split(r"[,;\t ]+", line.strip())
        numbers = sum(bool(_ROW_FIELD.fullmatch(t)) for t in fields)
        if numbers >= 3 and 2 * numbers >= len(fields):
            break  # the table's rows begin ('Diameter[mm] 8.840e+00  Thickness[mm] 1.770e+00 ...' is none)
        match = _PREAMBLE_TEMPERATURE.search(line)
        if match:
            value = float(match.group(2))
            kelvin = value if match.group(1).upper() == "K" else value + KELVIN_AT_0C
            if kelvin > 0:
                return [spectra[0].with_meta(temperature_K=kelvin, temperature_C=kelvin - KELVIN_AT_0C)]
            break
    return spectra


def _with_preamble_start(spectra: list[Spectrum], lines: Sequence[str], path: Path | str) -> list[Spectrum]:
    """A one-sweep table whose preamble states when it was measured ('Date and time
    measurement:,2025-01-01 12:01:00', a PalmSens PSTrace export; 'Start time = ...'):
    that moment as its ``start_time`` and ``sweep_start_time`` (what a campaign orders its
    files by), the label in ``meta["start_time_label"]``. A table of several sweeps keeps
    none: one moment for all its sweeps would put them at one time."""
    if len(spectra) != 1 or spectra[0].meta.get("start_time"):
        return spectra
    found = preamble_start_time(lines)
    if found is None:
        return spectra
    moment, label, note = found
    if note:  # '03/02/2024 10:00': the day and the month could be either way round
        warn(f"{Path(str(path)).name}: {label!r} reads day or month first alike (no day above 12): not taken "
             "as the start time")
        return spectra
    return [spectra[0].with_meta(start_time=iso_time(moment), sweep_start_time=iso_time(moment),
                                 start_time_label=label)]


def _restore_export_meta(spectra: list[Spectrum], lines: Sequence[str]) -> list[Spectrum]:
    """Give spectra read from an eisfit CSV export the meta stored in its ``# meta`` lines
    (the original ``source``/``format`` become ``original_source``/``original_format``)."""
    stored: dict[int, dict[str, Any]] = {}
    for line in lines:
        if not line.startswith(EXPORT_META_PREFIX):
            if line.strip() and not line.startswith("#"):
                break
            continue
        k, _, text = line[len(EXPORT_META_PREFIX):].partition(" ")
        try:
            stored[int(k)] = json.loads(text)
        except ValueError:
            warn(f"eisfit export meta line not understood: {line[:60]!r}")
    return [s.with_meta(**restored_meta(stored.get(s.meta["sweep"], {}))) for s in spectra]
