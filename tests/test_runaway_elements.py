"""Elements the data cannot inform, judged by their impedance over the measured band (every
kind, not only resistances), the branches a runaway series member opens, and the derived
quantities computed from an unresolved parameter (the audit of eisfit fit, finding 3: a
runaway Warburg W1 = 1.0e304 ohm*s^-1/2 and CPE1_tau_s = 2.9e190 s reached the terminal, JSON
and fits.csv; the R1 of a branch R1-W1 opened by W1 = 1.7e23 was printed as 22,929 ohm)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import eisfit
from eisfit import Spectrum
from eisfit.fitting.assemble import assemble_result, unresolved_flags, with_roles
from eisfit.model import load_circuit

F = np.logspace(5, -1, 43)  # Hz
AREA = 0.785


def _z(circuit: str, values: dict) -> np.ndarray:
    return load_circuit(circuit).circuit.impedance(values, F)


def _assembled(circuit: str, values: dict, z: np.ndarray, stderr: dict | None = None, **kw):
    """A FitResult of ``values`` (not fitted) with a diagonal covariance (1 % errors, none for
    a value beyond 1e100, unless ``stderr`` says otherwise); no KK test; an area, so that ASR
    and C_eff per area exist."""
    names = list(values)
    sd = {n: 0.01 * abs(v) if abs(v) < 1e100 else math.nan for n, v in values.items()} | (stderr or {})
    settings = {"area_cm2": AREA, "thickness_cm": None, "symmetric": True} | kw.pop("settings", {})
    return assemble_result(Spectrum(F, z), load_circuit(circuit), values,
                           covariance=np.diag([sd[n] ** 2 for n in names]), cov_names=names, chisq=1.0,
                           n_free=len(names), converged=True, kk=False, settings=settings, **kw)


def _shown_numbers(res) -> dict[str, float]:
    """The values and derived quantities a report shows as numbers (not in res.unresolved)."""
    hidden = res.unresolved
    return {k: v for src in (res.values, res.derived) for k, v in src.items()
            if k not in hidden and not k.endswith("_stderr") and math.isfinite(v)}


def _absurd(res) -> dict[str, float]:
    """The shown numbers above 1e15 or below 1e-40 (the audit's scan)."""
    return {k: v for k, v in _shown_numbers(res).items() if abs(v) > 1e15 or 0 < abs(v) < 1e-40}


BLOCKING = dict(R0=20.0, CPE1_0=1e-5, CPE1_1=0.9)  # no charge transfer, no diffusion


def test_a_warburg_whose_impedance_stays_far_above_the_data_is_unresolved():
    """W's Aw (ohm*s^-1/2) is no resistance: the rule of 100 x max|Z| never applied to it."""
    z = _z("R0-CPE1", BLOCKING)
    randles = load_circuit("R0-p(CPE1,R1-W1)")
    runaway = dict(R0=20.0, CPE1_0=1e-5, CPE1_1=0.9, R1=50.0, W1=1.0142e304)
    assert "unresolved:W1" in unresolved_flags(randles, runaway, F, z)
    # |Z_W| at f_max just above 100 x max|Z| is unresolved; just below, not
    w_max, z_max = 2 * np.pi * F.max(), np.abs(z).max()
    edge = 100 * z_max * np.sqrt(w_max / 2)
    assert "unresolved:W1" in unresolved_flags(randles, {**runaway, "W1": 1.01 * edge}, F, z)
    assert "unresolved:W1" not in unresolved_flags(randles, {**runaway, "W1": 0.99 * edge}, F, z)
    res = _assembled("R0-p(CPE1,R1-W1)", runaway, z)
    assert {"W1", "W1_aw_ohm_cm2_per_sqrt_s"} <= res.unresolved
    d = res.to_dict()
    assert d["values"]["W1"] is None and d["derived"]["W1_aw_ohm_cm2_per_sqrt_s"] is None
    assert d["unresolved_values"]["values"]["W1"] == pytest.approx(1.0142e304)
    assert math.isnan(res.table_row()["W1"])
    assert not _absurd(res)


def test_a_runaway_series_member_opens_its_branch_every_parameter_of_it_unresolved():
    """R0-p(R1-W1,CPE1) on a real CH Instruments file: W1 = 1.7e23 (|Z_W| 1.8e19 x max|Z|)
    opened the branch, yet R1 = 22,929 +- 5.9e40 ohm was printed with caution flags only."""
    z = _z("R0-CPE1", BLOCKING)
    values = dict(R0=20.0, R1=22929.0, W1=1.69e23, CPE1_0=1e-5, CPE1_1=0.9)
    out = unresolved_flags(load_circuit("R0-p(R1-W1,CPE1)"), values, F, z)
    assert {"unresolved:R1", "unresolved:W1"} <= set(out)
    assert not {"unresolved:CPE1_0", "unresolved:CPE1_1", "unresolved:R0"} & set(out)  # they carry the data
    res = _assembled("R0-p(R1-W1,CPE1)", values, z, stderr={"R1": 5.9e40, "W1": 3.2e42})
    assert "R1" in res.unresolved and "R1_asr_ohm_cm2" in res.unresolved
    assert res.to_dict()["values"]["R1"] is None
    assert "large-stderr:R1" not in res.flags  # one flag per parameter, the stronger
    assert {"CPE1_0", "CPE1_1", "R0"}.isdisjoint(res.unresolved)


def test_a_runaway_resistance_opens_its_branch_too_and_is_flagged_as_before():
    """The resistance rule itself is unchanged (above 100 x max|Z|); a Randles R1 beyond it
    leaves the W1 in series with it undetermined (no current flows through the branch)."""
    z = _z("R0-CPE1", BLOCKING)
    z_max = np.abs(z).max()
    randles = load_circuit("R0-p(CPE1,R1-W1)")
    values = dict(R0=20.0, CPE1_0=1e-5, CPE1_1=0.9, R1=101 * z_max, W1=50.0)
    assert unresolved_flags(randles, values, F, z) == ["unresolved:R1", "unresolved:W1"]
    assert unresolved_flags(randles, {**values, "R1": 99 * z_max}, F, z) == []
    # a plain arc's R: only itself, as ever
    two = load_circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
    v2 = dict(R0=20.0, R1=101 * z_max, CPE1_0=1e-10, CPE1_1=0.9, R2=100.0, CPE2_0=1e-5, CPE2_1=0.9)
    assert "unresolved:R1" in unresolved_flags(two, v2, F, z)
    assert not {"unresolved:R2", "unresolved:CPE2_0"} & set(unresolved_flags(two, v2, F, z))


def test_an_element_whose_impedance_stays_far_below_the_data_is_unresolved_a_resistance_is_not():
    """A W or L that contributes less than 0.1 % of the data's smallest |Z| at every measured
    frequency is not told by the data (a real sweep printed W1 = 1.3e-12); exactly 0 (on its
    bound: absent, as at-bound says) is no runaway; a resistance keeps its rule (only above
    100 x max|Z|)."""
    values = dict(R0=20.0, R1=100.0, CPE1_0=1e-5, CPE1_1=0.9, W1=30.0)
    z = _z("R0-p(R1,CPE1)-W1", values)
    circuit = load_circuit("R0-p(R1,CPE1)-W1")
    assert unresolved_flags(circuit, values, F, z) == []
    assert unresolved_flags(circuit, {**values, "W1": 1e-45}, F, z) == ["unresolved:W1"]
    assert unresolved_flags(circuit, {**values, "W1": 0.0}, F, z) == []
    assert unresolved_flags(circuit, {**values, "R0": 1e-45}, F, z) == []
    with_l = load_circuit("L0-R0-p(R1,CPE1)-W1")
    assert unresolved_flags(with_l, {**values, "L0": 1e-7}, F, z) == []
    assert unresolved_flags(with_l, {**values, "L0": 1e-30}, F, z) == ["unresolved:L0"]
    res = _assembled("R0-p(R1,CPE1)-W1", {**values, "W1": 1e-45}, z)
    assert "W1" in res.unresolved and not _absurd(res)


def test_quantities_computed_from_an_unresolved_resistance_are_unresolved_with_a_flag_each():
    """A Randles R1 = 3.8e119 (unresolved) left CPE1_tau_s = 2.9e190 s, CPE1_fapex_Hz =
    5.5e-192 Hz and CPE1_ceff_F = 7.7e70 F as numbers: the double layer's Q and n are
    determined, its arc quantities (taken with R1) are not."""
    z = _z("R0-CPE1", BLOCKING)
    values = dict(R0=20.0, CPE1_0=1e-5, CPE1_1=0.9, R1=3.772e119, W1=1.0142e304)
    res = _assembled("R0-p(CPE1,R1-W1)", values, z)
    arc_keys = {"CPE1_tau_s", "CPE1_fapex_Hz", "CPE1_ceff_F", "CPE1_ceff_F_per_cm2", "CPE1_ceff_brug_F"}
    assert arc_keys <= set(res.derived) and arc_keys <= res.unresolved
    assert {f"{k}_stderr" for k in arc_keys} <= res.unresolved
    assert {"CPE1_0", "CPE1_1"}.isdisjoint(res.unresolved)
    for key in ("CPE1_tau_s", "CPE1_fapex_Hz", "CPE1_ceff_F", "CPE1_ceff_brug_F"):
        assert f"unresolved:{key}" in res.flags  # every key shown unresolved is named by a flag
    assert "unresolved:CPE1_ceff_F_per_cm2" not in res.flags  # unresolved:CPE1_ceff_F covers it
    d, row = res.to_dict(), res.table_row()
    assert all(d["derived"][k] is None and math.isnan(row[k]) for k in arc_keys)
    assert not _absurd(res)
    assert "2.9029e+190" not in res.summary() and "7.6961e+70" not in res.summary()


def test_arc_quantities_follow_a_resistance_the_profile_calls_unresolved():
    """An R1 whose 1-sigma profile interval reaches zero is unresolved while its CPE is not
    flagged: tau = (R1 Q)^(1/n), f_apex and C_eff are not determined either."""
    values = dict(R0=20.0, R1=100.0, CPE1_0=1e-6, CPE1_1=0.85)
    z = _z("R0-p(R1,CPE1)", values)
    intervals = {"R1": {"lower_1sigma": 0.5, "upper_1sigma": 120.0, "lower_3sigma": 0.1, "upper_3sigma": 150.0,
                        "open_lower": True, "open_upper": False, "open_lower_1sigma": False,
                        "open_upper_1sigma": False}}
    res = _assembled("R0-p(R1,CPE1)", values, z, intervals=intervals)
    assert "unresolved:R1" in res.flags
    assert {"CPE1_tau_s", "CPE1_fapex_Hz", "CPE1_ceff_F"} <= res.unresolved
    assert {"CPE1_0", "CPE1_1", "R0", "R0_asr_ohm_cm2"}.isdisjoint(res.unresolved)
    clean = _assembled("R0-p(R1,CPE1)", values, z)
    assert not [f for f in clean.flags if f.startswith("unresolved:")]


def test_a_brug_capacitance_whose_re_holds_an_unresolved_resistance_follows_the_sum():
    """Brug's C_eff of CPE2 takes Re = R0 + R1 (the faster arc): the intercept that the data
    fix keeps its number where R1 alone is unresolved (its arc above f_max); a runaway sum
    does not."""
    values = dict(R0=40.0, R1=60.0, CPE1_0=1e-9, CPE1_1=0.9, R2=149.0, CPE2_0=2e-6, CPE2_1=0.85)
    z = _z("R0-p(R1,CPE1)-p(R2,CPE2)", values)
    res = _assembled("R0-p(R1,CPE1)-p(R2,CPE2)", values, z)
    assert "unresolved:R1" in res.flags and "CPE1_ceff_brug_F" in res.unresolved  # apex 17 MHz
    assert "CPE2_ceff_brug_F" not in res.unresolved  # R0 + R1 at 1 % errors: determined
    runaway = {**values, "R1": 1e9, "CPE1_0": 1e-16}  # tau1 = 2e-8 s: still the faster arc
    res = _assembled("R0-p(R1,CPE1)-p(R2,CPE2)", runaway, z)
    assert "unresolved:R1" in res.flags and "unresolved:CPE2_ceff_brug_F" in res.flags
    assert {"CPE2_tau_s", "CPE2_ceff_F", "CPE2_0", "R2"}.isdisjoint(res.unresolved)


def test_new_roles_name_the_unresolved_quantities_they_add():
    """with_roles computes the derived quantities again: a per-interface C_eff that a role
    adds is unresolved where the arc's R is."""
    z = _z("R0-CPE1", BLOCKING)
    values = dict(R0=20.0, CPE1_0=1e-5, CPE1_1=0.9, R1=3.772e119, W1=1.0142e304)
    res = _assembled("R0-p(CPE1,R1-W1)", values, z)
    assert "CPE1_ceff_per_interface_F_per_cm2" in res.derived  # charge transfer: an interface
    definition = load_circuit("R0-p(CPE1,R1-W1)")
    moved = with_roles([res], definition, {"R1": "electrolyte"})[0]
    assert moved.roles["R1"] == "electrolyte"
    assert "CPE1_ceff_per_interface_F_per_cm2" not in moved.derived
    assert "unresolved:CPE1_ceff_per_interface_F_per_cm2" not in moved.flags
    back = with_roles([moved], definition, {"R1": "interface"})[0]
    assert "CPE1_ceff_per_interface_F_per_cm2" in back.unresolved
    assert sorted(back.flags) == sorted(res.flags)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_blocking_data_fitted_with_randles_show_no_runaway_number(seed):
    """KK-consistent blocking data (R0 + CPE, 0.5 % noise) fitted with a Randles circuit: the
    R1-W1 branch carries nothing; seed 1 printed W1 = 6.7e53 and R1 = 2.4e-8 +- 1.2e101 ohm
    with no problem flag."""
    z0 = _z("R0-CPE1", BLOCKING)
    rng = np.random.default_rng(seed)
    z = z0 + 0.005 * np.abs(z0) * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size))
    res = eisfit.fit((F, z), circuit="randles", area_cm2=1.0)
    assert not _absurd(res), _absurd(res)
    assert {"CPE1_0", "CPE1_1", "R0"}.isdisjoint(res.unresolved)  # the blocking line itself


