"""Helpers shared by the readers: sweep splitting, value checks and Spectrum assembly.

Every reader ends in :func:`build_spectra`, so the checks made there hold for every
format alike: frequencies outside 1 µHz-1 GHz or |Z| above 1e12 ohm are a
:class:`~eisfit.errors.CorruptFileError`; a frequency repeated inside one sweep gives a
:class:`ReadWarning` naming it; cycle, time and loop columns become ``meta["cycle"]``,
``meta["time_s"]`` (start of the sweep) and ``meta["loop"]``.
"""
from __future__ import annotations

import functools
import math
import os
import re
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .._caller import user_stacklevel
from .._sweeps import describe_out_of_order, sweep_parts
from ..errors import CorruptFileError, DataError, ReadError
from ..spectrum import Spectrum, warn_if_no_imaginary_part

# plausible measurement range shared by every reader
MIN_FREQUENCY_HZ = 1e-6
MAX_FREQUENCY_HZ = 1e9
MAX_MODULUS_OHM = 1e12


class ReadWarning(UserWarning):
    """A reader guessed, dropped or flagged something in a file (not fatal).

    The ``eisfit`` command prints these as ``eisfit: warning: ...`` lines.
    """


@functools.lru_cache(maxsize=8)  # every sniffer asks for the suffix of the same path
def suffix_of(path: str | Path) -> str:
    """The lower-case extension of ``path`` ('.csv'): what sniffers weigh, without building a
    Path for each of them."""
    return os.path.splitext(str(path))[1].lower()


def file_bytes(path: str | Path) -> bytes:
    """The bytes of a file; ReadError 'cannot open' naming it when the system refuses."""
    try:
        return (path if isinstance(path, Path) else Path(path)).read_bytes()
    except OSError as exc:
        raise ReadError(path, f"cannot open: {exc.strerror or exc}") from None


