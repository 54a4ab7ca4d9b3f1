"""PalmSens session files (``.pssession``, PSTrace).

What this reader assumes (the layout of PSTrace 5 session files):

* the file is JSON in UTF-16 with a byte-order mark (a stray BOM may follow the JSON);
  its root has ``"Type": "PalmSens.DataFiles.SessionFile"`` and a list ``Measurements``
  (the keys of some sessions are all lower case, ``type``, ``measurements``...: read alike);
* a measurement has a ``Title``, a ``TimeStamp`` (.NET ticks: 100 ns since 0001-01-01,
  local time), a ``DeviceSerial``, its measured points in a ``DataSet`` of type
  ``PalmSens.Data.DataSetEIS`` (several frequency sweeps one after another are split
  where the frequency resets) and the curves drawn from them in ``EISDataList``, each
  with its own ``Title`` and ``DataSet``, or with ``SubScans`` of their own (a scan of the
  DC potential at a few frequencies on each channel of a multichannel instrument: a curve
  ``CH 3: E dc scan at 5 freqs`` with sub-scans ``E=0.000 V``, ``E=0.200 V``...; the
  measurement's own data set then holds one channel's points only). The curves are read
  when they hold at least as many points as the measurement's own data set (every channel's
  points), else that data set;
* a data set holds ``Values``: arrays with a ``Description`` (``Frequency``, ``ZRe``,
  ``ZIm``, ``Z``, ``Phase``, ``Idc``...), a ``Unit`` (``S`` the symbol, ``Q`` the quantity:
  ``Z'``, ``-Z''``, ``-Phase``) and ``DataValues``, a list of ``{"V": value}``;
* the spectrum is ``Frequency`` (Hz) with ``ZRe`` and ``ZIm`` (ohm, or kOhm/MOhm as the
  symbol says); the quantity of ``ZIm`` gives its sign convention (``-Z''``: capacitive
  values stored positive). Arrays of other lengths (currents and potentials of the whole
  run) are not part of the spectrum.

Non-impedance measurements (voltammetry...) are left out with a warning; a file without
an impedance curve is an error. Spectra carry ``meta["title"]`` (measurement and curve
titles), ``meta["start_time"]`` (ISO 8601, the instrument's local time) and
``meta["device_serial"]``; a curve titled ``CH <n>: ...`` gives ``meta["channel"]``, a
sub-scan titled ``E=<value> V`` gives ``meta["dc_potential_V"]``.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError, MissingColumnError, NoImpedanceDataError
from ..spectrum import Spectrum
from ._common import build_spectra, file_bytes, numbered_sweeps, suffix_of, sweeps_at_frequency_resets, warn
from .tabular import check_imag_sign, head_text

NAME = "palmsens"
NAMES = ["palmsens", "pssession"]
EXTENSIONS = [".pssession"]

SESSION_TYPE = "PalmSens.DataFiles.SessionFile"
_OHM_PREFIXES = {"": 1.0, "m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}
_TICKS_PER_MICROSECOND = 10
_TYPE_KEY = re.compile(r'"type"', re.IGNORECASE)
# the keys this reader reads, as PSTrace writes them; some sessions write every key in lower case
_KEYS = ("Type", "Measurements", "Title", "TimeStamp", "DeviceSerial", "DataSet", "EISDataList", "SubScans",
         "Values", "Description", "Unit", "S", "Q", "DataValues", "V")
_KEY_OF = {k.lower(): k for k in _KEYS}
_CHANNEL_TITLE = re.compile(r"^\s*CH\s*(\d+)\s*:", re.IGNORECASE)
_DC_TITLE = re.compile(r"^\s*E\s*=\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*V\s*$")


def sniff(head: bytes, path: Path) -> int:
    """95 for JSON naming a PalmSens session (the file is UTF-16; ``head`` may be that
    text already decoded to 8 bits, see :func:`eisfit.io._common.text_bytes`);
    60 for a .pssession file."""
    text = head_text(head).text  # raw UTF-16 (a cut last character replaced) or 8-bit
    if "PalmSens." in text and _TYPE_KEY.search(text):
        return 95
    return 60 if suffix_of(path) in EXTENSIONS else 0


def read(path: str | Path, *, imag_sign: str | None = None) -> list[Spectrum]:
    """Read every impedance curve of a PalmSens session (frequency Hz, Z ohm, Z'' < 0 capacitive).

    ``imag_sign``: "negative" or "positive" overrides the convention the file states for
    its ZIm array (stored Z'' or -Z''); "auto"/None follows the file.
    """
    p = Path(path)
    check_imag_sign(imag_sign, p)
    session = _load(p)
    measurements = session.get("Measurements")
    if not isinstance(measurements, list):
        raise CorruptFileError(p, "no 'Measurements' list in the session")
    out: list[Spectrum] = []
    skipped: list[str] = []
    for k, measurement in enumerate(measurements):
        if not isinstance(measurement, dict):
            raise CorruptFileError(p, f"measurement {k + 1} is not a JSON object")
        curves = _eis_curves(measurement)
        title = str(measurement.get("Title") or f"measurement {k + 1}")
        if not curves:
            skipped.append(title)
            continue
        meta = _measurement_meta(measurement)
        for curve_title, dataset, curve_meta in curves:
            out.extend(_spectra(p, dataset, {**meta, **curve_meta,
                                             "title": " / ".join(t for t in (title, curve_title) if t)}, imag_sign))
    if not out:
        raise NoImpedanceDataError(p, "no impedance data in this PalmSens session" + (
            f" (measurements: {', '.join(skipped)})" if skipped else ""))
    if skipped:
        warn(f"{p}: measurements without impedance data left out: {', '.join(skipped)}")
    return numbered_sweeps(out)


def _load(p: Path) -> dict[str, Any]:
    data = file_bytes(p)
    try:
        text = data[: len(data) // 2 * 2].decode("utf-16")  # an odd last byte: cut off (the JSON says so)
    except UnicodeDecodeError as exc:
        raise CorruptFileError(p, f"not UTF-16 text ({exc.reason}; truncated or damaged file)") from None
    text = text.strip("\ufeff\x00 \r\n\t")
    try:
        session = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptFileError(p, f"damaged session file: {exc.msg} at character {exc.pos} of {len(text)} "
                                  "(truncated?)") from None
    if isinstance(session, dict) and "Type" not in session:  # keys written in another case: PSTrace's spelling
        session = _canonical_keys(session)
    if not isinstance(session, dict) or "PalmSens" not in str(session.get("Type", "")):
        raise CorruptFileError(p, f"JSON but not a PalmSens session (Type {session.get('Type') if isinstance(session, dict) else None!r})")
    return session


def _canonical_keys(value: Any) -> Any:
    """``value`` (parsed JSON) with the keys this reader reads in PSTrace's spelling where
    a session writes them in another case (``measurements`` -> ``Measurements``)."""
    if isinstance(value, dict):
        return {(k if k in _KEYS else _KEY_OF.get(k.lower(), k)): _canonical_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical_keys(v) for v in value]
    return value


def _eis_curves(measurement: dict) -> list[tuple[str, dict, dict[str, Any]]]:
    """(title, data set, meta) of the impedance data of a measurement: the curves of its
    ``EISDataList`` (a curve's sub-scans each one) when they hold at least as many points as
    its own data set, else that data set (the measured points, several sweeps one after
    another) when it is an EIS data set with a frequency array. A multichannel scan's own
    data set holds one channel's points; its curves hold every channel's."""
    curves = [c for e in measurement.get("EISDataList") or [] if isinstance(e, dict) for c in _curve_and_subscans(e)]
    dataset = measurement.get("DataSet")
    own = _points(dataset) if isinstance(dataset, dict) and "EIS" in str(dataset.get("Type", "")) else 0
    if own and sum(_points(c[1]) for c in curves) < own:
        return [("", dataset, {})]
    return curves


def _curve_and_subscans(entry: dict) -> list[tuple[str, dict, dict[str, Any]]]:
    """(title, data set, meta) of an ``EISDataList`` curve: its data set, or each of its
    sub-scans' (titled ``<curve> / <sub-scan>``)."""
    title = str(entry.get("Title") or "")
    meta: dict[str, Any] = {}
    if (m := _CHANNEL_TITLE.match(title)) is not None:
        meta["channel"] = int(m.group(1))
    if isinstance(entry.get("DataSet"), dict):
        return [(title, entry["DataSet"], meta)]
    out = []
    for sub in entry.get("SubScans") or []:
        if isinstance(sub, dict) and isinstance(sub.get("DataSet"), dict):
            sub_title = str(sub.get("Title") or "")
            dc = _DC_TITLE.match(sub_title)
            out.append((" / ".join(t for t in (title, sub_title) if t), sub["DataSet"],
                        {**meta, **({"dc_potential_V": float(dc.group(1))} if dc else {})}))
    return out


def _points(dataset: dict) -> int:
    """The number of frequencies of a data set (0 without a frequency array)."""
    entry = _arrays(dataset).get("Frequency")
    return len(entry[1]) if entry is not None else 0


def _measurement_meta(measurement: dict) -> dict[str, Any]:
    meta: dict[str, Any] = {"software": "PSTrace"}
    ticks = measurement.get("TimeStamp")
    if isinstance(ticks, int) and ticks > 0:
        try:
            meta["start_time"] = (_dt.datetime(1, 1, 1) + _dt.timedelta(
                microseconds=ticks // _TICKS_PER_MICROSECOND)).isoformat()
        except OverflowError:
            pass
    if measurement.get("DeviceSerial"):
        meta["device_serial"] = str(measurement["DeviceSerial"])
    return meta


def _arrays(dataset: dict) -> dict[str, tuple[dict, list]]:
    """Description -> (unit, data values) of a data set's arrays."""
    out: dict[str, tuple[dict, list]] = {}
    values = dataset.get("Values")
    for array in values if isinstance(values, list) else []:
        if isinstance(array, dict) and isinstance(array.get("DataValues"), list):
            unit = array.get("Unit")
            out.setdefault(str(array.get("Description", "")), (unit if isinstance(unit, dict) else {},
                                                                array["DataValues"]))
    return out


def _values(p: Path, name: str, entry: tuple[dict, list]) -> np.ndarray:
    try:
        return np.array([v["V"] for v in entry[1]], dtype=float)
    except (KeyError, TypeError, ValueError):
        raise CorruptFileError(p, f"array {name!r}: a data value without a number") from None


def _ohm_scale(p: Path, name: str, unit: dict) -> float:
    symbol = str(unit.get("S", "\u03a9")).strip()
    for suffix in ("\u03a9", "\u2126", "Ohm", "ohm"):  # Greek capital omega, the ohm sign
        if symbol.endswith(suffix) and symbol[: -len(suffix)] in _OHM_PREFIXES:
            return _OHM_PREFIXES[symbol[: -len(suffix)]]
    raise CorruptFileError(p, f"array {name!r}: unit {symbol!r} is not an impedance unit")


def _spectra(p: Path, dataset: dict, meta: dict[str, Any], imag_sign: str | None) -> list[Spectrum]:
    arrays = _arrays(dataset)
    missing = [n for n in ("Frequency", "ZRe", "ZIm") if n not in arrays]
    if missing:
        raise MissingColumnError(p, f"impedance curve {meta['title']!r} without {', '.join(missing)} "
                                    f"(arrays: {', '.join(arrays) or 'none'})")
    f = _values(p, "Frequency", arrays["Frequency"])
    re_part = _values(p, "ZRe", arrays["ZRe"]) * _ohm_scale(p, "ZRe", arrays["ZRe"][0])
    unit_im = arrays["ZIm"][0]
    stored = _values(p, "ZIm", arrays["ZIm"]) * _ohm_scale(p, "ZIm", unit_im)
    if not (f.size == re_part.size == stored.size):
        raise CorruptFileError(p, f"curve {meta['title']!r}: Frequency, ZRe and ZIm have {f.size}, "
                                  f"{re_part.size} and {stored.size} values")
    states_minus = str(unit_im.get("Q", "")).strip().startswith("-")
    if imag_sign in ("negative", "positive"):
        positive, source = imag_sign == "positive", "option"
    else:
        positive, source = states_minus, "format"
    z = np.empty(f.size, dtype=complex)
    z.real, z.imag = re_part, -stored if positive else stored
    meta = {**meta, "format": NAME, "technique": "EIS", "imag_sign": "positive" if positive else "negative",
            "imag_sign_source": source}
    return build_spectra(p, f, z, meta, sweeps_at_frequency_resets(f, p))
