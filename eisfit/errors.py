"""The one error family of eisfit.

Every problem eisfit detects in user input is raised as a subclass of
:class:`EisfitError`, with a message that names the file (when there is one)
and what is wrong. Tracebacks from inside numpy/struct never reach the user.
:class:`DataWarning` is the warning about data that are possible but suspect.
"""
from __future__ import annotations

from pathlib import Path


class EisfitError(Exception):
    """Base class of every error eisfit raises on purpose."""


class DataError(EisfitError, ValueError):
    """Impossible values in a spectrum (negative frequency, NaN, length mismatch...)."""


class DataWarning(UserWarning):
    """Data that are possible but most likely not what was meant (a spectrum whose z has no
    imaginary part at any point: Z' or |Z| passed as z). Not an error: the values are used
    as given."""


class ReadError(EisfitError):
    """A file could not be read. ``path`` names the file, ``reason`` the problem."""

    def __init__(self, path: str | Path | None, reason: str):
        self.path = None if path is None else str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


class UnknownFormatError(ReadError):
    """The file's format was not recognised (neither by content nor by extension)."""


class CorruptFileError(ReadError):
    """The file has the right format but is truncated, corrupted or inconsistent."""


class MissingColumnError(ReadError):
    """A required column (frequency, real/imaginary or modulus/phase) is missing."""


class NoImpedanceDataError(MissingColumnError):
    """A readable instrument file of another technique (cycling, voltammetry, open circuit...):
    it holds no impedance data. A folder campaign leaves such files out with a warning."""


class CircuitError(EisfitError, ValueError):
    """A circuit string, element name or circuit definition file is invalid."""


class FitError(EisfitError, ValueError):
    """Fit settings are invalid (unknown parameter, bounds that exclude the guess...)."""


class CampaignError(EisfitError, ValueError):
    """A campaign source or campaign file is invalid."""


class CampaignWarning(UserWarning):
    """Something in a campaign source was guessed or ignored (not fatal); also given as
    ``eisfit.campaign.CampaignWarning``."""
