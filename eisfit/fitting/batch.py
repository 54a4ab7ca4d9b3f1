"""Many spectra at once: batched fits, seeded chains and streaming to a summary CSV.

:func:`fit_batch` gives the same results as calling :func:`eisfit.fit` on every
spectrum (same starts, same Levenberg-Marquardt path per start, same flags) but
solves all spectra x all starts (any frequencies, any numbers of points) as one batched problem:
stage 1 (all starts of all spectra), the polish of each spectrum's best distinct
starts, the covariance (batched SVD), the derived quantities (vectorised delta
method) and the Kramers-Kronig test (one design matrix per chain length for the
whole batch) are each one vectorised step instead of a Python loop.

:func:`fit_chain` is the fast equivalent of a campaign's seeded chain (see its
docstring for how it relates to :func:`eisfit.fit_campaign`), and :func:`fit_stream`
fits an iterable of spectra or files in chunks, optionally over processes, appending
rows to a CSV file and keeping only a bounded window of spectra in memory.
"""
from __future__ import annotations

import csv
import dataclasses
import math
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .._checks import check_choice
from ..analysis.derived import circuit_arcs, swapped_arcs
from ..analysis.quality import is_instrument_noise_column
from ..model import Circuit, CircuitDefinition
from ..spectrum import Spectrum
from .engine import (PER_SPECTRUM_OPTIONS, _definition, _final_values, _Prepared, _prepare, final_values,
                     fit_prepared)
from .result import NO_POINTS, FitResult, share_equal_fields, shared_fields
from .solver import PolishStream, Solution, dof_of, merge_optima, solve, start_costs

__all__ = ["fit_batch", "fit_chain", "fit_stream", "summary_row", "ChainResult", "StreamSummary"]

CHISQ_TIE_RTOL = 1e-6  # a seeded fit must beat the cold one by more than this (relative) and by
SEED_KEEP_S2 = 0.1  # more than this times s^2 = chisq / dof: less is the same minimum, reached to within
# the polish's own tolerance (it stops creeping along a flat valley at 0.1 s^2 per 20 steps)
SEED_RTOL = 1e-6  # a chain position is refitted when its seed moved by more than this (relative)
IDENTITY_TIE_BIC = 2.0  # two labellings of one circuit whose BIC (n ln chisq) differ by less are equally
# supported (eisfit.selection.BIC_TIE's rule for circuits): the one that keeps the previous checkpoint's arc
# identities is kept. vsp_peis_with.mpr's two labellings alternate as the lower by 0.6-1.15 % (BIC 0.9-1.6)
SWAPPED_SEED_RATIO = 100.0  # a seed whose identities the cold fit swapped is still fitted when it describes the
# spectrum at most this many times worse than the spectrum's own best quick start. The real chains of
# ../shared/realdata met the rule only in vsp_peis_with.mpr: at 1.4x (R0-p(R1,CPE1)-p(R2,CPE2)) and at 1.1,
# 8.9 and 26x (L0-R0-p(R1,CPE1)-p(CPE2,R2-Ws2), cut into chunks: the 26x seed keeps R1 the 1 MHz arc);
# 1,000 unrelated hard spectra as one chain met it 197 times, at 4.9-4e5x (median 190x): 84 of them now
# run (the one seeded fit of the 197 that was kept among them)


# ============================================================================ fit_batch
def fit_batch(
    spectra: Sequence[Spectrum],
    circuit: str | CircuitDefinition | Circuit = "garnet-symmetric",
    *,
    initial: Mapping[str, float] | Sequence[Mapping[str, float] | None] | None = None,
    starts: int | str = "auto",
    weighting: str = "modulus",
    area_cm2: float | None = None,
    thickness_cm: float | None = None,
    symmetric: bool = True,
    fmin: float | None = None,
    fmax: float | None = None,
    exclude_hz: Sequence[float] = (),
    drop_inductive: bool | str = "auto",
    fixed: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    kk: bool = True,
    order_arcs: bool = True,
    profile: bool | str = "auto",
    guess: str = "auto",
) -> list[FitResult]:
    """Fit ``circuit`` to every spectrum; the results of :func:`eisfit.fit` per spectrum to
    the optimiser's tolerance (the rows of a batch are evaluated in blocks, so their rounding
    and the Lin-KK numbers, solved together, differ in the last digits: 141 real sweeps had the
    same flags, chi-square within 1.4e-14 and values within 3.6e-7 relative).

    Parameters are those of :func:`eisfit.fit` (frequencies in Hz, area in cm2,
    thickness in cm), except ``initial``: one mapping for all spectra, or a sequence
    with one mapping (or None) per spectrum, e.g. the previous checkpoint's values.
    All spectra are solved together (each row on its own points; see
    :func:`eisfit.fitting.solver.grid_key`). Raises :class:`~eisfit.FitError` where
    :func:`eisfit.fit` would.
    """
    spectra = list(spectra)
    inits = _per_spectrum(initial, len(spectra))
    prepare = _preparer(circuit, dict(area_cm2=area_cm2, thickness_cm=thickness_cm, symmetric=symmetric,
                                      weighting=weighting, fmin=fmin, fmax=fmax, exclude_hz=exclude_hz,
                                      drop_inductive=drop_inductive, fixed=fixed, bounds=bounds, profile=profile,
                                      guess=guess))
    preps = [prepare(s, init, starts) for s, init in zip(spectra, inits)]
    return fit_prepared(preps, kk=kk, order_arcs=order_arcs)


