"""Speed and accuracy of eisfit.drt against pyimpspec (tr-rbf) and pyDRTtools (GCV).

Run: ``python bench/bench_drt.py``. pyimpspec (+cvxopt) and pyDRTtools (+scikit-learn)
are optional benchmark dependencies, not project dependencies; a missing one is reported
and skipped. All three run in this one process on the same 81-point spectrum:
10 MHz-100 Hz, R0 = 40 ohm + ZARC(100 ohm, 1e-7 s, n=0.8) + ZARC(150 ohm, 1e-4 s, n=0.8),
0.5 % noise proportional to |Z| (seed 0). Times are medians of repeated calls after one
warm-up call; accuracy is against the closed-form DRT (peak positions, integral).
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import statistics
import sys
import time
import types
import warnings

import matplotlib

matplotlib.use("Agg")  # before pyDRTtools, which would switch to a Qt backend

import numpy as np  # noqa: E402

import eisfit  # noqa: E402

ARCS = [(100.0, 1e-7, 0.8), (150.0, 1e-4, 0.8)]
R0 = 40.0
F = np.logspace(7, 2, 81)


def spectrum_data() -> tuple[np.ndarray, np.ndarray]:
    w = 2 * np.pi * F
    z = R0 + sum(r / (1 + (1j * w * t) ** n) for r, t, n in ARCS)
    rng = np.random.default_rng(0)
    e = (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size)) / math.sqrt(2)
    return F.copy(), z + 0.005 * np.abs(z) * e


def timed(fn, repeats: int) -> tuple[float, object]:
    out = fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def accuracy(tau: np.ndarray, gamma: np.ndarray) -> dict[str, float]:
    """Peak errors (decades) of the two true arcs, largest other peak (% of max), integral error (%)."""
    tau = np.asarray(tau, float)
    gamma = np.asarray(gamma, float)
    order = np.argsort(tau)
    tau, gamma = tau[order], gamma[order]
    g = np.concatenate([[0.0], gamma, [0.0]])
    k = np.flatnonzero((g[1:-1] > g[:-2]) & (g[1:-1] >= g[2:]) & (gamma > 0.01 * gamma.max()))
    lo, hi = 1 / (2 * np.pi * F.max()), 1 / (2 * np.pi * F.min())
    k = k[(tau[k] >= lo) & (tau[k] <= hi)]
    errs, used = [], set()
    for _, t0, _ in ARCS:
        d = np.abs(np.log10(tau[k] / t0))
        j = int(np.argmin(d))
        errs.append(float(d[j]))
        used.add(j)
    spur = max((gamma[k[j]] for j in range(k.size) if j not in used), default=0.0)
    total = sum(a[0] for a in ARCS)
    integral = float(np.trapezoid(gamma, np.log(tau)))
    return {"peak1_dec": errs[0], "peak2_dec": errs[1], "spurious_pct": 100 * spur / gamma.max(),
            "integral_err_pct": 100 * (integral / total - 1)}


def run_eisfit(f, z):
    s = eisfit.Spectrum(f, z)

    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return eisfit.drt(s, lambda_="auto")

    t, res = timed(call, 20)
    return t, accuracy(res.tau_s, res.gamma_ohm), f"lambda {res.lambda_:.2g} ({res.lambda_rule})"


def run_pyimpspec(f, z):
    import pyimpspec

    data = pyimpspec.DataSet(frequencies=f, impedances=z)

    def call():
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pyimpspec.calculate_drt(data, method="tr-rbf", num_procs=1)

    t, res = timed(call, 3)
    return t, accuracy(res.time_constants, res.gammas), "calculate_drt(method='tr-rbf'), default mgcv"


def _load_pydrttools_runs():
    """pyDRTtools.runs without the package __init__ (which imports its PyQt5 GUI)."""
    spec = importlib.util.find_spec("pyDRTtools")
    if spec is None:
        raise ImportError("pyDRTtools is not installed")
    pkg = types.ModuleType("pyDRTtools")
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules.setdefault("pyDRTtools", pkg)
    return importlib.import_module("pyDRTtools.runs")


def run_pydrttools(f, z):
    with contextlib.redirect_stdout(io.StringIO()):
        runs = _load_pydrttools_runs()

    def call():
        entry = runs.EIS_object(f, z.real, z.imag)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs.simple_run(entry, rbf_type="Gaussian", data_used="Combined Re-Im Data",
                            induct_used=1, der_used="1st order", cv_type="GCV",
                            shape_control="FWHM Coefficient", coeff=0.5)
        return entry

    t, entry = timed(call, 3)
    return t, accuracy(entry.out_tau_vec, entry.gamma), "simple_run(cv_type='GCV', Gaussian RBF)"


def main() -> None:
    f, z = spectrum_data()
    results = {}
    for name, fn in [("eisfit", run_eisfit), ("pyimpspec", run_pyimpspec), ("pyDRTtools", run_pydrttools)]:
        try:
            results[name] = fn(f, z)
        except Exception as exc:  # optional packages: report and go on
            print(f"{name}: skipped ({type(exc).__name__}: {exc})")
    t_ref = results["eisfit"][0]
    print("\n81-point two-ZARC spectrum (arcs 3 decades apart, n=0.8), 0.5 % noise\n")
    print(f"{'tool':12s} {'time ms':>9s} {'x eisfit':>9s} {'peak1 dec':>10s} {'peak2 dec':>10s} "
          f"{'spur %':>7s} {'int err %':>10s}  notes")
    for name, (t, acc, note) in results.items():
        print(f"{name:12s} {1e3 * t:9.2f} {t / t_ref:9.1f} {acc['peak1_dec']:10.3f} {acc['peak2_dec']:10.3f} "
              f"{acc['spurious_pct']:7.1f} {acc['integral_err_pct']:+10.2f}  {note}")


if __name__ == "__main__":
    main()
