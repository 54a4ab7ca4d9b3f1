"""Calibration of the Lin-KK test's "drift above the noise" rule (eisfit.analysis.kk.DRIFT_MAX_SDS).

    python scripts/kk_calibration.py [--n 20] [--seed 13] [--sds 4.5 ...] [--noises 0.05 ...] [--real] [--plots DIR]

Runs :func:`eisfit.kk_test` with the rule off (``DRIFT_MAX_SDS`` = inf, and the largest residual
between the limits not judged against the noise around it, ``LOCAL_NOISE_HALF_WIDTH`` = 0: the
verdict before both) and with each ``--sds`` value on

* KK-consistent synthetic spectra: the eight circuit families of ``scripts/robustness.py``
  (:func:`eisfit.fitting.robustness.family_cases`), its headline set (``make_cases``), the
  audit's five fixed circuits (R-RC-RC, R-RQ-RQ, Randles with Warburg, L-R-RC to 10 MHz,
  L-R-RQ-RQ) and a two-arc spectrum with a blocking tail whose noise grows 20-fold (from 1/20
  of the level to the level) toward the high (``hetero-up``) or the low (``hetero-down``)
  frequencies; ``--n`` spectra of each at 0.05, 0.1, 0.2, 0.5 and 1 % noise (``--noises``;
  Gaussian, that SD on each of Z' and Z'' relative to |Z|);
* cells that change during the sweep (1 MHz-0.1 Hz, 10 points per decade, measured from the
  highest frequency down, 3 periods or 0.2 s per point): R2 of the slow arc changing
  linearly in time by -10 to +20 %, R1 by +10 %, R2 of an RC pair by +10 %, R2 rising 30 %
  over the points below 1 Hz; ``--n`` noise seeds at each noise level;
* with ``--real``, every spectrum the Lin-KK audit tested (the first 4 sweeps of each
  file under ../shared/realdata and sample_data/*.mpt without an .mpr twin, at most 80),
  listing those whose verdict changes; ``--plots DIR`` draws their residuals.

Prints the false fails of the consistent spectra (failed with the rule, passed without it:
"new"; and those that fail without and pass with it) and the failures of the drifting ones,
per family and noise level. Session 43, ``--n 40 --seed 13|14|15 --sds 3 4.5 6``: no new
false fail in 3 x 3,200 consistent spectra (67 fail without the rules, the same with them);
drifting cells 1,925 -> 1,965 of 4,200 failed at 4.5 SDs (1,969 at 3, 1,959 at 6); of the 80
real spectra only cellpy's biol.mpr sweep 0 changes (drift -> noisy). ~2-4 minutes per seed.
"""
from __future__ import annotations

import argparse
import glob
import os
import time
import warnings
from pathlib import Path

import numpy as np

import eisfit
from eisfit.analysis import kk
from eisfit.fitting.robustness import FAMILIES, family_cases, make_cases

NOISES = (0.05, 0.1, 0.2, 0.5, 1.0)  # % of |Z|, SD of each of Z' and Z''
REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"
MAX_REAL = 80


def log_grid(f_max: float, f_min: float, per_decade: int = 10) -> np.ndarray:
    """Frequencies (Hz) from f_max down to f_min, as a sweep measures them."""
    n = int(round(np.log10(f_max / f_min) * per_decade)) + 1
    return np.logspace(np.log10(f_max), np.log10(f_min), n)


def r_c(w, r, c):
    return r / (1 + 1j * w * r * c)


def r_q(w, r, q, n):
    return r / (1 + r * q * (1j * w) ** n)


def randles(f):
    w = 2 * np.pi * f
    faradaic = 50 + 30.0 * (1 - 1j) / np.sqrt(w)  # charge transfer + semi-infinite Warburg (30 ohm s^-1/2)
    return 10 + 1 / (1j * w * 20e-6 + 1 / faradaic)


def blocking_two_arcs(f):
    w = 2 * np.pi * f
    return 40 + r_q(w, 100, 1e-7, 0.9) + r_q(w, 150, 2e-6, 0.8) + 1 / (1j * w * 0.5)


FIXED = {  # the audit's five KK-consistent circuits
    "R-RC-RC": (log_grid(1e6, 0.1), lambda f: 40 + r_c(2 * np.pi * f, 100, 1e-9) + r_c(2 * np.pi * f, 150, 2e-6)),
    "R-RQ-RQ": (log_grid(1e6, 0.1),
                lambda f: 40 + r_q(2 * np.pi * f, 100, 2e-9, 0.85) + r_q(2 * np.pi * f, 150, 2e-6, 0.8)),
    "Randles-W": (log_grid(1e5, 0.01), randles),
    "L-R-RC": (log_grid(1e7, 0.1), lambda f: 1j * 2 * np.pi * f * 1e-7 + 40 + r_c(2 * np.pi * f, 150, 1e-6)),
    "L-R-RQ-RQ": (log_grid(1e7, 0.1), lambda f: 1j * 2 * np.pi * f * 1e-7 + 40 + r_q(2 * np.pi * f, 100, 1e-10, 0.9)
                  + r_q(2 * np.pi * f, 150, 2e-6, 0.85)),
}


