"""Readers: one module per file format, one :func:`read` entry.

Each format module defines

* ``NAME``: the format name used by ``read(..., format=NAME)`` and ``eisfit read --format``;
* ``EXTENSIONS``: lower-case file extensions it usually has (a hint only);
* ``sniff(head: bytes, path: Path) -> int``: confidence 0..100 that the file is
  in this format, judged from its first bytes (content first, extension second);
* ``read(path: Path, **options) -> list[Spectrum]``.
"""
from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import Any

from ..errors import ReadError, UnknownFormatError
from ..spectrum import Spectrum

from ._common import ReadWarning, without_unicode_mark

__all__ = ["read", "detect_format", "FORMAT_MODULES", "available_formats", "ReadWarning"]

# order matters only for ties in sniff scores
FORMAT_MODULES = [
    "mpr",
    "mpt",
    "gamry",
    "zview",
    "chi",
    "versastudio",
    "parstat",
    "powersuite",
    "autolab",
    "zahner",
    "relaxis",
    "ivium",
    "palmsens",
    "xlsx",
    "xls",
    "ods",
    "wide",
    "tabular",
    "export",  # eisfit's own JSON export (its CSV export is a table)
    "jsontable",
]

_HEAD_BYTES = 8192


@functools.lru_cache(maxsize=1)
def _modules() -> tuple:
    """The format modules, imported once (every read sniffs with all of them)."""
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in FORMAT_MODULES)


def available_formats() -> list[str]:
    """Names accepted by ``read(..., format=...)``."""
    names: list[str] = []
    for mod in _modules():
        names.extend(getattr(mod, "NAMES", [mod.NAME]))
    return names


def _module_for(format_name: str):
    for mod in _modules():
        if format_name.lower() in [n.lower() for n in getattr(mod, "NAMES", [mod.NAME])]:
            return mod
    raise UnknownFormatError(None, f"unknown format {format_name!r}; known: {', '.join(available_formats())}")


def detect_format(path: str | Path) -> str:
    """The format name of ``path``, judged from its content (and extension as a hint)."""
    p = Path(path)
    return _detect_format(p, _read_head(p))


def _detect_format(p: Path, head: bytes) -> str:
    """:func:`detect_format` of ``p`` whose first bytes (:func:`_read_head`) are ``head``."""
    best, best_score = None, 0
    for mod in _modules():
        score = int(mod.sniff(head, p))
        if score > best_score:
            best, best_score = mod, score
    if best is None:
        raise UnknownFormatError(
            p, "format not recognised (not a BioLogic, Gamry, ZView, Zahner .ism, RelaxIS, Ivium, PalmSens, "
            "Excel .xlsx/.xls, OpenDocument .ods, JSON table, instrument export, wide or delimited table with a frequency column); force a format with --format (format= in Python)"
        )
    return best.NAME


def _read_head(p: Path) -> bytes:
    if not p.exists():
        raise ReadError(p, "file does not exist")
    if p.is_dir():
        raise ReadError(p, "is a directory, not a file")
    try:
        with p.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError as exc:
        raise ReadError(p, f"cannot open: {exc.strerror or exc}") from None
    if not head:
        raise ReadError(p, "file is empty")
    return without_unicode_mark(head)  # sniffers see a text saved with a BOM as the 8-bit text it holds


def read(path: str | Path, format: str | None = None, **options: Any) -> list[Spectrum]:
    """Read every impedance sweep in a file.

    Parameters
    ----------
    path : the file.
    format : force a format (see :func:`available_formats`); default: detect from content.
    **options : passed to the format's reader (e.g. ``imag_sign`` for tables).

    Returns
    -------
    list of :class:`~eisfit.Spectrum`, one per sweep, in file order. Frequencies
    in Hz, impedance in ohm with Z'' < 0 for capacitive behaviour.

    Raises
    ------
    eisfit.ReadError (or a subclass) naming the file and the problem.
    """
    p = Path(path)
    head = _read_head(p)  # existence / emptiness checks with a clear message
    mod = _module_for(format) if format else _module_for(_detect_format(p, head))
    try:
        spectra = mod.read(p, **options)
    except ReadError:
        raise
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise ReadError(p, f"option not understood by the {mod.NAME} reader: {exc}") from None
        raise ReadError(p, f"cannot decode as {mod.NAME}: {exc}") from None
    except (ValueError, IndexError, KeyError, OverflowError, UnicodeDecodeError, EOFError) as exc:
        raise ReadError(p, f"cannot decode as {mod.NAME}: {exc}") from None
    if not spectra:
        raise ReadError(p, f"no impedance data found (read as {mod.NAME})")
    return spectra