_UTF8_MARK = b"\xef\xbb\xbf"
_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` without their ends, where a line ends in LF, CRLF or CR, and in
    CR CR LF: the mark of a file whose CRLF ends were converted once more (an export copied
    in text mode on Windows, an FTP transfer in ASCII mode). ``str.splitlines`` reads that
    as a line end and an empty line after every line, which shifts the line counts a
    header gives (EC-Lab's 'Nb header lines')."""
    return text.replace("\r\r\n", "\n").splitlines()


def text_bytes(data: bytes) -> bytes:
    """The bytes of a text file as the 8-bit text every reader parses: without a Unicode
    byte-order mark (UTF-8: Excel's "CSV UTF-8"; UTF-16: Notepad's "Unicode"), UTF-16 without
    a mark too (:func:`_utf16_without_mark`), re-encoded as Windows-1252 (the code page of
    instrument exports) where every character has a byte in it, else as UTF-8; and without
    the NUL bytes that pad the end of a file copied while it was being written
    (:func:`nul_padding`). Anything else is returned unchanged, and so is data that decode
    as UTF-16 only to characters no text holds (NUL, other control characters): binary
    content is left for its reader to refuse. A byte-order mark elsewhere in the text (one
    more after the last line, as PSTrace writes) is dropped too. ``data`` may be the first
    bytes of a file (a character cut at the end is dropped)."""
    codec = _utf16_codec(data)
    body = data[:len(data) - nul_padding(data)]
    if data.startswith(_UTF8_MARK):
        text = body[len(_UTF8_MARK):].decode("utf-8", errors="ignore")
    elif codec is not None:
        text = body[: len(body) // 2 * 2].decode(codec, errors="ignore")
        if any(ord(ch) < 32 and ch not in "\t\r\n\f" for ch in text[:4096]):
            return data
    else:
        return data if b"\0" in body else body
    text = text.replace("\ufeff", "")  # a stray mark after the text (PSTrace writes one after its last line end)
    try:
        return text.encode("cp1252")
    except UnicodeEncodeError:
        return text.encode("utf-8")


UTF16_NUL_SHARE = 0.4  # UTF-16 of Latin text: at least this share of the high bytes are NUL...
UTF16_LOW_NUL_SHARE = 0.05  # ... and at most this share of the low bytes


def _utf16_codec(data: bytes) -> str | None:
    """The codec of UTF-16 text, with a byte-order mark ("utf-16") or without one
    (:func:`_utf16_without_mark`); None for anything else."""
    return "utf-16" if data.startswith(_UTF16_MARKS) else _utf16_without_mark(data)


def _utf16_without_mark(data: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" for UTF-16 text written without a byte-order mark (NUL
    bytes at every other position, as Latin characters have), judged on the first 4 kB
    without the end's NUL padding; else None."""
    sample = data[:4096].rstrip(b"\0")
    if b"\0" not in sample:  # no NUL at all: 8-bit text (the common case, asked several times per file)
        return None
    sample = sample[: len(sample) // 2 * 2]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    nul_even, nul_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if nul_odd >= UTF16_NUL_SHARE and nul_even <= UTF16_LOW_NUL_SHARE:
        return "utf-16-le"
    if nul_even >= UTF16_NUL_SHARE and nul_odd <= UTF16_LOW_NUL_SHARE:
        return "utf-16-be"
    return None


def nul_padding(data: bytes) -> int:
    """The number of NUL bytes padding the end of a text file's ``data`` (bytes, in any number:
    a file copied while it was being written is padded by the byte); in UTF-16-LE, not the
    high byte of the last character, which is NUL too."""
    n = len(data) - len(data.rstrip(b"\0"))
    codec = _utf16_codec(data)
    if n and codec is not None and (data.startswith(b"\xff\xfe") or codec == "utf-16-le"):
        n -= 1
    return n


def read_text_bytes(path: str | Path) -> bytes:
    """:func:`text_bytes` of a file (:func:`file_bytes`), with a ReadWarning where NUL padding
    ended it (the text before it is read); CorruptFileError for UTF-16 with an odd number of
    bytes (cut or damaged)."""
    data = file_bytes(path)
    padding = nul_padding(data)
    codec = _utf16_codec(data)
    if codec is not None and (len(data) - padding) % 2:
        raise CorruptFileError(path, f"undecodable text ({codec}: an odd number of bytes, {len(data) - padding}; "
                                     "truncated or damaged file)")
    text = text_bytes(data)
    if padding and text != data:
        warn(f"{Path(str(path)).name}: {padding} NUL bytes at the end of the file ignored (padding, as a file "
             "copied while it was being written has)")
    return text


def float_or_none(text: str, finite: bool = False) -> float | None:
    """``float(text)``, or None when it is not a number (``finite``: nor when it is nan or
    infinite): one field of a text format."""
    try:
        value = float(text)
    except ValueError:
        return None
    return None if finite and not math.isfinite(value) else value


def numbered_sweeps(spectra: Sequence[Spectrum]) -> list[Spectrum]:
    """``spectra`` gathered from several blocks of one file (sheets, datasets, segments),
    numbered as the file's sweeps: ``sweep`` 0.., ``n_sweeps``."""
    return [s.with_meta(sweep=k, n_sweeps=len(spectra)) for k, s in enumerate(spectra)]


def warn(message: str) -> None:
    """Issue a :class:`ReadWarning` (the one warning class of the readers), located at the
    caller's line outside eisfit (:func:`eisfit._caller.user_stacklevel`)."""
    warnings.warn(message, ReadWarning, stacklevel=user_stacklevel())


def sweeps_at_frequency_resets(frequency: np.ndarray, path: str | Path | None = None) -> list[np.ndarray]:
    """Index arrays of the sweeps in ``frequency`` (:func:`eisfit._sweeps.sweep_parts`); each
    point measured or written out of order (a step back of at most ``OUT_OF_ORDER_STEPS``
    points, kept in its sweep) is named in one ReadWarning, and so is each point whose
    frequency breaks its sweep while the next point takes the sweep on (:func:`_lone_jumps`:
    a damaged value, left out)."""
    f = np.asarray(frequency, dtype=float)
    sweeps, out_of_order = sweep_parts(f)
    name = Path(str(path)).name if path is not None else "file"
    if out_of_order:
        warn(f"{name}: {len(out_of_order)} frequency step(s) against the sweep direction "
             f"({describe_out_of_order(f, sweeps, out_of_order)}): points out of order, kept in their sweep "
             "(a new sweep starts where the frequency goes back toward the start)")
    sweeps, jumps = _lone_jumps(f, sweeps)
    if jumps:
        shown = "; ".join(f"point {i + 1}: {f[i]:.4g} Hz between {f[before]:.4g} and {f[after]:.4g} Hz"
                          for i, before, after in jumps[:5])
        warn(f"{name}: {len(jumps)} point(s) whose frequency breaks its sweep, the next point taking the sweep on "
             f"({shown}{' ...' if len(jumps) > 5 else ''}): a damaged value, left out (it had split the sweep "
             "in two)")
    return sweeps


LONE_JUMP_STEPS = 3.0  # the point after a lone jump lies within this many of the sweep's median log steps


def _lone_jumps(f: np.ndarray, sweeps: list[np.ndarray]) -> tuple[list[np.ndarray], list[tuple[int, int, int]]]:
    """``sweeps`` with each lone jump left out and the sweeps it had split joined, and the
    jumps as (index, index before, index after): a sweep's first point is one where the sweep
    before has at least 3 points, and the point after it carries that sweep on in its
    direction, within ``LONE_JUMP_STEPS`` of its median log step (a BioLogic sweep whose 73 Hz
    read 4.79 MHz had become two sweeps, the fit running on a 10-point half). A new sweep goes
    from its first point to the next frequency of its own, not back to where the last ended."""
    out: list[np.ndarray] = []
    jumps: list[tuple[int, int, int]] = []
    for part in sweeps:
        if out and out[-1].size >= 3 and part.size >= 2 and _takes_the_sweep_on(f, out[-1], part[1:]):
            jumps.append((int(part[0]), int(out[-1][-1]), int(part[1])))  # the jump opened the part
            out[-1] = np.concatenate([out[-1], part[1:]])
        elif out and out[-1].size >= 4 and _takes_the_sweep_on(f, out[-1][:-1], part):
            jumps.append((int(out[-1][-1]), int(out[-1][-2]), int(part[0])))  # the jump closed the sweep
            out[-1] = np.concatenate([out[-1][:-1], part])
        else:
            out.append(part)
    return out, jumps


def _takes_the_sweep_on(f: np.ndarray, sweep: np.ndarray, rest: np.ndarray) -> bool:
    """Whether the points ``rest`` take ``sweep`` on: the first beyond its last point in its
    direction, by no more than ``LONE_JUMP_STEPS`` of its median log-frequency step, the
    second (where there is one) on in the same direction (a turn to an up sweep after a down
    one is a new sweep)."""
    with np.errstate(all="ignore"):
        logs = np.log10(f[sweep])
        step = np.median(np.abs(np.diff(logs)))
        ahead = np.log10(f[rest[:2]]) if np.all(f[rest[:2]] > 0) else np.full(min(rest.size, 2), np.nan)
    direction = 1.0 if logs[-1] > logs[0] else -1.0
    first = direction * (ahead[0] - logs[-1])
    second = direction * (ahead[1] - ahead[0]) if ahead.size > 1 else 1.0
    return bool(step > 0 and 0 < first <= LONE_JUMP_STEPS * step and second > 0)


def checked_point_count(path: str | Path, spectra: list[Spectrum], declared: int | None,
                        where: str = "header") -> list[Spectrum]:
    """``spectra`` as read, checked against the point count the file declares (``where``: the
    part of the file that declares it): where they differ (a truncated or edited file) a
    ReadWarning says so and every spectrum gets ``meta["declared_points"]``."""
    n = sum(len(s) for s in spectra)
    if declared is None or declared == n:
        return spectra
    warn(f"{Path(str(path)).name}: {where} declares {declared} points but the file holds {n} "
         "(truncated or edited file)")
    return [s.with_meta(declared_points=declared) for s in spectra]


def split_by_counter(counter: np.ndarray) -> list[np.ndarray]:
    """Index arrays of runs of equal values of a sweep counter (cycle number, loop...)."""
    c = np.asarray(counter)
    if c.size == 0:
        return []
    edges = np.flatnonzero(c[1:] != c[:-1]) + 1
    bounds = np.concatenate([[0], edges, [c.size]])
    return [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def merge_continued_sweeps(frequency: np.ndarray, runs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``runs`` (index arrays into ``frequency``, Hz, in file order: a sweep counter's runs)
    with each run joined to the one before where the frequencies show no new sweep: the run
    starts on the next row and its frequencies carry straight on in the direction of the
    sweep before (strictly, on its first point and on its second, where it has one).

    A counter only confirms a sweep boundary, it never splits a sweep on its own: EC-Lab
    resets ``z cycle`` in the middle of a sweep (at an outer loop's boundary, yadg's
    ``mb.issue_149``), as do the counters of its tables re-saved as CSV. A run that goes
    back toward the start, turns, or repeats the last frequency (a single-frequency
    monitor) stays a sweep of its own."""
    f = np.asarray(frequency, dtype=np.float64)
    merged = [runs[0]] if len(runs) else []
    for run in runs[1:]:
        prev = merged[-1]
        if _carries_on(f, prev, run):
            merged[-1] = np.concatenate([prev, run])
        else:
            merged.append(run)
    return merged


def _carries_on(f: np.ndarray, prev: np.ndarray, run: np.ndarray) -> bool:
    """Whether ``run`` goes straight on from the last rows of ``prev`` (see
    :func:`merge_continued_sweeps`)."""
    if prev.size < 2 or run.size == 0 or run[0] != prev[-1] + 1:
        return False
    direction = np.sign(f[prev[-1]] - f[prev[-2]])
    steps = np.diff(f[np.concatenate([prev[-1:], run[:2]])])
    return bool(direction != 0 and np.all(np.sign(steps) == direction))


def build_spectra(
    path: str | Path,
    frequency: np.ndarray,
    z: np.ndarray,
    meta: Mapping[str, Any],
    sweeps: Sequence[np.ndarray],
    columns: Mapping[str, np.ndarray] | None = None,
    sweep_meta: Sequence[Mapping[str, Any]] | None = None,
) -> list[Spectrum]:
    """One Spectrum per index array in ``sweeps``; meta gets ``sweep`` (0-based) and ``n_sweeps``,
    and ``cycle`` / ``time_s`` / ``loop`` from such columns (see :func:`sweep_axis_meta`).

    Checks every reader shares: :func:`check_ranges` (error) and
    :func:`warn_repeated_frequencies` (warning).
    """
    out = []
    columns = columns or {}
    check_ranges(path, frequency, z, sweeps)
    warn_repeated_frequencies(path, frequency, sweeps)
    axes = axis_columns(columns)
    for k, idx in enumerate(sweeps):
        m = dict(meta)
        m["source"] = str(path)
        m["sweep"] = k
        m["n_sweeps"] = len(sweeps)
        m.update(sweep_axis_meta(axes, idx))
        if sweep_meta is not None:
            m.update(sweep_meta[k])
        whole = len(idx) == len(frequency) and (len(idx) == 0 or (idx[0] == 0 and idx[-1] == len(idx) - 1
                                                                  and np.all(np.diff(idx) == 1)))
        pick = slice(None) if whole else idx  # a sweep of every row in order: no index copy
        try:
            # the readers split the sweeps and warned of their points' order already: only the
            # data warning of the Spectrum constructor is given again
            spectrum = Spectrum._unwarned(frequency[pick], z[pick], m,
                                          columns={name: np.asarray(col)[pick] for name, col in columns.items()})
            warn_if_no_imaginary_part(spectrum)
            out.append(spectrum)
        except DataError as exc:  # its message starts with the spectrum's label (the file): said once
            reason = str(exc)
            label = str(m.get("label") or "")
            for prefix in (f"{label}: ", f"{m.get('source')}: ", f"{path}: "):
                if prefix != ": " and reason.startswith(prefix):
                    reason = reason[len(prefix):]
                    break
            raise ReadError(path, f"sweep {k}: {reason}") from None
    return out


# ---------------------------------------------------------------------------
# checks shared by every reader
# ---------------------------------------------------------------------------
def _sweep_rows(sweeps: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(i, dtype=np.intp) for i in sweeps]) if len(sweeps) else \
        np.zeros(0, dtype=np.intp)


def check_ranges(path: str | Path, frequency: np.ndarray, z: np.ndarray,
                 sweeps: Sequence[np.ndarray]) -> None:
    """CorruptFileError when a sweep point has a frequency outside 1 µHz-1 GHz or |Z| > 1e12 ohm.

    Such values are not measurements (a misread column, a wrong binary layout,
    garbage bytes); reading them on would make every downstream number wrong.
    """
    for _, batch in _batches(sweeps):  # in batches: bounded temporary memory on huge files
        rows = _sweep_rows(batch)
        _check_range_rows(path, np.asarray(frequency, dtype=float)[rows], np.abs(np.asarray(z)[rows]), rows)


def _check_range_rows(path: str | Path, f: np.ndarray, modulus: np.ndarray, rows: np.ndarray) -> None:
    finite = np.isfinite(f)
    outside = finite & ((f < MIN_FREQUENCY_HZ) | (f > MAX_FREQUENCY_HZ))
    if outside.any():
        bad = f[outside]
        raise CorruptFileError(
            path, f"{bad.size} frequency value(s) outside the plausible 1e-06-1e+09 Hz range "
            f"(e.g. {bad[0]:.4g} Hz at point {int(rows[outside][0])}): not a frequency column, or "
            "a damaged file; pass columns=... / --columns if the wrong column was taken")
    huge = np.isfinite(modulus) & (modulus > MAX_MODULUS_OHM)
    if huge.any():
        raise CorruptFileError(
            path, f"{int(huge.sum())} point(s) have |Z| above 1e+12 ohm (e.g. {modulus[huge][0]:.4g} "
            f"ohm at point {int(rows[huge][0])}): not an impedance, or a damaged file")


def _batches(sweeps: Sequence[np.ndarray], rows_per_batch: int = 100_000):
    """(first sweep number, sweeps) in consecutive batches of about ``rows_per_batch`` rows."""
    batch: list[np.ndarray] = []
    first, size = 0, 0
    for k, idx in enumerate(sweeps):
        batch.append(idx)
        size += len(idx)
        if size >= rows_per_batch:
            yield first, batch
            batch, first, size = [], k + 1, 0
    if batch:
        yield first, batch


def warn_repeated_frequencies(path: str | Path, frequency: np.ndarray,
                              sweeps: Sequence[np.ndarray]) -> None:
    """A ReadWarning naming the frequencies that occur more than once inside one sweep."""
    f_all = np.asarray(frequency, dtype=float)
    found: dict[int, list[float]] = {}
    for first, batch in _batches(sweeps):
        f = f_all[_sweep_rows(batch)]
        sweep_of = np.repeat(np.arange(first, first + len(batch)), [len(i) for i in batch])
        order = np.lexsort((f, sweep_of))
        fs, ss = f[order], sweep_of[order]
        same = (fs[1:] == fs[:-1]) & (ss[1:] == ss[:-1])
        for k, v in zip(ss[1:][same], fs[1:][same]):
            values = found.setdefault(int(k), [])
            if v not in values:
                values.append(float(v))
    if not found:
        return
    shown = [f"sweep {k}: " + ", ".join(f"{v:g}" for v in vals[:5]) + " Hz" + (" ..." if len(vals) > 5 else "")
             for k, vals in list(found.items())[:5]]
    name = Path(str(path)).name
    warn(f"{name}: repeated frequencies in {len(found)} sweep(s) ({'; '.join(shown)}"
         f"{'; ...' if len(found) > 5 else ''}); the points are kept")


# ---------------------------------------------------------------------------
# cycle / time / loop columns -> per-sweep meta
# ---------------------------------------------------------------------------
_TIME_UNITS_S = {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0, "hr": 3600.0, "ms": 1e-3}
_CYCLE_NAME = re.compile(r"^(cycle|cycle[ _]?(number|nr|no|index|idx|id)|cycle[ _]?n)\.?$")
_LOOP_NAME = re.compile(r"^(loop|loop[ _]?(index|idx|number|nr|no))$")
_TIME_NAME = re.compile(r"^(time|elapsed[ _]?time|test[ _]?time|total[ _]?time|t)"
                        r"(?:\s*(?:/\s*|\(|\[)\s*(s|sec|min|h|hr|ms)\s*[)\]]?)?$")


# the DC potential a sweep was measured at (V): BioLogic's <Ewe>/V (the mean over each point's
# period), Gamry's Vdc, Autolab's E dc (V), ZPlot's Bias, a battery tester's V(V) (a bare V only with
# its unit); a staircase PEIS steps it sweep by sweep
_POTENTIAL_NAME = re.compile(r"^(<ewe>|ewe|<ewe|vdc|v-dc|e ?dc|e_dc|bias|ocv|v(?=\s*(?:/|\(|\[)))\s*(?:(?:/|\(|\[)\s*(v|mv)\s*[)\]>]?)?>?$")
_POTENTIAL_UNITS_V = {None: 1.0, "v": 1.0, "mv": 1e-3}
# the temperature of each point (a battery tester's or an LCR meter's T(deg C), Temperature/K): with its
# unit only, so that a bare 'T' stays the time it usually is
_TEMPERATURE_NAME = re.compile(r"^(t|temp\.?|temperature|sample temperature|cell temperature)\s*(?:/\s*|\(\s*|\[\s*|,\s*)"
                               r"(\u00b0c|\u00bac|deg ?c|c|k)\s*[)\]]?$")
_TEMPERATURE_KEYS = {"k": "temperature_K"}  # any other unit: degrees Celsius
_MEDIAN_AXES = ("dc_potential_V", "temperature_K", "temperature_C")  # a sweep's value: the median of its points


def axis_of_column(name: str) -> tuple[str, float] | None:
    """(meta key, scale) of a cycle/time/loop/DC potential/temperature column name, else None.

    ``cycle``, ``cycle number``, ``cycle_Nr`` -> ("cycle", 1); ``loop``, ``loop_index`` ->
    ("loop", 1); ``time/s``, ``time (h)``, ``time`` (seconds assumed) -> ("time_s",
    seconds per unit); ``<Ewe>/V``, ``Vdc (mV)`` -> ("dc_potential_V", V per unit);
    ``T(deg C)``, ``Temperature/°C`` -> ("temperature_C", 1), ``T/K`` -> ("temperature_K", 1)
    (a temperature with its unit only: a bare ``T`` is a time). BioLogic's ``z cycle`` is a
    sweep counter, not a cycle number.
    """
    key = " ".join(str(name).strip().strip('"').lower().split())
    if _CYCLE_NAME.match(key):
        return "cycle", 1.0
    if _LOOP_NAME.match(key):
        return "loop", 1.0
    m = _TIME_NAME.match(key)
    if m:
        return "time_s", _TIME_UNITS_S[m.group(2)] if m.group(2) else 1.0
    m = _POTENTIAL_NAME.match(key)
    if m:
        return "dc_potential_V", _POTENTIAL_UNITS_V[m.group(2)]
    m = _TEMPERATURE_NAME.match(key)
    if m:
        return _TEMPERATURE_KEYS.get(m.group(2), "temperature_C"), 1.0
    return None


def axis_columns(columns: Mapping[str, Any]) -> dict[str, tuple[str, np.ndarray, float]]:
    """meta key -> (column name, values, scale) for the first cycle, time and loop column."""
    out: dict[str, tuple[str, np.ndarray, float]] = {}
    for name, values in columns.items():
        found = axis_of_column(name)
        if found is None or found[0] in out:
            continue
        arr = np.asarray(values)
        if arr.dtype.kind in "fiu":
            out[found[0]] = (name, arr, found[1])
    return out


def sweep_axis_meta(axes: Mapping[str, tuple[str, np.ndarray, float]], idx: np.ndarray) -> dict[str, Any]:
    """``cycle`` / ``loop`` (int when whole), ``time_s`` (s, first point = start of the sweep),
    ``dc_potential_V`` (V, the median over the sweep's points: the DC potential of each step
    of a staircase PEIS) and ``temperature_C`` / ``temperature_K`` (the median over the
    sweep's points, which a campaign takes as the checkpoint's temperature)."""
    meta: dict[str, Any] = {}
    if len(idx) == 0:
        return meta
    for key, (name, values, scale) in axes.items():
        if key in _MEDIAN_AXES:
            points = np.asarray(values[idx], dtype=float)
            points = points[np.isfinite(points)]
            if points.size:
                meta[key] = float(np.median(points)) * scale
                meta.setdefault("axis_columns", {})[key] = name
            continue
        v = float(values[idx[0]]) * scale
        if not np.isfinite(v):
            continue
        if key == "time_s":
            meta["time_s"] = v
        else:
            meta[key] = int(v) if v == int(v) else v
        meta.setdefault("axis_columns", {})[key] = name
    return meta
