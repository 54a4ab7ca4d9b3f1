"""Distribution of relaxation times (DRT) by non-negative Tikhonov regularisation.

Model (Voigt limit of a continuous distribution), with x = ln(tau / 1 s)::

    Z(w) = R_inf + j w L + integral gamma(x) / (1 + j w e^x) dx

``gamma`` (ohm per unit ln tau) is a sum of piecewise-linear "hat" functions on a
log-spaced tau grid; its integral over ln tau is the polarisation resistance.
The kernel integrals of every hat are computed by Gauss-Legendre quadrature
(6 nodes per grid interval: relative error far below 1e-6), so the integral of the
returned ``gamma`` equals Z(0) - R_inf of the model to machine precision.

Regularisation and solver
-------------------------
The weighted data misfit (scales from :func:`eisfit.model.weighting.residual_scales`,
modulus by default, i.e. residuals relative to |Z|) plus ``lambda_ * ||D gamma~||^2`` is
minimised under ``gamma >= 0``, ``R_inf >= 0``, ``L >= 0`` with
:func:`scipy.optimize.nnls` on the stacked system ``[A; sqrt(lambda_) D]``. ``gamma~`` is
gamma divided by the largest |Z|, and the residual scales of every weighting are multiplied
by one constant so that the median of |Z_i| / s_i is 1 (:func:`_dimensionless_scales`: the
weighted residuals are fractions of |Z| for ``unit`` and ``sigma`` too), so ``lambda_`` is
dimensionless and independent of the cell size for every weighting; ``D`` approximates the first derivative with respect to ln tau (scaled so
that ``||D g||^2 ~ integral g'(x)^2 dx``, independent of the grid density), with
gamma = 0 assumed just outside the grid.

``lambda_="auto"`` (``lambda_rule = "gcv-discrepancy"``): on the unconstrained problem
in standard form (the unpenalised R_inf, L, 1/C projected out), one SVD gives the residual
and the influence-matrix trace for every lambda. GCV (Golub-Heath-Wahba 1979) estimates the
noise level; the largest lambda whose non-negative fit stays within that noise level
(discrepancy principle) is taken, over 10^-8..10^1. See :func:`_auto_lambda`.

Series inductance
-----------------
Whether L is in the model (``inductance="auto"``) and its value come from the nearly
unregularised non-negative fit (lambda / 100, :func:`_decide_inductance`): an F-test of the
fits with and without L on that fit's residual variance. The DRT at the chosen lambda then
keeps that L fixed; ``DRTResult.inductance_sd_H`` is its standard deviation, and a warning
says when L is not determined (standard deviation above half of it) or when an L left out
would improve the fit at the 95 % level but not significantly.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np
from scipy.linalg import solve_triangular
from scipy.optimize import nnls

from .._caller import user_stacklevel
from .._checks import check_choice, finite_number_at_least, is_real_number
from ..errors import DataError, FitError
from ..model.weighting import WEIGHTINGS, residual_scales, weighting_in_use
from ..spectrum import Spectrum, as_spectrum, require_distinct_frequencies, require_positive_real_part
from .derived import OPEN_END_DECADES, open_data_ends
from .kk import KK_MIN_POINTS

__all__ = ["drt", "DRTResult", "zarc_drt", "zarc_drt_cumulative", "tau_grid"]

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(6)
_LAMBDA_RANGE = (1e-8, 1e1)
R_POL_OPEN_SHARE = 0.5  # R_pol with more than this share in open or out-of-range peaks is not the data's
_DISCREPANCY_FLOOR = 2e-4  # noise level (fraction of |Z| per real or imaginary part) lambda 'auto' assumes at least
_PEAK_MIN_HEIGHT = 0.01  # fraction of the largest gamma
_PEAK_MIN_AREA = 0.01  # fraction of the polarisation resistance
_INDUCTANCE_F_MIN = 10.0  # F statistic above which a series L is kept (inductance="auto")
_L_LAMBDA_SHARE = 1e-2  # L is tested and valued at this share of lambda (regularisation bias negligible)
_L_SD_SHARE = 0.5  # an L whose standard deviation exceeds half its value is flagged as not determined
_LOG_STEP_TOLERANCE = 0.01  # a user's tau grid: steps in ln tau equal within 1 % of their mean
_L_F_SUGGESTED = 4.0  # an L left out with F above this (~95 % level of F(1, dof)) is mentioned in a warning
_HIDDEN_L_SHARE = 0.5  # without inductive points, omega_max * L at most half of |Z(f_max)|
_HIDDEN_L_MAX_H = 1e-4  # without inductive points, at most 100 uH: what cables and a fixture give (the hidden
# L of 86 real DRTs: at most 27 uH; 4 mH on a sweep that ends at 35 Hz was the Tikhonov fit's trade, not a lead)
_C_TAIL_HEIGHT = 0.1  # capacitance="auto": gamma at the longest tau >= 10 % of its maximum ...
_C_TAIL_AREA = 0.2  # ... and >= 20 % of R_pol beyond the measured range -> series C
_TAIL_DECAY = 0.5  # beyond f_max gamma decays outwards at least like exp(-0.5 |ln tau|) (CPE n >= 0.5)
_PEAK_LOCAL_AREA = 0.1  # with a series C: a peak with >= 10 % of |Z| at its own frequency counts
_OUTSIDE_DECADES = 0.25  # peaks further than this outside the measured tau range are not processes
_DERIV_ORDER = 1  # first-derivative penalty: lower integral error than 2nd order in tests
_HF_CUT_SHARE = 0.05  # R_pol share beyond the highest measured frequency that makes R_inf undetermined
_HF_CUT_R_INF_SHARE = 0.25  # ... or that share of R_inf itself, which makes R_inf alone undetermined
_R_INF_ZERO_SHARE = 0.01  # R_inf below 1 % of Z'(f_max): the series resistance went into the fastest peaks
_MISFIT_RMS_PCT = 3.0  # a DRT (lambda "auto") whose RMS residual exceeds 3 % of |Z| does not describe the data
_KK_MISFIT_FACTOR = 3.0  # a DRT missing KK-valid points by this times the Lin-KK chain's RMS (and by more
_KK_MISFIT_FLOOR_PCT = 0.5  # than this % of |Z|) misses a process positive resistances cannot give
_RESOLVED_DCHI2 = 9.0  # a peak is resolved when a monotone tail instead fits worse by >= 9 s^2 (3 sigma)
_STRONG_RATIO = 3.0  # a user's lambda whose RMS residual is > 3x the noise level (that of lambda "auto") ...
_STRONG_PCT = 1.0  # ... and > 1 % of |Z| (the Lin-KK acceptance threshold) is too strong: a warning says so
_WEAK_FACTOR = 30.0  # a user's lambda this many times below lambda "auto" giving more peaks is too weak
_NOISE_FLOOR = 1e-3  # relative noise level assumed at least (0.1 % of |Z|): a process holding less than
# this share of |Z| at its own frequency is below what the data can show (and a series C for a tail this small)


# ---------------------------------------------------------------- closed forms
def zarc_drt(tau_s: Any, R: float, tau0: float, n: float) -> np.ndarray:
    """DRT of a ZARC ``R / (1 + (j w tau0)^n)`` on ``tau_s`` (s), in ohm per unit ln tau.

    ``gamma(x) = R/(2 pi) * sin((1-n) pi) / (cosh(n x) - cos((1-n) pi))``, ``x = ln(tau/tau0)``.
    For an R||CPE arc ``tau0 = (R Q)^(1/n)`` and ``n`` is the CPE exponent.

    When the peak is narrower than the grid (``n`` close to 1), point values would miss
    its area; the cell averages of the exact cumulative distribution are returned instead,
    so that ``trapezoid(gamma, ln tau)`` still equals ``R``. For ``n >= 1`` (an ideal R||C:
    a delta at ``tau0``) the area ``R`` is shared between the two grid points around
    ``tau0`` so that both the area and the mean ln tau are exact. ``tau_s`` must be
    increasing.
    """
    tau = np.asarray(tau_s, dtype=float)
    x = np.log(tau / tau0)
    if tau.size < 2:
        raise DataError("zarc_drt needs a grid of at least 2 time constants")
    if n >= 1.0 - 1e-12:
        return _delta_on_grid(x, R)
    a = (1.0 - n) * math.pi
    spacing = float(np.max(np.diff(x)))
    width = 2.0 * a / n  # ~ full width at half maximum in ln tau for n -> 1
    if width >= 3.0 * spacing:
        return R / (2.0 * math.pi) * math.sin(a) / (np.cosh(n * x) - math.cos(a))
    edges = np.concatenate([[x[0] - 0.5 * (x[1] - x[0])], 0.5 * (x[1:] + x[:-1]),
                            [x[-1] + 0.5 * (x[-1] - x[-2])]])
    cdf = _zarc_cdf(edges, R, n)
    return np.diff(cdf) / np.diff(edges)


def zarc_drt_cumulative(tau_s: Any, R: float, tau0: float, n: float) -> np.ndarray:
    """Integral of the ZARC DRT from ln tau = -inf to ln(tau_s), ohm (tends to R)."""
    x = np.log(np.asarray(tau_s, dtype=float) / tau0)
    if n >= 1.0 - 1e-12:
        return np.where(x < 0, 0.0, np.where(x > 0, R, 0.5 * R))
    return _zarc_cdf(x, R, n)


def _zarc_cdf(x: np.ndarray, R: float, n: float) -> np.ndarray:
    """R/2 + R/(pi n) * arctan(tanh(n x / 2) / tan((1-n) pi / 2))."""
    a = (1.0 - n) * math.pi
    return 0.5 * R + R / (math.pi * n) * np.arctan(np.tanh(0.5 * n * x) / math.tan(0.5 * a))


def _delta_on_grid(x: np.ndarray, R: float) -> np.ndarray:
    """A delta of area R at x = 0 as two hat heights (area and centroid exact)."""
    gamma = np.zeros_like(x)
    if x[0] > 0 or x[-1] < 0:
        return gamma
    k = int(np.clip(np.searchsorted(x, 0.0) - 1, 0, x.size - 2))
    t = (0.0 - x[k]) / (x[k + 1] - x[k])
    widths = _hat_areas(x)
    gamma[k] += R * (1.0 - t) / widths[k]
    gamma[k + 1] += R * t / widths[k + 1]
    return gamma


# ------------------------------------------------------------------- grid/basis
def tau_grid(
    frequency: Any, points_per_decade: float = 10.0, extend_decades: float = 1.0
) -> np.ndarray:
    """Log-spaced tau grid (s) from 1/(2 pi f_max) to 1/(2 pi f_min), extended on both sides."""
    f = np.asarray(frequency, dtype=float)
    lo = math.log10(1.0 / (2.0 * math.pi * f.max())) - extend_decades
    hi = math.log10(1.0 / (2.0 * math.pi * f.min())) + extend_decades
    n = int(math.ceil((hi - lo) * points_per_decade)) + 1
    return np.logspace(lo, hi, max(n, 2))


def _hat_areas(x: np.ndarray) -> np.ndarray:
    """Integral over ln tau of each hat (end hats use the neighbouring spacing outward)."""
    h = np.diff(x)
    left = np.concatenate([[h[0]], h])
    right = np.concatenate([h, [h[-1]]])
    return 0.5 * (left + right)


def _kernel_matrices(omega: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Real and imaginary kernel matrices (N x M), ohm per ohm of hat height.

    ``A_re[i, k] = integral phi_k(y) / (1 + (w_i e^y)^2) dy`` and
    ``A_im[i, k] = -integral phi_k(y) w_i e^y / (1 + (w_i e^y)^2) dy``, with phi_k the hat
    centred on x_k (full hats at the ends, spacing mirrored outward).
    """
    h = np.diff(x)
    nodes = np.concatenate([[x[0] - h[0]], x, [x[-1] + h[-1]]])  # with one virtual node each side
    a, b = nodes[:-1], nodes[1:]  # M + 1 intervals
    t = 0.5 * (_GL_NODES + 1.0)  # quadrature nodes on [0, 1]
    y = a[:, None] + (b - a)[:, None] * t[None, :]  # (M+1, Q)
    w = 0.5 * (b - a)[:, None] * _GL_WEIGHTS[None, :]
    u = omega[:, None, None] * np.exp(y)[None, :, :]  # (N, M+1, Q)
    denom = 1.0 + u * u
    k_re = 1.0 / denom
    k_im = -u / denom
    # interval j runs from node j to node j+1 (nodes indexed with the virtual one at 0);
    # its left end is the falling half of hat j-1 (grid index), the right end the rising half of hat j
    rise = (w * t[None, :])  # weight of the hat whose peak is at the right end
    fall = (w * (1.0 - t)[None, :])
    re_rise = np.einsum("njq,jq->nj", k_re, rise)
    re_fall = np.einsum("njq,jq->nj", k_re, fall)
    im_rise = np.einsum("njq,jq->nj", k_im, rise)
    im_fall = np.einsum("njq,jq->nj", k_im, fall)
    # hat k (grid index) = rising part on interval k + falling part on interval k+1
    a_re = re_rise[:, :-1] + re_fall[:, 1:]
    a_im = im_rise[:, :-1] + im_fall[:, 1:]
    return a_re, a_im


