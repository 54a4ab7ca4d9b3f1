"""Where campaign checkpoints come from: a folder, a glob, a campaign file or spectra.

Every source becomes an ordered list of :class:`Checkpoint` (one per sweep), each
with its spectrum (or the reason it could not be read) and its cycling metadata.

Campaign file (CSV columns, or TOML ``[[checkpoint]]`` tables; pinned names):
``file`` (required; relative to the campaign file, or absolute), ``sweep`` (0-based;
default every sweep of the file), ``label``, ``cell`` (one seeded chain per cell),
``time_h`` (or the time in another unit, converted: ``time_min``, ``time_s``, ``time_d``,
``Time (h)``, ``t [s]``...), ``cycle``, ``temperature_C`` or ``temperature_K``, ``area_cm2``,
``thickness_cm``, ``current_mA_cm2``, ``capacity_mAh_cm2``, and the fit settings
``circuit``, ``symmetric``, ``weighting``, ``fmin``, ``fmax`` (Hz) and ``exclude_hz``
(frequencies whose points are left out: a TOML list, or in a CSV cell ``50;100``), and the
reader options ``format``, ``imag_sign`` and ``columns`` (a TOML table ``{frequency = 0,
real = 1, imag = 2}`` or the text of ``--columns``, ``frequency=0;real=1;imag=2``) of
:class:`eisfit.io.ReaderOptions`. TOML adds a ``[defaults]``
table (``circuit``, ``area_cm2``, ``thickness_cm``, ``symmetric``, ``weighting``,
``fmin``, ``fmax``, ``exclude_hz``, ``temperature_C``/``temperature_K``, ``cell``, ``format``,
``imag_sign``, ``columns``) and an optional
``[campaign]`` table (``name``, ``cell``, free text). Other row columns are carried to
the summary table as they are, with one :class:`CampaignWarning` per column; a column
whose name is close to a known one (``aera_cm2``) is taken for a typo and raises
:class:`~eisfit.CampaignError` with "did you mean". An unknown key in ``[defaults]``,
an unknown table, a row without ``file``, a listed file that does not exist, a value
that is not a number where one is needed, or both temperatures at once raise
:class:`~eisfit.CampaignError`; a file that exists but cannot be read becomes an error
row and the campaign goes on. Rows that list one measurement twice (the same sweep of a
file, or of a file with the same bytes, unless only the fit settings or reader options differ) give one
:class:`CampaignWarning` naming the rows; they are fitted as listed.

Cycle numbers read from the files' own cycle columns that go back and repeat from file to
file (1, 2, then 1, 2 again) count within each file: they are kept as ``cycle_in_file``,
not as the checkpoints' ``cycle``, with a :class:`CampaignWarning`.

The fit settings of a row (``circuit``, ``area_cm2``...) are kept in
``Checkpoint.settings``; those of ``[defaults]`` in ``CampaignSource.defaults``. The
caller layers them (:meth:`eisfit.settings.FitSettings.layered`): row > function
argument or command-line option > ``[defaults]`` > built-in. The reader options are
layered here, where the files are read, by the same rule
(:meth:`eisfit.io.ReaderOptions.layered`: a row's, the ``reader`` argument's, those of
``[defaults]``); each checkpoint keeps those its file was read with in ``Checkpoint.reader``.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import glob as _glob
import hashlib
import os
import re
import sys
import traceback
import warnings
from collections import Counter
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePath
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .._caller import user_stacklevel
from .._files import distinct_names, special_file_kind
from ..analysis.quality import is_instrument_noise_column
from ..errors import CampaignError, CampaignWarning, EisfitError, NoImpedanceDataError, UnknownFormatError
from ..io._clock import naive_utc
from ..io.options import READER_OPTION_NAMES, ReaderOptions, columns_from_text
from ..settings import did_you_mean
from ..spectrum import Spectrum, share_equal_arrays
from ..units import EVOLUTION_AXIS_LABELS, KELVIN_AT_0C, warn_if_celsius_as_kelvin
from .spool import Spooled, loaded

__all__ = ["Checkpoint", "CampaignWarning", "load_checkpoints", "natural_key", "natural_order", "CampaignSource"]

NUMERIC_COLUMNS = ("time_h", "cycle", "temperature_C", "temperature_K", "area_cm2",
                   "thickness_cm", "current_mA_cm2", "capacity_mAh_cm2", "fmin", "fmax")
DEFAULT_CELL = "cell"  # the cell of checkpoints given none


def cell_phrase(cell: str) -> str:
    """How messages name a cell: "cell 'A'", or "the campaign" for the default cell (it
    had read "cell 'cell'")."""
    return "the campaign" if cell == DEFAULT_CELL else f"cell {cell!r}"


TEXT_COLUMNS = ("file", "label", "cell", "circuit", "weighting")
FREQUENCY_LIST_COLUMNS = ("exclude_hz",)  # a TOML list of numbers, or in a CSV cell numbers split by ';'
READER_COLUMNS = READER_OPTION_NAMES  # format, imag_sign, columns: how the row's file is read
KNOWN_COLUMNS = (set(NUMERIC_COLUMNS) | set(TEXT_COLUMNS) | set(FREQUENCY_LIST_COLUMNS) | set(READER_COLUMNS)
                 | {"sweep", "symmetric"})
DEFAULT_KEYS = {"circuit", "area_cm2", "thickness_cm", "symmetric", "weighting", "fmin", "fmax", "exclude_hz",
                "temperature_C", "temperature_K", "cell", *READER_COLUMNS}
FIT_SETTING_KEYS = ("circuit", "area_cm2", "thickness_cm", "symmetric", "weighting", "fmin", "fmax", "exclude_hz")
# metadata whose change between two checkpoints explains a jump of a resistance
CONDITION_KEYS = ("cell", "temperature_K", "area_cm2", "thickness_cm", "current_mA_cm2", "circuit")


SHORT_LABEL = 32  # characters: a longer label (a full path) is named by the checkpoint number


@dataclass
class Checkpoint:
    """One spectrum of the campaign with its cycling state.

    ``settings`` holds per-checkpoint fit settings from the campaign file
    (``circuit``, ``area_cm2`` in cm2, ``thickness_cm`` in cm, ``symmetric``,
    ``weighting``, ``fmin``/``fmax`` in Hz); they override the function arguments.
    ``origin``: where a campaign file lists the checkpoint (``camp.csv: row 3``,
    ``camp.toml: [[checkpoint]] 2``), named with the file in an error about the row's
    settings; None for a folder, a glob, a list or spectra.
    ``reader``: the reader options its file was read with (part of the cache key); None
    for spectra given in memory (not read by the campaign).
    ``spectrum``, read from a file, keeps of the file's per-point columns only those a fit
    reads, the instrument's noise-to-signal ratios (``NSR Ewe/%``, ``NSR I/%``;
    :func:`eisfit.read` gives them all): a BioLogic sweep's twenty others (time, Ewe, I,
    Zce...) were held by the campaign to its end, more than its points and its fit together.
    """

    label: str
    spectrum: Spectrum | None
    file: str | None = None
    sweep: int | None = None
    cell: str = DEFAULT_CELL
    time_h: float | None = None
    cycle: float | None = None
    temperature_K: float | None = None
    current_mA_cm2: float | None = None
    capacity_mAh_cm2: float | None = None
    start_time: str | None = None
    content_sha256: str = ""
    error: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    origin: str | None = None
    reader: ReaderOptions | None = None
    dc_potential_V: float | None = None  # the sweep's DC potential (V) as the file states it
    # the Python traceback of the exception that made ``error`` (a file the reader refused),
    # shown by ``eisfit --debug``; None when no exception was raised
    error_traceback: str | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None and self.__dict__["_spectrum"] is not None

    def __eq__(self, other: object) -> bool:
        """Field by field, as a dataclass compares, the spectrum as held (a spooled one is not
        read back to be compared: two readings are two objects)."""
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _compared_fields(self) == _compared_fields(other)  # type: ignore[arg-type]

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickling (the reading workers send every checkpoint); a checkpoint pickled before
        session 72 holds its spectrum as ``spectrum``. Set attribute by attribute, as
        ``__init__`` does, so the instance dict shares its keys with the others': updated
        as a whole it was a dict of its own, ~290 bytes more per checkpoint for as long as
        the campaign runs (520 instead of 809 bytes with its strings)."""
        if "spectrum" in state:
            state = {("_spectrum" if k == "spectrum" else k): v for k, v in state.items()}
        for name, value in state.items():
            object.__setattr__(self, name, value)

    def stash_spectrum(self, spool: Any) -> Any:
        """Keep the spectrum in ``spool`` (a large campaign's: :mod:`eisfit.campaign.spool`)
        and hold only where it lies; :attr:`spectrum` reads it back when asked for (a new
        object each time). Returns where it lies (the spectrum itself, or None, when it is not
        kept there)."""
        held = self.__dict__["_spectrum"]
        if held is not None and type(held) is not Spooled:
            self.__dict__["_spectrum"] = held = spool.stash(held)
        return held

    def name_on(self, axis: str | None, index: int) -> str:
        """The checkpoint named on a campaign's evolution axis (``151.9 h``, ``cycle 50``,
        ``25 °C``), else by its label when short, else as the figures number it
        (``checkpoint <index>``): the headline lines and the figures name it alike."""
        value = self.value_on(axis)
        if value is not None:
            return {"time_h": f"{value:.4g} h", "cycle": f"cycle {value:g}", "capacity_mAh_cm2": f"{value:g} mAh/cm2",
                    "temperature_K": f"{value:.4g} °C",
                    "dc_potential_V": f"{value:.4g} V"}[axis]  # type: ignore[index]
        return self.label if len(self.label) <= SHORT_LABEL else f"checkpoint {index}"

    def value_on(self, axis: str | None) -> float | None:
        """The checkpoint's value on an evolution axis (``time_h``, ``cycle``,
        ``capacity_mAh_cm2``, ``dc_potential_V``; ``temperature_K`` in °C, as told), None where
        it has none."""
        if axis not in EVOLUTION_AXIS_LABELS:
            return None
        value = getattr(self, axis)
        if value is None:
            return None
        return float(value) - (KELVIN_AT_0C if axis == "temperature_K" else 0.0)


def _compared_fields(checkpoint: Checkpoint) -> tuple:
    return tuple(checkpoint.__dict__["_spectrum"] if f.name == "spectrum" else getattr(checkpoint, f.name)
                 for f in dataclasses.fields(checkpoint) if f.compare)


def _spectrum_of(checkpoint: Checkpoint) -> Spectrum | None:
    return loaded(checkpoint.__dict__["_spectrum"])


def _set_spectrum(checkpoint: Checkpoint, spectrum: Spectrum | None) -> None:
    checkpoint.__dict__["_spectrum"] = spectrum


