"""Figures say what the text says and stay readable: extrapolated values marked, cells told
apart, legends and insets inside the figure and off the data, panel sizes fitted to their
content (the defects of the figure review of session 66)."""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import matplotlib
import matplotlib.colors
import matplotlib.pyplot as plt
import numpy as np
import pytest

import eisfit
import eisfit.plotting as P
from eisfit import Spectrum
from eisfit.model import Circuit

from conftest import headline_series

HEADLINE = "R0-p(R1,CPE1)-p(R2,CPE2)"
EXTRAPOLATED = "extrapolated (arc apex at or beyond the end of the data)"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")




def _panel(fig, start: str):
    return next(a for a in fig.axes if a.get_visible() and a.get_title().startswith(start))


def test_evolution_draws_extrapolated_resistances_as_open_markers_named_in_the_legend():
    """A resistance whose arc's apex lies outside the measured range (``fapex-outside-range:CPE2``)
    is extrapolated, as the headline lines say ("extrapolated at N of M"): its point is an open
    (white) marker, named in the panel's legend; the other points and panels stay filled."""
    spectra = headline_series([[12.0, 45.0, 2e-7, 0.92, 80 + 20 * k, 3e-5, 0.8] for k in range(3)], seed=4)
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, cache_dir=False, progress=False)
    camp.results[1] = dataclasses.replace(camp.results[1], flags=[*camp.results[1].flags, "fapex-outside-range:CPE2"])
    assert "extrapolated at 1 of 3" in " ".join(camp.evolution_lines())
    fig = camp.plot_evolution()
    r2 = _panel(fig, "R2")
    open_marks = [line for line in r2.get_lines() if line.get_label() == EXTRAPOLATED]
    assert len(open_marks) == 1 and list(open_marks[0].get_xdata()) == [1.0]
    assert matplotlib.colors.to_rgba(open_marks[0].get_markerfacecolor()) == (1.0, 1.0, 1.0, 1.0)
    assert EXTRAPOLATED in [t.get_text() for t in r2.get_legend().get_texts()]
    r1 = _panel(fig, "R1")
    assert not [line for line in r1.get_lines() if line.get_label() == EXTRAPOLATED]
    # the arc's capacitance too (a 0.64 F C_eff of an arc a decade below f_min had been a plain point)
    c2 = _panel(fig, "CPE2: C_eff")
    open_marks = [line for line in c2.get_lines() if line.get_label() == EXTRAPOLATED]
    assert len(open_marks) == 1 and list(open_marks[0].get_xdata()) == [1.0]
    assert not [line for line in _panel(fig, "CPE1: C_eff").get_lines() if line.get_label() == EXTRAPOLATED]


@pytest.fixture(scope="module")
def two_cells():
    """A temperature campaign of two cells (R1 on Ea 0.35 and 0.50 eV), six temperatures each."""
    k_b = 8.617333262e-5
    t_c = np.array([-20.0, 0.0, 20.0, 40.0, 60.0, 80.0])
    t_k = t_c + 273.15
    circuit = Circuit(HEADLINE)
    f = np.logspace(7, -1, 57)
    spectra = []
    for cell, ea in (("A", 0.35), ("B", 0.50)):
        r1 = 100.0 * np.exp(ea / k_b * (1 / t_k - 1 / 298.15)) * t_k / 298.15
        for k, (t, r) in enumerate(zip(t_c, r1)):
            z = circuit.impedance([5.0, r, 1e-9 * (100.0 / r), 0.9, 300.0, 1e-5, 0.85], f)
            spectra.append(Spectrum(f, z, meta={"label": f"{cell}{k}", "temperature_C": float(t), "cell": cell}))
    return eisfit.fit_campaign(spectra, circuit=HEADLINE, area_cm2=0.785, thickness_cm=0.03, cache_dir=False,
                               progress=False)


def _inside_figure(fig, artist) -> bool:
    fig.canvas.draw()
    box, frame = artist.get_window_extent(), fig.bbox
    return box.x0 >= frame.x0 - 0.5 and box.x1 <= frame.x1 + 0.5 and box.y0 >= frame.y0 - 0.5 and box.y1 <= frame.y1 + 0.5


def test_evolution_of_two_cells_draws_each_cell_apart_and_names_it(two_cells):
    """Each cell's points in a marker and colour of its own, its line through its own six
    temperatures (one line had zigzagged from cell A at 80 °C back to cell B at -20 °C), the
    cell named in the panel's legend."""
    fig = two_cells.plot_evolution()
    ax = _panel(fig, "R2")
    series = [line for line in ax.get_lines() if len(line.get_xdata()) == 6 and line.get_linestyle() == "-"]
    assert len(series) == 2
    assert series[0].get_marker() != series[1].get_marker() and series[0].get_color() != series[1].get_color()
    assert sorted(series[0].get_xdata()) == sorted(series[1].get_xdata()) == [-20.0, 0.0, 20.0, 40.0, 60.0, 80.0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("cell A") for t in texts) and any(t.startswith("cell B") for t in texts)
    assert _inside_figure(fig, ax.get_legend())


