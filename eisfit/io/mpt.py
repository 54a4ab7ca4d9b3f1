"""BioLogic EC-Lab / BT-Lab ASCII exports (``.mpt``).

A header block (``EC-Lab ASCII FILE`` / ``Nb header lines : N``; the label
line is line N), or no header at all, then tab-separated rows. Decimal commas,
CRLF or LF line ends and Windows-1252 text all occur. See
``shared/realdata/mpr/FORMAT.md`` section 3.
"""
from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError, MissingColumnError, NoImpedanceDataError, ReadError
from ..spectrum import Spectrum
from . import _biologic as bl
from . import tabular
from ._clock import parse_clock_times
from ._common import build_spectra, float_or_none, read_text_bytes, split_lines, text_bytes, warn

NAME = "mpt"
NAMES = ["mpt", "biologic-mpt"]  # the second is the name meta["format"] and `eisfit info` show
EXTENSIONS = [".mpt"]
FORMAT = "biologic-mpt"

MAGICS = (b"EC-Lab ASCII FILE", b"BT-Lab ASCII FILE")
# the files EC-Lab and BT-Lab write beside each run's .mpr: its log (.mpl) and settings (.mps)
_COMPANION = re.compile(r"^\s*(EC|BT)-Lab\s+(LOG|SETTINGS?)\s+FILE", re.IGNORECASE)
_COMPANION_KIND = {"LOG": "log file (.mpl)", "SETTING": "settings file (.mps)", "SETTINGS": "settings file (.mps)"}
LABEL_HINTS = (b"freq/Hz", b"Re(Z)/Ohm", b"-Im(Z)/Ohm", b"|Z|/Ohm")
# lines searched for a label line in exports without a header block
HEADERLESS_SEARCH_LINES = 20
# the columns a spectrum is read from: a cut value in one of them is a wrong point
_SPECTRUM_COLUMNS = (bl.FREQ, bl.RE_Z, bl.MINUS_IM_Z, bl.MOD_Z, bl.PHASE_Z, bl.TIME, *bl.SWEEP_COUNTERS)

_NB_HEADER = re.compile(r"Nb header lines\s*:\s*(\d+)")
_STARTED = re.compile(r"Acquisition started on\s*:\s*(.+)")
_AREA = re.compile(r"Electrode surface area\s*:\s*([-+0-9.,Ee]+)\s*(cm|mm)[²2]")
_CHANNEL = re.compile(r"Run on channel\s*:\s*(\d+)(?:\s*\(SN\s*([^)\s]+)\s*\))?")
_SOFTWARE = re.compile(r"(EC-Lab|BT-Lab)\s+for windows\s+v\s*([0-9][0-9.]*)", re.IGNORECASE)
# 'Text export' block: 'Time format : Elapsed' writes time/s as seconds since the acquisition
# start; 'Absolute MMDDYYYY' (and the day-first variant) writes a date and clock time there
_TIME_FORMAT = re.compile(r"^\s*Time format\s*:\s*(.+?)\s*$")
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d")
_START_FORMATS = ("%m/%d/%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M:%S",
                  "%m.%d.%Y %H:%M:%S.%f", "%m.%d.%Y %H:%M:%S",
                  "%m-%d-%Y %H:%M:%S.%f", "%m-%d-%Y %H:%M:%S")


def sniff(head: bytes, path: Path) -> int:
    """Confidence 0..100 that ``head`` starts a BioLogic .mpt export (or the log or settings
    file of a run, which :func:`read` names)."""
    if head.lstrip().startswith(MAGICS) or _COMPANION.match(text_bytes(head[:256]).decode("latin-1")):
        return 100
    is_mpt = str(path).lower().endswith(".mpt")
    for line in head.splitlines()[:HEADERLESS_SEARCH_LINES]:
        if b"\t" in line and any(h in line for h in LABEL_HINTS):
            if is_mpt:
                return 90
            # another extension: EC-Lab's own frequency label, else a table that only borrows
            # its unit notation ('f/Hz', '|Z|/Ohm'), which the table reader reads
            return 70 if b"freq/Hz" in line else 20
    return 10 if is_mpt else 0


