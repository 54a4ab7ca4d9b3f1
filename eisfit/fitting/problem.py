"""One fit problem: data, circuit, free/fixed split, internal coordinates, and the
weighted residuals, Jacobians and Gauss-Newton normal equations the optimiser needs.

Shared by the single-spectrum pieces of :mod:`eisfit.fitting.engine`, the batched
solver (:mod:`eisfit.fitting.solver`) and the profile likelihood
(:mod:`eisfit.fitting.profile`), so every path evaluates the same arithmetic.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..model import Circuit
from .optimise import Transform, normal_from_residuals

@dataclass(frozen=True)
class Problem:
    """A prepared fit: data, circuit, free/fixed split and internal transform."""

    circuit: Circuit
    frequency: np.ndarray
    z: np.ndarray
    scales: tuple[np.ndarray, np.ndarray]
    weighting: str
    free: np.ndarray  # indices of free parameters
    fixed_values: np.ndarray  # full-length vector with fixed values filled in
    transform: Transform  # over free parameters

    def free_on_bounds(self, p_full: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which free parameters of the full parameter vector ``p_full`` sit on their lower
        and upper bounds (:meth:`~eisfit.fitting.optimise.Transform.on_bounds`), in the
        order of ``free``."""
        return self.transform.on_bounds(self.transform.to_internal(p_full[self.free]))

    def full(self, p_free: np.ndarray) -> np.ndarray:
        k = p_free.shape[0]
        p = np.broadcast_to(self.fixed_values, (k, self.fixed_values.size)).copy()
        p[:, self.free] = p_free
        return p

    def model_and_jacobian(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model Z (K, N) and its Jacobian with respect to the internal coordinates (K, N, Mf)."""
        p_free = self.transform.to_physical(theta)
        with np.errstate(all="ignore"):
            zm, dz = self.circuit.impedance_and_jacobian(self.full(p_free), self.frequency)
            if self.free.size != dz.shape[2]:
                dz = dz[:, :, self.free]
            dz *= self.transform.dp_dtheta(p_free)[:, None, :]
        return zm, dz

    def residuals_and_jacobian(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted residuals (K, 2N) and their Jacobian in internal coordinates (K, 2N, Mf)."""
        zm, dz = self.model_and_jacobian(theta)
        with np.errstate(all="ignore"):
            return weighted_residuals(self.z, zm, dz, self.scales, self.weighting)


def log_scaled(circuit: Circuit, lower: np.ndarray) -> np.ndarray:
    """Which parameters the optimiser moves in log space (bool per parameter of
    ``circuit``): the scale parameters (R, Q, C, tau...) bounded below by 0 or more, so that
    values spanning 1e-12..1e6 converge, except the series resistances and inductances
    (``Circuit.linear_series``), which stay linear.

    The model is linear in those: a series R adds R, a series L adds j w L at every
    frequency, so in their own coordinates the chi-square is exactly quadratic. Where the
    data barely fix one (an arc above the measured range trades resistance with R0; no
    inductive tail for L0), in log space it slides towards 0, where d chisq / d ln p =
    p d chisq / dp vanishes: the fit stops on a plateau that only the log coordinate makes
    flat. Linear, its gradient stays and 0 is a plain bound. On a 261-sweep table with such
    an arc, cold fits had stopped up to 10 s^2 above the optimum, now none; 1,000 hard
    spectra: 1,000 at the optimum instead of 998; the two L0 families of
    ``scripts/robustness.py --family``, 250 and 250 of 250 instead of 246 and 246."""
    return _log_candidates(circuit) & (np.asarray(lower) >= 0)


@functools.lru_cache(maxsize=64)
def _log_candidates(circuit: Circuit) -> np.ndarray:
    """The scale parameters of ``circuit`` that are not series R or L (read-only): those
    :func:`log_scaled` moves in log space when bounded below by 0. Cached per circuit: a
    campaign prepares thousands of fits of one circuit."""
    mask = np.array(circuit.log_scale, bool) & ~series_mask(circuit)
    mask.flags.writeable = False
    return mask


@functools.lru_cache(maxsize=64)
def series_mask(circuit: Circuit) -> np.ndarray:
    """Which parameters of ``circuit`` are series resistances or inductances
    (``Circuit.linear_series``; bool per parameter; read-only, cached per circuit)."""
    mask = np.isin(np.array(circuit.param_names), list(circuit.linear_series))
    mask.flags.writeable = False
    return mask


@functools.lru_cache(maxsize=64)
def _column_of(free: tuple[int, ...]) -> dict[int, int]:
    """{parameter index: its column among the free ones} of the free indices (remembered:
    a batch asks on every evaluation)."""
    return {j: c for c, j in enumerate(free)}


def normal_equations_at(circuit: Circuit, frequency: np.ndarray, p_full: np.ndarray, free: np.ndarray,
                        dp_dtheta: np.ndarray, z: np.ndarray, scales: tuple[np.ndarray, np.ndarray],
                        weighting: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chisq, J^T J, J^T r) per row of the full parameter vectors ``p_full`` (K, M): the
    Gauss-Newton normal equations of the weighted residuals in the internal coordinates
    whose derivatives dp/dtheta of the free parameters are ``dp_dtheta`` (K, Mf).

    The circuit's derivative columns are copied into a complex array (Mf, N) per row (scaled
    by the residual scales in the same pass where both parts share a scale); read as reals
    it is the weighted Jacobian's transpose (Mf, 2N) with real and imaginary parts
    interleaved, so J^T J is one real product with no conjugate copy, and dp/dtheta is
    applied to the small (Mf, Mf) and (Mf,) products. ``modulus-calc`` (scales from the
    model itself) takes the stacked form.
    """
    with np.errstate(all="ignore"):
        if weighting == "modulus-calc":
            zm, dz = circuit.impedance_and_jacobian(p_full, frequency)
            dz = dz[:, :, free] * dp_dtheta[:, None, :]
            return normal_from_residuals(*calc_modulus_residuals(z, zm, dz))
        zm, columns = circuit.impedance_and_gradients(p_full, frequency)
        k, n = zm.shape
        grad = np.empty((k, free.size, n), dtype=complex)  # dZ/dp of the free parameters
        jt = grad.view(float)
        position = _column_of(tuple(free.tolist()))
        free_columns = [(position[j], dj) for j, dj in columns if j in position]  # (column among the free, dZ/dp)
        d = z - zm
        r = d.view(float)  # the residuals (k, 2n), real and imaginary parts interleaved
        if scales[1] is scales[0]:  # one scale for both parts: scale the complex values
            inv = 1.0 / scales[0]  # (K, N) or (N,)
            for c, dj in free_columns:  # copied and scaled in one pass
                np.multiply(dj, inv, out=grad[:, c, :])
            d *= inv
        else:
            for c, dj in free_columns:
                grad[:, c, :] = dj
            inv = np.empty((k, n, 2))
            inv[:, :, 0] = 1.0 / scales[0]
            inv[:, :, 1] = 1.0 / scales[1]
            inv = inv.reshape(k, 2 * n)
            jt *= inv[:, None, :]
            r *= inv
        # viewed as reals, the complex (k, m, n) array is the weighted Jacobian's transpose
        # (k, m, 2n) with real and imaginary parts interleaved, with no copy. Its real product
        # is faster than Re(G G^H) as one complex product at every block size (numpy 2.4,
        # OpenBLAS 0.3.31: the whole evaluation ~15 % faster at 64-256 rows)
        jtj = jt @ jt.transpose(0, 2, 1)
        cost = np.einsum("kr,kr->k", r, r)
        jtr = (jt @ r[:, :, None])[:, :, 0]
        # the chain rule to internal coordinates on the (m, m) products, not on the (m, 2n) Jacobian
        jtj *= dp_dtheta[:, :, None]
        jtj *= dp_dtheta[:, None, :]
        jtr *= -dp_dtheta  # J^T r of the residuals' Jacobian, -dZ/dtheta / s
        return cost, jtj, jtr


def weighted_residuals(z: np.ndarray, zm: np.ndarray, dz: np.ndarray,
                       scales: tuple[np.ndarray, np.ndarray], weighting: str) -> tuple[np.ndarray, np.ndarray]:
    """Stacked weighted residuals and Jacobian: scaled by the model modulus for
    ``modulus-calc``, by ``scales`` otherwise."""
    if weighting == "modulus-calc":
        return calc_modulus_residuals(z, zm, dz)
    return stacked_residuals(z, zm, dz, scales)


def stacked_residuals(z: np.ndarray, zm: np.ndarray, dz: np.ndarray,
                      scales: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Weighted residuals [(Z'-Zm')/s', (Z''-Zm'')/s''] (K, 2N) and their Jacobian (K, 2N, M)
    from the model ``zm`` (K, N) and its Jacobian ``dz`` (K, N, M); the scales are (N,) or
    (K, N). Written into preallocated arrays (no concatenation copies)."""
    k, n, m = dz.shape
    sr, si = scales
    d = z - zm
    r = np.empty((k, 2 * n))
    np.divide(d.real, sr, out=r[:, :n])
    np.divide(d.imag, si, out=r[:, n:])
    jac = np.empty((k, 2 * n, m))
    np.divide(dz.real, -sr[..., None], out=jac[:, :n])
    np.divide(dz.imag, -si[..., None], out=jac[:, n:])
    return r, jac


def calc_modulus_residuals(z: np.ndarray, zm: np.ndarray, dz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Residuals (K, 2N) scaled by the model modulus |Zfit| (weighting ``modulus-calc``) and
    their exact Jacobian (K, 2N, M), from the data ``z``, the model ``zm`` (K, N) and its
    Jacobian ``dz`` (K, N, M)."""
    mod = np.maximum(np.abs(zm), 1e-300)
    d = z - zm
    r = np.concatenate([d.real / mod, d.imag / mod], axis=1)
    dmod = np.real(np.conj(zm)[:, :, None] * dz) / mod[:, :, None]
    jr = (-dz.real * mod[:, :, None] - d.real[:, :, None] * dmod) / mod[:, :, None] ** 2
    ji = (-dz.imag * mod[:, :, None] - d.imag[:, :, None] * dmod) / mod[:, :, None] ** 2
    return r, np.concatenate([jr, ji], axis=1)