def test_arrhenius_of_two_cells_draws_each_cells_points_apart_with_its_legend_inside_the_figure(two_cells):
    """Each row of the Arrhenius table (one per cell and resistance) draws its own cell's
    points (the plot had drawn every cell's points for each row, in the row's colour), cells
    told apart by the markers' fill, the legend naming each cell inside the figure (its long
    entries had run off the right edge)."""
    ax = two_cells.plot_arrhenius(["R1"])
    fig = ax.figure
    points = [line for line in ax.get_lines() if line.get_marker() == "o" and line.get_linestyle() == "None"
              and line.get_markersize() == 5]  # not the rings round extrapolated points (R1's apex ~9 MHz)
    assert sorted(len(line.get_xdata()) for line in points) == [6, 6]
    assert {line.get_fillstyle() for line in points} == {"full", "none"}
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("of cell A" in t for t in texts) and any("of cell B" in t for t in texts)
    assert _inside_figure(fig, ax.get_legend())
    full = two_cells.plot_arrhenius()  # every resistance, on two axes
    assert _inside_figure(full.figure, full.get_legend())


def test_arrhenius_rings_the_points_whose_arc_peaks_above_the_data():
    """A pellet's bulk arc (C ~ 0.2 nF) measured to 1 MHz peaks above f_max from 40 °C on: its
    R there follows the arc's assumed shape beyond the data (fapex-outside-range). The line
    keeps those points and its note counts them; the figure rings the same points (they had
    been drawn like the others) and names the ring once in the legend, after the line."""
    from eisfit.fitting.flags import EXTRAPOLATED_LABEL

    k_b = 8.617333262e-5
    t_c = np.array([20.0, 40.0, 60.0, 80.0, 100.0, 120.0])
    t_k = t_c + 273.15
    r1 = 2000.0 * np.exp(0.45 / k_b * (1 / t_k - 1 / 298.15)) * t_k / 298.15
    f = np.logspace(6, -1, 50)
    rng = np.random.default_rng(1)
    spectra = []
    for t, r in zip(t_c, r1):
        z = Circuit(HEADLINE).impedance([5.0, r, 2e-10, 0.95, 3000.0, 1e-5, 0.85], f)
        z = z + 0.002 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
        spectra.append(Spectrum(f, z, meta={"temperature_C": float(t)}))
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, area_cm2=0.785, thickness_cm=0.03, cache_dir=False,
                               progress=False)
    flagged = np.array(["fapex-outside-range:CPE1" in f for f in camp.table["flags"]])
    ax = camp.plot_arrhenius(["R1"])
    rings = [line for line in ax.get_lines() if line.get_label() == EXTRAPOLATED_LABEL]
    assert len(rings) == 1 and rings[0].get_fillstyle() == "full" and rings[0].get_markerfacecolor() == "none"
    used, ringed = _arrhenius_points_drawn(ax), set(np.round(rings[0].get_xdata(), 9))
    extrapolated_used = {round(1000.0 / t, 9) for t, fl in zip(t_k, flagged) if fl} & used
    assert extrapolated_used and ringed == extrapolated_used  # the line's extrapolated points, and only those
    note = camp.arrhenius(["R1"]).loc[0, "note"]
    assert f"{len(ringed)} of its {len(used)} points extrapolated" in note
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0].startswith("R1: Ea") and texts[-1] == EXTRAPOLATED_LABEL


def _arrhenius_points_drawn(ax) -> set:
    """1000/T of the points an Arrhenius plot draws (its error bars' markers, 5 pt)."""
    return {round(x, 9) for line in ax.get_lines() if line.get_linestyle() == "None" and line.get_markersize() == 5
            for x in line.get_xdata()}


REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"
CHI_FILE = REALDATA / "text" / "impedance_py" / "data" / "exampleDataCHInstruments.txt"


def _display_points(ax) -> np.ndarray:
    """Display coordinates of the data points and curves drawn in ``ax`` (data coordinates)."""
    lines = [line for line in ax.get_lines() if line.get_transform() == ax.transData and len(line.get_xdata())]
    xy = np.concatenate([np.column_stack([line.get_xdata(), line.get_ydata()]) for line in lines])
    return ax.transData.transform(xy[np.isfinite(xy).all(axis=1)])


