"""Findings of the Kramers-Kronig audit (session 43): bad input (a point of |Z| = 0, an
unknown weighting), spectra whose Z'' is flipped over part of the range, drifts that leave
residuals under the thresholds but far above the noise, and the valid band. Synthetic
spectra with seeded noise; the real-file tests read EISFIT_REALDATA and skip when absent."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import eisfit
from eisfit.errors import DataError, FitError
from eisfit.io.export import write_csv

F = np.logspace(5, -1, 31)  # 100 kHz .. 0.1 Hz, 5 points per decade
W = 2 * np.pi * F
Z_RC = 40 + 150 / (1 + 1j * W * 150 * 1e-6)


def negative(f, z, label="s") -> eisfit.Spectrum:
    return eisfit.Spectrum(frequency=f, z=z, meta={"imag_sign": "negative", "label": label})


# ---------------------------------------------------------------- A. a point of |Z| = 0
@pytest.mark.parametrize("value", [0j, 1e-300 + 0j])
def test_a_zero_impedance_point_is_a_data_error_naming_its_frequency(value):
    """A drop-out of the instrument (Z = 0 at 10 kHz) gave a nan largest residual, status
    "drift" and a band that cut the six highest points; now kk_test and kk_valid_band refuse
    it as eisfit.fit does, with the frequency to leave out."""
    z = Z_RC.copy()
    z[5] = value
    s = negative(F, z)
    for test in (eisfit.kk_test, eisfit.kk_valid_band):
        with pytest.raises(DataError, match=r"the impedance is 0 at 1 point\(s\) \(10 kHz\): the Lin-KK residuals "
                                            r"are relative to \|Z\|; leave them out \(exclude_hz=\[10000\]"):
            test(s)
    with pytest.raises(FitError, match=r"the impedance is 0 at 1 point\(s\) \(10 kHz\): modulus weighting"):
        eisfit.fit(s, "R0-p(R1,C1)")
    assert eisfit.kk_test(s.exclude([1e4])).passed  # left out as the message says: a valid spectrum


def test_validate_reports_a_zero_impedance_point_as_an_error_not_a_drift(tmp_path):
    from eisfit.cli import main

    z = Z_RC.copy()
    z[5] = 0
    path = write_csv([negative(F, z)], tmp_path / "zero.csv")
    r = CliRunner().invoke(main, ["validate", str(path), "--json"])
    assert r.exit_code == 2 and r.stdout.strip() in ("", "[]"), (r.stdout, r.stderr)
    assert "the impedance is 0 at 1 point(s) (10 kHz)" in r.stderr and "drift" not in r.stdout
    r = CliRunner().invoke(main, ["validate", str(path), "--exclude-hz", "10000", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["passed"]


# ---------------------------------------------------------------- B. an unknown weighting
@pytest.mark.parametrize("weighting", ["foo", "sigma", None])
def test_an_unknown_weighting_is_a_data_error_as_documented(weighting):
    """kk_test(weighting="foo") raised FitError while the docstring (and every other option)
    says DataError; "sigma" has no standard deviations to use in the test."""
    with pytest.raises(DataError, match="unknown weighting .*; use one of modulus, modulus-calc, proportional, "
                                        "unit$"):
        eisfit.kk_test((F, Z_RC), weighting=weighting)
    assert eisfit.kk_test((F, Z_RC), weighting="unit").passed


# ---------------------------------------------------------------- C. Z'' flipped over part of the range
def rq(w, r, q, n):
    return r / (1 + r * q * (1j * w) ** n)


F_WIDE = np.logspace(6, -1, 71)  # 1 MHz .. 0.1 Hz, 10 points per decade
TWO_ARCS = 40 + rq(2 * np.pi * F_WIDE, 100, 2e-9, 0.85) + rq(2 * np.pi * F_WIDE, 150, 2e-6, 0.8)


def noisy(z, pct=0.5, seed=0):
    rng = np.random.default_rng(seed)
    return z + np.abs(z) * pct / 100 * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))


def test_a_partly_flipped_imaginary_part_is_called_mixed_not_a_convention_to_conjugate():
    """Z'' mirrored over 10 Hz-1 kHz was refused with "pass np.conj(z)", which mirrors the
    valid ranges; now the error names the ranges of each sign and says that no convention
    gives them. With meta stating the sign, the Lin-KK test reports the inconsistency."""
    z = TWO_ARCS.copy()
    flipped = (F_WIDE > 10) & (F_WIDE < 1000)
    z[flipped] = np.conj(z[flipped])
    z = noisy(z)
    with pytest.raises(DataError) as info:
        eisfit.kk_test(eisfit.Spectrum(F_WIDE, z))
    message = str(info.value)
    assert "mixed" in message and "Z'' > 0 at 251.2 Hz - 794.3 Hz (6 points); < 0 at 1 kHz - 1 MHz" in message
    assert "not a sign convention problem" in message and "pass np.conj(z)" not in message
    result = eisfit.kk_test(negative(F_WIDE, z))
    assert not result.passed and result.status == "violation"


@pytest.mark.parametrize("inductance_h", [0.0, 3e-6])
def test_a_wholly_mirrored_spectrum_keeps_the_advice_to_conjugate(inductance_h):
    """-Z'' passed for Z'' over the whole sweep, with or without a lead inductance whose
    points then lie below the axis at the highest frequencies: one convention, the global
    advice stands."""
    z = noisy(TWO_ARCS + 1j * 2 * np.pi * F_WIDE * inductance_h)
    with pytest.raises(DataError, match=r"looks like -Z'', not Z''.*pass np\.conj\(z\)"):
        eisfit.kk_test(eisfit.Spectrum(F_WIDE, np.conj(z)))
    assert eisfit.kk_test(eisfit.Spectrum(F_WIDE, z)).passed
