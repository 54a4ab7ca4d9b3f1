"""Family score of ``eisfit.suggest_circuit`` (issue 16).

    python scripts/suggest_score.py [N_PER_FAMILY] [SEED] [FAMILY ...]

Spectra from eight circuit families with random parameters (every feature inside
1 MHz - 10 mHz, arcs at least one decade apart, 65 points, 0.5 % Gaussian noise
proportional to |Z|). A spectrum scores when ``suggest_circuit(s).best``

* fits with a chi-square within 1.1x of the true family's optimum (the true circuit
  fitted from the true parameters and polished), and
* has no more free parameters than the true circuit.

Prints the score per family, the overall score, the mean time per spectrum of
``suggest_circuit`` (after one untimed warm-up call) and the misses (true family ->
suggested circuit).
"""
from __future__ import annotations

import sys
import time
import warnings

import numpy as np

import eisfit
from eisfit.model import Circuit

F_HZ = np.logspace(6, -2, 65)
NOISE = 0.005
TAU_LO, TAU_HI = 10 / (2 * np.pi * 1e6), 0.1 / (2 * np.pi * 1e-2)  # one decade inside the range


def _log_uniform(rng, lo, hi):
    return float(10 ** rng.uniform(np.log10(lo), np.log10(hi)))


def _separated_taus(rng, k, lo=TAU_LO, hi=TAU_HI, min_decades=1.0):
    while True:
        taus = np.sort(10 ** rng.uniform(np.log10(lo), np.log10(hi), k))
        if k == 1 or np.min(np.diff(np.log10(taus))) >= min_decades:
            return [float(t) for t in taus]


def _arc(rng, tau, r_lo=30, r_hi=3000):
    r = _log_uniform(rng, r_lo, r_hi)
    n = float(rng.uniform(0.75, 0.97))
    return r, tau ** n / r, n


def _arcs(rng, k, **kw):
    out = []
    for tau in _separated_taus(rng, k, **kw):
        out.extend(_arc(rng, tau))
    return out


def one_arc(rng):
    return "R0-p(R1,CPE1)", [_log_uniform(rng, 5, 100), *_arcs(rng, 1)]


def two_arcs(rng):
    return "R0-p(R1,CPE1)-p(R2,CPE2)", [_log_uniform(rng, 5, 100), *_arcs(rng, 2)]


def three_arcs(rng):
    return "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)", [_log_uniform(rng, 5, 100), *_arcs(rng, 3)]


def two_arcs_l(rng):
    r0 = _log_uniform(rng, 5, 100)
    l0 = r0 * float(rng.uniform(0.05, 0.5)) / (2 * np.pi * 1e6)  # omega L at 1 MHz: 5-50 % of R0
    return "L0-R0-p(R1,CPE1)-p(R2,CPE2)", [l0, r0, *_arcs(rng, 2)]


def blocking_pellet(rng):
    arcs = _arcs(rng, 2, hi=TAU_HI / 30)
    r_total = arcs[0] + arcs[3]
    n3 = float(rng.uniform(0.75, 0.95))
    f_corner = _log_uniform(rng, 0.05, 1.0)  # below it the blocking line dominates
    q3 = 1.0 / ((2 * np.pi * f_corner) ** n3 * r_total)
    return "p(R1,CPE1)-p(R2,CPE2)-CPE3", [*arcs, q3, n3]


def _randles(rng, kind):
    r0 = _log_uniform(rng, 5, 100)
    tau1, tau2 = _separated_taus(rng, 2, hi=TAU_HI / 100)
    r1, q1, n1 = _arc(rng, tau1)
    r2, q2, n2 = _arc(rng, tau2)
    z0 = r2 * _log_uniform(rng, 0.5, 3)
    tau_w = _log_uniform(rng, max(100 * tau2, 0.1), 10.0)
    return r0, (r1, q1, n1), (r2, q2, n2), z0, tau_w


def randles_wo(rng):
    r0, a1, (r2, q2, n2), z0, tw = _randles(rng, "Wo")
    return "R0-p(R1,CPE1)-p(CPE2,R2-Wo2)", [r0, *a1, q2, n2, r2, z0, tw]


def randles_ws(rng):
    r0, a1, (r2, q2, n2), z0, tw = _randles(rng, "Ws")
    return "R0-p(R1,CPE1)-p(CPE2,R2-Ws2)", [r0, *a1, q2, n2, r2, z0, tw]


