"""The summed resistance of arcs the data do not split (eisfit.fitting.arc_sums): a two-arc
circuit fitted to one arc leaves R1 and R2 undetermined, but their sum is the arc's width, which
a one-arc fit of the same data measures independently."""
from __future__ import annotations

import math

import numpy as np
import pytest

import eisfit
from eisfit import Spectrum
from eisfit.fitting.arc_sums import arc_sum_key, determined_groups, is_arc_sum_key
from eisfit.fitting.assemble import with_roles
from eisfit.model import load_circuit

F = np.logspace(6, -1, 57)  # Hz
TWO_ARCS = "R0-p(R1,CPE1)-p(R2,CPE2)"


def _noisy(z: np.ndarray, seed: int, sd: float = 0.002) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return z * (1 + sd * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size)))


def _one_arc(r_ohm: float = 500.0, seed: int = 1) -> Spectrum:
    """R0 10 ohm and one R || CPE arc (Q 1e-6 S*s^n, n 0.9, apex ~500 Hz), 0.2 % noise."""
    w = 2 * np.pi * F
    return Spectrum(frequency=F, z=_noisy(10 + r_ohm / (1 + r_ohm * 1e-6 * (1j * w) ** 0.9), seed))


def _separated(seed: int) -> Spectrum:
    """Two arcs two and a half decades apart (100 and 300 ohm), 0.2 % noise."""
    w = 2 * np.pi * F
    z = 10 + 100 / (1 + 100 * 1e-7 * (1j * w) ** 0.9) + 300 / (1 + 300 * 1e-4 * (1j * w) ** 0.85)
    return Spectrum(frequency=F, z=_noisy(z, seed))


def test_two_arc_fit_of_one_arc_gives_the_sum_that_a_one_arc_fit_measures():
    spectrum = _one_arc()
    res = eisfit.fit(spectrum, TWO_ARCS)
    reference = eisfit.fit(spectrum, "R0-p(R1,CPE1)")
    assert {"R1", "R2"} & (res.unresolved | {f.split(":")[1] for f in res.flags if f.startswith("large-stderr:")})
    total, error = res.derived["R1+R2_ohm"], res.derived["R1+R2_ohm_stderr"]
    assert 0 < error < 0.01 * total
    assert abs(total - reference.values["R1"]) < 3 * math.hypot(error, reference.stderr["R1"])
    assert abs(total - 500.0) < 3 * error
    assert total == pytest.approx(res.values["R1"] + res.values["R2"])
    assert "R1 + R2" in res.derived_units["R1+R2_ohm"] and "R1+R2_ohm" not in res.unresolved
    assert "R1+R2_ohm" in res._repr_html_()  # the notebook view's headline quantities
    [line] = [x for x in res.summary().splitlines() if "measured together" in x]
    assert line.startswith(f"  measured together: R1 + R2 = {total:.5g} ± ") and "eisfit suggest" in line
    assert "measured together" not in eisfit.fit(_separated(3), TWO_ARCS).summary()


def test_the_sum_per_area_and_in_a_campaign_table():
    area = 0.785
    res = eisfit.fit(_one_arc(), TWO_ARCS, area_cm2=area)
    assert res.derived["R1+R2_asr_ohm_cm2"] == pytest.approx(res.derived["R1+R2_ohm"] * area)
    assert res.derived["R1+R2_asr_ohm_cm2_stderr"] == pytest.approx(res.derived["R1+R2_ohm_stderr"] * area)
    spectra = [_one_arc(500.0, 1), _one_arc(450.0, 6)]
    campaign = eisfit.fit_campaign(spectra, circuit=TWO_ARCS, jobs=1)
    column, errors = campaign.table["R1+R2_ohm"].to_numpy(), campaign.table["R1+R2_ohm_stderr"].to_numpy()
    assert np.all(np.abs(column - [500.0, 450.0]) < 3 * errors)
    assert column[0] == pytest.approx(eisfit.fit(spectra[0], TWO_ARCS).derived["R1+R2_ohm"], rel=1e-6)


def test_arcs_the_data_separate_get_no_sum():
    res = eisfit.fit(_separated(3), TWO_ARCS)
    assert not res.unresolved & {"R1", "R2"}
    assert not [k for k in res.derived if is_arc_sum_key(k)]


def _groups(values: dict, sd: dict, correlation: float, flags=(), z_max_ohm: float = 520.0):
    definition = load_circuit(TWO_ARCS)
    names = list(values)
    cov = np.diag([sd.get(n, 0.01 * values[n]) ** 2 for n in names])
    i, j = names.index("R1"), names.index("R2")
    cov[i, j] = cov[j, i] = correlation * sd["R1"] * sd["R2"]
    return [[a.resistor for a in g] for g in determined_groups(definition.circuit, values, cov, names, list(flags),
                                                                z_max_ohm)]


