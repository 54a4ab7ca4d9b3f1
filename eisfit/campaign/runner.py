"""Running the fits of a campaign through the batched engine.

A campaign is cut into chunks: the checkpoints of one cell (one seeded chain), in campaign
order, at most ``CHUNK_SIZE`` at a time and with one set of fit settings each. A chunk
that is not the first of its chain is led in by the checkpoint before it (refitted inside
the chunk, its row not kept), so chunks are independent of each other. Consecutive chunks
of one set of settings (each cell's own area, thickness and symmetry aside) are packed
into worker tasks (:func:`_tasks`: the chains of many small cells share batches): on the
campaign's own processes as many tasks per worker as keep each at about 500 checkpoints
at most (:func:`task_size`: one per worker up to 1,000 on two), on another executor tasks
of :func:`chunk_size` of all the checkpoints to fit, in this process tasks of
``INLINE_TASK_SIZE``.
Every task is one :func:`eisfit.fitting.batch.fit_chunks` call (adaptive cold fits of all
its spectra in one batch, then seeded rounds within each chain: checkpoint k is refitted
from the values kept at k-1 and the lower chi-square is kept), on the executor when there
is one; tasks run in parallel. The chunks do not depend on the number of workers, but
the tasks' batches do (:func:`task_size`), and the adaptive multi-start of a batch follows
its members: the table's values agree across ``jobs`` to the optimiser's tolerance
(measured up to 1.3e-8 relative, 400 spectra, ``jobs=1`` vs 2), flags, ``seed_source``,
``kk_passed`` and notes identical; ``n_starts`` and ``start_won`` may differ.
The first checkpoint of a chunk led in so never saw the kept fit before it: once every
chunk is in, those whose kept fit swapped arcs relative to it are refitted here, seeded
from it, with the rest of their chunk (:func:`_repair_chunk_starts`).

Workers receive plain data (arrays, dicts) and return lean FitResults (no per-point
arrays: this process holds the spectra and rebuilds frequency, z and the fitted curve
z_fit from the values, see :func:`result_of_outcome`), picklable objects, so any
:class:`concurrent.futures.Executor` works, including a Dask client's
``client.get_executor()``. Each kept fit goes to the cache as its chunk finishes (key:
file content, sweep and settings), ``on_chunk`` hears of the finished checkpoints (the
campaign streams their table rows to disk), and the progress bar counts checkpoints. A
worker that dies breaks the process pool and every unfinished task with it: those tasks run
again on a fresh pool (:func:`_run_tasks`), so only a task whose worker dies every time it
runs fails; a spectrum the engine refuses fails only itself.
"""
from __future__ import annotations

import contextlib
import math
import traceback
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from .._processes import release_freed_memory, settle_long_lived
from ..fitting.batch import fit_chunks, fit_payload
from ..fitting.engine import PER_SPECTRUM_OPTIONS
from ..analysis.derived import ARC_SWAP_DECADES, arc_tau_s, circuit_arcs, swapped_arcs
from ..analysis.quality import undetermined
from ..fitting.flags import unresolved_names, with_flags_added
from ..fitting.kk_band import noise_dominated
from ..fitting.result import share_equal_fields, shared_fields
from ..model import circuit_of
from ..model.circuit import resistance_names
from ..spectrum import Spectrum
from .cache import FitCache, KeptEntry, MemoryCache
from .spool import ResultView, Spool, Spooled, loaded

__all__ = ["run_campaign_fits", "CheckpointFits", "CHUNK_SIZE", "result_of_outcome", "results_of_outcomes"]

CHUNK_SIZE = 250  # most checkpoints per batched chain task
MIN_CHUNK = 8  # fewest checkpoints per chunk when a chain is cut
CHUNKS_PER_CHAIN = 4  # a chain is cut into about this many chunks (parallel work, finished chunks cached early)
INLINE_TASK_SIZE = 1000  # checkpoints per task without an executor (~3 s of fits: what an interrupt loses)
POOL_TASK_SIZE = 500  # most checkpoints per task on the campaign's own workers (see task_size)
ARC_JUMP_FACTOR = 3.0


@dataclass(slots=True)  # one per checkpoint, to the end of the fits: no __dict__ each
class CheckpointFits:
    """The kept fit of one checkpoint, where it came from, and campaign flags."""

    held: Any = None          # FitResult or None, or where it lies in the campaign's Spool (see kept)
    seed_source: str = ""     # "cold", "seeded" (also for a fit read from the cache) or "" (failed)
    error: str | None = None
    # the Python traceback behind ``error`` (a fit that raised, in a worker or not), shown by ``eisfit --debug``
    error_traceback: str | None = field(default=None, repr=False, compare=False)
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    joint_fit: str = ""       # with shared=/smooth=/arrhenius_law=: what the row holds (campaign.JOINT_FIT_VALUES)
    chunk_start: bool = False  # the first of a chunk led in by a cold refit: its fit never saw the kept fit before it
    # what the passes over every fit read of the kept fit once it lies in the spool (see view)
    stowed_view: ResultView | None = field(default=None, repr=False, compare=False)

    @property
    def kept(self) -> Any:
        """The kept FitResult (read back from the spool where it was stowed), or None."""
        return loaded(self.held)

    @kept.setter
    def kept(self, result: Any) -> None:
        self.held = result
        self.stowed_view = None

    @property
    def view(self) -> Any:
        """The kept fit as the campaign's passes over every fit read it (a
        :class:`~eisfit.campaign.spool.ResultView` taken when it was stowed, else the FitResult
        itself, read back where no view was taken), or None."""
        return self.stowed_view if type(self.held) is Spooled and self.stowed_view is not None else self.kept

    def stow(self, spool: Spool | None) -> None:
        """Move the kept fit into ``spool`` (a large campaign's; None: it stays in memory)."""
        if spool is not None and self.held is not None and type(self.held) is not Spooled:
            view = ResultView.of(self.held)
            self.held = spool.store(self.held)
            self.stowed_view = view if type(self.held) is Spooled else None


@dataclass
class _Chunk:
    """Consecutive checkpoints of one chain with one set of settings (item indices)."""

    members: list[int]
    lead_in: int | None  # the checkpoint before, refitted as the chunk's seed (row dropped)
    seed: dict[str, float] | None = None  # instead: the kept values of the checkpoint before (a repair)
    cold_rows: dict[int, Any] | None = None  # {position in members: its cold fit solved before} (a repair)
    cold_results: dict[int, Any] | None = None  # {position: the kept FitResult, where it is that cold fit}


