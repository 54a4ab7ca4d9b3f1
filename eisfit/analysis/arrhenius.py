"""Arrhenius analysis of ionic conductivity.

Two forms of the Arrhenius law are fitted as straight lines against ``x = 1/T``
(T in K):

* ``form="sigmaT"`` (default, the usual form for ionic conductors)::

      sigma*T = A * exp(-Ea / (k_B*T))   ->   ln(sigma*T) = ln(A) - (Ea/k_B) * (1/T)

  prefactor A in S*K/cm;
* ``form="sigma"``::

      sigma = A * exp(-Ea / (k_B*T))     ->   ln(sigma)   = ln(A) - (Ea/k_B) * (1/T)

  prefactor A in S/cm.

Interface arcs have no conductivity; their area-specific resistance (ASR, ohm*cm2) is fitted
in the same two forms as an area-specific conductance ``1/ASR`` (S/cm2, :func:`interface_arrhenius`):
``ln(T/ASR)`` (prefactor in S*K/cm2; the form of a charge-transfer resistance R = k_B T/(e i0) with
an activated exchange current i0) or ``ln(1/ASR)`` (S/cm2): the activation energy of the
interfacial process. Per interface on a symmetric cell (ASR = R*A/2), else per cell (R*A); the
factor 2 moves the prefactor only, not Ea.

``Ea = -slope * k_B`` with ``k_B = 8.617333262e-5 eV/K``. The line is an ordinary
least-squares fit (``weighted=False``) or a weighted one with weights
``1/(stderr/sigma)^2`` on the logarithm (the first-order standard error of
``ln(sigma)``). Standard errors of slope and intercept are the textbook ones,
``cov = s^2 (X^T W X)^-1`` with ``s^2 = sum(w*res^2)/(n-2)`` (for OLS, ``w = 1``):
the same scaled-covariance convention as the circuit fits (lmfit, impedance.py).

What a line does not measure is said, in the table (``ea_source``, ``note``) and in every
text and figure made from it:

* **A temperature-independent value.** A constant y gives ``Ea = 0`` in the ``sigma`` form but
  ``Ea ~ k_B*T`` (0.028 eV at 55 °C) in the ``sigmaT`` form, since ln(y*T) = const + ln T: a
  constant 5 ohm resistance read "Ea = 0.0284 ± 0.0003 eV (R^2 = 0.9997)". The Ea a constant
  gives over the same temperatures is ``ea_of_constant_eV``; a fitted Ea within k_B*T (at the
  mean temperature) of it, and known to better than that, is no activation barrier:
  ``barely_temperature_dependent`` (:func:`barely_temperature_dependent`), and the texts say
  "R0 barely depends on temperature".
* **Values a joint fit's Arrhenius law made** (``eisfit campaign --arrhenius-law``): a line
  through them repeats the law with a standard error of ~1e-16 eV. :func:`arrhenius_table`
  gives such a row the law's Ea and standard error (``ea_source = "joint law"``); where the
  law's own Ea does not apply (another form, a sum of resistances, several laws, rows off the
  law), the line's Ea with no standard error (``"law-made values"``). Their R^2 is NaN.
* **Values a joint fit smoothed** (``eisfit campaign --smooth``): not independent points, so
  their line's own error measures the penalty (3-15x too small over seeds): the line's Ea with
  no standard error and no R^2 (``ea_source = "smoothed values"``).
* **Values a joint fit shared** (``eisfit campaign --shared``): one value repeated, no line
  (``ea_source = "shared"``): "shared: constant by construction, no line"; so for a value held
  by ``fix=`` (every standard error 0: ``ea_source = "fixed"``).
* **Points from fits with a problem flag** (``lack-of-fit``, ``kk-failed``...; the table's
  ``problem_flags`` column, which a campaign adds): the line goes through them, and its note
  counts them.
* **Fewer than 2 determined points** (an arc that vanishes at the higher temperatures): a row
  without a line (``ea_source = "no line"``, ``n_points`` as many as there are) whose note
  names the resistance; the other rows are fitted (it ended the whole analysis).
* **Temperatures in K that look like °C** (the lowest below 100 K): a
  :class:`~eisfit.units.CelsiusAsKelvinWarning` (:func:`~eisfit.units.warn_if_celsius_as_kelvin`),
  and every row's ``note`` says so (:func:`~eisfit.units.celsius_as_kelvin_note`).
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from ..errors import CircuitError, DataError
from ..model import load_circuit
from ..model.circuit import resistance_names
from ..units import (KELVIN_AT_0C, CelsiusAsKelvinWarning, celsius_as_kelvin_note, format_value,
                     warn_if_celsius_as_kelvin)
from .derived import (INTERFACE_ROLES, SERIES_HOLDS_ARC_FLAG, SIGMA_TOTAL_KEY, SPLIT_UNDETERMINED_FLAG,
                      TRADED_WITH_SERIES_FLAG, apex_outside_range_flags, total_conductivity_inputs)
from .quality import undetermined

__all__ = [
    "K_B_EV_PER_K", "ArrheniusResult", "arrhenius", "interface_arrhenius", "arrhenius_table", "arrhenius_points",
    "ArrheniusPoints", "row_label",
    "arrhenius_report_lines", "arrhenius_summary_lines", "barely_temperature_dependent", "ea_marker",
    "EA_FROM_LINE", "EA_FROM_LAW", "EA_FROM_LAW_MADE", "EA_FROM_SMOOTHED", "EA_SHARED", "EA_FIXED", "EA_NO_LINE",
    "temperatures_K", "total_resistance_pair",
]

K_B_EV_PER_K = 8.617333262e-5
"""Boltzmann constant, eV/K (CODATA 2018, exact)."""

_FORMS = {"sigmaT": "S*K/cm", "sigma": "S/cm"}
_INTERFACE_UNITS = {"sigmaT": "S*K/cm2", "sigma": "S/cm2"}  # prefactors of 1/ASR


@dataclass(frozen=True)
class ArrheniusResult:
    """A fitted Arrhenius line.

    Attributes
    ----------
    ea_eV, ea_stderr_eV : activation energy and its standard error, eV.
    prefactor, prefactor_stderr : exp(intercept) and its first-order standard error,
        in ``prefactor_unit`` (S*K/cm for ``form="sigmaT"``, S/cm for ``form="sigma"``; S*K/cm2
        and S/cm2 for the 1/ASR of an interface, :func:`interface_arrhenius`).
    slope, slope_stderr : d ln(y) / d(1/T), K.
    intercept, intercept_stderr : ln(prefactor) (dimensionless log of the unit above).
    r_squared : coefficient of determination of the (weighted) line.
    n_points : number of (T, sigma) points used.
    form : "sigmaT" or "sigma"; weighted : whether the sigma uncertainties weighted the fit.
    ea_of_constant_eV : the Ea a temperature-independent y gives over the same temperatures (and
        weights), eV: 0 in the ``sigma`` form, about k_B*T in the ``sigmaT`` form.
    mean_temperature_K : mean of the temperatures fitted, K.
    """

    ea_eV: float
    ea_stderr_eV: float
    prefactor: float
    prefactor_stderr: float
    prefactor_unit: str
    slope: float
    slope_stderr: float
    intercept: float
    intercept_stderr: float
    r_squared: float
    n_points: int
    form: str
    weighted: bool
    ea_of_constant_eV: float = math.nan
    mean_temperature_K: float = math.nan

    @property
    def barely_temperature_dependent(self) -> bool:
        """Whether y hardly changes with temperature (:func:`barely_temperature_dependent`):
        then ``ea_eV`` is no activation energy."""
        return barely_temperature_dependent(self.ea_eV, self.ea_stderr_eV, self.ea_of_constant_eV,
                                            self.mean_temperature_K)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (JSON-ready floats, ints, strings)."""
        return asdict(self)

    def predict_sigma(self, temperature_K: Any) -> np.ndarray:
        """Conductivity of the fitted line at ``temperature_K`` (K), S/cm (1/ASR in S/cm2 for
        a result of :func:`interface_arrhenius`)."""
        t = np.asarray(temperature_K, dtype=float)
        y = np.exp(self.intercept + self.slope / t)
        return y / t if self.form == "sigmaT" else y


