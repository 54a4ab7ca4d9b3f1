"""Batched Levenberg-Marquardt in internal (log/linear) coordinates.

Positive scale parameters (R, Q, C, L, tau...) are optimised as ``theta = ln(p)``
so that values spanning 1e-12..1e6 converge; exponents, and the series R and L in which
the model is linear, stay linear (:func:`eisfit.fitting.problem.log_scaled`). Bounds are
enforced by an active set (a coordinate on a bound that the descent direction pushes
outward is held there for the step) and by projecting each step onto the box. The same
routine runs K independent problems at once (K starts of one spectrum, or K spectra of
one campaign): every linear-algebra step is vectorised over K.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

LAMBDA_DOWN = 0.2  # damping factor after an accepted step
LAMBDA_UP = 8.0  # after a rejected one

# fun(theta[K, M]) -> (r[K, R], J[K, R, M])
ResidualJacobian = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


BOUND_TOL = 1e-6  # distance to a bound, in units of the coordinate's scale, at which a parameter is on it


@dataclass(frozen=True)
class Transform:
    """Physical parameters p <-> internal coordinates theta (log for scale parameters)."""

    log_mask: np.ndarray  # bool (M,)
    lower: np.ndarray  # physical lower bounds (M,)
    upper: np.ndarray  # physical upper bounds (M,)

    @functools.cached_property  # read on every start and clip; the bounds never change
    def internal_lower(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            bound = np.where(self.log_mask, np.log(np.maximum(self.lower, 0.0)), self.lower)
        bound.setflags(write=False)  # shared by every caller
        return bound

    @functools.cached_property
    def internal_upper(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            bound = np.where(self.log_mask, np.log(np.maximum(self.upper, 1e-300)), self.upper)
        bound.setflags(write=False)
        return bound

    def to_internal(self, p: np.ndarray) -> np.ndarray:
        return internal_coordinates(self.log_mask, p)

    def to_physical(self, theta: np.ndarray) -> np.ndarray:
        # np.clip's wrappers cost more than the two ufuncs it amounts to (it is hot)
        return np.where(self.log_mask, np.exp(np.minimum(np.maximum(theta, -700.0), 700.0)), theta)

    def dp_dtheta(self, p: np.ndarray) -> np.ndarray:
        return np.where(self.log_mask, p, 1.0)

    def clip_internal(self, theta: np.ndarray) -> np.ndarray:
        return np.clip(theta, self.internal_lower, self.internal_upper)

    def on_bounds(self, theta: np.ndarray, tol: float = BOUND_TOL) -> tuple[np.ndarray, np.ndarray]:
        """Which internal coordinates of ``theta`` sit on their lower and upper bounds,
        within ``tol`` times a scale: 1 for a log coordinate (a relative distance in physical
        units); the span for a linear one bounded on both sides (an exponent, an inductance
        bounded to [0, 1e-4] H: its nanohenries are not "near 0"); else max(1, |bound|),
        except that a linear coordinate bounded only below, by 0 (a series R or L), has no
        scale to be near 0 in: it is on that bound only at 0, where the optimiser puts it
        exactly."""
        low_edge, high_edge = self._bound_edges if tol == BOUND_TOL else self._edges(tol)
        return theta <= low_edge, theta >= high_edge

    @functools.cached_property  # read on every at-bound test; the bounds never change
    def _bound_edges(self) -> tuple[np.ndarray, np.ndarray]:
        return self._edges(BOUND_TOL)

    def _edges(self, tol: float) -> tuple[np.ndarray, np.ndarray]:
        """The internal values at and below (above) which a coordinate is on its lower
        (upper) bound; nan for an infinite bound, which is never reached (no comparison
        with nan is true)."""
        lo, hi = self.internal_lower, self.internal_upper
        low_scale, high_scale = self._bound_scales
        with np.errstate(invalid="ignore"):
            low = np.where(np.isfinite(lo), lo + tol * low_scale, np.nan)
            high = np.where(np.isfinite(hi), hi - tol * high_scale, np.nan)
        return low, high

    @functools.cached_property  # read on every at-bound test; the bounds never change
    def _bound_scales(self) -> tuple[np.ndarray, np.ndarray]:
        """The scales of :meth:`on_bounds` for the lower and the upper bounds."""
        lo, hi = self.internal_lower, self.internal_upper
        with np.errstate(invalid="ignore"):
            span = hi - lo
            bounded = np.isfinite(span)
            only_zero = np.where(lo == 0, 0.0, np.maximum(1.0, np.abs(lo)))  # bounded below by 0 only: exactly 0
            low = np.where(self.log_mask, 1.0, np.where(bounded, span, only_zero))
            high = np.where(self.log_mask, 1.0, np.where(bounded, span, np.maximum(1.0, np.abs(hi))))
        return low, high


def internal_coordinates(log_mask: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Internal coordinates of physical values ``p``: their logs where ``log_mask`` (one mask
    (M,) for every row, or one per row (K, M)), else the values themselves."""
    # the log of max(p, 1e-300) cannot warn (a nan stays nan), so no errstate: it is hot
    return np.where(log_mask, np.log(np.maximum(np.asarray(p, dtype=float), 1e-300)), p)