def run_campaign_fits(
    items: list[dict[str, Any]],
    chains: list[list[int]],
    executor: Executor | None,
    cache: FitCache,
    progress_factory: Callable[[int], Any],
    on_chunk: Callable[[list[int], list[CheckpointFits]], None] | None = None,
    respawn: Callable[[], Executor] | None = None,
    workers: int | None = None,
    on_core_free: Callable[[], None] | None = None,
    on_last_outcome: Callable[[], None] | None = None,
    repair: bool = True,
    spool: Spool | None = None,
) -> tuple[list[CheckpointFits], dict[str, Any]]:
    """Fit every item (dict with ``spectrum`` (or where a spool keeps it), ``source``,
    ``settings``, ``content_sha256``, ``sweep``, ``settings_hash``, ``conditions``, optionally
    ``reader_key``); ``chains`` lists item indices in seeding order.

    ``on_chunk(indices, fits)`` is called as soon as the fits of those items are stored
    (cache hits first, then chunk by chunk; campaign flags such as ``arc-jump`` come after
    the last chunk).
    ``respawn()``: a fresh executor in place of ``executor`` when a worker process died
    (the campaign's own process pool; see :func:`_run_tasks`). ``workers``: how many
    processes ``executor`` runs, when known (the campaign's own pool): the tasks are then
    sized for them (:func:`task_size`). ``on_core_free()`` is called once, as soon as fewer
    tasks are unfinished than ``workers`` (a worker idles while the others end): work of
    this process that would otherwise wait for the fits (e.g. loading pandas for the table).
    ``on_last_outcome()`` is called once, as soon as the outcome of the last task is in
    (before it is stored), when no task has to run again: the executor will not be needed
    any more (the campaign's own pool ends then, its workers exiting while the outcomes are
    stored).
    ``repair``: after the last chunk, refit in this process the chunk starts whose cold
    lead-in swapped the arcs (:func:`_repair_chunk_starts`; their new fits go to the cache,
    not to ``on_chunk``: the table written at the end has them). False: the fits as they
    are (after an interrupt: nothing more is fitted).
    ``spool``: where the kept fits go once ``on_chunk`` has seen them (a large campaign's:
    :mod:`eisfit.campaign.spool`); None: they stay in memory.
    Returns one :class:`CheckpointFits` per item and run statistics (``fits_run``:
    checkpoints fitted, ``cache_hits``, ``cache_writes``, ``cache_packs_removed`` (stale packs of
    other code, see :meth:`~eisfit.campaign.cache.FitCache.prune_other_versions`), ``chunks``,
    ``worker_deaths``, ``repair_fits``: checkpoints refitted by the repair, ``repaired``: kept
    fits it replaced).
    """
    fits = [CheckpointFits() for _ in items]
    shared: dict = {}  # one instance of each equal container of the results (share_equal_fields)
    colds: dict[int, Any] = {}  # the chunk starts' cold fits as their workers solved them (for the repair)
    progress = progress_factory(sum(item["spectrum"] is not None for item in items))
    hits: list[int] = []
    todo_chains = []
    for chain in chains:
        todo = []
        for i in chain:
            hit = _cached(cache, items[i], shared)
            if hit is None:
                todo.append(i)
                continue
            fits[i].kept, fits[i].seed_source, fits[i].flags, fits[i].notes, fits[i].chunk_start = hit
            hits.append(i)
            if progress is not None:
                progress.update(1)
        todo_chains.append((chain, todo))
    if hits and on_chunk is not None:
        on_chunk(hits, fits)
    _stow(fits, hits, spool)
    chunks = [c for chain, todo in todo_chains for c in _chunks(items, chain, todo)]
    n_todo = sum(len(c.members) for c in chunks)
    tasks = _tasks(items, chunks, INLINE_TASK_SIZE if executor is None else task_size(n_todo, workers))
    if executor is not None and workers:
        tasks = finer_last_tasks(tasks, workers)
    fits_run = 0
    deaths = [0]
    try:
        for task, outcome, spectra in _run_tasks(executor, items, tasks, respawn, deaths,
                                                 on_core_free if workers else None, workers or 0, on_last_outcome):
            for chunk, chunk_outcome in zip(task, _per_chunk(task, outcome)):
                fits_run += _collect(items, fits, chunk, chunk_outcome, cache, shared, colds=colds, spectra=spectra)
                if on_chunk is not None:
                    on_chunk(chunk.members, fits)
                _stow(fits, chunk.members, spool)
                if progress is not None:
                    progress.update(len(chunk.members))
            settle_long_lived()  # the task's results are kept (eisfit._processes.long_lived_objects)
    finally:
        if progress is not None:
            progress.close()
    refitted, replaced = _repair_chunk_starts(items, chains, fits, cache, shared, colds, spool) if repair else (0, 0)
    colds.clear()
    for chain in chains:
        _flag_arc_jumps(items, chain, fits)
    stats = {"fits_run": fits_run, "cache_hits": cache.hits, "cache_writes": cache.writes,
             "cache_packs_removed": cache.pruned, "chunks": len(chunks),
             "tasks": len(tasks), "worker_deaths": deaths[0],
             "repair_fits": refitted, "repaired": replaced}
    return fits, stats


def _stow(fits: list[CheckpointFits], indices: list[int], spool: Spool | None) -> None:
    """The kept fits of ``indices`` into ``spool`` (nothing without one)."""
    if spool is not None:
        for i in indices:
            fits[i].stow(spool)


REPAIR_NOTE = ("refitted after the chunks were joined, seeded from the previous checkpoint's kept fit (its chunk "
               "had begun from a cold refit of the checkpoint before, in other arc identities); chi-square before {}")


