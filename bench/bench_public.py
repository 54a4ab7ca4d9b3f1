"""Speed of eisfit's public paths, in u, side by side with impedance.py in one process.

    python bench/bench_public.py                        # every case, default sizes
    python bench/bench_public.py --cases fit campaign --campaign-n 1000
    python bench/bench_public.py --cases cli --cli-n 5000

u = one impedance.py ``CustomCircuit.fit`` of the 51-point unit spectrum from a good guess,
measured in this run by ``../shared/bench/impedance_unit.py`` before each case, and again
after it to show how far u drifted meanwhile (150-600 ms on the 2-core development machine,
depending on its load; up to 320-510 ms within one run). Every time below is quoted in u,
which cancels much of the machine's noise, and in seconds; ratios > 1 mean eisfit is faster.

Cases:
  fit       ``eisfit.fit`` on the unit spectrum: from the same good guess (``starts=1``) and
            with no guess; full results (stderr, derived quantities, Lin-KK computed in each
            repeat, as for a new spectrum).
  start     single-start fits from a good guess (1.3x the true R and Q, true n) on hard
            spectra: how often ``eisfit.fit(initial=..., starts=1)`` and scipy
            ``least_squares`` (TRF, same residuals, same start) reach the optimum.
  campaign  ``eisfit.fit_campaign(list of N hard spectra, jobs=2)``: time in u (the median
            of ``CAMPAIGN_REPEATS`` runs, each divided by the mean of the u measured just
            before and just after it; their range beside it), share at
            the optimum (reference: a fit polished from the true parameters), R2 with a
            finite standard error in the table (and R2 flagged unresolved, left empty
            there); and the CPU per spectrum of the campaign path against a
            minimal batched LM (one start from the data guess, no KK, no statistics), in
            this process (a notebook's ``jobs=1``) and in a worker process set up as
            eisfit's own workers are (its allocator tuned: what ``jobs >= 2`` and the
            ``eisfit`` command run): ``CPU_REPEATS`` pairs of alternate runs of the two,
            each pair one ratio; the medians of the CPU figures and of the ratios, their
            ranges beside them.
  rows      where that CPU goes, counted (no timing): rows of normal equations per spectrum
            (one start at one LM iteration) in each phase of ``fit_campaign(jobs=1)`` on N hard
            spectra (quick round, escalation, profile walks, extra rounds...), against the
            minimal batched LM's; and the batched LM evaluations, with those of at most
            ``TAIL_ROWS`` rows (the rounds' and walks' tails, each at a fixed cost).
  ablation  what the campaign path's robustness costs and buys: ``fit_campaign`` on N hard
            spectra with its defaults, without the profile walks (``profile=False``), without
            the adaptive escalation (``starts=3``), without both, and with one start and no
            walks; for each the CPU per spectrum with ``jobs=1`` (median of ``CPU_REPEATS``
            runs) and its ratio to the minimal batched LM of the ``campaign`` case, the time of
            ``jobs=2`` in u (median of ``ABLATION_REPEATS`` runs, each in the u measured around
            it), the share at the optimum and the R2 within 3 reported stderr of the true R2.
  grids     ``eisfit.fit_campaign(list of N hard spectra, jobs=2)`` with every spectrum on its
            own frequencies (each point's grid value times 1 + 1e-4 x a normal deviate, as an
            instrument that logs its measured frequencies writes them), the same spectra on
            one grid, those with 0-7 of their highest points dropped, and the spectra on one
            grid as cells of 10 checkpoints (one seeded chain each): time in u of each.
  families  ``eisfit.fit`` (no guess, defaults) on 10 spectra of each circuit family of
            ``scripts/robustness.py --family``: mean time per fit in u (issue 13: <= 0.4 u).
  suggest   ``eisfit.suggest_circuit`` on spectra of the eight families of
            ``scripts/suggest_score.py``: mean time per spectrum in u (issue 16: <= 5 u).
  cli       ``eisfit campaign FOLDER --jobs 2`` on N single-spectrum CSV files, figures and
            all, as a user runs it first (its result cache written into a new out folder), and
            the same with ``--no-cache``: wall time in u (the median of ``REPEATS`` runs with
            nothing else running, each divided by the u measured around it) and
            the peak memory summed over the process and its workers (RSS, and PSS, which
            counts the pages forked processes share once) from another run, watched every
            20 ms;
            and one EC-Lab-style text table holding 261 sweeps of
            R0-p(R1,CPE1)-p(R2,CPE2)-CPE3 through the CLI.
  auto      the same 261-sweep table through ``eisfit campaign --circuit auto`` (one circuit
            chosen for the whole campaign first).
  drt       the same table through ``eisfit campaign --drt`` (its circuit given): a DRT of
            every checkpoint, its peaks tracked, on the workers with the fits.
  defaults  what a user who gives no option gets: ``eisfit campaign FOLDER`` (``--jobs auto``)
            and with ``--jobs 1`` on ``--defaults-n`` CSV files (``--no-cache``); ``eisfit fit``
            on ``--defaults-fit-n`` of them (fitted 64 at a time; its ``--jobs`` auto and 1)
            against the same spectra fitted one by one with ``eisfit.fit`` in this process; and
            ``eisfit fit --circuit auto`` on ``--defaults-auto-n`` of them (a circuit chosen for
            each; ``--jobs`` auto, the default, and 1).
  memory    (not run by default: ~2 min) ``eisfit campaign FOLDER --jobs 2 --no-cache`` on
            ``--memory-n`` single-spectrum CSV files each (default 1,000, 5,000 and 10,000): the
            peak of the summed RSS, each process's RSS and private memory at that moment, and the
            growth per spectrum between the smallest and largest folder; ``--memory-repeat R``:
            R runs of each size in turn, the median peak and the range.
  memory-instrument  (not run by default) the same on CSV files that also hold the per-point
            columns an EC-Lab sweep exported as text holds (``INSTRUMENT_COLUMNS``: time, Ewe,
            I, ..., the noise-to-signal ratios), the kind of file an instrument writes.

Hard spectra: R0-p(R1,CPE1)-p(R2,CPE2), R1 and R2 over 3 decades, arcs 0.7-4 decades apart,
51 points 10 MHz-100 Hz, 0.5 % complex noise, from a fixed seed.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

warnings.filterwarnings("ignore")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "shared" / "bench"))
import impedance_unit  # noqa: E402  (../shared/bench)

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
NAMES = impedance_unit.NAMES
FREQ = np.logspace(7, 2, 51)
REPEATS = 3  # timed runs of the CLI cases: the median is reported (one run varied ~15 %)


# --------------------------------------------------------------------------- data
def hard_truths(n: int, seed: int = 12) -> list[dict[str, float]]:
    """True parameters of n hard spectra (see the module docstring)."""
    rng = np.random.default_rng(seed)
    tau_lo, tau_hi = 1 / (2 * np.pi * FREQ[0]), 1 / (2 * np.pi * FREQ[-1])
    out = []
    for _ in range(n):
        sep = rng.uniform(0.7, 4.0)
        span = np.log10(tau_hi / tau_lo) - sep
        tau1 = tau_lo * 10 ** rng.uniform(0.3, max(span - 0.3, 0.31))
        tau2 = tau1 * 10**sep
        r2 = 10 ** rng.uniform(1.0, 4.0)
        r1 = 10 ** rng.uniform(1.0, 4.0)
        n1, n2 = rng.uniform(0.7, 0.97, size=2)
        out.append({"R0": 10 ** rng.uniform(0.5, 1.5), "R1": r1, "CPE1_0": tau1**n1 / r1, "CPE1_1": n1,
                    "R2": r2, "CPE2_0": tau2**n2 / r2, "CPE2_1": n2})
    return out


def synthesize(truths, circuit=CIRCUIT, freq=FREQ, seed: int = 5, noise: float = 0.005):
    from eisfit import Spectrum
    from eisfit.model import Circuit

    circ = Circuit(circuit)
    rng = np.random.default_rng(seed)
    p = np.array([[t[n] for n in circ.param_names] for t in truths])
    z = circ.impedance(p, freq)
    z = z + noise * np.abs(z) * (rng.standard_normal(z.shape) + 1j * rng.standard_normal(z.shape)) / np.sqrt(2)
    return [Spectrum(frequency=freq, z=zi, meta={"label": f"s{k:05d}"}) for k, zi in enumerate(z)]


def good_guess(t: dict[str, float]) -> dict[str, float]:
    return {k: (v if k.endswith("_1") else 1.3 * v) for k, v in t.items()}


def modulus_chisq(s, values, circuit=CIRCUIT) -> float:
    from eisfit.model import Circuit

    c = Circuit(circuit)
    zm = c.impedance(np.array([values[n] for n in c.param_names]), s.frequency)
    return float(np.sum(np.abs(s.z - zm) ** 2 / np.abs(s.z) ** 2))


def reference_chisq(spectra, truths) -> np.ndarray:
    """Chi-square of a fit polished from the true parameters (the optimum to reach)."""
    import eisfit

    return np.array([eisfit.fit(s, CIRCUIT, initial=t, starts=1, kk=False, profile=False).chisq
                     for s, t in zip(spectra, truths)])


# --------------------------------------------------------------------------- cases
def case_fit(u: float, repeat: int) -> None:
    import eisfit
    from impedance.models.circuits import CustomCircuit

    f, z, p = impedance_unit.spectrum()
    s = eisfit.Spectrum(frequency=f, z=z)
    guess = good_guess(p)
    from eisfit.fitting import solver

    eisfit.fit(s, CIRCUIT)  # warm-up (imports, circuit parsing)

    def fresh(**kw):  # as for a spectrum never fitted before: the Lin-KK test is computed again
        solver._KK_MEMORY.clear()  # (fitting one spectrum several times reuses it)
        return eisfit.fit(s, CIRCUIT, **kw)

    t_good = _median(lambda: fresh(initial=guess, starts=1), repeat)
    t_auto = _median(lambda: fresh(), repeat)
    good, auto = eisfit.fit(s, CIRCUIT, initial=guess, starts=1), eisfit.fit(s, CIRCUIT)
    cc = CustomCircuit(CIRCUIT, initial_guess=[guess[n] for n in NAMES]).fit(f, z)
    imp_chisq = modulus_chisq(s, dict(zip(NAMES, cc.parameters_)))
    print(f"[fit] eisfit.fit from the good guess: {t_good / u:.3f} u ({u / t_good:.1f}x faster than one "
          f"impedance.py fit), chisq {good.chisq:.6e} (impedance.py {imp_chisq:.6e})")
    print(f"[fit] eisfit.fit with no guess:        {t_auto / u:.3f} u, chisq {auto.chisq:.6e}, "
          f"{auto.n_starts} starts, won by {auto.start_won}")


def case_start(n: int) -> None:
    import eisfit
    from scipy.optimize import least_squares

    from eisfit.model import Circuit

    truths = hard_truths(n, seed=21)
    spectra = synthesize(truths, seed=22)
    ref = reference_chisq(spectra, truths)
    circ = Circuit(CIRCUIT)
    ok_eis = ok_trf = 0
    for s, t, r in zip(spectra, truths, ref):
        g = good_guess(t)
        res = eisfit.fit(s, CIRCUIT, initial=g, starts=1, kk=False, profile=False)
        ok_eis += res.chisq <= 1.01 * r
        log_mask = np.array([not k.endswith("_1") for k in NAMES])
        x0 = np.where(log_mask, np.log([g[k] for k in NAMES]), [g[k] for k in NAMES])

        def resid(x, s=s):
            p = np.where(log_mask, np.exp(np.clip(x, -700, 700)), x)
            zm = circ.impedance(p, s.frequency)
            d = (s.z - zm) / np.abs(s.z)
            return np.concatenate([d.real, d.imag])

        lo = np.where(log_mask, -np.inf, 0.0)
        hi = np.where(log_mask, np.inf, 1.0)
        sol = least_squares(resid, np.clip(x0, lo + 1e-12, hi - 1e-12), bounds=(lo, hi), method="trf",
                            x_scale="jac", max_nfev=2000)
        ok_trf += float(np.sum(sol.fun**2)) <= 1.01 * r
    print(f"[start] single start from a good guess on {n} hard spectra: eisfit {ok_eis}/{n} at the optimum, "
          f"scipy least_squares TRF {ok_trf}/{n}")


def case_campaign(n: int, jobs: int) -> None:
    import eisfit

    truths = hard_truths(n)
    spectra = synthesize(truths)
    eisfit.fit_campaign(spectra[:3], circuit=CIRCUIT, cache_dir=False, progress=False)  # warm-up
    kept = {}

    def run() -> float:  # one run read anywhere from 1.2 to 1.45 s on a quiet machine
        t0 = time.perf_counter()
        kept["campaign"] = eisfit.fit_campaign(spectra, circuit=CIRCUIT, jobs=jobs, cache_dir=False, progress=False)
        return time.perf_counter() - t0

    timed = _paired(run, CAMPAIGN_REPEATS)
    camp, wall = kept["campaign"], statistics.median(timed.walls)
    ref = reference_chisq(spectra, truths)
    chisq = camp.table["chisq"].to_numpy(float)
    at_opt = int(np.sum(chisq <= 1.01 * ref))
    finite = int(np.sum(np.isfinite(camp.table["R2_stderr"].to_numpy(float))))
    # an R2 flagged unresolved (an arc of < 1 % of |Z| beside a large one runs away) is left
    # empty in the table: no headline value, no stderr
    unresolved = sum("unresolved:R2" in r.flags for r in camp.results if r is not None)
    # an R2 whose profile is open upwards at 3 sigma has no stderr (flag profile-open): the data
    # bound it below only, and it reads as that bound
    bounded_below = sum("profile-open:R2" in r.flags for r in camp.results if r is not None)
    print(f"[campaign] fit_campaign({n} hard spectra, jobs={jobs}): {timed.describe()} "
          f"({n / wall:.0f} spectra/s); at the optimum {at_opt}/{n} ({100 * at_opt / n:.1f} %); "
          f"R2 with a finite stderr {finite}/{n}, flagged unresolved (left empty) {unresolved}/{n}, "
          f"bounded below only (profile-open, no stderr) {bounded_below}/{n}")
    # CPU per spectrum: the campaign path vs a minimal batched LM, run alternately (CPU_REPEATS
    # pairs): the machine's speed drifts from minute to minute (the minimal LM alone read 0.34 to
    # 0.78 ms per spectrum in one day), so each pair gives a ratio and the median ratio is reported
    m = min(n, 300)
    here = _paired_cpu(spectra[:m])
    print(f"[campaign] CPU per spectrum (jobs=1, {m} spectra; {CPU_REPEATS} pairs run alternately, medians, range "
          f"in brackets): {here.describe(m)}")
    print(f"[campaign] CPU per spectrum in an eisfit worker process (what jobs >= 2 and the eisfit command "
          f"run): {_campaign_cpu_in_worker(spectra[:m]).describe(m)}")


@dataclass(frozen=True)
class PairedCPU:
    """CPU seconds of the campaign path and of the minimal batched LM, run alternately."""

    campaign: tuple[float, ...]
    minimal: tuple[float, ...]

    def describe(self, m: int) -> str:
        ratios = [c / mn for c, mn in zip(self.campaign, self.minimal)]
        return (f"campaign path {_per_spectrum_ms(list(self.campaign), m)}, minimal batched LM (one start, no KK) "
                f"{_per_spectrum_ms(list(self.minimal), m)}: ratio {statistics.median(ratios):.1f} "
                f"[{min(ratios):.1f}-{max(ratios):.1f}]")


def _paired_cpu(spectra) -> PairedCPU:
    """:class:`PairedCPU` of ``fit_campaign(spectra, jobs=1)`` and :func:`_minimal_lm` on the
    same spectra, ``CPU_REPEATS`` pairs in this process."""
    preps = _minimal_preps(spectra)
    _minimal_lm(preps)  # warm-up of both
    _campaign_cpu(spectra[:3])
    pairs = [(_campaign_cpu(spectra), _cpu_seconds(lambda: _minimal_lm(preps), 1)[0]) for _ in range(CPU_REPEATS)]
    return PairedCPU(tuple(c for c, _ in pairs), tuple(mn for _, mn in pairs))


CPU_REPEATS = 5  # pairs of runs of the CPU ratio (runs of the ablation's CPU figures): medians are reported
CAMPAIGN_REPEATS = 5  # timed runs of the campaign case, each between two measurements of u


@dataclass(frozen=True)
class Paired:
    """Timed runs, each divided by the mean of the u measured just before and just after
    it: this machine's speed drifts by tens of % within a case (u moved -27 % to +50 %
    during cases of one run in session 30), which one u per case does not cancel."""

    walls: tuple[float, ...]  # s
    units: tuple[float, ...]  # s, the u around each run
    phases: tuple[dict[str, float] | None, ...] = ()  # a campaign command's phases in each run (_report_phases)

    @property
    def ratios(self) -> list[float]:
        return [w / v for w, v in zip(self.walls, self.units)]

    def describe_phases(self) -> str:
        """'reading 10.1 u, fitting 52.3 u, assembling 1.1 u, tables, figures and reports 14.0 u,
        starting and ending the command 3.0 u': medians over the runs whose report gave its
        phases, each run's in the u around it; "" when none did."""
        from eisfit.campaign.report import WALL_TIME_PHASES

        runs = [(p, w, u) for p, w, u in zip(self.phases, self.walls, self.units) if p]
        if not runs:
            return ""
        parts = [f"{name} {statistics.median(p[name] / u for p, _, u in runs):.1f} u" for name in WALL_TIME_PHASES]
        rest = statistics.median((w - sum(p.values())) / u for p, w, u in runs)
        return ", ".join(parts + [f"starting and ending the command {rest:.1f} u"])

    def describe(self) -> str:
        """'7.4 u (median of 5 runs, each in the u measured around it: 7.0-7.8 u; u 215-236 ms) = 1.64 s'."""
        r = self.ratios
        return (f"{statistics.median(r):.1f} u (median of {len(r)} runs, each in the u measured around it: "
                f"{min(r):.1f}-{max(r):.1f} u; u {1e3 * min(self.units):.0f}-{1e3 * max(self.units):.0f} ms) = "
                f"{statistics.median(self.walls):.2f} s")


