"""Markdown report of a campaign: the evolution of each resistance in words and a table."""
from __future__ import annotations

import math

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


def _value(result, key: str) -> tuple[float, float]:
    if key in result.values:
        return result.values[key], result.stderr.get(key, math.nan)
    return result.derived.get(key, math.nan), result.derived.get(f"{key}_stderr", math.nan)


def _series(camp, key: str) -> list[tuple[int, float, float]]:
    out = []
    for k, r in enumerate(camp.results):
        if r is not None:
            v, s = _value(r, key)
            out.append((k, v, s))
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
    """``R2 (interface, per cell): 117 -> 58 -> 35 ohm*cm2 (0 h, 500 h, 1000 h)``, one per quantity."""
    ok = [k for k, r in enumerate(camp.results) if r is not None]
    if not ok:
        return []
    shown = [ok[k] for k in milestones(len(ok), [camp.checkpoints[i].time_h for i in ok])]
    where = ", ".join(_point_label(camp.checkpoints[i]) for i in shown)
    lines = []
    for desc, key, unit in _quantities(camp):
        series = {k: (v, s) for k, v, s in _series(camp, key)}
        text = " -> ".join(_fmt(series.get(i, (math.nan, math.nan))[0]) for i in shown)
        errs = ", ".join("±" + _fmt(series.get(i, (math.nan, math.nan))[1], 2) for i in shown)
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
    if getattr(camp, "circuit_choice", None) is not None:  # issue 16: circuit="auto"
        lines += ["", "## Circuit choice", "", camp.circuit_choice.explain(), ""]
        lines += _choice_table_lines(camp.circuit_choice)
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


def _choice_table_lines(choice) -> list[str]:
    """The candidates of a campaign-wide circuit choice as a markdown table."""
    crit = f"sum_{choice.criterion}"
    lines = [f"| circuit | parameters | summed {choice.criterion.upper()} | adequate | lack of fit | unresolved |",
             "|---|---|---|---|---|---|"]
    for _, r in choice.table.iterrows():
        lines.append(f"| `{r['circuit']}` | {int(r['n_params'])} | {r[crit]:.1f} | {int(r['n_adequate'])} | "
                     f"{int(r['n_lack_of_fit'])} | {int(r['n_unresolved'])} |")
    return lines


def _table_lines(camp) -> list[str]:
    quantities = _quantities(camp)
    head = ["checkpoint", "time (h)"] + [f"{d} / {u}" for d, _, u in quantities] + ["redchi", "flags"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c, r in zip(camp.checkpoints, camp.results):
        cells = [c.label, "" if c.time_h is None else f"{c.time_h:g}"]
        if r is None:
            cells += ["-"] * len(quantities) + ["-", "error"]
        else:
            for _, key, _ in quantities:
                v, s = _value(r, key)
                cells.append(f"{_fmt(v)} ± {_fmt(s, 2)}")
            cells += [_fmt(r.redchi), ", ".join(r.flags)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _flag_lines(camp) -> list[str]:
    flagged = [(c, r) for c, r in zip(camp.checkpoints, camp.results) if r is not None and r.flags]
    if not flagged:
        return []
    out = ["", "## Flags", ""]
    for (c, r), d in zip(flagged, [camp.details[camp.checkpoints.index(c)] for c, _ in flagged]):
        notes = "; ".join(d.get("notes", []))
        out.append(f"- {c.label}: {', '.join(r.flags)}" + (f" ({notes})" if notes else ""))
    return out


def _error_lines(camp) -> list[str]:
    if not camp.errors:
        return []
    return ["", "## Errors", ""] + [f"- {e}" for e in camp.errors]
