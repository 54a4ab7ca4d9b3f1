"""Circuit library: shipped TOMLs, load_circuit precedence, TOML validation."""
from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

from eisfit import CircuitError
import eisfit
from eisfit.model import DERIVED, ROLES, Circuit, CircuitDefinition, list_circuits, load_circuit

INF = float("inf")


def test_library_ships_the_required_circuits():
    defs = {d.name: d for d in list_circuits()}
    expected = {
        "garnet-symmetric": "R0-p(R1,CPE1)-p(R2,CPE2)",
        "garnet-symmetric-L": "L0-R0-p(R1,CPE1)-p(R2,CPE2)",
        "garnet-three-arc": "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)",
        "blocking-pellet": "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3",
        "randles": "R0-p(CPE1,R1-W1)",
    }
    for name, string in expected.items():
        assert defs[name].string == string
        assert defs[name].source == "library"
    assert defs["garnet-three-arc"].roles == {"R1": "bulk", "R2": "grain boundary",
                                              "R3": "interface"}


def test_every_library_entry_is_complete_and_valid():
    root = importlib.resources.files("eisfit.circuit_library")
    files = sorted(e.name for e in root.iterdir() if e.name.endswith(".toml"))
    defs = list_circuits()
    assert sorted(d.name + ".toml" for d in defs) == files
    for d in defs:
        assert isinstance(d, CircuitDefinition) and d.description
        assert set(d.bounds) == set(d.units) == set(d.circuit.param_names)
        assert set(d.roles) == {a.resistor for a in d.circuit.arcs + d.circuit.branch_arcs}
        assert all(r in ROLES for r in d.roles.values())
        assert all(q in DERIVED for q in d.derived)
        for lo, hi in d.bounds.values():
            assert lo < hi


def test_garnet_symmetric_definition():
    d = load_circuit("garnet-symmetric")
    assert d.name == "garnet-symmetric" and d.source == "library"
    assert d.circuit == Circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
    assert d.bounds["CPE1_1"] == (0.5, 1.0) and d.bounds["R0"] == (0.0, INF)
    assert d.units["CPE2_0"] == "S*s^n"
    assert d.roles == {"R1": "electrolyte", "R2": "interface"}
    assert d.derived == ["asr", "ceff", "fapex", "sigma"]
    assert d.log_scale["CPE1_1"] is False
    assert eisfit.load_circuit is load_circuit and eisfit.Circuit is Circuit
    assert eisfit.list_circuits()[0].source == "library"


def test_load_circuit_string():
    d = load_circuit("R0-p(R1,C1)")
    assert d.source == "string" and d.name == "R0-p(R1,C1)" and d.roles == {"R1": "arc"}
    assert d.bounds == {"R0": (0.0, INF), "R1": (0.0, INF), "C1": (0.0, INF)}
    assert load_circuit(Circuit("R0-p(R1,C1)")).circuit == d.circuit
    assert load_circuit(d) is d
    with pytest.raises(CircuitError, match="did you mean 'garnet-symmetric'"):
        load_circuit("garnet-symetric")
    with pytest.raises(CircuitError, match="unbalanced"):
        load_circuit("R0-p(R1,C1")


def write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_load_circuit_file_and_precedence(tmp_path, monkeypatch):
    path = write(tmp_path, 'circuit = "R0-p(R1,CPE1)"\n[parameters.R0]\nbounds = [1.0, inf]\n'
                           '[arcs.R1]\nrole = "interface"\n')
    d = load_circuit(path)
    assert d.source == "file" and d.name == "mine" and d.path == path
    assert d.bounds["R0"] == (1.0, INF) and d.roles == {"R1": "interface"}
    assert load_circuit(str(path)).bounds == d.bounds
    # a library name wins over a same-named file in the working directory
    monkeypatch.chdir(tmp_path)
    write(tmp_path, 'circuit = "R9"', name="garnet-symmetric")
    assert load_circuit("garnet-symmetric").source == "library"
    # an existing file wins over a circuit string; a missing *.toml is an error, not a string
    write(tmp_path, 'circuit = "R5"', name="R1")
    assert load_circuit("R1").string == "R5"
    with pytest.raises(CircuitError, match="not found"):
        load_circuit("missing.toml")


@pytest.mark.parametrize("text, message", [
    ('circuit = "R0-p(R1,CPE1"', "unbalanced"),
    ('description = "x"', "missing required key 'circuit'"),
    ('circuit = "R0"\ncircuits = 1', "unknown key(s) 'circuits'"),
    ('circuit = "R0"\n[parameters.R9]\nbounds = [0, 1]', "unknown key(s) 'R9' in [parameters]"),
    ('circuit = "R0"\n[parameters.R0]\nbounds = [2.0, 1.0]', "reversed"),
    ('circuit = "R0"\n[parameters.R0]\nbounds = [1.0]', "two numbers"),
    ('circuit = "R0"\n[parameters.R0]\nbounds = [-1.0, 1.0]', "must be >= 0"),
    ('circuit = "R0"\n[parameters.R0]\nbound = [0.0, 1.0]', "unknown key(s) 'bound'"),
    ('circuit = "R0-p(R1,C1)"\n[arcs.R0]\nrole = "bulk"', "not the resistor of an arc"),
    ('circuit = "R0-p(R1,C1)"\n[arcs.R1]\nrole = "bluk"', "role 'bluk' is not one of"),
    ('circuit = "R0-p(R1,C1)"\n[arcs.R1]\ncapacitive = "CPE1"', "in parallel with 'C1'"),
    ('circuit = "R0"\n[derived]\nquantities = ["asr", "foo"]', "unknown quantities ['foo']"),
    ('circuit = "R0"\ncircuit = "R1"', "not valid TOML"),
])
def test_toml_validation_errors_name_the_file(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(CircuitError) as info:
        load_circuit(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_cli_circuits_lists_and_shows():
    from click.testing import CliRunner

    from eisfit.cli import main

    runner = CliRunner()
    out = runner.invoke(main, ["circuits"])
    assert out.exit_code == 0
    assert "garnet-symmetric" in out.output and "R0-p(R1,CPE1)-p(R2,CPE2)" in out.output
    assert "R2=interface" in out.output
    out = runner.invoke(main, ["circuits", "garnet-symmetric"])
    assert out.exit_code == 0
    assert "CPE1_1" in out.output and "S*s^n" in out.output and "0.5" in out.output
    out = runner.invoke(main, ["circuits", "R0-p(R1"])
    assert out.exit_code == 2 and "unbalanced" in out.output
