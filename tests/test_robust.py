"""Issue 13: starts for every element, family robustness, lack of fit, runaway parameters,
flag severities, joint-fit bound test."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

import eisfit
from eisfit import Spectrum
from eisfit.analysis.quality import kk_noise_level, lack_of_fit_ratio, rms_relative_residual, voigt_noise_levels
from eisfit.fitting.flags import FLAGS, PROBLEM, optimum_settled, problems, severity, unresolved_keys
from eisfit.fitting.guess import process_magnitudes, processes, spectrum_features
from eisfit.fitting.robustness import family_cases, score_family
from eisfit.model import Arc, Circuit

from conftest import realdata_path

HEADLINE = "R0-p(R1,CPE1)-p(R2,CPE2)"
ONE_ARC = "R0-p(R1,CPE1)"


def noisy(circuit: str, values: dict, f: np.ndarray, noise: float = 0.005, seed: int = 0, label: str = "s"):
    c = Circuit(circuit)
    z = c.impedance(np.array([values[n] for n in c.param_names]), f)
    rng = np.random.default_rng(seed)
    z = z + noise * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2)
    return Spectrum(frequency=f, z=z, meta={"label": label})


# ------------------------------------------------------------------ starts for every element
def test_processes_of_a_randles_branch_and_a_series_warburg():
    procs = processes(Circuit("R0-p(R1,CPE1)-p(CPE2,R2-Wo2)"))
    assert [(p.arc.resistor, p.arc.capacitive) if p.arc else (p.element, p.element_kind) for p in procs] == \
        [("R1", "CPE1"), ("R2", "CPE2"), ("Wo2", "Wo")]
    procs = processes(Circuit("L0-R0-p(R1,C1)-Ws1"))
    assert [(p.arc.resistor if p.arc else p.element) for p in procs] == ["R1", "Ws1"]


def test_process_magnitudes_recover_the_resistances_of_an_exact_zarc_and_warburg_series():
    """With the time constants right, the linear step returns the magnitudes exactly
    (closed-form ZARC and finite Warburg, n = 0.9 as the basis uses)."""
    f = np.logspace(6, -2, 81)
    w = 2 * np.pi * f
    taus = np.array([[1e-5, 1e-2, 3.0]])
    r = [120.0, 800.0, 450.0]
    s = np.sqrt(1j * w * taus[0, 2])
    z = 15.0 + r[0] / (1 + (1j * w * taus[0, 0]) ** 0.9) + r[1] / (1 + (1j * w * taus[0, 1]) ** 0.9) \
        + r[2] * np.tanh(s) / s
    circ = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)-Ws3")
    feats = spectrum_features(f, z)
    mags = process_magnitudes(circ, processes(circ), taus, feats)
    np.testing.assert_allclose(mags[0], r, rtol=1e-6)


@pytest.mark.parametrize("family", ["R0-p(R1,CPE1)-p(CPE2,R2-Wo2)", "R0-p(R1,CPE1)-p(CPE2,R2-Ws2)",
                                    "L0-R0-p(R1,CPE1)-p(C2,R2-Wo2)"])
def test_diffusion_families_reach_the_optimum_without_a_guess(family):
    """Before issue 13: 4/25, 0/25 and 4/25 (R2 -> 1e304, Wo2_1 -> 1e-11)."""
    s = score_family(family, 8, n_random=3, seed=5)
    assert s.reached_optimum >= 7, s.failures


RANDLES_HARD = {
    # a small Randles feature behind a broad bulk arc (n = 0.73): the linear screen gave R2 to
    # the Warburg, R2 started at its 0.1 % floor and stayed off (before: 1.21-1.30 x the optimum)
    "R0-p(R1,CPE1)-p(CPE2,R2-Wo2)": {"R0": 14.9, "R1": 2080.0, "CPE1_0": 6.49e-08, "CPE1_1": 0.727,
                                     "R2": 28.3, "CPE2_0": 0.00015, "CPE2_1": 0.95, "Wo2_0": 53.8, "Wo2_1": 0.368},
    # a large charge-transfer arc and Warburg behind a small bulk arc (before: R2 -> 1e10, 2.5-3.5 x)
    "L0-R0-p(R1,CPE1)-p(C2,R2-Wo2)": {"L0": 1.08e-06, "R0": 9.94, "R1": 21.6, "CPE1_0": 3.43e-06, "CPE1_1": 0.869,
                                      "R2": 2520.0, "C2": 1.55e-07, "Wo2_0": 3270.0, "Wo2_1": 0.00418},
    # a Ws two decades behind the charge transfer, both small beside the bulk arc (before: 1.08-1.22 x)
    "R0-p(R1,CPE1)-p(CPE2,R2-Ws2)": {"R0": 7.14, "R1": 1520.0, "CPE1_0": 5.2e-07, "CPE1_1": 0.963,
                                     "R2": 76.7, "CPE2_0": 0.00157, "CPE2_1": 0.859, "Ws2_0": 82.0, "Ws2_1": 2.02},
}


@pytest.mark.parametrize("noise_seed", [0, 1])
@pytest.mark.parametrize("family", list(RANDLES_HARD))
def test_randles_spectra_that_trapped_the_starts_reach_the_optimum_without_a_guess(family, noise_seed):
    """Issue 13, seeds 77/2027/3 of the family sets: with no guess the fit reaches the
    chi-square of a fit polished from the true parameters (start magnitudes visible above
    the noise, screened placements in the quick round, Randles shapes escalate)."""
    truth = RANDLES_HARD[family]
    s = noisy(family, truth, np.logspace(6, -2, 81), seed=noise_seed)
    ref = eisfit.fit(s, family, initial=truth, starts=1, kk=False, order_arcs=False, profile=False)
    res = eisfit.fit(s, family, kk=False)
    assert res.chisq <= 1.01 * ref.chisq, (res.chisq / ref.chisq, res.start_won)


# a broad bulk arc (n = 0.755), a charge-transfer arc 1.4 decades before a Ws near f_min: the
# linear screen (arcs at n = 0.9) gave its best 32 placements two processes on the bulk arc,
# and the Warburg swallowed the charge-transfer arc from every start (R2 -> 0; before: 7.1x
# and 6.2x the optimum's chi-square with these noise seeds)
WS_SWALLOWED = {"R0": 45.8, "R1": 1240.0, "CPE1_0": 3.06e-07, "CPE1_1": 0.755, "R2": 597.0,
                "CPE2_0": 0.000373, "CPE2_1": 0.914, "Ws2_0": 339.0, "Ws2_1": 5.31}


@pytest.mark.parametrize("noise_seed", [1, 2])
def test_a_warburg_does_not_swallow_the_charge_transfer_arc(noise_seed):
    family = "R0-p(R1,CPE1)-p(CPE2,R2-Ws2)"
    s = noisy(family, WS_SWALLOWED, np.logspace(6, -2, 81), seed=noise_seed)
    ref = eisfit.fit(s, family, initial=WS_SWALLOWED, starts=1, kk=False, order_arcs=False, profile=False)
    res = eisfit.fit(s, family, kk=False)
    assert res.chisq <= 1.01 * ref.chisq, (res.chisq / ref.chisq, res.start_won)
    assert res.values["R2"] == pytest.approx(WS_SWALLOWED["R2"], rel=0.2)


# family spectra whose best fit from the whole start list had one process collapsed or run
# away (1.5x the optimum flagged misfit, Ws2_1 = 3e191 s, R3 = 9e22 ohm; a Ws2 hidden under
# its own arc, Ws2_1 = 1.5e-6 s beside a 0.5 s arc, 1.32x the optimum): (family, seed, case)
COLLAPSED_PROCESS = [("R0-p(R1,CPE1)-p(CPE2,R2-Wo2)", 4, 19), ("R0-p(R1,CPE1)-p(CPE2,R2-Ws2)", 6, 5),
                     ("R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)", 0, 9), ("R0-p(R1,CPE1)-p(CPE2,R2-Ws2)", 33, 9)]


@pytest.mark.parametrize("family,seed,index", COLLAPSED_PROCESS)
def test_the_repair_round_restarts_a_collapsed_process_from_the_rest_of_the_optimum(family, seed, index):
    case = family_cases(family, 25, seed)[index]
    ref = eisfit.fit(case.spectrum, family, initial=case.truth, starts=1, kk=False, order_arcs=False,
                     profile=False)
    res = eisfit.fit(case.spectrum, family)
    assert res.chisq <= 1.01 * ref.chisq, (res.chisq / ref.chisq, res.start_won)
    assert res.start_won.startswith("repair:"), res.start_won
    assert not any(f.startswith(("misfit", "at-bound", "low-n", "unresolved")) for f in res.flags), res.flags


def test_a_randles_diffusion_faster_than_its_own_arc_is_hidden_under_it():
    """The branch's arc takes its whole DC resistance R + W_0: with R collapsed to 2 mohm
    beside W_0 = 160 ohm, a 0.055 s diffusion sits under a ~1.1 s arc (an optimum 1.04x above
    the family spectrum's); the true parameters, a 5.3 s diffusion behind a 0.8 s arc, are
    no such collapse, and neither is a diffusion a decade slower than its arc."""
    from eisfit.fitting.guess import processes
    from eisfit.fitting.solver import _hidden_under_arc

    arc, diffusion = processes(Circuit("R0-p(R1,CPE1)-p(CPE2,R2-Ws2)"))[1:]
    assert diffusion.in_branch and not processes(Circuit("R0-p(R1,CPE1)-Wo1"))[1].in_branch
    collapsed = dict(R2=0.001992, CPE2_0=0.006899, CPE2_1=0.8555, Ws2_0=160.1, Ws2_1=0.05519)
    truth = dict(R2=96.55, CPE2_0=0.005011, CPE2_1=0.9365, Ws2_0=61.63, Ws2_1=5.305)
    assert _hidden_under_arc(collapsed, arc.arc, diffusion.element)
    assert not _hidden_under_arc(truth, arc.arc, diffusion.element)
    tau_arc = (truth["R2"] + truth["Ws2_0"]) * truth["CPE2_0"]  # n = 1: R C
    at_n1 = {**truth, "CPE2_1": 1.0}
    assert not _hidden_under_arc({**at_n1, "Ws2_1": 0.11 * tau_arc}, arc.arc, diffusion.element)
    assert _hidden_under_arc({**at_n1, "Ws2_1": 0.09 * tau_arc}, arc.arc, diffusion.element)


def test_the_processes_of_branches_nested_in_branches_in_string_order():
    """A branch p(C|CPE, R-X-...) is its arc, then the processes of X, ... in turn: a
    diffusion or nested arc knows the arc whose capacitance shunts it, a semi-infinite W adds none, and a
    branch holding anything else (an inductor) or two resistors is no process."""
    from eisfit.fitting.guess import element_exponent, element_tau_s, processes

    def names(circuit):
        return [(p.arc.resistor if p.arc else p.element, p.branch_arc.resistor if p.branch_arc else None)
                for p in processes(Circuit(circuit))]

    assert names("R0-p(CPE1,R1-p(CPE2,R2-Wo2))") == [("R1", None), ("R2", "R1"), ("Wo2", "R2")]
    assert names("R0-p(CPE1,R1-p(R2,CPE2)-Ws2)") == [("R1", None), ("R2", "R1"), ("Ws2", "R1")]
    assert names("R0-p(CPE1,R1-p(R2,CPE2)-W2)") == [("R1", None), ("R2", "R1")]
    assert names("R0-p(CPE1,R1-p(R2,CPE2))-p(R3,CPE3)") == [("R1", None), ("R2", "R1"), ("R3", None)]
    assert names("R0-p(R1,CPE1)-p(CPE2,R2-Wo2)") == [("R1", None), ("R2", None), ("Wo2", "R2")]
    assert names("R0-p(R1,CPE1)-Wo2") == [("R1", None), ("Wo2", None)]
    assert names("R0-p(CPE1,R1-L1)-p(R2,CPE2)") == [("R2", None)]
    assert names("R0-p(CPE1,R1-R3-Wo1)") == []
    # elements given by a resistance and a time constant are processes of their own
    assert names("R0-K1-p(R2,CPE2)-Zarc3-G4") == [("K1", None), ("R2", None), ("Zarc3", None), ("G4", None)]
    k, zarc = processes(Circuit("R0-K1-Zarc2"))
    assert (k.element_kind, zarc.element_kind, k.is_diffusion) == ("K", "Zarc", False)
    gs, tlmq = processes(Circuit("R0-Gs1-TLMQ2"))
    assert element_tau_s(dict(Gs1_0=10.0, Gs1_1=0.02, Gs1_2=1.0), gs) == 0.02
    # a transmission line's tau = (Rion Qs)^(1/gamma), where its interface CPE's impedance is Rion
    assert element_tau_s(dict(TLMQ2_0=100.0, TLMQ2_1=1e-5, TLMQ2_2=0.8), tlmq) == pytest.approx(1e-3 ** 1.25)
    assert element_exponent(dict(TLMQ2_0=100.0, TLMQ2_1=1e-5, TLMQ2_2=0.8), tlmq) == 0.8
    assert element_exponent(dict(Gs1_0=10.0, Gs1_1=0.02, Gs1_2=1.0), gs) is None


def test_a_ladder_start_exchanges_the_capacitances_of_its_outer_and_nested_arcs():
    """The ladder's second local minimum has the two capacitances the other way round: the
    start exchanges Q and n (or C) of the outer arc and the arc nested behind its resistor,
    resistances and the rest kept; arcs of different kinds and plain series arcs get none."""
    from eisfit.fitting.guess import exchanged_capacitance_starts

    values = dict(R0=9.9, CPE1_0=1.2e-6, CPE1_1=0.94, R1=9.0, CPE2_0=5.9e-6, CPE2_1=0.82, R2=2712.0,
                  Wo2_0=2034.0, Wo2_1=0.048)
    (label, start), = exchanged_capacitance_starts(Circuit("R0-p(CPE1,R1-p(CPE2,R2-Wo2))"), values)
    assert label == "exchange:CPE1<->CPE2"
    assert start == {**values, "CPE1_0": 5.9e-6, "CPE1_1": 0.82, "CPE2_0": 1.2e-6, "CPE2_1": 0.94}
    (label, start), = exchanged_capacitance_starts(Circuit("R0-p(C1,R1-p(R2,C2))"),
                                                   dict(R0=1.0, C1=1e-6, R1=10.0, R2=100.0, C2=1e-3))
    assert (label, start["C1"], start["C2"], start["R1"]) == ("exchange:C1<->C2", 1e-3, 1e-6, 10.0)
    assert exchanged_capacitance_starts(Circuit("R0-p(C1,R1-p(R2,CPE2))"),
                                        dict(R0=1.0, C1=1e-6, R1=10.0, R2=100.0, CPE2_0=1e-3, CPE2_1=0.9)) == []
    assert exchanged_capacitance_starts(Circuit("R0-p(R1,CPE1)-p(R2,CPE2)"),
                                        dict(R0=1.0, R1=10.0, CPE1_0=1e-6, CPE1_1=0.9, R2=100.0, CPE2_0=1e-3,
                                             CPE2_1=0.9)) == []


def test_a_repaired_optimum_that_still_collapses_a_process_is_repaired_again():
    """Three arcs, the last a Randles branch: the first repair round put the diffusion back
    but left R3 collapsed beside W_0 (1.065x the optimum's chi-square, flagged only
    ``large-stderr:R3``); a second round from that optimum restores the charge transfer.
    Twelve noise seeds of this spectrum: 7 at the optimum instead of 0 (the misses left are
    other local minima: a Randles arc in another time order, 1.13-1.66x)."""
    circuit = "R0-p(R1,CPE1)-p(R2,CPE2)-p(CPE3,R3-Wo3)"
    truth = dict(R0=13.8, R1=2620.0, CPE1_0=6.03e-08, CPE1_1=0.712, R2=1060.0, CPE2_0=1.45e-06, CPE2_1=0.757,
                 CPE3_0=7.2e-05, CPE3_1=0.79, R3=132.0, Wo3_0=244.0, Wo3_1=0.0899)
    s = noisy(circuit, truth, np.logspace(6, -2, 81), seed=8)
    ref = eisfit.fit(s, circuit, initial=truth, starts=1)
    res = eisfit.fit(s, circuit)
    assert res.chisq <= 1.001 * ref.chisq, (res.chisq / ref.chisq, res.start_won)
    assert res.values["R3"] == pytest.approx(ref.values["R3"], rel=1e-3) and not res.flags, res.flags


@pytest.mark.parametrize("seed", [2, 10])
def test_a_randles_branch_swapped_with_a_runaway_plain_arc_keeps_its_diffusion(seed):
    """The plain arc R2 ran off to the lowest frequencies (8.5 kohm, tau 28 s) and the
    Randles arc took its place (1.32x and 1.20x the optimum's chi-square, flagged only
    ``fapex-outside-range:CPE2``); exchanging the two arcs handed the runaway arc to the
    Randles branch. The start that keeps the diffusion and puts the Randles arc a decade
    before it reaches the optimum."""
    circuit = "R0-p(R1,CPE1)-p(R2,CPE2)-p(CPE3,R3-Wo3)"
    truth = dict(R0=13.8, R1=2620.0, CPE1_0=6.03e-08, CPE1_1=0.712, R2=1060.0, CPE2_0=1.45e-06, CPE2_1=0.757,
                 CPE3_0=7.2e-05, CPE3_1=0.79, R3=132.0, Wo3_0=244.0, Wo3_1=0.0899)
    s = noisy(circuit, truth, np.logspace(6, -2, 81), seed=seed)
    ref = eisfit.fit(s, circuit, initial=truth, starts=1)
    res = eisfit.fit(s, circuit)
    assert res.chisq <= 1.001 * ref.chisq, (res.chisq / ref.chisq, res.start_won)
    assert res.values["R2"] == pytest.approx(ref.values["R2"], rel=1e-3) and not res.flags, res.flags


def test_a_single_start_that_collapses_an_arc_is_restarted(monkeypatch):
    """Issue 12: a single start never ends degenerate. From the data guess, the first
    headline spectrum of the robustness set collapses its second arc (n2 -> 0, R2 -> 0,
    62x the optimum's chi-square); the repair round restarts it with that arc put back."""
    from eisfit.fitting import solver
    from eisfit.fitting.robustness import CIRCUIT, make_cases

    case = make_cases(1)[0]
    best = eisfit.fit(case.spectrum, CIRCUIT, kk=False)
    one = eisfit.fit(case.spectrum, CIRCUIT, kk=False, starts=1)
    assert one.chisq == pytest.approx(best.chisq, rel=1e-6)
    assert one.start_won.startswith("repair:") and one.n_starts > 1
    assert not one.flags or all(not f.startswith(("low-n", "at-bound", "unresolved")) for f in one.flags)
    monkeypatch.setattr(solver, "_repair_round", lambda preps, sol: None)
    plain = eisfit.fit(case.spectrum, CIRCUIT, kk=False, starts=1)
    assert plain.chisq > 10 * best.chisq and "unresolved:CPE2_0" in plain.flags  # what the round mends
    assert "low-n:CPE2" not in plain.flags  # the n of an arc the data do not resolve is not judged


def test_repair_starts_put_back_one_process_at_a_time_and_a_branch_with_its_arc():
    from eisfit.fitting.batch import _preparer
    from eisfit.fitting.solver import _first_round_size, _repair_starts

    family = "R0-p(R1,CPE1)-p(CPE2,R2-Wo2)"
    case = family_cases(family, 1, 0)[0]
    prep = _preparer(family, {})(case.spectrum, None, "auto")
    names = prep.names
    p_best = np.array([case.truth[n] * 1.1 for n in names])
    starts = _repair_starts(prep, p_best)
    groups = {"R1+CPE1": {"R1", "CPE1_0", "CPE1_1"}, "R2+CPE2": {"R2", "CPE2_0", "CPE2_1"}, "Wo2": {"Wo2_0", "Wo2_1"},
              "R2+CPE2+Wo2": {"R2", "CPE2_0", "CPE2_1", "Wo2_0", "Wo2_1"}}  # the diffusion with its arc
    first_round = {prep.start_labels[k]: prep.start_list[k] for k in range(_first_round_size(prep))}
    assert 0 < len(starts.labels) <= len(groups) * len(first_round)
    assert {label.removeprefix("repair:").split("<-")[0] for label in starts.labels} == set(groups)
    for label, v in zip(starts.labels, starts.params):
        process, source = label.removeprefix("repair:").split("<-")
        for n, x in zip(names, v):
            expected = first_round[source][n] if n in groups[process] else p_best[names.index(n)]
            assert x == expected, (label, n)
    assert len({v.tobytes() for v in starts.params}) == len(starts.labels)


TAIL_F = np.logspace(5, -2, 57)  # 100 kHz .. 10 mHz


@pytest.mark.parametrize("noise_seed", [0, 1])
def test_data_with_a_blocking_tail_fitted_without_one_reach_the_optimum_where_an_arc_runs_away(noise_seed):
    """Two arcs and a blocking CPE line fitted with R0-p(R1,CPE1)-p(CPE2,R2-Ws2), whose
    impedance stays finite at DC: the optimum has R1 run away, its CPE1 the tail, i.e. the
    optimum of the limit circuit R0-CPE1-p(CPE2,R2-Ws2), fitted here on its own. The start
    grid ended 210-320x above the generating circuit's chi-square, ~10x above that optimum;
    the blocking-arc starts reach it, and the result says R1 ran away and what the data hold."""
    z = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)-CPE3").impedance(
        np.array([20, 500, 1e-8, 0.9, 2000, 1e-6, 0.8, 1e-4, 0.9]), TAIL_F)
    rng = np.random.default_rng(noise_seed)
    s = Spectrum(TAIL_F, z * (1 + 0.005 * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))))
    limit = eisfit.fit(s, "R0-CPE1-p(CPE2,R2-Ws2)")
    res = eisfit.fit(s, "R0-p(R1,CPE1)-p(CPE2,R2-Ws2)")
    assert res.chisq <= limit.chisq * 1.001
    assert "unresolved:R1" in res.flags and any(f.startswith("capacitive-tail-in-data:") for f in res.flags)


