"""Batched Levenberg-Marquardt in internal (log/linear) coordinates.

Positive scale parameters (R, Q, C, L, tau...) are optimised as ``theta = ln(p)``
so that values spanning 1e-12..1e6 converge; exponents stay linear. Bounds are
enforced by an active set (a coordinate on a bound that the descent direction pushes
outward is held there for the step) and by projecting each step onto the box. The same
routine runs K independent problems at once (K starts of one spectrum, or K spectra of
one campaign): every linear-algebra step is vectorised over K.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np

LAMBDA_DOWN = 0.2  # damping factor after an accepted step
LAMBDA_UP = 8.0  # after a rejected one

# fun(theta[K, M]) -> (r[K, R], J[K, R, M])
ResidualJacobian = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


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
        p = np.asarray(p, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.log_mask, np.log(np.maximum(p, 1e-300)), p)

    def to_physical(self, theta: np.ndarray) -> np.ndarray:
        return np.where(self.log_mask, np.exp(np.clip(theta, -700, 700)), theta)

    def dp_dtheta(self, p: np.ndarray) -> np.ndarray:
        return np.where(self.log_mask, p, 1.0)

    def clip_internal(self, theta: np.ndarray) -> np.ndarray:
        return np.clip(theta, self.internal_lower, self.internal_upper)


@dataclass
class LMOutcome:
    theta: np.ndarray  # (K, M) internal optimum
    cost: np.ndarray  # (K,) sum of squared residuals
    converged: np.ndarray  # (K,) bool
    n_iter: np.ndarray  # (K,) iterations used
    n_eval: int  # function evaluations (batched calls)


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
    r = _finite(r)
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
    """
    theta = np.clip(np.array(theta0, dtype=float, ndmin=2), lower, upper)
    k, m = theta.shape

    def evaluate(th, idx):
        with np.errstate(all="ignore"):
            c, a_, g_ = fun(th, idx) if indexed else fun(th)
            bad = ~np.isfinite(c + g_.sum(axis=1) + a_.sum(axis=(1, 2)))  # finite iff all terms are (short of overflow)
        if bad.any():  # a step into an overflow is rejected like any uphill step
            c = np.where(bad, np.inf, c)
            a_[bad] = np.eye(m)
            g_[bad] = 0.0
        return c, a_, g_

    lower = np.broadcast_to(lower, (k, m))
    upper = np.broadcast_to(upper, (k, m))
    cost, a, g = evaluate(theta, np.arange(k))
    lam = np.full(k, lam0)
    active = np.isfinite(cost)
    converged = np.zeros(k, dtype=bool)
    n_iter = np.zeros(k, dtype=int)
    n_eval = 1
    eye = np.eye(m)
    window_cost = cost.copy()  # the cost when the current window of accepted steps began
    window_steps = np.zeros(k, dtype=int)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        a_i = a if idx.size == k else a[idx]
        diag = np.diagonal(a_i, axis1=1, axis2=2)
        diag = np.maximum(diag, 1e-12 * np.maximum(diag.max(axis=1, keepdims=True), 1e-300))
        system = a_i + lam[idx, None, None] * diag[:, :, None] * eye
        rhs = -g[idx]
        theta_i, lo_i, hi_i = theta[idx], lower[idx], upper[idx]
        held = _held_on_bounds(theta_i, rhs, lo_i, hi_i)
        if held.any():  # active set: a coordinate the descent pushes out of the box stays put
            free = ~held
            system = system * (free[:, :, None] & free[:, None, :]) + held[:, :, None] * eye
            rhs = np.where(held, 0.0, rhs)
        step = _solve(system, rhs)
        trial = np.clip(theta_i + step, lo_i, hi_i)
        cost_new, a_new, g_new = evaluate(trial, idx)
        n_eval += 1
        ok = cost_new < cost[idx]
        acc = idx[ok]
        rel_drop = (cost[acc] - cost_new[ok]) / np.maximum(cost[acc], 1e-300)
        moved = np.abs(trial[ok] - theta_i[ok]).max(axis=1) if acc.size else np.zeros(0)
        theta[acc] = trial[ok]
        a[acc] = a_new[ok]
        g[acc] = g_new[ok]
        cost[acc] = cost_new[ok]
        lam[acc] = np.maximum(lam[acc] * LAMBDA_DOWN, 1e-12)
        rej = idx[~ok]
        lam[rej] *= LAMBDA_UP
        n_iter[idx] += 1
        done = acc[(rel_drop < ftol) | (moved < xtol * (1.0 + np.abs(theta[acc]).max(axis=1)))]
        converged[done] = True
        active[done] = False
        stalled = rej[lam[rej] > 1e12]
        converged[stalled] = True  # no descent direction left: a (local) minimum
        active[stalled] = False
        if stall is not None and acc.size:
            window_steps[acc] += 1
            full = acc[window_steps[acc] >= stall[0]]
            rtol = stall[1][full] if np.ndim(stall[1]) else stall[1]
            creeping = full[window_cost[full] - cost[full] < rtol * cost[full]]
            converged[creeping] = True
            active[creeping] = False
            window_cost[full], window_steps[full] = cost[full], 0
        factor = _prune_factor(n_iter[idx].max(), prune_factor, prune_after, late_prune)
        if factor is not None:
            active[active & (cost > factor * _group_min(cost, groups))] = False
    return LMOutcome(theta, cost, converged, n_iter, n_eval)


def _prune_factor(iteration: int, factor: float | None, after: int,
                  late: tuple[int, float] | None) -> float | None:
    """The pruning factor in force at ``iteration`` (the tighter of the two rules)."""
    if late is not None and iteration >= late[0]:
        return late[1] if factor is None else min(factor, late[1])
    return factor if factor is not None and iteration >= after else None


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


def _finite(r: np.ndarray) -> np.ndarray:
    """Replace non-finite residuals by a large value so the step is rejected."""
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


def covariance_from_jacobian(
    jac: np.ndarray, cost: float, n_residuals: int, rcond: float = 1e-12
) -> tuple[np.ndarray | None, bool]:
    """Parameter covariance ``s^2 (J^T J)^-1`` with ``s^2 = chisq / (N - M)`` (lmfit's convention).

    ``jac`` (R, M) must be the Jacobian of the weighted residuals with respect to the
    parameters in which the covariance is wanted. Returns (cov, singular).
    """
    m = jac.shape[1]
    if m == 0:
        return np.zeros((0, 0)), False
    dof = n_residuals - m
    if dof <= 0:
        return None, True
    # scale columns for conditioning
    norms = np.linalg.norm(jac, axis=0)
    if np.any(norms == 0) or not np.all(np.isfinite(norms)):
        return None, True
    js = jac / norms
    u, s, vt = np.linalg.svd(js, full_matrices=False)
    if s[-1] <= rcond * s[0]:
        return None, True
    with np.errstate(all="ignore"):
        inv = (vt.T / s**2) @ vt
        cov = inv / np.outer(norms, norms) * (cost / dof)
    if not np.all(np.isfinite(cov)):
        return None, True
    return cov, False