def _repair_chunk_starts(items: list[dict], chains: list[list[int]], fits: list[CheckpointFits],
                         cache: FitCache, shared: dict, colds: dict[int, Any] | None = None,
                         spool: Spool | None = None) -> tuple[int, int]:
    """Arc identities kept across chunk boundaries, once every kept fit is in.

    The first checkpoint of a chunk is seeded from a cold refit of the checkpoint before
    (the lead-in), not from its kept fit. Where its kept fit swapped arcs relative to that
    kept fit (:func:`~eisfit.analysis.derived.swapped_arcs`), it is fitted again as a chain
    position seeded from that kept fit (:func:`~eisfit.fitting.batch.fit_chunks`: the
    chain's own keep rule, :func:`~eisfit.fitting.batch._seed_kept`). Where that changes an
    arc's identity, the refit replaces its fit and the checkpoints after it, up to the next
    chunk start, are fitted again as a chain seeded from it; their refits replace the fits
    for as long as they change an arc's identity (from the first that agrees the fits
    stay). A run replaced to its end is followed by the next chunk start, looked at against
    the new fits. A chunk start whose refit keeps its identity (a swap the keep rule
    accepts, e.g. unrelated spectra) stays, marked as looked at (also in the cache): one
    extra fit.

    Each round fits the work of all chains in one batch, in this process; the rounds
    depend only on the kept fits, so not on the number of workers. The cold fits of the
    checkpoints refitted are those their workers solved where ``colds`` has them (by item
    index: the chunk starts'), not solved again (:func:`~eisfit.fitting.batch.fit_chain`'s
    ``cold_rows``). Returns (checkpoints refitted, kept fits replaced)."""
    resume = [(1, False)] * len(chains)  # per chain: (position, whether a replaced run continues there)
    refitted = replaced = 0
    while True:
        runs = {c: run for c, chain in enumerate(chains)
                if (run := _next_repair(items, chain, fits, *resume[c])) is not None}
        if not runs:
            return refitted, replaced
        repairs = [_repair_chunk(fits, members, fits[chains[c][p - 1]].kept, colds)
                   for c, (p, members, _) in runs.items()]
        looked_at = []
        for (c, (p, members, continued)), repair, outcome in zip(runs.items(), repairs, _fit_here(items, repairs)):
            n = _replace_while_swapped(items, fits, repair, outcome, cache, shared)
            _stow(fits, members, spool)
            if n == 0 and not continued:
                looked_at += _start_looked_at(cache, items[members[0]], fits[members[0]])
            refitted += len(members)
            replaced += n
            resume[c] = (p + max(n, 1), not continued and n == 1)  # a replaced chunk start: its chunk follows
        cache.put_many(looked_at)


def _repair_chunk(fits: list[CheckpointFits], members: list[int], before: Any,
                  colds: dict[int, Any] | None) -> _Chunk:
    """The refit of ``members`` seeded from ``before`` (the kept fit of the checkpoint
    before them), with the cold fits their workers solved (``colds``, by item index) and,
    where a checkpoint's kept fit is that cold fit, the kept result: a refit that keeps its
    cold fit reuses it (the kept fit then stays, its arcs unchanged) instead of assembling it
    again."""
    rows = {j: colds[i] for j, i in enumerate(members) if colds and i in colds}
    results = {j: fits[members[j]].kept for j in rows
               if fits[members[j]].seed_source == "cold" and fits[members[j]].kept is not None}
    return _Chunk(members, None, seed=dict(before.values), cold_rows=rows, cold_results=results)


def _next_repair(items: list[dict], chain: list[int], fits: list[CheckpointFits], start: int,
                 continued: bool) -> tuple[int, list[int], bool] | None:
    """(position, item indices, whether they continue a replaced run) of the next refit of
    ``chain``: with ``continued``, the checkpoints from position ``start`` up to the next
    chunk start (those after a replaced chunk start); else the first chunk start at or
    after ``start`` whose kept fit swapped arcs relative to the kept fit before it, alone.
    None if there is none."""
    if continued:
        run = _rest_of_chunk(items, chain, fits, start)
        if run:
            return start, run, True
    for p in range(max(start, 1), len(chain)):
        i = chain[p]
        if fits[i].chunk_start and _arcs_swapped(fits[chain[p - 1]].kept, fits[i].kept):
            return p, [i], False
    return None


def _rest_of_chunk(items: list[dict], chain: list[int], fits: list[CheckpointFits], start: int) -> list[int]:
    """The checkpoints of ``chain`` from position ``start`` up to the next chunk start (read,
    with the settings of the one before ``start``)."""
    settings = items[chain[start - 1]]["settings_hash"]
    end = start
    while end < len(chain) and not fits[chain[end]].chunk_start and items[chain[end]]["spectrum"] is not None \
            and items[chain[end]]["settings_hash"] == settings:
        end += 1
    return chain[start:end]


def _arcs_swapped(before, after) -> bool:
    """Whether an arc's time constant moved by more than ``ARC_SWAP_DECADES`` from the fit
    ``before`` to the fit ``after`` (FitResults of one circuit; False if either is None)."""
    if before is None or after is None or before.circuit != after.circuit:
        return False
    return bool(swapped_arcs(before.values, after.values, _arcs(after.circuit)))


def _arcs(circuit: str):
    """The arcs of ``circuit`` (branches too), as the seeded chain compares them."""
    return circuit_arcs(circuit_of(circuit), branches=True)


def _fit_here(items: list[dict], chunks: list[_Chunk]) -> list[Any]:
    """The outcomes of each chunk, fitted in this process: the chunks of one set of
    settings in one batch (:func:`_tasks`)."""
    outcomes: list[Any] = []
    for task in _tasks(items, chunks, size=sum(len(c.members) for c in chunks)):
        outcomes += _per_chunk(task, fit_chunks(*_payload(items, task)))
    return outcomes


def _replace_while_swapped(items: list[dict], fits: list[CheckpointFits], repair: _Chunk, outcome: Any,
                           cache: FitCache, shared: dict) -> int:
    """Replace the kept fits of ``repair``'s checkpoints by their refits (``outcome``), from
    the first on, while the refit changes an arc's identity (or the old fit failed); store
    them (cache, with :data:`REPAIR_NOTE`). Returns how many were replaced."""
    if isinstance(outcome, dict):  # the whole refit failed: the fits stay
        return 0
    n = 0
    for i, o in zip(repair.members, outcome):
        if "error" in o or not (fits[i].kept is None or _arcs_swapped(fits[i].kept, o["result"])):
            break
        n += 1
    notes = {i: REPAIR_NOTE.format("none (failed)" if fits[i].kept is None else f"{fits[i].kept.chisq:.4g}")
             for i in repair.members[:n]}
    if n:
        _collect(items, fits, _Chunk(repair.members[:n], None), outcome[:n], cache, shared, notes)
    return n


def _start_looked_at(cache: FitCache, item: dict[str, Any], fit: CheckpointFits) -> list[tuple[str, Any, dict]]:
    """Mark the chunk start ``fit`` as looked at (its refit from the kept fit before it kept
    its arcs: it stays): the entries that store it so in the cache (none if it is not there)."""
    fit.chunk_start = False
    key = _kept_key(cache, item)
    entry = cache.peek(key)
    if entry is None:
        return []
    if isinstance(entry, tuple):  # MemoryCache: as stored
        return [(key, entry[:4] + (False,), {})]
    return [(key, dict(entry, campaign_chunk_start=False), _about(item))]


