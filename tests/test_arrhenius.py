"""Arrhenius fits: exact on synthetic data, textbook standard errors, campaign tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import eisfit
from eisfit.analysis.arrhenius import (K_B_EV_PER_K, arrhenius, arrhenius_points, arrhenius_report_lines,
                                      arrhenius_summary_lines, arrhenius_table, interface_arrhenius)
from eisfit.errors import DataError

T_K = np.array([253.15, 273.15, 298.15, 323.15, 348.15, 373.15])


def sigma_of(t_k, ea_ev=0.35, prefactor=2.0e3, form="sigmaT"):
    y = prefactor * np.exp(-ea_ev / (K_B_EV_PER_K * t_k))
    return y / t_k if form == "sigmaT" else y


@pytest.mark.parametrize("form", ["sigmaT", "sigma"])
def test_exact_on_noise_free_data(form):
    res = arrhenius(T_K, sigma_of(T_K, form=form), form=form)
    assert res.ea_eV == pytest.approx(0.35, rel=1e-10)
    assert res.prefactor == pytest.approx(2.0e3, rel=1e-8)
    assert res.prefactor_unit == ("S*K/cm" if form == "sigmaT" else "S/cm")
    assert res.r_squared == pytest.approx(1.0, abs=1e-12)
    assert res.ea_stderr_eV == pytest.approx(0.0, abs=1e-9)
    assert res.n_points == T_K.size and res.form == form and not res.weighted
    np.testing.assert_allclose(res.predict_sigma(T_K), sigma_of(T_K, form=form), rtol=1e-9)


def test_public_name_is_lazy_export():
    assert eisfit.arrhenius is arrhenius


def test_stderr_matches_textbook_ols():
    rng = np.random.default_rng(1)
    sigma = sigma_of(T_K) * np.exp(rng.normal(0.0, 0.05, T_K.size))
    res = arrhenius(T_K, sigma)
    lr = stats.linregress(1.0 / T_K, np.log(sigma * T_K))
    assert res.slope == pytest.approx(lr.slope, rel=1e-12)
    assert res.ea_eV == pytest.approx(-lr.slope * K_B_EV_PER_K, rel=1e-12)
    assert res.ea_stderr_eV == pytest.approx(lr.stderr * K_B_EV_PER_K, rel=1e-10)
    assert res.intercept_stderr == pytest.approx(lr.intercept_stderr, rel=1e-10)
    assert res.r_squared == pytest.approx(lr.rvalue**2, rel=1e-12)
    # form="sigma": same check on ln(sigma)
    res2 = arrhenius(T_K, sigma, form="sigma")
    _, cov = np.polyfit(1.0 / T_K, np.log(sigma), 1, cov=True)
    assert res2.ea_stderr_eV == pytest.approx(np.sqrt(cov[0, 0]) * K_B_EV_PER_K, rel=1e-8)


def test_weighted_matches_polyfit_with_weights():
    rng = np.random.default_rng(2)
    rel = np.array([0.01, 0.02, 0.05, 0.02, 0.01, 0.1])
    sigma = sigma_of(T_K) * np.exp(rng.normal(0.0, rel))
    se = rel * sigma
    res = arrhenius(T_K, sigma, sigma_stderr=se, weighted=True)
    # numpy's w multiplies the residual (w = 1/std), cov scaled by chisq/(n-2)
    p, cov = np.polyfit(1.0 / T_K, np.log(sigma * T_K), 1, w=1.0 / rel, cov="unscaled")
    chisq = np.sum(((np.log(sigma * T_K) - np.polyval(p, 1.0 / T_K)) / rel) ** 2)
    assert res.slope == pytest.approx(p[0], rel=1e-9)
    assert res.ea_stderr_eV == pytest.approx(
        np.sqrt(cov[0, 0] * chisq / (T_K.size - 2)) * K_B_EV_PER_K, rel=1e-8
    )
    assert res.weighted
    with pytest.raises(DataError, match="sigma_stderr"):
        arrhenius(T_K, sigma, weighted=True)


def test_two_points_exact_with_nan_stderr_and_bad_input_errors():
    res = arrhenius(T_K[:2], sigma_of(T_K[:2]))
    assert res.ea_eV == pytest.approx(0.35, rel=1e-10)
    assert np.isnan(res.ea_stderr_eV)
    with pytest.raises(DataError, match="at least 2"):
        arrhenius([300.0], [1e-4])
    with pytest.raises(DataError, match="kelvin"):
        arrhenius([-10.0, 20.0], [1e-4, 2e-4])
    with pytest.raises(DataError, match="> 0 S/cm"):
        arrhenius([280.0, 300.0], [1e-4, -2e-4])
    with pytest.raises(DataError, match="form"):
        arrhenius(T_K, sigma_of(T_K), form="log")
    d = res.to_dict()
    assert d["ea_eV"] == res.ea_eV and d["prefactor_unit"] == "S*K/cm"


def _campaign_table(with_se=True):
    s1 = sigma_of(T_K, 0.35, 2e3)
    s2 = sigma_of(T_K, 0.50, 5e5)
    df = pd.DataFrame({
        "temperature_C": T_K - 273.15,
        "R1_sigma_S_per_cm": s1,
        "R2_sigma_S_per_cm": s2,
    })
    if with_se:
        df["R1_sigma_S_per_cm_stderr"] = 0.01 * s1
        df["R2_sigma_S_per_cm_stderr"] = 0.01 * s2
    return df


def test_campaign_table_one_row_per_resistance_and_total():
    df = _campaign_table()
    out = arrhenius_table(df, roles={"R1": "bulk", "R2": "grain boundary"})
    assert list(out.columns) == [
        "resistance", "ea_eV", "ea_stderr_eV", "prefactor", "prefactor_unit",
        "r_squared", "n_points", "form", "weighted", "quantity", "n_undetermined",
        "ea_source", "ea_of_constant_eV", "barely_temperature_dependent", "note",
    ]
    assert set(out["ea_source"]) == {"line"} and set(out["note"]) == {""}
    assert list(out["resistance"]) == ["R1", "R2", "R1+R2"]
    assert list(out["n_undetermined"]) == [0, 0, 0]
    assert set(out["quantity"]) == {"sigma_S_per_cm"}
    assert out.loc[0, "ea_eV"] == pytest.approx(0.35, rel=1e-9)
    assert out.loc[1, "ea_eV"] == pytest.approx(0.50, rel=1e-9)
    # total of two Arrhenius terms is not a single line, but lies between them
    assert 0.35 < out.loc[2, "ea_eV"] < 0.50
    w = arrhenius_table(df, ["R1"], weighted=True)
    assert bool(w.loc[0, "weighted"]) and w.loc[0, "ea_eV"] == pytest.approx(0.35, rel=1e-9)
    # no roles -> no total; temperature_K preferred
    df2 = df.drop(columns=["temperature_C"]).assign(temperature_K=T_K)
    assert list(arrhenius_table(df2)["resistance"]) == ["R1", "R2"]


def test_the_total_of_trading_arcs_takes_each_fits_own_total_with_its_covariance():
    """Overlapping bulk and grain-boundary arcs trade resistance (correlation -0.99 and below):
    each alone is undetermined (stderr above its value) while their series sum, the fits' own
    ``sigma_total_S_per_cm`` (computed with the covariance), is known to 1 %. The "R1+R2" row
    rebuilt the total from the two columns with independent errors, left every point out as
    undetermined and had no line; it now reads the fits' total where it sums exactly those
    arcs, and falls back to the columns where the roles name another set."""
    df = _campaign_table()
    total = 1.0 / (1.0 / df["R1_sigma_S_per_cm"] + 1.0 / df["R2_sigma_S_per_cm"])
    df["R1_sigma_S_per_cm_stderr"] = 2.0 * df["R1_sigma_S_per_cm"]
    df["R2_sigma_S_per_cm_stderr"] = 2.0 * df["R2_sigma_S_per_cm"]
    df["sigma_total_S_per_cm"] = total
    df["sigma_total_S_per_cm_stderr"] = 0.01 * total
    row = arrhenius_table(df, roles={"R1": "bulk", "R2": "grain boundary", "R3": "interface"}).iloc[2]
    assert row["resistance"] == "R1+R2" and row["n_points"] == len(df) and row["n_undetermined"] == 0
    slope = stats.linregress(1.0 / T_K, np.log(total * T_K)).slope
    assert row["ea_eV"] == pytest.approx(-slope * K_B_EV_PER_K, rel=1e-9)
    # three electrolyte arcs: sigma_total sums all three, not R1+R2: the columns' sum is used
    three = arrhenius_table(df, ["R1+R2"], roles={"R1": "bulk", "R2": "grain boundary", "R3": "electrolyte"})
    assert three.iloc[0]["n_points"] < len(df)


def test_values_the_data_do_not_determine_stay_out_of_the_line():
    """A resistance whose stderr exceeds it (or is unknown) reads "undetermined" in the
    reports; the Arrhenius line leaves it out (before: an R2 of 0.03 +- 10.7 ohm at the
    hottest point of a folder campaign pulled Ea from 0.63 to 1.0 eV)."""
    from eisfit.analysis.arrhenius import arrhenius_points, arrhenius_summary_lines

    df = _campaign_table()
    df.loc[2, "R1_sigma_S_per_cm"] *= 30.0  # an outlier...
    df.loc[2, "R1_sigma_S_per_cm_stderr"] = 40.0 * df.loc[2, "R1_sigma_S_per_cm"]  # ...that the data do not determine
    df.loc[4, "R1_sigma_S_per_cm_stderr"] = float("nan")  # a singular covariance
    out = arrhenius_table(df, ["R1", "R2"])
    assert list(out["n_undetermined"]) == [2, 0]
    assert out.loc[0, "n_points"] == T_K.size - 2 and out.loc[0, "ea_eV"] == pytest.approx(0.35, rel=1e-9)
    assert "2 undetermined left out" in arrhenius_summary_lines(out)[0]
    assert "left out" not in arrhenius_summary_lines(out)[1]
    t, _, relative, _ = arrhenius_points(df, ["R1"])["R1"]
    assert t.size == T_K.size - 2  # the figure draws the points of the line
    kept = np.isfinite(df["R1_sigma_S_per_cm_stderr"]) & (df.index != 2)
    assert relative == pytest.approx((df["R1_sigma_S_per_cm_stderr"] / df["R1_sigma_S_per_cm"])[kept].to_numpy())
    no_se = arrhenius_table(df.drop(columns=["R1_sigma_S_per_cm_stderr"]), ["R1"])  # nothing to judge by
    assert no_se.loc[0, "n_points"] == T_K.size and no_se.loc[0, "n_undetermined"] == 0


def test_a_line_through_points_whose_arc_peaks_outside_the_data_says_so():
    """A pellet's bulk arc above f_max at its two hottest temperatures (flag
    fapex-outside-range:CPE1): those R1 follow the arc's assumed shape beyond the data, and the
    Arrhenius line through them had said nothing. The line keeps them (they are determined)
    and its note counts them; R2's line, whose arc stays inside, has no such note. The table's
    circuit may be a library name."""
    df = _campaign_table()
    df["circuit"] = "blocking-pellet"
    df["flags"] = ""
    df.loc[df.index[-2:], "flags"] = "fapex-outside-range:CPE1;series-holds-arc:R0"
    out = arrhenius_table(df, ["R1", "R2", "R1+R2"], roles={"R1": "bulk", "R2": "grain boundary"})
    assert out.loc[0, "n_points"] == T_K.size and out.loc[0, "ea_eV"] == pytest.approx(0.35, rel=1e-9)
    assert f"2 of its {T_K.size} points extrapolated: the arc of R1 peaks at or beyond the end" in out.loc[0, "note"]
    assert "extrapolated" not in out.loc[1, "note"]
    assert "an arc of R1+R2 peaks at or beyond the end" in out.loc[2, "note"]
    points = arrhenius_points(df, ["R1", "R2"], roles={"R1": "bulk", "R2": "grain boundary"})
    assert points["R1"].extrapolated.tolist() == [False] * (T_K.size - 2) + [True, True]  # what the figure rings
    assert not points["R2"].extrapolated.any()
    df["circuit"] = "no-such-circuit-file.toml"  # a circuit that no longer loads: no note, no error
    assert "extrapolated" not in arrhenius_table(df, ["R1"]).loc[0, "note"]


def test_campaign_table_without_temperatures_is_a_clear_error():
    df = _campaign_table().drop(columns=["temperature_C"])
    with pytest.raises(DataError, match="temperature_C or temperature_K"):
        arrhenius_table(df)
    with pytest.raises(DataError, match="area_cm2 and thickness_cm"):
        arrhenius_table(_campaign_table()[["temperature_C"]])


def test_an_unknown_resistance_is_named_as_unknown():
    """camp.arrhenius(resistances=["R9"]) said R9's arc was not an electrolyte one."""
    import pandas as pd

    from eisfit.analysis.arrhenius import arrhenius_table
    from eisfit.errors import DataError

    table = pd.DataFrame({"temperature_K": [300.0, 320.0, 340.0], "R1": [3.0, 2.0, 1.0],
                          "R1_sigma_S_per_cm": [1e-4, 2e-4, 4e-4], "R2": [5.0, 5.0, 5.0]})
    with pytest.raises(DataError, match="unknown resistance 'R9': the campaign's circuit has R1, R2"):
        arrhenius_table(table, ["R9"])
    with pytest.raises(DataError, match="R2 has no conductivity"):
        arrhenius_table(table, ["R2"])