def _difference_matrix(x: np.ndarray, order: int) -> np.ndarray:
    """D with ||D g||^2 ~ integral (d^order g / d ln tau^order)^2 d ln tau; gamma = 0 outside."""
    m = x.size
    h = float(np.mean(np.diff(x)))
    if order == 1:
        d = np.eye(m + 1, m) - np.eye(m + 1, m, k=-1)
    elif order == 2:
        d = np.diag(np.full(m, -2.0)) + np.diag(np.ones(m - 1), 1) + np.diag(np.ones(m - 1), -1)
    else:
        d = np.eye(m)
    return d / h**order * math.sqrt(h)


# ------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class DRTResult:
    """A distribution of relaxation times.

    Attributes
    ----------
    tau_s : time-constant grid, s (log-spaced, increasing).
    gamma_ohm : gamma(ln tau) on the grid, ohm per unit ln tau (>= 0).
    r_inf_ohm : series (high-frequency) resistance, ohm.
    inductance_H : series inductance, H, or None when not part of the model (see the module
        docstring: tested and valued on the nearly unregularised fit).
    inductance_sd_H : its standard deviation, H (linearised, on the free parameters of that
        fit), or None without L; a warning flags an L whose standard deviation exceeds half of it.
    capacitance_F : series capacitance, F (blocking electrodes; inf when its 1/C came out 0),
        or None when not part of the model.
    r_pol_ohm : polarisation resistance = integral of gamma over ln tau, ohm.
    lambda_ : regularisation strength used (dimensionless for every weighting, see module docstring).
    lambda_rule : how it was chosen: ``"gcv-discrepancy"`` (``lambda_="auto"``: GCV noise
        estimate, then the discrepancy principle, :func:`_auto_lambda`) or ``"user"``.
    peaks : DataFrame with ``tau_s``, ``f_Hz`` (= 1/(2 pi tau)), ``gamma_ohm``, ``R_ohm``
        (area of the peak, split at the minima between peaks), ``R_process_ohm`` (a resolved
        peak's area plus those of the unresolved peaks of its process: the estimate of its
        process's resistance, see :func:`eisfit.analysis.drt.process_areas`; NaN for unresolved
        peaks and for open ones; an open peak's area never enters another process),
        ``resolved`` (False: the peak is part of a neighbouring peak's process, a monotone tail
        of it fitting the data as well (a side lobe, a shoulder, a bump of a split arc), or its
        process holds less than the noise level; see :func:`_peak_groups`: not evidence of a
        process of its own), ``closed`` (False: a peak at an end of data whose -Z'' still
        rises there, see :func:`_open_ends`: its process is not closed by the data and its
        resistance not determined) and ``determined`` (True where ``R_process_ohm`` is a number
        the data determine: False for the rows without one and for the fastest process when
        a warning says R_inf went into it or a process reaches past f_max), ordered by tau.
        Only peaks inside the measured tau range (widened by a quarter decade each side) are
        processes;
    peaks_outside : the other peaks (same columns): their areas still count in ``r_pol_ohm``
        (``peaks.R_ohm.sum() + peaks_outside.R_ohm.sum() == r_pol_ohm``; where no peak is
        open or below the noise, the ``R_process_ohm`` of both tables together sum to the same).
    frequency : Hz; z_model : the model at those frequencies, ohm.
    residuals_real, residuals_imag : (Z - Z_model)/|Z|, real and imaginary parts (fractions).
    kk_passed, kk_max_residual_pct : outcome of :func:`eisfit.kk_test` on the same data
        (``kk_passed`` is True and the residual None when the test was not run).
    kk_status : that test's status (``valid``, ``noisy``, ``drift``, ``too-noisy``,
        ``violation``; "" when not run); :attr:`kk_violation` tells a failure of the data
        from a test that cannot judge them (``too-noisy``).
    tau_measured_s : (1/(2 pi f_max), 1/(2 pi f_min)): the tau range the data cover.
    warnings : tuple of messages (also issued as Python warnings).
    r_inf_determined : False where the data do not fix R_inf (a process reaching past f_max,
        or R_inf gone into the fastest peaks; a warning says which) or where the DRT misses the
        points (its misfit warnings: a negative arc, damaged points): shown as undetermined.
    """

    tau_s: np.ndarray
    gamma_ohm: np.ndarray
    r_inf_ohm: float
    inductance_H: float | None
    r_pol_ohm: float
    lambda_: float
    lambda_rule: str
    peaks: Any
    frequency: np.ndarray
    z_model: np.ndarray
    residuals_real: np.ndarray
    residuals_imag: np.ndarray
    kk_passed: bool
    kk_max_residual_pct: float | None
    tau_measured_s: tuple[float, float] | None = None
    weighting: str = "modulus"
    label: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    capacitance_F: float | None = None
    peaks_outside: Any = None
    kk_status: str = ""
    inductance_sd_H: float | None = None
    r_inf_determined: bool = True

    @property
    def f_Hz(self) -> np.ndarray:
        """1/(2 pi tau) of the grid, Hz."""
        return 1.0 / (2.0 * math.pi * self.tau_s)

    @property
    def rms_residual_pct(self) -> float:
        """Root mean square of the 2N relative residuals, %."""
        both = np.concatenate([self.residuals_real, self.residuals_imag])
        return 100.0 * float(np.sqrt(np.mean(both**2)))

    def to_dataframe(self):
        """The distribution as a table: tau_s, f_Hz, gamma_ohm."""
        import pandas as pd

        return pd.DataFrame({"tau_s": self.tau_s, "f_Hz": self.f_Hz, "gamma_ohm": self.gamma_ohm})

    @property
    def r_pol_open_share(self) -> float:
        """The share of ``r_pol_ohm`` (0..1) that lies in peaks the data do not close: open
        peaks (-Z'' still rising at an end of the data) and peaks beyond the measured range
        (``peaks_outside``). Above :data:`eisfit.analysis.drt.R_POL_OPEN_SHARE` R_pol is no property of the data
        (a blocking LPSCl pellet read R_pol 9.03 MOhm, 93 % of it in a peak at 33 mHz, below
        its lowest frequency, where the largest measured Z' was 1.8 MOhm); a warning says so
        and ``eisfit drt`` prints it beside R_pol."""
        if not self.r_pol_ohm > 0:
            return 0.0
        return min(_open_ohm(self.peaks, self.peaks_outside) / self.r_pol_ohm, 1.0)

    @property
    def kk_violation(self) -> bool:
        """The points fail the Lin-KK test (not merely too noisy for it to judge): the DRT
        of such data is not evidence."""
        return not self.kk_passed and self.kk_status != "too-noisy"

    def to_dict(self) -> dict[str, Any]:
        """Scalars, peaks (list of dicts) and the distribution (lists) in a plain, JSON-safe
        dict (as :meth:`eisfit.FitResult.to_dict`): numpy numbers as Python ones, a non-finite
        number (the NaN ``R_process_ohm`` of an unresolved or open peak, an infinite
        ``capacitance_F``) as None."""
        from .._json import to_jsonable

        return to_jsonable({
            "label": self.label,
            "r_inf_ohm": self.r_inf_ohm,
            "r_inf_determined": self.r_inf_determined,
            "inductance_H": self.inductance_H,
            "inductance_sd_H": self.inductance_sd_H,
            "capacitance_F": self.capacitance_F,
            "r_pol_ohm": self.r_pol_ohm,
            "lambda": self.lambda_,
            "lambda_rule": self.lambda_rule,
            "weighting": self.weighting,
            "rms_residual_pct": self.rms_residual_pct,
            "kk_passed": self.kk_passed,
            "kk_status": self.kk_status,
            "kk_max_residual_pct": self.kk_max_residual_pct,
            "tau_measured_s": None if self.tau_measured_s is None else list(self.tau_measured_s),
            "warnings": list(self.warnings),
            "peaks": self.peaks.to_dict(orient="records"),
            "peaks_outside": ([] if self.peaks_outside is None
                              else self.peaks_outside.to_dict(orient="records")),
            "tau_s": self.tau_s.tolist(),
            "gamma_ohm": self.gamma_ohm.tolist(),
        })

    def _repr_html_(self) -> str:
        """The notebook view: the series elements and R_pol, the processes (one row per peak,
        unresolved and undetermined ones said so, never as a number) and the warnings."""
        from .._html import html_list, html_table
        from ..units import format_frequency, format_value

        inductance = ("not in the model" if self.inductance_H is None
                      else format_value(self.inductance_H, self.inductance_sd_H, "H", 3))
        summary = html_table(["quantity", "value"], [
            ("R_inf", format_value(self.r_inf_ohm, None, "ohm") + ("" if self.r_inf_determined
                                                                   else " (undetermined)")),
            ("R_pol (area under gamma)", format_value(self.r_pol_ohm, None, "ohm")),
            ("series L", inductance),
            ("series C", "not in the model" if self.capacitance_F is None
             else "none (1/C = 0)" if not math.isfinite(self.capacitance_F) else format_value(self.capacitance_F, None, "F")),
            ("lambda", f"{self.lambda_:.3g} ({self.lambda_rule})"),
            ("rms residual", f"{self.rms_residual_pct:.3g} % of |Z|"),
            ("Lin-KK", f"{'passed' if self.kk_passed else 'FAILED'} ({self.kk_status}, "
                       f"max {self.kk_max_residual_pct:.3g} % of |Z|)"),
        ], caption=f"DRT of {self.label} ({self.weighting} weighting)")
        rows = []
        for _, peak in self.peaks.iterrows():
            process = (format_value(peak["R_process_ohm"], None, "ohm") if peak["determined"]
                       else "part of a neighbouring process" if not peak["resolved"]
                       else "open (not closed by the data)" if not peak["closed"] else "not determined")
            rows.append((format_frequency(peak["f_Hz"]), f"{peak['tau_s']:.3g}", format_value(peak["R_ohm"], None, "ohm"),
                         process))
        peaks = html_table(["apex f", "tau / s", "peak area", "process resistance"], rows,
                           caption="peaks, fastest first" if rows else "no peak")
        return summary + peaks + html_list(self.warnings)

    def __repr__(self) -> str:
        return (
            f"DRTResult({self.label!r}: {len(self.peaks)} peaks, R_inf={self.r_inf_ohm:.4g} ohm"
            f"{'' if self.r_inf_determined else ' (undetermined)'}, "
            f"R_pol={self.r_pol_ohm:.4g} ohm, lambda={self.lambda_:.3g} ({self.lambda_rule}))"
        )


# ------------------------------------------------------------- the linear system
_N_EXTRA = 3  # p = [R_inf, L, 1/C, gamma...]


@dataclass(frozen=True)
class _System:
    """Weighted real-valued system a @ p ~ b, p = [R_inf, L, 1/C, gamma...] (scaled).

    The non-negative solve works on q with p = t @ q: on the grid nodes below the measured
    range (tau < 1/(2 pi f_max)) gamma is a cumulative sum of non-negative steps, i.e.
    it may only fall (or stay) towards shorter tau (see :func:`_tail_transform`)."""

    a: np.ndarray  # (2N, 3 + M)
    b: np.ndarray  # (2N,)
    d: np.ndarray  # (M, 3 + M) regulariser acting on p (zero on R_inf, L and 1/C)
    z_scale: float  # ohm per unit of the scaled R_inf and gamma
    l_scale: float  # H per unit of the scaled L
    c_scale: float  # 1/F per unit of the scaled 1/C
    design: np.ndarray  # complex (N, 3 + M) unscaled-by-weights design, ohm per unit of p
    t: np.ndarray  # (3 + M, 3 + M) p = t @ q, q >= 0 in the non-negative solve
    l_fixed: float = 0.0  # scaled L held fixed (its column zeroed, its part taken from b), see _fix_inductance


