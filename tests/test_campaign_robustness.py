"""A campaign loses nothing already computed and writes nothing that can be mistaken for a
result when a file, the disk, a worker or the user stops it (audit of the campaign command):
cache keys follow the circuit definition's content, outputs are complete or clearly not
there, an earlier run's files are not left beside a new run's, signals end the run cleanly."""
from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import eisfit
from test_cli_conventions import CIRCUIT, QUICK, REPO, data_folder, read_rows, run

FAST = {"starts": 2, "profile": False, "progress": False}


# ---- 1. the cache key holds the circuit definition's content, not its path ----------------

def test_editing_a_circuit_file_refits_instead_of_reading_the_cache(tmp_path):
    """Bounds changed in my.toml: the old fits (CPE2_1 above the new bound) were read back
    from the cache (`fits run: 0`); now the edit changes the key."""
    folder = tmp_path / "data"
    data_folder(folder, 2)
    toml = tmp_path / "my.toml"
    toml.write_text(f'name = "my-cell"\ncircuit = "{CIRCUIT}"\n[parameters.CPE2_1]\nbounds = [0.5, 1.0]\n')
    out = tmp_path / "out"
    first = eisfit.fit_campaign(folder, circuit=str(toml), out=out, **FAST)
    assert first.stats["fits_run"] == 2
    again = eisfit.fit_campaign(folder, circuit=str(toml), out=out, **FAST)
    assert again.stats["fits_run"] == 0 and again.stats["cache_hits"] == 2  # nothing changed: all from the cache
    toml.write_text(f'name = "my-cell"\ncircuit = "{CIRCUIT}"\n[parameters.CPE2_1]\nbounds = [0.5, 0.8]\n')
    edited = eisfit.fit_campaign(folder, circuit=str(toml), out=out, **FAST)
    assert edited.stats["fits_run"] == 2 and edited.stats["cache_hits"] == 0
    assert all(r.values["CPE2_1"] <= 0.8 + 1e-12 for r in edited.results)
    toml.write_text('name = "my-cell"\ncircuit = "R0-p(R1,CPE1)"\n')
    one_arc = eisfit.fit_campaign(folder, circuit=str(toml), out=out, **FAST)
    assert one_arc.stats["fits_run"] == 2 and all("R2" not in r.values for r in one_arc.results)


def test_circuit_fingerprint_follows_bounds_units_and_roles_not_the_path(tmp_path):
    from eisfit.campaign.cache import circuit_fingerprint

    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    text = f'name = "x"\ncircuit = "{CIRCUIT}"\n'
    a.write_text(text)
    b.write_text(text)
    assert circuit_fingerprint(str(a)) == circuit_fingerprint(str(b)) == circuit_fingerprint(CIRCUIT)
    b.write_text(text + '[parameters.R1]\nbounds = [1, 1000]\n')
    assert circuit_fingerprint(str(b)) != circuit_fingerprint(str(a))
    assert circuit_fingerprint(None) is None and circuit_fingerprint("auto") is None


# ---- 2-4. outputs whole or absent; an earlier run's files not left beside a new run's ----

def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_rows_cut_off_by_a_full_disk_are_removed_again(tmp_path, monkeypatch):
    """A chunk's rows that cannot all be appended leave no half row (the last line had been
    cut mid-field and read as R0 = 1.0)."""
    import csv

    from eisfit.campaign import rows as rows_module
    from eisfit.campaign.rows import RowStream

    stream = RowStream(tmp_path / "rows.csv")
    stream.write([{"label": "a", "R0": 16.02}])
    real_write = os.write

    def half_then_full(fd, data):  # the disk fills in the middle of the chunk's rows
        real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rows_module.os, "write", half_then_full)
    with pytest.warns(eisfit.campaign.CampaignWarning, match="No space left"):
        stream.write([{"label": "b", "R0": 17.5}, {"label": "c", "R0": 18.25}])
    with open(tmp_path / "rows.csv", newline="", encoding="utf-8") as fh:
        assert list(csv.DictReader(fh)) == [{"label": "a", "R0": "16.02"}]


def _written(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file()}


