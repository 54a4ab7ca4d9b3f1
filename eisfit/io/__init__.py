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
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .._files import special_file_kind
from .._checks import did_you_mean
from ..errors import ReadError, UnknownFormatError
from ..spectrum import Spectrum

from ._common import ReadWarning, text_bytes
from .options import ReaderOptions, columns_from_text

__all__ = ["read", "detect_format", "FORMAT_MODULES", "available_formats", "format_name", "ReaderOptions",
           "columns_from_text", "ReadWarning", "write_csv", "write_json"]

# the writers of eisfit's own export (eisfit.io.export, what ``eisfit convert`` writes), imported
# on first use as the format modules are, so that importing eisfit.io stays light
_EXPORTERS = ("write_csv", "write_json")


def __getattr__(name: str) -> Any:
    if name in _EXPORTERS:
        return getattr(importlib.import_module(f"{__name__}.export"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

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
    "maccor",
    "zahner",
    "relaxis",
    "dfr",
    "windeta",
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


def format_name(name: Any) -> str:
    """``name`` as :func:`read` (``format=``) and ``--format`` take it: a name of
    :func:`available_formats`, in any case, returned in lower case; UnknownFormatError
    naming the known ones otherwise (with "did you mean")."""
    names = available_formats()
    if isinstance(name, str) and name.lower() in names:
        return name.lower()
    raise UnknownFormatError(None, f"unknown format {name!r}{did_you_mean(str(name), names)}; "
                                   f"known: {', '.join(names)}")


def _module_for(name: str):
    """The format module of the reader name ``name`` (:func:`format_name`)."""
    name = format_name(name)
    return next(mod for mod in _modules() if name in [n.lower() for n in getattr(mod, "NAMES", [mod.NAME])])


def detect_format(path: str | Path) -> str:
    """The format name of ``path``, judged from its content (and extension as a hint)."""
    p = _as_path(path)
    return _detect_module(p, _read_head(p)).NAME


def _detect_module(p: Path, head: bytes):
    """The format module of ``p`` (:func:`detect_format`) whose first bytes (:func:`_read_head`)
    are ``head``: the highest score, the first module of :data:`FORMAT_MODULES` among equals.
    A module that states the most its sniff gives (``SNIFF_MAX``: the generic table's, whose
    sniff parses the head) is not asked once an earlier one scored as much: it could not win
    (a Gamry .DTA file's table sniff had been 2.1 of the 2.9 ms its reading took, an
    EC-Lab .mpt's 0.11 of 0.56 ms)."""
    best, best_score = None, 0
    for mod in _modules():
        bound = getattr(mod, "SNIFF_MAX", None)
        if bound is not None and bound <= best_score:
            continue
        score = int(mod.sniff(head, p))
        if score > best_score:
            best, best_score = mod, score
    if best is None:
        raise UnknownFormatError(
            p, "format not recognised (not a BioLogic, Gamry, ZView, Zahner .ism, RelaxIS, Autolab FRA .dfr, Novocontrol "
            "WinDETA .LCR, Ivium, PalmSens, Maccor, "
            "Excel .xlsx/.xls, OpenDocument .ods, JSON table, instrument export, wide or delimited table with a frequency column); force a format with --format (format= in Python)"
        )
    return best


def _read_head(p: Path) -> bytes:
    """The first bytes of ``p``; ReadError when it does not exist, is a directory or cannot be
    read (the file system is asked why only when opening fails)."""
    try:
        with open(p, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError as exc:
        if not p.exists():
            raise ReadError(p, "file does not exist") from None
        if p.is_dir():
            raise ReadError(p, "is a directory, not a file") from None
        raise ReadError(p, f"cannot open: {exc.strerror or exc}") from None
    if not head:
        raise ReadError(p, "file is empty")
    return text_bytes(head)  # sniffers see a text saved with a BOM, as UTF-16 or padded with NULs as the 8-bit text it holds


def _refuse_special_file(p: Path) -> None:
    """ReadError for a named pipe, a device or a socket: ``eisfit info`` on a named pipe
    waited for ever, and ``eisfit read <(cat f.csv)`` said "file is empty" (the format
    detection had read the pipe's bytes, the reader found none left)."""
    try:
        kind = special_file_kind(p)
    except OSError:
        return  # a missing file: _read_head names it
    if kind:
        raise ReadError(p, f"not a regular file ({kind}): eisfit reads files; save the data to a file first")


def _as_path(path: Any) -> Path:
    """``path`` (str, os.PathLike or bytes, decoded with :func:`os.fsdecode`) as a Path;
    ReadError on anything else."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        raise ReadError(None, f"read() takes a file path (str or os.PathLike), got {type(path).__name__}")
    if isinstance(path, Path):
        return path
    try:
        return Path(path)
    except TypeError:  # an os.PathLike whose __fspath__ returns bytes or something else
        raise ReadError(None, f"read() takes a file path (str or os.PathLike), got {type(path).__name__} "
                              f"whose path is {type(os.fspath(path)).__name__}") from None


def _check_columns_option(p: Path | None, columns: Any) -> None:
    """ReadError unless ``columns`` (the option naming the table columns) is None or a
    mapping role -> 0-based column index or header name, each role one the tables know
    (:func:`eisfit.io.tabular.check_column_roles`)."""
    if columns is None:
        return
    example = "{'frequency': 0, 'real': 1, 'imag': 2}"
    if not isinstance(columns, Mapping):
        raise ReadError(p, f"columns must be a mapping such as {example} (role -> 0-based column index or "
                           f"header name), got {type(columns).__name__}")
    for role, where in columns.items():
        if isinstance(where, bool) or not isinstance(where, (int, np.integer, str)):
            raise ReadError(p, f"columns option: column of {role!r} must be a 0-based index or a header name, "
                               f"got {where!r}")
    from .tabular import check_column_roles

    check_column_roles(columns, p)


def read(path: str | Path, format: str | None = None, **options: Any) -> list[Spectrum]:
    """Read every impedance sweep in a file.

    Parameters
    ----------
    path : the file (str or os.PathLike; bytes are decoded with :func:`os.fsdecode`).
    format : force a format (see :func:`eisfit.io.available_formats`); default: detect from content.
    **options : passed to the format's reader (e.g. ``imag_sign`` for tables).

    Returns
    -------
    list of :class:`~eisfit.Spectrum`, one per sweep, in file order. Frequencies
    in Hz, impedance in ohm with Z'' < 0 for capacitive behaviour.

    Raises
    ------
    eisfit.ReadError (or a subclass) naming the file and the problem; also when
    ``path`` is not a path or an option has the wrong type (e.g. ``columns``).
    """
    p = _as_path(path)
    _check_columns_option(p, options.get("columns"))
    _refuse_special_file(p)
    head = _read_head(p)  # existence / emptiness checks with a clear message
    mod = _module_for(format) if format else _detect_module(p, head)
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
