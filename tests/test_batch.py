"""Batched fits (eisfit.fitting.batch): same optimum as eisfit.fit, seeded chains, streaming.

No timing assertions here: bench/bench_fit.py measures speed.
"""
from __future__ import annotations

import csv
import math
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

from eisfit import Spectrum
from eisfit.fitting.batch import fit_batch, fit_chain, fit_stream, summary_row
from eisfit.fitting.engine import fit
from eisfit.fitting.robustness import CIRCUIT, make_cases
from eisfit.io import read
from eisfit.model import Circuit

REPO = Path(__file__).resolve().parent.parent
SAMPLE_CSV = sorted((REPO / "sample_data" / "garnet_campaign" / "csv").glob("*.csv"))


def _same(a, b, rtol=1e-9):
    """Same optimum, statistics, flags and derived quantities (to rtol, nan == nan)."""
    assert a.flags == b.flags
    assert a.kk_passed == b.kk_passed
    assert a.chisq == pytest.approx(b.chisq, rel=rtol)
    for n in a.param_names:
        assert a.values[n] == pytest.approx(b.values[n], rel=max(rtol, 1e-6)), n
        assert _close(a.stderr[n], b.stderr[n], 1e-6), n
    assert set(a.derived) == set(b.derived)
    for k, v in a.derived.items():
        # the stderr of L/((R0+R1)A) is a small difference of large, anticorrelated terms: the
        # two paths' optima (equal to 1e-6) move it by up to ~1 %; every other key to 1e-6
        cancels = k == "sigma_total_with_series_S_per_cm_stderr"
        assert _close(v, b.derived[k], 2e-2 if cancels else 1e-6), k


def _close(x, y, rtol):
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return abs(x - y) <= rtol * max(abs(x), abs(y)) + 1e-300


def test_batch_equals_fit_on_robustness_cases():
    spectra = [c.spectrum for c in make_cases(8, seed=7)]
    batched = fit_batch(spectra, CIRCUIT, area_cm2=0.5, thickness_cm=0.05)
    for s, b in zip(spectra, batched):
        _same(fit(s, CIRCUIT, area_cm2=0.5, thickness_cm=0.05), b)


def test_batch_larger_than_the_kk_memory_keeps_every_kk_verdict(monkeypatch):
    """The Lin-KK memory keeps the last KK_MEMORY spectra; a batch larger than that must
    still give every spectrum its own KK verdict (it feeds escalation and lack-of-fit)."""
    import eisfit.fitting.solver as solver

    monkeypatch.setattr(solver, "KK_MEMORY", 3)
    solver._KK_MEMORY.clear()
    cases = make_cases(8, seed=11)
    batch = fit_batch([c.spectrum for c in cases], CIRCUIT)
    assert all(r.kk_passed is not None for r in batch)
    for c, b in zip(cases, batch):
        _same(b, fit(c.spectrum, CIRCUIT))


def test_batch_equals_fit_from_a_guess_and_equals_lmfit_engine():
    cases = make_cases(4, seed=11)
    spectra = [c.spectrum for c in cases]
    truths = [c.truth for c in cases]
    batched = fit_batch(spectra, CIRCUIT, initial=truths, starts=1, kk=False)
    for s, t, b in zip(spectra, truths, batched):
        _same(fit(s, CIRCUIT, initial=t, starts=1, kk=False), b)
        ref = fit(s, CIRCUIT, initial=t, starts=1, kk=False, engine="lmfit")
        assert b.chisq <= ref.chisq * (1 + 1e-6)


def test_batch_on_sample_campaign_mixed_grids():
    spectra = [read(p)[0] for p in SAMPLE_CSV[:5]]
    # a cropped copy puts one spectrum on its own grid
    spectra.append(spectra[0].crop(None, 1e6))
    opts = dict(circuit="garnet-symmetric-L", area_cm2=0.785, thickness_cm=0.03)
    batched = fit_batch(spectra, **opts)
    for s, b in zip(spectra, batched):
        _same(fit(s, **opts), b)


