"""A parameter the data bound below only (flag ``profile-open``) reads the same in every output:
no number where the profile walk stopped (JSON null, ``open`` in the terminal), and the 3-sigma
lower bound in a campaign's report as in the fit's summary.

The case: R0-p(R1,CPE1)-p(R2,CPE2) with the interface arc's apex at 0.055 Hz, 18x below the
lowest frequency (1 Hz), and 2 % noise. Its R2 profile rises above the 3-sigma level going down
but not going up (the data bound R2 below only); the true R2 (280.6 ohm) lies above that bound.
The spectrum is built here from the elements' formulas, not eisfit's model.
"""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import eisfit
from eisfit.cli import main
from eisfit.io.export import write_csv

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
TRUTH = dict(R0=9.83, R1=194.8, CPE1_0=1.326e-07, CPE1_1=0.948, R2=280.6, CPE2_0=9.351e-3, CPE2_1=0.904)
NOISE, SEED = 0.02, 1
OPEN = "profile-open:R2"


def _open_r2_spectrum() -> eisfit.Spectrum:
    """50 points 1 MHz - 1 Hz of ``TRUTH`` (Z_CPE = 1/(Q (j w)^n), ohm), complex noise of 2 % of |Z|."""
    f = np.logspace(6, 0, 50)
    jw = 2j * np.pi * f
    t = TRUTH
    z = (t["R0"] + 1 / (1 / t["R1"] + t["CPE1_0"] * jw ** t["CPE1_1"])
         + 1 / (1 / t["R2"] + t["CPE2_0"] * jw ** t["CPE2_1"]))
    rng = np.random.default_rng(SEED)
    z = z + NOISE * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2)
    return eisfit.Spectrum(f, z, meta={"label": "open"})


@pytest.fixture(scope="module")
def open_fit() -> eisfit.FitResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = eisfit.fit(_open_r2_spectrum(), CIRCUIT)
    assert OPEN in res.flags, "the pinned case is no longer bounded below only: pick another seed"
    assert not res.intervals["R2"]["open_lower"]
    return res


def test_an_open_end_of_a_profile_interval_is_no_number_in_the_result_and_json(open_fit):
    """The upper 3-sigma end of R2 is None (null in JSON), the open flags kept; the ends the
    data give stay numbers, and the lower bound lies below the truth."""
    iv = open_fit.intervals["R2"]
    assert iv["open_upper"] and iv["upper_3sigma"] is None
    assert iv["lower_3sigma"] < iv["lower_1sigma"] < open_fit.values["R2"] < iv["upper_1sigma"]
    assert iv["lower_3sigma"] < TRUTH["R2"]
    written = json.loads(open_fit.to_json())["intervals"]["R2"]
    assert written["upper_3sigma"] is None and written["open_upper"] is True
    assert written["lower_3sigma"] == pytest.approx(iv["lower_3sigma"], rel=1e-12)
    assert eisfit.FitResult.from_json(open_fit.to_json()).intervals == open_fit.intervals


def test_an_older_result_holding_the_walks_limit_reads_open(open_fit):
    """A result written before (pickled, or in a campaign's cache) holds where the walk stopped,
    1000x the value, at the open end: its JSON, its reading back and its summary treat the end
    as open whatever number it holds."""
    walk_limit = 1000.0 * open_fit.values["R2"]
    old = open_fit.with_fields(intervals={"R2": {**open_fit.intervals["R2"], "upper_3sigma": walk_limit}})
    assert old.to_dict()["intervals"]["R2"]["upper_3sigma"] is None
    old_dict = {**open_fit.to_dict(), "intervals": {"R2": {**open_fit.intervals["R2"], "upper_3sigma": walk_limit}}}
    assert eisfit.FitResult.from_dict(old_dict).intervals["R2"]["upper_3sigma"] is None
    summary = old.summary()
    assert f"{walk_limit:.4g}" not in summary
    assert f"3 sigma [{open_fit.intervals['R2']['lower_3sigma']:.4g}, open] ohm" in summary


