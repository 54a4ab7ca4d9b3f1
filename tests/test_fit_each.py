"""Many spectra fitted (or given a circuit) one by one, in order, here or on worker processes:
``eisfit.api.fit_each`` / ``suggest_each``, and ``eisfit fit`` / ``eisfit suggest --jobs``.

The results must not depend on where they were computed: each is compared with ``eisfit.fit``
(or ``suggest_circuit``) of the same spectrum in this process. Spectra are synthetic (two
R||CPE arcs, or one, 0.2 % noise), written by the tests.
"""
from __future__ import annotations

import json
from concurrent.futures import BrokenExecutor, Future, ThreadPoolExecutor

import numpy as np
import pytest
from click.testing import CliRunner

import eisfit
import eisfit.api
from eisfit import FitError
from eisfit import _processes
from eisfit.api import AUTO_MIN_SPECTRA, fit_each, map_each, suggest_each
from eisfit.cli import main
from eisfit.io.export import write_csv
from eisfit.model import Circuit

TWO_ARCS = "R0-p(R1,CPE1)-p(R2,CPE2)"
F_HZ = np.logspace(6, -1, 36)


def two_arcs(r2_ohm: float, seed: int, label: str) -> eisfit.Spectrum:
    values = {"R0": 20.0, "R1": 80.0, "CPE1_0": 2e-9, "CPE1_1": 0.9, "R2": r2_ohm, "CPE2_0": 2e-6, "CPE2_1": 0.85}
    c = Circuit(TWO_ARCS)
    z = c.impedance(np.array([values[n] for n in c.param_names]), F_HZ)
    rng = np.random.default_rng(seed)
    z = z * (1 + 0.002 * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size)))
    return eisfit.Spectrum(F_HZ, z, {"label": label})


def one_point(label: str) -> eisfit.Spectrum:
    """A spectrum every fit refuses (one frequency): its error must come back in its place."""
    with pytest.warns(eisfit.DataWarning, match="measured more than once"):
        return eisfit.Spectrum(np.full(4, 100.0), np.array([20 - 5j, 21 - 5j, 22 - 5j, 23 - 5j]), {"label": label})


def assert_same_fit(got, own) -> None:
    assert got.circuit == own.circuit
    assert got.flags == own.flags
    for name, value in own.values.items():
        assert got.values[name] == pytest.approx(value, rel=1e-6), name
    assert got.chisq == pytest.approx(own.chisq, rel=1e-9)


def test_fit_each_on_workers_gives_each_spectrum_its_own_fit_in_input_order():
    spectra = [two_arcs(150.0 + 60 * k, seed=k, label=f"cp{k}") for k in range(3)]
    spectra.insert(1, one_point("flat"))
    got = list(fit_each(iter(spectra), TWO_ARCS, jobs=2, starts=2, profile=False))
    assert [s.label for s, _ in got] == ["cp0", "flat", "cp1", "cp2"]
    assert isinstance(got[1][1], eisfit.DataError) and "at least 2 distinct frequencies" in str(got[1][1])
    for s, res in got[:1] + got[2:]:
        assert_same_fit(res, eisfit.fit(s, TWO_ARCS, starts=2, profile=False))


def test_fit_each_chooses_the_circuit_of_each_spectrum_on_workers_as_fit_auto_does():
    spectra = [two_arcs(300.0, seed=3, label="a"), two_arcs(900.0, seed=4, label="b")]
    got = list(fit_each(spectra, "auto", jobs=2))
    for s, res in got:
        own = eisfit.fit(s, "auto")
        assert_same_fit(res, own)
        assert res.suggestion.best == own.suggestion.best


def test_suggest_each_returns_each_suggestion_or_its_error_in_order():
    from eisfit.selection import suggest_circuit

    spectra = [two_arcs(400.0, seed=5, label="a"), one_point("flat")]
    got = list(suggest_each(spectra, [TWO_ARCS, "R0-p(R1,CPE1)"], jobs=2))
    assert [s.label for s, _ in got] == ["a", "flat"]
    assert got[0][1].best == suggest_circuit(spectra[0], [TWO_ARCS, "R0-p(R1,CPE1)"]).best == TWO_ARCS
    assert isinstance(got[1][1], eisfit.EisfitError)