def test_spectra_on_different_grids_of_equal_length_are_one_batch_with_the_results_of_single_fits():
    """Instruments that log the frequency they measured at give every sweep its own grid:
    such spectra share one batched problem (one grid per row) and keep the single-fit results."""
    from eisfit.fitting.batch import _preparer
    from eisfit.fitting.solver import BatchProblem, chunks_by_grid

    rng = np.random.default_rng(3)
    circ = Circuit(CIRCUIT)
    spectra = []
    for k, case in enumerate(make_cases(6, seed=5)):
        f = case.spectrum.frequency * (1 + (1e-4 * rng.standard_normal(case.spectrum.frequency.size) if k else 0))
        z = circ.impedance(np.array([case.truth[n] for n in circ.param_names]), f)
        z = z * (1 + 0.005 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2))
        spectra.append(Spectrum(frequency=f, z=z, meta={"label": f"jitter{k}"}))
    preps = [_preparer(CIRCUIT, {})(s, None, "auto") for s in spectra]
    assert list(chunks_by_grid(preps)) == [list(range(6))]
    batch = BatchProblem.of(preps)
    assert batch.frequency is not None and batch.frequency.shape == (6, spectra[0].frequency.size)
    # each row's model is its own spectrum's circuit at its own frequencies
    p = np.array([[case.truth[n] for n in circ.param_names] for case in make_cases(6, seed=5)])
    np.testing.assert_array_equal(circ.impedance(p, batch.frequency)[2], circ.impedance(p[2], spectra[2].frequency))
    for s, b in zip(spectra, fit_batch(spectra, CIRCUIT)):
        _same(fit(s, CIRCUIT), b)


def test_kk_of_a_stack_matches_kk_test_of_each_spectrum():
    from eisfit.analysis.kk import kk_test, kk_tests
    from eisfit.analysis.quality import kk_noise_level

    spectra = [c.spectrum for c in make_cases(5, seed=3)]
    f = spectra[0].frequency
    z = np.array([s.z for s in spectra])
    z[1] = z[1] * (1 + 0.03 * np.linspace(0, 1, f.size))  # drift: not KK-consistent
    stacked = kk_tests(f, z)
    for zi, res in zip(z, stacked):
        ref = kk_test(Spectrum(f, zi))
        assert res.passed == ref.passed
        assert res.max_residual_pct == pytest.approx(ref.max_residual_pct, rel=1e-6)
        assert res.n_rc == ref.n_rc and res.status == ref.status
        assert kk_noise_level(res) == pytest.approx(kk_noise_level(ref), rel=1e-6)
        np.testing.assert_allclose(res.z_fit, ref.z_fit, rtol=1e-8)


def test_spectra_of_different_lengths_are_one_batch_padded_with_points_that_weigh_nothing():
    """Points dropped as inductive, an aborted sweep: 44-51 points in one batched problem
    (padding of infinite residual scale), each with the results of its single fit."""
    from eisfit.fitting.batch import _preparer
    from eisfit.fitting.solver import BatchProblem, chunks_by_grid

    cases = make_cases(5, seed=9)
    spectra = [c.spectrum.select(np.arange(len(c.spectrum)) >= k) for k, c in zip((0, 3, 7, 1, 5), cases)]
    preps = [_preparer(CIRCUIT, {})(s, None, "auto") for s in spectra]
    assert list(chunks_by_grid(preps)) == [list(range(5))]
    batch = BatchProblem.of(preps)
    n = len(spectra[0])
    assert batch.z.shape == (5, n) and np.all(np.isinf(batch.sr[2, n - 7:])) and np.all(np.isfinite(batch.sr[0]))
    for s, b in zip(spectra, fit_batch(spectra, CIRCUIT)):
        _same(fit(s, CIRCUIT), b)
        assert b.n_points == len(s)
    calc = [_preparer(CIRCUIT, {"weighting": "modulus-calc"})(s, None, "auto") for s in spectra[:2]]
    assert len(list(chunks_by_grid(calc))) == 2  # model weights at every point: batched by length