def test_eisfit_fit_json_writes_the_open_end_as_null(open_fit, tmp_path):
    path = write_csv([_open_r2_spectrum()], tmp_path / "open.csv")
    r = CliRunner().invoke(main, ["fit", str(path), "--circuit", CIRCUIT, "--json"])
    assert r.exit_code == 0, r.output
    fit = json.loads(r.stdout)[0]
    assert OPEN in fit["flags"]
    iv = fit["intervals"]["R2"]
    assert iv["open_upper"] is True and iv["upper_3sigma"] is None and iv["lower_3sigma"] < TRUTH["R2"]
    assert fit["stderr"]["R2"] is None


def test_a_campaign_report_gives_the_lower_bound_as_the_fit_summary_does(open_fit, tmp_path):
    """report.md's table reads R2 as ``> lower 3-sigma end (undetermined: 3 sigma lower bound;
    ...)``, the words of the fit's summary, not ``value (undetermined: stderr unknown)``; its
    evolution line keeps "undetermined" (a bound is no headline number) with ``-`` for the
    stderr; summary.csv keeps the optimum, an empty stderr and the flag."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        camp = eisfit.fit_campaign([_open_r2_spectrum(), _open_r2_spectrum()], circuit=CIRCUIT,
                                   out=tmp_path / "out", cache_dir=False)
    assert all(OPEN in r.flags for r in camp.results)
    lower = open_fit.intervals["R2"]["lower_3sigma"]
    summary_line = next(line for line in open_fit.summary().splitlines() if line.split()[0] == "R2")
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    rows = [line for line in md.splitlines() if line.startswith("| open[")]
    assert len(rows) == 2
    for row in rows:
        r2_cell = row.split(" | ")[4]
        assert r2_cell.startswith(f"> {lower:.4g} (undetermined: 3 sigma lower bound; ")
        assert r2_cell.split(" ", 2)[2] == summary_line.split("ohm", 1)[1].strip()
        assert "stderr unknown" not in r2_cell and "nan" not in r2_cell
    evolution = next(line for line in md.splitlines() if line.startswith("- R2"))
    assert "undetermined → undetermined" in evolution and "1 stderr -, -" in evolution
    table = camp.table
    assert math.isnan(table["R2_stderr"][0]) and OPEN in table["flags"][0].split(";")


def test_the_robustness_score_reads_an_interval_open_both_ways_as_covering_any_truth():
    """An R2 flagged profile-open whose 3-sigma interval is open downwards too (both ends None):
    no bound at 3 sigma, so any truth is within; a closed lower end still excludes below it."""
    from types import SimpleNamespace

    from eisfit.fitting.robustness import truth_within_3sigma

    both = {"lower_1sigma": None, "upper_1sigma": None, "lower_3sigma": None, "upper_3sigma": None,
            "open_lower": True, "open_upper": True, "open_lower_1sigma": True, "open_upper_1sigma": True}
    res = SimpleNamespace(values={"R2": 8.1}, stderr={"R2": math.nan}, flags=[OPEN], intervals={"R2": both})
    assert truth_within_3sigma(res, "R2", 0.5) and truth_within_3sigma(res, "R2", 5e4)
    above = dict(both, lower_3sigma=3.3, open_lower=False)
    res = SimpleNamespace(values={"R2": 8.1}, stderr={"R2": math.nan}, flags=[OPEN], intervals={"R2": above})
    assert truth_within_3sigma(res, "R2", 3.4) and not truth_within_3sigma(res, "R2", 3.2)


AREA_CM2, THICKNESS_CM = 0.785, 0.1


def test_the_asr_of_a_resistance_bounded_below_only_is_bounded_below_by_its_bound_times_the_area(open_fit):
    """ASR = R*A (and R*A/2 per interface) grows with R alone: its interval is R's times the
    area, open upwards too; the summary and a campaign's report read it as a lower bound
    (``> 25.14 ...``), not as ``48.23 ± nan (undetermined: stderr unknown)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = eisfit.fit(_open_r2_spectrum(), CIRCUIT, area_cm2=AREA_CM2)
    assert OPEN in res.flags
    r2 = res.intervals["R2"]
    for key, factor in (("R2_asr_ohm_cm2", AREA_CM2), ("R2_asr_per_interface_ohm_cm2", AREA_CM2 / 2)):
        iv = res.intervals[key]
        assert math.isnan(res.derived[f"{key}_stderr"])
        assert iv["open_upper"] and iv["upper_3sigma"] is None and not iv["open_lower"]
        for end in ("lower_1sigma", "upper_1sigma", "lower_3sigma"):
            assert iv[end] == pytest.approx(r2[end] * factor, rel=1e-12)
        assert iv["lower_3sigma"] < TRUTH["R2"] * factor
        line = next(line for line in res.summary().splitlines() if line.split()[0] == key)
        assert line.split()[1:3] == [">", f"{r2['lower_3sigma'] * factor:.4g}"]
        assert "3 sigma lower bound" in line and "nan" not in line
    assert json.loads(res.to_json())["intervals"]["R2_asr_ohm_cm2"]["upper_3sigma"] is None
    assert "R1_asr_ohm_cm2" not in res.intervals  # a determined resistance's ASR keeps its stderr
    camp = eisfit.fit_campaign([_open_r2_spectrum()], circuit=CIRCUIT, area_cm2=AREA_CM2, cache_dir=False)
    lower = f"{r2['lower_3sigma'] * AREA_CM2:.4g}"
    assert f"| > {lower} (undetermined: 3 sigma lower bound; " in camp.report()


