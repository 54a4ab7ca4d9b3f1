"""The command line behaves as a careful user expects (issue 15).

Settings precedence, exit status, one-line messages, --json, -h/-q/-v, bad cache
entries, unwritable folders, interrupted campaigns and no orphan worker processes.
Spectra are synthetic (two R||CPE arcs, 0.2 % noise), written by the tests.
"""
from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import eisfit
from eisfit import CampaignError, CircuitError, FitError
from eisfit.cli import main
from eisfit.io.export import write_csv
from eisfit.model import Circuit

REPO = Path(__file__).resolve().parent.parent
CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
F_HZ = np.logspace(6, -1, 43)
QUICK = ["--starts", "2", "--profile", "off", "--no-progress"]
COMMANDS = ["info", "read", "convert", "circuits", "fit", "validate", "drt", "campaign"]


def spectrum(r2_ohm: float = 200.0, seed: int = 0, label: str = "s") -> eisfit.Spectrum:
    values = {"R0": 20.0, "R1": 80.0, "CPE1_0": 2e-9, "CPE1_1": 0.9, "R2": r2_ohm, "CPE2_0": 2e-6,
              "CPE2_1": 0.85}
    c = Circuit(CIRCUIT)
    z = c.impedance(np.array([values[n] for n in c.param_names]), F_HZ)
    rng = np.random.default_rng(seed)
    z = z * (1 + 0.002 * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size)))
    return eisfit.Spectrum(F_HZ, z, {"label": label})


def data_folder(folder: Path, n: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [write_csv([spectrum(150.0 + 40 * k, seed=k, label=f"cp{k}")], folder / f"cp{k:02d}.csv")
            for k in range(n)]


def campaign_toml(folder: Path, defaults: str, rows: list[str]) -> Path:
    files = data_folder(folder / "data", len(rows))
    text = "[defaults]\n" + defaults + "\n"
    for f, extra in zip(files, rows):
        text += f'\n[[checkpoint]]\nfile = "data/{f.name}"\n{extra}\n'
    path = folder / "campaign.toml"
    path.write_text(text)
    return path


def run(args: list[str]):
    return CliRunner().invoke(main, [str(a) for a in args])


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def assert_one_line_messages(stderr: str) -> None:
    """Every stderr line is an eisfit message (or the caret lines of a circuit error)."""
    assert "Traceback" not in stderr
    for line in stderr.splitlines():
        assert line.startswith(("eisfit: error: ", "eisfit: warning: ")), line


# ---- settings precedence ---------------------------------------------------------

def test_command_line_beats_defaults_and_row_beats_command_line(tmp_path):
    toml = campaign_toml(tmp_path, 'circuit = "garnet-symmetric"\narea_cm2 = 0.5\nthickness_cm = 0.03',
                         ["", "", "area_cm2 = 3.0"])
    out = tmp_path / "out"
    r = run(["campaign", toml, "--area-cm2", "2.0", "--circuit", CIRCUIT, "--out", out, *QUICK])
    assert r.exit_code == 0, r.output
    rows = read_rows(out / "summary.csv")
    assert [float(row["area_cm2"]) for row in rows] == [2.0, 2.0, 3.0]
    for row in rows:  # the ASR really uses that area (R * A, per cell)
        assert float(row["R2_asr_ohm_cm2"]) == pytest.approx(float(row["R2"]) * float(row["area_cm2"]), rel=1e-9)
        assert row["circuit"] == CIRCUIT
        assert float(row["thickness_cm"]) == 0.03  # from [defaults]: nothing overrode it
    report = (out / "report.md").read_text()
    assert f"Circuit `{CIRCUIT}`" in report and "garnet-symmetric`" not in report
    assert f"circuit {CIRCUIT}" in r.stdout


def test_function_arguments_beat_the_defaults_table(tmp_path):
    toml = campaign_toml(tmp_path, 'circuit = "garnet-symmetric"\narea_cm2 = 0.5', ["", 'circuit = "R0-p(R1,CPE1)"'])
    camp = eisfit.fit_campaign(toml, circuit=CIRCUIT, area_cm2=2.0, starts=2, profile=False, progress=False)
    assert list(camp.table["area_cm2"]) == [2.0, 2.0]
    assert list(camp.table["circuit"]) == [CIRCUIT, "R0-p(R1,CPE1)"]  # row > argument
    assert camp.settings["circuit"] == CIRCUIT and camp.settings["area_cm2"] == 2.0
    plain = eisfit.fit_campaign(toml, starts=2, profile=False, progress=False)
    assert list(plain.table["area_cm2"]) == [0.5, 0.5]  # [defaults] > built-in
    assert plain.table["circuit"][0] == "garnet-symmetric"


def test_fit_settings_layers():
    from eisfit.settings import FitSettings

    s = FitSettings.layered({"area_cm2": 0.5, "circuit": "garnet-symmetric"}, {"area_cm2": 2.0, "fmin": None},
                            {"fmin": 1.0})
    assert (s.area_cm2, s.circuit, s.fmin_Hz, s.weighting) == (2.0, "garnet-symmetric", 1.0, "modulus")
    with pytest.raises(FitError, match="area_cm2 must be a positive number"):
        FitSettings(area_cm2=-1)
    with pytest.raises(FitError, match="fmin .* must be below fmax"):
        FitSettings(fmin_Hz=10, fmax_Hz=1)
    with pytest.raises(FitError, match="did you mean 'modulus'"):
        FitSettings(weighting="modulos")
    with pytest.raises(TypeError, match="did you mean 'area_cm2'"):
        FitSettings.layered({"aera_cm2": 1.0})


def test_bad_settings_are_refused_before_any_fit(tmp_path, monkeypatch):
    from eisfit.campaign import runner

    def no_fit(*a, **k):
        raise AssertionError("a fit ran before the settings were checked")

    monkeypatch.setattr(runner, "fit_chunks", no_fit)
    folder = tmp_path / "data"
    data_folder(folder, 2)
    with pytest.raises(TypeError, match="unexpected keyword argument 'cache'.*did you mean 'cache_dir'"):
        eisfit.fit_campaign(folder, cache=False)
    with pytest.raises(FitError, match="area_cm2 must be a positive number"):
        eisfit.fit_campaign(folder, area_cm2=-1)
    with pytest.raises(CircuitError):
        eisfit.fit_campaign(folder, circuit="R0-p(R1,CPE1")
    with pytest.raises(FitError, match="fixed: unknown parameter 'R9'"):
        eisfit.fit_campaign(folder, fixed={"R9": 1.0})
    with pytest.raises(FitError, match="initial value of R0 must be a finite number"):
        eisfit.fit_campaign(folder, initial={"R0": math.nan})
    with pytest.raises(FitError, match="jobs"):
        eisfit.fit_campaign(folder, jobs=0)
    for args, text in [(["--area-cm2", "-1"], "--area-cm2"), (["--circuit", "R0-p(R1,CPE1"], "invalid circuit"),
                       (["--fmin", "-5"], "--fmin"), (["--jobs", "0"], "--jobs"),
                       (["--scheduler", "file:///x"], "not a Dask scheduler address")]:
        r = run(["campaign", folder, "--out", tmp_path / "o", *args])
        assert r.exit_code == 2, (args, r.output)
        assert text in r.stderr
        assert_one_line_messages(r.stderr.split("\n    ")[0])  # a circuit error adds its caret lines
        assert not (tmp_path / "o").exists()  # no empty output folder left behind
    # nor the folders made for a nested one (``--out n/a/b`` had left n/a), while a parent
    # that existed, or holds something, stays
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "x.txt").write_text("x")
    no_data = tmp_path / "no_data"
    no_data.mkdir()
    (no_data / "notes.csv").write_text("x\n")
    for out in (tmp_path / "n" / "a" / "b", tmp_path / "kept" / "a" / "b"):
        r = run(["campaign", no_data, "--out", out])
        assert r.exit_code == 2 and "no impedance data file found" in r.stderr, r.output
    assert not (tmp_path / "n").exists()
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["x.txt"]


