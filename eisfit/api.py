"""Public entry points that combine layers: :func:`fit` with ``circuit="auto"``.

``eisfit.fit`` is :func:`eisfit.fitting.fit` for a given circuit; for ``circuit="auto"`` it
first asks :func:`eisfit.suggest_circuit` which circuit the data support (a layer above
fitting), so the dispatch lives here and the fitting engine does not import the selection.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any

from .fitting import fit as fit_circuit
from .settings import did_you_mean

__all__ = ["fit"]


_OPTIONS = tuple(name for name in inspect.signature(fit_circuit).parameters if name not in ("spectrum", "circuit"))


@functools.wraps(fit_circuit)
def fit(spectrum: Any, circuit: Any = "garnet-symmetric", **options: Any):
    for name in options:
        if name not in _OPTIONS:  # Python's own message names no alternative (aera_cm2)
            raise TypeError(f"fit() got an unexpected keyword argument {name!r}{did_you_mean(name, _OPTIONS)}")
    if isinstance(circuit, str) and circuit == "auto":  # issue 16: eisfit.selection.fit_auto
        from .selection import fit_auto

        return fit_auto(spectrum, **options)
    return fit_circuit(spectrum, circuit, **options)
