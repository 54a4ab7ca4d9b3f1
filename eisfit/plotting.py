"""Figures, sized for a journal column and drawn in one style.

Convention (held by every function here):

* a **one-panel** function takes ``ax=`` (a Matplotlib Axes; a new figure when None)
  and **returns the Axes**: :func:`plot_nyquist`, :func:`plot_fit_residuals`,
  :func:`plot_kk_residuals`, :func:`plot_drt`, :func:`plot_campaign_nyquist`,
  :func:`plot_campaign_residual_map`, :func:`plot_campaign_drt_map`,
  :func:`plot_campaign_drt_stack`, :func:`plot_arrhenius`;
* a **multi-panel** function takes ``fig=`` (a Figure or SubFigure; a new figure when
  None) and **returns the Figure**: :func:`plot_bode`, :func:`plot_fit`,
  :func:`plot_campaign_bode`, :func:`plot_campaign_evolution`, :func:`plot_campaign_fits`.
  Passing ``ax=`` to one of them raises a TypeError that says to pass ``fig=``.

New figures are :data:`COLUMN_IN` (3.3 in, single column) or :data:`DOUBLE_COLUMN_IN`
(7 in, double column) wide, 8-pt text. Impedances are in Ω (or Ω·cm² = Z*A per cell),
capacitances carry an SI prefix (nF, µF) or are per area (µF/cm²). Nothing here computes
results: the functions draw what the analysis objects carry.

New figures are pyplot figures (``plt.figure``), so ``plt.show()``, ``plt.savefig()`` and a
notebook's inline display see them as any Matplotlib figure. Two consequences:

* in Jupyter, a cell whose last line returns a Figure (``plot_fit(res)``,
  ``camp.plot_evolution()``) shows it twice, as the cell's value and again when pyplot
  shows its open figures at the end of the cell: end the line with ``;`` or assign it
  (``fig = plot_fit(res)``);
* a figure stays open (and in memory, a few MB each) until it is closed: in a loop, call
  ``plt.close(fig)`` once it is saved (:func:`save_figure` closes what it writes, as the
  command line and the campaign writers do).

Figures made with ``matplotlib.figure.Figure`` outside pyplot would avoid both, but a
one-panel function returns the Axes, whose figure a notebook would then not show at all,
and ``plt.show()``/``plt.savefig()`` in a script would not see any of them.
"""
from __future__ import annotations

import functools as _functools
import os as _os
import re as _re
import threading as _threading
import weakref as _weakref
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple, Protocol, Sequence

import numpy as _np

from .units import EVOLUTION_AXIS_LABELS, KELVIN_AT_0C, format_value
from .units import si_scale as _si_scale

if TYPE_CHECKING:  # for the annotations only: nothing of matplotlib is imported before a figure is drawn
    from pathlib import Path

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

    from .analysis.drt import DRTResult
    from .analysis.kk import KKResult
    from .fitting.result import FitResult
    from .spectrum import Spectrum


class CampaignLike(Protocol):
    """What the campaign figures read of a campaign: an :class:`eisfit.CampaignResult`
    (``eisfit.plotting`` reads results and imports nothing from ``eisfit.campaign``)."""

    checkpoints: list[Any]
    results: list[Any]
    details: list[dict]
    drts: list[Any] | None

    @property
    def table(self) -> Any:
        """One row per checkpoint (a pandas DataFrame)."""

    def evolution_axis(self, x: str | None = None) -> str | None:
        """What the evolution is told against ("time_h", "cycle"...; None: the checkpoint number)."""

    def colour_values(self) -> tuple[list[float], str]:
        """The values that colour the checkpoints, and their axis label."""

    def arrhenius(self, resistances: Any = None, form: str = "sigmaT", weighted: bool = False) -> Any:
        """The Arrhenius fit of each resistance (a pandas DataFrame)."""

    def _roles(self) -> dict:
        """The roles of the circuit's resistances."""

COLUMN_IN = 3.3          # single journal column, inches
DOUBLE_COLUMN_IN = 7.0   # double column, inches
FONT_PT = 8.0            # axis labels and titles
SMALL_PT = 7.0           # tick labels, legends, annotations
MAX_OVERLAY_SPECTRA = 20  # overlays of large campaigns show at most this many spectra
OHM, OHM_CM2 = "Ω", "Ω·cm²"

# ---- section: style helpers ---------------------------------------------------------


FIGURE_DPI = 300.0  # resolution of every PNG eisfit writes (vector copies beside them)
FIGURE_FORMATS = ("png", "svg")
PNG_COMPRESS_LEVEL = 2  # zlib level of the PNGs: level 6 (the default) took twice as long for ~20 % smaller files


def save_figure(fig: Figure, stem: str | _os.PathLike, close: bool = True) -> list[Path]:
    """Write ``fig`` as ``<stem>.png`` (300 dpi) and ``<stem>.svg`` without trimming, so a
    column-width figure stays a column width; returns the paths (PNG first). The SVG keeps
    its texts as text (``svg.fonttype`` none), so labels can be edited in Inkscape or
    Illustrator (as outlines they could not). Each file is written beside and renamed into
    place: a failure (a full disk) leaves no zero-byte or cut-off figure."""
    from pathlib import Path

    import matplotlib
    import matplotlib.pyplot as plt

    from ._files import atomic_path

    stem = Path(stem)
    paths = []
    for ext in FIGURE_FORMATS:
        path = stem.with_name(f"{stem.name}.{ext}")
        extra = {"pil_kwargs": {"compress_level": PNG_COMPRESS_LEVEL}} if ext == "png" else {}
        with matplotlib.rc_context({"svg.fonttype": "none"}), atomic_path(path) as tmp:  # whole or absent
            fig.savefig(tmp, dpi=FIGURE_DPI, format=ext, **extra)
        fig.set_layout_engine("none")  # laid out once; the next format reuses it
        paths.append(path)
    if close:
        plt.close(fig)
    return paths


FIGURE_PROCESSES = 2  # figure sets are drawn by up to this many processes, this one included (see save_figures)
_pending_figures: dict = {}  # name -> maker, read by the forked workers of save_figures


def _save_one(name: str, folder: str) -> list[str]:
    from pathlib import Path

    return [str(p) for p in save_figure(_pending_figures[name](), Path(folder) / name)]


def _can_fork_figures() -> bool:
    """Forked workers are safe here (:func:`eisfit._processes.fork_is_safe`), the backend is
    Agg (nothing drawn on screen) and there are two cores or more."""
    import matplotlib

    from ._processes import fork_is_safe, usable_cores

    return fork_is_safe() and matplotlib.get_backend().lower() == "agg" and usable_cores() >= 2


def save_figures(makers: Mapping[str, Callable[[], Figure]], folder: str | _os.PathLike,
                 processes: int | None = None) -> dict[str, list[Path]]:
    """Make and write a set of figures: ``makers`` maps a name to a function that returns a
    Figure; each is written by :func:`save_figure` as ``folder/<name>.png`` and ``.svg``.
    Returns name -> paths (PNG first), in the order of ``makers``.

    With several figures, on Linux with the Agg backend and no other thread running, the
    figures are shared out among ``processes`` (default :data:`FIGURE_PROCESSES`, at most
    the cores available): this process and ``processes - 1`` forked workers, which inherit
    the results drawn from, so nothing is pickled but the names and the paths; each takes
    the next figure when it is free, so put the costliest maker first. This process draws
    too (rather than a second worker) because every forked worker maps the whole heap it was
    forked from: with two workers the summed memory of a 5,000-checkpoint campaign was a
    third larger. A figure whose worker fails is made again here, so an error is raised
    where it would be sequentially. :func:`start_figures` is the same in two halves (other
    work can run here while the workers draw their first figures)."""
    return start_figures(makers, folder, processes).result()


class PendingFigures:
    """Figures being drawn by another process (:func:`start_figures`); :meth:`result` draws
    the others here while a feeder thread hands the worker the next one as soon as it is
    free, waits for it and makes here whatever it did not write."""

    def __init__(self, makers, folder, pool=None, jobs=None, queue=(), workers: int = 0,
                 submit: Callable[[str], Any] | None = None, worker_draws: Callable[[str], bool] | None = None):
        self._makers, self._folder, self._pool, self._jobs = dict(makers), folder, pool, dict(jobs or {})
        self._queue = list(queue)  # names not yet handed out, costliest first
        self._workers = workers if pool is not None else 0  # the pool's processes
        self._submit_job = submit or (lambda name: self._pool.submit(_save_one, name, str(self._folder)))
        self._worker_draws = worker_draws or (lambda name: True)
        self._lock = _threading.Lock()  # the queue and the jobs: this thread and the feeder take from them
        self._stopped = _threading.Event()  # no more figures for the workers (one failed, or the end)

    def result(self) -> dict:
        """name -> paths (PNG first), in the order of the makers."""
        from pathlib import Path

        from ._processes import allocator_tuned, release_freed_memory

        written: dict = {}
        feeder = self._start_feeder()
        try:
            while (name := self._take(for_worker=False)) is not None:
                written[name] = save_figure(self._makers[name](), self._folder / name)
                if allocator_tuned():  # the command, which keeps freed memory: as the figure process
                    release_freed_memory()  # does, this figure's peak not kept into the next
            if feeder is not None:
                feeder.join()
            for name, job in list(self._jobs.items()):
                try:
                    written[name] = [Path(p) for p in job.result()]
                except Exception:  # made again below: the error, if any, surfaces here
                    pass
        finally:
            self._stopped.set()
            self.cancel()
        for name, maker in self._makers.items():
            if name not in written:
                written[name] = save_figure(maker(), self._folder / name)
        return {name: written[name] for name in self._makers}

    def _take(self, for_worker: bool) -> str | None:
        """The next name of the queue (costliest first), or None: for a worker, the first it
        can draw; for this process, the first of the others while it has a worker and the
        queue holds one (:data:`MEMORY_HEAVY_FIGURES`: drawn here, on the heap a campaign
        grew, each added its ~45 MB to this process's peak)."""
        with self._lock:
            if for_worker:
                name = next((n for n in self._queue if self._worker_draws(n)), None)
            else:
                light = (n for n in self._queue if n not in MEMORY_HEAVY_FIGURES) if self._workers else iter(())
                name = next(light, self._queue[0] if self._queue else None)
            if name is not None:
                self._queue.remove(name)
            return name

    def _start_feeder(self):
        """A thread that gives each worker its next figure the moment it finishes one (handed
        out between this process's own figures instead, a worker idled while this process drew:
        5,000 checkpoints, 0.8 s of the 2.8 s the figures took). It stops when a worker's figure
        fails (the rest is drawn here) or nothing is left for the workers."""
        if self._pool is None:
            return None
        feeder = _threading.Thread(target=self._feed, name="eisfit-figure-feeder", daemon=True)
        feeder.start()
        return feeder

    def _feed(self) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait

        while not self._stopped.is_set():
            with self._lock:
                jobs = list(self._jobs.values())
            if any(job.done() and (job.cancelled() or job.exception() is not None) for job in jobs):
                return  # a figure failed: the workers draw no more
            running = [job for job in jobs if not job.done()]
            if len(running) >= self._workers:
                wait(running, return_when=FIRST_COMPLETED)
                continue
            name = self._take(for_worker=True)
            if name is None:
                return
            self._submit(name)

    def _submit(self, name: str) -> None:
        try:
            job = self._submit_job(name)
        except Exception:  # the pool is broken or gone: drawn here with the rest
            with self._lock:
                self._queue.insert(0, name)
            self._stopped.set()
            return
        with self._lock:
            self._jobs[name] = job

    def cancel(self) -> None:
        """Stop the workers (the figures not yet begun are not drawn); idempotent."""
        self._stopped.set()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            _pending_figures.clear()


def start_figures(makers: Mapping[str, Callable[[], Figure]], folder: str | _os.PathLike,
                  processes: int | None = None, campaign_inputs: Callable[[], CampaignLike] | None = None,
                  area_normalised: bool = False) -> PendingFigures:
    """Begin :func:`save_figures`: the first figures are handed to another process where
    that is possible; ``.result()`` of the returned object draws the others here and hands
    the worker the next one when it is free.

    With ``campaign_inputs`` (a function that returns what the campaign figures read, e.g.
    :func:`eisfit.campaign.figure_inputs.figure_inputs` of a result) and a figure process
    reserved before the fits (:func:`eisfit._figure_process.reserved_figure_process`, what
    ``eisfit campaign`` does), that process draws the makers named in
    :data:`CAMPAIGN_FIGURES` with :func:`campaign_figure` (``area_normalised`` as there) from
    those inputs, sent to it once; it never mapped the heap the fits grew. Else workers are
    forked now (the makers must not change afterwards: the workers see them as they were at
    the fork)."""
    from pathlib import Path

    folder = Path(folder)
    names = list(makers)
    n = min(FIGURE_PROCESSES if processes is None else processes, len(names))
    if n > 1 and campaign_inputs is not None and any(name in CAMPAIGN_FIGURES for name in names):
        pending = _start_on_reserved(makers, folder, campaign_inputs, area_normalised)
        if pending is not None:
            return pending
    if n > 1 and _can_fork_figures():
        import multiprocessing

        from ._processes import ignore_interrupts, owned_pool, usable_cores

        workers = min(n, usable_cores()) - 1  # this process draws too
        _pending_figures.clear()
        _pending_figures.update(makers)
        # its workers end with this process (killed while they drew, they were left running) and,
        # as the fits' workers, ignore Ctrl-C (this process decides; they printed tracebacks)
        pool = owned_pool(workers, multiprocessing.get_context("fork"), setup=ignore_interrupts)
        try:
            jobs = {name: pool.submit(_save_one, name, str(folder)) for name in names[:workers]}
        except OSError:  # no process could be started: all of them here
            pool.shutdown(wait=True, cancel_futures=True)
            _pending_figures.clear()
        else:
            return PendingFigures(makers, folder, pool, jobs, names[workers:], workers)
    return PendingFigures(makers, folder)


def _save_campaign_figure(name: str, camp: CampaignLike, folder: Path, area_normalised: bool = False) -> list[Path]:
    """:func:`campaign_figure` ``name`` written into ``folder`` (the reserved figure process's work)."""
    return save_figure(campaign_figure(name, camp, area_normalised), folder / name)


def _start_on_reserved(makers, folder, campaign_inputs, area_normalised: bool) -> PendingFigures | None:
    """:func:`start_figures` on the reserved figure process, its first figure the first of
    ``makers`` it can draw; None when none is reserved (or it cannot take the inputs)."""
    import functools

    from ._figure_process import take_reserved

    process = take_reserved()
    if process is None:
        return None
    try:
        process.load(functools.partial(_save_campaign_figure, area_normalised=area_normalised), campaign_inputs(),
                     folder)
    except OSError:
        process.shutdown()
        return None
    worker_draws = CAMPAIGN_FIGURES.__contains__
    first = next(name for name in makers if worker_draws(name))
    jobs = {first: process.submit(first)}
    return PendingFigures(makers, folder, process, jobs, [n for n in makers if n != first], 1,
                          submit=process.submit, worker_draws=worker_draws)


def _new_figure(width_in: float, height_in: float, layout: str | None = "constrained"):
    """A new figure, with constrained layout unless ``layout=None`` (then the function that
    made it places the axes itself with :func:`_fixed_layout`); pyplot imported only when needed."""
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(width_in, height_in), layout=layout)


# ---- fixed layout: margins measured from the texts once, no layout engine ----------------
# The campaign figures are laid out here instead of by constrained layout: constrained layout
# measures every tick label of every axes twice over (its two passes) before the figure is
# drawn at all, which was about 40 % of the time a figure set took. The margins below come
# from the same texts (tick labels from each axis's locator and formatter, labels, titles,
# colour bars), measured with one small Agg renderer, and the axes are placed on their grid
# directly; the drawn figure keeps constrained layout's look (3 pt pads around every text).

_PAD_PT = 3.0  # around texts at the figure edges and between panels, as constrained layout's
_MEASURE_DPI = 288.0  # 0.25 pt resolution (Agg rounds extents to whole pixels)
_measure_renderer = None


def _text_extent_pt(text: str, size_pt) -> tuple[float, float]:
    """(width, height incl. descent) of ``text`` in points at ``size_pt``; one line of
    height at least that of "lp" (as matplotlib lays text out), lines stacked at 1.2 x."""
    if not text:
        return 0.0, 0.0
    return _text_extent_cached(text, float(size_pt))


@_functools.lru_cache(maxsize=4096)
def _text_extent_cached(text: str, size_pt: float) -> tuple[float, float]:
    global _measure_renderer
    from matplotlib.font_manager import FontProperties

    if _measure_renderer is None:
        from matplotlib.backends.backend_agg import RendererAgg

        _measure_renderer = RendererAgg(1, 1, _MEASURE_DPI)
    prop = FontProperties(size=size_pt)
    lines = text.split("\n") if text.count("$") < 2 else [text]
    _, lp_h, _ = _measure_renderer.get_text_width_height_descent("lp", prop, False)
    width = height = 0.0
    for line in lines:
        ismath = line.count("$") >= 2 and line.count("$") % 2 == 0
        w, h, _ = _measure_renderer.get_text_width_height_descent(line, prop, ismath)
        width, height = max(width, float(w)), max(float(h), float(lp_h))
    height += (len(lines) - 1) * 1.2 * size_pt * _MEASURE_DPI / 72.0
    scale = 72.0 / _MEASURE_DPI
    return width * scale, height * scale


def _shown_tick_labels(axis) -> tuple[list[tuple[float, str]], str]:
    """(the non-empty major and minor tick labels of ``axis`` inside its view limits as
    (position along the axis 0..1, text), the offset text), from the axis's locator and
    formatter: no Tick objects are made."""
    lo, hi = axis.get_view_interval()
    scale = axis.get_transform()
    t_lo, t_hi = (float(v) for v in scale.transform([lo, hi]))
    a, b = min(lo, hi), max(lo, hi)
    slack = 1e-9 * (b - a)
    labels, offset = [], ""
    for which in ("minor", "major"):  # major last: its formatter holds the offset text
        ticker = getattr(axis, which)
        locs = [x for x in ticker.locator() if a - slack <= x <= b + slack]
        if not locs:
            continue
        where = (scale.transform(locs) - t_lo) / ((t_hi - t_lo) or 1.0)
        labels += [(float(u), t) for u, t in zip(where, ticker.formatter.format_ticks(locs)) if t]
        if which == "major" and hasattr(ticker.formatter, "get_offset"):
            offset = ticker.formatter.get_offset()
    return labels, offset


def _tick_label_size(axis) -> float:
    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties

    size = axis.get_tick_params().get("labelsize", rcParams[f"{axis.axis_name}tick.labelsize"])
    return FontProperties(size=size).get_size_in_points()


def _axis_margins(axis, length_pt: float) -> dict[str, float]:
    """Points an axis needs beyond the axes box: ``low``/``high`` across the axis (bottom/top
    for x, left/right for y: tick labels + pad, the axis label + labelpad), ``start``/``end``
    along it (labels at the ends stick out by half their extent), ``offset`` (offset text
    height). ``length_pt``: the axis length."""
    from matplotlib import rcParams

    params = axis.get_tick_params()
    is_x = axis.axis_name == "x"
    low_key, high_key = ("labelbottom", "labeltop") if is_x else ("labelleft", "labelright")
    size = _tick_label_size(axis)
    need = dict.fromkeys(("low", "high", "start", "end", "offset"), 0.0)
    labels, offset = _shown_tick_labels(axis) if (params.get(low_key) or params.get(high_key)) else ([], "")
    across = 0.0
    for where, text in labels:
        w, h = _text_extent_pt(text, size)
        along, ext = (w, h) if is_x else (h, w)
        across = max(across, ext)
        need["start"] = max(need["start"], 0.5 * along - where * length_pt)
        need["end"] = max(need["end"], 0.5 * along - (1.0 - where) * length_pt)
    pad = params.get("pad", rcParams[f"{axis.axis_name}tick.major.pad"])
    direction = params.get("direction", rcParams[f"{axis.axis_name}tick.direction"])
    if direction != "in":  # outward ticks push their labels out by the tick length
        length = params.get("length", rcParams[f"{axis.axis_name}tick.major.size"])
        pad += length if direction == "out" else 0.5 * length
    for side, key in (("low", low_key), ("high", high_key)):
        if params.get(key) and across:
            need[side] += pad + across
    label = axis.label.get_text()
    if label and axis.label.get_visible():
        side = "low" if axis.get_label_position() in ("bottom", "left") else "high"
        label_w, label_h = _text_extent_pt(label, axis.label.get_size())
        need[side] += axis.labelpad + label_h
        beyond = 0.5 * (label_w - length_pt)  # a label longer than a flat panel: centred, it sticks out at both ends
        need["start"], need["end"] = max(need["start"], beyond), max(need["end"], beyond)
    if offset:
        need["offset"] = _text_extent_pt(offset, size)[1]
    return need


def _axes_needs(ax, box=None) -> dict[str, float]:
    """Points an axes needs around its box (``box``: where it will be drawn, figure
    fraction; default its position) on each side: texts only, colour bars apart."""
    from matplotlib import rcParams

    box = ax.get_position() if box is None else box
    fig = ax.get_figure(root=True)
    x = _axis_margins(ax.xaxis, box.width * fig.get_figwidth() * 72.0)
    y = _axis_margins(ax.yaxis, box.height * fig.get_figheight() * 72.0)
    need = {"left": max(y["low"], x["start"]), "right": max(y["high"], x["end"]),
            "bottom": max(x["low"], y["start"]), "top": max(x["high"], y["end"])}
    if x["offset"]:  # below the x tick labels, at the right end
        need["bottom"] += x["offset"] + rcParams["xtick.major.pad"]
    if y["offset"]:  # above the y axis
        need["top"] = max(need["top"], y["offset"] + 2.0)
    above = _legend_above_height_pt(ax)
    if ax.get_title() and ax.title.get_visible():
        need["top"] = max(need["top"], rcParams["axes.titlepad"] + above
                          + _text_extent_pt(ax.get_title(), ax.title.get_size())[1])
    need["top"] = max(need["top"], above)
    return need


_LEGEND_ABOVE_GID = "eisfit-legend-above"


def _legend_extent_pt(legend) -> tuple[float, float]:
    """(width, height) of a legend in points, measured with the module's small renderer."""
    _text_extent_pt("lp", SMALL_PT)  # makes the renderer
    box = legend.get_window_extent(_measure_renderer)
    scale = 72.0 / _MEASURE_DPI
    return box.width * scale, box.height * scale


def _legend_above_height_pt(ax) -> float:
    """Height (points) of the legend :func:`_legend_above` put above the box of ``ax``; 0 without one."""
    legend = ax.get_legend()
    if legend is None or legend.get_gid() != _LEGEND_ABOVE_GID:
        return 0.0
    return _legend_extent_pt(legend)[1]


_LEGEND_ABOVE_STYLE = dict(frameon=False, fontsize=SMALL_PT, loc="lower left", bbox_to_anchor=(0.0, 1.0),
                           borderaxespad=0.2, borderpad=0.1, columnspacing=1.0, handletextpad=0.4, handlelength=1.6)


def _legend_above_size(ax, handles, labels) -> tuple[int, float]:
    """(columns, height in points) of the legend :func:`_legend_above` draws above ``ax``: in as
    many columns as the panel's width holds (measured on legends not attached to ``ax``)."""
    from matplotlib.legend import Legend

    fig = ax.get_figure(root=True)
    width_pt = ax.get_position().width * fig.get_figwidth() * 72.0
    for ncol in range(len(labels), 0, -1):
        width, height = _legend_extent_pt(Legend(ax, handles, labels, ncol=ncol, **_LEGEND_ABOVE_STYLE))
        if width <= width_pt - _LEGEND_MARGIN_PT:
            break
    return ncol, height


_LEGEND_MARGIN_PT = 3.0  # room kept beside a legend above a panel (the layout may still narrow the panel a little)
_LEGEND_HANDLE_PT = 24.0  # a legend entry's marker and the space before its text


def _legend_labels_that_fit(ax, handles, labels) -> list[str]:
    """``labels`` as they are where a one-column legend of them fits the width of ``ax``; else
    each too long for it broken into lines before a "(": "extrapolated (arc apex at or beyond
    the end of the data)" had run 2 px past the figure's edge above a narrow right-hand panel."""
    from matplotlib.legend import Legend

    fig = ax.get_figure(root=True)
    width_pt = ax.get_position().width * fig.get_figwidth() * 72.0 - _LEGEND_MARGIN_PT
    if _legend_extent_pt(Legend(ax, handles, labels, ncol=1, **_LEGEND_ABOVE_STYLE))[0] <= width_pt:
        return list(labels)
    room_pt = width_pt - _LEGEND_HANDLE_PT
    return [_wrapped(label, room_pt, SMALL_PT, breaks=r" (?=\()") if _text_extent_pt(label, SMALL_PT)[0] > room_pt
            else label for label in labels]


def _legend_above(ax, handles, labels) -> None:
    """The legend of a panel above its box, below its title (which moves up to make room), in
    as many columns as the panel's width holds: outside the axes it covers no data (``loc="best"``
    inside an evolution panel with points from edge to edge had sat on them)."""
    from matplotlib import rcParams

    labels = _legend_labels_that_fit(ax, handles, labels)
    ncol, height_pt = _legend_above_size(ax, handles, labels)
    if any("\n" in label for label in labels):  # a label of two lines measures ~3 pt short of its drawn height
        height_pt += _LEGEND_MARGIN_PT
    legend = ax.legend(handles, labels, ncol=ncol, **_LEGEND_ABOVE_STYLE)
    legend.set_gid(_LEGEND_ABOVE_GID)
    ax.set_title(ax.get_title(), pad=rcParams["axes.titlepad"] + height_pt, fontsize=ax.title.get_fontsize())


def _child_bar_needs(ax, fig_w_pt: float, fig_h_pt: float) -> dict[str, float]:
    """Points needed right of, above and below the box of ``ax`` by its inset colour bars
    (the bar, its tick labels and label)."""
    need = {"right": 0.0, "top": 0.0, "bottom": 0.0}
    box = None
    for child in ax.child_axes:
        locator = child.get_axes_locator()
        if locator is None or not child.get_visible():
            continue
        if box is None:
            box = ax.get_position()  # after apply_aspect: the drawn box
        bar = locator(child, None)
        own = _axes_needs(child, bar)
        need["right"] = max(need["right"], (bar.x1 - box.x1) * fig_w_pt + own["right"])
        need["top"] = max(need["top"], (bar.y1 - box.y1) * fig_h_pt + own["top"])
        need["bottom"] = max(need["bottom"], (box.y0 - bar.y0) * fig_h_pt + own["bottom"])
    return need