def test_blocking_arc_starts_make_one_arc_the_tail_and_place_the_others():
    """One start per arc and screened placement: that arc's R far above |Z|, its CPE at the
    data's low-frequency slope giving the measured -Z'' at f_min; the other processes placed
    inside the measured range; user-fixed resistances are left alone."""
    from eisfit.fitting.guess import BLOCKING_R_FACTOR, base_guess, blocking_arc_starts

    circ = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
    z = Circuit("R0-p(R1,CPE1)-CPE2").impedance(np.array([20, 1000, 1e-8, 0.9, 1e-5, 0.85]), TAIL_F)
    feats = spectrum_features(TAIL_F, z)
    base = base_guess(circ, feats)
    starts = blocking_arc_starts(circ, feats, base, set(circ.param_names), keep=3)
    assert [label for label, _ in starts] == [f"tail:{r}<-screen:{k}" for r in ("R1", "R2") for k in range(3)]
    for label, start in starts:
        tail = label[5:7]
        q, n = start[f"CPE{tail[1]}_0"], start[f"CPE{tail[1]}_1"]
        assert start[tail] == BLOCKING_R_FACTOR * np.abs(z).max()
        zimag_lf = abs((1 / (q * (2j * np.pi * TAIL_F.min()) ** n)).imag)
        assert zimag_lf == pytest.approx(-z[np.argmin(TAIL_F)].imag, rel=1e-9)
        other = "R2" if tail == "R1" else "R1"
        assert 0 < start[other] < 10 * np.abs(z).max()
    assert [label for label, _ in blocking_arc_starts(circ, feats, base, {"R2", "CPE2_0", "CPE2_1"}, keep=2)] == \
        ["tail:R2<-screen:0", "tail:R2<-screen:1"]


