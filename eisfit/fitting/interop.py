"""Interoperability with impedance.py (``impedance.models.circuits.CustomCircuit``).

eisfit's circuit strings, element names and parameter order are impedance.py's
(``R0-p(R1,CPE1)``; ``CPE1_0`` = Q, ``CPE1_1`` = n; see :mod:`eisfit.model.elements`),
so a fit converts without renaming. impedance.py is imported only inside the
functions that need it; ``import eisfit`` never imports it.

* :func:`to_custom_circuit` (``FitResult.to_impedance_py()``): a CustomCircuit holding
  the fitted values;
* :func:`from_custom_circuit`: circuit string, initial guess and constants of a
  CustomCircuit (``eisfit.fit(s, circuit=CustomCircuit(...))`` uses it);
* :func:`save_impedance_json` / :func:`load_impedance_json`: the JSON format of
  ``CustomCircuit.save(path)`` / ``CustomCircuit.load(path)``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..errors import CircuitError, ReadError

__all__ = ["to_custom_circuit", "from_custom_circuit", "is_custom_circuit",
           "save_impedance_json", "load_impedance_json", "impedance_json_dict"]


def is_custom_circuit(obj: Any) -> bool:
    """True for an impedance.py circuit object (a ``BaseCircuit`` with a circuit string),
    checked without importing impedance.py."""
    module = type(obj).__module__ or ""
    return module.startswith("impedance.") and isinstance(getattr(obj, "circuit", None), str)


def _free_and_fixed(res) -> tuple[list[str], dict[str, float]]:
    """Free parameter names in impedance.py's order, and the fixed ones (its ``constants``)."""
    fixed = {n: float(res.values[n]) for n in res.param_names if n in res.fixed}
    free = [n for n in res.param_names if n not in fixed]
    return free, fixed


def impedance_json_dict(res) -> dict[str, Any]:
    """The dict ``CustomCircuit.save`` writes for a fitted model: Name, Circuit String,
    Initial Guess, Constants, Fit, Parameters, Confidence (1 stderr; NaN where not estimable,
    as impedance.py writes it)."""
    free, fixed = _free_and_fixed(res)
    values = [float(res.values[n]) for n in free]
    return {
        "Name": res.circuit_name if res.circuit_name != res.circuit else None,
        "Circuit String": res.circuit,
        "Initial Guess": values,
        "Constants": fixed,
        "Fit": True,
        "Parameters": values,
        "Confidence": [float(res.stderr.get(n, math.nan)) for n in free],
    }


def to_custom_circuit(res):
    """An ``impedance.models.circuits.CustomCircuit`` of ``res.circuit`` holding the fitted
    values: ``parameters_`` (free parameters, impedance.py's order), ``conf_`` (1 stderr),
    ``constants`` (eisfit's fixed parameters), ``initial_guess`` = the fitted values.
    ``predict(f)`` then equals ``res.model_impedance(f)`` (ohm)."""
    import numpy as np
    from impedance.models.circuits import CustomCircuit

    d = impedance_json_dict(res)
    model = CustomCircuit(circuit=d["Circuit String"], initial_guess=list(d["Initial Guess"]),
                          constants=dict(d["Constants"]) or None, name=d["Name"])
    names, _ = model.get_param_names()
    free, _ = _free_and_fixed(res)
    if names != free:  # same notation on both sides: a mismatch is a bug, say it plainly
        raise CircuitError(f"impedance.py orders the parameters of {res.circuit} as {names}, "
                           f"eisfit as {free}")
    model.parameters_ = np.array(d["Parameters"], dtype=float)
    model.conf_ = np.array(d["Confidence"], dtype=float)
    return model


def from_custom_circuit(model) -> tuple[str, dict[str, float], dict[str, float]]:
    """(circuit string, initial values by name, fixed values by name) of an impedance.py
    circuit: its ``circuit`` string, ``initial_guess`` (in impedance.py's order, without
    the constants) and ``constants``."""
    circuit = str(model.circuit)
    constants = {str(k): float(v) for k, v in (getattr(model, "constants", None) or {}).items()}
    names = _free_names(circuit, constants)
    guess = [float(v) for v in (getattr(model, "initial_guess", None) or [])]
    if guess and len(guess) != len(names):
        raise CircuitError(f"the impedance.py circuit {circuit} has {len(guess)} initial values "
                           f"for {len(names)} free parameters ({', '.join(names)})")
    return circuit, dict(zip(names, guess)), constants


def _free_names(circuit: str, constants: dict[str, float]) -> list[str]:
    from ..model import Circuit

    names = Circuit(circuit).param_names
    unknown = [k for k in constants if k not in names]
    if unknown:
        raise CircuitError(f"constants {', '.join(unknown)} are not parameters of {circuit} "
                           f"({', '.join(names)})")
    return [n for n in names if n not in constants]


def save_impedance_json(res, path: str | Path) -> Path:
    """Write ``res`` as impedance.py's saved-model JSON (``CustomCircuit().load(path)``
    reads it back with the fitted values). Returns the path."""
    path = Path(path)
    path.write_text(json.dumps(impedance_json_dict(res)), encoding="utf-8")
    return path


_REQUIRED_KEYS = ("Circuit String", "Initial Guess", "Constants", "Fit")


def load_impedance_json(path: str | Path) -> tuple[str, dict[str, float]]:
    """Read an impedance.py saved model (``CustomCircuit.save``): returns (circuit string,
    values by parameter name, ohm / S*s^n / ... as in :mod:`eisfit.model.elements`).

    The values are the fitted ``Parameters`` when the model was fitted, else the
    ``Initial Guess``; ``Constants`` are included. Any problem is one
    :class:`~eisfit.errors.ReadError` naming the file.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReadError(path, f"cannot read: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReadError(path, f"not a JSON file: {exc}") from None
    if not isinstance(data, dict) or any(k not in data for k in _REQUIRED_KEYS):
        missing = [k for k in _REQUIRED_KEYS if not isinstance(data, dict) or k not in data]
        raise ReadError(path, f"not an impedance.py saved model (missing {', '.join(map(repr, missing))})")
    circuit = str(data["Circuit String"])
    constants = data["Constants"] or {}
    values = data["Parameters"] if data["Fit"] and "Parameters" in data else data["Initial Guess"]
    try:
        constants = {str(k): float(v) for k, v in dict(constants).items()}
        names = _free_names(circuit, constants)
        values = [float(v) for v in values]
    except CircuitError as exc:
        raise ReadError(path, f"{exc}") from None
    except (TypeError, ValueError) as exc:
        raise ReadError(path, f"parameter values must be numbers: {exc}") from None
    if len(values) != len(names):
        raise ReadError(path, f"{circuit} has {len(names)} free parameters "
                        f"({', '.join(names)}) but the file holds {len(values)} values")
    out = dict(zip(names, values))
    out.update(constants)
    from ..model import Circuit

    return circuit, {n: out[n] for n in Circuit(circuit).param_names}
