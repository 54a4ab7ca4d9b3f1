"""A large campaign keeps its fits on disk (eisfit.campaign.spool, issue 12's flat memory):
the same table, report and figures as in memory, a result read back equal to the one
stored, nothing lost when the disk refuses, a clear error when the spool cannot be read.

The whole suite runs through the spooled path with ``pytest --spool-all``."""
from __future__ import annotations

import gc
import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import HEADLINE_CIRCUIT, headline_series

import eisfit
from eisfit.campaign import CampaignWarning
from eisfit.campaign import spool as spooling
from eisfit.campaign.spool import Spool, Spooled, SpooledResults
from eisfit.errors import CampaignError
from eisfit.fitting.result import FitResult, fitted_indices, results_field

pytestmark = pytest.mark.results_in_memory  # these tests choose where the results are kept themselves

VALUES = [[5.0, 18.0 * (1 + 0.1 * k), 1e-8, 0.92, 50.0 * (1 + 0.2 * k), 1.3e-6, 0.8] for k in range(8)]
OPTIONS = dict(circuit=HEADLINE_CIRCUIT, area_cm2=0.785, cache_dir=False, progress=False)


@pytest.fixture(scope="module")
def spectra():
    return headline_series(VALUES, seed=72)


def _spooled(monkeypatch, spectra, **options):
    monkeypatch.setattr(spooling, "SPOOL_MIN_CHECKPOINTS", 0)
    return eisfit.fit_campaign(spectra, **{**OPTIONS, **options})


def _flagged_while(flag: list[bool], function):
    """``function`` that sets ``flag[0]`` while it runs (a test counts what happens meanwhile)."""
    def run(*args, **kwargs):
        flag[0] = True
        try:
            return function(*args, **kwargs)
        finally:
            flag[0] = False
    return run


def _without_times(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=[c for c in table.columns if c.endswith("seconds")])


def test_a_spooled_result_reads_back_equal_to_the_one_stored(spectra):
    result = eisfit.fit(spectra[0], HEADLINE_CIRCUIT)
    spool = Spool()
    held = spool.store(result)
    assert type(held) is Spooled and spool.store(None) is None
    back = held.load()
    assert back is not result
    assert back.values == result.values and back.stderr == result.stderr and back.flags == result.flags
    np.testing.assert_array_equal(back.z_fit, result.z_fit)
    assert back.derived.keys() == result.derived.keys()
    # the second store appends after the first: both read back
    other = spool.store(eisfit.fit(spectra[1], HEADLINE_CIRCUIT))
    assert held.load().values == result.values and other.load().values != result.values


def test_spooled_results_behave_as_a_read_only_list(spectra):
    results = [eisfit.fit(s, HEADLINE_CIRCUIT) for s in spectra[:3]]
    spool = Spool()
    seq = SpooledResults([spool.store(results[0]), None, spool.store(results[1]), results[2]])
    assert len(seq) == 4 and seq[1] is None and seq[3] is results[2]
    assert seq[0].values == results[0].values and [r is None for r in seq] == [False, True, False, False]
    assert [r.values for r in seq[2:]] == [results[1].values, results[2].values]
    assert fitted_indices(seq) == [0, 2, 3]
    # the light fields come without reading the spool; any other field is read from it
    assert results_field(seq, "flags") == [results[0].flags, None, results[1].flags, results[2].flags]
    assert results_field(seq, "chisq") == [results[0].chisq, None, results[1].chisq, results[2].chisq]
    again = pickle.loads(pickle.dumps(seq))  # a plain list of the results themselves
    assert type(again) is list and again[0].values == results[0].values and again[1] is None
    assert seq == again and seq != again[:3]


def test_a_spooled_campaign_gives_the_table_report_and_figures_of_one_in_memory(spectra, monkeypatch, tmp_path):
    memory = eisfit.fit_campaign(spectra, out=tmp_path / "memory", **{**OPTIONS, "cache_dir": None})
    disk = _spooled(monkeypatch, spectra, out=tmp_path / "disk", cache_dir=None)
    assert type(memory.results) is list and type(disk.results) is SpooledResults
    pd.testing.assert_frame_equal(_without_times(memory.table), _without_times(disk.table))
    assert [r.values for r in disk.results] == [r.values for r in memory.results]
    assert [r.flags for r in disk.results] == [r.flags for r in memory.results]
    strip = lambda text: "\n".join(line for line in text.splitlines() if " s " not in line and "wall" not in line)  # noqa: E731
    assert strip((tmp_path / "disk" / "report.md").read_text()) == strip((tmp_path / "memory" / "report.md").read_text())
    assert sorted(p.name for p in (tmp_path / "disk").iterdir()) == sorted(p.name for p in (tmp_path / "memory").iterdir())
    assert disk.evolution_lines() == memory.evolution_lines()
    # nothing of the spool is left beside the outputs (an anonymous temporary file)
    assert not [p for p in (tmp_path / "disk").rglob("eisfit-fits-*")]


