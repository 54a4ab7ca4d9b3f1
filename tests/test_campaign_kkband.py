"""``fit_campaign(..., kk_band=True)`` / ``eisfit campaign --kk-band``: for the checkpoints
whose points fail the Lin-KK test, where they pass, and the campaign-file keys that fit
only those points (which then pass)."""
from __future__ import annotations

import math
import re

import numpy as np
from click.testing import CliRunner

import eisfit
from eisfit import Spectrum, kk_test, kk_valid_band
from eisfit.cli import main
from eisfit.model import Circuit

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
F = np.logspace(6, -2, 65)  # 1 MHz .. 10 mHz, 8 points per decade
TRUE = np.array([20.0, 100.0, 1e-8, 0.9, 300.0, 1e-4, 0.85])


def checkpoint(n_drift: int, seed: int) -> Spectrum:
    """Two arcs, 0.2 % noise; over the last ``n_drift`` (lowest) frequencies R2 grows 4 % per
    point (a cell that changes while its lowest frequencies are measured); 0: no drift."""
    circuit = Circuit(CIRCUIT)
    params = np.tile(TRUE, (F.size, 1))
    if n_drift:
        params[-n_drift:, 4] *= 1 + 0.04 * np.arange(1, n_drift + 1)
    z = np.array([circuit.impedance(params[k], F[k:k + 1])[0] for k in range(F.size)])
    rng = np.random.default_rng(seed)
    z = z * (1 + 0.002 * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size)))
    return Spectrum(F, z, {"label": f"cp{seed}"})


DRIFTS = (0, 12, 0, 16)  # the second and fourth checkpoints drift


def saved(s: Spectrum, path):
    np.savetxt(path, np.c_[s.frequency, s.z.real, s.z.imag], delimiter=",", header="freq/Hz,Zre/Ohm,Zim/Ohm",
               comments="")
    return path


def test_campaign_bands_name_where_each_failing_checkpoint_passes():
    spectra = [checkpoint(n, seed) for seed, n in enumerate(DRIFTS)]
    camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, cache_dir=False, progress=False, kk_band=True)
    t = camp.table
    assert list(t["kk_passed"]) == [True, False, True, False]
    for k, (row, r) in enumerate(zip(t.itertuples(), camp.results)):
        if DRIFTS[k] == 0:  # passing checkpoints: nothing to say
            assert math.isnan(row.kk_valid_fmin_Hz) and math.isnan(row.kk_valid_points) and camp.kk_bands[k] is None
            continue
        band = kk_valid_band(spectra[k])  # the same points, on their own
        assert band is not None and band.cut_low > 0 and band.cut_high == 0
        assert row.kk_valid_fmin_Hz == band.fmin_Hz and row.kk_valid_fmax_Hz == F.max()
        assert row.kk_valid_points == band.n_points == F.size - band.cut_low
        assert kk_test(spectra[k].crop(fmin=row.kk_valid_fmin_Hz)).passed
    report = camp.report()
    assert "## Kramers-Kronig" in report and "2 of 4 fitted checkpoints fail" in report
    assert report.count("fmin = ") == 2


def test_campaign_file_keys_from_the_report_fit_points_that_pass(tmp_path):
    """The end to end use: run with --kk-band, copy each failing checkpoint's keys into its
    row of a campaign file, run again: every checkpoint now passes."""
    rows = []
    for seed, n in enumerate(DRIFTS):
        saved(checkpoint(n, seed), tmp_path / f"cp{seed}.csv")
        rows.append(f'[[checkpoint]]\nfile = "cp{seed}.csv"\ntime_h = {100 * seed}\n')
    (tmp_path / "camp.toml").write_text(f'[defaults]\ncircuit = "{CIRCUIT}"\n\n' + "\n".join(rows))
    result = CliRunner().invoke(main, ["campaign", str(tmp_path / "camp.toml"), "--kk-band", "--no-cache",
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "2 of 4 fitted checkpoints fail the Lin-KK test" in result.output
    keys = dict(re.findall(r"^- (cp\d)\.csv[^:]*: passes .*; `(fmin = [0-9.e+-]+)`$",
                           (tmp_path / "out" / "report.md").read_text(), re.M))
    assert sorted(keys) == ["cp1", "cp3"], (tmp_path / "out" / "report.md").read_text()
    assert "kk_valid_fmin_Hz" in (tmp_path / "out" / "summary.csv").read_text().splitlines()[0]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<h2>Kramers-Kronig</h2>" in html and html.count("fmin = ") == 2  # the shared page says it too
    fixed = [row + (keys[f"cp{k}"] + "\n" if f"cp{k}" in keys else "") for k, row in enumerate(rows)]
    (tmp_path / "camp2.toml").write_text(f'[defaults]\ncircuit = "{CIRCUIT}"\n\n' + "\n".join(fixed))
    again = eisfit.fit_campaign(tmp_path / "camp2.toml", cache_dir=False, progress=False)
    assert list(again.table["kk_passed"]) == [True] * 4
    assert "Kramers-Kronig" not in again.report()


def test_without_kk_band_the_report_says_how_to_find_the_bands():
    spectra = [checkpoint(n, seed) for seed, n in enumerate(DRIFTS[:2])]
    camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, cache_dir=False, progress=False)
    assert camp.kk_bands is None and "kk_valid_fmin_Hz" not in camp.table
    assert "1 of 2 fitted checkpoints fail" in camp.report() and "`--kk-band`" in camp.report()


def test_frequencies_read_as_people_write_them():
    from eisfit.units import format_frequency

    assert format_frequency(1e6) == "1 MHz"
    assert format_frequency(14450.0) == "14.45 kHz"
    assert format_frequency(177.83) == "177.8 Hz"
    assert format_frequency(0.1334) == "133.4 mHz"
    assert format_frequency(2e-6) == "2 µHz"
    # the prefix of the rounded value: a Maccor sweep's 999999 Hz read '1000 kHz'
    assert format_frequency(999999.0) == "1 MHz" and format_frequency(999.96) == "1 kHz"


def test_numbers_typed_as_people_type_them():
    from eisfit.units import plain_number

    assert [plain_number(v) for v in (21150.3, 0.13333, 177.83, 1e-5, 2e7, 0.0)] == \
        ["21150", "0.1333", "177.8", "1e-05", "2e+07", "0"]


def test_with_kk_band_and_every_checkpoint_passing_the_report_says_so():
    spectra = [checkpoint(0, seed) for seed in range(2)]
    camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, cache_dir=False, progress=False, kk_band=True)
    assert "All 2 tested checkpoints pass the Lin-KK test (of 2 fitted)." in camp.report()


