"""``eisfit info`` and ``eisfit convert`` with click's CliRunner (synthetic files)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import eisfit
from eisfit.cli import main

F = [1e5, 1e4, 1e3, 1e2, 10.0]
Z = [complex(50 + 500 / (1 + 1j * 2 * np.pi * f * 5e-4)) for f in F]
GAMRY = ("EXPLAIN\nTAG\tEISPOT\nDATE\tLABEL\t4/23/2018\tDate\nTIME\tLABEL\t16:43:15\tTime\n"
         "AREA\tQUANT\t7.85000E-001\t&Area (cm^2)\nFRAMEWORKVERSION\tQUANT\t7.05\tFramework Version\n"
         "ZCURVE\tTABLE\n\tPt\tFreq\tZreal\tZimag\n\t#\tHz\tohm\tohm\n"
         + "".join(f"\t{k}\t{f!r}\t{z.real!r}\t{z.imag!r}\n" for k, (f, z) in enumerate(zip(F, Z))))
CSV = "freq,re,im\n" + "".join(f"{f!r},{z.real!r},{z.imag!r}\n" for f, z in zip(F, Z))


def _files(tmp_path):
    g = tmp_path / "cell.DTA"
    g.write_text(GAMRY)
    c = tmp_path / "table.csv"
    c.write_text(CSV)
    return g, c


def test_info_reports_each_file(tmp_path):
    g, c = _files(tmp_path)
    result = CliRunner().invoke(main, ["info", str(g), str(c)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{g}: format gamry, technique PEIS, 1 sweep, software Gamry Framework 7.05" in out
    assert "sweep 0: 5 points, 10 Hz - 100 kHz, area 0.785 cm2, start 2018-04-23T16:43:15" in out
    assert f"{c}: format csv" in out


def test_info_bad_files_reported_and_exit_2(tmp_path):
    g, _ = _files(tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    garbage = tmp_path / "junk.bin"
    garbage.write_bytes(bytes(range(256)))
    result = CliRunner().invoke(main, ["info", str(empty), str(g), str(garbage)])
    assert result.exit_code == 2
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("eisfit: error:")]
    assert len(errors) == 2 and str(empty) in errors[0] and str(garbage) in errors[1]
    assert "Traceback" not in result.output
    assert f"{g}: format gamry" in result.stdout


def test_info_forced_format_and_unknown_format(tmp_path):
    _, c = _files(tmp_path)
    ok = CliRunner().invoke(main, ["info", str(c), "--format", "table"])
    assert ok.exit_code == 0 and "format csv" in ok.output
    bad = CliRunner().invoke(main, ["info", str(c), "--format", "nope"])
    assert bad.exit_code == 2 and "unknown format 'nope'" in bad.stderr


def test_convert_csv_and_json_round_trip(tmp_path):
    g, c = _files(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", str(g), str(c), "--to", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    (back,) = eisfit.read(out / "cell.csv")
    np.testing.assert_allclose(back.z, Z, rtol=1e-12)
    assert back.meta["area"] == 0.785 and back.meta["original_format"] == "gamry"
    assert (out / "table.csv").exists()
    result = CliRunner().invoke(main, ["convert", str(g), "--to", "json", "--out", str(out)])
    assert result.exit_code == 0
    doc = json.loads((out / "cell.json").read_text())
    assert doc["spectra"][0]["frequency_Hz"] == F


def test_convert_refuses_to_overwrite_input_and_continues(tmp_path):
    g, c = _files(tmp_path)
    result = CliRunner().invoke(main, ["convert", str(c), str(g), "--to", "csv"])
    assert result.exit_code == 2
    assert "would overwrite the input" in result.stderr
    assert (tmp_path / "cell.csv").exists()


def test_info_leaves_out_an_area_the_file_does_not_give(tmp_path):
    """EC-Lab stores 0 when no electrode area was entered: that is no area (it read "area 0
    cm2"), and the reader gives area_cm2 None, so nothing downstream takes 0 cm2 for one."""
    from eisfit.io import _biologic as bl

    assert bl.area_in_cm2(0.0, "cm2") is None and bl.area_in_cm2(113.0, "mm2") == pytest.approx(1.13)


def test_convert_never_overwrites_a_file_it_did_not_write(tmp_path):
    """Two inputs with one name into one --out: the second replaced the first; converting
    b.DTA beside the user's own b.csv replaced that file. Both are refused; converting again
    over eisfit's own export is allowed."""
    g, _ = _files(tmp_path)
    (tmp_path / "sub").mkdir()
    twin = tmp_path / "sub" / "cell.DTA"
    twin.write_text(GAMRY)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["convert", str(g), str(twin), "--to", "csv", "--out", str(out)])
    assert r.exit_code == 2 and "was just written from" in r.stderr and (out / "cell.csv").exists()
    own = tmp_path / "cell.csv"
    own.write_text("my,own,notes\n")
    r = CliRunner().invoke(main, ["convert", str(g), "--to", "csv"])
    assert r.exit_code == 2 and "is not an eisfit export" in r.stderr and own.read_text() == "my,own,notes\n"
    again = CliRunner().invoke(main, ["convert", str(g), "--to", "csv", "--out", str(out)])
    assert again.exit_code == 0, again.output