@dataclass
class LMOutcome:
    theta: np.ndarray  # (K, M) internal optimum
    cost: np.ndarray  # (K,) sum of squared residuals
    converged: np.ndarray  # (K,) bool
    n_iter: np.ndarray  # (K,) iterations used
    n_eval: int  # function evaluations (batched calls)
    start_cost: np.ndarray | None = None  # (K,) cost at each start (clipped into its box)


# fun(theta[K, M]) -> (cost[K], JtJ[K, M, M], Jtr[K, M]): the Gauss-Newton normal equations
NormalEquations = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def normal_equations_of(fun: ResidualJacobian) -> NormalEquations:
    """Adapt a residual/Jacobian function to the normal-equation form the optimiser uses."""

    def normal(theta, *idx):
        r, jac = fun(theta, *idx)
        return normal_from_residuals(r, jac)

    return normal


def normal_from_residuals(r: np.ndarray, jac: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cost, J^T J, J^T r) from stacked real residuals (K, R) and Jacobian (K, R, M)."""
    r = finite_residuals(r)
    jt = jac.transpose(0, 2, 1)
    return np.sum(r * r, axis=1), jt @ jac, (jt @ r[:, :, None])[:, :, 0]


def levenberg_marquardt(
    fun: NormalEquations,
    theta0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    max_iter: int = 200,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
    lam0: float = 1e-2,
    prune_factor: float | None = None,
    prune_after: int = 5,
    groups: np.ndarray | None = None,
    indexed: bool = False,
    stall: tuple[int, float | np.ndarray] | None = None,
    late_prune: tuple[int, float] | None = None,
) -> LMOutcome:
    """Minimise the cost of ``fun`` for K problems at once, inside a box.

    ``fun(theta)`` returns the cost (sum of squared weighted residuals), J^T J and J^T r
    of each problem (see :func:`normal_equations_of` to wrap a residual/Jacobian function).
    ``theta0`` has shape (K, M); ``lower``/``upper`` shape (M,) or (K, M) (may be +-inf).
    A step is accepted when it lowers the cost; the damping then shrinks, else grows.
    A problem stops when the relative cost decrease of an accepted step is below
    ``ftol`` and the step is below ``xtol`` (relative), or when the damping explodes.
    With ``prune_factor``, problems whose cost exceeds ``prune_factor`` times the best
    cost (after ``prune_after`` iterations) are dropped: used when the K problems are starts of one fit.
    ``groups`` (K,) ints: several fits at once (e.g. the starts of many spectra); pruning then
    compares each problem with the best of its own group, so each group follows exactly the
    path it would follow alone. ``indexed``: ``fun`` is called as ``fun(theta, idx)`` with the
    indices (into the K problems) of the rows of ``theta`` (for per-problem data).
    ``stall`` = (steps, rtol): a problem whose last ``steps`` accepted steps together lowered
    the cost by less than ``rtol`` (relative; a number or one per problem) stops as
    converged: it creeps along a flat valley where what is left is far below the noise
    (the solver uses rtol = 0.1 / dof: 0.1 in delta chi2 / s^2 over the window).
    ``late_prune`` = (after, factor): from iteration ``after`` on, problems above ``factor``
    times their group's best are dropped (starts still creeping towards a known optimum).
    The iterations are those of :class:`LMRun`, which also lets problems join and leave a
    running batch.
    """
    theta0 = np.array(theta0, dtype=float, ndmin=2)
    k = theta0.shape[0]
    run = LMRun(fun if indexed else (lambda th, _keys: fun(th)), theta0.shape[1], max_iter=max_iter, ftol=ftol,
                xtol=xtol, lam0=lam0, prune_factor=prune_factor, prune_after=prune_after,
                late_prune=late_prune, stall_steps=None if stall is None else stall[0])
    run.add(theta0, lower, upper, groups=np.zeros(k, dtype=int) if groups is None else groups,
            keys=np.arange(k), stall_rtol=None if stall is None else stall[1])
    while run.step():
        pass
    return LMOutcome(run.theta, run.cost, run.converged, run.n_iter, run.n_eval, run.start_cost)


class LMRun:
    """A batch of Levenberg-Marquardt problems advanced one iteration at a time, which
    problems may join (:meth:`add`) and leave (:meth:`drop`) while it runs.

    Each row is one problem with its own box, damping, iteration count and stopping
    state (the rules of :func:`levenberg_marquardt`; pruning compares a row with the best
    row of its group); a row's path does not depend on the other rows. ``fun(theta, keys)``
    gives the normal equations of rows whose keys (the ints given to :meth:`add`, e.g. the
    spectrum whose data a row fits) are ``keys``. Continuations such as profile walks,
    whose next fit waits on the previous one, join one running batch this way instead of
    each round of them waiting for the slowest fit of the round (a batched iteration costs
    about as much for 2 rows as for 60).
    """

    _ROW_ARRAYS = ("theta", "lower", "upper", "cost", "a", "g", "lam", "active", "fresh", "converged", "n_iter",
                   "limit", "window_cost", "window_steps", "groups", "keys", "stall_rtol", "start_cost")

    def __init__(self, fun: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]], m: int,
                 *, max_iter: int = 200, ftol: float = 1e-10, xtol: float = 1e-10, lam0: float = 1e-2,
                 prune_factor: float | None = None, prune_after: int = 5,
                 late_prune: tuple[int, float] | None = None, stall_steps: int | None = None):
        self.fun, self.m = fun, m
        self.max_iter, self.ftol, self.xtol, self.lam0 = max_iter, ftol, xtol, lam0
        self.prune_factor, self.prune_after, self.late_prune = prune_factor, prune_after, late_prune
        self.stall_steps = stall_steps
        self.n_eval = 0
        self._eye = np.eye(m)
        self.theta, self.lower, self.upper = (np.zeros((0, m)) for _ in range(3))
        self.cost, self.lam, self.window_cost, self.stall_rtol, self.start_cost = (np.zeros(0) for _ in range(5))
        self.a, self.g = np.zeros((0, m, m)), np.zeros((0, m))
        self.active, self.fresh, self.converged = (np.zeros(0, bool) for _ in range(3))
        self.n_iter, self.limit, self.window_steps, self.groups, self.keys = (np.zeros(0, int) for _ in range(5))
        self._stopped = np.zeros(0, int)  # rows that stopped in the last step (their groups may have finished)

    def add(self, theta0: np.ndarray, lower: np.ndarray, upper: np.ndarray, *, groups: np.ndarray,
            keys: np.ndarray, stall_rtol: float | np.ndarray | None = None, defer: bool = False,
            max_iter: int | None = None) -> None:
        """New rows: starts ``theta0`` (k, M) clipped into ``lower``/``upper`` ((M,) or
        (k, M)), their ``groups`` and ``keys`` (k,), the stall tolerance (one or per row),
        their iteration limit (the run's ``max_iter`` unless given).
        Their starting normal equations are evaluated now, or with ``defer`` in the next
        :meth:`step`'s evaluation (one batched call instead of two; their first iteration
        is then the step after)."""
        theta0 = np.array(theta0, dtype=float, ndmin=2)
        k = theta0.shape[0]
        lower = np.broadcast_to(lower, (k, self.m))
        upper = np.broadcast_to(upper, (k, self.m))
        rows = dict(theta=np.clip(theta0, lower, upper), lower=lower, upper=upper, cost=np.full(k, np.inf),
                    a=np.zeros((k, self.m, self.m)), g=np.zeros((k, self.m)), lam=np.full(k, self.lam0),
                    active=np.zeros(k, bool), fresh=np.ones(k, bool), converged=np.zeros(k, bool),
                    n_iter=np.zeros(k, int), limit=np.full(k, self.max_iter if max_iter is None else max_iter),
                    window_cost=np.full(k, np.inf), window_steps=np.zeros(k, int),
                    groups=np.asarray(groups, dtype=int), keys=np.asarray(keys, dtype=int),
                    stall_rtol=np.array(np.broadcast_to(np.nan if stall_rtol is None else stall_rtol, (k,)), float),
                    start_cost=np.full(k, np.inf))
        start = self.theta.shape[0]
        for name in self._ROW_ARRAYS:
            setattr(self, name, rows[name] if start == 0 else np.concatenate([getattr(self, name), rows[name]]))
        if not defer:
            new = np.arange(start, start + k)
            self._take_fresh(new, *self._evaluate(self.theta[new], self.keys[new]))

    def drop(self, rows: np.ndarray) -> None:
        """Remove rows (indices, e.g. of groups whose result was taken)."""
        keep = np.ones(self.theta.shape[0], bool)
        keep[rows] = False
        for name in self._ROW_ARRAYS:
            setattr(self, name, getattr(self, name)[keep])
        self._stopped = np.zeros(0, int)

    def finished_groups(self) -> np.ndarray:
        """Groups whose last running rows stopped in the last step or :meth:`add`."""
        if self._stopped.size == 0:
            return self._stopped
        candidates = np.unique(self.groups[self._stopped])
        running = np.bincount(self.groups[self.active | self.fresh], minlength=int(candidates[-1]) + 1)
        return candidates[running[candidates] == 0]

    def _evaluate(self, th: np.ndarray, keys: np.ndarray):
        self.n_eval += 1
        with np.errstate(all="ignore"):
            c, a_, g_ = self.fun(th, keys)
            if np.isfinite(c.sum() + g_.sum() + a_.sum()):  # every term finite (the rows need no look)
                return c, a_, g_
            bad = ~np.isfinite(c + g_.sum(axis=1) + a_.sum(axis=(1, 2)))  # finite iff all terms are (short of overflow)
        if bad.any():  # a step into an overflow is rejected like any uphill step
            c = np.where(bad, np.inf, c)
            a_[bad] = self._eye
            g_[bad] = 0.0
        return c, a_, g_

    def _take_fresh(self, rows: np.ndarray, cost: np.ndarray, a: np.ndarray, g: np.ndarray) -> None:
        """Store the starting normal equations of new rows; those with a finite cost run."""
        self.cost[rows], self.a[rows], self.g[rows], self.window_cost[rows] = cost, a, g, cost
        self.start_cost[rows] = cost
        self.fresh[rows] = False
        finite = np.isfinite(cost)
        self.active[rows] = finite
        self._stopped = np.concatenate([self._stopped, rows[~finite]])

    def step(self) -> bool:
        """One iteration of every active row (and the first evaluation of deferred new
        rows); False when there was nothing to do."""
        active, cost, lam, theta = self.active, self.cost, self.lam, self.theta
        idx = np.flatnonzero(active)
        fresh = np.flatnonzero(self.fresh)
        self._stopped = np.zeros(0, int)
        if idx.size == 0 and fresh.size == 0:
            return False
        k = theta.shape[0]
        # J^T J + lam diag(J^T J): the damping added on the diagonal only, in a copy (the rows' own
        # when only some run: indexing copies them)
        system = self.a.copy() if idx.size == k else self.a[idx]
        diag = np.diagonal(system, axis1=1, axis2=2)
        diag = np.maximum(diag, 1e-12 * np.maximum(diag.max(axis=1, keepdims=True, initial=0.0), 1e-300))
        system.reshape(-1, self.m * self.m)[:, ::self.m + 1] += lam[idx, None] * diag  # a view of the diagonals
        rhs = -self.g[idx]
        theta_i, lo_i, hi_i = theta[idx], self.lower[idx], self.upper[idx]
        held = _held_on_bounds(theta_i, rhs, lo_i, hi_i)
        holding = np.flatnonzero(held.any(axis=1))
        if holding.size:  # active set: a coordinate the descent pushes out of the box stays put
            h = held[holding]
            free = ~h
            system[holding] = system[holding] * (free[:, :, None] & free[:, None, :]) + h[:, :, None] * self._eye
            rhs[holding] = np.where(h, 0.0, rhs[holding])
        # np.clip's wrappers cost more than the two ufuncs it amounts to
        trial = np.minimum(np.maximum(theta_i + _solve(system, rhs), lo_i), hi_i) if idx.size else theta_i
        if fresh.size:
            cost_all, a_all, g_all = self._evaluate(np.concatenate([trial, theta[fresh]]),
                                                    np.concatenate([self.keys[idx], self.keys[fresh]]))
            n = idx.size
            self._take_fresh(fresh, cost_all[n:], a_all[n:], g_all[n:])
            cost_new, a_new, g_new = cost_all[:n], a_all[:n], g_all[:n]
        else:
            cost_new, a_new, g_new = self._evaluate(trial, self.keys[idx])
        ok = cost_new < cost[idx]
        every = bool(ok.all())  # all steps accepted (most iterations): the arrays as they are, not gathered
        acc = idx if every else idx[ok]
        trial_ok, cost_ok = (trial, cost_new) if every else (trial[ok], cost_new[ok])
        rel_drop = (cost[acc] - cost_ok) / np.maximum(cost[acc], 1e-300)
        moved = np.abs(trial_ok - (theta_i if every else theta_i[ok])).max(axis=1) if acc.size else np.zeros(0)
        theta[acc] = trial_ok
        self.a[acc] = a_new if every else a_new[ok]
        self.g[acc] = g_new if every else g_new[ok]
        cost[acc] = cost_ok
        lam[acc] = np.maximum(lam[acc] * LAMBDA_DOWN, 1e-12)
        rej = idx[~ok]
        lam[rej] *= LAMBDA_UP
        self.n_iter[idx] += 1
        done = acc[(rel_drop < self.ftol) | (moved < self.xtol * (1.0 + np.abs(theta[acc]).max(axis=1)))]
        self.converged[done] = True
        active[done] = False
        stalled = rej[lam[rej] > 1e12]
        self.converged[stalled] = True  # no descent direction left: a (local) minimum
        active[stalled] = False
        if self.stall_steps is not None and acc.size:
            self.window_steps[acc] += 1
            full = acc[self.window_steps[acc] >= self.stall_steps]
            creeping = full[self.window_cost[full] - cost[full] < self.stall_rtol[full] * cost[full]]
            self.converged[creeping] = True
            active[creeping] = False
            self.window_cost[full], self.window_steps[full] = cost[full], 0
        if idx.size:
            self._prune(idx)
            active[idx[self.n_iter[idx] >= self.limit[idx]]] = False
        self._stopped = np.concatenate([self._stopped, idx[~active[idx]]])
        return True

    def _prune(self, idx: np.ndarray) -> None:
        """Stop the rows of ``idx`` above the pruning factor in force at their iteration
        times the best cost of their group."""
        it = self.n_iter[idx]
        first = min(self.prune_after if self.prune_factor is not None else math.inf,
                    self.late_prune[0] if self.late_prune is not None else math.inf)
        if it.max() < first:  # no rule in force yet (most iterations of a polish)
            return
        factor = np.full(idx.size, np.inf)
        if self.prune_factor is not None:
            factor[it >= self.prune_after] = self.prune_factor
        if self.late_prune is not None:
            late = it >= self.late_prune[0]
            factor[late] = np.minimum(factor[late], self.late_prune[1])
        if not np.isfinite(factor).any():
            return
        best = _group_min(self.cost, self.groups)[idx]
        with np.errstate(invalid="ignore"):
            worse = self.cost[idx] > factor * best
        self.active[idx[worse & self.active[idx]]] = False


def _held_on_bounds(theta: np.ndarray, descent: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Coordinates on a bound whose descent direction points out of the box. Solving for
    the others alone keeps the Gauss-Newton model exact; projecting a full step onto the
    box instead crawls along the bound (an exponent at n = 1, a resistance at its floor)."""
    return ((theta <= lower) & (descent < 0)) | ((theta >= upper) & (descent > 0))


