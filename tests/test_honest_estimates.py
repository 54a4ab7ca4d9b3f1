"""Numbers the data do not determine, and numbers they do although the covariance is singular.

Spectra are built here from the elements' formulas (not eisfit's model), with complex noise
of 0.5 % of |Z|; the references are the true values.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import eisfit
from eisfit.fitting.assemble import profile_unresolved_flags
from eisfit.fitting.flags import unresolved_keys
from eisfit.model import Circuit

BLOCKING = "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"


def _noisy(z: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return z + 0.005 * np.abs(z) * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size)) / np.sqrt(2)


def _fit(spectrum: eisfit.Spectrum, circuit: str, **options) -> eisfit.FitResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eisfit.fit(spectrum, circuit=circuit, **options)


def test_an_interface_arc_below_the_data_beside_a_blocking_cpe_gets_its_profile_error():
    """A blocking pellet whose interface arc has its apex at 1.06 Hz, below the lowest
    frequency (4.0 Hz): the blocking CPE takes over what the arc lacks below the data, and the
    Wald error had read R2 = 4,821 +- 1,050 ohm for a true 8,035 (3.1 stderr away, with only
    the caution fapex-outside-range). Its resistance is now profiled: the error follows the
    chi-square surface (+- 1,628) and covers the truth within 2 stderr."""
    truth = dict(R0=40.02, R1=111.0, CPE1_0=3.915e-06, CPE1_1=0.7686, R2=8034.8, CPE2_0=2.475e-05,
                 CPE2_1=0.8518, CPE3_0=5.089e-04, CPE3_1=0.8565)
    f = np.logspace(6, math.log10(4.016), 55)
    jw = 2j * np.pi * f
    z = (truth["R0"] + 1 / (1 / truth["R1"] + truth["CPE1_0"] * jw ** truth["CPE1_1"])
         + 1 / (1 / truth["R2"] + truth["CPE2_0"] * jw ** truth["CPE2_1"]) + 1 / (truth["CPE3_0"] * jw ** truth["CPE3_1"]))
    res = _fit(eisfit.Spectrum(f, _noisy(z, 1_000_004)), BLOCKING)
    assert "R2" in res.intervals and "profile-stderr:R2" in res.flags
    assert abs(res.values["R2"] - truth["R2"]) < 2 * res.stderr["R2"]
    iv = res.intervals["R2"]
    assert iv["lower_3sigma"] < truth["R2"] < iv["upper_3sigma"]


def test_a_blocked_arc_whose_profile_reaches_ten_times_its_value_is_unresolved():
    """The mirror of a profile reaching zero, for an arc whose apex lies below 3x the lowest
    frequency beside a blocking element: a 1-sigma interval up to more than 10x the value
    (or open upwards) leaves the resistance undetermined. Not in a circuit finite at DC,
    where the same interval keeps its number (and the headline circuit's results)."""
    values = dict(R0=10.0, R1=100.0, CPE1_0=1e-9, CPE1_1=0.9, R2=150.0, CPE2_0=1e-3, CPE2_1=0.9,
                  CPE3_0=1e-3, CPE3_1=0.9)
    tau2 = (values["R2"] * values["CPE2_0"]) ** (1 / values["CPE2_1"])
    f_min = 1.0 / (2 * np.pi * tau2)  # the apex at the lowest frequency: within 3x of it
    wide = dict(lower_1sigma=100.0, upper_1sigma=2000.0, lower_3sigma=30.0, upper_3sigma=1e5,
                open_lower=False, open_upper=False, open_lower_1sigma=False, open_upper_1sigma=False)
    narrow = dict(wide, upper_1sigma=1000.0)
    blocking = Circuit(BLOCKING)
    assert profile_unresolved_flags(values, {"R2": wide}, (), blocking, f_min) == ["unresolved:R2"]
    assert profile_unresolved_flags(values, {"R2": narrow}, (), blocking, f_min) == []
    assert profile_unresolved_flags(values, {"R2": dict(narrow, open_upper_1sigma=True)}, (), blocking,
                                    f_min) == ["unresolved:R2"]
    assert profile_unresolved_flags(values, {"R2": wide}, (), blocking, f_min / 100) == []  # apex well inside
    finite = {k: v for k, v in values.items() if not k.startswith("CPE3")}
    assert profile_unresolved_flags(finite, {"R2": wide}, (), Circuit("R0-p(R1,CPE1)-p(R2,CPE2)"), f_min) == []


def _finite_warburg(kind: str, r1: float, aw: float, tau: float, seed: int) -> eisfit.Spectrum:
    """R0-p(R1,CPE1)-<kind>1 (R0 = 10 ohm, CPE1 1e-6 S*s^n, n 0.9), Z0 = aw sqrt(2 tau),
    61 points 100 kHz - 0.1 Hz: the transition 1/(2 pi tau) far below the data."""
    f = np.logspace(5, -1, 61)
    jw = 2j * np.pi * f
    u = np.sqrt(jw * tau)
    z0 = aw * math.sqrt(2 * tau)
    w = z0 / (u * np.tanh(u)) if kind == "Wo" else z0 * np.tanh(u) / u
    return eisfit.Spectrum(f, _noisy(10 + 1 / (1 / r1 + 1e-6 * jw ** 0.9) + w, seed))


@pytest.mark.parametrize("kind,r1,aw,tau,seed", [
    # singular covariance, Z0 and tau unresolved: the coefficient had read 56.28 with stderr nan,
    # flagged unresolved
    ("Wo", 464.88, 55.758, 6129.5, 50),
    # Z0 = 4.0e4 ohm beyond 100x max|Z| as tau ran to 2.5e4 s: no semi-infinite flag, the
    # coefficient (178.9 for a true 179.1) hidden with the element's other quantities
    ("Wo", 29.759, 179.08, 1218.0, 3),
    ("Ws", 50.0, 100.0, 1e4, 7),
])
def test_the_coefficient_of_a_semi_infinite_warburg_with_a_singular_covariance_keeps_its_number(
        kind, r1, aw, tau, seed):
    """The coefficient Aw = Z0/sqrt(2 tau) is estimable where Z0 and tau trade exactly: its
    stderr from the covariance in the coordinates (Aw, tau) is finite and covers the truth;
    the element is flagged semi-infinite, Z0 and tau read unresolved, Aw (and per cm2) not."""
    rng = np.random.default_rng(seed)
    if kind == "Wo":  # the draws of the survey that found these truths, so that the noise is its own
        rng.uniform(size=3)
    spectrum = _finite_warburg(kind, r1, aw, tau, seed) if kind == "Ws" else _finite_warburg_survey(r1, aw, tau, rng)
    res = _fit(spectrum, f"R0-p(R1,CPE1)-{kind}1", area_cm2=0.785)
    key = f"{kind}1_aw_ohm_per_sqrt_s"
    assert "singular-covariance" in res.flags and f"semi-infinite:{kind}1" in res.flags
    assert {f"unresolved:{kind}1_0", f"unresolved:{kind}1_1"} <= set(res.flags)
    assert not unresolved_keys(res.flags, [key, f"{kind}1_aw_ohm_cm2_per_sqrt_s"])
    error = res.derived[f"{key}_stderr"]
    assert 0 < error < 0.02 * aw and abs(res.derived[key] - aw) < 3 * error
    assert res.derived[f"{kind}1_aw_ohm_cm2_per_sqrt_s_stderr"] == pytest.approx(0.785 * error)


def _finite_warburg_survey(r1: float, aw: float, tau: float, rng: np.random.Generator) -> eisfit.Spectrum:
    """As :func:`_finite_warburg` for a Wo, the noise drawn from ``rng`` as the survey drew it."""
    f = np.logspace(5, -1, 61)
    jw = 2j * np.pi * f
    u = np.sqrt(jw * tau)
    z = 10 + 1 / (1 / r1 + 1e-6 * jw ** 0.9) + aw * math.sqrt(2 * tau) / (u * np.tanh(u))
    return eisfit.Spectrum(f, z + 0.005 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
                           / np.sqrt(2))


@pytest.mark.parametrize("truth,f_min,seed", [
    # the interface arc's apex at 4.4 Hz, below f_min (5.2 Hz): the fit spent the arc at
    # 5e5 Hz (R = 18 +- 380 ohm) and lowered the blocking CPE's n to 0.62 (+- 0.019; true
    # 0.91), 30.2 s^2 above the optimum that a polish from the truth reaches
    (dict(R0=41.35, R1=4078.8, CPE1_0=2.6492e-08, CPE1_1=0.76833, R2=568.62, CPE2_0=9.1213e-05, CPE2_1=0.89292,
          CPE3_0=0.00063965, CPE3_1=0.9119), 5.220746774320572, 183),
    # the interface arc at 1.8 Hz near f_min (0.55 Hz): 9.9 s^2 above, both arcs collapsed
    (dict(R0=23.467, R1=1.2858, CPE1_0=0.00015866, CPE1_1=0.9336, R2=186.98, CPE2_0=0.00085545, CPE2_1=0.76217,
          CPE3_0=2.0116e-05, CPE3_1=0.87546), 0.5465106989612308, 163),
])
def test_a_blocking_pellet_with_its_interface_arc_at_the_low_end_reaches_the_optimum(truth, f_min, seed):
    """The edge-arc round (starts with one arc at the low end of the data) reaches the
    optimum next to the truth, and the blocking CPE's exponent there covers its true value."""
    f = np.logspace(6, math.log10(f_min), int(round(10 * (6 - math.log10(f_min)))) + 1)
    jw = 2j * np.pi * f
    z = (truth["R0"] + 1 / (1 / truth["R1"] + truth["CPE1_0"] * jw ** truth["CPE1_1"])
         + 1 / (1 / truth["R2"] + truth["CPE2_0"] * jw ** truth["CPE2_1"]) + 1 / (truth["CPE3_0"] * jw ** truth["CPE3_1"]))
    spectrum = eisfit.Spectrum(f, _noisy(z, seed + 1_000_000))
    auto = _fit(spectrum, BLOCKING)
    from_truth = _fit(spectrum, BLOCKING, initial=truth, starts=1)
    assert auto.chisq <= from_truth.chisq + auto.chisq / auto.dof
    assert abs(auto.values["CPE3_1"] - truth["CPE3_1"]) < 3 * auto.stderr["CPE3_1"]


def _random_gs_spectrum(seed: int) -> tuple[dict[str, float], eisfit.Spectrum]:
    """R0-p(R1,CPE1)-Gs1 with random truths (Gs: R_G / (u tanh(phi u)), u = sqrt(1 + j w t_G)),
    81 points 1 MHz - 10 mHz, as the survey that found the case drew them."""
    rng = np.random.default_rng(seed)

    def log_uniform(a: float, b: float) -> float:
        return 10 ** rng.uniform(math.log10(a), math.log10(b))

    t = dict(R0=log_uniform(1, 50), R1=log_uniform(10, 1e3), CPE1_1=rng.uniform(0.75, 0.98),
             Gs1_0=log_uniform(10, 1e3), Gs1_1=log_uniform(1e-3, 1), Gs1_2=rng.uniform(0.3, 3))
    t["CPE1_0"] = (1 / (2 * np.pi * log_uniform(1e3, 1e5))) ** t["CPE1_1"] / t["R1"]
    f = np.logspace(6, -2, 81)
    jw = 2j * np.pi * f
    u = np.sqrt(1 + jw * t["Gs1_1"])
    z = t["R0"] + 1 / (1 / t["R1"] + t["CPE1_0"] * jw ** t["CPE1_1"]) + t["Gs1_0"] / (u * np.tanh(t["Gs1_2"] * u))
    z = z + 0.005 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2)
    return t, eisfit.Spectrum(f, z)


