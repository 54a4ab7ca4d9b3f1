"""Levenberg-Marquardt for block-sparse least squares (bundle-adjustment style).

Problem: K blocks (checkpoints). Block k has local parameters ``a_k`` (p values)
and sees shared parameters ``b`` (q values, common to every block); its residuals
``r_k(a_k, b)`` (m values, rows may be zero padding) have Jacobians ``A_k = dr_k/da_k``
(m x p) and ``B_k = dr_k/db`` (m x q). An optional difference penalty of order d
(:class:`DifferencePenalty`: ``sum_r sum_j w_rj (sum_i c_ri a_{r+i,j})^2``, e.g. second
differences ``a_{r+2} - 2 a_{r+1} + a_r`` for d = 2) couples blocks up to d apart.

Objective: ``chisq(a, b) + penalty(a)`` with ``chisq = sum r^2``.

Each iteration solves the damped normal equations, which have a block-arrow shape::

    [ U   W ] [da]   [-g_a]      U = blockdiag(A_k^T A_k) + P (block-banded, d blocks)
    [ W^T V ] [db] = [-g_b]      W_k = A_k^T B_k,  V = sum_k B_k^T B_k

by eliminating the local blocks (Schur complement ``S = V - W^T U^-1 W``, q x q),
solving for ``db`` and back-substituting ``da = U^-1 (-g_a - W db)`` (U^-1 applied by
:mod:`eisfit.series.blocktri`'s banded Cholesky). Cost per iteration
O(K (m p^2 + m p q + d^2 p^2 (1 + q)) + q^3): linear in K, memory O(K m (p+q)).

Bounds: a box in the internal coordinates (log for scale parameters, linear for
exponents, see :class:`eisfit.fitting.optimise.Transform`). A trial point is the
projection of the LM step onto the box; parameters sitting on a bound whose
gradient points outwards are held for that iteration (active set), so the step
is computed for the others. The step is accepted only if the objective decreases.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import blocktri

__all__ = ["BlockProblem", "BlockLMOutcome", "NormalBlocks", "DifferencePenalty", "block_lm", "independent_lm",
           "normal_blocks", "block_covariance", "penalty_hessian"]

MAX_STEP = 5.0  # largest change of one internal coordinate per iteration (e^5 for log parameters)
MIN_DAMPING = 1e-12  # the damping never falls below this (undamped, a collapsed element's ~1e-35 column made
# the normal matrix singular to machine precision)

# evaluate(a (K, p), b (q,)) -> (r (K, m), A (K, m, p), B (K, m, q))
BlockEvaluate = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class BlockProblem:
    """A block-sparse least-squares problem in internal coordinates.

    ``lower_*``/``upper_*`` are the internal box (may be +-inf): (p,) for local
    parameters (the same for every block), (q,) for shared ones.
    """

    evaluate: BlockEvaluate
    lower_local: np.ndarray
    upper_local: np.ndarray
    lower_shared: np.ndarray
    upper_shared: np.ndarray

    def project(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.clip(a, self.lower_local, self.upper_local),
                np.clip(b, self.lower_shared, self.upper_shared))


@dataclass(frozen=True)
class NormalBlocks:
    """Undamped Gauss-Newton normal matrix pieces at a point (data part only, no penalty)."""

    U: np.ndarray  # (K, p, p)  A_k^T A_k
    W: np.ndarray  # (K, p, q)  A_k^T B_k
    V: np.ndarray  # (q, q)     sum B_k^T B_k
    g_local: np.ndarray  # (K, p)  A_k^T r_k
    g_shared: np.ndarray  # (q,)   sum B_k^T r_k


@dataclass(frozen=True)
class BlockLMOutcome:
    a: np.ndarray  # (K, p) local optimum (internal)
    b: np.ndarray  # (q,) shared optimum (internal)
    chisq: float  # data part, sum r^2
    chisq_blocks: np.ndarray  # (K,) per block
    penalty: float  # penalty part
    converged: bool
    n_iter: int
    normal: NormalBlocks  # at the optimum


def normal_blocks(r: np.ndarray, A: np.ndarray, B: np.ndarray) -> NormalBlocks:
    """Normal-equation pieces of the data residuals (no penalty, no damping)."""
    return NormalBlocks(
        U=np.einsum("kmi,kmj->kij", A, A),
        W=np.einsum("kmi,kmj->kij", A, B),
        V=np.einsum("kmi,kmj->ij", B, B),
        g_local=np.einsum("kmi,km->ki", A, r),
        g_shared=np.einsum("kmi,km->i", B, r),
    )


@dataclass(frozen=True)
class DifferencePenalty:
    """``sum_r sum_j w_rj D_rj^2`` with ``D_rj = sum_i stencil[r, i] * a_{r+i,j}``: a weighted
    difference penalty of order d on the local parameters (a: (K, p), internal units).

    stencil : (K-d, d+1) coefficients of each difference row (the same for every
        parameter), e.g. rows (1, -2, 1) for equally spaced second differences.
    weights : (K-d, p) w_rj >= 0, in 1/(internal unit)^2 (the objective adds w D^2).
    """

    stencil: np.ndarray
    weights: np.ndarray

    @property
    def order(self) -> int:
        return self.stencil.shape[1] - 1

    def differences(self, a: np.ndarray) -> np.ndarray:
        """D (K-d, p) of a (K, p)."""
        d = self.order
        n = a.shape[0] - d
        return sum(self.stencil[:, i, None] * a[i:i + n] for i in range(d + 1))

    def value(self, a: np.ndarray) -> float:
        return float(np.sum(self.weights * self.differences(a) ** 2))

    def half_gradient(self, a: np.ndarray) -> np.ndarray:
        """Half the gradient of the penalty with respect to a: (K, p)."""
        wd = self.weights * self.differences(a)
        n = wd.shape[0]
        g = np.zeros_like(a)
        for i in range(self.order + 1):
            g[i:i + n] += self.stencil[:, i, None] * wd
        return g

    def hessian_parts(self, k: int) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """Half the Hessian: (diagonal additions (K, p), off-diagonals by distance s = 1..d,
        each (K-s, p), the diagonal of the block (k, k+s))."""
        d = self.order
        n = self.weights.shape[0]
        p = self.weights.shape[1]
        on_diag = np.zeros((k, p))
        offs = [np.zeros((k - s, p)) for s in range(1, d + 1)]
        for i in range(d + 1):
            on_diag[i:i + n] += self.stencil[:, i, None] ** 2 * self.weights
            for j in range(i + 1, d + 1):
                offs[j - i - 1][i:i + n] += (self.stencil[:, i] * self.stencil[:, j])[:, None] * self.weights
        return on_diag, tuple(offs)

    def active(self) -> bool:
        return bool(self.weights.size and np.any(self.weights))


def penalty_value(a: np.ndarray, penalty: DifferencePenalty | None) -> float:
    """The penalty's value at a (0 without one)."""
    return 0.0 if penalty is None else penalty.value(a)