def test_jobs_must_be_a_whole_number_or_auto():
    for bad in (0, -1, 1.5, "two", True):
        with pytest.raises(FitError, match="jobs"):
            list(fit_each([two_arcs(200.0, 0, "a")], TWO_ARCS, jobs=bad))


class _ThreadPool(ThreadPoolExecutor):
    """Stands in for the worker processes (the same Executor interface), counting its makings."""

    made = 0

    def __init__(self, workers, setup=None):
        type(self).made += 1
        super().__init__(max_workers=workers)


def test_jobs_auto_starts_workers_only_from_the_threshold(monkeypatch):
    monkeypatch.setattr(_processes, "owned_pool", _ThreadPool)
    monkeypatch.setattr(_processes, "usable_cores", lambda: 2)
    least = AUTO_MIN_SPECTRA["choice"][_processes.worker_context().get_start_method()]
    square = lambda task: [x * x for x in task]  # noqa: E731
    _ThreadPool.made = 0
    below = list(map_each(square, iter([[k] for k in range(least - 1)]), "auto", "choice"))
    assert _ThreadPool.made == 0 and [out for _, out in below] == [[k * k] for k in range(least - 1)]
    above = list(map_each(square, iter([[k] for k in range(least + 3)]), "auto", "choice"))
    assert _ThreadPool.made == 1 and [out for _, out in above] == [[k * k] for k in range(least + 3)]


class _DyingPool:
    """An executor whose workers die: every task it was given ends in BrokenExecutor."""

    def __init__(self, workers, setup=None):
        pass

    def submit(self, fn, *args):
        future = Future()
        future.set_exception(BrokenExecutor("a worker died"))
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def test_tasks_of_workers_that_die_are_done_in_this_process(monkeypatch):
    monkeypatch.setattr(_processes, "owned_pool", _DyingPool)
    with pytest.warns(UserWarning, match=r"a worker process died 1 time\(s\) \(cause unknown\); the spectra"):
        got = list(map_each(lambda task: [x + 1 for x in task], iter([[1], [2], [3]]), 2, "choice"))
    assert [out for _, out in got] == [[2], [3], [4]]


def test_fit_and_suggest_commands_print_the_same_on_workers(tmp_path):
    paths = [write_csv([two_arcs(200.0 + 300 * k, seed=10 + k, label=f"cp{k}")], tmp_path / f"cp{k}.csv")
             for k in range(2)]
    runner = CliRunner()
    here = runner.invoke(main, ["fit", *map(str, paths), "--circuit", "auto", "--json", "--jobs", "1"])
    there = runner.invoke(main, ["fit", *map(str, paths), "--circuit", "auto", "--json", "--jobs", "2"])
    assert here.exit_code == there.exit_code == 0, there.output
    assert json.loads(here.stdout) == json.loads(there.stdout)
    listed = f"{TWO_ARCS};R0-p(R1,CPE1)"
    here = runner.invoke(main, ["suggest", *map(str, paths), "--candidates", listed, "--json", "--jobs", "1"])
    there = runner.invoke(main, ["suggest", *map(str, paths), "--candidates", listed, "--json", "--jobs", "2"])
    assert here.exit_code == there.exit_code == 0, there.output
    drop_time = lambda records: [{k: v for k, v in r.items() if k != "seconds"} for r in records]  # noqa: E731
    assert drop_time(json.loads(here.stdout)) == drop_time(json.loads(there.stdout))
    bad = runner.invoke(main, ["fit", str(paths[0]), "--jobs", "0"])
    assert bad.exit_code == 2 and "--jobs" in bad.output


