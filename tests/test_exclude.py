"""Leaving out named points (``exclude_hz``, ``--exclude-hz``, ``Spectrum.exclude``): the
points the ``kk-outlier`` flag names, mains pick-up. Every path (fit, suggest, campaign,
command line) fits exactly the points a selection by hand would leave."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import eisfit
from eisfit import DataError, FitError, Spectrum, kk_test
from eisfit.cli import main
from eisfit.fitting.flags import explain_flag
from eisfit.model import Circuit
from eisfit.settings import FitSettings

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
TRUE = [10.0, 100.0, 1e-7, 0.9, 150.0, 1e-5, 0.8]
GLITCH = 30  # index of the point 5 % off


def glitched(seed: int = 3, n: int = 57) -> Spectrum:
    """Two arcs (~2 kHz and ~20 Hz), 1 MHz-0.1 Hz, 0.3 % noise, point GLITCH 5 % off."""
    f = np.logspace(6, -1, n)
    rng = np.random.default_rng(seed)
    z = Circuit(CIRCUIT).impedance(TRUE, f) * (1 + 0.003 * (rng.standard_normal(n) + 1j * rng.standard_normal(n)))
    z[GLITCH] *= 1.05
    return Spectrum(f, z, {"label": "glitched"})


def saved(s: Spectrum, path):
    """``s`` written as a frequency, Z', Z'' CSV table at ``path``."""
    np.savetxt(path, np.c_[s.frequency, s.z.real, s.z.imag], delimiter=",", header="freq/Hz,Zre/Ohm,Zim/Ohm",
               comments="")
    return path


def test_exclude_leaves_out_the_points_within_1_percent_and_keeps_the_original():
    s = glitched()
    f = s.frequency
    kept = s.exclude([f[GLITCH] * 1.004])  # a file may write 49.998 Hz for 50 Hz
    assert len(kept) == len(s) - 1
    assert f[GLITCH] not in kept.frequency
    assert len(kept.original) == len(s)
    assert len(s.exclude(f[GLITCH])) == len(s) - 1  # one number works too
    twice = Spectrum(np.r_[f, f[GLITCH]], np.r_[s.z, s.z[GLITCH]])  # a frequency measured twice: both go
    assert len(twice.exclude([f[GLITCH]])) == len(s) - 1
    with pytest.raises(DataError, match=r"no point within 1 % of 7 Hz to exclude \(the nearest is at"):
        s.exclude([7.0])
    for bad in ([-1.0], [float("nan")], "50", [True]):
        with pytest.raises(FitError, match="exclude_hz"):
            s.exclude(bad)


def test_fit_with_exclude_hz_is_the_fit_of_the_selected_points_and_says_so():
    s = glitched()
    f = s.frequency
    plain = eisfit.fit(s, CIRCUIT)
    assert f"kk-outlier:{f[GLITCH]:.4g}Hz" in plain.flags
    res = eisfit.fit(s, CIRCUIT, exclude_hz=[f[GLITCH]])
    by_hand = eisfit.fit(s.select(np.arange(len(s)) != GLITCH), CIRCUIT)
    assert res.n_points == len(s) - 1
    assert res.chisq == pytest.approx(by_hand.chisq, rel=1e-9)
    for name in res.values:
        assert res.values[name] == pytest.approx(by_hand.values[name], rel=1e-6)
    assert "excluded-points:1" in res.flags
    assert not any(fl.startswith("kk-outlier") for fl in res.flags) and res.kk_passed
    assert res.settings["exclude_Hz"] == [pytest.approx(f[GLITCH])]
    # the glitch pulled the fit: without it R2 is closer to its true value
    assert abs(res.values["R2"] - TRUE[4]) < abs(plain.values["R2"] - TRUE[4])
    assert "exclude_Hz" not in plain.settings


