"""A headerless (f, |Z|, phase) table is read as (f, Z', Z''), which the values alone cannot
tell apart: the reader records the other reading, and a fit whose data then fail the Lin-KK
test while the other reading passes it says so (flag ``columns-modulus-phase``)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eisfit
from eisfit.analysis.quality import modulus_phase_reading
from eisfit.fitting.flags import PROBLEM, severity
from eisfit.model import Circuit

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
TRUE = [20.0, 150.0, 1e-8, 0.9, 400.0, 1e-5, 0.85]
F = np.geomspace(1e6, 0.1, 60)


def _write(path, columns):
    np.savetxt(path, np.column_stack(columns), delimiter="\t")
    return path


def _z(scale=1.0):
    params = list(TRUE)
    params[0], params[1], params[4] = (scale * params[0], scale * params[1], scale * params[4])
    return Circuit(CIRCUIT).impedance(params, F)


def test_a_modulus_phase_table_is_flagged_and_reads_right_with_columns(tmp_path):
    z = _z()
    path = _write(tmp_path / "modphase.txt", [F, np.abs(z), np.degrees(np.angle(z))])
    spectrum = eisfit.read(path)[0]
    assert spectrum.meta["columns_alternative"] == ("column 2 = |Z|, column 3 = phase (deg); "
                                                    "--columns frequency=0,modulus=1,phase=2")
    assert "the same values could be column 2 = |Z|, column 3 = phase (deg)" in spectrum.meta["columns_rule"]
    assert modulus_phase_reading(spectrum).passed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = eisfit.fit(spectrum, CIRCUIT)
    flag = next(f for f in result.flags if f.startswith("columns-modulus-phase:"))
    assert severity(flag) == PROBLEM and "kk-failed" in result.flags
    assert float(flag.split(":")[1].rstrip("%")) < 1.0  # the right reading passes with a small residual
    right = eisfit.read(path, columns={"frequency": 0, "modulus": 1, "phase": 2})[0]
    np.testing.assert_allclose(right.z, z, rtol=1e-9)
    fitted = eisfit.fit(right, CIRCUIT)
    assert not any(f.startswith("columns-modulus-phase") for f in fitted.flags)
    assert fitted.values["R2"] == pytest.approx(400.0, rel=1e-6)


def test_radians_are_recognised():
    from eisfit.io._identify import modulus_phase_alternative

    z = _z()
    values = np.column_stack([F, np.abs(z), np.angle(z)])
    assert "phase (rad)" in modulus_phase_alternative(values, {"frequency": 0, "real": 1, "imag": 2})
    # the option names the columns where they are: a time column first
    shifted = modulus_phase_alternative(np.column_stack([np.arange(F.size), values]),
                                        {"frequency": 1, "real": 2, "imag": 3})
    assert shifted.endswith("--columns frequency=1,modulus=2,phase=3")


def test_a_real_and_imaginary_table_is_left_alone(tmp_path):
    """Z'' beyond +-90 ohm is no phase: no other reading. A small cell whose Z'' could be a
    phase keeps its reading when its data pass the Lin-KK test (the check runs only on a
    failure)."""
    z = _z()
    big = eisfit.read(_write(tmp_path / "reim.txt", [F, z.real, z.imag]))[0]
    assert "columns_alternative" not in big.meta and modulus_phase_reading(big) is None
    small_z = _z(scale=0.1)
    small = eisfit.read(_write(tmp_path / "small.txt", [F, small_z.real, small_z.imag]))[0]
    assert "phase (deg)" in small.meta["columns_alternative"]  # |Z''| < 90: it could be a phase
    result = eisfit.fit(small, CIRCUIT)
    assert not any(f.startswith(("columns-modulus-phase", "kk-failed")) for f in result.flags)
    assert result.values["R2"] == pytest.approx(40.0, rel=1e-6)


def test_a_table_with_a_header_has_no_other_reading(tmp_path):
    z = _z(scale=0.1)
    path = tmp_path / "headed.csv"
    np.savetxt(path, np.column_stack([F, z.real, z.imag]), delimiter=",", header="freq/Hz,Zre/Ohm,Zim/Ohm",
               comments="")
    assert "columns_alternative" not in eisfit.read(path)[0].meta


def test_a_campaign_of_such_files_carries_the_flag(tmp_path):
    """The other reading travels with the spectrum to the campaign's fits (its meta is scalar)."""
    z = _z()
    for k in range(3):
        _write(tmp_path / f"cp{k}.txt", [F, np.abs(z), np.degrees(np.angle(z))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        camp = eisfit.fit_campaign(tmp_path, circuit=CIRCUIT, cache_dir=False, progress=False)
    assert all(any(f.startswith("columns-modulus-phase:") for f in r.flags) for r in camp.results)


def test_validate_says_which_reading_passes(tmp_path):
    from click.testing import CliRunner

    from eisfit.cli import main

    z = _z()
    path = _write(tmp_path / "modphase.txt", [F, np.abs(z), np.degrees(np.angle(z))])
    out = CliRunner().invoke(main, ["validate", str(path)])
    assert "FAIL" in out.output
    assert "the file most probably holds |Z| and phase; read it with --columns frequency=0,modulus=1,phase=2" \
        in " ".join(out.output.split())
    right = CliRunner().invoke(main, ["validate", str(path), "--columns", "frequency=0,modulus=1,phase=2"])
    assert right.exit_code == 0 and "pass" in right.output and "most probably" not in right.output
