"""Plain-text presentation of a FitResult (terminal and notebooks)."""
from __future__ import annotations

import math

from ..analysis.derived import apex_outside_range_flags, circuit_arcs
from ..analysis.quality import undetermined
from ..model.circuit import circuit_of
from .arc_sums import arc_sum_ohm_keys, arc_sum_terms
from .flags import (ARC_NUMBERING_FLAG, EXTRAPOLATED_LABEL, KK_NOT_PASSIVE_FLAG, NOISE_DOMINATED_FLAG,
                    PROFILE_OPEN_FLAG, SPANS_RANGE_FLAG, by_severity, flag_detail, flag_details, flag_name, holds_arc,
                    low_n_capacitance_keys, reads_undetermined, too_few_degrees_of_freedom, undetermined_reason,
                    unresolved_keys)
from .intercept import INTERCEPT_KEY, intercept_text
from .intervals import interval_end

UNRESOLVED = "unresolved"
NOT_DEFINED = "not defined"  # a derived quantity whose formula has no value here (Brug with no series R)


def _undetermined_note(value: float, err: float | None) -> str:
    """``  (undetermined: stderr >= value)`` / ``(... stderr unknown)`` where that applies, else ""."""
    return f"  (undetermined: {undetermined_reason(err)})" if undetermined(value, err) else ""


UNBOUNDED_ERROR = 1e3  # a stderr above this many times the value is shown as such, not as a number


def _flagged_undetermined(flags, key: str) -> str:
    """Why the flags make ``key`` read undetermined whatever its stderr
    (:func:`~eisfit.fitting.flags.reads_undetermined`), in a few words; "" when they do not."""
    if not reads_undetermined(flags, key):
        return ""
    if NOISE_DOMINATED_FLAG in map(flag_name, flags):
        return f"the fitted points are noise ({NOISE_DOMINATED_FLAG})"
    if too_few_degrees_of_freedom(flags):
        return "fewer than 3 residual degrees of freedom (few-frequencies): no usable standard error"
    if holds_arc(flags, key):
        if key in flag_details(flags, "series-holds-arc"):
            return "a series resistance that holds an arc (series-holds-arc)"
        if key in flag_details(flags, "traded-with-series"):
            return "it trades with the series resistance (traded-with-series)"
        return "only its sum with the neighbouring arc's is measured (split-undetermined)"
    if key in flag_details(flags, SPANS_RANGE_FLAG):
        return f"value ± stderr covers half its range or more ({SPANS_RANGE_FLAG})"
    if reads_undetermined([f for f in flags if flag_name(f) == ARC_NUMBERING_FLAG], key):
        return "the data fit almost as well with its arc under another arc's number (arc-numbering)"
    return "another optimum within 2 s^2 puts it elsewhere (multimodal)"


def one_sided_reading(res, key: str) -> tuple[str, str] | None:
    """(value column, note) of ``key`` where the data bound it on one side only: a parameter
    flagged ``profile-open`` with its profile interval, or a derived quantity of it alone that
    carries the interval through (an ASR: bounded below; a conductivity: above;
    :func:`~eisfit.fitting.assemble.open_derived_intervals`); see :func:`_one_sided_text`.
    None for any other key. The fit's summary and a campaign's report both read it so."""
    iv = res.intervals.get(key)
    if iv is None or not (iv.get("open_lower") or iv.get("open_upper")):  # a closed interval: its stderr says it
        return None
    if key in res.derived:
        return _one_sided_text(res.intervals[key], res.derived[key])
    if key in flag_details(res.flags, PROFILE_OPEN_FLAG):
        return _one_sided_text(res.intervals[key], res.values[key])
    return None


