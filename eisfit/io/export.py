"""Write spectra to CSV or JSON with unit-suffixed columns (what ``eisfit convert`` does),
and read the JSON export back (the CSV export is read by the table reader).

CSV layout: ``# eisfit export`` comment lines (the sign convention, one JSON meta line per
sweep), then a header ``frequency_Hz,z_real_ohm,z_imag_ohm,z_modulus_ohm,phase_deg,sweep[,extra...]``
and one row per point, values with 17 significant digits so that ``eisfit.read`` gives
the same numbers back. ``z_imag_ohm`` is Z'' with capacitive values negative; both
exports say so in the file (``CONVENTION``).

As a format module (:mod:`eisfit.io`): ``NAME`` ``eisfit-json``, :func:`sniff` and
:func:`read` for the JSON export.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import DataError, ReadError
from ._common import build_spectra
from .._json import to_jsonable
from ..spectrum import AREA_SPECIFIC_UNIT, Spectrum

__all__ = ["write_csv", "write_json", "read", "sniff", "restored_meta", "EXPORT_COLUMNS", "META_PREFIX",
           "CONVENTION"]

NAME = "eisfit-json"
EXTENSIONS = ("json",)
EXPORT_COLUMNS = ("frequency_Hz", "z_real_ohm", "z_imag_ohm", "z_modulus_ohm", "phase_deg", "sweep")
MAGIC = "# eisfit export"
JSON_KEY = "eisfit_export"  # the key that marks an eisfit JSON export
META_PREFIX = "# meta "
CONVENTION = ("z_imag_ohm is Z'' in ohm, negative for capacitive behaviour; "
              "phase_deg = arg(Z) in degrees; frequency_Hz in Hz")
# spectra read per area (Spectrum.area_specific) are written with their unit in the names
PER_AREA_COLUMNS = tuple(c.replace("_ohm", "_ohm_cm2") for c in EXPORT_COLUMNS)
PER_AREA_CONVENTION = CONVENTION.replace("z_imag_ohm is Z'' in ohm", "z_imag_ohm_cm2 is Z'' in ohm*cm2 (per area)")


def _columns_and_convention(spectra: Sequence[Spectrum]) -> tuple[tuple[str, ...], str]:
    """The point columns and convention line of an export: ohm, or ohm*cm2 when the spectra
    were read per area (all of them: one header cannot say both)."""
    per_area = [s.area_specific for s in spectra]
    if any(per_area) and not all(per_area):
        raise DataError("cannot write spectra in ohm and spectra per area (ohm*cm2) under one header: "
                        "divide the latter by the electrode area first (Spectrum.in_ohm)")
    return (PER_AREA_COLUMNS, PER_AREA_CONVENTION) if all(per_area) else (EXPORT_COLUMNS, CONVENTION)
_SKIP_META = ("sweep", "n_sweeps")
# meta keys that describe a reading, not the measurement: never taken back from an export's meta
READER_META = frozenset({
    "source", "format", "sweep", "n_sweeps", "columns_detected", "delimiter", "decimal", "header_line",
    "imag_sign", "imag_sign_source", "imag_sign_detected", "imag_sign_rule", "columns_rule", "columns_alternative",
    "axis_columns"})


def _extra_columns(spectra: Sequence[Spectrum]) -> list[str]:
    """Extra per-point columns present, numeric and finite in every spectrum."""
    names: list[str] = []
    for name in spectra[0].columns:
        ok = True
        for s in spectra:
            col = s.columns.get(name)
            if col is None or col.dtype.kind not in "biuf" or not np.all(np.isfinite(col.astype(float))):
                ok = False
                break
        if ok and name not in EXPORT_COLUMNS:
            names.append(name)
    return names


def _as_list(spectra: Spectrum | Iterable[Spectrum]) -> list[Spectrum]:
    items = [spectra] if isinstance(spectra, Spectrum) else list(spectra)
    if not items:
        raise DataError("nothing to write: no spectra")
    return items


def _point_table(s: Spectrum, k: int, extras: Sequence[str]) -> np.ndarray:
    cols = [s.frequency, s.z.real, s.z.imag, s.modulus, s.phase_deg, np.full(len(s), k, dtype=float)]
    cols += [s.columns[name].astype(float) for name in extras]
    return np.column_stack(cols)


def write_csv(spectra: Spectrum | Iterable[Spectrum], path: str | Path) -> Path:
    """Write spectra to one CSV file (comma-separated, '.' decimal); returns the path.

    Columns: frequency_Hz, z_real_ohm, z_imag_ohm (Z'' < 0 capacitive), z_modulus_ohm,
    phase_deg, sweep (0-based index in this file), then extra numeric columns common to
    all spectra. Each spectrum's meta is stored as one ``# meta <k> {json}`` line.
    """
    items = _as_list(spectra)
    extras = _extra_columns(items)
    point_columns, convention = _columns_and_convention(items)
    out = Path(path)
    lines = [MAGIC, f"# convention: {convention}"]
    for k, s in enumerate(items):
        meta = {key: v for key, v in s.meta.items() if key not in _SKIP_META}
        lines.append(f"{META_PREFIX}{k} {json.dumps(to_jsonable(meta), ensure_ascii=False)}")
    header = list(point_columns) + [name.replace(",", ";") for name in extras]
    lines.append(",".join(header))
    for k, s in enumerate(items):
        for row in _point_table(s, k, extras):
            lines.append(",".join(_number(v) for v in row))
    try:
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ReadError(out, f"cannot write: {exc.strerror or exc}") from None
    return out


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def write_json(spectra: Spectrum | Iterable[Spectrum], path: str | Path) -> Path:
    """Write spectra to JSON: ``{"eisfit_export": 1, "convention": CONVENTION, "spectra":
    [{"meta": {...}, "frequency_Hz": [...], "z_real_ohm": [...], "z_imag_ohm": [...],
    "z_modulus_ohm": [...], "phase_deg": [...], "columns": {name: [...]}}]}``; returns the
    path. :func:`eisfit.read` reads it back."""
    items = _as_list(spectra)
    point_columns, convention = _columns_and_convention(items)
    f_key, re_key, im_key, mod_key, phase_key = point_columns[:5]
    doc = {JSON_KEY: 1, "convention": convention, "spectra": []}
    for k, s in enumerate(items):
        doc["spectra"].append({
            "sweep": k,
            "meta": to_jsonable(dict(s.meta)),
            f_key: s.frequency.tolist(),
            re_key: s.z.real.tolist(),
            im_key: s.z.imag.tolist(),
            mod_key: s.modulus.tolist(),
            phase_key: s.phase_deg.tolist(),
            "columns": to_jsonable({name: col for name, col in s.columns.items()}),
        })
    out = Path(path)
    try:
        out.write_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise ReadError(out, f"cannot write: {exc}") from None
    return out


def is_export(path: str | Path) -> bool:
    """Whether ``path`` is a file :func:`write_csv` or :func:`write_json` wrote."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(64)
    except OSError:
        return False
    return head.startswith(MAGIC.encode()) or f'"{JSON_KEY}"'.encode() in head


