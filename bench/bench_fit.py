"""Fitting speed, side by side with impedance.py (and pyimpspec when installed), in one process.

    python bench/bench_fit.py                      # all cases, default sizes
    python bench/bench_fit.py --cases a b --repeat 30
    python bench/bench_fit.py --cases d --stream-n 100000

Cases (circuit R0-p(R1,CPE1)-p(R2,CPE2), 51 points 10 MHz-100 Hz, 0.5 % noise):
  a  one spectrum from a good guess: eisfit.fit(initial=..., starts=1) (full result:
     uncertainties, derived quantities, KK) vs impedance.py CustomCircuit.fit (and
     pyimpspec.fit_circuit), median time and ratio, chi-square of each;
  b  no guess: eisfit.fit (automatic guess) vs impedance.py from a generic guess, on the
     headline spectrum and on robustness cases; chi-square of each against the
     exhaustive global optimum (eisfit.fitting.robustness.reference_chisq);
  c  a synthetic campaign (drifting chain) through eisfit.fitting.batch.fit_stream with
     seeding and uncertainties, --jobs 1 and 2; wall time and spectra per second;
  d  peak memory (RSS of the process and its workers) of fit_stream over spectra written
     as CSV files in a temp dir, for two sizes (flat = independent of the number).
Every chi-square is computed the same way: modulus-weighted,
sum(|Z - Zfit|^2 / |Z|^2) over the points, with eisfit's circuit evaluation.
"""
from __future__ import annotations

import argparse
import functools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", category=RuntimeWarning)

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
NAMES = ["R0", "R1", "CPE1_0", "CPE1_1", "R2", "CPE2_0", "CPE2_1"]
TRUTH = {"R0": 20.0, "R1": 150.0, "CPE1_1": 0.9, "R2": 400.0, "CPE2_1": 0.8}
TAU1, TAU2 = 1.5e-6, 3e-4
GENERIC_GUESS = [10.0, 100.0, 1e-6, 0.9, 100.0, 1e-4, 0.8]  # impedance.py-style fixed guess
FREQ = np.logspace(7, 2, 51)


def truth_vector(r1=150.0, r2=400.0) -> np.ndarray:
    return np.array([20.0, r1, TAU1**0.9 / r1, 0.9, r2, TAU2**0.8 / r2, 0.8])


@functools.lru_cache(maxsize=1)
def _circuit():
    from eisfit.model import Circuit

    return Circuit(CIRCUIT)


def make_spectrum(p: np.ndarray, seed: int, label: str = "headline"):
    """Synthetic data (the stand-in for reading a file: built once per circuit, not timed as fitting)."""
    from eisfit import Spectrum

    rng = np.random.default_rng(seed)
    z = _circuit().impedance(p, FREQ)
    z = z + 0.005 * np.abs(z) * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size)) / np.sqrt(2)
    return Spectrum(FREQ, z, {"label": label})


def chisq_modulus(p, f, z) -> float:
    """The common yardstick: sum(|Z - Zfit|^2/|Z|^2) with eisfit's circuit evaluation."""
    from eisfit.model import Circuit

    zf = Circuit(CIRCUIT).impedance(np.asarray(p, float), f)
    return float(np.sum(np.abs(z - zf) ** 2 / np.abs(z) ** 2))


def median_time(fn, repeat: int) -> tuple[float, object]:
    out = fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


# ------------------------------------------------------------------------- peers
def impedance_py_fit(f, z, guess):
    from impedance.models.circuits import CustomCircuit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cc = CustomCircuit(CIRCUIT, initial_guess=list(guess))
        cc.fit(f, z, weight_by_modulus=True)
    return np.asarray(cc.parameters_)


