"""``jobs="auto"`` (``eisfit campaign``'s default ``--jobs``): worker processes, one per core
(at most AUTO_JOBS_MAX), only for a campaign large enough to gain from them; the same table
as one process. Spectra are synthetic one-arc CSV files written by the tests."""
from __future__ import annotations

import json
import multiprocessing

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import eisfit
import eisfit.campaign as campaign_module
from eisfit import FitError
from eisfit._processes import usable_cores
from eisfit.cli import main

CIRCUIT = "R0-p(R1,CPE1)"
LOW = {"fork": 64, "spawn": 64}  # thresholds the tests set, so that a campaign of N_LARGE is large
N_LARGE = 70


def _folder(tmp_path, n: int):
    """``n`` CSV files of one arc each (R1 100-200 ohm, 0.3 % noise)."""
    rng = np.random.default_rng(5)
    f = np.logspace(6, 0, 31)
    circ = eisfit.model.Circuit(CIRCUIT)
    folder = tmp_path / f"cells_{n}"
    folder.mkdir()
    for k in range(n):
        z = circ.impedance(np.array([5.0, 100.0 + 100.0 * k / n, 2e-7, 0.9]), f)
        z = z * (1 + 0.003 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)))
        rows = "\n".join(f"{a:.9e},{b.real:.9e},{b.imag:.9e}" for a, b in zip(f, z))
        (folder / f"cell_{k:03d}.csv").write_text("freq_Hz,Zre_ohm,Zim_ohm\n" + rows + "\n")
    return folder


def _expected_workers() -> int:
    cores = usable_cores()
    return min(cores, campaign_module.AUTO_JOBS_MAX) if cores >= 2 else 1


@pytest.fixture
def one_threshold(monkeypatch):
    """Low thresholds (64 checkpoints), the same for spawned workers: where another test left
    a thread running, this process's workers are spawned (the rule of two thresholds has its
    own test)."""
    monkeypatch.setattr(campaign_module, "AUTO_MIN_CHECKPOINTS", dict(LOW))
    return LOW["fork"]


def test_auto_fits_a_large_campaign_on_the_cores_with_the_same_table(tmp_path, one_threshold):
    folder = _folder(tmp_path, N_LARGE)
    auto = eisfit.fit_campaign(folder, circuit=CIRCUIT, jobs="auto", cache_dir=False, progress=False)
    one = eisfit.fit_campaign(folder, circuit=CIRCUIT, jobs=1, cache_dir=False, progress=False)
    assert auto.stats["workers"] == _expected_workers()
    assert one.stats["workers"] == 1
    assert len(auto.table) == N_LARGE and auto.table["R1"].notna().all()
    # the optimiser's tolerance, not bit for bit (tasks batch other checkpoints together: CLI.md)
    pd.testing.assert_frame_equal(auto.table.drop(columns=["n_starts", "start_won"]),
                                  one.table.drop(columns=["n_starts", "start_won"]), rtol=1e-6)


def test_auto_fits_a_small_campaign_here(tmp_path):
    folder = _folder(tmp_path, 10)
    assert 10 < min(campaign_module.AUTO_MIN_CHECKPOINTS.values())
    result = eisfit.fit_campaign(folder, circuit=CIRCUIT, jobs="auto", cache_dir=False, progress=False)
    assert result.stats["workers"] == 1 and len(result.table) == 10


def test_auto_needs_more_checkpoints_where_workers_are_spawned_and_two_cores(tmp_path, monkeypatch):
    """A spawned worker first imports eisfit: the threshold of the start method the workers
    would get decides (a campaign above the fork threshold, below the spawn one, runs here
    when they would be spawned); one core runs here whatever the size."""
    folder = _folder(tmp_path, N_LARGE)
    monkeypatch.setattr(campaign_module, "AUTO_MIN_CHECKPOINTS", {"fork": 64, "spawn": 500})
    monkeypatch.setattr(campaign_module, "worker_context", lambda: multiprocessing.get_context("spawn"))
    spawned = eisfit.fit_campaign(folder, circuit=CIRCUIT, jobs="auto", cache_dir=False, progress=False)
    assert spawned.stats["workers"] == 1
    monkeypatch.undo()
    monkeypatch.setattr(campaign_module, "AUTO_MIN_CHECKPOINTS", dict(LOW))
    monkeypatch.setattr(campaign_module, "usable_cores", lambda: 1)
    one_core = eisfit.fit_campaign(folder, circuit=CIRCUIT, jobs="auto", cache_dir=False, progress=False)
    assert one_core.stats["workers"] == 1