def _report_phases(out: Path) -> dict[str, float] | None:
    """The phases of a campaign command's wall time (s, to 0.01 or 0.1 s) as the report.md it wrote
    into ``out`` gives them (:func:`eisfit.campaign.report.wall_time_phases`); None without
    that report or line."""
    from eisfit.campaign.report import WALL_TIME_PHASES

    try:
        text = (out / "report.md").read_text(encoding="utf-8")
    except OSError:
        return None
    line = next((line for line in text.splitlines() if "wall time" in line and " in all (" in line), "")
    times = re.findall("(" + "|".join(map(re.escape, WALL_TIME_PHASES)) + r") ([0-9.]+) s", line)
    found = {name: float(seconds) for name, seconds in times}
    return found if set(found) == set(WALL_TIME_PHASES) else None


def _paired(run, repeats: int) -> Paired:
    """``repeats`` runs of ``run()`` (which returns its wall time, s), each between two
    measurements of u."""
    walls, units = [], []
    for _ in range(repeats):
        u_before = impedance_unit.measure_u()
        walls.append(run())
        units.append((u_before + impedance_unit.measure_u()) / 2)
    return Paired(tuple(walls), tuple(units))


def _cpu_seconds(fn, repeat: int = CPU_REPEATS) -> list[float]:
    """CPU seconds (this process) of ``repeat`` runs of ``fn()``."""
    times = []
    for _ in range(repeat):
        c0 = time.process_time()
        fn()
        times.append(time.process_time() - c0)
    return times


