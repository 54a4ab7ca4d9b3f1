"""Write spectra to CSV or JSON with unit-suffixed columns (what ``eisfit convert`` does).

CSV layout: ``# eisfit export`` comment lines (one JSON meta line per sweep), then a
header ``frequency_Hz,z_real_ohm,z_imag_ohm,z_modulus_ohm,phase_deg,sweep[,extra...]``
and one row per point, values with 17 significant digits so that ``eisfit.read`` gives
the same numbers back. ``z_imag_ohm`` is Z'' with capacitive values negative.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import ReadError
from .._json import to_jsonable
from ..spectrum import Spectrum

__all__ = ["write_csv", "write_json", "EXPORT_COLUMNS", "META_PREFIX"]

EXPORT_COLUMNS = ("frequency_Hz", "z_real_ohm", "z_imag_ohm", "z_modulus_ohm", "phase_deg", "sweep")
MAGIC = "# eisfit export"
JSON_KEY = "eisfit_export"  # the key that marks an eisfit JSON export
META_PREFIX = "# meta "
_SKIP_META = ("sweep", "n_sweeps")


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
        raise ValueError("nothing to write: no spectra")
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
    out = Path(path)
    lines = [MAGIC]
    for k, s in enumerate(items):
        meta = {key: v for key, v in s.meta.items() if key not in _SKIP_META}
        lines.append(f"{META_PREFIX}{k} {json.dumps(to_jsonable(meta), ensure_ascii=False)}")
    header = list(EXPORT_COLUMNS) + [name.replace(",", ";") for name in extras]
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
    """Write spectra to JSON: ``{"eisfit_export": 1, "spectra": [{"meta": {...},
    "frequency_Hz": [...], "z_real_ohm": [...], "z_imag_ohm": [...], "z_modulus_ohm": [...],
    "phase_deg": [...], "columns": {name: [...]}}]}``; returns the path."""
    items = _as_list(spectra)
    doc = {JSON_KEY: 1, "spectra": []}
    for k, s in enumerate(items):
        doc["spectra"].append({
            "sweep": k,
            "meta": to_jsonable(dict(s.meta)),
            "frequency_Hz": s.frequency.tolist(),
            "z_real_ohm": s.z.real.tolist(),
            "z_imag_ohm": s.z.imag.tolist(),
            "z_modulus_ohm": s.modulus.tolist(),
            "phase_deg": s.phase_deg.tolist(),
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
