"""Dates with clock times in a text column ('2024-05-01 10:00:02', '03/02/2021 16:25:27.1567',
'1.5.2024 10:00', '5/1/2024 10:00:02 AM'), read as moments: an EC-Lab export with an
absolute time format, a table with a time stamp per row.

Slash and dash dates are month first unless a value says otherwise (a first number above 12)
or the caller knows the order (EC-Lab's header names it); dot dates ('1.5.2024') are day
first, as written where they are used. Where no value tells the order, the reading says so
(:attr:`ClockTimes.note`), for a warning.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Sequence

# a preamble line 'label: value' whose label names a date or time ('Date and time measurement:,2025-01-01 12:01:00',
# 'Start time = 2024-05-01 10:00:00', '# Date: 05/01/2024 10:00')
_LABELLED = re.compile(r"^\s*#?\s*([A-Za-z][A-Za-z _./()-]*?)\s*(?::\s*[,;\t]?|=|[,;\t])\s*(.+?)\s*$")
_TIME_LABEL = re.compile(r"date|time|start|acqui|measur|record", re.IGNORECASE)
_START_LABEL = re.compile(r"start|acqui|measur|record", re.IGNORECASE)  # the moment of the measurement itself
_FILE_LABEL = re.compile(r"file|export|saved|created|written|print", re.IGNORECASE)  # the moment of the file
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_NUMERIC = re.compile(
    r"^(\d{1,4})([/.-])(\d{1,2})\2(\d{1,4})[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*([AaPp][Mm])?$")


@dataclass(frozen=True)
class ClockTimes:
    """Moments (naive datetimes: the instrument's clock; an ISO time with an offset is
    converted to UTC) and, where the date order was assumed, a note saying so."""

    moments: list[_dt.datetime]
    note: str | None = None


def iso_time(moment: _dt.datetime | None) -> str | None:
    """ISO 8601 text of a naive local time, to the millisecond (None stays None)."""
    return None if moment is None else moment.isoformat(timespec="milliseconds")


def parse_clock_times(texts: Sequence[str], day_first: bool | None = None) -> ClockTimes | None:
    """The moments of ``texts``, every one a date with a clock time; None when any is not.

    ``day_first``: the order of a numeric date where the file names it (True 'DD/MM/YYYY',
    False 'MM/DD/YYYY'); None to decide it from the values."""
    texts = [t.strip() for t in texts]
    if not texts or not all(texts):
        return None
    iso = _iso_moments(texts)
    if iso is not None:
        return ClockTimes(iso)
    fields = [_NUMERIC.match(t) for t in texts]
    if not all(fields):
        return None
    return _numeric_moments([m.groups() for m in fields if m is not None], day_first)


def naive_utc(moment: _dt.datetime) -> _dt.datetime:
    """``moment`` without its UTC offset, in UTC where it has one (as written where it has none:
    the instrument's local time), so that moments of either kind compare."""
    return moment if moment.tzinfo is None else moment.astimezone(_dt.timezone.utc).replace(tzinfo=None)


def _iso_moments(texts: Sequence[str]) -> list[_dt.datetime] | None:
    """ISO 8601 dates with times ('2024-05-01T10:00:02', '2024-05-01 10:00:02.5+02:00')."""
    out = []
    for text in texts:
        if len(text) < 16 or text[4] != "-" or ":" not in text:
            return None
        try:
            moment = _dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        out.append(naive_utc(moment))
    return out


def _numeric_moments(groups: list[tuple], day_first: bool | None) -> ClockTimes | None:
    """Moments of dates such as 03/02/2021 (with the regex's groups of each text)."""
    separators = {g[1] for g in groups}
    year_first = all(len(g[0]) == 4 for g in groups)
    note = None
    if not year_first:
        if any(len(g[0]) == 4 for g in groups) or any(len(g[3]) not in (2, 4) for g in groups):
            return None
        firsts, seconds = [int(g[0]) for g in groups], [int(g[2]) for g in groups]
        if day_first is None:
            if max(firsts) > 12 and max(seconds) > 12:
                return None
            if max(firsts) > 12 or max(seconds) > 12:
                day_first = max(firsts) > 12
            else:
                day_first = separators == {"."}
                example = groups[0][1].join(groups[0][i] for i in (0, 2, 3))
                note = (f"dates such as {example!r} read {'day' if day_first else 'month'} first "
                        "(no day above 12 in the column tells the order)")
    moments = []
    for first, _, middle, last, hour, minute, second, fraction, half in groups:
        if year_first:
            year, month, day = int(first), int(middle), int(last)
        else:
            year = int(last) + (2000 if len(last) == 2 else 0)
            day, month = (int(first), int(middle)) if day_first else (int(middle), int(first))
        h = int(hour)
        if half is not None:
            if not 1 <= h <= 12:
                return None
            h = h % 12 + (12 if half.lower() == "pm" else 0)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        try:
            moments.append(_dt.datetime(year, month, day, h, int(minute), int(second or 0), micro))
        except ValueError:  # 31/02, 25:00...
            return None
    return ClockTimes(moments, note)


def preamble_start_time(lines: Sequence[str], max_lines: int = 200) -> tuple[_dt.datetime, str, str | None] | None:
    """(moment, label, note) of the date and time a table's preamble states, before its first
    row of numbers: a line 'label: value' whose label names a date or time and whose value
    (its first field) is a date with a clock time. A label naming the measurement ('Date and
    time measurement', 'Start time', 'Acquired') wins over a plain 'Date and time', which wins
    over one naming the file ('File date', 'Exported', 'Saved': PSTrace's CSV export writes its
    'File date:' of the export above the 'Date and time:' of the measurement); the first of each
    kind. None where there is none."""
    found: dict[int, tuple[_dt.datetime, str, str | None]] = {}
    for line in lines[:max_lines]:
        if sum(bool(_NUMBER.match(t)) for t in re.split(r"[,;\t ]+", line)) >= 3:  # a row of numbers: the end
            break
        m = _LABELLED.match(line)
        if m is None or not _TIME_LABEL.search(m.group(1)):
            continue
        value = re.split(r"[,;\t]", m.group(2))[0].strip().strip('"')
        clock = parse_clock_times([value])
        if clock is not None:
            label = m.group(1)
            rank = 2 if _START_LABEL.search(label) else 0 if _FILE_LABEL.search(label) else 1
            found.setdefault(rank, (clock.moments[0], label, clock.note))
    return found[max(found)] if found else None
