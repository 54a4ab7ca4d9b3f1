"""Worker processes: forked where that is safe, spawned elsewhere; the memory allocator
of the processes eisfit owns; the cyclic garbage collector during a campaign.

A forked worker starts at once with everything the main process has imported, and it
does not run the main script again. A spawned worker imports eisfit, numpy, scipy and
pandas anew (about a second of CPU each) and re-imports the main module, so a script
without an ``if __name__ == "__main__":`` guard cannot use it. Forking is safe only where
no other thread could hold a lock at the moment of the fork: on Linux, from the main
thread, with no thread running but tqdm's monitor (which only sleeps). A notebook kernel,
a Dask client in this process or any other thread means spawn.
"""
from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
import weakref
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor
from multiprocessing.context import BaseContext
from typing import Any, Callable, Sequence

__all__ = ["map_jobs", "fork_is_safe", "usable_cores", "worker_context", "owned_pool", "tune_allocator",
           "allocator_tuned", "release_freed_memory", "owned_worker", "die_with_parent", "PARENT_POLL_SECONDS", "long_lived_objects",
           "settle_long_lived", "interrupt_on_signals", "ignore_interrupts", "stop_pool", "pool_processes",
           "death_causes", "worker_deaths_text"]

PARENT_POLL_SECONDS = 0.5  # how often a worker checks that its parent is still there
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_long_lived_depth = 0  # long_lived_objects contexts open in this process that manage the collector

# glibc malloc settings of the processes eisfit owns (the command line and its workers):
MMAP_THRESHOLD_BYTES = 8 << 20  # blocks below this come from the heap, not from a fresh mapping
TRIM_THRESHOLD_BYTES = 64 << 20  # free memory at the top of the heap kept up to this much
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers (malloc.h)
_tuned = False  # tune_allocator succeeded in this process (or in the process it was forked from)
# how a broken process pool ends its surviving workers (concurrent.futures), in death_causes' words
_POOL_ENDS_WORKERS_WITH = f"signal {int(signal.SIGTERM)} (SIGTERM)"


def map_jobs(executor: Executor | None, function: Callable[..., Any], jobs: Sequence[tuple]) -> list[Any]:
    """``function(*job)`` of every job, in order: here, or on ``executor`` (all of them here
    when its workers die: a broken pool). ``function`` must be picklable (module level)."""
    if executor is not None:
        try:
            return [future.result() for future in [executor.submit(function, *job) for job in jobs]]
        except BrokenExecutor:
            pass
    return [function(*job) for job in jobs]


def fork_is_safe() -> bool:
    """True where a forked child cannot inherit a lock held by another thread (see above)."""
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and threading.current_thread() is threading.main_thread()
            and all(t.daemon and t.name == "tqdm_monitor" for t in others))


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the system tells it, else
    the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def worker_context() -> BaseContext:
    """The start method for a pool of worker processes: fork where safe, else spawn."""
    return multiprocessing.get_context("fork" if fork_is_safe() else "spawn")


