"""Figures: one convention (ax= -> Axes, fig= -> Figure), journal sizes, one unit style,
readable capacitances, per-interface panel, tick labels, error-bar note, slim colour bar,
at most 20 spectra per overlay."""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

import eisfit
import eisfit.plotting as P
from eisfit import Spectrum
from eisfit.model import Circuit

from conftest import headline_series

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "garnet_campaign"
HEADLINE = "R0-p(R1,CPE1)-p(R2,CPE2)"
TRUE = {"R0": 40.0, "R1": 60.0, "CPE1_0": 1e-9, "CPE1_1": 0.9, "R2": 149.0, "CPE2_0": 2e-6, "CPE2_1": 0.85}
F = np.logspace(7, 1, 43)


def _spectrum(r2=149.0, seed=0, **meta):
    values = {**TRUE, "R2": r2}
    z = Circuit(HEADLINE).impedance(np.array(list(values.values())), F)
    rng = np.random.default_rng(seed)
    z = z * (1 + 0.003 * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size)))
    return Spectrum(F, z, meta=meta)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fit_result():
    return eisfit.fit(_spectrum(label="s"), "garnet-symmetric", area_cm2=0.785)


@pytest.fixture(scope="module")
def camp():
    return eisfit.fit_campaign(SAMPLE / "campaign.toml", cache_dir=False)


@pytest.fixture(scope="module")
def big_camp():
    spectra = [_spectrum(r2=150.0 - 3 * k, seed=k, label=f"{10 * k} h", time_h=10.0 * k) for k in range(30)]
    return eisfit.fit_campaign(spectra, circuit=HEADLINE, area_cm2=0.785, starts=4)


def _texts(fig) -> str:
    parts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    return "\n".join(parts)


# ---- the convention ------------------------------------------------------------------------

ONE_PANEL = ["plot_nyquist", "plot_fit_residuals"]
MULTI_PANEL = ["plot_bode", "plot_fit"]


@pytest.mark.parametrize("name", ONE_PANEL)
def test_one_panel_fit_functions_take_ax_and_return_it(name, fit_result):
    fig, ax = plt.subplots()
    assert getattr(P, name)(fit_result, ax=ax) is ax
    assert isinstance(getattr(P, name)(fit_result), matplotlib.axes.Axes)


@pytest.mark.parametrize("name", MULTI_PANEL)
def test_multi_panel_fit_functions_take_fig_and_return_it(name, fit_result):
    fig = plt.figure()
    assert getattr(P, name)(fit_result, fig=fig) is fig
    assert isinstance(getattr(P, name)(fit_result), matplotlib.figure.Figure)
    _, ax = plt.subplots()
    with pytest.raises(TypeError, match="pass fig="):
        getattr(P, name)(fit_result, ax=ax)


def test_campaign_functions_follow_the_convention(camp):
    _, ax = plt.subplots()
    assert P.plot_campaign_nyquist(camp, ax=ax) is ax
    _, ax = plt.subplots()
    assert P.plot_campaign_residual_map(camp, ax=ax) is ax
    for function in (P.plot_campaign_bode, P.plot_campaign_evolution, P.plot_campaign_fits):
        fig = plt.figure()
        assert function(camp, fig=fig) is fig
        with pytest.raises(TypeError, match="pass fig="):
            function(camp, ax=fig.gca())
    assert isinstance(camp.plot_evolution(), matplotlib.figure.Figure)
    assert isinstance(camp.plot_nyquist(), matplotlib.axes.Axes)
    assert isinstance(camp.plot_fits(), matplotlib.figure.Figure)


# ---- sizes and units ----------------------------------------------------------------------------

def test_journal_sizes(fit_result, camp):
    assert P.plot_nyquist(fit_result).figure.get_figwidth() == pytest.approx(P.COLUMN_IN)
    assert P.plot_fit(fit_result).get_figwidth() == pytest.approx(P.DOUBLE_COLUMN_IN)
    assert camp.plot_nyquist().figure.get_figwidth() == pytest.approx(P.COLUMN_IN)
    assert camp.plot_evolution().get_figwidth() == pytest.approx(P.DOUBLE_COLUMN_IN)


def test_fit_figure_units_are_ohm_symbols(fit_result):
    text = _texts(P.plot_fit(fit_result, area_cm2=0.785))
    assert "Ω·cm²" in text and "|Z|·A / Ω·cm²" in text
    assert "ohm" not in text


def test_evolution_panels_units_ticks_and_error_bar_note(camp):
    fig = camp.plot_evolution()
    fig.canvas.draw()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    titles = {ax.get_title(): ax for ax in axes}
    per_cell = titles["R2 (interface): ASR per cell"]
    per_interface = titles["R2 (interface): ASR per interface"]
    # side by side: same row, per interface to the right
    assert per_cell.get_position().y0 == pytest.approx(per_interface.get_position().y0)
    assert per_interface.get_position().x0 > per_cell.get_position().x1
    assert per_cell.get_ylim()[1] > 100 > per_interface.get_ylim()[1]  # 117 per cell, 58.5 per interface
    # readable capacitances: a prefix, no bare farads with an offset of 1e-10
    cap_labels = [ax.get_ylabel() for ax in axes if ax.get_title().startswith("CPE")]
    assert cap_labels and all(("nF" in lab or "pF" in lab or "µF" in lab) for lab in cap_labels)
    for ax in axes:  # tick labels on every panel
        labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        assert labels, ax.get_title()
        assert "Ω" in ax.get_ylabel() or "F" in ax.get_ylabel()
    # R2 stderr (~0.3 ohm*cm2) is far below the marker size on a 30-120 ohm*cm2 axis: said so
    legend = [t.get_text() for t in per_cell.get_legend().get_texts()]
    assert "± 1 s.e. (smaller than the markers)" in legend
    # R1 stderr (~0.9 ohm*cm2) on a 46-49 axis: visible bars, no note
    r1 = titles["R1 (electrolyte): ASR per cell"]
    assert [t.get_text() for t in r1.get_legend().get_texts()] == ["± 1 s.e."]


def test_nyquist_overlay_colour_bar_is_as_long_as_the_axes(camp):
    """Beside the axes and as tall as them, or, where they are flatter than the bar's minimum
    length (the sample campaign's arcs), below them and as wide."""
    ax = camp.plot_nyquist()
    fig = ax.figure
    fig.canvas.draw()
    bars = [a for a in fig.axes if a is not ax] + list(ax.child_axes)
    assert len(bars) == 1
    box, bar = ax.get_position(), bars[0].get_position()
    (w, h) = fig.get_size_inches()
    if bar.height * h > bar.width * w:  # beside
        assert bar.height == pytest.approx(box.height, rel=0.02) and bar.x0 > box.x1
        assert bar.width < 0.1 * box.width
    else:
        assert bar.width == pytest.approx(box.width, rel=0.02) and bar.y1 < box.y0
        assert bar.height * h < 0.1  # inches: a slim bar
    assert max(bar.height * h, bar.width * w) >= P.COLOURBAR_MIN_IN
    # no empty bands: the drawn artists span the canvas, the axes take most of its width
    drawn = fig.get_tightbbox(fig.canvas.get_renderer())
    assert drawn.width > 0.93 * fig.get_figwidth() and drawn.height > 0.9 * fig.get_figheight()
    assert box.width > 0.6


def test_overlays_of_large_campaigns_show_at_most_20_spectra(big_camp):
    assert len(big_camp.results) == 30
    ax = big_camp.plot_nyquist()
    assert len(ax.lines) == 2 * 20  # data points and fit line per checkpoint shown
    assert "20 of 30 checkpoints shown" in ax.get_title()
    fig = big_camp.plot_fits()
    assert len([a for a in fig.axes if a.get_title()]) == 20
    assert "20 of 30 checkpoints shown" in fig.get_suptitle()
    assert len(big_camp.plot_nyquist(max_spectra=None).lines) == 2 * 30
    assert P.evenly_chosen(30, 20)[0] == 0 and P.evenly_chosen(30, 20)[-1] == 29
    assert P.evenly_chosen(5, 20) == [0, 1, 2, 3, 4]


def _many(camp, copies: int):
    """``camp`` with its checkpoints repeated ``copies`` times (a large campaign, no fitting)."""
    import dataclasses

    return dataclasses.replace(camp, checkpoints=list(camp.checkpoints) * copies,
                               results=list(camp.results) * copies, details=list(camp.details) * copies,
                               errors=[], _table=None)


def test_overlays_of_a_300_spectrum_campaign_draw_at_most_max_overlay_spectra(big_camp):
    camp = _many(big_camp, 10)
    assert sum(r is not None for r in camp.results) == 300
    limit = P.MAX_OVERLAY_SPECTRA
    assert len(camp.plot_nyquist().lines) <= 2 * limit
    fig = camp.plot_bode()
    assert sum(len(ax.lines) for ax in fig.axes) <= 4 * limit
    assert len([a for a in camp.plot_fits().axes if a.get_title()]) <= limit
    fig = camp.plot_evolution()  # every checkpoint, but a few artists per panel
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert panels and all(len(ax.lines) + len(ax.collections) < 12 for ax in panels)


def test_campaign_figures_keep_every_text_on_the_canvas(camp):
    """The campaign figures are placed without a layout engine: every tick label, axis label,
    title and colour bar label must still lie inside the figure."""
    figures = [camp.plot_evolution(), camp.plot_nyquist().figure, camp.plot_fits(), camp.plot_bode(),
               camp.plot_residual_map().figure]
    for fig in figures:
        assert fig.get_layout_engine() is None
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        drawn = fig.get_tightbbox(renderer)  # inches: every drawn text, axes and colour bar
        assert drawn.x0 >= -0.01 and drawn.y0 >= -0.01, (fig, drawn)
        assert drawn.x1 <= fig.get_figwidth() + 0.01 and drawn.y1 <= fig.get_figheight() + 0.01, (fig, drawn)
        # the axes fill the figure: no wide empty bands
        assert drawn.width > 0.93 * fig.get_figwidth() and drawn.height > 0.9 * fig.get_figheight()


def test_log_axes_label_powers_of_ten_as_plain_text():
    assert P._plain_power(r"$\mathdefault{10^{3}}$") == "10³"
    assert P._plain_power(r"$\mathdefault{10^{-2}}$") == "10⁻²"
    assert P._plain_power(r"$\mathdefault{2\times10^{2}}$") == "2×10²"
    assert P._plain_power(r"$\alpha$") == r"$\alpha$" and P._plain_power("100") == "100"


@pytest.mark.parametrize("processes", [1, 2])
def test_save_figures_writes_every_figure(camp, tmp_path, processes):
    makers = {"fits": camp.plot_fits, "nyquist": lambda: camp.plot_nyquist().figure, "bode": camp.plot_bode}
    written = P.save_figures(makers, tmp_path, processes=processes)
    assert list(written) == list(makers)
    for name, paths in written.items():
        assert [p.name for p in paths] == [f"{name}.png", f"{name}.svg"]
        assert all(p.stat().st_size > 1000 for p in paths)
        assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_are_shared_between_this_process_and_one_forked_worker(tmp_path):
    """With two processes, one forked worker and this process draw (a second worker would map
    the campaign's whole heap again: a third more summed memory); each takes the next figure
    when it is free, so every figure is written once, whoever drew it. Run in a fresh
    interpreter: figures are forked only where no other thread runs (this test session may
    have some)."""
    import json
    import os
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import json, os, pathlib
        import matplotlib.pyplot as plt
        from eisfit import plotting as P
        out = pathlib.Path({str(tmp_path)!r})
        def maker(name):
            def make():
                (out / (name + ".pid")).write_text(str(os.getpid()))
                fig = plt.figure()
                fig.add_subplot().plot([0, 1], [1, 0])
                return fig
            return make
        names = [f"f{{k}}" for k in range(6)]
        written = P.save_figures({{n: maker(n) for n in names}}, out, processes=2)
        print(json.dumps({{"forked": P._can_fork_figures(), "here": os.getpid(), "names": list(written),
                          "files": all(p.exists() for paths in written.values() for p in paths),
                          "pids": {{n: int((out / (n + ".pid")).read_text()) for n in names}}}}))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=dict(os.environ, MPLBACKEND="Agg"))
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert got["names"] == [f"f{k}" for k in range(6)] and got["files"]
    if not got["forked"]:
        pytest.skip("figures are not forked on this machine (Linux, Agg and 2 cores needed)")
    pids = got["pids"]
    assert got["here"] in pids.values() and len(set(pids.values())) == 2  # here and in one worker
    assert pids["f0"] != got["here"]  # the worker starts with the first (the costliest)


