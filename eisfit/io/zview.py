"""Scribner ZPlot / ZView ``.z`` files (also written as .txt by Z60W/ZPlotW).

Two layouts are handled:

* ``ZPLOT2 ASCII``: an indented ``key: value`` block up to ``End Comments``, then
  tab-separated rows without a names row, columns ``Freq(Hz) Ampl Bias Time(Sec)
  Z'(a) Z''(b) GD Err Range``;
* ``"ZPlotW Data File"`` / ``"Z60W Data File"`` (and "ZView Calculated Data File"):
  quoted preamble lines, a parameter row, the declared point count, a quoted names
  row ``"  Freq(Hz)    Ampl ... Z'(a)    Z''(b) ..."``, then comma-separated rows.

``Z''`` is signed (negative for capacitive behaviour).
"""
from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Any

from ..errors import CorruptFileError
from ..spectrum import Spectrum
from ._common import checked_point_count, suffix_of
from .tabular import TableFormat, read_table_lines, text_lines

NAME = "zview"
NAMES = ["zview", "zplot"]
EXTENSIONS = [".z"]

ZPLOT_COLUMNS = ["Freq(Hz)", "Ampl", "Bias", "Time(Sec)", "Z'(a)", "Z''(b)", "GD", "Err", "Range"]
_SIGNATURE = re.compile(r"^\s*\"?(ZPLOT2 ASCII|Z\w* Data File|ZView Calculated Data File)", re.I)
_DATE = re.compile(r"Date:\s*(\d{1,2})-(\d{1,2})-(\d{4})")
_TIME = re.compile(r"Time:\s*(\d{1,2}):(\d{2}):(\d{2})")
_DATA_POINTS = re.compile(r"^\s*Data Points:\s*(\d+)\s*$")  # the point count of a ZPLOT2 ASCII preamble


def sniff(head: bytes, path: Path) -> int:
    """95 when the first line that is not blank is a ZPlot/ZView signature; 20 for a bare .z file."""
    lines = head[:400].decode("latin-1", errors="replace").lstrip("\ufeff\xef\xbb\xbf").splitlines()
    first = [line for line in lines if line.strip()][:1]  # blank lines before the signature
    if first and _SIGNATURE.match(first[0]):
        return 95
    return 20 if suffix_of(path) in EXTENSIONS else 0


def _unquote(line: str) -> str:
    return line.strip().strip('"').strip()


def _start_time(preamble: list[str]) -> tuple[str | None, str | None]:
    """(ISO start, note) from ``Date: mm-dd-yyyy`` and ``Time: hh:mm:ss`` (ZPlot writes US
    dates). A date whose day and month are both 12 or less (and differ) is read so, and the
    note says that nothing in the file confirms the order (a ZPlotW file dated 04-06-2018 came
    from a lab whose folder names are day first); None otherwise."""
    text = "\n".join(preamble)
    d, t = _DATE.search(text), _TIME.search(text)
    if not d:
        return None, None
    month, day, year = (int(g) for g in d.groups())
    hh, mm, ss = (int(g) for g in t.groups()) if t else (0, 0, 0)
    try:
        start = _dt.datetime(year, month, day, hh, mm, ss).isoformat()
    except ValueError:
        return None, None
    ambiguous = day <= 12 and month <= 12 and day != month
    return start, (f"{d.group(1)}-{d.group(2)}-{d.group(3)} read month first, ZPlot's order: day and month both "
                   "12 or less, the file does not confirm it" if ambiguous else None)


def _software(first_line: str, preamble: list[str]) -> dict[str, Any]:
    for line in preamble[:4]:
        m = re.search(r"(?:Measured|Saved) Data, (\w+):\s*([\w.]+)", line)
        if m:
            return {"software": m.group(1), "software_version": m.group(2)}
    m = re.match(r"(\w+) Data File: Version ([\w.]+)", _unquote(first_line))
    if m:
        return {"software": m.group(1), "software_version": m.group(2)}
    return {"software": _unquote(first_line)}


def _layout(lines: list[str]) -> tuple[int, list[str] | None, int | None]:
    """(first data line index, column names or None, declared point count or None). A
    ``ZPLOT2 ASCII`` file's columns are :data:`ZPLOT_COLUMNS` unless its comments hold a names
    row of as many columns as the data (Z60W writes one, whose units say what the columns
    hold: ``Z'(Ohm.cm²)``, an impedance per area)."""
    end = next((i for i, ln in enumerate(lines) if ln.strip() == "End Comments"), None)
    if end is not None:
        counts = (_DATA_POINTS.match(ln) for ln in lines[:end])
        return end + 1, _comment_names(lines, end) or ZPLOT_COLUMNS, next((int(m.group(1)) for m in counts if m), None)
    for i, line in enumerate(lines):
        text = _unquote(line)
        if _is_names_row(text):
            declared = None
            if i > 0 and _unquote(lines[i - 1]).isdigit():
                declared = int(_unquote(lines[i - 1]))
            return i + 1, re.split(r"\s{2,}|\t", text), declared
    return 0, None, None


def _is_names_row(text: str) -> bool:
    return text.lower().startswith("freq") and "z'" in text.lower()


def _comment_names(lines: list[str], end: int) -> list[str] | None:
    """The names row among the comments above ``End Comments`` (line ``end``) when it has as
    many columns as the first data row, else None."""
    row = next((_unquote(ln).strip() for ln in lines[:end] if _is_names_row(_unquote(ln).strip())), None)
    first = next((ln for ln in lines[end + 1:] if ln.strip()), None)
    if row is None or first is None:
        return None
    names = re.split(r"\t|\s{2,}", row)
    return names if len(names) == len(first.split()) else None


def read(path: Path | str, *, imag_sign: str | None = None) -> list[Spectrum]:
    """Read a ZPlot/ZView .z file: one Spectrum (Hz, ohm, Z'' < 0 capacitive).

    ``meta`` holds ``software``/``software_version`` and ``start_time`` (ISO) when the
    preamble gives them. A declared point count (``Data Points:`` of a ZPLOT2 preamble, the
    count above the names row of a Z60W file) that differs from the rows present (a
    truncated file) gives a warning (:func:`~eisfit.io._common.checked_point_count`).
    """
    p = Path(path)
    lines = text_lines(p)
    start, names, declared = _layout(lines)
    if names is None:
        raise CorruptFileError(p, "ZPlot/ZView file without 'End Comments' or a 'Freq(Hz) ...' names row")
    preamble = lines[:start]
    first = next((line for line in lines if line.strip()), "")
    started, order_note = _start_time(preamble)
    meta: dict[str, Any] = {"start_time": started, "start_time_note": order_note, **_software(first, preamble)}
    meta = {k: v for k, v in meta.items() if v is not None}
    fmt = TableFormat(name=NAME, imag_sign="negative",
                      column_map={"Z'(a)": "real", "Z''(b)": "imag", "Freq(Hz)": "frequency"})
    spectra = read_table_lines(p, lines[start:], fmt, meta, names=names, imag_sign=imag_sign,
                               first_line_number=start + 1)
    return checked_point_count(p, spectra, declared)
