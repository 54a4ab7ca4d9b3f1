"""The high-frequency intercept a fit measures where its fastest arc lies above the data.

An arc that peaks above f_max (a garnet's bulk arc, ~10 MHz, on a 1 MHz analyser) shows
the data only its low-frequency side: its resistance trades with the series resistance
before it (the fit flags ``series-holds-arc:R0``), and only their sum, the intercept
R0 + R1, is measured. So does a Gerischer or a finite-length Warburg in series whose apex
lies above f_max (R0 + R_G of ``R0-p(R1,CPE1)-G1``). :func:`intercept_quantities` makes the
intercept a derived quantity of such a fit (``hf_intercept_ohm`` with its standard error from
the covariance, and per area ``hf_intercept_asr_ohm_cm2``): ``eisfit fit`` prints it, a
campaign's table has it as a column; :func:`intercept_only` reads it back for ``eisfit
suggest``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from ..analysis.derived import (APEX_OUTSIDE_RANGE, SERIES_HOLDS_ARC_FLAG, circuit_arcs, fastest_arc,
                                resistance_scale_ohm, series_apex_elements)
from ..analysis.quality import undetermined
from ..model.circuit import Circuit, circuit_of
from ..units import format_value
from .flags import unresolved_names

INTERCEPT_PREFIX = "hf_intercept_"
INTERCEPT_KEY = f"{INTERCEPT_PREFIX}ohm"
INTERCEPT_ASR_KEY = f"{INTERCEPT_PREFIX}asr_ohm_cm2"
HF_INTERCEPT = "high-frequency intercept"
AFTER_FAST_ARC = "resistance after the fast arc"  # an intercept sum well above the data's first Z'


@dataclass(frozen=True)
class InterceptOnly:
    """An arc (or a series G or Ws) a fit leaves above the data (:func:`intercept_only`): only
    the sum of ``summed``, the high-frequency intercept (``value_ohm`` +- ``stderr_ohm``), is
    measured."""

    names: tuple[str, ...]  # the series resistances the arc trades with, then its traded parameters
    # (:attr:`InterceptTerms.traded`: an arc's R, Q and n; a series G's or Ws's R)
    summed: tuple[str, ...]  # the resistances of the intercept: the series ones, then the arc's
    value_ohm: float
    stderr_ohm: float
    description: str = HF_INTERCEPT  # or, where the data begin on the arc, AFTER_FAST_ARC

    @property
    def terms(self) -> str:
        """The intercept as a sum of its terms: ``R0 + R1``."""
        return " + ".join(self.summed)

    def value_text(self) -> str:
        """``R0 + R1 = 104.9 ± 0.17 Ω``."""
        return intercept_text(self.summed, self.value_ohm, self.stderr_ohm)

    def sentence(self, f_max_hz: float) -> str:
        """What the data say and do not say, with the intercept's value."""
        return (f"The arc of {self.summed[-1]} peaks above the measured range (f_max "
                f"{format_value(f_max_hz, None, 'Hz', 3)}): the data hold only its low-frequency side, which "
                f"fixes the {self.description} {self.value_text()} and not {', '.join(self.names)} apart "
                "(unresolved in its fit); measure to a higher frequency to resolve that arc.")


def intercept_text(summed: Sequence[str], value_ohm: float, stderr_ohm: float) -> str:
    """``R0 + R1 = 104.9 ± 0.17 Ω``: an intercept, its terms ``summed``, value and stderr (ohm)."""
    return f"{' + '.join(summed)} = {format_value(value_ohm, stderr_ohm, 'ohm', 4)}"


class InterceptTerms(NamedTuple):
    """What a fit's intercept sums (:func:`intercept_terms`)."""

    summed: tuple[str, ...]  # the series resistances flagged, then the resistance of the process above the data
    traded: tuple[str, ...]  # the parameters of that process the data leave to the intercept: an arc's R, Q
    # and n; a Gerischer's or Warburg's R alone (its time constant the data do not support: unresolved)
    whole: bool = False  # nothing follows that process (R0-p(R1,CPE1)): the sum is the circuit's resistance at
    # low frequency, where the data end, not the intercept of a process after it

    @property
    def description(self) -> str:
        """What the sum is: ``high-frequency intercept`` or, where nothing follows the process
        above the data, ``resistance at low frequency``."""
        return "resistance at low frequency" if self.whole else HF_INTERCEPT

    def description_at(self, value_ohm: float, stderr_ohm: float, z_re_at_fmax_ohm: float) -> str:
        """:attr:`description` of the sum ``value_ohm`` +- ``stderr_ohm`` of data whose Z' at
        f_max is ``z_re_at_fmax_ohm``: ``resistance after the fast arc`` in place of the
        intercept where the sum lies well above it (:func:`begins_on_the_arc`): the data begin
        on that arc's low-frequency side, and the intercept proper (R0, the electrolyte of a
        liquid cell) lies below their first point, unmeasured."""
        if not self.whole and begins_on_the_arc(value_ohm, stderr_ohm, z_re_at_fmax_ohm):
            return AFTER_FAST_ARC
        return self.description


