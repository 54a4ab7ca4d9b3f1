"""The campaign pipeline around the fits: lean worker results, rows streamed to disk as
chunks finish, and a table that does not depend on the number of worker processes."""
from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import eisfit
from eisfit.campaign import runner
from eisfit.fitting.batch import fit_chunk
from eisfit.fitting.result import SHARED_FIELDS, fitted_indices, one_of_equal
from eisfit.model import Circuit

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
FREQ = np.logspace(6, 0, 41)


def _spectra(n: int, seed: int = 3) -> list[eisfit.Spectrum]:
    """A slowly drifting cell: R2 grows along the campaign, 0.3 % noise."""
    rng = np.random.default_rng(seed)
    circ = Circuit(CIRCUIT)
    out = []
    for k in range(n):
        p = [10.0, 200.0, 2e-9, 0.9, 300.0 * (1 + 0.02 * k), 2e-6, 0.8]
        z = circ.impedance(np.array(p), FREQ)
        z = z + 0.003 * np.abs(z) * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size)) / np.sqrt(2)
        out.append(eisfit.Spectrum(FREQ, z, {"label": f"s{k:03d}"}))
    return out


def _folder(tmp_path, n: int):
    folder = tmp_path / "csv"
    folder.mkdir()
    for k, s in enumerate(_spectra(n)):
        np.savetxt(folder / f"cell_{k:03d}.csv", np.c_[s.frequency, s.z.real, s.z.imag], delimiter=",",
                   header="freq_Hz,Zre_ohm,Zim_ohm", comments="")
    return folder


@pytest.mark.parametrize("start", ["fork where safe", "spawn"])
def test_table_is_the_same_with_one_and_two_worker_processes(tmp_path, monkeypatch, start):
    if start == "spawn":
        monkeypatch.setattr("eisfit._processes.fork_is_safe", lambda: False)
    folder = _folder(tmp_path, 70)  # >= 64 files: the workers also read them
    one = eisfit.fit_campaign(folder, circuit=CIRCUIT, jobs=1, cache_dir=False, progress=False)
    two = eisfit.fit_campaign(folder, circuit=CIRCUIT, jobs=2, cache_dir=False, progress=False)
    assert one.stats["chunks"] > 2 and not one.errors
    assert_same_table_to_tolerance(one.table, two.table)


# what CLI.md promises across --jobs: the tasks batch other checkpoints together, and a batch's
# adaptive multi-start follows its members (values to the optimiser's tolerance, measured up
# to 1.3e-8 relative; the start bookkeeping may differ)
START_BOOKKEEPING = ("n_starts", "start_won")
JOBS_RTOL = 1e-7