def test_band_moduli_of_a_batch_equal_those_of_each_fit():
    """The batched assembly's element moduli (one evaluation per element for all fits of a
    grid, frequency lists of several lengths) are each fit's own, to the bit, with runaway
    and vanishing elements among them."""
    from eisfit.fitting.assemble import band_moduli, band_moduli_of_fits
    from eisfit.model.elements import ELEMENTS

    circ = load_circuit("R0-p(R1-Wo1,CPE1)-p(R2,C2)-L1-W3").circuit
    rng = np.random.default_rng(5)
    values = [{n: float(10 ** rng.uniform(-300 if k == 0 else -8, 300 if k == 0 else 3))
               if not n.endswith("_1") else float(rng.uniform(0.3, 1.0)) for n in circ.param_names}
              for k in range(12)]
    frequencies = [np.logspace(6, rng.uniform(-2, 1), int(rng.integers(8, 60))) for _ in values]
    batch = band_moduli_of_fits(circ, values, frequencies)
    for v, f, moduli in zip(values, frequencies, batch):
        omega = 2 * np.pi * f
        for e in circ.elements:
            with np.errstate(all="ignore"):
                own = np.abs(np.broadcast_to(ELEMENTS[e.kind].impedance(omega, *(v[n] for n in e.param_names)),
                                             omega.shape))
            np.testing.assert_array_equal(moduli[e.name], (np.min(own), np.max(own)))
        np.testing.assert_array_equal(list(band_moduli(circ, v, f).values()), list(moduli.values()))