def _per_spectrum_ms(seconds: list[float], m: int) -> str:
    """The median of ``seconds`` per spectrum, in ms, with the range."""
    return (f"{1e3 * statistics.median(seconds) / m:.2f} ms "
            f"[{1e3 * min(seconds) / m:.2f}-{1e3 * max(seconds) / m:.2f}]")


def _minimal_lm(preps) -> None:
    """One start per spectrum (the data guess; the spectra share one grid) through the
    batched LM: the polish and its continuation, nothing else (no Lin-KK, escalation,
    repair round or statistics)."""
    from eisfit.fitting.solver import BatchProblem, _continue_unfinished, _run_starts

    sol = _run_starts(BatchProblem.of(preps), preps, [[0]] * len(preps))
    _continue_unfinished(preps, sol)


def _campaign_cpu_in_worker(spectra) -> PairedCPU:
    """:func:`_paired_cpu` inside one worker process set up as the campaign's own workers are
    (eisfit._processes.owned_pool with eisfit.campaign.workers.init_worker, what
    eisfit.fit_campaign starts: its allocator keeps freed memory, which makes large batches
    cheaper than in this process)."""
    from eisfit._processes import owned_pool
    from eisfit.campaign.workers import init_worker

    with owned_pool(1, setup=init_worker) as pool:
        return pool.submit(_paired_cpu, spectra).result()