def test_a_full_disk_while_figures_are_written_leaves_no_cut_off_file_nor_an_earlier_runs(tmp_path, monkeypatch):
    """ENOSPC in the middle of a figure: no zero-byte or cut-off figure, no report.md, none of
    the earlier run's files beside this run's; the error line says what is where."""
    import matplotlib.figure

    folder = tmp_path / "data"
    data_folder(folder, 3)
    out = tmp_path / "out"
    earlier = run(["campaign", folder, "--out", out, "--drt", *QUICK])
    assert earlier.exit_code == 0 and "drt_peaks.csv" in _written(out)
    real_savefig = matplotlib.figure.Figure.savefig

    def savefig_then_full(self, fname, *args, **kwargs):
        real_savefig(self, fname, *args, **kwargs)
        if str(fname).endswith(".svg"):
            Path(fname).write_bytes(b"<svg")  # cut off
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig_then_full)
    failed = run(["campaign", folder, "--out", out, *QUICK])
    assert failed.exit_code == 1, failed.output
    files = _written(out)
    assert "report.md" not in files and "report.html" not in files
    assert not any(name.startswith("drt_") for name in files)  # the earlier run's
    assert not any(name.endswith(".svg") for name in files)
    assert all((out / name).stat().st_size > 0 for name in files)
    assert "Traceback" not in failed.stderr
    line = [x for x in failed.stderr.splitlines() if "cannot write the outputs" in x]
    assert len(line) == 1 and "report.md not written" in line[0] and "the fits are in the cache" in line[0]
    assert re.search(r"[\w.-]+\.svg: No space left on device", line[0]), line[0]  # the file, not only the folder


def test_without_a_cache_a_failed_write_does_not_claim_the_fits_are_in_one(tmp_path, monkeypatch):
    """--no-cache, neither --out nor the temporary folder writable: the message had said "the
    fits stay in the cache: rerun the same command to write them"."""
    import eisfit.cli as cli
    from eisfit.campaign.result import CampaignResult

    folder = tmp_path / "data"
    data_folder(folder, 3)
    out = tmp_path / "out"
    monkeypatch.setattr(CampaignResult, "report_html", _enospc)
    monkeypatch.setattr(cli, "_written_elsewhere", lambda prefix, name, write: None)
    result = run(["campaign", folder, "--out", out, "--no-cache", *QUICK])
    assert result.exit_code == 1, result.output
    assert "in the cache" not in result.stderr and "there is no cache (--no-cache)" in result.stderr
    # the rows streamed during the fits are kept, under a name no finished table has
    assert "3 rows finished during the fits are in" in result.stderr
    assert len(read_rows(out / "summary.partial.csv")) == 3
    assert "report.md" not in _written(out)


def test_a_table_the_temporary_folder_cannot_take_either_leaves_nothing_there(tmp_path, monkeypatch):
    """Under a file-size limit the campaign's table, refused by --out, had been written to a
    temporary folder as well, and left there cut off mid-row, unmentioned. The table goes there
    whole (atomically) or not at all, and the folder is removed."""
    import tempfile

    import eisfit.cli as cli

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()

    def cut_off(path):
        path.write_text("label,R1\ns1,1")
        raise OSError(27, "File too large")

    assert cli._written_elsewhere("eisfit-campaign-", "summary.csv", cut_off) is None
    assert not list((tmp_path / "tmp").iterdir())
    written = cli._written_elsewhere("eisfit-campaign-", "summary.csv", lambda path: path.write_text("whole\n"))
    assert written is not None and written.read_text() == "whole\n" and written.parent.parent == tmp_path / "tmp"


def test_a_later_run_removes_the_files_of_an_earlier_run_that_it_does_not_write(tmp_path):
    """drt_* files of a --drt run stayed beside a later campaign's results; files eisfit does
    not name (the user's) stay."""
    folder = tmp_path / "data"
    data_folder(folder, 3)
    out = tmp_path / "out"
    assert run(["campaign", folder, "--out", out, "--drt", *QUICK]).exit_code == 0
    (out / "notes.txt").write_text("mine")
    later = run(["campaign", folder, "--out", out, *QUICK])
    assert later.exit_code == 0, later.output
    files = _written(out)
    assert not any(name.startswith("drt_") for name in files)
    assert {"notes.txt", "summary.csv", "report.md", "evolution.png"} <= files
    assert "summary.partial.csv" not in files
    assert "removed 5 file(s) of an earlier run" in later.stderr