def test_campaign_file_typos_are_errors_with_a_suggestion(tmp_path):
    toml = campaign_toml(tmp_path, 'circuit = "garnet-symmetric"', ["aera_cm2 = 0.5"])
    with pytest.raises(CampaignError, match="unknown column 'aera_cm2' \\(did you mean 'area_cm2'\\?\\)"):
        eisfit.fit_campaign(toml)
    toml.write_text(toml.read_text().replace("aera_cm2 = 0.5", "").replace("[defaults]", "[defaults]\nweigthing = 'unit'"))
    with pytest.raises(CampaignError, match="unknown key 'weigthing' \\(did you mean 'weighting'\\?\\)"):
        eisfit.fit_campaign(toml)
    r = run(["campaign", toml, "--out", tmp_path / "o"])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "did you mean 'weighting'" in r.stderr
    assert_one_line_messages(r.stderr)
    toml.write_text(toml.read_text().replace("weigthing = 'unit'", "") + "\n[defualts]\n")
    with pytest.raises(CampaignError, match="did you mean 'defaults'"):
        eisfit.fit_campaign(toml)


def test_free_columns_are_carried_with_one_warning(tmp_path):
    toml = campaign_toml(tmp_path, "", ['pressure_MPa = 5.0', 'pressure_MPa = 6.0'])
    r = run(["campaign", toml, "--out", tmp_path / "o", *QUICK])
    assert r.exit_code == 0, r.output
    assert r.stderr.count("'pressure_MPa' is not a campaign column") == 1
    assert [float(x["pressure_MPa"]) for x in read_rows(tmp_path / "o" / "summary.csv")] == [5.0, 6.0]


# ---- exit status and messages --------------------------------------------------------

def test_fit_exit_status(tmp_path):
    good = write_csv([spectrum()], tmp_path / "good.csv")
    assert run(["fit", good, "-q"]).exit_code == 0
    partial = run(["fit", good, tmp_path / "missing.csv"])
    assert partial.exit_code == 1 and "R2" in partial.stdout
    assert any(line.startswith("eisfit: error: ") and "missing.csv" in line for line in partial.stderr.splitlines())
    assert_one_line_messages(partial.stderr)
    assert run(["fit", tmp_path / "missing.csv"]).exit_code == 2
    too_few = write_csv([eisfit.Spectrum(F_HZ[:3], spectrum().z[:3], {"label": "short"})], tmp_path / "short.csv")
    r = run(["fit", good, too_few])
    assert r.exit_code == 1 and "short: " in r.stderr and "free parameters" in r.stderr
    assert_one_line_messages(r.stderr)


def test_usage_errors_are_one_eisfit_line_with_status_2(tmp_path):
    good = write_csv([spectrum()], tmp_path / "good.csv")
    cases = [["fit", good, "--fmin", "-5"], ["fit", good, "--plot"], ["fit", good, "--bogus"], ["nosuch"],
             ["fit"], ["fit", good, "--format", "nope"], ["fit", good, "--fix", "R9=1"],
             ["fit", good, "--initial", "R0=nan"], ["read", good, "--sweep", "-1"], ["drt", good, "--lambda", "-1"],
             ["validate", good, "--c", "2"], ["fit", good, "--circuit", "R0-" + "-".join(f"p(R{i},CPE{i}" for i in range(1, 60))]]
    for args in cases:
        r = run(args)
        assert r.exit_code == 2, (args, r.output)
        assert r.stdout == "", args
        first, *rest = r.stderr.splitlines()
        assert first.startswith("eisfit: error: "), (args, r.stderr)
        assert not rest or rest[-1].strip() == "^", (args, r.stderr)  # only a circuit caret may follow
        assert "Traceback" not in r.stderr and "File name too long" not in r.stderr


def test_a_table_command_whose_every_file_fails_prints_no_table_header(tmp_path):
    """`eisfit validate empty.csv` printed the table's header line, then the error (exit 2)."""
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    r = run(["validate", empty])
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.startswith("eisfit: error: ")
    good = write_csv([spectrum()], tmp_path / "good.csv")
    lines = run(["validate", empty, good]).stdout.splitlines()
    assert lines[0].startswith("spectrum") and lines[1].startswith("s ")  # the header over the first row


def test_debug_shows_the_traceback(tmp_path):
    r = run(["fit", tmp_path / "missing.csv", "--circuit", "R0-p(R1,CPE1", "--debug"])
    assert r.exit_code == 1 and isinstance(r.exception, CircuitError)  # raised, not turned into a line


def _error_lines_and_tracebacks(stderr: str) -> tuple[list[str], list[str]]:
    """The ``eisfit: error:`` lines of stderr and the last line of each Python traceback in it."""
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith("eisfit: error: ")]
    ends = []
    for k, line in enumerate(lines):
        if line == "Traceback (most recent call last):":
            ends.append(next(x for x in lines[k + 1:] if not x.startswith(" ")))
    return errors, ends


def _plain_and_debug_runs(args: list, tmp_path):
    """The command ``args`` run without and with --debug (exit status 1 both): the error
    lines of the plain run, which shows no traceback, and the --debug run's result."""
    plain = run([*args, "--out", tmp_path / "plain"])
    debug = run([*args, "--out", tmp_path / "debug", "--debug"])
    assert plain.exit_code == debug.exit_code == 1, plain.output + debug.output
    errors, ends = _error_lines_and_tracebacks(plain.stderr)
    assert ends == [] and "Traceback" not in plain.stderr
    return errors, debug


@pytest.mark.parametrize("command", ["fit", "campaign-folder", "campaign-file"])
def test_debug_prints_the_traceback_of_each_file_that_fails_and_goes_on(tmp_path, command):
    """A file that cannot be read among good ones: one 'eisfit: error:' line naming it
    without --debug (no traceback); with --debug the same line and, before it, the
    traceback of the reader's exception on stderr; the exit status is the same (1: the good
    files are fitted). Before, --debug printed no traceback for such errors."""
    data_folder(tmp_path / "data", 2)
    (tmp_path / "data" / "broken.csv").write_text("frequency,nothing\n1,2\n")
    if command == "fit":
        args = ["fit", *sorted((tmp_path / "data").glob("*.csv")), "--circuit", "R0-p(R1,CPE1)-p(R2,CPE2)"]
    elif command == "campaign-folder":
        args = ["campaign", tmp_path / "data", *QUICK]
    else:
        toml = tmp_path / "campaign.toml"
        toml.write_text("".join(f'[[checkpoint]]\nfile = "data/{name}"\ntime_h = {k}\n\n'
                                for k, name in enumerate(["cp00.csv", "broken.csv", "cp01.csv"])))
        args = ["campaign", toml, *QUICK]
    errors, debug = _plain_and_debug_runs(args, tmp_path)
    assert len(errors) == 1 and "broken.csv" in errors[0] and "no impedance columns" in errors[0]
    debug_errors, debug_ends = _error_lines_and_tracebacks(debug.stderr)
    assert debug_errors == errors
    assert len(debug_ends) == 1 and debug_ends[0].startswith("eisfit.errors.MissingColumnError: ")
    assert "broken.csv" in debug_ends[0]
    assert debug.stderr.index("Traceback (most recent call last):") < debug.stderr.index(errors[0])


