"""Notebook use: short reprs, HTML views, FitResult.to_dataframe, (f, Z) arrays into fit,
readable units, and conductivity only where it means something."""
from __future__ import annotations

import math

import numpy as np
import pytest

import eisfit
from eisfit import FitError, Spectrum
from eisfit.analysis.derived import derived_quantities
from eisfit.model import Arc, Circuit
from eisfit.units import format_value, pretty_unit, si_scale

HEADLINE = "R0-p(R1,CPE1)-p(R2,CPE2)"
TRUE = {"R0": 40.0, "R1": 60.0, "CPE1_0": 1e-9, "CPE1_1": 0.9, "R2": 149.0, "CPE2_0": 2e-6, "CPE2_1": 0.85}
F = np.logspace(7, 2, 51)


def _z(values=TRUE, circuit=HEADLINE, noise=0.005, seed=1):
    c = Circuit(circuit)
    z = c.impedance(np.array([values[n] for n in c.param_names]), F)
    rng = np.random.default_rng(seed)
    return z + noise * np.abs(z) * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size)) / np.sqrt(2)


@pytest.fixture(scope="module")
def res():
    s = Spectrum(F, _z(), meta={"label": "synthetic"})
    return eisfit.fit(s, "garnet-symmetric", area_cm2=0.785, thickness_cm=0.03, symmetric=True)


# ---- repr and HTML -------------------------------------------------------------------

def test_fit_result_repr_is_short_and_names_values_with_units(res):
    text = repr(res)
    assert len(text) < 2000
    assert text.startswith("FitResult('synthetic', 'R0-p(R1,CPE1)-p(R2,CPE2)'")
    assert "R2=" in text and " Ω" in text and "flags=" in text
    assert "array(" not in text  # no dataclass dump of the arrays


def test_repr_stays_short_for_many_parameters(res):
    import dataclasses

    names = [f"R{k}" for k in range(200)]
    many = dataclasses.replace(res, param_names=names, values={n: 123.456 for n in names},
                               stderr={n: 1.5 for n in names}, units={n: "ohm" for n in names},
                               flags=[f"large-stderr:{n}" for n in names])
    text = repr(many)
    assert len(text) < 2000
    assert "more)" in text and "200 flags" in text


def test_fit_result_html_has_parameter_table_units_and_explained_flags(res):
    html = res._repr_html_()
    for name in res.param_names:
        assert f">{name}<" in html
    assert "± 1 stderr" in html and "Ω" in html and "Ω·cm²" in html
    # R2 = 149 ohm at 0.785 cm2: 117 ohm*cm2 per cell; capacitances with a prefix
    assert "nF" in html or "µF" in html
    flagged = eisfit.fit(Spectrum(F, _z()), HEADLINE, bounds={"CPE2_1": (0.5, 0.84)})
    assert "at-bound:CPE2_1" in flagged.flags
    html = flagged._repr_html_()
    assert "at-bound:CPE2_1: the parameter sits on a bound" in html


def test_spectrum_repr_and_html():
    s = Spectrum(F, _z(), meta={"label": "cell 0 h", "area_cm2": 0.785})
    assert repr(s) == "Spectrum('cell 0 h', 51 points, 100-1e+07 Hz)"
    html = s._repr_html_()
    assert "cell 0 h" in html and "Hz" in html and "Ω" in html and "0.785" in html
    long = Spectrum(F, _z(), meta={"label": "x" * 5000})
    assert len(repr(long)) < 2000


# ---- to_dataframe ---------------------------------------------------------------------

def test_to_dataframe_rows_match_values_stderr_and_derived(res):
    df = res.to_dataframe()
    assert list(df.columns) == ["kind", "value", "stderr", "unit", "note"]
    params = df[df["kind"] == "parameter"]
    assert list(params.index) == res.param_names
    for name in res.param_names:
        assert params.loc[name, "value"] == res.values[name]
        assert params.loc[name, "stderr"] == res.stderr[name]
        assert params.loc[name, "unit"] == res.units[name]
    derived = df[df["kind"] == "derived"]
    assert derived.loc["R2_asr_ohm_cm2", "value"] == pytest.approx(res.values["R2"] * 0.785, rel=1e-12)
    assert derived.loc["R2_asr_ohm_cm2", "stderr"] == res.derived["R2_asr_ohm_cm2_stderr"]
    assert derived.loc["R2_asr_ohm_cm2", "unit"] == "ohm*cm2"
    assert derived.loc["CPE2_ceff_F", "note"].startswith("Hsu-Mansfeld")
    assert not any(k.endswith("_stderr") for k in df.index)


# ---- (f, Z) arrays ----------------------------------------------------------------------

def test_fit_accepts_a_frequency_impedance_tuple():
    z = _z()
    from_tuple = eisfit.fit((F, z), HEADLINE)
    from_spectrum = eisfit.fit(Spectrum(F, z), HEADLINE)
    assert from_tuple.values == from_spectrum.values
    assert from_tuple.chisq == from_spectrum.chisq


