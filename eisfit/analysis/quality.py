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
model and grows with the misfit. Where the Lin-KK chain, as short as its mu criterion
allows, stops short of a shape (a diffusion tail) and a chain of N/2 elements leaves
residuals more than 1.2x smaller, that chain's residuals are the noise level
(:func:`voigt_noise_levels`; ``KKResult.noise_level``). Both sides are relative to |Z|
whatever the fit's weighting, so the ratio compares shapes, not weightings.
"""
from __future__ import annotations

import math
import warnings
from typing import Mapping

import numpy as np

from ..errors import EisfitError
from ..model import finite_at_dc
from .kk import voigt_noise_levels

__all__ = ["LACK_OF_FIT_RATIO", "undetermined", "MISFIT_RATIO", "NOISE_FLOOR", "kk_noise_level", "voigt_noise_levels",
           "rms_relative_residual", "lack_of_fit_ratio", "is_lack_of_fit", "unmodelled_inductance_H",
           "unmodelled_capacitance_F", "capacitive_tail_F", "modulus_phase_reading", "NOISE_TO_SIGNAL_LIMIT_PCT",
           "is_instrument_noise_column", "instrument_noisy_points"]

LACK_OF_FIT_RATIO = 2.0  # residuals above twice the noise level: the model misses the data
MISFIT_RATIO = 1.2  # above it (up to 2) the residuals are systematically above the noise: right-model fits
# stay below (at most 1.085 on 240 fits of eight circuit families, 1.11 on 400 hard headline spectra), the
# headline circuit without the lead inductance of MHz data lies at 1.21-1.44 (11 sample checkpoints)
NOISE_FLOOR = 1e-4  # relative residuals below 0.01 % of |Z| are never called a lack of fit
NOISE_TO_SIGNAL_LIMIT_PCT = 100.0  # an instrument-reported noise as large as the response itself
NOISE_COLUMN_PREFIX = "NSR "  # BioLogic's noise-to-signal columns: ``NSR Ewe/%``, ``NSR I/%``


def is_instrument_noise_column(name: str) -> bool:
    """Whether a per-point column (:attr:`eisfit.Spectrum.columns`) is an instrument-reported
    noise-to-signal ratio, which :func:`instrument_noisy_points` reads: the only per-point
    columns a fit uses."""
    return name.startswith(NOISE_COLUMN_PREFIX)


def instrument_noisy_points(columns: Mapping[str, np.ndarray]) -> int:
    """How many points have an instrument-reported noise-to-signal ratio of
    ``NOISE_TO_SIGNAL_LIMIT_PCT`` or more in any channel: BioLogic's EIS quality indicator
    NSR (EC-Lab 11.20 and later; columns ``NSR Ewe/%``, ``NSR I/%`` of .mpr and .mpt files,
    -1 where it was not computed). There the noise of the response is as large as the
    response: the impedance of the point is mostly noise (a GEIS current or a PEIS voltage
    amplitude too small for the cell's impedance at that frequency). ``columns``: the
    spectrum's per-point columns (:attr:`eisfit.Spectrum.columns`); 0 without such columns."""
    noisy = None
    for name, values in columns.items():
        if not is_instrument_noise_column(name):
            continue
        with np.errstate(invalid="ignore"):
            above = np.asarray(values, float) >= NOISE_TO_SIGNAL_LIMIT_PCT
        noisy = above if noisy is None else noisy | above
    return 0 if noisy is None else int(np.count_nonzero(noisy))


def kk_noise_level(kk_result) -> float:
    """Noise level of the data (fraction of |Z|, per real residual) from a
    :class:`~eisfit.analysis.kk.KKResult`: its ``noise_level`` (the Lin-KK chain's residuals
    over its degrees of freedom, or a chain of N/2 elements' where the Lin-KK chain stopped
    short: :func:`voigt_noise_levels`). nan when there are too few points."""
    return float(kk_result.noise_level)


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


INDUCTANCE_SIGMAS = 3.0  # a Lin-KK series term's share of |Z| at the end of the range, in noise levels, that
# the data hold (the inductance at f_max, the capacitance at f_min)


def unmodelled_inductance_H(circuit, frequency: np.ndarray, z: np.ndarray, kk_passed: bool | None,
                            kk_inductance_H: float | None, noise_level: float) -> float | None:
    """The series inductance (H) the data hold and ``circuit`` lacks, else None: the Lin-KK
    chain's inductance ``kk_inductance_H``, where the data pass the Lin-KK test
    (``kk_passed``: a chain that fails, its elements alternating in sign, gives its
    inductance no meaning), the circuit has no L or La element, and omega_max L reaches
    ``INDUCTANCE_SIGMAS`` noise levels (``noise_level``, fraction of |Z|) of |Z| at the
    highest frequency (``frequency`` Hz, ``z`` ohm). Where such data lack fit, no start
    supplies the missing term."""
    if not kk_passed or not kk_inductance_H or not math.isfinite(noise_level) or kk_inductance_H <= 0:
        return None
    if any(e.kind in ("L", "La") for e in circuit.elements):
        return None
    top = int(np.argmax(frequency))
    reach = 2 * math.pi * float(frequency[top]) * kk_inductance_H
    return float(kk_inductance_H) if reach > INDUCTANCE_SIGMAS * noise_level * abs(complex(z[top])) else None


def unmodelled_capacitance_F(circuit, frequency: np.ndarray, z: np.ndarray, kk_passed: bool | None,
                             kk_capacitance_F: float | None, noise_level: float) -> float | None:
    """The series capacitance (F) of a low-frequency tail the data hold and ``circuit``
    cannot follow, else None: the Lin-KK chain's series capacitance ``kk_capacitance_F``
    (its layout with a capacitance, kept where it describes the data better), where the data
    pass the Lin-KK test, the circuit's impedance stays finite at low frequency
    (:func:`eisfit.model.finite_at_dc`: no C, CPE, W, Wo... in every path), and
    1/(omega_min C) reaches ``INDUCTANCE_SIGMAS`` noise levels of |Z| at the lowest
    frequency (a blocking electrode, an open diffusion)."""
    return capacitive_tail_F(circuit, frequency, z, kk_capacitance_F, noise_level) if kk_passed else None


def capacitive_tail_F(circuit, frequency: np.ndarray, z: np.ndarray, kk_capacitance_F: float | None,
                      noise_level: float) -> float | None:
    """:func:`unmodelled_capacitance_F` whether or not the data pass the Lin-KK test: the
    chain's series capacitance (F) where ``circuit`` stays finite at DC and the
    capacitance's reactance at the lowest frequency reaches ``INDUCTANCE_SIGMAS`` noise
    levels of |Z|, else None (the solver's tail round tries starts for it: a failed test
    inflates the noise level, which only makes this stricter)."""
    if not kk_capacitance_F or not math.isfinite(noise_level) or kk_capacitance_F <= 0:
        return None
    if not finite_at_dc(circuit):
        return None
    low = int(np.argmin(frequency))
    reach = 1.0 / (2 * math.pi * float(frequency[low]) * kk_capacitance_F)
    return float(kk_capacitance_F) if reach > INDUCTANCE_SIGMAS * noise_level * abs(complex(z[low])) else None


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


def data_kk_consistent(kk_passed: bool | None, params, frequency: np.ndarray, z: np.ndarray,
                       z_fit: np.ndarray) -> bool:
    """Whether data are Kramers-Kronig consistent: they pass the Lin-KK test
    (``kk_passed``), or a fitted circuit with non-negative ``params`` (passive, so
    KK-consistent itself) describes them within the same acceptance rule
    (:func:`fit_passes_kk_rule`), so that a Lin-KK failure is the Voigt chain's (a sharp
    arc between its time constants, a finite-length Warburg tail), not the data's."""
    if kk_passed:
        return True
    return bool(np.all(np.asarray(list(params), dtype=float) >= 0)) and fit_passes_kk_rule(frequency, z, z_fit)


def modulus_phase_reading(spectrum):
    """The Lin-KK result (:class:`~eisfit.analysis.kk.KKResult`) of the other reading of a
    spectrum read from a headerless table as (f, Z', Z'') whose Z' and Z'' columns could as
    well be |Z| and phase (``meta["columns_alternative"]``, set by the reader, which cannot
    tell them apart, e.g. ``"column 2 = |Z|, column 3 = phase (deg); --columns ..."``), when
    that reading passes the test; else None.

    The other reading is |Z| = Z' as read and phase = Z'' as read (its capacitive sign
    already settled by the reader), in the unit the values allow (degrees for ±90,
    radians for ±pi/2). A spectrum of |Z| and phase read as Z', Z'' fails the test by tens
    of per cent; read right, it passes: then the file most probably holds |Z| and phase."""
    from ..spectrum import points_spectrum
    from .kk import kk_test

    alternative = spectrum.meta.get("columns_alternative")
    if not isinstance(alternative, str) or "phase" not in alternative:
        return None
    phase = spectrum.z.imag if "phase (rad)" in alternative else np.radians(spectrum.z.imag)
    other = points_spectrum(spectrum.frequency, spectrum.z.real * np.exp(1j * phase), spectrum.label)
    try:
        with warnings.catch_warnings():  # the chain length of a reading the user did not ask for
            warnings.simplefilter("ignore")
            result = kk_test(other)
    except EisfitError:  # a reading that cannot be tested is no evidence either way
        return None
    return result if result.passed else None


RANGE_COVER_FRACTION = 0.5  # a 1-sigma interval covering this much of a bounded parameter's range: undetermined


def stderr_spans_range(value: float, stderr: float, lower: float, upper: float) -> bool:
    """Whether the 1-sigma interval ``value`` +- ``stderr``, clipped to the parameter's
    physical range [``lower``, ``upper``] (a CPE's or ZARC's exponent n: 0-1), covers at
    least ``RANGE_COVER_FRACTION`` of that range: the data then leave half of the possible
    values or more open at 1 sigma (n 0.988 +- 0.68, a noisy 19-point sweep: 0.31-1, read as
    a number because the stderr was below the value). The rule of :func:`undetermined` for a
    positive parameter is the 1-sigma interval reaching the range's lower end, 0; for an
    exponent near its upper end that misses it, and the clipped width does not (n 1 +- 0.03 on
    its bound covers 3 %). Measured: synthetic spectra of the robustness families, 0.5 % noise
    and 81 points, cover at most 37 % (0 of 400 exponents flagged); 19 points with 3 % noise,
    10 of 390 shown exponents flagged, their stderr 0.32-0.89. False where anything is not finite."""
    if not all(math.isfinite(x) for x in (value, stderr, lower, upper)) or upper <= lower:
        return False
    covered = min(value + stderr, upper) - max(value - stderr, lower)
    return covered >= RANGE_COVER_FRACTION * (upper - lower)


def undetermined(value: float, stderr: float | None) -> bool:
    """True when the data do not determine the value: its standard error is unknown (nan:
    a singular covariance) or at least the value itself (zero lies within 1 stderr;
    what ``large-stderr`` flags). Reports never show such a value as a headline number and
    mark it in parameter tables. ``stderr`` None (a quantity given without one) is not
    judged; a parameter held fixed (no stderr by design) is the caller's to leave out."""
    if stderr is None or not math.isfinite(value):
        return False
    return not math.isfinite(stderr) or stderr >= abs(value)