AREA_CM2, THICKNESS_CM = 0.785, 0.03
TEMPERATURES_C = (25.0, 45.0, 65.0, 85.0)


def _write_temperature_campaign(folder, circuit, params_at, f):
    """One synthetic spectrum of ``circuit`` per temperature of ``TEMPERATURES_C``, with the
    parameters ``params_at(T in K)``, as CSV files and a campaign CSV naming their
    temperatures, area and thickness."""
    from eisfit.model import Circuit

    rows = ["file,temperature_C,area_cm2,thickness_cm"]
    for k, t_c in enumerate(TEMPERATURES_C):
        z = Circuit(circuit).impedance(params_at(t_c + 273.15), f)
        name = f"T{k}.csv"
        np.savetxt(folder / name, np.column_stack([f, z.real, z.imag]), delimiter=",",
                   header="frequency_Hz,z_real_ohm,z_imag_ohm", comments="")
        rows.append(f"{name},{t_c},{AREA_CM2},{THICKNESS_CM}")
    (folder / "campaign.csv").write_text("\n".join(rows) + "\n")
    return folder / "campaign.csv"


def _temperature_campaign(folder, ea_ev=0.35):
    """Four synthetic spectra of R0-p(R1,CPE1) at 25-85 C whose R1 follows sigma*T =
    A exp(-Ea / k_B T) (area 0.785 cm2, thickness 0.03 cm)."""
    def params_at(t_k):
        r1 = THICKNESS_CM / (AREA_CM2 * sigma_of(np.array([t_k]), ea_ev)[0])
        return [2.0, r1, 1e-10 / r1 * 1e3, 0.92]

    return _write_temperature_campaign(folder, "R0-p(R1,CPE1)", params_at, np.geomspace(1e7, 1e2, 41))


