"""Public entry points that combine layers: :func:`fit` with ``circuit="auto"``, and
:func:`fit_each` (many spectra, each fitted on its own, on worker processes where that pays).

``eisfit.fit`` is :func:`eisfit.fitting.fit` for a given circuit; for ``circuit="auto"`` it
first asks :func:`eisfit.suggest_circuit` which circuit the data support (a layer above
fitting), so the dispatch lives here and the fitting engine does not import the selection.
"""
from __future__ import annotations

import functools
import inspect
import itertools
import pickle
import time
import warnings
from collections import deque
from concurrent.futures import BrokenExecutor, Future
from typing import Any, Callable, Iterable, Iterator

from ._caller import user_stacklevel
from .errors import EisfitError, FitError
from .fitting import fit as fit_circuit
from .settings import did_you_mean

__all__ = ["fit", "fit_each", "suggest_each", "map_each", "FIT_BATCH", "AUTO_MIN_SPECTRA"]


_OPTIONS = tuple(name for name in inspect.signature(fit_circuit).parameters if name not in ("spectrum", "circuit"))


@functools.wraps(fit_circuit)
def fit(spectrum: Any, circuit: Any = "garnet-symmetric", **options: Any):
    for name in options:
        if name not in _OPTIONS:  # Python's own message names no alternative (aera_cm2)
            raise TypeError(f"fit() got an unexpected keyword argument {name!r}{did_you_mean(name, _OPTIONS)}")
    if isinstance(circuit, str) and circuit == "auto":  # issue 16: eisfit.selection.fit_auto
        from .selection import fit_auto

        return fit_auto(spectrum, **options)
    return fit_circuit(spectrum, circuit, **options)


FIT_BATCH = 64  # spectra of one circuit that fit_each fits together (one batched fit)
# jobs="auto": worker processes only from this many spectra, by the start method the workers get
# here. A choice of circuit (circuit="auto", eisfit suggest) takes ~1-3 s per spectrum: two forked
# workers pay from two spectra, spawned ones (each first imports eisfit, ~1 s) from four. A given
# circuit takes ~2-20 ms per spectrum: eisfit.campaign.AUTO_MIN_CHECKPOINTS's thresholds.
AUTO_MIN_SPECTRA = {"choice": {"fork": 2, "spawn": 4}, "fit": {"fork": 250, "spawn": 1000}}
TASKS_IN_FLIGHT_PER_WORKER = 2  # tasks sent ahead per worker: the spectra held stay bounded
OnDone = Callable[[list, list, float], None]  # on_done(task, outcomes, seconds) of map_each


def fit_each(spectra: Iterable[Any], circuit: Any = "garnet-symmetric", *, jobs: int | str = 1,
             on_done: OnDone | None = None, **options: Any) -> Iterator[tuple[Any, Any]]:
    """Fit every spectrum of ``spectra`` on its own, as :func:`fit` would, and yield
    ``(spectrum, FitResult)`` in input order, or ``(spectrum, error)`` with the
    :class:`~eisfit.EisfitError` its fit raised (the others go on).

    For a given circuit and the fast engine, :data:`FIT_BATCH` spectra are fitted together
    (:func:`eisfit.fitting.batch.fit_batch`: each result what :func:`fit` gives to the
    optimiser's tolerance; a batch that raises is fitted one by one). ``circuit="auto"``
    chooses a circuit for each spectrum (:func:`eisfit.suggest_circuit`). ``spectra`` is
    read as the fits go (an iterator of spectra read from files is fine): at most
    ``TASKS_IN_FLIGHT_PER_WORKER`` tasks per worker are held at a time.

    jobs : worker processes (forked where safe, else spawned; see
        :mod:`eisfit._processes`); ``"auto"``: one per core this process may use (at most
        :data:`eisfit.campaign.AUTO_JOBS_MAX`), started only when the spectra reach
        :data:`AUTO_MIN_SPECTRA` (a choice of circuit pays from 2 spectra with forked
        workers), else this process. The results are the same whatever ``jobs``; a worker
        that dies (killed, out of memory) leaves its spectra and those after them to this
        process, with one warning at the end (:func:`map_each`).
    on_done : called as ``on_done(spectra, outcomes, seconds)`` before each task's spectra are
        yielded (a batch, or one spectrum): its wall time, s, measured where it ran (this
        process or a worker); ``eisfit fit -v`` prints it.
    """
    together = not (isinstance(circuit, str) and circuit == "auto") and options.get("engine", "fast") == "fast"
    tasks = _batches(iter(spectra), FIT_BATCH if together else 1)
    work = functools.partial(_fit_task, circuit=circuit, options=options, together=together)
    for batch, outcomes in map_each(work, tasks, jobs, "fit" if together else "choice", on_done=on_done):
        yield from zip(batch, outcomes)