def _one_sided_text(iv: dict, value: float) -> tuple[str, str]:
    """(value column, note) of a value whose 3-sigma profile interval ``iv`` is open on one
    side (or both): no stderr, and what the data give is a bound: ``> 1.321`` and ``  (undetermined:
    3 sigma lower bound; 1.499-1.751 at 1 sigma, optimum 1.598; the data do not bound it
    above)``, or, open below (a conductivity of an R bounded below only), ``< 0.0123`` with
    "3 sigma upper bound" and "below". Open both ways, the value column is the optimum and the
    note gives what the 1-sigma interval bounds (``> 3.315 at 1 sigma``), if anything."""
    lower_1sigma, upper_1sigma = interval_end(iv, "lower_1sigma"), interval_end(iv, "upper_1sigma")
    if lower_1sigma is None:
        one_sigma = "no bound" if upper_1sigma is None else f"< {upper_1sigma:.4g}"
    elif upper_1sigma is None:
        one_sigma = f"> {lower_1sigma:.4g}"
    else:
        one_sigma = f"{lower_1sigma:.4g}-{upper_1sigma:.4g}"
    lower_3sigma, upper_3sigma = interval_end(iv, "lower_3sigma"), interval_end(iv, "upper_3sigma")
    if lower_3sigma is None and upper_3sigma is None:
        # three digits: an optimum with no bound either way claims no more (5 had read as precision)
        return f"{value:.3g}", f"  (undetermined: no bound at 3 sigma; {one_sigma} at 1 sigma)"
    if upper_3sigma is None:
        return (f"> {lower_3sigma:.4g}",
                f"  (undetermined: 3 sigma lower bound; {one_sigma} at 1 sigma, optimum {value:.4g}; "
                "the data do not bound it above)")
    return (f"< {upper_3sigma:.4g}",
            f"  (undetermined: 3 sigma upper bound; {one_sigma} at 1 sigma, optimum {value:.4g}; "
            "the data do not bound it below)")


def _undetermined_text(res, key: str, value: float, err: float | None) -> str:
    """``  (undetermined: ...)`` of a value: by its stderr (:func:`_undetermined_note`), else by
    its flags (:func:`_flagged_undetermined`); else ``  (extrapolated: ...)`` for the
    resistance of an arc flagged ``fapex-outside-range`` and the quantities of it alone
    (:func:`_extrapolated_note`); "" when none applies."""
    by_flag = _flagged_undetermined(res.flags, key)
    by_stderr = _undetermined_note(value, err)
    if by_stderr and key in res.intervals and f"profile-stderr:{key}" in res.flags:
        # the stderr is the profile's (below), not the curvature's: one reading of one interval
        by_stderr = "  (undetermined: the profile likelihood's stderr >= value; its intervals below)"
    return by_stderr or (f"  (undetermined: {by_flag})" if by_flag else "") or _extrapolated_note(res, key)


def _extrapolated_note(res, key: str) -> str:
    """``  (extrapolated: ...)`` for an arc resistance whose apex the data do not close (flag
    ``fapex-outside-range``: at or beyond the end of the data) and its ASRs and conductivity: the value follows the
    arc's assumed shape beyond the data, which its stderr does not describe (a coating's R2
    4.75e6 +- 2.8e5 ohm, apex 4.8x below f_min, read 8.9e6 with another circuit; the campaign
    report and figures had said so, a fit's summary had not)."""
    apex = apex_outside_range_flags(res.circuit)
    owner = next((r for r in apex if key == r or key.startswith(r + "_")), None)
    if owner is None or apex[owner] not in res.flags:
        return ""
    return f"  ({EXTRAPOLATED_LABEL}; its stderr assumes the arc's shape)"


def _fmt(value: float, err: float | None = None) -> str:
    """``value ± err`` for the summary's value column; the value alone where ``err`` is None
    or not finite (no stderr: the note beside it says "stderr unknown", as a campaign's report
    and :func:`eisfit.units.format_value` do, where "± nan" had read like a number)."""
    if value is None or not math.isfinite(value):
        return "nan"
    if err is None or not math.isfinite(err):
        return f"{value:.5g}"
    if value != 0 and err > UNBOUNDED_ERROR * abs(value):  # "0.00020585 ± 7.2e+10 s" reads as a number
        return f"{value:.5g} ± >{UNBOUNDED_ERROR:g}x"
    shown = f"{err:.2g}"
    if err < abs(value) <= float(shown):  # "11.825 ± 12" for 11.71 read as undetermined: one digit more
        shown = f"{err:.3g}"
    return f"{value:.5g} ± {shown}"