def _fixed_layout(fig, suptitle_gap_pt: float = 2.0) -> None:
    """Place the grid axes of ``fig`` (made by this module without a layout engine) so that
    every tick label, axis label, title, suptitle and inset colour bar fits, with
    :data:`_PAD_PT` around them; the gaps between rows and between columns are the widest
    needed. Measured twice: tick locators depend on the axes size."""
    main = [ax for ax in fig.axes if ax.get_subplotspec() is not None and ax.get_visible()]
    if not main:
        return
    grid = main[0].get_subplotspec().get_gridspec()
    nrows, ncols = grid.get_geometry()
    w_pt, h_pt = fig.get_figwidth() * 72.0, fig.get_figheight() * 72.0
    sup = fig._suptitle  # no public getter for the Text
    sup_h = (_text_extent_pt(sup.get_text(), sup.get_size())[1] + suptitle_gap_pt
             if sup is not None and sup.get_text() else 0.0)
    for _ in range(2):
        needs = []
        for ax in main:
            need = _axes_needs(ax)
            for side, pt in _child_bar_needs(ax, w_pt, h_pt).items():
                need[side] = max(need[side], pt)
            ss = ax.get_subplotspec()
            needs.append((ss.rowspan, ss.colspan, need))
        left = max((n["left"] for r, c, n in needs if c.start == 0), default=0.0) + _PAD_PT
        right = max((n["right"] for r, c, n in needs if c.stop == ncols), default=0.0) + _PAD_PT
        bottom = max((n["bottom"] for r, c, n in needs if r.stop == nrows), default=0.0) + _PAD_PT
        top = max((n["top"] for r, c, n in needs if r.start == 0), default=0.0) + _PAD_PT + sup_h
        wgap = max((max((n["right"] for r, c, n in needs if c.stop == j), default=0.0)
                    + max((n["left"] for r, c, n in needs if c.start == j), default=0.0)
                    for j in range(1, ncols)), default=0.0) + 2 * _PAD_PT
        hgap = max((max((n["bottom"] for r, c, n in needs if r.stop == i), default=0.0)
                    + max((n["top"] for r, c, n in needs if r.start == i), default=0.0)
                    for i in range(1, nrows)), default=0.0) + 2 * _PAD_PT
        cell_w = max((w_pt - left - right - (ncols - 1) * wgap) / ncols, 10.0)
        cell_h = max((h_pt - top - bottom - (nrows - 1) * hgap) / nrows, 10.0)
        grid.update(left=left / w_pt, right=1.0 - right / w_pt, bottom=bottom / h_pt,
                    top=1.0 - top / h_pt, wspace=wgap / cell_w, hspace=hgap / cell_h)
        for ax in main:
            ax.set_subplotspec(ax.get_subplotspec())  # moves the axes to its updated cell
    if sup_h:
        sup.set_y(1.0 - _PAD_PT / h_pt)
        sup.set_verticalalignment("top")


def _row_heights_pt(fig, main) -> list[float]:
    """The height (points) each grid row of ``fig`` needs for its panels at their cells'
    widths: an equal-aspect panel (``adjustable="box"``) needs its cell's width x its data
    ratio (the box it is drawn in), any other panel its whole cell."""
    grid = main[0].get_subplotspec().get_gridspec()
    w_pt, h_pt = fig.get_figwidth() * 72.0, fig.get_figheight() * 72.0
    need = [0.0] * grid.get_geometry()[0]
    for ax in main:
        cell = ax.get_position(original=True)
        height = cell.height * h_pt
        if ax.get_adjustable() == "box" and ax.get_aspect() != "auto":
            height = min(height, cell.width * w_pt * float(ax.get_aspect()) * ax.get_data_ratio())
        rows = ax.get_subplotspec().rowspan
        for row in rows:
            need[row] = max(need[row], height / len(rows))
    return need


def _fit_height_to_panels(fig, max_height_in: float, min_row_pt: float = 12.0) -> None:
    """Lay ``fig`` out (:func:`_fixed_layout`) with its height fitted to its panels' content:
    each grid row as tall as its tallest panel at its cell's width (:func:`_row_heights_pt`,
    at least ``min_row_pt`` points), the texts and colour bars around them, the whole at
    most ``max_height_in`` inches (then rows share it in proportion). Equal-aspect panels
    of flat spectra had sat in rows two or three times their height (a 32-sweep overlay a
    0.3 in strip in its figure, fits.png of 240 checkpoints ~60 % blank)."""
    main = [ax for ax in fig.axes if ax.get_subplotspec() is not None and ax.get_visible()]
    _fixed_layout(fig)
    if not main:
        return
    grid = main[0].get_subplotspec().get_gridspec()
    for _ in range(3):  # margins and tick labels depend on the sizes: settle in a few rounds
        need = [max(h, min_row_pt) for h in _row_heights_pt(fig, main)]
        h_pt = fig.get_figheight() * 72.0
        cells = grid.get_grid_positions(fig)  # bottoms, tops of the rows (figure fraction)
        now = sum(float(t - b) for b, t in zip(cells[0], cells[1])) * h_pt
        height = min(h_pt - now + sum(need), max_height_in * 72.0)
        if abs(height - h_pt) < 0.5 and list(grid.get_height_ratios() or []) == need:
            break
        fig.set_figheight(height / 72.0)
        grid.set_height_ratios(need)
        _fixed_layout(fig)


def _new_axes(ax, size=(COLUMN_IN, 2.6), layout: str | None = "constrained"):
    """The given axes, or the axes of a new single-column figure."""
    if ax is not None:
        return ax
    return _new_figure(*size, layout=layout).add_subplot()


def _refuse_ax(function: str, ax) -> None:
    if ax is not None:
        raise TypeError(f"{function}() draws several panels: pass fig= (a Figure or SubFigure), "
                        f"not ax=; one-panel functions such as plot_nyquist() take ax=")


_SUPERSCRIPT = str.maketrans("0123456789-−", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁻")


def _plain_power(label: str) -> str:
    """A log-axis tick label of matplotlib's mathtext form ($\\mathdefault{2\\times10^{-3}}$)
    as plain text with Unicode superscripts (2×10⁻³): it looks the same and is laid out
    without the mathtext parser (which took ~20 ms per label, per output resolution).
    Anything else is returned unchanged."""
    import re

    if not (len(label) > 2 and label.startswith("$") and label.endswith("$")):
        return label
    body = label[1:-1]
    if body.startswith("\\mathdefault{") and body.endswith("}"):
        body = body[len("\\mathdefault{"):-1]
    body = re.sub(r"\^\{([-−]?[0-9]+)\}", lambda m: m.group(1).translate(_SUPERSCRIPT), body)
    body = body.replace("\\times", "×").replace("-", "−")
    return label if any(c in body for c in "\\{}^$_") else body


@_functools.lru_cache(maxsize=1)
def _plain_log_formatter_class():
    from matplotlib.ticker import LogFormatterSciNotation

    class PlainLogFormatter(LogFormatterSciNotation):
        """LogFormatterSciNotation whose labels are plain text (10³, 2×10⁻²)."""

        def __call__(self, x, pos=None):
            return _plain_power(super().__call__(x, pos))

    return PlainLogFormatter


def _plain_log_labels(axis) -> None:
    """Plain-text power labels on a log axis (same ticks, same look as matplotlib's)."""
    if axis.get_scale() != "log":
        return
    formatter = _plain_log_formatter_class()
    base = getattr(axis.get_transform(), "base", 10.0)
    if type(axis.get_major_formatter()).__name__ == "LogFormatterSciNotation":
        axis.set_major_formatter(formatter(base))
    minor = axis.get_minor_formatter()
    if type(minor).__name__ == "LogFormatterSciNotation":
        axis.set_minor_formatter(formatter(base, labelOnlyBase=minor.labelOnlyBase))


def _style(*axes) -> None:
    """Journal style on each axes: 8-pt labels and titles, 7-pt tick labels, ticks inside,
    plain-text powers of ten on log axes."""
    for ax in axes:
        _plain_log_labels(ax.xaxis)
        _plain_log_labels(ax.yaxis)
        ax.tick_params(labelsize=SMALL_PT, direction="in", which="both", top=True, right=True)
        ax.xaxis.label.set_size(FONT_PT)
        ax.yaxis.label.set_size(FONT_PT)
        ax.title.set_size(FONT_PT)
        legend = ax.get_legend()
        if legend is not None:
            for text in legend.get_texts():
                text.set_fontsize(SMALL_PT)


def _colourbar(mappable, ax, label: str, cax=None, below: bool = False):
    """A slim colour bar beside ``ax`` (or a list of axes) with an 8-pt label. For one axes
    the bar is an inset that follows the axes box, so an equal-aspect plot keeps a bar of
    its own height instead of one as tall as the figure; with ``below``, a horizontal bar
    as wide as the box, under its x tick labels and label (:class:`_BelowAxesLocator`).
    ``cax``: draw the bar there."""
    if cax is not None:
        bar = cax.figure.colorbar(mappable, cax=cax)
    elif isinstance(ax, (list, tuple)):
        bar = ax[0].figure.colorbar(mappable, ax=ax, fraction=0.05, pad=0.02, aspect=25)
    elif below:
        cax = ax.inset_axes([0.0, -0.5, 1.0, 0.1])  # bounds replaced by the locator
        cax.set_axes_locator(_BelowAxesLocator(ax))
        bar = ax.figure.colorbar(mappable, cax=cax, orientation="horizontal")
    else:
        bar = ax.figure.colorbar(mappable, cax=ax.inset_axes([1.03, 0.0, 0.035, 1.0]))
    bar.set_label(label, size=FONT_PT)
    bar.ax.tick_params(labelsize=SMALL_PT)
    return bar


class _BelowAxesLocator:
    """Places a horizontal colour bar ``thickness_pt`` thick under ``parent``'s box, as wide as
    it, :data:`_PAD_PT` below its x tick labels and label (measured as :func:`_fixed_layout`
    measures them)."""

    def __init__(self, parent, thickness_pt: float = 5.0):
        self.parent, self.thickness_pt = parent, thickness_pt

    def __call__(self, ax, renderer):
        from matplotlib.transforms import Bbox

        fig = ax.get_figure(root=True)
        h_pt = fig.get_figheight() * 72.0
        box = self.parent.get_position()
        top = box.y0 - (_axes_needs(self.parent, box)["bottom"] + _PAD_PT) / h_pt
        return Bbox.from_extents(box.x0, top - self.thickness_pt / h_pt, box.x1, top)


def _impedance_unit(area_cm2, prefix: str = "", explained: bool = True) -> str:
    """The unit of impedance axes: Ω, or Ω·cm² with "(Z·A, per cell)" where ``explained``
    (the x label; the y label of an equal-axes Nyquist plot, often shorter than that text,
    had it cut at both ends)."""
    if not area_cm2:
        return f"{prefix}{OHM}"
    return f"{prefix}{OHM_CM2} (Z·A, per cell)" if explained else f"{prefix}{OHM_CM2}"


def _ohm_prefix(largest: float) -> tuple[float, str]:
    """(factor, SI prefix) of impedance axes whose largest magnitude is ``largest`` (Ω or
    Ω·cm²), as :func:`eisfit.units.si_scale` gives it for plot axes."""
    factor, unit = _si_scale([largest], OHM, prefix_ohm=True)
    return factor, unit[: -len(OHM)]


def _nyquist_height(width_in: float, xr: float, yr: float, extra_in: float = 0.55) -> float:
    """Figure height (in) for equal-aspect Nyquist axes of data ranges xr, yr (the axes
    are about ``width_in`` - 0.6 in wide): the axes fill the figure instead of leaving
    bands of empty canvas."""
    ratio = (yr / xr) if xr > 0 and yr > 0 else 0.6
    return float(min(max((width_in - 0.6) * min(max(ratio, 0.25), 1.2) + extra_in, 1.3), 4.5))


def _nyquist_ranges(z) -> tuple[float, float]:
    """(Z' range, −Z'' range incl. 0) of complex impedances, same unit as z."""
    z = _np.asarray(z)
    yr = max(float(_np.max(-z.imag)), 0.0) - min(float(_np.min(-z.imag)), 0.0)
    return float(_np.ptp(z.real)), yr


def evenly_chosen(n: int, n_max: int = MAX_OVERLAY_SPECTRA) -> list[int]:
    """At most ``n_max`` indices of ``range(n)``, evenly spread, first and last included."""
    if n <= n_max:
        return list(range(n))
    return sorted({int(round(x)) for x in _np.linspace(0, n - 1, n_max)})


_KINDS = {  # what each kind of object to plot must have, and how it is made
    "spectrum": (("frequency", "z"), "an eisfit.Spectrum, a FitResult or a (frequency_Hz, z_ohm) tuple of arrays "
                                     "(eisfit.read(...)[0], eisfit.fit(...))"),
    "fit": (("frequency", "z", "z_fit", "residuals_real"), "an eisfit.FitResult (eisfit.fit(...))"),
    "kk": (("frequency", "residuals_real", "mu", "n_rc"), "a KKResult (eisfit.kk_test(...))"),
    "drt": (("tau_s", "gamma_ohm", "peaks"), "a DRTResult (eisfit.drt(...); with a fit overlaid: "
                                            "plot_drt(eisfit.drt(spectrum), fit=fit_result))"),
}


def _checked_area(area_cm2: Any) -> float | None:
    """The electrode area (cm²) a figure normalises by, checked as :func:`eisfit.fit` checks
    it (:func:`eisfit._checks.positive_number_or_none`: the same FitError and message); None:
    impedances in Ω. A negative area had drawn the Nyquist plot mirrored into the third
    quadrant, 0 had silently drawn Ω, "1" raised a bare TypeError."""
    from ._checks import positive_number_or_none

    return positive_number_or_none("area_cm2", area_cm2)


def _spectrum_data(data, function: str):
    """``data`` of a plot of spectra (:func:`plot_nyquist`, :func:`plot_bode`): a Spectrum or a
    FitResult as given, a ``(frequency_Hz, z_ohm)`` tuple of arrays as a Spectrum
    (:func:`eisfit.spectrum.as_spectrum`, as :func:`eisfit.fit`, ``kk_test`` and ``drt`` take
    it; the plots had refused it); else the DataError of :func:`_require`."""
    if isinstance(data, tuple):
        from .spectrum import as_spectrum

        return as_spectrum(data, f"{function}()")
    _require(data, "spectrum", function)
    return data


def _require(obj, kind: str, function: str) -> None:
    """DataError (one eisfit message) unless ``obj`` has what ``function`` plots of ``kind``:
    plot_drt(fit_result) raised AttributeError: 'FitResult' object has no attribute 'tau_s'."""
    attrs, wanted = _KINDS[kind]
    if not all(hasattr(obj, a) for a in attrs):
        from .errors import DataError

        raise DataError(f"{function}() plots {wanted}, got {type(obj).__name__}")


# ---- end section: style helpers -------------------------------------------------------

# ---- section: spectrum and fit plots (fitting) ----------------------------


def _dense_frequency(f, per_decade: int = 30):
    lo, hi = _np.log10(_np.min(f)), _np.log10(_np.max(f))
    return _np.logspace(hi, lo, max(int((hi - lo) * per_decade), 2) + 1)


def plot_nyquist(data: Spectrum | FitResult, ax: Axes | None = None, fit: FitResult | None = None,
                 area_cm2: float | None = None, label: str | None = None) -> Axes:
    """Nyquist plot, −Z'' against Z' (Ω, or Ω·cm² = Z·A per cell with ``area_cm2``), equal axes.

    ``data`` is a :class:`~eisfit.Spectrum`, a ``(frequency_Hz, z_ohm)`` tuple of arrays (as
    :func:`eisfit.fit` takes) or a :class:`~eisfit.FitResult` (then its fitted points and
    model are drawn); ``fit`` a FitResult drawn over a Spectrum.
    Arc apexes of a fit are marked with their frequency, the labels inside the axes (one
    label for apexes at the same point, a label raised above a neighbour it would touch); an
    apex of an arc the fit's flags or standard errors leave undetermined (arcs-unresolved,
    unresolved, stderr >= value) is an open grey marker without a label, named in the
    legend. Where the arcs are a corner of the plot (a tail or a much larger arc sets its
    scale), an inset magnifies them, whole: down to the end of an arc (a valley of −Z''),
    captioned with its unit, placed where it and its tick labels hide no points, curves or
    apex labels (where there is such a place), the legend in a corner off it. Where the
    legend, once the figure is laid out, would cover a point or the fit curve (points that fill
    the box leave no free corner), it goes above the box, below the title. Both
    axes have the same scale; the limits are the extents of the points and curves (−Z''
    from just below 0), stretched upwards or sideways only as far as the axes' cell leaves
    room, and the box takes the aspect (``adjustable="box"``, a given axes too). In a figure of
    your own, call :func:`keep_apex_labels_inside` once its other panels are placed (it also
    moves a legend that covers data above the box). Returns the Axes.
    """
    data = _spectrum_data(data, "plot_nyquist")
    area_cm2 = _checked_area(area_cm2)
    if fit is None and hasattr(data, "z_fit"):
        fit = data
    z = data.z
    own_axes = ax is None
    if own_axes:
        ax = _new_axes(None, (COLUMN_IN, _nyquist_height(COLUMN_IN, *_nyquist_ranges(z))))
        ax._eisfit_own_figure = True  # a legend moved above the box makes the figure taller, not the box smaller
    # one prefix per axes: spectra drawn into the same axes keep the first one's (an 8 kΩ arc
    # after a 20 kΩ one would read 8009.8 under "kΩ")
    factor, prefix = getattr(ax, "_eisfit_ohm_prefix", None) or _ohm_prefix(
        float(_np.max(_np.abs(z))) * (area_cm2 or 1.0))
    ax._eisfit_ohm_prefix = (factor, prefix)
    scale = (area_cm2 or 1.0) / factor
    unit = _impedance_unit(area_cm2, prefix)
    ax.plot(z.real * scale, -z.imag * scale, "o", ms=3, mfc="none", mew=0.8, label=label or "data")
    fd = _dense_frequency(fit.frequency) if fit is not None else None
    zm = fit.model_impedance(fd) if fit is not None else None
    zoom = _zoom_points(z, data.frequency, fd, zm)
    inset = None
    if zoom is not None:  # the arcs are a corner of the plot (a long tail or one large arc sets its scale)
        inset = ax.inset_axes(_INSET_BOX)
        inset._eisfit_nyquist_inset = True
        inset.plot(z.real[zoom] * scale, -z.imag[zoom] * scale, "o", ms=2.5, mfc="none", mew=0.7)
    if fit is not None:
        ax.plot(zm.real * scale, -zm.imag * scale, "-", lw=1.2, label="fit")
        _draw_apexes(ax, inset, fit, z, zoom, zm, scale)
        if inset is not None:  # the model over the inset's frequencies
            near = fd >= float(_np.min(data.frequency[zoom])) * (1.0 - 1e-9)
            inset.plot(zm.real[near] * scale, -zm.imag[near] * scale, "-", lw=1.0, color="C1")
    ax.set_xlabel(f"Z' / {unit}")
    ax.set_ylabel(f"−Z'' / {_impedance_unit(area_cm2, prefix, explained=False)}")
    ax.axhline(0, color="0.6", lw=0.5)
    # equal scales on both axes, the limits the data's extents: the box takes their aspect
    _frame_nyquist(ax, _box_size_pt(ax))
    if inset is not None:
        inset.tick_params(labelsize=SMALL_PT - 1, length=2)
        _style(inset)
        width_pt, height_pt = _box_size_pt(ax)
        _frame_nyquist(inset, (_INSET_BOX[2] * width_pt, _INSET_BOX[3] * height_pt), fill=False)
        inset.set_title(f"zoom, {_impedance_unit(area_cm2, prefix, explained=False)}", fontsize=SMALL_PT - 1,
                        pad=0.5 * (SMALL_PT - 1) + 1.0)  # above the top tick label's upper half
        _place_inset(ax, inset)
        ax.indicate_inset_zoom(inset, edgecolor="0.5", lw=0.6)
        if not own_axes:  # a figure of its own is laid out first (keep_apex_labels_inside thins them then)
            _thin_inset_ticks(ax)
    ax.legend(fontsize=SMALL_PT, loc="best", frameon=False)
    if inset is not None:  # "best" sees the lines of ax, not its inset
        _place_legend_off_inset(ax, inset)
    _style(ax)
    if own_axes:
        keep_apex_labels_inside(ax)
    return ax


_ZOOM_MODULUS_SHARE = 0.25  # the inset shows the points with |Z| up to this share of the largest
_ZOOM_MIN_FACTOR = 3.0  # ... and up to this multiple of the smallest (the arcs above R0, not a tail)
_ZOOM_MAX_EXTENT = 0.3  # ... when they span less than this share of the plot's range (both axes)
_ZOOM_MIN_POINTS = 6
_APEX_LABEL_GAP_PT = 2.0  # at least this much between two apex labels that would overlap: the upper one is raised
_APEX_SCALE_SLACK = 1.25  # the data-per-point scale of a Nyquist panel is estimated before its layout: this much larger
UNDETERMINED_APEX_LABEL = "apex of an undetermined arc"  # legend entry of the open grey apex markers
UNDETERMINED_R_LABEL = "Ω?: resistance not determined by the data"  # legend entry of a DRT plot's "R Ω?" labels
_INSET_BOX = (0.06, 0.52, 0.42, 0.42)  # where an inset is made (axes fraction); its size stays, :func:`_place_inset` moves it
_INSET_TICKS_PT = (24.0, 12.0, 3.0, 10.0)  # room (left, bottom, right, top; points) an inset's tick labels and caption take
_INSET_GAP = 0.03  # share of the axes kept between an inset's tick labels and the frame of ``ax``


class _AxesFractionLocator:
    """Places an inset at ``bounds`` (x0, y0, width, height in the axes fraction of ``parent``),
    as ``Axes.inset_axes`` does, with bounds that can be chosen once the parent's limits are set."""

    def __init__(self, parent, bounds):
        self.parent, self.bounds = parent, tuple(bounds)

    def __call__(self, ax, renderer):
        from matplotlib.transforms import Bbox, TransformedBbox

        return TransformedBbox(Bbox.from_bounds(*self.bounds),
                               self.parent.transAxes - ax.get_figure(root=False).transSubfigure)


def _drawn_box_pt(ax) -> tuple[float, float]:
    """(width, height) of the box of ``ax`` in points: as drawn once the figure was laid out
    (``_eisfit_laid_out``), else as estimated before the layout (:func:`_box_size_pt`)."""
    if not getattr(ax, "_eisfit_laid_out", False):
        return tuple(max(v, 1.0) for v in _box_size_pt(ax))
    box = ax.get_window_extent()
    scale = 72.0 / ax.get_figure(root=True).dpi
    return max(box.width * scale, 1.0), max(box.height * scale, 1.0)


def _occupied_fractions(ax) -> "_np.ndarray":
    """(n, 2) axes-fraction positions of everything drawn in ``ax`` in data coordinates: the
    points and curves of its lines and the corners of its apex labels (estimated)."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    width_pt, height_pt = _drawn_box_pt(ax)
    per_pt_x, per_pt_y = (x1 - x0) / width_pt, (y1 - y0) / height_pt
    xs, ys = [], []
    for line in ax.get_lines():
        if line.get_transform() == ax.transData and len(line.get_xdata()):
            xs.append(_np.asarray(line.get_xdata(), float))
            ys.append(_np.asarray(line.get_ydata(), float))
    for label in _apex_labels(ax):
        half_w, above = _label_room_pt(label)
        x, y = (float(v) for v in label.xy)
        xs.append(_np.array([x - half_w * per_pt_x, x + half_w * per_pt_x] * 2))
        ys.append(_np.array([y, y, y + above * per_pt_y, y + above * per_pt_y]))
    if not xs:
        return _np.zeros((0, 2))
    x, y = _np.concatenate(xs), _np.concatenate(ys)
    ok = _np.isfinite(x) & _np.isfinite(y)
    return _np.column_stack([(x[ok] - x0) / (x1 - x0), (y[ok] - y0) / (y1 - y0)])


def _points_in(points, box) -> int:
    """How many of ``points`` (axes fraction) lie in ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    return int(((points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)).sum())


def _inset_room(ax, inset) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1), axes fraction of ``ax``: the box of ``inset`` with its tick labels and caption."""
    width_pt, height_pt = _drawn_box_pt(ax)
    bx, by, bw, bh = inset.get_axes_locator().bounds
    left, bottom, right, top = _inset_ticks_pt(inset)
    return bx - left / width_pt, by - bottom / height_pt, bx + bw + right / width_pt, by + bh + top / height_pt


_INSET_SHRINK = (1.0, 0.85, 0.7, 0.55)  # an inset that covers data wherever it goes is tried this much smaller
_INSET_GRID = (17, 13)  # the places an inset is tried at: this many across and up


def _inset_ticks_pt(inset) -> tuple[float, float, float, float]:
    """Room (left, bottom, right, top; points) the tick labels and caption of a Nyquist ``inset``
    take beside its box: as measured on the figure drawn (:func:`_measure_inset_ticks`), at
    least :data:`_INSET_TICKS_PT` (the estimate before the layout; the measured ones of a small
    figure's inset, "1500" under a narrow box, had been wider and had covered points)."""
    measured = getattr(inset, "_eisfit_ticks_pt", None) or _INSET_TICKS_PT
    return tuple(max(a, b) for a, b in zip(measured, _INSET_TICKS_PT))


def _measure_inset_ticks(inset) -> None:
    """Keep on ``inset`` (drawn once) the room its tick labels and caption take beside its box,
    points (:func:`_inset_ticks_pt`), plus 1 pt."""
    fig = inset.get_figure(root=True)
    room, box = inset.get_tightbbox(fig.canvas.get_renderer()), inset.get_window_extent()
    scale = 72.0 / fig.dpi
    inset._eisfit_ticks_pt = tuple(max(v * scale, 0.0) + 1.0 for v in (box.x0 - room.x0, box.y0 - room.y0,
                                                                        room.x1 - box.x1, room.y1 - box.y1))


def _place_inset(ax, inset) -> None:
    """Move the Nyquist ``inset`` of ``ax`` (limits of both set) to where it, its tick labels and
    its caption cover the fewest points, curves and apex labels, at least :data:`_INSET_GAP`
    from the frame (its tick labels had sat against the main y axis, reading as one axis with
    mixed numbers, and the inset over the data of a steep spectrum): of the places on a grid
    that cover least, the one nearest a corner (upper left first). Its box takes the inset's
    equal aspect within the :data:`_INSET_BOX` size, or a smaller one (:data:`_INSET_SHRINK`)
    where only that covers nothing; the places tried are a grid of :data:`_INSET_GRID`."""
    width_pt, height_pt = _drawn_box_pt(ax)
    left, bottom, right, top = _inset_ticks_pt(inset)
    (x0, x1), (y0, y1) = inset.get_xlim(), inset.get_ylim()
    aspect = (y1 - y0) / max(x1 - x0, 1e-300)  # of the data: equal scales on both axes
    points = _occupied_fractions(ax)
    best = None
    for shrink in _INSET_SHRINK:
        w, h = shrink * _INSET_BOX[2], shrink * _INSET_BOX[3]
        if h * height_pt > aspect * w * width_pt:
            h = aspect * w * width_pt / height_pt
        else:
            w = h * height_pt / (aspect * width_pt)
        lo_x, hi_x = _INSET_GAP + left / width_pt, 1.0 - _INSET_GAP - right / width_pt - w
        lo_y, hi_y = _INSET_GAP + bottom / height_pt, 1.0 - _INSET_GAP - top / height_pt - h
        corners = [(lo_x, hi_y), (hi_x, hi_y), (hi_x, lo_y), (lo_x, lo_y)]
        for bx in _np.linspace(lo_x, max(hi_x, lo_x), _INSET_GRID[0]):
            for by in _np.linspace(lo_y, max(hi_y, lo_y), _INSET_GRID[1]):
                room = (bx - left / width_pt, by - bottom / height_pt, bx + w + right / width_pt,
                        by + h + top / height_pt)
                near = min((abs(bx - cx) + abs(by - cy), k) for k, (cx, cy) in enumerate(corners))
                score = (_points_in(points, room), near)
                if best is None or score < best[0]:
                    best = (score, (float(bx), float(by), w, h))
        if best[0][0] == 0:
            break
    inset.set_axes_locator(_AxesFractionLocator(ax, best[1]))


def _place_legend_off_inset(ax, inset) -> None:
    """Move the legend of ``ax`` to the corner that stays off ``inset`` (with its tick labels) and
    covers the fewest points (:func:`_free_corner`)."""
    legend = _legend_inside(ax)
    if legend is not None:
        legend.set_loc(_free_corner(ax, _legend_extent_pt(legend), _inset_room(ax, inset)))


def _free_corner(ax, size_pt: tuple[float, float], avoid: tuple[float, float, float, float]) -> str:
    """The ``loc`` of a legend of ``size_pt`` (width, height; points) in ``ax`` that stays off the
    box ``avoid`` (axes fraction) and covers the fewest points there (:func:`_occupied_fractions`)."""
    width_pt, height_pt = _drawn_box_pt(ax)
    w, h = size_pt[0] / width_pt, size_pt[1] / height_pt
    pad_x, pad_y = 0.5 * SMALL_PT / width_pt, 0.5 * SMALL_PT / height_pt  # borderaxespad
    points = _occupied_fractions(ax)
    boxes = {"lower right": (1 - pad_x - w, pad_y), "upper right": (1 - pad_x - w, 1 - pad_y - h),
             "upper left": (pad_x, 1 - pad_y - h), "lower left": (pad_x, pad_y)}
    scores = []
    for loc, (x0, y0) in boxes.items():
        box = (x0, y0, x0 + w, y0 + h)
        apart = box[2] < avoid[0] or box[0] > avoid[2] or box[3] < avoid[1] or box[1] > avoid[3]
        scores.append((not apart, _points_in(points, box), loc))
    return min(scores, key=lambda t: (t[0], t[1]))[2]


_APEX_LABEL_GID = "eisfit-apex-label"
_NYQUIST_MARGIN = 0.03  # share of the larger data range kept free around the points of a Nyquist plot
_LAYOUT_SHARE = 0.85  # share of an axes' cell its box keeps once tick labels and axis labels are placed


def _box_size_pt(ax) -> tuple[float, float]:
    """(width, height) in points that the box of ``ax`` will about have once laid out: its cell
    (figure fraction, before the layout) less room for tick and axis labels."""
    box = ax.get_position(original=True)
    fig = ax.get_figure(root=True)
    return (_LAYOUT_SHARE * box.width * fig.get_figwidth() * 72.0,
            _LAYOUT_SHARE * box.height * fig.get_figheight() * 72.0)


def _apex_labels(ax) -> list:
    """The apex labels drawn in ``ax`` (annotations tagged by :func:`plot_nyquist`)."""
    return [t for t in ax.texts if t.get_gid() == _APEX_LABEL_GID]


def _label_room_pt(label) -> tuple[float, float]:
    """(half width, height above the anchor) of an apex label, points: its text, its offset
    above the marker and its box padding."""
    width, height = _text_extent_pt(label.get_text(), label.get_fontsize())
    return 0.5 * width + 2.0, float(label.xyann[1]) + height + 3.0


def _frame_nyquist(ax, box_pt: tuple[float, float], fill: bool = True) -> None:
    """Equal scales on both axes (``adjustable="box"``) with limits that the data fill: the
    extents of every line drawn in ``ax`` with a small margin, −Z'' from just below 0 (or its
    lowest point), with room for the apex labels; with ``fill``, stretched where the box
    (``box_pt``: about its width and height in points) leaves room, upwards or on both sides
    of Z'; without, the box shrinks to the limits' aspect (an inset)."""
    lines = [line for line in ax.get_lines() if len(line.get_xdata())
             and line.get_transform() == ax.transData]
    if not lines:
        return
    xs = _np.concatenate([_np.asarray(line.get_xdata(), float) for line in lines])
    ys = _np.concatenate([_np.asarray(line.get_ydata(), float) for line in lines])
    ok = _np.isfinite(xs) & _np.isfinite(ys)
    if not ok.any():
        return
    x0, x1 = float(xs[ok].min()), float(xs[ok].max())
    y0, y1 = min(float(ys[ok].min()), 0.0), float(ys[ok].max())
    pad = _NYQUIST_MARGIN * (max(x1 - x0, y1 - y0) or 1.0)
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    left_end = min(x0, -pad)  # a stretched Z' range goes no further below 0 than the data do
    width_pt, height_pt = max(box_pt[0], 1.0), max(box_pt[1], 1.0)
    labels = [(float(t.xy[0]), float(t.xy[1]), *_label_room_pt(t)) for t in _apex_labels(ax)]
    for _ in range(4):  # each stretch changes the scale the labels' room is measured in
        per_pt = max((x1 - x0) / width_pt, (y1 - y0) / height_pt)  # data units per point
        for x, y, half_w, above in labels:
            y1 = max(y1, y + above * per_pt)
            x0, x1 = min(x0, x - half_w * per_pt), max(x1, x + half_w * per_pt)
        if not fill:
            continue
        if (y1 - y0) / (x1 - x0) < height_pt / width_pt:
            y1 = y0 + (x1 - x0) * height_pt / width_pt
        else:
            widen = 0.5 * ((y1 - y0) * width_pt / height_pt - (x1 - x0))
            x0, x1 = max(x0 - widen, left_end), x1 + widen + max(left_end - (x0 - widen), 0.0)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")


def keep_apex_labels_inside(ax: Axes) -> None:
    """Lay the figure of ``ax`` out and raise the top (or widen the sides) of ``ax`` and of its
    inset where an apex label still crosses the frame, until none does (at most 3 rounds); then
    place the inset (on the tick labels' room as measured) and the legend again; put the
    legend above the box where it covers data (:func:`_legend_off_data`); then the apex
    labels off the data, the legend and the inset (:func:`_place_apex_labels`).
    :func:`plot_nyquist` does it for a figure of its own, :func:`plot_fit` once its panels
    are placed; call it after placing a Nyquist plot in a figure of yours."""
    insets = [inset for inset in ax.child_axes if getattr(inset, "_eisfit_nyquist_inset", False)]
    _place_insets_on_drawn_box(ax, insets)
    drawn = _labels_inside_frame(ax)
    if _legend_off_data(ax, drawn):  # the title moved up (the figure grew, or the box shrank): placed and measured again
        _place_insets_on_drawn_box(ax, insets)
        _labels_inside_frame(ax)
    _thin_inset_ticks(ax)
    _place_apex_labels(ax, insets)


def _place_insets_on_drawn_box(ax, insets) -> None:
    """Place the Nyquist ``insets`` of ``ax``, and the legend of ``ax`` where it is inside the
    box, again on the box as drawn and on the room the insets' tick labels take there."""
    if not insets:
        return
    ax.get_figure(root=True).draw_without_rendering()
    ax._eisfit_laid_out = True
    _thin_inset_ticks(ax)
    for inset in insets:
        _measure_inset_ticks(inset)
        _place_inset(ax, inset)
        _place_legend_off_inset(ax, inset)


def _labels_inside_frame(ax, rounds: int = 3) -> bool:
    """Draw the figure of ``ax`` and stretch the limits of ``ax`` and of its inset until their
    apex labels are inside their boxes (:func:`_make_room`), at most ``rounds`` times. True
    when the figure as last drawn is the figure as it is (the last round moved nothing)."""
    fig = ax.get_figure(root=True)
    for _ in range(rounds):
        fig.draw_without_rendering()
        moved = False
        for target in (ax, *ax.child_axes):
            moved |= _make_room(target)
        if not moved:
            return True
    return False


def _legend_inside(ax):
    """The legend of ``ax`` where it lies inside the box, or None (no legend, or one that
    :func:`_legend_above` put above the box)."""
    legend = ax.get_legend()
    return None if legend is None or legend.get_gid() == _LEGEND_ABOVE_GID else legend


def _legend_off_data(ax, drawn: bool = False) -> bool:
    """Keep the legend of the Nyquist plot ``ax`` (laid out and drawn once) where it lies when
    it covers no data point, marker or curve (:func:`_drawn_points_px`, :func:`_legend_covers`),
    pinned there (:func:`_freeze_legend`); else put it above the box (:func:`_legend_above`):
    points that fill an equal-aspect box leave no free corner, and ``loc="best"`` had sat on
    some. A figure of the plot's own grows by the legend's height, the box keeping its size; in
    a panel of another figure the legend stays where it is when, above, it would be taller than
    :data:`_LEGEND_ABOVE_MAX_SHARE` of the box (the box would shrink by as much: a 2 x 1.6 in
    figure's had shrunk to a fifth of its width). True when the legend moved above.
    ``drawn``: the figure as last drawn is as it is (not drawn again: a draw is ~0.1-0.3 s of
    a fit figure)."""
    legend = _legend_inside(ax)
    if legend is None:
        return False
    fig = ax.get_figure(root=True)
    if not drawn:
        fig.draw_without_rendering()
    handles, labels = ax.get_legend_handles_labels()
    own = getattr(ax, "_eisfit_own_figure", False)
    box_height_px = ax.get_window_extent().height
    if (_legend_covers(ax, *_drawn_points_px(ax)) == 0
            or not own and _legend_above_size(ax, handles, labels)[1] * fig.dpi / 72.0
            > _LEGEND_ABOVE_MAX_SHARE * box_height_px):
        _freeze_legend(ax)
        return False
    _legend_above(ax, handles, labels)
    if own:
        _regain_box_height(ax, box_height_px)
    return True


_LEGEND_ABOVE_MAX_SHARE = 0.25  # a legend above a panel of another figure is at most this share of its box's height


def _regain_box_height(ax, height_px: float) -> None:
    """Make the figure of ``ax`` (constrained layout) taller by what the box of ``ax`` lost
    below ``height_px`` (pixels, its drawn height before) once drawn again: a legend moved
    above a height-bound equal-aspect box had shrunk it (a flat spectrum's box by 7 %)."""
    fig = ax.get_figure(root=True)
    fig.draw_without_rendering()
    lost_px = height_px - ax.get_window_extent().height
    if lost_px > 0.5:
        fig.set_figheight(fig.get_figheight() + lost_px / fig.dpi)


def _place_apex_labels(ax, insets) -> None:
    """Place the apex labels of the Nyquist plot ``ax`` and of its ``insets`` where they cover
    no point, curve, other label or legend, nor (in ``ax``) an inset with its tick labels and
    caption (:func:`_place_labels_off_data`; a label above its apex had covered the points of a
    steep arc, and the legend). The legend is kept where it is first (``loc="best"`` would
    move it away from the labels' new places, onto data)."""
    if not _apex_labels(ax) and not any(_apex_labels(inset) for inset in insets):
        return
    fig = ax.get_figure(root=True)
    fig.draw_without_rendering()
    _freeze_legend(ax)
    renderer = fig.canvas.get_renderer()
    rooms = [inset.get_tightbbox(renderer) for inset in insets]
    for target, avoid in ((ax, rooms), *((inset, ()) for inset in insets)):
        labels = sorted(_apex_labels(target), key=lambda t: float(t.xy[0]))
        if labels:
            _place_labels_off_data(target, labels, avoid, drawn=True)


def _freeze_legend(ax) -> None:
    """Pin the legend of ``ax`` (drawn once) to where it is now, in the axes fraction: a legend
    at ``loc="best"`` is placed again at every draw, on what the texts then cover. A legend
    larger than the axes, or above it (:func:`_legend_above`), is left as it is."""
    legend = _legend_inside(ax)
    if legend is None:
        return
    box, frame = legend.get_window_extent(ax.get_figure(root=True).canvas.get_renderer()), ax.get_window_extent()
    if box.width > frame.width or box.height > frame.height:  # larger than a tiny axes: pinned, it would
        return  # stick out of it for good, and the layout shrink the axes to nothing
    x, y = ax.transAxes.inverted().transform((box.x0, box.y0))
    legend.set_loc((float(x), float(y)))


def _thin_inset_ticks(ax) -> None:
    """Thin the tick labels of the Nyquist inset of ``ax`` (:func:`_thin_ticks`) on its box as
    placed (its equal aspect shrinks it inside the share of ``ax`` it was given)."""
    fig = ax.get_figure(root=True)
    for inset in ax.child_axes:
        if getattr(inset, "_eisfit_nyquist_inset", False):
            inset.apply_aspect()
            box = inset.get_position()
            _thin_ticks(inset.xaxis, box.width * fig.get_figwidth() * 72.0)
            _thin_ticks(inset.yaxis, box.height * fig.get_figheight() * 72.0)


def _make_room(ax) -> bool:
    """Stretch the limits of ``ax`` (drawn once) so that its apex labels are inside its box;
    True when they had to move."""
    labels = _apex_labels(ax)
    if not labels:
        return False
    box = ax.get_window_extent()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    per_px = (y1 - y0) / max(box.height, 1.0)  # equal aspect: the same on both axes
    slack = 3.0  # pixels between a label and the frame
    top = max(t.get_window_extent().y1 for t in labels) + slack - box.y1
    left = box.x0 - min(t.get_window_extent().x0 for t in labels) + slack
    right = max(t.get_window_extent().x1 for t in labels) + slack - box.x1
    if top <= 0 and left <= 0 and right <= 0:
        return False
    ax.set_xlim(x0 - max(left, 0.0) * per_px, x1 + max(right, 0.0) * per_px)
    ax.set_ylim(y0, y1 + max(top, 0.0) * per_px)
    return True


def _zoom_points(z, frequency, model_frequency=None, model_z=None) -> "_np.ndarray | None":
    """The points a Nyquist inset magnifies (bool mask), or None when no inset is needed. The
    inset shows the high-frequency arcs whole: the points down to the end of an arc (a valley
    of −Z'' between two arcs, :func:`_valley_frequencies`, of the fitted model ``model_z`` at
    ``model_frequency`` where given, else of the data), the widest such window that is still
    a small corner of the whole plot, below 30 % of its width and of its height (a blocking
    tail or one large arc sets the scale; the arcs a paper is about would be a few
    millimetres). Without such a valley, the points with |Z| up to 25 % of the largest and
    3 x the smallest, when they are such a corner. (That rule alone had cut any first arc
    with R1 > 2 R0: the inset of a 1 kΩ arc beside a 1 MΩ one showed its rising flank only.)"""
    mod = _np.abs(z)
    frequency = _np.asarray(frequency, float)
    by_modulus = mod <= min(_ZOOM_MODULUS_SHARE * mod.max(), _ZOOM_MIN_FACTOR * mod.min())

    def corner(zoom) -> bool:
        if zoom.sum() < _ZOOM_MIN_POINTS:
            return False
        # small in both directions: a first arc half as tall as the plot is no corner (its inset hid the second arc)
        small_x = _np.ptp(z.real[zoom]) < _ZOOM_MAX_EXTENT * max(_np.ptp(z.real), 1e-300)
        small_y = _np.max(-z.imag[zoom]) < _ZOOM_MAX_EXTENT * max(_np.max(-z.imag), 1e-300)  # its height, from 0
        return bool(small_x and small_y)

    if model_z is not None:
        valleys = _valley_frequencies(_np.asarray(model_frequency, float), -_np.asarray(model_z).imag)
    else:
        valleys = _valley_frequencies(frequency, -z.imag)
    for f_end in reversed(valleys):  # the lowest frequency first: the widest window
        zoom = by_modulus | (frequency >= f_end * (1.0 - 1e-9))
        if corner(zoom):
            return zoom
    return by_modulus if corner(by_modulus) else None


_VALLEY_DEPTH = 0.5  # a valley of -Z'' between two arcs reaches below this share of both arcs' heights


def _valley_frequencies(frequency, minus_imag) -> list[float]:
    """Frequencies (Hz, from the highest down) where −Z'' (``minus_imag``) has a valley
    between two arcs, where one arc ends: the lowest point of each run of points below
    :data:`_VALLEY_DEPTH` of both the highest −Z'' at higher frequencies and the highest at
    lower ones (noise of a few % makes no valley)."""
    order = _np.argsort(-_np.asarray(frequency, float))
    f, y = _np.asarray(frequency, float)[order], _np.asarray(minus_imag, float)[order]
    if y.size < 3:
        return []
    before = _np.maximum.accumulate(y)
    after = _np.maximum.accumulate(y[::-1])[::-1]
    walls = _np.minimum(before, after)
    low = (walls > 0) & (y < _VALLEY_DEPTH * walls)
    out, k = [], 0
    while k < y.size:
        if not low[k]:
            k += 1
            continue
        end = k
        while end < y.size and low[end]:
            end += 1
        out.append(float(f[k + int(_np.argmin(y[k:end]))]))
        k = end
    return out


def _draw_apexes(ax, inset, fit, z, zoom, zm, scale: float) -> None:
    """Mark the arc apexes of ``fit`` (in ``inset`` where it holds them), labelled with the
    element and the apex frequency. An apex of an arc that the fit's flags leave undetermined
    (:func:`_apexes_not_distinct`) is an open grey marker without a label, named once in the
    legend (:data:`UNDETERMINED_APEX_LABEL`): the data do not show it as a process of its own.
    Apexes whose labels would read the same frequency at the same point share one label
    ("CPE1, CPE2" over "3.07 Hz"); a label that would overlap one placed before it (left to
    right) is raised above it by the measured height of that label."""
    vague = _apexes_not_distinct(fit)
    apexes = sorted(_apexes(fit), key=lambda a: a[2].real)
    zoomed = z[zoom] if inset is not None else None
    target_of = lambda za: inset if inset is not None and _inside(za, zoomed) else ax  # noqa: E731
    groups: list[tuple[list[str], str, complex]] = []  # (names, frequency text, apex point)
    for name, val, za in apexes:
        if name in vague:
            target_of(za).plot(za.real * scale, -za.imag * scale, "^", ms=4, mfc="none", mec="0.55", mew=0.8,
                               zorder=3)
            continue
        text = format_value(val, None, "Hz", 3)
        same = next((g for g in groups if g[1] == text and abs(g[2] - za) <= 1e-6 * max(abs(za), 1e-300)), None)
        if same is not None:
            same[0].append(name)
        else:
            groups.append(([name], text, za))
    if vague & {a[0] for a in apexes}:
        ax.plot([], [], "^", ms=4, mfc="none", mec="0.55", mew=0.8, label=UNDETERMINED_APEX_LABEL)
    per_pt = {ax: _data_per_point(ax, z, zm, scale)}
    if inset is not None:
        width_pt, height_pt = _box_size_pt(ax)
        per_pt[inset] = _data_per_point(None, zoomed, zoomed, scale, (_INSET_BOX[2] * width_pt,
                                                                       _INSET_BOX[3] * height_pt))
    placed: dict = {ax: [], inset: []}  # target -> (x, bottom, top, width) of its labels, points
    pad = 2 * 0.1 * SMALL_PT + 0.5  # the label's white box around its text
    for names, text, za in groups:
        target = target_of(za)
        label = f"{', '.join(names)}\n{text}"
        width, height = (v + pad for v in _text_extent_pt(label, SMALL_PT))
        x_pt, y_pt = za.real * scale / per_pt[target], -za.imag * scale / per_pt[target]
        offset, moved = 6.0, True
        while moved:  # above every label before it that it would touch
            moved = False
            for x, bottom, top, w in placed[target]:
                if (abs(x_pt - x) < 0.5 * (width + w) + _APEX_LABEL_GAP_PT
                        and y_pt + offset < top + _APEX_LABEL_GAP_PT and y_pt + offset + height > bottom):
                    offset, moved = top + _APEX_LABEL_GAP_PT - y_pt, True
        placed[target].append((x_pt, y_pt + offset, y_pt + offset + height, width))
        target.plot(za.real * scale, -za.imag * scale, "k^", ms=4)
        annotation = target.annotate(label, (za.real * scale, -za.imag * scale), textcoords="offset points",
                                     xytext=(0, offset), ha="center", fontsize=SMALL_PT, zorder=4,
                                     bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85})
        annotation.set_gid(_APEX_LABEL_GID)


