"""Elements: agreement with impedance.py 1.7.1, analytic derivatives, metadata."""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
from impedance.models.circuits import elements as ipy

from eisfit.model import ELEMENTS
from eisfit.model import elements as E

F = np.logspace(-2, 6, 41)  # Hz
OMEGA = 2 * np.pi * F


def random_params(kind: str, rng: np.random.Generator) -> list[float]:
    """Parameters in physically sensible ranges from the element's metadata."""
    out = []
    for pdef in ELEMENTS[kind].params:
        if not pdef.log_scale:
            out.append(rng.uniform(0.3, 1.0) if pdef.bounds[1] <= 1 else rng.uniform(0.0, 5.0))
        elif pdef.unit == "s":
            out.append(10 ** rng.uniform(-6, -3) if kind == "T" else 10 ** rng.uniform(-6, 2))
        elif kind == "Gs" and pdef.symbol == "phi":
            out.append(10 ** rng.uniform(-1, 1))
        else:
            out.append(10 ** rng.uniform(-9, 4))
    return out


def test_every_impedance_py_element_is_implemented():
    mine = set(ELEMENTS)
    theirs = {k for k in ipy.circuit_elements if k not in ("s", "p") and not k.startswith("_")}
    assert theirs <= mine, theirs - mine


@pytest.mark.parametrize("kind", sorted(ELEMENTS))
def test_element_agrees_with_impedance_py(kind):
    rng = np.random.default_rng(sum(map(ord, kind)))
    fn = ipy.circuit_elements[kind]
    for _ in range(20):
        p = random_params(kind, rng)
        ref = np.asarray(fn(p, F.tolist()), dtype=complex)
        z = np.broadcast_to(ELEMENTS[kind].impedance(OMEGA, *p), F.shape)
        zg, _ = ELEMENTS[kind].gradient(OMEGA, *p)
        np.testing.assert_allclose(z, ref, rtol=1e-12, atol=0)
        np.testing.assert_allclose(np.broadcast_to(zg, F.shape), ref, rtol=1e-12, atol=0)
        if ELEMENTS[kind].admittance is not None:
            y = ELEMENTS[kind].admittance(OMEGA, *p)
            yg, _ = ELEMENTS[kind].admittance_gradient(OMEGA, *p)
            np.testing.assert_allclose(np.broadcast_to(y, F.shape), 1 / ref, rtol=1e-12, atol=0)
            np.testing.assert_allclose(np.broadcast_to(yg, F.shape), 1 / ref, rtol=1e-12, atol=0)


def central_difference(fn, p, j, rel=1e-4):
    """Central difference with one Richardson step (error O(h^4))."""
    def d(h):
        up, dn = list(p), list(p)
        up[j] += h
        dn[j] -= h
        return (np.asarray(fn(OMEGA, *up)) - np.asarray(fn(OMEGA, *dn))) / (2 * h)
    h = rel * abs(p[j]) if p[j] != 0 else rel
    return (4 * d(h / 2) - d(h)) / 3


@pytest.mark.parametrize("kind", sorted(ELEMENTS))
def test_element_gradient_matches_finite_differences(kind):
    rng = np.random.default_rng(1 + sum(map(ord, kind)))
    edef = ELEMENTS[kind]
    pairs = [(edef.impedance, edef.gradient)]
    if edef.admittance is not None:
        pairs.append((edef.admittance, edef.admittance_gradient))
    for fn, grad in pairs:
        for _ in range(10):
            p = random_params(kind, rng)
            z, dz = grad(OMEGA, *p)
            assert len(dz) == edef.n_params
            scale = np.abs(np.broadcast_to(z, F.shape))
            for j in range(edef.n_params):
                fd = central_difference(fn, p, j)
                # error relative to the natural scale |Z| / |p|
                err = np.abs(np.broadcast_to(dz[j], F.shape) - fd) * abs(p[j]) / scale
                assert np.max(err) < 1e-8, (kind, j, p, np.max(err))