@pytest.mark.parametrize("parts", [("text", "eisfitpython", "EIS_Data", "Example-2", "Example2b.txt"),
                                   ("text", "impedance_py", "data", "exampleDataCHInstruments.txt")])
def test_a_real_spectrum_with_a_blocking_tail_fitted_without_one_reaches_the_runaway_optimum(parts):
    """eisfitpython's Example2b (passes the Lin-KK test) and impedance.py's CH Instruments
    example (fails it), both ending in a blocking tail, fitted with
    R0-p(R1,CPE1)-p(CPE2,R2-Ws2): 143x and 2.2x above the optimum before (an independent
    multi-start scipy search found it), the optimum of the limit circuit
    R0-CPE1-p(CPE2,R2-Ws2) now."""
    (s,) = eisfit.read(realdata_path(*parts))
    res = eisfit.fit(s, "R0-p(R1,CPE1)-p(CPE2,R2-Ws2)")
    assert res.chisq <= eisfit.fit(s, "R0-CPE1-p(CPE2,R2-Ws2)").chisq * 1.01
    assert "unresolved:R1" in res.flags


RANDLES_WS = "R0-p(R1,CPE1)-p(CPE2,R2-Ws2)"
DIFFUSION_ARC_F = np.logspace(5, -2, 43)  # 100 kHz .. 10 mHz


@pytest.mark.parametrize("truth", [
    dict(R0=0.5, R1=2116, CPE1_0=0.0276, CPE1_1=0.928, CPE2_0=0.0116, CPE2_1=0.063, R2=9.49, Ws2_0=67.9,
         Ws2_1=1.81e-5),
    dict(R0=1.0, R1=1000, CPE1_0=0.001, CPE1_1=0.85, CPE2_0=0.02, CPE2_1=0.08, R2=3, Ws2_0=100, Ws2_1=3e-5)])
def test_a_randles_diffusion_that_plays_the_high_frequency_arc_is_found(truth):
    """Data whose high-frequency feature is the Ws of a Randles branch (tau 18-30 us) shunted
    by a CPE of n ~ 0.06-0.08, which is almost a resistor: every start of the grid and the
    other rounds kept the CPE as the arc and ended 5-24x above the chi-square of the fit from
    the generating values, flagged lack-of-fit; the diffusion-arc round reaches it."""
    s = noisy(RANDLES_WS, truth, DIFFUSION_ARC_F, seed=1)
    res = eisfit.fit(s, RANDLES_WS)
    assert res.chisq <= eisfit.fit(s, RANDLES_WS, initial=truth, starts=1).chisq * 1.001
    assert not any(f.startswith("lack-of-fit") for f in res.flags)
    assert "low-n:CPE2" in res.flags  # an exponent of ~0.07 is no capacitance, and the result says so


def test_diffusion_arc_starts_put_the_diffusion_where_the_branch_arc_was():
    """One start per factor set for each finite diffusion behind a CPE branch arc: its time
    constant and Z0 set from the arc's, the branch resistor a share of its value, the CPE a
    shunt of |Z| = factor x Z0 at the arc's frequency; the other parameters as they were; no
    start for a Randles branch with a semi-infinite W (no time constant) or a plain arc."""
    from eisfit.fitting.guess import DIFFUSION_ARC_R_SHARE, DIFFUSION_ARC_STARTS, diffusion_arc_starts

    circ = Circuit("R0-p(R1,CPE1)-p(CPE2,R2-Wo2)")
    values = dict(R0=5.0, R1=100.0, CPE1_0=1e-6, CPE1_1=0.9, CPE2_0=1e-4, CPE2_1=0.8, R2=50.0, Wo2_0=20.0, Wo2_1=1.0)
    tau = (50.0 * 1e-4) ** (1 / 0.8)  # the branch arc's: (R Q)^(1/n)
    starts = diffusion_arc_starts(circ, values)
    assert [label for label, _ in starts] == [f"diffusion-arc:Wo2:{t:g}" for t, *_ in DIFFUSION_ARC_STARTS]
    for (_, start), (tau_factor, z0_factor, n, shunt) in zip(starts, DIFFUSION_ARC_STARTS):
        assert start["Wo2_1"] == pytest.approx(tau_factor * tau)
        assert start["Wo2_0"] == pytest.approx(z0_factor * 50.0)
        assert start["R2"] == pytest.approx(DIFFUSION_ARC_R_SHARE * 50.0)
        assert start["CPE2_1"] == n
        z_cpe = 1 / (start["CPE2_0"] * (1j / tau) ** n)
        assert abs(z_cpe) == pytest.approx(shunt * start["Wo2_0"])
        assert {k: start[k] for k in ("R0", "R1", "CPE1_0", "CPE1_1")} == {k: values[k] for k in ("R0", "R1", "CPE1_0",
                                                                                                "CPE1_1")}
    assert diffusion_arc_starts(Circuit("R0-p(CPE1,R1-W1)"), dict(R0=1.0, CPE1_0=1e-5, CPE1_1=0.9, R1=10.0,
                                                                   W1=5.0)) == []
    assert diffusion_arc_starts(Circuit(HEADLINE), dict(R0=1.0, R1=10.0, CPE1_0=1e-6, CPE1_1=0.9, R2=20.0,
                                                         CPE2_0=1e-4, CPE2_1=0.8)) == []


def test_a_real_randles_spectrum_reaches_the_minimum_where_the_diffusion_is_the_arc():
    """echemistpy's BioLogic EIS file fitted with R0-p(R1,CPE1)-p(CPE2,R2-Ws2): the engine
    ended at 7.6x the chi-square of the lowest minimum that an independent 30-start scipy
    search (scripts/real_optimum_check.py) found; the values of that minimum, polished here
    by scipy's least_squares on eisfit's residuals, are the reference."""
    from scipy.optimize import least_squares

    s = eisfit.read(realdata_path("mpr", "liuchzzyy__echemistpy@a8c143f", "Biologic_EIS.mpr"))[0]
    circ = Circuit(RANDLES_WS)
    search = dict(R0=1.7e-6, R1=2116, CPE1_0=0.02761, CPE1_1=0.9279, CPE2_0=0.01161, CPE2_1=0.06302, R2=9.489,
                  Ws2_0=67.92, Ws2_1=1.813e-5)
    is_log = np.array([u != "" for u in circ.param_units])

    def residuals(x):
        d = (circ.impedance(np.where(is_log, np.exp(x), x), s.frequency) - s.z) / np.abs(s.z)
        return np.concatenate([d.real, d.imag])

    x0 = np.array([math.log(search[n]) if log else search[n] for n, log in zip(circ.param_names, is_log)])
    reference = least_squares(residuals, x0, method="lm").cost * 2
    res = eisfit.fit(s, RANDLES_WS)
    assert res.chisq <= reference * 1.001
    assert {"low-n:CPE2", "at-bound:R0"} <= set(res.flags)


def test_time_orders_permute_series_blocks_of_different_kinds_only():
    """The screen's time orders: the string's first; a Randles branch (its charge-transfer
    arc, then its diffusion) may come before a plain arc; arcs of one kind are
    interchangeable (no second order); a series Wo may precede an arc."""
    from eisfit.fitting.guess import time_orders

    def orders(text):
        circ = Circuit(text)
        return time_orders(circ, processes(circ))

    assert orders("R0-p(R1,CPE1)-p(R2,CPE2)") == [(0, 1)]
    assert orders("R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)") == [(0, 1, 2)]
    assert orders("R0-p(R1,CPE1)-p(CPE2,R2-Ws2)") == [(0, 1, 2), (1, 2, 0)]
    assert orders("R0-p(R1,CPE1)-Wo2") == [(0, 1), (1, 0)]
    assert orders("R0-p(R1,CPE1)-p(R2,CPE2)-p(CPE3,R3-Wo3)") == [(0, 1, 2, 3), (0, 2, 3, 1), (2, 3, 0, 1)]


@pytest.mark.parametrize("seed", [100, 103, 108])
def test_a_randles_branch_faster_than_the_arc_before_it_in_the_string_reaches_the_optimum(seed):
    """R0-p(R1,CPE1)-p(CPE2,R2-Ws2) on data whose Randles branch relaxes faster than the
    plain arc (series elements add in any order): the screen placed the processes in string
    order only and ended 2-46x above the optimum on every one of 12 such spectra (a start at
    the true values is the reference here); the order round places them the other way."""
    rng = np.random.default_rng(seed)
    names = Circuit("R0-p(R1,CPE1)-p(CPE2,R2-Ws2)").param_names
    r1, tau1, n1 = 10 ** rng.uniform(2, 3), 10 ** rng.uniform(-1.5, 0), rng.uniform(0.75, 0.95)
    r2, tau2, n2 = 10 ** rng.uniform(1.5, 2.5), 10 ** rng.uniform(-5.5, -4), rng.uniform(0.8, 0.95)
    true = dict(R0=10.0, R1=r1, CPE1_0=tau1 ** n1 / r1, CPE1_1=n1, CPE2_0=tau2 ** n2 / r2, CPE2_1=n2, R2=r2,
                Ws2_0=r2 * 10 ** rng.uniform(-0.5, 0.5), Ws2_1=tau2 * 10 ** rng.uniform(1, 2))
    f = np.logspace(6, -2, 65)
    z = Circuit("R0-p(R1,CPE1)-p(CPE2,R2-Ws2)").impedance(np.array([true[n] for n in names]), f)
    s = Spectrum(f, z * (1 + 0.005 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))))
    reference = eisfit.fit(s, "R0-p(R1,CPE1)-p(CPE2,R2-Ws2)", initial=true, starts=1).chisq
    res = eisfit.fit(s, "R0-p(R1,CPE1)-p(CPE2,R2-Ws2)")
    assert res.chisq <= 1.01 * reference
    assert res.values["R2"] == pytest.approx(r2, rel=0.2) and res.values["R1"] == pytest.approx(r1, rel=0.2)


