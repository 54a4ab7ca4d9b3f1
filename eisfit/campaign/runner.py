"""Running the fits of a campaign: cold fits in parallel, then seeded chains.

Pass 1 (cold): every checkpoint is fitted from the automatic guess
(``starts="auto"``); these fits are independent and go to the executor all at once.

Pass 2 (seeded): within each chain (one per ``cell``), checkpoint k is refitted
from the values kept at checkpoint k-1 (``initial=..., starts=1``). The lower-chisq
of the two fits is kept; ``seed-disagreement`` is flagged when any resistance of
the two differs by more than 3 combined standard errors. Chains run in parallel
with each other, sequentially within.

Workers receive plain data (arrays, dicts) and return ``FitResult.to_dict()``, so
any :class:`concurrent.futures.Executor` works, including a Dask client's
``client.get_executor()``.
"""
from __future__ import annotations

import math
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

import numpy as np

from ..fitting.flags import unresolved_names
from ..model.circuit import resistance_names
from ..spectrum import Spectrum
from .cache import FitCache, fit_key, seed_hash

__all__ = ["FitTask", "run_fit_task", "run_campaign_fits", "CheckpointFits"]

SEED_DISAGREEMENT_SIGMAS = 3.0
SEED_DISAGREEMENT_RELATIVE = 0.10   # used when a standard error is not available
ARC_JUMP_FACTOR = 3.0
CHISQ_TIE_RTOL = 1e-6               # a seeded fit must beat the cold one by more than this


@dataclass
class FitTask:
    """Everything a worker needs for one fit (picklable, no open files)."""

    key: str
    frequency: np.ndarray
    z: np.ndarray
    meta: dict[str, Any]
    settings: dict[str, Any]
    initial: dict[str, float] | None = None

    @classmethod
    def from_spectrum(cls, key: str, s: Spectrum, settings: dict[str, Any],
                      initial: dict[str, float] | None = None) -> "FitTask":
        meta = {k: v for k, v in s.meta.items() if isinstance(v, (str, int, float, bool, type(None)))}
        return cls(key, np.asarray(s.frequency), np.asarray(s.z), meta, dict(settings), initial)


def run_fit_task(task: FitTask) -> dict[str, Any]:
    """Worker entry: fit one spectrum; ``{"result": FitResult.to_dict()}`` or ``{"error": text}``."""
    from ..fitting import fit

    t0 = time.perf_counter()
    try:
        s = Spectrum(task.frequency, task.z, task.meta)
        kwargs = dict(task.settings)
        if task.initial is not None:
            kwargs.update(initial=dict(task.initial), starts=1)
        res = fit(s, **kwargs)
        return {"key": task.key, "result": res.to_dict(), "seconds": time.perf_counter() - t0}
    except Exception as exc:  # reported in the summary; the campaign goes on
        reason = str(exc) or type(exc).__name__
        if not hasattr(exc, "args") or type(exc).__module__.split(".")[0] != "eisfit":
            reason = f"{type(exc).__name__}: {reason}"
        return {"key": task.key, "error": reason, "traceback": traceback.format_exc(limit=3),
                "seconds": time.perf_counter() - t0}


@dataclass
class CheckpointFits:
    """The fits of one checkpoint: cold, seeded, the kept one, and campaign flags."""

    cold: Any = None          # FitResult or None
    seeded: Any = None
    kept: Any = None
    seed_source: str = ""     # "cold", "seeded" or "" (failed)
    error: str | None = None
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Runner:
    """Submits tasks to an executor (or runs them inline), with cache and progress."""

    def __init__(self, executor: Executor | None, cache: FitCache, progress: Any,
                 about: Callable[[FitTask], dict]):
        self.executor = executor
        self.cache = cache
        self.progress = progress
        self.about = about
        self.fits_run = 0
        self.fit_seconds = 0.0

    def cached(self, key: str):
        from ..fitting.result import FitResult

        d = self.cache.get(key)
        if d is None:
            return None
        try:
            return FitResult.from_dict(d)
        except (KeyError, TypeError, ValueError):
            return None

    def submit(self, task: FitTask) -> Future:
        if self.executor is None:
            fut: Future = Future()
            fut.set_result(run_fit_task(task))
            return fut
        return self.executor.submit(run_fit_task, task)

    def collect(self, task: FitTask, outcome: dict[str, Any]):
        """(FitResult or None, error or None); stores successes in the cache at once."""
        from ..fitting.result import FitResult

        self.fits_run += 1
        self.fit_seconds += float(outcome.get("seconds", 0.0))
        if self.progress is not None:
            self.progress.update(1)
        if "error" in outcome:
            return None, outcome["error"]
        self.cache.put(task.key, outcome["result"], self.about(task))
        return FitResult.from_dict(outcome["result"]), None


