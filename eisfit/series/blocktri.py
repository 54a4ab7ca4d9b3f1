"""Symmetric block-banded matrices whose off-diagonal blocks are diagonal.

This is the structure of the local-parameter normal matrix of a campaign fit with a
difference smoothness penalty of order d (:mod:`eisfit.series.smoothing` uses d = 2):
diagonal blocks ``D_k`` (p x p, the data Hessian of checkpoint k plus penalty terms) and,
for every distance s = 1..d, off-diagonal blocks ``block(k, k+s) = diag(e_{s,k})`` (the
penalty coupling of checkpoints s apart). d = 1 is block-tridiagonal, d = 2
block-pentadiagonal. ``offs`` below is the tuple ``(e_1 (K-1, p), ..., e_d (K-d, p))``.

* :func:`solve` uses LAPACK's banded Cholesky (bandwidth d*p): O(K (d p)^2) time and
  O(K d p) memory, no Python loop over checkpoints;
* :func:`inverse_diagonal_blocks` returns the diagonal blocks of the inverse (the
  local covariance blocks) without forming the dense inverse: d consecutive checkpoints
  are grouped into one super-block of size d*p, which makes the matrix block-tridiagonal
  (full off-diagonal super-blocks); a block Cholesky factorisation runs downward and the
  inverse's diagonal blocks are assembled upward from its factors by triangular solves:
  O(K d^2 p^3) time, O(K d^2 p^2) memory. Until session 64 the upward sweep used explicit
  inverses of the Schur complements (``G_i = S_i^-1 + S_i^-1 C_i G_{i+1} C_i^T S_i^-1``),
  which is not stable: on the smoothed garnet sample campaign (a normal matrix of condition
  number 7e24, 3e11 once its diagonal is scaled to 1) it gave negative variances from the
  sixth checkpoint on and the blocks before wrong by up to 18 %; the factors keep them within the
  matrix's conditioning (~1e-5 there), in the same time (K = 1,000, p = 8: 7 ms).
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve_banded, cholesky_banded
from scipy.linalg.lapack import dpotrf, dtrtrs

__all__ = ["solve", "inverse_diagonal_blocks", "block_diagonal_solve", "dense"]


def block_diagonal_solve(diag: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``D_k x_k = rhs_k`` for every block: diag (K, p, p), rhs (K, p, r) -> (K, p, r)."""
    if diag.shape[1] == 0:
        return np.zeros_like(rhs)
    return np.linalg.solve(diag, rhs)


def _as_offs(offs) -> tuple[np.ndarray, ...]:
    """The off-diagonals as a tuple by distance; a bare (K-1, p) array is distance 1 only."""
    if isinstance(offs, np.ndarray):
        return (offs,)
    return tuple(offs)


def _coupled(k: int, offs: tuple[np.ndarray, ...]) -> bool:
    return k > 1 and any(o.size and np.any(o) for o in offs)


def _banded_upper(diag: np.ndarray, offs: tuple[np.ndarray, ...]) -> np.ndarray:
    """Upper banded storage (LAPACK 'ab', u = d*p) of the block-banded matrix."""
    k, p, _ = diag.shape
    u = len(offs) * p
    ab = np.zeros((u + 1, k * p))
    for i in range(p):
        for j in range(i, p):
            ab[u + i - j, j::p] = diag[:, i, j]
    for s, e in enumerate(offs, start=1):  # element (k p + i, (k+s) p + i): offset s p
        if e.size:
            ab[u - s * p, s * p:] = e.reshape(-1)
    return ab


def solve(diag: np.ndarray, offs, rhs: np.ndarray) -> np.ndarray:
    """Solve the block-banded system.

    diag : (K, p, p) symmetric positive-definite diagonal blocks.
    offs : tuple of (K-s, p) diagonals of the blocks (k, k+s), s = 1..d (and, by
        symmetry, (k+s, k)); a bare (K-1, p) array means d = 1.
    rhs : (K, p, r). Returns x (K, p, r).
    Raises ``numpy.linalg.LinAlgError`` when the matrix is not positive definite.
    """
    offs = _as_offs(offs)
    k, p, _ = diag.shape
    if p == 0:
        return np.zeros_like(rhs)
    if not _coupled(k, offs):
        return block_diagonal_solve(diag, rhs)
    ab = _banded_upper(diag, offs)
    chol = cholesky_banded(ab, lower=False, check_finite=False)
    r = rhs.shape[2]
    x = cho_solve_banded((chol, False), rhs.reshape(k * p, r), check_finite=False)
    return x.reshape(k, p, r)


