"""Every text file of ../shared/realdata/text (role=data in MANIFEST.csv) reads with the
expected sweep count, point count, frequency range and sign; impedance.py's readers
agree where they work. Files are read in place; skipped when the folder is absent."""
from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest

import eisfit
from eisfit.io import detect_format

from conftest import REALDATA, realdata_path

MANIFEST = REALDATA / "text" / "MANIFEST.csv"
ROWS = ([r for r in csv.DictReader(MANIFEST.open(encoding="utf-8")) if r["role"] == "data"]
        if MANIFEST.exists() else [])

# file -> (detected format, impedance.preprocessing reader or None)
EXPECTED = {
    "exampleDataGamry.DTA": ("gamry", "readGamry"),
    "exampleDataGamryABORT.DTA": ("gamry", "readGamry"),
    "exampleDataZPlot.z": ("zview", "readZPlot"),
    "exampleDataZPlot_noComments.z": ("zview", "readZPlot"),
    "exampleDataAutolab.txt": ("zview", "readAutolab"),  # a Z60W (ZPlot) file despite its name
    "exampleDataCHInstruments.txt": ("ch", "readCHInstruments"),
    "exampleDataParstat.txt": ("parstat", "readParstat"),
    "exampleDataPowersuite.txt": ("powersuite", "readPowerSuite"),
    "exampleDataVersaStudio.par": ("versastudio", "readVersaStudio"),
}


def _read_quiet(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eisfit.read(path)


@pytest.mark.skipif(not ROWS, reason=f"real data manifest {MANIFEST} is absent")
@pytest.mark.parametrize("row", ROWS, ids=[r["local"] for r in ROWS])
def test_manifest_file_reads(row):
    path = realdata_path("text", row["local"])
    spectra = _read_quiet(path)
    assert len(spectra) == int(row["spectra"])
    for s in spectra:
        assert len(s) == int(row["points_per_spectrum"])
        assert s.frequency.min() == pytest.approx(float(row["fmin_Hz"]), rel=2e-3)
        assert s.frequency.max() == pytest.approx(float(row["fmax_Hz"]), rel=2e-3)
        assert np.mean(s.z.imag < 0) > 0.5, "capacitive Z'' must be negative at most points"
        assert s.meta["source"] == str(path) and s.meta["format"]
    name = path.name
    if name in EXPECTED:
        assert detect_format(path) == EXPECTED[name][0]
    elif name.endswith((".csv", ".txt")):
        assert detect_format(path) == "csv"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_agrees_with_impedance_py(name):
    preprocessing = pytest.importorskip("impedance.preprocessing")
    path = realdata_path("text", "impedance_py", "data", name)
    f_ref, z_ref = getattr(preprocessing, EXPECTED[name][1])(str(path))
    (s,) = _read_quiet(path)
    np.testing.assert_allclose(s.frequency, f_ref, rtol=1e-9, atol=0)
    np.testing.assert_allclose(s.z, z_ref, rtol=1e-9, atol=0)


def test_generic_tables_agree_with_numpy_loadtxt(realdata):
    """Headerless DRTtools/EISFitpython tables: same numbers as a plain loadtxt."""
    for rel, delim in [("drttools/DRTtools/data_LIB.csv", ","),
                       ("eisfitpython/EIS_Data/Example_noheader.txt", None),
                       ("impedance_py/data/exampleData.csv", ",")]:
        path = realdata_path("text", *rel.split("/"))
        ref = np.loadtxt(path, delimiter=delim)
        (s,) = _read_quiet(path)
        np.testing.assert_array_equal(s.frequency, ref[:, 0])
        np.testing.assert_array_equal(s.z, ref[:, 1] + 1j * ref[:, 2])


def test_metadata_of_instrument_files(realdata):
    data = realdata_path("text", "impedance_py", "data")
    (g,) = _read_quiet(data / "exampleDataGamry.DTA")
    assert g.meta["technique"] == "PEIS" and g.meta["start_time"] == "2018-04-23T16:43:15"
    assert g.meta["area"] == 1.0 and g.meta["area_unit"] == "cm^2"
    assert g.meta["ac_amplitude"] == 10.0 and g.meta["ac_amplitude_unit"] == "mV rms"
    with pytest.warns(UserWarning, match="aborted"):
        (a,) = eisfit.read(data / "exampleDataGamryABORT.DTA")
    assert a.meta["aborted"] is True
    with pytest.warns(UserWarning, match="declares 79 points"):
        eisfit.read(data / "exampleDataZPlot_noComments.z")
    (v,) = _read_quiet(data / "exampleDataVersaStudio.par")
    assert v.meta["software_version"] == "2.52.3.0" and v.meta["start_time"] == "2018-07-19T09:40:30"
    (c,) = _read_quiet(data / "exampleDataCHInstruments.txt")
    assert c.meta["start_time"] == "2020-02-20T15:55:08" and c.meta["instrument"] == "CHI660E"