def suggest_each(spectra: Iterable[Any], candidates: Any = None, *, jobs: int | str = 1,
                 **options: Any) -> Iterator[tuple[Any, Any]]:
    """:func:`eisfit.suggest_circuit` of every spectrum of ``spectra`` (``candidates`` and
    ``options`` as there), yielding ``(spectrum, CircuitSuggestion)`` in input order, or
    ``(spectrum, error)`` with the :class:`~eisfit.EisfitError` it raised; ``jobs`` as in
    :func:`fit_each` (a choice of circuit: workers from 2 spectra where they are forked)."""
    work = functools.partial(_suggest_task, candidates=candidates, options=options)
    for batch, outcomes in map_each(work, _batches(iter(spectra), 1), jobs, "choice"):
        yield from zip(batch, outcomes)


def map_each(function: Callable[[list], list], tasks: Iterator[list], jobs: int | str,
             kind: str, on_done: OnDone | None = None) -> Iterator[tuple[list, list]]:
    """``(task, function(task))`` for each of ``tasks`` (lists of spectra), in order: in this
    process, or on worker processes (``jobs``; ``"auto"`` by :data:`AUTO_MIN_SPECTRA` of
    ``kind``, ``"choice"`` or ``"fit"``, counted in spectra). ``function`` is a picklable
    callable that returns one outcome per item of its task and raises nothing it expects.
    A worker that dies breaks the pool: its task and those after it are done in this
    process, and a UserWarning at the end says how many workers died and how
    (:func:`eisfit._processes.worker_deaths_text`, the campaign's words). ``on_done(task,
    outcomes, seconds)``, where given, is called before each task is yielded, with the wall
    time of ``function(task)`` where it ran, s."""
    workers = _workers_for(jobs)
    if workers <= 1:
        yield from _here(function, tasks, on_done)
        return
    held, seen = [], 0
    if jobs == "auto":  # start workers only when the spectra make it worth it
        from ._processes import worker_context

        least = AUTO_MIN_SPECTRA[kind][worker_context().get_start_method()]
        for task in tasks:
            held.append(task)
            seen += len(task)
            if seen >= least:
                break
        if seen < least:
            yield from _here(function, held, on_done)
            return
    yield from _on_workers(function, itertools.chain(held, tasks), workers, on_done)


def _timed(function: Callable[[list], list], task: list) -> tuple[list, float]:
    """``function(task)`` and its wall time, s (run where the task runs: on a worker, its own)."""
    t0 = time.perf_counter()
    outcomes = function(task)
    return outcomes, time.perf_counter() - t0


def _reported(task: list, timed: tuple[list, float], on_done: OnDone | None) -> tuple[list, list]:
    """``(task, outcomes)`` of a :func:`_timed` task, told to ``on_done`` first."""
    outcomes, seconds = timed
    if on_done is not None:
        on_done(task, outcomes, seconds)
    return task, outcomes


def _here(function: Callable[[list], list], tasks: Iterable[list],
          on_done: OnDone | None) -> Iterator[tuple[list, list]]:
    """:func:`map_each` in this process."""
    for task in tasks:
        yield _reported(task, _timed(function, task), on_done)


def _on_workers(function: Callable[[list], list], tasks: Iterator[list], workers: int,
                on_done: OnDone | None) -> Iterator[tuple[list, list]]:
    """:func:`map_each` on ``workers`` processes. Stopped early (Ctrl-C, an error, or the
    caller no longer reading), the pool's running tasks are ended at once, not waited for
    (:func:`eisfit._processes.stop_pool`; a choice of circuit takes seconds)."""
    from ._processes import stop_pool

    pool = _TaskPool(function, workers)
    pending: deque[tuple[list, Future | None]] = deque()
    finished = False
    try:
        for task in tasks:
            pending.append((task, pool.submit(task)))
            while len(pending) > TASKS_IN_FLIGHT_PER_WORKER * workers:
                yield _reported(*pool.result(*pending.popleft()), on_done)
        while pending:
            yield _reported(*pool.result(*pending.popleft()), on_done)
        finished = True
    finally:
        if finished:
            pool.executor.shutdown(wait=True)
        else:
            stop_pool(pool.executor)
    pool.warn_of_deaths()