def _data_per_point(ax, z, zm, scale: float, box_pt: tuple[float, float] | None = None) -> float:
    """Data units (the plot's, ``scale`` x ohm) per point of a Nyquist panel that shows ``z`` and
    ``zm`` with equal axes in a box of about ``box_pt`` (default: that of ``ax``), as its frame
    will have it (:func:`_frame_nyquist`), with :data:`_APEX_SCALE_SLACK` for the margins and
    the labels' room added at the layout."""
    width_pt, height_pt = box_pt if box_pt is not None else _box_size_pt(ax)
    both = _np.concatenate([_np.asarray(z), _np.asarray(zm)]) * scale
    xr = float(_np.ptp(both.real))
    yr = max(float(_np.max(-both.imag)), 0.0) - min(float(_np.min(-both.imag)), 0.0)
    return _APEX_SCALE_SLACK * max(xr / max(width_pt, 1.0), yr / max(height_pt, 1.0), 1e-300)


def _apexes_not_distinct(fit) -> set[str]:
    """The capacitive elements (``CPE1``) whose arc the fit's flags and standard errors leave
    undetermined, so that its apex marks no process of its own: two arcs the data do not
    tell apart (``arcs-unresolved``, :func:`~eisfit.fitting.flags.arcs_not_told_apart`), an
    arc with an unresolved parameter (:func:`~eisfit.fitting.flags.unresolved_keys`), an arc
    whose resistance or apex frequency is undetermined (:func:`eisfit.analysis.quality.undetermined`:
    stderr unknown or at least the value, what ``large-stderr`` flags; a held value is not) or
    reads so by a flag (:func:`~eisfit.fitting.flags.reads_undetermined`: ``multimodal``,
    ``split-undetermined``...), as the fit's summary says it."""
    from .analysis.derived import circuit_arcs
    from .analysis.quality import undetermined
    from .errors import EisfitError
    from .fitting.flags import arcs_not_told_apart, reads_undetermined, unresolved_keys
    from .model.circuit import circuit_of

    flags = list(getattr(fit, "flags", None) or ())
    out = set(arcs_not_told_apart(flags))
    try:
        arcs = circuit_arcs(circuit_of(fit.circuit), branches=True)
    except (AttributeError, TypeError, EisfitError):  # not a circuit fit: its flags are all there is to go by
        return out
    values, stderr, derived = fit.values, fit.stderr, fit.derived
    held = getattr(fit, "held_fixed", lambda key: False)
    for arc in arcs:
        c, r = arc.capacitive, arc.resistor
        apex = f"{c}_fapex_Hz"
        if unresolved_keys(flags, [*arc.param_names, apex]):
            out.add(c)
        elif r in values and not held(r) and undetermined(values[r], stderr.get(r)):
            out.add(c)
        elif apex in derived and not held(apex) and undetermined(derived[apex], derived.get(f"{apex}_stderr")):
            out.add(c)
        elif reads_undetermined(flags, r) or reads_undetermined(flags, apex):  # multimodal, split-undetermined...
            out.add(c)
    return out


def _apexes(fit) -> list:
    """(capacitive element, apex frequency Hz, model impedance there) of a fit's arcs whose
    apex lies inside the measured range."""
    out = []
    for key, val in fit.derived.items():
        if key.endswith("_fapex_Hz") and _np.isfinite(val) and fit.frequency.min() <= val <= fit.frequency.max():
            out.append((key.split("_")[0], val, fit.model_impedance(_np.array([val]))[0]))
    return out


def _inside(za, zs) -> bool:
    """Whether the point ``za`` lies within the box of the points ``zs`` (complex)."""
    return bool(zs.real.min() <= za.real <= zs.real.max() and (-zs.imag).min() <= -za.imag <= (-zs.imag).max() * 1.2)


def _draw_bode(ax_m, ax_p, data, fit, area_cm2: float | None = None,
               ohm_prefix: tuple[float, str] | None = None) -> None:
    """|Z| (Ω, or |Z|·A in Ω·cm² with ``area_cm2``, log) and −phase (°) against f (Hz) on two
    given axes; ``ohm_prefix``: (factor, prefix) of the impedance unit (kΩ: (1e3, "k")), that
    of the Nyquist panel beside it (default: Ω)."""
    f, z = data.frequency, data.z
    area_cm2 = _checked_area(area_cm2)
    factor, prefix = ohm_prefix or (1.0, "")
    scale = (area_cm2 or 1.0) / factor
    ax_m.loglog(f, _np.abs(z) * scale, "o", ms=3, mfc="none", mew=0.8, label="data")
    ax_p.semilogx(f, -_np.degrees(_np.angle(z)), "o", ms=3, mfc="none", mew=0.8)
    if fit is not None:
        fd = _dense_frequency(fit.frequency)
        zm = fit.model_impedance(fd)
        ax_m.loglog(fd, _np.abs(zm) * scale, "-", lw=1.2, label="fit")
        ax_p.semilogx(fd, -_np.degrees(_np.angle(zm)), "-", lw=1.2)
    ax_m.set_ylabel(f"|Z|·A / {prefix}{OHM_CM2}" if area_cm2 else f"|Z| / {prefix}{OHM}")
    ax_p.set_ylabel("−phase / °")
    ax_p.set_xlabel("f / Hz")
    ax_m.set_xlabel("f / Hz")
    ax_m.legend(fontsize=SMALL_PT, frameon=False)
    _style(ax_m, ax_p)


def plot_bode(data: Spectrum | FitResult, fig: Figure | SubFigure | None = None, fit: FitResult | None = None,
              ax: None = None) -> Figure | SubFigure:
    """Bode plot: |Z| (Ω, log) and −phase (°) against frequency (Hz) in two panels.

    ``data`` is a Spectrum, a ``(frequency_Hz, z_ohm)`` tuple of arrays or a FitResult (its
    model is drawn). Returns the Figure.
    """
    _refuse_ax("plot_bode", ax)
    data = _spectrum_data(data, "plot_bode")
    if fit is None and hasattr(data, "z_fit"):
        fit = data
    if fig is None:
        fig = _new_figure(COLUMN_IN, 3.6)
    ax_m, ax_p = fig.subplots(2, 1, sharex=True)
    _draw_bode(ax_m, ax_p, data, fit)
    ax_m.tick_params(labelbottom=True)
    return fig