def with_noise(z, pct, rng, sd_share=None):
    """z plus Gaussian noise of ``pct`` % of |z| on each part (times ``sd_share`` per point)."""
    sd = pct / 100 * (1.0 if sd_share is None else sd_share)
    return z + np.abs(z) * sd * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))


def consistent_spectra(n: int, pct: float, seed: int) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """{family: [(frequency Hz, z ohm)] * n}: KK-consistent spectra at ``pct`` % noise."""
    noise = pct / 100 * np.sqrt(2)  # the robustness sets put noise * |Z| * (a + jb) / sqrt(2)
    out = {fam: [(c.spectrum.frequency, np.asarray(c.spectrum.z)) for c in family_cases(fam, n, seed, noise)]
           for fam in FAMILIES}
    out["headline"] = [(c.spectrum.frequency, np.asarray(c.spectrum.z)) for c in make_cases(n, 2013 + seed, noise)]
    for name, (f, fun) in FIXED.items():
        out[name] = [(f, with_noise(fun(f), pct, np.random.default_rng([seed, 7, k]))) for k in range(n)]
    f = log_grid(1e6, 0.05)
    x = np.log(f / f.min()) / np.log(f.max() / f.min())  # 0 at the lowest frequency, 1 at the highest
    for name, share in (("hetero-up", 20.0 ** (x - 1)), ("hetero-down", 20.0 ** -x)):  # pct/20 .. pct
        out[name] = [(f, with_noise(blocking_two_arcs(f), pct, np.random.default_rng([seed, 9, k]), share))
                     for k in range(n)]
    return out


def drifting_cells() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{name: (frequency Hz, noise-free z ohm)} of cells that change during the sweep."""
    f = log_grid(1e6, 0.1)
    w = 2 * np.pi * f
    elapsed = np.cumsum(np.maximum(3.0 / f, 0.2))  # s: 3 periods a point, at least 0.2 s
    s = elapsed / elapsed[-1]
    out = {}
    for rel in (0.05, 0.1, 0.2, -0.1):
        out[f"R2 {rel:+.0%}"] = (f, 40 + r_q(w, 100, 2e-9, 0.85) + r_q(w, 150 * (1 + rel * s), 2e-6, 0.8))
    out["R1 +10%"] = (f, 40 + r_q(w, 100 * (1 + 0.1 * s), 2e-9, 0.85) + r_q(w, 150, 2e-6, 0.8))
    out["RC R2 +10%"] = (f, 40 + r_c(w, 100, 1e-9) + r_c(w, 150 * (1 + 0.1 * s), 2e-6))
    low = f < 1.0
    s_low = np.where(low, (elapsed - elapsed[~low][-1]) / (elapsed[-1] - elapsed[~low][-1]), 0.0)
    out["R2 +30% below 1 Hz"] = (f, 40 + r_q(w, 100, 1e-7, 0.9) + r_q(w, 150 * (1 + 0.3 * s_low), 2e-6, 0.8))
    return out


def real_spectra() -> list[eisfit.Spectrum]:
    """The spectra of the Lin-KK audit's real-data run (its selection, at most MAX_REAL)."""
    files = sorted(glob.glob(str(REALDATA / "**" / "*"), recursive=True))
    files += sorted(glob.glob(str(REPO / "sample_data" / "**" / "*.mpt"), recursive=True))
    out: list[eisfit.Spectrum] = []
    for path in files:
        if os.path.isdir(path) or path.endswith((".md", ".py", ".ipynb")) or "MANIFEST" in path or "/reference/" in path:
            continue
        if path.endswith(".mpt") and os.path.exists(path[:-4] + ".mpr"):
            continue
        try:
            spectra = eisfit.read(path)
        except eisfit.EisfitError:
            continue
        out.extend(spectra[:4][:MAX_REAL - len(out)])
    return out


LOCAL = kk.LOCAL_NOISE_HALF_WIDTH


def rules(sds: float) -> None:
    """The drift-above-noise rule at ``sds`` noise SDs; inf: off, and the largest residual
    between the limits not judged against its local noise either (the verdict before both)."""
    kk.DRIFT_MAX_SDS = sds
    kk.LOCAL_NOISE_HALF_WIDTH = LOCAL if np.isfinite(sds) else 0


def verdict(f, z, sds: float):
    rules(sds)
    return kk.kk_test(eisfit.Spectrum(f, z, {"imag_sign": "negative"}))


