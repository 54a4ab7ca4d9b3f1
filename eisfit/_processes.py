"""Worker processes: forked where that is safe, spawned elsewhere.

A forked worker starts at once with everything the main process has imported, and it
does not run the main script again. A spawned worker imports eisfit, numpy, scipy and
pandas anew (about a second of CPU each) and re-imports the main module, so a script
without an ``if __name__ == "__main__":`` guard cannot use it. Forking is safe only where
no other thread could hold a lock at the moment of the fork: on Linux, from the main
thread, with no thread running but tqdm's monitor (which only sleeps). A notebook kernel,
a Dask client in this process or any other thread means spawn.
"""
from __future__ import annotations

import multiprocessing
import sys
import threading
from multiprocessing.context import BaseContext

__all__ = ["fork_is_safe", "worker_context"]


def fork_is_safe() -> bool:
    """True where a forked child cannot inherit a lock held by another thread (see above)."""
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and threading.current_thread() is threading.main_thread()
            and all(t.daemon and t.name == "tqdm_monitor" for t in others))


def worker_context() -> BaseContext:
    """The start method for a pool of worker processes: fork where safe, else spawn."""
    return multiprocessing.get_context("fork" if fork_is_safe() else "spawn")
