"""Smoothness across checkpoints: a robust first-difference (Tikhonov) penalty.

The penalty adds rows ``sqrt(lambda * c_kj) * (theta_{k+1,j} - theta_{k,j}) / tau_j`` to
the residual vector, for every local free parameter j and consecutive checkpoints
k, k+1 (campaign order), with theta in the fit's internal space (ln p for scale
parameters, p for exponents and for series R and L: ``eisfit.fitting.problem.log_scaled``).

* ``tau_j`` = median over checkpoints of the *unscaled* standard error of theta_j
  (``sqrt((J_k^T J_k)^-1_jj)`` at the unsmoothed fit), so that one dimensionless
  lambda serves log-resistances and linear exponents alike: lambda = 1 weighs a
  step between neighbours like the data of one checkpoint weigh the parameter.
* ``c_kj`` are edge weights from iteratively reweighted least squares with a Cauchy
  (Lorentzian) loss on the differences, ``c = 1 / (1 + ((d - m_j)/delta_j)^2)`` with
  ``m_j`` the median step and ``delta_j = 3 * 1.4826 * MAD`` of the steps of the
  unsmoothed estimates: steps that depart from the typical step far beyond the
  checkpoint-to-checkpoint noise (a real jump) are left almost free, so smoothing
  does not blur them, while a steady trend is not mistaken for jumps. The weights
  start from the unsmoothed steps and are updated from the smoothed ones (IRLS).
  ``robust=False`` keeps ``c = 1`` (plain quadratic penalty).
* ``"auto"`` chooses one lambda per parameter (lambda_j) by generalised
  cross-validation (GCV) on the
  Gauss-Newton linearisation at the unsmoothed fit (shared parameters held):
  ``GCV(lambda) = N * RSS(lambda) / (N - q - edf(lambda))^2`` with
  ``RSS = chisq_0 + (theta - theta_0)^T U (theta - theta_0)``,
  ``edf = tr((U + P)^-1 U)`` (diagonal blocks of the block-tridiagonal inverse), over
  a log grid of lambda (1e-3 .. 1e4, two per decade) plus 0: first a common value,
  then one coordinate sweep over the parameters.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import blocktri
from .solver import penalty_hessian

__all__ = ["SmoothingPlan", "parameter_scales", "jump_scales", "edge_weights", "penalty_weights",
           "choose_lambda", "plan_for_lambda", "effective_dof"]

LAMBDA_GRID = np.logspace(-3, 4, 15)
JUMP_SIGMAS = 3.0
IRLS_STEPS = 3
_MIN_EDGES_FOR_ROBUST = 4


@dataclass(frozen=True)
class SmoothingPlan:
    """Penalty chosen for the nonlinear fit."""

    lam: np.ndarray  # lambda_j (p,), dimensionless
    rule: str
    scales: np.ndarray  # tau_j (p,)
    delta: tuple[np.ndarray, np.ndarray] | None  # (typical step, jump scale) per parameter, or None
    edge: np.ndarray  # c_kj (K-1, p)
    gcv: dict  # GCV scores (auto only)

    @property
    def weights(self) -> np.ndarray:
        """w_kj = lambda_j * c_kj / tau_j^2 for the solver (objective adds sum w d^2)."""
        return penalty_weights(self.lam, self.edge, self.scales)

    @property
    def active(self) -> bool:
        return bool(np.any(self.lam > 0))


def parameter_scales(U: np.ndarray) -> np.ndarray:
    """tau_j: median over blocks of sqrt(diag((U_k)^-1)) (unscaled standard errors)."""
    k, p, _ = U.shape
    ridge = 1e-12 * np.maximum(np.diagonal(U, axis1=1, axis2=2).max(axis=1), 1e-300)
    reg = U + ridge[:, None, None] * np.eye(p)[None]
    with np.errstate(all="ignore"):
        var = np.diagonal(np.linalg.pinv(reg), axis1=1, axis2=2)
    tau = np.sqrt(np.median(np.clip(var, 0, None), axis=0))
    return np.where(np.isfinite(tau) & (tau > 0), tau, 1.0)


def jump_scales(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(typical step, delta) per parameter from the steps of a (K, p): the median step and
    delta_j = 3 * robust standard deviation (1.4826 MAD) of the steps about it."""
    d = np.diff(a, axis=0)
    centre = np.median(d, axis=0)
    mad = np.median(np.abs(d - centre), axis=0)
    return centre, np.maximum(JUMP_SIGMAS * 1.4826 * mad, 1e-12)


