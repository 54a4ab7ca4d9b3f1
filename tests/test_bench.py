"""The benchmark's own helpers still run against the library (bench/bench_public.py is not
imported by the package, so nothing else notices when a change breaks it). No timing is
asserted here: the benchmark reports times, the tests only that its paths work."""
from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO.parent / "shared" / "bench" / "impedance_unit.py"


@pytest.fixture(scope="module")
def bench():
    if not UNIT.is_file():
        pytest.skip(f"{UNIT} is absent: the benchmark measures its unit with it")
    # its functions go to a worker by module name: importable there (a spawned worker
    # imports it from the path, a forked one has it)
    sys.path.insert(0, str(REPO / "bench"))
    try:
        spec = importlib.util.spec_from_file_location("bench_public", REPO / "bench" / "bench_public.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_public"] = module
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("bench_public", None)
        sys.path.remove(str(REPO / "bench"))


def test_campaign_cpu_is_measured_in_a_worker_set_up_as_the_campaign_s(bench):
    """The campaign path and the minimal LM of the ratio, both timed in that one worker, in
    alternate runs."""
    spectra = bench.synthesize(bench.hard_truths(4))
    paired = bench._campaign_cpu_in_worker(spectra)
    for cpu_s in (paired.campaign, paired.minimal):
        assert len(cpu_s) == bench.CPU_REPEATS and all(math.isfinite(t) and t > 0 for t in cpu_s)


def test_the_same_in_a_spawned_worker(bench, monkeypatch):
    monkeypatch.setattr("eisfit._processes.fork_is_safe", lambda: False)
    paired = bench._campaign_cpu_in_worker(bench.synthesize(bench.hard_truths(2)))
    assert min(paired.campaign) > 0 and min(paired.minimal) > 0


def test_the_cpu_ratio_is_the_median_of_the_ratios_of_alternate_runs(bench):
    """Each pair (a campaign run, then a minimal LM run) gives one ratio: a machine that slows
    down between two blocks of runs no longer skews it."""
    paired = bench.PairedCPU(campaign=(3.0, 9.0, 4.0), minimal=(1.0, 2.0, 0.5))  # ratios 3, 4.5, 8
    assert paired.describe(1000) == ("campaign path 4.00 ms [3.00-9.00], minimal batched LM (one start, no KK) "
                                     "1.00 ms [0.50-2.00]: ratio 4.5 [3.0-8.0]")


def test_cpu_measurements_are_medians_with_their_range(bench):
    """_cpu_seconds runs the function CPU_REPEATS times; _per_spectrum_ms gives the median per
    spectrum in ms with the range (the ratio's inputs)."""
    calls = []
    times = bench._cpu_seconds(lambda: calls.append(sum(range(10**5))))
    assert len(calls) == len(times) == bench.CPU_REPEATS and all(t >= 0 for t in times)
    assert bench._per_spectrum_ms([0.3, 0.1, 0.2], 100) == "2.00 ms [1.00-3.00]"


def test_the_rows_case_attributes_every_row_to_a_phase_and_restores_the_solver(bench, capsys):
    """--cases rows counts the campaign path's rows of normal equations by phase (the quick
    round and more) and leaves the solver's functions as they were."""
    import eisfit.fitting.solver as solver

    before = (solver.normal_equations_at, solver._run_starts, solver.BatchProblem.normal_equations)
    bench.case_rows(6)
    line, evaluations = capsys.readouterr().out.strip().splitlines()
    assert (solver.normal_equations_at, solver._run_starts, solver.BatchProblem.normal_equations) == before
    assert line.startswith("[rows] rows of normal equations per spectrum (6 hard spectra")
    assert "quick round" in line and "other" not in line
    ratio = float(line.rsplit("ratio ", 1)[1])
    assert ratio > 1
    # the campaign path makes more batched evaluations than one start's LM; its tails are among them
    found = re.search(r"campaign path (\d+), (\d+) of them .* minimal batched LM (\d+), (\d+) of them$", evaluations)
    campaign_all, campaign_tail, minimal_all, minimal_tail = (int(x) for x in found.groups())
    assert campaign_all > minimal_all > 0 and 0 <= campaign_tail <= campaign_all and minimal_tail <= minimal_all


