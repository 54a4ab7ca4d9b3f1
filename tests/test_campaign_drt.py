"""DRT of a campaign (issue 8): tracked peaks, columns, figures, report, KK warning."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import eisfit
from conftest import arrhenius_cell
from eisfit.analysis.drt import process_areas
from eisfit.campaign.drt import KK_WARNING, major_peaks, track_peaks
from eisfit.model import Circuit

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "garnet_campaign"


@pytest.fixture(scope="module")
def sample_camp():
    return eisfit.fit_campaign(SAMPLE / "campaign.toml", cache_dir=False, drt=True)


def _true_taus() -> pd.DataFrame:
    t = pd.read_csv(SAMPLE / "truth.csv")
    return pd.DataFrame({
        "time_h": t["time_h"],
        "tau1": (t["R1"] * t["CPE1_0"]) ** (1 / t["CPE1_1"]),
        "tau2": (t["R2"] * t["CPE2_0"]) ** (1 / t["CPE2_1"]),
        "R1": t["R1"], "R2": t["R2"],
    })


def test_two_tracked_peaks_follow_the_true_arcs(sample_camp):
    table = sample_camp.table
    truth = _true_taus()
    assert list(table["time_h"]) == list(truth["time_h"])
    assert (table["drt_n_peaks"] == 2).all()
    assert "drt_peak3_tau_s" not in table.columns
    for k in (1, 2):
        dex = np.abs(np.log10(table[f"drt_peak{k}_tau_s"] / truth[f"tau{k}"]))
        assert dex.max() < 0.15, (k, dex.tolist())
        assert np.allclose(table[f"drt_peak{k}_f_Hz"], 1 / (2 * np.pi * table[f"drt_peak{k}_tau_s"]))
        # peak areas: the arc resistances within 20 % (ripples split off or add a little area)
        assert np.allclose(table[f"drt_peak{k}_R_ohm"], truth[f"R{k}"], rtol=0.2)
    # the interface peak's own area reads 5-8 % low (side lobes); with them, within 3.2 %
    assert np.allclose(table["drt_peak2_R_process_ohm"], truth["R2"], rtol=0.05)
    assert not table["drt_kk_warning"].any()
    assert (table["drt_lambda"] > 0).all()
    assert len(sample_camp.drts) == len(sample_camp.checkpoints)


def test_a_campaign_on_two_workers_computes_the_same_drts_there(sample_camp, monkeypatch):
    """fit_campaign(drt=True, jobs=2) computes the DRTs on its workers, in chunks
    (DRT_CHUNK, four here): the same distributions, peaks and table columns as in one process;
    a pool whose workers die leaves them to this process, with the same result."""
    from concurrent.futures import BrokenExecutor

    import eisfit.campaign.drt as campaign_drt

    monkeypatch.setattr(campaign_drt, "DRT_CHUNK", 4)
    executors = []
    computed = campaign_drt.campaign_drts
    monkeypatch.setattr(campaign_drt, "campaign_drts",
                        lambda results, options, executor: executors.append(executor) or computed(results, options, executor))
    two = eisfit.fit_campaign(SAMPLE / "campaign.toml", cache_dir=False, drt=True, jobs=2)
    assert len(executors) == 1 and executors[0] is not None
    assert len(two.drts) == len(sample_camp.drts) == 11
    for a, b in zip(sample_camp.drts, two.drts):
        np.testing.assert_allclose(b.gamma_ohm, a.gamma_ohm, rtol=1e-6, atol=1e-12 * np.max(a.gamma_ohm))
        assert len(b.peaks) == len(a.peaks)
    drt_columns = [c for c in sample_camp.table.columns if c.startswith("drt_")]
    pd.testing.assert_frame_equal(two.table[drt_columns], sample_camp.table[drt_columns], rtol=1e-6)

    class Broken:
        def submit(self, *args, **kwargs):
            raise BrokenExecutor("a worker died")

    again = campaign_drt.campaign_drts(sample_camp.results, None, Broken())
    for a, b in zip(sample_camp.drts, again):
        np.testing.assert_array_equal(b.gamma_ohm, a.gamma_ohm)


def test_the_peaks_are_tracked_once_for_the_table_the_peak_table_and_the_report(monkeypatch):
    """The major peaks and tracks of a campaign's DRTs are made once (campaign_drt_tracks,
    kept in the result's memo) for its table, drt_peaks() and report.md, and again only for
    a new list of DRTs (compute_drt); the columns are those of the tracks made afresh."""
    import eisfit.campaign.drt as campaign_drt

    camp = eisfit.fit_campaign(SAMPLE / "campaign.toml", cache_dir=False, drt=True)
    made = []
    tracked = campaign_drt.drt_tracks
    monkeypatch.setattr(campaign_drt, "drt_tracks", lambda drts, *a: made.append(drts) or tracked(drts, *a))
    table, peaks, report = camp.table, camp.drt_peaks(), camp.report()
    assert len(made) == 1 and made[0] is camp.drts
    assert "## DRT" in report and {1, 2} <= set(peaks["track"]) <= {0, 1, 2}
    fresh = campaign_drt.drt_columns(camp.drts, tracked(camp.drts))
    for row, (_, line) in zip(fresh, table.iterrows()):
        for key, value in row.items():
            assert line[key] == value or (value != value and line[key] != line[key]), key
    camp.compute_drt()
    _ = camp.table
    assert len(made) == 2 and made[1] is camp.drts


def test_the_report_s_track_lines_agree_with_the_table(sample_camp):
    """Each "DRT peak k" line of the report gives the track's tau and process resistance at
    the first and last checkpoints whose drt_peak<k> columns in the table have a value, and
    how many do."""
    from eisfit.campaign.drt import drt_report_lines

    table = sample_camp.table
    lines = [line for line in drt_report_lines(sample_camp) if line.startswith("- DRT peak ")]
    n_tracks = sum(1 for col in table.columns if col.startswith("drt_peak") and col.endswith("_tau_s"))
    assert n_tracks >= 2 and len(lines) == n_tracks
    axis = sample_camp.evolution_axis()
    for t, line in enumerate(lines, start=1):
        present = [k for k, tau in enumerate(table[f"drt_peak{t}_tau_s"]) if np.isfinite(tau)]
        first, last = present[0], present[-1]
        tau, r = table[f"drt_peak{t}_tau_s"], table[f"drt_peak{t}_R_process_ohm"]
        name = [c.name_on(axis, k) for k, c in enumerate(sample_camp.checkpoints)]
        def shown(x):
            return f"{x:.3g}" if np.isfinite(x) else "undetermined"

        undetermined = sum(not np.isfinite(r[k]) for k in present)
        caveat = f"; R not determined by the data at {undetermined} of them" if undetermined else ""
        assert line == (f"- DRT peak {t}: tau {tau[first]:.3g} -> {tau[last]:.3g} s, R {shown(r[first])} -> "
                        f"{shown(r[last])} ohm with its side lobes ({name[first]} -> {name[last]}; "
                        f"present at {len(present)} of {len(table)} checkpoints{caveat})")


def test_a_process_the_drt_does_not_determine_is_never_a_campaign_number(sample_camp):
    """The bulk arc's DRT peak reaches past f_max (10 MHz): `eisfit drt` says its resistance is not
    determined, and the campaign had printed 'R 63.3 -> 59.6 ohm' and tabled 63.31."""
    table, peaks = sample_camp.table, sample_camp.drt_peaks()
    assert "determined" in peaks.columns
    fast = peaks[peaks["track"] == 1]
    for k, res in enumerate(sample_camp.drts):
        own = res.peaks.iloc[(res.peaks["tau_s"] - fast[fast["checkpoint"] == k]["tau_s"].iloc[0]).abs().argmin()]
        assert bool(fast[fast["checkpoint"] == k]["determined"].iloc[0]) == bool(own["determined"])
        assert np.isfinite(table["drt_peak1_R_process_ohm"][k]) == bool(own["determined"])
    assert (~fast["determined"]).sum() >= 5  # the sample's bulk arc: most checkpoints


def test_write_gives_drt_csv_and_report_and_figures_draw(sample_camp, tmp_path):
    import matplotlib.pyplot as plt

    out = sample_camp.write(tmp_path / "out", figures=False)  # figure files: see the CLI test
    ax = sample_camp.plot_drt_map()
    assert len(ax.collections) == 1 and len(ax.lines) == 2  # the map and two tracks
    plt.close(ax.figure)
    ax = sample_camp.plot_drt_stack()
    assert len([t for t in ax.texts]) == len(sample_camp.checkpoints)
    plt.close(ax.figure)
    peaks = pd.read_csv(out / "drt_peaks.csv")
    assert set(peaks.loc[peaks["major"], "track"]) == {1, 2}
    assert (peaks.loc[~peaks["major"], "track"] == 0).all()
    summary = pd.read_csv(out / "summary.csv")
    for col in ("drt_peak1_tau_s", "drt_peak1_f_Hz", "drt_peak1_R_ohm", "drt_peak2_tau_s",
                "drt_n_peaks", "drt_lambda", "drt_kk_warning"):
        assert col in summary.columns, col
    report = (out / "report.md").read_text()
    assert "## DRT" in report
    assert "0 h: 2 vs 2" in report
    assert KK_WARNING not in report


def test_kk_failing_checkpoint_is_warned(tmp_path):
    circuit = "R0-p(R1,CPE1)-p(R2,CPE2)"
    circ = Circuit(circuit)
    f = np.logspace(7, 2, 51)
    rng = np.random.default_rng(8)
    spectra = []
    for k, r2 in enumerate((150.0, 120.0, 100.0)):
        z = circ.impedance([40.0, 100.0, 1e-9 * 10 ** 0.3, 0.9, r2, 2e-6, 0.85], f)
        if k == 1:  # R2 drifts by 50 % during the sweep (low frequencies last): not KK-valid
            drift = np.clip((np.arange(f.size) - 25) / 25, 0, 1)
            z = z + 0.5 * r2 * drift / (1 + (1j * 2 * np.pi * f * (r2 * 2e-6) ** (1 / 0.85)) ** 0.85)
        z = z * (1 + 0.002 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)))
        spectra.append(eisfit.Spectrum(f, z, {"label": f"ck{k}"}))
    camp = eisfit.fit_campaign(spectra, circuit=circuit, drt=True)
    assert list(camp.table["drt_kk_warning"]) == [False, True, False]
    report = camp.report()
    warned = [line for line in report.splitlines() if KK_WARNING in line]
    assert len(warned) == 1 and "ck1" in warned[0]
    ax = camp.plot_drt_stack()
    assert any("KK failed" in t.get_text() for t in ax.texts)


def _fake_drt(taus, areas, resolved=None, closed=None):
    """A stand-in DRTResult with the given peaks (tau in s, area in ohm)."""
    resolved = [True] * len(taus) if resolved is None else resolved
    closed = [True] * len(taus) if closed is None else closed
    peaks = pd.DataFrame({"tau_s": taus, "f_Hz": 1 / (2 * np.pi * np.asarray(taus)),
                          "gamma_ohm": np.asarray(areas) / 2.0, "R_ohm": areas,
                          "R_process_ohm": np.where(closed, process_areas(areas, resolved), np.nan),
                          "resolved": resolved, "closed": closed})
    return SimpleNamespace(peaks=peaks, gamma_ohm=np.asarray(areas) / 2.0, r_pol_ohm=float(sum(areas)),
                           kk_passed=True, lambda_=1e-2)


def test_tracking_matches_nearest_log_tau_and_opens_new_tracks():
    drts = [
        _fake_drt([1e-7, 1e-4], [50, 100]),
        _fake_drt([1.2e-7, 3e-5], [50, 80]),        # slow peak moves half a decade
        _fake_drt([1e-7, 5e-6, 2e-5], [50, 30, 60]),  # a new process appears between
        None,                                        # a failed checkpoint
        _fake_drt([1e-7, 1.5e-5], [50, 40]),        # the new one vanished again
    ]
    tracks = track_peaks(drts)
    assert [sorted(t) for t in tracks] == [[0, 1, 2, 4], [2], [0, 1, 2, 4]]
    # track 2 (middle process) holds only checkpoint 2's peak at 5e-6 s
    assert tracks[1] == {2: 1}
    assert tracks[2] == {0: 1, 1: 1, 2: 2, 4: 1}
    # a jump of more than one decade is a new track, not the same process
    far = track_peaks([_fake_drt([1e-7], [10]), _fake_drt([1e-5], [10])])
    assert len(far) == 2 and all(len(t) == 1 for t in far)
    assert track_peaks([None, None]) == []


def test_peaks_the_data_do_not_resolve_are_not_tracked():
    # a shoulder of 30 % of R_pol that a monotone tail of its neighbour fits as well is no process
    shoulder = _fake_drt([1e-7, 5e-6, 1e-4], [50, 30, 100], resolved=[True, False, True])
    assert major_peaks(shoulder)["tau_s"].tolist() == [1e-7, 1e-4]
    assert [sorted(t) for t in track_peaks([shoulder, _fake_drt([1e-7, 1e-4], [50, 100])])] == [[0, 1], [0, 1]]


def test_peaks_the_data_do_not_close_are_not_tracked():
    # a blocking electrode's CPE line read as a large peak at the low-frequency end: no process
    tail = _fake_drt([1e-6, 1.0], [100, 4000], closed=[True, False])
    assert major_peaks(tail)["tau_s"].tolist() == [1e-6]
    assert [sorted(t) for t in track_peaks([tail, _fake_drt([1e-6], [90])])] == [[0, 1]]


def test_major_peak_shares_are_of_the_closed_peaks_whether_or_not_one_is_open():
    # the same two closed peaks (apex heights 50 and 6 ohm), alone and beside an open
    # low-frequency peak of 4 kOhm: the same major peaks (area >= 5 % of 112 ohm, height >= 10 % of 50)
    both = _fake_drt([1e-6, 1e-4], [100, 12])
    with_open = _fake_drt([1e-6, 1e-4, 1.0], [100, 12, 4000], closed=[True, True, False])
    assert major_peaks(both)["tau_s"].tolist() == [1e-6, 1e-4]
    assert major_peaks(with_open)["tau_s"].tolist() == [1e-6, 1e-4]
    # the height reference is the highest closed peak's apex, not a gamma value that no
    # closed peak holds (it was the whole curve's maximum when every peak was closed)
    spiky = SimpleNamespace(**{**vars(both), "gamma_ohm": np.array([50.0, 6.0, 500.0])})
    assert major_peaks(spiky)["tau_s"].tolist() == [1e-6, 1e-4]


def test_cli_campaign_drt_option(tmp_path):
    import shutil

    from click.testing import CliRunner

    from eisfit.cli import main

    data = tmp_path / "data"
    data.mkdir()
    for f in sorted((SAMPLE / "mpt").glob("*.mpt"))[:3]:
        shutil.copy(f, data / f.name)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["campaign", str(data), "--circuit", "garnet-symmetric-L",
                                       "--no-cache", "--out", str(out), "--drt"])
    assert result.exit_code == 0, result.output
    assert "DRT peak 1: tau" in result.output and "DRT peak 2: tau" in result.output
    assert (out / "drt_peaks.csv").exists()
    for name in ("drt_map", "drt_stack"):
        assert (out / f"{name}.png").stat().st_size > 0
        assert (out / f"{name}.svg").stat().st_size > 0
    assert "drt_peak2_R_ohm" in pd.read_csv(out / "summary.csv").columns


def test_the_command_counts_the_drts_of_kk_failing_checkpoints_in_one_warning(tmp_path):
    """`eisfit campaign --drt` printed one "Warning <file>: Kramers-Kronig test failed" line
    per failing checkpoint on stdout, among the results (61 for a 61-sweep file); it is one
    `eisfit: warning:` line on stderr, and report.md keeps the list."""
    from click.testing import CliRunner

    from eisfit.cli import main

    f = np.logspace(5, -1, 40)
    data = tmp_path / "drift"
    data.mkdir()
    for k in range(3):  # the low-frequency end drifts: the points fail the Lin-KK test
        z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-3) + 50 / (1 + 1j * 2 * np.pi * f * 0.5)
        z = z * (1 + 0.3 * (f < 1) * np.linspace(0, 1, f.size))
        lines = "freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n" + "".join(f"{a},{b.real},{-b.imag}\n" for a, b in zip(f, z))
        (data / f"cp{k}.csv").write_text(lines)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["campaign", str(data), "--circuit", "R0-p(R1,C1)-p(R2,C2)", "--no-cache",
                                       "--out", str(out), "--drt"])
    assert result.exit_code == 0, result.output
    assert "Kramers-Kronig test failed" not in result.stdout
    assert "eisfit: warning: 3 of 3 checkpoints fail the Kramers-Kronig test" in result.stderr
    assert (out / "report.md").read_text().count("Kramers-Kronig test failed") == 3


def test_checkpoints_too_noisy_for_the_kk_test_are_not_drt_warnings():
    """A campaign of 3 % noisy spectra: the DRT section called them "Kramers-Kronig test
    failed: a DRT of invalid data is not evidence" while the KK section said they are too
    noisy to judge; now the DRT section says the same as the KK section."""
    from eisfit.campaign.drt import drt_report_lines

    c = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
    f = np.logspace(6, -1, 71)
    rng = np.random.default_rng(4)
    spectra = []
    for r2 in (150.0, 120.0, 90.0):
        z = c.impedance(np.array([10.0, 100.0, 1e-8, 0.9, r2, 1e-5, 0.85]), f)
        z = z + 0.03 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2)
        spectra.append(eisfit.Spectrum(f, z))
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,CPE1)-p(R2,CPE2)", cache_dir=False, drt=True)
    noisy = [d for d in camp.drts if d is not None and d.kk_status == "too-noisy"]
    assert noisy and all(not d.kk_violation for d in noisy)
    lines = drt_report_lines(camp)
    assert not any(KK_WARNING in line for line in lines)
    assert any(f"{len(noisy)} checkpoint(s) too noisy for the Kramers-Kronig test to judge" in line for line in lines)
    assert camp.table["drt_kk_warning"].eq(False).sum() >= len(noisy)


def test_drt_figures_of_a_campaign_without_drts_say_why():
    """plot_drt_map/plot_drt_stack before compute_drt() drew a blank axes."""
    camp = eisfit.fit_campaign(str(Path(__file__).resolve().parent.parent / "sample_data" / "garnet_campaign" / "csv"),
                               circuit="garnet-symmetric-L", cache_dir=False, progress=False)
    assert camp.drts is None
    for ax in (camp.plot_drt_map(), camp.plot_drt_stack()):
        texts = [t.get_text() for t in ax.texts]
        assert texts == ["no DRT computed: call camp.compute_drt() (or fit_campaign(..., drt=True), --drt)"]


def test_each_cell_is_tracked_on_its_own():
    """Two cells in one campaign: drt_peak1 is the electrolyte arc and drt_peak2 the interface arc
    of every checkpoint's own cell (as the truth the spectra were made with says). Walked as one,
    cell A's hot interface arc (tau 5e-6 s) and cell B's cold electrolyte arc (1.6e-5 s) were one
    track: drt_peak2 held cell B's electrolyte, its interface a third track."""
    rng = np.random.default_rng(3)
    temperatures = [-20, 0, 20, 40]
    a, truth_a = arrhenius_cell("A", 0.35, 0.40, temperatures, rng)
    b, truth_b = arrhenius_cell("B", 0.50, 0.50, temperatures, rng)
    camp = eisfit.fit_campaign(a + b, circuit="garnet-symmetric", cache_dir=False, progress=False, drt=True)
    table = camp.table
    assert list(table["cell"]) == ["A"] * 4 + ["B"] * 4
    assert "drt_peak3_tau_s" not in table.columns
    truth = truth_a + truth_b
    np.testing.assert_allclose(table["drt_peak1_R_process_ohm"], [t["R1"] for t in truth], rtol=0.06)
    np.testing.assert_allclose(table["drt_peak2_R_process_ohm"], [t["R2"] for t in truth], rtol=0.06)
    peaks = camp.drt_peaks()
    assert set(peaks.loc[peaks["track"] > 0, "cell"]) == {"A", "B"}
    lines = [line for line in camp.report().splitlines() if line.startswith("- DRT peak")]
    assert [line.split(":")[0] for line in lines] == ["- DRT peak 1, cell A", "- DRT peak 1, cell B",
                                                      "- DRT peak 2, cell A", "- DRT peak 2, cell B"]
    assert all("present at 4 of 4 checkpoints" in line for line in lines)


