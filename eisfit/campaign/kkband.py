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

from typing import Any, NamedTuple, Sequence

from ..fitting.flags import flag_detail
from ..fitting.result import results_field
from ..fitting.kk_band import (BAND_OPTION_DIGITS, NO_BAND, fit_kk_band, kk_band_columns_of, kk_band_record,
                               kk_too_noisy, kk_violation, noise_dominated)
from ..units import plain_number

__all__ = ["campaign_kk_bands", "kk_band_columns", "kk_band_report_lines", "kk_too_noisy", "kk_violation", "NO_BAND"]


def campaign_kk_bands(results: Sequence[Any]) -> list[Any]:
    """One :class:`~eisfit.KKBand` (or None) per FitResult: the band of the fitted points
    where the fit's Lin-KK test failed (:func:`kk_violation`); None where it passed, did not
    run, was too noisy to judge (no band of noise passes either: ``kk-too-noisy``), the
    checkpoint was not fitted, or no band of at least half the points passes (``kk_passed``
    and the flags tell these apart). Same rule and search as ``eisfit fit``
    (:func:`eisfit.fitting.kk_band.fit_kk_band`)."""
    return [fit_kk_band(r) for r in results]


def kk_band_columns(results: Sequence[Any], bands: Sequence[Any]) -> list[dict[str, Any]]:
    """The table columns of each checkpoint's band: ``kk_valid_fmin_Hz``,
    ``kk_valid_fmax_Hz`` (the band's end points, Hz), ``kk_valid_points`` (points that pass),
    ``kk_valid_excluded_Hz`` (isolated outliers left out, ``;``-joined, Hz). Empty (NaN,
    "") where the fit passed, was not tested or was too noisy to judge (``kk-too-noisy``); NaN
    limits and 0 points where it failed and no band passes (the columns of ``fits.csv``:
    :func:`eisfit.fitting.kk_band.kk_band_columns_of`)."""
    return [kk_band_columns_of(kk_band_record(r, band)) for r, band in zip(results, bands)]


def campaign_file_keys(band: Any) -> str:
    """The band's fit options as campaign-file keys of one row (``fmin = 14.4, exclude_hz =
    [177.8]``), limits rounded outwards to 4 significant digits."""
    parts = []
    for key, value in band.fit_options(digits=BAND_OPTION_DIGITS).items():
        text = "[" + ", ".join(plain_number(f) for f in value) + "]" if key == "exclude_hz" else plain_number(value)
        parts.append(f"{key} = {text}")
    return ", ".join(parts)


def _points_tested(camp: Any) -> str:
    """Which points each test saw, where some were left out: the fitted ones (a circuit
    without an inductor drops the inductive points, and the verdict follows: a real file's
    32 sweeps passed with garnet-symmetric and failed with garnet-symmetric-L)."""
    dropped = [flag_detail(flags, "dropped-inductive-points")
               for flags in results_field(camp.results, "flags") if flags is not None]
    counts = [int(d) for d in dropped if d is not None]
    if not counts:
        return ""
    span = str(min(counts)) if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"
    return (f"; each test is of the fitted points: {span} inductive points of {len(counts)} checkpoint(s) "
            "were dropped (the circuit has no inductor)")


def _too_noisy_line(noisy: Sequence[Any], n_fit: int) -> str:
    """The report's sentence on the fits too noisy for the Lin-KK test (flag ``kk-too-noisy``),
    with the span of their residual SDs."""
    span = _percent_span(noisy, "kk-too-noisy")
    return (f"{len(noisy)} of {n_fit} fitted checkpoints are too noisy for the Lin-KK test to judge (random "
            f"residuals of {span} of |Z|, flag kk-too-noisy): neither passed nor a violation; their standard errors "
            "carry the noise, and a drift during the sweep cannot be ruled out.")


def _percent_span(results: Sequence[Any], flag: str) -> str:
    """``1.6-2.2 %`` (or ``41 %``): the span of the percentages that ``flag:<pct>%`` gives on ``results``."""
    pcts = [float(flag_detail(r.flags, flag).rstrip("%")) for r in results]
    return f"{min(pcts):.2g} %" if min(pcts) == max(pcts) else f"{min(pcts):.2g}-{max(pcts):.2g} %"


def _noise_line(noise: Sequence[Any], n_fit: int) -> str:
    """The report's sentence on the fits whose points are noise (flag ``noise-dominated``),
    with the span of their point-to-point scatter."""
    span = _percent_span(noise, "noise-dominated")
    return (f"{len(noise)} of {n_fit} fitted checkpoints are noise (their points scatter by {span} of |Z| from one "
            "to the next, flag noise-dominated): not a spectrum of the cell (an open lead, a cell not connected, a "
            "current too small to measure); no value of their fits describes it, and no band of noise passes "
            "the Lin-KK test.")


class _KKVerdict(NamedTuple):
    """What :func:`kk_violation` and :func:`kk_too_noisy` read of a fit."""

    kk_passed: bool | None
    flags: list[str]


def _kk_verdicts(results: Sequence[Any]) -> list[_KKVerdict | None]:
    """Each result's Lin-KK verdict and flags (None where not fitted), read without the rest
    of the results (a large campaign keeps them on disk)."""
    return [None if flags is None else _KKVerdict(passed, flags)
            for passed, flags in zip(results_field(results, "kk_passed"), results_field(results, "flags"))]


def kk_band_report_lines(camp: Any) -> list[str]:
    """The report's Kramers-Kronig section: each checkpoint whose points fail the test,
    with its band and the campaign-file keys that fit it; without computed bands, how to
    compute them (when any checkpoint fails). Checkpoints too noisy for the test to judge
    (``kk-too-noisy``) are counted apart: not failures, not passes."""
    verdicts = _kk_verdicts(camp.results)
    failing = [k for k, r in enumerate(verdicts) if kk_violation(r)]
    noisy = [r for r in verdicts if kk_too_noisy(r)]
    noise = [r for r in verdicts if noise_dominated(r)]
    n_fit = sum(r is not None for r in verdicts)
    if not failing and not noisy and not noise:  # asked for the bands and none is needed: say so, not nothing
        tested = sum(r is not None and r.kk_passed is not None for r in verdicts)
        return [] if getattr(camp, "kk_bands", None) is None or not tested else [
            "", "## Kramers-Kronig", "", f"All {tested} tested checkpoints pass the Lin-KK test (of {n_fit} fitted)"
            f"{_points_tested(camp)}."]
    lines = ["", "## Kramers-Kronig", ""]
    if failing:
        lines.append(f"{len(failing)} of {n_fit} fitted checkpoints fail the Lin-KK test (drift, non-stationary "
                     f"cell or artefacts){_points_tested(camp)}: their fits describe points that no stable linear "
                     "system gives.")
    if noisy:
        lines.append(_too_noisy_line(noisy, n_fit))
    if noise:
        lines.append(_noise_line(noise, n_fit))
    if not failing:
        return lines
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