def test_auto_workers_start_for_many_files_or_checkpoints(one_threshold):
    threshold = one_threshold
    workers = campaign_module._Workers("auto")
    try:
        assert workers.executor_for(threshold - 1) is None and workers.pool is None
        started = workers.executor_for(threshold)
        assert (started is not None) == (_expected_workers() > 1)
        assert workers.executor_for(1) is started  # once started, the same pool
    finally:
        if workers.pool:
            workers.pool.shutdown()
    asked = campaign_module._Workers(3)
    try:
        assert asked.pool.jobs == 3  # a number makes its pool at once
    finally:
        asked.pool.shutdown()
    assert campaign_module._Workers(1).pool is None


@pytest.mark.parametrize("jobs", ["many", 0, -2, True, 1.5, "AUTO"])
def test_bad_jobs_are_refused_before_any_file_is_read(tmp_path, jobs):
    with pytest.raises(FitError, match="jobs must be a whole number >= 1 or 'auto'"):
        eisfit.fit_campaign(tmp_path / "absent", jobs=jobs)


def test_the_command_uses_the_cores_by_default(tmp_path, one_threshold):
    folder = _folder(tmp_path, N_LARGE)
    runner = CliRunner()
    default = runner.invoke(main, ["campaign", str(folder), "--circuit", CIRCUIT, "--out", str(tmp_path / "a"),
                                   "--no-cache", "--no-progress", "--json"])
    assert default.exit_code == 0, default.output
    assert json.loads(default.stdout)["workers"] == _expected_workers()
    said = f"the fits on {_expected_workers()} worker processes."
    assert (said in (tmp_path / "a" / "report.md").read_text(encoding="utf-8")) == (_expected_workers() > 1)
    one = runner.invoke(main, ["campaign", str(folder), "--circuit", CIRCUIT, "--out", str(tmp_path / "b"),
                               "--no-cache", "--no-progress", "--jobs", "1", "--json"])
    assert one.exit_code == 0 and json.loads(one.stdout)["workers"] == 1
    assert "worker processes" not in (tmp_path / "b" / "report.md").read_text(encoding="utf-8")
    for option in ("--jobs", "--starts"):  # both take auto or a whole number >= 1
        for bad, why in (("0", "must be at least 1"), ("x", "expected 'auto' or a whole number, got 'x'")):
            refused = runner.invoke(main, ["campaign", str(folder), option, bad, "--out", str(tmp_path / "c")])
            assert refused.exit_code == 2 and f"invalid value for {option}: {why}" in refused.stderr
            assert not (tmp_path / "c").exists()  # refused before anything was written


def test_auto_fits_here_when_the_system_refuses_worker_processes(tmp_path, monkeypatch, one_threshold):
    """``auto`` asked for no process by name: where none can be started (fork's EAGAIN: no
    processes left), one warning and the campaign fitted in this process, read and fitted
    whole."""
    class Refused:
        def submit(self, *args, **kwargs):
            raise BlockingIOError(11, "Resource temporarily unavailable")

    class RefusedPool:
        def __init__(self, jobs):
            self.jobs, self.executor, self.shut = jobs, Refused(), False

        def shutdown(self, cancel_futures=False):
            self.shut = True

    folder = _folder(tmp_path, N_LARGE)
    monkeypatch.setattr(campaign_module, "_WorkerPool", RefusedPool)
    monkeypatch.setattr(campaign_module, "usable_cores", lambda: 2)
    with pytest.warns(campaign_module.CampaignWarning, match="could not start 2 worker processes") as caught:
        result = eisfit.fit_campaign(folder, circuit=CIRCUIT, jobs="auto", cache_dir=False, progress=False)
    assert len([w for w in caught if "worker processes" in str(w.message)]) == 1  # tried once, for the files
    assert result.stats["workers"] == 1 and len(result.table) == N_LARGE and result.table["R1"].notna().all()
