"""Differential check of the readers: generated table variants must read back their spectra.

    python scripts/reader_variants.py [N] [--seed S] [--family NAME]

Each family writes N seeded files whose spectra are known, reads them with ``eisfit.read``
and sorts every file into *read back* (the same frequencies and impedances), *refused* (an
eisfit ReadError: acceptable where the file is ambiguous) or *wrong* (other numbers without
an error: never acceptable). Prints the counts per family and the first wrong files.

Families (what varies):

* ``header``: column names and their units (kHz, kOhm, mOhm, names with spaces), the sign
  convention of Z'', delimiters (one or more spaces, tab, comma, semicolon), decimal
  commas, extra columns (time, potential, current), column order, a preamble;
* ``signs``: five spectrum shapes (two arcs, a Warburg tail, a blocking electrode, a mostly
  inductive Li-ion cell, a bulk arc with a lead) as Z', Z'' with either sign under names
  that do or do not say it, or as |Z| and a phase in degrees or radians of either sign;
* ``headerless``: no header; Z'' or -Z'', |Z|, a phase in degrees or radians of either
  sign, a clock, a lead inductance, any column order;
* ``units-row``: a row of units under the names (``Pt Time Freq ...`` over ``# s Hz ...``,
  an Origin comment row), four delimiters;
* ``multi-sweep``: stacked sweeps with or without a counter, blank lines, repeated
  headers or titles between them, ascending sweeps;
* ``side-by-side``: column groups next to each other, spacer columns, groups of
  different lengths, a title row;
* ``wide``: one spectrum per row (``Re(Z)<f>`` columns), decimal commas, extra columns;
* ``json``: a DataFrame written with ``to_json`` in five layouts, under names of several
  conventions (NOVA's, EC-Lab's, snake_case, kHz and kOhm);
* ``mpt``: EC-Lab ASCII exports, decimal commas, DC rows, shuffled labels, counters.

Used in session 31 to find four kinds of file read with wrong values and three refused (see
CHANGELOG); run it after any change of a reader.
"""
from __future__ import annotations

import argparse
import random
import tempfile
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

import eisfit
from eisfit.errors import EisfitError

Expected = list[tuple[np.ndarray, np.ndarray]]  # per spectrum: frequency (Hz), Z (ohm)


def _zarc(w: np.ndarray, r: float, q: float, n: float) -> np.ndarray:
    return r / (1 + r * q * (1j * w) ** n)


def _two_arcs(f: np.ndarray, shift: float = 0.0) -> np.ndarray:
    w = 2 * np.pi * f
    return 12 + shift + _zarc(w, 80, 2e-8, 0.9) + _zarc(w, 300 - 20 * shift, 5e-5, 0.8)


def _number(x: float, decimal: str = ".") -> str:
    return f"{x:.12g}".replace(".", decimal)


def header_file(rng: random.Random) -> tuple[bytes, str, Expected]:
    f = np.geomspace(1e6, 0.1, 41)
    z = _two_arcs(f)
    f_name, f_scale = rng.choice([("Frequency (Hz)", 1), ("freq/Hz", 1), ("Freq", 1), ("f [Hz]", 1),
                                  ("Frequency/kHz", 1e3), ("f (kHz)", 1e3), ("Freq (MHz)", 1e6)])
    re_name, re_scale = rng.choice([("Z' (Ohm)", 1), ("Re(Z)/Ohm", 1), ("Zreal", 1), ("Real Z", 1),
                                    ("Z' (kOhm)", 1e3), ("Zre (\u03a9)", 1), ("Z real (ohm)", 1),
                                    ("Re Z (mOhm)", 1e-3)])
    im_name, im_scale, held = rng.choice([("-Z'' (Ohm)", 1, "neg"), ("Z'' (Ohm)", 1, "either"),
                                          ("-Im(Z)/Ohm", 1, "neg"), ("Zimag", 1, "either"),
                                          ("Imag Z", 1, "either"), ("-Z'' (kOhm)", 1e3, "neg"),
                                          ("Zi", 1, "either")])
    if held == "either":
        held = rng.choice(["neg", "signed"])
    delimiter, decimal = rng.choice([(",", "."), (";", "."), (";", ","), ("\t", "."), ("\t", ","), (" ", "."),
                                     ("  ", ".")])
    columns = [(f_name, f / f_scale), (re_name, z.real / re_scale),
               (im_name, (-z.imag if held == "neg" else z.imag) / im_scale)]
    extras = [("time/s", 100.0 + 3 * np.arange(f.size)), ("Ewe/V", np.full(f.size, 3.7)),
              ("I/mA", np.full(f.size, 1e-3))]
    columns += rng.sample(extras, rng.randint(0, 2))
    if rng.random() < 0.3:
        rng.shuffle(columns)
    lines = [delimiter.join(name for name, _ in columns)]
    lines += [delimiter.join(_number(v[k], decimal) for _, v in columns) for k in range(f.size)]
    preamble = "Sample: LLZO pellet\nOperator: x\n" if rng.random() < 0.3 else ""
    return (preamble + "\n".join(lines) + "\n").encode("utf-8"), ".txt", [(f, z)]


