"""FitResult.correl: the correlation coefficients kept as one matrix (fitting.result.Correlations)
and read as the dict of dicts they always were."""
import json
import math
import pickle

import numpy as np
import pytest

import eisfit
from eisfit.fitting.result import Correlations, FitResult


def _nested(names, matrix):
    return {a: {b: float(matrix[i][j]) for j, b in enumerate(names) if j != i} for i, a in enumerate(names)}


def test_read_as_a_dict_of_dicts_of_every_other_parameter():
    names = ["R0", "R1", "Q1"]
    matrix = [[1.0, -0.25, 0.5], [-0.25, 1.0, 0.875], [0.5, 0.875, 1.0]]
    c = Correlations(names, matrix)
    assert list(c) == names and len(c) == 3
    assert c["R1"] == {"R0": -0.25, "Q1": 0.875}
    assert dict(c.items()) == _nested(names, matrix)
    assert c.get("L1") is None and "L1" not in c
    with pytest.raises(KeyError):
        c["L1"]


def test_non_finite_coefficients_are_nan_and_the_matrix_cannot_be_changed():
    source = np.array([[1.0, np.inf], [np.inf, 1.0]])
    c = Correlations(["a", "b"], source)
    assert math.isnan(c["a"]["b"])
    source[0, 1] = 0.5  # the caller's array is not the result's
    assert math.isnan(c["a"]["b"])
    with pytest.raises(ValueError):
        c.matrix[0, 1] = 0.5
    with pytest.raises(ValueError, match="2 x 2"):
        Correlations(["a", "b"], np.eye(3))


def test_of_a_covariance_divides_by_the_standard_errors_and_gives_nan_without_a_variance():
    cov = np.array([[4.0, 1.0, 0.0], [1.0, 9.0, 0.0], [0.0, 0.0, 0.0]])
    c = Correlations.of_covariance(["a", "b", "c"], cov)
    assert c["a"]["b"] == pytest.approx(1.0 / 6.0, rel=1e-15)
    assert math.isnan(c["a"]["c"]) and math.isnan(c["c"]["b"])
    assert math.isnan(Correlations.of_covariance(["a", "b"], np.array([[np.inf, 1.0], [1.0, 1.0]]))["a"]["b"])


def test_over_names_puts_nan_where_a_name_is_not_free():
    c = Correlations(["R0", "R1"], [[1.0, 0.3], [0.3, 1.0]])
    m = c.over(["R1", "L", "R0"])
    assert m[0, 2] == m[2, 0] == 0.3
    assert np.all(np.diag(m) == 1.0)
    assert math.isnan(m[0, 1]) and math.isnan(m[1, 2])


def test_of_takes_only_a_full_square_layout():
    square = {"a": {"b": 0.5, "c": None}, "b": {"a": 0.5, "c": 0.1}, "c": {"a": None, "b": 0.1}}
    c = Correlations.of(square)
    assert isinstance(c, Correlations)
    assert c["b"] == {"a": 0.5, "c": 0.1} and math.isnan(c["a"]["c"])
    ragged = {"a": {"b": 0.5}, "b": {}}
    assert Correlations.of(ragged) is ragged
    assert Correlations.of({}) == {}


def test_a_fit_reports_the_correlations_of_its_covariance_and_keeps_them_through_json_and_pickle():
    f = np.logspace(6, -1, 50)
    w = 2 * np.pi * f
    z = 10 + 100 / (1 + 1j * w * 100 * 1e-6)
    r = eisfit.fit(eisfit.Spectrum(frequency=f, z=z * (1 + 0.002 * np.sin(np.arange(50)))), circuit="R0-p(R1,C1)")
    assert isinstance(r.correl, Correlations)
    assert set(r.correl) == {"R0", "R1", "C1"}
    for a in r.correl:  # symmetric, within [-1, 1]
        for b, v in r.correl[a].items():
            assert v == pytest.approx(r.correl[b][a], rel=1e-12) and -1.0 <= v <= 1.0
    back = FitResult.from_json(r.to_json())
    assert isinstance(back.correl, Correlations) and dict(back.correl.items()) == dict(r.correl.items())
    assert json.loads(r.to_json())["correl"]["R1"]["C1"] == r.correl["R1"]["C1"]
    again = pickle.loads(pickle.dumps(r))
    assert dict(again.correl.items()) == dict(r.correl.items())
    assert r.params["R1"].correl == r.correl["R1"]


def test_to_dict_writes_non_finite_numbers_and_correlations_as_none_and_hides_unresolved_values():
    """to_dict's one-pass forms (all finite, nothing hidden) and its careful ones give the same
    JSON-safe dict: None for a nan or infinite value, stderr or correlation, for every key of
    an unresolved element, the optimiser's values kept in ``unresolved_values``."""
    f = np.logspace(6, -1, 50)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 100 * 1e-6)
    r = eisfit.fit(eisfit.Spectrum(frequency=f, z=z * (1 + 0.002 * np.sin(np.arange(50)))), circuit="R0-p(R1,C1)")
    names = r.correl.names
    matrix = np.array(r.correl.matrix)
    matrix[0, 1] = matrix[1, 0] = np.nan
    odd = r.with_fields(stderr={**r.stderr, "R0": math.inf, "C1": math.nan}, correl=Correlations(names, matrix),
                        derived={**r.derived, "big": 1e308, "bigger": 1e308})
    d = odd.to_dict()
    assert d["stderr"]["R0"] is None and d["stderr"]["C1"] is None and d["stderr"]["R1"] == r.stderr["R1"]
    assert d["correl"][names[0]][names[1]] is None and d["correl"][names[1]][names[0]] is None
    assert d["correl"][names[0]][names[2]] == r.correl[names[0]][names[2]]
    assert d["derived"]["big"] == 1e308 and d["derived"]["bigger"] == 1e308  # their sum overflows; each is finite
    assert all(type(v) is float for v in d["values"].values())
    hidden = r.with_fields(flags=[*r.flags, "unresolved:R1"]).to_dict()
    assert hidden["values"]["R1"] is None and hidden["values"]["R0"] == r.values["R0"]
    assert hidden["unresolved_values"]["values"]["R1"] == r.values["R1"]
    assert json.loads(json.dumps(d)) == d  # JSON-safe throughout


def test_the_matrix_over_names_in_any_order_reads_the_same_coefficients():
    """Correlations.over: its own order (the quick copy), another order, a subset and a name
    that is not a free parameter (nan off the diagonal) give the same coefficients."""
    matrix = np.array([[1.0, 0.5, np.nan], [0.5, 1.0, -0.2], [np.nan, -0.2, 1.0]])
    c = Correlations(["R1", "R2", "CPE1_0"], matrix)
    np.testing.assert_array_equal(c.over(("R1", "R2", "CPE1_0")), matrix)
    np.testing.assert_array_equal(c.over(["CPE1_0", "R1"]), [[1.0, np.nan], [np.nan, 1.0]])
    np.testing.assert_array_equal(c.over(["R2", "R1", "L0"]), [[1.0, 0.5, np.nan], [0.5, 1.0, np.nan],
                                                               [np.nan, np.nan, 1.0]])
    mine = c.over(c.names)
    mine[0, 1] = 9.0  # a copy: the result's own matrix is not changed
    assert c.matrix[0, 1] == 0.5
