"""eisfit.fit's chi-squares on the real files, to compare two versions of the code.

    python scripts/real_fits_snapshot.py OUT.json [--compare BEFORE.json] [--sweeps 3]

For every readable file under ``../shared/realdata`` (its first ``--sweeps`` sweeps with at
least 8 distinct frequencies) and every circuit of ``CIRCUITS`` (those of
``real_optimum_check.py`` and three more), fits ``eisfit.fit(sweep, circuit)`` with no guess
and writes ``{case: {"chisq", "start_won", "kk_passed", "flags"}}`` as JSON (a fit the engine
refuses: chisq null). With ``--compare``, prints the cases whose chi-square differs from the
earlier snapshot's by more than 1e-9 relative, worst first, and how many are worse by more
than 0.1 %; then the cases whose Kramers-Kronig verdict or flags changed (where the earlier
snapshot has them).

A synthetic test set does not stand for real data: polishing 2 stage-1 optima instead of 3
kept every chi-square of 1,000 hard synthetic spectra and made 8 of 837 real fits worse
(up to 1.66x). ~1 minute for the 837 fits of session 30.
"""
from __future__ import annotations

import argparse
import json
import math
import time
import warnings

import numpy as np

import eisfit
from real_optimum_check import CIRCUITS as SEARCHED, MIN_DISTINCT, REALDATA, files

CIRCUITS = SEARCHED + ("R0-p(R1,CPE1)-p(R2,CPE2)-CPE3", "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)", "R0-p(R1,CPE1)")
WORSE = 1e-3  # relative chi-square increase counted as worse


def snapshot(n_sweeps: int) -> dict[str, dict]:
    """{"file#sweep circuit": {"chisq": float | None, "start_won": str, "flags": [str]}} over the
    real files."""
    out: dict[str, dict] = {}
    for path in files(0, 1):
        try:
            spectra = eisfit.read(path)
        except eisfit.EisfitError:
            continue
        for k, s in enumerate(spectra[:n_sweeps]):
            if np.unique(s.frequency).size < MIN_DISTINCT:
                continue
            for circuit in CIRCUITS:
                key = f"{path.relative_to(REALDATA)}#{k} {circuit}"
                try:
                    res = eisfit.fit(s, circuit)
                    out[key] = {"chisq": res.chisq, "start_won": res.start_won, "kk_passed": res.kk_passed,
                                "flags": list(res.flags)}
                except eisfit.EisfitError:
                    out[key] = {"chisq": None, "start_won": "", "kk_passed": None, "flags": []}
    return out


def compare(now: dict[str, dict], before: dict[str, dict]) -> None:
    """Print the cases whose chi-square moved, worst first, and the count worse by WORSE."""
    moved = []
    for key in sorted(set(now) & set(before)):
        a, b = before[key]["chisq"], now[key]["chisq"]
        if a is None or b is None:
            if (a is None) != (b is None):
                moved.append((math.inf, key, a, b))
            continue
        ratio = b / a if a > 0 else (1.0 if b == a else math.inf)
        if abs(ratio - 1) > 1e-9:
            moved.append((ratio, key, a, b))
    for ratio, key, a, b in sorted(moved, reverse=True):
        print(f"{ratio:.5f}  {key}: {a} -> {b} (won by {before[key]['start_won']} -> {now[key]['start_won']})")
    worse = sum(ratio > 1 + WORSE for ratio, *_ in moved)
    print(f"{len(set(now) & set(before))} cases in both, {len(moved)} moved, {worse} worse by more than "
          f"{100 * WORSE:g} %")
    changed = 0
    for key in sorted(set(now) & set(before)):
        if "flags" not in before[key]:
            continue
        a, b = before[key], now[key]
        gone, new = sorted(set(a["flags"]) - set(b["flags"])), sorted(set(b["flags"]) - set(a["flags"]))
        if a["kk_passed"] != b["kk_passed"] or gone or new:
            changed += 1
            print(f"  {key}: kk_passed {a['kk_passed']} -> {b['kk_passed']}; flags -{gone} +{new}")
    print(f"{changed} cases whose Kramers-Kronig verdict or flags changed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the snapshot to write (JSON)")
    parser.add_argument("--compare", default=None, help="an earlier snapshot to compare with")
    parser.add_argument("--sweeps", type=int, default=3, help="sweeps read from each file")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    now = snapshot(args.sweeps)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(now, fh, indent=0)
    print(f"{len(now)} fits in {time.perf_counter() - t0:.0f} s -> {args.out}")
    if args.compare:
        with open(args.compare, encoding="utf-8") as fh:
            compare(now, json.load(fh))


if __name__ == "__main__":
    main()