def _kept_key(cache: FitCache, item: dict[str, Any]) -> str:
    """The cache key of a checkpoint's kept fit (computed once: looked up, then stored)."""
    if "kept_key" not in item:
        item["kept_key"] = cache.kept_key(item["content_sha256"], item["sweep"], item["settings_hash"],
                                          item.get("reader_key", ""))
    return item["kept_key"]


def _cached(cache: FitCache, item: dict[str, Any], shared: dict):
    """(FitResult, seed source, campaign flags, their notes, chunk start) from the cache, or
    None (absent, or an entry of the wrong shape); a result read from a folder has its equal
    containers from ``shared`` (:func:`results_of_outcomes`)."""
    if item["spectrum"] is None:
        return None
    found = cache.get_with_result(_kept_key(cache, item))
    if found is None:
        return None
    d, stored = found
    if isinstance(d, tuple):  # MemoryCache: as stored (the fit as it is held now: in the spool once stowed)
        fit, seed_source, flags, notes, chunk_start = d
        return fit.held, seed_source, list(flags), list(notes), chunk_start
    try:
        spectrum = loaded(item["spectrum"])
        # the entry is keyed by content: a renamed or moved file hits it, and the result names the file as it is now
        result = share_equal_fields(stored.with_fields(source=spectrum.meta.get("source"), label=spectrum.label),
                                    shared)
        if "campaign_points" in d:  # stored without the points: rebuilt from the spectrum, as a worker's outcome
            result = result_of_outcome({"result": result, "points": d["campaign_points"]}, spectrum)
        flags, notes = d.get("campaign_flags", []), d.get("campaign_notes", [])
        if not (isinstance(flags, list) and isinstance(notes, list)):
            return None
        return (result, str(d.get("campaign_seed_source", "")), [str(f) for f in flags], [str(n) for n in notes],
                bool(d.get("campaign_chunk_start", False)))
    except Exception:  # a damaged entry is refitted
        return None


def _chunks(items: list[dict], chain: list[int], todo: list[int]) -> list[_Chunk]:
    """The chunks that fit the ``todo`` checkpoints of ``chain``: runs of consecutive
    checkpoints with equal settings, at most :func:`chunk_size` long, each led in by the checkpoint
    before it in the chain (same circuit) when there is one."""
    position = {i: k for k, i in enumerate(chain)}
    size = chunk_size(len(todo))
    chunks: list[_Chunk] = []
    run: list[int] = []
    for i in todo:
        if run and (position[i] != position[run[-1]] + 1 or len(run) == size
                    or items[i]["settings_hash"] != items[run[-1]]["settings_hash"]):
            chunks.append(_chunk_of(items, chain, run, position))
            run = []
        run.append(i)
    if run:
        chunks.append(_chunk_of(items, chain, run, position))
    return chunks


def chunk_size(n: int) -> int:
    """Checkpoints per chunk for a chain of ``n`` to fit: about ``CHUNKS_PER_CHAIN`` chunks,
    between ``MIN_CHUNK`` and ``CHUNK_SIZE`` checkpoints each. It depends on ``n`` only (not on
    the number of workers); a rerun that fits only the checkpoints missing from the cache
    has another ``n`` and so other chunk boundaries (its values agree with a clean run's to
    the optimiser's tolerance, ~1e-8 relative)."""
    return int(min(max(math.ceil(n / CHUNKS_PER_CHAIN), MIN_CHUNK), CHUNK_SIZE))


def _chunk_of(items, chain, run, position) -> _Chunk:
    k = position[run[0]]
    before = chain[k - 1] if k > 0 else None
    same = before is not None and items[before]["spectrum"] is not None and \
        items[before]["settings"].get("circuit") == items[run[0]]["settings"].get("circuit")
    return _Chunk(list(run), before if same else None)


def task_size(n: int, workers: int | None) -> int:
    """Checkpoints per task for ``n`` checkpoints to fit on ``workers`` processes: as many as
    give every worker the same number of tasks of about ``POOL_TASK_SIZE`` at most (1,000
    hard spectra on two workers: two tasks of 500), in whole chunks (:func:`chunk_size`). A
    batched fit costs less per spectrum the more spectra share it, up to about 500: 1,000
    hard spectra took 2.36 ms of CPU each in tasks of 250 (2,807 batched LM iterations: each
    round of each task ends with iterations of a few slow problems, ~0.1 ms each whatever
    their number) and 2.04 ms in tasks of 500 or 1,000 (1,563-1,576). ``workers`` unknown
    (an executor not the campaign's own, e.g. Dask's): :func:`chunk_size` of ``n``, tasks
    for any number of workers."""
    chunk = chunk_size(n)
    if not workers or n <= 0:
        return chunk
    per_worker = math.ceil(n / (workers * POOL_TASK_SIZE))  # tasks per worker
    target = n / (workers * per_worker)
    return chunk * max(1, round(target / chunk))  # whole chunks: a task packs chunks


def finer_last_tasks(tasks: list[list[_Chunk]], workers: int) -> list[list[_Chunk]]:
    """``tasks`` (for a pool of ``workers`` processes) with each of the last ``workers`` of
    them cut into its chunks, one task each, where there are more tasks than workers. The
    workers take the tasks in order as they free up, so their finishing times drift apart
    by anything up to a task's length, and the last worker to finish runs alone for that
    long (5,000 CSV files through the command on two workers, ten tasks of ~1.7 s: 0.64,
    0.78 and 0.84 s). Shorter last tasks let the workers end closer together."""
    if len(tasks) <= workers:
        return tasks
    return tasks[:-workers] + [[chunk] for task in tasks[-workers:] for chunk in task]


