"""The shareable campaign report: report.html self-contained, report.md linking its
figures, flags explained, wall time of the whole run, no fit recomputed."""
from __future__ import annotations

import base64
import dataclasses
import re
from pathlib import Path

import pytest

import eisfit
from eisfit.campaign.report import table_rows

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "garnet_campaign"
FIGURES = ("evolution", "nyquist", "fits", "bode", "residual_map")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    camp = eisfit.fit_campaign(SAMPLE / "campaign.toml", out=out, cache_dir=False)
    return camp, out


def test_report_html_is_self_contained_with_headline_table_and_figures(written):
    camp, out = written
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "R2 (interface, per cell): 117 → 58.4 → 35 Ω·cm²" in html
    assert "R2 (interface, per interface): 58.5 → 29.2 → 17.5 Ω·cm²" in html
    for c in camp.checkpoints:  # one table row per checkpoint
        assert f">{c.label}<" in html
    # every image is embedded; nothing refers to a file beside the page
    sources = re.findall(r'src="([^"]*)"', html)
    assert len(sources) == len(FIGURES)
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "href=" not in html
    assert "Nyquist fit of each checkpoint" in html
    assert "No fit was flagged." in html


def test_report_md_links_every_figure_that_exists(written):
    _, out = written
    md = (out / "report.md").read_text(encoding="utf-8")
    for name in FIGURES:
        assert f"![{name}]({name}.png)" in md
        assert (out / f"{name}.png").stat().st_size > 0 and (out / f"{name}.svg").stat().st_size > 0


def test_report_gives_the_units_of_summary_csv_columns_whose_names_carry_none(written):
    """summary.csv names the circuit's parameters as the circuit does (``R2``, ``CPE2_0``),
    without a unit; the report says each one's unit, the CPE convention and what chisq is,
    and every parameter column of the table is listed."""
    camp, out = written
    md = (out / "report.md").read_text(encoding="utf-8")
    section = md.split("## Columns of summary.csv", 1)[1].split("\n## ", 1)[0]
    from eisfit.model.library import load_circuit

    params = load_circuit(camp.settings["circuit"]).circuit.param_names
    assert set(params) <= set(camp.table.columns) and all(f"`{c}`" in section for c in params)
    assert "`R2` ohm" in section and "`CPE2_0` S*s^n" in section and "`CPE2_1` (dimensionless)" in section
    assert "`L0` H" in section and "Z = 1/(Q (j 2π f)^n)" in section
    assert "/ |Z|^2" in section and "dimensionless" in section


def test_png_figures_are_journal_sized(written):
    _, out = written
    from PIL import Image

    widths = {name: Image.open(out / f"{name}.png").size[0] / 300.0 for name in FIGURES}
    assert widths["nyquist"] == pytest.approx(3.3, abs=0.02)
    assert widths["bode"] == pytest.approx(3.3, abs=0.02)
    assert widths["evolution"] == pytest.approx(7.0, abs=0.02)
    assert widths["fits"] == pytest.approx(7.0, abs=0.02)


def test_wall_time_counts_the_figures_and_is_split_into_its_phases(written):
    """report.md gives the whole run's wall time and its phases (stats["fit_seconds"] had been
    documented and never set); the phases add up to the whole."""
    camp, out = written
    stats = camp.stats
    assert camp.wall_time_s > stats["wall_seconds"] >= stats["read_seconds"] + stats["fit_seconds"]
    assert stats["read_seconds"] > 0 and stats["fit_seconds"] > 0
    md = (out / "report.md").read_text(encoding="utf-8")
    match = re.search(r"wall time ([0-9.]+) s in all \(reading ([0-9.]+) s, fitting ([0-9.]+) s, assembling "
                      r"([0-9.]+) s, tables, figures and reports ([0-9.]+) s\)", md)
    assert match
    total, *phases = map(float, match.groups())
    assert total <= camp.wall_time_s + 0.05 and phases[3] > 0
    assert sum(phases) == pytest.approx(total, abs=0.25)  # each rounded to 0.1 s (0.01 s below 1 s)
    assert phases[1] == pytest.approx(stats["fit_seconds"], abs=0.05)