@pytest.mark.parametrize("seed", [11, 198])
def test_a_gerischer_length_near_the_plain_gerischer_reads_as_a_lower_bound(seed):
    """A finite-length Gerischer with phi 2.8 (tanh 0.993): the fit ends in a valley at
    phi 1.16 (seed 11) or 1.54 (seed 198), a few s^2 below the plain Gerischer (phi -> inf), and
    the Wald error had read 1.16 +- 0.10 and 1.54 +- 0.089 (z -16 and -13, no flag). Its
    profile's 3-sigma interval reaches the plain Gerischer: it is open upwards, and the walk's
    limit (1000x the value) had given a stderr of 333x the value (1.54 +- 5.1e+02). Now phi has
    no stderr (nan, null in JSON, flag profile-open), the terminal prints the lower bound the
    profile gives, which lies below the truth, and no number from the walk's limit; R_G keeps
    its number."""
    truth, spectrum = _random_gs_spectrum(seed)
    res = _fit(spectrum, "R0-p(R1,CPE1)-Gs1")
    iv = res.intervals["Gs1_2"]
    assert iv["open_upper"] and iv["lower_3sigma"] < truth["Gs1_2"]
    assert math.isnan(res.stderr["Gs1_2"]) and res.to_dict()["stderr"]["Gs1_2"] is None
    assert math.isnan(res.table_row()["Gs1_2_stderr"])
    assert "profile-open:Gs1_2" in res.flags
    assert "large-stderr:Gs1_2" not in res.flags and "profile-stderr:Gs1_2" not in res.flags
    lines = res.summary().splitlines()
    phi_line = next(line for line in lines if line.split()[0] == "Gs1_2")
    assert f"> {iv['lower_3sigma']:.4g}" in phi_line and "±" not in phi_line and "undetermined" in phi_line
    assert f"{iv['lower_1sigma']:.4g}-{iv['upper_1sigma']:.4g} at 1 sigma" in phi_line
    assert iv["upper_3sigma"] is None  # where the walk stopped is no property of the data
    phi_interval = next(line for line in lines if line.startswith("  Gs1_2 profile likelihood"))
    assert phi_interval.endswith(f"3 sigma [{iv['lower_3sigma']:.4g}, open] ")
    assert f"Gs1_2>{iv['lower_3sigma']:.4g} (3 sigma)" in repr(res)
    assert not unresolved_keys(res.flags, ["Gs1_0"]) and res.stderr["Gs1_0"] < res.values["Gs1_0"]