def test_the_worker_gets_its_next_figure_while_this_process_still_draws(tmp_path):
    """The worker is handed its next figure the moment it finishes one, not when this process
    finishes its own: f0 (the worker's, quick), f1 (this process's, 3 s), f2: the worker
    begins f2 while f1 is still being drawn here (handed out between this process's figures,
    f2 waited for f1). Fresh interpreter, as above."""
    import json
    import os
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import json, os, pathlib, time
        import matplotlib.pyplot as plt
        from eisfit import plotting as P
        out = pathlib.Path({str(tmp_path)!r})
        def maker(name, seconds):
            def make():
                (out / (name + ".start")).write_text(repr(time.time()))
                time.sleep(seconds)
                (out / (name + ".pid")).write_text(str(os.getpid()))
                fig = plt.figure()
                fig.add_subplot().plot([0, 1], [1, 0])
                (out / (name + ".end")).write_text(repr(time.time()))
                return fig
            return make
        written = P.save_figures({{"f0": maker("f0", 0.0), "f1": maker("f1", 3.0), "f2": maker("f2", 0.0)}}, out,
                                 processes=2)
        read = lambda name, what: float((out / (name + what)).read_text())
        print(json.dumps({{"forked": P._can_fork_figures(), "here": os.getpid(), "names": list(written),
                          "pids": {{n: int((out / (n + ".pid")).read_text()) for n in written}},
                          "f2_start": read("f2", ".start"), "f1_end": read("f1", ".end")}}))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=dict(os.environ, MPLBACKEND="Agg"))
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert got["names"] == ["f0", "f1", "f2"]
    if not got["forked"]:
        pytest.skip("figures are not forked on this machine (Linux, Agg and 2 cores needed)")
    assert got["pids"]["f1"] == got["here"] and got["pids"]["f2"] != got["here"]
    assert got["f2_start"] < got["f1_end"]


def test_save_figures_raises_a_maker_error_here(tmp_path):
    def broken():
        raise ValueError("no figure")

    with pytest.raises(ValueError, match="no figure"):
        P.save_figures({"a": lambda: plt.figure(), "b": broken}, tmp_path, processes=2)
    assert (tmp_path / "a.png").stat().st_size > 0




def test_evolution_leaves_a_gap_where_the_stderr_exceeds_the_value():
    """The electrolyte arc lies above the measured range (tau ~ 20 ns, f <= 1 MHz): R0 and R1
    trade resistance, and on some checkpoints R0's stderr is larger than R0. Such a value is
    no point on the evolution panel (as it is no number in the headline lines): a gap marked
    by a grey + at the panel's foot, and its error bar does not stretch the axis."""
    from eisfit.analysis.quality import undetermined

    spectra = headline_series([[12.0, 45.0, 2e-9, 0.92, 80 + 5 * k, 3e-6, 0.8] for k in range(6)], seed=3)
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, cache_dir=False, progress=False)
    vague = [undetermined(r.values["R0"], r.stderr["R0"]) for r in camp.results]
    assert 0 < sum(vague) < len(vague)  # the case this test is about, on some checkpoints only
    fig = camp.plot_evolution()
    fig.canvas.draw()
    ax = next(a for a in fig.axes if a.get_title() == "R0")
    line = next(l for l in ax.get_lines() if l.get_marker() == "o" and l.get_linestyle() == "-")
    y = np.asarray(line.get_ydata(), float)
    np.testing.assert_array_equal(np.isnan(y), vague)
    plus = [l for l in ax.get_lines() if l.get_marker() == "P"]
    assert len(plus) == 1 and len(plus[0].get_xdata()) == sum(vague)
    assert "undetermined (s.e. >= value or unknown, or by a flag)" in [t.get_text() for t in ax.get_legend().get_texts()]
    lo, hi = ax.get_ylim()
    shown = [(r.values["R0"], r.stderr["R0"]) for r, v in zip(camp.results, vague) if not v]
    assert lo >= min(v - s for v, s in shown) - 0.1 * (hi - lo)  # no hidden bar reaches below


def test_fits_panel_titles_show_the_file_name_and_fit_their_panel(tmp_path):
    """Checkpoints read from files deep in a folder tree, one with a long name: the small
    multiples' titles drop the folders, a name too wide for its panel loses the suffix all names
    share (".csv") and is cut at the front ("…", keeping its differing end), and no title
    overlaps the next panel."""
    folder = tmp_path / "a_rather_long_folder_name" / "and_another_one_below_it"
    folder.mkdir(parents=True)
    names = ["c1.csv", "cell_with_a_very_long_name_from_the_potentiostat_2026_11_29.csv", "c3.csv", "c4.csv"]
    for k, name in enumerate(names):
        s = _spectrum(r2=149.0 - 10 * k, seed=k)
        np.savetxt(folder / name, np.c_[s.frequency, s.z.real, s.z.imag], delimiter=",",
                   header="freq_Hz,Zre_ohm,Zim_ohm", comments="")
    camp = eisfit.fit_campaign(folder, circuit=HEADLINE, cache_dir=False, progress=False, starts=4)
    fig = camp.plot_fits()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.get_title()]
    titles = [ax.get_title() for ax in panels]
    assert "c1.csv" in titles and not any("folder" in t for t in titles)
    long_title = next(t for t in titles if "potentiostat" in t or t.startswith("…"))
    assert long_title.startswith("…") and "2026_11_29" in long_title  # the end that differs (".csv" all share)
    boxes = [ax.title.get_window_extent(renderer) for ax in panels]
    for left, right in zip(boxes, boxes[1:]):
        if abs(left.y0 - right.y0) < 1:  # same row
            assert left.x1 <= right.x0


@pytest.mark.results_in_memory  # identity of shared containers / a result changed in place
def test_evolution_draws_a_fixed_parameter_and_leaves_a_gap_for_an_unknown_stderr():
    """A parameter held fixed has no stderr by design: a point on its panel. A value whose
    stderr is unknown (singular covariance) is not determined by the data: a gap, as the
    headline reads it 'undetermined'."""
    spectra = headline_series([[5.0, 40.0, 1e-8, 0.9, 80.0 + 10 * k, 1e-5, 0.85] for k in range(3)], seed=2)
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, fixed={"R0": 5.0}, cache_dir=False, progress=False)
    camp.results[1].stderr["R2"] = float("nan")  # as a singular covariance leaves it
    fig = camp.plot_evolution()
    fig.canvas.draw()

    def points(title):
        ax = next(a for a in fig.axes if a.get_title() == title)
        line = next(l for l in ax.get_lines() if l.get_marker() == "o" and l.get_linestyle() == "-")
        return np.asarray(line.get_ydata(), float)

    np.testing.assert_allclose(points("R0"), [5.0, 5.0, 5.0])
    assert list(np.isnan(points("R2 (interface)"))) == [False, True, False]


def test_kk_plot_title_fits_its_axes_for_a_long_label():
    """The Lin-KK verdict went off both sides of the figure ("xampleDataGamry.DTA#0 ... ma"):
    the label is on its own line, cut at the front to fit, the verdict on the next."""
    from eisfit.plotting import _text_extent_pt, plot_kk_residuals

    f = np.logspace(5, -1, 61)
    z = 10 + 100 / (1 + (1j * 2 * np.pi * f * 1e-3) ** 0.85)
    label = "/data/2026/campaign/cell_07/very_long_folder_name/exampleDataGamry_with_a_long_name.DTA#0"
    res = eisfit.kk_test(Spectrum(f, z, meta={"label": label}))
    ax = plot_kk_residuals(res)
    first, second, *_ = ax.get_title().split("\n")  # the verdict's line broken to the width too
    width_pt = ax.figure.get_figwidth() * 72.0 * ax.get_position().width
    assert first.startswith("…") and first.endswith("long_name.DTA#0")
    assert _text_extent_pt(first, 8.0)[0] <= width_pt and second.startswith("Lin-KK passed")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked figure workers: Linux only")
def test_a_figure_worker_that_dies_does_not_hang_the_figures(tmp_path):
    """A figure worker killed while drawing (kill -9, out of memory) left the campaign
    waiting forever on a multiprocessing.Pool; the figure is now drawn here instead."""
    import os
    import signal

    import matplotlib.pyplot as plt

    from eisfit.plotting import save_figures

    parent = os.getpid()

    def dies_in_a_worker():
        if os.getpid() != parent:
            os._exit(9)  # as if killed
        fig = plt.figure()
        fig.add_subplot().plot([0, 1], [1, 0])
        return fig

    def plain():
        fig = plt.figure()
        fig.add_subplot().plot([0, 1], [0, 1])
        return fig

    class Hung(BaseException):  # not an Exception: save_figures must not swallow it
        pass

    def hung(signum, frame):
        raise Hung("save_figures still waiting after 60 s")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        written = save_figures({"dies": dies_in_a_worker, "plain": plain}, tmp_path, processes=2)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert all(p.exists() for paths in written.values() for p in paths) and set(written) == {"dies", "plain"}