def plot_fit_residuals(result: FitResult, ax: Axes | None = None) -> Axes:
    """Fit residuals (Z − Zfit)/|Z| in % against frequency (Hz, log axis), the legend above
    the axes. Returns the Axes."""
    _require(result, "fit", "plot_fit_residuals")
    ax = _new_axes(ax, (COLUMN_IN, 2.0))
    f = result.frequency
    order = _np.argsort(f)
    ax.plot(f[order], 100 * result.residuals_real[order], "o-", ms=2.5, lw=0.7, label="Z'")
    ax.plot(f[order], 100 * result.residuals_imag[order], "s-", ms=2.5, lw=0.7, label="Z''")
    ax.axhline(0, color="0.5", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("f / Hz")
    ax.set_ylabel("residual / % of |Z|")
    _legend_above(ax, *ax.get_legend_handles_labels())  # above the axes: inside, it had covered a point
    _style(ax)
    return ax


_FLAT_NYQUIST = 0.7  # a spectrum whose -Z'' range is below this share of its Z' range is drawn across the top


def plot_fit(result: FitResult, fig: Figure | SubFigure | None = None, area_cm2: float | None = None,
             ax: None = None) -> Figure | SubFigure:
    """One double-column figure per fit: the Nyquist plot (equal axes, Ω or Ω·cm²), |Z|,
    −phase and the residuals (% of |Z|) against f. A flat spectrum (−Z'' range < 0.7 x Z'
    range) gets the Nyquist plot across the top and the three others below it; a taller
    one the Nyquist plot on the left and the others stacked on the right, so the
    equal-aspect panel fills its space. The |Z| panel is in the Nyquist panel's unit (kΩ,
    kΩ·cm²...). The title carries the label, circuit, weighting and reduced chi-square, then
    the flags of severity problem and caution (each name once, its details merged:
    ``large-stderr:R1,R2``), its lines broken to the figure's width (the figure grows by
    them). Returns the Figure."""
    _refuse_ax("plot_fit", ax)
    _require(result, "fit", "plot_fit")
    area_cm2 = _checked_area(area_cm2)
    xr, yr = _nyquist_ranges(result.z)
    flat = xr > 0 and yr / xr < _FLAT_NYQUIST
    nyquist_in = min(max(6.3 * yr / xr, 1.0), 3.6) if flat else 0.0  # the full-width panel's height
    title = _fit_title(result, (DOUBLE_COLUMN_IN * 72.0 if fig is None else _width_pt(fig)) - 2 * _PAD_PT)
    if fig is None:  # taller by the title's lines beyond two: the panels keep their size
        extra_in = max(title.count("\n") - 1, 0) * 1.2 * FONT_PT / 72.0
        fig = _new_figure(DOUBLE_COLUMN_IN, (nyquist_in + 2.6 if flat else 4.2) + extra_in)
    if flat:
        grid = fig.add_gridspec(2, 3, height_ratios=[nyquist_in, 1.6])
        ax_n, ax_m = fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0])
        ax_p, ax_r = fig.add_subplot(grid[1, 1], sharex=ax_m), fig.add_subplot(grid[1, 2], sharex=ax_m)
    else:
        grid = fig.add_gridspec(3, 2, width_ratios=[1.15, 1.0])
        ax_n, ax_m = fig.add_subplot(grid[:, 0]), fig.add_subplot(grid[0, 1])
        ax_p, ax_r = fig.add_subplot(grid[1, 1], sharex=ax_m), fig.add_subplot(grid[2, 1], sharex=ax_m)
    plot_nyquist(result, ax=ax_n, area_cm2=area_cm2)
    _draw_bode(ax_m, ax_p, result, result, area_cm2, ax_n._eisfit_ohm_prefix)  # the Nyquist panel's units
    plot_fit_residuals(result, ax=ax_r)
    for ax_ in (ax_m, ax_p, ax_r):
        ax_.tick_params(labelbottom=True)
        ax_.set_xlabel("f / Hz" if flat or ax_ is ax_r else "")
    fig.suptitle(title, fontsize=FONT_PT)
    keep_apex_labels_inside(ax_n)
    return fig


def _width_pt(fig) -> float:
    """The width of a Figure or SubFigure, points."""
    return float(fig.bbox.width) * 72.0 / float(fig.dpi)


def _fit_title_flags(flags) -> str:
    """The flags a fit figure's title names: those of severity problem, then those of
    severity caution (:func:`eisfit.fitting.flags.by_severity`: the undetermined and unresolved
    arcs, large standard errors, a misfit or a lack of fit...), each name once with its details
    merged (``large-stderr:R1,R2``); ``kk-too-noisy`` is told in words instead. "no problem or
    caution flags" where there are none (a title had said "no problem flags" over two
    undetermined arcs and a misfit)."""
    from .fitting.flags import CAUTION, PROBLEM, by_severity

    groups = by_severity(flags)
    parts = []
    for severity, word in ((PROBLEM, "problem"), (CAUTION, "caution")):
        shown = _merged_flags([f for f in groups[severity] if not f.startswith("kk-too-noisy")])
        if shown:
            parts.append(f"{word}{'s' if len(shown) > 1 else ''}: {', '.join(shown)}")
    return "; ".join(parts) or "no problem or caution flags"


def _merged_flags(flags: list[str]) -> list[str]:
    """``flags`` with the details of each name given more than once joined
    (``large-stderr:R1``, ``large-stderr:R2`` -> ``large-stderr:R1,R2``), in the order of
    their first appearance; a flag whose detail names a pair (``arcs-unresolved:CPE1,CPE2``)
    stays as it is."""
    merged: dict[str, list[str]] = {}
    for flag in flags:
        name, colon, detail = flag.partition(":")
        if not colon or "," in detail:
            merged[flag] = []
        else:
            merged.setdefault(name, []).append(detail)
    return [key + (":" + ",".join(details) if details else "") for key, details in merged.items()]


def _fit_title(result, width_pt: float) -> str:
    """The title of :func:`plot_fit`: the fit's label, circuit, weighting and reduced
    chi-square, then its flags (:func:`_fit_title_flags`) and what the figure does not show,
    broken at ", " and "; " into lines no wider than ``width_pt`` (never cut at the edge)."""
    from .fitting.flags import flag_detail

    flags = _fit_title_flags(result.flags)
    too_noisy = flag_detail(result.flags, "kk-too-noisy")
    if too_noisy is not None:
        flags += f"; too noisy for the Lin-KK test (residual SD {too_noisy} of |Z|)"
    elif result.kk_passed is False and "kk-failed" not in result.flags:  # the points fail, the circuit's curve does not
        flags += "; the points fail Lin-KK, the fitted curve stays within its rule"
    left_out = flag_detail(result.flags, "dropped-inductive-points")
    if left_out is not None:  # they are not in the result: say so where they would have been drawn
        flags += f"; {left_out} inductive high-frequency points left out (not shown)"
    head = (f"{result.label}: {result.circuit}, {result.settings.get('weighting')} weighting, "
            f"reduced χ² = {result.redchi:.3g}")
    return _wrapped(head, width_pt) + "\n" + _wrapped(flags, width_pt)


# ---- end section: spectrum and fit plots ----------------------------------

# ---- section: kk and drt plots ----------------------------------------------


def plot_kk_residuals(result: KKResult, ax: Axes | None = None) -> Axes:
    """Lin-KK residuals (% of |Z|) against frequency (log axis), with the limits of the
    acceptance rule: the ±``threshold_pct`` band (residuals inside it pass whatever their
    pattern) and the ±``violation_pct`` lines (beyond them a spectrum fails unless its
    residuals are random noise; in between only random ones pass). The title gives the
    verdict and its status (``valid``, ``noisy``, ``drift``, ``too-noisy``, ``violation``);
    the legend sits above the axes, where it covers no point.

    ``result`` is a :class:`eisfit.analysis.kk.KKResult`. Returns the Axes.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    _require(result, "kk", "plot_kk_residuals")
    ax = _new_axes(ax)
    f = result.frequency
    order = f.argsort()
    ax.plot(f[order], 100.0 * result.residuals_real[order], "o-", ms=3, lw=1, label="Δ' (real)")
    ax.plot(f[order], 100.0 * result.residuals_imag[order], "s-", ms=3, lw=1, label="Δ'' (imag)")
    t = result.threshold_pct
    v = getattr(result, "violation_pct", None)
    ax.axhspan(-t, t, color=_KK_BAND_COLOUR, lw=0, zorder=0)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Patch(facecolor=_KK_BAND_COLOUR, edgecolor="0.45", lw=0.6))  # an edge: grey on grey was invisible
    labels.append(f"±{t:g} %: pass")
    if v is not None and v > t:
        for sign in (-1.0, 1.0):
            ax.axhline(sign * v, color="C3", lw=0.8, ls="--", zorder=1)
        handles.append(Line2D([], [], color="C3", lw=0.8, ls="--"))
        labels.append(f"±{v:g} %: violation")
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("f / Hz")
    ax.set_ylabel("residual / % of |Z|")
    status = getattr(result, "status", "")
    if status == "too-noisy":
        verdict = "too noisy to judge"
    else:
        verdict = ("passed" if result.passed else "FAILED") + (f" ({status})" if status else "")
    width_pt = ax.figure.get_figwidth() * 72.0 * ax.get_position().width
    ax.set_title(
        _front_cut(str(result.label), "", width_pt, FONT_PT) + "\n"
        + _wrapped(f"Lin-KK {verdict}: M={result.n_rc}, μ={result.mu:.2f}, max {result.max_residual_pct:.2f} %",
                   width_pt),
        fontsize=FONT_PT,
    )
    _legend_above(ax, handles, labels)  # above the axes: loc="best" had sat on the points
    _style(ax)
    return ax


_KK_BAND_COLOUR = "0.88"


_PEAK_LABEL_STEP_PT = 16  # every other peak label (in tau order) this much higher: neighbours do not overlap
_FIT_SPIKE_RATIO = 1.6  # a circuit fit's DRT above this x the data's maximum is clipped (and said so)
_HEADROOM = 2.0  # the gamma axis reaches this x the data's maximum: peak labels and legend above the curve


def plot_drt(result: DRTResult, ax: Axes | None = None, fit: FitResult | None = None) -> Axes:
    """DRT gamma (Ω, kΩ or MΩ as its size needs, no offset text) against tau (s, log axis)
    with the peaks marked, labelled with their resistance ("1.2 MΩ") (open markers: peaks
    the data do not resolve from a larger neighbour, ``peaks.resolved`` False; grey: a peak
    the data do not close, ``peaks.closed`` False, labelled with its area and "open"; a
    process whose resistance a warning calls not determined, ``peaks.determined`` False,
    labelled "R Ω?", explained in the legend). A circuit fit whose elements have no DRT form (a Warburg, a Randles
    branch) is overlaid with its arcs only, and the title names what is left out.

    ``result`` is a :class:`eisfit.analysis.drt.DRTResult`. ``fit`` (optional) is any
    object with ``.drt(tau_s) -> gamma_ohm`` (e.g. a circuit FitResult): its DRT is
    overlaid. The title carries the Kramers-Kronig warning when the test failed.
    Returns the Axes.
    """
    _require(result, "drt", "plot_drt")
    own_axes = ax is None
    ax = _new_axes(ax)
    top = float(_np.max(result.gamma_ohm)) if len(result.gamma_ohm) else 0.0
    factor, prefix = _ohm_prefix(top)  # γ in kΩ or MΩ: a 100 MΩ spectrum's axis read 0-6 under a "1e7" offset
    ax.plot(result.tau_s, result.gamma_ohm / factor, "-", lw=1.5, color="C0", label="DRT")
    peaks = result.peaks
    if len(peaks):
        resolved = peaks["resolved"].to_numpy(bool)
        closed = peaks["closed"].to_numpy(bool)
        for shown, style, label in ((resolved & closed, dict(color="C3"), "peaks"),
                                    (~resolved & closed, dict(mfc="none", color="C3"), "not resolved"),
                                    (resolved & ~closed, dict(color="0.55"), "not closed by the data"),
                                    (~resolved & ~closed, dict(mfc="none", color="0.55"),
                                     "not closed, not resolved")):
            if shown.any():
                ax.plot(peaks["tau_s"][shown], peaks["gamma_ohm"][shown] / factor, "v", ms=6, label=label, **style)
        determined = (peaks["determined"].to_numpy(bool) if "determined" in peaks.columns
                      else _np.ones(len(peaks), bool))
        if (resolved & closed & ~determined).any():
            ax.plot([], [], ls="none", label=UNDETERMINED_R_LABEL)  # the "?" of its labels, explained
        for k, (_, row) in enumerate(peaks.sort_values("tau_s").iterrows()):
            # a resolved peak: its process's resistance (with its side lobes); a side lobe: its
            # own area, in parentheses (counted in its owner's); a peak the data do not close
            # (an end of the data still rising): its area, in parentheses, marked open
            if not row["closed"]:
                r_label = f"({_ohm_text(row['R_ohm'])}, open)"
            elif row["resolved"] and not row.get("determined", True):  # a warning says its R is not determined
                r_label = f"{_ohm_text(row['R_process_ohm'])}?"
            elif row["resolved"]:
                r_label = _ohm_text(row["R_process_ohm"])
            else:
                r_label = f"({_ohm_text(row['R_ohm'])})"
            ax.annotate(
                f"{r_label}\n{format_value(row['f_Hz'], None, 'Hz', 3)}",
                (row["tau_s"], row["gamma_ohm"] / factor),
                textcoords="offset points", xytext=(0, 6 + (_PEAK_LABEL_STEP_PT if k % 2 else 0)), ha="center",
                fontsize=7, gid=_PEAK_LABEL_GID,
            )
    overlay_note = ""
    spike = None  # the circuit fit's line and its peak (axis units) where its label calls it off scale
    if fit is not None:
        fit_gamma = fit.drt(result.tau_s)
        if isinstance(fit_gamma, tuple):  # (tau_s, gamma_ohm)
            fit_gamma = fit_gamma[1]
        fit_gamma = _np.asarray(fit_gamma, float)
        fit_top = float(_np.nanmax(fit_gamma)) if fit_gamma.size else 0.0
        clipped = top > 0 and fit_top > _FIT_SPIKE_RATIO * top  # a near-ideal arc's spike would flatten the data's
        missing = _fit_elements_not_shown(fit)
        label = f"circuit fit (peak {_ohm_text(fit_top)}, off scale)" if clipped else "circuit fit"
        if fit_top > 0:
            fit_line, = ax.plot(result.tau_s, fit_gamma / factor, "--", lw=1.2, color="C1",
                                label=label + (" (arcs only)" if missing else ""))
            spike = (fit_line, fit_top / factor) if clipped else None
        # no flat zero line that reads "the fit has no process": the title says what is left out
        if fit_top <= 0:
            overlay_note = (f"circuit fit not drawn: no DRT form for {', '.join(missing)}" if missing
                            else "circuit fit not drawn: it has no arc")
        elif missing:
            overlay_note = f"circuit fit: {', '.join(missing)} not shown (no DRT form)"
    if result.tau_measured_s is not None:
        lo, hi = result.tau_measured_s
        ax.axvspan(result.tau_s.min(), lo, color="0.93", zorder=0)
        ax.axvspan(hi, result.tau_s.max(), color="0.93", zorder=0)
    ax.set_xscale("log")
    ax.set_xlim(result.tau_s.min(), result.tau_s.max())
    ax.set_xlabel("τ / s")
    ax.set_ylabel(f"γ / {prefix}{OHM}")
    _no_offset_text(ax.yaxis)
    width_pt = ax.figure.get_figwidth() * 72.0 * ax.get_position().width
    about = f"DRT (λ={result.lambda_:.2g}, {result.lambda_rule})"
    one_line = f"{result.label}  {about}"
    title = one_line if _text_extent_pt(one_line, FONT_PT)[0] <= width_pt else (
        _front_cut(str(result.label), "", width_pt, FONT_PT) + "\n" + about)  # the label is not cut for λ's sake
    title += "\n" + _wrapped(_drt_series_terms(result), width_pt)
    caveats = _drt_caveats(getattr(result, "warnings", ()))
    if caveats:  # what eisfit drt warns about belongs on the figure too
        title += "\n" + _wrapped("; ".join(caveats), width_pt)
    if overlay_note:
        title += "\n" + _wrapped(overlay_note, width_pt)
    if result.kk_status == "too-noisy":
        title += "\nKramers-Kronig: too noisy to judge"
        ax.set_title(title, fontsize=FONT_PT)
    elif not result.kk_passed:
        title += "\nKramers-Kronig test failed: not evidence"
        ax.set_title(title, fontsize=FONT_PT, color="C3")
    else:
        ax.set_title(title, fontsize=FONT_PT)
    legend = _legend_within(ax, loc="upper left")  # in two columns where the axes' width holds them
    if top > 0:  # room above the highest peak for its (staggered) label and the legend
        ax.set_ylim((min(0.0, float(_np.min(result.gamma_ohm))) - 0.02 * top) / factor,
                    _drt_headroom(ax, _legend_extent_pt(legend)[1], title.count("\n") + 1) * top / factor)
    _style(ax)
    _legend_off_lines(ax, ("upper left", "upper right", "upper center"), grow=own_axes)  # draws the figure
    _place_peak_labels(ax, grow=own_axes, drawn=ax.get_legend() is not None)
    if spike is not None and spike[1] <= ax.get_ylim()[1]:
        _not_off_scale(ax, spike[0])
    return ax


def _not_off_scale(ax: Axes, line) -> None:
    """Drop "(peak ..., off scale)" from the legend entry of ``line`` (a DRT plot's circuit fit): the room
    made above the data's peak for the peak labels and the legend (:func:`_drt_headroom`,
    :func:`_more_room`) brought the fit's peak into view (the sample campaign's 400-1000 h DRT
    figures had called a peak of 72-84 ohm on a 141-194 ohm axis off scale)."""
    old = line.get_label()
    line.set_label(_re.sub(r" \(peak [^)]*, off scale\)", "", old))
    legend = ax.get_legend()
    for text in legend.get_texts() if legend is not None else ():
        if " ".join(text.get_text().split()) == " ".join(old.split()):  # the legend may have wrapped it
            text.set_text(line.get_label())


def _legend_covers(ax, points, radius) -> int:
    """How many of ``points`` (display coordinates, each ``radius`` pixels wide: what
    :func:`_drawn_points_px` gives) the legend of ``ax`` covers, where its ``loc`` puts it on
    the figure as last drawn."""
    box = ax.get_legend().get_window_extent(ax.get_figure(root=True).canvas.get_renderer())
    return _points_near(points, radius, box.extents)


def _points_near(points, pad, extents) -> int:
    """How many of ``points`` (display coordinates, pixels) come within ``pad`` pixels (one per
    point, or one for all) of the box ``extents`` (x0, y0, x1, y1), strictly."""
    x0, y0, x1, y1 = extents
    return int(((points[:, 0] > x0 - pad) & (points[:, 0] < x1 + pad)
                & (points[:, 1] > y0 - pad) & (points[:, 1] < y1 + pad)).sum())


def _legend_off_lines(ax, locs: Sequence[str], grow: bool = False) -> None:
    """Put the legend of ``ax`` at the first of ``locs`` where it covers no point or curve
    (:func:`_legend_covers`); where none is free, :func:`_more_room` (``grow``: the figure
    may grow; at most :data:`_PEAK_LABEL_ROOM_ROUNDS` times) and they are tried again, then the one that covers fewest is kept (a DRT's legend, upper left, had
    covered a circuit fit's spike)."""
    legend = ax.get_legend()
    if legend is None:
        return
    for round_ in range(_PEAK_LABEL_ROOM_ROUNDS + 1):
        if round_:
            _more_room(ax, grow)
        ax.get_figure(root=True).draw_without_rendering()
        points, radius = _drawn_points_px(ax)
        covered = []
        for loc in locs:
            legend.set_loc(loc)
            covered.append(_legend_covers(ax, points, radius))
            if covered[-1] == 0:
                return
    legend.set_loc(locs[int(_np.argmin(covered))])


_PEAK_LABEL_GID = "eisfit-drt-peak-label"
_PEAK_LABEL_ROOM_ROUNDS = 4  # a DRT plot makes more room (:func:`_more_room`) at most this many times
_PEAK_LABEL_RAISE = 1.25  # ... where a peak label finds no free place: its top this much higher
_LABELLED_AXES_MIN_PT = 150.0  # ... or, in a figure of its own, a box lower than this: the figure taller
_GROW_IN = 0.5  # ... by this much (inches)


def _more_room(ax, grow: bool) -> None:
    """Room for a DRT plot's legend and peak labels: where the plot has a figure of its own
    (``grow``) and its box is lower than :data:`_LABELLED_AXES_MIN_PT` (a long title took the
    height), the figure :data:`_GROW_IN` taller; else the top of the y axis
    :data:`_PEAK_LABEL_RAISE` higher (the curves lower in the box)."""
    fig = ax.get_figure(root=True)
    if grow and ax.get_window_extent().height * 72.0 / fig.dpi < _LABELLED_AXES_MIN_PT:
        fig.set_figheight(fig.get_figheight() + _GROW_IN)
        return
    y0, y1 = ax.get_ylim()
    ax.set_ylim(y0, y0 + (y1 - y0) * _PEAK_LABEL_RAISE)


def _place_peak_labels(ax, grow: bool = False, drawn: bool = False) -> None:
    """Place the peak labels of a DRT plot (:func:`plot_drt`), the tallest peak's first, where
    they cover no curve, marker, legend or other label (:func:`_place_labels_off_data`): the
    staggered labels had been crossed by a circuit fit's narrow spike and had sat on each
    other and on the legend. Where one finds no free place, the top of the axis is raised
    or the figure made taller (:func:`_more_room`) and all are placed again. ``drawn``: the
    figure was drawn as it is (not drawn again first)."""
    labels = [t for t in ax.texts if t.get_gid() == _PEAK_LABEL_GID]
    if not labels:
        return
    labels.sort(key=lambda t: -float(t.xy[1]))
    first = [tuple(t.xyann) for t in labels]
    for _ in range(_PEAK_LABEL_ROOM_ROUNDS):
        for label, offset in zip(labels, first):
            label.xyann = offset
        if _place_labels_off_data(ax, labels, drawn=drawn) == 0:
            return
        _more_room(ax, grow)
        drawn = False
    for label, offset in zip(labels, first):
        label.xyann = offset
    _place_labels_off_data(ax, labels)


_LABEL_CLEARANCE_PT = 1.5  # at least this much between a placed label and a point, curve or other label
_LABEL_STEP_PT = 3.0  # the grid of offsets a label is tried at
_LABEL_REACH = (2.5, 6.0)  # ... as far as this many label widths sideways and label heights up or down


def _drawn_points_px(ax, step_px: float = 1.5) -> tuple["_np.ndarray", "_np.ndarray"]:
    """What the lines of ``ax`` (in data coordinates) draw inside its box, in display
    coordinates (pixels): their vertices, and points every ``step_px`` along each segment of
    a line drawn with a line style; and, per point, the radius (pixels) a marker drawn there
    takes (0 along a curve, where the line's half width is)."""
    box = ax.get_window_extent()
    px_per_pt = ax.get_figure(root=True).dpi / 72.0
    xys, radii = [], []
    for line in ax.get_lines():
        if line.get_transform() != ax.transData or not len(line.get_xdata()) or not line.get_visible():
            continue
        xy = _np.column_stack([_np.asarray(line.get_xdata(), float), _np.asarray(line.get_ydata(), float)])
        xy = ax.transData.transform(xy[_np.isfinite(xy).all(axis=1)])
        if not len(xy):
            continue
        marker = line.get_marker() not in (None, "None", "none", "", " ")
        if marker:
            xys.append(xy)
            radii.append(_np.full(len(xy), 0.5 * line.get_markersize() * px_per_pt))
        if line.get_linestyle() not in ("None", "none", "", " ") and len(xy) > 1:
            seg = _np.diff(xy, axis=0)
            n = _np.maximum(_np.ceil(_np.hypot(seg[:, 0], seg[:, 1]) / step_px), 1).astype(int)
            t = _np.concatenate([_np.arange(k) / k for k in n])
            start = _np.repeat(_np.arange(len(seg)), n)
            along = _np.vstack([xy[start] + seg[start] * t[:, None], xy[-1:]])
            xys.append(along)
            radii.append(_np.full(len(along), 0.5 * line.get_linewidth() * px_per_pt))
    if not xys:
        return _np.zeros((0, 2)), _np.zeros(0)
    xy, radius = _np.vstack(xys), _np.concatenate(radii)
    inside = (xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1) & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1)
    return xy[inside], radius[inside]


def _label_offsets_pt(width_pt: float, height_pt: float, first: tuple[float, float]) -> list[tuple[float, float]]:
    """Offsets (points, from a label's anchor) to try a label of ``width_pt`` x ``height_pt`` at,
    nearest its ``first`` offset first: up to :data:`_LABEL_REACH` label widths sideways and
    heights up or down; one below its anchor counts as farther (a label reads as naming the
    peak or apex under it)."""
    reach_x, reach_y = _LABEL_REACH[0] * width_pt, _LABEL_REACH[1] * height_pt
    dxs = _np.arange(-reach_x, reach_x + 1e-9, _LABEL_STEP_PT)
    dys = _np.arange(-reach_y, reach_y + 1e-9, _LABEL_STEP_PT)
    out = [(float(first[0] + dx), float(first[1] + dy)) for dx in dxs for dy in dys]
    return sorted(out, key=lambda o: _np.hypot(o[0] - first[0], (o[1] - first[1]) * (1.0 if o[1] >= first[1]
                                                                                       else 2.0)))


def _place_labels_off_data(ax: Axes, labels: Sequence, avoid: Sequence = (), drawn: bool = False) -> int:
    """Move each of ``labels`` (annotations of ``ax`` anchored at a data point, offset in points),
    in the order given, to the offset nearest its own (:func:`_label_offsets_pt`) where its box
    lies inside the box of ``ax`` and covers no point or curve of ``ax``
    (:func:`_drawn_points_px`), no legend of ``ax``, no box of ``avoid`` (display boxes, e.g. an
    inset's) and no label placed before it, with :data:`_LABEL_CLEARANCE_PT` to spare. Where
    no offset within reach is free, the one that covers fewest. The figure is drawn (laid out)
    first unless ``drawn`` says it is as it will be. Returns how many labels still cover something."""
    fig = ax.get_figure(root=True)
    if not drawn:
        fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    px_per_pt = fig.dpi / 72.0
    clearance = _LABEL_CLEARANCE_PT * px_per_pt
    frame = ax.get_window_extent()
    points, radius = _drawn_points_px(ax)
    boxes = [b.extents for b in avoid]
    legend = ax.get_legend()
    if legend is not None and legend.get_visible():
        boxes.append(legend.get_window_extent(renderer).extents)
    crossing = 0
    for label in labels:
        ox, oy = (float(v) for v in label.xyann)
        x0, y0, x1, y1 = label.get_window_extent(renderer).extents
        width_pt, height_pt = (x1 - x0) / px_per_pt, (y1 - y0) / px_per_pt
        best = None
        for dx, dy in _label_offsets_pt(width_pt, height_pt, (ox, oy)):
            sx, sy = (dx - ox) * px_per_pt, (dy - oy) * px_per_pt
            bx0, by0, bx1, by1 = x0 + sx, y0 + sy, x1 + sx, y1 + sy
            if bx0 < frame.x0 + clearance or bx1 > frame.x1 - clearance or by0 < frame.y0 + clearance \
                    or by1 > frame.y1 - clearance:
                continue
            hits = _points_near(points, radius + clearance, (bx0, by0, bx1, by1))
            hits += sum(1000 for ex0, ey0, ex1, ey1 in boxes
                        if bx0 < ex1 + clearance and ex0 < bx1 + clearance
                        and by0 < ey1 + clearance and ey0 < by1 + clearance)
            if best is None or hits < best[0]:
                best = (hits, (dx, dy), (bx0, by0, bx1, by1))
            if hits == 0:
                break
        if best is None:  # no offset within reach keeps it inside the axes: left where it was
            crossing += 1
            continue
        label.xyann = best[1]
        boxes.append(best[2])
        crossing += best[0] > 0
    return crossing


def _ohm_text(value: float, digits: int = 3) -> str:
    """A resistance in a figure's text: ``1.2 MΩ``, ``5.43 kΩ``, ``98.5 Ω``, ``12 mΩ`` (an SI
    prefix from 1 of it on; ``digits`` significant digits, never e-notation: DRT peak labels
    had read "1.2e+06 Ω")."""
    if value is None or not _np.isfinite(float(value)):
        return f"nan {OHM}"
    from .units import plain_number

    size = abs(float(f"{float(value):.{digits}g}"))  # as shown: 999.96 is "1 kΩ"
    factor, prefix = next(((f, p) for f, p in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""))
                           if size >= f), (1e-3, "m") if size else (1.0, ""))
    return f"{plain_number(float(value) / factor, digits)} {prefix}{OHM}"


def _no_offset_text(axis) -> None:
    """No matplotlib offset text ("1e7" above the axis) on a linear axis: the unit carries the prefix."""
    from matplotlib.ticker import ScalarFormatter

    formatter = axis.get_major_formatter()
    if isinstance(formatter, ScalarFormatter):
        formatter.set_useOffset(False)
        formatter.set_scientific(False)