def _tasks(items: list[dict], chunks: list[_Chunk], size: int | None = None) -> list[list[_Chunk]]:
    """Chunks packed into tasks: consecutive chunks with one set of settings, up to ``size``
    checkpoints per task (default :func:`chunk_size` of all the checkpoints to fit: work for
    any number of workers; see :func:`task_size`), so that the chains of many small cells share batches
    (``bench/bench_public.py --cases grids``: 300 spectra as 30 cells of 10 checkpoints took
    11.9 u with one task per cell, 6.8 u packed; as one cell 6.4 u). Run in this process
    (no executor) the tasks are larger, ``INLINE_TASK_SIZE``: a batched fit costs less per
    spectrum the more spectra share it (300 hard spectra in one task: 3.0 ms of CPU each, in
    four tasks 3.9 ms). The chunks do not depend on the packing, but a batch's adaptive
    multi-start does: values agree across packings to the optimiser's tolerance (~1e-8
    relative measured), the start bookkeeping (``n_starts``, ``start_won``) may differ."""
    size = size or chunk_size(sum(len(c.members) for c in chunks))
    tasks: list[list[_Chunk]] = []
    load = 0
    for chunk in chunks:
        same = tasks and _shared_settings(items, tasks[-1][0]) == _shared_settings(items, chunk)
        if same and load + len(chunk.members) <= size:
            tasks[-1].append(chunk)
            load += len(chunk.members)
        else:
            tasks.append([chunk])
            load = len(chunk.members)
    return tasks


def _shared_settings(items: list[dict], chunk: _Chunk) -> str:
    """The settings of a chunk that the chunks of one task share: all but each cell's own
    area, thickness and symmetry (``PER_SPECTRUM_OPTIONS``)."""
    settings = items[chunk.members[0]]["settings"]
    return repr(sorted((k, repr(v)) for k, v in settings.items() if k not in PER_SPECTRUM_OPTIONS))


IN_FLIGHT_BEYOND_WORKERS = 1  # tasks submitted to the campaign's own pool beyond one per worker


def _run_tasks(executor: Executor | None, items: list[dict], tasks: list[list[_Chunk]],
               respawn: Callable[[], Executor] | None = None, deaths: list[int] | None = None,
               on_core_free: Callable[[], None] | None = None, workers: int = 0,
               on_last_outcome: Callable[[], None] | None = None):
    """(task, outcome, spectra) as tasks finish: inline without an executor, else on it.

    On the campaign's own pool (``workers`` known) one task per worker is submitted and one
    more, which waits in the pool's queue for the first worker free; the next is submitted
    as one ends (:class:`_InFlight`): a task's payload (its spectra, read from the spool of
    a large campaign) is made only then, and held only while it runs. All submitted at once,
    the payloads of every task had been held from the start of the fits to their end
    (10,000 CSV files: ~30 MB of the campaign process), and the first task had waited for
    the last payload. An executor given (a Dask client's, a pool of one's own) gets as many
    as it says it runs at once and one more (:func:`_in_flight_limit`); one that does not
    say, all at once.
    ``spectra``: {item index: spectrum} of the task's checkpoints as its payload read them,
    for the collection (each spectrum read once per fit).

    A worker process that dies (killed, out of memory) breaks a process pool: every task
    not yet finished fails with it, also those the other workers were running or had not
    started. With ``respawn`` (the campaign's own pool) those tasks run again on a fresh
    pool, all together the first time (a worker killed from outside); if a pool breaks
    again, one at a time, so that only a task whose worker dies on its own fails (with a
    message that says so) and the others are fitted. ``deaths[0]`` counts the pools broken.
    ``on_core_free()`` runs once, when fewer than ``workers`` tasks are unfinished (and at
    least one is): at once when there are fewer tasks than workers, else after a task.
    ``on_last_outcome()`` runs once, when the last task's outcome is in and none has to run
    again (no executor: never)."""
    if executor is None:
        for task in tasks:
            spectra = _task_spectra(items, task)
            yield task, fit_chunks(*_payload(items, task, spectra)), spectra
        return
    deaths = deaths if deaths is not None else [0]
    todo = list(tasks)
    finished = 0  # tasks that came back from a worker (a pool that never returns one is broken by design)
    alone_deaths = 0  # tasks that killed their worker when run alone
    while todo:
        alone = deaths[0] >= 2  # the pool broke twice: find the task that breaks it
        batch, todo = (todo[:1], todo[1:]) if alone else (todo, [])
        running = _InFlight(executor, items, batch, _in_flight_limit(executor, workers))
        try:
            running.refill()
        except BrokenExecutor:  # broken before the fits (a worker died while reading files)
            if respawn is None:
                raise
            deaths[0] += 1
            executor = respawn()
            todo = batch + todo
            continue
        died = []
        on_core_free = _when_core_free(on_core_free, running.unfinished + len(todo), workers)
        for fut, task, spectra in running.as_completed():
            if respawn is not None and _worker_died(fut):
                died.append(task)
            else:
                finished += 1
                if respawn is not None and 0 < running.unfinished + len(todo) < workers:  # a worker is left idle
                    _release_idle_worker(executor)
                if on_last_outcome is not None and not running.unfinished and not todo and not died:
                    on_last_outcome()
                    on_last_outcome = None
                yield task, _outcome(fut), spectra
            on_core_free = _when_core_free(on_core_free, running.unfinished + len(todo), workers)
        if running.waiting and respawn is None:  # an executor not ours broke: the tasks not sent are not fitted
            for task in running.waiting:
                yield task, {"error": "not fitted: the executor broke before these checkpoints were sent"}, {}
            running.waiting.clear()
        if not died and not running.waiting:
            continue
        deaths[0] += 1
        executor = respawn()
        if not alone:
            todo = died + running.waiting + todo
            continue
        yield died[0], {"error": WORKER_DIED + _spawn_hint(executor)}, {}
        alone_deaths += 1
        if alone_deaths >= 2 and not finished:  # two tasks died alone, none ever came back: no worker runs here
            for task in todo:
                yield task, {"error": WORKER_DIED + _spawn_hint(executor)}, {}
            return


def _in_flight_limit(executor: Executor, workers: int) -> Callable[[], float]:
    """How many tasks may be submitted to ``executor`` and not yet taken back: one per worker
    (process, or thread of a Dask worker) and ``IN_FLIGHT_BEYOND_WORKERS`` more, on the
    campaign's own pool of ``workers`` or on an executor that tells how many tasks it runs at
    once (:func:`_executor_slots`, asked again as tasks end: a Dask cluster may grow or shrink
    meanwhile); no limit on any other."""
    if workers:
        return lambda: workers + IN_FLIGHT_BEYOND_WORKERS

    def limit() -> float:
        slots = _executor_slots(executor)
        return math.inf if slots is None else slots + IN_FLIGHT_BEYOND_WORKERS
    return limit