def test_the_ablation_case_runs_each_setting_through_fit_campaign(bench, monkeypatch, capsys):
    """--cases ablation fits the same spectra once per setting of ABLATIONS, passing that
    setting's options to fit_campaign (its runs with the jobs workers and its CPU runs alike),
    and prints one line per setting with its counts out of the spectra fitted."""
    import eisfit

    monkeypatch.setattr(bench.impedance_unit, "measure_u", lambda: 0.1)  # u itself is not under test
    seen = []
    real = eisfit.fit_campaign

    def spy(spectra, **kwargs):
        seen.append({k: kwargs[k] for k in ("starts", "profile", "jobs") if k in kwargs})
        return real(spectra, **kwargs)

    monkeypatch.setattr(eisfit, "fit_campaign", spy)
    bench.case_ablation(4, 1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(" (", 1)[0] for line in lines] == [f"[ablation] {name}" for name, _ in bench.ABLATIONS]
    for line in lines:
        at_optimum, covered = (int(x) for x in re.findall(r"(\d+)/4", line))
        assert 0 <= at_optimum <= 4 and 0 <= covered <= 4
        assert float(re.search(r"([\d.]+)x the minimal", line).group(1)) > 0
    # the warm-up, then per setting ABLATION_REPEATS runs with the jobs workers and CPU_REPEATS CPU runs
    per_setting, runs_each = seen[1:], bench.CPU_REPEATS + bench.ABLATION_REPEATS
    assert len(per_setting) == len(bench.ABLATIONS) * runs_each
    for k, (_, options) in enumerate(bench.ABLATIONS):
        runs = per_setting[k * runs_each:(k + 1) * runs_each]
        assert all({n: v for n, v in run.items() if n != "jobs"} == options for run in runs)


def test_paired_timings_divide_each_run_by_the_u_measured_around_it(bench, monkeypatch):
    """Each run's wall time over the mean of the u measured just before and after it: a
    machine that slows down during a case leaves the ratios as they were."""
    units = iter([0.2, 0.2, 0.4, 0.4])  # u doubles between the two runs
    monkeypatch.setattr(bench.impedance_unit, "measure_u", lambda: next(units))
    walls = iter([1.0, 2.0])  # and so does the run
    timed = bench._paired(lambda: next(walls), 2)
    assert timed.ratios == pytest.approx([5.0, 5.0])
    assert timed.describe() == ("5.0 u (median of 2 runs, each in the u measured around it: 5.0-5.0 u; "
                                "u 200-400 ms) = 1.50 s")


def test_a_watched_command_reports_each_process_s_own_peak(bench):
    """The memory case's watcher: the peak summed over the processes, each process's RSS at
    that moment, and each one's own peak (the command's process under 0), all seen in the
    same reads of /proc."""
    split: dict[int, tuple[int, int]] = {}
    own: dict[int, int] = {}
    wall, (rss, pss) = bench._watched_cli(["--version"], split, own)
    assert wall > 0 and rss >= pss > 0
    assert 0 in own and own[0] >= max(r for r, _ in split.values()) > 10 * 2**20  # a Python process
    assert rss == sum(r for r, _ in split.values())


def test_the_defaults_case_runs_the_commands_a_user_runs_without_options(bench, monkeypatch, capsys):
    """--cases defaults: the campaign command without --jobs and with --jobs 1, then eisfit fit
    on some of the files (--jobs auto and 1), eisfit fit --circuit auto on fewer (auto and 1), and
    the same spectra through fit_batch and eisfit.fit in this process; a line each."""
    monkeypatch.setattr(bench.impedance_unit, "measure_u", lambda: 0.1)  # u itself is not under test
    commands = []
    monkeypatch.setattr(bench, "_timed_cli", lambda args: commands.append(list(args)) or 1.0)
    monkeypatch.setattr(bench, "_watched_cli", lambda args, *rest: (1.0, (1, 1)))
    bench.case_defaults(6, 3, 2)
    campaigns = [c for c in commands if c[0] == "campaign"]
    fits = [c for c in commands if c[0] == "fit" and "auto" not in c[c.index("--circuit") + 1]]
    chosen = [c for c in commands if c[0] == "fit" and c[c.index("--circuit") + 1] == "auto"]
    assert len(campaigns) == 2 * bench.REPEATS and len(fits) == 2 * bench.REPEATS and len(chosen) == 2
    assert sum("--jobs" not in c for c in campaigns) == bench.REPEATS  # the default: --jobs auto
    assert sum(c[c.index("--jobs") + 1] == "1" for c in campaigns if "--jobs" in c) == bench.REPEATS
    for runs in (fits, chosen):
        assert sorted({c[c.index("--jobs") + 1] for c in runs}) == ["1", "auto"]
    assert len([a for a in fits[0] if a.endswith(".csv")]) == 3
    assert len([a for a in chosen[0] if a.endswith(".csv")]) == 2
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[defaults]")]
    assert len(lines) == 7 and "fit_batch 64 at a time" in lines[6] and "eisfit.fit one by one" in lines[6]