def _end(iv: dict, key: str) -> str:
    """An interval end (:func:`~eisfit.fitting.intervals.interval_end`); an open one (the walk
    stopped before the level) reads ``open``: where the walk stopped (1000x the value above,
    value/1000 below) is no property of the data."""
    value = interval_end(iv, key)
    return "open" if value is None else f"{value:.4g}"


def _circuit_choice_line(choice) -> str:
    """The summary's line on a circuit chosen by ``circuit='auto'`` (settings
    ``circuit_choice``, :meth:`eisfit.selection.CircuitSuggestion.choice_record`); '' when
    the circuit was given."""
    if not isinstance(choice, dict):
        return ""
    crit = str(choice.get("criterion", "bic")).upper()
    how = "adequate" if choice.get("adequate") else "least bad, no candidate adequate"
    text = f"  circuit chosen automatically (circuit 'auto', {how}, by {crit} of {choice.get('n_candidates')} candidates"
    if choice.get("runner_up"):
        text += f"; runner-up {choice['runner_up']} at d{crit} {choice['delta']:+.1f}{_why_ranked_after(choice)}"
    if choice.get("intercept_only"):
        shown = intercept_text(str(choice["intercept_only"]).split("+"), choice["intercept_ohm"],
                               choice["intercept_stderr_ohm"])
        text += f"; its fastest arc peaks above f_max: only the intercept {shown} is determined"
    if choice.get("ranked_chisq") is not None:
        text += (f"; this fit met an optimum below the one the ranking judged (chi-square {choice['refit_chisq']:.4g} "
                 f"against {choice['ranked_chisq']:.4g}): the verdicts of eisfit suggest were made at the higher one")
    return text + ")"


def _why_ranked_after(choice: dict) -> str:
    """Why a runner-up with a lower criterion (a negative delta) ranks after the choice: the
    verdicts come first (:func:`eisfit.selection.rank_candidates`), the criterion after; ''
    for a runner-up that the criterion itself puts behind."""
    if not (choice.get("delta") is not None and choice["delta"] < 0):
        return ""
    verdict = str(choice.get("runner_up_verdict") or "")
    if verdict.startswith("rejected: unresolved"):
        return ", ranked after it for more parameters the data cannot determine"
    if verdict.startswith("rejected: lack of fit"):
        return ", ranked after it for its lack of fit"
    if choice.get("runner_up_intercept_only"):
        return ", ranked after it for an arc above f_max, which needs strong evidence"
    return ", within the tie margin"


