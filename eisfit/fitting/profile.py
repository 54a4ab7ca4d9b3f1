"""Profile-likelihood uncertainty of arc resistances, where the covariance is not to be trusted.

The standard error from the covariance (the Wald error s^2 (J^T J)^-1) describes the
chi-square surface by its curvature at the optimum. When two arcs have nearly the
same time constant, or one arc collapses onto a bound (n -> 1, R -> 0), the surface is
far from quadratic: the data allow very different resistance splits between the arcs
at almost the same chi-square, while the curvature at the optimum is large. The Wald
error then understates the uncertainty by orders of magnitude.

The profile of a resistance R is chi2_p(R) = min over the other parameters of
chi2(R, ...). Its 1- and 3-sigma intervals are where chi2_p(R) - chi2_min <= s^2 and
<= 9 s^2 (s^2 = chisq / (2N - M), the same noise estimate as the covariance; Wilks,
Venzon-Moolgavkar). :func:`profile_many` walks that profile outwards from the
optimum in log R, refitting the other parameters at each step (from the previous point,
and from starts that hand the removed resistance to the arc nearest in time constant),
up to ``MAX_DECADES`` each side.

Used by :func:`eisfit.fit` (``profile="auto"``): where the Wald error is suspect
(see :func:`suspect_resistances`), the reported standard error becomes
:meth:`ProfileInterval.equivalent_stderr` when that is wider, and the intervals are kept
in ``FitResult.intervals``; where the 3-sigma interval is open upwards (:func:`open_above`)
the standard error becomes nan instead (flag ``profile-open``): the data give a lower bound only.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from dataclasses import dataclass
from typing import Any, Generator, Mapping, Sequence

import numpy as np

from ..analysis.derived import arc_tau_s, circuit_arcs
from ..model import Arc, finite_at_dc
from .guess import arc_values
from .optimise import LMRun, internal_coordinates
from .intervals import with_open_ends_empty
from .solver import BatchProblem, grid_key

MAX_DECADES = 3.0  # the walk stops this far from the optimum (an open end of the interval)
SUSPECT_TAU_RATIO = 10.0  # arcs closer than a decade in time constant: the Wald error is suspect
PROFILE_ITER = 30
PROFILE_FTOL = 1e-5  # relative cost change: ~1e-5 * dof in units of s^2, ample for the interval ends
LOWER_CHISQ_RTOL = 1e-6  # a profile point this much below the optimum means the optimum was missed


@dataclass(frozen=True)
class ProfileInterval:
    """1- and 3-sigma profile-likelihood intervals of one parameter (its own unit).

    An end that the walk did not cross (chi-square still below the level MAX_DECADES
    away from the optimum, or at the parameter's bound) is the end of the walk and is
    marked open.
    """

    lower_1sigma: float
    upper_1sigma: float
    lower_3sigma: float
    upper_3sigma: float
    open_lower: bool  # the 3-sigma level was not reached going down
    open_upper: bool
    open_lower_1sigma: bool = False  # not even the 1-sigma level was reached going down
    open_upper_1sigma: bool = False

    def equivalent_stderr(self, value: float) -> float:
        """The standard error a Gaussian would need to cover both intervals:
        max(1-sigma half-width, 3-sigma half-width / 3), the larger side each. A 1-sigma
        interval open downwards (the profile stays below the 1-sigma level ``MAX_DECADES``
        below the value, or down to its bound) reaches zero: the error is then at least the
        value (the walk's end, value/1000, had given 0.999 x value, which read as determined).
        An open lower end is bounded by zero, so the half-width below is at most the value
        whatever the walk's limit. An interval open upwards (:func:`open_above`) has no such
        width: its upper end is the walk's limit, 1000 x the value, and the number this gives
        (333 x the value) describes the walk, not the data; :func:`eisfit.fit` reports no
        standard error there (nan, flag ``profile-open``) and keeps the lower bounds."""
        lower_1sigma = 0.0 if self.open_lower_1sigma else self.lower_1sigma
        hw1 = max(value - lower_1sigma, self.upper_1sigma - value)
        hw3 = max(value - self.lower_3sigma, self.upper_3sigma - value)
        return max(hw1, hw3 / 3.0)

    def as_dict(self) -> dict[str, float | bool | None]:
        """The interval as ``FitResult.intervals`` holds it: the ends in the parameter's unit,
        an open end None (where the walk stopped is no bound the data give:
        :func:`~eisfit.fitting.intervals.with_open_ends_empty`), and the ``open_*`` flags."""
        return with_open_ends_empty(dataclasses.asdict(self))


@dataclass(frozen=True)
class ProfileOutcome:
    intervals: dict[str, ProfileInterval]
    better: np.ndarray | None  # a full parameter vector with lower chisq than the "optimum", if met


def suspect_resistances(circuit, values: Mapping[str, float], stderr: Mapping[str, float],
                        at_bound: Sequence[str], free_names: Sequence[str]) -> list[str]:
    """Arc resistances whose Wald error is not to be trusted.

    An arc is suspect when one of its parameters sits on a bound or has a standard
    error larger than its value, or when its time constant lies within a decade of
    another arc's; a suspect arc and its neighbours in time constant (with which it can
    trade resistance) have their resistances profiled.
    """
    arcs = _arcs_of(circuit)
    taus = [arc_tau_s(values, a) for a in arcs]
    order = sorted((k for k in range(len(arcs)) if math.isfinite(taus[k]) and taus[k] > 0), key=lambda k: taus[k])
    suspect: set[int] = set()
    for k, a in enumerate(arcs):
        for p in a.param_names:
            err = stderr.get(p, float("nan"))
            if p in at_bound or (math.isfinite(err) and err > abs(values[p])):
                suspect.add(k)
    for i, j in zip(order, order[1:]):
        if taus[j] / taus[i] < SUSPECT_TAU_RATIO:
            suspect.update((i, j))
    with_neighbours = set(suspect)
    for pos, k in enumerate(order):
        if k in suspect:
            with_neighbours.update(order[max(pos - 1, 0):pos + 2])
    return [arcs[k].resistor for k in sorted(with_neighbours) if arcs[k].resistor in free_names]


FINITE_DIFFUSION_KINDS = ("Wo", "Ws")  # Z0 g(sqrt(j w tau)): the semi-infinite Z0/sqrt(j w tau) as tau -> inf
DIFFUSION_EDGE_FACTOR = 3.0  # a diffusion time whose 1/(2 pi tau) lies below this x f_min is walked


@functools.lru_cache(maxsize=64)
def diffusion_times(circuit) -> tuple[str, ...]:
    """The time constants (s) of the finite-length diffusion elements of ``circuit``
    (``Wo1_1``, ``Ws2_1``): as tau grows beyond the data they turn into the semi-infinite
    Warburg, which fixes only Z0/sqrt(tau)."""
    return tuple(e.param_names[1] for e in circuit.elements if e.kind in FINITE_DIFFUSION_KINDS)


GS_NEAR_PLAIN_TANH = 0.8  # a Gs phi whose Wald 3-sigma upper end has tanh above this is profiled


def gs_lengths_near_plain(circuit, values: Mapping[str, float], stderr: Mapping[str, float]) -> list[str]:
    """The finite-length factors (:func:`gs_lengths`) whose Wald 3-sigma upper end phi + 3
    stderr has tanh above ``GS_NEAR_PLAIN_TANH`` (phi + 3 stderr > 1.1), or whose stderr is
    unknown: within reach of the plain Gerischer's regime, where the profile is walked.
    Well-determined short lengths (0.57 +- 0.029, 0.79 +- 0.030) are not."""
    out = []
    for name in gs_lengths(circuit):
        phi, error = values[name], stderr.get(name, math.nan)
        if math.isfinite(phi) and phi > 0 and not (math.isfinite(error) and
                                                  math.tanh(phi + 3.0 * error) <= GS_NEAR_PLAIN_TANH):
            out.append(name)
    return out


@functools.lru_cache(maxsize=64)
def gs_lengths(circuit) -> tuple[str, ...]:
    """The finite-length factors phi of the finite-length Gerischers of ``circuit``
    (``Gs1_2``): as phi grows the element turns into the plain Gerischer (tanh(phi u) -> 1),
    which fixes R_G and t_G but not phi, and the chi-square along phi is far from the
    quadratic the Wald error assumes. Those near it (:func:`gs_lengths_near_plain`) are
    profiled, and their stderr widened to the profile's where that is wider (``profile-stderr``; a 3-sigma interval open towards the
    plain Gerischer gives no stderr: ``profile-open``, phi reads undetermined with the lower
    bound the profile gives, while R_G and t_G keep their numbers): random R0-p(R1,CPE1)-Gs1 spectra
    with a true phi near 2.8 were fitted at phi 1.16 +- 0.10 and 1.40 +- 0.14 (z -16 and
    -10, no flag), a valley 2.1 and 7.9 s^2 below the plain Gerischer's."""
    return tuple(e.param_names[2] for e in circuit.elements if e.kind == "Gs")


