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
    # a Gamry file gives its start, not the sweep's: said so
    assert "sweep 0: 5 points, 10 Hz - 100 kHz, area 0.785 cm2, file start 2018-04-23T16:43:15" in out
    assert f"{c}: format csv" in out


def test_info_gives_each_sweeps_channel_and_dc_potential():
    """The channel warning of a campaign points at eisfit info for each sweep's channel; a
    potential scan's sweeps differ by their DC potential (meta channel, dc_potential_V)."""
    from pathlib import Path

    mpt = Path(__file__).parents[1] / "sample_data" / "garnet_campaign" / "mpt" / "LiMg_LLZTO_0000h_PEIS_C01.mpt"
    meta = eisfit.read(mpt)[0].meta
    result = CliRunner().invoke(main, ["info", str(mpt)])
    assert result.exit_code == 0, result.output
    assert f"channel {meta['channel']}, E dc {meta['dc_potential_V']:.4g} V" in result.output
    record = json.loads(CliRunner().invoke(main, ["info", str(mpt), "--json"]).output)[0]["sweeps"][0]
    assert record["channel"] == meta["channel"] and record["dc_potential_V"] == meta["dc_potential_V"]


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


# -- audit s42: outputs of inputs with one file name, convert --columns, info start times -------
def _two_cells(tmp_path, name: str = "cell.csv"):
    """Two different spectra in files of one name, in folders a/ and b/."""
    paths = []
    for k, folder in enumerate(("a", "b")):
        (tmp_path / folder).mkdir()
        p = tmp_path / folder / name
        f = np.logspace(5, -1, 25)
        p.write_text("freq,re,im\n" + "".join(f"{float(x)!r},{float(z.real) * (1 + k)!r},{float(z.imag) * (1 + k)!r}\n"
                                              for x, z in zip(f, _rc(f))))
        paths.append(str(p))
    return paths


def _rc(f):
    return 20 + 300 / (1 + 2j * np.pi * f * 300 * 1e-5)


@pytest.mark.parametrize("command, suffixes", [
    ("validate", ["_kk.png", "_kk.svg"]),
    ("drt", ["_drt.csv", "_peaks.csv", "_drt.png"]),
    ("fit", ["_fit.json"]),
])
def test_outputs_of_two_inputs_with_one_file_name_do_not_overwrite_each_other(tmp_path, command, suffixes):
    """`eisfit validate A/x.mpr B/x.mpr --out kk` printed two results but left one plot: the
    second overwrote the first (both labelled x.mpr#0). The labels now name the folders."""
    paths = _two_cells(tmp_path)
    extra = ["--circuit", "R0-p(R1,C1)"] if command == "fit" else []
    result = CliRunner().invoke(main, [command, *paths, "--out", str(tmp_path / "out"), *extra])
    assert result.exit_code in (0, 1), result.output
    for folder in ("a", "b"):
        assert f"{folder}/cell.csv#0" in result.output
        for suffix in suffixes:
            assert (tmp_path / "out" / f"{folder}_cell.csv_0{suffix}").is_file(), sorted(
                q.name for q in (tmp_path / "out").iterdir())


def test_distinct_names_only_where_file_names_collide():
    from eisfit.cli import _distinct_names

    assert _distinct_names(["r/1/x.mpr", "s/1/x.mpr", "y.mpr"]) == ["r/1/x.mpr", "s/1/x.mpr", "y.mpr"]
    assert _distinct_names(["a/x.mpr", "b/X.MPR"]) == ["a/x.mpr", "b/X.MPR"]  # one name on macOS, Windows
    assert _distinct_names(["x.mpr", "./x.mpr", "a b.csv", "a_b.csv"]) == ["x.mpr", "x.mpr (2)", "a b.csv",
                                                                          "a_b.csv (2)"]
    assert _distinct_names(["u.csv", "v.csv"]) == ["u.csv", "v.csv"]


def test_a_reader_warning_names_the_file_as_typed(tmp_path):
    """Warnings named the file name only ('cell.csv: ...'): with a/cell.csv and b/cell.csv
    one could not tell which file a warning was about."""
    paths = _two_cells(tmp_path)
    (tmp_path / "b" / "cell.csv").write_text("freq,Z' (foo),Z''\n1000,10,-1\n100,11,-3\n10,12,-2\n1,13,-1\n")
    result = CliRunner().invoke(main, ["info", *paths])
    assert f"eisfit: warning: {paths[1]}: column \"Z' (foo)\"" in result.output


def test_convert_takes_columns_as_the_reader_error_says(tmp_path):
    """The reader's error tells to pass --columns, but `convert` had no such option."""
    p = tmp_path / "needcols.txt"
    p.write_text("".join(f"{f!r}\t{z.imag!r}\t{z.real!r}\n" for f, z in zip(F, Z)))
    result = CliRunner().invoke(main, ["convert", str(p), "--to", "csv", "--out", str(tmp_path / "o"),
                                       "--columns", "frequency=0,real=2,imag=1"])
    assert result.exit_code == 0, result.output
    (s,) = eisfit.read(tmp_path / "o" / "needcols.csv")
    np.testing.assert_allclose(s.z, Z)


def test_info_json_start_times_are_meta_s(tmp_path):
    """`start_time` in `info --json` was the sweep's start for BioLogic (meta's
    sweep_start_time) but the file's for others, and so differed from meta['start_time']."""
    g, c = _files(tmp_path)
    t = tmp_path / "clock.csv"
    t.write_text("time,freq,re,im\n" + "".join(f"2024-05-0{1 + k // 3} 10:00:0{k % 3},{f!r},{z.real!r},{z.imag!r}\n"
                                               for k, (f, z) in enumerate(zip(F, Z))))
    result = CliRunner().invoke(main, ["info", "--json", str(g), str(t)])
    records = json.loads(result.stdout)
    for rec, path in zip(records, (g, t)):
        meta = eisfit.read(path)[0].meta
        sweep = rec["sweeps"][0]
        assert sweep["start_time"] == meta.get("start_time")
        assert sweep["sweep_start_time"] == meta.get("sweep_start_time")
    assert records[0]["sweeps"][0]["sweep_start_time"] is None  # a Gamry file: the file's start only
    text = CliRunner().invoke(main, ["info", str(g)]).output
    assert "file start 2018-04-23T16:43:15" in text


def test_info_says_unknown_and_counts_one_point(tmp_path):
    """'technique ?' and 'sweep 0: 1 points'."""
    from eisfit.cli import _file_lines

    rec = {"file": "x", "format": "csv", "technique": None, "software": None,
           "sweeps": [{"sweep": 0, "points": 1, "fmin_Hz": 1.0, "fmax_Hz": 1.0, "area": None, "area_unit": None,
                       "start_time": None, "sweep_start_time": None, "impedance_unit": "ohm"}]}
    head, line = _file_lines(rec)
    assert "technique unknown, 1 sweep" in head and "sweep 0: 1 point," in line


def test_validate_table_header_says_percent_of_modulus(tmp_path):
    """The table's header said 'max %' and 'noise %' without of what."""
    result = CliRunner().invoke(main, ["validate", _two_cells(tmp_path)[0]])
    assert "max %|Z|" in result.output and "SD %|Z|" in result.output
    # the SD shown is the one max/SD divides by (the column had shown Boukamp's pseudo-chi-square
    # estimate: 0.955 and 0.371 beside max/SD 2.0)
    row = next(line for line in result.output.splitlines() if line.split()[-2:] == ["valid", "pass"])
    largest, sd, ratio = (float(v) for v in row.split()[3:6])
    assert ratio == pytest.approx(largest / sd, rel=0.03, abs=0.06)
