"""Checks of campaign sources: errors that name the campaign-file row, repeated rows, and
cycle columns that count within each file."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import eisfit
from eisfit import CircuitError, FitError
from eisfit.campaign import CampaignWarning, load_checkpoints

F_HZ = np.logspace(5, -1, 31)
CIRCUIT = "R0-p(R1,C1)-p(R2,C2)"


def _two_arcs_ohm(f_hz: np.ndarray, r2_ohm: float = 300.0) -> np.ndarray:
    """Closed form R0 + R1 || C1 + R2 || C2 (ohm): a bulk and an interface arc."""
    w = 2 * np.pi * f_hz
    return 10.0 + 100.0 / (1 + 1j * w * 100.0 * 1e-8) + r2_ohm / (1 + 1j * w * r2_ohm * 1e-5)


def _write_spectrum(path: Path, r2_ohm: float = 300.0) -> Path:
    z = _two_arcs_ohm(F_HZ, r2_ohm)
    np.savetxt(path, np.c_[F_HZ, z.real, z.imag], delimiter=",", header="freq_Hz,Zre_ohm,Zim_ohm", comments="")
    return path


def _write_sweeps(path: Path, cycles: list[int], starts_s: list[float], r2_ohm: float = 300.0) -> Path:
    """One file of several sweeps with a cycle column and a time column (seconds)."""
    rows = []
    for k, (cycle, t0) in enumerate(zip(cycles, starts_s)):
        z = _two_arcs_ohm(F_HZ, r2_ohm * (1 + 0.1 * k))
        rows += [np.c_[F_HZ, z.real, z.imag, np.full(F_HZ.size, cycle), t0 + np.arange(F_HZ.size)]]
    np.savetxt(path, np.vstack(rows), delimiter=",", header="freq_Hz,Zre_ohm,Zim_ohm,cycle number,time/s",
               comments="")
    return path


def _three_files(folder: Path) -> list[str]:
    names = [f"c{k}.csv" for k in range(3)]
    for k, name in enumerate(names):
        _write_spectrum(folder / name, 300.0 * (1 + 0.2 * k))
    return names


# ---- 1. a bad setting of a row names the campaign file and the row --------------------

@pytest.mark.parametrize("column, value, error, message", [
    ("area_cm2", "-1", FitError, "area_cm2 must be a positive number, got -1.0"),
    ("circuit", "R0-p(R1", CircuitError, "invalid circuit 'R0-p(R1'"),
    ("fmin", "1e4", FitError, "fmin (10000 Hz) must be below fmax (100 Hz)"),
])
def test_a_bad_setting_of_a_csv_row_names_the_campaign_file_and_the_row(tmp_path, column, value, error, message):
    names = _three_files(tmp_path)
    extra = ",fmax" if column == "fmin" else ""
    lines = [f"file,time_h,{column}{extra}", f"{names[0]},0,{',' if extra else ''}",
             f"{names[1]},1,{',' if extra else ''}", f"{names[2]},2,{value}{',100' if extra else ''}"]
    camp = tmp_path / "camp.csv"
    camp.write_text("\n".join(lines) + "\n")
    with pytest.raises(error) as info:
        eisfit.fit_campaign(camp, circuit=CIRCUIT, cache_dir=False, progress=False)
    first_line = str(info.value).splitlines()[0]
    assert first_line.startswith(f"{camp}: row 3 (c2.csv): "), first_line
    assert message in first_line
    assert first_line.count("c2.csv") == 1  # the data file once, after the row


def test_a_bad_setting_of_a_toml_checkpoint_names_its_number(tmp_path):
    names = _three_files(tmp_path)
    camp = tmp_path / "camp.toml"
    camp.write_text(f"[[checkpoint]]\nfile = '{names[0]}'\n\n[[checkpoint]]\nfile = '{names[1]}'\narea_cm2 = -1\n")
    with pytest.raises(FitError, match=r"camp\.toml: \[\[checkpoint\]\] 2 \(c1\.csv\): area_cm2 must be a "
                                       r"positive number, got -1\.0$"):
        eisfit.fit_campaign(camp, circuit=CIRCUIT, cache_dir=False, progress=False)
    # the checks of the campaign file itself name a TOML checkpoint the same way
    camp.write_text(f"[[checkpoint]]\nfile = '{names[0]}'\n\n[[checkpoint]]\nfile = '{names[1]}'\naera_cm2 = 1\n")
    with pytest.raises(eisfit.CampaignError, match=r"camp\.toml: \[\[checkpoint\]\] 2: unknown column 'aera_cm2'"):
        load_checkpoints(camp)


def test_a_bad_argument_names_no_row(tmp_path):
    names = _three_files(tmp_path)
    camp = tmp_path / "camp.csv"
    camp.write_text("file,time_h\n" + "".join(f"{n},{k}\n" for k, n in enumerate(names)))
    with pytest.raises(FitError, match=r"^area_cm2 must be a positive number"):
        eisfit.fit_campaign(camp, circuit=CIRCUIT, area_cm2=-1.0, cache_dir=False, progress=False)


# ---- 2. the same data listed in two rows --------------------------------------------

def _repeat_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, CampaignWarning)
            and "listed in more than one row" in str(w.message)]


def _loaded_with_repeat_warnings(camp: Path):
    """(the checkpoints of the campaign file ``camp``, its repeat warnings' texts)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        src = load_checkpoints(camp)
    return src, _repeat_warnings(caught)


def test_the_same_data_in_two_rows_gives_one_warning_naming_the_file_and_rows(tmp_path):
    names = _three_files(tmp_path)
    (tmp_path / "copy.csv").write_bytes((tmp_path / names[1]).read_bytes())
    camp = tmp_path / "camp.csv"
    camp.write_text(f"file,time_h\n{names[0]},0\n{names[1]},1\n{names[0]},2\ncopy.csv,1\n{names[2]},3\n")
    src, found = _loaded_with_repeat_warnings(camp)
    assert len(found) == 1, found
    text = found[0]
    assert text.startswith(f"{camp}: 2 measurement(s) listed in more than one row")
    assert "c0.csv (row 1 at 0 h, row 3 at 2 h): one measurement at 2 different times" in text
    assert "c1.csv = copy.csv (row 2 at 1 h, row 4 at 1 h)" in text
    assert "c2.csv" not in text
    assert len(src.checkpoints) == 5  # warned, not removed: the rows say what to fit


def test_the_same_points_in_another_export_of_one_measurement_are_warned_about(tmp_path):
    """run.csv and run.txt (other bytes: another layout and 9 digits, as an .mpt beside its
    .mpr) in two rows were fitted as two checkpoints without a word: the points are compared,
    as a folder campaign compares them."""
    names = _three_files(tmp_path)
    z = _two_arcs_ohm(F_HZ, 300.0 * 1.2)  # the points of c1.csv
    (tmp_path / "c1_export.txt").write_text(
        "Freq/Hz\tZ'/ohm\t-Z''/ohm\n" + "".join(f"{f:.9g}\t{v.real:.9g}\t{-v.imag:.9g}\n" for f, v in zip(F_HZ, z)))
    camp = tmp_path / "camp.csv"
    camp.write_text(f"file,time_h\n{names[0]},0\n{names[1]},1\nc1_export.txt,2\n{names[2]},3\n")
    src, found = _loaded_with_repeat_warnings(camp)
    assert len(found) == 1, found
    assert "1 measurement(s) listed in more than one row" in found[0]
    assert "c1.csv = c1_export.txt (row 2 at 1 h, row 3 at 2 h): one measurement at 2 different times" in found[0]
    assert len(src.checkpoints) == 4


def test_the_same_file_in_a_toml_file_names_the_checkpoints(tmp_path):
    names = _three_files(tmp_path)
    camp = tmp_path / "camp.toml"
    camp.write_text(f"[[checkpoint]]\nfile = '{names[0]}'\ntime_h = 0\n\n"
                    f"[[checkpoint]]\nfile = './{names[0]}'\ntime_h = 5\n")
    with pytest.warns(CampaignWarning, match=r"c0\.csv = \./c0\.csv \(\[\[checkpoint\]\] 1 at 0 h, "
                                             r"\[\[checkpoint\]\] 2 at 5 h\): one measurement at 2 different times"):
        load_checkpoints(camp)


def test_no_repeat_warning_for_other_sweeps_other_settings_or_a_negative_time(tmp_path):
    names = _three_files(tmp_path)
    _write_sweeps(tmp_path / "two.csv", [1, 2], [0.0, 3600.0], r2_ohm=250.0)  # not c0.csv's points
    camp = tmp_path / "camp.csv"
    # a pre-cycling reference at -1 h; one file's two sweeps at two times; one measurement
    # fitted with two circuits (a comparison of settings, not a repeat)
    camp.write_text(f"file,sweep,time_h,circuit\n{names[0]},,-1,\ntwo.csv,0,0,\ntwo.csv,1,1,\n"
                    f'{names[1]},,2,"R0-p(R1,C1)"\n{names[1]},,2,"{CIRCUIT}"\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        src = load_checkpoints(camp)
    assert not _repeat_warnings(caught)
    assert [c.time_h for c in src.checkpoints] == [-1, 0, 1, 2, 2]


def test_a_campaign_with_a_repeated_row_still_fits_every_row(tmp_path):
    names = _three_files(tmp_path)
    camp = tmp_path / "camp.csv"
    camp.write_text(f"file,time_h\n{names[0]},0\n{names[1]},1\n{names[1]},2\n")
    with pytest.warns(CampaignWarning, match="listed in more than one row"):
        result = eisfit.fit_campaign(camp, circuit=CIRCUIT, cache_dir=False, progress=False)
    assert not result.errors and len(result.table) == 3


# ---- 3. cycle numbers that count within each file -------------------------------------

def test_cycles_repeating_from_file_to_file_are_not_the_campaign_cycles(tmp_path):
    """Two files of two sweeps each, cycle 1, 2 in both and no acquisition time: the cycles
    are kept as cycle_in_file, the evolution is told by checkpoint and named by file."""
    _write_sweeps(tmp_path / "ex1.csv", [1, 2], [13125.0, 14602.0])
    _write_sweeps(tmp_path / "ex2.csv", [1, 2], [17280.0, 18759.0], r2_ohm=400.0)
    with pytest.warns(CampaignWarning, match=r"cycle numbers of the files repeat from file to file "
                                             r"\(ex1\.csv: 1, 2; ex2\.csv: 1, 2\)"):
        result = eisfit.fit_campaign(tmp_path, circuit=CIRCUIT, cache_dir=False, progress=False)
    assert [c.cycle for c in result.checkpoints] == [None] * 4
    assert [c.extra["cycle_in_file"] for c in result.checkpoints] == [1, 2, 1, 2]
    assert list(result.table["cycle_in_file"]) == [1, 2, 1, 2]
    assert result.evolution_axis() is None
    assert "(ex1.csv#0, ex1.csv#1, ex2.csv#0, ex2.csv#1;" in result.evolution_lines()[0]
    assert result.ordering.startswith("natural file-name order (no acquisition time in the files; their "
                                      "time columns count from each file's own start")


@pytest.mark.parametrize("cycles", [([1, 2], [3, 4]), ([1, 3], [3, 5]), ([5, 6], [1, 2]), ([1], [1])])
def test_cycles_going_on_between_files_or_never_changing_are_kept(tmp_path, cycles):
    """Cycles going on from file to file (sharing the boundary cycle or not), files in
    another order than their cycles, and a cycle column that never changes stay as read."""
    _write_sweeps(tmp_path / "a.csv", cycles[0], [0.0, 3600.0])
    _write_sweeps(tmp_path / "b.csv", cycles[1], [0.0, 3600.0], r2_ohm=400.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        src = load_checkpoints(tmp_path)
    assert not [w for w in caught if "cycle numbers" in str(w.message)]
    assert [c.cycle for c in src.checkpoints] == [*cycles[0], *cycles[1]]


def test_a_campaign_file_row_with_its_own_cycle_keeps_it(tmp_path):
    """Rows that give their cycle are the campaign's cycles; rows that do not take the
    file's, which repeat here from file to file and are set aside."""
    _write_sweeps(tmp_path / "ex1.csv", [1, 2], [0.0, 3600.0])
    _write_sweeps(tmp_path / "ex2.csv", [1, 2], [0.0, 3600.0], r2_ohm=400.0)
    camp = tmp_path / "camp.csv"
    camp.write_text("file,sweep,cycle\nex1.csv,0,10\nex1.csv,1,20\nex2.csv,0,30\nex2.csv,1,40\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        src = load_checkpoints(camp)
    assert not [w for w in caught if "cycle numbers" in str(w.message)]
    assert [c.cycle for c in src.checkpoints] == [10, 20, 30, 40]
    camp.write_text("file\nex1.csv\nex2.csv\n")
    with pytest.warns(CampaignWarning, match="cycle numbers of the files repeat"):
        src = load_checkpoints(camp)
    assert [c.cycle for c in src.checkpoints] == [None] * 4


def test_spectra_given_as_a_list_keep_the_conditions_their_meta_holds():
    """A notebook builds the spectra with meta={'temperature_C': ...}: the campaign of that
    list has the temperatures (an Arrhenius fit can run), as a campaign file would give."""
    from eisfit.model import Circuit

    f = np.logspace(6, -1, 40)
    spectra = []
    for k, t_c in enumerate((25.0, 40.0, 60.0)):
        z = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)").impedance([10.0, 100.0 / (1 + k), 1e-9, 0.9, 300.0, 1e-6, 0.85], f)
        spectra.append(eisfit.Spectrum(f, z, {"label": f"T{k}", "temperature_C": t_c, "current_mA_cm2": 0.1}))
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,CPE1)-p(R2,CPE2)", area_cm2=0.785, thickness_cm=0.03,
                               cache_dir=False, progress=False, arrhenius=True)
    assert list(camp.table["temperature_K"]) == pytest.approx([298.15, 313.15, 333.15])
    assert list(camp.table["current_mA_cm2"]) == [0.1] * 3
    bad = eisfit.Spectrum(f, spectra[0].z, {"label": "cold", "temperature_K": -3})
    with pytest.raises(eisfit.CampaignError, match="at or below absolute zero"):
        eisfit.fit_campaign([bad], circuit="R0-p(R1,CPE1)-p(R2,CPE2)", cache_dir=False, progress=False)


def test_a_glob_names_checkpoints_from_the_folder_its_files_share(tmp_path):
    folder = tmp_path / "deep" / "runs"
    folder.mkdir(parents=True)
    for k in range(2):
        _write_spectrum(folder / f"c{k}.csv", 300.0 + 10 * k)
    camp = eisfit.fit_campaign(str(folder / "c*.csv"), circuit=CIRCUIT, cache_dir=False, progress=False)
    assert list(camp.table["label"]) == ["c0.csv", "c1.csv"]  # not /tmp/.../deep/runs/c0.csv


def test_a_temperature_series_is_told_against_temperature():
    """Spectra at 25, 40 and 60 °C with no time or cycle: the evolution lines and figure
    use the temperature, not the checkpoint number or file name."""
    from eisfit.model import Circuit

    f = np.logspace(6, -1, 40)
    spectra = []
    for k, t_c in enumerate((25.0, 40.0, 60.0)):
        z = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)").impedance([10.0, 100.0 / (1 + k), 1e-9, 0.9, 300.0, 1e-6, 0.85], f)
        spectra.append(eisfit.Spectrum(f, z, {"label": f"run{k}.csv", "temperature_C": t_c}))
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,CPE1)-p(R2,CPE2)", cache_dir=False, progress=False)
    assert camp.evolution_axis() == "temperature_K"
    assert "(25 °C, 40 °C, 60 °C;" in camp.evolution_lines()[0]


