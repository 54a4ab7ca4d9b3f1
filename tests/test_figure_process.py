"""The figure process reserved before a campaign's fits (eisfit._figure_process) and the
compact inputs it draws from (eisfit.campaign.figure_inputs): the same figures, to the byte,
as those drawn from the CampaignResult; a process that died or fails leaves nothing undrawn."""
from __future__ import annotations

import os
import pickle
import signal
import sys
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

import eisfit
import eisfit._figure_process as FP
import eisfit.plotting as P
from eisfit import Spectrum
from eisfit.campaign.figure_inputs import NOT_SENT, figure_inputs
from eisfit.model import Circuit

matplotlib.use("Agg")
HEADLINE = "R0-p(R1,CPE1)-p(R2,CPE2)"
TRUE = [40.0, 60.0, 1e-9, 0.9, 149.0, 2e-6, 0.85]
F = np.logspace(7, 1, 43)
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def needs_fork(test):
    """A test of the reserved process: on Linux with two cores or more, forking despite idle threads."""
    skip = pytest.mark.skipif(not sys.platform.startswith("linux") or _CORES < 2,
                              reason="no figure process here: not Linux, or fewer than two cores")
    return skip(pytest.mark.usefixtures("fork_despite_idle_threads")(test))


@pytest.fixture
def fork_despite_idle_threads(monkeypatch):
    """Earlier tests leave idle daemon threads in this process (Dask's offload thread), so
    fork_is_safe() is False here and no process would be reserved; ``eisfit campaign`` forks
    it from a fresh process that has none, as these tests then do."""
    monkeypatch.setattr(FP, "_can_reserve", lambda: True)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def camp():
    """26 checkpoints (more than an overlay shows, so 6 results are not sent), 3 of them
    with the interface arc's resistance left free of noise, every one on the time axis."""
    spectra = []
    for k in range(26):
        p = np.array(TRUE)
        p[4] = 150.0 - 3 * k
        z = Circuit(HEADLINE).impedance(p, F)
        rng = np.random.default_rng(k)
        z = z * (1 + 0.003 * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size)))
        spectra.append(Spectrum(F, z, meta={"label": f"{10 * k} h", "time_h": 10.0 * k}))
    return eisfit.fit_campaign(spectra, circuit=HEADLINE, area_cm2=0.785, starts=4)


def _csv_folder(tmp_path: Path, n: int) -> Path:
    """A folder of ``n`` single-spectrum CSV files (the headline circuit, R2 150, 140, ... ohm)."""
    folder = tmp_path / "csv"
    folder.mkdir()
    for k in range(n):
        p = np.array(TRUE)
        p[4] = 150.0 - 10 * k
        z = Circuit(HEADLINE).impedance(p, F)
        np.savetxt(folder / f"cell_{k}.csv", np.c_[F, z.real, z.imag], delimiter=",", header="freq_Hz,Zre_ohm,Zim_ohm",
                   comments="")
    return folder


def _png(fig, path: Path) -> bytes:
    P.save_figure(fig, path)
    return path.with_suffix(".png").read_bytes()


@pytest.mark.parametrize("name", P.CAMPAIGN_FIGURES)
def test_figures_from_the_inputs_are_those_of_the_result(camp, tmp_path, name):
    inputs = pickle.loads(pickle.dumps(figure_inputs(camp)))  # as the figure process receives them
    assert sum(r is NOT_SENT for r in inputs.results) == 26 - P.MAX_OVERLAY_SPECTRA
    assert all(c is NOT_SENT or c.spectrum is None for c in inputs.checkpoints)
    mine = _png(P.campaign_figure(name, inputs, area_normalised=True), tmp_path / "inputs")
    theirs = _png(P.campaign_figure(name, camp, area_normalised=True), tmp_path / "result")
    assert mine == theirs


def test_inputs_send_the_overlays_results_whole_and_no_other(camp):
    inputs = figure_inputs(camp)
    sent = [k for k, r in enumerate(inputs.results) if r is not NOT_SENT]
    shown = [k for k, _ in P._camp_shown(camp, P.MAX_OVERLAY_SPECTRA)[0]]
    assert sent == shown and all(inputs.results[k] is camp.results[k] for k in sent)
    assert pickle.loads(pickle.dumps(inputs)).results.count(NOT_SENT) == 26 - len(sent)  # one instance, by name
    assert {d["settings"]["area_cm2"] for d in inputs.details} == {0.785}