def test_fitted_curves_of_a_batch_are_those_of_one_evaluation_per_fit():
    """The batch's fitted curves (Circuit.impedance_at_each: one circuit evaluation, grids of
    44-51 points padded) equal the circuit evaluated at each fit's values on its own points,
    to the bit."""
    cases = make_cases(4, seed=11)
    spectra = [c.spectrum.select(np.arange(len(c.spectrum)) >= k) for k, c in zip((0, 7, 2, 4), cases)]
    circuit = Circuit(CIRCUIT)
    p = np.array([[c.truth[n] * (1.0 + 0.1 * k) for n in circuit.param_names] for k, c in enumerate(cases)])
    curves = circuit.impedance_at_each(p, [s.frequency for s in spectra])
    assert len({s.frequency.size for s in spectra}) == 4
    for row, s, z in zip(p, spectra, curves):
        assert np.array_equal(z, circuit.impedance(row, s.frequency))
    curves[0][0] = 0.0  # each curve is its own array: a result's z_fit changes no other
    assert np.all(curves[1] != 0.0)


def test_distinct_best_takes_the_lowest_cost_of_each_basin_and_never_a_nan_row():
    """Starts within 1e-3 (every coordinate) of a lower one are the same optimum; a row with a
    nan coordinate is apart from no other; non-finite costs end the choice."""
    from eisfit.fitting.solver import _row_slices, distinct_best

    theta = np.array([[0.0, 1.0], [0.0005, 1.0], [1.0, 1.0], [np.nan, 1.0], [5.0, 5.0], [9.0, 9.0]])
    cost = np.array([1.0, 0.5, 2.0, 3.0, 4.0, np.inf])
    assert distinct_best(theta, cost, 3).tolist() == [1, 2, 4]
    assert distinct_best(theta, cost, 2).tolist() == [1, 2]
    assert distinct_best(theta, np.full(6, np.inf), 3).size == 1  # nothing finite: one of them
    assert distinct_best(theta[[0, 3]], np.array([1.0, 2.0]), 3).tolist() == [0]  # nan: never apart
    assert _row_slices(np.array([4, 4, 7, 2, 2, 2])) == [slice(0, 2), slice(2, 3), slice(3, 6)]


def test_kk_of_spectra_each_on_its_own_grid_matches_kk_test_of_each_spectrum():
    """One grid per spectrum (measured frequencies; one grid spanning a wider range, which
    changes the default longest chain): the same verdicts as each spectrum alone."""
    from eisfit.analysis.kk import kk_test, kk_tests
    from eisfit.analysis.quality import kk_noise_level

    rng = np.random.default_rng(4)
    circ = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)-CPE3")  # a blocking tail: the series-capacitance layout runs
    f0 = np.logspace(6, -1, 36)
    grids = f0 * 10 ** rng.uniform(-0.05, 0.05, (6, 1)) * (1 + 1e-4 * rng.standard_normal((6, f0.size)))
    grids[5] = np.logspace(6.5, -1.5, 36)  # 8 decades instead of 7: a longer default chain
    p = np.array([10.0, 80.0, 3e-9, 0.9, 300.0, 2e-6, 0.8, 1e-3, 0.9])
    z = np.array([circ.impedance(p * rng.uniform(0.7, 1.3, p.size) ** np.r_[1, 1, 1, 0, 1, 1, 0, 1, 0]
                                 * np.r_[1, 1, 1, 1, 1, 1, 1, 1e6 if k % 2 else 1, 1], g)  # odd: no tail
                  for k, g in enumerate(grids)])
    z *= 1 + 0.004 * (rng.standard_normal(z.shape) + 1j * rng.standard_normal(z.shape)) / np.sqrt(2)
    z[2] = z[2].real * (1 + 0.2 * np.linspace(0, 1, f0.size)) + 1j * z[2].imag  # not KK-consistent
    together = kk_tests(grids, z)
    assert {r.capacitance_F is None for r in together} == {True, False}  # both layouts kept somewhere
    assert not together[2].passed
    for g, zi, res in zip(grids, z, together):
        ref = kk_test(Spectrum(g, zi))
        assert res.passed == ref.passed and res.status == ref.status
        assert res.n_rc == ref.n_rc and (res.capacitance_F is None) == (ref.capacitance_F is None)
        assert res.max_residual_pct == pytest.approx(ref.max_residual_pct, rel=1e-6)
        assert kk_noise_level(res) == pytest.approx(kk_noise_level(ref), rel=1e-6)
        np.testing.assert_array_equal(res.frequency, ref.frequency)
        np.testing.assert_allclose(res.z_fit, ref.z_fit, rtol=1e-8)
    assert together[5].n_rc != together[0].n_rc or together[5].tau_s[0] != together[0].tau_s[0]