def test_swapped_order_starts_put_a_plain_arc_and_a_randles_arc_back_in_string_order():
    """An optimum with the Randles arc faster than the plain arc before it: one start with
    the two arcs' values exchanged and the diffusion 10x slower than its arc's new time
    constant, Z0 half its new R, and one with the diffusion kept, the plain arc on the
    Randles arc's place and the Randles arc a decade faster than its diffusion, R half its
    Z0; none for arcs in string order or arcs of one shape."""
    from eisfit.analysis.derived import arc_tau_s
    from eisfit.fitting.guess import swapped_order_starts

    circ = Circuit("R0-p(R1,CPE1)-p(CPE2,R2-Wo2)")
    swapped = dict(R0=27.5, R1=34.0, CPE1_0=5e-3, CPE1_1=0.74, CPE2_0=7.4e-6, CPE2_1=0.76, R2=1466.0,
                   Wo2_0=0.095, Wo2_1=0.029)
    (label, start), (kept_label, kept) = swapped_order_starts(circ, swapped)
    assert (label, kept_label) == ("swap:R1<->R2", "swap:R1<->R2:Wo2-kept")
    assert (kept["Wo2_0"], kept["Wo2_1"], kept["R2"], kept["R1"]) == (0.095, 0.029, 0.0475, 1466.0)
    tau_randles = arc_tau_s(swapped, Arc("R2", "CPE2", "CPE"))
    assert arc_tau_s(kept, Arc("R1", "CPE1", "CPE")) == pytest.approx(tau_randles)
    assert arc_tau_s(kept, Arc("R2", "CPE2", "CPE")) == pytest.approx(0.0029)
    assert (kept["CPE1_1"], kept["CPE2_1"]) == (0.74, 0.76)  # each arc keeps its exponent
    assert (start["R1"], start["CPE1_0"], start["CPE1_1"]) == (1466.0, 7.4e-6, 0.76)
    assert (start["R2"], start["CPE2_0"], start["CPE2_1"]) == (34.0, 5e-3, 0.74)
    tau2 = arc_tau_s(start, Arc("R2", "CPE2", "CPE"))
    assert tau2 == pytest.approx(arc_tau_s(swapped, Arc("R1", "CPE1", "CPE")))
    assert start["Wo2_1"] == pytest.approx(10 * tau2) and start["Wo2_0"] == pytest.approx(17.0)
    assert start["R0"] == 27.5
    assert swapped_order_starts(circ, start) == []  # already in string order
    two_arcs = dict(R0=1.0, R1=34.0, CPE1_0=5e-3, CPE1_1=0.74, R2=1466.0, CPE2_0=7.4e-6, CPE2_1=0.76)
    assert swapped_order_starts(Circuit("R0-p(R1,CPE1)-p(R2,CPE2)"), two_arcs) == []  # a relabelling
    # a ladder's nested arc is not a block of its own (it belongs to the ladder's): never "later" than R3
    ladder = Circuit("R0-p(CPE1,R1-p(R2,CPE2))-p(R3,CPE3)")
    in_order = dict(R0=1.0, CPE1_0=1e-8, CPE1_1=0.9, R1=100.0, R2=50.0, CPE2_0=1e-6, CPE2_1=0.9, R3=80.0,
                    CPE3_0=1e-3, CPE3_1=0.85)
    assert swapped_order_starts(ladder, in_order) == []


def test_a_c_arc_and_a_cpe_arc_swap_their_resistances_and_time_constants():
    """Arcs of different kinds cannot trade parameters: the swap start gives each the other's
    R and time constant, the CPE keeping its exponent."""
    from eisfit.analysis.derived import arc_tau_s
    from eisfit.fitting.guess import swapped_order_starts

    circ = Circuit("L0-R0-p(R1,CPE1)-p(C2,R2-Wo2)")
    swapped = dict(L0=1.7e-7, R0=10.8, R1=554.1, CPE1_0=4.654e-4, CPE1_1=0.992, C2=1.052e-3, R2=6.678,
                   Wo2_0=344.6, Wo2_1=7.075)  # the Randles arc (7 ms) faster than the plain one (0.26 s)
    (label, start), _ = swapped_order_starts(circ, swapped)
    assert label == "swap:R1<->R2" and (start["R1"], start["R2"]) == (6.678, 554.1)
    assert start["CPE1_1"] == 0.992
    assert arc_tau_s(start, Arc("R1", "CPE1", "CPE")) == pytest.approx(6.678 * 1.052e-3)
    assert arc_tau_s(start, Arc("R2", "C2", "C")) == pytest.approx(
        arc_tau_s(swapped, Arc("R1", "CPE1", "CPE")))
    assert swapped_order_starts(circ, start) == []  # in string order now
    plain = dict(R0=1.0, R1=100.0, C1=1e-3, R2=50.0, CPE2_0=1e-7, CPE2_1=0.9)  # the C arc the slower
    (label, start), = swapped_order_starts(Circuit("R0-p(R1,C1)-p(R2,CPE2)"), plain)
    assert start["R1"] == 50.0 and start["C1"] == pytest.approx(arc_tau_s(plain, Arc("R2", "CPE2", "CPE")) / 50.0)


def test_a_fit_with_a_randles_c_arc_in_the_other_order_is_restarted_in_string_order():
    """L0-R0-p(R1,CPE1)-p(C2,R2-Wo2), seed 43, case 13: the Randles arc (C) took R1's place
    and the plain arc (CPE) R2's, 1.06x the optimum's chi-square, with no swap start for arcs
    of different kinds; now one reaches the optimum."""
    family = "L0-R0-p(R1,CPE1)-p(C2,R2-Wo2)"
    case = family_cases(family, 25, 43)[13]
    ref = eisfit.fit(case.spectrum, family, initial=case.truth, starts=1, kk=False)
    res = eisfit.fit(case.spectrum, family, kk=False)
    assert res.chisq <= 1.001 * ref.chisq, (res.chisq / ref.chisq, res.start_won)
    assert res.values["R1"] == pytest.approx(case.truth["R1"], rel=0.1)
    assert res.values["R2"] == pytest.approx(case.truth["R2"], rel=0.1)


@pytest.mark.parametrize("index", [1, 12])
def test_a_fit_won_with_the_randles_arc_in_the_other_order_is_restarted_in_string_order(index):
    """Two of 25 seeded R0-p(R1,CPE1)-p(CPE2,R2-Wo2) spectra ended 1.016x and 1.053x above
    the optimum (a fit from the true values) with the Randles arc faster than the plain arc,
    the opposite of the data; the swap round's starts reach the optimum."""
    family = "R0-p(R1,CPE1)-p(CPE2,R2-Wo2)"
    case = family_cases(family, 25, 13)[index]
    ref = eisfit.fit(case.spectrum, family, initial=case.truth, starts=1, kk=False)
    res = eisfit.fit(case.spectrum, family, kk=False)
    assert res.chisq <= 1.001 * ref.chisq, (res.chisq / ref.chisq, res.start_won)
    assert res.values["R1"] == pytest.approx(case.truth["R1"], rel=0.05)
    assert res.values["CPE1_0"] == pytest.approx(case.truth["CPE1_0"], rel=0.2)


def test_screened_placements_share_a_time_constant_at_most_cap_times():
    from eisfit.fitting.guess import _diverse_best

    index_sets = np.array([[0, 1, 5], [0, 1, 6], [0, 1, 7], [0, 2, 5], [1, 3, 5], [2, 3, 4]])
    cost = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    # rows 2 and 3 would give process 0 grid point 0 a third time
    assert _diverse_best(cost, index_sets, keep=4, cap=2) == [0, 1, 4, 5]
    assert _diverse_best(cost, index_sets, keep=4, cap=4) == [0, 1, 2, 3]  # no cap in force: the 4 best
    # best first is row 5; row 4 would give process 1 grid point 3 a second time
    assert _diverse_best(cost[::-1], index_sets, keep=2, cap=1) == [5, 3]


def test_family_cases_keep_every_feature_inside_the_range_and_arcs_a_decade_apart():
    for case in family_cases("R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)", 20):
        t = case.truth
        taus = sorted((t[f"R{k}"] * t[f"CPE{k}_0"]) ** (1 / t[f"CPE{k}_1"]) for k in (1, 2, 3))
        assert 1 / (2 * np.pi * 1e6) < taus[0] and taus[-1] < 1 / (2 * np.pi * 1e-2)
        assert np.all(np.diff(np.log10(taus)) >= 1.0 - 1e-12)
    with pytest.raises(ValueError, match="unknown family"):
        family_cases("R0-p(R1,C1)", 1)


# ------------------------------------------------------------------ lack of fit
def test_noise_level_from_lin_kk_matches_the_added_noise():
    f = np.logspace(6, -1, 71)
    truth = {"R0": 20.0, "R1": 300.0, "CPE1_0": 1e-7, "CPE1_1": 0.88, "R2": 900.0, "CPE2_0": 1e-4, "CPE2_1": 0.8}
    levels = [kk_noise_level(eisfit.kk_test(noisy(HEADLINE, truth, f, 0.01, seed=k))) for k in range(5)]
    # noise 1 % of |Z| on the complex value = 0.71 % on each of Z', Z''
    assert np.mean(levels) == pytest.approx(0.01 / np.sqrt(2), rel=0.15)


def test_noise_level_from_a_long_voigt_chain_matches_the_added_noise_where_lin_kk_overstates_it():
    """A Randles spectrum with a capacitance and a finite-length Warburg after a lead
    inductance (family set, seed 13, case 1): the Lin-KK chain overstates the 0.35 % noise by
    ~1.4x; a chain of N/2 elements recovers it, and it is the data's noise level
    (``KKResult.noise_level``) there, which the escalation compares fits with. (Until session 37
    the case was a finite-space Warburg's, seed 13, case 29, the chain stopping at 18 elements
    at 1.5x; the chain that reaches the noise floor now serves there.)"""
    family = "L0-R0-p(R1,CPE1)-p(C2,R2-Wo2)"
    case = family_cases(family, 30, seed=13)[1]
    s = case.spectrum
    added = 0.005 / np.sqrt(2)  # per component
    long_chain = voigt_noise_levels(s.frequency, s.z[None, :])[0]
    assert long_chain == pytest.approx(added, rel=0.15)
    kk = eisfit.kk_test(s)
    params = 1 + kk.n_rc + (kk.inductance_H is not None) + (kk.capacitance_F is not None)
    chain_noise = math.sqrt(kk.pseudo_chisq / (2 * s.frequency.size - params))
    assert chain_noise > 1.3 * long_chain
    assert kk_noise_level(kk) == kk.noise_level == pytest.approx(long_chain)
    assert kk.to_dict()["noise_level"] == kk.noise_level
    ref = eisfit.fit(s, family, initial=case.truth, starts=1, kk=False, order_arcs=False, profile=False)
    res = eisfit.fit(s, family)
    assert res.chisq <= 1.01 * ref.chisq, (res.chisq / ref.chisq, res.start_won)


def test_long_voigt_chain_noise_level_on_clean_arcs_and_too_few_points():
    f = np.logspace(6, -1, 71)
    truth = {"R0": 20.0, "R1": 300.0, "CPE1_0": 1e-7, "CPE1_1": 0.88, "R2": 900.0, "CPE2_0": 1e-4, "CPE2_1": 0.8}
    stack = np.array([noisy(HEADLINE, truth, f, 0.01, seed=k).z for k in range(5)])
    assert np.mean(voigt_noise_levels(f, stack)) == pytest.approx(0.01 / np.sqrt(2), rel=0.15)
    assert np.isnan(voigt_noise_levels(f[:2], stack[:1, :2])).all()


def test_rms_relative_residual_closed_form():
    z = np.array([1 + 1j, 2 - 1j, 3.0])
    z_fit = z * np.array([1.01, 1.0, 0.98])
    expected = math.sqrt((0.01**2 + 0 + 0.02**2) / (6 - 2))
    assert rms_relative_residual(z, z_fit, 2) == pytest.approx(expected)
    assert lack_of_fit_ratio(z, z_fit, 2, expected / 3) == pytest.approx(3.0)
    assert math.isnan(lack_of_fit_ratio(z, z_fit, 2, math.nan))