def randles_wo_c(rng):
    r0, a1, (r2, q2, n2), z0, tw = _randles(rng, "Wo")
    tau2 = (r2 * q2) ** (1 / n2)
    l0 = r0 * float(rng.uniform(0.05, 0.5)) / (2 * np.pi * 1e6)
    return "L0-R0-p(R1,CPE1)-p(C2,R2-Wo2)", [l0, r0, *a1, tau2 / r2, r2, z0, tw]


FAMILIES = {
    "one-arc": one_arc, "two-arcs": two_arcs, "three-arcs": three_arcs, "two-arcs-L": two_arcs_l,
    "blocking-pellet": blocking_pellet, "randles-Wo": randles_wo, "randles-Ws": randles_ws,
    "randles-Wo-C": randles_wo_c,
}


def make_spectrum(family: str, rng) -> tuple[str, dict[str, float], eisfit.Spectrum]:
    """(true circuit, true values, noisy spectrum) of one random member of ``family``."""
    circuit, p = FAMILIES[family](rng)
    c = Circuit(circuit)
    z = c.impedance(np.array(p)[None], F_HZ)[0]
    z = z + NOISE * np.abs(z) * (rng.normal(size=z.size) + 1j * rng.normal(size=z.size))
    return circuit, dict(zip(c.param_names, p)), eisfit.Spectrum(frequency=F_HZ, z=z, meta={"label": family})


def true_optimum(s, circuit, truth):
    """The true circuit fitted from the true parameters, polished (chi-square, n_free)."""
    res = eisfit.fit(s, circuit, initial=truth, starts=1, kk=False, profile=False)
    return res.chisq, res.n_free


def score_one(family: str, rng) -> dict:
    circuit, truth, s = make_spectrum(family, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        sug = eisfit.suggest_circuit(s)
        dt = time.perf_counter() - t0
        chi_true, m_true = true_optimum(s, circuit, truth)
        if circuit in sug.fits:  # the search's own fit of the true circuit may be better
            chi_true = min(chi_true, sug.fits[circuit].chisq)
    best = sug.best_fit
    ok = best.chisq <= 1.1 * chi_true and best.n_free <= m_true
    return {"family": family, "truth": circuit, "best": sug.best, "ok": ok, "seconds": dt,
            "ratio": best.chisq / chi_true, "n_fits": len(sug.fits), "m_best": best.n_free,
            "m_true": m_true}


def _warm_up() -> None:
    """One untimed suggestion first: imports and the BLAS thread-pool inspection (~1 s)
    happen once per process and are not part of the time per spectrum."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eisfit.suggest_circuit(make_spectrum("one-arc", np.random.default_rng(0))[2])


def parse_args(argv: list[str]):
    """The command line: N_PER_FAMILY, SEED, FAMILY ... (``--help`` prints the usage;
    an unknown family is refused before any fit)."""
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] + " (scripts/suggest_score.py)",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("n", nargs="?", type=int, default=10, metavar="N_PER_FAMILY",
                    help="spectra per family (default 10)")
    ap.add_argument("seed", nargs="?", type=int, default=16, metavar="SEED", help="random seed (default 16)")
    ap.add_argument("families", nargs="*", metavar="FAMILY",
                    help=f"families to score (default all: {', '.join(FAMILIES)})")
    args = ap.parse_args(argv[1:])
    unknown = [f for f in args.families if f not in FAMILIES]
    if unknown:
        ap.error(f"unknown family {', '.join(unknown)} (choose from {', '.join(FAMILIES)})")
    return args


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    n, seed, families = args.n, args.seed, args.families or list(FAMILIES)
    rng = np.random.default_rng(seed)
    _warm_up()
    rows = []
    for fam in families:
        for _ in range(n):
            rows.append(score_one(fam, rng))
        fam_rows = [r for r in rows if r["family"] == fam]
        ok = sum(r["ok"] for r in fam_rows)
        t = np.mean([r["seconds"] for r in fam_rows])
        print(f"{fam:16s} {ok:3d}/{len(fam_rows)}  mean {t:.2f} s  mean fits {np.mean([r['n_fits'] for r in fam_rows]):.1f}",
              flush=True)
    ok = sum(r["ok"] for r in rows)
    print(f"overall {ok}/{len(rows)} = {100 * ok / len(rows):.1f} %; mean time per spectrum "
          f"{np.mean([r['seconds'] for r in rows]):.2f} s (median {np.median([r['seconds'] for r in rows]):.2f} s)")
    for r in rows:
        if not r["ok"]:
            print(f"  miss {r['family']}: {r['truth']} -> {r['best']} "
                  f"(chi2 x{r['ratio']:.3g}, M {r['m_best']} vs {r['m_true']})")


if __name__ == "__main__":
    main(sys.argv)