def test_kk_of_grids_whose_default_chain_lengths_differ_matches_kk_test_of_each():
    """60 points over 3.9 and 4.3 decades: default longest chains of 20 and 22 elements."""
    from eisfit.analysis.kk import default_max_rc, kk_test, kk_tests

    circ = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
    grids = np.array([np.logspace(5, 1.1, 60), np.logspace(5, 0.7, 60)])
    assert len({default_max_rc(60, 2 * np.pi * g.min(), 2 * np.pi * g.max()) for g in grids}) == 2
    rng = np.random.default_rng(8)
    z = np.array([circ.impedance(np.array([5.0, 50.0, 2e-8, 0.85, 200.0, 1e-5, 0.75]), g) for g in grids])
    z *= 1 + 1e-5 * (rng.standard_normal(z.shape) + 1j * rng.standard_normal(z.shape)) / np.sqrt(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # with little noise mu stays >= c: the longest chain is used
        together, alone = kk_tests(grids, z), [kk_test(Spectrum(g, zi)) for g, zi in zip(grids, z)]
    assert [r.n_rc for r in alone] == [20, 22]
    for res, ref in zip(together, alone):
        assert (res.n_rc, res.status) == (ref.n_rc, ref.status)
        np.testing.assert_allclose(res.z_fit, ref.z_fit, rtol=1e-8)


def _drifting_chain(n=12, seed=5):
    rng = np.random.default_rng(seed)
    circ = Circuit(CIRCUIT)
    f = np.logspace(6, 0, 43)
    out = []
    for k in range(n):
        p = np.array([20, 100 * (1 + 0.05 * k), 1e-8, 0.9, 300 * (1 + 0.1 * k), 1e-5, 0.8])
        z = circ.impedance(p, f)
        z = z + 0.003 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
        out.append(Spectrum(f, z, {"label": f"k{k}"}))
    return out


def test_chain_matches_sequential_campaign_rule():
    spectra = _drifting_chain()
    chain = fit_chain(spectra, CIRCUIT, kk=False)
    kept = None
    for k, s in enumerate(spectra):
        cold = fit(s, CIRCUIT, kk=False)
        assert chain.cold_chisq[k] == pytest.approx(cold.chisq, rel=1e-9)
        if kept is not None:
            seeded = fit(s, CIRCUIT, kk=False, initial=kept.values, starts=1)
            # the campaign's rule: the seeded fit is kept where it is lower by more than 1e-6
            # (relative) and more than 0.1 s^2 (s^2 = chisq / dof), else the cold one
            margin = max(1e-6 * cold.chisq, 0.1 * cold.chisq / cold.dof)
            kept = seeded if seeded.chisq < cold.chisq - margin else cold
        else:
            kept = cold
        assert chain.kept[k].chisq == pytest.approx(kept.chisq, rel=1e-8)
        for n in kept.param_names:
            assert chain.kept[k].values[n] == pytest.approx(kept.values[n], rel=1e-4)
    assert np.isnan(chain.seeded_chisq[0]) and np.all(np.isfinite(chain.seeded_chisq[1:]))
    assert all(r.kk_passed is None for r in chain.kept)  # kk=False


def test_chain_skips_seeds_that_fit_worse_than_the_data_guess():
    """Unrelated neighbours (R1, R2 a decade or more apart, arcs moved): where the previous
    optimum describes the spectrum worse than its own data guess (spectrum a after b), no
    seeded fit runs and the cold fit is kept; the drifting chain above keeps every seeded
    fit. (b's data guess is poorer than a's optimum, so b is still seeded from a.)"""
    from eisfit.fitting.engine import _prepare
    from eisfit.fitting.solver import start_costs

    f = np.logspace(6, -1, 50)
    circ = Circuit(CIRCUIT)
    a = [8.0, 40.0, 6.3e-7, 0.92, 900.0, 1.1e-3, 0.8]  # arcs at tau 1e-5 s and 1 s
    b = [30.0, 2000.0, 1.4e-6, 0.85, 60.0, 1.1e-3, 0.9]  # arcs at tau 1e-3 s and 0.05 s
    rng = np.random.default_rng(4)
    spectra = []
    for p in (a, b, a, b):
        z = circ.impedance(np.array(p), f)
        spectra.append(Spectrum(f, z * (1 + 0.004 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)))))
    chain = fit_chain(spectra, CIRCUIT, kk=False)
    prep = _prepare(spectra[2], CIRCUIT, area_cm2=None, thickness_cm=None, symmetric=True, weighting="modulus",
                    sigma=None, fmin=None, fmax=None, drop_inductive="auto", initial=None, fixed=None,
                    bounds=None, expr=None, starts="auto", engine="fast")
    seed = np.array([chain.kept[1].values[n] for n in circ.param_names])
    guess = np.array([prep.start_list[0][n] for n in circ.param_names])
    assert start_costs([prep], seed[None])[0] > start_costs([prep], guess[None])[0]
    assert np.isnan(chain.seeded_chisq[2]) and chain.seed_source[2] == "cold"
    assert chain.kept[2].chisq == pytest.approx(fit(spectra[2], CIRCUIT, kk=False).chisq, rel=1e-9)


