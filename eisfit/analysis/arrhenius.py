"""Arrhenius analysis of ionic conductivity.

Two forms of the Arrhenius law are fitted as straight lines against ``x = 1/T``
(T in K):

* ``form="sigmaT"`` (default, the usual form for ionic conductors)::

      sigma*T = A * exp(-Ea / (k_B*T))   ->   ln(sigma*T) = ln(A) - (Ea/k_B) * (1/T)

  prefactor A in S*K/cm;
* ``form="sigma"``::

      sigma = A * exp(-Ea / (k_B*T))     ->   ln(sigma)   = ln(A) - (Ea/k_B) * (1/T)

  prefactor A in S/cm.

``Ea = -slope * k_B`` with ``k_B = 8.617333262e-5 eV/K``. The line is an ordinary
least-squares fit (``weighted=False``) or a weighted one with weights
``1/(stderr/sigma)^2`` on the logarithm (the first-order standard error of
``ln(sigma)``). Standard errors of slope and intercept are the textbook ones,
``cov = s^2 (X^T W X)^-1`` with ``s^2 = sum(w*res^2)/(n-2)`` (for OLS, ``w = 1``):
the same scaled-covariance convention as the circuit fits (lmfit, impedance.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..errors import DataError
from ..model.circuit import resistance_names
from ..units import format_value

__all__ = [
    "K_B_EV_PER_K", "ArrheniusResult", "arrhenius", "arrhenius_table", "arrhenius_points",
    "arrhenius_report_lines",
    "temperatures_K", "total_resistance_pair",
]

K_B_EV_PER_K = 8.617333262e-5
"""Boltzmann constant, eV/K (CODATA 2018, exact)."""

_FORMS = {"sigmaT": "S*K/cm", "sigma": "S/cm"}


@dataclass(frozen=True)
class ArrheniusResult:
    """A fitted Arrhenius line.

    Attributes
    ----------
    ea_eV, ea_stderr_eV : activation energy and its standard error, eV.
    prefactor, prefactor_stderr : exp(intercept) and its first-order standard error,
        in ``prefactor_unit`` (S*K/cm for ``form="sigmaT"``, S/cm for ``form="sigma"``).
    slope, slope_stderr : d ln(y) / d(1/T), K.
    intercept, intercept_stderr : ln(prefactor) (dimensionless log of the unit above).
    r_squared : coefficient of determination of the (weighted) line.
    n_points : number of (T, sigma) points used.
    form : "sigmaT" or "sigma"; weighted : whether the sigma uncertainties weighted the fit.
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

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (JSON-ready floats, ints, strings)."""
        return asdict(self)

    def predict_sigma(self, temperature_K: Any) -> np.ndarray:
        """Conductivity of the fitted line at ``temperature_K`` (K), S/cm."""
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

    Returns an :class:`ArrheniusResult`. With two points the line is exact and the
    standard errors are NaN.
    """
    if form not in _FORMS:
        raise DataError(f"unknown Arrhenius form {form!r}; use 'sigmaT' or 'sigma'")
    t, s = _checked_points(temperature_K, sigma_S_per_cm)
    x = 1.0 / t
    y = np.log(s * t) if form == "sigmaT" else np.log(s)
    w = _log_weights(s, sigma_stderr, t.size) if weighted else np.ones_like(x)
    slope, intercept, cov, r2 = _weighted_line(x, y, w)
    slope_se, intercept_se = np.sqrt(np.diag(cov))
    prefactor = float(np.exp(intercept))
    return ArrheniusResult(
        ea_eV=float(-slope * K_B_EV_PER_K),
        ea_stderr_eV=float(slope_se * K_B_EV_PER_K),
        prefactor=prefactor,
        prefactor_stderr=float(prefactor * intercept_se),
        prefactor_unit=_FORMS[form],
        slope=float(slope),
        slope_stderr=float(slope_se),
        intercept=float(intercept),
        intercept_stderr=float(intercept_se),
        r_squared=float(r2),
        n_points=int(t.size),
        form=form,
        weighted=bool(weighted),
    )