def read(path: str | Path, **options: Any) -> list[Spectrum]:
    """Read every impedance sweep of a BioLogic ``.mpt`` text export.

    Returns one :class:`Spectrum` per sweep (frequency in Hz, Z in ohm with
    Z'' < 0 capacitive). Raises a :class:`~eisfit.ReadError` subclass naming
    the file on any malformed input.
    """
    if options:
        raise ReadError(path, f"the mpt reader takes no options (got {', '.join(options)})")
    p = Path(path)
    lines, ends_with_line_end = _decode_lines(p)
    blank = next(i for i, line in enumerate(lines) if line.strip())  # blank lines before the header
    lines = lines[blank:]
    _refuse_companion(lines[0], p)
    label_at = _label_line_index(lines, p, blank)
    header = lines[:label_at]
    labels = lines[label_at].split("\t")
    exported = bool(header) and header[0].lstrip().encode("latin-1", "replace").startswith(MAGICS)
    if not exported and p.suffix.lower() != ".mpt" and not bl.names_impedance(labels):
        # a table that only borrows EC-Lab's 'freq/Hz' (over "Z', Ohm"), after notes or not
        return tabular.read(p)
    rows = [ln for ln in lines[label_at + 1:] if ln.strip()]
    if not rows:
        raise ReadError(p, "no data rows after the column labels")
    if not ends_with_line_end:
        rows = _without_cut_last_row(rows, labels, p, blank + label_at + 1 + len(rows))
    first_line_no = blank + label_at + 2  # the file's line number of the first data row
    columns, time_texts = _parse_columns(labels, rows, first_line_no, p, header)
    frequency = columns[bl.FREQ]
    z = bl.impedance_from_columns(columns)
    if z is None:
        raise _no_impedance(header, p, "need Re(Z)/Ohm and -Im(Z)/Ohm, or |Z|/Ohm and Phase(Z)/deg")

    meta = _header_meta(header, p)
    sweeps = bl.sweep_indices(frequency, columns, path=p)
    if not sweeps:
        raise ReadError(p, "no impedance points (every row has freq/Hz = 0)")
    bl.check_values(frequency, z, sweeps, p, lambda row: f"line {first_line_no + row}")
    start = _dt.datetime.fromisoformat(meta["start_time"]) if meta["start_time"] else None
    time_format = _time_format(header)
    if time_texts is not None:  # an 'Absolute' time export: dates and clock times in time/s
        elapsed, start = _elapsed_from_clock_times(time_texts, time_format, start, p)
        if elapsed is not None:
            columns[bl.TIME] = elapsed
    elif bl.TIME in columns and time_format and not time_format.lower().startswith("elapsed"):
        # numbers, but the header says they are not seconds since the start: no sweep times
        warn(f"{p.name}: time/s holds numbers but the header's time format is {time_format!r}, "
             "not elapsed seconds: the time column is left out")
        del columns[bl.TIME]
    extra = {k: v for k, v in columns.items() if k not in bl.FOLDED_COLUMNS}
    per_sweep = bl.sweep_start_times(start, columns.get(bl.TIME), sweeps)
    return build_spectra(p, frequency, z, meta, sweeps, extra, per_sweep)


# -- text and layout ------------------------------------------------------------
def _refuse_companion(first_line: str, p: Path) -> None:
    """NoImpedanceDataError where the file's first line says it is the log (.mpl) or settings
    (.mps) file of an EC-Lab or BT-Lab run: text about the run, none of its points (a folder
    campaign leaves them out)."""
    m = _COMPANION.match(first_line)
    if m is not None:
        kind = _COMPANION_KIND[m.group(2).upper()]
        raise NoImpedanceDataError(p, f"no impedance data: an {m.group(1)}-Lab {kind}, which describes "
                                      "a run but holds none of its points; read the .mpr (or .mpt) of the same name")


def _without_cut_last_row(rows: list[str], labels: list[str], p: Path, line_no: int) -> list[str]:
    """``rows`` without the last one when the file ends inside it (no line end, and fewer
    values than the row before, or a last value that is no number): a truncated copy or a
    run stopped mid-write keeps every complete point, with a warning. A file of one data row
    has no row before: there the row is cut when it holds fewer values than there are labels
    and its last value is in a column the spectrum is read from (some exports label columns
    they leave empty, so fewer values alone say nothing); a truncated copy whose only row is
    cut has no complete point, a ReadError."""
    last = rows[-1].split("\t")
    n_last = _count_values(last)
    if len(rows) >= 2:
        n_before = _count_values(rows[-2].split("\t"))
        cut = n_last < n_before
    else:
        n_before = _count_values(labels)
        cut = n_last == 0 or (n_last < n_before and labels[n_last - 1].strip() in _SPECTRUM_COLUMNS)
    if not cut and float_or_none(last[n_last - 1].strip().replace(",", ".")) is not None:
        return rows
    if len(rows) < 2:
        raise ReadError(p, f"line {line_no}, the only data row, is cut off (the file ends inside it and it "
                           f"holds {n_last} of {n_before} values): no complete point; a truncated copy?")
    warn(f"{p.name}: line {line_no} looks cut off (the file ends without a line end and it holds "
         f"{n_last} of {n_before} values): dropped")
    return rows[:-1]