def _noisy_wo(tau_s: float, f_hz: np.ndarray, seed: int) -> Spectrum:
    """R0-p(R1,CPE1)-Wo1 with Z0 = 200 ohm and the diffusion time ``tau_s``, 0.5 % noise."""
    circuit = "R0-p(R1,CPE1)-Wo1"
    names = load_circuit(circuit).circuit.param_names
    z = load_circuit(circuit).circuit.impedance([10.0, 100.0, 1e-5, 0.9, 200.0, tau_s], f_hz)
    rng = np.random.default_rng(seed)
    assert names[-2:] == ["Wo1_0", "Wo1_1"]
    return Spectrum(f_hz, z * (1 + 0.005 * (rng.standard_normal(f_hz.size) + 1j * rng.standard_normal(f_hz.size))))


@pytest.mark.parametrize("seed", [204, 7])
def test_a_diffusion_time_beyond_the_lowest_frequency_is_unresolved_with_its_z0(seed):
    """Z0 = 200 ohm, tau = 10 s measured down to 1 Hz (transition at 0.016 Hz) had read
    Wo1_0 = 61 +- 4.7 ohm, Wo1_1 = 0.90 +- 0.16 s, C_lim 0.0148 +- 0.0015 F (true 0.05 F), no
    flag: the chi-square stays within 5.2 s^2 of the optimum for any tau from 2 to 1,000 s
    (checked here with fixed taus), so only Z0/sqrt(tau) is determined."""
    f = np.logspace(6, 0, 45)
    res = eisfit.fit(_noisy_wo(10.0, f, seed), circuit="R0-p(R1,CPE1)-Wo1")
    s2 = res.chisq / res.dof
    far = eisfit.fit(_noisy_wo(10.0, f, seed), circuit="R0-p(R1,CPE1)-Wo1", fixed={"Wo1_1": 1000.0})
    assert (far.chisq - res.chisq) / s2 < 9.0  # an infinite length fits within 3 sigma: the premise
    assert {"unresolved:Wo1_1", "unresolved:Wo1_0"} <= set(res.flags)
    from eisfit.fitting.flags import unresolved_keys

    assert unresolved_keys(res.flags, ["Wo1_clim_F"])  # the limiting capacitance tau/Z0 is shown unresolved
    assert "Wo1_0" in res.intervals or "Wo1_1" in res.intervals