def test_a_residual_map_of_many_checkpoints_shows_bands_with_their_largest_residual():
    """Above MAX_MAP_ROWS checkpoints a row of the residual map is a band of consecutive
    checkpoints holding, at each frequency, the residual of largest magnitude among them
    with its sign (checked against a loop over the bands); the bands cover every checkpoint
    once, in checkpoint numbers; a map of fewer checkpoints is drawn as it is."""
    rng = np.random.default_rng(5)
    n, m = 1307, 9
    grid = rng.normal(size=(n, m))
    grid[rng.random((n, m)) < 0.1] = np.nan
    grid[700, 4] = -50.0  # one checkpoint that misses a feature stays visible
    shown, edges = P._largest_per_band(grid, 600)
    step = 3  # ceil(1307 / 600)
    assert shown.shape == (436, m) and edges[0] == 0 and edges[-1] == n
    assert np.array_equal(np.diff(edges[:-1]), np.full(435, step)) and edges[-1] - edges[-2] == 2
    for b in range(shown.shape[0]):
        band = grid[b * step:(b + 1) * step]
        for j in range(m):
            finite = band[np.isfinite(band[:, j]), j]
            if finite.size == 0:
                assert np.isnan(shown[b, j])
            else:
                assert shown[b, j] == finite[np.argmax(np.abs(finite))]
    assert shown[700 // step, 4] == -50.0
    same, rows = P._largest_per_band(grid[:600], 600)
    assert np.array_equal(same, grid[:600], equal_nan=True)
    assert np.array_equal(rows, np.arange(601))


def test_a_banded_residual_map_is_merged_as_the_results_are_read_and_equals_the_bands_of_the_whole_map():
    """With ``max_rows`` the residual map is read in bands (each row merged into its band as
    it comes, the rows of every checkpoint never held): on results of several frequency
    grids (one with a frequency repeated to the rounding: a row shows the last of the two),
    many of them bringing frequencies of their own (rows that wait for the grid to be
    widened and are merged after later rows), each band holds at each frequency the residual
    of largest magnitude among its checkpoints (checked against a loop over the whole map),
    NaN where none has a point; the band edges are those of the whole map's bands."""
    from types import SimpleNamespace

    rng = np.random.default_rng(11)
    repeated = np.concatenate([np.logspace(6, 0, 25)[:10], [1e5 * 1.0001], np.logspace(6, 0, 25)[10:]])
    grids = [np.logspace(6, 0, 25), np.logspace(5.5, -1, 31), repeated]  # 1e5 Hz twice, to the rounding
    results = []
    for k in range(260):
        f = np.logspace(4, 1, 7) * 10 ** (0.002 * k) if 90 <= k < 180 else grids[k % 3]
        results.append(None if k == 40 else SimpleNamespace(frequency=f, residuals_real=rng.normal(size=f.size),
                                                            residuals_imag=rng.normal(size=f.size)))
    whole = P._residuals_of(results)
    banded = P._residuals_of(results, max_rows=30)
    step = 9  # ceil(259 / 30)
    assert banded.fitted == whole.fitted and np.array_equal(banded.log_frequency, whole.log_frequency)
    np.testing.assert_array_equal(banded.row_edges, np.minimum(np.arange(30) * step, 259))
    assert banded.grid.shape == (29, whole.grid.shape[1])
    for b in range(29):
        band = whole.grid[b * step:(b + 1) * step]
        for j in range(band.shape[1]):
            finite = band[np.isfinite(band[:, j]), j]
            expected = finite[np.argmax(np.abs(finite))] if finite.size else np.nan
            assert banded.grid[b, j] == expected or (np.isnan(expected) and np.isnan(banded.grid[b, j])), (b, j)


def test_a_band_keeps_the_first_of_two_residuals_of_equal_magnitude_whatever_order_they_come_in():
    """Two checkpoints of one band with residuals of equal magnitude and opposite sign: the
    band shows the earlier checkpoint's, as a band of the whole map does, even when the later
    one was merged first (a row that waited for new frequencies is merged late)."""
    grid = P._ResidualGrid(20, max_rows=5, freqs=np.array([0.0, 1.0]))
    columns = np.arange(2)
    grid.put_columns(6, columns, np.array([-3.0, 1.0]))
    grid.put_columns(5, columns, np.array([3.0, np.nan]))
    grid.put_columns(7, columns, np.array([np.nan, np.nan]))
    np.testing.assert_array_equal(grid.values[1], [3.0, 1.0])
    np.testing.assert_array_equal(grid.values[0], [np.nan, np.nan])
    whole = np.full((20, 2), np.nan)
    whole[5], whole[6] = [3.0, np.nan], [-3.0, 1.0]
    np.testing.assert_array_equal(P._largest_per_band(whole, 5)[0], grid.values)


def test_the_residual_grid_puts_each_point_at_its_rounded_log_frequency_whatever_the_order_of_the_grids():
    """Results on several frequency grids, one missing (None), more than ``_WIDEN_EVERY`` of
    them bringing new frequencies: each row holds at each column (log10 f rounded to 3
    decimals, the union of all, ascending) the signed residual of the point there, NaN
    where its spectrum has none (checked point by point against a lookup by frequency)."""
    from types import SimpleNamespace

    rng = np.random.default_rng(3)
    grids = [np.logspace(6, 0, 25), np.logspace(5.5, -1, 31), np.logspace(6, 0, 25)[::2]]
    jittered = [np.logspace(4, 1, 7) * 10 ** (0.002 * j) for j in range(P._WIDEN_EVERY + 5)]  # each its own
    results = []
    for k in range(200):
        f = jittered[k - 100] if 100 <= k < 100 + len(jittered) else grids[k % 3]
        results.append(None if k == 7 else SimpleNamespace(frequency=f, residuals_real=rng.normal(size=f.size),
                                                           residuals_imag=rng.normal(size=f.size)))
    out = P._residuals_of(results)
    assert out.fitted == [k for k in range(200) if k != 7]
    every = np.concatenate([np.round(np.log10(r.frequency), 3) for r in results if r is not None])
    assert np.array_equal(out.log_frequency, np.unique(every))
    for row, k in enumerate(out.fitted):
        r = results[k]
        expected = dict(zip(np.round(np.log10(r.frequency), 3),
                            100 * np.hypot(r.residuals_real, r.residuals_imag) * np.sign(r.residuals_real)))
        for col, logf in enumerate(out.log_frequency):
            value = out.grid[row, col]
            assert (np.isnan(value) if logf not in expected else value == expected[logf]), (k, logf)


def test_a_campaigns_residual_numbers_are_computed_once_for_the_same_results(big_camp, monkeypatch):
    """The residual map's numbers are remembered with the campaign while it holds the same
    results (the figure process's inputs and the map drawn here read one computation), and
    computed again once a result is another."""
    import copy

    camp = copy.copy(big_camp)
    camp.results = list(big_camp.results)
    calls = []
    real = P._residuals_of
    monkeypatch.setattr(P, "_residuals_of", lambda results, *a: calls.append(1) or real(results, *a))
    first = P.campaign_residuals(camp)
    assert P.campaign_residuals(camp) is first and len(calls) == 1
    camp.results[4] = camp.results[4].with_fields(label="other")
    again = P.campaign_residuals(camp)
    assert again is not first and len(calls) == 2
    np.testing.assert_array_equal(again.grid, first.grid, strict=True)
    assert again.fitted == first.fitted == list(range(len(camp.results)))


def test_the_residual_map_says_when_its_rows_are_bands(big_camp, monkeypatch):
    """The map of 30 checkpoints at most 8 rows: 8 rows of 4 checkpoints (the last of 2),
    the axis label says so, and the row labels stay at their checkpoints."""
    monkeypatch.setattr(P, "MAX_MAP_ROWS", 8)
    ax = P.plot_campaign_residual_map(big_camp)
    mesh = next(c for c in ax.collections if isinstance(c, matplotlib.collections.QuadMesh))
    assert mesh.get_array().shape[0] == 8
    assert ax.get_ylabel() == "checkpoint (rows of 4: largest residual)"
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["0 h", "20 h"]
    plt.close(ax.figure)
    monkeypatch.setattr(P, "MAX_MAP_ROWS", 600)
    ax = P.plot_campaign_residual_map(big_camp)
    assert ax.get_ylabel() == "checkpoint"
    plt.close(ax.figure)


def test_many_points_draw_each_stderr_bar_and_an_errorbar_legend():
    """Evolution panels of more than RASTER_ABOVE_POINTS checkpoints draw the bars as one path
    of separate segments (one patch, not a line broken by NaNs, which held ~2x the memory):
    every point's bar spans value -/+ stderr, a point without a value has none, no line joins
    the markers (its stroke through thousands of points was the figure process's largest
    allocation), the axis takes in every bar's ends, and the legend keeps the errorbar entry."""
    from matplotlib.path import Path as MplPath

    n = P.RASTER_ABOVE_POINTS + 50
    x = np.arange(n, dtype=float)
    y = 100.0 + np.sin(x / 30.0)
    y[7] = np.nan
    err = np.linspace(0.5, 2.0, n)
    fig, ax = plt.subplots()
    P._draw_many_points_with_bars(ax, x, y, err, "± 1 s.e.")
    points = ax.get_lines()[0]
    bars, = ax.patches
    assert np.array_equal(points.get_xdata(), x) and np.array_equal(points.get_ydata(), y, equal_nan=True)
    path = bars.get_path()
    ends = path.vertices.reshape(n - 1, 2, 2)
    shown = np.isfinite(y)
    assert np.array_equal(path.codes, np.tile([MplPath.MOVETO, MplPath.LINETO], n - 1))
    assert np.array_equal(ends[:, 0, 0], x[shown]) and np.array_equal(ends[:, 1, 0], x[shown])
    assert np.allclose(ends[:, 0, 1], (y - err)[shown]) and np.allclose(ends[:, 1, 1], (y + err)[shown])
    assert not bars.get_fill() and bars.get_zorder() == points.get_zorder()  # drawn over the markers, in order
    ax.autoscale_view()
    low, high = ax.get_ylim()
    assert low <= np.nanmin(y - err) and high >= np.nanmax(y + err)
    assert points.get_rasterized() and bars.get_rasterized()
    assert points.get_linestyle() == "None" and points.get_marker() == "o"
    handles, labels = ax.get_legend_handles_labels()
    assert labels == ["± 1 s.e."]
    assert isinstance(handles[0], matplotlib.container.ErrorbarContainer)
    plt.close(fig)


@pytest.mark.parametrize("n", [20, P.RASTER_ABOVE_POINTS + 50])
def test_evolution_panel_draws_many_rings_as_pixels_and_few_marks_as_vectors(n):
    """Above RASTER_ABOVE_POINTS checkpoints the red rings join the points and bars as pixels in
    the SVG (a ring per checkpoint had been an SVG element each); gap marks stay vectors while
    they are few (an image of their own costs more than a few elements), below it all is vector."""
    x = np.arange(n, dtype=float)
    gaps = np.zeros(n, bool)
    gaps[:3] = True
    flagged = x % 2 == 0
    series = P.EvolutionSeries(x, np.where(gaps, np.nan, 100.0 + x), np.full(n, 1.0), flagged, gaps,
                               *(np.zeros(n, bool) for _ in range(4)))
    fig, ax = plt.subplots()
    P._draw_evolution_panel(ax, P.EvolutionPanel("R1", "R1", "ohm", series, ("", 0, n)))
    rings = next(line for line in ax.get_lines() if line.get_label() == "problem flag or arc swap")
    marks = next(line for line in ax.get_lines() if line.get_label() == "unresolved")
    assert np.array_equal(rings.get_xdata(), x[flagged & ~gaps]) and np.array_equal(marks.get_xdata(), x[gaps])
    assert bool(rings.get_rasterized()) == (n > P.RASTER_ABOVE_POINTS)
    assert not marks.get_rasterized()
    plt.close(fig)


def test_a_ring_on_every_point_is_said_once_in_the_legend_not_drawn():
    """Every fit flagged (61 of 61 failing Lin-KK) had drawn a red ring around every point, which
    marks none of them: the legend now says it once and no ring is drawn."""
    n = 6
    x = np.arange(n, dtype=float)
    none = np.zeros(n, bool)
    series = P.EvolutionSeries(x, 100.0 + x, np.full(n, 1.0), np.ones(n, bool), none, *(none for _ in range(4)))
    fig, ax = plt.subplots()
    P._draw_evolution_panel(ax, P.EvolutionPanel("R1", "R1", "ohm", series, ("", 0, n)),
                            marked=(("kk-failed", n),))
    labels = [line.get_label() for line in ax.get_lines()]
    assert "every point flagged: kk-failed (6)" in labels
    assert not any(line.get_markeredgecolor() == "red" for line in ax.get_lines())
    plt.close(fig)


def test_a_flagged_outlier_does_not_turn_a_panel_to_log():
    """One flagged fit's capacitance 1000x the others' (500-530 nF) had turned the panel to a
    log axis on which the others' trend was flat: the axis is framed on the unflagged points,
    linear, and the legend counts the flagged point beyond it. Unflagged values that span
    decades still take the log axis."""
    x = np.arange(5, dtype=float)
    none = np.zeros(5, bool)
    flagged = np.array([False, False, False, True, False])
    values = np.array([500.0, 520.0, 510.0, 6e5, 530.0])
    series = P.EvolutionSeries(x, values, np.full(5, 5.0), flagged, none, *(none for _ in range(4)))
    fig, ax = plt.subplots()
    P._draw_evolution_panel(ax, P.EvolutionPanel("C", "C", "nF", series, ("", 0, 5)))
    assert ax.get_yscale() == "linear" and ax.get_ylim()[1] < 600
    assert "1 flagged point(s) off the axis (to 6e+05)" in [line.get_label() for line in ax.get_lines()]
    wide = P.EvolutionSeries(x, np.array([5.0, 50.0, 500.0, 6e5, 5000.0]), np.full(5, 1.0), flagged, none,
                             *(none for _ in range(4)))
    fig2, ax2 = plt.subplots()
    P._draw_evolution_panel(ax2, P.EvolutionPanel("C", "C", "nF", wide, ("", 0, 5)))
    assert ax2.get_yscale() == "log"
    plt.close(fig)
    plt.close(fig2)


def test_evolution_rings_only_problems_of_the_whole_fit():
    """A red ring marks a checkpoint whose fit has a problem of its own (not converged, lack
    of fit, KK failed) on every panel; ``unresolved:R1`` concerns R1 alone (a gap in R1's
    panel) and rings no point of R2's panel, where R2 was well determined."""
    import dataclasses

    spectra = headline_series([[12.0, 45.0, 2e-7, 0.92, 80 + 20 * k, 3e-5, 0.8] for k in range(3)], seed=4)
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, cache_dir=False, progress=False)
    camp.results[1] = dataclasses.replace(camp.results[1], flags=[*camp.results[1].flags, "unresolved:R1"])
    camp.results[2] = dataclasses.replace(camp.results[2], flags=[*camp.results[2].flags, "not-converged"])
    fig = camp.plot_evolution()
    for title in ("R2 (interface)", "R2"):
        ax = next((a for a in fig.axes if a.get_title() == title), None)
        if ax is not None:
            break
    rings = [line for line in ax.get_lines() if line.get_label().startswith("flagged: ")]
    assert len(rings) == 1 and list(rings[0].get_xdata()) == [2.0]
    assert rings[0].get_label() == "flagged: not-converged (1)"  # the legend names what the rings mark