def test_debug_prints_the_traceback_of_a_fit_that_fails_in_a_worker_process(tmp_path):
    """A checkpoint whose fit raises (2 points for 7 parameters) in a worker process (--jobs 2):
    one 'eisfit: error:' line without --debug; with --debug, before it, the traceback of the
    worker's FitError (its frames in the fitting code). Before, --debug printed none for a
    failed fit, in a worker or not: only the reader's errors kept theirs."""
    data_folder(tmp_path / "data", 3)
    short = spectrum(label="short")
    write_csv([eisfit.Spectrum(short.frequency[:2], short.z[:2], {"label": "short"})], tmp_path / "data" / "cp03.csv")
    args = ["campaign", tmp_path / "data", "--jobs", "2", "--imag-sign", "negative", *QUICK]
    errors, debug = _plain_and_debug_runs(args, tmp_path)
    assert len(errors) == 1 and "cp03.csv" in errors[0] and "only 2 points" in errors[0]
    debug_errors, debug_ends = _error_lines_and_tracebacks(debug.stderr)
    assert debug_errors == errors
    assert debug_ends and all(end.startswith("eisfit.errors.FitError: ") and "only 2 points" in end
                              for end in debug_ends)
    assert "eisfit/fitting/engine.py" in debug.stderr.replace(os.sep, "/")
    assert debug.stderr.index("Traceback (most recent call last):") < debug.stderr.index(errors[0])


def test_a_task_that_raises_in_a_worker_keeps_the_workers_traceback():
    """A whole task that raises in a worker process (not a fit's own error, which the worker
    catches): its outcome keeps the worker's traceback, which names the worker's frame."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from eisfit.campaign.runner import _outcome

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        outcome = _outcome(pool.submit(int, "not a number"))
    assert outcome["error"].startswith("worker failed: ValueError: ")
    assert "invalid literal for int()" in outcome["traceback"]
    assert "_process_worker" in outcome["traceback"]  # the worker's own frames, not only this process's


def test_long_circuit_string_is_never_a_path():
    text = "R0-" + "-".join(f"p(R{i},CPE{i})" for i in range(1, 40))
    assert len(text.encode()) > 255
    definition = eisfit.load_circuit(text)
    assert definition.circuit.param_names[:2] == ["R0", "R1"] and len(definition.circuit.param_names) == 1 + 3 * 39


def test_campaign_exit_status(tmp_path):
    folder = tmp_path / "data"
    data_folder(folder, 2)
    (folder / "broken.csv").write_text("frequency,nothing\n1,2\n")
    out = tmp_path / "out"
    r = run(["campaign", folder, "--out", out, *QUICK])
    assert r.exit_code == 1, r.output  # two fitted, one unreadable
    assert "broken.csv" in r.stderr and len(read_rows(out / "summary.csv")) == 3
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.csv").write_text("frequency,nothing\n1,2\n")
    (bad / "b.csv").write_text("frequency,nothing\n1,2\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        r = run(["campaign", bad, *QUICK])
    finally:
        os.chdir(cwd)
    assert r.exit_code == 2 and "no checkpoint" in r.stderr and "nothing written" in r.stderr
    assert not (tmp_path / "eisfit-campaign").exists()  # the default folder is not left behind
    assert_one_line_messages(r.stderr)


def test_library_errors_name_the_problem():
    s = spectrum()
    with pytest.raises(FitError, match="expr of CPE2_1: 'CPE1_1 \\* foo' cannot be evaluated.*foo"):
        eisfit.fit(s, CIRCUIT, expr={"CPE2_1": "CPE1_1 * foo"})
    with pytest.raises(FitError, match="expr of CPE2_1: 'R0.real.x'.*AttributeError"):
        eisfit.fit(s, CIRCUIT, expr={"CPE2_1": "R0.real.x"})
    for bad in (math.nan, math.inf):
        with pytest.raises(FitError, match="initial value of R0 must be a finite number"):
            eisfit.fit(s, CIRCUIT, initial={"R0": bad})
    tied = eisfit.fit(s, CIRCUIT, expr={"CPE2_1": "CPE1_1"})
    assert tied.values["CPE2_1"] == pytest.approx(tied.values["CPE1_1"], rel=1e-12)


# ---- -h, -q, -v, --json, python -m eisfit --------------------------------------------

@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples_and_the_common_options(command):
    r = run([command, "-h"])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"Usage: eisfit {command}") and "Examples:" in r.stdout
    for option in ("-q, --quiet", "-v, --verbose", "--debug", "-h, --help"):
        assert option in r.stdout, (command, option)
    assert "--json" in r.stdout


def test_group_help_and_version():
    for args in (["-h"], ["--help"]):
        r = run(args)
        assert r.exit_code == 0 and "Exit status" in r.stdout and "Examples:" in r.stdout
    assert run(["--version"]).stdout.strip() == f"eisfit, version {eisfit.__version__}"


def test_json_of_every_command_that_prints_results(tmp_path):
    s = spectrum()
    path = write_csv([s], tmp_path / "one.csv")
    read_back = eisfit.read(path)[0]

    info = json.loads(run(["info", path, "--json"]).stdout)
    assert info[0]["format"] == "csv" and info[0]["sweeps"][0]["points"] == F_HZ.size
    points = json.loads(run(["read", path, "--json"]).stdout)
    np.testing.assert_array_equal(points[0]["frequency_Hz"], read_back.frequency)
    np.testing.assert_array_equal(points[0]["z_imag_ohm"], read_back.z.imag)
    conv = json.loads(run(["convert", path, "--to", "json", "--out", tmp_path / "conv", "--json"]).stdout)
    assert conv == [{"input": str(path), "output": str(tmp_path / "conv" / "one.json"), "sweeps": 1}]
    library = json.loads(run(["circuits", "--json"]).stdout)
    assert [d["name"] for d in library] == [d.name for d in eisfit.list_circuits()]
    one = json.loads(run(["circuits", CIRCUIT, "--json"]).stdout)
    assert [p["name"] for p in one["parameters"]] == Circuit(CIRCUIT).param_names
    fits = json.loads(run(["fit", path, "--circuit", CIRCUIT, "--json"]).stdout)
    lib = eisfit.fit(read_back, CIRCUIT)
    assert fits[0]["values"] == pytest.approx(lib.values, rel=1e-9)
    kk = json.loads(run(["validate", path, "--json"]).stdout)
    ref = eisfit.kk_test(read_back)
    assert kk[0]["passed"] == bool(ref.passed) and kk[0]["mu"] == pytest.approx(ref.mu)
    drt = json.loads(run(["drt", path, "--json"]).stdout)
    assert drt[0]["r_pol_ohm"] == pytest.approx(eisfit.drt(read_back).r_pol_ohm, rel=1e-9)
    folder = tmp_path / "camp"
    data_folder(folder, 2)
    r = run(["campaign", folder, "--out", tmp_path / "out", "--json", *QUICK])
    assert r.exit_code == 0, r.output
    camp = json.loads(r.stdout)
    assert camp["checkpoints"] == 2 and camp["fitted"] == 2 and len(camp["table"]) == 2
    assert camp["table"][1]["R2"] == pytest.approx(float(read_rows(tmp_path / "out" / "summary.csv")[1]["R2"]))
    # every digit: DataFrame.to_json had kept 10 decimals (a C_eff of 4.97e-10 F read 5e-10, its stderr 0.0)
    csv_row = read_rows(tmp_path / "out" / "summary.csv")[0]
    for key in ("CPE1_0", "CPE1_ceff_F", "CPE1_ceff_F_stderr"):
        assert camp["table"][0][key] == pytest.approx(float(csv_row[key]), rel=1e-12) and camp["table"][0][key] < 1e-5
    # settings named as a fit's (fit --json says fmin_Hz; campaign --json said fmin)
    assert fits[0]["settings"]["fmin_Hz"] is None and "fmin" not in fits[0]["settings"]
    assert {"fmin_Hz", "fmax_Hz", "area_cm2", "weighting"} <= set(camp["settings"]) and "fmin" not in camp["settings"]
    assert "frequency_Hz" in fits[0] and "z_imag_ohm" in fits[0] and "frequency" not in fits[0]


def test_quiet_hides_warnings_and_notes_verbose_shows_more(tmp_path):
    folder = tmp_path / "data"
    data_folder(folder, 2)
    toml = campaign_toml(tmp_path, "", ["pressure_MPa = 1", "pressure_MPa = 2"])
    loud = run(["campaign", toml, "--out", tmp_path / "o1", *QUICK])
    quiet = run(["campaign", toml, "--out", tmp_path / "o2", "-q", *QUICK])
    assert "eisfit: warning:" in loud.stderr and "wrote" in loud.stderr
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == loud.stdout
    verbose = run(["fit", write_csv([spectrum()], tmp_path / "v.csv"), "-v"])
    assert verbose.exit_code == 0 and "settings:" in verbose.stderr


def test_format_accepts_exactly_what_info_prints():
    from eisfit.io import available_formats

    sample = REPO / "sample_data" / "garnet_campaign"
    seen = set()
    for path in (sample / "csv" / "LiMg_LLZTO_0000h_PEIS_C01.csv", sample / "mpt" / "LiMg_LLZTO_0000h_PEIS_C01.mpt"):
        line = run(["info", path]).stdout.splitlines()[0]
        name = line.split("format ")[1].split(",")[0]
        assert name in available_formats()
        forced = run(["info", path, "--format", name])
        assert forced.exit_code == 0 and f"format {name}," in forced.stdout
        seen.add(name)
    assert seen == {"csv", "mpt"}


def test_fit_writes_fits_csv_without_pandas(tmp_path):
    path = write_csv([spectrum()], tmp_path / "one.csv")
    code = ("import sys; from eisfit.cli import main; "
            f"rc = main(['fit', {str(path)!r}, '--out', {str(tmp_path / 'out')!r}, '-q'], standalone_mode=False); "
            "print(rc, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.stdout.split()[-2:] == ["0", "False"], out.stderr
    rows = read_rows(tmp_path / "out" / "fits.csv")
    lib = eisfit.fit(eisfit.read(path)[0])
    assert float(rows[0]["R2"]) == pytest.approx(lib.values["R2"], rel=1e-9)
    assert rows[0]["flags"] == ";".join(lib.flags)


def test_python_dash_m_eisfit():
    out = subprocess.run([sys.executable, "-m", "eisfit", "--version"], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"eisfit, version {eisfit.__version__}"


def test_the_program_keeps_its_exit_status_output_and_exit_handlers(tmp_path):
    """``python -m eisfit`` (as the console script) ends without the interpreter's teardown:
    its exit status, its whole output and the exit handlers are as with Python's own exit."""
    path = write_csv([spectrum()], tmp_path / "one.csv")
    done = subprocess.run([sys.executable, "-m", "eisfit", "fit", str(path), "--json"], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["values"]["R2"] == pytest.approx(eisfit.fit(eisfit.read(path)[0]).values["R2"])
    missing = subprocess.run([sys.executable, "-m", "eisfit", "fit", str(tmp_path / "none.csv")],
                             capture_output=True, text=True, cwd=REPO, timeout=60)
    assert missing.returncode == 2 and missing.stderr.startswith("eisfit: error: ") and "none.csv" in missing.stderr
    marker = tmp_path / "handler_ran"
    code = ("import atexit, pathlib, sys; from eisfit.cli import _end_process; "
            f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes'); "
            "sys.stdout.write('unflushed'); _end_process(3)")
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # the output waits in its buffer
    ended = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60,
                           env=buffered)
    assert (ended.returncode, ended.stdout, marker.read_text()) == (3, "unflushed", "yes")
    code = ("import threading, time, sys; from eisfit.cli import _end_process; "
            "threading.Thread(target=lambda: (time.sleep(0.3), print('thread done', flush=True))).start(); "
            "_end_process(0)")
    waited = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert (waited.returncode, waited.stdout) == (0, "thread done\n")  # a running thread is waited for