def _decode_lines(p: Path) -> tuple[list[str], bool]:
    raw = read_text_bytes(p)  # an export re-saved with a byte-order mark, in UTF-16, padded with NULs
    if not raw.strip():
        raise ReadError(p, "file is empty")
    if b"\x00" in raw[:4096]:
        raise CorruptFileError(p, "binary content, not a text export")
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # maps every byte; cp1252 leaves 5 undefined
    return split_lines(text), raw.endswith((b"\n", b"\r"))


def _label_line_index(lines: list[str], p: Path, skipped: int = 0) -> int:
    """Index of the column-label line (``skipped``: blank lines before ``lines`` in the file)."""
    first = lines[0].strip() if lines else ""
    if first.startswith(("EC-Lab ASCII FILE", "BT-Lab ASCII FILE")):
        m = _NB_HEADER.search(lines[1]) if len(lines) > 1 else None
        if m is None:
            raise CorruptFileError(p, "line 2 should read 'Nb header lines : N'")
        n = int(m.group(1))
        if not 2 < n <= len(lines):
            raise CorruptFileError(p, f"'Nb header lines : {n}' does not fit a file of {len(lines)} lines")
        return _labels_near(lines, n - 1, p, skipped)
    for i, line in enumerate(lines[:HEADERLESS_SEARCH_LINES]):
        if _looks_like_labels(line):
            return i
    raise CorruptFileError(p, "no 'EC-Lab ASCII FILE' header and no tab-separated column labels found")


LABEL_SEARCH_LINES = 5  # lines either side of the declared label line searched when it holds no labels


def _labels_near(lines: list[str], declared: int, p: Path, skipped: int = 0) -> int:
    """The label line: the one 'Nb header lines' declares, or, where that line holds no
    column labels followed by a row of numbers (a count off by a line or two: an edited file,
    another program's export), the nearest within ``LABEL_SEARCH_LINES`` that names
    ``freq/Hz`` and is, with a warning."""
    def labels_at(i: int) -> bool:
        return (0 < i < len(lines) - 1 and _looks_like_labels(lines[i])
                and _is_number(lines[i + 1].split("\t")[0].strip()))

    if labels_at(declared):
        return declared
    for offset in sorted(range(-LABEL_SEARCH_LINES, LABEL_SEARCH_LINES + 1), key=abs):
        i = declared + offset
        if offset and labels_at(i) and bl.FREQ in [f.strip() for f in lines[i].split("\t")]:
            warn(f"{p.name}: 'Nb header lines : {declared + 1}' does not point at the column labels; "
                 f"they are on line {skipped + i + 1}: read from there")
            return i
    _refuse_unreadable_label_line(lines, declared, p, skipped, labels_at)
    return declared


def _refuse_unreadable_label_line(lines: list[str], declared: int, p: Path, skipped: int, labels_at) -> None:
    """CorruptFileError saying what is wrong where the declared label line holds no usable
    labels: labels separated by semicolons or commas instead of tabs (a copy re-saved by a
    spreadsheet program), or labels far from where 'Nb header lines' puts them."""
    line = lines[declared] if declared < len(lines) else ""
    if bl.FREQ in line and "\t" not in line:
        separator = next((name for mark, name in ((";", "semicolons"), (",", "commas")) if mark in line), None)
        if separator:
            raise CorruptFileError(
                p, f"line {skipped + declared + 1}: the column labels are separated by {separator}, not by tabs as "
                   "EC-Lab writes them (a copy re-saved by a spreadsheet program?); read it as a table with "
                   "--format csv (format='csv' in Python), or export it again from EC-Lab")
    found = next((i for i in range(len(lines)) if labels_at(i) and bl.FREQ in [f.strip() for f in lines[i].split("\t")]),
                 None)
    if found is not None:
        raise CorruptFileError(
            p, f"'Nb header lines : {declared + 1}' puts the column labels on line {skipped + declared + 1}, but they "
               f"are on line {skipped + found + 1}: the header line count does not match the file (an edited file?)")


def _looks_like_labels(line: str) -> bool:
    """A tab-separated line of two or more names, some with a unit after '/', the first no number."""
    fields = [f.strip() for f in line.split("\t") if f.strip()]
    return len(fields) >= 2 and any("/" in f for f in fields) and not _is_number(fields[0])


