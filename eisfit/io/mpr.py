"""BioLogic EC-Lab / BT-Lab binary ``.mpr`` files (PEIS, GEIS, ZIR, Modulo Bat with EIS).

Layout (see ``shared/realdata/mpr/FORMAT.md``): a 52-byte file header, then
modules back to back, each ``MODULE`` + a 51-byte (old) or 59-byte (new)
header giving the length of the module's data. The ``VMP data`` module holds
packed records, one field per column ID; ``VMP Set`` the technique and the
electrode area; ``VMP LOG`` the acquisition start and software version;
``VMP loop`` the row index where each loop starts.
"""
from __future__ import annotations

import datetime as _dt
import itertools
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError, MissingColumnError, NoImpedanceDataError, ReadError
from ..spectrum import Spectrum
from . import _biologic as bl
from ._common import MAX_FREQUENCY_HZ, MAX_MODULUS_OHM, MIN_FREQUENCY_HZ, build_spectra, file_bytes, warn

NAME = "mpr"
NAMES = ["mpr", "biologic-mpr"]  # the second is the name meta["format"] and `eisfit info` show
EXTENSIONS = [".mpr"]
FORMAT = "biologic-mpr"

MAGIC = b"BIO-LOGIC MODULAR FILE"
FIRST_MODULE = 0x34
MODULE_TAG = b"MODULE"
NEW_HEADER_MARKER = 0xFFFFFFFF
OLD_HEADER_SIZE = 6 + 51
NEW_HEADER_SIZE = 6 + 59

# Offsets inside module data.
SET_AREA = 0x211
SET_AREA_UNIT = 0x250
AREA_UNITS = {2: "cm2", 3: "mm2"}
LOG_START_OLE = 0x249
LOG_SOFTWARE_VERSION = 0x3B7
LOG_CHANNEL = 0x09  # u8, zero-based ("Run on channel : 2" in the .mpt reads 1)
LOG_CHANNEL_SERIAL = 0xAB  # u32 (FORMAT.md says u16; one real file holds 69651, matching its .mpt)
# EC-Lab 10.33's LOG (m0l0t0ph/thesis, two files checked against their .mpt and .mpl): the start at 0x1D9
# (galvani's 473), the version at 0x347, the serial a u16 at 0x3B (0x70 before the later offsets),
# the channel byte already 1-based ("Run on channel : 2" reads 2)
OLD_LOG_START_OLE = 0x1D9
OLD_LOG_SOFTWARE_VERSION = 0x347
OLD_LOG_CHANNEL_SERIAL = 0x3B
OLE_EPOCH = _dt.datetime(1899, 12, 30)
# (first record offset, column-count type, IDs offset) per data layout
DATA_LAYOUTS = {"v2": (0x195, "<B", 5), "v3": (0x196, "<B", 5), "new": (0x3EF, "<H", 6)}


@dataclass(frozen=True)
class Module:
    """One module: short name, header kind ('old'/'new'), version word, data span in the file
    (``start``, ``length`` bytes present) and ``missing``: the bytes its header declares
    beyond the end of the file (a file cut inside its data module; 0 otherwise)."""

    name: str
    header: str
    version: int
    start: int
    length: int
    missing: int = 0


def sniff(head: bytes, path: Path) -> int:
    """Confidence 0..100 that ``head`` starts a BioLogic .mpr file."""
    if head.startswith(MAGIC):
        return 100
    return 10 if str(path).lower().endswith(".mpr") else 0


