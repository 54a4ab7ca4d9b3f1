"""Facts shared by the BioLogic readers (.mpr binary and .mpt text).

Column-ID table of the ``VMP data`` module (ID -> ``.mpt`` label and binary
type), technique codes, and the sweep splitting both readers use.
Written from ``shared/realdata/mpr/FORMAT.md``; every ID below was checked
against an ``.mpt`` export of the same measurement.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import CorruptFileError
from ._clock import iso_time
from ._common import merge_continued_sweeps, split_by_counter, sweeps_at_frequency_resets, warn

# Flag IDs share one byte per record; value = bit mask within that byte.
FLAG_MASKS: dict[int, tuple[str, int]] = {
    1: ("mode", 0x03),
    2: ("ox/red", 0x04),
    3: ("error", 0x08),
    21: ("control changes", 0x10),
    31: ("Ns changes", 0x20),
    65: ("counter inc.", 0x80),
}

# ID -> (.mpt label, numpy type code). f4/f8 little-endian floats, u2/u4 unsigned ints.
COLUMNS: dict[int, tuple[str, str]] = {
    4: ("time/s", "<f8"),
    5: ("control/V/mA", "<f4"),
    6: ("Ewe/V", "<f4"),
    7: ("dq/mA.h", "<f8"),
    8: ("I/mA", "<f4"),
    9: ("Ece/V", "<f4"),
    11: ("<I>/mA", "<f8"),
    13: ("(Q-Qo)/mA.h", "<f8"),
    16: ("Analog IN 1/V", "<f4"),
    17: ("Analog IN 2/V", "<f4"),
    19: ("control/V", "<f4"),
    20: ("control/mA", "<f4"),
    23: ("dQ/mA.h", "<f8"),
    24: ("cycle number", "<f8"),
    32: ("freq/Hz", "<f4"),
    33: ("|Ewe|/V", "<f4"),
    34: ("|I|/A", "<f4"),
    35: ("Phase(Z)/deg", "<f4"),
    36: ("|Z|/Ohm", "<f4"),
    37: ("Re(Z)/Ohm", "<f4"),
    38: ("-Im(Z)/Ohm", "<f4"),
    39: ("I Range", "<u2"),
    70: ("P/W", "<f4"),
    74: ("|Energy|/W.h", "<f8"),
    76: ("<I>/mA", "<f4"),
    77: ("<Ewe>/V", "<f4"),
    96: ("|Ece|/V", "<f4"),
    98: ("Phase(Zce)/deg", "<f4"),
    99: ("|Zce|/Ohm", "<f4"),
    100: ("Re(Zce)/Ohm", "<f4"),
    101: ("-Im(Zce)/Ohm", "<f4"),
    123: ("Energy charge/W.h", "<f8"),
    124: ("Energy discharge/W.h", "<f8"),
    125: ("Capacitance charge/µF", "<f8"),
    126: ("Capacitance discharge/µF", "<f8"),
    131: ("Ns", "<u2"),
    168: ("Rcmp/Ohm", "<f4"),
    169: ("Cs/µF", "<f4"),
    172: ("Cp/µF", "<f4"),
    174: ("<Ewe>/V", "<f4"),
    430: ("Phase(Zwe-ce)/deg", "<f4"),
    431: ("|Zwe-ce|/Ohm", "<f4"),
    432: ("Re(Zwe-ce)/Ohm", "<f4"),
    433: ("-Im(Zwe-ce)/Ohm", "<f4"),
    434: ("(Q-Qo)/C", "<f4"),
    435: ("dQ/C", "<f4"),
    438: ("step time/s", "<f8"),
    441: ("<Ece>/V", "<f4"),
    467: ("Q charge/discharge/mA.h", "<f8"),
    468: ("half cycle", "<u4"),
    469: ("z cycle", "<u4"),
    471: ("<Ece>/V", "<f4"),
    473: ("THD Ewe/%", "<f4"),
    474: ("THD I/%", "<f4"),
    476: ("NSD Ewe/%", "<f4"),
    477: ("NSD I/%", "<f4"),
    479: ("NSR Ewe/%", "<f4"),
    480: ("NSR I/%", "<f4"),
    **{486 + k: (f"|Ewe h{k + 2}|/V", "<f4") for k in range(6)},
    **{492 + k: (f"|I h{k + 2}|/A", "<f4") for k in range(6)},
    880: ("Energy we/W.h", "<f8"),
    883: ("Energy ce charge/W.h", "<f8"),
    884: ("Energy ce discharge/W.h", "<f8"),
}

# Technique code (byte 0 of the VMP Set module) -> short name.
TECHNIQUES: dict[int, str] = {0x1D: "PEIS", 0x1E: "GEIS", 0x32: "ZIR", 0x7F: "MB"}

# Line 4 of an .mpt -> short name.
TECHNIQUE_FULL_NAMES: dict[str, str] = {
    "Potentio Electrochemical Impedance Spectroscopy": "PEIS",
    "Galvano Electrochemical Impedance Spectroscopy": "GEIS",
    "Modulo Bat": "MB",
    "IR compensation (PEIS)": "ZIR",
    "Staircase Potentio Electrochemical Impedance Spectroscopy": "SPEIS",
    "Staircase Potentio Electrochemical Impedance Spectroscopy (Mott-Schottky)": "SPEIS",
    "Staircase Galvano Electrochemical Impedance Spectroscopy": "SGEIS",
}

FREQ = "freq/Hz"
RE_Z = "Re(Z)/Ohm"
MINUS_IM_Z = "-Im(Z)/Ohm"
MOD_Z = "|Z|/Ohm"
PHASE_Z = "Phase(Z)/deg"
TIME = "time/s"
# Spectrum counters, most specific first: MB spectrum counter, then repeated-sweep counter.
SWEEP_COUNTERS = ("z cycle", "cycle number")
# Columns folded into Spectrum.frequency / Spectrum.z rather than kept as extra columns.
FOLDED_COLUMNS = (FREQ, RE_Z, MINUS_IM_Z)


def names_impedance(labels: Sequence[str]) -> bool:
    """Whether EC-Lab's column labels of an impedance pair are among ``labels``."""
    names = {label.strip() for label in labels}
    return {RE_Z, MINUS_IM_Z} <= names or {MOD_Z, PHASE_Z} <= names