def _minimal_cpu(spectra) -> list[float]:
    """CPU seconds of ``CPU_REPEATS`` runs of :func:`_minimal_lm` on ``spectra`` (prepared once)."""
    preps = _minimal_preps(spectra)
    return _cpu_seconds(lambda: _minimal_lm(preps))


def _minimal_preps(spectra) -> list:
    """The spectra prepared as single-start fits of the headline circuit (the data guess)."""
    from eisfit.fitting.engine import _prepare

    return [_prepare(s, CIRCUIT, area_cm2=None, thickness_cm=None, symmetric=True, weighting="modulus",
                     sigma=None, fmin=None, fmax=None, drop_inductive="auto", initial=None, fixed=None,
                     bounds=None, expr=None, starts=1, engine="fast") for s in spectra]


def _campaign_cpu(spectra) -> float:
    import eisfit

    c0 = time.process_time()
    eisfit.fit_campaign(spectra, circuit=CIRCUIT, jobs=1, cache_dir=False, progress=False)
    return time.process_time() - c0


TAIL_ROWS = 8  # a batched LM evaluation of this many rows or fewer is a round's tail (see case_rows)


def case_rows(n: int) -> None:
    """Where the campaign path's CPU goes, counted (deterministic, no timing): rows of
    normal equations per spectrum (one row: model, Jacobian and J^T J of one start at one
    LM iteration) in each phase of fit_campaign(jobs=1) on ``n`` hard spectra, against the
    minimal batched LM of the CPU ratio. The phase is read from the solver's call stack.

    Then the batched LM evaluations (the calls of the batched normal equations: an LM
    iteration of a running batch, or the first evaluation of starts joining it, whatever
    their rows) and those of at most ``TAIL_ROWS`` rows: the tails, where a round or a walk
    waits for its last few fits. An evaluation has a fixed cost that its rows do not spread (an
    iteration of one row took 0.21 ms in session 53, about 50 rows' worth), so the tails
    are CPU that neither the rows nor the spectra count."""
    import eisfit
    import eisfit.fitting.solver as solver

    spectra = synthesize(hard_truths(n))
    rows: dict[str, int] = {}
    counted = solver.normal_equations_at
    run_starts = solver._run_starts
    evaluate = solver.BatchProblem.normal_equations
    evaluations = {"all": 0, "tail": 0}
    round_of_call = {"n": 0}

    def numbered_run_starts(*args, **kwargs):  # 1st call of a grid's solve: the quick round
        round_of_call["n"] += 1
        return run_starts(*args, **kwargs)

    def counting(circuit, frequency, p_full, *args, **kwargs):
        phase = _solver_phase(sys._getframe(1), round_of_call["n"])
        rows[phase] = rows.get(phase, 0) + p_full.shape[0]
        return counted(circuit, frequency, p_full, *args, **kwargs)

    def counting_evaluations(self, theta, idx):
        evaluations["all"] += 1
        evaluations["tail"] += theta.shape[0] <= TAIL_ROWS
        return evaluate(self, theta, idx)

    solver.normal_equations_at, solver._run_starts = counting, numbered_run_starts
    solver.BatchProblem.normal_equations = counting_evaluations
    try:
        eisfit.fit_campaign(spectra, circuit=CIRCUIT, jobs=1, cache_dir=False, progress=False)
        campaign, campaign_evaluations = dict(rows), dict(evaluations)
        rows.clear()
        evaluations.update(all=0, tail=0)
        _minimal_lm(_minimal_preps(spectra))
        minimal, minimal_evaluations = sum(rows.values()), dict(evaluations)
    finally:
        solver.normal_equations_at, solver._run_starts = counted, run_starts
        solver.BatchProblem.normal_equations = evaluate
    total = sum(campaign.values())
    parts = ", ".join(f"{k} {v / n:.0f}" for k, v in sorted(campaign.items(), key=lambda kv: -kv[1]))
    print(f"[rows] rows of normal equations per spectrum ({n} hard spectra, jobs=1): campaign path "
          f"{total / n:.0f} ({parts}); minimal batched LM {minimal / n:.0f}: ratio {total / minimal:.1f}")
    print(f"[rows] batched LM evaluations ({n} hard spectra, the same runs): campaign path "
          f"{campaign_evaluations['all']}, {campaign_evaluations['tail']} of them of at most {TAIL_ROWS} rows; "
          f"minimal batched LM {minimal_evaluations['all']}, {minimal_evaluations['tail']} of them")


ABLATION_REPEATS = 3  # timed runs of each setting with jobs workers: the median is reported
ABLATIONS = (("defaults", {}), ("no profile walks", {"profile": False}), ("no escalation", {"starts": 3}),
             ("neither", {"starts": 3, "profile": False}), ("one start, no walks", {"starts": 1, "profile": False}))


