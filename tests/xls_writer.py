"""A small writer of legacy .xls files (BIFF8 records in an OLE2 compound file) for tests,
written from the published MS-CFB / MS-XLS layouts, independently of the reader.

Cells: float -> NUMBER, ("rk", float) -> RK, ("mulrk", [floats]) -> one MULRK record
spanning that many columns, ("formula", float) -> FORMULA with its cached number,
("formula-text", str) -> FORMULA with a STRING record, str -> LABELSST (shared string),
("date", days) -> NUMBER with the style of built-in format 22 (m/d/yy h:mm), ("clock", days)
-> RK with the style of a custom format 'hh:mm:ss'. The globals hold 16 plain cell styles
(XF 0-15), then those two (XF 16 and 17).

``biff=5`` writes an Excel 5.0/95 stream instead (BOF version 0x0500, a CODEPAGE record,
8-bit strings in that code page: sheet names and number formats with a u8 length, LABEL
cells and STRING results with a u16 length, no shared strings); ("rstring", str) is then a
rich-text RSTRING cell.
"""
from __future__ import annotations

import struct

SECTOR = 512
END, FREE, FATSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD


def record(rtype: int, payload: bytes) -> bytes:
    return struct.pack("<HH", rtype, len(payload)) + payload


def rk_of(value: float) -> int:
    """RK encoding of ``value``: an integer (x100 when needed) or a float64 whose low 32 bits are 0."""
    for scale, flag in ((1, 0), (100, 1)):
        v = value * scale
        if v == int(v) and -(1 << 29) <= v < (1 << 29):
            return ((int(v) << 2) & 0xFFFFFFFF) | 2 | flag
    bits = struct.unpack("<Q", struct.pack("<d", value))[0]
    assert bits & 0xFFFFFFFF == 0, f"{value} has no RK form"
    return bits >> 32


def workbook_stream(sheets: dict[str, list[list]], *, split_string: int | None = None, pad: bool = True,
                    encrypted: bool = False, biff: int = 8, codepage: int = 1252) -> bytes:
    strings: list[str] = []
    for rows in sheets.values():
        for row in rows:
            for v in row:
                if isinstance(v, str) and v not in strings:
                    strings.append(v)
    version = 0x0600 if biff == 8 else 0x0500
    encoding = f"cp{codepage}"
    bof_globals = record(0x0809, struct.pack("<HHHHII", version, 0x0005, 0, 1997, 0, version))
    if biff == 5:
        bof_globals += record(0x0042, struct.pack("<H", codepage))
    code = "hh:mm:ss"
    if biff == 8:
        bof_globals += record(0x041E, struct.pack("<HHB", 164, len(code), 0) + code.encode("latin-1"))
    else:
        bof_globals += record(0x041E, struct.pack("<HB", 164, len(code)) + code.encode(encoding))
    bof_globals += b"".join(record(0x00E0, struct.pack("<HH", 0, fmt) + bytes(16)) for fmt in [0] * 16 + [22, 164])
    sst = _sst_records(strings, split_string) if biff == 8 else b""

    def sheet_name(n: str) -> bytes:
        raw = n.encode("latin-1" if biff == 8 else encoding)
        return bytes([len(raw), 0]) + raw if biff == 8 else bytes([len(raw)]) + raw

    bounds_len = sum(4 + 6 + len(sheet_name(n)) for n in sheets)
    head_len = len(bof_globals) + (4 + 54 if encrypted else 0) + bounds_len + len(sst) + 4
    bodies, at = [], head_len
    for rows in sheets.values():
        body = record(0x0809, struct.pack("<HHHHII", version, 0x0010, 0, 1997, 0, version))
        body += b"".join(_cells(r, row, strings, biff, encoding) for r, row in enumerate(rows)) + record(0x000A, b"")
        bodies.append((at, body))
        at += len(body)
    bounds = b"".join(record(0x0085, struct.pack("<IBB", pos, 0, 0) + sheet_name(n))
                      for (pos, _), n in zip(bodies, sheets))
    stream = bof_globals + (record(0x002F, bytes(54)) if encrypted else b"") + bounds + sst + record(0x000A, b"")
    stream += b"".join(body for _, body in bodies)
    return stream + bytes(max(0, 4096 - len(stream))) if pad else stream


def _sst_records(strings: list[str], split_string: int | None) -> bytes:
    payload = struct.pack("<II", len(strings), len(strings))
    cont = b""
    for k, s in enumerate(strings):
        raw = s.encode("latin-1")
        if k == split_string and len(raw) > 1:  # characters go on in a CONTINUE record, as UTF-16
            half = len(raw) // 2
            payload += struct.pack("<HB", len(raw), 0) + raw[:half]
            cont = b"\x01" + s[half:].encode("utf-16-le")
            rest = b"".join(struct.pack("<HB", len(t), 0) + t.encode("latin-1") for t in strings[k + 1:])
            return record(0x00FC, payload) + record(0x003C, cont + rest)
        payload += struct.pack("<HB", len(raw), 0) + raw
    return record(0x00FC, payload)