CLOSE = {"R0": 10.0, "R1": 250.0, "CPE1_0": 1e-6, "CPE1_1": 0.9, "R2": 250.0, "CPE2_0": 2e-6, "CPE2_1": 0.9}


def test_groups_need_a_determined_sum_and_arcs_the_data_close():
    sd = {"R1": 300.0, "R2": 300.0}
    assert _groups(CLOSE, sd, -0.99999) == [["R1", "R2"]]  # sum 500 +- 1.3
    assert _groups(CLOSE, sd, 0.0) == []  # sum 500 +- 424: not determined either
    assert _groups(CLOSE, sd, -0.99999, flags=["fapex-outside-range:CPE2"]) == []  # an extrapolated arc
    assert _groups(CLOSE, sd, -0.99999, flags=["profile-open:R2"]) == []
    assert _groups(CLOSE, {"R1": 2.0, "R2": 2.0}, -0.99999) == []  # each determined: nothing to sum
    assert _groups(CLOSE, sd, -0.99999, z_max_ohm=40.0) == []  # 500 ohm beside data of |Z| <= 40: a runaway


def test_a_collapsed_arc_starts_no_group():
    collapsed = {**CLOSE, "R1": 1e-4}
    assert _groups(collapsed, {"R1": 1.0, "R2": 2.0}, 0.0, flags=["unresolved:R1"]) == []


def test_arc_sum_keys():
    assert arc_sum_key(["R1", "R2"]) == "R1+R2_ohm"
    assert is_arc_sum_key("R1+R2_ohm") and is_arc_sum_key("R2+R3_asr_ohm_cm2_stderr")
    assert not is_arc_sum_key("R1_ohm") and not is_arc_sum_key("hf_intercept_ohm") and not is_arc_sum_key("+R1_ohm")


def test_a_campaigns_relabelled_arcs_keep_the_sum_and_the_intercept():
    """with_roles computes the role quantities again; the sums and the high-frequency intercept
    depend on no role and stay (the intercept had been dropped from relabelled checkpoints)."""
    definition = load_circuit(TWO_ARCS)
    w = 2 * np.pi * F
    above = 5 + 100 / (1 + 100 * 5e-10 * (1j * w) ** 0.95) + 300 / (1 + 300 * 5e-6 * (1j * w) ** 0.85)
    for res, key in ((eisfit.fit(_one_arc(), TWO_ARCS), "R1+R2_ohm"),
                     (eisfit.fit(Spectrum(frequency=F, z=_noisy(above, 2)), TWO_ARCS), "hf_intercept_ohm")):
        assert key in res.derived
        flipped = {r: "electrolyte" if role == "interface" else "interface" for r, role in res.roles.items()}
        [moved] = with_roles([res], definition, flipped)
        assert moved.roles == flipped
        assert moved.derived[key] == res.derived[key]
        assert moved.derived[f"{key}_stderr"] == res.derived[f"{key}_stderr"]
        assert moved.derived_units[key] == res.derived_units[key]


def test_the_campaigns_evolution_lines_give_the_sum_where_a_checkpoint_has_it():
    area = 0.785
    spectra = [_one_arc(500.0, 1), _one_arc(450.0, 6), _separated(3)]
    for hours, spectrum in zip((0.0, 100.0, 200.0), spectra):
        spectrum.meta["time_h"] = hours
    campaign = eisfit.fit_campaign(spectra, circuit=TWO_ARCS, jobs=1, area_cm2=area)
    [line] = [x for x in campaign.evolution_lines() if x.startswith("R1 + R2 (arcs measured together, per cell): ")]
    numbers = line.split(": ", 1)[1].split(" ohm*cm2")[0].split(" -> ")
    assert numbers[2] == "not summed" and "R1+R2_ohm" not in campaign.results[2].derived
    for text, result in zip(numbers[:2], campaign.results[:2]):
        assert float(text) == pytest.approx(result.derived["R1+R2_asr_ohm_cm2"], rel=2e-3)
        assert abs(float(text) - (result.values["R1"] + result.values["R2"]) * area) < 1.0


def test_the_evolution_figure_has_a_panel_of_the_sum():
    """The sums the data fix (arcs measured together; the high-frequency intercept) had a
    headline line and a column but no panel in evolution.png."""
    from eisfit.plotting import campaign_evolution

    spectra = [_one_arc(500.0, 1), _one_arc(450.0, 6), _separated(3)]
    for hours, spectrum in zip((0.0, 100.0, 200.0), spectra):
        spectrum.meta["time_h"] = hours
    campaign = eisfit.fit_campaign(spectra, circuit=TWO_ARCS, jobs=1, area_cm2=0.785, cache_dir=False,
                                   progress=False)
    panels = [p for row in campaign_evolution(campaign).rows for p in row]
    [panel] = [p for p in panels if p.key == "R1+R2_asr_ohm_cm2"]
    assert panel.title == "R1 + R2 (arcs measured together): per cell" and panel.unit == "ohm*cm2"
    expected = campaign.table["R1+R2_asr_ohm_cm2"].to_numpy()
    assert np.allclose(panel.series.value, expected, equal_nan=True) and np.isnan(expected[2])
    titles = [a.get_title() for a in campaign.plot_evolution().axes]
    assert "R1 + R2 (arcs measured together): per cell" in titles