def arrhenius(
    temperature_K: Any,
    sigma_S_per_cm: Any,
    sigma_stderr: Any = None,
    form: str = "sigmaT",
    weighted: bool = False,
) -> ArrheniusResult:
    """Fit an Arrhenius line to conductivities measured at several temperatures.

    Parameters
    ----------
    temperature_K : temperatures, K (> 0).
    sigma_S_per_cm : conductivities, S/cm (> 0), one per temperature.
    sigma_stderr : standard errors of the conductivities, S/cm; needed when ``weighted``.
    form : ``"sigmaT"`` (fit ln(sigma*T), default) or ``"sigma"`` (fit ln(sigma)).
    weighted : weight each point by ``1/(stderr/sigma)^2`` (variance of ln(sigma)).

    Returns an :class:`eisfit.analysis.arrhenius.ArrheniusResult`. With two points the line is exact and the
    standard errors are NaN.
    """
    t, s = _checked_points(temperature_K, sigma_S_per_cm, form)
    w = _log_weights(s, sigma_stderr, t.size) if weighted else np.ones_like(t)
    return _line_result(t, s, w, form, weighted, _FORMS[form])


def interface_arrhenius(
    temperature_K: Any,
    asr_ohm_cm2: Any,
    asr_stderr: Any = None,
    form: str = "sigmaT",
    weighted: bool = False,
) -> ArrheniusResult:
    """Fit an Arrhenius line to an interface's area-specific resistance at several temperatures.

    The area-specific conductance y = 1/ASR (S/cm2) is fitted as conductivities are
    (:func:`arrhenius`): ``form="sigmaT"`` fits ln(y*T) = ln(T/ASR), prefactor in S*K/cm2;
    ``form="sigma"`` fits ln(1/ASR), prefactor in S/cm2. ``Ea = -slope * k_B`` (eV) is the
    activation energy of the interfacial process (ASR falls as T rises).

    Parameters
    ----------
    temperature_K : temperatures, K (> 0).
    asr_ohm_cm2 : area-specific resistances, ohm*cm2 (> 0), one per temperature.
    asr_stderr : their standard errors, ohm*cm2; needed when ``weighted`` (the relative error
        of 1/ASR is that of ASR).
    """
    t, asr = _checked_points(temperature_K, asr_ohm_cm2, form, what="area-specific resistances",
                             unit="ohm*cm2")
    w = (_log_weights(asr, asr_stderr, t.size, what="ASR", unit="ohm*cm2", argument="asr_stderr")
         if weighted else np.ones_like(t))
    return _line_result(t, 1.0 / asr, w, form, weighted, _INTERFACE_UNITS[form])


def _line_result(t: np.ndarray, y: np.ndarray, w: np.ndarray, form: str, weighted: bool,
                 unit: str) -> ArrheniusResult:
    """The Arrhenius line through ln(y*T) (``sigmaT``) or ln(y) (``sigma``) against 1/T."""
    x = 1.0 / t
    slope, intercept, cov, r2 = _weighted_line(x, np.log(y * t) if form == "sigmaT" else np.log(y), w)
    slope_se, intercept_se = np.sqrt(np.diag(cov))
    prefactor = float(np.exp(intercept))
    return ArrheniusResult(
        ea_eV=float(-slope * K_B_EV_PER_K),
        ea_stderr_eV=float(slope_se * K_B_EV_PER_K),
        prefactor=prefactor,
        prefactor_stderr=float(prefactor * intercept_se),
        prefactor_unit=unit,
        slope=float(slope),
        slope_stderr=float(slope_se),
        intercept=float(intercept),
        intercept_stderr=float(intercept_se),
        r_squared=float(r2),
        n_points=int(t.size),
        form=form,
        weighted=bool(weighted),
        ea_of_constant_eV=_ea_of_constant(t, w, form),
        mean_temperature_K=float(np.mean(t)),
    )


def _ea_of_constant(t: np.ndarray, w: np.ndarray, form: str) -> float:
    """The Ea (eV) a temperature-independent y gives at temperatures ``t`` (K) with weights
    ``w``: 0 in the ``sigma`` form; in the ``sigmaT`` form ln(y*T) = const + ln T, whose line
    against 1/T has slope about -T: Ea about k_B*T."""
    if form != "sigmaT":
        return 0.0
    slope = _weighted_line(1.0 / t, np.log(t), w)[0]
    return float(-slope * K_B_EV_PER_K)


def barely_temperature_dependent(ea_eV: float, ea_stderr_eV: float, ea_of_constant_eV: float,
                                 mean_temperature_K: float) -> bool:
    """Whether a fitted activation energy ``ea_eV`` (eV) says the values hardly change with
    temperature: it lies within k_B*T (at ``mean_temperature_K``, K; 0.028 eV at 55 °C) of
    ``ea_of_constant_eV``, the Ea a temperature-independent value gives over the same
    temperatures in that form (0 for ``sigma``, ~k_B*T for ``sigmaT``), and its standard error
    ``ea_stderr_eV`` (eV; NaN: unknown, judged by the value alone) is not above k_B*T. An
    activation energy below the thermal energy is no barrier: such an Ea is not presented as one."""
    kt_eV = K_B_EV_PER_K * mean_temperature_K
    if not all(math.isfinite(float(v)) for v in (ea_eV, ea_of_constant_eV, kt_eV)):
        return False
    if math.isfinite(float(ea_stderr_eV)) and ea_stderr_eV > kt_eV:
        return False
    return abs(ea_eV - ea_of_constant_eV) < kt_eV