def _is_number(text: str) -> bool:
    """True for a number written with a decimal point or a decimal comma."""
    return float_or_none(text.replace(",", ".")) is not None


def _parse_columns(labels: list[str], rows: list[str], first_line_no: int, p: Path,
                   header: list[str]) -> tuple[dict[str, np.ndarray], list[str] | None]:
    """Numeric columns keyed by label (labels and values aligned by position), and the texts
    of the time/s column where they are not numbers (an 'Absolute' time export; None
    otherwise): :func:`_elapsed_from_clock_times` reads them."""
    table = [r.split("\t") for r in rows]
    n_values = max(_count_values(t) for t in table)
    named = {i: lab.strip() for i, lab in enumerate(labels[:n_values]) if lab.strip()}
    present = set(named.values())
    if bl.FREQ not in present:
        raise _no_impedance(header, p, f"no '{bl.FREQ}' column among the labels ({len(present)} labels)")
    if n_values - 1 not in named or len(named) < n_values:  # a label missing, or an empty field among them
        named = _labels_around_gap(labels, n_values, p)
    decimal_comma = any(_DECIMAL_COMMA.match(v.strip()) for v in table[0][:n_values])
    columns: dict[str, np.ndarray] = {}
    time_texts = None
    for i, label in named.items():
        if label in columns:
            label = f"{label} (column {i + 1})"
        if label == bl.TIME and not all(_is_number(row[i]) for row in table[:1] if i < len(row)):
            time_texts = [row[i].strip() if i < len(row) else "" for row in table]
            continue
        columns[label] = _column_values(table, i, label, decimal_comma, first_line_no, p)
    return columns, time_texts


def _labels_around_gap(labels: list[str], n_values: int, p: Path) -> dict[int, str]:
    """The labels by position where the label line holds fewer labels than the rows hold
    values, or an empty field among the first ``n_values`` fields:

    * an empty field with a value in every row (as many fields as values): an unnamed column;
    * an empty field after the values (EC-Lab 11.61: '<tab><tab>Ewe-Ece/V' after the last
      value): labels by position, the ones beyond the values left out;
    * an empty field between labels over rows of one value per label without it (EC-Lab 11.71:
      '...Rwe-ce/Ohm<tab><tab>Ewe-Ece/V' over rows of 88 values for 88 labels): the empty field is
      no column, where it comes after the columns a spectrum is read from (which it cannot move).

    CorruptFileError otherwise: positions that cannot be trusted."""
    fields = labels[:_count_values(labels)]
    names = [lab.strip() for lab in fields if lab.strip()]
    gap = next((i for i, lab in enumerate(fields) if not lab.strip()), None)
    needed = [i for i, lab in enumerate(fields) if lab.strip() in _SPECTRUM_COLUMNS]
    if len(fields) == n_values or (len(fields) > n_values and (gap is None or gap >= n_values)):
        return {i: lab.strip() for i, lab in enumerate(fields[:n_values]) if lab.strip()}
    if gap is not None and len(names) == n_values and gap > max(needed, default=-1):
        return dict(enumerate(names))
    where = (f" and has an empty field (column {gap + 1}) before the impedance columns"
             if gap is not None and len(names) == n_values else "")
    raise CorruptFileError(p, f"rows hold {n_values} values but the label line names {len(names)} columns{where}: "
                              "cannot tell which value belongs to which column")


def _count_values(fields: list[str]) -> int:
    """Number of fields up to the last non-empty one (a trailing tab adds an empty field)."""
    n = len(fields)
    while n and not fields[n - 1].strip():
        n -= 1
    return n


def _column_values(table: list[list[str]], i: int, label: str, decimal_comma: bool,
                   first_line_no: int, p: Path) -> np.ndarray:
    """The values of column ``i``; a row without a value there (a short row: EC-Lab 11.71 left
    the last column out of a file's first row) is NaN in a column no spectrum is read from, an
    error naming its line in one that is (:data:`_SPECTRUM_COLUMNS`)."""
    texts = [row[i].strip() if i < len(row) else "" for row in table]
    if decimal_comma:
        texts = [t.replace(",", ".") for t in texts]
    if label not in _SPECTRUM_COLUMNS and "" in texts:
        texts = [t or "nan" for t in texts]
    try:
        return np.array(texts, dtype=np.float64)
    except ValueError:
        k, bad = next((k, t) for k, t in enumerate(texts) if float_or_none(t) is None)
        raise CorruptFileError(
            p, f"line {first_line_no + k}: column {label!r} holds {bad!r}, not a number") from None