def test_lack_of_fit_fires_on_one_arc_fits_of_two_arc_spectra_and_not_on_right_models():
    cases = family_cases(HEADLINE, 20, seed=21)
    wrong = [eisfit.fit(c.spectrum, ONE_ARC) for c in cases]
    right = [eisfit.fit(c.spectrum, HEADLINE) for c in cases]
    fired_wrong = [any(f.startswith("lack-of-fit:") for f in r.flags) for r in wrong]
    fired_right = [any(f.startswith("lack-of-fit:") for f in r.flags) for r in right]
    assert sum(fired_wrong) >= 19
    assert sum(fired_right) <= 1
    for r in wrong:  # the ratio is exposed and printed in the flag
        ratio = r.derived["lack_of_fit_ratio"]
        flag = next((f for f in r.flags if f.startswith("lack-of-fit:")), None)
        if flag:
            assert float(flag.split(":")[1]) == pytest.approx(ratio, abs=0.05)
    assert np.median([r.derived["lack_of_fit_ratio"] for r in right]) == pytest.approx(1.0, abs=0.15)


# ------------------------------------------------------------------ runaway parameters
def blocking_spectrum():
    """One arc and a blocking CPE: a second arc fitted to it runs away (R2 -> huge)."""
    f = np.logspace(6, -1, 71)
    values = {"R0": 20.0, "R1": 1000.0, "CPE1_0": 1e-9, "CPE1_1": 0.9, "CPE2_0": 1e-5, "CPE2_1": 0.9}
    return noisy("R0-p(R1,CPE1)-CPE2", values, f, seed=1, label="blocking")


def test_runaway_resistance_is_flagged_and_never_printed():
    s = blocking_spectrum()
    res = eisfit.fit(s, HEADLINE)
    assert res.values["R2"] > 100 * np.abs(s.z).max()
    assert "unresolved:R2" in res.flags and problems(res.flags)
    text = res.summary()
    line = next(l for l in text.splitlines() if l.strip().startswith("R2 "))
    assert "unresolved" in line and not re.search(r"\d", line.split("R2", 1)[1])
    assert f"{res.values['R2']:.5g}" not in text
    d = res.to_dict()  # JSON shows no runaway number; what the optimiser stopped at is kept aside
    assert d["values"]["R2"] is None and d["derived"]["CPE2_tau_s"] is None and d["stderr"]["R2"] is None
    assert d["unresolved_values"]["values"]["R2"] == pytest.approx(res.values["R2"])
    assert eisfit.FitResult.from_dict(d) == res and eisfit.FitResult.from_dict(d).values["R2"] == res.values["R2"]
    row = res.table_row()  # fits.csv and the campaign table: empty cells
    assert math.isnan(row["R2"]) and math.isnan(row["CPE2_tau_s"]) and row["R1"] == res.values["R1"]
    # nor in the notebook views: repr and HTML read "unresolved", the DataFrame keeps the value with that note
    r2_repr = re.search(r"R2=([^,]*),", repr(res)).group(1)
    assert r2_repr == "unresolved"
    html = res._repr_html_()
    assert re.search(r"<td[^>]*>R2</td><td[^>]*>unresolved</td>", html), html
    assert f"{res.values['R2']:.5g}" not in html
    frame = res.to_dataframe()
    assert frame.loc["R2", "note"] == "unresolved" and frame.loc["R2", "value"] == pytest.approx(res.values["R2"])
    assert {"R2", "R2_asr_ohm_cm2"} <= unresolved_keys(["unresolved:R2"], ["R2", "R2_asr_ohm_cm2", "R1"])


def test_unresolved_rules_time_constant_and_collapsed_cpe():
    from eisfit.fitting.assemble import unresolved_flags
    from eisfit.model import load_circuit

    f = np.logspace(5, 0, 30)
    z = np.full(f.size, 100.0 + 0j)
    defn = load_circuit("R0-p(R1,CPE1)-Wo1")
    values = {"R0": 10.0, "R1": 50.0, "CPE1_0": 1e-6, "CPE1_1": 0.9, "Wo1_0": 20.0, "Wo1_1": 1e-9}
    assert unresolved_flags(defn, values, f, z) == ["unresolved:Wo1_1"]  # 1e-9 s << 1/(2 pi 1e5) / 10
    values.update(Wo1_1=0.1, R1=2e4)  # 200 x max|Z|
    assert "unresolved:R1" in unresolved_flags(defn, values, f, z)
    values.update(R1=50.0, CPE1_0=1e-30, CPE1_1=0.0)
    out = unresolved_flags(defn, values, f, z, flags=["at-bound:CPE1_0", "at-bound:CPE1_1"])
    assert {"unresolved:CPE1_0", "unresolved:CPE1_1"} <= set(out)
    # a runaway arc whose (R Q)^(1/n) overflows (R ~ 1e304 ohm, Q ~ 1e222): its Q is no number to print
    values.update(CPE1_0=2e222, CPE1_1=1.0, R1=1e304)
    assert {"unresolved:R1", "unresolved:CPE1_0"} <= set(unresolved_flags(defn, values, f, z))


def _assembled(circuit: str, values: dict, stderr: dict, f: np.ndarray, z: np.ndarray, **settings):
    """A FitResult of ``values`` with a diagonal covariance of ``stderr`` (no optimiser, no KK)."""
    from eisfit.fitting.assemble import assemble_result
    from eisfit.model import load_circuit

    names = list(values)
    return assemble_result(Spectrum(f, z), load_circuit(circuit), values,
                           covariance=np.diag([stderr[n] ** 2 for n in names]), cov_names=names, chisq=1.0,
                           n_free=len(names), converged=True, kk=False,
                           settings={"area_cm2": None, "thickness_cm": None, "symmetric": True, **settings})


def test_every_parameter_shown_unresolved_is_named_by_a_flag():
    """A real Gamry sweep fitted with ...-Wo3 printed Wo3_0 "unresolved" (JSON null) while
    the flags named only unresolved:Wo3_1 (its time constant ran away and the whole element
    is hidden); a CPE arc's runaway named CPE2_0 but hid CPE2_1 too."""
    f = np.logspace(5, 0, 30)
    z = np.full(f.size, 100.0 - 1j)  # a placeholder (not fitted)
    values = {"R0": 10.0, "R1": 50.0, "CPE1_0": 1e-6, "CPE1_1": 0.9, "Wo1_0": 20.0, "Wo1_1": 1e-9}
    res = _assembled("R0-p(R1,CPE1)-Wo1", values, {n: 0.1 * v for n, v in values.items()}, f, z)
    assert {"unresolved:Wo1_1", "unresolved:Wo1_0"} <= set(res.flags)
    shown_unresolved = {n for n in res.param_names if n in res.unresolved}
    assert shown_unresolved == {"Wo1_0", "Wo1_1"}
    assert {f"unresolved:{n}" for n in shown_unresolved} <= set(res.flags)


def test_an_unresolved_parameter_carries_one_flag_not_large_stderr_beside_it():
    """A real CH Instruments file carried large-stderr:R2 for an R2 shown unresolved (null):
    one flag, the stronger one; a resolved parameter keeps its large-stderr."""
    f = np.logspace(5, 0, 30)
    z = np.full(f.size, 100.0 - 1j)  # a placeholder (not fitted)
    values = {"R0": 10.0, "R1": 50.0, "CPE1_0": 1e-6, "CPE1_1": 0.9, "R2": 2e4, "CPE2_0": 1e-3, "CPE2_1": 0.8}
    stderr = {n: 0.1 * v for n, v in values.items()} | {"R2": 5e4, "R1": 60.0}
    res = _assembled("R0-p(R1,CPE1)-p(R2,CPE2)", values, stderr, f, z)
    assert "unresolved:R2" in res.flags  # 200 x max|Z|
    assert "large-stderr:R2" not in res.flags and "large-stderr:R1" in res.flags


def test_audited_real_files_flag_what_they_print():
    """The audit of eisfit fit on real files: an R2 whose 1-sigma profile interval reaches
    0.41 ohm printed as 44.455 +- 44 ohm; a Wo3_0 shown unresolved without a flag; a
    large-stderr beside unresolved:R2."""
    data = ("text", "impedance_py", "data")
    biologic = eisfit.read(realdata_path("mpr", "ECSHackWeek__impedance.py@f1caf7c", "exampleDataBioLogic.mpr"))[0]
    res = eisfit.fit(biologic, area_cm2=0.785)
    assert "unresolved:R2" in res.flags and res.to_dict()["derived"]["R2_asr_per_interface_ohm_cm2"] is None
    gamry = eisfit.read(realdata_path(*data, "exampleDataGamry.DTA"))[0]
    res = eisfit.fit(gamry, "R0-p(R1,CPE1)-p(R2,CPE2)-Wo3")
    shown = {n for n in res.param_names if n in res.unresolved}
    assert shown and {f"unresolved:{n}" for n in shown} <= set(res.flags)
    chi = eisfit.read(realdata_path(*data, "exampleDataCHInstruments.txt"))[0]
    res = eisfit.fit(chi)
    assert "unresolved:R2" in res.flags and "large-stderr:R2" not in res.flags


def test_campaign_evolution_reads_unresolved_instead_of_a_number():
    from dataclasses import replace

    from eisfit.campaign.report import evolution_lines

    f = np.logspace(6, -1, 43)
    truth = {"R0": 20.0, "R1": 300.0, "CPE1_0": 1e-7, "CPE1_1": 0.88, "R2": 900.0, "CPE2_0": 1e-4, "CPE2_1": 0.8}
    spectra = [noisy(HEADLINE, truth, f, seed=k, label=f"c{k}") for k in range(3)]
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, kk=False, progress=False)
    runaway = replace(camp.results[2], values={**camp.results[2].values, "R2": 3.197e50},
                      flags=list(camp.results[2].flags) + ["unresolved:R2"])
    camp.results[2] = runaway
    line = next(l for l in evolution_lines(camp) if l.startswith("R2"))
    assert "unresolved" in line and "e+50" not in line
    assert "e+50" not in camp.report()
    assert "**unresolved:R2**" in camp.report()
    import matplotlib

    matplotlib.use("Agg")
    from eisfit.plotting import plot_campaign_evolution

    fig = plot_campaign_evolution(camp)
    ax = next(a for a in fig.axes if a.get_title().startswith("R2"))
    assert ax.get_ylim()[1] < 1e4  # the runaway value leaves a gap, it does not stretch the axis
    labels = [line.get_label() for line in ax.get_lines()]
    assert "unresolved" in labels and not any(label.startswith("flagged: ") for label in labels)


# ------------------------------------------------------------------ flags
def test_every_flag_has_a_severity_and_is_documented_in_cli_md():
    doc = (Path(__file__).resolve().parents[1] / "CLI.md").read_text(encoding="utf-8")
    for name, (level, _) in FLAGS.items():
        assert re.search(rf"\| `{re.escape(name)}[^`]*` \| {level} \|", doc), name
    assert severity("at-bound:R2") == "caution" and severity("lack-of-fit:3.1") == PROBLEM


def test_optimum_settled_against_a_linear_least_squares_solution():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((50, 3))
    b = a @ np.array([1.0, -2.0, 0.5]) + 0.01 * rng.standard_normal(50)
    x = np.linalg.lstsq(a, b, rcond=None)[0]
    assert optimum_settled(a @ x - b, a, np.zeros(3, bool))
    assert not optimum_settled(a @ (x + 0.05) - b, a, np.zeros(3, bool))
    # a parameter held on a bound is out of the step: the others are at their optimum
    held = x.copy()
    held[2] = 0.0
    rest = np.linalg.lstsq(a[:, :2], b, rcond=None)[0]
    held[:2] = rest
    assert optimum_settled(a @ held - b, a, np.array([False, False, True]))


