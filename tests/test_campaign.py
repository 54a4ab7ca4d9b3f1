"""Campaign reprocessing: sources, ordering, seeded fits, cache, outputs, CLI.

Uses the synthetic sample campaign in sample_data/garnet_campaign (see its README).
"""
from __future__ import annotations

import csv
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import eisfit
from conftest import REALDATA
from eisfit import CampaignError
from eisfit.campaign import CampaignWarning, load_checkpoints
from eisfit.campaign.sources import natural_order

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "garnet_campaign"
MPT = sorted((SAMPLE / "mpt").glob("*.mpt"))
CSVS = sorted((SAMPLE / "csv").glob("*.csv"))
FAST = {"circuit": "garnet-symmetric-L", "area_cm2": 0.785, "thickness_cm": 0.03}


def _truth() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "truth.csv")


def _copy(files, folder: Path, names=None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k, f in enumerate(files):
        target = folder / (names[k] if names else f.name)
        shutil.copy(f, target)
        out.append(target)
    return out


# ---- the headline: recovered interface ASR ---------------------------------------

def test_sample_campaign_recovers_interface_asr_and_writes_outputs(tmp_path):
    camp = eisfit.fit_campaign(SAMPLE / "campaign.toml", out=tmp_path / "out")
    assert camp.ordering.startswith("campaign file order")
    assert not camp.errors
    table = camp.table
    truth = _truth().set_index("time_h")
    for t in (0.0, 500.0, 1000.0):
        row = table[table["time_h"] == t].iloc[0]
        expected = truth.loc[t, "R2_asr_per_cell_ohm_cm2"]
        got, se = row["R2_asr_ohm_cm2"], row["R2_asr_ohm_cm2_stderr"]
        assert abs(got - expected) <= max(3 * se, 0.03 * expected), (t, got, se, expected)
        assert row["R2_asr_per_interface_ohm_cm2"] == pytest.approx(got / 2)
    # outputs
    out = tmp_path / "out"
    summary = pd.read_csv(out / "summary.csv")
    for col in ("label", "time_h", "cycle", "current_mA_cm2", "capacity_mAh_cm2", "temperature_K",
                "R2", "R2_stderr", "R2_asr_ohm_cm2", "R2_asr_per_interface_ohm_cm2", "CPE2_ceff_F",
                "CPE2_ceff_F_per_cm2", "CPE2_ceff_per_interface_F_per_cm2", "CPE2_ceff_per_interface_F_per_cm2_stderr",
                "CPE2_fapex_Hz", "chisq", "redchi", "kk_passed", "flags", "file", "sweep",
                "settings_hash", "error"):
        assert col in summary.columns, col
    assert list(summary["time_h"]) == [float(t) for t in range(0, 1001, 100)]
    report = (out / "report.md").read_text()
    assert "R2 (interface, per cell): 117 → 58.4 → 35 Ω·cm²" in report
    assert "per interface" in report
    for name in ("nyquist", "bode", "evolution", "residual_map"):
        assert (out / f"{name}.png").stat().st_size > 0
        assert (out / f"{name}.svg").stat().st_size > 0
    assert (out / ".eisfit-cache").is_dir()


# ---- ordering ---------------------------------------------------------------------

def test_folder_is_ordered_by_acquisition_time_not_names(tmp_path):
    files = MPT[:4]
    shuffled = ["d_first.mpt", "a_second.mpt", "c_third.mpt", "b_fourth.mpt"]  # names lie
    _copy(files, tmp_path, shuffled)
    src = load_checkpoints(tmp_path)
    assert src.ordering.startswith("acquisition time")
    assert [c.file for c in src.checkpoints] == shuffled
    hours = [c.time_h for c in src.checkpoints]
    assert np.allclose(hours, [0, 100, 200, 300], atol=0.5)


def test_natural_name_fallback_without_time_stamps(tmp_path):
    _copy(CSVS[:3], tmp_path, ["s10.csv", "s2.csv", "s1.csv"])
    src = load_checkpoints(str(tmp_path / "*.csv"))
    assert src.ordering.startswith("natural file-name order")
    assert [Path(c.file).name for c in src.checkpoints] == ["s1.csv", "s2.csv", "s10.csv"]


def test_natural_name_order_reads_a_minus_after_a_separator_as_a_sign(tmp_path):
    # a DC-potential series (HOLL95/General_electrochemistry's EIS_WT_-0.3V.csv ...) had come out
    # 0.005 -> 0.2 -> -0.3 V; a dash between words or date parts is no sign
    _copy(CSVS[:4], tmp_path, ["EIS_WT_0.2V.csv", "EIS_WT_-0.3V.csv", "EIS_WT_0.005V.csv", "EIS_WT_-0.05V.csv"])
    src = load_checkpoints(tmp_path)
    assert src.ordering.startswith("natural file-name order")
    assert [c.file for c in src.checkpoints] == ["EIS_WT_-0.3V.csv", "EIS_WT_-0.05V.csv", "EIS_WT_0.005V.csv",
                                                  "EIS_WT_0.2V.csv"]
    names = ["cell-10.csv", "cell-2.csv", "2024-05-10.csv", "2024-05-02.csv", "T(-20C).csv", "T(-5C).csv"]
    assert sorted(names, key=natural_order(names)) == ["2024-05-02.csv", "2024-05-10.csv", "cell-2.csv",
                                                       "cell-10.csv", "T(-20C).csv", "T(-5C).csv"]


# ---- campaign files -----------------------------------------------------------------

def test_campaign_csv_and_toml_with_overrides(tmp_path):
    _copy(CSVS[:2], tmp_path)
    (tmp_path / "camp.toml").write_text(
        '[defaults]\ncircuit = "garnet-symmetric-L"\narea_cm2 = 0.785\nthickness_cm = 0.03\n'
        'temperature_C = 25\n\n'
        f'[[checkpoint]]\nfile = "{CSVS[0].name}"\ntime_h = 0\n\n'
        f'[[checkpoint]]\nfile = "{CSVS[1].name}"\ntime_h = 100\narea_cm2 = 1.0\ntemperature_K = 300\n'
        'pressure_MPa = 5\n'
    )
    with pytest.warns(CampaignWarning, match="pressure_MPa"):
        camp = eisfit.fit_campaign(tmp_path / "camp.toml")
    t = camp.table
    assert list(t["area_cm2"]) == [0.785, 1.0]
    assert list(t["temperature_K"]) == pytest.approx([298.15, 300.0])
    assert t["pressure_MPa"].iloc[1] == 5
    # the same checkpoints from a CSV campaign file; area from the argument
    with (tmp_path / "camp.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "label", "time_h", "current_mA_cm2"])
        w.writerow([CSVS[0].name, "start", 0, 1.0])
        w.writerow([CSVS[1].name, "later", 100, 1.0])
    camp2 = eisfit.fit_campaign(tmp_path / "camp.csv", **FAST)
    assert list(camp2.table["label"]) == ["start", "later"]
    assert camp2.table["R2_asr_ohm_cm2"].iloc[0] == pytest.approx(t["R2_asr_ohm_cm2"].iloc[0], rel=1e-6)


@pytest.mark.parametrize(
    "rows, message",
    [
        ("[[checkpoint]]\nlabel = 'no file'\n", "required column 'file'"),
        ("[[checkpoint]]\nfile = 'nowhere.csv'\n", "not found: nowhere.csv"),
        ("[[checkpoint]]\nfile = 'a.csv'\ntime_h = 'soon'\n", "time_h must be a number"),
        ("[[checkpoint]]\nfile = 'a.csv'\ntemperature_C = 25\ntemperature_K = 298\n", "not both"),
        ("[[checkpoint]]\nfile = 'a.csv'\nsweep = 1.5\n", "sweep must be a whole number"),
        ("[[checkpoint]]\nfile = 'a.csv'\ntemperature_K = -5\n", "temperature_K = -5.0 is at or below absolute zero"),
        ("[defaults]\ntemperature_C = -300\n[[checkpoint]]\nfile = 'a.csv'\n", "temperature_C = -300.0 is at or"),
        ("[campaign]\ncel = 'cell07'\n[[checkpoint]]\nfile = 'a.csv'\n", "unknown key 'cel'.*did you mean 'cell'"),
    ],
)
def test_bad_campaign_rows_raise_campaign_error(tmp_path, rows, message):
    shutil.copy(CSVS[0], tmp_path / "a.csv")
    (tmp_path / "camp.toml").write_text(rows)
    with pytest.raises(CampaignError, match=message):
        eisfit.fit_campaign(tmp_path / "camp.toml")


def test_corrupted_file_gives_error_row_and_the_rest_completes(tmp_path):
    _copy(MPT[:3], tmp_path)
    (tmp_path / "broken_PEIS_C01.mpt").write_bytes(b"EC-Lab ASCII FILE\r\nNb header lines : 9\r\n\x00\x01garbage")
    camp = eisfit.fit_campaign(tmp_path, **FAST)
    t = camp.table
    assert len(t) == 4 and len(camp.errors) == 1
    bad = t[t["file"] == "broken_PEIS_C01.mpt"].iloc[0]
    assert bad["error"] and camp.results[list(t["file"]).index("broken_PEIS_C01.mpt")] is None
    assert t["R2"].notna().sum() == 3


def test_folder_reads_txt_exports_and_leaves_out_files_no_reader_recognises(tmp_path):
    """Many instruments export .txt tables (Autolab, CH Instruments, ZView text): a folder's
    .txt data files are checkpoints; a notes file beside them is left out with a warning
    naming it, not fitted and not silently dropped."""
    data = tmp_path / "data"
    _copy(CSVS[:2], data)
    (data / "export_3.txt").write_text(CSVS[2].read_text().replace(",", "\t"))
    (data / "notes.txt").write_text("cell 7, 25 C, stack pressure 5 MPa\nrepeat after 100 h\n")
    with pytest.warns(CampaignWarning, match=r"left out 1 file.*notes\.txt"):
        src = load_checkpoints(data)
    assert sorted(c.file for c in src.checkpoints) == sorted([CSVS[0].name, CSVS[1].name, "export_3.txt"])
    assert all(c.ok for c in src.checkpoints)
    only_notes = tmp_path / "notes_only"
    only_notes.mkdir()
    (only_notes / "notes.txt").write_text("nothing measured yet\n")
    with pytest.raises(CampaignError, match="no impedance data file found.*notes\\.txt"):
        load_checkpoints(only_notes)


def test_a_results_table_beside_the_spectra_is_left_out_not_a_failed_checkpoint(tmp_path):
    """A table of other quantities in the folder (the ASRs a user fitted by hand, a cycler's
    time/potential export): no column names a frequency or an impedance quantity, so it holds
    no impedance data; the folder leaves it out with one warning naming it and fits the rest
    (it was a failed checkpoint, exit status 1). Named alone, reading it says what it holds
    and how to name the columns if it is a spectrum after all; a table that names impedance
    columns but no frequency is still a damaged data file (an error)."""
    data = tmp_path / "cell"
    _copy(CSVS[:2], data)
    table = data / "fitted_by_hand.csv"
    table.write_text("hours,R1_ohm,R2_ohm\n0,50,150\n100,52,120\n200,55,90\n")
    with pytest.raises(eisfit.NoImpedanceDataError,
                       match=r"no column names a frequency or an impedance quantity, nor holds frequencies "
                             r"\(columns: 'hours', 'R1_ohm', 'R2_ohm'\).*--columns"):
        eisfit.read(table)
    with pytest.warns(CampaignWarning, match=r"left out 1 file.s. with no impedance data.*fitted_by_hand\.csv"):
        src = load_checkpoints(data)
    assert sorted(c.file for c in src.checkpoints) == sorted(p.name for p in CSVS[:2])
    assert all(c.ok for c in src.checkpoints)
    spectrum = tmp_path / "no_frequency.csv"
    spectrum.write_text("Zreal,Zimag\n10,-1\n11,-2\n12,-3\n")
    with pytest.raises(eisfit.MissingColumnError, match="no frequency column") as info:
        eisfit.read(spectrum)
    assert not isinstance(info.value, eisfit.NoImpedanceDataError)


def test_a_folder_whose_data_sit_in_subfolders_says_how_to_take_them(tmp_path):
    """A campaign reads the files of one folder: one that has only subfolders of data is an
    error that names them and the glob that takes the files below it (which works)."""
    _copy(CSVS[:2], tmp_path / "cell" / "week1")
    (tmp_path / "cell" / ".git").mkdir()  # hidden folders are not named
    with pytest.raises(CampaignError, match=r"no data file found directly in it .*subfolder\(s\) week1: .*\*\*/\*\.csv"):
        load_checkpoints(tmp_path / "cell")
    src = load_checkpoints(str(tmp_path / "cell" / "**" / "*.csv"))
    assert sorted(c.file for c in src.checkpoints) == sorted(p.name for p in CSVS[:2])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CampaignError, match=r"no data file found$"):
        load_checkpoints(empty)


def test_a_cycler_folder_leaves_out_the_steps_of_other_techniques(tmp_path):
    """A cycler writes every step to its own file (GCPL, OCV, PEIS...): in a folder, the
    files of techniques without impedance data are left out with one warning naming them,
    not reported as failed checkpoints; named explicitly, such a file is an error row."""
    from test_io_mpt import rows_for, write_mpt

    data = tmp_path / "cell7"
    _copy(CSVS[:2], data)
    gcpl_labels = ["mode", "time/s", "Ewe/V", "I/mA", "cycle number"]
    gcpl = write_mpt(data / "cell7_02_GCPL_C01.mpt", [[1, 10.0 * k, 3.4, 0.5, 1] for k in range(20)],
                     labels=gcpl_labels, technique="Galvanostatic Cycling with Potential Limitation")
    with pytest.raises(eisfit.NoImpedanceDataError, match="no impedance data .Galvanostatic Cycling"):
        eisfit.read(gcpl)
    with pytest.warns(CampaignWarning,
                      match=r"left out 1 file.s. with no impedance data .other techniques.*cell7_02_GCPL_C01\.mpt"):
        src = load_checkpoints(data)
    assert sorted(c.file for c in src.checkpoints) == sorted([CSVS[0].name, CSVS[1].name])
    # EC-Lab writes a log (.mpl) and the settings (.mps) beside each run's .mpr: text with a
    # table of settings ('fi 100.000 kHz'), none of the run's points
    log = data / "cell7_01_PEIS_C01.mpl"
    log.write_bytes(b"EC-Lab LOG FILE\r\n\r\nPotentio Electrochemical Impedance Spectroscopy\r\n\r\n"
                    b"Acquisition started on : 01/10/2025 16:43:55\r\nMode                Single sine\r\n"
                    b"fi                  200,000\r\nunit fi             kHz\r\nff                  100,000\r\n"
                    b"unit ff             mHz\r\nNd                  10\r\n")
    (data / "cell7_01_PEIS_C01.mps").write_bytes(b"EC-LAB SETTING FILE\r\n\r\nNumber of linked techniques : 1\r\n"
                                                 b"\r\nTechnique : 1\r\nPotentio Electrochemical Impedance "
                                                 b"Spectroscopy\r\nfi                  100.000\r\n")
    with pytest.raises(eisfit.NoImpedanceDataError, match=r"\.mpl: no impedance data: an EC-Lab log file"):
        eisfit.read(log)
    with pytest.warns(CampaignWarning,
                      match=r"left out 3 file.s. with no impedance data.*log or settings.*\.mpl.*\.mps"):
        src = load_checkpoints(data)
    assert sorted(c.file for c in src.checkpoints) == sorted([CSVS[0].name, CSVS[1].name])
    named = load_checkpoints([CSVS[0], gcpl])
    assert [c.error for c in named.checkpoints if c.file == str(gcpl)][0].startswith("no impedance data")
    only_cycling = tmp_path / "cycling"
    only_cycling.mkdir()
    write_mpt(only_cycling / "a_GCPL.mpt", rows_for(1, 4)[:0] + [[1, 0.0, 3.4, 0.5, 1]] * 3, labels=gcpl_labels,
              technique="Galvanostatic Cycling with Potential Limitation")
    with pytest.raises(CampaignError, match="no impedance data file found directly in it .a_GCPL.mpt hold no impedance data"):
        load_checkpoints(only_cycling)


def test_files_of_two_potentiostat_channels_are_named_in_a_warning(tmp_path):
    """Two cells measured on channels 1 and 2 of one instrument, in one folder: followed as
    one campaign only with a warning naming the channels; one channel gives no warning."""
    cell = tmp_path / "cells"
    copies = _copy(MPT[:3], cell)
    other = copies[2].with_name(copies[2].name.replace("_C01", "_C02"))
    copies[2].rename(other)
    other.write_bytes(other.read_bytes().replace(b"Run on channel : 1 (SN 0000)", b"Run on channel : 2 (SN 0000)"))
    assert eisfit.read(other)[0].meta["channel"] == 2
    with pytest.warns(CampaignWarning, match=r"2 potentiostat channels \(channel 1 \(SN 0000\): 2 file.*channel 2"):
        load_checkpoints(cell)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CampaignWarning)
        load_checkpoints(str(cell / "*_C01.mpt"))


