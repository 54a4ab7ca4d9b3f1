"""Circuit: parsing, metadata, evaluation vs impedance.py, analytic Jacobian, batching."""
from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pytest
from impedance.models.circuits import CustomCircuit

from eisfit import CircuitError, DataError
from eisfit.model import ELEMENTS, Arc, Circuit, ElementInstance, circuit_of

HEADLINE = "R0-p(R1,CPE1)-p(R2,CPE2)"
P_HEADLINE = [40.0, 60.0, 1e-9, 0.9, 149.0, 2e-6, 0.85]
F = np.logspace(7, -1, 33)


def reference(circuit: str, params, f=F) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CustomCircuit(circuit, initial_guess=list(map(float, params))).predict(
            f, use_initial=True)


def random_params(c: Circuit, rng) -> np.ndarray:
    p = []
    for name, (lo, hi), log, unit in zip(c.param_names, c.default_bounds, c.log_scale,
                                         c.param_units):
        if not log:
            p.append(rng.uniform(0.4, 1.0) if hi <= 1 else rng.uniform(0.0, 3.0))
        elif unit == "s":
            p.append(10 ** rng.uniform(-6, -3))
        elif unit in ("ohm", "ohm*m^2", "ohm*s^-1/2"):
            p.append(10 ** rng.uniform(0, 4))
        elif unit == "H":
            p.append(10 ** rng.uniform(-8, -5))
        elif unit == "":
            p.append(10 ** rng.uniform(-1, 1))
        else:  # F, S*s^n
            p.append(10 ** rng.uniform(-10, -4))
    return np.array(p)


# ---------------------------------------------------------------- metadata
def test_headline_interface():
    c = Circuit(" R0 - p(R1, CPE1) - p(R2,CPE2) ")
    assert c.string == HEADLINE
    assert c.param_names == ["R0", "R1", "CPE1_0", "CPE1_1", "R2", "CPE2_0", "CPE2_1"]
    assert c.n_params == 7
    assert c.param_units == ["ohm", "ohm", "S*s^n", "", "ohm", "S*s^n", ""]
    inf = float("inf")
    assert c.default_bounds == [(0, inf), (0, inf), (0, inf), (0, 1), (0, inf), (0, inf), (0, 1)]
    assert c.log_scale == [True, True, True, False, True, True, False]
    assert c.elements[2] == ElementInstance("CPE1", "CPE", ["CPE1_0", "CPE1_1"])
    assert [e.name for e in c.elements] == ["R0", "R1", "CPE1", "R2", "CPE2"]
    assert c.arcs == [Arc("R1", "CPE1", "CPE"), Arc("R2", "CPE2", "CPE")]
    assert c.param_index("CPE2_1") == 6
    with pytest.raises(CircuitError, match="no parameter"):
        c.param_index("CPE3_0")


def test_param_names_match_impedance_py():
    for s in [HEADLINE, "L0-R0-p(R1,C1)-p(R2-Wo2,CPE2)-Ws3", "p(p(R1,C1),R2-La2)-Zarc3-G4-Gs5",
              "K1-TLMQ2-T3-W4"]:
        names, _ = CustomCircuit(s, initial_guess=[1.0] * Circuit(s).n_params).get_param_names()
        assert Circuit(s).param_names == names


def test_arcs_only_simple_r_cpe_or_c_pairs():
    c = Circuit("p(C1,R1)-p(R2,CPE2,C3)-p(R4-R5,CPE4)-p(R6,Wo6)-p(p(R7,C7),R8)")
    assert c.arcs == [Arc("R1", "C1", "C"), Arc("R7", "C7", "C")]


def test_circuit_is_immutable_hashable_and_picklable():
    c = Circuit(HEADLINE)
    with pytest.raises(AttributeError):
        c.string = "R0"
    assert c == Circuit("R0 - p(R1,CPE1)-p(R2, CPE2)")
    assert len({c, Circuit(HEADLINE)}) == 1
    c2 = pickle.loads(pickle.dumps(c))
    np.testing.assert_array_equal(c2.impedance(P_HEADLINE, F), c.impedance(P_HEADLINE, F))
    assert repr(c) == f"Circuit('{HEADLINE}')"


def test_circuit_of_parses_once_and_shares_the_circuit():
    c = circuit_of(HEADLINE)
    assert c is circuit_of(HEADLINE)  # one parse per process
    assert c == Circuit(HEADLINE)
    np.testing.assert_array_equal(c.impedance(P_HEADLINE, F), Circuit(HEADLINE).impedance(P_HEADLINE, F))
    with pytest.raises(CircuitError, match="unbalanced"):
        circuit_of("R0-p(R1,CPE1")


