"""Named circuit definitions: the TOML library in ``circuits/`` and user TOML files.

A definition file (see ``circuits/garnet-symmetric.toml``)::

    name = "garnet-symmetric"            # optional in user files (default: file stem)
    description = "..."                  # optional
    circuit = "R0-p(R1,CPE1)-p(R2,CPE2)" # required, impedance.py notation
    [parameters.CPE1_1]                  # optional per-parameter overrides
    bounds = [0.5, 1.0]                  #   (lo, hi); TOML accepts inf
    unit = ""                            #   plain string
    [arcs.R2]                            # optional, one table per arc, keyed by its resistor
    role = "interface"                   #   one of ROLES
    capacitive = "CPE2"                  #   optional check: the arc's CPE or C
    [derived]
    quantities = ["asr", "ceff", "fapex", "sigma"]   # subset of DERIVED

:func:`load_circuit` accepts a library name, a .toml path or a circuit string.
Definitions are re-read on every call (no module-level cache that users could mutate).
"""
from __future__ import annotations

import difflib
import functools
import importlib.resources
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CircuitError
from .circuit import Circuit, circuit_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Roles an arc may play (``[arcs.<R>] role``); "arc" means not assigned.
ROLES: tuple[str, ...] = ("bulk", "grain boundary", "electrolyte", "interface", "electrode",
                          "charge transfer", "surface layer", "arc")
#: Derived quantities a definition may request (computed by eisfit.analysis / fitting).
DERIVED: tuple[str, ...] = ("asr", "ceff", "ceff_brug", "fapex", "tau", "sigma")
#: Default ``derived`` list for definitions that do not give one.
DEFAULT_DERIVED: tuple[str, ...] = ("asr", "ceff", "fapex")

_TOP_KEYS = {"name", "description", "circuit", "parameters", "arcs", "derived"}
_PARAM_KEYS = {"bounds", "unit"}
_ARC_KEYS = {"role", "capacitive"}
_LIBRARY_PACKAGE = "eisfit.circuit_library"


@dataclass(frozen=True)
class CircuitDefinition:
    """A circuit with its name, bounds, units and arc roles.

    ``bounds`` and ``units`` hold every parameter (defaults merged with the file's
    overrides); ``roles`` maps every arc's resistor to its role ("arc" when not
    assigned); ``source`` is "library", "file" or "string"; ``path`` the TOML file.
    """

    name: str
    description: str
    circuit: Circuit
    bounds: dict[str, tuple[float, float]]
    units: dict[str, str]
    roles: dict[str, str]
    derived: list[str]
    source: str
    path: Path | None = field(default=None, compare=False)

    @property
    def string(self) -> str:
        """The normalised circuit string."""
        return self.circuit.string

    @property
    def log_scale(self) -> dict[str, bool]:
        return dict(zip(self.circuit.param_names, self.circuit.log_scale))


# --------------------------------------------------------------------------- builders
def _from_circuit(circuit: Circuit, *, name: str, description: str, source: str,
                  path: Path | None = None) -> CircuitDefinition:
    return CircuitDefinition(
        name=name,
        description=description,
        circuit=circuit,
        bounds=dict(zip(circuit.param_names, circuit.default_bounds)),
        units=dict(zip(circuit.param_names, circuit.param_units)),
        roles={arc.resistor: "arc" for arc in circuit.arcs},
        derived=list(DEFAULT_DERIVED if circuit.arcs or circuit.branch_arcs else ("asr",)),
        source=source,
        path=path,
    )


def _check_keys(where: str, table: Any, allowed: set[str], what: str) -> dict:
    if not isinstance(table, dict):
        raise CircuitError(f"{where}: {what} must be a table, not {type(table).__name__}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise CircuitError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} in {what}; "
                           f"allowed: {', '.join(sorted(allowed))}")
    return table


