"""Weighting of complex residuals.

The fit minimises ``chisq = sum(((Z'_i - Zfit'_i)/s'_i)^2 + ((Z''_i - Zfit''_i)/s''_i)^2)``.
Each scheme gives the scale ``s`` (ohm) of every real and imaginary residual:

* ``modulus`` (default): s' = s'' = |Z_i| of the data (fixed weights; the data modulus
  weighting of Boukamp 1995, impedance.py's ``weight_by_modulus`` and most commercial
  software);
* ``modulus-calc``: s' = s'' = |Zfit_i| of the model (ZView's "calculated modulus"),
  updated at every iteration;
* ``proportional``: s' = |Z'_i|, s'' = |Z''_i| of the data;
* ``unit``: s = 1 ohm (unweighted; biased toward the low-frequency arc);
* user sigma: an array of N real (same for both parts) or N complex
  (real part -> s', imaginary part -> s'') standard deviations, ohm.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FitError

WEIGHTINGS = ("modulus", "modulus-calc", "proportional", "unit", "sigma")


# the weightings of a computation with no per-point standard deviations (the Lin-KK test's linear fits)
WEIGHTINGS_WITHOUT_SIGMA = tuple(w for w in WEIGHTINGS if w != "sigma")


def check_weighting(weighting: Any, allowed: tuple[str, ...] = WEIGHTINGS,
                    error: type[Exception] = FitError) -> None:
    """``error`` (FitError by default; :func:`eisfit.kk_test` raises DataError) unless
    ``weighting`` is one of ``allowed``. The name ``boukamp``, which eisfit 0.1 gave the
    model-modulus weighting, is refused with what to use instead: Boukamp (1995) weights by
    the data's modulus, which is ``modulus``."""
    if weighting == "boukamp":
        raise error("weighting 'boukamp' is no longer a name: Boukamp's modulus weighting (1/|Z|^2 of the "
                    "data) is 'modulus', the default; 1/|Zfit|^2 of the model is 'modulus-calc'")
    if not isinstance(weighting, str) or weighting not in allowed:
        raise error(f"unknown weighting {weighting!r}; use one of {', '.join(allowed)}")


def weighting_in_use(weighting: str, sigma: Any) -> str:
    """The weighting a fit, a joint fit or a DRT applies and records: ``"sigma"`` whenever
    per-point standard deviations ``sigma`` (ohm) are given, since they set the residual
    scales whatever ``weighting`` names (:func:`residual_scales`); ``weighting`` otherwise."""
    return "sigma" if sigma is not None else weighting


_TINY = 1e-300


def residual_scales(
    z_data: np.ndarray,
    weighting: str = "modulus",
    sigma: Any = None,
    z_model: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Scales (s', s'') in ohm of the real and imaginary residuals.

    ``z_model``: the model, for ``modulus-calc``; without it the data's modulus stands in
    (the scales a fit or a linear solve starts from, refined from the model afterwards).
    """
    n = z_data.size
    if sigma is not None or weighting == "sigma":
        if sigma is None:
            raise FitError("weighting='sigma' needs sigma=<array of standard deviations in ohm>")
        s = np.asarray(sigma)
        if s.shape != (n,):
            raise FitError(f"sigma has shape {s.shape}, expected ({n},)")
        if not np.issubdtype(s.dtype, np.number):
            raise FitError(f"sigma must hold numbers (standard deviations in ohm), got {s.dtype}")
        if np.iscomplexobj(s):
            sr, si = s.real.astype(float), s.imag.astype(float)
        else:
            sr = si = s.astype(float)
        if not (np.all(np.isfinite(sr)) and np.all(sr > 0) and np.all(np.isfinite(si)) and np.all(si > 0)):
            raise FitError("sigma must be finite and > 0 at every point (a standard deviation, ohm)")
        return sr, si
    if weighting == "modulus":
        m = np.maximum(np.abs(z_data), _TINY)
        return m, m
    if weighting == "modulus-calc":
        zm = z_data if z_model is None else z_model
        m = np.maximum(np.abs(zm), _TINY)
        return m, m
    if weighting == "proportional":
        return np.maximum(np.abs(z_data.real), _TINY), np.maximum(np.abs(z_data.imag), _TINY)
    if weighting == "unit":
        one = np.ones(n)
        return one, one
    check_weighting(weighting)
    raise AssertionError(weighting)  # every name check_weighting accepts is handled above


def weighted_residuals(
    z_data: np.ndarray, z_model: np.ndarray, scales: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Stacked real/imaginary weighted residuals, length 2N: [(Z'-Zfit')/s', (Z''-Zfit'')/s'']."""
    d = z_data - z_model
    return np.concatenate([d.real / scales[0], d.imag / scales[1]])


def pseudo_chisq(z_data: np.ndarray, z_model: np.ndarray) -> float:
    """Boukamp's pseudo chi-square: sum(|Z - Zfit|^2 / |Z|^2) over the points (dimensionless)."""
    return float(np.sum(np.abs(z_data - z_model) ** 2 / np.abs(z_data) ** 2))
