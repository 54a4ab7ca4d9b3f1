"""The summed resistance of arcs that the data measure together but do not split.

Two arcs of a circuit that the data show as one (a two-arc circuit fitted to a single arc;
two processes whose time constants lie too close to tell apart) leave each resistance
undetermined: R1 reads unresolved (its profile reaches zero) and R2 13.7 +- 120 ohm, while
the arc the data hold is 500 ohm wide and any split that fits it sums to about that. The
sum is what the data determine. :func:`arc_sum_quantities` gives it as a derived quantity
(``R1+R2_ohm`` with its standard error, per area ``R1+R2_asr_ohm_cm2``) so that a fit whose
arcs cannot be told apart still reports the resistance of the process, with a number a
researcher can quote, instead of two undetermined ones.

The standard error is the sum's from the covariance at the optimum before any profile
widened it (the Wald covariance): the resistances trade along a valley whose direction the
sum does not feel (R1 and R2 correlated close to -1), which a covariance with their rows
scaled up separately would not show. The sum is given only where it is determined (stderr at
most a third of it) and the data close every summed arc (no ``fapex-outside-range``, no
profile open above): an arc the data do not close makes the sum an extrapolation. On the
impedance.py example files fitted with two arcs (Circuit1-3_EIS, one arc each) the sums lie
0.03-2.8 ohm (0.23-0.43 of their stderr) from the one-arc fits' R.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..analysis.derived import (APEX_OUTSIDE_RANGE, NEGLIGIBLE_ARC_SHARE, SPLIT_UNDETERMINED_FLAG, arc_tau_s,
                                circuit_arcs)
from ..analysis.quality import undetermined
from ..model.circuit import Arc, Circuit
from .flags import PROFILE_OPEN_FLAG, flag_details, multimodal_names, unresolved_names

ARC_SUM_SUFFIX = "_ohm"  # R1+R2_ohm
ARC_SUM_ASR_SUFFIX = "_asr_ohm_cm2"  # R1+R2_asr_ohm_cm2
NOT_SPLIT_JUDGEMENTS = ("large-stderr",)  # with unresolved: an R the data do not determine alone
SUM_MAX_RELATIVE_STDERR = 1.0 / 3.0  # a sum given only where zero lies 3 stderr below it
SUM_MAX_DATA_FACTOR = 10.0  # a sum above this x the data's largest |Z| is a runaway, no measurement
SPLIT_MAX_RELATIVE_STDERR = 1.0 / 3.0  # a summed arc's R is its own only where zero lies 3 stderr below it


def arc_sum_key(resistors: Sequence[str]) -> str:
    """``R1+R2_ohm``: the derived key of the summed resistance of ``resistors``."""
    return "+".join(resistors) + ARC_SUM_SUFFIX


def is_arc_sum_key(key: str) -> bool:
    """Whether a derived key is an arcs' sum's (``R1+R2_ohm``, its ``_stderr``, per area)."""
    head = key.split("_", 1)[0]
    return "+" in head and all(part for part in head.split("+"))


def arc_sum_ohm_keys(keys: Iterable[str]) -> list[str]:
    """The sums in ohm (``R1+R2_ohm``) among derived ``keys``, in their order."""
    return [k for k in keys if is_arc_sum_key(k) and k.endswith(ARC_SUM_SUFFIX)]


def arc_sum_asr_key(ohm_key: str) -> str:
    """``R1+R2_asr_ohm_cm2``: the per-area key of the sum ``ohm_key`` (``R1+R2_ohm``)."""
    return ohm_key[:-len(ARC_SUM_SUFFIX)] + ARC_SUM_ASR_SUFFIX


def arc_sum_terms(ohm_key: str) -> str:
    """``R1 + R2``: the sum ``ohm_key`` (``R1+R2_ohm``) as its terms."""
    return ohm_key[:-len(ARC_SUM_SUFFIX)].replace("+", " + ")


def arc_sum_quantities(groups: Sequence[Sequence[Arc]], values: Mapping[str, float], covariance: np.ndarray,
                       cov_names: Sequence[str], area_cm2: float | None) -> tuple[dict[str, float], dict[str, str]]:
    """Derived quantities (values, units) of the summed resistance of each group of arcs that
    the data determine together and not apart (``groups``: :func:`determined_groups`):
    ``<R+R>_ohm`` and its ``_stderr`` (ohm), with an electrode area ``area_cm2`` (cm2)
    ``<R+R>_asr_ohm_cm2`` per cell. ``covariance`` is the Wald covariance over ``cov_names``
    (see the module)."""
    out: dict[str, float] = {}
    units: dict[str, str] = {}
    for group in groups:
        names = [a.resistor for a in group]
        value, error = _sum_and_stderr(names, values, covariance, cov_names)
        key = arc_sum_key(names)
        asr, terms = arc_sum_asr_key(key), arc_sum_terms(key)
        why = "the arcs' sum is determined, their split is not"
        out[key], out[f"{key}_stderr"] = value, error
        units[key] = f"ohm ({terms}: {why})"
        units[f"{key}_stderr"] = "ohm"
        if area_cm2:
            out[asr], out[f"{asr}_stderr"] = value * area_cm2, error * area_cm2
            units[asr] = f"ohm*cm2 (per cell, ({terms})*A: {why})"
            units[f"{asr}_stderr"] = "ohm*cm2"
    return out, units


def split_undetermined_flags(groups: Sequence[Sequence[Arc]], values: Mapping[str, float],
                             stderr: Mapping[str, float], intervals: Mapping[str, Mapping[str, float | bool]],
                             flags: Sequence[str]) -> list[str]:
    """``split-undetermined:<R>`` for each resistance of a summed group (``groups``:
    :func:`determined_groups`) that has a number the data do not bound apart from the other
    arcs' at 3 stderr: its reported stderr above ``SPLIT_MAX_RELATIVE_STDERR`` of its value, or
    its profile's 3-sigma interval open below (``intervals``: the other arcs can take its
    share). A single 500 ohm arc fitted with two: R1 4.9 +- 88 (undetermined), R2 495 +- 165
    with a second optimum at R2 = 13.7 within 0.43 s^2, where only R1 + R2 = 499.95 +- 0.41
    is measured; R2 had been printed as the interface arc's resistance. One already
    unresolved, or undetermined by its stderr, needs no second flag."""
    gone = unresolved_names(flags)
    out = []
    for group in groups:
        for arc in group:
            r = arc.resistor
            value, error = values[r], stderr.get(r, math.nan)
            if r in gone or undetermined(value, error):
                continue
            if error > SPLIT_MAX_RELATIVE_STDERR * abs(value) or bool(intervals.get(r, {}).get("open_lower")):
                out.append(f"{SPLIT_UNDETERMINED_FLAG}:{r}")
    return out


def determined_groups(circuit: Circuit, values: Mapping[str, float], covariance: np.ndarray,
                      cov_names: Sequence[str], flags: Sequence[str], z_max_ohm: float,
                      intervals: Mapping[str, Mapping[str, float | bool]] | None = None) -> list[list[Arc]]:
    """Groups of neighbouring arcs (in time constant) whose summed resistance is determined
    while a member's is not (:func:`_undetermined_alone`, or its profile's 3-sigma interval in
    ``intervals`` open below; an arc whose R is negligible against the data's largest |Z|
    ``z_max_ohm``, a collapsed arc, starts none). Each such arc grows a
    group towards the neighbour closest to it in log tau until the group's sum is determined
    (Wald stderr at most ``SUM_MAX_RELATIVE_STDERR`` of the sum, the sum below
    ``SUM_MAX_DATA_FACTOR`` x ``z_max_ohm``) or no arc is left. A group is kept when its sum is
    determined and the data close every member: no apex beyond their ends
    (``fapex-outside-range``), no profile open above but a negligible member's (an arc of
    almost nothing beside the one the data show: its profile opens where it takes the other's
    share, which the sum holds). (Also where one member is determined
    alone: a campaign's column of the sum then reads the same process at every checkpoint,
    whichever of its arcs took most of it.)"""
    arcs = [a for a in circuit_arcs(circuit, branches=False) if a.resistor in cov_names]
    starts = _undetermined_alone([a.resistor for a in arcs], values, covariance, cov_names, flags)
    starts |= {a.resistor for a in arcs if (intervals or {}).get(a.resistor, {}).get("open_lower")
               and a.resistor not in multimodal_names(flags)}  # the other optimum may move the sum too
    negligible = {a.resistor for a in arcs if values[a.resistor] < NEGLIGIBLE_ARC_SHARE * z_max_ohm}
    starts -= negligible
    if not starts:  # most fits
        return []
    taus = {a.resistor: arc_tau_s(values, a) for a in arcs}
    arcs = sorted((a for a in arcs if 0 < taus[a.resistor] < math.inf), key=lambda a: taus[a.resistor])
    open_ = flag_details(flags, APEX_OUTSIDE_RANGE) | (flag_details(flags, PROFILE_OPEN_FLAG) - negligible)
    groups: list[list[Arc]] = []
    for i, arc in enumerate(arcs):
        if arc.resistor not in starts:
            continue
        lo = hi = i
        while lo > 0 or hi < len(arcs) - 1:
            lo, hi = _grown(arcs, taus, lo, hi)
            group = arcs[lo:hi + 1]
            names = [a.resistor for a in group]
            value, error = _sum_and_stderr(names, values, covariance, cov_names)
            if not (error <= SUM_MAX_RELATIVE_STDERR * value and value < SUM_MAX_DATA_FACTOR * z_max_ohm):
                continue  # not determined yet: take in the next arc
            closed = not any(a.capacitive in open_ or a.resistor in open_ for a in group)
            if closed and group not in groups:
                groups.append(group)
            break
    return groups


def _grown(arcs: Sequence[Arc], taus: Mapping[str, float], lo: int, hi: int) -> tuple[int, int]:
    """The index range [lo, hi] of ``arcs`` (sorted by tau) grown by the neighbour closer in log tau."""
    if lo == 0:
        return lo, hi + 1
    if hi == len(arcs) - 1:
        return lo - 1, hi
    below = math.log(taus[arcs[lo].resistor] / taus[arcs[lo - 1].resistor])
    above = math.log(taus[arcs[hi + 1].resistor] / taus[arcs[hi].resistor])
    return (lo - 1, hi) if below <= above else (lo, hi + 1)


def _undetermined_alone(resistors: Sequence[str], values: Mapping[str, float], covariance: np.ndarray,
                        cov_names: Sequence[str], flags: Sequence[str]) -> set[str]:
    """Those of ``resistors`` that the data leave undetermined alone: flagged unresolved or
    ``large-stderr``, or a Wald stderr at their value. A ``multimodal`` R starts no sum: the
    other optimum may move the sum as well, which this optimum's covariance cannot show."""
    judged = unresolved_names(flags).union(*(flag_details(flags, j) for j in NOT_SPLIT_JUDGEMENTS))
    variance = dict(zip(cov_names, np.diag(np.asarray(covariance)).tolist()))

    def wald_undetermined(r: str) -> bool:
        return undetermined(values[r], math.sqrt(variance[r]) if variance[r] >= 0 else math.nan)

    return {r for r in resistors if r in judged or wald_undetermined(r)}


def _sum_and_stderr(names: Sequence[str], values: Mapping[str, float], covariance: np.ndarray,
                    cov_names: Sequence[str]) -> tuple[float, float]:
    """The sum of the resistances ``names`` (ohm) and its stderr from ``covariance``."""
    rows = [list(cov_names).index(n) for n in names]
    variance = float(np.sum(np.asarray(covariance)[np.ix_(rows, rows)]))
    return float(sum(values[n] for n in names)), math.sqrt(variance) if variance >= 0 else math.nan