def _covers(box, xy) -> int:
    return int(((xy[:, 0] > box.x0) & (xy[:, 0] < box.x1) & (xy[:, 1] > box.y0) & (xy[:, 1] < box.y1)).sum())


@pytest.mark.skipif(not CHI_FILE.exists(), reason="real data (../shared/realdata) not present")
def test_the_fit_figures_inset_hides_no_data_and_no_main_tick_label():
    """A real CH Instruments spectrum rising steeply from the origin: the inset had sat in the
    upper left over the data and fit (Z' 0-5 kΩ, -Z'' 9-16 kΩ), its tick labels alternating with
    the main y axis' (8, 0.05, 10, 0.10...). Now the inset with its tick labels and caption
    covers no point or curve of the main panel and no main tick label, and its caption names the
    unit."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spectrum = eisfit.read(CHI_FILE)[0]
        fig = P.plot_fit(eisfit.fit(spectrum, area_cm2=0.785))
    ax = fig.axes[0]
    (inset,) = ax.child_axes
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    room = inset.get_tightbbox(renderer)
    assert _covers(room, _display_points(ax)) == 0
    for label in ax.get_yticklabels() + ax.get_xticklabels():
        if label.get_text() and label.get_visible():
            assert not room.overlaps(label.get_window_extent(renderer)), label.get_text()
    assert "kΩ" in inset.get_title()
    assert _covers(ax.get_legend().get_window_extent(renderer), _display_points(ax)) == 0


def test_spectrum_plots_take_the_frequency_impedance_tuple_fit_takes_and_fit_names_it():
    """plot_nyquist((f, z)) and plot_bode((f, z)) had refused the tuple eisfit.fit, kk_test and
    drt take; fit(a 2 x N array) had said only "needs an eisfit.Spectrum"."""
    from eisfit.errors import DataError, FitError

    f = np.logspace(5, -1, 30)
    z = Circuit(HEADLINE).impedance(np.array([12.0, 45.0, 2e-7, 0.92, 80.0, 3e-5, 0.8]), f)
    ax = P.plot_nyquist((f, z))
    points = ax.get_lines()[0]
    assert np.allclose(points.get_xdata(), z.real) and np.allclose(points.get_ydata(), -z.imag)
    fig = P.plot_bode((f, z))
    assert np.allclose(fig.axes[0].get_lines()[0].get_ydata(), np.abs(z))
    with pytest.raises(DataError, match=r"\(frequency_Hz, z_ohm\)"):
        P.plot_nyquist(np.vstack([f, z]))
    with pytest.raises(FitError, match=r"Spectrum or a \(frequency_Hz, z_ohm\) tuple"):
        eisfit.fit(np.vstack([f, z]), HEADLINE)


def test_fits_panel_titles_keep_the_part_of_the_file_name_that_differs():
    """Files named LiMg_LLZTO_0100h_PEIS_C01.mpt...: the titles, cut at the front, had kept
    "…0h_PEIS_C01.mpt" of every file (the part they share) and dropped "0100h"; now the shared
    prefix and suffix go and each title keeps its file's own hours."""
    import re

    sample = Path(__file__).resolve().parent.parent / "sample_data" / "garnet_campaign" / "mpt"
    camp = eisfit.fit_campaign(sample, area_cm2=0.785, cache_dir=False, progress=False)
    fig = camp.plot_fits()
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    files = [re.search(r"_(\d{4}h)_", c.file).group(1) for c, r in zip(camp.checkpoints, camp.results) if r]
    assert len(titles) == len(files) > 2
    for title, hours in zip(titles, files):
        assert hours in title, (title, hours)


def test_drt_map_tracks_join_the_checkpoints_of_one_cell_only():
    """The DRT peaks are tracked per cell; the map had drawn each track through every row, a
    line from cell A's last checkpoint to cell B's first. Each drawn track line now holds the
    checkpoints of one cell, in a marker of its own named in the legend."""
    from conftest import arrhenius_cell

    rng = np.random.default_rng(5)
    a, _ = arrhenius_cell("A", 0.35, 0.40, [-20, 20, 60], rng)
    b, _ = arrhenius_cell("B", 0.50, 0.50, [-20, 20, 60], rng)
    camp = eisfit.fit_campaign(a + b, circuit=HEADLINE, drt=True, progress=False, cache_dir=False)
    ax = P.plot_campaign_drt_map(camp)
    cells = np.array([str(c.cell) for c in camp.checkpoints])
    taus = {key: np.log10(camp.table[key].to_numpy(float)) for key in camp.table.columns
            if key.startswith("drt_peak") and key.endswith("_tau_s")}
    tracks = [line for line in ax.get_lines() if line.get_color() == "white"]
    assert tracks
    for line in tracks:
        x = np.asarray(line.get_xdata(), float)
        assert np.isfinite(x).any()
        x = x[np.isfinite(x)]
        owners = {cells[k] for t, column in taus.items() for k in range(len(cells))
                  if np.isfinite(column[k]) and np.any(np.isclose(x, column[k], rtol=0, atol=1e-12))}
        assert len(owners) == 1, owners
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "tracked peaks, cell A" in labels and "tracked peaks, cell B" in labels
    plt.close(ax.figure)


