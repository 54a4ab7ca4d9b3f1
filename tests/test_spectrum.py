"""Spectrum: an immutable set of points (Hz, complex ohm) with a selection."""
from __future__ import annotations

import numpy as np
import pytest

import eisfit
from eisfit import Spectrum
from eisfit.errors import DataError

F = np.logspace(5, -1, 13)
Z = 10 + 100 / (1 + 1j * 2 * np.pi * F * 1e-3)


def test_points_are_read_only_and_not_copied_when_all_are_selected():
    s = eisfit.Spectrum(F, Z)
    assert s.frequency is s.frequency and s.z is s.z
    np.testing.assert_array_equal(s.frequency, F)
    np.testing.assert_array_equal(s.z, Z)
    with pytest.raises(ValueError, match="read-only"):
        s.z[0] = 0
    with pytest.raises(ValueError, match="read-only"):
        s.frequency[:] = 1.0


def test_spectra_with_equal_frequencies_come_to_share_one_array_and_keep_their_values():
    from eisfit.spectrum import share_equal_arrays

    a, b = Spectrum(F, Z), Spectrum(F.copy(), 2 * Z)
    other = Spectrum(F * 1.001, Z)
    cropped = Spectrum(F.copy(), Z).crop(fmin=1.0)
    assert a.frequency is not b.frequency
    share_equal_arrays([a, b, other, cropped])
    assert b.frequency is a.frequency  # one array of the equal frequencies
    assert other.frequency is not a.frequency  # a different grid keeps its own
    np.testing.assert_array_equal(b.frequency, F)
    np.testing.assert_array_equal(other.frequency, F * 1.001)
    np.testing.assert_array_equal(b.z, 2 * Z)
    np.testing.assert_array_equal(cropped.frequency, F[F >= 1.0])  # its selection kept
    np.testing.assert_array_equal(cropped.original.frequency, F)
    assert a.mask is b.mask and cropped.mask is not a.mask
    with pytest.raises(ValueError, match="read-only"):
        b.frequency[0] = 1.0


def test_a_selection_gives_read_only_copies_of_its_points():
    s = eisfit.Spectrum(F, Z).crop(fmin=1.0, fmax=1e4)
    keep = (F >= 1.0) & (F <= 1e4)
    np.testing.assert_array_equal(s.frequency, F[keep])
    np.testing.assert_array_equal(s.z, Z[keep])
    assert len(s) == keep.sum()
    with pytest.raises(ValueError, match="read-only"):
        s.z[0] = 0
    np.testing.assert_array_equal(s.original.frequency, F)  # the points are all still there


def test_the_input_arrays_are_copied():
    f, z = F.copy(), Z.copy()
    s = eisfit.Spectrum(f, z)
    z[0] = 0
    assert s.z[0] == Z[0]


@pytest.mark.parametrize("f, z, message", [(F[:3], Z[:4], "3 points but z has 4"), (-F, Z, "finite and > 0"),
                                           (F, np.where(F > 1, Z, np.nan), "NaN or infinite"),
                                           ([], [], "no points")])
def test_impossible_points_raise_one_clear_error(f, z, message):
    with pytest.raises(DataError, match=message):
        eisfit.Spectrum(f, z)


def test_a_crop_that_leaves_no_point_says_where_the_data_are():
    """--fmin 1e9 printed the file twice ('good.csv#0: bad/good.csv: the selection leaves no
    points'); the error now gives the range asked for and the range of the data."""
    import eisfit

    s = eisfit.Spectrum(np.logspace(5, 0, 6), np.ones(6) * (10 - 1j))
    with pytest.raises(eisfit.DataError, match=r"fmin 1e\+09 Hz leaves no point: the data span 1-100000 Hz"):
        s.crop(fmin=1e9)


def test_passing_the_list_read_returns_or_a_path_says_what_to_do_instead():
    f = np.logspace(5, -1, 20)
    spectra = [eisfit.Spectrum(f, 10 + 100 / (1 + 1j * f * 1e-3)) for _ in range(3)]
    with pytest.raises(eisfit.FitError, match=r"list of 3 spectra .*spectra\[0\].*fit_campaign"):
        eisfit.fit(spectra, "R0-p(R1,C1)")
    with pytest.raises(eisfit.DataError, match=r"list of 3 spectra"):
        eisfit.kk_test(spectra)
    with pytest.raises(eisfit.FitError, match=r"file path; read it first, e\.g\. eisfit\.read\(path\)\[0\]"):
        eisfit.fit("cell.csv", "R0-p(R1,C1)")
    with pytest.raises(eisfit.DataError, match=r"got int$"):
        eisfit.drt(5)


