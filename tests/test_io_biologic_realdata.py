"""BioLogic readers against the real files in ../shared/realdata (skipped when absent).

Every .mpr with an .mpt twin must decode to the same points as the text export.
"""
from __future__ import annotations

import importlib.util
import random
import struct
import warnings

import numpy as np
import pytest

from conftest import REALDATA, realdata_path
from eisfit.errors import MissingColumnError
from eisfit.io import FORMAT_MODULES, mpr, mpt

pytestmark = pytest.mark.realdata

MPR_DIR = REALDATA / "mpr"
TWINS = sorted(p for p in MPR_DIR.glob("*/*.mpr") if p.with_suffix(".mpt").exists()) if MPR_DIR.is_dir() else []
ALL_MPR = sorted(MPR_DIR.glob("*/*.mpr")) if MPR_DIR.is_dir() else []
RTOL = 1e-6

# (file, sweeps, points per sweep or None, technique)
EXPECTED_MPR = [
    ("dgbowl__yadg/geis.mpr", 61, None, "GEIS"),
    ("dgbowl__yadg/geis.issue_149.mpr", 4, [21] * 4, "GEIS"),
    ("dgbowl__yadg/peis.mpr", 1, [32], "PEIS"),
    ("dgbowl__yadg/peis.issue_149.mpr", 4, [21] * 4, "PEIS"),
    ("dgbowl__yadg/peis.issue_225.no_ece.mpr", 1, [32], "PEIS"),
    ("dgbowl__yadg/peis.issue_225.with_ece.mpr", 1, [32], "PEIS"),
    ("dgbowl__yadg/peis.issue_225.ewe_ece.mpr", 1, [32], "PEIS"),
    ("dgbowl__yadg/vsp_peis_with.mpr", 32, [70] * 32, "PEIS"),
    ("dgbowl__yadg/zir.mpr", 1, [1], "ZIR"),
    ("dgbowl__yadg/mb.mpr", 8, [70] * 8, "MB"),
    ("dgbowl__yadg/mb.issue_149.mpr", 16, [13] * 16, "MB"),
    ("dgbowl__yadg/mb.issue_223.mpr", 4, [19] * 4, "MB"),
    ("dgbowl__yadg@61fb2d6/peis.mpr", 1, [31], "PEIS"),
    ("ECSHackWeek__impedance.py@f1caf7c/exampleDataBioLogic.mpr", 1, [43], "PEIS"),
    ("ECSHackWeek__impedance.py@a7e39c4/exampleDataBioLogic.mpr", 1, [36], "PEIS"),
    ("liuchzzyy__echemistpy@a8c143f/Biologic_EIS.mpr", 1, [43], "PEIS"),
    ("jepegit__cellpy/biol.mpr", 5, None, "MB"),
]
EXPECTED_MPT = [
    ("mpt/vyrjana__pyimpspec/case-multiple-spectra.mpt", 3, [29] * 3),
    ("mpt/vyrjana__pyimpspec/data.mpt", 1, [29]),
    ("mpt/kbknudsen__PyEIS/ex1.mpt", 2, [59, 59]),
    ("mpt/kbknudsen__PyEIS/ex2.mpt", 2, [59, 59]),
]