def test_drt_map_legend_covers_no_tracked_peak():
    """The map's legend sat inside it ("best") over the 1000 h marker of the interface peak of
    the sample campaign: it stands above the map now and covers no marker."""
    spectra = headline_series([[12.0, 45.0, 2e-9, 0.92, 120 - 8 * k, 3e-6, 0.8] for k in range(8)], seed=4)
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, drt=True, progress=False, cache_dir=False)
    ax = P.plot_campaign_drt_map(camp)
    fig = ax.figure
    fig.draw_without_rendering()
    box = ax.get_legend().get_window_extent()
    markers = np.vstack([ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
                         for line in ax.get_lines() if line.get_color() == "white"])
    markers = markers[np.all(np.isfinite(markers), axis=1)]
    assert len(markers)
    inside = ((markers[:, 0] >= box.x0) & (markers[:, 0] <= box.x1)
              & (markers[:, 1] >= box.y0) & (markers[:, 1] <= box.y1))
    assert not inside.any()
    assert box.y0 >= ax.get_window_extent().y1 - 1  # above the map
    plt.close(fig)


def test_drt_map_legend_of_the_sample_campaign_covers_no_marker():
    """The sample campaign's map, where the legend inside the map ("best") had covered the
    1000 h marker of the interface peak: no marker, with its radius, lies under the legend."""
    sample = Path(__file__).resolve().parent.parent / "sample_data" / "garnet_campaign" / "csv"
    camp = eisfit.fit_campaign(str(sample), drt=True, progress=False, cache_dir=False)
    ax = P.plot_campaign_drt_map(camp)
    fig = ax.figure
    fig.draw_without_rendering()
    box = ax.get_legend().get_window_extent()
    tracks = [line for line in ax.get_lines() if line.get_color() == "white"]
    markers = np.vstack([ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
                         for line in tracks])
    markers = markers[np.all(np.isfinite(markers), axis=1)]
    radius = max(line.get_markersize() for line in tracks) / 2 * fig.dpi / 72.0
    assert len(markers) >= 10
    under = ((markers[:, 0] >= box.x0 - radius) & (markers[:, 0] <= box.x1 + radius)
             & (markers[:, 1] >= box.y0 - radius) & (markers[:, 1] <= box.y1 + radius))
    assert not under.any(), markers[under]
    plt.close(fig)


def test_a_flagged_outlier_spectrum_does_not_set_the_overlay_frame():
    """One flagged sweep reaching 1,900 ohm had framed a real 61-sweep overlay, the 19 others
    squeezed under 300 ohm at the origin: a spectrum with a problem flag of the whole fit and
    more than 4x the median |Z| is left out of the frame (drawn, clipped, named in the title);
    an unflagged one never is (growth is what the overlay shows)."""
    from types import SimpleNamespace

    flagged, clean = SimpleNamespace(flags=["lack-of-fit:3.1"]), SimpleNamespace(flags=["unresolved:R2"])
    extents = [100.0, 110.0, 120.0, 105.0, 1900.0]
    assert P._flagged_outliers(extents, [clean] * 4 + [flagged]) == {4}
    assert P._flagged_outliers(extents, [clean] * 5) == set()  # a parameter's problem is no outlier
    assert P._flagged_outliers(extents[3:], [clean, flagged]) == set()  # too few to tell