def test_shared_grid_is_the_one_grid_every_row_equals():
    from eisfit.spectrum import shared_grid
    f = np.geomspace(1e5, 1, 11)
    assert shared_grid([f, f.copy(), f.copy()]) is not None
    np.testing.assert_array_equal(shared_grid(np.array([f, f])), f)
    moved = f.copy()
    moved[3] *= 1.001  # an instrument that logs the frequency it measured at
    assert shared_grid([f, moved]) is None
    assert shared_grid(np.array([f, moved])) is None
    assert shared_grid([]) is None


def _arc(f, r0=10.0, r1=100.0, tau=1e-3):
    return r0 + r1 / (1 + 1j * 2 * np.pi * f * tau)


@pytest.mark.parametrize("noise", [0.0, 0.005])
def test_minus_z_imag_passed_as_z_imag_is_refused_with_the_remedy(noise):
    """-Z'' given for Z'' (the arc above the real axis) had been fitted as a mirrored
    spectrum: with noise 34 of 40 points dropped as inductive, R0 = 110 ohm (true 10)."""
    f = np.logspace(5, -1, 40)
    rng = np.random.default_rng(0)
    z = _arc(f) * (1 + noise * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)))
    mirrored = Spectrum(frequency=f, z=np.conj(z))
    for call in (lambda: eisfit.fit(mirrored, circuit="R0-p(R1,C1)"), lambda: eisfit.kk_test(mirrored),
                 lambda: eisfit.drt(mirrored), lambda: eisfit.kk_test((f, np.conj(z)))):
        with pytest.raises(DataError, match=r"looks like -Z'', not Z''.*np\.conj\(z\)"):
            call()
    fitted = eisfit.fit(Spectrum(frequency=f, z=z), circuit="R0-p(R1,C1)")
    assert fitted.values["R0"] == pytest.approx(10.0, rel=0.02)
    assert fitted.values["R1"] == pytest.approx(100.0, rel=0.02)


def test_a_spectrum_of_an_inductance_alone_is_fitted_not_refused_as_mirrored():
    """A lead, a shorted cell or a cable (R-L: every point above the real axis, |Z''| = wL
    rising with frequency, Z' flat) was refused as "-Z'' passed for Z''", even for the circuit
    L0-R0: the low-frequency rule took its lowest significant points for capacitive ones.
    An arc's low side, whose |Z''| also rises with frequency but with Z' changing as much,
    is still refused when mirrored."""
    f = np.logspace(6, -1, 40)
    z = 1.0 + 1j * 2 * np.pi * f * 1e-6
    fitted = eisfit.fit(Spectrum(frequency=f, z=z), circuit="L0-R0")
    assert fitted.values["L0"] == pytest.approx(1e-6, rel=1e-9)
    assert fitted.values["R0"] == pytest.approx(1.0, rel=1e-9)
    below_apex = _arc(f, r0=10.0, r1=100.0, tau=1e-6)  # an arc's low side: |Z''| rises with f too
    with pytest.raises(DataError, match=r"looks like -Z''.*arc shape: Z' rises toward low frequency"):
        eisfit.kk_test(Spectrum(frequency=f, z=np.conj(below_apex)))