def test_a_conductivity_of_a_resistance_bounded_below_only_is_bounded_above():
    """sigma = L/(R*A) falls as R grows: the interval of an R bounded below only (3 sigma from
    27 ohm up, 1 sigma 40-75 ohm) carried through it is bounded above only, its ends swapped
    (closed form), and reads ``< ...`` with "3 sigma upper bound"; a function that is not
    monotone over the ends carries no interval."""
    from types import SimpleNamespace

    from eisfit.fitting.report import one_sided_reading
    from eisfit.fitting.intervals import interval_through

    r = {"lower_1sigma": 40.0, "upper_1sigma": 75.0, "lower_3sigma": 27.0, "upper_3sigma": None,
         "open_lower": False, "open_upper": True, "open_lower_1sigma": False, "open_upper_1sigma": False}

    def sigma(r_ohm: float) -> float:
        return THICKNESS_CM / (r_ohm * AREA_CM2)

    iv = interval_through(r, sigma, 55.6)
    assert iv == {"lower_1sigma": sigma(75.0), "upper_1sigma": sigma(40.0), "lower_3sigma": None,
                  "upper_3sigma": sigma(27.0), "open_lower": True, "open_upper": False,
                  "open_lower_1sigma": False, "open_upper_1sigma": False}
    res = SimpleNamespace(intervals={"R1_sigma_S_per_cm": iv}, derived={"R1_sigma_S_per_cm": sigma(55.6)},
                          flags=["profile-open:R1"], values={})
    shown, note = one_sided_reading(res, "R1_sigma_S_per_cm")
    assert shown == f"< {sigma(27.0):.4g}"
    assert f"3 sigma upper bound; {sigma(75.0):.4g}-{sigma(40.0):.4g} at 1 sigma" in note
    assert note.endswith("the data do not bound it below)")
    assert interval_through(r, lambda x: (x - 50.0) ** 2, 55.6) is None
    closed = interval_through(dict(r, upper_3sigma=90.0, open_upper=False), sigma, 55.6)
    assert closed["lower_3sigma"] == sigma(90.0) and not (closed["open_lower"] or closed["open_upper"])
    res = SimpleNamespace(intervals={"R1_sigma_S_per_cm": closed}, derived={"R1_sigma_S_per_cm": sigma(55.6)},
                          flags=[], values={})
    assert one_sided_reading(res, "R1_sigma_S_per_cm") is None  # closed: its stderr says it


