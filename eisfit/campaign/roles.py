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
from .spool import Spool, loaded

__all__ = ["with_campaign_roles", "GUESSED_ROLES"]

GUESSED_ROLES = ("interface", "electrolyte")  # the roles a guess gives (a Randles arc's is fixed)
ROLE_BATCH = 64  # a spooled campaign's results relabelled together (with_roles batches them)


def with_campaign_roles(circuits: Sequence[Any], results: Sequence[Any], spool: Spool | None = None,
                        views: Sequence[Any] | None = None) -> list[Any]:
    """``results`` (FitResult or None, one per checkpoint, or where a result lies in
    ``spool``: :class:`~eisfit.campaign.spool.Spooled`; ``circuits``: the circuit each was
    fitted with, as given) with one role per guessed arc and circuit across them. Each result
    is read once, and again only where its roles change; with a spool, those go into it, at
    most ``ROLE_BATCH`` of them in memory at a time (a large campaign's results are read one
    at a time: what they leave behind does not pin their memory). ``views``: what the first
    pass reads of each result in its place (a :class:`~eisfit.campaign.spool.ResultView`, or
    None where the result itself is read): a spooled result is then read only where its
    roles change."""
    out = list(results)
    groups: dict[tuple[str, str], list[int]] = {}
    guessed: dict[int, dict[str, tuple[str, float | None]]] = {}  # what each result says of its guessed arcs
    definitions: dict[tuple[str, str], Any] = {}
    for k, held in enumerate(results):
        result = views[k] if views is not None and views[k] is not None else loaded(held)
        if result is None:
            continue
        key = (result.circuit, result.circuit_name)
        if key not in definitions:
            definitions[key] = load_circuit(circuits[k] or result.circuit)
        if roles_guessed(definitions[key]):
            groups.setdefault(key, []).append(k)
            guessed[k] = _guessed_arcs(definitions[key], result)
    for key, members in groups.items():
        definition = definitions[key]
        roles = _median_roles(definition, [guessed[k] for k in members])
        changing = [k for k in members if any(guessed[k][arc][0] != role for arc, role in roles.items())]
        size = ROLE_BATCH if spool is not None else max(len(changing), 1)
        for start in range(0, len(changing), size):
            batch = changing[start:start + size]
            for k, result in zip(batch, with_roles([loaded(results[k]) for k in batch], definition, roles)):
                out[k] = result if spool is None else spool.store(result)
    return out


def _guessed_arcs(definition, result: Any) -> dict[str, tuple[str, float | None]]:
    """arc resistor -> (the role ``result`` guessed for it, its C_eff per area where the fit
    determines it, else None), for the arcs whose role ``result`` guessed; an arc of another
    role is absent."""
    derived = result.derived  # a view makes the dict when asked: once per result, not per arc
    return {arc.resistor: (result.roles[arc.resistor], _capacitance_per_area(result, arc, derived))
            for arc in circuit_arcs(definition.circuit, branches=True)
            if result.roles.get(arc.resistor) in GUESSED_ROLES}


def _median_roles(definition, guessed: Sequence[dict[str, tuple[str, float | None]]]) -> dict[str, str]:
    """The role of each guessed arc from the median of log C_eff/A (F/cm2; F without an
    area) over the results that determine its capacitance (``guessed``: per result,
    :func:`_guessed_arcs`; an arc some result does not guess keeps its roles)."""
    roles = {}
    for arc in circuit_arcs(definition.circuit, branches=True):
        if not all(arc.resistor in g for g in guessed):
            continue
        logs = [math.log10(c) for g in guessed if (c := g[arc.resistor][1]) is not None]
        if logs:
            roles[arc.resistor] = role_of_capacitance(10.0 ** float(np.median(logs)))
    return roles


def _capacitance_per_area(result: Any, arc: Any, derived: Any) -> float | None:
    """The arc's Hsu-Mansfeld C_eff per area (F/cm2; F without an area), where the fit
    determines it (not unresolved, its stderr known and below the value); ``derived``: the
    result's derived quantities."""
    key = f"{arc.capacitive}_ceff_F"
    c = derived.get(key, math.nan)
    if key in unresolved_keys(result.flags, [key]) or not (math.isfinite(c) and c > 0):
        return None
    if undetermined(c, derived.get(f"{key}_stderr")):
        return None
    area = result.settings.get("area_cm2")
    return c / area if area else c