def test_one_files_sweeps_on_several_channels_are_named_in_a_warning_that_a_glob_cannot_answer(tmp_path):
    """A PalmSens session holds the scans of channels 3, 5 and 8: the warning named the same
    file for each channel, "(SN ?)", and advised a glob; it now counts each channel's sweeps and
    points at a campaign file's sweep column."""
    from eisfit.campaign.sources import Checkpoint, _warn_mixed_channels

    spectra = [eisfit.Spectrum(frequency=[1e3, 1e2, 10.0], z=[10 - 1j, 11 - 2j, 12 - 1j],
                               meta={"channel": ch, "sweep": k}) for k, ch in enumerate((3, 3, 5, 8))]
    checkpoints = [Checkpoint(label=f"s#{k}", spectrum=s, file="s.pssession", sweep=k) for k, s in enumerate(spectra)]
    with pytest.warns(CampaignWarning) as caught:
        _warn_mixed_channels(checkpoints, None)
    [message] = [str(w.message) for w in caught]
    assert message.startswith("s.pssession: its sweeps come from 3 potentiostat channels (channel 3: 2 sweep(s), "
                              "channel 5: 1 sweep(s), channel 8: 1 sweep(s))")
    assert "campaign file" in message and "sweep" in message and "SN" not in message and "glob" not in message


def test_an_export_beside_its_file_counts_once_and_a_copy_is_named(tmp_path):
    """The same points under the same name with another extension (an export beside the
    measured file) would count the measurement twice: left out with a warning. A copy under
    another name is kept (it may be meant) but named in a warning."""
    data = tmp_path / "cell"
    _copy(MPT[:3], data)
    shutil.copy(MPT[1], data / MPT[1].with_suffix(".txt").name)  # an export of 0100h beside it
    shutil.copy(MPT[2], data / "zz_backup_of_0200h.mpt")
    with pytest.warns(CampaignWarning) as caught:
        src = load_checkpoints(data)
    messages = " | ".join(str(w.message) for w in caught)
    assert f"left out 1 export(s) holding the same points as the file of the same name beside them: " \
           f"{MPT[1].with_suffix('.txt').name} (= {MPT[1].name})" in messages
    assert f"zz_backup_of_0200h.mpt (= {MPT[2].name})" in messages and "fitted as checkpoints of their own" in messages
    assert sorted(c.file for c in src.checkpoints) == sorted([p.name for p in MPT[:3]] + ["zz_backup_of_0200h.mpt"])


def test_the_mpr_of_an_ec_lab_twin_pair_is_kept(tmp_path):
    twin = REALDATA / "mpr" / "dgbowl__yadg" / "peis.issue_225.no_ece.mpr"
    if not twin.exists():
        pytest.skip(f"real data not available: {twin}")
    data = tmp_path / "twins"
    data.mkdir()
    shutil.copy(twin.with_suffix(".mpt"), data / "run_C01.mpt")
    shutil.copy(twin, data / "run_C01.mpr")
    with pytest.warns(CampaignWarning, match=r"run_C01.mpt \(= run_C01.mpr\)"):
        src = load_checkpoints(data)
    assert [c.file for c in src.checkpoints] == ["run_C01.mpr"]


def test_of_an_instrument_export_and_a_csv_of_the_same_points_the_export_is_kept(tmp_path):
    """A folder of .mpt files with a CSV of each beside it: the CSVs (a generic table, no
    start time, no area) had been kept for sorting before the .mpt by name, and the campaign
    lost its acquisition times ("ordered by natural file-name order")."""
    data = tmp_path / "stripped"
    shutil.copytree(REPO / "sample_data" / "stripped", data)
    with pytest.warns(CampaignWarning, match=r"_C02\.csv \(= LiMg_LLZTO_1_before_stripping_PEIS_C02\.mpt\)"):
        src = load_checkpoints(data)
    assert sorted(c.file for c in src.checkpoints) == sorted(p.name for p in data.glob("*.mpt"))
    assert all(c.start_time for c in src.checkpoints) and src.ordering.startswith("acquisition time")