class _TaskPool:
    """The worker processes of :func:`_on_workers` and what became of them: a task is run
    on them (:func:`_timed`) until the pool breaks (a worker died: killed, out of memory),
    then in this process, that task and every one after it."""

    def __init__(self, function: Callable[[list], list], workers: int):
        from ._processes import owned_pool

        self.function = function
        self.executor = owned_pool(workers, setup=_init_worker)
        self.at_break: list | None = None  # the pool's processes, taken when it broke

    def submit(self, task: list) -> Future | None:
        """The task's future on the workers; None when the pool is broken."""
        if self.at_break is None:
            try:
                return self.executor.submit(_timed, self.function, task)
            except (BrokenExecutor, RuntimeError):  # a worker died: the rest runs here
                self._broke()
        return None

    def result(self, task: list, future: Future | None) -> tuple[list, tuple[list, float]]:
        """``(task, (outcomes, seconds))``: from the workers, else (broken pool) done here."""
        if future is not None:
            try:
                return task, future.result()
            except BrokenExecutor:
                self._broke()
        return task, _timed(self.function, task)

    def _broke(self) -> None:
        if self.at_break is None:
            from ._processes import pool_processes

            self.at_break = pool_processes(self.executor)

    def warn_of_deaths(self) -> None:
        """After the shutdown: one warning when the pool broke, how many workers died and how."""
        if self.at_break is None:
            return
        from ._processes import death_causes, worker_deaths_text

        causes = death_causes(self.at_break)
        warnings.warn(worker_deaths_text(max(len(causes), 1), causes) + "; the spectra it was given, and all those "
                      "after them, were fitted in this process", UserWarning, stacklevel=user_stacklevel())


def _workers_for(jobs: int | str) -> int:
    if jobs == "auto":
        from ._processes import usable_cores
        from .campaign import AUTO_JOBS_MAX

        return min(usable_cores(), AUTO_JOBS_MAX)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise FitError(f"jobs must be a whole number >= 1 or 'auto', got {jobs!r}")
    return jobs


def _batches(items: Iterator[Any], size: int) -> Iterator[list]:
    while batch := list(itertools.islice(items, size)):
        yield batch


def _fit_task(batch: list, circuit: Any, options: dict[str, Any], together: bool) -> list:
    """The result (or the EisfitError) of each spectrum of ``batch``; a batch that raises is
    fitted one by one, so that each error is its own spectrum's."""
    from .fitting.batch import fit_batch

    if together:
        batch_options = {k: v for k, v in options.items() if k != "engine"}
        try:
            return fit_batch(batch, circuit, **batch_options)
        except EisfitError:
            pass
    return [_fit_one(s, circuit, options) for s in batch]


def _fit_one(spectrum: Any, circuit: Any, options: dict[str, Any]) -> Any:
    try:
        return fit(spectrum, circuit, **options)
    except EisfitError as exc:
        return sendable_error(exc)


def _suggest_task(batch: list, candidates: Any, options: dict[str, Any]) -> list:
    from .selection import suggest_circuit

    outcomes = []
    for s in batch:
        try:
            outcomes.append(suggest_circuit(s, candidates, **options))
        except EisfitError as exc:
            outcomes.append(sendable_error(exc))
    return outcomes


def sendable_error(exc: EisfitError) -> EisfitError:
    """``exc``, or a :class:`~eisfit.FitError` with its message where it would not survive
    the way back from a worker process (an error whose constructor takes other arguments)."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return FitError(str(exc))
    return exc


def _init_worker() -> None:
    """Set-up of a :func:`fit_each` worker: SIGINT ignored, freed memory kept for reuse
    (:func:`eisfit.campaign.workers.init_worker`); a forked worker keeps the warning display
    it inherited (the ``eisfit`` command's, with its ``-q``)."""
    from .campaign.workers import init_worker

    shown = warnings.showwarning
    init_worker()
    if getattr(shown, "__module__", "") != "warnings":
        warnings.showwarning = shown
