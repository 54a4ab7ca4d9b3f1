"""Instructions executed by eisfit's campaign fits and by impedance.py's unit fit, counted by
valgrind (callgrind's Ir): a noise-free companion to ``bench_public.py``'s times for telling
two versions of the code apart.

    python bench/instructions.py                    # 100 hard spectra, this checkout
    python bench/instructions.py --n 300 --tree ../other-checkout

On the 2-core development machine the CPU time of one run of ``fit_campaign`` moves by 10-20 %
from run to run (other virtual machines on the host), so a change of a few per cent cannot be
timed; the instructions it executes move by up to ~0.4 %. They are not time: a vectorised loop
does more per instruction than the interpreter, so a change that trades Python for numpy can
save more time than instructions. Use them to compare versions, and ``bench_public.py`` for
the figures in u.

Each figure is the difference of two runs of one child process under callgrind (~1 minute
each, two at a time): the setup alone (imports, the spectra, a warm-up fit) and the setup
followed by the measured work:
- ``unit``: ``--unit-fits`` impedance.py ``CustomCircuit.fit`` calls on the unit spectrum from
  its good guess (``../shared/bench/impedance_unit.py``): Ir per fit is the instruction unit;
- ``campaign``: ``eisfit.fit_campaign(N hard spectra, jobs=1)`` (the spectra of
  ``bench_public.py``) in a process whose allocator is tuned as eisfit's workers are.
Printed: Ir per unit fit, Ir per spectrum, and the ratio (unit fits per spectrum). At 1257f41:
2,034 M per unit fit, 37.2 M per spectrum = 0.018 unit fits, the ratio the CPU times give
(``bench_public.py --cases campaign``: 4.0 ms per spectrum in a worker against u = 218 ms).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED_BENCH = HERE.parent.parent / "shared" / "bench"

_CHILD = r"""
import sys
tree, kind, n, measure = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
sys.path[:0] = [tree, tree + "/bench", SHARED]
if kind == "unit":
    import impedance_unit
    from impedance.models.circuits import CustomCircuit
    f, z, p = impedance_unit.spectrum()
    guess = [p[k] * 1.3 if not k.endswith("_1") else p[k] for k in impedance_unit.NAMES]
    CustomCircuit("R0-p(R1,CPE1)-p(R2,CPE2)", initial_guess=guess).fit(f, z)
    if measure:
        for k in range(n):
            CustomCircuit("R0-p(R1,CPE1)-p(R2,CPE2)", initial_guess=guess).fit(f, z * (1 + 1e-12 * (k + 1)))
else:
    import eisfit
    assert eisfit.__file__.startswith(tree), eisfit.__file__
    import bench_public
    from eisfit._processes import tune_allocator
    tune_allocator()
    spectra = bench_public.synthesize(bench_public.hard_truths(n))
    eisfit.fit_campaign(spectra[:20], circuit=bench_public.CIRCUIT, cache_dir=False, progress=False)
    if measure:
        eisfit.fit_campaign(spectra, circuit=bench_public.CIRCUIT, cache_dir=False, progress=False)
"""


def instructions(tree: Path, kind: str, n: int, measure: bool) -> int:
    """Ir of one child run under callgrind."""
    code = _CHILD.replace("SHARED", repr(str(SHARED_BENCH)))
    run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c",
                          code, str(tree), kind, str(n), "1" if measure else "0"],
                         capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    found = re.search(r"Collected\s*:\s*(\d+)", run.stderr)
    if run.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run failed ({kind}, n={n}):\n{run.stderr[-2000:]}")
    return int(found.group(1))


def measured(tree: Path, kind: str, n: int) -> int:
    """Ir of the measured work alone: the run with it less the setup alone (run side by side)."""
    with ThreadPoolExecutor(2) as pool:
        with_work, setup = pool.map(lambda m: instructions(tree, kind, n, m), (True, False))
    return with_work - setup


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="hard spectra in the campaign (default 100)")
    ap.add_argument("--unit-fits", type=int, default=3, help="impedance.py fits measured (default 3)")
    ap.add_argument("--tree", type=Path, default=HERE.parent, help="the eisfit checkout measured (default this one)")
    a = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: this benchmark counts instructions with callgrind")
    tree = a.tree.resolve()
    unit = measured(tree, "unit", a.unit_fits) / a.unit_fits
    campaign = measured(tree, "campaign", a.n) / a.n
    print(f"[instructions] impedance.py CustomCircuit.fit of the unit spectrum: {unit / 1e6:.1f} M per fit")
    print(f"[instructions] fit_campaign({a.n} hard spectra, jobs=1) at {tree}: {campaign / 1e6:.1f} M per spectrum "
          f"= {campaign / unit:.3f} unit fits per spectrum")


if __name__ == "__main__":
    main()
