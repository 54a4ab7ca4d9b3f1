"""The batched Levenberg-Marquardt (eisfit.fitting.optimise): a row's path does not depend
on the rows beside it, whether they started with it or joined a running batch."""
from __future__ import annotations

import numpy as np
import pytest

from eisfit.fitting.optimise import LMRun, levenberg_marquardt, normal_from_residuals

T_S = np.linspace(0.0, 5.0, 40)
TRUTH = np.array([[2.0, 0.7], [0.5, 2.5], [8.0, 0.2]])  # amplitude, time constant (s) per data set
DATA = TRUTH[:, :1] * np.exp(-T_S / TRUTH[:, 1:]) + 0.01 * np.random.default_rng(4).standard_normal((3, T_S.size))


def decay_normal_equations(theta: np.ndarray, keys: np.ndarray):
    """Normal equations of A exp(-t/tau) against data set ``keys`` (theta = ln A, ln tau)."""
    a, tau = np.exp(theta[:, :1]), np.exp(theta[:, 1:])
    model = a * np.exp(-T_S / tau)
    r = model - DATA[keys]
    jac = np.stack([model, model * T_S / tau], axis=2)  # d model / d ln A, d model / d ln tau
    return normal_from_residuals(r, jac)


STARTS = np.log(np.array([[1.0, 1.0], [5.0, 0.1], [0.3, 3.0], [20.0, 10.0], [1.0, 0.05], [3.0, 1.0]]))
KEYS = np.array([0, 1, 2, 0, 2, 1])
LOWER, UPPER = np.full(2, -10.0), np.full(2, 10.0)


def alone(row: int):
    out = levenberg_marquardt(lambda th, idx: decay_normal_equations(th, KEYS[[row]][idx]), STARTS[[row]],
                              LOWER, UPPER, max_iter=60, ftol=1e-12, xtol=1e-12, indexed=True)
    return out.theta[0], out.cost[0], out.n_iter[0]


def test_rows_that_join_a_running_batch_follow_their_own_path():
    run = LMRun(decay_normal_equations, 2, max_iter=60, ftol=1e-12, xtol=1e-12)
    run.add(STARTS[:3], LOWER, UPPER, groups=np.arange(3), keys=KEYS[:3])
    for _ in range(4):
        run.step()
    run.add(STARTS[3:], LOWER, UPPER, groups=np.arange(3, 6), keys=KEYS[3:], defer=True)
    finished = []
    while True:
        finished += run.finished_groups().tolist()
        if not run.step():
            break
    assert sorted(finished) == list(range(6))  # each group reported once, when its row stopped
    for row in range(6):
        theta, cost, n_iter = alone(row)
        assert run.n_iter[row] == n_iter
        np.testing.assert_allclose(run.theta[row], theta, rtol=1e-12)
        np.testing.assert_allclose(run.cost[row], cost, rtol=1e-12)
    fitted = np.exp(run.theta[:3])  # the good starts reach the truth within the noise
    np.testing.assert_allclose(fitted, TRUTH[KEYS[:3]], rtol=0.05)


def test_dropped_rows_leave_the_others_untouched():
    run = LMRun(decay_normal_equations, 2, max_iter=60, ftol=1e-12, xtol=1e-12)
    run.add(STARTS, LOWER, UPPER, groups=np.arange(6), keys=KEYS)
    run.step()
    run.drop(np.array([1, 4]))
    while run.step():
        pass
    for kept, row in enumerate([0, 2, 3, 5]):
        np.testing.assert_allclose(run.theta[kept], alone(row)[0], rtol=1e-12)


def test_a_start_with_a_non_finite_cost_stops_at_once_and_its_group_finishes():
    def overflowing(theta, keys):
        cost, jtj, jtr = decay_normal_equations(theta, keys)
        cost[keys == 2] = np.nan
        return cost, jtj, jtr

    run = LMRun(overflowing, 2, max_iter=60)
    run.add(STARTS[:3], LOWER, UPPER, groups=np.array([7, 8, 9]), keys=KEYS[:3])
    assert run.finished_groups().tolist() == [9]
    assert not run.active[2] and not run.converged[2] and run.cost[2] == np.inf