def intercept_name(results: Sequence[Any]) -> str | None:
    """What the intercept sum of fits of one circuit is, named as the campaign's evolution
    line and figure name it: "high-frequency intercept R0 + R1", "resistance after the fast
    arc R0 + R1" where any of them begins on the arc (:meth:`InterceptTerms.description_at`),
    or "resistance at low frequency R0 + R1"; None where none has an intercept sum. The
    evolution figure had called it "intercept sum" where the line said it is not the intercept."""
    having = [r for r in results if INTERCEPT_KEY in r.derived]
    found = intercept_terms(circuit_of(having[0].circuit), having[0].values, having[0].flags) if having else None
    if found is None:
        return None
    descriptions = {found.description_at(float(r.derived[INTERCEPT_KEY]),
                                         float(r.derived.get(f"{INTERCEPT_KEY}_stderr", math.nan)),
                                         z_re_at_fmax(r.frequency, r.z)) for r in having}
    description = AFTER_FAST_ARC if AFTER_FAST_ARC in descriptions else found.description
    return f"{description} {' + '.join(found.summed)}"


ON_THE_ARC_SHARE = 0.05  # a sum this share of itself above the data's first Z': the data begin on the fast arc


def begins_on_the_arc(value_ohm: float, stderr_ohm: float, z_re_at_fmax_ohm: float) -> bool:
    """Whether the data begin on the fast arc well before its end: an intercept sum R0 + R1
    (``value_ohm`` +- ``stderr_ohm``) more than ``ON_THE_ARC_SHARE`` of itself and more than
    its stderr above the data's Z' at their highest frequency (``z_re_at_fmax_ohm``). A Li/Li
    cell measured from 500 Hz: Z' 203 ohm there, R0 + R1 = 225 +- 12 ohm with R0 on its bound
    at 0; called the high-frequency intercept, it had read as the electrolyte's resistance,
    which lies below 203 ohm, unmeasured. A garnet whose bulk arc peaks 10x above f_max keeps
    the name: its data begin ~2.5 % below the sum (an apex 3x above f_max: ~15 %)."""
    gap = value_ohm - z_re_at_fmax_ohm
    return bool(gap > ON_THE_ARC_SHARE * value_ohm and gap > stderr_ohm)


def z_re_at_fmax(frequency: np.ndarray, z: np.ndarray) -> float:
    """The data's Z' (ohm) at their highest frequency (nan without points)."""
    return float(np.real(z[int(np.argmax(frequency))])) if np.size(frequency) else math.nan


DC_RESISTANCE_KINDS = ("G", "Ws")  # series elements whose resistance at DC is their first parameter
# (R_G of a Gerischer, Z0 of a finite-length Warburg; a finite-length Gerischer's is R_G / tanh(phi))


def series_elements_above_data(circuit: Circuit, flags: Sequence[str]) -> list[str]:
    """The G, Gs and Ws elements in series with the whole circuit
    (:func:`~eisfit.analysis.derived.series_apex_elements`) whose apex lies above the data:
    those ``flags`` name ``fapex-outside-range:<element>``."""
    return [e for e in series_apex_elements(circuit) if f"{APEX_OUTSIDE_RANGE}:{e}" in flags]


def intercept_terms(circuit: Circuit, values: Mapping[str, float], flags: Sequence[str]) -> InterceptTerms | None:
    """The resistances of the intercept and the parameters they stand for, of a fit of
    ``circuit`` at ``values`` with ``flags``: the series resistances flagged
    ``series-holds-arc:<R>`` and the resistance of the process that flag is about. That is a
    Gerischer or finite-length Warburg in series flagged ``fapex-outside-range`` (its apex
    above the data) where there is one, else the fastest of the arcs (branch and element
    arcs included: :func:`eisfit.analysis.derived.series_holding_arc`). None when no series
    resistance holds an arc, when that process's R or Q (C, time constant) is on a bound (a
    collapsed element, not an arc above the data; an exponent at 1 is an ideal element), or
    when it is a finite-length Gerischer, whose resistance at DC (R_G / tanh(phi)) is no
    parameter of its own (R0 stays flagged; no intercept is given)."""
    parts = [flag.partition(":") for flag in flags]
    held = [name for kind, _, name in parts if kind == SERIES_HOLDS_ARC_FLAG]
    if not held:
        return None
    element = next(iter(series_elements_above_data(circuit, flags)), None)
    if element is not None:
        instance = next(e for e in circuit.elements if e.name == element)
        if instance.kind not in DC_RESISTANCE_KINDS:
            return None
        process, traded = tuple(instance.param_names), (instance.param_names[0],)
    else:
        gone = unresolved_names(flags)
        found = fastest_arc(values, circuit_arcs(circuit, branches=True),
                            resistance_scale_ohm(circuit, values, gone))
        if found is None:
            return None
        process = traded = tuple(found[1].param_names)
    on_bound = {name for kind, _, name in parts if kind == "at-bound"}
    units = dict(zip(circuit.param_names, circuit.param_units))
    if any(n in on_bound and units.get(n, "") for n in process):
        return None
    return InterceptTerms((*held, traded[0]), traded, _nothing_after(circuit, (*held, *process)))