def read(path: str | Path, **options: Any) -> list[Spectrum]:
    """Read every impedance sweep of a BioLogic ``.mpr`` file.

    Returns one :class:`Spectrum` per sweep (frequency in Hz, Z in ohm with
    Z'' < 0 capacitive). Raises a :class:`~eisfit.ReadError` subclass naming
    the file on any malformed input.
    """
    if options:
        raise ReadError(path, f"the mpr reader takes no options (got {', '.join(options)})")
    p = Path(path)
    buf = _read_bytes(p)
    modules = _walk_modules(buf, p)
    data_mod = _single_module(modules, "VMP data", p)
    columns, layout = _decode_data_module(buf, data_mod, p)
    frequency = columns.get(bl.FREQ)
    z = bl.impedance_from_columns(columns)
    if frequency is None or z is None:
        missing = "no freq/Hz with Re(Z)/-Im(Z) or |Z|/Phase(Z) columns"
        technique = _technique_code(buf, modules, p)
        if bl.TECHNIQUES.get(technique) in ("PEIS", "GEIS", "ZIR"):  # an impedance technique: damaged
            raise MissingColumnError(p, f"{bl.TECHNIQUES[technique]} file, but {missing}: a damaged file")
        raise NoImpedanceDataError(p, f"no impedance data{_technique_note(technique)}: {missing}")

    meta, start = _file_meta(buf, modules, data_mod, layout, p)
    loop_mod = _first_module(modules, "VMP loop")
    loop_starts = _loop_starts(buf, loop_mod, frequency.size, p) if loop_mod else None
    sweeps = bl.sweep_indices(frequency, columns, loop_starts, p)
    if not sweeps:
        raise ReadError(p, "no impedance points (every row has freq/Hz = 0)")
    bl.check_values(frequency, z, sweeps, p, lambda row: f"row {row}")
    extra = {k: v for k, v in columns.items() if k not in bl.FOLDED_COLUMNS}
    per_sweep = bl.sweep_start_times(start, columns.get(bl.TIME), sweeps)
    return build_spectra(p, frequency, z, meta, sweeps, extra, per_sweep)


def _technique_code(buf: bytes, modules: list["Module"], p: Path) -> int | None:
    """The technique code of the settings module (0x1D PEIS...), None without one."""
    set_mod = _first_module(modules, "VMP Set")
    try:
        return _settings_meta(buf, set_mod, p)["technique_code"] if set_mod else None
    except ReadError:
        return None


def _technique_note(code: int | None) -> str:
    """' (technique code 0x06, not an impedance technique)' for a settings module's code, else ''."""
    if code is None:
        return ""
    if code in bl.TECHNIQUES:  # Modulo Bat without an impedance sequence
        return f" ({bl.TECHNIQUES[code]} without impedance points)"
    return f" (technique code 0x{code:02X}, not an impedance technique)"


def _file_meta(buf: bytes, modules: list["Module"], data_mod: "Module", layout: str,
               p: Path) -> tuple[dict[str, Any], _dt.datetime | None]:
    """File-level meta (technique, area, start, software, layout) and the acquisition start."""
    meta: dict[str, Any] = {"format": FORMAT, "module_header": data_mod.header,
                            "data_version": data_mod.version, "data_layout": layout}
    set_mod = _first_module(modules, "VMP Set")
    meta.update(_settings_meta(buf, set_mod, p) if set_mod else
                {"technique": None, "technique_code": None, "area": None, "area_unit": None})
    meta["area_cm2"] = bl.area_in_cm2(meta["area"], meta["area_unit"])
    log_mod = _first_module(modules, "VMP LOG")
    start, version = _log_info(buf, log_mod, p) if log_mod else (None, None)
    meta["start_time"] = bl.iso_time(start)
    if version:
        meta["software"] = _software_name(version)
    meta["software_version"] = version
    meta.update(_channel(buf, log_mod) if log_mod else {})
    return meta, start


def _software_name(version: str | None) -> str | None:
    """The program that wrote a .mpr, from the version in its LOG module (the file names no
    program): 'EC-Lab' for versions 10 and up (EC-Lab 10.40-11.62 seen), else 'EC-Lab or
    BT-Lab' (BT-Lab 1.72 and 1.79 seen); None without a version."""
    if not version:
        return None
    try:
        major = int(version.split(".")[0])
    except ValueError:
        return "EC-Lab or BT-Lab"
    return "EC-Lab" if major >= 10 else "EC-Lab or BT-Lab"


def _channel(buf: bytes, mod: Module) -> dict[str, Any]:
    """``channel`` (1-based, as EC-Lab shows it) and ``channel_serial`` from the LOG module
    (checked against the 'Run on channel : N (SN S)' line of 12 real .mpt twins; EC-Lab 10.33's
    layout, :func:`_old_log_layout`, against two)."""
    data = buf[mod.start:mod.start + mod.length]
    if _old_log_layout(data):
        (serial,) = struct.unpack_from("<H", data, OLD_LOG_CHANNEL_SERIAL)
        return {"channel": data[LOG_CHANNEL], "channel_serial": str(serial)}
    if len(data) < LOG_CHANNEL_SERIAL + 4:
        return {}
    (serial,) = struct.unpack_from("<I", data, LOG_CHANNEL_SERIAL)
    return {"channel": data[LOG_CHANNEL] + 1, "channel_serial": str(serial)}


