"""Text exports of other instruments: Autolab/NOVA, CH Instruments, Parstat, Solartron
PowerSuite, Princeton Applied Research VersaStudio (.par) and Maccor cyclers' AC impedance tests.

All of them are tables read by the engine in :mod:`eisfit.io.tabular`; what differs
per vendor is a content signature (for :func:`sniff`), a column map, the sign
convention of the imaginary column and where the metadata sit. Each vendor is
registered as its own small format module (``autolab``, ``chi`` (name ``ch``), ``parstat``,
``powersuite``, ``versastudio``, ``maccor``) so that ``read(path, format=NAME)`` forces it.
"""
from __future__ import annotations

import datetime as _dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import CorruptFileError
from ..spectrum import Spectrum
from ._common import numbered_sweeps, suffix_of
from .tabular import TableFormat, head_text, read_table_lines, text_lines

__all__ = ["Vendor", "AUTOLAB", "CHI", "PARSTAT", "POWERSUITE", "VERSASTUDIO", "MACCOR", "VENDORS"]


def _head_text(head: bytes) -> str:
    sniffed = head_text(head)
    return "" if sniffed.binary else sniffed.text


# JSON text: an object, or an array of values (not an INI section such as '[Main]')
_JSON_START = re.compile(r'^[\ufeff\s]*(?:\{|\[\s*(?:[\[{"\]\-0-9]|null|true|false))')