def arcs_at_blocked_low_edge(circuit, values: Mapping[str, float], f_min_Hz: float) -> list[str]:
    """The arc resistances of a circuit not finite at DC (a blocking CPE, an open Warburg in
    series) whose apex frequency 1/(2 pi tau) lies below ``DIFFUSION_EDGE_FACTOR`` x the lowest
    fitted frequency ``f_min_Hz``: the capacitive line of the blocking element can take over
    the part of the arc below the data, so the chi-square surface along the arc's resistance
    is far from the quadratic the Wald error assumes (random blocking pellets with the
    interface arc near the low end: R2 4,821 +- 1,050 ohm for a true 8,035, its profile
    3,992-6,449 at 1 sigma and up to 8,332 at 3). Such resistances are profiled."""
    if finite_at_dc(circuit):
        return []
    out = []
    for a in _arcs_of(circuit):
        tau = arc_tau_s(values, a)
        if math.isfinite(tau) and tau > 0 and 1.0 / (2.0 * math.pi * tau) < DIFFUSION_EDGE_FACTOR * f_min_Hz:
            out.append(a.resistor)
    return out


def diffusion_times_near_low_edge(circuit, values: Mapping[str, float], f_min_Hz: float) -> list[str]:
    """The diffusion times (:func:`diffusion_times`) whose transition 1/(2 pi tau) lies below
    ``DIFFUSION_EDGE_FACTOR`` x the lowest fitted frequency ``f_min_Hz``: too little of the
    data below the transition may tell a finite length from an infinite one (Z0 = 200 ohm,
    tau = 10 s measured down to 1 Hz read Z0 = 61 +- 4.7 ohm, tau = 0.90 +- 0.16 s, the
    chi-square within 5.2 s^2 of it for every tau from 10 to 1,000 s)."""
    return [n for n in diffusion_times(circuit)
            if math.isfinite(values[n]) and values[n] > 0
            and 1.0 / (2.0 * math.pi * values[n]) < DIFFUSION_EDGE_FACTOR * f_min_Hz]


