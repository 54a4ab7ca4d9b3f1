"""Physically named quantities derived from fitted parameters, with propagated stderr.

Conventions (see shared notes on domain conventions):

* ASR per cell = R * A (ohm*cm2); for a symmetric cell the interface arc holds two
  interfaces, so ``<R>_asr_per_interface_ohm_cm2`` = R * A / 2 is also given; likewise
  the areal capacitance per cell C_eff / A (``<C>_ceff_F_per_cm2``, F/cm2) and, for an
  interface arc of a symmetric cell, per interface 2 C_eff / A
  (``<C>_ceff_per_interface_F_per_cm2``: two equal capacitances in series);
* CPE (Q, n): tau = (R Q)^(1/n) (s), apex frequency f = 1/(2 pi tau) (Hz);
  effective capacitance by Hsu-Mansfeld C = (R Q)^(1/n) / R = tau / R (F, the default
  ``<CPE>_ceff_F``) and by Brug C = Q^(1/n) (1/Re + 1/R)^((n-1)/n) with Re the series
  resistance before the arc (``<CPE>_ceff_brug_F``);
* a Zarc (R, tau, gamma) or K (R, tau) element is an arc by itself: its tau is a
  parameter, C_eff = tau / R (for a Zarc the Hsu-Mansfeld capacitance of the R || CPE with
  Q = tau^gamma / R), its resistance ``<name>_0`` gets the ASR and conductivity of an R;
* the arc of a branch p(CPE, R-X-...) (a Randles branch: double layer and charge transfer
  R; a ladder's outer arc) is read as an R || CPE arc with that R: tau = (R Q)^(1/n), the
  apex of the charge-transfer arc where the diffusion X is slower, and the same C_eff;
* a finite Warburg (Z0, tau) gets Z0 * A and its Warburg coefficient Z0/sqrt(2 tau) (the
  semi-infinite limit, per area too); an open one (Wo, tending to
  Z0/(j w tau) + Z0/3) also its limiting capacitance tau / Z0; a semi-infinite one Aw * A;
  a Gerischer R_G * A (a finite-length one also its DC resistance R_G / tanh(phi)); a
  transmission line (TLMQ) Rion * A;
* ionic conductivity sigma = L / (R * A) (S/cm), only for resistances of the
  electrolyte (arc roles bulk, grain boundary, electrolyte) and for series resistances
  without an arc (the high-frequency intercept R0 holds the bulk): an interface,
  charge-transfer or electrode arc has no conductivity.

Standard errors are propagated with the delta method from the parameter covariance.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Collection, Mapping, Sequence

import numpy as np

from ..model.circuit import Arc, circuit_of
from ..model.elements import APEX_KINDS, ELEMENT_ARC_KINDS, WARBURG_KINDS
from ..model.parser import Leaf, series_chain

INTERFACE_ROLES = ("interface", "electrode", "charge transfer")
ELECTROLYTE_ROLES = ("bulk", "grain boundary", "electrolyte")
EPS0_F_PER_CM = 8.8541878128e-14  # vacuum permittivity


def element_arcs(elements: Sequence) -> list[Arc]:
    """The :class:`~eisfit.model.Arc` of every Zarc and K among a circuit's ``elements`` (objects with
    ``name`` and ``kind``), in circuit order."""
    return [Arc(f"{e.name}_0", e.name, e.kind) for e in elements if e.kind in ELEMENT_ARC_KINDS]


def circuit_arcs(circuit, *, branches: bool) -> list[Arc]:
    """The arcs of a :class:`~eisfit.model.Circuit`: every R || C/CPE pair, with ``branches``
    the arc of every branch p(C|CPE, R-X-...) (a Randles branch's charge transfer and double
    layer, a ladder's outer arc), then every Zarc and K element (:func:`element_arcs`)."""
    pairs = list(circuit.arcs) + (list(circuit.branch_arcs) if branches else [])
    return pairs + element_arcs(circuit.elements)


@dataclass(frozen=True)
class _Quantity:
    key: str
    unit: str
    func: Callable[[Mapping[str, float]], float]
    inputs: tuple[str, ...] = ()  # the parameters it is computed from (:func:`quantity_inputs`)
    # those it takes only through a sum of resistances (a total conductivity's; a Brug Re's, which
    # depends on the values: which arcs are faster)
    summed: tuple[str, ...] | Callable[[Mapping[str, float]], tuple[str, ...]] = ()


_LOG_MAX_FLOAT = math.log(np.finfo(float).max)


def arc_tau_s(values: Mapping[str, float], arc: Arc) -> float:
    """Time constant of an arc, s: (R Q)^(1/n) for a CPE, R C for a capacitor; inf where
    it overflows (a runaway arc), for Python and numpy floats alike; a Zarc's or K's own tau."""
    if arc.kind in ELEMENT_ARC_KINDS:
        return float(values[f"{arc.capacitive}_1"])
    r = values[arc.resistor]
    if arc.kind == "CPE":
        q, n = values[f"{arc.capacitive}_0"], values[f"{arc.capacitive}_1"]
        if not ((r > 0 and q > 0) or (r < 0 and q < 0)) or not n > 0:  # R Q > 0, without forming it
            return math.nan
        # in logs: neither R Q nor the power can overflow (numpy floats warn, math.exp raises)
        log_tau = (math.log(abs(r)) + math.log(abs(q))) / n
        return math.exp(log_tau) if log_tau < _LOG_MAX_FLOAT else math.inf
    return float(r) * float(values[arc.capacitive])  # Python floats: an overflow is inf, with no numpy warning


ARC_SWAP_DECADES = 2.0  # an arc whose time constant moves by more than this many decades (100x) between
# checkpoints of one chain is another process: real evolutions moved an arc's apex by at most 0.8 decade per
# checkpoint (vsp_peis_with.mpr, mb.issue_149.mpr, geis.mpr, mb.mpr, peis/geis.issue_149.mpr), swapped arcs
# by 6.4-9.4 decades (vsp_peis_with.mpr's R1 and R2 branches)


def arc_shifts_decades(before: Mapping[str, float], after: Mapping[str, float],
                       arcs: Sequence[Arc]) -> dict[str, float]:
    """How far each arc's time constant moved from the values ``before`` to ``after``
    (parameter name -> value), in decades: abs(log10(tau_after / tau_before)) by arc resistance
    name, for the arcs whose time constant is finite and positive in both."""
    out = {}
    for arc in arcs:
        a, b = arc_tau_s(before, arc), arc_tau_s(after, arc)
        if 0 < a < math.inf and 0 < b < math.inf:
            out[arc.resistor] = abs(math.log10(b / a))
    return out


def swapped_arcs(before: Mapping[str, float], after: Mapping[str, float], arcs: Sequence[Arc]) -> list[str]:
    """The resistance names of the arcs whose time constant moved by more than
    ``ARC_SWAP_DECADES`` from ``before`` to ``after`` (:func:`arc_shifts_decades`): the
    parameters of the arc now describe another process (arcs that swapped places in a
    seeded chain, an arc lost or found)."""
    return [r for r, d in arc_shifts_decades(before, after, arcs).items() if d > ARC_SWAP_DECADES]


def _tau(values: Mapping[str, float | np.ndarray], arc: Arc):
    """Like :func:`arc_tau_s` but elementwise over arrays of values (nan where undefined)."""
    if arc.kind in ELEMENT_ARC_KINDS:
        return values[f"{arc.capacitive}_1"]
    r = values[arc.resistor]
    if arc.kind == "CPE":
        q, n = values[f"{arc.capacitive}_0"], values[f"{arc.capacitive}_1"]
        with np.errstate(all="ignore"):
            ok = (r * q > 0) & (n > 0)
            return np.where(ok, np.abs(r * q) ** (1.0 / np.where(ok, n, 1.0)), np.nan)
    return r * values[arc.capacitive]


def guess_roles(values: Mapping[str, float], arcs: Sequence[Arc], area_cm2: float | None) -> dict[str, str]:
    """Candidate role of each arc from its effective capacitance (Irvine, Sinclair & West 1990).

    A capacitance per area >= 1e-7 F/cm2 (or >= 1e-7 F when the area is unknown) is an
    electrode/electrolyte ``interface``; smaller ones are ``electrolyte`` (bulk or grain boundary).
    """
    roles = {}
    for arc in arcs:
        tau = arc_tau_s(values, arc)
        with np.errstate(over="ignore"):
            c = tau / values[arc.resistor] if values[arc.resistor] > 0 else float("nan")
        roles[arc.resistor] = role_of_capacitance(c / area_cm2 if area_cm2 else c)
    return roles


#: (upper C_eff limit in F for a cell constant of ~1 cm^-1, or F/cm2 with an area, band name):
#: Irvine, Sinclair & West 1990, Table 1 (order-of-magnitude bands), the names that
#: ``eisfit suggest`` gives arcs.
ROLE_BANDS = ((1e-11, "electrolyte"), (1e-8, "grain boundary"), (1e-7, "surface layer"),
              (1e-4, "interface"), (math.inf, "electrode"))
CEFF_SPREAD = 2.0  # C_eff formulas disagree by -70 % .. +100 % (Hirschorn 2010)


def capacitance_bands(c_per_area: float) -> tuple[str, ...]:
    """The ``ROLE_BANDS`` that an effective capacitance ``c_per_area`` (F/cm2, or F without
    an area; finite, > 0) falls in once the spread of C_eff formulas (x/÷ ``CEFF_SPREAD``)
    is allowed for: one name, or two when it straddles a band boundary."""
    lo, hi = _band(c_per_area / CEFF_SPREAD), _band(c_per_area * CEFF_SPREAD)
    return (lo,) if lo == hi else (lo, hi)


def _band(c: float) -> str:
    return next(role for upper, role in ROLE_BANDS if c < upper)


INTERFACE_FROM_F_PER_CM2 = 1e-7  # a guessed role: interface from this capacitance per area (F/cm2) on


def role_of_capacitance(c_per_area: float) -> str:
    """The guessed role of an arc of effective capacitance ``c_per_area`` (F/cm2, or F
    without an area): ``interface`` from ``INTERFACE_FROM_F_PER_CM2`` on, else (or where
    not finite) ``electrolyte``."""
    return "interface" if (math.isfinite(c_per_area) and c_per_area >= INTERFACE_FROM_F_PER_CM2) else "electrolyte"


# Irvine, Sinclair & West (1990), Table 1, for a cell constant L/A of 1 cm^-1, widened by
# the spread of C_eff formulas (x2 each way): an electrolyte arc (bulk ~1e-12 F, grain
# boundary 1e-11..1e-8 F) is judged by C*L/A, a process on a face (surface layer 1e-9..1e-7 F,
# interface 1e-7..1e-5 F, reactions ~1e-4 F) by C/A; without a thickness or an area the
# capacitance itself stands in for them (the cell constant taken as 1).
ROLE_CAPACITANCE_RANGE = {"electrolyte": (5e-15, 2e-8), "face": (5e-10, 2e-3)}
FACE_ROLES = INTERFACE_ROLES + ("surface layer",)


MIN_RELATIVE_PERMITTIVITY = 1.0  # no material's C*L/A lies below that of vacuum, eps0


def permittivity_unphysical(eps_r: float) -> bool:
    """Whether a relative permittivity (an electrolyte arc's C_eff*L/(eps0*A)) lies below 1,
    the vacuum's: no material has one, so the thickness or the area is wrong, or the arc is
    not the electrolyte's. Not judged where it is not finite."""
    return math.isfinite(eps_r) and eps_r < MIN_RELATIVE_PERMITTIVITY


def capacitance_outside_role(role: str, ceff_F: float, area_cm2: float | None,
                             thickness_cm: float | None) -> str | None:
    """Why an arc's effective capacitance ``ceff_F`` (F) does not fit its ``role`` (the
    ``ROLE_CAPACITANCE_RANGE`` of an electrolyte or a face process), or None when it fits
    or the role has no range (``arc``, unknown). With a thickness and an area, an
    electrolyte's C*L/A is its permittivity eps0*eps_r (F/cm), which is at least eps0: the
    range starts there, not at the band's 5e-15 F/cm (which stands for an unknown cell
    constant), so that every arc :func:`permittivity_unphysical` judges is outside it too."""
    if not (math.isfinite(ceff_F) and ceff_F > 0):
        return None
    if role in ELECTROLYTE_ROLES:
        (lo, hi), name = ROLE_CAPACITANCE_RANGE["electrolyte"], "C*L/A"
        scale = (thickness_cm or 1.0) / (area_cm2 or 1.0)
        unit = "F/cm" if thickness_cm and area_cm2 else "F"
        if thickness_cm and area_cm2:
            lo = MIN_RELATIVE_PERMITTIVITY * EPS0_F_PER_CM
    elif role in FACE_ROLES:
        (lo, hi), scale, name = ROLE_CAPACITANCE_RANGE["face"], 1.0 / (area_cm2 or 1.0), "C/A"
        unit = "F/cm2" if area_cm2 else "F"
    else:
        return None
    value = ceff_F * scale
    if not lo <= value <= hi:
        return f"{name} = {value:.2g} {unit}, outside {lo:.2g}..{hi:.2g} for a {role} arc"
    if role in ELECTROLYTE_ROLES and area_cm2 and ceff_F / area_cm2 >= ELECTROLYTE_MAX_F_PER_CM2:
        return (f"C/A = {ceff_F / area_cm2:.2g} F/cm2, a double layer's, not an electrolyte's (at least "
                f"{ELECTROLYTE_MAX_F_PER_CM2:.0e} F/cm2) for a {role} arc")
    return None


# the capacitance per area (F/cm2) from which an arc is a double layer's whatever the thickness: a
# 30 um gel-polymer film's interface arc (4.4e-6 F/cm2, eps_r 1.5e5) passed as its electrolyte,
# its C*L/A within the grain-boundary band, and sigma_total came out 20x too low
ELECTROLYTE_MAX_F_PER_CM2 = 1e-6


def has_conductivity(resistor: str, roles: Mapping[str, str], series_resistors: Sequence[str]) -> bool:
    """True when L/(R*A) is a conductivity for ``resistor``: an electrolyte role (bulk,
    grain boundary, electrolyte), or a series resistance without an arc role (R0, the
    high-frequency intercept). Interface, charge-transfer and electrode arcs have no
    conductivity, nor has a resistor inside a branch that is no arc."""
    role = roles.get(resistor)
    return role in ELECTROLYTE_ROLES or (role is None and resistor in series_resistors)


APEX_OUTSIDE_RANGE = "fapex-outside-range"  # flag of an arc whose apex the data do not close (R extrapolated)
APEX_NOT_CLOSED_TEXT = "arc apex at or beyond the end of the data"  # what that flag says, in headline notes

OPEN_END_DECADES = 0.5  # a process this close inside an end of the data where -Z'' still rises is not closed by them
RISING_BAND_DECADES = 0.5  # the band next to an end of the data whose -Z'' maximum decides "still rising"
RISING_SHARE = 0.95  # -Z'' at the end at least this share of that maximum: no turn-down measured


SMOOTHED_BAND_POINTS = 5  # a band of this many points or more is judged on a parabola through them


def still_rising_at_end(frequency: np.ndarray, minus_imag: np.ndarray, low_end: bool) -> bool:
    """Whether -Z'' (ohm, ``minus_imag`` at ``frequency``, Hz) at the lowest (``low_end``) or
    highest frequency is positive and at least ``RISING_SHARE`` of its maximum over the
    ``RISING_BAND_DECADES`` decade next to it: the data end before a process there turns down
    (a blocking electrode's CPE line, a diffusion tail, an arc whose apex lies at or beyond
    that end). A band of ``SMOOTHED_BAND_POINTS`` or more is judged on the least-squares
    parabola through it in log f, not on its noisy points: with 2 % noise an arc cut half a
    decade below f_min had read closed 8 times in 300 (its last point below 95 % of a noisy
    neighbour), a DRT then giving it a "closed, determined" 35 ohm process for 100 ohm."""
    end = int(np.argmin(frequency) if low_end else np.argmax(frequency))
    reach = 10.0**RISING_BAND_DECADES
    band = frequency <= frequency[end] * reach if low_end else frequency >= frequency[end] / reach
    if np.count_nonzero(band) < 3:
        return False
    values = np.asarray(minus_imag, dtype=float)[band]
    if values.size >= SMOOTHED_BAND_POINTS:
        values, value = _parabola_through(np.log10(frequency[band]), values, math.log10(frequency[end]))
    else:
        value = float(minus_imag[end])
    return value > 0 and value >= RISING_SHARE * float(values.max())


def _parabola_through(x: np.ndarray, y: np.ndarray, at: float) -> tuple[np.ndarray, float]:
    """The least-squares parabola through (``x``, ``y``): its values at ``x`` and at ``at``
    (its normal equations in x about their mean solved by hand: every fit's assembly asks
    twice, and numpy's polynomial fit cost 0.12 ms a call)."""
    mean = float(x.mean())
    xc = x - mean
    sq = xc * xc
    n, p2, p3, p4 = x.size, float(sq.sum()), float(np.dot(sq, xc)), float(np.dot(sq, sq))
    t0, t1, t2 = float(y.sum()), float(np.dot(xc, y)), float(np.dot(sq, y))
    det = n * (p2 * p4 - p3 * p3) - p2 * p2 * p2  # of [[n, 0, p2], [0, p2, p3], [p2, p3, p4]]
    if not det > 1e-12 * max(n * p2 * p4, 1e-300):  # the points at one or two frequencies: no parabola
        return y, float(y[int(np.argmin(np.abs(x - at)))])
    c0 = (t0 * (p2 * p4 - p3 * p3) + p2 * (t1 * p3 - t2 * p2)) / det  # Cramer's rule
    c1 = (n * (t1 * p4 - t2 * p3) + p2 * (t0 * p3 - t1 * p2)) / det
    c2 = (n * (p2 * t2 - p3 * t1) - p2 * p2 * t0) / det
    u = at - mean
    return c0 + xc * (c1 + c2 * xc), c0 + u * (c1 + c2 * u)


def open_data_ends(frequency: np.ndarray, z: np.ndarray) -> tuple[bool, bool]:
    """(low-frequency end open, high-frequency end open): whether the data ``z`` (ohm) at
    ``frequency`` (Hz) end there with -Z'' still rising (:func:`still_rising_at_end`), so
    that a process within ``OPEN_END_DECADES`` of that end is not closed by them."""
    minus_imag = -np.asarray(z).imag
    return (still_rising_at_end(frequency, minus_imag, low_end=True),
            still_rising_at_end(frequency, minus_imag, low_end=False))


def closed_apex_range_hz(frequency: np.ndarray, z: np.ndarray) -> tuple[float, float]:
    """(lowest, highest) apex frequency (Hz) of an arc that the data ``z`` (ohm) at
    ``frequency`` (Hz) close: the measured range, narrowed by ``OPEN_END_DECADES`` at an open
    end (:func:`open_data_ends`). An arc whose apex lies outside is extrapolated: the data hold
    at most about half of it, the rest is the arc's assumed shape (the DRT calls its peak open,
    :func:`eisfit.analysis.drt.drt`)."""
    f_min, f_max = float(np.min(frequency)), float(np.max(frequency))
    low_open, high_open = open_data_ends(frequency, z)
    return (f_min * 10.0**OPEN_END_DECADES if low_open else f_min,
            f_max / 10.0**OPEN_END_DECADES if high_open else f_max)


def apex_outside_range_flags(circuit) -> dict[str, str]:
    """The flag ``fapex-outside-range:<C>`` that says an arc's resistance is extrapolated (its
    apex frequency at or beyond the end of the data, :func:`closed_apex_range_hz`), by
    resistance name, for each arc of the circuit string ``circuit`` (a result's ``circuit``)."""
    arcs = circuit_arcs(circuit_of(circuit), branches=True)
    return {a.resistor: f"{APEX_OUTSIDE_RANGE}:{a.capacitive}" for a in arcs}


SERIES_HOLDS_ARC_FLAG = "series-holds-arc"  # flag of a series R that also holds an unresolved arc's R
TRADED_WITH_SERIES_FLAG = "traded-with-series"  # flag of that arc's R where it has a number: only the sum is measured
SPLIT_UNDETERMINED_FLAG = "split-undetermined"  # flag of an arc's R of a determined arcs' sum (R1+R2) not bounded alone


NEGLIGIBLE_ARC_SHARE = 1e-3  # an arc whose R is below this share of the circuit's resistances holds none


def resistance_scale_ohm(circuit, values: Mapping[str, float], gone: Collection[str] = ()) -> float:
    """The sum (ohm) of the finite, positive parameters in ohm of ``circuit`` (resistances, a
    Warburg's or Gerischer's Z0) at ``values`` that are not among the unresolved names ``gone``
    (a runaway R of 1e22 ohm would make every arc negligible): the scale against which an
    arc's R is negligible (:data:`NEGLIGIBLE_ARC_SHARE`)."""
    return float(sum(values[n] for n, unit in zip(circuit.param_names, circuit.param_units)
                     if unit == "ohm" and n not in gone and 0.0 < values[n] < math.inf))


def fastest_arc(values: Mapping[str, float], arcs: Sequence[Arc], scale_ohm: float = 0.0) -> tuple[float, Arc] | None:
    """(time constant, s; arc) of the arc of ``arcs`` with the smallest finite, positive time
    constant at ``values`` (:func:`arc_tau_s`) among those whose R is not negligible: at least
    :data:`NEGLIGIBLE_ARC_SHARE` of ``scale_ohm`` (:func:`resistance_scale_ohm`). A Randles
    branch whose charge-transfer R collapsed (2e-4 ohm beside arcs of 39 and 66 ohm, its time
    constant 1e-135 s) is no arc above the data: it had been taken for the fastest, and R0 plus
    it for the intercept. None when no arc has one."""
    taus = [(arc_tau_s(values, a), a) for a in arcs if not values[a.resistor] < NEGLIGIBLE_ARC_SHARE * scale_ohm]
    taus = [(t, a) for t, a in taus if 0 < t < math.inf]
    return min(taus, key=lambda ta: ta[0]) if taus else None


def series_apex_elements(circuit) -> list[str]:
    """The names of the G, Gs and Ws elements in series with the whole circuit (its top-level
    chain): where one's apex lies above the data, the series resistances hold it
    (:func:`series_holding_arc`)."""
    return [node.name for node in series_chain(circuit.tree) if isinstance(node, Leaf) and node.kind in APEX_KINDS]


def series_holding_arc(values: Mapping[str, float], stderr: Mapping[str, float], arcs: Sequence[Arc],
                       series_resistors: Sequence[str], f_max_hz: float, gone: set[str],
                       elements_above: Sequence[str] = (), scale_ohm: float = 0.0) -> list[str]:
    """The series resistances (R0, the high-frequency intercept) that hold the resistance of
    the arc right after them as well: the fastest arc (smallest time constant) has its apex
    above ``f_max_hz`` (Hz), and its resistance or a series one is not determined by the data
    (among the unresolved names ``gone``, or its stderr unknown or above its value), so that
    they trade resistance and only their sum, the intercept, is measured (a garnet's bulk arc
    above 10 MHz: R0 + R1 = 30.04 ohm with R0 = 28.69 and R1 = 1.34 +- 7.7, true 3.83 and
    26.25; one above a 1 MHz analyser's range: R0 33 +- 60 and R1 72 +- 61 ohm, true 5 and
    100, the sum 105.1 +- 0.2). Such an R is no series resistance alone: it stays out of
    Arrhenius lines, and ``sigma_total_with_series_S_per_cm`` (the sum) is the determined
    conductivity.

    ``elements_above``: the G, Gs or Ws elements in series with the whole circuit whose apex
    lies above f_max (:func:`series_apex_elements`, flagged ``fapex-outside-range``). The
    series resistances hold such an element whatever the standard errors say: the data hold
    only its low-frequency side, which any depressed arc also gives, so how its resistance
    and R0 split rests on the shape assumed above the data (a garnet's bulk arc, R0 5 and
    R1 100 ohm, apex 13 MHz, measured to 1 MHz and fitted with R0-p(R1,CPE1)-G1: R0 43.3 +-
    9.1 and R_G 61.4 +- 9.1 ohm, the sum 104.7).

    ``scale_ohm``: the arcs whose R is negligible against it hold nothing
    (:func:`fastest_arc`)."""
    from .quality import undetermined

    series = [s for s in series_resistors if s not in gone and s in values]
    if elements_above:
        return series
    found = fastest_arc(values, arcs, scale_ohm)
    if found is None:
        return []
    tau, fastest = found
    r = fastest.resistor
    traded = r in gone or any(undetermined(values[n], stderr.get(n, math.nan)) for n in (r, *series))
    if not (traded and 1.0 / (2.0 * math.pi * tau) > f_max_hz):
        return []
    return series


SIGMA_TOTAL_KEY = "sigma_total_S_per_cm"
SIGMA_WITH_SERIES_KEY = "sigma_total_with_series_S_per_cm"


def total_conductivity_inputs(resistors: Sequence[str], roles: Mapping[str, str],
                              series_resistors: Sequence[str]) -> dict[str, list[str]]:
    """The resistors each total conductivity sums (by its key): ``sigma_total_S_per_cm``
    those of electrolyte roles; ``sigma_total_with_series_S_per_cm`` the series resistances
    (the intercept R0) and those. Empty without an electrolyte arc."""
    electrolyte = [r for r in resistors if roles.get(r, "") in ELECTROLYTE_ROLES]
    if not electrolyte:
        return {}
    series = [r for r in series_resistors if r in resistors and r not in electrolyte]
    return {SIGMA_TOTAL_KEY: electrolyte, **({SIGMA_WITH_SERIES_KEY: series + electrolyte} if series else {})}


def _quantities(
    resistors: Sequence[str],
    arcs: Sequence[Arc],
    roles: Mapping[str, str],
    series_resistors: Sequence[str],
    area_cm2: float | None,
    thickness_cm: float | None,
    symmetric: bool,
    elements: Sequence[tuple[str, str]] = (),
) -> list[_Quantity]:
    qs: list[_Quantity] = []
    for r in resistors:
        if area_cm2:
            qs.append(_Quantity(f"{r}_asr_ohm_cm2", "ohm*cm2 (per cell, R*A)", lambda v, r=r: v[r] * area_cm2,
                                (r,)))
            if symmetric and roles.get(r, "") in INTERFACE_ROLES:
                qs.append(_Quantity(
                    f"{r}_asr_per_interface_ohm_cm2", "ohm*cm2 (per interface, R*A/2, symmetric cell)",
                    lambda v, r=r: v[r] * area_cm2 / 2.0, (r,)))
            if thickness_cm and has_conductivity(r, roles, series_resistors):
                qs.append(_Quantity(
                    f"{r}_sigma_S_per_cm", f"S/cm (L/({r}*A))",
                    lambda v, r=r: thickness_cm / (v[r] * area_cm2), (r,)))
    totals = total_conductivity_inputs(resistors, roles, series_resistors)
    if area_cm2 and thickness_cm and totals:
        electrolyte = totals[SIGMA_TOTAL_KEY]
        qs.append(_Quantity(
            SIGMA_TOTAL_KEY, f"S/cm (L/(({'+'.join(electrolyte)})*A))",
            lambda v: thickness_cm / (sum(v[r] for r in electrolyte) * area_cm2), summed=tuple(electrolyte)))
        if SIGMA_WITH_SERIES_KEY in totals:  # a garnet's bulk arc above f_max leaves R_bulk in the intercept R0
            with_series = totals[SIGMA_WITH_SERIES_KEY]
            series = with_series[:len(with_series) - len(electrolyte)]
            qs.append(_Quantity(
                SIGMA_WITH_SERIES_KEY,
                f"S/cm (L/(({'+'.join(with_series)})*A): {'+'.join(series)} holds the bulk when its arc lies "
                "above f_max; the leads included, a lower bound)",
                lambda v: thickness_cm / (sum(v[r] for r in with_series) * area_cm2), summed=tuple(with_series)))
    for arc in arcs:
        c, own = arc.capacitive, arc.param_names  # every quantity of an arc takes its R
        qs.append(_Quantity(f"{c}_tau_s", _TAU_FORMULA.get(arc.kind, "s (R*C)").format(R=arc.resistor),
                            lambda v, a=arc: _tau(v, a), own))
        qs.append(_Quantity(f"{c}_fapex_Hz", "Hz (1/(2*pi*tau))",
                            lambda v, a=arc: 1.0 / (2.0 * math.pi * _tau(v, a)), own))
        qs.append(_Quantity(f"{c}_ceff_F", _CEFF_FORMULA.get(arc.kind, "F (C)"),
                            lambda v, a=arc: _tau(v, a) / v[a.resistor], own))
        if arc.kind in ("CPE", "Zarc"):
            brug = "F (Brug: Q^(1/n)*(1/Re+1/R)^((n-1)/n), Re = series R before the arc" + \
                (", Q = tau^gamma/R, n = gamma)" if arc.kind == "Zarc" else ")")
            qs.append(_Quantity(f"{c}_ceff_brug_F", brug, lambda v, a=arc: _brug(v, a, arcs, series_resistors), own,
                                lambda v, a=arc: _brug_series_resistances(v, a, arcs, series_resistors)))
        if area_cm2:
            # Hsu-Mansfeld names a CPE's (a Zarc's) effective capacitance; a C's (a K's tau/R) is its own
            hm = arc.kind in ("CPE", "Zarc")
            qs.append(_Quantity(f"{c}_ceff_F_per_cm2", f"F/cm2 (per cell, {'Hsu-Mansfeld C_eff' if hm else 'C'} / A)",
                                lambda v, a=arc: _tau(v, a) / v[a.resistor] / area_cm2, own))
            if symmetric and roles.get(arc.resistor, "") in INTERFACE_ROLES:
                # two equal interfaces in series: each has twice the cell's capacitance
                qs.append(_Quantity(f"{c}_ceff_per_interface_F_per_cm2",
                                    f"F/cm2 (per interface, 2*{'C_eff' if hm else 'C'}/A"
                                    f"{', Hsu-Mansfeld' if hm else ''}, symmetric cell)",
                                    lambda v, a=arc: 2.0 * _tau(v, a) / v[a.resistor] / area_cm2, own))
        if area_cm2 and thickness_cm and roles.get(arc.resistor, "") in ELECTROLYTE_ROLES:
            # an electrolyte arc's capacitance is the pellet's: C L / (eps0 A) is its relative
            # permittivity (tens for a garnet's bulk; far more for grain boundaries)
            qs.append(_Quantity(f"{c}_eps_r", "dimensionless (relative permittivity C_eff*L/(eps0*A), "
                                              "eps0 = 8.854e-14 F/cm)",
                                lambda v, a=arc: _tau(v, a) / v[a.resistor] * thickness_cm / (EPS0_F_PER_CM * area_cm2),
                                own))
    qs.extend(_element_quantities(elements, area_cm2))
    return qs


#: Elements with quantities of their own (:func:`_element_quantities`).
ELEMENT_QUANTITY_KINDS = WARBURG_KINDS + ("G", "Gs", "TLMQ", "T")
_RESISTANCE_SCALE = {  # the meaning of each kind's first parameter (ohm), for its Z0*A / R*A
    "Wo": "Z0*A; the low-frequency limit's resistance is Z0/3",
    "Ws": "Z0*A; Z0 is the diffusion resistance at DC",
    "G": "R_G*A; R_G is the Gerischer's DC resistance",
    "Gs": "R_G*A; the DC resistance is R_G/tanh(phi)",
    "TLMQ": "Rion*A; the pores' ionic resistance, of which the low-frequency limit holds Rion/3",
    "T": "A*A; the Paasch A per unit area, as the model's papers give it",
}


def _element_quantities(elements: Sequence[tuple[str, str]], area_cm2: float | None) -> list[_Quantity]:
    """Quantities of the elements (name, kind) of ``ELEMENT_QUANTITY_KINDS``: the per-area
    value of each one's resistance (Z0, R_G, Rion) or Warburg coefficient (Aw); the
    low-frequency limiting capacitance tau/Z0 of an open Warburg (Wo), whose impedance
    tends to Z0/(j w tau) + Z0/3 (a finite reservoir: a battery electrode's differential
    capacitance dQ/dU); the DC resistance R_G/tanh(phi) of a finite-length Gerischer (Gs) and
    that of a porous electrode (T, :func:`paasch_dc_resistance`)."""
    qs: list[_Quantity] = []
    for name, kind in elements:
        if kind == "W" and area_cm2:
            qs.append(_Quantity(f"{name}_aw_ohm_cm2_per_sqrt_s", "ohm*cm2*s^-1/2 (Warburg coefficient Aw*A)",
                                lambda v, n=name: v[n] * area_cm2, (name,)))
        if kind in _RESISTANCE_SCALE and area_cm2:
            qs.append(_Quantity(f"{name}_0_asr_ohm_cm2", f"ohm*cm2 ({_RESISTANCE_SCALE[kind]})",
                                lambda v, n=name: v[f"{n}_0"] * area_cm2, (f"{name}_0",)))
        if kind in ("Wo", "Ws"):
            # well above 1/tau both tend to Z0/sqrt(j w tau) = Aw (1-j)/sqrt(w): the coefficient of
            # a semi-infinite W, which the data fix where the finite length lies beyond them
            qs.append(_Quantity(f"{name}_aw_ohm_per_sqrt_s",
                                "ohm*s^-1/2 (Warburg coefficient Z0/sqrt(2*tau): Z -> Aw*(1-j)/sqrt(w) "
                                "for w >> 1/tau)",
                                lambda v, n=name: _warburg_coefficient(v, n), (f"{name}_0", f"{name}_1")))
            if area_cm2:
                qs.append(_Quantity(f"{name}_aw_ohm_cm2_per_sqrt_s", "ohm*cm2*s^-1/2 (Warburg coefficient "
                                                                     "Z0*A/sqrt(2*tau))",
                                    lambda v, n=name: _warburg_coefficient(v, n) * area_cm2,
                                    (f"{name}_0", f"{name}_1")))
        if kind == "Wo":
            qs.append(_Quantity(f"{name}_clim_F", "F (tau/Z0: the low-frequency limiting capacitance)",
                                lambda v, n=name: v[f"{n}_1"] / v[f"{n}_0"], (f"{name}_0", f"{name}_1")))
            if area_cm2:
                qs.append(_Quantity(f"{name}_clim_F_per_cm2", "F/cm2 (tau/(Z0*A))",
                                    lambda v, n=name: v[f"{n}_1"] / v[f"{n}_0"] / area_cm2,
                                    (f"{name}_0", f"{name}_1")))
        if kind == "Gs":
            qs.append(_Quantity(f"{name}_rdc_ohm", "ohm (R_G/tanh(phi): the DC resistance)",
                                lambda v, n=name: v[f"{n}_0"] / np.tanh(v[f"{n}_2"]), (f"{name}_0", f"{name}_2")))
        if kind == "T":
            qs.append(_Quantity(f"{name}_rdc_ohm", "ohm (A coth(sqrt a)/sqrt a + B/(sqrt a sinh(sqrt a)): "
                                                   "the DC resistance)",
                                lambda v, n=name: paasch_dc_resistance(v[f"{n}_0"], v[f"{n}_1"], v[f"{n}_2"]),
                                (f"{name}_0", f"{name}_1", f"{name}_2")))
    return qs


def _warburg_coefficient(values: Mapping[str, Any], name: str):
    """Z0/sqrt(2 tau) (ohm*s^-1/2) of the finite Warburg ``name`` (Wo, Ws; elementwise)."""
    return values[f"{name}_0"] / np.sqrt(2.0 * values[f"{name}_1"])


def paasch_dc_resistance(a_ohm, b_ohm, a_ratio):
    """The DC resistance (ohm) of a T (Paasch) element of A = ``a_ohm``, B = ``b_ohm`` and
    a = ``a_ratio``: Z(omega -> 0) = A coth(sqrt a)/sqrt a + B csch(sqrt a)/sqrt a, with
    csch(x) = 2 e^-x / (1 - e^-2x) (no overflow for a large a); elementwise."""
    root = np.sqrt(a_ratio)
    return (a_ohm / np.tanh(root) + b_ohm * 2.0 * np.exp(-root) / -np.expm1(-2.0 * root)) / root


_TAU_FORMULA = {"CPE": "s (({R}*Q)^(1/n))", "Zarc": "s (the Zarc's tau)", "K": "s (the K's tau = R*C)"}
_CEFF_FORMULA = {"CPE": "F (Hsu-Mansfeld: (R*Q)^(1/n)/R)", "Zarc": "F (Hsu-Mansfeld: tau/R)", "K": "F (tau/R)"}


def _brug_series_resistances(values: Mapping[str, float], arc: Arc, arcs: Sequence[Arc],
                            series: Sequence[str]) -> tuple[str, ...]:
    """The resistances whose sum is the Re of ``arc``'s Brug capacitance at ``values`` (one
    fit's): the ``series`` resistances and those of the arcs faster than it (a smaller time
    constant), as :func:`_brug` takes them."""
    tau = _tau(values, arc)
    return (*series, *(a.resistor for a in arcs if _tau(values, a) < tau))


def quantity_inputs(values: Mapping[str, float], *, resistors: Sequence[str], arcs: Sequence[Arc],
                    roles: Mapping[str, str], series_resistors: Sequence[str] = (),
                    area_cm2: float | None = None, thickness_cm: float | None = None, symmetric: bool = True,
                    elements: Sequence[tuple[str, str]] = ()) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """The parameters each derived quantity of :func:`derived_quantities` (same keywords) is
    computed from at ``values`` (one fit's), by key: (``inputs``, ``summed``). ``inputs`` enter
    it as they are (an arc's R, Q and n enter its tau, f_apex and C_eff; an R its ASR);
    ``summed`` only through a sum of resistances (a total conductivity's; the Re of a Brug
    capacitance: the series resistances and the faster arcs'), which may be determined where
    its terms are not (an intercept R0 + R1). A quantity of an unresolved parameter is
    unresolved itself (``eisfit.fitting.assemble``)."""
    out = {}
    for q in _quantities(resistors, arcs, roles, series_resistors, area_cm2, thickness_cm, symmetric, elements):
        out[q.key] = (tuple(q.inputs), tuple(q.summed(values) if callable(q.summed) else q.summed))
    return out


def one_parameter_quantities(values: Mapping[str, float], *, resistors: Sequence[str], arcs: Sequence[Arc],
                             roles: Mapping[str, str], series_resistors: Sequence[str] = (),
                             area_cm2: float | None = None, thickness_cm: float | None = None,
                             symmetric: bool = True, elements: Sequence[tuple[str, str]] = ()
                             ) -> dict[str, tuple[str, Callable[[float], float]]]:
    """The derived quantities of :func:`derived_quantities` (same keywords) computed from one
    parameter alone (:func:`quantity_inputs`: that one input, nothing summed), by key: (the
    parameter, the quantity as a function of it). Each is a constant times the parameter or
    over it: R*A and R*A/2 (ohm*cm2) grow with R, L/(R*A) (S/cm) falls; a Warburg's or
    Gerischer's Z0*A, R_G*A likewise grow. Their bounds are the parameter's bounds carried
    through the function."""
    out = {}
    for q in _quantities(resistors, arcs, roles, series_resistors, area_cm2, thickness_cm, symmetric, elements):
        summed = q.summed(values) if callable(q.summed) else q.summed
        if len(q.inputs) == 1 and not summed:
            out[q.key] = (q.inputs[0], lambda x, q=q: float(q.func({**values, q.inputs[0]: x})))
    return out


def _brug(v: Mapping[str, float], arc: Arc, arcs: Sequence[Arc], series: Sequence[str]):
    """Brug effective capacitance, F (elementwise over arrays of values); a Zarc's CPE is
    Q = tau^gamma / R, n = gamma."""
    tau = _tau(v, arc)
    re_ = sum(v[r] for r in series) + sum(np.where(_tau(v, a) < tau, v[a.resistor], 0.0) for a in arcs)
    n = v[arc.exponent]
    with np.errstate(all="ignore"):
        q = tau ** n / v[arc.resistor] if arc.kind == "Zarc" else v[f"{arc.capacitive}_0"]
        out = q ** (1.0 / n) * (1.0 / re_ + 1.0 / v[arc.resistor]) ** ((n - 1.0) / n)
    return np.where(re_ <= 0, np.nan, out)


def derived_quantities(
    values: Mapping[str, float],
    covariance: np.ndarray | None,
    cov_names: Sequence[str],
    *,
    resistors: Sequence[str],
    arcs: Sequence[Arc],
    roles: Mapping[str, str],
    series_resistors: Sequence[str] = (),
    area_cm2: float | None = None,
    thickness_cm: float | None = None,
    symmetric: bool = True,
    elements: Sequence[tuple[str, str]] = (),
) -> tuple[dict[str, float], dict[str, str]]:
    """Derived quantities and their ``<key>_stderr`` (delta method), plus a unit/formula map.

    ``covariance`` (M, M) is over ``cov_names`` (None: stderr nan). ``series_resistors``:
    the resistances in series with the whole circuit; ``elements``: (name, kind) of the
    circuit's elements of ``ELEMENT_QUANTITY_KINDS`` (W, Wo, Ws, G, Gs, TLMQ)."""
    m = len(cov_names)
    cov = np.full((1, m, m), np.nan) if covariance is None else np.asarray(covariance, float)[None]
    out, units = derived_quantities_batch(
        {k: np.array([v], dtype=float) for k, v in values.items()}, cov, cov_names,
        resistors=resistors, arcs=arcs, roles=roles, series_resistors=series_resistors,
        area_cm2=area_cm2, thickness_cm=thickness_cm, symmetric=symmetric, elements=elements)
    return {k: float(v[0]) for k, v in out.items()}, units


def derived_quantities_batch(
    values: Mapping[str, np.ndarray],
    covariance: np.ndarray | None,
    cov_names: Sequence[str],
    *,
    resistors: Sequence[str],
    arcs: Sequence[Arc],
    roles: Mapping[str, str],
    series_resistors: Sequence[str] = (),
    area_cm2: float | None = None,
    thickness_cm: float | None = None,
    symmetric: bool = True,
    elements: Sequence[tuple[str, str]] = (),
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """:func:`derived_quantities` for K fits at once (same roles and settings).

    ``values`` maps each parameter name to an array (K,); ``covariance`` is (K, M, M)
    over ``cov_names`` with nan where a fit has no covariance. Returns arrays (K,) per key
    and the unit map. Each quantity is evaluated once on a stack of the values and their
    central-difference perturbations (relative step 1e-6), from which the delta-method
    gradient is taken.
    """
    names = list(cov_names)
    stack, steps = _perturbation_stack(values, names)
    out: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for q in _quantities(resistors, arcs, roles, series_resistors, area_cm2, thickness_cm, symmetric, elements):
        with np.errstate(all="ignore"):
            full = np.broadcast_to(np.asarray(q.func(stack), dtype=float), stack[next(iter(stack))].shape)
        val = full[:, 0].copy()
        out[q.key] = val
        out[f"{q.key}_stderr"] = _delta_method(full, steps, covariance, val)
        units[q.key] = q.unit
        units[f"{q.key}_stderr"] = q.unit.split(" ")[0]
    return out, units


def _perturbation_stack(values: Mapping[str, np.ndarray], names: Sequence[str]):
    """Values as (K, 1 + 2M) arrays: column 0 the values, then +h_i and -h_i for each
    parameter of ``names`` (h = 1e-6 |x|, or 1e-9 at x = 0); and the steps h (K, M)."""
    m = len(names)
    stack = {k: np.repeat(np.asarray(v, dtype=float)[:, None], 1 + 2 * m, axis=1) for k, v in values.items()}
    k = next(iter(stack.values())).shape[0]
    steps = np.empty((k, m))
    for i, name in enumerate(names):
        x = stack[name][:, 0]
        h = np.where(x != 0, 1e-6 * np.abs(x), 1e-9)
        steps[:, i] = h
        stack[name][:, 1 + i] += h
        stack[name][:, 1 + m + i] -= h
    return stack, steps


def _delta_method(full: np.ndarray, steps: np.ndarray, cov: np.ndarray | None, val: np.ndarray) -> np.ndarray:
    m = steps.shape[1]
    if cov is None or m == 0:
        return np.full(val.size, np.nan)
    with np.errstate(all="ignore"):
        grad = (full[:, 1:1 + m] - full[:, 1 + m:]) / (2 * steps)
        # a parameter the quantity does not depend on adds nothing, even one without variance (NaN)
        used = grad != 0
        cov = np.where(used[:, :, None] & used[:, None, :], cov, 0.0)
        var = np.einsum("km,kmn,kn->k", grad, cov, grad)
    ok = np.isfinite(val) & np.isfinite(var) & (var >= 0)
    return np.where(ok, np.sqrt(np.where(ok, var, 0.0)), np.nan)
