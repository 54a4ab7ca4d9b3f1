"""Ivium .idf/.ids and PalmSens .pssession files.

The fixtures are written here from the layout facts each reader's docstring lists (binary
preamble, settings lines and ``primary_data`` block for Ivium; UTF-16 JSON sessions for
PalmSens); the expected impedances come from the closed form of the circuit.
"""
from __future__ import annotations

import datetime as dt
import json
import warnings

import numpy as np
import pytest

import eisfit
from eisfit.errors import CorruptFileError, MissingColumnError, ReadError
from eisfit.io import detect_format
from eisfit.io._common import ReadWarning

F = np.logspace(5, -1, 25)


def z_cell_ohm(f_hz: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """R0 + R1/(1 + jw R1 C1) + R2/(1 + (jw R2 Q)^0.8), ohm."""
    w = 2 * np.pi * np.asarray(f_hz, dtype=float)
    return scale * (20.0 + 300.0 / (1 + 1j * w * 300.0 * 1e-8) + 900.0 / (1 + (1j * w * 900.0 * 2e-5) ** 0.8))


# ---- Ivium ---------------------------------------------------------------------------
def _ivium_dataset(f, z, *, method="Impedance", title="cell 7", start="", columns=None) -> bytes:
    settings = ["Peaks=false", "Corrosion=false", "Levels=false", "ECN=false", "Solarcell=false",
                f"starttime={start}", "endtime=", f"Method={method}", "Technique=Constant E", "Dconfig=0",
                f"Title={title}", f"Frequencies={len(f)}"]
    if columns is None:
        columns = [np.real(z), np.imag(z), f]
    rows = ["  ".join(f"{v:.5E}" for v in row) + " " for row in zip(*columns)]
    block = ["primary_data    ", f"{len(columns):<10d}", f"{len(rows):<10d}", *rows, "7         ",
             "osc_data        ", "0         "]
    return b"\x00" * 16 + b"H\x00\x00\x00\r\n" + "\r\n".join(settings + block).encode("latin-1") + b"\r\n"


def test_an_ivium_idf_file_is_read_by_content(tmp_path):
    path = tmp_path / "cell7_export.dat"  # not the .idf extension: recognised by content
    path.write_bytes(_ivium_dataset(F, z_cell_ohm(F), start="2026-02-01 10:00:00"))
    assert detect_format(path) == "ivium"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (s,) = eisfit.read(path)
    np.testing.assert_allclose(s.frequency, F, rtol=1e-5)
    np.testing.assert_allclose(s.z, z_cell_ohm(F), rtol=1e-5)  # five significant digits in the file
    assert s.meta["title"] == "cell 7" and s.meta["ivium_technique"] == "Constant E"
    assert s.meta["start_time"] == "2026-02-01T10:00:00" and s.meta["format"] == "ivium"


@pytest.mark.parametrize("newline", [b"\n", b"\r", b"\r\r\n"])
def test_an_ivium_file_with_other_line_ends_reads_the_same(tmp_path, newline):
    """LF, CR alone and CR CR LF (CRLF converted twice: Python reads an empty line after each
    line, which the data block's row count met before its rows)."""
    path = tmp_path / "cell.idf"
    path.write_bytes(_ivium_dataset(F, z_cell_ohm(F)).replace(b"\r\n", newline))
    (s,) = eisfit.read(path)
    np.testing.assert_allclose(s.frequency, F, rtol=1e-5)
    np.testing.assert_allclose(s.z, z_cell_ohm(F), rtol=1e-5)


def test_an_ivium_ids_file_gives_its_impedance_datasets_and_names_the_others(tmp_path):
    e = np.linspace(-0.5, 0.5, 40)
    cv = _ivium_dataset(e, None, method="CyclicVoltammetry", columns=[e, 1e-3 * e])
    data = (_ivium_dataset(F, z_cell_ohm(F), title="0 h", start="01/02/2026 10:00:00") + cv
            + _ivium_dataset(F, z_cell_ohm(F, 0.5), title="500 h"))
    path = tmp_path / "campaign.ids"
    path.write_bytes(data)
    with pytest.warns(ReadWarning, match="other methods left out: CyclicVoltammetry"):
        a, b = eisfit.read(path)
    assert (a.meta["title"], b.meta["title"]) == ("0 h", "500 h")
    assert (a.meta["sweep"], b.meta["sweep"], b.meta["n_sweeps"]) == (0, 1, 2)
    assert a.meta["starttime_text"] == "01/02/2026 10:00:00" and "start_time" not in a.meta  # day/month unknown
    np.testing.assert_allclose(b.z, z_cell_ohm(F, 0.5), rtol=1e-5)


def test_damaged_or_foreign_ivium_files_get_one_clear_error(tmp_path):
    good = _ivium_dataset(F, z_cell_ohm(F))
    cut = tmp_path / "cut.idf"
    cut.write_bytes(good[: good.index(b"primary_data") + 200])
    with pytest.raises(CorruptFileError, match=r"cut.idf: line \d+: primary_data announces 25 rows, the file ends"):
        eisfit.read(cut)
    e = np.linspace(-0.5, 0.5, 40)
    cv = tmp_path / "cv.idf"
    cv.write_bytes(_ivium_dataset(e, None, method="CyclicVoltammetry", columns=[e, 1e-3 * e]))
    with pytest.raises(MissingColumnError, match="no impedance data in this Ivium file .methods: CyclicVoltammetry"):
        eisfit.read(cv)
    bad = tmp_path / "bad.idf"
    bad.write_bytes(good.replace(b"primary_data    \r\n3 ", b"primary_data    \r\nx "))
    with pytest.raises(CorruptFileError, match="the number of columns of 'primary_data' expected"):
        eisfit.read(bad)


# ---- PalmSens ------------------------------------------------------------------------
def _array(description, unit_type, symbol, quantity, values):
    return {"Type": "PalmSens.Data.DataArray", "Description": description,
            "Unit": {"Type": f"PalmSens.Units.{unit_type}", "S": symbol, "Q": quantity},
            "DataValues": [{"V": float(v)} for v in values]}


def _eis_dataset(f, z, *, minus_imag=True, ohm="\u03a9", scale=1.0, n_run=60):
    return {"Type": "PalmSens.Data.DataSetEIS", "Values": [
        _array("Idc", "MicroAmpere", "A", "Current", np.zeros(n_run)),  # the whole run's length
        _array("Frequency", "Hertz", "Hz", "Frequency", f),
        _array("ZRe", "ZRe", ohm, "Z'", np.real(z) / scale),
        _array("ZIm", "ZIm", ohm, "-Z''" if minus_imag else "Z''", (-np.imag(z) if minus_imag else np.imag(z)) / scale),
        _array("Phase", "Phase", "\u00b0", "-Phase", -np.degrees(np.angle(z)))]}


TICKS_2026 = (dt.datetime(2026, 2, 1, 10, 0, 0) - dt.datetime(1, 1, 1)) // dt.timedelta(microseconds=1) * 10


def _session(measurements) -> bytes:
    text = json.dumps({"Type": "PalmSens.DataFiles.SessionFile", "CoreVersion": "5.9", "Measurements": measurements})
    return text.encode("utf-16") + "\ufeff".encode("utf-16-le")  # BOM first, a stray BOM after the JSON


def _measurement(title, dataset, eis_list=()):
    return {"Title": title, "TimeStamp": TICKS_2026, "DeviceSerial": "PS4-0001", "DataSet": dataset,
            "Curves": [], "EISDataList": list(eis_list)}


def test_a_palmsens_session_with_two_sweeps_in_one_measurement(tmp_path):
    f2 = np.concatenate([F, F])
    z2 = np.concatenate([z_cell_ohm(F), z_cell_ohm(F, 0.8)])
    path = tmp_path / "cell7.json"  # recognised by content
    path.write_bytes(_session([_measurement("cell 7", _eis_dataset(f2, z2))]))
    assert detect_format(path) == "palmsens"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a, b = eisfit.read(path)
    np.testing.assert_allclose(a.z, z_cell_ohm(F), rtol=1e-12)
    np.testing.assert_allclose(b.z, z_cell_ohm(F, 0.8), rtol=1e-12)
    assert a.meta["start_time"] == "2026-02-01T10:00:00" and a.meta["device_serial"] == "PS4-0001"
    assert a.meta["imag_sign"] == "positive" and b.meta["sweep"] == 1


def test_palmsens_units_sign_convention_and_curve_list(tmp_path):
    kohm = _measurement("kohm", _eis_dataset(F, z_cell_ohm(F), minus_imag=False, ohm="k\u2126", scale=1e3))
    cv = _measurement("CV", {"Type": "PalmSens.Data.DataSet", "Values": [_array("potential", "Volt", "V", "E", [0, 1])]})
    curves = _measurement("curves only", {"Type": "PalmSens.Data.DataSet", "Values": []},
                          [{"Title": "scan 1", "DataSet": _eis_dataset(F, z_cell_ohm(F, 2.0))}])
    path = tmp_path / "mixed.pssession"
    path.write_bytes(_session([kohm, cv, curves]))
    with pytest.warns(ReadWarning, match="without impedance data left out: CV"):
        a, b = eisfit.read(path)
    np.testing.assert_allclose(a.z, z_cell_ohm(F), rtol=1e-12)  # kOhm, Z'' stored with its sign
    assert a.meta["imag_sign"] == "negative"
    np.testing.assert_allclose(b.z, z_cell_ohm(F, 2.0), rtol=1e-12)
    assert b.meta["title"] == "curves only / scan 1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forced = eisfit.read(path, imag_sign="positive")[0]
    np.testing.assert_allclose(forced.z, np.conj(z_cell_ohm(F)), rtol=1e-12)


def test_damaged_palmsens_sessions_get_one_clear_error(tmp_path):
    good = _session([_measurement("cell", _eis_dataset(F, z_cell_ohm(F)))])
    cut = tmp_path / "cut.pssession"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(CorruptFileError, match=r"cut.pssession: damaged session file: .* \(truncated\?\)"):
        eisfit.read(cut)
    ds = _eis_dataset(F, z_cell_ohm(F))
    ds["Values"][2]["DataValues"].pop()
    short = tmp_path / "short.pssession"
    short.write_bytes(_session([_measurement("cell", ds)]))
    with pytest.raises(CorruptFileError, match="Frequency, ZRe and ZIm have 25, 24 and 25 values"):
        eisfit.read(short)
    with pytest.raises(ReadError, match="imag_sign must be one of"):
        eisfit.read(tmp_path / "short.pssession", imag_sign="up")


def test_an_ivium_block_in_another_column_order_is_refused_not_misread(tmp_path):
    path = tmp_path / "reordered.idf"
    z = z_cell_ohm(F)
    path.write_bytes(_ivium_dataset(F, z, columns=[F, np.real(z), np.imag(z)]))  # f, Z', Z''
    with pytest.raises(CorruptFileError, match="the third column of 'primary_data' is not a frequency sweep"):
        eisfit.read(path)


def _lower_keys(value):
    if isinstance(value, dict):
        return {k.lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def test_a_multichannel_dc_scan_gives_every_channel_and_potential(tmp_path):
    # PSTrace's multichannel "E dc scan": the measurement's own data set holds the last channel's
    # points only; each channel's curve holds one sub-scan per DC potential (a real session's layout)
    def z_of(channel, k):
        return z_cell_ohm(F, 1.0 + 0.1 * channel + 0.01 * k)

    potentials = (0.0, 0.2, 0.4)
    curves = [{"Title": f"CH {ch}: E dc scan at {F.size} freqs",
               "SubScans": [{"Title": f"E={e:.3f} V", "DataSet": _eis_dataset(F, z_of(ch, k))}
                            for k, e in enumerate(potentials)]} for ch in (3, 5)]
    own = _eis_dataset(np.tile(F, 3), np.concatenate([z_of(5, k) for k in range(3)]))
    path = tmp_path / "multi.pssession"
    path.write_bytes(_session([_measurement("Impedance Spectroscopy", own, curves)]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spectra = eisfit.read(path)
    assert len(spectra) == 6
    for s, (ch, (k, e)) in zip(spectra, [(ch, ke) for ch in (3, 5) for ke in enumerate(potentials)]):
        np.testing.assert_allclose(s.z, z_of(ch, k), rtol=1e-12)
        assert s.meta["channel"] == ch and s.meta["dc_potential_V"] == e
        assert s.meta["title"] == f"Impedance Spectroscopy / CH {ch}: E dc scan at {F.size} freqs / E={e:.3f} V"


def test_curves_holding_fewer_points_than_the_measurement_leave_its_data_set_read(tmp_path):
    f2 = np.concatenate([F, F])
    z2 = np.concatenate([z_cell_ohm(F), z_cell_ohm(F, 0.8)])
    curves = [{"Title": "scan 2", "DataSet": _eis_dataset(F, z_cell_ohm(F, 0.8))}]  # one of the two sweeps
    path = tmp_path / "two.pssession"
    path.write_bytes(_session([_measurement("cell", _eis_dataset(f2, z2), curves)]))
    a, b = eisfit.read(path)
    np.testing.assert_allclose(a.z, z_cell_ohm(F), rtol=1e-12)
    np.testing.assert_allclose(b.z, z_cell_ohm(F, 0.8), rtol=1e-12)


def test_a_session_written_with_lower_case_keys_reads_the_same(tmp_path):
    session = {"Type": "PalmSens.DataFiles.SessionFile", "CoreVersion": "5.9",
               "Measurements": [_measurement("cell 7", _eis_dataset(F, z_cell_ohm(F)))]}
    path = tmp_path / "lower.pssession"
    path.write_bytes(json.dumps(_lower_keys(session)).encode("utf-16") + "\ufeff".encode("utf-16-le"))
    assert detect_format(path) == "palmsens"
    (s,) = eisfit.read(path)
    np.testing.assert_allclose(s.z, z_cell_ohm(F), rtol=1e-12)
    assert s.meta["device_serial"] == "PS4-0001" and s.meta["start_time"] == "2026-02-01T10:00:00"