def test_the_real_overlay_is_framed_on_the_unflagged_sweeps():
    from conftest import realdata_path

    path = realdata_path("mpr", "dgbowl__yadg", "geis.mpr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        camp = eisfit.fit_campaign(str(path), circuit=HEADLINE, progress=False, cache_dir=False)
    ax = P.plot_campaign_nyquist(camp)
    shown = [r for r in camp.results if r is not None]
    top = ax.get_ylim()[1]
    assert "beyond the frame" in " ".join(ax.get_title().split())
    assert top < 0.5 * max(float(np.max(-r.z.imag)) for r in shown)  # the outlier left out
    plt.close(ax.figure)


def _drawn_and_cell_heights_in(fig, ax) -> tuple[float, float]:
    """(height of the box of ``ax`` as drawn, height of its grid cell), inches, after drawing."""
    return ax.get_position().height * fig.get_figheight(), ax.get_position(original=True).height * fig.get_figheight()


def test_overlay_of_a_flat_drifting_campaign_fills_its_figure_with_a_long_colour_bar():
    """A flat, drifting campaign (Z' 15-41 ohm, -Z'' under 3 ohm, as a real 32-sweep VSP file)
    had been a 0.3 in strip with a colour bar cut to that length ("0" and "250" h): the figure's
    height is fitted to the panel, which fills its row, and the bar is at least 0.8 in long
    (below the flat panel, as wide as it)."""
    spectra = headline_series([[15.0 + 2.0 * k, 2.0, 1e-6, 0.9, 5.0, 1e-3, 0.35] for k in range(12)], seed=5)
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, cache_dir=False, progress=False)
    ax = P.plot_campaign_nyquist(camp)
    fig = ax.figure
    fig.draw_without_rendering()
    drawn, cell = _drawn_and_cell_heights_in(fig, ax)
    assert drawn > 0.95 * cell  # no band of empty canvas above and below the strip
    (bar,) = ax.child_axes
    box = bar.get_window_extent()
    assert max(box.width, box.height) / fig.dpi >= 0.8
    assert bar.get_window_extent().y1 < ax.get_window_extent().y0  # below the panel, off its data
    assert len(bar.get_xticklabels()) >= 4


def test_fits_rows_are_as_tall_as_their_panels():
    """fits.png of 240 checkpoints had been ~60 % blank: every row was sized for the steepest
    panel of the figure (two square "unresolved" panels in the last row), the flat ones 0.35 in
    of plot in 1.1 in rows. Each row is now as tall as its own tallest panel."""
    flat = [[40.0, 50.0, 1e-9, 0.9, 100.0 - 5 * k, 2e-6, 0.85] for k in range(8)]
    steep = [[40.0, 50.0, 1e-9, 0.9, 1e5, 1e-4, 0.85]]  # a blocking line, far taller than wide
    camp = eisfit.fit_campaign(headline_series(flat + steep, seed=6), circuit=HEADLINE, cache_dir=False,
                               progress=False)
    fig = P.plot_campaign_fits(camp)
    fig.draw_without_rendering()
    rows: dict[int, list] = {}
    for ax in fig.axes:
        rows.setdefault(ax.get_subplotspec().rowspan.start, []).append(_drawn_and_cell_heights_in(fig, ax))
    assert len(rows) == 3
    for heights in rows.values():
        assert max(d for d, _ in heights) > 0.95 * heights[0][1]  # the tallest panel fills its row
    flat_rows = [max(d for d, _ in rows[r]) for r in (0, 1)]
    assert max(flat_rows) < 0.6 * max(d for d, _ in rows[2])
    assert fig.get_figheight() <= 9.0


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_fits_y_label_of_a_flat_row_stays_off_the_titles_and_the_row_above():
    """With per-area axes (--nyquist-asr) the rotated "−Z'' / Ω·cm²" is longer than a flat
    panel is tall: it ran up into the first panel's title ("cm²" on its ellipsis) and into the
    row above. The layout keeps room for the label's ends, and a title beside it starts right
    of it."""
    names = ["anode_side_first_run", "cathode_check_second", "mid_campaign_third", "pellet_after_fourth",
             "retest_at_fifth", "final_sixth_sweep"]
    spectra = headline_series([[40.0, 50.0, 1e-9, 0.9, 120.0 - 10 * k, 2e-6, 0.85] for k in range(6)], seed=7)
    for name, spectrum in zip(names, spectra):
        spectrum.meta["label"] = name
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, area_cm2=0.785, cache_dir=False, progress=False)
    fig = P.plot_campaign_fits(camp, area_normalised=True)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    first = [ax for ax in fig.axes if ax.get_subplotspec().colspan.start == 0]
    assert len(first) == 2
    for ax in first:
        label = ax.yaxis.label.get_window_extent(renderer)
        assert label.height > ax.get_window_extent().height  # the case: a label longer than its panel
        for other in fig.axes:
            assert not _overlaps(label, other.title.get_window_extent(renderer)), other.get_title()
            if other.get_subplotspec().rowspan.start < ax.get_subplotspec().rowspan.start:
                ticks = [t.get_window_extent(renderer) for t in other.get_xticklabels() if t.get_text()]
                assert not any(_overlaps(label, t) for t in ticks)


