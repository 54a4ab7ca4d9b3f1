"""BLAS threads in eisfit's processes (eisfit._blas): forked workers start none, and the
main process gets its own thread counts back when its pools end."""
from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest

from eisfit._blas import blas_controller, hold_one_thread, release_one_thread, small_blas
from eisfit._processes import owned_pool

threadpoolctl = pytest.importorskip("threadpoolctl")

linux_fork = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="counts OS threads in /proc and forks: Linux only")


def _blas_threads() -> list[int]:
    return [lib.num_threads for lib in blas_controller().lib_controllers if lib.user_api == "blas"]


@pytest.fixture
def two_blas_threads():
    """BLAS at two threads during the test (whatever the environment set), as on a 2-core machine."""
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        if set(_blas_threads()) != {2}:
            pytest.skip("this BLAS cannot be set to two threads")
        yield


def _threads_after_a_fit() -> tuple[int, int]:
    """In a worker: (OS threads, Python threads) after small_blas, a fit chunk and a
    product big enough for a multi-threaded BLAS to use its threads."""
    from eisfit.fitting.batch import fit_chunks
    from eisfit.model import Circuit

    f = np.logspace(7, 2, 51)
    z = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)").impedance(np.array([5.0, 18.0, 1e-8, 0.92, 51.0, 1.3e-6, 0.8]), f)
    with small_blas():
        pass
    out = fit_chunks([([(f, z, {"label": "a"})], False)], "R0-p(R1,CPE1)-p(R2,CPE2)", {})
    assert "result" in out[0][0], out
    a = np.ones((400, 400))
    a @ a
    return len(os.listdir("/proc/self/task")), threading.active_count()


@linux_fork
def test_forked_pool_workers_start_no_blas_thread(two_blas_threads):
    """A worker forked by owned_pool inherits one BLAS thread and starts no BLAS thread of its
    own: each OpenBLAS thread first spins ~0.1 s of CPU beside the fits (a campaign worker's
    first task took 0.98 s instead of 0.86 s). Its OS threads are its Python threads only."""
    import multiprocessing

    pool = owned_pool(1, multiprocessing.get_context("fork"))
    try:
        assert set(_blas_threads()) == {1}  # held while the pool exists
        os_threads, py_threads = pool.submit(_threads_after_a_fit).result()
    finally:
        pool.shutdown()
    assert os_threads == py_threads
    assert set(_blas_threads()) == {2}  # given back


def test_nested_holds_restore_the_counts_found_at_the_first(two_blas_threads):
    hold_one_thread()
    hold_one_thread()
    assert set(_blas_threads()) == {1}
    release_one_thread()
    assert set(_blas_threads()) == {1}  # the outer hold still stands
    release_one_thread()
    assert set(_blas_threads()) == {2}
    release_one_thread()  # one release too many changes nothing
    assert set(_blas_threads()) == {2}


def test_small_blas_limits_and_restores(two_blas_threads):
    with small_blas():
        assert set(_blas_threads()) == {1}
    assert set(_blas_threads()) == {2}


@linux_fork
def test_a_pool_never_shut_down_gives_the_threads_back_when_collected(two_blas_threads):
    import gc
    import multiprocessing

    pool = owned_pool(1, multiprocessing.get_context("fork"))
    assert set(_blas_threads()) == {1}
    del pool
    gc.collect()
    assert set(_blas_threads()) == {2}


def test_a_pool_of_spawned_workers_leaves_the_threads_alone(two_blas_threads):
    """Spawned workers start afresh (nothing to inherit): no hold."""
    import multiprocessing

    pool = owned_pool(1, multiprocessing.get_context("spawn"))
    try:
        assert set(_blas_threads()) == {2}
    finally:
        pool.shutdown()
