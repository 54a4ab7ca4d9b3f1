"""Smoothness across checkpoints: a robust second-difference (Whittaker) penalty.

The penalty adds rows ``sqrt(lambda_j * c_kj) * D2_kj / tau_j`` to the residual vector, for
every local free parameter j and every interior checkpoint k (campaign order), with

    D2_kj = 2 / (h_k + h_{k+1}) * ((theta_{k+1,j} - theta_{k,j}) / h_{k+1}
                                   - (theta_{k,j} - theta_{k-1,j}) / h_k)

the second divided difference of theta on the checkpoints' positions s_k (h_k = s_k -
s_{k-1}), theta in the fit's internal space (ln p for scale parameters, p for exponents and
for series R and L: ``eisfit.fitting.problem.log_scaled``). The positions are the
checkpoints' times when the caller knows them (``joint_fit(positions=...)``, a campaign's
``time_h``), rescaled to a mean spacing of 1; otherwise the index (s_k = k, every h = 1:
``D2 = theta_{k+1} - 2 theta_k + theta_{k-1}``). So lambda means the same with or without
times, and any trend linear in the positions costs nothing: a first-difference penalty
pulled every value towards its neighbours, and the first and last checkpoints, with one
neighbour, by an amount proportional to the slope (an exponential decay of R2 over 150
checkpoints read its first value 2-4 standard errors low); a second difference pulls only
by the curvature, at the ends as in the interior. What remains is that curvature bias: one
lambda per parameter (chosen for the whole campaign) smooths a fast initial decay as much as
its plateau, so the first value of R2 = 45 + 104 exp(-t/300 h) over 150 checkpoints still
reads about 2 standard errors low on average (was 3; 0.2 ohm instead of 0.4).

* ``tau_j`` = median over checkpoints of the *unscaled* standard error of theta_j
  (``sqrt((J_k^T J_k)^-1_jj)`` at the unsmoothed fit), so that one dimensionless
  lambda serves log-resistances and linear exponents alike: lambda = 1 weighs a
  second difference like the data of one checkpoint weigh the parameter.
* ``c_kj`` are edge weights from iteratively reweighted least squares with a Cauchy
  (Lorentzian) loss on the standardised second differences ``x = D2 / sd(D2)`` (sd from the
  checkpoints' own unscaled variances, :class:`DifferenceRows`, so a noisier stretch of
  the campaign is not read as jumps), ``c = 1 / (1 + ((x - m_j)/delta_j)^2)`` with ``m_j``
  the median of x at the unsmoothed estimates and ``delta_j = 3 * 1.4826 * MAD / sqrt(3)``:
  a step J between neighbours gives x = +-J/(sqrt(6) sigma) in the two rows around it while
  a step's own noise is sqrt(2) sigma, so delta is 3 standard deviations of a step, as the
  first-difference penalty's was. A real jump between checkpoints k and k+1 makes the two
  rows centred on k and k+1 (and only those) large: when both fall below
  ``JUMP_EDGE_WEIGHT`` they are set to 0 (:func:`free_jumps`), which decouples the two sides
  completely, so smoothing does not blur the jump (a residual coupling would let a strong
  penalty spread the step, since curvature diffuses where a step does not). A steady trend
  is not mistaken for jumps. The weights start from the unsmoothed estimates and are
  updated from the smoothed ones (IRLS). ``robust=False`` keeps ``c = 1`` (plain quadratic
  penalty).
* ``"auto"`` chooses one lambda per parameter (lambda_j) by generalised
  cross-validation (GCV) on the
  Gauss-Newton linearisation at the unsmoothed fit (shared parameters held):
  ``GCV(lambda) = N * RSS(lambda) / (N - q - edf(lambda))^2`` with
  ``RSS = chisq_0 + (theta - theta_0)^T U (theta - theta_0)``,
  ``edf = tr((U + P)^-1 U)`` (diagonal blocks of the block-pentadiagonal inverse,
  :mod:`eisfit.series.blocktri`), over a log grid of lambda (1e-3 .. 1e7, two per decade)
  plus 0: first a common value, then one coordinate sweep over the parameters.

The normal matrix of the local parameters is block-pentadiagonal (p x p blocks, the
couplings diagonal): solved by LAPACK's banded Cholesky (bandwidth 2p), never as a dense
K p x K p matrix.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import blocktri
from .solver import DifferencePenalty, penalty_hessian

__all__ = ["SmoothingPlan", "DifferenceRows", "difference_stencil", "parameter_variances", "parameter_scales",
           "jump_scales", "edge_weights", "penalty_weights", "jump_locations", "free_jumps", "robust_edges",
           "choose_lambda", "plan_for_lambda", "effective_dof"]

LAMBDA_GRID = np.logspace(-3, 7, 21)
EDF_RIDGE = 1e-10  # relative ridge of effective_dof where the penalised normal matrix is singular
JUMP_SIGMAS = 3.0
# A step J between two checkpoints gives standardised second differences +-J/sqrt(6) in the two
# rows around it, while a step's own noise is sqrt(2) sd(x): delta = JUMP_SIGMAS sd(x) / sqrt(3)
# weighs a step against the step-to-step noise as a first-difference penalty did.
_STEP_PER_ROW = np.sqrt(3.0)
IRLS_STEPS = 3
JUMP_EDGE_WEIGHT = 0.2  # edge weights below this (x > 2 delta off the typical one) on both rows of a step: a jump
_MIN_ROWS_FOR_ROBUST = 4


@dataclass(frozen=True)
class SmoothingPlan:
    """Penalty chosen for the nonlinear fit."""

    lam: np.ndarray  # lambda_j (p,), dimensionless
    rule: str
    scales: np.ndarray  # tau_j (p,)
    delta: tuple[np.ndarray, np.ndarray] | None  # (typical difference, jump scale) per parameter, or None
    edge: np.ndarray  # c_kj (K-2, p): row k is centred on checkpoint k+1
    gcv: dict  # GCV scores (auto only)
    rows: DifferenceRows  # second-divided-difference coefficients and noise
    spacing: str = "index"  # "index" or "positions"

    @property
    def stencil(self) -> np.ndarray:
        return self.rows.stencil

    @property
    def weights(self) -> np.ndarray:
        """w_kj = lambda_j * c_kj / tau_j^2 for the solver (objective adds sum w D2^2)."""
        return penalty_weights(self.lam, self.edge, self.scales)

    @property
    def penalty(self) -> DifferencePenalty:
        """The penalty for :func:`eisfit.series.solver.block_lm`."""
        return DifferencePenalty(self.stencil, self.weights)

    @property
    def active(self) -> bool:
        return bool(np.any(self.lam > 0))


def difference_stencil(k: int, positions: Sequence[float] | None = None) -> np.ndarray:
    """(K-2, 3) coefficients of the second divided differences of K checkpoints: row k acts
    on checkpoints k, k+1, k+2. ``positions`` (strictly increasing, any unit, e.g. hours)
    are rescaled to a mean spacing of 1; None = equally spaced, rows (1, -2, 1)."""
    if positions is None:
        return np.tile([1.0, -2.0, 1.0], (max(k - 2, 0), 1))
    s = np.asarray(positions, float)
    h = np.diff(s)
    h = h / h.mean()
    left, right = h[:-1], h[1:]
    scale = 2.0 / (left + right)
    return np.stack([scale / left, -scale * (1.0 / left + 1.0 / right), scale / right], axis=1)


def parameter_variances(U: np.ndarray) -> np.ndarray:
    """(K, p) diag((U_k)^-1): each checkpoint's unscaled variances of theta (nan-free, >= 0)."""
    k, p, _ = U.shape
    ridge = 1e-12 * np.maximum(np.diagonal(U, axis1=1, axis2=2).max(axis=1), 1e-300)
    reg = U + ridge[:, None, None] * np.eye(p)[None]
    with np.errstate(all="ignore"):
        var = np.diagonal(np.linalg.pinv(reg), axis1=1, axis2=2)
    return np.where(np.isfinite(var), np.clip(var, 0, None), 0.0)


