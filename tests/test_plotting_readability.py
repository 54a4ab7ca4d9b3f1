"""Figures say what the text says and stay readable: extrapolated values marked, cells told
apart, legends and insets inside the figure and off the data, panel sizes fitted to their
content (the defects of the figure review of session 66)."""
from __future__ import annotations

import dataclasses

import matplotlib
import matplotlib.colors
import matplotlib.pyplot as plt
import numpy as np
import pytest

import eisfit
import eisfit.plotting as P
from eisfit import Spectrum
from eisfit.model import Circuit

HEADLINE = "R0-p(R1,CPE1)-p(R2,CPE2)"
EXTRAPOLATED = "extrapolated (arc apex outside the measured range)"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _headline_series(values, seed: int, noise: float = 0.005, **meta) -> list:
    """Spectra of the headline circuit at 1 MHz-0.1 Hz, one per parameter vector, hours 0, 1, ..."""
    circuit = Circuit(HEADLINE)
    f = np.logspace(6, -1, 40)
    rng = np.random.default_rng(seed)
    out = []
    for k, v in enumerate(values):
        z = circuit.impedance(np.array(v), f)
        z = z * (1 + noise * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2))
        out.append(Spectrum(f, z, meta={"label": f"{k} h", "time_h": float(k), **meta}))
    return out


def _panel(fig, start: str):
    return next(a for a in fig.axes if a.get_visible() and a.get_title().startswith(start))


def test_evolution_draws_extrapolated_resistances_as_open_markers_named_in_the_legend():
    """A resistance whose arc's apex lies outside the measured range (``fapex-outside-range:CPE2``)
    is extrapolated, as the headline lines say ("extrapolated at N of M"): its point is an open
    (white) marker, named in the panel's legend; the other points and panels stay filled."""
    spectra = _headline_series([[12.0, 45.0, 2e-7, 0.92, 80 + 20 * k, 3e-5, 0.8] for k in range(3)], seed=4)
    camp = eisfit.fit_campaign(spectra, circuit=HEADLINE, cache_dir=False, progress=False)
    camp.results[1] = dataclasses.replace(camp.results[1], flags=[*camp.results[1].flags, "fapex-outside-range:CPE2"])
    assert "extrapolated at 1 of 3" in " ".join(camp.evolution_lines())
    fig = camp.plot_evolution()
    r2 = _panel(fig, "R2")
    open_marks = [line for line in r2.get_lines() if line.get_label() == EXTRAPOLATED]
    assert len(open_marks) == 1 and list(open_marks[0].get_xdata()) == [1.0]
    assert matplotlib.colors.to_rgba(open_marks[0].get_markerfacecolor()) == (1.0, 1.0, 1.0, 1.0)
    assert EXTRAPOLATED in [t.get_text() for t in r2.get_legend().get_texts()]
    r1 = _panel(fig, "R1")
    assert not [line for line in r1.get_lines() if line.get_label() == EXTRAPOLATED]