def run_campaign_fits(
    items: list[dict[str, Any]],
    chains: list[list[int]],
    executor: Executor | None,
    cache: FitCache,
    progress_factory: Callable[[int], Any],
) -> tuple[list[CheckpointFits], dict[str, Any]]:
    """Fit every item (dict with ``spectrum``, ``settings``, ``content_sha256``, ``sweep``,
    ``settings_hash``, ``conditions``); ``chains`` lists item indices in seeding order.

    Returns one :class:`CheckpointFits` per item and run statistics
    (``fits_run``, ``cache_hits``, ``cold_fits``, ``seeded_fits``, ``fit_seconds``).
    """
    fits = [CheckpointFits() for _ in items]
    n_possible = sum(item["spectrum"] is not None for item in items) \
        + sum(max(len(c) - 1, 0) for c in chains)
    progress = progress_factory(n_possible)

    def about(task: FitTask) -> dict:
        return {"source": task.meta.get("source"), "sweep": task.meta.get("sweep"),
                "settings": task.settings, "initial": task.initial}

    runner = _Runner(executor, cache, progress, about)
    try:
        _cold_pass(items, fits, runner)
        _seeded_pass(items, chains, fits, runner)
    finally:
        if progress is not None:
            progress.close()
    for chain in chains:
        _flag_arc_jumps(items, chain, fits)
    stats = {"fits_run": runner.fits_run, "cache_hits": cache.hits, "cache_writes": cache.writes,
             "fit_seconds": runner.fit_seconds}
    return fits, stats


def _cold_key(item: dict[str, Any]) -> str:
    return fit_key(item["content_sha256"], item["sweep"], item["settings_hash"], "cold")


def _cold_pass(items: list[dict], fits: list[CheckpointFits], runner: _Runner) -> None:
    pending: dict[Future, tuple[int, FitTask]] = {}
    for i, item in enumerate(items):
        if item["spectrum"] is None:
            continue
        key = _cold_key(item)
        hit = runner.cached(key)
        if hit is not None:
            fits[i].cold = hit
            if runner.progress is not None:
                runner.progress.update(1)
            continue
        task = FitTask.from_spectrum(key, item["spectrum"], item["settings"])
        pending[runner.submit(task)] = (i, task)
    for fut in _as_completed(pending):
        i, task = pending[fut]
        fits[i].cold, error = runner.collect(task, _outcome(fut))
        if error is not None:
            fits[i].error = f"cold fit failed: {error}"


def _seeded_pass(items: list[dict], chains: list[list[int]], fits: list[CheckpointFits],
                 runner: _Runner) -> None:
    """Walk every chain; at most one fit in flight per chain, chains in parallel."""
    position = {id(c): 0 for c in chains}
    pending: dict[Future, tuple[list[int], int, FitTask]] = {}

    def advance(chain: list[int]) -> None:
        while position[id(chain)] < len(chain):
            k = position[id(chain)]
            i = chain[k]
            j = _previous_kept(chain, k, fits)
            seed = None if j is None else _seed_values(items[j], fits[j].kept, items[i], fits[i].cold)
            if seed is None:
                _keep(fits[i], None)
                position[id(chain)] += 1
                continue
            key = fit_key(items[i]["content_sha256"], items[i]["sweep"], items[i]["settings_hash"],
                          "seeded", seed_hash(seed))
            hit = runner.cached(key)
            if hit is not None:
                _keep(fits[i], hit)
                if runner.progress is not None:
                    runner.progress.update(1)
                position[id(chain)] += 1
                continue
            task = FitTask.from_spectrum(key, items[i]["spectrum"], items[i]["settings"], seed)
            pending[runner.submit(task)] = (chain, i, task)
            return

    for chain in chains:
        advance(chain)
    while pending:
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for fut in done:
            chain, i, task = pending.pop(fut)
            seeded, error = runner.collect(task, _outcome(fut))
            if error is not None:
                fits[i].notes.append(f"seeded fit failed: {error}")
            _keep(fits[i], seeded)
            position[id(chain)] += 1
            advance(chain)


