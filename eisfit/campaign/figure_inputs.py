"""What a campaign's report figures read, and nothing more: the inputs sent to a figure
process forked before the fits (:func:`eisfit._figure_process.reserved_figure_process`).

A figure process forked after the fits maps the campaign process's whole heap, and what it
allocates while drawing lands in the free slots of the pages it inherited, copying each
(10,000 checkpoints: 305 MB of private memory, session 46). One forked before the fits has
a small heap; it receives these inputs instead: every checkpoint without its spectrum, the
results of the overlays (at most ``MAX_OVERLAY_SPECTRA``) whole, and for every other
checkpoint no result at all (:data:`NOT_SENT` keeps its place): the evolution figure's
numbers travel as arrays (:func:`eisfit.plotting.campaign_evolution`) and so do the
residual map's (:func:`eisfit.plotting.campaign_residuals`). 10,000 checkpoints: 0.7 KB
per checkpoint pickled and ~1.3 KB unpickled (1.4 and ~5.8 KB when every checkpoint's result
was sent, slimmed).

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

from ..fitting.result import one_of_equal

__all__ = ["FigureInputs", "figure_inputs", "NOT_SENT"]

FIGURE_SETTINGS = ("area_cm2",)  # the settings the figures read of the details (the Nyquist panels' area)


class _NotSent:
    """The place of a fitted checkpoint's result in :attr:`FigureInputs.results` when the
    result itself is not sent (no overlay shows it); one instance, pickled by name."""

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
    results, None where a checkpoint was not fitted, :data:`NOT_SENT` elsewhere."""

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
    """The :class:`FigureInputs` of a :class:`~eisfit.campaign.CampaignResult` (its checkpoints
    without their spectra, the results the overlays show, and the numbers of the evolution
    figure and of the residual map)."""
    from ..plotting import MAX_OVERLAY_SPECTRA, campaign_evolution, campaign_residuals, evenly_chosen

    fitted = [k for k, r in enumerate(camp.results) if r is not None]
    overlaid = {fitted[i] for i in evenly_chosen(len(fitted), MAX_OVERLAY_SPECTRA)}
    results = [r if r is None or k in overlaid else NOT_SENT for k, r in enumerate(camp.results)]
    shared: dict[Any, Any] = {}
    details = [one_of_equal(shared, {"settings": one_of_equal(shared, _figure_settings(d.get("settings", {})))})
               for d in camp.details]
    checkpoints = [dataclasses.replace(c, spectrum=None, content_sha256="", reader=None) for c in camp.checkpoints]
    return FigureInputs(checkpoints, results, details, camp.evolution_axis(), camp.colour_values(),
                        campaign_residuals(camp), campaign_evolution(camp))


def _figure_settings(settings: dict) -> dict:
    return {k: settings[k] for k in FIGURE_SETTINGS if k in settings}
