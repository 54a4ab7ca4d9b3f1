"""Column roles of a headerless table, identified by content rather than by position.

Rules (each column judged on its values only):

* **frequency**: every value > 0, and inside each sweep (the column split where its
  direction reverses) monotonic and roughly log-spaced: the 90th percentile of
  |log10 step| is at most 3x the 10th, the sweeps have 5 points or more on average
  and the column spans at least half a decade. Exactly one column may qualify; where
  several do, the one that is a single sweep or repeats one grid of frequencies in every
  sweep is taken when it is the only one (a positive -Z'' of two arcs is monotonic and
  log-spaced between its turning points, but its pieces do not repeat one grid).
* **cycle / loop counter**: integer-valued, in runs of equal values (on average 3 rows
  or more per run), not the frequency. It splits the sweeps and becomes ``meta["cycle"]``.
* **|Z|**: equals hypot of two other columns within 1 % on 99 % of the rows; those two
  are Z' and Z''. Z' is the one not negative at most points when the other is
  (:func:`sign_kind`: a few small negative values at the highest frequencies, an artefact of
  Z' or the inductance in -Z'', say nothing); else a phase column (if any) tells them apart,
  else their shapes (below), else the usual order (Z' first) is kept, unless it puts a
  column with such high-frequency negatives before one positive everywhere: refused.
* **phase**: bounded by ±90 (degrees) or ±pi/2 (radians). Without a |Z| column, a phase
  column whose magnitude is atan(|Z''|/Z') of two other columns (Z' positive everywhere;
  within ``PHASE_TOLERANCE_DEG`` in the median, and in one order of the two only) names
  them Z' and Z'' (f, Z', Z'', phase: Z' rises over a sweep from high to low frequency as
  a clock does, so the rules below would set it aside and read the phase as Z'').
* **time**: non-decreasing over the whole file and not a counter; kept as an extra column.

Without a |Z| column, two remaining columns are read as Z', Z'' in their order (the
universal f, Z', Z'' layout; the same values could be f, |Z|, phase, which the reader
cannot tell apart from the values alone: it reads f, Z', Z'' and, where the second column
could be a phase, records the other reading in ``meta["columns_alternative"]``
(:func:`modulus_phase_alternative`), which a fit checks against the Lin-KK test) unless their signs say
otherwise (Z' is never negative) or their shapes do: where the first rises and falls in
every sweep from high to low frequency (``HUMP_SHARE``: the -Z'' of an arc) and the second
never falls (``NOISE_SHARE``: Z' of a passive RC network does not), the second is Z'
(f, -Z'', Z'), and the reverse keeps the order; a -Z'' that only rises (a blocking line)
decides nothing. Signs decide first, but only a column negative beyond the high-frequency
end (:func:`sign_kind`): Z' dips below zero at MHz in real data. A signed first
column bounded by ±90 before a positive one could be Z'' or a phase, which is ambiguous. Anything else (two frequency-like columns, no frequency, several |Z| triples,
more than two unexplained columns) raises a MissingColumnError asking for
``columns=`` / ``--columns``: the reader does not guess.
"""
from __future__ import annotations

from itertools import combinations, permutations
from pathlib import Path

import numpy as np

from .._sweeps import split_at_frequency_resets
from ..errors import MissingColumnError

MAX_STEP_SPREAD = 3.0
MIN_MEAN_SWEEP_POINTS = 5
MIN_SPAN_DECADES = 0.5
MODULUS_TOLERANCE = 0.01
MODULUS_ROW_SHARE = 0.99
MIN_RUN_LENGTH = 3

HINT = ("pass columns={'frequency': i, 'real': j, 'imag': k} (0-based), or on the command line "
        "--columns frequency=i,real=j,imag=k (roles: frequency, real, imag, modulus, phase, sweep, "
        "y_real, y_imag)")


def _ambiguous(path: Path | str | None, what: str) -> MissingColumnError:
    return MissingColumnError(path, f"headerless table: {what}; {HINT}")