def format_fit_summary(res) -> str:
    """Parameters with standard errors and units, statistics, derived quantities and flags.

    A parameter flagged ``unresolved:<name>`` (and every derived quantity of its element)
    reads "unresolved" instead of a number; a value whose stderr exceeds it is marked
    "(undetermined: stderr >= value)", one without a stderr (singular covariance)
    "(undetermined: stderr unknown)"; one whose profile interval is open upwards (flag
    ``profile-open``: no stderr) reads as the lower bound the profile gives, ``> 1.321``
    "(undetermined: 3 sigma lower bound; 1.499-1.751 at 1 sigma, optimum 1.598; the data do
    not bound it above)", never as a number ± the walk's limit; flags are listed by severity."""
    hidden = unresolved_keys(res.flags, list(res.param_names) + list(res.derived))
    lines = [
        f"{res.label}: {res.circuit}" + (f"  [{res.circuit_name}]" if res.circuit_name != res.circuit else ""),
        f"  {res.n_points} points, {res.n_free} free parameters, weighting {res.settings.get('weighting')}",
        f"  chisq {res.chisq:.4g}  reduced {res.redchi:.4g} (2N-M = {res.dof})  "
        f"pseudo-chisq {res.pseudo_chisq:.4g}  AIC {res.aic:.1f}  BIC {res.bic:.1f}",
        "  parameter       value ± stderr        unit",
    ]
    choice = _circuit_choice_line(res.settings.get("circuit_choice"))
    if choice:
        lines.insert(1, choice)
    for name in res.param_names:
        value, err = res.values[name], res.stderr.get(name)
        note = " (fixed)" if name in res.fixed else ("" if name in hidden else _undetermined_text(res, name, value, err))
        shown_value = UNRESOLVED if name in hidden else _fmt(value, None if name in res.fixed else err)
        reading = None if name in hidden else one_sided_reading(res, name)
        if reading is not None:
            shown_value, note = reading
        lines.append(f"  {name:<12} {shown_value:>24}  {res.units.get(name, '')}{note}")
    for name, iv in res.intervals.items():
        if name in hidden or name not in res.values:  # a derived quantity's interval: its reading below
            continue
        unit = res.units.get(name, "")
        lines.append(f"  {name} profile likelihood: 1 sigma [{_end(iv, 'lower_1sigma')}, {_end(iv, 'upper_1sigma')}], "
                     f"3 sigma [{_end(iv, 'lower_3sigma')}, {_end(iv, 'upper_3sigma')}] {unit}")
    shown = [k for k in res.derived if not k.endswith("_stderr")]
    low_n = low_n_capacitance_keys(res.flags, shown)
    if shown:
        lines.append("  derived quantity                          value ± stderr        unit / formula")
        for key in shown:
            value, err = res.derived[key], res.derived.get(key + '_stderr')
            held = res.held_fixed(key)
            shown_value = (UNRESOLVED if key in hidden else NOT_DEFINED if not math.isfinite(value)
                           else _fmt(value, None if held else err))
            note = ("" if key in hidden or not math.isfinite(value) else " (fixed: of held parameters)" if held
                    else _undetermined_text(res, key, value, err)
                    + (" (low n: no capacitance, the arithmetic of Q and n)" if key in low_n else ""))
            reading = None if key in hidden or held else one_sided_reading(res, key)
            if reading is not None:
                shown_value, note = reading
            lines.append(f"  {key:<38} {shown_value:>24}  "
                         f"{res.derived_units.get(key, '')}{note}")
    if res.roles:
        renumbered = _renumbered_arcs(res)
        capacitance_open = _roles_without_capacitance(res, hidden) - set(renumbered)
        lines.append("  arcs: " + ", ".join(_role_text(r, role, hidden, capacitance_open) for r, role in res.roles.items())
                     + _renumbered_note(renumbered))
    lines.extend(_measured_together_lines(res) or _collapsed_arc_lines(res))
    if res.kk_passed is not None:
        lines.append(f"  Kramers-Kronig{_kk_points(res)}: {_kk_verdict(res)} "
                     f"(max residual {res.kk_max_residual_pct:.2g} % of |Z|)")
    elif flag_detail(res.flags, "kk-not-run") is not None:
        lines.append(f"  Kramers-Kronig: not run ({flag_detail(res.flags, 'kk-not-run').replace('-', ' ')}; "
                     "it needs 10)")
    if not res.flags:
        lines.append("  flags: none")
    for level, flags in by_severity(res.flags).items():
        if flags:
            lines.append(f"  {level}s: " + ", ".join(flags))
    return "\n".join(lines)


def _role_text(resistor: str, role: str, hidden: set[str], capacitance_open: set[str]) -> str:
    """``R2 = interface`` in the arcs line; an unresolved resistance gets no role (the data
    hold no such arc: an 18650 cell's unresolved R2 had read "R2 = electrolyte" beside the
    resolved arc's "R1 = interface"), as in ``eisfit suggest``."""
    if resistor in hidden:
        return f"{resistor} unresolved (no role)"
    return f"{resistor} = {role}" + (" (C_eff undetermined)" if resistor in capacitance_open else "")