def case_ablation(n: int, jobs: int) -> None:
    """The campaign path with parts of its robustness turned off (:data:`ABLATIONS`): CPU per
    spectrum (``jobs=1``) and its ratio to the minimal batched LM, time of ``jobs`` workers in
    u, the share at the optimum (a fit polished from the true parameters) and of R2 within 3
    reported stderr of the true R2 (one flagged ``profile-open``: from its 3-sigma lower bound
    up, :func:`eisfit.fitting.robustness.truth_within_3sigma`; an R2 left empty as unresolved
    counts as not within)."""
    import eisfit
    from eisfit.fitting.robustness import truth_within_3sigma

    truths = hard_truths(n)
    spectra = synthesize(truths)
    ref = reference_chisq(spectra, truths)
    true_r2 = np.array([t["R2"] for t in truths])
    eisfit.fit_campaign(spectra[:3], circuit=CIRCUIT, cache_dir=False, progress=False)  # warm-up
    minimal = statistics.median(_minimal_cpu(spectra)) / n
    for name, options in ABLATIONS:
        kept = {}

        def run(workers: int) -> float:
            t0 = time.perf_counter()
            kept["campaign"] = eisfit.fit_campaign(spectra, circuit=CIRCUIT, jobs=workers, cache_dir=False,
                                                   progress=False, **options)
            return time.perf_counter() - t0

        timed = _paired(lambda: run(jobs), ABLATION_REPEATS)  # first, as in the campaign case
        cpu = _cpu_seconds(lambda: run(1))
        table = kept["campaign"].table
        at_opt = int(np.sum(table["chisq"].to_numpy(float) <= 1.01 * ref))
        covered = sum(r is not None and "unresolved:R2" not in r.flags and truth_within_3sigma(r, "R2", t)
                      for r, t in zip(kept["campaign"].results, true_r2))
        print(f"[ablation] {name} ({', '.join(f'{k}={v}' for k, v in options.items()) or 'the defaults'}): CPU "
              f"{_per_spectrum_ms(cpu, n)} per spectrum, {statistics.median(cpu) / n / minimal:.1f}x the minimal "
              f"batched LM ({1e3 * minimal:.2f} ms); jobs={jobs} {timed.describe()}; "
              f"at the optimum {at_opt}/{n}; R2 within 3 stderr of the truth {covered}/{n}", flush=True)


_PHASES = (("_walk_grid", "profile walks"), ("_run_extra_starts", "extra rounds"),
           ("_continue_unfinished", "continuation"), ("polish_from", "continuation"),
           ("start_costs", "seed costs"), ("_covariances", "covariance"))


def _solver_phase(frame, n_run_starts: int) -> str:
    """The phase of a normal-equations call, from the function names on its stack."""
    names = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    for name, phase in _PHASES:
        if name in names:
            return phase
    if "numbered_run_starts" in names and n_run_starts == 1:
        return "quick round"
    if "_solve_grid" in names:  # rounds 2 and 3, the order round
        return "escalation"
    if "fit_chain" in names:  # the chain's seeded fits, streamed after its cold pass
        return "seeded fits"
    return "other"


def case_grids(u: float, n: int, jobs: int) -> None:
    """``fit_campaign`` on hard spectra that each have their own frequencies (the grid times
    1 + 1e-4 x a standard normal per point, as an instrument that logs the frequency it
    measured at writes them), and on the same spectra with 0-7 of their highest points
    dropped (as inductive points are), against the spectra on one grid."""
    import eisfit
    from eisfit import Spectrum

    truths = hard_truths(n, seed=14)
    rng = np.random.default_rng(9)
    one_grid = synthesize(truths, seed=6)
    own_grids = []
    for k, t in enumerate(truths):
        f = FREQ * (1 + 1e-4 * rng.standard_normal(FREQ.size))
        own_grids.append(synthesize([t], freq=f, seed=100 + k)[0])
    shorter = [s.select(np.arange(len(s)) >= k) for s, k in zip(one_grid, rng.integers(0, 8, n))]
    cells = [Spectrum(frequency=s.frequency, z=s.z, meta={**s.meta, "cell": f"cell{k // 10:03d}"})
             for k, s in enumerate(one_grid)]
    eisfit.fit_campaign(one_grid[:3], circuit=CIRCUIT, cache_dir=False, progress=False)  # warm-up
    for label, spectra in (("one grid", one_grid), ("a grid per spectrum", own_grids),
                           ("0-7 top points dropped, 44-51 points", shorter),
                           ("one grid, cells of 10 checkpoints", cells)):
        t0 = time.perf_counter()
        eisfit.fit_campaign(spectra, circuit=CIRCUIT, jobs=jobs, cache_dir=False, progress=False)
        wall = time.perf_counter() - t0
        print(f"[grids] fit_campaign({n} hard spectra, {label}, jobs={jobs}): {wall / u:.1f} u = {wall:.2f} s "
              f"({n / wall:.0f} spectra/s)", flush=True)


def case_families(u: float, n: int) -> None:
    import eisfit
    from eisfit.fitting.robustness import FAMILIES, family_cases

    total, count = 0.0, 0
    for family in FAMILIES:
        cases = family_cases(family, n)
        eisfit.fit(cases[0].spectrum, family)  # warm-up (circuit parsing)
        t0 = time.perf_counter()
        for case in cases:
            eisfit.fit(case.spectrum, family)
        spent = time.perf_counter() - t0
        total, count = total + spent, count + len(cases)
        print(f"[families] {family}: {spent / len(cases) / u:.2f} u per fit ({1e3 * spent / len(cases):.0f} ms)")
    print(f"[families] all: {total / count / u:.2f} u per fit")


def case_suggest(u: float, n: int) -> None:
    import eisfit

    sys.path.insert(0, str(HERE.parent / "scripts"))
    import suggest_score

    rng = np.random.default_rng(3)
    times = []
    for family in suggest_score.FAMILIES:
        for _ in range(n):
            _, _, s = suggest_score.make_spectrum(family, rng)
            t0 = time.perf_counter()
            eisfit.suggest_circuit(s)
            times.append(time.perf_counter() - t0)
        print(f"[suggest] {family}: {statistics.mean(times[-n:]) / u:.2f} u per spectrum")
    print(f"[suggest] all {len(times)} spectra: mean {statistics.mean(times) / u:.2f} u "
          f"(median {statistics.median(times) / u:.2f} u)")