def _build_system(spectrum: Spectrum, x: np.ndarray, weighting: str, sigma: Any) -> _System:
    omega = spectrum.omega
    z = spectrum.z
    z_scale = float(np.max(np.abs(z)))
    l_scale = z_scale / float(omega.max())
    c_scale = z_scale * float(omega.min())
    a_re, a_im = _kernel_matrices(omega, x)
    design = np.empty((omega.size, _N_EXTRA + x.size), dtype=complex)
    design[:, 0] = z_scale
    design[:, 1] = 1j * omega * l_scale
    design[:, 2] = -1j * c_scale / omega
    design[:, _N_EXTRA:] = z_scale * (a_re + 1j * a_im)
    s_re, s_im = residual_scales(z, weighting, sigma=sigma)
    s_re, s_im = _dimensionless_scales(z, s_re, s_im)
    a = np.vstack([design.real / s_re[:, None], design.imag / s_im[:, None]])
    b = np.concatenate([z.real / s_re, z.imag / s_im])
    dm = _difference_matrix(x, _DERIV_ORDER)
    d = np.zeros((dm.shape[0], _N_EXTRA + x.size))
    d[:, _N_EXTRA:] = dm
    t = _tail_transform(x, math.log(1.0 / float(omega.max())))
    return _System(a=a, b=b, d=d, z_scale=z_scale, l_scale=l_scale, c_scale=c_scale,
                   design=design, t=t)


