"""Plain-text presentation of a FitResult (terminal and notebooks)."""
from __future__ import annotations

import math

from .flags import by_severity, unresolved_keys

UNRESOLVED = "unresolved"


def _fmt(value: float, err: float | None = None) -> str:
    if value is None or not math.isfinite(value):
        return "nan"
    if err is None:
        return f"{value:.5g}"
    if not math.isfinite(err):
        return f"{value:.5g} ± nan"
    return f"{value:.5g} ± {err:.2g}"


def _end(iv: dict, key: str, open_key: str, is_outer: bool) -> str:
    """An interval end; an open end (the walk stopped before the level) is marked with < or >."""
    value = f"{iv[key]:.4g}"
    if is_outer and iv.get(open_key):
        return ("<=" if key.startswith("lower") else ">=") + value
    return value


def format_fit_summary(res) -> str:
    """Parameters with standard errors and units, statistics, derived quantities and flags.

    A parameter flagged ``unresolved:<name>`` (and every derived quantity of its element)
    reads "unresolved" instead of a number; flags are listed by severity."""
    hidden = unresolved_keys(res.flags, list(res.param_names) + list(res.derived))
    lines = [
        f"{res.label}: {res.circuit}" + (f"  [{res.circuit_name}]" if res.circuit_name != res.circuit else ""),
        f"  {res.n_points} points, {res.n_free} free parameters, weighting {res.settings.get('weighting')}",
        f"  chisq {res.chisq:.4g}  reduced {res.redchi:.4g} (2N-M = {res.dof})  "
        f"pseudo-chisq {res.pseudo_chisq:.4g}  AIC {res.aic:.1f}  BIC {res.bic:.1f}",
        "  parameter       value ± stderr        unit",
    ]
    for name in res.param_names:
        fixed = " (fixed)" if name in res.fixed else ""
        shown_value = UNRESOLVED if name in hidden else _fmt(res.values[name], res.stderr.get(name))
        lines.append(f"  {name:<12} {shown_value:>24}  {res.units.get(name, '')}{fixed}")
    for name, iv in res.intervals.items():
        if name in hidden:
            continue
        unit = res.units.get(name, "")
        lines.append(f"  {name} profile likelihood: 1 sigma [{_end(iv, 'lower_1sigma', 'open_lower', False)}, "
                     f"{_end(iv, 'upper_1sigma', 'open_upper', False)}], 3 sigma "
                     f"[{_end(iv, 'lower_3sigma', 'open_lower', True)}, {_end(iv, 'upper_3sigma', 'open_upper', True)}] {unit}")
    shown = [k for k in res.derived if not k.endswith("_stderr")]
    if shown:
        lines.append("  derived quantity                          value ± stderr        unit / formula")
        for key in shown:
            shown_value = UNRESOLVED if key in hidden else _fmt(res.derived[key], res.derived.get(key + '_stderr'))
            lines.append(f"  {key:<38} {shown_value:>24}  "
                         f"{res.derived_units.get(key, '')}")
    if res.roles:
        lines.append("  arcs: " + ", ".join(f"{r} = {role}" for r, role in res.roles.items()))
    if res.kk_passed is not None:
        lines.append(f"  Kramers-Kronig: {'passed' if res.kk_passed else 'FAILED'} "
                     f"(max residual {res.kk_max_residual_pct:.2g} % of |Z|)")
    if not res.flags:
        lines.append("  flags: none")
    for level, flags in by_severity(res.flags).items():
        if flags:
            lines.append(f"  {level}s: " + ", ".join(flags))
    return "\n".join(lines)