def parameter_scales(U: np.ndarray) -> np.ndarray:
    """tau_j: median over blocks of sqrt(diag((U_k)^-1)) (unscaled standard errors)."""
    tau = np.sqrt(np.median(parameter_variances(U), axis=0))
    return np.where(np.isfinite(tau) & (tau > 0), tau, 1.0)


@dataclass(frozen=True)
class DifferenceRows:
    """The second-difference rows of a campaign: coefficients and the noise of each row."""

    stencil: np.ndarray  # (K-2, 3), see difference_stencil
    noise: np.ndarray  # (K-2, p) unscaled standard deviation of each row's D2 at the unsmoothed fit

    @classmethod
    def of(cls, U: np.ndarray, positions: Sequence[float] | None = None) -> "DifferenceRows":
        """Rows for the data Hessian blocks U (K, p, p): each row's noise from the
        checkpoints' own variances, sqrt(sum_i stencil_i^2 var_{k+i}), so that a noisier
        stretch of the campaign (a small, poorly resolved arc) is not read as jumps."""
        stencil = difference_stencil(U.shape[0], positions)
        var = parameter_variances(U)
        n = stencil.shape[0]
        noise = np.sqrt(sum(stencil[:, i, None] ** 2 * var[i:i + n] for i in range(3)))
        floor = 1e-12 * np.maximum(np.median(noise, axis=0), 1e-300)
        return cls(stencil, np.maximum(noise, floor))

    def standardised(self, a: np.ndarray) -> np.ndarray:
        """x = D2 / noise (K-2, p) of a (K, p)."""
        d = DifferencePenalty(self.stencil, np.zeros_like(self.noise)).differences(a)
        return d / self.noise


