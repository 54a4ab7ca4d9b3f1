"""Sweeps in a frequency array: where a sweep restarts, points out of order, repeated
frequencies. Pure functions on arrays (Hz), shared by the readers (which split a file's
rows into sweeps) and :class:`eisfit.Spectrum` (which refuses several sweeps in one array)."""
from __future__ import annotations

import numpy as np

def split_at_frequency_resets(frequency: np.ndarray) -> list[np.ndarray]:
    """Index arrays of the sweeps in ``frequency``.

    A new sweep starts where the sweep direction resets: for a descending sweep,
    where the frequency jumps back up; for an ascending one, where it drops.
    The direction of each sweep is taken from its first two points (descending when
    they are equal); equal neighbours never split a sweep, except at a turn: where a
    down sweep is followed by an up sweep (or the reverse) that starts by measuring the
    turning frequency again, that second point opens the new sweep (it was counted as a
    repeated frequency of the old one, and the new sweep lacked its first point).
    """
    f = np.asarray(frequency, dtype=float)
    n = f.size
    if n <= 2:
        return [np.arange(n)]
    step = np.diff(f)
    rises = np.flatnonzero(step > 0)  # step i goes from point i to i + 1
    falls = np.flatnonzero(step < 0)
    starts = [0]
    start = 0
    while start < n - 1:
        direction = 1 if step[start] > 0 else -1
        against = falls if direction > 0 else rises
        k = np.searchsorted(against, start + 1)  # a reversal counts from the sweep's 2nd step on
        if k >= against.size:
            break
        start = int(against[k]) + 1
        turn_repeated = (start - 2 > starts[-1] and start < n - 1 and f[start - 1] == f[start - 2]
                         and np.sign(step[start]) == np.sign(step[start - 1]))
        if turn_repeated:  # down to f_min, then f_min again and up: the second f_min opens the up sweep
            start -= 1
        starts.append(start)
    starts.append(n)
    return [np.arange(a, b) for a, b in zip(starts[:-1], starts[1:]) if b > a]


OUT_OF_ORDER_STEPS = 2  # a step back over at most this many points of a sweep is no new sweep


def sweep_parts(frequency: np.ndarray) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """(index arrays of the sweeps in ``frequency``, the points out of order) by
    :func:`split_at_frequency_resets`, but a split is undone where the frequency steps back by
    at most ``OUT_OF_ORDER_STEPS`` points of the sweep and then goes on in the same direction
    beyond where it was (points measured or written out of order, not a new sweep: a new
    sweep goes back further, toward the start frequency). Each point out of order is given
    as (its sweep, its position in that sweep); the points are kept in their sweep."""
    f = np.asarray(frequency, dtype=float)
    sweeps: list[np.ndarray] = []
    out_of_order: list[tuple[int, int]] = []
    for part in split_at_frequency_resets(f):
        if sweeps and _steps_back_within_the_sweep(f, sweeps[-1], part):
            out_of_order.append((len(sweeps) - 1, sweeps[-1].size))
            sweeps[-1] = np.concatenate([sweeps[-1], part])
        else:
            sweeps.append(part)
    return sweeps, out_of_order


def describe_out_of_order(frequency: np.ndarray, sweeps: list[np.ndarray], out_of_order: list[tuple[int, int]],
                          shown: int = 5, name_sweeps: bool = True) -> str:
    """The first ``shown`` points out of order of :func:`sweep_parts`, as text
    ("sweep 0, point 7: 1000 Hz after 800 Hz; ..."; without "sweep 0, " unless ``name_sweeps``)."""
    f = np.asarray(frequency, dtype=float)
    text = "; ".join(f"{f'sweep {k}, ' if name_sweeps else ''}point {i + 1}: {f[sweeps[k][i]]:g} Hz after "
                     f"{f[sweeps[k][i - 1]]:g} Hz" for k, i in out_of_order[:shown])
    return text + (" ..." if len(out_of_order) > shown else "")


def repeated_frequencies(frequency: np.ndarray) -> np.ndarray:
    """The frequencies (Hz, ascending) that occur more than once in ``frequency``."""
    f = np.sort(np.asarray(frequency, dtype=float))
    return np.unique(f[1:][f[1:] == f[:-1]])


def _steps_back_within_the_sweep(f: np.ndarray, sweep: np.ndarray, part: np.ndarray) -> bool:
    """Whether ``part`` (the piece after a split) continues ``sweep``: it starts at most
    ``OUT_OF_ORDER_STEPS`` points back and, when it has a second point, runs in the sweep's
    direction to beyond the sweep's last frequency."""
    if sweep.size <= OUT_OF_ORDER_STEPS + 1:  # the sweep's first points out of order: judged by the rest
        return _starts_out_of_order(f, sweep, part)
    direction = 1.0 if f[sweep[1]] > f[sweep[0]] else -1.0
    if direction * (f[part[0]] - f[sweep[-1 - OUT_OF_ORDER_STEPS]]) <= 0:
        return False  # back to or beyond a point OUT_OF_ORDER_STEPS + 1 steps before: a reset
    return part.size < 2 or direction * (f[part[1]] - f[sweep[-1]]) > 0


def _starts_out_of_order(f: np.ndarray, sweep: np.ndarray, part: np.ndarray) -> bool:
    """Whether the few points of ``sweep`` are the first points of ``part``'s sweep, out of
    order: ``part`` runs on in one direction (two points or more), starts after the sweep's
    first point in that direction and goes on beyond its last (a new sweep starts from where
    the last began, or beyond it, and passes its points again)."""
    if part.size < 2:
        return False
    direction = 1.0 if f[part[1]] > f[part[0]] else -1.0
    return bool(direction * (f[part[0]] - f[sweep[0]]) > 0 and direction * (f[part[1]] - f[sweep[-1]]) > 0)
