"""Which sign convention a stored imaginary column uses, decided from the data.

Used by the table readers when neither the header (a leading minus) nor the format fixes
the convention, and by :func:`eisfit.spectrum.require_capacitive_negative` for spectra
made from arrays (whose caller may have passed -Z'').
A majority vote fails on mostly-inductive spectra (large Li-ion cells, where more than
half of the points lie above the real axis): it flips Z'' and the arcs come out huge.
The rule here looks where the sign is physically fixed instead:

1. **Low-frequency end.** At the lowest frequencies a cell is capacitive (charge
   transfer arc, diffusion tail, blocking electrode): Z'' < 0. Only points whose
   imaginary part is at least 5 % of |Z| (a phase of about 3 degrees or more) count:
   a spectrum that ends on a resistive plateau has only noise there. The sign held by
   at least 70 % of the lowest-frequency fifth of these points (at least 3) is taken
   as the capacitive sign. Where fewer than 3 points reach 5 % of |Z| but the largest |Z''|
   is at least 0.5 % of |Z| and 6 noise SDs (a small arc on a large series resistance), the
   points of at least 25 % of that largest |Z''| are those points (:func:`_small_arc_points`).
2. **Arc shape.** Among the points with that sign, Z' must not fall toward low
   frequency (an arc or a tail moves to larger Z' as f decreases; a series
   inductance or a pseudo-inductive loop does not). The median Z' of the lowest
   third of those points (by frequency) is compared with that of the highest third.

Before both: where every significant point has one sign and |Z''| grows toward high
frequency at a flat Z' (a lead, a shorted cell, a cable: R-L alone), the points are an
inductance's, positive in Z'' (:func:`_inductance_alone`); no capacitive element gives that.

When both agree the sign is decided; otherwise the column is kept as stored (taken as
Z'') with a warning asking for ``imag_sign``. ``meta["imag_sign_rule"]`` says what was seen.

:func:`mixed_sign_ranges` tells a column stored wholly in the other convention (which
conjugating fixes) from one whose sign changes over part of the sweep (which no
convention gives: conjugating would mirror the ranges that are right).
"""
from __future__ import annotations

import math

import numpy as np

LOW_END_SHARE = 0.2
MIN_LOW_POINTS = 3
SIGN_AGREEMENT = 0.7
SIGNIFICANT_SHARE_OF_MODULUS = 0.05


def capacitive_sign(frequency_Hz: np.ndarray, real_ohm: np.ndarray, imag: np.ndarray) -> tuple[int, str]:
    """(sign, rule): sign = -1 when the stored column already holds Z'' (capacitive negative),
    +1 when it holds -Z'', 0 when the data do not decide. ``rule`` explains it in words."""
    f = np.asarray(frequency_Hz, dtype=float)
    re_part = np.asarray(real_ohm, dtype=float)
    y = np.asarray(imag, dtype=float)
    modulus = np.hypot(re_part, y)
    significant = np.flatnonzero(np.abs(y) >= SIGNIFICANT_SHARE_OF_MODULUS * modulus)
    significant = significant[y[significant] != 0]
    criterion = "|Z''| >= 5 % of |Z|"
    if significant.size < MIN_LOW_POINTS:
        small_arc = _small_arc_points(f, y, modulus)
        if small_arc is None:
            return 0, (f"only {significant.size} of {f.size} points have an imaginary part of 5 % of |Z| "
                       "or more")
        significant = small_arc
        criterion = (f"|Z''| >= 25 % of its largest (a small arc: {100 * np.max(np.abs(y)) / np.median(modulus):.2g} "
                     "% of |Z| at most)")
    order = significant[np.argsort(f[significant], kind="stable")]
    inductance = _inductance_alone(f[order], re_part[order], y[order], criterion)
    if inductance is not None:
        return inductance
    k = min(order.size, max(MIN_LOW_POINTS, math.ceil(LOW_END_SHARE * order.size)))
    low = y[order[:k]]
    share_positive = np.count_nonzero(low > 0) / low.size  # what np.mean(low > 0) gives, without its overhead
    if share_positive >= SIGN_AGREEMENT:
        sign = 1
    elif share_positive <= 1 - SIGN_AGREEMENT:
        sign = -1
    else:
        return 0, (f"low-frequency end mixed ({share_positive:.0%} of the {low.size} lowest-frequency "
                   f"values with {criterion} positive)")
    words = "positive" if sign > 0 else "negative"
    low_text = (f"low-frequency end: {max(share_positive, 1 - share_positive):.0%} of the {low.size} "
                f"lowest-frequency values with {criterion} {words}")
    arc_ok, arc_text = _arc_rises_toward_low_frequency(f, re_part, y, sign)
    if not arc_ok:
        return 0, f"{low_text}, but {arc_text}"
    return sign, f"{low_text}; arc shape: {arc_text}"


