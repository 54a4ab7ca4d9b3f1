"""Legacy Excel 97-2003 workbooks (``.xls``: BIFF8 records in an OLE2 compound file).

What this reader knows of the files (the published MS-CFB and MS-XLS layouts):

* the compound file: a 512-byte header (signature ``D0 CF 11 E0 A1 B1 1A E1``, sector size
  2^u16 at 0x1E, mini sector size 2^u16 at 0x20, FAT sector count at 0x2C, first directory
  sector at 0x30, mini stream cutoff at 0x38, first mini FAT sector at 0x3C, first extra
  DIFAT sector at 0x44 and their count at 0x48, the first 109 FAT sector numbers at 0x4C);
  sector n starts at (n + 1) x sector size; the FAT chains the sectors of each stream;
  directory entries of 128 bytes (UTF-16 name, its byte length at 0x40, type at 0x42: 2 a
  stream, 5 the root; first sector at 0x74, size at 0x78); streams below the cutoff live
  in 64-byte mini sectors of the root entry's stream, chained by the mini FAT;
* the ``Workbook`` stream: records of u16 type, u16 size and data, ``CONTINUE`` (0x3C)
  records extending the one before; ``BOUNDSHEET`` (0x85) gives each sheet's name, type
  and the offset of its ``BOF`` (0x809); ``SST`` (0xFC) the shared strings; cells are
  ``NUMBER`` (0x203, a float64), ``RK`` (0x27E) and ``MULRK`` (0xBD) (30-bit compressed
  numbers: bit 1 an integer, else the high bits of a float64; bit 0 divides by 100),
  ``LABELSST`` (0xFD), ``LABEL`` (0x204), ``BOOLERR`` (0x205) and ``FORMULA`` (0x06, its
  cached number, or its text in the ``STRING`` (0x207) record after it); each cell names
  its style, an ``XF`` record (0xE0, number format at offset 2) of the globals; ``FORMAT``
  (0x41E) gives the code of a custom number format and ``DATEMODE`` (0x22) the 1904 date
  system: a number whose format shows a date or a time (see :mod:`eisfit.io._sheets`) is
  read as date text, never as a number of seconds.

Excel 5.0/95 workbooks (BIFF5: a ``Book`` stream, BOF version 0x0500) hold the same cell
records but no shared strings: text is 8-bit in the code page of the ``CODEPAGE`` record
(0x42; Windows-1252 when absent), with a u8 length in ``BOUNDSHEET`` and ``FORMAT`` and a
u16 length in ``LABEL``, ``RSTRING`` (0xD6, a label with formatting runs) and ``STRING``.

Each worksheet is then read like an .xlsx sheet (:mod:`eisfit.io._sheets`). Encrypted
workbooks get an error asking for .xlsx or CSV.
"""
from __future__ import annotations

import codecs
import struct
from pathlib import Path
from typing import Callable, Iterator, Mapping

from ..errors import UnknownFormatError
from ..spectrum import Spectrum
from ._common import file_bytes, suffix_of
from ._sheets import (DATE_FORMAT_IDS, EPOCH_1900, EPOCH_1904, cell_text, damage_reported, date_text, is_date_format,
                      spectra_of_sheets)

NAME = "xls"
NAMES = ["xls", "excel97"]
EXTENSIONS = [".xls"]

SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
END_OF_CHAIN = 0xFFFFFFFE
FREE_SECTOR = 0xFFFFFFFF
MAX_SECTORS = 1 << 20  # 512 MB of 512-byte sectors: more is not an impedance workbook
BOF, EOF, BOUNDSHEET, SST, CONTINUE, FILEPASS = 0x0809, 0x000A, 0x0085, 0x00FC, 0x003C, 0x002F
FORMAT, XF, DATEMODE = 0x041E, 0x00E0, 0x0022
NUMBER, RK, MULRK, LABELSST, LABEL, BOOLERR, FORMULA, STRING = (0x0203, 0x027E, 0x00BD, 0x00FD, 0x0204,
                                                                 0x0205, 0x0006, 0x0207)