def _old_log_layout(data: bytes) -> bool:
    """Whether a LOG module's data are in EC-Lab 10.33's layout: no acquisition start at
    ``LOG_START_OLE`` but one at ``OLD_LOG_START_OLE`` and a version string at
    ``OLD_LOG_SOFTWARE_VERSION``."""
    return (len(data) >= OLD_LOG_SOFTWARE_VERSION + 8 and _ole_moment(data, LOG_START_OLE) is None
            and _ole_moment(data, OLD_LOG_START_OLE) is not None
            and _pascal_string(data, OLD_LOG_SOFTWARE_VERSION) is not None)


def _ole_moment(data: bytes, at: int) -> _dt.datetime | None:
    """The OLE Automation date (days since 1899-12-30, local time) at ``at``, None where the
    bytes hold none (out of the file, or outside 1900-9999)."""
    if len(data) < at + 8:
        return None
    (days,) = struct.unpack_from("<d", data, at)
    if not (np.isfinite(days) and 1.0 < days < 2958465.0):  # 1899-12-31 .. 9999-12-31
        return None
    return OLE_EPOCH + _dt.timedelta(milliseconds=round(days * 86_400_000))


# -- file and module structure ------------------------------------------------
def _read_bytes(p: Path) -> bytes:
    buf = file_bytes(p)
    if not buf:
        raise ReadError(p, "file is empty")
    if not buf.startswith(MAGIC):
        raise CorruptFileError(p, "not a BioLogic .mpr file (no 'BIO-LOGIC MODULAR FILE' magic)")
    if len(buf) < FIRST_MODULE:
        raise CorruptFileError(p, f"truncated in the file header ({len(buf)} of {FIRST_MODULE} bytes)")
    return buf


def _walk_modules(buf: bytes, p: Path) -> list[Module]:
    """Every module in file order, walked by the lengths in their headers.

    Damage before the end of the ``VMP data`` module is a CorruptFileError; after it (bytes
    that are no module, a module cut short: a file copied during acquisition, padded, or
    damaged at the end) the modules read so far are kept, with a ReadWarning saying what
    is lost (:data:`LOST_WITH_MODULE`)."""
    modules: list[Module] = []
    pos = FIRST_MODULE
    while pos < len(buf):
        try:
            module = _module_at(buf, pos, p)
        except CorruptFileError as exc:
            if not any(m.name == "VMP data" for m in modules):
                raise
            _warn_damage_after_the_data(buf, pos, exc, p)
            break
        modules.append(module)
        pos = module.start + module.length
    return modules


# what is unknown without a module (for the warning naming the loss)
LOST_WITH_MODULE = {
    "VMP LOG": "the acquisition start time, software version and channel are unknown",
    "VMP loop": "the loop indexes are unknown: the sweeps are split by cycle number or frequency instead",
}


def _warn_damage_after_the_data(buf: bytes, pos: int, exc: CorruptFileError, p: Path) -> None:
    """The ReadWarning for bytes after the data module that are no readable module."""
    rest = buf[pos:]
    if not any(rest):
        warn(f"{p.name}: {len(rest)} zero bytes after the last module ignored (padding)")
        return
    name = buf[pos + 6:pos + 16].decode("latin-1").strip() if rest.startswith(MODULE_TAG) else None
    lost = f"module {name!r} not read" if name else f"the {len(rest)} bytes from byte {pos} not read"
    if name in LOST_WITH_MODULE:
        lost += f": {LOST_WITH_MODULE[name]}"
    reason = str(exc).split(": ", 1)[-1]
    warn(f"{p.name}: the data are complete, but the file is damaged after them ({reason}); {lost}")