def looks_like_frequency(values: np.ndarray) -> bool:
    """Positive, monotonic and roughly log-spaced inside each sweep (see module doc)."""
    v = np.asarray(values, dtype=float)
    if v.size < 3 or not np.all(v > 0) or not np.all(np.isfinite(v)):
        return False
    sweeps = [s for s in split_at_frequency_resets(v) if s.size >= 2]
    if not sweeps or v.size / len(sweeps) < MIN_MEAN_SWEEP_POINTS:
        return False
    if np.log10(v.max() / v.min()) < MIN_SPAN_DECADES:
        return False
    steps = []
    for s in sweeps:
        d = np.diff(np.log10(v[s]))
        d = d[d != 0]  # a repeated frequency is flagged later, it does not make a column less a frequency
        if not (np.all(d > 0) or np.all(d < 0)):
            return False
        steps.append(np.abs(d))
    steps_all = np.concatenate(steps)
    if steps_all.size == 0:
        return False
    lo, hi = np.percentile(steps_all, [10, 90])
    return bool(hi <= MAX_STEP_SPREAD * lo)


def has_frequency_column(table: np.ndarray) -> bool:
    """Whether a column of ``table`` (rows, columns) holds frequencies (:func:`looks_like_frequency`)."""
    return any(looks_like_frequency(table[:, k]) for k in range(table.shape[1]))


def repeats_one_grid(values: np.ndarray) -> bool:
    """One sweep, or sweeps that measure the same frequencies (90 % of the values of every
    later sweep within 0.1 % of a value of the first): what a frequency column of several
    sweeps looks like, and what a Z'' column split at its turning points does not."""
    v = np.asarray(values, dtype=float)
    sweeps = split_at_frequency_resets(v)
    if len(sweeps) == 1:
        return True
    grid = np.sort(v[sweeps[0]])
    for s in sweeps[1:]:
        pos = np.clip(np.searchsorted(grid, v[s]), 1, grid.size - 1)
        nearest = np.minimum(np.abs(v[s] - grid[pos - 1]), np.abs(v[s] - grid[pos]))
        if np.mean(nearest <= 1e-3 * v[s]) < 0.9:
            return False
    return True


def looks_like_counter(values: np.ndarray) -> bool:
    """Integer-valued, in runs of equal values (a cycle, loop or sweep number)."""
    v = np.asarray(values, dtype=float)
    if v.size < 2 or not np.all(np.isfinite(v)) or not np.all(v == np.round(v)):
        return False
    runs = 1 + int(np.count_nonzero(v[1:] != v[:-1]))
    return v.size / runs >= MIN_RUN_LENGTH


def looks_like_phase(values: np.ndarray) -> str | None:
    """"deg" or "rad" when the values are bounded by ±pi/2 or ±90, else None."""
    m = float(np.max(np.abs(values))) if np.size(values) else np.inf
    if m <= np.pi / 2 * (1 + 1e-9):
        return "rad"
    if m <= 90.0 * (1 + 1e-9):
        return "deg"
    return None


def _is_time(values: np.ndarray) -> bool:
    v = np.asarray(values, dtype=float)
    return v.size > 3 and bool(np.all(np.diff(v) >= 0)) and v[-1] > v[0]


ROW_INDEX_STEP_SHARE = 0.8  # a row counter steps by 1 at least this often (a row left out skips a number)


def _is_row_index(values: np.ndarray) -> bool:
    """A column counting the rows: rising integers, by 1 from row to row but where a row was
    left out (``ROW_INDEX_STEP_SHARE``)."""
    v = np.asarray(values, dtype=float)
    if v.size <= 3 or not np.all(v == np.round(v)):
        return False
    step = np.diff(v)
    return bool(np.all(step >= 1.0)) and float(np.mean(step == 1.0)) >= ROW_INDEX_STEP_SHARE


def _evenly_spaced(values: np.ndarray) -> bool:
    """A column that rises by one step from row to row (a clock logging at a fixed rate: 0, 2,
    4... s; a measured Z' never does, to 1e-6 of the step)."""
    v = np.asarray(values, dtype=float)
    if v.size <= 3:
        return False
    step = np.diff(v)
    return bool(step[0] > 0 and np.all(np.abs(step - step[0]) <= 1e-6 * step[0]))


