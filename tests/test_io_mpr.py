"""BioLogic .mpr reader on synthetic files made by a tiny writer (always run)."""
from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

import eisfit
from eisfit.errors import CorruptFileError, MissingColumnError, ReadError
from eisfit.io import mpr

# -- a tiny .mpr writer ------------------------------------------------------------
# ID -> numpy type, for the IDs the synthetic files use (unknown IDs get explicit types).
TYPES = {4: "<f8", 24: "<f8", 32: "<f4", 35: "<f4", 36: "<f4", 37: "<f4", 38: "<f4",
         39: "<u2", 77: "<f4", 131: "<u2", 469: "<u4", 880: "<f8"}
FLAG_BITS = {1: (0x03, 0), 2: (0x04, 2), 3: (0x08, 3), 21: (0x10, 4), 31: (0x20, 5), 65: (0x80, 7)}
FIRST_RECORD = {"v2": 0x195, "v3": 0x196, "new": 0x3EF}
OLE_2021_03_03_204041 = 44258 + (20 * 3600 + 40 * 60 + 41) / 86400  # 2021-03-03 20:40:41


def module_bytes(short: str, data: bytes, header: str, version: int = 0, version2: int = 10) -> bytes:
    """One module: 'MODULE', names, (marker,) length, version(s), date, then the data."""
    names = short.ljust(10).encode() + short.ljust(25).encode()
    if header == "new":
        fields = struct.pack("<IIII", 0xFFFFFFFF, len(data), version, version2)
    else:
        fields = struct.pack("<II", len(data), version)
    return b"MODULE" + names + fields + b"03/03/21" + data


def data_module(columns: dict[int, np.ndarray], layout: str, types: dict[int, str] | None = None,
                n_points: int | None = None) -> bytes:
    """VMP data content: point count, column count and IDs, gap, packed records."""
    types = {**TYPES, **(types or {})}
    ids = list(columns)
    n = len(next(iter(columns.values())))
    head = struct.pack("<I", n if n_points is None else n_points)
    head += struct.pack("<H" if layout == "new" else "<B", len(ids))
    head += struct.pack(f"<{len(ids)}H", *ids)
    first = FIRST_RECORD[layout]
    head = head.ljust(first - 1, b"\0") + (b"\0" if layout == "v2" else b"\x01")
    fields, flags_done = [], False
    for cid in ids:
        if cid in FLAG_BITS:
            if not flags_done:
                byte = np.zeros(n, dtype=np.uint8)
                for fid in ids:
                    if fid in FLAG_BITS:
                        mask, shift = FLAG_BITS[fid]
                        byte |= ((np.asarray(columns[fid], dtype=np.uint8) << shift) & mask)
                fields.append(("flags", "u1", byte))
                flags_done = True
            continue
        fields.append((f"c{cid}", types[cid], columns[cid]))
    rec = np.zeros(n, dtype=[(name, t) for name, t, _ in fields])
    for name, _, values in fields:
        rec[name] = values
    return head + rec.tobytes()


def settings_module(technique: int = 0x1D, area: float = 1.13, unit: int = 2, size: int = 0x300) -> bytes:
    data = bytearray(size)
    data[0] = technique
    struct.pack_into("<f", data, 0x211, area)
    data[0x250] = unit
    return bytes(data)


def log_module(ole_days: float = OLE_2021_03_03_204041, version: str = "11.33") -> bytes:
    data = bytearray(0x400)
    struct.pack_into("<d", data, 0x249, ole_days)
    data[0x3B7] = len(version)
    data[0x3B8:0x3B8 + len(version)] = version.encode()
    return bytes(data)