def test_a_spooled_campaign_holds_none_of_its_results_in_memory(spectra, monkeypatch):
    def live_results() -> int:
        gc.collect()
        return sum(isinstance(o, FitResult) for o in gc.get_objects())

    before = live_results()
    in_memory = eisfit.fit_campaign(spectra, **OPTIONS)
    assert live_results() - before >= len(in_memory.results)
    del in_memory
    before = live_results()
    camp = _spooled(monkeypatch, spectra)
    assert len(camp.results) == len(spectra) and live_results() - before == 0


def test_a_disk_that_refuses_the_spool_keeps_the_fits_in_memory_with_a_warning(spectra, monkeypatch):
    def full(fd, data, offset):
        raise OSError(28, "No space left on device")

    reference = eisfit.fit_campaign(spectra, **OPTIONS)
    monkeypatch.setattr(spooling.os, "pwrite", full)
    with pytest.warns(CampaignWarning, match="could not be kept on disk.*No space left on device"):
        camp = _spooled(monkeypatch, spectra)
    pd.testing.assert_frame_equal(_without_times(camp.table), _without_times(reference.table))


def test_a_spool_that_can_no_longer_be_read_is_a_campaign_error_naming_it(spectra):
    spool = Spool()
    held = spool.store(eisfit.fit(spectra[0], HEADLINE_CIRCUIT))
    spool.close()
    with pytest.raises(CampaignError, match="temporary file in .*can no longer be read"):
        held.load()


def test_an_interrupted_spooled_campaign_keeps_the_fits_it_finished(spectra, monkeypatch):
    """Ctrl-C after two chunks were stored: their fits are read back from the spool (through the
    run's in-memory cache), the others are reported as not fitted."""
    from eisfit.campaign import runner

    collect, calls = runner._collect, []

    def interrupted_at_the_third_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return collect(*args, **kwargs)

    reference = eisfit.fit_campaign(spectra, **OPTIONS)
    monkeypatch.setattr(runner, "chunk_size", lambda n: 2)
    monkeypatch.setattr(runner, "_collect", interrupted_at_the_third_chunk)
    camp = _spooled(monkeypatch, spectra)
    assert camp.stats["interrupted"] and type(camp.results) is SpooledResults
    assert fitted_indices(camp.results) == [0, 1, 2, 3]
    np.testing.assert_allclose([r.values["R2"] for r in camp.results[:4]],
                               [r.values["R2"] for r in reference.results[:4]], rtol=1e-6)
    assert all("interrupted" in e.reason for e in camp.errors) and len(camp.errors) == 4


@pytest.fixture
def csv_folder(spectra, tmp_path):
    folder = tmp_path / "csv"
    folder.mkdir()
    for k, s in enumerate(spectra):
        rows = "\n".join(f"{f:.17g},{z.real:.17g},{z.imag:.17g}" for f, z in zip(s.frequency, s.z))
        (folder / f"cell_{k:03d}h.csv").write_text("freq_Hz,Zre_ohm,Zim_ohm\n" + rows + "\n")
    return folder


def test_a_spooled_campaign_of_files_keeps_their_spectra_on_disk_and_reads_them_back(csv_folder, monkeypatch):
    memory = eisfit.fit_campaign(csv_folder, **OPTIONS)
    disk = _spooled(monkeypatch, csv_folder)
    assert len(fitted_indices(memory.results)) == len(memory.checkpoints) == 8
    pd.testing.assert_frame_equal(_without_times(memory.table), _without_times(disk.table))
    assert all(type(c.__dict__["_spectrum"]) is Spooled for c in disk.checkpoints)
    assert all(type(c.__dict__["_spectrum"]) is not Spooled for c in memory.checkpoints)
    for a, b in zip(memory.checkpoints, disk.checkpoints):
        assert b.ok and b.spectrum.label == a.spectrum.label and b.spectrum.meta == a.spectrum.meta
        np.testing.assert_array_equal(b.spectrum.frequency, a.spectrum.frequency)
        np.testing.assert_array_equal(b.spectrum.z, a.spectrum.z)
    assert disk.checkpoints[2] == disk.checkpoints[2] and disk.checkpoints[2] != disk.checkpoints[3]
    again = pickle.loads(pickle.dumps(disk))  # a saved campaign holds its spectra and results themselves
    assert type(again.checkpoints[0].__dict__["_spectrum"]) is eisfit.Spectrum and type(again.results) is list
    np.testing.assert_array_equal(again.checkpoints[0].spectrum.z, memory.checkpoints[0].spectrum.z)


