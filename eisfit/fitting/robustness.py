"""Synthetic robustness benchmark of the automatic fit (no user guess).

A seeded set of spectra of R0-p(R1,CPE1)-p(R2,CPE2) spanning 3 decades in R1/R2,
0 to 4 decades of time-constant separation (down to overlapping arcs) and 0.5 %
noise. Each is fitted twice: by :func:`eisfit.fit` with no guess, and by an
exhaustive reference (the true parameters plus many random starts over a wide
box). Scores: the fraction that reaches the reference chi-square within 1 %,
and the fraction whose R2 lies within 3 reported standard errors of the truth.

Run ``python scripts/robustness.py`` (see README) for the full 500-spectrum set.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import Circuit
from ..spectrum import Spectrum
from .engine import fit

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
F_MAX_HZ, F_MIN_HZ, PER_DECADE = 1e7, 1e2, 10


@dataclass(frozen=True)
class Case:
    truth: dict[str, float]
    spectrum: Spectrum
    separation_decades: float


def make_cases(n: int, seed: int = 2026, noise: float = 0.005) -> list[Case]:
    """``n`` seeded synthetic spectra (10 MHz-100 Hz, 10 points per decade)."""
    rng = np.random.default_rng(seed)
    circ = Circuit(CIRCUIT)
    f = np.logspace(np.log10(F_MAX_HZ), np.log10(F_MIN_HZ), 5 * PER_DECADE + 1)
    tau_lo, tau_hi = 1 / (2 * np.pi * F_MAX_HZ), 1 / (2 * np.pi * F_MIN_HZ)
    cases = []
    for _ in range(n):
        sep = rng.uniform(0.0, 4.0)
        span = np.log10(tau_hi / tau_lo) - sep  # room left for tau1 inside the range
        tau1 = tau_lo * 10 ** rng.uniform(0.3, max(span - 0.3, 0.31))
        tau2 = tau1 * 10**sep
        r2 = 10 ** rng.uniform(1.5, 3.5)
        r1 = r2 * 10 ** rng.uniform(-1.5, 1.5)
        r0 = 10 ** rng.uniform(0.7, 2.0)
        n1, n2 = rng.uniform(0.7, 0.97, size=2)
        truth = {"R0": r0, "R1": r1, "CPE1_0": tau1**n1 / r1, "CPE1_1": n1,
                 "R2": r2, "CPE2_0": tau2**n2 / r2, "CPE2_1": n2}
        z = circ.impedance(np.array([truth[k] for k in circ.param_names]), f)
        z = z + noise * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2)
        cases.append(Case(truth, Spectrum(frequency=f, z=z, meta={"label": f"case{len(cases)}"}), sep))
    return cases


def reference_chisq(case: Case, n_random: int = 150, seed: int = 1) -> float:
    """Lowest chi-square over the true start and ``n_random`` random starts (exhaustive reference)."""
    rng = np.random.default_rng(seed)
    best = fit(case.spectrum, CIRCUIT, initial=case.truth, starts=1, kk=False, order_arcs=False, profile=False).chisq
    f = case.spectrum.frequency
    tau_lo, tau_hi = 1 / (2 * np.pi * f.max()) / 10, 1 / (2 * np.pi * f.min()) * 10
    zmax = np.abs(case.spectrum.z).max()
    for _ in range(n_random):
        n1, n2 = rng.uniform(0.5, 1.0, 2)
        t1, t2 = np.sort(10 ** rng.uniform(np.log10(tau_lo), np.log10(tau_hi), 2))
        r1, r2 = zmax * 10 ** rng.uniform(-2, 0.3, 2)
        start = {"R0": zmax * 10 ** rng.uniform(-3, 0), "R1": r1, "CPE1_0": t1**n1 / r1, "CPE1_1": n1,
                 "R2": r2, "CPE2_0": t2**n2 / r2, "CPE2_1": n2}
        res = fit(case.spectrum, CIRCUIT, initial=start, starts=1, kk=False, order_arcs=False, profile=False)
        best = min(best, res.chisq)
    return best


@dataclass(frozen=True)
class Score:
    n: int
    reached_optimum: int
    r2_within_3sigma: int
    failures: list[int]

    @property
    def optimum_rate(self) -> float:
        return self.reached_optimum / self.n

    @property
    def r2_rate(self) -> float:
        return self.r2_within_3sigma / self.n


def score(cases: list[Case], n_random: int = 150, **fit_options) -> Score:
    """Fit every case with no guess and compare with the exhaustive reference."""
    reached = within = 0
    failures = []
    for i, case in enumerate(cases):
        res = fit(case.spectrum, CIRCUIT, kk=False, **fit_options)
        ref = reference_chisq(case, n_random=n_random)
        if res.chisq <= ref * 1.01:
            reached += 1
        else:
            failures.append(i)
        err = res.stderr["R2"]
        if np.isfinite(err) and abs(res.values["R2"] - case.truth["R2"]) <= 3 * err:
            within += 1
    return Score(len(cases), reached, within, failures)