def _helper_one_arc(r_ohm: float, seed: int) -> Spectrum:
    """R0 20 ohm and one R || CPE arc (n 0.85, apex 1 kHz), 0.5 % noise on 81 points from 1 MHz to 10 mHz."""
    f = np.logspace(6, -2, 81)
    w = 2 * np.pi * f
    q = (1 / (2 * np.pi * 1e3)) ** 0.85 / r_ohm
    z = 20 + 1 / (1 / r_ohm + q * (1j * w) ** 0.85)
    rng = np.random.default_rng(seed)
    m = 0.005 * np.abs(z)
    return Spectrum(frequency=f, z=z + m * rng.standard_normal(81) + 1j * m * rng.standard_normal(81))


def test_an_arc_measured_only_in_its_sum_reads_undetermined_at_every_checkpoint():
    """Three single arcs (500, 450, 400 ohm) fitted with two arcs had read "R2 (interface): 248 ->
    unresolved -> 200 ohm*cm2" and "R1 + R2: 250 -> 225 -> not summed": R2 495 +- 165 with another
    optimum at R2 = 13.7 within 0.43 s^2, R2 400 +- 133 beside an R1 of 0.19 whose profile the
    trade leaves open. Each R2 the data do not bound apart from R1 reads undetermined
    (split-undetermined), and the sum, which a one-arc fit measures, is at every checkpoint."""
    area = 0.5
    spectra = [_helper_one_arc(r, seed) for r, seed in ((500.0, 2), (450.0, 3), (400.0, 4))]
    for hours, spectrum in zip((0.0, 100.0, 200.0), spectra):
        spectrum.meta["time_h"] = hours
    campaign = eisfit.fit_campaign(spectra, circuit=TWO_ARCS, jobs=1, area_cm2=area, cache_dir=False,
                                   progress=False)
    [r2_line] = [x for x in campaign.evolution_lines() if x.startswith("R2 ") and "per cell" in x]
    assert r2_line.split(": ", 1)[1].startswith("undetermined -> unresolved -> undetermined ohm*cm2")
    [sum_line] = [x for x in campaign.evolution_lines() if x.startswith("R1 + R2 ")]
    assert "not summed" not in sum_line
    assert "split-undetermined:R2" in campaign.results[0].flags and "split-undetermined:R2" in campaign.results[2].flags
    for truth, spectrum, result in zip((500.0, 450.0, 400.0), spectra, campaign.results):
        total, error = result.derived["R1+R2_ohm"], result.derived["R1+R2_ohm_stderr"]
        one_arc = eisfit.fit(spectrum, "R0-p(R1,CPE1)")
        assert abs(total - one_arc.values["R1"]) < 3 * math.hypot(error, one_arc.stderr["R1"])
        assert abs(total - truth) < 4 * error
    summary = campaign.results[0].summary()
    assert "only its sum with the neighbouring arc's is measured (split-undetermined)" in summary


def test_groups_start_where_a_profile_leaves_zero_inside_3_sigma_and_take_in_a_negligible_open_arc():
    from eisfit.fitting.arc_sums import split_undetermined_flags

    values = {**CLOSE, "R1": 0.2, "R2": 400.0}
    sd = {"R1": 0.05, "R2": 3.0}  # each determined by its Wald stderr
    assert _groups(values, sd, -0.5, z_max_ohm=420.0) == []
    definition = load_circuit(TWO_ARCS)
    names = list(values)
    cov = np.diag([sd.get(n, 0.01 * values[n]) ** 2 for n in names])
    open_below = {"R2": {"open_lower": True}}
    groups = determined_groups(definition.circuit, values, cov, names, ["profile-open:R1"], 420.0, open_below)
    assert [[a.resistor for a in g] for g in groups] == [["R1", "R2"]]  # R1 (0.2 of 420 ohm) takes nothing
    assert determined_groups(definition.circuit, {**values, "R1": 5.0}, cov, names, ["profile-open:R1"], 420.0,
                             open_below) == []  # an R1 that holds something, open above: an extrapolation
    assert determined_groups(definition.circuit, values, cov, names, ["multimodal:R2"], 420.0, open_below) == []
    stderr = {"R1": 0.05, "R2": 3.0}
    assert split_undetermined_flags(groups, values, stderr, open_below, []) == ["split-undetermined:R2"]
    assert split_undetermined_flags(groups, values, {"R1": 0.05, "R2": 150.0}, {}, []) == ["split-undetermined:R2"]
    assert split_undetermined_flags(groups, values, stderr, {}, []) == []  # bounded at 3 stderr: R2's own
    assert split_undetermined_flags(groups, values, stderr, open_below, ["unresolved:R2"]) == []