def test_a_file_named_explicitly_that_no_reader_recognises_is_an_error_row(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("cell 7, 25 C\n")
    src = load_checkpoints([CSVS[0], notes])
    bad = [c for c in src.checkpoints if c.file == str(notes)]
    assert len(bad) == 1 and not bad[0].ok and "not an impedance data file" in bad[0].error


# ---- cache and parallel runs ------------------------------------------------------------

def test_cache_second_run_fits_nothing_and_new_file_fits_only_it(tmp_path):
    data, cache = tmp_path / "data", tmp_path / "cache"
    _copy(MPT[:3], data)
    first = eisfit.fit_campaign(data, cache_dir=cache, **FAST)
    assert first.stats["fits_run"] == 3  # checkpoints (each a cold and, after the first, a seeded fit)
    second = eisfit.fit_campaign(data, cache_dir=cache, **FAST)
    assert second.stats["fits_run"] == 0 and second.stats["cache_hits"] == 3
    pd.testing.assert_frame_equal(first.table, second.table)
    # the cache holds no per-point arrays (the file is read again); the results rebuilt from
    # it have the same points and fitted curve
    for a, b in zip(first.results, second.results):
        np.testing.assert_array_equal(a.frequency, b.frequency)
        np.testing.assert_array_equal(a.z, b.z)
        np.testing.assert_allclose(a.z_fit, b.z_fit, rtol=1e-12)
    lines = [line for pack in cache.glob("pack-*.jsonl") for line in pack.read_text().splitlines()]
    assert len(lines) == 3 and all('"z_real_ohm": []' in line and '"campaign_points"' in line for line in lines)
    _copy(MPT[3:4], data)  # a later checkpoint: only it is fitted (led in by the one before)
    third = eisfit.fit_campaign(data, cache_dir=cache, **FAST)
    assert third.stats["fits_run"] == 1 and third.stats["cache_hits"] == 3
    assert len(third.table) == 4


def test_a_released_cache_frees_what_it_held_and_still_reads_its_folder(tmp_path):
    """fit_campaign releases its cache once the fits are assembled: the in-memory cache (no
    cache folder) forgets the fits it kept for an interrupt; a cache folder forgets only its
    index, and a later lookup reads the packs again."""
    from eisfit.campaign.cache import FitCache, MemoryCache

    f = np.logspace(5, 0, 20)
    z = eisfit.model.Circuit("R0-p(R1,C1)").impedance(np.array([5.0, 100.0, 1e-6]), f)
    entry = eisfit.fit(eisfit.Spectrum(frequency=f, z=z), circuit="R0-p(R1,C1)").to_dict()
    memory = MemoryCache()
    memory.put_many([("k", entry, {})])
    assert memory.get("k") is entry
    memory.release()
    assert memory.get("k") is None
    folder = FitCache(tmp_path / "cache")
    key = folder.kept_key("0" * 64, 0, "settings")
    folder.put_many([(key, entry, {"source": "a.csv", "sweep": 0, "settings": {}})])
    folder.release()
    found = folder.get(key)
    assert found is not None and found["values"] == entry["values"]


def test_a_pack_line_holds_the_result_dict_and_the_campaign_fields(tmp_path):
    """A kept fit is written with its shared containers encoded once per run
    (cache.KeptEntry) and its numbers packed: the line's result, its blocks unpacked, is
    ``FitResult.to_dict()`` with the campaign's fields beside it, the values, stderr, derived
    quantities and correlations to the bit (an unresolved parameter's true value too, which
    to_dict hides), its about the canonical about, also for a second settings dict met later;
    read back through the checksum it is the fit itself."""
    import json

    from eisfit.campaign.cache import PACKED_FIELDS, FitCache, KeptEntry, _canonical, unpacked

    f = np.logspace(5, 0, 20)
    z = eisfit.model.Circuit("R0-p(R1,C1)").impedance(np.array([5.0, 100.0, 1e-6]), f)
    fit = eisfit.fit(eisfit.Spectrum(frequency=f, z=z), circuit="R0-p(R1,C1)")
    unresolved = fit.with_fields(flags=[*fit.flags, "unresolved:R1"], settings={**fit.settings, "area_cm2": 0.785})
    cache = FitCache(tmp_path / "cache")
    extra = {"campaign_points": None, "campaign_flags": ["seed-disagreement"], "campaign_notes": ["n"]}
    abouts = [{"source": "a.csv", "sweep": None, "settings": {"circuit": "R0-p(R1,C1)", "fmin": 1 / 3}},
              {"source": "b.csv", "sweep": 2, "settings": {"circuit": "R0-p(R1,C1)", "fmin": None}}]
    keys = [cache.kept_key(str(k) * 64, 0, "s") for k in range(3)]
    cache.put_many([(keys[0], KeptEntry(fit, extra), abouts[0]), (keys[1], KeptEntry(unresolved, extra), abouts[1]),
                    (keys[2], KeptEntry(fit, {}), abouts[0])])
    lines = {line[:40]: json.loads(line[41:]) for pack in (tmp_path / "cache").glob("pack-*.jsonl")
             for line in pack.read_text().splitlines()}
    for key, result, about, more in [(keys[0], fit, abouts[0], extra), (keys[1], unresolved, abouts[1], extra),
                                     (keys[2], fit, abouts[0], {})]:
        stored = unpacked(lines[key]["result"])
        plain = json.loads(json.dumps({**result.to_dict(), **more}))
        assert {k: v for k, v in stored.items() if k not in PACKED_FIELDS} == \
            {k: v for k, v in plain.items() if k not in (*PACKED_FIELDS, "unresolved_values")}
        for name in ("values", "stderr", "derived"):
            assert stored[name] == getattr(result, name)
        assert stored["correl"].names == result.correl.names
        assert np.array_equal(stored["correl"].matrix, result.correl.matrix, equal_nan=True)
        assert all(set(lines[key]["result"][name]) == {"@float64", "names"} for name in PACKED_FIELDS)
        assert lines[key]["about"] == json.loads(json.dumps(_canonical(about)))
    assert unpacked(lines[keys[1]]["result"])["values"]["R1"] == unresolved.values["R1"]
    assert lines[keys[1]]["result"]["settings"]["area_cm2"] == 0.785
    found = cache.get_with_result(keys[1])  # read back through the checksum: a whole, usable entry
    assert found is not None and found[1].to_dict() == unresolved.to_dict()
    assert found[1].values == unresolved.values  # R1 as the optimiser left it


def test_packed_numbers_keep_every_bit_and_damaged_blocks_are_refused(tmp_path):
    """A packed block gives back each float64 exactly (nan, inf, -0.0, the smallest and the
    largest); names it cannot join (a space) leave the field as JSON; a block whose numbers
    and names disagree or whose text is not base64 makes the entry unusable (a warning, the
    fit runs again), even with a checksum that matches."""
    import json

    from eisfit.campaign.cache import FitCache, _entry_line, _sha256_of, packed_block, unpacked

    numbers = [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308, 0.1, -1e-300]
    names = [f"p{k}" for k in range(len(numbers))]
    block = packed_block(names, numbers)
    back = unpacked({"values": block})["values"]
    assert list(back) == names
    assert np.array_equal(np.array(list(back.values())).view(np.uint64), np.array(numbers).view(np.uint64))
    assert packed_block(["R 1"], [1.0]) is None and packed_block(["R1"], ["x"]) is None
    assert unpacked({"values": {"R1": 1.0}}) == {"values": {"R1": 1.0}}  # format 2: as it is
    with pytest.raises(ValueError):
        unpacked({"values": {**block, "names": "p0 p1"}})
    with pytest.raises(ValueError):
        unpacked({"values": {**block, "@float64": "not base64!"}})

    f = np.logspace(5, 0, 20)
    z = eisfit.model.Circuit("R0-p(R1,C1)").impedance(np.array([5.0, 100.0, 1e-6]), f)
    fit = eisfit.fit(eisfit.Spectrum(frequency=f, z=z), circuit="R0-p(R1,C1)").to_dict()
    fit["values"] = {**packed_block(["R0", "R1"], [5.0, 100.0])}  # C1 missing: 2 numbers, 3 parameters
    cache = FitCache(tmp_path / "cache")
    key = cache.kept_key("0" * 64, 0, "s")
    cache.put_many([(key, fit, {"source": "a.csv"})])
    line = _entry_line(fit, {"source": "a.csv"}, cache._texts)
    assert json.loads(line)["sha256"] == _sha256_of(json.dumps(fit))  # the checksum matches: the block decides
    cache.reread()
    with pytest.warns(CampaignWarning, match="unusable"):
        assert cache.get(key) is None


def test_shared_texts_never_give_one_containers_text_for_another():
    """The run's memo of shared containers' JSON is keyed by identity and holds each
    container: an equal-looking new dict, or a new one at a reused address, gets its own text."""
    from eisfit.campaign.cache import SharedTexts

    texts = SharedTexts()
    first = {"fmin": 1.0}
    assert texts.text(first) == '{"fmin": 1.0}' and texts.text(first) == '{"fmin": 1.0}'
    for k in range(2 * SharedTexts.LIMIT):  # short-lived dicts: their addresses are reused
        assert texts.text({"fmin": float(k)}) == f'{{"fmin": {float(k)}}}'
    assert texts.text({"fmin": 0.1 + 0.2}, canonical=True) == '{"fmin": 0.3}'  # 12 significant digits


def test_a_fit_read_from_the_cache_names_the_file_as_it_is_now(tmp_path):
    """The cache is keyed by a file's content: a renamed file's checkpoint is read from it,
    and its result names the renamed file (label and source), as the table does, not the
    name the fit was stored under."""
    data, cache = tmp_path / "data", tmp_path / "cache"
    copies = _copy(MPT[:2], data)
    eisfit.fit_campaign(data, cache_dir=cache, **FAST)
    renamed = copies[1].with_name("renamed_" + copies[1].name)
    copies[1].rename(renamed)
    again = eisfit.fit_campaign(data, cache_dir=cache, **FAST)
    assert again.stats["fits_run"] == 0 and again.stats["cache_hits"] == 2
    sources = [Path(r.source).name for r in again.results]
    assert renamed.name in sources and copies[1].name not in sources
    assert any(r.label.startswith("renamed_") for r in again.results)


def test_cache_entries_of_other_engine_code_are_fitted_again(tmp_path, monkeypatch):
    """A cache written by another version of the fitting code (an upgrade: other optimiser,
    other flags) is not read as this version's result; the same code reads it back."""
    from eisfit.campaign import cache as cache_module

    data, cache = tmp_path / "data", tmp_path / "cache"
    _copy(MPT[:2], data)
    first = eisfit.fit_campaign(data, cache_dir=cache, **FAST)
    assert first.stats["fits_run"] == 2
    monkeypatch.setattr(cache_module, "engine_fingerprint", lambda: "other-engine-code")
    upgraded = eisfit.fit_campaign(data, cache_dir=cache, **FAST)
    assert upgraded.stats["fits_run"] == 2 and upgraded.stats["cache_hits"] == 0
    monkeypatch.undo()
    again = eisfit.fit_campaign(data, cache_dir=cache, **FAST)
    assert again.stats["fits_run"] == 0 and again.stats["cache_hits"] == 2


def test_stale_packs_of_other_engine_code_are_removed_by_the_next_run_that_writes(tmp_path):
    """Every upgrade left a folder's worth of packs no key of the new code can match, for ever.
    A run that writes removes those untouched for 30 days; recent ones (two installations
    sharing a folder) and this code's own stay."""
    import os
    import time

    from eisfit.campaign.cache import engine_fingerprint

    data, cache = tmp_path / "data", tmp_path / "cache"
    _copy(MPT[:2], data)
    cache.mkdir()
    old = cache / "pack-0123456789abcdef-old.jsonl"
    recent = cache / "pack-fedcba9876543210-recent.jsonl"
    own_old = cache / f"pack-{engine_fingerprint()}-kept.jsonl"
    for pack in (old, recent, own_old):
        pack.write_text("")
    month_ago = time.time() - 31 * 86400
    os.utime(old, (month_ago, month_ago))
    os.utime(own_old, (month_ago, month_ago))
    camp = eisfit.fit_campaign(data, cache_dir=cache, **FAST)
    assert camp.stats["cache_packs_removed"] == 1
    assert not old.exists() and recent.exists() and own_old.exists()
    again = eisfit.fit_campaign(data, cache_dir=cache, **FAST)  # nothing written: nothing pruned
    assert again.stats["cache_packs_removed"] == 0


@pytest.mark.parametrize("odd", ["dangling link", "named pipe", "folder"])
def test_an_entry_named_like_a_pack_that_is_no_file_is_left_out_with_a_warning(tmp_path, odd):
    """A dangling link named like a pack had emptied the whole cache index (every fit run again,
    on every rerun, without a word); a named pipe made the lookup wait for ever, and the first
    SIGTERM's interrupt path waited on it again."""
    import os
    import warnings

    from eisfit.campaign.cache import engine_fingerprint

    data, cache = tmp_path / "data", tmp_path / "cache"
    _copy(MPT[:2], data)
    eisfit.fit_campaign(data, cache_dir=cache, **FAST)
    entry = cache / f"pack-{engine_fingerprint()}-odd.jsonl"
    if odd == "dangling link":
        entry.symlink_to(tmp_path / "nowhere")
    elif odd == "named pipe":
        os.mkfifo(entry)
    else:
        entry.mkdir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = eisfit.fit_campaign(data, cache_dir=cache, **FAST)
    assert again.stats["cache_hits"] == 2 and again.stats["fits_run"] == 0
    said = [str(w.message) for w in caught if "odd.jsonl" in str(w.message)]
    assert len(said) == 1 and "cannot be read" in said[0] and "left out" in said[0]


def test_engine_fingerprint_follows_the_fitting_source(tmp_path, monkeypatch):
    """The fingerprint hashes the source of the modules that compute a fit: a changed
    byte in one of them changes it."""
    from pathlib import Path

    from eisfit.campaign import cache as cache_module

    original = cache_module.engine_fingerprint()
    solver = Path(cache_module.__file__).resolve().parent.parent / "fitting" / "solver.py"
    real_read = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes",
                        lambda self: real_read(self) + (b"#" if self == solver else b""))
    cache_module.engine_fingerprint.cache_clear()
    try:
        assert cache_module.engine_fingerprint() != original
    finally:
        monkeypatch.undo()
        cache_module.engine_fingerprint.cache_clear()
    assert cache_module.engine_fingerprint() == original


