"""Start-up of the campaign's worker processes: they never outlive the main process.

A worker started by :func:`eisfit.fit_campaign` (``jobs > 1``) ignores SIGINT (the
main process decides what an interrupt means and stops the pool) and exits as soon
as the main process is gone, even when it was killed with SIGKILL and could not shut
the pool down (:func:`eisfit._processes.die_with_parent`: the kernel's parent-death
signal on Linux, a thread that checks every
:data:`~eisfit._processes.PARENT_POLL_SECONDS` everywhere). When the workers are gone,
multiprocessing's resource tracker sees its pipe close and exits too.
"""
from __future__ import annotations

import signal
import sys
import warnings

from .._processes import PARENT_POLL_SECONDS, die_with_parent, tune_allocator

__all__ = ["init_worker", "PARENT_POLL_SECONDS"]


def init_worker(parent_pid: int) -> None:
    """ProcessPoolExecutor initializer: ignore SIGINT, die with the process ``parent_pid``,
    keep freed memory for reuse (:func:`eisfit._processes.tune_allocator`)."""
    tune_allocator()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings.showwarning = _warning_line
    die_with_parent(parent_pid)


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """A worker's warnings as ``eisfit: warning:`` lines, as the command prints its own;
    numpy's floating-point RuntimeWarnings (optimiser noise) are dropped."""
    text = str(message)
    if issubclass(category, RuntimeWarning) and "encountered in" in text:
        return
    sys.stderr.write(f"eisfit: warning: {' '.join(text.split())}\n")
