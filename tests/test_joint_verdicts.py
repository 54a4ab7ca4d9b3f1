"""Joint fits across checkpoints judged by one statistical model, and only when they converged:
each checkpoint weighted by its own noise level, no verdict from a fit that stopped anywhere,
rows whose flags describe the values they hold, settings checked before any fit, texts that
say what the values are (tried and rejected, shared, no line)."""
from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import eisfit
from eisfit import Spectrum
from eisfit.errors import FitError
from eisfit.model import Circuit
from eisfit.series import joint_fit

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
F = np.logspace(6, 0, 61)
SHARED = ["R0", "R1", "CPE1_0", "CPE1_1"]
_C = Circuit(CIRCUIT)


def campaign(seed=0, r1_drift=0.0, k=6, noisy=2, noisy_level=0.05, quiet_level=0.005):
    """``k`` spectra: R1 100 ohm (drifting by ``r1_drift`` relative over the campaign), R2
    falling 150 -> 15 ohm, the rest constant; noise ``quiet_level`` of |Z| on Z' and Z'',
    ``noisy_level`` on checkpoint ``noisy`` (None: none)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(k):
        s = i / (k - 1)
        p = [20.0, 100.0 * (1 + r1_drift * s), 1e-8, 0.9, 150.0 * 0.4 ** s, 2e-6, 0.85]
        z = _C.impedance(np.array(p), F)
        rel = noisy_level if i == noisy else quiet_level
        z = z + rel * np.abs(z) * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size))
        out.append(Spectrum(F, z, {"label": f"cp{i}", "time_h": 100.0 * i}))
    return out


def quiet_fit(spectra, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return joint_fit(spectra, CIRCUIT, **kwargs)


# ---- finding 1: each checkpoint weighted by its own noise level --------------------------

def test_one_noisy_checkpoint_no_longer_makes_a_false_sharing_pass():
    """R1 truly drifts 3 %; one checkpoint of six has 10x the noise of the others. The pooled
    chi-square let that sweep decide: the AIC accepted the false sharing (dAIC = +22.6 here,
    8 of 10 seeds in the audit). Weighted by each checkpoint's own noise level it rejects it,
    as it does with six quiet sweeps."""
    res = quiet_fit(campaign(seed=0, r1_drift=0.03), shared=SHARED)
    assert res.sharing["verdict"] == "rejected" and res.sharing["delta_aic"] < -20
    assert not res.accepted
    w = np.array(res.noise_weights)
    assert w[2] < 0.02 * np.median(w)  # (10x the noise SD: about 1/100 of the weight)
    assert "cp2 is the noisiest" in "\n".join(res.summary_lines())
    # one noise level for all (noise_weighting=False, a plain stacked fit's model) is the old verdict
    pooled = quiet_fit(campaign(seed=0, r1_drift=0.03), shared=SHARED, noise_weighting=False)
    assert pooled.noise_weights == [1.0] * 6 and pooled.sharing["delta_aic"] == pytest.approx(22.55, abs=0.1)
    assert "Every checkpoint weighs the same" in "\n".join(pooled.summary_lines())


def test_the_standard_errors_follow_each_checkpoints_own_noise():
    """Sharing truly holds; checkpoint 2 has 10x the noise. With one pooled s^2 every
    checkpoint's R2 came out about as uncertain as the others (0.0125 relative at the noisy
    one, 0.0097-0.018 at the quiet ones, 3x their own independent fits' 0.003-0.010): the
    noisy one's too small, the quiet ones' too large. Now sharing only adds information: no
    checkpoint's R2 is less certain than in its own fit, and the noisy one's is the widest."""
    res = quiet_fit(campaign(seed=0, r1_drift=0.0), shared=SHARED)
    assert res.accepted
    joint = np.array([e["R2"] / v["R2"] for e, v in zip(res.stderr, res.values)])
    own = np.array([e["R2"] / v["R2"] for e, v in zip(res.independent_stderr, res.independent_values)])
    assert np.all(joint <= own * 1.001)
    quiet = np.delete(joint, 2)
    assert joint[2] > 4 * np.median(quiet)
    # the noise-weighted chi-square per degree of freedom: the independent fits' pooled one
    pooled = sum(res.independent_chisq) / (res.n_residuals - 7 * res.n_checkpoints)
    assert res.redchi == pytest.approx(pooled, rel=0.1)


def test_noise_weights_of_equal_and_of_exact_fits():
    from eisfit.series.joint import noise_weights

    np.testing.assert_allclose(noise_weights([10.0, 10.0, 40.0], [55, 55, 55], 10), [2.0, 2.0, 0.5])
    # no degrees of freedom: weight 1 of the pooled; all exact: all 1; one exact: capped
    np.testing.assert_allclose(noise_weights([10.0, 1.0], [55, 3], 10), [1.0, 1.0])
    np.testing.assert_allclose(noise_weights([0.0, 0.0], [55, 55], 10), [1.0, 1.0])
    np.testing.assert_allclose(noise_weights([0.0, 10.0], [55, 55], 10), [1e6, 0.5])


# ---- finding 2: no verdict from a joint fit that did not converge --------------------------

def test_an_unsmoothed_fit_the_smoothed_one_ends_below_is_fitted_again(monkeypatch):
    """The smoothed fit (more constrained) ended below the unsmoothed one, whose chi-square
    the sharing verdict and the smoothing's rise ("Smoothing raises chi-square by -1.64e+03
    s^2", counted as supported) rested on. The unsmoothed fit is now fitted again from the
    smoothed optimum: its chi-square is the optimum's and the rise is not negative. (The
    stalled first fit is made here by stopping it after one iteration.)"""
    from eisfit.series import joint as joint_module

    spectra = campaign(seed=1, noisy=None)
    proper = quiet_fit(spectra, shared=["CPE1_1"], smooth=1.0)
    original = joint_module._minimise
    calls = []

    def stalls_once(problem, a0, b0, penalty, max_iter, dof):
        calls.append(penalty)
        if len(calls) == 1:  # the first unsmoothed fit: one iteration, called converged
            return replace(joint_module.block_lm(problem, a0, b0, max_iter=1), converged=True)
        return original(problem, a0, b0, penalty, max_iter, dof)

    monkeypatch.setattr(joint_module, "_minimise", stalls_once)
    res = quiet_fit(spectra, shared=["CPE1_1"], smooth=1.0)
    assert res.converged and not res.undetermined
    assert res.sharing["chisq_shared"] == pytest.approx(proper.sharing["chisq_shared"], rel=1e-6)
    assert res.smoothing["delta_chisq_s2"] > -0.01


def _campaign_whose_joint_fit_stops(monkeypatch):
    """A campaign whose shared fit cannot converge (its solver stopped after 2 iterations)."""
    from eisfit.series import joint as joint_module

    original = joint_module.block_lm
    monkeypatch.setattr(joint_module, "block_lm", lambda *a, **kw: original(*a, **{**kw, "max_iter": 2}))
    spectra = campaign(seed=2, noisy=None)
    with pytest.warns(Warning, match="undetermined: the joint fit did not converge"):
        return eisfit.fit_campaign(spectra, circuit=CIRCUIT, shared=SHARED, cache_dir=False, progress=False)


def test_a_campaign_whose_joint_fit_did_not_converge_keeps_its_own_fits_and_says_why(monkeypatch, tmp_path):
    """The shared fit stopped on its iteration limit: its dAIC was the verdict in report.md and
    the terminal, with no word of it (only the rows' flags in CampaignResult.joint said
    not-converged). Now the verdict is "undetermined" everywhere, and the table holds the
    checkpoints' own fits."""
    camp = _campaign_whose_joint_fit_stops(monkeypatch)
    joint = camp.joint
    assert joint.verdict == "undetermined" and not joint.accepted and joint.rejected_assumptions == []
    assert set(camp.table["joint_fit"]) == {"independent: joint fit did not converge"}
    assert all("undetermined: the joint fit did not converge" in n for n in camp.table["notes"])
    assert all(r.settings.get("joint") is None for r in camp.results)
    report = camp.report()
    assert "undetermined: the joint fit did not converge" in report
    assert "Shared values (tried; undetermined: the joint fit did not converge)" in report
    assert "is supported" not in report and "NOT supported" not in report
    record = camp.joint_records()[0]
    assert record["verdict"] == "undetermined" and record["table_holds"] == "independent"
    assert math.isnan(record["sharing"]["delta_aic"])
    assert {v["status"] for v in record["shared_values"].values()} == {
        "tried; undetermined: the joint fit did not converge"}


