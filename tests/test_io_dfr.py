"""Autolab FRA .dfr files (eisfit.io.dfr): the layout, the sign convention, detection by
content, and a clear error for every damaged or unknown layout.

The fixtures are synthetic, written by the test in the layout of the files seen (a
VERSION8.0 line, the number of frequencies, one more integer, 9 lines per frequency, a
trailer); the expected impedances come from the closed form of R0 + R1/(1 + jw R1 C1),
not from the reader.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eisfit
from eisfit.errors import CorruptFileError, ReadError
from eisfit.io import available_formats, detect_format

F_HZ = np.logspace(5, -1, 25)


def z_ohm(f_hz: np.ndarray) -> np.ndarray:
    """Closed form R0 + R1/(1 + jw R1 C1): 12 ohm, 85 ohm, 2 uF."""
    w = 2 * np.pi * f_hz
    return 12.0 + 85.0 / (1 + 1j * w * 85.0 * 2e-6)


def dfr_text(f_hz: np.ndarray, z: np.ndarray, n_declared: int | None = None, trailer: bool = True) -> str:
    lines = ["VERSION8.0", f" {len(f_hz) if n_declared is None else n_declared}", " 1"]
    for f, zz in zip(f_hz, z):
        lines += [f" {float(f)!r}", f" {float(zz.real)!r}", f" {float(-zz.imag)!r}"] + [" 0.0"] * 6
    if trailer:
        lines += [" 1.0"] * 3 + ["13.07.2022 22:32:00", "12.11.2018 22:33:00"] + [" 2.0"] * 5
    return "\n".join(lines) + "\n"


def _write(tmp_path, text: str, name: str = "cell.dfr"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_reads_frequency_and_impedance_with_the_capacitive_sign(tmp_path):
    z = z_ohm(F_HZ)
    p = _write(tmp_path, dfr_text(F_HZ, z))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about
        (s,) = eisfit.read(p)
    np.testing.assert_allclose(s.frequency, F_HZ, rtol=1e-15)
    np.testing.assert_allclose(s.z, z, rtol=1e-14)
    assert np.all(s.z.imag < 0)  # stored as -Z'' (positive); read back capacitive negative
    assert s.meta["format"] == "dfr" and s.meta["software_version"] == "8.0"
    assert s.meta["imag_sign"] == "positive" and s.meta["imag_sign_source"] == "format"


def test_detected_by_content_whatever_the_extension(tmp_path):
    p = _write(tmp_path, dfr_text(F_HZ, z_ohm(F_HZ)), name="export.txt")
    assert detect_format(p) == "dfr"
    assert {"dfr", "autolab-fra"} <= set(available_formats())
    assert len(eisfit.read(p, format="autolab-fra")) == 1


def test_imag_sign_option_reads_the_column_as_z_imag_itself(tmp_path):
    z = z_ohm(F_HZ)
    p = _write(tmp_path, dfr_text(F_HZ, np.conj(z)))  # a file holding Z'' where -Z'' belongs
    (s,) = eisfit.read(p, imag_sign="negative")
    np.testing.assert_allclose(s.z, z, rtol=1e-14)
    assert s.meta["imag_sign_source"] == "option"
    with pytest.raises(ReadError, match="imag_sign must be one of"):
        eisfit.read(p, imag_sign="upside-down")


def test_fit_recovers_the_circuit(tmp_path):
    p = _write(tmp_path, dfr_text(F_HZ, z_ohm(F_HZ)))
    r = eisfit.fit(eisfit.read(p)[0], circuit="R0-p(R1,C1)")
    assert r.values["R0"] == pytest.approx(12.0, rel=1e-6)
    assert r.values["R1"] == pytest.approx(85.0, rel=1e-6)
    assert r.values["C1"] == pytest.approx(2e-6, rel=1e-6)


def test_truncated_file_names_the_missing_records(tmp_path):
    text = dfr_text(F_HZ, z_ohm(F_HZ), trailer=False)
    lines = text.splitlines()
    p = _write(tmp_path, "\n".join(lines[:3 + 9 * 10 + 4]) + "\n")  # 10 whole records and part of the 11th
    with pytest.raises(CorruptFileError, match=r"cell\.dfr.*declares 25 frequencies.*holds 10 whole records"):
        eisfit.read(p)


def test_a_line_that_is_not_a_number_is_named_by_its_line(tmp_path):
    lines = dfr_text(F_HZ, z_ohm(F_HZ)).splitlines()
    lines[3 + 9 * 2 + 1] = " 1.2.3"  # Z' of the third record
    p = _write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(CorruptFileError, match=r"line 23: ' ?1\.2\.3' is not a number \(record 3 of 25"):
        eisfit.read(p)


def test_another_record_length_is_refused_not_read_on(tmp_path):
    lines = ["VERSION9.1", " 6", " 1"]  # a layout of 7 lines per frequency read as 9 would mix columns
    for f, zz in zip(F_HZ[:6], z_ohm(F_HZ[:6])):
        lines += [f" {float(f)!r}", f" {float(zz.real)!r}", f" {float(-zz.imag)!r}"] + [" 0.0"] * 4
    p = _write(tmp_path, "\n".join(lines + [" 1.0"] * 20) + "\n")
    with pytest.raises(CorruptFileError, match="not positive|do not fall"):
        eisfit.read(p)


def test_not_a_dfr_header(tmp_path):
    p = _write(tmp_path, "hello\n 3\n 1\n 1.0\n")
    with pytest.raises(CorruptFileError, match="not an Autolab FRA .dfr file"):
        eisfit.read(p, format="dfr")
    with pytest.raises(CorruptFileError, match="declares 0 frequencies"):
        eisfit.read(_write(tmp_path, "VERSION8.0\n 0\n 1\n", "empty.dfr"))


def test_command_line_reads_it(tmp_path):
    from click.testing import CliRunner

    from eisfit.cli import main

    p = _write(tmp_path, dfr_text(F_HZ, z_ohm(F_HZ)))
    out = CliRunner().invoke(main, ["read", str(p)])
    assert out.exit_code == 0, out.output
    rows = [ln.split(",") for ln in out.output.strip().splitlines()[1:]]
    assert len(rows) == F_HZ.size
    assert float(rows[0][1]) == pytest.approx(F_HZ[0]) and float(rows[0][3]) < 0