def _module_at(buf: bytes, pos: int, p: Path) -> Module:
    """The module whose header starts at byte ``pos``; CorruptFileError when there is none or
    it is cut short."""
    if buf[pos:pos + 6] != MODULE_TAG:
        raise CorruptFileError(p, f"expected a module at byte {pos}, found {buf[pos:pos + 6]!r}")
    if pos + OLD_HEADER_SIZE > len(buf):
        raise CorruptFileError(p, f"truncated in the header of the module at byte {pos}")
    name = buf[pos + 6:pos + 16].decode("latin-1").strip()
    (marker,) = struct.unpack_from("<I", buf, pos + 41)
    if marker == NEW_HEADER_MARKER:
        if pos + NEW_HEADER_SIZE > len(buf):
            raise CorruptFileError(p, f"truncated in the header of module {name!r} at byte {pos}")
        length, version, version2 = struct.unpack_from("<III", buf, pos + 45)
        kind, start = "new", pos + NEW_HEADER_SIZE
        version = version2 if name == "VMP data" else version
    else:
        length, version = struct.unpack_from("<II", buf, pos + 41)
        kind, start = "old", pos + OLD_HEADER_SIZE
    if start + length > len(buf):
        if name == "VMP data" and start <= len(buf):  # its complete records are read (_kept_records)
            return Module(name, kind, version, start, len(buf) - start, start + length - len(buf))
        raise CorruptFileError(
            p, f"module {name!r} at byte {pos} is truncated: it declares {length} bytes, "
            f"{len(buf) - start} remain")
    return Module(name, kind, version, start, length)


def _first_module(modules: list[Module], name: str) -> Module | None:
    return next((m for m in modules if m.name == name), None)


def _single_module(modules: list[Module], name: str, p: Path) -> Module:
    found = [m for m in modules if m.name == name]
    if not found:
        raise CorruptFileError(p, f"no {name!r} module")
    if len(found) > 1:
        warn(f"{p}: {len(found)} {name!r} modules; reading the first")
    return found[0]


# -- VMP data -------------------------------------------------------------------
NEW_DATA_VERSION = 11  # the second version word of every new-header data module seen (EC-Lab 11.50-11.62)


def _data_layout(mod: Module) -> str | None:
    """The layout of the data module (a key of ``DATA_LAYOUTS``), None for a version that no
    file seen so far has (:func:`_layout_read_from_values`)."""
    if mod.header == "new":
        return "new" if mod.version == NEW_DATA_VERSION else None
    if mod.version in (2, 3):
        return f"v{mod.version}"
    return None


def _decode_data_module(buf: bytes, mod: Module, p: Path) -> tuple[dict[str, np.ndarray], str]:
    """Columns (keyed by .mpt label) of the VMP data module, and the layout name."""
    layout = _data_layout(mod)
    if layout is None:
        layout = _layout_read_from_values(buf, mod, p)
    return _decode_with_layout(buf, mod, layout, p)


def _layout_read_from_values(buf: bytes, mod: Module, p: Path) -> str:
    """The layout of a data module whose version no file seen so far has (an EC-Lab version
    not yet met): the one known layout under which the module's records decode as impedance
    data (:func:`_plausible_impedance`), with a warning; else a CorruptFileError."""
    readable = []
    for layout in DATA_LAYOUTS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                columns, _ = _decode_with_layout(buf, mod, layout, p)
        except (ReadError, ValueError, struct.error):  # the layout does not fit the module
            continue
        if _plausible_columns(columns):
            readable.append(layout)
    known = str(NEW_DATA_VERSION) if mod.header == "new" else "2, 3"
    if len(readable) != 1:
        raise CorruptFileError(p, f"unsupported 'VMP data' module version {mod.version} (known: {known}), and "
                                  + ("no known layout decodes its records as impedance data" if not readable else
                                     f"the layouts {', '.join(readable)} all decode it: which one it has is not known"))
    warn(f"{p}: 'VMP data' module version {mod.version} is not one met so far ({known}); read with the layout of "
         f"{readable[0]}, the one under which its records decode as impedance data")
    return readable[0]


