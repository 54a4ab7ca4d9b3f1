"""Start-up of the campaign's worker processes: they never outlive the main process.

A worker started by :func:`eisfit.fit_campaign` (``jobs > 1``) ignores SIGINT (the
main process decides what an interrupt means and stops the pool) and exits as soon
as the main process is gone, even when it was killed with SIGKILL and could not shut
the pool down (every worker of :func:`eisfit._processes.owned_pool` starts with
:func:`~eisfit._processes.die_with_parent`: the kernel's parent-death
signal on Linux, a thread that checks every
:data:`~eisfit._processes.PARENT_POLL_SECONDS` everywhere). When the workers are gone,
multiprocessing's resource tracker sees its pipe close and exits too.
"""
from __future__ import annotations

import sys
import warnings

from .._processes import ignore_interrupts, tune_allocator

__all__ = ["init_worker", "load_before_fork"]


def load_before_fork() -> None:
    """Load in the main process, once, what each worker's first fit would load by itself:
    threadpoolctl's view of the BLAS libraries (:func:`eisfit._blas.blas_controller`)
    and ``numpy.ma`` (which ``np.unique`` imports on first use). Forked workers inherit them
    (~0.03 s of every worker's first task, in every campaign: each has its own pool)."""
    import numpy.ma  # noqa: F401

    from .._blas import blas_controller

    blas_controller()


def init_worker() -> None:
    """Set-up of a campaign worker (:func:`eisfit._processes.owned_pool`, which also makes it
    end with the main process): ignore SIGINT, keep freed memory for reuse
    (:func:`eisfit._processes.tune_allocator`), warnings as ``eisfit: warning:`` lines."""
    tune_allocator()
    ignore_interrupts()
    warnings.showwarning = _warning_line


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """A worker's warnings as ``eisfit: warning:`` lines, as the command prints its own;
    numpy's floating-point RuntimeWarnings (optimiser noise) are dropped."""
    text = str(message)
    if issubclass(category, RuntimeWarning) and "encountered in" in text:
        return
    sys.stderr.write(f"eisfit: warning: {' '.join(text.split())}\n")