def _executor_slots(executor: Any) -> int | None:
    """How many tasks ``executor`` runs at once, where it tells: the threads of a Dask
    client's workers now (``client.get_executor()``), the processes or threads of a
    ``concurrent.futures`` pool; None for any other executor, or when asking fails."""
    client = getattr(executor, "_client", None)  # distributed.cfexecutor.ClientExecutor
    if client is not None and callable(getattr(client, "nthreads", None)):
        try:
            return sum(int(n) for n in client.nthreads().values())
        except Exception:  # the scheduler out of reach: the executor says nothing then
            return None
    slots = getattr(executor, "_max_workers", None)  # ProcessPoolExecutor, ThreadPoolExecutor
    return slots if isinstance(slots, int) and slots > 0 else None


class _InFlight:
    """The tasks of one round on an executor (:func:`_run_tasks`): at most ``window()`` of
    them submitted and not yet taken back (:func:`_in_flight_limit`), the others waiting;
    each submitted with the spectra its payload was made of."""

    def __init__(self, executor: Executor, items: list[dict], tasks: list[list[_Chunk]],
                 window: Callable[[], float]):
        self.executor, self.items, self.window = executor, items, window
        self.waiting = list(tasks)
        self.pending: dict[Future, tuple[list[_Chunk], dict[int, Any]]] = {}
        self.broken = False  # the executor refused a task: no more are submitted

    @property
    def unfinished(self) -> int:
        return len(self.pending) + len(self.waiting)

    def refill(self) -> None:
        """Submit waiting tasks, in order, up to the window (BrokenExecutor where the
        executor is broken: the task stays waiting)."""
        limit = max(self.window(), 1)  # a cluster with no worker yet: one task waits in its queue
        while self.waiting and len(self.pending) < limit:
            task = self.waiting[0]
            spectra = _task_spectra(self.items, task)
            fut = self.executor.submit(fit_chunks, *_payload(self.items, task, spectra))
            self.pending[fut] = (self.waiting.pop(0), spectra)

    def as_completed(self) -> Iterator[tuple[Future, list[_Chunk], dict[int, Any]]]:
        """(future, task, spectra) as the submitted tasks end, the next ones submitted before
        each is handed on (none once the executor refused one)."""
        while self.pending:
            done, _ = wait(set(self.pending), return_when=FIRST_COMPLETED)
            for fut in done:
                task, spectra = self.pending.pop(fut)
                if not self.broken:
                    try:
                        self.refill()
                    except BrokenExecutor:
                        self.broken = True
                yield fut, task, spectra


def _release_idle_worker(executor: Executor) -> None:
    """Have the worker that just ended its last task hand the memory it freed back to the
    system (:func:`~eisfit._processes.release_freed_memory`) while the others still fit:
    its tuned allocator kept up to 64 MB of the task's freed heap, and the campaign process
    imports pandas and pyplot then (10,000 CSV files: the idle worker 93 -> ~66 MB at that
    moment, which had been the summed peak). Submitted when a worker is left without a task
    (the condition of ``on_core_free``), behind every task, so only an idle worker takes it."""
    with contextlib.suppress(BrokenExecutor, RuntimeError):  # a pool broken or shut down: nothing to release
        executor.submit(release_freed_memory)


def _when_core_free(hook: Callable[[], None] | None, unfinished: int, workers: int) -> Callable[[], None] | None:
    """Run ``hook`` if fewer tasks than workers are unfinished and some still run; returns
    the hook while it has not run, else None."""
    if hook is None or not 0 < unfinished < workers:
        return hook
    hook()
    return None


WORKER_DIED = ("a worker process died while fitting these checkpoints, also when they were fitted again "
               "alone (killed, or out of memory)")


def _worker_died(fut: Future) -> bool:
    return isinstance(fut.exception(), BrokenExecutor)


def _spawn_hint(executor: Executor) -> str:
    """Where workers are spawned, a script without a main guard kills each at its start."""
    context = getattr(executor, "_mp_context", None)
    if context is None or context.get_start_method() != "spawn":
        return ""
    return "; a script that calls fit_campaign with jobs > 1 must do so under `if __name__ == \"__main__\":`"


def _per_chunk(task: list[_Chunk], outcome: Any) -> list[Any]:
    """The outcomes of each chunk of a task (a failed task: its error for every chunk)."""
    if isinstance(outcome, dict) and "error" in outcome:
        return [outcome] * len(task)
    return list(outcome)


def _task_spectra(items: list[dict], task: list[_Chunk]) -> dict[int, Any]:
    """{item index: spectrum} of a task's checkpoints, its chunks' lead-ins too (read from the
    spool where a large campaign keeps them)."""
    return {i: loaded(items[i]["spectrum"]) for chunk in task for i in _fitted_members(chunk)}


def _fitted_members(chunk: _Chunk) -> list[int]:
    """The items a chunk fits: its lead-in (refitted as its seed), then its members."""
    return ([chunk.lead_in] if chunk.lead_in is not None else []) + chunk.members


def _payload(items: list[dict], task: list[_Chunk], spectra: Mapping[int, Any] | None = None) -> tuple:
    """What a worker needs for one task: plain arrays and dicts (picklable, no open files);
    ``spectra``: the task's (:func:`_task_spectra`), read here where not given."""
    spectra = _task_spectra(items, task) if spectra is None else spectra
    settings = dict(items[task[0].members[0]]["settings"])
    circuit = settings.pop("circuit")
    parts = []
    for chunk in task:
        own = {k: v for k, v in items[chunk.members[0]]["settings"].items() if k in PER_SPECTRUM_OPTIONS}
        # a repair's seed, the cold fits solved before and their results (see fit_chunks)
        extra = (chunk.seed, chunk.cold_rows, chunk.cold_results) if chunk.seed is not None or chunk.cold_rows else ()
        parts.append(([fit_payload(spectra[i]) for i in _fitted_members(chunk)], chunk.lead_in is not None, own,
                      *extra))
    return parts, circuit, settings, False, True