def impedance_from_columns(columns: dict[str, np.ndarray]) -> np.ndarray | None:
    """Complex Z (ohm, Z'' < 0 capacitive) from Re/-Im, else from |Z| and phase (deg).

    Returns None when neither pair is present.
    """
    if RE_Z in columns and MINUS_IM_Z in columns:
        re = np.asarray(columns[RE_Z], dtype=np.float64)
        minus_im = np.asarray(columns[MINUS_IM_Z], dtype=np.float64)
        return re - 1j * minus_im  # the file stores -Im(Z)
    if MOD_Z in columns and PHASE_Z in columns:
        mod = np.asarray(columns[MOD_Z], dtype=np.float64)
        phase = np.radians(np.asarray(columns[PHASE_Z], dtype=np.float64))
        return mod * np.exp(1j * phase)
    return None


def sweep_indices(
    frequency: np.ndarray,
    columns: dict[str, np.ndarray],
    loop_starts: Sequence[int] | None = None,
    path: str | Path | None = None,
) -> list[np.ndarray]:
    """Row-index arrays of the impedance sweeps, in file order.

    Rows are grouped by the ``VMP loop`` row indices when given, else by runs of
    a sweep counter (``z cycle``, then ``cycle number``) when it changes, else
    the impedance rows are split where the frequency sweep restarts
    (:func:`~eisfit.io._common.sweeps_at_frequency_resets`, which names ``path`` in its
    warning on points out of order). Rows with
    ``freq/Hz == 0`` (DC holds, non-EIS steps) are dropped after the counters
    have been used and before frequency-reset splitting.
    """
    f = np.asarray(frequency, dtype=np.float64)
    is_eis = f != 0
    groups = _counter_groups(f.size, columns, loop_starts)
    if groups is not None:
        sweeps = [s for s in (g[is_eis[g]] for g in groups) if s.size]
        return sweeps if loop_starts is not None else merge_continued_sweeps(f, sweeps)
    eis_rows = np.flatnonzero(is_eis)
    if eis_rows.size == 0:
        return []
    return [eis_rows[s] for s in sweeps_at_frequency_resets(f[eis_rows], path)]


