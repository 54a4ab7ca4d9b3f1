"""impedance.py interoperability: CustomCircuit both ways, saved-model JSON both ways,
checked against impedance.py's own model evaluation and file reader."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import eisfit
from eisfit import ReadError, Spectrum
from eisfit.fitting.interop import load_impedance_json, save_impedance_json
from eisfit.model import Circuit

from impedance.models.circuits import CustomCircuit  # a runtime dependency of eisfit: never skipped

REPO = Path(__file__).resolve().parent.parent
HEADLINE = "R0-p(R1,CPE1)-p(R2,CPE2)"
TRUE = {"R0": 40.0, "R1": 60.0, "CPE1_0": 1e-9, "CPE1_1": 0.9, "R2": 149.0, "CPE2_0": 2e-6, "CPE2_1": 0.85}
WARBURG = "R0-p(R1-Wo1,CPE1)-W2"
TRUE_W = {"R0": 20.0, "R1": 80.0, "Wo1_0": 50.0, "Wo1_1": 2.0, "CPE1_0": 5e-6, "CPE1_1": 0.8, "W2": 15.0}
F = np.logspace(7, -2, 70)
F_CHECK = np.logspace(7, -3, 97)


def _spectrum(values, circuit, noise=0.003, seed=3):
    c = Circuit(circuit)
    z = c.impedance(np.array([values[n] for n in c.param_names]), F)
    rng = np.random.default_rng(seed)
    z = z + noise * np.abs(z) * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size)) / np.sqrt(2)
    return Spectrum(F, z, meta={"label": circuit})


@pytest.fixture(scope="module")
def headline_fit():
    return eisfit.fit(_spectrum(TRUE, HEADLINE), HEADLINE, area_cm2=0.785)


@pytest.fixture(scope="module")
def warburg_fit():
    return eisfit.fit(_spectrum(TRUE_W, WARBURG), WARBURG, initial=TRUE_W, starts=1)


def _max_rel(a, b) -> float:
    return float(np.max(np.abs(a - b) / np.abs(b)))


@pytest.mark.parametrize("fixture", ["headline_fit", "warburg_fit"])
def test_to_impedance_py_predicts_eisfit_model(fixture, request):
    res = request.getfixturevalue(fixture)
    model = res.to_impedance_py()
    assert isinstance(model, CustomCircuit)
    assert model.circuit == res.circuit
    names, _ = model.get_param_names()
    assert names == res.param_names
    assert list(model.parameters_) == [res.values[n] for n in names]
    assert list(model.conf_) == [res.stderr[n] for n in names]
    assert _max_rel(model.predict(F_CHECK), res.model_impedance(F_CHECK)) < 1e-10


def test_to_impedance_py_puts_fixed_parameters_in_constants():
    res = eisfit.fit(_spectrum(TRUE, HEADLINE), HEADLINE, fixed={"CPE1_1": 0.9})
    model = res.to_impedance_py()
    assert model.constants == {"CPE1_1": 0.9}
    assert "CPE1_1" not in model.get_param_names()[0]
    assert _max_rel(model.predict(F_CHECK), res.model_impedance(F_CHECK)) < 1e-10


def test_fit_with_a_custom_circuit_uses_its_circuit_and_initial_guess():
    s = _spectrum(TRUE, HEADLINE)
    guess = [42.0, 58.0, 1.1e-9, 0.9, 140.0, 2.1e-6, 0.85]
    model = CustomCircuit(HEADLINE, initial_guess=guess)
    via_model = eisfit.fit(s, circuit=model, starts=1)
    via_string = eisfit.fit(s, circuit=HEADLINE, initial=dict(zip(TRUE, guess)), starts=1)
    assert via_model.circuit == HEADLINE
    assert via_model.values == via_string.values
    assert "not-converged" not in via_model.flags
    assert via_model.values != eisfit.fit(s, circuit=HEADLINE, starts=1).values  # the guess was used
    # an explicit initial= wins over the model's guess, name by name
    mixed = eisfit.fit(s, circuit=model, starts=1, initial={"R2": 149.0})
    expected = eisfit.fit(s, circuit=HEADLINE, starts=1, initial={**dict(zip(TRUE, guess)), "R2": 149.0})
    assert mixed.values == expected.values


def test_fit_with_custom_circuit_constants_holds_them_fixed():
    s = _spectrum(TRUE, HEADLINE)
    model = CustomCircuit(HEADLINE, initial_guess=[45.0, 50.0, 2e-9, 0.88, 120.0, 3e-6],
                          constants={"CPE2_1": 0.85})
    res = eisfit.fit(s, circuit=model)
    assert res.values["CPE2_1"] == 0.85 and "CPE2_1" in res.fixed
    assert abs(res.values["R2"] - 149.0) < 3 * res.stderr["R2"]


def test_custom_circuit_with_wrong_guess_length_is_one_eisfit_error():
    model = CustomCircuit("R0-p(R1,C1)", initial_guess=[10.0, 100.0, 1e-6])
    model.initial_guess = [10.0, 100.0]  # edited after construction
    with pytest.raises(eisfit.CircuitError, match="2 initial values for 3 free parameters"):
        eisfit.fit(_spectrum(TRUE, HEADLINE), circuit=model)


# ---- saved-model JSON ---------------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["headline_fit", "warburg_fit"])
def test_json_written_by_eisfit_is_loaded_by_impedance_py(fixture, request, tmp_path):
    res = request.getfixturevalue(fixture)
    path = save_impedance_json(res, tmp_path / "model.json")
    model = CustomCircuit()
    model.load(str(path))
    assert model.circuit == res.circuit
    assert list(model.parameters_) == [res.values[n] for n in res.param_names]
    assert _max_rel(model.predict(F_CHECK), res.model_impedance(F_CHECK)) < 1e-10


def test_json_written_by_impedance_py_is_read_by_eisfit(tmp_path):
    s = _spectrum(TRUE, HEADLINE)
    model = CustomCircuit(HEADLINE, initial_guess=[45.0, 55.0, 1.2e-9, 0.9, 140.0, 2.2e-6, 0.85])
    model.fit(s.frequency, s.z)
    model.save(str(tmp_path / "fitted.json"))
    circuit, values = load_impedance_json(tmp_path / "fitted.json")
    assert circuit == HEADLINE
    assert list(values) == Circuit(HEADLINE).param_names
    assert [values[n] for n in values] == list(model.parameters_)
    z_eisfit = Circuit(circuit).impedance(np.array(list(values.values())), F_CHECK)
    assert _max_rel(z_eisfit, model.predict(F_CHECK)) < 1e-10
    # an unfitted model with constants: the initial guess plus the constants, in circuit order
    unfitted = CustomCircuit("R0-p(R1,CPE1)", initial_guess=[10.0, 1e-6, 0.9], constants={"R1": 100.0})
    unfitted.save(str(tmp_path / "guess.json"))
    assert load_impedance_json(tmp_path / "guess.json") == (
        "R0-p(R1,CPE1)", {"R0": 10.0, "R1": 100.0, "CPE1_0": 1e-6, "CPE1_1": 0.9})


def test_json_round_trip_through_eisfit(headline_fit, tmp_path):
    path = save_impedance_json(headline_fit, tmp_path / "m.json")
    circuit, values = load_impedance_json(path)
    assert circuit == headline_fit.circuit and values == headline_fit.values
    data = json.loads(path.read_text())
    assert set(data) == {"Name", "Circuit String", "Initial Guess", "Constants", "Fit", "Parameters", "Confidence"}


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a JSON file"),
    ('{"Circuit String": "R0"}', "not an impedance.py saved model"),
    ('{"Name": null, "Circuit String": "R0-p(R1,C1)", "Initial Guess": [1, 2], "Constants": {}, "Fit": false}',
     "3 free parameters"),
    ('{"Name": null, "Circuit String": "R0-p(R1,C1", "Initial Guess": [1, 2, 3], "Constants": {}, "Fit": false}',
     "m.json"),
    ('{"Name": null, "Circuit String": "R0", "Initial Guess": ["a"], "Constants": {}, "Fit": false}',
     "must be numbers"),
])
def test_bad_json_is_one_read_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(ReadError, match=message) as info:
        load_impedance_json(path)
    assert "m.json" in str(info.value)


def test_missing_json_file_is_a_read_error(tmp_path):
    with pytest.raises(ReadError, match="cannot read"):
        load_impedance_json(tmp_path / "absent.json")


# ---- lazy import -----------------------------------------------------------------------------

def test_importing_and_fitting_with_eisfit_does_not_import_impedance():
    code = ("import sys, numpy as np, eisfit; "
            "f = np.logspace(5, 0, 30); z = 10 + 100 / (1 + 1j * f / 1e3); "
            "eisfit.fit((f, z), 'R0-p(R1,C1)'); print('impedance' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