def headerless_file(rng: random.Random) -> tuple[bytes, str, Expected]:
    n = rng.choice([12, 25, 41])
    f = np.geomspace(rng.choice([1e6, 1e5]), rng.choice([0.1, 1.0]), n)
    z = _two_arcs(f)
    if rng.random() < 0.3:
        z = z + 1j * 2 * np.pi * f * 1e-7
    columns = {"f": f, "re": z.real, "im": -z.imag if rng.random() < 0.5 else z.imag}
    if rng.random() < 0.4:
        columns["mod"] = np.abs(z)
    if rng.random() < 0.4:
        columns["phase"] = np.angle(z, deg=rng.random() < 0.7) * rng.choice([1, -1])
    if rng.random() < 0.3:
        columns["clock"] = np.cumsum(np.maximum(1.0, 2.0 / f))
    order = list(columns)
    if rng.random() < 0.5:
        rng.shuffle(order)
    delimiter = rng.choice([",", "\t", " ", ";"])
    text = "\n".join(delimiter.join(_number(columns[c][k]) for c in order) for k in range(n)) + "\n"
    return text.encode("utf-8"), ".txt", [(f, z)]


def _shape(rng: random.Random) -> tuple[np.ndarray, np.ndarray]:
    """(f, Z) of one of five spectrum shapes whose Z'' signs differ: two arcs, an arc and a
    Warburg tail, a blocking electrode, a mostly inductive Li-ion cell, a bulk arc with a lead."""
    kind = rng.choice(["two-arcs", "warburg", "blocking", "li-ion", "bulk"])
    if kind == "li-ion":
        f = np.geomspace(1e4, 0.01, 41)
        w = 2 * np.pi * f
        return f, 2e-7j * w + 0.02 + _zarc(w, 0.01, 0.5, 0.8) + _zarc(w, 0.02, 5, 0.85) + 0.01 / np.sqrt(1j * w)
    if kind == "bulk":
        f = np.geomspace(1e7, 1e3, 31)
        w = 2 * np.pi * f
        return f, 5e-8j * w + 3 + _zarc(w, 2000, 1e-11, 0.95)
    f = np.geomspace(1e6, 0.1, 41)
    w = 2 * np.pi * f
    tail = {"two-arcs": _zarc(w, 300, 5e-5, 0.8), "warburg": 20 / np.sqrt(1j * w),
            "blocking": 1 / (2e-6 * (1j * w) ** 0.8)}
    return f, 12 + _zarc(w, 80, 2e-8, 0.9) + tail[kind]