def test_jobs_2_gives_the_same_table_as_jobs_1(tmp_path):
    _copy(MPT[:3], tmp_path)
    serial = eisfit.fit_campaign(tmp_path, **FAST)
    parallel = eisfit.fit_campaign(tmp_path, jobs=2, **FAST)
    pd.testing.assert_frame_equal(serial.table, parallel.table)


def test_parallel_read_of_a_large_folder_keeps_order_errors_and_reader_warnings(tmp_path):
    """With jobs=2 the worker processes read the files (>= PARALLEL_READ_MIN_FILES): same
    checkpoints, order, error rows and table as reading here; a reader's warning still reaches
    the caller."""
    from eisfit.campaign import sources

    f = np.logspace(5, 0, 25)
    circ = eisfit.model.Circuit("R0-p(R1,C1)")
    folder = tmp_path / "many"
    folder.mkdir()
    n = sources.PARALLEL_READ_MIN_FILES + 6
    for k in range(n):
        z = circ.impedance(np.array([5.0, 100.0 + k, 1e-6]), f)
        header = "freq_Hz,Zre_ohm,Zim_ohm" + (",note" if k == 7 else "")  # 4 names, 3 columns: a warning
        rows = "\n".join(f"{a:.6e},{b.real:.6e},{b.imag:.6e}" for a, b in zip(f, z))
        (folder / f"cell_{k:03d}.csv").write_text(header + "\n" + rows + "\n")
    (folder / "cell_010.csv").write_text("freq_Hz,Zre_ohm,Zim_ohm\nnot,a,table\n")  # corrupt
    with eisfit.campaign._process_pool(2) as pool, \
            pytest.warns(UserWarning, match="header has 4 names for 3 data columns"):
        src = load_checkpoints(folder, executor=pool)
    serial = load_checkpoints(folder)
    assert [c.label for c in src.checkpoints] == [c.label for c in serial.checkpoints]
    assert [c.error for c in src.checkpoints] == [c.error for c in serial.checkpoints]
    assert sum(c.error is not None for c in src.checkpoints) == 1
    for a, b in zip(src.checkpoints, serial.checkpoints):
        if a.spectrum is not None:
            np.testing.assert_array_equal(a.spectrum.z, b.spectrum.z)
            assert a.spectrum.meta == b.spectrum.meta
    # each worker's spectra came unpickled with their own copies of the meta's keys and short
    # values, and each file's column names are parsed from its header: the campaign process
    # holds one of each (interned), read in workers or here; a dict stays the spectrum's own
    for read in (src, serial):
        first, last = (c.spectrum.meta for c in (read.checkpoints[0], read.checkpoints[-1]))
        assert [k for k in first if k == "columns_detected"][0] is [k for k in last if k == "columns_detected"][0]
        assert first["format"] is last["format"]
        assert first["columns_detected"]["real"] is last["columns_detected"]["real"]
        assert first["columns_detected"] is not last["columns_detected"]
        spectra = [c.spectrum for c in read.checkpoints if c.spectrum is not None]
        assert all(s.frequency is spectra[0].frequency for s in spectra)  # one array of the equal frequencies
    one = eisfit.fit_campaign(folder, circuit="R0-p(R1,C1)", jobs=1, cache_dir=False, progress=False)
    two = eisfit.fit_campaign(folder, circuit="R0-p(R1,C1)", jobs=2, cache_dir=False, progress=False)
    pd.testing.assert_frame_equal(one.table, two.table)
    assert two.table["R1"].to_numpy()[:3] == pytest.approx([100.0, 101.0, 102.0], rel=1e-6)


def test_dask_local_cluster_gives_the_same_table(tmp_path):
    distributed = pytest.importorskip("distributed")
    _copy(MPT[:3], tmp_path)
    serial = eisfit.fit_campaign(tmp_path, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                      protocol="tcp", host="127.0.0.1", dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            camp = eisfit.fit_campaign(tmp_path, executor=client.get_executor(), **FAST)
    pd.testing.assert_frame_equal(serial.table, camp.table)


def test_dask_local_cluster_with_worker_processes_gives_the_same_table(tmp_path):
    """Chunks pickled to real worker processes of a distributed.LocalCluster."""
    distributed = pytest.importorskip("distributed")
    _copy(MPT[:4], tmp_path)
    serial = eisfit.fit_campaign(tmp_path, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, protocol="tcp",
                                      host="127.0.0.1", dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            camp = eisfit.fit_campaign(tmp_path, executor=client.get_executor(), **FAST)
            assert len(client.scheduler_info()["workers"]) == 2
    pd.testing.assert_frame_equal(serial.table, camp.table)


def test_long_chain_cut_into_chunks_gives_the_table_of_each_chunk_size(tmp_path, monkeypatch):
    """Chunks led in by the checkpoint before them: the table does not depend on how the
    chain is cut beyond the lead-in's seed (here identical optima)."""
    from eisfit.campaign import runner

    spectra = [eisfit.read(p)[0] for p in MPT[:5]]
    whole = eisfit.fit_campaign(spectra, cache_dir=False, **FAST)
    monkeypatch.setattr(runner, "CHUNK_SIZE", 2)
    monkeypatch.setattr(runner, "MIN_CHUNK", 2)
    cut = eisfit.fit_campaign(spectra, cache_dir=False, **FAST)
    assert cut.stats["chunks"] == 3 and whole.stats["chunks"] == 1
    np.testing.assert_allclose(cut.table["chisq"], whole.table["chisq"], rtol=1e-6)
    np.testing.assert_allclose(cut.table["R2"], whole.table["R2"], rtol=1e-4)


# ---- other sources and hooks ---------------------------------------------------------------

def test_list_of_spectra_and_seeded_chain(tmp_path):
    spectra = [eisfit.read(p)[0] for p in MPT[:3]]
    camp = eisfit.fit_campaign(spectra, **FAST)
    assert camp.ordering.startswith("as given")
    seeds = list(camp.table["seed_source"])
    assert seeds[0] == "cold" and set(seeds[1:]) <= {"cold", "seeded"}
    assert "R2_asr_ohm_cm2" in camp.table and "R2_stderr" in camp.table
    assert "flags" in camp.table


def test_spectra_made_from_arrays_are_told_apart_by_their_list_index():
    """Spectra made from arrays are all labelled "spectrum": their rows could not be told
    apart. A label that several share takes the list index; a unique one stays."""
    f = np.logspace(4, 0, 20)
    spectra = [eisfit.Spectrum(f, 10 + 10 * k + 100 / (1 + 1j * 2 * np.pi * f * 1e-3)) for k in range(3)]
    spectra.append(eisfit.Spectrum(f, spectra[0].z, meta={"label": "reference"}))
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,C1)", cache_dir=False, progress=False)
    assert list(camp.table["label"]) == ["spectrum[0]", "spectrum[1]", "spectrum[2]", "reference"]
    assert camp.table["R0"].to_numpy()[:3] == pytest.approx([10, 20, 30], rel=1e-6)


def test_shared_parameters_delegate_to_the_series_joint_fit():
    pytest.importorskip("eisfit.series")
    camp = eisfit.fit_campaign([eisfit.read(p)[0] for p in MPT[:3]], shared=["R1", "CPE1_0", "CPE1_1"],
                               **FAST)
    assert camp.joint is not None
    assert list(camp.table["seed_source"]) == ["joint"] * 3
    assert camp.table["R1"].nunique() == 1
    assert "Joint fit across checkpoints" in camp.report()
    # a shared value is no measured stability: the headline says what it is
    lines = camp.evolution_lines()
    assert any(line.startswith("R1 (electrolyte, shared, per cell)") for line in lines)
    assert not any("shared" in line for line in lines if line.startswith(("R0", "R2")))


def test_shared_without_the_series_module_is_a_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "eisfit.series", None)  # as if not installed
    with pytest.raises(CampaignError, match="not available"):
        eisfit.fit_campaign([eisfit.read(MPT[0])[0]], shared=["R0"])


