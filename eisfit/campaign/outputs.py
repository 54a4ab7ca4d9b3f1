"""The files a campaign writes into its output folder, and what becomes of an earlier run's.

A run's outputs are whole or absent: every file is written to a temporary file beside it
and renamed into place (:mod:`eisfit._files`), and the rows streamed during the fits go to
:data:`PARTIAL_ROWS`, a name that says what it is, removed once ``summary.csv`` holds the
whole table. ``report.md`` and ``report.html`` are written last and name the files of their
own run: a folder without them holds an unfinished run.

Earlier runs into the same folder: when the outputs are written, the files eisfit names
(:func:`output_names`, never any other file) that this run does not write are removed, and
so are the earlier reports, before anything else is written (:func:`clear_earlier_outputs`);
a file this run writes again is replaced only once its new version is whole. When the
writing fails or is interrupted, the earlier run's files this run had not yet replaced are
removed too (:func:`remove_unreplaced`), so the folder never mixes two runs' files.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import CampaignError

__all__ = ["PARTIAL_ROWS", "REPORTS", "output_names", "clear_earlier_outputs", "snapshot", "remove_unreplaced",
           "outputs_held"]

PARTIAL_ROWS = "summary.partial.csv"  # rows streamed as the fits finish (default rows_file with out=)
LOCK_FILE = ".eisfit-campaign.lock"  # held by the run writing into a folder (outputs_held)
TABLES = ("summary.csv", "summary.parquet", "drt_peaks.csv", "arrhenius.csv")
REPORTS = ("report.md", "report.html")
FIGURES = ("evolution", "nyquist", "fits", "bode", "residual_map", "drt_map", "drt_stack", "arrhenius")


def figure_files(name: str) -> list[str]:
    """The file names of figure ``name`` (one per format of :data:`eisfit.plotting.FIGURE_FORMATS`)."""
    from ..plotting import FIGURE_FORMATS

    return [f"{name}.{ext}" for ext in FIGURE_FORMATS]


def output_names() -> list[str]:
    """Every file name a campaign may write into its output folder (not the cache, not
    :data:`PARTIAL_ROWS`)."""
    return [*TABLES, *REPORTS, *(f for name in FIGURES for f in figure_files(name))]


def clear_earlier_outputs(folder: Path, planned: Iterable[str]) -> list[str]:
    """Remove from ``folder`` the earlier reports and the files of :func:`output_names` that
    this run does not write (``planned``: the names it writes); returns the names removed
    other than the reports (files an earlier run left that this one has no counterpart for)."""
    planned = set(planned)
    removed = []
    for name in output_names():
        path = folder / name
        if (name in REPORTS or name not in planned) and path.is_file():
            path.unlink()
            if name not in REPORTS:
                removed.append(name)
    return removed


def snapshot(folder: Path, names: Iterable[str]) -> dict[str, tuple[int, int]]:
    """(inode, modification time) of the files ``names`` that exist in ``folder``: which of
    them are still an earlier run's after a failed write (:func:`remove_unreplaced`)."""
    found = {}
    for name in names:
        try:
            st = os.stat(folder / name)
        except OSError:
            continue
        found[name] = (st.st_ino, st.st_mtime_ns)
    return found


def remove_unreplaced(folder: Path, before: dict[str, tuple[int, int]]) -> list[str]:
    """After a failed or interrupted write: remove the files of ``before`` (a
    :func:`snapshot` taken when the writing began) that are unchanged, still an earlier
    run's; returns their names. Errors are ignored (the caller reports the first one)."""
    removed = []
    for name, state in before.items():
        path = folder / name
        try:
            st = os.stat(path)
            if (st.st_ino, st.st_mtime_ns) == state:
                path.unlink()
                removed.append(name)
        except OSError:
            continue
    return removed


@contextlib.contextmanager
def outputs_held(folder: Path) -> Iterator[None]:
    """Hold ``folder`` (an existing output folder) for one campaign from before its first fit to
    its last output: an exclusive lock on :data:`LOCK_FILE` there, which holds the run's process
    id and is removed at the end. A :class:`~eisfit.CampaignError` when another run holds it: two
    campaigns into one folder had left one run's table beside the other's report and figures,
    both ending well, and streamed their rows into one :data:`PARTIAL_ROWS`. Where the system
    has no ``fcntl`` (Windows) nothing is held."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path = folder / LOCK_FILE
    try:
        handle = open(path, "a+", encoding="ascii")
    except OSError as exc:
        raise CampaignError(f"{folder}: cannot write the outputs there: {exc.strerror or exc}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise CampaignError(f"{folder}: another eisfit campaign{f' (process {holder})' if holder else ''} is "
                            "writing its outputs there; wait until it ends, or give another output folder") from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # before the lock goes: a later run locks a new file
        handle.close()
