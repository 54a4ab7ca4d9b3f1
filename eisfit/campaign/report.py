"""Markdown report of a campaign: the evolution of each resistance in words and a table."""
from __future__ import annotations

import math

from ..fitting.flags import by_severity, problems, unresolved_keys
from ..model.circuit import resistance_names

__all__ = ["campaign_report", "evolution_lines", "milestones"]


def milestones(n: int, times: list[float | None]) -> list[int]:
    """Indices shown in the one-line evolution: all when <= 5, else first, middle (in time
    when known) and last."""
    if n <= 5:
        return list(range(n))
    if all(t is not None for t in times):
        t0, t1 = times[0], times[-1]
        mid = min(range(n), key=lambda k: abs(times[k] - (t0 + t1) / 2))  # type: ignore[operator]
    else:
        mid = n // 2
    return sorted({0, mid, n - 1})


def _fmt(x: float, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "nan"
    return f"{x:.{digits}g}" if abs(x) < 1e4 else f"{x:.{digits}e}"


def _point_label(c) -> str:
    if c.time_h is not None:
        return f"{c.time_h:g} h"
    if c.cycle is not None:
        return f"cycle {c.cycle:g}"
    return c.label


def _quantity(result, name: str, symmetric: bool) -> list[tuple[str, str, str]]:
    """(description, derived key or parameter name, unit) for a resistance."""
    role = result.roles.get(name)
    what = f"{name} ({role}" if role else f"{name} ("
    per_cell = f"{name}_asr_ohm_cm2"
    per_interface = f"{name}_asr_per_interface_ohm_cm2"
    out = []
    if per_cell in result.derived:
        out.append((f"{what}, per cell)".replace("(, ", "("), per_cell, "ohm*cm2"))
        if symmetric and role == "interface" and per_interface in result.derived:
            out.append((f"{what}, per interface)".replace("(, ", "("), per_interface, "ohm*cm2"))
    else:
        label = f"{name} ({role})" if role else name
        out.append((label, name, "ohm"))
    return out


UNRESOLVED = "unresolved"


def _is_unresolved(result, key: str) -> bool:
    """True when ``key`` (parameter or derived quantity) belongs to a parameter flagged
    ``unresolved:<name>``: it is shown as "unresolved", never as a number."""
    return bool(unresolved_keys(result.flags, [key]))


def _shown(result, key: str, digits: int = 3) -> str:
    """``value ± stderr`` of ``key``, or "unresolved"."""
    if _is_unresolved(result, key):
        return UNRESOLVED
    v, s = _value(result, key)
    return f"{_fmt(v, digits)} ± {_fmt(s, 2)}"


def _value(result, key: str) -> tuple[float, float]:
    if key in result.values:
        return result.values[key], result.stderr.get(key, math.nan)
    return result.derived.get(key, math.nan), result.derived.get(f"{key}_stderr", math.nan)


def _series(camp, key: str) -> list[tuple[int, float, float, bool]]:
    """(checkpoint index, value, stderr, unresolved) of ``key`` over the fitted checkpoints."""
    out = []
    for k, r in enumerate(camp.results):
        if r is not None:
            v, s = _value(r, key)
            out.append((k, v, s, _is_unresolved(r, key)))
    return out


def _quantities(camp) -> list[tuple[str, str, str]]:
    first = next((r for r in camp.results if r is not None), None)
    if first is None:
        return []
    symmetric = bool(camp.settings.get("symmetric", True))
    out = []
    for name in resistance_names(first.param_names):
        out.extend(_quantity(first, name, symmetric))
    return out


def evolution_lines(camp) -> list[str]:
    """``R2 (interface, per cell): 117 -> 58 -> 35 ohm*cm2 (0 h, 500 h, 1000 h)``, one per quantity.

    A value flagged ``unresolved:<name>`` reads ``unresolved`` (its stderr ``-``)."""
    ok = [k for k, r in enumerate(camp.results) if r is not None]
    if not ok:
        return []
    shown = [ok[k] for k in milestones(len(ok), [camp.checkpoints[i].time_h for i in ok])]
    where = ", ".join(_point_label(camp.checkpoints[i]) for i in shown)
    lines = []
    for desc, key, unit in _quantities(camp):
        series = {k: (v, s, bad) for k, v, s, bad in _series(camp, key)}
        points = [series.get(i, (math.nan, math.nan, False)) for i in shown]
        text = " -> ".join(UNRESOLVED if bad else _fmt(v) for v, _, bad in points)
        errs = ", ".join("-" if bad else "±" + _fmt(s, 2) for _, s, bad in points)
        lines.append(f"{desc}: {text} {unit} ({where}; 1 stderr {errs})")
    return lines


def campaign_report(camp) -> str:
    """The whole report as markdown."""
    title = camp.name or "Campaign"
    lines = [f"# {title}: evolution of the fitted circuit", ""]
    n_ok = sum(r is not None for r in camp.results)
    circuit = camp.settings.get("circuit")
    lines += [
        f"{len(camp.checkpoints)} checkpoints ({n_ok} fitted, {len(camp.errors)} failed), "
        f"ordered by {camp.ordering}. Circuit `{circuit}`, weighting `{camp.settings.get('weighting')}`.",
        "",
        "ASR per cell = R x A (both interfaces of a symmetric cell together); "
        "ASR per interface = R x A / 2. Uncertainties are 1 standard error.",
        "",
        "## Evolution",
        "",
    ]
    lines += [f"- {line}" for line in evolution_lines(camp)] or ["- no checkpoint could be fitted"]
    if getattr(camp, "joint", None) is not None:
        # ---- series analysis (eisfit.series): shared vs independent, smoothing ----
        lines += ["", "## Joint fit across checkpoints", ""]
        joints = camp.joint.items() if isinstance(camp.joint, dict) else [(None, camp.joint)]
        for cell, joint in joints:
            if cell is not None:
                lines += [f"Cell {cell}:"]
            lines += joint.summary_lines() or ["Joint fit without shared parameters or smoothing."]
        # ---- end series analysis ----
    lines += ["", "## Per checkpoint", ""] + _table_lines(camp)
    lines += _flag_lines(camp) + _error_lines(camp)
    if getattr(camp, "drts", None) is not None:  # ---- DRT (issue 8), eisfit/campaign/drt.py ----
        from .drt import drt_report_lines

        lines += drt_report_lines(camp)
    stats = camp.stats
    if stats:
        lines += ["", f"Fits run: {stats.get('fits_run', 0)}, cache hits: {stats.get('cache_hits', 0)}, "
                  f"wall time: {stats.get('wall_seconds', math.nan):.1f} s."]
    return "\n".join(lines) + "\n"


def _table_lines(camp) -> list[str]:
    quantities = _quantities(camp)
    head = ["checkpoint", "time (h)"] + [f"{d} / {u}" for d, _, u in quantities] + ["redchi", "flags"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c, r in zip(camp.checkpoints, camp.results):
        cells = [c.label, "" if c.time_h is None else f"{c.time_h:g}"]
        if r is None:
            cells += ["-"] * len(quantities) + ["-", "error"]
        else:
            cells += [_shown(r, key) for _, key, _ in quantities]
            cells += [_fmt(r.redchi), ", ".join(r.flags)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _flag_lines(camp) -> list[str]:
    """The checkpoints with a flag of severity ``problem`` (see :mod:`eisfit.fitting.flags`),
    then a count of those with cautions or notes only (listed in the table)."""
    fitted = [(k, c, r) for k, (c, r) in enumerate(zip(camp.checkpoints, camp.results)) if r is not None]
    flagged = [(k, c, r) for k, c, r in fitted if problems(r.flags)]
    minor = [r for _, _, r in fitted if r.flags and not problems(r.flags)]
    if not flagged and not minor:
        return []
    out = ["", "## Flags", ""]
    for k, c, r in flagged:
        notes = "; ".join(camp.details[k].get("notes", []))
        others = [f for level, fl in by_severity(r.flags).items() if level != "problem" for f in fl]
        out.append(f"- {c.label}: **{', '.join(problems(r.flags))}**" + (f"; also {', '.join(others)}" if others else "")
                   + (f" ({notes})" if notes else ""))
    if not flagged:
        out.append("- no checkpoint has a problem flag")
    if minor:
        out.append(f"- {len(minor)} checkpoint(s) carry only cautions or notes (see the table)")
    return out


def _error_lines(camp) -> list[str]:
    if not camp.errors:
        return []
    return ["", "## Errors", ""] + [f"- {e}" for e in camp.errors]