# ---- faults survived ----------------------------------------------------------------------

def _cache_entries(cache: Path) -> dict[str, bytes]:
    """{key: JSON bytes} of every line of the cache's packs (one pack per chunk of fits)."""
    out = {}
    for pack in sorted(cache.glob("pack-*.jsonl")):
        for line in pack.read_bytes().splitlines():
            key, _, text = line.partition(b"\t")
            out[key.decode()] = text
    return out


def _replace_entry(cache: Path, key: str, text: bytes) -> None:
    """Put ``text`` (no newline) in place of the JSON of ``key``'s line in its pack."""
    for pack in cache.glob("pack-*.jsonl"):
        lines = pack.read_bytes().splitlines(keepends=True)
        for k, line in enumerate(lines):
            if line.startswith(key.encode() + b"\t"):
                lines[k] = key.encode() + b"\t" + text + b"\n"
                pack.write_bytes(b"".join(lines))
                return
    raise AssertionError(f"no entry {key}")


def _edited_values(entry: bytes, edit) -> bytes:
    """A cache line's JSON with ``edit(values)`` applied to its result's values (a dict of
    floats, packed again as the cache writes it) and nothing else changed: the checksum no
    longer matches."""
    from eisfit.campaign.cache import packed_block, unpacked

    data = json.loads(entry)
    values = dict(unpacked(data["result"])["values"])
    edit(values)
    data["result"]["values"] = packed_block(values, values.values())
    return json.dumps(data).encode()


def test_binary_or_edited_cache_entries_are_refitted_with_a_warning(tmp_path):
    """Random bytes in an entry crashed the campaign (internal error: UnicodeDecodeError, no
    summary.csv); an entry with flags = 5 crashed it later; one without R2's value passed
    with a blank R2 and its ASR still given. Each is now refitted with the warning."""
    folder = tmp_path / "data"
    data_folder(folder, 3)
    out = tmp_path / "out"
    assert run(["campaign", folder, "--out", out, *QUICK]).exit_code == 0
    cache = out / ".eisfit-cache"
    entries = _cache_entries(cache)
    assert len(entries) == 3 and len(list(cache.glob("pack-*.jsonl"))) == 1  # one pack for the chunk
    keys = sorted(entries)
    _replace_entry(cache, keys[0], bytes(range(11, 256)) * 2)  # no newline among the bytes
    edited = json.loads(entries[keys[1]])
    edited["result"]["flags"] = 5
    _replace_entry(cache, keys[1], json.dumps(edited).encode())
    _replace_entry(cache, keys[2], _edited_values(entries[keys[2]], lambda values: values.pop("R2")))
    again = run(["campaign", folder, "--out", out, *QUICK])
    assert again.exit_code == 0, again.output
    assert again.stderr.count("is unusable") == 1 and "fits run: 3" in again.stderr  # one warning per pack
    assert all(row["R2"] not in ("", None) for row in read_rows(out / "summary.csv"))


