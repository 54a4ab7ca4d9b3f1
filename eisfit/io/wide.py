"""Wide tables: one spectrum per row, the frequency in the column names.

What this reader assumes:

* a header line (within the first 50 lines; earlier lines are preamble) holding at
  least two column pairs ``Re(Z)<f>`` / ``Im(Z)<f>`` or ``-Im(Z)<f>`` (or ``Zreal<f>`` /
  ``Zimag<f>``, ``Z_re<f>`` / ``Z_im<f>``), where ``<f>`` is
  the frequency, a number optionally followed by a unit (``Hz`` default; ``mHz``,
  ``kHz``, ``MHz``), optionally after ``_``, ``@``, ``:`` or a space, e.g.
  ``Re(Z)1000``, ``-Im(Z)_0.5Hz``, ``Re(Z) @ 1 kHz``, ``Zreal_3.2e+04Hz``; ``/Ohm`` or
  ``(Ohm)`` may follow;
* impedance values in ohm; a leading minus on the imaginary header means the column
  holds -Z''; without it the sign is decided from the data (low-frequency end and arc
  shape, :mod:`eisfit._sign`), for the whole table at once;
* the delimiter is the one of tab, semicolon and comma that gives the most pairs,
  else whitespace; values use a decimal point, or a decimal comma where the delimiter
  is not a comma and the values hold commas but no point (decided for the whole table:
  ``12,594`` is then 12.594, never 12594 read as digits grouped by threes); a comma in a
  header's frequency follows that mark (``Re(Z)0,5Hz`` in a table of decimal commas; in
  one of decimal points only digits grouped by threes, ``Re(Z)1,000Hz``);
* every data row has one value per header column; the frequencies are the same for
  every row; each row is one spectrum, in the column order of the header;
* the other columns (``cycle_Nr``, current, capacity, time...) are kept per row in
  ``meta["row_values"]`` (numbers as float, other text as text); a cycle, time or
  loop column also gives ``meta["cycle"]``, ``meta["time_s"]`` or ``meta["loop"]``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import CorruptFileError, MissingColumnError, ReadError
from ..spectrum import Spectrum
from ._common import axis_of_column, build_spectra, warn
from .._sign import capacitive_sign
from .tabular import IMAG_SIGNS, head_text, parse_number, read_text

NAME = "wide-table"
NAMES = ["wide-table", "wide"]
EXTENSIONS = [".csv", ".txt", ".tsv"]

SEARCH_LINES = 50
MIN_PAIRS = 2
_PREFIX = {"": 1.0, "m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6}
_PAIR_COLUMN = re.compile(
    r"^\s*(?P<minus>-)?\s*(?:(?P<part>re|im)\s*\(\s*z\s*\)|z[_ ]?(?P<zpart>re|im)(?:al|ag)?)\s*"
    r"(?:/\s*ohm\s*|\(\s*ohm\s*\)\s*)?"
    r"[_@:\s]*(?:f\s*=\s*)?(?P<value>[0-9]+(?:[.,][0-9]*)?(?:[eE][-+]?[0-9]+)?)\s*"
    r"(?:(?P<prefix>[mkKM]?)hz)?\s*(?:/\s*ohm|\(\s*ohm\s*\))?\s*$", re.IGNORECASE)
_DELIMITERS = ("\t", ";", ",")


_GROUPED_VALUE = re.compile(r"^[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]*)?$")  # 1,000 or 10,000.5


def pair_column(name: str, decimal: str = ".") -> tuple[str, bool, float] | None:
    """("re"/"im", negated, frequency in Hz) of a wide-table column name, else None. The
    frequency's comma is the table's decimal mark (``decimal``), else it groups digits by
    threes (``Re(Z)1,000Hz``); any other comma makes no frequency."""
    m = _PAIR_COLUMN.match(name.strip().strip('"'))
    if m is None:
        return None
    value = m.group("value")
    if decimal == ",":
        value = value.replace(",", ".")
    elif "," in value:
        if not _GROUPED_VALUE.match(value):
            return None
        value = value.replace(",", "")
    scale = _PREFIX[m.group("prefix") or ""]
    return (m.group("part") or m.group("zpart")).lower(), bool(m.group("minus")), float(value) * scale


def _names_a_pair(name: str) -> bool:
    """Whether ``name`` is a ``Re(Z)<f>`` / ``Im(Z)<f>`` column name, whatever its decimal mark."""
    return _PAIR_COLUMN.match(name.strip().strip('"')) is not None


def _split(line: str, delimiter: str | None) -> list[str]:
    text = line.strip()
    return text.split() if delimiter is None else [f.strip() for f in text.split(delimiter)]


def _header(lines: Sequence[str]) -> tuple[int, str | None, list[str]] | None:
    """(index, delimiter, names) of the first line with at least two Re/Im pairs."""
    for i, line in enumerate(lines[:SEARCH_LINES]):
        low = line.lower()
        if "re" not in low or "im" not in low:  # no Re(Z)/Im(Z) name on this line (rows of numbers)
            continue
        best: tuple[int, str | None, list[str]] | None = None
        for delim in (*_DELIMITERS, None):
            names = _split(line, delim)
            n_pairs = sum(1 for n in names if _names_a_pair(n)) // 2
            if n_pairs >= MIN_PAIRS and (best is None or n_pairs > best[0]):
                best = (n_pairs, delim, names)
        if best is not None:
            return i, best[1], best[2]
    return None


def sniff(head: bytes, path: Path) -> int:
    """80 when a header with two or more ``Re(Z)<f>`` / ``Im(Z)<f>`` pairs is found."""
    if head_text(head).binary:
        return 0
    return 80 if _header(head_text(head).lines) is not None else 0


def read(path: str | Path, *, imag_sign: str | None = None) -> list[Spectrum]:
    """One :class:`Spectrum` per row of a wide table (frequency Hz, Z ohm, Z'' < 0 capacitive).

    ``imag_sign``: "auto" (default), "negative" (the imaginary columns hold Z'') or
    "positive" (they hold -Z''), whatever the header says.
    """
    p = Path(path)
    if imag_sign not in (None, *IMAG_SIGNS):
        raise ReadError(p, f"imag_sign must be one of {', '.join(IMAG_SIGNS)}, not {imag_sign!r}")
    lines, ends_with_newline = read_text(p)
    return spectra_from_wide_lines(p, lines, ends_with_newline, imag_sign)


def is_wide(lines: Sequence[str]) -> bool:
    """Whether ``lines`` hold a wide table's header (see the module docstring)."""
    return _header(lines) is not None