def test_fits_panels_say_problem_only_for_the_whole_fit_and_name_unresolved_parameters():
    """The per-checkpoint Nyquist panels follow the evolution plots' rule: "(problem)" in red
    for a problem of the whole fit, "(R1 unresolved)" (not "problem") when only R1 is."""
    import dataclasses

    spectra = headline_series([[12.0, 45.0, 2e-7, 0.92, 80 + 20 * k, 3e-5, 0.8] for k in range(3)], seed=4)
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, cache_dir=False, progress=False)
    assert not any("unresolved" in f or f == "not-converged" for r in camp.results for f in r.flags)
    camp.results[1] = dataclasses.replace(camp.results[1], flags=[*camp.results[1].flags, "unresolved:R1"])
    camp.results[2] = dataclasses.replace(camp.results[2], flags=[*camp.results[2].flags, "not-converged"])
    fig = camp.plot_fits()
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 3
    assert "problem" not in titles[0] and "unresolved" not in titles[0]
    assert titles[1].endswith("(R1 unresolved)") and "problem" not in titles[1]
    assert titles[2].endswith("(problem)")
    colours = [matplotlib.colors.to_hex(ax.title.get_color()) for ax in fig.axes if ax.get_title()]
    assert colours[2] == matplotlib.colors.to_hex("C3") and colours[1] != colours[2]


def test_a_plot_given_the_wrong_result_says_what_it_plots():
    """plot_drt(fit_result) raised AttributeError: 'FitResult' object has no attribute 'tau_s'."""
    from eisfit.errors import DataError
    from eisfit.model import Circuit

    f = np.logspace(5, -1, 40)
    z = Circuit("R0-p(R1,CPE1)").impedance(np.array([10.0, 100.0, 1e-5, 0.9]), f)
    res = eisfit.fit((f, z), circuit="R0-p(R1,CPE1)")
    with pytest.raises(DataError, match=r"plot_drt\(\) plots a DRTResult .*got FitResult"):
        P.plot_drt(res)
    with pytest.raises(DataError, match=r"plot_nyquist\(\) plots an eisfit.Spectrum, a FitResult or a \(frequency_Hz, z_ohm\) tuple.*got KKResult"):
        P.plot_nyquist(eisfit.kk_test((f, z)))
    with pytest.raises(DataError, match=r"plot_kk_residuals\(\) plots a KKResult .*got FitResult"):
        P.plot_kk_residuals(res)
    P.plot_drt(eisfit.drt((f, z)), fit=res)  # the right objects draw


def test_a_nyquist_plot_whose_arcs_are_a_corner_gets_an_inset():
    """A blocking tail 10x the arcs sets the scale: the arcs a paper is about would be a few
    millimetres; an inset magnifies the points with small |Z|. Two comparable arcs: none."""
    from eisfit.model import Circuit

    f = np.logspace(5, -2, 57)
    tail = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)-CPE3").impedance(
        np.array([20.0, 15.0, 1e-6, 0.9, 10.0, 1e-4, 0.85, 1e-3, 0.8]), f)
    ax = P.plot_nyquist(eisfit.fit((f, tail), circuit="R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"))
    (inset,) = [a for a in ax.child_axes]
    x0, x1 = inset.get_xlim()
    assert x1 - x0 < 0.5 * (ax.get_xlim()[1] - ax.get_xlim()[0])  # magnified
    arcs = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)").impedance(np.array([20.0, 100.0, 1e-7, 0.9, 150.0, 1e-4, 0.85]), f)
    assert P.plot_nyquist(eisfit.Spectrum(f, arcs)).child_axes == []


def test_evolution_breaks_its_line_at_a_checkpoint_that_could_not_be_fitted():
    """Two checkpoints failed: the line joined their neighbours straight across them; now a
    gap, marked 'not fitted' at the panel's foot."""
    spectra = headline_series([[12.0, 45.0, 2e-9, 0.92, 80 + 5 * k, 3e-6, 0.8] for k in range(5)], seed=4)
    few = spectra[2]
    spectra[2] = Spectrum(few.frequency[:3], few.z[:3], meta={"label": "2 h", "time_h": 2.0})  # 3 points: no fit
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, cache_dir=False, progress=False)
    assert camp.results[2] is None
    fig = camp.plot_evolution()
    ax = next(a for a in fig.axes if a.get_title().startswith("R2"))
    line = next(l for l in ax.get_lines() if l.get_marker() == "o" and l.get_linestyle() == "-")
    x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    assert list(x) == [0.0, 1.0, 2.0, 3.0, 4.0] and np.isnan(y[2]) and np.isfinite(y[[0, 1, 3, 4]]).all()
    assert "not fitted" in [t.get_text() for t in ax.get_legend().get_texts()]
    bar = next(l for l in ax.get_lines() if l.get_marker() == "|")  # all edge: a white edge had hidden it
    assert matplotlib.colors.to_rgb(bar.get_markeredgecolor()) != (1.0, 1.0, 1.0) and bar.get_markeredgewidth() > 1


def test_the_fit_figure_title_says_when_the_points_fail_lin_kk_without_a_flag():
    import dataclasses

    from eisfit.model import Circuit

    f = np.logspace(5, -1, 40)
    res = eisfit.fit((f, Circuit("R0-p(R1,CPE1)").impedance(np.array([10.0, 100.0, 1e-5, 0.9]), f)),
                     circuit="R0-p(R1,CPE1)")
    failing = dataclasses.replace(res, kk_passed=False)  # the points fail, the circuit's curve passes the rule
    assert "the points fail Lin-KK" in P.plot_fit(failing)._suptitle.get_text()
    assert "Lin-KK" not in P.plot_fit(res)._suptitle.get_text()


def test_the_drt_stack_of_a_large_campaign_shows_at_most_max_overlay_spectra(camp):
    """The DRT stack was the one overlay not thinned: 200 curves were one solid band."""
    import dataclasses

    with_drt = dataclasses.replace(camp, drts=None)
    with_drt.compute_drt()
    big = dataclasses.replace(_many(with_drt, 30), drts=list(with_drt.drts) * 30)
    ax = eisfit.plotting.plot_campaign_drt_stack(big)
    solid = [line for line in ax.get_lines() if line.get_linestyle() == "-" and len(line.get_xdata())]
    assert len(solid) == eisfit.plotting.MAX_OVERLAY_SPECTRA
    assert f"{eisfit.plotting.MAX_OVERLAY_SPECTRA} of {len(big.checkpoints)} shown" in ax.get_title()


def test_a_panel_title_gives_up_parameter_names_before_its_label():
    """"400 h (R2, CPE2_0 unresolved)" in a quarter of a double column became "…00 h (R2,
    CPE2_0 unresolved)": the names give way first."""
    from types import SimpleNamespace

    from eisfit.plotting import _panel_title

    cp = SimpleNamespace(label="400 h", file=None)
    assert _panel_title(cp, " (R2, CPE2_0, CPE2_1 unresolved)", 80.0, 8.0) == "400 h (unresolved)"
    assert _panel_title(cp, " (R2 unresolved)", 400.0, 8.0) == "400 h (R2 unresolved)"


def test_a_sweeps_number_stays_in_its_panel_title():
    """The panels of one file's sweeps, "#0", "#16", "#21": the "#" they share was cut as a
    common prefix and the front cut then took the number ("…, 16.03 h (unresolved)", an
    audit's fits.png). Short names keep their ends, and the suffix shrinks to "(unres.)" first."""
    from types import SimpleNamespace

    from eisfit.plotting import _common_ends, _panel_title, _text_extent_pt

    cps = [SimpleNamespace(label=f"#{k}", file=None) for k in (0, 16, 21)]
    ends = _common_ends([c.label for c in cps])
    assert ends == (0, 0)
    room = _text_extent_pt("#16, 16.03 h (unres.)", 8.0)[0] + 1.0
    assert _text_extent_pt("#16, 16.03 h (unresolved)", 8.0)[0] > room
    assert _panel_title(cps[1], " (R0, R1 unresolved)", room, 8.0, "16.03 h", False, ends) == "#16, 16.03 h (unres.)"
    assert _common_ends(["LiMg_0000h_PEIS.mpt", "LiMg_0100h_PEIS.mpt"]) == (5, 9)


def test_svg_keeps_its_texts_as_text(fit_result, tmp_path):
    """Texts saved as outlines could not be edited in Inkscape or Illustrator."""
    from eisfit.plotting import plot_fit, save_figure

    paths = save_figure(plot_fit(fit_result), tmp_path / "fit")
    svg = paths[1].read_text(encoding="utf-8")
    assert "<text" in svg and "Z'" in svg


def test_evolution_gap_markers_sit_on_the_x_axis():
    """A gap's grey marker at 3 % of the panel's height read as a low value on the trend."""
    spectra = headline_series([[12.0, 45.0, 2e-9, 0.92, 80 + 5 * k, 3e-6, 0.8] for k in range(6)], seed=3)
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, cache_dir=False, progress=False)
    ax = next(a for a in camp.plot_evolution().axes if a.get_title() == "R0")
    plus = next(line for line in ax.get_lines() if line.get_marker() == "P")
    assert np.all(np.asarray(plus.get_ydata()) == 0.0) and not plus.get_clip_on()


def test_two_arcs_of_comparable_height_get_no_inset_and_readable_apex_labels():
    """The headline spectrum's first arc is half as tall as the plot: an inset magnifying part
    of it hid the rising part of the second arc. Apex labels sit on white over the spines (the
    top spine ran through "3.59 MHz", which read "3.99")."""
    from eisfit.model import Circuit

    f = np.logspace(7, 2, 51)
    z = Circuit(HEADLINE).impedance(np.array([5.231, 18.07, 9.647e-9, 0.9244, 51.34, 1.331e-6, 0.8038]), f)
    res = eisfit.fit(Spectrum(f, z), HEADLINE)
    ax = eisfit.plotting.plot_nyquist(res)
    assert not ax.child_axes
    labels = [t for t in ax.texts if "Hz" in t.get_text()]
    assert len(labels) == 2 and all(t.get_bbox_patch() is not None for t in labels)
    assert all(t.get_fontsize() >= eisfit.plotting.SMALL_PT for t in labels)


