"""One labelling of the arcs for a whole campaign.

A fit of a circuit string guesses each arc's role from its effective capacitance
(:func:`eisfit.analysis.derived.guess_roles`: an ``interface`` from 1e-7 F/cm2 on, else the
``electrolyte``). Fitted checkpoint by checkpoint, an arc whose capacitance lies near that
threshold changed role between checkpoints (a real VersaStudio campaign: C_eff/A 5.6e-8 and
1.0e-7 F/cm2 in consecutive sweeps), and with it the columns of the table (per-interface
ASR in one row, conductivity in the next) and the name in the evolution lines. The
campaign gives each such arc one role, from its median capacitance over the checkpoints
that determine it, and computes the derived quantities of the checkpoints whose own guess
differed again for that role (:func:`eisfit.fitting.assemble.with_roles`).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..analysis.derived import circuit_arcs, role_of_capacitance
from ..analysis.quality import undetermined
from ..fitting.assemble import roles_guessed, with_roles
from ..fitting.flags import unresolved_keys
from ..model import load_circuit

__all__ = ["with_campaign_roles", "GUESSED_ROLES"]

GUESSED_ROLES = ("interface", "electrolyte")  # the roles a guess gives (a Randles arc's is fixed)


def with_campaign_roles(circuits: Sequence[Any], results: Sequence[Any]) -> list[Any]:
    """``results`` (FitResult or None, one per checkpoint; ``circuits``: the circuit each
    was fitted with, as given) with one role per guessed arc and circuit across them."""
    out = list(results)
    groups: dict[tuple[str, str], list[int]] = {}
    for k, result in enumerate(results):
        if result is not None:
            groups.setdefault((result.circuit, result.circuit_name), []).append(k)
    for members in groups.values():
        definition = load_circuit(circuits[members[0]] or results[members[0]].circuit)
        if not roles_guessed(definition):
            continue
        roles = _median_roles(definition, [results[k] for k in members])
        for k, result in zip(members, with_roles([results[k] for k in members], definition, roles)):
            out[k] = result
    return out


def _median_roles(definition, results: Sequence[Any]) -> dict[str, str]:
    """The role of each guessed arc from the median of log C_eff/A (F/cm2; F without an
    area) over the results that determine its capacitance."""
    roles = {}
    for arc in circuit_arcs(definition.circuit, branches=True):
        if not all(r.roles.get(arc.resistor) in GUESSED_ROLES for r in results):
            continue
        logs = [math.log10(c) for r in results if (c := _capacitance_per_area(r, arc)) is not None]
        if logs:
            roles[arc.resistor] = role_of_capacitance(10.0 ** float(np.median(logs)))
    return roles


def _capacitance_per_area(result: Any, arc: Any) -> float | None:
    """The arc's Hsu-Mansfeld C_eff per area (F/cm2; F without an area), where the fit
    determines it (not unresolved, its stderr known and below the value)."""
    key = f"{arc.capacitive}_ceff_F"
    c = result.derived.get(key, math.nan)
    if key in unresolved_keys(result.flags, [key]) or not (math.isfinite(c) and c > 0):
        return None
    if undetermined(c, result.derived.get(f"{key}_stderr")):
        return None
    area = result.settings.get("area_cm2")
    return c / area if area else c
