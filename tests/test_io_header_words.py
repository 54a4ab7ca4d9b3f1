"""Headers and columns that real exports write and the table reader misread or refused
unclearly (an adversarial review of the readers, session 66): a double quote standing for a
double prime (``Z"``), units spelled out (``kiloHertz``, ``kilohm``) or written as ``1/s``,
complex numbers in one column, a headerless table with an evenly spaced clock column. Each
case writes a known spectrum and compares what is read with the numbers written."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import eisfit
from eisfit.errors import MissingColumnError, ReadError

F_HZ = np.logspace(5, -1, 31)
W = 2 * np.pi * F_HZ
Z_OHM = 10.0 + 100.0 / (1 + (1j * W * 100.0 * 1e-5) ** 0.9)  # R0 + R || CPE, Z'' < 0
PHASE_DEG = np.degrees(np.angle(Z_OHM))
MOD_OHM = np.abs(Z_OHM)


def _rows(columns, sep=",") -> str:
    return "".join(sep.join(f"{v:.9g}" for v in row) + "\n" for row in zip(*columns))


def _read(path: Path, text: str) -> eisfit.Spectrum:
    path.write_text(text, encoding="utf-8")
    spectra = eisfit.read(path)
    assert len(spectra) == 1
    return spectra[0]


def _assert_same(s: eisfit.Spectrum, frequency=F_HZ, z=Z_OHM) -> None:
    order = np.argsort(s.frequency)
    ref = np.argsort(frequency)
    assert s.frequency[order] == pytest.approx(frequency[ref], rel=1e-7)
    assert s.z[order] == pytest.approx(z[ref], rel=1e-7)


@pytest.mark.parametrize("header, columns, sep", [
    ("Freq\tZ'\tZ\"\tPhase", (F_HZ, Z_OHM.real, Z_OHM.imag, PHASE_DEG), "\t"),
    ("Freq,Z',\"Z\"\"\",Phase", (F_HZ, Z_OHM.real, Z_OHM.imag, PHASE_DEG), ","),  # pandas' to_csv of 'Z"'
    ("Freq\tZ'\t-Z\"\tPhase", (F_HZ, Z_OHM.real, -Z_OHM.imag, PHASE_DEG), "\t"),
    ("Freq\tZ'\tZ\"\t|Z|\tPhase", (F_HZ, Z_OHM.real, Z_OHM.imag, MOD_OHM, PHASE_DEG), "\t"),
    ("Freq, Z', Z\", Z, Phase", (F_HZ, Z_OHM.real, Z_OHM.imag, MOD_OHM, PHASE_DEG), ", "),  # CHI without units
    ("Freq,Z',Z\"", (F_HZ, Z_OHM.real, Z_OHM.imag), ","),
])
def test_a_double_quote_for_a_double_prime_names_z2(tmp_path, header, columns, sep):
    """Every quote was stripped from a header name: ``Z"`` became ``Z``, read as |Z| with the
    phase column; Z' came out negative (-25.6-7.3j for 93.9-26.6j), with only a sign warning."""
    _assert_same(_read(tmp_path / "t.txt", header + "\n" + _rows(columns, sep)))


def test_modulus_and_phase_that_disagree_with_a_z1_column_are_refused(tmp_path):
    """|Z| and phase read beside a Z' column they do not match: a column named for another
    role; refused, naming the columns, instead of read."""
    text = "Freq,Z',|Z|,Phase\n" + _rows((F_HZ, Z_OHM.real, -Z_OHM.imag, PHASE_DEG))
    with pytest.raises(MissingColumnError, match=r"the columns read as \|Z\|, phase and Z' \('\|Z\|', 'Phase', "
                                                 r"\"Z'\"\) disagree at \d+ of 31 points"):
        _read(tmp_path / "t.csv", text)
    _assert_same(_read(tmp_path / "ok.csv", "Freq,Z',|Z|,Phase\n" + _rows((F_HZ, Z_OHM.real, MOD_OHM, PHASE_DEG))))