def test_drt_legend_explains_the_question_mark_of_an_undetermined_resistance():
    """A DRT peak whose resistance a warning calls not determined is labelled "56.3 Ω?": the
    legend says what the "?" means (only the title had hinted at it)."""
    path = Path(__file__).resolve().parents[1] / "sample_data" / "garnet_campaign" / "mpt" / "LiMg_LLZTO_0500h_PEIS_C01.mpt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = eisfit.drt(eisfit.read(str(path))[0])
    assert not result.peaks["determined"].all()
    ax = P.plot_drt(result)
    labels = [t.get_text() for t in ax.texts]
    assert any(label.split("\n")[0].endswith("Ω?") for label in labels)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("Ω?") and "not determined" in t for t in legend)
    ax.figure.draw_without_rendering()
    box = ax.get_window_extent()
    assert ax.get_legend().get_window_extent().y1 <= box.y1 + 0.5  # inside the axes, below the frame


def _line_samples(ax, step_px: float = 1.0) -> np.ndarray:
    """Display coordinates of what the lines of ``ax`` draw inside its box: each vertex and,
    along a line drawn with a line style, a point every ``step_px`` pixels (a spike between
    two vertices crosses what lies between them); the marker radius is not included."""
    frame = ax.get_window_extent()
    out = []
    for line in ax.get_lines():
        xy = np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
        if line.get_transform() != ax.transData or not len(xy):
            continue
        xy = ax.transData.transform(xy[np.isfinite(xy).all(axis=1)])
        out.append(xy)
        if line.get_linestyle() not in ("None", "none", "", " "):
            for a, b in zip(xy[:-1], xy[1:]):
                n = int(np.ceil(np.hypot(*(b - a)) / step_px)) + 1
                out.append(a + np.linspace(0.0, 1.0, n)[:, None] * (b - a))
    xy = np.vstack(out)
    keep = (xy[:, 0] >= frame.x0) & (xy[:, 0] <= frame.x1) & (xy[:, 1] >= frame.y0) & (xy[:, 1] <= frame.y1)
    return xy[keep]


def test_drt_peak_labels_cover_no_curve_marker_label_or_legend():
    """The sample's 500 h spectrum with its circuit fit overlaid: the fit's narrow dashed DRT
    spike (80 Ω over the data's 39 Ω peak) had crossed the "56.3 Ω?" and "74.8 Ω" labels, and
    the legend (upper left) had covered the spike. Now no peak label covers a point of a
    curve or a peak marker, another label or the legend; the labels stay inside the axes near
    their peaks; the legend covers no curve."""
    path = Path(__file__).resolve().parents[1] / "sample_data" / "garnet_campaign" / "csv" / "LiMg_LLZTO_0500h_PEIS_C01.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spectrum = eisfit.read(str(path))[0]
        ax = P.plot_drt(eisfit.drt(spectrum), fit=eisfit.fit(spectrum, circuit="garnet-symmetric"))
    fig = ax.figure
    fig.canvas.draw()
    samples = _line_samples(ax)
    marker_px = max(line.get_markersize() for line in ax.get_lines() if line.get_marker() == "v") / 2 * fig.dpi / 72
    markers = np.vstack([ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
                         for line in ax.get_lines() if line.get_marker() == "v" and len(line.get_xdata())])
    labels = [t for t in ax.texts if "Hz" in t.get_text()]
    assert len(labels) == 4
    boxes = [t.get_window_extent() for t in labels]
    legend = ax.get_legend().get_window_extent()
    frame = ax.get_window_extent()
    for text, box in zip(labels, boxes):
        assert _covers(box, samples) == 0, text.get_text()
        assert _covers(box.expanded(1.0, 1.0).padded(marker_px), markers) == 0, text.get_text()
        assert not _overlaps(box, legend), text.get_text()
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        anchor = ax.transData.transform(text.xy)
        assert np.hypot(*(np.array([box.x0 + box.x1, box.y0 + box.y1]) / 2 - anchor)) < 80 * fig.dpi / 72  # near its peak
    for i in range(len(boxes)):
        for j in range(i):
            assert not _overlaps(boxes[i], boxes[j]), (labels[i].get_text(), labels[j].get_text())
    assert _covers(legend, samples) == 0


@pytest.fixture(scope="module")
def sample_drt_campaign():
    """The sample campaign (11 checkpoints, garnet-symmetric) with its DRTs."""
    sample = Path(__file__).resolve().parent.parent / "sample_data" / "garnet_campaign" / "csv"
    return eisfit.fit_campaign(str(sample), drt=True, progress=False, cache_dir=False)


def test_drt_stack_legend_covers_no_curve(sample_drt_campaign):
    """The drt_stack figure of the sample campaign: its legend (upper left, inside) had been
    reached by the 1000 h checkpoint's fit spike. It covers no curve now (above the stack),
    nor the title."""
    ax = P.plot_campaign_drt_stack(sample_drt_campaign)
    fig = ax.figure
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert _covers(legend, _line_samples(ax)) == 0
    assert not _overlaps(legend, ax.title.get_window_extent())
    assert _inside_figure(fig, ax.get_legend())


