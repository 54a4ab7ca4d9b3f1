"""Benchmark: joint campaign fit of 1,000 checkpoints of R0-p(R1,CPE1)-p(R2,CPE2).

Synthetic data (51 points, 10 MHz - 0.1 Hz, 1 % noise), constant electrolyte arc
(shared R1, CPE1_0, CPE1_1), interface R2 decaying 149 -> 45 ohm. Start values are
the truth perturbed by 5 % (stand-ins for the seeded per-checkpoint fits).

    python bench/bench_series.py [n_checkpoints] [--smooth]

Prints wall time and peak memory (tracemalloc peak of Python allocations and the
process's maximum resident set size).
"""
from __future__ import annotations

import resource
import sys
import time
import tracemalloc

import numpy as np

from eisfit import Spectrum
from eisfit.model import Circuit
from eisfit.series import joint_fit

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
SHARED = ["R1", "CPE1_0", "CPE1_1"]


def synthetic_campaign(k: int, noise: float = 0.01, seed: int = 0):
    circ = Circuit(CIRCUIT)
    rng = np.random.default_rng(seed)
    f = np.logspace(7, -1, 51)
    r2 = np.geomspace(149.0, 45.0, k)
    truth = np.tile([30.0, 40.0, 2e-8, 0.9, 0.0, 2e-6, 0.85], (k, 1))
    truth[:, 4] = r2
    z = circ.impedance(truth, f)
    z = z * (1 + noise * (rng.normal(size=z.shape) + 1j * rng.normal(size=z.shape)) / np.sqrt(2))
    spectra = [Spectrum(f, z[i], {"label": f"cp{i:04d}"}) for i in range(k)]
    starts = truth * np.exp(rng.normal(0.0, 0.05, truth.shape))
    starts[:, [3, 6]] = np.clip(starts[:, [3, 6]], 0.5, 1.0)
    names = circ.param_names
    return spectra, [dict(zip(names, row)) for row in starts], truth


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    k = int(args[0]) if args else 1000
    smooth = "auto" if "--smooth" in sys.argv else None
    spectra, starts, truth = synthetic_campaign(k)
    tracemalloc.start()
    t0 = time.perf_counter()
    res = joint_fit(spectra, CIRCUIT, shared=SHARED, smooth=smooth, start_values=starts)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    err = np.log([v["R2"] for v in res.values]) - np.log(truth[:, 4])
    print(f"checkpoints: {k}, points each: 51, parameters: 7 ({len(SHARED)} shared), smooth={smooth}")
    print(f"joint fit (incl. independent fits for the evidence): {elapsed:.2f} s, "
          f"converged={res.converged}, iterations={res.n_iter}")
    print(f"peak memory: tracemalloc {peak / 2**20:.1f} MiB, max RSS {rss_mb:.0f} MiB")
    print(res.statement)
    print(f"R2 RMS log error: {np.sqrt(np.mean(err**2)):.4f}; shared R1 = "
          f"{res.values[0]['R1']:.3f} +- {res.stderr[0]['R1']:.3f} ohm")


if __name__ == "__main__":
    main()
