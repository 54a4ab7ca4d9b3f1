"""The instrument's noise-to-signal columns (BioLogic's ``NSR Ewe/%``, ``NSR I/%``) reach every
fitting path: ``eisfit.fit`` flags ``noisy-points:<n>`` from them, and a campaign or a stream
of the same spectra flags the same (their workers had been sent the points without the
columns, so the flag was lost). A campaign keeps of a file's per-point columns only these."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import eisfit
from eisfit import Spectrum
from eisfit.fitting.batch import fit_payload, fit_stream
from eisfit.model import Circuit

from conftest import realdata_path

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
F = np.logspace(6, -1, 36)
NOISY = 3  # points with NSR >= 100 %


def _spectrum(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(f, z, NSR %) of a two-arc cell whose last NOISY points the instrument reports as noise."""
    z = Circuit(CIRCUIT).impedance(np.array([5.0, 60.0 + 5 * k, 1e-9, 0.9, 250.0, 2e-6, 0.8]), F)
    rng = np.random.default_rng(k)
    z = z * (1 + 0.003 * (rng.standard_normal(F.size) + 1j * rng.standard_normal(F.size)))
    nsr = np.full(F.size, 1.5)
    nsr[-NOISY:] = 140.0
    return F, z, nsr


def _spectra() -> list[Spectrum]:
    out = []
    for k in range(3):
        f, z, nsr = _spectrum(k)
        out.append(Spectrum(f, z, meta={"label": f"c{k}"}, columns={"NSR I/%": nsr, "time/s": 10.0 * np.arange(f.size)}))
    return out


def _noisy(flags) -> list[str]:
    return [f for f in flags if f.startswith("noisy-points")]


def _write_csvs(folder) -> None:
    for k in range(3):
        f, z, nsr = _spectrum(k)
        rows = [f"{float(a)!r},{float(b.real)!r},{float(-b.imag)!r},{10.0 * i},{float(n)}"
                for i, (a, b, n) in enumerate(zip(f, z, nsr))]
        (folder / f"cell_{k}.csv").write_text("\n".join(["freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm,time/s,NSR I/%", *rows]) + "\n")



def test_only_columns_keeps_the_points_selection_and_meta_and_shares_their_arrays():
    f, z, nsr = _spectrum(0)
    mask = np.ones(F.size, bool)
    mask[:2] = False
    s = Spectrum(f, z, meta={"label": "c0"}, columns={"NSR I/%": nsr, "time/s": 10.0 * np.arange(F.size)})
    s = s.select(mask)
    kept = s.only_columns(lambda name: name.startswith("NSR "))
    assert list(kept.columns) == ["NSR I/%"]
    np.testing.assert_array_equal(kept.columns["NSR I/%"], nsr[mask])
    np.testing.assert_array_equal(kept.frequency, s.frequency)
    np.testing.assert_array_equal(kept.z, s.z)
    np.testing.assert_array_equal(kept.mask, mask)
    assert kept.meta == s.meta and kept.meta is not s.meta  # its own meta dict
    assert np.shares_memory(kept._z, s._z) and np.shares_memory(kept._frequency, s._frequency)  # not copied
    assert kept.only_columns(lambda name: name.startswith("NSR ")) is kept  # nothing to drop: itself

def test_the_payload_of_a_fit_holds_the_noise_columns_of_the_selected_points():
    s = _spectra()[0].crop(fmin=1.0)
    f, z, meta, columns = fit_payload(s)
    assert list(columns) == ["NSR I/%"] and meta == {"label": "c0"}
    np.testing.assert_array_equal(f, s.frequency)
    np.testing.assert_array_equal(columns["NSR I/%"], s.columns["NSR I/%"])
    assert columns["NSR I/%"].size == f.size < F.size  # cropped with the points: the noisy ones are gone
    assert fit_payload(Spectrum(F, _spectrum(0)[1]))[3] == {}


def test_a_campaign_of_spectra_flags_the_noisy_points_as_the_single_fit_does():
    spectra = _spectra()
    single = [_noisy(eisfit.fit(s, CIRCUIT).flags) for s in spectra]
    assert single == [[f"noisy-points:{NOISY}"]] * 3
    camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, cache_dir=False, progress=False)
    assert [_noisy(r.flags) for r in camp.results] == single


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_campaign_of_files_flags_them_and_keeps_only_the_noise_columns(tmp_path, jobs):
    _write_csvs(tmp_path)
    single = [_noisy(eisfit.fit(s, CIRCUIT).flags) for p in sorted(tmp_path.glob("*.csv")) for s in eisfit.read(p)]
    assert single == [[f"noisy-points:{NOISY}"]] * 3
    camp = eisfit.fit_campaign(tmp_path, circuit=CIRCUIT, jobs=jobs, cache_dir=False, progress=False)
    assert [_noisy(r.flags) for r in camp.results] == single
    assert all(list(c.spectrum.columns) == ["NSR I/%"] for c in camp.checkpoints)  # time/s read, not kept
    assert all(f"noisy-points:{NOISY}" in flags for flags in camp.table["flags"])


def test_a_stream_flags_the_noisy_points(tmp_path):
    out = tmp_path / "rows.csv"
    fit_stream(_spectra(), CIRCUIT, out, chunk_size=2)
    rows = pd.read_csv(out)
    assert [_noisy(str(flags).split(";")) for flags in rows["flags"]] == [[f"noisy-points:{NOISY}"]] * 3


def test_a_real_biologic_campaign_flags_what_the_single_fits_flag():
    """yadg's geis.issue_149.mpr (EC-Lab with NSR columns): 8-10 points per sweep above 100 %."""
    path = realdata_path("mpr", "dgbowl__yadg", "geis.issue_149.mpr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the real file's own warnings are not under test here
        single = [_noisy(eisfit.fit(s).flags) for s in eisfit.read(path)]
        camp = eisfit.fit_campaign(path, cache_dir=False, progress=False)
    assert all(single) and [_noisy(r.flags) for r in camp.results] == single
    assert sorted(camp.checkpoints[0].spectrum.columns) == ["NSR Ewe/%", "NSR I/%"]
