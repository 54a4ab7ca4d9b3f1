"""The one optimiser path: batched multi-start Levenberg-Marquardt over many spectra.

Every fit of the fast engine goes through :func:`solve`: :func:`eisfit.fit` is a batch of
one; :func:`~eisfit.fitting.batch.fit_batch`, seeded chains and campaigns are batches of
many. Spectra with the same weighting and free set are one batched problem
(:func:`grid_key`), whatever their frequencies; all their starts run through one
vectorised LM (:mod:`eisfit.fitting.optimise`).

With ``starts="auto"`` (adaptive starts) a spectrum goes through these rounds, each only
where the optimum so far still shows a sign of a missed one (:func:`_looks_poor`: a lack
of fit against the Lin-KK noise level, a parameter on a bound, a shape that local minima
favour; :func:`_undetermined_arc_resistance`: an arc resistance with a Wald standard
error above its value):

1. the quick round: the data guess and the linear screen's best placements;
2. round 2: the next ``ESCALATION_STARTS`` starts of the list (``LACK_OF_FIT_STARTS``,
   with the tail starts for overlapping plain arcs, where the sign is weak);
3. round 3: the rest of the list (with the starts round 2 skipped), where lack of fit
   remains on Kramers-Kronig consistent data;
4. the tail round (:func:`_tail_round`): a capacitive tail in the data that the
   circuit cannot follow;
5. the repair round (:func:`_repair_round`): a collapsed or runaway process restarted
   from the optimum with that process put back (also single-start fits);
6. the relabel round (:func:`_relabel_round`): an arc pinned on a bound that an
   interchangeable arc does not have, started in that arc's slot;
   the order and swap rounds (:func:`_order_round`, :func:`_swap_round`): processes in
   another time order than the circuit string's;
7. the transfer round (:func:`_transfer_round`): overlapping arcs with most of one
   arc's resistance moved to the other;
   the Gs round (:func:`_gs_length_round`): a finite-length Gerischer at other lengths and
   time constants, and with resistance moved between it and an arc;
   the edge-arc round (:func:`_edge_arc_round`): in a circuit not finite at DC, an arc
   moved to the low end of the data, beside the blocking line;
8. the diffusion-arc round (:func:`_diffusion_arc_round`): a Randles branch's finite
   diffusion put where its arc was, where lack of fit remains;
9. the DRT round (:func:`_drt_round`): DRT-seeded starts where lack of fit remains.

Each round is stage 1 (``STAGE1_ITER`` pruned iterations over its starts) and a polish of
each spectrum's ``N_POLISH`` best distinct stage-1 optima; optima still moving after
``POLISH_ITER`` iterations are polished on once, in one batched call per grid
(``POLISH_CONTINUE``). The best optimum over the rounds is kept, with the distinct
converged optima the polishes met (``Solution.optima``, for the ``multimodal`` flag); the
Lin-KK results go with the solution, so the result assembly does not compute them again.

Why each round exists, and what it was measured to change, is in ``docs/engine.md``;
check a change here with the scripts that note names.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import operator
import warnings
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from .._processes import allocator_tuned
from ..analysis.derived import arc_tau_s
from ..analysis.kk import KKResult, kk_tests
from ..analysis.quality import (LACK_OF_FIT_RATIO, capacitive_tail_F, data_kk_consistent, kk_noise_level,
                                lack_of_fit_ratio, unmodelled_inductance_H)
from ..errors import EisfitError
from ..model import finite_at_dc
from ..model.parser import Leaf, series_chain
from ..model.elements import gs_phi_saturated
from ..spectrum import padded_points, shared_grid
from .guess import (DRT_SEED_LAMBDAS, blocking_arc_starts, diffusion_arc_starts, drt_starts, element_exponent,
                    element_tau_s, exchanged_capacitance_starts, gs_length_starts, processes, relabelled_arc_starts,
                    spectrum_features, swapped_order_starts, transferred_resistance_starts)
from .optimise import LMRun, levenberg_marquardt
from .problem import normal_equations_at, series_mask, weighted_residuals

__all__ = ["Solution", "BatchProblem", "PolishStream", "solve", "chunks_by_grid", "distinct_best", "arc_moved",
           "start_costs", "polish_from", "merge_optima", "STAGE1_ITER", "POLISH_ITER", "POLISH_TOL", "N_POLISH", "QUICK_STARTS"]

STAGE1_ITER = 30
STAGE1_PRUNE = 10.0  # starts 10x worse than the best after 8 iterations are abandoned
STAGE1_PRUNE_AFTER = 8
STAGE1_LATE_PRUNE = (12, 2.0)  # after 12 iterations, starts 2x above their spectrum's best stop: a fifth of
# the starts crept on to the 30th iteration, a third of stage 1's rows, and only the best 3 are polished
POLISH_ITER = 60  # a round's polish; optima still moving then are polished on after the last round:
POLISH_CONTINUE = 250  # more iterations for the optima that stopped on POLISH_ITER (one call per grid, so
# the slow tails of all rounds are paid once: a batched LM iteration costs ~0.3 ms however few rows it has)
POLISH_ALONE = 150  # a polish with no continuation after it (polish_from)
POLISH_TOL = 1e-10  # relative cost decrease / step at which the polish stops
POLISH_STALL_STEPS = 20  # a polish whose last 20 accepted steps together gained less than
POLISH_STALL_S2 = 0.1  # 0.1 s^2 (s^2 = chisq / dof, the noise variance) has settled: what is
# left in a flat valley is far below what moves an interval (1 s^2 is one sigma in delta chi2)
POLISH_LATE_PRUNE = (40, 1.01)  # after 40 iterations, starts 1 % above their spectrum's best stop
N_POLISH = 3  # best distinct stage-1 optima polished per spectrum
N_OPTIMA_KEPT = 8  # distinct polished optima kept per spectrum (Solution.optima)
QUICK_STARTS = 8  # first round of an adaptive ("auto") start list
ESCALATION_STARTS = 32  # starts of the second round (the start list's next ones, spread over its grid)
ROUND3_LACK_OF_FIT = 1.1  # after round 2, a lack of fit above this on KK-consistent data runs the rest
LACK_OF_FIT_STARTS = 8  # round 2's starts where a mild lack of fit or overlapping plain arcs are the only sign
ESCALATE_LACK_OF_FIT = 1.05  # lack-of-fit ratio (RMS residual / Lin-KK noise) above which more starts run
REPAIR_ROUNDS = 2  # repair rounds at most: the second only for optima the first improved and left degenerate
MAX_PROBLEMS = 2048  # LM problems (spectra x starts) per batched call: ~20 MB of Jacobians
EVAL_BLOCK = 64  # rows per model/Jacobian evaluation block (see BatchProblem.normal_equations)
EVAL_BLOCK_TUNED = 256  # the same where the allocator keeps freed memory (eisfit._processes.tune_allocator)
LOW_EXPONENT = 0.6  # a CPE exponent below this looks like a diffusion line or a collapsed arc
OVERLAP_TAU_RATIO = 10.0  # arcs closer than a decade in time constant
TRANSFER_MARGIN = 1e-6  # relative chi-square drop by which a transfer start's optimum must win
RUNAWAY_R_FACTOR = 100.0  # a resistance above this times max |Z| ran away


@dataclass
class Solution:
    """Optima of S spectra (rows in the order given to :func:`solve`).

    ``p_best`` (S, M) full parameter vectors; ``converged`` (S,) the optimiser stopped on
    its tolerances; ``cost`` (S,) weighted sum of squares at ``p_best``; ``start_won``
    which start the kept optimum came from (``"guess"``, ``"initial"``, ``"grid:<k>"``,
    ``"drt:<k>"``, ``"repair:<process><-<start>"``); ``n_starts`` (S,) starts run;
    ``escalated`` (S,) the quick round looked poor and the full start list ran; ``kk`` the
    Lin-KK result of each spectrum's points (None where it was not computed or could not
    run); ``start_cost`` (S,) the lowest cost among the starts of the first round, where the
    fit began (None where not kept); ``optima`` (cost, full parameter vector) of the
    distinct polished optima each spectrum's rounds met, lowest first
    (:func:`merge_optima`), for the result's check of optima that the data cannot tell
    apart (``multimodal``, :func:`eisfit.fitting.assemble.multimodal_flags`).
    """

    p_best: np.ndarray
    converged: np.ndarray
    cost: np.ndarray
    start_won: list[str]
    n_starts: np.ndarray
    escalated: np.ndarray
    kk: list[KKResult | None]
    start_cost: np.ndarray | None = None
    optima: list[list[tuple[float, np.ndarray]]] | None = None  # per spectrum: (cost, full vector) of the
    # distinct polished optima the rounds met, lowest first (at most N_OPTIMA_KEPT; the kept one among them)

    def rows(self, rows: Sequence[int]) -> "Solution":
        """The solution of spectra ``rows`` (indices, in that order)."""
        rows = list(rows)
        return Solution(self.p_best[rows], self.converged[rows], self.cost[rows], [self.start_won[i] for i in rows],
                        self.n_starts[rows], self.escalated[rows], [self.kk[i] for i in rows],
                        None if self.start_cost is None else self.start_cost[rows],
                        None if self.optima is None else [self.optima[i] for i in rows])

    @staticmethod
    def joined(parts: Sequence["Solution"]) -> "Solution":
        """One solution of the spectra of ``parts`` (at least one), in order; ``start_cost``
        and ``optima`` kept where every part has them."""
        costs = None if any(p.start_cost is None for p in parts) else np.concatenate([p.start_cost for p in parts])
        optima = None if any(p.optima is None for p in parts) else [o for p in parts for o in p.optima]
        return Solution(np.concatenate([p.p_best for p in parts]), np.concatenate([p.converged for p in parts]),
                        np.concatenate([p.cost for p in parts]), [w for p in parts for w in p.start_won],
                        np.concatenate([p.n_starts for p in parts]), np.concatenate([p.escalated for p in parts]),
                        [r for p in parts for r in p.kk], costs, optima)


# ---------------------------------------------------------------------- batched problem
@dataclass(frozen=True)
class BatchProblem:
    """Spectra of one batch (:func:`grid_key`); LM problem j belongs to spectrum ``owner[j]``.

    Spectra of fewer points than the longest are padded to its length with copies of their
    last point whose residual scales are infinite: those points weigh nothing (residual
    and Jacobian rows of 0), so every row fits its own points only."""

    preps: list[Any]
    z: np.ndarray  # (S, N) complex ohm
    sr: np.ndarray  # (S, N) residual scales, ohm
    si: np.ndarray
    fixed_values: np.ndarray  # (S, M) full parameter vectors (fixed values filled in)
    owner: np.ndarray  # (K,) spectrum of each problem
    frequency: np.ndarray | None = None  # (S, N) Hz where the spectra's grids differ, else None (one grid)

    @classmethod
    def of(cls, preps: list[Any], owner: np.ndarray | None = None) -> "BatchProblem":
        probs = [p.problem for p in preps]
        n = max(q.frequency.size for q in probs)
        sr, si = (np.array([padded_points(q.scales[k], n, np.inf) for q in probs]) for k in (0, 1))
        one_grid = shared_grid([q.frequency for q in probs]) is not None
        return cls(preps, np.array([padded_points(q.z, n) for q in probs]), sr, sr if np.array_equal(sr, si) else si,
                   np.array([q.fixed_values for q in probs]), np.arange(len(preps)) if owner is None else owner,
                   None if one_grid else np.array([padded_points(q.frequency, n) for q in probs]))

    def with_owner(self, owner: np.ndarray) -> "BatchProblem":
        return dataclasses.replace(self, owner=owner)

    def _frequency(self, s: np.ndarray) -> np.ndarray:
        """The grid of rows whose spectra are ``s``: (N,) shared, or (K, N) one per row."""
        return self.preps[0].problem.frequency if self.frequency is None else self.frequency[s]

    def _rows(self, theta: np.ndarray, idx: np.ndarray):
        """(spectrum of each row, physical free values (K, Mf), full parameter vectors (K, M))
        of internal coordinates ``theta``; row j is spectrum ``owner[idx[j]]``."""
        ref = self.preps[0].problem
        s = self.owner[idx]
        p_free = ref.transform.to_physical(theta)
        p = self.fixed_values[s]  # fancy indexing: a copy
        p[:, ref.free] = p_free
        return s, p_free, p

    def _model_and_jacobian(self, theta: np.ndarray, idx: np.ndarray):
        """Model Z and its Jacobian (internal coordinates); row j is spectrum ``owner[idx[j]]``."""
        ref = self.preps[0].problem
        s, p_free, p = self._rows(theta, idx)
        with np.errstate(all="ignore"):
            zm, dz = ref.circuit.impedance_and_jacobian(p, self._frequency(s))
            if ref.free.size != dz.shape[2]:
                dz = dz[:, :, ref.free]
            dz *= ref.transform.dp_dtheta(p_free)[:, None, :]
        return s, zm, dz

    def normal_equations(self, theta: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(chisq, J^T J, J^T r) per row of ``theta`` (:func:`~eisfit.fitting.problem.normal_equations_at`);
        row j uses the data of spectrum ``owner[idx[j]]``. Evaluated in blocks of
        ``EVAL_BLOCK_TUNED`` rows in a process whose allocator keeps freed memory
        (:func:`eisfit._processes.tune_allocator`: the ``eisfit`` command and the campaign's
        workers), else ``EVAL_BLOCK``. Tuned, a row cost 5.5 us in blocks of 16 rows, 3.0 us
        in blocks of 64, 2.5 us in blocks of 256 (51 points, 7 parameters: numpy's fixed cost
        per call spread thinner; 1,000 hard spectra 6 % less CPU with 256 than 64). With
        glibc's defaults the temporaries of large blocks get fresh pages: 300 hard spectra
        after a campaign in the same process took 2.2-2.7 ms each with blocks of 64 and
        2.6-3.2 ms with 256. The results are the same to the bit up to 256 rows; from 512 rows
        numpy's stacked matmul rounds differently (1e-13)."""
        k = theta.shape[0]
        block = EVAL_BLOCK_TUNED if allocator_tuned() else EVAL_BLOCK
        if k <= block:
            return self._normal_block(theta, idx)
        m = theta.shape[1]
        cost, jtj, jtr = np.empty(k), np.empty((k, m, m)), np.empty((k, m))
        for lo in range(0, k, block):
            part = slice(lo, lo + block)
            cost[part], jtj[part], jtr[part] = self._normal_block(theta[part], idx[part])
        return cost, jtj, jtr

    def _normal_block(self, theta: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ref = self.preps[0].problem
        s, p_free, p = self._rows(theta, idx)
        sr = self.sr[s]
        si = sr if self.si is self.sr else self.si[s]
        return normal_equations_at(ref.circuit, self._frequency(s), p, ref.free, ref.transform.dp_dtheta(p_free),
                                   self.z[s], (sr, si), ref.weighting)

    def residuals_and_jacobian(self, theta: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stacked weighted residuals and Jacobian (for the covariance), as ``Problem``'s."""
        s, zm, dz = self._model_and_jacobian(theta, idx)
        with np.errstate(all="ignore"):
            return weighted_residuals(self.z[s], zm, dz, (self.sr[s], self.si[s]),
                                      self.preps[0].problem.weighting)


def grid_key(problem: Any) -> tuple:
    """What fit problems must share to be rows of one batched problem: the circuit, the
    weighting and the free set. Their frequencies may differ (an instrument that logs the
    frequency it measured at; sweeps of other settings), and so may their numbers of points
    (points dropped as inductive, an aborted sweep): each row then has its own grid, padded
    with points that weigh nothing (:class:`BatchProblem`; the Lin-KK test batches spectra
    of as many points, :func:`eisfit.analysis.kk.kk_tests`). ``modulus-calc`` weights come
    from the model at every point, padded or not: its spectra are batched by their number
    of points."""
    size = problem.frequency.size if problem.weighting == "modulus-calc" else None
    return problem.circuit.string, size, problem.weighting, problem.free.tobytes()


def chunks_by_grid(preps: Sequence[Any], max_problems: int = MAX_PROBLEMS) -> Iterator[list[int]]:
    """Indices of spectra that can share one batched problem (:func:`grid_key`: circuit,
    weighting and free set), at most ``max_problems`` starts per chunk."""
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(preps):
        key = grid_key(p.problem)
        groups.setdefault(key, []).append(i)
    for members in groups.values():
        chunk: list[int] = []
        load = 0
        for i in members:
            n = _first_round_size(preps[i])
            if chunk and load + n > max_problems:
                yield chunk
                chunk, load = [], 0
            chunk.append(i)
            load += n
        if chunk:
            yield chunk


def _first_round_size(prep: Any) -> int:
    return min(prep.n_quick, len(prep.start_list)) if prep.adaptive else len(prep.start_list)


# ----------------------------------------------------------------------------- solve
def solve(preps: Sequence[Any], *, kk: bool = True) -> Solution:
    """Optima of prepared fits (``engine._Prepared``) on any grids, in input order.

    ``kk``: compute the Lin-KK test of every spectrum's points (returned in the solution).
    It is computed anyway for spectra with an adaptive start list, whose escalation needs
    the noise level.
    """
    preps = list(preps)
    if not preps:
        return Solution(np.empty((0, 0)), np.zeros(0, bool), np.empty(0), [], np.zeros(0, int), np.zeros(0, bool),
                        [], np.empty(0), [])
    order: list[int] = []
    parts = []
    for chunk in chunks_by_grid(preps):
        parts.append(_solve_grid([preps[i] for i in chunk], kk=kk))
        order += chunk
    return Solution.joined(parts).rows(np.argsort(order))


def start_costs(preps: Sequence[Any], params: np.ndarray) -> np.ndarray:
    """Weighted sum of squares of each spectrum's fit at the full parameter vector
    ``params[i]`` (S, M), clipped into its bounds: what the optimiser would start from."""
    params = np.asarray(params, dtype=float)
    out = np.empty(len(preps))
    for chunk in chunks_by_grid(preps):
        group = [preps[i] for i in chunk]
        theta = _internal_starts(group, params[chunk])
        out[chunk] = BatchProblem.of(group).normal_equations(theta, np.arange(len(chunk)))[0]
    return out


def _internal_starts(preps: Sequence[Any], params: Sequence[np.ndarray]) -> np.ndarray:
    """Internal coordinates (S, free) of full parameter vectors of spectra of one batch,
    each clipped into its spectrum's bounds."""
    free = preps[0].problem.free
    return np.array([p.problem.transform.clip_internal(p.problem.transform.to_internal(np.asarray(v, float)[free]))
                     for p, v in zip(preps, params)])


def _solve_grid(preps: list[Any], *, kk: bool) -> Solution:
    """:func:`solve` for spectra of one batch (one batched problem): the quick round, then
    the escalation rounds of the spectra whose optimum still looks poor."""
    adaptive = np.array([p.adaptive and len(p.start_list) > p.n_quick for p in preps])
    kk_results = _kk_of(preps) if (kk or adaptive.any()) else [None] * len(preps)
    noise = np.array([np.nan if r is None else kk_noise_level(r) for r in kk_results])
    lacks_l = [r is not None and unmodelled_inductance_H(p.problem.circuit, p.problem.frequency, p.problem.z,
                                                         r.passed, r.inductance_H, kk_noise_level(r)) is not None
               for p, r in zip(preps, kk_results)]
    quick = [list(range(_first_round_size(p))) for p in preps]
    sol = _run_starts(BatchProblem.of(preps), preps, quick)
    sol.kk = kk_results
    lof = _LackOfFit(preps, noise)
    # round 2: the next ESCALATION_STARTS starts where the quick optimum looks poor in any way;
    # round 3: the rest of the list where the fit still misses the data (lack of fit), among
    # the spectra whose quick optimum also showed a sign of a local minimum (a bound, a
    # shape, a non-finite cost): a lack of fit alone that round 2's starts could not lower is
    # the data's (noise or model), not a missed optimum (1,000 hard spectra: 68 such spectra,
    # no lower optimum in rounds 2 or 3; round 3 found 7 among the 16 with a sign); and every
    # spectrum of round 2 that round 2 leaves for the lack-of-fit flag (ratio above 2) while
    # its data pass the Lin-KK test (data that fail it lack fit whatever the start)
    few: set[int] = set()  # spectra whose round 2 ran only LACK_OF_FIT_STARTS of its starts

    def has_starts(i: int, round_: int) -> bool:
        return len(_round_starts(preps[i], round_, i in few)) > 0

    candidates = np.flatnonzero(adaptive)
    escalated: list[int] = []
    for round_ in (2, 3):
        lof.prime(list(candidates) + escalated, sol.p_best)
        poor = [i for i in candidates if has_starts(i, round_)
                and _looks_poor(preps[i], sol.p_best[i], sol.cost[i], lof.of(i, sol.p_best[i]), any_sign=round_ == 2)]
        if round_ == 2:
            undetermined = _undetermined_arc_resistance(
                preps, sol, [i for i in candidates if has_starts(i, 2) and i not in set(poor)])
            poor = sorted(set(poor) | undetermined)
        if round_ == 3:
            poor = sorted(set(poor) | {
                i for i in escalated if has_starts(i, 3)
                and _looks_poor(preps[i], sol.p_best[i], sol.cost[i], lof.of(i, sol.p_best[i]), any_sign=False,
                                threshold=ROUND3_LACK_OF_FIT)
                and _kk_consistent(preps[i], sol.p_best[i], kk_results[i])})
            poor = [i for i in poor if not lacks_l[i]]
        if not poor:
            break
        signs: set[int] = set()  # spectra of round 2 poor in another way than lack of fit (the few
        # of them: overlapping plain arcs alone, which also get the tail starts)
        if round_ == 2:
            next_candidates = np.array(  # poor without lack of fit (no ratio): poor in another way
                [i for i in poor if i in undetermined or _looks_poor(preps[i], sol.p_best[i], sol.cost[i], math.nan)],
                dtype=int)
            escalated = poor
            signs = set(next_candidates.tolist())
            few = {i for i in poor
                   if _few_starts_do(preps[i], sol.p_best[i], sol.cost[i], lof.of(i, sol.p_best[i]), i in signs)}
        sets = [_listed_starts(preps[i], list(_round_starts(preps[i], round_, i in few)))
                + (_tail_starts(preps[i]) if round_ == 2 and i in few and i in signs else _NO_STARTS) for i in poor]
        _keep_better(sol, poor, _run_start_sets(BatchProblem.of([preps[i] for i in poor]), [preps[i] for i in poor], sets))
        sol.escalated[poor] = True
        if round_ == 2:
            candidates = next_candidates
    lof.prime(np.flatnonzero(adaptive), sol.p_best)
    _tail_round(preps, sol, [i for i in np.flatnonzero(adaptive)
                             if _misses_tail(preps[i], sol.p_best[i], sol.cost[i], kk_results[i], noise[i],
                                             lof.of(i, sol.p_best[i]))])
    _repair_round(preps, sol)
    _relabel_round(preps, sol)
    _order_round(preps, sol, [i for i in np.flatnonzero(sol.escalated) if preps[i].n_other_orders])
    _swap_round(preps, sol, list(np.flatnonzero(adaptive)))
    _transfer_round(preps, sol, list(np.flatnonzero(adaptive)))
    _gs_length_round(preps, sol, [i for i in np.flatnonzero(adaptive) if _has_gs(preps[i].problem.circuit)])
    _edge_arc_round(preps, sol, [i for i in np.flatnonzero(adaptive) if _blocked_arcs(preps[i].problem.circuit)])
    diffusion_rows = [i for i in np.flatnonzero(adaptive) if _has_branch_diffusion(preps[i].problem.circuit)]
    lof.prime(diffusion_rows, sol.p_best)
    _diffusion_arc_round(preps, sol, [i for i in diffusion_rows
                                      if _looks_poor(preps[i], sol.p_best[i], sol.cost[i], lof.of(i, sol.p_best[i]),
                                                     any_sign=False, threshold=LACK_OF_FIT_RATIO)])
    drt_rows = [i for i in np.flatnonzero(adaptive) if kk_results[i] is not None and kk_results[i].passed]
    lof.prime(drt_rows, sol.p_best)
    _drt_round(preps, sol, [i for i in drt_rows if _looks_poor(preps[i], sol.p_best[i], sol.cost[i],
                                                               lof.of(i, sol.p_best[i]), any_sign=False,
                                                               threshold=_drt_round_threshold(preps[i]))])
    _continue_unfinished(preps, sol)
    return sol


def _drt_round(preps: list[Any], sol: Solution, rows: list[int]) -> None:
    """The last round, for optima that still lack fit (the ``lack-of-fit`` flag's ratio,
    above 2) on data that pass the Lin-KK test: starts seeded by the data's DRT, its peaks
    as the circuit's arcs (:func:`eisfit.fitting.guess.drt_starts`, what ``guess="drt"``
    adds to every fit). A slow arc half hidden under a blocking line (p(R1,CPE1)-p(R2,CPE2)-
    CPE3 family, apex near f_min) was put at high frequency by every start of the grid: 171x
    the optimum's chi-square, which the DRT's peaks reach. Such fits are rare where the circuit
    is right: the benchmark's 1,000 hard spectra run none."""
    _run_extra_starts(preps, sol, {i: _drt_start_set(preps[i]) for i in rows})


def _drt_round_threshold(prep: Any) -> float:
    """The lack-of-fit ratio above which the DRT round runs: the flag's (``LACK_OF_FIT_RATIO``),
    but ``ESCALATE_LACK_OF_FIT`` for a circuit that ends in a capacitive tail (not finite at
    DC: a blocking CPE, a semi-infinite Warburg), whose tail can swallow a slow arc at a mild
    lack of fit (blocking family, seed 44: ratio 1.09, 1.24x the optimum's chi-square, R1 and
    R2 wrong by 1,000x, which the whole start list does not reach and the DRT's peaks do).
    Not for every circuit: on 1,000 hard two-arc spectra the DRTs cost 50 % more CPU and
    found no lower optimum."""
    return LACK_OF_FIT_RATIO if finite_at_dc(prep.problem.circuit) else ESCALATE_LACK_OF_FIT


def _drt_start_set(prep: Any) -> StartSet:
    problem = prep.problem
    names = problem.circuit.param_names
    weighting = "modulus" if problem.weighting == "sigma" else problem.weighting  # sigma's SDs are not kept here
    try:
        starts = drt_starts(problem.circuit, dict(prep.start_list[0]), problem.frequency, problem.z, weighting,
                            lambdas=DRT_SEED_LAMBDAS)
    except EisfitError:  # too few points for a DRT: no such starts
        starts = []
    return StartSet.of([(f"drt:{k}", {**start, **prep.fixed}) for k, start in enumerate(starts)], names)


def _swap_round(preps: list[Any], sol: Solution, rows: list[int]) -> None:
    """Where an optimum has two arcs of differently shaped blocks (a plain arc, a Randles
    branch) in the other time order than the circuit string's, starts with the two put
    back (:func:`eisfit.fitting.guess.swapped_order_starts`), and for a ladder, starts with
    the capacitances of its outer and nested arcs exchanged
    (:func:`eisfit.fitting.guess.exchanged_capacitance_starts`); kept where lower. After the
    order round, whose placements in the other order may have won with the string's own
    order missed by every start of the grid."""
    _run_extra_starts(preps, sol, {i: _swap_start_set(preps[i], sol.p_best[i]) for i in rows})


def _swap_start_set(prep: Any, p_best: np.ndarray) -> StartSet:
    circ = prep.problem.circuit
    values = dict(zip(circ.param_names, p_best))
    pairs = swapped_order_starts(circ, values) + exchanged_capacitance_starts(circ, values)
    return StartSet.of([(label, {**start, **prep.fixed}) for label, start in pairs], circ.param_names)


def _diffusion_arc_round(preps: list[Any], sol: Solution, rows: list[int]) -> None:
    """Where an optimum of a circuit with a Randles branch p(CPE, R-Wo|Ws) lacks fit (the
    flag's ratio, above 2), starts in which the branch's diffusion takes the place of its arc
    (:func:`eisfit.fitting.guess.diffusion_arc_starts`); kept where lower by more than s^2
    (chi-square / dof): such an optimum has a low-exponent CPE and often R0 at 0, kept only
    where the data tell it apart (real files: 505, 26 and 19 s^2 lower)."""
    sets = {i: _diffusion_arc_start_set(preps[i], sol.p_best[i]) for i in rows}
    rows = [i for i in rows if sets[i].labels]
    if rows:
        _keep_better(sol, rows, _run_start_sets(BatchProblem.of([preps[i] for i in rows]), [preps[i] for i in rows],
                                                [sets[i] for i in rows]), margin=_s2(preps, sol, rows))


def _diffusion_arc_start_set(prep: Any, p_best: np.ndarray) -> StartSet:
    names = prep.problem.circuit.param_names
    pairs = diffusion_arc_starts(prep.problem.circuit, dict(zip(names, p_best)))
    return StartSet.of([(label, {**start, **prep.fixed}) for label, start in pairs], names)


@functools.lru_cache(maxsize=64)
def _has_branch_diffusion(circ: Any) -> bool:
    """Whether ``circ`` has a finite diffusion behind the resistor of a CPE branch arc."""
    return any(p.is_diffusion and p.branch_arc is not None and p.branch_arc.kind == "CPE" for p in processes(circ))


def _transfer_round(preps: list[Any], sol: Solution, rows: list[int]) -> None:
    """Where an optimum has two plain arcs closer than ``OVERLAP_TAU_RATIO`` in time
    constant, starts with most of one arc's resistance moved to the other, both ways
    (:func:`eisfit.fitting.guess.transferred_resistance_starts`); kept where lower by more
    than a relative ``TRANSFER_MARGIN`` (the same minimum reached again is not a new one)."""
    _run_extra_starts(preps, sol, {i: _transfer_start_set(preps[i], sol.p_best[i]) for i in rows}, TRANSFER_MARGIN)


def _transfer_start_set(prep: Any, p_best: np.ndarray) -> StartSet:
    names = prep.problem.circuit.param_names
    pairs = transferred_resistance_starts(prep.problem.circuit, dict(zip(names, p_best)), OVERLAP_TAU_RATIO)
    return StartSet.of([(label, {**start, **prep.fixed}) for label, start in pairs], names)


def _gs_length_round(preps: list[Any], sol: Solution, rows: list[int]) -> None:
    """Where the circuit has a finite-length Gerischer (Gs), starts from the optimum with
    the Gs at other lengths, its dc resistance kept
    (:func:`eisfit.fitting.guess.gs_length_starts`); kept where lower by more than a
    relative ``TRANSFER_MARGIN``. A fixed length is left alone."""
    _run_extra_starts(preps, sol, {i: _gs_length_start_set(preps[i], sol.p_best[i]) for i in rows}, TRANSFER_MARGIN)


def _gs_length_start_set(prep: Any, p_best: np.ndarray) -> StartSet:
    names = prep.problem.circuit.param_names
    pairs = [(label, start) for label, start in gs_length_starts(prep.problem.circuit, dict(zip(names, p_best)))
             if not any(n in prep.fixed and start[n] != prep.fixed[n] for n in names)]
    return StartSet.of([(label, {**start, **prep.fixed}) for label, start in pairs], names)


EDGE_ARC_PLACEMENTS = (1.0 / 3.0, 1.0, 3.0)  # apex frequencies of the edge-arc starts, x f_min
EDGE_ARC_RESISTANCES = (0.1, 0.5)  # their resistances, x the spread of Z' of the data
EDGE_ARC_EXPONENT = 0.85  # their CPE exponent, and the floor of a series CPE's (the blocking line's)


def _edge_arc_round(preps: list[Any], sol: Solution, rows: list[int]) -> None:
    """The edge-arc round: in a circuit not finite at DC with plain arcs (a blocking pellet,
    R0-p(R1,CPE1)-p(R2,CPE2)-CPE3), where the optimum leaves an arc resistance undetermined
    (:func:`_undetermined_arc_resistance`) or a parameter on a bound (:func:`_on_bounds`),
    starts from it with one arc moved to the low end of the data (:func:`_edge_arc_starts`).
    An arc whose apex lies near or below f_min bends into the blocking line; no start of
    the grid puts it there, and the fit ends with the arc spent elsewhere and the blocking
    CPE's exponent lowered to take its part: 200 random pellets with the interface arc
    near f_min ended 17 times more than 1 s^2 above the optimum that a polish from the
    truth reaches (up to 30 s^2: CPE3's n 0.62 for a true 0.91); these starts reach it in
    all 17. Kept where lower."""
    if not rows:
        return
    undetermined = _undetermined_arc_resistance(preps, sol, rows)
    poor = [i for i in rows if i in undetermined or _on_bounds(preps[i], sol.p_best[i])]
    _run_extra_starts(preps, sol, {i: _edge_arc_starts(preps[i], sol.p_best[i]) for i in poor})


@functools.lru_cache(maxsize=64)
def _blocked_arcs(circ: Any) -> bool:
    """Whether ``circ`` has plain arcs and is not finite at DC (a blocking element in series)."""
    return bool(circ.arcs) and not finite_at_dc(circ)


def _edge_arc_starts(prep: Any, p_best: np.ndarray) -> StartSet:
    """``p_best`` with one plain arc (its R and C or Q, n free) placed with its apex at
    ``EDGE_ARC_PLACEMENTS`` x the lowest frequency and a resistance of
    ``EDGE_ARC_RESISTANCES`` x the spread of Z' of the data (:func:`arc_moved`): one start
    per arc, placement and resistance."""
    problem = prep.problem
    circ = problem.circuit
    names = circ.param_names
    spread = float(np.ptp(problem.z.real))
    f_min = float(np.min(problem.frequency))
    pairs = []
    for arc in circ.arcs:
        for placement in EDGE_ARC_PLACEMENTS:
            for share in EDGE_ARC_RESISTANCES:
                start = arc_moved(prep, p_best, arc, f_min * placement, share * spread)
                if start is not None:
                    pairs.append((f"edge:{arc.resistor}@{placement:.2g}fmin", start))
    return StartSet.of(pairs, names)


def arc_moved(prep: Any, p_full: np.ndarray, arc: Any, apex_Hz: float, r_ohm: float) -> dict[str, float] | None:
    """``p_full`` (by name) with the plain ``arc`` placed with its apex at ``apex_Hz`` and a
    resistance ``r_ohm`` (a CPE's exponent ``EDGE_ARC_EXPONENT``), and the exponent of every
    free series CPE raised to at least ``EDGE_ARC_EXPONENT`` (an arc moved to the low end
    bends into the blocking line, which an exponent lowered to take its part would hide);
    None where the arc's R and C or Q, n are not all free or ``r_ohm`` is not positive."""
    problem = prep.problem
    circ = problem.circuit
    names = circ.param_names
    free = {names[j] for j in problem.free}
    capacitive = [f"{arc.capacitive}_0", f"{arc.capacitive}_1"] if arc.kind == "CPE" else [arc.capacitive]
    if not r_ohm > 0 or arc.resistor not in free or not free.issuperset(capacitive):
        return None
    start = dict(zip(names, p_full))
    for node in series_chain(circ.tree):
        if isinstance(node, Leaf) and node.kind == "CPE" and f"{node.name}_1" in free:
            start[f"{node.name}_1"] = max(start[f"{node.name}_1"], EDGE_ARC_EXPONENT)
    tau = 1.0 / (2.0 * math.pi * apex_Hz)
    start[arc.resistor] = r_ohm
    if arc.kind == "CPE":
        start.update({capacitive[0]: tau ** EDGE_ARC_EXPONENT / r_ohm, capacitive[1]: EDGE_ARC_EXPONENT})
    else:
        start[arc.capacitive] = tau / r_ohm
    return start


@functools.lru_cache(maxsize=64)
def _has_gs(circ: Any) -> bool:
    return any(e.kind == "Gs" for e in circ.elements)


def _order_round(preps: list[Any], sol: Solution, rows: list[int]) -> None:
    """For escalated fits of circuits whose series elements may relax in another order
    than the string's (:func:`eisfit.fitting.guess.time_orders`), the screen's best
    placements in those orders, the last starts of the list. Run last, after the repair
    round: earlier, their lower minima that were not the optimum changed what the later
    rounds did (which spectra go on, what the repair restarts from) and lost optima they had
    found (Randles-Ws family: 1,493 -> 1,492 of 1,500, one at 1.22x)."""
    if rows:
        sets = [list(range(len(preps[i].start_list) - preps[i].n_other_orders, len(preps[i].start_list)))
                for i in rows]
        # the circuit's own order stands unless the data tell the other apart: lower by more
        # than s^2 (chisq / dof). Two orders can describe the same points (a Randles branch
        # whose diffusion is slow ~ a plain arc): the string's, as the user wrote it, is kept
        _keep_better(sol, rows, _run_starts(BatchProblem.of([preps[i] for i in rows]), [preps[i] for i in rows], sets),
                     margin=_s2(preps, sol, rows))


def _misses_tail(prep: Any, p_full: np.ndarray, cost: float, kk_result: KKResult | None, noise_level: float,
                 ratio: float) -> bool:
    """The optimum lacks fit (ratio above ``ESCALATE_LACK_OF_FIT``) on data that end in a
    capacitive tail the circuit cannot follow (its impedance finite at DC:
    :func:`~eisfit.analysis.quality.capacitive_tail_F`, the test behind the flag
    ``capacitive-tail-in-data``, here also on data that fail the Lin-KK test: a CH
    Instruments spectrum fitted with R0-p(R1,CPE1)-p(CPE2,R2-Ws2) ended 2.2x above the
    optimum the round reaches)."""
    if kk_result is None:
        return False
    problem = prep.problem
    tail = capacitive_tail_F(problem.circuit, problem.frequency, problem.z, kk_result.capacitance_F, noise_level)
    return tail is not None and _looks_poor(prep, p_full, cost, ratio, any_sign=False)


def _tail_round(preps: list[Any], sol: Solution, rows: list[int]) -> None:
    """Where the data end in a capacitive tail the circuit cannot follow
    (:func:`_misses_tail`), starts in which one arc plays the tail, its resistance run away
    (:func:`eisfit.fitting.guess.blocking_arc_starts`): the optimum of such a fit, which no
    start of the grid reaches (real text-file and BioLogic spectra fitted with
    R0-p(R1,CPE1)-p(CPE2,R2-Ws2): 143x, 25x and 1.4x above it)."""
    _run_extra_starts(preps, sol, {i: _tail_starts(preps[i]) for i in rows})


def _tail_starts(prep: Any) -> StartSet:
    problem = prep.problem
    names = problem.circuit.param_names
    feats = spectrum_features(problem.frequency, problem.z)
    free = {names[j] for j in problem.free}
    pairs = blocking_arc_starts(problem.circuit, feats, prep.start_list[0], free)
    return StartSet.of(pairs, names)


def _run_extra_starts(preps: list[Any], sol: Solution, sets: dict[int, StartSet], margin_rtol: float = 0.0) -> None:
    """One late round: the start sets of some spectra (by row; those without starts skip it)
    run as one batch, and each row keeps the lower of its optimum and the round's (lower by
    more than ``margin_rtol`` of its cost)."""
    rows = [i for i, start_set in sets.items() if start_set.labels]
    if rows:
        _keep_better(sol, rows, _run_start_sets(BatchProblem.of([preps[i] for i in rows]), [preps[i] for i in rows],
                                                [sets[i] for i in rows]),
                     margin=margin_rtol * sol.cost[rows] if margin_rtol else None)


def dof_of(prep: Any) -> int:
    """Degrees of freedom 2N - M (free parameters) of a prepared fit, at least 1."""
    return max(2 * prep.problem.frequency.size - prep.problem.free.size, 1)


def _undetermined_arc_resistance(preps: list[Any], sol: Solution, rows: list[int]) -> set[int]:
    """The ``rows`` (spectra of one grid) whose optimum leaves an arc's resistance
    undetermined: its Wald standard error above its value (sd of log R above 1, from the
    Gauss-Newton covariance s^2 (J^T J)^-1 in the log coordinates). A sign of a missed
    optimum as much as of data that do not inform the arc: a blocking pellet's quick round
    ended with R1 197 +- 4,300 and R2 1,614 +- 2,700 ohm, 10.6 s^2 above the optimum where
    R2 is 209 +- 19 ohm, and nothing else looked poor. One batched evaluation."""
    if not rows:
        return set()
    ref = preps[rows[0]].problem
    names = ref.circuit.param_names
    free = ref.free.tolist()
    columns = [free.index(names.index(a.resistor)) for a in ref.circuit.arcs
               if names.index(a.resistor) in free and ref.transform.log_mask[free.index(names.index(a.resistor))]]
    if not columns:
        return set()
    theta = ref.transform.to_internal(sol.p_best[rows][:, ref.free])
    chisq, jtj, _ = BatchProblem.of([preps[i] for i in rows]).normal_equations(theta, np.arange(len(rows)))
    with np.errstate(all="ignore"):
        variance = np.linalg.pinv(jtj, hermitian=True)[:, columns, columns]
        s2 = chisq / np.array([dof_of(preps[i]) for i in rows])
        undetermined = np.any(s2[:, None] * variance > 1.0, axis=1)
    return {i for i, u in zip(rows, undetermined) if u}


def _s2(preps: list[Any], sol: Solution, rows: list[int]) -> np.ndarray:
    """s^2 = chisq / dof of the optima of ``rows``: the margin by which a round's optimum
    must be lower to replace one the data cannot tell apart from it."""
    return sol.cost[rows] / np.array([dof_of(preps[i]) for i in rows])


def _keep_better(sol: Solution, rows: list[int], more: Solution, margin: np.ndarray | None = None) -> None:
    """Rows ``rows`` of ``sol`` take the optima of ``more`` (a round over them) that are
    lower (by more than ``margin``, per row, when given); their start counts grow by the
    round's."""
    for j, i in enumerate(rows):
        sol.n_starts[i] += more.n_starts[j]
        if sol.optima is not None and more.optima is not None:
            sol.optima[i] = merge_optima(sol.optima[i], more.optima[j])
        if more.cost[j] < sol.cost[i] - (0.0 if margin is None else margin[j]):
            sol.p_best[i], sol.converged[i], sol.cost[i] = more.p_best[j], more.converged[j], more.cost[j]
            sol.start_won[i] = more.start_won[j]


def _repair_round(preps: list[Any], sol: Solution) -> None:
    """The repair round (module docstring): where the best optimum has a collapsed or
    runaway process (:func:`_looks_degenerate`), restart from it with the parameters of
    one process (an arc, a diffusion) put back where a start of the first round placed
    them, one start per process and such start. A repaired optimum that still has a
    collapsed process is repaired again from there (up to ``REPAIR_ROUNDS`` in all): two
    processes can collapse together, and putting back one lets the other follow."""
    rows: Sequence[int] = range(len(preps))
    for _ in range(REPAIR_ROUNDS):
        poor = [i for i in rows if _looks_degenerate(preps[i], sol.p_best[i], sol.cost[i])]
        if not poor:
            return
        before = sol.cost[poor].copy()
        _run_extra_starts(preps, sol, {i: _repair_starts(preps[i], sol.p_best[i]) for i in poor})
        rows = [i for i, cost in zip(poor, before) if sol.cost[i] < cost]


def _relabel_round(preps: list[Any], sol: Solution) -> None:
    """Where a parameter of an arc of the optimum sits on a bound that another arc of the
    same kind in the series chain does not have (a library circuit's exponent bounds: n >=
    0.6 for the bulk arc, 0.5 for the others), starts with the two arcs' parameters
    exchanged, each clipped into its new bounds (:func:`eisfit.fitting.guess.relabelled_arc_starts`);
    kept where lower. The start grid places the arcs in the string's time order, so an
    optimum that needs the arc pinned on its bound in another slot, where that bound does
    not hold, is never started: a real BioLogic sweep fitted with garnet-three-arc and
    blocking-pellet ended 3.4 % and 10.8 % above such optima (0.9 and 2.8 s^2), their
    resistances 8-30 stderr from the reported ones."""
    _run_extra_starts(preps, sol, {i: _relabel_start_set(preps[i], sol.p_best[i]) for i in range(len(preps))})


def _relabel_start_set(prep: Any, p_best: np.ndarray) -> StartSet:
    circ = prep.problem.circuit
    names = circ.param_names
    free = {names[j] for j in prep.problem.free}
    pairs = relabelled_arc_starts(circ, dict(zip(names, p_best)), dict(zip(names, prep.lower)),
                                  dict(zip(names, prep.upper)), free)
    return StartSet.of([(label, {**start, **prep.fixed}) for label, start in pairs], names)


def _repair_starts(prep: Any, p_best: np.ndarray) -> StartSet:
    """``p_best`` with one process's parameters from one start of the first round (at
    most ``QUICK_STARTS``), for every process and such start (duplicates of ``p_best`` or
    of each other left out)."""
    circ = prep.problem.circuit
    names = circ.param_names
    labels, params = [], []
    seen = {p_best.tobytes()}
    for process, columns in _process_columns(circ):
        for k in range(min(_first_round_size(prep), QUICK_STARTS)):
            start = prep.start_list[k]
            v = p_best.copy()
            v[columns] = [start[names[c]] for c in columns]
            if v.tobytes() not in seen:
                seen.add(v.tobytes())
                labels.append(f"repair:{process}<-{prep.start_labels[k]}")
                params.append(v)
    return StartSet(labels, np.array(params).reshape(len(params), len(names)))


@functools.lru_cache(maxsize=64)
def _process_columns(circ: Any) -> tuple[tuple[str, np.ndarray], ...]:
    """(its element names joined by "+", its parameter columns) of each process of ``circ``
    (:func:`eisfit.fitting.guess.processes`), then of each process inside a branch together
    with the arc whose branch holds it (a Randles branch's arc and diffusion, a ladder's
    outer and nested arcs): a diffusion collapsed under its arc leaves the arc with the
    diffusion's resistance, and put back alone it returns there (a nested Randles spectrum
    ended at 121x the optimum's chi-square; put back with its arc, it reaches it)."""
    columns = {e.name: [circ.param_names.index(n) for n in e.param_names] for e in circ.elements}

    def members_of(proc: Any) -> list[str]:
        return ([proc.arc.resistor, proc.arc.capacitive] if proc.arc is not None else []) + \
            ([proc.element] if proc.element is not None else [])

    units = [members_of(proc) for proc in processes(circ)]
    units += [[proc.branch_arc.resistor, proc.branch_arc.capacitive] + members_of(proc)
              for proc in processes(circ) if proc.in_branch]
    return tuple(("+".join(members), np.array([c for m in members for c in columns[m]])) for members in units)


def _kk_consistent(prep: Any, p_full: np.ndarray, kk_result: KKResult | None) -> bool:
    """:func:`~eisfit.analysis.quality.data_kk_consistent` of a spectrum at the optimum
    ``p_full`` (False when its Lin-KK test could not run)."""
    if kk_result is None:
        return False
    problem = prep.problem
    with np.errstate(all="ignore"):  # a runaway arc (R and C at their huge ends) overflows: inf, not consistent
        z_fit = None if kk_result.passed else problem.circuit.impedance(p_full[None, :], problem.frequency)[0]
        return data_kk_consistent(kk_result.passed, p_full, problem.frequency, problem.z, z_fit)


def _round_starts(prep: Any, round_: int, few: bool = False) -> range:
    """Indices into the start list of escalation round 2 (the next ``ESCALATION_STARTS``;
    ``few``: only ``LACK_OF_FIT_STARTS`` of them) or 3 (the rest, from where round 2
    stopped: a spectrum that round 2 gave a few starts gets the ones it skipped too)."""
    n = len(prep.start_list)
    n -= prep.n_other_orders  # the order round's (:func:`_order_round`)
    second = min(prep.n_quick + ESCALATION_STARTS, n)
    if few:
        second = min(prep.n_quick + LACK_OF_FIT_STARTS, second)
    return range(prep.n_quick, second) if round_ == 2 else range(second, n)


def _continue_unfinished(preps: list[Any], sol: Solution) -> None:
    """Polish on, for ``POLISH_CONTINUE`` more iterations, the optima that stopped on the
    polish's iteration limit (slow valleys, diffusion elements): one batched call for the
    whole grid, so the long tail of a few problems is paid once, not once per round."""
    todo = [i for i in range(len(preps)) if not sol.converged[i] and np.isfinite(sol.cost[i])]
    if not todo:
        return
    p_new, cost, converged = polish_from([preps[i] for i in todo], sol.p_best[todo], POLISH_CONTINUE)
    for j, i in enumerate(todo):
        if sol.optima is not None and converged[j] and np.isfinite(cost[j]):
            sol.optima[i] = merge_optima(sol.optima[i], [(float(cost[j]), p_new[j])])
        if cost[j] <= sol.cost[i]:
            sol.p_best[i], sol.cost[i], sol.converged[i] = p_new[j], cost[j], converged[j]


class PolishStream:
    """Single-start polishes that join and leave running batched LMs (one per batch), with
    the arithmetic :func:`solve` gives a one-start list (without its repair round: a seeded
    fit that ends degenerate loses to the spectrum's cold fit, which had it):
    ``POLISH_ITER`` iterations, then, where the optimum was still moving, ``POLISH_CONTINUE`` more from there (kept where not
    worse; :func:`_continue_unfinished`). For fits that wait on each other, such as the
    seeded fits of a chain (position k is seeded by the fit kept at k-1): each polish joins
    as soon as it is asked for, instead of a round of them waiting for its slowest one.

    ``start(index, p_full)`` polishes spectrum ``preps[index]`` from the full parameter
    vector ``p_full`` (superseding a polish of that spectrum still running); ``step()``
    advances every running polish one iteration and returns the finished ones as
    (index, cost, full parameter vector, converged).
    """

    def __init__(self, preps: Sequence[Any]):
        self.preps = list(preps)
        grids: dict[tuple, list[int]] = {}
        for i, prep in enumerate(self.preps):
            grids.setdefault(grid_key(prep.problem), []).append(i)
        self._run_of: dict[int, tuple[LMRun, int]] = {}  # spectrum -> (its grid's run, its data row there)
        self._runs: list[LMRun] = []
        for members in grids.values():
            group = [self.preps[i] for i in members]
            run = LMRun(BatchProblem.of(group).normal_equations, group[0].problem.free.size,
                        max_iter=POLISH_ITER, ftol=POLISH_TOL, xtol=POLISH_TOL, stall_steps=POLISH_STALL_STEPS)
            self._runs.append(run)
            self._run_of.update((i, (run, row)) for row, i in enumerate(members))
        self._ids = itertools.count()
        self._running: dict[int, int] = {}  # spectrum -> id of its polish (the group of its row)
        self._first: dict[int, tuple[float, np.ndarray, bool]] = {}  # continued polish id -> its first phase

    def start(self, index: int, p_full: np.ndarray) -> None:
        """Polish spectrum ``preps[index]`` from ``p_full`` (its first evaluation joins the next step)."""
        self._drop(index)
        prep = self.preps[index]
        self._add(index, _internal_starts([prep], [p_full])[0], POLISH_ITER)

    def step(self) -> list[tuple[int, float, np.ndarray, bool]]:
        """One iteration of every running polish; the finished ones (continued ones at their end)."""
        finished: list[tuple[int, float, np.ndarray, bool]] = []
        for run in self._runs:
            run.step()
            done = run.finished_groups()
            if done.size == 0:
                continue
            owner = {fit: i for i, fit in self._running.items()}
            rows = [int(np.flatnonzero(run.groups == fit)[0]) for fit in done.tolist()]
            outcomes = [(owner[fit], fit, float(run.cost[r]), run.theta[r].copy(), bool(run.converged[r]),
                         int(run.n_iter[r]) >= int(run.limit[r])) for fit, r in zip(done.tolist(), rows)]
            run.drop(np.array(rows))
            for index, fit, cost, theta, converged, out_of_iterations in outcomes:
                del self._running[index]
                first = self._first.pop(fit, None)
                if first is None and out_of_iterations and not converged and np.isfinite(cost):
                    self._first[self._add(index, theta, POLISH_CONTINUE)] = (cost, theta, converged)
                    continue
                if first is not None and not cost <= first[0]:  # the continuation did not help
                    cost, theta, converged = first
                finished.append((index, cost, self._physical(index, theta), converged))
        return finished

    @property
    def running(self) -> bool:
        """Whether a polish is still running."""
        return bool(self._running)

    def _add(self, index: int, theta: np.ndarray, max_iter: int) -> int:
        prep = self.preps[index]
        run, row = self._run_of[index]
        fit = next(self._ids)
        tr = prep.problem.transform
        run.add(theta[None, :], tr.internal_lower, tr.internal_upper, groups=np.array([fit]), keys=np.array([row]),
                stall_rtol=_stall([prep])[1], defer=True, max_iter=max_iter)
        self._running[index] = fit
        return fit

    def _drop(self, index: int) -> None:
        fit = self._running.pop(index, None)
        if fit is None:
            return
        self._first.pop(fit, None)
        run, _ = self._run_of[index]
        run.drop(np.flatnonzero(run.groups == fit))

    def _physical(self, index: int, theta: np.ndarray) -> np.ndarray:
        problem = self.preps[index].problem
        p = problem.fixed_values.copy()
        p[problem.free] = problem.transform.to_physical(theta)
        return p


def polish_from(preps: Sequence[Any], p_full: np.ndarray, max_iter: int = POLISH_ALONE):
    """One batched single-start polish of spectra of one batch from the full parameter
    vectors ``p_full`` (S, M): (parameter vectors, costs, converged)."""
    preps = list(preps)
    tr = [p.problem.transform for p in preps]
    free = preps[0].problem.free
    out = levenberg_marquardt(BatchProblem.of(preps).normal_equations, _internal_starts(preps, p_full),
                              np.array([t.internal_lower for t in tr]), np.array([t.internal_upper for t in tr]),
                              max_iter=max_iter, ftol=POLISH_TOL, xtol=POLISH_TOL, indexed=True, stall=_stall(preps))
    p_best = np.array([p.problem.fixed_values for p in preps])
    for j, t in enumerate(tr):
        p_best[j, free] = t.to_physical(out.theta[j])
    return p_best, out.cost, out.converged


def _stall(preps: Sequence[Any], owner: np.ndarray | None = None) -> tuple[int, np.ndarray]:
    """The polish's stall rule per LM problem: ``POLISH_STALL_STEPS`` accepted steps gaining
    less than ``POLISH_STALL_S2`` s^2 together, as a fraction of the cost (0.1 / dof)."""
    dof = np.array([dof_of(p) for p in preps], float)
    rtol = POLISH_STALL_S2 / dof
    return POLISH_STALL_STEPS, rtol if owner is None else rtol[owner]


def _kk_of(preps: list[Any]) -> list[KKResult | None]:
    """Lin-KK results of the selected points of spectra (None where it cannot
    run). Results are remembered for the last ``KK_MEMORY`` spectra: fitting several
    circuits to one spectrum (circuit suggestion, refits) tests its points once."""
    keys = [(p.data.frequency.tobytes(), p.data.z.tobytes()) for p in preps]
    out = [_KK_MEMORY.get(k) for k in keys]
    by_size: dict[int, list[int]] = {}  # one batched Lin-KK test per number of points
    for i, k in enumerate(keys):
        if k not in _KK_MEMORY:
            by_size.setdefault(preps[i].data.frequency.size, []).append(i)
    for missing in by_size.values():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the KK test informs a fit; its notes are not the fit's
                results = kk_tests(np.array([preps[i].data.frequency for i in missing]),
                                   np.array([preps[i].data.z for i in missing]),
                                   labels=[str(preps[i].data.label) for i in missing])
        except Exception:  # the KK test only informs a fit; it must never stop one
            results = [None] * len(missing)
        for i, r in zip(missing, results):
            out[i] = r  # from the results themselves: the memory keeps only the last KK_MEMORY
            _KK_MEMORY[keys[i]] = r
            while len(_KK_MEMORY) > KK_MEMORY:
                _KK_MEMORY.pop(next(iter(_KK_MEMORY)))
    return out


KK_MEMORY = 64
_KK_MEMORY: dict[tuple[bytes, bytes], KKResult | None] = {}


def _run_starts(batch: BatchProblem, preps: list[Any], chosen: list[list[int]]) -> Solution:
    """Stage 1 over the chosen starts (indices into each spectrum's start list) of every
    spectrum, then the polish of each spectrum's best distinct starts
    (:func:`_run_start_sets`)."""
    return _run_start_sets(batch, preps, [_listed_starts(p, ks) for p, ks in zip(preps, chosen)])


def _listed_starts(prep: Any, chosen: Sequence[int]) -> StartSet:
    """The starts of ``prep``'s start list at the indices ``chosen``."""
    names = prep.problem.circuit.param_names
    values_of = operator.itemgetter(*names) if len(names) > 1 else lambda start: (start[names[0]],)
    return StartSet([prep.start_labels[k] for k in chosen],
                    np.array([values_of(prep.start_list[k]) for k in chosen], float).reshape(len(chosen), len(names)))


@dataclass(frozen=True)
class StartSet:
    """The starts of one spectrum in one round: where each comes from and its full
    parameter vector (k, M), physical units."""

    labels: list[str]
    params: np.ndarray

    def __add__(self, other: "StartSet") -> "StartSet":
        if not other.labels:
            return self
        return StartSet(self.labels + other.labels, np.concatenate([self.params, other.params]))

    @classmethod
    def of(cls, pairs: Sequence[tuple[str, Mapping[str, float]]], names: Sequence[str]) -> "StartSet":
        """The set of (label, start by parameter name) pairs, vectors in ``names`` order."""
        return cls([label for label, _ in pairs],
                   np.array([[start[n] for n in names] for _, start in pairs], float).reshape(len(pairs), len(names)))


_NO_STARTS = StartSet([], np.zeros((0, 0)))


def _run_start_sets(batch: BatchProblem, preps: list[Any], sets: list[StartSet]) -> Solution:
    """Stage 1 over the starts of every spectrum (pruned, 30 iterations), then the polish
    of each spectrum's best distinct starts; the lowest cost per spectrum wins."""
    ref = preps[0].problem
    # each spectrum keeps its own internal bounds (log-scale floors depend on its guess)
    lo_of = np.array([p.problem.transform.internal_lower for p in preps])
    hi_of = np.array([p.problem.transform.internal_upper for p in preps])
    starts = [p.problem.transform.clip_internal(ref.transform.to_internal(st.params[:, ref.free]))
              for p, st in zip(preps, sets)]
    labels = [st.labels for st in sets]
    thetas, owners, origins = [], [], []
    start_cost = np.full(len(preps), np.inf)  # each spectrum's best start, as first evaluated
    multi = [i for i, ks in enumerate(labels) if len(ks) > 1]
    if multi:
        owner1 = np.concatenate([np.full(len(labels[i]), i) for i in multi])
        stage1 = levenberg_marquardt(batch.with_owner(owner1).normal_equations,
                                     np.concatenate([starts[i] for i in multi]), lo_of[owner1], hi_of[owner1],
                                     max_iter=STAGE1_ITER, ftol=1e-6, prune_factor=STAGE1_PRUNE,
                                     prune_after=STAGE1_PRUNE_AFTER, groups=owner1, indexed=True,
                                     late_prune=STAGE1_LATE_PRUNE)
        np.minimum.at(start_cost, owner1, stage1.start_cost)
        for i, rows in zip(multi, _row_slices(owner1)):  # each spectrum's starts are consecutive rows
            best = distinct_best(stage1.theta[rows], stage1.cost[rows], N_POLISH)
            thetas.append(stage1.theta[rows][best])
            owners.append(np.full(best.size, i))
            origins.extend(labels[i][b] for b in best)
    first_single = sum(len(t) for t in thetas)  # rows of single starts follow the polished optima
    for i, ks in enumerate(labels):
        if len(ks) == 1:
            thetas.append(starts[i])
            owners.append(np.full(1, i))
            origins.append(ks[0])
    owner2 = np.concatenate(owners)
    out = levenberg_marquardt(batch.with_owner(owner2).normal_equations, np.concatenate(thetas),
                              lo_of[owner2], hi_of[owner2],
                              max_iter=POLISH_ITER, ftol=POLISH_TOL, xtol=POLISH_TOL, prune_factor=1.5,
                              groups=owner2, indexed=True, stall=_stall(preps, owner2),
                              late_prune=POLISH_LATE_PRUNE)
    start_cost[owner2[first_single:]] = out.start_cost[first_single:]
    s_count = len(preps)
    # every row's full parameter vector, for the optima (the transform is elementwise: the
    # values of one call per row, to the bit)
    p_rows = batch.fixed_values[owner2]
    p_rows[:, ref.free] = ref.transform.to_physical(out.theta)
    is_optimum = out.converged & np.isfinite(out.cost)  # not the rows pruned or stopped on the iteration limit
    row_cost = out.cost.tolist()
    best_row = np.empty(s_count, dtype=int)
    optima: list[list[tuple[float, np.ndarray]]] = [[] for _ in range(s_count)]
    for rows in _row_slices(owner2):  # each spectrum's rows are consecutive (multi-start ones first)
        i = int(owner2[rows.start])
        best_row[i] = rows.start + int(np.argmin(out.cost[rows]))
        optima[i] = merge_optima([(row_cost[r], p_rows[r].copy()) for r in range(rows.start, rows.stop)
                                  if is_optimum[r]])
    p_best = p_rows[best_row]
    converged, cost = out.converged[best_row], out.cost[best_row]
    start_won = [origins[k] for k in best_row.tolist()]
    n_starts = np.array([len(ks) for ks in labels])
    return Solution(p_best, converged, cost, start_won, n_starts, np.zeros(s_count, bool), [None] * s_count,
                    start_cost, optima)


def _row_slices(owner: np.ndarray) -> list[slice]:
    """The runs of equal values of ``owner`` (each spectrum's rows, consecutive), as slices
    in order."""
    edges = np.flatnonzero(owner[1:] != owner[:-1]) + 1
    bounds = [0, *edges.tolist(), owner.size]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


def merge_optima(*lists: Sequence[tuple[float, np.ndarray]]) -> list[tuple[float, np.ndarray]]:
    """(cost, full parameter vector) pairs of several lists, lowest cost first, without
    repeats of one optimum (every parameter within 1e-6 relative of a lower one's), at most
    ``N_OPTIMA_KEPT``."""
    out: list[tuple[float, np.ndarray]] = []
    for cost, p in sorted((pair for pairs in lists for pair in pairs), key=lambda pair: pair[0]):
        if any(_all_close(p, q) for _, q in out):
            continue
        out.append((cost, p))
        if len(out) == N_OPTIMA_KEPT:
            break
    return out


def _all_close(p: np.ndarray, q: np.ndarray, rtol: float = 1e-6) -> bool:
    """``np.allclose(p, q, rtol=rtol, atol=0)`` to the bit (equal infinities close, nan
    never), without its wrappers: ~4.6 us instead of ~11, called for every pair of optima kept."""
    with np.errstate(invalid="ignore"):  # inf - inf
        return bool(np.all(((np.abs(p - q) <= rtol * np.abs(q)) & np.isfinite(q)) | (p == q)))


def distinct_best(theta: np.ndarray, cost: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n lowest-cost starts that are not duplicates of each other (every
    coordinate within 1e-3 of a lower one's)."""
    order = np.argsort(cost).tolist()
    costs, rows = cost.tolist(), theta.tolist()  # a few rows: plain floats beat numpy's per-call cost
    chosen: list[int] = []
    for i in order:
        if not math.isfinite(costs[i]):
            break
        if all(_apart(rows[i], rows[j]) for j in chosen):
            chosen.append(i)
        if len(chosen) == n:
            break
    return np.array(chosen or [order[0]])


def _apart(u: list[float], v: list[float], tol: float = 1e-3) -> bool:
    """Whether the largest coordinate difference of ``u`` and ``v`` exceeds ``tol``
    (``np.max(np.abs(u - v)) > tol``: never where a difference is nan)."""
    gaps = [abs(a - b) for a, b in zip(u, v)]
    return any(g > tol for g in gaps) and not any(g != g for g in gaps)


# ------------------------------------------------------------------- escalation test
def _looks_poor(prep: Any, p_full: np.ndarray, cost: float, ratio: float, any_sign: bool = True,
                threshold: float | None = None) -> bool:
    """Whether an optimum deserves more starts (see the module docstring); ``ratio``: its
    lack-of-fit ratio (:class:`_LackOfFit`; nan where the noise level is unknown). With
    ``any_sign`` False only a non-finite cost or lack of fit (ratio above ``threshold``)
    count: a bound or a shape that remains after the second round is what the data support
    (an arc beyond the measured range leaves R0 on its floor)."""
    if not np.isfinite(cost):
        return True
    if any_sign and (_on_bounds(prep, p_full) or _ambiguous_shape(prep, p_full)):
        return True
    return bool(np.isfinite(ratio) and ratio > (ESCALATE_LACK_OF_FIT if threshold is None else threshold))


class _LackOfFit:
    """The lack-of-fit ratios (:func:`eisfit.analysis.quality.lack_of_fit_ratio`) of the
    optima of one batch's spectra, each computed once: the rounds ask for the same optimum's
    several times (500 hard spectra: 1,369 asks, 583 distinct optima), and
    :meth:`prime` computes the fitted curves of many optima in one circuit evaluation
    (elementwise: the values of one evaluation per optimum, to the bit)."""

    def __init__(self, preps: Sequence[Any], noise: np.ndarray):
        self.preps, self.noise = preps, noise
        self._memo: dict[tuple[int, bytes], float] = {}

    def of(self, i: int, p_full: np.ndarray) -> float:
        """The ratio of spectrum ``i`` at the full parameter vector ``p_full`` (nan where
        its noise level is unknown)."""
        if not np.isfinite(self.noise[i]):
            return math.nan
        key = (i, p_full.tobytes())
        if key not in self._memo:
            self._compute([i], [p_full])
        return self._memo[key]

    def prime(self, rows: Sequence[int], p_best: np.ndarray) -> None:
        """Compute the ratios of ``rows`` at ``p_best[i]`` not known yet, in one evaluation."""
        todo = [i for i in rows if np.isfinite(self.noise[i]) and (i, p_best[i].tobytes()) not in self._memo]
        if todo:
            self._compute(todo, [p_best[i] for i in todo])

    def _compute(self, rows: Sequence[int], params: Sequence[np.ndarray]) -> None:
        problems = [self.preps[i].problem for i in rows]  # a runaway element overflows: no finite ratio
        z_fits = problems[0].circuit.impedance_at_each(np.array(params), [pr.frequency for pr in problems])
        for i, p_full, pr, zf in zip(rows, params, problems, z_fits):
            self._memo[(i, p_full.tobytes())] = lack_of_fit_ratio(pr.z, zf, pr.free.size, self.noise[i])


def _on_bounds(prep: Any, p_full: np.ndarray) -> bool:
    """A free parameter on a bound where no legitimate optimum lies: not an exponent at its
    upper bound (n = 1: an ideal capacitor), nor a series R or L at its lower bound (0: the
    data hold no such term)."""
    problem = prep.problem
    at_low, at_high = problem.free_on_bounds(p_full)
    at_high &= problem.transform.log_mask
    at_low &= ~series_mask(problem.circuit)[problem.free]
    return bool(np.any(at_low | at_high))


def _few_starts_do(prep: Any, p_full: np.ndarray, cost: float, ratio: float, other_sign: bool) -> bool:
    """Whether round 2 runs only ``LACK_OF_FIT_STARTS`` for a poor optimum (module
    docstring): a lack of fit below the flag's ratio is its only sign (``other_sign``
    False), or two plain arcs closer than ``OVERLAP_TAU_RATIO`` are, in a circuit of plain
    arcs only (nothing degenerate, no lack of fit above ``ESCALATE_LACK_OF_FIT``)."""
    if not other_sign:
        return not ratio > LACK_OF_FIT_RATIO
    return (_plain_arcs_only(prep.problem.circuit) and not _looks_degenerate(prep, p_full, cost)
            and not ratio > ESCALATE_LACK_OF_FIT)


@functools.lru_cache(maxsize=64)
def _plain_arcs_only(circ: Any) -> bool:
    """Whether every process of ``circ`` is a plain arc (R with C or CPE): no Randles
    branch, no finite diffusion, so that the transfer round's starts cover every two
    processes that overlap in time constant."""
    return len(processes(circ)) == len(circ.arcs)


def _looks_degenerate(prep: Any, p_full: np.ndarray, cost: float) -> bool:
    """A process of the optimum collapsed or ran away: a non-finite cost, a parameter on
    a bound (:func:`_on_bounds`) or a shape of :func:`_ambiguous_shape` other than
    processes close in time constant (a Randles diffusion hidden under its arc counts)."""
    return not np.isfinite(cost) or _on_bounds(prep, p_full) or _ambiguous_shape(prep, p_full, overlap=False)


def _ambiguous_shape(prep: Any, p_full: np.ndarray, overlap: bool = True) -> bool:
    """True for the shapes listed in the module docstring (low exponent, overlapping or
    out-of-range arcs, a K, Zarc, G, Gs or TLMQ judged as an arc, a Gs whose phi ran off
    (above ``GS_PHI_SATURATED``: a plain Gerischer), a diffusion out of range or not slower
    than the arcs before it, runaway resistance). Without ``overlap``,
    processes close in time constant do not count, but a Randles diffusion hidden under its
    own arc (:func:`_hidden_under_arc`) does: that is a collapse, not an overlap of two
    processes the data show."""
    circ = prep.problem.circuit
    values = dict(zip(circ.param_names, p_full))
    units = dict(zip(circ.param_names, circ.param_units))
    f = prep.problem.frequency
    z_max = float(np.max(np.abs(prep.problem.z)))
    tau_lo, tau_hi = 0.1 / (2 * np.pi * f.max()), 10.0 / (2 * np.pi * f.min())
    if not finite_at_dc(circ):
        # beside a blocking element an arc below f_min bends the capacitive line instead of
        # describing a process: a blocking pellet's 10.7 ohm interface arc at 50 Hz was fitted
        # as R2 = 28,266 ohm at 0.007 Hz, 8.9 s^2 above the optimum, with no other sign
        tau_hi = 1.0 / (2 * np.pi * f.min())
    taus = []
    for proc in processes(circ):  # plain and branch arcs, relaxations, finite diffusions, fast to slow
        if proc.is_diffusion:
            tau_d = values[f"{proc.element}_1"]
            if not (np.isfinite(tau_d) and tau_lo <= tau_d <= tau_hi):
                return True
            if overlap and any(tau_d < OVERLAP_TAU_RATIO * t for t in taus):
                return True
            if proc.in_branch and _hidden_under_arc(values, proc.branch_arc, proc.element):
                return True
            continue
        exponent, tau = _exponent_and_tau(values, proc)
        if exponent is not None and exponent < LOW_EXPONENT:
            return True
        if proc.element_kind == "Gs" and gs_phi_saturated(values[f"{proc.element}_2"]):
            return True  # collapsed into a plain Gerischer: its finite length lost
        if not (np.isfinite(tau) and tau_lo <= tau <= tau_hi):
            return True
        taus.append(tau)
    taus.sort()
    if overlap and any(b < OVERLAP_TAU_RATIO * a for a, b in zip(taus, taus[1:])):
        return True
    return any(units[n] == "ohm" and values[n] > RUNAWAY_R_FACTOR * z_max for n in circ.param_names)


def _exponent_and_tau(values: Mapping[str, float], proc: Any) -> tuple[float | None, float]:
    """The dispersion exponent (None: the process has none) and the time constant (s) of an
    arc or a relaxation element (K, Zarc, G, Gs, TLMQ) at ``values``."""
    if proc.arc is None:
        return element_exponent(values, proc), element_tau_s(values, proc)
    arc = proc.arc
    return (None if arc.exponent is None else float(values[arc.exponent])), arc_tau_s(values, arc)


def _hidden_under_arc(values: Mapping[str, float], arc: Any, diffusion: str) -> bool:
    """Whether the finite diffusion of a Randles branch p(CPE, R-W) is more than
    ``OVERLAP_TAU_RATIO`` faster than the branch's arc, whose time constant takes the
    branch's whole DC resistance R + W_0: the capacitance shunts the branch before the
    diffusion shows, which collapses into a resistance beside R. Such optima are local
    minima (Randles-Ws family, seed 33: the diffusion's tau at 1.5e-6 s under a 0.5 s arc,
    1.32x the optimum's chi-square; R at 0.002 ohm beside a 160 ohm W_0, 1.04x); the
    repair round puts the diffusion back."""
    branch_r = values[arc.resistor] + values[f"{diffusion}_0"]
    tau_arc = arc_tau_s({**values, arc.resistor: branch_r}, arc)
    return bool(np.isfinite(tau_arc) and values[f"{diffusion}_1"] * OVERLAP_TAU_RATIO < tau_arc)