# ---------------------------------------------------------------- parser errors
@pytest.mark.parametrize("bad, message", [
    ("", "empty"),
    ("   ", "empty"),
    ("R0-p(R1,CPE1", "unbalanced"),
    ("R0-p(R1,CPE1))", "unbalanced"),
    ("R0-X1", "unknown element 'X1'"),
    ("R0-r1", "did you mean R1"),
    ("R0-p(R1,C1)-R0", "duplicate element name 'R0'"),
    ("R0-p()", "empty p()"),
    ("R0-p(R1)", "single branch"),
    ("R0--R1", "expected an element"),
    ("R0-", "string ends"),
    ("R0-(R1,C1)", "bare parentheses"),
    ("R0-p(R1,,C1)", "expected an element"),
    ("R0+R1", "unexpected character '+'"),
    ("R0 R1", "unexpected 'R1'"),
    ("p1-R1", "parallel operator"),
    ("1R", "unexpected character"),
])
def test_parser_errors(bad, message):
    with pytest.raises(CircuitError, match=re.escape(message)):
        Circuit(bad)


def test_parser_error_shows_position():
    with pytest.raises(CircuitError) as info:
        Circuit("R0-p(R1,X1)")
    assert "at character 9" in str(info.value) and "^" in str(info.value)


# ---------------------------------------------------------------- evaluation vs impedance.py
CIRCUITS = [
    HEADLINE,
    "L0-R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)",
    "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3",
    "R0-p(CPE1,R1-W1)",
    "R0-p(R1-Wo1,CPE1)-Ws2",
    "p(p(R1,C1),R2-La2)-Zarc3",
    "R0-p(R1,p(R2,C2)-G2,CPE3)-Gs4",
    "p(R1-p(R2,CPE2),C1,L1)-K1",
    "R0-TLMQ1-p(R2,T2)",
    "p(R1,C1)",
    "R1",
    "R1-R2",
    "p(R1,R2)",
]


@pytest.mark.parametrize("string", CIRCUITS)
def test_impedance_agrees_with_impedance_py(string):
    c = Circuit(string)
    rng = np.random.default_rng(len(string))
    for _ in range(5):
        p = random_params(c, rng)
        z = c.impedance(p, F)
        assert z.shape == F.shape and z.dtype == complex
        np.testing.assert_allclose(z, reference(string, p), rtol=1e-12, atol=0)


def test_every_element_in_a_circuit_agrees_with_impedance_py():
    rng = np.random.default_rng(7)
    for kind in ELEMENTS:
        s = f"R0-p(R1,{kind}8)-{kind}9"
        c = Circuit(s)
        p = random_params(c, rng)
        np.testing.assert_allclose(c.impedance(p, F), reference(s, p), rtol=1e-12, atol=0)


# ---------------------------------------------------------------- Jacobian
def fd_jacobian(c: Circuit, p: np.ndarray, f=F, rel=1e-4) -> np.ndarray:
    jac = np.empty((f.size, p.size), complex)
    for j in range(p.size):
        def d(h):
            up, dn = p.copy(), p.copy()
            up[j] += h
            dn[j] -= h
            return (c.impedance(up, f) - c.impedance(dn, f)) / (2 * h)
        h = rel * abs(p[j])
        jac[:, j] = (4 * d(h / 2) - d(h)) / 3
    return jac


@pytest.mark.parametrize("string", CIRCUITS)
def test_jacobian_matches_finite_differences(string):
    c = Circuit(string)
    rng = np.random.default_rng(100 + len(string))
    for _ in range(3):
        p = random_params(c, rng)
        z, jac = c.impedance_and_jacobian(p, F)
        np.testing.assert_allclose(z, c.impedance(p, F), rtol=1e-13)
        np.testing.assert_array_equal(jac, c.jacobian(p, F))
        assert jac.shape == (F.size, c.n_params)
        fd = fd_jacobian(c, p)
        err = np.abs(jac - fd) * np.abs(p) / np.abs(z)[:, None]
        assert err.max() < 1e-8, (string, p, err.max(axis=0))


# ---------------------------------------------------------------- batching
@pytest.mark.parametrize("string", [HEADLINE, "R0-p(R1-Wo1,CPE1)-Ws2", "p(p(R1,C1),R2-La2)-Zarc3",
                                    "R1", "p(R1,R2)"])