@pytest.mark.parametrize("r_ohm,unit", [(2e7, "MΩ"), (5e4, "kΩ"), (0.05, "mΩ"), (80.0, "Ω")])
def test_nyquist_axes_take_an_si_prefix(r_ohm, unit):
    """A 20 MΩ arc read "1e7" above a matplotlib offset, 15 mΩ data "0.015"."""
    f = np.logspace(5, -2, 50)
    z = r_ohm / (1 + 1j * 2 * np.pi * f * 1e-3)
    ax = eisfit.plotting.plot_nyquist(Spectrum(f, z + r_ohm * 0.05))
    assert ax.get_xlabel() == f"Z' / {unit}"
    line = ax.get_lines()[0]
    assert 0.5 <= float(np.max(line.get_xdata())) < 10000


def test_spectra_drawn_into_one_axes_keep_the_first_prefix():
    """An 8 kΩ arc drawn after a 20 kΩ one read 8009.8 under "Z' / kΩ"."""
    f = np.logspace(5, -2, 40)
    ax = eisfit.plotting.plot_nyquist(Spectrum(f, 2e4 / (1 + 1j * 2 * np.pi * f * 1e-3) + 100))
    eisfit.plotting.plot_nyquist(Spectrum(f, 8e3 / (1 + 1j * 2 * np.pi * f * 1e-3) + 100), ax=ax)
    assert ax.get_xlabel() == "Z' / kΩ"
    assert max(float(np.max(line.get_xdata())) for line in ax.get_lines() if len(line.get_xdata())) < 25


def test_the_fit_figure_says_how_many_inductive_points_were_left_out():
    """Points the fit left out (Z'' > 0 at the top) are not in the result: the figure says so."""
    from eisfit.model import Circuit

    f = np.logspace(7, -1, 60)
    z = Circuit("L0-" + HEADLINE).impedance(np.array([2e-7, 20, 100, 1e-8, 0.9, 300, 1e-5, 0.85]), f)
    res = eisfit.fit(Spectrum(f, z), HEADLINE)
    n = next(fl.split(":")[1] for fl in res.flags if fl.startswith("dropped-inductive-points:"))
    assert f"{n} inductive high-frequency points left out (not shown)" in eisfit.plotting.plot_fit(res)._suptitle.get_text()


def test_a_crowded_evolution_panel_draws_smaller_markers_without_caps(big_camp):
    """200 full-size markers with caps were one clump: above 50 checkpoints they shrink."""
    fig = _many(big_camp, 3).plot_evolution()  # 90 checkpoints
    ax = fig.axes[0]
    points = next(line for line in ax.get_lines() if line.get_marker() == "o" and len(line.get_xdata()) > 50)
    assert points.get_markersize() < 4.0


def test_plot_fit_with_an_area_puts_every_impedance_panel_in_ohm_cm2(fit_result):
    """plot_fit(area_cm2=) had the Nyquist panel in Ω·cm² and the |Z| panel beside it in Ω."""
    fig = eisfit.plotting.plot_fit(fit_result, area_cm2=0.785)
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert any(lab.startswith("−Z'' / ") and "Ω·cm²" in lab for lab in labels)
    assert "|Z|·A / Ω·cm²" in labels


def test_write_stops_the_figure_workers_when_the_table_cannot_be_written(camp, tmp_path, monkeypatch):
    """CampaignResult.write starts the figures in forked workers and writes summary.csv while
    they draw: a disk error there reaches the caller (the CLI then saves the table elsewhere)
    with the workers ended, none left behind."""
    import multiprocessing
    from contextlib import contextmanager

    import eisfit.campaign.result as result_module

    @contextmanager
    def full_disk(path, *args, **kwargs):
        raise OSError(28, "No space left on device")
        yield  # pragma: no cover

    monkeypatch.setattr(result_module, "atomic_text_file", full_disk)
    with pytest.raises(OSError, match="No space left"):
        camp.write(tmp_path / "out")
    assert multiprocessing.active_children() == []
    assert P._pending_figures == {}


def test_area_nyquist_plots_keep_the_explanation_on_the_x_label_only():
    """On an equal-axes Nyquist plot in ohm*cm2 the y axis is often shorter than
    "−Z'' / Ω·cm² (Z·A, per cell)": the label was cut at both ends."""
    f = np.logspace(5, -1, 30)
    res = eisfit.fit(eisfit.Spectrum(f, 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-3)), circuit="R0-p(R1,C1)")
    ax = P.plot_nyquist(res, fit=res, area_cm2=0.785)
    assert ax.get_xlabel().endswith("(Z·A, per cell)") and ax.get_ylabel() == "−Z'' / Ω·cm²"
    plt.close(ax.figure)


def test_figures_in_ohm_cm2_without_an_area_are_drawn_in_ohm_with_a_warning(tmp_path):
    """--nyquist-asr on a campaign with no area had drawn every Nyquist figure empty
    (ohm*cm2 = Z x nan) with no word."""
    spectra = [_spectrum(r2=150.0 - 10 * k, seed=k, label=f"{k} h", time_h=float(k)) for k in range(3)]
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, starts=4, cache_dir=False, progress=False)
    assert camp.checkpoints_without_area() == ["0 h", "1 h", "2 h"]
    with pytest.warns(UserWarning, match=r"need the electrode area of every checkpoint; 3 have none .*drawn in ohm"):
        assert camp._area_normalisable(True) is False
    ax = camp.plot_nyquist(area_normalised=camp._area_normalisable(False))
    assert ax.get_xlabel() == "Z' / Ω" and len(ax.lines) >= 6 and np.isfinite(ax.lines[0].get_xdata()).all()


def test_a_temperature_series_is_coloured_and_drawn_in_celsius_as_its_headline_lines():
    """A temperature series was told in °C by the headline lines, drawn against K by the
    evolution figure and coloured by "checkpoint index" in the Nyquist overlay."""
    temps = [25.0, 40.0, 60.0]
    spectra = [_spectrum(r2=300.0 / (k + 1), seed=k, label=f"{t:g} C", temperature_C=t) for k, t in enumerate(temps)]
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, area_cm2=0.785, starts=4, cache_dir=False, progress=False)
    assert camp.evolution_axis() == "temperature_K"
    values, label = camp.colour_values()
    assert label == "temperature / °C" and values == pytest.approx(temps)
    fig = camp.plot_evolution()
    assert {ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()} == {"temperature / °C"}
    assert "25 °C" in " ".join(camp.evolution_lines())


def test_campaign_figures_name_checkpoints_on_the_evolution_axis(big_camp):
    """The residual map's rows and the DRT stack's curves carried the checkpoint labels (a
    one-file campaign: the whole path, cut and over the curves) and the map left every fifth
    of 25 labels out; they read as the headline lines do (``20 h``), at a regular step."""
    ax = big_camp.plot_residual_map()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:3] == ["0 h", "20 h", "40 h"] and len(labels) == 15


# ---- paper-ready fit figures: Nyquist limits, apex labels, ohm*cm2, empty evolution panels ----

def _tail_fit():
    """Two small arcs and a blocking tail (as exampleDataGamry.DTA: -Z'' range ~0.45 of Z')."""
    f = np.logspace(5, -2, 57)
    circuit = "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"
    z = Circuit(circuit).impedance(np.array([20.0, 15.0, 1e-6, 0.9, 10.0, 1e-4, 0.85, 1e-3, 0.8]), f)
    return eisfit.fit(Spectrum(f, z, {"label": "tail"}), circuit=circuit)


def _equal_scales(ax) -> bool:
    box = ax.get_window_extent()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return abs((x1 - x0) / box.width / ((y1 - y0) / box.height) - 1.0) < 0.01


def test_the_fit_figures_nyquist_panel_starts_just_below_zero_with_equal_scales():
    """The Nyquist panel of plot_fit took its equal aspect by stretching −Z'' both ways:
    exampleDataGamry.DTA ran from −7.5 to 12.5 kΩ with the data at 0-7, the lower half empty
    (and its inset from −1.5 to 3). Both keep the same scale on both axes, −Z'' starts just
    below 0, and the data fill the panel across."""
    res = _tail_fit()
    fig = P.plot_fit(res)
    fig.canvas.draw()
    ax = fig.axes[0]
    for panel in (ax, *ax.child_axes):
        lo, hi = panel.get_ylim()
        assert -0.06 * (hi - lo) <= lo <= 0.0 and _equal_scales(panel), panel.get_ylim()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert np.ptp(res.z.real) > 0.85 * (x1 - x0) or float(np.max(-res.z.imag)) > 0.85 * (y1 - y0)
    assert x0 >= -0.06 * (x1 - x0)  # a Z' range stretched to the panel's shape stays right of 0


@pytest.mark.parametrize("draw", ["plot_fit", "plot_nyquist"])
def test_apex_labels_stay_inside_the_nyquist_axes(draw):
    """One arc: its apex is the highest point, and its label ("CPE1 159 Hz") sat across the
    top frame of plot_fit's Nyquist panel. Every apex label lies inside its axes (axes
    coordinates 0..1)."""
    f = np.logspace(6, -1, 50)
    z = Circuit("R0-p(R1,CPE1)").impedance(np.array([10.0, 100.0, 1e-5, 0.95]), f)
    res = eisfit.fit(Spectrum(f, z), circuit="R0-p(R1,CPE1)")
    made = getattr(P, draw)(res)
    fig = made if draw == "plot_fit" else made.figure
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t for t in ax.texts if "Hz" in t.get_text()]
    assert labels
    for label in labels:
        corners = ax.transAxes.inverted().transform(label.get_window_extent().get_points())
        assert np.all(corners >= 0.0) and np.all(corners <= 1.0), (label.get_text(), corners)


