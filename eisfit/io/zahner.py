"""Zahner Thales / Analysis binary spectra (``.ism``).

What this reader assumes (decoded from real files; nothing else in the file is read):

* every number is big-endian;
* bytes 0-5: a version field (kept as hex text in ``meta["ism_version"]``);
* bytes 6-11: an unsigned integer, the number of points minus one (``n - 1``);
* then ``n`` float64 frequencies (Hz), ``n`` float64 |Z| (ohm) and ``n`` float64
  phases (radians, the phase of Z: negative for capacitive behaviour); whatever
  follows these ``24 n`` bytes is not read (its size is ``meta["ism_trailing_bytes"]``);
* some files begin with a few points swept the other way before the sweep direction
  reverses (Thales starts at a middle frequency). They are one measurement: the file
  gives **one** spectrum, with the points put in the order of the main (longest) sweep
  direction; ``meta["ism_leading_points"]`` counts the points that were swept the other
  way and ``meta["point_order"]`` says so.

The phases are read as the format stores them, the phase of Z (Zahner's software writes
no other convention), whatever the data look like: the sign rule of :mod:`eisfit._sign`,
made for tables whose writers differ, had flipped a real 500 uOhm shunt measurement whose
points are inductive up to 1 MHz (Z' turning negative at the top: an artefact the rule read
as an arc). What the rule says is kept in ``meta["imag_sign_rule"]``; ``imag_sign="positive"``
reads a file whose phases were stored negated (by another program). Companion ``.isfx``
model files are not read.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._sign import capacitive_sign
from .._sweeps import split_at_frequency_resets
from ..errors import CorruptFileError
from ..spectrum import Spectrum
from ._common import MAX_FREQUENCY_HZ, MIN_FREQUENCY_HZ, build_spectra, file_bytes, suffix_of
from .tabular import check_imag_sign

NAME = "zahner-ism"
NAMES = ["zahner-ism", "ism", "zahner"]
EXTENSIONS = [".ism"]

VERSION_BYTES = 6
COUNT_BYTES = 6
HEADER_BYTES = VERSION_BYTES + COUNT_BYTES
BIG_ENDIAN_FLOAT64 = ">f8"
MAX_POINTS = 10_000_000


def point_count(buf: bytes) -> int:
    """Number of points ``n`` declared by the header (bytes 6-11 hold ``n - 1``)."""
    return int.from_bytes(buf[VERSION_BYTES:HEADER_BYTES], "big") + 1


def _plausible_frequencies(f: np.ndarray) -> bool:
    return bool(f.size and np.all(np.isfinite(f)) and np.all(f >= MIN_FREQUENCY_HZ)
                and np.all(f <= MAX_FREQUENCY_HZ))


def sniff(head: bytes, path: Path) -> int:
    """Confidence that the file is a Zahner .ism: the declared point count fits the file
    size and the first frequencies (and |Z|, phases when in the head) are plausible."""
    is_ism = suffix_of(path) in EXTENSIONS
    fallback = 10 if is_ism else 0
    if len(head) < HEADER_BYTES + 16:
        return fallback
    n = point_count(head)
    if not 2 <= n <= MAX_POINTS:  # before asking the file system for the size (most files are no .ism)
        return fallback
    try:
        size = Path(path).stat().st_size
    except OSError:
        return fallback
    if size < HEADER_BYTES + 24 * n:
        return fallback
    body = np.frombuffer(head[HEADER_BYTES:HEADER_BYTES + 8 * ((len(head) - HEADER_BYTES) // 8)],
                         dtype=BIG_ENDIAN_FLOAT64)
    if not _plausible_frequencies(body[:n]):
        return fallback
    if body.size >= 3 * n:
        modulus, phase = body[n:2 * n], body[2 * n:3 * n]
        if not (np.all(np.isfinite(modulus)) and np.all(modulus >= 0) and np.all(np.abs(phase) <= np.pi)):
            return fallback
    return 95 if is_ism else 85


def read(path: str | Path, *, imag_sign: str | None = None) -> list[Spectrum]:
    """Read a Zahner ``.ism`` file: one :class:`Spectrum` (frequency Hz, Z ohm, Z'' < 0 capacitive).

    ``imag_sign``: "positive" reads phases stored negated (Z'' = -|Z| sin(phase));
    "negative", "auto" or None the format's convention, the phase of Z.
    Raises CorruptFileError for a file too short for its declared point count, or with
    values that cannot be frequencies, moduli or phases in radians.
    """
    p = Path(path)
    check_imag_sign(imag_sign, p)
    buf = file_bytes(p)
    if len(buf) < HEADER_BYTES:
        raise CorruptFileError(p, f"too short for a Zahner .ism header ({len(buf)} of {HEADER_BYTES} bytes)")
    n = point_count(buf)
    need = HEADER_BYTES + 24 * n
    if n > MAX_POINTS or len(buf) < need:
        raise CorruptFileError(p, f"header declares {n} points ({need} bytes with the header) but the "
                                  f"file has {len(buf)} bytes: truncated, or not a Zahner .ism file")
    values = np.frombuffer(buf, dtype=BIG_ENDIAN_FLOAT64, count=3 * n, offset=HEADER_BYTES)
    frequency, modulus, phase = (values[k * n:(k + 1) * n].astype(float) for k in range(3))
    _check_arrays(p, frequency, modulus, phase)
    order, leading = _main_sweep_order(frequency)
    frequency, modulus, phase = frequency[order], modulus[order], phase[order]
    z = modulus * np.exp(1j * phase)
    meta: dict[str, Any] = {
        "format": NAME, "technique": "EIS", "software": "Zahner Thales/Analysis",
        "ism_version": buf[:VERSION_BYTES].hex(), "ism_trailing_bytes": len(buf) - need,
        "ism_leading_points": leading,
        "point_order": ("file order" if leading == 0 else
                        f"the first {leading} points were swept the other way; all points put in "
                        "the main sweep direction"),
    }
    negated = imag_sign == "positive"
    if negated:
        z = np.conj(z)
    meta.update(imag_sign="negated phase" if negated else "phase of Z",
                imag_sign_source="option" if imag_sign in ("negative", "positive") else "format",
                imag_sign_rule=capacitive_sign(frequency, z.real, z.imag)[1])
    return build_spectra(p, frequency, z, meta, [np.arange(n)])


def _check_arrays(p: Path, frequency: np.ndarray, modulus: np.ndarray, phase: np.ndarray) -> None:
    """CorruptFileError for non-finite values, |Z| < 0 or phases beyond ±pi (not radians)."""
    if not (np.all(np.isfinite(frequency)) and np.all(np.isfinite(modulus)) and np.all(np.isfinite(phase))):
        raise CorruptFileError(p, "NaN or infinite values in the frequency, |Z| or phase arrays")
    if np.any(frequency <= 0):
        raise CorruptFileError(p, "frequencies <= 0 Hz: not a Zahner .ism layout")
    if np.any(modulus < 0):
        raise CorruptFileError(p, "negative |Z| values: not a Zahner .ism layout")
    if np.any(np.abs(phase) > np.pi):
        raise CorruptFileError(p, f"phases up to {np.max(np.abs(phase)):.4g}, beyond ±pi: not radians, "
                                  "not a Zahner .ism layout")


def _main_sweep_order(frequency: np.ndarray) -> tuple[np.ndarray, int]:
    """(point order, number of leading points swept against the main direction).

    Without a reversal the file order is kept. Otherwise every point is put in the
    direction of the longest monotonic run (a stable sort, so equal frequencies keep
    their file order)."""
    runs = split_at_frequency_resets(frequency)
    if len(runs) == 1:
        return np.arange(frequency.size), 0
    main = max(runs, key=len)
    descending = frequency[main[-1]] < frequency[main[0]]
    order = np.argsort(-frequency if descending else frequency, kind="stable")
    # the turning point (last point of the run before) is where the main sweep starts
    leading = max(int(main[0]) - 1, 0)
    return order, leading
