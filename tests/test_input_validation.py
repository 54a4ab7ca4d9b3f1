"""Bad input gets one clear eisfit error naming the problem, never a bare Python exception
and never a silently wrong result (QA findings: Spectrum, read, fit's fixed/initial,
kk_test on a handful of points, drt with a lambda too strong for the data)."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

import eisfit
from eisfit.errors import DataError, FitError, ReadError
from eisfit.model import Circuit

F = np.logspace(5, -1, 31)  # 100 kHz .. 0.1 Hz, 5 points per decade
Z = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)").impedance([10.0, 100.0, 1e-6, 0.9, 100.0, 1e-3, 0.85], F)
CIRCUIT = "R0-p(R1,CPE1)"
SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "stripped" / \
    "LiMg_LLZTO_1_before_stripping_PEIS_C02.csv"


# ---------------------------------------------------------------- 1. Spectrum
def test_complex_frequencies_are_refused_not_cast():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's ComplexWarning was all there was
        with pytest.raises(DataError, match=r"frequencies must be real numbers \(Hz\).*imaginary part"):
            eisfit.Spectrum(F + 1j, Z)


def test_complex_frequencies_with_zero_imaginary_parts_read_as_real():
    s = eisfit.Spectrum(F.astype(complex), Z)
    assert s.frequency.dtype == float
    np.testing.assert_array_equal(s.frequency, F)


@pytest.mark.parametrize("which", ["frequency", "z"])
def test_two_sweeps_in_2d_arrays_are_not_flattened_into_one_spectrum(which):
    f2, z2 = np.vstack([F, F]), np.vstack([Z, 1.1 * Z])
    args = (f2, z2) if which == "frequency" else (F, z2)
    with pytest.raises(DataError, match=rf"{which} must be one sweep \(a 1-D array\), got a 2-D array of shape "
                                        r"\(2, 31\); make one Spectrum per row"):
        eisfit.Spectrum(*args, meta={"source": "two.csv"})


def test_a_column_vector_is_refused_with_the_way_to_flatten_it():
    with pytest.raises(DataError, match=r"got a 2-D array of shape \(31, 1\); pass np.ravel\(frequency\)"):
        eisfit.Spectrum(F[:, None], Z)


@pytest.mark.parametrize("meta", ["x", ["source"], 5])
def test_meta_that_is_not_a_mapping_is_a_data_error(meta):
    with pytest.raises(DataError, match=f"meta must be a mapping .* or None, got {type(meta).__name__}"):
        eisfit.Spectrum(F, Z, meta)


def test_a_mapping_meta_is_still_accepted():
    from types import MappingProxyType

    s = eisfit.Spectrum(F, Z, MappingProxyType({"source": "cell.csv"}))
    assert s.meta == {"source": "cell.csv"} and isinstance(s.meta, dict)


# ---------------------------------------------------------------- 2. read
@pytest.mark.parametrize("path, kind", [(None, "NoneType"), (5, "int"), (3.5, "float")])
def test_read_of_something_that_is_no_path_says_so(path, kind):
    with pytest.raises(ReadError, match=rf"read\(\) takes a file path \(str or os.PathLike\), got {kind}$"):
        eisfit.read(path)


def test_read_takes_a_bytes_path():
    assert len(eisfit.read(os.fsencode(str(SAMPLE)))[0]) == len(eisfit.read(SAMPLE)[0])


@pytest.mark.parametrize("columns, message", [
    ("frequency=9", r"columns must be a mapping such as \{'frequency': 0, .*got str"),
    ([0, 1, 2], r"columns must be a mapping such as \{'frequency': 0, .*got list"),
    ({"frequency": None}, r"column of 'frequency' must be a 0-based index or a header name, got None"),
    ({"frequency": 1.5}, r"column of 'frequency' must be a 0-based index or a header name, got 1.5"),
])
def test_read_columns_option_of_the_wrong_type_names_the_file(columns, message):
    with pytest.raises(ReadError, match=message) as info:
        eisfit.read(SAMPLE, columns=columns)
    assert info.value.path == str(SAMPLE)


# ---------------------------------------------------------------- 3. fit(fixed=/initial= not a mapping)
@pytest.mark.parametrize("what", ["fixed", "initial"])
@pytest.mark.parametrize("value, kind", [(["R1"], "list"), ("R1", "str"), (("R1", 50.0), "tuple")])
def test_fixed_and_initial_must_be_mappings(what, value, kind):
    s = eisfit.Spectrum(F, Z)
    with pytest.raises(FitError, match=rf"^{what} must be a mapping such as \{{'R1': 50.0\}}, got {kind}$"):
        eisfit.fit(s, CIRCUIT, **{what: value})


# ---------------------------------------------------------------- 4. initial values outside the bounds
@pytest.mark.parametrize("what", ["fixed", "initial"])
@pytest.mark.parametrize("name, value, box", [("R1", -5.0, r"\[0, inf\]"), ("CPE1_1", 1.5, r"\[0, 1\]")])
def test_initial_values_outside_the_bounds_are_refused_as_fixed_ones_are(what, name, value, box):
    s = eisfit.Spectrum(F, Z)
    with pytest.raises(FitError, match=rf"^{what} value of {name} = {value!r} lies outside its bounds {box}$"):
        eisfit.fit(s, CIRCUIT, starts=1, **{what: {name: value}})


def test_initial_values_are_checked_against_the_users_bounds():
    s = eisfit.Spectrum(F, Z)
    with pytest.raises(FitError, match=r"initial value of R1 = 500.0 lies outside its bounds \[1, 200\]"):
        eisfit.fit(s, CIRCUIT, starts=1, initial={"R1": 500.0}, bounds={"R1": (1.0, 200.0)})
    res = eisfit.fit(s, CIRCUIT, starts=1, initial={"R1": 150.0}, bounds={"R1": (1.0, 200.0)})
    assert np.isfinite(res.values["R1"])


def test_a_campaign_refuses_values_outside_the_bounds_before_any_fit(monkeypatch):
    """``fit_campaign(fixed={"CPE1_1": 1.5})`` failed every checkpoint one by one (each an
    error row, then "no checkpoint could be fitted"); the command printed 11 errors. The
    values are checked against the circuit's bounds (with the user's) before any fit."""
    import eisfit.fitting.engine as engine

    def no_fit(*args, **kwargs):
        raise AssertionError("a fit started")

    monkeypatch.setattr(engine, "_prepare", no_fit)
    spectra = [eisfit.Spectrum(F, Z), eisfit.Spectrum(F, Z * 1.1)]
    with pytest.raises(FitError, match=r"^fixed value of CPE1_1 = 1.5 lies outside its bounds \[0, 1\]$"):
        eisfit.fit_campaign(spectra, circuit=CIRCUIT, fixed={"CPE1_1": 1.5}, cache_dir=False, progress=False)
    with pytest.raises(FitError, match=r"^initial value of R1 = 500.0 lies outside its bounds \[1, 200\]$"):
        eisfit.fit_campaign(spectra, circuit=CIRCUIT, initial={"R1": 500.0}, bounds={"R1": (1.0, 200.0)},
                            cache_dir=False, progress=False)


def test_the_command_line_refuses_values_outside_the_bounds_once(tmp_path):
    from click.testing import CliRunner

    from eisfit.cli import main
    from eisfit.io.export import write_csv

    paths = [str(write_csv([eisfit.Spectrum(F, Z * k)], tmp_path / f"s{k}.csv")) for k in (1, 2, 3)]
    for command in (["campaign", str(tmp_path), "--out", str(tmp_path / "out")], ["fit", *paths]):
        result = CliRunner().invoke(main, [*command, "--circuit", CIRCUIT, "--fix", "CPE1_1=1.5"])
        assert result.exit_code == 2, result.output
        assert result.output.count("lies outside its bounds") == 1, result.output


def test_initial_value_that_is_not_a_number_is_refused():
    s = eisfit.Spectrum(F, Z)
    with pytest.raises(FitError, match=r"initial value of R1 must be a finite number, got '50'"):
        eisfit.fit(s, CIRCUIT, starts=1, initial={"R1": "50"})


def test_a_parameter_both_fixed_and_given_another_initial_value_is_an_error():
    s = eisfit.Spectrum(F, Z)
    with pytest.raises(FitError, match=r"^R1 is both fixed and given an initial value \(R1: fixed 100.0, "
                                       r"initial 90.0\); give each parameter one of the two$"):
        eisfit.fit(s, CIRCUIT, starts=1, fixed={"R1": 100.0}, initial={"R1": 90.0})


def test_a_previous_fit_as_initial_leaves_the_fixed_values_to_fixed():
    s = eisfit.Spectrum(F, Z)
    first = eisfit.fit(s, CIRCUIT, starts=1, kk=False)
    again = eisfit.fit(s, CIRCUIT, starts=1, kk=False, initial=first, fixed={"R0": 9.0})
    assert again.values["R0"] == 9.0
    same = eisfit.fit(s, CIRCUIT, starts=1, kk=False, initial=dict(first.values),
                      fixed={"R0": first.values["R0"]})  # the same value twice: no conflict
    assert same.values["R0"] == first.values["R0"]


# ---------------------------------------------------------------- 5. kk_test on too few points
@pytest.mark.parametrize("n", [3, 9])
def test_kk_test_refuses_too_few_points(n):
    from eisfit.analysis.kk import KK_MIN_POINTS

    assert KK_MIN_POINTS == 10
    with pytest.raises(DataError, match=rf"a Kramers-Kronig test needs at least 10 distinct frequencies, "
                                        rf"the points have {n}"):
        eisfit.kk_test(eisfit.Spectrum(F[:n], Z[:n]))


def test_kk_test_runs_from_ten_points_and_kk_valid_band_of_fewer_is_none():
    f = np.logspace(5, 1, 10)
    z = Circuit(CIRCUIT).impedance([10.0, 100.0, 1e-6, 0.9], f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert eisfit.kk_test(eisfit.Spectrum(f, z)).n_rc >= 1
        assert eisfit.kk_valid_band(eisfit.Spectrum(F[:9], Z[:9] + np.linspace(0, 50, 9))) is None


# ---------------------------------------------------------------- 6. drt with a lambda too strong
def test_drt_with_a_lambda_too_strong_for_the_data_warns():
    rng = np.random.default_rng(0)
    z = Z * (1 + 0.003 * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size)))
    s = eisfit.Spectrum(F, z)
    with pytest.warns(UserWarning, match=r"lambda 1e\+300 is too strong for these data: the regularisation "
                                         r"flattens the DRT and its residual .* times the noise level"):
        d = eisfit.drt(s, lambda_=1e300, kk=False)
    assert d.r_pol_ohm < 1.0  # ~200 ohm of arcs in the data, flattened away
    assert any("too strong" in w for w in d.warnings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lam in ("auto", 1e-3):  # the automatic lambda and a reasonable one are not too strong
            assert not any("too strong" in w for w in eisfit.drt(s, lambda_=lam, kk=False).warnings)


def test_a_fit_with_fewer_frequencies_than_free_parameters_is_flagged():
    """A PalmSens session's 5 frequencies fitted with the 7 parameters of the default circuit
    (3 residual degrees of freedom): alike spectra read R0 0 +- 3e5 and 558 +- 4 ohm, their arcs
    under alternating labels, with only kk-not-run said. Flag few-frequencies:5-for-7 (a
    caution); 7 frequencies for 7 parameters, or 5 for the 4 of one arc, are not flagged."""
    from eisfit.fitting.flags import severity

    two_arcs = "R0-p(R1,CPE1)-p(R2,CPE2)"
    true = [10.0, 100.0, 1e-6, 0.9, 500.0, 1e-3, 0.8]
    for n, circuit, flagged in ((5, two_arcs, True), (7, two_arcs, False), (5, CIRCUIT, False)):
        f = np.logspace(5, 0, n)
        z = Circuit(two_arcs).impedance(true, f) * (1 + 0.002 * np.cos(np.arange(n)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = eisfit.fit(eisfit.Spectrum(f, z), circuit)
        assert (f"few-frequencies:{n}-for-{res.n_free}" in res.flags) is flagged, (n, circuit, res.flags)
    assert severity("few-frequencies:5-for-7") == "caution"


def test_a_fit_of_fewer_points_than_a_kk_test_needs_says_so_and_has_no_lack_of_fit_ratio():
    """kk_test refuses fewer than KK_MIN_POINTS frequencies; a fit of 8 points gives no
    Kramers-Kronig verdict either (it said FAILED or passed), says so (note kk-not-run, the
    summary's "not run"), and reports no lack-of-fit ratio: the noise level of a chain on 8
    points is none to judge a fit by (an exact fit read 0.0096, "better than the noise");
    suggest_circuit still works."""
    from eisfit.analysis.kk import KK_MIN_POINTS

    f = np.logspace(4, -1, 8)
    z = Circuit(CIRCUIT).impedance([10.0, 100.0, 1e-5, 0.9], f)
    s = eisfit.Spectrum(f, z * (1 + 0.002 * np.cos(np.arange(f.size))))
    assert f.size < KK_MIN_POINTS
    res = eisfit.fit(s, CIRCUIT)
    assert res.kk_passed is None and "kk-not-run:8-frequencies" in res.flags
    assert "Kramers-Kronig: not run (8 frequencies; it needs 10)" in res.summary()
    assert "lack_of_fit_ratio" not in res.derived
    assert "kk-not-run" not in " ".join(eisfit.fit(s, CIRCUIT, kk=False).flags)  # the caller's choice: no note
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert eisfit.suggest_circuit(s, ["R0-p(R1,CPE1)", "R0-p(R1,C1)"]).best in ("R0-p(R1,CPE1)", "R0-p(R1,C1)")


def test_an_impedance_py_circuit_whose_guess_names_a_fixed_parameter_fits():
    """The circuit's own initial_guess starts what the caller neither fixes nor starts: a
    fixed R0 is no conflict with the guess's R0."""
    from impedance.models.circuits import CustomCircuit

    custom = CustomCircuit("R0-p(R1,CPE1)", initial_guess=[12.0, 90.0, 2e-5, 0.85])
    res = eisfit.fit(eisfit.Spectrum(F, Circuit(CIRCUIT).impedance([10.0, 100.0, 1e-5, 0.9], F)), custom,
                     fixed={"R0": 10.0})
    assert res.values["R0"] == 10.0 and res.values["R1"] == pytest.approx(100.0, rel=1e-6)
    with pytest.raises(FitError, match="initial must be a mapping"):
        eisfit.fit(eisfit.Spectrum(F, Z), custom, initial=["R1"])


def test_misspelt_options_and_unusable_settings_say_what_to_do():
    """fit(aera_cm2=1) had raised Python's bare TypeError; Spectrum.crop(fmin="10") numpy's
    UFuncTypeError; a thickness without an area was ignored without a word."""
    f = np.logspace(4, 0, 20)
    s = eisfit.Spectrum(f, 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-3))
    with pytest.raises(TypeError, match=r"'aera_cm2' \(did you mean 'area_cm2'\?\)"):
        eisfit.fit(s, circuit="R0-p(R1,C1)", aera_cm2=1.0)
    with pytest.raises(eisfit.DataError, match="fmin must be a frequency in Hz"):
        s.crop(fmin="10")
    assert len(s.crop(fmin=10)) == len(s.crop(fmin=np.float32(10))) == 15
    res = eisfit.fit(s, circuit="R0-p(R1,C1)", thickness_cm=0.1)
    assert "thickness-unused" in res.flags and not any("sigma" in k for k in res.derived)
    assert "thickness-unused" not in eisfit.fit(s, circuit="R0-p(R1,C1)", thickness_cm=0.1, area_cm2=1.0).flags