def table(title: str, counts: dict, settings: list[str]) -> None:
    print(f"\n{title}")
    print(f"{'family':<38}" + "".join(f"{pct:>16g}" for pct in NOISES))
    for fam in sorted({k[0] for k in counts}):
        cells = []
        for pct in NOISES:
            c = counts.get((fam, pct))
            cells.append("" if c is None else " ".join(str(c[s]) for s in settings) + f"/{c['n']}")
        print(f"{fam:<38}" + "".join(f"{cell:>16s}" for cell in cells))


def main() -> None:
    global NOISES
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="spectra (noise seeds) per family and noise level")
    parser.add_argument("--seed", type=int, default=13, help="seed of the synthetic sets")
    parser.add_argument("--sds", type=float, nargs="+", default=[kk.DRIFT_MAX_SDS], help="DRIFT_MAX_SDS values tried")
    parser.add_argument("--noises", type=float, nargs="+", default=None, help="noise levels, %% of |Z|")
    parser.add_argument("--real", action="store_true", help="also the real spectra (../shared/realdata)")
    parser.add_argument("--plots", default=None, help="folder for the residual plots of real spectra that change")
    args = parser.parse_args()
    NOISES = tuple(args.noises) if args.noises else NOISES
    warnings.simplefilter("ignore")
    default = kk.DRIFT_MAX_SDS
    settings = ["off"] + [f"{s:g}" for s in args.sds]
    values = {"off": np.inf, **{f"{s:g}": s for s in args.sds}}
    t0 = time.perf_counter()
    false_fails: dict = {}
    for pct in NOISES:
        for fam, spectra in consistent_spectra(args.n, pct, args.seed).items():
            c = false_fails.setdefault((fam, pct), {"n": len(spectra), **{s: 0 for s in settings},
                                                    **{f"fixed {s}": 0 for s in settings[1:]}})
            for f, z in spectra:
                off = verdict(f, z, np.inf)
                for s in settings[1:]:
                    on = verdict(f, z, values[s]).passed
                    c[s] += (not on) and off.passed  # new false fails
                    c[f"fixed {s}"] += on and not off.passed
                c["off"] += not off.passed
    print(f"Lin-KK drift-above-noise rule: DRIFT_MAX_SDS {', '.join(settings[1:])} against off "
          f"({args.n} spectra per cell, seed {args.seed})")
    table("KK-consistent spectra: failed without the rules, then NEW false fails with each value / spectra",
          false_fails, settings)
    table("KK-consistent spectra: failed without the rules, then of those PASSING with each value / spectra",
          false_fails, ["off"] + [f"fixed {s}" for s in settings[1:]])
    detected: dict = {}
    for name, (f, z0) in drifting_cells().items():
        for pct in NOISES:
            c = detected.setdefault((name, pct), {"n": args.n, **{s: 0 for s in settings}})
            for k in range(args.n):
                z = with_noise(z0, pct, np.random.default_rng([k, 11, args.seed]))
                for s in settings:
                    c[s] += not verdict(f, z, values[s]).passed
    table("Drifting cells: failed without the rule, then with each value / spectra", detected, settings)
    totals = {s: sum(c[s] for c in false_fails.values()) for s in settings}
    fixed = {s: sum(c[f"fixed {s}"] for c in false_fails.values()) for s in settings[1:]}
    print(f"\nKK-consistent: {sum(c['n'] for c in false_fails.values())} spectra; failed without the rules "
          f"{totals['off']}; new false fails " + ", ".join(f"{s}: {totals[s]}" for s in settings[1:])
          + "; passing instead " + ", ".join(f"{s}: {fixed[s]}" for s in settings[1:]))
    found = {s: sum(c[s] for c in detected.values()) for s in settings}
    print(f"drifting: {sum(c['n'] for c in detected.values())} spectra; failed " +
          ", ".join(f"{s}: {found[s]}" for s in settings))
    if args.real:
        print("\nReal spectra whose verdict changes (status off -> " + ", ".join(settings[1:]) + "):")
        changed = 0
        spectra = real_spectra()
        for s in spectra:
            try:
                rules(np.inf)
                off = kk.kk_test(s)
                on = []
                for v in settings[1:]:
                    rules(values[v])
                    on.append(kk.kk_test(s))
            except eisfit.EisfitError:
                continue
            if any(r.status != off.status for r in on):
                changed += 1
                print(f"  {s.label:40s} {off.status} -> {' '.join(r.status for r in on)}  max {off.max_residual_pct:.2f} %"
                      f" = {off.max_residual_sds:.1f} noise SDs ({off.noise_sd_pct:.3f} %), source "
                      f"{s.meta.get('source', '')}")
                if args.plots:
                    import matplotlib
                    matplotlib.use("Agg")
                    from eisfit.plotting import plot_kk_residuals
                    Path(args.plots).mkdir(parents=True, exist_ok=True)
                    ax = plot_kk_residuals(off)
                    ax.figure.savefig(Path(args.plots) / f"{changed:02d}_{s.label.replace('#', '_')}.png", dpi=80)
        print(f"{changed} of {len(spectra)} real spectra change")
    rules(default)
    print(f"wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
