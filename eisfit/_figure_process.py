"""A figure process forked before a campaign's fits, while the heap is small.

``eisfit campaign`` reserves one (:func:`reserved_figure_process`) before it reads and fits;
when the outputs are written, the campaign sends it the figures' inputs
(:class:`eisfit.campaign.figure_inputs.FigureInputs`) once, then the names of the figures it
is to draw, one at a time, as :func:`eisfit.plotting.start_figures` hands them out.

Why: a process forked after the fits maps the campaign process's grown heap, and what it
allocates while drawing fills the free slots of the inherited pages, each of which is then
copied: its private memory grew with the number of checkpoints (session 46: 78, 174 and
305 MB for 1,000, 5,000 and 10,000), although the figures themselves do not.

The process is a plain ``multiprocessing.Process`` with a pipe, not a pool: a pool runs a
thread in this process, and a running thread makes the fits' workers, forked later, unsafe
(:func:`eisfit._processes.fork_is_safe`). While it draws, a thread of this process reads its
replies (after the fits: nothing forks then).
"""
from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = ["FigureProcess", "reserved_figure_process", "take_reserved", "warm_up_reserved"]

_reserved: "FigureProcess | None" = None  # the process reserved_figure_process made, until taken or closed
JOIN_SECONDS = 10.0  # how long closing waits for the process to end before it is killed


class FigureProcess:
    """A forked process that draws figures by name from inputs sent once (:meth:`load`);
    :meth:`submit` returns a Future of the paths written (PNG first)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, os.getpid()), name="eisfit-figures", daemon=True)
        self._process.start()
        child.close()
        self._futures: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None

    def alive(self) -> bool:
        return self._process.is_alive()

    def warm_up(self) -> None:
        """Have the process import pyplot now (e.g. while the campaign assembles its result)
        instead of when its inputs come; nothing when it is gone."""
        with contextlib.suppress(BrokenPipeError, EOFError, OSError):
            self._conn.send(("warm",))

    def load(self, draw: Callable[[str, Any, Path], Any], inputs: Any, folder: Path) -> None:
        """Send what every figure is drawn from: ``draw(name, inputs, folder)`` makes the
        figure ``name`` and writes it into ``folder``, returning its paths (a module-level
        function, or a partial of one: it is pickled by name). Raises OSError when the
        process is gone."""
        try:
            self._conn.send(("load", draw, inputs, str(folder)))
        except (BrokenPipeError, EOFError) as exc:
            raise OSError(f"the figure process is gone: {exc}") from None
        self._reader = threading.Thread(target=self._read_replies, name="eisfit-figure-replies", daemon=True)
        self._reader.start()

    def submit(self, name: str) -> Future:
        """Draw and write the figure ``name``; the Future holds its paths (as str)."""
        future: Future = Future()
        with self._lock:
            self._futures[name] = future
        try:
            self._conn.send(("draw", name))
        except (BrokenPipeError, EOFError, OSError) as exc:
            self._fail_pending(f"the figure process is gone: {exc}")
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """End the process (a figure it is drawing is abandoned); idempotent."""
        with contextlib.suppress(OSError, BrokenPipeError):
            self._conn.send(None)
        self._process.join(JOIN_SECONDS if wait else 0.1)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()
        if self._reader is not None:
            self._reader.join()
            self._reader = None
        self._fail_pending("the figure process was stopped")

    def _read_replies(self) -> None:
        while True:
            try:
                name, paths, error = self._conn.recv()
            except (EOFError, OSError):  # the process ended (or was stopped)
                self._fail_pending("the figure process ended")
                return
            with self._lock:
                future = self._futures.pop(name, None)
            if future is not None:
                if error is None:
                    future.set_result(paths)
                else:
                    future.set_exception(RuntimeError(error))

    def _fail_pending(self, why: str) -> None:
        with self._lock:
            pending, self._futures = self._futures, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(RuntimeError(why))


def _serve(conn: Any, parent_pid: int) -> None:
    """The figure process: wait for inputs, then draw what it is sent."""
    from ._processes import die_with_parent, ignore_interrupts, release_freed_memory

    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:  # ends when terminated, whatever the
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # command made of SIGTERM in its process
    die_with_parent(parent_pid)
    ignore_interrupts()
    gc.freeze()  # what it inherits is never collected here (a full pass would copy its pages)
    draw = inputs = folder = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        if message[0] in ("warm", "load"):  # pyplot loaded here, not while the fits run (their cores are busy)
            _import_pyplot()
            if message[0] == "load":
                _, draw, inputs, folder = message
            continue
        name = message[1]
        try:
            paths = [str(p) for p in draw(name, inputs, Path(folder))]
            conn.send((name, paths, None))
        except Exception as exc:  # the campaign process draws it again and raises the error there
            conn.send((name, None, f"{type(exc).__name__}: {exc}"))
        release_freed_memory()  # before the next figure, which would otherwise add its peak to this one's


def _import_pyplot() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401


def warm_up_reserved() -> None:
    """Have the reserved figure process, if there is one, import pyplot now (0.3 s of CPU
    that had been on the command's last stretch, between the fits and the first figure):
    called when the last fits are in, while the campaign assembles its result."""
    if _reserved is not None:
        _reserved.warm_up()


@contextlib.contextmanager
def reserved_figure_process(enabled: bool = True) -> Iterator[None]:
    """Within: a figure process forked now (where forking is safe, on two cores or more),
    which the next :func:`eisfit.plotting.start_figures` given inputs takes; it is ended on
    leaving, used or not. Nothing where ``enabled`` is False or one is reserved already."""
    global _reserved
    if not enabled or _reserved is not None or not _can_reserve():
        yield
        return
    try:
        _reserved = FigureProcess()
    except OSError:  # no process could be started: the figures are drawn as without
        yield
        return
    own = _reserved
    try:
        yield
    finally:
        if _reserved is own:
            _reserved = None
        own.shutdown()


def take_reserved() -> FigureProcess | None:
    """The reserved figure process, if there is one and it is alive (it is then no longer
    reserved: the caller shuts it down)."""
    global _reserved
    process, _reserved = _reserved, None
    if process is not None and not process.alive():
        process.shutdown()
        return None
    return process


def _can_reserve() -> bool:
    from ._processes import fork_is_safe, usable_cores

    return fork_is_safe() and usable_cores() >= 2
