"""Derived quantities of the arcs of branches p(CPE, R-X) and of Warburg elements.

A Randles branch p(CPE1, R1-W1) is a double layer over a charge transfer: its R1 is an
interface resistance (ASR, per interface in a symmetric cell, no conductivity) and its CPE
a capacitance with the time constant and C_eff of an R1 || CPE1 arc. A finite Warburg's Z0
gets an ASR, an open one its low-frequency limiting capacitance tau/Z0.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import eisfit
from eisfit import Spectrum
from eisfit.model import Circuit

F = np.logspace(6, -2, 81)
AREA, THICKNESS = 0.785, 0.03


def _spectrum(circuit: str, truth: dict[str, float], seed: int = 3) -> Spectrum:
    c = Circuit(circuit)
    z = c.impedance(np.array([truth[n] for n in c.param_names]), F)
    noise = np.random.default_rng(seed).standard_normal((2, F.size))
    return Spectrum(F, z + 0.002 * np.abs(z) * (noise[0] + 1j * noise[1]))


@pytest.mark.parametrize("string, branch, randles", [
    ("R0-p(R1,CPE1)-p(CPE2,R2-Wo2)", [("R2", "CPE2")], [("R2", "CPE2")]),
    ("R0-p(CPE1,R1-W1)", [("R1", "CPE1")], [("R1", "CPE1")]),
    ("R0-p(C1,Ws1-R1)", [("R1", "C1")], [("R1", "C1")]),
    ("R0-p(CPE1,R1-p(R2,CPE2))", [("R1", "CPE1")], []),
    ("R0-p(CPE1,R1-p(CPE2,R2-Wo2))", [("R1", "CPE1"), ("R2", "CPE2")], [("R2", "CPE2")]),
    ("R0-p(R1,CPE1)-p(R2,CPE2)", [], []),
    ("R0-p(C1,R1-R2)", [], []),  # two resistors: no arc
])
def test_branch_arcs_of_circuit_strings(string, branch, randles):
    c = Circuit(string)
    assert [(a.resistor, a.capacitive) for a in c.branch_arcs] == branch
    assert [(a.resistor, a.capacitive) for a in c.randles_arcs] == randles


def test_randles_branch_is_a_charge_transfer_with_the_arc_quantities_of_its_double_layer():
    truth = dict(R0=10.0, R1=100.0, CPE1_0=1e-9, CPE1_1=0.9, CPE2_0=1e-5, CPE2_1=0.85, R2=200.0,
                 Wo2_0=300.0, Wo2_1=30.0)
    circuit = "R0-p(R1,CPE1)-p(CPE2,R2-Wo2)"
    res = eisfit.fit(_spectrum(circuit, truth), circuit, area_cm2=AREA, thickness_cm=THICKNESS)
    v, d = res.values, res.derived
    assert res.roles["R2"] == "charge transfer"
    # an interface: ASR per cell and per interface, no conductivity
    assert d["R2_asr_ohm_cm2"] == pytest.approx(v["R2"] * AREA)
    assert d["R2_asr_per_interface_ohm_cm2"] == pytest.approx(v["R2"] * AREA / 2)
    assert "R2_sigma_S_per_cm" not in d
    # the conductivity with the series resistance takes R0 and the electrolyte arc, not R2
    assert d["sigma_total_with_series_S_per_cm"] == pytest.approx(THICKNESS / ((v["R0"] + v["R1"]) * AREA))
    # the double layer: tau = (R2 Q)^(1/n), Hsu-Mansfeld and Brug (Re = R0 + R1) capacitances
    tau = (v["R2"] * v["CPE2_0"]) ** (1 / v["CPE2_1"])
    n = v["CPE2_1"]
    brug = v["CPE2_0"] ** (1 / n) * (1 / (v["R0"] + v["R1"]) + 1 / v["R2"]) ** ((n - 1) / n)
    assert d["CPE2_tau_s"] == pytest.approx(tau)
    assert d["CPE2_fapex_Hz"] == pytest.approx(1 / (2 * np.pi * tau))
    assert d["CPE2_ceff_F"] == pytest.approx(tau / v["R2"])
    assert d["CPE2_ceff_brug_F"] == pytest.approx(brug)
    assert d["CPE2_ceff_F_per_cm2"] == pytest.approx(tau / v["R2"] / AREA)
    assert d["CPE2_ceff_F"] == pytest.approx(3.34e-6, rel=0.05)  # the truth's (200 * 1e-5)^(1/0.85) / 200
    assert np.isfinite(d["CPE2_ceff_F_stderr"]) and d["CPE2_ceff_F_stderr"] > 0


def test_open_warburg_limiting_capacitance_is_the_low_frequency_limit_of_its_impedance():
    """Z_Wo -> Z0/3 + Z0/(j w tau) as w -> 0: read both off the element's impedance far
    below 1/tau and compare with the derived Z0 * A and tau / Z0."""
    truth = dict(R0=10.0, R1=100.0, CPE1_0=1e-9, CPE1_1=0.9, CPE2_0=1e-5, CPE2_1=0.85, R2=200.0,
                 Wo2_0=300.0, Wo2_1=30.0)
    circuit = "R0-p(R1,CPE1)-p(CPE2,R2-Wo2)"
    res = eisfit.fit(_spectrum(circuit, truth), circuit, area_cm2=AREA)
    z0, tau = res.values["Wo2_0"], res.values["Wo2_1"]
    f = np.array([1e-7])
    z = Circuit("Wo1").impedance(np.array([z0, tau]), f)[0]
    assert z.real == pytest.approx(z0 / 3, rel=1e-4)
    assert res.derived["Wo2_clim_F"] == pytest.approx(-1 / (2 * np.pi * f[0] * z.imag), rel=1e-4)
    assert res.derived["Wo2_clim_F_per_cm2"] == pytest.approx(res.derived["Wo2_clim_F"] / AREA)
    assert res.derived["Wo2_0_asr_ohm_cm2"] == pytest.approx(z0 * AREA)
    assert res.derived["Wo2_clim_F"] == pytest.approx(0.1, rel=0.05)  # the truth's 30 s / 300 ohm
    assert "Wo2_clim_F" in res.derived_units and "F" in res.derived_units["Wo2_clim_F"]


def test_library_randles_circuit_reports_the_charge_transfer_double_layer_and_warburg_per_area():
    truth = dict(R0=10.0, CPE1_0=1e-5, CPE1_1=0.9, R1=100.0, W1=50.0)
    res = eisfit.fit(_spectrum("R0-p(CPE1,R1-W1)", truth), "randles", area_cm2=AREA, thickness_cm=THICKNESS)
    v, d = res.values, res.derived
    assert res.roles == {"R1": "charge transfer"}
    assert "R1_sigma_S_per_cm" not in d and "R0_sigma_S_per_cm" in d
    assert d["CPE1_ceff_F"] == pytest.approx((v["R1"] * v["CPE1_0"]) ** (1 / v["CPE1_1"]) / v["R1"])
    assert d["W1_aw_ohm_cm2_per_sqrt_s"] == pytest.approx(v["W1"] * AREA)
    assert v["W1"] == pytest.approx(50.0, rel=0.05)


def test_ladder_outer_arc_gets_its_arc_quantities_and_a_capacitance_role():
    """p(CPE1, R1-p(R2,CPE2)): a coating (CPE1) over its pore resistance R1 in series with
    the interface arc behind it; R1 is an arc resistance, not a series one."""
    truth = dict(R0=10.0, CPE1_0=2e-9, CPE1_1=0.92, R1=150.0, R2=400.0, CPE2_0=2e-5, CPE2_1=0.85)
    circuit = "R0-p(CPE1,R1-p(R2,CPE2))"
    res = eisfit.fit(_spectrum(circuit, truth), circuit, area_cm2=AREA, thickness_cm=THICKNESS)
    v, d = res.values, res.derived
    assert d["CPE1_tau_s"] == pytest.approx((v["R1"] * v["CPE1_0"]) ** (1 / v["CPE1_1"]))
    assert res.roles["R1"] == "electrolyte" and res.roles["R2"] == "interface"  # 1e-9 F vs 1e-5 F
    assert d["sigma_total_with_series_S_per_cm"] == pytest.approx(THICKNESS / ((v["R0"] + v["R1"]) * AREA))


def test_a_resistor_inside_a_branch_without_an_arc_gets_no_conductivity():
    truth = dict(R0=10.0, C1=1e-6, R1=50.0, R2=80.0)
    circuit = "R0-p(C1,R1-R2)"
    res = eisfit.fit(_spectrum(circuit, truth), circuit, area_cm2=AREA, thickness_cm=THICKNESS)
    assert "R0_sigma_S_per_cm" in res.derived
    assert "R1_sigma_S_per_cm" not in res.derived and "R2_sigma_S_per_cm" not in res.derived
    assert res.derived["R1_asr_ohm_cm2"] == pytest.approx(res.values["R1"] * AREA)


def test_a_circuit_file_may_name_the_role_of_a_branch_arc(tmp_path):
    """[arcs.R1] of a ladder's outer arc is accepted (it was refused: 'not the resistor of an
    arc'); the Randles branch's resistor, left unnamed, is the charge transfer."""
    path = tmp_path / "coated.toml"
    path.write_text('name = "coated"\ncircuit = "R0-p(CPE1,R1-p(CPE2,R2-Wo2))"\n'
                    '[arcs.R1]\nrole = "surface layer"\n')
    truth = dict(R0=10.0, CPE1_0=2e-9, CPE1_1=0.92, R1=150.0, CPE2_0=2e-5, CPE2_1=0.85, R2=400.0,
                 Wo2_0=500.0, Wo2_1=20.0)
    res = eisfit.fit(_spectrum("R0-p(CPE1,R1-p(CPE2,R2-Wo2))", truth), str(path), area_cm2=AREA,
                     thickness_cm=THICKNESS)
    assert res.roles["R1"] == "surface layer" and res.roles["R2"] == "charge transfer"
    assert "R1_sigma_S_per_cm" not in res.derived and "CPE1_ceff_F" in res.derived
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\ncircuit = "R0-p(C1,R1-R2)"\n[arcs.R1]\nrole = "interface"\n')
    with pytest.raises(eisfit.CircuitError, match="not the resistor of an arc"):
        eisfit.fit(_spectrum("R0-p(C1,R1-R2)", dict(R0=10.0, C1=1e-6, R1=50.0, R2=80.0)), str(bad))


def test_gerischer_and_transmission_line_resistances_per_area_and_the_finite_gerischer_dc_resistance():
    """G: R_G is its DC resistance; Gs: R_G/tanh(phi) is (read off the element's impedance
    at 1e-9 Hz); TLMQ: Rion per area."""
    truth = dict(R0=10.0, R1=100.0, CPE1_0=1e-9, CPE1_1=0.9, Gs2_0=200.0, Gs2_1=1e-2, Gs2_2=0.7)
    circuit = "R0-p(R1,CPE1)-Gs2"
    res = eisfit.fit(_spectrum(circuit, truth), circuit, area_cm2=AREA)
    v, d = res.values, res.derived
    dc = Circuit("Gs1").impedance(np.array([v["Gs2_0"], v["Gs2_1"], v["Gs2_2"]]), np.array([1e-9]))[0]
    assert d["Gs2_rdc_ohm"] == pytest.approx(dc.real, rel=1e-6)
    assert d["Gs2_rdc_ohm"] == pytest.approx(200.0 / np.tanh(0.7), rel=0.05)
    assert d["Gs2_0_asr_ohm_cm2"] == pytest.approx(v["Gs2_0"] * AREA)
    assert np.isfinite(d["Gs2_rdc_ohm_stderr"])
    values = dict(R0=10.0, G1_0=80.0, G1_1=1e-3, TLMQ2_0=50.0, TLMQ2_1=1e-3, TLMQ2_2=0.9)
    spectrum = _spectrum("R0-G1-TLMQ2", values)
    res = eisfit.fit(spectrum, "R0-G1-TLMQ2", initial=values, starts=1, area_cm2=AREA)
    assert res.derived["G1_0_asr_ohm_cm2"] == pytest.approx(res.values["G1_0"] * AREA)
    assert res.derived["TLMQ2_0_asr_ohm_cm2"] == pytest.approx(res.values["TLMQ2_0"] * AREA)
    assert "Rion/3" in res.derived_units["TLMQ2_0_asr_ohm_cm2"]


@pytest.mark.parametrize("a_ratio", [0.05, 2.0, 900.0])
def test_the_dc_resistance_of_a_porous_electrode_is_its_impedance_at_low_frequency(a_ratio):
    """T (Paasch): the DC resistance read off the element's own impedance at 1e-9 Hz, for a
    slow reaction (0.05), a fast one (900: the csch term would overflow as 1/sinh); A per area.
    With a = 900 the element is a Gerischer (only A/sqrt(a) and b/a show): no stderr, said so."""
    truth = dict(R0=10.0, T1_0=300.0, T1_1=60.0, T1_2=a_ratio, T1_3=1e-2)
    res = eisfit.fit(_spectrum("R0-T1", truth), "R0-T1", initial=truth, starts=1, area_cm2=AREA)
    v, d = res.values, res.derived
    dc = Circuit("T1").impedance(np.array([v[f"T1_{k}"] for k in range(4)]), np.array([1e-9]))[0]
    assert d["T1_rdc_ohm"] == pytest.approx(dc.real, rel=1e-6)
    assert d["T1_0_asr_ohm_cm2"] == pytest.approx(v["T1_0"] * AREA)
    assert res.units["T1_0"] == "ohm"
    if a_ratio < 100:
        assert np.isfinite(d["T1_rdc_ohm_stderr"])
    else:
        assert "singular-covariance" in res.flags and not np.isfinite(res.stderr["T1_2"])


def test_campaign_evolution_of_a_randles_circuit_gives_the_charge_transfer_per_cell_and_per_interface():
    circuit = "R0-p(R1,CPE1)-p(CPE2,R2-Wo2)"
    base = dict(R0=10.0, R1=100.0, CPE1_0=1e-8, CPE1_1=0.9, CPE2_0=1e-5, CPE2_1=0.85, Wo2_0=300.0, Wo2_1=30.0)
    spectra = [_spectrum(circuit, {**base, "R2": r2}, seed=k) for k, r2 in enumerate((300.0, 150.0))]
    camp = eisfit.fit_campaign(spectra, circuit=circuit, area_cm2=AREA, cache_dir=False, progress=False, jobs=1)
    lines = camp.evolution_lines()
    per_cell = next(line for line in lines if line.startswith("R2 (charge transfer, per cell)"))
    per_interface = next(line for line in lines if line.startswith("R2 (charge transfer, per interface)"))
    cell = [float(x) for x in re.match(r".*: (\S+) -> (\S+) ohm\*cm2", per_cell).groups()]
    face = [float(x) for x in re.match(r".*: (\S+) -> (\S+) ohm\*cm2", per_interface).groups()]
    assert cell == pytest.approx([300 * AREA, 150 * AREA], rel=0.01)
    assert face == pytest.approx([c / 2 for c in cell], rel=0.01)
    assert "CPE2_ceff_F" in camp.table.columns and "Wo2_clim_F" in camp.table.columns


def test_a_total_conductivity_of_an_unresolved_resistance_is_left_empty_the_intercept_kept():
    """A garnet's R1 arc at ~15 MHz, above the 1 MHz f_max: R1 is unresolved (its R0/R1
    split is not in the data). sigma_total = L/(R1 A) had been printed from whatever R1
    stopped at (4.9e-4 +- 1.1e-3 S/cm, R1 77 ohm for 60); R0 + R1, the intercept, is
    determined and its conductivity stays (true L/((40 + 60) A))."""
    w = 2 * np.pi * F
    z = 40 + 1 / (1 / 60 + 1e-9 * (1j * w) ** 0.9) + 1 / (1 / 149 + 2e-6 * (1j * w) ** 0.85)
    noisy = Spectrum(F, z * (1 + 0.005 * np.random.default_rng(1).standard_normal(F.size)))
    r = eisfit.fit(noisy, circuit="R0-p(R1,CPE1)-p(R2,CPE2)", area_cm2=AREA, thickness_cm=THICKNESS)
    assert "unresolved:R1" in r.flags and "unresolved:sigma_total_S_per_cm" in r.flags
    row = r.table_row()
    assert np.isnan(row["sigma_total_S_per_cm"]) and np.isnan(row["sigma_total_S_per_cm_stderr"])
    assert "unresolved:sigma_total_with_series_S_per_cm" not in r.flags
    truth = THICKNESS / (100.0 * AREA)
    assert row["sigma_total_with_series_S_per_cm"] == pytest.approx(truth, rel=0.01)
    assert row["sigma_total_with_series_S_per_cm_stderr"] < 0.01 * truth
    assert r.to_dict()["derived"]["sigma_total_S_per_cm"] is None


def test_an_ideal_capacitors_areal_capacitance_is_not_labelled_hsu_mansfeld():
    """A C's (or a K's tau/R) capacitance per area read "Hsu-Mansfeld C_eff / A": the formula
    of a CPE's effective capacitance, which an ideal capacitor has no need of. The CPE keeps it."""
    f = np.logspace(6, -1, 40)
    spectrum = eisfit.Spectrum(frequency=f, z=10 + 100 / (1 + 100 * 1e-6 * 2j * np.pi * f))
    units = {c: eisfit.fit(spectrum, circuit=c, area_cm2=0.785, symmetric=True).derived_units
             for c in ("R0-p(R1,C1)", "R0-p(R1,CPE1)")}
    assert units["R0-p(R1,C1)"]["C1_ceff_F_per_cm2"] == "F/cm2 (per cell, C / A)"
    assert units["R0-p(R1,C1)"]["C1_ceff_per_interface_F_per_cm2"] == "F/cm2 (per interface, 2*C/A, symmetric cell)"
    assert units["R0-p(R1,CPE1)"]["CPE1_ceff_F_per_cm2"] == "F/cm2 (per cell, Hsu-Mansfeld C_eff / A)"