def test_a_spooled_campaign_reads_each_spectrum_once_per_fit(csv_folder, monkeypatch):
    """The fits read each checkpoint's spectrum from the spool once, for the task's payload,
    and the collection of its outcome takes that one (in chunks of two: the eight members
    and the three lead-ins, each the last member of the chunk before, read again for the
    next chunk; it had been 19, each member read again for its result)."""
    from eisfit.campaign import runner

    monkeypatch.setattr(runner, "chunk_size", lambda n: 2)
    loads = []
    real_load, real_fits = Spool.load, runner.run_campaign_fits
    fitting = [False]

    def load(self, handle):
        if fitting[0] and handle.light is None:  # a spectrum (a result has its light fields)
            loads.append(handle.offset)
        return real_load(self, handle)

    monkeypatch.setattr(Spool, "load", load)
    monkeypatch.setattr("eisfit.campaign.run_campaign_fits", _flagged_while(fitting, real_fits))
    camp = _spooled(monkeypatch, csv_folder)
    assert len(fitted_indices(camp.results)) == 8 and camp.stats["repair_fits"] == 0
    assert len(loads) == 8 + 3 and len(set(loads)) == 8


def test_a_checkpoint_pickled_before_the_spool_reads_back_with_its_spectrum(spectra):
    """A checkpoint pickled by an eisfit before session 72 held its spectrum as ``spectrum`` in
    its __dict__; it unpickles with it."""
    from eisfit.campaign.sources import Checkpoint

    old = Checkpoint.__new__(Checkpoint)
    old.__setstate__({"label": "0 h", "spectrum": spectra[0], "file": None, "sweep": None, "cell": "cell",
                      "time_h": 0.0, "error": None})
    assert old.ok and old.spectrum is spectra[0] and old.label == "0 h"


def test_an_unpickled_checkpoint_equals_the_original_and_shares_its_dict_keys(spectra):
    """The reading workers send every checkpoint pickled; unpickled, each is the checkpoint it
    was (spectrum and all fields) and its instance dict shares its keys with the others, as
    one made by __init__ does (a dict of its own had been ~290 bytes more per checkpoint)."""
    import dataclasses
    import pickle
    import sys

    from eisfit.campaign.sources import Checkpoint

    made = [Checkpoint(label=f"{k} h", spectrum=spectra[0], file=f"/data/cell_{k:05d}.csv", sweep=0, time_h=float(k),
                       content_sha256="ab" * 32) for k in range(3)]
    back = pickle.loads(pickle.dumps(made))
    fields = [f.name for f in dataclasses.fields(Checkpoint) if f.name != "spectrum"]
    assert [[getattr(c, n) for n in fields] for c in back] == [[getattr(c, n) for n in fields] for c in made]
    assert all(np.array_equal(c.spectrum.z, spectra[0].z) and np.array_equal(c.spectrum.frequency, spectra[0].frequency)
               for c in back)
    assert [sys.getsizeof(c.__dict__) for c in back] == [sys.getsizeof(c.__dict__) for c in made]


def test_the_passes_before_the_outputs_read_back_only_the_fits_whose_roles_change(monkeypatch):
    """The arc-jump flags and the campaign's one role per arc are judged on what was taken of
    each fit when it was stowed (a ResultView): no fit is read back from the spool for them,
    except those whose roles change (relabelled and stored again); the flags, notes, roles and
    table are those of the campaign held in memory. Arc 1's C_eff/A lies about the role
    threshold (1e-7 F/cm2), so some checkpoints guess it otherwise; R2 jumps 4x at 4 h."""
    from eisfit.campaign import roles as roles_module
    from eisfit.campaign import runner

    q1 = [5e-8, 6e-8, 7e-8, 1.3e-7, 1.5e-7, 6.5e-8]
    r2 = [500.0, 520.0, 540.0, 560.0, 2240.0, 2300.0]
    values = [[5.0, 18.0, q, 0.97, r, 1e-5, 0.85] for q, r in zip(q1, r2)]
    series = headline_series(values, seed=5)
    memory = eisfit.fit_campaign(series, **OPTIONS)
    relabelled, loads, passes = [], [], [False]
    real_load, real_with_roles = Spool.load, roles_module.with_roles

    def load(self, handle):
        if passes[0] and handle.light is not None:  # a fit (a spectrum has no light fields)
            loads.append(handle.offset)
        return real_load(self, handle)

    def with_roles(results, *args):
        relabelled.extend(results)
        return real_with_roles(results, *args)

    monkeypatch.setattr(Spool, "load", load)
    monkeypatch.setattr(roles_module, "with_roles", with_roles)
    monkeypatch.setattr(runner, "_flag_arc_jumps", _flagged_while(passes, runner._flag_arc_jumps))
    monkeypatch.setattr("eisfit.campaign._assemble", _flagged_while(passes, eisfit.campaign._assemble))
    disk = _spooled(monkeypatch, series)
    assert type(disk.results) is SpooledResults
    assert relabelled and len(loads) == len(relabelled) < len(series)
    assert any("arc-jump" in r.flags for r in disk.results)
    assert [r.flags for r in disk.results] == [r.flags for r in memory.results]
    assert [r.roles for r in disk.results] == [r.roles for r in memory.results]
    pd.testing.assert_frame_equal(_without_times(memory.table), _without_times(disk.table))