def _nothing_after(circuit: Circuit, names: Sequence[str]) -> bool:
    """Whether every element of ``circuit`` but those of the parameters ``names`` (the series
    resistances and the process above the data) is a series inductance: then nothing follows
    that process, and the sum of its resistance and the series ones is the circuit's
    resistance at low frequency (a one-arc fit whose broad arc peaks above f_max: 231 ohm, the
    data's Z' at 0.8 Hz, had been called its high-frequency intercept)."""
    taken = set(names)
    return all(set(e.param_names) <= taken or e.kind == "L" for e in circuit.elements)


def intercept_quantities(circuit: Circuit, values: Mapping[str, float], covariance: np.ndarray | None,
                         cov_names: Sequence[str], flags: Sequence[str], area_cm2: float | None,
                         z_re_at_fmax_ohm: float = math.nan) -> tuple[dict[str, float], dict[str, str]]:
    """The derived quantities (values, units) of the intercept of a fit whose fastest arc lies
    above the data (:func:`intercept_terms`; none otherwise): ``hf_intercept_ohm`` and its
    ``_stderr``, the variance of the sum from ``covariance`` (over ``cov_names``; a fixed
    term adds none): R0 23 +- 89 and R1 82 +- 89 ohm, correlated -0.9999986, sum
    104.9 +- 0.17 ohm for a garnet's bulk arc peaking at ~13 MHz measured to 1 MHz; with
    an electrode area ``area_cm2`` (cm2) ``hf_intercept_asr_ohm_cm2`` (per cell) too. The unit
    text says what the sum is (:meth:`InterceptTerms.description_at`, with the data's Z' at f_max
    ``z_re_at_fmax_ohm``)."""
    found = intercept_terms(circuit, values, flags)
    if found is None:
        return {}, {}
    summed = found.summed
    value = float(sum(values[n] for n in summed))
    stderr = math.nan
    if covariance is not None:
        rows = [cov_names.index(n) for n in summed if n in cov_names]
        variance = float(np.sum(np.asarray(covariance)[np.ix_(rows, rows)]))
        stderr = math.sqrt(variance) if variance >= 0 else math.nan
    terms = " + ".join(summed)
    description = found.description_at(value, stderr, z_re_at_fmax_ohm)
    if found.whole:
        why = (f"the resistance at low frequency, the circuit's only process, the arc of {summed[-1]}, peaking above "
               "f_max: series-holds-arc")
    elif description == AFTER_FAST_ARC:
        why = (f"the resistance after the fast arc, that of {summed[-1]}, peaking above f_max; the data begin on it "
               f"at Z' {z_re_at_fmax_ohm:.4g} ohm, the intercept proper lies below, unmeasured: series-holds-arc")
    else:
        why = f"the high-frequency intercept, the arc of {summed[-1]} peaking above f_max: series-holds-arc"
    out = {INTERCEPT_KEY: value, f"{INTERCEPT_KEY}_stderr": stderr}
    units = {INTERCEPT_KEY: f"ohm ({terms}: {why})"}
    if area_cm2:
        out.update({INTERCEPT_ASR_KEY: value * area_cm2, f"{INTERCEPT_ASR_KEY}_stderr": stderr * area_cm2})
        units[INTERCEPT_ASR_KEY] = f"ohm*cm2 (per cell, ({terms})*A: {why})"
    return out, units


def intercept_only(result: Any) -> InterceptOnly | None:
    """The intercept a FitResult measured where its fastest arc (or a Gerischer or Warburg in
    series) lies above the data (its derived ``hf_intercept_ohm``, :func:`intercept_quantities`);
    None where it has none or where the intercept itself is undetermined (stderr unknown or at
    least the value)."""
    value = result.derived.get(INTERCEPT_KEY)
    if value is None:
        return None
    stderr = result.derived.get(f"{INTERCEPT_KEY}_stderr", math.nan)
    found = intercept_terms(circuit_of(result.circuit), result.values, result.flags)
    if found is None or undetermined(value, stderr) or INTERCEPT_KEY in unresolved_names(result.flags):
        return None
    description = found.description_at(value, stderr, z_re_at_fmax(result.frequency, result.z))
    return InterceptOnly(found.summed[:-1] + found.traded, found.summed, float(value), float(stderr), description)