def _legend_within(ax, loc: str, max_cols: int = 2):
    """The legend of ``ax`` inside it at ``loc`` in as many columns (at most ``max_cols``) as the
    axes' width holds (measured; about its width once laid out, :func:`_box_size_pt`), long
    entries broken at " (" where even one column is too wide: a two-column legend had run
    out of the figure ("…off scal")."""
    handles, labels = ax.get_legend_handles_labels()
    width_pt = _box_size_pt(ax)[0]
    legend = None
    for ncols in range(min(max_cols, max(len(labels), 1)), 0, -1):
        legend = ax.legend(handles, labels, fontsize=SMALL_PT, loc=loc, frameon=False, ncols=ncols)
        if _legend_extent_pt(legend)[0] <= width_pt:
            return legend
    labels = [label.replace(" (", "\n(", 1) if _text_extent_pt(label, SMALL_PT)[0] > 0.7 * width_pt else label
              for label in labels]
    return ax.legend(handles, labels, fontsize=SMALL_PT, loc=loc, frameon=False, ncols=1)


_PEAK_LABEL_PT = 6 + _PEAK_LABEL_STEP_PT + 2 * 7 * 1.3  # a staggered two-line peak label (7 pt) above its peak


def _drt_headroom(ax, legend_height_pt: float, title_lines: int) -> float:
    """The top of the gamma axis as a multiple of the largest gamma: room above the highest
    peak for its staggered label (:data:`_PEAK_LABEL_PT`) and for the legend (upper left,
    ``legend_height_pt`` tall) so that neither covers the other, in the height the axes keep
    once a title of ``title_lines`` lines and the tick labels are laid out; at least
    :data:`_HEADROOM`, at most 4."""
    height_pt = min(ax.figure.get_figheight() * 72.0 * ax.get_position().height,
                    ax.figure.get_figheight() * 72.0 - title_lines * FONT_PT * 1.3 - 40.0)
    legend_pt = legend_height_pt + 6
    free = 1.0 - (_PEAK_LABEL_PT + legend_pt) / max(height_pt, 1.0)
    return min(max(_HEADROOM, 1.0 / free if free > 0.25 else 4.0), 4.0)


def _wrapped(text: str, width_pt: float, size: float = FONT_PT, breaks: str = r"(?<=[,;]) ") -> str:
    """``text`` broken into lines at ", " or "; " (``breaks``: the regular expression of the
    spaces it may break at) so that none is wider than ``width_pt`` (points) where it can: a
    title line is never cut at the figure's edge (units were lost)."""
    import re

    parts = [piece for part in re.split(breaks, text) for piece in _split_too_wide(part, width_pt, size)]
    return "\n".join(_filled_lines(parts, " ", width_pt, size))


def _split_too_wide(part: str, width_pt: float, size: float) -> list[str]:
    """``part`` (a piece of :func:`_wrapped`'s text between its break points) as it is when it
    fits ``width_pt`` (points), else cut after its commas into pieces that fit where they can: a
    flag naming many keys (``unresolved:R1,R2,CPE1_tau_s,...``) has no ", " to break at and had
    run off both edges of a fit figure's title."""
    if "," not in part or _text_extent_pt(part, size)[0] <= width_pt:
        return [part]
    words = part.split(",")
    return _filled_lines([w + "," for w in words[:-1]] + [words[-1]], "", width_pt, size)


def _filled_lines(pieces: list[str], joiner: str, width_pt: float, size: float) -> list[str]:
    """``pieces`` joined by ``joiner`` into lines, each piece on the line before while that
    line stays within ``width_pt`` (points, at font ``size``), else on a new one."""
    lines = [pieces[0]]
    for piece in pieces[1:]:
        trial = f"{lines[-1]}{joiner}{piece}"
        if _text_extent_pt(trial, size)[0] <= width_pt:
            lines[-1] = trial
        else:
            lines.append(piece)
    return lines


def _fit_elements_not_shown(fit) -> list[str]:
    """The elements of a circuit fit its DRT cannot show (:func:`eisfit.analysis.drt_of_circuit.
    elements_not_shown`); [] for an object that is not a circuit fit."""
    if not hasattr(fit, "circuit") or not hasattr(fit, "values"):
        return []
    from .analysis.drt_of_circuit import elements_not_shown

    return elements_not_shown(fit)


def _drt_series_terms(result) -> str:
    """R_inf, R_pol and, when the DRT has them, the series L and C, for the figure's title:
    what the distribution alone does not show."""
    r_inf = _ohm_text(result.r_inf_ohm) + ("" if getattr(result, "r_inf_determined", True) else " (undetermined)")
    parts = [f"R_inf {r_inf}", f"R_pol {_ohm_text(result.r_pol_ohm)}"]
    if result.inductance_H:
        parts.append(f"L {format_value(result.inductance_H, None, 'H', 3)}")
    if result.capacitance_F is not None and _np.isfinite(result.capacitance_F):  # inf: 1/C came out 0, no C
        parts.append(f"series C {format_value(result.capacitance_F, None, 'F', 3)}")
    return ", ".join(parts)


_DRT_CAVEATS = (  # (start of a DRT warning, what the figure's title says of it)
    ("a process reaches past the highest frequency", "R_inf not determined (a process beyond f_max)"),
    ("R_inf came out", "R_inf not determined (in the fastest peaks)"),
    ("gamma does not return to zero", "R_pol a lower bound"),
    ("the DRT misses the data", "misses the data"),
)


def _drt_caveats(warnings_) -> list[str]:
    """The short forms of a DRT's warnings (:data:`_DRT_CAVEATS`) for its figure's title."""
    return [short for key, short in _DRT_CAVEATS if any(key in w for w in warnings_)]


# ---- end section: kk and drt plots ------------------------------------------

# ---- section: campaign plots --------------------------------------------------
# Figures of a CampaignResult (eisfit.campaign): they draw what the result carries.

def _camp_colours(camp):
    """(list of RGBA per checkpoint, ScalarMappable for the colour bar, label)."""
    import matplotlib as mpl

    values, label = camp.colour_values()
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    norm = mpl.colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1.0)
    cmap = mpl.colormaps["viridis"]
    mappable = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
    mappable.set_array(_np.asarray(values, dtype=float))
    rgba = cmap(norm(_np.asarray(values, dtype=float))) if values else _np.zeros((0, 4))
    return [tuple(c) for c in rgba.tolist()], mappable, label


def _camp_fitted(camp) -> list[int]:
    """The indices of the fitted checkpoints (read without the results themselves)."""
    from .fitting.result import fitted_indices

    return fitted_indices(camp.results)


def _camp_shown(camp, max_spectra: int | None):
    """(index, result) of the fitted checkpoints an overlay draws: all, or ``max_spectra``
    evenly chosen (only those results read)."""
    fitted = _camp_fitted(camp)
    chosen = fitted if not max_spectra else [fitted[i] for i in evenly_chosen(len(fitted), max_spectra)]
    shown = [(k, camp.results[k]) for k in chosen]
    if not max_spectra:
        return shown, ""
    note = f"{len(shown)} of {len(fitted)} checkpoints shown (evenly chosen)" if len(shown) < len(fitted) else ""
    return shown, note


def _camp_dense_fit(r, points_per_decade: int = 20):
    """Model on a dense log grid over the fitted range (Ω), falling back to z_fit."""
    f = _np.asarray(r.frequency, dtype=float)
    grid = _np.logspace(_np.log10(f.min()), _np.log10(f.max()),
                        max(int(_np.log10(f.max() / f.min()) * points_per_decade), 2))
    try:
        return grid, r.model_impedance(grid)
    except Exception:
        order = _np.argsort(f)
        return f[order], _np.asarray(r.z_fit)[order]


def _camp_area(camp, k: int, area_normalised: bool) -> float:
    if not area_normalised:
        return 1.0
    return camp.details[k].get("settings", {}).get("area_cm2") or float("nan")


def plot_campaign_nyquist(camp: CampaignLike, ax: Axes | None = None, area_normalised: bool = False,
                          max_spectra: int | None = MAX_OVERLAY_SPECTRA) -> Axes:
    """Nyquist overlay (−Z'' against Z', equal axes, Ω; or Ω·cm² = Z·A per cell with
    ``area_normalised``): data as points, fits as lines, coloured by time/cycle with a
    slim colour bar. At most ``max_spectra`` checkpoints, evenly chosen, are drawn (None:
    all); the title says so when some are left out. A figure of its own is as tall as the
    panel's data need (at most 4.5 in); its colour bar goes below a panel under 0.8 in
    tall, as wide as it. Returns the Axes."""
    shown, note = _camp_shown(camp, max_spectra)
    extents = [float(_np.max(_np.abs(r.z))) * _camp_area(camp, k, area_normalised) for k, r in shown]
    outliers = _flagged_outliers(extents, [r for _, r in shown])
    framed = [(k, r) for j, (k, r) in enumerate(shown) if j not in outliers]
    factor, prefix = _ohm_prefix(max((e for j, e in enumerate(extents) if j not in outliers), default=1.0))
    z_ = _np.concatenate([r.z * _camp_area(camp, k, area_normalised) for k, r in framed] or [_np.empty(0)]) / factor
    re_, im_ = z_.real, -z_.imag  # one array per spectrum joined (a Python loop per point had built them)
    frame = _capacitive_frame(re_, im_)
    unit = _impedance_unit(area_normalised, prefix, explained=False)
    beyond = ""
    if outliers:  # framed on the others, the outliers drawn and clipped (the title names them)
        frame = frame or _points_frame(re_, im_)
        names = ", ".join(camp.checkpoints[shown[j][0]].label for j in sorted(outliers))
        beyond = (f"{names} (flagged, |Z| to {max(extents[j] for j in outliers) / factor:.3g} {unit}) "
                  "beyond the frame")
    own = ax is None
    if own:
        xr, yr = ((frame[0][1] - frame[0][0], frame[1][1] - frame[1][0]) if frame else
                  ((float(_np.ptp(re_)) if re_.size else 1.0), float(_np.max(im_, initial=1.0))))
        ax = _new_axes(None, (COLUMN_IN, _nyquist_height(COLUMN_IN - 0.5, xr, yr)), layout=None)
    colours, mappable, label = _camp_colours(camp)
    marker_of, cells_note = _overlay_cell_markers([camp.checkpoints[k] for k, _ in shown])
    for k, r in shown:
        scale = _camp_area(camp, k, area_normalised) / factor
        _, zf = _camp_dense_fit(r)
        marker, size = _overlay_marker(marker_of, camp.checkpoints[k])
        ax.plot(r.z.real * scale, -r.z.imag * scale, marker, ms=size, mew=0, color=colours[k], alpha=0.85)
        ax.plot(zf.real * scale, -zf.imag * scale, "-", lw=0.8, color=colours[k])
    note = "\n".join(part for part in (cells_note, note) if part)
    ax.set_xlabel(f"Z' / {_impedance_unit(area_normalised, prefix)}")
    ax.set_ylabel(f"−Z'' / {_impedance_unit(area_normalised, prefix, explained=False)}")
    ax.set_aspect("equal", adjustable="box")
    if frame:
        ax.set_xlim(*frame[0])
        ax.set_ylim(*frame[1])
        inductive = ""
        if im_.size and float(im_.min()) < frame[1][0]:  # an inductive tail lies at the high-frequency end
            high_end = _np.concatenate([_upper_half_in_log(r.frequency) for _, r in framed])
            what = "inductive tail" if high_end[int(_np.argmin(im_))] else "points below the real axis"
            inductive = f"{what} (−Z'' to {float(im_.min()):.3g} {unit}) clipped"
        note = "\n".join(part for part in (inductive, beyond, note) if part)
    else:
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    bar = _colourbar(mappable, ax, label)
    _overlay_title(ax, note, ax.get_figure(root=True).get_figwidth() * 72.0 - 2 * _PAD_PT)
    _style(ax)
    if own:
        fig = ax.figure
        _fit_height_to_panels(fig, OVERLAY_MAX_HEIGHT_IN)
        if ax.get_position().height * fig.get_figheight() < COLOURBAR_MIN_IN:
            bar.ax.remove()  # beside a flat panel the bar had been cut to its 0.3 in: below it, as wide as the panel
            fig.set_figheight(fig.get_figheight() + 1.0)  # room for it, until the fit takes the rest back
            _colourbar(mappable, ax, label, below=True)
            _fit_height_to_panels(fig, OVERLAY_MAX_HEIGHT_IN)
        box = ax.get_position()  # the title is centred on the box: its lines as wide as the room either side
        room = 2.0 * min(0.5 * (box.x0 + box.x1), 1.0 - 0.5 * (box.x0 + box.x1)) * fig.get_figwidth() * 72.0
        if _overlay_title(ax, note, room - 2 * _PAD_PT):
            _fit_height_to_panels(fig, OVERLAY_MAX_HEIGHT_IN)
    return ax


CELL_GLYPHS = {"o": "●", "s": "■", "^": "▲"}  # the overlay's cell markers as the title names them


def _overlay_cell_markers(checkpoints: Sequence[Any]) -> tuple[dict[str, str], str]:
    """({cell: marker}, the title's words) of the overlaid ``checkpoints``: where they are of
    several cells each cell's points take the evolution figure's marker of that cell
    (:data:`CELL_MARKERS`, in order of appearance) and the title names them ("cells: A ●, B ■");
    ({}, "") for one cell. Three cells at the same times had been drawn alike, told apart by
    nothing."""
    cells = list(dict.fromkeys(str(c.cell) for c in checkpoints))
    if len(cells) <= 1:
        return {}, ""
    markers = {cell: CELL_MARKERS[i % len(CELL_MARKERS)] for i, cell in enumerate(cells)}
    if all(m in CELL_GLYPHS for m in markers.values()):
        return markers, "cells: " + ", ".join(f"{cell} {CELL_GLYPHS[m]}" for cell, m in markers.items())
    return markers, f"{len(cells)} cells, a marker each (as in the evolution figure)"


def _overlay_marker(marker_of: Mapping[str, str], checkpoint: Any) -> tuple[str, float]:
    """(marker, size in pt) of a checkpoint's points in an overlay: its cell's marker
    (:func:`_overlay_cell_markers`; a circle for one cell), squares and triangles a little
    larger than circles, which fill more of their box."""
    marker = marker_of.get(str(checkpoint.cell), "o")
    return marker, 2.2 if marker == "o" else 2.6


def _overlay_title(ax, note: str, width_pt: float) -> bool:
    """Title the Nyquist overlay ``ax``: what is drawn, and ``note`` (lines) wrapped at spaces to
    ``width_pt`` points; True when the title changed."""
    note = "\n".join(_wrapped(line, width_pt, breaks=" ") for line in note.split("\n")) if note else ""
    title = "data (points), fits (lines)" + (f"\n{note}" if note else "")
    if title == ax.get_title():
        return False
    ax.set_title(title, y=1.0, fontsize=FONT_PT)
    return True


OVERLAY_MAX_HEIGHT_IN = 4.5  # a Nyquist overlay's figure is at most this tall (its width: one column)
COLOURBAR_MIN_IN = 0.8  # a colour bar beside a panel is at least this long; beside a flatter one it goes below


INDUCTIVE_CLIP_SHARE = 0.5  # an inductive tail deeper than this share of the arcs' height is clipped
# from a Nyquist overlay
OUTLIER_EXTENT_FACTOR = 4.0  # a flagged spectrum whose max |Z| exceeds this x the median is left out of the frame


def _flagged_outliers(extents: Sequence[float], results: Sequence[Any]) -> set[int]:
    """Positions of the overlay's spectra that the frame leaves out: a spectrum whose fit has
    a problem flag of the whole fit (kk-failed, lack-of-fit...) and whose largest |Z| exceeds
    ``OUTLIER_EXTENT_FACTOR`` x the median of the shown spectra's, among at least 3 (one
    flagged sweep to 1,900 ohm of a real 61-sweep file had squeezed the 19 others under 300 ohm
    into a blob at the origin). A spectrum without a problem flag is never left out: an
    impedance that grows tenfold over a campaign is what the figure is for."""
    from .fitting.flags import whole_fit_problems

    finite = [e for e in extents if _np.isfinite(e)]
    if len(finite) < 3:
        return set()
    limit = OUTLIER_EXTENT_FACTOR * float(_np.median(finite))
    out = {j for j, (e, r) in enumerate(zip(extents, results))
           if _np.isfinite(e) and e > limit and whole_fit_problems(getattr(r, "flags", ()))}
    return out if len(out) < len(finite) / 2 else set()


def _upper_half_in_log(frequency) -> "_np.ndarray":
    """Which points lie in the upper half of their sweep's frequency range (log scale): where
    an inductive tail is (a noisy point below the real axis at 0.02 Hz had been called one)."""
    f = _np.asarray(frequency, dtype=float)
    if f.size == 0:
        return _np.zeros(0, bool)
    lo, hi = _np.log10(f.min()), _np.log10(f.max())
    return _np.log10(f) >= 0.5 * (lo + hi)


def _points_frame(re, im):
    """((Z' limits), (−Z'' limits)) of the points ``re``, ``im`` with the overlay's margin,
    −Z'' from 0 (or the lowest point)."""
    ok = _np.isfinite(re) & _np.isfinite(im)
    x0, x1 = float(re[ok].min()), float(re[ok].max())
    y0, y1 = min(0.0, float(im[ok].min())), float(im[ok].max())
    pad = _NYQUIST_MARGIN * max(x1 - x0, y1 - y0)
    return (x0 - pad, x1 + pad), (y0 - pad, y1 + pad)


def _capacitive_frame(re, im):
    """((Z' limits), (−Z'' limits)) that frame the capacitive points (−Z'' >= 0) of a
    Nyquist overlay, with a 3 % margin, where the inductive tail (−Z'' < 0) reaches deeper
    than ``INDUCTIVE_CLIP_SHARE`` of their height: with equal axes a tail to −20 Ω had
    shrunk arcs under 2 Ω tall to a strip. None where there is no such tail (the data's
    extents frame it). Same unit as ``re``, ``im``."""
    capacitive = _np.isfinite(re) & _np.isfinite(im) & (im >= 0)
    if not capacitive.any() or not (im < 0).any():
        return None
    height = float(im[capacitive].max())
    if height <= 0 or float(im.min()) >= -INDUCTIVE_CLIP_SHARE * height:
        return None
    x0, x1 = float(re[capacitive].min()), float(re[capacitive].max())
    pad = _NYQUIST_MARGIN * max(x1 - x0, height)
    return (x0 - pad, x1 + pad), (-pad, height + pad)


def plot_campaign_bode(camp: CampaignLike, fig: Figure | SubFigure | None = None,
                       max_spectra: int | None = MAX_OVERLAY_SPECTRA, ax: None = None) -> Figure | SubFigure:
    """Bode overlay: |Z| (Ω) and −phase (°) against f (Hz), data and fits, coloured by
    time/cycle; at most ``max_spectra`` checkpoints, evenly chosen; the points of several
    cells each in their cell's marker, named in the title (as the Nyquist overlay). Returns
    the Figure."""
    _refuse_ax("plot_campaign_bode", ax)
    own = fig is None
    if own:  # the colour bar in a grid column of its own: placed with the panels
        fig = _new_figure(COLUMN_IN, 3.8, layout=None)
        grid = fig.add_gridspec(2, 2, width_ratios=[1.0, 0.045])
        ax_mod = fig.add_subplot(grid[0, 0])
        ax_ph = fig.add_subplot(grid[1, 0], sharex=ax_mod)
    else:
        ax_mod, ax_ph = fig.subplots(2, 1, sharex=True)
    colours, mappable, label = _camp_colours(camp)
    shown, note = _camp_shown(camp, max_spectra)
    marker_of, cells_note = _overlay_cell_markers([camp.checkpoints[k] for k, _ in shown])
    note = "\n".join(part for part in (cells_note, note) if part)
    for k, r in shown:
        fg, zf = _camp_dense_fit(r)
        marker, size = _overlay_marker(marker_of, camp.checkpoints[k])
        ax_mod.loglog(r.frequency, _np.abs(r.z), marker, ms=size, mew=0, color=colours[k], alpha=0.85)
        ax_mod.loglog(fg, _np.abs(zf), "-", lw=0.8, color=colours[k])
        ax_ph.semilogx(r.frequency, -_np.degrees(_np.angle(r.z)), marker, ms=size, mew=0, color=colours[k],
                       alpha=0.85)
        ax_ph.semilogx(fg, -_np.degrees(_np.angle(zf)), "-", lw=0.8, color=colours[k])
    ax_mod.set_ylabel(f"|Z| / {OHM}")
    ax_ph.set_ylabel("−phase / °")
    ax_ph.set_xlabel("f / Hz")
    ax_mod.tick_params(labelbottom=True)
    if note:
        ax_mod.set_title(note, y=1.0)
    if own:
        _colourbar(mappable, None, label, cax=fig.add_subplot(grid[:, 1]))
    else:
        _colourbar(mappable, [ax_mod, ax_ph], label)
    _style(ax_mod, ax_ph)
    if own:
        _fixed_layout(fig)
    return fig


class EvolutionSeries(NamedTuple):
    """One evolution panel's numbers over the checkpoints (arrays of one length, see
    :func:`_camp_series`): ``x``, ``value`` and ``stderr`` (nan where hidden) in the panel's
    unit, and where a checkpoint has a problem flag of the whole fit, or is a gap: unresolved,
    undetermined, not fitted, no area given, low n; ``extrapolated``: a shown value of an arc's
    resistance whose apex frequency lies outside the measured range (``fapex-outside-range``;
    None: no such point); ``cell``: the index of each point's cell in
    :attr:`CampaignEvolution.cells` (None: one cell)."""

    x: _np.ndarray
    value: _np.ndarray
    stderr: _np.ndarray
    problem: _np.ndarray
    unresolved: _np.ndarray
    undetermined: _np.ndarray
    not_fitted: _np.ndarray
    no_area: _np.ndarray
    low_n: _np.ndarray
    extrapolated: _np.ndarray | None = None
    cell: _np.ndarray | None = None


class EvolutionPanel(NamedTuple):
    """One panel of the evolution figure: its ``title``, the ``key`` it reads (a parameter
    or a derived quantity) and ``unit``, its ``series`` (None: nothing fitted) and what the
    joint fit made of the key, ``role`` (:func:`_joint_panel_role`: role, checkpoints with
    it, fitted checkpoints)."""

    title: str
    key: str
    unit: str
    series: EvolutionSeries | None
    role: tuple[str, int, int]


class CampaignEvolution(NamedTuple):
    """What the evolution figure draws (:func:`campaign_evolution`): the rows of panels, the
    x axis' label, the evolution axis they were read on (None: the checkpoint number) and the
    names of the campaign's cells when it has several (each drawn in a colour and marker of
    its own; empty for one); ``marked``: the flags that ring checkpoints (problems of the whole
    fit, arc swaps) with how many fits carry each, most first."""

    rows: list[list[EvolutionPanel]]
    xlabel: str
    axis: str | None
    cells: tuple[str, ...] = ()
    marked: tuple[tuple[str, int], ...] = ()


def _camp_x(camp, x):
    """(x values, axis label) of the campaign's evolution axis (``camp.evolution_axis``); a
    temperature series in °C, as the headline lines tell it (the figure had said K)."""
    name = camp.evolution_axis(x)
    values = None if name is None else [getattr(c, name, None) for c in camp.checkpoints]
    if values is None or any(v is None for v in values):
        return _np.arange(len(camp.checkpoints), dtype=float), "checkpoint"
    shift = KELVIN_AT_0C if name == "temperature_K" else 0.0
    return _np.asarray(values, dtype=float) - shift, EVOLUTION_AXIS_LABELS.get(name, name)


def _camp_panel_rows(camp):
    """Rows of evolution panels, each a list of (title, key, unit, resistance name or None):
    resistances as ASR per
    cell (Ω·cm²) when an area is known, else R (Ω), two to a row; an interface arc of a
    symmetric cell gets its own row, ASR per cell beside ASR per interface; then the
    effective capacitances (per area when known), two to a row."""
    from .model.circuit import resistance_names

    first = next((r for r in camp.results if r is not None), None)
    if first is None:
        return []
    plain, paired, caps = [], [], []
    for name in resistance_names(first.param_names):
        role = first.roles.get(name)
        who = f"{name} ({role})" if role else name
        per_cell, per_interface = f"{name}_asr_ohm_cm2", f"{name}_asr_per_interface_ohm_cm2"
        if per_cell in first.derived and per_interface in first.derived:
            paired.append([(f"{who}: ASR per cell", per_cell, "ohm*cm2", name),
                           (f"{who}: ASR per interface", per_interface, "ohm*cm2", name)])
        elif per_cell in first.derived:
            plain.append((f"{who}: ASR per cell", per_cell, "ohm*cm2", name))
        else:
            plain.append((who, name, "ohm", name))
    for key in first.derived:
        if key.endswith("_ceff_F"):
            element = key[:-len("_ceff_F")]
            if f"{key}_per_cm2" in first.derived:
                caps.append((f"{element}: C_eff per area (Hsu-Mansfeld)", f"{key}_per_cm2", "F/cm2", None))
            else:
                caps.append((f"{element}: C_eff (Hsu-Mansfeld)", key, "F", None))
    pairs = lambda items: [items[i:i + 2] for i in range(0, len(items), 2)]  # noqa: E731
    return pairs(plain) + paired + pairs(caps) + pairs(_sum_panels(camp))