def test_inputs_send_only_the_checkpoints_the_figures_name(camp):
    """The checkpoints of the overlays and of the residual map's row labels (every second
    of 26: at most 25 labels), without their spectra; the others' places kept."""
    inputs = figure_inputs(camp)
    sent = {k for k, c in enumerate(inputs.checkpoints) if c is not NOT_SENT}
    shown = {k for k, _ in P._camp_shown(camp, P.MAX_OVERLAY_SPECTRA)[0]}
    assert len(inputs.checkpoints) == 26 and sent == shown | set(range(0, 26, 2)) and len(sent) < 26
    assert all(inputs.checkpoints[k].label == camp.checkpoints[k].label for k in sent)
    assert pickle.loads(pickle.dumps(inputs)).checkpoints.count(NOT_SENT) == 26 - len(sent)


def test_a_map_of_more_rows_than_drawn_is_sent_in_bands_and_drawn_the_same(camp, tmp_path, monkeypatch):
    """Above MAX_MAP_ROWS checkpoints the residual map travels as the bands it draws
    (each band's largest residual at each frequency), and the figure is that of the result."""
    monkeypatch.setattr(P, "MAX_MAP_ROWS", 10)
    inputs = pickle.loads(pickle.dumps(figure_inputs(camp)))
    whole = P.campaign_residuals(camp)
    assert inputs.residuals.grid.shape == (9, F.size) and inputs.residuals.fitted == whole.fitted
    np.testing.assert_array_equal(inputs.residuals.row_edges, [0, 3, 6, 9, 12, 15, 18, 21, 24, 26])
    band = whole.grid[3:6]
    np.testing.assert_array_equal(inputs.residuals.grid[1], band[np.abs(band).argmax(axis=0), np.arange(F.size)])
    mine = _png(P.campaign_figure("residual_map", inputs), tmp_path / "inputs")
    assert mine == _png(P.campaign_figure("residual_map", camp), tmp_path / "result")


def test_inputs_hold_the_evolution_numbers_of_every_checkpoint(camp):
    """The evolution figure's numbers travel as arrays, equal to those read from the result:
    every panel's values, errors and marks, on the campaign's own axis (time here)."""
    own = P.campaign_evolution(camp)
    sent = pickle.loads(pickle.dumps(figure_inputs(camp))).evolution
    assert sent.axis == own.axis == "time_h" and sent.xlabel == own.xlabel
    assert [[p.key for p in row] for row in sent.rows] == [[p.key for p in row] for row in own.rows]
    keys = [p.key for row in own.rows for p in row]
    assert "R2_asr_ohm_cm2" in keys
    for mine, theirs in zip((p for row in sent.rows for p in row), (p for row in own.rows for p in row)):
        assert mine.role == theirs.role and mine.title == theirs.title
        for a, b in zip(mine.series, theirs.series):
            np.testing.assert_array_equal(a, b)
    r2 = next(p for row in own.rows for p in row if p.key == "R2_asr_ohm_cm2").series
    np.testing.assert_array_equal(r2.x, 10.0 * np.arange(26))
    np.testing.assert_allclose(r2.value, [r.derived["R2_asr_ohm_cm2"] for r in camp.results])
    inputs = figure_inputs(camp)
    assert P.campaign_evolution(inputs, x="time_h") is inputs.evolution  # its own axis named: the numbers carried


def test_inputs_hold_the_residual_map_instead_of_the_points_of_results_not_overlaid(camp):
    """The residual map's numbers travel instead of the results not overlaid, equal to those
    computed from the result's own points."""
    inputs = figure_inputs(camp)
    whole = [r for r in inputs.results if r is not NOT_SENT]
    assert len(whole) == P.MAX_OVERLAY_SPECTRA and all(r.z.size == F.size for r in whole)
    own = P.campaign_residuals(camp)
    assert inputs.residuals.fitted == own.fitted == list(range(26))
    np.testing.assert_array_equal(inputs.residuals.log_frequency, np.round(np.log10(np.sort(F)), 3))
    k, r = 7, camp.results[7]
    expected = 100 * np.hypot(r.residuals_real, r.residuals_imag) * np.sign(r.residuals_real)
    np.testing.assert_array_equal(inputs.residuals.grid[k][::-1], expected)  # F descends, the columns ascend
    assert P.campaign_residuals(pickle.loads(pickle.dumps(inputs))).grid.shape == (26, F.size)