def _quiet(reader, path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no real file should need a warning
        return reader(path)


def _rel_dev(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(np.abs(a), np.abs(b))
    dev = np.abs(a - b) / np.where(scale > 0, scale, 1.0)
    return float(dev.max()) if dev.size else 0.0


def compare_twins(mpr_path) -> float:
    """Max relative deviation between the .mpr and its .mpt over the impedance/time columns."""
    a = _quiet(mpr.read, mpr_path)
    b = _quiet(mpt.read, mpr_path.with_suffix(".mpt"))
    assert len(a) == len(b), f"{mpr_path.name}: {len(a)} sweeps in .mpr, {len(b)} in .mpt"
    is_mb = a[0].meta["technique"] == "MB"
    worst = 0.0
    for sa, sb in zip(a, b):
        assert len(sa) == len(sb)
        pairs = [(sa.frequency, sb.frequency)]
        if not is_mb:
            pairs += [(sa.z.real, sb.z.real), (sa.z.imag, sb.z.imag)]
        pairs += [(sa.columns[c], sb.columns[c]) for c in ("|Z|/Ohm", "Phase(Z)/deg", "time/s")]
        worst = max([worst] + [_rel_dev(x, y) for x, y in pairs])
        if sb.meta["start_time"] is not None:  # header-less exports carry no start
            assert sa.meta["sweep_start_time"] == sb.meta["sweep_start_time"]
    return worst


@pytest.mark.parametrize("path", TWINS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_mpr_equals_its_mpt_twin(path):
    assert compare_twins(path) < RTOL


@pytest.mark.parametrize("path", TWINS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_start_time_and_area_match_the_mpt_header(path):
    a = _quiet(mpr.read, path)[0].meta
    b = _quiet(mpt.read, path.with_suffix(".mpt"))[0].meta
    if b["start_time"] is not None:  # header-less exports carry none
        assert a["start_time"] == b["start_time"]
        assert a["software_version"] == b["software_version"]
        assert a["area_unit"] == b["area_unit"]
        assert a["area"] == pytest.approx(b["area"], abs=6e-4)  # .mpt prints 3 decimals
        assert (a["channel"], a["channel_serial"]) == (b["channel"], b["channel_serial"])


@pytest.mark.parametrize("rel, n_sweeps, sizes, technique", EXPECTED_MPR, ids=[e[0] for e in EXPECTED_MPR])
def test_mpr_sweep_counts(rel, n_sweeps, sizes, technique):
    spectra = _quiet(mpr.read, realdata_path("mpr", *rel.split("/")))
    assert len(spectra) == n_sweeps
    if sizes is not None:
        assert [len(s) for s in spectra] == sizes
    assert all(s.meta["technique"] == technique for s in spectra)
    assert all(np.all(s.frequency > 0) for s in spectra)


def _with_ids_unknown(path, tmp_path, n_unknown: int, seed: int):
    """A copy of a real .mpr in which ``n_unknown`` column IDs other than the flags, the
    frequency and the impedance are renumbered to IDs no reader knows (as a newer EC-Lab
    adds columns), and those IDs' original labels."""
    buf = bytearray(path.read_bytes())
    data = mpr._first_module(mpr._walk_modules(bytes(buf), path), "VMP data")
    _, count_fmt, ids_at = mpr.DATA_LAYOUTS[mpr._data_layout(data)]
    (n_cols,) = struct.unpack_from(count_fmt, buf, data.start + 4)
    ids = struct.unpack_from(f"<{n_cols}H", buf, data.start + ids_at)
    others = [k for k, c in enumerate(ids) if c not in (32, 35, 36, 37, 38) and c not in mpr.bl.FLAG_MASKS]
    picked = random.Random(seed).sample(others, min(n_unknown, len(others)))
    for j, k in enumerate(picked):
        struct.pack_into("<H", buf, data.start + ids_at + 2 * k, 60000 + j)
    copy = tmp_path / path.name
    copy.write_bytes(bytes(buf))
    return copy, [mpr.bl.COLUMNS[ids[k]][0] for k in picked]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("path", ALL_MPR, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_several_unknown_column_ids_read_the_same_spectra(path, seed, tmp_path):
    """Three known columns renumbered as unknown: their sizes are read from the values, and
    the spectra (sweeps, frequencies, impedances) and every column still given are those of
    the original file."""
    original = _quiet(mpr.read, path)
    copy, hidden = _with_ids_unknown(path, tmp_path, 3, seed)
    with pytest.warns(UserWarning, match="unknown column IDs"):
        renumbered = mpr.read(copy)
    assert len(renumbered) == len(original)
    for a, b in zip(renumbered, original):
        np.testing.assert_array_equal(a.frequency, b.frequency)
        np.testing.assert_array_equal(a.z, b.z)
        assert not set(hidden) & set(a.columns)
        for name, values in a.columns.items():
            np.testing.assert_array_equal(values, b.columns[name])


@pytest.mark.parametrize("path", ALL_MPR, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_an_unseen_data_version_reads_the_same_spectra(path, tmp_path):
    """The data module's version word set to one no file has had (9 under the old module
    header, whose data versions are 2 and 3; 12 under the new one, always 11): the layout its
    records decode under is found from the values, and the spectra are the original's."""
    buf = bytearray(path.read_bytes())
    data = mpr._first_module(mpr._walk_modules(bytes(buf), path), "VMP data")
    if data.header == "old":  # 'MODULE', names, length, then the version word
        unseen, at, layout = 9, data.start - mpr.OLD_HEADER_SIZE + 45, f"v{data.version}"
    else:  # 'MODULE', names, marker, length, version, then the second version word
        unseen, at, layout = 12, data.start - mpr.NEW_HEADER_SIZE + 53, "new"
    struct.pack_into("<I", buf, at, unseen)
    copy = tmp_path / path.name
    copy.write_bytes(bytes(buf))
    with pytest.warns(UserWarning, match=f"version {unseen} is not one met so far.*layout of {layout}"):
        renumbered = mpr.read(copy)
    original = _quiet(mpr.read, path)
    assert len(renumbered) == len(original)
    for a, b in zip(renumbered, original):
        np.testing.assert_array_equal(a.frequency, b.frequency)
        np.testing.assert_array_equal(a.z, b.z)


def test_geis_drops_the_dc_hold():
    spectra = mpr.read(realdata_path("mpr", "dgbowl__yadg", "geis.mpr"))
    assert sum(len(s) for s in spectra) == 2528 - 29


def test_cellpy_modulo_bat_points():
    spectra = _quiet(mpr.read, realdata_path("mpr", "jepegit__cellpy", "biol.mpr"))
    assert [len(s) for s in spectra] == [64, 64, 64, 64, 54]
    assert spectra[0].meta["software_version"] == "11.10"
    assert spectra[0].meta["data_layout"] == "v2"


@pytest.mark.parametrize("stem", ["peis.issue_225.no_ece", "peis.issue_225.with_ece", "peis.issue_225.ewe_ece"])
@pytest.mark.parametrize("reader, ext", [(mpr.read, ".mpr"), (mpt.read, ".mpt")])
def test_area_in_mm2(stem, reader, ext):
    m = _quiet(reader, realdata_path("mpr", "dgbowl__yadg", stem + ext))[0].meta
    assert m["area_unit"] == "mm2"
    assert m["area"] == pytest.approx(113.1, rel=1e-6)
    assert m["area_cm2"] == pytest.approx(1.131, rel=1e-6)


def test_layout_variants_are_covered():
    seen = {(mpr.read(p)[0].meta["module_header"], mpr.read(p)[0].meta["data_layout"]) for p in ALL_MPR}
    if not seen:
        pytest.skip("real data not available")
    assert seen == {("old", "v2"), ("old", "v3"), ("new", "new")}


def test_no_log_module_gives_no_start_time():
    m = _quiet(mpr.read, realdata_path("mpr", "dgbowl__yadg", "vsp_peis_with.mpr"))[0].meta
    assert m["start_time"] is None and m["software_version"] is None
    assert m["area_cm2"] == pytest.approx(0.317, rel=1e-6)


def test_start_time_of_geis():
    m = mpr.read(realdata_path("mpr", "dgbowl__yadg", "geis.mpr"))[0].meta
    assert m["start_time"] == "2021-03-03T20:40:41.000"


@pytest.mark.parametrize("rel, n_sweeps, sizes", EXPECTED_MPT, ids=[e[0] for e in EXPECTED_MPT])
def test_mpt_only_files(rel, n_sweeps, sizes):
    spectra = _quiet(mpt.read, realdata_path(*rel.split("/")))
    assert [len(s) for s in spectra] == sizes
    assert spectra[0].meta["start_time"] is None  # all anonymised


def test_missing_freq_label_is_reported():
    p = realdata_path("mpt", "ECSHackWeek__impedance.py", "exampleDataBioLogic_MissingFreq.mpt")
    with pytest.raises(MissingColumnError, match="exampleDataBioLogic_MissingFreq.mpt.*no 'freq/Hz' column"):
        mpt.read(p)


def test_decimal_comma_export_equals_the_binary():
    p = realdata_path("mpr", "dgbowl__yadg", "peis.issue_149.mpr")
    assert compare_twins(p) < RTOL


def _dispatcher_ready() -> bool:
    return all(importlib.util.find_spec(f"eisfit.io.{name}") for name in FORMAT_MODULES)


@pytest.mark.parametrize("name, fmt", [("peis.mpr", "mpr"), ("peis.mpt", "mpt"), ("vsp_peis_with.mpt", "mpt")])
def test_dispatcher_detects_biologic_files(name, fmt):
    import eisfit
    from eisfit.io import detect_format

    p = realdata_path("mpr", "dgbowl__yadg", name)
    assert len(eisfit.read(p, format=fmt)) >= 1
    assert _dispatcher_ready(), "a format module listed in eisfit.io.FORMAT_MODULES is missing"
    assert detect_format(p) == fmt


def test_a_real_mpr_cut_inside_its_data_module_keeps_its_complete_records(tmp_path):
    """`head -c 10200 peis.issue_225.no_ece.mpr` (31 of its 32 records whole) was refused:
    'module 'VMP data' ... is truncated'. The cut copy is made in a temporary folder."""
    src = realdata_path("mpr", "dgbowl__yadg", "peis.issue_225.no_ece.mpr")
    cut = tmp_path / "cut.mpr"
    cut.write_bytes(src.read_bytes()[:10200])
    with pytest.warns(UserWarning, match=r"cut.mpr: the file ends inside its 'VMP data' module .*the 31 "
                                         r"complete record\(s\) of 32 are read"):
        (s,) = mpr.read(cut)
    (whole,) = mpr.read(src)
    assert len(s) == 31
    np.testing.assert_array_equal(s.z, whole.z[:31])


# ---------------------------------------------------------------------------
# an .mpt re-saved as CSV whose counter resets in the middle of a sweep
# ---------------------------------------------------------------------------
def _counter_resetting_mid_sweep(sizes: list[int]) -> np.ndarray:
    """A cycle counter over sweeps of ``sizes`` rows: 1, 2, 3... one value per sweep, but
    restarting at 1 halfway through the third sweep (as an outer loop's counter does)."""
    counter = np.concatenate([np.full(n, k + 1) for k, n in enumerate(sizes)])
    third = sum(sizes[:2])
    counter[third + sizes[2] // 2:] -= 2
    assert np.all(counter >= 1) and counter[third + sizes[2] // 2] == 1
    return counter


@pytest.mark.parametrize("rel", ["dgbowl__yadg/mb.mpt", "dgbowl__yadg/vsp_peis_with.mpt"])
def test_an_mpt_saved_as_csv_with_a_counter_reset_mid_sweep_reads_as_the_mpt(rel, tmp_path):
    """The spectra of a real .mpt written as 'cycle number;freq/Hz;Re(Z)/Ohm;-Im(Z)/Ohm'
    with a counter that restarts in the middle of a sweep while the frequency keeps falling
    read back as the .mpt's spectra, every digit (the sweep boundaries come from the
    frequencies, the counter only confirms them). Before, the reset split that sweep in two."""
    from eisfit import read

    original = read(realdata_path("mpr", *rel.split("/")))
    sizes = [len(s) for s in original]
    assert len(sizes) >= 3
    f = np.concatenate([s.frequency for s in original])
    z = np.concatenate([s.z for s in original])
    counter = _counter_resetting_mid_sweep(sizes)
    path = tmp_path / "resaved.csv"
    path.write_text("cycle number;freq/Hz;Re(Z)/Ohm;-Im(Z)/Ohm\n" + "".join(
        f"{c};{float(fk)!r};{float(zk.real)!r};{float(-zk.imag)!r}\n" for c, fk, zk in zip(counter, f, z)))
    resaved = read(path)
    assert [len(s) for s in resaved] == sizes
    for a, b in zip(resaved, original):
        np.testing.assert_array_equal(a.frequency, b.frequency)
        np.testing.assert_array_equal(a.z, b.z)


def test_an_mpt_table_resaved_as_semicolon_csv_reads_as_the_mpt(tmp_path):
    """yadg's mb.issue_149.mpt, whose 'z cycle' resets in the middle of its fourth sweep:
    its table (decimal commas) re-saved as ';' CSV without the header block reads as the
    .mpt, 16 sweeps of 13 points (was 17: the fourth split 8 + 5)."""
    from eisfit import read

    src = realdata_path("mpr", "dgbowl__yadg", "mb.issue_149.mpt")
    text = src.read_bytes().decode("cp1252")
    n_header = int(text.split("Nb header lines", 1)[1].split(":", 1)[1].split()[0])
    table = text.splitlines()[n_header - 1:]
    path = tmp_path / "mb.csv"
    path.write_text("\n".join(";".join(c.strip() for c in line.split("\t")) for line in table) + "\n", encoding="cp1252")
    original, resaved = read(src), read(path)
    assert [len(s) for s in resaved] == [len(s) for s in original] == [13] * 16
    for a, b in zip(resaved, original):
        np.testing.assert_array_equal(a.frequency, b.frequency)
        np.testing.assert_allclose(a.z, b.z, rtol=1e-12)