def test_wall_time_line_of_a_result_without_phase_times():
    """A result made before the phases were recorded (a pickle of an earlier eisfit) gives
    the whole wall time alone, no phase it cannot tell."""
    from types import SimpleNamespace

    from eisfit.campaign.report import wall_time_line, wall_time_phases

    old = SimpleNamespace(stats={"fits_run": 3, "cache_hits": 0, "wall_seconds": 1.5}, wall_time_s=2.0)
    assert wall_time_line(old) == "Fits run: 3, cache hits: 0, wall time 2.0 s in all."
    new = SimpleNamespace(stats={"fits_run": 3, "cache_hits": 0, "read_seconds": 0.021, "fit_seconds": 0.047,
                                 "wall_seconds": 0.07}, wall_time_s=2.3)
    assert wall_time_line(new) == ("Fits run: 3, cache hits: 0, wall time 2.3 s in all (reading 0.02 s, fitting "
                                   "0.05 s, assembling 0.00 s, tables, figures and reports 2.2 s).")
    assert wall_time_phases({"read_seconds": 1.0, "fit_seconds": float("nan"), "wall_seconds": 3.0}, 4.0) == []
    assert wall_time_phases({"read_seconds": 1.0, "fit_seconds": 1.5, "wall_seconds": 3.0}, 4.0) == [
        ("reading", 1.0), ("fitting", 1.5), ("assembling", 0.5), ("tables, figures and reports", 1.0)]


def test_write_draws_from_the_results_without_fitting_again(written, tmp_path, monkeypatch):
    camp, _ = written
    import eisfit.fitting.engine as engine

    def no_fit(*args, **kwargs):
        raise AssertionError("the report recomputed a fit")

    monkeypatch.setattr(engine, "fit", no_fit)
    monkeypatch.setattr(engine, "solve", no_fit)
    camp.write(tmp_path / "again", wall_time_s=12.5)
    assert "wall time 12.5 s in all" in (tmp_path / "again" / "report.md").read_text(encoding="utf-8")


def test_flags_are_explained_in_both_reports(written, tmp_path):
    camp, _ = written
    flagged = dataclasses.replace(camp, results=list(camp.results), _table=None)
    flagged.results[4] = dataclasses.replace(camp.results[4], flags=["arc-jump", "at-bound:CPE2_1"])
    flagged.write(tmp_path / "flagged", figures=False)
    md = (tmp_path / "flagged" / "report.md").read_text(encoding="utf-8")
    html = (tmp_path / "flagged" / "report.html").read_text(encoding="utf-8")
    for text in (md, html):
        assert "arc-jump" in text and "changes more than 3x" in text
        assert "at-bound" in text and "sits on a bound" in text
    assert "| arc-jump, at-bound:CPE2_1 |" in md  # in the table; cautions are not listed as problems
    assert "1 checkpoint(s) carry only cautions or notes" in md


def test_large_tables_are_capped_and_say_so(written):
    camp, _ = written
    head, rows, note = table_rows(camp, max_rows=5)
    assert len(rows) == 5 and [r[0] for r in rows][0] == "0 h" and rows[-1][0] == "1000 h"
    assert note.startswith("5 of 11 checkpoints shown")
    head, rows, note = table_rows(camp)
    assert len(rows) == 11 and note == ""
    assert head[2] == "R0 (per cell) / Ω·cm²"


def test_campaign_repr_and_html_view(written):
    camp, _ = written
    assert len(repr(camp)) < 2000
    html = camp._repr_html_()
    assert "R2 (interface, per cell): 117 → 58.4 → 35 Ω·cm²" in html
    assert html.count("<tr>") == 1 + 5  # head + the first 5 rows
    assert "6 more rows" in html


