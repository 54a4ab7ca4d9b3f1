"""Batched Levenberg-Marquardt in internal (log/linear) coordinates.

Positive scale parameters (R, Q, C, L, tau...) are optimised as ``theta = ln(p)``
so that values spanning 1e-12..1e6 converge; exponents stay linear. Bounds are
enforced by projecting each step onto the box. The same routine runs K
independent problems at once (K starts of one spectrum, or K spectra of one
campaign): every linear-algebra step is vectorised over K.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

# fun(theta[K, M]) -> (r[K, R], J[K, R, M])
ResidualJacobian = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Transform:
    """Physical parameters p <-> internal coordinates theta (log for scale parameters)."""

    log_mask: np.ndarray  # bool (M,)
    lower: np.ndarray  # physical lower bounds (M,)
    upper: np.ndarray  # physical upper bounds (M,)

    @property
    def internal_lower(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.where(self.log_mask, np.log(np.maximum(self.lower, 0.0)), self.lower)

    @property
    def internal_upper(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.where(self.log_mask, np.log(np.maximum(self.upper, 1e-300)), self.upper)

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
    residuals: np.ndarray  # (K, R)
    jacobian: np.ndarray  # (K, R, M) in internal coordinates
    converged: np.ndarray  # (K,) bool
    n_iter: np.ndarray  # (K,) iterations used
    n_eval: int  # function evaluations (batched calls)


def levenberg_marquardt(
    fun: ResidualJacobian,
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
) -> LMOutcome:
    """Minimise ``sum(fun(theta)[0]**2)`` for K problems at once, inside a box.

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
    """
    theta = np.clip(np.array(theta0, dtype=float, ndmin=2), lower, upper)
    k, m = theta.shape
    if indexed:
        fun_all = fun

        def fun(th, idx=None):  # noqa: F811 - the un-indexed view the loop below uses
            return fun_all(th, np.arange(k) if idx is None else idx)
    else:
        fun_all = fun

        def fun(th, idx=None):  # noqa: F811
            return fun_all(th)
    lower = np.broadcast_to(lower, (k, m))
    upper = np.broadcast_to(upper, (k, m))
    with np.errstate(all="ignore"):
        r, jac = fun(theta)
        r = _finite(r)
    with np.errstate(all="ignore"):
        cost = np.sum(r * r, axis=1)
    lam = np.full(k, lam0)
    active = np.ones(k, dtype=bool)
    converged = np.zeros(k, dtype=bool)
    n_iter = np.zeros(k, dtype=int)
    n_eval = 1
    eye = np.eye(m)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        j = jac if idx.size == k else jac[idx]
        jt = j.transpose(0, 2, 1)
        a = jt @ j  # batched matmul: much faster than einsum for (K, R, M)
        g = (jt @ r[idx][:, :, None])[:, :, 0]
        diag = np.diagonal(a, axis1=1, axis2=2)
        diag = np.maximum(diag, 1e-12 * np.maximum(diag.max(axis=1, keepdims=True), 1e-300))
        system = a + lam[idx, None, None] * diag[:, :, None] * eye
        step = _solve(system, -g)
        trial = np.clip(theta[idx] + step, lower[idx], upper[idx])
        with np.errstate(all="ignore"):
            r_new, j_new = fun(trial, idx)
            r_new = _finite(r_new)
            cost_new = np.sum(r_new * r_new, axis=1)
        n_eval += 1
        ok = cost_new < cost[idx]
        acc = idx[ok]
        rel_drop = (cost[acc] - cost_new[ok]) / np.maximum(cost[acc], 1e-300)
        moved = np.abs(trial[ok] - theta[acc]).max(axis=1) if acc.size else np.zeros(0)
        theta[acc] = trial[ok]
        r[acc] = r_new[ok]
        jac[acc] = j_new[ok]
        cost[acc] = cost_new[ok]
        lam[acc] = np.maximum(lam[acc] * 0.2, 1e-12)
        rej = idx[~ok]
        lam[rej] *= 8.0
        n_iter[idx] += 1
        done = acc[(rel_drop < ftol) | (moved < xtol * (1.0 + np.abs(theta[acc]).max(axis=1)))]
        converged[done] = True
        active[done] = False
        stalled = rej[lam[rej] > 1e12]
        converged[stalled] = True  # no descent direction left: a (local) minimum
        active[stalled] = False
        if prune_factor is not None and n_iter.max() >= prune_after:
            active[active & (cost > prune_factor * _group_min(cost, groups))] = False
    return LMOutcome(theta, cost, r, jac, converged, n_iter, n_eval)


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