def _per_spectrum(initial, n: int) -> list[Mapping[str, float] | None]:
    if initial is None or isinstance(initial, Mapping):
        return [initial] * n
    out = list(initial)
    if len(out) != n:
        raise ValueError(f"initial has {len(out)} entries for {n} spectra")
    return out


# ========================================================================== fit_chain
@dataclass
class ChainResult:
    """Outcome of :func:`fit_chain`: per position the kept fit (a full FitResult), where it
    came from, and the chi-square of the cold and of the seeded fit (nan: no seeded fit);
    ``cold`` the cold fits' optima (what :func:`fit_chain`'s ``cold_rows`` takes back)."""

    kept: list[FitResult]
    seed_source: list[str]  # "cold" or "seeded"
    rounds: int  # seeded fits of the most-refitted position until the chain was self-consistent
    cold_chisq: np.ndarray
    seeded_chisq: np.ndarray
    cold: Solution | None = None


def fit_chain(spectra: Sequence[Spectrum], circuit: str | CircuitDefinition | Circuit = "garnet-symmetric", *,
              first_seed: Mapping[str, float] | None = None, max_rounds: int = 50, breaks: Sequence[int] = (),
              seeds: Mapping[int, Mapping[str, float]] | None = None,
              own_options: Sequence[Mapping[str, Any] | None] | None = None,
              cold_rows: Mapping[int, Solution] | None = None,
              cold_results: Mapping[int, FitResult] | None = None, **options: Any) -> ChainResult:
    """A seeded chain (the campaign's semantics) computed with batched fits.

    Campaign semantics (``eisfit.campaign.runner``): checkpoint k gets a cold fit
    (``starts="auto"``) and a seeded fit from the values kept at k-1
    (``initial=..., starts=1``); the seeded one is kept when its chi-square is distinctly
    lower (:func:`_seed_wins`: by more than 1e-6 relative and 0.1 s^2), else the cold one;
    where only one of the two keeps the arcs of k-1 (no arc's time constant moved by more
    than 2 decades), that one unless the other is lower by more than 2 in BIC
    (:func:`_seed_kept`).
    Sequentially that is a loop. A seed
    that describes checkpoint k worse than the best of k's own quick-round starts (data
    guess, linear-screen placements) carries nothing from k-1 and is not fitted
    (``seeded_chisq`` stays nan), unless k's cold fit swapped k-1's arcs and the seed is worse
    by at most ``SWAPPED_SEED_RATIO`` times: the fit in k-1's identity is then tried.

    Here: one batched cold pass; then the seeded fits stream through running batched LMs
    (:class:`~eisfit.fitting.solver.PolishStream`): every k is first seeded from the cold
    fit kept at k-1; whenever the fit kept at k changes, the seeded fit of k+1 starts again
    from it (superseding one still running) as soon as it is known, if it moved by more
    than ``SEED_RTOL`` (relative, any parameter) since k+1's last seed. When no seed
    changes the chain satisfies the campaign's rule at every position, i.e. it is the
    sequential result up to that tolerance (a seed moved by < 1e-6 converges to the same
    optimum); that end does not depend on the order in which the fits finished, since
    position k's last seed is the final fit of k-1. At most ``max_rounds`` seeded fits run
    per position. The choices are made on the optimisers' chi-squares; only the kept fit
    of each position is turned into a FitResult (covariance, derived quantities, KK,
    profile where suspect), in one batch at the end.
    ``first_seed`` seeds position 0 (e.g. the last kept fit of a previous chunk).
    ``breaks``: positions that start another chain (no seed from the position before: the
    chains of several cells fitted in one batch, each as it would be alone).
    ``seeds``: {position: values} for position 0 or positions of ``breaks`` whose chain
    continues one fitted before (seeded from those values, e.g. the kept fit of the
    checkpoint before; ``first_seed`` is ``seeds[0]``).
    ``own_options``: per spectrum, its values of ``PER_SPECTRUM_OPTIONS`` (area, thickness,
    symmetric: each cell's own) over ``options``, or None.
    ``cold_rows``: {position: one-row Solution} the cold fits of some positions, solved
    before with the same spectrum and options (a row of an earlier :attr:`ChainResult.cold`):
    not solved again. A campaign's repair of a chunk start refits it seeded from the fit
    kept before it; its cold fit, the worker's, was 150 ms of one spectrum's adaptive
    multi-start in a batch of one (1,000 hard spectra on two workers: 7 % of the wall time).
    ``cold_results``: {position: FitResult} the results assembled from some of those
    ``cold_rows``: a position that keeps its cold fit takes it as it is instead of assembling
    it again (covariance, profile walks: 70 ms of a repair's 80 for one spectrum).
    ``options`` are :func:`fit_batch`'s.
    """
    spectra = list(spectra)
    kk = check_choice("kk", options.pop("kk", True))
    order_arcs = check_choice("order_arcs", options.pop("order_arcs", True))
    starts = options.pop("starts", "auto")
    prepare = _preparer(circuit, options)
    own_options = list(own_options) if own_options is not None else [None] * len(spectra)
    cold_preps = [prepare(s, None, starts, own) for s, own in zip(spectra, own_options)]
    if not cold_preps:
        return ChainResult([], [], 0, np.zeros(0), np.zeros(0))
    cold = _cold_solution(cold_preps, dict(cold_rows or {}), kk)
    kept_preps = list(cold_preps)
    kept = Solution(cold.p_best.copy(), cold.converged.copy(), cold.cost.copy(), list(cold.start_won),
                    cold.n_starts.copy(), cold.escalated.copy(), list(cold.kk), cold.start_cost,
                    None if cold.optima is None else list(cold.optima))
    cold_values = list(final_values(cold_preps, cold.p_best, order_arcs))
    kept_values = list(cold_values)
    arcs = circuit_arcs(cold_preps[0].definition.circuit, branches=True)
    seeded_chisq = np.full(len(spectra), np.nan)
    source = ["cold"] * len(spectra)
    used: list[np.ndarray | None] = [None] * len(spectra)
    names = cold_preps[0].names
    given = {k: np.array([v[n] for n in names], float)
             for k, v in {**({0: first_seed} if first_seed is not None else {}), **(seeds or {})}.items()}
    stream = PolishStream(cold_preps)
    fits_of = np.zeros(len(spectra), int)  # seeded fits started at each position
    starts_chain = set(breaks)

    def seed(positions: Iterable[int]) -> None:
        """Start the seeded fit of each position whose seed (the fit kept at k-1) moved."""
        todo = []
        for k in positions:
            values = given.get(k) if k == 0 or k in starts_chain else kept_values[k - 1]
            if fits_of[k] >= max_rounds or values is None or not np.all(np.isfinite(values)):
                continue
            if used[k] is not None and np.allclose(values, used[k], rtol=SEED_RTOL, atol=0):
                continue
            todo.append(k)
            used[k] = values.copy()
        informative, plausible = _seed_gates(todo, cold_preps, used, cold.start_cost)
        for k in todo:
            # a cold fit that swapped the seed's arcs: the fit in the seed's identity is tried unless the seed
            # describes the spectrum far worse than its own starts do (an unrelated spectrum)
            if k not in informative and not (k in plausible and swapped_arcs(
                    dict(zip(names, used[k])), dict(zip(names, cold_values[k])), arcs)):
                continue
            fits_of[k] += 1
            stream.start(k, used[k])

    seed(range(len(spectra)))
    while stream.running:
        finished = stream.step()
        for k, cost, p_best, converged in finished:
            seeded_chisq[k] = cost
            seeded_prep = _reseeded(cold_preps[k], dict(zip(names, used[k].tolist())))
            swaps = [swapped_arcs(dict(zip(names, used[k])), dict(zip(names, v)), arcs)
                     for v in (_final_values(seeded_prep, p_best, order_arcs), cold_values[k])]
            if _seed_kept(cost, cold.cost[k], cold_preps[k], *(bool(s) for s in swaps)):
                kept_preps[k], source[k] = seeded_prep, "seeded"
                kept.p_best[k], kept.converged[k], kept.cost[k] = p_best, converged, cost
                kept.start_won[k], kept.n_starts[k] = "seed", 1 + cold.n_starts[k]
                if kept.optima is not None:
                    kept.optima[k] = merge_optima(cold.optima[k], [(float(cost), p_best)])
            else:
                kept_preps[k], source[k] = cold_preps[k], "cold"
                kept.p_best[k], kept.converged[k], kept.cost[k] = cold.p_best[k], cold.converged[k], cold.cost[k]
                kept.start_won[k], kept.n_starts[k] = cold.start_won[k], cold.n_starts[k]
                if kept.optima is not None:
                    kept.optima[k] = cold.optima[k]
            kept_values[k] = _final_values(kept_preps[k], kept.p_best[k], order_arcs)
        seed(k + 1 for k, *_ in finished if k + 1 < len(spectra))
    rounds = int(fits_of.max(initial=0))
    reused = {k: r for k, r in (cold_results or {}).items() if source[k] == "cold" and k in (cold_rows or {})}
    todo = [k for k in range(len(spectra)) if k not in reused]
    assembled = dict(zip(todo, fit_prepared([kept_preps[k] for k in todo], kk=kk, order_arcs=order_arcs,
                                            solution=kept.rows(todo)))) if todo else {}
    results = [reused[k] if k in reused else assembled[k] for k in range(len(spectra))]
    return ChainResult(results, source, rounds, cold.cost, seeded_chisq, cold)


