"""An LCR meter's workbook (Hioki IM3536: a settings block, then ``Frequency(Hz)``, ``AC
Status``, ``Z``, ``Rs``, ``PH``, ``Cp`` over several sweeps; real exports: ivanthepevt/
EIS-data-spliter) had been refused as 'the columns hold the capacitance'. ``PH`` beside ``Z``
is the phase of Z in degrees; a ``pH`` column is none.

The workbook is synthetic, written by the test; the expected impedances come from the
closed form of the circuit, not from the reader.
"""
from __future__ import annotations

import numpy as np

import eisfit

F = np.logspace(np.log10(4.4668), 6, 40)


def z_ohm(f_hz: np.ndarray, r2: float = 2e4) -> np.ndarray:
    """Closed form R0 + R2/(1 + jw R2 C): 50 ohm, ``r2`` ohm, 10 nF."""
    w = 2 * np.pi * f_hz
    return 50.0 + r2 / (1 + 1j * w * r2 * 1e-8)


def test_hioki_workbook_gives_each_sweep_from_z_and_ph(tmp_path):
    from test_io_xlsx import Book

    rows = [["MODEL", "IM3536"], ["Serial NO.", "210902038"], ["Ver", "V1.06"], [], ["DATE", 44670.0],
            ["TIME", 0.609], [], ["AC SETTINGS"], ["FREQ", 1e6, "Hz"], ["V", 0.01, "V"], [],
            ["Frequency(Hz)", "AC Status", "Z", "Rs", "PH", "Cp"]]
    sweeps = [z_ohm(F), z_ohm(F, 1e4)]
    for z in sweeps:
        rows += [[float(f), 0.0, float(abs(v)), float(v.real), float(np.degrees(np.angle(v))),
                  1e-9] for f, v in zip(F, z)]
    p = Book().sheet("30ul", rows).save(tmp_path / "hioki.xlsx")
    spectra = eisfit.read(p)
    assert len(spectra) == 2
    for s, z in zip(spectra, sweeps):
        np.testing.assert_allclose(s.frequency, F, rtol=1e-15)
        np.testing.assert_allclose(s.z, z, rtol=1e-12)
        assert s.meta["columns_detected"]["modulus"] == "Z" and s.meta["columns_detected"]["phase"] == "PH"


def test_a_ph_column_beside_z_real_and_imaginary_stays_no_phase(tmp_path):
    z = z_ohm(F)
    p = tmp_path / "ph.csv"
    p.write_text("Frequency (Hz),Z' (Ohm),Z'' (Ohm),pH\n" + "".join(
        f"{f!r},{v.real!r},{v.imag!r},7.2\n" for f, v in zip(F.tolist(), z.tolist())))
    (s,) = eisfit.read(p)
    np.testing.assert_allclose(s.z, z, rtol=1e-14)
    assert "phase" not in s.meta["columns_detected"] and np.all(s.columns["pH"] == 7.2)