def spectra_from_wide_lines(p: Path, lines: Sequence[str], ends_with_newline: bool, imag_sign: str | None,
                            meta: dict[str, Any] | None = None) -> list[Spectrum]:
    """The spectra of a wide table held in ``lines`` (a text file's, or a sheet's cells as
    tab-separated lines), one per row; ``meta`` is added to every spectrum's."""
    found = _header(lines)
    if found is None:
        raise MissingColumnError(p, f"no header with {MIN_PAIRS}+ Re(Z)<f>/Im(Z)<f> column pairs "
                                    f"in the first {SEARCH_LINES} lines")
    at, delimiter, names = found
    rows = _data_rows(p, lines, at + 1, delimiter, len(names), ends_with_newline)
    named_pairs = [i for i, n in enumerate(names) if _names_a_pair(n)]
    decimal = _decimal_mark([fields[k] for _, fields in rows for k in named_pairs], delimiter)
    frequency, re_cols, im_cols, negated = _pairs(p, names, decimal)
    other = [i for i, n in enumerate(names) if pair_column(n, decimal) is None]
    values = np.array([_numbers(p, fields, re_cols + im_cols, names, i + 1, decimal) for i, fields in rows])
    others = [[fields[k] for k in other] for _, fields in rows]
    re_part, im_part = values[:, :len(re_cols)], values[:, len(re_cols):]
    if negated:
        im_part = -im_part
    n_rows, m = re_part.shape
    f_all = np.tile(frequency, n_rows)
    im_flat = im_part.reshape(-1)
    sign_meta = _sign(p, f_all, re_part.reshape(-1), im_flat, imag_sign, negated)
    if sign_meta.pop("flip"):
        im_flat = -im_flat
    z = re_part.reshape(-1) + 1j * im_flat
    sweeps = [np.arange(k * m, (k + 1) * m) for k in range(n_rows)]
    per_row = [_row_meta(others[k], [names[i] for i in other], decimal) for k in range(n_rows)]
    meta = {"format": NAME, "technique": "EIS", "header_line": at + 1, **(meta or {}),
            "delimiter": {"\t": "tab", ";": "semicolon", ",": "comma", None: "whitespace"}[delimiter],
            "decimal": decimal,
            **sign_meta}
    return build_spectra(p, f_all, z, meta, sweeps, sweep_meta=per_row)