def open_above(interval: Mapping[str, float | bool]) -> bool:
    """Whether a profile interval (:meth:`ProfileInterval.as_dict`) is open upwards at 3
    sigma: the walk met no 9 s^2 rise ``MAX_DECADES`` above the value, or the parameter's
    bound. Its upper 3-sigma end is then None (where the walk stopped is not where the data
    put it): the data bound the parameter below only (``lower_3sigma``, and the 1-sigma
    interval)."""
    return bool(interval.get("open_upper"))


def open_towards_infinite_length(interval: Mapping[str, float | bool]) -> bool:
    """Whether a diffusion time's profile interval is open upwards at 3 sigma
    (:func:`open_above`): the semi-infinite limit fits the data within 3 sigma, so neither
    the time nor Z0 is determined, only Z0/sqrt(tau)."""
    return open_above(interval)


@dataclass(frozen=True)
class ProfileJob:
    """The profiles wanted for one fit: resistances ``names`` around the optimum ``p_opt``
    (full physical parameter vector, cost ``chisq``) of ``problem`` (the engine's prepared
    problem: circuit, data, free set, transform), with their Wald errors."""

    problem: object
    p_opt: np.ndarray
    chisq: float
    names: tuple[str, ...]
    wald_stderr: Mapping[str, float]


