"""Kramers-Kronig validity test (Lin-KK).

Method: Schönleber, Klotz, Ivers-Tiffée, Electrochim. Acta 131 (2014) 20, building
on Boukamp, J. Electrochem. Soc. 142 (1995) 1885. The spectrum is fitted by a
Voigt chain, which is Kramers-Kronig compliant by construction::

    Z_KK(w) = R_ohm + j w L + 1/(j w C) + sum_k R_k / (1 + j w tau_k)

with ``M`` time constants ``tau_k`` log-spaced between ``1/w_max`` and ``1/w_min`` (or, for
a spectrum that fails so, 0.3 decades beyond ``1/w_min``: see ``kk_test``).
For fixed ``tau_k`` the model is linear in ``(R_ohm, R_k, L, 1/C)``, so every fit is a
weighted linear least-squares problem (a few hundred microseconds). ``M`` grows
from 1 until the over-fitting measure

    mu = 1 - sum_{R_k<0} |R_k| / sum_{R_k>=0} |R_k|

falls below ``c`` (0.85 in the paper). The residuals of that fit, relative to
``|Z|``, tell whether the data are KK-consistent (stationary, linear, causal).
"""
from __future__ import annotations

import functools
import inspect
import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np

from .._caller import user_stacklevel
from .._blas import small_blas
from .._checks import check_choice, check_positive_int_or_none, is_real_number, positive_number
from ..errors import DataError
from ..model.weighting import WEIGHTINGS_WITHOUT_SIGMA, check_weighting, residual_scales
from ..spectrum import (AREA_SPECIFIC_UNIT, Spectrum, as_spectrum, require_distinct_frequencies,
                        require_nonzero_impedance, shared_grid)
from ..units import format_frequency

__all__ = ["kk_test", "kk_tests", "KKResult", "voigt_time_constants", "kk_valid_band", "KKBand"]


@dataclass(frozen=True, eq=False)
class KKResult:
    """Outcome of a Lin-KK test. Arrays are per point, in the order of ``frequency``.

    Attributes
    ----------
    mu : over-fitting measure of the selected Voigt chain (dimensionless).
    n_rc : number M of RC elements of the selected chain.
    c : the mu threshold used.
    residuals_real, residuals_imag : (Z' - Z'_KK)/|Z| and (Z'' - Z''_KK)/|Z|, fractions.
    max_residual_pct : largest of |residuals_real| and |residuals_imag| over all points, %.
    mean_residual_pct : mean of |residual| over the 2N real and imaginary residuals, %.
    rms_residual_pct : root mean square of the 2N residuals, %.
    pseudo_chisq : Boukamp's sum(|Z - Z_KK|^2 / |Z|^2) (dimensionless).
    noise_estimate_pct : sqrt(pseudo_chisq * 5000 / N), an estimate of the noise SD in % of |Z|.
    noise_level : the noise level of the data, fraction of |Z| per real residual, what
        the lack-of-fit ratio compares a fit with: the RMS of this chain's residuals over its
        degrees of freedom (2N minus R_ohm, the M resistances, L, 1/C), or, where a Voigt
        chain of N/2 elements leaves residuals more than ``KK_NOISE_OVERSTATED`` times
        smaller, that chain's (:func:`eisfit.analysis.kk.voigt_noise_levels`): the mu criterion can stop the
        chain short of a shape (a diffusion tail) and overstate the noise.
    passed : the verdict, see :func:`kk_test` ("Acceptance rule").
    threshold_pct : residuals below it pass whatever their pattern, % of |Z|.
    status : ``valid`` (max <= threshold), ``noisy`` (max between threshold and
        ``violation_pct`` with random residuals, or systematic ones whose largest lies within
        the noise around it, :func:`_within_local_noise`; or above it with random residuals whose
        largest is within ``NOISE_MAX_SDS`` robust SDs), ``drift`` (below ``violation_pct``,
        systematic residuals; or residuals that would pass, random or not, whose lowest
        frequencies sit off zero: :func:`_offset_at_low_end`; or systematic ones that would
        pass whose largest, among the lowest frequencies, stands more than ``DRIFT_MAX_SDS``
        noise SDs out: :func:`_drift_above_noise`), ``too-noisy`` (random
        residuals whose robust SD, between ``NOISE_MAX_SD_PCT`` and ``TOO_NOISY_MAX_SD_PCT``
        of |Z|, is too large for the test to tell anything: not passed, not a violation
        either) or ``violation`` (max > ``violation_pct``, otherwise).
    structured : the residuals show a systematic pattern (runs test on their signs).
    violation_pct : above it a spectrum fails, % of |Z|, unless its residuals are random and
        their largest within ``NOISE_MAX_SDS`` robust SDs (noise).
    z_fit : impedance of the Voigt chain at ``frequency``, ohm (or ohm*cm2).
    frequency : Hz.
    r_ohm : series resistance of the chain, ohm (ohm*cm2 when ``impedance_unit`` says so).
    inductance_H : series inductance, H (H*cm2 for a spectrum per area; None when not fitted).
    capacitance_F : series capacitance, F (F/cm2 for a spectrum per area; None when not
        fitted or 1/C ~ 0). Like the chain's resistances, both are coefficients of a linear
        fit, not measured elements: either can come out negative (L -2e-7 H on data with
        +1e-7 H, the chain's fastest elements taking the rest).
    tau_s, r_k_ohm : time constants (s) and resistances (ohm, or ohm*cm2) of the RC elements.
    impedance_unit : ``ohm``, or ``ohm*cm2`` for a spectrum read per area
        (:attr:`Spectrum.area_specific`): the unit of ``r_ohm``, ``r_k_ohm`` and ``z_fit``;
        the residuals (fractions of |Z|) are the same either way.
    label : the spectrum's label.
    outliers_Hz : frequencies (Hz, ascending) of isolated outliers: single points whose
        residual stands out from both neighbours and from the rest (a glitch of one point:
        mains pick-up, a contact), see :func:`eisfit.analysis.kk.isolated_outliers`; empty for most spectra.
    residual_sd_pct : robust SD of the residuals (1.4826 x their median absolute deviation),
        % of |Z|: what the ``noisy`` and ``too-noisy`` rules compare the largest with.
    noise_sd_pct : the noise SD of the data from the residuals' second differences in
        frequency order (:func:`noise_sd_pct`), % of |Z|: a smooth pattern (a drift the chain
        could not follow) hardly moves it, so it is not inflated by what it is to judge.
    max_residual_sds : ``max_residual_pct / noise_sd_pct``: how far above the noise the
        largest residual stands (about 3 for noise alone on ~100 residuals; inf where the
        second differences vanish). The drift-above-noise rule uses it (:data:`eisfit.analysis.kk.DRIFT_MAX_SDS`).
    low_end_extension_decades : 0, or how far (decades) the chain's time constants reach
        beyond 1/omega_min: a spectrum that fails with the usual range, its largest residual
        at its lowest frequencies, is tested again with them (an arc whose apex lies just
        below the lowest frequency), see
        :data:`eisfit.analysis.kk.LOW_END_EXTENSION_DECADES`.
    """

    mu: float
    n_rc: int
    c: float
    residuals_real: np.ndarray
    residuals_imag: np.ndarray
    max_residual_pct: float
    mean_residual_pct: float
    rms_residual_pct: float
    pseudo_chisq: float
    noise_estimate_pct: float
    passed: bool
    threshold_pct: float
    z_fit: np.ndarray
    frequency: np.ndarray
    r_ohm: float
    inductance_H: float | None
    capacitance_F: float | None
    tau_s: np.ndarray
    r_k_ohm: np.ndarray
    weighting: str = "modulus"
    label: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    status: str = ""
    structured: bool = False
    violation_pct: float = 2.0
    noise_level: float = math.nan
    outliers_Hz: tuple[float, ...] = ()
    low_end_extension_decades: float = 0.0
    residual_sd_pct: float = math.nan
    impedance_unit: str = "ohm"
    noise_sd_pct: float = math.nan
    max_residual_sds: float = math.nan

    @property
    def passed_by_threshold_only(self) -> bool:
        """A pass whose residuals are systematic and whose largest stands more than
        ``THRESHOLD_ONLY_SDS`` noise SDs (``noise_sd_pct``) out: it passes because the
        deviation is below ``threshold_pct``, not because the residuals are noise (a real
        dielectric sweep: 0.97 % at 202 noise SDs, a smooth pattern the chain cannot follow).
        The verdict is the threshold's; such a pattern is what a drift or the instrument's own
        error leaves."""
        return bool(self.passed and self.structured and self.max_residual_sds > THRESHOLD_ONLY_SDS)

    @property
    def noise_dominated(self) -> bool:
        """Whether the points scatter from one to the next by ``NOISE_DOMINATED_SD_PCT`` of |Z|
        or more (``noise_sd_pct``, from the residuals' second differences, which neither a
        drift nor a shape the chain misses inflates): they are noise, not a spectrum (a GEIS
        recording whose Z' jumps between -29 and +67 ohm from point to point), and nothing
        fitted to them describes the cell."""
        return bool(self.noise_sd_pct >= NOISE_DOMINATED_SD_PCT)

    def to_dict(self) -> dict[str, Any]:
        """Scalars (and the per-point residuals, as lists) in a plain dict."""
        return {
            "label": self.label,
            "passed": self.passed,
            "passed_by_threshold_only": self.passed_by_threshold_only,
            "noise_dominated": self.noise_dominated,
            "status": self.status,
            "structured": self.structured,
            "violation_pct": self.violation_pct,
            "mu": self.mu,
            "c": self.c,
            "n_rc": self.n_rc,
            "max_residual_pct": self.max_residual_pct,
            "mean_residual_pct": self.mean_residual_pct,
            "rms_residual_pct": self.rms_residual_pct,
            "threshold_pct": self.threshold_pct,
            "pseudo_chisq": self.pseudo_chisq,
            "noise_estimate_pct": self.noise_estimate_pct,
            "noise_level": self.noise_level,
            "residual_sd_pct": self.residual_sd_pct,
            "noise_sd_pct": self.noise_sd_pct,
            "max_residual_sds": self.max_residual_sds,
            "r_ohm": self.r_ohm,
            "impedance_unit": self.impedance_unit,
            "inductance_H": self.inductance_H,
            "capacitance_F": self.capacitance_F,
            "weighting": self.weighting,
            "warnings": list(self.warnings),
            "outliers_Hz": list(self.outliers_Hz),
            "low_end_extension_decades": self.low_end_extension_decades,
            "frequency_Hz": self.frequency.tolist(),
            "residuals_real": self.residuals_real.tolist(),
            "residuals_imag": self.residuals_imag.tolist(),
        }

    def to_dataframe(self):
        """Per-point table: frequency_Hz, residual_real_pct, residual_imag_pct, z_fit parts
        (``z_fit_real_ohm``..., ``z_fit_real_ohm_cm2``... for a spectrum per area)."""
        import pandas as pd

        unit = "ohm_cm2" if self.impedance_unit == AREA_SPECIFIC_UNIT else "ohm"

        return pd.DataFrame(
            {
                "frequency_Hz": self.frequency,
                "residual_real_pct": 100.0 * self.residuals_real,
                "residual_imag_pct": 100.0 * self.residuals_imag,
                f"z_fit_real_{unit}": self.z_fit.real,
                f"z_fit_imag_{unit}": self.z_fit.imag,
            }
        )

    def _repr_html_(self) -> str:
        """The notebook view: the verdict and its status, the residuals against the limits and
        the noise, the Voigt chain, the warnings."""
        from .._html import html_list, html_table

        verdict = f"{'passed' if self.passed else 'FAILED'} ({self.status})" if self.status else \
            ("passed" if self.passed else "FAILED")
        rows = [("verdict", verdict),
                ("largest residual", f"{self.max_residual_pct:.3g} % of |Z| ({self.max_residual_sds:.3g} noise SDs; "
                                     f"limits {self.threshold_pct:g} % and {self.violation_pct:g} %)"),
                ("rms residual", f"{self.rms_residual_pct:.3g} % of |Z|"),
                ("noise SD (from the residuals' second differences)", f"{self.noise_sd_pct:.3g} % of |Z|"),
                ("Voigt chain", f"M = {self.n_rc} RC elements, mu = {self.mu:.3f} (c = {self.c:g}), "
                                f"{self.weighting} weighting")]
        caption = f"Lin-KK test of {self.label}" if self.label else "Lin-KK test"
        return html_table(["", "value"], rows, caption=caption) + html_list(self.warnings)

    def __repr__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"KKResult({self.label!r}: {verdict}, mu={self.mu:.3f}, M={self.n_rc}, "
            f"max residual {self.max_residual_pct:.3g} %, {self.max_residual_sds:.3g} noise SDs)"
        )


def voigt_time_constants(omega_min: float, omega_max: float, n_rc: int, extend_low: float = 0.0) -> np.ndarray:
    """Lin-KK time constants (s): ``n_rc`` values log-spaced from 1/omega_max to 1/omega_min,
    or to ``extend_low`` decades beyond 1/omega_min (see :data:`LOW_END_EXTENSION_DECADES`).

    With a single element, tau is the geometric mean of the two limits. The array is
    read-only (remembered for the grids met last: a test grows the chain one element at
    a time, twice, and a campaign shares one grid).
    """
    return _time_constants(float(omega_min), float(omega_max), int(n_rc), float(extend_low))


@functools.lru_cache(maxsize=512)
def _time_constants(omega_min: float, omega_max: float, n_rc: int, extend_low: float) -> np.ndarray:
    lo, hi = math.log10(1.0 / omega_max), math.log10(1.0 / omega_min) + extend_low
    tau = np.array([10.0 ** (0.5 * (lo + hi))]) if n_rc == 1 else np.logspace(lo, hi, n_rc)
    tau.flags.writeable = False
    return tau


def _design_matrix(
    omega: np.ndarray, tau: np.ndarray, inductance: bool, capacitance: bool
) -> np.ndarray:
    """Complex design matrix (N x P), columns: R_ohm, R_1..R_M, [L], [1/C]; with one grid per
    spectrum (omega (S, N), tau (S, M)) one matrix per spectrum (S, N, P)."""
    w = omega[..., :, None]
    blocks = [np.ones(w.shape, dtype=complex), 1.0 / (1.0 + 1j * (w * tau[..., None, :]))]
    if inductance:
        blocks.append(1j * w)
    if capacitance:
        blocks.append(1.0 / (1j * w))
    return np.concatenate(blocks, axis=-1)


GRID_DESIGNS_KEPT = 128  # one-grid chain designs remembered (_grid_design): a Lin-KK test of a 51-point grid
# uses 52 (chains of 1-25 elements without and with a capacitance, the longer ones), < 1.5 MB: two grids' worth


