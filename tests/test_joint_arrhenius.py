"""Joint fits in which resistances follow an Arrhenius law across temperature checkpoints
(``joint_fit(arrhenius=..., temperatures_K=...)``): the activation energies the spectra were
made with, the evidence for the law, and clear errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from eisfit import Spectrum
from eisfit.analysis.arrhenius import K_B_EV_PER_K
from eisfit.errors import FitError
from eisfit.model import Circuit
from eisfit.series import joint_fit

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
F = np.geomspace(1e7, 1e-1, 71)
T_K = np.array([25.0, 40.0, 55.0, 70.0, 85.0]) + 273.15
EA = {"R1": 0.35, "R2": 0.45}
PREFACTOR = {"R1": 3e-7, "R2": 5e-10}  # ohm/K: R1 74 -> 9 ohm, R2 6 -> 0.4 ohm over 25-85 C


def law(t_k, name, form="sigmaT"):
    """R = R_A T exp(Ea / k_B T) (sigmaT) or R = R_A exp(Ea / k_B T) (sigma), ohm."""
    r = PREFACTOR[name] * np.exp(EA[name] / (K_B_EV_PER_K * t_k))
    return r * t_k if form == "sigmaT" else r * 300.0


def temperature_series(noise=0.005, seed=3, form="sigmaT", r1_scatter=0.0):
    """One spectrum per temperature of the headline circuit, R1 and R2 on their laws (R1
    scattered by ``r1_scatter`` relative, when given)."""
    rng = np.random.default_rng(seed)
    circuit = Circuit(CIRCUIT)
    r1 = law(T_K, "R1", form) * np.exp(r1_scatter * rng.standard_normal(T_K.size))
    r2 = law(T_K, "R2", form)
    spectra = []
    for k in range(T_K.size):
        z = circuit.impedance([2.0, r1[k], 1e-8, 0.92, r2[k], 1e-5, 0.85], F)
        z = z + noise * np.abs(z) * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size)) / np.sqrt(2)
        spectra.append(Spectrum(F, z, {"label": f"T{k}"}))
    return spectra, r1, r2


def test_noise_free_laws_give_the_activation_energies_exactly():
    spectra, r1, r2 = temperature_series(noise=0.0)
    # noise-free: both chi-squares are rounding error, so the AIC verdict means nothing here
    res = joint_fit(spectra, CIRCUIT, arrhenius=["R1", "R2"], temperatures_K=T_K, warn_verdicts=False)
    laws = res.arrhenius["laws"]
    assert laws["R1"]["ea_eV"] == pytest.approx(0.35, rel=1e-5)
    assert laws["R2"]["ea_eV"] == pytest.approx(0.45, rel=1e-5)
    assert laws["R1"]["prefactor"] == pytest.approx(3e-7, rel=1e-4)
    assert laws["R1"]["prefactor_unit"] == "ohm/K" and laws["R1"]["form"] == "sigmaT"
    np.testing.assert_allclose([v["R1"] for v in res.values], r1, rtol=1e-5)
    np.testing.assert_allclose([v["R2"] for v in res.values], r2, rtol=1e-5)
    assert res.arrhenius["temperatures_K"] == pytest.approx(list(T_K))
    assert res.local == ["R0", "CPE1_0", "CPE1_1", "CPE2_0", "CPE2_1"] and res.shared == []


def test_noisy_laws_are_within_their_standard_errors_and_supported():
    spectra, _, _ = temperature_series(noise=0.005)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the law is supported: no verdict warning
        res = joint_fit(spectra, CIRCUIT, arrhenius=["R1", "R2"], temperatures_K=T_K)
    for name in ("R1", "R2"):
        fitted = res.arrhenius["laws"][name]
        assert 0 < fitted["ea_stderr_eV"] < 0.05
        assert abs(fitted["ea_eV"] - EA[name]) < 3 * fitted["ea_stderr_eV"]
    # every checkpoint's R on the fitted law, with a finite standard error
    law_r1 = res.arrhenius["laws"]["R1"]
    on_law = law_r1["prefactor"] * T_K * np.exp(law_r1["ea_eV"] / (K_B_EV_PER_K * T_K))
    np.testing.assert_allclose([v["R1"] for v in res.values], on_law, rtol=1e-9)
    assert all(np.isfinite(e["R1"]) and 0 < e["R1"] < 0.05 * v["R1"] for e, v in zip(res.stderr, res.values))
    assert res.sharing["preferred"] == "shared" and res.sharing["arrhenius"] == ["R1", "R2"]
    # each checkpoint's own chi-square rises by about what the laws removed (2 x (5 - 2) values)
    evidence = res.arrhenius["evidence"]
    assert evidence["supported"] and evidence["removed_parameters"] == 6 and 0 < evidence["delta_chisq_s2"] < 20
    assert not res.rejected_assumptions
    assert res.statement.startswith("An Arrhenius law for R1, R2 across 5 checkpoints is supported")
    assert res.n_free == 5 * 5 + 4
    assert any(line.startswith("Arrhenius law for R2 across 5 checkpoints: Ea = ") for line in res.summary_lines())
    assert list(res.table()["arrhenius"]) == ["R1,R2"] * 5


def test_the_sigma_form():
    spectra, _, _ = temperature_series(noise=0.0, form="sigma")
    res = joint_fit(spectra, CIRCUIT, arrhenius=["R1"], temperatures_K=T_K, arrhenius_form="sigma",
                    warn_verdicts=False)
    law_r1 = res.arrhenius["laws"]["R1"]
    assert law_r1["ea_eV"] == pytest.approx(0.35, rel=1e-5)
    assert law_r1["prefactor"] == pytest.approx(3e-7 * 300.0, rel=1e-4) and law_r1["prefactor_unit"] == "ohm"


def test_a_resistance_off_its_law_is_not_supported_and_says_so():
    spectra, _, _ = temperature_series(noise=0.005, r1_scatter=0.1)
    with pytest.warns(RuntimeWarning, match="An Arrhenius law for R1 across 5 checkpoints is NOT supported"):
        res = joint_fit(spectra, CIRCUIT, arrhenius=["R1"], temperatures_K=T_K)
    assert res.converged and res.verdict == "rejected"
    assert res.sharing["preferred"] == "independent" and res.sharing["delta_aic"] < 0
    assert res.arrhenius["evidence"]["statement"] in res.rejected_assumptions


def test_a_law_fit_that_does_not_converge_is_no_verdict():
    """R1 scattered 30 % off its law: the law's fit has no optimum (the R1 arc of the hot
    checkpoints shrinks away while Ea grows: 1.005 eV after 3000 iterations, 1.056 after
    20000, its chi-square still falling). It had stopped at 300 iterations and its chi-square
    there was reported as the data's verdict ("NOT supported", dAIC from a fit that had not
    settled). Continued, it still does not converge: the verdicts say "undetermined", none is
    a rejection, the law's line says it was tried, and the rows are flagged not-converged."""
    spectra, _, _ = temperature_series(noise=0.005, r1_scatter=0.3)
    with pytest.warns(RuntimeWarning, match="undetermined: the joint fit did not converge"):
        res = joint_fit(spectra, CIRCUIT, arrhenius=["R1"], temperatures_K=T_K)
    assert not res.converged and res.undetermined.startswith("the joint fit did not converge")
    assert res.verdict == "undetermined" and not res.accepted and res.rejected_assumptions == []
    assert res.verdict_summary.startswith("undetermined: the joint fit did not converge")
    assert res.sharing["verdict"] == "undetermined" and not res.sharing["supported"]
    assert np.isnan(res.sharing["delta_aic"])
    assert "undetermined: the joint fit did not converge" in res.statement
    assert res.arrhenius["evidence"]["verdict"] == "undetermined"
    lines = res.law_lines()
    assert "(tried; undetermined: the joint fit did not converge)" in lines[0]
    assert "NOT supported" not in "\n".join(res.summary_lines())
    assert all("not-converged" in f for f in res.flags)


