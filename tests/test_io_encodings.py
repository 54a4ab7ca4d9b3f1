"""Text exports re-saved with a Unicode byte-order mark read as the original.

Excel's "CSV UTF-8" writes a UTF-8 mark (EF BB BF) before the first header; Notepad's
"Unicode" writes UTF-16 with its mark (FF FE). Every text reader must read such a copy as
it reads the original: the same sweeps, the same points. Before the fix a real EC-Lab
.mpt copy with a UTF-8 mark (pyimpspec's case-multiple-spectra.mpt) was read as a plain
table, its three sweeps as one of 87 points; UTF-16 copies of .mpt, Autolab and ZPlot
files were refused, and a tab table whose first label is EC-Lab's ``freq/Hz`` said it
had no such column.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import eisfit
from eisfit.io._common import text_bytes

from conftest import REALDATA
from test_io_mpt import rows_for, write_mpt

ENCODINGS = {
    "utf-8 mark": lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
    "utf-16 mark": lambda text: text.encode("utf-16"),
    # UTF-16 without a mark (an export tool's "Unicode" without BOM): refused as 'format not recognised'
    "utf-16-le, no mark": lambda text: text.encode("utf-16-le"),
    "utf-16-be, no mark": lambda text: text.encode("utf-16-be"),
}


def _read(path: Path) -> list[eisfit.Spectrum]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eisfit.read(path)


def _assert_same(got: list[eisfit.Spectrum], want: list[eisfit.Spectrum]) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.frequency, b.frequency)
        np.testing.assert_array_equal(a.z, b.z)


def _copy_as(src: Path, dst: Path, encoding: str) -> Path:
    dst.write_bytes(ENCODINGS[encoding](_as_text(src.read_bytes())))
    return dst


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_mpt_with_header_block_and_three_sweeps(tmp_path, encoding):
    plain = tmp_path / "plain.mpt"
    write_mpt(plain, rows_for(n_sweeps=3, dc_rows=0, cycle=False))
    want = _read(plain)
    assert [len(s.frequency) for s in want] == [6, 6, 6]
    _assert_same(_read(_copy_as(plain, tmp_path / "marked.mpt", encoding)), want)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("name, text", [
    ("ec_lab_labels.txt", "freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\n1000\t10.5\t1.25\n100\t12\t4.5\n10\t20\t6\n"),
    ("excel.csv", "Frequency (Hz),Z' (Ohm),Z'' (Ohm)\n1000,10.5,-1.25\n100,12,-4.5\n10,20,-6\n"),
    ("semicolons.csv", "Frequency (Hz);Z' (Ohm);-Z'' (Ohm)\n1000;10,5;1,25\n100;12;4,5\n10;20;6\n"),
])
def test_tables(tmp_path, encoding, name, text):
    plain = tmp_path / name
    plain.write_text(text, encoding="utf-8")
    want = _read(plain)
    np.testing.assert_allclose(want[0].z, [10.5 - 1.25j, 12 - 4.5j, 20 - 6j])
    _assert_same(_read(_copy_as(plain, tmp_path / f"marked_{name}", encoding)), want)


def test_without_unicode_mark_keeps_binary_and_plain_data():
    assert text_bytes(b"freq,Zre\n") == b"freq,Zre\n"
    binary = b"\xff\xfe\x00\x00\x01\x00\x02\x00"  # decodes as UTF-16 to control characters
    assert text_bytes(binary) == binary
    assert text_bytes("Z'/Ohm²\n".encode("utf-16")) == "Z'/Ohm²\n".encode("cp1252")
    assert text_bytes(b"\xef\xbb\xbfZ/\xce\xa9\n") == "Z/Ω\n".encode("utf-8")  # no cp1252 byte for Ω


def _real_text_files() -> list[Path]:
    if not REALDATA.is_dir():
        return []
    kinds = {".mpt", ".txt", ".csv", ".z", ".dta", ".par"}
    return sorted(p for p in REALDATA.rglob("*") if p.is_file() and p.suffix.lower() in kinds)


def _compare_real_exports(tmp_path: Path, to_bytes) -> None:
    """Every real text export of ../shared that reads, rewritten by ``to_bytes`` (its bytes
    -> the copy's bytes), reads as the original."""
    files = _real_text_files()
    if not files:
        pytest.skip(f"real data folder {REALDATA} is absent")
    compared = 0
    for src in files:
        try:
            want = _read(src)
        except eisfit.ReadError:
            continue  # not impedance data (notes, fit reports, other techniques)
        copy = tmp_path / src.name
        copy.write_bytes(to_bytes(src.read_bytes()))
        _assert_same(_read(copy), want)
        compared += 1
    assert compared >= 20


def _as_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_real_text_exports(tmp_path, encoding):
    _compare_real_exports(tmp_path, lambda raw: ENCODINGS[encoding](_as_text(raw)))


LAYOUT_EDITS = {
    "crlf": lambda lf: lf.replace(b"\n", b"\r\n"),
    "cr (classic Mac)": lambda lf: lf.replace(b"\n", b"\r"),
    "crcrlf (CRLF converted twice)": lambda lf: lf.replace(b"\n", b"\r\r\n"),
    "lf": lambda lf: lf,
    "blank lines at the end": lambda lf: lf + b"\n\n  \n",
    "trailing spaces": lambda lf: b"\n".join(line + b"  " for line in lf.split(b"\n")),
    "no final line end": lambda lf: lf.rstrip(b"\n"),
    # a file copied while it was being written: the last point was dropped as 'cut off' (.mpt),
    # the file refused (tables: 'format not recognised'; .DTA cut mid-row: a screen of \x00)
    "NUL padding": lambda lf: lf + bytes(512),
}


@pytest.mark.parametrize("edit", LAYOUT_EDITS)
def test_real_text_exports_with_an_editor_s_line_layout(tmp_path, edit):
    """Line ends changed, blank lines or trailing spaces added by an editor: the same spectra
    (a Gamry .DTA with trailing spaces lost its ZCURVE table before)."""
    _compare_real_exports(tmp_path, lambda raw: LAYOUT_EDITS[edit](raw.replace(b"\r\n", b"\n")))


@pytest.mark.parametrize("kind", ["mpt", "csv", "mpt cut mid-row", "utf-16 csv"])
def test_nul_padding_at_the_end_is_ignored_with_a_warning(tmp_path, kind):
    """NUL bytes padding the end of a text file (copied during acquisition) are dropped in one
    place for every text reader, with a warning; the text before them reads as without them."""
    if kind.startswith("mpt"):
        plain = write_mpt(tmp_path / "plain.mpt", rows_for(n_sweeps=2, dc_rows=0, cycle=False))
    else:
        plain = tmp_path / "plain.csv"
        plain.write_text("Frequency (Hz),Z' (Ohm),Z'' (Ohm)\n1000,10.5,-1.25\n100,12,-4.5\n10,20,-6\n")
    raw = plain.read_bytes()
    if kind == "mpt cut mid-row":
        raw = raw[:-20]
    elif kind == "utf-16 csv":
        raw = raw.decode().encode("utf-16")
    padded = tmp_path / f"padded{plain.suffix}"
    padded.write_bytes(raw + bytes(512))
    unpadded = tmp_path / f"unpadded{plain.suffix}"
    unpadded.write_bytes(raw)
    with pytest.warns(UserWarning, match="512 NUL bytes at the end of the file ignored"):
        got = eisfit.read(padded)
    _assert_same(got, _read(unpadded))


def test_utf16_cut_inside_a_character_is_undecodable_but_odd_nul_padding_is_padding(tmp_path):
    """Padding comes by the byte (a file copied while written): 5 NUL bytes after UTF-16-LE
    text had been refused as "an odd number of bytes"; a file cut inside a character is."""
    text = "freq,zre,zim\n1,2,-3\n10,2,-1\n100,2,-0.5\n".encode("utf-16-le")
    cut = tmp_path / "cut.csv"
    cut.write_bytes(text + "7".encode("utf-16-le")[:1])
    with pytest.raises(eisfit.ReadError, match="undecodable text .utf-16-le: an odd number of bytes"):
        eisfit.read(cut)
    padded = tmp_path / "padded.csv"
    padded.write_bytes(text + bytes(5))
    with pytest.warns(UserWarning, match="5 NUL bytes at the end of the file ignored"):
        (s,) = eisfit.read(padded)
    np.testing.assert_allclose(s.frequency, [1, 10, 100])