def _chain_design(omega: np.ndarray, n_rc: int, inductance: bool, capacitance: bool, extend_low: float = 0.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(tau (s), complex design matrix) of chains of ``n_rc`` elements (:func:`_design_matrix`):
    on the grid ``omega`` (N,) rad/s (M,) and (N, P), remembered (:func:`_grid_design`); on
    each grid of (S, N), (S, M) and (S, N, P). ``extend_low``: see :func:`voigt_time_constants`."""
    if omega.ndim == 1:
        return _grid_design(np.ascontiguousarray(omega, dtype=float).tobytes(), n_rc, inductance, capacitance,
                            extend_low)
    tau = _chain_time_constants(omega, n_rc, extend_low)
    return tau, _design_matrix(omega, tau, inductance, capacitance)


@functools.lru_cache(maxsize=GRID_DESIGNS_KEPT)
def _grid_design(omega_bytes: bytes, n_rc: int, inductance: bool, capacitance: bool, extend_low: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_chain_design` of one grid (given by its bytes, float64 rad/s), read-only. A
    batch grows every chain length on one grid, twice, and a campaign's batches share the
    grid, on which alone the design depends (the weights, which differ per spectrum, enter
    the solve)."""
    omega = np.frombuffer(omega_bytes, dtype=float)
    tau = _chain_time_constants(omega, n_rc, extend_low)
    matrix = _design_matrix(omega, tau, inductance, capacitance)
    matrix.flags.writeable = False
    return tau, matrix


def _chain_time_constants(omega: np.ndarray, n_rc: int, extend_low: float = 0.0) -> np.ndarray:
    """:func:`voigt_time_constants` of a grid (N,), or of each grid of (S, N): (S, M)."""
    if omega.ndim == 1:
        return voigt_time_constants(omega.min(), omega.max(), n_rc, extend_low)
    return np.array([voigt_time_constants(lo, hi, n_rc, extend_low)
                     for lo, hi in zip(omega.min(axis=1), omega.max(axis=1))])


def _row(a: np.ndarray, i: int | np.ndarray, ndim: int) -> np.ndarray:
    """Row(s) ``i`` of a per-spectrum array (``ndim`` dimensions), or ``a`` itself where
    all spectra share it (one grid)."""
    return a[i] if a.ndim == ndim else a


def default_max_rc(n_points: int, omega_min: float, omega_max: float) -> int:
    """Largest M tried: 5 RC per decade of frequency (at least 10), and at most N/2."""
    decades = max(math.log10(omega_max / omega_min), 1.0)
    return max(1, min(n_points // 2, max(10, int(math.ceil(5 * decades)))))


def _solve_batch(design: np.ndarray, z: np.ndarray, sr: np.ndarray, si: np.ndarray) -> np.ndarray:
    """Weighted least-squares coefficients (S, P) minimising, for each spectrum s,
    sum((Re(Z_s - D c_s)/sr_s)^2 + (Im(Z_s - D c_s)/si_s)^2).

    The S spectra share the design D (N, P) and differ in their weights, so for a stack
    every Gram matrix is one row of a single matrix product (:func:`_normal_equations_stacked`);
    below ``STACK_OUTER_FROM`` spectra each has its own product. The normal equations are
    column-scaled and solved by Cholesky (the Voigt design is well conditioned once
    scaled, L ~ 1e-7 beside R ~ 1e2); spectra whose factorisation fails or shows a
    condition number above ~1e8 fall back to QR, then to the SVD.
    """
    dr, di = design.real, design.imag
    each = z.shape[0] < STACK_OUTER_FROM or design.ndim == 3  # one design per spectrum: each its own product
    gram, rhs = (_normal_equations_each if each else _normal_equations_stacked)(dr, di, z, sr, si)
    norms = np.sqrt(np.maximum(np.diagonal(gram, axis1=1, axis2=2), 0.0))
    norms[norms == 0] = 1.0
    gram /= norms[:, :, None] * norms[:, None, :]
    rhs /= norms
    coef = np.empty_like(rhs)
    try:
        chol = np.linalg.cholesky(gram)
        d = np.abs(np.diagonal(chol, axis1=1, axis2=2))
        ok = (d.min(axis=1) > 0) & ((d.max(axis=1) / np.maximum(d.min(axis=1), 1e-300)) ** 2 < 1e8)
    except np.linalg.LinAlgError:
        ok = np.zeros(gram.shape[0], dtype=bool)
    if ok.all():  # the usual case: no copies of the stack
        coef = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
    elif ok.any():  # well conditioned: one LU solve each (two triangular solves through np.linalg cost twice)
        coef[ok] = np.linalg.solve(gram[ok], rhs[ok][:, :, None])[:, :, 0]
    if not ok.all():
        bad = ~ok
        a = np.concatenate([_each(dr, bad) / sr[bad][:, :, None], _each(di, bad) / si[bad][:, :, None]], axis=1)
        b = np.concatenate([z[bad].real / sr[bad], z[bad].imag / si[bad]], axis=1)
        coef[bad] = _lstsq_qr(a / norms[bad][:, None, :], b)
    return coef / norms


STACK_OUTER_FROM = 16  # spectra from which the Gram matrices come from one product with the outer products
# (~5 us per spectrum at 256 spectra, 25 elements); below, each spectrum's own product (35 us for one
# spectrum against ~600 us for the outer products, whose cost does not shrink with the stack)


def _each(d: np.ndarray, rows=slice(None)) -> np.ndarray:
    """The design (part) of spectra ``rows``: (S, N, P), or (1, N, P) where they share it."""
    return d[rows] if d.ndim == 3 else d[None]


def _normal_equations_each(dr, di, z, sr, si) -> tuple[np.ndarray, np.ndarray]:
    """Gram matrices and right-hand sides (S, P, P), (S, P) of the weighted design (one
    (N, P) for all spectra, or one per spectrum), one product per spectrum."""
    aw = np.concatenate([_each(dr) / sr[:, :, None], _each(di) / si[:, :, None]], axis=1)
    bw = np.concatenate([z.real / sr, z.imag / si], axis=1)
    at = aw.transpose(0, 2, 1)
    return at @ aw, (at @ bw[:, :, None])[:, :, 0]


def _normal_equations_stacked(dr, di, z, sr, si) -> tuple[np.ndarray, np.ndarray]:
    """The same from one matrix product: G_s = (wr_s @ Or) + (wi_s @ Oi) with
    Or_i = Re D_i Re D_i^T and Oi_i = Im D_i Im D_i^T."""
    n, k = dr.shape
    outer_r = (dr[:, :, None] * dr[:, None, :]).reshape(n, k * k)
    outer_i = (di[:, :, None] * di[:, None, :]).reshape(n, k * k)
    wr, wi = 1.0 / (sr * sr), 1.0 / (si * si)
    gram = wr @ outer_r
    gram += wi @ outer_i  # in place: one (S, P^2) temporary fewer
    gram = gram.reshape(-1, k, k)
    return gram, (z.real * wr) @ dr + (z.imag * wi) @ di


def _lstsq_qr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched QR least squares; numerically rank-deficient systems use the SVD."""
    q, r = np.linalg.qr(a)
    diag = np.abs(np.diagonal(r, axis1=1, axis2=2))
    cutoff = 1e3 * np.finfo(float).eps * max(a.shape[1:]) * diag.max(axis=1, keepdims=True)
    deficient = np.any(diag <= cutoff, axis=1)
    coef = np.empty((a.shape[0], a.shape[2]))
    good = ~deficient
    if good.any():
        qtb = np.einsum("kri,kr->ki", q[good], b[good])
        coef[good] = np.linalg.solve(r[good], qtb[:, :, None])[:, :, 0]
    if deficient.any():
        u, sv, vt = np.linalg.svd(a[deficient], full_matrices=False)
        cut = np.finfo(float).eps * max(a.shape[1:]) * sv[:, :1]
        inv_s = np.where(sv > cut, 1.0 / np.where(sv > cut, sv, 1.0), 0.0)
        coef[deficient] = np.einsum("kip,ki->kp", vt, np.einsum("kri,kr->ki", u, b[deficient]) * inv_s)
    return coef


def _fit_chains(omega: np.ndarray, z: np.ndarray, n_rc: int, inductance: bool, capacitance: bool,
                weighting: str, scales: tuple[np.ndarray, np.ndarray] | None = None, extend_low: float = 0.0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit a chain of ``n_rc`` RC elements to each spectrum of ``z`` (S, N) on the grid
    ``omega`` (N,) rad/s, or each on its own (S, N); returns (tau (M,) or (S, M),
    coefficients (S, P), z_fit (S, N)). ``scales``: the data's residual scales
    (:func:`_scales` of ``z``), when already computed. ``extend_low``: see
    :func:`voigt_time_constants`."""
    tau, design = _chain_design(omega, n_rc, inductance, capacitance, extend_low)
    sr, si = _scales(z, weighting) if scales is None else scales
    coef = _solve_batch(design, z, sr, si)
    z_fit = _chain_impedance(design, coef)
    if weighting == "modulus-calc":  # weights from the model: one refinement suffices
        sr, si = _scales(z, "modulus-calc", z_fit)
        coef = _solve_batch(design, z, sr, si)
        z_fit = _chain_impedance(design, coef)
    return tau, coef, z_fit


def _chain_impedance(design: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Z of chains (S, N): coefficients (S, P) through one design (N, P) or one each (S, N, P)."""
    return coef @ design.T if design.ndim == 2 else (design @ coef[:, :, None])[:, :, 0]


def _scales(z: np.ndarray, weighting: str, z_model: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`residual_scales` of a stack of spectra (S, N): every weighting is elementwise."""
    sr, si = residual_scales(z.ravel(), weighting, z_model=None if z_model is None else z_model.ravel())
    return np.reshape(sr, z.shape), np.reshape(si, z.shape)


@dataclass
class _Chain:
    """The Voigt chain selected for one spectrum."""

    tau: np.ndarray
    coef: np.ndarray
    z_fit: np.ndarray
    mu: float
    reached: bool  # mu < c was reached


def _grow_chains(omega, z, c, max_rc, inductance, capacitance, weighting, threshold_pct=1.0,
                 extend_low: float = 0.0) -> list[_Chain]:
    """M = 1, 2, ... until mu < c at a chain that is not under-fitted, for every spectrum of
    ``z`` (S, N) at once (the chains of one M share their design matrix).

    Schönleber's rule stops at the first M with mu < c. With a near-ideal arc (n ~ 0.95)
    and few elements per decade, mu can dip below c long before the chain describes the
    data (neighbouring elements go negative to shape the narrow arc): the residuals are
    then large and sinusoidal, the mark of too small an M. Such a chain
    (:func:`_underfitted`) does not end the search; the next M with mu < c is tried. When
    every chain with mu < c is under-fitted, the chain with ``max_rc`` elements is used when
    it describes the data (with little noise mu stays >= c once the chain fits: a noiseless
    ZARC with n = 0.9 failed at M = 4 with 55 % residuals) or far better than the first
    under-fitted one (:func:`_fits_better`), else that first one (a real violation); when mu
    never falls below c, the chain with ``max_rc`` elements.
    ``extend_low``: see :func:`voigt_time_constants`. The tests of each M run on the whole
    stack; only the spectra a test settles are visited one by one.
    """
    chains: list[_Chain | None] = [None] * z.shape[0]
    first: dict[int, _Chain] = {}  # each spectrum's first under-fitted chain with mu < c
    pending = np.arange(z.shape[0])
    scales = _scales(z, weighting)
    order = np.argsort(omega, axis=-1)  # frequency order, for the runs test
    for m in range(1, max_rc + 1):
        tau, coef, z_fit = _fit_chains(_row(omega, pending, 2), z[pending], m, inductance, capacitance, weighting,
                                       (scales[0][pending], scales[1][pending]), extend_low)
        mu = _mu(coef[:, 1:1 + m])
        below = ~(mu >= c)  # (a nan mu counts as below, as ever)
        under = np.zeros(pending.size, dtype=bool)
        ask = np.flatnonzero(below) if m < max_rc else np.arange(pending.size)  # where it decides anything
        if ask.size:
            under[ask] = _underfitted(_row(order, pending[ask], 2), z[pending[ask]], z_fit[ask], threshold_pct)

        def chain(j: int) -> _Chain:
            return _Chain(_row(tau, j, 2), coef[j], z_fit[j], float(mu[j]), bool(mu[j] < c))

        for j in np.flatnonzero(below & under):
            first.setdefault(int(pending[j]), chain(j))
        done = below & ~under
        for j in np.flatnonzero(done):
            chains[pending[j]] = chain(j)
        if m == max_rc:  # the longest chain, when it describes the data: earlier chains with mu < c were
            # under-fitted (low-noise data keep mu >= c once fitted); else the first under-fitted one
            for j in np.flatnonzero(~done):
                i = int(pending[j])
                chains[i] = first[i] if i in first and under[j] and not _fits_better(chain(j), first[i], z[i]) \
                    else chain(j)
        pending = pending[~done]
        if pending.size == 0:
            break
    return chains  # type: ignore[return-value]


LONGEST_CHAIN_BETTER = 3.0  # the longest chain's largest residual this many times below the first under-fitted one's


def _fits_better(longest: _Chain, first: _Chain, z: np.ndarray) -> bool:
    """Whether the longest chain describes ``z`` (N,) far better than the first under-fitted
    chain with mu < c (its largest residual ``LONGEST_CHAIN_BETTER`` times smaller): that one's
    residuals then came from its length, not from the data. A near-ideal RC arc over 5.7 decades
    (a Zahner test file, n 0.997) had been reported as a 31.6 % violation from a chain of 5
    elements whose neighbours went negative, while 29 elements left 1.3 % at mu 0.35. Not where
    the longest chain's resistances nearly cancel (mu below ``LENGTHEN_MIN_MU``)."""
    def worst(chain: _Chain) -> float:
        return float(_max_residual_pct(*_relative_residuals(z[None, :], chain.z_fit[None, :]))[0])
    # a longest chain whose resistances nearly cancel follows whatever the points do (a 2 % ripple of
    # log f, no KK-consistent shape, left 1.2 % at mu 0.03): not a description (LENGTHEN_MIN_MU)
    return longest.mu >= LENGTHEN_MIN_MU and worst(longest) * LONGEST_CHAIN_BETTER < worst(first)


LENGTHEN_NOISE_DROP = 3.0  # a longer chain whose noise estimate is 3x lower: the selected chain was too short
LENGTHEN_NEAR_BEST = 1.5  # the shortest longer chain within 1.5x of the best noise estimate is used
LENGTHEN_MIN_MU = 0.2  # a longer chain whose resistances nearly cancel (mu below this) follows whatever the
# points do, not a distribution: not used (sharp arcs at 5-7 points per decade give mu 0.37-0.97; a
# 790 kHz glitch of a battery spectrum was "explained" at mu 0.01)
LENGTHEN_FACTORS = (1.5, 1.25)  # longer chains tried, in multiples of max_rc (at most N): the probe, then the
# shorter one where the probe shows the selected chain too short


RIPPLE_FACTORS = (1.5, 2.0, 3.0)  # chains tried past a selected chain of M elements that leaves ripples
RIPPLE_AT_FLOOR = 1.1  # ... used when their noise estimate is within 1.1x of the chain of N/2 elements'
RIPPLE_ABOVE_FLOOR = 1.5  # ... where the selected chain's is 1.5x above it


def _regrow_rippled_chains(omega, z, chains: list[_Chain], max_rc: int, inductance, capacitance, weighting,
                           threshold_pct: float, floor: np.ndarray, extend_low: float = 0.0) -> None:
    """Replace, in place, selected chains that stopped short of describing a sharp arc.

    Schönleber's rule takes the first M with mu < c. With a near-ideal arc (n >= 0.95) at 10
    points per decade, mu can dip below c while the few time constants per decade still
    leave ripples whose signs change every 3-4 points, which the runs test finds random (an
    arc of n = 0.96: 8.6 % at M = 12 under 0.35 % noise, mu 0.80; 0.8 % at M = 20, mu 0.93).
    The lengthening of :func:`_lengthen_short_chains` tries chains longer than ``max_rc``
    only, whose resistances cancel. For each spectrum whose chain leaves residuals above
    ``threshold_pct`` and estimates the noise (:func:`_chain_noise`) ``RIPPLE_ABOVE_FLOOR``
    times above ``floor`` (S,), the estimate of the chain of N/2 elements
    (:func:`voigt_noise_levels`), chains of ``RIPPLE_FACTORS`` times its M (at most
    ``max_rc``) are fitted, and the shortest that reaches the floor (within
    ``RIPPLE_AT_FLOOR``) with mu at least ``LENGTHEN_MIN_MU`` (or the chosen chain's mu, where
    that is lower: with a series capacitance some valid diffusion spectra give mu < 0 at every
    M) is used: on a sharp arc the estimate falls to the noise and stays there as M grows
    (0.37 % from M = 22 to 40). A chain that follows a non-KK feature by cancelling
    resistances (a missing inductance: the estimate falls slowly with M, mu with it, 0.48 % at
    M = 15, 0.30 % at 23, 0.20 % at 40) does not reach the floor at 1.5, 2 or 3 M with
    mu >= 0.2, and a drift is a shape no chain follows: the residuals that stay judge the
    spectrum (3 M: two more of 960 true-model family spectra pass, no drift passes more).
    """
    fits = np.array([ch.z_fit for ch in chains])
    sizes = np.array([ch.tau.size for ch in chains])
    n_extra = 1 + int(inductance) + int(capacitance)
    above = _max_residual_pct(*_relative_residuals(z, fits)) > threshold_pct
    todo = np.flatnonzero((sizes < max_rc) & above)
    if todo.size:
        todo = todo[_chain_noise(z[todo], fits[todo], sizes[todo], n_extra) > RIPPLE_ABOVE_FLOOR * floor[todo]]

    def accept(rows: np.ndarray, m: int, z_fit: np.ndarray, mu: np.ndarray) -> np.ndarray:
        at_floor = _chain_noise(z[rows], z_fit, m, n_extra) <= RIPPLE_AT_FLOOR * floor[rows]
        least_mu = np.minimum(LENGTHEN_MIN_MU, [chains[i].mu for i in rows])  # no more cancelling than chosen
        return at_floor & (mu >= least_mu)

    _lengthen(omega, z, chains, todo, sizes, max_rc, inductance, capacitance, weighting, extend_low, accept)


def _lengthen(omega, z, chains: list[_Chain], todo: np.ndarray, sizes: np.ndarray, max_rc: int, inductance,
              capacitance, weighting, extend_low: float, accept) -> None:
    """Replace, in place, each chain of ``todo`` by the shortest chain of ``RIPPLE_FACTORS``
    times its M elements (at most ``max_rc``) that ``accept(rows, m, z_fit, mu)`` takes (a
    bool per row of the chains of ``m`` elements fitted to the spectra ``rows``)."""
    found: dict[int, _Chain] = {}
    for factor in RIPPLE_FACTORS:
        todo = np.array([i for i in todo if int(i) not in found], dtype=int)
        lengths = np.minimum(max_rc, np.ceil(factor * sizes[todo]).astype(int))
        for m in np.unique(lengths):
            rows = todo[lengths == m]
            tau, coef, z_fit = _fit_chains(_row(omega, rows, 2), z[rows], int(m), inductance, capacitance, weighting,
                                           extend_low=extend_low)
            mu = _mu(coef[:, 1:1 + m])
            for k in np.flatnonzero(accept(rows, int(m), z_fit, mu)):
                found[int(rows[k])] = _Chain(_row(tau, k, 2), coef[k], z_fit[k], float(mu[k]), True)
    for i, chain in found.items():
        chains[i] = chain


DRIFT_REGROW_MIN_MU = 0.2  # a longer chain tried on a low-end deviation keeps mu at least this (calibrated below)


def _regrow_low_end_chains(omega, z, chains: list[_Chain], max_rc: int, inductance, capacitance, weighting,
                           threshold_pct: float, violation_pct: float, extend_low: float = 0.0) -> None:
    """Replace, in place, selected chains that leave a low-end deviation a longer chain follows.

    The drift rule (:func:`_drift_above_noise`) fails residuals that are systematic, largest
    among the lowest frequencies and far above their noise. A chain stopped short by the mu
    criterion can leave that on a KK-consistent spectrum too: a finite-length diffusion tail
    behind an ideal capacitor under 0.05-0.1 % noise (3 of 3,200 consistent spectra), where
    a chain of 1.5 times the elements follows the tail with mu 0.7-0.9. For each chain that
    fails by that rule alone, chains of ``RIPPLE_FACTORS`` times its M (at most ``max_rc``)
    are fitted and the shortest that passes the whole rule (:func:`_verdict`), with mu at
    least ``DRIFT_REGROW_MIN_MU``, is used. A drift is a shape no Voigt chain follows: the
    longer chains keep the deviation (or follow it only by cancelling resistances); a chain
    failing for another reason is never replaced (a longer one could absorb a drift that the
    other rules see)."""
    fits = np.array([ch.z_fit for ch in chains])
    sizes = np.array([ch.tau.size for ch in chains])
    order = np.argsort(omega, axis=-1)

    def verdicts(rows: np.ndarray, z_fit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(passes the whole rule, fails by the drift-above-noise rule alone) of chains ``z_fit`` of ``rows``."""
        res_re, res_im = _relative_residuals(z[rows], z_fit)
        row_order = _row(order, rows, 2)
        ordered_re, ordered_im = _in_order(res_re, row_order), _in_order(res_im, row_order)
        structured = _systematic(ordered_re, ordered_im)
        above = _drift_above_noise(ordered_re, ordered_im, structured)
        max_pct = _max_residual_pct(res_re, res_im)
        passed = np.zeros(rows.size, dtype=bool)
        alone = np.zeros(rows.size, dtype=bool)
        for k in range(rows.size):
            passed[k] = _verdict(float(max_pct[k]), ordered_re[k], ordered_im[k], threshold_pct, violation_pct,
                                 bool(structured[k]), drift_above_noise=bool(above[k]))[0]
            if above[k] and not passed[k]:
                alone[k] = _verdict(float(max_pct[k]), ordered_re[k], ordered_im[k], threshold_pct, violation_pct,
                                    bool(structured[k]), drift_above_noise=False)[0]
        return passed, alone

    everyone = np.arange(len(chains))
    todo = everyone[sizes < max_rc]
    if todo.size:
        todo = todo[verdicts(todo, fits[todo])[1]]
    _lengthen(omega, z, chains, todo, sizes, max_rc, inductance, capacitance, weighting, extend_low,
              lambda rows, m, z_fit, mu: verdicts(rows, z_fit)[0] & (mu >= DRIFT_REGROW_MIN_MU))


def _chain_noise(z: np.ndarray, z_fit: np.ndarray, m, n_extra: int) -> np.ndarray:
    """Noise estimate of chains of ``m`` elements (one M, or one per row) and ``n_extra``
    series elements fitted to ``z`` (S, N): the RMS residual (relative to |Z|) over the
    2N - M - ``n_extra`` degrees of freedom, which noise alone keeps about constant whatever
    M (the fit being linear, an unbiased estimate); nan where none is left."""
    dof = 2 * z.shape[1] - np.asarray(m) - n_extra
    return np.where(dof > 0, np.sqrt(_pseudo_chisq_rows(z, z_fit) / np.maximum(dof, 1)), np.nan)


def _lengthen_short_chains(omega, z, chains: list[_Chain], max_rc: int, most: int, inductance, capacitance,
                           weighting, threshold_pct: float, extend_low: float = 0.0) -> None:
    """Replace, in place, selected chains that are too short for their spectrum.

    The time constants of a chain are fixed on a log grid. A sharp arc (n >= 0.95, an ideal
    RC) sampled at 5-7 points per decade falls between grid points, and with at most N/2
    elements the chain leaves ripples of 4-14 % whose signs alternate (the runs test does
    not see them as systematic): an ideal RC failed at 5 points per decade, 11 of 11 time
    constants, while chains of 2N/3 elements leave < 0.1 %; at 7 points per decade the
    ripples of 2 % passed as ``noisy`` and overstated the noise level. For each spectrum
    whose selected chain leaves residuals above ``threshold_pct``, a chain of 1.5 ``max_rc``
    elements (at most ``most``) is fitted; where it estimates the noise (RMS residual over
    its degrees of freedom, which noise alone keeps about constant whatever M) at least
    ``LENGTHEN_NOISE_DROP`` times lower than the selected chain, a chain of 1.25 ``max_rc``
    is fitted too and the shorter of the two within ``LENGTHEN_NEAR_BEST`` of the better
    one's noise estimate is used, if its mu is at least ``LENGTHEN_MIN_MU`` (resistances that
    nearly cancel describe the points, not relaxations). A longer Voigt chain is still Kramers-Kronig compliant,
    and a drift or a non-linearity is not a shape it can follow: its residuals stay. A
    spectrum the chain describes within the threshold costs nothing more; one above it one
    or two chain fits.
    """
    fits = np.array([ch.z_fit for ch in chains])
    sizes = np.array([ch.tau.size for ch in chains])
    above = _max_residual_pct(*_relative_residuals(z, fits)) > threshold_pct
    todo = np.flatnonzero((sizes < most) & above).tolist()
    probe, shorter = (min(most, int(round(f * max_rc))) for f in LENGTHEN_FACTORS)
    if not todo or probe <= max_rc:
        return
    n_extra = 1 + int(inductance) + int(capacitance)

    def longer_chain(rows: list[int], m: int):  # (M, tau, coefficients, z_fit, noise estimates) of the rows
        tau, coef, z_fit = _fit_chains(_row(omega, rows, 2), z[rows], m, inductance, capacitance, weighting,
                                       extend_low=extend_low)
        return m, tau, coef, z_fit, _chain_noise(z[rows], z_fit, m, n_extra)

    selected = _chain_noise(z[todo], fits[todo], sizes[todo], n_extra)
    first = longer_chain(todo, probe)
    too_short = [j for j in range(len(todo)) if first[4][j] * LENGTHEN_NOISE_DROP < selected[j]]
    if not too_short:
        return
    rows = [todo[j] for j in too_short]
    candidates = [(probe, _row(first[1], too_short, 2), first[2][too_short], first[3][too_short],
                   first[4][too_short])]
    if max_rc < shorter < probe:
        candidates.insert(0, longer_chain(rows, shorter))
    for k, i in enumerate(rows):
        usable = [c for c in candidates if _mu(c[2][k, 1:1 + c[0]]) >= LENGTHEN_MIN_MU]
        if not usable:
            continue
        best = min(c[4][k] for c in usable)
        m, tau, coef, z_fit, _ = next(c for c in usable if c[4][k] <= LENGTHEN_NEAR_BEST * best)
        chains[i] = _Chain(_row(tau, k, 2), coef[k], z_fit[k], float(_mu(coef[k, 1:1 + m])), True)


def _mu(r_k: np.ndarray) -> np.ndarray:
    """Schönleber's mu = 1 - sum |R_k < 0| / sum R_k >= 0 of chains' resistances (..., M)
    (0 where no resistance is positive)."""
    pos = np.sum(np.where(r_k >= 0, r_k, 0.0), axis=-1)
    neg = -np.sum(np.where(r_k < 0, r_k, 0.0), axis=-1)
    return np.where(pos <= 0, 0.0, 1.0 - neg / np.where(pos <= 0, 1.0, pos))


def _pseudo_chisq_rows(z: np.ndarray, z_fit: np.ndarray) -> np.ndarray:
    """sum(|Z - Z_fit|^2 / |Z|^2) over the last axis."""
    return np.sum(np.abs(z - z_fit) ** 2 / np.maximum(np.abs(z), 1e-300) ** 2, axis=-1)


def _relative_residuals(z: np.ndarray, z_fit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Z' - Z'_fit)/|Z| and (Z'' - Z''_fit)/|Z| (fractions), point by point, any shape."""
    mod = np.abs(z)
    return (z.real - z_fit.real) / mod, (z.imag - z_fit.imag) / mod


def _max_residual_pct(res_re: np.ndarray, res_im: np.ndarray) -> np.ndarray:
    """The largest |real| or |imaginary| residual over the last axis (of each spectrum), in
    % of |Z|."""
    return 100.0 * np.maximum(np.max(np.abs(res_re), axis=-1), np.max(np.abs(res_im), axis=-1))


def _in_order(a: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Each row of ``a`` (S, N) in ``order``: one permutation (N,) for all, or one per row (S, N)."""
    return a[:, order] if order.ndim == 1 else np.take_along_axis(a, order, axis=1)


def _underfitted(order: np.ndarray, z: np.ndarray, z_fit: np.ndarray, threshold_pct: float) -> np.ndarray:
    """Per spectrum of ``z`` (S, N): residuals above the threshold AND systematic (runs test on
    the signs in frequency ``order``, (N,) or (S, N))."""
    res_re, res_im = _relative_residuals(z, z_fit)
    under = _max_residual_pct(res_re, res_im) > threshold_pct
    if under.any():  # the runs test where the residuals are above the threshold
        rows = np.flatnonzero(under)
        rows_order = _row(order, rows, 2)
        under[rows] = _systematic(_in_order(res_re[rows], rows_order), _in_order(res_im[rows], rows_order))
    return under


KK_NOISE_OVERSTATED = 1.2  # a chain of N/2 elements leaving 1.2x smaller residuals: the Lin-KK chain stopped short


def voigt_noise_levels(frequency: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Noise level (fraction of |Z|, per real residual) of each spectrum of ``z`` (S, N
    complex ohm, one grid ``frequency`` (N,) Hz or one per spectrum (S, N)) from a Voigt chain of N/2 elements
    (with R_inf, an inductance and a capacitance) fitted by linear least squares with
    modulus weights; nan where 2N leaves no degrees of freedom.

    The Lin-KK chain is as short as the mu criterion allows; on a spectrum with a
    diffusion tail it can stop short and overstate the noise (1.2-4x on 29 of the 240
    spectra of the robustness family set, seed 13). A chain this long describes any KK-consistent shape, so its residuals
    are the noise; the fit being linear, the residual sum over 2N - P degrees of freedom is
    an unbiased estimate."""
    z = np.atleast_2d(np.asarray(z, complex))
    n = z.shape[1]
    n_rc = max(n // 2, 1)
    dof = 2 * n - (n_rc + 3)
    if dof <= 0:
        return np.full(z.shape[0], math.nan)
    _, _, z_fit = _fit_chains(2.0 * np.pi * np.asarray(frequency, float), z, n_rc, True, True, "modulus")
    return _chain_noise(z, z_fit, n_rc, 3)


def _noise_level(chain_noise: float, long_chain_noise: float) -> float:
    """The data's noise level: the Lin-KK chain's, unless the long chain's is more than
    ``KK_NOISE_OVERSTATED`` times smaller. Where both chains describe the data both are
    unbiased and differ by a few %, and the Lin-KK one stands (the lower of two noisy
    estimates would be biased low)."""
    if math.isfinite(long_chain_noise) and long_chain_noise * KK_NOISE_OVERSTATED < chain_noise:
        return long_chain_noise
    return chain_noise


# kk_test refuses (DataError) a spectrum with fewer distinct frequencies than this. The chain
# has at most N/2 RC elements (default_max_rc), so on fewer than 10 points it cannot hold even
# one RC per decade of a typical 5-7 decade sweep: a clean two-arc spectrum at 2 points per
# decade "fails", and 3 points of one arc "pass" with M = 1 (mu = 1 by construction) and no
# residual to judge; the runs test on the signs of a handful of residuals has no power either.
# kk_valid_band's bands keep at least BAND_MIN_POINTS (10) points, the same limit.
KK_MIN_POINTS = 10
# why kk_test and kk_valid_band refuse a point of |Z| = 0 (DataError, naming its frequency): a drop-out of
# the instrument gave a nan largest residual, a "drift" verdict and a band that cut six points to lose one
KK_ZERO_IMPEDANCE = "the Lin-KK residuals are relative to |Z|"

# Time constants beyond 1/omega_min, in decades, of the chain tried where the test fails: an arc
# whose apex lies just below the lowest frequency (tau 2-6x 1/omega_min, n >= 0.9: a chain ending
# at 1/omega_min left 2-4 % systematic residuals; 38 of 250 such spectra failed, tau 16-200 s at
# 10 mHz, n 0.7-1, 0.5 % noise) is a shape no chain within the range and no series capacitance
# follow. With 0.3 decades all 250 pass. Accepted only for a relaxation beyond the range
# (_relaxation_beyond_range), which a drift of the lowest points is not.
LOW_END_EXTENSION_DECADES = 0.3


def kk_test(
    spectrum: Spectrum,
    c: float = 0.85,
    max_rc: int | None = None,
    inductance: bool = True,
    capacitance: bool | str = "auto",
    weighting: str = "modulus",
    threshold_pct: float = 1.0,
    violation_pct: float = 2.0,
) -> KKResult:
    """Lin-KK test of one spectrum.

    Parameters
    ----------
    spectrum : the data (its selected points), or a ``(frequency_Hz, z_ohm)`` tuple of arrays;
        at least ``KK_MIN_POINTS`` (10) distinct frequencies, else :class:`~eisfit.DataError`
        (a chain of at most N/2 RC elements on fewer points says nothing either way); a point
        whose |Z| is 0 (:func:`eisfit.spectrum.require_nonzero_impedance`, the check of
        :func:`eisfit.fit`) is a DataError naming its frequency: the residuals are relative to |Z|.
    c : mu threshold, in (0, 1]; M grows from 1 until mu < c (Schönleber 2014: 0.85), skipping chains
        whose residuals are above ``threshold_pct`` and systematic (M too small; see
        :func:`_grow_chains`).
    max_rc : largest M tried; default 5 per decade of frequency (at least 10), at most N/2,
        and, by default only, up to 1.5x that (at most N) where a longer chain shows the
        selected one to be too short for the data (a sharp arc sampled at 5-7 points per
        decade; see :func:`_lengthen_short_chains`). A chain chosen far short of ``max_rc``
        whose noise estimate stays 1.5x above that of a chain of N/2 elements gives way to one
        of 1.5, 2 or 3 times its length that reaches it (a sharp arc at 10 points per decade; see
        :func:`_regrow_rippled_chains`). If mu never falls below ``c``, the chain with
        ``max_rc`` elements is used, with a warning where it fails the test (on smooth or
        noise-free data that it describes there is nothing to over-fit: no warning).
    inductance : add a series inductance (needed for data up to ~MHz, cable inductance):
        True or False (its coefficient is free in sign, so there is no "auto").
    capacitance : add a series capacitance (blocking electrodes, low-frequency tail): True,
        False or "auto" (default), which tries both, see below.
    weighting : residual scales, as in the fit (``modulus`` = 1/|Z|, ``modulus-calc``,
        ``proportional``, ``unit``).
    threshold_pct : acceptance threshold in % of |Z| (> 0).
    violation_pct : residuals above it fail (ZScope's 2 % limit), unless they are noise (below);
        % of |Z|, not below ``threshold_pct``.

    An option outside these (``capacitance="no"``, ``threshold_pct="1"``...) raises
    :class:`~eisfit.DataError` (:func:`eisfit.analysis.kk.check_kk_options`).

    Acceptance rule
    ---------------
    The maximum is taken over every real and imaginary residual relative to ``|Z|``, so a
    local violation cannot hide in an average. ``passed`` is True when

    * ``max_residual_pct <= threshold_pct`` (status ``valid``), or
    * ``max_residual_pct <= violation_pct`` and the residuals are random (status
      ``noisy``): a Wald-Wolfowitz runs test on the signs of the real and of the
      imaginary residuals, in frequency order, finds no excess of long runs
      (z < -2.58, one-sided 0.5 %). Noise alone puts the largest of ~100 residuals at
      ~3 standard deviations, so a 0.4 % noise level reaches ~1 % without any KK problem;
      drift during a sweep gives long runs of one sign (status ``drift``). Systematic
      residuals whose largest lies within ``NOISE_MAX_SDS`` noise SDs of the
      ``LOCAL_NOISE_HALF_WIDTH`` points each side of it are ``noisy`` too: what is large
      there is noise, what is systematic is elsewhere and small (:func:`_within_local_noise`).

    and the mean real or imaginary residual of the lowest quarter of the frequencies stays
    within ``LOW_END_OFFSET_SDS`` standard errors or ``LOW_END_OFFSET_MIN_PCT`` of zero
    (:func:`_offset_at_low_end`): a drift that the chain absorbs into small random-looking
    residuals still leaves them off zero where the sweep spends its time (status ``drift``);
    and systematic residuals do not have their largest among the lowest ``LOW_END_SHARE``
    of the frequencies more than ``DRIFT_MAX_SDS`` (4.5) noise SDs out (the noise SD from
    their second differences, ``noise_sd_pct``, which a smooth drift does not inflate;
    :func:`_drift_above_noise`; status ``drift``): residuals under 1 % can still be a drift
    on low-noise data. ``max_residual_sds`` reports how far above the noise the largest is.

    Residuals above ``violation_pct`` fail (status ``violation``) unless they are random and
    their largest lies within ``NOISE_MAX_SDS`` robust standard deviations of them (1.4826 x
    their median absolute deviation, which one glitch cannot raise), that SD at most
    ``NOISE_MAX_SD_PCT`` of |Z|: that is noise (an exact ZARC with 0.5 % Gaussian noise on
    each part failed on 3 of 20 seeds as a "violation", with 1 % on 20 of 20, its fits
    flagged kk-failed); a glitch of a few points stands out of it and still fails. Random
    residuals whose robust SD lies above that, up to ``TOO_NOISY_MAX_SD_PCT`` (5 %), and
    whose largest is within ``NOISE_MAX_SDS`` of it fail with status ``too-noisy``: noise of
    that size hides what the test looks for (exact two-arc spectra with 3 % complex noise
    failed 58 of 60 times as "violations"), so it neither passes nor calls them a violation. Over 240
    exact two-arc spectra with 0.3 % and 1 % noise the largest residual lay at 2.8 robust SDs
    (median), 4.2 (99th percentile), 4.6 at most; a drift of 10 % over the 8 lowest points,
    absorbed by the chain into random-signed residuals, at 5.0-6.5 (10th percentile) and above.
    ``capacitance="auto"`` (default) runs the test without and with a series
    capacitance (which lets blocking-electrode and diffusion tails, KK-consistent, be
    represented) and keeps the chain with the smaller largest residual; chains are
    lengthened (``max_rc`` not given) only in the second run, which a spectrum reaches when
    the first leaves residuals above ``threshold_pct``.

    A spectrum that fails with its largest residual among the lowest ``LOW_END_SHARE`` (20 %)
    of its frequencies is tested again with time constants reaching
    ``LOW_END_EXTENSION_DECADES`` (0.3) decades beyond 1/omega_min: an arc whose apex lies
    just below the lowest frequency (a time constant 2-6 times 1/omega_min, n >= 0.9) is a
    shape that neither the usual chain nor its series capacitance follows. That verdict is
    kept when it passes and the chain describes a relaxation beyond the range (residuals
    within ``NOISE_MAX_SDS`` robust SDs, a positive or no series capacitance, a positive
    resistance beyond 1/omega_min: :func:`_relaxation_beyond_range`);
    ``low_end_extension_decades`` says so.
    """
    spectrum = as_spectrum(spectrum, "kk_test()")
    require_distinct_frequencies(spectrum, KK_MIN_POINTS, "a Kramers-Kronig test")
    require_nonzero_impedance(spectrum.frequency, spectrum.z, spectrum.label, KK_ZERO_IMPEDANCE)
    result = kk_tests(spectrum.frequency, np.asarray(spectrum.z, dtype=complex)[None, :], c=c, max_rc=max_rc,
                      inductance=inductance, capacitance=capacitance, weighting=weighting,
                      threshold_pct=threshold_pct, violation_pct=violation_pct,
                      labels=[spectrum.label])[0]
    if spectrum.area_specific:
        result = replace(result, impedance_unit=AREA_SPECIFIC_UNIT)
    return result


BAND_MIN_FRACTION = 0.5  # a valid band keeps at least half of the points
BAND_MIN_POINTS = 10  # and at least this many
BAND_MAX_TESTS = 40  # Lin-KK tests one band search may run


@dataclass(frozen=True)
class KKBand:
    """The band of a spectrum on which the Lin-KK test passes (:func:`kk_valid_band`):
    ``fmin_Hz`` .. ``fmax_Hz`` (the band's lowest and highest measured frequencies, Hz),
    ``n_points`` of the spectrum's ``n_total`` selected points (``cut_low`` lowest and
    ``cut_high`` highest frequencies left out, and the isolated outliers at
    ``excluded_Hz`` inside the band), and the test on them."""

    fmin_Hz: float
    fmax_Hz: float
    n_points: int
    n_total: int
    cut_low: int
    cut_high: int
    result: KKResult
    excluded_Hz: tuple[float, ...] = ()

    def fit_options(self, digits: int | None = None) -> dict[str, Any]:
        """The ``fmin``/``fmax``/``exclude_hz`` (Hz) of :func:`eisfit.fit` that fit the band's
        points. With ``digits``, limits to that many significant digits rounded away from the
        band (so that the band's end points stay in) and the left-out frequencies rounded
        (each leaves out the points within 1 % of it), as a person would type them."""
        def limit(value: float, up: bool) -> float:
            return value if digits is None else _rounded_out(value, up, digits)

        return {**({"fmin": limit(self.fmin_Hz, False)} if self.cut_low else {}),
                **({"fmax": limit(self.fmax_Hz, True)} if self.cut_high else {}),
                **({"exclude_hz": self.excluded_Hz if digits is None else
                    tuple(float(f"{f:.{digits}g}") for f in self.excluded_Hz)} if self.excluded_Hz else {})}

    def describe(self) -> str:
        """Where the test passes and what was left out, in words: "passes on
        14.4 Hz - 1 MHz (40 of 57 points, 17 lowest left out; valid)"."""
        isolated = len(self.excluded_Hz)
        outliers = f"{isolated} isolated outlier{'s' if isolated > 1 else ''}" if isolated else ""
        cut = ", ".join(part for part in (f"{self.cut_low} lowest" if self.cut_low else "",
                                          f"{self.cut_high} highest" if self.cut_high else "", outliers)
                        if part)
        where = ("without " + ", ".join(format_frequency(f) for f in self.excluded_Hz)
                 if isolated and not (self.cut_low or self.cut_high)
                 else f"on {format_frequency(self.fmin_Hz)} - {format_frequency(self.fmax_Hz)}")
        return f"passes {where} ({self.n_points} of {self.n_total} points, {cut} left out; {self.result.status})"

    def as_dict(self) -> dict[str, Any]:
        """The band without its test result (JSON-ready): limits in Hz, point counts."""
        return {"fmin_Hz": self.fmin_Hz, "fmax_Hz": self.fmax_Hz, "n_points": self.n_points,
                "n_total": self.n_total, "cut_low": self.cut_low, "cut_high": self.cut_high,
                "excluded_Hz": list(self.excluded_Hz)}


def _rounded_out(value: float, up: bool, digits: int) -> float:
    """``value`` to ``digits`` significant digits, rounded away from a band (down for its
    lower limit, up for its upper one)."""
    step = 10.0 ** (math.floor(math.log10(value)) - digits + 1)
    return (math.ceil(value / step) if up else math.floor(value / step)) * step


def kk_valid_band(spectrum: Spectrum, **kk_options: Any) -> KKBand | None:
    """Where a spectrum that fails the Lin-KK test passes it: the widest band of contiguous
    frequencies, cut from its low end, its high end or both, whose points pass
    :func:`kk_test` (same ``kk_options``) and whose cut ends lie within the noise (the
    band's point next to each cut at most ``DRIFT_MAX_SDS`` noise SDs off its chain,
    :func:`_end_stands_out`: a band that still ends in the deviation it cut is no band).
    None when the whole spectrum passes, or when no band of at least ``BAND_MIN_FRACTION``
    of the points (and ``BAND_MIN_POINTS``) does.

    Data that fail only at one end are common: a cell that drifts during the minutes of
    its lowest frequencies (cycling, temperature), cable and instrument artefacts at the
    highest. The band says where a fit rests on valid data (``fmin``/``fmax`` of
    :func:`eisfit.fit`). It cuts only what a Voigt chain cannot absorb: an artefact the
    chain follows (Z' alone raised by a few % above 100 kHz) passes the test, and a
    frequency-scaled copy of valid data, Z(k omega), is KK-consistent itself. The search
    cuts 1, 2, 3, 5, 8... points from each end (the fewest that pass, refined by
    bisection), then from both ends: following the ends whose points stand out of the noise
    (:func:`_walked_cut`), and fewest points first, every pair that cuts fewer points than
    the best cut so far (refined by bisection on each end): a spectrum that fails at both
    ends may also pass once a whole arc is cut from one end, and the band keeps the most
    points (:func:`_fewest_cut_from_both_ends`). A spectrum that fails only by a drift of
    its lowest frequencies (their offset, or a deviation far above the noise there) is cut
    from its low end alone (:func:`_drift_at_low_end`). At most ``BAND_MAX_TESTS`` bands
    are tested; every band returned passed its own test. A test on fewer points has less
    power: the band's own result is returned to be read.

    A spectrum whose test names isolated outliers (``KKResult.outliers_Hz``: single glitched
    points, which no cut from the ends removes without what lies beyond them) is searched
    without those that lie inside each band (``excluded_Hz``, ``exclude_hz`` of
    :func:`eisfit.fit`): a glitch in otherwise valid data gives the whole spectrum without
    it, not the half beyond the glitch. A band whose own test fails and names isolated
    outliers is tested again without them: a spectrum too damaged at one end for its whole
    test to name a glitch (yadg's ``peis.mpr`` sweep 0: damaged below 76 Hz, one element
    leaving 98 %; glitch at 18.8 kHz) had no band, while 167 Hz - 200 kHz without the glitch
    passes. (An outlier is never an end point, and needs both neighbours below half of it:
    the next point of a drift, which its neighbours follow, is not one.)

    A point whose |Z| is 0 is a :class:`~eisfit.DataError` naming its frequency, as in
    :func:`kk_test` (no band is sought around an instrument's drop-out).
    """
    spectrum = as_spectrum(spectrum, "kk_valid_band()")
    unknown = sorted(set(kk_options) - (set(inspect.signature(kk_test).parameters) - {"spectrum"}))
    if unknown:  # a bare TypeError from kk_test had named kk_test()
        raise DataError(f"kk_valid_band() got unknown option(s) {', '.join(map(repr, unknown))}: it takes the "
                        "options of kk_test")
    require_nonzero_impedance(spectrum.frequency, spectrum.z, spectrum.label, KK_ZERO_IMPEDANCE)
    if np.unique(spectrum.frequency).size < KK_MIN_POINTS:  # no test, no band of BAND_MIN_POINTS (kk_test says why)
        return None
    with warnings.catch_warnings():  # the test's notes (chain length) belong to the caller's own kk_test
        warnings.simplefilter("ignore")
        whole = kk_test(spectrum, **kk_options)
    if whole.passed:
        return None
    order = np.argsort(spectrum.frequency, kind="stable")
    n = order.size
    most_cut = n - max(BAND_MIN_POINTS, math.ceil(BAND_MIN_FRACTION * n))
    ends = (spectrum.frequency.min(), spectrum.frequency.max())
    outliers = tuple(f for f in whole.outliers_Hz if f not in ends)  # an end point is a cut, which the search tries
    tests: dict[tuple[int, int], tuple[KKResult, tuple[float, ...]] | None] = {}
    short: dict[tuple[int, int], tuple[bool, bool]] = {}  # cuts whose low / high end keeps a deviation
    outward: dict[tuple[int, int], tuple[bool, bool]] = {}  # tests whose lowest / highest point stands out

    def test(low: int, high: int) -> tuple[KKResult, tuple[float, ...]] | None:
        """(passing test, isolated outliers left out) of the points left after cutting
        ``low`` lowest and ``high`` highest frequencies; None when it fails or cannot run."""
        if (low, high) not in tests:
            keep = np.zeros(n, bool)
            keep[order[low:n - high]] = True
            points = spectrum.select(keep)
            inside = tuple(f for f in outliers if points.frequency.min() < f < points.frequency.max())
            result = band_test(points, inside)
            if result is not None and not result.passed:  # glitches the band's own test names
                more = tuple(f for f in result.outliers_Hz if f not in inside)
                if more:
                    inside = tuple(sorted(inside + more))
                    result = band_test(points, inside)
            ends = _ends_to_cut(result, low > 0, high > 0)
            if any(ends):
                short[(low, high)] = ends
            outward[(low, high)] = _ends_to_cut(result, True, True)
            tests[(low, high)] = (result, inside) if result is not None and result.passed and not any(ends) else None
        return tests[(low, high)]

    def cut_too_short(low: int, high: int) -> bool:
        """Whether a band cut at least as short at an end was seen to keep a deviation there."""
        return any((low <= a and at_low) or (high <= b and at_high) for (a, b), (at_low, at_high) in short.items())

    def band_test(points: Spectrum, left_out: tuple[float, ...]) -> KKResult | None:
        """The test of ``points`` without ``left_out`` (Hz); None where it cannot run."""
        try:
            with warnings.catch_warnings():  # the crops' chain-length notes are the search's, not the user's
                warnings.simplefilter("ignore")
                return kk_test(points.exclude(left_out) if left_out else points, **kk_options)
        except DataError:
            return None

    def band(low: int, high: int) -> KKBand:
        result, excluded = tests[(low, high)]
        kept = spectrum.frequency[order[low:n - high]]
        # the points its test ran on: an excluded frequency measured twice removes both points
        return KKBand(float(kept.min()), float(kept.max()), int(result.frequency.size), n, low, high, result,
                      excluded)

    if not outliers:  # a glitch too large for the whole test to name: the chain bent towards it
        glitch = _lone_glitch(spectrum, whole, kk_options)
        outliers = () if glitch is None else (glitch,)
    if outliers and test(0, 0) is not None:  # leaving the glitches out is enough
        return band(0, 0)
    if most_cut < 1:
        return None
    steps = sorted({k for k in CUT_STEPS if k <= most_cut} | {most_cut})
    budget = _TestBudget(tests)
    if _drift_at_low_end(whole):
        found = [cut] if (cut := _fewest_cut_from_one_end(test, steps, (1, 0), budget)) else []
    else:
        found = [cut for side in ((1, 0), (0, 1)) if (cut := _fewest_cut_from_one_end(test, steps, side, budget))]
        walked = _walked_cut(test, lambda low, high: outward.get((low, high), (False, False)), steps, budget)
        if walked is not None:
            found.append(walked)
        fewest = min((sum(cut) for cut in found), default=most_cut + 1)
        both = _fewest_cut_from_both_ends(test, steps, fewest, budget, cut_too_short)
        if both is not None:
            found.append(both)
    if not found:
        found = [cut] if (cut := _every_cut(test, most_cut)) else []
    if not found:
        return None
    return band(*min(found, key=lambda cut: (sum(cut) + len(tests[cut][1]), cut[0])))


BAND_EVERY_CUT_MAX = 150  # a short sweep with no band found has each of its cuts tested, up to this many


def _every_cut(test, most_cut: int) -> tuple[int, int] | None:
    """The cut ``(low, high)`` of the fewest points whose band passes (the fewest from the low
    end on a tie), every cut of at most ``most_cut`` points tested, fewest first: where the
    search by steps and bisection finds no band and a short sweep makes that affordable (at most
    ``BAND_EVERY_CUT_MAX`` cuts: 30 points). Its bands do not pass in order: a 30-point PowerSuite
    sweep passes cut 3 + 4 (23 points) but neither 3 + 5 nor 5 + 3, and the search found none."""
    cuts = [(low, total - low) for total in range(most_cut + 1) for low in range(total + 1)]
    if len(cuts) > BAND_EVERY_CUT_MAX:
        return None
    return next((cut for cut in cuts if test(*cut) is not None), None)


CUT_STEPS = (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233)  # points cut from an end, tried in this order


def _ends_to_cut(result: KKResult | None, low_end: bool, high_end: bool) -> tuple[bool, bool]:
    """(low, high): which cut ends of a band's test (``low_end``, ``high_end``: that end was
    cut) keep a deviation that more cutting should remove: its end point stands out of the
    noise (:func:`_end_stands_out`), or, for the low end, the test fails by the
    drift-above-noise rule alone (:func:`_drift_above_noise`). (False, False) for a test that
    did not run. A band the test passes with such an end is no band; for a failing one the
    ends say where the search need not look (:func:`_fewest_cut_from_both_ends`)."""
    if result is None:
        return False, False
    low = _end_stands_out(result, low_end, False) or (low_end and _fails_by_drift_above_noise_alone(result))
    return low, _end_stands_out(result, False, high_end)


def _end_stands_out(result: KKResult, low_end: bool, high_end: bool) -> bool:
    """Whether a band's test, which passes, has its lowest (``low_end``: its low end was cut)
    or highest (``high_end``) point more than ``DRIFT_MAX_SDS`` noise SDs
    (:attr:`KKResult.noise_sd_pct`) off the chain: the band still holds the deviation that
    its cut was to remove, and a cut of more points is wanted.

    A cell whose R2 rose 30 % over the 10 points below 1 Hz (1 MHz-0.1 Hz, 0.2 % noise)
    failed as a violation and got a band that cut 3 of them: it passed as ``noisy`` with its
    lowest point 1.25-1.89 % off, 5.5-8.4 noise SDs, and a fit through it kept most of the
    drift (R2 158 +- 5 for 150). With the ends judged, the cut goes on past the drifting
    points. The same test of a point's residual against the noise as the drift rule
    (:func:`_drift_above_noise`), at the band's cut end only (its other ends are the
    spectrum's own, which the whole test judged)."""
    order = np.argsort(result.frequency)
    worst = np.maximum(np.abs(result.residuals_real), np.abs(result.residuals_imag))[order]
    limit = DRIFT_MAX_SDS * result.noise_sd_pct / 100.0
    return bool((low_end and worst[0] > limit) or (high_end and worst[-1] > limit))


def _drift_at_low_end(whole: KKResult) -> bool:
    """Whether ``whole`` failed only by a low-end drift rule (the offset,
    :func:`_offset_at_low_end`, or the deviation above the noise, :func:`_drift_above_noise`):
    its residuals pass the size and pattern rules but sit off zero at the lowest
    frequencies, or stand far out of the noise there. Such a spectrum has a band only where
    its lowest frequencies are cut: a band cut from the high end alone tests the same
    drifting points with less power (an R1
    rising 10 % over a 1 MHz-0.1 Hz sweep "passed" with its 7 highest points cut)."""
    if whole.status != "drift":
        return False
    order = np.argsort(whole.frequency)
    passed, _ = _base_verdict(whole.max_residual_pct, whole.residuals_real[order], whole.residuals_imag[order],
                              whole.threshold_pct, whole.violation_pct, whole.structured, None)
    return passed


@dataclass
class _TestBudget:
    """The Lin-KK tests one band search has run (``tests``: every cut tried), against
    ``BAND_MAX_TESTS``."""

    tests: dict

    def left(self) -> bool:
        return len(self.tests) < BAND_MAX_TESTS


def _bisected_cut(passes, failing: int, passing: int, budget: _TestBudget) -> int:
    """The fewest points cut that pass between a cut of ``failing`` points (fails, or 0) and
    one of ``passing`` points (passes): bisection with ``passes(k)`` (True where a cut of k
    points passes)."""
    lo, hi = failing, passing
    while hi - lo > 1 and budget.left():
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if passes(mid) else (mid, hi)
    return hi


def _fewest_cut_from_one_end(test, steps: list[int], side: tuple[int, int], budget: _TestBudget
                             ) -> tuple[int, int] | None:
    """The fewest points cut from one end (``side`` (1, 0): the lowest frequencies, (0, 1):
    the highest) whose band passes, as ``(low, high)``: ``steps`` tried in turn, the first
    that passes refined by bisection; None when none passes (or the budget ends first)."""
    def passes(k: int) -> bool:
        return test(k * side[0], k * side[1]) is not None

    previous = 0
    for k in steps:
        if not budget.left():
            return None
        if passes(k):
            k = _bisected_cut(passes, previous, k, budget)
            return k * side[0], k * side[1]
        previous = k
    return None


def _fewest_cut_from_both_ends(test, steps: list[int], fewer_than: int, budget: _TestBudget,
                               too_short=lambda low, high: False) -> tuple[int, int] | None:
    """The band cut from both ends that keeps the most points, as ``(low, high)``: pairs of
    ``steps`` cutting fewer than ``fewer_than`` points in all (the best cut from one end),
    fewest first; the first that passes is refined by bisection on each end (its pairs with
    the previous step on either end cut fewer points and failed). None when none passes
    within the budget.

    A spectrum can fail at both ends (an inductive artefact at the highest frequencies, a
    drift at the lowest): no cut from one end alone passes short of the one that leaves out
    a whole arc, and the band must come from both (a VSP PEIS sweep of 70 points: 35 highest
    cut from one end, 3 + 3 from both). Pairs that ``too_short(a, b)`` says cut an end no
    more than a band seen to keep a deviation there (:func:`_ends_to_cut`) are not tested
    (nor counted against the budget)."""
    pairs = sorted(((a, b) for a in steps for b in steps if a + b < fewer_than and a + b <= steps[-1]),
                   key=lambda ab: (sum(ab), ab))
    for a, b in pairs:
        if not budget.left():
            return None
        if too_short(a, b):
            continue
        if test(a, b) is not None:
            a = _bisected_cut(lambda k: test(k, b) is not None, _step_before(steps, a), a, budget)
            b = _bisected_cut(lambda k: test(a, k) is not None, _step_before(steps, b), b, budget)
            return a, b
    return None


def _walked_cut(test, standing_out, steps: list[int], budget: _TestBudget) -> tuple[int, int] | None:
    """A band cut from both ends by following the deviations, as ``(low, high)``: from the
    whole spectrum, each end whose point stands out of the noise (``standing_out(low, high)``
    of the test run: (lowest, highest), :func:`_ends_to_cut`) is cut to the next of
    ``steps``, until a band passes with clean ends; that is refined by bisection on each
    end. None when no end stands out before a band passes, the cuts exceed the last step
    or the budget ends.

    The pairs of :func:`_fewest_cut_from_both_ends` come fewest points first: a sweep that
    drifts at its low end and has an artefact at its high end, 6-8 points each, was not
    reached within the budget (yadg's VSP PEIS sweeps: 9 of 32 had no band once a band's
    cut ends had to lie within the noise), while the deviations themselves say which end
    to cut: a few tests."""
    low = high = 0
    while budget.left():
        if test(low, high) is not None:
            if low:
                low = _bisected_cut(lambda k: test(k, high) is not None, _step_before(steps, low), low, budget)
            if high:
                high = _bisected_cut(lambda k: test(low, k) is not None, _step_before(steps, high), high, budget)
            return low, high
        low_out, high_out = standing_out(low, high)
        if not (low_out or high_out):
            return None
        low = _step_after(steps, low) if low_out else low
        high = _step_after(steps, high) if high_out else high
        if low is None or high is None or low + high > steps[-1]:
            return None
    return None


def _step_after(steps: list[int], k: int) -> int | None:
    """The step after ``k`` in ``steps`` (None after the last)."""
    return next((s for s in steps if s > k), None)


def _step_before(steps: list[int], k: int) -> int:
    """The step before ``k`` in ``steps`` (0 before the first)."""
    return max((s for s in steps if s < k), default=0)


def kk_tests(
    frequency: np.ndarray,
    z: np.ndarray,
    c: float = 0.85,
    max_rc: int | None = None,
    inductance: bool = True,
    capacitance: bool | str = "auto",
    weighting: str = "modulus",
    threshold_pct: float = 1.0,
    violation_pct: float = 2.0,
    labels: list[str] | None = None,
) -> list[KKResult]:
    """:func:`kk_test` of S spectra of N points (``z`` (S, N) complex ohm), computed together:
    measured on one frequency grid (``frequency`` (N,) Hz), one design matrix per chain
    length for the whole stack; each on its own (``frequency`` (S, N): an instrument that
    logs the frequency it measured at), one per spectrum, still in one batched solve (rows
    that are all equal are taken as one grid). Same options and results as :func:`kk_test`
    per spectrum."""
    c, max_rc, inductance, capacitance, threshold_pct, violation_pct = check_kk_options(
        c, max_rc, inductance, capacitance, threshold_pct, violation_pct, weighting)
    z = np.asarray(z, dtype=complex)
    labels = labels or [""] * z.shape[0]
    frequency = np.asarray(frequency, dtype=float)
    if frequency.ndim == 2 and shared_grid(frequency) is not None:
        frequency = frequency[0]  # one grid after all: one design matrix per chain length
    if frequency.ndim == 2 and max_rc is None:  # the default longest chain depends on each grid's span
        groups: dict[int, list[int]] = {}
        for i, f in enumerate(frequency):
            groups.setdefault(default_max_rc(f.size, 2 * np.pi * f.min(), 2 * np.pi * f.max()), []).append(i)
        if len(groups) > 1:
            out: list[KKResult | None] = [None] * z.shape[0]
            options = dict(c=c, inductance=inductance, capacitance=capacitance, weighting=weighting,
                           threshold_pct=threshold_pct, violation_pct=violation_pct)
            for rows in groups.values():
                for i, r in zip(rows, kk_tests(frequency[rows], z[rows], labels=[labels[i] for i in rows],
                                               **options)):
                    out[i] = r
            return out  # type: ignore[return-value]
    with small_blas():  # the data's noise level, whichever Lin-KK chain is kept (computed once)
        long_chain = voigt_noise_levels(frequency, z)
    layout = (c, max_rc, inductance, weighting, threshold_pct, violation_pct)
    lengthen = max_rc is None  # chains longer than the default max_rc where the data need them
    out = _kk_tests_of_capacitance(frequency, z, long_chain, labels, capacitance, layout, lengthen)
    failed = [i for i, r in enumerate(out) if not r.passed and _worst_at_low_end(r)]
    if failed:  # an arc that peaks just below the lowest frequency: time constants beyond it
        for cap in ((False, True) if capacitance == "auto" else (bool(capacitance),)):
            edge = _kk_tests_of_layout(_row(frequency, failed, 2), z[failed], long_chain[failed],
                                       [labels[i] for i in failed], cap, *layout, lengthen, LOW_END_EXTENSION_DECADES)
            for i, e in zip(failed, edge):
                if _relaxation_beyond_range(e) and (not out[i].passed or e.max_residual_pct < out[i].max_residual_pct):
                    out[i] = e
    for result in out:  # the notes of the chains kept (not of those tried and left)
        for msg in result.warnings:
            warnings.warn(msg, stacklevel=user_stacklevel())
    return out


def check_kk_options(c: Any, max_rc: Any, inductance: Any, capacitance: Any, threshold_pct: Any,
                     violation_pct: Any, weighting: Any = "modulus"
                     ) -> tuple[float, int | None, bool, bool | str, float, float]:
    """The options of :func:`kk_test` checked (the same rules as :func:`eisfit.drt`'s and
    :func:`eisfit.fit`'s), as (c, max_rc, inductance, capacitance, threshold_pct,
    violation_pct); :class:`~eisfit.DataError` naming the first bad one. ``inductance`` is True
    or False only: the chain's series L is a free least-squares coefficient (of either sign),
    so True (the default) needs no "auto" (which :func:`eisfit.drt`, whose L must be >= 0, has).
    ``weighting``: one of the fit's weightings but ``sigma`` (the test takes no standard
    deviations), :data:`eisfit.model.weighting.WEIGHTINGS_WITHOUT_SIGMA`."""
    if not (is_real_number(c) and 0 < c <= 1):
        raise DataError(f"c (the mu threshold) must lie in (0, 1], got {c!r}")
    max_rc = check_positive_int_or_none("max_rc", max_rc, DataError)
    if isinstance(inductance, str) and inductance == "auto":
        raise DataError("kk_test's inductance must be True or False, got 'auto': the Lin-KK chain's series "
                        "inductance is a free coefficient of either sign, so True (the default) suits data "
                        "with or without one")
    inductance = check_choice("inductance", inductance, (True, False), DataError)
    capacitance = check_choice("capacitance", capacitance, (True, False, "auto"), DataError)
    threshold_pct = positive_number("threshold_pct", threshold_pct, DataError)
    violation_pct = positive_number("violation_pct", violation_pct, DataError)
    if threshold_pct > violation_pct:
        raise DataError(f"threshold_pct ({threshold_pct:g} %) must not exceed violation_pct ({violation_pct:g} %): "
                        "residuals between them are judged by their randomness")
    check_weighting(weighting, WEIGHTINGS_WITHOUT_SIGMA, DataError)
    return float(c), max_rc, inductance, capacitance, threshold_pct, violation_pct


def _kk_tests_of_capacitance(frequency: np.ndarray, z: np.ndarray, long_chain: np.ndarray, labels: list[str],
                             capacitance: bool | str, layout: tuple, lengthen: bool, extend_low: float = 0.0
                             ) -> list[KKResult]:
    """:func:`_kk_tests_of_layout` with the series capacitance as asked: ``"auto"`` runs without
    it, then, for the spectra not ``valid``, with it (which can also be nil; chains lengthened
    where needed) and keeps the chain with the smaller largest residual. A spectrum whose
    first chain fails by the drift-above-noise rule alone (:func:`_drift_above_noise`) is
    also tested again without the capacitance, its chains lengthened where they leave that
    (:func:`_regrow_low_end_chains`): a sharp arc at the lowest frequencies, which a longer
    chain follows, left a ripple there that the chain with the capacitance (0.91 % at 7.8
    noise SDs, passing) did not beat by size."""
    if capacitance != "auto":
        return _kk_tests_of_layout(frequency, z, long_chain, labels, bool(capacitance), *layout, lengthen, extend_low)
    out = _kk_tests_of_layout(frequency, z, long_chain, labels, False, *layout, False, extend_low)
    again = [i for i, r in enumerate(out) if lengthen and _fails_by_drift_above_noise_alone(r)]
    if again:
        longer = _kk_tests_of_layout(_row(frequency, again, 2), z[again], long_chain[again],
                                     [labels[i] for i in again], False, *layout, True, extend_low)
        for i, a in zip(again, longer):
            if a.max_residual_pct < out[i].max_residual_pct:
                out[i] = a
    redo = [i for i, r in enumerate(out) if r.status != "valid"]
    if redo:
        alt = _kk_tests_of_layout(_row(frequency, redo, 2), z[redo], long_chain[redo], [labels[i] for i in redo],
                                  True, *layout, lengthen, extend_low)
        drifting = []  # spectra whose chain with the capacitance follows a drift: no capacitance, chains lengthened
        for i, a in zip(redo, alt):
            if a.max_residual_pct < out[i].max_residual_pct:
                if follows_drift(a):
                    drifting.append(i)
                else:
                    out[i] = a
        if drifting and lengthen:
            plain = _kk_tests_of_layout(_row(frequency, drifting, 2), z[drifting], long_chain[drifting],
                                        [labels[i] for i in drifting], False, *layout, True, extend_low)
            for i, a in zip(drifting, plain):
                if a.max_residual_pct < out[i].max_residual_pct:
                    out[i] = a
    return out


NEGATIVE_C_NOISE_SDS = 5.0  # a negative series C whose reactance at f_min exceeds this many noise SDs: a drift


def follows_drift(result: KKResult) -> bool:
    """Whether a chain follows a drift of the lowest points (Z' rising where Z'' does not)
    rather than a capacitive tail: its series capacitance is negative (no passive element),
    carries more than ``NEGATIVE_C_NOISE_SDS`` noise SDs (``noise_sd_pct``) of |Z| at the
    lowest frequency, and stands against a positive resistance beyond the measured range,
    the signature :func:`_relaxation_beyond_range` describes. Two-arc spectra at 0.1 % noise
    whose lowest 8 points rose by up to 5 % had passed in 69 of 100 cases through C = -0.28 F
    (8.9 % of |Z| at f_min, 90 noise SDs, against 17 % of the chain's resistance beyond the
    range); each fails without it. A sharp ideal arc sampled at 5 points per decade needs a
    negative C too (0.65 % of |Z|, 10 noise SDs), with no resistance beyond the range."""
    c = result.capacitance_F
    if c is None or not c < 0:
        return False
    low = int(np.argmin(result.frequency))
    share_pct = 100.0 / (2.0 * np.pi * float(result.frequency[low]) * abs(c)) / float(abs(result.z_fit[low]))
    return bool(share_pct > NEGATIVE_C_NOISE_SDS * max(float(result.noise_sd_pct), 0.0)
                and _resistance_beyond_range(result) > 0)


LOW_END_SHARE = 0.2  # the lowest frequencies, as a share of the points, where such a failure's largest residual lies


def _fails_by_drift_above_noise_alone(result: KKResult) -> bool:
    """Whether ``result`` fails by the drift-above-noise rule (:func:`_drift_above_noise`) and
    would pass without it."""
    if result.passed or result.status != "drift":
        return False
    order = np.argsort(result.frequency)
    res_re, res_im = result.residuals_real[order], result.residuals_imag[order]
    return _verdict(result.max_residual_pct, res_re, res_im, result.threshold_pct, result.violation_pct,
                    result.structured, result.residual_sd_pct, drift_above_noise=False)[0]


def _worst_at_low_end(result: KKResult) -> bool:
    """Whether the largest residual of a failed test lies among the lowest ``LOW_END_SHARE``
    of its frequencies, where an arc beyond them shows (in all 38 such spectra of 250 with the
    slower arc's apex at 0.8-10 mHz, measured to 10 mHz, it was the lowest point): other
    failures are not tested again (the second test cost 2-3x the first on the failing sweeps of
    yadg's GEIS and PEIS files)."""
    worst = np.maximum(np.abs(result.residuals_real), np.abs(result.residuals_imag))
    lowest = np.argsort(result.frequency)[:max(1, int(math.ceil(LOW_END_SHARE * result.frequency.size)))]
    return bool(np.argmax(worst) in set(lowest.tolist()))


def _relaxation_beyond_range(result: KKResult) -> bool:
    """Whether a chain with time constants beyond 1/omega_min describes a relaxation there:
    it passes, its residuals are noise (the largest within ``NOISE_MAX_SDS`` robust SDs,
    :func:`_within_noise`), its series capacitance is positive (or nil) and its resistances
    beyond the range add up to a positive one. A drift of the lowest points is followed
    instead by a negative series capacitance against a large resistance beyond the range
    (Z' rising where Z'' does not), or, on an arc that peaks near the lowest frequency (R2
    growing 5 % per point over its last 8 points), by a chain that leaves 1.5-1.7 % under
    0.2 % noise (7-8 robust SDs)."""
    capacitive = result.capacitance_F is None or result.capacitance_F > 0
    noise_like = _within_noise(result.max_residual_pct, result.residual_sd_pct)
    return result.passed and noise_like and capacitive and _resistance_beyond_range(result) > 0


def _resistance_beyond_range(result: KKResult) -> float:
    """The sum (ohm) of a chain's resistances whose time constants lie beyond 1/omega_min."""
    beyond = result.tau_s > 1.0 / (2.0 * np.pi * float(np.min(result.frequency)))
    return float(np.sum(result.r_k_ohm[beyond]))


def _kk_tests_of_layout(frequency: np.ndarray, z: np.ndarray, long_chain: np.ndarray, labels: list[str],
                        capacitance: bool, c: float, max_rc: int | None, inductance: bool, weighting: str,
                        threshold_pct: float, violation_pct: float, lengthen: bool, extend_low: float = 0.0
                        ) -> list[KKResult]:
    """:func:`kk_tests` with or without a series capacitance; ``long_chain`` (S,) the noise
    levels of :func:`voigt_noise_levels`; ``lengthen``: chains too short for their spectrum
    are lengthened (:func:`_lengthen_short_chains`); ``extend_low``: time constants that far
    (decades) beyond 1/omega_min (:func:`voigt_time_constants`)."""
    omega = 2.0 * np.pi * np.asarray(frequency, dtype=float)
    n = omega.shape[-1]
    n_extra = 1 + int(inductance) + int(capacitance)
    if 2 * n < n_extra + 2:
        raise DataError(f"{labels[0]}: {n} points are too few for a Kramers-Kronig test")
    most = 2 * n - n_extra - 1  # a chain leaving at least one degree of freedom
    if max_rc is None:  # grids of one call share it (kk_tests groups them)
        max_rc = default_max_rc(n, _row(omega, 0, 2).min(), _row(omega, 0, 2).max())
    max_rc = int(max(1, min(max_rc, most)))
    with small_blas():
        chains = _grow_chains(omega, z, c, max_rc, inductance, capacitance, weighting, threshold_pct, extend_low)
        if lengthen:
            _regrow_rippled_chains(omega, z, chains, max_rc, inductance, capacitance, weighting, threshold_pct,
                                   long_chain, extend_low)
            _regrow_low_end_chains(omega, z, chains, max_rc, inductance, capacitance, weighting, threshold_pct,
                                   violation_pct, extend_low)
            _lengthen_short_chains(omega, z, chains, max_rc, min(n, most), inductance, capacitance, weighting,
                                   threshold_pct, extend_low)
    notes = [_chain_notes(label, ch, c, max_rc) for label, ch in zip(labels, chains)]
    return _make_results(labels, omega, z, chains, notes, c, inductance, capacitance, weighting, threshold_pct,
                         violation_pct, long_chain, extend_low)


def _chain_notes(label: str, chain: _Chain, c: float, max_rc: int) -> tuple[str, ...]:
    """The note that mu never fell below ``c`` (shown where the test fails)."""
    if not chain.reached:
        return (f"{label}: mu stayed >= {c} up to M = {max_rc} RC elements; using M = {max_rc}",)
    return ()


def _negative_chain_note(label: str, mu: float, n_rc: int, passed: bool) -> tuple[str, ...]:
    """The note for a kept chain with mu <= 0, pass or fail: its negative resistances outweigh
    its positive ones (yadg's noisy peis.mpr stopped at M = 1 with its one resistance negative,
    printed as mu 0.000 without a word; a 'negative arc' R0 - R || CPE passes with mu -29). mu
    marks no over-fitting there: no chain of positive resistances, no passive system, gives
    these points. A pass says why it stands beside that (the chain, negative resistances and
    all, follows the points)."""
    if not mu <= 0:
        return ()
    why = ("; the test passes because the chain follows the points, not because a passive system gives them "
           "(inductive points, a negative resistance)" if passed else
           " (damaged points, drift, or a negative resistance)")
    return (f"{label}: mu = {mu:.3g} at M = {n_rc}: the chain's negative resistances outweigh its positive "
            f"ones; no chain of positive resistances (no passive system) gives these points, and mu says "
            f"nothing about over-fitting here{why}",)


def runs_test_z(residuals: np.ndarray) -> float:
    """Wald-Wolfowitz runs-test z score of the signs of ``residuals`` (in order).

    Strongly negative z = fewer runs than chance = systematic residuals.
    """
    return float(_runs_test_z_rows(np.asarray(residuals)[None, :])[0])


def _runs_test_z_rows(residuals: np.ndarray) -> np.ndarray:
    """:func:`runs_test_z` of each row of ``residuals`` (S, N): zeros are skipped (a run
    continues across them); -inf where every sign is the same (0 below 10 signs)."""
    signs = np.sign(residuals)
    n = np.count_nonzero(signs, axis=1)
    n_pos = np.count_nonzero(signs > 0, axis=1)
    n_neg = n - n_pos
    if np.any(n < signs.shape[1]):  # zeros take the sign of the last non-zero before them (leading ones the first's)
        nonzero = signs != 0
        last = np.maximum.accumulate(np.where(nonzero, np.arange(signs.shape[1]), 0), axis=1)
        signs = np.take_along_axis(signs, np.maximum(last, np.argmax(nonzero, axis=1)[:, None]), axis=1)
    runs = 1 + np.count_nonzero(signs[:, 1:] != signs[:, :-1], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = 2.0 * n_pos * n_neg / n + 1.0
        var = (mean - 1.0) * (mean - 2.0) / (n - 1.0)
        z = np.where(var > 0, (runs - mean) / np.sqrt(var), 0.0)
    return np.where((n_pos == 0) | (n_neg == 0), np.where(n >= 10, -np.inf, 0.0), z)


def _systematic(res_re: np.ndarray, res_im: np.ndarray) -> np.ndarray:
    """Per row of the residuals (S, N), in frequency order: the runs test finds the real or
    the imaginary signs systematic (z below ``_RUNS_Z_LIMIT``)."""
    z_re, z_im = np.split(_runs_test_z_rows(np.concatenate([res_re, res_im])), 2)
    return np.where(z_im < z_re, z_im, z_re) < _RUNS_Z_LIMIT  # min() of the two, as Python takes it


_RUNS_Z_LIMIT = -2.58
NOISE_MAX_SDS = 4.5  # random residuals whose largest is within 4.5 robust SDs are noise...
NOISE_MAX_SD_PCT = 1.5  # ... when that SD is at most 1.5 % of |Z|: beyond, randomness proves nothing
TOO_NOISY_MAX_SD_PCT = 5.0  # random residuals of 1.5-5 % of |Z|: too noisy to test; above, damaged data


def _verdict(max_pct: float, res_re: np.ndarray, res_im: np.ndarray, threshold_pct: float,
             violation_pct: float, structured: bool | None = None, sd_pct: float | None = None,
             offset_at_low_end: bool | None = None, drift_above_noise: bool | None = None
             ) -> tuple[bool, str, bool]:
    """(passed, status, structured) of the acceptance rule (:func:`kk_test`); residuals in
    ascending frequency order. ``structured`` (their runs test, :func:`_systematic`),
    ``sd_pct`` (their robust SD, :func:`_robust_sd_pct`), ``offset_at_low_end``
    (:func:`_offset_at_low_end`) and ``drift_above_noise`` (:func:`_drift_above_noise`): when
    already computed. Residuals that would pass but sit off zero at the lowest frequencies,
    or whose systematic largest stands far above their noise there, fail as ``drift``."""
    if structured is None:
        structured = bool(_systematic(res_re[None, :], res_im[None, :])[0])
    passed, status = _base_verdict(max_pct, res_re, res_im, threshold_pct, violation_pct, structured, sd_pct)
    if passed:
        if offset_at_low_end is None:
            sd = _robust_sd_pct(res_re, res_im) if sd_pct is None else sd_pct
            offset_at_low_end = bool(_offset_at_low_end(res_re[None, :], res_im[None, :], np.atleast_1d(sd))[0])
        if drift_above_noise is None:
            drift_above_noise = bool(_drift_above_noise(res_re[None, :], res_im[None, :], np.array([structured]))[0])
        if offset_at_low_end or drift_above_noise:
            return False, "drift", structured
    return passed, status, structured


def _base_verdict(max_pct: float, res_re: np.ndarray, res_im: np.ndarray, threshold_pct: float,
                  violation_pct: float, structured: bool, sd_pct: float | None) -> tuple[bool, str]:
    """(passed, status) from the size of the residuals and their runs test; residuals in
    ascending frequency order. Between ``threshold_pct`` and ``violation_pct``, systematic
    residuals are a drift unless the largest lies within the noise around it
    (:func:`_within_local_noise`): then what is systematic is not what is large."""
    if max_pct <= threshold_pct:
        return True, "valid"
    if max_pct > violation_pct:
        if structured:
            return False, "violation"
        sd = _robust_sd_pct(res_re, res_im) if sd_pct is None else sd_pct
        if _within_noise(max_pct, sd):
            return True, "noisy"
        if _within_noise(max_pct, sd, TOO_NOISY_MAX_SD_PCT):
            return False, "too-noisy"
        return False, "violation"
    if structured and not _within_local_noise(res_re, res_im):
        return False, "drift"
    return True, "noisy"


LOCAL_NOISE_HALF_WIDTH = 6  # points each side of the largest residual whose second differences give its noise


def _within_local_noise(res_re: np.ndarray, res_im: np.ndarray) -> bool:
    """Whether the largest residual (residuals in ascending frequency order) lies within
    ``NOISE_MAX_SDS`` noise SDs of the residuals around it: :func:`noise_sd_pct` of the
    ``LOCAL_NOISE_HALF_WIDTH`` points each side (and itself).

    The runs test counts signs whatever their size, and the size rules look at the largest
    residual wherever it is: on a spectrum whose noise grows with frequency the two can come
    from different places. BioLogic's ``biol.mpr`` (cellpy), sweep 0, failed as ``drift``
    with 1.2 % at 15.8 kHz: its imaginary residuals are systematic below 100 Hz (runs
    z = -4.0) but 0.05 % there (noise 0.02 %), while above 1 kHz they are random (z = 0.0
    and -1.1), 0.5 % RMS, and the 1.2 % is 2.6 of their noise SDs (1.9 of the 13 points'
    around it). Noise large where the residuals are large is what ``noisy`` names; a drift's
    largest residual stands at the end of a smooth run, far out of the noise around it. Of
    the 4,200 drifting cells of
    ``scripts/kk_calibration.py`` (seeds 13-15) the same 1,965 fail with and without this;
    of its 9,600 KK-consistent spectra none changes, and of the audit's 80 real spectra only
    biol.mpr#0."""
    worst = np.maximum(np.abs(res_re), np.abs(res_im))
    j = int(np.argmax(worst))
    lo, hi = max(0, j - LOCAL_NOISE_HALF_WIDTH), min(worst.size, j + LOCAL_NOISE_HALF_WIDTH + 1)
    local = float(noise_sd_pct(res_re[None, lo:hi], res_im[None, lo:hi])[0])
    return bool(100.0 * worst[j] <= NOISE_MAX_SDS * local)


LOW_END_OFFSET_SHARE = 0.25  # the lowest quarter of the frequencies (at least LOW_END_OFFSET_MIN_POINTS)...
LOW_END_OFFSET_MIN_POINTS = 8
LOW_END_OFFSET_SDS = 3.5  # ... whose mean residual lies more than 3.5 standard errors off zero...
LOW_END_OFFSET_MIN_PCT = 0.2  # ... and more than 0.2 % of |Z|: a drift the chain absorbed elsewhere


def _offset_at_low_end(res_re: np.ndarray, res_im: np.ndarray, sd_pct: np.ndarray) -> np.ndarray:
    """Per row of the residuals (S, N), in ascending frequency order: whether the mean real
    or imaginary residual of the lowest ``LOW_END_OFFSET_SHARE`` of the points lies more
    than ``LOW_END_OFFSET_SDS`` standard errors (robust SD ``sd_pct`` / sqrt(k)) and more
    than ``LOW_END_OFFSET_MIN_PCT`` of |Z| off zero; False for fewer than twice
    ``LOW_END_OFFSET_MIN_POINTS`` points.

    A cell that changes during the sweep changes most where the sweep spends its time, at
    the lowest frequencies; a Voigt chain absorbs much of it into residuals that stay under
    the thresholds with random-looking signs, but not their offset there. R2 falling 10 %
    over a 1 MHz-0.1 Hz sweep (time per point ~1/f) under 0.2 % noise passed 40 of 40
    times before (status valid or noisy) and fails 36 of 40 as drift; 20 % under 0.5 %
    noise 27 of 40 (3 before). Of 2,693 KK-consistent synthetic spectra that pass (nine
    circuit families, 0.05-1 % noise) none fails by it: the chain's own systematic
    offsets there stay below 0.13 % of |Z| (below 0.09 % at 0.05 % noise, where they
    reach 10 standard errors), nor does any of the 73 real sweeps of ../shared that pass."""
    n = res_re.shape[-1]
    k = max(LOW_END_OFFSET_MIN_POINTS, int(round(LOW_END_OFFSET_SHARE * n)))
    if n < 2 * k:
        return np.zeros(res_re.shape[0], dtype=bool)
    se_pct = np.asarray(sd_pct, dtype=float) / math.sqrt(k)
    off = np.zeros(res_re.shape[0], dtype=bool)
    for res in (res_re, res_im):
        mean_pct = np.abs(100.0 * res[:, :k].mean(axis=1))
        with np.errstate(divide="ignore", invalid="ignore"):
            off |= (mean_pct > LOW_END_OFFSET_MIN_PCT) & (mean_pct > LOW_END_OFFSET_SDS * se_pct)
    return off


THRESHOLD_ONLY_SDS = 50.0  # a pass with systematic residuals this many noise SDs out passes by the threshold
# only (KKResult.passed_by_threshold_only): 7 of 93 real sweeps of ../shared/realdata pass with systematic
# residuals 6-22 SDs out (the chain's own ripple on low-noise data among them), a dielectric series at 166-475
NOISE_DOMINATED_SD_PCT = 20.0  # point-to-point noise (noise_sd_pct) from which the points are noise
# (KKResult.noise_dominated): of 297 real sweeps (../shared/realdata and public files surveyed), the seven
# that hold noise only (random Z' and Z'' from point to point, three files) at 33-70 %, every other at 9.2 % or below
DRIFT_MAX_SDS = 4.5  # systematic residuals whose largest, among the lowest frequencies, is more than 4.5 noise
# SDs (noise_sd_pct) out fail as drift where every other rule passes them: see _drift_above_noise


def noise_sd_pct(res_re: np.ndarray, res_im: np.ndarray) -> np.ndarray:
    """Noise SD (% of |Z|) of each row of residuals (S, N), in ascending frequency order,
    from their second differences r[i-1] - 2 r[i] + r[i+1] (real and imaginary, 1.4826 x
    their median absolute deviation / sqrt(6)): white noise of SD s gives s, while a smooth
    pattern (a drift the chain could not follow, the slow ripple of a chain between its time
    constants) hardly moves them, so that, unlike the residuals' own robust SD
    (:func:`_robust_sd_pct`), it is not inflated by what it is to judge. nan below 3 points."""
    res_re, res_im = np.atleast_2d(res_re), np.atleast_2d(res_im)
    if res_re.shape[-1] < 3:
        return np.full(res_re.shape[0], math.nan)
    d2 = np.concatenate([res_re[:, :-2] - 2.0 * res_re[:, 1:-1] + res_re[:, 2:],
                         res_im[:, :-2] - 2.0 * res_im[:, 1:-1] + res_im[:, 2:]], axis=1)
    mad = np.median(np.abs(d2 - np.median(d2, axis=1, keepdims=True)), axis=1)
    return 100.0 * 1.4826 * mad / math.sqrt(6.0)


def _worst_at_low_end_rows(res_re: np.ndarray, res_im: np.ndarray) -> np.ndarray:
    """Per row of residuals (S, N) in ascending frequency order: whether the largest |real|
    or |imaginary| residual lies among the lowest ``LOW_END_SHARE`` of the frequencies."""
    worst = np.argmax(np.maximum(np.abs(res_re), np.abs(res_im)), axis=1)
    return worst < max(1, int(math.ceil(LOW_END_SHARE * res_re.shape[1])))


def _drift_above_noise(res_re: np.ndarray, res_im: np.ndarray, structured: np.ndarray,
                       noise_sd: np.ndarray | None = None) -> np.ndarray:
    """Per row of residuals (S, N), in ascending frequency order: systematic residuals
    (``structured``, the runs test) whose largest lies among the lowest ``LOW_END_SHARE`` of
    the frequencies and more than ``DRIFT_MAX_SDS`` noise SDs (:func:`noise_sd_pct`, when not
    given) off zero.

    The size rules judge residuals in % of |Z| (1 % passes whatever its pattern), so on
    low-noise data a drift that the chain leaves at 0.5-1 % passes although it stands 10-15
    noise SDs out. A cell changes most where the sweep spends its time, at the lowest
    frequencies, which the chain, smooth in frequency, cannot follow: its largest residual
    lies there. Chains stopped short on KK-consistent data leave systematic residuals far
    above the noise too, but in the middle of the range (a ripple between time constants)
    or, where at the low end, a longer chain follows them (:func:`_regrow_low_end_chains`).

    Calibration (``scripts/kk_calibration.py --n 40 --seed 13|14|15``): 9,600 KK-consistent
    spectra (the eight families of ``scripts/robustness.py``, its headline set, the audit's
    five circuits and a blocking two-arc spectrum whose noise grows 20-fold toward either end;
    0.05, 0.1, 0.2, 0.5 and 1 % noise): no new failure at 3, 4.5 or 6 SDs (67 fail by the
    other rules, as before; without the longer chains, 3 diffusion spectra at 0.05-0.1 %
    noise did); of 4,200 drifting cells (R2 of the slow arc -10 to +20 % over a 1 MHz-0.1 Hz
    sweep, R1 +10 %, an RC pair's R2 +10 %, R2 +30 % below 1 Hz) 1,965 fail instead of 1,925
    (RC R2 +10 % at 0.05-0.2 % noise 301 of 360 instead of 269, R1 +10 % and R2 +5 % at
    0.05 % 5 and 3 of 120 instead of 0); noise-free and at 0.01 % noise R2 +5 % fails 10 and
    7 of 10 (none before). R2 +5 % at 0.1 % noise (the audit's example) stays undetected (0 of
    120): the chain leaves it random to the runs test and 3-4 SDs out, as noise of unknown
    size does. None of the audit's 80 real spectra changes verdict by it."""
    sd = noise_sd_pct(res_re, res_im) if noise_sd is None else np.asarray(noise_sd, dtype=float)
    largest = 100.0 * np.maximum(np.max(np.abs(res_re), axis=1), np.max(np.abs(res_im), axis=1))
    with np.errstate(invalid="ignore"):
        far = largest > DRIFT_MAX_SDS * sd
    return np.asarray(structured, dtype=bool) & _worst_at_low_end_rows(res_re, res_im) & far


def _in_sds(value_pct: float, sd_pct: float) -> float:
    """``value_pct`` in units of ``sd_pct`` (inf for an SD of 0, nan for a nan one)."""
    if sd_pct > 0:
        return float(value_pct / sd_pct)
    return math.inf if sd_pct == 0 else math.nan


def _within_noise(max_pct: float, sd_pct: float, sd_limit_pct: float = NOISE_MAX_SD_PCT) -> bool:
    """Whether the largest residual ``max_pct`` is what noise of robust SD ``sd_pct`` (both
    % of |Z|) gives: within ``NOISE_MAX_SDS`` of it, the SD itself at most ``sd_limit_pct``
    (``NOISE_MAX_SD_PCT`` for noise a test can see through; a chain of one element leaving
    98 % residuals of 48 % "noise" on a damaged sweep is no evidence of anything)."""
    return sd_pct <= sd_limit_pct and max_pct <= NOISE_MAX_SDS * sd_pct


def _robust_sd_pct(res_re: np.ndarray, res_im: np.ndarray) -> float | np.ndarray:
    """Standard deviation of the residuals (% of |Z|) from their median absolute deviation:
    the noise level a single glitch cannot raise. Of the points of the last axis: one
    value, or one per spectrum of (S, N) residuals."""
    both = np.concatenate([res_re, res_im], axis=-1)
    return 100.0 * 1.4826 * np.median(np.abs(both - np.median(both, axis=-1, keepdims=True)), axis=-1)


def _make_results(labels: list[str], omega: np.ndarray, z: np.ndarray, chains: list[_Chain],
                  notes: list[tuple[str, ...]], c: float, inductance: bool, capacitance: bool, weighting: str,
                  threshold_pct: float, violation_pct: float, long_chain: np.ndarray, extend_low: float = 0.0
                  ) -> list[KKResult]:
    """The :class:`KKResult` of each spectrum of ``z`` (S, N, ohm) and its selected chain, on
    the grid ``omega`` (N,) or each on its own (S, N), rad/s. The residual statistics and the
    runs tests are computed for the whole stack at once; ``long_chain`` (S,) the noise levels
    of :func:`voigt_noise_levels`."""
    n = z.shape[1]
    z_fit = np.array([ch.z_fit for ch in chains])
    res_re, res_im = _relative_residuals(z, z_fit)
    magnitude = np.abs(np.concatenate([res_re, res_im], axis=1))
    max_pct = 100.0 * magnitude.max(axis=1)
    chisq = _pseudo_chisq_rows(z, z_fit)
    order = np.argsort(omega, axis=-1)
    ordered_re, ordered_im = _in_order(res_re, order), _in_order(res_im, order)
    structured = _systematic(ordered_re, ordered_im)
    frequency = np.array(np.broadcast_to(omega / (2.0 * np.pi), z.shape))  # one array per result
    sd_pct = _robust_sd_pct(res_re, res_im)
    low_end = _offset_at_low_end(ordered_re, ordered_im, sd_pct)
    noise_sd = noise_sd_pct(ordered_re, ordered_im)
    above_noise = _drift_above_noise(ordered_re, ordered_im, structured, noise_sd)
    chain_noise = _chain_noise(z, z_fit, np.array([ch.tau.size for ch in chains]),
                               1 + int(inductance) + int(capacitance))
    per_spectrum = zip(chains, max_pct.tolist(), (100.0 * magnitude.mean(axis=1)).tolist(),
                       (100.0 * np.sqrt(np.mean(magnitude**2, axis=1))).tolist(), chisq.tolist(),
                       structured.tolist(), sd_pct.tolist(), long_chain.tolist(), chain_noise.tolist(),
                       low_end.tolist(), noise_sd.tolist(), above_noise.tolist())
    results = []
    for i, (ch, max_i, mean_i, rms_i, chisq_i, structured_i, sd_i, long_i, noise_i, low_i, noise_sd_i,
            above_i) in enumerate(per_spectrum):
        m = ch.tau.size
        passed, status, _ = _verdict(max_i, ordered_re[i], ordered_im[i], threshold_pct, violation_pct, structured_i,
                                     sd_i, low_i, above_i)
        sparse = _sparse_note(labels[i], frequency[i]) if not passed else None
        inductance_h, capacitance_f = _series_elements(ch.coef, m, inductance, capacitance)
        results.append(KKResult(
            mu=float(ch.mu),
            n_rc=int(m),
            c=float(c),
            residuals_real=res_re[i],
            residuals_imag=res_im[i],
            max_residual_pct=max_i,
            mean_residual_pct=mean_i,
            rms_residual_pct=rms_i,
            pseudo_chisq=chisq_i,
            noise_estimate_pct=math.sqrt(chisq_i * 5000.0 / n),
            passed=passed,
            threshold_pct=float(threshold_pct),
            z_fit=ch.z_fit,
            frequency=frequency[i],
            r_ohm=float(ch.coef[0]),
            inductance_H=inductance_h,
            capacitance_F=capacitance_f,
            tau_s=ch.tau,
            r_k_ohm=np.asarray(ch.coef[1:1 + m], dtype=float),
            weighting=weighting,
            label=labels[i],
            # the chain's notes (mu never fell) only where it fails: on smooth or noise-free
            # data there is nothing to over-fit, and a chain that describes them is no worry
            warnings=(() if passed else notes[i]) + _negative_chain_note(labels[i], ch.mu, m, passed)
            + ((sparse,) if sparse else ()),
            status=status,
            structured=structured_i,
            violation_pct=float(violation_pct),
            noise_level=_noise_level(noise_i, long_i),
            outliers_Hz=() if sparse else isolated_outliers(frequency[i], res_re[i], res_im[i], sd_i),
            low_end_extension_decades=float(extend_low),
            residual_sd_pct=float(sd_i),
            noise_sd_pct=float(noise_sd_i),
            max_residual_sds=_in_sds(max_i, noise_sd_i),
        ))
    return results


def _series_elements(coef: np.ndarray, n_rc: int, inductance: bool, capacitance: bool
                     ) -> tuple[float | None, float | None]:
    """(L in H, C in F) of a chain's coefficients (R_ohm, R_1..R_M, [L], [1/C]); None where
    not fitted, and C where 1/C is exactly 0."""
    idx = 1 + n_rc
    ind = None
    if inductance:
        ind = float(coef[idx])
        idx += 1
    cap = None
    if capacitance:
        inv_c = float(coef[idx])
        cap = 1.0 / inv_c if inv_c != 0 else None
    return ind, cap


OUTLIER_SIGMAS = 6.0  # an outlier's residual: at least this many robust noise SDs of all residuals ...
OUTLIER_FLOOR_PCT = 1.0  # ... and this much of |Z| (the acceptance threshold: below it a point passes)
OUTLIER_NEIGHBOUR_SHARE = 0.5  # both neighbours (in frequency) below this share of its residual
OUTLIER_MAX_SHARE = 0.05  # more points above the level than this share (at least 2): a systematic deviation


SPARSE_POINTS_PER_DECADE = 3.0  # below it a failed test may be the chain's, not the data's


def points_per_decade(frequency: np.ndarray) -> float:
    """Distinct frequencies per decade of a sweep (Hz): (n - 1) / decades spanned; inf for
    a single frequency."""
    f = np.unique(np.asarray(frequency, dtype=float))
    decades = math.log10(f[-1] / f[0]) if f.size > 1 else 0.0
    return (f.size - 1) / decades if decades > 0 else math.inf


def _sparse_note(label: str, frequency: np.ndarray) -> str | None:
    """The note on a failed test of a spectrum measured at fewer than
    ``SPARSE_POINTS_PER_DECADE`` distinct frequencies per decade (None otherwise). Its
    chain's time constants lie as far apart as its points and cannot follow an arc between
    them: an exact two-arc spectrum (1 MHz-0.1 Hz, n 0.85-0.9) at 2 points per decade left
    2.6 % residuals and failed as a violation, with a point named as an outlier; at 3 and
    more it passed."""
    per_decade = points_per_decade(frequency)
    if per_decade >= SPARSE_POINTS_PER_DECADE:
        return None
    return (f"{label}: {per_decade:.2g} points per decade: the Voigt chain's time constants lie too far apart to "
            "follow an arc between them, so this failure may be the test's, not the data's (no point is named an "
            "outlier); a fitted circuit that describes the points within the same rule shows them consistent")


def _chain_at(result: KKResult, frequency: np.ndarray) -> np.ndarray:
    """Z (the spectrum's unit) of a test's chain at ``frequency`` (Hz), through the chain's own
    design (:func:`_design_matrix`): R_inf, its RC elements, its series L and C."""
    inductance, capacitance = result.inductance_H is not None, result.capacitance_F is not None
    coef = [result.r_ohm, *result.r_k_ohm] + ([result.inductance_H] if inductance else []) + (
        [1.0 / result.capacitance_F] if capacitance else [])
    design = _design_matrix(2.0 * np.pi * np.asarray(frequency, dtype=float), result.tau_s, inductance, capacitance)
    return design @ np.asarray(coef, dtype=float)


def _lone_glitch(spectrum: Spectrum, whole: KKResult, kk_options: Mapping[str, Any]) -> float | None:
    """The frequency (Hz) of the one inner point (not an end nor next to one) with the largest residual where the
    spectrum passes without it and that point stands out of the chain fitted without it
    (``OUTLIER_SIGMAS`` noise SDs and ``OUTLIER_FLOOR_PCT`` of |Z|, its neighbours below
    ``OUTLIER_NEIGHBOUR_SHARE`` of it), else None. A glitch of 15-50 % at 0.1 % noise bends
    the chain fitted with it, its neighbours then 2-3 % off, so the whole test names no
    outlier (too many points above the level) and no cut from the ends removes it: "no band
    passes", where leaving that point out passes (0 of 100 such glitches had been named)."""
    order = np.argsort(whole.frequency)
    worst = np.maximum(np.abs(whole.residuals_real), np.abs(whole.residuals_imag))[order]
    if worst.size < 5:
        return None
    # neither an end point nor one beside it: there a glitch and an end effect look alike (a cut)
    k = 2 + int(np.argmax(worst[2:-2]))
    f_k = float(whole.frequency[order][k])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            without = kk_test(spectrum.exclude([f_k]), **kk_options)
    except DataError:
        return None
    if not without.passed:
        return None
    at = np.isclose(spectrum.frequency, f_k, rtol=1e-12, atol=0.0)
    z_chain = _chain_at(without, spectrum.frequency[at])
    z_k = spectrum.z[at]
    off = float(np.max(np.maximum(np.abs((z_k - z_chain).real), np.abs((z_k - z_chain).imag)) / np.abs(z_k)))
    level = max(OUTLIER_SIGMAS * float(without.noise_sd_pct) / 100.0, OUTLIER_FLOOR_PCT / 100.0)
    neighbours = worst[[k - 1, k + 1]]
    return f_k if off > level and bool(np.all(neighbours < OUTLIER_NEIGHBOUR_SHARE * worst[k])) else None


def isolated_outliers(frequency: np.ndarray, res_re: np.ndarray, res_im: np.ndarray,
                      sd_pct: float | None = None) -> tuple[float, ...]:
    """Frequencies (Hz, ascending) of points that deviate alone from a Lin-KK chain.

    A point's residual is the larger of its real and imaginary residuals (fractions of
    |Z|). It is an isolated outlier when that is at least ``OUTLIER_SIGMAS`` robust SDs
    (1.4826 x the median absolute deviation of all 2N residuals) and ``OUTLIER_FLOOR_PCT``
    of |Z|, and both neighbours in frequency stay below ``OUTLIER_NEIGHBOUR_SHARE`` of it
    (never an end point: with one neighbour a glitch and a drift's last point look alike):
    the chain, smooth in frequency, cannot follow a glitch of one point, while a drift or a
    missing process moves runs of points. When more than ``OUTLIER_MAX_SHARE`` of the points
    (at least 2) rise above the level, the deviation is systematic and no point is singled
    out. On 200 synthetic two-arc spectra (0.3 % noise) none was named; one point moved by
    3-10 % was named alone in 195 of 200. ``sd_pct``: that robust SD (% of |Z|), when already
    computed."""
    r = np.maximum(np.abs(res_re), np.abs(res_im))
    if not r.size or r.max() <= OUTLIER_FLOOR_PCT / 100.0:  # none above the floor: the level is at least that
        return ()
    order = np.argsort(frequency)
    r = r[order]
    sigma = (_robust_sd_pct(res_re, res_im) if sd_pct is None else sd_pct) / 100.0
    level = max(OUTLIER_SIGMAS * sigma, OUTLIER_FLOOR_PCT / 100.0)
    above = np.flatnonzero(r > level)
    if above.size == 0 or above.size > max(2, round(OUTLIER_MAX_SHARE * r.size)):
        return ()
    f = np.asarray(frequency, dtype=float)[order]
    # an end point has one neighbour: a glitch there and the last point of a drift (which
    # rises towards the end) look alike; kk_valid_band cuts ends instead
    return tuple(float(f[i]) for i in above
                 if 0 < i < r.size - 1 and all(r[j] < OUTLIER_NEIGHBOUR_SHARE * r[i] for j in (i - 1, i + 1)))
