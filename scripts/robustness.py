"""Robustness score of the automatic fit on the seeded synthetic set (see eisfit/fitting/robustness.py).

    python scripts/robustness.py [N] [N_RANDOM_REFERENCE_STARTS] [GUESS]

GUESS is passed to eisfit.fit (``auto`` default, ``drt`` adds DRT-seeded starts).
"""
import sys
import time

from eisfit.fitting.robustness import make_cases, score

n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
n_random = int(sys.argv[2]) if len(sys.argv) > 2 else 150
guess = sys.argv[3] if len(sys.argv) > 3 else "auto"
t0 = time.perf_counter()
cases = make_cases(n)
s = score(cases, n_random=n_random, guess=guess)
print(f"{s.n} spectra, reference = true start + {n_random} random starts, guess={guess!r}")
print(f"reached the reference chi-square (within 1 %): {s.reached_optimum}/{s.n} = {100 * s.optimum_rate:.1f} %")
print(f"R2 within 3 reported stderr of the truth:      {s.r2_within_3sigma}/{s.n} = {100 * s.r2_rate:.1f} %")
print(f"failures (case index): {s.failures}")
print(f"wall time {time.perf_counter() - t0:.1f} s")