def test_a_fit_stopped_on_its_limit_is_continued():
    """The shared fit of a real 32-sweep file stopped at 300 iterations with 10x its optimum's
    chi-square; it is continued from where it stopped (MAX_RESTARTS times) before it counts
    as not converged. Here 3 iterations at a time reach the optimum of 300 at once (6
    iterations); it had stopped after 3, not converged."""
    spectra = campaign(seed=3, noisy=None)
    full = quiet_fit(spectra, shared=SHARED)
    short = quiet_fit(spectra, shared=SHARED, max_iter=3)
    assert full.converged and short.converged
    assert short.chisq == pytest.approx(full.chisq, rel=1e-6)


def test_the_solver_survives_a_normal_matrix_singular_at_its_damping():
    """An element collapsed (a column of ~1e-35) made the undamped normal matrix singular to
    machine precision: block_lm raised numpy's LinAlgError out of a campaign. The step is now
    rejected and damped more, and the damping has a floor."""
    from eisfit.series.solver import MIN_DAMPING, BlockProblem, block_lm

    t = np.linspace(0.0, 1.0, 8)

    def evaluate(a, b):  # the second local parameter has no effect at all: its column is 0
        r = (np.exp(a[:, :1]) * t - (1.0 + t))
        ja = np.stack([np.exp(a[:, 0])[:, None] * t, np.zeros((a.shape[0], t.size))], axis=2)
        return r, ja, np.zeros((a.shape[0], t.size, 0))

    inf = np.full(2, np.inf)
    out = block_lm(BlockProblem(evaluate, -inf, inf, np.zeros(0), np.zeros(0)), np.zeros((3, 2)), np.zeros(0))
    assert np.isfinite(out.chisq) and MIN_DAMPING > 0


