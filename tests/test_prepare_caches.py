"""The per-circuit and per-grid caches of the fit preparation (start grids, linear-screen
layouts, bounds, start-list orders): a spectrum's prepared fit does not depend on what was
prepared before it, and cached arrays cannot be changed through a result."""
from __future__ import annotations

import numpy as np
import pytest

from eisfit import Spectrum
from eisfit.fitting import engine, guess, problem
from eisfit.fitting.batch import _preparer
from eisfit.model import Circuit

F = np.logspace(7, 2, 51)


def spectrum(circuit: str, values: dict[str, float], f: np.ndarray = F, seed: int = 0) -> Spectrum:
    c = Circuit(circuit)
    z = c.impedance(np.array([values[n] for n in c.param_names]), f)
    rng = np.random.default_rng(seed)
    z = z + 0.005 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2)
    return Spectrum(frequency=f, z=z)


def clear_caches() -> None:
    for cached in (guess._log_grid, guess._tau_sets, guess._screen_layout, guess._screen_terms, guess._time_orders,
                   guess._split_fractions, engine._checked_bounds, engine._adaptive_order, problem._log_candidates,
                   problem.series_mask):
        cached.cache_clear()


def starts_of(prep) -> list[dict[str, float]]:
    return [dict(prep.start_list[k]) for k in range(len(prep.start_list))]


TWO_ARCS = "R0-p(R1,CPE1)-p(R2,CPE2)"
VALUES = {"R0": 20.0, "R1": 300.0, "CPE1_0": 1e-9, "CPE1_1": 0.9, "R2": 800.0, "CPE2_0": 1e-6, "CPE2_1": 0.85}


@pytest.mark.parametrize("circuit", [TWO_ARCS, "R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)"])
def test_a_prepared_fit_is_the_same_with_cold_and_warm_caches(circuit):
    values = {**VALUES, "R3": 500.0, "CPE3_0": 1e-4, "CPE3_1": 0.8}
    first = spectrum(circuit, values, seed=1)
    others = [spectrum(circuit, values, seed=2), spectrum(circuit, values, F[::2], seed=3),
              spectrum(circuit, values, np.logspace(6, -1, 71), seed=4)]
    prepare = _preparer(circuit, {})
    clear_caches()
    cold = prepare(first, None, "auto")
    for s in others:  # the same grid, and other grids, in between
        prepare(s, None, "auto")
    warm = prepare(first, None, "auto")
    assert warm.start_labels == cold.start_labels and warm.n_quick == cold.n_quick
    assert starts_of(warm) == starts_of(cold)
    np.testing.assert_array_equal(warm.lower, cold.lower)
    np.testing.assert_array_equal(warm.problem.transform.log_mask, cold.problem.transform.log_mask)


def test_cached_arrays_are_read_only_and_results_are_copies():
    prepare = _preparer(TWO_ARCS, {})
    a = prepare(spectrum(TWO_ARCS, VALUES, seed=1), None, "auto")
    a.lower[0] = 123.0  # a prepared fit's bounds are its own
    a.start_labels[0] = "changed"
    b = prepare(spectrum(TWO_ARCS, VALUES, seed=2), None, "auto")
    assert b.lower[0] != 123.0 and b.start_labels[0] == "guess"
    index_sets, tau_sets = guess._tau_sets(1e-8, 1e-2, 13, 2)
    with pytest.raises(ValueError):
        tau_sets[0, 0] = 1.0
    with pytest.raises(ValueError):
        index_sets[0, 0] = 1


def test_bounds_given_as_lists_are_checked_as_tuples_are():
    definition = engine._definition(TWO_ARCS)
    lo, hi = engine._bounds(definition, {"R0": [1.0, 1e4]})
    assert (lo[0], hi[0]) == (1.0, 1e4)
    with pytest.raises(engine.FitError, match="bounds of R0"):
        engine._bounds(definition, {"R0": [1e4, 1.0]})