def _checked_points(temperature_K: Any, values: Any, form: str, what: str = "conductivities",
                    unit: str = "S/cm") -> tuple[np.ndarray, np.ndarray]:
    if form not in _FORMS:
        raise DataError(f"unknown Arrhenius form {form!r}; use 'sigmaT' or 'sigma'")
    t = np.asarray(temperature_K, dtype=float).reshape(-1)
    s = np.asarray(values, dtype=float).reshape(-1)
    if t.shape != s.shape:
        raise DataError(f"{t.size} temperatures but {s.size} {what}")
    if not (np.all(np.isfinite(t)) and np.all(t > 0)):
        raise DataError("temperatures must be finite and > 0 K (give kelvin, not Celsius)")
    warn_if_celsius_as_kelvin(t, "Arrhenius fit: temperature_K", fix="add 273.15")
    if not (np.all(np.isfinite(s)) and np.all(s > 0)):
        raise DataError(f"{what} must be finite and > 0 {unit}")
    if t.size < 2:
        raise DataError(f"an Arrhenius fit needs at least 2 points, got {t.size}")
    if np.unique(t).size < 2:
        raise DataError("an Arrhenius fit needs at least 2 different temperatures")
    return t, s


def _log_weights(values: np.ndarray, stderr: Any, n: int, what: str = "conductivity",
                 unit: str = "S/cm", argument: str = "sigma_stderr") -> np.ndarray:
    """Weights 1/(stderr/value)^2 of ln(value) points (``argument``: the caller's name for ``stderr``)."""
    if stderr is None:
        raise DataError(f"weighted=True needs {argument} ({unit})")
    se = np.asarray(stderr, dtype=float).reshape(-1)
    if se.size != n:
        raise DataError(f"{se.size} {what} standard errors, expected {n}")
    if not (np.all(np.isfinite(se)) and np.all(se > 0)):
        raise DataError(f"{what} standard errors must be finite and > 0 for a weighted fit")
    return (values / se) ** 2


def _weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float, np.ndarray, float]:
    """Weighted least-squares line y = intercept + slope*x.

    Returns slope, intercept, the 2x2 covariance of (slope, intercept) scaled by the
    reduced weighted residual sum of squares (NaN when n = 2), and R^2.
    """
    n = x.size
    sw = w.sum()
    xm, ym = (w * x).sum() / sw, (w * y).sum() / sw
    sxx = (w * (x - xm) ** 2).sum()
    sxy = (w * (x - xm) * (y - ym)).sum()
    slope = sxy / sxx
    intercept = ym - slope * xm
    rss = float((w * (y - intercept - slope * x) ** 2).sum())
    tss = float((w * (y - ym) ** 2).sum())
    s2 = rss / (n - 2) if n > 2 else np.nan
    var_slope = s2 / sxx
    var_intercept = s2 * (1.0 / sw + xm**2 / sxx)
    cov_si = -xm * s2 / sxx
    cov = np.array([[var_slope, cov_si], [cov_si, var_intercept]])
    r2 = 1.0 - rss / tss if tss > 0 else 1.0
    return float(slope), float(intercept), cov, r2


# ---- campaign tables -----------------------------------------------------------

_SIGMA_SUFFIX = "_sigma_S_per_cm"


def temperatures_K(table: Any) -> np.ndarray:
    """Temperature of every row of a campaign table, K.

    Uses the ``temperature_K`` column, else ``temperature_C`` (+273.15). Raises
    :class:`~eisfit.errors.DataError` naming the columns when neither is present or
    a value is missing.
    """
    if "temperature_K" in table.columns:
        t = np.asarray(table["temperature_K"], dtype=float)
    elif "temperature_C" in table.columns:
        t = np.asarray(table["temperature_C"], dtype=float) + KELVIN_AT_0C
    else:
        raise DataError(
            "Arrhenius analysis needs temperatures: add a temperature_C or temperature_K "
            "column to the campaign file"
        )
    if not np.any(np.isfinite(t)):
        raise DataError(
            "Arrhenius analysis needs temperatures: no checkpoint has one; add a temperature_C "
            "or temperature_K column to the campaign file"
        )
    if not np.all(np.isfinite(t)):
        missing = int((~np.isfinite(t)).sum())
        raise DataError(f"Arrhenius analysis: {missing} checkpoint(s) have no temperature")
    return t


def total_resistance_pair(roles: Mapping[str, str] | None) -> tuple[str, str] | None:
    """(bulk, grain-boundary) resistance names when ``roles`` name exactly one of each.

    ``roles`` maps parameter names (``"R1"``) to free-text roles (``"bulk"``,
    ``"grain boundary"``, ``"interface"``...).
    """
    if not roles:
        return None
    bulk = [p for p, r in roles.items() if "bulk" in str(r).lower()]
    gb = [p for p, r in roles.items() if "grain" in str(r).lower()]
    if len(bulk) == 1 and len(gb) == 1 and bulk[0] != gb[0]:
        return bulk[0], gb[0]
    return None


def _stderr_column(table: Any, column: str) -> np.ndarray | None:
    for name in (f"{column}_stderr", f"{column}_se"):
        if name in table.columns:
            return np.asarray(table[name], dtype=float)
    return None


def _conductivity_series(table: Any, resistance: str, roles: Mapping[str, str] | None = None
                         ) -> tuple[np.ndarray, np.ndarray | None]:
    """(conductivity S/cm, its stderr or None) of ``resistance``; DataError naming why there is
    none (an interface arc's, per ``roles`` or its ASR columns, is fitted as 1/ASR, not summed)."""
    col = f"{resistance}{_SIGMA_SUFFIX}"
    if col not in table.columns:
        if resistance not in table.columns:
            known = resistance_names(str(c) for c in table.columns)
            raise DataError(f"unknown resistance {resistance!r}: the campaign's circuit has "
                            f"{', '.join(known) if known else 'no resistance named so'}")
        if _interface_asr(table, resistance, roles) is not None:
            raise DataError(f"{resistance} is an interface arc (fitted on its own as 1/ASR, S/cm2): it has no "
                            "conductivity and cannot be summed with conductivities; ask for it alone")
        if any(str(c).endswith(_SIGMA_SUFFIX) for c in table.columns):  # area and thickness were given
            raise DataError(f"{resistance} has no conductivity (no column {col!r}): its arc's role is not an "
                            "electrolyte one (bulk, grain boundary, electrolyte), nor an interface one, whose "
                            "area-specific resistance would be fitted")
        raise DataError(
            f"no conductivity column {col!r}: give area_cm2 and thickness_cm to the campaign"
        )
    return np.asarray(table[col], dtype=float), _stderr_column(table, col)