# ``spectrum`` as the dataclass's field, held as ``_spectrum``: in memory, or where a large campaign's
# spool keeps it (Checkpoint.stash_spectrum), read back when asked for
Checkpoint.spectrum = property(_spectrum_of, _set_spectrum,  # type: ignore[assignment]
                               doc="The checkpoint's spectrum (None where its file could not be read).")


@dataclass
class CampaignSource:
    """Checkpoints in campaign order, how they were ordered, and file-level defaults."""

    checkpoints: list[Checkpoint]
    ordering: str
    defaults: dict[str, Any]
    name: str | None = None


# ---- public entry ---------------------------------------------------------------

def load_checkpoints(source: Any, executor: Executor | Callable[[int], Executor | None] | None = None,
                     reader: ReaderOptions | None = None) -> CampaignSource:
    """Checkpoints from a folder, a glob, a campaign file (.toml/.csv), a data file,
    a list of paths or a list of :class:`~eisfit.Spectrum`.

    ``executor``: local worker processes that read the data files of a folder, glob or
    list of paths in parallel (the readers' warnings are re-issued here, in file order), or a
    function of the number of files that returns them (None: read here; what
    :func:`eisfit.fit_campaign` passes: with ``jobs="auto"`` it starts workers only for many files).
    ``reader``: the reader options of every file (:class:`eisfit.io.ReaderOptions`; None:
    as detected); a campaign file's rows and ``[defaults]`` are layered with them (row >
    ``reader`` > ``[defaults]``). Spectra given in memory are not read: options given with
    them raise a :class:`CampaignWarning`.
    """
    reader = ReaderOptions() if reader is None else reader
    if isinstance(source, Spectrum):
        source = [source]
    if isinstance(source, (list, tuple)):
        if not source:
            raise CampaignError("the campaign list is empty: give spectra or file paths")
        if all(isinstance(s, Spectrum) for s in source):
            _warn_reader_unused(reader)
            return _from_spectra(source)
        if all(isinstance(s, (str, Path)) for s in source):
            paths = _without_repeated_paths([Path(s) for s in source])
            return _labelled_by_name(_from_files(paths, executor=executor, reader=reader), paths)
        raise CampaignError("a campaign list must hold only Spectrum objects or only file paths")
    if not isinstance(source, (str, Path)):
        raise CampaignError(f"cannot make a campaign from {type(source).__name__}")
    text = str(source)
    path = Path(source)
    kind = _path_kind(path)
    if kind == "dir":
        # a dangling link, a link loop or a named pipe named like a data file is a checkpoint that
        # failed, with its reason (it had been skipped without a word); only regular files are
        # looked into for a campaign file (a pipe's header would block)
        entries = [p for p in path.iterdir() if not p.name.startswith(".") and not p.is_dir()]
        campaign_files = {p for p in entries if p.is_file() and _is_campaign_file(p)}  # a csv's header read once
        _warn_campaign_files_unused(path, campaign_files)
        data = [p for p in entries if p not in campaign_files and p.suffix.lower() not in _SKIP_SUFFIXES]
        return _from_files(data, folder=path, executor=executor, reader=reader)
    if kind == "file" and _is_campaign_file(path):
        return _from_campaign_file(path, reader)
    if kind == "file":
        return _labelled_by_name(_from_files([path], reader=reader), [path])
    if any(ch in text for ch in "*?["):
        files = [Path(p) for p in _glob.glob(text, recursive=True) if Path(p).is_file()]
        if not files:
            raise CampaignError(f"{text}: the pattern matches no file")
        return _from_files(files, executor=executor, names_from=_common_folder(files), reader=reader)
    raise CampaignError(f"{text}: no such file, folder or pattern")


def _without_repeated_paths(paths: list[Path]) -> list[Path]:
    """The paths of a campaign list, each file once (the first time it is listed), with a
    :class:`CampaignWarning` naming those listed again (``[a, b, a]`` had fitted a twice, two
    rows at one time)."""
    seen: set[str] = set()
    kept, repeated = [], []
    for p in paths:
        key = os.path.normcase(os.path.realpath(p))
        if key in seen:
            repeated.append(str(p))
            continue
        seen.add(key)
        kept.append(p)
    if repeated:
        warnings.warn(f"the campaign list names {len(repeated)} file(s) more than once, fitted once each: "
                      f"{_names(list(dict.fromkeys(repeated)))}", CampaignWarning, stacklevel=user_stacklevel())
    return kept


def _warn_reader_unused(reader: ReaderOptions) -> None:
    """A CampaignWarning when reader options come with spectra given in memory, which no
    reader reads (the options would otherwise be ignored without a word)."""
    if reader.given():
        warnings.warn(f"the reader options ({reader.describe()}) are not used: the campaign was given spectra, "
                      "already read (pass them to eisfit.read instead)", CampaignWarning, stacklevel=user_stacklevel())


# ---- helpers --------------------------------------------------------------------

def _labelled_by_name(src: CampaignSource, paths: Sequence[Path]) -> CampaignSource:
    """The checkpoints of data files given by their paths (one file, a list) labelled as a
    folder's are, by the file name (``cell.mpr#9``; where two files of different folders
    share a name, the shortest tail of their paths that tells them apart, ``run1/cell.mpr``:
    :func:`eisfit._files.distinct_names`), not by the paths as given (the table, the figure
    panels, the residual map, the DRT lines and the report had carried /work/data/...);
    ``file`` keeps the path."""
    _relabel(src.checkpoints, dict(zip(map(str, paths), distinct_names(paths))))
    return src


def _relabel(checkpoints: Sequence[Checkpoint], names: Mapping[str, str]) -> None:
    """Each checkpoint labelled by its file (``file#k``) labelled ``names[file]`` instead
    (``name#k``); a label of its own (a campaign file's ``label``) is kept."""
    for c in checkpoints:
        name = names.get(c.file or "")
        if name is not None and c.label.startswith(c.file):
            c.label = name + c.label[len(c.file):]



def _path_kind(path: Path) -> str | None:
    """``"dir"``, ``"file"`` or None (absent, or a name the system refuses, e.g. too long)."""
    try:
        return "dir" if path.is_dir() else "file" if path.is_file() else None
    except (OSError, ValueError):
        return None


# a number of a file name; a minus right before it after a separator or at the start is its sign
# (EIS_WT_-0.3V, cell(-20C)); not after a letter or digit (cell-1, 2024-05-01: a dash between words)
_NUMBER = re.compile(r"((?:(?:^|(?<=[_ (=,;\[]))-)?\d+(?:\.\d+)?)")
_COUNTER = re.compile(r"(\d+(?:\.\d+)*)")
_DOTTED = re.compile(r"\d+(?:\.\d+)+")


def natural_key(name: str, counters: bool = False) -> tuple[list[Any], list[Any]]:
    """Sort key in which numbers compare as numbers, decimals too: file2 < file10, and
    cell_0d < cell_0.5d < cell_1d (digit runs alone put 0.5d first: '.' sorts before 'd'),
    with their sign where a minus follows a separator (``_-0.3V`` < ``_0.005V`` < ``_0.2V``;
    ``cell-1`` has a dash, not a sign);
    names whose numbers are equal as decimals (run_1.1, run_1.10) by their digit runs.
    ``counters``: a dotted number is a loop counter or version instead, compared part by part
    (run_1.9 < run_1.10); :func:`natural_order` decides which for a set of names."""
    if counters:
        numbers = [tuple(int(p) for p in part.split(".")) if k % 2 else part.lower()
                   for k, part in enumerate(_COUNTER.split(name))]
    else:
        numbers = [_exact_number(part) if k % 2 else part.lower() for k, part in enumerate(_NUMBER.split(name))]
    return numbers, [int(part) if k % 2 else part.lower() for k, part in enumerate(re.split(r"(\d+)", name))]


def natural_order(names: Iterable[str]) -> Callable[[str], tuple[list[Any], list[Any]]]:
    """The :func:`natural_key` to sort ``names`` together with: dotted numbers read as
    counters where the set shows them to be (:func:`dotted_counters`), else as decimals."""
    counters = dotted_counters(names)
    return lambda name: natural_key(name, counters)


def dotted_counters(names: Iterable[str]) -> bool:
    """Whether the dotted numbers of ``names`` are loop counters or versions rather than
    decimals. One name alone cannot tell (``run_1.10`` after ``run_1.9``, or ``SOC_0.25``
    before ``SOC_0.5``?); a set can: a number with two dots or more (``2024.3.12``) is no
    decimal, and fractions of several lengths of which a longer one ends in 0 (``1.9``,
    ``1.10``) are counters (a decimal written shortest never ends in 0). Fractions of one
    length (``0.10``, ``0.25``, ``0.50``) order the same either way."""
    dotted = [m for name in names for m in _DOTTED.findall(name)]
    if any(m.count(".") > 1 for m in dotted):
        return True
    fractions = {m.split(".")[1] for m in dotted}
    return len({len(f) for f in fractions}) > 1 and any(len(f) > 1 and f.endswith("0") for f in fractions)


def _exact_number(text: str) -> int | Decimal:
    """A number of a name, exactly: a 17-digit time stamp as a float would tie with its
    neighbours (int and Decimal compare exactly with each other)."""
    return Decimal(text) if "." in text else int(text)