def test_clean_well_determined_fits_carry_no_flag():
    cases = family_cases(HEADLINE, 20, seed=8)
    flagged = [eisfit.fit(c.spectrum, HEADLINE).flags for c in cases]
    clean = sum(not f for f in flagged)
    assert clean >= 19, flagged


# ------------------------------------------------------------------ joint fits
def test_joint_fit_shared_small_q_has_its_joint_covariance_stderr():
    """Three EISFitpython example spectra with one shared CPE1 (Q ~ 1e-10 S*s^n, n): the
    shared Q is not "on" its bound 0, and its stderr is the joint covariance's, checked
    against scipy's least_squares on the stacked problem (each spectrum's residuals weighted
    by its noise weight, as the joint fit weighs them)."""
    from scipy.optimize import least_squares

    from eisfit.series.joint import joint_fit

    base = realdata_path("text", "eisfitpython", "EIS_Data", "Example-2")
    spectra = [eisfit.read(base / f"Example2{x}.txt")[0].crop(5, None) for x in "abc"]
    circuit = Circuit("p(R1,CPE1)-p(R2,CPE2)-CPE3")
    shared = ["CPE1_0", "CPE1_1"]
    res = joint_fit(spectra, circuit.string, shared=shared)
    assert not any(f.startswith("at-bound:CPE1_0") for fl in res.flags for f in fl)
    se = res.stderr[0]["CPE1_0"]
    assert np.isfinite(se) and 0 < se < res.values[0]["CPE1_0"]
    names = circuit.param_names
    local = [n for n in names if n not in shared]

    def unpack(theta):
        ex = np.exp(theta)
        common = dict(zip(shared, [ex[0], theta[1]]))
        out = []
        for k in range(3):
            vals = dict(common)
            for j, n in enumerate(local):
                v = theta[2 + k * len(local) + j]
                vals[n] = v if n.endswith("_1") else math.exp(v)
            out.append(np.array([vals[n] for n in names]))
        return out

    root_w = np.sqrt(res.noise_weights)

    def residuals(theta):
        parts = []
        for s, p, rw in zip(spectra, unpack(theta), root_w):
            d = rw * (s.z - circuit.impedance(p, s.frequency)) / np.abs(s.z)
            parts += [d.real, d.imag]
        return np.concatenate(parts)

    v = res.values
    theta0 = [math.log(v[0]["CPE1_0"]), v[0]["CPE1_1"]]
    for k in range(3):
        theta0 += [v[k][n] if n.endswith("_1") else math.log(v[k][n]) for n in local]
    ref = least_squares(residuals, np.array(theta0), method="lm", xtol=1e-14, ftol=1e-14)
    chisq = float(ref.fun @ ref.fun)
    assert res.chisq == pytest.approx(chisq, rel=1e-6)
    jac = ref.jac
    cov = np.linalg.inv(jac.T @ jac) * chisq / (jac.shape[0] - jac.shape[1])
    q = math.exp(ref.x[0])
    assert se == pytest.approx(q * math.sqrt(cov[0, 0]), rel=0.02)


@pytest.mark.realdata
@pytest.mark.filterwarnings("ignore:Sharing .* is NOT supported:RuntimeWarning")
def test_joint_fit_reproduces_the_eisfitpython_single_chi_example():
    """EISFitpython Example 4 ("single-chi", Single-chi_Report.txt at commit b3f12f1): the
    seven s04147 spectra (140-200 degC, all 289 points, no cropping) fitted with
    (R1|Q1)+(R2|Q2)+Q3, Q1 and n1 shared, everything else per temperature, modulus
    weighting (residuals divided by |Z| of the data). Its chi-square is the plain sum
    of squared weighted residuals; its stderr is curve_fit's with absolute_sigma=False,
    i.e. s^2 (J^T J)^-1 with s^2 = chisq/(N - M), N = 578, M = 44 (dof 534). Its model has one
    noise level for every spectrum: noise_weighting=False."""
    from eisfit.series.joint import joint_fit

    folder = ("text", "eisfitpython", "EIS_Data", "Example-3-4")
    spectra = [eisfit.read(realdata_path(*folder, f"s04147-{t}deg.txt"))[0] for t in range(140, 201, 10)]
    res = joint_fit(spectra, "p(R1,CPE1)-p(R2,CPE2)-CPE3", shared=["CPE1_0", "CPE1_1"], weighting="modulus",
                    noise_weighting=False)
    assert res.converged
    assert (res.n_residuals, res.n_free) == (578, 44)
    # the report: Chi-squared 2.332765e-02, Reduced 4.368473e-05, Q1 = 7.162e-11 +- 4.748e-12,
    # n1 = 8.373e-01 +- 4.458e-03, R1_140 = 1.338e+05 +- 3.189e+03, R2_200 = 9.738e+04 +- 8.702e+02
    assert res.chisq == pytest.approx(2.332765e-02, rel=1e-4)
    assert res.redchi == pytest.approx(4.368473e-05, rel=1e-4)
    v, e = res.values, res.stderr
    assert not any(f.startswith("at-bound:") for fl in res.flags for f in fl), res.flags
    assert v[0]["CPE1_0"] == pytest.approx(7.162e-11, rel=1e-3)
    assert e[0]["CPE1_0"] == pytest.approx(4.748e-12, rel=0.02)
    assert v[0]["CPE1_1"] == pytest.approx(0.8373, rel=1e-3)
    assert e[0]["CPE1_1"] == pytest.approx(4.458e-03, rel=0.02)
    assert v[0]["R1"] == pytest.approx(1.338e5, rel=1e-3) and e[0]["R1"] == pytest.approx(3.189e3, rel=0.02)
    assert v[6]["R2"] == pytest.approx(9.738e4, rel=1e-3) and e[6]["R2"] == pytest.approx(8.702e2, rel=0.02)