def _series_sum(
    a: tuple[np.ndarray, np.ndarray | None], b: tuple[np.ndarray, np.ndarray | None]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Conductivity of two resistances in series (same L/A): 1/sigma = 1/sigma_a + 1/sigma_b."""
    sa, sea = a
    sb, seb = b
    total = 1.0 / (1.0 / sa + 1.0 / sb)
    if sea is None or seb is None:
        return total, None
    # first-order propagation, independent errors (their correlation is not in the table; where
    # the fits' own total is, _fits_own_total takes it instead): d total / d sigma_x = total^2 / sigma_x^2
    se = total**2 * np.sqrt((sea / sa**2) ** 2 + (seb / sb**2) ** 2)
    return total, se


CONDUCTIVITY = "sigma_S_per_cm"
"""``quantity`` of a conductivity row of :func:`arrhenius_table`: sigma = L/(R*A), S/cm."""
INTERFACE_CONDUCTANCE = {"per interface": "inverse_asr_per_interface_S_per_cm2", "per cell": "inverse_asr_S_per_cm2"}
"""``quantity`` of an interface row: 1/ASR, S/cm2, per interface (symmetric cell, ASR = R*A/2) or per cell."""
_ASR_COLUMNS = {"per interface": "_asr_per_interface_ohm_cm2", "per cell": "_asr_ohm_cm2"}


def _interface_asr(table: Any, resistance: str, roles: Mapping[str, str] | None) -> tuple[str, str] | None:
    """(ASR column, quantity) of an interface arc's resistance, per interface where the table has
    it (a symmetric cell); None when ``resistance`` is not an interface arc's or has no ASR (no area)."""
    per_interface = f"{resistance}{_ASR_COLUMNS['per interface']}"
    if per_interface in table.columns:  # written for interface arcs of symmetric cells only
        return per_interface, INTERFACE_CONDUCTANCE["per interface"]
    per_cell = f"{resistance}{_ASR_COLUMNS['per cell']}"
    if str((roles or {}).get(resistance, "")).lower() in INTERFACE_ROLES and per_cell in table.columns:
        return per_cell, INTERFACE_CONDUCTANCE["per cell"]
    return None


EA_FROM_LINE = "line"
"""``ea_source`` of a row whose Ea and standard error are the line's through measured values."""
EA_FROM_LAW = "joint law"
"""``ea_source`` of a row whose values a joint fit's Arrhenius law made: Ea and its standard
error are the law's (a line through them would repeat it, standard error ~1e-16 eV)."""
EA_FROM_LAW_MADE = "law-made values"
"""``ea_source`` of a row whose values (some or all) a joint fit's Arrhenius law made but whose
line is not that law (another form, a sum, several laws, rows off it): the line's Ea, no
standard error."""
EA_FROM_SMOOTHED = "smoothed values"
"""``ea_source`` of a row whose values (some or all) a joint fit smoothed (their second
differences across the checkpoints penalised): the line's Ea, no standard error (the values are
not independent points: their line's OLS error measured the penalty, 3-15x too small)."""
EA_SHARED = "shared"
"""``ea_source`` of a row whose values (some or all) are one value a joint fit shared across the
checkpoints: constant by construction, no line (its Ea would be that of a constant, with a
standard error that measures nothing)."""
EA_FIXED = "fixed"
"""``ea_source`` of a row whose values were held at a given value (``fix=``, every standard
error 0): constant by construction, no line."""
EA_NO_LINE = "no line"
"""``ea_source`` of a row with fewer than 2 determined points (or one temperature): no line,
``n_points`` says how many; the other rows are fitted as usual."""
MIN_LINE_POINTS = 2

TABLE_COLUMNS = ("resistance", "ea_eV", "ea_stderr_eV", "prefactor", "prefactor_unit", "r_squared", "n_points",
                 "form", "weighted", "quantity", "n_undetermined", "ea_source", "ea_of_constant_eV",
                 "barely_temperature_dependent", "note")
"""Columns of :func:`arrhenius_table` (and of arrhenius.csv)."""


def arrhenius_table(
    table: Any,
    resistances: Sequence[str] | None = None,
    *,
    roles: Mapping[str, str] | None = None,
    form: str = "sigmaT",
    weighted: bool = False,
    laws: Mapping[str, Mapping[str, Any]] | None = None,
) -> Any:
    """One Arrhenius fit per resistance of a campaign table (pandas DataFrame).

    ``table`` needs ``temperature_K`` or ``temperature_C`` (a ``temperature_K`` column whose lowest
    value is below 100 K, without a ``temperature_C`` column, warns once:
    :func:`~eisfit.units.warn_if_celsius_as_kelvin`). A resistance of the electrolyte (or a
    series one) is fitted by its conductivity, ``<R>_sigma_S_per_cm`` (optional
    ``<R>_sigma_S_per_cm_stderr``; area and thickness given); an interface arc's (``roles``,
    or a ``<R>_asr_per_interface_ohm_cm2`` column) by its area-specific conductance 1/ASR
    (:func:`interface_arrhenius`; per interface on symmetric cells, else per cell; area given).
    ``resistances`` defaults to every resistance with either; ``"R1+R2"`` asks for the total
    conductivity of resistances in series, added automatically when ``roles`` name a bulk and a
    grain-boundary resistance: each fit's own ``sigma_total_S_per_cm`` (its error from the
    covariance: overlapping arcs trade resistance) where the roles make that total exactly these
    arcs, else the series of their columns with independent errors. Rows with a non-finite or
    non-positive value are skipped, and so are values the data do not determine
    (:func:`~eisfit.analysis.quality.undetermined`: stderr unknown or above the value; the
    reports print them "undetermined") and those of a series R flagged ``series-holds-arc:<R>``
    in the table's ``flags`` (it holds an unresolved arc's resistance too), counted in
    ``n_undetermined``. A resistance left with fewer than 2
    determined points (or one temperature: an arc that vanishes at the higher temperatures)
    gets a row without a line (:data:`EA_NO_LINE`, ``n_points`` as many as there are, NaN for
    Ea, prefactor and R^2) and a note that names it; the others are fitted as usual. A
    resistance whose values a joint fit shared (the table's ``shared`` column names it) gets no
    line either (:data:`EA_SHARED`: constant by construction).

    Temperatures the lowest of which is below 100 K (:func:`~eisfit.units.celsius_as_kelvin_note`: degrees
    Celsius given as kelvin, it seems; the Ea would be ~40x too small) are named in every row's
    ``note``, whichever column gave them.

    ``laws``: the Arrhenius laws of a joint fit by resistance name (each with ``ea_eV``,
    ``ea_stderr_eV`` in eV and ``form``, as ``JointFitResult.arrhenius["laws"]``), for the
    rows whose ``arrhenius_law`` column names the resistance (its values are on the law).
    A row all of whose values follow one law of the same ``form`` takes the law's Ea and
    standard error (``ea_source`` :data:`EA_FROM_LAW`); one whose values follow a law only
    in part, or a law of another form or not given, keeps the line's Ea with no standard error
    (:data:`EA_FROM_LAW_MADE`); both have no R^2 (NaN). Other rows: :data:`EA_FROM_LINE`.

    Returns a DataFrame with the columns :data:`TABLE_COLUMNS`: ``resistance, ea_eV,
    ea_stderr_eV`` (eV), ``prefactor, prefactor_unit, r_squared, n_points, form, weighted,
    quantity`` (:data:`CONDUCTIVITY` or a value of :data:`INTERFACE_CONDUCTANCE`),
    ``n_undetermined, ea_source, ea_of_constant_eV`` (eV, the Ea a temperature-independent
    value gives), ``barely_temperature_dependent`` (:func:`barely_temperature_dependent`) and
    ``note`` (what the Ea is not, in words; "" when it is the line's measurement).
    """
    import pandas as pd

    if form not in _FORMS:
        raise DataError(f"unknown Arrhenius form {form!r}; use 'sigmaT' or 'sigma'")
    t = temperatures_K(table)
    if "temperature_K" in table.columns and "temperature_C" not in table.columns:  # once, not per row's fit
        # (with both columns, as a campaign's table has, the kelvin come from the Celsius)
        warn_if_celsius_as_kelvin(t, "Arrhenius table: its temperature_K column")
    celsius = celsius_as_kelvin_note(t, "the temperatures", fix="give them as temperature_C, or the Ea is tens of "
                                                               "times too small")
    names = list(resistances) if resistances is not None else _default_resistances(table, roles)
    if not names:
        raise DataError(
            "no conductivity (<R>_sigma_S_per_cm: give area_cm2 and thickness_cm) and no interface "
            "area-specific resistance (<R>_asr_ohm_cm2 of an interface arc: give area_cm2) in the campaign table"
        )
    rows = []
    for name in names:
        values, se, quantity = _named_series(table, name, roles)
        ok = np.isfinite(values) & (values > 0)
        held = _holding_arc(table, name)
        n_held = int(np.sum(ok & held))
        ok &= _determined(values, se) & ~held
        # every fitted row left out counts: an unresolved value (no number) and one at 0 on its bound too
        n_undetermined = int(np.sum(~ok))
        if weighted and se is not None:
            ok &= np.isfinite(se) & (se > 0)
        shared = _shared_in(table, name, ok)
        fixed = se is not None and ok.any() and bool(np.all(se[ok] == 0))  # held by fix=: no error at all
        if shared or fixed or ok.sum() < MIN_LINE_POINTS or np.unique(t[ok]).size < MIN_LINE_POINTS:
            rows.append(_no_line_row(name, quantity, form, weighted, t[ok], n_undetermined, shared,
                                     [_held_note(name, n_held), celsius], fixed=fixed))
            continue
        fit = arrhenius if quantity == CONDUCTIVITY else interface_arrhenius
        with warnings.catch_warnings():  # the table's temperatures were judged above
            warnings.simplefilter("ignore", CelsiusAsKelvinWarning)
            res = fit(t[ok], values[ok], None if se is None else se[ok], form=form,
                      weighted=weighted and se is not None)
        row = {"resistance": name, **{k: getattr(res, k) for k in _TABLE_FIELDS}, "quantity": quantity,
               "n_undetermined": n_undetermined, "ea_source": EA_FROM_LINE,
               "ea_of_constant_eV": res.ea_of_constant_eV}
        law_made = _law_made(table, name, ok)
        row.update(_law_fields(name, law_made, laws or {}, form))
        smoothed = _named_in_column(table, "smoothed", name, ok)
        if smoothed and row["ea_source"] == EA_FROM_LINE:
            row.update({"ea_source": EA_FROM_SMOOTHED, "ea_stderr_eV": math.nan, "r_squared": math.nan})
        row["barely_temperature_dependent"] = barely_temperature_dependent(
            row["ea_eV"], row["ea_stderr_eV"], res.ea_of_constant_eV, res.mean_temperature_K)
        row["note"] = "; ".join(filter(None, [_note(row, law_made, res.mean_temperature_K, smoothed),
                                              _problem_note(table, ok),
                                              _held_note(name, n_held),
                                              _extrapolated_note(name, int(np.sum(ok & _extrapolated(table, name))),
                                                                 int(ok.sum())), celsius]))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def _shared_in(table: Any, name: str, used: np.ndarray) -> list[str]:
    """The resistances of row ``name`` (``"R1+R2"``: both) whose value a joint fit shared in
    any of the ``used`` rows (the table's ``shared`` column names them)."""
    return _named_in_column(table, "shared", name, used)


def _named_in_column(table: Any, column: str, name: str, used: np.ndarray) -> list[str]:
    """The resistances of row ``name`` (``"R1+R2"``: both) that the table's ``column`` (a
    comma-separated list of parameter names per row: ``shared``, ``smoothed``) names in any of
    the ``used`` rows."""
    if column not in table.columns or not used.any():
        return []
    named = set()
    for v in np.asarray(table[column], dtype=object)[used]:
        if isinstance(v, str):
            named |= {p.strip() for p in v.split(",") if p.strip()}
    return [p for p in (q.strip() for q in name.split("+")) if p in named]


PROBLEM_FLAGS_COLUMN = "problem_flags"  # a table column of each row's whole-fit problem flags (';'-separated)


def _problem_note(table: Any, used: np.ndarray) -> str:
    """The note of a line through points whose fit carries a problem flag of the whole fit
    (the table's ``problem_flags`` column, where the caller gives it: a campaign's
    ``lack-of-fit``, ``kk-failed``...): one 40 °C fit flagged lack-of-fit had pulled an
    interface Ea from 0.60 to 0.52 eV, with no word in the line."""
    if PROBLEM_FLAGS_COLUMN not in table.columns:
        return ""
    flagged = [v for v in np.asarray(table[PROBLEM_FLAGS_COLUMN], dtype=object)[used] if isinstance(v, str) and v]
    if not flagged:
        return ""
    names = sorted({f.split(":", 1)[0] for v in flagged for f in v.split(";") if f})
    return (f"{len(flagged)} of its {int(used.sum())} points from fits flagged {', '.join(names)}: the line goes "
            "through them (check those checkpoints, or leave them out)")


def _no_line_row(name: str, quantity: str, form: str, weighted: bool, t: np.ndarray, n_undetermined: int,
                 shared: Sequence[str], notes: Sequence[str], fixed: bool = False) -> dict[str, Any]:
    """The row of a resistance without a line: its values one shared value (``shared``), held
    at a given value (``fixed``: every standard error 0), or fewer than 2 determined points (or
    temperatures) ``t``."""
    if fixed:
        why = (f"{name} was held fixed (fix=): constant by construction, no line (a line through it had given "
               "the Ea of a constant, with an R^2 of 0.999 and a standard error measuring nothing)")
    elif shared:
        why = (f"shared: constant by construction, no line ({', '.join(shared)} took one value for all the "
               "checkpoints of a joint fit; a line through it would give the Ea of a constant, its standard "
               "error measuring nothing)")
    else:
        points = f"{t.size} determined point{'' if t.size == 1 else 's'}"
        if t.size >= MIN_LINE_POINTS:
            points += f" at {np.unique(t).size} temperature"
        why = (f"{name} has fewer than {MIN_LINE_POINTS} determined points ({points}"
               + (f"; {n_undetermined} undetermined left out" if n_undetermined else "") + "): no line")
    unit = (_FORMS if quantity == CONDUCTIVITY else _INTERFACE_UNITS).get(form, "")
    return {"resistance": name, "ea_eV": math.nan, "ea_stderr_eV": math.nan, "prefactor": math.nan,
            "prefactor_unit": unit, "r_squared": math.nan, "n_points": int(t.size), "form": form,
            "weighted": bool(weighted), "quantity": quantity, "n_undetermined": n_undetermined,
            "ea_source": EA_FIXED if fixed else EA_SHARED if shared else EA_NO_LINE, "ea_of_constant_eV": math.nan,
            "barely_temperature_dependent": False, "note": "; ".join(filter(None, [why, *notes]))}


def _law_made(table: Any, name: str, used: np.ndarray) -> dict[str, bool]:
    """For each resistance of row ``name`` (``"R1+R2"``: both) whose values a joint fit's
    Arrhenius law made in some of the ``used`` rows (the table's ``arrhenius_law`` column names
    it): whether it did in all of them."""
    if "arrhenius_law" not in table.columns or not used.any():
        return {}
    on_law = [{p.strip() for p in str(v).split(",") if p.strip()} if isinstance(v, str) else set()
              for v in np.asarray(table["arrhenius_law"], dtype=object)[used]]
    out = {}
    for part in (p.strip() for p in name.split("+")):
        hits = [part in names for names in on_law]
        if any(hits):
            out[part] = all(hits)
    return out


def _law_fields(name: str, law_made: Mapping[str, bool], laws: Mapping[str, Mapping[str, Any]],
                form: str) -> dict[str, Any]:
    """The fields of a row whose values a joint fit's law made (none for other rows): the law's
    Ea and standard error where the row is that one law in the same form, else no standard
    error; no R^2 either way (a line through values on a law fits them by construction)."""
    if not law_made:
        return {}
    law = laws.get(name)
    if (list(law_made) == [name] and law_made[name] and law is not None and law.get("form") == form
            and math.isfinite(float(law.get("ea_eV", math.nan)))):
        return {"ea_source": EA_FROM_LAW, "ea_eV": float(law["ea_eV"]),
                "ea_stderr_eV": float(law.get("ea_stderr_eV", math.nan)), "r_squared": math.nan}
    return {"ea_source": EA_FROM_LAW_MADE, "ea_stderr_eV": math.nan, "r_squared": math.nan}


def _note(row: Mapping[str, Any], law_made: Mapping[str, bool], mean_temperature_K: float,
          smoothed: Sequence[str] = ()) -> str:
    """What a row's Ea is not, in words ("" for a line through measured values of a
    temperature-dependent quantity): the ``note`` column, and every text made from it."""
    notes = []
    if row["ea_source"] == EA_FROM_SMOOTHED:
        notes.append(f"the values of {', '.join(smoothed)} were smoothed by a joint fit (their second differences "
                     "penalised): Ea of a line through them, no standard error (they are not independent points; "
                     "the independent fits' line, without smoothing, gives one)")
    if row["ea_source"] == EA_FROM_LAW:
        notes.append("its values follow the joint fit's Arrhenius law: Ea and its standard error are the law's, "
                     "not a line's through them (which would repeat the law with an error of ~0)")
    elif row["ea_source"] == EA_FROM_LAW_MADE:
        parts = ", ".join(p + ("" if all_rows else " in some rows") for p, all_rows in law_made.items())
        notes.append(f"the values of {parts} were made by a joint fit's Arrhenius law: Ea of a line through "
                     "them, no standard error (not a measurement: the joint fit's law gives Ea)")
    if row["barely_temperature_dependent"]:
        kt_eV = K_B_EV_PER_K * mean_temperature_K
        notes.append(f"{row['resistance']} barely depends on temperature: Ea is within k_B*T ({kt_eV:.3g} eV) of the "
                     f"{row['ea_of_constant_eV']:.3g} eV a constant gives in the {_FORM_WORDS[row['form']]} form, "
                     "not an activation energy")
    return "; ".join(notes)


_FORM_WORDS = {"sigmaT": "sigma*T", "sigma": "sigma"}


def _holding_arc(table: Any, name: str) -> np.ndarray:
    """Which rows of ``table`` flag a resistance of row ``name`` (``"R0"``, ``"R0+R1"``)
    ``series-holds-arc:<R>`` (:func:`~eisfit.analysis.derived.series_holding_arc`): that
    series R also holds the resistance of an unresolved arc above f_max, so its value is not
    the series resistance's and is left out of the line, as an undetermined one; and so is
    that arc's R where it has a number (``traded-with-series:<R>``), and an arc's R measured
    only in a sum with its neighbour's (``split-undetermined:<R>``)."""
    wanted = {f"{flag}:{p.strip()}" for p in name.split("+")
              for flag in (SERIES_HOLDS_ARC_FLAG, TRADED_WITH_SERIES_FLAG, SPLIT_UNDETERMINED_FLAG)}
    if "flags" not in table.columns:
        return np.zeros(len(table), bool)
    return np.array([bool(wanted & set(f.split(";") if isinstance(f, str) else f or ())) for f in table["flags"]],
                    dtype=bool)


def _extrapolated(table: Any, name: str) -> np.ndarray:
    """Which rows of ``table`` flag the arc of a resistance of row ``name`` (``"R1"``,
    ``"R1+R2"``) ``fapex-outside-range``: its apex lies at or beyond the end of the data, and its
    R follows the arc's shape beyond the data (:func:`~eisfit.analysis.derived.apex_outside_range_flags`,
    by each row's circuit)."""
    if "flags" not in table.columns or "circuit" not in table.columns:
        return np.zeros(len(table), bool)
    parts = [p.strip() for p in name.split("+")]
    out = []
    for circuit, flags in zip(table["circuit"], table["flags"]):
        apex = _apex_flags_of(circuit) if isinstance(circuit, str) else {}
        wanted = {apex.get(p) for p in parts} - {None}
        out.append(bool(wanted & set(flags.split(";") if isinstance(flags, str) else flags or ())))
    return np.array(out, dtype=bool)


@functools.lru_cache(maxsize=16)
def _apex_flags_of(circuit: str) -> dict[str, str]:
    """:func:`~eisfit.analysis.derived.apex_outside_range_flags` of a table's ``circuit``
    entry: a library name (``blocking-pellet``), a file or a circuit string; {} where it names
    none (a circuit file since moved)."""
    try:
        return apex_outside_range_flags(load_circuit(circuit).circuit.string)
    except CircuitError:
        return {}


def _extrapolated_note(name: str, n_extrapolated: int, n_points: int) -> str:
    """The note of a line through points whose arc peaks at or beyond the end of the data (a
    bulk arc above f_max at the highest temperatures: those points had stood in the line
    unmarked)."""
    if not n_extrapolated:
        return ""
    arcs = "the arc of" if "+" not in name else "an arc of"
    return (f"{n_extrapolated} of its {n_points} points extrapolated: {arcs} {name} peaks at or beyond the end of the "
            "data there (fapex-outside-range), its R following the arc's assumed shape beyond them")


def _held_note(name: str, n_held: int) -> str:
    """The note of a row with values left out because their series R holds an arc's too."""
    if not n_held:
        return ""
    return (f"{n_held} of the undetermined left out: {name} holds the resistance of an unresolved arc above f_max "
            "as well (series-holds-arc; the intercept sum is sigma_total_with_series_S_per_cm)")


def _determined(values: np.ndarray, se: np.ndarray | None) -> np.ndarray:
    """Which values their standard errors ``se`` (None: not known, not judged) do not make
    :func:`~eisfit.analysis.quality.undetermined`."""
    if se is None:
        return np.ones(values.shape, bool)
    return np.array([not undetermined(float(v), float(e)) for v, e in zip(values, se)], dtype=bool)


_TABLE_FIELDS = (
    "ea_eV", "ea_stderr_eV", "prefactor", "prefactor_unit", "r_squared", "n_points", "form", "weighted",
)


def _named_series(table: Any, name: str, roles: Mapping[str, str] | None
                  ) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(values, their stderr or None, quantity) of a row of :func:`arrhenius_table`:
    conductivities (S/cm, of a sum of resistances in series too) or an interface's ASR (ohm*cm2)."""
    parts = [p.strip() for p in name.split("+")]
    if len(parts) == 1 and f"{name}{_SIGMA_SUFFIX}" not in table.columns:
        interface = _interface_asr(table, name, roles)
        if interface is not None:
            column, quantity = interface
            return np.asarray(table[column], dtype=float), _stderr_column(table, column), quantity
    if len(parts) > 1 and _fits_own_total(table, parts, roles):
        return np.asarray(table[SIGMA_TOTAL_KEY], dtype=float), _stderr_column(table, SIGMA_TOTAL_KEY), CONDUCTIVITY
    series = _conductivity_series(table, parts[0], roles)
    for p in parts[1:]:
        series = _series_sum(series, _conductivity_series(table, p, roles))
    return series[0], series[1], CONDUCTIVITY


def _fits_own_total(table: Any, parts: Sequence[str], roles: Mapping[str, str] | None) -> bool:
    """Whether the table's ``sigma_total_S_per_cm`` (each fit's total conductivity) is the
    series of exactly ``parts``: the electrolyte arcs the roles name. Each fit computed it with
    its covariance; the bulk and grain-boundary resistances of overlapping arcs trade (their
    correlation -0.99 and below), so their sum is determined where neither is alone, and the
    sum of the two columns with independent errors (:func:`_series_sum`) overstated its error
    tenfold to fiftyfold, dropping determined points as undetermined."""
    if SIGMA_TOTAL_KEY not in table.columns or not roles:
        return False
    summed = total_conductivity_inputs(list(roles), roles, ()).get(SIGMA_TOTAL_KEY, [])  # what each fit summed
    return set(summed) == set(parts)


def _default_resistances(table: Any, roles: Mapping[str, str] | None) -> list[str]:
    names = [
        c[: -len(_SIGMA_SUFFIX)]
        for c in table.columns
        if c.endswith(_SIGMA_SUFFIX) and "+" not in c
    ]
    pair = total_resistance_pair(roles)
    if pair and all(p in names for p in pair):
        names.append(f"{pair[0]}+{pair[1]}")
    interfaces = [r for r in resistance_names(str(c) for c in table.columns)
                  if r not in names and _interface_asr(table, r, roles) is not None]
    return names + interfaces


def _is_interface(quantity: str) -> bool:
    return quantity in INTERFACE_CONDUCTANCE.values()


def row_label(row: Any) -> str:
    """A row's resistance (and its cell, where the table has several), with what was fitted
    where it is not a conductivity."""
    quantity = row.get("quantity", CONDUCTIVITY)
    cell = row.get("cell")
    of_cell = f" of cell {cell}" if isinstance(cell, str) and cell else ""
    if not _is_interface(quantity):
        return f"{row['resistance']}{of_cell}"
    where = "per interface" if quantity == INTERFACE_CONDUCTANCE["per interface"] else "per cell"
    return f"{row['resistance']}{of_cell} (1/ASR {where})"


def arrhenius_report_lines(fits: Any) -> list[str]:
    """Markdown section for a report from an :func:`arrhenius_table` DataFrame: the table
    (an Ea that is not the line's measurement marked, :func:`ea_marker`) and the rows' notes."""
    lines = ["## Arrhenius analysis", ""]
    if len(fits) == 0:
        return lines + ["No conductivity to fit."]
    form = fits["form"].iloc[0]
    law = "ln(y*T) = ln(A) - Ea/(k_B*T)" if form == "sigmaT" else "ln(y) = ln(A) - Ea/(k_B*T)"
    weighted = "weighted by the uncertainties" if bool(fits["weighted"].iloc[0]) else "unweighted"
    quantities = fits["quantity"] if "quantity" in fits else [CONDUCTIVITY] * len(fits)
    what = ["y = sigma = L/(R*A) for the electrolyte resistances"] if any(
        not _is_interface(q) for q in quantities) else []
    if any(_is_interface(q) for q in quantities):
        what.append("y = 1/ASR (S/cm2) for the interface arcs")
    lines += [f"Straight-line fit of {law} against 1/T ({weighted} least squares; "
              f"k_B = {K_B_EV_PER_K} eV/K; {'; '.join(what)}).", "",
              "| resistance | Ea / eV | prefactor A | R^2 | points |", "|---|---|---|---|---|"]
    notes = []
    for _, r in fits.iterrows():
        r2 = f"{r['r_squared']:.4f}" if math.isfinite(float(r["r_squared"])) else "–"
        prefactor = f"{r['prefactor']:.3g} {r['prefactor_unit']}" if math.isfinite(float(r["prefactor"])) else "–"
        lines.append(f"| {row_label(r)} | {_ea_cell(r)} | {prefactor} | {r2} | {r['n_points']}{_left_out(r)} |")
        if _row_note(r):
            notes.append(f"- {row_label(r)}: {_row_note(r)}.")
    return lines + ([""] + notes if notes else [])


def _ea_cell(row: Any) -> str:
    """A row's Ea in the report table: ``0.3993 ± 0.00083 (joint law)``, ``0.4627 (2 points: no stderr)``,
    ``– (no line)``."""
    if not _has_line(row):
        return f"– ({ea_marker(row)})"
    text = format_value(row["ea_eV"], row["ea_stderr_eV"] if _has_stderr(row) else None)
    marker = ea_marker(row) or ("" if _has_stderr(row) else f"{row['n_points']} points: no stderr")
    return f"{text} ({marker})" if marker else text


def arrhenius_summary_lines(fits: Any) -> list[str]:
    """One line per row of an :func:`arrhenius_table` DataFrame: its Ea with its standard
    error, R^2 and number of points (:func:`_ea_text`), then the row's ``note`` where its Ea
    is not the line's measurement (values a joint fit's Arrhenius law made; a resistance that
    barely depends on temperature)."""
    return [f"Arrhenius {row_label(r)}: {_ea_text(r)}" + (f": {_row_note(r)}" if _row_note(r) else "")
            if _has_line(r) else f"Arrhenius {row_label(r)}: {_row_note(r) or _ea_text(r)}"
            for _, r in fits.iterrows()]


def ea_marker(row: Any) -> str:
    """A few words after a row's Ea where it is not the line's measurement (report table,
    figure legend): "joint law", "law-made values: no stderr", "barely T-dependent", "shared: no line",
    "no line"; "" else."""
    words = {EA_FROM_LAW: "joint law", EA_FROM_LAW_MADE: "law-made values: no stderr",
             EA_FROM_SMOOTHED: "smoothed values: no stderr", EA_SHARED: "shared: no line", EA_FIXED: "fixed: no line",
             EA_NO_LINE: "no line"}.get(
        row.get("ea_source", EA_FROM_LINE), "")
    if _flag(row.get("barely_temperature_dependent", False)):
        words = f"{words}, barely T-dependent" if words else "barely T-dependent"
    return words


def _flag(value: Any) -> bool:
    """A boolean column's value as read back (True, "True", nan for a missing one)."""
    return value is True or str(value) == "True"


def _row_note(row: Any) -> str:
    note = row.get("note", "")
    return note if isinstance(note, str) else ""


def _has_line(row: Any) -> bool:
    """Whether a row has a line (not :data:`EA_SHARED`, :data:`EA_FIXED` or :data:`EA_NO_LINE`)."""
    return row.get("ea_source", EA_FROM_LINE) not in (EA_SHARED, EA_FIXED, EA_NO_LINE)


def _has_stderr(row: Any) -> bool:
    return int(row["n_points"]) > 2 and math.isfinite(float(row["ea_stderr_eV"]))


def _ea_text(row: Any) -> str:
    """``Ea = 0.41 ± 0.006 eV (R^2 = 0.9993, 5 points)``; a line through two points has no
    standard error (it read "± nan", R^2 1), and says so; a joint fit's law's Ea has its
    standard error but no R^2; a line through law-made values has neither (the row's ``note``
    says why)."""
    source = row.get("ea_source", EA_FROM_LINE)
    if not _has_line(row):
        return f"no line ({row['n_points']} point{'' if int(row['n_points']) == 1 else 's'}{_left_out(row)})"
    if source == EA_FROM_LAW and math.isfinite(float(row["ea_stderr_eV"])):
        return (f"Ea = {format_value(row['ea_eV'], row['ea_stderr_eV'], 'eV')} "
                f"({row['n_points']} points{_left_out(row)})")
    if source in (EA_FROM_LAW, EA_FROM_LAW_MADE, EA_FROM_SMOOTHED):
        return (f"Ea = {format_value(row['ea_eV'], None, 'eV')} from {row['n_points']} points{_left_out(row)}, "
                "no standard error")
    if not _has_stderr(row):
        return (f"Ea = {format_value(row['ea_eV'], None, 'eV')} from {row['n_points']} points{_left_out(row)}: "
                "no standard error (3 or more temperatures give one)")
    return (f"Ea = {format_value(row['ea_eV'], row['ea_stderr_eV'], 'eV')} "
            f"(R^2 = {row['r_squared']:.4f}, {row['n_points']} points{_left_out(row)})")


def _left_out(row: Any) -> str:
    n = int(row.get("n_undetermined", 0) or 0)
    return f"; {n} undetermined left out" if n else ""


class ArrheniusPoints(NamedTuple):
    """The points of one resistance's Arrhenius line, as a figure draws them."""

    temperature_K: np.ndarray
    y: np.ndarray  # sigma (S/cm) of a conductivity row, 1/ASR (S/cm2) of an interface row
    relative_stderr: np.ndarray  # that of the value (nan where the table has none)
    extrapolated: np.ndarray  # bool: the arc's apex lies at or beyond the end of the data there (fapex-outside-range)


def arrhenius_points(table: Any, resistances: Iterable[str], roles: Mapping[str, str] | None = None
                     ) -> dict[str, ArrheniusPoints]:
    """The :class:`ArrheniusPoints` per resistance name: the points :func:`arrhenius_table`
    fits (the determined values, none whose series R holds an arc), with the relative
    standard error of each value and whether its arc peaks at or beyond the end of the data
    (its R following the arc's assumed shape beyond them, which the line's note counts)."""
    t = temperatures_K(table)
    out = {}
    for name in resistances:
        values, se, quantity = _named_series(table, name, roles)
        with np.errstate(divide="ignore", invalid="ignore"):  # an ASR of 0 or nan: left out below
            y = values if quantity == CONDUCTIVITY else 1.0 / values
            relative = np.full(values.shape, np.nan) if se is None else np.abs(se / values)
        ok = np.isfinite(y) & (y > 0) & _determined(values, se) & ~_holding_arc(table, name)
        out[name] = ArrheniusPoints(t[ok], y[ok], relative[ok], _extrapolated(table, name)[ok])
    return out