# per-point columns an EC-Lab sweep exported as text also holds (13 of yadg's geis.mpr's 22; none that
# names an impedance, which a reader could take for Z' or Z'', and no cycle number, which would order
# the campaign): what the reader keeps as Spectrum.columns; NSR: the instrument's noise-to-signal, %
INSTRUMENT_COLUMNS = ("time/s", "<Ewe>/V", "<I>/mA", "Cs/uF", "Cp/uF", "|Ewe|/V", "|I|/A", "I Range",
                      "(Q-Qo)/mA.h", "<Ece>/V", "|Ece|/V", "NSR Ewe/%", "NSR I/%")


def _csv_folder(tmp: str, n: int, instrument_columns: bool = False) -> Path:
    """A folder of ``n`` single-spectrum CSV files of hard spectra (the command cases' input);
    with ``instrument_columns`` each also holds the columns :data:`INSTRUMENT_COLUMNS` (the
    kind of file an instrument exports, whose extra columns a reader keeps)."""
    folder = Path(tmp) / "csv"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(33)
    for k, s in enumerate(synthesize(hard_truths(n, seed=31), seed=32)):
        columns, header = [s.frequency, s.z.real, s.z.imag], "freq_Hz,Zre_ohm,Zim_ohm"
        if instrument_columns:
            columns += [np.cumsum(1.0 / s.frequency)] + [rng.uniform(0.0, 1.0, s.frequency.size)
                                                         for _ in INSTRUMENT_COLUMNS[1:]]
            header += "," + ",".join(INSTRUMENT_COLUMNS)
        np.savetxt(folder / f"cell_{k:05d}.csv", np.column_stack(columns), delimiter=",", header=header, comments="")
    return folder


