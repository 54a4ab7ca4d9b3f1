"""Novocontrol WinDETA "Data from LCR Meter" files (eisfit.io.windeta): the layout, the phase
in radians under a degree label, a temperature series, and clear errors for damaged files.

The fixtures are synthetic, written by the test in the layout of the real files seen
(alicjak1519/analiza_eis); the expected impedances come from the closed form of
R0 + R1/(1 + jw R1 C1), not from the reader.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import eisfit
from eisfit.errors import CorruptFileError
from eisfit.io import detect_format

F = np.logspace(0, 6, 25)


def z_ohm(f_hz: np.ndarray, r1: float) -> np.ndarray:
    w = 2 * np.pi * f_hz
    return 10.0 + r1 / (1 + 1j * w * r1 * 1e-9)


def lcr_text(sweeps, *, title="REOX (116) 03", degrees=False, rows_cut=0) -> str:
    """``sweeps``: (time s, temperature C, Z array) each."""
    lines = [title, "12.12.2019 11:24:56",
             " |Z| [Ohm]      Th [\u00b0]   'Measurement Pair              E'              E\"   Frequency[Hz]",
             f"   {F.size}    'Number of Frequency Points"]
    lines += ["".join(f"  {f:.10E}" for f in F[k:k + 8]) for k in range(0, F.size, 8)]
    for k, (time_s, celsius, z) in enumerate(sweeps, start=1):
        lines.append(f"   {k}    {time_s}     {celsius}   'Data Point   Time[s]  Temperature[\u00b0C]")
        th = np.angle(z, deg=degrees)
        rows = [f" {abs(v):.9E} {t:.9E} {abs(v) * 1e10:.9E} {t * abs(v) * 1e10:.9E} {f:.9E}"
                for f, v, t in zip(F, z, th)]
        lines += rows[:len(rows) - rows_cut] if k == len(sweeps) else rows
    return "\r\n".join(lines) + "\r\n"


def _write(tmp_path, text, name="series.LCR"):
    p = tmp_path / name
    p.write_bytes(text.encode("latin-1"))
    return p


def test_a_temperature_series_gives_one_spectrum_per_data_point(tmp_path):
    sweeps = [(12590.5, 1002.98, z_ohm(F, 50.0)), (25377.7, 700.58, z_ohm(F, 2e3))]
    p = _write(tmp_path, lcr_text(sweeps), name="series.txt")  # recognised by content
    assert detect_format(p) == "windeta-lcr"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spectra = eisfit.read(p)
    assert len(spectra) == 2
    for s, (time_s, celsius, z) in zip(spectra, sweeps):
        np.testing.assert_allclose(s.frequency, F, rtol=1e-9)
        np.testing.assert_allclose(s.z, z, rtol=1e-8)
        assert s.meta["temperature_C"] == celsius and s.meta["temperature_K"] == pytest.approx(celsius + 273.15)
        assert s.meta["time_s"] == time_s and s.meta["title"] == "REOX (116) 03"
        assert s.meta["start_time"] == "2019-12-12T11:24:56"
    assert spectra[1].meta["sweep_start_time"] == "2019-12-12T18:27:53.700000"


def test_a_phase_written_in_degrees_is_read_as_degrees_in_every_sweep(tmp_path):
    flat, steep = z_ohm(F, 1.0), z_ohm(F, 1e6)  # phases within +-pi degrees, then down to about -90 degrees
    assert np.max(np.abs(np.angle(flat, deg=True))) < math.pi < np.max(np.abs(np.angle(steep, deg=True)))
    a, b = eisfit.read(_write(tmp_path, lcr_text([(1.7, 20.0, flat), (3.4, 30.0, steep)], degrees=True)))
    np.testing.assert_allclose(a.z, flat, rtol=1e-8)  # the file's unit, not each sweep's guess
    np.testing.assert_allclose(b.z, steep, rtol=1e-8)


def test_a_truncated_sweep_is_an_error_naming_it(tmp_path):
    p = _write(tmp_path, lcr_text([(1.7, 20.0, z_ohm(F, 50.0)), (3.4, 30.0, z_ohm(F, 60.0))], rows_cut=3))
    with pytest.raises(CorruptFileError, match=r"series\.LCR: line \d+: data point 2 holds 22 of the 25 rows"):
        eisfit.read(p)


def test_a_damaged_row_is_an_error_naming_its_line(tmp_path):
    lines = lcr_text([(1.7, 20.0, z_ohm(F, 50.0))]).split("\r\n")
    lines[12] = lines[12].rsplit(" ", 1)[0]  # a row of four numbers
    with pytest.raises(CorruptFileError, match=r"line 13: .* is not a row of 5 numbers"):
        eisfit.read(_write(tmp_path, "\r\n".join(lines)))


def test_not_a_windeta_file(tmp_path):
    with pytest.raises(CorruptFileError, match="not a WinDETA LCR file"):
        eisfit.read(_write(tmp_path, "hello\r\n1,2,3\r\n"), format="windeta-lcr")


def test_a_campaign_on_a_temperature_series_takes_each_sweeps_temperature(tmp_path):
    from eisfit.campaign import load_checkpoints

    sweeps = [(100.0, 300.0, z_ohm(F, 50.0)), (3700.0, 250.0, z_ohm(F, 200.0)), (7300.0, 200.0, z_ohm(F, 900.0))]
    p = _write(tmp_path, lcr_text(sweeps))
    src = load_checkpoints(p)
    assert [c.temperature_K for c in src.checkpoints] == pytest.approx([573.15, 523.15, 473.15])
    assert [c.time_h for c in src.checkpoints] == pytest.approx([0.0, 1.0, 2.0])