def jump_scales(a: np.ndarray, rows: DifferenceRows) -> tuple[np.ndarray, np.ndarray]:
    """(typical difference, delta) per parameter from the standardised second differences
    x of a (K, p): their median and delta_j = 3 / sqrt(3) * robust standard deviation
    (1.4826 MAD) of x about it (3 standard deviations of a step between neighbours)."""
    d = rows.standardised(a)
    centre = np.median(d, axis=0)
    mad = np.median(np.abs(d - centre), axis=0)
    return centre, np.maximum(JUMP_SIGMAS * 1.4826 * mad / _STEP_PER_ROW, 1e-12)


def edge_weights(a: np.ndarray, delta: tuple[np.ndarray, np.ndarray] | None, rows: DifferenceRows) -> np.ndarray:
    """Cauchy IRLS weights 1/(1 + ((x - typical)/delta)^2) of the standardised second
    differences x of a (K, p); ones if delta is None. A steady curvature is not a jump."""
    d = rows.standardised(a)
    if delta is None:
        return np.ones_like(d)
    centre, scale = delta
    return 1.0 / (1.0 + ((d - centre) / scale) ** 2)


def penalty_weights(lam: np.ndarray, edge: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """w_kj = lambda_j * c_kj / tau_j^2."""
    return np.asarray(lam)[None, :] * edge / scales**2


def jump_locations(edge: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """(after_checkpoint, parameter index) of the jumps the edge weights (K-2, p) left free.

    A jump between checkpoints k and k+1 frees the rows centred on k and k+1 (rows k-1
    and k): two consecutive rows below ``threshold``. At the ends only one row sees it: the
    first row alone (jump after checkpoint 0) or the last alone (after checkpoint K-2)."""
    low = edge < threshold
    n = low.shape[0]
    out = []
    for j in range(low.shape[1]):
        col = low[:, j]
        for r in range(n):
            pair = r + 1 < n and col[r] and col[r + 1]
            first_alone = r == 0 and col[0] and (n < 2 or not col[1])
            last_alone = r == n - 1 and col[r] and n > 1 and not col[r - 1]
            if pair or first_alone:
                out.append((r + 1 if pair else 0, j))
            elif last_alone:
                out.append((r + 1, j))
    return sorted(out)


def _linear_smooth(U: np.ndarray, a0: np.ndarray, penalty: DifferencePenalty) -> np.ndarray:
    """Minimiser of (a - a0)^T U (a - a0) + penalty(a)."""
    diag, offs = penalty_hessian(U, penalty)
    rhs = np.einsum("kij,kj->ki", U, a0)[:, :, None]
    return blocktri.solve(diag, offs, rhs)[:, :, 0]


def effective_dof(U: np.ndarray, penalty: DifferencePenalty | None) -> float:
    """edf = tr((U + P)^-1 U) of the local parameters (= K p without penalty)."""
    if penalty is None or U.shape[0] <= penalty.order or not penalty.active():
        return float(U.shape[0] * U.shape[1])
    diag, offs = penalty_hessian(U, penalty)
    try:
        g = blocktri.inverse_diagonal_blocks(diag, offs)
    except np.linalg.LinAlgError:
        # a direction that neither the data nor the penalty hold (a parameter without effect on
        # the data and lambda 0 in the GCV's sweep) adds nothing to the trace: its limit under
        # a vanishing ridge
        d = np.diagonal(diag, axis1=1, axis2=2)
        ridge = np.where(d > 0, EDF_RIDGE * d, 1.0)
        g = blocktri.inverse_diagonal_blocks(diag + ridge[:, :, None] * np.eye(diag.shape[1]), offs)
    return float(np.einsum("kij,kji->", g, U))


def free_jumps(edge: np.ndarray, threshold: float = JUMP_EDGE_WEIGHT) -> np.ndarray:
    """The edge weights (K-2, p) with the rows of every jump (:func:`jump_locations`) set to 0:
    a kept jump decouples the checkpoints on its two sides entirely. A residual coupling
    c * lambda of the two rows would otherwise let a strong penalty spread the step over its
    neighbours (curvature diffuses: the blurred rows' second differences soon look like
    noise and the IRLS weights return to 1)."""
    out = edge.copy()
    n = edge.shape[0]
    for after, j in jump_locations(edge, threshold):
        out[max(after - 1, 0):min(after + 1, n), j] = 0.0
    return out


def robust_edges(a: np.ndarray, delta, rows: DifferenceRows) -> np.ndarray:
    """The IRLS edge weights at a (K, p), jumps freed (:func:`free_jumps`)."""
    return free_jumps(edge_weights(a, delta, rows))


def _robust_solution(U, a0, lam, scales, delta, rows: DifferenceRows):
    edge = robust_edges(a0, delta, rows)
    for _ in range(IRLS_STEPS):
        a = _linear_smooth(U, a0, DifferencePenalty(rows.stencil, penalty_weights(lam, edge, scales)))
        edge = robust_edges(a, delta, rows)
    return a, edge


def _delta(a0: np.ndarray, robust: bool, rows: DifferenceRows) -> tuple[np.ndarray, np.ndarray] | None:
    return jump_scales(a0, rows) if (robust and rows.stencil.shape[0] >= _MIN_ROWS_FOR_ROBUST) else None


def _spacing(positions) -> str:
    return "index" if positions is None else "positions"


def plan_for_lambda(U: np.ndarray, a0: np.ndarray, lam: float, robust: bool,
                    positions: Sequence[float] | None = None) -> SmoothingPlan:
    """Scales and IRLS edge weights for one given lambda (all parameters), linearised at a0
    (K, p); ``positions`` as in :func:`difference_stencil`."""
    rows = DifferenceRows.of(U, positions)
    scales = parameter_scales(U)
    delta = _delta(a0, robust, rows)
    lam_vec = np.full(a0.shape[1], float(lam))
    _, edge = _robust_solution(U, a0, lam_vec, scales, delta, rows)
    return SmoothingPlan(lam=lam_vec, rule="fixed", scales=scales, delta=delta, edge=edge, gcv={},
                         rows=rows, spacing=_spacing(positions))


def choose_lambda(U: np.ndarray, a0: np.ndarray, chisq0: float, n_residuals: int, n_shared: int,
                  robust: bool = True, positions: Sequence[float] | None = None) -> SmoothingPlan:
    """GCV choice of one lambda per local parameter on the linearised problem.

    First the best common lambda over :data:`LAMBDA_GRID` (and 0), then one sweep of
    coordinate descent: each parameter's lambda is re-chosen on the grid with the
    others held (a parameter with a trend needs less smoothing than a constant one).
    ``positions`` as in :func:`difference_stencil`.
    """
    rows = DifferenceRows.of(U, positions)
    scales = parameter_scales(U)
    delta = _delta(a0, robust, rows)
    k, p = a0.shape

    def score(lam_vec: np.ndarray) -> float:
        if not np.any(lam_vec):
            return _gcv(n_residuals, chisq0, n_shared + k * p)
        a, edge = _robust_solution(U, a0, lam_vec, scales, delta, rows)
        da = a - a0
        rss = chisq0 + float(np.einsum("ki,kij,kj->", da, U, da))
        penalty = DifferencePenalty(rows.stencil, penalty_weights(lam_vec, edge, scales))
        return _gcv(n_residuals, rss, n_shared + effective_dof(U, penalty))

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
    _, edge = _robust_solution(U, a0, best, scales, delta, rows)
    return SmoothingPlan(lam=best, rule="gcv", scales=scales, delta=delta, edge=edge,
                         gcv={"common": common, "best": best_score}, rows=rows,
                         spacing=_spacing(positions))


def _gcv(n: int, rss: float, dof_used: float) -> float:
    denom = n - dof_used
    return float(n * rss / denom**2) if denom > 0 else float("inf")