def test_a_cache_entry_whose_numbers_were_edited_is_refitted(tmp_path):
    """An entry still shaped as a fit result but whose numbers changed since it was written
    (edited, a damaged disk block): R2 = 1e30 had been shown beside the ASR of the fitted R2.
    Its checksum no longer matches: refitted with one warning, the table as before."""
    folder = tmp_path / "data"
    data_folder(folder, 2)
    out = tmp_path / "out"
    assert run(["campaign", folder, "--out", out, *QUICK]).exit_code == 0
    first_rows = read_rows(out / "summary.csv")
    cache = out / ".eisfit-cache"
    entries = _cache_entries(cache)
    key = sorted(entries)[0]
    _replace_entry(cache, key, _edited_values(entries[key], lambda values: values.update(R2=1e30)))
    again = run(["campaign", folder, "--out", out, *QUICK])
    assert again.exit_code == 0, again.output
    assert "does not match its checksum" in again.stderr and "fits run: 1" in again.stderr
    for a, b in zip(first_rows, read_rows(out / "summary.csv")):
        assert float(b["R2"]) == pytest.approx(float(a["R2"]), rel=1e-9)


def test_bad_cache_entries_are_refitted_with_a_warning(tmp_path):
    folder = tmp_path / "data"
    data_folder(folder, 4)
    out = tmp_path / "out"
    first = run(["campaign", folder, "--out", out, *QUICK])
    assert first.exit_code == 0, first.output
    first_rows = read_rows(out / "summary.csv")
    cache = out / ".eisfit-cache"
    entries = _cache_entries(cache)
    assert len(entries) == 4  # one kept fit per checkpoint
    keys = sorted(entries)
    _replace_entry(cache, keys[0], b"[]")
    good = json.loads(entries[keys[1]])
    good["result"]["values"] = []
    _replace_entry(cache, keys[1], json.dumps(good).encode())
    _replace_entry(cache, keys[2], b"{not json")
    _replace_entry(cache, keys[3], b'{"values": []}')
    again = run(["campaign", folder, "--out", out, *QUICK])
    assert again.exit_code == 0, again.output
    assert again.stderr.count("is unusable") == 1 and "every other unusable entry of this pack" in again.stderr
    assert_one_line_messages("\n".join(l for l in again.stderr.splitlines() if not l.startswith("fits run")))
    assert "fits run: 4" in again.stderr
    after = read_rows(out / "summary.csv")
    assert all(row["error"] == "" for row in after) and len(after) == 4
    for a, b in zip(first_rows, after):  # the refits give the results the bad entries held
        assert float(b["R2"]) == pytest.approx(float(a["R2"]), rel=1e-9)
    third = run(["campaign", folder, "--out", out, *QUICK])  # the refits' newer pack is read now
    assert "is unusable" not in third.stderr and "fits run: 0" in third.stderr


def test_cache_lines_without_a_key_are_counted_in_one_warning(tmp_path):
    """A pack cut or garbled so that lines lose their key: one warning names the pack and
    the count; those fits run again, the others come from the cache."""
    folder = tmp_path / "data"
    data_folder(folder, 3)
    out = tmp_path / "out"
    assert run(["campaign", folder, "--out", out, *QUICK]).exit_code == 0
    (pack,) = (out / ".eisfit-cache").glob("pack-*.jsonl")
    lines = pack.read_bytes().splitlines(keepends=True)
    pack.write_bytes(lines[0] + b"garbage without a key\n" + b"x" + lines[1][1:] + lines[2])
    # a pack of other code (an older version: its keys could never match) is not even read
    (out / ".eisfit-cache" / "pack-0123456789abcdef-old.jsonl").write_bytes(b"not a pack line\n" * 3)
    again = run(["campaign", folder, "--out", out, *QUICK])
    assert again.exit_code == 0, again.output
    assert again.stderr.count("line(s) without a key") == 1 and "has 2 line(s)" in again.stderr
    assert "fits run: 1" in again.stderr and "cache hits: 2" in again.stderr


def test_unwritable_output_folder_is_reported_before_any_fit(tmp_path, monkeypatch):
    from eisfit.campaign import runner

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    good = write_csv([spectrum()], tmp_path / "one.csv")
    monkeypatch.setattr(runner, "fit_chunks", lambda *a: pytest.fail("fitted before checking --out"))
    for args in (["campaign", tmp_path, "--out", blocker / "out"], ["fit", good, "--out", blocker / "out"],
                 ["validate", good, "--out", blocker / "out"], ["convert", good, "--to", "csv", "--out", blocker / "out"]):
        r = run(args)
        assert r.exit_code == 2, (args, r.output)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("eisfit: error: ") and "cannot write" in r.stderr
    with pytest.raises(CampaignError, match="cannot write the outputs there"):
        eisfit.fit_campaign(tmp_path, out=blocker / "out")
    with pytest.raises(CampaignError, match="cannot create the cache folder"):
        eisfit.fit_campaign(tmp_path, cache_dir=blocker / "cache")


def test_failed_write_after_the_fits_goes_to_a_named_fallback(tmp_path, monkeypatch):
    from eisfit.campaign.result import CampaignResult

    folder = tmp_path / "data"
    data_folder(folder, 2)

    def disk_full(self, out, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(CampaignResult, "write", disk_full)
    r = run(["campaign", folder, "--out", tmp_path / "out", *QUICK])
    assert r.exit_code == 1, r.output
    line = [l for l in r.stderr.splitlines() if "cannot write the outputs" in l][0]
    assert "No space left on device" in line
    fallback = Path(line.split("written to ")[1].split(" instead")[0])
    rows = read_rows(fallback)
    assert len(rows) == 2 and all(float(row["R2"]) > 0 for row in rows)
    fallback.unlink()
    fallback.parent.rmdir()
    assert len(_cache_entries(tmp_path / "out" / ".eisfit-cache")) >= 2  # and the cache kept them


def test_cache_write_failure_does_not_stop_the_campaign(tmp_path, monkeypatch):
    import tempfile as tempfile_module

    from eisfit.campaign import CampaignWarning

    folder = tmp_path / "data"
    data_folder(folder, 2)

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile_module, "mkstemp", full)
    with pytest.warns(CampaignWarning, match="cannot write to the cache folder"):
        camp = eisfit.fit_campaign(folder, out=None, cache_dir=tmp_path / "cache", starts=2, profile=False,
                                   progress=False)
    assert all(r is not None for r in camp.results)


def _children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# more checkpoints than two workers' single tasks hold (runner.task_size: 2 x 500), so that
# each worker runs several tasks: some finished (cached, rows written) while others still run
SLOW_N = 1001


def _slow_campaign(folder: Path, n: int = SLOW_N) -> None:
    data_folder(folder, n)


# `eisfit campaign` run as `python -m eisfit` does, with a pause after each chunk's fits are
# stored (cache pack written, rows streamed): a test that acts on the first stored chunk then
# finds the campaign still running, however fast or loaded the machine
_PAUSED_CAMPAIGN = """
import signal, sys, time
import eisfit.campaign.runner as runner
from eisfit.cli import main
# Ctrl-C as in a terminal, also under a pytest run in the background (which ignores SIGINT)
signal.signal(signal.SIGINT, signal.default_int_handler)
stored = runner._collect
def paused(*args, **kwargs):
    try:
        return stored(*args, **kwargs)
    finally:
        time.sleep(CHUNK_PAUSE_S)
runner._collect = paused
main(sys.argv[1:], prog_name="eisfit")
"""
CHUNK_PAUSE_S = 0.5


