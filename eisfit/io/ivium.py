"""Ivium data files: ``.idf`` (one dataset) and ``.ids`` (several datasets one after another).

What this reader assumes (IviumSoft files of the impedance method):

* each dataset starts with a few binary bytes, then ``key=value`` lines of settings and
  results (``Method=Impedance``, ``Technique=...``, ``Title=...``, ``starttime=...``,
  ``Frequencies.freq[k]=...``); the bytes are decoded as Latin-1 and never interpreted;
* the measured points follow a line ``primary_data``: a line with the number of columns,
  a line with the number of rows, then the rows, values separated by blanks or tabs:
  Z' (ohm), Z'' (ohm), frequency (Hz), in that order, further columns kept by number;
* other sections (``osc_data``...) are not read;
* the sign of the Z'' column is decided like for any table without a sign in its header
  (low-frequency end and arc shape, :mod:`eisfit._sign`): the files seen store
  capacitive values negative;
* datasets of another method (cyclic voltammetry, chronoamperometry...) are left out with a
  warning; a file without an impedance dataset is an error.

Spectra carry ``meta["title"]``, ``meta["ivium_technique"]`` (e.g. "Constant E") and
``meta["start_time"]`` (ISO 8601) when the file gives one so (a date in a locale format,
whose day and month order the file does not say, is kept as text in
``meta["starttime_text"]``); ``sweep`` counts the impedance datasets of the file.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import CorruptFileError, NoImpedanceDataError
from ..spectrum import Spectrum
from ._common import numbered_sweeps, read_text_bytes, split_lines, suffix_of, warn
from ._identify import looks_like_frequency
from .tabular import TableFormat, read_table_lines

NAME = "ivium"
NAMES = ["ivium", "idf", "ids"]
EXTENSIONS = [".idf", ".ids"]

SECTION = "primary_data"
COLUMN_NAMES = ("Z' / ohm", "Z'' / ohm", "frequency / Hz")
_SETTINGS = {"Method": "method", "Technique": "ivium_technique", "Title": "title", "starttime": "starttime",
             "endtime": "endtime"}


def sniff(head: bytes, path: Path) -> int:
    """90 for IviumSoft settings lines (``Method=``, ``Technique=`` and the ``Peaks=`` /
    ``Solarcell=`` flags of the file's first lines); 60 for ``Method=`` in a .idf/.ids file."""
    if b"Method=" not in head:
        return 0
    if b"Technique=" in head and (b"Peaks=" in head or b"Solarcell=" in head):
        return 90
    return 60 if suffix_of(path) in EXTENSIONS else 0


def read(path: str | Path, *, imag_sign: str | None = None) -> list[Spectrum]:
    """Read every impedance dataset of an Ivium .idf/.ids file (frequency Hz, Z ohm,
    Z'' < 0 capacitive)."""
    p = Path(path)
    data = read_text_bytes(p)
    lines = split_lines(data.decode("latin-1"))
    out: list[Spectrum] = []
    other_methods: list[str] = []
    for settings, start in _datasets(lines):
        method = settings.get("method", "")
        if method.lower() != "impedance":
            other_methods.append(method or "unknown")
            continue
        out.extend(_read_dataset(p, lines, start, settings, imag_sign))
    if not out:
        raise NoImpedanceDataError(p, "no impedance data in this Ivium file" + (
            f" (methods: {', '.join(other_methods)})" if other_methods else f" (no '{SECTION}' section)"))
    if other_methods:
        warn(f"{p}: datasets of other methods left out: {', '.join(other_methods)}")
    return numbered_sweeps(out)


def _datasets(lines: Sequence[str]) -> list[tuple[dict[str, str], int]]:
    """(settings read since the previous dataset, index of its ``primary_data`` line)."""
    out: list[tuple[dict[str, str], int]] = []
    settings: dict[str, str] = {}
    for i, line in enumerate(lines):
        text = line.strip("\x00 \t")
        if text == SECTION:
            out.append((settings, i))
            settings = {}
            continue
        key, sep, value = text.partition("=")
        if sep and key.strip() in _SETTINGS:
            settings[_SETTINGS[key.strip()]] = value.strip()
    return out


def _read_dataset(p: Path, lines: Sequence[str], at: int, settings: dict[str, str],
                  imag_sign: str | None) -> list[Spectrum]:
    n_columns = _count(p, lines, at + 1, "columns")
    n_rows = _count(p, lines, at + 2, "rows")
    first = at + 3
    rows = list(lines[first:first + n_rows])
    if len(rows) < n_rows:
        raise CorruptFileError(p, f"line {at + 1}: {SECTION} announces {n_rows} rows, the file ends after "
                                  f"{len(rows)} (truncated file)")
    if n_columns < 3:
        raise CorruptFileError(p, f"line {at + 2}: {SECTION} has {n_columns} columns; impedance data need "
                                  "Z', Z'' and frequency")
    _check_frequency_column(p, rows, first)
    names = list(COLUMN_NAMES) + [f"column {k + 1}" for k in range(3, n_columns)]
    meta = {"software": "IviumSoft", **{k: v for k, v in settings.items() if v and k not in ("method", "starttime",
                                                                                            "endtime")},
            **_times(settings)}
    fmt = TableFormat(name=NAME, technique="EIS")
    return read_table_lines(p, rows, fmt, meta, names=names, delimiter=None, decimal=".", imag_sign=imag_sign,
                            first_line_number=first + 1)


def _check_frequency_column(p: Path, rows: Sequence[str], first: int) -> None:
    """CorruptFileError unless the third column is a frequency sweep (positive, monotonic,
    log-spaced): another column order must not be read as Z', Z'', f."""
    try:
        values = np.array([float(row.split()[2]) for row in rows])
    except (ValueError, IndexError):
        return  # a damaged row: the table engine names it
    if not looks_like_frequency(values):
        raise CorruptFileError(p, f"line {first + 1}: the third column of '{SECTION}' is not a frequency sweep "
                                  "(the columns are expected as Z', Z'', frequency)")


def _times(settings: dict[str, str]) -> dict[str, str]:
    """``start_time``/``end_time`` (ISO 8601) when the file writes them so; a date in a locale
    format (day and month order unknown) is kept as text in ``starttime_text``/``endtime_text``."""
    out: dict[str, str] = {}
    for key, iso_key in (("starttime", "start_time"), ("endtime", "end_time")):
        text = settings.get(key, "")
        if not text:
            continue
        try:
            out[iso_key] = _dt.datetime.fromisoformat(text).isoformat()
        except ValueError:
            out[f"{key}_text"] = text
    return out


def _count(p: Path, lines: Sequence[str], i: int, what: str) -> int:
    text = lines[i].strip() if i < len(lines) else ""
    try:
        value = int(text)
    except ValueError:
        raise CorruptFileError(p, f"line {i + 1}: the number of {what} of '{SECTION}' expected, found "
                                  f"{text[:40]!r}") from None
    if value < 0:
        raise CorruptFileError(p, f"line {i + 1}: negative number of {what} ({value})")
    return value