def signs_file(rng: random.Random) -> tuple[bytes, str, Expected]:
    f, z = _shape(rng)
    if rng.random() < 0.6:
        im_name, held = rng.choice([("-Z'' (Ohm)", "neg"), ("-Im(Z)/Ohm", "neg"), ("Z'' (Ohm)", "either"),
                                    ("Zimag", "either"), ("Im(Z)/Ohm", "either")])
        held = held if held != "either" else rng.choice(["neg", "signed"])
        columns = [("Frequency (Hz)", f), ("Z' (Ohm)", z.real), (im_name, -z.imag if held == "neg" else z.imag)]
    else:
        unit = rng.choice(["deg", "rad"])
        phase = np.angle(z, deg=unit == "deg")
        name, held = rng.choice([("Phase (%s)", "signed"), ("-Phase (%s)", "neg"), ("theta (%s)", "either")])
        held = held if held != "either" else rng.choice(["neg", "signed"])
        columns = [("Frequency (Hz)", f), ("|Z| (Ohm)", np.abs(z)), (name % unit, -phase if held == "neg" else phase)]
    delimiter = rng.choice([",", ";", "\t"])
    lines = [delimiter.join(n for n, _ in columns)] + [delimiter.join(_number(v[k]) for _, v in columns)
                                                        for k in range(f.size)]
    return ("\n".join(lines) + "\n").encode("utf-8"), ".csv", [(f, z)]


def units_row_file(rng: random.Random) -> tuple[bytes, str, Expected]:
    f = np.geomspace(1e5, 0.5, 20)
    z = _two_arcs(f)
    f_unit, f_scale = rng.choice([("Hz", 1), ("kHz", 1e3)])
    z_unit, z_scale = rng.choice([("ohm", 1), ("kOhm", 1e3), ("\u03a9", 1), ("mOhm", 1e-3)])
    columns = [("Freq", f_unit, f / f_scale), ("Zreal", z_unit, z.real / z_scale), ("Zimag", z_unit, z.imag / z_scale)]
    if rng.random() < 0.5:
        columns = [("Pt", "#", np.arange(f.size)), ("Time", "s", np.cumsum(1 / f))] + columns
    if rng.random() < 0.3:
        columns.append(("Zmod", z_unit, np.abs(z) / z_scale))
    delimiter = rng.choice([",", "\t", ";", "  "])
    lines = [delimiter.join(c[0] for c in columns), delimiter.join(c[1] for c in columns)]
    if rng.random() < 0.3:  # Origin's comments row
        lines.append(delimiter.join("sample A" if i == 0 else "" for i in range(len(columns))))
    lines += [delimiter.join(_number(c[2][k]) for c in columns) for k in range(f.size)]
    return ("\n".join(lines) + "\n").encode("utf-8"), ".txt", [(f, z)]


def multi_sweep_file(rng: random.Random) -> tuple[bytes, str, Expected]:
    n = rng.choice([15, 31, 41])
    f = np.geomspace(1e6, 0.1, n)
    expected = []
    for k in range(rng.randint(2, 4)):
        fk, zk = f.copy(), _two_arcs(f, k)
        if rng.random() < 0.2:
            fk, zk = fk[::-1], zk[::-1]
        expected.append((fk, zk))
    delimiter = rng.choice([",", "\t", ";"])
    counter = rng.choice([None, "cycle number", "Sweep", "loop"])
    between = rng.choice(["none", "blank", "header", "title"])
    header = ["Frequency (Hz)", "Z' (Ohm)", "-Z'' (Ohm)"] + ([counter] if counter else [])
    lines = [delimiter.join(header)]
    for k, (fk, zk) in enumerate(expected):
        if k and between != "none":
            lines.append({"blank": "", "header": delimiter.join(header), "title": f"Cycle {k + 1}"}[between])
        for j in range(fk.size):
            lines.append(delimiter.join([_number(fk[j]), _number(zk.real[j]), _number(-zk.imag[j])]
                                        + ([str(k + 1)] if counter else [])))
    return ("\n".join(lines) + "\n").encode("utf-8"), ".csv", expected