def _decode_with_layout(buf: bytes, mod: Module, layout: str, p: Path) -> tuple[dict[str, np.ndarray], str]:
    first_record, count_fmt, ids_at = DATA_LAYOUTS[layout]
    if mod.length < ids_at:
        raise CorruptFileError(p, "'VMP data' module too short for its point and column counts")
    (n_points,) = struct.unpack_from("<I", buf, mod.start)
    (n_cols,) = struct.unpack_from(count_fmt, buf, mod.start + 4)
    ids_end = ids_at + 2 * n_cols
    if n_cols == 0 or ids_end > first_record or ids_end > mod.length:
        raise CorruptFileError(p, f"'VMP data' module declares an impossible {n_cols} columns")
    ids = list(struct.unpack_from(f"<{n_cols}H", buf, mod.start + ids_at))
    if n_points == 0:
        raise ReadError(p, "the data module holds zero points")
    payload = mod.length + mod.missing - first_record  # bytes of records the module declares
    if payload <= 0:
        raise CorruptFileError(p, f"'VMP data' module has no room for its {n_points} records")
    dtype = _record_dtype(ids, n_points, payload, p, memoryview(buf)[mod.start + first_record:mod.start + mod.length])
    if n_points * dtype.itemsize > payload:
        raise CorruptFileError(
            p, f"data truncated: {n_points} records of {dtype.itemsize} bytes need "
            f"{n_points * dtype.itemsize} bytes, the module holds {payload}")
    _warn_records_beyond_count(buf, mod, first_record, n_points, dtype.itemsize, p)
    n_points = _kept_records(mod, first_record, n_points, dtype.itemsize, p)
    records = np.frombuffer(buf, dtype=dtype, count=n_points, offset=mod.start + first_record)
    flag_ids = [c for c in ids if c in bl.FLAG_MASKS]
    return _columns_from_records(records, flag_ids), layout


