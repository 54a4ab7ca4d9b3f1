"""A campaign reads files that need reader options (``fit_campaign(reader=ReaderOptions(...))``,
``eisfit campaign --format --imag-sign --columns``, a campaign file's ``format``, ``imag_sign``,
``columns``): exports whose imaginary column holds -Z'' and whose headers name no column,
read alike by the serial and the parallel read, checked once, part of the cache key, named
in the settings and the report."""
from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import eisfit
from eisfit import CampaignError, FitError, ReadError, ReaderOptions, UnknownFormatError
from eisfit.campaign import CampaignWarning, load_checkpoints
from test_cli_conventions import assert_one_line_messages, read_rows, run

CIRCUIT = "R0-p(R1,C1)"
F_HZ = np.logspace(5, -1, 31)
R0_OHM, C1_F = 20.0, 1e-6
HEADER = "chan_a,chan_b,chan_c"  # no reader can tell which column is which: --columns needed
COLUMNS = {"frequency": 0, "real": 1, "imag": 2}
EXPORT = ReaderOptions(imag_sign="positive", columns=COLUMNS)
FAST = {"circuit": CIRCUIT, "starts": 2, "profile": False, "progress": False}
CLI_READER = ["--columns", "frequency=0,real=1,imag=2", "--imag-sign", "positive"]
CLI_QUICK = ["--circuit", CIRCUIT, "--starts", "2", "--profile", "off", "--no-progress"]


def r1_truth_ohm(k: int) -> float:
    """The interface resistance of export ``k`` (ohm)."""
    return 100.0 + 10.0 * k