def _roles_without_capacitance(res, hidden: set[str]) -> set[str]:
    """The arcs (by resistor) whose effective capacitance, on which a role is judged (and
    guessed, for a circuit string), the fit leaves open: unresolved (``hidden``: the
    unresolved keys), undetermined by a flag, or a stderr at or above its value or unknown.
    The arcs line says so beside their role: a vanishing arc had read "R1 = interface" as
    firmly as the determined arc beside it ("R1 = interface, R2 = interface")."""
    from ..analysis.derived import circuit_arcs
    from ..model.circuit import circuit_of

    out = set()
    for arc in circuit_arcs(circuit_of(res.circuit), branches=True):
        key = f"{arc.capacitive}_ceff_F"
        if arc.resistor in res.roles and key in res.derived:
            value, err = res.derived[key], res.derived.get(f"{key}_stderr")
            if key in hidden or reads_undetermined(res.flags, key) or undetermined(value, err):
                out.add(arc.resistor)
    return out


def _renumbered_arcs(res) -> list[str]:
    """The arcs (by resistor) whose numbers the flags say the data do not determine
    (``arc-numbering``: the data fit almost as well with the arcs' numbers exchanged)."""
    renumbering = [f for f in res.flags if flag_name(f) == ARC_NUMBERING_FLAG]
    return [r for r in res.roles if renumbering and reads_undetermined(renumbering, r)]


def _renumbered_note(renumbered: list[str]) -> str:
    """What the arcs line adds for the arcs ``renumbered`` (:func:`_renumbered_arcs`), so
    that their roles are not read as told apart: "; R1, R2: which arc is which (their
    numbers, hence their roles) is not determined, ... (arc-numbering)"; '' where there are none."""
    if not renumbered:
        return ""
    if len(renumbered) == 1:
        return (f"; {renumbered[0]}: which arc it is (its number, hence its role) is not determined, the data fit "
                "almost as well with it under another arc's number (arc-numbering)")
    return (f"; {', '.join(renumbered)}: which arc is which (their numbers, hence their roles) is not determined, "
            "the data fit almost as well with the numbers exchanged (arc-numbering)")


def _kk_verdict(res) -> str:
    """'passed', 'FAILED', or, for data whose residuals are noise too large for the test
    (the flag kk-too-noisy), 'FAILED: too noisy to judge (residual SD X of |Z|)', or, where
    the fitted circuit itself describes the points within the test's rule (no ``kk-failed``
    flag: :func:`eisfit.analysis.quality.data_kk_consistent`), a FAILED that says so."""
    if res.kk_passed:
        return ("passed (mu<=0: no chain of positive resistances, no passive system, gives these points)"
                if KK_NOT_PASSIVE_FLAG in res.flags else "passed")
    too_noisy = flag_detail(res.flags, "kk-too-noisy")
    if too_noisy is not None:
        return f"FAILED: too noisy to judge (residual SD {too_noisy} of |Z|)"
    if not any(flag_name(f) == "kk-failed" for f in res.flags):
        return ("FAILED by the Lin-KK chain, but the fitted circuit (passive, so KK-consistent) describes the points "
                "within the same rule: consistent, no kk-failed flag")
    return "FAILED"


def _kk_points(res) -> str:
    """Which points the fit's Lin-KK test saw, where they are not all of the spectrum's:
    " (the 33 fitted points: 10 inductive points dropped)" (``eisfit validate`` tests them all)."""
    left_out = []
    for flag in res.flags:
        name, _, count = flag.partition(":")
        if name == "dropped-inductive-points":
            left_out.append(f"{count} inductive points dropped")
        elif name == "excluded-points":
            left_out.append(f"{count} points excluded")
    window = [f"{key} {res.settings[key]:g} Hz" for key in ("fmin", "fmax") if res.settings.get(key) is not None]
    if window:
        left_out.append("cropped to " + ", ".join(window))
    return f" (the {res.n_points} fitted points: {'; '.join(left_out)})" if left_out else ""