def _campaign_process(args: list, **popen) -> subprocess.Popen:
    """``eisfit campaign ARGS`` in a child process whose campaign pauses after each stored chunk."""
    code = _PAUSED_CAMPAIGN.replace("CHUNK_PAUSE_S", repr(CHUNK_PAUSE_S))
    return subprocess.Popen([sys.executable, "-c", code, "campaign", *[str(a) for a in args]], cwd=REPO,
                            env={**os.environ, "MPLBACKEND": "Agg"}, **popen)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux) to list child processes")
def test_no_orphan_workers_after_the_main_process_is_killed(tmp_path):
    folder = tmp_path / "data"
    _slow_campaign(folder)
    cache = tmp_path / "out" / ".eisfit-cache"
    proc = _campaign_process([folder, "--jobs", "2", "--out", tmp_path / "out", "--no-progress"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    children: set[int] = set()
    main_cmdline = _started_cmdline(proc)

    def is_worker(pid: int) -> bool:  # spawned (multiprocessing's entry) or forked (the same command)
        cmdline = _cmdline(pid)
        return "spawn_main" in cmdline or cmdline == main_cmdline
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            children.update(_children(proc.pid))
            workers = [c for c in children if is_worker(c)]
            # workers that have returned a fit (now in the cache) are past their start-up:
            # killed earlier, they would die anyway on the closed start-up pipe
            if len(workers) >= 2 and any(cache.glob("pack-*.jsonl")):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the campaign ended before its workers could be seen at work"
        assert len([c for c in children if is_worker(c)]) >= 2
        children.update(_children(proc.pid))
        _kill_and_expect_gone(proc, children, "processes")
    finally:
        _end_all(proc, children)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux) to list child processes")
def test_no_orphan_figure_workers_after_the_main_process_is_killed(tmp_path):
    """The figures are drawn by forked workers while the campaign process writes the tables:
    killed then (SIGKILL), the campaign process takes them with it (they were left drawing)."""
    folder = tmp_path / "data"
    _slow_campaign(folder)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "eisfit", "campaign", str(folder), "--jobs", "2",
                             "--out", str(out), "--no-progress", "--no-cache"],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    main_cmdline = _started_cmdline(proc)
    drawing: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if any(out.glob("*.png")):  # a figure is written: the figure workers are at work
                drawing = [c for c in _children(proc.pid) if _cmdline(c) == main_cmdline]
                break
            time.sleep(0.01)
        assert proc.poll() is None and drawing, "no figure worker seen at work"
        _kill_and_expect_gone(proc, drawing, "figure workers")
    finally:
        _end_all(proc, drawing)


def _kill_and_expect_gone(proc, pids, what: str) -> None:
    """SIGKILL the campaign process ``proc``: every process of ``pids`` must end within 8 s."""
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and any(_alive(c) for c in pids):
        time.sleep(0.1)
    left = [c for c in pids if _alive(c)]
    assert not left, f"{what} left after SIGKILL of the main process: {left}"


