"""Checks of option values shared by every entry point (fit, fit_campaign, kk_test, drt...).

One implementation of each rule, so that an option means the same and is refused with the
same words wherever it is given. Each check raises the error class of its caller's family
(``error``: :class:`~eisfit.FitError` for fit settings, :class:`~eisfit.DataError` for the
analyses). Bottom layer: imports nothing from eisfit but the errors.
"""
from __future__ import annotations

import difflib
import math
from typing import Any, Mapping

import numpy as np

from .errors import EisfitError, FitError

__all__ = ["did_you_mean", "is_real_number", "positive_number", "positive_number_or_none", "finite_number_at_least",
           "check_choice", "check_engine", "check_guess", "check_starts", "positive_int", "check_positive_int_or_none",
           "check_smooth"]


def did_you_mean(word: str, choices: Any, cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` (difflib ratio >= cutoff), else ''."""
    close = difflib.get_close_matches(str(word), sorted(str(c) for c in choices), n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""


def is_real_number(value: Any) -> bool:
    """A real number (Python or numpy int/float); bools and strings are not."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def positive_number(name: str, value: Any, error: type[EisfitError] = FitError) -> float:
    """``value`` as a float when it is a finite number > 0; ``error`` otherwise (None, a bool
    and a string such as ``"0.785"`` too: fit() and fit_campaign() refuse it alike)."""
    if not (is_real_number(value) and math.isfinite(value) and value > 0):
        raise error(f"{name} must be a positive number, got {value!r}")
    return float(value)


def positive_number_or_none(name: str, value: Any, error: type[EisfitError] = FitError) -> float | None:
    """:func:`positive_number`, or None for None (an option that may be left out)."""
    return None if value is None else positive_number(name, value, error)


def finite_number_at_least(name: str, value: Any, minimum: float, error: type[EisfitError] = FitError) -> float:
    """``value`` as a float when it is a finite real number >= ``minimum``; ``error`` otherwise
    (a bool, a string, None, NaN and infinity too): ``points_per_decade must be a finite
    number >= 1, got nan``."""
    if not (is_real_number(value) and math.isfinite(value) and value >= minimum):
        raise error(f"{name} must be a finite number >= {minimum:g}, got {value!r}")
    return float(value)


def _spoken(choices: tuple) -> str:
    words = [repr(c) for c in choices]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _matches(value: Any, choice: Any) -> bool:
    """``value`` is ``choice``: True/False only as bools (numpy's too), strings as equal strings
    (so ``"no"``, ``"False"``, 1 and None never pass for a flag)."""
    if isinstance(choice, bool):
        return isinstance(value, (bool, np.bool_)) and bool(value) is choice
    return isinstance(value, str) and value == choice


def check_choice(name: str, value: Any, choices: tuple = (True, False),
                 error: type[EisfitError] = FitError) -> Any:
    """``value`` when it is one of ``choices`` (a numpy bool as a Python bool); ``error``
    naming the choices otherwise: ``symmetric must be True or False, got 'no'``."""
    for choice in choices:
        if _matches(value, choice):
            return choice
    raise error(f"{name} must be {_spoken(choices)}, got {value!r}")


ENGINES = ("fast", "lmfit")
GUESS_MODES = ("auto", "drt")


def check_engine(engine: Any) -> str:
    """``engine`` of a fit (``fast``: the batched LM; ``lmfit``); FitError otherwise."""
    if engine not in ENGINES:
        raise FitError(f"unknown engine {engine!r}; use {_spoken(ENGINES)}")
    return engine


def check_guess(guess: Any) -> str:
    """``guess``: how a fit's start is found (``auto``, or ``drt``: DRT-seeded starts too);
    FitError otherwise. Starting values given here (a mapping: impedance.py's
    ``initial_guess`` habit) are pointed to ``initial=``."""
    if isinstance(guess, Mapping):
        raise FitError(f"guess= chooses how the start is found ({_spoken(GUESS_MODES)}), not its values: "
                       f"give starting values as initial={dict(guess)!r}")
    if guess not in GUESS_MODES:
        raise FitError(f"unknown guess {guess!r}; use {_spoken(GUESS_MODES)}")
    return guess


def check_starts(starts: Any) -> int | str:
    """``starts`` of a fit: ``"auto"``, or a whole number >= 1 (the starts tried; a numpy int
    returned as a Python int); FitError otherwise (a bool too)."""
    if isinstance(starts, str) and starts == "auto":
        return starts
    if not _is_positive_int(starts):
        raise FitError(f"starts must be 'auto' or a whole number >= 1, got {starts!r}")
    return int(starts)


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= 1


def positive_int(name: str, value: Any, error: type[EisfitError] = FitError) -> int:
    """``value`` as an int when it is a whole number >= 1 (Python or numpy int); ``error``
    otherwise (None too)."""
    if not _is_positive_int(value):
        raise error(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def check_positive_int_or_none(name: str, value: Any, error: type[EisfitError] = FitError) -> int | None:
    """``value`` as an int when it is a whole number >= 1 (Python or numpy int), None for None;
    ``error`` otherwise."""
    if value is None:
        return None
    if not _is_positive_int(value):
        raise error(f"{name} must be a whole number >= 1 or None, got {value!r}")
    return int(value)


def check_smooth(value: Any, error: type[EisfitError] = FitError, name: str = "smooth") -> None | str | float:
    """The smoothing strength of a joint fit across checkpoints (``smooth=``, ``--smooth``):
    None (no smoothing; ``False`` too), ``"auto"`` (any case), or a finite number >= 0 as a
    float (a string such as ``"5"`` from the command line too); ``error`` otherwise: a negative
    or non-finite number (``inf``, ``1e400``, NaN), another string, and ``True`` (which is no
    lambda) are refused with ``smooth must be None, 'auto' or a finite number >= 0, got True``."""
    if value is None or (isinstance(value, (bool, np.bool_)) and not value):
        return None
    number = math.nan
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "auto":
            return "auto"
        try:
            number = float(text)
        except ValueError:
            pass
    elif is_real_number(value):
        number = float(value)
    if not (math.isfinite(number) and number >= 0):
        raise error(f"{name} must be None, 'auto' or a finite number >= 0, got {value!r}")
    return number