def _checked_points(temperature_K: Any, sigma: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(temperature_K, dtype=float).reshape(-1)
    s = np.asarray(sigma, dtype=float).reshape(-1)
    if t.shape != s.shape:
        raise DataError(f"{t.size} temperatures but {s.size} conductivities")
    if not (np.all(np.isfinite(t)) and np.all(t > 0)):
        raise DataError("temperatures must be finite and > 0 K (give kelvin, not Celsius)")
    if not (np.all(np.isfinite(s)) and np.all(s > 0)):
        raise DataError("conductivities must be finite and > 0 S/cm")
    if t.size < 2:
        raise DataError(f"an Arrhenius fit needs at least 2 points, got {t.size}")
    if np.unique(t).size < 2:
        raise DataError("an Arrhenius fit needs at least 2 different temperatures")
    return t, s


def _log_weights(sigma: np.ndarray, sigma_stderr: Any, n: int) -> np.ndarray:
    """Weights 1/(stderr/sigma)^2 of ln(sigma) points."""
    if sigma_stderr is None:
        raise DataError("weighted=True needs sigma_stderr (S/cm)")
    se = np.asarray(sigma_stderr, dtype=float).reshape(-1)
    if se.size != n:
        raise DataError(f"{se.size} conductivity standard errors, expected {n}")
    if not (np.all(np.isfinite(se)) and np.all(se > 0)):
        raise DataError("conductivity standard errors must be finite and > 0 for a weighted fit")
    return (sigma / se) ** 2


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
        t = np.asarray(table["temperature_C"], dtype=float) + 273.15
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


def _conductivity_series(table: Any, resistance: str) -> tuple[np.ndarray, np.ndarray | None]:
    col = f"{resistance}{_SIGMA_SUFFIX}"
    if col not in table.columns:
        if resistance not in table.columns:
            known = resistance_names(str(c) for c in table.columns)
            raise DataError(f"unknown resistance {resistance!r}: the campaign's circuit has "
                            f"{', '.join(known) if known else 'no resistance named so'}")
        if any(str(c).endswith(_SIGMA_SUFFIX) for c in table.columns):  # area and thickness were given
            raise DataError(f"{resistance} has no conductivity (no column {col!r}): its arc's role is not an "
                            "electrolyte one (bulk, grain boundary, electrolyte); an interface has none")
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
    # first-order propagation, independent errors: d total / d sigma_x = total^2 / sigma_x^2
    se = total**2 * np.sqrt((sea / sa**2) ** 2 + (seb / sb**2) ** 2)
    return total, se


def arrhenius_table(
    table: Any,
    resistances: Sequence[str] | None = None,
    *,
    roles: Mapping[str, str] | None = None,
    form: str = "sigmaT",
    weighted: bool = False,
) -> Any:
    """One Arrhenius fit per resistance of a campaign table (pandas DataFrame).

    ``table`` needs ``temperature_K`` or ``temperature_C`` and ``<R>_sigma_S_per_cm``
    columns (optional ``<R>_sigma_S_per_cm_stderr``). ``resistances`` defaults to every
    resistance with a conductivity column; ``"R1+R2"`` asks for the total conductivity
    of resistances in series, added automatically when ``roles`` name a bulk and a
    grain-boundary resistance. Rows with a non-finite conductivity are skipped.
    Returns a DataFrame with columns ``resistance, ea_eV, ea_stderr_eV, prefactor,
    prefactor_unit, r_squared, n_points, form, weighted``.
    """
    import pandas as pd

    t = temperatures_K(table)
    names = list(resistances) if resistances is not None else _default_resistances(table, roles)
    if not names:
        raise DataError(
            "no conductivity columns (<R>_sigma_S_per_cm) in the campaign table: "
            "give area_cm2 and thickness_cm"
        )
    rows = []
    for name in names:
        sigma, se = _named_conductivity(table, name)
        ok = np.isfinite(sigma) & (sigma > 0)
        if weighted and se is not None:
            ok &= np.isfinite(se) & (se > 0)
        res = arrhenius(
            t[ok], sigma[ok], None if se is None else se[ok], form=form,
            weighted=weighted and se is not None,
        )
        rows.append({"resistance": name, **{k: getattr(res, k) for k in _TABLE_FIELDS}})
    return pd.DataFrame(rows, columns=["resistance", *_TABLE_FIELDS])


_TABLE_FIELDS = (
    "ea_eV", "ea_stderr_eV", "prefactor", "prefactor_unit", "r_squared", "n_points", "form", "weighted",
)


def _named_conductivity(table: Any, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    parts = [p.strip() for p in name.split("+")]
    series = _conductivity_series(table, parts[0])
    for p in parts[1:]:
        series = _series_sum(series, _conductivity_series(table, p))
    return series


def _default_resistances(table: Any, roles: Mapping[str, str] | None) -> list[str]:
    names = [
        c[: -len(_SIGMA_SUFFIX)]
        for c in table.columns
        if c.endswith(_SIGMA_SUFFIX) and "+" not in c
    ]
    pair = total_resistance_pair(roles)
    if pair and all(p in names for p in pair):
        names.append(f"{pair[0]}+{pair[1]}")
    return names


def arrhenius_report_lines(fits: Any) -> list[str]:
    """Markdown section for a report from an :func:`arrhenius_table` DataFrame."""
    lines = ["## Arrhenius analysis", ""]
    if len(fits) == 0:
        return lines + ["No conductivity to fit."]
    form = fits["form"].iloc[0]
    law = "ln(sigma*T) = ln(A) - Ea/(k_B*T)" if form == "sigmaT" else "ln(sigma) = ln(A) - Ea/(k_B*T)"
    weighted = "weighted by the conductivity uncertainties" if bool(fits["weighted"].iloc[0]) else "unweighted"
    lines += [f"Straight-line fit of {law} against 1/T ({weighted} least squares; "
              f"k_B = {K_B_EV_PER_K} eV/K; sigma = L/(R*A)).", "",
              "| resistance | Ea / eV | prefactor A | R^2 | points |", "|---|---|---|---|---|"]
    for _, r in fits.iterrows():
        lines.append(f"| {r['resistance']} | {format_value(r['ea_eV'], r['ea_stderr_eV'])} | "
                     f"{r['prefactor']:.3g} {r['prefactor_unit']} | {r['r_squared']:.4f} | {r['n_points']} |")
    return lines


def arrhenius_summary_lines(fits: Any) -> list[str]:
    """One line per resistance of an :func:`arrhenius_table` DataFrame: its Ea with its
    standard error, R^2 and number of points."""
    return [f"Arrhenius {r['resistance']}: Ea = {format_value(r['ea_eV'], r['ea_stderr_eV'], 'eV')} "
            f"(R^2 = {r['r_squared']:.4f}, {r['n_points']} points)" for _, r in fits.iterrows()]


def arrhenius_points(table: Any, resistances: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(T in K, sigma in S/cm) per resistance name, for plots."""
    t = temperatures_K(table)
    out = {}
    for name in resistances:
        sigma, _ = _named_conductivity(table, name)
        ok = np.isfinite(sigma) & (sigma > 0)
        out[name] = (t[ok], sigma[ok])
    return out