def _cold_solution(preps: list[_Prepared], given: dict[int, Solution], kk: bool) -> Solution:
    """The cold fits' optima of ``preps``: the one-row solutions ``given`` by position, the
    others solved (in one batch)."""
    if not given:
        return solve(preps, kk=kk)
    todo = [k for k in range(len(preps)) if k not in given]
    solved = solve([preps[k] for k in todo], kk=kk) if todo else None
    at = {k: j for j, k in enumerate(todo)}
    return Solution.joined([given[k] if k in given else solved.rows([at[k]]) for k in range(len(preps))])


def _seed_kept(seeded_cost: float, cold_cost: float, prep: _Prepared, seeded_swaps: bool, cold_swaps: bool) -> bool:
    """Whether the seeded fit is kept rather than the cold one. ``seeded_swaps``,
    ``cold_swaps``: whether each fit changed the identity of an arc from the seed (the
    previous checkpoint's kept values; :func:`~eisfit.analysis.derived.swapped_arcs`). Where
    both or neither did, the seeded fit is kept when its chi-square is distinctly lower
    (:func:`_seed_wins`). Where one of them keeps the arcs' identities and the other swaps
    them, the one that keeps them is kept unless the other is clearly lower
    (:func:`_clearly_lower`: by ``IDENTITY_TIE_BIC`` in BIC): two labellings that fit
    almost equally must not trade places from one checkpoint to the next (a seeded chain
    then carries the swapped one on, and "R1" is another process from there)."""
    if seeded_swaps == cold_swaps:
        return _seed_wins(seeded_cost, cold_cost, prep)
    if cold_swaps:
        return not _clearly_lower(cold_cost, seeded_cost, prep)
    return _clearly_lower(seeded_cost, cold_cost, prep)