def test_fit_rejects_bad_tuples_with_eisfit_errors():
    with pytest.raises(eisfit.DataError, match="tuple of 3 items"):
        eisfit.fit((F, _z(), F), HEADLINE)
    with pytest.raises(eisfit.DataError, match="51 points but z has 50"):
        eisfit.fit((F, _z()[:-1]), HEADLINE)
    with pytest.raises(FitError, match="needs an eisfit.Spectrum"):
        eisfit.fit([F, _z()], HEADLINE)


# ---- conductivity only for the electrolyte ------------------------------------------------

def test_no_conductivity_for_an_interface_arc():
    values = {"R0": 40.0, "R1": 60.0, "CPE1_0": 1e-9, "CPE1_1": 0.9, "R2": 149.0, "CPE2_0": 2e-6, "CPE2_1": 0.85}
    arcs = [Arc("R1", "CPE1", "CPE"), Arc("R2", "CPE2", "CPE")]
    d, _ = derived_quantities(values, None, [], resistors=["R0", "R1", "R2"], arcs=arcs,
                              roles={"R1": "electrolyte", "R2": "interface"}, series_resistors=["R0"],
                              area_cm2=0.785, thickness_cm=0.03)
    assert "R2_sigma_S_per_cm" not in d
    assert d["R1_sigma_S_per_cm"] == pytest.approx(0.03 / (60.0 * 0.785), rel=1e-12)
    assert d["R0_sigma_S_per_cm"] == pytest.approx(0.03 / (40.0 * 0.785), rel=1e-12)
    # the garnet's bulk arc above f_max leaves R_bulk in R0: sigma_total with it, named so
    assert d["sigma_total_S_per_cm"] == pytest.approx(0.03 / (60.0 * 0.785), rel=1e-12)
    assert d["sigma_total_with_series_S_per_cm"] == pytest.approx(0.03 / (100.0 * 0.785), rel=1e-12)
    # an electrolyte arc's capacitance is the pellet's: its relative permittivity, not an interface's
    c_eff = (60.0 * 1e-9) ** (1 / 0.9) / 60.0
    assert d["CPE1_eps_r"] == pytest.approx(c_eff * 0.03 / (8.8541878128e-14 * 0.785), rel=1e-9)
    assert "CPE2_eps_r" not in d
    d, _ = derived_quantities(values, None, [], resistors=["R0", "R1", "R2"], arcs=arcs,
                              roles={"R1": "bulk", "R2": "grain boundary"}, series_resistors=["R0"],
                              area_cm2=0.785, thickness_cm=0.03)
    assert "R2_sigma_S_per_cm" in d and "R1_sigma_S_per_cm" in d


def test_fit_of_garnet_circuit_reports_no_interface_conductivity(res):
    assert res.roles["R2"] == "interface"
    assert "R2_sigma_S_per_cm" not in res.derived
    assert "R1_sigma_S_per_cm" in res.derived


# ---- display units -------------------------------------------------------------------------

def test_display_units():
    assert pretty_unit("ohm") == "Ω"
    assert pretty_unit("ohm*cm2 (per cell, R*A)") == "Ω·cm² (per cell, R·A)"
    assert si_scale([4.8e-7, 3.1e-7], "F") == (1e-9, "nF")
    assert si_scale([2.2e-6], "F") == (1e-6, "µF")
    assert si_scale([5.4e-7], "F/cm2") == (1e-9, "nF/cm²")
    assert si_scale([117.0], "ohm*cm2") == (1.0, "Ω·cm²")
    assert format_value(4.8e-7, 3e-9, "F") == "480 ± 3 nF"
    assert format_value(117.33, 0.36, "ohm*cm2") == "117.3 ± 0.36 Ω·cm²"
    assert format_value(math.nan, 1.0, "ohm") == "nan"
    assert format_value(117.33, math.nan, "ohm*cm2") == "117.3 Ω·cm² (stderr unknown)"  # it read "± nan"


def test_editing_the_campaign_table_changes_neither_summary_csv_nor_to_dict(tmp_path):
    """``camp.table`` was the table the outputs write: a notebook's edit (R2's ASR x 1000 for a
    plot of its own) went into summary.csv and to_dict() while the evolution figure and lines
    kept the fitted values. ``.table`` is a copy now."""
    import csv

    import eisfit

    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "sample_data" / "garnet_campaign" / "mpt"
    spectra = [s for p in sorted(folder.glob("*.mpt"))[:2] for s in eisfit.read(p)]
    assert len(spectra) == 2
    camp = eisfit.fit_campaign(spectra, area_cm2=0.785, cache_dir=False, progress=False)
    fitted = camp.table["R2_asr_ohm_cm2"].tolist()
    edited = camp.table
    edited["R2_asr_ohm_cm2"] *= 1000.0
    assert camp.table["R2_asr_ohm_cm2"].tolist() == fitted
    assert [row["R2_asr_ohm_cm2"] for row in camp.to_dict()["table"]] == fitted
    camp.write(tmp_path / "out")
    rows = list(csv.DictReader(open(tmp_path / "out" / "summary.csv", encoding="utf-8")))
    assert [float(r["R2_asr_ohm_cm2"]) for r in rows] == pytest.approx(fitted, rel=1e-12)