def test_warburg_derivatives_against_mpmath_at_small_and_large_arguments():
    """Cancellation-prone region (small s: series branch) and saturation (large s)."""
    mpmath.mp.dps = 40
    omega = np.array([1e-8, 1e-6, 1e-4, 1e-2, 0.05, 0.1, 0.2, 1.0, 10.0, 1e4, 1e8, 1e14])
    z0, tau = 3.0, 1.0

    def exact(form, w):
        t = mpmath.mpf(tau)
        f = (lambda tt: z0 * mpmath.tanh(mpmath.sqrt(1j * w * tt)) / mpmath.sqrt(1j * w * tt)) \
            if form == "Ws" else \
            (lambda tt: z0 * mpmath.coth(mpmath.sqrt(1j * w * tt)) / mpmath.sqrt(1j * w * tt))
        return complex(f(t)), complex(mpmath.diff(f, t))

    for form, grad in (("Ws", E.warburg_short_grad), ("Wo", E.warburg_open_grad)):
        z, (_, dtau) = grad(omega, z0, tau)
        for k, w in enumerate(omega):
            ze, de = exact(form, mpmath.mpf(float(w)))
            assert abs(z[k] - ze) <= 1e-13 * abs(ze)
            assert abs(dtau[k] - de) <= 1e-10 * abs(de), (form, w, dtau[k], de)


def test_distributed_elements_do_not_overflow():
    omega = np.logspace(-3, 15, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for kind in ("Wo", "Ws", "Gs", "TLMQ", "T"):
            p = [1.0] * ELEMENTS[kind].n_params
            if kind == "T":
                p = [1.0, 1.0, 0.5, 1e3]
            z, dz = ELEMENTS[kind].gradient(omega, *p)
            assert np.all(np.isfinite(z))
            assert all(np.all(np.isfinite(d)) for d in dz)


def test_paasch_matches_closed_form_where_impedance_py_clips_sinh():
    omega = np.array([1e6, 1e8])  # Re(beta) >> 100
    A, B, a, b = 2.0, 3.0, 1.0, 1.0
    beta = np.sqrt(a + 1j * omega * b)
    expected = A / (beta * np.tanh(beta))  # B/(beta sinh beta) underflows to 0
    np.testing.assert_allclose(E.paasch(omega, A, B, a, b), expected, rtol=1e-14)


def test_metadata_is_consistent():
    for kind, edef in ELEMENTS.items():
        assert edef.kind == kind
        assert edef.impedance.__doc__ or kind in ()
        for pdef in edef.params:
            lo, hi = pdef.bounds
            assert lo < hi
            if pdef.log_scale:
                assert lo >= 0
        names = edef.param_names(f"{kind}1")
        assert names == ([f"{kind}1"] if edef.n_params == 1
                         else [f"{kind}1_{i}" for i in range(edef.n_params)])
        assert edef.n_params == ipy.circuit_elements[kind].num_params
    assert ELEMENTS["CPE"].params[0].unit == "S*s^n"
    assert ELEMENTS["CPE"].params[1].bounds == (0.0, 1.0)
    assert not ELEMENTS["CPE"].params[1].log_scale
    with pytest.raises(TypeError):
        ELEMENTS["X"] = ELEMENTS["R"]  # read-only registry


@pytest.mark.parametrize("kind, params", [("G", [10.0, 1e-4]), ("Gs", [10.0, 1e-4, 20.0]), ("Gs", [10.0, 1e-4, 0.5]),
                                          ("Ws", [10.0, 1e-4])])
def test_element_apex_against_a_bounded_search_of_its_largest_minus_z_imag(kind, params):
    """element_apex_hz (a grid of 80 points a decade) against scipy's bounded search of the
    largest -Z'' in log frequency; a Gerischer's apex is sqrt(3)/(2 pi t_G) in closed form."""
    from scipy.optimize import minimize_scalar

    from eisfit.model.elements import ELEMENTS, element_apex_hz

    def minus_imag(log_f):
        return float(ELEMENTS[kind].impedance(np.array([2 * np.pi * 10 ** log_f]), *params)[0].imag)

    tau = params[1]
    found = minimize_scalar(minus_imag, bounds=(np.log10(1e-3 / (2 * np.pi * tau)), np.log10(1e4 / (2 * np.pi * tau))),
                            method="bounded", options={"xatol": 1e-8})
    assert element_apex_hz(kind, params) == pytest.approx(10 ** found.x, rel=0.015)  # half a grid step
    if kind == "G":
        assert element_apex_hz(kind, params) == pytest.approx(np.sqrt(3) / (2 * np.pi * tau), rel=0.015)
    assert np.isnan(element_apex_hz(kind, [params[0], -1.0, *params[2:]]))