def old_log_module(ole_days: float = OLE_2021_03_03_204041, version: str = "10.33", channel: int = 2,
                   serial: int = 6986) -> bytes:
    """A LOG module in EC-Lab 10.33's layout (start at 0x1D9, version at 0x347, a u16 serial at
    0x3B, the channel byte 1-based), as two real files hold it."""
    data = bytearray(0xB07)
    data[4], data[0x09] = 2, channel
    struct.pack_into("<H", data, 0x3B, serial)
    struct.pack_into("<d", data, 0x1D9, ole_days)
    data[0x347] = len(version)
    data[0x348:0x348 + len(version)] = version.encode()
    return bytes(data)


def loop_module(starts: list[int]) -> bytes:
    return struct.pack(f"<I{len(starts)}I", len(starts), *starts) + bytes(256)


def write_mpr(path: Path, columns: dict[int, np.ndarray], *, layout: str = "v3", technique: int = 0x1D,
              area: float = 1.13, unit: int = 2, log: bool = True, loop: list[int] | None = None,
              extdev: bool = False, extra_module: bool = False, types: dict[int, str] | None = None,
              n_points: int | None = None) -> Path:
    """Write a small .mpr with the given columns (ID -> values) in the chosen layout."""
    header = "new" if layout == "new" else "old"
    data_version = {"v2": 2, "v3": 3, "new": 0}[layout]
    mods = [module_bytes("VMP Set", settings_module(technique, area, unit), header)]
    if extdev:
        mods.append(module_bytes("VMP ExtDev", bytes(443), header))
    if extra_module:
        mods.append(module_bytes("VMP FUTURE", b"\x07" * 100, header))
    mods.append(module_bytes("VMP data", data_module(columns, layout, types, n_points), header,
                             data_version, 11))
    if log:
        mods.append(module_bytes("VMP LOG", log_module(), header))
    if loop is not None:
        mods.append(module_bytes("VMP loop", loop_module(loop), header))
    path.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a" + b" " * 25 + bytes(4) + b"".join(mods))
    return path


def rc_impedance(f: np.ndarray, r0: float = 10.0, r1: float = 100.0, c1: float = 1e-6) -> np.ndarray:
    """Z of R0 + (R1 || C1), ohm."""
    return r0 + r1 / (1 + 2j * np.pi * f * r1 * c1)


def peis_columns(n_sweeps: int = 2, n_per: int = 11, dc_rows: int = 3, cycle: bool = True) -> dict[int, np.ndarray]:
    """PEIS-like columns: dc_rows of freq 0, then n_sweeps descending sweeps."""
    f_sweep = np.logspace(5, 0, n_per)
    f = np.concatenate([np.zeros(dc_rows)] + [f_sweep] * n_sweeps)
    z = rc_impedance(np.where(f > 0, f, 1.0))
    z[f == 0] = 0
    cyc = np.concatenate([np.ones(dc_rows)] + [np.full(n_per, k + 1.0) for k in range(n_sweeps)])
    cols = {32: f, 37: z.real, 38: -z.imag, 36: np.abs(z), 35: np.degrees(np.angle(z)),
            4: np.arange(f.size) * 1.5 + 100.0, 77: np.full(f.size, 3.4)}
    if cycle:
        cols[24] = cyc
    cols[39] = np.full(f.size, 10)
    return cols


def f32(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).astype(np.float64)