def case_cli(n: int, jobs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = _csv_folder(tmp, n)
        out = Path(tmp) / "out"
        # the command as a user runs it first: its result cache written into a new out folder
        timed, peak = _run_cli(["campaign", str(folder), "--circuit", CIRCUIT, "--jobs", str(jobs),
                                "--out", str(out), "--no-progress"], fresh=out)
        print(f"[cli] eisfit campaign FOLDER ({n} CSV files, --jobs {jobs}, figures, cache and all; a new out "
              f"folder each run): {timed.describe()}; peak memory summed over processes: "
              f"RSS {peak[0] / 2**20:.0f} MB, PSS {peak[1] / 2**20:.0f} MB")
        _print_phases("cli", timed)
        timed, peak = _run_cli(["campaign", str(folder), "--circuit", CIRCUIT, "--jobs", str(jobs),
                                "--out", str(out), "--no-cache", "--no-progress"], fresh=out)
        print(f"[cli] the same with --no-cache (no cache written): {timed.describe()}; peak memory summed over "
              f"processes: RSS {peak[0] / 2**20:.0f} MB, PSS {peak[1] / 2**20:.0f} MB")
        _print_phases("cli", timed)
        table = Path(tmp) / "table.txt"
        _write_eclab_table(table)
        out261 = Path(tmp) / "out261"
        timed, peak = _run_cli(["campaign", str(table), "--circuit", "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3",
                               "--jobs", str(jobs), "--out", str(out261), "--no-cache", "--no-progress"], fresh=out261)
        print(f"[cli] eisfit campaign on one EC-Lab-style table of 261 sweeps (3-element circuit): "
              f"{timed.describe()}; peak RSS {peak[0] / 2**20:.0f} MB, PSS {peak[1] / 2**20:.0f} MB")
        _print_phases("cli", timed)


def _print_phases(case: str, timed: Paired) -> None:
    """The line under a campaign command's: where its time went, from its report.md."""
    split = timed.describe_phases()
    if split:
        print(f"[{case}]   of which (the phases report.md gives, medians): {split}")


def case_defaults(n_campaign: int, n_fit: int, n_auto: int) -> None:
    """What a user who gives no option gets: ``eisfit campaign FOLDER`` (``--jobs auto``)
    against ``--jobs 1`` on ``n_campaign`` CSV files (no cache: the fits each time);
    ``eisfit fit`` on ``n_fit`` of them (one batched fit per 64 spectra; ``--jobs auto`` and
    1) against the same spectra fitted one by one with ``eisfit.fit`` in this process; and
    ``eisfit fit --circuit auto`` on ``n_auto`` of them (``--jobs auto`` and 1; one run
    each: a run takes ~1-3 s per spectrum)."""
    import eisfit
    from eisfit._processes import usable_cores
    from eisfit.fitting.batch import fit_batch

    with tempfile.TemporaryDirectory() as tmp:
        folder = _csv_folder(tmp, n_campaign)
        out = Path(tmp) / "out"
        for jobs in ("auto", "1"):
            timed, _ = _run_cli(["campaign", str(folder), "--circuit", CIRCUIT, "--out", str(out), "--no-cache",
                                 "--no-progress", *([] if jobs == "auto" else ["--jobs", jobs])], fresh=out)
            said = f"no --jobs (auto: {usable_cores()} cores here)" if jobs == "auto" else "--jobs 1"
            print(f"[defaults] eisfit campaign FOLDER ({n_campaign} CSV files, {said}, --no-cache): "
                  f"{timed.describe()}", flush=True)
        files = sorted(folder.glob("*.csv"))[:n_fit]
        for jobs in ("auto", "1"):
            timed = _paired(lambda: _timed_cli(["fit", *map(str, files), "--circuit", CIRCUIT, "-q", "--jobs", jobs]),
                            REPEATS)
            print(f"[defaults] eisfit fit on {len(files)} CSV files (fitted 64 at a time, --jobs {jobs}): "
                  f"{timed.describe()}", flush=True)
        chosen = files[:n_auto]
        for jobs in ("auto", "1"):
            timed = _paired(lambda: _timed_cli(["fit", *map(str, chosen), "--circuit", "auto", "-q", "--jobs", jobs]),
                            1)
            print(f"[defaults] eisfit fit --circuit auto on {len(chosen)} CSV files (a circuit chosen for each, "
                  f"--jobs {jobs}): {timed.describe()}", flush=True)
        spectra = [eisfit.read(f)[0] for f in files]

        def timed_fits(fit_all) -> Callable[[], float]:
            def run() -> float:
                t0 = time.perf_counter()
                fit_all()
                return time.perf_counter() - t0
            return run

        batches = [spectra[k:k + 64] for k in range(0, len(spectra), 64)]
        together = _paired(timed_fits(lambda: [fit_batch(b, CIRCUIT) for b in batches]), REPEATS)
        alone = _paired(timed_fits(lambda: [eisfit.fit(s, CIRCUIT) for s in spectra]), REPEATS)
        print(f"[defaults] the same spectra in this process: fit_batch 64 at a time (what eisfit fit runs) "
              f"{together.describe()}; eisfit.fit one by one (what it ran before) {alone.describe()}", flush=True)


def case_memory(sizes: list[int], jobs: int, instrument_columns: bool = False, repeat: int = 1) -> None:
    """``eisfit campaign`` on CSV folders of each size, watched: the peak RSS summed over its
    processes, each one's own peak, the growth per spectrum. ``instrument_columns``: files that
    also hold an instrument export's per-point columns (case ``memory-instrument``).
    ``repeat``: runs of every size, the sizes taken in turn (1,000, 10,000, 1,000, 10,000...: the
    machine's drift shared alike); each size's median peak and the range are reported and the
    growth is read from the medians (one run's peak at 10,000 files moved by ~30 MB between runs
    of the same code, as much as the growth itself)."""
    label = "memory-instrument" if instrument_columns else "memory"
    kind = f"CSV files with {len(INSTRUMENT_COLUMNS)} instrument columns" if instrument_columns else "CSV files"
    runs: dict[int, list[tuple[int, str]]] = {n: [] for n in sorted(sizes)}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {n: _csv_folder(str(Path(tmp) / f"n{n}"), n, instrument_columns) for n in runs}
        for k in range(repeat):
            for n, folder in folders.items():
                split: dict[int, tuple[int, int]] = {}
                own: dict[int, int] = {}
                _watched_cli(["campaign", str(folder), "--circuit", CIRCUIT, "--jobs", str(jobs),
                              "--out", str(Path(tmp) / f"out{n}-{k}"), "--no-cache", "--no-progress"], split, own)
                runs[n].append((sum(rss for rss, _ in split.values()), _memory_split(split, own)))
    medians = {}
    for n, peaks in runs.items():
        ordered = sorted(peaks)
        medians[n], described = ordered[len(ordered) // 2]
        spread = "" if repeat == 1 else (f" (median of {repeat} runs, range {ordered[0][0] / 2**20:.0f}-"
                                         f"{ordered[-1][0] / 2**20:.0f} MB)")
        print(f"[{label}] {n} {kind}: peak summed RSS {medians[n] / 2**20:.0f} MB{spread}; {described}", flush=True)
    if len(medians) > 1:
        lo, hi = min(medians), max(medians)
        print(f"[{label}] growth {(medians[hi] - medians[lo]) / (hi - lo) / 1024:.0f} KB of summed RSS per spectrum "
              f"({lo} to {hi} files{'' if repeat == 1 else ', from the medians'})")


def _memory_split(split: dict[int, tuple[int, int]], own: dict[int, int]) -> str:
    """Each process's RSS (and private memory) at the summed peak, and each one's own peak."""
    parts = ", ".join(f"RSS {rss / 2**20:.0f} MB (private {private / 2**20:.0f} MB)" for rss, private in split.values())
    others = sorted((rss for pid, rss in own.items() if pid != 0), reverse=True)
    return (f"its processes then: {parts}; each one's own peak: the command's process {own.get(0, 0) / 2**20:.0f} MB, "
            "the others " + ", ".join(f"{rss / 2**20:.0f}" for rss in others) + " MB")


def case_auto(jobs: int) -> None:
    """``eisfit campaign TABLE --circuit auto`` on the 261-sweep table of the ``cli`` case:
    one circuit chosen for the whole campaign (``eisfit.selection.choose_common_circuit``),
    then the campaign."""
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "table.txt"
        _write_eclab_table(table)
        timed, peak = _run_cli(["campaign", str(table), "--circuit", "auto", "--jobs", str(jobs),
                               "--out", str(Path(tmp) / "out"), "--no-cache", "--no-progress"])
        print(f"[auto] eisfit campaign on the 261-sweep table with --circuit auto: {timed.describe()}; "
              f"peak RSS {peak[0] / 2**20:.0f} MB", flush=True)


def case_drt(jobs: int) -> None:
    """``eisfit campaign TABLE --drt`` on the 261-sweep table of the ``cli`` case (its own
    circuit): the DRT of every checkpoint, tracked peaks, drt_peaks.csv and the DRT figures."""
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "table.txt"
        _write_eclab_table(table)
        timed, peak = _run_cli(["campaign", str(table), "--circuit", "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3", "--drt",
                                "--jobs", str(jobs), "--out", str(Path(tmp) / "out"), "--no-cache", "--no-progress"])
        print(f"[drt] eisfit campaign on the 261-sweep table with --drt: {timed.describe()}; "
              f"peak RSS {peak[0] / 2**20:.0f} MB", flush=True)


def _write_eclab_table(path: Path) -> None:
    """261 sweeps (60 points, 1 MHz-10 mHz) of R0-p(R1,CPE1)-p(R2,CPE2)-CPE3, a slowly drifting
    cell, as one tab-separated text table with a cycle column (the layout of an EC-Lab export)."""
    from eisfit.model import Circuit

    circ = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)-CPE3")
    f = np.logspace(6, -2, 60)
    rng = np.random.default_rng(7)
    lines = ["freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\tcycle number"]
    for k in range(261):
        r2 = 80.0 * (1 + 0.5 * np.sin(k / 40))
        p = [12.0, 45.0, 2e-9, 0.92, r2, 3e-6, 0.8, 2e-3, 0.75]
        z = circ.impedance(np.array(p), f)
        z = z + 0.005 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2)
        lines += [f"{fi:.6e}\t{zi.real:.6e}\t{-zi.imag:.6e}\t{k + 1}" for fi, zi in zip(f, z)]
    path.write_text("\n".join(lines) + "\n")


def _run_cli(args: list[str], fresh: Path | None = None) -> tuple[Paired, tuple[int, int]]:
    """Wall times of ``REPEATS`` runs of an ``eisfit`` command, each between two measurements
    of u (:func:`_paired`; ``fresh``: a folder removed before each run, outside the timing: the
    out folder, whose cache would make every run after the first fit nothing), and the peak
    memory (bytes) of the command and its children summed over the processes, (RSS, PSS),
    from another run of it. RSS counts the pages that forked processes share once per
    process; PSS (proportional set size) splits them among the sharers, so its sum is the
    memory the command takes from the machine. Separate runs: the watcher reads every
    process's page tables 50 times a second,
    which took 1.5-1.8 s of CPU from the command's two cores in the 5,000-file case (12.0-12.2 s
    watched, 10.2-10.7 s not)."""
    phases: list[dict[str, float] | None] = []

    def run() -> float:
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
        wall = _timed_cli(args)
        phases.append(None if fresh is None else _report_phases(fresh))
        return wall

    timed = dataclasses.replace(_paired(run, REPEATS), phases=tuple(phases))
    if fresh is not None:
        shutil.rmtree(fresh, ignore_errors=True)
    _, peak = _watched_cli(args)
    return timed, peak