def _super_blocks(diag: np.ndarray, offs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Group d consecutive checkpoints into one block of size d*p (the last group padded
    with identity blocks): returns (diagonal super-blocks (G, dp, dp), upper super-blocks
    (G-1, dp, dp) = block(g, g+1))."""
    k, p, _ = diag.shape
    d = len(offs)
    n_groups = -(-k // d)
    m = d * p
    padded = np.concatenate([diag, np.broadcast_to(np.eye(p), (n_groups * d - k, p, p))])
    big_diag = np.zeros((n_groups, m, m))
    big_up = np.zeros((max(n_groups - 1, 0), m, m))
    for slot in range(d):
        big_diag[:, slot * p:(slot + 1) * p, slot * p:(slot + 1) * p] = padded[slot::d]
    idx = np.arange(p)
    for s, e in enumerate(offs, start=1):
        for slot in range(d):  # checkpoints c = slot + d g, coupled to c + s
            c = np.arange(slot, k - s, d)
            if c.size == 0:
                continue
            g = (c // d)[:, None]
            rows = (slot * p + idx)[None, :]
            cols = (((slot + s) % d) * p + idx)[None, :]
            if slot + s < d:  # same group
                big_diag[g, rows, cols] = e[c]
                big_diag[g, cols, rows] = e[c]
            else:  # next group
                big_up[g, rows, cols] = e[c]
    return big_diag, big_up


def _tridiagonal_inverse_blocks(big_diag: np.ndarray, big_up: np.ndarray) -> np.ndarray:
    """Diagonal blocks of the inverse of a symmetric positive-definite block-tridiagonal
    matrix with full blocks: diagonal (G, m, m), upper (G-1, m, m). Downward, the Cholesky
    factors L_i of the Schur complements ``S_i = D_i - B_{i-1}^T B_{i-1}`` with
    ``B_i = L_i^-1 C_i`` (block Cholesky: the same arithmetic as a banded factorisation);
    upward, ``G_i = L_i^-T (I + B_i G_{i+1} B_i^T) L_i^-1``, sums of positive semi-definite
    terms and triangular solves only. LAPACK's routines are called directly: scipy's
    ``solve_triangular`` costs ~7 us a call against ~2 us for LAPACK's own (8 x 8 blocks), and
    a smoothed campaign's lambda choice calls this ~100 times. Raises
    ``numpy.linalg.LinAlgError`` when the matrix is not positive definite."""
    n, m, _ = big_diag.shape
    chol = np.empty_like(big_diag)
    scaled_up = np.empty_like(big_up)  # B_i = L_i^-1 C_i
    schur = big_diag[0]
    for i in range(n):
        if i:
            schur = big_diag[i] - scaled_up[i - 1].T @ scaled_up[i - 1]
        chol[i], info = dpotrf(schur, lower=1, clean=1)
        if info:
            raise np.linalg.LinAlgError("block-banded matrix not positive definite")
        if i < n - 1:
            scaled_up[i] = _lower_solve(chol[i], big_up[i])
    g = np.empty_like(big_diag)
    eye = np.eye(m)
    for i in range(n - 1, -1, -1):
        middle = eye if i == n - 1 else eye + scaled_up[i] @ g[i + 1] @ scaled_up[i].T
        g[i] = _lower_solve(chol[i], _lower_solve(chol[i], middle, transposed=True).T, transposed=True).T
    return g


def _lower_solve(factor: np.ndarray, rhs: np.ndarray, transposed: bool = False) -> np.ndarray:
    """``factor^-1 rhs`` (``factor^-T rhs`` with ``transposed``), ``factor`` lower triangular
    and non-singular (a Cholesky factor)."""
    x, info = dtrtrs(factor, rhs, lower=1, trans=int(transposed))
    if info:
        raise np.linalg.LinAlgError("singular Cholesky factor")
    return x


def inverse_diagonal_blocks(diag: np.ndarray, offs) -> np.ndarray:
    """Diagonal blocks (K, p, p) of the inverse of the block-banded matrix (``offs`` as in
    :func:`solve`). Raises ``numpy.linalg.LinAlgError`` when the matrix is not positive
    definite."""
    offs = _as_offs(offs)
    k, p, _ = diag.shape
    if p == 0:
        return np.zeros_like(diag)
    if not _coupled(k, offs):
        return np.linalg.inv(diag)
    d = len(offs)
    big_diag, big_up = _super_blocks(diag, offs)
    g = _tridiagonal_inverse_blocks(big_diag, big_up)
    blocks = np.stack([g[:, s * p:(s + 1) * p, s * p:(s + 1) * p] for s in range(d)], axis=1)
    blocks = blocks.reshape(-1, p, p)[:k]
    return 0.5 * (blocks + np.transpose(blocks, (0, 2, 1)))


def dense(diag: np.ndarray, offs) -> np.ndarray:
    """The full (K p, K p) matrix (for tests and small checks only)."""
    offs = _as_offs(offs)
    k, p, _ = diag.shape
    out = np.zeros((k * p, k * p))
    idx = np.arange(p)
    for i in range(k):
        out[i * p:(i + 1) * p, i * p:(i + 1) * p] = diag[i]
    for s, e in enumerate(offs, start=1):
        for i in range(k - s):
            out[i * p + idx, (i + s) * p + idx] = e[i]
            out[(i + s) * p + idx, i * p + idx] = e[i]
    return out
