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
    (series R, L, Warburg...) contribute nothing. ``tau_s`` defaults to the grid
    of :func:`eisfit.drt` for the fitted frequency range.
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