def pyimpspec_fit(f, z, guess):
    """pyimpspec.fit_circuit from ``guess`` (R(RQ)(RQ), leastsq, modulus weight); None if not installed."""
    try:
        import pyimpspec
    except ImportError:
        return None
    circuit = pyimpspec.parse_cdc(
        f"R{{R={guess[0]}}}(R{{R={guess[1]}}}Q{{Y={guess[2]},n={guess[3]}}})"
        f"(R{{R={guess[4]}}}Q{{Y={guess[5]},n={guess[6]}}})")
    data = pyimpspec.DataSet(frequencies=f, impedances=z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pyimpspec.fit_circuit(circuit, data, method="leastsq", weight="modulus", num_procs=1)
    zf = res.circuit.get_impedances(f)
    return zf


# ------------------------------------------------------------------------- cases
def case_a(repeat: int) -> None:
    from eisfit import fit

    p = truth_vector()
    s = make_spectrum(p, seed=1)
    guess = p * np.array([1.2, 0.8, 0.7, 0.97, 1.2, 1.4, 1.03])
    gdict = dict(zip(NAMES, guess))
    t_e, res = median_time(lambda: fit(s, CIRCUIT, initial=gdict, starts=1), repeat)
    t_e0, res0 = median_time(lambda: fit(s, CIRCUIT, initial=gdict, starts=1, kk=False), repeat)
    t_i, p_i = median_time(lambda: impedance_py_fit(s.frequency, s.z, guess), repeat)
    print("\n(a) one 51-point spectrum, good guess (median of %d)" % repeat)
    chi_e = chisq_modulus(res.parameter_array, s.frequency, s.z)
    chi_i = chisq_modulus(p_i, s.frequency, s.z)
    print(f"  eisfit.fit (stderr, derived, KK)  {t_e * 1e3:8.2f} ms   chisq {chi_e:.6e}")
    print(f"  eisfit.fit (no KK)                {t_e0 * 1e3:8.2f} ms   chisq {chisq_modulus(res0.parameter_array, s.frequency, s.z):.6e}")
    print(f"  impedance.py CustomCircuit.fit    {t_i * 1e3:8.2f} ms   chisq {chi_i:.6e}")
    print(f"  RATIO impedance.py / eisfit: {t_i / t_e:.1f}x (full result), {t_i / t_e0:.1f}x (no KK); "
          f"chisq eisfit/impedance.py = {chi_e / chi_i:.6f}")
    try:
        t_p, zf = median_time(lambda: pyimpspec_fit(s.frequency, s.z, guess), max(3, repeat // 5))
    except Exception as exc:  # optional peer: report, do not fail the benchmark
        print(f"  pyimpspec: failed ({type(exc).__name__}: {exc})")
        return
    if zf is not None:
        chi_p = float(np.sum(np.abs(s.z - zf) ** 2 / np.abs(s.z) ** 2))
        print(f"  pyimpspec fit_circuit (leastsq)   {t_p * 1e3:8.2f} ms   chisq {chi_p:.6e}   "
              f"RATIO pyimpspec / eisfit: {t_p / t_e:.1f}x")


def case_b(repeat: int, n_cases: int) -> None:
    from eisfit import fit
    from eisfit.fitting.robustness import make_cases, reference_chisq, Case

    p = truth_vector()
    s = make_spectrum(p, seed=1)
    head = Case(dict(zip(NAMES, p)), s, 0.0)
    t_e, res = median_time(lambda: fit(s, CIRCUIT), repeat)
    t_i, p_i = median_time(lambda: impedance_py_fit(s.frequency, s.z, GENERIC_GUESS), max(3, repeat // 3))
    ref = reference_chisq(head, n_random=100)
    print("\n(b) no guess: eisfit automatic guess vs impedance.py from a generic guess %s" % GENERIC_GUESS)
    print(f"  headline: eisfit {t_e * 1e3:.1f} ms chisq {res.chisq:.6e}; impedance.py {t_i * 1e3:.1f} ms "
          f"chisq {chisq_modulus(p_i, s.frequency, s.z):.6e}; global optimum {ref:.6e}")
    hit_e = hit_i = 0
    times = []
    cases = make_cases(n_cases, seed=2026)
    for c in cases:
        f, z = c.spectrum.frequency, c.spectrum.z
        t = time.perf_counter()
        r = fit(c.spectrum, CIRCUIT)
        times.append(time.perf_counter() - t)
        ref = reference_chisq(c, n_random=100)
        try:
            chi_i = chisq_modulus(impedance_py_fit(f, z, GENERIC_GUESS), f, z)
        except Exception:
            chi_i = np.inf
        hit_e += r.chisq <= ref * 1.01
        hit_i += chi_i <= ref * 1.01
    print(f"  robustness cases (seed 2026, n={n_cases}): global optimum (within 1 %) reached by "
          f"eisfit {hit_e}/{n_cases}, impedance.py (generic guess) {hit_i}/{n_cases}; "
          f"eisfit median {statistics.median(times) * 1e3:.1f} ms, max {max(times) * 1e3:.1f} ms")


def campaign_spectra(n: int, seed: int = 3):
    """A drifting chain: R1 x1.5 and R2 x3 over the campaign, 0.5 % noise."""
    for k in range(n):
        x = k / max(n - 1, 1)
        yield make_spectrum(truth_vector(150.0 * (1 + 0.5 * x), 400.0 * (1 + 2.0 * x)), seed * 1_000_003 + k,
                            label=f"cp{k:06d}")


def case_c(n: int, jobs_list: list[int], starts, chunk: int = 250) -> None:
    from eisfit.fitting.batch import fit_stream

    print(f"\n(c) campaign of {n} spectra, seeded chain + cold fits (starts={starts!r}), "
          f"uncertainties, derived, KK; fit_stream chunk {chunk}")
    from eisfit.fitting.batch import _stream_pool

    with tempfile.TemporaryDirectory() as tmp:
        for jobs in jobs_list:
            t = time.perf_counter()
            summary = fit_stream(campaign_spectra(n), CIRCUIT, Path(tmp) / f"c{jobs}.csv", chunk_size=chunk,
                                 jobs=jobs, starts=starts)
            wall = time.perf_counter() - t
            print(f"  --jobs {jobs}: {summary.n_rows} rows in {wall:.2f} s = {summary.n_rows / wall:.0f} spectra/s"
                  + (" (including starting the worker processes)" if jobs > 1 else ""))
            if jobs > 1:  # steady state: the same stream on worker processes that are already up
                pool = _stream_pool(jobs)
                try:
                    fit_stream(campaign_spectra(2 * jobs * chunk), CIRCUIT, Path(tmp) / "warm.csv", chunk_size=chunk,
                               jobs=jobs, starts=starts, executor=pool)
                    t = time.perf_counter()
                    summary = fit_stream(campaign_spectra(n), CIRCUIT, Path(tmp) / f"w{jobs}.csv", chunk_size=chunk,
                                         jobs=jobs, starts=starts, executor=pool)
                    wall = time.perf_counter() - t
                finally:
                    pool.shutdown()
                print(f"  --jobs {jobs}, workers already running: {summary.n_rows} rows in {wall:.2f} s = "
                      f"{summary.n_rows / wall:.0f} spectra/s")


def case_c_peer(n: int) -> None:
    """impedance.py on the same campaign, each fit seeded from the previous one (one process)."""
    f = FREQ
    guess = list(truth_vector())
    t = time.perf_counter()
    for s in campaign_spectra(n):
        guess = list(impedance_py_fit(f, s.z, guess))
    wall = time.perf_counter() - t
    print(f"  impedance.py seeded chain (no uncertainties beyond its conf_, first {n}): {n / wall:.0f} spectra/s")


def write_campaign_files(folder: Path, n: int) -> list[Path]:
    paths = []
    for s in campaign_spectra(n):
        p = folder / f"{s.label}.csv"
        np.savetxt(p, np.c_[s.frequency, s.z.real, s.z.imag], delimiter=",", fmt="%.7e",
                   header="frequency_Hz,z_real_ohm,z_imag_ohm", comments="")
        paths.append(p)
    return paths


def stream_worker(n: int, jobs: int, starts) -> None:
    """Subprocess body of case d: write n files, stream them, print peak RSS (MB)."""
    from eisfit.fitting.batch import fit_stream

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_campaign_files(folder, n)
        paths = (folder / f"cp{k:06d}.csv" for k in range(n))  # lazily: no list of spectra
        t = time.perf_counter()
        summary = fit_stream(paths, CIRCUIT, folder / "summary.csv", chunk_size=200, jobs=jobs, starts=starts)
        wall = time.perf_counter() - t
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{summary.n_rows} {wall:.1f} {self_mb:.0f} {child_mb:.0f}")


def case_d(sizes: list[int], jobs: int, starts) -> None:
    print(f"\n(d) streaming from disk (CSV files, fit_stream chunk 200, --jobs {jobs}, starts={starts!r}): peak RSS")
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--stream-worker", str(n), "--jobs", str(jobs),
                              "--starts", str(starts)], capture_output=True, text=True, check=True)
        rows, wall, self_mb, child_mb = out.stdout.split()[-4:]
        print(f"  {int(rows):>7} spectra: {float(wall):7.1f} s; peak RSS main {self_mb} MB, "
              f"largest worker {child_mb} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", nargs="*", default=["a", "b", "c", "d"])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--robust-n", type=int, default=20, help="robustness cases in (b)")
    ap.add_argument("--campaign-n", type=int, default=1000)
    ap.add_argument("--starts", default="auto", help="cold-fit starts in (c)/(d): 'auto' or an integer")
    ap.add_argument("--stream-n", type=int, nargs="*", default=[1000, 100000])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=250, help="spectra per fit_stream chunk in (c)")
    ap.add_argument("--stream-worker", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    starts = a.starts if a.starts == "auto" else int(a.starts)
    from eisfit.analysis.kk import small_blas

    if a.stream_worker is not None:
        with small_blas():
            stream_worker(a.stream_worker, a.jobs, starts)
        return
    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs; BLAS limited to 1 thread")
    with small_blas():
        if "a" in a.cases:
            case_a(a.repeat)
        if "b" in a.cases:
            case_b(a.repeat, a.robust_n)
        if "c" in a.cases:
            case_c(a.campaign_n, [1, 2], starts, a.chunk)
            case_c_peer(min(a.campaign_n, 100))
    if "d" in a.cases:
        case_d(a.stream_n, a.jobs, starts)


if __name__ == "__main__":
    main()