@pytest.mark.parametrize("f_name, f_scale, z_name, z_scale", [
    ("Freq (kiloHertz)", 1e3, "(Ohm)", 1.0), ("freq/kiloHertz", 1e3, "(Ohm)", 1.0),
    ("Frequency (megahertz)", 1e6, "(Ohm)", 1.0), ("Frequency (Hz)", 1.0, "(kilohm)", 1e3),
    ("Frequency (Hz)", 1.0, "(kiloohm)", 1e3), ("Frequency (Hz)", 1.0, "(milliohm)", 1e-3),
    ("Frequency (Hz)", 1.0, "(k-ohm)", 1e3), ("Frequency (Hz)", 1.0, "(kilo-ohm)", 1e3),
    ("f (1/s)", 1.0, "(Ohm)", 1.0), ("f [s^-1]", 1.0, "(Ohm)", 1.0), ("f (Hertz)", 1.0, "(Ohm)", 1.0),
    ("freq/1/s", 1.0, "(Ohm)", 1.0),
])
def test_units_spelled_out_or_written_per_second_are_converted(tmp_path, f_name, f_scale, z_name, z_scale):
    """'kiloHertz' was read in Hz (frequencies 1000x low) with a warning; 'kilohm' refused;
    'f (1/s)' had no frequency column; 'freq/1/s' was refused as a period in seconds."""
    text = f"{f_name},Z' {z_name},-Z'' {z_name}\n" + _rows((F_HZ / f_scale, Z_OHM.real / z_scale,
                                                             -Z_OHM.imag / z_scale))
    _assert_same(_read(tmp_path / "t.csv", text))


def test_complex_numbers_in_one_column_are_refused_by_name(tmp_path):
    """pandas' to_csv of a complex column writes (10.29-1.14j): the error said the header named
    no impedance column."""
    text = "f,Z\n" + "".join(f"{f!r},{complex(z)!r}\n" for f, z in zip(F_HZ, Z_OHM))
    with pytest.raises(ReadError, match=r"the impedance is written as complex numbers \(\(.*j\)\), which eisfit "
                                        r"does not read: write Z' and Z'' \(ohm\) as columns of their own"):
        _read(tmp_path / "t.csv", text)


@pytest.mark.parametrize("step_s, first", [(2.0, True), (0.25, True), (2.0, False)])
def test_a_headerless_table_sets_an_evenly_spaced_clock_aside(tmp_path, step_s, first):
    """t, f, Z', Z'' with t = 0, 2, 4... s: refused with '1 columns left for the impedance' (Z'
    also rises over the sweep, and only an uneven clock was told from it)."""
    t = step_s * np.arange(F_HZ.size)
    columns = (t, F_HZ, Z_OHM.real, Z_OHM.imag) if first else (F_HZ, Z_OHM.real, Z_OHM.imag, t)
    _assert_same(_read(tmp_path / "t.txt", _rows(columns, "\t")))


@pytest.mark.parametrize("header, columns", [
    ("frequency,Re(Z),Img(Z)", (F_HZ, Z_OHM.real, Z_OHM.imag)),  # 'Img' for the imaginary part
    ("Freq,Z_mod,Z_Fase", (F_HZ, MOD_OHM, PHASE_DEG)),  # Spanish 'fase' (the frequency's 'frec' was known)
    ("Freq,Z mod,Fase (deg)", (F_HZ, MOD_OHM, PHASE_DEG)),
])
def test_img_and_fase_name_the_imaginary_part_and_the_phase(tmp_path, header, columns):
    """Both had been refused: 'no impedance columns ... (columns: 'frequency', 'Re(Z)', 'Img(Z)')'."""
    _assert_same(_read(tmp_path / "t.csv", header + "\n" + _rows(columns)))


def test_a_minority_of_points_whose_sign_contradicts_the_phase_column_is_warned_about(tmp_path):
    """An 'Imag' (-Z'') column that reads capacitive at the highest frequencies where the
    same rows' Phase(Z)/deg reads inductive had been read without a word; a phase column in
    the other convention (-phase at every point) is no contradiction."""
    z = Z_OHM + 1j * 2 * np.pi * F_HZ * 2e-4  # an inductive tail above ~10 kHz
    phase = np.degrees(np.angle(z))
    written = np.where(F_HZ > 2e4, np.abs(z.imag), -z.imag)  # the file's -Z'' lost its sign up there
    path = tmp_path / "t.csv"
    path.write_text("Freq,Real,Imag,Phase(Z)/deg\n" + _rows((F_HZ, z.real, written, phase)), encoding="utf-8")
    with pytest.warns(UserWarning, match=r"at (\d+) of \d+ points \([\d.e+]+-1e\+05 Hz\) the sign of Z'' read from "
                                         r"'Imag' contradicts the phase column 'Phase\(Z\)/deg'"):
        s = eisfit.read(path)[0]
    contradicting = (F_HZ > 2e4) & (z.imag > 0.02 * np.abs(z))
    assert s.z.imag[np.argsort(-s.frequency)][:contradicting.sum()] == pytest.approx(-np.abs(z.imag[contradicting]))
    path.write_text("Freq,Real,Imag,Phase(Z)/deg\n" + _rows((F_HZ, z.real, -z.imag, -phase)), encoding="utf-8")
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*contradicts the phase column")
        eisfit.read(path)


