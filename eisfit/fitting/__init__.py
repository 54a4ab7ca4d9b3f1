"""Fitting: automatic guess, batched multi-start optimisation, results."""
from .engine import fit
from .result import FitResult
from ..model.weighting import WEIGHTINGS

__all__ = ["fit", "FitResult", "WEIGHTINGS"]