# -- layouts ---------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["v2", "v3", "new"])
@pytest.mark.parametrize("log", [True, False])
def test_layouts_decode_the_written_values(tmp_path, layout, log):
    cols = peis_columns()
    p = write_mpr(tmp_path / f"s_{layout}.mpr", cols, layout=layout, log=log)
    spectra = mpr.read(p)
    assert len(spectra) == 2
    eis = cols[32] > 0
    f_all = np.concatenate([s.frequency for s in spectra])
    z_all = np.concatenate([s.z for s in spectra])
    np.testing.assert_array_equal(f_all, f32(cols[32][eis]))
    np.testing.assert_array_equal(z_all.real, f32(cols[37][eis]))
    np.testing.assert_array_equal(z_all.imag, -f32(cols[38][eis]))
    assert np.all(z_all.imag < 0)  # capacitive arc: Z'' < 0
    s0 = spectra[0]
    np.testing.assert_array_equal(s0.columns["time/s"], cols[4][3:14])
    assert set(s0.columns) >= {"time/s", "<Ewe>/V", "cycle number", "I Range", "|Z|/Ohm", "Phase(Z)/deg"}
    m = s0.meta
    assert m["format"] == "biologic-mpr" and m["technique"] == "PEIS" and m["technique_code"] == 0x1D
    assert m["module_header"] == ("new" if layout == "new" else "old")
    assert m["data_layout"] == layout
    assert m["sweep"] == 0 and m["n_sweeps"] == 2
    assert m["area_unit"] == "cm2" and m["area_cm2"] == pytest.approx(1.13)
    if log:
        assert m["start_time"] == "2021-03-03T20:40:41.000"
        assert m["software_version"] == "11.33"
        # 3 DC rows at 1.5 s each before the first sweep point (time/s = 104.5 s)
        assert s0.meta["sweep_start_time"] == "2021-03-03T20:42:25.500"
    else:
        assert m["start_time"] is None and m["software_version"] is None
        assert m["sweep_start_time"] is None


def test_area_in_mm2_is_converted(tmp_path):
    p = write_mpr(tmp_path / "mm2.mpr", peis_columns(1), layout="new", area=113.1, unit=3)
    m = mpr.read(p)[0].meta
    assert m["area_unit"] == "mm2"
    assert m["area"] == pytest.approx(113.1, rel=1e-6)
    assert m["area_cm2"] == pytest.approx(1.131, rel=1e-6)


def test_modulo_bat_with_flags_ids_above_255_and_modulus_phase_only(tmp_path):
    n_per = 9
    f_sweep = np.logspace(4, 1, n_per)
    f = np.concatenate([np.zeros(4), f_sweep, np.zeros(4), f_sweep])
    z = rc_impedance(np.where(f > 0, f, 1.0))
    zc = np.concatenate([np.zeros(4), np.zeros(n_per), np.ones(4), np.ones(n_per)])
    cols = {1: np.full(f.size, 3), 2: np.ones(f.size), 3: np.zeros(f.size), 21: np.ones(f.size),
            131: np.full(f.size, 2), 4: np.arange(f.size, dtype=float), 32: f, 36: np.abs(z),
            35: np.degrees(np.angle(z)), 880: np.linspace(0, 1, f.size), 469: zc}
    p = write_mpr(tmp_path / "mb.mpr", cols, layout="new", technique=0x7F)
    spectra = mpr.read(p)
    assert [len(s) for s in spectra] == [n_per, n_per]
    s = spectra[1]
    assert s.meta["technique"] == "MB"
    expected = f32(np.abs(z)) * np.exp(1j * np.radians(f32(np.degrees(np.angle(z)))))
    np.testing.assert_allclose(s.z, expected[f > 0][n_per:], rtol=1e-12)
    np.testing.assert_allclose(s.z, rc_impedance(f_sweep), rtol=1e-5)
    assert np.all(s.columns["z cycle"] == 1)
    assert np.all(s.columns["mode"] == 3) and np.all(s.columns["ox/red"] == 1)
    assert np.all(s.columns["control changes"] == 1) and np.all(s.columns["error"] == 0)
    np.testing.assert_array_equal(s.columns["Energy we/W.h"], np.linspace(0, 1, f.size)[-n_per:])


def test_u16_column_count_with_many_columns(tmp_path):
    """More than 255 columns needs the 2-byte count of the new layout."""
    cols = peis_columns(1)
    types = {}
    for k in range(260):
        cols[2000 + k] = np.zeros(cols[32].size)
        types[2000 + k] = "<u2"
    with pytest.warns(UserWarning, match="several unknown column IDs"):
        spectra = mpr.read(write_mpr(tmp_path / "wide.mpr", cols, layout="new", types=types))
    assert len(spectra[0]) == 11