def _cells(r: int, row: list, strings: list[str], biff: int = 8, encoding: str = "cp1252") -> bytes:
    out = b""
    for c, v in enumerate(row):
        if v is None:
            continue
        if isinstance(v, str) and biff == 5:  # LABEL: u16 length, 8-bit characters
            raw = v.encode(encoding)
            out += record(0x0204, struct.pack("<HHHH", r, c, 15, len(raw)) + raw)
        elif isinstance(v, tuple) and v[0] == "rstring":  # BIFF5 rich text: the LABEL layout, then its runs
            raw = v[1].encode(encoding)
            out += record(0x00D6, struct.pack("<HHHH", r, c, 15, len(raw)) + raw + bytes([1, 0, 0]))
        elif isinstance(v, str):
            out += record(0x00FD, struct.pack("<HHHI", r, c, 15, strings.index(v)))
        elif isinstance(v, tuple) and v[0] == "date":
            out += record(0x0203, struct.pack("<HHHd", r, c, 16, v[1]))
        elif isinstance(v, tuple) and v[0] == "clock":
            out += record(0x027E, struct.pack("<HHHI", r, c, 17, rk_of(v[1])))
        elif isinstance(v, tuple) and v[0] == "rk":
            out += record(0x027E, struct.pack("<HHHI", r, c, 15, rk_of(v[1])))
        elif isinstance(v, tuple) and v[0] == "mulrk":
            body = b"".join(struct.pack("<HI", 15, rk_of(x)) for x in v[1])
            out += record(0x00BD, struct.pack("<HH", r, c) + body + struct.pack("<H", c + len(v[1]) - 1))
        elif isinstance(v, tuple) and v[0] == "formula":
            out += record(0x0006, struct.pack("<HHHdHI", r, c, 15, v[1], 0, 0) + b"\x00\x00")
        elif isinstance(v, tuple) and v[0] == "formula-text":
            value = bytes([0, 0, 0, 0, 0, 0]) + b"\xff\xff"
            out += record(0x0006, struct.pack("<HHH", r, c, 15) + value + struct.pack("<HI", 0, 0) + b"\x00\x00")
            if biff == 8:
                out += record(0x0207, struct.pack("<HB", len(v[1]), 0) + v[1].encode("latin-1"))
            else:
                out += record(0x0207, struct.pack("<H", len(v[1])) + v[1].encode(encoding))
        else:
            out += record(0x0203, struct.pack("<HHHd", r, c, 15, float(v)))
    return out


def compound_file(streams: dict[str, bytes]) -> bytes:
    """An OLE2 compound file (512-byte sectors) holding ``streams``: those of 4096 bytes or
    more in regular sectors, smaller ones in the mini stream."""
    big = {n: s for n, s in streams.items() if len(s) >= 4096}
    small = {n: s for n, s in streams.items() if len(s) < 4096}
    fat = [FATSECT]
    sectors: list[bytes] = []

    def place(data: bytes) -> int:
        n = max(1, -(-len(data) // SECTOR))
        first = len(sectors) + 1  # sector 0 is the FAT
        for k in range(n):
            sectors.append(data[k * SECTOR:(k + 1) * SECTOR].ljust(SECTOR, b"\x00"))
            fat.append(first + k + 1 if k < n - 1 else END)
        return first

    starts: dict[str, tuple[int, int]] = {}
    for name, data in big.items():
        starts[name] = (place(data), len(data))
    mini_stream, minifat = b"", []
    for name, data in small.items():
        first = len(mini_stream) // 64
        n = max(1, -(-len(data) // 64))
        mini_stream += data.ljust(n * 64, b"\x00")
        minifat += [first + k + 1 if k < n - 1 else END for k in range(n)]
        starts[name] = (first, len(data))
    root_start, minifat_start = END, END
    if small:
        minifat_start = place(struct.pack(f"<{len(minifat)}I", *minifat).ljust(SECTOR, b"\xff"))
        root_start = place(mini_stream)
    entries = [_dir_entry("Root Entry", 5, root_start, len(mini_stream), child=1)]
    for k, (name, (start, size)) in enumerate(starts.items()):
        entries.append(_dir_entry(name, 2, start, size, right=k + 2 if k + 1 < len(starts) else FREE))
    directory = b"".join(entries).ljust(-(-len(entries) // 4) * SECTOR, b"\x00")
    dir_start = place(directory)
    assert len(fat) <= SECTOR // 4
    header = bytearray(SECTOR)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 0x28, 0, 1, dir_start, 0, 4096, minifat_start, 1 if small else 0, END, 0)
    struct.pack_into("<109I", header, 0x4C, 0, *([FREE] * 108))
    fat_sector = struct.pack(f"<{len(fat)}I", *fat).ljust(SECTOR, b"\xff")
    return bytes(header) + fat_sector + b"".join(sectors)


def _dir_entry(name: str, kind: int, start: int, size: int, child: int = FREE, right: int = FREE) -> bytes:
    raw = bytearray(128)
    encoded = name.encode("utf-16-le")
    raw[:len(encoded)] = encoded
    struct.pack_into("<HBB", raw, 0x40, len(encoded) + 2, kind, 1)
    struct.pack_into("<III", raw, 0x44, FREE, right, child)
    struct.pack_into("<II", raw, 0x74, start, size)  # the size's high 32 bits stay 0
    return bytes(raw)


def write_xls(path, sheets: dict[str, list[list]], *, stream_name: str = "Workbook", **options):
    path.write_bytes(compound_file({stream_name: workbook_stream(sheets, **options)}))
    return path