def _previous_kept(chain: list[int], k: int, fits: list[CheckpointFits]) -> int | None:
    """Item index of the last checkpoint before chain[k] with a kept fit."""
    for j in range(k - 1, -1, -1):
        if fits[chain[j]].kept is not None:
            return chain[j]
    return None


def _seed_values(prev_item: dict, prev, item: dict, cold) -> dict[str, float] | None:
    """Start values from the previous kept fit; None when the circuits differ."""
    if prev is None or item["spectrum"] is None:
        return None
    if prev_item["settings"].get("circuit") != item["settings"].get("circuit"):
        return None
    values = {n: float(v) for n, v in prev.values.items() if math.isfinite(v)}
    if cold is not None and set(values) != set(cold.values):
        return None
    return values or None


def _keep(f: CheckpointFits, seeded) -> None:
    """Choose between the cold and the seeded fit (lower chisq) and flag disagreement."""
    f.seeded = seeded
    candidates = [(r, name) for r, name in ((f.cold, "cold"), (seeded, "seeded")) if r is not None]
    if not candidates:
        f.kept, f.seed_source = None, ""
        return
    # ties (within CHISQ_TIE_RTOL) go to the cold fit, so serial and parallel runs agree
    f.kept, f.seed_source = candidates[0]
    if len(candidates) == 2 and _chisq(seeded) < _chisq(f.cold) * (1.0 - CHISQ_TIE_RTOL):
        f.kept, f.seed_source = seeded, "seeded"
    if f.cold is not None and seeded is not None:
        differing = disagreeing_resistances(f.cold, seeded)
        if differing:
            f.flags.append("seed-disagreement")
            f.notes.append("seeded and cold fits disagree on " + ", ".join(differing))
    if f.error is not None and f.kept is not None:
        f.notes.append(f.error)
        f.error = None


def _chisq(r) -> float:
    return r.chisq if math.isfinite(r.chisq) else math.inf


def disagreeing_resistances(a, b) -> list[str]:
    """Resistances of fits a and b that differ by > 3 combined stderr (10 % without stderr)."""
    out = []
    for name in resistance_names(a.values):
        if name not in b.values:
            continue
        va, vb = a.values[name], b.values[name]
        sa, sb = a.stderr.get(name, math.nan), b.stderr.get(name, math.nan)
        combined = math.hypot(sa, sb)
        if math.isfinite(combined) and combined > 0:
            if abs(va - vb) > SEED_DISAGREEMENT_SIGMAS * combined:
                out.append(name)
        elif abs(va - vb) > SEED_DISAGREEMENT_RELATIVE * max(abs(va), abs(vb)):
            out.append(name)
    return out


def _flag_arc_jumps(items: list[dict], chain: list[int], fits: list[CheckpointFits]) -> None:
    """Flag ``arc-jump`` when a resistance changes > 3x between consecutive kept fits
    whose conditions (cell, temperature, area, thickness, current, circuit) are the same."""
    previous = None
    for i in chain:
        kept = fits[i].kept
        if kept is None:
            continue
        if previous is not None and items[previous]["conditions"] == items[i]["conditions"]:
            before = fits[previous].kept
            jumped = []
            runaway = unresolved_names(before.flags) | unresolved_names(kept.flags)  # issue 13: no number
            for name in resistance_names(kept.values):
                if name in runaway:
                    continue
                a, b = before.values.get(name, math.nan), kept.values[name]
                if a > 0 and b > 0 and max(a / b, b / a) > ARC_JUMP_FACTOR:
                    jumped.append(f"{name} {a:.3g} -> {b:.3g} ohm")
            if jumped:
                fits[i].flags.append("arc-jump")
                fits[i].notes.append("resistance jump > 3x without metadata change: " + "; ".join(jumped))
        previous = i


def with_campaign_flags(result, flags: list[str]):
    """A copy of a FitResult with the campaign flags appended (no duplicates)."""
    if result is None or not flags:
        return result
    merged = list(result.flags) + [f for f in flags if f not in result.flags]
    return replace(result, flags=merged)


def _outcome(fut: Future) -> dict[str, Any]:
    try:
        return fut.result()
    except Exception as exc:  # the worker itself died (e.g. a lost Dask worker)
        return {"error": f"worker failed: {type(exc).__name__}: {exc}"}


def _as_completed(pending: dict[Future, Any]):
    remaining = set(pending)
    while remaining:
        done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
        yield from done