# ---- finding 3: a resistance with one determined point does not end the Arrhenius analysis --

def _vanishing_arc_folder(folder, temperatures_c=(25.0, 45.0, 65.0, 85.0)):
    """A temperature series of the garnet circuit whose interface arc vanishes as it warms
    (Ea 1.5 eV: 3 ohm at 25 C, 0.07 at 45 C...), as CSV files and a campaign file."""
    k_b = 8.617333262e-5
    rows = ["file,temperature_C,area_cm2,thickness_cm"]
    rng = np.random.default_rng(11)
    for k, t_c in enumerate(temperatures_c):
        t = t_c + 273.15
        r1 = 300.0 * (t / 298.15) * np.exp(0.35 / k_b * (1 / t - 1 / 298.15))
        r2 = 3.0 * (t / 298.15) * np.exp(1.5 / k_b * (1 / t - 1 / 298.15))
        z = _C.impedance(np.array([20.0, r1, 1e-8, 0.9, r2, 2e-5, 0.85]), F)
        z = z + 0.002 * np.abs(z) * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size))
        np.savetxt(folder / f"T{k}.csv", np.c_[F, z.real, z.imag], delimiter=",",
                   header="freq/Hz,Re(Z)/Ohm,Im(Z)/Ohm", comments="")
        rows.append(f"T{k}.csv,{t_c},0.785,0.03")
    (folder / "campaign.csv").write_text("\n".join(rows) + "\n")
    return folder / "campaign.csv"


