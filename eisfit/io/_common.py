"""Helpers shared by the readers: sweep splitting and Spectrum assembly."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import DataError, ReadError
from ..spectrum import Spectrum


def split_at_frequency_resets(frequency: np.ndarray) -> list[np.ndarray]:
    """Index arrays of the sweeps in ``frequency``.

    A new sweep starts where the sweep direction resets: for a descending sweep,
    where the frequency jumps back up; for an ascending one, where it drops.
    The direction of each sweep is taken from its first two points.
    """
    f = np.asarray(frequency, dtype=float)
    n = f.size
    if n <= 2:
        return [np.arange(n)]
    starts = [0]
    i = 0
    while i < n - 1:
        start = starts[-1]
        if i == start:
            direction = np.sign(f[i + 1] - f[i]) or -1.0
        step = f[i + 1] - f[i]
        if step != 0 and np.sign(step) != direction and i + 1 - start >= 2:
            starts.append(i + 1)
        i += 1
    starts.append(n)
    return [np.arange(a, b) for a, b in zip(starts[:-1], starts[1:]) if b > a]


def split_by_counter(counter: np.ndarray) -> list[np.ndarray]:
    """Index arrays of runs of equal values of a sweep counter (cycle number, loop...)."""
    c = np.asarray(counter)
    if c.size == 0:
        return []
    edges = np.flatnonzero(c[1:] != c[:-1]) + 1
    bounds = np.concatenate([[0], edges, [c.size]])
    return [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def build_spectra(
    path: str | Path,
    frequency: np.ndarray,
    z: np.ndarray,
    meta: Mapping[str, Any],
    sweeps: Sequence[np.ndarray],
    columns: Mapping[str, np.ndarray] | None = None,
    sweep_meta: Sequence[Mapping[str, Any]] | None = None,
) -> list[Spectrum]:
    """One Spectrum per index array in ``sweeps``; meta gets ``sweep`` (0-based) and ``n_sweeps``."""
    out = []
    columns = columns or {}
    for k, idx in enumerate(sweeps):
        m = dict(meta)
        m["source"] = str(path)
        m["sweep"] = k
        m["n_sweeps"] = len(sweeps)
        if sweep_meta is not None:
            m.update(sweep_meta[k])
        try:
            out.append(
                Spectrum(
                    frequency[idx], z[idx], m,
                    columns={name: np.asarray(col)[idx] for name, col in columns.items()},
                )
            )
        except DataError as exc:
            raise ReadError(path, f"sweep {k}: {exc}") from None
    return out