def edge_weights(a: np.ndarray, delta: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Cauchy IRLS weights 1/(1 + ((d - typical)/delta)^2) of the steps d of a (K, p);
    ones if delta is None. A steady trend (every step alike) is not a jump."""
    d = np.diff(a, axis=0)
    if delta is None:
        return np.ones_like(d)
    centre, scale = delta
    return 1.0 / (1.0 + ((d - centre) / scale) ** 2)


def penalty_weights(lam: np.ndarray, edge: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """w_kj = lambda_j * c_kj / tau_j^2."""
    return np.asarray(lam)[None, :] * edge / scales**2


def _linear_smooth(U: np.ndarray, a0: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimiser of (a - a0)^T U (a - a0) + sum w d^2; returns (a, diag blocks, off)."""
    diag, off = penalty_hessian(U, w)
    rhs = np.einsum("kij,kj->ki", U, a0)[:, :, None]
    a = blocktri.solve(diag, off, rhs)[:, :, 0]
    return a, diag, off


def effective_dof(U: np.ndarray, w: np.ndarray | None) -> float:
    """edf = tr((U + P)^-1 U) of the local parameters (= K p without penalty)."""
    if w is None or U.shape[0] < 2:
        return float(U.shape[0] * U.shape[1])
    diag, off = penalty_hessian(U, w)
    g = blocktri.inverse_diagonal_blocks(diag, off)
    return float(np.einsum("kij,kji->", g, U))


def _robust_solution(U, a0, lam, scales, delta):
    edge = edge_weights(a0, delta)
    for _ in range(IRLS_STEPS):
        a, _, _ = _linear_smooth(U, a0, penalty_weights(lam, edge, scales))
        edge = edge_weights(a, delta)
    return a, edge


def _delta(a0: np.ndarray, robust: bool) -> tuple[np.ndarray, np.ndarray] | None:
    return jump_scales(a0) if (robust and a0.shape[0] - 1 >= _MIN_EDGES_FOR_ROBUST) else None


def plan_for_lambda(U: np.ndarray, a0: np.ndarray, lam: float, robust: bool) -> SmoothingPlan:
    """Scales and IRLS edge weights for one given lambda (all parameters), linearised at a0."""
    scales = parameter_scales(U)
    delta = _delta(a0, robust)
    lam_vec = np.full(a0.shape[1], float(lam))
    _, edge = _robust_solution(U, a0, lam_vec, scales, delta)
    return SmoothingPlan(lam=lam_vec, rule="fixed", scales=scales, delta=delta, edge=edge, gcv={})


def choose_lambda(U: np.ndarray, a0: np.ndarray, chisq0: float, n_residuals: int, n_shared: int,
                  robust: bool = True) -> SmoothingPlan:
    """GCV choice of one lambda per local parameter on the linearised problem.

    First the best common lambda over :data:`LAMBDA_GRID` (and 0), then one sweep of
    coordinate descent: each parameter's lambda is re-chosen on the grid with the
    others held (a parameter with a trend needs less smoothing than a constant one).
    """
    scales = parameter_scales(U)
    delta = _delta(a0, robust)
    k, p = a0.shape

    def score(lam_vec: np.ndarray) -> float:
        if not np.any(lam_vec):
            return _gcv(n_residuals, chisq0, n_shared + k * p)
        a, edge = _robust_solution(U, a0, lam_vec, scales, delta)
        da = a - a0
        rss = chisq0 + float(np.einsum("ki,kij,kj->", da, U, da))
        return _gcv(n_residuals, rss, n_shared + effective_dof(U, penalty_weights(lam_vec, edge, scales)))

    grid = np.r_[0.0, LAMBDA_GRID]
    common = {float(g): score(np.full(p, g)) for g in grid}
    best = np.full(p, min(common, key=common.get))
    best_score = common[best[0]]
    for j in range(p):
        for g in grid:
            if g == best[j]:
                continue
            trial = best.copy()
            trial[j] = g
            sc = score(trial)
            if sc < best_score:
                best, best_score = trial, sc
    _, edge = _robust_solution(U, a0, best, scales, delta)
    return SmoothingPlan(lam=best, rule="gcv", scales=scales, delta=delta, edge=edge,
                         gcv={"common": common, "best": best_score})


def _gcv(n: int, rss: float, dof_used: float) -> float:
    denom = n - dof_used
    return float(n * rss / denom**2) if denom > 0 else float("inf")