def test_a_diffusion_time_inside_the_data_keeps_its_numbers():
    """The same element measured down to 1 mHz (its transition at 0.016 Hz well inside): Z0
    and tau determined, near the truth, with no unresolved flag."""
    res = eisfit.fit(_noisy_wo(10.0, np.logspace(6, -3, 64), 204), circuit="R0-p(R1,CPE1)-Wo1")
    assert not [f for f in res.flags if f.startswith("unresolved")]
    assert res.values["Wo1_0"] == pytest.approx(200.0, abs=4 * res.stderr["Wo1_0"])
    assert res.values["Wo1_1"] == pytest.approx(10.0, abs=4 * res.stderr["Wo1_1"])


def test_the_warburg_coefficient_of_a_diffusion_beyond_the_data_is_kept_and_covers_the_truth():
    """Z0 and tau of the diffusion above read unresolved; what the data fix, Z0/sqrt(2 tau)
    (the semi-infinite Z -> Aw (1-j)/sqrt(w)), keeps its number with a stderr that covers
    the truth, 200/sqrt(20) = 44.72 ohm*s^-1/2: 30 noise seeds, each within 3 stderr and a
    z-score RMS near 1 (the profile's widened tau error had made it 45 +- 7,561); flagged
    ``semi-infinite:Wo1``. The table, JSON and terminal show it."""
    from eisfit.fitting.flags import unresolved_keys

    f = np.logspace(6, 0, 45)
    truth = 200.0 / np.sqrt(20.0)
    scores, semi_infinite = [], 0
    for seed in range(300, 330):
        res = eisfit.fit(_noisy_wo(10.0, f, seed), circuit="R0-p(R1,CPE1)-Wo1", area_cm2=0.785)
        semi_infinite += "semi-infinite:Wo1" in res.flags
        assert ("semi-infinite:Wo1" in res.flags) == ("unresolved:Wo1_1" in res.flags)
        key = "Wo1_aw_ohm_per_sqrt_s"
        if unresolved_keys(res.flags, [key]):  # only where its own error is unknown or reaches its value
            error = res.derived[f"{key}_stderr"]
            assert not error > 0 or error >= res.derived[key]
            continue
        assert res.derived["Wo1_aw_ohm_cm2_per_sqrt_s"] == pytest.approx(res.derived[key] * 0.785)
        scores.append((res.derived[key] - truth) / res.derived[f"{key}_stderr"])
    scores = np.array(scores)
    assert semi_infinite >= 25 and len(scores) >= 27 and np.all(np.abs(scores) < 3)
    assert 0.6 < np.sqrt(np.mean(scores ** 2)) < 1.5
    assert "Wo1_aw_ohm_per_sqrt_s" in res.to_dict()["derived"]
    assert "Wo1_aw_ohm_per_sqrt_s" in res.summary() and "semi-infinite:Wo1" in res.summary()


