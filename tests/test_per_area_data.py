"""Files that give the impedance per area (ohm*cm2).

A table whose impedance columns carry a unit such as ``Ohm cm2`` or ``kOhm.cm2`` holds an
area-specific impedance. Read as ohm, its fitted R would be the ASR labelled ohm, and the
ASR that ``area_cm2`` adds would be multiplied by the area a second time. The reader marks
such data (``meta["impedance_unit"] == "ohm*cm2"``, values scaled by the unit prefix), a
fit divides them by the electrode area and refuses them without one; the ASR that comes
back equals the file's own resistances. Before: the units were ignored (``kOhm.cm2`` read
1000x too small, ``Ohm cm2`` read as ohm).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eisfit
from eisfit import Spectrum
from eisfit.errors import CampaignError, DataError, FitError, MissingColumnError
from eisfit.io._common import ReadWarning
from eisfit.io.tabular import parse_unit
from eisfit.model import Circuit

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
ASR = {"R0": 10.0, "R1": 100.0, "CPE1_0": 1e-8, "CPE1_1": 0.9, "R2": 300.0, "CPE2_0": 1e-5, "CPE2_1": 0.8}
F = np.logspace(6, -1, 36)
Z_AREA = Circuit(CIRCUIT).impedance([ASR[n] for n in Circuit(CIRCUIT).param_names], F)  # ohm*cm2


def _write(tmp_path, name: str, header: str, scale: float = 1.0, negate_imag: bool = True) -> str:
    sign = -1.0 if negate_imag else 1.0
    rows = "\n".join(f"{float(f)!r},{float(z.real * scale)!r},{float(sign * z.imag * scale)!r}"
                     for f, z in zip(F, Z_AREA))
    path = tmp_path / name
    path.write_text(header + "\n" + rows + "\n", encoding="utf-8")
    return str(path)


def _ohm_cm2_spectrum(tmp_path) -> Spectrum:
    """The test spectrum read from a table in ohm*cm2."""
    return _read(_write(tmp_path, "area.csv", "Frequency (Hz),Z' (Ohm cm2),-Z'' (Ohm cm2)"))


def _read(path: str) -> Spectrum:
    with pytest.warns(ReadWarning, match="per area"):
        return eisfit.read(path)[0]


@pytest.mark.parametrize("unit, scale", [
    ("Ohm cm2", 1.0), ("Ω·cm²", 1.0), ("ohm*cm^2", 1.0), ("Ohm.cm2", 1.0), ("kOhm.cm2", 1e3),
    ("mOhm cm2", 1e-3), ("Ohm m2", 1e4), ("Ohm mm2", 1e-2),
])
def test_units_per_area_are_parsed_with_their_prefix_and_area_unit(unit, scale):
    assert parse_unit(unit) == ("impedance-per-area", pytest.approx(scale))
    assert parse_unit(unit.replace("cm2", "").replace("cm²", "").replace("cm^2", "").strip(" .*·")) \
        [0] in ("impedance", "impedance-per-area")


@pytest.mark.parametrize("header, scale", [
    ("Frequency (Hz),Z' (Ohm cm2),-Z'' (Ohm cm2)", 1.0),
    ("Frequency (Hz),Z' (kOhm.cm2),-Z'' (kOhm.cm2)", 1e-3),  # the file's numbers are kOhm*cm2
    ("Frequency (Hz),Z' (Ω·m²),-Z'' (Ω·m²)", 1e-4),
])
def test_reader_marks_the_data_and_scales_them_to_ohm_cm2(tmp_path, header, scale):
    s = _read(_write(tmp_path, "area.csv", header, scale))
    assert s.area_specific and s.meta["impedance_unit"] == "ohm*cm2"
    np.testing.assert_allclose(s.z, Z_AREA, rtol=1e-12)
    np.testing.assert_allclose(s.to_dataframe()["z_real_ohm_cm2"], Z_AREA.real, rtol=1e-12)


def test_mixed_units_are_refused(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("Frequency (Hz),Z' (Ohm cm2),-Z'' (Ohm)\n1000,1,1\n100,2,2\n10,3,3\n", encoding="utf-8")
    with pytest.raises(MissingColumnError, match="mix ohm and ohm\\*cm2"):
        eisfit.read(path)


def test_fit_divides_by_the_area_and_the_asr_comes_back(tmp_path):
    s = _read(_write(tmp_path, "area.csv", "Frequency (Hz),Z' (kOhm.cm2),-Z'' (kOhm.cm2)", 1e-3))
    with pytest.raises(FitError, match="per area"):
        eisfit.fit(s, CIRCUIT)
    r = eisfit.fit(s, CIRCUIT, area_cm2=0.785)
    assert "per-area-data:0.785" in r.flags
    for name in ("R0", "R1", "R2"):
        assert r.values[name] == pytest.approx(ASR[name] / 0.785, rel=1e-6)  # ohm
        assert r.derived[f"{name}_asr_ohm_cm2"] == pytest.approx(ASR[name], rel=1e-6)
    np.testing.assert_allclose(r.z, Z_AREA / 0.785, rtol=1e-12)  # the fitted points, in ohm


def test_in_ohm_leaves_ohm_data_alone_and_checks_the_area():
    plain = Spectrum(F, Z_AREA)
    assert plain.in_ohm(0.5) is plain and not plain.area_specific
    marked = Spectrum(F, Z_AREA, {"impedance_unit": "ohm*cm2"})
    np.testing.assert_allclose(marked.in_ohm(2.0).z, Z_AREA / 2.0)
    assert not marked.in_ohm(2.0).area_specific
    with pytest.raises(DataError, match="positive"):
        marked.in_ohm(-1.0)


def test_drt_needs_the_area(tmp_path):
    s = _ohm_cm2_spectrum(tmp_path)
    with pytest.raises(DataError, match="per area"):
        eisfit.drt(s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = eisfit.drt(s.in_ohm(0.785))
    assert res.r_inf_ohm + res.r_pol_ohm == pytest.approx(sum(ASR[n] for n in ("R0", "R1", "R2")) / 0.785, rel=0.05)


def test_campaign_divides_each_checkpoint_or_refuses_before_fitting(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    for k in range(2):
        _write(folder, f"c{k}.csv", "Frequency (Hz),Z' (Ohm cm2),-Z'' (Ohm cm2)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the per-area warning, and two files holding the same points
        with pytest.raises(CampaignError, match="per area"):
            eisfit.fit_campaign(folder, circuit=CIRCUIT, cache_dir=False, progress=False)
        camp = eisfit.fit_campaign(folder, circuit=CIRCUIT, area_cm2=0.785, cache_dir=False, progress=False)
    np.testing.assert_allclose(camp.table["R2_asr_ohm_cm2"], ASR["R2"], rtol=1e-6)
    np.testing.assert_allclose(camp.table["R2"], ASR["R2"] / 0.785, rtol=1e-6)


def test_a_workbook_with_a_unit_row_in_ohm_cm2(tmp_path):
    """An Origin-style sheet: names, then a row of units ('Ohm cm2' with a space), then the data."""
    from test_io_xlsx import Book

    rows = [["Frequency", "Z'", "-Z''"], ["Hz", "Ohm cm2", "Ohm cm2"]] + \
        [[float(f), float(z.real), float(-z.imag)] for f, z in zip(F, Z_AREA)]
    s = _read(str(Book().sheet("data", rows).save(tmp_path / "origin.xlsx")))
    assert s.area_specific and s.meta["columns_detected"]["real"] == "Z' (Ohm cm2)"
    np.testing.assert_allclose(s.z, Z_AREA, rtol=1e-15)


def test_suggest_divides_once_or_refuses_once(tmp_path):
    s = _ohm_cm2_spectrum(tmp_path)
    with pytest.raises(FitError, match="per area"):
        eisfit.suggest_circuit(s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best = eisfit.suggest_circuit(s, area_cm2=0.785).best_fit
    assert best.values["R2"] == pytest.approx(ASR["R2"] / 0.785, rel=1e-4)


@pytest.mark.parametrize("writer", ["csv", "json"])
def test_exports_name_the_unit_and_read_back_per_area(tmp_path, writer):
    from eisfit.io.export import write_csv, write_json

    s = _ohm_cm2_spectrum(tmp_path)
    out = (write_csv if writer == "csv" else write_json)([s], tmp_path / f"export.{writer}")
    assert "z_real_ohm_cm2" in out.read_text(encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (back,) = eisfit.read(out)
    assert back.area_specific
    np.testing.assert_array_equal(back.z, s.z)
    with pytest.raises(eisfit.DataError, match="ohm and spectra per area"):  # an eisfit error, not a bare one
        write_csv([s, s.in_ohm(0.5)], tmp_path / "mixed.csv")
    with pytest.raises(eisfit.DataError, match="nothing to write"):
        write_csv([], tmp_path / "none.csv")


# ------------------------------------------------------- an area stated in the file
def _with_stated_area(area_cm2: float) -> Spectrum:
    z = Z_AREA / 0.785  # ohm
    return Spectrum(frequency=F, z=z, meta={"area_cm2": area_cm2, "source": "cell.mpr"})


def test_an_area_the_file_states_is_noted_where_it_is_not_the_one_used():
    """EC-Lab files store an electrode area (often the default): the fit never normalises by
    it, and says it is there where the user gave none or another."""
    s = _with_stated_area(0.317)
    alone = eisfit.fit(s, CIRCUIT)
    assert "file-area:0.317" in alone.flags
    assert not any(k.endswith("ohm_cm2") for k in alone.derived)  # no ASR from the file's area
    other = eisfit.fit(s, CIRCUIT, area_cm2=0.785)
    assert "file-area:0.317" in other.flags
    assert other.derived["R2_asr_ohm_cm2"] == pytest.approx(other.values["R2"] * 0.785)
    same = eisfit.fit(s, CIRCUIT, area_cm2=0.3185)  # within 1 %: the same area
    assert not any(f.startswith("file-area") for f in same.flags)
    from eisfit.fitting.flags import severity

    assert severity("file-area:0.317") == "note"
    for stated in (0.0, float("nan"), None):  # EC-Lab writes 0 when no area was entered
        assert not any(f.startswith("file-area") for f in eisfit.fit(_with_stated_area(stated), CIRCUIT).flags)


def test_the_campaign_line_names_an_area_the_files_state_but_that_is_not_used(tmp_path):
    from click.testing import CliRunner

    from eisfit.cli import main
    from test_io_mpt import rows_for, write_mpt

    path = write_mpt(tmp_path / "cell_PEIS.mpt", rows_for(n_sweeps=2, n_per=12), area="0.5 cm²")
    runner = CliRunner()
    out = runner.invoke(main, ["campaign", str(path), "--circuit", "R0-p(R1,C1)", "--out", str(tmp_path / "o"),
                               "--no-cache", "--no-progress"])
    assert out.exit_code in (0, 1), out.output
    assert "area none (resistances in ohm) (the files state 0.5 cm2: no area was given; eisfit normalises by " \
           "--area-cm2 or the " \
           "campaign file's area_cm2 only)" in out.output
    given = runner.invoke(main, ["campaign", str(path), "--circuit", "R0-p(R1,C1)", "--area-cm2", "0.5",
                                 "--out", str(tmp_path / "o2"), "--no-cache", "--no-progress"])
    assert "area 0.5 cm2\n" in given.output, given.output
