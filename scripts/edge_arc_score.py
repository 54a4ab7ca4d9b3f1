"""What ``eisfit.suggest_circuit`` makes of a garnet measured to 1 MHz, whose bulk arc peaks above the data.

    python scripts/edge_arc_score.py [N] [SEED]

N random two-arc cells ``R0-p(R1,CPE1)-p(R2,CPE2)`` (default 30): R0 2-20 ohm, the bulk arc
R1 30-300 ohm peaking at 2-30 MHz (n 0.85-0.97), the interface arc R2 100-2000 ohm at
100 Hz-10 kHz (n 0.7-0.9); 71 points 1 MHz-0.1 Hz, 0.5 % Gaussian noise proportional to |Z|.

Prints, per cell, the suggested circuit, its verdict and the intercept the data fix only as
a sum (``intercept_only``); then how often each (circuit, verdict, intercept) came out, and
for the suggestions read as an intercept, (R0 + R1 fitted - true) / its standard error.
"""
from __future__ import annotations

import collections
import sys
import warnings

import numpy as np

from eisfit import Spectrum
from eisfit.model import Circuit
from eisfit.selection import intercept_only, suggest_circuit

TWO_ARCS = "R0-p(R1,CPE1)-p(R2,CPE2)"
F_HZ = np.logspace(6, -1, 71)
NOISE = 0.005


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(10 ** rng.uniform(np.log10(lo), np.log10(hi)))


def random_cell(rng: np.random.Generator) -> list[float]:
    """Parameters of one cell (the draws in the order of the docstring)."""
    f_bulk, n1 = _log_uniform(rng, 2e6, 3e7), float(rng.uniform(0.85, 0.97))
    r0, r1, r2 = float(rng.uniform(2, 20)), _log_uniform(rng, 30, 300), _log_uniform(rng, 100, 2000)
    f_interface, n2 = _log_uniform(rng, 100, 1e4), float(rng.uniform(0.7, 0.9))
    tau1, tau2 = 1 / (2 * np.pi * f_bulk), 1 / (2 * np.pi * f_interface)
    return [r0, r1, tau1 ** n1 / r1, n1, r2, tau2 ** n2 / r2, n2]


def noisy(params: list[float], rng: np.random.Generator) -> Spectrum:
    z = Circuit(TWO_ARCS).impedance(np.array(params)[None], F_HZ)[0]
    z = z + NOISE * np.abs(z) * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))
    return Spectrum(frequency=F_HZ, z=z)


def main(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    counts: collections.Counter = collections.Counter()
    z_scores = []
    for k in range(n):
        params = random_cell(rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sug = suggest_circuit(noisy(params, rng))
        row = sug.table.iloc[0]
        counts[(sug.best, row["verdict"], row["intercept_only"])] += 1
        above = intercept_only(sug.best_fit) if row["intercept_only"] else None
        if above is not None and sug.best == TWO_ARCS:
            z_scores.append((above.value_ohm - params[0] - params[1]) / above.stderr_ohm)
        f_bulk = 1 / (2 * np.pi * (params[1] * params[2]) ** (1 / params[3]))
        print(f"{k:3d}  bulk apex {f_bulk:9.3g} Hz  R0 {params[0]:6.3g}  R1 {params[1]:6.3g}  R2 {params[4]:6.3g}  "
              f"{sug.best}  {row['verdict']}  {row['intercept_only']}", flush=True)
    print()
    for (circuit, verdict, intercept), count in counts.most_common():
        print(f"{count:3d}  {circuit}  {verdict}  {intercept}")
    true_adequate = sum(c for (circuit, verdict, _), c in counts.items() if circuit == TWO_ARCS and verdict == "best")
    print(f"true circuit suggested as adequate: {true_adequate}/{n}")
    if z_scores:
        print(f"intercept (fit - truth) / stderr over {len(z_scores)}: max |z| {np.max(np.abs(z_scores)):.2f}, "
              f"rms {np.sqrt(np.mean(np.square(z_scores))):.2f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0)
    main(int(args[0]) if args else 30, int(args[1]) if len(args) > 1 else 5)