def test_fit_nyquist_asr_draws_the_fit_figure_in_ohm_cm2(tmp_path, monkeypatch):
    """`eisfit fit --area-cm2 A --plot` drew Ω only (`campaign --nyquist-asr` had Ω·cm²):
    `--nyquist-asr` puts the figure's impedance axes in Ω·cm²; without --area-cm2 it is a
    usage error."""
    from click.testing import CliRunner

    from eisfit.cli import main

    path = tmp_path / "s.csv"
    s = _spectrum()
    np.savetxt(path, np.c_[s.frequency, s.z.real, s.z.imag], delimiter=",", header="freq/Hz,Zre/Ohm,Zim/Ohm",
               comments="")
    drawn = []
    plot_fit = P.plot_fit
    monkeypatch.setattr(P, "plot_fit", lambda *a, **k: drawn.append(plot_fit(*a, **k)) or drawn[-1])
    out = CliRunner().invoke(main, ["fit", str(path), "--area-cm2", "0.5", "--plot", "--nyquist-asr",
                                    "--out", str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    assert "Ω·cm²" in drawn[0].axes[0].get_ylabel() and "Ω·cm²" in drawn[0].axes[0].get_xlabel()
    refused = CliRunner().invoke(main, ["fit", str(path), "--plot", "--nyquist-asr", "--out", str(tmp_path / "o2")])
    assert refused.exit_code == 2 and "--area-cm2" in refused.output


def test_an_evolution_panel_no_checkpoint_determines_says_so():
    """yadg's mb.mpr with an area: R0 is undetermined at every checkpoint, and its panel was
    an empty axis from −0.04 to 0.04 Ω·cm². The panel says so in words, without value ticks."""
    from conftest import realdata_path

    path = realdata_path("mpr", "dgbowl__yadg", "mb.mpr")
    camp = eisfit.fit_campaign([path], area_cm2=0.5, thickness_cm=0.05, cache_dir=False, progress=False)
    fig = camp.plot_evolution()
    fig.canvas.draw()
    ax = next(a for a in fig.axes if a.get_title().startswith("R0"))
    assert any("undetermined at every checkpoint" in t.get_text() for t in ax.texts)
    assert len(ax.get_yticks()) == 0


def _low_n_campaign():
    """Six checkpoints of R0-p(R1,CPE1)-p(R2,CPE2): the interface CPE's exponent falls from 0.85
    to 0.45 at the last three (a diffusion-like line, flagged low-n:CPE2)."""
    values = [[12.0, 45.0, 2e-9, 0.92, 80.0, 3e-6, 0.85]] * 3 + [[12.0, 45.0, 2e-9, 0.92, 300.0, 3e-3, 0.45]] * 3
    spectra = headline_series(values, seed=5, noise=0.002)
    return eisfit.fit_campaign(spectra, circuit=HEADLINE, area_cm2=0.5, cache_dir=False, progress=False)


def test_evolution_leaves_out_the_capacitance_of_a_low_n_cpe_and_the_table_keeps_it():
    """A C_eff read from a CPE flagged low-n (n < 0.6: closer to a diffusion line than a
    capacitance) is no point on its panel (a real sweep's n = 0.42 read 1.75 F/cm2 and squashed
    the 1e-8 F/cm2 points to zero): a gap marked on the axis, as an unresolved value; the table
    keeps the number, the flag in its row."""
    from eisfit.plotting import LOW_N_LABEL

    camp = _low_n_campaign()
    low = ["low-n:CPE2" in r.flags for r in camp.results]
    assert low == [False] * 3 + [True] * 3
    fig = camp.plot_evolution()
    fig.canvas.draw()
    ax = next(a for a in fig.axes if a.get_title().startswith("CPE2: C_eff per area"))
    line = next(l for l in ax.get_lines() if l.get_marker() == "o" and l.get_linestyle() == "-")
    np.testing.assert_array_equal(np.isnan(np.asarray(line.get_ydata(), float)), low)
    marks = [l for l in ax.get_lines() if l.get_marker() == "v"]
    assert len(marks) == 1 and len(marks[0].get_xdata()) == 3
    assert LOW_N_LABEL in [t.get_text() for t in ax.get_legend().get_texts()]
    table = camp.table
    assert np.isfinite(table["CPE2_ceff_F_per_cm2"]).all()
    assert all("low-n:CPE2" in f for f in table["flags"].iloc[3:])


def test_evolution_legends_lie_outside_the_panels_and_their_titles():
    """Each panel's legend sits between its box and its title: it covers no data point, and
    every title, legend and panel lies inside the figure."""
    camp = _low_n_campaign()
    fig = camp.plot_evolution()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    figure_box = fig.bbox
    for ax in (a for a in fig.axes if a.get_visible() and a.get_legend() is not None):
        legend = ax.get_legend().get_window_extent(renderer)
        box = ax.get_window_extent(renderer)
        title = ax.title.get_window_extent(renderer)
        assert legend.y0 >= box.y1 - 1, ax.get_title()  # above the data
        assert title.y0 >= legend.y1 - 1, ax.get_title()  # below the title
        for extent in (legend, title, box):
            assert figure_box.x0 <= extent.x0 and extent.x1 <= figure_box.x1 + 1, ax.get_title()
            assert extent.y1 <= figure_box.y1 + 1, ax.get_title()


def test_capacitance_panel_is_logarithmic_only_where_values_span_decades(camp):
    """C_eff of 10 nF to 1 uF per cm2 (two decades) on a log axis: on a linear one the early
    points lay on zero; a campaign whose capacitances change by 20 % keeps a linear axis."""
    values = [[12.0, 45.0, 2e-9, 0.92, 80.0, q, 0.9] for q in np.logspace(-8, -6, 5)]
    spread = eisfit.fit_campaign(headline_series(values, seed=2, noise=0.002), circuit=HEADLINE, area_cm2=0.5,
                                 cache_dir=False, progress=False)
    fig = spread.plot_evolution()
    ax = next(a for a in fig.axes if a.get_title().startswith("CPE2: C_eff"))
    assert ax.get_yscale() == "log"
    lo, hi = ax.get_ylim()
    line = next(l for l in ax.get_lines() if l.get_marker() == "o" and l.get_linestyle() == "-")
    y = np.asarray(line.get_ydata(), float)
    assert lo < np.nanmin(y) and np.nanmax(y) < hi
    narrow = camp.plot_evolution()
    assert all(a.get_yscale() == "linear" for a in narrow.axes if a.get_title().startswith("CPE"))


def _inductive_campaign():
    """Three checkpoints of L0-R0-p(R1,CPE1)-p(R2,CPE2), 1 MHz - 0.1 Hz, arcs of 10 and 8 ohm
    below a lead inductance whose tail reaches -Z'' = -25 ohm (4 uH at 1 MHz)."""
    f = np.logspace(6, -1, 50)
    circuit = Circuit("L0-R0-p(R1,CPE1)-p(R2,CPE2)")
    rng = np.random.default_rng(1)
    spectra = []
    for k in range(3):
        z = circuit.impedance(np.array([4e-6, 10.0 + k, 10.0, 1e-8, 0.9, 8.0, 1e-4, 0.85]), f)
        z = z * (1 + 0.002 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)))
        spectra.append(Spectrum(f, z, meta={"label": f"cell.mpr#{k}", "time_h": 10.0 * k}))
    return eisfit.fit_campaign(spectra, circuit="L0-R0-p(R1,CPE1)-p(R2,CPE2)", cache_dir=False, progress=False)


def test_campaign_nyquist_is_framed_on_the_arcs_below_a_deep_inductive_tail():
    """An inductive tail 5x deeper than the arcs are tall: the overlay's limits come from the
    capacitive points (the tail drawn, clipped, and said so in the title), so the arcs fill the
    panel's height."""
    camp = _inductive_campaign()
    ax = eisfit.plotting.plot_campaign_nyquist(camp)
    lo, hi = ax.get_ylim()
    tallest = max(float(np.max(-r.z.imag)) for r in camp.results)
    assert -0.1 * tallest < lo < 0 and tallest < hi < 1.2 * tallest
    assert "inductive tail" in ax.get_title() and "clipped" in ax.get_title()


def test_campaign_nyquist_names_a_deep_low_frequency_point_no_inductive_tail():
    """A spectrum failing Lin-KK with one noisy point far below the real axis at 0.02 Hz: the
    overlay still frames the arcs, but the title had called that point an "inductive tail";
    it says points below the real axis were clipped."""
    f = np.logspace(4, -1.7, 40)
    spectra = []
    for k in range(3):
        z = 0.25 + 0.1 / (1 + (2j * np.pi * f * 1e-3) ** 0.9) + 0.2 / (1 + (2j * np.pi * f * 1.0) ** 0.8)
        z[-1] = z[-1].real + 0.9j  # -Z'' = -0.9 ohm at the lowest frequency
        spectra.append(Spectrum(f, z, meta={"label": f"noisy#{k}", "time_h": float(k), "imag_sign": "negative"}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,CPE1)-p(R2,CPE2)", cache_dir=False, progress=False)
    title = eisfit.plotting.plot_campaign_nyquist(camp).get_title()
    assert "points below the real axis" in title and "clipped" in title and "inductive tail" not in title


def test_campaign_fit_titles_name_sweep_and_time_inside_the_figure_and_ticks_do_not_overlap():
    """Each fit panel's title is the checkpoint and its time ("cell.mpr#1, 10 h"), whole (not
    cut at its start) and inside the figure; neighbouring x tick labels do not overlap. (Sweeps
    read from one file: "#1, 10 h", the file named in the suptitle.)"""
    camp = _inductive_campaign()
    fig = camp.plot_fits()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["cell.mpr#0, 0 h", "cell.mpr#1, 10 h", "cell.mpr#2, 20 h"]
    for ax in panels:
        title = ax.title.get_window_extent(renderer)
        assert fig.bbox.x0 <= title.x0 and title.x1 <= fig.bbox.x1 and title.y1 <= fig.bbox.y1
        labels = sorted((t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()),
                        key=lambda b: b.x0)
        assert all(a.x1 <= b.x0 for a, b in zip(labels, labels[1:])), ax.get_title()


# ---- audit of the figures (s43): area check, fit title and apexes, inset, units, legends ----

@pytest.mark.parametrize("area", [-2.0, 0, "1", float("nan")])
def test_plots_refuse_an_impossible_area_as_fit_does(fit_result, area):
    """plot_fit(r, area_cm2=-2) drew the Nyquist plot mirrored into the third quadrant, 0 drew
    ohm without a word, "1" raised a bare TypeError: each is now fit()'s FitError, word for word."""
    from eisfit.errors import FitError

    with pytest.raises(FitError) as refused_by_fit:
        eisfit.fit(_spectrum(), HEADLINE, area_cm2=area)
    draws = [lambda: P.plot_nyquist(fit_result, area_cm2=area), lambda: P.plot_fit(fit_result, area_cm2=area),
             lambda: P._draw_bode(*plt.subplots(2)[1], fit_result, fit_result, area)]
    for draw in draws:
        with pytest.raises(FitError) as refused:
            draw()
        assert str(refused.value) == str(refused_by_fit.value)
    assert P.plot_nyquist(fit_result, area_cm2=None).get_xlabel() == "Z' / Ω"  # None: ohm


def _apex_label_texts(ax) -> list:
    return [t for t in ax.texts if t.get_gid() == P._APEX_LABEL_GID]


def _inductive_arcs_fit():
    """The audit's case: one 150 Ω arc read as two by R0-p(R1,CPE1)-p(R2,CPE2) (an inductive
    spectrum, 10 MHz-100 Hz, whose 14 points with Z'' > 0 are left out): R1 and R2 ± 280 Ω."""
    f = np.logspace(7, 2, 51)
    z = Circuit("L0-" + HEADLINE).impedance(np.array([1.5e-6, 40.0, 60.0, 1e-9, 0.9, 149.0, 2e-6, 0.85]), f)
    rng = np.random.default_rng(0)
    z = z + 0.005 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
    return eisfit.fit(Spectrum(f, z, {"label": "inductive"}), "garnet-symmetric")


def test_the_fit_figure_names_its_cautions_and_greys_the_apexes_of_undetermined_arcs():
    """Two undetermined arc resistances (large-stderr), arcs-unresolved and a misfit under a
    title reading "no problem flags", and both apexes labelled as two processes: the title now
    names every problem and caution flag (merged per name, broken to the figure's width), and
    the apexes of arcs the flags leave undetermined are open grey markers without a label,
    named in the legend."""
    from eisfit.fitting.flags import by_severity, flag_name

    res = _inductive_arcs_fit()
    assert {"large-stderr:R1", "large-stderr:R2", "arcs-unresolved:CPE1,CPE2"} <= set(res.flags)
    assert any(f.startswith("misfit:") for f in res.flags)
    fig = P.plot_fit(res)
    title = fig._suptitle.get_text()
    assert "no problem" not in title
    shown = by_severity(res.flags)
    for flag in shown["problem"] + shown["caution"]:
        assert flag_name(flag) + ":" in title or flag in title, flag
    assert "large-stderr:R1," in title and "arcs-unresolved:CPE1,CPE2" in title
    fig.canvas.draw()
    extent = fig._suptitle.get_window_extent()
    assert fig.bbox.x0 <= extent.x0 and extent.x1 <= fig.bbox.x1 and extent.y1 <= fig.bbox.y1  # not cut
    ax = fig.axes[0]
    assert _apex_label_texts(ax) == []
    grey = [line for line in ax.get_lines() if line.get_marker() == "^" and len(line.get_xdata())]
    assert len(grey) == 2 and all(line.get_markerfacecolor() == "none" for line in grey)
    assert P.UNDETERMINED_APEX_LABEL in [t.get_text() for t in ax.get_legend().get_texts()]


def test_a_flag_naming_many_keys_is_broken_at_its_commas_inside_the_figure(fit_result):
    """A flag whose detail names many keys (``unresolved:R1,R2,CPE1_tau_s,...``: no ", " to break
    at) had run off both edges of the fit figure's title; it is broken after its commas, every
    key still named, the title inside the figure."""
    keys = ["R1", "R2", "CPE1_tau_s", "CPE1_fapex_Hz", "CPE1_ceff_F", "CPE1_ceff_brug_F", "CPE2_tau_s",
            "CPE2_fapex_Hz", "CPE2_ceff_F", "CPE2_ceff_brug_F", "CPE2_ceff_F_per_cm2", "sigma_total_S_per_cm"]
    res = eisfit.fitting.result.FitResult.with_fields(fit_result, flags=[f"unresolved:{','.join(keys)}"])
    fig = P.plot_fit(res)
    title = fig._suptitle.get_text()
    assert title.replace("\n", "").endswith("unresolved:" + ",".join(keys))
    fig.canvas.draw()
    extent = fig._suptitle.get_window_extent()
    assert fig.bbox.x0 <= extent.x0 and extent.x1 <= fig.bbox.x1 and extent.y1 <= fig.bbox.y1  # not cut


def test_a_clean_fit_figure_says_it_has_no_flags_and_labels_its_apexes(fit_result):
    flags_free = eisfit.fitting.result.FitResult.with_fields(fit_result, flags=[])
    fig = P.plot_fit(flags_free)
    assert fig._suptitle.get_text().endswith("no problem or caution flags")
    assert [t.get_text().split("\n")[0] for t in _apex_label_texts(fig.axes[0])] == ["CPE2"]  # CPE1's above f_max


def test_apex_labels_at_one_point_merge_and_close_ones_are_raised_clear(fit_result):
    """Two apexes at 3.07 Hz: "CPE2 3.07 Hz" was drawn over "CPE1 3.07 Hz" (raised 14 pt for a
    label 20 pt tall). One label now names both; two close apexes keep two labels that do
    not overlap."""
    f0 = 2.0e3
    derived = {**fit_result.derived, "CPE1_fapex_Hz": f0, "CPE2_fapex_Hz": f0, "CPE1_fapex_Hz_stderr": 10.0}
    same = fit_result.with_fields(derived=derived, flags=[])
    labels = _apex_label_texts(P.plot_nyquist(same))
    assert [t.get_text() for t in labels] == ["CPE1, CPE2\n2 kHz"]
    for factor in (1.15, 1.4):
        close = fit_result.with_fields(derived={**derived, "CPE2_fapex_Hz": f0 * factor}, flags=[])
        for made in (P.plot_fit(close), P.plot_nyquist(close).figure):
            made.canvas.draw()
            boxes = [t.get_window_extent() for t in _apex_label_texts(made.axes[0])]
            assert len(boxes) == 2
            assert not boxes[0].overlaps(boxes[1]), (factor, boxes)


def test_the_nyquist_inset_shows_the_first_arc_whole_with_readable_ticks():
    """R0 = 100 Ω, a 1 kΩ arc at 1.6 MHz, a 1 MΩ arc: the inset (|Z| <= 3 x the smallest)
    showed Z' 0.1-0.3 kΩ of an arc spanning 0.1-1.1 kΩ, its tick labels reading "0.20.3"; it
    now ends where the first arc does (the valley of −Z'' before the second)."""
    f = np.logspace(7, -2, 91)
    z = Circuit(HEADLINE).impedance(np.array([100.0, 1e3, 1e-10, 1.0, 1e6, 1e-6, 0.9]), f)
    rng = np.random.default_rng(0)
    z = z + 0.005 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
    res = eisfit.fit(Spectrum(f, z), HEADLINE)
    # and 123 Ω, an arc of 46 Ω (its apex above f_max) and 10 kΩ: inset tick labels "0.150.200.25"
    small = Circuit(HEADLINE).impedance(np.array([123.4, 45.6, 1e-10, 1.0, 1e4, 1e-6, 0.9]), f)
    for ax, first_arc in ((P.plot_nyquist(Spectrum(f, z)), (0.1, 1.1, 0.5)), (P.plot_nyquist(res), (0.1, 1.1, 0.5)),
                          (P.plot_fit(res).axes[0], (0.1, 1.1, 0.5)),
                          (P.plot_nyquist(Spectrum(f, small)), None)):
        ax.figure.canvas.draw()
        (inset,) = ax.child_axes
        (x0, x1), (y0, y1) = inset.get_xlim(), inset.get_ylim()  # kΩ
        if first_arc is not None:
            start, end, height = first_arc
            assert x0 < start * 1.02 and end * 0.98 < x1 < 5 * end and y1 > height, (x0, x1, y1)  # whole, magnified
        for axis, labels in ((0, inset.get_xticklabels()), (1, inset.get_yticklabels())):
            lo, hi = (x0, x1) if axis == 0 else (y0, y1)
            shown = [t.get_window_extent() for t in labels
                     if t.get_visible() and t.get_text() and lo <= t.get_position()[axis] <= hi]
            assert shown and all(not a.overlaps(b) for a, b in zip(shown, shown[1:])), \
                [t.get_text() for t in labels]


def _noisy(circuit: str, values, f, seed: int = 0):
    z = Circuit(circuit).impedance(np.array(values, float), f)
    rng = np.random.default_rng(seed)
    return Spectrum(f, z + 0.005 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)))