# ---- notebook views: short repr, HTML table, DataFrame ---------------------------

REPR_MAX_CHARS = 1500  # a repr stays well under 2,000 characters whatever the circuit


def _measured_together_lines(res) -> list[str]:
    """``  measured together: R1 + R2 = 499.9 ± 0.19 ohm ...``: a line per sum of arcs the data fix
    where they do not split them (:mod:`~eisfit.fitting.arc_sums`), which says what that means
    for the circuit."""
    return [f"  measured together: {arc_sum_terms(key)} = {_fmt(res.derived[key], res.derived.get(key + '_stderr'))} "
            "ohm: the data fix their sum, not the split (fewer arcs may describe them: eisfit suggest compares "
            "circuits)" for key in arc_sum_ohm_keys(res.derived) if key not in res.unresolved]


def _collapsed_arc_lines(res) -> list[str]:
    """``  no arc resistance determined: ...``: where every arc's resistance reads unresolved
    and the data fix no sum of them, the data do not tell this circuit's arcs apart; names
    the arcs that collapsed (their R at a bound). A dummy cell's one arc fitted with two had
    read R0 undetermined and R1, R2 unresolved with no word of why, while R0-p(R1,CPE1) gives
    R1 9950.3 +- 2.5 ohm."""
    resistors = [a.resistor for a in circuit_arcs(circuit_of(res.circuit), branches=False)]
    if not resistors or any(r not in res.unresolved for r in resistors):
        return []
    bound = flag_details(res.flags, "at-bound")
    collapsed = [r for r in resistors if r in bound]
    why = f" (the arc of {', '.join(collapsed)} collapsed to its bound)" if collapsed else ""
    return [f"  no arc resistance determined{why}: the data do not tell this circuit's arcs apart (fewer arcs "
            "may describe them: eisfit suggest compares circuits)"]


def _headline_quantities(res) -> list[str]:
    """Derived keys worth a line in a short view: ASR, effective capacitance, conductivity,
    and the sums of resistances the data fix where their terms are not (the high-frequency
    intercept, arcs measured together: ``R1+R2_ohm``)."""
    sums = {INTERCEPT_KEY, *arc_sum_ohm_keys(res.derived)}
    return [k for k in res.derived
            if k.endswith(("_asr_ohm_cm2", "_asr_per_interface_ohm_cm2", "_ceff_F", "_sigma_S_per_cm")) or k in sums]


def columns_lines(fitted, table: str) -> list[str]:
    """Markdown lines (a section) that give the columns of ``table`` (``summary.csv``,
    ``fits.csv``) whose names carry no unit their units: the circuit's parameters of the
    FitResults ``fitted`` (``R2`` ohm, ``CPE2_0`` S*s^n...) and their ``_stderr``, and the
    statistics; derived quantities carry theirs in their names. Empty when nothing was fitted."""
    if not fitted:
        return []
    units: dict[str, str] = {}
    for r in fitted:
        for name in r.param_names:
            units.setdefault(name, r.units.get(name, ""))
    listed = ", ".join(f"`{name}` {_unit_words(unit)}" for name, unit in units.items())
    lines = ["", f"## Columns of {table}", "",
             f"Circuit parameters: {listed}; each `<name>_stderr` is its 1 standard error in the same "
             "unit (empty where the data do not determine it)."]
    if any(unit == "S*s^n" for unit in units.values()):
        lines += ["", "CPE: Z = 1/(Q (j 2π f)^n): `CPEk_0` is Q in S·s^n (ZView's CPE-T), `CPEk_1` is n "
                      "(ZView's CPE-P); Q is a capacitance in F only when n = 1."]
    formula = fitted[0].settings.get("weighting_formula", "")
    chisq_unit = "ohm^2" if fitted[0].settings.get("weighting") == "unit" else "dimensionless"
    lines += ["", "Derived quantities carry their unit in their name (`_ohm_cm2`, `_F`, `_F_per_cm2`, `_Hz`, "
                  "`_s`, `_S_per_cm`; `_eps_r` is dimensionless). `chisq` is the weighted sum of squared "
                  f"residuals ({formula}; {chisq_unit}), `redchi` = chisq / (2N - M) "
                  "(N points, M free parameters), `pseudo_chisq` Boukamp's sum |Z-Zfit|^2/|Z|^2 "
                  "(dimensionless), `aic` and `bic` the information criteria, "
                  "`lack_of_fit_ratio` the RMS residual over the data's noise level; "
                  "Z'' < 0 is capacitive."]
    return lines