def _collect(items: list[dict], fits: list[CheckpointFits], chunk: _Chunk, outcome: Any,
             cache: FitCache, shared: dict, notes_of: dict[int, str] | None = None,
             colds: dict[int, Any] | None = None, spectra: Mapping[int, Any] | None = None) -> int:
    """Store a chunk's outcomes (cache, kept fits, flags); returns the checkpoints fitted.
    ``shared``: the campaign's pool of equal containers (:func:`results_of_outcomes`).
    ``notes_of``: a note to add to the kept fit of some of them (by item index).
    ``colds``: where the chunk start's cold fit goes (its outcome's ``"cold"``; by item index).
    ``spectra``: the checkpoints' spectra as the task's payload read them (by item index;
    read again here where missing)."""
    if isinstance(outcome, dict) and "error" in outcome:  # the whole task failed
        outcome = [outcome] * len(chunk.members)
    stored: list[tuple[str, Any, dict[str, Any]]] = []
    done = []
    for i, o in zip(chunk.members, outcome):
        if "error" in o:  # a checkpoint never run (an interrupt) did not fail: its error says why alone
            fits[i].error = o["error"] if o.get("not_run") else f"fit failed: {o['error']}"
            fits[i].error_traceback = o.get("traceback")
        else:
            done.append((i, o))
            cold = o.pop("cold", None)
            if cold is not None and colds is not None:
                colds[i] = cold
    spectra = spectra or {}
    results = results_of_outcomes([o for _, o in done],
                                  [spectra[i] if i in spectra else loaded(items[i]["spectrum"]) for i, _ in done],
                                  shared)
    for (i, o), kept in zip(done, results):
        flags, notes = _seed_disagreement(o)
        notes += [notes_of[i]] if notes_of and i in notes_of else []
        fits[i] = CheckpointFits(kept, o["seed_source"], flags=flags, notes=notes,
                                 chunk_start=chunk.lead_in is not None and i == chunk.members[0])
        stored.extend(_cache_entries(cache, items[i], fits[i], o))
    cache.put_many(stored)  # one pack per chunk
    return len(done)


def _cache_entries(cache: FitCache, item: dict[str, Any], fit: CheckpointFits,
                   outcome: dict[str, Any]) -> list[tuple[str, Any, dict[str, Any]]]:
    """The (key, entry, about) that stores a kept fit: in memory the checkpoint's fits (their
    kept fit as held when read: in the spool once stowed), for a folder
    what :func:`_cache_entry` makes of the worker's ``outcome``; none when nothing is cached."""
    if isinstance(cache, MemoryCache):
        return [(_kept_key(cache, item), (fit, fit.seed_source, list(fit.flags), list(fit.notes), fit.chunk_start),
                 {})]  # copies: the campaign flags decided at the end are not the fit's
    if not cache.enabled:
        return []
    return [(_kept_key(cache, item), _cache_entry(outcome, fit), _about(item))]


def _about(item: dict[str, Any]) -> dict[str, Any]:
    """What a cache entry says it is of: source file, sweep, settings (and the reader options,
    when the file was not read as detected)."""
    about = {"source": item["source"], "sweep": item["sweep"], "settings": item["settings"]}
    if item.get("reader_key"):
        about["reader"] = item["reader_key"]
    return about


def _seed_disagreement(outcome: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The campaign flags and notes of a chain's keep decision: the seeded fit kept over a
    slightly lower cold fit that swapped the arcs (a note), a seeded start that found a lower
    minimum than the cold fit (``seed-disagreement``)."""
    flags, notes = [], []
    if outcome.get("identity_kept"):
        notes.append(f"kept the previous checkpoint's arc identities: the cold fit, in which an arc's time constant "
                     f"moved by more than {ARC_SWAP_DECADES:g} decades (another process under its name: arcs swapped, "
                     f"or an arc lost or found), was lower by less than 2 in BIC (chi-square "
                     f"{outcome['cold_chisq']:.4g} vs {outcome['seeded_chisq']:.4g})")
    if outcome.get("disagree"):
        flags.append("seed-disagreement")
        notes.append(f"the seeded fit found a lower minimum than the cold fit (chi-square "
                     f"{outcome['seeded_chisq']:.4g} vs {outcome['cold_chisq']:.4g})")
    return flags, notes


def _cache_entry(outcome: dict[str, Any], fit: CheckpointFits) -> KeptEntry:
    """What the cache stores of a kept fit: the worker's result without the per-point arrays
    and which points were fitted (the spectrum is read again, its bytes are in the key; z_fit
    is the circuit at the values), or the whole result where the points cannot be named by
    index; with the campaign flags and notes of the fit itself (``seed-disagreement``: a
    cached rerun had lost it) and whether it began a chunk from a cold lead-in (the repair
    of :func:`_repair_chunk_starts` then still has to look at it)."""
    extra = {"campaign_seed_source": outcome["seed_source"], "campaign_flags": list(fit.flags),
             "campaign_notes": list(fit.notes), "campaign_chunk_start": fit.chunk_start}
    if "points" in outcome:
        return KeptEntry(outcome["result"], dict(campaign_points=outcome["points"], **extra))
    return KeptEntry(fit.kept, extra)


def result_of_outcome(outcome: dict[str, Any], spectrum: Spectrum):
    """The FitResult of a worker's outcome (see :func:`~eisfit.fitting.batch.fit_chunk`,
    ``lean``) and the spectrum that was fitted.

    frequency and z are the spectrum's points (its own read-only arrays, not copies, when
    every point was fitted; ``outcome["points"]`` indexes them otherwise); z_fit is the
    circuit at the fitted values on those points, as the engine computes it. A result
    that kept its arrays (no ``points``) is used as it is."""
    return results_of_outcomes([outcome], [spectrum])[0]


def results_of_outcomes(outcomes: list[dict[str, Any]], spectra: list[Spectrum], shared: dict | None = None) -> list:
    """:func:`result_of_outcome` of many outcomes: the fitted curves of the results of one
    circuit and number of points are computed in one evaluation (elementwise: the values
    are those of one evaluation per result, to the bit). ``shared``: the campaign's pool
    of equal containers (:func:`~eisfit.fitting.result.share_equal_fields`), each result's
    settings, units, ... replaced by the pool's (a result unpickled from a worker has its own)."""
    results = [o["result"] for o in outcomes]
    seen: dict[int, Any] = {}  # the results of one message share their containers (lean_result)
    changes = [{} if shared is None else shared_fields(r, shared, seen) for r in results]
    points: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    groups: dict[str, list[int]] = {}
    for k, (o, s) in enumerate(zip(outcomes, spectra)):
        if "points" in o:
            points[k] = _points_of(s, o["points"])
            groups.setdefault(results[k].circuit, []).append(k)
    for circuit, members in groups.items():  # a runaway element (flagged unresolved) may overflow
        z_fits = circuit_of(circuit).impedance_at_each(np.array([results[k].parameter_array for k in members]),
                                                       [points[k][0] for k in members])
        for k, z_fit in zip(members, z_fits):
            changes[k].update(frequency=points[k][0], z=points[k][1], z_fit=z_fit)
    return [r.with_fields(**c) if c else r for r, c in zip(results, changes)]  # one copy each