def test_exclude_hz_with_sigma_and_with_a_frequency_window():
    s = glitched()
    f = s.frequency
    sigma = 0.003 * np.abs(s.z)
    res = eisfit.fit(s, CIRCUIT, weighting="sigma", sigma=sigma, exclude_hz=[f[GLITCH]], fmin=1.0)
    keep = (np.arange(len(s)) != GLITCH) & (f >= 1.0)
    by_hand = eisfit.fit(s.select(keep), CIRCUIT, weighting="sigma", sigma=sigma[keep])
    assert res.n_points == int(keep.sum())
    assert res.chisq == pytest.approx(by_hand.chisq, rel=1e-9)
    with pytest.raises(DataError, match="no point within 1 % of 0.5 Hz"):  # cropped away first
        eisfit.fit(s, CIRCUIT, exclude_hz=[0.5], fmin=1.0)


def test_bad_exclude_hz_is_refused_before_any_fit(monkeypatch):
    with pytest.raises(FitError, match="positive numbers"):
        FitSettings(exclude_Hz=[50.0, -3.0])
    with pytest.raises(FitError, match="a frequency or a list"):
        FitSettings(exclude_Hz="50")
    settings = FitSettings.layered({"exclude_hz": [50, 100.0]})
    assert settings.exclude_Hz == (50.0, 100.0) and settings.fit_kwargs()["exclude_hz"] == (50.0, 100.0)
    assert FitSettings.layered({"exclude_hz": [50.0]}, {"exclude_hz": ()}).exclude_Hz == ()  # replaced, not merged

    def no_fit(*args, **kwargs):
        raise AssertionError("a fit ran before the settings were checked")

    monkeypatch.setattr("eisfit.campaign.run_campaign_fits", no_fit)
    with pytest.raises(FitError, match="positive numbers"):
        eisfit.fit_campaign([glitched()], circuit=CIRCUIT, exclude_hz=[0.0], cache_dir=False, progress=False)


def test_campaign_and_cache_follow_exclude_hz(tmp_path):
    spectra = [glitched(seed) for seed in (3, 4)]
    f = spectra[0].frequency
    cache = tmp_path / "cache"
    with_all = eisfit.fit_campaign(spectra, circuit=CIRCUIT, cache_dir=cache, progress=False)
    without = eisfit.fit_campaign(spectra, circuit=CIRCUIT, exclude_hz=[f[GLITCH]], cache_dir=cache,
                                  progress=False)
    assert without.stats["cache_hits"] == 0  # other settings, other fits
    for k, res in enumerate(without.results):
        assert res.n_points == len(f) - 1 and "excluded-points:1" in res.flags
        alone = eisfit.fit(spectra[k], CIRCUIT, exclude_hz=[f[GLITCH]])
        assert res.chisq == pytest.approx(alone.chisq, rel=1e-6)
        assert with_all.results[k].n_points == len(f)
    assert all("excluded-points:1" in str(flags) for flags in without.table["flags"])


def test_campaign_file_rows_and_defaults_name_their_own_points(tmp_path):
    s = glitched()
    f = s.frequency.tolist()  # Python floats: their repr is a TOML number
    for k in range(3):
        saved(s, tmp_path / f"cp{k}.csv")
    toml = tmp_path / "campaign.toml"
    toml.write_text(f'[defaults]\ncircuit = "{CIRCUIT}"\nexclude_hz = [{f[GLITCH]!r}]\n'
                    '[[checkpoint]]\nfile = "cp0.csv"\n'
                    f'[[checkpoint]]\nfile = "cp1.csv"\nexclude_hz = [{f[GLITCH]!r}, {f[0]!r}]\n'
                    '[[checkpoint]]\nfile = "cp2.csv"\nexclude_hz = []\n')
    camp = eisfit.fit_campaign(toml, cache_dir=False, progress=False)
    assert [r.n_points for r in camp.results] == [len(f) - 1, len(f) - 2, len(f)]
    # the argument sits between [defaults] and the rows: it replaces the defaults' list only
    camp = eisfit.fit_campaign(toml, exclude_hz=[f[1]], cache_dir=False, progress=False)
    assert [r.n_points for r in camp.results] == [len(f) - 1, len(f) - 2, len(f)]
    assert f[1] not in camp.results[0].frequency and f[GLITCH] in camp.results[0].frequency
    csv_file = tmp_path / "campaign.csv"
    csv_file.write_text(f"file,exclude_hz\ncp0.csv,{f[GLITCH]!r};{f[0]!r}\ncp1.csv,\n")
    camp = eisfit.fit_campaign(csv_file, circuit=CIRCUIT, cache_dir=False, progress=False)
    assert [r.n_points for r in camp.results] == [len(f) - 2, len(f)]
    csv_file.write_text("file,exclude_hz\ncp0.csv,50;-1\n")
    with pytest.raises(eisfit.CampaignError, match=r"row 1: exclude_hz must list frequencies > 0 Hz"):
        eisfit.fit_campaign(csv_file, circuit=CIRCUIT, cache_dir=False, progress=False)
    csv_file.write_text("file,exclude_hz\ncp0.csv,fifty\n")
    with pytest.raises(eisfit.CampaignError, match="exclude_hz must be a number"):
        eisfit.fit_campaign(csv_file, circuit=CIRCUIT, cache_dir=False, progress=False)