def _slow_task(task: list) -> list:
    """A task of (marker folder, seconds): writes its process id to 'started', sleeps,
    marks its end ('done')."""
    import os
    import pathlib
    import time

    folder, seconds = task[0]
    (pathlib.Path(folder) / "started").write_text(str(os.getpid()))
    time.sleep(seconds)
    (pathlib.Path(folder) / "done").touch()
    return [seconds]


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (ended, not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not _processes.fork_is_safe(), reason="/proc and forked workers (Linux)")
def test_stopping_early_ends_the_running_tasks_rather_than_waiting_for_them(tmp_path):
    """Ctrl-C (or a caller that stops reading) closes the generator while a worker runs a
    task: that task is ended, not waited for nor left running (Ctrl-C on `eisfit fit
    --circuit auto --jobs 2` had taken 10-16 s to exit, as long as the running choices of
    circuit; eisfit._processes.stop_pool had terminated no worker)."""
    import time

    fast, slow = tmp_path / "fast", tmp_path / "slow"
    fast.mkdir()
    slow.mkdir()
    results = map_each(_slow_task, iter([[(str(fast), 0.0)], [(str(slow), 4.0)]]), 2, "choice")
    assert next(results)[1] == [0.0]
    for _ in range(600):  # the slow task has started on the other worker (at most 30 s)
        if (slow / "started").exists() and (slow / "started").read_text():
            break
        time.sleep(0.05)
    worker = int((slow / "started").read_text())
    results.close()
    assert not (slow / "done").exists()  # not waited for
    for _ in range(600):  # the worker ends (at most 30 s): ended at once, or after its task
        if not _running(worker):
            break
        time.sleep(0.05)
    assert not _running(worker)
    assert not (slow / "done").exists()  # it was ended, not left to finish its task


def _write_spectra(folder, n: int) -> list[str]:
    return [str(write_csv([two_arcs(200.0 + 300 * k, seed=10 + k, label=f"cp{k}")], folder / f"cp{k}.csv"))
            for k in range(n)]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_fit_verbose_prints_each_task_s_fit_time_in_order_and_the_same_stdout(tmp_path, monkeypatch, jobs):
    """`eisfit fit -v` printed each fit's time until the fits moved to workers (session 69),
    then none: the time is measured where the task ran and printed here, in order."""
    import eisfit.api

    monkeypatch.setattr(eisfit.api, "FIT_BATCH", 2)  # tasks [cp0, cp1], [cp2]
    paths = _write_spectra(tmp_path, 3)
    runner = CliRunner()
    for json_option in ([], ["--json"]):
        args = ["fit", *paths, "--circuit", TWO_ARCS, "--jobs", jobs, *json_option]
        quiet, verbose = runner.invoke(main, args), runner.invoke(main, [*args, "-v"])
        assert quiet.exit_code == verbose.exit_code == 0, verbose.output
        assert quiet.stdout == verbose.stdout
    times = [line for line in verbose.stderr.splitlines() if " fitted in " in line]
    assert [line.split(" fitted in ")[0] for line in times] == ["cp0 ... cp1: 2 spectra", "cp2:"]
    assert all(float(line.split(" fitted in ")[1].removesuffix(" s")) > 0 for line in times)  # a time, in s


_MAIN_PID = None  # the test process (forked workers inherit it)
_FIT_TASK = eisfit.api._fit_task