def test_a_nearly_flat_noisy_spectrum_is_not_judged_by_the_signs_of_its_noise():
    """A 21 ohm CPE arc whose apex lies far above 1 MHz, on 10 ohm, with 1 % complex noise
    (its visible tail 2.6 % of |Z| at most, the noise's largest ~2 %) was refused as -Z''
    passed for Z'': the small-arc rule judged the signs of noise. The same spectrum with a
    small arc that stands out of low noise, mirrored, is still refused."""
    from eisfit.model import Circuit

    f = np.logspace(6, -1, 71)
    rng = np.random.default_rng(25)
    p = [10.0, 10 ** rng.uniform(1, 3), 10 ** rng.uniform(-8, -5), rng.uniform(0.7, 1.0)]  # 20.96 ohm, 1.0e-8, 0.765
    z = Circuit("R0-p(R1,CPE1)").impedance(np.array([p]), f)[0]
    noisy = z + 0.01 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2)
    eisfit.kk_test(Spectrum(frequency=f, z=noisy))  # no error
    small = _arc(f, r0=1000.0, r1=40.0, tau=1e-3)  # |Z''| at most 2 % of |Z|, no point at 5 %
    quiet = small * (1 + 1e-4 * rng.standard_normal(f.size))
    with pytest.raises(DataError, match=r"looks like -Z''.*a small arc"):
        eisfit.kk_test(Spectrum(frequency=f, z=np.conj(quiet)))


def test_a_stated_or_read_sign_is_not_second_guessed():
    """``meta["imag_sign"]`` (the caller's word) and a reader's format skip the check;
    a spectrum mostly above the real axis whose low-frequency end is capacitive passes."""
    f = np.logspace(5, -1, 40)
    mirrored = np.conj(_arc(f))
    for meta in ({"imag_sign": "negative"}, {"format": "csv"}):
        eisfit.kk_test(Spectrum(frequency=f, z=mirrored, meta=meta))  # no error
    inductive = 0.01 + 1j * 2 * np.pi * f * 1e-6 + 0.02 / (1 + 1j * 2 * np.pi * f * 1.0)
    assert np.mean(inductive.imag > 0) > 0.5
    fitted = eisfit.fit(Spectrum(frequency=f, z=inductive), circuit="L0-R0-p(R1,C1)")
    assert fitted.values["L0"] == pytest.approx(1e-6, rel=1e-3)


def test_two_sweeps_in_one_array_are_refused_with_the_point_where_the_second_starts():
    """Two sweeps (R2 100 and 110 ohm) concatenated by hand were fitted as one spectrum: one
    set of values that neither sweep has, and no word."""
    with pytest.raises(DataError, match=r"2 sweeps in one array \(a new sweep starts at point 14, 100000 Hz "
                                        r"after 0.1 Hz\).*one Spectrum per sweep"):
        Spectrum(np.r_[F, F], np.r_[Z, 1.1 * Z])
    with pytest.raises(DataError, match="2 sweeps in one array"):  # down, then up again
        Spectrum(np.r_[F, F[::-1]], np.r_[Z, Z[::-1]])


def test_points_out_of_order_or_repeated_are_kept_with_a_warning():
    swapped = F.copy()
    swapped[[4, 5]] = swapped[[5, 4]]
    with pytest.warns(eisfit.DataWarning, match=r"1 point\(s\) out of sweep order \(point 6: 1000 Hz after 316.228 Hz\)"):
        s = Spectrum(swapped, Z)
    np.testing.assert_array_equal(s.frequency, swapped)
    with pytest.warns(eisfit.DataWarning, match=r"1 frequency measured more than once \(0.1 Hz\)"):
        assert len(Spectrum(np.r_[F, 0.1], np.r_[Z, Z[-1]])) == 14


def test_points_in_random_order_are_no_sweeps_but_are_warned_of():
    """Points in shuffled order make short runs, not sweeps: kept (a fit does not depend on the
    order), with a warning."""
    f = np.logspace(6, -1, 43)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-3)
    for seed in range(20):
        order = np.random.default_rng(seed).permutation(f.size)
        with pytest.warns(eisfit.DataWarning, match="change direction"):
            Spectrum(f[order], z[order])


def test_a_read_sweep_with_repeated_frequencies_is_warned_of_once(tmp_path):
    """The readers warn of a sweep's repeated frequencies (ReadWarning): the Spectrum they
    build does not warn again."""
    import warnings

    path = tmp_path / "repeated.csv"
    f = np.r_[F, 0.1]
    z = np.r_[Z, Z[-1]]
    np.savetxt(path, np.c_[f, z.real, z.imag], delimiter=",", header="freq/Hz,Re(Z)/Ohm,Im(Z)/Ohm", comments="")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (s,) = eisfit.read(path)
    assert len(s) == 14
    assert [type(w.message).__name__ for w in caught] == ["ReadWarning"]
