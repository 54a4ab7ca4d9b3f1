"""Shared test fixtures.

Real measured files live in ``../shared/realdata`` beside the repository (never
copied into it: licences). Tests that need them use the ``realdata`` fixture or
``realdata_path`` and are skipped with a visible reason when the folder or file is
absent. Set ``EISFIT_REALDATA=/some/folder`` to read them from another root laid out
the same way (e.g. a scratch copy: ``<root>/text/eisfitpython/EIS_Data/...``).
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parent.parent
REALDATA = Path(os.environ.get("EISFIT_REALDATA", REPO.parent / "shared" / "realdata"))


def pytest_addoption(parser) -> None:
    parser.addoption("--spool-all", action="store_true",
                     help="every campaign keeps its fits on disk (eisfit.campaign.spool), however small")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "results_in_memory: the test is of a campaign that holds its results in "
                                       "memory (shared containers, results changed in place): not run through "
                                       "the spool with --spool-all")


@pytest.fixture(autouse=True)
def _spool_all(request, monkeypatch) -> None:
    """With ``--spool-all``: the whole suite through the spooled path of a large campaign."""
    if request.config.getoption("--spool-all") and request.node.get_closest_marker("results_in_memory") is None:
        monkeypatch.setattr("eisfit.campaign.spool.SPOOL_MIN_CHECKPOINTS", 0)


def realdata_path(*parts: str) -> Path:
    """Path inside the real-data root, skipping the calling test when it is absent."""
    p = REALDATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not available: {p} is absent "
                    f"(real-data root {REALDATA}; override with EISFIT_REALDATA)")
    return p


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"real data folder {REALDATA} is absent; real-file conformance tests skipped")
    return REALDATA


def arrhenius_cell(cell: str, ea1: float, ea2: float, temperatures_c, rng) -> tuple[list, list[dict]]:
    """Spectra of one cell, R0-p(R1,CPE1)-p(R2,CPE2) made with numpy here (Z_CPE = 1/(Q (j w)^n)),
    R1 and R2 on R = R_ref (T/298.15) exp(Ea/k_B (1/T - 1/298.15)) (ohm, eV), 0.5 % noise; the
    truths (ohm). Metadata: label, cell, temperature_C."""
    import numpy as np

    from eisfit import Spectrum

    f = np.geomspace(1e7, 0.1, 57)
    spectra, truths = [], []
    for t_c in temperatures_c:
        t = t_c + 273.15
        scale = (t / 298.15) * np.exp(np.array([ea1, ea2]) / 8.617333e-5 * (1 / t - 1 / 298.15))
        r1, r2 = 60.0 * scale[0], 150.0 * scale[1]
        w = 2j * np.pi * f
        z = 40.0 + r1 / (1 + r1 * 3e-8 * w ** 0.9) + r2 / (1 + r2 * 2e-6 * w ** 0.85)
        z = z + 0.005 * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
        spectra.append(Spectrum(f, z, {"label": f"{cell}{t_c}", "cell": cell, "temperature_C": t_c}))
        truths.append({"R1": r1, "R2": r2})
    return spectra, truths


HEADLINE_CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"


def headline_series(values, seed: int, noise: float = 0.005, **meta) -> list:
    """Spectra of the headline circuit at 1 MHz-0.1 Hz, one per parameter vector, hours 0, 1, ...
    (complex noise ``noise`` x |Z|); ``meta`` goes into every spectrum's meta."""
    import numpy as np

    from eisfit import Spectrum
    from eisfit.model import Circuit

    circuit = Circuit(HEADLINE_CIRCUIT)
    f = np.logspace(6, -1, 40)
    rng = np.random.default_rng(seed)
    out = []
    for k, v in enumerate(values):
        z = circuit.impedance(np.array(v), f)
        z = z * (1 + noise * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(2))
        out.append(Spectrum(f, z, meta={"label": f"{k} h", "time_h": float(k), **meta}))
    return out
