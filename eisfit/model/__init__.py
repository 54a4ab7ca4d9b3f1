"""Equivalent-circuit models: circuit strings, elements, fast evaluation, circuit library.

    from eisfit.model import Circuit, load_circuit, list_circuits, CircuitDefinition, ELEMENTS
    c = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
    z = c.impedance(params, f_Hz)                  # (N,) or (K, N) for params (K, M)
    z, jac = c.impedance_and_jacobian(params, f_Hz)
    d = load_circuit("garnet-symmetric")           # library name, .toml file or string

Notation, element formulas and parameter names follow impedance.py 1.7.1.
"""
from __future__ import annotations

from .circuit import Arc, Circuit, ElementInstance, circuit_of, finite_at_dc
from .elements import ELEMENTS, ElementDef, ParamDef
from .library import (
    DERIVED,
    ROLES,
    CircuitDefinition,
    list_circuits,
    load_circuit,
    load_circuit_file,
)

__all__ = [
    "Circuit", "circuit_of", "finite_at_dc", "ElementInstance", "Arc", "ELEMENTS", "ElementDef", "ParamDef",
    "CircuitDefinition", "load_circuit", "load_circuit_file", "list_circuits", "ROLES", "DERIVED",
]
