"""Where the points of a fit that fail the Lin-KK test pass it: one rule for ``eisfit fit``
(terminal line, JSON, ``fits.csv``), :meth:`FitResult.with_kk_valid_band` in a notebook and
the campaign's ``--kk-band`` (:mod:`eisfit.campaign.kkband`).

A band is sought only where the fit's points fail the test as a violation
(:func:`kk_violation`): not where they pass (the band would be the whole spectrum), were not
tested, are too noisy for the test to judge (flag ``kk-too-noisy``: no band passes in
noise either) or are noise altogether (flag ``noise-dominated``). Nothing is refitted:
cropping data is the user's decision.
"""
from __future__ import annotations

import math
from typing import Any

from .flags import NOISE_DOMINATED_FLAG, flag_detail, flag_name

__all__ = ["kk_too_noisy", "noise_dominated", "kk_violation", "fit_kk_band", "kk_band_record", "kk_band_columns_of",
           "NO_BAND", "BAND_OPTION_DIGITS"]

NO_BAND = "no band of at least half the points found that passes"  # the search tests at most 40 bands
BAND_OPTION_DIGITS = 4  # significant digits of a band's suggested fmin/fmax (rounded away from the band)


def kk_too_noisy(result: Any) -> bool:
    """True for a fit whose points the Lin-KK test cannot judge (flag ``kk-too-noisy``: random
    residuals of 1.5-5 % of |Z|): ``kk_passed`` is False, but it is neither a pass nor a
    violation."""
    return result is not None and flag_detail(result.flags, "kk-too-noisy") is not None


def noise_dominated(result: Any) -> bool:
    """True for a fit whose points are noise (flag ``noise-dominated``: a point-to-point
    scatter of 20 % of |Z| or more): neither a Lin-KK pass nor a violation to look for a band in."""
    return result is not None and flag_detail(result.flags, NOISE_DOMINATED_FLAG) is not None


def kk_violation(result: Any) -> bool:
    """True for a fit whose points fail the Lin-KK test (``kk_passed`` False) other than by
    being too noisy to judge (:func:`kk_too_noisy`) or noise altogether (:func:`noise_dominated`:
    a campaign of 50 such checkpoints had blamed drift and advised ``--kk-band``), and whose
    fitted circuit does not itself describe them within the test's rule (no ``kk-failed``
    flag: a dummy cell's ideal RC, which the chain's ripple failed, had been told it was
    consistent and then to cut a point)."""
    return (result is not None and result.kk_passed is False and not kk_too_noisy(result)
            and not noise_dominated(result) and any(flag_name(f) == "kk-failed" for f in result.flags))


def fit_kk_band(result: Any) -> Any:
    """The :class:`~eisfit.KKBand` of a fit's points (:func:`eisfit.kk_valid_band`, default
    test options, as the fit's own test) where they fail the Lin-KK test
    (:func:`kk_violation`); None where they pass, were not tested, are too noisy to judge,
    the result is None, or no band of at least half the points passes."""
    from ..analysis.kk import kk_valid_band
    from ..errors import EisfitError
    from ..spectrum import points_spectrum

    if not kk_violation(result):
        return None
    try:
        return kk_valid_band(points_spectrum(result.frequency, result.z, result.label))
    except EisfitError:  # too few points to test a band: no band
        return None


def kk_band_record(result: Any, band: Any) -> dict[str, Any] | None:
    """The JSON record of a fit's band (``FitResult.kk_valid_band``): None where no band is
    sought (:func:`fit_kk_band`: the points pass, so the band is the whole spectrum; not
    tested; too noisy); where the points fail, ``fmin_Hz``, ``fmax_Hz`` (the band's end
    points, Hz), ``n_points`` of ``n_total``, ``cut_low``, ``cut_high``, ``excluded_Hz``
    (Hz), ``status`` (the band's own Lin-KK status), ``description`` (the terminal's words)
    and ``fit_options`` (the ``fmin``/``fmax``/``exclude_hz`` of :func:`eisfit.fit`, Hz,
    rounded outwards to 4 significant digits); where no band passes, null limits,
    ``n_points`` 0, ``status`` "none" and ``description`` "no band of at least half the
    points passes"."""
    if not kk_violation(result):
        return None
    if band is None:
        return {"fmin_Hz": None, "fmax_Hz": None, "n_points": 0, "n_total": int(len(result.frequency)),
                "cut_low": None, "cut_high": None, "excluded_Hz": [], "status": "none", "description": NO_BAND,
                "fit_options": {}}
    options = {key: [float(f) for f in value] if key == "exclude_hz" else _typed_limit(value)
               for key, value in band.fit_options(digits=BAND_OPTION_DIGITS).items()}
    return {**band.as_dict(), "status": band.result.status, "description": band.describe(), "fit_options": options}


def _typed_limit(value: float) -> float:
    """A limit rounded to :data:`BAND_OPTION_DIGITS` digits as the number a person types
    (0.3188, not 0.31880000000000003 from the rounding's arithmetic)."""
    return float(f"{value:.{BAND_OPTION_DIGITS}g}")


def kk_band_columns_of(record: dict[str, Any] | None) -> dict[str, Any]:
    """The table columns of one band record (:func:`kk_band_record`), as ``summary.csv`` and
    ``fits.csv`` write them: ``kk_valid_fmin_Hz``, ``kk_valid_fmax_Hz`` (Hz),
    ``kk_valid_points`` (points that pass; 0 where the points fail and no band passes),
    ``kk_valid_excluded_Hz`` (isolated outliers left out, ``;``-joined, Hz). Empty (NaN, "")
    where no band was sought (``record`` None)."""
    if record is None or not record["n_points"]:
        return {"kk_valid_fmin_Hz": math.nan, "kk_valid_fmax_Hz": math.nan,
                "kk_valid_points": math.nan if record is None else 0, "kk_valid_excluded_Hz": ""}
    return {"kk_valid_fmin_Hz": record["fmin_Hz"], "kk_valid_fmax_Hz": record["fmax_Hz"],
            "kk_valid_points": record["n_points"],
            "kk_valid_excluded_Hz": ";".join(f"{f:.6g}" for f in record["excluded_Hz"])}