def test_headline_never_shows_a_value_its_stderr_does_not_determine():
    """R0 of a cell with almost no series resistance (its first arc reaches past f_max): where
    the fitted R0's stderr exceeds the value, the evolution line reads 'undetermined' (stderr
    '-') instead of a number; the table keeps the numbers."""
    import numpy as np

    from eisfit.model import Circuit

    circuit = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
    f = np.logspace(6, -1, 50)
    rng = np.random.default_rng(5)
    spectra = []
    for k in range(3):
        z = circuit.impedance(np.array([1e-9, 200, 2e-9, 0.9, 300 * (1 + 0.2 * k), 2e-6, 0.8]), f)
        z = z + 0.003 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
        spectra.append(eisfit.Spectrum(f, z, {"label": f"s{k}"}))
    camp = eisfit.fit_campaign(spectra, circuit=circuit.string, cache_dir=False, progress=False)
    lines = {line.split(":")[0].split(" ")[0]: line for line in camp.evolution_lines()}
    for name in ("R0", "R1", "R2"):
        shown = lines[name].split(": ", 1)[1].split(" ohm")[0].split(" -> ")
        errs = lines[name].split("1 stderr ")[1].rstrip(")").split(", ")
        for k, (text, err) in enumerate(zip(shown, errs)):
            value, stderr = camp.table[name].iloc[k], camp.table[f"{name}_stderr"].iloc[k]
            if stderr > abs(value):
                assert (text, err) == ("undetermined", "-")
            else:
                assert float(text) == pytest.approx(value, rel=5e-3) and err.startswith("±")
    assert any(camp.table["R0_stderr"] > camp.table["R0"])  # the case this test is about occurs
    assert "undetermined" not in lines["R2"]


def test_headline_shows_a_fixed_parameter_as_fixed_not_undetermined():
    """A parameter the user holds fixed has no stderr (nothing was estimated); the
    headline shows its value with 'fixed' for the stderr, never 'undetermined'."""
    import numpy as np

    from eisfit.model import Circuit

    circuit = "R0-p(R1,CPE1)-p(R2,CPE2)"
    f = np.logspace(6, -1, 40)
    rng = np.random.default_rng(2)
    spectra = []
    for k in range(3):
        z = Circuit(circuit).impedance(np.array([5.0, 40.0, 1e-8, 0.9, 80.0 + 10 * k, 1e-5, 0.85]), f)
        spectra.append(eisfit.Spectrum(f, z * (1 + 0.003 * rng.standard_normal(f.size)), meta={"time_h": float(k)}))
    camp = eisfit.fit_campaign(spectra, circuit=circuit, fixed={"R0": 5.0}, cache_dir=False, progress=False)
    line = next(l for l in camp.evolution_lines() if l.startswith("R0"))
    assert line == "R0: 5 -> 5 -> 5 ohm (0 h, 1 h, 2 h; 1 stderr fixed, fixed, fixed)"
    r2 = next(l for l in camp.evolution_lines() if l.startswith("R2"))
    assert "fixed" not in r2 and "±" in r2
    # with an area, R0's ASR is a value of the held R0 too: "fixed", not "±0" (it read as
    # perfectly measured), in the campaign's lines and the single fit's summary
    per_area = eisfit.fit_campaign(spectra, circuit=circuit, fixed={"R0": 5.0}, area_cm2=0.5, cache_dir=False,
                                   progress=False)
    line = next(l for l in per_area.evolution_lines() if l.startswith("R0"))
    assert line == "R0 (per cell): 2.5 -> 2.5 -> 2.5 ohm*cm2 (0 h, 1 h, 2 h; 1 stderr fixed, fixed, fixed)"
    res = per_area.results[0]
    assert res.held_fixed("R0") and res.held_fixed("R0_asr_ohm_cm2") and not res.held_fixed("R2_asr_ohm_cm2")
    asr = next(l for l in res.summary().splitlines() if l.strip().startswith("R0_asr_ohm_cm2"))
    assert "±" not in asr and asr.endswith("(fixed: of held parameters)")