# ------------------------------------------------------------------ real files
@pytest.mark.realdata
def test_real_files_never_print_absurd_resistances(realdata):
    """Fits of every real spectrum of kOhm cells: no number above 1e10 in the summary, and
    every resistance above that flagged unresolved."""
    import warnings

    n = 0
    for path in sorted((realdata / "mpr").rglob("*.mpr")) + sorted((realdata / "mpt").rglob("*.mpt")):
        try:
            spectra = eisfit.read(path)
        except eisfit.ReadError:
            continue
        for s in spectra[:5]:
            if len(s) < 8 or np.abs(s.z).max() > 1e6:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = eisfit.fit(s, "garnet-symmetric", kk=False)
            n += 1
            for name, value in res.values.items():
                if res.units[name] == "ohm" and value > 1e10:
                    assert f"unresolved:{name}" in res.flags, (path.name, name, value)
            numbers = [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?e[-+]\d+", res.summary())]
            assert not numbers or max(abs(x) for x in numbers) <= 1e10, (path.name, s.label)
    assert n > 20


def test_a_shorted_series_cpe_is_unresolved_and_a_blocking_one_is_not():
    """A series C or CPE whose impedance at f_min is below 0.1 % of the data's smallest |Z|
    ran away (a short the data do not hold): unresolved on C, or on Q and n. One that
    carries a blocking line is a value like any other."""
    from eisfit.fitting.assemble import unresolved_flags
    from eisfit.model import load_circuit

    f = np.logspace(6, -2, 41)
    definition = load_circuit("R0-p(R1,CPE1)-CPE2")
    values = dict(R0=20.0, R1=500.0, CPE1_0=1e-6, CPE1_1=0.85, CPE2_0=1e-4, CPE2_1=0.9)
    z = definition.circuit.impedance(values, f)
    assert unresolved_flags(definition, values, f, z) == []
    shorted = {**values, "CPE2_0": 1.0142e304, "CPE2_1": 1.0}
    assert unresolved_flags(definition, shorted, f, z) == ["unresolved:CPE2_0", "unresolved:CPE2_1"]
    # 1/(Q w^n) at 10 mHz vs min |Z| = 20 ohm: 0.05 % is a short, 0.2 % is not
    w = 2 * np.pi * 0.01
    near = {**values, "CPE2_1": 1.0}
    assert unresolved_flags(definition, {**near, "CPE2_0": 1 / (0.01 * w)}, f, z) == [
        "unresolved:CPE2_0", "unresolved:CPE2_1"]
    assert unresolved_flags(definition, {**near, "CPE2_0": 1 / (0.04 * w)}, f, z) == []
    c_def = load_circuit("R0-p(R1,CPE1)-C2")
    c_values = dict(R0=20.0, R1=500.0, CPE1_0=1e-6, CPE1_1=0.85, C2=1e30)
    assert unresolved_flags(c_def, c_values, f, z) == ["unresolved:C2"]
    # the capacitor of a Randles branch that ran away shorts the branch: R2 and Wo2 with it
    # (a real sweep printed CPE2_0 = 1.0e14 S*s^n and R2 = 1130 +- 1e38 ohm)
    randles = load_circuit("R0-p(R1,CPE1)-p(CPE2,R2-Wo2)")
    r_values = dict(R0=2.3, R1=10.9, CPE1_0=4.8e-3, CPE1_1=1.0, CPE2_0=1e-5, CPE2_1=0.8, R2=100.0, Wo2_0=50.0,
                    Wo2_1=1.0)
    r_z = randles.circuit.impedance(r_values, f)
    assert unresolved_flags(randles, r_values, f, r_z) == []
    shorted_branch = {**r_values, "CPE2_0": 1.0081e14, "CPE2_1": 1.0}
    assert sorted(unresolved_flags(randles, shorted_branch, f, r_z)) == [
        "unresolved:CPE2_0", "unresolved:CPE2_1", "unresolved:R2", "unresolved:Wo2_0", "unresolved:Wo2_1"]


@pytest.mark.realdata
def test_a_real_sweep_whose_series_cpe_runs_away_prints_unresolved(realdata):
    """yadg's peis.mpr sweep 0 fitted with R0-p(R1,CPE1)-CPE2: CPE2_0 ran to 1.0e304 S*s^n
    and was printed as a value ("1.0142e+304 ± nan (undetermined: stderr unknown)")."""
    import warnings

    s = eisfit.read(realdata_path("mpr", "dgbowl__yadg", "peis.mpr"))[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = eisfit.fit(s, "R0-p(R1,CPE1)-CPE2")
    assert res.values["CPE2_0"] > 1e100  # what the optimiser stopped at (kept in the result)
    assert {"unresolved:CPE2_0", "unresolved:CPE2_1"} <= set(res.flags)
    lines = {line.split()[0]: line for line in res.summary().splitlines() if line.startswith("  CPE2_")}
    assert "unresolved" in lines["CPE2_0"] and "e+304" not in res.summary()
    assert res.table_row()["CPE2_0"] is None or not np.isfinite(res.table_row()["CPE2_0"])


@pytest.mark.realdata
def test_real_campaign_prints_unresolved_instead_of_1e304(realdata):
    """biol.mpr (5 sweeps, |Z| < 100 ohm): the default circuit's R2 runs away to ~1e304 ohm on
    four sweeps. The evolution line and report.md read "unresolved", never such a number, and
    the table (summary.csv) leaves those cells empty; the FitResults keep the values."""
    import warnings

    path = realdata / "mpr" / "jepegit__cellpy" / "biol.mpr"
    if not path.exists():
        pytest.skip(f"{path} absent")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        camp = eisfit.fit_campaign(path, progress=False)
    runaway = [r for r in camp.results if r is not None and r.values["R2"] > 1e10]
    assert runaway and all("unresolved:R2" in r.flags for r in runaway)
    text = "\n".join(camp.evolution_lines()) + "\n" + camp.report()
    numbers = [abs(float(x)) for x in re.findall(r"[-+]?\d+(?:\.\d+)?e[-+]\d+", text)]
    assert not numbers or max(numbers) <= 1e10
    assert "unresolved" in next(l for l in camp.evolution_lines() if l.startswith("R2"))
    runaway_rows = [k for k, r in enumerate(camp.results) if r in runaway]
    assert camp.table["R2"].iloc[runaway_rows].isna().all() and camp.table["R2"].max() < 1e10


def test_kk_failed_flag_needs_the_fitted_circuit_to_fail_the_kk_rule_too():
    """A drifting sweep fails Lin-KK and the (KK-consistent) circuit cannot follow it:
    flagged. A clean spectrum that the Lin-KK chain misses (kk_passed False: a Randles circuit
    with an open Warburg after a sharp arc, n = 0.955, and a lead inductance; 3.8 % at 32 kHz;
    one of the 3 of 960 true-model spectra of the family set that still fail) is described by
    the circuit within the KK acceptance rule: no flag."""
    f = np.logspace(6, -2, 81)
    truth = {"R0": 20.0, "R1": 300.0, "CPE1_0": 1e-7, "CPE1_1": 0.88, "R2": 900.0, "CPE2_0": 1e-4, "CPE2_1": 0.8}
    s = noisy(HEADLINE, truth, f, seed=3)
    drift = Spectrum(f, s.z.real * (1 + 0.1 * np.linspace(0, 1, f.size)) + 1j * s.z.imag,
                     meta={"label": "drift"})  # Z' drifts by 10 % during the sweep, Z'' does not
    res = eisfit.fit(drift, HEADLINE)
    assert res.kk_passed is False and "kk-failed" in res.flags
    randles = "L0-R0-p(R1,CPE1)-p(C2,R2-Wo2)"
    sharp = family_cases(randles, 30, seed=13)[14].spectrum
    res = eisfit.fit(sharp, randles)
    assert res.kk_passed is False and res.flags == []


def test_misfit_caution_marks_a_missing_lead_inductance():
    """10 MHz data with a 60 nH lead inductance fitted without it (the sample campaign's
    files with the default circuit): R0 and R1 came out 12-16 % off their truth, far outside
    their stderr, with no flag (lack-of-fit needs 2x the noise; the ratio was 1.2-1.45). Now
    a caution ``misfit``; the right circuit carries none."""
    f = np.logspace(7, 2, 51)
    truth = {"L0": 6e-8, "R0": 40.0, "R1": 60.0, "CPE1_0": 3e-9, "CPE1_1": 0.9, "R2": 149.0, "CPE2_0": 2e-6,
             "CPE2_1": 0.85}
    s = noisy("L0-R0-p(R1,CPE1)-p(R2,CPE2)", truth, f, seed=5)
    without = eisfit.fit(s, HEADLINE)
    ratio = without.derived["lack_of_fit_ratio"]
    assert 1.2 < ratio <= 2.0
    assert f"misfit:{ratio:.2f}" in without.flags and severity(f"misfit:{ratio:.2f}") == "caution"
    assert not problems(without.flags)
    right = eisfit.fit(s, "L0-R0-p(R1,CPE1)-p(R2,CPE2)")
    assert right.derived["lack_of_fit_ratio"] < 1.2
    assert not any(fl.startswith(("misfit", "lack-of-fit")) for fl in right.flags)


def test_a_fit_left_with_a_lack_of_fit_tries_the_whole_start_list():
    """p(R1,CPE1)-p(R2,CPE2)-CPE3 with the second arc near f_min (tau 2.2 s, 10 mHz data):
    the quick round and round 2 ended with the blocking CPE line swallowing that arc (a tiny
    R1, n3 = 0.59: 40x the optimum's chi-square, flagged lack-of-fit:5.9). Before the tool
    says that the model misses the data it runs the rest of the start list, which finds it."""
    family = "p(R1,CPE1)-p(R2,CPE2)-CPE3"
    truth = {"R1": 34.61, "CPE1_0": 5.432e-4, "CPE1_1": 0.8044, "R2": 20.93, "CPE2_0": 0.09783,
             "CPE2_1": 0.9347, "CPE3_0": 0.1384, "CPE3_1": 0.769}
    s = noisy(family, truth, np.logspace(6, -2, 81), seed=0)  # every noise seed 0-15 was trapped (28-39x)
    ref = eisfit.fit(s, circuit=family, initial=truth, starts=1)
    auto = eisfit.fit(s, circuit=family)
    assert auto.chisq <= 1.01 * ref.chisq
    assert not any(fl.startswith("lack-of-fit") for fl in auto.flags)
    assert auto.values["R2"] == pytest.approx(truth["R2"], rel=0.1)


# Issue 13 families, seed 37 of scripts/robustness.py: no start reached the optimum.
STARTS_MISSED = {
    # a lead inductance hidden under the bulk arc at f_max (omega_max L = 22 % of |Z|, no
    # inductive point): started at 5 % of |Z| it collapsed to its floor from every start (22x)
    "L0-R0-p(R1,CPE1)-p(R2,CPE2)": {"L0": 1.42e-06, "R0": 9.44, "R1": 5020.0, "CPE1_0": 8.35e-08, "CPE1_1": 0.8,
                                    "R2": 880.0, "CPE2_0": 0.00158, "CPE2_1": 0.789},
    # two arcs of 166 and 255 ohm before a blocking line: Z'(f_min) = 8 MOhm (the line's real
    # part) set a floor of 8 kOhm on every screened arc magnitude (86x)
    "p(R1,CPE1)-p(R2,CPE2)-CPE3": {"R1": 166.0, "CPE1_0": 8.47e-08, "CPE1_1": 0.772, "R2": 255.0,
                                   "CPE2_0": 1.22e-07, "CPE2_1": 0.928, "CPE3_0": 1.17e-07, "CPE3_1": 0.957},
}


@pytest.mark.parametrize("noise_seed", [0, 5])  # before: 25-31x and 83-106x (9 and 4 of noise seeds 0-11)
@pytest.mark.parametrize("family", list(STARTS_MISSED))
def test_starts_from_the_linear_screen_reach_the_optimum(family, noise_seed):
    truth = STARTS_MISSED[family]
    s = noisy(family, truth, np.logspace(6, -2, 81), seed=noise_seed)
    ref = eisfit.fit(s, family, initial=truth, starts=1)
    res = eisfit.fit(s, family)
    assert res.chisq <= 1.01 * ref.chisq, (res.chisq / ref.chisq, res.start_won)
    assert not any(fl.startswith("lack-of-fit") for fl in res.flags)


def test_user_initial_inductance_is_kept_in_every_start():
    from eisfit.fitting.guess import multistart_guesses, spectrum_features

    family = "L0-R0-p(R1,CPE1)-p(R2,CPE2)"
    s = noisy(family, STARTS_MISSED[family], np.logspace(6, -2, 81), seed=3)
    circ = Circuit(family)
    feats = spectrum_features(s.frequency, s.z)
    base = {n: 1.0 for n in circ.param_names} | {"L0": 2e-7}
    free = multistart_guesses(circ, feats, base)
    kept = multistart_guesses(circ, feats, base, keep={"L0"})
    assert any(st["L0"] != 2e-7 for st in free)  # the linear screen's inductance is used ...
    assert all(st["L0"] == 2e-7 for st in kept)  # ... unless the user gave one


def _with_lead_inductance(inductance_h: float, seed: int = 2) -> Spectrum:
    """A two-arc spectrum of 1 MHz-1 Hz with a lead inductance in series, 0.4 % noise."""
    rng = np.random.default_rng(seed)
    f = np.logspace(6, 0, 49)
    p = np.array([inductance_h, 12.0, 60.0, 1e-6 ** 0.92 / 60.0, 0.92, 150.0, 1e-2 ** 0.8 / 150.0, 0.8])  # apexes
    # at 160 kHz and 16 Hz
    z = Circuit("L0-" + HEADLINE).impedance(p, f)
    z *= 1 + 0.004 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2)
    return Spectrum(frequency=f, z=z, meta={"label": f"L={inductance_h:g}"})


def test_an_inductance_the_circuit_lacks_is_named_and_its_value_read_from_the_data():
    from eisfit.analysis.quality import unmodelled_inductance_H

    s = _with_lead_inductance(2e-7)
    kk = eisfit.kk_test(s)
    found = unmodelled_inductance_H(Circuit(HEADLINE), s.frequency, s.z, kk.passed, kk.inductance_H,
                                    kk_noise_level(kk))
    assert found == pytest.approx(2e-7, rel=0.2)
    assert unmodelled_inductance_H(Circuit("L0-" + HEADLINE), s.frequency, s.z, kk.passed, kk.inductance_H,
                                   kk_noise_level(kk)) is None  # the circuit has it
    assert unmodelled_inductance_H(Circuit(HEADLINE), s.frequency, s.z, False, kk.inductance_H,
                                   kk_noise_level(kk)) is None  # a chain that fails says nothing
    lacking = eisfit.fit(s, HEADLINE)
    named = [f for f in lacking.flags if f.startswith("inductance-in-data:")]
    assert len(named) == 1 and float(named[0].split(":")[1][:-1]) == pytest.approx(2e-7, rel=0.2)
    assert severity(named[0]) == "caution"
    assert not any(f.startswith("inductance-in-data") for f in eisfit.fit(s, "L0-" + HEADLINE).flags)
    clean = eisfit.fit(_with_lead_inductance(1e-12), HEADLINE)  # nothing to find
    assert not any(f.startswith("inductance-in-data") for f in clean.flags)


def test_a_missing_inductance_skips_the_third_round_of_starts_and_loses_no_optimum(monkeypatch):
    """Data with an inductance the circuit lacks lack fit whatever the start: the fit stops
    after round 2 (the whole list ran before, for the same optimum)."""
    import eisfit.analysis.quality as quality
    from eisfit.fitting.solver import ESCALATION_STARTS

    spectra = [_with_lead_inductance(L, seed=k) for k, L in enumerate((1e-7, 3e-7, 8e-7))]
    short = [eisfit.fit(s, HEADLINE) for s in spectra]
    monkeypatch.setattr(quality, "INDUCTANCE_SIGMAS", math.inf)  # never found: the old rule
    whole = [eisfit.fit(s, HEADLINE) for s in spectra]
    for a, b in zip(short, whole):
        assert a.n_starts < b.n_starts and a.n_starts <= 8 + ESCALATION_STARTS + 8  # quick, round 2, repairs
        assert a.chisq <= b.chisq * 1.001


def test_a_capacitive_tail_the_circuit_cannot_follow_is_named():
    """Two arcs and a blocking CPE line (10 Hz-1 MHz tail of ~|Z| at f_min): fitted without
    the line, the misfit is named with the Lin-KK chain's series capacitance; with it, not."""
    rng = np.random.default_rng(5)
    f = np.logspace(6, -1, 50)
    circ = Circuit(HEADLINE + "-CPE3")
    p = np.array([12.0, 60.0, 1e-6 ** 0.92 / 60.0, 0.92, 150.0, 1e-3 ** 0.8 / 150.0, 0.8, 2e-4, 0.85])
    z = circ.impedance(p, f) * (1 + 0.004 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
                                / np.sqrt(2))
    s = Spectrum(frequency=f, z=z)
    lacking = eisfit.fit(s, HEADLINE)
    named = [x for x in lacking.flags if x.startswith("capacitive-tail-in-data:")]
    assert len(named) == 1 and severity(named[0]) == "caution"
    assert float(named[0].split(":")[1][:-1]) > 0
    assert not any(x.startswith("capacitive-tail") for x in eisfit.fit(s, HEADLINE + "-CPE3").flags)


def test_a_fit_that_still_lacks_fit_on_valid_data_gets_drt_seeded_starts():
    """Blocking family, seed 13, case 4: a slow arc (apex near f_min) half hidden under the
    blocking line. Every start of the grid put both arcs at high frequency: lack-of-fit 12.7,
    171x the optimum's chi-square. The last round, for fits that still lack fit on data that
    pass the Lin-KK test, starts from the DRT's peaks and reaches the optimum; the edge-arc
    round, which runs before it (one arc started at the low end of the data), now reaches
    the same optimum first."""
    from eisfit.fitting.robustness import family_cases

    family = "p(R1,CPE1)-p(R2,CPE2)-CPE3"
    case = family_cases(family, 25)[4]
    res = eisfit.fit(case.spectrum, family)
    from_truth = eisfit.fit(case.spectrum, family, initial=case.truth, starts=1)
    assert res.chisq == pytest.approx(from_truth.chisq, rel=1e-6)
    assert res.start_won.startswith(("drt:", "edge:")) and not any(f.startswith("lack-of-fit") for f in res.flags)


@pytest.mark.parametrize("seed,index", [(44, 15), (40, 20)])
def test_a_mild_lack_of_fit_under_a_blocking_tail_gets_drt_seeded_starts(seed, index):
    """Blocking family: a slow arc swallowed by the blocking CPE (seed 44: R1 4.9 ohm for
    6,784, CPE3 n 0.6) or placed beside it (seed 40) left lack-of-fit ratios of 1.09 and 1.07,
    1.24x and 1.17x the optimum's chi-square, below the flag and below round 3's threshold;
    the whole start list misses the first. For a circuit that is not finite at DC the DRT
    round runs from ESCALATE_LACK_OF_FIT; its starts reach the optimum."""
    from eisfit.fitting.robustness import family_cases

    family = "p(R1,CPE1)-p(R2,CPE2)-CPE3"
    case = family_cases(family, 25, seed)[index]
    res = eisfit.fit(case.spectrum, family)
    from_truth = eisfit.fit(case.spectrum, family, initial=case.truth, starts=1)
    assert res.chisq <= 1.001 * from_truth.chisq, (res.chisq / from_truth.chisq, res.start_won)
    assert res.values["R1"] == pytest.approx(case.truth["R1"], rel=0.05)


def test_the_drt_round_starts_at_a_mild_lack_of_fit_only_for_circuits_open_at_dc():
    from eisfit.analysis.quality import LACK_OF_FIT_RATIO
    from eisfit.fitting.batch import _preparer
    from eisfit.fitting.robustness import family_cases
    from eisfit.fitting.solver import ESCALATE_LACK_OF_FIT, _drt_round_threshold

    def threshold(circuit):
        return _drt_round_threshold(_preparer(circuit, {})(family_cases(HEADLINE, 1)[0].spectrum, None, "auto"))

    assert threshold("p(R1,CPE1)-p(R2,CPE2)-CPE3") == ESCALATE_LACK_OF_FIT
    assert threshold("R0-p(R1,CPE1)-W1") == ESCALATE_LACK_OF_FIT
    assert threshold(HEADLINE) == LACK_OF_FIT_RATIO
    assert threshold("R0-p(R1,CPE1)-p(CPE2,R2-Ws2)") == LACK_OF_FIT_RATIO


def test_a_lack_of_fit_alone_escalates_with_fewer_starts_to_the_same_optimum(monkeypatch):
    """A third arc the circuit lacks (3-4 % of R, 0.3 % noise): the two-arc fit lacks fit and
    shows no other sign of a missed optimum. Round 2 runs LACK_OF_FIT_STARTS starts instead
    of ESCALATION_STARTS, and round 3 (the lack of fit remains: a misfit) the rest of the
    list from there, the starts round 2 skipped included; the optimum is the one the longer
    round 2 reaches, after as many starts in all."""
    import eisfit.fitting.solver as solver
    from eisfit.fitting.batch import _preparer
    from eisfit.model import Circuit

    prep = _preparer(HEADLINE, {})(eisfit.Spectrum(np.logspace(6, 0, 50), Circuit(HEADLINE).impedance(
        [10, 1000, 1e-9, 0.9, 2000, 1e-6, 0.88], np.logspace(6, 0, 50))), None, "auto")
    few2, few3 = solver._round_starts(prep, 2, few=True), solver._round_starts(prep, 3, few=True)
    all2, all3 = solver._round_starts(prep, 2), solver._round_starts(prep, 3)
    assert len(few2) == solver.LACK_OF_FIT_STARTS < len(all2)
    assert list(few2) + list(few3) == list(all2) + list(all3)  # nothing skipped for good

    f = np.logspace(6, 0, 50)
    truth = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)")
    for k, r3 in enumerate((40.0, 80.0)):
        z = truth.impedance([10, 1000, 1e-9, 0.9, 2000, 1e-6, 0.88, r3, 2e-3, 0.9], f)
        rng = np.random.default_rng(k + 1)
        s = eisfit.Spectrum(frequency=f, z=z + 0.003 * np.abs(z) * (rng.standard_normal(f.size)
                                                                  + 1j * rng.standard_normal(f.size)))
        short = eisfit.fit(s, HEADLINE)
        monkeypatch.setattr(solver, "LACK_OF_FIT_STARTS", solver.ESCALATION_STARTS)
        whole = eisfit.fit(s, HEADLINE)
        monkeypatch.undo()
        assert any(flag.startswith("misfit") for flag in short.flags)  # the case: a lack of fit
        assert short.n_starts == whole.n_starts  # round 3 ran what round 2 skipped
        assert short.chisq == pytest.approx(whole.chisq, rel=1e-9)