def test_a_law_beside_a_shared_parameter():
    spectra, _, _ = temperature_series(noise=0.005)
    res = joint_fit(spectra, CIRCUIT, shared=["CPE1_1"], arrhenius=["R1"], temperatures_K=T_K,
                    warn_verdicts=False)
    assert res.statement.startswith("Sharing CPE1_1 and an Arrhenius law for R1 across 5 checkpoints")
    assert len({v["CPE1_1"] for v in res.values}) == 1
    assert abs(res.arrhenius["laws"]["R1"]["ea_eV"] - 0.35) < 3 * res.arrhenius["laws"]["R1"]["ea_stderr_eV"]


@pytest.mark.parametrize("kwargs, message", [
    ({"arrhenius": ["R1"]}, "arrhenius needs temperatures_K"),
    ({"arrhenius": ["R1"], "temperatures_K": T_K[:4]}, "4 temperatures for 5 spectra"),
    ({"arrhenius": ["R1"], "temperatures_K": [300.0, 300.0, 320.0, 320.0, 320.0]}, "at least 3 different"),
    ({"arrhenius": ["R1"], "temperatures_K": T_K - 273.15 - 30}, "finite and > 0 K"),
    ({"arrhenius": ["CPE1_1"], "temperatures_K": T_K}, "CPE1_1 is not a resistance"),
    ({"arrhenius": ["R9"], "temperatures_K": T_K}, "arrhenius: unknown parameter"),
    ({"arrhenius": ["R1"], "shared": ["R1"], "temperatures_K": T_K}, "cannot both follow an Arrhenius law"),
    ({"arrhenius": ["R1"], "fixed": {"R1": 10.0}, "temperatures_K": T_K}, "cannot both follow an Arrhenius law"),
    ({"arrhenius": ["R1"], "temperatures_K": T_K, "arrhenius_form": "T"}, "arrhenius_form must be"),
])
def test_what_a_law_needs_is_checked(kwargs, message):
    spectra, _, _ = temperature_series(noise=0.0)
    with pytest.raises(FitError, match=message):
        joint_fit(spectra, CIRCUIT, **kwargs)


