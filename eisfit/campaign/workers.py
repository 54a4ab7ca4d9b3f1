"""Start-up of the campaign's worker processes: they never outlive the main process.

A worker started by :func:`eisfit.fit_campaign` (``jobs > 1``) ignores SIGINT (the
main process decides what an interrupt means and stops the pool) and exits as soon
as the main process is gone, even when it was killed with SIGKILL and could not shut
the pool down: on Linux the kernel sends the worker SIGKILL when its parent dies
(``prctl(PR_SET_PDEATHSIG)``); everywhere, a daemon thread checks once every
:data:`PARENT_POLL_SECONDS` that the parent is still its parent. When the workers
are gone, multiprocessing's resource tracker sees its pipe close and exits too.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
import warnings

__all__ = ["init_worker", "PARENT_POLL_SECONDS"]

PARENT_POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def init_worker(parent_pid: int) -> None:
    """ProcessPoolExecutor initializer: ignore SIGINT, die with the process ``parent_pid``,
    keep freed memory for reuse (:func:`eisfit._processes.tune_allocator`)."""
    from .._processes import tune_allocator

    tune_allocator()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings.showwarning = _warning_line
    _kernel_kills_me_with_parent()
    if os.getppid() != parent_pid:  # the parent died before we got here
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="eisfit-parent-watch",
                     daemon=True).start()


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """A worker's warnings as ``eisfit: warning:`` lines, as the command prints its own;
    numpy's floating-point RuntimeWarnings (optimiser noise) are dropped."""
    text = str(message)
    if issubclass(category, RuntimeWarning) and "encountered in" in text:
        return
    sys.stderr.write(f"eisfit: warning: {' '.join(text.split())}\n")


def _kernel_kills_me_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no libc symbol: the watch thread still works
        pass


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent_pid:  # re-parented: the main process is gone
            os._exit(1)