def test_chain_results_carry_one_kk_outcome_per_spectrum_and_full_statistics():
    spectra = _drifting_chain(n=5)
    chain = fit_chain(spectra, CIRCUIT)
    for s, res in zip(spectra, chain.kept):
        single = fit(s, CIRCUIT, initial=res.values, starts=1)
        assert res.kk_passed == single.kk_passed
        assert res.kk_max_residual_pct == pytest.approx(single.kk_max_residual_pct, rel=1e-9)
        assert res.stderr["R2"] == pytest.approx(single.stderr["R2"], rel=1e-4)
        assert res.derived.keys() == single.derived.keys()


def test_chain_takes_cold_fits_solved_before_and_solves_only_the_others(monkeypatch):
    """``cold_rows`` (rows of an earlier chain's ``cold``, what a campaign's repair passes):
    those positions are not solved again (the solver sees the other spectra only), and the
    chain keeps what it keeps with every cold fit solved: the same sources and optima."""
    from eisfit.fitting import batch

    spectra = _drifting_chain(n=5)
    first = fit_chain(spectra, CIRCUIT, kk=False)
    solved = []
    solve = batch.solve

    def counting(preps, **kwargs):
        solved.append(len(preps))
        return solve(preps, **kwargs)

    monkeypatch.setattr(batch, "solve", counting)
    again = fit_chain(spectra, CIRCUIT, kk=False, cold_rows={k: first.cold.rows([k]) for k in (0, 3)})
    assert solved == [3]
    assert again.seed_source == first.seed_source
    np.testing.assert_allclose(again.cold_chisq, first.cold_chisq, rtol=1e-9)
    for a, b in zip(again.kept, first.kept):
        assert a.chisq == pytest.approx(b.chisq, rel=1e-9)
        assert a.values["R2"] == pytest.approx(b.values["R2"], rel=1e-6)
    solved.clear()
    every = fit_chain(spectra, CIRCUIT, kk=False, cold_rows={k: first.cold.rows([k]) for k in range(5)})
    assert solved == [] and [r.chisq for r in every.kept] == pytest.approx([r.chisq for r in first.kept], rel=1e-9)


def test_stream_writes_the_in_memory_rows(tmp_path):
    spectra = _drifting_chain(n=9)
    out = tmp_path / "summary.csv"
    summary = fit_stream(iter(spectra), CIRCUIT, out, chunk_size=4, kk=False, seeded=False)
    assert summary.n_rows == 9 and summary.n_chunks == 3
    rows = list(csv.DictReader(open(out)))
    expected = [summary_row(r, "cold") for r in fit_batch(spectra, CIRCUIT, kk=False)]
    assert [r["label"] for r in rows] == [e["label"] for e in expected]
    for got, exp in zip(rows, expected):
        assert float(got["R2"]) == pytest.approx(exp["R2"], rel=1e-12)
        assert float(got["chisq"]) == pytest.approx(exp["chisq"], rel=1e-12)
        assert got["flags"] == exp["flags"]