def _temperature_folder(folder):
    """The noisy temperature series as CSV files and a campaign file naming their temperatures."""
    spectra, _, _ = temperature_series(noise=0.005)
    rows = ["file,temperature_K"]
    for k, s in enumerate(spectra):
        np.savetxt(folder / f"T{k}.csv", np.column_stack([s.frequency, s.z.real, s.z.imag]), delimiter=",",
                   header="frequency_Hz,z_real_ohm,z_imag_ohm", comments="")
        rows.append(f"T{k}.csv,{T_K[k]}")
    (folder / "campaign.csv").write_text("\n".join(rows) + "\n")
    return folder / "campaign.csv"


def test_a_campaign_fits_the_law_from_python_as_from_the_command(tmp_path):
    """fit_campaign(arrhenius_law=...) and eisfit campaign --arrhenius-law: the cell's joint
    fit with the law; the table's R1 on it, named in the arrhenius_law column; the report
    gives Ea. Without temperatures, a clear error before the first fit."""
    import pandas as pd
    from click.testing import CliRunner

    import eisfit
    from eisfit.cli import main
    from eisfit.errors import CampaignError

    (tmp_path / "data").mkdir()
    source = _temperature_folder(tmp_path / "data")
    camp = eisfit.fit_campaign(source, circuit=CIRCUIT, arrhenius_law=["R1", "R2"], cache_dir=False, progress=False)
    law_r1 = camp.joint.arrhenius["laws"]["R1"]
    assert abs(law_r1["ea_eV"] - 0.35) < 3 * law_r1["ea_stderr_eV"]
    table = camp.table
    assert list(table["arrhenius_law"]) == ["R1,R2"] * 5 and set(table["seed_source"]) == {"joint"}
    on_law = law_r1["prefactor"] * T_K * np.exp(law_r1["ea_eV"] / (K_B_EV_PER_K * T_K))
    np.testing.assert_allclose(table["R1"], on_law, rtol=1e-9)
    assert "Arrhenius law for R1 across 5 checkpoints: Ea = " in camp.report()

    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["campaign", str(source), "--circuit", CIRCUIT, "--arrhenius-law", "R1,R2",
                                  "--out", str(out), "--no-cache", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "Arrhenius law for R1 across 5 checkpoints: Ea = 0.35" in r.output
    cli_table = pd.read_csv(out / "summary.csv")
    np.testing.assert_allclose(cli_table["R1"], table["R1"], rtol=1e-9)
    assert "Arrhenius law for R1 across 5 checkpoints" in (out / "report.md").read_text(encoding="utf-8")

    as_json = CliRunner().invoke(main, ["campaign", str(source), "--circuit", CIRCUIT, "--arrhenius-law", "R1",
                                        "--out", str(tmp_path / "out_json"), "--no-cache", "--no-progress", "--json"])
    import json

    laws = json.loads(as_json.stdout)["arrhenius_laws"]
    assert len(laws) == 1 and laws[0]["laws"]["R1"]["ea_eV"] == pytest.approx(0.35, abs=0.01)
    assert laws[0]["evidence"]["supported"] is True

    bare = tmp_path / "bare"
    bare.mkdir()
    for k in range(5):
        (bare / f"T{k}.csv").write_bytes((tmp_path / "data" / f"T{k}.csv").read_bytes())
    with pytest.raises(CampaignError, match="needs a temperature"):
        eisfit.fit_campaign(bare, circuit=CIRCUIT, arrhenius_law=["R1"], cache_dir=False, progress=False)


def test_a_cell_left_with_too_few_temperatures_keeps_its_own_fits():
    """Three temperatures, one checkpoint too short to fit (readable, so it passes the check
    before the fits): two temperatures remain, too few for a law. A warning says so and every
    row keeps its own fit, instead of an error after all the fits."""
    import eisfit

    spectra, _, _ = temperature_series(noise=0.005)
    short = Spectrum(F[::30], spectra[4].z[::30], {"label": "short"})  # 3 points: 6 residuals, 7 parameters
    chosen = [spectra[0], spectra[2], short]
    for s, t in zip(chosen, T_K[[0, 2, 4]]):
        s.meta["temperature_K"] = float(t)
    with pytest.warns(Warning, match="2 different temperatures among the checkpoints fitted jointly"):
        camp = eisfit.fit_campaign(chosen, circuit=CIRCUIT, arrhenius_law=["R1"], cache_dir=False, progress=False)
    assert camp.joint is None
    assert all(r.settings.get("joint") is None for r in camp.results if r is not None)


def test_a_checkpoint_of_noise_cannot_hide_a_law_the_others_reject():
    """Two good checkpoints and one of noise: the noise's chi-square dominates the pooled AIC,
    which 'supported' a law that swapped the arcs of another checkpoint; each checkpoint's own
    chi-square rise rejects it (thousands of its s^2 for one parameter removed), and the
    campaign keeps the independent fits."""
    import eisfit

    spectra, _, _ = temperature_series(noise=0.005)
    rng = np.random.default_rng(9)
    noise = Spectrum(F, 200 * (1 + rng.normal(size=F.size)) - 1j * np.abs(100 * rng.normal(size=F.size)),
                     {"label": "noise"})
    chosen = [spectra[0], spectra[2], noise]
    res = joint_fit(chosen, CIRCUIT, arrhenius=["R1"], temperatures_K=T_K[[0, 2, 4]], warn_verdicts=False)
    evidence = res.arrhenius["evidence"]
    assert not evidence["supported"] and evidence["delta_chisq_s2"] > 100 and evidence["removed_parameters"] == 1
    assert evidence["statement"] in res.rejected_assumptions
    # the law's own line says it was tried and rejected (it read as a result, the verdict after it)
    law_line = res.law_lines()[0]
    assert law_line.startswith("Arrhenius law for R1") and "(tried; the data reject the joint fit, see below)" in law_line
    for s, t in zip(chosen, T_K[[0, 2, 4]]):
        s.meta["temperature_K"] = float(t)
    with pytest.warns(Warning, match="the data do NOT follow the law"):
        camp = eisfit.fit_campaign(chosen, circuit=CIRCUIT, arrhenius_law=["R1"], cache_dir=False, progress=False)
    assert all(r.settings.get("joint") is None for r in camp.results)  # the independent fits stand
    assert camp.results[0].values["R1"] == pytest.approx(law(T_K[0], "R1"), rel=0.02)


def test_law_and_shared_names_are_checked_before_the_first_fit(monkeypatch):
    import eisfit
    from eisfit.campaign import runner
    from eisfit.errors import CampaignError

    spectra, _, _ = temperature_series(noise=0.0)
    for s, t in zip(spectra, T_K):
        s.meta["temperature_K"] = float(t)
    monkeypatch.setattr(runner, "fit_chunks", lambda *a, **k: pytest.fail("fitted before the check"))
    with pytest.raises(CampaignError, match="arrhenius_law: CPE1_1 is not a resistance"):
        eisfit.fit_campaign(spectra, circuit=CIRCUIT, arrhenius_law=["CPE1_1"], cache_dir=False, progress=False)
    with pytest.raises(CampaignError, match=r"shared: unknown parameter\(s\) R9; the circuit"):
        eisfit.fit_campaign(spectra, circuit=CIRCUIT, shared=["R9"], cache_dir=False, progress=False)


def _own_fits(spectra, t_k, start, law_names):
    """My own scipy fits of R0-p(R1,CPE1)-p(R2,CPE2), modulus-weighted (residual / |Z data|):
    each spectrum alone, then all at once with ``law_names`` on R = R_A T exp(Ea / k_B T) and
    each spectrum's residuals divided by its own noise level s_k (its fit alone). Returns the
    laws' chi-square rise summed over the spectra, each in its own s_k^2."""
    from scipy.optimize import least_squares

    names = ["R0", "R1", "Q1", "n1", "R2", "Q2", "n2"]
    is_log = np.array([n not in ("n1", "n2") for n in names])

    def z_of(p):
        w = 2j * np.pi * F
        return p["R0"] + p["R1"] / (1 + p["R1"] * p["Q1"] * w ** p["n1"]) \
            + p["R2"] / (1 + p["R2"] * p["Q2"] * w ** p["n2"])

    def residual(z, p):
        r = (z - z_of(p)) / np.abs(z)
        return np.concatenate([r.real, r.imag])

    def physical(x, which):
        return {n: float(np.exp(v)) if is_log[names.index(n)] else float(v) for n, v in zip(which, x)}

    alone, s2 = [], []
    for s, p0 in zip(spectra, start):
        x0 = [np.log(p0[n]) if is_log[i] else p0[n] for i, n in enumerate(names)]
        sol = least_squares(lambda x: residual(s.z, physical(x, names)), x0, method="lm", xtol=1e-15, ftol=1e-15)
        alone.append(float(sol.fun @ sol.fun))
        s2.append(alone[-1] / (2 * F.size - len(names)))
    local = [n for n in names if n not in law_names]
    x0 = []
    for n in law_names:  # ln R - ln T = ln R_A + (Ea / k_B) / T, started from the truth's line
        slope, intercept = np.polyfit(1 / t_k, np.log([p[n] for p in start]) - np.log(t_k), 1)
        x0 += [intercept, slope]
    x0 += [np.log(p[n]) if is_log[names.index(n)] else p[n] for p in start for n in local]

    def params(x, k):
        p = physical(x[2 * len(law_names) + k * len(local):][:len(local)], local)
        for j, n in enumerate(law_names):
            p[n] = float(np.exp(x[2 * j] + x[2 * j + 1] / t_k[k]) * t_k[k])
        return p

    def stacked(x):
        return np.concatenate([residual(s.z, params(x, k)) / np.sqrt(s2[k]) for k, s in enumerate(spectra)])

    sol = least_squares(stacked, np.array(x0), method="lm", xtol=1e-15, ftol=1e-15, max_nfev=20000)
    with_law = [float(np.sum(residual(s.z, params(sol.x, k)) ** 2)) for k, s in enumerate(spectra)]
    return sum((c - a) / v for c, a, v in zip(with_law, alone, s2))


def test_a_law_with_smoothing_is_weighed_by_its_own_chi_square_rise_not_the_smoothings():
    """smooth='auto' beside a law: the law's evidence is the rise of the fit with the law over
    the independent fits (as my own scipy fits give it), against the law's removed parameters;
    the smoothing's rise is the smoothing's verdict. Charged to the law, it rejected a true
    law in 4 of 12 seeds (29 s^2 for 8 parameters, 9 of them the law's)."""
    spectra, r1, r2 = temperature_series(noise=0.005, seed=0)
    start = [{"R0": 2.0, "R1": a, "Q1": 1e-8, "n1": 0.92, "R2": b, "Q2": 1e-5, "n2": 0.85} for a, b in zip(r1, r2)]
    expected = _own_fits(spectra, T_K, start, ["R1", "R2"])
    res = joint_fit(spectra, CIRCUIT, arrhenius=["R1", "R2"], temperatures_K=T_K, smooth="auto", robust=False,
                    warn_verdicts=False)
    assert res.smoothing["edf"] < 5 * 5 - 1  # the smoothing removed parameters: its chi-square rose
    assert res.smoothing["delta_chisq_s2"] > 1
    evidence = res.arrhenius["evidence"]
    assert evidence["removed_parameters"] == 2 * (5 - 2)
    assert evidence["delta_chisq_s2"] == pytest.approx(expected, abs=0.05)
    assert evidence["verdict"] == "supported" and res.verdict == "accepted"