def _unit_words(unit: str) -> str:
    """A parameter's unit as the report writes it (``-`` is dimensionless)."""
    return "(dimensionless)" if unit in ("", "-") else unit


def fit_repr(res) -> str:
    """``FitResult('0 h', R0-p(R1,CPE1)..., R0=12.3±0.05 Ω, ..., redchi=1.2e-05, flags=[])``
    (a parameter flagged ``profile-open``: its lower bound, ``Gs1_2>1.321 (3 sigma)``),
    shortened with ``...`` to at most :data:`REPR_MAX_CHARS` characters."""
    from ..units import format_value

    head = f"FitResult({res.label!r}, {res.circuit!r}"
    tail = f", redchi={res.redchi:.3g}, flags={res.flags!r})"
    hidden = unresolved_keys(res.flags, res.param_names)
    bounded_below = {n for n in flag_details(res.flags, PROFILE_OPEN_FLAG)
                     if n in res.intervals and not res.intervals[n].get("open_lower")}
    parts = [f"{n}={UNRESOLVED}" if n in hidden else
             f"{n}>{format_value(res.intervals[n]['lower_3sigma'], None, res.units.get(n, ''))} (3 sigma)"
             if n in bounded_below else
             f"{n}={format_value(res.values[n], res.stderr.get(n), res.units.get(n, ''))}"
             for n in res.param_names]
    body = ""
    for k, part in enumerate(parts):
        if len(head) + len(body) + len(part) + len(tail) + 8 > REPR_MAX_CHARS:
            body += f", ... ({len(parts) - k} more)"
            break
        body += ", " + part
    if len(head) + len(body) + len(tail) > REPR_MAX_CHARS:
        tail = f", redchi={res.redchi:.3g}, {len(res.flags)} flags)"
    return head + body + tail


def _parameter_rows(res) -> list[tuple[str, float, float, str, str]]:
    """(name, value, stderr, unit, note) per parameter; note: fixed, unresolved (flagged:
    the value is what the optimiser was left with, not a result), undetermined, or
    extrapolated (an arc resistance whose apex lies outside the data, :func:`_extrapolated_note`)."""
    hidden = unresolved_keys(res.flags, res.param_names)
    rows = []
    for name in res.param_names:
        value, err = res.values[name], res.stderr.get(name, math.nan)
        note = ("fixed" if name in res.fixed else UNRESOLVED if name in hidden
                else _bound_note(res, name) or ("undetermined" if undetermined(value, err)
                                                or reads_undetermined(res.flags, name)
                                                else "extrapolated" if _extrapolated_note(res, name) else ""))
        rows.append((name, value, err, res.units.get(name, ""), note))
    return rows


def _bound_note(res, key: str) -> str:
    """The note of a value the data bound on one side only (:func:`one_sided_reading`), as the
    notebook table and HTML give it: ``undetermined: > 32.03 (3 sigma lower bound)``, or
    ``undetermined: no bound at 3 sigma``; "" for any other value."""
    reading = one_sided_reading(res, key)
    if reading is None:
        return ""
    shown = reading[0]
    if shown.startswith(">"):
        return f"undetermined: {shown} (3 sigma lower bound)"
    if shown.startswith("<"):
        return f"undetermined: {shown} (3 sigma upper bound)"
    return "undetermined: no bound at 3 sigma"


