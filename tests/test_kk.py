"""Lin-KK validity test on synthetic spectra (seeded noise)."""
from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from eisfit import Spectrum
from eisfit.analysis.kk import KKResult, kk_test

F = np.logspace(7, 2, 81)  # 10 MHz .. 100 Hz, 16 points per decade
W = 2 * np.pi * F
R0, R1, TAU1, N1, R2, TAU2, N2, L = 40.0, 100.0, 1e-7, 0.9, 150.0, 1e-4, 0.85, 100e-9


def zarc(w, r, tau, n):
    return r / (1 + (1j * w * tau) ** n)


def two_arcs(r2=R2):
    """R0 + ZARC(bulk) + ZARC(interface) + 100 nH; ``r2`` may vary per point."""
    return R0 + zarc(W, R1, TAU1, N1) + zarc(W, r2, TAU2, N2) + 1j * W * L


def noisy(z, pct=0.2, seed=0):
    rng = np.random.default_rng(seed)
    return z * (1 + pct / 100 * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size)))


def test_compliant_spectrum_passes():
    res = kk_test(Spectrum(F, noisy(two_arcs())))
    assert isinstance(res, KKResult)
    assert res.passed
    assert res.max_residual_pct < 0.8
    assert res.mu < 0.85
    assert res.inductance_H == pytest.approx(L, rel=0.1)
    # noise estimate ~ the 0.2 % per component put in (sqrt(2)*0.2 in |Z| terms over 2 parts)
    assert 0.1 < res.noise_estimate_pct < 0.4
    assert res.residuals_real.shape == res.residuals_imag.shape == (F.size,)


def test_drift_during_low_frequency_half_fails():
    # R2 grows linearly by 20 % while the low-frequency half is measured (sweep from 10 MHz down)
    frac = np.clip((np.arange(F.size) - F.size // 2) / (F.size // 2), 0, 1)
    res = kk_test(Spectrum(F, noisy(two_arcs(R2 * (1 + 0.2 * frac)))))
    assert not res.passed
    assert res.max_residual_pct > 1.2


def test_random_residuals_above_threshold_pass_as_noisy_but_drift_does_not():
    # 0.6 % noise: the largest of ~100 residuals exceeds 1 % without any KK problem
    noisy_res = kk_test(Spectrum(F, noisy(two_arcs(), pct=0.6, seed=3)))
    assert noisy_res.max_residual_pct > 1.0
    assert noisy_res.passed and noisy_res.status == "noisy" and not noisy_res.structured
    frac = np.clip((np.arange(F.size) - F.size // 2) / (F.size // 2), 0, 1)
    drift = kk_test(Spectrum(F, noisy(two_arcs(R2 * (1 + 0.2 * frac)), pct=0.6, seed=3)))
    assert not drift.passed and drift.status in ("drift", "violation")


def test_runs_test_detects_long_runs():
    from eisfit.analysis.kk import runs_test_z

    alternating = np.array([1.0, -1.0] * 20)
    blocks = np.array([1.0] * 20 + [-1.0] * 20)
    assert runs_test_z(alternating) > 2
    assert runs_test_z(blocks) < -5


def test_missing_inductance_reads_as_violation():
    res = kk_test(Spectrum(F, noisy(two_arcs())), inductance=False)
    assert not res.passed


def test_mu_criterion_stops_at_first_m_below_c():
    s = Spectrum(F, noisy(two_arcs()))
    res = kk_test(s, c=0.85)
    assert res.mu < 0.85
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        smaller = kk_test(s, c=0.85, max_rc=res.n_rc - 1)
    assert smaller.mu >= 0.85  # every shorter chain was not over-fitted yet
    # a lower c needs more elements
    assert kk_test(s, c=0.5).n_rc >= res.n_rc


def test_mu_never_reached_warns_and_uses_max_rc():
    with pytest.warns(UserWarning, match="mu stayed"):
        res = kk_test(Spectrum(F, two_arcs()), max_rc=5)  # noise-free: no over-fitting at M=5
    assert res.n_rc == 5


def test_threshold_and_result_export():
    s = Spectrum(F, noisy(two_arcs()))
    strict = kk_test(s, threshold_pct=0.1, violation_pct=0.1)
    assert not strict.passed and strict.threshold_pct == 0.1 and strict.status == "violation"
    d = strict.to_dict()
    assert d["n_rc"] == strict.n_rc and len(d["residuals_real"]) == F.size
    ax = strict.plot()
    assert ax.get_xscale() == "log"


def test_speed():
    s = Spectrum(F, noisy(two_arcs()))
    kk_test(s)
    t0 = time.perf_counter()
    for _ in range(5):
        kk_test(s)
    assert (time.perf_counter() - t0) / 5 < 0.1  # ~5 ms on an idle core
