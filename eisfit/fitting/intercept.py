"""The high-frequency intercept a fit measures where its fastest arc lies above the data.

An arc that peaks above f_max (a garnet's bulk arc, ~10 MHz, on a 1 MHz analyser) shows
the data only its low-frequency side: its resistance trades with the series resistance
before it (the fit flags ``series-holds-arc:R0``), and only their sum, the intercept
R0 + R1, is measured. :func:`intercept_only` gives that sum with its standard error;
``eisfit fit`` prints it and ``eisfit suggest`` reads such a candidate by it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from ..analysis.derived import SERIES_HOLDS_ARC_FLAG, arc_tau_s
from ..analysis.quality import undetermined
from ..model.circuit import circuit_of
from ..units import format_value


@dataclass(frozen=True)
class InterceptOnly:
    """An arc a fit leaves above the data (:func:`intercept_only`): only the sum of
    ``summed``, the high-frequency intercept (``value_ohm`` +- ``stderr_ohm``), is measured."""

    names: tuple[str, ...]  # the series resistances the arc trades with, then the arc's parameters
    summed: tuple[str, ...]  # the resistances of the intercept: the series ones, then the arc's
    value_ohm: float
    stderr_ohm: float

    @property
    def terms(self) -> str:
        """The intercept as a sum of its terms: ``R0 + R1``."""
        return " + ".join(self.summed)

    def value_text(self) -> str:
        """``R0 + R1 = 104.9 ± 0.17 Ω``."""
        return f"{self.terms} = {format_value(self.value_ohm, self.stderr_ohm, 'ohm', 4)}"

    def sentence(self, f_max_hz: float) -> str:
        """What the data say and do not say, with the intercept's value."""
        return (f"The arc of {self.summed[-1]} peaks above the measured range (f_max "
                f"{format_value(f_max_hz, None, 'Hz', 3)}): the data hold only its low-frequency side, which "
                f"fixes the high-frequency intercept {self.value_text()} and not {', '.join(self.names)} apart "
                "(unresolved in its fit); measure to a higher frequency to resolve that arc.")


def intercept_only(result) -> InterceptOnly | None:
    """The fastest arc of ``result`` (a FitResult) when it peaks above f_max and trades its
    resistance with the series resistances before it (the fit's ``series-holds-arc:<R>``
    flags, :func:`eisfit.analysis.derived.series_holding_arc`): the data hold only the arc's
    low-frequency side, which fixes the sum of those resistances, the high-frequency
    intercept (R0 + R1), and neither term nor the arc's capacitance. The intercept's
    standard error comes from the fit's covariance (the terms' errors and correlation:
    R0 23 +- 89 and R1 82 +- 89 ohm, correlated -0.9999986, sum 104.9 +- 0.17 ohm for a
    garnet's bulk arc peaking at ~13 MHz measured to 1 MHz). None when no series
    resistance holds an arc, when the arc's R or Q (C) is on a bound (a collapsed element,
    not an arc above the data), or when the sum is undetermined itself (stderr unknown or
    at least the value)."""
    flags = [flag.partition(":") for flag in result.flags]
    held = [name for kind, _, name in flags if kind == SERIES_HOLDS_ARC_FLAG]
    if not held:
        return None
    values = result.values
    taus = [(arc_tau_s(values, a), a) for a in circuit_of(result.circuit).arcs]
    taus = [(t, a) for t, a in taus if math.isfinite(t) and t > 0]
    if not taus:
        return None
    arc = min(taus, key=lambda ta: ta[0])[1]
    on_bound = {name for kind, _, name in flags if kind == "at-bound"}
    if any(n in on_bound and result.units.get(n, "") for n in arc.param_names):  # an exponent at 1 is no collapse
        return None
    summed = (*held, arc.resistor)
    value = float(sum(values[n] for n in summed))
    stderr = _sum_stderr(result, summed)
    if undetermined(value, stderr):
        return None
    return InterceptOnly(tuple(held) + tuple(arc.param_names), summed, value, stderr)


def _sum_stderr(result, names: Sequence[str]) -> float:
    """The standard error of the sum of parameters ``names`` of ``result`` from their
    standard errors and correlations (nan where one is missing)."""
    s = [result.stderr.get(n) for n in names]
    s = [math.nan if v is None else float(v) for v in s]
    var = sum(v * v for v in s)
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            rho = (result.correl or {}).get(a, {}).get(names[j])
            var += 2.0 * (math.nan if rho is None else rho) * s[i] * s[j]
    return math.sqrt(var) if var >= 0 else math.nan