def test_the_kk_section_says_which_points_were_tested():
    """The same file's 32 sweeps passed the Lin-KK test with garnet-symmetric and failed
    with garnet-symmetric-L: without an inductor the fit drops the inductive points, and the
    test is of the fitted points. The section says so."""
    from types import SimpleNamespace

    from eisfit.campaign.kkband import kk_band_report_lines

    results = [SimpleNamespace(kk_passed=True, flags=[f"dropped-inductive-points:{n}"]) for n in (9, 20)]
    camp = SimpleNamespace(results=results, kk_bands=[None, None], checkpoints=[])
    text = " ".join(kk_band_report_lines(camp))
    assert "All 2 tested checkpoints pass" in text and "9-20 inductive points of 2 checkpoint(s) were dropped" in text
    camp.results = [SimpleNamespace(kk_passed=True, flags=[])]
    assert "dropped" not in " ".join(kk_band_report_lines(camp))


def noisy_checkpoint(seed: int, noise: float = 0.02) -> Spectrum:
    """The two arcs without drift, 2 % random noise: the Lin-KK test cannot judge them
    (``kk-too-noisy``), which is neither a pass nor a violation."""
    z = Circuit(CIRCUIT).impedance(TRUE, F)
    rng = np.random.default_rng(100 + seed)
    z = z * (1 + noise * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size)))
    return Spectrum(F, z, {"label": f"noisy{seed}"})


def test_too_noisy_checkpoints_are_counted_apart_from_failures():
    """Eleven checkpoints of 2 % noise, each flagged kk-too-noisy ("neither passed nor a
    violation"), had read "11 of 11 fitted checkpoints fail the Lin-KK test (drift, ...): their
    fits describe points that no stable linear system gives". Now the failures (a drifting
    checkpoint) and the too-noisy ones are counted and described apart, and no band is sought
    in noise."""
    spectra = [noisy_checkpoint(0), checkpoint(12, 1), noisy_checkpoint(2)]
    camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, cache_dir=False, progress=False, kk_band=True)
    flags = list(camp.table["flags"])
    assert "kk-too-noisy:" in flags[0] and "kk-too-noisy:" in flags[2] and "kk-too-noisy" not in flags[1]
    report = camp.report()
    assert "1 of 3 fitted checkpoints fail the Lin-KK test" in report
    assert "2 of 3 fitted checkpoints are too noisy for the Lin-KK test to judge" in report
    assert "neither passed nor a violation" in report and report.count("fmin = ") == 1
    assert camp.kk_bands[0] is None and math.isnan(camp.table["kk_valid_points"].iloc[0])
    only_noise = eisfit.fit_campaign([noisy_checkpoint(3), noisy_checkpoint(4)], circuit=CIRCUIT, cache_dir=False,
                                     progress=False)
    text = only_noise.report()
    assert "fail the Lin-KK test" not in text and "`--kk-band`" not in text
    assert "2 of 2 fitted checkpoints are too noisy for the Lin-KK test to judge" in text


def test_checkpoints_of_noise_are_said_to_be_noise_not_a_drift():
    """A real campaign of 50 checkpoints whose points scatter by 28-55 % of |Z| (each flagged
    noise-dominated) read "50 of 50 fitted checkpoints fail the Lin-KK test (drift,
    non-stationary cell or artefacts)" and advised --kk-band, which finds no band in noise.
    They are counted as noise, apart from the failures, and no band is sought in them."""
    rng = np.random.default_rng(7)
    z = Circuit(CIRCUIT).impedance(TRUE, F)
    noise = Spectrum(F, z * (1 + 0.4 * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size))),
                     {"label": "noise"})
    noise = Spectrum(F, np.abs(noise.z.real) - 1j * np.abs(noise.z.imag), {"label": "noise"})
    camp = eisfit.fit_campaign([noise, checkpoint(12, 1)], circuit=CIRCUIT, cache_dir=False, progress=False,
                               kk_band=True)
    assert "noise-dominated:" in camp.table["flags"].iloc[0]
    report = camp.report()
    assert re.search(r"1 of 2 fitted checkpoints are noise \(their points scatter by \d+ % of \|Z\|", report)
    assert "1 of 2 fitted checkpoints fail the Lin-KK test" in report  # the drifting one
    assert camp.kk_bands[0] is None and report.count("fmin = ") == 1