def profile_many(jobs: Sequence[ProfileJob]) -> list[ProfileOutcome]:
    """The profiles of many fits at once.

    Every walk (one resistance, one direction, one fit) is a generator that asks for one
    constrained fit at a time. The constrained fits of all walks of one batch run in one
    streaming batched Levenberg-Marquardt (:class:`~eisfit.fitting.optimise.LMRun`): as soon
    as a walk's fit has finished, its next fit joins the running batch, so a walk does not
    wait for the slowest fit of the others (:func:`_walk_grid`).
    """
    ended: dict[tuple[int, str, float], _Walk] = {}
    grids: dict[tuple, list[int]] = {}
    for j, job in enumerate(jobs):
        grids.setdefault(grid_key(job.problem), []).append(j)
    for members in grids.values():
        ended.update(_walk_grid(jobs, members))
    outcomes = []
    for j, job in enumerate(jobs):
        intervals: dict[str, ProfileInterval] = {}
        best_vec, best_cost = None, job.chisq * (1 - LOWER_CHISQ_RTOL)
        for name in job.names:
            down, up = ended[(j, name, -1.0)], ended[(j, name, 1.0)]
            for walk in (down, up):
                if walk.low_cost < best_cost:
                    best_vec, best_cost = walk.low_vec, walk.low_cost
            intervals[name] = ProfileInterval(down.end_1sigma, up.end_1sigma, down.end_3sigma, up.end_3sigma,
                                              down.open, up.open, down.open_1sigma, up.open_1sigma)
        outcomes.append(ProfileOutcome(intervals, best_vec))
    return outcomes


def _walk_grid(jobs: Sequence[ProfileJob], members: list[int]) -> dict[tuple[int, str, float], "_Walk"]:
    """Run the walks of the jobs ``members`` (one circuit, grid, weighting and free set) to
    their ends; returns each walk's :class:`_Walk` by (job, name, direction).

    Each constrained fit is a group of rows of one :class:`LMRun` (its starts, see
    :func:`_pinned_starts`): the held parameter is pinned by equal lower and upper bounds,
    so the fits of every walk, whichever parameter they hold, share the batch. A fit whose
    rows have all stopped is answered (its lowest-cost row), its rows leave the batch and
    the walk's next fit joins it. This is a continuation: a constrained fit can stall in a
    side valley, which makes that end of the interval too close (never below the Wald
    error, see :func:`eisfit.fit`).
    """
    batch = BatchProblem.of([_Row(jobs[j].problem) for j in members])
    run = LMRun(batch.normal_equations, jobs[members[0]].problem.free.size, max_iter=PROFILE_ITER,
                ftol=PROFILE_FTOL, xtol=1e-4, prune_factor=2.0, prune_after=4)
    walks: dict[tuple[int, str, float], Any] = {}
    asked: dict[int, tuple[tuple[int, str, float], int, float]] = {}  # fit id -> (walk, held index, value)
    ended: dict[tuple[int, str, float], _Walk] = {}
    fit_ids = itertools.count()

    def ask(requests: list[tuple[tuple[int, str, float], tuple]], defer: bool = False) -> None:
        fits = []
        for walk_key, (value, start) in requests:
            problem = jobs[members[walk_key[0]]].problem
            index = problem.circuit.param_names.index(walk_key[1])
            fit_id = next(fit_ids)
            asked[fit_id] = (walk_key, index, value)
            fits.append((fit_id, walk_key[0], problem, index, value, start))
        if fits:
            theta, lower, upper, groups, keys = _pinned_starts(fits)
            run.add(theta, lower, upper, groups=groups, keys=keys, defer=defer)

    first = []
    for row, j in enumerate(members):
        job = jobs[j]
        dof = 2 * job.problem.frequency.size - job.problem.free.size
        s2 = job.chisq / max(dof, 1)
        names = list(job.problem.circuit.param_names)
        for name in job.names:
            index = names.index(name)
            for direction in (-1.0, 1.0):
                walk = _walk(job.problem, job.p_opt, index, direction, job.chisq, s2,
                             job.wald_stderr.get(name, float("nan")))
                walks[(row, name, direction)] = walk
                first.append(((row, name, direction), next(walk)))
    ask(first)
    while True:
        finished = run.finished_groups()
        if finished.size:
            following = []
            for fit_id in finished.tolist():
                walk_key, index, value = asked.pop(fit_id)
                problem = jobs[members[walk_key[0]]].problem
                try:
                    following.append((walk_key, walks[walk_key].send(_answer(run, fit_id, problem, index, value))))
                except StopIteration as stop:
                    ended[walk_key] = stop.value
            run.drop(np.flatnonzero(np.isin(run.groups, finished)))
            ask(following, defer=True)
        elif not run.step():
            break
    return {(members[row], name, direction): walk for (row, name, direction), walk in ended.items()}


