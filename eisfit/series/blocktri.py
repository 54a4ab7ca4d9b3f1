"""Symmetric block-tridiagonal matrices whose off-diagonal blocks are diagonal.

This is the structure of the local-parameter normal matrix of a campaign fit with
a first-difference smoothness penalty: diagonal blocks ``D_k`` (p x p, the data
Hessian of checkpoint k plus penalty terms) and off-diagonal blocks
``B_k = block(k, k+1) = diag(e_k)`` (the penalty coupling of neighbours).

* :func:`solve` uses LAPACK's banded Cholesky (bandwidth p): O(K p^3) time and
  O(K p^2) memory, no Python loop over checkpoints;
* :func:`inverse_diagonal_blocks` returns the diagonal blocks of the inverse (the
  local covariance blocks) with the classic two-sweep recursion
  (Schur complements downward, then ``G_k = S_k^-1 + S_k^-1 B_k G_{k+1} B_k^T S_k^-1``)
  without forming the dense inverse.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve_banded, cholesky_banded

__all__ = ["solve", "inverse_diagonal_blocks", "block_diagonal_solve"]


def block_diagonal_solve(diag: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``D_k x_k = rhs_k`` for every block: diag (K, p, p), rhs (K, p, r) -> (K, p, r)."""
    if diag.shape[1] == 0:
        return np.zeros_like(rhs)
    return np.linalg.solve(diag, rhs)


def _banded_upper(diag: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Upper banded storage (LAPACK 'ab', u = p) of the block-tridiagonal matrix."""
    k, p, _ = diag.shape
    n = k * p
    ab = np.zeros((p + 1, n))
    for i in range(p):
        for j in range(i, p):
            ab[p + i - j, j::p] = diag[:, i, j]
    if k > 1:
        ab[0, p:] = off.reshape(-1)
    return ab


def solve(diag: np.ndarray, off: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve the block-tridiagonal system.

    diag : (K, p, p) symmetric positive-definite diagonal blocks.
    off : (K-1, p) diagonals of the blocks (k, k+1) (and, by symmetry, (k+1, k)).
    rhs : (K, p, r). Returns x (K, p, r).
    Raises ``numpy.linalg.LinAlgError`` when the matrix is not positive definite.
    """
    k, p, _ = diag.shape
    if p == 0:
        return np.zeros_like(rhs)
    if k == 1 or not np.any(off):
        return block_diagonal_solve(diag, rhs)
    ab = _banded_upper(diag, off)
    chol = cholesky_banded(ab, lower=False, check_finite=False)
    r = rhs.shape[2]
    x = cho_solve_banded((chol, False), rhs.reshape(k * p, r), check_finite=False)
    return x.reshape(k, p, r)


def inverse_diagonal_blocks(diag: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Diagonal blocks (K, p, p) of the inverse of the block-tridiagonal matrix."""
    k, p, _ = diag.shape
    if p == 0:
        return np.zeros_like(diag)
    if k == 1 or not np.any(off):
        return np.linalg.inv(diag)
    schur_inv = np.empty_like(diag)
    schur_inv[0] = np.linalg.inv(diag[0])
    for i in range(1, k):
        e = off[i - 1]
        schur_inv[i] = np.linalg.inv(diag[i] - e[:, None] * schur_inv[i - 1] * e[None, :])
    g = np.empty_like(diag)
    g[-1] = schur_inv[-1]
    for i in range(k - 2, -1, -1):
        e = off[i]
        s = schur_inv[i]
        se = s * e[None, :]  # S_i^-1 B_i
        g[i] = s + se @ g[i + 1] @ se.T
    return 0.5 * (g + np.transpose(g, (0, 2, 1)))