def test_a_checkpoint_without_a_drt_widens_the_gate_across_it():
    """A process moving 0.6 decade per checkpoint, whose middle checkpoint has no DRT (its file
    unreadable): 1.2 decades between the sightings, within 1 decade per step over two steps,
    so one track, not two; a jump of 1.2 decades between consecutive DRTs is still two."""
    with_gap = [_fake_drt([1e-7, 1e-3], [50, 100]), None, _fake_drt([1e-7, 1e-3 / 10 ** 1.2], [50, 80])]
    assert [sorted(t) for t in track_peaks(with_gap)] == [[0, 2], [0, 2]]
    no_gap = [_fake_drt([1e-7, 1e-3], [50, 100]), _fake_drt([1e-7, 1e-3 / 10 ** 1.2], [50, 80])]
    assert [sorted(t) for t in track_peaks(no_gap)] == [[0, 1], [1], [0]]
    # more than a decade per step even over the gap: two tracks
    far = [_fake_drt([1e-7, 1e-3], [50, 100]), None, _fake_drt([1e-7, 1e-3 / 10 ** 2.4], [50, 80])]
    assert len(track_peaks(far)) == 3
    # in cells: the tracks of cell "x" never take cell "y"'s peaks, even when they are close in tau
    cells = track_peaks([_fake_drt([1e-5], [10]), _fake_drt([1.5e-5], [10])], cells=["x", "y"])
    assert cells == [{0: 0, 1: 0}]  # track 1 is the fastest process of each cell: both, not one chain
    cells = track_peaks([_fake_drt([1e-7, 1e-5], [10, 10]), _fake_drt([1.5e-5], [10])], cells=["x", "y"])
    assert cells == [{0: 0, 1: 0}, {0: 1}]