def test_the_drt_figure_reads_in_prefixed_units_with_no_offset_text_and_its_legend_inside():
    """A 100 MΩ spectrum's γ axis read 0-6 under a "1e7" offset text, a 1 MΩ one's "700000";
    peak labels "1.2e+06 Ω", and the two-column legend ran out of the figure ("…off scal")."""
    f = np.logspace(7, -2, 91)
    huge = eisfit.drt(_noisy(HEADLINE, [1e4, 1e5, 1e-12, 1.0, 1e8, 1e-8, 0.9], f))
    ax = P.plot_drt(huge)
    ax.figure.canvas.draw()
    assert ax.get_ylabel() == "γ / MΩ" and ax.yaxis.get_offset_text().get_text() == ""
    assert all(float(t.get_text().replace("−", "-")) < 1000 for t in ax.get_yticklabels() if t.get_text())
    texts = [t.get_text() for t in ax.texts] + [ax.get_title()]
    assert not any("e+" in t for t in texts), texts
    assert any(t.split("\n")[0].endswith(" MΩ") for t in ax.texts for t in [t.get_text()])
    assert "R_pol 1" in ax.get_title() and "MΩ" in ax.get_title()
    spectrum = _noisy(HEADLINE, [100.0, 1e3, 1e-10, 1.0, 1e6, 1e-6, 0.9], f)
    res = eisfit.fit(spectrum, HEADLINE)
    # a strong lambda: its smooth DRT peaks far below the fit's ideal RC, which goes off scale
    ax = P.plot_drt(eisfit.drt(spectrum, lambda_=10.0), fit=res)
    fig = ax.figure
    fig.canvas.draw()
    assert ax.get_ylabel() == "γ / kΩ"
    legend = ax.get_legend()
    entries = [t.get_text() for t in legend.get_texts()]
    assert any("off scale" in t and "MΩ" in t and "e+" not in t for t in entries), entries
    box = legend.get_window_extent()
    assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and box.x1 <= ax.get_window_extent().x1 + 1
    # the fit figure's |Z| panel in the Nyquist panel's unit (kΩ beside kΩ; kΩ·cm² beside kΩ·cm²)
    for area, unit in ((None, "kΩ"), (0.785, "kΩ·cm²")):
        labels = [a.get_ylabel() for a in P.plot_fit(res, area_cm2=area).axes]
        assert labels[0].startswith(f"−Z'' / {unit}") and labels[1] in (f"|Z| / {unit}", f"|Z|·A / {unit}"), labels


def _legend_above_its_axes(ax) -> bool:
    ax.figure.canvas.draw()
    legend, box = ax.get_legend().get_window_extent(), ax.get_window_extent()
    return legend.y0 >= box.y1 - 1 and ax.title.get_window_extent().y0 >= legend.y1 - 1


def test_residual_legends_lie_above_the_axes_and_the_kk_plot_draws_both_limits(fit_result):
    """The Lin-KK plot's legend (loc="best") sat on the points, its "±1 %" swatch grey on the
    grey band; only ±threshold_pct was drawn, so a spectrum "passed" with points outside the
    band (the rule's violation_pct and status were nowhere). The fit residuals' legend covered
    a point too."""
    from matplotlib.patches import Patch

    spectrum = _noisy(HEADLINE, list(TRUE.values()), F)
    kk = eisfit.kk_test(spectrum)
    ax = P.plot_kk_residuals(kk)
    assert _legend_above_its_axes(ax)
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert sorted(float(line.get_ydata()[0]) for line in dashed) == [-kk.violation_pct, kk.violation_pct]
    lo, hi = ax.get_ylim()
    assert lo < -kk.violation_pct and hi > kk.violation_pct
    assert f"({kk.status})" in ax.get_title() and ("passed" if kk.passed else "FAILED") in ax.get_title()
    legend = ax.get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert f"±{kk.threshold_pct:g} %: pass" in labels and f"±{kk.violation_pct:g} %: violation" in labels
    (band,) = [h for h in legend.legend_handles if isinstance(h, Patch)]
    assert matplotlib.colors.to_rgba(band.get_edgecolor()) != matplotlib.colors.to_rgba(band.get_facecolor())
    assert _legend_above_its_axes(P.plot_fit_residuals(fit_result))
    fig = P.plot_fit(fit_result)
    residuals = next(a for a in fig.axes if a.get_ylabel().startswith("residual"))
    assert _legend_above_its_axes(residuals)


def _sweeps_of_one_file(n: int = 5, long_name: bool = False):
    """``n`` sweeps of one file /data/.../<name>.mpr (labels ``<name>.mpr#k``, as the readers
    make them) with an inductive tail 5x deeper than the arcs (the VSP PEIS file's shape),
    every fit flagged not-converged (a red "(problem)" in each title)."""
    import dataclasses

    f = np.logspace(6, -1, 50)
    circuit = Circuit("L0-R0-p(R1,CPE1)-p(R2,CPE2)")
    name = "vsp_peis_with_a_rather_long_file_name.mpr" if long_name else "vsp_peis_with.mpr"
    path = f"/data/2026/cell_07/{name}"
    rng = np.random.default_rng(1)
    spectra = []
    for k in range(n):
        z = circuit.impedance(np.array([4e-6, 10.0 + k, 10.0, 1e-8, 0.9, 8.0, 1e-4, 0.85]), f)
        z = z * (1 + 0.002 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)))
        spectra.append(Spectrum(f, z, meta={"label": f"{name}#{k}", "time_h": 10.125 * k}))
    camp = eisfit.fit_campaign(spectra, circuit="L0-R0-p(R1,CPE1)-p(R2,CPE2)", cache_dir=False, progress=False)
    camp.checkpoints[:] = [dataclasses.replace(c, file=path) for c in camp.checkpoints]
    camp.results[:] = [r.with_fields(flags=[*r.flags, "not-converged"]) for r in camp.results]
    return camp


def test_fits_panels_of_one_files_sweeps_drop_its_name_frame_the_arcs_and_keep_titles_in_the_figure():
    """yadg's VSP file: every panel title read "…_with.mpr#5, 50.63 h (problem)" (the label
    was compared with the file's whole path), the right column's titles ran off the figure
    (sized from a grid cell, not the placed box), and each panel was framed on the inductive
    tail (arcs squeezed flat) where the overlay clips it. Now "#5, 50.63 h (problem)", the file
    named once in the suptitle, the tail clipped and said so, every title inside the figure
    and clear of its neighbours."""
    for long_name in (False, True):
        camp = _sweeps_of_one_file(long_name=long_name)
        fig = camp.plot_fits()
        fig.canvas.draw()
        panels = [ax for ax in fig.axes if ax.get_visible()]
        titles = [ax.get_title() for ax in panels]
        assert titles[:2] == ["#0, 0 h (problem)", "#1, 10.12 h (problem)"], titles
        assert all(t.startswith(f"#{k}, ") and t.endswith(" h (problem)") for k, t in enumerate(titles)), titles
        assert "vsp_peis_with" in fig.get_suptitle() and "inductive tails clipped" in fig.get_suptitle()
        for ax, r in zip(panels, camp.results):
            lo, hi = ax.get_ylim()
            tallest = float(np.max(-r.z.imag))
            assert -0.1 * tallest < lo < 0 and tallest < hi < 1.2 * tallest
        boxes = [ax.title.get_window_extent() for ax in panels]
        for box in boxes:
            assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and box.y1 <= fig.bbox.y1
        for left, right in zip(boxes, boxes[1:]):
            if abs(left.y0 - right.y0) < 1:
                assert left.x1 <= right.x0