def _two_arcs(f: np.ndarray, r0: float, r1: float, q1: float, n1: float, r2: float, q2: float,
              n2: float) -> np.ndarray:
    """R0-p(R1,CPE1)-p(R2,CPE2), Z_CPE = 1/(Q (j w)^n), ohm."""
    jw = 2j * np.pi * f
    return r0 + 1 / (1 / r1 + q1 * jw**n1) + 1 / (1 / r2 + q2 * jw**n2)


TWO_ARCS = dict(r0=37.0, r1=7.2, q1=4.7e-4, n1=0.94, r2=31.7, q2=2.6e-3, n2=0.74)  # apexes 66 and 4.5 Hz


def test_an_exponent_whose_stderr_spans_most_of_its_range_reads_undetermined():
    """A small arc (7.2 ohm) a decade from a larger one, 19 points over 1 MHz-10 mHz with 3 %
    noise: its n reads 1.0 +- 0.64 (on its bound), the stderr below the value, so the rule
    stderr >= value had shown it as a number (a real 19-point BioLogic sweep: CPE2_1 0.98804 +-
    0.68 beside eight undetermined parameters). Its 1-sigma interval covers 0.36-1 of the range
    0-1: flagged stderr-spans-range and printed undetermined."""
    f = np.logspace(6, -2, 19)
    exact = _two_arcs(f, **TWO_ARCS)
    rng = np.random.default_rng(26)
    z = exact + 0.03 * np.abs(exact) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2)
    res = _fit(eisfit.Spectrum(f, z), "R0-p(R1,CPE1)-p(R2,CPE2)")
    n, error = res.values["CPE1_1"], res.stderr["CPE1_1"]
    assert 0.5 < error < n <= 1.0
    assert "stderr-spans-range:CPE1_1" in res.flags
    line = next(line for line in res.summary().splitlines() if line.split()[0] == "CPE1_1")
    assert "undetermined" in line and "stderr-spans-range" in line
    assert "stderr-spans-range:CPE2_1" not in res.flags and res.stderr["CPE2_1"] < 0.25


