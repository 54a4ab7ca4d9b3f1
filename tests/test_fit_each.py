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
