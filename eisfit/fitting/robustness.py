"""Synthetic robustness benchmark of the automatic fit (no user guess).

A seeded set of spectra of R0-p(R1,CPE1)-p(R2,CPE2) spanning 3 decades in R1/R2,
0 to 4 decades of time-constant separation (down to overlapping arcs) and 0.5 %
noise. Each is fitted twice: by :func:`eisfit.fit` with no guess, and by an
exhaustive reference (the true parameters plus many random starts over a wide
box). Scores: the fraction that reaches the reference chi-square within 1 %,
and the fraction whose R2 lies within 3 reported standard errors of the truth.

Run ``python scripts/robustness.py`` (see README) for the full 500-spectrum set.

Circuit families (issue 13): :data:`FAMILIES` maps each circuit to a generator of random
parameters with every feature inside 1 MHz-10 mHz and arcs at least a decade apart;
:func:`family_cases` makes seeded 0.5 %-noise spectra of one family and
:func:`score_family` compares ``eisfit.fit`` with no guess against a fit polished from the
true parameters plus random starts around them (``scripts/robustness.py --family``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model import Circuit
from ..spectrum import Spectrum
from .engine import fit
from .intervals import interval_end
from .flags import PROFILE_OPEN_FLAG

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
    # every parameter's count of fits whose truth lies within 3 reported standard errors
    # (:func:`truth_within_3sigma`), by name in the circuit's order; the same among the
    # ``unflagged`` fits, those that carry no flag at all
    within_3sigma: dict[str, int] = field(default_factory=dict)
    unflagged: int = 0
    within_3sigma_unflagged: dict[str, int] = field(default_factory=dict)

    @property
    def optimum_rate(self) -> float:
        return self.reached_optimum / self.n

    @property
    def r2_rate(self) -> float:
        return self.r2_within_3sigma / self.n


def score(cases: list[Case], n_random: int = 150, **fit_options) -> Score:
    """Fit every case with no guess and compare with the exhaustive reference."""
    reached = 0
    failures = []
    within = dict.fromkeys(cases[0].truth if cases else (), 0)
    within_unflagged, unflagged = dict(within), 0
    for i, case in enumerate(cases):
        res = fit(case.spectrum, CIRCUIT, kk=False, **fit_options)
        ref = reference_chisq(case, n_random=n_random)
        if res.chisq <= ref * 1.01:
            reached += 1
        else:
            failures.append(i)
        unflagged += not res.flags
        for name in within:
            covered = truth_within_3sigma(res, name, case.truth[name])
            within[name] += covered
            within_unflagged[name] += covered and not res.flags
    return Score(len(cases), reached, within.get("R2", 0), failures, within, unflagged, within_unflagged)


def truth_within_3sigma(res, name: str, truth: float) -> bool:
    """Whether ``truth`` lies within the 3-sigma range ``res`` reports for ``name``: value +-
    3 stderr, or, for a parameter flagged ``profile-open`` (its profile open upwards, no
    stderr), from the profile's 3-sigma lower bound up (what it reports instead: the walk's
    limit had given a stderr of 333x the value, which held any truth)."""
    err = res.stderr[name]
    if np.isfinite(err):
        return bool(abs(res.values[name] - truth) <= 3 * err)
    interval = res.intervals.get(name, {})
    if f"{PROFILE_OPEN_FLAG}:{name}" not in res.flags or not interval:
        return False
    lower = interval_end(interval, "lower_3sigma")  # None: open downwards too, no bound at 3 sigma
    return lower is None or truth >= lower


# ================================================================ circuit families (issue 13)
FAMILY_F_MAX_HZ, FAMILY_F_MIN_HZ = 1e6, 1e-2
FAMILY_TAU_MIN_S = 1 / (2 * np.pi * FAMILY_F_MAX_HZ)
FAMILY_TAU_MAX_S = 1 / (2 * np.pi * FAMILY_F_MIN_HZ)
FAMILY_NOISE = 0.005


def _arc_taus(rng: np.random.Generator, n: int, extra_room_decades: float = 0.0) -> list[float]:
    """``n`` ascending arc time constants (s) inside the family range, >= 1 decade apart.

    ``extra_room_decades`` keeps that much of the slow end free (for a diffusion tail)."""
    lo = np.log10(FAMILY_TAU_MIN_S) + 0.5
    hi = np.log10(FAMILY_TAU_MAX_S) - 0.5 - extra_room_decades
    while True:
        t = np.sort(rng.uniform(lo, hi, n))
        if n == 1 or np.all(np.diff(t) >= 1.0):
            return list(10**t)


def _cpe_arc(rng, name_r: str, name_q: str, r_ohm: float, tau_s: float) -> dict[str, float]:
    n = rng.uniform(0.7, 0.97)
    return {name_r: r_ohm, f"{name_q}_0": tau_s**n / r_ohm, f"{name_q}_1": n}


def _log_uniform(rng, lo: float, hi: float) -> float:
    return float(10 ** rng.uniform(np.log10(lo), np.log10(hi)))


def _inductance(rng, r0_ohm: float) -> float:
    """A lead inductance whose reactance at f_max is 0.1-3x R0 (visible, not dominant), H."""
    return _log_uniform(rng, 0.1, 3.0) * r0_ohm / (2 * np.pi * FAMILY_F_MAX_HZ)


def _two_arcs(rng) -> dict[str, float]:
    t1, t2 = _arc_taus(rng, 2)
    r2 = _log_uniform(rng, 10, 3000)
    r1 = r2 * _log_uniform(rng, 0.1, 10)
    return {"R0": _log_uniform(rng, 5, 100), **_cpe_arc(rng, "R1", "CPE1", r1, t1), **_cpe_arc(rng, "R2", "CPE2", r2, t2)}


def _one_arc(rng) -> dict[str, float]:
    (t1,) = _arc_taus(rng, 1)
    return {"R0": _log_uniform(rng, 5, 100), **_cpe_arc(rng, "R1", "CPE1", _log_uniform(rng, 10, 3000), t1)}


def _lead_two_arcs(rng) -> dict[str, float]:
    p = _two_arcs(rng)
    return {"L0": _inductance(rng, p["R0"]), **p}


def _three_arcs(rng) -> dict[str, float]:
    taus = _arc_taus(rng, 3)
    r = [_log_uniform(rng, 10, 3000) for _ in taus]
    out = {"R0": _log_uniform(rng, 5, 100)}
    for k, (rk, tk) in enumerate(zip(r, taus), start=1):
        out.update(_cpe_arc(rng, f"R{k}", f"CPE{k}", rk, tk))
    return out


def _blocking(rng) -> dict[str, float]:
    """Two arcs and a blocking CPE whose |Z| equals the second arc's R at 1-30x below its apex."""
    p = _two_arcs(rng)
    del p["R0"]
    n3 = rng.uniform(0.75, 0.98)
    w3 = 1 / (p["R2"] and (p["CPE2_0"] * p["R2"]) ** (1 / p["CPE2_1"])) / _log_uniform(rng, 1, 30)
    w3 = max(w3, 2 * np.pi * FAMILY_F_MIN_HZ * 3)
    return {**p, "CPE3_0": 1 / (p["R2"] * w3**n3), "CPE3_1": n3}