def test_a_campaign_follows_a_process_across_an_unreadable_file_and_says_so(tmp_path):
    """-20, 0, 20, 40 C with the 20 C file unreadable: the interface arc moves about 1.2 decades
    from 0 to 40 C, still one track (its R the truth's at both ends), and its line names the gap."""
    spectra, truths = arrhenius_cell("c", 0.40, 0.45, [-20, 0, 20, 40], np.random.default_rng(0))
    rows = ["file,label,temperature_C"]
    for k, s in enumerate(spectra):
        name = f"sp{k}.csv"
        body = "\n".join(f"{f:.6e},{z.real:.8e},{z.imag:.8e}" for f, z in zip(s.frequency, s.z))
        (tmp_path / name).write_text("frequency_Hz,z_real_ohm,z_imag_ohm\n" + (body if k != 2 else "1,2") + "\n")
        rows.append(f"{name},{s.label},{s.meta['temperature_C']}")
    (tmp_path / "campaign.csv").write_text("\n".join(rows) + "\n")
    with pytest.warns(Warning, match="header has 3 names for 2 data columns"):  # the unreadable file
        camp = eisfit.fit_campaign(tmp_path / "campaign.csv", circuit="garnet-symmetric", cache_dir=False,
                                   progress=False, drt=True)
    assert camp.results[2] is None and camp.drts[2] is None
    table = camp.table
    assert "drt_peak3_tau_s" not in table.columns
    np.testing.assert_allclose(table["drt_peak2_R_process_ohm"].iloc[[0, 1, 3]],
                               [truths[k]["R2"] for k in (0, 1, 3)], rtol=0.06)
    line = next(line for line in camp.report().splitlines() if line.startswith("- DRT peak 2"))
    assert "present at 3 of 4 checkpoints; followed across 1 checkpoint(s) without a DRT (20 °C)" in line


