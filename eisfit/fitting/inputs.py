"""What :func:`eisfit.fit` accepts besides a Spectrum and a circuit string.

* ``spectrum`` as a ``(frequency_Hz, z_ohm)`` tuple of arrays (Z'' < 0 capacitive);
* ``circuit`` as an impedance.py ``CustomCircuit``: its circuit string, its initial
  guess (as ``initial``, overridden by an explicit ``initial=``) and its constants (as
  ``fixed``, overridden by an explicit ``fixed=``).
"""
from __future__ import annotations

from typing import Any, Mapping

from ..spectrum import as_spectrum
from .interop import from_custom_circuit, is_custom_circuit
from .expressions import check_mapping

__all__ = ["fit_inputs"]


def _spectrum_of(data: Any) -> Any:
    """A Spectrum from a ``(frequency_Hz, z_ohm)`` tuple; anything else unchanged."""
    return as_spectrum(data, "fit()") if isinstance(data, tuple) else data


def fit_inputs(spectrum: Any, circuit: Any, initial: Any, fixed: Mapping[str, float] | None):
    """(spectrum, circuit, initial, fixed) with tuples and impedance.py circuits converted."""
    spectrum = _spectrum_of(spectrum)
    if is_custom_circuit(circuit):
        check_mapping(fixed, "fixed")
        circuit, guess, constants = from_custom_circuit(circuit)
        if guess and not hasattr(initial, "param_names"):  # a previous FitResult wins whole
            check_mapping(initial, "initial")
            # the circuit's guess starts what the caller neither fixes nor starts
            guess = {k: v for k, v in guess.items() if k not in (fixed or {})}
            initial = {**guess, **dict(initial or {})}
        if constants:
            fixed = {**constants, **dict(fixed or {})}
    return spectrum, circuit, initial, fixed
