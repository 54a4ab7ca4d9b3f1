"""Gamry Framework ``.DTA`` files (potentiostatic / galvanostatic EIS).

Layout: ``EXPLAIN`` then ``TAG EISPOT|GALVEIS``, one parameter per line
(``NAME<TAB>TYPE<TAB>value<TAB>...``), then tables. The impedance table starts at
``ZCURVE<TAB>TABLE``, followed by a names row (``Pt Time Freq Zreal Zimag Zsig Zmod
Zphz Idc Vdc IERange``), a units row and tab-indented data rows; it ends at the first
line that is not tab-indented (``EXPERIMENTABORTED`` when the run was stopped early).
``Zimag`` is signed (negative for capacitive behaviour).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError, NoImpedanceDataError
from ..spectrum import Spectrum
from ._clock import parse_clock_times
from ._common import checked_point_count, suffix_of, warn
from .tabular import TableFormat, read_table_lines, read_text

NAME = "gamry"
EXTENSIONS = [".dta"]

_TECHNIQUES = {"EISPOT": "PEIS", "GALVEIS": "GEIS", "EISMON": "PEIS"}
COLUMN_MAP = {"Freq": "frequency", "Zreal": "real", "Zimag": "imag", "Zmod": "modulus", "Zphz": "phase"}


def sniff(head: bytes, path: Path) -> int:
    """95 for ``EXPLAIN``/``TAG`` files with an EIS tag or a ZCURVE table; 20 for a bare .dta."""
    text = head[:4096].decode("latin-1", errors="replace")
    if text.lstrip().startswith("EXPLAIN") and ("TAG\tEIS" in text or "TAG\tGALVEIS" in text or "ZCURVE" in text):
        return 95
    if text.lstrip().startswith("EXPLAIN") and "\nTAG\t" in text:
        return 60
    return 20 if suffix_of(path) in EXTENSIONS else 0


def _parameters(lines: list[str]) -> dict[str, list[str]]:
    """``NAME -> [TYPE, value, ...]`` of the parameter lines before the first table."""
    params: dict[str, list[str]] = {}
    for line in lines:
        if not line or line[0] in "\t ":
            continue
        fields = line.split("\t")
        params.setdefault(fields[0].strip(), [f.strip() for f in fields[1:]])
    return params


def _number(params: dict[str, list[str]], key: str) -> float | None:
    """The value of a QUANT line, with a decimal point or (a Framework on a European
    Windows locale) a decimal comma; None when absent or not a number."""
    try:
        return float(params[key][1].replace(",", "."))
    except (KeyError, IndexError, ValueError):
        return None


def _start_time(params: dict[str, list[str]], p: Path) -> str | None:
    """ISO 8601 start from ``DATE`` and ``TIME``. The order of a slash date (Gamry writes m/d/yyyy
    on a US Windows, d/m/yyyy elsewhere) is read from the dates of the file (DATE and the
    calibration dates DCCALDATE, ACCALDATE, written in the same order): a first number above
    12 says day first, a second one month first; where none tells (5/4/2018), month first with
    a warning (the start time orders a campaign's checkpoints). Dot dates are day first."""
    try:
        date, time = params["DATE"][1], params["TIME"][1]
    except (KeyError, IndexError):
        return None
    calibration = [params[k][1] for k in ("DCCALDATE", "ACCALDATE") if len(params.get(k, [])) > 1]
    clock = (parse_clock_times([f"{date} {time}"] + [f"{d} 00:00:00" for d in calibration])
             or parse_clock_times([f"{date} {time}"]))
    if clock is None:
        warn(f"{p.name}: Gamry DATE/TIME {date!r} {time!r} not understood; start_time left empty")
        return None
    start = clock.moments[0].isoformat()
    if clock.note and "." not in date:  # a dot date is day first wherever it is written
        warn(f"{p.name}: DATE {date} is ambiguous (day and month both 12 or less, and no date in the file tells "
             f"their order): read month first, start_time {start}")
    return start


def metadata(params: dict[str, list[str]], p: Path) -> dict[str, Any]:
    """Technique, start time, area (cm^2), AC amplitude (mV rms), DC voltage, EOC, versions."""
    tag = params.get("TAG", ["?"])[0]
    meta: dict[str, Any] = {
        "technique": _TECHNIQUES.get(tag, tag),
        "title": (params.get("TITLE") or ["", ""])[1] if len(params.get("TITLE", [])) > 1 else None,
        "start_time": _start_time(params, p),
        "instrument": (params.get("PSTAT") or ["", None])[1] if len(params.get("PSTAT", [])) > 1 else None,
    }
    area = _number(params, "AREA")
    if area is not None:
        meta.update(area=area, area_unit="cm^2", area_cm2=area)
    vac = _number(params, "VAC")
    if vac is not None:
        meta.update(ac_amplitude=vac, ac_amplitude_unit="mV rms")
    for key, name in (("VDC", "dc_potential_V"), ("EOC", "eoc_V")):
        value = _number(params, key)
        if value is not None:
            meta[name] = value
    version = params.get("FRAMEWORKVERSION")
    if version and len(version) > 1:
        meta["software"] = "Gamry Framework"
        meta["software_version"] = version[1]
    return {k: v for k, v in meta.items() if v is not None}


def read(path: Path | str, *, imag_sign: str | None = None) -> list[Spectrum]:
    """Read the ZCURVE table of a Gamry .DTA file.

    Returns one Spectrum (frequency Hz, Z ohm, Z'' < 0 capacitive); ``meta`` holds
    technique (PEIS/GEIS), ``start_time`` (ISO), ``area`` (cm^2), ``ac_amplitude``
    (mV rms), ``aborted`` (True when EXPERIMENTABORTED truncated the run).
    """
    p = Path(path)
    lines, ends_with_line_end = read_text(p)
    start = next((i for i, ln in enumerate(lines) if [f.strip() for f in ln.split("\t")[:2]] == ["ZCURVE", "TABLE"]),
                 None)
    if start is None:
        tag = next((ln.split("\t")[1].strip() for ln in lines[:50] if ln.startswith("TAG\t") and "\t" in ln), "")
        if tag and "EIS" not in tag.upper():  # CV, CHRONOA, CORPOT...: another technique
            raise NoImpedanceDataError(p, f"no impedance data (Gamry {tag}): no ZCURVE table")
        raise CorruptFileError(p, "no ZCURVE table (not an impedance measurement, or truncated before the data)")
    stop = start + 3
    while stop < len(lines) and lines[stop][:1] in ("\t", " "):
        stop += 1
    params = _parameters(lines[:start] + lines[stop:])
    names = lines[start + 1].strip().split("\t") if start + 1 < len(lines) else []
    if "Freq" not in names:
        raise CorruptFileError(p, f"line {start + 2}: ZCURVE names row lacks 'Freq': {names}")
    meta = metadata(params, p)
    more = [i for i in range(stop, len(lines)) if [f.strip() for f in lines[i].split("\t")[:2]] == ["ZCURVE", "TABLE"]]
    if more:  # a Gamry file holds one run; two joined into one file are not read as two
        warn(f"{p.name}: {len(more)} more ZCURVE table(s) from line {more[0] + 1} on are not read (one run per "
             "file: split the file to read them)")
    aborted = any(ln.startswith("EXPERIMENTABORTED") for ln in lines[stop:])
    meta["aborted"] = aborted
    if aborted:
        warn(f"{p.name}: experiment was aborted; reading the {stop - start - 3} points recorded")
    fmt = TableFormat(name=NAME, imag_sign="negative", column_map=COLUMN_MAP, technique=meta["technique"])
    spectra = read_table_lines(
        p, lines[start + 3:stop], fmt, meta, names=names, delimiter="\t",
        imag_sign=imag_sign, first_line_number=start + 4,
        last_line_complete=ends_with_line_end or stop < len(lines),  # a row cut off at the end is dropped
    )
    spectra = checked_point_count(p, spectra, _table_count(lines[start]), "the ZCURVE TABLE line")
    if not aborted:
        _warn_sweep_short_of_its_header(p, spectra, params)
    return spectra


def _table_count(line: str) -> int | None:
    """The row count a ``NAME<TAB>TABLE<TAB>count`` line gives (``OCVCURVE TABLE 387``), else None."""
    fields = [f.strip() for f in line.split("\t")]
    return int(fields[2]) if len(fields) > 2 and fields[2].isdigit() else None


SHORT_OF_FINAL_STEPS = 1.5  # the last point this many steps (1/PTSPERDEC decade) short of FREQFINAL: cut short


def _warn_sweep_short_of_its_header(p: Path, spectra: list[Spectrum], params: dict[str, list[str]]) -> None:
    """A ReadWarning when the sweep stops short of the final frequency the header sets
    (FREQINIT to FREQFINAL at PTSPERDEC points per decade) by more than
    ``SHORT_OF_FINAL_STEPS`` steps and the file does not say it was aborted: a file cut
    at a line end (copied during the measurement, damaged) reads as a complete, shorter sweep;
    and one when it starts that far after the initial frequency (its first rows taken out:
    a real file's table began at point 4, 39.9 kHz, after a FREQINIT of 100 kHz)."""
    initial, final = _number(params, "FREQINIT"), _number(params, "FREQFINAL")
    per_decade = _number(params, "PTSPERDEC") or 10.0
    if not spectra or not initial or not final or initial == final or per_decade <= 0:
        return
    last = float(spectra[-1].frequency[-1])
    direction = 1.0 if initial > final else -1.0
    short_decades = np.log10(last / final) * direction
    if short_decades * per_decade > SHORT_OF_FINAL_STEPS:
        missing = int(round(short_decades * per_decade))
        warn(f"{p.name}: the sweep stops at {last:g} Hz, about {missing} point(s) short of the final frequency "
             f"{final:g} Hz the header sets (FREQFINAL), and the file does not say it was aborted: a truncated "
             "file? The points present are read")
    first = float(spectra[0].frequency[0])
    late_decades = np.log10(initial / first) * direction  # the first row after FREQINIT: rows taken out
    if late_decades * per_decade > SHORT_OF_FINAL_STEPS:
        missing = int(round(late_decades * per_decade))
        warn(f"{p.name}: the sweep starts at {first:g} Hz, about {missing} point(s) after the initial frequency "
             f"{initial:g} Hz the header sets (FREQINIT): its first rows are not in the file (an edited file?). "
             "The points present are read")