def _diffusion(rng, capacitor: str, with_lead: bool) -> dict[str, float]:
    """Bulk arc, then charge transfer R2 || capacitor with a finite Warburg behind R2.

    The diffusion time constant lies 1-3 decades above the charge-transfer arc, inside the range."""
    t1, t2 = _arc_taus(rng, 2, extra_room_decades=1.0)
    r0 = _log_uniform(rng, 5, 100)
    r1, r2 = _log_uniform(rng, 10, 3000), _log_uniform(rng, 10, 3000)
    tau_d = min(t2 * _log_uniform(rng, 10, 1000), FAMILY_TAU_MAX_S / 3)
    out = {"R0": r0, **_cpe_arc(rng, "R1", "CPE1", r1, t1), "R2": r2}
    if capacitor == "C":
        out["C2"] = t2 / r2
    else:
        q = _cpe_arc(rng, "R2", "CPE2", r2, t2)
        out.update({"CPE2_0": q["CPE2_0"], "CPE2_1": q["CPE2_1"]})
    out.update({"W2_0": r2 * _log_uniform(rng, 0.3, 3), "W2_1": tau_d})
    if with_lead:
        out = {"L0": _inductance(rng, r0), **out}
    return out


def _rename_warburg(params: dict[str, float], kind: str) -> dict[str, float]:
    return {k.replace("W2_", f"{kind}2_"): v for k, v in params.items()}