@pytest.mark.parametrize("seed", range(4))
def test_well_determined_exponents_are_not_flagged(seed):
    """The same two arcs on 81 points with 0.5 % noise: both n within 4 stderr of the truth,
    their stderr a few hundredths, and neither flagged (the synthetic families of the
    robustness set never cover more than 37 % of the range there)."""
    f = np.logspace(6, -2, 81)
    z = _noisy(_two_arcs(f, **TWO_ARCS), seed)
    res = _fit(eisfit.Spectrum(f, z), "R0-p(R1,CPE1)-p(R2,CPE2)")
    for name, true in (("CPE1_1", TWO_ARCS["n1"]), ("CPE2_1", TWO_ARCS["n2"])):
        assert abs(res.values[name] - true) < 4 * res.stderr[name] < 0.4
    assert not any(flag.startswith("stderr-spans-range") for flag in res.flags)


@pytest.mark.parametrize("value,stderr,spans", [
    (0.98804, 0.68, True),  # the real sweep: 0.31-1 of 0-1
    (0.61511, 0.28, True),  # 0.34-0.90: 56 %
    (1.0, 0.03, False),  # an ideal capacitor on its bound
    (0.75, 0.2, False),  # 0.55-0.95: 40 %
    (0.5, math.nan, False),  # no stderr: the rule of undetermined() judges it
])
def test_the_range_rule_on_closed_form_intervals(value, stderr, spans):
    from eisfit.analysis.quality import stderr_spans_range

    assert stderr_spans_range(value, stderr, 0.0, 1.0) is spans