def test_the_drt_map_of_a_temperature_series_is_told_in_degrees_on_a_log_colour_scale():
    """A temperature series whose cold rows reach a thousand times the hot rows' gamma: the map
    had said "checkpoint index" beside figures in °C, and its linear colour scale had left the
    hot rows black."""
    from matplotlib.colors import LogNorm

    circuit = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
    f = np.logspace(6, -1, 50)
    spectra = []
    for k, t in enumerate([0, 20, 40, 60, 80, 100]):
        r1, r2 = 2000 * np.exp(-1.1 * k), 3000 * np.exp(-1.0 * k)
        z = circuit.impedance(np.array([10, r1, 1e-9, 0.9, r2, 1e-6, 0.85]), f)
        z = z + 0.005 * np.abs(z) * np.random.default_rng(k).standard_normal(f.size)
        spectra.append(eisfit.Spectrum(f, z, meta={"label": f"T{t}", "temperature_C": float(t)}))
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,CPE1)-p(R2,CPE2)", drt=True, cache_dir=False,
                               progress=False)
    ax = camp.plot_drt_map()
    assert ax.get_ylabel() == "temperature / °C"
    [mesh] = [c for c in ax.collections if hasattr(c, "norm") and c.get_array() is not None and c.get_array().ndim]
    assert isinstance(mesh.norm, LogNorm) and mesh.norm.vmin > 0
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_a_track_that_merges_into_another_process_gives_it_no_trend():
    """An interface arc (R2 50 -> 25 ohm, Q 2e-6, n 0.85) shrinking towards the time constant
    of a bulk arc that stays 50 ohm: at the second checkpoint the DRT no longer resolves it and
    its area joins the bulk arc's process. The campaign had printed that process as a trend of
    the bulk arc ("R 50.5 -> 74.4 ohm"); its R there is now empty and the line says merged."""
    f = np.logspace(6, -1, 71)
    w = 2 * np.pi * f

    def zarc(r, tau, n):
        return r / (1 + (1j * w * tau) ** n)

    spectra = []
    for j, (hours, r2) in enumerate([(150, 50.0), (200, 25.0)]):
        z = 10 + zarc(50, 1e-6, 0.9) + r2 / (1 + r2 * 2e-6 * (1j * w) ** 0.85) + zarc(80, 0.05, 0.85)
        rng = np.random.default_rng(j)
        z = z + 0.005 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
        spectra.append(eisfit.Spectrum(frequency=f, z=z, meta={"label": f"{hours}h", "time_h": hours}))
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)", drt=True, jobs=1,
                               cache_dir=False, progress=False)
    bulk = camp.table["drt_peak1_R_process_ohm"].to_numpy(float)
    assert bulk[0] == pytest.approx(50.0, rel=0.05) and np.isnan(bulk[1])
    assert np.isnan(camp.table["drt_peak2_R_process_ohm"].iloc[1])  # the interface track ended
    line = next(ln for ln in camp.report().splitlines() if ln.startswith("- DRT peak 1:"))
    assert "-> merged ohm" in line and "merged with peak 2 at 200 h (R there not its own)" in line
    r1 = camp.table["R1"].to_numpy(float)  # the circuit fit of the same points holds the bulk arc
    assert r1[1] == pytest.approx(50.0, rel=0.1)