@pytest.mark.parametrize("option, value, message", [
    ("guess", {"R1": 50.0}, r"guess= chooses how the start is found \('auto' or 'drt'\), not its values: "
                            r"give starting values as initial=\{'R1': 50\.0\}"),
    ("guess", "magic", r"unknown guess 'magic'; use 'auto' or 'drt'"),
    ("engine", "scipy", r"unknown engine 'scipy'; use 'fast' or 'lmfit'"),
    ("starts", 0, r"starts must be 'auto' or a whole number >= 1, got 0"),
    ("starts", "many", r"starts must be 'auto' or a whole number >= 1, got 'many'"),
    ("starts", True, r"starts must be 'auto' or a whole number >= 1, got True"),
])
def test_fit_and_fit_campaign_refuse_a_guess_engine_or_starts_in_the_same_words(option, value, message):
    """One check (eisfit._checks) for fit() and fit_campaign(): the campaign had said "use one of
    auto, drt" where fit() said "use 'auto' or 'drt'", "starts must be 'auto' or a whole number"
    where fit() said "an integer or 'auto'" (and took True for one start), and starting values
    given to guess= (impedance.py's initial_guess habit) read as an unknown guess in both."""
    s = eisfit.Spectrum(F, Z)
    with pytest.raises(FitError, match=message):
        eisfit.fit(s, circuit=CIRCUIT, **{option: value})
    with pytest.raises(FitError, match=message):
        eisfit.fit_campaign([s], circuit=CIRCUIT, cache_dir=False, progress=False, **{option: value})


def test_a_numpy_whole_number_of_starts_runs_that_many_starts():
    """starts=np.int64(3) (a number read from an array) had been refused by fit() ("an integer
    or 'auto'") and by fit_campaign() ("a whole number >= 1, got 3"); it runs three starts, as
    starts=3 does."""
    s = eisfit.Spectrum(F, Z)
    assert eisfit.fit(s, circuit=CIRCUIT, starts=np.int64(3)).n_starts == eisfit.fit(s, circuit=CIRCUIT, starts=3).n_starts
