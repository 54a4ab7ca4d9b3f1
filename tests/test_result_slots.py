"""FitResult keeps its fields in slots: no per-instance dict, copies and pickles whole,
and the pickles of earlier versions (their __dict__) still load."""
import pickle
import sys
from dataclasses import FrozenInstanceError, fields

import numpy as np
import pytest

import eisfit
from eisfit import Spectrum
from eisfit.fitting.result import FitResult
from eisfit.model import Circuit

CIRCUIT = "R0-p(R1,CPE1)"
F = np.logspace(6, 0, 31)


@pytest.fixture(scope="module")
def result():
    z = Circuit(CIRCUIT).impedance(np.array([10.0, 100.0, 1e-6, 0.9]), F)
    rng = np.random.default_rng(3)
    return eisfit.fit(Spectrum(F, z * (1 + 0.002 * rng.standard_normal(F.size))), CIRCUIT)


def test_a_result_has_no_instance_dict(result):
    assert not hasattr(result, "__dict__")
    assert sys.getsizeof(result) < 8 * len(fields(FitResult)) + 64  # the slots alone (the dict was 1.6 KB)
    with pytest.raises(FrozenInstanceError):
        result.extra = 1  # nothing can be hung on a result
    with pytest.raises(FrozenInstanceError):
        result.chisq = 0.0
    with pytest.raises(FrozenInstanceError):
        del result.flags
    assert result.suggestion is None  # a plain fit has no suggestion


def test_with_fields_copies_every_field_and_shares_the_unchanged(result):
    copy = result.with_fields(flags=["x"], label="again")
    assert copy.flags == ["x"] and copy.label == "again" and result.label != "again"
    for f in fields(FitResult):
        if f.name not in ("flags", "label"):
            assert getattr(copy, f.name) is getattr(result, f.name)


def test_pickle_round_trip_keeps_every_field(result):
    again = pickle.loads(pickle.dumps(result))
    assert again == result and type(again) is FitResult
    np.testing.assert_array_equal(again.z_fit, result.z_fit)
    assert again.correl["R1"] == result.correl["R1"] and again.start_won == result.start_won


def test_a_pickle_of_an_earlier_version_loads_with_defaults_for_fields_it_lacked(result):
    """An earlier FitResult pickled its __dict__; fields added since take their defaults."""
    old_fields = [f.name for f in fields(FitResult) if f.name not in ("kk_valid_band", "suggestion", "intervals")]
    state = {name: getattr(result, name) for name in old_fields}
    old = FitResult.__new__(FitResult)
    old.__setstate__(state)
    assert old.kk_valid_band is None and old.suggestion is None and old.intervals == {}
    assert old.values == result.values and old.chisq == result.chisq
    assert pickle.loads(pickle.dumps(old)).intervals == {}


def test_the_suggestion_of_an_automatic_fit_is_a_field_left_out_of_json(result):
    s = Spectrum(result.frequency, result.z)
    auto = eisfit.fit(s, "auto")
    assert auto.suggestion is not None and auto.suggestion.best == auto.circuit
    assert "suggestion" not in auto.to_dict()
    assert FitResult.from_dict(auto.to_dict()).suggestion is None
    assert pickle.loads(pickle.dumps(auto)).suggestion.best == auto.circuit
    assert auto.with_fields(label="x").suggestion is auto.suggestion