def test_headline_marks_a_number_from_a_fit_with_a_problem_flag():
    """The last checkpoint grew a second arc the one-arc circuit cannot describe
    (lack-of-fit): its number is marked '!' and the flag is named at the end of the line;
    the well-fitted checkpoints carry no mark."""
    import numpy as np

    from eisfit.model import Circuit

    f = np.logspace(5, -1, 40)
    one, two = Circuit("R0-p(R1,C1)"), Circuit("R0-p(R1,C1)-p(R2,C2)")
    rng = np.random.default_rng(4)
    spectra = []
    for k in range(3):
        z = one.impedance(np.array([10.0, 100.0 + 10 * k, 1e-6]), f) if k < 2 else \
            two.impedance(np.array([10.0, 120.0, 1e-6, 200.0, 1e-3]), f)
        spectra.append(eisfit.Spectrum(f, z * (1 + 0.002 * rng.standard_normal(f.size)), meta={"time_h": 100.0 * k}))
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,C1)", cache_dir=False, progress=False)
    assert not any(fl.startswith("lack-of-fit") for r in camp.results[:2] for fl in r.flags)
    assert any(fl.startswith("lack-of-fit") for fl in camp.results[2].flags)
    line = next(l for l in camp.evolution_lines() if l.startswith("R1"))
    numbers = line.split(":", 1)[1].split("ohm")[0].split("->")
    assert [n.strip().endswith("!") for n in numbers] == [False, False, True], line
    assert "lack-of-fit at 200 h)" in line.split("! fit flagged ")[1] and "(0 h, 100 h, 200 h;" in line


def test_report_table_marks_undetermined_values():
    """The per-checkpoint table of report.md printed '4.49 ± 6.4' for a value the headline
    calls undetermined."""
    import numpy as np

    from eisfit.analysis.quality import undetermined
    from eisfit.model import Circuit

    circuit = "R0-p(R1,CPE1)-p(R2,CPE2)"
    f = np.logspace(6, -1, 40)
    rng = np.random.default_rng(3)
    spectra = []
    for k in range(6):  # the first arc above the measured range: R0 and R1 trade
        z = Circuit(circuit).impedance(np.array([12.0, 45.0, 2e-9, 0.92, 80 + 5 * k, 3e-6, 0.8]), f)
        z = z * (1 + 0.005 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2))
        spectra.append(eisfit.Spectrum(f, z, meta={"time_h": float(k)}))
    camp = eisfit.fit_campaign(spectra, circuit=circuit, cache_dir=False, progress=False)
    head, rows, _ = table_rows(camp)
    column = head.index(next(h for h in head if h.startswith("R0")))
    vague = [undetermined(r.values["R0"], r.stderr["R0"]) for r in camp.results]
    assert any(vague)
    assert [row[column].endswith("(undetermined)") for row in rows] == vague


def test_report_html_is_report_md_as_a_page(written, tmp_path):
    """report.md and report.html were written by two renderers: the page lacked the DRT,
    Arrhenius and circuit-choice sections, report.md the settings (area, thickness...). Both
    are one text now: every heading of report.md is on the page, and both name the area."""
    camp, out = written
    md = (out / "report.md").read_text(encoding="utf-8")
    html = (out / "report.html").read_text(encoding="utf-8")
    headings = re.findall(r"^#+ (.*)$", md, re.M)
    assert "Run" in headings and len(headings) >= 5
    for heading in headings:
        assert f">{heading}</h" in html
    area = camp.settings["area_cm2"]
    assert f"| area_cm2 | {area} |" in md and f">{area}</td>" in html
    assert "| thickness_cm |" in md and "| eisfit_version |" in md


