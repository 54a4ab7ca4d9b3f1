"""RelaxIS 3.0 "Spectrum export" text files.

What this reader assumes:

* line 1 is a title and line 2 a date (kept as ``meta["title"]`` and
  ``meta["export_date"]``, the date of the export, not of the measurement);
* a column line follows whose fields all start with ``Data:`` (``Data: Frequency``,
  ``Data: Z'``, ``Data: Z''``, ``Data: |Z|``, ``Data: Theta (Z)``), separated by tabs
  (or semicolons or commas); the names after ``Data:`` are the column names;
* each spectrum is a line of metadata (DC level, TM, model, source file: kept as
  text in ``meta["relaxis_info"]``) followed by rows of numbers; a further metadata
  line starts a further spectrum;
* the sign of the ``Z''`` column is decided like for any table without a sign in its
  header (low-frequency end and arc shape, :mod:`eisfit._sign`); |Z| is checked
  against Z' and Z''.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from ..errors import CorruptFileError, MissingColumnError
from ..spectrum import Spectrum
from ._common import numbered_sweeps
from .tabular import TableFormat, head_text, numeric_fields, read_table_lines, read_text

NAME = "relaxis"
NAMES = ["relaxis", "relaxis-export"]
EXTENSIONS = [".txt", ".dat"]

PREFIX = "Data:"
COLUMN_MAP = {"Frequency": "frequency", "Z'": "real", "Z''": "imag", "|Z|": "modulus", "Theta (Z)": "phase"}
SEARCH_LINES = 20
_DELIMITERS = ("\t", ";", ",")


def _column_line(lines: Sequence[str]) -> tuple[int, str, list[str]] | None:
    """(index, delimiter, names without the prefix) of the ``Data:`` column line."""
    for i, line in enumerate(lines[:SEARCH_LINES]):
        if not line.lstrip().startswith(PREFIX):
            continue
        for delim in _DELIMITERS:
            fields = [f.strip() for f in line.strip().split(delim) if f.strip()]
            if len(fields) >= 2 and all(f.startswith(PREFIX) for f in fields):
                return i, delim, [re.sub(r"^Data:\s*", "", f) for f in fields]
    return None


def sniff(head: bytes, path: Path) -> int:
    """90 when a line of ``Data: ...`` column names with a frequency column is found."""
    if head_text(head).binary:
        return 0
    found = _column_line(head_text(head).lines)
    if found is None:
        return 0
    return 90 if "Frequency" in found[2] else 0


def read(path: str | Path, *, imag_sign: str | None = None) -> list[Spectrum]:
    """Read every spectrum of a RelaxIS export (frequency Hz, Z ohm, Z'' < 0 capacitive)."""
    p = Path(path)
    lines, ends_with_newline = read_text(p)
    found = _column_line(lines)
    if found is None:
        raise MissingColumnError(p, f"no 'Data: Frequency ...' column line in the first {SEARCH_LINES} lines")
    at, delim, names = found
    if "Frequency" not in names:
        raise MissingColumnError(p, f"no 'Data: Frequency' column (columns: {', '.join(names)})")
    meta = {"software": "RelaxIS", "title": lines[0].strip() if at > 0 else None,
            "export_date": lines[1].strip() if at > 1 else None}
    fmt = TableFormat(name=NAME, imag_sign=None, column_map=COLUMN_MAP, technique="EIS")
    out: list[Spectrum] = []
    blocks = _blocks(lines, at + 1, delim)
    if not blocks:
        raise CorruptFileError(p, "no rows of numbers after the column line")
    for k, (info, start, stop) in enumerate(blocks):
        last = k == len(blocks) - 1
        spectra = read_table_lines(
            p, lines[start:stop], fmt, {**meta, "relaxis_info": info}, names=names,
            delimiter=delim, decimal=None, imag_sign=imag_sign, first_line_number=start + 1,
            last_line_complete=ends_with_newline or not last)
        out.extend(spectra)
    return numbered_sweeps(out)


def _blocks(lines: Sequence[str], first: int, delimiter: str) -> list[tuple[str | None, int, int]]:
    """(metadata text, first row index, end index) of each spectrum after the column line."""
    out: list[tuple[str | None, int, int]] = []
    info: str | None = None
    start: int | None = None
    last = max((i for i in range(first, len(lines)) if lines[i].strip()), default=-1)
    for i in range(first, len(lines)):
        line = lines[i]
        if not line.strip():
            continue
        values = numeric_fields(line, delimiter, ".") or numeric_fields(line, delimiter, ",")
        if values is not None and len(values) >= 2:
            if start is None:
                start = i
            continue
        if start is not None:
            if i == last:
                continue  # a damaged last row: read_table_lines drops it (cut off) or reports it
            out.append((info, start, i))
            start = None
        info = " ".join(line.split())
    if start is not None:
        out.append((info, start, len(lines)))
    return out