def _points_of(spectrum: Spectrum, points: list[int] | None) -> tuple[np.ndarray, np.ndarray]:
    f, z = spectrum.frequency, spectrum.z  # read-only; the spectrum's own arrays when all are selected
    if points is None:
        return f, z
    idx = np.asarray(points, dtype=int)
    return f[idx], z[idx]


ARC_JUMP_NOTE = "resistance jump > 3x "
ARC_SWAP_NOTE = "arc time constant moved > "  # the notes of arc-jump and arc-swap begin so
SAME_METADATA = "without metadata change"
DC_POTENTIAL_SAME_V = 0.01  # consecutive checkpoints whose DC potentials differ by more stepped it (a
# potential scan: SPEIS steps of 25-100 mV; a rest's drift between checkpoints is a few mV)


def _flag_arc_jumps(items: list[dict], chain: list[int], fits: list[CheckpointFits]) -> None:
    """Flag ``arc-jump`` when a resistance changes > 3x, and ``arc-swap:<R>`` when an arc's
    time constant moves by more than ``ARC_SWAP_DECADES`` (another process now holds the
    arc's parameters: :func:`~eisfit.analysis.derived.swapped_arcs`), between consecutive
    kept fits whose conditions (cell, temperature, area, thickness, current, circuit) are
    the same and which both determine the resistance (not unresolved, stderr not above the
    value; no value of a noise-dominated fit). The notes say "without metadata change", or
    the DC potential's step where the files give one that moved by more than
    ``DC_POTENTIAL_SAME_V`` (a potential scan: its resistances may change with the
    potential)."""
    previous = None  # (item index, its determined resistances, its fit)
    for i in chain:
        kept = fits[i].view
        if kept is None:
            continue
        determined = _determined_resistances(kept)
        if previous is not None and items[previous[0]]["conditions"] == items[i]["conditions"]:
            before = previous[1]
            jumped = [f"{name} {before[name]:.3g} -> {b:.3g} ohm" for name, b in determined.items()
                      if name in before and max(before[name] / b, b / before[name]) > ARC_JUMP_FACTOR]
            change = _metadata_change(items[previous[0]], items[i])
            if jumped:
                fits[i].flags.append("arc-jump")
                fits[i].notes.append(f"{ARC_JUMP_NOTE}{change}: " + "; ".join(jumped))
            _flag_arc_swaps(fits[i], previous[2], kept, set(before) & set(determined), change)
        previous = (i, determined, kept)


def _metadata_change(before: dict, after: dict) -> str:
    """How two checkpoints of the same conditions differ, in words for the notes:
    ``without metadata change``, or ``with the DC potential stepped 0.1 -> 0.125 V``."""
    a, b = before.get("dc_potential_V"), after.get("dc_potential_V")
    if a is None or b is None or not abs(b - a) > DC_POTENTIAL_SAME_V:
        return SAME_METADATA
    return f"with the DC potential stepped {a:.4g} -> {b:.4g} V"


def reflag_arc_jumps(items: list[dict], chain: list[int], fits: list[CheckpointFits]) -> None:
    """The campaign flags ``arc-jump`` and ``arc-swap:<R>`` (and their notes) of a chain
    judged again on the fits it now keeps: a joint fit replaced the values they were judged on
    (a row flagged ``arc-jump`` with the note "R2 60.6 -> 18.2 ohm", the independent values,
    held 20.3 ohm from the joint fit, 2.98x from its neighbour)."""
    for i in chain:
        fits[i].flags = [f for f in fits[i].flags if f != "arc-jump" and not f.startswith("arc-swap:")]
        fits[i].notes = [n for n in fits[i].notes if not n.startswith((ARC_JUMP_NOTE, ARC_SWAP_NOTE))]
    _flag_arc_jumps(items, chain, fits)


def _flag_arc_swaps(fit: CheckpointFits, before, after, determined: set[str], change: str = SAME_METADATA) -> None:
    """``arc-swap:<R>`` on ``fit`` (whose kept fit is ``after``) for each arc whose resistance
    both fits determine (``determined``) and whose time constant moved by more than
    ``ARC_SWAP_DECADES`` from the fit ``before``; the note gives both apex frequencies and
    ``change`` (:func:`_metadata_change`)."""
    if after.circuit != before.circuit:
        return
    arcs = {a.resistor: a for a in circuit_arcs(circuit_of(after.circuit), branches=True)}
    was, now = before.values, after.values  # once: a ResultView makes them when asked
    moved = [r for r in swapped_arcs(was, now, list(arcs.values())) if r in determined]
    if not moved:
        return
    fit.flags.extend(f"arc-swap:{r}" for r in moved)
    fit.notes.append(f"{ARC_SWAP_NOTE}{ARC_SWAP_DECADES:g} decades {change} "
                     "(another process holds its parameters): " + "; ".join(
                         f"{r} apex {_apex_hz(was, arcs[r]):.3g} -> {_apex_hz(now, arcs[r]):.3g} Hz"
                         for r in moved))


def _apex_hz(values, arc) -> float:
    """An arc's apex frequency, Hz: 1/(2 pi tau)."""
    return 1.0 / (2.0 * math.pi * arc_tau_s(values, arc))


def _determined_resistances(fit) -> dict[str, float]:
    """The resistances (ohm, by name) that ``fit`` determines: positive, not flagged
    unresolved (issue 13: no number) and with a standard error not above the value; none of a
    fit whose points are noise-dominated (its values read undetermined)."""
    if noise_dominated(fit):
        return {}
    runaway = unresolved_names(fit.flags)
    values, stderr = fit.values, fit.stderr  # once: a ResultView makes each when asked
    return {name: values[name] for name in resistance_names(values)
            if name not in runaway and values[name] > 0 and not undetermined(values[name], stderr.get(name))}


def with_campaign_flags(result, flags: list[str]):
    """A copy of a FitResult with the campaign flags appended (no duplicates)."""
    if result is None or not flags:
        return result
    return result.with_fields(flags=with_flags_added(result.flags, flags))


def _outcome(fut: Future) -> Any:
    try:
        return fut.result()
    except Exception as exc:  # the worker itself died (e.g. a lost Dask worker, or an executor not ours)
        # its traceback names the worker's frames too (a process pool chains them as the cause)
        return {"error": f"worker failed: {type(exc).__name__}: {exc}",
                "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))}