def _paces_the_sweep(values: np.ndarray, frequency: np.ndarray) -> bool:
    """Whether a rising column is the clock of the sweep: between points below 10 Hz it
    advances by at least half a period of the slower one (a point takes at least that long
    to measure), which a rising Z' (ohm) has no reason to do."""
    f = np.asarray(frequency, dtype=float)
    step = np.diff(np.asarray(values, dtype=float))
    slow = np.minimum(f[:-1], f[1:]) < 10.0
    if slow.sum() < 2:
        return False
    return bool(np.all(step[slow] >= 0.5 / np.minimum(f[:-1], f[1:])[slow]))


def _modulus_triples(cols: dict[int, np.ndarray]) -> list[tuple[int, int, int]]:
    """(k, i, j) with |col k| = hypot(col i, col j) on 99 % of the rows, i < j."""
    found = []
    keys = list(cols)
    for k in keys:
        mod = np.abs(cols[k])
        for i, j in permutations([x for x in keys if x != k], 2):
            if i > j:
                continue
            h = np.hypot(cols[i], cols[j])
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.abs(mod - h) / np.where(mod > 0, mod, np.nan)
            if np.mean(rel <= MODULUS_TOLERANCE) >= MODULUS_ROW_SHARE:
                found.append((k, i, j))
    return found


HF_END_SHARE = 0.2  # negative values at the high-frequency end: among this share of the highest frequencies...
HF_NEGATIVE_SIZE = 0.05  # ... and no larger than this share of the column's largest value


def sign_kind(values: np.ndarray, frequency: np.ndarray | None) -> str:
    """How a column of Z' or Z'' is signed: ``"positive"`` (every value > 0), ``"hf-negative"``
    (positive but for a few small values at the highest frequencies, ``HF_END_SHARE`` and
    ``HF_NEGATIVE_SIZE``: what Z' shows from a high-frequency artefact and -Z'' from the
    inductance of the leads, so it does not say which of the two the column is) or ``"signed"``."""
    v = np.asarray(values, dtype=float)
    negative = ~(v > 0)
    if not negative.any():
        return "positive"
    if frequency is None or negative.mean() > HF_END_SHARE or not np.any(v > 0):
        return "signed"
    f = np.asarray(frequency, dtype=float)
    high = f >= np.quantile(f, 1.0 - HF_END_SHARE)
    small = np.all(np.abs(v[negative]) <= HF_NEGATIVE_SIZE * float(v.max()))
    return "hf-negative" if bool(np.all(high[negative]) and small) else "signed"


def _order_real_imag(i: int, j: int, cols: dict[int, np.ndarray], phase: int | None,
                     phase_unit: str | None, frequency: np.ndarray | None = None,
                     path: Path | str | None = None) -> tuple[int, int, str]:
    """(real, imag, rule) for two columns known to be Z' and Z'' in some order.

    Signs decide where one column is signed (:func:`sign_kind`) and the other is not; then a
    phase column, then the shapes of the two; then the usual order (Z' first), unless a
    column positive everywhere comes second after one with small negative values at the
    highest frequencies (an artefact of Z' or the inductance in -Z''): that is refused
    (MissingColumnError asking for ``columns=``) rather than guessed."""
    kind_i, kind_j = sign_kind(cols[i], frequency), sign_kind(cols[j], frequency)
    if (kind_i == "signed") != (kind_j == "signed"):
        rule = ("Z' is the column positive everywhere" if "positive" in (kind_i, kind_j) else
                "Z' is the column that is not negative at most points")
        return (j, i, rule) if kind_i == "signed" else (i, j, rule)
    if phase is not None and phase_unit is not None:
        order = _phase_order(cols, phase, phase_unit, i, j)
        if order is not None:
            return (*order, "phase = atan(Z''/Z')")
    if frequency is not None:
        for arc, flat in ((i, j), (j, i)):
            if _rises_and_falls(cols[arc], frequency) and _never_falls(cols[flat], frequency):
                return flat, arc, ("Z' is the column that never falls as the frequency falls (Z' of a passive RC "
                                   "network does not), -Z'' the one that rises and falls over each arc")
    if kind_i == "hf-negative" and kind_j == "positive":
        raise _ambiguous(path, f"column {j + 1} is positive everywhere and column {i + 1} but for small negative "
                               "values at the highest frequencies (an artefact of Z', or the inductance in -Z''): "
                               "which one is Z' is not known")
    return i, j, "Z' before Z'' (usual order; signs do not tell them apart)"


