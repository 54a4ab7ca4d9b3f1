"""Robustness score of the automatic fit (see eisfit/fitting/robustness.py).

    python scripts/robustness.py [N] [N_RANDOM_REFERENCE_STARTS] [GUESS]
    python scripts/robustness.py --family NAME|all [N] [N_RANDOM_REFERENCE_STARTS] [--seed S]

Without ``--family``: the seeded headline set (R0-p(R1,CPE1)-p(R2,CPE2), 10 MHz-100 Hz,
0-4 decades between the arcs); GUESS is passed to eisfit.fit (``auto`` default, ``drt``
adds DRT-seeded starts).

With ``--family``: N seeded spectra of one circuit family (or ``all``: the headline, the
one-arc and the six everyday families of issue 13), every feature inside 1 MHz-10 mHz,
arcs >= 1 decade apart, 0.5 % noise. Each is fitted by ``eisfit.fit(s, circuit=FAMILY)``
(no guess, modulus weighting, KK test off) and compared with a fit polished from the
true parameters plus N_RANDOM starts around them. Prints, per family, the spectra at
the optimum (chi-square within 1 % of the reference), the mean time per automatic
fit, and the misses (case index, chi-square / reference). ``--seed`` picks the seeded
set of spectra (13 default): check a claim on several seeds, not one.
"""
import argparse
import time

from eisfit.fitting.robustness import FAMILIES, SIX_FAMILIES, make_cases, score, score_family

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("n", nargs="?", type=int, default=None, help="spectra (500 headline, 50 per family)")
parser.add_argument("n_random", nargs="?", type=int, default=None,
                    help="reference random starts (150 headline, 10 per family)")
parser.add_argument("guess", nargs="?", default="auto", help="headline set only: auto or drt")
parser.add_argument("--family", default=None, help="a circuit of " + ", ".join(FAMILIES) + "; or all")
parser.add_argument("--seed", type=int, default=13, help="family mode: seed of the spectra (default 13)")
args = parser.parse_args()

t0 = time.perf_counter()
if args.family is None:
    n, n_random = args.n or 500, args.n_random or 150
    s = score(make_cases(n), n_random=n_random, guess=args.guess)
    print(f"{s.n} spectra, reference = true start + {n_random} random starts, guess={args.guess!r}")
    print(f"reached the reference chi-square (within 1 %): {s.reached_optimum}/{s.n} = {100 * s.optimum_rate:.1f} %")
    print(f"R2 within 3 reported stderr of the truth:      {s.r2_within_3sigma}/{s.n} = {100 * s.r2_rate:.1f} %")
    print("each parameter within 3 reported stderr:      "
          + ", ".join(f"{name} {k}/{s.n} ({100 * k / s.n:.1f} %)" for name, k in s.within_3sigma.items()))
    print(f"the same in the {s.unflagged} fits without any flag: "
          + ", ".join(f"{name} {k}/{s.unflagged}" for name, k in s.within_3sigma_unflagged.items()))
    print(f"failures (case index): {s.failures}")
else:
    n, n_random = args.n or 50, args.n_random or 10
    families = list(FAMILIES) if args.family == "all" else [args.family]
    total = reached = 0
    print(f"{n} spectra per family (seed {args.seed}), reference = true start + {n_random} random starts around it")
    print(f"{'family':<40} {'at optimum':>12} {'ms/fit':>7}  misses (case: chisq/reference)")
    for family in families:
        s = score_family(family, n, n_random=n_random, seed=args.seed)
        if family in SIX_FAMILIES:
            total += s.n
            reached += s.reached_optimum
        misses = ", ".join(f"{i}: {r:.3g}" for i, r in s.failures)
        print(f"{family:<40} {s.reached_optimum:>5}/{s.n:<3} {100 * s.optimum_rate:5.1f} %"
              f" {1000 * s.seconds_per_fit:6.0f}  {misses}", flush=True)
    if total:
        print(f"six everyday families together: {reached}/{total} = {100 * reached / total:.1f} %")
print(f"wall time {time.perf_counter() - t0:.1f} s")