def _apex_label_boxes(ax) -> list:
    return [t.get_window_extent() for t in ax.texts if t.get_gid() == P._APEX_LABEL_GID]


def test_nyquist_apex_labels_cover_no_point_curve_or_legend():
    """The sample's 500 h spectrum in a Nyquist figure of its own (a flat one): the "CPE1 4.25 MHz"
    label above its apex had sat on the legend (upper left). No apex label covers a point or
    curve of the plot, the legend or another label now."""
    path = Path(__file__).resolve().parents[1] / "sample_data" / "garnet_campaign" / "csv" / "LiMg_LLZTO_0500h_PEIS_C01.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ax = P.plot_nyquist(eisfit.fit(eisfit.read(str(path))[0], circuit="garnet-symmetric"))
    fig = ax.figure
    fig.canvas.draw()
    boxes = _apex_label_boxes(ax)
    assert len(boxes) == 2
    samples, legend = _line_samples(ax), ax.get_legend().get_window_extent()
    radius = 1.5 * fig.dpi / 72  # half a data marker (ms 3)
    for box in boxes:
        assert _covers(box.padded(radius), samples) == 0
        assert not _overlaps(box, legend)
    assert not _overlaps(*boxes)


@pytest.mark.skipif(not CHI_FILE.exists(), reason="real data (../shared/realdata) not present")
def test_the_apex_label_of_a_steep_spectrum_covers_no_point_of_it():
    """The real CH Instruments spectrum rising steeply from the origin: its "CPE1 25.5 Hz" label,
    above its apex, had covered 8 data points and the fit curve there (plot_fit). It covers none now."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = P.plot_fit(eisfit.fit(eisfit.read(CHI_FILE)[0], area_cm2=0.785))
    ax = fig.axes[0]
    fig.canvas.draw()
    boxes = _apex_label_boxes(ax)
    assert boxes
    for box in boxes:
        assert _covers(box, _line_samples(ax)) == 0
        assert not _overlaps(box, ax.get_legend().get_window_extent())


CIRCUIT3_FILE = REALDATA / "text" / "impedance_py" / "data" / "Circuit3_EIS_1.z"


@pytest.mark.skipif(not CIRCUIT3_FILE.exists(), reason="real data (../shared/realdata) not present")
@pytest.mark.parametrize("size_in", [(2.0, 1.6), (2.4, 2.0)])
def test_the_inset_of_a_small_nyquist_figure_covers_no_point(size_in):
    """A real spectrum (one large arc, a narrow high-frequency zoom) in a small Nyquist panel: its
    inset, with the tick labels and caption, had covered 16 and 2 points and curve vertices
    (its tick labels' room was the estimate for a large panel, "1500" under a narrow box being
    wider, and it shrank at most to 0.85). It covers none now, nor do its apex labels, if any."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = eisfit.fit(eisfit.read(CIRCUIT3_FILE)[0])
    ax = P.plot_nyquist(fit, ax=plt.subplots(figsize=size_in, layout="constrained")[1])
    P.keep_apex_labels_inside(ax)
    fig = ax.figure
    fig.canvas.draw()
    (inset,) = ax.child_axes
    xy = np.vstack([ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
                    for line in ax.get_lines() if line.get_transform() == ax.transData and len(line.get_xdata())])
    assert _covers(inset.get_tightbbox(fig.canvas.get_renderer()), xy) == 0


def _points_under_legend(ax) -> int:
    """Data points and fit-curve vertices of the Nyquist plot ``ax`` (drawn) that its legend's
    box covers, from the legend's window extent and the lines' display coordinates."""
    box = ax.get_legend().get_window_extent(ax.figure.canvas.get_renderer())
    lines = [line for line in ax.get_lines() if line.get_label() in ("data", "fit")]
    assert len(lines) == 2
    xy = np.vstack([ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
                    for line in lines])
    return int(((xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1) & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1)).sum())