def test_cli_campaign_writes_summary_and_prints_evolution(tmp_path):
    from click.testing import CliRunner

    from eisfit.cli import main

    data = tmp_path / "data"
    _copy(MPT[:3], data)
    result = CliRunner().invoke(main, ["campaign", str(data), "--circuit", "garnet-symmetric-L",
                                       "--area-cm2", "0.785", "--out", str(tmp_path / "out"),
                                       "--nyquist-asr"])
    assert result.exit_code == 0, result.output
    assert "R2 (interface, per cell):" in result.output
    assert "acquisition time" in result.output
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert len(summary) == 3 and "R2_asr_ohm_cm2" in summary


@pytest.mark.realdata
def test_real_multi_sweep_mpr_runs_as_a_campaign(realdata):
    path = realdata / "mpr" / "dgbowl__yadg" / "geis.mpr"
    if not path.exists():
        pytest.skip(f"{path} absent")
    n = len(eisfit.read(path))  # a reader failure fails the test (never a skip)
    camp = eisfit.fit_campaign(path, circuit="R0-p(R1,CPE1)", starts=1, kk=False, progress=False)
    assert n == 61 and len(camp.table) == 61
    assert camp.ordering.startswith("acquisition time")
    assert camp.table["time_h"].is_monotonic_increasing
    assert sum(r is not None for r in camp.results) + len(camp.errors) == 61


def test_shared_fit_exposes_sharing_and_stays_within_each_cell(tmp_path):
    """Two cells in one campaign: parameters are shared within a cell, never across cells, and
    each cell's table rows follow its own verdict (cell A's 4 spectra, whose arc 1 lies above
    the measured range, read dAIC = -3 for the sharing: its rows keep their own fits)."""
    import numpy as np

    from eisfit.model import Circuit

    circ = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
    f = np.logspace(7, 2, 41)
    rng = np.random.default_rng(4)
    spectra = []
    for cell, r1 in (("A", 60.0), ("B", 180.0)):
        for k, r2 in enumerate((150.0, 110.0, 80.0, 60.0)):
            z = circ.impedance([40, r1, 1e-9, 0.9, r2, 2e-6, 0.85], f)
            z = z * (1 + 0.003 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)))
            spectra.append(eisfit.Spectrum(frequency=f, z=z, meta={"label": f"{cell}{k}", "cell": cell}))
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,CPE1)-p(R2,CPE2)", shared=["R1", "CPE1_0", "CPE1_1"])
    assert isinstance(camp.joint, dict)
    assert set(camp.sharing) == {"A", "B"}
    table = camp.table
    for cell, joint in camp.joint.items():
        rows = table[table.cell == cell]
        assert set(rows["joint_fit"]) == {"joint" if joint.accepted else "independent: joint fit rejected"}
        assert (rows["R1"].nunique() == 1) == joint.accepted
    assert camp.joint["B"].accepted  # one cell at least holds its shared fit
    assert table.loc[table.cell == "A", "R1"].to_numpy() == pytest.approx([60] * 4, rel=0.05)
    assert table.loc[table.cell == "B", "R1"].to_numpy() == pytest.approx([180] * 4, rel=0.02)


def _series(r_values: list[dict[str, float]], f: np.ndarray, seed: int) -> list[eisfit.Spectrum]:
    from eisfit.model import Circuit

    circuit = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
    rng = np.random.default_rng(seed)
    out = []
    for k, values in enumerate(r_values):
        z = circuit.impedance(np.array([values[n] for n in circuit.param_names]), f)
        z = z * (1 + 0.005 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2))
        out.append(eisfit.Spectrum(f, z, meta={"label": f"{k} h", "time_h": float(k)}))
    return out


def test_arc_jump_flags_a_determined_resistance_that_changes_more_than_3x():
    base = {"R0": 12.0, "R1": 45.0, "CPE1_0": 2e-9, "CPE1_1": 0.92, "R2": 80.0, "CPE2_0": 3e-6, "CPE2_1": 0.8}
    r2 = [80.0, 85.0, 340.0, 330.0]  # a 4x jump into checkpoint 2
    spectra = _series([{**base, "R2": r} for r in r2], np.logspace(7, -1, 45), seed=5)
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,CPE1)-p(R2,CPE2)", cache_dir=False, progress=False)
    jumped = ["arc-jump" in r.flags for r in camp.results]
    assert jumped == [False, False, True, False]


def test_arc_jump_ignores_a_resistance_its_stderr_does_not_determine():
    """The electrolyte arc lies above the measured range (f <= 1 MHz): R0 and R1 trade
    resistance and R0 swings between ~2 and ~25 ohm with stderr up to ~40 ohm. Such swings
    are no jumps of the cell (the headline lines read `undetermined`): no arc-jump flag."""
    from eisfit.analysis.quality import undetermined

    base = {"R0": 12.0, "R1": 45.0, "CPE1_0": 2e-9, "CPE1_1": 0.92, "R2": 80.0, "CPE2_0": 3e-6, "CPE2_1": 0.8}
    spectra = _series([{**base, "R2": 80.0 + 5 * k} for k in range(6)], np.logspace(6, -1, 40), seed=3)
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,CPE1)-p(R2,CPE2)", cache_dir=False, progress=False)
    r0 = [r.values["R0"] for r in camp.results]
    assert max(r0) > 3 * min(r0)  # the swings the old rule flagged (R0 may sit on its bound, 0)
    assert any(undetermined(r.values["R0"], r.stderr["R0"]) for r in camp.results)
    assert not any("arc-jump" in r.flags for r in camp.results)


def test_arrhenius_preconditions_are_checked_before_the_first_fit(tmp_path, monkeypatch):
    """--arrhenius on a campaign at one temperature ran every fit and wrote every output
    before it failed; it now stops before the first fit, and the CLI writes nothing."""
    from click.testing import CliRunner

    from eisfit.campaign import runner
    from eisfit.cli import main

    monkeypatch.setattr(runner, "fit_chunks", lambda *a, **k: pytest.fail("fitted before the check"))
    with pytest.raises(CampaignError, match=r"campaign.toml: an Arrhenius fit .* needs at least 2 different "
                                             r"temperatures; every checkpoint is at 298.15 K"):
        eisfit.fit_campaign(SAMPLE / "campaign.toml", arrhenius=True, cache_dir=False, progress=False)
    data = tmp_path / "data"
    _copy(CSVS[:2], data)
    (data / "camp.toml").write_text(f"[[checkpoint]]\nfile = '{CSVS[0].name}'\ntemperature_C = 25\n"
                                    f"[[checkpoint]]\nfile = '{CSVS[1].name}'\ntemperature_C = 60\n")
    with pytest.raises(CampaignError, match=r"needs area_cm2 \(--area-cm2\) for every checkpoint; 2 have none"):
        eisfit.fit_campaign(data / "camp.toml", arrhenius=True, cache_dir=False, progress=False)
    # the area given, the thickness missing: the message names the thickness only
    with pytest.raises(CampaignError, match=r"needs thickness_cm \(--thickness-cm\) for every checkpoint"):
        eisfit.fit_campaign(data / "camp.toml", arrhenius=True, area_cm2=0.785, cache_dir=False, progress=False)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["campaign", str(SAMPLE / "campaign.toml"), "--arrhenius", "--out", str(out)])
    assert r.exit_code == 2 and "different temperatures" in r.output and not out.exists()


def test_an_empty_list_is_an_error_and_one_shared_name_is_one_name():
    with pytest.raises(CampaignError, match="the campaign list is empty"):
        eisfit.fit_campaign([])
    spectra = [s for p in CSVS[:3] for s in eisfit.read(p)]
    as_string = eisfit.fit_campaign(spectra, shared="R1", cache_dir=False, progress=False, **FAST)
    assert set(as_string.table["shared"]) == {"R1"}  # was split into "R" and "1"


def test_a_damaged_data_file_in_a_folder_is_an_error_row_not_left_out(tmp_path):
    """Random bytes in the middle of a CSV whose header names its frequency column made it
    'not an impedance data file', left out with a warning and exit 0; it is a data file
    that cannot be read: a checkpoint with its error."""

    data = tmp_path / "data"
    _copy(CSVS[:3], data)
    damaged = data / CSVS[2].name
    raw = bytearray(damaged.read_bytes())
    raw[len(raw) // 2:len(raw) // 2 + 200] = bytes(range(200))  # NUL bytes: it reads as binary, no format fits
    damaged.write_bytes(bytes(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CampaignWarning)  # nothing is left out
        src = load_checkpoints(data)
    bad = [c for c in src.checkpoints if c.file == CSVS[2].name]
    assert len(src.checkpoints) == 3 and len(bad) == 1 and not bad[0].ok and bad[0].error


def test_notes_that_mention_a_frequency_range_are_left_out_not_damaged_data(tmp_path):
    """A README beside the data ('EIS from 1 MHz to 100 mHz, 10 mV') named a frequency, so it
    was taken for a damaged data file: an error row, and exit 1. Only a header that names a
    frequency and an impedance column makes an unreadable file a damaged data file."""
    data = tmp_path / "data"
    _copy(CSVS[:2], data)
    (data / "README.txt").write_text("LLZTO symmetric cell, 25 C\nEIS from 1 MHz to 100 mHz, 10 mV amplitude\n"
                                     "Impedance measured with a Zahner analyser at every checkpoint\n")
    with pytest.warns(CampaignWarning, match="left out 1 file.*not impedance data files.*README.txt"):
        src = load_checkpoints(data)
    assert sorted(c.file for c in src.checkpoints) == sorted([CSVS[0].name, CSVS[1].name])
    # an XML model or settings file beside the data (Zahner writes .isfx next to each .ism)
    (data / "cell.isfx").write_text('<?xml version="1.0"?>\n<ModelFile>\n  <Fit FrequencyRange="1 Hz - 1 MHz" '
                                    'Unit="Ohm"/>\n</ModelFile>\n')
    with pytest.warns(CampaignWarning, match="left out 2 file.*cell.isfx, README.txt"):
        src = load_checkpoints(data)
    (data / "cut.csv").write_bytes(b"frequency_Hz,z_real_ohm,z_imag_ohm\n1e6,\x00\x01\x02")  # damaged data
    with pytest.warns(CampaignWarning, match="README.txt"):
        src = load_checkpoints(data)
    bad = [c for c in src.checkpoints if c.file == "cut.csv"]
    assert len(bad) == 1 and not bad[0].ok and bad[0].error


def test_the_streamed_rows_are_the_tables_except_where_the_run_end_changed_a_checkpoint(tmp_path):
    """The rows streamed to the rows file as the fits finish are, cell for cell, those of the
    table written at the end, except where the end of the run changed a checkpoint (the
    arc-jump flag and note); they are not kept in memory for the table (made again: ~9 us a
    row), and the table equals one built afresh."""
    import io

    import pandas as pd

    base = {"R0": 12.0, "R1": 45.0, "CPE1_0": 2e-9, "CPE1_1": 0.92, "R2": 80.0, "CPE2_0": 3e-6, "CPE2_1": 0.8}
    spectra = _series([{**base, "R2": r} for r in (80.0, 85.0, 340.0, 330.0)], np.logspace(7, -1, 45), seed=5)
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,CPE1)-p(R2,CPE2)", cache_dir=False, progress=False,
                               rows_file=tmp_path / "rows.csv")
    as_text = {"dtype": str, "keep_default_na": False}  # the cells as written
    streamed = pd.read_csv(tmp_path / "rows.csv", **as_text).set_index("label")
    assert len(streamed) == 4  # every fitted checkpoint streamed
    flagged = [i for i, r in enumerate(camp.results) if "arc-jump" in r.flags]
    assert flagged == [2]
    assert not hasattr(camp, "streamed_rows")
    table = camp.table
    final = pd.read_csv(io.StringIO(table.to_csv(index=False)), **as_text).set_index("label")  # as summary.csv
    assert list(streamed.columns) == list(final.columns)
    same = [camp.checkpoints[i].label for i in (0, 1, 3)]
    pd.testing.assert_frame_equal(streamed.loc[same], final.loc[same])
    changed = camp.checkpoints[2].label
    assert "arc-jump" in final.loc[changed, "flags"] and "arc-jump" not in streamed.loc[changed, "flags"]
    pd.testing.assert_frame_equal(table, camp.build_table())