def test_the_report_states_asr_conventions_only_where_they_apply():
    """The report always said "ASR per cell = R × A ...; ASR per interface = R × A / 2", also
    for a campaign in ohm (no area) and for --per-cell."""
    from eisfit.campaign.report import _conventions_line
    from types import SimpleNamespace

    with_area = [SimpleNamespace(settings={"area_cm2": 0.785})]
    assert "per interface = R × A / 2" in _conventions_line(SimpleNamespace(results=with_area, settings={}))
    per_cell = _conventions_line(SimpleNamespace(results=with_area, settings={"symmetric": False}))
    assert "no per-interface ASR" in per_cell and "R × A / 2" not in per_cell
    assert "ASR" not in _conventions_line(SimpleNamespace(results=[SimpleNamespace(settings={})], settings={}))


def test_headline_lines_say_where_a_resistance_is_extrapolated():
    """An arc whose apex lies outside the measured range gives an extrapolated R (flag
    fapex-outside-range, a caution): the headline showed the number with no word of it."""
    import numpy as np

    from eisfit.model import Circuit

    circuit = "R0-p(R1,CPE1)-p(R2,CPE2)"
    f = np.logspace(7, 1, 40)  # R2's apex near 1.5 Hz: below f_min; R1's near 2 MHz inside
    rng = np.random.default_rng(3)
    spectra = []
    for k in range(3):
        z = Circuit(circuit).impedance(np.array([5.0, 40.0, 1e-8, 0.9, 150.0 - 20 * k, 1e-3, 0.85]), f)
        spectra.append(eisfit.Spectrum(f, z * (1 + 0.002 * rng.standard_normal(f.size)), meta={"time_h": 10.0 * k}))
    camp = eisfit.fit_campaign(spectra, circuit=circuit, cache_dir=False, progress=False)
    assert all("fapex-outside-range:CPE2" in r.flags for r in camp.results)
    lines = {line.split(" ", 1)[0]: line for line in camp.evolution_lines()}
    assert "extrapolated at 3 of 3: arc apex at or beyond the end of the data" in lines["R2"]
    assert "extrapolated" not in lines["R1"]


