"""Does eisfit.fit reach the optimum on real measured spectra? An independent check.

    python scripts/real_optimum_check.py [--starts 30] [--sweeps 2] [--circuits C1;C2...] [--worker K/N]

For every readable file under ``../shared/realdata`` (the first ``--sweeps`` sweeps of
each, at least 8 distinct frequencies) and every circuit, compares the chi-square of
``eisfit.fit(s, circuit)`` (no guess) with the best of ``--starts`` scipy
``least_squares`` (TRF) fits from random starts: the same residuals (relative to |Z|,
eisfit's default ``modulus`` weighting), every scale parameter in log coordinates, the
exponents in [0, 1]. A start draws a time scale log-uniformly over the measured range (a
decade beyond each end) and every parameter at random around it: resistances 1e-3..2x
max |Z|, exponents 0.45..1. Nothing of eisfit's guess or start grid is used.

Prints each case where eisfit is more than 1 % above the search, with Delta chi2 in units of
s^2 = chi2/dof (below ~1, the data cannot tell the two optima apart), then per circuit the
cases, the misses and the cases where eisfit is more than 1 % below the search (the search
is a competitor, not an oracle). ``--worker K/N`` runs every N-th file from the K-th (two
processes on two cores). Slow: ~20 s per sweep for six circuits at 40 starts.
"""
from __future__ import annotations

import argparse
import math
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

import eisfit
from eisfit.model import Circuit

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
CIRCUITS = ("R0-p(R1,CPE1)-p(R2,CPE2)", "L0-R0-p(R1,CPE1)-p(R2,CPE2)", "R0-p(R1,CPE1)-p(CPE2,R2-Wo2)",
            "R0-p(CPE1,R1-W1)", "R0-p(R1,CPE1)-Wo2", "R0-p(R1,CPE1)-p(CPE2,R2-Ws2)")
MIN_DISTINCT = 8


def chisq(z_fit: np.ndarray, z: np.ndarray) -> float:
    d = (z_fit - z) / np.abs(z)
    return float(np.sum(d.real ** 2 + d.imag ** 2))


def random_start(circuit: Circuit, f: np.ndarray, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random start in the search's coordinates (log of every scale parameter)."""
    w = 2 * np.pi * f
    zmax = float(np.abs(z).max())
    wc = math.exp(rng.uniform(math.log(w.min()) - 1, math.log(w.max()) + 1))
    x = []
    for unit in circuit.param_units:
        if unit == "":
            x.append(rng.uniform(0.45, 1.0))
            continue
        if unit == "ohm":
            v = zmax * 10 ** rng.uniform(-3, 0.3)
        elif unit == "H":
            v = zmax / w.max() * 10 ** rng.uniform(-4, 0)
        elif unit == "F":
            v = 1 / (zmax * wc) * 10 ** rng.uniform(-1, 1)
        elif unit == "s":
            v = 1 / wc * 10 ** rng.uniform(-1, 1)
        elif "s^n" in unit:
            v = 1 / (zmax * 10 ** rng.uniform(-2, 0)) * wc ** -0.8 * 10 ** rng.uniform(-1, 1)
        else:  # a Warburg coefficient, ohm s^-1/2
            v = zmax * math.sqrt(wc) * 10 ** rng.uniform(-2, 1)
        x.append(math.log(v))
    return np.array(x)


def search(circuit: Circuit, f: np.ndarray, z: np.ndarray, n_starts: int, rng: np.random.Generator) -> float:
    """The lowest chi-square of ``n_starts`` TRF fits from random starts."""
    is_log = np.array([u != "" for u in circuit.param_units])
    lo = np.where(is_log, math.log(1e-30), [b[0] for b in circuit.default_bounds])
    hi = np.where(is_log, math.log(1e30), [b[1] for b in circuit.default_bounds])

    def residuals(x):
        d = (circuit.impedance(np.where(is_log, np.exp(x), x), f) - z) / np.abs(z)
        r = np.concatenate([d.real, d.imag])
        return np.where(np.isfinite(r), r, 1e6)

    best = math.inf
    for _ in range(n_starts):
        x0 = np.clip(random_start(circuit, f, z, rng), lo + 1e-9, hi - 1e-9)
        try:
            fit = least_squares(residuals, x0, bounds=(lo, hi), method="trf", max_nfev=400 * len(x0), x_scale="jac")
        except (ValueError, FloatingPointError):
            continue
        best = min(best, float(np.sum(residuals(fit.x) ** 2)))
    return best


def files(worker: int, n_workers: int):
    paths = [p for p in sorted(REALDATA.rglob("*")) if p.is_file() and p.suffix not in (".md", ".license")
             and "MANIFEST" not in p.name and "FORMAT" not in p.name]
    return paths[worker::n_workers]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=30, help="random starts of the scipy search per case")
    parser.add_argument("--sweeps", type=int, default=2, help="sweeps read from each file")
    parser.add_argument("--circuits", default=";".join(CIRCUITS), help="circuits, separated by ';'")
    parser.add_argument("--worker", default="0/1", help="K/N: every N-th file from the K-th")
    args = parser.parse_args()
    worker, n_workers = (int(v) for v in args.worker.split("/"))
    circuits = [Circuit(c) for c in args.circuits.split(";")]
    rng = np.random.default_rng(7 + worker)
    counts: Counter = Counter()
    t0 = time.perf_counter()
    warnings.simplefilter("ignore")
    for path in files(worker, n_workers):
        try:
            spectra = eisfit.read(path)
        except eisfit.EisfitError:
            continue
        for k, s in enumerate(spectra[:args.sweeps]):
            if np.unique(s.frequency).size < MIN_DISTINCT:
                continue
            for circuit in circuits:
                try:
                    res = eisfit.fit(s, circuit.string)
                except eisfit.EisfitError:
                    continue
                mine, ref = chisq(res.z_fit, res.z), search(circuit, s.frequency, s.z, args.starts, rng)
                counts[circuit.string, "cases"] += 1
                if mine > 1.01 * ref:
                    counts[circuit.string, "misses"] += 1
                    s2 = ref / max(2 * s.frequency.size - res.n_free, 1)
                    print(f"MISS {path.relative_to(REALDATA)}#{k} {circuit.string}: x{mine / ref:.3g}, "
                          f"Delta chi2 {(mine - ref) / s2:.1f} s^2, flags {','.join(res.flags) or '-'}", flush=True)
                elif mine < 0.99 * ref:
                    counts[circuit.string, "below"] += 1
    for circuit in circuits:
        c = circuit.string
        print(f"{c:40s} cases {counts[c, 'cases']:4d}  eisfit > 1.01x search {counts[c, 'misses']:3d}  "
              f"eisfit < 0.99x search {counts[c, 'below']:3d}")
    print(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