def test_stream_seeded_chunks_equal_one_chain_when_chunk_holds_all(tmp_path):
    spectra = _drifting_chain(n=6)
    out = tmp_path / "s.csv"
    fit_stream(spectra, CIRCUIT, out, chunk_size=10, kk=False)
    chain = fit_chain(spectra, CIRCUIT, kk=False)
    rows = list(csv.DictReader(open(out)))
    for got, res, src in zip(rows, chain.kept, chain.seed_source):
        assert float(got["chisq"]) == pytest.approx(res.chisq, rel=1e-12)
        assert got["seed_source"] == src


def test_stream_memory_is_bounded_for_a_generator(tmp_path):
    """2,000 tiny spectra from a generator: memory does not grow with the number fitted."""
    circ = Circuit("R0-p(R1,C1)")
    f = np.logspace(4, 0, 9)

    def gen(n):
        for k in range(n):
            z = circ.impedance(np.array([10.0, 100.0 + k % 7, 1e-5]), f)
            yield Spectrum(f, z * (1 + 1e-3 * np.sin(k + np.arange(f.size))), {"label": f"s{k}"})

    opts = dict(chunk_size=200, kk=False, seeded=False, starts=1)
    tracemalloc.start()
    fit_stream(gen(400), "R0-p(R1,C1)", tmp_path / "a.csv", **opts)
    _, peak_small = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    summary = fit_stream(gen(2000), "R0-p(R1,C1)", tmp_path / "b.csv", **opts)
    _, peak_large = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert summary.n_rows == 2000
    assert peak_large < 1.5 * peak_small + 2e6


@pytest.mark.parametrize("weighting", ["modulus", "proportional", "unit", "modulus-calc"])
def test_solver_normal_equations_equal_those_of_the_stacked_weighted_residuals(weighting):
    """The solver's hot path (the real weighted Jacobian written from the circuit's
    derivative columns, one row per problem) against J^T J and J^T r of the stacked
    residuals and Jacobian the covariance uses, with a fixed parameter."""
    from eisfit.fitting.engine import _prepare
    from eisfit.fitting.optimise import normal_from_residuals
    from eisfit.fitting.solver import BatchProblem

    cases = make_cases(6, seed=8)
    preps = [_prepare(c.spectrum, CIRCUIT, area_cm2=None, thickness_cm=None, symmetric=True, weighting=weighting,
                      sigma=None, fmin=None, fmax=None, drop_inductive="auto", initial=None, fixed={"R0": 4.0},
                      bounds=None, expr=None, starts=1, engine="fast") for c in cases]
    batch = BatchProblem.of(preps, owner=np.array([0, 1, 2, 3, 4, 5, 0, 3]))
    ref = preps[0].problem
    rng = np.random.default_rng(2)
    true = np.array([[c.truth[n] for n in Circuit(CIRCUIT).param_names] for c in cases])
    theta = ref.transform.to_internal(true[batch.owner][:, ref.free]) + 0.2 * rng.standard_normal((8, ref.free.size))
    idx = np.arange(8)
    cost, jtj, jtr = batch.normal_equations(theta, idx)
    want = normal_from_residuals(*batch.residuals_and_jacobian(theta, idx))
    np.testing.assert_allclose(cost, want[0], rtol=1e-12)
    np.testing.assert_allclose(jtj, want[1], rtol=1e-10, atol=1e-12 * np.abs(want[1]).max())
    np.testing.assert_allclose(jtr, want[2], rtol=1e-10, atol=1e-12 * np.abs(want[2]).max())