def test_a_resistance_with_fewer_than_two_points_gets_a_row_and_the_run_its_outputs(tmp_path):
    """The interface arc is determined at one temperature only: `--arrhenius` ended with
    "an Arrhenius fit needs at least 2 points, got 1" (exit 2, no report.md, no arrhenius.csv,
    not naming the resistance) and CampaignResult.arrhenius() raised. Now that resistance has a
    row with its point count and a note naming it; the others have their lines."""
    import json

    from click.testing import CliRunner

    from eisfit.cli import main

    source = _vanishing_arc_folder(tmp_path)
    out = CliRunner().invoke(main, ["campaign", str(source), "--circuit", CIRCUIT, "--arrhenius", "--json",
                                    "--out", str(tmp_path / "out"), "--no-cache", "--no-progress"])
    assert out.exit_code == 0, out.output
    fits = pd.read_csv(tmp_path / "out" / "arrhenius.csv").set_index("resistance")
    assert fits.loc["R2", "n_points"] < 2 and math.isnan(fits.loc["R2", "ea_eV"])
    assert fits.loc["R2", "ea_source"] == "no line"
    assert fits.loc["R2", "note"].startswith("R2 has fewer than 2 determined points")
    assert fits.loc["R1", "ea_eV"] == pytest.approx(0.35, abs=0.02)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "- R2 (1/ASR per interface): R2 has fewer than 2 determined points" in report
    record = json.loads(out.stdout[out.stdout.index("{"):])
    assert any(line.startswith("Arrhenius R2 (1/ASR per interface): R2 has fewer than 2 determined points")
               for line in record["arrhenius"])


# ---- finding 4: temperatures that look like degrees Celsius, in every Arrhenius output ------

def test_temperatures_that_look_like_celsius_are_named_in_every_rows_note():
    """temperature_K = 25...60 (degrees Celsius given as kelvin) gave R1 Ea = 0.0072 eV with a
    tight standard error; only a warning at read time said anything, arrhenius.csv's note and
    report.md nothing. A campaign's table has both temperature columns (the kelvin then made
    the Celsius): the note names them whichever column gave them."""
    from eisfit.analysis.arrhenius import arrhenius_report_lines, arrhenius_summary_lines, arrhenius_table

    t = np.array([25.0, 40.0, 55.0, 60.0])
    sigma = 2e3 * np.exp(-0.3 / (8.617333262e-5 * (t + 273.15))) / (t + 273.15)
    table = pd.DataFrame({"temperature_K": t, "temperature_C": t - 273.15, "R0_sigma_S_per_cm": [1e-3] * 4,
                          "R1_sigma_S_per_cm": sigma})
    out = arrhenius_table(table, ["R0", "R1"])
    for note in out["note"]:
        assert "the temperatures = 25 … 60 K (that is -248" in note
        assert "all below 100 K: they look like degrees Celsius" in note
    assert "look like degrees Celsius" in "\n".join(arrhenius_report_lines(out))
    assert all("look like degrees Celsius" in line for line in arrhenius_summary_lines(out))