def _dimensionless_scales(z: np.ndarray, s_re: np.ndarray, s_im: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The residual scales (ohm) multiplied by one constant, so that the median over the
    2N rows of |Z_i| / s_i is 1: the weighted residuals are then fractions of |Z| whatever
    the weighting, and lambda keeps one meaning.

    Modulus weighting (s = |Z|) is unchanged. ``unit`` (s = 1 ohm) and ``sigma`` (s = the
    standard deviations, ohm) would otherwise put the data rows in ohm, or in multiples of
    the noise, against a penalty on gamma / |Z|max: lambda would carry a unit (ohm^2 for
    ``unit``, so a cell 1000 times larger needed a lambda 10^6 times larger) and the
    automatic choice ran off the end of its range (:data:`_LAMBDA_RANGE`). Only a common
    factor changes: the relative weights of the points, and so the minimiser for a given
    effective strength, are those the weighting names."""
    ratio = np.concatenate([np.abs(z) / s_re, np.abs(z) / s_im])
    factor = float(np.median(ratio[np.isfinite(ratio) & (ratio > 0)])) if np.any(ratio > 0) else 1.0
    return s_re * factor, s_im * factor


def _tail_transform(x: np.ndarray, x_min: float) -> np.ndarray:
    """p = t @ q with gamma_j = q_0 + ... + q_j on the nodes j <= k0, where k0 is the first
    node at or above ``x_min`` (ln of the shortest measured tau); identity elsewhere.

    With q >= 0 the distribution below the measured range can only decay outwards. Without
    it, the part of gamma at tau far below 1/(2 pi f_max) acts on the data as a plain
    resistance and takes a share of R_inf (the series resistance leaked into the DRT).
    """
    m = x.size
    t = np.eye(_N_EXTRA + m)
    k0 = int(np.searchsorted(x, x_min - 1e-9))
    if 0 < k0 < m:
        xs = x[:k0 + 1]
        lag = xs[:, None] - xs[None, :]  # x_j - x_i
        block = np.where(lag >= 0, np.exp(_TAIL_DECAY * np.maximum(lag, 0.0)), 0.0)
        t[_N_EXTRA:_N_EXTRA + k0 + 1, _N_EXTRA:_N_EXTRA + k0 + 1] = block
    return t


def _columns(system: _System, use_l: bool, use_c: bool) -> _System:
    """The same system with the L and/or 1/C columns zeroed (fixed at 0) when not used."""
    a = system.a.copy()
    if not use_l:
        a[:, 1] = 0.0
    if not use_c:
        a[:, 2] = 0.0
    return replace(system, a=a)


def _fix_inductance(system: _System, l_scaled: float) -> _System:
    """The same system with the series inductance held at ``l_scaled`` (units of
    ``system.l_scale``): its reactance is taken from the data and its column zeroed, so that
    every later solve (lambda, resolution tests, notes) keeps that L and p[1] reports it."""
    a = system.a.copy()
    b = system.b - system.a[:, 1] * l_scaled
    a[:, 1] = 0.0
    return replace(system, a=a, b=b, l_fixed=float(l_scaled))


def _solve_nnls(system: _System, lam: float, use_l: bool = True, use_c: bool = False,
                t: np.ndarray | None = None) -> np.ndarray:
    """Non-negative regularised solution p = t @ q, q >= 0 (scaled units); ``t`` replaces
    the system's own transform (a further restricted shape, see :func:`_peak_groups`)."""
    cols = np.ones(system.a.shape[1], dtype=bool)
    cols[1] = use_l
    cols[2] = use_c
    t = (system.t if t is None else t)[:, cols]
    a = np.vstack([system.a @ t, math.sqrt(lam) * (system.d @ t)])
    b = np.concatenate([system.b, np.zeros(system.d.shape[0])])
    norms = np.linalg.norm(a, axis=0)
    norms[norms == 0] = 1.0
    q_sub, _ = nnls(a / norms, b, maxiter=50 * a.shape[1])
    p = t @ (q_sub / norms)
    if use_l and system.l_fixed:
        p[1] = system.l_fixed  # its column is zero: the solve left it at 0
    return p


def _auto_lambda(system: _System, lambdas: np.ndarray) -> tuple[float, float]:
    """Discrepancy principle on the DRT's own (non-negative) fit, with the noise level
    estimated by GCV on the unconstrained problem.

    1. GCV (Golub, Heath, Wahba 1979): ``lambda_gcv = argmin RSS / (m - tr H)^2`` with
       ``m = 2N`` and ``H`` the influence matrix (:func:`_tikhonov_curve`); its noise
       estimate is ``s2 = RSS(lambda_gcv) / (m - tr H)``, at least :data:`_DISCREPANCY_FLOOR`
       squared (no analyser measures |Z| to better than a few 0.01 %: noise-free data would
       otherwise ask for the weakest lambda, and get its ringing).
    2. Discrepancy principle (Morozov): the largest lambda whose non-negative fit keeps
       ``RSS <= m s2``, the smoothest distribution that still explains the data to the noise
       level; or, where no non-negative DRT comes that close (the unconstrained fit used
       negative gamma to follow points that no DRT holds: drift, an inductive loop), the
       largest whose RSS exceeds the best non-negative fit's (the smallest lambda's) by at
       most one standard deviation of the noise's chi-square, sqrt(2m) s2: the data cannot
       tell those fits apart. (A slack relative to that RSS instead pushed lambda to the end
       of its range on such data: the misfit, not the noise, set its size.) The residual
       grows with lambda, so a bisection of the grid finds it (~9 non-negative solves).

    On the 30 random two-arc spectra of ``tests/test_drt.py`` (0.1-1 % noise) this finds 55
    of the 60 arcs as resolved peaks with 1 spurious resolved peak (the rule it replaced,
    whose residual curve was that of the ill-conditioned decomposition: 56 and 0).

    GCV alone minimises the prediction error of Z and leaves ripples in the tails of broad
    arcs (spurious peaks of 10-17 % of the maximum at 0.5 % noise); step 2 removes them
    while keeping two arcs 1.5 decades apart separate. Returns (lambda, lambda_gcv).
    """
    m_rows = system.a.shape[0]
    rss, dof = _tikhonov_curve(system.a, system.b, system.d, lambdas)
    dof = np.maximum(dof, 1e-12)
    i_gcv = int(np.argmin(rss / dof**2))
    s2 = max(rss[i_gcv] / dof[i_gcv], _DISCREPANCY_FLOOR**2)
    use_l, use_c = bool(np.any(system.a[:, 1])), bool(np.any(system.a[:, 2]))

    def nnls_rss(i: int) -> float:
        r = system.b - system.a @ _solve_nnls(system, float(lambdas[i]), use_l=use_l, use_c=use_c)
        return float(r @ r)

    limit = max(m_rows * s2, nnls_rss(0) + math.sqrt(2.0 * m_rows) * s2)
    lo, hi = 0, lambdas.size - 1
    if nnls_rss(hi) <= limit:
        return float(lambdas[hi]), float(lambdas[i_gcv])
    while hi - lo > 1:  # nnls_rss(lo) <= limit < nnls_rss(hi)
        mid = (lo + hi) // 2
        if nnls_rss(mid) <= limit:
            lo = mid
        else:
            hi = mid
    return float(lambdas[lo]), float(lambdas[i_gcv])


# ----------------------------------------------------------------------- peaks
def _open_ohm(peaks: Any, outside: Any) -> float:
    """The resistance (ohm) in peaks the data do not close: the open ones of ``peaks`` and
    every one of ``outside`` (beyond the measured range; None: none)."""
    open_ohm = float(np.sum(peaks["R_ohm"][~peaks["closed"].astype(bool)])) if len(peaks) else 0.0
    if outside is not None and len(outside):
        open_ohm += float(np.sum(outside["R_ohm"]))
    return open_ohm


def peak_nodes(tau_s: np.ndarray, gamma: np.ndarray, local_scale_ohm: Any = None) -> list[int]:
    """Grid indices of the peaks of gamma, increasing.

    A peak is a local maximum of gamma on the grid. Maxima lower than 1 % of the largest
    gamma, or whose area is below 1 % of the polarisation resistance, are ignored (their
    area goes to the neighbouring peak, see :func:`peak_table`).

    ``local_scale_ohm``: optional function tau (s) -> |Z| of the data at omega = 1/tau (ohm,
    nan outside the measured range). A local maximum that fails the global thresholds is
    still a peak when its area is at least :data:`_PEAK_LOCAL_AREA` of that local |Z|: next
    to the huge distribution of a blocking electrode's CPE line, a bulk arc of a few kOhm
    is a small fraction of the whole but most of the impedance at its own frequency.
    """
    x = np.log(tau_s)
    areas = gamma * _hat_areas(x)
    total = float(areas.sum())
    gmax = float(gamma.max()) if gamma.size else 0.0
    if gmax <= 0.0 or total <= 0.0:
        return []
    g = np.concatenate([[0.0], gamma, [0.0]])
    is_max = (g[1:-1] > g[:-2]) & (g[1:-1] >= g[2:])
    maxima = [int(k) for k in np.flatnonzero(is_max)]
    idx = [k for k in maxima if gamma[k] >= _PEAK_MIN_HEIGHT * gmax]
    while True:
        peak_areas = _split_areas(gamma, areas, idx)
        keep = [k for k, r in zip(idx, peak_areas) if r >= _PEAK_MIN_AREA * total]
        if len(keep) == len(idx) or not keep:
            idx = keep if keep else idx[:1]
            break
        idx = keep
    if local_scale_ohm is not None:
        idx = _add_local_peaks(gamma, areas, idx, maxima, local_scale_ohm(np.exp(x)))
    return idx


def peak_table(tau_s: np.ndarray, gamma: np.ndarray, nodes: Sequence[int], resolved: Sequence[bool],
               open_ends_s: tuple[float, float] = (0.0, math.inf), owners: Sequence[int] | None = None,
               undetermined: Sequence[bool] | None = None) -> "Any":
    """The peaks at grid indices ``nodes`` as a DataFrame (tau_s, f_Hz, gamma_ohm, R_ohm,
    R_process_ohm, resolved, closed, determined), ordered by tau.

    Each position is refined by a parabola through the three grid points around it (in
    ln tau). The area of each peak is the integral of gamma between the minima that
    separate it from its neighbours (a minimum grid node's area is shared half and half);
    the areas sum to the polarisation resistance. ``resolved``: see :func:`_peak_groups`.
    ``closed``: False for the peaks at or beyond ``open_ends_s`` = (shortest, longest tau
    of the closed part, s; :func:`_open_ends`: the data end before such a process turns
    down); their ``R_process_ohm`` is NaN, as the data do not determine it.
    ``R_process_ohm``: see :func:`process_areas` (``owners``: the peak whose process each
    peak belongs to, from :func:`_peak_groups`). ``determined``: the row has an
    ``R_process_ohm`` and the data determine it: False for the rows without one and for
    those marked in ``undetermined`` (a process the R_inf warnings name, see :func:`drt`).
    """
    import pandas as pd

    peak_areas = peak_areas_of(tau_s, gamma, nodes)
    tau, height = _refined_peaks(tau_s, gamma, nodes)
    closed = (tau > open_ends_s[0]) & (tau < open_ends_s[1])
    r_process = process_areas(peak_areas, resolved, owners=owners, closed=closed)
    determined = np.isfinite(r_process)
    if undetermined is not None:
        determined &= ~np.asarray(undetermined, dtype=bool)
    return pd.DataFrame(
        {
            "tau_s": tau,
            "f_Hz": 1.0 / (2.0 * math.pi * tau),
            "gamma_ohm": height,
            "R_ohm": np.array(peak_areas, dtype=float),
            "R_process_ohm": r_process,
            "resolved": np.array(resolved, dtype=bool),
            "closed": closed,
            "determined": determined,
        }
    )


def peak_areas_of(tau_s: np.ndarray, gamma: np.ndarray, nodes: Sequence[int]) -> list[float]:
    """Area (ohm) of each peak at grid indices ``nodes``, split at the minima between them."""
    return _split_areas(gamma, gamma * _hat_areas(np.log(tau_s)), nodes)


def _refined_peaks(tau_s: np.ndarray, gamma: np.ndarray, nodes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(tau in s, gamma in ohm) of each peak, refined by :func:`_refine_peak`."""
    x = np.log(tau_s)
    refined = [_refine_peak(x, gamma, k) for k in nodes]
    return (np.array([math.exp(xp) for xp, _ in refined], dtype=float),
            np.array([gp for _, gp in refined], dtype=float))


def closed_peaks(tau_s: np.ndarray, gamma: np.ndarray, nodes: Sequence[int],
                 open_ends_s: tuple[float, float]) -> np.ndarray:
    """Whether each peak lies strictly inside the closed part ``open_ends_s`` (s, from
    :func:`_open_ends`), as the ``closed`` column of :func:`peak_table`."""
    tau, _ = _refined_peaks(tau_s, gamma, nodes)
    return (tau > open_ends_s[0]) & (tau < open_ends_s[1])


def _open_ends(spectrum: Spectrum, measured: tuple[float, float]) -> tuple[float, float]:
    """The time constants (s) beyond which DRT peaks are open: (shortest, longest) of the
    closed part, from the measured range ``measured`` = (1/(2 pi f_max), 1/(2 pi f_min)).

    At an end of the data where -Z'' is still rising
    (:func:`~eisfit.analysis.derived.open_data_ends`), the peaks within
    :data:`~eisfit.analysis.derived.OPEN_END_DECADES` of that end's time constant describe a process whose
    turn-down the data do not hold: at the low-frequency end a blocking electrode's CPE
    line, a diffusion tail and an arc whose apex lies below f_min look alike; at the
    high-frequency end, an arc whose apex lies above f_max (the bulk of a garnet pellet
    measured to 1 MHz). The regularisation, not the data, closes such a peak (a blocking
    CPE with n = 0.75-0.9 read as a "resolved" peak of 2.8-7 kOhm next to a 100 ohm arc; a
    45 ohm arc with its apex at 7 MHz, measured to 1 MHz, as a 19 ohm one). (0, inf) where
    -Z'' turns down within the data at both ends."""
    low_open, high_open = open_data_ends(spectrum.frequency, spectrum.z)
    shortest = measured[0] * 10.0**OPEN_END_DECADES if high_open else 0.0
    longest = measured[1] / 10.0**OPEN_END_DECADES if low_open else math.inf
    return shortest, longest


def process_areas(areas: Sequence[float], resolved: Sequence[bool], owners: Sequence[int] | None = None,
                  closed: Sequence[bool] | None = None) -> np.ndarray:
    """The resistance of the process of each resolved, closed peak (ohm): the areas of the
    peaks that belong to it (its own, and those of the side lobes and shoulders that the
    data do not resolve from it); NaN for the other peaks.

    ``owners`` (from :func:`_peak_groups`): for each peak, the index of the peak whose
    process it belongs to. Without it, each unresolved peak goes to the resolved peak
    reached towards its larger neighbour, else the other way (the rule for a table of
    areas alone). ``closed`` (default: all True): an open peak's area depends on how far
    the tau grid reaches, so it never enters a closed process, and an open peak's own
    process has no resistance (NaN).
    The ringing of the regularisation moves a few % of an arc's resistance into side lobes
    a decade away: two ZARCs of 100 and 300 ohm (n = 0.8-0.95, 0.5 % noise) had peak areas
    of 89-100 and 282-292 ohm, and processes of 100-102 and 299-302 ohm."""
    areas = [float(a) for a in areas]
    closed = [True] * len(areas) if closed is None else [bool(c) for c in closed]
    if owners is None:
        owners = _neighbour_owners(areas, resolved)
    out = np.full(len(areas), math.nan)
    for k, ok in enumerate(resolved):
        if ok and closed[k]:
            out[k] = sum(a for a, o, c in zip(areas, owners, closed) if o == k and c)
    return out


def _neighbour_owners(areas: Sequence[float], resolved: Sequence[bool]) -> list[int]:
    """For each peak the resolved peak whose process it belongs to, from the areas alone:
    itself when resolved; else the nearest resolved peak towards its larger neighbour, else
    the other way (-1 when there is none)."""
    owners = []
    for j, ok in enumerate(resolved):
        if ok:
            owners.append(j)
            continue
        left = areas[j - 1] if j > 0 else -1.0
        right = areas[j + 1] if j + 1 < len(areas) else -1.0
        first = 1 if right >= left else -1
        owner = _nearest_resolved(resolved, j, first)
        if owner is None:
            owner = _nearest_resolved(resolved, j, -first)
        owners.append(-1 if owner is None else owner)
    return owners


def _nearest_resolved(resolved: Sequence[bool], j: int, step: int) -> int | None:
    k = j + step
    while 0 <= k < len(resolved):
        if resolved[k]:
            return k
        k += step
    return None


@dataclass
class _Group:
    """Adjacent peaks (indices into the peak list) taken as one process, represented by
    ``rep``: the member of largest area (the process's peak)."""

    members: list[int]
    rep: int


def _peak_groups(system: _System, p: np.ndarray, lam: float, use_l: bool, use_c: bool, x: np.ndarray,
                 nodes: Sequence[int], closed: Sequence[bool],
                 floor: Sequence[float] | None = None) -> tuple[list[bool], list[int], list[bool]]:
    """(resolved, owners, quiet): which peaks the data require as maxima of their own, for
    each peak the one whose process it belongs to, and which peaks stand for a process below
    the noise.

    Tikhonov regularisation with gamma >= 0 rings: next to a narrow peak (a CPE exponent
    near 1) it leaves side lobes of a few % of R_pol about a decade away, a small arc within
    1-1.5 decades of a large one is only a shoulder the data cannot tell from the large
    one's tail, and at a small lambda one broad arc splits into several bumps of similar
    size. Neighbouring peaks are merged into processes, one merge at a time (agglomeration):
    of the merges the data accept, the one of the smallest group, towards the larger of the
    two peaks beside it when both merges are accepted (side lobes ring around the larger
    peak next to them). The merge of
    two adjacent groups is tested by solving the same problem
    (same lambda) again with gamma constrained to fall monotonically from the peak of the
    group with the larger area through the other group, to the minimum beyond it (or the
    grid's end); it is accepted when the weighted misfit rises by less than
    :data:`_RESOLVED_DCHI2` s^2 (s^2 = misfit / (2N - effective parameters), the residual
    variance of the DRT itself). Each merged group is one process, placed at the peak of
    the larger of the two groups at every merge (where most of its area sits); its other
    members are not resolved. Since
    the monotone run starts at that member and crosses every peak between it and the far
    end, a merge across several bumps is tested as a whole: area never passes a peak the
    data resolve.

    Open peaks (``closed`` False) may take closed neighbours into their process (its
    resistance is not determined anyway), but their own area never enters a closed
    process: such a merge is refused, and the open peak, which the data did not resolve
    from its neighbour, is marked not resolved. Peaks on the nodes below the measured range
    (where gamma is already constrained to decay outwards) are never merged into another
    (they count as resolved; their processes' rows read not determined,
    :func:`_beyond_f_max`); a run that reaches those nodes stops before them.

    ``floor`` (per peak, in the units of ``p``): a process whose area (its members' together)
    stays below it is not evidence: below the noise (:func:`_noise_level` times |Z| at the
    peak's frequency; a flat resistor's DRT has micro-ohm bumps), its peak is ``quiet`` and
    not resolved either.
    """
    n = len(nodes)
    gamma = p[_N_EXTRA:]
    areas = np.asarray(_split_areas(gamma, gamma * _hat_areas(x), nodes), dtype=float)
    groups = [_Group([j], j) for j in range(n)]
    blocked: set[int] = set()
    if n >= 2:
        rss = _misfit(system, p)
        limit = _RESOLVED_DCHI2 * rss / max(system.a.shape[0] - _effective_parameters(system, lam), 1.0)
        bounds = _peak_bounds(gamma, nodes)
        tail_end = _tail_end(system)
        costs: dict[tuple[tuple[int, ...], tuple[int, ...]], float] = {}
        while len(groups) > 1:
            trials = []  # (area of the smaller group, minus that of the peak facing it, g, key), admissible merges
            for g in range(len(groups) - 1):
                key = (tuple(groups[g].members), tuple(groups[g + 1].members))
                big, small = _larger_first(groups[g], groups[g + 1], areas)
                if key not in costs:
                    run = _merge_run(nodes, bounds, big, small, tail_end)
                    costs[key] = math.inf if run is None else _misfit(
                        system, _solve_nnls(system, lam, use_l, use_c, t=_monotone_transform(system.t, run))) - rss
                if costs[key] < limit and not _far_and_quiet(small, big, areas, floor, x, nodes):
                    facing = big.members[0] if big is groups[g + 1] else big.members[-1]
                    trials.append((areas[small.members].sum(), -areas[facing], g, key))
            if not trials:
                break
            *_, g, key = min(trials)  # the smallest bump first, into its larger admissible neighbour
            big, small = _larger_first(groups[g], groups[g + 1], areas)
            if closed[big.rep] and not all(closed[j] for j in small.members):
                blocked.add(small.rep)  # an open peak's area does not enter a closed process
                costs[key] = math.inf
                continue
            groups[g:g + 2] = [_Group(sorted(big.members + small.members), big.rep)]
    owners = [0] * n
    resolved = [False] * n
    quiet = [False] * n
    for grp in groups:
        for j in grp.members:
            owners[j] = grp.rep
        quiet[grp.rep] = floor is not None and float(areas[grp.members].sum()) < floor[grp.rep]
        resolved[grp.rep] = grp.rep not in blocked and not quiet[grp.rep]
    return resolved, owners, quiet


QUIET_MERGE_DECADES = 2.0  # a bump below the noise this far from a peak is not merged into its process


def _far_and_quiet(small: _Group, big: _Group, areas: np.ndarray, floor: np.ndarray | None, x: np.ndarray,
                   nodes: Sequence[int]) -> bool:
    """Whether ``small`` holds less than the noise floor at its own peak and lies more than
    ``QUIET_MERGE_DECADES`` from the peak of ``big``: noise, not part of that process (it is
    left alone, and so quiet). A bump of noise 4.6 decades from an arc in series with a
    blocking C (2 % noise) had joined the arc's process: 137 ohm for 100."""
    if floor is None or float(areas[small.members].sum()) >= floor[small.rep]:
        return False
    return abs(x[nodes[small.rep]] - x[nodes[big.rep]]) > QUIET_MERGE_DECADES * math.log(10.0)


def _larger_first(a: _Group, b: _Group, areas: np.ndarray) -> tuple[_Group, _Group]:
    """(the group of larger total area, the other); the left one on a tie."""
    return (a, b) if areas[a.members].sum() >= areas[b.members].sum() else (b, a)


def _peak_bounds(gamma: np.ndarray, nodes: Sequence[int]) -> list[int]:
    """Grid nodes that delimit the peaks: peak j spans bounds[j]..bounds[j+1] (the minima
    between neighbouring peaks, the grid's ends outside), as in :func:`_split_areas`."""
    bounds = [0]
    for k0, k1 in zip(nodes[:-1], nodes[1:]):
        bounds.append(k0 + int(np.argmin(gamma[k0:k1 + 1])))
    bounds.append(gamma.size - 1)
    return bounds


def _merge_run(nodes: Sequence[int], bounds: Sequence[int], big: _Group, small: _Group,
               tail_end: int) -> list[int] | None:
    """Grid nodes from the peak of ``big`` outwards through ``small`` to its far boundary:
    where gamma must fall monotonically if the two groups are one process. None when the
    merge is not tested (``small``'s peak on the tail nodes up to ``tail_end``, or no run
    left beyond them)."""
    if nodes[small.rep] <= tail_end:
        return None
    start = nodes[big.rep]
    if small.members[0] > big.members[-1]:
        run = list(range(start, bounds[small.members[-1] + 1] + 1))
    else:
        run = list(range(start, bounds[small.members[0]] - 1, -1))
    run = [u for u in run if u > tail_end]  # below: the tail block's own decay constraint
    return run if len(run) >= 2 else None


def _monotone_transform(t: np.ndarray, run: Sequence[int]) -> np.ndarray:
    """``t`` with gamma on the nodes of ``run`` (outwards) the sum of non-negative steps
    from the run's outer end: gamma may only fall (or stay) along the run."""
    out = t.copy()
    cols = [_N_EXTRA + u for u in run]
    for s, node in enumerate(run):
        out[_N_EXTRA + node, :] = 0.0
        out[_N_EXTRA + node, cols[s:]] = 1.0
    return out


def _tail_end(system: _System) -> int:
    """The last grid node of the tail transform's block (-1 when there is none)."""
    block = system.t[_N_EXTRA:, _N_EXTRA:]
    off = np.flatnonzero(np.any(block != np.eye(block.shape[0]), axis=1))
    return int(off.max()) if off.size else -1


def _misfit(system: _System, p: np.ndarray) -> float:
    r = system.a @ p - system.b
    return float(r @ r)


def _add_local_peaks(gamma: np.ndarray, areas: np.ndarray, idx: list[int], maxima: list[int],
                     local: np.ndarray) -> list[int]:
    """``idx`` plus the other maxima whose area is >= :data:`_PEAK_LOCAL_AREA` of ``local``
    (|Z| at omega = 1/tau per grid node, nan outside the measured range) and that stand out:
    gamma falls below half the maximum's height on both sides before the next maximum
    (ripples on the broad distribution of a CPE line do not)."""
    extra = [k for k in maxima if k not in idx and np.isfinite(local[k])
             and _stands_out(gamma, k, maxima)]
    while extra:
        trial = sorted(idx + extra)
        trial_areas = dict(zip(trial, _split_areas(gamma, areas, trial)))
        keep = [k for k in extra if trial_areas[k] >= _PEAK_LOCAL_AREA * local[k]]
        if len(keep) == len(extra):
            return trial
        extra = keep
    return idx


def _stands_out(gamma: np.ndarray, k: int, maxima: list[int]) -> bool:
    """gamma drops below half of gamma[k] between k and each neighbouring maximum (or the
    end of the grid)."""
    left = max([j for j in maxima if j < k], default=0)
    right = min([j for j in maxima if j > k], default=gamma.size - 1)
    half = 0.5 * gamma[k]
    return bool(gamma[left:k + 1].min() < half and gamma[k:right + 1].min() < half)


def _split_areas(gamma: np.ndarray, areas: np.ndarray, idx: Sequence[int]) -> list[float]:
    """Area of each peak in ``idx`` (sorted), split at the minima between them."""
    if not idx:
        return []
    bounds = [0]
    for k0, k1 in zip(idx[:-1], idx[1:]):
        bounds.append(k0 + int(np.argmin(gamma[k0 : k1 + 1])))
    bounds.append(gamma.size - 1)
    out = []
    for j in range(len(idx)):
        lo, hi = bounds[j], bounds[j + 1]
        a = float(areas[lo : hi + 1].sum())
        if j > 0:
            a -= 0.5 * areas[lo]
        if j < len(idx) - 1:
            a -= 0.5 * areas[hi]
        out.append(a)
    return out


def _refine_peak(x: np.ndarray, gamma: np.ndarray, k: int) -> tuple[float, float]:
    """Vertex (ln tau, gamma) of the parabola through the maximum and its neighbours."""
    if k == 0 or k == gamma.size - 1:
        return float(x[k]), float(gamma[k])
    g0, g1, g2 = gamma[k - 1], gamma[k], gamma[k + 1]
    curv = g0 - 2.0 * g1 + g2
    if curv >= 0:
        return float(x[k]), float(g1)
    shift = 0.5 * (g0 - g2) / curv  # in grid steps, within [-0.5, 0.5]
    h = 0.5 * (x[k + 1] - x[k - 1])
    return float(x[k] + shift * h), float(g1 - 0.25 * (g0 - g2) * shift)


# ------------------------------------------------------------------------ drt()
POINTS_PER_DECADE = 10.0  # drt()'s default tau grid: points per decade
EXTEND_DECADES = 1.0  # and decades beyond the measured tau range on each side


def drt(
    spectrum: Spectrum,
    lambda_: float | str = "auto",
    weighting: str = "modulus",
    inductance: bool | str = "auto",
    capacitance: bool | str = "auto",
    tau_s: Any = None,
    points_per_decade: float = POINTS_PER_DECADE,
    extend_decades: float = EXTEND_DECADES,
    sigma: Any = None,
    kk: bool = True,
) -> DRTResult:
    """Non-negative Tikhonov DRT of one spectrum.

    Parameters
    ----------
    spectrum : the data (its selected points; inductive points are kept and explained by
        the series inductance), or a ``(frequency_Hz, z_ohm)`` tuple of arrays.
    lambda_ : regularisation strength (a finite number >= 0, dimensionless whatever the
        weighting and the cell size), or ``"auto"`` (GCV + discrepancy principle, see the
        module docstring; ``lambda_rule`` records ``"gcv-discrepancy"``).
    weighting : residual scales as in the fit (``modulus`` default, ``proportional``,
        ``unit``, ``modulus-calc`` (treated as modulus here), or ``sigma`` with ``sigma=``).
        ``proportional`` takes |Z'| and |Z''| of the noisy points as scales; where Z'' nears 0
        (the ends of an arc) that biases R_pol low on noisy data, and a warning says so.
    sigma : per-point standard deviations, ohm (as in :func:`eisfit.fit`); given, they set the
        scales whatever ``weighting`` names, and the result records ``weighting="sigma"``.
    inductance : ``True`` (always fit a series L >= 0), ``False`` (never), or ``"auto"``:
        keep L when the highest-frequency point has Z'' > 0, or when adding it lowers the weighted residual sum of squares of the nearly
        unregularised non-negative fit (lambda / 100) significantly (F statistic
        ``(RSS0 - RSS1) / (RSS1 / dof) > 10``, dof = 2N minus that fit's free parameters) and,
        when no point has Z'' > 0, its reactance at f_max stays below half of |Z| there. L is
        valued on that fit and held in the DRT (the regularised fit biased it high).
    capacitance : series capacitance (blocking electrodes): ``True``, ``False``, or
        ``"auto"`` (default): added when the DRT without it piles a large share of R_pol
        beyond the longest measured time constant (see :func:`_needs_series_capacitance`),
        so that the arcs in series with a capacitive line get their own peaks.
    tau_s : increasing, log-spaced time-constant grid (s; at least 3 finite values, equal
        steps in ln tau within 1 %); by default from ``1/(2 pi f_max)`` to ``1/(2 pi f_min)``
        extended by ``extend_decades`` (finite, >= 0) on each side with
        ``points_per_decade`` (finite, >= 1) points per decade.
    kk : run :func:`eisfit.kk_test` on the spectrum and warn when it fails.

    Raises
    ------
    DataError : fewer than 5 points, a tau grid that is not increasing and log-spaced, or an
        option outside its choices (``lambda_`` "auto" or a finite number >= 0, not a bool;
        ``weighting`` one of the names above, ``sigma`` positive and finite per point;
        ``inductance``/``capacitance`` True, False or "auto", ``kk`` True or False;
        ``points_per_decade``, ``extend_decades``).
    """
    spectrum = as_spectrum(spectrum, "drt()")
    inductance = check_choice("inductance", inductance, (True, False, "auto"), DataError)
    capacitance = check_choice("capacitance", capacitance, (True, False, "auto"), DataError)
    kk = check_choice("kk", kk, (True, False), DataError)
    lambda_ = _checked_lambda(lambda_)
    check_choice("weighting", weighting, WEIGHTINGS, DataError)
    weighting, tau = _checked_data(spectrum, weighting, sigma, tau_s, points_per_decade, extend_decades)
    from .._blas import small_blas

    with small_blas():
        return _drt(spectrum, lambda_, weighting, inductance, capacitance, tau, sigma, kk)


def drt_peak_arrays(spectrum: Spectrum, weighting: str = "modulus", sigma: Any = None,
                    lambda_: float | str = "auto") -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The peaks that :func:`drt` with ``kk=False`` (and its other defaults) reports inside
    the measured range, as arrays: (tau_s in s, gamma_ohm, R_ohm: the columns of its
    ``peaks``, ascending tau), and its R_inf (ohm); without building the DRTResult, whose
    tables need pandas: the fitting engine seeds starts from them in worker processes that
    have no other use for pandas (its import, ~0.3 s, had been the first DRT's in each).
    Raises what :func:`drt` raises."""
    spectrum = as_spectrum(spectrum, "drt_peak_arrays()")
    check_choice("weighting", weighting, WEIGHTINGS, DataError)
    weighting, tau = _checked_data(spectrum, weighting, sigma, None, POINTS_PER_DECADE, EXTEND_DECADES)
    lambda_ = _checked_lambda(lambda_)
    from .._blas import small_blas

    with small_blas():
        solution = _solved(spectrum, lambda_, weighting, "auto", "auto", tau, sigma)
    gamma = solution.gamma_ohm
    nodes = peak_nodes(tau, gamma, solution.local_scale(spectrum))
    tau_peak, height = _refined_peaks(tau, gamma, nodes)
    areas = np.array(peak_areas_of(tau, gamma, nodes), dtype=float)
    inside = _inside(tau_peak, _measured_tau(spectrum))
    return tau_peak[inside], height[inside], areas[inside], solution.r_inf_ohm


def _measured_tau(spectrum: Spectrum) -> tuple[float, float]:
    """(1/(2 pi f_max), 1/(2 pi f_min)): the tau range (s) the data cover."""
    f = spectrum.frequency
    return 1.0 / (2.0 * math.pi * float(f.max())), 1.0 / (2.0 * math.pi * float(f.min()))


def _checked_data(spectrum: Spectrum, weighting: str, sigma: Any, tau_s: Any, points_per_decade: float,
                  extend_decades: float) -> tuple[str, np.ndarray]:
    """(the weighting in use, the tau grid in s) of a DRT of ``spectrum``; DataError for data
    no DRT can take (per area, too few points, bad sigma) and for a bad grid."""
    weighting = weighting_in_use(weighting, sigma)
    if spectrum.area_specific:
        raise DataError(f"{spectrum.label}: the file gives the impedance per area (ohm*cm2); the DRT is in ohm: "
                        f"divide by the electrode area first (spectrum.in_ohm(area_cm2); --area-cm2 on the "
                        f"command line)")
    if len(spectrum) < 5:
        raise DataError(f"{spectrum.label}: {len(spectrum)} points are too few for a DRT")
    require_distinct_frequencies(spectrum, 5, "a DRT")
    try:
        residual_scales(spectrum.z, weighting, sigma=sigma)  # sigma's shape and values
    except FitError as exc:
        raise DataError(str(exc)) from None
    if tau_s is None:
        ppd = finite_number_at_least("points_per_decade", points_per_decade, 1.0, DataError)
        extend = finite_number_at_least("extend_decades", extend_decades, 0.0, DataError)
        return weighting, tau_grid(spectrum.frequency, ppd, extend)
    return weighting, _checked_tau_grid(tau_s)


def _checked_lambda(lambda_: Any) -> float | str:
    """``"auto"`` or the user's lambda as a float (finite, >= 0); DataError otherwise (a bool,
    None, a number as a string, NaN, infinity, a negative number)."""
    if isinstance(lambda_, str) and lambda_ == "auto":
        return "auto"
    if not (is_real_number(lambda_) and math.isfinite(lambda_) and lambda_ >= 0):
        raise DataError(f"lambda_ must be 'auto' or a finite number >= 0 (dimensionless), got {lambda_!r}")
    return float(lambda_)


def _checked_tau_grid(tau_s: Any) -> np.ndarray:
    """A user's time-constant grid (s) as a float array; DataError unless it holds at least 3
    finite, positive, increasing and log-spaced values (equal steps in ln tau within
    :data:`_LOG_STEP_TOLERANCE`: the penalty assumes one step, :func:`_difference_matrix`)."""
    try:
        tau = np.asarray(tau_s, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise DataError(f"tau_s must be an array of time constants (s), got {tau_s!r}") from None
    if tau.size < 3 or not np.all(np.isfinite(tau)) or np.any(tau <= 0) or np.any(np.diff(tau) <= 0):
        raise DataError("tau_s must hold at least 3 finite, positive, increasing time constants (s)")
    steps = np.diff(np.log(tau))
    if float(np.max(np.abs(steps - steps.mean()))) > _LOG_STEP_TOLERANCE * float(steps.mean()):
        raise DataError("tau_s must be log-spaced (equal ratios between neighbours, as numpy.logspace or "
                        f"eisfit.analysis.drt.tau_grid give): its steps in ln tau range from {steps.min():.3g} "
                        f"to {steps.max():.3g}")
    return tau


@dataclass(frozen=True)
class _Solution:
    """The non-negative regularised solution of a DRT: its system, the solution ``p`` (R_inf,
    L, 1/C, then gamma, in the system's scaled units), lambda and its rule, the inductance
    decision, whether a series C is in, and the notes made on the way."""

    system: Any
    p: np.ndarray
    lam: float
    rule: str
    ind: Any
    use_c: bool
    notes: list[str]

    @property
    def gamma_ohm(self) -> np.ndarray:
        """gamma on the tau grid, ohm."""
        return self.p[_N_EXTRA:] * self.system.z_scale

    @property
    def r_inf_ohm(self) -> float:
        """The series resistance R_inf, ohm."""
        return float(self.p[0] * self.system.z_scale)

    def local_scale(self, spectrum: Spectrum):
        """What :func:`peak_nodes` compares a small peak with: the data's local |Z| where a
        series C is in (:func:`_local_modulus`), else None."""
        return _local_modulus(spectrum) if self.use_c else None


def _drt(spectrum, lambda_, weighting, inductance, capacitance, tau, sigma, kk) -> DRTResult:
    def auto_lambda() -> float:  # what lambda_="auto" chooses for these data, asked only of a user's lambda
        return _solved(spectrum, "auto", weighting, inductance, capacitance, tau, sigma).lam

    return _make_result(spectrum, tau, _solved(spectrum, lambda_, weighting, inductance, capacitance, tau, sigma),
                        weighting, kk, auto_lambda)


def _solved(spectrum, lambda_, weighting, inductance, capacitance, tau, sigma) -> _Solution:
    require_positive_real_part(spectrum.z, spectrum.label,
                               "no distribution of relaxation times (R_inf >= 0, gamma >= 0)")
    x = np.log(tau)
    full = _build_system(spectrum, x, weighting, sigma)
    system = _columns(full, True, False)
    notes: list[str] = []
    lambda_notes: list[str] = []  # what the choice of lambda says: of the final choice only

    lam, rule = _choose_lambda(system, lambda_, lambda_notes)
    ind = _decide_inductance(spectrum, full if capacitance is not False else system, lam, inductance)
    use_l = ind.use
    free_full = full  # lambda is chosen with L free, as before L was held (see below)
    if use_l:
        full = _fix_inductance(full, ind.value)
        system = _columns(full, True, False)
    p = _solve_nnls(system, lam, use_l=use_l)
    use_c = capacitance is True or (capacitance == "auto"
                                    and _needs_series_capacitance(p, x, float(spectrum.omega.min())))
    if use_c:
        system = full
        if rule != "user":
            lambda_notes = []
            lam, rule = _choose_lambda(free_full, lambda_, lambda_notes)
        p = _solve_nnls(system, lam, use_l=use_l, use_c=True)
    return _Solution(system, p, lam, rule, ind, use_c, notes + lambda_notes)


def _choose_lambda(system: _System, lambda_: float | str, notes: list[str]) -> tuple[float, str]:
    """(lambda, rule): the user's value (checked by :func:`_checked_lambda`), or for
    ``"auto"`` GCV + discrepancy principle (:func:`_auto_lambda`)."""
    if isinstance(lambda_, str):
        lambdas = np.logspace(math.log10(_LAMBDA_RANGE[0]), math.log10(_LAMBDA_RANGE[1]), 91)
        lam, _ = _auto_lambda(system, lambdas)
        if lam in (lambdas[0], lambdas[-1]):
            notes.append(f"GCV chose lambda at the end of its range ({lam:.1e}); "
                         "set lambda explicitly to check (--lambda in the CLI, lambda_= in Python)")
        return lam, "gcv-discrepancy"
    return float(lambda_), "user"


def _needs_series_capacitance(p: np.ndarray, x: np.ndarray, omega_min: float) -> bool:
    """``capacitance="auto"``: a series C is added when the DRT without it piles a large
    share of the polarisation resistance onto the longest time constants: gamma at the end
    of the grid still at least :data:`_C_TAIL_HEIGHT` of its maximum, and the part beyond
    the measured range at least :data:`_C_TAIL_AREA` of R_pol (and above the noise floor,
    :data:`_NOISE_FLOOR` of the largest |Z|: not the micro-ohm tail of a resistor). That is what the capacitive
    line of a blocking electrode (or the capacitive end of finite open diffusion) does to a
    DRT without a series C; it swamps the arcs it is in series with."""
    gamma = p[_N_EXTRA:]
    gmax = float(gamma.max()) if gamma.size else 0.0
    if gmax <= 0 or gamma[-1] < _C_TAIL_HEIGHT * gmax:
        return False
    beyond = x > math.log(1.0 / omega_min)
    areas = gamma * _hat_areas(x)
    tail = float(areas[beyond].sum())  # in units of the largest |Z| (the scaling of p)
    return tail >= _C_TAIL_AREA * float(areas.sum()) and tail >= _NOISE_FLOOR


@dataclass(frozen=True)
class _Inductance:
    """The series inductance of a DRT: whether it is in the model, its value and standard
    deviation (units of ``system.l_scale``) and the F statistic of the test that decided."""

    use: bool
    value: float = 0.0
    sd: float = math.nan
    f_stat: float = math.nan


def _decide_inductance(spectrum: Spectrum, system: _System, lam: float, inductance: bool | str) -> _Inductance:
    """Whether the series inductance is part of the model, and its value (see :func:`drt`).

    The test and the value come from the nearly unregularised problem
    (:func:`_inductance_fit`, lambda times :data:`_L_LAMBDA_SHARE`), not from the DRT at
    ``lam``: there the penalty flattens the peaks near f_max, and a series L absorbed that
    bias (39-89 nH with no inductance in the data, 0.5 % noise; 74-112 nH for a true
    60 nH). ``"auto"`` keeps L when the highest-frequency point is inductive (Z'' > 0: the
    signature no distribution of relaxation times gives), or when the F statistic of adding
    it exceeds :data:`_INDUCTANCE_F_MIN` and, with no inductive point, its reactance at f_max
    stays plausible (:func:`_plausible_hidden_inductance`)."""
    if inductance is False:
        return _Inductance(use=False)
    value, sd, f_stat = _inductance_fit(system, lam * _L_LAMBDA_SHARE)
    if inductance is True:
        return _Inductance(True, value, sd, f_stat)
    top = int(np.argmax(spectrum.frequency))
    keep = (spectrum.z.imag[top] > 0 and value > 0) or (f_stat > _INDUCTANCE_F_MIN and (
        bool(np.any(spectrum.z.imag > 0))
        or _plausible_hidden_inductance(spectrum, value * system.l_scale)))
    return _Inductance(True, value, sd, f_stat) if keep else _Inductance(False, 0.0, sd, f_stat)


def _inductance_fit(system: _System, lam: float) -> tuple[float, float, float]:
    """(L, its standard deviation, F statistic) of the non-negative fit at ``lam`` (L in units
    of ``system.l_scale``), with a series C (1/C >= 0) when ``system``'s C column is not zeroed
    (``capacitance`` not False: a blocking line left unmodelled would inflate the residual).

    F = (RSS0 - RSS1) / (RSS1 / dof): the weighted misfit without (RSS0) and with (RSS1) a
    series L, dof = 2N minus the columns the non-negative solve left free (L, R_inf and the
    active gamma steps). The standard deviation is that of the linearised least-squares fit
    on those free columns (penalty rows included), scaled by RSS1 / dof: it counts the trade
    of L against R_inf and the fastest peaks, not the non-negativity that may limit it."""
    cols = np.ones(system.a.shape[1], dtype=bool)
    cols[2] = bool(np.any(system.a[:, 2]))
    t = system.t[:, cols]
    a = np.vstack([system.a @ t, math.sqrt(lam) * (system.d @ t)])
    b = np.concatenate([system.b, np.zeros(system.d.shape[0])])
    norms = np.linalg.norm(a, axis=0)
    norms[norms == 0] = 1.0
    q, _ = nnls(a / norms, b, maxiter=50 * a.shape[1])
    rss1 = _misfit(system, t @ (q / norms))
    rss0 = _misfit(system, _solve_nnls(system, lam, use_l=False, use_c=bool(cols[2])))
    free = q > 0
    free[:2] = True  # R_inf and L
    dof = max(system.a.shape[0] - int(free.sum()), 1)
    s2 = rss1 / dof
    f_stat = (rss0 - rss1) / s2 if s2 > 0 else (math.inf if rss0 > rss1 else 0.0)
    j = a[:, free]  # d(rows)/dq of the free columns, q in the system's scaled units
    cov = s2 * np.linalg.pinv(j.T @ j)
    return float(q[1] / norms[1]), float(math.sqrt(max(cov[1, 1], 0.0))), float(f_stat)


def _plausible_hidden_inductance(spectrum: Spectrum, inductance_H: float) -> bool:
    """With no inductive point (Z'' <= 0 everywhere) a series inductance can only bend the
    high-frequency end: its reactance at f_max must stay below ``_HIDDEN_L_SHARE`` of |Z|
    there. A larger one (0.33 mH = 410 ohm at 200 kHz against |Z| = 570 ohm) would make
    points inductive that are not; the Tikhonov fit only trades it against capacitive
    parts to absorb a KK-inconsistent high-frequency end. Nor may it exceed
    ``_HIDDEN_L_MAX_H``: below a few kHz a lead's inductance bends nothing, and a sweep
    ending at 35 Hz had been given 4 mH (0.87 ohm there, a quarter of |Z|)."""
    k = int(np.argmax(spectrum.frequency))
    return bool(inductance_H <= _HIDDEN_L_MAX_H
                and 2 * np.pi * spectrum.frequency[k] * inductance_H <= _HIDDEN_L_SHARE * abs(spectrum.z[k]))


def _effective_parameters(system: _System, lam: float) -> float:
    """trace of the influence matrix of the unconstrained problem at lambda."""
    a, d = system.a, system.d
    ata = a.T @ a
    m = ata + lam * (d.T @ d) + 1e-12 * np.trace(ata) * np.eye(ata.shape[0])
    return float(np.trace(np.linalg.solve(m, ata)))


def _make_result(spectrum, tau, solution: _Solution, weighting, kk, auto_lambda: Callable[[], float]) -> DRTResult:
    system, p, lam, rule, ind = solution.system, solution.p, solution.lam, solution.rule, solution.ind
    use_c, notes = solution.use_c, solution.notes
    use_l = ind.use
    z = spectrum.z
    z_model = system.design @ p
    gamma = solution.gamma_ohm
    x = np.log(tau)
    r_pol = float(np.sum(gamma * _hat_areas(x)))
    mod = np.abs(z)
    f = spectrum.frequency
    measured = _measured_tau(spectrum)
    local = solution.local_scale(spectrum)
    nodes = peak_nodes(tau, gamma, local)
    ends = _open_ends(spectrum, measured)
    closed = closed_peaks(tau, gamma, nodes, ends)
    noise = _noise_level(z, z_model)
    floor_ohm = noise * _modulus_at(spectrum, tau[nodes])  # per peak: what its process must hold to show
    resolved, owners, quiet = _peak_groups(system, p, lam, use_l, use_c, x, nodes, closed,
                                           floor_ohm / system.z_scale)
    beyond = float(np.sum((gamma * _hat_areas(x))[tau < measured[0]]))  # ohm at tau < 1/(2 pi f_max)
    r_inf = solution.r_inf_ohm
    z_top = float(z.real[np.argmax(f)])  # Z' at f_max
    above_noise = beyond >= noise * float(abs(z[np.argmax(f)]))
    cut_at_f_max = r_pol > 0 and beyond > _HF_CUT_SHARE * r_pol and above_noise
    # a small process beyond f_max beside a large one inside: R_inf alone is a guess (a PalmSens sweep: 74.9
    # ohm beyond 1 MHz, 0.35 % of its 21 kohm R_pol but 1.5x its R_inf of 50.4 ohm; Z'(f_max) 112 ohm)
    r_inf_in_peaks = not cut_at_f_max and z_top > 0 and r_inf < _R_INF_ZERO_SHARE * z_top
    r_inf_cut = not (cut_at_f_max or r_inf_in_peaks) and above_noise and beyond > _HF_CUT_R_INF_SHARE * r_inf
    undetermined = _fastest_process(owners, resolved) if (cut_at_f_max or r_inf_in_peaks) else None
    named = undetermined
    undetermined = _beyond_f_max(nodes, owners, _tail_end(system), undetermined)
    table = peak_table(tau, gamma, nodes, resolved, ends, owners=owners, undetermined=undetermined)
    edge = [k for k in range(len(nodes)) if undetermined is not None and undetermined[k] and owners[k] == k
            and not (named is not None and named[k]) and math.isfinite(table["R_process_ohm"].iloc[k])]
    if edge:
        notes.append("process peak(s) at tau " + ", ".join(f"{t:.3g}" for t in table["tau_s"].iloc[edge])
                     + " s, beyond the highest frequency: its resistance is not determined by these data (the "
                     "regularisation piles up there the tail of the process beside it, or a share of R_inf; "
                     "determined = no in its row)")
    inside = _inside(table["tau_s"].to_numpy(), measured)
    quiet_all = list(quiet)
    quiet = np.array([quiet_all[o] for o in owners], dtype=bool)[inside]  # in a process below the noise
    peaks, outside = split_outside(table, measured)
    below = peaks[quiet]
    shoulders = peaks[~peaks["resolved"] & ~quiet]
    if len(shoulders):
        notes.append(f"{len(shoulders)} peak(s) not resolved from a neighbouring peak (tau "
                     + ", ".join(f"{t:.3g}" for t in shoulders["tau_s"]) + " s): they are part of the process "
                     "of the larger peak beside them (a monotone tail of it fits the data as well: chi-square "
                     f"higher by less than {_RESOLVED_DCHI2:g} times the DRT's residual variance), as "
                     "regularisation side lobes, shoulders and the bumps of a split arc are; not evidence of a "
                     "separate process (confirm with an equivalent-circuit fit)")
    if len(below):
        notes.append(f"{len(below)} peak(s) (tau " + ", ".join(f"{t:.3g}" for t in below["tau_s"])
                     + f" s) hold less than the noise level ({100 * noise:.2g} % of |Z| at their frequency, "
                     "together with the peaks not resolved from them): not evidence of a process "
                     "(resolved = no, R_process_ohm empty)")
    signal = any(not quiet_all[o] for o in owners)  # some peak belongs to a process above the noise
    if nodes and not signal:
        notes.append(f"no polarisation process above the noise: R_pol ({r_pol:.3g} ohm) is what the "
                     "regularised fit gives to noise and is not evidence of a process")
    open_peaks = peaks[~peaks["closed"] & ~quiet]
    for low_end, at_end in ((False, open_peaks["tau_s"] <= ends[0]), (True, open_peaks["tau_s"] >= ends[1])):
        if at_end.any():
            notes.append(_open_note(open_peaks["tau_s"][at_end], low_end))
    if len(outside):
        notes.append(f"{len(outside)} peak(s) with time constants outside the measured range "
                     f"(more than {_OUTSIDE_DECADES:g} decade beyond) are not reported as processes "
                     "(they are in DRTResult.peaks_outside and the --json output)")
    if signal and not use_c and gamma.max() > 0 and gamma[-1] > 0.1 * gamma.max():
        notes.append("gamma does not return to zero at the longest tau: a blocking or diffusive "
                     "low-frequency part is cut by the grid, R_pol is a lower bound")
    if cut_at_f_max:
        notes.append(f"a process reaches past the highest frequency ({beyond:.3g} ohm of R_pol lies at time "
                     f"constants shorter than 1/(2 pi f_max)): R_inf ({r_inf:.3g} ohm here) and "
                     "that process's resistance are not determined by these data (determined = False in its "
                     "row); an equivalent-circuit fit with R0 and the arc tells them apart")
    elif r_inf_in_peaks:
        notes.append(f"R_inf came out {r_inf:.3g} ohm while Z' at the highest frequency is {z_top:.3g} ohm: the "
                     "series resistance went into the fastest peak(s), whose resistance it inflates; R_inf and "
                     "the fastest process are not determined by these data (determined = False in its row; "
                     "measure to higher frequencies, or fit an equivalent circuit with R0)")
    elif r_inf_cut:
        notes.append(f"R_inf ({r_inf:.3g} ohm) is not determined by these data: {beyond:.3g} ohm lies at time "
                     f"constants shorter than 1/(2 pi f_max), a process above the measured range beside R_inf "
                     f"(Z' at the highest frequency is {z_top:.3g} ohm): their split is the regularisation's guess "
                     "(measure to higher frequencies, or fit an equivalent circuit with R0 and an arc above f_max)")
    rms = _rms_pct(z, z_model)
    lam_auto = auto_lambda() if rule == "user" else lam
    strong = _too_strong_note(system, lam, lam_auto, use_l, use_c, z, rms) if rule == "user" else None
    weak = (_too_weak_note(system, lam, lam_auto, use_l, use_c, tau, len(nodes), local)
            if rule == "user" and not strong else None)
    if strong or weak:
        notes.append(strong or weak)
    none_determined = False  # no row's resistance is determined by these data
    missed = not (strong or weak) and rms > _MISFIT_RMS_PCT  # nor R_inf: a DRT that misses the points
    if missed:  # its peaks are not the data's processes
        notes.append(_misfit_note(spectrum, x, weighting, rms, r_pol, use_l, use_c) + " (determined = no in "
                     "every row)")
        none_determined = True
    n_distinct = int(np.unique(f).size)
    if n_distinct < KK_MIN_POINTS and not none_determined and bool(np.any(peaks["determined"])):
        notes.append(f"only {n_distinct} distinct frequencies: too few to tell a distribution's processes apart "
                     f"(or to test the points with Lin-KK, which needs {KK_MIN_POINTS}): the peaks are the "
                     "regularisation's reading, determined = no in every row")
        none_determined = True
    if none_determined:
        peaks = peaks.assign(determined=False)
        outside = outside.assign(determined=False)
    open_ohm = _open_ohm(peaks, outside)
    if r_pol > 0 and open_ohm > R_POL_OPEN_SHARE * r_pol:
        notes.append(f"R_pol ({r_pol:.4g} ohm) is not determined by these data: {100 * open_ohm / r_pol:.0f} % of "
                     "it lies in peaks they do not close (open at an end of the data, or beyond the measured "
                     f"range); the closed peaks hold {r_pol - open_ohm:.4g} ohm")
    inductance_note = _inductance_note(ind, system.l_scale)
    if inductance_note:
        notes.append(inductance_note)
    kk_passed, kk_max, kk_status = True, None, ""
    if kk:
        kk_passed, kk_max, kk_status, kk_rms = _kk_check(spectrum, notes)
        if (kk_passed and kk_status != "too-noisy" and not (none_determined or strong or weak)
                and rms > max(_KK_MISFIT_FLOOR_PCT, _KK_MISFIT_FACTOR * kk_rms)):
            notes.append(f"the DRT misses the data by {rms:.2g} % of |Z| (RMS) while the Lin-KK chain, whose "
                         f"resistances may be negative, follows them within {kk_rms:.2g} %: the points hold a "
                         "process no distribution of positive resistances gives (a negative resistance, an "
                         f"inductive loop), R_pol ({r_pol:.4g} ohm) is not Z(0) - Z(inf) and the peaks are not "
                         "their processes (determined = no in every row)")
            peaks = peaks.assign(determined=False)
            outside = outside.assign(determined=False)
            missed = True
    for msg in notes:
        warnings.warn(f"{spectrum.label}: {msg}", stacklevel=user_stacklevel())
    return DRTResult(
        tau_s=tau,
        gamma_ohm=gamma,
        r_inf_ohm=r_inf,
        r_inf_determined=not (cut_at_f_max or r_inf_cut or r_inf_in_peaks or missed),
        inductance_H=float(p[1] * system.l_scale) if use_l else None,
        inductance_sd_H=float(ind.sd * system.l_scale) if use_l and math.isfinite(ind.sd) else None,
        r_pol_ohm=r_pol,
        lambda_=float(lam),
        lambda_rule=rule,
        peaks=peaks,
        frequency=np.asarray(f, dtype=float),
        z_model=z_model,
        residuals_real=(z.real - z_model.real) / mod,
        residuals_imag=(z.imag - z_model.imag) / mod,
        kk_passed=kk_passed,
        kk_max_residual_pct=kk_max,
        kk_status=kk_status,
        tau_measured_s=measured,
        weighting=weighting,
        label=spectrum.label,
        warnings=tuple(notes),
        capacitance_F=_series_capacitance(p, system) if use_c else None,
        peaks_outside=outside,
    )


def _inductance_note(ind: _Inductance, l_scale: float) -> str | None:
    """The warning on a series inductance the data do not determine (None otherwise): one
    kept whose standard deviation exceeds :data:`_L_SD_SHARE` of its value, or one left out
    by ``inductance="auto"`` although adding it is suggested at the 95 % level (F above
    :data:`_L_F_SUGGESTED` but not above :data:`_INDUCTANCE_F_MIN`). ``l_scale``: H per unit."""
    value, sd = ind.value * l_scale, ind.sd * l_scale
    if ind.use and value > 0 and math.isfinite(sd) and sd > _L_SD_SHARE * value:
        return (f"the series inductance L = {value * 1e9:.3g} nH is not determined by these data (standard "
                f"deviation {sd * 1e9:.2g} nH): it trades against R_inf and the fastest process; compare "
                "inductance=False (--inductance no) or fit an equivalent circuit with L0")
    if not ind.use and math.isfinite(ind.f_stat) and ind.f_stat > _L_F_SUGGESTED and value > 0:
        return (f"a series inductance of {value * 1e9:.3g} nH (standard deviation {sd * 1e9:.2g} nH) improves the fit "
                f"but not significantly (F = {ind.f_stat:.3g}, kept above {_INDUCTANCE_F_MIN:g}): it is left out, "
                "and R_inf may carry its trade-off; compare inductance=True (--inductance yes)")
    return None


def _misfit_note(spectrum: Spectrum, x: np.ndarray, weighting: str, rms: float, r_pol: float,
                 use_l: bool, use_c: bool) -> str:
    """The warning on a DRT that misses the data by ``rms`` % of |Z| (RMS). With a weighting
    other than modulus, the same DRT with modulus weighting is computed: when that one fits
    (RMS within :data:`_MISFIT_RMS_PCT` %), the weighting, not the data, is the cause. So it
    is for ``proportional`` on noisy data: its scales |Z'| and |Z''| come from the noisy
    points, and where Z'' (or Z') passes near zero (the low-frequency end of an arc) the
    points whose noise happened to shrink it get the largest weights, which pulls the
    distribution towards a smaller |Z|: two R||C arcs of 50 and 100 ohm, 0.5 % noise, gave
    R_pol 133.5 ohm (modulus: 151.6)."""
    if weighting != "modulus":
        ref = _build_system(spectrum, x, "modulus", None)
        ref_lam, _ = _choose_lambda(_columns(ref, use_l, use_c), "auto", [])
        p_ref = _solve_nnls(ref, ref_lam, use_l=use_l, use_c=use_c)
        ref_rms = _rms_pct(spectrum.z, ref.design @ p_ref)
        if ref_rms <= _MISFIT_RMS_PCT:
            ref_pol = float(np.sum(p_ref[_N_EXTRA:] * ref.z_scale * _hat_areas(x)))
            why = (" its scales |Z'| and |Z''| come from the noisy points, and where Z'' or Z' passes near zero "
                   "(the ends of an arc) the points whose noise shrank it get the largest weights, pulling the "
                   "DRT towards a smaller |Z|;" if weighting == "proportional" else "")
            return (f"with weighting '{weighting}' the DRT misses the data by {rms:.2g} % of |Z| (RMS), with "
                    f"'modulus' by {ref_rms:.2g} %: the weighting, not the data, is the cause;{why} R_pol here "
                    f"{r_pol:.4g} ohm, with modulus weighting {ref_pol:.4g} ohm (use weighting='modulus')")
    return (f"the DRT misses the data by {rms:.2g} % of |Z| (RMS): no distribution of "
            "relaxation times with R_inf, L and C describes these points, and its peaks are not their "
            "processes (damaged points, drift, or a negative Z' the model cannot give)")


def _open_note(taus: Sequence[float], low_end: bool) -> str:
    """The warning on peaks the data do not close at one end (see :func:`_open_ends`)."""
    which = "low" if low_end else "high"
    alike = ("a blocking electrode's CPE line, a diffusion tail and an arc whose apex lies below f_min look alike "
             "there (measure to lower frequency to tell them apart)" if low_end else
             "the arc's apex lies above f_max (measure to higher frequency, or fit an equivalent circuit and "
             "read its flags)")
    return (f"the data end while -Z'' still rises towards {which} frequency: the peak(s) at tau "
            + ", ".join(f"{t:.3g}" for t in taus) + f" s (within {OPEN_END_DECADES:g} decade of the "
            f"{'longest' if low_end else 'shortest'} measured time constant) are not closed by the data, so their "
            "resistance is not determined (R_process_ohm empty; R_ohm is the area the regularisation gave "
            f"them): {alike}")


def _too_strong_note(system: _System, lam: float, lam_auto: float, use_l: bool, use_c: bool, z: np.ndarray,
                     rms: float) -> str | None:
    """The note for a user's ``lam`` too strong for the data ``z`` (None otherwise): ``rms``,
    the RMS of the relative residuals (Z - Z_model)/|Z| in %, exceeds :data:`_STRONG_RATIO` times
    the noise level and :data:`_STRONG_PCT` % of |Z|. The noise level is the RMS residual that
    ``lambda_="auto"`` leaves (the discrepancy principle keeps it within the GCV noise
    estimate, :func:`_auto_lambda`), same model (L, series C). ``lam_auto``: the lambda
    ``lambda_="auto"`` chooses for these data."""
    if rms <= _STRONG_PCT:
        return None
    noise = _rms_pct(z, system.design @ _solve_nnls(system, lam_auto, use_l=use_l, use_c=use_c))
    if rms <= _STRONG_RATIO * noise:
        return None
    times = f"{rms / noise:.3g} times" if noise > 0 else "far above"
    return (f"lambda {lam:.3g} is too strong for these data: the regularisation flattens the DRT and its "
            f"residual ({rms:.3g} % of |Z|, RMS) is {times} the noise level ({noise:.2g} %, what lambda 'auto' "
            f"= {lam_auto:.2g} leaves): R_pol and the peaks do not describe the data; use a smaller lambda "
            f"or 'auto'")


def _too_weak_note(system: _System, lam: float, lam_auto: float, use_l: bool, use_c: bool, tau: np.ndarray,
                   n_peaks: int, local_scale_ohm: Any) -> str | None:
    """The note for a user's ``lam`` too weak for the data (None otherwise): more than
    :data:`_WEAK_FACTOR` times below what ``lambda_="auto"`` chooses, with more peaks
    (``n_peaks``) than the DRT of that lambda (same model: L, series C). Such a DRT follows
    the noise: two ZARCs of 100 and 150 ohm (0.5 % noise) at lambda 1e-4 split the first
    into two peaks that the resolution test finds unresolved, and their resistance went to
    the second arc's process (R_process 251 ohm; 'auto': 99 and 152 ohm). ``lam_auto``: the
    lambda ``lambda_="auto"`` chooses for these data (the warning had quoted 0.0063 where
    'auto' chose 0.00501: a choice on the final model instead of the one 'auto' makes)."""
    if not lam < lam_auto / _WEAK_FACTOR:
        return None
    gamma_auto = _solve_nnls(system, lam_auto, use_l=use_l, use_c=use_c)[_N_EXTRA:] * system.z_scale
    n_auto = len(peak_nodes(tau, gamma_auto, local_scale_ohm))
    if n_peaks <= n_auto:
        return None
    below = f"{lam_auto / lam:.3g} times below" if lam > 0 else "no regularisation, against"
    return (f"lambda {lam:.3g} is too weak for these data ({below} what lambda 'auto' "
            f"= {lam_auto:.2g} chooses): the DRT follows the noise and shows {n_peaks} peaks where 'auto' finds "
            f"{n_auto}; an arc can split into several peaks, and peaks not resolved give their resistance to another "
            "process (R_process_ohm); use a larger lambda or 'auto'")


def _rms_pct(z: np.ndarray, z_model: np.ndarray) -> float:
    """RMS of the 2N relative residuals (Z - Z_model)/|Z|, % (as DRTResult.rms_residual_pct)."""
    r = (z - z_model) / np.abs(z)
    return 100.0 * float(np.sqrt(np.mean(np.concatenate([r.real, r.imag]) ** 2)))


def _local_modulus(spectrum: Spectrum):
    """tau (s) -> |Z| of the data at omega = 1/tau (log-log interpolation; nan outside)."""
    omega = spectrum.omega
    order = np.argsort(omega)
    lw, lz = np.log(omega[order]), np.log(np.abs(spectrum.z[order]))

    def scale(tau_s: np.ndarray) -> np.ndarray:
        lt = -np.log(np.asarray(tau_s, dtype=float))
        return np.exp(np.interp(lt, lw, lz, left=np.nan, right=np.nan))

    return scale


def _noise_level(z: np.ndarray, z_model: np.ndarray) -> float:
    """The relative noise level of the data (fraction of |Z|): the DRT's RMS residual, but at
    least :data:`_NOISE_FLOOR` (what an impedance analyser resolves at best) and at most
    :data:`_MISFIT_RMS_PCT` % (beyond it the residual is the DRT missing the data, which
    its own warning says, not noise)."""
    return min(max(_rms_pct(z, z_model) / 100.0, _NOISE_FLOOR), _MISFIT_RMS_PCT / 100.0)


def _modulus_at(spectrum: Spectrum, tau_s: Any) -> np.ndarray:
    """|Z| of the data (ohm) at omega = 1/tau for each tau (s): log-log interpolation, the
    value at the nearest end of the data outside the measured range."""
    omega = spectrum.omega
    order = np.argsort(omega)
    lw, lz = np.log(omega[order]), np.log(np.abs(spectrum.z[order]))
    return np.exp(np.interp(-np.log(np.asarray(tau_s, dtype=float)), lw, lz))


def _beyond_f_max(nodes: Sequence[int], owners: Sequence[int], tail_end: int,
                  undetermined: Sequence[bool] | None) -> list[bool] | None:
    """``undetermined`` (per peak, or None) also marking the processes whose peak lies on the
    grid's nodes below the measured range (up to ``tail_end``, at tau < 1/(2 pi f_max)), which
    :func:`_peak_groups` never merges: the regularisation piles up there the tail of the
    process beside it, or a share of R_inf (a single arc, n = 0.9, peaking 0.75 decade inside
    f_max, had a 2.1 ohm "process" at 1.09 MHz marked determined; three real files, 3-35 ohm
    at 87 kHz-1.1 MHz, none of them in an equivalent-circuit fit)."""
    edge = [nodes[owners[k]] <= tail_end for k in range(len(owners))]
    if not any(edge):
        return undetermined
    return [e or (undetermined is not None and bool(undetermined[k])) for k, e in enumerate(edge)]


def _fastest_process(owners: Sequence[int], resolved: Sequence[bool]) -> list[bool] | None:
    """Marks (per peak) the process of the fastest peak, the one the R_inf warnings name:
    the peak whose process holds the peak of shortest tau, when it is resolved."""
    if not owners or not resolved[owners[0]]:
        return None
    return [k == owners[0] for k in range(len(owners))]


def _series_capacitance(p: np.ndarray, system: _System) -> float:
    """The series capacitance of the solution, F (inf when its 1/C is 0)."""
    inv_c = float(p[2] * system.c_scale)
    return 1.0 / inv_c if inv_c > 0 else math.inf


def split_outside(peaks: Any, measured: tuple[float, float]) -> tuple[Any, Any]:
    """(peaks inside, peaks outside) the measured tau range widened by
    :data:`_OUTSIDE_DECADES` on each side (tau_measured_s = (1/(2 pi f_max), 1/(2 pi f_min)))."""
    inside = _inside(peaks["tau_s"].to_numpy(), measured)
    return peaks[inside].reset_index(drop=True), peaks[~inside].reset_index(drop=True)


def _inside(tau_s: np.ndarray, measured: tuple[float, float]) -> np.ndarray:
    """Whether each tau (s) lies in the measured range widened by :data:`_OUTSIDE_DECADES`."""
    lo, hi = measured[0] / 10**_OUTSIDE_DECADES, measured[1] * 10**_OUTSIDE_DECADES
    return (tau_s >= lo) & (tau_s <= hi)


def _kk_check(spectrum: Spectrum, notes: list[str]) -> tuple[bool, float | None, str, float]:
    """Run the Lin-KK test: (passed, max residual %, status, RMS residual % of |Z|); add the
    'not evidence' note when it fails, or the 'cannot judge' note when the data are too noisy
    for it."""
    from .kk import kk_test

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = kk_test(spectrum)
    except DataError as exc:
        notes.append(f"Kramers-Kronig test not run: {exc}")
        return True, None, "", math.nan
    if res.status == "too-noisy":
        notes.append(f"the Kramers-Kronig test cannot judge these data (random residuals of robust SD "
                     f"{res.residual_sd_pct:.2g} % of |Z|): the DRT's small peaks may be that noise")
    elif not res.passed:
        notes.append(f"Kramers-Kronig test failed (max residual {res.max_residual_pct:.2g} %): "
                     "this DRT is not evidence")
    return res.passed, res.max_residual_pct, res.status, res.rms_residual_pct


def _tikhonov_curve(a: np.ndarray, b: np.ndarray, d: np.ndarray,
                    lambdas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(RSS, m - tr H) of the unconstrained Tikhonov solutions
    ``p = argmin ||a p - b||^2 + lam ||d p||^2`` for every lambda of ``lambdas``, ``H`` the
    influence matrix (m = rows of ``a``).

    The columns that ``d`` leaves unpenalised (R_inf, L, 1/C) are projected out of the data,
    and the penalised part is put in standard form (y = R g, R from the QR of ``d``'s
    columns, full rank: gamma = 0 is assumed outside the grid), whose SVD gives every
    lambda's filter factors. The generalised eigen-decomposition of (a^T a, d^T d + ridge)
    that this replaces lost the data's small singular values in the ridge's conditioning:
    negative eigenvalues of a^T a, an RSS growing as lambda fell (2e15 at 1e-8 on a
    noise-free spectrum), and so GCV and the discrepancy rule at the top of their range.
    """
    penalised = np.any(d != 0.0, axis=0)
    a0, a1, d1 = a[:, ~penalised], a[:, penalised], d[:, penalised]
    q0 = _orthonormal_range(a0)
    a1 = a1 - q0 @ (q0.T @ a1)
    b = b - q0 @ (q0.T @ b)
    r = np.linalg.qr(d1, mode="r")
    a_std = solve_triangular(r, a1.T, trans="T", lower=False).T  # a1 @ inv(r)
    u, sv, _ = np.linalg.svd(a_std, full_matrices=False)
    beta = u.T @ b
    outside = max(float(b @ b) - float(beta @ beta), 0.0)  # the part no lambda fits
    s2 = sv[None, :] ** 2
    lam = np.asarray(lambdas, dtype=float)[:, None]
    rss = np.sum((lam / (s2 + lam) * beta[None, :]) ** 2, axis=1) + outside
    trace = q0.shape[1] + np.sum(s2 / (s2 + lam), axis=1)
    return rss, a.shape[0] - trace


def _orthonormal_range(a: np.ndarray) -> np.ndarray:
    """An orthonormal basis (m, k) of the column space of ``a`` (zeroed columns, unused L or
    C, add nothing); (m, 0) for no columns."""
    if a.shape[1] == 0:
        return np.zeros((a.shape[0], 0))
    u, sv, _ = np.linalg.svd(a, full_matrices=False)
    keep = sv > max(a.shape) * np.finfo(float).eps * (sv[0] if sv.size else 0.0)
    return u[:, keep]