HUMP_SHARE = 0.10  # a column rises and falls: an inner maximum this share of its range above both ends
NOISE_SHARE = 0.01  # a column never falls: no step down by more than this share of its range


def _sweeps_by_falling_frequency(values: np.ndarray, frequency: np.ndarray) -> list[np.ndarray]:
    """``values`` of each sweep of ``frequency``, ordered from high to low frequency."""
    out = []
    for rows in split_at_frequency_resets(frequency):
        order = np.argsort(-frequency[rows], kind="stable")
        out.append(np.asarray(values, dtype=float)[rows][order])
    return out


def _rises_and_falls(values: np.ndarray, frequency: np.ndarray) -> bool:
    """Whether, in every sweep from high to low frequency, the column has an inner maximum
    above both its ends by ``HUMP_SHARE`` of its range (the -Z'' of an arc)."""
    sweeps = _sweeps_by_falling_frequency(values, frequency)
    for v in sweeps:
        span = float(np.ptp(v)) if v.size else 0.0
        if v.size < 5 or span <= 0:
            return False
        top = float(v.max())
        if top - max(float(v[0]), float(v[-1])) < HUMP_SHARE * span:
            return False
    return bool(sweeps)


def _never_falls(values: np.ndarray, frequency: np.ndarray) -> bool:
    """Whether, in every sweep from high to low frequency, the column does not fall by more
    than ``NOISE_SHARE`` of its range from one point to the next (Z' of a passive RC network)."""
    sweeps = _sweeps_by_falling_frequency(values, frequency)
    for v in sweeps:
        span = float(np.ptp(v)) if v.size else 0.0
        if v.size < 5 or span <= 0 or np.any(np.diff(v) < -NOISE_SHARE * span):
            return False
    return bool(sweeps)


PHASE_TOLERANCE_DEG = 1.0  # median |phase - atan(Z''/Z')| of a phase column, degrees


def _phase_order(cols: dict[int, np.ndarray], phase: int, unit: str, i: int, j: int) -> tuple[int, int] | None:
    """(real, imag) of columns ``i`` and ``j`` when the magnitude of column ``phase`` (in
    ``unit``, deg or rad) is atan(|Z''|/|Z'|) of them within ``PHASE_TOLERANCE_DEG`` in the
    median, and closer in that order than in the other by as much (a phase of 45 degrees
    everywhere does not order them); else None."""
    angle = np.abs(cols[phase]) * (180.0 / np.pi if unit == "rad" else 1.0)
    err_ij = float(np.median(np.abs(angle - np.degrees(np.arctan2(np.abs(cols[j]), np.abs(cols[i]))))))
    err_ji = float(np.median(np.abs(angle - np.degrees(np.arctan2(np.abs(cols[i]), np.abs(cols[j]))))))
    if min(err_ij, err_ji) < PHASE_TOLERANCE_DEG and abs(err_ij - err_ji) > PHASE_TOLERANCE_DEG:
        return (i, j) if err_ij < err_ji else (j, i)
    return None


def _phase_triples(cols: dict[int, np.ndarray], phases: dict[int, str]) -> list[tuple[int, int, int]]:
    """(phase, real, imag) for every column bounded like a phase (``phases``: column ->
    unit) that orders two other columns as Z', Z'' (:func:`_phase_order`), Z' positive
    everywhere."""
    found = []
    for p, unit in phases.items():
        for i, j in combinations([c for c in cols if c != p], 2):
            order = _phase_order(cols, p, unit, i, j)
            if order is not None and np.all(cols[order[0]] > 0):
                found.append((p, *order))
    return found