RSTRING, CODEPAGE = 0x00D6, 0x0042
BIFF8, BIFF5 = 0x0600, 0x0500


def sniff(head: bytes, path: Path) -> int:
    """85 for a compound file whose directory (when in the head) names a Workbook stream,
    70 for any compound file named .xls; 0 otherwise (Word and other compound files)."""
    if not head.startswith(SIGNATURE):
        return 0
    if "Workbook".encode("utf-16-le") in head or "Book\x00".encode("utf-16-le") in head:
        return 85
    return 70 if suffix_of(path) in EXTENSIONS else 0


def read(path: str | Path, *, sheet: str | int | None = None, imag_sign: str | None = None,
         decimal: str | None = None, header: bool | None = None,
         columns: Mapping[str, int | str] | None = None) -> list[Spectrum]:
    """Read the impedance tables of a legacy .xls workbook (frequency Hz, Z ohm, Z'' < 0
    capacitive); the options are those of :func:`eisfit.io.xlsx.read`."""
    p = Path(path)
    data = file_bytes(p)
    if not data.startswith(SIGNATURE):
        raise UnknownFormatError(p, "not an OLE2 compound file (legacy .xls)")
    with damage_reported(p, ".xls workbook"):
        streams = _CompoundFile(data).streams()
        name = next((n for n in ("Workbook", "Book") if n in streams), None)  # Book: Excel 5.0/95
        if name is None:
            raise UnknownFormatError(p, "a compound file without a Workbook stream: not an Excel workbook")
        book = _Workbook(p, streams[name]())
        sheets = [(name, (lambda at=at: book.rows(at))) for name, at in book.sheets()]
        return spectra_of_sheets(p, sheets, sheet, NAME, dict(imag_sign=imag_sign, decimal=decimal, header=header,
                                                              columns=columns))