def test_a_bad_default_names_the_campaign_file(tmp_path):
    _three_files(tmp_path)
    path = tmp_path / "camp.toml"
    path.write_text('[defaults]\narea_cm2 = -2\n\n[[checkpoint]]\nfile = "c0.csv"\n')
    with pytest.raises(FitError, match=r"camp.toml: \[defaults\]: area_cm2 must be a positive number"):
        eisfit.fit_campaign(path, cache_dir=False, progress=False)


def test_a_campaign_file_beside_the_data_of_a_folder_campaign_is_named(tmp_path):
    """A folder campaign fits the folder's data files; a campaign list kept beside them
    (most likely meant to be the source, with its times) is named in one warning, with the
    command that uses it. A table of results whose files are elsewhere, and eisfit's own
    summary.csv, are not campaign lists."""
    for k in range(2):
        _write_spectrum(tmp_path / f"cp{k}.csv", 300.0 + 50 * k)
    (tmp_path / "results.csv").write_text("file,R2\nelsewhere/run1.csv,300\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CampaignWarning)  # nothing to say yet
        load_checkpoints(tmp_path)
    camp = eisfit.fit_campaign(tmp_path, circuit=CIRCUIT, progress=False, cache_dir=False)
    camp.table.to_csv(tmp_path / "summary.csv", index=False)  # eisfit's own table, a file column and all
    assert "file" in camp.table.columns and "content_sha256" in camp.table.columns
    with warnings.catch_warnings():
        warnings.simplefilter("error", CampaignWarning)
        assert len(load_checkpoints(tmp_path).checkpoints) == 2
    (tmp_path / "campaign.csv").write_text("file,time_h\ncp0.csv,0\ncp1.csv,500\n")
    (tmp_path / "cell.toml").write_text('[[checkpoint]]\nfile = "cp0.csv"\ntime_h = 0\n')
    with pytest.warns(CampaignWarning, match=r"campaign\.csv, cell\.toml list checkpoints .*give one as the "
                                             r"source.*eisfit campaign .*campaign\.csv"):
        src = load_checkpoints(tmp_path)
    assert sorted(c.file for c in src.checkpoints) == ["cp0.csv", "cp1.csv"]


def test_a_folder_whose_files_are_all_foreign_names_its_subfolders(tmp_path):
    (tmp_path / "notes.txt").write_text("cell 7, pressed at 300 MPa\n")
    (tmp_path / "0h").mkdir()
    _write_spectrum(tmp_path / "0h" / "EIS.csv")
    with pytest.raises(eisfit.CampaignError, match=r"no impedance data file found directly in it .no reader "
                                                   r"recognises notes\.txt; a campaign reads the files of one "
                                                   r"folder; it has the subfolder\(s\) 0h"):
        load_checkpoints(tmp_path)


@pytest.mark.parametrize("column, factor_h", [("time_min", 1 / 60), ("time_s", 1 / 3600), ("time_d", 24.0),
                                              ("Time (h)", 1.0), ("time / min", 1 / 60), ("t [s]", 1 / 3600),
                                              ("elapsed time (d)", 24.0)])
def test_a_campaign_files_time_in_other_units_becomes_time_h(tmp_path, column, factor_h):
    """'time_min' was carried as a free column (no time axis, a warning), 'time_d' and
    'time_s' refused as typos of 'time_h'; a time column with its unit is read and converted."""
    for k in (0, 1):
        _write_spectrum(tmp_path / f"s{k}.csv", r2_ohm=300.0 + 100 * k)
    (tmp_path / "camp.csv").write_text(f"file,{column}\ns0.csv,0\ns1.csv,30\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checkpoints = load_checkpoints(tmp_path / "camp.csv").checkpoints
    assert [c.time_h for c in checkpoints] == [0.0, pytest.approx(30 * factor_h, rel=1e-12)]


def test_a_time_given_twice_or_without_a_unit_is_refused(tmp_path):
    _write_spectrum(tmp_path / "s0.csv")
    (tmp_path / "twice.csv").write_text("file,time_h,time_min\ns0.csv,1,60\n")
    with pytest.raises(eisfit.CampaignError, match=r"row 1: the time is given twice \('time_min', 'time_h'\)"):
        load_checkpoints(tmp_path / "twice.csv")
    (tmp_path / "bare.csv").write_text("file,time\ns0.csv,1\n")
    with pytest.raises(eisfit.CampaignError, match=r"unknown column 'time' \(did you mean 'time_h'\?\)"):
        load_checkpoints(tmp_path / "bare.csv")


def test_a_campaign_csv_with_a_column_twice_or_an_endless_cell_is_one_campaign_error(tmp_path):
    """A header naming 'time_h' twice kept the second column's values without a word; a cell
    beyond the csv module's field limit raised _csv.Error ("internal error" in the command)."""
    _write_spectrum(tmp_path / "s0.csv")
    (tmp_path / "twice.csv").write_text("file,time_h,time_h\ns0.csv,1,2\n")
    with pytest.raises(eisfit.CampaignError, match=r"the header names 'time_h' more than once"):
        load_checkpoints(tmp_path / "twice.csv")
    (tmp_path / "long.csv").write_text("file,label\ns0.csv,\"" + "x" * 200_000 + "\"\n")
    with pytest.raises(eisfit.CampaignError, match=r"long\.csv: line \d+: not a campaign table"):
        load_checkpoints(tmp_path / "long.csv")


def test_campaign_file_rows_out_of_time_order_are_named_in_a_warning(tmp_path):
    """Rows at 20, 0, 30, 10 h were fitted and shown in that order without a word: the
    headline read a trend that was the rows' order."""
    for k in range(4):
        _write_spectrum(tmp_path / f"s{k}.csv", r2_ohm=300.0 + 10 * k)
    (tmp_path / "camp.csv").write_text("file,time_h\ns0.csv,20\ns1.csv,0\ns2.csv,30\ns3.csv,10\n")
    with pytest.warns(CampaignWarning, match=r"the rows are not in time order \(row 1 at 20 h, then row 2 at 0 h\)"):
        checkpoints = load_checkpoints(tmp_path / "camp.csv").checkpoints
    assert [c.time_h for c in checkpoints] == [20.0, 0.0, 30.0, 10.0]  # the documented order: the file's
    (tmp_path / "sorted.csv").write_text("file,time_h\ns1.csv,0\ns3.csv,10\ns0.csv,20\ns2.csv,30\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_checkpoints(tmp_path / "sorted.csv")


def test_a_list_of_paths_is_labelled_by_file_names_as_a_folder_is(tmp_path):
    """fit_campaign([paths]) labels its checkpoints by the file name, as a folder campaign
    does, and where two files of different folders share a name by the shortest tail of the
    path that tells them apart ('A/cell.csv', 'B/cell.csv'): in the table, the report and the
    figures' panel titles; the 'file' column keeps the path. Before, every label was the whole
    path as given (/tmp/.../A/cell.csv). A campaign file's absolute paths are labelled alike."""
    for folder in ("A", "B"):
        (tmp_path / folder).mkdir()
    paths = [_write_spectrum(tmp_path / "A" / "cell.csv", 300.0), _write_spectrum(tmp_path / "B" / "cell.csv", 340.0),
             _write_spectrum(tmp_path / "A" / "other.csv", 380.0)]
    camp = eisfit.fit_campaign([str(p) for p in paths], circuit=CIRCUIT, cache_dir=False, progress=False)
    expected = {"A/cell.csv": str(paths[0]), "B/cell.csv": str(paths[1]), "other.csv": str(paths[2])}
    assert dict(zip(camp.table["label"], camp.table["file"])) == expected
    report = camp.report()
    assert str(tmp_path) not in report and all(f"| {label} |" in report for label in expected)
    fig = camp.plot_fits()
    titles = " ".join(ax.get_title() for ax in fig.axes)
    assert str(tmp_path) not in titles and all(label in titles for label in expected)
    toml = tmp_path / "campaign.toml"
    toml.write_text("".join(f'[[checkpoint]]\nfile = "{p}"\ntime_h = {10 * k}\n\n' for k, p in enumerate(paths)))
    assert [c.label for c in load_checkpoints(toml).checkpoints] == list(expected)


def test_a_folders_broken_links_and_pipes_are_failed_checkpoints_not_skipped(tmp_path):
    """A dangling link, a link loop and a named pipe named like data files had been skipped
    without a word (exit 0): each is a checkpoint that failed, with its reason; the good file
    is fitted, and the pipe is never opened (it would block)."""
    import os

    f = np.logspace(5, -1, 31)
    z = 10 + 100 / (1 + 2j * np.pi * f * 100 * 1e-5)
    (tmp_path / "good.csv").write_text("freq,Z',Z''\n" + "".join(f"{a:.9g},{b.real:.9g},{b.imag:.9g}\n"
                                                                   for a, b in zip(f, z)), encoding="utf-8")
    (tmp_path / "dangling.mpr").symlink_to(tmp_path / "missing.mpr")
    (tmp_path / "loop.mpr").symlink_to(tmp_path / "loop.mpr")
    os.mkfifo(tmp_path / "pipe.mpr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        camp = eisfit.fit_campaign(tmp_path, circuit="R0-p(R1,C1)", cache_dir=False, progress=False)
    errors = {c.label: c.error for c in camp.checkpoints if c.error}
    assert sum(r is not None for r in camp.results) == 1 and len(camp.checkpoints) == 4
    assert "No such file" in errors["dangling.mpr"] and "symbolic links" in errors["loop.mpr"]
    assert "not a regular file (a named pipe)" in errors["pipe.mpr"]


def test_files_named_by_time_with_one_of_several_sweeps_are_said_to_lose_their_time_axis(tmp_path):
    """A folder of one-sweep files named by hours, one of which held a second sweep, had been
    ordered by file name with time_h empty on every row, without a word."""
    for hours in (0, 100, 200):
        _write_spectrum(tmp_path / f"cell_{hours:04d}h.csv", 300.0 + hours)
    twice = tmp_path / "cell_0100h.csv"
    twice.write_text(twice.read_text() + "\n".join(twice.read_text().splitlines()[1:]) + "\n")
    with pytest.warns(CampaignWarning, match=r"the file names state times, but 1 file\(s\) hold several sweeps, "
                                             r"which one name cannot time \(cell_0100h.csv \(2 sweeps\)\)"):
        src = load_checkpoints(str(tmp_path))
    assert len(src.checkpoints) == 4 and all(c.time_h is None for c in src.checkpoints)
    for path in tmp_path.glob("*.csv"):  # one sweep each: timed by their names, no warning
        path.unlink()
    for hours in (0, 100):
        _write_spectrum(tmp_path / f"cell_{hours:04d}h.csv", 300.0 + hours)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CampaignWarning)
        assert [c.time_h for c in load_checkpoints(str(tmp_path)).checkpoints] == [0.0, 100.0]


def test_a_damaged_file_named_as_its_siblings_is_an_error_row_not_left_out(tmp_path):
    """Random bytes in cell_0100h.csv among cell_0000h.csv, cell_0200h.csv had been left out
    with a warning ("not impedance data files"), the run ending with status 0, while an empty
    file was an error. A file named as the data beside it is a damaged checkpoint: an error
    row naming it. A note beside them (notes.txt) is still left out with a warning."""
    for hours in (0, 200):
        _write_spectrum(tmp_path / f"cell_{hours:04d}h.csv", 300.0 + hours)
    (tmp_path / "cell_0100h.csv").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "notes.txt").write_text("cell assembled on Monday\n")
    with pytest.warns(CampaignWarning, match=r"left out 1 file\(s\) that are not impedance data files.*notes\.txt"):
        src = load_checkpoints(str(tmp_path))
    rows = {Path(c.file).name: c for c in src.checkpoints}
    assert set(rows) == {"cell_0000h.csv", "cell_0100h.csv", "cell_0200h.csv"}
    assert not rows["cell_0100h.csv"].ok and rows["cell_0100h.csv"].error