# ---- 5, 10. signals: figure workers ignore Ctrl-C; a swallowed interrupt still counts; SIGTERM ----

FIGURE_HANDLERS = r"""
import os, signal, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from pathlib import Path
from eisfit import plotting

out = Path(sys.argv[1])
if not plotting._can_fork_figures():
    print("no-fork")
    sys.exit(0)

def maker(name):
    def make():
        (out / f"{name}.handler").write_text(repr(signal.getsignal(signal.SIGINT)) + f" {os.getpid()}")
        return plt.figure()
    return make

plotting.save_figures({"a": maker("a"), "b": maker("b")}, out, processes=2)
print("main", os.getpid())
"""


def test_figure_workers_ignore_ctrl_c(tmp_path):
    """The figure pool had no SIGINT set-up: a Ctrl-C while figures were drawn printed a
    worker's traceback (Process ForkProcess-3: ... KeyboardInterrupt). Run in a fresh
    process: figures are forked only where no thread runs (within the test session, an
    earlier test's threads would keep them in this process)."""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", FIGURE_HANDLERS, str(tmp_path)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    if done.stdout.startswith("no-fork"):
        pytest.skip("figures are drawn in the process itself on this machine (no fork, or one core)")
    main_pid = done.stdout.split()[-1]
    pids = []
    for name in "ab":
        handler, pid = (tmp_path / f"{name}.handler").read_text().rsplit(" ", 1)
        pids.append(pid)
        if pid != main_pid:  # drawn by a worker
            assert handler == repr(signal.SIG_IGN)
    assert any(pid != main_pid for pid in pids)  # at least one figure was drawn by a worker


def test_an_interrupt_swallowed_by_a_finalizer_still_ends_the_command_with_130(tmp_path, monkeypatch):
    """Ctrl-C that arrived in a finalizer was printed as "Exception ignored ... KeyboardInterrupt"
    and lost: the campaign ended with exit 0."""
    from eisfit.campaign.result import CampaignResult

    folder = tmp_path / "data"
    data_folder(folder, 2)
    real_write = CampaignResult.write

    class Finalised:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs here, inside the finalizer
                pass

    def write(self, *args, **kwargs):
        Finalised()  # collected at once: the interrupt is raised in its __del__ and swallowed
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(CampaignResult, "write", write)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # a terminal's Ctrl-C
    try:
        result = run(["campaign", folder, "--out", tmp_path / "out", *QUICK])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert result.exit_code == 130, result.output
    assert "Exception ignored" not in result.stderr and "Traceback" not in result.stderr
    assert "eisfit: error: interrupted: the run went on to its end" in result.stderr


_CTRL_C_IN_AN_IMPORT = """
import os, signal, sys
from eisfit.cli import main
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as in a terminal
class CtrlCDuring:  # Ctrl-C as the module sys.argv[1] is looked up (once), in the middle of an import
    fired = False
    def find_spec(self, name, path=None, target=None):
        if name == sys.argv[1] and not CtrlCDuring.fired:
            CtrlCDuring.fired = True
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, CtrlCDuring())
main(sys.argv[2:], prog_name="eisfit")
"""


@pytest.mark.parametrize("module", ["matplotlib.colors", "cycler"])
def test_ctrl_c_while_the_campaign_imports_matplotlib_exits_130_and_writes_what_it_finished(tmp_path, module):
    """Ctrl-C while the campaign imported pyplot between its fits (the output modules'
    loader) left half-imported modules behind: writing what it had finished, the campaign
    imported matplotlib again and failed (internal error, exit 1; 2 of 4 runs by hand)."""
    folder = tmp_path / "data"
    data_folder(folder, 16)  # two tasks of 8: the loader runs when the first is in, the interrupt with it
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", _CTRL_C_IN_AN_IMPORT, module, "campaign", str(folder), "--out",
                           str(out), "--jobs", "2", *QUICK], capture_output=True, text=True, cwd=REPO, timeout=300,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert "eisfit: error: interrupted: 8 of 16 checkpoints fitted" in proc.stderr
    rows = read_rows(out / "summary.csv")
    assert len(rows) == 16 and len([r for r in rows if r["error"] == ""]) == 8
    assert (out / "report.md").exists() and (out / "evolution.png").exists()