def restored_meta(stored: dict[str, Any]) -> dict[str, Any]:
    """The meta an export stored for a sweep, as the reader gives it back: the original
    ``source``/``format`` become ``original_source``/``original_format``, and what
    describes a reading (:data:`READER_META`) is left to the new reading."""
    original = dict(stored)
    for key in ("source", "format"):
        if key in original:
            original[f"original_{key}"] = original.pop(key)
    return {k: v for k, v in original.items() if k not in READER_META}


def sniff(head: bytes, path: Path) -> int:
    """Confidence that the file is an eisfit JSON export (:func:`write_json`)."""
    return 95 if head.lstrip().startswith(b"{") and f'"{JSON_KEY}"'.encode() in head else 0


def read(path: Path, **options: Any) -> list[Spectrum]:
    """Spectra of an eisfit JSON export (:func:`write_json`), with their stored meta and
    extra columns; ``ReadError`` naming the file and the problem when it is damaged."""
    if options:
        raise ReadError(path, f"the {NAME} reader takes no options (got {', '.join(sorted(options))})")
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ReadError(p, f"not a readable eisfit JSON export: {exc}") from None
    if not isinstance(doc, dict) or doc.get(JSON_KEY) != 1 or not isinstance(doc.get("spectra"), list):
        raise ReadError(p, f"not an eisfit JSON export (no {JSON_KEY!r}: 1 with a 'spectra' list)")
    out: list[Spectrum] = []
    for k, item in enumerate(doc["spectra"]):
        where = f"spectrum {k}"
        if not isinstance(item, dict):
            raise ReadError(p, f"{where} is not an object")
        meta, columns = item.get("meta") or {}, item.get("columns") or {}
        if not isinstance(meta, dict) or not isinstance(columns, dict):
            raise ReadError(p, f"{where}: 'meta' and 'columns' must be objects")
        keys = ("frequency_Hz", "z_real_ohm_cm2", "z_imag_ohm_cm2") if "z_real_ohm_cm2" in item else \
            ("frequency_Hz", "z_real_ohm", "z_imag_ohm")
        try:
            f, z_real, z_imag = (np.asarray(item[key], dtype=float) for key in keys)
            columns = {str(name): np.asarray(v) for name, v in columns.items()}
        except KeyError as exc:
            raise ReadError(p, f"{where} has no {exc.args[0]!r} array") from None
        except (TypeError, ValueError) as exc:
            raise ReadError(p, f"{where}: arrays not numeric ({exc})") from None
        if f.ndim != 1 or any(np.shape(v) != f.shape for v in (z_real, z_imag, *columns.values())):
            raise ReadError(p, f"{where}: frequency_Hz, z_real_ohm, z_imag_ohm and columns differ in length")
        try:  # the checks every reader shares (plausible ranges, repeated frequencies, finite values)
            unit = {"impedance_unit": AREA_SPECIFIC_UNIT} if keys[1].endswith("_cm2") else {}
            out += build_spectra(p, f, z_real + 1j * z_imag, {**restored_meta(meta), **unit, "format": NAME},
                                 [np.arange(f.size)], columns,
                                 sweep_meta=[{"sweep": k, "n_sweeps": len(doc["spectra"])}])
        except ReadError as exc:  # it numbers the sweeps of one call: name the spectrum of the file
            raise type(exc)(p, f"{where}: {exc.reason.removeprefix('sweep 0: ')}") from None
    return out