def _two_arcs_filling_the_box():
    """A fit of two arcs (a small one at high frequency, in an inset) whose points fill the
    Nyquist box: every corner, and loc="best", held points (40 under the legend of its own
    figure, 7 in plot_fit's panel)."""
    f = np.logspace(6, -1, 50)
    f = f[f >= 0.37]
    z = Circuit(HEADLINE).impedance(np.array([1.991, 314.2, 3.209e-10, 0.6571, 1216.0, 1.567e-07, 0.7905]), f)
    rng = np.random.default_rng(3)
    z = z * (1 + 0.005 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eisfit.fit(Spectrum(f, z), HEADLINE, kk=False)


def test_a_nyquist_legend_that_would_cover_points_goes_above_the_box():
    """Points filling the box left no free corner: the legend now sits above the box, covering
    no point or fit vertex, off the inset, inside the figure; in a figure of its own (the box
    keeps its size: the figure grows) and in plot_fit's Nyquist panel (below the suptitle);
    laying the panel out again keeps it there."""
    fit = _two_arcs_filling_the_box()
    ax = P.plot_nyquist(fit)
    fig = P.plot_fit(fit)
    panel = fig.axes[0]
    P.keep_apex_labels_inside(panel)  # again, as a caller may: the legend stays above
    for axes in (ax, panel):
        axes.figure.canvas.draw()
        renderer = axes.figure.canvas.get_renderer()
        legend, box = axes.get_legend().get_window_extent(renderer), axes.get_window_extent()
        assert _points_under_legend(axes) == 0
        assert legend.y0 >= box.y1 - 1  # above the box
        assert axes.figure.bbox.contains(legend.x0, legend.y0) and axes.figure.bbox.contains(legend.x1, legend.y1)
        for inset in axes.child_axes:
            assert not _overlaps(legend, inset.get_tightbbox(renderer))
    assert not _overlaps(panel.get_legend().get_window_extent(), fig._suptitle.get_window_extent())


def test_a_nyquist_legend_that_covers_nothing_stays_inside_the_box():
    """One depressed arc: the legend finds a free corner and stays inside the box."""
    f = np.logspace(6, -0.15, 44)
    s = Spectrum(f, Circuit("R0-p(R1,CPE1)").impedance(np.array([279.0, 998.0, 2.95e-7, 0.7]), f))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ax = P.plot_nyquist(eisfit.fit(s, "R0-p(R1,CPE1)", kk=False))
    ax.figure.canvas.draw()
    legend, box = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert box.x0 <= legend.x0 and legend.x1 <= box.x1 and box.y0 <= legend.y0 and legend.y1 <= box.y1
    assert _points_under_legend(ax) == 0


def test_fits_panels_of_a_megaohm_campaign_take_a_prefix_not_an_offset_text():
    """An MOhm campaign's fits.png had read 0-2 on each panel under a "1e6" offset text printed over
    the titles and labels; the overlay and `fit --plot` took kOhm/MOhm already."""
    values = [[4e4, 2e6, 1e-10, 0.9, 5e6 - 2e5 * k, 2e-8, 0.85] for k in range(3)]
    camp = eisfit.fit_campaign(headline_series(values, seed=3), circuit=HEADLINE, cache_dir=False, progress=False)
    fig = P.plot_campaign_fits(camp)
    fig.draw_without_rendering()
    labels = {ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()} | {ax.get_ylabel() for ax in fig.axes
                                                                       if ax.get_ylabel()}
    assert labels and all("kΩ" in label or "MΩ" in label for label in labels), labels
    for ax in fig.axes:
        assert not ax.xaxis.get_offset_text().get_text() and not ax.yaxis.get_offset_text().get_text()
        assert max(abs(v) for v in ax.get_xlim()) < 1e5  # in kOhm, not ohm


def test_the_residual_map_of_two_cells_names_each_rows_cell(two_cells):
    """Three cells at the same times had labelled their rows "0 h ... 350 h" three times over."""
    ax = P.plot_campaign_residual_map(two_cells)
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(label.split(": ")[0] in ("A", "B") for label in labels), labels
    assert {label.split(": ")[0] for label in labels} == {"A", "B"}


def test_the_overlay_of_two_cells_draws_each_cells_points_with_its_marker_and_names_them(two_cells):
    """Cells at the same times had been drawn alike in the Nyquist overlay, coloured by time only."""
    ax = P.plot_campaign_nyquist(two_cells)
    markers = {line.get_marker() for line in ax.get_lines() if line.get_linestyle() in ("None", "")}
    assert markers == {"o", "s"}
    assert "cells: A ●, B ■" in ax.get_title()
    one = P.plot_campaign_nyquist(eisfit.fit_campaign(
        headline_series([[12.0, 45.0, 2e-7, 0.92, 80.0 + 20 * k, 3e-5, 0.8] for k in range(3)], seed=4),
        circuit=HEADLINE, cache_dir=False, progress=False))
    assert "cells" not in one.get_title()


def test_the_bode_overlay_of_two_cells_draws_each_cells_points_with_its_marker(two_cells):
    """The Bode overlay of several cells had drawn them alike, coloured by time only."""
    fig = P.plot_campaign_bode(two_cells)
    mod, phase = fig.axes[:2]
    for ax in (mod, phase):
        assert {line.get_marker() for line in ax.get_lines() if line.get_linestyle() in ("None", "")} == {"o", "s"}
    assert "cells: A ●, B ■" in mod.get_title()