def test_panel_titles_of_long_labels_fit_the_room_around_their_placed_box():
    """Labels that are no file names, too long for a quarter of the figure: each title is cut
    at the front to the room around its placed box (the right column's had run off the figure)."""
    import dataclasses

    camp = _sweeps_of_one_file()
    long = "a_checkpoint_label_much_longer_than_a_panel_is_wide_from_a_campaign_file"
    camp.checkpoints[:] = [dataclasses.replace(c, file=None, label=f"{long}_{k}") for k, c in
                           enumerate(camp.checkpoints)]
    fig = camp.plot_fits()
    fig.canvas.draw()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert all(ax.get_title().startswith("…") and ax.get_title().endswith("(problem)") for ax in panels)
    boxes = [ax.title.get_window_extent() for ax in panels]
    assert all(fig.bbox.x0 <= b.x0 and b.x1 <= fig.bbox.x1 for b in boxes), [(b.x0, b.x1) for b in boxes]
    for left, right in zip(boxes, boxes[1:]):
        if abs(left.y0 - right.y0) < 1:
            assert left.x1 <= right.x0


def test_plotting_functions_annotate_their_parameters_and_returns():
    """eisfit ships py.typed, yet every plot_* function lacked parameter and return hints. Each
    public plotting function annotates every parameter and its return, and the annotations name
    real types (evaluated with the names the module imports for type checking)."""
    import inspect
    import typing
    from pathlib import Path

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

    from eisfit.analysis.drt import DRTResult
    from eisfit.analysis.kk import KKResult
    from eisfit.fitting.result import FitResult

    names = [n for n in dir(P) if n.startswith("plot_")] + ["save_figure", "save_figures", "start_figures",
                                                             "keep_apex_labels_inside"]
    namespace = {**vars(P), "Axes": Axes, "Figure": Figure, "SubFigure": SubFigure, "Path": Path,
                 "DRTResult": DRTResult, "KKResult": KKResult, "FitResult": FitResult, "Spectrum": Spectrum}
    assert len(names) >= 18
    for name in names:
        function = getattr(P, name)
        signature = inspect.signature(function)
        missing = [p for p, v in signature.parameters.items() if v.annotation is inspect.Parameter.empty]
        assert not missing and signature.return_annotation is not inspect.Signature.empty, (name, missing)
        hints = typing.get_type_hints(function, globalns=namespace)
        assert set(hints) == set(signature.parameters) | {"return"}, name
    assert typing.get_type_hints(P.plot_fit, globalns=namespace)["return"] == Figure | SubFigure
    assert typing.get_type_hints(P.plot_nyquist, globalns=namespace)["return"] is Axes


@pytest.mark.parametrize("hours", ["0500", "1000"])
def test_the_drt_figure_calls_the_fit_peak_off_scale_only_when_it_is_above_the_axis(hours):
    """The sample's 500 h and 1000 h DRT figures called the circuit fit's peak (81-84 ohm) "off
    scale" on an axis reaching 141-155 ohm: the room made above the data's peak for the labels
    and the legend had brought it into view. The legend says so only where the peak lies above
    the axis (a near-ideal arc's spike, as the other test's MΩ one)."""
    spectrum = eisfit.read(SAMPLE / "csv" / f"LiMg_LLZTO_{hours}h_PEIS_C01.csv")[0]
    fit = eisfit.fit(spectrum, HEADLINE)
    ax = P.plot_drt(eisfit.drt(spectrum), fit=fit)
    line = next(l for l in ax.get_lines() if l.get_linestyle() == "--" and len(l.get_xdata()))
    entries = [" ".join(t.get_text().split()) for t in ax.get_legend().get_texts()]
    peak = float(np.nanmax(line.get_ydata()))
    assert peak <= ax.get_ylim()[1]
    assert not any("off scale" in e for e in entries), entries
    assert line.get_label() in entries
    plt.close(ax.figure)


def test_evolution_numbers_read_in_blocks_are_those_read_at_once(big_camp, monkeypatch):
    """The evolution panels' points are turned into arrays a block at a time (memory): with
    blocks of 4 points, a campaign of 30 checkpoints, one unfitted, in two cells, gives the
    arrays, dtypes included, that one block of every point gives."""
    import dataclasses

    results = list(big_camp.results)
    results[7] = None
    checkpoints = [dataclasses.replace(c, cell="A" if k % 3 else "B") for k, c in enumerate(big_camp.checkpoints)]
    two_cells = dataclasses.replace(big_camp, results=results, checkpoints=checkpoints)

    def panels(block: int):
        monkeypatch.setattr(P._PointColumns, "BLOCK", block)
        return [panel.series for row in P.campaign_evolution(two_cells).rows for panel in row]

    whole, blocked = panels(10_000), panels(4)
    assert len(whole) == len(blocked) > 0
    for a, b in zip(whole, blocked):
        assert a.cell is not None and len(a.x) == 30 and bool(a.not_fitted[7])
        for name in a._fields:
            u, v = getattr(a, name), getattr(b, name)
            assert u.dtype == v.dtype and np.array_equal(u, v, equal_nan=u.dtype.kind == "f"), name


def test_evolution_panels_of_megaohm_resistances_take_a_prefix_not_an_offset():
    """A semiconductor's 1 MOhm arc had its evolution panel labelled "R / Ω" under a
    matplotlib offset "1e6" that ran into the legend: kΩ now (numbers of 1-9999, as the
    Nyquist axes)."""
    f_hz = np.logspace(5, -2, 36)
    spectra = [eisfit.Spectrum(f_hz, 30.0 + r_ohm / (1 + 2j * np.pi * f_hz * r_ohm * 1e-9), meta={"time_h": t_h})
               for t_h, r_ohm in ((0.0, 1.0e6), (1.0, 1.4e6), (2.0, 2.1e6))]
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,C1)", cache_dir=False, progress=False)
    fig = camp.plot_evolution()
    fig.canvas.draw()
    r1 = next(ax for ax in fig.axes if ax.get_title().startswith("R1"))
    assert r1.get_ylabel() == "R / kΩ" and r1.yaxis.get_offset_text().get_text() == ""
    assert 900 < r1.get_ylim()[0] < r1.get_ylim()[1] < 2300


def test_an_apex_the_flags_make_undetermined_is_no_labelled_process(fit_result):
    """The summary had called CPE2_fapex_Hz undetermined (multimodal) while plot_fit drew its
    apex as a determined one, labelled "CPE2 985 Hz"; the same for an arc's R read
    undetermined by split-undetermined."""
    def labels(res) -> list[str]:
        return [t.get_text() for t in _apex_label_texts(P.plot_fit(res).axes[0])]

    assert any("CPE2" in text for text in labels(fit_result))
    for flag in ("multimodal:CPE2_0", "split-undetermined:R2"):
        res = eisfit.fitting.result.FitResult.with_fields(fit_result, flags=[*fit_result.flags, flag])
        assert "CPE2" in P._apexes_not_distinct(res) and "CPE2" not in P._apexes_not_distinct(fit_result)
        assert not any("CPE2" in text for text in labels(res))


def test_evolution_panels_of_resistances_spanning_decades_are_drawn_on_a_log_scale():
    """A temperature series' interface ASR from 775 to 5.4 ohm*cm2 was drawn on a linear axis:
    the hot points lay on zero (capacitances had switched to log above 1.5 decades already)."""
    f_hz = np.logspace(6, -1, 36)
    spectra = [eisfit.Spectrum(f_hz, 10.0 + r_ohm / (1 + 2j * np.pi * f_hz * r_ohm * 1e-6), meta={"time_h": t_h})
               for t_h, r_ohm in ((0.0, 1e4), (1.0, 800.0), (2.0, 30.0))]
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,C1)", cache_dir=False, progress=False)
    axes = {ax.get_title(): ax for ax in camp.plot_evolution().axes}
    r1 = next(ax for title, ax in axes.items() if title.startswith("R1"))
    r0 = next(ax for title, ax in axes.items() if title.startswith("R0"))
    assert r1.get_yscale() == "log" and r0.get_yscale() == "linear"


def test_a_problem_panel_keeps_its_sweep_number():
    """geis.mpr's sweeps #22, #47, #60 with a problem flag had read "…2, 0.3042 h (problem)", "…7",
    "…0": the front cut took the number. "(problem)" gives way to "(prob.)", then the place on
    the axis goes before the number does."""
    from types import SimpleNamespace

    from eisfit.plotting import _panel_title, _text_extent_pt

    cp = SimpleNamespace(label="#22", file=None)
    room = _text_extent_pt("#22, 0.3042 h (prob.)", 8.0)[0] + 1.0
    assert _panel_title(cp, " (problem)", room, 8.0, "0.3042 h") == "#22, 0.3042 h (prob.)"
    room = _text_extent_pt("#22 (prob.)", 8.0)[0] + 1.0
    assert _panel_title(cp, " (problem)", room, 8.0, "0.3042 h") == "#22 (prob.)"
    assert _panel_title(cp, " (problem)", 400.0, 8.0, "0.3042 h") == "#22, 0.3042 h (problem)"


def test_an_arrhenius_legend_of_a_two_point_line_says_it_has_no_stderr():
    """A line through 2 points had read "Ea = 0.6821 eV" in the legend, as a measurement beside
    those with a stderr: it reads "Ea = 0.68 eV (2 points: no stderr)"."""
    from eisfit.plotting import _arrhenius_legend

    row = {"resistance": "R1", "quantity": "sigma", "ea_eV": 0.68214, "ea_stderr_eV": float("nan"), "n_points": 2,
           "ea_source": "line", "barely_temperature_dependent": False, "cell": None}
    text = _arrhenius_legend(row)
    assert "Ea = 0.68 eV (2 points: no stderr)" in text, text
    measured = _arrhenius_legend({**row, "ea_stderr_eV": 0.0123, "n_points": 5})
    assert "Ea = 0.6821 ± 0.012 eV" in measured and "no stderr" not in measured


def test_the_gap_marks_of_two_cells_are_told_apart():
    """Two cells unresolved at the same time had drawn their gap marks on one another, in one
    grey: each cell's now in its colour, in a row of its own above the axis."""
    x = np.tile(np.arange(5, dtype=float), 2)
    cell = np.repeat([0, 1], 5)
    none = np.zeros(10, bool)
    gaps = np.isin(np.arange(10), [2, 7])
    values = np.where(gaps, np.nan, 100.0 - x)
    series = P.EvolutionSeries(x, values, np.full(10, 1.0), none, gaps, *(none for _ in range(4)), None, cell)
    fig, ax = plt.subplots()
    P._draw_evolution_panel(ax, P.EvolutionPanel("R2", "R2", "ohm", series, ("", 0, 10)), cells=("A", "B"))
    marks = [line for line in ax.get_lines() if line.get_marker() == "X" and len(line.get_xdata())]
    assert sorted(line.get_color() for line in marks) == ["C0", "C1"]
    fig.canvas.draw()
    heights = sorted(line.get_transform().transform((2.0, 0.0))[1] for line in marks)
    assert heights[1] - heights[0] == pytest.approx(P.GAP_ROW_PT * fig.dpi / 72.0)
    assert [line.get_label() for line in ax.get_lines() if line.get_marker() == "X"].count("unresolved") == 1
    plt.close(fig)
