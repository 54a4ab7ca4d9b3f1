"""Where each checkpoint that fails the Lin-KK test passes it.

``fit_campaign(..., kk_band=True)`` (CLI ``eisfit campaign ... --kk-band``) runs
:func:`eisfit.kk_valid_band` on the points of every fit whose Lin-KK test failed
(``kk_passed`` False): a cell cycled for hundreds of hours often drifts during the minutes
of its lowest frequencies at some checkpoints, and the band says which points of each
are valid. It adds the ``kk_valid_*`` columns to the table and a section to the report,
with the per-checkpoint ``fmin``/``fmax``/``exclude_hz`` of a campaign file that fit
only those points. Nothing is refitted: cropping data is the user's decision.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from ..fitting.flags import flag_detail
from ..units import plain_number

__all__ = ["campaign_kk_bands", "kk_band_columns", "kk_band_report_lines", "NO_BAND"]

NO_BAND = "no band of at least half the points passes"


def campaign_kk_bands(results: Sequence[Any]) -> list[Any]:
    """One :class:`~eisfit.KKBand` (or None) per FitResult: the band of the fitted points
    where the fit's Lin-KK test failed; None where it passed, did not run, the checkpoint
    was not fitted, or no band of at least half the points passes (``kk_passed`` tells
    these apart). Same test options as the fit's own test (the defaults)."""
    from ..analysis.kk import kk_valid_band
    from ..errors import EisfitError
    from ..spectrum import points_spectrum

    bands = []
    for r in results:
        band = None
        if r is not None and r.kk_passed is False:
            try:
                band = kk_valid_band(points_spectrum(r.frequency, r.z, r.label))
            except EisfitError:  # too few points to test a band: no band
                band = None
        bands.append(band)
    return bands


def kk_band_columns(results: Sequence[Any], bands: Sequence[Any]) -> list[dict[str, Any]]:
    """The table columns of each checkpoint's band: ``kk_valid_fmin_Hz``,
    ``kk_valid_fmax_Hz`` (the band's end points, Hz), ``kk_valid_points`` (points that pass),
    ``kk_valid_excluded_Hz`` (isolated outliers left out, ``;``-joined, Hz). Empty (NaN,
    "") where the fit passed or was not tested; NaN limits and 0 points where it failed and
    no band passes."""
    rows = []
    for r, band in zip(results, bands):
        failed = r is not None and r.kk_passed is False
        if band is not None:
            row = {"kk_valid_fmin_Hz": band.fmin_Hz, "kk_valid_fmax_Hz": band.fmax_Hz,
                   "kk_valid_points": band.n_points,
                   "kk_valid_excluded_Hz": ";".join(f"{f:.6g}" for f in band.excluded_Hz)}
        else:
            row = {"kk_valid_fmin_Hz": math.nan, "kk_valid_fmax_Hz": math.nan,
                   "kk_valid_points": 0 if failed else math.nan, "kk_valid_excluded_Hz": ""}
        rows.append(row)
    return rows


def campaign_file_keys(band: Any) -> str:
    """The band's fit options as campaign-file keys of one row (``fmin = 14.4, exclude_hz =
    [177.8]``), limits rounded outwards to 4 significant digits."""
    parts = []
    for key, value in band.fit_options(digits=4).items():
        text = "[" + ", ".join(plain_number(f) for f in value) + "]" if key == "exclude_hz" else plain_number(value)
        parts.append(f"{key} = {text}")
    return ", ".join(parts)


def _points_tested(camp: Any) -> str:
    """Which points each test saw, where some were left out: the fitted ones (a circuit
    without an inductor drops the inductive points, and the verdict follows: a real file's
    32 sweeps passed with garnet-symmetric and failed with garnet-symmetric-L)."""
    dropped = [flag_detail(r.flags, "dropped-inductive-points") for r in camp.results if r is not None]
    counts = [int(d) for d in dropped if d is not None]
    if not counts:
        return ""
    span = str(min(counts)) if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"
    return (f"; each test is of the fitted points: {span} inductive points of {len(counts)} checkpoint(s) "
            "were dropped (the circuit has no inductor)")


def kk_band_report_lines(camp: Any) -> list[str]:
    """The report's Kramers-Kronig section: each checkpoint whose points fail the test,
    with its band and the campaign-file keys that fit it; without computed bands, how to
    compute them (when any checkpoint fails)."""
    failing = [k for k, r in enumerate(camp.results) if r is not None and r.kk_passed is False]
    n_fit = sum(r is not None for r in camp.results)
    if not failing:  # asked for the bands and none is needed: say so, not nothing
        tested = sum(r is not None and r.kk_passed is not None for r in camp.results)
        return [] if getattr(camp, "kk_bands", None) is None or not tested else [
            "", "## Kramers-Kronig", "", f"All {tested} tested checkpoints pass the Lin-KK test (of {n_fit} fitted)"
            f"{_points_tested(camp)}."]
    lines = ["", "## Kramers-Kronig", "",
             f"{len(failing)} of {n_fit} fitted checkpoints fail the Lin-KK test (drift, non-stationary "
             f"cell or artefacts){_points_tested(camp)}: their fits describe points that no stable linear "
             "system gives."]
    bands = getattr(camp, "kk_bands", None)
    if bands is None:
        return lines + ["Run with `--kk-band` (`kk_band=True`) to find, for each, the band of "
                        "frequencies where it passes."]
    lines += ["Where each passes (the fits were not repeated; to fit only those points, put the keys "
              "in that checkpoint's row of a campaign file):", ""]
    for k in failing:
        band = bands[k]
        label = camp.checkpoints[k].label
        if band is None:
            lines.append(f"- {label}: {NO_BAND}")
        else:
            lines.append(f"- {label}: {band.describe()}; `{campaign_file_keys(band)}`")
    return lines