def test_one_unknown_column_is_skipped_with_a_warning(tmp_path):
    cols = peis_columns()
    unknown = {32: cols.pop(32)}
    cols = {**unknown, 999: np.arange(cols[37].size, dtype=float), **cols}  # unknown right after freq
    with pytest.warns(UserWarning, match="unknown column ID 999 \\(8 bytes"):
        spectra = mpr.read(write_mpr(tmp_path / "u.mpr", cols, types={999: "<f8"}))
    assert len(spectra) == 2
    np.testing.assert_array_equal(spectra[0].z.real, f32(cols[37][3:14]))
    np.testing.assert_array_equal(spectra[1].columns["time/s"], cols[4][14:])


def test_several_unknown_columns_after_impedance_decode_with_warning(tmp_path):
    cols = peis_columns()
    cols[901] = np.zeros(cols[32].size)
    cols[902] = np.zeros(cols[32].size)
    with pytest.warns(UserWarning, match=r"IDs \[901, 902\] skipped \(10 bytes per point"):
        spectra = mpr.read(write_mpr(tmp_path / "u2.mpr", cols, types={901: "<u2", 902: "<f8"}))
    assert len(spectra) == 2
    np.testing.assert_array_equal(spectra[1].z.real, f32(cols[37][14:]))


def test_several_unknown_columns_before_the_impedance_take_the_sizes_the_values_allow(tmp_path):
    """Newer EC-Lab versions add column IDs: their sizes are read from the values (the one
    assignment of 2/4/8 bytes under which frequencies, Re/-Im and |Z|/phase agree)."""
    cols = peis_columns()
    n = cols[32].size
    rng = np.random.default_rng(5)
    cols = {4: cols.pop(4), 901: rng.integers(0, 60000, n), 32: cols.pop(32), 902: rng.normal(size=n),
            37: cols.pop(37), 903: rng.normal(size=n), **cols}
    types = {901: "<u2", 902: "<f8", 903: "<f4"}
    with pytest.warns(UserWarning, match=r"IDs \[901, 902, 903\] skipped \(14 bytes per point"):
        spectra = mpr.read(write_mpr(tmp_path / "u3.mpr", cols, types=types))
    assert [len(s) for s in spectra] == [11, 11]  # the cycle counter after the unknowns splits them
    np.testing.assert_array_equal(spectra[0].frequency, f32(cols[32][3:14]))
    np.testing.assert_array_equal(spectra[1].z.real, f32(cols[37][14:]))
    np.testing.assert_array_equal(spectra[1].z.imag, -f32(cols[38][14:]))
    np.testing.assert_array_equal(spectra[0].columns["time/s"], cols[4][3:14])


def test_unknown_columns_around_a_re_im_pair_alone_are_sized_by_the_sweep(tmp_path):
    """Without |Z| and phase to check Re/-Im against, the frequency must step as a sweep:
    here the other layout reads a constant voltage (3.4 V, in the low half of an 8-byte
    unknown column) as the frequency, with the same Re/-Im and time."""
    cols = peis_columns()
    n = cols[32].size
    volts = np.full(n, 3.4, dtype="<f4").view("<u4").astype(np.uint64)
    cols = {911: np.full(n, 7.0), 32: cols[32], 912: volts | (np.uint64(12345) << np.uint64(32)),
            37: cols[37], 38: cols[38], 4: cols[4], 24: cols[24]}
    with pytest.warns(UserWarning, match="read from the values"):
        spectra = mpr.read(write_mpr(tmp_path / "u4.mpr", cols, types={911: "<f4", 912: "<u8"}))
    assert [len(s) for s in spectra] == [11, 11]
    np.testing.assert_array_equal(spectra[0].frequency, f32(cols[32][3:14]))
    np.testing.assert_array_equal(spectra[0].z.real, f32(cols[37][3:14]))