def test_a_frequency_and_modulus_table_is_told_it_lacks_a_phase_not_to_name_three_columns(tmp_path):
    path = tmp_path / "bode.csv"
    path.write_text("Frequency (Hz),|Z| (Ohm)\n" + _rows((F_HZ, MOD_OHM)), encoding="utf-8")
    with pytest.raises(MissingColumnError, match=r"'\|Z\| \(Ohm\)' holds \|Z\| but no column holds the phase") as err:
        eisfit.read(path)
    assert "--columns" not in str(err.value)


def _windeta_ascii(path: Path, kelvin: float, scale: float = 1.0) -> Path:
    """A Novocontrol WinDETA ASCII export: a title, the sample, 'Fixed value(s)' with the
    temperature, then the table (Zs' and Zs'' in Ohms)."""
    z = Z_OHM * scale
    head = ("m = 9, 9.2.2023, 16:42\n"
            "Diameter[mm] 8.840e+00  Thickness[mm] 1.770e+00  Spacer Capacity[pF] 0.000e+00\n"
            f"Fixed value(s) :  Temp. [K]={kelvin:.4e}  AC Volt  [Vrms]=1.000e+00\n"
            " Freq. [Hz]\t Zs' [Ohms]\t Zs'' [Ohms]\t  |Z| [Ohms]\n")
    path.write_text(head + _rows((F_HZ, z.real, z.imag, np.abs(z)), "\t"), encoding="utf-8")
    return path


def test_a_temperature_the_preamble_states_is_the_sweeps(tmp_path):
    """WinDETA's ASCII export states its temperature above the table ('Temp. [K]=3.0656e+02');
    --arrhenius had refused three such files as having no temperature."""
    s = eisfit.read(_windeta_ascii(tmp_path / "30.TXT", 306.56))[0]
    assert s.meta["temperature_K"] == pytest.approx(306.56) and s.meta["temperature_C"] == pytest.approx(33.41)
    _assert_same(s)
    path = tmp_path / "c.csv"
    path.write_text("Temperature (°C): 25\nFreq,Z',Z''\n" + _rows((F_HZ, Z_OHM.real, Z_OHM.imag)), encoding="utf-8")
    assert eisfit.read(path)[0].meta["temperature_K"] == pytest.approx(298.15)
    plain = tmp_path / "p.csv"
    plain.write_text("Freq,Z',Z''\n" + _rows((F_HZ, Z_OHM.real, Z_OHM.imag)), encoding="utf-8")
    assert "temperature_K" not in eisfit.read(plain)[0].meta


def test_a_folder_of_ascii_exports_at_several_temperatures_gives_an_arrhenius_line(tmp_path):
    folder = tmp_path / "novo"
    folder.mkdir()
    for k, kelvin in enumerate((300.0, 320.0, 340.0)):
        _windeta_ascii(folder / f"{k}.TXT", kelvin, scale=np.exp(0.4 / 8.617333262e-5 * (1 / kelvin - 1 / 300.0)))
    camp = eisfit.fit_campaign(folder, circuit="R0-p(R1,CPE1)", area_cm2=0.6, thickness_cm=0.177, cache_dir=False,
                               progress=False)
    assert [c.temperature_K for c in camp.checkpoints] == pytest.approx([300.0, 320.0, 340.0])
    assert camp.arrhenius().loc[lambda t: t["resistance"] == "R1", "n_points"].item() == 3


@pytest.mark.parametrize("damaged", [10, 20])
@pytest.mark.parametrize("factor", [1e5, 1e-5])
def test_one_damaged_frequency_is_left_out_not_made_a_second_sweep(tmp_path, damaged, factor):
    """A BioLogic sweep whose 73 Hz read 4.79 MHz (one flipped bit) had become two sweeps of
    10 and 33 points, with no word; a new sweep goes on to its own next frequency, not back to
    where the last one was."""
    f = F_HZ.copy()
    f[damaged] *= factor
    path = tmp_path / "t.csv"
    path.write_text("Freq,Z',Z''\n" + _rows((f, Z_OHM.real, Z_OHM.imag)), encoding="utf-8")
    with pytest.warns(UserWarning, match=rf"1 point\(s\) whose frequency breaks its sweep.*point {damaged + 1}: "):
        spectra = eisfit.read(path)
    assert len(spectra) == 1
    keep = np.arange(F_HZ.size) != damaged
    _assert_same(spectra[0], F_HZ[keep], Z_OHM[keep])
    two = tmp_path / "two.csv"  # two genuine sweeps, the second from the top again
    two.write_text("Freq,Z',Z''\n" + _rows((np.r_[F_HZ, F_HZ], np.r_[Z_OHM.real, Z_OHM.real],
                                              np.r_[Z_OHM.imag, Z_OHM.imag])), encoding="utf-8")
    assert [len(s) for s in eisfit.read(two)] == [F_HZ.size, F_HZ.size]
