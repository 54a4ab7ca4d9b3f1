"""What the Arrhenius outputs (arrhenius.csv, the lines, report.md, the figure, --json) say an
Ea is: the joint fit's law where a law made the values, not a line through them; not an
activation energy where the resistance barely depends on temperature; and temperatures in
K that look like degrees Celsius are warned about, naming where they came from."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from eisfit.analysis.arrhenius import (EA_FROM_LAW, EA_FROM_LAW_MADE, EA_FROM_LINE, K_B_EV_PER_K, arrhenius,
                                       arrhenius_report_lines, arrhenius_summary_lines, arrhenius_table,
                                       barely_temperature_dependent, interface_arrhenius)
from eisfit.units import CelsiusAsKelvinWarning, warn_if_celsius_as_kelvin

T_K = np.array([25.0, 40.0, 55.0, 70.0, 85.0]) + 273.15
AREA_CM2, THICKNESS_CM = 0.785, 0.03


def sigma_on_law(t_k, ea_ev, prefactor=2.0e3):
    """sigma (S/cm) whose sigma*T follows A exp(-Ea / k_B T) exactly."""
    return prefactor * np.exp(-ea_ev / (K_B_EV_PER_K * t_k)) / t_k


def law_table(on_law=("R1,R2",) * 5):
    """A campaign table whose R1 and R2 conductivities lie exactly on Arrhenius laws (as a
    joint fit's law makes them), with the ``arrhenius_law`` column naming, per row, which do."""
    s1, s2 = sigma_on_law(T_K, 0.40), sigma_on_law(T_K, 0.60, 5e5)
    return pd.DataFrame({"temperature_K": T_K, "R1_sigma_S_per_cm": s1, "R1_sigma_S_per_cm_stderr": 0.002 * s1,
                         "R2_sigma_S_per_cm": s2, "R2_sigma_S_per_cm_stderr": 0.002 * s2,
                         "arrhenius_law": list(on_law)})


LAWS = {"R1": {"ea_eV": 0.40, "ea_stderr_eV": 0.0008, "form": "sigmaT"},
        "R2": {"ea_eV": 0.60, "ea_stderr_eV": 0.0009, "form": "sigmaT"}}


# ---- finding 1: a line through a law's own values is not a measurement --------------------

def test_a_row_made_by_a_joint_law_takes_the_laws_ea_and_stderr():
    """A line through values on a law repeats it with a standard error of ~1e-16 eV: the row
    gives the law's Ea and standard error instead, says so, and has no R^2."""
    line_through_law = arrhenius_table(law_table().drop(columns="arrhenius_law"), ["R1"]).iloc[0]
    assert line_through_law["ea_stderr_eV"] < 1e-12  # what the table printed before

    out = arrhenius_table(law_table(), ["R1", "R2"], laws=LAWS).set_index("resistance")
    for name in ("R1", "R2"):
        assert out.loc[name, "ea_source"] == EA_FROM_LAW
        assert out.loc[name, "ea_eV"] == LAWS[name]["ea_eV"]
        assert out.loc[name, "ea_stderr_eV"] == LAWS[name]["ea_stderr_eV"]
        assert math.isnan(out.loc[name, "r_squared"])
        assert "joint fit's Arrhenius law" in out.loc[name, "note"]
    lines = arrhenius_summary_lines(out.reset_index())
    assert lines[0].startswith("Arrhenius R1: Ea = 0.4 ± 0.0008 eV (5 points): its values follow the joint fit's")
    report = "\n".join(arrhenius_report_lines(out.reset_index()))
    assert "| R1 | 0.4 ± 0.0008 (joint law) |" in report and "e-16" not in report


@pytest.mark.parametrize("case", ["rows off the law", "another form", "a sum", "no law given"])
def test_values_a_law_made_whose_line_is_not_that_law_have_no_stderr(case):
    """Where the law's own Ea does not apply, the line's Ea stays, with no standard error (its
    own says nothing of the data) and the words 'law-made values'."""
    table = law_table(("R1,R2", "R1,R2", "", "R1,R2", "R1,R2") if case == "rows off the law" else ("R1,R2",) * 5)
    name = "R1+R2" if case == "a sum" else "R1"
    form = "sigma" if case == "another form" else "sigmaT"
    row = arrhenius_table(table, [name], form=form, laws={} if case == "no law given" else LAWS).iloc[0]
    assert row["ea_source"] == EA_FROM_LAW_MADE
    assert math.isnan(row["ea_stderr_eV"]) and math.isnan(row["r_squared"])
    assert "made by a joint fit's Arrhenius law" in row["note"]
    assert ("R1 in some rows" in row["note"]) == (case == "rows off the law")
    assert arrhenius_summary_lines(pd.DataFrame([row]))[0].endswith(row["note"])
    assert "(law-made values: no stderr)" in "\n".join(arrhenius_report_lines(pd.DataFrame([row])))


def test_rows_no_law_made_keep_their_line():
    """The table's arrhenius_law column empty (a law the data rejected: the independent fits
    stand): the line's own Ea and standard error, no note, whatever laws are passed."""
    row = arrhenius_table(law_table(("",) * 5), ["R1"], laws=LAWS).iloc[0]
    assert row["ea_source"] == EA_FROM_LINE and row["note"] == "" and row["r_squared"] > 0.99


def _law_campaign(r1_scatter=0.0):
    """The joint-fit temperature series (R1 and R2 on Arrhenius laws, R0 a constant 2 ohm) with
    an area and a thickness, fitted with arrhenius_law=["R1", "R2"]."""
    import eisfit
    from test_joint_arrhenius import CIRCUIT, temperature_series

    spectra, _, _ = temperature_series(noise=0.005, r1_scatter=r1_scatter)
    for s, t in zip(spectra, T_K):
        s.meta["temperature_K"] = float(t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a rejected law's verdict (asserted in test_joint_arrhenius)
        return eisfit.fit_campaign(spectra, circuit=CIRCUIT, arrhenius_law=["R1", "R2"], area_cm2=AREA_CM2,
                                   thickness_cm=THICKNESS_CM, cache_dir=False, progress=False)


def test_a_campaign_with_a_law_gives_the_laws_ea_in_every_output(tmp_path):
    """arrhenius.csv, the lines, report.md and the figure legend: the law's Ea with the joint
    fit's standard error for R1 and R2; the constant R0 marked as barely temperature-dependent."""
    camp = _law_campaign()
    laws = camp.joint.arrhenius["laws"]
    camp.write(tmp_path, arrhenius=True)
    fits = pd.read_csv(tmp_path / "arrhenius.csv", keep_default_na=False, na_values=[""]).set_index("resistance")
    for name in ("R1", "R2"):
        assert fits.loc[name, "ea_source"] == EA_FROM_LAW
        assert fits.loc[name, "ea_eV"] == pytest.approx(laws[name]["ea_eV"], rel=1e-12)
        assert fits.loc[name, "ea_stderr_eV"] == pytest.approx(laws[name]["ea_stderr_eV"], rel=1e-12)
        assert fits.loc[name, "ea_stderr_eV"] > 1e-4  # not the ~1e-16 of a line through the law
    assert fits.loc["R0", "ea_source"] == EA_FROM_LINE and bool(fits.loc["R0", "barely_temperature_dependent"])
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "(joint law)" in report and "R0 barely depends on temperature" in report
    lines = camp.arrhenius_lines()
    assert any(line.startswith("Arrhenius R0: ") and "R0 barely depends on temperature" in line for line in lines)
    assert sum("its values follow the joint fit's Arrhenius law" in line for line in lines) == 2
    legend = [t.get_text() for t in camp.plot_arrhenius().get_legend().get_texts()]
    assert any(t.startswith("R1") and t.endswith("(joint law)") for t in legend)
    assert any(t.startswith("R0") and t.endswith("(barely T-dependent)") for t in legend)


def test_a_rejected_law_does_not_claim_the_independent_fits_follow_it():
    """R1 scattered 30 % off its law: the data reject it and the table keeps the independent
    fits, so no line says their values follow the law, and R1's Ea is their line's."""
    camp = _law_campaign(r1_scatter=0.3)
    assert camp.joint.rejected_assumptions and camp.applied_laws() == {}
    fits = camp.arrhenius().set_index("resistance")
    assert set(fits["ea_source"]) == {EA_FROM_LINE}
    assert fits.loc["R1", "ea_stderr_eV"] > 0.01 and fits.loc["R1", "r_squared"] < 0.99
    assert not any("Arrhenius law" in line for line in camp.arrhenius_lines())
    # the two verdicts that reject it are told apart, and report.md does not send the reader to itself
    from eisfit.campaign.report import campaign_report, joint_table_line

    summary = camp.joint.rejection_summary
    assert "Arrhenius law against independent fits (dAIC" in summary
    assert "Arrhenius law against each checkpoint's own fit" in summary
    assert "described in report.md" in joint_table_line(camp.joint)
    report = campaign_report(camp)
    assert "the joint fit is described above" in report and "described in report.md" not in report


def test_the_command_prints_and_writes_the_laws_ea(tmp_path):
    """eisfit campaign --arrhenius-law --arrhenius --json: the lines and arrhenius_fits carry
    the law's Ea, its standard error and the note, as arrhenius.csv."""
    from click.testing import CliRunner

    from eisfit.cli import main
    from test_joint_arrhenius import CIRCUIT, _temperature_folder

    campaign_file = _temperature_folder(tmp_path)  # the noisy temperature series, CSV files and their temperatures
    r = CliRunner().invoke(main, ["campaign", str(campaign_file), "--circuit", CIRCUIT,
                                  "--area-cm2", str(AREA_CM2), "--thickness-cm", str(THICKNESS_CM),
                                  "--arrhenius-law", "R1", "--arrhenius", "--out", str(tmp_path / "out"),
                                  "--no-cache", "--no-progress", "--json"])
    assert r.exit_code == 0, r.output
    record = json.loads(r.stdout)
    law = record["arrhenius_laws"][0]["laws"]["R1"]
    r1 = next(f for f in record["arrhenius_fits"] if f["resistance"] == "R1")
    assert r1["ea_source"] == EA_FROM_LAW and r1["ea_stderr_eV"] == pytest.approx(law["ea_stderr_eV"], rel=1e-12)
    assert r1["r_squared"] is None
    line = next(x for x in record["arrhenius"] if x.startswith("Arrhenius R1"))
    assert "joint fit's Arrhenius law" in line and "e-16" not in line
    r2 = next(f for f in record["arrhenius_fits"] if f["resistance"] == "R2")
    assert r2["ea_source"] == EA_FROM_LINE  # not named in --arrhenius-law: its own line

    # the record is the library's: CampaignResult.to_dict of the same campaign, strict JSON
    import eisfit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        camp = eisfit.fit_campaign(campaign_file, circuit=CIRCUIT, area_cm2=AREA_CM2, thickness_cm=THICKNESS_CM,
                                   arrhenius_law=["R1"], cache_dir=False, progress=False)
    mine = json.loads(json.dumps(camp.to_dict(arrhenius=True), allow_nan=False))
    assert sorted(mine) == sorted(record)
    for key in ("checkpoints", "fitted", "evolution", "arrhenius", "arrhenius_fits", "arrhenius_laws", "errors"):
        assert mine[key] == record[key], key
    assert [row["R1"] for row in mine["table"]] == [row["R1"] for row in record["table"]]
    assert mine["out"] is None and record["out"] == str(tmp_path / "out")
    assert camp.to_dict()["arrhenius"] == [] and camp.to_dict()["arrhenius_fits"] == []


# ---- finding 4: a temperature-independent value is no activation energy -------------------

@pytest.mark.parametrize("form", ["sigmaT", "sigma"])
def test_a_constant_gives_the_ea_of_a_constant_and_is_marked(form):
    """A constant conductivity: Ea ~ k_B*T in the sigma*T form (0.028 eV), 0 in the sigma
    form; either way within k_B*T of ea_of_constant_eV, hence barely temperature-dependent."""
    rng = np.random.default_rng(0)
    sigma = 3.6e-3 * (1 + 0.001 * rng.standard_normal(T_K.size))
    res = arrhenius(T_K, sigma, form=form)
    if form == "sigmaT":
        assert res.ea_eV == pytest.approx(K_B_EV_PER_K * np.mean(T_K), rel=0.02)
        assert res.ea_of_constant_eV == pytest.approx(arrhenius(T_K, np.full(T_K.size, 1.0)).ea_eV, rel=1e-9)
    else:
        assert res.ea_of_constant_eV == 0.0 and abs(res.ea_eV) < 0.005
    assert res.r_squared > 0.9 or form == "sigma"  # the sigma*T line fits the constant well: R^2 says nothing
    assert res.barely_temperature_dependent
    assert not arrhenius(T_K, sigma_on_law(T_K, 0.35), form=form).barely_temperature_dependent
    assert not interface_arrhenius(T_K, 1.0 / sigma_on_law(T_K, 0.45), form=form).barely_temperature_dependent


def test_the_rule_for_barely_temperature_dependent():
    """Within k_B*T (at the mean temperature) of a constant's Ea, and known to better than
    k_B*T; an undetermined Ea is not called barely dependent."""
    kt = K_B_EV_PER_K * 330.0
    assert barely_temperature_dependent(0.0285, 0.0003, 0.0284, 330.0)
    assert barely_temperature_dependent(0.0284 + 0.9 * kt, float("nan"), 0.0284, 330.0)
    assert not barely_temperature_dependent(0.0284 + 1.1 * kt, 0.001, 0.0284, 330.0)
    assert not barely_temperature_dependent(0.03, 2 * kt, 0.0284, 330.0)
    assert not barely_temperature_dependent(float("nan"), 0.001, 0.0284, 330.0)


# ---- finding 3: kelvin that look like Celsius ------------------------------------------------

def test_celsius_given_as_kelvin_is_warned_about_and_cryogenic_data_are_not():
    with pytest.warns(CelsiusAsKelvinWarning, match=r"here = 25 … 85 K \(that is -248.1 … -188.1 °C\).*"
                                                    r"give them as temperature_C"):
        assert warn_if_celsius_as_kelvin([25.0, 40.0, 85.0], "here")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not warn_if_celsius_as_kelvin([120.0, 150.0, 300.0], "cryogenic")
        assert not warn_if_celsius_as_kelvin([], "none")
    with pytest.warns(CelsiusAsKelvinWarning, match="Arrhenius fit: temperature_K = 25 … 85 K.*add 273.15"):
        arrhenius(T_K - 273.15, sigma_on_law(T_K, 0.4))
    with pytest.warns(CelsiusAsKelvinWarning, match="add 273.15"):
        interface_arrhenius(T_K - 273.15, 1.0 / sigma_on_law(T_K, 0.4))


def test_celsius_given_as_kelvin_is_caught_when_only_the_lowest_is_below_100_k():
    """RT to 120 °C given as kelvin (25-120 "K", a common garnet range) made an Ea of 0.013 eV
    for a true 0.40 (as an OLS line through ln(sigma T) against 1/T here says), silently: the
    rule looked at the highest value. Plausible kelvin (battery and solid-electrolyte data,
    200-420 K; cryogenic EIS from 120 K) still give no warning."""
    t_c = np.array([25.0, 40.0, 60.0, 80.0, 100.0, 120.0])
    sigma = sigma_on_law(t_c + 273.15, 0.4)
    slope = np.polyfit(1 / t_c, np.log(sigma * t_c), 1)[0]  # the line the wrong temperatures give
    assert -slope * K_B_EV_PER_K < 0.02
    with pytest.warns(CelsiusAsKelvinWarning, match=r"Arrhenius fit: temperature_K = 25 … 120 K \(that is "
                                                    r"-248.1 … -153.1 °C\), the lowest below 100 K.*add 273.15"):
        fit = arrhenius(t_c, sigma)
    assert fit.ea_eV == pytest.approx(-slope * K_B_EV_PER_K, rel=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for plausible in ([200.0, 250.0, 300.0, 420.0], [233.15, 253.15, 298.15, 353.15], [120.0, 150.0, 300.0]):
            assert not warn_if_celsius_as_kelvin(plausible, "kelvin")
        arrhenius(t_c + 273.15, sigma)


def test_a_campaign_file_with_celsius_as_kelvin_is_named_once(tmp_path):
    """temperature_K = 25...85 in a campaign file ran as -248 °C with an Ea of 0.01 eV and no
    word: one warning names the file and suggests temperature_C (the Arrhenius fit of the
    campaign does not repeat it); temperature_C and plausible kelvin give none."""
    from eisfit.campaign.sources import load_checkpoints

    from test_joint_arrhenius import temperature_series

    spectra, _, _ = temperature_series(noise=0.0)
    lines = ['[defaults]', 'circuit = "R0-p(R1,CPE1)-p(R2,CPE2)"', ""]
    for k, s in enumerate(spectra):
        np.savetxt(tmp_path / f"T{k}.csv", np.column_stack([s.frequency, s.z.real, s.z.imag]), delimiter=",",
                   header="frequency_Hz,z_real_ohm,z_imag_ohm", comments="")
        lines += ["[[checkpoint]]", f'file = "T{k}.csv"', f"temperature_K = {T_K[k] - 273.15:g}", ""]
    wrong = tmp_path / "campaign.toml"
    wrong.write_text("\n".join(lines))
    with pytest.warns(CelsiusAsKelvinWarning, match=r"campaign.toml: temperature_K = 25 … 85 K.*temperature_C"):
        load_checkpoints(wrong)
    right = tmp_path / "right.toml"
    right.write_text(wrong.read_text().replace("temperature_K = ", "temperature_C = "))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CelsiusAsKelvinWarning)
        load_checkpoints(right)

    import eisfit

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        camp = eisfit.fit_campaign(wrong, area_cm2=AREA_CM2, thickness_cm=THICKNESS_CM, cache_dir=False,
                                   progress=False)
        camp.arrhenius_lines()
    assert sum(issubclass(w.category, CelsiusAsKelvinWarning) for w in caught) == 1


def test_only_supported_laws_of_one_cell_give_a_rows_ea():
    """CampaignResult.applied_laws: a law the data rejected gives no row its Ea, nor does a
    name whose law differs from cell to cell (no one Ea is its)."""
    from types import SimpleNamespace

    from eisfit.campaign.result import CampaignResult

    def joint(laws, rejected=()):
        return SimpleNamespace(arrhenius={"laws": laws}, rejected_assumptions=list(rejected))

    cells = [("a", joint({"R1": LAWS["R1"], "R2": LAWS["R2"]})), ("b", joint({"R2": LAWS["R2"]})),
             ("c", joint({"R3": LAWS["R1"]}, rejected=["the data do NOT follow the law"]))]
    fake = SimpleNamespace(joint_fits=lambda: cells)
    assert CampaignResult.applied_laws(fake) == {"R1": LAWS["R1"]}


def test_a_table_with_celsius_as_kelvin_warns_once():
    """arrhenius_table on a table whose temperature_K column holds °C: one warning naming the
    column, not one per resistance."""
    table = law_table().assign(temperature_K=T_K - 273.15)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arrhenius_table(table, ["R1", "R2"])
    messages = [str(w.message) for w in caught if issubclass(w.category, CelsiusAsKelvinWarning)]
    assert len(messages) == 1 and messages[0].startswith("Arrhenius table: its temperature_K column = 25 … 85 K")


def test_cryogenic_temperatures_given_in_celsius_are_not_taken_for_celsius_as_kelvin():
    """A campaign table carries temperature_C and the temperature_K made from it: -200..-175 °C
    (73-98 K) had been warned about as Celsius given as kelvin."""
    tc = np.array([-200.0, -190.0, -180.0, -175.0])
    tk = tc + 273.15
    table = pd.DataFrame({"temperature_C": tc, "temperature_K": tk,
                          "R1_sigma_S_per_cm": 1e-3 * np.exp(-0.1 / (K_B_EV_PER_K * tk))})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fits = arrhenius_table(table, ["R1"])
    assert not [w for w in caught if issubclass(w.category, CelsiusAsKelvinWarning)]
    assert fits.iloc[0]["ea_eV"] == pytest.approx(0.1 + K_B_EV_PER_K * tk.mean(), abs=0.003)  # sigma*T form


def test_joint_fit_given_celsius_as_kelvin_warns_and_a_campaign_says_it_once(tmp_path):
    """joint_fit(temperatures_K=25..85) ran silently; it warns. A campaign file with the same
    values warns once, when read, and its --arrhenius-law fit does not repeat it."""
    from test_joint_arrhenius import CIRCUIT, _temperature_folder, temperature_series

    import eisfit
    from eisfit.series import joint_fit

    spectra, _, _ = temperature_series(noise=0.005)
    with pytest.warns(CelsiusAsKelvinWarning, match="joint_fit: temperatures_K = 25 … 85 K.*add 273.15"):
        joint_fit(spectra, CIRCUIT, arrhenius=("R1",), temperatures_K=T_K - 273.15)
    campaign_file = _temperature_folder(tmp_path)  # the same series; its temperatures rewritten in °C under K
    rows = campaign_file.read_text().splitlines()
    campaign_file.write_text("\n".join([rows[0]] + [f"T{k}.csv,{t - 273.15:g}" for k, t in enumerate(T_K)]) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        eisfit.fit_campaign(campaign_file, circuit=CIRCUIT, arrhenius_law=("R1",), cache_dir=False)
    said = [w for w in caught if issubclass(w.category, CelsiusAsKelvinWarning)]
    assert len(said) == 1 and "campaign.csv: temperature_K" in str(said[0].message)


def test_two_cells_give_one_line_each_not_one_line_through_both():
    """A campaign of two cells (R1 on Ea 0.35 and 0.50 eV) was fitted with one Arrhenius line
    through both: Ea 0.410 eV, neither cell's. Each cell gets its own rows (a ``cell`` column,
    "of cell ..." in the lines), each equal to an independent least-squares line of that cell's
    sigma*T against 1/T."""
    import eisfit
    from eisfit.model import Circuit

    t_c = np.array([-20.0, 0.0, 20.0, 40.0, 60.0, 80.0])
    t_k = t_c + 273.15
    circuit = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
    f = np.logspace(7, -1, 57)
    spectra = []
    for cell, ea in (("A", 0.35), ("B", 0.50)):
        r1 = 100.0 * np.exp(ea / K_B_EV_PER_K * (1 / t_k - 1 / 298.15)) * t_k / 298.15  # sigma*T on the law
        for k, (t, r) in enumerate(zip(t_c, r1)):
            z = circuit.impedance([5.0, r, 1e-9 * (100.0 / r), 0.9, 300.0, 1e-5, 0.85], f)
            spectra.append(eisfit.Spectrum(f, z, meta={"label": f"{cell}{k}", "temperature_C": float(t), "cell": cell}))
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,CPE1)-p(R2,CPE2)", area_cm2=0.785, thickness_cm=0.03,
                               cache_dir=False, progress=False)
    fits = camp.arrhenius(["R1"])
    assert list(fits["cell"]) == ["A", "B"]
    for cell, ea in (("A", 0.35), ("B", 0.50)):
        rows = camp.table[camp.table["cell"] == cell]
        slope = np.polyfit(1 / t_k, np.log(rows["R1_sigma_S_per_cm"].to_numpy() * t_k), 1)[0]
        row = fits[fits["cell"] == cell].iloc[0]
        assert row["ea_eV"] == pytest.approx(-slope * K_B_EV_PER_K, rel=1e-6)
        assert row["ea_eV"] == pytest.approx(ea, rel=1e-3)
    assert any(line.startswith("Arrhenius R1 of cell B: Ea = 0.5") for line in camp.arrhenius_lines())


def test_an_interface_arc_in_a_sum_is_named_as_one():
    """arrhenius(["R1+R2"]) with R2 an interface arc (1/ASR, no conductivity): the error said R2's
    role was neither an electrolyte nor an interface one. It names R2 an interface arc, fitted
    alone as 1/ASR; alone, it is (Ea of the 1/ASR*T line, as OLS here gives it)."""
    from eisfit.errors import DataError

    s1 = sigma_on_law(T_K, 0.40)
    inverse_asr = sigma_on_law(T_K, 0.55, 1e6)
    table = pd.DataFrame({"temperature_K": T_K, "R1_sigma_S_per_cm": s1, "R2": 1.0 / inverse_asr,
                          "R2_asr_ohm_cm2": 2.0 / inverse_asr, "R2_asr_per_interface_ohm_cm2": 1.0 / inverse_asr})
    roles = {"R1": "electrolyte", "R2": "interface"}
    with pytest.raises(DataError, match=r"^R2 is an interface arc \(fitted on its own as 1/ASR, S/cm2\): it has no "
                                        r"conductivity and cannot be summed with conductivities"):
        arrhenius_table(table, ["R1+R2"], roles=roles)
    alone = arrhenius_table(table, ["R2"], roles=roles).iloc[0]
    slope = np.polyfit(1 / T_K, np.log(inverse_asr * T_K), 1)[0]
    assert alone["ea_eV"] == pytest.approx(-slope * K_B_EV_PER_K, rel=1e-9)
    assert alone["quantity"] == "inverse_asr_per_interface_S_per_cm2"