def test_an_unknown_flag_id_takes_no_bytes(tmp_path, monkeypatch):
    """An ID no reader knows that shares the flags byte (bit 0x40 is unassigned): it takes no
    bytes of its own, alone or beside an unknown column of 8 bytes."""
    monkeypatch.setitem(FLAG_BITS, 66, (0x40, 6))  # the writer packs it into the flags byte
    cols = peis_columns()
    n = cols[32].size
    flags = {1: np.ones(n), 2: np.zeros(n), 66: np.ones(n)}
    with pytest.warns(UserWarning, match="unknown column ID 66 takes no bytes"):
        spectra = mpr.read(write_mpr(tmp_path / "flag.mpr", {**flags, **cols}))
    np.testing.assert_array_equal(spectra[1].z.real, f32(cols[37][14:]))
    more = {**flags, 4: cols.pop(4), 921: np.arange(n, dtype=float), **cols}
    with pytest.warns(UserWarning, match=r"IDs \[66, 921\] skipped \(8 bytes per point"):
        spectra = mpr.read(write_mpr(tmp_path / "flag2.mpr", more, types={921: "<f8"}))
    assert [len(s) for s in spectra] == [11, 11]
    np.testing.assert_array_equal(spectra[0].frequency, f32(cols[32][3:14]))
    np.testing.assert_array_equal(spectra[1].z.imag, -f32(cols[38][14:]))


def test_unknown_column_sizes_are_found_after_a_long_run_of_dc_rows(tmp_path):
    """The sizes are first tried on the first records (mpr.SIZE_SEARCH_POINTS): a file that
    begins with more rows of frequency 0 than that (a Modulo Bat file's cycling) is searched
    whole."""
    cols = peis_columns(n_sweeps=3, dc_rows=mpr.SIZE_SEARCH_POINTS + 100)
    n = cols[32].size
    cols = {4: cols.pop(4), 901: np.arange(n) % 60000, 32: cols.pop(32),
            902: np.random.default_rng(1).normal(size=n), **cols}
    with pytest.warns(UserWarning, match="read from the values"):
        spectra = mpr.read(write_mpr(tmp_path / "long.mpr", cols, types={901: "<u2", 902: "<f8"}))
    assert [len(s) for s in spectra] == [11, 11, 11]
    np.testing.assert_array_equal(spectra[2].z.real, f32(cols[37][-11:]))


def test_too_many_unknown_columns_before_the_impedance_raise(tmp_path):
    unknown = {900 + k: np.zeros(14) for k in range(8)}  # 3^8 size assignments: not tried
    p = write_mpr(tmp_path / "u8.mpr", {**unknown, **peis_columns(1)}, types={c: "<u2" for c in unknown})
    with pytest.raises(CorruptFileError, match="u8.mpr.*precede the impedance"):
        mpr.read(p)


def test_extdev_and_unknown_modules_are_skipped(tmp_path):
    p = write_mpr(tmp_path / "x.mpr", peis_columns(), extdev=True, extra_module=True, log=False)
    assert len(mpr.read(p)) == 2


def test_loop_module_defines_the_sweeps(tmp_path):
    cols = peis_columns(3, cycle=False)  # 3 DC rows + 3 x 11
    p = write_mpr(tmp_path / "loop.mpr", cols, loop=[0, 14, 25, 36])
    assert [len(s) for s in mpr.read(p)] == [11, 11, 11]


def test_frequency_resets_split_when_no_counter(tmp_path):
    p = write_mpr(tmp_path / "reset.mpr", peis_columns(3, cycle=False))
    assert [len(s) for s in mpr.read(p)] == [11, 11, 11]


def test_single_point_zir(tmp_path):
    cols = {k: v[3:4] for k, v in peis_columns(1).items()}
    spectra = mpr.read(write_mpr(tmp_path / "zir.mpr", cols, technique=0x32, layout="v2"))
    assert len(spectra) == 1 and len(spectra[0]) == 1
    assert spectra[0].meta["technique"] == "ZIR"


