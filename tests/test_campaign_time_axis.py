"""Campaign time axis from a file's own cycle / time columns (issue 14).

A single table with ``cycle number`` and ``time/s`` columns and no acquisition start:
the checkpoints get ``time_h`` from the time column (hours since the first sweep) and
``cycle`` from the cycle column, instead of being merely numbered.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import eisfit
from eisfit.campaign import load_checkpoints

F_HZ = np.logspace(5, -1, 31)
R0_OHM, R1_OHM, C1_F = 20.0, 100.0, 1e-6
SWEEP_STARTS_S = [0.0, 7200.0, 18000.0]  # 0 h, 2 h, 5 h
CYCLES = [1, 11, 21]


def _z_ohm(f_hz: np.ndarray, r1_ohm: float) -> np.ndarray:
    """Closed form R0 + R1 || C1, ohm."""
    w = 2 * np.pi * f_hz
    return R0_OHM + r1_ohm / (1 + 1j * w * r1_ohm * C1_F)


def _write_table(path: Path, with_time: bool = True, starts_s=SWEEP_STARTS_S, cycles=CYCLES) -> Path:
    head = "freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm,cycle number" + (",time/s" if with_time else "")
    lines = [head]
    for k, (t0, cycle) in enumerate(zip(starts_s, cycles)):
        z = _z_ohm(F_HZ, R1_OHM * (1 + 0.5 * k))
        for j, (f, v) in enumerate(zip(F_HZ, z)):
            row = f"{float(f)!r},{float(v.real)!r},{float(-v.imag)!r},{cycle}"
            lines.append(row + (f",{t0 + (10.0 * j if any(starts_s) else 0.0)!r}" if with_time else ""))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_reader_keeps_cycle_and_sweep_start_time(tmp_path):
    spectra = eisfit.read(_write_table(tmp_path / "cell.csv"))
    assert [s.meta["cycle"] for s in spectra] == CYCLES
    assert [s.meta["time_s"] for s in spectra] == SWEEP_STARTS_S


def test_checkpoints_take_time_and_cycle_from_the_file(tmp_path):
    src = load_checkpoints(_write_table(tmp_path / "cell.csv"))
    assert src.ordering.startswith("sweep order in the file")
    assert [c.time_h for c in src.checkpoints] == pytest.approx([0.0, 2.0, 5.0])
    assert [c.cycle for c in src.checkpoints] == CYCLES
    assert {c.extra["time_source"] for c in src.checkpoints} == {"time column of the file"}


def test_without_time_column_cycle_is_kept_and_time_stays_empty(tmp_path):
    src = load_checkpoints(_write_table(tmp_path / "cell.csv", with_time=False))
    assert [c.cycle for c in src.checkpoints] == CYCLES
    assert all(c.time_h is None for c in src.checkpoints)
    # the sweeps of one file: their order in it, not a file-name order (a real VSP loop read so)
    assert src.ordering == "sweep order in the file (no acquisition time and no time column in it)"


def test_files_only_some_of_which_carry_a_time_are_ordered_by_name_and_it_says_so(tmp_path):
    """A folder where one file lacks the acquisition time the others carry: the ordering said
    "no acquisition time in the files" beside a warning naming the one file without."""
    import shutil
    import warnings

    from eisfit.campaign import CampaignWarning

    sample = Path(__file__).resolve().parent.parent / "sample_data" / "garnet_campaign"
    shutil.copy(sorted((sample / "mpt").glob("*.mpt"))[0], tmp_path / "a.mpt")
    shutil.copy(sorted((sample / "csv").glob("*.csv"))[1], tmp_path / "b.csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        src = load_checkpoints(tmp_path)
    assert any(issubclass(w.category, CampaignWarning) and "carry no acquisition time (b.csv)" in str(w.message)
               for w in caught)
    assert src.ordering.startswith("natural file-name order (acquisition times in only 1 of 2 checkpoints")


def test_fit_campaign_table_has_time_and_cycle_columns(tmp_path):
    camp = eisfit.fit_campaign(_write_table(tmp_path / "cell.csv"), circuit="R0-p(R1,C1)",
                               cache_dir=False, progress=False)
    table = camp.table
    assert list(table["time_h"]) == pytest.approx([0.0, 2.0, 5.0])
    assert list(table["cycle"]) == CYCLES
    # the fitted R1 follows the closed-form truth of each sweep
    assert list(table["R1"]) == pytest.approx([R1_OHM, 1.5 * R1_OHM, 2 * R1_OHM], rel=1e-3)


def test_a_time_column_that_does_not_increase_gives_no_time_axis(tmp_path):
    """A file whose time column reads 0 s throughout gives no time_h (with a warning), not
    every checkpoint at t = 0; its cycle column still gives the evolution axis."""
    from eisfit.campaign import CampaignWarning

    path = _write_table(tmp_path / "cell.csv", starts_s=[0.0, 0.0, 0.0])
    with pytest.warns(CampaignWarning, match="time column does not increase"):
        src = load_checkpoints(path)
    assert all(c.time_h is None for c in src.checkpoints) and [c.cycle for c in src.checkpoints] == CYCLES


def test_an_axis_that_does_not_change_is_not_the_evolution_axis():
    """Every checkpoint at cycle 0 (a cycle column that never counts): the evolution is told
    against the checkpoint number in the figure and the headline lines, with plain tick
    labels (no offset text such as "1e-6+1e2" over a panel's title)."""
    spectra = [eisfit.Spectrum(F_HZ, _z_ohm(F_HZ, R1_OHM), meta={"label": f"/data/2026/garnet/LiMg_LLZTO/cell_07/sweep_{k}.mpt", "cycle": 0})
               for k in range(3)]
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,C1)", cache_dir=False, progress=False)
    assert [c.cycle for c in camp.checkpoints] == [0, 0, 0]
    assert camp.evolution_axis() is None and camp.evolution_axis("cycle") == "cycle"
    assert "(checkpoint 0, checkpoint 1, checkpoint 2;" in camp.evolution_lines()[0]
    fig = camp.plot_evolution()
    fig.canvas.draw()
    assert fig.axes[-1].get_xlabel() == "checkpoint"
    assert all(not ax.yaxis.get_offset_text().get_text() for ax in fig.axes)


