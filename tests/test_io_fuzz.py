"""Fuzz the BioLogic readers: mutated files may only raise eisfit ReadErrors, never hang.

A seeded mutation loop (byte flips, extreme length fields, truncations,
insertions, deletions) over a small synthetic .mpr and, when present, the small
real ``zir.mpr`` and ``peis.issue_225.no_ece.mpr``; a shorter loop over a
synthetic .mpt.
"""
from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import REALDATA
from eisfit.errors import ReadError
from eisfit.io import mpr, mpt
from test_io_mpr import peis_columns, write_mpr
from test_io_mpt import rows_for, write_mpt

N_SYNTHETIC = 3000
N_REAL = 1000
N_MPT = 1000
EXTREMES = (0, 1, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)


TEXT_ALPHABET = np.frombuffer(b"0123456789.,Ee+-\t\r\n xX/:()|", dtype=np.uint8)


def mutate(data: bytes, rng: np.random.Generator, text: bool = False) -> bytes:
    """One random mutation (sometimes two) of ``data``; ``text`` keeps to characters of a text export."""
    buf = bytearray(data)
    for _ in range(1 + int(rng.random() < 0.3)):
        kind = rng.integers(6)
        n = len(buf)
        if n == 0:
            return bytes(buf)
        pos = int(rng.integers(n))
        if kind == 0:  # flip a few bytes
            for _ in range(int(rng.integers(1, 9))):
                buf[int(rng.integers(n))] = int(rng.choice(TEXT_ALPHABET) if text else rng.integers(256))
        elif kind == 1:  # extreme u32 (length / count fields)
            if pos + 4 <= n and not text:
                struct.pack_into("<I", buf, pos, int(rng.choice(EXTREMES)))
        elif kind == 2:  # truncate
            del buf[pos:]
        elif kind == 3:  # insert random bytes
            size = int(rng.integers(1, 64))
            buf[pos:pos] = bytes(rng.choice(TEXT_ALPHABET, size)) if text else rng.bytes(size)
        elif kind == 4:  # delete a span
            del buf[pos:pos + int(rng.integers(1, 64))]
        else:  # corrupt a float field with NaN / inf
            if pos + 4 <= n and not text:
                struct.pack_into("<f", buf, pos, float(rng.choice([np.nan, np.inf, -1.0, 0.0])))
    return bytes(buf)


def run_fuzz(reader, seed_bytes: bytes, n: int, path: Path, seed: int, text: bool = False,
             mutator=None) -> dict[str, int]:
    """Feed ``n`` mutants of ``seed_bytes`` to ``reader`` (made by :func:`mutate`, or by
    ``mutator(data, rng)``); return outcome counts."""
    rng = np.random.default_rng(seed)
    outcomes = {"ok": 0, "error": 0}
    for i in range(n):
        path.write_bytes(mutate(seed_bytes, rng, text) if mutator is None else mutator(seed_bytes, rng))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reader(path)
            outcomes["ok"] += 1
        except ReadError as exc:
            assert path.name in str(exc), f"mutant {i}: message does not name the file: {exc}"
            outcomes["error"] += 1
        except Exception as exc:  # noqa: BLE001 - the point of the test
            pytest.fail(f"mutant {i} (seed {seed}) raised {type(exc).__name__}: {exc}")
    return outcomes


def test_fuzz_synthetic_mpr(tmp_path):
    seed = write_mpr(tmp_path / "seed.mpr", peis_columns(2, 8, 2), loop=[0, 10, 18]).read_bytes()
    outcomes = run_fuzz(mpr.read, seed, N_SYNTHETIC, tmp_path / "mutant.mpr", seed=1)
    assert outcomes["error"] > 0 and outcomes["ok"] > 0


def test_fuzz_synthetic_new_layout_mpr(tmp_path):
    seed = write_mpr(tmp_path / "seed.mpr", peis_columns(2, 8, 2), layout="new").read_bytes()
    run_fuzz(mpr.read, seed, N_REAL, tmp_path / "mutant.mpr", seed=2)


@pytest.mark.parametrize("rel", ["dgbowl__yadg/zir.mpr", "dgbowl__yadg/peis.issue_225.no_ece.mpr"])
def test_fuzz_real_mpr(tmp_path, rel):
    src = REALDATA / "mpr" / rel
    if not src.exists():
        pytest.skip(f"real data not available: {src}")
    run_fuzz(mpr.read, src.read_bytes(), N_REAL, tmp_path / "mutant.mpr", seed=3)


def test_fuzz_mpt(tmp_path):
    seed = write_mpt(tmp_path / "seed.mpt", rows_for(2, 5, 1)).read_bytes()
    outcomes = run_fuzz(mpt.read, seed, N_MPT, tmp_path / "mutant.mpt", seed=4, text=True)
    assert outcomes["error"] > 0 and outcomes["ok"] > 0