def test_many_sweeps_read(tmp_path):
    spectra = mpr.read(write_mpr(tmp_path / "big.mpr", peis_columns(60, 41, 29)))
    assert len(spectra) == 60


# -- sniffing ---------------------------------------------------------------------------
def test_sniff_is_content_based(tmp_path):
    p = write_mpr(tmp_path / "a.bin", peis_columns(1))
    assert mpr.sniff(p.read_bytes()[:8192], p) == 100
    assert mpr.sniff(b"freq\tZ\n", Path("x.mpr")) == 10
    assert mpr.sniff(b"freq\tZ\n", Path("x.txt")) == 0


def test_dispatcher_reads_mpr(tmp_path):
    import eisfit

    p = write_mpr(tmp_path / "d.mpr", peis_columns())
    assert len(eisfit.read(p, format="mpr")) == 2


# -- bad input ---------------------------------------------------------------------------
def _good_bytes(tmp_path) -> bytes:
    return write_mpr(tmp_path / "good.mpr", peis_columns()).read_bytes()


def _expect(tmp_path, content: bytes, error=ReadError, match: str | None = None):
    p = tmp_path / "bad.mpr"
    p.write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error) as info:
            mpr.read(p)
    assert "bad.mpr" in str(info.value)
    if match:
        assert match in str(info.value)


def test_empty_file(tmp_path):
    _expect(tmp_path, b"", ReadError, "empty")


def test_wrong_magic_and_garbage(tmp_path):
    _expect(tmp_path, b"BIO-LOGIX MODULAR FILE" + bytes(100), CorruptFileError, "magic")
    _expect(tmp_path, np.random.default_rng(0).bytes(5000), CorruptFileError)


@pytest.mark.parametrize("cut", [10, 0x34 + 3, 0x34 + 30, 0x34 + 60, 0x34 + 65 + 100])
def test_truncated_in_header_or_module(tmp_path, cut):
    _expect(tmp_path, _good_bytes(tmp_path)[:cut], CorruptFileError)


@pytest.mark.parametrize("log", [False, True])
def test_a_file_cut_inside_its_data_module_keeps_the_complete_records_with_a_warning(tmp_path, log):
    """A .mpr cut inside its data module (a copy taken during acquisition, a broken transfer)
    was refused outright ('module 'VMP data' ... is truncated'), though all but its last
    records were there; a cut .mpt keeps its complete rows. Cut 7 bytes into the last record
    (the data module last), or 100 bytes before the data's end (the LOG after it lost too)."""
    cols = peis_columns()
    n = len(cols[32])
    good = write_mpr(tmp_path / "good.mpr", cols, log=log)
    whole = good.read_bytes()
    log_size = len(module_bytes("VMP LOG", log_module(), "old")) if log else 0
    p = tmp_path / "cut.mpr"
    p.write_bytes(whole[:len(whole) - log_size - (100 if log else 7)])
    with pytest.warns(UserWarning, match=rf"cut.mpr: the file ends inside its 'VMP data' module .*: the "
                                         rf"\d+ complete record\(s\) of {n} are read"):
        spectra = eisfit.read(p)
    want = eisfit.read(good)
    kept = sum(len(s) for s in spectra)
    assert 0 < kept < sum(len(s) for s in want)
    assert "start_time" not in spectra[0].meta or spectra[0].meta["start_time"] is None
    np.testing.assert_array_equal(spectra[0].z, want[0].z[:len(spectra[0])])


def test_a_file_cut_before_the_first_complete_record_is_refused(tmp_path):
    p = write_mpr(tmp_path / "t.mpr", peis_columns(), log=False)
    head = p.read_bytes()
    cut = head.index(b"VMP data") - 6 + mpr.OLD_HEADER_SIZE + mpr.DATA_LAYOUTS["v3"][0] + 3
    _expect(tmp_path, head[:cut], CorruptFileError, "truncated before its first complete record")


