"""Checks of fit() arguments that need no data: parameter expressions, start values, bounds.

``expr`` ties parameters with lmfit/asteval expressions (``{"CPE2_1": "CPE1_1"}``).
A misspelt name or attribute would otherwise surface from inside lmfit as a raw
NameError/AttributeError/SyntaxError; here it becomes a :class:`~eisfit.FitError`
naming the parameter and the expression.
"""
from __future__ import annotations

import io
import math
import numbers
from typing import Any, Mapping

from .._checks import is_real_number
from ..errors import FitError

__all__ = ["check_expressions", "check_mapping", "check_start_values", "bound_pair", "check_bounds"]


def check_expressions(names: list[str], expr: Mapping[str, str] | None) -> None:
    """Evaluate every expression once with all parameters set to 1.0; FitError on failure."""
    if not expr:
        return
    from asteval import Interpreter

    for target, text in expr.items():
        if not isinstance(text, str) or not text.strip():
            raise FitError(f"expr of {target}: expected an expression string, got {text!r}")
        quiet = io.StringIO()
        ae = Interpreter(writer=quiet, err_writer=quiet)
        ae.symtable.update({n: 1.0 for n in names if n != target})
        ae(text)
        if ae.error:
            err = ae.error[0]
            kind, message = err.get_error()
            detail = message.strip().splitlines()[-1] if message.strip() else kind
            if not detail.startswith(kind):
                detail = f"{kind}: {detail}"
            raise FitError(f"expr of {target}: {text!r} cannot be evaluated ({detail}); "
                           f"parameters: {', '.join(n for n in names if n != target)}")
    _refuse_cycles(names, expr)


def _refuse_cycles(names: list[str], expr: Mapping[str, str]) -> None:
    """FitError when tied parameters refer to each other in a circle (``{"A": "B", "B": "A"}``):
    no parameter would be left to set them (lmfit raised a bare NameError)."""
    import re

    uses = {t: {n for n in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text) if n in expr and n in names}
            for t, text in expr.items()}
    for start in uses:
        seen, todo = set(), list(uses[start])
        while todo:
            n = todo.pop()
            if n == start:
                raise FitError(f"expr ties {start} to itself through {', '.join(sorted(seen | {start}))}: "
                               "at least one parameter of a tie must be free or fixed")
            if n not in seen:
                seen.add(n)
                todo.extend(uses.get(n, ()))


_EXAMPLES = {"initial": "{'R1': 50.0}", "fixed": "{'R1': 50.0}", "bounds": "{'R1': (1.0, 1e4)}",
             "expr": "{'CPE2_1': 'CPE1_1'}"}


def check_mapping(values: object, what: str) -> None:
    """FitError unless ``values`` (the ``initial``, ``fixed``, ``bounds`` or ``expr`` argument
    of :func:`eisfit.fit`) is None or a mapping by parameter name (a list of names would
    otherwise be read character by character)."""
    if values is not None and not isinstance(values, Mapping):
        example = _EXAMPLES.get(what, "{'R1': ...}")
        raise FitError(f"{what} must be a mapping such as {example}, got {type(values).__name__}")


def check_start_values(values: Mapping[str, float] | None, what: str = "initial",
                       bounds: Mapping[str, tuple[float, float]] | None = None) -> None:
    """FitError unless ``values`` (``initial`` or ``fixed``: parameter name -> value, in the
    parameter's unit: ohm, F, S*s^n...) is None or a mapping of finite real numbers, each
    within ``bounds[name]`` = (lower, upper) when ``bounds`` is given (the circuit's
    default bounds with the user's ``bounds=``). One check for start and fixed values."""
    check_mapping(values, what)
    for name, value in (values or {}).items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise FitError(f"{what} value of {name} must be a finite number, got {value!r}")
        if bounds is not None and name in bounds:
            lower, upper = bounds[name]
            if not lower <= value <= upper:
                raise FitError(f"{what} value of {name} = {float(value)!r} lies outside its bounds "
                               f"[{lower:g}, {upper:g}]")


def bound_pair(name: str, pair: Any) -> tuple[float, float]:
    """(lower, upper) of the bounds ``pair`` of the parameter ``name`` (in its unit; None read
    as unbounded); FitError for anything but a pair of numbers or None with lower < upper."""
    if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2 \
            or not all(v is None or is_real_number(v) for v in pair):
        raise FitError(f"bounds of {name} must be a (lower, upper) pair of numbers or None, got {pair!r}")
    lower = -math.inf if pair[0] is None else float(pair[0])
    upper = math.inf if pair[1] is None else float(pair[1])
    if not lower < upper:
        raise FitError(f"bounds of {name}: lower {lower} must be below upper {upper}")
    return lower, upper


def check_bounds(bounds: Mapping[str, Any] | None) -> None:
    """FitError unless ``bounds`` (the argument of :func:`eisfit.fit`) is None or a mapping of
    parameter names to :func:`bound_pair` pairs: checked before any fit, without the circuit
    (whose parameter names :func:`eisfit.settings.check_parameter_names` checks)."""
    check_mapping(bounds, "bounds")
    for name, pair in (bounds or {}).items():
        bound_pair(name, pair)
