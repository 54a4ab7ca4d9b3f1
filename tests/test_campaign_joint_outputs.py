"""What a campaign's outputs say about its joint fit and its areas: which fit the table holds
(summary.csv, terminal, report.md, --json), the smoothed values marked as the shared ones are,
checkpoints without an electrode area named as such, and a joint fit's one-area-per-cell
check made before any fit."""
from __future__ import annotations

import csv
import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import eisfit
from eisfit import Spectrum
from eisfit.cli import main
from eisfit.model import Circuit

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
F = np.logspace(np.log10(7e6), 0, 51)
R2_OHM = (149.0, 120.0, 95.0, 74.0, 58.0)


def spectra(noise=0.02, seed=1, r1=(60.0,) * 5):
    """Five checkpoints 100 h apart, R2 falling, R1 as given (ohm), relative noise ``noise``."""
    circuit = Circuit(CIRCUIT)
    rng = np.random.default_rng(seed)
    out = []
    for i, (r2, r1_) in enumerate(zip(R2_OHM, r1)):
        z = circuit.impedance([40.0, r1_, 1e-8, 0.9, r2, 2e-6, 0.85], F)
        z = z + noise * np.abs(z) * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size))
        out.append(Spectrum(F, z, {"label": f"{100 * i} h", "time_h": 100.0 * i}))
    return out