def _written(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


@needs_fork
def test_the_reserved_process_draws_the_same_figures(camp, tmp_path):
    camp.write(tmp_path / "plain")
    with FP.reserved_figure_process():
        reserved = FP._reserved
        assert reserved is not None and reserved.alive()
        camp.write(tmp_path / "reserved")
        assert FP._reserved is None  # taken by the write, and ended by it
        assert not reserved.alive()
    assert _written(tmp_path / "reserved") == _written(tmp_path / "plain")
    assert len(_written(tmp_path / "plain")) == len(P.CAMPAIGN_FIGURES)


@needs_fork
def test_an_unused_reserved_process_ends_with_the_context():
    with FP.reserved_figure_process():
        reserved = FP._reserved
        assert reserved.alive()
    assert FP._reserved is None and not reserved.alive()


@needs_fork
def test_warming_up_the_reserved_process_loads_pyplot_there(tmp_path):
    """warm_up_reserved (called when the last fits are in) has the reserved process import
    pyplot before its inputs come: seen in a fresh interpreter, where nothing
    had imported matplotlib before the fork, by the process's mapped FreeType extension."""
    import subprocess

    script = (
        "import sys, time, eisfit._figure_process as FP\n"
        "FP._can_reserve = lambda: True\n"
        "assert 'matplotlib' not in sys.modules\n"
        "def mapped(pid):\n"
        "    return 'ft2font' in open(f'/proc/{pid}/maps').read()\n"
        "with FP.reserved_figure_process():\n"
        "    pid = FP._reserved._process.pid\n"
        "    before = mapped(pid)\n"
        "    FP.warm_up_reserved()\n"
        "    for _ in range(600):\n"
        "        if mapped(pid): break\n"
        "        time.sleep(0.05)\n"
        "    print(before, mapped(pid))\n"
        "FP.warm_up_reserved()  # none reserved any more: nothing to do\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, MPLBACKEND="Agg"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]


def test_the_last_outcome_ends_the_pool_and_warms_up_the_reserved_process(monkeypatch):
    """Once the last task's outcome is in, the campaign begins ending its workers and, when it
    will draw figures, has the reserved figure process import pyplot (while it assembles the
    result, not while both workers still live)."""
    import eisfit.campaign as C

    calls = []
    monkeypatch.setattr(FP, "warm_up_reserved", lambda: calls.append("warm up"))

    class Pool:
        def begin_shutdown(self):
            calls.append("shut down")

    C._after_last_outcome(Pool(), figures=True)()
    assert calls == ["shut down", "warm up"]
    calls.clear()
    C._after_last_outcome(Pool(), figures=False)()
    assert calls == ["shut down"]
    assert C._after_last_outcome(None, figures=True) is None  # no workers of its own: nothing to do


def test_eisfit_campaign_warms_up_the_reserved_process_when_the_last_fits_are_in(tmp_path, monkeypatch):
    """The command (which streams its rows and writes the outputs after fit_campaign
    returns, out=None) has the reserved process import pyplot once the last fits are in: it
    had been left to import it when its inputs came, after the result was assembled (since
    the hook was keyed on fit_campaign's own ``out``)."""
    from click.testing import CliRunner

    from eisfit.cli import main

    folder = _csv_folder(tmp_path, 4)
    calls = []
    monkeypatch.setattr(FP, "warm_up_reserved", lambda: calls.append("warm up"))
    result = CliRunner().invoke(main, ["campaign", str(folder), "--circuit", HEADLINE, "--jobs", "2",
                                       "--out", str(tmp_path / "out"), "--no-cache", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert calls == ["warm up"]
    assert (tmp_path / "out" / "report.md").exists()


@needs_fork
def test_a_reserved_process_that_died_leaves_the_figures_to_this_one(camp, tmp_path):
    with FP.reserved_figure_process():
        os.kill(FP._reserved._process.pid, signal.SIGKILL)
        FP._reserved._process.join(10)
        camp.write(tmp_path / "out")
    assert len(_written(tmp_path / "out")) == len(P.CAMPAIGN_FIGURES)
    assert (tmp_path / "out" / "report.md").exists()


@needs_fork
def test_a_figure_that_fails_in_the_reserved_process_raises_here(camp, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("no evolution today")

    monkeypatch.setattr(P, "plot_campaign_evolution", broken)  # before the fork: the process has it too
    with FP.reserved_figure_process(), pytest.raises(ValueError, match="no evolution today"):
        camp.write(tmp_path / "out")
    assert not (tmp_path / "out" / "report.md").exists()


@needs_fork
def test_the_campaign_command_writes_its_figures_through_the_reserved_process(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from eisfit.cli import main

    folder = _csv_folder(tmp_path, 3)
    made = []
    original = FP.FigureProcess.__init__

    def recorded(self):
        original(self)
        made.append(self)

    monkeypatch.setattr(FP.FigureProcess, "__init__", recorded)
    result = CliRunner().invoke(main, ["campaign", str(folder), "--circuit", HEADLINE, "--out", str(tmp_path / "out"),
                                       "--no-cache", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert len(made) == 1 and not made[0].alive()
    assert len(_written(tmp_path / "out")) == len(P.CAMPAIGN_FIGURES)


def _draw_garbage(name, inputs, folder):
    """A stand-in for a figure: figure "big" leaves ~100 MB in reference cycles (as a closed
    matplotlib figure does), garbage once it returns, in a process whose allocator is tuned
    as the command's (which keeps up to 64 MB of freed heap); any other name nothing. The
    buffers are above Python's small-object size (512 bytes): small objects of a process
    forked from a large one (pytest's, late in a run) fill the free slots of arenas that the
    parent's objects keep (copied pages no trim can hand back), and the test had failed once
    so; malloc's heap pages are handed back once free."""
    from eisfit._processes import tune_allocator

    tune_allocator()
    cycles = []
    for _ in range(150_000 if name == "big" else 0):
        node = [bytearray(600)]
        node.append(node)
        cycles.append(node)
    return []


def _rss_and_peak_mb(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


@needs_fork
def test_the_figure_process_hands_back_the_memory_of_each_figure_before_the_next(tmp_path):
    """After a figure the process collects its garbage and trims its heap: a figure that
    left ~100 MB of cycles does not keep the process's RSS at its peak (10,000 checkpoints:
    the figure process peaked at 158 MB, 135 MB since)."""
    process = FP.FigureProcess()
    try:
        process.load(_draw_garbage, None, tmp_path)
        assert process.submit("big").result(timeout=120) == []
        assert process.submit("small").result(timeout=120) == []  # drawn after the big one's release
        rss, peak = _rss_and_peak_mb(process._process.pid)
    finally:
        process.shutdown()
    assert peak - rss > 30, (rss, peak)


def test_this_process_leaves_the_memory_heavy_figures_to_the_figure_process(tmp_path):
    """While the figure process draws, the campaign process takes the lighter figures first:
    a residual map or evolution figure drawn on the heap a campaign grew added its ~45 MB to
    that process's peak. The figure process gets the heavy one when it is free."""
    import threading
    from concurrent.futures import Future

    drawn_here, submitted = [], threading.Event()
    running, handed = Future(), []

    def maker(name):
        def make():
            drawn_here.append(name)
            if name == "fits":  # the figure process ends its first figure while this one draws
                running.set_result([str(tmp_path / "evolution.png")])
                assert submitted.wait(30)
            fig, ax = plt.subplots()
            return fig
        return make

    def submit(name):
        handed.append(name)
        submitted.set()
        done = Future()
        done.set_result([str(tmp_path / f"{name}.png")])
        return done

    class Pool:  # the figure process, as PendingFigures sees it: its jobs are the futures above
        def shutdown(self, wait=True, cancel_futures=False):
            pass

    names = ["evolution", "residual_map", "fits", "nyquist"]
    pending = P.PendingFigures({n: maker(n) for n in names}, tmp_path, pool=Pool(), jobs={"evolution": running},
                               queue=names[1:], workers=1, submit=submit)
    written = pending.result()
    assert "residual_map" not in drawn_here and handed[0] == "residual_map"
    assert drawn_here[0] == "fits" and set(written) == set(names)