def write_exports(folder: Path, n: int) -> list[Path]:
    """``n`` exports of R0 + R1 || C1 (no noise) whose third column holds -Z'' (capacitive
    values positive) under a header that names no column."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n):
        w = 2 * np.pi * F_HZ
        z = R0_OHM + r1_truth_ohm(k) / (1 + 1j * w * r1_truth_ohm(k) * C1_F)
        path = folder / f"export_{k:03d}.csv"
        np.savetxt(path, np.c_[F_HZ, z.real, -z.imag], delimiter=",", header=HEADER, comments="", fmt="%.10e")
        paths.append(path)
    return paths


def r1_of(table: pd.DataFrame) -> np.ndarray:
    return table["R1"].to_numpy(dtype=float)


# ---- 1. one typed, frozen record, checked once with the checks of eisfit.read -------------

@pytest.mark.parametrize("options, error, message", [
    ({"format": "cvs"}, UnknownFormatError, r"unknown format 'cvs' \(did you mean 'csv'\?\)"),
    ({"format": 3}, UnknownFormatError, r"unknown format 3"),
    ({"imag_sign": "pos"}, ReadError, r"imag_sign must be one of auto, negative, positive, not 'pos'"),
    ({"columns": {"freq": 0}}, ReadError, r"unknown role 'freq' \(did you mean 'frequency'\?\)"),
    ({"columns": [0, 1, 2]}, ReadError, r"columns must be a mapping"),
    ({"columns": {"real": True}}, ReadError, r"column of 'real' must be a 0-based index or a header name"),
])
def test_bad_reader_options_are_refused_when_built(options, error, message):
    with pytest.raises(error, match=message):
        ReaderOptions(**options)


def test_the_checks_are_those_of_eisfit_read(tmp_path):
    path = write_exports(tmp_path, 1)[0]
    path.write_text(path.read_text().replace(HEADER, "freq_Hz,Zre_ohm,Zim_ohm"))  # read as far as the sign
    for options in ({"format": "cvs"}, {"imag_sign": "pos"}, {"columns": {"freq": 0}}):
        with pytest.raises(ReadError) as built:
            ReaderOptions(**options)
        with pytest.raises(ReadError) as read:
            eisfit.read(path, **options)
        assert built.value.reason == read.value.reason  # one implementation, one message


def test_reader_options_are_frozen_layered_and_survive_pickling():
    options = ReaderOptions(format="CSV", imag_sign="positive", columns=COLUMNS)
    assert options.format == "csv" and dict(options.columns) == COLUMNS
    with pytest.raises(AttributeError):
        options.imag_sign = "negative"  # type: ignore[misc]
    with pytest.raises(TypeError):
        options.columns["real"] = 5  # type: ignore[index]
    again = pickle.loads(pickle.dumps(options))  # the campaign's worker processes get it so
    assert again == options and hash(again) == hash(options) and again.key() == options.key()
    assert ReaderOptions().key() == "" and ReaderOptions().describe() == "as detected"
    assert options.describe() == "format csv, imag_sign positive, columns frequency=0,real=1,imag=2"
    layered = ReaderOptions.layered({"imag_sign": "negative", "columns": COLUMNS}, ReaderOptions(imag_sign="positive"),
                                    {"format": "csv", "imag_sign": None})
    assert layered == ReaderOptions(format="csv", imag_sign="positive", columns=COLUMNS)  # later layers win
    with pytest.raises(TypeError, match="did you mean 'imag_sign'"):
        ReaderOptions.layered({"imag_sing": "positive"})


def test_fit_campaign_takes_only_a_reader_options(tmp_path):
    write_exports(tmp_path, 1)
    with pytest.raises(FitError, match=r"reader must be an eisfit.ReaderOptions.*got dict"):
        eisfit.fit_campaign(tmp_path, reader={"imag_sign": "positive"}, **FAST)


# ---- 2. a folder of exports: without the options error rows that say how, with them the truth --

def test_a_folder_of_exports_is_read_right_with_the_reader_options(tmp_path):
    folder = tmp_path / "exports"
    write_exports(folder, 3)
    plain = eisfit.fit_campaign(folder, **FAST)
    assert all(r is None for r in plain.results)  # no reader knows the columns
    reason = plain.errors[0].reason
    assert "--columns" in reason and "reader=eisfit.ReaderOptions(" in reason
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        camp = eisfit.fit_campaign(folder, reader=EXPORT, out=tmp_path / "out", **FAST)
    assert not [w for w in caught if "imaginary column" in str(w.message)]  # the sign is given, not guessed
    assert r1_of(camp.table) == pytest.approx([r1_truth_ohm(k) for k in range(3)], rel=1e-6)
    assert camp.table["R0"].to_numpy() == pytest.approx(R0_OHM, rel=1e-6)
    assert all(c.spectrum.meta["imag_sign_source"] == "option" for c in camp.checkpoints)
    assert camp.settings["reader"] == "imag_sign positive, columns frequency=0,real=1,imag=2"
    assert "| reader | imag_sign positive, columns frequency=0,real=1,imag=2 |" in \
        (tmp_path / "out" / "report.md").read_text()


def test_the_cli_campaign_reads_the_exports_with_its_reader_options(tmp_path):
    folder = tmp_path / "exports"
    write_exports(folder, 3)
    out = tmp_path / "out"
    result = run(["campaign", folder, *CLI_READER, *CLI_QUICK, "--out", out])
    assert result.exit_code == 0, result.output
    rows = read_rows(out / "summary.csv")
    assert [float(r["R1"]) for r in rows] == pytest.approx([r1_truth_ohm(k) for k in range(3)], rel=1e-6)
    assert "files read with imag_sign positive, columns frequency=0,real=1,imag=2" in result.stdout
    assert "imaginary column" not in result.stderr


def test_fit_and_campaign_share_the_reader_options_and_their_help():
    from eisfit.cli import main

    def helps(command: str) -> dict[str, str]:
        return {p.name: p.help for p in main.commands[command].params if p.name in ("fmt", "imag_sign", "columns_text")}

    assert helps("campaign") == helps("fit") and len(helps("fit")) == 3


@pytest.mark.parametrize("args, message", [
    (["--columns", "freq=0,real=1,imag=2"], "unknown role 'freq' (did you mean 'frequency'?)"),
    (["--columns", "frequency"], "expected ROLE=COLUMN pairs"),
    (["--format", "cvs"], "unknown format 'cvs' (did you mean 'csv'?)"),
    (["--imag-sign", "pos"], "'pos' is not one of 'auto', 'negative', 'positive'"),
])
def test_bad_reader_options_on_the_command_line_are_one_usage_error(tmp_path, args, message):
    write_exports(tmp_path / "exports", 2)
    out = tmp_path / "out"
    result = run(["campaign", tmp_path / "exports", *args, *CLI_QUICK, "--out", out])
    assert result.exit_code == 2, result.output
    assert_one_line_messages(result.stderr)
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
    assert not out.exists()  # nothing read, nothing written


# ---- 3. campaign files: row > command line > [defaults] ------------------------------------

def test_campaign_file_reader_options_follow_the_precedence_of_the_settings(tmp_path):
    write_exports(tmp_path / "exports", 3)
    toml = tmp_path / "campaign.toml"
    toml.write_text(f'[defaults]\ncircuit = "{CIRCUIT}"\ncolumns = {{frequency = 0, real = 1, imag = 2}}\n'
                    'imag_sign = "negative"\n'
                    '[[checkpoint]]\nfile = "exports/export_000.csv"\ntime_h = 0\n'
                    '[[checkpoint]]\nfile = "exports/export_001.csv"\ntime_h = 1\nimag_sign = "positive"\n'
                    '[[checkpoint]]\nfile = "exports/export_002.csv"\ntime_h = 2\n')
    fast = {k: v for k, v in FAST.items() if k != "circuit"}
    by_defaults = eisfit.fit_campaign(toml, **fast)
    assert [c.reader.imag_sign for c in by_defaults.checkpoints] == ["negative", "positive", "negative"]
    assert by_defaults.settings["reader"].startswith("per checkpoint: imag_sign negative")
    assert r1_of(by_defaults.table)[1] == pytest.approx(r1_truth_ohm(1), rel=1e-6)
    assert r1_of(by_defaults.table)[0] != pytest.approx(r1_truth_ohm(0), rel=1e-3)  # read as Z'': inductive
    argument = eisfit.fit_campaign(toml, reader=ReaderOptions(imag_sign="positive"), **fast)  # beats [defaults]
    assert r1_of(argument.table) == pytest.approx([r1_truth_ohm(k) for k in range(3)], rel=1e-6)
    toml.write_text(toml.read_text().replace('time_h = 2\n', 'time_h = 2\nimag_sign = "negative"\n'))
    out = tmp_path / "out"
    result = run(["campaign", toml, "--imag-sign", "positive", *CLI_QUICK, "--out", out])  # the row beats it
    assert result.exit_code == 0, result.output
    rows = read_rows(out / "summary.csv")
    assert float(rows[1]["R1"]) == pytest.approx(r1_truth_ohm(1), rel=1e-6)
    assert float(rows[2]["R1"]) != pytest.approx(r1_truth_ohm(2), rel=1e-3)


def test_a_csv_campaign_file_gives_columns_as_text(tmp_path):
    write_exports(tmp_path, 2)
    camp_csv = tmp_path / "campaign.csv"
    camp_csv.write_text('file,time_h,columns,imag_sign\nexport_000.csv,0,frequency=0;real=1;imag=2,positive\n'
                        'export_001.csv,5,"frequency=chan_a,real=chan_b,imag=chan_c",positive\n')
    camp = eisfit.fit_campaign(camp_csv, **FAST)
    assert r1_of(camp.table) == pytest.approx([r1_truth_ohm(0), r1_truth_ohm(1)], rel=1e-6)
    assert dict(camp.checkpoints[1].reader.columns) == {"frequency": "chan_a", "real": "chan_b", "imag": "chan_c"}


@pytest.mark.parametrize("text, message", [
    ('[defaults]\nimag_sign = "pos"\n', r"campaign.toml: \[defaults\]: imag_sign must be one of"),
    ('[defaults]\nformat = "cvs"\n', r"campaign.toml: \[defaults\]: unknown format 'cvs' \(did you mean 'csv'\?\)"),
    ('[defaults]\ncolumns = {freq = 0}\n', r"campaign.toml: \[defaults\]: columns option: unknown role 'freq'"),
    ('', None),
])
def test_a_bad_reader_option_of_a_campaign_file_names_the_file_and_the_row(tmp_path, text, message):
    write_exports(tmp_path, 1)
    toml = tmp_path / "campaign.toml"
    row = 'columns = "frequency"\n' if message is None else ""
    toml.write_text(text + f'[[checkpoint]]\nfile = "export_000.csv"\n{row}')
    expected = r"campaign.toml: \[\[checkpoint\]\] 1: columns: expected ROLE=COLUMN pairs" if message is None \
        else message
    with pytest.raises(CampaignError, match=expected):
        eisfit.fit_campaign(toml, **FAST)


# ---- 4. the parallel read (jobs >= 2, >= 64 files) reads with the same options -------------

def test_the_parallel_read_gives_the_table_of_the_serial_read(tmp_path):
    from eisfit.campaign import _process_pool, sources

    n = sources.PARALLEL_READ_MIN_FILES + 2
    folder = tmp_path / "many"
    write_exports(folder, n)
    with _process_pool(2) as pool:
        src = load_checkpoints(folder, executor=pool, reader=EXPORT)
    assert len(src.checkpoints) == n and all(c.ok for c in src.checkpoints)
    assert {c.spectrum.meta["imag_sign_source"] for c in src.checkpoints} == {"option"}  # read in the workers
    assert {c.reader for c in src.checkpoints} == {EXPORT}
    fast = {**FAST, "starts": 1, "cache_dir": False}
    one = eisfit.fit_campaign(folder, reader=EXPORT, jobs=1, **fast)
    two = eisfit.fit_campaign(folder, reader=EXPORT, jobs=2, **fast)
    pd.testing.assert_frame_equal(one.table, two.table)
    assert r1_of(two.table) == pytest.approx([r1_truth_ohm(k) for k in range(n)], rel=1e-6)


# ---- 5. the cache: other reader options, another key ---------------------------------------

def test_a_change_of_the_reader_options_misses_the_cache(tmp_path):
    folder = tmp_path / "exports"
    write_exports(folder, 3)
    out = tmp_path / "out"
    first = eisfit.fit_campaign(folder, reader=EXPORT, out=out, **FAST)
    assert first.stats["fits_run"] == 3
    again = eisfit.fit_campaign(folder, reader=EXPORT, out=out, **FAST)
    assert again.stats["fits_run"] == 0 and again.stats["cache_hits"] == 3
    flipped = eisfit.fit_campaign(folder, reader=ReaderOptions(imag_sign="negative", columns=COLUMNS), out=out, **FAST)
    assert flipped.stats["cache_hits"] == 0 and flipped.stats["fits_run"] == 3
    assert not np.allclose(r1_of(flipped.table), r1_of(first.table), rtol=1e-3)  # other data, other fits
    by_name = ReaderOptions(imag_sign="positive", columns={"frequency": "chan_a", "real": "chan_b", "imag": "chan_c"})
    named = eisfit.fit_campaign(folder, reader=by_name, out=out, **FAST)
    assert named.stats["cache_hits"] == 0 and named.stats["fits_run"] == 3  # other options: read and fitted again
    assert r1_of(named.table) == pytest.approx(r1_of(first.table), rel=1e-6)
    assert eisfit.fit_campaign(folder, reader=EXPORT, out=out, **FAST).stats["cache_hits"] == 3


def test_one_file_read_two_ways_in_a_campaign_file_keeps_two_fits_in_the_cache(tmp_path):
    write_exports(tmp_path, 1)
    toml = tmp_path / "campaign.toml"
    toml.write_text('[defaults]\ncolumns = "frequency=0,real=1,imag=2"\n'
                    '[[checkpoint]]\nfile = "export_000.csv"\nimag_sign = "positive"\n'
                    '[[checkpoint]]\nfile = "export_000.csv"\nimag_sign = "negative"\n')
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("error", CampaignWarning)  # read two ways: not "listed twice"
        first = eisfit.fit_campaign(toml, out=out, **FAST)
    rerun = eisfit.fit_campaign(toml, out=out, **FAST)
    assert rerun.stats["cache_hits"] == 2 and rerun.stats["fits_run"] == 0
    assert r1_of(rerun.table) == pytest.approx(r1_of(first.table), rel=1e-9)
    assert r1_of(rerun.table)[0] == pytest.approx(r1_truth_ohm(0), rel=1e-6)
    assert r1_of(rerun.table)[1] != pytest.approx(r1_truth_ohm(0), rel=1e-3)


# ---- 6. spectra given in memory are not read --------------------------------------------

def test_reader_options_given_with_spectra_are_named_as_unused(tmp_path):
    spectra = [s for p in write_exports(tmp_path, 2) for s in eisfit.read(p, **EXPORT.given())]
    with pytest.warns(CampaignWarning, match=r"reader options \(imag_sign positive.*\) are not used"):
        camp = eisfit.fit_campaign(spectra, reader=EXPORT, **FAST)
    assert "reader" not in camp.settings
    assert r1_of(camp.table) == pytest.approx([r1_truth_ohm(0), r1_truth_ohm(1)], rel=1e-6)


@pytest.mark.parametrize("name, content, is_campaign", [
    ("bom.csv", "\ufefffile,time_h\nx.csv,1\n".encode(), True),  # saved by Excel with a byte-order mark
    ("quoted.csv", b'"file","time_h"\r\nx.csv,1\r\n', True),
    ("spaced.csv", b"label, file \nx,y.csv\n", True),
    ("old_mac.csv", b"file,time_h\rx.csv,1\r", True),  # lines ended by CR alone
    ("data.csv", b"freq_Hz,Zre_ohm,Zim_ohm\n1000,1,-2\n", False),
    ("semicolons.csv", b"file;time_h\nx.csv;1\n", False),
    ("empty.csv", b"", False),
    ("binary.csv", b"\xff\xfe\x00\x81binary", False),
    ("campaign.toml", b"", True),
    ("notes.txt", b"file,time_h\n", False),
])
def test_a_folder_tells_its_campaign_files_by_the_header_s_file_column(tmp_path, name, content, is_campaign):
    """A folder's campaign file (a .toml, or a .csv whose header has a ``file`` column) is not
    read as data: told from the first line alone, whatever its encoding mark or line ends."""
    from eisfit.campaign.sources import _is_campaign_file

    (tmp_path / name).write_bytes(content)
    assert _is_campaign_file(tmp_path / name) is is_campaign