@pytest.mark.parametrize("damage, message", [
    (lambda b: b + bytes(10), "10 zero bytes after the last module ignored"),
    (lambda b: b[:-100], "module 'VMP LOG' at byte \\d+ is truncated.*module 'VMP LOG' not read: the acquisition "
                         "start time, software version and channel are unknown"),
    (lambda b: b + b"\x07" * 30, "the 30 bytes from byte \\d+ not read"),
])
def test_damage_after_the_data_module_keeps_the_data_with_a_warning(tmp_path, damage, message):
    """Ten zero bytes after the last module, or a LOG module cut short, made a file whose data
    are complete unreadable ('expected a module at byte ...', 'module 'VMP LOG' is truncated')."""
    good = write_mpr(tmp_path / "good.mpr", peis_columns())
    p = tmp_path / "damaged.mpr"
    p.write_bytes(damage(good.read_bytes()))
    with pytest.warns(UserWarning, match=message):
        spectra = eisfit.read(p)
    want = eisfit.read(good)
    assert [len(s) for s in spectra] == [len(s) for s in want]
    np.testing.assert_array_equal(spectra[0].z, want[0].z)


def test_point_count_larger_than_data(tmp_path):
    p = write_mpr(tmp_path / "n.mpr", peis_columns(), n_points=4_000_000_000)
    _expect(tmp_path, p.read_bytes(), CorruptFileError, "records")


def test_records_after_the_point_count_are_named(tmp_path):
    """A point count 5 lower than the records the data module holds read 5 points fewer
    without a word (an EC-Lab file being written keeps the two equal, FORMAT.md 2.4)."""
    cols = peis_columns()
    n = len(cols[32])
    p = write_mpr(tmp_path / "n.mpr", cols, n_points=n - 5)
    with pytest.warns(UserWarning, match=f"holds {n} records but its point count says {n - 5}: 5 record"):
        spectra = eisfit.read(p)
    assert sum(len(s) for s in spectra) == n - 5 - 3  # 3 DC rows of freq 0


def test_zero_points(tmp_path):
    cols = {k: v[:0] for k, v in peis_columns().items()}
    _expect(tmp_path, write_mpr(tmp_path / "z.mpr", cols).read_bytes(), ReadError, "zero points")


def test_nan_frequency(tmp_path):
    cols = peis_columns()
    cols[32] = cols[32].copy()
    cols[32][5] = np.nan
    _expect(tmp_path, write_mpr(tmp_path / "nan.mpr", cols).read_bytes(), CorruptFileError, "frequency")


def test_only_dc_rows(tmp_path):
    cols = peis_columns(1)
    cols[32] = np.zeros_like(cols[32])
    _expect(tmp_path, write_mpr(tmp_path / "dc.mpr", cols).read_bytes(), ReadError, "no impedance points")


def test_no_impedance_columns(tmp_path):
    cols = {4: np.arange(5.0), 77: np.ones(5)}
    _expect(tmp_path, write_mpr(tmp_path / "cv.mpr", cols).read_bytes(), MissingColumnError)


@pytest.mark.parametrize("layout", ["v2", "v3"])
def test_an_unknown_data_version_is_read_with_the_one_layout_its_values_allow(tmp_path, layout):
    """A data-module version no file has had so far (a future EC-Lab): the known layout under
    which the records decode as impedance data is used, with a warning."""
    good = write_mpr(tmp_path / "good.mpr", peis_columns(), layout=layout)
    raw = bytearray(good.read_bytes())
    struct.pack_into("<I", raw, raw.index(b"MODULEVMP data") + 45, 7)
    p = tmp_path / "v7.mpr"
    p.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match=f"version 7 is not one met so far.*layout of {layout}"):
        spectra = mpr.read(p)
    original = mpr.read(good)
    assert len(spectra) == len(original) == 2
    for a, b in zip(spectra, original):
        np.testing.assert_array_equal(a.frequency, b.frequency)
        np.testing.assert_array_equal(a.z, b.z)


