"""Warnings name the caller's line, not eisfit's own.

Fixed stacklevels counted the frames of one path into each warning: a reader's warning
pointed at ``eisfit/io/__init__.py:204`` when reached through ``eisfit.read``, a DRT's at
``eisfit/analysis/drt.py:979``. Every warning of the package now goes through
:func:`eisfit._caller.user_stacklevel`: the first frame outside eisfit, here this file.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

import eisfit

F = np.logspace(5, -1, 40)
Z = 10 + 100 / (1 + 2j * np.pi * F * 1e-3)


def _locations(call) -> set[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    assert caught, "the call was meant to warn"
    return {Path(w.filename).name for w in caught}


def _cut_csv(tmp_path: Path) -> Path:
    text = "freq/Hz,Zre/ohm,Zim/ohm\n" + "\n".join(f"{f:.6e},{z.real:.6e},{z.imag:.6e}" for f, z in zip(F, Z))
    path = tmp_path / "cut.csv"
    path.write_text(text[:-3])  # the last value cut: dropped with a ReadWarning
    return path


def test_a_reader_warning_names_the_line_that_called_read(tmp_path):
    path = _cut_csv(tmp_path)
    assert _locations(lambda: eisfit.read(path)) == {Path(__file__).name}


def test_a_drt_warning_names_the_line_that_called_drt():
    drifting = eisfit.Spectrum(frequency=F, z=Z * (1 + np.linspace(0, 0.3, F.size)))
    assert _locations(lambda: eisfit.drt(drifting)) == {Path(__file__).name}


def test_a_spectrum_warning_and_a_campaign_warning_name_the_caller(tmp_path):
    assert _locations(lambda: eisfit.Spectrum(frequency=F, z=Z.real)) == {Path(__file__).name}
    _cut_csv(tmp_path)
    (tmp_path / "notes.txt").write_text("not impedance data\n")
    assert _locations(lambda: eisfit.fit_campaign(str(tmp_path), circuit="R0-p(R1,C1)", progress=False,
                                                  cache_dir=False, jobs=1)) == {Path(__file__).name}