def campaign_file(folder, areas, noise=0.005):
    """CSV files and a campaign.toml whose checkpoints have the electrode ``areas`` (cm2, None: none)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [f'[defaults]\ncircuit = "{CIRCUIT}"\nthickness_cm = 0.03\n']
    for i, (s, area) in enumerate(zip(spectra(noise=noise), areas)):
        np.savetxt(folder / f"cp{i}.csv", np.c_[s.frequency, s.z.real, s.z.imag], delimiter=",",
                   header="frequency_Hz,z_real_ohm,z_imag_ohm", comments="")
        rows.append(f'[[checkpoint]]\nfile = "cp{i}.csv"\nlabel = "{100 * i} h"\ntime_h = {100.0 * i}\n'
                    + ("" if area is None else f"area_cm2 = {area}\n"))
    (folder / "campaign.toml").write_text("\n".join(rows))
    return folder / "campaign.toml"


def run(args):
    return CliRunner().invoke(main, [str(a) for a in args])


MIXED = (0.785, 0.785, 1.5, None, None)


# ---------------------------------------------------------------- areas
def test_a_joint_fit_with_several_areas_in_a_cell_stops_before_any_fit(tmp_path):
    """Areas 0.785, 1.5 and none in one cell: the one-area-per-cell check of a joint fit ran
    after every fit (exit 2 naming no file, a partial summary.csv and a cache left behind).
    Now it runs first and names the values and files."""
    source = campaign_file(tmp_path / "data", MIXED)
    out = tmp_path / "out"
    r = run(["campaign", source, "--shared", "R0,R1", "--out", out, "--no-progress"])
    assert r.exit_code == 2, r.output
    assert "campaign.toml: a joint fit" in r.output and "needs one area_cm2 for all checkpoints of a cell" in r.output
    assert "0.785 (cp0.csv, cp1.csv); 1.5 (cp2.csv); none (cp3.csv, cp4.csv)" in r.output
    assert not (out / "summary.csv").exists() and not (out / ".eisfit-cache").exists()
    with pytest.raises(eisfit.CampaignError, match="needs one area_cm2"):
        eisfit.fit_campaign(source, smooth="auto", cache_dir=False, progress=False,
                            executor=_NoFits())


class _NoFits:
    """An executor that fails the test if a fit is submitted."""

    def submit(self, *args, **kwargs):
        raise AssertionError("a fit ran before the joint fit's settings were checked")


def test_a_checkpoint_without_an_area_reads_no_area_not_undetermined(tmp_path):
    """Its resistance is well determined; only the area is missing. The evolution line had
    read "117 -> 74.5 -> undetermined ohm*cm2", the report's table "nan ± nan (undetermined)",
    the figure a grey + for "undetermined", and the settings line "area per checkpoint: 0.785,
    1.5 cm2" without the missing ones."""
    source = campaign_file(tmp_path / "data", MIXED)
    r = run(["campaign", source, "--out", tmp_path / "out", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "area per checkpoint: 0.785, 1.5 cm2; none at 2 checkpoints (300 h, 400 h): their resistances in ohm " \
        "only" in r.output
    r2_line = next(line for line in r.output.splitlines() if line.startswith("R2 (interface, per cell)"))
    assert "-> no area ohm*cm2" in r2_line and "undetermined" not in r2_line
    assert "; no area at 300 h: R2 = 74" in r2_line and "; 400 h: R2 = 58" in r2_line and r2_line.endswith(" ohm)")
    report = (tmp_path / "out" / "report.md").read_text()
    assert "nan ± nan" not in report and "| no area (R2 = 74" in report
    assert "| area_cm2 | per checkpoint: 0.785, 1.5; none at 2 checkpoints (300 h, 400 h)" in report
    camp = eisfit.fit_campaign(source, cache_dir=False, progress=False)
    fig = camp.plot_evolution()
    legends = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert "no area given" in legends and not any(t.startswith("undetermined") for t in legends)


def test_the_settings_line_without_any_area(tmp_path):
    source = campaign_file(tmp_path / "data", (None,) * 5)
    r = run(["campaign", source, "--out", tmp_path / "out", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "area none (resistances in ohm)" in r.output and "area - cm2" not in r.output


# ---------------------------------------------------------------- which fit the table holds
def test_an_accepted_joint_fit_is_the_table_and_every_output_says_so(tmp_path):
    source = campaign_file(tmp_path / "data", (0.785,) * 5)
    r = run(["campaign", source, "--shared", "R0,R1,CPE1_0,CPE1_1", "--out", tmp_path / "out", "--no-progress",
             "--json"])
    assert r.exit_code == 0, r.output
    record = json.loads(r.stdout)
    assert record["settings"]["shared"] == ["R0", "R1", "CPE1_0", "CPE1_1"] and record["settings"]["smooth"] is None
    (joint,) = record["joint"]
    assert joint["table_holds"] == "joint" and joint["rejected"] == [] and joint["rows"] == 5
    assert joint["cell"] is not None and joint["shared"] == ["R0", "R1", "CPE1_0", "CPE1_1"] and joint["smoothed"] == []
    sharing = joint["sharing"]
    assert sharing["supported"] is True and sharing["delta_aic"] >= 0 and "delta_bic" in sharing
    assert "AIC decides" in sharing["rule"] and sharing["statement"].endswith(f"(dAIC = {sharing['delta_aic']:.0f})")
    assert joint["shared_values"]["R1"]["unit"] == "ohm" and joint["shared_values"]["R1"]["value"] > 0
    assert joint["why"].startswith("The table, the evolution lines and the figures hold the joint fit")
    assert {row["joint_fit"] for row in record["table"]} == {"joint"}
    assert {row["shared"] for row in record["table"]} == {"R0,R1,CPE1_0,CPE1_1"}
    text = run(["campaign", source, "--shared", "R0,R1,CPE1_0,CPE1_1", "--out", tmp_path / "out", "--no-progress"])
    assert "hold the joint fit (the data allow what it assumes, dAIC = " in text.output
    assert "hold the joint fit" in (tmp_path / "out" / "report.md").read_text()


def test_a_rejected_joint_fit_is_named_in_every_output(tmp_path):
    """R1 drifts 60 -> 90 ohm: the sharing of R1 is rejected; the rows hold their own fits and
    say so (joint_fit column and notes), the terminal says which fit the table holds, --json
    says it with the evidence."""
    camp_spectra = spectra(noise=0.005, r1=(60.0, 67.0, 75.0, 82.0, 90.0))
    with pytest.warns(Warning, match="the table keeps the independent fits"):
        camp = eisfit.fit_campaign(camp_spectra, circuit=CIRCUIT, shared=["R1"], area_cm2=0.785, cache_dir=False,
                                   progress=False)
    assert not camp.joint.accepted
    table = camp.table
    assert set(table["joint_fit"]) == {"independent: joint fit rejected"} and set(table["shared"]) == {""}
    assert all(note.startswith("joint fit rejected by the data: sharing (dAIC = -") for note in table["notes"])
    assert table["R1"].iloc[-1] / table["R1"].iloc[0] == pytest.approx(1.5, rel=0.03)
    (record,) = camp.joint_records()
    assert record["table_holds"] == "independent" and record["rows"] == 0
    assert record["rejected"] == [camp.joint.sharing["statement"]] and record["sharing"]["supported"] is False
    assert "hold the independent fits, not this joint fit" in record["why"] and "sharing (dAIC = -" in record["why"]


# ---------------------------------------------------------------- smoothing marked
def test_smoothed_values_are_marked_in_the_table_the_figure_and_json(tmp_path):
    """summary.csv had a shared column and nothing for smoothing (only seed_source=joint), and
    the figure drew smoothed values as independent measurements."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the data allow this smoothing
        camp = eisfit.fit_campaign(spectra(), circuit=CIRCUIT, smooth="auto", area_cm2=0.785, cache_dir=False,
                                   progress=False)
    smoothed = camp.joint.smoothed
    assert "R2" in smoothed and camp.joint.accepted
    assert set(camp.table["smoothed"]) == {",".join(smoothed)} and set(camp.table["joint_fit"]) == {"joint"}
    assert set(camp.table["shared"]) == {""}
    fig = camp.plot_evolution()
    r2_panel = next(ax for ax in fig.axes if ax.get_title().startswith("R2") and "per cell" in ax.get_title())
    assert any(t.get_text().startswith("smoothed (joint fit) ± 1 s.e.") for t in r2_panel.get_legend().get_texts())
    (record,) = camp.joint_records()
    assert record["smoothed"] == smoothed and record["smoothing"]["lambda"]["R2"] > 0
    assert record["smoothing"]["supported"] is True and "rule" in record["smoothing"]
    assert f"{', '.join(smoothed)} smoothed across checkpoints" in record["why"]
    camp.write(tmp_path / "out", figures=False)
    with open(tmp_path / "out" / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {row["smoothed"] for row in rows} == {",".join(smoothed)}


def test_joint_roles_read_for_table_report_and_figure():
    from eisfit.series.joint import joint_role, joint_roles

    settings = {"shared": ["R1", "CPE1_0", "CPE1_1"], "smoothing": {"lambda": {"R2": 3.0, "CPE2_0": 0.0}},
                "arrhenius": None, "param_names": ["R0", "R1", "CPE1_0", "CPE1_1", "R2", "CPE2_0", "CPE2_1"]}
    assert joint_roles(settings) == {"R2": "smoothed", "R1": "shared", "CPE1_0": "shared", "CPE1_1": "shared"}
    assert joint_roles(None) == {}
    assert joint_role(settings, "R1_asr_ohm_cm2") == "shared"
    assert joint_role(settings, "R2_sigma_S_per_cm") == "smoothed"
    assert joint_role(settings, "CPE1_ceff_F", CIRCUIT) == "shared"  # R1, CPE1_0, CPE1_1 all shared
    assert joint_role(settings, "CPE1_ceff_F") == ""  # without the circuit its arc's R is unknown
    assert joint_role(settings, "CPE2_ceff_F", CIRCUIT) == "smoothed" and joint_role(settings, "R0") == ""
    law = {"arrhenius": {"laws": {"R2": {}}}, "shared": [], "smoothing": None}
    assert joint_role(law, "R2_asr_per_interface_ohm_cm2") == "Arrhenius law"


def test_the_smoothed_sample_campaign_has_a_standard_error_on_every_row():
    """The README's sample campaign with ``smooth="auto"``: the covariance blocks of the
    smoothed joint fit had come from an unstable recursion (the normal matrix's condition
    number ~7e24), which gave negative variances from the sixth checkpoint on: every row from
    500 h was flagged singular-covariance and the report printed R2 'undetermined' there
    (and the GCV's effective degrees of freedom, from the same blocks, chose other lambdas).
    Each smoothed R2 now has a finite standard error and lies within 3 of them of the truth
    the sample was made from."""
    from pathlib import Path

    sample = Path(__file__).resolve().parent.parent / "sample_data" / "garnet_campaign"
    camp = eisfit.fit_campaign(str(sample / "campaign.toml"), smooth="auto", cache_dir=False, progress=False)
    table = camp.table
    assert camp.joint.accepted and set(table["joint_fit"]) == {"joint"}
    assert not any("singular-covariance" in str(f) for f in table["flags"])
    for name in ("R0", "R1", "R2", "CPE2_0", "CPE2_1"):
        assert np.all(np.isfinite(table[f"{name}_stderr"])) and np.all(table[f"{name}_stderr"] > 0), name
    truth = {}
    with open(sample / "truth.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            truth[float(row["time_h"])] = float(row["R2"])
    z = [(r2 - truth[t]) / se for t, r2, se in zip(table["time_h"], table["R2"], table["R2_stderr"])]
    assert len(z) == 11 and max(abs(x) for x in z) < 3.0