def penalty_hessian(diag: np.ndarray, penalty: DifferencePenalty) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Add the (half-)Hessian of the penalty to the diagonal blocks ``diag`` (K, p, p):
    returns (diagonal blocks, off-diagonals by distance, as :func:`eisfit.series.blocktri.solve`)."""
    k, p, _ = diag.shape
    on_diag, offs = penalty.hessian_parts(k)
    out = diag.copy()
    idx = np.arange(p)
    out[:, idx, idx] += on_diag
    return out, offs


def _solve_arrow(
    diag: np.ndarray, off: tuple[np.ndarray, ...] | None, W: np.ndarray, V: np.ndarray,
    g_a: np.ndarray, g_b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve [[U, W], [W^T, V]] [da; db] = -[g_a; g_b] by the Schur complement."""
    k, p, q = W.shape
    rhs = np.concatenate([g_a[:, :, None], W], axis=2)  # (K, p, 1+q)
    if off is None:
        x = blocktri.block_diagonal_solve(diag, rhs)
    else:
        x = blocktri.solve(diag, off, rhs)
    x_g, x_w = x[:, :, 0], x[:, :, 1:]
    if q:
        s = V - np.einsum("kpi,kpj->ij", W, x_w)
        rhs_b = -g_b + np.einsum("kpi,kp->i", W, x_g)
        db = np.linalg.solve(s, rhs_b)
    else:
        db = np.zeros(0)
    da = -x_g - np.einsum("kpj,j->kp", x_w, db)
    return da, db


