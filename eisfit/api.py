"""Public entry points that combine layers: :func:`fit` with ``circuit="auto"``.

``eisfit.fit`` is :func:`eisfit.fitting.fit` for a given circuit; for ``circuit="auto"`` it
first asks :func:`eisfit.suggest_circuit` which circuit the data support (a layer above
fitting), so the dispatch lives here and the fitting engine does not import the selection.
"""
from __future__ import annotations

import functools
from typing import Any

from .fitting import fit as fit_circuit

__all__ = ["fit"]


@functools.wraps(fit_circuit)
def fit(spectrum: Any, circuit: Any = "garnet-symmetric", **options: Any):
    if isinstance(circuit, str) and circuit == "auto":  # issue 16: eisfit.selection.fit_auto
        from .selection import fit_auto

        return fit_auto(spectrum, **options)
    return fit_circuit(spectrum, circuit, **options)