def side_by_side_file(rng: random.Random) -> tuple[bytes, str, Expected]:
    expected = []
    for g in range(rng.randint(2, 4)):
        f = np.geomspace(1e5, 0.5, rng.choice([10, 15, 20]))
        expected.append((f, _two_arcs(f, g)))
    names = rng.choice([("Freq (Hz)", "Z' (Ohm)", "-Z'' (Ohm)"), ("f/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm")])
    spacer, delimiter = rng.random() < 0.4, rng.choice([",", "\t", ";"])
    header, title = [], []
    for g in range(len(expected)):
        if g and spacer:
            header.append("")
            title.append("")
        header += list(names)
        title += [f"{100 * g} h", "", ""]
    lines = ([delimiter.join(title)] if rng.random() < 0.3 else []) + [delimiter.join(header)]
    for k in range(max(f.size for f, _ in expected)):
        row = []
        for g, (f, z) in enumerate(expected):
            if g and spacer:
                row.append("")
            row += [_number(f[k]), _number(z.real[k]), _number(-z.imag[k])] if k < f.size else ["", "", ""]
        lines.append(delimiter.join(row))
    return ("\n".join(lines) + "\n").encode("utf-8"), ".csv", expected


def wide_file(rng: random.Random) -> tuple[bytes, str, Expected]:
    # the frequencies as the header writes them (6 significant digits)
    f = np.array([float(f"{x:.6g}") for x in np.geomspace(1e5, 0.5, rng.choice([6, 12, 20]))])
    expected = [(f, _two_arcs(f, k)) for k in range(rng.randint(1, 5))]
    style = rng.choice(["Re(Z){f}", "Re(Z)_{f}Hz", "Re(Z)@{f}Hz", "Re(Z)/Ohm {f} Hz", "Re(Z){k}kHz"])
    minus = rng.random() < 0.6
    delimiter = rng.choice(["\t", ";", ","])
    decimal = "." if delimiter == "," else rng.choice([".", ","])

    def name(part: str, fv: float) -> str:
        return style.replace("Re(Z)", part).format(f=f"{fv:.6g}".replace(".", decimal),
                                                    k=f"{fv / 1e3:.6g}".replace(".", decimal))
    extras = rng.sample(["cycle_Nr", "I/mA", "Q/mAh"], rng.randint(0, 2))
    header = list(extras) + [c for fv in f for c in (name("Re(Z)", fv), name("-Im(Z)" if minus else "Im(Z)", fv))]
    rows = []
    for k, (_, z) in enumerate(expected):
        values = [str(k + 1) if e == "cycle_Nr" else _number(0.5 * k + 1, decimal) for e in extras]
        values += [_number(v, decimal) for j in range(f.size) for v in (z.real[j], -z.imag[j] if minus else z.imag[j])]
        rows.append(delimiter.join(values))
    return (delimiter.join(header) + "\n" + "\n".join(rows) + "\n").encode("utf-8"), ".csv", expected


def json_file(rng: random.Random) -> tuple[bytes, str, Expected]:
    import pandas as pd

    f = np.geomspace(1e5, 0.5, rng.choice([10, 25]))
    z = _two_arcs(f)
    f_name, re_name, im_name, sign = rng.choice([("Frequency (Hz)", "Z' (Ohm)", "-Z'' (Ohm)", -1),
                                                 ("freq", "zreal", "zimag", 1),
                                                 ("frequency_Hz", "z_real_ohm", "z_imag_ohm", 1),
                                                 ("f/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", -1),
                                                 ("Freq (kHz)", "Zre (kOhm)", "Zim (kOhm)", 1)])
    scale = 1e3 if "kHz" in f_name else 1.0
    frame = pd.DataFrame({f_name: f / scale, re_name: z.real / scale, im_name: sign * z.imag / scale})
    text = frame.to_json(orient=rng.choice(["split", "records", "index", "columns", "table"]),
                         double_precision=15, force_ascii=rng.random() < 0.5)
    return text.encode("utf-8"), ".json", [(f, z)]