def test_a_joint_laws_lines_name_temperatures_that_look_like_celsius():
    spectra = campaign(seed=9, noisy=None, k=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = joint_fit(spectra, CIRCUIT, arrhenius=["R1"], temperatures_K=[25.0, 40.0, 55.0, 70.0])
    assert "look like degrees Celsius" in res.arrhenius["temperature_note"]
    assert res.law_lines()[-1].startswith("Warning: the temperatures = 25 … 70 K")


# ---- finding 5: a joint row's flags are those of its values -----------------------------

def test_a_joint_rows_flags_describe_its_own_values():
    """A joint row kept its single fit's ``profile-stderr:R1`` (its stderr is the joint
    covariance's) and ``arcs-overlap`` (judged on other values); the flags that judge the values
    are judged again on the joint ones, those of the data (Lin-KK) stay."""
    spectra = campaign(seed=4, noisy=None)
    singles = [eisfit.fit(s, CIRCUIT) for s in spectra]
    stale = ["profile-stderr:R1", "arcs-overlap:CPE1,CPE2", "large-stderr:R2", "kk-outlier:10Hz"]
    templates = [r.with_fields(flags=list(r.flags) + stale) for r in singles]
    res = quiet_fit(spectra, shared=SHARED, start_values=[r.values for r in singles])
    assert res.accepted
    for row in res.fit_results(templates):
        assert "profile-stderr:R1" not in row.flags and "large-stderr:R2" not in row.flags
        assert not any(f.startswith("arcs-overlap") for f in row.flags)  # tau 1e-6 s vs 3e-4 s
        assert "kk-outlier:10Hz" in row.flags
        assert row.intervals == {}


def test_arc_jump_is_judged_again_on_the_values_the_rows_hold():
    """Row 200 h kept ``arc-jump`` and the note "R2 60.6 -> 18.2 ohm" (the independent values)
    while it held the joint 20.3 ohm, 2.98x from its neighbour's 60.5: below the 3x rule."""
    from eisfit.campaign.runner import CheckpointFits, reflag_arc_jumps

    base = eisfit.fit(campaign(seed=5, noisy=None)[0], CIRCUIT)
    kept = [base.with_fields(values={**base.values, "R2": r2}, stderr={**base.stderr, "R2": 0.3})
            for r2 in (60.5, 20.3)]
    fits = [CheckpointFits(kept[0]),
            CheckpointFits(kept[1], flags=["arc-jump", "seed-disagreement"],
                           notes=["resistance jump > 3x without metadata change: R2 60.6 -> 18.2 ohm", "other"])]
    items = [{"conditions": {"cell": "a"}}] * 2
    reflag_arc_jumps(items, [0, 1], fits)
    assert fits[1].flags == ["seed-disagreement"] and fits[1].notes == ["other"]
    fits[1].kept = kept[1].with_fields(values={**base.values, "R2": 18.2})
    reflag_arc_jumps(items, [0, 1], fits)
    assert fits[1].flags == ["seed-disagreement", "arc-jump"]
    assert fits[1].notes[-1].endswith("R2 60.5 -> 18.2 ohm")


# ---- finding 6: the joint settings checked before any file is read -----------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"smooth": -1}, "smooth must be"),
    ({"smooth": "abc"}, "smooth must be"),
    ({"smooth": float("inf")}, "smooth must be"),
    ({"smooth": True}, "smooth must be"),
    ({"shared": ["R0"], "fixed": {"R0": 20.0}}, "cannot be both shared and fixed"),
    ({"arrhenius_law": "R1", "fixed": {"R1": 20.0}}, "cannot both follow an Arrhenius law"),
    ({"shared": ["R1", "R1"]}, "named twice"),
])
def test_joint_settings_are_refused_before_anything_is_read(tmp_path, kwargs, message):
    """smooth=-1, 'abc', inf, True and a parameter both shared and fixed failed only after every
    checkpoint had been fitted (leaving summary.partial.csv). A source that does not exist
    shows it: the setting is refused before the source is looked at, and nothing is written."""
    with pytest.raises(FitError, match=message):
        eisfit.fit_campaign(tmp_path / "no such folder", out=tmp_path / "out", cache_dir=False, **kwargs)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("options", [["--smooth", "inf"], ["--smooth", "1e400"], ["--smooth", "-1"],
                                     ["--shared", "R0", "--fix", "R0=20"]])
def test_the_command_refuses_them_with_exit_2_and_writes_nothing(tmp_path, options):
    from click.testing import CliRunner

    from eisfit.cli import main

    spectra = campaign(seed=6, noisy=None, k=3)
    for s in spectra:
        np.savetxt(tmp_path / f"{s.label}.csv", np.c_[s.frequency, s.z.real, s.z.imag], delimiter=",",
                   header="freq/Hz,Re(Z)/Ohm,Im(Z)/Ohm", comments="")
    out = CliRunner().invoke(main, ["campaign", str(tmp_path / "*.csv"), "--circuit", CIRCUIT, "--out",
                                    str(tmp_path / "out"), "--no-cache", "--no-progress", *options])
    assert out.exit_code == 2, out.output
    assert "eisfit: error:" in out.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_smooth_rule():
    from eisfit._checks import check_smooth

    assert check_smooth(None) is None and check_smooth(False) is None
    assert check_smooth(" Auto ") == "auto" and check_smooth("5") == 5.0 and check_smooth(0) == 0.0
    for bad in (True, -1, "abc", float("inf"), "1e400", float("nan"), [1.0]):
        with pytest.raises(FitError, match="smooth must be None, 'auto' or a finite number >= 0"):
            check_smooth(bad)


