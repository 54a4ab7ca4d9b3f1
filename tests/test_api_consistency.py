"""One rule per option across the notebook API (the audit of fit, fit_campaign, kk_test,
drt, suggest_circuit, Spectrum and the results' dicts): an option means the same wherever
it is given, and a bad value is one clear eisfit error, raised before any work."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import eisfit
from eisfit import DataError, DataWarning, FitError, Spectrum
from eisfit.model import Circuit

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
VALUES = {"R0": 50.0, "R1": 200.0, "CPE1_0": 1e-9, "CPE1_1": 0.9, "R2": 500.0, "CPE2_0": 1e-6, "CPE2_1": 0.85}
F = np.logspace(6, -1, 36)


def _z(noise: float = 0.003, seed: int = 0, series_c_F: float | None = None) -> np.ndarray:
    c = Circuit(CIRCUIT)
    z = c.impedance(np.array([VALUES[n] for n in c.param_names]), F)
    if series_c_F is not None:  # a blocking tail
        z = z + 1 / (1j * 2 * np.pi * F * series_c_F)
    rng = np.random.default_rng(seed)
    return z + noise * np.abs(z) * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size))


@pytest.fixture(scope="module")
def spectrum() -> Spectrum:
    return Spectrum(F, _z(), meta={"label": "two arcs"})


# ---- 1. sigma= sets the weighting, and the result says so, in drt as in fit ----------------

def test_drt_with_sigma_records_the_sigma_weighting_it_applies(spectrum):
    sigma = 0.01 * np.abs(spectrum.z)
    implied = eisfit.drt(spectrum, sigma=sigma, kk=False)
    named = eisfit.drt(spectrum, weighting="sigma", sigma=sigma, kk=False)
    assert implied.weighting == named.weighting == "sigma"
    assert implied.lambda_ == named.lambda_ and implied.r_pol_ohm == named.r_pol_ohm
    assert eisfit.fit(spectrum, circuit=CIRCUIT, sigma=sigma, starts=1, kk=False).settings["weighting"] == "sigma"


def test_fit_with_sigma_applies_the_sigma_whatever_weighting_names(spectrum):
    sigma = 0.01 * np.abs(spectrum.z)
    sigma[:8] *= 1e3  # the high-frequency points count for nothing
    by_modulus = eisfit.fit(spectrum, circuit=CIRCUIT, sigma=sigma, starts=1, kk=False)
    by_calc = eisfit.fit(spectrum, circuit=CIRCUIT, weighting="modulus-calc", sigma=sigma, starts=1, kk=False)
    assert by_calc.settings["weighting"] == "sigma"
    assert by_calc.chisq == pytest.approx(by_modulus.chisq, rel=1e-6)  # modulus-calc once replaced the SDs


# ---- 2. kk_test's options are checked, as drt's are ------------------------------------------

@pytest.mark.parametrize("option, value, message", [
    ("capacitance", "no", r"capacitance must be True, False or 'auto', got 'no'"),
    ("capacitance", "False", r"capacitance must be True, False or 'auto', got 'False'"),
    ("inductance", None, r"inductance must be True or False, got None"),
    ("inductance", "auto", r"kk_test's inductance must be True or False, got 'auto'"),
    ("threshold_pct", "1", r"threshold_pct must be a positive number, got '1'"),
    ("threshold_pct", -1, r"threshold_pct must be a positive number, got -1"),
    ("threshold_pct", 0, r"threshold_pct must be a positive number, got 0"),
    ("violation_pct", math.inf, r"violation_pct must be a positive number, got inf"),
    ("c", "0.5", r"c \(the mu threshold\) must lie in \(0, 1\], got '0.5'"),
    ("c", 0, r"c \(the mu threshold\) must lie in \(0, 1\], got 0"),
    ("max_rc", 2.5, r"max_rc must be a whole number >= 1 or None, got 2.5"),
    ("max_rc", 0, r"max_rc must be a whole number >= 1 or None, got 0"),
])
def test_kk_test_refuses_a_bad_option_with_one_data_error(spectrum, option, value, message):
    with pytest.raises(DataError, match=f"^{message}"):
        eisfit.kk_test(spectrum, **{option: value})


def test_kk_test_threshold_above_the_violation_limit_is_refused(spectrum):
    with pytest.raises(DataError, match=r"threshold_pct \(5 %\) must not exceed violation_pct \(1 %\)"):
        eisfit.kk_test(spectrum, threshold_pct=5, violation_pct=1)


def test_kk_test_without_capacitance_means_without_it():
    blocking = Spectrum(F, _z(series_c_F=1e-4))
    assert eisfit.kk_test(blocking, capacitance=False).capacitance_F is None
    assert eisfit.kk_test(blocking, capacitance=np.False_).capacitance_F is None
    assert eisfit.kk_test(blocking, capacitance=True).capacitance_F is not None


@pytest.mark.parametrize("option, value", [("inductance", "yes"), ("capacitance", "no"), ("kk", "no")])
def test_drt_refuses_a_flag_that_is_not_a_choice(spectrum, option, value):
    with pytest.raises(DataError, match=rf"^{option} must be True(,| or) False"):
        eisfit.drt(spectrum, **{option: value})


# ---- 3. a real z (Z' or |Z| alone) is taken with a warning, once -----------------------------

def test_a_real_z_is_taken_with_a_data_warning_that_says_what_to_pass():
    z = _z()
    with pytest.warns(DataWarning, match=r"z has no imaginary part: pass Z' \+ 1j\*Z'' \(Z'' < 0 capacitive\)"):
        Spectrum(F, z.real)
    with pytest.warns(DataWarning, match="z has no imaginary part"):
        Spectrum(F, np.abs(z) + 0j)


def test_complex_data_and_what_eisfit_makes_of_a_spectrum_do_not_warn_again():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        s = Spectrum(F, _z())
        s.crop(fmin=1.0).drop_inductive().with_meta(label="x")
    with pytest.warns(DataWarning):
        real = Spectrum(F, _z().real)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        real.crop(fmin=1.0).with_meta(label="again")
        eisfit.drt(real, kk=False)  # its points re-wrapped inside (no second warning)


# ---- 4. fit_campaign checks bounds, area and flags before any fit, as fit() does --------------

@pytest.mark.parametrize("options, message", [
    ({"bounds": {"R1": (10, 1)}}, r"bounds of R1: lower 10.0 must be below upper 1.0"),
    ({"bounds": {"R1": 5}}, r"bounds of R1 must be a \(lower, upper\) pair of numbers or None, got 5"),
    ({"area_cm2": "0.785"}, r"area_cm2 must be a positive number, got '0.785'"),
    ({"kk": "no"}, r"kk must be True or False, got 'no'"),
    ({"order_arcs": "no"}, r"order_arcs must be True or False, got 'no'"),
    ({"drop_inductive": "no"}, r"drop_inductive must be 'auto', True or False, got 'no'"),
])
def test_fit_and_fit_campaign_refuse_a_bad_setting_alike_before_any_fit(spectrum, options, message, monkeypatch):
    with pytest.raises(FitError, match=f"^{message}$"):
        eisfit.fit(spectrum, circuit=CIRCUIT, **options)
    import eisfit.campaign as campaign

    monkeypatch.setattr(campaign, "run_campaign_fits", lambda *a, **k: pytest.fail("a fit was started"))
    with pytest.raises(FitError, match=f"^{message}$"):
        eisfit.fit_campaign([spectrum, spectrum], circuit=CIRCUIT, cache_dir=False, **options)


# ---- 5. a campaign whose every checkpoint failed still has the circuit's columns --------------

def test_a_campaign_with_no_fit_has_the_parameter_columns_as_nan():
    flipped = Spectrum(F, np.conj(_z()))  # -Z'' given as Z'': refused at the fit
    camp = eisfit.fit_campaign([flipped, flipped], circuit=CIRCUIT, cache_dir=False)
    assert len(camp.errors) == 2
    table = camp.table[["R2", "R2_stderr", "CPE1_1"]]
    assert table.isna().all().all() and len(table) == 2


# ---- 6. one string is one candidate circuit ---------------------------------------------------

def test_suggest_circuit_takes_one_string_as_one_candidate(spectrum):
    one = eisfit.suggest_circuit(spectrum, candidates=CIRCUIT)
    assert list(one.table["circuit"]) == [CIRCUIT] and one.best == CIRCUIT
    two = eisfit.suggest_circuit(spectrum, candidates=f"{CIRCUIT}; R0-p(R1,CPE1)")
    assert set(two.table["circuit"]) == {CIRCUIT, "R0-p(R1,CPE1)"}
    with pytest.raises(FitError, match="candidates must be"):
        eisfit.suggest_circuit(spectrum, candidates=42)


# ---- 7. the DRT's dict is JSON as the fit's and the Lin-KK test's are --------------------------

def test_drt_to_dict_is_strict_json(spectrum):
    d = eisfit.drt(spectrum, kk=False).to_dict()
    json.dumps(d, allow_nan=False)
    assert isinstance(d["peaks"], list) and all(isinstance(v, float) for v in d["tau_s"])