def _end_all(proc, pids) -> None:
    """Whatever a failed test left running."""
    for c in pids:
        if _alive(c):
            os.kill(c, signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()


def _started_cmdline(proc: subprocess.Popen) -> str:
    """The command line of the campaign process ``proc`` once it runs (just after Popen it
    can still be the forked test process, whose command line no worker shares)."""
    own = _cmdline(os.getpid())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        line = _cmdline(proc.pid)
        if line and line != own:
            return line
        time.sleep(0.01)
    raise AssertionError("the campaign process did not start")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_killed_campaign_leaves_the_finished_rows_in_summary_partial_csv(tmp_path):
    """SIGKILL (no chance to clean up) after some chunks: their rows are already in
    OUT/summary.partial.csv (a name no finished table has; summary.csv is the whole table only)."""
    folder = tmp_path / "data"
    _slow_campaign(folder)
    out = tmp_path / "out"
    proc = _campaign_process([folder, "--jobs", "2", "--out", out, "--no-progress", "--no-cache"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "summary.partial.csv").exists() and len(read_rows(out / "summary.partial.csv")) >= 8:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the campaign ended before it could be killed"
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (out / "summary.csv").exists()
    rows = read_rows(out / "summary.partial.csv")
    assert 8 <= len(rows) < SLOW_N
    assert all(r["error"] == "" and float(r["chisq"]) > 0 and float(r["R2"]) > 0 for r in rows)
    assert len({r["label"] for r in rows}) == len(rows)


def signalled_campaign(folder: Path, out: Path, sig: int, ready) -> tuple[int, str]:
    """(exit status, stderr) of ``eisfit campaign folder --jobs 2 --out out`` sent ``sig``
    once ``ready()`` holds (polled every 50 ms, at most 120 s; the campaign must still run)."""
    proc = _campaign_process([folder, "--jobs", "2", "--out", out, "--no-progress"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not ready():
            time.sleep(0.05)
        assert proc.poll() is None, "the campaign ended before the signal could be sent"
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, stderr


def test_interrupted_campaign_writes_what_it_finished(tmp_path):
    folder = tmp_path / "data"
    _slow_campaign(folder)
    out = tmp_path / "out"
    # two finished fits in the cache's packs (not counting .tmp-* files being written)
    returncode, stderr = signalled_campaign(folder, out, signal.SIGINT, lambda: (out / ".eisfit-cache").is_dir()
                                            and len(_cache_entries(out / ".eisfit-cache")) >= 2)
    assert returncode == 130, stderr
    assert "Traceback" not in stderr and "eisfit: error: interrupted:" in stderr
    rows = read_rows(out / "summary.csv")
    fitted = [r for r in rows if r["error"] == ""]
    assert len(rows) == SLOW_N and 2 <= len(fitted) < SLOW_N
    assert all("interrupted" in r["error"] for r in rows if r["error"])
    # a rerun takes the finished fits from the cache and completes the campaign
    rerun = run(["campaign", folder, "--out", out, "--no-progress"])
    assert rerun.exit_code == 0, rerun.output
    hits = int(rerun.stderr.split("cache hits: ")[1].split(";")[0])
    assert hits >= len(fitted)
    assert all(r["error"] == "" for r in read_rows(out / "summary.csv"))


def test_circuits_says_which_parameters_fits_vary_in_log_space():
    """Series R and L are fitted linearly (eisfit.fitting.problem.log_scaled): the table and
    the JSON of `eisfit circuits` say so, beside the arc's R and Q in log space."""
    import json

    from click.testing import CliRunner

    from eisfit.cli import main

    out = CliRunner().invoke(main, ["circuits", "L0-R0-p(R1,CPE1)", "--json"])
    log = {p["name"]: p["log_scale"] for p in json.loads(out.output)["parameters"]}
    assert log == {"L0": False, "R0": False, "R1": True, "CPE1_0": True, "CPE1_1": False}


def test_campaign_interrupted_before_any_fit_says_so_not_that_nothing_could_be_fitted(tmp_path, monkeypatch):
    """Ctrl-C before the first chunk ends: exit 130 and "interrupted", like a later Ctrl-C
    (it said "no checkpoint could be fitted" with exit 2)."""
    import eisfit.campaign as campaign

    real, calls = campaign.run_campaign_fits, []

    def interrupted(*args, **kwargs):  # Ctrl-C during the fits; the bookkeeping after it runs as usual
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    folder = tmp_path / "data"
    data_folder(folder)
    monkeypatch.setattr(campaign, "run_campaign_fits", interrupted)
    result = run(["campaign", folder, "--out", tmp_path / "out", "--no-cache", "--no-progress"])
    assert result.exit_code == 130, result.output
    assert "interrupted before any checkpoint" in result.stderr and "could be fitted" not in result.stderr


def test_many_checkpoints_that_fail_for_one_reason_give_one_line():
    from eisfit.campaign.report import failure_lines
    from eisfit.campaign.result import CheckpointFailure

    same = [CheckpointFailure(f"c{k}", f"c{k}.csv", None, "fit", "worker died") for k in range(250)]
    other = [CheckpointFailure("x", "x.csv", 2, "read", "not an impedance data file")]
    assert failure_lines(same + other) == ["250 checkpoints (c0.csv, c1.csv, ... c249.csv): fit: worker died",
                                           "x.csv (sweep 2): read: not an impedance data file"]
    assert failure_lines(same[:3]) == [str(f) for f in same[:3]]


def test_analysis_commands_read_tables_with_the_options_the_readers_propose(tmp_path):
    """A reader that cannot tell the columns apart says "name the columns with --columns
    ..."; fit, suggest, validate and drt take --columns and --imag-sign (only info and read
    did), and read the table as told."""
    f = np.logspace(5, -1, 40)
    z = Circuit("R0-p(R1,CPE1)").impedance(np.array([10.0, 100.0, 1e-5, 0.9]), f)
    path = tmp_path / "odd.csv"  # columns no reader recognises by name; Z'' stored as -Z''
    path.write_text("freq_Hz,b,c\n" + "".join(f"{x:.10g},{y.real:.10g},{-y.imag:.10g}\n" for x, y in zip(f, z)))
    plain = run(["fit", path, "--circuit", "R0-p(R1,CPE1)"])
    assert plain.exit_code == 2 and "--columns frequency=" in plain.stderr
    told = ["--columns", "frequency=0,real=b,imag=c", "--imag-sign", "positive"]
    fitted = run(["fit", path, "--circuit", "R0-p(R1,CPE1)", "--json", *told])
    assert fitted.exit_code == 0, fitted.output
    assert json.loads(fitted.stdout)[0]["values"]["R1"] == pytest.approx(100.0, rel=1e-4)
    for command in (["validate"], ["drt"], ["suggest", "--candidates", "R0-p(R1,CPE1)"]):
        out = run([command[0], path, *command[1:], *told])
        assert out.exit_code == 0, (command, out.output)


def test_a_parameter_given_twice_or_thresholds_in_the_wrong_order_are_usage_errors(tmp_path):
    path = data_folder(tmp_path / "d", 1)[0]
    twice = run(["fit", path, "--fix", "R1=50", "--fix", "R1=60"])
    assert twice.exit_code == 2 and "R1 is given twice (50 and 60)" in twice.stderr
    order = run(["validate", path, "--threshold-pct", "5", "--violation-pct", "1"])
    assert order.exit_code == 2 and "--threshold-pct (5 %) must not exceed --violation-pct (1 %)" in order.stderr


def test_a_sign_forced_on_the_command_line_is_the_callers_word_to_the_end(tmp_path):
    """``--imag-sign positive`` on a file that stores Z'': the points are mirrored on the
    caller's word. The fit ran, and the Lin-KK band search of the same points (a Spectrum
    made inside eisfit from the fit's arrays) stopped the command with the -Z'' error meant
    for arrays a caller passes, naming no file: exit 2 after the results."""
    f = np.logspace(5, -1, 40)
    z = 10 + 100 / (1 + 1j * 2 * np.pi * f * 1e-3)
    path = tmp_path / "cell.csv"
    path.write_text("freq/Hz,Re(Z)/Ohm,Im(Z)/Ohm\n" + "".join(f"{a},{b.real},{b.imag}\n" for a, b in zip(f, z)))
    out = run(["fit", path, "--circuit", "R0-p(R1,C1)", "--imag-sign", "positive"])
    assert out.exit_code in (0, 1), out.output
    assert "looks like -Z''" not in out.output and "Kramers-Kronig band" in out.output


def test_fits_csv_leaves_unresolved_and_unknown_cells_empty_as_summary_csv(tmp_path):
    """CLI.md: fits.csv and summary.csv leave the cells of an unresolved parameter empty;
    fits.csv had written "nan" (which also could not be told from an unknown stderr)."""
    f = np.logspace(6, -2, 81)
    w = 2 * np.pi * f
    z = 40 + 1 / (1 / 60 + 1e-9 * (1j * w) ** 0.9) + 1 / (1 / 149 + 2e-6 * (1j * w) ** 0.85)
    z = z * (1 + 0.005 * np.random.default_rng(1).standard_normal(f.size))
    path = write_csv([eisfit.Spectrum(f, z, {"label": "arc-above-fmax"})], tmp_path / "cell.csv")
    out = run(["fit", path, "--circuit", "R0-p(R1,CPE1)-p(R2,CPE2)", "--out", tmp_path / "out"])
    assert out.exit_code in (0, 1), out.output
    row = read_rows(tmp_path / "out" / "fits.csv")[0]
    assert "unresolved:R1" in row["flags"]
    assert row["R1"] == "" and row["R1_stderr"] == "" and row["CPE1_tau_s"] == ""
    assert float(row["R2"]) == pytest.approx(149, rel=0.02)
    assert "nan" not in set(row.values())


def test_campaign_takes_fix_as_fit_does(tmp_path):
    """CLI.md's campaign headlines show a parameter held fixed, but `eisfit campaign` had no
    --fix (only fit_campaign(fixed=...) in Python): the command and the library differed."""
    toml = campaign_toml(tmp_path, 'circuit = "R0-p(R1,CPE1)-p(R2,CPE2)"', ["", "", ""])
    out = run(["campaign", toml, "--fix", "CPE1_1=0.9", "--out", tmp_path / "out", "--no-cache"])
    assert out.exit_code == 0, out.output
    rows = read_rows(tmp_path / "out" / "summary.csv")
    assert [float(r["CPE1_1"]) for r in rows] == [0.9] * 3
    bad = run(["campaign", toml, "--fix", "CPE1_2=0.9", "--out", tmp_path / "bad"])
    assert bad.exit_code == 2 and "did you mean 'CPE1_1'" in bad.output


# ---- eisfit fit on many spectra: one batched fit ----------------------------------------

def test_fit_of_many_files_is_one_batch_with_each_spectrum_s_fit_and_errors(tmp_path, monkeypatch):
    """``eisfit fit`` fits the spectra of several files together (fit_batch): each result is
    that spectrum's eisfit.fit to the optimiser's tolerance, with the same flags; a spectrum
    that cannot be fitted fails alone (its batch is fitted one by one) and a file that cannot
    be read is reported; --engine lmfit fits one by one."""
    import eisfit.fitting.batch as batch_module

    paths = data_folder(tmp_path / "data", 4)
    flat = tmp_path / "data" / "cp09_one_frequency.csv"
    flat.write_text("freq_Hz,Zre_ohm,Zim_ohm\n" + "".join(f"100,{20 + k},-{5 + k}\n" for k in range(6)))
    broken = tmp_path / "data" / "cp10_broken.csv"
    broken.write_text("freq_Hz,Zre_ohm,Zim_ohm\nnot,a,number\n")
    calls = []
    real = batch_module.fit_batch

    def spy(spectra, *args, **kwargs):
        calls.append((len(spectra), kwargs.get("guess")))
        return real(spectra, *args, **kwargs)

    monkeypatch.setattr(batch_module, "fit_batch", spy)
    out = run(["fit", *paths[:2], flat, broken, *paths[2:], "--json", "--guess", "drt"])
    assert out.exit_code == 1, out.output
    assert calls == [(5, "drt")]  # one batch of the five spectra read; it raised (the flat one)
    assert "cp09_one_frequency.csv#0: a fit needs at least 2 distinct frequencies" in out.stderr
    assert "cp10_broken.csv" in out.stderr
    fitted = json.loads(out.stdout)
    assert len(fitted) == 4
    calls.clear()
    out = run(["fit", *paths, "--json"])
    assert out.exit_code == 0 and calls == [(4, "auto")]  # all fitted together
    for path, got in zip(paths, json.loads(out.stdout)):
        own = eisfit.fit(eisfit.read(path)[0], CIRCUIT).with_kk_valid_band()
        assert got["flags"] == own.flags
        for name, value in own.values.items():
            assert got["values"][name] == pytest.approx(value, rel=1e-6)
        assert got["chisq"] == pytest.approx(own.chisq, rel=1e-9)
    calls.clear()
    out = run(["fit", *paths[:2], "--engine", "lmfit", "--json"])
    assert out.exit_code == 0 and calls == [] and len(json.loads(out.stdout)) == 2


def test_fit_out_names_the_units_of_fits_csv_columns_in_columns_md(tmp_path):
    """fits.csv's parameter columns (``R0``, ``CPE2_0``...) carry no unit in their names; the
    quality bar wants every number's unit written: columns.md beside it gives each (a
    campaign's report.md does for summary.csv). Every column of fits.csv is either named
    with a unit, an identity or text column, or listed in columns.md with its unit."""
    path = write_csv([spectrum()], tmp_path / "one.csv")
    result = run(["fit", str(path), "--circuit", "R0-p(R1,CPE1)-p(R2,W2)", "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    header = list(csv.reader(open(tmp_path / "out" / "fits.csv", encoding="utf-8")))[0]
    text = (tmp_path / "out" / "columns.md").read_text(encoding="utf-8")
    assert "`R1` ohm" in text and "`CPE1_0` S*s^n" in text and "`CPE1_1` (dimensionless)" in text
    assert "`W2` ohm*s^-1/2" in text and "Q in S·s^n" in text
    unit_suffixes = ("_ohm_cm2", "_F", "_F_per_cm2", "_Hz", "_s", "_S_per_cm", "_eps_r")
    identity = {"label", "file", "sweep", "circuit", "flags", "kk_passed", "kk_valid_points", "kk_valid_excluded_Hz"}
    for column in header:
        name = column.removesuffix("_stderr")
        if column in identity or name.endswith(unit_suffixes):
            continue
        assert f"`{name}`" in text, f"{column} has no unit in its name nor in columns.md"
    for statistic in ("chisq", "redchi", "pseudo_chisq", "aic", "bic"):  # columns.md described aic, bic: absent
        assert f"`{statistic}`" in text and statistic in header, statistic


_INTERRUPT_ON_IMPORT = """
import sys

class InterruptOnImport:  # a Ctrl-C that comes while the program imports `module`
    def __init__(self, module):
        self.module = module

    def find_spec(self, name, path, target=None):
        if name == self.module:
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, InterruptOnImport(sys.argv[1]))
sys.argv = ["eisfit", "--version"]
from eisfit._launch import run
run()
"""


@pytest.mark.parametrize("module", ["numpy", "click", "eisfit.cli"])
def test_a_ctrl_c_while_the_program_imports_its_modules_ends_with_one_line_and_130(module):
    """The console script and ``python -m eisfit`` start in eisfit._launch, which answers an
    interrupt during the imports before any command runs: no traceback."""
    out = subprocess.run([sys.executable, "-c", _INTERRUPT_ON_IMPORT, module], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 130, out.stderr
    assert out.stderr == "eisfit: error: interrupted\n"
    assert out.stdout == ""


def test_importing_eisfit_imports_no_numpy_and_the_program_starts_in_the_launcher():
    """What lets the launcher answer a Ctrl-C during numpy's import: `import eisfit` alone
    imports neither numpy nor click (the public names are loaded on first use)."""
    code = ("import sys, eisfit; print(sorted(m for m in ('numpy', 'click') if m in sys.modules)); "
            "print(eisfit.Spectrum.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.splitlines() == ["[]", "eisfit.spectrum"], out.stderr
    assert 'eisfit = "eisfit._launch:run"' in (REPO / "pyproject.toml").read_text()
    assert "from eisfit._launch import run" in (REPO / "eisfit" / "__main__.py").read_text()
    version = subprocess.run([sys.executable, "-m", "eisfit", "--version"], capture_output=True, text=True,
                             timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("eisfit, version "), version.stderr


def test_a_file_names_own_runs_of_spaces_stay_in_its_messages(tmp_path):
    """Every message had its runs of spaces squeezed: 'Block  4.txt' was named 'Block 4.txt',
    a file that does not exist."""
    path = tmp_path / "cell  A.csv"
    path.write_text("Frequency (Hz),|Z| (Ohm)\n1000,5\n100,6\n10,7\n", encoding="utf-8")
    result = run(["info", path])
    assert result.exit_code == 2
    assert "cell  A.csv: no impedance columns" in result.stderr and "\n" not in result.stderr.strip()


def test_a_one_checkpoint_campaign_says_1_checkpoint(tmp_path):
    data_folder(tmp_path / "data", 1)
    r = run(["campaign", tmp_path / "data", "--out", tmp_path / "out", *QUICK])
    assert r.exit_code == 0, r.output
    assert "1 checkpoint, 1 fitted" in r.output and "1 checkpoints" not in r.output
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "1 checkpoint (1 fitted, 0 failed)" in report


def test_the_campaign_command_counts_the_cautions_that_bias_its_values(tmp_path):
    """The sample checkpoints fitted without their lead inductance (garnet-symmetric): R0 and R1
    12-16 % off their truth, far outside their stderr, and the command had said nothing of the
    `misfit` and `inductance-in-data` its fits flagged; with L0 in the circuit there is no such line."""
    sample = REPO / "sample_data" / "garnet_campaign" / "csv"
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("LiMg_LLZTO_0000h_PEIS_C01.csv", "LiMg_LLZTO_0500h_PEIS_C01.csv"):
        (folder / name).write_bytes((sample / name).read_bytes())
    r = run(["campaign", folder, "--out", tmp_path / "out", "--no-progress"])
    assert r.exit_code == 0, r.output
    [line] = [x for x in r.output.splitlines() if x.startswith("cautions on the fits: ")]
    assert "inductance-in-data at 2 of 2" in line and "misfit at 2 of 2" in line
    r = run(["campaign", folder, "--circuit", "garnet-symmetric-L", "--out", tmp_path / "out_l", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "cautions on the fits" not in r.output


def test_drt_says_when_area_cm2_changes_nothing(tmp_path):
    """`eisfit drt FILE --area-cm2 A` on a file in ohm had ignored the area without a word."""
    path = write_csv([spectrum()], tmp_path / "one.csv")
    r = run(["drt", path, "--area-cm2", "0.785"])
    assert r.exit_code == 0, r.output
    assert "--area-cm2 changed nothing for 1 spectrum given in ohm" in r.stderr
    assert "area-cm2" not in run(["drt", path]).stderr