def test_an_arc_whose_resistance_ran_away_keeps_a_blocking_cpes_values():
    """A biosensor's blocking line fitted with R0-p(R1,CPE1): R1 runs to 3e22 ohm and over the
    data the arc is its CPE alone, whose Q and n the data fix (1.05e-5 +- 2.7e-7, 0.774 +-
    0.005), yet all three had read unresolved. R1 and the arc's tau, f_apex and C_eff stay
    unresolved; Q and n keep their values (within 3 stderr of the truth here). A collapsed arc,
    n below 0.6 (a nearly flat resistance), keeps Q unresolved."""
    from eisfit.fitting.assemble import unresolved_flags
    from eisfit.model import load_circuit

    f = np.logspace(5, -1, 49)
    rng = np.random.default_rng(4)
    z = 480.0 + 1.0 / (1.05e-5 * (2j * np.pi * f) ** 0.774)
    z = z * (1 + 0.003 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)))
    res = eisfit.fit(eisfit.Spectrum(f, z), circuit="R0-p(R1,CPE1)")
    assert "unresolved:R1" in res.flags and not {"unresolved:CPE1_0", "unresolved:CPE1_1"} & set(res.flags)
    assert {"unresolved:CPE1_tau_s", "unresolved:CPE1_ceff_F"} <= set(res.flags)
    assert abs(res.values["CPE1_1"] - 0.774) < 3 * res.stderr["CPE1_1"]
    assert abs(math.log(res.values["CPE1_0"] / 1.05e-5)) < 3 * res.stderr["CPE1_0"] / res.values["CPE1_0"]
    definition = load_circuit("R0-p(R1,CPE1)")
    collapsed = {"R0": 0.005, "R1": 1e20, "CPE1_0": 33.5, "CPE1_1": 0.105}
    flags = unresolved_flags(definition, collapsed, f, np.full(f.size, 0.03 + 0j))
    assert {"unresolved:R1", "unresolved:CPE1_0"} <= set(flags)


def test_an_arc_cut_below_the_lowest_frequency_reads_open_through_noise():
    """An arc whose apex lies half a decade below f_min (100 ohm, n 0.85, beside a 100 ohm bulk
    arc; 10 points per decade, 2 % complex noise) had its low end read closed 8 times in 300:
    the last point below 95 % of a noisy neighbour. A DRT then called it a closed, determined
    35 ohm process. The band is judged on a parabola through its points now; an arc whose
    apex lies 0.6 decade inside the end still reads closed."""
    from eisfit.analysis.derived import still_rising_at_end

    f = np.logspace(6, -1, 71)
    rng = np.random.default_rng(0)

    def minus_imag(apex_hz):
        z = (10 + 100 / (1 + (1j * 2 * np.pi * f * 1e-5) ** 0.9)
             + 100 / (1 + (1j * f / apex_hz) ** 0.85))
        z = z + 0.02 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2)
        return -z.imag

    assert all(still_rising_at_end(f, minus_imag(0.1 / 10 ** 0.5), low_end=True) for _ in range(300))
    assert not any(still_rising_at_end(f, minus_imag(0.1 * 10 ** 0.6), low_end=True) for _ in range(300))


def test_the_open_end_parabola_is_numpys_least_squares_parabola():
    """The parabola the open-end test judges a band on (normal equations solved by hand, as
    numpy's polynomial fit cost 0.12 ms a call, twice per fit) against numpy.polyfit."""
    from eisfit.analysis.derived import _parabola_through

    rng = np.random.default_rng(3)
    for _ in range(200):
        x = np.sort(rng.uniform(-7.0, -6.5, rng.integers(5, 9)))
        y = rng.normal(size=x.size) * 10 ** rng.uniform(-3, 4)
        values, at_end = _parabola_through(x, y, float(x[0]))
        reference = np.polyval(np.polyfit(x, y, 2), x)
        assert values == pytest.approx(reference, abs=1e-9 * np.abs(y).max())
        assert at_end == pytest.approx(reference[0], abs=1e-9 * np.abs(y).max())