def test_campaign_writes_its_arrhenius_outputs_from_the_library_as_from_the_command(tmp_path):
    """``fit_campaign(out=..., arrhenius=True)`` writes arrhenius.csv, the figure and the
    report section that ``eisfit campaign --arrhenius`` writes (one implementation); the
    activation energy is the one the spectra were made with."""
    from click.testing import CliRunner

    import eisfit
    from eisfit.cli import main

    (tmp_path / "data").mkdir()
    source = _temperature_campaign(tmp_path / "data")
    lib, cli = tmp_path / "lib", tmp_path / "cli"
    camp = eisfit.fit_campaign(source, circuit="R0-p(R1,CPE1)", out=lib, arrhenius=True, cache_dir=False,
                               progress=False)
    fits = pd.read_csv(lib / "arrhenius.csv")
    r1 = fits[fits["resistance"] == "R1"].iloc[0]
    assert r1["ea_eV"] == pytest.approx(0.35, rel=1e-3) and r1["n_points"] == 4
    assert (lib / "arrhenius.png").stat().st_size > 0 and (lib / "arrhenius.svg").stat().st_size > 0
    assert "## Arrhenius analysis" in (lib / "report.md").read_text(encoding="utf-8")
    assert any(line.startswith("Arrhenius R1: Ea = 0.35") for line in camp.arrhenius_lines())

    r = CliRunner().invoke(main, ["campaign", str(source), "--circuit", "R0-p(R1,CPE1)", "--arrhenius",
                                  "--out", str(cli), "--no-cache", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "Arrhenius R1: Ea = 0.35" in r.output
    pd.testing.assert_frame_equal(pd.read_csv(cli / "arrhenius.csv"), fits)
    assert "## Arrhenius analysis" in (cli / "report.md").read_text(encoding="utf-8")


def asr_of(t_k, ea_ev=0.45, prefactor=5.0e6, form="sigmaT"):
    """An interface's ASR (ohm*cm2) whose 1/ASR follows the Arrhenius law of ``form``."""
    y = prefactor * np.exp(-ea_ev / (K_B_EV_PER_K * t_k))
    return 1.0 / (y / t_k if form == "sigmaT" else y)


@pytest.mark.parametrize("form", ["sigmaT", "sigma"])
def test_interface_asr_exact_on_noise_free_data(form):
    """ASR falls with temperature; its activation energy is that of 1/ASR's line."""
    asr = asr_of(T_K, form=form)
    assert np.all(np.diff(asr) < 0)
    res = interface_arrhenius(T_K, asr, form=form)
    assert res.ea_eV == pytest.approx(0.45, rel=1e-10)
    assert res.prefactor == pytest.approx(5.0e6, rel=1e-8)
    assert res.prefactor_unit == ("S*K/cm2" if form == "sigmaT" else "S/cm2")
    np.testing.assert_allclose(res.predict_sigma(T_K), 1.0 / asr, rtol=1e-9)
    # the same line as a conductivity fit of 1/ASR (one implementation of the line)
    as_sigma = arrhenius(T_K, 1.0 / asr, form=form)
    assert (as_sigma.ea_eV, as_sigma.slope, as_sigma.r_squared) == (res.ea_eV, res.slope, res.r_squared)


def test_interface_asr_weighted_by_its_relative_errors():
    rng = np.random.default_rng(4)
    rel = np.array([0.01, 0.02, 0.05, 0.02, 0.01, 0.1])
    asr = asr_of(T_K) * np.exp(rng.normal(0.0, rel))
    res = interface_arrhenius(T_K, asr, asr_stderr=rel * asr, weighted=True)
    same = arrhenius(T_K, 1.0 / asr, sigma_stderr=rel / asr, weighted=True)  # 1/ASR's relative error is ASR's
    assert res.ea_eV == pytest.approx(same.ea_eV, rel=1e-12)
    assert res.ea_stderr_eV == pytest.approx(same.ea_stderr_eV, rel=1e-10)
    with pytest.raises(DataError, match="needs asr_stderr"):
        interface_arrhenius(T_K, asr, weighted=True)
    with pytest.raises(DataError, match="area-specific resistances must be finite and > 0 ohm"):
        interface_arrhenius(T_K, -asr)


def test_campaign_table_fits_interface_arcs_by_their_asr():
    """An interface arc has no conductivity: its row fits 1/ASR, per interface where the table
    has it (a symmetric cell), else per cell; the electrolyte's row is unchanged."""
    s1 = sigma_of(T_K, 0.35)
    asr_cell = asr_of(T_K)
    df = pd.DataFrame({"temperature_K": T_K, "R1": 1.0 / s1, "R1_sigma_S_per_cm": s1, "R2": asr_cell / 0.785,
                       "R2_asr_ohm_cm2": asr_cell, "R2_asr_per_interface_ohm_cm2": asr_cell / 2})
    out = arrhenius_table(df, roles={"R1": "electrolyte", "R2": "interface"})
    assert list(out["resistance"]) == ["R1", "R2"]
    assert list(out["quantity"]) == ["sigma_S_per_cm", "inverse_asr_per_interface_S_per_cm2"]
    assert out.loc[0, "ea_eV"] == pytest.approx(0.35, rel=1e-9)
    assert out.loc[1, "ea_eV"] == pytest.approx(0.45, rel=1e-9)
    assert out.loc[1, "prefactor"] == pytest.approx(2 * 5.0e6, rel=1e-8)  # per interface: half the ASR
    assert out.loc[1, "prefactor_unit"] == "S*K/cm2"
    # found without roles too: only interface arcs of symmetric cells get a per-interface ASR
    assert list(arrhenius_table(df)["resistance"]) == ["R1", "R2"]
    # a cell that is not symmetric: per cell, where the roles say it is an interface
    cell = df.drop(columns=["R2_asr_per_interface_ohm_cm2"])
    row = arrhenius_table(cell, ["R2"], roles={"R2": "interface"}).iloc[0]
    assert row["quantity"] == "inverse_asr_S_per_cm2" and row["prefactor"] == pytest.approx(5.0e6, rel=1e-8)
    with pytest.raises(DataError, match="R2 has no conductivity"):  # no role: not taken for an interface
        arrhenius_table(cell, ["R2"])
    lines = arrhenius_summary_lines(out)
    assert lines[0].startswith("Arrhenius R1: Ea = 0.35")
    assert lines[1].startswith("Arrhenius R2 (1/ASR per interface): Ea = 0.45")
    report = "\n".join(arrhenius_report_lines(out))
    assert "y = 1/ASR (S/cm2) for the interface arcs" in report and "| R2 (1/ASR per interface) |" in report


def _interface_temperature_campaign(folder, ea_sigma=0.35, ea_asr=0.45):
    """Four synthetic spectra of the garnet-symmetric circuit at 25-85 C: the electrolyte's
    sigma*T and the interface's T/ASR (per interface) follow Arrhenius laws."""
    def params_at(t_k):
        t = np.array([t_k])
        r1 = THICKNESS_CM / (AREA_CM2 * sigma_of(t, ea_sigma)[0])
        r2 = 2 * asr_of(t, ea_asr, prefactor=2e5)[0] / AREA_CM2  # two interfaces of a symmetric cell
        return [2.0, r1, 1e-10, 0.92, r2, 1e-5, 0.85]

    return _write_temperature_campaign(folder, "R0-p(R1,CPE1)-p(R2,CPE2)", params_at, np.geomspace(1e7, 1e-1, 71))


def test_campaign_arrhenius_of_an_interface_arc_from_its_fits(tmp_path):
    """fit_campaign(..., arrhenius=True) on a temperature series of a symmetric cell: the
    interface arc's activation energy is the one its ASR was made with, beside the
    electrolyte's conductivity; arrhenius.csv, the figure and the report carry both."""
    import eisfit

    (tmp_path / "data").mkdir()
    source = _interface_temperature_campaign(tmp_path / "data")
    camp = eisfit.fit_campaign(source, circuit="garnet-symmetric", out=tmp_path / "out", arrhenius=True,
                               cache_dir=False, progress=False)
    fits = pd.read_csv(tmp_path / "out" / "arrhenius.csv")
    by_name = fits.set_index("resistance")
    assert by_name.loc["R1", "quantity"] == "sigma_S_per_cm"
    assert by_name.loc["R1", "ea_eV"] == pytest.approx(0.35, rel=1e-3)
    assert by_name.loc["R2", "quantity"] == "inverse_asr_per_interface_S_per_cm2"
    assert by_name.loc["R2", "ea_eV"] == pytest.approx(0.45, rel=1e-3)
    assert by_name.loc["R2", "prefactor"] == pytest.approx(2e5, rel=1e-2)
    assert any(line.startswith("Arrhenius R2 (1/ASR per interface): Ea = 0.45") for line in camp.arrhenius_lines())
    assert (tmp_path / "out" / "arrhenius.png").stat().st_size > 0
    ax = camp.plot_arrhenius()
    assert len(ax.figure.axes) == 2  # sigma at the left, 1/ASR on its own axis at the right
    assert "| R2 (1/ASR per interface) |" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_a_line_through_two_points_and_a_row_of_a_law_say_what_they_are():
    """'Ea = 0.4627 ± nan eV (R^2 = 1.0000, 2 points)': a headline number the data do not
    give; a row whose Ea is a joint fit's law says so, after the law's standard error."""
    import pandas as pd

    from eisfit.analysis.arrhenius import arrhenius_report_lines, arrhenius_summary_lines

    common = {"prefactor_unit": "S*K/cm", "form": "sigmaT", "weighted": False, "quantity": "conductivity"}
    rows = pd.DataFrame([
        {"resistance": "R1", "ea_eV": 0.4627, "ea_stderr_eV": float("nan"), "prefactor": 1e3, "n_points": 2,
         "r_squared": 1.0, **common},
        {"resistance": "R2", "ea_eV": 0.5998, "ea_stderr_eV": 0.0009, "prefactor": 1e5, "n_points": 5,
         "r_squared": float("nan"), "ea_source": "joint law", "note": "its values follow the joint fit's law",
         **common}])
    two, law = arrhenius_summary_lines(rows)
    assert "nan" not in two and "from 2 points: no standard error" in two
    assert law == "Arrhenius R2: Ea = 0.5998 ± 0.0009 eV (5 points): its values follow the joint fit's law"
    report = "\n".join(arrhenius_report_lines(rows))
    assert "(2 points: no stderr)" in report
    assert "| R2 | 0.5998 ± 0.0009 (joint law) | 1e+05 S*K/cm | – | 5 |" in report
    assert "- R2: its values follow the joint fit's law." in report


def test_a_line_through_smoothed_values_has_no_standard_error():
    """Smoothed values are not independent points: their line's OLS error had read 0.4002 +-
    0.000088 eV (R^2 1.0000), 3-15x below the scatter of the Ea over seeds."""
    from eisfit.analysis.arrhenius import EA_FROM_SMOOTHED, arrhenius_summary_lines

    df = _campaign_table()
    df["smoothed"] = "R0,R1"
    out = arrhenius_table(df, ["R1", "R2"])
    assert out.loc[0, "ea_source"] == EA_FROM_SMOOTHED and np.isnan(out.loc[0, "ea_stderr_eV"])
    assert np.isnan(out.loc[0, "r_squared"]) and out.loc[0, "ea_eV"] == pytest.approx(0.35, rel=1e-9)
    assert "were smoothed by a joint fit" in out.loc[0, "note"]
    assert out.loc[1, "ea_source"] == "line" and np.isfinite(out.loc[1, "ea_stderr_eV"])  # R2 not smoothed
    assert "no standard error" in arrhenius_summary_lines(out)[0]


def test_a_line_through_flagged_fits_says_how_many_and_values_without_a_number_are_counted():
    """One 40 °C fit flagged lack-of-fit had pulled an interface Ea from 0.60 to 0.52 eV with no
    word; an unresolved value (no number) left the line without being counted."""
    df = _campaign_table()
    df["problem_flags"] = [""] * len(df)
    df.loc[1, "problem_flags"] = "lack-of-fit:12.2"
    df.loc[3, "R2_sigma_S_per_cm"] = float("nan")  # unresolved: no number
    out = arrhenius_table(df, ["R1", "R2"])
    assert f"1 of its {T_K.size} points from fits flagged lack-of-fit" in out.loc[0, "note"]
    assert out.loc[1, "n_undetermined"] == 1 and out.loc[1, "n_points"] == T_K.size - 1
    assert "1 of its" in out.loc[1, "note"]  # the flagged row is still among R2's points
    assert "flagged" not in arrhenius_table(_campaign_table(), ["R1"]).loc[0, "note"]


def test_a_resistance_held_fixed_gets_no_line():
    """A line through a value held by fix= had read Ea = 0.02633 +- 0.00045 eV (R^2 0.9989)."""
    from eisfit.analysis.arrhenius import EA_FIXED, arrhenius_summary_lines

    df = _campaign_table()
    df["R1_sigma_S_per_cm"] = 0.0038  # 10 ohm held at every temperature
    df["R1_sigma_S_per_cm_stderr"] = 0.0
    out = arrhenius_table(df, ["R1"])
    assert out.loc[0, "ea_source"] == EA_FIXED and np.isnan(out.loc[0, "ea_eV"])
    assert "held fixed" in arrhenius_summary_lines(out)[0]
