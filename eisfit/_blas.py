"""BLAS threads: eisfit's linear algebra works on small matrices, where OpenBLAS's threads
cost more than they give, and where starting them costs most.

An OpenBLAS thread that is started, or woken for a product, spins for ~0.1 s of CPU (its
``THREAD_TIMEOUT``, 2^28 cycles) before it sleeps. A fork stops the threads of the process
that forks, and in the child they do not exist; the next change of the thread count in
either process (a threadpoolctl limit, even to one thread, or its restoration) starts them
again, and they spin beside the fits. Measured on 2 cores: every campaign worker spent 0.1 s
of its first task's CPU so (a 500-spectrum task 0.98 s instead of 0.86 s), and each
``small_blas`` in the main process after a fork did as much. Hence:

- :func:`small_blas` limits BLAS to one thread around small products, and changes nothing
  where every BLAS already runs on one thread;
- :func:`hold_one_thread` keeps this process at one BLAS thread while eisfit's forked
  workers exist (:func:`eisfit._processes.owned_pool`): the workers inherit that, never
  start BLAS threads, and this process does not restart its own until the last pool ends.

Uses ``threadpoolctl`` (a dependency); where it cannot see a BLAS, nothing is done.
"""
from __future__ import annotations

import contextlib
import functools
import sys

__all__ = ["blas_controller", "small_blas", "hold_one_thread", "release_one_thread"]

_hold_depth = 0  # hold_one_thread calls not yet released in this process
_hold_limiter = None  # the threadpoolctl limiter of the outermost hold (restores the original counts)


def blas_controller():
    """The thread-pool controller of every BLAS loaded in this process (None without
    threadpoolctl). numpy and scipy each bundle an OpenBLAS, and a controller sees only the
    libraries loaded when it is made: one made before scipy's was loaded (``import eisfit``
    loads numpy's only) left scipy's multi-threaded (a DRT after a Lin-KK test: its idle
    threads spun beside it), so another is made once scipy's BLAS is there. scipy is not
    imported for it: the fits never load it, and importing it cost every campaign worker
    0.2 s of its first task."""
    return _controller_of(_scipy_blas_loaded())


def _scipy_blas_loaded() -> bool:
    return "scipy.linalg" in sys.modules  # what loads scipy's BLAS (scipy.optimize imports it too)


@functools.lru_cache(maxsize=2)
def _controller_of(scipy_loaded: bool):
    """A controller of the libraries loaded now (the argument keys the cache)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a dependency; kept optional for odd installs
        return None
    return ThreadpoolController()


def _multi_threaded(controller) -> bool:
    """Whether some BLAS of ``controller`` may use more than one thread (asks each library;
    asking starts no thread)."""
    return any(lib.user_api == "blas" and lib.num_threads != 1 for lib in controller.lib_controllers)


def _limit_to_one_thread():
    """A threadpoolctl limiter that has put every BLAS on one thread (its
    ``restore_original_limits()`` undoes it), or None where nothing needed changing."""
    controller = blas_controller()
    if controller is None or not _multi_threaded(controller):
        return None
    return controller.limit(limits=1, user_api="blas")


def small_blas():
    """Context limiting BLAS to one thread while small matrices are handled.

    On a loaded machine a multi-threaded OpenBLAS spends ~10 ms per 160 x 100 product
    waking its threads (vs 60 us on one thread). Where every BLAS already runs on one
    thread (a forked worker of eisfit's, see the module text) nothing is changed: setting
    the count, even to one, would start the threads there. The libraries are inspected
    once per process (and again once scipy's is loaded)."""
    limiter = _limit_to_one_thread()
    if limiter is None:
        return contextlib.nullcontext()
    return limiter  # a context: restores the original counts on leaving


def hold_one_thread() -> None:
    """Put this process's BLAS on one thread until the matching :func:`release_one_thread`
    (nested holds: the last release restores the original counts). Held by eisfit's pools
    of forked workers for their lifetime (see the module text)."""
    global _hold_depth, _hold_limiter
    if not _hold_depth:
        _hold_limiter = _limit_to_one_thread()
    _hold_depth += 1


def release_one_thread() -> None:
    """End one :func:`hold_one_thread`; the last one restores the thread counts it found."""
    global _hold_depth, _hold_limiter
    if not _hold_depth:
        return
    _hold_depth -= 1
    if not _hold_depth and _hold_limiter is not None:
        limiter, _hold_limiter = _hold_limiter, None
        limiter.restore_original_limits()
