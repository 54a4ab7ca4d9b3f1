"""Numbers the data do not determine.

Spectra are built here from the elements' formulas (not eisfit's model), with complex noise
of 0.5 % of |Z|; the references are the true values.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

import eisfit
from eisfit.fitting.assemble import profile_unresolved_flags
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