def assert_same_table_to_tolerance(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal flags, seed_source, notes and every other text column; numbers to JOBS_RTOL;
    n_starts and start_won not compared."""
    assert list(a.columns) == list(b.columns)
    for column in a.columns:
        if column in START_BOOKKEEPING:
            continue
        if pd.api.types.is_numeric_dtype(a[column]) and not pd.api.types.is_bool_dtype(a[column]):
            np.testing.assert_allclose(a[column].astype(float), b[column].astype(float), rtol=JOBS_RTOL,
                                       atol=0, equal_nan=True, err_msg=column)
        else:
            assert list(a[column]) == list(b[column]), column


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start: Linux only")
def test_a_script_without_main_guard_runs_a_parallel_campaign(tmp_path):
    """A plain script calling fit_campaign(jobs=2) at its top level: forked workers do not
    run the script again (spawned ones would, and every fit failed)."""
    script = tmp_path / "plain.py"
    script.write_text(textwrap.dedent(f"""
        import numpy as np, eisfit
        from eisfit.model import Circuit
        f = np.logspace(6, 0, 41)
        z = Circuit({CIRCUIT!r}).impedance(np.array([10, 200, 2e-9, 0.9, 300, 2e-6, 0.8]), f)
        spectra = [eisfit.Spectrum(f, z * (1 + 0.001 * k), {{"label": f"s{{k}}"}}) for k in range(6)]
        r = eisfit.fit_campaign(spectra, circuit={CIRCUIT!r}, jobs=2, cache_dir=False, progress=False)
        print("errors", len(r.errors), "rows", len(r.table))
    """))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "errors 0 rows 6" in run.stdout, run.stdout + run.stderr
    assert "Traceback" not in run.stderr


def test_worker_results_carry_no_per_point_arrays(tmp_path):
    import pickle

    spectra = _spectra(6)
    data = [(s.frequency, s.z, {}) for s in spectra]
    options = {"weighting": "modulus", "fmin": 10.0}  # cropped: the fitted points are a subset
    lean = fit_chunk(data, False, CIRCUIT, options, lean=True)
    full = fit_chunk(data, False, CIRCUIT, options)
    for o, f, s in zip(lean, full, spectra):
        r = o["result"]
        assert isinstance(r, eisfit.FitResult)
        assert r.frequency.size == r.z.size == r.z_fit.size == 0
        assert len(pickle.dumps(o)) < 8000  # what travels back from a worker: no arrays of points
        assert o["points"] == list(np.flatnonzero(FREQ >= 10.0))
        # the campaign process rebuilds the arrays exactly from the spectrum and the values
        rebuilt = runner.result_of_outcome(pickle.loads(pickle.dumps(o)), s)
        reference = eisfit.FitResult.from_dict(f["result"])
        np.testing.assert_array_equal(rebuilt.frequency, reference.frequency)
        np.testing.assert_array_equal(rebuilt.z, reference.z)
        np.testing.assert_array_equal(rebuilt.z_fit, reference.z_fit)
        assert rebuilt.to_dict() == reference.to_dict()
    # rebuilt together (one evaluation of the circuit for the six): the same to the bit
    together = runner.results_of_outcomes(lean, spectra)
    for rebuilt, f in zip(together, full):
        reference = eisfit.FitResult.from_dict(f["result"])
        np.testing.assert_array_equal(rebuilt.z_fit, reference.z_fit)
        assert rebuilt.to_dict() == reference.to_dict()


def test_the_results_of_one_worker_message_share_their_equal_containers():
    """A task's lean results hold one settings dict, one units dict... between them, so each
    is pickled once and unpickled once in the campaign process (it had unpickled one of each
    per result, only to replace them by the campaign's); received, they take the campaign's
    pool's, as results from another message do, and equal what each fit gives alone."""
    import pickle

    from eisfit.fitting.result import SHARED_FIELDS

    spectra = _spectra(6)
    data = [(s.frequency, s.z, {}) for s in spectra]
    lean = fit_chunk(data, False, CIRCUIT, {"weighting": "modulus"}, lean=True)
    for name in SHARED_FIELDS:
        assert len({id(getattr(o["result"], name)) for o in lean}) == 1, name
    shared: dict = {}
    first = runner.results_of_outcomes(pickle.loads(pickle.dumps(lean[:3])), spectra[:3], shared)
    second = runner.results_of_outcomes(pickle.loads(pickle.dumps(lean[3:])), spectra[3:], shared)
    for name in SHARED_FIELDS:
        assert len({id(getattr(r, name)) for r in first + second}) == 1, name
    alone = eisfit.fit(spectra[4], circuit=CIRCUIT, weighting="modulus")
    assert second[1].settings == alone.settings and second[1].units == alone.units
    assert second[1].derived_units == alone.derived_units and second[1].param_names == alone.param_names


@pytest.mark.results_in_memory  # identity of shared containers / a result changed in place
def test_campaign_results_keep_what_the_figures_draw(tmp_path):
    """The results the figures read hold the fitted points and the fitted curve; the
    spectrum's own arrays are not copied for them."""
    spectra = _spectra(12)
    camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, cache_dir=False, progress=False)
    for s, r in zip(spectra, camp.results):
        np.testing.assert_array_equal(r.frequency, s.frequency)
        np.testing.assert_array_equal(r.z, s.z)
        np.testing.assert_array_equal(r.z_fit, r.model_impedance(r.frequency))
        assert np.isfinite(r.rms_relative_error_pct)
    assert camp.results[3].frequency is camp.checkpoints[3].spectrum._frequency
    fig = camp.plot_residual_map().figure
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.results_in_memory  # identity of shared containers / a result changed in place
def test_a_campaigns_results_share_their_equal_containers_fitted_or_cached(tmp_path):
    """A campaign's results hold one settings dict, one units dict, ... between them (each
    fit makes its own, and one unpickled from a worker has its own copy), whether fitted now
    or read from the cache; each is equal to what the fit of one spectrum alone has."""
    spectra = _spectra(6)
    alone = eisfit.fit_campaign(spectra[:1], circuit=CIRCUIT, cache_dir=False, progress=False).results[0]
    for cache in (False, tmp_path / "cache", tmp_path / "cache"):  # fitted, fitted and stored, read back
        results = eisfit.fit_campaign(spectra, circuit=CIRCUIT, cache_dir=cache, progress=False).results
        for name in SHARED_FIELDS:
            assert len({id(getattr(r, name)) for r in results}) == 1, name
            assert getattr(results[0], name) == getattr(alone, name), name
    assert {"initial", "bounds", "weighting"} <= set(results[0].settings)


def test_containers_are_one_only_where_their_items_and_types_are_equal():
    pool: dict = {}
    first = one_of_equal(pool, {"x": 1, "nested": [{"y": float("nan")}]})
    assert one_of_equal(pool, {"x": 1, "nested": [{"y": float("nan")}]}) is first
    for other in ({"x": True, "nested": [{"y": float("nan")}]}, {"x": 1.0, "nested": [{"y": float("nan")}]},
                  {"x": 1, "nested": ({"y": float("nan")},)}, {"nested": [{"y": float("nan")}], "x": 1}):
        assert one_of_equal(pool, other) is other  # 1, True and 1.0; a list and a tuple; another order
    assert one_of_equal(pool, ["R0", "R1"]) is not one_of_equal(pool, ("R0", "R1"))


def test_rows_are_on_disk_as_chunks_finish_and_survive_a_failure(tmp_path, monkeypatch):
    """A campaign that dies after some chunks (here the third chunk's outcome cannot be
    stored) leaves the rows of the chunks before it in the results file."""
    spectra = _spectra(40)
    rows_file = tmp_path / "summary.csv"
    seen = []
    collect = runner._collect

    def failing_collect(items, fits, chunk, outcome, cache, *rest, **named):
        if len(seen) == 2:
            raise OSError("disk gone")
        seen.append(list(chunk.members))
        return collect(items, fits, chunk, outcome, cache, *rest, **named)

    monkeypatch.setattr(runner, "_collect", failing_collect)
    with pytest.raises(OSError, match="disk gone"):
        eisfit.fit_campaign(spectra, circuit=CIRCUIT, cache_dir=False, progress=False, rows_file=rows_file)
    with open(rows_file, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    finished = [spectra[i].label for members in seen for i in members]
    assert [r["label"] for r in rows] == finished and len(finished) < len(spectra)
    assert all(r["R2"] and r["chisq"] and r["error"] == "" for r in rows)
    # the whole run writes the whole table over them, in campaign order
    monkeypatch.setattr(runner, "_collect", collect)
    camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, cache_dir=False, progress=False, out=tmp_path)
    written = pd.read_csv(tmp_path / "summary.csv")
    assert list(written["label"]) == [s.label for s in spectra]
    np.testing.assert_allclose(written["R2"], camp.table["R2"], rtol=1e-12)


def test_row_stream_widens_its_header_for_a_new_circuit(tmp_path):
    from eisfit.campaign.rows import RowStream

    stream = RowStream(tmp_path / "rows.csv")
    stream.write([{"label": "a", "R0": 1.0, "flags": ""}])
    stream.write([{"label": "b", "R0": 2.0, "L1": float("nan"), "flags": "x"}])
    stream.write([{"label": "c", "R0": 3.0}])
    with open(tmp_path / "rows.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["label"] for r in rows] == ["a", "b", "c"]
    assert rows[0]["L1"] == "" and rows[1]["L1"] == "" and rows[1]["flags"] == "x"
    assert stream.n_rows == 3


ALLOCATOR_PROBE = textwrap.dedent("""
    import os, resource, sys
    import numpy as np
    import eisfit  # importing eisfit alone leaves the allocator as it is ("plain")
    setup = sys.argv[1]
    if setup == "tuned":
        from eisfit._processes import tune_allocator
        assert tune_allocator()
    elif setup == "campaign-worker":
        from eisfit.campaign.workers import init_worker
        init_worker()
    elif setup == "stream-worker":
        from eisfit.fitting.batch import _init_stream_worker
        _init_stream_worker()
    elif setup == "cli":
        from eisfit.cli import main
        main(["--version"], standalone_mode=False)

    def work():  # what a fit does thousands of times: arrays of 0.1-1 MB made and freed together
        arrays = [np.ones(50_000) for _ in range(8)]
        del arrays

    for _ in range(5):
        work()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(100):
        work()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 100)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings: Linux only")
def test_processes_eisfit_owns_reuse_freed_memory(tmp_path):
    """The eisfit command and its worker processes keep freed memory for reuse: repeated
    3.2 MB working sets then cost no page faults, where glibc's defaults hand the memory
    back to the kernel after each round (hundreds of faults per round). A plain program
    that imports eisfit keeps its own settings."""
    script = tmp_path / "probe.py"
    script.write_text(ALLOCATOR_PROBE)

    def faults(setup: str) -> float:
        run = subprocess.run([sys.executable, str(script), setup], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        return float(run.stdout.strip().splitlines()[-1])

    assert faults("plain") > 100
    for setup in ("tuned", "campaign-worker", "stream-worker", "cli"):
        assert faults(setup) < 10, setup


def _mark_release(folder: str) -> None:
    """Stands in for release_freed_memory in a worker: leaves a file named by its process."""
    open(os.path.join(folder, f"released-{os.getpid()}"), "w").close()


def test_a_worker_with_no_task_left_releases_its_freed_memory_while_the_others_fit(tmp_path, monkeypatch):
    """Each worker of the campaign's own pool that ends its last task while another still fits
    is sent release_freed_memory (its tuned allocator kept the task's freed heap): it runs in a
    worker, not here; the table is the same as without it."""
    import functools

    monkeypatch.setattr("eisfit._processes.fork_is_safe", lambda: True)  # earlier tests' idle threads
    marks = tmp_path / "marks"
    marks.mkdir()
    spectra = _spectra(40)
    plain = eisfit.fit_campaign(spectra, circuit=CIRCUIT, jobs=2, cache_dir=False, progress=False)
    assert not list(marks.iterdir())
    monkeypatch.setattr(runner, "release_freed_memory", functools.partial(_mark_release, str(marks)))
    camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, jobs=2, cache_dir=False, progress=False)
    released = [int(p.name.split("-")[1]) for p in marks.iterdir()]
    assert released and os.getpid() not in released
    pd.testing.assert_frame_equal(plain.table, camp.table)


def test_the_chains_of_small_cells_share_tasks_and_keep_the_results_of_each_cell_alone():
    """12 cells of 6 checkpoints: their chains are packed into a few worker tasks (one batch
    each), and every cell's rows equal those of a campaign of that cell alone."""
    circ = Circuit(CIRCUIT)
    rng = np.random.default_rng(6)
    f = np.logspace(6, 0, 36)
    spectra = []
    for cell in range(12):
        for k in range(6):
            p = np.array([8.0, 50.0 * (1 + cell / 10), 1e-9, 0.9, 200.0 * (1 + 0.1 * k), 3e-6, 0.8])
            z = circ.impedance(p, f) * (1 + 0.004 * rng.standard_normal(f.size))
            spectra.append(eisfit.Spectrum(frequency=f, z=z, meta={"label": f"c{cell}-{k}", "cell": f"cell{cell:02d}",
                                                                   "time_h": float(k)}))
    camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, cache_dir=False, progress=False)
    assert camp.stats["chunks"] >= 12 and camp.stats["tasks"] < camp.stats["chunks"]
    table = camp.table.set_index("label")
    for cell in (0, 7):
        alone = eisfit.fit_campaign(spectra[6 * cell:6 * cell + 6], circuit=CIRCUIT, cache_dir=False,
                                    progress=False).table.set_index("label")
        np.testing.assert_allclose(table.loc[alone.index, "chisq"], alone["chisq"], rtol=1e-9)
        np.testing.assert_allclose(table.loc[alone.index, "R2"], alone["R2"], rtol=1e-6)
        assert list(table.loc[alone.index, "seed_source"]) == list(alone["seed_source"])


def test_cells_of_their_own_area_and_thickness_share_tasks_with_their_own_derived_quantities(tmp_path):
    """A campaign file of 8 cells, each with its own electrode area and thickness: packed
    into shared tasks, each row's ASR is R x its own area and its conductivity uses its own
    thickness, as in a campaign of that cell alone."""
    circ = Circuit(CIRCUIT)
    rng = np.random.default_rng(8)
    f = np.logspace(6, 0, 36)
    lines = ['[defaults]', f'circuit = "{CIRCUIT}"', '']
    for cell in range(8):
        for k in range(4):
            p = np.array([8.0, 50.0 * (1 + cell / 10), 1e-9, 0.9, 200.0 * (1 + 0.1 * k), 3e-6, 0.8])
            z = circ.impedance(p, f) * (1 + 0.004 * rng.standard_normal(f.size))
            name = f"c{cell}_{k}.csv"
            np.savetxt(tmp_path / name, np.c_[f, z.real, z.imag], delimiter=",", header="freq_Hz,Zre_ohm,Zim_ohm",
                       comments="")
            lines += ["[[checkpoint]]", f'file = "{name}"', f'cell = "cell{cell}"', f"time_h = {k}",
                      f"area_cm2 = {0.5 + 0.1 * cell}", f"thickness_cm = {0.02 + 0.005 * cell}", ""]
    (tmp_path / "campaign.toml").write_text("\n".join(lines))
    camp = eisfit.fit_campaign(tmp_path / "campaign.toml", cache_dir=False, progress=False)
    assert camp.stats["tasks"] < camp.stats["chunks"]
    t = camp.table
    np.testing.assert_allclose(t["R2_asr_ohm_cm2"], t["R2"] * t["area_cm2"], rtol=1e-12)
    assert t["area_cm2"].nunique() == 8 and t["thickness_cm"].nunique() == 8
    alone_toml = tmp_path / "cell5.toml"
    alone_toml.write_text("\n".join(lines[:3] + [ln for block in "\n".join(lines[3:]).split("\n\n")
                                                 if 'cell = "cell5"' in block for ln in block.split("\n") + [""]]))
    alone = eisfit.fit_campaign(alone_toml, cache_dir=False, progress=False).table.set_index("label")
    packed = t.set_index("label").loc[alone.index]
    for col in ("chisq", "R2", "R1_sigma_S_per_cm", "R2_asr_ohm_cm2"):
        np.testing.assert_allclose(packed[col], alone[col], rtol=1e-9, err_msg=col)
    np.testing.assert_allclose(t["R1_sigma_S_per_cm"], t["thickness_cm"] / (t["R1"] * t["area_cm2"]), rtol=1e-9)


def test_a_spectrum_the_engine_refuses_costs_only_its_own_chain_its_seeds():
    """A task holding the chains of several cells, one of them with a 3-point spectrum that
    the engine refuses: that spectrum fails alone, its chain is fitted cold, and the other
    chains keep the seeded results they have alone."""
    from eisfit.fitting.batch import fit_chunks

    circ = Circuit(CIRCUIT)
    rng = np.random.default_rng(2)
    f = np.logspace(6, 0, 30)

    def data(cell):
        out = []
        for k in range(4):
            p = np.array([8.0, 50.0 + 10 * cell, 1e-9, 0.9, 200.0 * (1 + 0.1 * k), 3e-6, 0.8])
            z = circ.impedance(p, f) * (1 + 0.004 * rng.standard_normal(f.size))
            out.append((f, z, {"label": f"c{cell}-{k}"}))
        return out

    good, bad = data(0), data(1)
    bad[2] = (f[:3], bad[2][1][:3], {"label": "c1-2"})
    options: dict = {}
    together = fit_chunks([(good, False), (bad, False)], CIRCUIT, options)
    alone = fit_chunks([(good, False)], CIRCUIT, options)[0]
    assert [o["result"]["chisq"] for o in together[0]] == pytest.approx([o["result"]["chisq"] for o in alone],
                                                                        rel=1e-9)
    assert [o["seed_source"] for o in together[0]] == [o["seed_source"] for o in alone]
    # the seeded rounds ran for the good chain as alone (a cold fit of each spectrum has none)
    np.testing.assert_allclose([o["seeded_chisq"] for o in together[0]], [o["seeded_chisq"] for o in alone],
                               rtol=1e-9)
    assert "error" in together[1][2] and all("result" in o for k, o in enumerate(together[1]) if k != 2)


_FIT_CHUNKS = runner.fit_chunks  # the real one (the test below replaces it)


def _killing_fit_chunks(parts, *args):
    """fit_chunks that kills its own worker process (SIGKILL, as the kernel's OOM killer
    does) when its task holds the checkpoint labelled VICTIM: once (a marker file says it
    happened), or every time when the marker's folder says ``always``."""
    import os
    import signal
    from pathlib import Path

    marker = Path(os.environ["EISFIT_TEST_KILL_MARKER"])
    labels = {meta.get("label") for spectra, _, _ in parts for _, _, meta, *_ in spectra}
    if "s013" in labels and (marker.parent.name == "always" or not marker.exists()):
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return _FIT_CHUNKS(parts, *args)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start: Linux only")
@pytest.mark.parametrize("always", [False, True])
def test_a_worker_that_dies_fails_no_other_checkpoint(tmp_path, monkeypatch, always):
    """A worker killed while fitting (by the user, by the OOM killer) breaks the process
    pool and every unfinished task with it: they are fitted again on a fresh pool. Killed
    once, every checkpoint is fitted, the table equal to an undisturbed run's; killed every
    time the one task runs, only that task's checkpoints fail, saying why."""
    import eisfit.fitting.batch as batch

    spectra = _spectra(32)
    monkeypatch.setattr(runner, "POOL_TASK_SIZE", 8)  # 4 tasks of 8 checkpoints (else 2 of 16)
    calm = eisfit.fit_campaign(spectra, circuit=CIRCUIT, jobs=1, cache_dir=False, progress=False)
    folder = tmp_path / ("always" if always else "once")
    folder.mkdir()
    monkeypatch.setenv("EISFIT_TEST_KILL_MARKER", str(folder / "killed"))
    monkeypatch.setattr(runner, "fit_chunks", _killing_fit_chunks)  # the workers are forked: they see it
    monkeypatch.setattr(batch, "fit_chunks", _killing_fit_chunks)
    camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, jobs=2, cache_dir=False, progress=False)
    assert (folder / "killed").exists() and camp.stats["worker_deaths"] >= 1
    failed = [k for k, r in enumerate(camp.results) if r is None]
    if not always:
        assert failed == [] and camp.stats["worker_deaths"] == 1
        pd.testing.assert_frame_equal(calm.table, camp.table)
        return
    assert failed == list(range(8, 16))  # the victim's task: checkpoints 8-15
    assert all(runner.WORKER_DIED in e.reason for e in camp.errors) and len(camp.errors) == len(failed)
    fitted = [k for k in range(32) if k not in failed]
    pd.testing.assert_frame_equal(calm.table.iloc[fitted].reset_index(drop=True),
                                  camp.table.iloc[fitted].reset_index(drop=True), check_dtype=False)


def test_tasks_on_the_campaigns_own_workers_are_whole_chunks_shared_out_evenly():
    """Each worker gets as many tasks as the others, of whole chunks, about POOL_TASK_SIZE
    checkpoints at most; with an executor of unknown size (Dask) a task is one chunk."""
    for n, workers in [(1000, 2), (5000, 2), (300, 2), (261, 2), (20000, 8), (1000, 4), (32, 2)]:
        size, chunk = runner.task_size(n, workers), runner.chunk_size(n)
        assert size % chunk == 0 and size >= chunk
        n_tasks = -(-n // size)
        assert size <= max(runner.POOL_TASK_SIZE, chunk) or n_tasks == workers
        assert n_tasks % workers == 0 or size == chunk  # every worker the same number, where chunks allow
    assert runner.task_size(1000, 2) == 500 and runner.task_size(5000, 2) == 500  # 2 and 10 tasks
    assert runner.task_size(1000, None) == runner.chunk_size(1000) == 250


def test_the_last_tasks_on_a_pool_are_cut_into_their_chunks():
    """With more tasks than workers, each of the last ``workers`` tasks becomes one task per
    chunk (in order, every chunk once): the workers, whose finishing times drift apart by up
    to a task, end closer together. With no more tasks than workers nothing changes."""
    chunks = [runner._Chunk([k], None) for k in range(12)]
    tasks = [chunks[k:k + 2] for k in range(0, 12, 2)]  # 6 tasks of 2 chunks
    finer = runner.finer_last_tasks(tasks, 2)
    assert [len(t) for t in finer] == [2, 2, 2, 2, 1, 1, 1, 1]
    assert [c for t in finer for c in t] == chunks
    assert runner.finer_last_tasks(tasks[:2], 2) == tasks[:2]
    assert [len(t) for t in runner.finer_last_tasks(tasks[:3], 2)] == [2, 1, 1, 1, 1]


def _worker_state() -> tuple[bool, bool, int]:
    import gc
    import threading

    from eisfit._processes import allocator_tuned

    return (any(t.name == "eisfit-parent-watch" for t in threading.enumerate()), allocator_tuned(),
            gc.get_freeze_count())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start: Linux only")
def test_every_pool_eisfit_owns_ends_with_its_parent():
    """The campaign's, fit_stream's and the figure writer's pools all start their workers
    with die_with_parent (the figure writer's had not: killed while it drew, the campaign
    left its figure workers running), freeze what they start with (the collector then never
    walks the inherited heap), then run their own set-up."""
    import multiprocessing

    from eisfit._processes import owned_pool
    from eisfit.campaign import _process_pool
    from eisfit.fitting.batch import _stream_pool

    pools = [_process_pool(1), _stream_pool(1), owned_pool(1, multiprocessing.get_context("fork"))]
    try:
        states = [pool.submit(_worker_state).result() for pool in pools]
    finally:
        for pool in pools:
            pool.shutdown()
    assert [watched for watched, _, _ in states] == [True, True, True]
    assert [tuned for _, tuned, _ in states[:2]] == [True, True]  # the fit workers' own set-up ran
    assert all(frozen > 10000 for _, _, frozen in states), states  # the imported modules at least


def _hands_back_before_a_task() -> tuple[bool, int]:
    """(this process is an owned pool's worker, times a fit task handed back freed memory)."""
    import eisfit._processes as processes
    from eisfit.fitting.batch import fit_chunks

    calls = []
    real = processes.release_freed_memory
    processes.release_freed_memory = lambda: calls.append(1) or real()
    try:
        fit_chunks([], "R0-p(R1,CPE1)", {})
    finally:
        processes.release_freed_memory = real
    return processes.owned_worker(), len(calls)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start: Linux only")
def test_a_fitting_worker_hands_back_the_last_tasks_freed_heap_before_the_next():
    """A worker of eisfit's own pool collects and trims its heap at the start of each fit task
    (as the figure process does after each figure): at 10,000 files each worker held 98-100
    MB during the fits, 85-94 MB so. The process that runs the campaign does not (a repair's
    fit in it would walk its whole heap for nothing)."""
    import multiprocessing

    from eisfit._processes import owned_pool

    pool = owned_pool(1, multiprocessing.get_context("fork"))
    try:
        assert pool.submit(_hands_back_before_a_task).result() == (True, 1)
    finally:
        pool.shutdown()
    assert _hands_back_before_a_task() == (False, 0)


# ---- the collector and the worker start-up (eisfit._processes.long_lived_objects) ----

def test_long_lived_objects_freezes_what_is_settled_and_unfreezes_at_the_outermost_end():
    import gc

    from eisfit._processes import long_lived_objects, settle_long_lived

    assert gc.get_freeze_count() == 0
    settle_long_lived()  # outside a context: nothing
    assert gc.get_freeze_count() == 0
    with long_lived_objects():
        kept = [{"k": k} for k in range(1000)]
        settle_long_lived()
        frozen = gc.get_freeze_count()
        assert frozen >= 1000
        with long_lived_objects():  # nested: leaving it keeps the outer one's objects frozen
            settle_long_lived()
        assert gc.get_freeze_count() >= frozen
    assert gc.get_freeze_count() == 0 and kept


def test_long_lived_objects_leaves_a_collector_managed_by_someone_else_alone():
    import gc

    from eisfit._processes import long_lived_objects, settle_long_lived

    theirs = [[k] for k in range(100)]
    gc.freeze()  # the caller froze its own objects (e.g. before forking workers)
    try:
        count = gc.get_freeze_count()
        with long_lived_objects():
            settle_long_lived()
            assert gc.get_freeze_count() == count
        assert gc.get_freeze_count() == count  # not unfrozen by eisfit
    finally:
        gc.unfreeze()
    gc.disable()
    try:
        with long_lived_objects():
            settle_long_lived()
            assert gc.get_freeze_count() == 0
    finally:
        gc.enable()
    assert theirs


def test_fit_campaign_leaves_the_collector_as_it_found_it(tmp_path):
    """The spectra and fits are frozen while the campaign runs (full collections skip them)
    and unfrozen when it returns, also when it fails."""
    import gc

    from eisfit.campaign import runner as campaign_runner

    seen = []
    original = campaign_runner.settle_long_lived

    def watch():
        original()
        seen.append(gc.get_freeze_count())

    campaign_runner.settle_long_lived = watch
    try:
        camp = eisfit.fit_campaign(_spectra(6), circuit=CIRCUIT, jobs=1, cache_dir=False, progress=False)
    finally:
        campaign_runner.settle_long_lived = original
    assert not camp.errors and seen and min(seen) > 0
    assert gc.get_freeze_count() == 0
    with pytest.raises(eisfit.EisfitError):
        eisfit.fit_campaign(tmp_path / "absent", circuit=CIRCUIT, cache_dir=False, progress=False)
    assert gc.get_freeze_count() == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start: Linux only")
def test_a_forked_worker_loads_no_module_in_its_first_fit(tmp_path):
    """What each worker's first fit would import by itself (numpy.ma through np.unique,
    threadpoolctl) is loaded once before the workers fork (workers.load_before_fork). Fails
    when a fit imports a module of its own on first use: load it there too."""
    script = tmp_path / "first_fit.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys
        import numpy as np
        import eisfit
        from eisfit.campaign.workers import load_before_fork
        from eisfit.fitting.batch import fit_chain
        from eisfit.model import Circuit
        load_before_fork()
        f = np.logspace(6, 0, 31)
        z = Circuit("{CIRCUIT}").impedance(np.array([10, 200, 2e-9, 0.9, 300, 2e-6, 0.8]), f)
        r, w = os.pipe()
        if os.fork() == 0:
            before = set(sys.modules)
            fit_chain([eisfit.Spectrum(f, z)] * 2, "{CIRCUIT}")  # what a worker's task runs
            os.write(w, " ".join(sorted(set(sys.modules) - before)).encode())
            os._exit(0)
        os.close(w)
        print("loaded:", os.read(r, 10000).decode())
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "loaded:", out.stdout


def _tasks_in_flight(monkeypatch) -> list[int]:
    """Chunks of two checkpoints; the list filled, each time the runner submits tasks, with how
    many it has submitted and not yet collected."""
    monkeypatch.setattr(runner, "chunk_size", lambda n: 2)
    in_flight: list[int] = []
    real_refill = runner._InFlight.refill

    def refill(self):
        real_refill(self)
        in_flight.append(len(self.pending))

    monkeypatch.setattr(runner._InFlight, "refill", refill)
    return in_flight


def test_the_campaigns_own_pool_is_given_one_task_more_than_its_workers_at_a_time(monkeypatch):
    """Fifteen tasks on two workers: at most three submitted and not yet collected at any
    moment (each task's payload made as it is submitted), every checkpoint fitted, the
    values those of the fits in this process (one batch there: the optimiser's tolerance)."""
    monkeypatch.setattr(runner, "task_size", lambda n, workers: 2)
    in_flight = _tasks_in_flight(monkeypatch)
    spectra = _spectra(30)
    camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, jobs=2, cache_dir=False, progress=False)
    assert max(in_flight) == 2 + runner.IN_FLIGHT_BEYOND_WORKERS and len(in_flight) == 1 + 15  # once per task ended
    assert not camp.errors and len(fitted_indices(camp.results)) == 30
    here = eisfit.fit_campaign(spectra, circuit=CIRCUIT, jobs=1, cache_dir=False, progress=False)
    np.testing.assert_allclose(camp.table["chisq"], here.table["chisq"], rtol=1e-6)
    np.testing.assert_allclose(camp.table["R2"], here.table["R2"], rtol=1e-4)


def test_work_for_an_idle_worker_runs_once_when_fewer_tasks_than_workers_are_left():
    calls = []
    hook = calls.append
    assert runner._when_core_free(None, 1, 2) is None
    assert runner._when_core_free(lambda: hook(1), 2, 2) is not None and not calls  # every worker busy
    assert runner._when_core_free(lambda: hook(1), 0, 2) is not None and not calls  # nothing left to wait for
    assert runner._when_core_free(lambda: hook(1), 1, 2) is None and calls == [1]


def test_a_parallel_campaign_loads_an_output_module_while_a_worker_idles(tmp_path, monkeypatch):
    """pandas without outputs; pyplot when the outputs (figures) follow: a rows file or ``out``."""
    calls = []
    monkeypatch.setattr("eisfit.campaign._output_module_loader", lambda figures: lambda: calls.append(figures))
    camp = eisfit.fit_campaign(_spectra(30), circuit=CIRCUIT, jobs=2, cache_dir=False, progress=False)
    assert calls == [False] and not camp.errors
    calls.clear()
    eisfit.fit_campaign(_spectra(30), circuit=CIRCUIT, jobs=2, cache_dir=False, progress=False,
                        rows_file=tmp_path / "rows.csv")
    assert calls == [True]
    calls.clear()
    eisfit.fit_campaign(_spectra(3), circuit=CIRCUIT, jobs=1, cache_dir=False, progress=False)
    assert calls == []  # no workers: nothing runs beside the fits


@pytest.mark.parametrize("figures", [False, True])
def test_the_output_module_loader_imports_pyplot_for_figures_else_pandas(figures):
    """Never both beside the workers: pandas (with pyarrow) is the larger one."""
    code = ("import sys; from eisfit.campaign import _output_module_loader; "
            "print('pandas' in sys.modules, 'matplotlib.pyplot' in sys.modules); "
            f"_output_module_loader({figures})(); "
            "print('pandas' in sys.modules, 'matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, MPLBACKEND="Agg"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", str(not figures), str(figures)]


def test_a_campaign_result_pickled_by_an_older_eisfit_still_builds_its_table():
    """Attributes added to CampaignResult since a result was pickled (kk_bands,
    circuit_choice...) take their defaults when it is loaded; one it no longer has
    (streamed_rows, up to session 56) is dropped."""
    import pickle

    camp = eisfit.fit_campaign(_spectra(4), circuit=CIRCUIT, cache_dir=False, progress=False)
    expected = camp.table.copy()
    state = dict(camp.__dict__)
    for newer in ("kk_bands", "circuit_choice", "_memo", "_table"):
        state.pop(newer)
    state["streamed_rows"] = {}  # what a result of session 56 or before held
    old = object.__new__(type(camp))
    old.__dict__.update(state)  # what an older version's pickle holds
    blob = pickle.dumps(old)
    loaded = pickle.loads(blob)
    assert not hasattr(loaded, "streamed_rows") and loaded.kk_bands is None and loaded.circuit_choice is None
    pd.testing.assert_frame_equal(loaded.table, expected)
    assert "R2" in loaded.report()


def test_a_cache_hit_parses_its_stored_fit_once_and_gives_the_same_table(tmp_path, monkeypatch):
    """Checking a cache entry parses its FitResult; the campaign takes that one (it had
    parsed every hit a second time: 0.4 s per 5,000 hits)."""
    from eisfit.fitting.result import FitResult

    spectra = _spectra(6)
    first = eisfit.fit_campaign(spectra, circuit=CIRCUIT, cache_dir=tmp_path / "cache", progress=False)
    parsed = []
    original = FitResult.from_dict.__func__
    monkeypatch.setattr(FitResult, "from_dict", classmethod(lambda cls, d: parsed.append(1) or original(cls, d)))
    again = eisfit.fit_campaign(spectra, circuit=CIRCUIT, cache_dir=tmp_path / "cache", progress=False)
    assert again.stats["cache_hits"] == 6 and len(parsed) == 6
    pd.testing.assert_frame_equal(again.table, first.table)


def test_an_executor_given_is_sent_one_task_more_than_it_runs_at_once(monkeypatch):
    """A pool of the caller's own (two processes) gets at most three of the fifteen tasks at a
    time, as the campaign's own pool; the values are those of the fits in this process."""
    from concurrent.futures import ProcessPoolExecutor

    in_flight = _tasks_in_flight(monkeypatch)
    spectra = _spectra(30)
    with ProcessPoolExecutor(max_workers=2) as pool:
        camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, executor=pool, cache_dir=False, progress=False)
    assert max(in_flight) == 2 + runner.IN_FLIGHT_BEYOND_WORKERS and len(in_flight) == 1 + 15
    assert not camp.errors and len(fitted_indices(camp.results)) == 30
    here = eisfit.fit_campaign(spectra, circuit=CIRCUIT, jobs=1, cache_dir=False, progress=False)
    np.testing.assert_allclose(camp.table["chisq"], here.table["chisq"], rtol=1e-6)


def test_how_many_tasks_an_executor_runs_at_once_is_asked_of_a_dask_client_and_of_a_pool():
    from concurrent.futures import ThreadPoolExecutor

    class Client:  # what a distributed.Client answers: threads per worker address
        def __init__(self, threads):
            self.threads = threads

        def nthreads(self):
            if self.threads is None:
                raise OSError("scheduler unreachable")
            return self.threads

    class ClientExecutor:  # distributed.cfexecutor.ClientExecutor keeps its client as _client
        def __init__(self, client):
            self._client = client

    assert runner._executor_slots(ClientExecutor(Client({"tcp://a": 2, "tcp://b": 3}))) == 5
    assert runner._executor_slots(ClientExecutor(Client({}))) == 0  # no worker yet: one task is still sent
    assert runner._executor_slots(ClientExecutor(Client(None))) is None
    with ThreadPoolExecutor(max_workers=3) as pool:
        assert runner._executor_slots(pool) == 3
    assert runner._executor_slots(object()) is None
    grows = Client({"tcp://a": 1})
    limit = runner._in_flight_limit(ClientExecutor(grows), workers=0)
    assert limit() == 1 + runner.IN_FLIGHT_BEYOND_WORKERS
    grows.threads = {"tcp://a": 1, "tcp://b": 4}  # a worker joined: asked again as tasks end
    assert limit() == 5 + runner.IN_FLIGHT_BEYOND_WORKERS
    assert runner._in_flight_limit(object(), workers=0)() == math.inf
    assert runner._in_flight_limit(object(), workers=2)() == 2 + runner.IN_FLIGHT_BEYOND_WORKERS


def test_a_dask_cluster_is_sent_one_task_more_than_its_worker_threads(monkeypatch):
    """A real distributed.LocalCluster of two single-thread workers: at most three tasks
    submitted and not yet collected, every checkpoint fitted."""
    distributed = pytest.importorskip("distributed")
    import warnings

    in_flight = _tasks_in_flight(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                                      host="127.0.0.1", dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            camp = eisfit.fit_campaign(_spectra(20), circuit=CIRCUIT, executor=client.get_executor(),
                                       cache_dir=False, progress=False)
    assert max(in_flight) == 2 + runner.IN_FLIGHT_BEYOND_WORKERS and len(in_flight) == 1 + 10
    assert not camp.errors and len(fitted_indices(camp.results)) == 20
