"""fit(..., guess="drt"): starts seeded by the DRT of the data (issue 8)."""
from __future__ import annotations

import pytest

import eisfit
from eisfit import FitError
from eisfit.fitting.guess import DRTPeak, _match_peak_count, drt_starts
from eisfit.fitting.robustness import CIRCUIT, make_cases
from eisfit.model import Circuit


@pytest.fixture(scope="module")
def cases():
    return make_cases(3)


def test_drt_guess_reaches_the_same_optimum(cases):
    for case in cases:
        auto = eisfit.fit(case.spectrum, CIRCUIT, kk=False)
        seeded = eisfit.fit(case.spectrum, CIRCUIT, kk=False, guess="drt")
        assert seeded.chisq == pytest.approx(auto.chisq, rel=1e-4)
        for name in ("R1", "R2"):
            assert seeded.values[name] == pytest.approx(auto.values[name], rel=1e-3)
        assert seeded.settings["guess"] == "drt"
        # the three DRT starts join the quick round (starts run: the same count)
        assert seeded.n_starts >= 8 and seeded.start_won


def test_drt_starts_are_in_the_quick_round(cases):
    from eisfit.fitting.engine import _prepare
    from eisfit.fitting.solver import QUICK_STARTS

    kw = dict(area_cm2=None, thickness_cm=None, symmetric=True, weighting="modulus", sigma=None, fmin=None,
              fmax=None, drop_inductive="auto", initial=None, fixed=None, bounds=None, expr=None,
              starts="auto", engine="fast")
    auto = _prepare(cases[0].spectrum, CIRCUIT, **kw)
    seeded = _prepare(cases[0].spectrum, CIRCUIT, guess_mode="drt", **kw)
    assert len(seeded.start_list) == len(auto.start_list) + 3
    assert seeded.start_labels[1:4] == ["drt:0", "drt:1", "drt:2"]
    assert len(seeded.start_labels[:QUICK_STARTS]) == QUICK_STARTS


def test_drt_starts_put_each_arc_on_a_peak(cases):
    case = cases[0]
    circ = Circuit(CIRCUIT)
    base = {n: 1.0 for n in circ.param_names}
    starts = drt_starts(circ, base, case.spectrum.frequency, case.spectrum.z)
    assert len(starts) == 3
    s = starts[1]
    tau1 = (s["R1"] * s["CPE1_0"]) ** (1 / s["CPE1_1"])
    tau2 = (s["R2"] * s["CPE2_0"]) ** (1 / s["CPE2_1"])
    assert tau1 < tau2
    assert s["R0"] == pytest.approx(case.truth["R0"], rel=0.3)


def test_peak_count_is_matched_to_the_arcs():
    peaks = [DRTPeak(1e-6, 10.0, 0.8), DRTPeak(1e-5, 1.0, 0.8), DRTPeak(1e-3, 50.0, 0.8)]
    two = _match_peak_count(peaks, 2)
    assert [p.tau for p in two] == [1e-6, 1e-3]
    assert [p.r for p in two] == [11.0, 50.0]  # the small peak joins its nearest neighbour
    three = _match_peak_count(peaks[:1], 3)
    assert len(three) == 3 and sum(p.r for p in three) == pytest.approx(10.0)
    assert [p.tau for p in three] == sorted(p.tau for p in three)


def test_unknown_guess_is_an_error_and_starts_1_ignores_it(cases):
    with pytest.raises(FitError, match="unknown guess"):
        eisfit.fit(cases[0].spectrum, CIRCUIT, guess="magic")
    one = eisfit.fit(cases[0].spectrum, CIRCUIT, kk=False, guess="drt", starts=1)
    # the one start is the data guess (n_starts also counts the repair round's restarts)
    assert not one.start_won.startswith("drt") and one.start_won.split("<-")[-1] == "guess"


def test_the_data_drt_peaks_are_computed_once_per_points_and_equal_a_fresh_computation(cases):
    """Each candidate of suggest_circuit asks for the same spectrum's DRT peaks (its DRT round):
    they are remembered by the points' values, equal to the peaks computed afresh, read-only."""
    import numpy as np

    from eisfit.analysis.drt import drt_peak_arrays
    from eisfit.fitting.guess import _data_drt_peaks, _remembered_drt_peaks
    from eisfit.spectrum import points_spectrum

    s = cases[1].spectrum
    fresh = drt_peak_arrays(points_spectrum(s.frequency, s.z), weighting="modulus")
    first = _data_drt_peaks(s.frequency, s.z, "modulus", None)
    hits = _remembered_drt_peaks.cache_info().hits
    again = _data_drt_peaks(s.frequency.copy(), s.z.copy(), "modulus", None)  # equal values, new arrays
    assert again is first and _remembered_drt_peaks.cache_info().hits == hits + 1
    for a, b in zip(first[:3], fresh[:3]):
        np.testing.assert_array_equal(a, b)
        assert not a.flags.writeable
    assert first[3] == fresh[3]
    other = _data_drt_peaks(s.frequency, s.z * 2.0, "modulus", None)  # other points: computed, not reused
    np.testing.assert_allclose(other[2], 2.0 * np.asarray(first[2]), rtol=1e-6)