def _clearly_lower(cost: float, other: float, prep: _Prepared) -> bool:
    """Whether chi-square ``cost`` is lower than ``other`` by more than ``IDENTITY_TIE_BIC``
    in BIC = n ln(chisq / n) + k ln n (same circuit and points: the difference is
    n ln(other / cost), n the real residuals)."""
    n = 2 * prep.problem.frequency.size
    if not (cost > 0 and other > 0 and math.isfinite(cost)):
        return bool(cost < other)
    return bool(n * math.log(other / cost) > IDENTITY_TIE_BIC)


def _seed_wins(seeded_cost: float, cold_cost: float, prep: _Prepared) -> bool:
    """Whether a seeded fit's optimum is distinctly lower than the cold fit's: by more than
    ``CHISQ_TIE_RTOL`` of it and by more than ``SEED_KEEP_S2`` times s^2 = chisq / dof.
    A smaller gap is one minimum reached twice to within the optimiser's tolerance (where a
    parameter is undetermined, polishes stop at different points of a flat valley); keeping
    the cold fit there keeps one seeded change from re-seeding the rest of the chain."""
    margin = max(CHISQ_TIE_RTOL * cold_cost, SEED_KEEP_S2 * cold_cost / dof_of(prep))
    return bool(seeded_cost < cold_cost - margin)


def _seed_gates(todo: list[int], cold_preps: list[_Prepared], seeds: list[np.ndarray | None],
                own_best: np.ndarray) -> tuple[set[int], set[int]]:
    """(informative, plausible): the positions of ``todo`` whose seed describes their spectrum
    at least as well as the best of the starts the spectrum's cold fit began from
    (``own_best``: the data guess or ``initial``, and the linear screen's placements: the
    first round of its start list, costs as the solver evaluated them), and those whose seed
    does so to within ``SWAPPED_SEED_RATIO`` times. A seed that fits worse than what the data
    alone suggest carries no information from the previous checkpoint (unrelated spectra, a
    jump in the cell); a single-start fit from it is skipped, unless the cold fit swapped the
    seed's arcs and the seed is plausible (see :func:`fit_chain`)."""
    if not todo:
        return set(), set()
    preps = [cold_preps[k] for k in todo]
    with np.errstate(invalid="ignore"):
        seed_cost = np.nan_to_num(start_costs(preps, np.array([seeds[k] for k in todo])), nan=np.inf)
    own = own_best[todo]
    return ({k for k, c, b in zip(todo, seed_cost, own) if c <= b},
            {k for k, c, b in zip(todo, seed_cost, own) if c <= SWAPPED_SEED_RATIO * b})


def _reseeded(prep: _Prepared, seed: dict[str, float]) -> _Prepared:
    """``prep`` as ``_prepare(..., initial=seed, starts=1)`` would build it (same points,
    bounds and floors; one start at the seed), without redoing the data analysis."""
    settings = {**prep.settings, "initial": {k: float(v) for k, v in seed.items()}, "starts": 1}
    return dataclasses.replace(prep, start_list=[{**seed, **prep.fixed}], start_labels=["seed"], adaptive=False,
                               initial=seed, settings=settings)