_SIGNAL_AT_FIGURES = """
import os, signal, sys
import eisfit.plotting as plotting
from eisfit.cli import main
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as in a terminal
result = plotting.PendingFigures.result
def interrupted(self):
    os.killpg(0, signal.SIGINT)  # Ctrl-C reaches the whole process group, figure workers too
    return result(self)
plotting.PendingFigures.result = interrupted
main(sys.argv[1:], prog_name="eisfit")
"""


def test_ctrl_c_while_figures_are_drawn_exits_130_with_one_line_and_no_mixed_folder(tmp_path):
    folder = tmp_path / "data"
    data_folder(folder, 4)
    out = tmp_path / "out"
    assert run(["campaign", folder, "--out", out, "--drt", *QUICK]).exit_code == 0
    proc = subprocess.run([sys.executable, "-c", _SIGNAL_AT_FIGURES, "campaign", str(folder), "--out", str(out),
                           *QUICK], capture_output=True, text=True, cwd=REPO, timeout=300, start_new_session=True,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("eisfit: error: interrupted while writing the outputs") and len(
        [x for x in lines if x.startswith("eisfit: error:")]) == 1
    assert "report.md not written" in lines[-1] and "the fits are in the cache" in lines[-1]
    files = _written(out)
    assert "report.md" not in files and not any(name.startswith("drt_") for name in files)


def _cache_packs(folder: Path) -> list[Path]:
    return sorted(folder.glob("pack-*.jsonl")) if folder.is_dir() else []


def test_sigterm_stops_a_campaign_as_ctrl_c_does_with_exit_143(tmp_path):
    """SIGTERM (timeout, a batch scheduler) killed the run silently (rc -15), outputs unwritten."""
    from test_cli_conventions import SLOW_N, _slow_campaign, signalled_campaign

    folder = tmp_path / "data"
    _slow_campaign(folder)
    out = tmp_path / "out"
    returncode, stderr = signalled_campaign(folder, out, signal.SIGTERM, lambda: bool(_cache_packs(out / ".eisfit-cache")))
    assert returncode == 143, stderr
    assert "Traceback" not in stderr and "eisfit: error: terminated (SIGTERM):" in stderr
    rows = read_rows(out / "summary.csv")
    assert len(rows) == SLOW_N and any(r["error"] == "" for r in rows)
    assert (out / "report.md").exists()


# ---- 9. worker deaths are reported; checkpoints failed by dying workers exit 1, not 2 ----

def _always_killing_fit_chunks(parts, *args):
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start: Linux only")
def test_checkpoints_failed_by_dying_workers_exit_1_with_a_warning(tmp_path, monkeypatch):
    import eisfit.campaign.runner as runner
    import eisfit.fitting.batch as batch

    folder = tmp_path / "data"
    data_folder(folder, 3)
    monkeypatch.setattr(runner, "fit_chunks", _always_killing_fit_chunks)  # forked workers see it
    monkeypatch.setattr(batch, "fit_chunks", _always_killing_fit_chunks)
    result = run(["campaign", folder, "--out", tmp_path / "out", "--jobs", "2", "--no-cache", *QUICK])
    assert result.exit_code == 1, result.output
    assert "eisfit: warning: a worker process died" in result.stderr and "SIGKILL" in result.stderr
    assert "SIGTERM" not in result.stderr  # the workers the broken pool ended itself are not named


# ---- 8, 10. the campaign's advice names what it accepts; a FIFO does not hang it ----------

def test_campaign_read_errors_advise_the_campaign_s_own_reader_options(tmp_path):
    folder = tmp_path / "data"
    files = data_folder(folder, 2)
    (folder / "cp99.csv").write_bytes(bytes(range(256)) * 8)  # no reader recognises it: "--format" advised
    toml = tmp_path / "campaign.toml"  # listed, the file is an error row (in a folder it is left out)
    toml.write_text("".join(f'[[checkpoint]]\nfile = "{p}"\n' for p in [*files, folder / "cp99.csv"]))
    result = run(["campaign", toml, "--out", tmp_path / "out", *QUICK])
    assert result.exit_code == 1, result.output
    line = [x for x in result.stderr.splitlines() if "cp99.csv" in x and "error" in x][0]
    assert "eisfit campaign --format, --columns, --imag-sign for every file" in line
    assert "format, columns, imag_sign in a campaign file's row" in line and "reader=eisfit.ReaderOptions(" in line
    assert "has no --format" not in line and "eisfit convert" not in line
    from eisfit.campaign.sources import campaign_reader_text

    assert campaign_reader_text("no frequency column") == "no frequency column"
    advised = campaign_reader_text("force a format with --format")
    assert campaign_reader_text(advised) == advised  # given once


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_listed_in_a_campaign_is_an_error_row_not_a_hang(tmp_path):
    folder = tmp_path / "data"
    files = data_folder(folder, 2)
    os.mkfifo(folder / "pipe.csv")
    toml = tmp_path / "campaign.toml"
    toml.write_text("".join(f'[[checkpoint]]\nfile = "{p}"\n' for p in [*files, folder / "pipe.csv"]))
    proc = subprocess.run([sys.executable, "-m", "eisfit", "campaign", str(toml), "--out", str(tmp_path / "out"),
                           *QUICK], capture_output=True, text=True, cwd=REPO, timeout=240,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 1, proc.stderr
    assert "pipe.csv" in proc.stderr and "not a regular file (a named pipe)" in proc.stderr


def test_a_rerun_from_the_cache_does_not_report_fitting_time(tmp_path):
    """report.md said "of which fitting 0.5 s" on a run that fitted nothing."""
    folder = tmp_path / "data"
    data_folder(folder, 2)
    eisfit.fit_campaign(folder, out=tmp_path / "out", **FAST)
    again = eisfit.fit_campaign(folder, out=tmp_path / "out", **FAST)
    report = (tmp_path / "out" / "report.md").read_text()
    assert again.stats["fits_run"] == 0 and "nothing fitted (every fit from the cache)" in report
    assert "of which fitting" not in report


def test_a_second_campaign_into_a_folder_another_is_writing_stops_before_its_fits(tmp_path):
    """Two campaigns into one --out at once had left a folder mixing both runs (one's 5-row
    summary.csv beside the other's 300-checkpoint report.md), both ending with status 0. The
    folder is held from before the first fit to the last output: the second run stops with one
    error (exit 2), names the process, and writes nothing; the lock goes with the run."""
    import os

    import eisfit
    from eisfit.campaign.outputs import LOCK_FILE, outputs_held
    from eisfit.errors import CampaignError

    folder = tmp_path / "data"
    data_folder(folder, 3)
    out = tmp_path / "out"
    out.mkdir()
    with outputs_held(out):
        assert (out / LOCK_FILE).read_text() == str(os.getpid())
        result = run(["campaign", folder, "--out", out, *QUICK])
        assert result.exit_code == 2, result.output
        assert f"another eisfit campaign (process {os.getpid()}) is writing its outputs there" in result.stderr
        with pytest.raises(CampaignError, match="another eisfit campaign"):
            eisfit.fit_campaign(folder, out=out, progress=False)
        assert not (out / "summary.csv").exists() and not (out / "summary.partial.csv").exists()
    assert not (out / LOCK_FILE).exists()
    assert run(["campaign", folder, "--out", out, *QUICK]).exit_code == 0
    assert not (out / LOCK_FILE).exists() and (out / "report.md").exists()


def test_a_campaign_stopped_by_a_bad_setting_leaves_no_output_folder(tmp_path):
    """The output folder is checked and held before any file is read: a run stopped by a bad
    setting leaves no empty folder it made behind."""
    import eisfit
    from eisfit.errors import CircuitError

    folder = tmp_path / "data"
    data_folder(folder, 2)
    out = tmp_path / "new" / "out"
    with pytest.raises(CircuitError):
        eisfit.fit_campaign(folder, circuit="R0-p(R1", out=out, progress=False)
    assert not out.exists()