def _answer(run: LMRun, fit_id: int, problem, index: int, value: float) -> tuple[float, np.ndarray]:
    """(cost, full parameter vector) of a finished constrained fit: its lowest-cost row."""
    rows = np.flatnonzero(run.groups == fit_id)
    best = int(rows[int(np.argmin(run.cost[rows]))])
    p = problem.fixed_values.copy()
    p[problem.free] = problem.transform.to_physical(run.theta[best])
    p[index] = value
    return float(run.cost[best]), p


@dataclass
class _Walk:
    end_1sigma: float
    end_3sigma: float
    open: bool  # the 3-sigma level not crossed
    low_vec: np.ndarray | None
    low_cost: float
    open_1sigma: bool = False  # nor the 1-sigma level


LEVELS = (1.0, 9.0)  # delta chi2 / s^2 of the 1- and 3-sigma ends


def _walk(problem, p_opt, index, direction, chisq, s2, wald) -> Generator[tuple, tuple, _Walk]:
    """Walk the profile of parameter ``index`` from the optimum in one direction, in log
    steps that grow (:func:`_next_step`: to where the profile's last rise would cross the
    3-sigma level, 2-8x the last step), until that level is crossed or the walk's limit is
    reached. Steps that only doubled took up to 12 constrained fits along the plateau of an
    arc that vanishes (1,000 hard spectra: 2,991 fits, 1,103 batched iterations; now 2,424
    and 608, the intervals checked against independent constrained fits as before).

    A generator: it yields (held value, start vector) for each constrained fit it needs
    and receives (cost, parameter vector); it returns the :class:`_Walk`.
    Each level's crossing is interpolated linearly in sqrt(delta chi2) (exact for a
    quadratic profile) between the two points around it; the 3-sigma crossing is refined
    by one more constrained fit at the interpolated point (a secant step).
    """
    p_star = p_opt[index]
    t_star = math.log(p_star)
    # first step at the Wald 3-sigma point: a quadratic profile crosses both levels there in one step
    h = min(max(3.0 * wald / p_star if math.isfinite(wald) and wald > 0 else 0.1, 0.01), 0.5)
    h_max = MAX_DECADES * math.log(10.0)
    lo_t, hi_t = _internal_limits(problem, index)
    prev_dist, prev_root, previous = 0.0, 0.0, p_opt
    low = [math.inf, None]

    def root_of(cost: float, p: np.ndarray) -> float:
        if cost < low[0]:
            low[:] = [cost, p.copy()]
        return math.sqrt(max((cost - chisq) / s2, 0.0))

    ends: list[float] = []
    while True:
        last = h >= h_max
        t = min(max(t_star + direction * min(h, h_max), lo_t), hi_t)
        dist = abs(t - t_star)
        cost, current = yield math.exp(t_star + direction * dist), previous
        root = root_of(cost, current)
        for level in LEVELS[len(ends):]:
            target = math.sqrt(level)
            if root <= target:
                break
            d_end = _secant(prev_dist, prev_root, dist, root, target)
            if level == LEVELS[-1] and prev_root < target:
                cost_mid, p_mid = yield math.exp(t_star + direction * d_end), previous
                r_mid = root_of(cost_mid, p_mid)
                d_end = (_secant(d_end, r_mid, dist, root, target) if r_mid < target
                         else _secant(prev_dist, prev_root, d_end, r_mid, target))
            ends.append(math.exp(t_star + direction * d_end))
        if len(ends) == len(LEVELS):
            return _Walk(ends[0], ends[1], False, low[1], low[0])
        if last or t in (lo_t, hi_t) or dist == 0.0:
            open_1sigma = not ends
            ends += [math.exp(t)] * (len(LEVELS) - len(ends))
            return _Walk(ends[0], ends[1], True, low[1], low[0], open_1sigma)
        h = _next_step(h, prev_dist, prev_root, dist, root)
        prev_dist, prev_root, previous = dist, root, current