def _preparer(circuit, options: Mapping[str, Any]):
    """``prepare(spectrum, initial, starts)`` with :func:`fit_batch`'s fixed options."""
    opts = dict(area_cm2=options.get("area_cm2"), thickness_cm=options.get("thickness_cm"),
                symmetric=options.get("symmetric", True), weighting=options.get("weighting", "modulus"),
                sigma=None, fmin=options.get("fmin"), fmax=options.get("fmax"),
                exclude_hz=options.get("exclude_hz", ()), drop_inductive=options.get("drop_inductive", "auto"),
                fixed=options.get("fixed"),
                bounds=options.get("bounds"), expr=None, engine="fast", profile=options.get("profile", "auto"),
                guess_mode=options.get("guess", "auto"))
    unknown = set(options) - set(opts) - {"guess"}
    if unknown:
        raise TypeError(f"fit_chain() got unexpected option(s) {', '.join(sorted(unknown))}")

    definition = _definition(circuit)  # resolved once, not once per spectrum (a file check and a parse)

    def prepare(spectrum: Spectrum, initial, starts, own: Mapping[str, Any] | None = None) -> _Prepared:
        """``own``: this spectrum's values of ``PER_SPECTRUM_OPTIONS`` where they differ."""
        if own and not set(own) <= set(PER_SPECTRUM_OPTIONS):
            raise TypeError(f"per-spectrum options are {', '.join(PER_SPECTRUM_OPTIONS)}, got {', '.join(own)}")
        return _prepare(spectrum, definition, initial=initial, starts=starts, **{**opts, **(own or {})})

    return prepare


# ========================================================================= fit_stream
@dataclass
class StreamSummary:
    """What :func:`fit_stream` did: rows written, chunks, CSV path."""

    n_rows: int
    n_chunks: int
    path: Path


def summary_row(res: FitResult, seed_source: str = "") -> dict[str, Any]:
    """One summary-CSV row of a fit: label, source, values and stderr, derived, statistics, flags."""
    row: dict[str, Any] = {"label": res.label, "source": res.source}
    for n in res.param_names:
        row[n] = res.values[n]
        row[f"{n}_stderr"] = res.stderr[n]
    row.update(res.derived)
    row.update({"chisq": res.chisq, "redchi": res.redchi, "aic": res.aic, "bic": res.bic,
                "n_points": res.n_points, "success": res.success, "kk_passed": res.kk_passed,
                "kk_max_residual_pct": res.kk_max_residual_pct, "flags": ";".join(res.flags),
                "n_starts": res.n_starts, "start_won": res.start_won, "seed_source": seed_source})
    return row


def fit_stream(
    source: Iterable[Spectrum | str | Path],
    circuit: str = "garnet-symmetric",
    out_csv: str | Path = "summary.csv",
    *,
    chunk_size: int = 500,
    jobs: int = 1,
    seeded: bool = True,
    executor: Any = None,
    **options: Any,
) -> StreamSummary:
    """Fit an iterable of spectra (or data files) in chunks and append rows to ``out_csv``.

    Memory stays bounded: at most ``jobs + 1`` chunks of spectra are held at a time and
    only their summary rows (no FitResult, no model curves) come back from the workers.
    With ``seeded`` each chunk is a seeded chain (:func:`fit_chain`); the first spectrum of
    a chunk after the first is seeded from the previous spectrum of the stream, which is
    re-fitted (cold + seeded within the chunk, row not written) as the chunk's lead-in, so
    chunks stay independent and can run in parallel. ``jobs > 1`` uses worker processes (forked where safe)
    with one BLAS thread each. Rows are written in input order; the header is that of the
    first chunk. ``executor``: an existing ``concurrent.futures`` executor to run the
    chunks on (kept open; ``jobs`` then sets how many chunks are in flight).
    ``options`` are :func:`fit_batch`'s (``area_cm2``, ``weighting``...).
    """
    out_csv = Path(out_csv)
    own_pool = executor is None and jobs > 1
    pool = _stream_pool(jobs) if own_pool else executor
    writer = _RowWriter(out_csv)
    pending: list[Future] = []
    n_chunks = 0
    try:
        for chunk in _stream_chunks(source, chunk_size, lead_in=seeded):
            args = ([fit_payload(s) for s in chunk[1]], chunk[0], circuit,
                    {**options, "seeded": seeded}, True)
            n_chunks += 1
            if pool is None:
                writer.write(_stream_rows(fit_chunk(*args)))
                continue
            pending.append(pool.submit(fit_chunk, *args))
            while len(pending) > jobs:
                writer.write(_stream_rows(pending.pop(0).result()))
        for fut in pending:
            writer.write(_stream_rows(fut.result()))
    finally:
        writer.close()
        if own_pool:
            pool.shutdown(cancel_futures=True)
    return StreamSummary(writer.n_rows, n_chunks, out_csv)


