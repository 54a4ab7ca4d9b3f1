"""eisfit: equivalent-circuit fitting of impedance spectra of solid-state cells.

Public API (stable names)::

    spectra = eisfit.read("cell.mpr")                 # list[Spectrum]
    s = eisfit.Spectrum(frequency=f_Hz, z=z_ohm)      # Z'' < 0 capacitive
    res = eisfit.fit(s, circuit="garnet-symmetric", area_cm2=0.785, symmetric=True)
    camp = eisfit.fit_campaign("campaign.toml")       # or a folder, glob, list of Spectrum
    camp = eisfit.fit_campaign("exports/", reader=eisfit.ReaderOptions(imag_sign="positive"))
    kk = eisfit.kk_test(s); d = eisfit.drt(s)
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    CampaignError,
    CircuitError,
    CorruptFileError,
    DataError,
    DataWarning,
    EisfitError,
    FitError,
    MissingColumnError,
    NoImpedanceDataError,
    ReadError,
    UnknownFormatError,
)

if TYPE_CHECKING:  # for type checkers; at run time a lazy name like the others below
    from .spectrum import Spectrum

__version__ = "0.1.0"  # the one place of the version (pyproject.toml reads it)

# name -> (module, attribute); imported on first use so that importing eisfit stays fast and
# imports no numpy (the ``eisfit`` program answers a Ctrl-C during its own imports:
# :mod:`eisfit._launch`)
_LAZY = {
    "Spectrum": ("eisfit.spectrum", "Spectrum"),
    "read": ("eisfit.io", "read"),
    "detect_format": ("eisfit.io", "detect_format"),
    "ReaderOptions": ("eisfit.io", "ReaderOptions"),
    "Circuit": ("eisfit.model", "Circuit"),
    "load_circuit": ("eisfit.model", "load_circuit"),
    "list_circuits": ("eisfit.model", "list_circuits"),
    "fit": ("eisfit.api", "fit"),
    "FitResult": ("eisfit.fitting", "FitResult"),
    "kk_test": ("eisfit.analysis.kk", "kk_test"),
    "KKResult": ("eisfit.analysis.kk", "KKResult"),
    "kk_valid_band": ("eisfit.analysis.kk", "kk_valid_band"),
    "KKBand": ("eisfit.analysis.kk", "KKBand"),
    "drt": ("eisfit.analysis.drt", "drt"),
    "DRTResult": ("eisfit.analysis.drt", "DRTResult"),
    "arrhenius": ("eisfit.analysis.arrhenius", "arrhenius"),
    "fit_campaign": ("eisfit.campaign", "fit_campaign"),
    "suggest_circuit": ("eisfit.selection", "suggest_circuit"),
    "CircuitSuggestion": ("eisfit.selection", "CircuitSuggestion"),
    "CampaignResult": ("eisfit.campaign", "CampaignResult"),
}

__all__ = [
    "Spectrum", "EisfitError", "DataError", "DataWarning", "ReadError", "UnknownFormatError",
    "CorruptFileError", "MissingColumnError", "NoImpedanceDataError", "CircuitError", "FitError", "CampaignError",
    *(name for name in _LAZY if name != "Spectrum"),
]


_SUBMODULES = ("io", "model", "fitting", "analysis", "campaign", "series", "plotting")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:  # eisfit.plotting.plot_fit(...) works without an explicit import
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'eisfit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))