def _derived_rows(res) -> list[tuple[str, float, float, str, str]]:
    """(key, value, stderr, unit, formula) per derived quantity; the formula of a quantity
    of an unresolved element is prefixed with "unresolved; "."""
    hidden = unresolved_keys(res.flags, list(res.derived))
    rows = []
    for key, value in res.derived.items():
        if key.endswith("_stderr"):
            continue
        unit, _, formula = res.derived_units.get(key, "").partition(" ")
        if formula.startswith("(") and formula.endswith(")"):
            formula = formula[1:-1]
        bound = "" if key in hidden else _bound_note(res, key)
        if key in hidden:
            formula = f"{UNRESOLVED}; {formula}"
        elif bound:
            formula = f"{bound}; {formula}"
        elif reads_undetermined(res.flags, key):
            formula = f"undetermined; {formula}"
        elif _extrapolated_note(res, key):
            formula = f"extrapolated; {formula}"
        rows.append((key, value, res.derived.get(f"{key}_stderr", math.nan), unit, formula))
    return rows


def fit_dataframe(res):
    """One row per parameter, then one per derived quantity: ``name`` (index), ``kind``
    (parameter / derived), ``value``, ``stderr`` (1 standard error, nan when not
    estimable), ``unit`` (plain, e.g. ``ohm``, ``ohm*cm2``, ``F``) and ``note`` (fixed,
    unresolved or undetermined, or the formula of a derived quantity). An unresolved value
    (flag ``unresolved:<name>``) is kept in ``value``, as in JSON and CSV; ``note`` says it
    is not a result."""
    import pandas as pd

    rows = [(n, "parameter", v, s, u, note) for n, v, s, u, note in _parameter_rows(res)]
    rows += [(n, "derived", v, s, u, note) for n, v, s, u, note in _derived_rows(res)]
    frame = pd.DataFrame(rows, columns=["name", "kind", "value", "stderr", "unit", "note"])
    return frame.set_index("name")


def _html_rows(rows) -> list[tuple[str, str, str, str, str]]:
    from ..units import si_scale

    out = []
    for name, value, err, unit, note in rows:
        if note.startswith(UNRESOLVED):  # never shown as a number (see format_fit_summary)
            out.append((name, UNRESOLVED, "", unit, note))
            continue
        factor, shown = si_scale([value], unit)
        v = f"{value / factor:.5g}" if math.isfinite(value) else "nan"
        e = f"{err / factor:.2g}" if math.isfinite(err) else "n/a"
        out.append((name, v, e, shown, note))
    return out


def fit_html(res) -> str:
    """HTML view for notebooks: headline, parameter table (value, 1 stderr, unit), the
    ASR / capacitance / conductivity quantities, and the flags explained."""
    from .._html import escape, html_list, html_table
    from .flags import explain_flag

    head = ("parameter", "value", "± 1 stderr", "unit", "note")
    derived = [r for r in _derived_rows(res) if r[0] in _headline_quantities(res)]
    kk = "" if res.kk_passed is None else f"; Kramers-Kronig {_kk_verdict(res)}"
    parts = [
        f"<div><b>FitResult</b> {escape(str(res.label))}: <code>{escape(res.circuit)}</code>"
        + (f" [{escape(res.circuit_name)}]" if res.circuit_name != res.circuit else ""),
        f"<br>{res.n_points} points, {res.n_free} free parameters, weighting "
        f"{escape(str(res.settings.get('weighting')))}; reduced χ² {res.redchi:.4g}{escape(kk)}",
        html_table(head, _html_rows(_parameter_rows(res)), numeric_from=1),
    ]
    if derived:
        parts.append(html_table(("quantity", "value", "± 1 stderr", "unit", "formula"),
                                _html_rows(derived), numeric_from=1))
    if res.flags:
        parts.append("<b>Flags</b>" + html_list(f"{f}: {explain_flag(f)}" for f in res.flags))
    else:
        parts.append("<br>Flags: none")
    parts.append("</div>")
    return "".join(parts)