def _kill_the_first_worker() -> None:
    """In the first worker that calls it, SIGKILL itself (as the out-of-memory killer does);
    a marker file, made atomically, says it happened. Nothing in the test process."""
    import os
    import signal

    if os.getpid() == _MAIN_PID:
        return
    try:
        os.close(os.open(os.environ["EISFIT_TEST_KILL_MARKER"], os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def _dying_fit_task(batch: list, **settings) -> list:
    _kill_the_first_worker()
    return _FIT_TASK(batch, **settings)


def _doubled_or_dying(task: list) -> list:
    _kill_the_first_worker()
    return [2 * x for x in task]


def _first_worker_dies(monkeypatch, tmp_path) -> None:
    """Arm :func:`_kill_the_first_worker` (the workers, forked later, inherit it)."""
    import os

    global _MAIN_PID
    _MAIN_PID = os.getpid()
    monkeypatch.setenv("EISFIT_TEST_KILL_MARKER", str(tmp_path / "killed"))


@pytest.mark.skipif(not _processes.fork_is_safe(), reason="forked workers (Linux)")
def test_a_worker_that_dies_is_reported_once_and_its_spectra_fitted_here(tmp_path, monkeypatch):
    """A worker killed mid-run (the OOM killer) had been absorbed without a word, exit 0:
    the output stays complete and the same as --jobs 1, and one warning says what happened."""
    import eisfit.api

    monkeypatch.setattr(eisfit.api, "FIT_BATCH", 1)  # one task per spectrum
    paths = _write_spectra(tmp_path, 4)
    runner = CliRunner()
    calm = runner.invoke(main, ["fit", *paths, "--circuit", TWO_ARCS, "--json", "--jobs", "1"])
    _first_worker_dies(monkeypatch, tmp_path)
    monkeypatch.setattr(eisfit.api, "_fit_task", _dying_fit_task)
    hit = runner.invoke(main, ["fit", *paths, "--circuit", TWO_ARCS, "--json", "--jobs", "2"])
    assert (tmp_path / "killed").exists()
    assert calm.exit_code == hit.exit_code == 0, hit.output
    assert json.loads(hit.stdout) == json.loads(calm.stdout)
    warned = [line for line in hit.stderr.splitlines() if "worker process died" in line]
    assert warned == ["eisfit: warning: a worker process died 1 time(s) (signal 9 (SIGKILL)); the spectra it was "
                      "given, and all those after them, were fitted in this process"]


@pytest.mark.skipif(not _processes.fork_is_safe(), reason="forked workers (Linux)")
def test_map_each_warns_of_a_dead_worker_and_returns_every_outcome(tmp_path, monkeypatch):
    _first_worker_dies(monkeypatch, tmp_path)
    with pytest.warns(UserWarning, match=r"a worker process died 1 time\(s\) \(signal 9 \(SIGKILL\)\)"):
        got = list(map_each(_doubled_or_dying, iter([[k] for k in range(6)]), 2, "choice"))
    assert (tmp_path / "killed").exists()
    assert [out for _, out in got] == [[2 * k] for k in range(6)]


class _Ended:
    def __init__(self, exitcode):
        self.exitcode = exitcode


def test_death_causes_leave_out_the_workers_the_broken_pool_terminated():
    """A pool ends its other workers with SIGTERM when one dies: a campaign's warning had
    named 'signal 15 (SIGTERM)' beside the SIGKILL of the one that died."""
    ended = [_Ended(-15), _Ended(-9), _Ended(0), _Ended(None), _Ended(-15)]
    assert _processes.death_causes(ended) == ["signal 9 (SIGKILL)"]
    assert _processes.death_causes([_Ended(-15), _Ended(-15)]) == ["signal 15 (SIGTERM)"]
    assert _processes.death_causes([_Ended(1)]) == ["exit status 1"]
    assert _processes.worker_deaths_text(2, ["signal 9 (SIGKILL)"] * 2) == \
        "a worker process died 2 time(s) (signal 9 (SIGKILL))"


_HALF_SENT_RESULT = """
import os, struct, sys, time
from pathlib import Path
import concurrent.futures.process as process_pool
from eisfit._processes import owned_pool, stop_pool

marker = Path(sys.argv[1])
def half_sent(result_queue, work_id, result=None, exception=None, exit_pid=None):
    # the worker begins a 1 MB message, then is ended (by stop_pool) before the rest
    os.write(result_queue._writer.fileno(), struct.pack("!i", 1 << 20) + b"x" * 10)
    marker.touch()
    time.sleep(60)
process_pool._sendback_result = half_sent  # the forked worker inherits it
pool = owned_pool(1)
pool.submit(int, 1)
for _ in range(1200):
    if marker.exists():
        break
    time.sleep(0.05)
reader = pool._executor_manager_thread
stop_pool(pool)
reader.join(10)
print("pool thread ended" if not reader.is_alive() else "pool thread waits")
"""


@pytest.mark.skipif(not _processes.fork_is_safe(), reason="forked workers (Linux)")
def test_stop_pool_ends_a_worker_caught_sending_its_result_without_hanging_the_process(tmp_path):
    """A worker ended by stop_pool (Ctrl-C) in the middle of sending its result left the
    pool's thread waiting for the rest for ever, and the process hung at exit (eisfit
    campaign after Ctrl-C, 1 of 23 runs)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _HALF_SENT_RESULT, str(tmp_path / "half-sent")], capture_output=True,
                          text=True, timeout=60)
    assert (tmp_path / "half-sent").exists()
    assert done.stdout.strip() == "pool thread ended" and done.returncode == 0, done.stderr