def _stream_rows(outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Summary rows of a chunk's outcomes; a spectrum that failed gets its label and error."""
    return [o["row"] if "row" in o else {"label": o.get("label", ""), "error": o["error"]} for o in outcomes]


def _stream_chunks(source, chunk_size: int, lead_in: bool) -> Iterator[tuple[bool, list[Spectrum]]]:
    """(has_lead_in, spectra) per chunk; with ``lead_in`` the previous spectrum is prepended."""
    buf: list[Spectrum] = []
    last: Spectrum | None = None
    for item in source:
        buf.append(_as_spectrum(item))
        if len(buf) == chunk_size:
            yield (last is not None and lead_in), ([last] if (last is not None and lead_in) else []) + buf
            last, buf = buf[-1], []
    if buf:
        yield (last is not None and lead_in), ([last] if (last is not None and lead_in) else []) + buf


def _as_spectrum(item: Spectrum | str | Path) -> Spectrum:
    if isinstance(item, Spectrum):
        return item
    from ..io import read

    spectra = read(item)
    return spectra[0] if isinstance(spectra, list) else spectra


CHAIN_OPTIONS = ("area_cm2", "thickness_cm", "symmetric", "weighting", "fmin", "fmax", "exclude_hz",
                 "drop_inductive", "fixed", "bounds", "profile", "guess", "starts", "kk", "order_arcs")  # what fit_chain takes
SEED_DISAGREEMENT_RTOL = 1e-3  # a seeded optimum below the cold one by this much (relative) and by
SEED_DISAGREEMENT_S2 = 1.0  # this many s^2 (the noise variance, chisq / dof): the cold fit missed it. Less is
# the polish's own slack in a flat valley (it stops creeping at 0.1 s^2 per 20 steps): the same minimum


def cold_fit_missed(cold_chisq: float, seeded_chisq: float, dof: int) -> bool:
    """Whether the seeded fit found a distinctly lower minimum than the cold fit: lower by
    more than ``SEED_DISAGREEMENT_RTOL`` of its chi-square and by more than
    ``SEED_DISAGREEMENT_S2`` times s^2 = chisq / dof (one unit of delta chi-square /
    s^2 is the 1-sigma level of a profile: less is the same minimum, reached to within the
    optimiser's tolerance)."""
    if not (np.isfinite(seeded_chisq) and np.isfinite(cold_chisq)):
        return False
    gap = cold_chisq - seeded_chisq
    return bool(gap > SEED_DISAGREEMENT_RTOL * seeded_chisq and gap > SEED_DISAGREEMENT_S2 * seeded_chisq / max(dof, 1))


def fit_payload(s: Spectrum) -> tuple[np.ndarray, np.ndarray, dict[str, Any], dict[str, np.ndarray]]:
    """What a worker receives of a spectrum to fit (:func:`fit_chunks`' ``data``), plain and
    picklable: its selected points (frequency Hz, z ohm), the meta entries that are single
    values (text, numbers: the label, the source, the area...) and the per-point columns a
    fit reads (the instrument's noise-to-signal ratios, :func:`~eisfit.analysis.quality.is_instrument_noise_column`:
    without them a campaign's fits had lost the ``noisy-points`` flag of :func:`eisfit.fit`)."""
    meta = {k: v for k, v in s.meta.items() if isinstance(v, (str, int, float, bool, type(None)))}
    return np.asarray(s.frequency), np.asarray(s.z), meta, s.only_columns(is_instrument_noise_column).columns


def fit_chunk(data: list[tuple], has_lead_in: bool, circuit: str, options: Mapping[str, Any],
              rows: bool = False, lean: bool = False) -> list[dict[str, Any]]:
    """Worker entry of streams: :func:`fit_chunks` of one chunk."""
    return fit_chunks([(data, has_lead_in)], circuit, options, rows, lean)[0]


def fit_chunks(chunks: Sequence[tuple[list[tuple], bool]], circuit: str, options: Mapping[str, Any],
               rows: bool = False, lean: bool = False) -> list[list[dict[str, Any]]]:
    """Worker entry of campaigns: fit chunks of spectra, each a seeded chain, in one batch
    (the chains of small cells share the batched engine; each chain is seeded as alone).

    ``chunks``: (data, has_lead_in), (data, has_lead_in, own), (data, has_lead_in, own,
    seed), (data, has_lead_in, own, seed, cold_rows) or (..., cold_rows, cold_results) each,
    ``own`` the chunk's values of
    ``PER_SPECTRUM_OPTIONS`` over ``options`` (or None), ``seed`` the values ({name: value})
    that seed the chunk's first spectrum: the kept fit of the checkpoint before, when the
    chunk continues a chain fitted before without a lead-in (see :func:`fit_chain`'s
    ``seeds``; or None), ``cold_rows`` {index into data: the ``"cold"`` of an earlier
    outcome of that spectrum} cold fits not to solve again (:func:`fit_chain`'s
    ``cold_rows``), ``cold_results`` {index into data: FitResult} the results assembled from
    them, taken where the spectrum keeps its cold fit (:func:`fit_chain`'s ``cold_results``);
    the outcomes come back per chunk, as below.

    ``data``: (frequency Hz, z ohm, meta[, per-point columns]) per spectrum
    (:func:`fit_payload`); with ``has_lead_in`` the first is
    the checkpoint before the chunk, refitted as its seed and dropped from the output.
    One outcome per spectrum: ``{"result": FitResult.to_dict(), "seed_source",
    "disagree", "cold_chisq", "seeded_chisq"}`` (``{"row": summary_row(...)}`` instead of
    the result with ``rows``), or ``{"error": text, "label"}``; the first spectrum after a
    lead-in (a chunk start, which a campaign may refit seeded once the chunk before is in)
    also has ``"cold"``, its cold fit's optimum (a one-row
    :class:`~eisfit.fitting.solver.Solution`). ``lean``: the result is the
    FitResult itself without its per-point arrays (frequency, z, z_fit) and ``points`` says
    which points of the spectrum were fitted (:func:`lean_result`; the receiver has the
    spectrum, and pickling the object is cheaper than the JSON-safe dict and its parsing).
    ``options["seeded"]`` False: cold fits only (no seeded rounds). Options the batched chain does not
    take (``expr``, ``engine``, ``sigma``, ``initial``) fit each spectrum on its own with
    :func:`eisfit.fit`; a spectrum the engine refuses (e.g. too few points) fails alone.
    """
    from .._blas import small_blas
    from .._processes import owned_worker, release_freed_memory

    if owned_worker():  # the last task's freed heap handed back before this one, as the figure process
        release_freed_memory()  # does after each figure (10,000 files: each worker 98-100 -> 85-94 MB)

    # the points of spectra the sender holds (it gave the warnings about their order when they came in)
    spectra = [Spectrum._unwarned(f, z, meta, columns=columns[0] if columns else None)
               for data, *_ in chunks for f, z, meta, *columns in data]
    own = [part[2] if len(part) > 2 else None for part in chunks for _ in part[0]]
    starts = np.cumsum([0] + [len(part[0]) for part in chunks])
    seeds = [part[3] if len(part) > 3 else None for part in chunks]
    cold_rows = {int(lo) + j: row for part, lo in zip(chunks, starts[:-1]) if len(part) > 4 and part[4]
                 for j, row in part[4].items()}
    cold_results = {int(lo) + j: res for part, lo in zip(chunks, starts[:-1]) if len(part) > 5 and part[5]
                    for j, res in part[5].items()}
    options = dict(options)
    seeded = options.pop("seeded", True)
    with small_blas():
        out = _outcomes(spectra, own, starts, circuit, options, seeded, seeds, cold_rows, cold_results)
    for lo, (_, has_lead_in, *_) in zip(starts[:-1], chunks):
        if has_lead_in and lo + 1 < len(out) and not rows and "cold_of" in out[lo + 1]:
            cold, k = out[lo + 1]["cold_of"]
            out[lo + 1]["cold"] = cold.rows([k])
    for o in out:
        o.pop("cold_of", None)
    per_chunk = []
    shared: dict[Any, Any] = {}  # the task's lean results share their equal containers (pickled once)
    for (_, has_lead_in, *_), lo, hi in zip(chunks, starts[:-1], starts[1:]):
        part, fitted = out[lo + has_lead_in:hi], spectra[lo + has_lead_in:hi]
        if rows:
            part = [o if "error" in o else {"row": summary_row(o.pop("result"), o["seed_source"])} for o in part]
        else:
            for o, s in zip(part, fitted):
                if "result" in o:
                    o.update(lean_result(o["result"], s, shared) if lean else {"result": o["result"].to_dict()})
        per_chunk.append(part)
    return per_chunk


def _outcomes(spectra: list[Spectrum], own: list[Mapping[str, Any] | None], starts: np.ndarray, circuit: str,
              options: dict[str, Any], seeded: bool,
              seeds: Sequence[Mapping[str, float] | None] | None = None,
              cold_rows: Mapping[int, Solution] | None = None,
              cold_results: Mapping[int, FitResult] | None = None) -> list[dict[str, Any]]:
    """The outcomes of the chains that start at ``starts`` (the last entry: the end), fitted
    in one batch; ``seeds``: per chain, the values that seed its first spectrum, or None;
    ``cold_rows``, ``cold_results``: cold fits solved before and their results, by spectrum
    (:func:`fit_chain`; not used where a chain is fitted again on its own).
    Where the engine refuses a spectrum (e.g. too few points), each chain is
    fitted on its own, and the chain holding it one spectrum at a time (cold fits): the
    others keep their seeded chains."""
    if not set(options) <= set(CHAIN_OPTIONS):  # expr, engine, sigma, initial: each spectrum alone
        return [_single_outcome(s, circuit, {**options, **(o or {})}) for s, o in zip(spectra, own)]
    seeds = list(seeds) if seeds is not None else [None] * (len(starts) - 1)
    given = {int(lo): seed for lo, seed in zip(starts[:-1], seeds) if seed is not None}
    try:
        return _chain_outcomes(spectra, circuit, options, seeded, breaks=starts[1:-1].tolist(), own_options=own,
                               seeds=given, cold_rows=cold_rows, cold_results=cold_results)
    except Exception:
        if len(starts) > 2:  # several chains: find the one that fails
            return [o for lo, hi, seed in zip(starts[:-1], starts[1:], seeds)
                    for o in _outcomes(spectra[lo:hi], own[lo:hi], np.array([0, hi - lo]), circuit, options, seeded,
                                       [seed])]
        return [_single_outcome(s, circuit, {**options, **(o or {})}) for s, o in zip(spectra, own)]


def lean_result(res: FitResult, spectrum: Spectrum, shared: dict | None = None) -> dict[str, Any]:
    """The outcome fields of ``res`` for a receiver that holds ``spectrum``:
    ``{"result": res without its per-point arrays (frequency, z, z_fit emptied), "points":
    None when every point of the spectrum was fitted, else the indices of the fitted
    ones}``; the receiver rebuilds the arrays (z_fit is the circuit at ``values``). A
    selection that cannot be told by index keeps the arrays: ``{"result": res}``.
    ``shared``: a pool for the results of one message (:func:`~eisfit.fitting.result.share_equal_fields`):
    their equal settings, units... are then one object each, pickled once, and the receiver
    unpickles one instead of one per result (200 hard spectra: 1.70 -> 1.18 KB pickled and
    22 -> 14 us unpickled per result)."""
    f = np.asarray(spectrum.frequency)
    if res.n_points == f.size and np.array_equal(res.frequency, f):
        points = None
    else:
        idx = np.flatnonzero(np.isin(f, res.frequency))
        if idx.size != res.n_points or not np.array_equal(f[idx], res.frequency):
            return {"result": res if shared is None else share_equal_fields(res, shared)}
        points = idx.tolist()
    containers = {} if shared is None else shared_fields(res, shared)
    lean = res.with_fields(**NO_POINTS, **containers)
    return {"result": lean, "points": points}


def _chain_outcomes(spectra: list[Spectrum], circuit: str, options: dict[str, Any],
                    seeded: bool = True, breaks: Sequence[int] = (),
                    own_options: Sequence[Mapping[str, Any] | None] | None = None,
                    seeds: Mapping[int, Mapping[str, float]] | None = None,
                    cold_rows: Mapping[int, Solution] | None = None,
                    cold_results: Mapping[int, FitResult] | None = None) -> list[dict[str, Any]]:
    """One outcome per spectrum of :func:`fit_chain`; ``"cold_of"``: (the chain's cold
    solution, the spectrum's row in it), from which :func:`fit_chunks` keeps a chunk start's."""
    chain = fit_chain(spectra, circuit, max_rounds=50 if seeded else 0, breaks=breaks, own_options=own_options,
                      seeds=seeds, cold_rows=cold_rows, cold_results=cold_results, **options)
    out = []
    for k, (res, source, cold, seeded) in enumerate(zip(chain.kept, chain.seed_source, chain.cold_chisq,
                                                        chain.seeded_chisq)):
        # the cold fit alone would have missed the optimum the previous checkpoint led to
        disagree = cold_fit_missed(cold, seeded, res.dof)
        out.append({"result": res, "seed_source": source, "disagree": disagree,
                    "identity_kept": bool(source == "seeded" and seeded > cold),  # _seed_kept: over a swap
                    "cold_chisq": float(cold), "seeded_chisq": float(seeded), "cold_of": (chain.cold, k)})
    return out


def _single_outcome(s: Spectrum, circuit: str, options: dict[str, Any]) -> dict[str, Any]:
    import traceback

    from .engine import fit

    try:
        return {"result": fit(s, circuit, **options), "seed_source": "cold", "disagree": False}
    except Exception as exc:  # reported in the summary; the campaign goes on
        reason = str(exc) or type(exc).__name__
        if type(exc).__module__.split(".")[0] != "eisfit":
            reason = f"{type(exc).__name__}: {reason}"
        return {"error": reason, "label": s.label, "traceback": traceback.format_exc()}  # eisfit --debug shows it


def _stream_pool(jobs: int) -> ProcessPoolExecutor:
    from .._processes import owned_pool

    return owned_pool(jobs, setup=_init_stream_worker)


def _init_stream_worker() -> None:
    """Set-up of a ``fit_stream`` worker (:func:`eisfit._processes.owned_pool`, which also
    makes it end with the main process): one BLAS thread per process (small matrices; 2
    cores shared; a forked worker has it already, from its pool), freed memory kept for
    reuse (:func:`eisfit._processes.tune_allocator`)."""
    from .._blas import hold_one_thread
    from .._processes import tune_allocator

    tune_allocator()
    hold_one_thread()  # for the worker's life


class _RowWriter:
    """Appends dict rows to a CSV file; the first rows fix the columns."""

    def __init__(self, path: Path):
        self.path = path
        self.handle = None
        self.writer: csv.DictWriter | None = None
        self.n_rows = 0
        self.held: list[dict[str, Any]] = []  # failed spectra before the first fit fixes the columns

    def write(self, rows: list[dict[str, Any]]) -> None:
        if self.writer is None:
            first = next((r for r in rows if "error" not in r), None)
            if first is None:
                self.held.extend(rows)
                return
            self.handle = open(self.path, "w", newline="")
            self.writer = csv.DictWriter(self.handle, fieldnames=list(first) + ["error"], extrasaction="ignore")
            self.writer.writeheader()
            rows, self.held = self.held + rows, []
        if not rows:
            return
        self.writer.writerows({k: _cell(v) for k, v in r.items()} for r in rows)
        self.handle.flush()
        self.n_rows += len(rows)

    def close(self) -> None:
        if self.writer is None and self.held:  # every spectrum failed: the errors alone
            self.handle = open(self.path, "w", newline="")
            self.writer = csv.DictWriter(self.handle, fieldnames=["label", "error"], extrasaction="ignore")
            self.writer.writeheader()
            self.writer.writerows(self.held)
            self.n_rows += len(self.held)
        if self.handle is not None:
            self.handle.close()


def _cell(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return ""
    return v