def test_a_seed_is_fitted_exactly_where_it_starts_below_every_quick_start_of_its_spectrum():
    """The seed gate of fit_chain, checked against start costs computed one by one: the
    seeded fit of position k runs iff the kept values of k-1 describe spectrum k at least as
    well as the best of k's own quick-round starts (data guess and screened placements), or
    when k's cold fit swapped the arcs of k-1's kept values and those describe spectrum k at
    most SWAPPED_SEED_RATIO times worse (the fit in k-1's identity is then tried; an unrelated
    spectrum's seed is not)."""
    from eisfit.analysis.derived import circuit_arcs, swapped_arcs
    from eisfit.fitting.batch import SWAPPED_SEED_RATIO
    from eisfit.fitting.engine import _prepare
    from eisfit.fitting.solver import start_costs

    spectra = [c.spectrum for c in make_cases(12, seed=31)] + _drifting_chain(n=4)
    chain = fit_chain(spectra, CIRCUIT, kk=False, profile=False)
    cold = fit_batch(spectra, CIRCUIT, kk=False, profile=False)
    arcs = circuit_arcs(Circuit(CIRCUIT), branches=True)
    names = Circuit(CIRCUIT).param_names
    ran, swapped_far = [], []
    for k in range(1, len(spectra)):
        prep = _prepare(spectra[k], CIRCUIT, area_cm2=None, thickness_cm=None, symmetric=True, weighting="modulus",
                        sigma=None, fmin=None, fmax=None, drop_inductive="auto", initial=None, fixed=None,
                        bounds=None, expr=None, starts="auto", engine="fast")
        own = min(start_costs([prep], np.array([[prep.start_list[j][n] for n in names]]))[0]
                  for j in range(prep.n_quick))
        seed = np.array([[chain.kept[k - 1].values[n] for n in names]])
        swapped = bool(swapped_arcs(chain.kept[k - 1].values, cold[k].values, arcs))
        cost = start_costs([prep], seed)[0]
        expected = cost <= own or (swapped and cost <= SWAPPED_SEED_RATIO * own)
        assert (not np.isnan(chain.seeded_chisq[k])) == expected, k
        ran.append(expected)
        swapped_far.append(swapped and cost > SWAPPED_SEED_RATIO * own)
    assert any(ran) and not all(ran)  # both branches are exercised
    assert any(swapped_far)  # a seed the cold fit swapped, too far off to be tried


def test_cold_fit_missed_needs_a_gap_of_more_than_one_s2_and_0_1_percent():
    """seed-disagreement: the seeded minimum must lie below the cold one by more than
    0.1 % of chi-square and by more than 1 s^2 (s^2 = chisq / dof); a smaller gap is the
    same minimum reached to within the polish's slack (it stops creeping at 0.1 s^2)."""
    from eisfit.fitting.batch import cold_fit_missed

    dof = 100  # s^2 = chisq / 100: 1 s^2 is 1 % of chi-square
    assert cold_fit_missed(1.02, 1.0, dof)  # 2 s^2 and 2 %
    assert not cold_fit_missed(1.005, 1.0, dof)  # 0.5 %: above 0.1 %, but only 0.5 s^2
    assert not cold_fit_missed(1.0005, 1.0, 5000)  # 2.5 s^2 at dof 5000, but only 0.05 %
    assert cold_fit_missed(1.002, 1.0, 5000)  # 10 s^2 and 0.2 %
    assert not cold_fit_missed(1.0, 1.02, dof)  # the cold fit is the lower one
    assert not cold_fit_missed(1.0, float("nan"), dof)  # no seeded fit ran
    assert not cold_fit_missed(float("inf"), 1.0, dof)


def test_a_flat_valley_chain_raises_no_seed_disagreement():
    """A drifting cell whose electrolyte arc lies above the measured range (R0 and R1
    trade along a flat valley): cold and seeded fits stop within a fraction of s^2 of each
    other, none is a missed minimum. (With R0 in log coordinates cold fits stopped where
    R0 slid towards 0, up to 0.5 % of chi-square above the seeded ones: the old rule, 0.1 %
    alone, flagged them.)"""
    from eisfit.fitting.batch import _chain_outcomes

    circuit = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)-CPE3")
    f = np.logspace(6, -2, 60)
    rng = np.random.default_rng(7)
    spectra = []
    for k in range(40):
        p = [12.0, 45.0, 2e-9, 0.92, 80.0 * (1 + 0.5 * np.sin(k / 40)), 3e-6, 0.8, 2e-3, 0.75]
        z = circuit.impedance(np.array(p), f)
        z = z + 0.005 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2)
        spectra.append(Spectrum(f, z))
    out = _chain_outcomes(spectra, circuit.string, {})
    seeded = np.array([o["seeded_chisq"] for o in out])
    cold = np.array([o["cold_chisq"] for o in out])
    dof = np.array([o["result"].dof for o in out])
    ran = np.isfinite(seeded)
    assert ran.sum() > 20  # the seeds describe their neighbours: seeded fits ran
    gap_s2 = (cold - seeded) / (seeded / dof)
    assert np.max(gap_s2[ran]) < 1.0  # cold and seeded minima within a fraction of s^2
    assert not any(o["disagree"] for o in out)