def test_suggest_reads_the_points_the_fits_see():
    s = glitched()
    sug = eisfit.suggest_circuit(s, [CIRCUIT, "R0-p(R1,CPE1)"], exclude_hz=[s.frequency[GLITCH]])
    assert sug.best == CIRCUIT
    assert all(fit.n_points == len(s) - 1 for fit in sug.fits.values())


def test_command_line_exclude_hz(tmp_path):
    s = glitched()
    f = s.frequency
    path = saved(s, tmp_path / "glitch.csv")
    runner = CliRunner()
    plain = runner.invoke(main, ["fit", str(path), "--circuit", CIRCUIT])
    assert f"kk-outlier:{f[GLITCH]:.4g}Hz" in plain.output
    assert "--exclude-hz F" in explain_flag(f"kk-outlier:{f[GLITCH]:.4g}Hz")
    out = runner.invoke(main, ["fit", str(path), "--circuit", CIRCUIT, "--exclude-hz", f"{f[GLITCH]:.4g}"])
    assert out.exit_code == 0, out.output
    assert "excluded-points:1" in out.output and "kk-outlier" not in out.output
    assert f"{len(f) - 1} points" in out.output
    missing = runner.invoke(main, ["fit", str(path), "--exclude-hz", "7"])
    assert missing.exit_code != 0
    assert "no point within 1 % of 7 Hz to exclude" in missing.output and "Traceback" not in missing.output
    folder = tmp_path / "camp"
    folder.mkdir()
    for k in range(2):
        (folder / f"cp{k}.csv").write_bytes(path.read_bytes())
    camp = runner.invoke(main, ["campaign", str(folder), "--circuit", CIRCUIT, "--exclude-hz", f"{f[GLITCH]:.4g}",
                                "--out", str(tmp_path / "out"), "--no-cache", "--no-progress"])
    assert camp.exit_code == 0, camp.output
    assert (tmp_path / "out" / "summary.csv").read_text().count("excluded-points:1") == 2
    sug = runner.invoke(main, ["suggest", str(path), "--candidates", CIRCUIT, "--exclude-hz", f"{f[GLITCH]:.4g}",
                               "--json"])
    assert sug.exit_code == 0, sug.output


def test_a_glitch_is_left_out_rather_than_half_the_spectrum_cut():
    """One glitched point mid-spectrum: the valid band is the whole spectrum without it
    (before, the band search cut everything below it: 26 of 57 points)."""
    from eisfit.analysis.kk import kk_valid_band

    s = glitched()
    f = s.frequency
    band = kk_valid_band(s)
    assert band.excluded_Hz == (pytest.approx(f[GLITCH]),)
    assert (band.cut_low, band.cut_high, band.n_points, band.n_total) == (0, 0, len(f) - 1, len(f))
    assert band.result.passed and band.fit_options() == {"exclude_hz": band.excluded_Hz}
    assert band.as_dict()["excluded_Hz"] == [pytest.approx(f[GLITCH])]
    res = eisfit.fit(s, CIRCUIT, **band.fit_options())
    assert res.kk_passed and "excluded-points:1" in res.flags
    path_free = Spectrum(f, Circuit(CIRCUIT).impedance(TRUE, f))
    assert kk_valid_band(path_free) is None  # passes as it is: no band to name