@functools.lru_cache(maxsize=2)  # several vendors' signatures look at the same head
def _first_nonblank(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


# ---------------------------------------------------------------------------
# metadata helpers
# ---------------------------------------------------------------------------
def _key_values(lines: list[str], sep: str) -> dict[str, str]:
    """``key sep value`` lines -> dict (first occurrence wins, keys stripped)."""
    out: dict[str, str] = {}
    for line in lines:
        if sep in line:
            key, _, value = line.partition(sep)
            out.setdefault(key.strip(), value.strip())
    return out


def _float(text: str | None) -> float | None:
    try:
        return float(str(text).split()[0])
    except (TypeError, ValueError, IndexError):
        return None


def _parse_time(text: str, formats: tuple[str, ...]) -> str | None:
    for fmt in formats:
        try:
            return _dt.datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    return None


def _chi_meta(preamble: list[str]) -> dict[str, Any]:
    """Date line (``Feb. 20, 2020   15:55:08``), instrument model, AC amplitude (V)."""
    kv = _key_values(preamble, "=")
    colon = _key_values(preamble, ":")
    meta: dict[str, Any] = {"technique": "PEIS", "software": "CH Instruments"}
    if preamble:
        date = re.sub(r"^(\w{3})\w*\.?", r"\1", " ".join(preamble[0].split()))
        meta["start_time"] = _parse_time(date, ("%b %d, %Y %H:%M:%S", "%d %b %Y %H:%M:%S"))
    meta["instrument"] = colon.get("Instrument Model")
    amp = _float(kv.get("Amplitude (V)"))
    if amp is not None:
        meta.update(ac_amplitude=amp, ac_amplitude_unit="V (peak or rms not stated)")
    e_init = _float(kv.get("Init E (V)"))
    if e_init is not None:
        meta["dc_potential_V"] = e_init
    return meta


def _versastudio_meta(lines: list[str]) -> dict[str, Any]:
    """Software version, instrument, acquisition date/time, electrode area, AC amplitude."""
    kv = _key_values([ln for ln in lines if not ln.startswith("<")], "=")
    meta: dict[str, Any] = {"technique": "PEIS", "software": "VersaStudio",
                            "software_version": kv.get("Version"), "instrument": kv.get("Type")}
    if "DateAcquired" in kv and "TimeAcquired" in kv:
        meta["start_time"] = _parse_time(f"{kv['DateAcquired']} {kv['TimeAcquired']}",
                                         ("%A, %B %d, %Y %I:%M:%S %p", "%m/%d/%Y %I:%M:%S %p"))
    area = _float(kv.get("Working Electrode Area (cm2)"))
    if area is not None:
        meta.update(area=area, area_unit="cm^2", area_cm2=area)
    amp = _float(kv.get("Amplitude (mV RMS)"))
    if amp is not None:
        meta.update(ac_amplitude=amp, ac_amplitude_unit="mV rms")
    return meta


# ---------------------------------------------------------------------------
# vendors
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Vendor:
    """One instrument export: signature, column map, sign convention, metadata."""

    name: str
    extensions: tuple[str, ...]
    signature: Callable[[str], int]  # head text -> confidence 0..100
    imag_sign: str | None  # file convention of the Z'' column; None = header/data decide
    column_map: Mapping[str, str]
    software: str
    preamble_meta: Callable[[list[str]], dict[str, Any]] | None = None  # lines before the header -> meta
    whole_file: Callable[..., list[Spectrum]] | None = None  # reader for non-tabular layouts
    aliases: tuple[str, ...] = ()

    def sniff(self, head: bytes, path: Path) -> int:
        """Content signature first; the extension adds 3, and alone gives 15 only when it is
        distinctive (.par), never for the generic .txt/.csv. JSON text is none of these
        exports, whatever column names it holds (a DataFrame of NOVA's names written with
        ``to_json``): 0."""
        text = _head_text(head)
        if _JSON_START.match(text):
            return 0
        score = self.signature(text)
        suffix = suffix_of(path)
        if suffix in self.extensions:
            if score:
                score = min(score + 3, 100)
            elif suffix not in (".txt", ".csv"):
                score = 15
        return score

    def table_format(self, technique: str = "PEIS") -> TableFormat:
        return TableFormat(name=self.name, imag_sign=self.imag_sign, column_map=self.column_map,
                           technique=technique)

    def read(self, path: Path | str, *, imag_sign: str | None = None,
             columns: Mapping[str, int | str] | None = None) -> list[Spectrum]:
        """Read the export: list of Spectrum (Hz, ohm, Z'' < 0 capacitive)."""
        p = Path(path)
        lines = text_lines(p)
        if self.whole_file is not None:
            return self.whole_file(p, lines, self, imag_sign, columns)
        meta: dict[str, Any] = {"software": self.software}
        if self.preamble_meta is not None:
            first = set(self.column_map)
            header_at = next((i for i, ln in enumerate(lines) if first & {f.strip() for f in ln.split(",")}), 0)
            meta.update(self.preamble_meta(lines[:header_at]))
        meta = {k: v for k, v in meta.items() if v is not None}
        return read_table_lines(p, lines, self.table_format(), meta, imag_sign=imag_sign, columns=columns)


def _autolab_signature(text: str) -> int:
    """NOVA exports: ``Frequency (Hz)`` with ``Z' (Ω)`` / ``-Z'' (Ω)`` (any separator) and
    one more of the columns NOVA writes beside them (``-Phase (°)``, ``Z (Ω)``, ``Time (s)``,
    ``Index``): the three alone are what anyone names such columns, and a hand-made CSV was
    reported as "software Metrohm Autolab NOVA" (the generic reader reads it the same)."""
    low = text.lower()
    if "frequency (hz)" in low and re.search(r"-z''\s*\((ω|Ω|ohm)", text, re.I) and (
            re.search(r"-phase\s*\(|(^|[;,\t])\s*z\s*\((ω|Ω|ohm)\)|time \(s\)|(^|[;,\t\n])index[;,\t]", low, re.M)):
        return 85
    return 0


def _chi_signature(text: str) -> int:
    if "A.C. Impedance" in text and "Freq/Hz" in text:
        return 95
    return 60 if "Instrument Model:  CHI" in text else 0


def _parstat_signature(text: str) -> int:
    first = _first_nonblank(text)
    return 90 if "Zre (ohms)" in first and "Zim (ohms)" in first else 0


def _powersuite_signature(text: str) -> int:
    first = [f.strip() for f in _first_nonblank(text).split("\t")]
    return 85 if first == ["Frequency", "Zre", "Zimg"] else 0


def _versastudio_signature(text: str) -> int:
    if "<Application>" in text and "VersaStudio" in text:
        return 95
    return 80 if re.search(r"<Segment\d+>", text) and "Definition=" in text else 0


AUTOLAB = Vendor("autolab", (".txt", ".csv"), _autolab_signature, None, {}, "Metrohm Autolab NOVA", aliases=("nova",))
CHI = Vendor("ch", (".txt",), _chi_signature, "negative",
             {"Freq/Hz": "frequency", "Z'/ohm": "real", 'Z"/ohm': "imag", "Z/ohm": "modulus",
              "Phase/deg": "phase"}, "CH Instruments", preamble_meta=_chi_meta,
             aliases=("chi", "chinstruments"))
PARSTAT = Vendor("parstat", (".txt",), _parstat_signature, "negative",
                 {"Frequency (Hz)": "frequency", "Zre (ohms)": "real", "Zim (ohms)": "imag"},
                 "Princeton Applied Research Parstat")
POWERSUITE = Vendor("powersuite", (".txt",), _powersuite_signature, "negative",
                    {"Frequency": "frequency", "Zre": "real", "Zimg": "imag"}, "Solartron PowerSuite", aliases=("solartron",))
VERSASTUDIO = Vendor("versastudio", (".par",), _versastudio_signature, "negative",
                     {"Frequency(Hz)": "frequency", "Z Real": "real", "Z Imag": "imag",
                      "Segment #": "sweep"}, "VersaStudio",
                     whole_file=lambda *args: _read_versastudio(*args))
MACCOR = Vendor("maccor", (), lambda text: _maccor_signature(text), "negative",
                {"Freq(Hz)": "frequency", "Z'(a)": "real", "Z''(b)": "imag"}, "Maccor",
                whole_file=lambda *args: _read_maccor(*args))
VENDORS = (AUTOLAB, CHI, PARSTAT, POWERSUITE, VERSASTUDIO, MACCOR)


def _maccor_signature(text: str) -> int:
    """A Maccor cycler's AC impedance test export: its first line names MACCOR and an AC
    impedance test (``MACCOR, INC.    AC Impedance Test``)."""
    first = _first_nonblank(text).upper()
    return 95 if first.startswith("MACCOR") and "IMPEDANCE" in first else 0


_MACCOR_HEADER = "Freq(Hz)"
_MACCOR_START = re.compile(r"Start Date:\s*(.+?)\s+Start Time:\s*(\d{1,2}:\d{2}(?::\d{2})?)")


def _read_maccor(path: Path, lines: list[str], vendor: Vendor, imag_sign: str | None,
                 columns: Mapping[str, int | str] | None) -> list[Spectrum]:
    """The table under the tab-separated ``Freq(Hz)`` header line (Z' and Z'' in ``Z'(a)``
    and ``Z''(b)``, ohm, Z'' < 0 capacitive; ``Polar(V)`` holds omega = 2 pi f, not read as
    either). The header names more columns than the rows hold (24 names over 13 cells, four
    of them empty in the public sample, TRI-AMDD/beep): the rows' cells take the first names,
    which the table engine alone had refused as a header that does not split into one name per
    column. ``Start Date: ... Start Time: ...`` gives the start time."""
    header_at = next((i for i, ln in enumerate(lines) if ln.split("\t")[0].strip() == _MACCOR_HEADER), None)
    if header_at is None:
        raise CorruptFileError(path, f"Maccor AC impedance export without its {_MACCOR_HEADER!r} header line")
    names = [n.strip() for n in lines[header_at].rstrip("\r\n").split("\t")]
    rows = [(i, ln) for i, ln in enumerate(lines[header_at + 1:], header_at + 1) if ln.strip()]
    width = max((len(ln.rstrip("\r\n").split("\t")) for _, ln in rows), default=0)
    if not rows or width > len(names):
        raise CorruptFileError(path, f"Maccor AC impedance export: {len(rows)} data rows of up to {width} cells "
                                     f"under a header of {len(names)} names")
    meta: dict[str, Any] = {"software": vendor.software, "technique": "PEIS"}
    start = next((m for m in map(_MACCOR_START.search, lines[:header_at]) if m), None)
    if start is not None:
        meta["start_time"] = _parse_time(f"{start.group(1)} {start.group(2)}",
                                         ("%A, %B %d, %Y %H:%M", "%A, %B %d, %Y %H:%M:%S", "%m/%d/%Y %H:%M",
                                          "%m/%d/%Y %H:%M:%S"))
    meta = {k: v for k, v in meta.items() if v is not None}
    return read_table_lines(path, [ln for _, ln in rows], vendor.table_format(), meta, names=names[:width],
                            delimiter="\t", imag_sign=imag_sign, columns=columns, first_line_number=rows[0][0] + 1)


def _read_versastudio(path: Path, lines: list[str], vendor: Vendor, imag_sign: str | None,
                      columns: Mapping[str, int | str] | None) -> list[Spectrum]:
    """Every ``<SegmentN>`` whose ``Definition=`` names a ``Frequency(Hz)`` column."""
    meta = {k: v for k, v in _versastudio_meta(lines).items() if v is not None}
    spectra: list[Spectrum] = []
    i = 0
    while i < len(lines):
        m = re.match(r"<Segment(\d+)>", lines[i].strip())
        if not m:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == f"</Segment{m.group(1)}>"),
                   len(lines))
        definition = next((j for j in range(i + 1, end) if lines[j].startswith("Definition=")), None)
        if definition is not None and "Frequency(Hz)" in lines[definition]:
            names = [n.strip() for n in lines[definition].partition("=")[2].split(",")]
            spectra.extend(read_table_lines(
                path, lines[definition + 1:end], vendor.table_format(), {**meta, "segment": int(m.group(1))},
                names=names, delimiter=",", imag_sign=imag_sign, columns=columns,
                first_line_number=definition + 2))
        i = end + 1
    if not spectra:
        raise CorruptFileError(path, "no <Segment> with a Frequency(Hz) column (not an impedance measurement)")
    return numbered_sweeps(spectra)
