"""What a campaign's report figures read, and nothing more: the inputs sent to a figure
process forked before the fits (:func:`eisfit._figure_process.reserved_figure_process`).

A figure process forked after the fits maps the campaign process's whole heap, and what it
allocates while drawing lands in the free slots of the pages it inherited, copying each
(10,000 checkpoints: 305 MB of private memory, session 46). One forked before the fits has
a small heap; it receives these inputs instead: the results of the overlays (at most
``MAX_OVERLAY_SPECTRA``) whole, the checkpoints (without their spectra) that the overlays
and the residual map's row labels name, and for every other checkpoint neither
(:data:`NOT_SENT` keeps its place): the evolution figure's numbers travel as arrays
(:func:`eisfit.plotting.campaign_evolution`) and so do the residual map's, in at most
``MAX_MAP_ROWS`` rows (:func:`eisfit.plotting.campaign_residuals`). What it receives grows
with the checkpoints by a few numbers each: 10,000 CSV files, the process's RSS once the
inputs are in 43 MB (41 MB for 1,000), its peak after the evolution and Bode figures 134 MB
(119 MB), where every checkpoint and every row of the map had been sent: 62 and 143 MB (~2 KB
per checkpoint; before that every result was sent, slimmed: ~5.8 KB). Its peak still depends on
how many figures it ends up drawing (the campaign process draws the others).

``eisfit campaign`` has its figures drawn this way whatever the number of checkpoints (session
57; before, only from 8,000: below, a worker forked after the fits drew them, which mapped the
grown heap: 1,000 and 5,000 CSV files peaked at 430 and ~520 MB summed RSS, now 362 and 423 MB,
in the same time: 5,000 files 9.15 s against 8.91 s, the sample campaign 1.45 s against 1.44 s,
medians of alternate runs).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..fitting.result import fitted_indices, one_of_equal

__all__ = ["FigureInputs", "figure_inputs", "NOT_SENT"]

FIGURE_SETTINGS = ("area_cm2",)  # the settings the figures read of the details (the Nyquist panels' area)


class _NotSent:
    """The place of a checkpoint, or of a fitted checkpoint's result, in
    :attr:`FigureInputs.checkpoints` and :attr:`FigureInputs.results` when no figure of the
    figure process reads it; one instance, pickled by name."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_SENT"

    def __reduce__(self) -> str:
        return "NOT_SENT"


NOT_SENT = _NotSent()


@dataclass
class FigureInputs:
    """A campaign as its figures read it (an :class:`eisfit.plotting.CampaignLike` without
    the table, the DRTs and the Arrhenius fits: the DRT and Arrhenius figures are drawn
    from the :class:`~eisfit.campaign.CampaignResult` itself). ``results``: the overlays'
    results, None where a checkpoint was not fitted, :data:`NOT_SENT` elsewhere;
    ``checkpoints``: those the overlays and the residual map's labels name, without their
    spectra, :data:`NOT_SENT` elsewhere."""

    checkpoints: list[Any]
    results: list[Any]
    details: list[dict]
    axis: str | None  # CampaignResult.evolution_axis()
    colours: tuple[list[float], str]  # CampaignResult.colour_values()
    residuals: Any = None  # eisfit.plotting.CampaignResiduals: the residual map's numbers
    evolution: Any = None  # eisfit.plotting.CampaignEvolution: the evolution figure's numbers
    drts: None = field(default=None, init=False)

    def evolution_axis(self, x: str | None = None) -> str | None:
        """``x`` when given, else the campaign's evolution axis (None: the checkpoint number)."""
        return self.axis if x is None else x

    def colour_values(self) -> tuple[list[float], str]:
        """The values that colour the checkpoints, and their axis label."""
        return self.colours


def figure_inputs(camp: Any) -> FigureInputs:
    """The :class:`FigureInputs` of a :class:`~eisfit.campaign.CampaignResult` (the results
    the overlays show, the checkpoints the figures name, without their spectra, and the
    numbers of the evolution figure and of the residual map)."""
    from ..plotting import MAX_MAP_ROWS, MAX_OVERLAY_SPECTRA, campaign_figure_numbers, evenly_chosen, labelled_map_rows

    fitted = fitted_indices(camp.results)
    overlaid = {fitted[i] for i in evenly_chosen(len(fitted), MAX_OVERLAY_SPECTRA)}
    results: list[Any] = [None] * len(camp.results)
    for k in fitted:  # only the overlays' results read (a large campaign keeps them on disk)
        results[k] = camp.results[k] if k in overlaid else NOT_SENT
    residuals, evolution = campaign_figure_numbers(camp, MAX_MAP_ROWS)  # the results read once for both
    named = overlaid | {residuals.fitted[i] for i in labelled_map_rows(len(residuals.fitted))}
    checkpoints = [dataclasses.replace(c, spectrum=None, content_sha256="", reader=None) if k in named else NOT_SENT
                   for k, c in enumerate(camp.checkpoints)]
    shared: dict[Any, Any] = {}
    details = [one_of_equal(shared, {"settings": one_of_equal(shared, _figure_settings(d.get("settings", {})))})
               for d in camp.details]
    return FigureInputs(checkpoints, results, details, camp.evolution_axis(), camp.colour_values(),
                        residuals, evolution)


def _figure_settings(settings: dict) -> dict:
    return {k: settings[k] for k in FIGURE_SETTINGS if k in settings}