def test_polish_stream_gives_the_single_start_fits_of_solve(monkeypatch):
    """PolishStream (the seeded fits of a chain) runs the polish of a one-start list as
    solve() does, continuation included: the same optima, costs and convergence, whatever
    joins the running batch when. Flat-valley spectra (an arc above the measured range),
    started 30 % off, need more than POLISH_ITER iterations: the continuation is exercised."""
    from eisfit.fitting import solver
    from eisfit.fitting.engine import _prepare

    circuit = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)-CPE3")
    f = np.logspace(6, -2, 60)
    rng = np.random.default_rng(7)
    preps = []
    for k in range(8):
        truth = np.array([12.0, 45.0, 2e-9, 0.92, 80.0 + 4 * k, 3e-6, 0.8, 2e-3, 0.75])
        z = circuit.impedance(truth, f)
        z = z + 0.005 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2)
        off = truth * np.where(np.arange(9) % 3 == 2, 1.0, 1.3)  # 30 % off, within the bounds (n <= 1)
        start = dict(zip(circuit.param_names, np.minimum(off, [b[1] for b in circuit.default_bounds])))
        preps.append(_prepare(Spectrum(f, z), circuit.string, area_cm2=None, thickness_cm=None, symmetric=True,
                              weighting="modulus", sigma=None, fmin=None, fmax=None, drop_inductive="auto",
                              initial=start, fixed=None, bounds=None, expr=None, starts=1, engine="fast"))
    monkeypatch.setattr(solver, "_repair_round", lambda preps, sol: None)  # solve's polish alone
    want = solver.solve(preps, kk=False)
    monkeypatch.undo()
    limits = []
    add = solver.PolishStream._add
    monkeypatch.setattr(solver.PolishStream, "_add", lambda self, i, theta, m: limits.append(m) or add(self, i, theta, m))
    stream = solver.PolishStream(preps)
    names = circuit.param_names
    for i in (0, 1, 2):  # the others join a batch that is already running
        stream.start(i, np.array([preps[i].start_list[0][n] for n in names]))
    got = {}
    steps = 0
    while stream.running:
        got.update((i, (cost, p, conv)) for i, cost, p, conv in stream.step())
        steps += 1
        if steps == 5:
            for i in range(3, 8):
                stream.start(i, np.array([preps[i].start_list[0][n] for n in names]))
    assert sorted(got) == list(range(8))
    assert solver.POLISH_CONTINUE in limits  # some polish ran on after POLISH_ITER iterations
    for i in range(8):
        cost, p, conv = got[i]
        assert cost == pytest.approx(want.cost[i], rel=1e-12)
        np.testing.assert_allclose(p, want.p_best[i], rtol=1e-9)
        assert conv == want.converged[i]


def test_a_seeded_fit_is_kept_only_when_distinctly_lower():
    """The chain keeps the seeded fit where its chi-square is lower than the cold fit's by
    more than 0.1 s^2 (s^2 = chisq / dof) and 1e-6 relative: a smaller gap is one minimum
    reached twice (where a parameter is undetermined, polishes stop at different points of
    a flat valley), and keeping it re-seeded the rest of the chain position after position."""
    from eisfit.fitting.batch import _seed_wins
    from eisfit.fitting.engine import _prepare

    spectrum = _drifting_chain(n=1)[0]
    prep = _prepare(spectrum, CIRCUIT, area_cm2=None, thickness_cm=None, symmetric=True, weighting="modulus",
                    sigma=None, fmin=None, fmax=None, drop_inductive="auto", initial=None, fixed=None,
                    bounds=None, expr=None, starts="auto", engine="fast")
    dof = 2 * spectrum.frequency.size - 7  # 79: s^2 is 1/79 of chi-square
    cold = 1.0
    s2 = cold / dof
    assert _seed_wins(cold - 0.2 * s2, cold, prep)
    assert not _seed_wins(cold - 0.05 * s2, cold, prep)
    assert not _seed_wins(cold + s2, cold, prep)