RANDLES_AFTER_ARCS = "R0-p(R1,CPE1)-p(R2,CPE2)-p(CPE3,R3-Ws3)"
COLLAPSED_RANDLES = dict(R0=20.0, R1=40.0, CPE1_0=5e-10, CPE1_1=0.95, R2=60.0, CPE2_0=1e-5, CPE2_1=0.85,
                         CPE3_0=1.5e-3, CPE3_1=0.5, R3=2e-4, Ws3_0=1000.0, Ws3_1=0.03)


def test_a_randles_branch_whose_charge_transfer_collapsed_is_unresolved_and_holds_no_intercept():
    """A Randles branch after two arcs whose charge-transfer R went to 2e-4 ohm (a real
    `--circuit auto` fit: 1.9e-4 ohm, CPE3_fapex_Hz 1.4e135, C_eff 7e-133 F): its R is
    unresolved, with the branch's tau, f_apex and C_eff, while its CPE (in parallel with the
    Warburg over the data) keeps its numbers; and it is no arc above the data. The fastest arc
    that holds a resistance, R1 (apex ~20 MHz, the data end at 100 kHz), is what R0 trades
    with: the intercept is R0 + R1 (it had been R0 + R3, 1.7e-4 ohm beside a measured Z' of
    47 ohm)."""
    z = _z(RANDLES_AFTER_ARCS, COLLAPSED_RANDLES)
    res = _assembled(RANDLES_AFTER_ARCS, COLLAPSED_RANDLES, z, stderr={"R0": 80.0, "R1": 32.0})
    assert "unresolved:R3" in res.flags and not {"CPE3_0", "CPE3_1", "Ws3_0"} & res.unresolved
    assert {"CPE3_tau_s", "CPE3_fapex_Hz", "CPE3_ceff_F"} <= res.unresolved
    assert _absurd(res) == {}
    assert "series-holds-arc:R0" in res.flags
    assert res.derived["hf_intercept_ohm"] == pytest.approx(20.0 + 40.0, rel=1e-12)
    assert res.derived_units["hf_intercept_ohm"].startswith("ohm (R0 + R1:")