def _sum_panels(camp) -> list[tuple[str, str, str, None]]:
    """The panels (as :func:`_camp_panel_rows`'s) of the sums of resistances the data fix where
    their terms are not, as the evolution lines give them: the high-frequency intercept
    (``hf_intercept_*``) and each sum of arcs measured together (``R1+R2_*``) that the first,
    middle or last fitted checkpoint has (per cell when an area is known); the intercept line
    had had no panel."""
    from .fitting.arc_sums import arc_sum_asr_key, arc_sum_ohm_keys, arc_sum_terms
    from .fitting.intercept import INTERCEPT_ASR_KEY, INTERCEPT_KEY, intercept_name

    fitted = _camp_fitted(camp)
    if not fitted:
        return []
    read = [camp.results[fitted[k]] for k in sorted({0, len(fitted) // 2, len(fitted) - 1})]
    keys = dict.fromkeys(k for r in read for k in (INTERCEPT_KEY, *arc_sum_ohm_keys(r.derived)) if k in r.derived)
    panels = []
    for key in keys:
        per_area = INTERCEPT_ASR_KEY if key == INTERCEPT_KEY else arc_sum_asr_key(key)
        # the evolution line's name ("resistance after the fast arc R0 + R1" where it is not the intercept)
        title = (intercept_name(read) or "high-frequency intercept") if key == INTERCEPT_KEY else \
            f"{arc_sum_terms(key)} (arcs measured together)"
        if any(per_area in r.derived for r in read):
            panels.append((f"{title}: per cell", per_area, "ohm*cm2", None))
        else:
            panels.append((title, key, "ohm", None))
    return panels


def _camp_series(camp, panels, xs, flag_summary, cell_codes=None) -> list[EvolutionSeries | None]:
    """Per panel ``(key, resistor)`` of ``panels``: (x, value, stderr, problem, unresolved,
    undetermined, not fitted, no area, low n) arrays of ``key`` over the checkpoints (a
    checkpoint that could not be fitted is a gap in the line, not a straight line across
    it): ``problem`` when the fit has a problem flag of the whole fit
    (:func:`~eisfit.fitting.flags.whole_fit_problems`: not ``unresolved``, which concerns
    one parameter and leaves a gap in that parameter's panel only); a value
    flagged ``unresolved:<name>``, or whose standard error is larger than itself
    or unknown (:func:`eisfit.analysis.quality.undetermined`), is nan (a gap, never a number
    that stretches the axis), as the headline lines read it ``undetermined``. A value held
    fixed, or a quantity given without a stderr, stays a point without an error bar.
    A per-area quantity of a checkpoint without an electrode area is a gap of its own ("no
    area": its resistance is known, in ohm; it had been drawn as undetermined).
    A capacitance of a CPE flagged ``low-n`` (its C_eff in every form, eps_r:
    :func:`~eisfit.fitting.flags.low_n_capacitance_keys`) is a gap of its own ("low n"): an
    element with n below 0.6 is no capacitance (a real VSP sweep's n = 0.42 read 1.75 F/cm2,
    drawn as a point that squashed the 1e-8 F/cm2 ones to zero).
    ``flag_summary``: :func:`_camp_flag_summary` of ``camp`` (made once for all the panels).
    ``resistor``: the resistance the panel shows (None: a capacitance), whose shown values are
    ``extrapolated`` where the fit flags its arc ``fapex-outside-range`` (as the headline lines say);
    so are those of a capacitance whose element the flag names (a 0.64 F C_eff of an arc peaking
    a decade below f_min had been a plain point beside its R's open marker).
    ``cell_codes``: each checkpoint's cell index (:func:`_camp_cells`; None: one cell).
    The results are read once, for all the panels (None for each when nothing was fitted)."""
    if not _camp_fitted(camp):
        return [None] * len(panels)
    reader = _SeriesReader(panels, xs, flag_summary, cell_codes)
    for k, r in enumerate(camp.results):  # each result read once
        reader.add(k, r)
    return reader.series()


class _SeriesReader:
    """The evolution panels' points (:func:`_camp_series`) read one result at a time
    (:meth:`add`, every checkpoint in order, None where it has no fit), so that one pass over
    a campaign's results can serve other readers too (:func:`campaign_figure_numbers`)."""

    def __init__(self, panels, xs, flag_summary, cell_codes=None):
        self.panels, self.xs, self.flag_summary, self.cell_codes = panels, xs, flag_summary, cell_codes
        self.points = [_PointColumns() for _ in panels]
        self._point = _evolution_point_reader()

    def add(self, k: int, r: Any) -> None:
        problem, named = self.flag_summary[k]
        cell = 0 if self.cell_codes is None else self.cell_codes[k]
        for pts, (key, resistor) in zip(self.points, self.panels):
            p = self._point(r, key, self.xs[k], problem, named, resistor)
            if p is not None:
                pts.append(p + (cell,))

    def series(self) -> list[EvolutionSeries]:
        out = []
        for pts in self.points:
            series = EvolutionSeries(*pts.columns())
            out.append(series if self.cell_codes is not None else series._replace(cell=None))
        return out


def _evolution_point_reader():
    """The function that gives one checkpoint's point of one evolution panel (see
    :func:`_camp_series`), with its own memory of each circuit's apex flags."""
    from .analysis.quality import undetermined
    from .analysis.derived import APEX_OUTSIDE_RANGE, apex_outside_range_flags
    from .fitting.flags import UNDETERMINING_FLAGS, low_n_capacitance_keys, reads_undetermined, unresolved_keys

    apex_flags: dict[tuple[str, str], str | None] = {}  # a resistor's apex flag, per circuit

    def point(r, key: str, x, problem: bool, named: frozenset[str], resistor: str | None) -> tuple | None:
        """One checkpoint's point of the panel of ``key``, without its cell; None for a
        checkpoint without a fit and without a position on the axis."""
        if r is None:
            if x is not None and _np.isfinite(x):
                return (x, float("nan"), float("nan"), False, False, False, True, False, False, False)
            return None
        if key in r.values:
            v, s = r.values[key], r.stderr.get(key)
        else:
            v, s = r.derived.get(key, float("nan")), r.derived.get(f"{key}_stderr")
        # a per-area quantity of a checkpoint with no area ("no area given"); a sum the fit does not
        # give there (R1+R2_ohm, hf_intercept_ohm) is a gap, not that
        bare = (key not in r.values and key not in r.derived and not r.settings.get("area_cm2")
                and ("cm2" in key or key.endswith("_S_per_cm")))
        gone = not bare and "unresolved" in named and bool(unresolved_keys(r.flags, [key]))
        low_n = not bare and not gone and "low-n" in named and bool(low_n_capacitance_keys(r.flags, [key]))
        vague = (not bare and not gone and not low_n and key not in r.fixed
                 and (undetermined(v, s) or (not named.isdisjoint(UNDETERMINING_FLAGS)
                                             and reads_undetermined(r.flags, key))))
        s = float("nan") if s is None else s
        hidden = gone or low_n or vague or bare
        outside = False
        if resistor is not None and not hidden and APEX_OUTSIDE_RANGE in named:
            if (r.circuit, resistor) not in apex_flags:
                apex_flags[(r.circuit, resistor)] = apex_outside_range_flags(r.circuit).get(resistor)
            outside = apex_flags[(r.circuit, resistor)] in r.flags
        elif not hidden and APEX_OUTSIDE_RANGE in named:  # a capacitance of the arc: its element's flag
            outside = f"{APEX_OUTSIDE_RANGE}:{key.split('_', 1)[0]}" in r.flags
        return (x, float("nan") if hidden else v, float("nan") if hidden else s, problem, gone, vague, False,
                bare, low_n, outside)

    return point


class _PointColumns:
    """The points of one evolution panel (tuples of one length) as they are read, turned into
    one array per position ``BLOCK`` points at a time: every point held as a tuple of Python
    objects until the last was read had taken ~16 MB at once for the ten panels of 10,000
    checkpoints (traced), on top of the campaign process's peak; the arrays take ~1.6 MB.
    :meth:`columns` gives the arrays ``np.array`` makes of all the points at once."""

    BLOCK = 1024

    def __init__(self) -> None:
        self._pending: list[tuple] = []
        self._blocks: list[list[_np.ndarray]] = []

    def append(self, point: tuple) -> None:
        self._pending.append(point)
        if len(self._pending) == self.BLOCK:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._blocks.append([_np.array(a) for a in zip(*self._pending)])
            self._pending = []

    def columns(self) -> list[_np.ndarray]:
        self._flush()
        return [_np.concatenate(parts) for parts in zip(*self._blocks)]


def _camp_cells(camp) -> tuple[tuple[str, ...], list[int] | None]:
    """(the names of the campaign's cells in order of appearance, each checkpoint's index
    among them); ((), None) for a campaign of one cell."""
    names = [str(getattr(c, "cell", "") or "") for c in camp.checkpoints]
    cells = tuple(dict.fromkeys(names))
    if len(cells) <= 1:
        return (), None
    index = {name: i for i, name in enumerate(cells)}
    return cells, [index[name] for name in names]


def _marked_counts(camp) -> tuple[tuple[str, int], ...]:
    """(flag name, fits carrying it) of the flags that ring evolution points
    (:func:`~eisfit.fitting.flags.marked_flags`), most first."""
    from .fitting.flags import flag_counts, marked_flags
    from .fitting.result import results_field

    counts = flag_counts(marked_flags(flags) for flags in results_field(camp.results, "flags") if flags)
    return tuple(sorted(counts.items(), key=lambda item: -item[1]))


MARKED_NAMED = 3  # flags named in the legend entry of the rings (the others counted)


def _ring_label(marked: Sequence[tuple[str, int]]) -> str:
    """The legend entry of the red rings: which flags they mark ("kk-failed (61), lack-of-fit
    (5)"); a ring on every point had said only "problem flag or arc swap"."""
    if not marked:
        return "problem flag or arc swap"
    named = ", ".join(f"{name} ({n})" for name, n in marked[:MARKED_NAMED])
    more = f", {len(marked) - MARKED_NAMED} more" if len(marked) > MARKED_NAMED else ""
    return f"flagged: {named}{more}"


def _camp_flag_summary(camp) -> list[tuple[bool, frozenset[str]]]:
    """Per checkpoint: (a problem flag of the whole fit or an arc swap, the names of its flags),
    read from the flags once for all the panels of a figure; a panel parses the details of a
    flag (``unresolved:R2``) only where its name is there (5,000 checkpoints: 0.2 s when every
    panel parsed every flag again; the evolution figure made in 0.35 s instead of 0.52 s since
    the panels skip the flags a fit does not have)."""
    from .fitting.flags import flag_name, marked_flags
    from .fitting.result import results_field

    return [(False, frozenset()) if flags is None else (bool(marked_flags(flags)), frozenset(map(flag_name, flags)))
            for flags in results_field(camp.results, "flags")]


_MARKER_PT = 4.0
_FEW_POINTS = 50  # above this many checkpoints an evolution panel's markers shrink (as 1/sqrt(n)), bars lose caps
RASTER_ABOVE_POINTS = 300  # evolution panels with more checkpoints: unjoined markers, cap-less bars and rings as pixels (SVG size)


def campaign_evolution(camp: CampaignLike, x: str | None = None) -> CampaignEvolution:
    """The evolution figure's numbers (:class:`CampaignEvolution`) of a campaign on the axis
    ``x`` (None: its own): those it carries as ``evolution`` for that axis (the figure
    process's inputs, which hold no result of a checkpoint an overlay does not show), else
    read from its results, a few arrays per panel (10,000 checkpoints: ~1.5 MB; the slim
    results the figure process had received instead took ~45 MB more there)."""
    given = getattr(camp, "evolution", None)
    if given is not None and (x is None or x == given.axis):
        return given
    reader = _EvolutionReader(camp, x)
    if reader.series is not None:
        for k, r in enumerate(camp.results):  # each result read once, for all the panels
            reader.add(k, r)
    return reader.evolution()


class _EvolutionReader:
    """:func:`campaign_evolution` in two halves: the panels and the axis made from the
    campaign (its first result, the checkpoints and the results' flags), then each result
    read once (:meth:`add`, every checkpoint in order; only where ``series`` is not None:
    something was fitted) before :meth:`evolution`."""

    def __init__(self, camp: CampaignLike, x: str | None = None):
        self.camp, self.axis = camp, camp.evolution_axis(x)
        self.xs, self.xlabel = _camp_x(camp, x)
        self.cells, cell_codes = _camp_cells(camp)
        self.panel_rows = _camp_panel_rows(camp)
        panels = [(key, resistor) for row in self.panel_rows for _, key, _, resistor in row]
        self.n_panels = len(panels)
        self.series = (_SeriesReader(panels, self.xs, _camp_flag_summary(camp), cell_codes)
                       if _camp_fitted(camp) else None)

    def add(self, k: int, r: Any) -> None:
        self.series.add(k, r)

    def evolution(self) -> CampaignEvolution:
        series = iter(self.series.series() if self.series is not None else [None] * self.n_panels)
        rows = [[EvolutionPanel(title, key, unit, next(series), _joint_panel_role(self.camp, key))
                 for title, key, unit, _ in row] for row in self.panel_rows]
        return CampaignEvolution(rows, self.xlabel, self.axis, self.cells, _marked_counts(self.camp))


def campaign_figure_numbers(camp: CampaignLike, max_map_rows: int | None = None
                            ) -> tuple[CampaignResiduals, CampaignEvolution]:
    """:func:`campaign_residuals` (``max_rows=max_map_rows``) and :func:`campaign_evolution`
    (on the campaign's own axis) of a campaign, its results read once for both (a large
    campaign's are read back from disk: ~0.2 s per pass over 5,000, in the campaign process
    alone while the figure process waits for these numbers)."""
    residuals = _known_residuals(camp, max_map_rows)
    evolution = getattr(camp, "evolution", None)
    if residuals is not None or evolution is not None:  # one of them needs no pass
        return campaign_residuals(camp, max_map_rows), campaign_evolution(camp)
    fitted = _camp_fitted(camp)
    rows, evolving = _ResidualReader(fitted, max_map_rows), _EvolutionReader(camp)
    if fitted:
        for k, r in enumerate(camp.results):
            rows.add(k, r)
            evolving.add(k, r)
    return _remember_residuals(camp, max_map_rows, rows.residuals()), evolving.evolution()


CELL_MARKERS = ("o", "s", "^", "h", "<", ">", "p", "*")  # the evolution figure's marker of each cell (colour C0,
# C1...); none of the gap marks' (X, v, P, D, |)


def _cell_styles(series: EvolutionSeries, cells: Sequence[str]) -> list[tuple[_np.ndarray | None, str, str, str]]:
    """(mask of the points, colour, marker, legend name) of each cell an evolution panel draws:
    one group (mask None: every point, C0, circles, no name) for one cell."""
    if series.cell is None or len(cells) <= 1:
        return [(None, "C0", "o", "")]
    return [(series.cell == c, f"C{c % 10}", CELL_MARKERS[c % len(CELL_MARKERS)], f"cell {name}")
            for c, name in enumerate(cells) if (series.cell == c).any()]


GAP_ROW_PT = 7.0  # the gap marks of each further cell sit this much higher above the panel's x axis


def _gap_rows(ax, series: EvolutionSeries, cells: Sequence[str]) -> list[tuple[_np.ndarray | None, str, Any]]:
    """(mask of the points, colour, transform) of the rows of gap marks on an evolution panel's
    x axis: one grey row for one cell; for several, each cell's marks in its colour, each cell a
    row ``GAP_ROW_PT`` above the one before (below the axis they would cover its tick labels; cells
    at the same times had drawn their gaps on one another, in one grey)."""
    from matplotlib.transforms import offset_copy

    base = ax.get_xaxis_transform()
    if series.cell is None or len(cells) <= 1:
        return [(None, "0.45", base)]
    fig = ax.get_figure(root=True)
    return [(series.cell == c, f"C{c % 10}", offset_copy(base, fig=fig, y=GAP_ROW_PT * c, units="points"))
            for c in range(len(cells))]


def _draw_evolution_panel(ax, panel: EvolutionPanel, cells: Sequence[str] = (),
                          marked: Sequence[tuple[str, int]] = ()) -> float:
    """Draw one evolution panel; returns its largest standard error in the panel's unit
    (nan when none is known), for the legend's note on error bars. ``cells``: the campaign's
    cells (:attr:`CampaignEvolution.cells`), each in a colour and marker of its own with its
    name in the legend, its line joining its own points only."""
    title, key, unit, series, (role, n_role, n_fitted) = panel
    if series is None:
        ax.set_visible(False)
        return float("nan")
    px, pv, ps, pf, pu, pd, pn, pa, pl = series[:9]
    factor, shown_unit = _si_scale(pv, unit, prefix_ohm=True)  # a 1 MOhm arc: "MOhm", not an offset "1e6"
    pv, ps = pv / factor, ps / factor
    stderr_max = float(_np.nanmax(ps)) if _np.isfinite(ps).any() else float("nan")
    ax.set_title(title, y=1.0)
    symbol = "C_eff" if unit.startswith("F") else ("ASR" if unit == "ohm*cm2" else "R")
    ax.set_ylabel(f"{symbol} / {shown_unit}")
    # ---- series analysis: what the joint fit made of the values: shared (one value: a band), smoothed... ----
    role_text = "" if not role else (f"{role} (joint fit)" if n_role == n_fitted else
                                     f"{role} (joint fit, {n_role} of {n_fitted} checkpoints)")
    if role == "shared" and n_role == n_fitted and _np.unique(pv[_np.isfinite(pv)]).size == 1:
        at = int(_np.flatnonzero(_np.isfinite(pv))[0])
        ax.axhspan(pv[at] - ps[at], pv[at] + ps[at], color="C0", alpha=0.25, lw=0, label=f"{role_text} ± 1 s.e.")
        ax.axhline(pv[at], color="C0", lw=1.2)
        ax.legend(frameon=False, loc="best")
        return stderr_max
    # ---- end series analysis ----
    yerr = _np.where(_np.isfinite(ps), ps, 0.0)
    label = (f"{role_text} ± 1 s.e." if role_text else "± 1 s.e.") if _np.isfinite(ps).any() else (role_text or None)
    many = px.size > RASTER_ABOVE_POINTS  # drawn as pixels in the SVG, rings too: thousands of elements otherwise
    crowded = px.size > _FEW_POINTS  # 200 full-size markers with caps were one clump
    ms = _MARKER_PT if many or not crowded else max(_MARKER_PT * (_FEW_POINTS / px.size) ** 0.5, 1.5)
    extrapolated_named = False
    for mask, colour, marker, name in _cell_styles(series, cells):
        take = (lambda a: a) if mask is None else (lambda a, m=mask: a[m])  # noqa: E731
        shown_label = ", ".join(part for part in (name, label) if part) or None
        if many:
            _draw_many_points_with_bars(ax, take(px), take(pv), take(yerr), shown_label, colour, marker)
        else:
            ax.errorbar(take(px), take(pv), yerr=take(yerr), fmt=f"{marker}-", ms=ms, lw=0.8 if crowded else 1.0,
                        elinewidth=0.6 if crowded else 1.0, capsize=0 if crowded else 2, color=colour,
                        label=shown_label)
        if series.extrapolated is not None:
            extrapolated_named |= _mark_extrapolated(ax, take(px), take(pv), take(series.extrapolated), ms, colour,
                                                     marker, many, named=not extrapolated_named)
    shown = ~(pu | pd | pa | pl)
    ringed = pf & shown
    if ringed.any() and int(ringed.sum()) == int((shown & _np.isfinite(pv)).sum()) > 1:
        # a ring on every point marks none: the legend says it once (61 of 61 fits failing Lin-KK had
        # drawn a red ring around every point)
        ax.plot([], [], " ", label="every point " + _ring_label(marked))
    elif ringed.any():
        ax.plot(px[ringed], pv[ringed], "o", ms=_MARKER_PT + 4, mfc="none", mec="red", mew=0.9,
                label=_ring_label(marked), rasterized=many)
    rows = _gap_rows(ax, series, cells)
    for gap, marker, label in ((pu, "X", "unresolved"), (pl, "v", LOW_N_LABEL),
                               (pd, "P", UNDETERMINED_LABEL),
                               (pa, "D", "no area given"), (pn, "|", "not fitted")):
        if not gap.any():
            continue
        # issue 13: a value the data do not give is a gap, marked on the panel's x axis (on the spine,
        # not inside: at the foot of the data range it read as a low value); filled markers and a
        # vertical bar, which neither a tick nor the spine hides
        line_only = marker == "|"  # a bar is all edge: a white edge had made it invisible
        if len(rows) > 1:  # the legend's mark in grey: it stands for every cell's
            ax.plot([], [], marker, ms=_MARKER_PT + (5 if line_only else 3), color="0.45",
                    mec="0.45" if line_only else "white", mew=1.6 if line_only else 0.4, label=label)
            label = "_nolegend_"
        for own, colour, transform in rows:
            at = gap if own is None else gap & own
            if at.any():
                ax.plot(px[at], _np.zeros(int(at.sum())), marker, ms=_MARKER_PT + (5 if line_only else 3),
                        color=colour, mec=colour if line_only else "white", mew=1.6 if line_only else 0.4,
                        zorder=5, transform=transform, clip_on=False, label=label,
                        rasterized=int(at.sum()) > RASTER_ABOVE_POINTS)  # above the others: an image of its own
                label = "_nolegend_"  # named once
    if not _np.isfinite(pv).any():
        _say_no_checkpoint_determines(ax, pu, pd, pa, pl)
    else:
        _log_scale_if_wide(ax, pv, ps, pf)
    return stderr_max


def _mark_extrapolated(ax, x, y, extrapolated, ms: float, colour, marker: str, rasterized: bool,
                       named: bool = True) -> bool:
    """Open markers (white inside, edge in ``colour``) over the points of an evolution panel
    whose value is extrapolated (``extrapolated``: bool per point; its arc's apex outside the
    measured range), named in the legend as the headline lines name them where ``named`` (once
    per panel). True when it drew any."""
    from .fitting.flags import EXTRAPOLATED_LABEL

    extrapolated = extrapolated & _np.isfinite(y)
    if not extrapolated.any():
        return False
    ax.plot(x[extrapolated], y[extrapolated], marker, ms=ms, mfc="white", mec=colour, mew=0.9, zorder=3,
            label=EXTRAPOLATED_LABEL if named else "_nolegend_", rasterized=rasterized)
    return True


LOW_N_LABEL = "low n (< 0.6): no capacitance"
UNDETERMINED_LABEL = "undetermined (s.e. >= value or unknown, or by a flag)"  # a flag: multimodal, arc-numbering,
# series-holds-arc, stderr-spans-range, noise-dominated (a multimodal R0 of 6.25 +- 0.025 ohm had read "s.e. >= value")
LOG_SCALE_ABOVE_DECADES = 1.5  # an evolution panel whose values span more decades than this is drawn on a log scale


def _log_scale_if_wide(ax, values, stderr, flagged=None) -> None:
    """A log value axis for an evolution panel (a resistance, an ASR, a capacitance) whose
    values span more than ``LOG_SCALE_ABOVE_DECADES`` decades (a surface layer's 20 nF/cm2
    beside 800 nF/cm2 later on; a temperature series' interface ASR from 775 to 5.4 ohm*cm2:
    on a linear axis the small values lie on zero); else the linear axis stays, which shows a
    change of a few % (a sample campaign's 490-610 nF/cm2) as a log axis does not. Error bars
    reaching zero or below are clipped at the axis' foot. The span is that of the points not
    ``flagged`` (a problem of the whole fit) where there are two: one flagged fit's capacitance
    1000x the others' had turned the panel to log, the others' trend flattened; the axis is
    then framed on them, and the legend counts the flagged points beyond it."""
    finite = _np.isfinite(values)
    if flagged is not None and int((finite & ~flagged).sum()) >= 2:
        judged = _np.where(flagged, _np.nan, values)
        if _span_decades(judged) <= LOG_SCALE_ABOVE_DECADES < _span_decades(values):
            _frame_on(ax, judged, stderr, values)
            return
    positive = values[finite & (values > 0)]
    if positive.size < 2 or _np.log10(positive.max() / positive.min()) <= LOG_SCALE_ABOVE_DECADES:
        return
    tops = (values + _np.where(_np.isfinite(stderr), stderr, 0.0))[_np.isfinite(values)]
    ax.set_yscale("log", nonpositive="clip")
    ax.set_ylim(positive.min() / 2.0, float(tops.max()) * 1.5)
    _plain_log_labels(ax.yaxis)


def _span_decades(values) -> float:
    """Decades between the smallest and the largest positive finite value (0 for fewer than two)."""
    positive = values[_np.isfinite(values) & (values > 0)]
    return float(_np.log10(positive.max() / positive.min())) if positive.size >= 2 else 0.0


def _frame_on(ax, judged, stderr, values) -> None:
    """A linear value axis framed on ``judged`` (the unflagged values, nan elsewhere) with
    their error bars, and a legend entry counting the ``values`` beyond it."""
    err = _np.where(_np.isfinite(stderr), stderr, 0.0)
    ok = _np.isfinite(judged)
    lo, hi = float(_np.min(judged[ok] - err[ok])), float(_np.max(judged[ok] + err[ok]))
    pad = 0.08 * (hi - lo) if hi > lo else 0.1 * abs(hi) or 1.0
    ax.set_ylim(lo - pad, hi + pad)
    beyond = _np.isfinite(values) & ((values < lo - pad) | (values > hi + pad))
    if beyond.any():
        far = values[beyond][int(_np.argmax(_np.abs(values[beyond] - 0.5 * (lo + hi))))]
        ax.plot([], [], " ", label=f"{int(beyond.sum())} flagged point(s) off the axis (to {far:.3g})")


def _say_no_checkpoint_determines(ax, unresolved, undetermined, no_area, low_n) -> None:
    """An evolution panel without a single value (every checkpoint unresolved, undetermined,
    without an area or not fitted): a sentence in the panel instead of a value axis that
    means nothing (R0 undetermined everywhere drew an empty ±0.04 Ω·cm² axis)."""
    if undetermined.all():
        why = "undetermined at every checkpoint"
    elif unresolved.all():
        why = "unresolved at every checkpoint"
    elif no_area.all():
        why = "no area given at any checkpoint"
    elif low_n.all():
        why = "low n (< 0.6) at every checkpoint: no capacitance"
    else:
        why = "no checkpoint determines it"
    ax.text(0.5, 0.55, f"no value: {why}", transform=ax.transAxes, ha="center", va="center",
            fontsize=SMALL_PT, color="0.3")
    ax.set_yticks([])
    ax.set_ylim(0.0, 1.0)


def _draw_many_points_with_bars(ax, x, y, yerr, label, colour="C0", marker: str = "o") -> None:
    """Markers and 1-stderr bars without caps (caps of thousands of points overlap), as a
    Line2D and a patch drawn as pixels in the SVG (text and axes stay vector). The bars are one
    path of separate segments: ``errorbar`` builds one Path object per bar (0.15 s per 5,000
    points, and as long again to render); a line broken by NaNs, as they were drawn until
    session 80, holds its points ~4 times over (10,000 checkpoints: the evolution figure
    +10.2 MB while made, +17.2 MB while saved; as a patch +6.0 and +11.2, 1,000 checkpoints
    +3.6 and +9.5). No line joins the markers: at this density they
    touch, and Agg's stroke of a polyline zigzagging through thousands of noisy values took
    ~37 MB per format at 300 dpi (10,000 checkpoints: the evolution figure's peak 205 -> 145 MB
    without it, session 57). The legend shows an errorbar glyph, from an empty errorbar."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    ax.plot(x, y, marker, ms=_MARKER_PT, color=colour, rasterized=True)
    shown = _np.isfinite(y) & _np.isfinite(yerr)
    ends = _np.empty((2 * int(shown.sum()), 2))
    ends[0::2, 0] = ends[1::2, 0] = x[shown]
    ends[0::2, 1], ends[1::2, 1] = (y - yerr)[shown], (y + yerr)[shown]
    codes = _np.tile(_np.array([MplPath.MOVETO, MplPath.LINETO], MplPath.code_type), int(shown.sum()))
    # zorder of a line: drawn over the markers, as the line of bars it replaces
    ax.add_artist(PathPatch(MplPath(ends, codes), fill=False, edgecolor=colour, lw=1.0, zorder=2, rasterized=True))
    ax.update_datalim(ends)  # add_patch would walk the path segment by segment in Python (+4 s at 10,000)
    if label:
        ax.errorbar([], [], yerr=[], fmt=marker, ms=_MARKER_PT, elinewidth=1.0, capsize=0, color=colour, label=label)


def _note_small_error_bars(fig, panels) -> None:
    """Where every error bar of a panel is shorter than the marker radius, say so in the
    panel's legend ("± 1 s.e. smaller than the markers"); else the legend shows the bars.
    The legend goes above the panel (:func:`_legend_above`), where it covers no data. The
    panel height is its grid cell's (no draw needed); on a log value axis the bars are
    compared in decades."""
    for ax, stderr_max in panels:
        handles, labels = ax.get_legend_handles_labels()
        if not handles:
            continue
        height_pt = ax.get_position().height * fig.get_figheight() * 72.0
        marker_pt = min((line.get_markersize() for line in ax.get_lines() if line.get_marker() in CELL_MARKERS
                         and len(line.get_xdata())), default=_MARKER_PT)  # as drawn (crowded panels: smaller)
        if _bars_within_markers(ax, stderr_max, 0.5 * marker_pt / max(height_pt, 1.0)):
            labels = [(lab + " (smaller than the markers)" if lab.endswith("± 1 s.e.") else lab) for lab in labels]
        _legend_above(ax, handles, labels)


def _bars_within_markers(ax, stderr_max: float, radius_share: float) -> bool:
    """Whether every 1-stderr bar of a panel (the largest ``stderr_max``, in its value unit)
    is shorter than a marker's radius (``radius_share`` of the panel height): on a log axis,
    a bar relative to its value (stderr/value of each point) against the radius in decades."""
    if not _np.isfinite(stderr_max):
        return False
    lo, hi = ax.get_ylim()
    if ax.get_yscale() != "log":
        return stderr_max < radius_share * abs(hi - lo)
    radius_decades = radius_share * abs(_np.log10(hi / lo))
    bars = [line for line in ax.get_lines() if line.get_marker() in CELL_MARKERS and len(line.get_xdata())]
    values = _np.concatenate([_np.asarray(line.get_ydata(), float) for line in bars]) if bars else _np.array([])
    values = values[_np.isfinite(values) & (values > 0)]
    return bool(values.size) and bool(_np.log10(1.0 + stderr_max / values.min()) < radius_decades)


def plot_campaign_evolution(camp: CampaignLike, x: str | None = None, fig: Figure | SubFigure | None = None,
                            ax: None = None) -> Figure | SubFigure:
    """Each resistance against time / cycle / capacity with 1-stderr error bars: ASR per
    cell (Ω·cm²) when the area is known, else R (Ω); for an interface arc of a symmetric
    cell the ASR per interface (R·A/2) beside it; then each effective capacitance per area
    (µF/cm², prefix chosen from the values) or in F with an SI prefix. Checkpoints whose fit
    has a problem flag of the whole fit (not ``unresolved``, which concerns one parameter)
    get an open red ring, an unresolved value leaves a gap marked by a filled grey x on the
    x axis of its panel, a value whose standard error is larger than itself or unknown a gap
    marked by a filled grey + (a grey bar where the checkpoint was not fitted); where the
    error bars are smaller than the markers the legend says so. Double-column width, tick
    labels on every panel. Returns the Figure."""
    _refuse_ax("plot_campaign_evolution", ax)
    evolution = campaign_evolution(camp, x)
    rows, xlabel = evolution.rows, evolution.xlabel
    n_rows = max(len(rows), 1)
    own = fig is None
    if own:
        fig = _new_figure(DOUBLE_COLUMN_IN, 0.3 + 1.85 * n_rows, layout=None)
    grid = fig.add_gridspec(n_rows, 2)
    panels, first_ax = [], None
    for i, row in enumerate(rows):
        for j, panel in enumerate(row):
            spec = grid[i, :] if len(row) == 1 else grid[i, j]
            ax_ = fig.add_subplot(spec, sharex=first_ax)
            first_ax = first_ax or ax_
            panels.append((ax_, _draw_evolution_panel(ax_, panel, evolution.cells, evolution.marked)))
            _readable_value_axis(ax_)
            ax_.tick_params(labelbottom=True)
            if i == n_rows - 1:
                ax_.set_xlabel(xlabel)
            _style(ax_)
    if xlabel == "checkpoint" and first_ax is not None:
        from matplotlib.ticker import MaxNLocator

        first_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if own:
        _fixed_layout(fig)
    _note_small_error_bars(fig, panels)
    if own:  # taller by the legends above the panels (the widest of each row), the panels as tall as before
        fig.set_figheight(fig.get_figheight() + _legend_rows_height_pt([ax for ax, _ in panels]) / 72.0)
        _fixed_layout(fig)
    return fig


def _legend_rows_height_pt(axes) -> float:
    """The summed height (points) of the tallest legend above the panels of each grid row."""
    rows: dict[int, float] = {}
    for ax in axes:
        row = ax.get_subplotspec().rowspan.start
        rows[row] = max(rows.get(row, 0.0), _legend_above_height_pt(ax))
    return sum(rows.values())


MIN_RELATIVE_SPAN = 0.02  # a panel whose values barely change spans at least +-1 % of them


def _readable_value_axis(ax) -> None:
    """Plain tick labels on a linear value axis: no offset text ("1e-6+1e2" above the panel,
    over its title) and, where the values hardly change, a span of at least
    ``MIN_RELATIVE_SPAN`` of their size, so the ticks need no more digits than the values."""
    from matplotlib.ticker import ScalarFormatter

    if ax.get_yscale() != "linear":
        return
    lo, hi = ax.get_ylim()
    size = max(abs(lo), abs(hi))
    if _np.isfinite(size) and size > 0 and hi - lo < MIN_RELATIVE_SPAN * size:
        mid = 0.5 * (lo + hi)
        ax.set_ylim(mid - 0.5 * MIN_RELATIVE_SPAN * size, mid + 0.5 * MIN_RELATIVE_SPAN * size)
    formatter = ax.yaxis.get_major_formatter()
    if isinstance(formatter, ScalarFormatter):
        formatter.set_useOffset(False)


def plot_campaign_fits(camp: CampaignLike, fig: Figure | SubFigure | None = None,
                       max_spectra: int | None = MAX_OVERLAY_SPECTRA, area_normalised: bool = False,
                       ax: None = None) -> Figure | SubFigure:
    """Small multiples: one Nyquist panel (data points, fit line, equal axes) per fitted
    checkpoint, at most ``max_spectra`` evenly chosen (the title says so); the panel title
    is the checkpoint label, in red with ``(problem)`` when the fit has a problem flag of
    the whole fit (:func:`~eisfit.fitting.flags.whole_fit_problems`), else in orange with
    ``(R1 unresolved)`` when only parameters are unresolved (the evolution plots' rule).
    Four panels to
    a row at double-column width; in a figure of its own each row is as tall as its tallest
    panel (the figure at most 9 in). Returns the Figure."""
    _refuse_ax("plot_campaign_fits", ax)
    shown, note = _camp_shown(camp, max_spectra)
    n_cols = 4 if len(shown) > 3 else max(len(shown), 1)
    n_rows = max(-(-len(shown) // n_cols), 1)
    drawn = []  # (k, result, area scale, frame or None), the frame clipping an inductive tail as the overlay does
    # one SI prefix for every panel (an MOhm campaign's panels had read 0-2 under a "1e6" offset text)
    largest = max((float(_np.max(_np.abs(r.z))) * _camp_area(camp, k, area_normalised) for k, r in shown),
                  default=1.0)
    factor, prefix = _ohm_prefix(largest)
    for k, r in shown:
        scale = _camp_area(camp, k, area_normalised) / factor
        drawn.append((k, r, scale, _capacitive_frame(r.z.real * scale, -r.z.imag * scale)))
    ranges = [((fr[0][1] - fr[0][0]), (fr[1][1] - fr[1][0])) if fr else _nyquist_ranges(r.z)
              for _, r, _, fr in drawn]
    ratios = [yr / xr for xr, yr in ranges if xr > 0]
    ratio = min(max(max(ratios, default=0.6), 0.25), 1.0)
    own = fig is None
    if own:
        fig = _new_figure(DOUBLE_COLUMN_IN, 0.3 + (1.25 * ratio + 0.45) * n_rows, layout=None)
    unit = prefix + (OHM_CM2 if area_normalised else OHM)
    axis = camp.evolution_axis()
    files = {camp.checkpoints[k].file for k, _ in shown}
    common_file = next(iter(files)) if len(files) == 1 else None
    ends = _common_ends([_panel_name(camp.checkpoints[k], common_file is not None) for k, _ in shown])
    titled = []  # (panel, checkpoint index, suffix) for the titles sized once the panels are placed
    deepest = None  # (the lowest -Z'' of a clipped tail, whether it lies at the high-frequency end: inductive)
    for i, (k, r, scale, frame) in enumerate(drawn):
        ax_ = fig.add_subplot(n_rows, n_cols, i + 1)
        _, zf = _camp_dense_fit(r)
        ax_.plot(r.z.real * scale, -r.z.imag * scale, "o", ms=2, mfc="none", mew=0.6, color="C0")
        ax_.plot(zf.real * scale, -zf.imag * scale, "-", lw=0.9, color="C1")
        ax_.set_aspect("equal", adjustable="box")
        if frame:  # the arcs fill the panel, the tail is drawn and clipped (the suptitle says so)
            ax_.set_xlim(*frame[0])
            ax_.set_ylim(*frame[1])
            tail = float(_np.min(-r.z.imag * scale))
            if deepest is None or tail < deepest[0]:
                deepest = (tail, bool(_upper_half_in_log(r.frequency)[int(_np.argmin(-r.z.imag))]))
        else:
            ax_.set_ylim(bottom=min(0.0, ax_.get_ylim()[0]))
        ax_.locator_params(axis="x", nbins=3)  # small panels: a few readable ticks (and a faster layout)
        ax_.locator_params(axis="y", nbins=4)
        _no_offset_text(ax_.xaxis)
        _no_offset_text(ax_.yaxis)
        suffix, colour = _fit_panel_mark(r.flags)
        titled.append((ax_, k, suffix))
        ax_.set_title(_panel_title(camp.checkpoints[k], suffix, fig.get_figwidth() * 72.0 / n_cols - 2 * _PAD_PT,
                                   FONT_PT, _place_on_axis(camp.checkpoints[k], axis, k), common_file is not None,
                                   ends),
                      color=colour, y=1.0)
        if i % n_cols == 0:
            ax_.set_ylabel(f"−Z'' / {unit}")
        if i + n_cols >= len(shown):  # no panel below this one
            ax_.set_xlabel(f"Z' / {unit}")
        _style(ax_)
    source = f" of {_file_name(common_file)}" if common_file else ""
    clipped = (f"{'inductive tails' if deepest[1] else 'points below the real axis'} clipped (−Z'' down to "
               f"{deepest[0]:.3g} {unit})" if deepest is not None else "")
    notes = "; ".join(part for part in (clipped, note) if part)
    fig.suptitle(_wrapped(f"Nyquist fits per checkpoint{source}: data (points), fit (line)"
                          + (f"; {notes}" if notes else ""), _width_pt(fig) - 2 * _PAD_PT), fontsize=FONT_PT)
    if own:
        _fit_height_to_panels(fig, FITS_MAX_HEIGHT_IN)
        for panel in fig.axes:
            panel.apply_aspect()  # the box as drawn: equal axes shrink it inside its cell
            _thin_ticks(panel.xaxis, panel.get_position().width * fig.get_figwidth() * 72.0)
        # each title as wide as the room around its placed box's centre: half-way to the next
        # box's centre in its row, or to the figure's edge (a cell's width had let the right
        # column's titles run off the figure)
        for (panel, k, suffix), width_pt in zip(titled, _title_room_pt(fig, [p for p, _, _ in titled])):
            panel.set_title(_panel_title(camp.checkpoints[k], suffix, width_pt, FONT_PT,
                                         _place_on_axis(camp.checkpoints[k], axis, k), common_file is not None,
                                         ends),
                            color=panel.title.get_color(), y=1.0, fontsize=FONT_PT)
    return fig


FITS_MAX_HEIGHT_IN = 9.0  # fits.png is at most this tall (a page's text height); its width: double column


def _title_room_pt(fig, panels) -> list[float]:
    """The width (points) a centred title of each of ``panels`` (placed axes of one grid) may
    take: twice the distance from its box's centre to half-way to the next box's centre in
    its row or to the figure's edge (or to the end of a y label that reaches up beside the
    title, :func:`_ylabel_end_pt`), less :data:`_PAD_PT` on each side."""
    width = fig.get_figwidth() * 72.0
    centres = []
    for panel in panels:
        box = panel.get_position()
        centres.append((panel.get_subplotspec().rowspan.start, 0.5 * (box.x0 + box.x1) * width,
                        _ylabel_end_pt(panel)))
    rooms = []
    for row, centre, label_end in centres:
        others = sorted(c for r, c, _ in centres if r == row and c != centre)
        left = max((c for c in others if c < centre), default=None)
        right = min((c for c in others if c > centre), default=None)
        half_left = 0.5 * (centre - left) if left is not None else centre - label_end
        half_right = 0.5 * (right - centre) if right is not None else width - centre
        rooms.append(2.0 * min(half_left, half_right) - 2.0 * _PAD_PT)
    return rooms


def _ylabel_end_pt(panel) -> float:
    """Where (points from the figure's left edge) the y label of ``panel`` ends on its right,
    where that label is longer than the panel is tall and so reaches up beside its title;
    else 0. A title starting left of it ran into it (fits.png's "−Z'' / Ω·cm²" over the first
    panel's title)."""
    fig = panel.get_figure(root=True)
    box = panel.get_position()
    label = panel.yaxis.label
    if not label.get_text() or not label.get_visible():
        return 0.0
    label_w, label_h = _text_extent_pt(label.get_text(), label.get_size())
    if label_w <= box.height * fig.get_figheight() * 72.0:
        return 0.0
    across = _axis_margins(panel.yaxis, box.height * fig.get_figheight() * 72.0)["low"]
    return box.x0 * fig.get_figwidth() * 72.0 - across + label_h + _PAD_PT


def _place_on_axis(checkpoint, axis, index: int) -> str:
    """The checkpoint's place on the evolution axis (``50.63 h``, ``cycle 50``), "" where it has none."""
    return checkpoint.name_on(axis, index) if checkpoint.value_on(axis) is not None else ""


def _file_name(path: str) -> str:
    """The file name of a path (either separator)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


TICK_LABEL_GAP_PT = 3.0  # at least this much space between neighbouring tick labels


def _thin_ticks(axis, length_pt: float) -> None:
    """Fewer major ticks on ``axis`` (``length_pt`` long) until neighbouring labels keep
    ``TICK_LABEL_GAP_PT`` apart: a narrow fit panel had read "12.515.017.5", a Nyquist
    inset "0.20.3"."""
    from matplotlib.ticker import MaxNLocator

    size = _tick_label_size(axis)
    along = 0 if axis.axis_name == "x" else 1  # a label's extent along its axis: its width on x, its height on y
    for nbins in (3, 2, 1):
        labels, _ = _shown_tick_labels(axis)
        labels = sorted(labels)
        widths = [_text_extent_pt(text, size)[along] for _, text in labels]
        if all((b[0] - a[0]) * length_pt >= 0.5 * (wa + wb) + TICK_LABEL_GAP_PT
               for a, b, wa, wb in zip(labels, labels[1:], widths, widths[1:])):
            return
        axis.set_major_locator(MaxNLocator(nbins=nbins, steps=[1, 2, 4, 5, 10], min_n_ticks=1))


def _fit_panel_mark(flags) -> tuple[str, str]:
    """Title suffix and colour of a fit's panel: a problem of the whole fit, else the
    parameters that are unresolved, else nothing."""
    from .fitting.flags import unresolved_names, whole_fit_problems

    if whole_fit_problems(flags):
        return " (problem)", "C3"
    names = sorted(unresolved_names(flags))
    return (f" ({', '.join(names)} unresolved)", "C1") if names else ("", "black")


def _panel_name(checkpoint, one_file: bool = False) -> str:
    """A checkpoint's label as a panel names it: a label made from its file's path or file name
    shows the file name only (none where every panel is of ``one_file``: the sweep, ``#5``)."""
    name, file = checkpoint.label, checkpoint.file
    for start in ((file, _file_name(file)) if file else ()):  # a label made from the path or the file name
        if name.startswith(start):
            rest = name[len(start):]
            return rest if one_file and rest else _file_name(file) + rest
    return name


_NAME_SEPARATORS = "_-. #/,;:()"
_SHORT_NAME = 6  # names this short keep their common ends (a sweep's "#16" had lost its "#", then its number)


def _common_ends(names: Sequence[str]) -> tuple[int, int]:
    """(length of the prefix, length of the suffix) that all ``names`` share, each ending at a
    separator (:data:`_NAME_SEPARATORS`) so that no run of digits or letters is split
    (``LiMg_0000h_PEIS.mpt``, ``LiMg_0100h_PEIS.mpt``: ``LiMg_`` and ``_PEIS.mpt``, not
    ``LiMg_0``); (0, 0) for fewer than two names."""
    import os

    if len(names) < 2 or min(len(n) for n in names) <= _SHORT_NAME:  # "#16": nothing to gain, a number to lose
        return 0, 0
    prefix = os.path.commonprefix(list(names))
    suffix = os.path.commonprefix([n[::-1] for n in names])[::-1]
    shortest = min(len(n) for n in names)
    pre = max((i + 1 for i, c in enumerate(prefix) if c in _NAME_SEPARATORS), default=0)
    suf = max((len(suffix) - i for i, c in enumerate(suffix) if c in _NAME_SEPARATORS), default=0)
    if pre + suf >= shortest:  # a name would be all common: keep the prefix only
        suf = 0
    return (pre, suf) if pre < shortest else (0, 0)


def _without_common_ends(name: str, ends: tuple[int, int]) -> str:
    """``name`` without the prefix and suffix all panels share (:func:`_common_ends`), each
    shown as "…"."""
    pre, suf = ends
    middle = name[pre:len(name) - suf]
    return ("…" if pre else "") + middle + ("…" if suf else "")


def _panel_title(checkpoint, suffix: str, width_pt: float, size_pt: float, on_axis: str = "",
                 one_file: bool = False, ends: tuple[int, int] = (0, 0)) -> str:
    """A checkpoint's label + ``suffix`` as a small panel's title no wider than
    ``width_pt``: the name :func:`_panel_name` gives, followed by the checkpoint's place
    on the evolution axis ``on_axis`` (``50.63 h``) where the label does not hold it; a name
    too wide first loses the prefix and suffix that every panel's name shares (``ends``,
    :func:`_common_ends`; shown as "…"), so the part that tells checkpoints apart stays (the
    front cut alone had kept "…0h_PEIS_C01.mpt" of every file and dropped its "0100h"); one
    still too wide loses its leading characters; the unresolved parameters' names in the
    suffix give way before the label does (to "(unresolved)", then "(unres.)"; "(problem)" to
    "(prob.)": a sweep's "#16" had been cut to "…, 16.03 h (unresolved)"), then the place on the
    axis (sweeps #22, #47, #60 had read "…2, 0.3042 h (problem)", "…7", "…0")."""
    name = _panel_name(checkpoint, one_file)
    if on_axis and on_axis not in name and _text_extent_pt(f"{name}, {on_axis}{suffix}", size_pt)[0] > width_pt:
        name = _without_common_ends(name, ends)
    elif _text_extent_pt(name + suffix, size_pt)[0] > width_pt:
        name = _without_common_ends(name, ends)
    label = name
    if on_axis and on_axis not in name:
        name = f"{name}, {on_axis}"
    shorter = ((" (unresolved)", " (unres.)") if suffix.endswith("unresolved)")
               else (" (prob.)",) if suffix == " (problem)" else ())
    for short in shorter:  # the suffix gives way first, not the label ("…00 h"; the colour keeps the mark)
        if _text_extent_pt(name + suffix, size_pt)[0] > width_pt:
            suffix = short
    if name != label and _text_extent_pt(name + suffix, size_pt)[0] > width_pt:
        name = label  # then the place on the axis, which the panel order tells ("…2, 0.3042 h" had been sweep #22)
    return _front_cut(name, suffix, width_pt, size_pt)


def _front_cut(name: str, suffix: str, width_pt: float, size_pt: float) -> str:
    """``name + suffix`` no wider than ``width_pt``: ``name`` loses leading characters
    (shown as "…") until it fits, so its end (file name, sweep number) stays."""
    text = name + suffix
    while len(name) > 4 and _text_extent_pt(text, size_pt)[0] > width_pt:
        name = name[1:]
        text = "…" + name + suffix
    return text


CAMPAIGN_FIGURES = ("evolution", "nyquist", "fits", "bode", "residual_map")  # a campaign's report figures
# the report figures whose drawing takes the most memory (a 300-dpi raster of a full-width figure,
# ~45 MB while saved, against 10-25 MB for the others): left to a figure worker while there is one
MEMORY_HEAVY_FIGURES = ("evolution", "residual_map")
DRT_FIGURES = ("drt_map", "drt_stack")  # and those of a campaign with its DRTs


def campaign_figure(name: str, camp: CampaignLike, area_normalised: bool = False) -> Figure:
    """The report figure ``name`` (:data:`CAMPAIGN_FIGURES`, :data:`DRT_FIGURES`) of a
    campaign, as ``CampaignResult.write`` writes it: overlays of at most
    :data:`MAX_OVERLAY_SPECTRA` spectra, Nyquist figures in Ω·cm² with ``area_normalised``."""
    if name == "evolution":
        return plot_campaign_evolution(camp)
    if name == "nyquist":
        return plot_campaign_nyquist(camp, area_normalised=area_normalised).figure
    if name == "fits":
        return plot_campaign_fits(camp, area_normalised=area_normalised)
    if name == "bode":
        return plot_campaign_bode(camp)
    if name == "residual_map":
        return plot_campaign_residual_map(camp).figure
    if name == "drt_map":
        return plot_campaign_drt_map(camp).figure
    if name == "drt_stack":
        return plot_campaign_drt_stack(camp).figure
    raise ValueError(f"no campaign figure named {name!r} (known: {', '.join(CAMPAIGN_FIGURES + DRT_FIGURES)})")


MAX_MAP_ROWS = 600  # a residual map of more checkpoints shows each band of them as one row
MAP_ROWS_LABELLED = 25  # at most this many rows of a residual map are labelled


def labelled_map_rows(n_fitted: int, max_rows_labelled: int = MAP_ROWS_LABELLED) -> list[int]:
    """The positions among the fitted checkpoints whose names label a residual map's rows:
    every k-th from the first, at most ``max_rows_labelled`` (a regular step: 25 of 32 had
    left gaps)."""
    return list(range(0, n_fitted, -(-n_fitted // max_rows_labelled))) if n_fitted else []


def plot_campaign_residual_map(camp: CampaignLike, ax: Axes | None = None,
                               max_rows_labelled: int = MAP_ROWS_LABELLED) -> Axes:
    """Heat map of the relative residuals |Z−Zfit|/|Z| in % with the sign of the real
    residual (checkpoint rows × frequency columns, f in Hz on a log axis); systematic
    bands point at a wrong model. Above ``MAX_MAP_ROWS`` (600) checkpoints each row is a
    band of consecutive checkpoints showing, at each frequency, the residual of largest
    magnitude among them (sign kept), and the axis label says how many checkpoints a row
    holds. At most ``max_rows_labelled`` row labels. Returns the Axes."""
    data = campaign_residuals(camp, max_rows=MAX_MAP_ROWS)
    fitted = data.fitted
    own = ax is None
    if own:
        ax = _new_axes(None, (DOUBLE_COLUMN_IN, min(0.16 * max(len(fitted), 6) + 1.0, 6.0)), layout=None)
    if not fitted:
        return ax
    grid, row_edges = data.grid, data.row_edges  # a band's row keeps its largest residuals: the same limit
    lim = _np.nanmax(_np.abs(grid)) if _np.isfinite(grid).any() else 1.0
    edges = _edges(data.log_frequency)
    mesh = ax.pcolormesh(10.0 ** edges, row_edges - 0.5, grid, cmap="RdBu_r",
                         vmin=-lim, vmax=lim, shading="flat", rasterized=True)
    ax.set_xscale("log")
    ax.invert_yaxis()
    rows = labelled_map_rows(len(fitted), max_rows_labelled)
    ax.set_yticks(rows)
    axis = camp.evolution_axis()
    # rows of several cells say whose ("A: 0 h"; "0 h" had stood three times), read from the named
    # rows alone, as a figure process has them
    named = [camp.checkpoints[fitted[i]] for i in rows]
    several = len({c.cell for c in named}) > 1
    ax.set_yticklabels([(f"{c.cell}: " if several else "") + c.name_on(axis, fitted[i]) for c, i in zip(named, rows)])
    ax.set_xlabel("f / Hz")
    step = int(row_edges[1] - row_edges[0])
    ax.set_ylabel("checkpoint" if step == 1 else f"checkpoint (rows of {step}: largest residual)")
    _colourbar(mesh, ax, "|ΔZ|/|Z| × sign(ΔZ') / %")
    _style(ax)
    ax.tick_params(top=False, right=False)
    if own:
        _fixed_layout(ax.figure)
    return ax


class CampaignResiduals(NamedTuple):
    """What the residual map draws: ``fitted`` the numbers of the fitted checkpoints,
    ``log_frequency`` (F,) log10(f/Hz) of its columns (rounded to 3 decimals: every
    spectrum's points on one axis) and ``grid`` (rows, F) the relative residual
    |Z−Zfit|/|Z| in %, signed by the real part's (NaN where a spectrum has no point): one
    row per fitted checkpoint, or with ``row_edges`` one per band of them
    (:meth:`banded`; the bands' edges in positions among the fitted, 0 ... n)."""

    fitted: list[int]
    log_frequency: _np.ndarray
    grid: _np.ndarray
    row_edges: _np.ndarray | None = None

    def banded(self, max_rows: int) -> "CampaignResiduals":
        """The same map with at most ``max_rows`` rows (:func:`_largest_per_band`), its
        ``row_edges`` set (one row per checkpoint: edges 0, 1, ..., n); itself when banded."""
        if self.row_edges is not None:
            return self
        grid, row_edges = _largest_per_band(self.grid, max_rows)
        return self._replace(grid=grid, row_edges=row_edges)


def campaign_residuals(camp: CampaignLike, max_rows: int | None = None) -> CampaignResiduals:
    """The residual map's numbers (:class:`CampaignResiduals`) of a campaign: those it carries
    as ``residuals`` (the figure process's inputs, which hold no spectrum of a checkpoint an
    overlay does not show), else computed from its results' points, once for as long as it
    holds the same results (a large campaign's process computes them for the figure
    process's inputs and may draw the map itself: 0.3 s for 10,000 checkpoints).
    ``max_rows``: in bands, at most this many rows (:meth:`CampaignResiduals.banded`), each
    band merged as its results are read: the rows of every checkpoint are never held
    (10,000 checkpoints: the figure inputs' traced peak in the campaign process 18.6 ->
    9.6 MB above what it held before, 3.6 MB less held after)."""
    known = _known_residuals(camp, max_rows)
    if known is not None:
        return known
    return _remember_residuals(camp, max_rows, _residuals_of(camp.results, max_rows))


def _known_residuals(camp: CampaignLike, max_rows: int | None = None) -> CampaignResiduals | None:
    """The residual map's numbers the campaign carries, or those computed for it before from
    the same results (a map of every checkpoint's row serves a banded request too); None
    when they are to be computed."""
    given = getattr(camp, "residuals", None)
    if given is not None:
        return given
    maps = _remembered_maps(camp, _held_results(camp))
    if max_rows in maps:
        return maps[max_rows]
    if None in maps and max_rows is not None:
        return _remember_residuals(camp, max_rows, maps[None].banded(max_rows))
    return None


def _held_results(camp: CampaignLike) -> Any:
    """What the remembered residuals are checked against: a list may be edited in place, so its
    items; a campaign's results kept on disk (read one at a time, a new object each) cannot be:
    the container."""
    results = camp.results
    return list(results) if isinstance(results, list) else results


def _remember_residuals(camp: CampaignLike, max_rows: int | None, data: CampaignResiduals) -> CampaignResiduals:
    """``data``, remembered as the residual numbers of ``camp`` in at most ``max_rows`` rows
    (None: a row per checkpoint) for as long as it lives and holds the same results."""
    try:
        ref = _weakref.ref(camp)
    except TypeError:  # a campaign-like object that cannot be referenced weakly: not remembered
        return data
    if id(camp) not in _RESIDUALS:
        _weakref.finalize(camp, _RESIDUALS.pop, id(camp), None)
    held = _held_results(camp)
    _RESIDUALS[id(camp)] = (ref, held, {**_remembered_maps(camp, held), max_rows: data})
    return data


def _remembered_maps(camp: CampaignLike, held: Any) -> dict[int | None, CampaignResiduals]:
    """The residual maps remembered for ``camp`` while it held the results ``held``
    (:func:`_held_results`), by ``max_rows``; empty when none are."""
    known = _RESIDUALS.get(id(camp))
    if known is None or known[0]() is not camp or not _same_results(known[1], held):
        return {}
    return known[2]


def _same_results(known: Any, held: Any) -> bool:
    if isinstance(known, list) and isinstance(held, list):
        return len(known) == len(held) and all(a is b for a, b in zip(known, held))
    return known is held


# id of a campaign -> (a weak reference to it, its results, their numbers by max_rows); an entry goes
# with its campaign
_RESIDUALS: dict[int, tuple[Any, Any, dict[int | None, CampaignResiduals]]] = {}


# rows with frequencies the residual grid lacks, held before it is widened for them: this many, or
# 1/_WIDEN_SHARE of the rows read so far where that is more (each widening copies the grid)
_WIDEN_EVERY = 64
_WIDEN_SHARE = 8


def _residuals_of(results: Sequence[Any], max_rows: int | None = None) -> CampaignResiduals:
    """Each fitted result's residuals in % of |Z| on the campaign's common log-frequency grid,
    its results read once, one at a time, each row written into the grid as it is read (rows
    with frequencies the grid lacks wait for it to be widened for them, ``_WIDEN_EVERY`` of
    them or an eighth of the rows read so far, so that spectra that each bring frequencies
    of their own widen it a few dozen times, not once every few rows): the rows of 10,000
    checkpoints, held until the last was read, had added ~14 MB to the campaign process's
    peak. ``max_rows``: merged into bands as read (:class:`_ResidualGrid`)."""
    from .fitting.result import fitted_indices

    rows = _ResidualReader(fitted_indices(results), max_rows)
    for k in rows.fitted:
        rows.add(k, results[k])
    return rows.residuals()


class _ResidualReader:
    """:func:`_residuals_of` one result at a time: :meth:`add` each fitted checkpoint's
    result (``fitted``: their indices; any other index is passed over), then :meth:`residuals`."""

    def __init__(self, fitted: list[int], max_rows: int | None = None):
        self.fitted = fitted
        self._row = {k: row for row, k in enumerate(fitted)}
        self._grid = _ResidualGrid(len(fitted), max_rows)

    def add(self, k: int, r: Any) -> None:
        row = self._row.get(k)
        if row is not None:
            self._grid.put(row, _np.round(_np.log10(r.frequency), 3),
                           100.0 * _np.hypot(r.residuals_real, r.residuals_imag) * _np.sign(r.residuals_real))

    def residuals(self) -> CampaignResiduals:
        if not self.fitted:
            return CampaignResiduals([], _np.zeros(0), _np.zeros((0, 0)))
        self._grid.widen()
        return CampaignResiduals(self.fitted, self._grid.freqs, self._grid.values, self._grid.row_edges)


class _ResidualGrid:
    """The residual map's grid (rows, log frequencies) filled row by row (:func:`_residuals_of`).

    With ``max_rows``, in bands of consecutive rows as :meth:`CampaignResiduals.banded` draws
    them (:func:`_band_edges`), each band's row holding at each frequency the residual of
    largest magnitude among its rows (sign kept; the first row of equals, whatever order the
    rows come in; NaN where none has a point), merged as each row comes: the rows of every
    checkpoint are never held."""

    def __init__(self, rows: int, max_rows: int | None = None, freqs: "_np.ndarray | None" = None):
        self.row_edges = None if max_rows is None else _band_edges(rows, max_rows)
        self._step = 1 if max_rows is None else _band_step(rows, max_rows)
        bands = rows if self.row_edges is None else self.row_edges.size - 1
        self.freqs = _np.zeros(0) if freqs is None else freqs
        self.values = _np.full((bands, self.freqs.size), _np.nan)
        # the row each band's value came from: the first of equal magnitudes wins (None: a row per band)
        self._source = None if self._step == 1 else _np.zeros(self.values.shape, int)
        # a spectrum's log frequencies -> their columns now (and the last of repeated ones, _last_of_each)
        self._columns: dict[bytes, tuple[_np.ndarray, _np.ndarray | None]] = {}
        self._waiting: list[tuple[int, _np.ndarray, _np.ndarray]] = []  # rows whose frequencies it lacks

    def put(self, row: int, logf: "_np.ndarray", residuals: "_np.ndarray") -> None:
        key = logf.tobytes()
        known = self._columns.get(key)
        if known is None:
            cols = self._columns_of(logf)
            if cols is None:
                self._waiting.append((row, logf, residuals))
                if len(self._waiting) >= max(_WIDEN_EVERY, row // _WIDEN_SHARE):
                    self.widen()
                return
            known = self._columns[key] = (cols, _last_of_each(cols))
        self.put_columns(row, known[0], residuals, known[1])

    def put_columns(self, row: int, cols: "_np.ndarray", residuals: "_np.ndarray",
                    last: "_np.ndarray | None" = None) -> None:
        """Write (or merge into its band) the residuals of ``row`` at the columns ``cols``.
        ``last``: where points share a column (a frequency repeated to the rounding), the
        positions of the last of each (:func:`_last_of_each`), which a row of its own shows."""
        if self._source is None:
            self.values[row, cols] = residuals
            return
        if last is not None:
            cols, residuals = cols[last], residuals[last]
        band = row // self._step
        now, source = self.values[band, cols], self._source[band, cols]
        new_size, now_size = _magnitude(residuals), _magnitude(now)
        wins = (new_size > now_size) | ((new_size == now_size) & (row < source))
        self.values[band, cols[wins]] = residuals[wins]
        self._source[band, cols[wins]] = row

    def _columns_of(self, logf: "_np.ndarray") -> "_np.ndarray | None":
        """The columns of the log frequencies ``logf``, None where the grid lacks one."""
        cols = _np.searchsorted(self.freqs, logf)
        if _np.all(cols < self.freqs.size) and _np.array_equal(self.freqs[cols], logf):
            return cols
        return None

    def widen(self) -> None:
        """Add the waiting rows' frequencies to the columns (the values moved to their
        columns of the union, NaN in the new ones; the columns known so far forgotten), then
        write those rows."""
        if not self._waiting:
            return
        union = _np.unique(_np.concatenate([self.freqs, *(logf for _, logf, _ in self._waiting)]))
        if union.size != self.freqs.size:
            at = _np.searchsorted(union, self.freqs)
            wider = _np.full((self.values.shape[0], union.size), _np.nan)
            wider[:, at] = self.values
            if self._source is not None:
                source = _np.zeros(wider.shape, int)
                source[:, at] = self._source
                self._source = source
            self.freqs, self.values = union, wider
            self._columns.clear()
        for row, logf, residuals in self._waiting:
            cols = _np.searchsorted(self.freqs, logf)
            self.put_columns(row, cols, residuals, _last_of_each(cols))
        self._waiting.clear()


def _last_of_each(cols: "_np.ndarray") -> "_np.ndarray | None":
    """The positions of the last of each column in ``cols``, None where no column repeats."""
    if _np.unique(cols).size == cols.size:
        return None
    return _np.sort(cols.size - 1 - _np.unique(cols[::-1], return_index=True)[1])


def _magnitude(values: "_np.ndarray") -> "_np.ndarray":
    """|values|, -1 where NaN (below every residual: any point wins over none)."""
    return _np.where(_np.isnan(values), -1.0, _np.abs(values))


def _band_step(n: int, max_rows: int) -> int:
    """Checkpoints per band of a map of ``n`` rows drawn in at most ``max_rows`` rows."""
    return max(-(-n // max_rows), 1)


def _band_edges(n: int, max_rows: int) -> "_np.ndarray":
    """The edges, in checkpoint numbers (0, step, ..., n), of the bands of consecutive
    checkpoints that a map of ``n`` rows is drawn in with at most ``max_rows`` rows: bands of
    equal size, the last one shorter; one per checkpoint (0, 1, ..., n) when n <= max_rows."""
    step = _band_step(n, max_rows)
    return _np.minimum(_np.arange(-(-n // step) + 1, dtype=float) * step, n)


def _largest_per_band(grid, max_rows: int):
    """``grid`` (checkpoints x frequencies) with at most ``max_rows`` rows: consecutive
    checkpoints in bands of equal size (the last one shorter), each band's row the residual
    of largest magnitude at each frequency (its sign kept; NaN where the band has none), and
    the bands' edges in checkpoint numbers (0, step, ..., n) (:class:`_ResidualGrid`'s bands,
    its rows written in order). A map of 10,000 checkpoints, drawn as one cell each, cost
    ~95 MB while it was saved, for rows of 0.15 pixel at 300 dpi that the eye cannot tell
    apart; the largest residual of a band keeps a checkpoint that misses a feature visible,
    an average would wash it out."""
    n, width = grid.shape
    if n <= max_rows:
        return grid, _band_edges(n, max_rows)
    bands = _ResidualGrid(n, max_rows, freqs=_np.arange(width, dtype=float))
    columns = _np.arange(width)
    for row in range(n):
        bands.put_columns(row, columns, grid[row])
    return bands.values, bands.row_edges


# ---- DRT of a campaign (issue 8; data from CampaignResult.drts, eisfit/campaign/drt.py) ----
def _camp_drt_axis(camp):
    """(values, label) of the checkpoint axis of the DRT map: the evolution figure's (time,
    cycle, temperature, DC potential...: :func:`_camp_x`) where its values differ from row to
    row, else the checkpoint index (a temperature series' map had said "checkpoint index"
    beside evolution and stack figures in °C)."""
    values, label = _camp_x(camp, None)
    if len(set(values.tolist())) == len(values):
        return values, label
    return _np.arange(len(camp.checkpoints), dtype=float), "checkpoint index"


DRT_MAP_LOG_ABOVE = 30.0  # rows whose largest gamma spans more than this factor: a logarithmic colour scale
DRT_MAP_LOG_DECADES = 3.0  # ... over this many decades below the largest gamma


def _drt_map_norm(gamma):
    """The colour scale of a DRT map's ``gamma`` (rows x tau, ohm): linear, or logarithmic over
    ``DRT_MAP_LOG_DECADES`` when the rows' largest values span more than ``DRT_MAP_LOG_ABOVE``
    (a temperature series' cold rows at 1,300 ohm had left 12 of 14 rows black); the
    label's note."""
    from matplotlib.colors import LogNorm

    peaks = gamma.max(axis=1)
    top = float(peaks.max()) if peaks.size else 0.0
    positive = peaks[peaks > 0]
    if not top > 0 or positive.size < 2 or top / float(positive.min()) <= DRT_MAP_LOG_ABOVE:
        return None, ""
    return LogNorm(vmin=top * 10.0 ** -DRT_MAP_LOG_DECADES, vmax=top, clip=True), " (log scale)"


def _edges(centres):
    """Cell edges around increasing centres (midpoints; end cells mirrored)."""
    import numpy as np

    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])


def _say_no_drt(ax, camp) -> None:
    """A DRT panel of a campaign without DRTs says why in words (it was a blank axes): none
    computed yet (``camp.compute_drt()``, ``drt=True``, ``--drt``), or none could be."""
    why = ("no DRT computed: call camp.compute_drt() (or fit_campaign(..., drt=True), --drt)"
           if camp.drts is None else "no checkpoint's DRT could be computed")
    ax.text(0.5, 0.5, why, transform=ax.transAxes, ha="center", va="center", fontsize=SMALL_PT, color="0.3",
            wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_campaign_drt_map(camp: CampaignLike, ax: Axes | None = None) -> Axes:
    """Heat map of the DRT gamma (ohm per unit ln tau): checkpoints (time in h, else cycle,
    else index) against log10(tau / s); tracked peaks as white markers, checkpoints whose
    Kramers-Kronig test failed marked 'KK!'. Needs ``camp.drts`` (``drt=True``). Returns the Axes."""
    import numpy as np

    own = ax is None
    if own:
        ax = _new_axes(None, (COLUMN_IN, min(0.12 * max(len(camp.checkpoints), 8) + 1.4, 5.0)), layout=None)
    drts = camp.drts or []
    rows = [k for k, d in enumerate(drts) if d is not None]
    if not rows:
        _say_no_drt(ax, camp)
        return ax
    ys, ylabel = _camp_drt_axis(camp)
    order = sorted(rows, key=lambda k: ys[k])
    log_tau = np.log10(drts[order[0]].tau_s)
    gamma = np.array([np.interp(log_tau, np.log10(drts[k].tau_s), drts[k].gamma_ohm) for k in order])
    norm, scale_note = _drt_map_norm(gamma)
    if norm is not None:  # zeros of the non-negative solution at the scale's floor, not blank cells
        gamma = np.maximum(gamma, norm.vmin)
    mesh = ax.pcolormesh(_edges(log_tau), _edges(ys[order]), gamma, cmap="magma", shading="flat",
                         rasterized=True, norm=norm)
    _colourbar(mesh, ax, f"γ / Ω{scale_note}")
    n_tracks = _draw_drt_tracks(ax, camp, order, ys)
    for k in order:
        if drts[k].kk_violation:
            ax.annotate("KK!", (log_tau[-1], ys[k]), color="C3", fontsize=7, ha="right", va="center")
    ax.set_xlabel("log10(τ / s)")
    ax.set_ylabel(ylabel)
    ax.set_title("DRT map (γ of the fitted points)", fontsize=FONT_PT, y=1.0)
    if n_tracks:  # above the map: inside, "best" had hidden the 1000 h marker of a track
        _legend_above(ax, *ax.get_legend_handles_labels())
    _style(ax)
    if own:
        _fixed_layout(ax.figure)
    return ax


def _draw_drt_tracks(ax, camp, order: Sequence[int], ys) -> int:
    """Draw the tracked DRT peaks (columns ``drt_peak<k>_tau_s`` of the table) on the map
    ``ax``, checkpoints ``order`` at heights ``ys``; returns the number of tracks. The peaks
    are tracked per cell, so a track's line joins the checkpoints of one cell only, each cell
    in a marker of its own named in the legend (one line through every row had joined cell
    A's last checkpoint to cell B's first). White markers, readable over the dark map."""
    table = camp.table
    n_tracks = sum(1 for key in table.columns if key.startswith("drt_peak") and key.endswith("_tau_s"))
    cells, codes = _camp_cells(camp)
    groups = ([(list(order), "o", "tracked peaks")] if codes is None else
              [([k for k in order if codes[k] == c], CELL_MARKERS[c % len(CELL_MARKERS)],
                f"tracked peaks, cell {name}") for c, name in enumerate(cells)])
    for t in range(1, n_tracks + 1):
        tau = table[f"drt_peak{t}_tau_s"].to_numpy(dtype=float)
        for rows, marker, label in groups:
            if _np.isfinite(tau[rows]).any():  # a track this cell does not have draws nothing
                ax.plot(_np.log10(tau[rows]), ys[rows], marker=marker, ls="-", ms=3.5, lw=0.8, color="white",
                        mec="k", mew=0.4, label=label if t == 1 else None)
    return n_tracks


def plot_campaign_drt_stack(camp: CampaignLike, ax: Axes | None = None, offset: float | None = None,
                            max_spectra: int | None = MAX_OVERLAY_SPECTRA) -> Axes:
    """One DRT (γ in ohm against τ in s, log axis) per checkpoint, shifted up by ``offset``
    ohm each (default: 0.6 x the largest γ), coloured by time/cycle like the Nyquist
    overlay; the fitted circuit's DRT (``FitResult.drt``) dashed in the same colour. Of a
    large campaign at most ``max_spectra`` checkpoints, evenly chosen (None: all; 200
    stacked curves were one solid band). Returns the Axes."""
    import numpy as np

    drts = camp.drts or []
    items = [(k, d, camp.results[k]) for k, d in enumerate(drts) if d is not None]
    n_all = len(items)
    if max_spectra:
        items = [items[i] for i in evenly_chosen(len(items), max_spectra)]
    own = ax is None
    if own:
        ax = _new_axes(None, (COLUMN_IN, min(0.3 * max(len(items), 6) + 1.2, 6.0)), layout=None)
    if not items:
        _say_no_drt(ax, camp)
        return ax
    colours, mappable, label = _camp_colours(camp)
    axis = camp.evolution_axis()
    step = offset if offset is not None else 0.6 * max(float(np.max(d.gamma_ohm)) for _, d, _ in items)
    for row, (k, d, r) in enumerate(items):
        base = row * step
        ax.plot(d.tau_s, d.gamma_ohm + base, "-", lw=1.3, color=colours[k])
        if r is not None:
            ax.plot(d.tau_s, r.drt(d.tau_s)[1] + base, "--", lw=1.0, color=colours[k], alpha=0.8)
        text = camp.checkpoints[k].name_on(axis, k) + ("  (KK failed)" if d.kk_violation else "")
        ax.annotate(text, (d.tau_s[-1], base), fontsize=7, ha="right", va="bottom",
                    color="C3" if d.kk_violation else "0.2",
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
    ax.set_xscale("log")
    ax.set_xlim(min(d.tau_s.min() for _, d, _ in items), max(d.tau_s.max() for _, d, _ in items))
    ax.set_xlabel("τ / s")
    ax.set_ylabel(f"γ / Ω (offset {step:.3g} Ω per checkpoint)")
    ax.plot([], [], "-", color="0.3", label="DRT of the data")
    ax.plot([], [], "--", color="0.3", label="DRT of the fit")
    _colourbar(mappable, ax, label)
    shown = f" ({len(items)} of {n_all} shown)" if len(items) < n_all else ""  # a column wide: short
    ax.set_title(f"DRT per checkpoint{shown}", fontsize=FONT_PT, y=1.0)
    # above the stack (the title moves up): inside, the top checkpoint's fit spike had reached into it
    _legend_above(ax, *ax.get_legend_handles_labels())
    _style(ax)
    if own:
        _fixed_layout(ax.figure)
    return ax
# ---- end DRT of a campaign ----
# ---- end section: campaign plots ----------------------------------------------

# ---- section: series analysis plots (eisfit.series, Arrhenius) ------------------


def _joint_panel_role(camp, key: str) -> tuple[str, int, int]:
    """(role, checkpoints with it, fitted checkpoints) of an evolution panel's ``key``: what
    the joint fit made of it (:func:`eisfit.series.joint.joint_role`: "shared", "smoothed",
    "Arrhenius law"; "" for none) in the rows that hold the joint fit, read from each result
    (a joint fit the data reject is in none: its rows hold their own fits, drawn as such)."""
    from .fitting.result import results_field

    # the results' settings and circuits only (a large campaign keeps the rest on disk)
    fitted = [(settings, circuit) for settings, circuit in zip(results_field(camp.results, "settings"),
                                                               results_field(camp.results, "circuit"))
              if settings is not None]
    if not any(settings.get("joint") for settings, _ in fitted):  # no joint fit: nothing to read, and
        return "", 0, len(fitted)  # eisfit.series (scipy.linalg, ~0.2 s) not imported to learn it
    from .series.joint import joint_role, joint_roles

    memo: dict[tuple, str] = {}  # one reading per circuit and joint fit (5,000 rows share a few)
    roles = []
    for settings, circuit in fitted:
        joint = settings.get("joint")
        seen = (circuit, tuple(joint_roles(joint).items()), tuple((joint or {}).get("param_names") or ()))
        if seen not in memo:
            memo[seen] = joint_role(joint, key, circuit)
        roles.append(memo[seen])
    given = [r for r in roles if r]
    if not given:
        return "", 0, len(fitted)
    role = max(dict.fromkeys(given), key=given.count)
    return role, given.count(role), len(fitted)


def _arrhenius_legend(row) -> str:
    """``R1: Ea = 0.3993 ± 0.00083 eV (joint law)``: a row's Ea with its standard error where it
    has one, and what it is where it is not the line's measurement
    (:func:`~eisfit.analysis.arrhenius.ea_marker`)."""
    from .analysis.arrhenius import ea_marker, row_label

    stderr = row["ea_stderr_eV"] if _np.isfinite(float(row["ea_stderr_eV"])) else None
    # a line with no standard error (2 points) had read "Ea = 0.6821 eV" beside measured ones
    marker = ea_marker(row) or ("" if stderr is not None else f"{int(row['n_points'])} points: no stderr")
    digits = 4 if stderr is not None else 2
    return (f"{row_label(row)}: Ea = {format_value(row['ea_eV'], stderr, 'eV', digits)}"
            + (f" ({marker})" if marker else ""))


ARRHENIUS_CELL_FILLS = ("full", "none", "left", "bottom", "right", "top")  # marker fill of each cell's points


def _arrhenius_cell_points(camp, fits, fitted) -> dict:
    """(T in K, y, relative s.e.) of each row of ``fits`` (by (cell, resistance); cell None
    for a campaign of one cell) from the fitted rows of its own cell: a row's points had been
    every cell's (:func:`~eisfit.analysis.arrhenius.arrhenius_points` of the whole table)."""
    from .analysis.arrhenius import arrhenius_points

    roles = camp._roles()
    if "cell" not in fits.columns:
        return {(None, name): p for name, p in arrhenius_points(fitted, list(fits["resistance"]), roles).items()}
    out = {}
    for cell, rows in fits.groupby("cell", sort=False):
        of_cell = fitted[fitted["cell"] == cell]
        out.update({(cell, name): p for name, p in arrhenius_points(of_cell, list(rows["resistance"]), roles).items()})
    return out


def _legend_below_within_width(ax, handles, labels, own: bool):
    """The legend of an Arrhenius plot below its axes, one entry a row, each entry broken at
    ": " or before " (" where it would be wider than the figure (a legend of two cells had run
    off its right edge); a figure of its own grows by the legend's height (its axes keep
    theirs)."""
    fig = ax.get_figure(root=True)
    text_pt = fig.get_figwidth() * 72.0 - 2 * _PAD_PT - (2.0 + 0.8 + 0.8) * SMALL_PT  # the handle and pads
    labels = [_wrapped(label, text_pt, SMALL_PT, breaks=r"(?<=:) | (?=\()") for label in labels]
    legend = ax.legend(handles=handles, labels=labels, fontsize=SMALL_PT, frameon=False, loc="upper center",
                       bbox_to_anchor=(0.5, -0.16))
    if own:
        fig.set_figheight(fig.get_figheight() + _legend_extent_pt(legend)[1] / 72.0)
    return legend


def _ring_extrapolated(rings: Sequence[tuple[Any, Any, Any]]) -> None:
    """Grey rings around the points of an Arrhenius plot whose arc peaks at or beyond the end
    of the data (``rings``: (axes, x, y) per line; the line keeps them, its note counts them; a
    bulk arc above f_max at the hottest temperatures had been drawn like the others), named once
    in the legend. Rings, not open markers: a campaign's cells are told apart by their markers'
    fill."""
    from .fitting.flags import EXTRAPOLATED_LABEL

    named = False
    for ax, x, y in rings:
        if len(x):
            ax.plot(x, y, "o", ms=11, mfc="none", mec="0.45", mew=0.9, zorder=1,
                    label="_nolegend_" if named else EXTRAPOLATED_LABEL)
            named = True


def plot_arrhenius(camp: CampaignLike, resistances: Sequence[str] | None = None, ax: Axes | None = None,
                   form: str = "sigmaT") -> Axes:
    """Arrhenius plot of a campaign against 1000/T (K-1): log10(sigma / S cm-1) of the
    conductivities and, on an axis of its own at the right when both are drawn,
    log10(1/ASR / S cm-2) of the interface arcs; one colour per resistance, the fitted line of
    :meth:`CampaignResult.arrhenius` and its activation energy (eV, +- 1 s.e.) in the legend,
    marked where it is not the line's measurement ("joint law", "barely T-dependent"...). A
    campaign of several cells (a ``cell`` column) draws each cell's points and line apart, its
    markers filled in a way of its own (filled, open, half...), the cell named in the legend.
    The legend lies below the axes, its entries broken to the figure's width. Returns the Axes
    (the conductivities' where both are drawn)."""
    import numpy as np

    from .analysis.arrhenius import CONDUCTIVITY, K_B_EV_PER_K, ea_marker, row_label

    own = ax is None
    ax = _new_axes(ax)
    fits = camp.arrhenius(resistances, form=form)
    table = camp.table
    from .fitting.result import fitted_indices

    fitted = table.iloc[fitted_indices(camp.results)]
    points = _arrhenius_cell_points(camp, fits, fitted)
    cells = list(dict.fromkeys(fits["cell"])) if "cell" in fits.columns else [None]
    colours = {name: f"C{j % 10}" for j, name in enumerate(dict.fromkeys(fits["resistance"]))}
    kinds = {"sigma": fits["quantity"] == CONDUCTIVITY}
    kinds["asr"] = ~kinds["sigma"]
    axes = {"sigma": ax, "asr": ax.twinx() if kinds["sigma"].any() and kinds["asr"].any() else ax}
    rings = []  # (axes, x, y) of the extrapolated points, drawn after the lines: the legend names the lines first
    for _, row in fits.iterrows():
        kind = "sigma" if row["quantity"] == CONDUCTIVITY else "asr"
        cell = row["cell"] if "cell" in fits.columns else None
        t, y, relative, extrapolated = points[(cell, row["resistance"])]
        colour = colours[row["resistance"]]
        fill = ARRHENIUS_CELL_FILLS[cells.index(cell) % len(ARRHENIUS_CELL_FILLS)]
        target = axes[kind]
        # 1 s.e. on log10(y): the value's relative error / ln 10 (none drawn where unknown)
        target.errorbar(1000.0 / t, np.log10(y), yerr=np.nan_to_num(relative / np.log(10.0)),
                        fmt="o" if kind == "sigma" else "s", color=colour, ms=5, capsize=2, elinewidth=0.8,
                        fillstyle=fill, mfc=colour if fill != "none" else "white", mfcalt="white",
                        label=None if np.isfinite(float(row["ea_eV"])) else f"{row_label(row)}: {ea_marker(row)}")
        rings.append((target, 1000.0 / t[extrapolated], np.log10(y[extrapolated])))
        if not (np.isfinite(float(row["ea_eV"])) and t.size):  # no line: shared, or fewer than 2 points
            continue
        tt = np.linspace(t.min(), t.max(), 50)
        line = row["prefactor"] * np.exp(-row["ea_eV"] / (K_B_EV_PER_K * tt))
        line = line / tt if form == "sigmaT" else line
        target.plot(1000.0 / tt, np.log10(line), "-" if kind == "sigma" else "--", color=colour,
                    marker="o" if kind == "sigma" else "s", ms=5, markevery=[], fillstyle=fill, mfcalt="white",
                    mfc=colour if fill != "none" else "white", label=_arrhenius_legend(row))
    _ring_extrapolated(rings)
    ax.set_xlabel("1000 / T  (K$^{-1}$)")
    two = axes["asr"] is not ax
    if kinds["sigma"].any():
        ax.set_ylabel("log$_{10}$(σ / S cm$^{-1}$)" + (", circles" if two else ""))
    if kinds["asr"].any():
        axes["asr"].set_ylabel("log$_{10}$(1/ASR / S cm$^{-2}$)" + (", squares" if two else ""))
    y_name = "y" if two else ("σ" if kinds["sigma"].any() else "1/ASR")
    ax.set_title(f"Arrhenius fits: {y_name}·T = A exp(−Ea/k_B T)" if form == "sigmaT"
                 else f"Arrhenius fits: {y_name} = A exp(−Ea/k_B T)", fontsize=FONT_PT)
    found = [pair for a in dict.fromkeys(axes.values()) for pair in zip(*a.get_legend_handles_labels())]
    # below the axes: inside, with a twin axis, it lay over the points and the tick labels
    _legend_below_within_width(ax, [h for h, _ in found], [label for _, label in found], own)
    for a in dict.fromkeys(axes.values()):
        _style(a)
    if axes["asr"] is not ax:  # each y axis ticks its own side only
        ax.tick_params(axis="y", which="both", right=False)
        axes["asr"].tick_params(axis="y", which="both", left=False, right=True, labelright=True)
    return ax
# ---- end section: series analysis plots -------------------------------------------