MAX_GROWTH = 8.0  # a walk's step grows at most this much per constrained fit


def _next_step(h: float, prev_dist: float, prev_root: float, dist: float, root: float) -> float:
    """The next distance of a walk below the 3-sigma level, at ``dist`` with
    sqrt(delta chi2 / s^2) = ``root`` (``prev_*``: the point before, the optimum at first):
    where the line through the two points reaches 10 % beyond that level (a quadratic
    profile grows linearly in root), at least twice and at most ``MAX_GROWTH`` times the
    last step; where the profile stopped rising (a plateau: the arc's resistance no longer
    matters), ``MAX_GROWTH`` times."""
    target = 1.1 * math.sqrt(LEVELS[-1])
    if not (math.isfinite(root) and math.isfinite(prev_root)):  # no line to follow: the old doubling
        return 2.0 * h
    if root <= prev_root or dist <= prev_dist:
        return h * MAX_GROWTH
    reach = dist + (target - root) * (dist - prev_dist) / (root - prev_root)
    return min(max(reach, 2.0 * h), MAX_GROWTH * h)


def _secant(d0: float, r0: float, d1: float, r1: float, target: float) -> float:
    """Where the line through (d0, r0) and (d1, r1) reaches ``target`` (clamped to [d0, d1])."""
    if r1 == r0:
        return d1
    return d0 + min(max((target - r0) / (r1 - r0), 0.0), 1.0) * (d1 - d0)


def _internal_limits(problem, index) -> tuple[float, float]:
    """The log-space range the profiled parameter may take (its fit bounds)."""
    j = int(np.flatnonzero(problem.free == index)[0])
    lo = problem.transform.internal_lower[j]
    hi = problem.transform.internal_upper[j]
    return float(lo), float(hi)


@dataclass(frozen=True)
class _Row:
    """The data of one spectrum, in the shape :class:`BatchProblem` reads."""

    problem: object


def _pinned_starts(fits: Sequence[tuple]) -> tuple[np.ndarray, ...]:
    """(theta (R, Mf), lower (R, Mf), upper (R, Mf), groups (R,), keys (R,)) in internal
    coordinates of the starts of constrained fits of one batch (one free set), each fit
    given as (group, key, problem, index of the held parameter, held value, start vector):
    its starts (:func:`_profile_starts`), the held parameter's lower and upper bounds both at
    the held value (:meth:`LMRun.add` clips the starts into them). The coordinates of all
    the fits' rows are made in one pass (elementwise: each row's values are those of its fit
    alone)."""
    starts: list[np.ndarray] = []
    lower: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    log_masks: list[np.ndarray] = []
    groups: list[int] = []
    keys: list[int] = []
    circuit, free = fits[0][2].circuit, fits[0][2].free
    names, arcs, pos = circuit.param_names, _arcs_of(circuit), _positions(circuit)
    times = diffusion_times(circuit)
    column = {int(i): j for j, i in enumerate(free.tolist())}
    for group, key, problem, index, value, start in fits:
        tr = problem.transform
        j = column[index]
        pinned = math.log(value) if tr.log_mask[j] else float(value)
        lo, hi = tr.internal_lower.copy(), tr.internal_upper.copy()
        lo[j] = hi[j] = pinned
        own = _profile_starts(start, index, value, names[index], arcs, pos, names[index] in times)
        starts += own
        lower += [lo] * len(own)
        upper += [hi] * len(own)
        log_masks += [tr.log_mask] * len(own)
        groups += [group] * len(own)
        keys += [key] * len(own)
    theta = internal_coordinates(np.array(log_masks), np.array(starts)[:, free])  # each row its own fit's mask
    return theta, np.array(lower), np.array(upper), np.array(groups), np.array(keys)