# ------------------------------------------------------------ hours and temperatures in file names
def _write_single(path: Path, r1_ohm: float) -> Path:
    z = _z_ohm(F_HZ, r1_ohm)
    lines = ["freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm"] + [f"{float(f)!r},{float(v.real)!r},{float(-v.imag)!r}"
                                                for f, v in zip(F_HZ, z)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("name,hours", [
    ("cell_500h.csv", 500.0), ("LiMg_LLZTO_0100h_PEIS_C01.csv", 100.0), ("after-24hrs.txt", 24.0),
    ("cell 3 hours.csv", 3.0), ("sample_1.5h.txt", 1.5), ("CELL_500H.CSV", 500.0),
    ("0h_rest_24h.csv", None), ("Li2h.csv", None), ("5th.csv", None), ("1h30.csv", None),
    ("PEIS_C01.mpt", None), ("EIS_100hz.csv", None), ("x.h5", None),
    # minutes and days, converted to hours (a lower-case d only; "day7" too)
    ("EIS_30min.csv", 0.5), ("x_45 min.txt", 0.75), ("cell_10mins.csv", 10 / 60), ("c_0.5d.csv", 12.0),
    ("7days.csv", 168.0), ("EIS_day7.csv", 168.0), ("day2/EIS.csv", 48.0), ("cell_2D.csv", None),
    ("day1_24h.csv", None),
    # a decimal comma (it read 0,5h as 5 h)
    ("cell_0,5h.csv", 0.5), ("cell_1,5h.csv", 1.5)])
def test_hours_in_a_file_name(name, hours):
    from eisfit.campaign.sources import hours_in_name

    assert hours_in_name(name) == hours


@pytest.mark.parametrize("name,celsius", [
    ("LLZO_60degC.mpt", 60.0), ("x_25°C.csv", 25.0), ("s04147-140deg.txt", 140.0), ("cell_80oC.txt", 80.0),
    ("cell_-20degC.csv", -20.0), ("cell-20degC.csv", 20.0), ("LLZO 100 degC.z", 100.0), ("T=25.5DEGC.csv", 25.5),
    ("cell_2C.csv", None), ("25degC_40degC.csv", None), ("Li2deg.csv", None), ("cell_25C.csv", None),
    ("LLZO_22,5degC.csv", 22.5)])
def test_temperature_in_a_file_name(name, celsius):
    """Only with an explicit unit: a bare "2C" is a C-rate as often as a temperature."""
    from eisfit.campaign.sources import celsius_in_name

    assert celsius_in_name(name) == celsius


def test_a_folder_without_acquisition_times_takes_the_hours_its_file_names_state(tmp_path):
    """CSV exports of a cycling campaign carry no acquisition time: the names' hours give the
    time axis (and the order: 'a_...500h' after 'b_...0h'), not the checkpoint number."""
    for name, r1 in (("a_cell_500h.csv", 150.0), ("b_cell_0h.csv", 100.0), ("c_cell_1000h.csv", 200.0)):
        _write_single(tmp_path / name, r1)
    src = load_checkpoints(tmp_path)
    assert src.ordering.startswith("the hours in the file names")
    assert [c.file for c in src.checkpoints] == ["b_cell_0h.csv", "a_cell_500h.csv", "c_cell_1000h.csv"]
    assert [c.time_h for c in src.checkpoints] == [0.0, 500.0, 1000.0]
    camp = eisfit.fit_campaign(tmp_path, circuit="R0-p(R1,C1)", progress=False, cache_dir=False)
    assert list(camp.table["time_h"]) == [0.0, 500.0, 1000.0]
    assert list(camp.table["time_source"]) == ["file name"] * 3
    assert camp.table["R1"].to_numpy() == pytest.approx([100.0, 150.0, 200.0], rel=1e-6)


def test_a_folder_of_tables_with_time_stamps_is_ordered_by_them(tmp_path):
    """CSV exports with a time stamp per row (no acquisition time in any header): the stamps
    give each checkpoint's acquisition time, which orders the folder (not the file names)
    and gives time_h."""
    for name, stamp, r1 in (("a.csv", "2024-05-03 10:00:00", 150.0), ("b.csv", "2024-05-01 10:00:00", 100.0),
                            ("c.csv", "2024-05-05 16:00:00", 200.0)):
        z = _z_ohm(F_HZ, r1)
        rows = [f"{stamp[:-2]}{j:02d},{float(f)!r},{float(v.real)!r},{float(-v.imag)!r}"
                for j, (f, v) in enumerate(zip(F_HZ, z))]
        (tmp_path / name).write_text("Date and time,freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n" + "\n".join(rows) + "\n")
    src = load_checkpoints(tmp_path)
    assert src.ordering.startswith("acquisition time")
    assert [c.file for c in src.checkpoints] == ["b.csv", "a.csv", "c.csv"]
    assert [c.time_h for c in src.checkpoints] == pytest.approx([0.0, 48.0, 102.0])
    camp = eisfit.fit_campaign(tmp_path, circuit="R0-p(R1,C1)", progress=False, cache_dir=False)
    assert camp.table["R1"].to_numpy() == pytest.approx([100.0, 150.0, 200.0], rel=1e-6)


def test_file_names_that_do_not_all_state_hours_give_no_time(tmp_path):
    for k, name in enumerate(("cell_0h.csv", "cell_500h.csv", "cell_final.csv")):
        _write_single(tmp_path / name, 100.0 + k)
    src = load_checkpoints(tmp_path)
    assert src.ordering.startswith("natural file-name order")
    assert all(c.time_h is None for c in src.checkpoints)


def test_a_temperature_series_takes_its_temperatures_from_the_file_names(tmp_path):
    for t in (25, 60, 100):
        _write_single(tmp_path / f"LLZO_{t}degC.csv", 200.0 - t)
    camp = eisfit.fit_campaign(tmp_path, circuit="R0-p(R1,C1)", progress=False, cache_dir=False)
    assert list(camp.table["temperature_C"]) == pytest.approx([25.0, 60.0, 100.0])
    assert list(camp.table["temperature_source"]) == ["file name"] * 3
    _write_single(tmp_path / "LLZO_room.csv", 190.0)
    assert all(c.temperature_K is None for c in load_checkpoints(tmp_path).checkpoints)  # one name without


@pytest.mark.parametrize("name,cycle", [
    ("EIS_cycle50.csv", 50), ("cyc_100.mpt", 100), ("after_50cycles.txt", 50), ("50cyc.csv", 50),
    ("Cyc#7.csv", 7), ("PEIS_C01.mpt", None), ("recycle5.csv", None), ("cycle50_cycle60.csv", None),
    ("cycle1.5.csv", None)])
def test_cycle_in_a_file_name(name, cycle):
    from eisfit.campaign.sources import cycle_in_name

    assert cycle_in_name(name) == cycle


def test_a_folder_without_times_takes_the_cycles_its_file_names_state(tmp_path):
    for k, name in enumerate(("EIS_cycle100.csv", "EIS_cycle0.csv", "EIS_cycle20.csv")):
        _write_single(tmp_path / name, 100.0 + k)
    src = load_checkpoints(tmp_path)
    assert src.ordering.startswith("the cycle numbers in the file names")
    assert [c.cycle for c in src.checkpoints] == [0.0, 20.0, 100.0]
    assert all(c.time_h is None for c in src.checkpoints)
    camp = eisfit.fit_campaign(tmp_path, circuit="R0-p(R1,C1)", progress=False, cache_dir=False)
    assert list(camp.table["cycle"]) == [0.0, 20.0, 100.0]
    assert list(camp.table["cycle_source"]) == ["file name"] * 3


def test_checkpoint_folders_named_by_hours_give_the_time_of_a_glob_campaign(tmp_path):
    """One folder per checkpoint (``500h/EIS.csv``), read with a glob: the folders' hours."""
    for k, hours in enumerate((1000, 0, 500)):
        (tmp_path / f"{hours}h").mkdir()
        _write_single(tmp_path / f"{hours}h" / "EIS.csv", 100.0 + k)
    src = load_checkpoints(str(tmp_path / "*" / "EIS.csv"))
    assert [c.time_h for c in src.checkpoints] == [0.0, 500.0, 1000.0]
    assert [c.file for c in src.checkpoints] == ["0h/EIS.csv", "500h/EIS.csv", "1000h/EIS.csv"]


def test_names_that_state_hours_and_cycles_give_both(tmp_path):
    for k, (cycles, hours) in enumerate(((50, 100), (0, 0), (250, 500))):
        _write_single(tmp_path / f"cell_{cycles}cyc_{hours}h.csv", 100.0 + k)
    src = load_checkpoints(tmp_path)
    assert [(c.time_h, c.cycle) for c in src.checkpoints] == [(0.0, 0.0), (100.0, 50.0), (500.0, 250.0)]


def test_a_list_of_full_paths_reads_the_names_below_their_shared_folder(tmp_path):
    """``fit_campaign([...full paths])``: the shared folder (here one that states hours
    itself) is not part of what tells the checkpoints apart."""
    folder = tmp_path / "rested_24h"
    folder.mkdir()
    paths = [_write_single(folder / f"cell_{h}h.csv", 100.0 + h) for h in (500, 0)]
    src = load_checkpoints([str(p) for p in paths])
    assert [c.time_h for c in src.checkpoints] == [0.0, 500.0]


def test_files_named_in_days_or_minutes_are_timed_and_ordered_by_it(tmp_path):
    """Names in days sorted '0.5d' before '0d' (digit runs: '.' before 'd') and got no time;
    a set named in minutes, hours and days mixed was ordered by name (1d, 2h, 30min). Each is
    now timed in hours, and ordered by it; numbers in names compare as decimals."""
    from eisfit.campaign.sources import natural_key

    for name, r1 in (("c_0d.csv", 10.0), ("c_0.5d.csv", 20.0), ("c_1d.csv", 30.0), ("c_2h.csv", 40.0),
                     ("c_30min.csv", 50.0)):
        _write_single(tmp_path / name, r1)
    camp = eisfit.fit_campaign(tmp_path, circuit="R0-p(R1,C1)", cache_dir=False, progress=False, jobs=1)
    assert list(camp.table["label"]) == ["c_0d.csv", "c_30min.csv", "c_2h.csv", "c_0.5d.csv", "c_1d.csv"]
    assert list(camp.table["time_h"]) == [0.0, 0.5, 2.0, 12.0, 24.0]
    assert sorted(["c_1d", "c_0.5d", "c_10d", "c_0d"], key=natural_key) == ["c_0d", "c_0.5d", "c_1d", "c_10d"]
    stamps = ["t_20240305123045124", "t_20240305123045123"]  # 17 digits: exact, not a float's tie
    assert sorted(stamps, key=natural_key) == stamps[::-1]


def test_dotted_numbers_are_counters_or_decimals_as_the_set_of_names_shows():
    """One name cannot say whether 1.10 is a decimal or a loop counter; the set can. A set with
    1.9 and 1.10 (a longer fraction ending in 0) or a number with two dots is counted part by
    part (run_1.10 had sorted before run_1.2); SOC fractions stay decimals (0.25 before 0.5)."""
    from eisfit.campaign.sources import natural_order

    def ordered(names):
        return sorted(names, key=natural_order(names))

    assert ordered(["run_1.10.csv", "run_1.2.csv", "run_1.9.csv", "run_2.1.csv"]) == \
        ["run_1.2.csv", "run_1.9.csv", "run_1.10.csv", "run_2.1.csv"]
    assert ordered(["d_2024.3.12", "d_2024.10.1", "d_2024.3.5"]) == ["d_2024.3.5", "d_2024.3.12", "d_2024.10.1"]
    assert ordered(["SOC_1.csv", "SOC_0.5.csv", "SOC_0.25.csv", "SOC_0.1.csv", "SOC_0.75.csv"]) == \
        ["SOC_0.1.csv", "SOC_0.25.csv", "SOC_0.5.csv", "SOC_0.75.csv", "SOC_1.csv"]
    assert ordered(["x_0.50", "x_0.25", "x_0.10"]) == ["x_0.10", "x_0.25", "x_0.50"]


def test_a_folder_of_loop_counter_names_is_fitted_in_counter_order(tmp_path):
    """The campaign's own order (natural file names, no times) follows the same rule."""
    for k, name in enumerate(("run_1.10.csv", "run_1.2.csv", "run_1.9.csv")):
        _write_single(tmp_path / name, 10.0 + k)
    camp = eisfit.fit_campaign(tmp_path, circuit="R0-p(R1,C1)", cache_dir=False, progress=False, jobs=1)
    assert list(camp.table["label"]) == ["run_1.2.csv", "run_1.9.csv", "run_1.10.csv"]


def test_a_time_every_name_states_alike_is_not_the_checkpoints_time(tmp_path):
    """'cell_24h_rest_1.csv, cell_24h_rest_2.csv': the 24 h describes the set; it had become
    every checkpoint's time, an evolution drawn at one abscissa."""
    for k in (1, 2, 3):
        _write_single(tmp_path / f"cell_24h_rest_{k}.csv", 10.0 * k)
    camp = eisfit.fit_campaign(tmp_path, circuit="R0-p(R1,C1)", cache_dir=False, progress=False, jobs=1)
    assert camp.table["time_h"].isna().all()
    assert list(camp.table["label"]) == [f"cell_24h_rest_{k}.csv" for k in (1, 2, 3)]


def test_acquisition_times_with_utc_offsets_order_across_daylight_saving_and_mix_with_plain_ones():
    """Ivium writes its start times with the UTC offset: compared as text, 02:10+01:00 (after
    the clocks went back) sorted before 02:30+02:00 and got time_h -0.67; an offset time and a
    plain one raised a TypeError ("internal error" in the command)."""
    from eisfit.campaign.sources import Checkpoint, order_checkpoints

    spectrum = eisfit.Spectrum(frequency=F_HZ, z=_z_ohm(F_HZ, 10.0))
    starts = {"A": "2024-10-27T02:30:00+02:00", "B": "2024-10-27T02:10:00+01:00", "C": "2024-10-27T06:00:00+01:00"}
    ordered, _ = order_checkpoints([Checkpoint(label=k, spectrum=spectrum, file=f"{k}.idf", start_time=t)
                                    for k, t in starts.items()])
    assert [c.label for c in ordered] == ["A", "B", "C"]
    assert [c.time_h for c in ordered] == pytest.approx([0.0, 40 / 60, 4.5])
    mixed = {"A": "2024-10-27T00:30:00", "B": "2024-10-27T02:10:00+01:00"}
    ordered, _ = order_checkpoints([Checkpoint(label=k, spectrum=spectrum, file=f"{k}.idf", start_time=t)
                                    for k, t in mixed.items()])
    assert [c.label for c in ordered] == ["A", "B"]


def test_sweeps_that_share_one_start_time_are_in_sweep_order_without_a_time_axis():
    """A PalmSens session's 12 scans carry the file's one start time: ordering and time_h by it
    said "ordered by acquisition time" and gave every checkpoint 0 h. The sweeps keep their
    order in the file, and the line says why; one checkpoint with a time keeps it."""
    from eisfit.campaign.sources import Checkpoint, order_checkpoints

    spectrum = eisfit.Spectrum(frequency=F_HZ, z=_z_ohm(F_HZ, 10.0))
    start = "2025-07-31T15:54:28.922140"
    ordered, how = order_checkpoints([Checkpoint(label=f"s#{k}", spectrum=spectrum, file="s.pssession", sweep=k,
                                                 start_time=start) for k in (2, 0, 1)])
    assert [c.sweep for c in ordered] == [0, 1, 2] and all(c.time_h is None for c in ordered)
    assert how == "sweep order in the file (its sweeps share one start time and it has no time column)"
    ordered, how = order_checkpoints([Checkpoint(label="s#0", spectrum=spectrum, file="s.csv", start_time=start)])
    assert how.startswith("acquisition time") and ordered[0].time_h == 0.0


def test_a_cycle_column_at_0_in_every_file_gives_way_to_the_cycles_the_names_state(tmp_path):
    """The sample's .mpt files count cycles within each file (0 in each): renamed
    LiMg_cycle{0,50,100,150}, every checkpoint had cycle 0 and the names' cycles were ignored."""
    import shutil
    import warnings as _warnings

    sample = sorted((Path(__file__).resolve().parent.parent / "sample_data" / "garnet_campaign" / "mpt").glob("*.mpt"))
    for cycle, path in zip((0, 50, 100, 150), sample):
        shutil.copy(path, tmp_path / f"LiMg_cycle{cycle}_PEIS_C01.mpt")
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        checkpoints = load_checkpoints(tmp_path).checkpoints
    assert [c.cycle for c in checkpoints] == [0.0, 50.0, 100.0, 150.0]
    assert all(c.extra["cycle_in_file"] == 0.0 for c in checkpoints)
    assert any("the cycle column of every file holds 0 (4 files) while their names state cycles: the names' are "
               "used" in str(w.message) for w in caught)


def test_a_row_naming_a_file_of_several_sweeps_times_each_by_its_acquisition(tmp_path):
    """cellpy's biol.mpr holds 5 sweeps over 19.5 h; listed in one row at time_h = 0, every
    sweep had been a checkpoint at 0 h. The row's time is the first sweep's; the others follow
    by their own acquisition times."""
    from conftest import realdata_path

    biol = realdata_path("mpr", "jepegit__cellpy", "biol.mpr")
    (tmp_path / "camp.csv").write_text(f"file,time_h\n{biol},10\n")
    checkpoints = load_checkpoints(tmp_path / "camp.csv").checkpoints
    assert len(checkpoints) == 5
    assert checkpoints[0].time_h == 10.0
    assert [round(c.time_h, 3) for c in checkpoints] == [10.0, 14.928, 19.856, 24.784, 29.544]


def test_a_row_naming_a_file_of_several_sweeps_without_times_says_they_share_the_rows(tmp_path):
    lines = ["freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm"]
    for r1 in (10.0, 20.0):
        lines += [f"{float(f)!r},{float(v.real)!r},{float(-v.imag)!r}" for f, v in zip(F_HZ, _z_ohm(F_HZ, r1))]
    (tmp_path / "two.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "camp.csv").write_text("file,time_h\ntwo.csv,5\n")
    with pytest.warns(UserWarning, match=r"its file holds 2 sweeps without acquisition times: each is given the "
                                         r"row's time_h \(5 h\)"):
        checkpoints = load_checkpoints(tmp_path / "camp.csv").checkpoints
    assert [c.time_h for c in checkpoints] == [5.0, 5.0]


def test_file_names_stating_one_time_twice_are_named_in_a_warning(tmp_path):
    """cellA_{0,10,20}h and cellB_{0,10,20}h in one folder were interleaved into one chain
    without a word."""
    for cell, r1 in (("cellA", 10.0), ("cellB", 100.0)):
        for h in (0, 10, 20):
            _write_single(tmp_path / f"{cell}_{h}h.csv", r1 + h)
    with pytest.warns(UserWarning, match=r"file names state the same time more than once \(cellA_0h\.csv and "
                                         r"cellB_0h\.csv: 0 h\): two cells in one folder\?"):
        load_checkpoints(tmp_path)


def _write_stamped(path: Path, stamp: str, r1_ohm: float) -> Path:
    """A single-spectrum table with a time stamp per row (its acquisition time)."""
    z = _z_ohm(F_HZ, r1_ohm)
    rows = [f"{stamp[:-2]}{j:02d},{float(f)!r},{float(v.real)!r},{float(-v.imag)!r}"
            for j, (f, v) in enumerate(zip(F_HZ, z))]
    path.write_text("Date and time,freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n" + "\n".join(rows) + "\n")
    return path


def _write_damaged(path: Path) -> Path:
    """A table whose header names its impedance columns and whose rows are cut to junk."""
    path.write_text("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n1e5,x\x00\x00,\n")
    return path


def test_a_file_that_cannot_be_read_keeps_the_time_and_place_its_name_states(tmp_path):
    """cell_100h.csv damaged between cell_0h and cell_200h: its error row had gone last with
    no time (after the 200 h row); the name states 100 h."""
    _write_single(tmp_path / "cell_0h.csv", 100.0)
    _write_damaged(tmp_path / "cell_100h.csv")
    _write_single(tmp_path / "cell_200h.csv", 120.0)
    src = load_checkpoints(tmp_path)
    assert [c.file for c in src.checkpoints] == ["cell_0h.csv", "cell_100h.csv", "cell_200h.csv"]
    assert [c.time_h for c in src.checkpoints] == [0.0, 100.0, 200.0]
    assert src.checkpoints[1].error and src.checkpoints[1].extra["time_source"] == "file name"


def test_with_acquisition_times_a_damaged_file_takes_its_names_hours_where_names_agree(tmp_path):
    """Acquisition times give 0, 49 and 100 h; the names 0, 50 (damaged) and 100 h agree with
    them: the damaged file's row sits between, at 50 h."""
    _write_stamped(tmp_path / "cell_0h.csv", "2024-05-01 10:00:00", 100.0)
    _write_damaged(tmp_path / "cell_50h.csv")
    _write_stamped(tmp_path / "cell_100h.csv", "2024-05-05 14:00:00", 120.0)
    src = load_checkpoints(tmp_path)
    assert src.ordering.startswith("acquisition time")
    assert [c.file for c in src.checkpoints] == ["cell_0h.csv", "cell_50h.csv", "cell_100h.csv"]
    assert [c.time_h for c in src.checkpoints] == pytest.approx([0.0, 50.0, 100.0])


def test_names_whose_hours_contradict_the_acquisition_times_are_warned_about(tmp_path):
    """cell_0h measured after cell_100h (files renamed or mixed up): ordered by the acquisition
    times, as before, but no longer silently; a damaged file then keeps no time."""
    _write_stamped(tmp_path / "cell_0h.csv", "2024-05-05 14:00:00", 100.0)
    _write_stamped(tmp_path / "cell_100h.csv", "2024-05-01 10:00:00", 120.0)
    _write_damaged(tmp_path / "cell_50h.csv")
    with pytest.warns(UserWarning, match=r"hours in the file names contradict the files' acquisition times "
                                         r"\(cell_100h\.csv was measured before cell_0h\.csv"):
        src = load_checkpoints(tmp_path)
    assert [c.file for c in src.checkpoints] == ["cell_100h.csv", "cell_0h.csv", "cell_50h.csv"]
    assert src.checkpoints[2].time_h is None


def test_a_list_naming_a_file_twice_fits_it_once_and_says_so(tmp_path):
    """``fit_campaign([a, b, a])`` had fitted a twice (two rows at 0 h, without a word)."""
    a = _write_single(tmp_path / "cell_0h.csv", 100.0)
    b = _write_single(tmp_path / "cell_10h.csv", 110.0)
    with pytest.warns(UserWarning, match=r"the campaign list names 1 file\(s\) more than once, fitted once each: "
                                         r".*cell_0h\.csv"):
        src = load_checkpoints([str(a), str(b), str(tmp_path / "." / "cell_0h.csv")])
    assert [c.file for c in src.checkpoints] == [str(a), str(b)]
    assert [c.time_h for c in src.checkpoints] == [0.0, 10.0]


def _write_potential_scan(path: Path, potentials_V, starts_s) -> Path:
    """A BioLogic-style table of one sweep per DC potential (``<Ewe>/V`` per point, the
    sweeps told apart by ``cycle number``), R1 growing with the potential."""
    lines = ["freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm,<Ewe>/V,cycle number,time/s"]
    for k, (e_v, t0) in enumerate(zip(potentials_V, starts_s)):
        z = _z_ohm(F_HZ, R1_OHM * (1 + 0.5 * k))
        for j, (f, v) in enumerate(zip(F_HZ, z)):
            lines.append(f"{float(f)!r},{float(v.real)!r},{float(-v.imag)!r},{e_v + 1e-4 * (j % 3 - 1)!r},{k + 1},"
                         f"{t0 + 10.0 * j!r}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_potential_staircase_is_told_against_its_dc_potential(tmp_path):
    """A staircase potential scan (SPEIS: one sweep per 25 mV step) had been told against
    the hours the scan took: "R2: ... (0 h, 0.5 h, 1 h)". Its sweeps' DC potential is the
    axis of the headline lines, the table, the figures and their colours; summary.csv gives
    it per checkpoint."""
    scan_V = [-0.05, -0.025, 0.0, 0.025, 0.05]
    path = _write_potential_scan(tmp_path / "speis.csv", scan_V, [600.0 * k for k in range(5)])
    camp = eisfit.fit_campaign(path, circuit="R0-p(R1,C1)", cache_dir=False, progress=False)
    assert [c.time_h for c in camp.checkpoints][1] == pytest.approx(600 / 3600, rel=1e-3)  # hours kept
    assert camp.evolution_axis() == "dc_potential_V"
    assert camp.table["dc_potential_V"].tolist() == pytest.approx(scan_V, abs=2e-4)
    assert "(-0.05 V, -0.025 V, 0 V, 0.025 V, 0.05 V;" in camp.evolution_lines()[0]
    assert camp.axis_note() == ("; told against the DC potential (the sweeps step it from -0.050 to +0.050 V, "
                                "25 mV a step: a potential scan)")
    assert camp.colour_values()[1] == "E dc / V"
    fig = camp.plot_evolution()
    assert fig.axes[-1].get_xlabel() == "E dc / V"


@pytest.mark.parametrize("potentials_V", [
    [0.003, 0.015, 0.004],  # an open-circuit potential drifting between cycling checkpoints
    [4.10, 3.95, 3.90, 3.60],  # a state-of-charge series: monotonic, but irregular steps
    [0.0, 0.002, 0.004, 0.006],  # regular, but steps of 2 mV: drift, not a scan
])
def test_potentials_that_are_no_staircase_leave_the_hours_the_axis(tmp_path, potentials_V):
    path = _write_potential_scan(tmp_path / "geis.csv", potentials_V, [3600.0 * k for k in range(len(potentials_V))])
    camp = eisfit.fit_campaign(path, circuit="R0-p(R1,C1)", cache_dir=False, progress=False)
    assert camp.evolution_axis() == "time_h" and camp.axis_note() == ""
    assert camp.table["dc_potential_V"].tolist() == pytest.approx(potentials_V, abs=2e-4)


def test_a_staircase_per_cell_is_one_when_cells_interleave():
    """Two channels' scans of 0.0-0.6 V in one list: each cell's own steps make the staircase
    (the campaign's order alternates between them)."""
    from eisfit.campaign.result import potential_staircase
    from eisfit.campaign.sources import Checkpoint

    spectrum = eisfit.Spectrum(frequency=F_HZ, z=_z_ohm(F_HZ, 10.0))
    scan = [Checkpoint(label=f"{cell}{k}", spectrum=spectrum, cell=cell, dc_potential_V=0.2 * k)
            for k in range(4) for cell in "ab"]
    assert potential_staircase(scan)
    assert not potential_staircase([Checkpoint(label=c.label, spectrum=spectrum, dc_potential_V=c.dc_potential_V)
                                    for c in scan])  # one cell: 0, 0, 0.2, 0.2, ... is no staircase
    assert not potential_staircase(scan[:4])  # two checkpoints per cell: a step, not a scan