def test_relabelled_arcs_carry_the_intervals_of_their_new_quantities():
    """A campaign relabels arcs for all its checkpoints (eisfit.fitting.assemble.with_roles):
    the R2 bounded below only, an interface with an ASR per interface, read as the electrolyte
    has a conductivity L/(R2*A) instead: bounded above only (the bound L/(lower_3sigma*A)), and
    no interval is left under the per-interface ASR it no longer has."""
    from eisfit.fitting.assemble import with_roles
    from eisfit.fitting.engine import _definition

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = eisfit.fit(_open_r2_spectrum(), CIRCUIT, area_cm2=AREA_CM2, thickness_cm=THICKNESS_CM)
    assert OPEN in res.flags and res.roles["R2"] == "interface"
    assert "R2_asr_per_interface_ohm_cm2" in res.intervals and "R2_sigma_S_per_cm" not in res.intervals
    relabelled = with_roles([res], _definition(CIRCUIT), {"R1": "interface", "R2": "electrolyte"})[0]
    assert "R2_asr_per_interface_ohm_cm2" not in relabelled.derived
    assert "R2_asr_per_interface_ohm_cm2" not in relabelled.intervals
    sigma = relabelled.intervals["R2_sigma_S_per_cm"]
    lower_r2 = res.intervals["R2"]["lower_3sigma"]
    assert sigma["upper_3sigma"] == pytest.approx(THICKNESS_CM / (lower_r2 * AREA_CM2), rel=1e-12)
    assert sigma["open_lower"] and sigma["lower_3sigma"] is None
    assert relabelled.intervals["R2"] == res.intervals["R2"]
    line = next(line for line in relabelled.summary().splitlines() if line.split()[0] == "R2_sigma_S_per_cm")
    assert line.split()[1] == "<" and "3 sigma upper bound" in line


def test_the_notebook_table_and_html_give_the_bound_too():
    """to_dataframe's note and the HTML view read a value bounded below only as the summary
    does (``undetermined: > 32.03 (3 sigma lower bound)``), its ASR too; a determined value keeps
    an empty note."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = eisfit.fit(_open_r2_spectrum(), CIRCUIT, area_cm2=AREA_CM2)
    assert OPEN in res.flags
    notes = res.to_dataframe()["note"]
    r2_bound = f"> {res.intervals['R2']['lower_3sigma']:.4g}"
    asr_bound = f"> {res.intervals['R2_asr_ohm_cm2']['lower_3sigma']:.4g}"
    assert notes["R2"] == f"undetermined: {r2_bound} (3 sigma lower bound)"
    assert notes["R2_asr_ohm_cm2"].startswith(f"undetermined: {asr_bound} (3 sigma lower bound); ")
    assert notes["R1"] == ""
    html = res._repr_html_()
    assert f"undetermined: &gt; {res.intervals['R2']['lower_3sigma']:.4g} (3 sigma lower bound)" in html


def test_a_value_with_no_bound_at_3_sigma_shows_three_digits():
    """report.md had printed "3.6491 (undetermined: no bound at 3 sigma; > 0.4982 at 1 sigma)":
    five digits of a value the data do not bound read as precision; determined values show 3."""
    from eisfit.fitting.report import _one_sided_text

    iv = {"lower_1sigma": 0.4982, "upper_1sigma": None, "lower_3sigma": None, "upper_3sigma": None,
          "open_lower": True, "open_upper": True}
    shown, note = _one_sided_text(iv, 3.6491)
    assert shown == "3.65" and note == "  (undetermined: no bound at 3 sigma; > 0.4982 at 1 sigma)"