def _active_holds(x: np.ndarray, g: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Parameters on a bound whose descent direction (-g) leaves the box."""
    tol = 1e-12 * (1.0 + np.abs(x))
    return ((x <= lo + tol) & (g > 0)) | ((x >= hi - tol) & (g < 0))


def block_lm(
    problem: BlockProblem,
    a0: np.ndarray,
    b0: np.ndarray,
    *,
    penalty: DifferencePenalty | None = None,
    max_iter: int = 200,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
    gtol: float = 1e-10,
) -> BlockLMOutcome:
    """Minimise ``chisq + penalty`` from (a0, b0) (internal coordinates, projected onto the box).

    ``penalty``: the difference penalty on the local parameters (None = none). Converges
    when the relative decrease of the objective is below ``ftol`` for a step of relative
    size below ``xtol``, or the scaled gradient is below ``gtol``.
    """
    a, b = problem.project(np.array(a0, float), np.array(b0, float))
    k, p = a.shape
    pw = penalty if (penalty is not None and k > penalty.order and penalty.active()) else None
    r, A, B = problem.evaluate(a, b)
    obj = float(np.sum(r * r)) + penalty_value(a, pw)
    mu = 1e-3
    nu = 2.0
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        nb = normal_blocks(r, A, B)
        g_a = nb.g_local + (pw.half_gradient(a) if pw is not None else 0.0)
        g_b = nb.g_shared
        hold_a = _active_holds(a, g_a, problem.lower_local, problem.upper_local)
        hold_b = _active_holds(b, g_b, problem.lower_shared, problem.upper_shared)
        diag, off = (penalty_hessian(nb.U, pw) if pw is not None else (nb.U, None))
        dscale = _damping_scale(diag, nb.V)
        if _gradient_small(g_a, g_b, hold_a, hold_b, dscale, obj, gtol):
            converged = True
            break
        while True:
            try:
                da, db = _damped_step(diag, off, nb, g_a, g_b, hold_a, hold_b, dscale, mu)
            except np.linalg.LinAlgError:  # numerically singular at this damping (a collapsed
                # element's column ~1e-35): a rejected step, more damping
                mu *= nu
                nu *= 2.0
                if mu > 1e16:
                    break
                continue
            big = max(float(np.abs(da).max(initial=0.0)), float(np.abs(db).max(initial=0.0)))
            if big > MAX_STEP:
                da, db = da * (MAX_STEP / big), db * (MAX_STEP / big)
            a_new, b_new = problem.project(a + da, b + db)
            r_new, A_new, B_new = problem.evaluate(a_new, b_new)
            obj_new = float(np.sum(r_new * r_new)) + penalty_value(a_new, pw)
            step = max(_rel_step(a_new - a, a), _rel_step(b_new - b, b))
            if np.isfinite(obj_new) and obj_new < obj:
                predicted = _predicted_decrease(da, db, g_a, g_b, diag, off, nb, dscale, mu)
                rho = (obj - obj_new) / predicted if predicted > 0 else 0.0
                rel_drop = (obj - obj_new) / max(obj, 1e-300)
                a, b, r, A, B, obj = a_new, b_new, r_new, A_new, B_new, obj_new
                mu = max(mu * max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), MIN_DAMPING)
                nu = 2.0
                if rel_drop < ftol and step < xtol ** 0.5:
                    converged = True
                break
            mu *= nu
            nu *= 2.0
            if step < xtol or mu > 1e16:
                converged = step < xtol
                break
        if converged or mu > 1e16:
            break
    nb = normal_blocks(r, A, B)
    chisq_blocks = np.sum(r * r, axis=1)
    return BlockLMOutcome(a=a, b=b, chisq=float(chisq_blocks.sum()), chisq_blocks=chisq_blocks,
                          penalty=penalty_value(a, pw), converged=converged, n_iter=it, normal=nb)


def independent_lm(
    problem: BlockProblem, a0: np.ndarray, *, max_iter: int = 200, ftol: float = 1e-10, xtol: float = 1e-10,
) -> BlockLMOutcome:
    """Minimise every block's chisq separately (no shared parameters, no penalty).

    Same coordinates, box and acceptance test as :func:`block_lm`, but each block
    has its own damping and accepts or rejects its own steps, so one difficult
    checkpoint does not slow the others. Vectorised over blocks.
    """
    a = np.clip(np.array(a0, float), problem.lower_local, problem.upper_local)
    k, p = a.shape
    b = np.zeros(0)
    r, A, _ = problem.evaluate(a, b)
    cost = np.sum(r * r, axis=1)
    mu = np.full(k, 1e-3)
    active = np.ones(k, bool)
    converged = np.zeros(k, bool)
    it = 0
    idx_p = np.arange(p)
    for it in range(1, max_iter + 1):
        if not active.any():
            break
        U = np.einsum("kmi,kmj->kij", A, A)
        g = np.einsum("kmi,km->ki", A, r)
        hold = _active_holds(a, g, problem.lower_local, problem.upper_local)
        d = np.diagonal(U, axis1=1, axis2=2)
        d = np.maximum(d, 1e-12 * np.maximum(d.max(axis=1, keepdims=True), 1e-300))
        H = U.copy()
        H[:, idx_p, idx_p] += mu[:, None] * d
        H = np.where(hold[:, :, None] | hold[:, None, :], 0.0, H)
        kk, jj = np.nonzero(hold)
        H[kk, jj, jj] = 1.0
        step = np.linalg.solve(H, -np.where(hold, 0.0, g)[:, :, None])[:, :, 0]
        big = np.abs(step).max(axis=1, keepdims=True)
        step = np.where(big > MAX_STEP, step * (MAX_STEP / np.maximum(big, 1e-300)), step)
        step[~active] = 0.0
        trial = np.clip(a + step, problem.lower_local, problem.upper_local)
        r_new, A_new, _ = problem.evaluate(trial, b)
        cost_new = np.sum(r_new * r_new, axis=1)
        ok = active & np.isfinite(cost_new) & (cost_new < cost)
        rel_drop = np.where(ok, (cost - cost_new) / np.maximum(cost, 1e-300), np.inf)
        moved = np.abs(trial - a).max(axis=1) / (1.0 + np.abs(a).max(axis=1))
        a[ok], r[ok], A[ok], cost[ok] = trial[ok], r_new[ok], A_new[ok], cost_new[ok]
        mu[ok] = np.maximum(mu[ok] / 5.0, 1e-12)
        rej = active & ~ok
        mu[rej] *= 8.0
        done = (ok & (rel_drop < ftol) & (moved < xtol**0.5)) | (rej & ((mu > 1e12) | (moved < xtol)))
        converged |= done
        active &= ~done
    nb = normal_blocks(r, A, np.zeros((k, r.shape[1], 0)))
    return BlockLMOutcome(a=a, b=b, chisq=float(cost.sum()), chisq_blocks=cost, penalty=0.0,
                          converged=bool(converged.all()), n_iter=it, normal=nb)


def _damping_scale(diag: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Marquardt scaling: the diagonal of the normal matrix, floored for stability."""
    d_a = np.diagonal(diag, axis1=1, axis2=2).copy()
    d_b = np.diag(V).copy()
    top = max(float(d_a.max(initial=0.0)), float(d_b.max(initial=0.0)), 1e-300)
    floor = 1e-12 * top
    return np.maximum(d_a, floor), np.maximum(d_b, floor)


def _damped_step(diag, off, nb: NormalBlocks, g_a, g_b, hold_a, hold_b, dscale, mu):
    d_a, d_b = dscale
    k, p, _ = diag.shape
    idx = np.arange(p)
    dd = diag.copy()
    dd[:, idx, idx] += mu * d_a
    V = nb.V + np.diag(mu * d_b)
    W = nb.W
    ga, gb = g_a, g_b
    if hold_a.any() or hold_b.any():
        # held parameters: decouple them (identity row/column, zero gradient)
        dd = dd.copy()
        ha = hold_a
        dd[ha[:, :, None].repeat(p, 2) | ha[:, None, :].repeat(p, 1)] = 0.0
        kk, jj = np.nonzero(ha)
        dd[kk, jj, jj] = 1.0
        W = np.where(ha[:, :, None], 0.0, W)
        W = np.where(hold_b[None, None, :], 0.0, W)
        V = V.copy()
        V[hold_b, :] = 0.0
        V[:, hold_b] = 0.0
        V[hold_b, hold_b] = 1.0
        ga = np.where(ha, 0.0, g_a)
        gb = np.where(hold_b, 0.0, g_b)
        if off is not None:
            off = tuple(np.where(ha[:-s] | ha[s:], 0.0, e) for s, e in enumerate(off, start=1))
    da, db = _solve_arrow(dd, off, W, V, ga, gb)
    return da, db


def _predicted_decrease(da, db, g_a, g_b, diag, off, nb, dscale, mu) -> float:
    """Decrease of the objective predicted by the Gauss-Newton model (objective = 2 * half cost)."""
    hda = np.einsum("kij,kj->ki", diag, da) + np.einsum("kij,j->ki", nb.W, db)
    for s, e in enumerate(off or (), start=1):
        hda[:-s] += e * da[s:]
        hda[s:] += e * da[:-s]
    hdb = np.einsum("kij,ki->j", nb.W, da) + nb.V @ db
    quad = float(np.sum(da * hda) + np.sum(db * hdb))
    lin = float(np.sum(g_a * da) + np.sum(g_b * db))
    return -(2.0 * lin + quad)


def _gradient_small(g_a, g_b, hold_a, hold_b, dscale, obj, gtol) -> bool:
    d_a, d_b = dscale
    ga = np.where(hold_a, 0.0, g_a) / np.sqrt(d_a)
    gb = np.where(hold_b, 0.0, g_b) / np.sqrt(d_b)
    m = max(float(np.abs(ga).max(initial=0.0)), float(np.abs(gb).max(initial=0.0)))
    return m <= gtol * np.sqrt(max(obj, 1e-300))


def _rel_step(dx: np.ndarray, x: np.ndarray) -> float:
    if dx.size == 0:
        return 0.0
    return float(np.max(np.abs(dx) / (1.0 + np.abs(x))))


def block_covariance(
    nb: NormalBlocks, penalty: DifferencePenalty | None, s2: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Covariance blocks ``s2 * H^-1`` of the block-arrow normal matrix H (data + penalty).

    Returns (local (K, p, p) diagonal blocks, shared (q, q), cross (K, p, q)), from the
    Schur complement without forming H^-1:
    ``Cov_bb = S^-1``, ``Cov_ab = -U^-1 W S^-1``,
    ``Cov_aa,kk = (U^-1)_kk + (U^-1 W)_k S^-1 (U^-1 W)_k^T``, all times s2.
    Raises ``numpy.linalg.LinAlgError`` when H is singular.
    """
    if penalty is not None and nb.U.shape[0] > penalty.order and penalty.active():
        diag, off = penalty_hessian(nb.U, penalty)
    else:
        diag, off = nb.U, None
    k, p, q = nb.W.shape
    if off is None:
        uinv_kk = np.linalg.inv(diag) if p else np.zeros((k, 0, 0))
        x_w = np.einsum("kij,kjl->kil", uinv_kk, nb.W)
    else:
        uinv_kk = blocktri.inverse_diagonal_blocks(diag, off)
        x_w = blocktri.solve(diag, off, nb.W) if q else np.zeros((k, p, 0))
    if q:
        s = nb.V - np.einsum("kpi,kpj->ij", nb.W, x_w)
        s_inv = np.linalg.inv(s)
        s_inv = 0.5 * (s_inv + s_inv.T)
        cross = -np.einsum("kpi,ij->kpj", x_w, s_inv)
        local = uinv_kk + np.einsum("kpi,ij,kqj->kpq", x_w, s_inv, x_w)
    else:
        s_inv = np.zeros((0, 0))
        cross = np.zeros((k, p, 0))
        local = uinv_kk
    return s2 * local, s2 * s_inv, s2 * cross