def _counter_groups(
    n: int, columns: dict[str, np.ndarray], loop_starts: Sequence[int] | None
) -> list[np.ndarray] | None:
    """Row groups from loop indices or the first sweep counter that changes; None if none does."""
    if loop_starts is not None and len(loop_starts) > 2:
        bounds = list(loop_starts)
        return [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    for name in SWEEP_COUNTERS:
        counter = columns.get(name)
        if counter is not None and counter.size == n and n and np.any(counter != counter[0]):
            return split_by_counter(counter)
    return None


def sweep_start_times(
    start: _dt.datetime | None, time_s: np.ndarray | None, sweeps: Sequence[np.ndarray]
) -> list[dict[str, str | None]]:
    """Per-sweep ``sweep_start_time``: acquisition start + time/s of the sweep's first point."""
    out = []
    for idx in sweeps:
        moment = None
        if start is not None and time_s is not None:
            t0 = float(time_s[idx[0]])
            try:
                moment = start + _dt.timedelta(seconds=t0)
            except (OverflowError, ValueError):  # NaN or absurd time/s: start unknown
                moment = None
        out.append({"sweep_start_time": iso_time(moment)})
    return out


def area_in_cm2(value: float | None, unit: str | None) -> float | None:
    """Electrode area converted to cm² (unit ``cm2`` or ``mm2``); None when unknown (EC-Lab
    stores 0 when no area was entered)."""
    if value is None or unit is None or not value > 0:
        return None
    return value / 100.0 if unit == "mm2" else value


def check_values(frequency: np.ndarray, z: np.ndarray, sweeps: Sequence[np.ndarray], p: Path,
                 place: Callable[[int], str]) -> None:
    """CorruptFileError when a sweep point has a NaN, infinite or negative frequency (Hz), or
    a NaN or infinite impedance (ohm), naming how many and where the first is:
    ``place(row)`` of its 0-based data row ('row 3' in a .mpr, 'line 75' in a .mpt)."""
    rows = np.concatenate(sweeps)
    f = frequency[rows]
    bad_f = ~np.isfinite(f) | (f < 0)
    if bad_f.any():
        raise CorruptFileError(p, f"{int(bad_f.sum())} point(s) have an invalid frequency "
                                  f"(NaN, infinite or negative), first at {place(int(rows[bad_f][0]))}")
    bad_z = ~np.isfinite(z[rows])
    if bad_z.any():
        raise CorruptFileError(p, f"{int(bad_z.sum())} point(s) have a NaN or infinite impedance, "
                                  f"first at {place(int(rows[bad_z][0]))}")
    _warn_zero_frequency_inside(frequency, sweeps, p, place)


def _warn_zero_frequency_inside(frequency: np.ndarray, sweeps: Sequence[np.ndarray], p: Path,
                                place: Callable[[int], str]) -> None:
    """Warn about rows of 0 Hz between two points of one sweep: left out like a DC step's
    rows, but within a sweep they are damaged points (a flipped or lost value), which
    the user should hear about rather than get a sweep one point short without a word."""
    f = np.asarray(frequency)
    zero = np.flatnonzero(f == 0)
    if zero.size == 0:
        return
    member = np.full(f.size, -1)
    for k, idx in enumerate(sweeps):
        member[idx] = k
    runs = np.split(zero, np.flatnonzero(np.diff(zero) > 1) + 1)
    inside = [run for run in runs if run[0] > 0 and run[-1] + 1 < f.size
              and member[run[0] - 1] >= 0 and member[run[0] - 1] == member[run[-1] + 1]]
    if inside:
        n = sum(run.size for run in inside)
        warn(f"{p.name}: {n} point(s) at 0 Hz inside a sweep, first at {place(int(inside[0][0]))}, left out "
             "(a sweep's frequency is never 0: a damaged value)")