SMALL_ARC_SHARE_OF_MODULUS = 0.005  # a largest |Z''| of 0.5 % of |Z| or more: a small arc on a large series R
SMALL_ARC_SHARE_OF_PEAK = 0.25  # ... whose points are those of 25 % of that largest |Z''| or more
SMALL_ARC_NOISE_SDS = 6.0  # ... and that largest |Z''| this many noise SDs of Z'' (the largest of ~100
# noise values alone stands ~3 out)


def _small_arc_points(f: np.ndarray, y: np.ndarray, modulus: np.ndarray) -> np.ndarray | None:
    """The points that judge the sign where fewer than 3 reach 5 % of |Z|: a small arc on a
    large series resistance (an electrolyte-dominated cell: -Z'' at most 1.6 % of |Z|, 0 of 81
    points at 5 %, the warning on every command), its largest |Z''| at least 0.5 % of the median
    |Z| and ``SMALL_ARC_NOISE_SDS`` noise SDs (:func:`_noise_sd`), its points those of 25 % of
    that largest or more, nonzero (at least 3); None otherwise. Without the noise rule a nearly
    flat spectrum with 1 % noise (a 21 ohm arc above the range on 10 ohm, its tail 2.6 % of |Z|)
    was judged by the signs of its noise and refused as -Z''."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if not peak >= SMALL_ARC_SHARE_OF_MODULUS * float(np.median(modulus)):
        return None
    if not peak >= SMALL_ARC_NOISE_SDS * _noise_sd(f, y):
        return None
    points = np.flatnonzero((np.abs(y) >= SMALL_ARC_SHARE_OF_PEAK * peak) & (y != 0))
    return points if points.size >= MIN_LOW_POINTS else None


def _noise_sd(f: np.ndarray, y: np.ndarray) -> float:
    """The noise SD of ``y`` from its second differences in frequency order (robust: 1.4826 x
    their median absolute value / sqrt(6), the SD of a second difference of white noise being
    sqrt(6) times the noise's); a smooth arc sampled at a few points per decade hardly adds to
    them. 0 for fewer than 3 points."""
    if y.size < 3:
        return 0.0
    ordered = y[np.argsort(f, kind="stable")]
    second = ordered[:-2] - 2.0 * ordered[1:-1] + ordered[2:]
    return 1.4826 * float(np.median(np.abs(second))) / math.sqrt(6.0)


INDUCTIVE_RISE = 2.0  # |Z''| of the highest-frequency third at least this times the lowest third's
INDUCTIVE_FLAT_REAL = 0.1  # ... while Z' changes by at most this share of that rise


def _inductance_alone(f: np.ndarray, re_part: np.ndarray, y: np.ndarray, criterion: str) -> tuple[int, str] | None:
    """(sign, rule) where every significant point (ascending ``f``; ``criterion``: what made
    them significant, for the rule's words) has one sign and the points
    are an inductance's: |Z''| grows toward high frequency (wL) at a flat Z'. No capacitive
    element does that: below any arc's apex |Z''| falls toward low frequency only as Z' rises
    by as much (a quarter circle), and a capacitor's |Z''| grows toward low frequency. A
    spectrum of a lead, a shorted cell or a cable (R-L) has no capacitive point at all, and the
    low-frequency rule would take its inductive points for the capacitive sign. None otherwise."""
    if y.size < 2 * MIN_LOW_POINTS or not (np.all(y > 0) or np.all(y < 0)):
        return None
    third = y.size // 3
    low_im, high_im = _median(np.abs(y[:third])), _median(np.abs(y[-third:]))
    low_re, high_re = _median(re_part[:third]), _median(re_part[-third:])
    rise = high_im - low_im
    if high_im < INDUCTIVE_RISE * low_im or abs(high_re - low_re) > INDUCTIVE_FLAT_REAL * rise:
        return None
    stored = 1 if y[0] > 0 else -1  # the sign the column gives inductive points: +1 for Z''
    words = "positive" if stored > 0 else "negative"
    return -stored, (f"every point with {criterion} is {words} and |Z''| grows toward high frequency "
                     f"({low_im:.4g} -> {high_im:.4g} ohm) at a flat Z' ({low_re:.4g} -> {high_re:.4g} ohm): "
                     "an inductance, whose Z'' is positive")


def _arc_rises_toward_low_frequency(f: np.ndarray, re_part: np.ndarray, y: np.ndarray,
                                    sign: int) -> tuple[bool, str]:
    """Whether Z' grows (or stays) toward low frequency among the points of the capacitive sign."""
    on_side = np.flatnonzero(np.sign(y) == sign)
    if on_side.size < 3:
        return True, "too few points to judge, low-frequency end alone decides"
    ordered = on_side[np.argsort(f[on_side], kind="stable")]
    third = max(1, ordered.size // 3)
    low_re = _median(re_part[ordered[:third]])
    high_re = _median(re_part[ordered[-third:]])
    scale = max(abs(low_re), abs(high_re), 1e-300)
    if low_re >= high_re - 1e-6 * scale:
        return True, f"Z' rises toward low frequency ({high_re:.4g} -> {low_re:.4g} ohm)"
    return False, f"Z' falls toward low frequency ({high_re:.4g} -> {low_re:.4g} ohm)"


def _median(values: np.ndarray) -> float:
    """The median of a few values, as ``np.median`` gives it (the mean of the two middle ones
    for an even count), without its overhead (two per file read: 40 us of ~440)."""
    ordered = np.sort(values)
    mid = ordered.size // 2
    return float(ordered[mid]) if ordered.size % 2 else float((ordered[mid - 1] + ordered[mid]) / 2)


def mixed_sign_ranges(frequency_Hz: np.ndarray, real_ohm: np.ndarray, imag: np.ndarray,
                      capacitive: int) -> list[tuple[int, float, float, int]]:
    """The ranges of one sign of the imaginary column, as (sign, lowest Hz, highest Hz,
    points), ascending in frequency, where no single sign convention explains them; [] where
    one does. Only points whose imaginary part is at least 5 % of |Z| count (as in
    :func:`capacitive_sign`). ``capacitive``: the stored sign of capacitive points (+1 for a
    column holding -Z'').

    One convention explains the column when its significant points all hold the capacitive
    sign, or hold it up to a range at the highest frequencies of the other sign whose
    magnitude grows toward the highest frequency (a lead inductance: its |Z''| = wL rises
    with f). Anything else is a mix: Z'' mirrored over 10 Hz-1 kHz of a two-arc spectrum
    (1 MHz-0.1 Hz) left the arc's apex above 1 kHz in a range of the other sign whose
    magnitude peaks inside it, and conjugating the whole sweep, as the -Z'' advice said,
    mirrored the rest. Each of the 80 real sweeps of ../shared conjugated reads as one
    convention except yadg's damaged ``peis.mpr`` sweep, whose signs alternate over 1-30 Hz."""
    f = np.asarray(frequency_Hz, dtype=float)
    y = np.asarray(imag, dtype=float)
    modulus = np.hypot(np.asarray(real_ohm, dtype=float), y)
    significant = np.flatnonzero((np.abs(y) >= SIGNIFICANT_SHARE_OF_MODULUS * modulus) & (y != 0))
    order = significant[np.argsort(f[significant], kind="stable")]
    if order.size == 0:
        return []
    signs = np.sign(y[order]).astype(int)
    starts = np.flatnonzero(np.r_[True, signs[1:] != signs[:-1]])
    runs = [order[a:b] for a, b in zip(starts, np.r_[starts[1:], order.size])]
    if len(runs) == 1 and signs[0] == capacitive:
        return []
    if len(runs) == 2 and signs[0] == capacitive:
        top = np.abs(y[runs[1]])
        if int(np.argmax(top)) >= top.size - 2:  # largest at (or next to, for noise) its highest frequency
            return []
    return [(int(np.sign(y[run[0]])), float(f[run].min()), float(f[run].max()), int(run.size)) for run in runs]
