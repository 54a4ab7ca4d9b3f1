"""Checks of fit() arguments that need no data: parameter expressions and start values.

``expr`` ties parameters with lmfit/asteval expressions (``{"CPE2_1": "CPE1_1"}``).
A misspelt name or attribute would otherwise surface from inside lmfit as a raw
NameError/AttributeError/SyntaxError; here it becomes a :class:`~eisfit.FitError`
naming the parameter and the expression.
"""
from __future__ import annotations

import io
import math
from typing import Mapping

from ..errors import FitError

__all__ = ["check_expressions", "check_start_values"]


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


def check_start_values(values: Mapping[str, float] | None, what: str = "initial") -> None:
    """FitError when a start (or fixed) value is not a finite number."""
    for name, value in (values or {}).items():
        try:
            ok = math.isfinite(float(value))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise FitError(f"{what} value of {name} must be a finite number, got {value!r}")
