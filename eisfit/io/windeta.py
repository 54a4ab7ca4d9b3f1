"""Novocontrol WinDETA "Data from LCR Meter" text files (``.LCR``).

What this reader assumes (the layout of the files seen, WinDETA with an LCR meter):

* line 1 is a title (``Data from LCR Meter`` unless the user gave one: ``meta["title"]``); line 2
  the date and time of the file, ``dd.mm.yyyy hh:mm:ss`` (the start time of its first sweep);
* a label line names the columns of the data rows: ``|Z| [Ohm]``, ``Th [°]``, then after
  a ``'`` comment mark ``Measurement Pair``, ``E'``, ``E"``, ``Frequency[Hz]``;
* ``<N>  'Number of Frequency Points``, then the N frequencies (several per line);
* each sweep starts with ``<k>  <time>  <temperature>  'Data Point  Time[s]  Temperature[°C]``
  and holds N rows of five numbers: |Z| (ohm), Th, E', E'', frequency (Hz);
* **Th is the phase of Z in radians**, although the label says degrees: an insulating oxide
  at 51 °C reads -1.52 (-87°, capacitive, as such a ceramic is; -1.5° would be a resistor)
  and a resistor at 10 Hz -0.0047, and E'' = Th |Z| 1e10 throughout. Z = |Z| exp(j Th); a
  file whose Th exceeds pi in magnitude anywhere (in any sweep) holds degrees and is read so. E' and E''
  (scaled copies of |Z| and Th |Z|) are not read.

One spectrum per sweep, with ``meta["time_s"]`` (the sweep's time), ``meta["temperature_C"]``
and ``meta["temperature_K"]``, ``meta["data_point"]`` (its number in the file). A sweep
with fewer rows than the declared frequencies, a row of other than five numbers, or
frequencies that differ from the declared list are errors naming the file and the line.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import CorruptFileError
from ..spectrum import Spectrum
from ._common import build_spectra, float_or_none, numbered_sweeps, suffix_of
from .tabular import check_imag_sign, head_text, text_lines

NAME = "windeta-lcr"
NAMES = ["windeta-lcr", "novocontrol", "lcr"]
EXTENSIONS = [".lcr"]

KELVIN_AT_0C = 273.15
ROW_VALUES = 5  # |Z|, Th, E', E'', frequency
_LABELS = re.compile(r"'\s*Measurement Pair.*Frequency", re.IGNORECASE)
_COUNT = re.compile(r"^\s*(\d+)\s+'\s*Number of Frequency Points", re.IGNORECASE)
_SWEEP = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+'\s*Data Point", re.IGNORECASE)
_DATE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})\s*$")


def sniff(head: bytes, path: Path) -> int:
    """95 for a ``'Measurement Pair ... Frequency`` label line and a ``'Number of Frequency
    Points`` line among the first lines; 20 for a bare .lcr file (reading it then says what
    is wrong)."""
    sniffed = head_text(head)
    if not sniffed.binary and "Number of Frequency Points" in sniffed.text:
        lines = sniffed.lines[:10]
        if any(_LABELS.search(ln) for ln in lines) and any(_COUNT.match(ln) for ln in lines):
            return 95
    return 20 if suffix_of(path) in EXTENSIONS else 0


def read(path: str | Path, *, imag_sign: str | None = None) -> list[Spectrum]:
    """Read every sweep of a WinDETA LCR file (frequency Hz, Z ohm, Z'' < 0 capacitive).

    ``imag_sign``: "positive" reads Th as the negated phase of Z; "negative", "auto" or None
    as the phase of Z (the files seen).
    """
    p = Path(path)
    check_imag_sign(imag_sign, p)
    lines = text_lines(p)
    at = next((i for i, ln in enumerate(lines[:20]) if _COUNT.match(ln)), None)
    if at is None or not any(_LABELS.search(ln) for ln in lines[:at]):
        raise CorruptFileError(p, "not a WinDETA LCR file: no \"'Measurement Pair ... Frequency\" label line and "
                                  "'Number of Frequency Points' line in the first 20 lines")
    n_points = int(_COUNT.match(lines[at]).group(1))
    sweeps = [i for i in range(at + 1, len(lines)) if _SWEEP.match(lines[i])]
    if n_points < 1 or not sweeps:
        raise CorruptFileError(p, f"{n_points} frequencies declared and {len(sweeps)} 'Data Point' lines: no sweep")
    declared = _numbers(p, lines, at + 1, sweeps[0])
    if declared.size != n_points:
        raise CorruptFileError(p, f"line {at + 1} declares {n_points} frequencies, the list after it holds "
                                  f"{declared.size}")
    start = _start_time(lines[1] if len(lines) > 1 else "")
    meta = {"format": NAME, "software": "Novocontrol WinDETA", "technique": "EIS", "title": lines[0].strip(),
            **({"start_time": start.isoformat()} if start else {})}
    tables = [_sweep_values(p, lines, first, sweeps[k + 1] if k + 1 < len(sweeps) else len(lines), declared)
              for k, first in enumerate(sweeps)]
    degrees = any(np.any(np.abs(values[:, 1]) > math.pi) for _, values in tables)  # beyond ±pi: degrees after all
    out = []
    for first, values in tables:
        out.extend(_sweep(p, lines[first], values, degrees, meta, start, imag_sign))
    return numbered_sweeps(out)


def _sweep_values(p: Path, lines: Sequence[str], first: int, end: int, declared: np.ndarray
                  ) -> tuple[int, np.ndarray]:
    """(``first``, the rows (N, 5)) of the sweep whose 'Data Point' line is ``lines[first]``."""
    number = _SWEEP.match(lines[first]).group(1)
    rows = [(i, lines[i].split()) for i in range(first + 1, end) if lines[i].strip()]
    if len(rows) < declared.size:
        raise CorruptFileError(p, f"line {first + 1}: data point {number} holds {len(rows)} of the {declared.size} "
                                  "rows its file declares (truncated file?)")
    values = np.empty((declared.size, ROW_VALUES))
    for j, (i, fields) in enumerate(rows[:declared.size]):
        try:
            if len(fields) != ROW_VALUES:
                raise ValueError
            values[j] = [float(v) for v in fields]
        except ValueError:
            raise CorruptFileError(p, f"line {i + 1}: {lines[i].strip()[:60]!r} is not a row of {ROW_VALUES} "
                                      "numbers (|Z|, Th, E', E'', frequency)") from None
    if not np.allclose(values[:, 4], declared, rtol=1e-6, atol=0):
        raise CorruptFileError(p, f"line {first + 2}: the frequencies of data point {number} differ from the "
                                  "declared list")
    return first, values


def _sweep(p: Path, line: str, values: np.ndarray, degrees: bool, meta: dict[str, Any],
           start: _dt.datetime | None, imag_sign: str | None) -> list[Spectrum]:
    """The spectrum of the sweep of 'Data Point' line ``line`` and rows ``values`` (|Z|, Th
    in radians or, with ``degrees``, degrees, E', E'', frequency)."""
    number, time_s, celsius = _SWEEP.match(line).groups()
    modulus, theta, frequency = values[:, 0], values[:, 1], values[:, 4]
    if degrees:
        theta = np.radians(theta)
    if imag_sign == "positive":
        theta = -theta
    z = modulus * np.exp(1j * theta)
    sweep_meta = dict(meta, data_point=int(number), imag_sign="negated phase" if imag_sign == "positive" else
                      "phase of Z", imag_sign_source="option" if imag_sign in ("negative", "positive") else "format")
    seconds, temperature = float_or_none(time_s, finite=True), float_or_none(celsius, finite=True)
    if seconds is not None:
        sweep_meta["time_s"] = seconds
        if start is not None:
            sweep_meta["sweep_start_time"] = (start + _dt.timedelta(seconds=seconds)).isoformat()
    if temperature is not None:
        sweep_meta.update(temperature_C=temperature, temperature_K=temperature + KELVIN_AT_0C)
    return build_spectra(p, frequency, z, sweep_meta, [np.arange(frequency.size)])


def _numbers(p: Path, lines: Sequence[str], first: int, end: int) -> np.ndarray:
    """The numbers of ``lines[first:end]`` (the declared frequency list)."""
    try:
        return np.array([float(v) for ln in lines[first:end] for v in ln.split()], dtype=float)
    except ValueError:
        raise CorruptFileError(p, f"lines {first + 1}-{end}: the frequency list holds a value that is not a "
                                  "number") from None


def _start_time(line: str) -> _dt.datetime | None:
    """The moment of a ``dd.mm.yyyy hh:mm:ss`` line, None for anything else."""
    m = _DATE.match(line)
    if m is None:
        return None
    day, month, year, hour, minute, second = (int(g) for g in m.groups())
    try:
        return _dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