def modulus_phase_alternative(values: np.ndarray, index: dict[str, int]) -> str | None:
    """Where a headerless table was read as (f, Z', Z'') and the same two columns could be
    |Z| and phase (the first positive everywhere, the second bounded by ±90 or ±pi/2: the
    reader cannot tell them apart), that other reading in words and as the option that reads
    it, e.g. ``"column 2 = |Z|, column 3 = phase (deg); --columns frequency=0,modulus=1,phase=2"``
    (columns 1-based as in ``columns_detected``, the option's 0-based; one string, so that it
    travels with the spectrum's scalar meta); else None. A fit of such data checks it against the
    Lin-KK test (:func:`eisfit.analysis.quality.modulus_phase_reading`)."""
    if {"modulus", "phase"} & index.keys() or not {"real", "imag"} <= index.keys():
        return None
    real, imag = values[:, index["real"]], values[:, index["imag"]]
    unit = looks_like_phase(imag)
    if unit is None or not np.all(real > 0):
        return None
    option = f"--columns frequency={index['frequency']},modulus={index['real']},phase={index['imag']}"
    return f"column {index['real'] + 1} = |Z|, column {index['imag'] + 1} = phase ({unit}); {option}"


def _many_frequencies_hint(cols: dict[int, np.ndarray], freq: list[int]) -> str:
    """What else columns that all rise in log steps may be: |Z| beside a phase (an LCR meter's
    f, |Z|, phase: |Z| of a sample rises as steadily as the frequency falls), or, three or
    more of them, no frequency at all (pairs of Z' and -Z'', whose -Z'' rises in log steps)."""
    phases = [(c, u) for c in cols if c not in freq and (u := looks_like_phase(cols[c])) is not None]
    hint = ""
    if len(freq) == 2 and len(phases) == 1:
        (p, unit), (a, b) = phases[0], freq
        hint = (f"; column {p + 1} lies within ±{'90' if unit == 'deg' else 'pi/2'} (a phase in {unit}?): then "
                f"one of columns {a + 1}, {b + 1} is |Z|: --columns frequency={a},modulus={b},phase={p} "
                f"or frequency={b},modulus={a},phase={p}")
    if len(freq) > 2:
        hint += ("; as many columns rising in log steps are seldom frequencies: a table of Z', -Z'' pairs "
                 "without its frequencies cannot be fitted (export it with the frequency column)")
    return hint