def _kept_records(mod: Module, first_record: int, n_points: int, record_size: int, p: Path) -> int:
    """How many records of the data module are read: all ``n_points`` of a complete module;
    of a module the file's end cuts short (a file copied during acquisition, a broken
    transfer), the complete ones, with a ReadWarning naming the file, how many are kept
    and what the modules after it held; CorruptFileError when not one record is complete."""
    if not mod.missing:
        return n_points
    present = max(mod.length - first_record, 0)
    kept = min(n_points, present // record_size)
    if kept == 0:
        raise CorruptFileError(p, f"module 'VMP data' is truncated before its first complete record: it "
                                  f"declares {mod.length + mod.missing} bytes, {mod.length} remain")
    warn(f"{p.name}: the file ends inside its 'VMP data' module ({mod.missing} of its {mod.length + mod.missing} "
         f"bytes missing): the {kept} complete record(s) of {n_points} are read; the modules after it, if any, "
         "are lost (the acquisition start time, software version, channel and loop indexes are unknown)")
    return kept


def _warn_records_beyond_count(buf: bytes, mod: Module, first_record: int, n_points: int, record_size: int,
                               p: Path) -> None:
    """A ReadWarning when the data module holds whole records, not all zero, after the
    ``n_points`` its count declares: a lowered or damaged count (an EC-Lab file being written
    keeps the count equal to the records present, FORMAT.md 2.4). The declared points are read."""
    end = mod.start + mod.length
    after = mod.start + first_record + n_points * record_size
    extra = (end - after) // record_size
    if extra < 1 or not any(buf[after:after + extra * record_size]):
        return
    warn(f"{p.name}: the 'VMP data' module holds {n_points + extra} records but its point count says "
         f"{n_points}: {extra} record(s) after the count are not read (a damaged or edited point count?)")


def _field_size(cid: int) -> int:
    return np.dtype(bl.COLUMNS[cid][1]).itemsize


def _record_dtype(ids: list[int], n_points: int, payload: int, p: Path, records: memoryview) -> np.dtype:
    """Structured dtype of one record: known columns at their offsets, unknown ones skipped.

    One unknown column ID takes what the record stride leaves. The sizes of several are
    read from the values (:func:`_sizes_read_from_values`); where the values cannot tell
    them, the columns before the first unknown are decoded, or, if the impedance is not
    among those, the file is refused."""
    unknown = [c for c in ids if c not in bl.COLUMNS and c not in bl.FLAG_MASKS]
    known_size = sum(_field_size(c) for c in ids if c in bl.COLUMNS)
    known_size += 1 if any(c in bl.FLAG_MASKS for c in ids) else 0
    if not unknown:
        return _build_dtype(ids, {}, known_size, p)
    if payload % n_points:
        raise CorruptFileError(
            p, f"unknown column ID(s) {unknown} and a data size ({payload} bytes) that is not a "
            f"multiple of the {n_points} points: cannot decode the records")
    stride = payload // n_points
    flags = any(c in bl.FLAG_MASKS for c in ids)
    if len(unknown) == 1:
        size = stride - known_size
        if size == 0 and flags:  # a flag of its own in the byte the flags share: nothing to skip
            warn(f"{p}: unknown column ID {unknown[0]} takes no bytes of its own (a new flag in the flags "
                 "byte?): skipped")
        elif not 1 <= size <= 16:
            raise CorruptFileError(
                p, f"unknown column ID {unknown[0]}: inferred size {size} bytes is impossible")
        else:
            warn(f"{p}: unknown column ID {unknown[0]} ({size} bytes per point) skipped")
        return _build_dtype(ids, {unknown[0]: size}, stride, p)
    sizes = UNKNOWN_FIELD_SIZES + ((0,) if flags else ())  # with flags, an unknown ID may be a new flag
    present = min(n_points, len(records) // stride)  # fewer in a file cut inside the module
    skipped = _sizes_read_from_values(ids, unknown, stride - known_size, stride, present, p, records, sizes)
    if skipped is not None:
        unsure = [bl.COLUMNS[c][0] for c in skipped if c in bl.COLUMNS]
        warn(f"{p}: unknown column IDs {unknown} skipped ({stride - known_size} bytes per point; where the "
             "impedance columns sit was read from the values: the one place where frequencies and "
             "impedances agree)" + (f"; columns between them left out: {', '.join(unsure)}" if unsure else ""))
        return _build_dtype(ids, skipped, stride, p)
    decodable = ids[:ids.index(unknown[0])]
    if not _has_impedance_ids(decodable) and _has_impedance_ids(ids):
        raise CorruptFileError(
            p, f"several unknown column IDs {unknown} precede the impedance columns: their sizes "
            "cannot be inferred, so the impedance cannot be decoded")
    warn(f"{p}: several unknown column IDs {unknown}; only the columns before ID "
         f"{unknown[0]} can be decoded")
    return _build_dtype(decodable, {}, stride, p)


UNKNOWN_FIELD_SIZES = (2, 4, 8)  # the sizes of every known column type (u16; f32, u32; f64)
MAX_UNKNOWN_LAYOUTS = 4096  # size assignments tried at most (3^7: seven unknown IDs; 4^6 with flags)
ZPHASE_CHECK_RTOL = 1e-3  # |Z| against hypot(Re, Im): both stored as f32 (~6e-8), so far inside
SIZE_SEARCH_POINTS = 4096  # records on which every size assignment is tried first


def _sizes_read_from_values(ids: list[int], unknown: list[int], room: int, stride: int, n_points: int,
                            p: Path, records: memoryview, sizes: tuple[int, ...] = UNKNOWN_FIELD_SIZES
                            ) -> dict[int, int] | None:
    """The columns to skip, with their sizes (bytes), where several unknown columns take
    ``room`` bytes of each record: every assignment of ``sizes`` (those of the known column
    types; 0 too where the file has flags: a new flag shares their byte) to the unknown
    ones whose sum fits is tried, and those under which the records decode as impedance
    data (:func:`_plausible_impedance`) are kept. None when none is, when they put the
    frequency or the impedance at different offsets, or when the file holds no impedance.
    Known columns that the kept assignments put at different offsets (a charge between two
    unknown columns) are skipped too: their values are not known."""
    if not _has_impedance_ids(ids) or len(sizes) ** len(unknown) > MAX_UNKNOWN_LAYOUTS:
        return None
    layouts = [(dict(zip(unknown, assigned)), _build_dtype(ids, dict(zip(unknown, assigned)), stride, p))
               for assigned in itertools.product(sizes, repeat=len(unknown)) if sum(assigned) == room]

    def plausible_on(count: int, pool: list) -> list:
        return [(a, d) for a, d in pool if _plausible_impedance(np.frombuffer(records, dtype=d, count=count))]

    # every layout on the first points, then the survivors on all; every layout on all where none
    # survives (a Modulo Bat file may begin with thousands of cycling rows: frequency 0)
    head = min(n_points, SIZE_SEARCH_POINTS)
    plausible = plausible_on(head, layouts)
    if head < n_points:
        plausible = plausible_on(n_points, plausible) or plausible_on(n_points, layouts)
    if not plausible:
        return None
    offsets = {name: {dtype.fields[name][1] for _, dtype in plausible} for name in plausible[0][1].names}
    if any(len(offsets.get(name, ())) > 1 for name in _IMPEDANCE_LABELS):
        return None
    skipped = dict(plausible[0][0])
    for cid in ids:
        if cid in bl.COLUMNS and len(offsets.get(bl.COLUMNS[cid][0], ())) > 1:
            skipped[cid] = _field_size(cid)
    return skipped


_IMPEDANCE_LABELS = (bl.FREQ, bl.RE_Z, bl.MINUS_IM_Z, bl.MOD_Z, bl.PHASE_Z)


def _plausible_impedance(records: np.ndarray) -> bool:
    """:func:`_plausible_columns` of decoded records."""
    return _plausible_columns({name: records[name] for name in records.dtype.names})


def _plausible_columns(columns: dict[str, np.ndarray]) -> bool:
    """Whether decoded columns hold impedance data: frequencies 0 (DC rows) or within
    1 µHz-1 GHz and at least one not 0, stepping as a sweep does (:func:`_sweeps_like`),
    finite impedances below ``MAX_MODULUS_OHM``, phases within +-180 degrees, |Z| = hypot(Re, Im)
    where both pairs are stored, a time that never runs backwards. Values read at a wrong
    offset fail these on almost every record; those of another column read as the
    frequency (a voltage, a resistance) do not step as a sweep."""
    if bl.FREQ not in columns:
        return False
    with np.errstate(all="ignore"):
        f = columns[bl.FREQ].astype(float)
        ac = f != 0
        if not ac.any() or not np.all(np.isfinite(f)) or np.any((f[ac] < MIN_FREQUENCY_HZ) | (f[ac] > MAX_FREQUENCY_HZ)):
            return False
        if not _sweeps_like(f[ac]):
            return False
        parts = {name: columns[name][ac].astype(float) for name in _IMPEDANCE_LABELS[1:] if name in columns}
        if not ({bl.RE_Z, bl.MINUS_IM_Z} <= parts.keys() or {bl.MOD_Z, bl.PHASE_Z} <= parts.keys()):
            return False
        if any(not np.all(np.isfinite(v) & (np.abs(v) < MAX_MODULUS_OHM)) for v in parts.values()):
            return False
        if bl.PHASE_Z in parts and np.any(np.abs(parts[bl.PHASE_Z]) > 180):
            return False
        if bl.MOD_Z in parts and np.any(parts[bl.MOD_Z] < 0):
            return False
        if len(parts) == 4:
            modulus = np.hypot(parts[bl.RE_Z], parts[bl.MINUS_IM_Z])
            if np.any(np.abs(modulus - parts[bl.MOD_Z]) > ZPHASE_CHECK_RTOL * np.maximum(modulus, 1e-30)):
                return False
        if bl.TIME in columns:
            t = columns[bl.TIME].astype(float)
            if not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0):
                return False
    return True


SWEEP_STEP_DECADES = (1e-3, 1.5)  # |log10 step| between points of a sweep: 1,000 points per decade to 1 in 1.5 decades
SWEEP_STEP_SHARE = 0.8  # share of consecutive frequencies that must step so (resets, repeats aside)


def _sweeps_like(f_hz: np.ndarray) -> bool:
    """Whether non-zero frequencies step as sweeps do: most consecutive pairs between
    1/1000 and 1.5 decades apart (a new sweep's reset and a repeated point are the
    exceptions). A single point (ZIR) passes."""
    if f_hz.size < 2:
        return True
    step = np.abs(np.diff(np.log10(f_hz)))
    return np.mean((step > SWEEP_STEP_DECADES[0]) & (step < SWEEP_STEP_DECADES[1])) >= SWEEP_STEP_SHARE


def _has_impedance_ids(ids: list[int]) -> bool:
    """Frequency plus Re/-Im or |Z|/phase (IDs 32 + 37/38 or 36/35)."""
    s = set(ids)
    return 32 in s and ({37, 38} <= s or {35, 36} <= s)


def _build_dtype(ids: list[int], unknown_sizes: dict[int, int], stride: int, p: Path) -> np.dtype:
    names: list[str] = []
    formats: list[str] = []
    offsets: list[int] = []
    offset = 0
    flags_placed = False
    for cid in ids:
        if cid in bl.FLAG_MASKS:
            if not flags_placed:
                names.append("_flags")
                formats.append("u1")
                offsets.append(offset)
                offset += 1
                flags_placed = True
            continue
        if cid in unknown_sizes:
            offset += unknown_sizes[cid]
            continue
        label, fmt = bl.COLUMNS[cid]
        if label in names:
            label = f"{label} (ID {cid})"
        names.append(label)
        formats.append(fmt)
        offsets.append(offset)
        offset += np.dtype(fmt).itemsize
    if offset > stride:
        raise CorruptFileError(p, f"columns need {offset} bytes per record, only {stride} available")
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": stride})


def _columns_from_records(records: np.ndarray, flag_ids: list[int]) -> dict[str, np.ndarray]:
    """Plain arrays per column: floats as float64, counters as int64, flag bits unpacked."""
    columns: dict[str, np.ndarray] = {}
    for name in records.dtype.names:
        values = records[name]
        if name == "_flags":
            for cid in flag_ids:
                label, mask = bl.FLAG_MASKS[cid]
                shift = (mask & -mask).bit_length() - 1
                columns[label] = ((values & mask) >> shift).astype(np.int64)
        else:
            columns[name] = values.astype(np.float64 if values.dtype.kind == "f" else np.int64)
    return columns


# -- VMP Set / LOG / loop ---------------------------------------------------------
def _settings_meta(buf: bytes, mod: Module, p: Path) -> dict[str, Any]:
    """Technique and electrode area (value and unit) from the VMP Set module."""
    data = buf[mod.start:mod.start + mod.length]
    code = data[0] if data else None
    area = unit = None
    if len(data) >= SET_AREA + 4:
        (value,) = struct.unpack_from("<f", data, SET_AREA)
        area = float(value) if np.isfinite(value) else None
    if len(data) > SET_AREA_UNIT:
        unit = AREA_UNITS.get(data[SET_AREA_UNIT])
        if unit is None and area:
            warn(f"{p}: unknown electrode-area unit code {data[SET_AREA_UNIT]}; "
                 "area_cm2 left unknown")
    technique = bl.TECHNIQUES.get(code, f"unknown (0x{code:02X})") if code is not None else None
    return {"technique": technique, "technique_code": code, "area": area, "area_unit": unit}


def _log_info(buf: bytes, mod: Module, p: Path) -> tuple[_dt.datetime | None, str | None]:
    """Acquisition start (naive local time) and software version from the VMP LOG module."""
    data = buf[mod.start:mod.start + mod.length]
    if _old_log_layout(data):
        return _ole_moment(data, OLD_LOG_START_OLE), _pascal_string(data, OLD_LOG_SOFTWARE_VERSION)
    start = _ole_moment(data, LOG_START_OLE)
    if start is None and len(data) >= LOG_START_OLE + 8:
        warn(f"{p}: implausible acquisition start in the LOG module; start_time unknown")
    return start, _pascal_string(data, LOG_SOFTWARE_VERSION)


def _pascal_string(data: bytes, at: int, max_len: int = 16) -> str | None:
    if len(data) <= at:
        return None
    n = data[at]
    text = data[at + 1:at + 1 + n]
    if n == 0 or n > max_len or len(text) < n:
        return None
    s = text.decode("cp1252", errors="replace").strip()
    return s if s.isprintable() and s else None


def _loop_starts(buf: bytes, mod: Module, n_points: int, p: Path) -> list[int] | None:
    """Row index where each loop starts, ending with the point count; None if unusable."""
    if mod.length < 4:
        return None
    (n,) = struct.unpack_from("<I", buf, mod.start)
    if n < 2 or 4 + 4 * n > mod.length:
        return None
    starts = np.frombuffer(buf, dtype="<u4", count=n, offset=mod.start + 4).astype(np.int64)
    if starts[0] != 0 or np.any(np.diff(starts) < 0) or starts[-1] > n_points:
        warn(f"{p}: inconsistent 'VMP loop' indices ignored")
        return None
    out = starts.tolist()
    if out[-1] < n_points:
        out.append(n_points)
    return out
