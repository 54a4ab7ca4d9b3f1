"""What a campaign's report figures read, and nothing more: the inputs sent to a figure
process forked before the fits (:func:`eisfit._figure_process.reserved_figure_process`).

A figure process forked after the fits maps the campaign process's whole heap, and what it
allocates while drawing lands in the free slots of the pages it inherited, copying each
(10,000 checkpoints: 305 MB of private memory, session 46). One forked before the fits has
a small heap; it receives these inputs instead: every checkpoint, the results of the
overlays (at most ``MAX_OVERLAY_SPECTRA``) whole, of every other checkpoint what the
evolution plots read (values, standard errors, derived quantities, flags; not its points),
and the residual map's numbers (:func:`eisfit.plotting.campaign_residuals`), with the
containers that are equal in every result of a campaign (units, parameter names, roles,
settings) shared, so that they are pickled once.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..fitting.result import NO_POINTS, one_of_equal, share_equal_fields

__all__ = ["FigureInputs", "figure_inputs", "RESERVED_FIGURES_FROM"]

# Campaigns of this many fitted checkpoints or more are drawn by the reserved figure process.
# Below, by one forked when the figures are drawn: faster (5,000 CSV files through the command,
# session 48, in turns: 17.5 s against 18.3 s, no pickling of the inputs on the way and no second
# import of pyplot), and the memory is far from the 1 GB budget (peak summed RSS 676 MB
# against 618 MB; at 10,000 files 958 MB against 852 MB).
RESERVED_FIGURES_FROM = 8000

FIGURE_SETTINGS = ("area_cm2", "joint", "weighting")  # the settings the campaign figures read


@dataclass
class FigureInputs:
    """A campaign as its figures read it (an :class:`eisfit.plotting.CampaignLike` without
    the table, the DRTs and the Arrhenius fits: the DRT and Arrhenius figures are drawn
    from the :class:`~eisfit.campaign.CampaignResult` itself)."""

    checkpoints: list[Any]
    results: list[Any]
    details: list[dict]
    axis: str | None  # CampaignResult.evolution_axis()
    colours: tuple[list[float], str]  # CampaignResult.colour_values()
    residuals: Any = None  # eisfit.plotting.CampaignResiduals: the residual map's numbers
    drts: None = field(default=None, init=False)

    def evolution_axis(self, x: str | None = None) -> str | None:
        """``x`` when given, else the campaign's evolution axis (None: the checkpoint number)."""
        return self.axis if x is None else x

    def colour_values(self) -> tuple[list[float], str]:
        """The values that colour the checkpoints, and their axis label."""
        return self.colours


def figure_inputs(camp: Any) -> FigureInputs:
    """The :class:`FigureInputs` of a :class:`~eisfit.campaign.CampaignResult` (its checkpoints
    without their spectra; the points of the results the overlays show, and the residual
    map's numbers instead of every other result's points)."""
    from ..plotting import MAX_OVERLAY_SPECTRA, campaign_residuals, evenly_chosen

    fitted = [k for k, r in enumerate(camp.results) if r is not None]
    overlaid = {fitted[i] for i in evenly_chosen(len(fitted), MAX_OVERLAY_SPECTRA)}
    shared: dict[Any, Any] = {}
    results = [r if r is None or k in overlaid else _slim(r, shared) for k, r in enumerate(camp.results)]
    details = [one_of_equal(shared, {"settings": one_of_equal(shared, _figure_settings(d.get("settings", {})))})
               for d in camp.details]
    checkpoints = [dataclasses.replace(c, spectrum=None, content_sha256="", reader=None) for c in camp.checkpoints]
    return FigureInputs(checkpoints, results, details, camp.evolution_axis(), camp.colour_values(),
                        campaign_residuals(camp))


def _slim(r: Any, shared: dict) -> Any:
    """``r`` without what the figures of a checkpoint that is not overlaid do not read (its
    points, correlations, intervals, message, Lin-KK band: 10,000 checkpoints' points were
    ~24 MB in the figure process), the equal containers shared."""
    slim = r.with_fields(correl={}, intervals={}, message="", kk_valid_band=None, settings=_figure_settings(r.settings),
                         **NO_POINTS)
    return share_equal_fields(slim, shared)


def _figure_settings(settings: dict) -> dict:
    return {k: settings[k] for k in FIGURE_SETTINGS if k in settings}