def test_pruning_compares_a_row_with_the_best_of_its_own_group():
    """Starts 10x worse than their group's best after 2 iterations stop; another group's
    better optimum does not prune them."""
    out = levenberg_marquardt(lambda th, idx: decay_normal_equations(th, KEYS[idx]), STARTS, LOWER, UPPER,
                              max_iter=60, prune_factor=10.0, prune_after=2, groups=KEYS, indexed=True)
    for g in range(3):
        rows = np.flatnonzero(KEYS == g)
        best = rows[np.argmin(out.cost[rows])]
        np.testing.assert_allclose(out.theta[best], alone(best)[0], rtol=1e-9)


def test_on_bounds_measures_each_coordinate_on_its_own_scale():
    """One at-bound rule for the flag and for the solver's escalation: log coordinates by a
    relative distance; a linear one bounded on both sides relative to its span (an
    inductance bounded to [0, 1e-4] H is not on its bound at 60 nH, nor an exponent at
    0.9999); a linear one bounded only below by 0 only at exactly 0."""
    from eisfit.fitting.optimise import Transform

    log_mask = np.array([True, False, False, False])  # Q (log), L in [0, 1e-4] H, n in [0, 1], R0 >= 0
    tr = Transform(log_mask, np.array([1e-12, 0.0, 0.0, 0.0]), np.array([np.inf, 1e-4, 1.0, np.inf]))

    def hits(q, l_h, n, r0):
        low, high = tr.on_bounds(tr.to_internal(np.array([q, l_h, n, r0])))
        return low.tolist(), high.tolist()

    assert hits(1e-6, 6e-8, 0.9, 1e-9) == ([False] * 4, [False] * 4)
    assert hits(1e-12 * (1 + 1e-7), 1e-11, 1e-7, 0.0) == ([True, True, True, True], [False] * 4)
    assert hits(2e-12, 6e-8, 1.0, 5.0) == ([False] * 4, [False, False, True, False])
    assert hits(1e-6, 1e-4 * (1 - 1e-8), 0.9999, 5.0)[1] == [False, True, False, False]


def test_a_bounded_lead_inductance_of_nanohenries_neither_flags_nor_escalates():
    """garnet-symmetric-L bounds L0 to [0, 1e-4] H. An absolute bound tolerance of 1e-7 had
    read a 60 nH L0 as "on its bound" in the solver's escalation test: every such fit ran
    the second round's 32 extra starts for nothing."""
    import eisfit
    from eisfit import Spectrum
    from eisfit.model import Circuit

    f = np.logspace(7, -1, 60)
    c = Circuit("L0-R0-p(R1,CPE1)-p(R2,CPE2)")
    z = c.impedance([6e-8, 5.0, 60.0, 1e-9, 0.92, 120.0, 2e-6, 0.8], f)
    rng = np.random.default_rng(2)
    s = Spectrum(frequency=f, z=z * (1 + 0.003 * rng.standard_normal(f.size)))
    res = eisfit.fit(s, "garnet-symmetric-L")
    assert not any(flag.startswith("at-bound") for flag in res.flags), res.flags
    assert res.values["L0"] == pytest.approx(6e-8, rel=0.2)
    assert res.n_starts <= 8, res.n_starts  # the quick round only


def test_a_series_resistance_at_zero_is_an_optimum_not_a_sign_of_a_missed_one():
    """Data with no series resistance: R0 of R0-p(R1,CPE1) ends on its bound 0 (flagged),
    which the data support; the solver does not take it as a sign of a local minimum and
    runs no further rounds of starts (an exponent on 1 is treated the same way)."""
    import eisfit
    from eisfit import Spectrum
    from eisfit.model import Circuit

    f = np.logspace(4, -1, 50)
    z = Circuit("p(R1,CPE1)").impedance([100.0, 1e-5, 0.9], f)
    rng = np.random.default_rng(1)
    s = Spectrum(frequency=f, z=z * (1 + 0.003 * rng.standard_normal(f.size)))
    res = eisfit.fit(s, "R0-p(R1,CPE1)")
    assert res.values["R0"] == 0.0 and "at-bound:R0" in res.flags
    assert res.n_starts <= 8, res.n_starts  # the quick round only
    many = eisfit.fit(s, "R0-p(R1,CPE1)", starts=40)
    assert res.chisq <= many.chisq * (1 + 1e-6)
