"""Reports of a campaign: the evolution of each resistance in words, the table, the flags
explained, the figures. Markdown here (report.md, which links the figure files);
the self-contained HTML page (report.html) in :mod:`eisfit.campaign.html`.

Nothing here fits: everything is read from the :class:`~eisfit.campaign.CampaignResult`.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from ..analysis.derived import APEX_NOT_CLOSED_TEXT, APEX_OUTSIDE_RANGE, apex_outside_range_flags
from ..analysis.quality import undetermined
from ..fitting.flags import (by_severity, explain_flag, flag_counts, flag_details, flag_name, marked_flags, problems,
                             reads_undetermined, unresolved_keys)
from ..fitting.report import columns_lines, one_sided_reading
from ..fitting.result import fitted_indices, results_field
from ..model.circuit import resistance_names
from ..units import EVOLUTION_AXIS_LABELS, pretty_unit
from .kkband import kk_band_report_lines

__all__ = ["campaign_report", "evolution_lines", "milestones", "table_rows", "flag_explanations", "joint_table_line",
           "areas_used", "any_area_used",
           "wall_time_line", "wall_time_phases", "wall_time_split", "WALL_TIME_PHASES", "failure_lines",
           "FIGURE_CAPTIONS", "MAX_TABLE_ROWS"]

MAX_TABLE_ROWS = 200  # report tables of larger campaigns show this many rows, evenly chosen

FIGURE_CAPTIONS = {
    "evolution": "Evolution of each resistance (ASR per cell; per interface beside it for the "
                 "interface arc of a symmetric cell) and effective capacitance, 1 standard error bars; "
                 "flagged checkpoints ringed in red; a value the data do not give (unresolved, undetermined, "
                 "or the C_eff of a CPE flagged low-n, n < 0.6: no capacitance) is left out and marked on the "
                 "time axis; value axes are logarithmic where the values span more than 1.5 decades.",
    "nyquist": "Nyquist overlay: data (points) and fits (lines), coloured along the evolution axis "
               "(time, cycle, capacity or temperature: the colour bar names it).",
    "fits": "Nyquist fit of each checkpoint: data (points) and fitted circuit (line).",
    "bode": "Bode overlay: |Z| and phase against frequency, data and fits.",
    "residual_map": "Fit residuals |ΔZ|/|Z| (signed by the real part) per checkpoint and frequency: "
                    "bands across checkpoints point at a model that misses a feature.",
    "drt_map": "Distribution of relaxation times per checkpoint, tracked peaks marked.",
    "drt_stack": "DRT of the data (solid) and of the fitted circuit (dashed) per checkpoint.",
    "arrhenius": "Arrhenius plot: log10 of each conductivity (and of 1/ASR of the interface arcs, as the "
                 "table names them) against 1000/T, with the fitted lines; the legend marks an Ea that is a "
                 "joint fit's Arrhenius law (\"joint law\") or no activation energy (\"barely T-dependent\").",
}


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


def _quantity(result, name: str, symmetric: bool) -> list[tuple[str, str, str, str]]:
    """(description, derived key or parameter name, unit, resistance) for a resistance; the
    description says what a joint fit made of it (:func:`_joint_role`)."""
    words = [w for w in (result.roles.get(name), _joint_role(result, name)) if w]
    per_cell = f"{name}_asr_ohm_cm2"
    per_interface = f"{name}_asr_per_interface_ohm_cm2"

    def desc(*more: str) -> str:
        inside = ", ".join([*words, *more])
        return f"{name} ({inside})" if inside else name

    if per_cell not in result.derived:
        return [(desc(), name, "ohm", name)]
    out = [(desc("per cell"), per_cell, "ohm*cm2", name)]
    if symmetric and per_interface in result.derived:  # an interface or charge-transfer arc
        out.append((desc("per interface"), per_interface, "ohm*cm2", name))
    return out


def _joint_role(result, name: str) -> str:
    """What a joint fit across the checkpoints (``settings["joint"]``) made of parameter
    ``name``: "shared" (one value for every checkpoint), "smoothed" (a smoothness penalty),
    "Arrhenius law"; "" otherwise (:func:`eisfit.series.joint.joint_role`). A shared R read
    "47.4 -> 47.4 -> 47.4" like a measured stability."""
    joint = result.settings.get("joint")
    if not joint:
        return ""
    from ..series.joint import joint_role  # scipy with it: imported where there was a joint fit, not by every command

    return joint_role(joint, name)


UNRESOLVED = "unresolved"
UNDETERMINED = "undetermined"
NO_AREA = "no area"  # a per-area quantity of a checkpoint without an electrode area: its R is in ohm only
FIXED = "fixed"  # a value the user held fixed: shown, its stderr reads "fixed"
ARC_IN_RANGE = "arc in range"  # the intercept's line at a checkpoint whose fastest arc the data resolve
GIVEN_APART = "given apart"  # ... whose arc lies above f_max too but whose fit determines its terms apart
NOT_SUMMED = "not summed"  # an arcs' sum's line at a checkpoint whose fit gives no such sum
PROBLEM_MARK = "!"  # after a headline number whose fit has a problem flag (or an arc-swap)


def _is_unresolved(result, key: str) -> bool:
    """True when ``key`` (parameter or derived quantity) belongs to a parameter flagged
    ``unresolved:<name>``: it is shown as "unresolved", never as a number."""
    return bool(unresolved_keys(result.flags, [key]))


def _shown(result, key: str, digits: int = 3, resistance: str | None = None) -> str:
    """``value ± stderr`` of ``key``, marked ``(undetermined)`` when the stderr is unknown or
    above the value (a parameter held fixed: ``value (fixed)``), or "unresolved"; a per-area
    quantity of a checkpoint without an area reads ``no area (R2 = 46.2 ± 0.2 Ω)`` with its
    ``resistance`` in ohm; a value the data bound below only (flag ``profile-open``) reads as
    the fit's summary reads it: ``> 32.03 (undetermined: 3 sigma lower bound; 48.97-148.1 at 1
    sigma, optimum 61.44; the data do not bound it above)``, and so does its ASR (``> 25.14 ...``
    ohm*cm2)
    (:func:`~eisfit.fitting.report.one_sided_reading`)."""
    v, s = _value(result, key)
    state = _headline_state(result, key, v, s)  # the headline's rule, one place
    if state == UNRESOLVED:
        return UNRESOLVED
    if state == NO_AREA:
        return NO_AREA + ("" if resistance is None else f" ({_ohm_text(result, resistance)} Ω)")
    if state == FIXED:
        return f"{_fmt(v, digits)} ({FIXED})"
    one_sided = one_sided_reading(result, key)
    if one_sided is not None:
        return f"{one_sided[0]} {one_sided[1].strip()}"
    if not math.isfinite(s):  # as a fit's summary says it: no "± nan"
        return f"{_fmt(v, digits)} ({UNDETERMINED}: stderr unknown)"
    text = f"{_fmt(v, digits)} ± {_fmt(s, 2)}"
    return f"{text} ({UNDETERMINED})" if state == UNDETERMINED else text


def _ohm_text(result, resistance: str) -> str:
    """``R2 = 46.2 ± 0.2`` (ohm, the unit left to the caller): a resistance of a fit, as its
    headline shows it (``unresolved``, ``(undetermined)``)."""
    shown = _shown(result, resistance)
    return f"{resistance} {shown}" if shown.startswith(">") else f"{resistance} = {shown}"


def _value(result, key: str) -> tuple[float, float]:
    if key in result.values:
        return result.values[key], result.stderr.get(key, math.nan)
    return result.derived.get(key, math.nan), result.derived.get(f"{key}_stderr", math.nan)


def _quantities(camp, first=None) -> list[tuple[str, str, str, str]]:
    """(description, key, unit, resistance) of each quantity of the evolution lines, read
    from ``first`` (default: the campaign's first fitted checkpoint's result)."""
    first = next((r for r in camp.results if r is not None), None) if first is None else first
    if first is None:
        return []
    symmetric = bool(camp.settings.get("symmetric", True))
    out = []
    for name in resistance_names(first.param_names):
        out.extend(_quantity(first, name, symmetric))
    return out


def evolution_lines(camp, pretty: bool = False) -> list[str]:
    """``R2 (interface, per cell): 117 -> 58 -> 35 ohm*cm2 (0 h, 500 h, 1000 h)``, one per
    quantity (and per cell, ``cell B: R2 ...``, when the campaign has several); ``pretty`` writes the units as Ω·cm² / Ω and the arrows as →.

    These are the campaign's headline numbers, so a value the data do not determine is
    never shown as one: a value flagged ``unresolved:<name>`` reads ``unresolved``, one
    whose standard error is unknown or larger than the value itself (zero lies within
    1 stderr) reads ``undetermined``; its stderr reads ``-``. The table keeps the numbers.
    A parameter the user held fixed shows its value, with ``fixed`` for its stderr. A number
    from a fit with a problem flag of its own (lack of fit, not converged, KK failed) or whose
    arcs swapped identities (``arc-swap``) is marked ``!`` and the flags are named at the end
    of the line."""
    lines = []
    for desc, unit, where, points in _evolution(camp):
        text = " -> ".join((_fmt(v) + (PROBLEM_MARK if bad else "")) if state in ("", FIXED) else state
                           for v, _, state, bad, _ in points)
        errs = ", ".join(FIXED if state == FIXED else "-" if state else "±" + _fmt(s, 2)
                         for _, s, state, _, _ in points)
        note = _problem_note(points)
        bare = [f"{label}: {ohm} {'Ω' if pretty else 'ohm'}" for _, _, state, _, (label, ohm) in points
                if state == NO_AREA]
        note += f"; no area at {'; '.join(bare)}" if bare else ""
        line = f"{desc}: {text} {unit} ({where}; 1 stderr {errs}{note})"
        lines.append(line.replace(" -> ", " → ").replace(unit, pretty_unit(unit)) if pretty else line)
    return lines


def caution_line(camp) -> str | None:
    """One line counting the checkpoints with each whole-fit caution (``misfit``,
    ``inductance-in-data``...: a flag of severity ``caution`` that names no parameter), for
    the command's output beside the evolution lines, which mark problems only; None when
    no fit has one. A folder campaign of the sample data with the default circuit had
    printed R0 16 % and R1 11 % off the truth with no sign of the misfit and missing lead
    inductance its fits flagged."""
    fitted = [r for r in camp.results if r is not None]
    counts = flag_counts([f for f in by_severity(r.flags)["caution"]
                          if f.partition(":")[2].split(",")[0] not in r.values] for r in fitted)
    if not counts:
        return None
    listed = "; ".join(f"{name} at {n} of {len(fitted)}" for name, n in counts.items())
    return (f"cautions on the fits: {listed} (values may be off by more than their stderr; report.md explains "
            "each flag, eisfit fit FILE shows one fit's)")


def _problem_note(points: list) -> str:
    """``; ! fit flagged lack-of-fit, arc-swap at 35.07 h``: the problem flags of the fits whose
    numbers a line marks, each with the milestones it marks where it does not mark every
    shown number (an arc-swap at one milestone had read as the whole line's)."""
    shown = [(label, bad) for _, _, state, bad, (label, _) in points if state in ("", FIXED)]
    where: dict[str, list[str]] = {}
    for label, bad in shown:
        for name in bad:
            where.setdefault(name, []).append(label)
    if not where:
        return ""
    parts = [name if len(labels) == len(shown) else f"{name} at {', '.join(labels)}" for name, labels in where.items()]
    return f"; {PROBLEM_MARK} fit flagged {', '.join(parts)}"


def _headline_state(result, key: str, value: float, stderr: float) -> str:
    """"" for a number a headline may show, ``fixed`` for a value the user held fixed (no
    stderr to judge it by), else the word shown instead: ``unresolved`` (flagged), ``no area``
    (a per-area quantity of a checkpoint without an electrode area: nothing to normalise by,
    its resistance is in ohm) or ``undetermined`` (stderr unknown or above the value, or a
    series R that holds an unresolved arc's resistance too: ``series-holds-arc``)."""
    if result.held_fixed(key):
        return FIXED
    if _is_unresolved(result, key):
        return UNRESOLVED
    if key not in result.values and key not in result.derived and not result.settings.get("area_cm2"):
        return NO_AREA
    if not math.isfinite(value) or undetermined(value, stderr) or reads_undetermined(result.flags, key):
        return UNDETERMINED
    return ""


def _fit_problems(result) -> tuple[str, ...]:
    """Names of the flags that mark a fit's numbers (:func:`~eisfit.fitting.flags.marked_flags`):
    the problems that concern the whole fit (``lack-of-fit``, ``not-converged``,
    ``kk-failed``; ``unresolved`` concerns one parameter, shown as such) and ``arc-swap``."""
    return tuple(dict.fromkeys(flag_name(f) for f in marked_flags(result.flags)))


def _evolution(camp) -> list[tuple[str, str, str, list[tuple[float, float, str, tuple[str, ...]]]]]:
    """(description, unit, where, milestone points (value, stderr, headline state, problem
    flags of the fit, (checkpoint name, its resistance in ohm where it has no area))) per
    quantity, and per cell when the campaign has several (the description then begins with
    ``cell <name>: ``; first, middle and last taken across cells had read cell A at -20 C, then
    cell B at -20 C and at 80 C as one evolution), computed once per campaign result (the CLI,
    report.md and report.html all show them)."""
    memo = getattr(camp, "_memo", None)
    key = ("evolution", id(camp.results), len(camp.results))
    if memo is not None and key in memo:
        return memo[key]
    ok = fitted_indices(camp.results)
    cells: dict[Any, list[int]] = {}
    for k in ok:
        cells.setdefault(camp.checkpoints[k].cell, []).append(k)
    several = len(cells) > 1
    out = []
    for cell, indices in cells.items():
        prefix = f"cell {cell}: " if several else ""
        out += [(prefix + desc, unit, where, points) for desc, unit, where, points in _evolution_of(camp, indices)]
    if memo is not None:
        memo[key] = out
    return out


def _evolution_of(camp, ok: list[int]) -> list[tuple[str, str, str, list]]:
    """The evolution lines' parts (see :func:`_evolution`) of the fitted checkpoints ``ok``
    (indices, campaign order), their quantities read from the first of them."""
    shown = [ok[k] for k in milestones(len(ok), [camp.checkpoints[i].time_h for i in ok])]
    axis = camp.evolution_axis()
    where = ", ".join(camp.checkpoints[i].name_on(axis, i) for i in shown)
    first = camp.results[ok[0]]
    apex_flags = apex_outside_range_flags(first.circuit)
    names = [camp.checkpoints[i].name_on(axis, i) for i in shown]
    out = []
    intercept = _intercept_line(camp, shown, names)
    for desc, key_, unit, name in _quantities(camp, first):
        points = []
        outside = 0
        for i, label in zip(shown, names):
            r = camp.results[i]
            v, s = _value(r, key_)
            state = _headline_state(r, key_, v, s)
            points.append((v, s, state, _fit_problems(r),
                           (label, _ohm_text(r, name) if state == NO_AREA else "")))
            outside += apex_flags.get(name) in r.flags and state != UNRESOLVED  # no value to call extrapolated
        note = f"; extrapolated at {outside} of {len(shown)}: {APEX_NOT_CLOSED_TEXT}" if outside else ""
        out.append((desc, unit, where + note, points))
    sums = [*([intercept] if intercept else []), *_arc_sum_lines(camp, shown, names)]
    return out + [(desc, unit, where, points) for desc, unit, points in sums]


def _intercept_line(camp, shown: list[int], names: list[str]) -> tuple[str, str, list] | None:
    """(description, unit, points) of the evolution line of the high-frequency intercept
    (``hf_intercept_asr_ohm_cm2`` per cell, else ``hf_intercept_ohm``:
    :func:`~eisfit.fitting.intercept.intercept_quantities`) where a milestone's fastest arc
    lies above the data, its R and the series R undetermined alone (a garnet's bulk arc on a
    1 MHz analyser: the line "high-frequency intercept R0 + R1 (per cell): 82.4 -> 82.3
    ohm*cm2"); a milestone whose arc the data resolve reads ``arc in range``. None when no
    milestone has it."""
    from ..fitting.intercept import INTERCEPT_ASR_KEY, INTERCEPT_KEY, intercept_name, intercept_terms
    from ..model.circuit import circuit_of

    results = [camp.results[i] for i in shown]
    having = [r for r in results if INTERCEPT_KEY in r.derived]
    found = intercept_terms(circuit_of(having[0].circuit), having[0].values, having[0].flags) if having else None
    if found is None:
        return None
    per_area = INTERCEPT_ASR_KEY in having[0].derived
    key, unit = (INTERCEPT_ASR_KEY, "ohm*cm2") if per_area else (INTERCEPT_KEY, "ohm")
    arc = {n.rsplit("_", 1)[0] for n in found.traded}  # the process's elements: R1, CPE1
    points = [p if p[2] != ARC_IN_RANGE or not _apex_beyond(r, arc) else (*p[:2], GIVEN_APART, *p[3:])
              for p, r in zip(_sum_points(results, names, INTERCEPT_KEY, key, ARC_IN_RANGE), results)]
    return f"{intercept_name(having)}{' (per cell)' if per_area else ''}", unit, points


def _apex_beyond(result, elements: set[str]) -> bool:
    """Whether ``result`` flags the apex of one of ``elements`` beyond the end of the data."""
    return bool(flag_details(result.flags, APEX_OUTSIDE_RANGE) & elements)


def _sum_points(results: list, names: list[str], ohm_key: str, key: str, missing: str) -> list:
    """The milestone points (as :func:`_evolution`'s) of a sum of resistances that a fit gives
    as the derived ``ohm_key`` (ohm) and ``key`` (the one shown: per area, or ``ohm_key``
    itself): ``missing`` where a fit has no such sum, ``no area`` where it has it in ohm only
    (its ohm value kept for the line's note), ``undetermined`` where its stderr is unknown or
    above it."""
    points = []
    for r, label in zip(results, names):
        v, s = _value(r, key)
        state = (missing if ohm_key not in r.derived else NO_AREA if key not in r.derived
                 else UNDETERMINED if not math.isfinite(v) or undetermined(v, s) else "")
        ohm = _fmt(r.derived[ohm_key]) if state == NO_AREA else ""
        points.append((v, s, state, _fit_problems(r), (label, ohm)))
    return points


def _arc_sum_lines(camp, shown: list[int], names: list[str]) -> list[tuple[str, str, list]]:
    """(description, unit, points) of an evolution line per sum of arcs that a milestone's fit
    gives where the data do not split them (``R1+R2_asr_ohm_cm2`` per cell, else
    ``R1+R2_ohm``: :func:`~eisfit.fitting.arc_sums.arc_sum_quantities`): "R1 + R2 (arcs
    measured together, per cell): 392 -> 347 ohm*cm2" where R1 and R2 read unresolved; a
    milestone whose fit gives no such sum (its arcs apart, or one outside the data) reads
    ``not summed``."""
    from ..fitting.arc_sums import arc_sum_asr_key, arc_sum_ohm_keys, arc_sum_terms

    results = [camp.results[i] for i in shown]
    keys = dict.fromkeys(k for r in results for k in arc_sum_ohm_keys(r.derived))
    out = []
    for ohm_key in keys:
        per_area = any(arc_sum_asr_key(ohm_key) in r.derived for r in results)
        key, unit = (arc_sum_asr_key(ohm_key), "ohm*cm2") if per_area else (ohm_key, "ohm")
        desc = f"{arc_sum_terms(ohm_key)} (arcs measured together{', per cell' if per_area else ''})"
        out.append((desc, unit, _sum_points(results, names, ohm_key, key, NOT_SUMMED)))
    return out


def wall_time_line(camp) -> str:
    """Fits run, cache hits and the wall time of the whole run (``camp.wall_time_s``, filled
    by :func:`eisfit.fit_campaign` and :meth:`CampaignResult.write`) split into its phases
    (:func:`wall_time_phases`), and the worker processes that fitted, when there were several
    (``stats["workers"]``)."""
    stats = camp.stats or {}
    total = getattr(camp, "wall_time_s", None)
    parts = [f"Fits run: {stats.get('fits_run', 0)}, cache hits: {stats.get('cache_hits', 0)}"]
    if total is not None and math.isfinite(total):
        split = wall_time_split(stats, total)
        parts.append(f"wall time {total:.1f} s in all" + (f" ({split})" if split else ""))
    if not stats.get("fits_run"):
        parts.append("nothing fitted (every fit from the cache)" if stats.get("cache_hits") else "nothing fitted")
    if stats.get("fits_run") and (stats.get("workers") or 1) > 1:
        parts.append(f"the fits on {stats['workers']} worker processes")
    return ", ".join(parts) + "."


WALL_TIME_PHASES = ("reading", "fitting", "assembling", "tables, figures and reports")  # wall_time_phases' names


def wall_time_split(stats: Mapping[str, Any], total_s: float | None) -> str:
    """The phases of :func:`wall_time_phases` in words, each to 0.01 s below 1 s (the fits
    of a small campaign take a few hundredths) and to 0.1 s above: ``reading 0.06 s,
    fitting 0.09 s, ...``; "" without them."""
    return ", ".join(f"{name} {seconds:.2f} s" if seconds < 1.0 else f"{name} {seconds:.1f} s"
                     for name, seconds in wall_time_phases(stats, total_s))


def wall_time_phases(stats: Mapping[str, Any], total_s: float | None) -> list[tuple[str, float]]:
    """The phases of a campaign's wall time, (name, s) in order: reading the files, the fits,
    assembling the result (the campaign's roles and flags, a joint fit, DRTs), and the
    tables, figures and reports (``total_s`` - ``wall_seconds``); [] when ``stats`` lacks
    any of them (a result made before they were recorded)."""
    read, fit, before = (stats.get(k) for k in ("read_seconds", "fit_seconds", "wall_seconds"))
    numbers = (read, fit, before, total_s)
    if any(not isinstance(x, (int, float)) or not math.isfinite(x) for x in numbers):
        return []
    return list(zip(WALL_TIME_PHASES, (read, fit, max(before - read - fit, 0.0), max(total_s - before, 0.0))))


def campaign_report(camp, figures: Mapping[str, str] | None = None) -> str:
    """The whole report as markdown. ``figures`` maps a figure name (evolution, nyquist,
    fits, ...) to the file name written beside report.md; each is linked with its caption."""
    title = camp.name or "Campaign"
    lines = [f"# {title}: evolution of the fitted circuit", ""]
    n_ok = len(fitted_indices(camp.results))
    circuit = camp.settings.get("circuit")
    lines += [
        f"{len(camp.checkpoints)} checkpoint{'s' * (len(camp.checkpoints) != 1)} ({n_ok} fitted, "
        f"{len(camp.errors)} failed), "
        f"ordered by {camp.ordering}{camp.axis_note()}. "
        f"Circuit `{circuit}`, weighting `{camp.settings.get('weighting')}`.",
        "",
        _conventions_line(camp),
        "",
        "## Evolution",
        "",
    ]
    lines += [f"- {line}" for line in evolution_lines(camp, pretty=True)] or ["- no checkpoint could be fitted"]
    if figures and "evolution" in figures:
        lines += ["", f"![evolution]({figures['evolution']})", "", FIGURE_CAPTIONS["evolution"]]
    if getattr(camp, "circuit_choice", None) is not None:  # issue 16: circuit="auto"
        lines += ["", "## Circuit choice", "", camp.circuit_choice.explain(), ""]
        lines += _choice_table_lines(camp.circuit_choice)
    if getattr(camp, "joint", None) is not None:
        # ---- series analysis (eisfit.series): shared vs independent, smoothing ----
        lines += ["", "## Joint fit across checkpoints", ""]
        for cell, joint in camp.joint_fits():
            if cell is not None:
                lines += [f"Cell {cell}:"]
            lines += joint.summary_lines() or ["Joint fit without shared parameters or smoothing."]
            lines += [f"**{joint_table_line(joint, in_report=True)}**"]
        # ---- end series analysis ----
    lines += ["", "## Per checkpoint", ""] + _table_lines(camp)
    lines += _flag_lines(camp) + kk_band_report_lines(camp) + _error_lines(camp)
    if getattr(camp, "drts", None) is not None:  # ---- DRT (issue 8), eisfit/campaign/drt.py ----
        from .drt import drt_report_lines

        lines += drt_report_lines(camp)
    others = [name for name in (figures or {}) if name != "evolution"]
    if others:
        lines += ["", "## Figures", ""]
        for name in others:
            lines += [f"![{name}]({figures[name]})", "", FIGURE_CAPTIONS.get(name, name), ""]
        vector = [f for f in figures.values() if f.endswith(".png")]
        lines += [f"Vector versions: {', '.join(f[:-4] + '.svg' for f in vector)}."]
    lines += _columns_lines(camp)
    lines += ["", "## Run", "", wall_time_line(camp), ""] + _settings_lines(camp)
    return "\n".join(lines) + "\n"


def _columns_lines(camp) -> list[str]:
    """The section of report.md that gives summary.csv's columns their units
    (:func:`~eisfit.fitting.report.columns_lines`); empty when nothing was fitted."""
    circuits = results_field(camp.results, "circuit")  # the units are the circuits': one result of each
    firsts = {c: k for k, c in reversed(list(enumerate(circuits))) if c is not None}
    return columns_lines([camp.results[k] for k in sorted(firsts.values())], "summary.csv")


def joint_table_line(joint, in_report: bool = False) -> str:
    """Which fit the campaign's table holds for the cell of ``joint`` and why, in words (the
    terminal, report.md/html and ``--json`` say it alike; ``in_report``: for report.md itself,
    where the joint fit is described above). The one rule: the joint fit when the data allow
    all it assumes (:attr:`~eisfit.series.JointFitResult.accepted`), else the independent fits."""
    where = "above" if in_report else "in report.md"
    if getattr(joint, "undetermined", ""):
        return ("The table, the evolution lines and the figures hold the independent fits, not this joint fit, "
                f"which decides nothing: undetermined: {joint.undetermined}; the joint fit is described "
                f"{where} (Python: CampaignResult.joint).")
    if not joint.accepted:
        return ("The table, the evolution lines and the figures hold the independent fits, not this joint fit, "
                f"whose assumptions the data reject: {joint.rejection_summary}; the joint fit is described "
                f"{where} (Python: CampaignResult.joint).")
    laws = list((joint.arrhenius or {}).get("laws", {}))
    parts = ([f"{', '.join(joint.shared)} shared (one value, repeated on every row)"] if joint.shared else []) + \
        ([f"{', '.join(laws)} on the Arrhenius law"] if laws else []) + \
        ([f"{', '.join(joint.smoothed)} smoothed across checkpoints"] if joint.smoothed else [])
    why = "the data allow what it assumes" + (f", dAIC = {joint.sharing['delta_aic']:.0f}"
                                              if joint.sharing is not None else "")
    return (f"The table, the evolution lines and the figures hold the joint fit ({why})"
            + (": " + "; ".join(parts) if parts else "") + ".")


def areas_used(camp, unit: str = " cm2") -> str:
    """The electrode areas the fitted checkpoints used, in words: ``0.785 cm2``, ``none
    (resistances in ohm)``, or ``per checkpoint: 0.785, 1.5 cm2; none at 2 checkpoints (400 h,
    500 h): their resistances in ohm only`` (the terminal's settings line and report.md's
    settings table, whose ``area_cm2`` names the unit: ``unit=""``, say it alike; a checkpoint
    without an area is never left unsaid)."""
    fitted = [camp.details[k].get("settings", {}).get("area_cm2") for k in fitted_indices(camp.results)]
    areas = list(dict.fromkeys(f"{a:g}" for a in fitted if a))
    if not areas:
        return "none (resistances in ohm)"
    text = f"{areas[0]}{unit}" if len(areas) == 1 else \
        f"per checkpoint: {', '.join(areas[:4])}{', ...' if len(areas) > 4 else ''}{unit}"
    missing = camp.checkpoints_without_area()
    if missing:
        text += (f"; none at {len(missing)} checkpoint{'s' if len(missing) > 1 else ''} ({', '.join(missing[:3])}"
                 f"{', ...' if len(missing) > 3 else ''}): {'their' if len(missing) > 1 else 'its'} resistances "
                 "in ohm only")
    return text


def _settings_lines(camp) -> list[str]:
    """The campaign's settings (circuit, weighting, area, thickness, symmetric, version...)
    as a markdown table; the area as the checkpoints used it (:func:`areas_used`)."""
    settings = {k: v for k, v in (camp.settings or {}).items() if k != "settings_hash"}
    if not settings:
        return []
    if "area_cm2" in settings and fitted_indices(camp.results):
        settings["area_cm2"] = areas_used(camp, unit="")
    return ["| setting | value |", "|---|---|"] + [f"| {k} | {_setting_text(v)} |" for k, v in settings.items()]


def _setting_text(value: Any) -> str:
    """A setting as a table cell: None as -, lists joined, no '|'."""
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "-"
    return str(value).replace("|", "/")


def any_area_used(camp) -> bool:
    """Whether any fit of the campaign ``camp`` used an electrode area (its settings'
    ``area_cm2``; read beside each result, none read back from a spool)."""
    return any(s is not None and s.get("area_cm2") for s in results_field(camp.results, "settings"))


def _conventions_line(camp) -> str:
    """What the numbers are: the ASR conventions where an area was used (per interface only
    for a symmetric cell), and the uncertainty; no ASR sentence for a campaign in ohm."""
    if not any_area_used(camp):
        return "Resistances in ohm (no electrode area given). Uncertainties are 1 standard error."
    if bool(camp.settings.get("symmetric", True)):
        return ("ASR per cell = R × A (both interfaces of a symmetric cell together); "
                "ASR per interface = R × A / 2. Uncertainties are 1 standard error.")
    return "ASR per cell = R × A (not a symmetric cell: no per-interface ASR). Uncertainties are 1 standard error."


def _choice_table_lines(choice) -> list[str]:
    """The candidates of a campaign-wide circuit choice as a markdown table."""
    crit = f"sum_{choice.criterion}"
    lines = [f"| circuit | parameters | summed {choice.criterion.upper()} | adequate | lack of fit | unresolved |",
             "|---|---|---|---|---|---|"]
    for _, r in choice.table.iterrows():
        lines.append(f"| `{r['circuit']}` | {int(r['n_params'])} | {r[crit]:.1f} | {int(r['n_adequate'])} | "
                     f"{int(r['n_lack_of_fit'])} | {int(r['n_unresolved'])} |")
    return lines


def _shown_rows(n: int, max_rows: int | None) -> list[int]:
    if not max_rows or n <= max_rows:
        return list(range(n))
    return sorted({int(round(k * (n - 1) / (max_rows - 1))) for k in range(max_rows)})


def table_rows(camp, max_rows: int | None = MAX_TABLE_ROWS) -> tuple[list[str], list[list[str]], str]:
    """(head, rows, note) of the per-checkpoint table: label, time, each resistance quantity
    as ``value ± stderr`` (Ω·cm² or Ω), reduced chi-square, flags. At most ``max_rows``
    rows, evenly chosen; ``note`` says so ('' when all are shown)."""
    quantities = _quantities(camp)
    axis = camp.evolution_axis() or "time_h"  # the headline's axis (a temperature series: °C, not an empty time)
    head = ["checkpoint", EVOLUTION_AXIS_LABELS[axis]] + [f"{d} / {pretty_unit(u)}" for d, _, u, _ in quantities] + \
        ["reduced χ²", "flags"]
    shown = _shown_rows(len(camp.checkpoints), max_rows)
    rows = []
    for k in shown:
        c, r = camp.checkpoints[k], camp.results[k]
        value = c.value_on(axis)
        cells = [c.label, "" if value is None else f"{value:g}"]
        if r is None:
            cells += ["-"] * len(quantities) + ["-", "error"]
        else:
            cells += [_shown(r, key, resistance=name) for _, key, _, name in quantities]
            cells += [_fmt(r.redchi), ", ".join(f for group in by_severity(r.flags).values() for f in group)]
        rows.append(cells)
    note = "" if len(shown) == len(camp.checkpoints) else (
        f"{len(shown)} of {len(camp.checkpoints)} checkpoints shown, evenly chosen; all are in summary.csv.")
    return head, rows, note


def flag_explanations(camp) -> list[tuple[str, str, int]]:
    """(flag name, meaning, number of checkpoints carrying it) for every flag raised."""
    counts = flag_counts(results_field(camp.results, "flags"))
    return [(name, explain_flag(name), n) for name, n in sorted(counts.items())]


def _table_lines(camp) -> list[str]:
    head, rows, note = table_rows(camp)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return lines + (["", note] if note else [])


def _flag_lines(camp) -> list[str]:
    """The checkpoints with a flag of severity ``problem`` (see :mod:`eisfit.fitting.flags`),
    then a count of those with cautions or notes only (listed in the table)."""
    fitted = [(k, camp.checkpoints[k], flags) for k, flags in enumerate(results_field(camp.results, "flags"))
              if flags is not None]
    flagged = [(k, c, flags) for k, c, flags in fitted if problems(flags)]
    minor = [flags for _, _, flags in fitted if flags and not problems(flags)]
    if not flagged and not minor:
        return ["", "## Flags", "", "No fit was flagged."]
    out = ["", "## Flags", "", "What the flags mean:", ""]
    out += [f"- `{name}` ({n} checkpoint{'s' if n > 1 else ''}): {meaning}."
            for name, meaning, n in flag_explanations(camp)]
    out += ["", "Checkpoints with a problem flag:", ""]
    for k, c, flags in flagged:
        notes = "; ".join(camp.details[k].get("notes", []))
        others = [f for level, fl in by_severity(flags).items() if level != "problem" for f in fl]
        out.append(f"- {c.label}: **{', '.join(problems(flags))}**" + (f"; also {', '.join(others)}" if others else "")
                   + (f" ({notes})" if notes else ""))
    if not flagged:
        out.append("- no checkpoint has a problem flag")
    if minor:
        out.append(f"- {len(minor)} checkpoint(s) carry only cautions or notes (see the table)")
    return out


def failure_lines(failures: Sequence[Any], max_alone: int = 3) -> list[str]:
    """One line per failed checkpoint (:class:`~eisfit.campaign.result.CheckpointFailure`),
    except that a reason shared by more than ``max_alone`` checkpoints (a worker that died
    with a task, a setting no file can satisfy) is one line naming how many and the first
    and last of them."""
    by_reason: dict[tuple[str, str], list[Any]] = {}
    for f in failures:
        by_reason.setdefault((f.stage, f.reason), []).append(f)
    lines = []
    for (stage, reason), group in by_reason.items():
        if len(group) <= max_alone:
            lines += [str(f) for f in group]
            continue
        names = [f.file or f.label for f in group]
        shown = ", ".join(names[:2]) + f", ... {names[-1]}"
        lines.append(f"{len(group)} checkpoints ({shown}): {stage}: {reason}")
    return lines


def _error_lines(camp) -> list[str]:
    if not camp.errors:
        return []
    return ["", "## Errors", ""] + [f"- {line}" for line in failure_lines(camp.errors)]