def test_the_evolution_figure_of_a_campaign_without_a_joint_fit_imports_no_joint_fitting():
    """The evolution figure asks each panel what a joint fit made of it; without a joint fit
    it needs no answer, and eisfit.series (scipy.linalg with it, ~0.2 s) is not imported: the
    command's figure process had imported it while drawing, after the fits."""
    import subprocess
    import sys

    script = ("import sys, numpy as np, matplotlib\n"
              "matplotlib.use('Agg')\n"
              "import eisfit\n"
              "from eisfit.model import Circuit\n"
              "from eisfit.plotting import campaign_figure\n"
              "f = np.logspace(6, 0, 31)\n"
              "c = 'R0-p(R1,CPE1)-p(R2,CPE2)'\n"
              "spectra = [eisfit.Spectrum(frequency=f, z=Circuit(c).impedance(np.array([10, 100 + k, 1e-8, 0.9, 300, 1e-5, "
              "0.85]), f)) for k in range(3)]\n"
              "camp = eisfit.fit_campaign(spectra, circuit=c, cache_dir=False, progress=False)\n"
              "before = 'eisfit.series' in sys.modules\n"
              "fig = campaign_figure('evolution', camp)\n"
              "print('SERIES', before, 'eisfit.series' in sys.modules, len(fig.axes) > 0)\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    lines = run.stdout.strip().splitlines()
    assert lines and lines[-1] == "SERIES False False True", run.stderr[-2000:]


def test_the_campaign_command_without_a_joint_fit_imports_no_joint_fitting(tmp_path):
    """``eisfit campaign`` with no shared, smooth or Arrhenius option, report and figures
    written: the joint fitting (eisfit.series, and scipy with it) is never imported in the
    command's process (it had been imported before the fits began, for the report's wording
    of joint roles, which a campaign without a joint fit has none of)."""
    import subprocess
    import sys

    source = Path(__file__).resolve().parents[1] / "sample_data" / "garnet_campaign" / "campaign.toml"
    script = ("import sys\n"
              "from eisfit.cli import main\n"
              "try:\n    main()\nexcept SystemExit as end:\n    code = end.code\n"
              "print('CODE', code, 'SERIES', 'eisfit.series' in sys.modules, 'SCIPY', 'scipy' in sys.modules)\n")
    run = subprocess.run([sys.executable, "-c", script, "campaign", str(source), "--out", str(tmp_path / "out"),
                          "--no-cache", "--no-progress", "--jobs", "1"], capture_output=True, text=True)
    assert run.stdout.strip().splitlines()[-1] == "CODE 0 SERIES False SCIPY False", run.stderr[-2000:]
    assert (tmp_path / "out" / "report.md").exists()


def test_a_value_without_a_standard_error_reads_stderr_unknown_not_plus_minus_nan():
    """The report's table printed "9.23 ± nan (undetermined)" for a checkpoint whose
    covariance was singular (yadg's peis.mpr in a folder campaign); it now reads as a fit's
    own summary does: "9.23 (undetermined: stderr unknown)"."""
    from eisfit.campaign.report import _shown

    (spectrum,) = eisfit.read(SAMPLE / "mpt" / "LiMg_LLZTO_0000h_PEIS_C01.mpt")
    fitted = eisfit.fit(spectrum, circuit="garnet-symmetric")
    no_error = fitted.with_fields(stderr={**fitted.stderr, "R2": float("nan")})
    assert _shown(no_error, "R2") == f"{no_error.values['R2']:.3g} (undetermined: stderr unknown)"
    assert "±" in _shown(fitted, "R2") and "undetermined" not in _shown(fitted, "R2")


def test_evolution_lines_of_several_cells_are_per_cell():
    """Two cells at -20, 0, 20, 40 C: a line per cell and quantity, naming the cell, each with
    that cell's own checkpoints (first, middle, last across the cells had read cell A at -20 C,
    then cell B at -20 C and at 40 C as one evolution); the values the truth's ASR (R x area)."""
    import numpy as np
    from conftest import arrhenius_cell

    rng = np.random.default_rng(5)
    a, truth_a = arrhenius_cell("A", 0.35, 0.40, [-20, 0, 20, 40], rng)
    b, truth_b = arrhenius_cell("B", 0.50, 0.50, [-20, 0, 20, 40], rng)
    camp = eisfit.fit_campaign(a + b, circuit="garnet-symmetric", area_cm2=0.5, cache_dir=False, progress=False)
    lines = camp.evolution_lines()
    for cell, truth in (("A", truth_a), ("B", truth_b)):
        line = next(x for x in lines if x.startswith(f"cell {cell}: R1 (electrolyte, per cell): "))
        values = np.array([float(v) for v in re.findall(r"([0-9.e+]+)(?: ->| ohm\*cm2)", line.split(": ", 2)[2])])
        stderr = np.array([float(v) for v in re.findall(r"±([0-9.e+-]+)", line)])
        expected = np.array([t["R1"] * 0.5 for t in truth])
        assert values.size == stderr.size == 4
        assert np.all(np.abs(values - expected) < 4 * stderr + 0.005 * expected), (values, stderr, expected)
        assert "(-20 °C, 0 °C, 20 °C, 40 °C;" in line
    assert len(lines) == 2 * 4  # R0, R1, R2 per cell and per interface, for each cell
    report = camp.report()
    assert "- cell B: R2 (interface, per interface): " in report
    # one cell: the lines as before, no cell named
    single = eisfit.fit_campaign(a, circuit="garnet-symmetric", area_cm2=0.5, cache_dir=False, progress=False)
    assert [x.split(":")[0] for x in single.evolution_lines()] == ["R0 (per cell)", "R1 (electrolyte, per cell)",
                                                                    "R2 (interface, per cell)",
                                                                    "R2 (interface, per interface)"]