def _is_campaign_file(p: Path) -> bool:
    if p.suffix.lower() == ".toml":
        return True
    if p.suffix.lower() != ".csv":
        return False
    # the first line alone, as bytes: 5,000 CSV files opened as text took 0.14 s here, before the reads
    try:
        with p.open("rb") as fh:
            first = fh.readline(_HEADER_BYTES).decode("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    header = next(csv.reader(first[:1]), [])
    return "file" in [h.strip() for h in header]


_HEADER_BYTES = 65536  # a campaign file's header line is read up to this length


# what eisfit and its users write beside the data (outputs, notes); a .txt may be an
# instrument export (Autolab, CH Instruments, ZView text...), so it is read, and a folder's
# file whose content no reader recognises is left out with a warning (see _from_files)
_SKIP_SUFFIXES = {".toml", ".md", ".json", ".png", ".svg", ".pdf", ".parquet", ".py", ".html", ".ipynb"}


def _subfolder_hint(folder: Path | None) -> str:
    """Where a folder without data files of its own has subfolders: that a campaign reads
    the files of one folder, and how to take those below it."""
    if folder is None:
        return ""
    subfolders = [d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")]
    subfolders.sort(key=natural_order(subfolders))
    if not subfolders:
        return ""
    shown = ", ".join(subfolders[:3]) + (f" and {len(subfolders) - 3} more" if len(subfolders) > 3 else "")
    return (f"a campaign reads the files of one folder; it has the subfolder(s) {shown}: "
            f"give one of them, or a glob of the files below it, e.g. '{folder}/**/*.csv' in quotes")


def _warn_campaign_files_unused(folder: Path, campaign_files: Iterable[Path]) -> None:
    """One CampaignWarning naming those of a folder's ``campaign_files`` (:func:`_is_campaign_file`)
    that list checkpoints (:func:`_lists_checkpoints`): a folder campaign fits the folder's
    data files and does not use them, and a user who kept the list beside the data most
    likely meant it to be the source."""
    listed = [p.name for p in campaign_files if _lists_checkpoints(p)]
    listed.sort(key=natural_order(listed))
    if listed:
        one = len(listed) == 1
        warnings.warn(f"{folder}: {_names(listed)} {'lists' if one else 'list'} checkpoints (a campaign file), "
                      f"which a folder campaign does not use: it fits the folder's data files; give "
                      f"{'it' if one else 'one'} as the source to fit what it lists with its times and settings "
                      f"(eisfit campaign {folder / listed[0]})", CampaignWarning, stacklevel=user_stacklevel())


def _lists_checkpoints(p: Path) -> bool:
    """Whether ``p`` is a campaign file that lists checkpoints: a .toml with ``[[checkpoint]]``
    tables, or a .csv whose ``file`` column names a file beside it (not a table of results,
    whose files are elsewhere, nor eisfit's own summary, with its ``content_sha256`` column).
    ``p`` is a campaign file by its name and header (:func:`_is_campaign_file`)."""
    try:
        if p.suffix.lower() == ".toml":
            return "[[checkpoint]]" in p.read_text(encoding="utf-8", errors="replace")[:1_000_000]
        with p.open(newline="", encoding="utf-8-sig") as fh:
            rows = csv.DictReader(fh)
            if "content_sha256" in [h.strip() for h in rows.fieldnames or []]:
                return False
            named = [str(row.get("file") or "").strip() for _, row in zip(range(1000), rows)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return any(name and (p.parent / name).is_file() for name in named)


def sha256_of_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_of_spectrum(s: Spectrum) -> str:
    """Hash of the selected points (frequency and Z), for spectra given in memory."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(s.frequency, dtype=float).tobytes())
    h.update(np.ascontiguousarray(s.z, dtype=complex).tobytes())
    return h.hexdigest()


# the readers' advice names the options of `eisfit fit`/`read` (and their Python keywords): a
# campaign gives them to every file, or to the files of a campaign file's row or [defaults]
_READER_OPTIONS = re.compile(r"--(format|columns|imag-sign)\b")
CAMPAIGN_READER_ADVICE = ("; in a campaign: eisfit campaign --format, --columns, --imag-sign for every file, or "
                          "format, columns, imag_sign in a campaign file's row for its file (or in [defaults]); in "
                          "Python fit_campaign(..., reader=eisfit.ReaderOptions(format=..., columns=..., "
                          "imag_sign=...))")


def campaign_reader_text(text: str) -> str:
    """A reader's message as the campaign gives it: where it advises an option of the file
    commands (``--format``, ``--columns``, ``--imag-sign``), how a campaign gives it (once)."""
    if _READER_OPTIONS.search(text) and CAMPAIGN_READER_ADVICE not in text:
        return text + CAMPAIGN_READER_ADVICE
    return text


@dataclass(frozen=True)
class _ReadFailure:
    """Why a file cannot be read (``reason``) and the traceback of the exception behind it
    (None where none was raised: a named pipe not opened)."""

    reason: str
    traceback: str | None = None


def _read_file(path: Path, reader: ReaderOptions) -> tuple[list[Spectrum] | None, str, _ReadFailure | None]:
    """(spectra or None, sha256 of the bytes, the failure or None), read with ``reader``; the
    reader's warnings are issued again with the campaign's advice (:func:`campaign_reader_text`)."""
    try:
        special = special_file_kind(path)
        if special:  # reading a named pipe or a device could block the campaign for ever
            return None, "", _ReadFailure(f"not a regular file ({special}): not read")
        digest = sha256_of_file(path)
    except OSError as exc:
        return None, "", _ReadFailure(f"cannot open: {exc.strerror or exc}", _traceback_text(exc))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spectra, failure = _read_spectra(path, reader)
    for w in caught:
        warnings.warn(campaign_reader_text(str(w.message)), w.category, stacklevel=user_stacklevel())
    if failure is not None:
        failure = dataclasses.replace(failure, reason=campaign_reader_text(failure.reason))
    return spectra, digest, failure


def _read_spectra(path: Path, reader: ReaderOptions) -> tuple[list[Spectrum] | None, _ReadFailure | None]:
    """(spectra, None) or (None, why the file cannot be read), read with ``reader``."""
    from ..io import read

    try:
        return read(path, **reader.given()), None
    except Exception as exc:  # a reader bug (not an EisfitError) must not stop a 1000 h campaign either
        return None, _ReadFailure(_read_error_reason(path, exc), _traceback_text(exc))


def _read_error_reason(path: Path, exc: Exception) -> str:
    """The text of a campaign's error row for a file whose reading raised ``exc``."""
    if isinstance(exc, UnknownFormatError):
        reason = str(getattr(exc, "reason", None) or exc)
        if _names_impedance_columns(path):  # a damaged data file (a header names its columns): an error row
            return f"damaged: {reason}"
        return reason if reason.startswith(UNRECOGNISED) else f"{UNRECOGNISED}: {reason}"
    if isinstance(exc, NoImpedanceDataError):  # an instrument file of another technique (cycling, CV...)
        return exc.reason if exc.reason.startswith(OTHER_TECHNIQUE) else f"{OTHER_TECHNIQUE}: {exc.reason}"
    if isinstance(exc, EisfitError):
        return str(getattr(exc, "reason", None) or exc)
    return f"reader failed: {type(exc).__name__}: {exc}"


def _traceback_text(exc: BaseException) -> str:
    """The Python traceback of ``exc`` as text (kept with an error row for ``eisfit --debug``)."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def acquisition_time(s: Spectrum) -> dt.datetime | None:
    """Start of the sweep from the reader's metadata (sweep_start_time, else start_time)."""
    for key in ("sweep_start_time", "start_time"):
        value = s.meta.get(key)
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, str) and value:
            try:
                return dt.datetime.fromisoformat(value)
            except ValueError:
                continue
    return None


PARALLEL_READ_MIN_FILES = 64  # fewer files are read here (starting the workers' reading costs more)
READ_BATCH_FILES = 64  # files per task of a parallel read


def _checkpoints_and_warnings(path: Path, display: str,
                              reader: ReaderOptions) -> tuple[list[Checkpoint], list[tuple[str, type]]]:
    """Worker side of a parallel read: the file's checkpoints (read with ``reader``) and the
    warnings its reader gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = _checkpoints_of_file(path, display, reader=reader)
    return found, [(str(w.message), w.category) for w in caught]


def _checkpoints_of_file(path: Path, display: str, sweep: int | None = None, *,
                         reader: ReaderOptions, **meta: Any) -> list[Checkpoint]:
    """The checkpoints of one data file (of one ``sweep``, else of each), read with ``reader``,
    labelled ``display`` (``display#k`` for sweep k of several); an
    unreadable file is one checkpoint with its error. ``meta``: the Checkpoint fields a
    campaign file's row gives (label, cell, time_h...)."""
    spectra, digest, failure = _read_file(path, reader)
    if failure is not None:
        label = meta.pop("label", None) or display
        return [Checkpoint(label=label, spectrum=None, file=display, sweep=sweep, content_sha256=digest,
                           error=failure.reason, error_traceback=failure.traceback, reader=reader, **meta)]
    assert spectra is not None
    indices = range(len(spectra)) if sweep is None else [sweep]
    out = []
    for k in indices:
        label = meta.get("label") or (display if len(spectra) == 1 else f"{display}#{k}")
        if len(spectra) > 1 and meta.get("label") and sweep is None:
            label = f"{meta['label']}#{k}"
        rest = {key: v for key, v in meta.items() if key != "label"}
        if not 0 <= k < len(spectra):
            out.append(Checkpoint(label=label, spectrum=None, file=display, sweep=k,
                                  content_sha256=digest, reader=reader,
                                  error=f"sweep {k} does not exist (file has {len(spectra)})", **rest))
            continue
        t = acquisition_time(spectra[k])
        if rest.get("cycle") is None:  # the campaign file gives none: the file's cycle column
            rest["cycle"] = _float_or_none(spectra[k].meta.get("cycle"))
        if rest.get("temperature_K") is None:  # nor a temperature: the one the file states per sweep
            rest["temperature_K"] = _meta_temperature_K(spectra[k], k)
        rest["dc_potential_V"] = _float_or_none(spectra[k].meta.get("dc_potential_V"), finite=True)
        out.append(Checkpoint(label=label, spectrum=spectra[k].only_columns(is_instrument_noise_column),
                              file=display, sweep=k,
                              content_sha256=digest, start_time=None if t is None else t.isoformat(),
                              reader=reader, **rest))
    return out


def _common_folder(paths: Sequence[Path]) -> Path | None:
    """The folder all ``paths`` lie in (labels are named from it), None when there is none."""
    try:
        return Path(os.path.commonpath([str(p.parent) for p in paths]))
    except ValueError:  # different drives, or absolute and relative paths mixed
        return None


def _from_files(paths: Sequence[Path], folder: Path | None = None,
                executor: Executor | Callable[[int], Executor | None] | None = None,
                names_from: Path | None = None, *, reader: ReaderOptions) -> CampaignSource:
    """Checkpoints of the data files ``paths``, each read with ``reader``:
    of a ``folder`` (its other files are left out, see :func:`_without_foreign_files`), else
    as listed; labels are the paths relative to ``folder`` or ``names_from`` (a glob's
    common folder: not absolute paths)."""
    if not paths:
        hint = _subfolder_hint(folder)
        raise CampaignError(f"{folder or 'source'}: no data file found" + (f" directly in it ({hint})" if hint else ""))
    order = natural_order(str(p) for p in paths)
    paths = sorted(paths, key=lambda p: order(str(p)))
    root = folder if folder is not None else names_from
    displays = [str(p.relative_to(root)) if root is not None else str(p) for p in paths]
    checkpoints: list[Checkpoint] = []
    if callable(executor):  # the workers for this many files, if any
        executor = executor(len(paths))
    parallel = executor is not None and len(paths) >= PARALLEL_READ_MIN_FILES
    if parallel:
        size = max(1, min(READ_BATCH_FILES, len(paths) // 8))
        try:
            for found, caught in executor.map(_checkpoints_and_warnings, paths, displays, [reader] * len(paths),
                                              chunksize=size):
                checkpoints.extend(found)
                for message, category in caught:
                    warnings.warn(message, category, stacklevel=user_stacklevel())
        except BrokenExecutor:  # a worker died (killed, out of memory): read them here instead
            checkpoints, parallel = [], False
    if not parallel:
        for p, display in zip(paths, displays):
            checkpoints.extend(_checkpoints_of_file(p, display, reader=reader))
    _share_meta_text(checkpoints)
    share_equal_arrays(c.spectrum for c in checkpoints if c.spectrum is not None)
    if folder is not None:
        checkpoints = _without_foreign_files(checkpoints, folder)
    checkpoints = _without_duplicate_files(checkpoints, folder)
    _warn_mixed_channels(checkpoints, folder)
    ordered, ordering = order_checkpoints(checkpoints)
    _fill_temperature_from_names([c for c in ordered if c.ok])
    _drop_per_file_cycles(ordered, folder)
    return CampaignSource(ordered, ordering, {})


SHARED_TEXT_MAX = 24  # characters: the meta values interned (formats, column names, rules' names), not paths


def _share_meta_text(checkpoints: list[Checkpoint]) -> None:
    """Each spectrum's meta with its keys and short text values interned: read by a worker
    process and unpickled (or parsed from each file's header), every spectrum had its own copy
    of each ("format", "csv", "columns_detected", "freq_Hz"...), ~1.3 of the 2.3 KB its meta
    takes, held by the campaign process to the end (10,000 files: ~13 MB). The dicts stay the
    spectrum's own."""
    for c in checkpoints:
        if c.spectrum is not None:
            c.spectrum.meta = _interned(c.spectrum.meta)


def _interned(value: Any) -> Any:
    if type(value) is dict:
        return {sys.intern(k) if type(k) is str else k: _interned(v) for k, v in value.items()}
    if type(value) is str and len(value) <= SHARED_TEXT_MAX:
        return sys.intern(value)
    return value


UNRECOGNISED = "not an impedance data file"  # error text of a file no reader recognises
OTHER_TECHNIQUE = "no impedance data"  # error text of an instrument file of another technique


def _names_impedance_columns(path: Path) -> bool:
    """Whether the first kilobytes of a file hold the header of an impedance table (a data
    file, damaged, rather than notes that mention a frequency range)."""
    from ..io.tabular import names_impedance_columns

    try:
        with path.open("rb") as fh:
            return names_impedance_columns(fh.read(4096).decode("latin-1"))
    except OSError:
        return False


def _without_foreign_files(checkpoints: list[Checkpoint], folder: Path) -> list[Checkpoint]:
    """A folder's checkpoints without the files whose content no reader recognises (notes,
    logs, other programs' outputs beside the data) and without the instrument files that hold
    no impedance data (the cycling, voltammetry and rest steps a cycler writes beside the
    impedance files, EC-Lab's .mpl log and .mps settings of each run), each kind named in one
    warning. A file named explicitly (a list, a glob, a
    campaign file) stays an error row instead, and so does one named as the data files beside it
    (:func:`_sibling_pattern`: ``cell_0300h.csv`` among ``cell_0000h.csv``...): a damaged
    checkpoint, not a note (random bytes in one of 60 such files had been left out with a
    warning, the run ending with status 0, while an empty one was an error)."""
    data_patterns = {_sibling_pattern(c.file) for c in checkpoints if c.ok and c.file is not None}
    foreign = [c.file for c in checkpoints if c.error is not None and c.error.startswith(UNRECOGNISED)
               and _sibling_pattern(c.file or "") not in data_patterns]
    other = [c.file for c in checkpoints if c.error is not None and c.error.startswith(OTHER_TECHNIQUE)]
    if not foreign and not other:
        return checkpoints
    if len(foreign) + len(other) == len(checkpoints):
        found = [f"no reader recognises {_names(foreign)}"] if foreign else []
        found += [f"{_names(other)} hold no impedance data"] if other else []
        hint = _subfolder_hint(folder)
        found += [hint] if hint else []
        raise CampaignError(f"{folder}: no impedance data file found directly in it ({'; '.join(found)})")
    if foreign:
        warnings.warn(f"{folder}: left out {len(foreign)} file(s) that are not impedance data files "
                      f"(no reader recognises them): {_names(foreign)}", CampaignWarning, stacklevel=user_stacklevel())
    if other:
        warnings.warn(f"{folder}: left out {len(other)} file(s) with no impedance data (other techniques, "
                      f"a run's log or settings, tables of other quantities): {_names(other)}", CampaignWarning,
                      stacklevel=user_stacklevel())
    left_out = set(foreign) | set(other)
    return [c for c in checkpoints if c.file not in left_out]


def _sibling_pattern(path: str) -> str:
    """A file's name with each run of digits as ``#``, lower case (``cell_#h.csv``): files of
    one series of measurements share it."""
    return re.sub(r"\d+", "#", Path(path).name.lower())


_BINARY_FIRST = (".mpr",)  # of two files with the same points, the binary (full-precision) one is kept
# ... then an instrument's own export before a generic table (which lacks its start time, area...)
GENERIC_TABLE_FORMATS = ("csv", "wide-table", "json-table", "eisfit-json", "xlsx", "xls", "ods")
DUPLICATE_RTOL = 1e-5  # an .mpt prints 7 digits of the .mpr's float32 values


def _without_duplicate_files(checkpoints: list[Checkpoint], folder: Path | None) -> list[Checkpoint]:
    """The checkpoints without the exports that repeat a file beside them: a file whose every
    spectrum repeats one of a file with the same name and another extension (the .mpt EC-Lab
    writes beside its .mpr; the .mpr, binary and full-precision, is kept; of an instrument's
    export and a generic table, such as a CSV, the export, with its start time and area) is
    left out, named in one warning, so each measurement counts once. Other files with the
    same points (a copy under another name, a repeated synthetic spectrum) are kept and
    named in a warning."""
    spectra: dict[str, list[Spectrum]] = {}
    for c in checkpoints:
        if c.spectrum is not None and c.file is not None:
            spectra.setdefault(c.file, []).append(c.spectrum)
    if len(spectra) < 2:
        return checkpoints
    order = natural_order(spectra)
    files = sorted(spectra, key=lambda f: (not f.lower().endswith(_BINARY_FIRST),
                                           spectra[f][0].meta.get("format") in GENERIC_TABLE_FORMATS, order(f)))
    seen: dict[tuple, list[tuple[str, Spectrum]]] = {}
    duplicate_of: dict[str, str] = {}
    repeats: list[str] = []
    for file in files:
        keys = [_points_key(s) for s in spectra[file]]
        twins = [_same_points_in(seen.get(key, ()), s, file) for key, s in zip(keys, spectra[file])]
        if all(twins) and len(set(twins)) == 1:
            if _same_stem(file, twins[0]):
                duplicate_of[file] = twins[0]
                continue
            repeats.append(f"{file} (= {twins[0]})")
            continue  # its points are known already: comparing with them again would cost n^2
        for key, s in zip(keys, spectra[file]):
            seen.setdefault(key, []).append((file, s))
    where = folder or "source"
    if repeats:
        warnings.warn(f"{where}: {len(repeats)} file(s) hold the same points as another file and are fitted as "
                      f"checkpoints of their own: {_names(repeats)}", CampaignWarning, stacklevel=user_stacklevel())
    if not duplicate_of:
        return checkpoints
    shown = [f"{f} (= {duplicate_of[f]})" for f in sorted(duplicate_of, key=order)]
    warnings.warn(f"{where}: left out {len(shown)} export(s) holding the same points as the file of the same name "
                  f"beside them: {_names(shown)}", CampaignWarning, stacklevel=user_stacklevel())
    return [c for c in checkpoints if c.file not in duplicate_of]


def _same_stem(a: str, b: str) -> bool:
    """Two files of one name with other extensions ('run_C01.mpr', 'run_C01.mpt')."""
    pa, pb = Path(a), Path(b)
    return pa.with_suffix("") == pb.with_suffix("") and pa.suffix.lower() != pb.suffix.lower()


def _points_key(s: Spectrum) -> tuple:
    """A coarse key of a spectrum's points (count, end frequencies and |Z|, 4 digits): the
    candidates :func:`_same_points_in` compares in full."""
    ends = (s.frequency[0], s.frequency[-1], abs(s.z[0]), abs(s.z[-1])) if len(s) else ()
    return (len(s), *(float(f"{v:.4g}") for v in ends))


def _same_points_in(candidates: Sequence[tuple[str, Spectrum]], s: Spectrum, file: str) -> str | None:
    """The file of a spectrum seen before (in another file; ``candidates``: (file, spectrum)
    with the same :func:`_points_key`) with the same points, else None."""
    for other_file, other in candidates:
        if other_file != file and np.allclose(other.frequency, s.frequency, rtol=DUPLICATE_RTOL, atol=0) and \
                np.allclose(other.z, s.z, rtol=DUPLICATE_RTOL, atol=DUPLICATE_RTOL * float(np.max(np.abs(s.z)))):
            return other_file
    return None


def _warn_mixed_channels(checkpoints: list[Checkpoint], folder: Path | None) -> None:
    """A CampaignWarning when the files were measured on more than one potentiostat channel
    (``channel`` / ``channel_serial`` of the BioLogic readers): two cells followed as one."""
    channels: dict[tuple[str, int], list[str]] = {}
    for c in checkpoints:
        meta = c.spectrum.meta if c.spectrum is not None else {}
        if meta.get("channel") is not None:
            channels.setdefault((str(meta.get("channel_serial") or "?"), int(meta["channel"])), []).append(str(c.file))
    if len(channels) < 2:
        return
    files = {f for names in channels.values() for f in names}
    if len(files) == 1:  # one file's sweeps on several channels (a PalmSens session): no glob separates them
        counts = ", ".join(f"channel {ch}{_serial(sn)}: {len(names)} sweep(s)" for (sn, ch), names in
                           sorted(channels.items(), key=lambda item: item[0][1]))
        warnings.warn(f"{next(iter(files))}: its sweeps come from {len(channels)} potentiostat channels ({counts}): "
                      "different cells in one campaign? Follow one cell with a campaign file whose rows name "
                      "this file and the cell's sweeps (columns file, sweep; eisfit info lists each sweep's "
                      "channel)", CampaignWarning, stacklevel=user_stacklevel())
        return
    listing = "; ".join(f"channel {ch}{_serial(sn)}: {len(set(names))} file(s), e.g. {names[0]}"
                        for (sn, ch), names in sorted(channels.items()))
    warnings.warn(f"{folder or 'source'}: the files come from {len(channels)} potentiostat channels ({listing}): "
                  "different cells in one campaign? Follow one cell with a glob such as '*_C01.mpr' or a "
                  "campaign file", CampaignWarning, stacklevel=user_stacklevel())


def _serial(serial: str) -> str:
    """`` (SN 0123)`` of an instrument's serial number, "" where the file gives none."""
    return "" if serial in ("", "?") else f" (SN {serial})"


def _time_list(times: list, shown: int = 4) -> str:
    text = ", ".join(f"{t:g}" for t in times[:shown])
    return text + (", ..." if len(times) > shown else "")


def _names(files: list[str | None], shown: int = 5) -> str:
    names = [str(f) for f in files[:shown]]
    return ", ".join(names) + (f" and {len(files) - shown} more" if len(files) > shown else "")


def _moment(start_time: str | None) -> dt.datetime:
    """An acquisition start (ISO 8601) as a moment to compare: with a UTC offset (Ivium's
    ``2024-03-31T02:30:00+02:00``), in UTC, so that files across a change of daylight-saving
    time order right and offset and plain times compare at all (they raised a TypeError);
    without one, as written (the instrument's local time)."""
    return naive_utc(dt.datetime.fromisoformat(str(start_time)))


def order_checkpoints(checkpoints: list[Checkpoint]) -> tuple[list[Checkpoint], str]:
    """By acquisition time when every readable checkpoint has one (and they are not all one and
    the same), else natural file name.

    Unreadable files go last, in file-name order, unless their names state the time or cycle
    the others are ordered by (:func:`_failed_placed_by_names`,
    :func:`_failed_placed_by_named_hours`). ``time_h`` is filled
    from the acquisition times (hours since the first checkpoint) when missing; without
    acquisition times, from the time column of the file (``meta["time_s"]``, start of each
    sweep) when every checkpoint comes from one file that has one.
    """
    readable = [c for c in checkpoints if c.ok]
    failed = [c for c in checkpoints if not c.ok]
    natural = natural_order(c.file or "" for c in checkpoints)
    all_timed = bool(readable) and all(c.start_time for c in readable)
    # one start time for several checkpoints (the sweeps of one file stamped with the file's start:
    # a PalmSens session's 12 scans) orders nothing and gives no time axis
    one_time = all_timed and len(readable) > 1 and len({_moment(c.start_time) for c in readable}) == 1
    if all_timed and not one_time:
        readable.sort(key=lambda c: (_moment(c.start_time), natural(c.file or ""), c.sweep or 0))
        t0 = _moment(readable[0].start_time)
        for c in readable:
            if c.time_h is None:
                c.time_h = (_moment(c.start_time) - t0).total_seconds() / 3600.0
                c.extra.setdefault("time_source", "acquisition time")
        _fill_cycle_from_names(readable)  # the order is the files' times; names may still state cycles
        readable, failed = _failed_placed_by_named_hours(readable, failed)
        return readable + failed, "acquisition time (start time stored in the files)"
    if readable and any(c.start_time for c in readable) and not one_time:
        without = list(dict.fromkeys(c.file or c.label for c in readable if not c.start_time))
        warnings.warn(f"{len(without)} file(s) carry no acquisition time ({_names(without)}): checkpoints "
                      "ordered by file name", CampaignWarning, stacklevel=user_stacklevel())
    if _fill_time_from_names(readable):
        _fill_cycle_from_names(readable)  # names may state both: "cell_100cyc_500h"
        placed, failed = _failed_placed_by_names(readable, failed, hours_in_name, "time_h")
        placed.sort(key=lambda c: (c.time_h, natural(c.file or ""), c.sweep or 0))
        return placed + failed, "the hours in the file names (no acquisition time in the files)"
    if _fill_cycle_from_names(readable):
        placed, failed = _failed_placed_by_names(readable, failed, cycle_in_name, "cycle")
        placed.sort(key=lambda c: (c.cycle, natural(c.file or ""), c.sweep or 0))
        return placed + failed, "the cycle numbers in the file names (no acquisition time in the files)"
    ordered = sorted(checkpoints, key=lambda c: (natural(c.file or ""), c.sweep or 0))
    if _fill_time_from_time_column(readable):
        return ordered, "sweep order in the file (its time column gives time_h)"
    if len({c.file for c in readable}) == 1:  # one multi-sweep file: its sweeps in the order recorded
        return ordered, ("sweep order in the file (its sweeps share one start time and it has no time column)"
                         if one_time else "sweep order in the file (no acquisition time and no time column in it)")
    timed = sum(bool(c.start_time) for c in readable)
    missing = ("every checkpoint with one and the same acquisition time" if one_time else
               "no acquisition time in the files" if not timed else
               f"acquisition times in only {timed} of {len(readable)} checkpoints")
    if any(c.spectrum.meta.get("time_s") is not None for c in readable if c.spectrum is not None):
        return ordered, (f"natural file-name order ({missing}; their time columns "
                         "count from each file's own start, so they cannot order the files)")
    return ordered, f"natural file-name order ({missing})"


def _failed_placed_by_names(readable: list[Checkpoint], failed: list[Checkpoint], read: Callable[[str], Any],
                            field: str) -> tuple[list[Checkpoint], list[Checkpoint]]:
    """(the readable checkpoints with the failed ones whose file names state their time or
    cycle, the other failed ones), where the readable ones' names gave them theirs: a file
    that cannot be read keeps the ``time_h`` (``cycle``) its name states and its place among
    the others (``cell_100h.mpt`` cut off had gone last with no time, its row placed after
    the 200 h one)."""
    named = [c for c in failed if c.file is not None]
    if not named:
        return list(readable), failed
    names = _names_below_common_folder(readable + named)[len(readable):]
    placed = []
    for c, name in zip(named, names):
        value = read(name)
        if value is not None:
            setattr(c, field, float(value))
            c.extra.setdefault(f"{'time' if field == 'time_h' else field}_source", "file name")
            placed.append(c)
    return list(readable) + placed, [c for c in failed if c not in placed]


NAMED_HOURS_AGREE_H = 1.0  # names' hours agree with acquisition times within this, or ...
NAMED_HOURS_AGREE_SHARE = 0.1  # ... this share of the span the names state


def _failed_placed_by_named_hours(readable: list[Checkpoint],
                                  failed: list[Checkpoint]) -> tuple[list[Checkpoint], list[Checkpoint]]:
    """Where the files' acquisition times order the checkpoints and every readable file's
    name states its hours (``cell_0100h.mpt``): a :class:`CampaignWarning` when the names'
    order contradicts the acquisition times' (files renamed or mixed up: the evolution
    follows the acquisition times); where they agree (each within ``NAMED_HOURS_AGREE_H`` or
    ``NAMED_HOURS_AGREE_SHARE`` of the span), a file that cannot be read takes the time its
    name states on the acquisition times' axis and its place among the others instead of
    going last with no time. Returns (placed in order, failed still without a time)."""
    if not _one_file_each(readable) or any(c.extra.get("time_source") != "acquisition time" for c in readable):
        return readable, failed
    hours = _stated_by_every_name(readable, hours_in_name)
    if hours is None or len(set(hours)) == 1:
        return readable, failed
    by_name = sorted(range(len(readable)), key=lambda i: hours[i])
    if any(hours[i] > hours[j] for i, j in zip(range(len(readable)), range(1, len(readable)))):
        swapped = next((readable[i].file, readable[j].file) for i, j in zip(by_name, by_name[1:]) if i > j)
        warnings.warn(f"the hours in the file names contradict the files' acquisition times ({swapped[1]} was "
                      f"measured before {swapped[0]}, whose name states the earlier time): the checkpoints are "
                      "ordered and timed by the acquisition times", CampaignWarning, stacklevel=user_stacklevel())
        return readable, failed
    h0 = hours[0]
    tolerance = max(NAMED_HOURS_AGREE_H, NAMED_HOURS_AGREE_SHARE * (max(hours) - h0))
    if any(abs((h - h0) - c.time_h) > tolerance for c, h in zip(readable, hours)):
        return readable, failed
    placed, failed = _failed_placed_by_names(readable, failed, hours_in_name, "time_h")
    for c in placed[len(readable):]:
        c.time_h -= h0  # on the acquisition times' axis: hours since the first readable checkpoint
    return sorted(placed, key=lambda c: c.time_h), failed


def _name_words(name: str) -> str:
    """The folders and stem of a checkpoint's file name as the campaign shows it (relative to
    the folder or the glob's common folder), "_" read as a space: where names state hours,
    cycles or temperatures (``500h/EIS_C01.csv`` -> ``500h EIS C01``)."""
    path = PurePath(name)
    return " ".join([*path.parent.parts, path.stem]).replace("_", " ")


def _names_below_common_folder(readable: list[Checkpoint]) -> list[str]:
    """The checkpoints' file names below the folder they all share (a list of full paths:
    ``/data/run_24h/cell_0h.csv`` -> ``cell_0h.csv``), so that only what tells them apart
    states hours, cycles or temperatures; a folder's or a glob's names as they are."""
    files = [str(c.file) for c in readable]
    parents = [os.path.dirname(f) for f in files]
    try:
        common = os.path.commonpath(parents)
    except ValueError:  # absolute and relative paths mixed, or none
        return files
    return [os.path.relpath(f, common) for f in files] if common else files


def _stated_by_every_name(readable: list[Checkpoint], read: Callable[[str], Any]) -> list[Any] | None:
    """What ``read`` (:func:`hours_in_name`, :func:`cycle_in_name`, :func:`celsius_in_name`)
    finds in each checkpoint's name below their shared folder, None unless every name states it
    (the first name that does not ends the search: 5,000 names were each read three times)."""
    values = []
    for name in _names_below_common_folder(readable):
        value = read(name)
        if value is None:
            return None
        values.append(value)
    return values


# a time in a file name, as a number and its unit: "cell_500h", "LiMg_0100h_PEIS", "after-24hrs",
# "1.5h", "30min", "7days", "2d" (a lower-case d only: "3D" names a shape as often), or a day's
# number, "day7", "Day_3" (not "t12h": a number glued to letters before it is part of a name)
_TIME_IN_NAME = re.compile(
    r"(?<![A-Za-z0-9.,])(\d+(?:[.,]\d+)?)\s*(h|hr|hrs|hours?|min|mins|minutes?|days?|(?-i:d))(?![A-Za-z0-9])"
    r"|(?<![A-Za-z0-9])(day)[\s\-=#]*(\d+(?:[.,]\d+)?)(?![0-9.,]|\s*(?:h|hr|hrs|hours?|min|mins|minutes?)(?![A-Za-z]))",
    re.IGNORECASE)
# hours per unit of a time in a file name or a campaign file's column name (seconds: columns only)
_HOURS_PER_UNIT = {"h": 1.0, "hr": 1.0, "hrs": 1.0, "hour": 1.0, "hours": 1.0, "min": 1 / 60, "mins": 1 / 60,
                   "minute": 1 / 60, "minutes": 1 / 60, "d": 24.0, "day": 24.0, "days": 24.0,
                   "s": 1 / 3600, "sec": 1 / 3600, "secs": 1 / 3600, "second": 1 / 3600, "seconds": 1 / 3600}


def hours_in_name(name: str) -> float | None:
    """The time (h) a file name states, in hours, minutes or days (``cell_500h.csv`` -> 500.0,
    ``EIS_30min.csv`` -> 0.5, ``cell_2d.csv``, ``day2/EIS.csv`` -> 48.0; a checkpoint's folder
    states it too), None unless its stem and folders state exactly one (``0h_rest_24h`` is
    ambiguous)."""
    found = _TIME_IN_NAME.findall(_name_words(name))
    if len(found) != 1:
        return None
    number, unit, day, day_number = (text.replace(",", ".") for text in found[0])  # a decimal comma: 0,5h
    return float(day_number) * 24.0 if day else float(number) * _HOURS_PER_UNIT[unit.lower()]


# a temperature in a file name, with an explicit unit: "LLZO_60degC", "25°C", "140deg", "80oC"
# (a bare "25C" is not read: battery file names carry C-rates, "cell_2C")
_CELSIUS_IN_NAME = re.compile(r"(?<![A-Za-z0-9.,])(\d+(?:[.,]\d+)?)\s*(?:°C|ºC|degC|deg C|deg|oC)(?![A-Za-z0-9])",
                              re.IGNORECASE)


def celsius_in_name(name: str) -> float | None:
    """The temperature (°C) a file name states with an explicit unit (``LLZO_60degC.mpt`` ->
    60.0; ``cell_-20degC`` -> -20.0, a minus after a separator), None unless its stem and
    folders state exactly one."""
    stem = _name_words(name)
    found = list(_CELSIUS_IN_NAME.finditer(stem))
    if len(found) != 1:
        return None
    m = found[0]
    start = m.start(1)
    negative = start >= 1 and stem[start - 1] == "-" and (start == 1 or stem[start - 2] == " ")
    value = float(m.group(1).replace(",", "."))  # a decimal comma: 22,5degC
    return -value if negative else value


def _fill_temperature_from_names(readable: list[Checkpoint]) -> None:
    """Fill ``temperature_K`` from the temperature each file name states
    (:func:`celsius_in_name`) when none of the checkpoints has one and every file name states
    one (a temperature series exported as ``LLZO_25degC.csv, LLZO_60degC.csv...``)."""
    if not readable or any(c.temperature_K is not None or c.file is None for c in readable):
        return
    celsius = _stated_by_every_name(readable, celsius_in_name)
    if celsius is None:
        return
    for c, t in zip(readable, celsius):
        c.temperature_K = t + KELVIN_AT_0C  # type: ignore[operator]
        c.extra.setdefault("temperature_source", "file name")


# a cycle number in a file name: "cell_cycle50", "cyc_100", "after 50 cycles", "50cyc" (not
# EC-Lab's channel "C01")
_CYCLE_IN_NAME = re.compile(r"(?<![A-Za-z0-9])(?:cycles?|cyc)[\s\-=#]*(\d+)(?![0-9.])"
                            r"|(?<![A-Za-z0-9.])(\d+)[\s\-]*(?:cycles?|cyc)(?![A-Za-z])", re.IGNORECASE)


def cycle_in_name(name: str) -> int | None:
    """The cycle number a file name states (``EIS_cycle50.csv`` -> 50, ``after_100cycles``
    -> 100, ``cycle50/EIS.csv``), None unless its stem and folders state exactly one."""
    found = _CYCLE_IN_NAME.findall(_name_words(name))
    return int(found[0][0] or found[0][1]) if len(found) == 1 else None


def _one_file_each(readable: list[Checkpoint]) -> bool:
    """Whether there are at least two checkpoints, each from a file of its own (a file
    name can then stand for its checkpoint)."""
    files = [c.file for c in readable]
    return len(readable) >= 2 and None not in files and len(set(files)) == len(files)


def _fill_cycle_from_names(readable: list[Checkpoint]) -> bool:
    """Fill ``cycle`` from the cycle number each file name states (:func:`cycle_in_name`)
    when no checkpoint has one and every checkpoint comes from a file of its own whose name
    states one, not the same in all (``EIS_cycle0.csv, EIS_cycle50.csv...``); True when done."""
    if not _one_file_each(readable) or any(c.cycle is not None for c in readable):
        return False
    cycles = _stated_by_every_name(readable, cycle_in_name)
    if cycles is None or len(set(cycles)) == 1:  # one number in every name tells no checkpoint apart
        return False
    for c, n in zip(readable, cycles):
        c.cycle = float(n)  # type: ignore[arg-type]
        c.extra.setdefault("cycle_source", "file name")
    return True


def _fill_time_from_names(readable: list[Checkpoint]) -> bool:
    """Fill missing ``time_h`` from the time each file name states (:func:`hours_in_name`: hours,
    minutes or days) where the files carry no acquisition time: only when every checkpoint
    comes from a file of its own whose name states one time, not the same in all of them
    (then it describes the set, not each checkpoint), all of them not yet timed (a cycling
    campaign exported as ``cell_0h.csv, cell_500h.csv...``: its evolution is drawn against
    time, not the checkpoint number); True when done."""
    if any(c.time_h is not None for c in readable):
        return False
    if not _one_file_each(readable):  # a file with several sweeps: one name, several times
        _warn_names_time_files_of_several_sweeps(readable)
        return False
    hours = _stated_by_every_name(readable, hours_in_name)
    if hours is None or len(set(hours)) == 1:  # "cell_24h_rest_1.csv, cell_24h_rest_2.csv...": not their times
        return False
    for c, h in zip(readable, hours):
        c.time_h = h
        c.extra.setdefault("time_source", "file name")
    _warn_times_named_twice(readable, hours)
    return True


def _warn_names_time_files_of_several_sweeps(readable: list[Checkpoint]) -> None:
    """One CampaignWarning where the file names state distinct times but some file holds several
    sweeps, which one name cannot time: a folder of 61 one-sweep files, one of which gained a
    second sweep, had lost its time axis (ordered by file name, ``time_h`` empty in every row)
    without a word."""
    one_per_file = list({c.file: c for c in readable if c.file is not None}.values())  # a file's name: its checkpoints'
    if len(one_per_file) < 2 or len(one_per_file) == len(readable):
        return
    hours = _stated_by_every_name(one_per_file, hours_in_name)
    if hours is None or len(set(hours)) == 1:
        return
    counts = Counter(c.file for c in readable)
    several = [f"{Path(str(f)).name} ({n} sweeps)" for f, n in counts.items() if n > 1]
    warnings.warn(f"the file names state times, but {len(several)} file(s) hold several sweeps, which one name "
                  f"cannot time ({_names(several)}): checkpoints ordered by file name, without a time axis; give "
                  "each sweep its time in a campaign file, or keep one sweep per file", CampaignWarning,
                  stacklevel=user_stacklevel())


def _warn_times_named_twice(readable: list[Checkpoint], hours: list[float]) -> None:
    """One CampaignWarning where file names state one time more than once (``cellA_10h.csv``,
    ``cellB_10h.csv``): two cells in one folder were followed as one, their checkpoints
    interleaved and the headline's last value the other cell's."""
    seen: dict[float, str] = {}
    for c, h in zip(readable, hours):
        if h in seen:
            warnings.warn(f"file names state the same time more than once ({seen[h]} and {c.file}: {h:g} h): two "
                          "cells in one folder? They are followed as one cell; give each its own folder, a glob such "
                          "as 'cellA_*', or a campaign file with a cell column", CampaignWarning,
                          stacklevel=user_stacklevel())
            return
        seen[h] = str(c.file)


def _fill_time_from_time_column(readable: list[Checkpoint]) -> bool:
    """Fill missing ``time_h`` from ``meta["time_s"]`` (hours since the first sweep) when all
    checkpoints come from one file whose every sweep has it; True when done."""
    times = [_float_or_none(c.spectrum.meta.get("time_s")) if c.spectrum is not None else None
             for c in readable]
    if not readable or len({c.file for c in readable}) != 1 or any(t is None for t in times):
        return False
    if len(times) > 1 and not all(b > a for a, b in zip(times, times[1:])):  # type: ignore[operator]
        warnings.warn(f"{readable[0].file}: its time column does not increase from sweep to sweep "
                      f"({_time_list(times)} s): time_h left empty, the evolution is drawn against the "
                      "checkpoint number", CampaignWarning, stacklevel=user_stacklevel())
        return False
    t0 = min(times)  # type: ignore[type-var]
    for c, t in zip(readable, times):
        if c.time_h is None:
            c.time_h = (t - t0) / 3600.0  # type: ignore[operator]
            c.extra.setdefault("time_source", "time column of the file")
    return True


def _from_spectra(spectra: Sequence[Spectrum]) -> CampaignSource:
    """Checkpoints of spectra given in a list; a label that several share (``spectrum``, the
    label of spectra made from arrays) takes the list index: ``spectrum[3]``."""
    out = []
    counts = Counter(s.label for s in spectra)
    for k, s in enumerate(spectra):
        t = acquisition_time(s)
        src = s.meta.get("source")
        out.append(Checkpoint(
            label=s.label if counts[s.label] == 1 else f"{s.label}[{k}]", spectrum=s,
            file=None if src is None else str(src), sweep=s.meta.get("sweep"),
            start_time=None if t is None else t.isoformat(), content_sha256=sha256_of_spectrum(s),
            time_h=_float_or_none(s.meta.get("time_h")), cycle=_float_or_none(s.meta.get("cycle")),
            cell=str(s.meta.get("cell", DEFAULT_CELL)), temperature_K=_meta_temperature_K(s, k),
            current_mA_cm2=_float_or_none(s.meta.get("current_mA_cm2")),
            capacity_mAh_cm2=_float_or_none(s.meta.get("capacity_mAh_cm2")),
            dc_potential_V=_float_or_none(s.meta.get("dc_potential_V"), finite=True),
        ))
    warn_if_celsius_as_kelvin([s.meta["temperature_K"] for s in spectra if s.meta.get("temperature_K") is not None],
                              "the spectra's meta temperature_K")
    return CampaignSource(out, "as given (list of spectra)", {})


def _meta_temperature_K(s: Spectrum, index: int) -> float | None:
    """The temperature (K) a spectrum's meta gives (``temperature_K`` or ``temperature_C``,
    the keys of a campaign file), else None; CampaignError for a non-number or one at or
    below absolute zero."""
    values = {k: s.meta.get(k) for k in ("temperature_K", "temperature_C")}
    try:
        t = _temperature_K(values)
    except (TypeError, ValueError):
        raise CampaignError(f"spectrum {index} ({s.label}): temperature_K / temperature_C in its meta must be "
                            f"a number, got {values}") from None
    if t is not None and not t > 0:
        raise CampaignError(f"spectrum {index} ({s.label}): a temperature of {t:g} K is at or below absolute zero")
    return t


# ---- campaign files ---------------------------------------------------------------

def _from_campaign_file(path: Path, reader: ReaderOptions) -> CampaignSource:
    """The checkpoints a campaign file lists, each row's file read with the reader options
    layered row > ``reader`` (the argument) > ``[defaults]``."""
    if path.suffix.lower() == ".toml":
        rows, defaults, info = _parse_toml(path)
    else:
        rows, defaults, info = _parse_csv(path), {}, {}
    if not rows:
        raise CampaignError(f"{path}: the campaign file lists no checkpoint")
    defaults = _check_row(path, "[defaults]", defaults, allowed=DEFAULT_KEYS, need_file=False)
    cell_default = str(defaults.pop("cell", info.get("cell", DEFAULT_CELL)))
    default_reader = {k: defaults.pop(k) for k in READER_COLUMNS if k in defaults}
    warned: set[str] = set()
    checked = [_check_row(path, _row_name(path, i), r, warned=warned) for i, r in enumerate(rows)]
    missing = [r["file"] for r in checked if not _resolve(path, r["file"]).exists()]
    if missing:
        raise CampaignError(f"{path}: listed file(s) not found: {', '.join(missing)}")
    _warn_celsius_as_kelvin(path, checked, defaults)
    checkpoints: list[Checkpoint] = []
    listed: list[tuple[str, list[Checkpoint]]] = []  # (the row's name, its checkpoints)
    for i, row in enumerate(checked):
        where = _row_name(path, i)
        row_reader = ReaderOptions.layered(default_reader, reader, {k: row.get(k) for k in READER_COLUMNS})
        found = _checkpoints_of_row(path, row, defaults, cell_default, origin=f"{path}: {where}", reader=row_reader)
        listed.append((where, found))
        checkpoints.extend(found)
    _warn_repeated_data(path, listed)
    _label_absolute_paths_by_name(path, checked, checkpoints)
    _drop_per_file_cycles([c for row, (_, found) in zip(checked, listed) if row.get("cycle") is None
                           for c in found], path)
    _warn_rows_out_of_time_order(path, listed)
    return CampaignSource(checkpoints, f"campaign file order ({path.name})", defaults,
                          name=info.get("name"))


def _label_absolute_paths_by_name(path: Path, rows: Sequence[dict[str, Any]], checkpoints: Sequence[Checkpoint]) -> None:
    """The checkpoints of a campaign file's rows that give their file as an absolute path
    labelled as a list of paths is (:func:`_labelled_by_name`: the file name, or the shortest
    tail of the path that tells it from the campaign's other files), not by the whole path;
    a relative path is the label as written (relative to the campaign file, as a folder's
    names are relative to it)."""
    files = list(dict.fromkeys(str(r["file"]) for r in rows))
    names = distinct_names([_resolve(path, f) for f in files])
    _relabel(checkpoints, {f: n for f, n in zip(files, names) if Path(f).is_absolute()})


def _warn_rows_out_of_time_order(path: Path, listed: list[tuple[str, list[Checkpoint]]]) -> None:
    """One CampaignWarning where a cell's rows go back in time (20 h listed before 0 h): the
    table, the seeded chain and the evolution lines follow the file's order, as documented,
    and a trend read from them would be the rows' order, not the cell's history."""
    last: dict[str, tuple[str, float]] = {}
    for where, found in listed:
        for c in found:
            if c.time_h is None:
                continue
            before = last.get(c.cell)
            if before is not None and c.time_h < before[1]:
                warnings.warn(f"{path}: the rows are not in time order ({before[0]} at {before[1]:g} h, then {where} "
                              f"at {c.time_h:g} h): the table, the fits' chain and the evolution follow the rows' "
                              "order; sort the rows by time_h to follow the cell's history", CampaignWarning,
                              stacklevel=user_stacklevel())
                return
            last[c.cell] = (where, c.time_h)


def _warn_celsius_as_kelvin(path: Path, rows: list[dict[str, Any]], defaults: dict[str, Any]) -> None:
    """One warning when the temperatures a campaign file gives in K (``temperature_K`` of its
    rows, and of ``[defaults]`` for the rows without a temperature) look like °C
    (:func:`~eisfit.units.warn_if_celsius_as_kelvin`: 25-85 "K" ran silently as -248 °C)."""
    given = [r.get("temperature_K") if _has_temperature(r) else defaults.get("temperature_K") for r in rows]
    warn_if_celsius_as_kelvin([t for t in given if t is not None], f"{path}: temperature_K")


def _row_name(path: Path, index: int) -> str:
    """How an error or a warning names the row ``index`` (0-based) of a campaign file:
    ``row 3`` in a CSV (the data rows counted from 1), ``[[checkpoint]] 3`` in a TOML file."""
    return f"[[checkpoint]] {index + 1}" if path.suffix.lower() == ".toml" else f"row {index + 1}"


def _warn_repeated_data(path: Path, listed: list[tuple[str, list[Checkpoint]]]) -> None:
    """One CampaignWarning naming the data that rows of a campaign file list more than once:
    the same sweep of one file (or of files with the same bytes, or the same points in another
    file: an .mpt beside its .mpr, a CSV export) in two rows is fitted as two
    checkpoints, and at two different times it cannot be both. Rows that differ only in their
    fit settings or reader options (same time and cell: one measurement fitted or read two
    ways) are not warned about."""
    groups: dict[tuple, list[tuple[str, Checkpoint]]] = {}
    by_points: dict[tuple, list[tuple[str, Spectrum]]] = {}  # the spectra seen, by _points_key
    group_of_file: dict[tuple[str, int | None], tuple] = {}
    for where, found in listed:
        for c in found:
            data = c.content_sha256 or str(_resolve(path, c.file or "").resolve())
            key = (data, c.sweep)
            if key not in groups and c.spectrum is not None:  # other bytes, the same points: an export of
                # a file listed in another row (run.mpr and run.mpt)
                points = _points_key(c.spectrum)
                twin = _same_points_in(by_points.get(points, ()), c.spectrum, str(c.file))
                if twin is not None:
                    key = group_of_file[(twin, points)]
                else:
                    by_points.setdefault(points, []).append((str(c.file), c.spectrum))
                    group_of_file[(str(c.file), points)] = key
            groups.setdefault(key, []).append((where, c))
    repeats = []
    for entries in groups.values():
        if len(entries) < 2:
            continue
        checkpoints = [c for _, c in entries]
        times = {c.time_h for c in checkpoints}
        if len(times) == 1 and len({c.cell for c in checkpoints}) == 1 and \
                len({repr((sorted(c.settings.items()), c.reader)) for c in checkpoints}) == len(checkpoints):
            continue
        first = checkpoints[0]
        files = " = ".join(dict.fromkeys(str(c.file) for c in checkpoints))
        n_sweeps = first.spectrum.meta.get("n_sweeps", 1) if first.spectrum is not None else 1
        sweep = f" sweep {first.sweep}" if first.sweep is not None and n_sweeps != 1 else ""
        rows = ", ".join(where + ("" if c.time_h is None else f" at {c.time_h:g} h") for where, c in entries)
        when = f": one measurement at {len(times)} different times" if len(times) > 1 else ""
        repeats.append(f"{files}{sweep} ({rows}){when}")
    if repeats:
        shown = "; ".join(repeats[:5]) + (f"; and {len(repeats) - 5} more" if len(repeats) > 5 else "")
        warnings.warn(f"{path}: {len(repeats)} measurement(s) listed in more than one row, each fitted as a "
                      f"checkpoint of its own: {shown}", CampaignWarning, stacklevel=user_stacklevel())


def _drop_per_file_cycles(checkpoints: list[Checkpoint], where: Path | None) -> None:
    """Clear ``cycle`` of checkpoints in campaign order when it was read from the files' cycle
    columns and those count within each file (1, 2 in one file, 1, 2 again in the next: the
    numbers go back and repeat from file to file): not the campaign's cycles, they would tell
    the evolution against repeated numbers. The file's number is kept in
    ``extra["cycle_in_file"]`` (a summary column), with one CampaignWarning. Cycles that go
    on from file to file (1-3, then 3-5), files in another order than their cycles (no
    number in two files), or a cycle column that never changes are left alone, unless every
    file's holds one number (0 in each) while the file names state cycles: the names' are used."""
    by_file: dict[str, list[float]] = {}
    in_files: dict[float, set[str]] = {}
    for c in checkpoints:
        if c.cycle is not None:
            by_file.setdefault(str(c.file), []).append(c.cycle)
            in_files.setdefault(c.cycle, set()).add(str(c.file))
    cycles = [c.cycle for c in checkpoints if c.cycle is not None]
    goes_back = any(b < a for a, b in zip(cycles, cycles[1:]))
    # every file's counter at one number (0 in each) while the names state other cycles: the names'
    one_number = len(set(cycles)) == 1 and len(by_file) >= 2 and _names_state_cycles(checkpoints)
    if not one_number and (not goes_back or all(len(files) == 1 for files in in_files.values())):
        return
    for c in checkpoints:
        if c.cycle is not None:
            c.extra["cycle_in_file"], c.cycle = c.cycle, None
    shown = [f"{file}: {_time_list(numbers, shown=3)}" for file, numbers in by_file.items()]
    if one_number:
        _fill_cycle_from_names([c for c in checkpoints if c.ok])
        warnings.warn(f"{where or 'source'}: the cycle column of every file holds {cycles[0]:g} "
                      f"({len(by_file)} files) while their names state cycles: the names' are used (the files' "
                      "kept as cycle_in_file)", CampaignWarning, stacklevel=user_stacklevel())
        return
    warnings.warn(f"{where or 'source'}: the cycle numbers of the files repeat from file to file "
                  f"({'; '.join(shown[:3])}{'; ...' if len(shown) > 3 else ''}): they count within each file, "
                  "not along the campaign, so they are not used as the checkpoints' cycle (kept as "
                  "cycle_in_file); give each checkpoint its cycle in a campaign file", CampaignWarning,
                  stacklevel=user_stacklevel())


def _names_state_cycles(checkpoints: list[Checkpoint]) -> bool:
    """Whether every readable checkpoint's file name states a cycle, not the same in all."""
    readable = [c for c in checkpoints if c.ok]
    named = _stated_by_every_name(readable, cycle_in_name) if _one_file_each(readable) else None
    return named is not None and len(set(named)) > 1


def _resolve(campaign_path: Path, file: str) -> Path:
    p = Path(file).expanduser()
    return p if p.is_absolute() else campaign_path.parent / p


def _checkpoints_of_row(path: Path, row: dict[str, Any], defaults: dict[str, Any], cell_default: str,
                        origin: str | None = None, *, reader: ReaderOptions) -> list[Checkpoint]:
    """The checkpoints of one campaign-file row (checked by :func:`_check_row`), its file read
    with ``reader`` (layered already)."""
    temperature_K = _temperature_K(row if _has_temperature(row) else defaults)
    settings = {k: row[k] for k in FIT_SETTING_KEYS if k in row}  # [defaults] are layered by the caller
    extra = {k: v for k, v in row.items() if k not in KNOWN_COLUMNS}
    extra["time_source"] = "campaign file" if "time_h" in row else None
    meta = dict(
        label=row.get("label"), cell=str(row.get("cell", cell_default)), time_h=row.get("time_h"),
        cycle=row.get("cycle"), temperature_K=temperature_K, current_mA_cm2=row.get("current_mA_cm2"),
        capacity_mAh_cm2=row.get("capacity_mAh_cm2"),
    )
    cps = _checkpoints_of_file(_resolve(path, row["file"]), row["file"], row.get("sweep"), reader=reader, **meta)
    for c in cps:
        c.settings = dict(settings)
        c.extra = dict(extra)
        c.origin = origin
    if len(cps) > 1 and row.get("time_h") is not None:
        _time_the_sweeps(cps, float(row["time_h"]), origin or str(path))
    return cps


def _time_the_sweeps(cps: list[Checkpoint], time_h: float, where: str) -> None:
    """The row's ``time_h`` (h) as the first sweep's, each later sweep of the file timed by its
    own acquisition time after it; with no acquisition times, every sweep keeps the row's time,
    with a CampaignWarning. Every sweep had taken the row's time: cellpy's biol.mpr, 5 sweeps
    over 19.5 h listed at 0 h, read as five checkpoints at 0 h."""
    if all(c.ok and c.start_time for c in cps):
        t0 = _moment(cps[0].start_time)
        for c in cps:
            c.time_h = time_h + (_moment(c.start_time) - t0).total_seconds() / 3600.0
            c.extra["time_source"] = "campaign file, then the sweeps' acquisition times"
        return
    warnings.warn(f"{where}: its file holds {len(cps)} sweeps without acquisition times: each is given the row's "
                  f"time_h ({time_h:g} h); list each sweep in a row of its own (sweep = 0, 1...) with its time",
                  CampaignWarning, stacklevel=user_stacklevel())


def _has_temperature(values: dict[str, Any]) -> bool:
    return values.get("temperature_K") is not None or values.get("temperature_C") is not None


def _temperature_K(values: dict[str, Any]) -> float | None:
    if values.get("temperature_K") is not None:
        return float(values["temperature_K"])
    if values.get("temperature_C") is not None:
        return float(values["temperature_C"]) + KELVIN_AT_0C
    return None


def _check_temperature(path: Path, where: str, values: dict[str, Any]) -> None:
    """CampaignError for a temperature at or below absolute zero (temperature_K = -5,
    temperature_C = -300 ran and reached the Arrhenius fit)."""
    t = _temperature_K(values)
    if t is not None and not t > 0:
        given = "temperature_K" if values.get("temperature_K") is not None else "temperature_C"
        raise CampaignError(f"{path}: {where}: {given} = {values[given]!r} is at or below absolute zero")


CAMPAIGN_KEYS = ("name", "cell")  # what the [campaign] table of a campaign file sets


def _parse_toml(path: Path) -> tuple[list[dict], dict, dict]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CampaignError(f"{path}: not valid TOML: {exc}") from None
    tables = ("checkpoint", "defaults", "campaign")
    for name in sorted(set(data) - set(tables)):
        raise CampaignError(f"{path}: unknown key or table {name!r}{did_you_mean(name, tables)}; "
                            "a campaign file has [campaign], [defaults] and [[checkpoint]] tables")
    if not isinstance(data.get("defaults", {}), dict):
        raise CampaignError(f"{path}: 'defaults' must be a table ([defaults])")
    rows = data.get("checkpoint", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise CampaignError(f"{path}: 'checkpoint' must be an array of tables ([[checkpoint]])")
    info = data.get("campaign", {})
    if not isinstance(info, dict):
        raise CampaignError(f"{path}: 'campaign' must be a table ([campaign])")
    for key in sorted(set(info) - set(CAMPAIGN_KEYS)):  # free notes (synthetic = true) are kept,
        hint = did_you_mean(key, CAMPAIGN_KEYS, cutoff=0.75)  # a typo (cel = ...) was ignored silently
        if hint:
            raise CampaignError(f"{path}: [campaign]: unknown key {key!r}{hint}")
    return rows, dict(data.get("defaults", {})), dict(info)


def _parse_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        rows = []
        try:
            _check_header(path, reader.fieldnames or [])
            for raw in reader:
                if None in raw:
                    raise CampaignError(f"{path}: line {reader.line_num} has more values than columns")
                row = {k.strip(): v.strip() for k, v in raw.items() if k and v is not None and v.strip()}
                if row:
                    rows.append(row)
        except csv.Error as exc:  # a field longer than the csv module takes (131,072 characters), a NUL...
            raise CampaignError(f"{path}: line {reader.line_num}: not a campaign table ({exc})") from None
    return rows


def _check_header(path: Path, names: Sequence[str]) -> None:
    """CampaignError where the header names a column twice (``file,time_h,time_h``: the csv
    module keeps the last one's values, without a word)."""
    seen = Counter(n.strip() for n in names if n and n.strip())
    twice = [n for n, k in seen.items() if k > 1]
    if twice:
        raise CampaignError(f"{path}: the header names {', '.join(repr(n) for n in twice)} more than once")


def _check_row(path: Path, where: str, row: dict[str, Any], allowed: Iterable[str] | None = None,
               need_file: bool = True, warned: set[str] | None = None) -> dict[str, Any]:
    """Typed copy of one row; CampaignError naming the file and row on bad values.

    ``warned`` collects the free columns already warned about (one warning per column)."""
    out: dict[str, Any] = {}
    allowed_set = set(allowed) if allowed is not None else None
    if need_file and not str(row.get("file", "")).strip():
        raise CampaignError(f"{path}: {where}: the required column 'file' is missing or empty")
    if row.get("temperature_C") is not None and row.get("temperature_K") is not None:
        raise CampaignError(f"{path}: {where}: give temperature_C or temperature_K, not both")
    for key in ("temperature_C", "temperature_K"):
        if row.get(key) is not None:
            _check_temperature(path, where, {key: _number(path, where, key, row[key])})
    row = _time_in_hours(path, where, row)
    for key, value in row.items():
        if allowed_set is not None and key not in allowed_set:
            raise CampaignError(f"{path}: {where}: unknown key {key!r}{did_you_mean(key, allowed_set)}; "
                                f"known: {', '.join(sorted(allowed_set))}")
        if key not in KNOWN_COLUMNS:
            hint = did_you_mean(key, KNOWN_COLUMNS, cutoff=0.75)
            if hint:  # a typo of a known column would otherwise be ignored silently
                raise CampaignError(f"{path}: {where}: unknown column {key!r}{hint}")
            if warned is None or key not in warned:
                if warned is not None:
                    warned.add(key)
                warnings.warn(f"{path}: {key!r} is not a campaign column; carried to the "
                              "summary table as is", CampaignWarning, stacklevel=user_stacklevel())
            out[key] = value
        elif key in NUMERIC_COLUMNS:
            out[key] = _number(path, where, key, value)
        elif key in FREQUENCY_LIST_COLUMNS:
            out[key] = _frequencies(path, where, key, value)
        elif key == "sweep":
            number = _number(path, where, key, value)
            if number != int(number) or number < 0:
                raise CampaignError(f"{path}: {where}: sweep must be a whole number >= 0, got {value!r}")
            out[key] = int(number)
        elif key == "symmetric":
            out[key] = _boolean(path, where, value)
        elif key in READER_COLUMNS:
            out[key] = _reader_option(path, where, key, value)
        else:
            out[key] = str(value).strip()
    return out


# a time column in another unit than hours: "time_min", "time_s", "time_d", "Time (h)", "time / min",
# "t [s]", "elapsed time (d)": read as time_h
_TIME_COLUMN = re.compile(r"^(?:time|t|elapsed(?:[ _]time)?)\s*(?:_|/|\(|\[|\s)\s*"
                          r"(h|hr|hrs|hours?|min|mins|minutes?|s|sec|secs|seconds?|d|days?)\s*[)\]]?$", re.IGNORECASE)


def _time_in_hours(path: Path, where: str, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with a time column given in another unit (``time_min``, ``time_s``, ``time_d``,
    ``Time (h)``, ``time / min``...) as ``time_h``, converted; CampaignError where a row gives
    the time twice. A time without a unit (``time``) stays unknown ("did you mean 'time_h'")."""
    timed = {k: m.group(1).lower() for k in row if k != "time_h" and (m := _TIME_COLUMN.match(k.strip()))}
    if not timed:
        return row
    given = [*timed, *(["time_h"] if "time_h" in row else [])]
    if len(given) > 1:
        raise CampaignError(f"{path}: {where}: the time is given twice ({', '.join(repr(k) for k in given)}): "
                            "give one time column")
    (key, unit), = timed.items()
    hours = _number(path, where, key, row[key]) * _HOURS_PER_UNIT[unit]
    return {("time_h" if k == key else k): (hours if k == key else v) for k, v in row.items()}


def _reader_option(path: Path, where: str, key: str, value: Any) -> Any:
    """A reader option of a campaign-file row or ``[defaults]`` (``format``, ``imag_sign``,
    ``columns``: a TOML table, or text as ``--columns`` takes it), checked as
    :class:`eisfit.io.ReaderOptions` checks it; CampaignError naming the file and row."""
    try:
        if key == "columns" and isinstance(value, str):
            value = columns_from_text(value)
        return ReaderOptions(**{key: value}).given().get(key)
    except EisfitError as exc:
        text = str(getattr(exc, "reason", None) or exc)
        raise CampaignError(f"{path}: {where}: {text if key in text else f'{key}: {text}'}") from None


def _number(path: Path, where: str, key: str, value: Any) -> float:
    if isinstance(value, bool):
        raise CampaignError(f"{path}: {where}: {key} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CampaignError(f"{path}: {where}: {key} must be a number, got {value!r}") from None
    if not np.isfinite(number):
        raise CampaignError(f"{path}: {where}: {key} must be finite, got {value!r}")
    return number


def _frequencies(path: Path, where: str, key: str, value: Any) -> tuple[float, ...]:
    """Frequencies (Hz) of a list column: a TOML list or number, or CSV text such as
    ``50;100`` (separated by ';' or spaces; empty = none)."""
    if isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, str):
        items = value.replace(";", " ").split()
    else:
        items = [value]
    numbers = tuple(_number(path, where, key, v) for v in items)
    bad = [v for v in numbers if v <= 0]
    if bad:
        raise CampaignError(f"{path}: {where}: {key} must list frequencies > 0 Hz, got {bad[0]:g}")
    return numbers


def _boolean(path: Path, where: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise CampaignError(f"{path}: {where}: symmetric must be true or false, got {value!r}")


def _float_or_none(value: Any, finite: bool = False) -> float | None:
    """``float(value)``, or None where it is no number (``finite``: nor where it is nan or infinite)."""
    try:
        number = None if value is None else float(value)
    except (TypeError, ValueError):
        return None
    return None if finite and number is not None and not np.isfinite(number) else number