def _pairs(p: Path, names: Sequence[str], decimal: str = ".") -> tuple[np.ndarray, list[int], list[int], bool]:
    """Frequencies (Hz, header order of the Re columns), Re and Im column indices, Im negated."""
    re_at: dict[float, int] = {}
    im_at: dict[float, int] = {}
    signs = set()
    for i, name in enumerate(names):
        found = pair_column(name, decimal)
        if found is None:
            if _names_a_pair(name):
                raise CorruptFileError(p, f"column {name!r}: its frequency is no number in a table with a "
                                          f"decimal {'comma' if decimal == ',' else 'point'}")
            continue
        part, minus, f = found
        target = re_at if part == "re" else im_at
        if f in target:
            raise CorruptFileError(p, f"two {part.title()}(Z) columns for {f:g} Hz ({names[target[f]]!r}, {name!r})")
        target[f] = i
        if part == "im":
            signs.add(minus)
    unpaired = sorted(set(re_at) ^ set(im_at))
    if unpaired:
        raise MissingColumnError(p, "Re(Z) and Im(Z) columns do not pair up at "
                                    + ", ".join(f"{f:g}" for f in unpaired[:5]) + " Hz")
    if len(signs) > 1:
        raise CorruptFileError(p, "some Im(Z) columns carry a minus sign and others not")
    freqs = list(re_at)
    return (np.array(freqs, dtype=float), [re_at[f] for f in freqs], [im_at[f] for f in freqs],
            signs == {True})


def _data_rows(p: Path, lines: Sequence[str], first: int, delimiter: str | None, n: int,
               ends_with_newline: bool) -> list[tuple[int, list[str]]]:
    """(0-based line index, fields) of the data rows from line ``first`` on.

    A row must have one value per header column (``n``); a cut last line (no final line
    end, too few values) is dropped with a warning."""
    rows: list[tuple[int, list[str]]] = []
    data = [i for i in range(first, len(lines)) if lines[i].strip()]
    for i in data:
        fields = _split(lines[i], delimiter)
        if len(fields) != n:
            if i == data[-1] and not ends_with_newline:
                warn(f"{p.name}: line {i + 1} looks cut off (the file ends without a line end and it "
                     f"has {len(fields)} of {n} values): dropped")
                continue
            raise CorruptFileError(p, f"line {i + 1}: {len(fields)} values where the header has {n} columns")
        rows.append((i, fields))
    if not rows:
        raise CorruptFileError(p, "the header is followed by no data rows")
    return rows


def _decimal_mark(texts: Sequence[str], delimiter: str | None) -> str:
    """The decimal mark of a table's values: ``,`` where the delimiter is not a comma and
    the values hold commas but no point, else ``.``."""
    if delimiter == ",":
        return "."
    commas = any("," in t for t in texts)
    return "," if commas and not any("." in t for t in texts) else "."


def _numbers(p: Path, fields: Sequence[str], cols: Sequence[int], names: Sequence[str],
             line_number: int, decimal: str = ".") -> np.ndarray:
    """The values of ``cols`` in one row (numpy's parser, then a strict check of any failure)."""
    if decimal == ".":
        try:
            row = np.array([fields[i] for i in cols], dtype=float)
            if np.all(np.isfinite(row)):
                return row
        except ValueError:
            pass
    for i in cols:
        try:
            parse_number(fields[i], decimal)
        except ValueError:
            raise CorruptFileError(p, f"line {line_number}: {fields[i][:30]!r} in column "
                                      f"{names[i]!r} is not a number") from None
    return np.array([parse_number(fields[i], decimal) for i in cols])


def _sign(p: Path, f: np.ndarray, re_part: np.ndarray, im_part: np.ndarray, option: str | None,
          negated: bool) -> dict[str, Any]:
    """How the stored imaginary values become Z'' ("flip": negate them)."""
    if option in ("negative", "positive"):
        stored_flip = option == "positive"
        # the option describes the stored column: undo the header minus already applied
        return {"flip": stored_flip != negated, "imag_sign": option, "imag_sign_source": "option"}
    if negated:
        return {"flip": False, "imag_sign": "positive", "imag_sign_source": "header"}
    sign, rule = capacitive_sign(f, re_part, im_part)
    if sign == 0:
        warn(f"{p.name}: the sign convention of the Im(Z) columns could not be decided from the data "
             f"({rule}); reading them as Z''; pass imag_sign='negative' or 'positive' to say")
    elif sign > 0:
        warn(f"{p.name}: the Im(Z) columns hold -Z'' ({rule}): flipping them")
    return {"flip": sign > 0, "imag_sign": "positive" if sign > 0 else "negative",
            "imag_sign_source": "data" if sign else "undecided", "imag_sign_rule": rule}


def _row_meta(fields: Sequence[str], names: Sequence[str], decimal: str = ".") -> dict[str, Any]:
    """``row_values`` (name -> float or text) and cycle / time_s / loop of one row."""
    values: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for name, field in zip(names, fields):
        text = field.strip().strip('"')
        try:
            value: Any = parse_number(text, decimal)
        except ValueError:
            value = text or None
        values[name] = value
        axis = axis_of_column(name)
        if axis is not None and isinstance(value, float):
            key, scale = axis
            meta[key] = (int(value) if value == int(value) else value) if key in ("cycle", "loop") else value * scale
    meta["row_values"] = values
    return meta