# ---- finding 7: rejected shared values are no result ---------------------------------------

def test_shared_values_the_data_reject_are_labelled_tried():
    """A rejected sharing still printed "Shared values: R0 = 21.64 ± 0.56 Ω, R1 = 101.1 ± 0.71 Ω"
    as a result (the Arrhenius-law lines said "tried"); now they say so too."""
    res = quiet_fit(campaign(seed=0, r1_drift=0.05, noisy=None), shared=SHARED)
    assert res.verdict == "rejected"
    lines = res.summary_lines()
    assert any(line.startswith("Shared values (tried; rejected): R0 = ") for line in lines)
    accepted = quiet_fit(campaign(seed=0, noisy=None), shared=SHARED)
    assert any(line.startswith("Shared values: R0 = ") for line in accepted.summary_lines())


def test_a_shared_resistance_gets_no_arrhenius_line():
    """R0 shared by a joint fit read "R0: Ea = 0.02714 ± 0.00022 eV (R² = 0.9997)", a line through
    one value repeated; its row now has no line and says why."""
    from eisfit.analysis.arrhenius import EA_SHARED, arrhenius_report_lines, arrhenius_table

    t = np.array([298.15, 313.15, 328.15, 343.15])
    sigma1 = 2e3 * np.exp(-0.3 / (8.617333262e-5 * t)) / t
    table = pd.DataFrame({"temperature_K": t, "R0_sigma_S_per_cm": [1e-3] * 4, "R0_sigma_S_per_cm_stderr": [1e-6] * 4,
                          "R1_sigma_S_per_cm": sigma1, "R1_sigma_S_per_cm_stderr": 0.01 * sigma1,
                          "shared": ["R0,CPE1_0"] * 4})
    out = arrhenius_table(table, ["R0", "R1"]).set_index("resistance")
    assert out.loc["R0", "ea_source"] == EA_SHARED and math.isnan(out.loc["R0", "ea_eV"])
    assert out.loc["R0", "note"].startswith("shared: constant by construction, no line")
    assert out.loc["R1", "ea_eV"] == pytest.approx(0.3, rel=1e-6)
    assert "| R0 | – (shared: no line) | – |" in "\n".join(arrhenius_report_lines(out.reset_index()))


# ---- finding 8: joint_fit's edge cases ------------------------------------------------------

def test_joint_fit_of_one_spectrum_a_name_as_a_string_and_smooth_true():
    """One spectrum was "supported (dAIC = 0)"; shared="R0" became "unknown parameter(s) 0, R";
    smooth=True was lambda 1."""
    spectra = campaign(seed=7, noisy=None, k=3)
    with pytest.raises(FitError, match="at least 2 spectra, got 1"):
        joint_fit(spectra[:1], CIRCUIT, shared=["R0", "R1"])
    res = quiet_fit(spectra, shared="R0")
    assert res.shared == ["R0"]
    with pytest.raises(FitError, match="smooth must be"):
        joint_fit(spectra, CIRCUIT, smooth=True)


# ---- finding 9: a smoothing with nothing to smooth says so -------------------------------

def test_a_smoothing_with_nothing_left_to_smooth_says_so():
    """--smooth 5 with every free parameter shared (or on a law) smoothed nothing, and only the
    settings table said smooth = 5."""
    spectra = campaign(seed=8, noisy=None, k=4)
    with pytest.warns(RuntimeWarning, match=r"Smoothing \(smooth = 5\) had no effect: no local parameter"):
        res = joint_fit(spectra, CIRCUIT, shared=list(_C.param_names), smooth=5, warn_verdicts=False)
    assert res.smoothing is None and res.notes and res.notes[0] in res.summary_lines()
    with pytest.warns(RuntimeWarning, match="needs at least 3 checkpoints, there are 2"):
        res = joint_fit(spectra[:2], CIRCUIT, smooth="auto", warn_verdicts=False)
    assert "had no effect" in res.notes[0]