FAMILIES = {
    "R0-p(R1,CPE1)-p(R2,CPE2)": _two_arcs,
    "R0-p(R1,CPE1)": _one_arc,
    "L0-R0-p(R1,CPE1)-p(R2,CPE2)": _lead_two_arcs,
    "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)": _three_arcs,
    "p(R1,CPE1)-p(R2,CPE2)-CPE3": _blocking,
    "R0-p(R1,CPE1)-p(CPE2,R2-Wo2)": lambda rng: _rename_warburg(_diffusion(rng, "CPE", False), "Wo"),
    "L0-R0-p(R1,CPE1)-p(C2,R2-Wo2)": lambda rng: _rename_warburg(_diffusion(rng, "C", True), "Wo"),
    "R0-p(R1,CPE1)-p(CPE2,R2-Ws2)": lambda rng: _rename_warburg(_diffusion(rng, "CPE", False), "Ws"),
}
# the six everyday families of issue 13 (the headline and one-arc circuits are scored too)
SIX_FAMILIES = tuple(list(FAMILIES)[2:])


def family_cases(family: str, n: int, seed: int = 13, noise: float = FAMILY_NOISE) -> list[Case]:
    """``n`` seeded spectra of one family (1 MHz-10 mHz, 10 points per decade, ``noise``
    relative Gaussian noise on Z' and Z'' together)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; use one of {', '.join(FAMILIES)}")
    rng = np.random.default_rng([seed, list(FAMILIES).index(family)])
    circ = Circuit(family)
    f = np.logspace(np.log10(FAMILY_F_MAX_HZ), np.log10(FAMILY_F_MIN_HZ), 81)
    cases = []
    for k in range(n):
        truth = FAMILIES[family](rng)
        z = circ.impedance(np.array([truth[p] for p in circ.param_names]), f)
        z = z + noise * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2)
        cases.append(Case(truth, Spectrum(frequency=f, z=z, meta={"label": f"{family}#{k}"}), float("nan")))
    return cases


def random_start(circ: Circuit, truth: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    """A start around the truth: scale parameters x 10^U(-1, 1), exponents U(0.5, 1)."""
    out = {}
    for name, is_log, (lo, hi) in zip(circ.param_names, circ.log_scale, circ.default_bounds):
        if is_log:
            out[name] = truth[name] * 10 ** rng.uniform(-1, 1)
        else:
            out[name] = float(rng.uniform(max(lo, 0.5), min(hi, 1.0)))
    return out


def family_reference_chisq(family: str, case: Case, n_random: int = 20, seed: int = 1) -> float:
    """Lowest chi-square of a local fit from the true parameters and ``n_random`` starts around them."""
    rng = np.random.default_rng(seed)
    circ = Circuit(family)
    opts = dict(starts=1, kk=False, order_arcs=False, profile=False)
    best = fit(case.spectrum, family, initial=case.truth, **opts).chisq
    for _ in range(n_random):
        best = min(best, fit(case.spectrum, family, initial=random_start(circ, case.truth, rng), **opts).chisq)
    return best


@dataclass(frozen=True)
class FamilyScore:
    family: str
    n: int
    reached_optimum: int
    failures: list[tuple[int, float]]  # (case index, chisq / reference chisq)
    seconds_per_fit: float

    @property
    def optimum_rate(self) -> float:
        return self.reached_optimum / self.n


def score_family(family: str, n: int, n_random: int = 20, seed: int = 13, **fit_options) -> FamilyScore:
    """Fit ``n`` spectra of ``family`` with no guess (``eisfit.fit`` defaults, KK test off
    unless ``kk=True`` is given) and compare with :func:`family_reference_chisq`."""
    import time

    fit_options.setdefault("kk", False)
    reached, failures, spent = 0, [], 0.0
    for i, case in enumerate(family_cases(family, n, seed)):
        t0 = time.perf_counter()
        res = fit(case.spectrum, family, **fit_options)
        spent += time.perf_counter() - t0
        ref = family_reference_chisq(family, case, n_random)
        if res.chisq <= ref * 1.01:
            reached += 1
        else:
            failures.append((i, float(res.chisq / ref)))
    return FamilyScore(family, n, reached, failures, spent / max(n, 1))