def test_transfer_starts_move_resistance_between_overlapping_arcs_keeping_their_time_constants():
    """Two arcs closer than a decade in time constant: four starts, each arc in turn giving
    70 % and 97 % of its resistance to the other, every arc's time constant and exponent
    kept, R0 untouched; arcs a decade or more apart: none."""
    from eisfit.analysis.derived import arc_tau_s
    from eisfit.fitting.guess import TRANSFER_KEEP, transferred_resistance_starts
    from eisfit.model import Circuit

    circ = Circuit(HEADLINE)
    arcs = list(circ.arcs)
    values = {"R0": 6.0, "R1": 5850.0, "CPE1_0": 7.75e-10, "CPE1_1": 0.728, "R2": 1580.0, "CPE2_0": 2.37e-8,
              "CPE2_1": 0.612}
    starts = transferred_resistance_starts(circ, values, 10.0)
    assert [label for label, _ in starts] == [f"transfer:{a}->{b}:{k:g}" for a, b in (("R1", "R2"), ("R2", "R1"))
                                              for k in TRANSFER_KEEP] or \
        [label for label, _ in starts] == [f"transfer:{a}->{b}:{k:g}" for a, b in (("R2", "R1"), ("R1", "R2"))
                                           for k in TRANSFER_KEEP]
    for label, start in starts:
        give, take = label.split(":")[1].split("->")
        keep = float(label.split(":")[2])
        assert start[give] == pytest.approx(keep * values[give])
        assert start[give] + start[take] == pytest.approx(values["R1"] + values["R2"])
        assert start["R0"] == values["R0"] and start["CPE1_1"] == values["CPE1_1"]
        for arc in arcs:
            assert arc_tau_s(start, arc) == pytest.approx(arc_tau_s(values, arc), rel=1e-12)
    apart = dict(values, CPE2_0=2.37e-4)  # the second arc four decades slower
    assert transferred_resistance_starts(circ, apart, 10.0) == []


@pytest.mark.parametrize("parts, circuit", [
    (("text", "eisfitpython", "EIS_Data", "Example-2", "Example2c.txt"), "R0-p(R1,CPE1)-p(R2,CPE2)"),
    (("text", "eisfitpython", "EIS_Data", "CSV_Example.csv"), "R0-p(R1,CPE1)-p(CPE2,R2-Ws2)"),
])
def test_a_gross_lack_of_fit_escalates_with_every_round_two_start(parts, circuit):
    """Real files a circuit misses by 7-13x the noise: the automatic fit reaches the optimum of
    the whole start list (with the 8 starts of a mild lack of fit it ended 1.55x and 1.03x
    above it)."""
    s = eisfit.read(realdata_path(*parts))[0]
    auto = eisfit.fit(s, circuit)
    assert auto.derived["lack_of_fit_ratio"] > 2  # the case
    assert auto.chisq <= eisfit.fit(s, circuit, starts=100).chisq * (1 + 1e-6)


# ------------------------------------------------------------------ round 2's short start list
def _round2_start_sets(monkeypatch, spectrum, circuit):
    """The start sets that round 2 of eisfit.fit(spectrum, circuit) ran (None: no round 2)."""
    from eisfit.fitting import solver

    calls = []
    run = solver._run_start_sets
    monkeypatch.setattr(solver, "_run_start_sets", lambda batch, preps, sets: calls.append(sets) or run(batch, preps, sets))
    res = eisfit.fit(spectrum, circuit, kk=False)
    monkeypatch.undo()
    return res, (calls[1][0] if len(calls) > 1 else None)


def test_overlapping_plain_arcs_alone_run_a_short_round_2_with_tail_starts(monkeypatch):
    """Arcs a quarter of a decade apart, nothing else wrong: round 2 runs LACK_OF_FIT_STARTS
    of the grid plus the starts where one arc runs away (the transfer round covers the
    other end of the valley), not ESCALATION_STARTS; and the fit is still at the optimum of
    an independent search (the true start and 100 random ones)."""
    from eisfit.fitting import solver
    from eisfit.fitting.robustness import CIRCUIT, make_cases, reference_chisq

    case = make_cases(500)[287]  # arcs 0.22 decades apart; its optimum has R2 run away
    res, round2 = _round2_start_sets(monkeypatch, case.spectrum, CIRCUIT)
    grid = [label for label in round2.labels if not label.startswith("tail:")]
    assert len(grid) == solver.LACK_OF_FIT_STARTS < solver.ESCALATION_STARTS
    assert len(round2.labels) > len(grid)  # the tail starts
    assert res.chisq <= 1.01 * reference_chisq(case, n_random=100)


def test_overlapping_processes_of_a_randles_circuit_keep_the_full_round_2(monkeypatch):
    """The transfer round moves resistance between plain arcs only: a Randles circuit
    whose processes overlap keeps ESCALATION_STARTS in round 2."""
    from eisfit.fitting import solver
    from eisfit.fitting.solver import _plain_arcs_only

    circuit = "R0-p(R1,CPE1)-p(CPE2,R2-Wo2)"
    assert not _plain_arcs_only(Circuit(circuit)) and _plain_arcs_only(Circuit(HEADLINE))
    assert _plain_arcs_only(Circuit("p(R1,CPE1)-p(R2,CPE2)-CPE3"))  # a blocking CPE is no process
    truth = {"R0": 10.0, "R1": 100.0, "CPE1_0": 2e-6, "CPE1_1": 0.85, "R2": 150.0, "CPE2_0": 4e-6,
             "CPE2_1": 0.85, "Wo2_0": 60.0, "Wo2_1": 0.05}  # arcs at 0.044 and 0.16 ms, diffusion at 50 ms
    s = noisy(circuit, truth, np.logspace(6, -2, 81))
    res, round2 = _round2_start_sets(monkeypatch, s, circuit)
    assert round2 is not None
    assert len(round2.labels) == solver.ESCALATION_STARTS
    assert not any(label.startswith("tail:") for label in round2.labels)