# -- header ----------------------------------------------------------------------
def _no_impedance(header: list[str], p: Path, missing: str) -> ReadError:
    """The error for an export without impedance columns: NoImpedanceDataError for a technique
    without impedance (a cycling step: a folder campaign leaves it out), MissingColumnError where
    the header names an impedance technique (PEIS, GEIS...: a damaged or edited export, which a
    folder campaign reports as a checkpoint with its error)."""
    technique = _header_meta(header, p)["technique"]
    if technique and "impedance" in technique.lower():
        return MissingColumnError(p, f"{technique}, but {missing}: a damaged or edited export")
    note = f" ({technique})" if technique else ""  # ' (Galvanostatic Cycling with Potential Limitation)'
    return NoImpedanceDataError(p, f"no impedance data{note}: {missing}")


def _header_meta(header: list[str], p: Path) -> dict[str, Any]:
    """Technique, acquisition start, electrode area and software version from the header block."""
    technique = header[3].strip() if len(header) > 3 and header[3].strip() else None
    meta: dict[str, Any] = {
        "format": FORMAT,
        "technique": technique,
        "technique_short": bl.TECHNIQUE_FULL_NAMES.get(technique or ""),
        "start_time": None, "area": None, "area_unit": None, "software_version": None,
    }
    for line in header:
        if m := _STARTED.search(line):
            meta["start_time"] = bl.iso_time(_parse_start(m.group(1).strip()))
        elif (m := _AREA.search(line)) and (area := float_or_none(m.group(1).replace(",", "."))) is not None:
            meta["area"] = area
            meta["area_unit"] = f"{m.group(2)}2"
        elif (m := _SOFTWARE.search(line)) and meta["software_version"] is None:
            meta["software"] = "BT-Lab" if m.group(1).upper() == "BT-LAB" else "EC-Lab"
            meta["software_version"] = m.group(2).rstrip(".")
        elif (m := _CHANNEL.search(line)) and "channel" not in meta:
            meta["channel"] = int(m.group(1))
            if m.group(2):
                meta["channel_serial"] = m.group(2)
    meta["area_cm2"] = bl.area_in_cm2(meta["area"], meta["area_unit"])
    return meta


def _parse_start(text: str) -> _dt.datetime | None:
    """'mm/dd/yyyy hh:mm:ss(.fff)' and the '.'/'-' variants; anonymised text gives None."""
    for fmt in _START_FORMATS:
        try:
            return _dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _time_format(header: list[str]) -> str | None:
    """The 'Time format' of the header's 'Text export' block ('Elapsed', 'Absolute MMDDYYYY'...)."""
    return next((m.group(1) for line in header if (m := _TIME_FORMAT.match(line))), None)


def _elapsed_from_clock_times(texts: list[str], time_format: str | None, start: _dt.datetime | None,
                              p: Path) -> tuple[np.ndarray | None, _dt.datetime | None]:
    """(seconds since the time origin, the origin) of time/s values written as a date and a
    clock time ('03/02/2021 16:25:27.1567', an 'Absolute MMDDYYYY' export), day first where
    the header's time format says 'DDMMYYYY'. The origin is the acquisition start where the
    header gives it, else the first point, so per-sweep start times stay exact. Values that
    are not such times: the column is left out with a warning (no sweep times), the points
    are read."""
    order = (time_format or "").upper().replace("/", "")
    day_first = True if "DDMM" in order else False if "MMDD" in order else None
    clock = parse_clock_times(texts, day_first)
    if clock is not None and clock.note and start is not None:
        clock = _nearest_to_start(texts, start) or clock
    if clock is None:
        bad = next((t for t in texts if parse_clock_times([t], day_first) is None), texts[0])
        warn(f"{p.name}: time/s holds {bad!r}, neither seconds nor a date and time "
             f"(time format {time_format or 'not given'}): the time column is left out")
        return None, start
    if clock.note:
        warn(f"{p.name}: time/s: {clock.note}")
    origin = start if start is not None else clock.moments[0]
    return np.array([(t - origin).total_seconds() for t in clock.moments]), origin


def _nearest_to_start(texts: list[str], start: _dt.datetime):
    """Of the two readings of dates whose order no value tells ('03/02/2021'), the one whose
    first moment follows the acquisition start most closely (a run's first point comes
    after its start, seldom days later); None when neither follows it."""
    readings = [r for r in (parse_clock_times(texts, first) for first in (False, True))
                if r is not None and r.moments[0] >= start - _dt.timedelta(minutes=1)]
    return min(readings, key=lambda r: r.moments[0] - start, default=None)
