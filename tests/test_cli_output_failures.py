"""An output of --out that cannot be written (session 65's review of the command line):
named, the other spectra still done, exit status 1, and never a cut-off file."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from eisfit.cli import main

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "garnet_campaign" / "csv"
F, G = SAMPLE / "LiMg_LLZTO_0000h_PEIS_C01.csv", SAMPLE / "LiMg_LLZTO_0100h_PEIS_C01.csv"


def run(args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("command, blocked, written", [
    ("drt", "LiMg_LLZTO_0000h_PEIS_C01.csv_0_drt.csv", "LiMg_LLZTO_0100h_PEIS_C01.csv_0_drt.json"),
    ("validate", "LiMg_LLZTO_0000h_PEIS_C01.csv_0_kk.png", "LiMg_LLZTO_0100h_PEIS_C01.csv_0_kk.png")])
def test_a_file_that_cannot_be_written_is_named_and_the_next_spectrum_is_still_done(tmp_path, command, blocked,
                                                                                      written):
    """drt and validate stopped at the first output that failed, with exit status 2 and a
    message naming the hidden temporary file (validate) or none (drt)."""
    (tmp_path / blocked).mkdir()  # a folder where the file goes
    r = run([command, F, G, "--out", tmp_path])
    assert r.exit_code == 1, r.output
    assert "eisfit: error: LiMg_LLZTO_0000h_PEIS_C01.csv#0: cannot write " in r.output
    assert ".tmp-" not in r.output
    assert (tmp_path / written).is_file()


def test_fit_and_drt_outputs_are_written_whole_or_not_at_all(tmp_path):
    """<label>_fit.json and <label>_drt.json were written in place: with the disk full (here a
    file-size limit of 6 KB) one was left cut off at 6,144 bytes, invalid JSON."""
    import resource
    import subprocess
    import sys

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (6144, 6144))

    for command in ("fit", "drt"):
        out = tmp_path / command
        done = subprocess.run([sys.executable, "-m", "eisfit", command, str(F), str(G), "--out", str(out)],
                              preexec_fn=limit, capture_output=True, text=True, timeout=300)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        for path in out.glob("*.json") if out.exists() else []:
            json.loads(path.read_text())  # every file left is whole
        assert not list(out.glob(".tmp-*")) if out.exists() else True


def test_a_bare_eisfit_prints_its_help_not_one_squashed_error_line():
    r = run([])
    assert r.exit_code == 2
    assert r.output.startswith("Usage: eisfit [OPTIONS] COMMAND [ARGS]...") and "\n  campaign " in r.output
    assert "143 stopped by SIGTERM" in run(["-h"]).output


def test_a_column_role_given_twice_is_refused(tmp_path):
    """'--columns frequency=0,real=1,imag=2,real=3' read Z' from column 3 without a word."""
    path = tmp_path / "t.csv"
    path.write_text("f,a,b,c\n1000,10,-5,99\n100,12,-6,98\n10,15,-4,97\n")
    r = run(["read", path, "--columns", "frequency=0,real=1,imag=2,real=3"])
    assert r.exit_code == 2
    assert "the role 'real' is given twice (1 and 3)" in r.output


def test_a_named_pipe_is_refused_not_waited_on(tmp_path):
    """'eisfit info' on a named pipe waited for ever (a campaign already refused pipes)."""
    import os

    import eisfit

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(eisfit.ReadError, match=r"pipe: not a regular file \(a named pipe\)"):
        eisfit.read(pipe)
    r = run(["info", pipe])
    assert r.exit_code == 2 and "not a regular file (a named pipe)" in r.output


@pytest.mark.parametrize("args", [["validate", "--c", "nan"], ["suggest", "--fmin", "nan"],
                                  ["fit", "--area-cm2", "inf"], ["drt", "--exclude-hz", "nan"]])
def test_nan_and_inf_options_are_usage_errors_before_any_file_is_read(args):
    """click's FloatRange lets nan and inf through; they failed spectrum by spectrum, in the
    words of the Python argument ('fmin must be ... or None, got nan')."""
    command, option, value = args
    r = run([command, F, option, value])
    assert r.exit_code == 2
    assert f"invalid value for '{option}': '{value}' is not a finite number." in r.output


@pytest.mark.parametrize("stderr_too", [False, True])
def test_a_closed_output_pipe_does_not_stop_the_work(tmp_path, stderr_too):
    """'eisfit fit A B --out DIR | head -1' ended at its first printed line with exit status 1
    (click's answer to a broken pipe, which CLI.md gives to failed spectra), no file written:
    now the command carries on, writes every file and ends with its work's status."""
    import subprocess
    import sys

    out = tmp_path / "fits"
    proc = subprocess.Popen([sys.executable, "-m", "eisfit", "fit", str(F), str(G), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT if stderr_too else subprocess.PIPE)
    proc.stdout.close()  # before the command writes its first line (starting it takes far longer)
    err = "" if stderr_too else proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0, err
    assert "error" not in err
    assert sorted(p.name for p in out.glob("*_fit.json")) == ["LiMg_LLZTO_0000h_PEIS_C01.csv_0_fit.json",
                                                            "LiMg_LLZTO_0100h_PEIS_C01.csv_0_fit.json"]
