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