def test_a_glitch_and_a_drifting_end_give_a_band_without_the_glitch(tmp_path):
    s = glitched()
    f = s.frequency
    z = s.z.copy()
    z[-8:] *= 1 + np.linspace(0.0, 0.1, 8)  # the 8 lowest frequencies drift by up to 10 %
    from eisfit.analysis.kk import kk_valid_band

    assert kk_test(Spectrum(f, z)).outliers_Hz == (pytest.approx(f[GLITCH]),)
    band = kk_valid_band(Spectrum(f, z))
    assert band is not None and band.cut_low >= 1 and band.cut_high == 0
    assert band.excluded_Hz == (pytest.approx(f[GLITCH]),) and band.fmin_Hz < f[GLITCH]
    assert band.n_points == len(f) - 1 - band.cut_low
    options = band.fit_options()
    assert set(options) == {"fmin", "exclude_hz"}
    assert eisfit.fit(Spectrum(f, z), CIRCUIT, **options).n_points == band.n_points
    path = saved(Spectrum(f, z), tmp_path / "both.csv")
    out = CliRunner().invoke(main, ["validate", str(path)])
    line = next(ln for ln in out.output.splitlines() if "passes on" in ln)
    assert f"{band.cut_low} lowest, 1 isolated outlier left out" in line
    assert "--fmin " in line and f"--exclude-hz {f[GLITCH]:.4g}" in line
    # a drift so strong that the whole spectrum's test names no isolated point: the band's own
    # test names the glitch once the drifting end is cut (it stayed in the band before, which
    # cut 9 points or more to pass with it)
    z = s.z.copy()
    z[-8:] *= 1 + np.linspace(0.0, 0.25, 8)
    assert kk_test(Spectrum(f, z)).outliers_Hz == ()
    band = kk_valid_band(Spectrum(f, z))
    assert band.excluded_Hz == (pytest.approx(f[GLITCH]),) and band.cut_low >= 3 and band.cut_high == 0


def test_validate_tests_the_points_a_fit_with_the_same_options_uses(tmp_path):
    import json

    s = glitched()
    f = s.frequency
    path = saved(s, tmp_path / "glitch.csv")
    runner = CliRunner()
    failing = json.loads(runner.invoke(main, ["validate", str(path), "--json"]).output)[0]
    assert not failing["passed"] and failing["valid_band"]["excluded_Hz"] == [pytest.approx(f[GLITCH])]
    out = runner.invoke(main, ["validate", str(path), "--json", "--exclude-hz", f"{f[GLITCH]:.4g}"])
    assert out.exit_code == 0, out.output
    record = json.loads(out.output)[0]
    assert record["passed"] and record["outliers_Hz"] == []
    assert record["mu"] == pytest.approx(kk_test(s.exclude([f[GLITCH]])).mu)
    cropped = json.loads(runner.invoke(main, ["validate", str(path), "--json", "--fmin", "1", "--fmax", "1e5"]).output)[0]
    assert cropped["mu"] == pytest.approx(kk_test(s.crop(1, 1e5)).mu)
    bad = runner.invoke(main, ["validate", str(path), "--fmin", "10", "--fmax", "1"])
    assert bad.exit_code == 2 and "must be below --fmax" in bad.output
    missing = runner.invoke(main, ["validate", str(path), "--exclude-hz", "3"])
    assert missing.exit_code == 2 and "no point within 1 % of 3 Hz to exclude" in missing.output


def test_drt_analyses_the_points_a_fit_with_the_same_options_uses(tmp_path):
    import json

    from eisfit import drt

    s = glitched()
    f = s.frequency
    path = saved(s, tmp_path / "glitch.csv")
    out = CliRunner().invoke(main, ["drt", str(path), "--json", "--exclude-hz", f"{f[GLITCH]:.4g}", "--fmin", "0.5"])
    assert out.exit_code == 0, out.output
    record = json.loads(out.output[out.output.index("["):])[0]
    expected = drt(s.crop(fmin=0.5).exclude([f[GLITCH]]))
    assert record["r_pol_ohm"] == pytest.approx(expected.r_pol_ohm, rel=1e-9)
    assert record["r_pol_ohm"] != pytest.approx(drt(s.crop(fmin=0.5)).r_pol_ohm, rel=1e-9)
    bad = CliRunner().invoke(main, ["drt", str(path), "--fmin", "10", "--fmax", "1"])
    assert bad.exit_code == 2 and "must be below --fmax" in bad.output