@pytest.mark.results_in_memory  # identity of shared containers / a result changed in place
def test_an_arc_near_the_role_threshold_keeps_one_role_across_the_campaign():
    """A circuit string's arc roles are guessed from C_eff/A per fit (interface from 1e-7
    F/cm2 on): an arc whose capacitance straddles it had been the interface in one
    checkpoint and the electrolyte in the next (a real VersaStudio campaign: the per-
    interface ASR filled in 18 of 32 rows). The campaign takes one role per arc, from the
    median C_eff/A over its checkpoints, and computes the changed rows' quantities again."""
    f = np.logspace(6, -1, 50)
    w = 2 * np.pi * f
    area = 1.0
    c1 = [0.7e-7, 1.4e-7, 0.8e-7, 1.3e-7, 0.6e-7]  # F: median 0.8e-7 F/cm2, below the threshold
    spectra = []
    for k, c in enumerate(c1):
        z = 10 + 100 / (1 + 1j * w * 100 * c) + 500 / (1 + 1j * w * 500 * 1e-5)
        noise = np.random.default_rng(k).standard_normal((2, f.size))
        spectra.append(eisfit.Spectrum(f, z * (1 + 0.002 * (noise[0] + 1j * noise[1])), meta={"label": f"t{k}"}))
    own = [eisfit.fit(s, circuit="R0-p(R1,C1)-p(R2,C2)", area_cm2=area).roles["R1"] for s in spectra]
    assert set(own) == {"interface", "electrolyte"}  # the case: each fit alone flips
    camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,C1)-p(R2,C2)", area_cm2=area, thickness_cm=0.03,
                               cache_dir=False, progress=False)
    assert {r.roles["R1"] for r in camp.results} == {"electrolyte"}
    changed = [r for r, role in zip(camp.results, own) if role == "interface"]
    assert len({id(r.roles) for r in changed}) == 1 and len({id(r.derived_units) for r in changed}) == 1
    assert changed[0].derived_units == eisfit.fit(spectra[0], circuit="R0-p(R1,C1)-p(R2,C2)", area_cm2=area,
                                                  thickness_cm=0.03).derived_units  # t0 was the electrolyte alone
    t = camp.table
    assert t["R1_sigma_S_per_cm"].notna().all() and "R1_asr_per_interface_ohm_cm2" not in t
    assert t["R1_sigma_S_per_cm"].to_numpy() == pytest.approx(0.03 / (t["R1"].to_numpy() * area), rel=1e-9)
    sd = t["R1_sigma_S_per_cm_stderr"].to_numpy() / t["R1_sigma_S_per_cm"].to_numpy()
    # the delta method: the same relative error as R1's
    assert sd == pytest.approx(t["R1_stderr"].to_numpy() / t["R1"].to_numpy(), rel=1e-4)
    library = eisfit.fit_campaign(spectra, circuit="garnet-symmetric", area_cm2=area, cache_dir=False, progress=False)
    assert {r.roles["R1"] for r in library.results} == {"electrolyte"}  # named roles: as the library says


def test_the_checkpoints_of_one_file_are_labelled_by_its_name_not_its_path(tmp_path):
    """A one-file campaign given by its full path labelled every checkpoint (figure panels,
    the residual map's rows, the DRT lines) with the whole path; ``file`` keeps it."""
    path = tmp_path / "deep" / "folder" / MPT[0].name
    path.parent.mkdir(parents=True)
    shutil.copy(MPT[0], path)
    src = load_checkpoints(str(path))
    assert [c.label for c in src.checkpoints] == [MPT[0].name]
    assert [c.file for c in src.checkpoints] == [str(path)]


def test_interrupt_right_after_a_pack_is_written_keeps_its_fits(tmp_path, monkeypatch):
    """A Ctrl-C that lands between a cache pack's rename and its entry in the index (a loaded
    machine: the test of the CLI's interrupt saw it) kept none of the pack's fits: the
    campaign said "interrupted before any checkpoint was fitted" with the fits on disk."""
    import contextlib

    import eisfit.campaign.cache as cache_module

    data, cache = tmp_path / "data", tmp_path / "cache"
    _copy(MPT[:3], data)
    real = cache_module.atomic_text_file

    @contextlib.contextmanager
    def interrupted_after_rename(path):
        with real(path) as fh:
            yield fh
        raise KeyboardInterrupt  # the pack is in place; nothing after the rename ran

    monkeypatch.setattr(cache_module, "atomic_text_file", interrupted_after_rename)
    camp = eisfit.fit_campaign(data, cache_dir=cache, **FAST)
    assert camp.stats["interrupted"]
    on_disk = sum(len(p.read_text().splitlines()) for p in cache.glob("pack-*.jsonl"))
    fitted = [r for r in camp.results if r is not None]
    assert on_disk >= 1 and len(fitted) == on_disk


def test_the_rows_an_interrupt_left_unfitted_do_not_read_as_failed_fits(tmp_path, monkeypatch):
    """After a Ctrl-C the checkpoints never fitted read "fit failed: not fitted: the campaign
    was interrupted" in summary.csv: they did not fail, and CLI.md gives their error as "not
    fitted: the campaign was interrupted"."""
    import contextlib

    import eisfit.campaign.cache as cache_module

    data, cache = tmp_path / "data", tmp_path / "cache"
    _copy(MPT, data)
    real = cache_module.atomic_text_file

    @contextlib.contextmanager
    def interrupted_after_the_first_pack(path):
        with real(path) as fh:
            yield fh
        raise KeyboardInterrupt

    monkeypatch.setattr(cache_module, "atomic_text_file", interrupted_after_the_first_pack)
    with pytest.warns(CampaignWarning, match=rf"the campaign was interrupted: \d+ of {len(MPT)} checkpoints fitted"):
        camp = eisfit.fit_campaign(data, cache_dir=cache, **FAST)  # a notebook's run had returned without a word
    unfitted = camp.table[camp.table["error"].fillna("") != ""]
    assert camp.stats["interrupted"] and 0 < len(unfitted) < len(MPT)
    assert set(unfitted["error"]) == {"not fitted: the campaign was interrupted"}


def test_a_cached_rerun_keeps_the_seed_disagreement_flag(tmp_path, monkeypatch):
    """The runner's own flag of a fit (``seed-disagreement``, its note) lived only in the run
    that fitted it: a rerun served from the cache lost it (a real 32-sweep .mpr: the flag on
    one row of the first summary.csv, on none after the rerun), numbers bit-identical."""
    import eisfit.campaign.runner as runner

    data, cache = tmp_path / "data", tmp_path / "cache"
    _copy(MPT[:3], data)
    real = runner.fit_chunks

    def one_disagreement(*args, **kwargs):  # the second checkpoint's seeded fit found a lower minimum
        outcomes = real(*args, **kwargs)
        flat = [o for chunk in outcomes for o in chunk] if isinstance(outcomes[0], list) else outcomes
        for o in flat:
            if o.get("seed_source") == "seeded" or o is flat[-1]:
                o.update(disagree=True, seeded_chisq=1.0, cold_chisq=1.5)
                break
        return outcomes

    monkeypatch.setattr(runner, "fit_chunks", one_disagreement)
    first = eisfit.fit_campaign(data, cache_dir=cache, **FAST)
    monkeypatch.setattr(runner, "fit_chunks", real)
    again = eisfit.fit_campaign(data, cache_dir=cache, **FAST)
    assert again.stats["fits_run"] == 0 and again.stats["cache_hits"] == 3
    flagged = [list(r["flags"].split(";")) for _, r in first.table.iterrows()]
    assert sum("seed-disagreement" in f for f in flagged) == 1
    pd.testing.assert_series_equal(first.table["flags"], again.table["flags"])
    assert [d.get("notes") for d in first.details] == [d.get("notes") for d in again.details]


def _swapped_labels(result, a: tuple[str, str], b: tuple[str, str]):
    """``result`` with the parameters (and stderr) of arcs ``a`` = (R, CPE) and ``b`` exchanged."""
    pairs = [(f"{x}", f"{y}") for x, y in [(a[0], b[0]), (f"{a[1]}_0", f"{b[1]}_0"), (f"{a[1]}_1", f"{b[1]}_1")]]
    values, stderr = dict(result.values), dict(result.stderr)
    for x, y in pairs:
        values[x], values[y] = values[y], values[x]
        stderr[x], stderr[y] = stderr[y], stderr[x]
    return result.with_fields(values=values, stderr=stderr)