def _parse_bounds(where: str, pname: str, value: Any, log_scale: bool) -> tuple[float, float]:
    ok = (isinstance(value, list) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))
    if not ok:
        raise CircuitError(f"{where}: [parameters.{pname}] bounds must be two numbers "
                           f"[lo, hi], got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    if math.isnan(lo) or math.isnan(hi):
        raise CircuitError(f"{where}: [parameters.{pname}] bounds contain nan")
    if lo >= hi:
        raise CircuitError(f"{where}: [parameters.{pname}] bounds are reversed or empty: "
                           f"lo={lo:g} must be < hi={hi:g}")
    if log_scale and lo < 0:
        raise CircuitError(f"{where}: [parameters.{pname}] is a positive (log-scale) parameter: "
                           f"its lower bound {lo:g} must be >= 0")
    return lo, hi


def definition_from_dict(data: dict, *, where: str, default_name: str, source: str,
                         path: Path | None = None) -> CircuitDefinition:
    """Validate a parsed TOML table and build the definition (errors name ``where``)."""
    _check_keys(where, data, _TOP_KEYS, "the file")
    if "circuit" not in data:
        raise CircuitError(f"{where}: missing required key 'circuit' "
                           f"(e.g. circuit = \"R0-p(R1,CPE1)\")")
    if not isinstance(data["circuit"], str):
        raise CircuitError(f"{where}: 'circuit' must be a string")
    try:
        circuit = Circuit(data["circuit"])
    except CircuitError as exc:
        raise CircuitError(f"{where}: {exc}") from None
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise CircuitError(f"{where}: {key!r} must be a string")
    defn = _from_circuit(circuit, name=data.get("name", default_name),
                         description=data.get("description", ""), source=source, path=path)

    log = dict(zip(circuit.param_names, circuit.log_scale))
    params = _check_keys(where, data.get("parameters", {}), set(circuit.param_names),
                         "[parameters] (parameter names)")
    for pname, table in params.items():
        _check_keys(where, table, _PARAM_KEYS, f"[parameters.{pname}]")
        if "bounds" in table:
            defn.bounds[pname] = _parse_bounds(where, pname, table["bounds"], log[pname])
        if "unit" in table:
            if not isinstance(table["unit"], str):
                raise CircuitError(f"{where}: [parameters.{pname}] unit must be a string")
            defn.units[pname] = table["unit"]

    arcs = {arc.resistor: arc for arc in circuit.arcs + circuit.branch_arcs}
    arc_tables = data.get("arcs", {})
    if not isinstance(arc_tables, dict):
        raise CircuitError(f"{where}: [arcs] must be a table")
    for res, table in arc_tables.items():
        if res not in arcs:
            listed = ", ".join(arcs) or "none"
            raise CircuitError(f"{where}: [arcs.{res}]: {res!r} is not the resistor of an arc "
                               f"(a p() of one R and one CPE or C, or of a CPE or C and a chain R-...) "
                               f"in {circuit.string!r}; "
                               f"arc resistors: {listed}")
        _check_keys(where, table, _ARC_KEYS, f"[arcs.{res}]")
        role = table.get("role", "arc")
        if role not in ROLES:
            raise CircuitError(f"{where}: [arcs.{res}] role {role!r} is not one of "
                               f"{', '.join(map(repr, ROLES))}")
        cap = table.get("capacitive")
        if cap is not None and cap != arcs[res].capacitive:
            raise CircuitError(f"{where}: [arcs.{res}] capacitive = {cap!r}, but {res} is in "
                               f"parallel with {arcs[res].capacitive!r}")
        defn.roles[res] = role

    derived = data.get("derived")
    if derived is not None:
        _check_keys(where, derived, {"quantities"}, "[derived]")
        q = derived.get("quantities", [])
        if not (isinstance(q, list) and all(isinstance(x, str) for x in q)):
            raise CircuitError(f"{where}: [derived] quantities must be a list of strings")
        bad = [x for x in q if x not in DERIVED]
        if bad:
            raise CircuitError(f"{where}: [derived] unknown quantities {bad}; known: "
                               f"{', '.join(DERIVED)}")
        defn.derived[:] = q
    return defn


def _read_toml(path: Path, text: str, source: str) -> CircuitDefinition:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CircuitError(f"{path}: not valid TOML: {exc}") from None
    return definition_from_dict(data, where=str(path), default_name=Path(path).stem,
                                source=source, path=Path(path))


def load_circuit_file(path: str | Path) -> CircuitDefinition:
    """Read and validate a circuit definition TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CircuitError(f"{path}: circuit file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CircuitError(f"{path}: cannot read circuit file: {exc}") from None
    return _read_toml(path, text, "file")


# --------------------------------------------------------------------------- library
@functools.lru_cache(maxsize=1)
def _library_files() -> dict[str, Any]:
    """The library's TOML files by name (package data: read once per process)."""
    root = importlib.resources.files(_LIBRARY_PACKAGE)
    return {entry.name[:-5]: entry for entry in root.iterdir()
            if entry.name.endswith(".toml") and entry.is_file()}


@functools.lru_cache(maxsize=None)
def _load_library_entry(name: str, entry: Any) -> CircuitDefinition:
    defn = _read_toml(Path(str(entry)), entry.read_text(encoding="utf-8"), "library")
    if defn.name != name:
        raise CircuitError(f"{entry}: name = {defn.name!r} must equal the file name {name!r}")
    return defn


def list_circuits() -> list[CircuitDefinition]:
    """Every definition of the circuit library, sorted by name."""
    return [_load_library_entry(name, entry) for name, entry in sorted(_library_files().items())]


def load_circuit(spec: str | Path | Circuit | CircuitDefinition) -> CircuitDefinition:
    """A circuit definition from a library NAME, a TOML FILE or a circuit STRING.

    Precedence: a library name wins; then a file (a Path, an existing path, or a
    string ending in .toml); otherwise ``spec`` is parsed as a circuit string
    (name = the string, roles "arc", default bounds and units). A Circuit or
    CircuitDefinition is accepted and wrapped / returned unchanged.
    """
    if isinstance(spec, CircuitDefinition):
        return spec
    if isinstance(spec, Circuit):
        return _from_circuit(spec, name=spec.string, description="", source="string")
    if isinstance(spec, Path):
        return load_circuit_file(spec)
    if not isinstance(spec, str):
        raise CircuitError(f"a circuit must be a library name, a .toml file or a circuit "
                           f"string, not {type(spec).__name__}")
    text = spec.strip()
    if not text:
        raise CircuitError("empty circuit specification: give a library name, a .toml file "
                           "or a circuit string")
    library = _library_files()
    if text in library:
        return _load_library_entry(text, library[text])
    if text.lower().endswith(".toml") or _is_existing_file(text):
        return load_circuit_file(text)
    return _definition_of_string(text)


def _is_existing_file(text: str) -> bool:
    """True when ``text`` names an existing file; a string the system cannot take as a
    path (too long, NUL byte) is not one, so it is parsed as a circuit string."""
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


@functools.lru_cache(maxsize=256)
def _definition_of_string(text: str) -> CircuitDefinition:
    """The definition of a circuit string, made once per process (definitions are immutable)."""
    library = _library_files()
    try:
        circuit = circuit_of(text)
    except CircuitError as exc:
        if "(" not in text and "," not in text:  # probably meant as a library name
            close = difflib.get_close_matches(text, list(library), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CircuitError(
                f"{text!r} is neither a library circuit{hint} (library: "
                f"{', '.join(sorted(library))}), nor a file, nor a valid circuit string: "
                f"{exc}") from None
        raise
    return _from_circuit(circuit, name=circuit.string, description="", source="string")
