"""Eco Chemie / Metrohm Autolab FRA ``.dfr`` files (the Frequency Response Analyzer
software that came before NOVA).

What this reader assumes (the layout of the files seen: ``VERSION8.0``):

* line 1 is ``VERSION<x.y>`` (kept as ``meta["software_version"]``);
* line 2 is the number of frequencies N, line 3 one more integer (its meaning is not
  known; not read);
* then N records of ``RECORD_LINES`` lines, one number each: frequency (Hz), Z' (ohm),
  -Z'' (ohm, positive for a capacitive point), then six numbers that are not read (the
  DC potential and current and a time, as far as is known: zeros in the files seen);
* what follows the N records (flags and two dates whose meaning is not documented) is
  not read.

A record whose lines are not single numbers, fewer records than declared, frequencies
that are not positive or not monotonic (another record length, another version) are
reported as a damaged or unknown layout instead of being read on.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import CorruptFileError
from ..spectrum import Spectrum
from ._common import build_spectra, float_or_none, suffix_of
from .tabular import check_imag_sign, head_text, text_lines

NAME = "dfr"
NAMES = ["dfr", "autolab-fra"]
EXTENSIONS = [".dfr"]

RECORD_LINES = 9  # lines per frequency
HEADER_LINES = 3  # VERSION line, number of frequencies, one more integer
_VERSION = re.compile(r"^VERSION\s*(\d+(?:\.\d+)*)$", re.IGNORECASE)
_INTEGER = re.compile(r"^\d+$")


def sniff(head: bytes, path: Path) -> int:
    """95 for a ``VERSION<x.y>`` line followed by two integer lines and lines of one
    number each; 20 for a bare .dfr file (reading it then says what is wrong)."""
    sniffed = head_text(head)
    if not sniffed.binary and sniffed.text.lstrip("\ufeff \t\r\n")[:7].upper() == "VERSION":
        lines = [ln.strip() for ln in sniffed.lines[:HEADER_LINES + RECORD_LINES]]
        if len(lines) > HEADER_LINES and _header(lines) is not None and all(
                float_or_none(ln) is not None for ln in lines[HEADER_LINES:-1]):
            return 95
    return 20 if suffix_of(path) in EXTENSIONS else 0


def _header(lines: Sequence[str]) -> tuple[str, int] | None:
    """(version, number of frequencies) of the first lines, None when they are not a .dfr header."""
    version = _VERSION.match(lines[0]) if lines else None
    if version is None or len(lines) < HEADER_LINES or not all(_INTEGER.match(ln) for ln in lines[1:HEADER_LINES]):
        return None
    return version.group(1), int(lines[1])


def read(path: str | Path, *, imag_sign: str | None = None) -> list[Spectrum]:
    """Read the spectrum of an Autolab FRA .dfr file (frequency Hz, Z ohm, Z'' < 0 capacitive).

    ``imag_sign``: "negative" reads the third number of each record as Z'' itself,
    "positive" (the format's convention, also "auto"/None) as -Z''.
    """
    p = Path(path)
    check_imag_sign(imag_sign, p)
    lines = [ln.strip() for ln in text_lines(p)]
    header = _header(lines)
    if header is None:
        raise CorruptFileError(p, "not an Autolab FRA .dfr file: expected 'VERSION<x.y>' and two integer lines "
                                  f"at the start, found {lines[:HEADER_LINES]!r}")
    version, n_points = header
    if n_points == 0:
        raise CorruptFileError(p, "the header declares 0 frequencies")
    values = _records(p, lines, n_points)
    frequency, real, stored = values[:, 0], values[:, 1], values[:, 2]
    _check_frequencies(p, frequency)
    positive = imag_sign != "negative"
    z = real - 1j * stored if positive else real + 1j * stored
    meta = {"format": NAME, "software": "Autolab FRA (Eco Chemie)", "software_version": version, "technique": "EIS",
            "imag_sign": "positive" if positive else "negative",
            "imag_sign_source": "option" if imag_sign in ("negative", "positive") else "format"}
    return build_spectra(p, frequency, z, meta, [np.arange(n_points)])


def _records(p: Path, lines: Sequence[str], n_points: int) -> np.ndarray:
    """The first three numbers of each of the ``n_points`` records, (N, 3)."""
    end = HEADER_LINES + n_points * RECORD_LINES
    if len(lines) < end:
        held = max(len(lines) - HEADER_LINES, 0) // RECORD_LINES
        raise CorruptFileError(p, f"the header declares {n_points} frequencies of {RECORD_LINES} lines each, "
                                  f"the file holds {held} whole records (truncated file?)")
    out = np.empty((n_points, 3))
    for k in range(n_points):
        first = HEADER_LINES + k * RECORD_LINES
        for j in range(RECORD_LINES):
            value = float_or_none(lines[first + j])
            if value is None:
                raise CorruptFileError(p, f"line {first + j + 1}: {lines[first + j][:40]!r} is not a number "
                                          f"(record {k + 1} of {n_points}, {RECORD_LINES} lines each): damaged "
                                          "file or a layout this reader does not know")
            if j < 3:
                out[k, j] = value
    return out


def _check_frequencies(p: Path, frequency: np.ndarray) -> None:
    """CorruptFileError unless the frequencies are positive and strictly monotonic (what a
    sweep read with the right record length gives)."""
    if not np.all(np.isfinite(frequency)) or np.any(frequency <= 0):
        raise CorruptFileError(p, "a frequency that is not positive: a damaged file or a layout this reader "
                                  "does not know")
    steps = np.diff(frequency)
    if steps.size and not (np.all(steps < 0) or np.all(steps > 0)):
        raise CorruptFileError(p, "the frequencies do not fall (or rise) from one record to the next: a damaged "
                                  "file or a layout this reader does not know")
