"""The DRT implied by a fitted circuit: a closed form per R||CPE (ZARC) arc.

Beside the DRT of the data (:func:`eisfit.drt`) it shows at a glance whether the
fit misses a process or invents one.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .derived import arc_tau_s
from .drt import tau_grid, zarc_drt


def circuit_drt(result: Any, tau_s: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(tau_s, gamma_ohm) of the arcs of a :class:`~eisfit.FitResult`.

    ``gamma`` is in ohm per unit ln tau. For each R||CPE arc tau0 = (R Q)^(1/n) and
    the Fuoss-Kirkwood ZARC distribution of area R; an R||C arc is a delta of area
    R at tau = R C (spread over the two nearest grid points). Other elements
    (series R, L, Warburg...) contribute nothing: :func:`elements_not_shown` names the
    ones that hold a polarisation this distribution leaves out. ``tau_s`` defaults to the
    grid of :func:`eisfit.drt` for the fitted frequency range.
    """
    from ..model import circuit_of

    tau = tau_grid(result.frequency) if tau_s is None else np.sort(np.asarray(tau_s, dtype=float))
    gamma = np.zeros_like(tau)
    for arc in circuit_of(result.circuit).arcs:
        tau0 = arc_tau_s(result.values, arc)
        if not np.isfinite(tau0) or tau0 <= 0:
            continue
        n = result.values[f"{arc.capacitive}_1"] if arc.kind == "CPE" else 1.0
        gamma += zarc_drt(tau, result.values[arc.resistor], tau0, n)
    return tau, gamma


def elements_not_shown(result: Any) -> list[str]:
    """Names of the elements of a fitted circuit that :func:`circuit_drt` cannot express:
    every element that is neither part of a plain R||C or R||CPE arc nor a series R or L
    (a Warburg, a finite-length diffusion, a nested or Randles branch, a series CPE...).
    Their impedance is in the fit but not in its DRT, so an overlay must say so (a Randles
    fit's DRT is otherwise a flat zero line)."""
    from ..model import circuit_of

    circuit = circuit_of(result.circuit)
    shown = {name for arc in circuit.arcs for name in (arc.resistor, arc.capacitive)}
    shown.update(circuit.linear_series)
    return [e.name for e in circuit.elements if e.name not in shown]