def test_fuzz_json_export(tmp_path):
    """Damaged eisfit JSON exports: a ReadError naming the file, or spectra; never another
    exception (mutants of an export with meta and an extra column)."""
    from eisfit import Spectrum
    from eisfit.io import export

    f = np.logspace(5, -1, 13)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-3)
    seed_bytes = export.write_json([Spectrum(f, z, meta={"area": 0.785, "technique": "PEIS"},
                                             columns={"time/s": np.arange(13.0)})],
                                   tmp_path / "seed.json").read_bytes()
    json_alphabet = np.frombuffer(b'0123456789.eE+-[]{}:,"ntrufalse ', dtype=np.uint8)

    def mutate_json(data: bytes, rng: np.random.Generator) -> bytes:
        buf = bytearray(data)
        for _ in range(1 + int(rng.random() < 0.5)):
            pos = int(rng.integers(len(buf)))
            if rng.random() < 0.5:
                buf[pos] = int(rng.choice(json_alphabet))
            else:
                del buf[pos:pos + int(rng.integers(1, 24))]
        return bytes(buf)

    outcomes = run_fuzz(export.read, seed_bytes, N_MPT, tmp_path / "mutant.json", seed=3, mutator=mutate_json)
    assert outcomes["error"] > 0 and outcomes["ok"] > 0


@pytest.mark.parametrize("compression", ["deflated", "stored"])
def test_fuzz_xlsx(tmp_path, compression):
    """Damaged Excel workbooks: a ReadError naming the file, or spectra; never another
    exception (a stored archive exposes the XML itself to the mutations)."""
    import zipfile

    from eisfit.io import xlsx
    from test_io_xlsx import Book, _table, z_cell_ohm

    f = np.logspace(5, -1, 13)
    seed_path = Book().sheet("notes", [["cell 7"]]).sheet("data", _table(f, z_cell_ohm(f))).save(tmp_path / "s.xlsx")
    if compression == "stored":
        with zipfile.ZipFile(seed_path) as src, zipfile.ZipFile(tmp_path / "t.xlsx", "w") as dst:
            for item in src.infolist():
                dst.writestr(item.filename, src.read(item.filename), compress_type=zipfile.ZIP_STORED)
        seed_path = tmp_path / "t.xlsx"
    outcomes = run_fuzz(xlsx.read, seed_path.read_bytes(), N_MPT, tmp_path / "mutant.xlsx", seed=5)
    assert outcomes["error"] > 0 and outcomes["ok"] > 0


@pytest.mark.parametrize("kind", ["ivium", "palmsens"])
def test_fuzz_ivium_and_palmsens(tmp_path, kind):
    """Damaged Ivium and PalmSens files: a ReadError naming the file, or spectra."""
    from eisfit.io import ivium, palmsens
    from test_io_ivium_palmsens import F, _eis_dataset, _ivium_dataset, _measurement, _session, z_cell_ohm

    f = F[::3]
    if kind == "ivium":
        seed_bytes, reader, text = _ivium_dataset(f, z_cell_ohm(f)), ivium.read, True
    else:
        seed_bytes, reader, text = _session([_measurement("cell", _eis_dataset(f, z_cell_ohm(f)))]), palmsens.read, False
    outcomes = run_fuzz(reader, seed_bytes, N_MPT, tmp_path / f"mutant.{kind}", seed=6, text=text)
    assert outcomes["error"] > 0 and outcomes["ok"] > 0


def test_fuzz_ods(tmp_path):
    """Damaged OpenDocument spreadsheets (a stored archive: the XML itself is mutated)."""
    import zipfile

    from eisfit.io import ods
    from test_io_xlsx import ODS_MIME, _ods_body, _ods_table, z_cell_ohm

    f = np.logspace(5, -1, 13)
    seed_path = tmp_path / "s.ods"
    with zipfile.ZipFile(seed_path, "w") as zf:
        zf.writestr("mimetype", ODS_MIME)
        zf.writestr("content.xml", '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:'
                    'office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:'
                    f'names:tc:opendocument:xmlns:text:1.0">{_ods_body({"d": _ods_table(f, z_cell_ohm(f))})}'
                    '</office:document-content>')
    outcomes = run_fuzz(ods.read, seed_path.read_bytes(), N_MPT, tmp_path / "mutant.ods", seed=7)
    assert outcomes["error"] > 0 and outcomes["ok"] > 0


def test_fuzz_json_table(tmp_path):
    """Damaged JSON tables: a ReadError naming the file, or spectra."""
    import json

    from eisfit.io import jsontable

    f = np.logspace(5, -1, 13)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-4)
    seed_bytes = json.dumps({"f / Hz": {str(k): v for k, v in enumerate(f.tolist())},
                             "Zre / ohm": {str(k): v for k, v in enumerate(z.real.tolist())},
                             "Zim / ohm": {str(k): v for k, v in enumerate(z.imag.tolist())}}).encode()
    outcomes = run_fuzz(jsontable.read, seed_bytes, N_MPT, tmp_path / "mutant.json", seed=8, text=True)
    assert outcomes["error"] > 0 and outcomes["ok"] > 0


def test_fuzz_xls(tmp_path):
    """Damaged legacy .xls workbooks (the compound file and the BIFF records are mutated)."""
    from eisfit.io import xls
    from test_io_xlsx import _xls_rows, z_cell_ohm
    from xls_writer import compound_file, workbook_stream

    f = np.logspace(5, -1, 13)
    seed_bytes = compound_file({"Workbook": workbook_stream({"n": [["cell"]], "d": _xls_rows(f, z_cell_ohm(f),
                                                                                           compact=True)})})
    outcomes = run_fuzz(xls.read, seed_bytes, N_MPT, tmp_path / "mutant.xls", seed=9)
    assert outcomes["error"] > 0 and outcomes["ok"] > 0