def test_arc_swap_flags_an_arc_whose_time_constant_moves_more_than_2_decades():
    """A kept fit whose arcs hold each other's process (R1's apex from ~1 MHz to ~100 Hz,
    R1 only 1.8x larger: no arc-jump) is flagged arc-swap for both arcs, with both apex
    frequencies in the note; an arc whose time constant moves one decade is an evolution."""
    from eisfit.campaign.runner import CheckpointFits, _flag_arc_jumps

    base = {"R0": 12.0, "R1": 45.0, "CPE1_0": 2e-9, "CPE1_1": 0.92, "R2": 80.0, "CPE2_0": 3e-6, "CPE2_1": 0.8}
    spectrum = _series([base], np.logspace(7, -1, 45), seed=5)[0]
    fit = eisfit.fit(spectrum, "R0-p(R1,CPE1)-p(R2,CPE2)")
    swapped = _swapped_labels(fit, ("R1", "CPE1"), ("R2", "CPE2"))
    moved = fit.with_fields(values={**fit.values, "CPE1_0": fit.values["CPE1_0"] * 10 ** (-0.92)})  # tau / 10
    items = [{"conditions": {"cell": "A"}}] * 3
    fits = [CheckpointFits(held=r) for r in (fit, moved, swapped)]
    _flag_arc_jumps(items, [0, 1, 2], fits)
    assert [f for f in fits[1].flags if f.startswith("arc-")] == []
    assert "arc-swap:R1" in fits[2].flags and "arc-swap:R2" in fits[2].flags
    assert "arc-jump" not in fits[2].flags
    assert "R1 apex" in fits[2].notes[-1] and "Hz" in fits[2].notes[-1]


def test_arc_swap_is_not_judged_across_a_change_of_conditions():
    from eisfit.campaign.runner import CheckpointFits, _flag_arc_jumps

    base = {"R0": 12.0, "R1": 45.0, "CPE1_0": 2e-9, "CPE1_1": 0.92, "R2": 80.0, "CPE2_0": 3e-6, "CPE2_1": 0.8}
    fit = eisfit.fit(_series([base], np.logspace(7, -1, 45), seed=5)[0], "R0-p(R1,CPE1)-p(R2,CPE2)")
    fits = [CheckpointFits(held=fit), CheckpointFits(held=_swapped_labels(fit, ("R1", "CPE1"), ("R2", "CPE2")))]
    _flag_arc_jumps([{"conditions": {"T": 25}}, {"conditions": {"T": 60}}], [0, 1], fits)
    assert fits[1].flags == []


def test_arc_jump_notes_name_a_dc_potential_step_and_skip_noise_dominated_fits():
    """A potential scan (SPEIS: each sweep's DC potential 0.1 V higher) keeps the flags but its
    notes name the step instead of "without metadata change" (an audit's Hem1 scan); a fit whose
    points are noise-dominated determines no resistance to jump from or to."""
    from eisfit.campaign.runner import CheckpointFits, _flag_arc_jumps

    base = {"R0": 12.0, "R1": 45.0, "CPE1_0": 2e-9, "CPE1_1": 0.92, "R2": 80.0, "CPE2_0": 3e-6, "CPE2_1": 0.8}
    fit = eisfit.fit(_series([base], np.logspace(7, -1, 45), seed=5)[0], "R0-p(R1,CPE1)-p(R2,CPE2)")
    jumped = fit.with_fields(values={**fit.values, "R2": 4 * fit.values["R2"]})
    scan = [{"conditions": {"cell": "A"}, "dc_potential_V": v} for v in (0.1, 0.2)]
    fits = [CheckpointFits(held=fit), CheckpointFits(held=jumped)]
    _flag_arc_jumps(scan, [0, 1], fits)
    assert "arc-jump" in fits[1].flags
    assert fits[1].notes[-1].startswith("resistance jump > 3x with the DC potential stepped 0.1 -> 0.2 V: R2 ")
    rest = [{"conditions": {"cell": "A"}, "dc_potential_V": v} for v in (0.1, 0.104)]  # a rest's drift
    fits = [CheckpointFits(held=fit), CheckpointFits(held=jumped)]
    _flag_arc_jumps(rest, [0, 1], fits)
    assert fits[1].notes[-1].startswith("resistance jump > 3x without metadata change: R2 ")
    noisy = jumped.with_fields(flags=[*jumped.flags, "noise-dominated:41%"])
    fits = [CheckpointFits(held=fit), CheckpointFits(held=noisy)]
    _flag_arc_jumps(rest, [0, 1], fits)
    assert "arc-jump" not in fits[1].flags and fits[1].notes == []


def test_seeded_chain_keeps_the_arc_identities_two_labellings_fit_almost_equally():
    """The keep rule of a chain position (eisfit.fitting.batch._seed_kept): a cold fit that
    swapped the previous checkpoint's arcs and is lower by 0.9 % (70 frequencies: 1.3 in BIC)
    does not replace the seeded fit that keeps them; lower by 3 % (4.3 in BIC) it does, and
    a seeded fit that swaps them must be lower by as much. Without a swap the old rule holds."""
    from types import SimpleNamespace

    from eisfit.fitting.batch import _seed_kept

    prep = SimpleNamespace(problem=SimpleNamespace(frequency=np.zeros(70), free=np.zeros(10)))
    assert _seed_kept(1.0091, 1.0, prep, seeded_swaps=False, cold_swaps=True)  # identity kept
    assert not _seed_kept(1.03, 1.0, prep, seeded_swaps=False, cold_swaps=True)  # the data prefer the swap
    assert not _seed_kept(0.991, 1.0, prep, seeded_swaps=True, cold_swaps=False)  # a seeded swap must be clear
    assert _seed_kept(0.97, 1.0, prep, seeded_swaps=True, cold_swaps=False)
    assert not _seed_kept(1.0091, 1.0, prep, seeded_swaps=False, cold_swaps=False)  # same identities: lower wins
    assert _seed_kept(0.991, 1.0, prep, seeded_swaps=False, cold_swaps=False)


def test_real_peis_loop_keeps_its_arc_identities():
    """vsp_peis_with.mpr (32 sweeps of a VersaStudio PEIS loop): R1 was the ~1 MHz arc at
    #0-#5 and a 0.02 Hz element from #6 (the cold fit's labelling, 0.9 % lower in
    chi-square), carried on by the seeded chain, with no flag. The first two chunks now keep
    the 1 MHz arc as R1; every checkpoint whose R1 apex moves by more than 2 decades is
    flagged arc-swap (or leaves R1 unresolved)."""
    from conftest import realdata_path

    path = realdata_path("mpr", "dgbowl__yadg", "vsp_peis_with.mpr")
    camp = eisfit.fit_campaign(path, circuit="L0-R0-p(R1,CPE1)-p(CPE2,R2-Ws2)", area_cm2=0.317, symmetric=True,
                               cache_dir=False, progress=False)
    apex = [r.derived["CPE1_fapex_Hz"] for r in camp.results]
    assert all(f > 1e5 for f in apex[:16])
    for k in range(1, len(apex)):
        r = camp.results[k]
        if abs(np.log10(apex[k] / apex[k - 1])) > 2 and "unresolved:R1" not in r.flags \
                and "unresolved:R1" not in camp.results[k - 1].flags:
            assert "arc-swap:R1" in r.flags, k


TWO_LABELLINGS = "R0-p(R1,C1)-p(R2,CPE2)"  # two ideal arcs: C1 or CPE2 (n = 1) holds either, near-equal fits


def _two_labelling_chain() -> list[eisfit.Spectrum]:
    """Four checkpoints of two ideal arcs (100 ohm at 1.6 MHz; 300 then 900 ohm at 177 Hz),
    0.3 % noise: the cold fit of the first puts R1 on the 1.6 MHz arc, that of the 900 ohm
    spectrum (the last three, equal to 1e-9) on the 177 Hz arc, 0.1 % lower in chi-square
    (0.06 in BIC): a chain keeps R1 at 1.6 MHz."""
    f = np.logspace(6, -1, 50)
    jw = 2j * np.pi * f

    def spectrum(noise_seed: int, r2: float, k: int) -> eisfit.Spectrum:
        rng = np.random.default_rng(noise_seed)
        z = 10 + 100 / (1 + 100e-9 * jw) + r2 / (1 + r2 * 1e-6 * jw)
        z = z + 0.003 * abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
        return eisfit.Spectrum(f, z * (1 + 1e-9 * k), meta={"label": f"#{k}", "time_h": float(k)})

    return [spectrum(0, 300.0, 0)] + [spectrum(1, 900.0, k) for k in range(1, 4)]


def _r1_apex_hz(camp) -> np.ndarray:
    return np.array([1 / (2 * np.pi * r.values["R1"] * r.values["C1"]) for r in camp.results])


def test_a_chunk_start_whose_cold_lead_in_swapped_the_arcs_is_refitted_in_the_chain_s_identities(
        tmp_path, monkeypatch):
    """Chunks of two: the second chunk was led in by checkpoint 1 refitted cold (R1 on the
    177 Hz arc), so checkpoints 2 and 3 came back swapped (arc-swap at 2) where the chain
    keeps R1 at 1.6 MHz. Once the chunks are in, checkpoint 2 is refitted from 1's kept fit
    and 3 from the new 2: the table of the one-chunk chain, with a note, for jobs 1 and 2,
    and from the cache (nothing refitted)."""
    from eisfit.campaign import runner

    spectra = _two_labelling_chain()
    whole = eisfit.fit_campaign(spectra, circuit=TWO_LABELLINGS, cache_dir=False, progress=False)
    monkeypatch.setattr(runner, "chunk_size", lambda n: 2)
    cut = eisfit.fit_campaign(spectra, circuit=TWO_LABELLINGS, cache_dir=tmp_path / "cache", progress=False)
    assert np.all(_r1_apex_hz(whole) > 1e6) and np.all(_r1_apex_hz(cut) > 1e6)
    assert cut.stats["chunks"] == 2 and cut.stats["repaired"] == 2
    np.testing.assert_allclose(cut.table["chisq"], whole.table["chisq"], rtol=1e-9)
    assert not any(f.startswith("arc-") for r in cut.results for f in r.flags)
    assert [any("refitted after the chunks were joined" in n for n in d["notes"]) for d in cut.details] == \
        [False, False, True, True]
    two = eisfit.fit_campaign(spectra, circuit=TWO_LABELLINGS, cache_dir=False, progress=False, jobs=2)
    pd.testing.assert_frame_equal(cut.table, two.table)
    again = eisfit.fit_campaign(spectra, circuit=TWO_LABELLINGS, cache_dir=tmp_path / "cache", progress=False)
    assert again.stats["fits_run"] == 0 and again.stats["repair_fits"] == 0
    pd.testing.assert_frame_equal(cut.table, again.table)


