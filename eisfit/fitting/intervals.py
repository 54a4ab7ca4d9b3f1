"""Profile-likelihood intervals as results hold them (``FitResult.intervals``): each end in
the parameter's unit, an open end None (the profile walk stopped before the level: where it
stopped is no bound the data give), the ``open_*`` flags beside them; and an interval carried
through a monotone function of one parameter (a derived quantity: an ASR, a conductivity).
Read by the results, their summaries and the engine alike (a module of its own, so that none of
them imports another for it)."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

__all__ = ["INTERVAL_END_OPEN_FLAGS", "interval_end", "with_open_ends_empty", "interval_through"]


#: each end of a profile interval (``FitResult.intervals``) and the flag that marks it open:
#: the walk ended (``MAX_DECADES`` from the value, or at the parameter's bound) before that level
INTERVAL_END_OPEN_FLAGS = {"lower_1sigma": "open_lower_1sigma", "upper_1sigma": "open_upper_1sigma",
                           "lower_3sigma": "open_lower", "upper_3sigma": "open_upper"}


def interval_end(interval: Mapping[str, Any], end: str) -> float | None:
    """The end ``end`` (``lower_3sigma``...; the parameter's unit) of a profile interval as
    the data give it: None where its flag (:data:`INTERVAL_END_OPEN_FLAGS`) marks it open,
    whatever number the dict holds (a result written before session 70, pickled or cached, holds the
    walk's limit there: 1000x the value above, value/1000 below, which describes the walk, not
    the data)."""
    if interval.get(INTERVAL_END_OPEN_FLAGS[end]):
        return None
    value = interval.get(end)
    return None if value is None else float(value)


def with_open_ends_empty(interval: Mapping[str, Any]) -> dict[str, Any]:
    """A profile interval dict whose open ends (:func:`interval_end`) are None, the ``open_*``
    flags and the closed ends kept: what ``FitResult.intervals``, :meth:`FitResult.to_dict`
    and JSON hold."""
    return {key: interval_end(interval, key) if key in INTERVAL_END_OPEN_FLAGS else value
            for key, value in interval.items()}


_OPEN_FLAGS = ("open_lower", "open_upper", "open_lower_1sigma", "open_upper_1sigma")
#: the ends and open flags that trade places when an interval goes through a decreasing function
_MIRRORED = {"lower_1sigma": "upper_1sigma", "lower_3sigma": "upper_3sigma", "open_lower": "open_upper",
             "open_lower_1sigma": "open_upper_1sigma"}
_MIRRORED.update({v: k for k, v in _MIRRORED.items()})


def interval_through(interval: Mapping[str, Any], func: Any, value: float) -> dict[str, Any] | None:
    """The profile interval of a quantity that is a monotone function ``func`` of one
    parameter (float -> float), from the parameter's ``interval`` around its fitted ``value``:
    each end that the data give carried through ``func``, an open end None and open
    (:func:`interval_end`); a decreasing function (a conductivity L/(R*A)) swaps the lower
    and upper ends and their flags: an R bounded below only gives a conductivity bounded
    above only. None where ``func`` is not strictly monotone over the ends and the value."""
    ends = {end: interval_end(interval, end) for end in INTERVAL_END_OPEN_FLAGS}
    points = sorted({x for x in (*ends.values(), value) if x is not None})
    images = [func(x) for x in points]
    steps = np.diff(images)
    if not (np.all(np.isfinite(images)) and (np.all(steps > 0) or np.all(steps < 0))):
        return None
    increasing = bool(steps[0] > 0) if steps.size else func(value * 1.01) > func(value)
    out = {**{end: None if x is None else float(func(x)) for end, x in ends.items()},
           **{k: bool(interval.get(k)) for k in _OPEN_FLAGS}}
    if not increasing:
        out = {_MIRRORED[k]: v for k, v in out.items()}
    return {k: out[k] for k in (*INTERVAL_END_OPEN_FLAGS, *_OPEN_FLAGS)}  # the order of ProfileInterval's fields