def _cli_command(args: list[str]) -> tuple[list[str], dict[str, str]]:
    cmd = [sys.executable, "-m", "eisfit", *args]  # as the console script: eisfit.cli.run
    return cmd, dict(os.environ, MPLBACKEND="Agg")


def _timed_cli(args: list[str]) -> float:
    """Wall time (s) of one run of an ``eisfit`` command, nothing else running."""
    cmd, env = _cli_command(args)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        print(proc.stdout.decode(errors="replace")[-2000:])
    return wall


def _watched_cli(args: list[str], split: dict[int, tuple[int, int]] | None = None,
                 own_peaks: dict[int, int] | None = None) -> tuple[float, tuple[int, int]]:
    """(wall time, (peak RSS, peak PSS)) of one run of an ``eisfit`` command whose process
    tree is read every 20 ms (the reads slow it down: time it with :func:`_timed_cli`);
    ``split`` receives pid -> (RSS, private) of each process at the peak of the summed RSS,
    ``own_peaks`` pid -> each process's own peak RSS (the kernel's high-water mark, VmHWM, as
    last read: exact, where the 20 ms reads miss a spike of a few tens of ms), the command's
    own process under the key 0."""
    cmd, env = _cli_command(args)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    peak = [0, 0]
    done = threading.Event()

    def watch():
        while not done.is_set():
            per_process: dict[int, tuple[int, int]] = {}
            rss, pss = _tree_memory(proc.pid, per_process)
            if split is not None and rss > peak[0]:
                split.clear()
                split.update(per_process)
            if own_peaks is not None:  # at least the RSS just read (a process gone since has no VmHWM)
                for pid, (rss_now, _) in per_process.items():
                    key = 0 if pid == proc.pid else pid
                    own_peaks[key] = max(own_peaks.get(key, 0), _high_water_mark(pid), rss_now)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            time.sleep(0.02)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    if proc.returncode not in (0, 1):
        print(out.decode(errors="replace")[-2000:])
    return wall, (peak[0], peak[1])


def _high_water_mark(pid: int) -> int:
    """The peak RSS (bytes) process ``pid`` has had so far (VmHWM), 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return 1024 * int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree_memory(root: int, per_process: dict[int, tuple[int, int]] | None = None) -> tuple[int, int]:
    """Summed RSS and PSS (bytes) of a process and all its descendants (from /proc);
    ``per_process`` receives pid -> (RSS, private) of each."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    rss = pss = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line and not line.startswith(" "))
        except OSError:
            continue
        size = {name: 1024 * int(fields.get(name, "0 kB").split()[0])  # bytes
                for name in ("Rss", "Pss", "Private_Clean", "Private_Dirty")}
        rss += size["Rss"]
        pss += size["Pss"]
        if per_process is not None:
            per_process[pid] = (size["Rss"], size["Private_Clean"] + size["Private_Dirty"])
    return rss, pss


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="+",
                    default=["fit", "start", "campaign", "rows", "ablation", "grids", "families", "suggest", "cli",
                             "auto", "drt", "defaults"],
                    choices=["fit", "start", "campaign", "rows", "ablation", "grids", "families", "suggest", "cli",
                             "auto", "drt", "defaults", "memory", "memory-instrument"])
    ap.add_argument("--family-n", type=int, default=10)
    ap.add_argument("--suggest-n", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--start-n", type=int, default=200)
    ap.add_argument("--campaign-n", type=int, default=1000)
    ap.add_argument("--grids-n", type=int, default=300)
    ap.add_argument("--rows-n", type=int, default=500)
    ap.add_argument("--ablation-n", type=int, default=500)
    ap.add_argument("--cli-n", type=int, default=5000)
    ap.add_argument("--memory-n", type=int, nargs="+", default=[1000, 5000, 10000])
    ap.add_argument("--memory-repeat", type=int, default=1, help="runs of each size (the median is reported)")
    ap.add_argument("--defaults-n", type=int, default=1000, help="CSV files of the defaults case's campaign")
    ap.add_argument("--defaults-fit-n", type=int, default=300, help="of them, those of its eisfit fit")
    ap.add_argument("--defaults-auto-n", type=int, default=8, help="of them, those of its eisfit fit --circuit auto")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    runs = {"fit": lambda u: case_fit(u, a.repeat), "start": lambda u: case_start(a.start_n),
            "campaign": lambda u: case_campaign(a.campaign_n, a.jobs), "rows": lambda u: case_rows(a.rows_n),
            "ablation": lambda u: case_ablation(a.ablation_n, a.jobs),
            "grids": lambda u: case_grids(u, a.grids_n, a.jobs),
            "families": lambda u: case_families(u, a.family_n), "suggest": lambda u: case_suggest(u, a.suggest_n),
            "cli": lambda u: case_cli(a.cli_n, a.jobs), "auto": lambda u: case_auto(a.jobs),
            "drt": lambda u: case_drt(a.jobs), "defaults": lambda u: case_defaults(a.defaults_n, a.defaults_fit_n, a.defaults_auto_n),
            "memory": lambda u: case_memory(a.memory_n, a.jobs, repeat=a.memory_repeat),
            "memory-instrument": lambda u: case_memory(a.memory_n, a.jobs, instrument_columns=True,
                                                       repeat=a.memory_repeat)}
    for case in [c for c in runs if c in a.cases]:
        u = impedance_unit.measure_u()  # measured again before every case: the machine's load drifts
        print(f"u = {u * 1e3:.1f} ms (one impedance.py CustomCircuit.fit from a good guess, measured before "
              f"the case {case!r}); load average {os.getloadavg()[0]:.2f}", flush=True)
        runs[case](u)
        u_after = impedance_unit.measure_u()
        print(f"u = {u_after * 1e3:.1f} ms after the case {case!r} (the ratios above use the u before it; "
              f"u moved {100 * (u_after / u - 1):+.0f} % during the case)", flush=True)


if __name__ == "__main__":
    main()