def test_the_chunk_start_repair_takes_the_worker_s_cold_fit_and_gives_the_table_of_solving_it_again(monkeypatch):
    """The repair refits chunk start 2 seeded from 1's kept fit; its cold fit is the one the
    worker solved (sent back with the outcome), not solved again: the refit's batch gets it,
    and the table is the one of a repair that solves every cold fit itself."""
    from eisfit.campaign import runner

    spectra = _two_labelling_chain()
    monkeypatch.setattr(runner, "chunk_size", lambda n: 2)
    given = []
    fit_here = runner._fit_here

    def recording(items, chunks):
        given.append([sorted(c.cold_rows or {}) for c in chunks])
        return fit_here(items, chunks)

    monkeypatch.setattr(runner, "_fit_here", recording)
    reused = eisfit.fit_campaign(spectra, circuit=TWO_LABELLINGS, cache_dir=False, progress=False)
    assert given[0] == [[0]]  # the chunk start's own cold fit; 3, refitted after it, had none
    assert reused.stats["repaired"] == 2

    def solving_again(items, chunks):
        return fit_here(items, [runner._Chunk(c.members, c.lead_in, c.seed) for c in chunks])

    monkeypatch.setattr(runner, "_fit_here", solving_again)
    solved = eisfit.fit_campaign(spectra, circuit=TWO_LABELLINGS, cache_dir=False, progress=False)
    pd.testing.assert_frame_equal(reused.table, solved.table, rtol=1e-9)


def test_chain_takes_the_results_of_cold_fits_it_keeps_and_assembles_those_it_does_not():
    """``cold_results`` beside ``cold_rows``: a position that keeps its cold fit returns the
    result given for it (not assembled again); a position whose seeded fit wins, or without
    a cold row, is assembled as before."""
    from eisfit.fitting.batch import fit_chain

    spectra = _two_labelling_chain()  # kept: cold, then seeded (the first checkpoint's arc identities)
    first = fit_chain(spectra, TWO_LABELLINGS, kk=False)
    cold_at = [k for k, s in enumerate(first.seed_source) if s == "cold"]
    seeded_at = [k for k, s in enumerate(first.seed_source) if s == "seeded"]
    assert cold_at and seeded_at
    given = {k: first.kept[k].with_fields(label=f"given {k}") for k in (cold_at[0], seeded_at[0])}
    again = fit_chain(spectra, TWO_LABELLINGS, kk=False, cold_rows={k: first.cold.rows([k]) for k in given},
                      cold_results=given)
    assert again.kept[cold_at[0]] is given[cold_at[0]]
    assert again.kept[seeded_at[0]].label != f"given {seeded_at[0]}"
    assert again.kept[seeded_at[0]].chisq == pytest.approx(first.kept[seeded_at[0]].chisq, rel=1e-9)
    alone = fit_chain(spectra, TWO_LABELLINGS, kk=False, cold_results=given)  # no cold rows: nothing taken
    assert all(not r.label or not r.label.startswith("given") for r in alone.kept)


def test_an_interrupt_during_the_chunk_start_repair_keeps_every_chunk_s_fits(monkeypatch):
    """Ctrl-C while the chunk starts are refitted: the fits of every chunk are kept (as the
    chunks left them), the run says it was interrupted."""
    from eisfit.campaign import runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "chunk_size", lambda n: 2)
    monkeypatch.setattr(runner, "_fit_here", interrupted)
    camp = eisfit.fit_campaign(_two_labelling_chain(), circuit=TWO_LABELLINGS, cache_dir=False, progress=False)
    assert camp.stats["interrupted"] and all(r is not None for r in camp.results)
    assert "arc-swap:R1" in camp.results[2].flags  # not repaired: the chunks' own fits


def test_real_peis_loop_chunks_give_the_one_chunk_chain(monkeypatch):
    """vsp_peis_with.mpr cut into 4 chunks of 8: #16, the first of the third chunk, came back
    with R1 the 0.02 Hz low-n element (its lead-in #15 refitted cold in that labelling) and
    #17-#31 carried it on (R1 1.7 -> 6 ohm cm2 from 160 h). Repaired across the chunk
    boundaries, the table is the one-chunk chain's (R1 the ~1 MHz arc to #26)."""
    from conftest import realdata_path

    from eisfit.campaign import runner

    path = realdata_path("mpr", "dgbowl__yadg", "vsp_peis_with.mpr")
    options = dict(circuit="L0-R0-p(R1,CPE1)-p(CPE2,R2-Ws2)", area_cm2=0.317, symmetric=True, cache_dir=False,
                   progress=False)
    cut = eisfit.fit_campaign(path, **options)
    monkeypatch.setattr(runner, "chunk_size", lambda n: n)
    whole = eisfit.fit_campaign(path, **options)
    assert cut.stats["chunks"] == 4 and whole.stats["chunks"] == 1
    apex = np.array([r.derived["CPE1_fapex_Hz"] for r in cut.results])
    assert np.all(apex[:27] > 1e5)
    assert not any(f.startswith("arc-swap") for r in cut.results[:27] for f in r.flags)
    np.testing.assert_allclose(cut.table["chisq"], whole.table["chisq"], rtol=1e-7)
    np.testing.assert_allclose(cut.table["R2"], whole.table["R2"], rtol=1e-5)

def _garnet_at_100C() -> eisfit.Spectrum:
    """A garnet cell at 100 degC whose bulk arc (R1 26.25 ohm, Q1 3e-10, n1 0.9: apex ~160 MHz)
    lies above f_max = 10 MHz: L0 60 nH, R0 3.83 ohm, R2 || Q2 2e-6 (n2 0.85); 0.4 % noise: the
    last of an audit's temperature series (25-100 degC, Ea 0.30/0.40/0.55 eV), one noise stream."""
    kb, f = 8.617333e-5, np.logspace(7, 1, 61)
    jw = 2j * np.pi * f
    rq = lambda r, q, n: r / (1 + r * q * jw ** n)  # noqa: E731
    rng = np.random.default_rng(1)
    for t_c in (25, 40, 60, 80, 100):
        a = lambda ea: np.exp(ea / kb * (1 / (t_c + 273.15) - 1 / 298.15))  # noqa: E731
        z = jw * 6e-8 + 40 * a(0.30) + rq(600 * a(0.40), 3e-10, 0.9) + rq(1500 * a(0.55), 2e-6, 0.85)
        z = z + 0.004 * abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
    return eisfit.Spectrum(f, z, meta={"label": "100 degC"})


def test_series_resistance_holding_an_unresolved_arc_above_fmax_is_flagged():
    """R0 took R0 + R1 (the intercept, 30 ohm) while R1's arc, above f_max, is undetermined:
    R0 is no series resistance alone and is flagged series-holds-arc:R0."""
    res = eisfit.fit(_garnet_at_100C(), "garnet-symmetric-L", area_cm2=0.785, thickness_cm=0.03)
    assert res.values["R0"] + res.values["R1"] == pytest.approx(30.08, rel=0.03)
    assert "series-holds-arc:R0" in res.flags


def test_arrhenius_leaves_out_a_series_resistance_that_holds_an_arc():
    """R0 at 100 degC (flagged series-holds-arc:R0, its stderr small) had entered the line and
    pulled Ea of R0 from 0.30 to 0.06 eV; it is left out and counted with the undetermined."""
    from eisfit.analysis.arrhenius import arrhenius_table
    from eisfit.analysis.arrhenius import K_B_EV_PER_K as kb

    t_c = np.array([25.0, 40.0, 60.0, 80.0, 100.0])
    t = t_c + 273.15
    r0 = 40 * np.exp(0.30 / kb * (1 / t - 1 / 298.15))
    r0[-1] = 30.0  # R0 + R1
    sigma = 0.03 / (r0 * 0.785)
    table = pd.DataFrame({"temperature_C": t_c, "R0_sigma_S_per_cm": sigma, "R0_sigma_S_per_cm_stderr": sigma * 0.01,
                          "flags": ["", "", "", "", "fapex-outside-range:CPE1;series-holds-arc:R0"]})
    row = arrhenius_table(table, ["R0"]).iloc[0]
    assert row["n_points"] == 4 and row["n_undetermined"] == 1
    assert row["ea_eV"] == pytest.approx(0.30 + kb * np.mean(t), abs=0.01)  # the sigma*T form adds ~k_B*T
    assert "series-holds-arc" in row["note"]


def test_the_table_made_in_pieces_is_the_table_made_at_once(monkeypatch):
    """CampaignResult.table is made a few hundred rows at a time (table_of_rows): the same
    frame, dtypes included, as pandas makes of all the rows at once, also where a column has
    no value in a whole piece, appears only in a later one, or mixes ints, bools, dates and
    None across pieces."""
    import datetime

    from eisfit.campaign import result as R

    monkeypatch.setattr(R, "TABLE_CHUNK_ROWS", 3)
    rows = []
    for k in range(11):
        row = {"label": f"c{k}", "time_h": None if k < 3 else 1.5 * k, "cycle": None if k % 4 else k,
               "R1": 10.0 + k, "R1_stderr": None if k in (4, 5) else 0.1, "flags": "" if k < 6 else "arc-jump",
               "kk_passed": None if k < 3 else k % 2 == 0, "start_time": None if k < 6 else datetime.datetime(2024, 1, k),
               "chisq": 1e-3 * k, "sweep": k}
        if k >= 7:
            row["R2"] = 5.0 * k  # a column first seen in the third piece
        if k not in (3, 4, 5):
            row["notes"] = "seed kept"  # absent from a whole piece
        rows.append(row)
    expected = pd.DataFrame(rows, columns=R.ordered_columns(rows))
    made = R.table_of_rows(iter([dict(r) for r in rows]))
    pd.testing.assert_frame_equal(made, expected)
    assert list(made.columns).index("R2") < list(made.columns).index("chisq")  # fit statistics stay last
    one_piece = R.table_of_rows(dict(r) for r in rows[:3])
    pd.testing.assert_frame_equal(one_piece, pd.DataFrame(rows[:3], columns=R.ordered_columns(rows[:3])))
    pd.testing.assert_frame_equal(R.table_of_rows([]), pd.DataFrame([], columns=R.ordered_columns([])))  # no checkpoint


def test_the_kept_identity_note_says_what_moved_not_only_a_swap():
    """The note of a seeded fit kept over a slightly lower cold fit had said 'arcs swapped' on a
    one-arc campaign, where nothing can swap: it says that an arc's time constant moved by more
    than 2 decades (arcs swapped, or an arc lost or found)."""
    from eisfit.campaign.runner import _seed_disagreement

    flags, notes = _seed_disagreement({"identity_kept": True, "cold_chisq": 0.1429, "seeded_chisq": 0.1431})
    assert flags == [] and len(notes) == 1
    assert "an arc's time constant moved by more than 2 decades" in notes[0] and "an arc lost or found" in notes[0]
    assert "0.1429 vs 0.1431" in notes[0]
    assert _seed_disagreement({"identity_kept": False}) == ([], [])