def test_batched_equals_looped(string):
    c = Circuit(string)
    rng = np.random.default_rng(3)
    P = np.array([random_params(c, rng) for _ in range(6)])
    Z = c.impedance(P, F)
    Zb, J = c.impedance_and_jacobian(P, F)
    assert Z.shape == (6, F.size) and J.shape == (6, F.size, c.n_params)
    for k in range(6):
        np.testing.assert_allclose(Z[k], c.impedance(P[k], F), rtol=1e-14)
        np.testing.assert_allclose(Zb[k], Z[k], rtol=1e-14)
        np.testing.assert_allclose(J[k], c.jacobian(P[k], F), rtol=1e-14)


def test_batched_single_row_and_list_inputs():
    c = Circuit(HEADLINE)
    z = c.impedance(P_HEADLINE, list(F))
    assert c.impedance([P_HEADLINE], F).shape == (1, F.size)
    np.testing.assert_allclose(c.impedance([P_HEADLINE], F)[0], z, rtol=1e-15)


def test_shape_errors():
    c = Circuit(HEADLINE)
    with pytest.raises(CircuitError, match="takes 7 parameters"):
        c.impedance([1.0, 2.0], F)
    with pytest.raises(CircuitError, match=r"\(K, 7\)"):
        c.jacobian(np.ones((2, 3, 7)), F)
    with pytest.raises(ValueError, match="1-D"):
        c.impedance(P_HEADLINE, np.ones((2, 3)))


def test_headline_values_physics():
    """Z'' < 0 (capacitive); Z -> R0 at high f and R0+R1+R2 at low f."""
    c = Circuit("R0-p(R1,C1)-p(R2,C2)")
    z = c.impedance([40.0, 60.0, 1e-10, 149.0, 1e-6], np.array([1e12, 1e-6]))
    assert abs(z[0] - 40.0) < 1e-2 and abs(z[1] - 249.0) < 1e-2
    assert np.all(Circuit(HEADLINE).impedance(P_HEADLINE, F).imag < 0)


def test_one_frequency_grid_per_row_gives_each_rows_own_impedance_and_jacobian():
    c = Circuit("R0-p(R1,CPE1)-p(R2-Wo2,C2)")
    rng = np.random.default_rng(0)
    p = np.array([[5.0, 100.0, 1e-6, 0.85, 300.0, 50.0, 2.0, 1e-4]]) * rng.uniform(0.5, 2.0, (3, 8))
    p[:, 3] = [0.7, 0.8, 0.9]
    f = np.logspace(5, -1, 30)[None, :] * rng.uniform(0.9, 1.1, (3, 30))
    z, jac = c.impedance_and_jacobian(p, f)
    assert z.shape == (3, 30) and jac.shape == (3, 30, 8)
    for k in range(3):
        zk, jk = c.impedance_and_jacobian(p[k], f[k])
        np.testing.assert_allclose(z[k], zk, rtol=1e-14)
        np.testing.assert_allclose(jac[k], jk, rtol=1e-12)
    np.testing.assert_allclose(c.impedance(p, f), z, rtol=1e-14)
    with pytest.raises(DataError):  # one grid per row needs one row of parameters per grid
        c.impedance(p[:2], f)


@pytest.mark.parametrize("string, finite", [
    ("R0-p(R1,CPE1)-p(R2,CPE2)", True), ("L0-R0-p(R1,CPE1)-p(CPE2,R2-Ws2)", True),
    ("R0-p(R1,CPE1)-p(R2,CPE2)-CPE3", False), ("R0-p(R1,CPE1)-p(CPE2,R2-Wo2)", False),
    ("R0-p(R1-W1,C1)", False), ("R0-p(C1,CPE1)", False), ("p(R1,C1)-G1", True),
])
def test_finite_at_dc_follows_the_circuit_structure(string, finite):
    from eisfit.model import finite_at_dc

    c = Circuit(string)
    assert finite_at_dc(c) is finite
    rng = np.random.default_rng(1)
    p = np.array([10 ** rng.uniform(-1, 1) if not n.endswith("_1") else 0.8 for n in c.param_names])
    low = np.abs(c.impedance(p, np.array([1e-9, 1e-13])))  # |Z| as f -> 0: settles, or keeps rising
    assert bool(low[1] < 2 * low[0]) == finite


def test_impedance_takes_a_fit_s_values_by_name():
    c = Circuit("R0-p(R1,CPE1)")
    f = np.logspace(4, -1, 9)
    values = {"CPE1_1": 0.9, "R0": 10.0, "CPE1_0": 1e-5, "R1": 100.0}  # any order
    np.testing.assert_array_equal(c.impedance(values, f), c.impedance([10.0, 100.0, 1e-5, 0.9], f))
    with pytest.raises(CircuitError, match="no value for CPE1_1"):
        c.impedance({"R0": 10.0, "R1": 100.0, "CPE1_0": 1e-5}, f)