def mpt_file(rng: random.Random) -> tuple[bytes, str, Expected]:
    n = rng.choice([11, 26, 51])
    f = np.geomspace(rng.choice([1e6, 2e5]), rng.choice([0.1, 10.0]), n)
    expected = [(f, _two_arcs(f, k)) for k in range(rng.randint(1, 3))]
    dc_rows = rng.random() < 0.3
    labels = ["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"] + rng.sample(
        ["time/s", "<Ewe>/V", "<I>/mA", "cycle number", "I Range", "|Z|/Ohm", "Phase(Z)/deg", "z cycle"],
        rng.randint(0, 5))
    if rng.random() < 0.3:
        rng.shuffle(labels)
    comma = rng.random() < 0.3
    rows, t = [], 0.0
    for k, (_, z) in enumerate(expected):
        for _ in range(3 if dc_rows else 0):  # a cycler step between the sweeps: freq 0
            t += 1
            rows.append({"freq/Hz": 0.0, "time/s": t, "<Ewe>/V": 3.9, "<I>/mA": 1.0, "cycle number": k + 1,
                         "I Range": 41, "z cycle": 0})
        for j in range(n):
            t += 1 + 1 / f[j]
            rows.append({"freq/Hz": f[j], "Re(Z)/Ohm": z.real[j], "-Im(Z)/Ohm": -z.imag[j], "time/s": t,
                         "<Ewe>/V": 3.9, "<I>/mA": 0.0, "cycle number": k + 1, "I Range": 41,
                         "|Z|/Ohm": abs(z[j]), "Phase(Z)/deg": np.degrees(np.angle(z[j])), "z cycle": k + 1})
    body = ["\t".join(labels)] + ["\t".join(f"{r.get(label, 0.0):.7E}".replace(".", "," if comma else ".")
                                            for label in labels) for r in rows]
    head = ["EC-Lab ASCII FILE", "", "", "Potentio Electrochemical Impedance Spectroscopy", "",
            "Acquisition started on : 03/02/2021 16:17:59.000",
            "Electrode surface area : " + ("0,785" if comma else "0.785") + " cm\u00b2"]
    head[1] = f"Nb header lines : {len(head) + 1}"
    newline = rng.choice(["\r\n", "\n"])
    return (newline.join(head + body) + newline).encode("cp1252"), ".mpt", expected


FAMILIES: dict[str, Callable[[random.Random], tuple[bytes, str, Expected]]] = {
    "header": header_file, "signs": signs_file, "headerless": headerless_file, "units-row": units_row_file,
    "multi-sweep": multi_sweep_file, "side-by-side": side_by_side_file, "wide": wide_file, "json": json_file,
    "mpt": mpt_file}


def reads_back(spectra: list, expected: Expected) -> bool:
    """Whether ``spectra`` hold the expected frequencies and impedances (any point order)."""
    if len(spectra) != len(expected):
        return False
    for s, (f, z) in zip(spectra, expected):
        if s.frequency.size != f.size:
            return False
        got, want = np.argsort(s.frequency), np.argsort(f)
        if not (np.allclose(s.frequency[got], f[want], rtol=1e-6)
                and np.allclose(s.z[got], z[want], rtol=1e-6, atol=1e-12)):
            return False
    return True


def check(family: str, n: int, seed: int, folder: Path) -> tuple[int, int, list[str]]:
    """(read back, refused, descriptions of the wrong files) of ``n`` files of ``family``."""
    rng = random.Random(seed)
    back, refused, wrong = 0, 0, []
    for case in range(n):
        data, suffix, expected = FAMILIES[family](rng)
        path = folder / f"{family}_{case}{suffix}"
        path.write_bytes(data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                spectra = eisfit.read(path)
        except EisfitError:
            refused += 1
            continue
        if reads_back(spectra, expected):
            back += 1
        else:
            wrong.append(f"{path.name}: {data.decode('utf-8', errors='replace').splitlines()[0][:100]!r}")
    return back, refused, wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=200, help="files per family (200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--family", choices=sorted(FAMILIES), default=None, help="one family (default: all)")
    args = parser.parse_args()
    total_wrong = 0
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'family':<14} {'read back':>9} {'refused':>8} {'wrong':>6}   (seed {args.seed}, {args.n} files each)")
        for family in [args.family] if args.family else FAMILIES:
            back, refused, wrong = check(family, args.n, args.seed, Path(tmp))
            total_wrong += len(wrong)
            print(f"{family:<14} {back:>9} {refused:>8} {len(wrong):>6}", flush=True)
            for line in wrong[:5]:
                print(f"    wrong: {line}")
    print("no file read with wrong values" if not total_wrong else f"{total_wrong} file(s) read with wrong values")


if __name__ == "__main__":
    main()