def _group_min(cost: np.ndarray, groups: np.ndarray | None) -> np.ndarray | float:
    """The lowest cost of each problem's group (of all problems when ``groups`` is None)."""
    if groups is None:
        return cost.min()
    best = np.full(int(groups.max()) + 1, np.inf)
    np.minimum.at(best, groups, cost)
    return best[groups]


def finite_residuals(r: np.ndarray) -> np.ndarray:
    """Replace non-finite residuals by a large value so the step is rejected (a model that
    overflows at a trial point: a least-squares solver then backs off instead of failing)."""
    if np.all(np.isfinite(r)):
        return r
    return np.where(np.isfinite(r), r, 1e150)


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(a, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.empty_like(b)
        for i in range(a.shape[0]):
            out[i] = np.linalg.lstsq(a[i], b[i], rcond=None)[0]
        return out


NULL_WEIGHT_TOL = 1e-4  # a parameter with this share of a null direction of J is not determined


def covariance_from_jacobian(
    jac: np.ndarray, cost: float, n_residuals: int, rcond: float = 1e-12
) -> tuple[np.ndarray | None, bool]:
    """Parameter covariance ``s^2 (J^T J)^-1`` with ``s^2 = chisq / (N - M)`` (lmfit's convention)
    of one fit: :func:`covariances_from_jacobians` of a stack of one; None when no
    parameter's variance is finite."""
    cov, singular = covariances_from_jacobians(jac[None], np.array([cost], float), n_residuals, rcond)
    if not np.isfinite(np.diagonal(cov[0])).any():
        return None, True
    return cov[0], bool(singular[0])


def covariances_from_jacobians(jac: np.ndarray, cost: np.ndarray, n_residuals: int | np.ndarray,
                               rcond: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Covariances ``s^2 (J^T J)^-1`` (``s^2 = chisq / (N - M)``, lmfit's convention) of a
    stack of fits: ``jac`` (S, R, M) the Jacobians of the weighted residuals with respect to
    the parameters in which the covariance is wanted, ``cost`` (S,) their chi-squares,
    ``n_residuals`` one count for all or each fit's (S,) (rows beyond it are 0: padding).
    Returns (cov (S, M, M), singular (S,)).

    Where J^T J is singular (a singular value below ``rcond`` times the largest: an element
    the data do not inform, two that trade exactly), the parameters with a share above
    ``NULL_WEIGHT_TOL`` in those null directions have no variance (NaN rows and columns);
    the others keep theirs, from the pseudo-inverse: their values are estimable (orthogonal
    to every null direction), and their variance is the one the data give them (a runaway
    Warburg time constant no longer takes R0's error with it)."""
    s_count, _, m = jac.shape
    if m == 0:
        return np.zeros((s_count, 0, 0)), np.zeros(s_count, bool)
    dof = np.broadcast_to(np.asarray(n_residuals) - m, (s_count,))
    if np.all(dof <= 0):
        return np.full((s_count, m, m), np.nan), np.ones(s_count, bool)
    norms = np.linalg.norm(jac, axis=1)  # columns scaled to unit norm for conditioning
    dead = (norms == 0) | ~np.isfinite(norms)  # parameters the residuals do not depend on
    safe_norms = np.where(dead, 1.0, norms)
    js = np.where(dead[:, None, :], 0.0, jac / safe_norms[:, None, :])
    js = np.where(np.isfinite(js), js, 0.0)
    _, sv, vt = np.linalg.svd(js, full_matrices=False)
    kept = sv > rcond * sv[:, :1]
    singular = ~kept.all(axis=1) | (dof <= 0)
    null_weight = np.einsum("ki,kim->km", ~kept, vt**2)  # each parameter's share of the null directions
    with np.errstate(all="ignore"):
        inverse_sv2 = np.where(kept, 1.0 / np.where(kept, sv, 1.0) ** 2, 0.0)
        inv = np.einsum("kim,ki,kin->kmn", vt, inverse_sv2, vt)
        cov = inv / (safe_norms[:, :, None] * safe_norms[:, None, :]) * (cost / np.maximum(dof, 1))[:, None, None]
    undetermined = (null_weight > NULL_WEIGHT_TOL) | dead | (dof <= 0)[:, None]
    cov = np.where(undetermined[:, :, None] | undetermined[:, None, :], np.nan, cov)
    return cov, singular | ~np.isfinite(np.diagonal(cov, axis1=1, axis2=2)).all(axis=1)