def test_the_instrument_memory_case_writes_files_with_an_instrument_s_columns(bench, tmp_path):
    """``memory-instrument``'s files: the three impedance columns read as before, the others
    kept by the reader as the spectrum's per-point columns (what a campaign then drops)."""
    import eisfit

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    plain = bench._csv_folder(str(tmp_path / "a"), 2)
    wide = bench._csv_folder(str(tmp_path / "b"), 2, instrument_columns=True)
    (a,), (b,) = eisfit.read(sorted(plain.iterdir())[0]), eisfit.read(sorted(wide.iterdir())[0])
    assert list(a.columns) == [] and list(b.columns) == list(bench.INSTRUMENT_COLUMNS)
    assert (a.frequency == b.frequency).all() and (a.z == b.z).all()


def test_the_memory_case_takes_the_sizes_in_turn_and_reports_each_size_s_median(bench, monkeypatch, capsys):
    """--memory-repeat 3: 1,000 and 10,000 files run in turn (1k, 10k, 1k, 10k, 1k, 10k), each
    size's median peak and range printed, the growth read from the medians."""
    order = []
    peaks = {1000: iter([300, 340, 310]), 10000: iter([390, 350, 360])}  # MB, in run order

    def csv_folder(tmp, n, instrument_columns=False):
        return Path(tmp) / f"csv{n}"

    def watched(args, split, own):
        n = int(args[1].rsplit("csv", 1)[1])
        order.append(n)
        split[1] = (next(peaks[n]) * 2**20, 1)
        own[0] = split[1][0]
        return 1.0, (split[1][0], 1)

    monkeypatch.setattr(bench, "_csv_folder", csv_folder)
    monkeypatch.setattr(bench, "_watched_cli", watched)
    bench.case_memory([10000, 1000], jobs=2, repeat=3)
    assert order == [1000, 10000] * 3
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[memory]")]
    assert "1000 CSV files: peak summed RSS 310 MB (median of 3 runs, range 300-340 MB)" in lines[0]
    assert "10000 CSV files: peak summed RSS 360 MB (median of 3 runs, range 350-390 MB)" in lines[1]
    assert lines[2].startswith("[memory] growth 6 KB of summed RSS per spectrum (1000 to 10000 files, from the medians)")


def test_a_campaign_command_s_phases_are_read_from_its_report(bench, tmp_path):
    """The cli case's split of a run's wall time: the phases of report.md's wall-time line
    (written by a real campaign), and their medians over the runs, each in its run's u,
    with what the command spent outside them."""
    import eisfit
    from eisfit.campaign.report import WALL_TIME_PHASES

    assert bench._report_phases(tmp_path) is None  # no report
    eisfit.fit_campaign(REPO / "sample_data" / "garnet_campaign" / "campaign.toml", cache_dir=False, progress=False,
                        out=tmp_path)
    phases = bench._report_phases(tmp_path)
    assert list(phases) == list(WALL_TIME_PHASES) and all(v >= 0 for v in phases.values())
    assert phases["tables, figures and reports"] > 0
    (tmp_path / "report.md").write_text("Fits run: 3, cache hits: 0, wall time 2.0 s in all.\n", encoding="utf-8")
    assert bench._report_phases(tmp_path) is None  # an earlier eisfit's line: no phases
    runs = (dict(zip(WALL_TIME_PHASES, (1.0, 4.0, 0.0, 2.0))), None, dict(zip(WALL_TIME_PHASES, (2.0, 6.0, 0.2, 2.0))))
    timed = bench.Paired(walls=(8.0, 9.0, 11.0), units=(0.5, 0.5, 1.0), phases=runs)
    assert timed.describe_phases() == ("reading 2.0 u, fitting 7.0 u, assembling 0.1 u, tables, figures and reports "
                                       "3.0 u, starting and ending the command 1.4 u")
    assert bench.Paired(walls=(1.0,), units=(0.5,)).describe_phases() == ""