def owned_pool(workers: int, context: BaseContext | None = None,
               setup: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    """A process pool of eisfit's own (the campaign's fits, ``fit_stream``, the figure
    writer): its workers end as soon as this process is gone (:func:`die_with_parent`),
    freeze the objects they start with (``gc.freeze``: the collector's full passes in a
    worker walk only what it makes, not the parent's heap it inherited, nor do they copy its
    pages), then run ``setup`` (a module-level function: spawned workers import it). ``context``:
    :func:`worker_context` by default. An executor, not a Pool: a worker that dies breaks
    it (BrokenProcessPool), a Pool waits for it for ever. While a pool of forked workers
    exists (until its ``shutdown``), this process's BLAS runs on one thread
    (:func:`eisfit._blas.hold_one_thread`): the workers inherit that and never start BLAS
    threads, each of which first spins ~0.1 s of CPU beside the fits."""
    context = context or worker_context()
    return _OwnedPool(max_workers=int(workers), mp_context=context, initializer=_start_worker,
                      initargs=(os.getpid(), setup), one_blas_thread=context.get_start_method() == "fork")


class _OwnedPool(ProcessPoolExecutor):
    """:func:`owned_pool`'s executor: holds one BLAS thread in this process from its making
    (before its workers are forked, at the first submit) to its shutdown, or to its
    collection if it is never shut down."""

    def __init__(self, *args, one_blas_thread: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self._release_blas = None
        if one_blas_thread:
            from ._blas import hold_one_thread, release_one_thread

            hold_one_thread()
            self._release_blas = weakref.finalize(self, release_one_thread)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if self._release_blas is not None:
            self._release_blas()  # once: a finalizer runs at most once


def _start_worker(parent_pid: int, setup: Callable[[], None] | None) -> None:
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:  # a forked worker ends when terminated,
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # whatever its parent made of SIGTERM
    global _owned_worker
    die_with_parent(parent_pid)
    gc.freeze()  # what the worker starts with (imports, a forked parent's objects) lives as long as it
    _owned_worker = True
    if setup is not None:
        setup()


_owned_worker = False  # this process is a worker of an owned_pool


def owned_worker() -> bool:
    """Whether this process is a worker of :func:`owned_pool` (a campaign's fitting and
    reading workers): it runs task after task, each growing and freeing its own heap."""
    return _owned_worker


def pool_processes(pool: Executor) -> list:
    """The worker processes of a process pool (none for another executor). Take them before
    the pool's shutdown, which forgets them (``_processes = None``)."""
    return list((getattr(pool, "_processes", None) or {}).values())


def death_causes(processes: list) -> list[str]:
    """How each worker process of a broken pool that ended abnormally did (``signal 9
    (SIGKILL)``, ``exit status 1``), read after the pool's shutdown. A pool ends its
    surviving workers with SIGTERM when one dies (``concurrent.futures``), so the workers
    that ended by SIGTERM are left out, or counted as one when no other ended (a worker
    terminated by the user: which one cannot be told): a campaign's warning had named a
    SIGTERM beside every SIGKILL."""
    causes = []
    for process in processes:
        code = process.exitcode
        if code is None or code == 0:
            continue
        if code < 0:
            try:
                causes.append(f"signal {-code} ({signal.Signals(-code).name})")
            except ValueError:
                causes.append(f"signal {-code}")
        else:
            causes.append(f"exit status {code}")
    others = [c for c in causes if c != _POOL_ENDS_WORKERS_WITH]
    return others or causes[:1]


def worker_deaths_text(deaths: int, causes: Sequence[str]) -> str:
    """The start of the warning given when worker processes died during a run (killed, out of
    memory), how often and how (:func:`death_causes`, each cause named once): ``a worker
    process died 1 time(s) (signal 9 (SIGKILL))``; the caller says what became of the work."""
    return f"a worker process died {deaths} time(s) ({', '.join(dict.fromkeys(causes)) or 'cause unknown'})"


def stop_pool(pool: Executor) -> None:
    """Cancel the queued tasks of ``pool`` and end its running ones now (an interrupt must be
    prompt: its workers ignore SIGINT, and a task can run for seconds). The workers are
    taken before the shutdown, which forgets them (``_processes = None``): taken after it,
    none had been ended, and the process then waited at exit for their running tasks.
    Then this process's end of the pool's result pipe is closed (:func:`_close_result_writer`)."""
    processes = pool_processes(pool)
    results = getattr(pool, "_result_queue", None)  # forgotten by the shutdown too
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    _close_result_writer(results)


def _close_result_writer(results: Any) -> None:
    """Close this process's copy of the write end of a process pool's result pipe
    (``results``, its ``SimpleQueue``; nothing for another executor). A worker ended while
    it sent a result leaves part of a message in the pipe, and the pool's thread in this
    process waited for the rest for ever: this process holds a write end too, so the read
    never ended, and at exit Python joins that thread (``eisfit campaign`` after Ctrl-C hung
    at exit, 1 of 23 runs under ``timeout -s INT``). With the workers' ends closed as they
    die and this one closed, the read ends (EOF): the pool counts as broken and its thread
    ends. This process never writes there (the workers send, the pool's thread reads)."""
    writer = getattr(results, "_writer", None)
    if writer is not None:
        with contextlib.suppress(OSError):
            writer.close()


def ignore_interrupts() -> None:
    """In a worker of :func:`owned_pool` (its ``setup``, or part of it): ignore SIGINT. Ctrl-C
    on a terminal reaches every process of the group; the main process decides what it means
    and stops its pools, and a worker that took it printed a traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def tune_allocator() -> bool:
    """Let glibc's malloc keep freed memory for reuse in this process (Linux only; True
    when set). A fit makes and frees arrays of 0.1-1 MB thousands of times a second
    (Jacobian blocks, batched normal equations). With glibc's defaults such arrays get
    their own mappings, or the top of the heap goes back to the kernel once a few MB are
    free, so the next arrays start on fresh pages: a 100-spectrum campaign made 1,671
    heap shrink/grow calls, and a 300-spectrum one ~190 page faults per spectrum. With
    blocks below ``MMAP_THRESHOLD_BYTES`` on the heap and up to ``TRIM_THRESHOLD_BYTES``
    of free heap kept, the faults fall ~7x and a spectrum takes 5-15 % less CPU. Called
    by the ``eisfit`` command and in eisfit's worker processes only: a program that
    imports eisfit keeps its own allocator settings."""
    global _tuned
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
        _tuned = bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1 and ok)
        return _tuned
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt): nothing to do
        return False


def allocator_tuned() -> bool:
    """Whether :func:`tune_allocator` took effect in this process (the ``eisfit`` command, a
    campaign's worker): arrays of a few MB are then cheap to make again and again."""
    return _tuned


def release_freed_memory() -> bool:
    """Collect the garbage cycles (a closed matplotlib figure is one: ~17 MB of a 10,000-
    checkpoint evolution figure) and hand the heap's free pages back to the kernel (glibc's
    ``malloc_trim``; True when it ran). With :func:`tune_allocator`'s settings a process
    keeps up to ``TRIM_THRESHOLD_BYTES`` of free heap, so a process that makes one large
    thing after another (figures) held the freed memory of each: the campaign's figure
    process at 10,000 checkpoints peaked at 158 MB of RSS, 135 MB when it releases it after
    each figure (~15-25 ms a figure; the command's time unchanged)."""
    gc.collect()
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
        return True
    except (OSError, AttributeError):  # not glibc
        return False


def die_with_parent(parent_pid: int) -> None:
    """Make this process (a worker) end as soon as the process ``parent_pid`` is gone, even
    when that one was killed with SIGKILL and could not shut its pool down: on Linux the
    kernel sends SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``); everywhere, a
    daemon thread checks every :data:`PARENT_POLL_SECONDS` that the parent is still its
    parent. Every worker of :func:`owned_pool` starts with it."""
    _kernel_kills_me_with_parent()
    if os.getppid() != parent_pid:  # the parent died before we got here
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="eisfit-parent-watch",
                     daemon=True).start()


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


@contextlib.contextmanager
def long_lived_objects():
    """Within: :func:`settle_long_lived` freezes every object made so far (``gc.freeze``),
    so that the collector's full passes no longer walk them; on leaving the outermost
    context they are unfrozen (collectable as before).

    A campaign's main process keeps what it makes (the spectra, then a result per
    checkpoint) to the end, and CPython's full collections walked all of it again and again,
    finding no garbage: 5,000 checkpoints through ``eisfit campaign``, 0.4 s in six such
    passes, some while nothing else ran. (The workers of :func:`owned_pool` freeze what they
    inherit as they start: each forked figure worker had walked the whole inherited heap
    again, copying every page whose object headers the walk touched.) A cycle of garbage
    made inside waits for the end of the context. Nothing is done where the collector is
    disabled or objects were frozen by someone else."""
    global _long_lived_depth
    if not _long_lived_depth and (not gc.isenabled() or gc.get_freeze_count()):
        yield
        return
    _long_lived_depth += 1
    try:
        yield
    finally:
        _long_lived_depth -= 1
        if not _long_lived_depth:
            gc.unfreeze()


def settle_long_lived() -> None:
    """Inside :func:`long_lived_objects`: freeze every object made so far (cheap: the
    collector's lists are joined, nothing is walked). Elsewhere nothing."""
    if _long_lived_depth:
        gc.freeze()


class ReceivedSignals:
    """What :func:`interrupt_on_signals` saw: ``received`` is the first signal number, or None."""

    def __init__(self) -> None:
        self.received: int | None = None

    @property
    def name(self) -> str:
        """``SIGINT``, ``SIGTERM`` (or "" when none came)."""
        return "" if self.received is None else signal.Signals(self.received).name


@contextlib.contextmanager
def interrupt_on_signals():
    """Within (a command's main thread): SIGINT, where Python's own handler is in place (not
    where the shell made a background job ignore it), and SIGTERM, where it would kill the
    process (what ``timeout`` and batch schedulers send), raise KeyboardInterrupt, so that
    both stop a campaign the same way; the first signal is recorded in the yielded
    :class:`ReceivedSignals`. Recorded, an interrupt is known even where a library swallowed
    it: a KeyboardInterrupt raised in a finalizer or a weakref callback is only printed
    ("Exception ignored in ...": that print is silenced within) and lost, and a campaign
    interrupted so had ended with exit 0. Elsewhere than the main thread nothing is changed."""
    seen = ReceivedSignals()
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return

    def handler(signum, frame):
        if seen.received is None:
            seen.received = signum
        raise KeyboardInterrupt

    previous = {}
    for signum, own in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
        if signal.getsignal(signum) is own:
            previous[signum] = signal.signal(signum, handler)
    hook = sys.unraisablehook

    def unraisable(info) -> None:
        if not (isinstance(info.exc_value, KeyboardInterrupt) and seen.received is not None):
            hook(info)

    sys.unraisablehook = unraisable
    try:
        yield seen
    finally:
        sys.unraisablehook = hook
        for signum, old in previous.items():
            signal.signal(signum, old)
