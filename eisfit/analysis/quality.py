"""Fit quality against the data's own noise level: the lack-of-fit ratio.

A Lin-KK Voigt chain (:func:`eisfit.kk_test`) describes any Kramers-Kronig consistent
spectrum down to its noise, so the RMS of its residuals (relative to |Z|, corrected for
the parameters of the chain) estimates the noise level of the data. A fitted circuit
that describes the data leaves residuals of the same size; one that cannot leaves
larger, systematic ones. The ratio

    lack_of_fit_ratio = rms_fit / noise_level,
    rms_fit = sqrt(sum |Z - Z_fit|^2 / |Z|^2 / (2N - M)),
    noise_level = sqrt(sum |Z - Z_KK|^2 / |Z|^2 / (2N - M_KK))

(M = free circuit parameters, M_KK = parameters of the Voigt chain) is ~1 for a right
model and grows with the misfit. Both sides are relative to |Z| whatever the fit's
weighting, so the ratio compares shapes, not weightings.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["LACK_OF_FIT_RATIO", "NOISE_FLOOR", "kk_noise_level", "voigt_noise_levels", "rms_relative_residual",
           "lack_of_fit_ratio", "is_lack_of_fit"]

LACK_OF_FIT_RATIO = 2.0  # residuals above twice the noise level: the model misses the data
NOISE_FLOOR = 1e-4  # relative residuals below 0.01 % of |Z| are never called a lack of fit


def kk_noise_level(kk_result) -> float:
    """Noise level of the data (fraction of |Z|, per real residual) from a
    :class:`~eisfit.analysis.kk.KKResult`: the RMS of the Lin-KK residuals over 2N
    values, with the chain's parameters (R_ohm, M resistances, L, 1/C) taken off the
    degrees of freedom. nan when there are too few points."""
    n_res = 2 * kk_result.frequency.size
    n_par = 1 + kk_result.n_rc + (kk_result.inductance_H is not None) + (kk_result.capacitance_F is not None)
    dof = n_res - n_par
    if dof <= 0:
        return math.nan
    return math.sqrt(max(float(kk_result.pseudo_chisq), 0.0) / dof)


def voigt_noise_levels(frequency: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Noise level (fraction of |Z|, per real residual) of each spectrum of ``z`` (S, N
    complex ohm, one grid ``frequency`` (N,) Hz) from a Voigt chain of N/2 elements
    (with R_inf, an inductance and a capacitance), fitted by linear least squares with
    modulus weights: nan where 2N leaves no degrees of freedom.

    The Lin-KK chain of :func:`kk_noise_level` is as short as the mu criterion allows; on
    a spectrum with a diffusion tail it can stop short and overstate the noise (by 1.6-5x
    on Warburg spectra whose fit then hid a 2x chi-square local minimum). A chain this long
    describes any KK-consistent shape, so its residuals are the noise; the fit being
    linear, the residual sum over 2N - P degrees of freedom is an unbiased estimate."""
    from .kk import _fit_chains  # the Voigt chain fit of the Lin-KK test

    z = np.atleast_2d(np.asarray(z, complex))
    n = z.shape[1]
    n_rc = max(n // 2, 1)
    dof = 2 * n - (n_rc + 3)
    if dof <= 0:
        return np.full(z.shape[0], math.nan)
    _, _, z_fit = _fit_chains(2.0 * np.pi * np.asarray(frequency, float), z, n_rc, True, True, "modulus")
    rel = np.abs(z - z_fit) ** 2 / np.maximum(np.abs(z), 1e-300) ** 2
    return np.sqrt(np.sum(rel, axis=1) / dof)


def rms_relative_residual(z: np.ndarray, z_fit: np.ndarray, n_free: int) -> float:
    """sqrt(sum |Z - Z_fit|^2 / |Z|^2 / (2N - M)): the fit's RMS residual per real
    residual as a fraction of |Z| (``z``, ``z_fit`` in ohm, ``n_free`` = M). nan when
    2N <= M."""
    z = np.asarray(z, complex)
    dof = 2 * z.size - int(n_free)
    if dof <= 0:
        return math.nan
    rel = np.abs(z - np.asarray(z_fit, complex)) ** 2 / np.maximum(np.abs(z), 1e-300) ** 2
    return math.sqrt(float(np.sum(rel)) / dof)


def lack_of_fit_ratio(z: np.ndarray, z_fit: np.ndarray, n_free: int, noise_level: float) -> float:
    """rms_relative_residual / noise_level (dimensionless); nan when either is unknown.

    The noise level is floored at :data:`NOISE_FLOOR` (a Voigt chain on noise-free
    synthetic data leaves ~1e-6 residuals, which would make every fit a lack of fit)."""
    rms = rms_relative_residual(z, z_fit, n_free)
    if not (math.isfinite(rms) and math.isfinite(noise_level)):
        return math.nan
    return rms / max(noise_level, NOISE_FLOOR)


def is_lack_of_fit(ratio: float, threshold: float = LACK_OF_FIT_RATIO) -> bool:
    """True when the ratio exceeds ``threshold`` (nan never does)."""
    return math.isfinite(ratio) and ratio > threshold


def fit_passes_kk_rule(frequency: np.ndarray, z: np.ndarray, z_fit: np.ndarray,
                       threshold_pct: float = 1.0, violation_pct: float = 2.0) -> bool:
    """True when the residuals of a fitted equivalent circuit pass the acceptance rule of
    :func:`eisfit.kk_test` (max |residual| / |Z| below ``threshold_pct``, or below
    ``violation_pct`` with random signs).

    A circuit of passive elements with non-negative values is itself Kramers-Kronig
    consistent, so data it describes this well are KK-consistent, even where the Lin-KK
    Voigt chain (whose length the mu criterion chooses) leaves systematic residuals
    (e.g. a sharp, nearly ideal arc between two of its time constants).
    """
    from .kk import _verdict

    mod = np.maximum(np.abs(z), 1e-300)
    order = np.argsort(frequency)
    res_re = ((z.real - z_fit.real) / mod)[order]
    res_im = ((z.imag - z_fit.imag) / mod)[order]
    max_pct = 100.0 * float(np.max(np.abs(np.concatenate([res_re, res_im]))))
    return bool(_verdict(max_pct, res_re, res_im, threshold_pct, violation_pct)[0])