# ---------------------------------------------------------------------------
# the compound file
# ---------------------------------------------------------------------------
class _CompoundFile:
    """The streams of an OLE2 compound file, read from its bytes."""

    def __init__(self, data: bytes):
        self.data = data
        self.sector = 1 << struct.unpack_from("<H", data, 0x1E)[0]
        self.mini = 1 << struct.unpack_from("<H", data, 0x20)[0]
        if self.sector not in (512, 4096) or self.mini != 64:
            raise ValueError(f"sector sizes {self.sector}/{self.mini} bytes")
        n_fat, first_dir = struct.unpack_from("<II", data, 0x2C)
        self.cutoff, first_minifat, _, first_difat, n_difat = struct.unpack_from("<IIIII", data, 0x38)
        self.fat = self._fat(n_fat, first_difat, n_difat)
        self.directory = self._chain_bytes(first_dir)
        root_start, root_size = self._entry(0)[2:4]
        self.mini_stream = self._chain_bytes(root_start)[:root_size] if root_start != END_OF_CHAIN else b""
        minifat = self._chain_bytes(first_minifat) if first_minifat not in (END_OF_CHAIN, FREE_SECTOR) else b""
        self.minifat = struct.unpack(f"<{len(minifat) // 4}I", minifat[: len(minifat) // 4 * 4])

    def _fat(self, n_fat: int, first_difat: int, n_difat: int) -> tuple[int, ...]:
        if n_fat > MAX_SECTORS // (self.sector // 4) + 1:
            raise ValueError(f"{n_fat} FAT sectors")
        fat_sectors = list(struct.unpack_from("<109I", self.data, 0x4C))
        per = self.sector // 4 - 1
        at, seen = first_difat, 0
        while at not in (END_OF_CHAIN, FREE_SECTOR) and seen < n_difat:
            block = self._sector(at)
            fat_sectors += struct.unpack_from(f"<{per}I", block)
            at = struct.unpack_from("<I", block, per * 4)[0]
            seen += 1
        fat = b"".join(self._sector(s) for s in fat_sectors[:n_fat])
        return struct.unpack(f"<{len(fat) // 4}I", fat)

    def _sector(self, n: int) -> bytes:
        start = (n + 1) * self.sector
        if n >= MAX_SECTORS or start >= len(self.data):
            raise ValueError(f"sector {n} beyond the end of the file (truncated?)")
        return self.data[start:start + self.sector]

    def _chain(self, first: int, table: tuple[int, ...]) -> Iterator[int]:
        at, steps = first, 0
        while at != END_OF_CHAIN:
            if at >= len(table) or steps > len(table):
                raise ValueError(f"broken sector chain at {at}")
            yield at
            at = table[at]
            steps += 1

    def _chain_bytes(self, first: int) -> bytes:
        return b"".join(self._sector(s) for s in self._chain(first, self.fat))

    def _entry(self, k: int) -> tuple[str, int, int, int]:
        raw = self.directory[k * 128:(k + 1) * 128]
        if len(raw) < 128:
            raise ValueError(f"directory entry {k} cut off")
        name_len = min(struct.unpack_from("<H", raw, 0x40)[0], 64)
        name = raw[: max(name_len - 2, 0)].decode("utf-16-le", errors="replace")
        kind = raw[0x42]
        start, size = struct.unpack_from("<II", raw, 0x74)
        return name, kind, start, size

    def streams(self) -> dict[str, Callable[[], bytes]]:
        """Stream name -> a function returning its bytes (read when asked)."""
        out = {}
        for k in range(len(self.directory) // 128):
            name, kind, start, size = self._entry(k)
            if kind == 2 and name not in out:
                out[name] = (lambda start=start, size=size: self._stream(start, size))
        return out

    def _stream(self, start: int, size: int) -> bytes:
        if size < self.cutoff:
            data = b"".join(self.mini_stream[s * self.mini:(s + 1) * self.mini] for s in self._chain(start, self.minifat))
        else:
            data = self._chain_bytes(start)
        if len(data) < size:
            raise ValueError(f"a stream of {size} bytes ends after {len(data)} (truncated file?)")
        return data[:size]


# ---------------------------------------------------------------------------
# BIFF8 records
# ---------------------------------------------------------------------------
class _Workbook:
    """Sheets, shared strings and cells of a BIFF8 (Excel 97-2003) or BIFF5 (Excel 5.0/95)
    workbook stream."""

    def __init__(self, p: Path, stream: bytes):
        self.p, self.stream = p, stream
        version, kind = struct.unpack_from("<HH", stream, 4)
        if struct.unpack_from("<H", stream, 0)[0] != BOF or version not in (BIFF8, BIFF5):
            raise UnknownFormatError(p, f"not a BIFF8 or BIFF5 workbook (BOF version 0x{version:04X}); "
                                        "save it as .xlsx or CSV")
        self.biff8 = version == BIFF8
        self.encoding = "cp1252"  # BIFF5 text: the CODEPAGE record's, Windows-1252 without one
        self._sheets: list[tuple[str, int]] = []
        self.strings: list[str] = []
        formats: dict[int, bool] = {}  # custom format id -> shows a date or a time
        xf_formats: list[int] = []  # number format of each cell style (XF), in record order
        self.epoch = EPOCH_1900
        for rtype, payload, breaks in self._records(0):
            if rtype == FILEPASS:
                raise UnknownFormatError(p, "an encrypted .xls workbook: open it in Excel and save it without a password")
            if rtype == CODEPAGE and not self.biff8:
                self.encoding = _codec(struct.unpack_from("<H", payload)[0])
            elif rtype == FORMAT:
                code = _unicode_string(payload, 2)[0] if self.biff8 else self._byte_string(payload, 2, 1)
                formats[struct.unpack_from("<H", payload)[0]] = is_date_format(code)
            elif rtype == XF:
                xf_formats.append(struct.unpack_from("<H", payload, 2)[0])
            elif rtype == DATEMODE:
                self.epoch = EPOCH_1904 if struct.unpack_from("<H", payload)[0] else EPOCH_1900
            elif rtype == BOUNDSHEET:
                at, _, sheet_type = struct.unpack_from("<IBB", payload)
                if sheet_type == 0:  # a worksheet (not a chart or macro sheet)
                    name = _short_string(payload, 6)[0] if self.biff8 else self._byte_string(payload, 6, 1)
                    self._sheets.append((name, at))
            elif rtype == SST:
                self.strings = _shared_strings(payload, breaks)
            elif rtype == EOF:
                break
        self.date_styles = frozenset(k for k, f in enumerate(xf_formats) if f in DATE_FORMAT_IDS or formats.get(f))

    def sheets(self) -> list[tuple[str, int]]:
        return list(self._sheets)

    def _byte_string(self, data: bytes, at: int, length_bytes: int) -> str:
        """A BIFF5 string: a u8 or u16 length, then 8-bit characters in the workbook's code page."""
        n = data[at] if length_bytes == 1 else struct.unpack_from("<H", data, at)[0]
        return data[at + length_bytes:at + length_bytes + n].decode(self.encoding, errors="replace")

    def _text(self, data: bytes, at: int) -> str:
        """The string of a LABEL, RSTRING or STRING record starting at ``at``."""
        return _unicode_string(data, at)[0] if self.biff8 else self._byte_string(data, at, 2)

    def _records(self, at: int) -> Iterator[tuple[int, bytes, list[int]]]:
        """(type, payload with its CONTINUE records joined, offsets where each CONTINUE began)."""
        stream = self.stream
        while at + 4 <= len(stream):
            rtype, size = struct.unpack_from("<HH", stream, at)
            payload = stream[at + 4:at + 4 + size]
            at += 4 + size
            breaks: list[int] = []
            while at + 4 <= len(stream) and struct.unpack_from("<H", stream, at)[0] == CONTINUE:
                size = struct.unpack_from("<H", stream, at + 2)[0]
                breaks.append(len(payload))
                payload += stream[at + 4:at + 4 + size]
                at += 4 + size
            yield rtype, payload, breaks

    def rows(self, at: int) -> Iterator[tuple[int, dict[int, str]]]:
        """(1-based row, {column: text}) of the worksheet whose BOF is at ``at``, by row."""
        cells: dict[int, dict[int, str]] = {}
        pending: tuple[int, int] | None = None  # a formula cell waiting for its STRING record
        for rtype, payload, _ in self._records(at):
            if rtype == EOF:
                break
            for row, col, text in self._cells(rtype, payload):
                cells.setdefault(row, {})[col] = text
            if rtype == FORMULA:
                pending = struct.unpack_from("<HH", payload) if payload[12:14] == b"\xff\xff" and payload[6] == 0 else None
            elif rtype == STRING and pending is not None:
                cells.setdefault(pending[0], {})[pending[1]] = cell_text(self._text(payload, 0))
                pending = None
        for row in sorted(cells):
            yield row + 1, {c: t for c, t in cells[row].items() if t}

    def _cells(self, rtype: int, payload: bytes) -> list[tuple[int, int, str]]:
        if rtype == NUMBER:
            row, col, style, value = struct.unpack_from("<HHHd", payload)
            return [(row, col, self._number(value, style))]
        if rtype == RK:
            row, col, style, rk = struct.unpack_from("<HHHI", payload)
            return [(row, col, self._number(_rk_value(rk), style))]
        if rtype == MULRK:
            row, first = struct.unpack_from("<HH", payload)
            n = (len(payload) - 6) // 6
            return [(row, first + k, self._number(_rk_value(rk), style))
                    for k, (style, rk) in enumerate(struct.unpack_from("<HI", payload, 4 + 6 * k) for k in range(n))]
        if rtype == LABELSST:
            row, col, _, index = struct.unpack_from("<HHHI", payload)
            if index >= len(self.strings):
                raise ValueError(f"shared string {index} of {len(self.strings)}")
            return [(row, col, cell_text(self.strings[index]))]
        if rtype in (LABEL, RSTRING):
            row, col = struct.unpack_from("<HH", payload)
            return [(row, col, cell_text(self._text(payload, 6)))]
        if rtype == BOOLERR:
            row, col, _, value, is_error = struct.unpack_from("<HHHBB", payload)
            return [(row, col, "#ERROR" if is_error else ("TRUE" if value else "FALSE"))]
        if rtype == FORMULA:
            row, col, style = struct.unpack_from("<HHH", payload)
            if payload[12:14] != b"\xff\xff":
                return [(row, col, self._number(struct.unpack_from("<d", payload, 6)[0], style))]
            kind = payload[6]
            return [(row, col, {1: "TRUE" if payload[8] else "FALSE", 2: "#ERROR"}.get(kind, ""))]
        return []

    def _number(self, value: float, style: int) -> str:
        """A number cell's text: the number with every digit, or a date when its style shows one."""
        return date_text(value, self.epoch) if style in self.date_styles else repr(value)


def _codec(codepage: int) -> str:
    """The Python codec of a BIFF CODEPAGE value (Windows-1252 for one Python does not know)."""
    name = {367: "ascii", 1200: "utf-16-le", 10000: "mac-roman", 0x8000: "mac-roman", 0x8001: "cp1252"}.get(
        codepage, f"cp{codepage}")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "cp1252"


def _rk_value(rk: int) -> float:
    """The number of an RK value (30-bit integer or the high 32 bits of a float64, /100 by bit 0)."""
    if rk & 0x02:
        value = float((rk >> 2) - (1 << 30) if rk & 0x80000000 else rk >> 2)
    else:
        value = struct.unpack("<d", struct.pack("<Q", (rk & 0xFFFFFFFC) << 32))[0]
    return value / 100.0 if rk & 0x01 else value


def _short_string(data: bytes, at: int) -> tuple[str, int]:
    """A string of u8 length, u8 flags and its characters; (text, offset after it)."""
    n, width = data[at], 2 if data[at + 1] & 0x01 else 1
    return _chars(data, at + 2, n, width), at + 2 + n * width


def _string_header(data: bytes, at: int) -> tuple[int, int, int, int]:
    """(characters, bytes per character, bytes of rich-text runs and phonetic data after the
    characters, offset of the characters) of a string of u16 length and u8 flags."""
    n, flags = struct.unpack_from("<HB", data, at)
    at += 3
    runs = ext = 0
    if flags & 0x08:
        runs = struct.unpack_from("<H", data, at)[0]
        at += 2
    if flags & 0x04:
        ext = struct.unpack_from("<I", data, at)[0]
        at += 4
    return n, 2 if flags & 0x01 else 1, 4 * runs + ext, at


def _chars(data: bytes, at: int, n: int, width: int) -> str:
    return data[at:at + n * width].decode("utf-16-le" if width == 2 else "latin-1", errors="replace")


def _unicode_string(data: bytes, at: int) -> tuple[str, int]:
    """A string of u16 length, u8 flags (and rich-text / phonetic data) and its characters;
    (text, offset after it)."""
    n, width, tail, at = _string_header(data, at)
    return _chars(data, at, n, width), at + n * width + tail


def _shared_strings(payload: bytes, breaks: list[int]) -> list[str]:
    """The strings of an SST record whose CONTINUE records began at the offsets ``breaks``."""
    _, unique = struct.unpack_from("<II", payload, 0)
    at, out = 8, []
    for _ in range(min(unique, len(payload))):
        if at + 3 > len(payload):
            raise ValueError("shared strings cut off")
        text, at = _shared_string(payload, breaks, at)
        out.append(text)
    return out


def _shared_string(data: bytes, breaks: list[int], at: int) -> tuple[str, int]:
    """One string of an SST record; its characters may continue in the next CONTINUE record,
    which then starts with a new flags byte (its own character width)."""
    n, width, tail, at = _string_header(data, at)
    parts, left = [], n
    while left > 0:
        end = next((b for b in breaks if b > at), len(data))
        take = min(left, (end - at) // width)
        parts.append(_chars(data, at, take, width))
        at += take * width
        left -= take
        if left > 0:  # continued: a new flags byte gives the width of the rest
            if at >= len(data):
                raise ValueError("shared string cut off")
            width = 2 if data[at] & 0x01 else 1
            at += 1
    return "".join(parts), at + tail