@functools.lru_cache(maxsize=64)
def _positions(circuit) -> dict[str, int]:
    return {n: i for i, n in enumerate(circuit.param_names)}


@functools.lru_cache(maxsize=64)
def _arcs_of(circuit) -> tuple[Arc, ...]:
    """The arcs whose resistances are profiled: every R || C/CPE pair, every Zarc and K
    (:func:`~eisfit.analysis.derived.circuit_arcs` without the branch arcs)."""
    return tuple(circuit_arcs(circuit, branches=False))


def arc_resistances(circuit) -> list[str]:
    """The resistance parameters of the arcs of ``circuit`` (R of R || C/CPE, Zarc/K ``_0``)."""
    return [a.resistor for a in _arcs_of(circuit)]


def _profile_starts(start, index, value, name, arcs, pos: Mapping[str, int],
                    diffusion: bool = False) -> list[np.ndarray]:
    """Full parameter vectors starting one constrained fit (parameter ``index``, named
    ``name``, held at ``value``): ``start`` with the held value (the arc's time constant
    kept); the same with the removed resistance handed to the arc nearest in time
    constant; for two CPE arcs, that part as a twin of the profiled arc (same time constant
    and exponent). Parameters that are not free (user-fixed) keep their values in every
    start. ``pos``: parameter name -> position. ``diffusion``: the held parameter is a
    diffusion time (:func:`diffusion_times`), whose Z0 is scaled to keep Z0/sqrt(tau)."""
    values = dict(zip(pos, start))
    own = next((a for a in arcs if a.resistor == name), None)
    warm = start.copy()
    warm[index] = value
    if own is not None:
        _keep_tau(warm, pos, own, values[name], value)
    if diffusion and values[name] > 0:  # Z0/sqrt(tau), what data above the transition fix, kept
        warm[pos[name[:-2] + "_0"]] *= math.sqrt(value / values[name])
    starts = [warm]
    if own is None:
        return starts
    taus = {a.resistor: arc_tau_s(values, a) for a in arcs}
    others = [a for a in arcs if a is not own and math.isfinite(taus[a.resistor]) and taus[a.resistor] > 0]
    if others and math.isfinite(taus[name]) and taus[name] > 0:
        nearest = min(others, key=lambda a: abs(math.log(taus[a.resistor]) - math.log(taus[name])))
        r_old = values[nearest.resistor]
        r_new = r_old + (values[name] - value)
        if r_new > 0:
            handed = warm.copy()
            handed[pos[nearest.resistor]] = r_new
            _keep_tau(handed, pos, nearest, r_old, r_new)
            starts.append(handed)
            if nearest.kind == own.kind and own.kind in ("CPE", "Zarc"):
                twin = handed.copy()  # the handed part as a twin of the profiled arc
                for p, v in _twin_values(nearest, own, r_new, taus[name], values).items():
                    twin[pos[p]] = v
                starts.append(twin)
    return starts


def _twin_values(arc: Arc, like: Arc, r: float, tau: float, values: Mapping[str, float]) -> dict[str, float]:
    """The parameters of ``arc`` (a CPE arc or a Zarc) with resistance ``r`` (ohm), time
    constant ``tau`` (s) and the exponent of ``like``, an arc of the same kind."""
    n = values[like.exponent]
    if arc.kind == "Zarc":
        return {arc.resistor: r, f"{arc.capacitive}_1": tau, arc.exponent: n}
    return arc_values(arc, r, tau, n)


def _keep_tau(p: np.ndarray, pos: Mapping[str, int], arc: Arc, r_old: float, r_new: float) -> None:
    """Scale the arc's capacitive parameter so that its time constant stays put when R changes
    (a Zarc's or K's time constant is a parameter of its own: nothing to scale)."""
    if arc.kind == "CPE":
        p[pos[f"{arc.capacitive}_0"]] *= r_old / r_new
    elif arc.capacitive in pos:
        p[pos[arc.capacitive]] *= r_old / r_new