def identify_columns(values: np.ndarray, path: Path | str | None = None) -> tuple[dict[str, int], str]:
    """Roles (role -> 0-based column) of a headerless table from its values, and the rule used.

    ``values``: rows x columns of floats. Raises MissingColumnError when ambiguous.
    """
    n_cols = values.shape[1]
    cols = {c: np.asarray(values[:, c], dtype=float) for c in range(n_cols)}
    freq = [c for c in cols if looks_like_frequency(cols[c])]
    grid_rule = ""
    if len(freq) > 1:  # e.g. f, Z', -Z'': a positive -Z'' with two arcs is monotonic between its humps
        one_grid = [c for c in freq if repeats_one_grid(cols[c])]
        if len(one_grid) == 1:
            others = [str(c + 1) for c in freq if c != one_grid[0]]
            grid_rule = (f"; column{'s' if len(others) > 1 else ''} {', '.join(others)} also "
                         f"{'rise' if len(others) > 1 else 'rises'} and {'fall' if len(others) > 1 else 'falls'} "
                         f"in log steps, but not over one repeated grid")
            freq = one_grid
    if len(freq) != 1:
        what = ("no column is positive, monotonic and log-spaced within each sweep, so none is a frequency"
                if not freq else "columns " + ", ".join(str(c + 1) for c in freq)
                + " all look like frequencies" + _many_frequencies_hint(cols, freq))
        raise _ambiguous(path, what)
    index: dict[str, int] = {"frequency": freq[0]}
    rules = [f"frequency = column {freq[0] + 1} (positive, log-spaced within each sweep{grid_rule})"]
    rest = {c: v for c, v in cols.items() if c != freq[0]}
    counters = [c for c in rest if looks_like_counter(rest[c])]
    numbered = [c for c in counters if np.any(rest[c] != 0)]  # a column of zeros is padding, not a cycle 0
    if numbered:
        index["sweep"] = numbered[0]
        rules.append(f"cycle = column {numbered[0] + 1} (integer-valued runs)")
    if len(numbered) < len(counters):
        rules.append("column(s) " + ", ".join(str(c + 1) for c in counters if c not in numbered)
                     + " all zeros (set aside)")
    for c in counters:
        rest.pop(c)
    triples = _modulus_triples(rest)
    phases = {c: u for c in rest if (u := looks_like_phase(rest[c])) is not None}
    if len({t[0] for t in triples}) > 1 or len(triples) > 1:
        raise _ambiguous(path, "several columns could be |Z| = hypot of two others "
                         + ", ".join(f"{k + 1}=({i + 1},{j + 1})" for k, i, j in triples))
    if triples:
        k, i, j = triples[0]
        phase = next((c for c in phases if c not in (k, i, j)), None)
        real, imag, why = _order_real_imag(i, j, rest, phase, phases.get(phase) if phase is not None else None,
                                           cols[freq[0]], path)
        index.update(real=real, imag=imag, modulus=k)
        rules.append(f"|Z| = column {k + 1} = hypot(columns {i + 1}, {j + 1}); {why}")
        return index, "; ".join(rules)
    angles = _phase_triples(rest, phases)
    if len(angles) > 1:
        raise _ambiguous(path, "several columns could be the phase = atan(Z''/Z') of two others "
                         + ", ".join(f"{p + 1}=({i + 1},{j + 1})" for p, i, j in angles))
    if angles:  # f, Z', Z'', phase (no |Z|): the phase column says which pair is Z', Z'', and in which order
        p, real, imag = angles[0]
        left = [c for c in rest if c not in (p, real, imag)]
        if any(not _is_time(rest[c]) for c in left):
            raise _ambiguous(path, f"columns {real + 1}, {imag + 1} are Z', Z'' (column {p + 1} is their phase); "
                             "column(s) " + ", ".join(str(c + 1) for c in left if not _is_time(rest[c]))
                             + " unexplained")
        index.update(real=real, imag=imag)
        rules.append(f"Z' = column {real + 1}, Z'' = column {imag + 1} (column {p + 1} = atan(Z''/Z'), "
                     f"{phases[p]})" + "".join(f"; column {c + 1} rises over the file (time)" for c in left))
        return index, "; ".join(rules)
    timelike = [c for c in rest if _is_time(rest[c])] if len(rest) > 2 else []
    if len(timelike) > 1:  # Z' also rises over a sweep from high to low frequency: keep the clock only
        clocks = [c for c in timelike if _is_row_index(rest[c]) or _evenly_spaced(rest[c])
                  or _paces_the_sweep(rest[c], cols[freq[0]])]
        timelike = clocks if len(clocks) == 1 else timelike
        indices = [c for c in timelike if _is_row_index(rest[c])]
        if len(rest) - len(timelike) < 2 and indices and len(rest) - len(indices) == 2:
            timelike = indices  # a row counter (1, 2, 3...) is never Z'; a rising Z' may pace the sweep too
    candidates = [c for c in rest if c not in timelike]
    if len(candidates) != 2:
        raise _ambiguous(path, f"no |Z| column and {len(candidates)} columns left for the impedance "
                         "(need exactly two: Z' and Z'', or |Z| and phase)")
    a, b = candidates
    if a in phases and np.any(rest[a] < 0) and np.all(rest[b] > 0):
        raise _ambiguous(path, f"column {a + 1} is signed and bounded by ±90: it could be Z'' (then "
                         f"column {b + 1} is Z', out of the usual order) or a phase (column {b + 1} |Z|)")
    real, imag, why = _order_real_imag(a, b, rest, None, None, cols[freq[0]], path)
    index.update(real=real, imag=imag)
    rules.append(f"Z' = column {real + 1}, Z'' = column {imag + 1} ({why})")
    return index, "; ".join(rules)