def test_an_unknown_data_version_that_no_layout_decodes_is_refused(tmp_path):
    raw = bytearray(_good_bytes(tmp_path))
    pos = raw.index(b"MODULEVMP data")
    struct.pack_into("<I", raw, pos + 45, 7)
    first, end = pos + 6 + 51 + 0x196, raw.index(b"MODULEVMP LOG")
    raw[first:end] = bytes(end - first)  # every record zero: no frequency
    _expect(tmp_path, bytes(raw), CorruptFileError, "version 7")


def test_missing_data_module(tmp_path):
    raw = b"BIO-LOGIC MODULAR FILE\x1a" + b" " * 25 + bytes(4) + module_bytes("VMP Set", settings_module(), "old")
    _expect(tmp_path, raw, CorruptFileError, "VMP data")


def test_options_are_rejected(tmp_path):
    p = write_mpr(tmp_path / "o.mpr", peis_columns())
    with pytest.raises(ReadError, match="option"):
        mpr.read(p, imag_sign=-1)


@pytest.mark.parametrize("technique, note", [(0x06, "technique code 0x06, not an impedance technique"),
                                             (0x7F, "MB without impedance points")])
def test_a_file_of_another_technique_says_it_holds_no_impedance_data(tmp_path, technique, note):
    cols = {4: np.arange(20) * 1.5, 77: np.linspace(3.0, 4.2, 20)}  # time and Ewe only (a cycling step)
    p = write_mpr(tmp_path / "step.mpr", cols, technique=technique)
    with pytest.raises(eisfit.NoImpedanceDataError, match=f"step.mpr: no impedance data \\({note}\\)"):
        eisfit.read(p)


def test_an_impedance_technique_without_impedance_columns_is_damaged(tmp_path):
    """A PEIS file without frequency or impedance columns is damaged (an error a folder campaign
    reports), not a file of another technique (which it leaves out)."""
    cols = {4: np.arange(20) * 1.5, 77: np.linspace(3.0, 4.2, 20)}
    p = write_mpr(tmp_path / "peis.mpr", cols, technique=0x1D)
    with pytest.raises(eisfit.MissingColumnError, match="peis.mpr: PEIS file, but no freq/Hz") as info:
        eisfit.read(p)
    assert not isinstance(info.value, eisfit.NoImpedanceDataError)


def test_the_software_is_named_from_its_version(tmp_path):
    """The LOG's version alone ('11.33') was all `eisfit info` said of the program."""
    assert eisfit.read(write_mpr(tmp_path / "a.mpr", peis_columns()))[0].meta["software"] == "EC-Lab"
    assert mpr._software_name("1.79") == "EC-Lab or BT-Lab"  # BT-Lab numbers its versions 1.x
    assert "software" not in eisfit.read(write_mpr(tmp_path / "b.mpr", peis_columns(), log=False))[0].meta


def test_an_ec_lab_10_33_log_gives_its_start_version_channel_and_serial(tmp_path):
    """EC-Lab 10.33's LOG (m0l0t0ph/thesis): its start, version and serial lie 0x70 bytes before
    the later offsets and its channel byte is 1-based. The start had been 'implausible' (lost,
    with a warning), the version None, the channel one too high and the serial 0."""
    p = write_mpr(tmp_path / "old.mpr", peis_columns(), layout="v2", log=False)
    p.write_bytes(p.read_bytes() + module_bytes("VMP LOG", old_log_module(), "old"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'implausible acquisition start'
        spectra = mpr.read(p)
    m = spectra[0].meta
    assert m["start_time"] == "2021-03-03T20:40:41.000" and m["software_version"] == "10.33"
    assert m["channel"] == 2 and m["channel_serial"] == "6986"
