"""``eisfit.fit``: one spectrum, one circuit, no initial guess needed.

Pipeline: select points -> guess from the data -> batched multi-start
Levenberg-Marquardt in log space -> polish the best starts -> order arcs by time
constant -> covariance, statistics, flags, derived quantities.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .._checks import check_choice, check_engine, check_guess, check_starts, is_real_number, positive_number_or_none
from ..analysis.derived import arc_tau_s, derived_quantities_batch, element_arcs
from ..analysis.quality import instrument_noisy_points, undetermined
from ..errors import FitError
from ..model import Arc, Circuit, CircuitDefinition, finite_at_dc, load_circuit
from ..model.parser import Leaf, series_chain
from ..spectrum import (DIVIDED_BY_AREA_KEY, Spectrum, frequencies_to_exclude, not_a_spectrum_hint,
                        require_capacitive_negative, require_distinct_frequencies, require_nonzero_impedance,
                        require_positive_real_part)
from .inputs import fit_inputs
from .guess import (base_guess, drt_starts, leading_screened, multistart_guesses, spectrum_features,
                    top_level_arc_groups)
from .optimise import Transform, covariance_from_jacobian, covariances_from_jacobians, finite_residuals
from .problem import Problem, log_scaled
from .solver import (EDGE_ARC_PLACEMENTS, EDGE_ARC_RESISTANCES, QUICK_STARTS, BatchProblem, Solution, arc_moved,
                     chunks_by_grid, merge_optima, polish_from, solve, start_costs)
from .assemble import (ARC_NUMBERING_S2, MULTIMODAL_BARRIER_S2, MULTIMODAL_S2, KKOutcome,
                       arc_numbering_flags, assemble_result, band_moduli_of_fits,
                       derived_settings, fit_derived_quantities, multimodal_flags, result_roles, weighting_formula)
from .expressions import bound_pair, check_expressions, check_mapping, check_start_values
from .flags import PROFILE_OPEN_FLAG, WARBURG_COEFFICIENT_SUFFIX, optimum_settled
from .profile import (FINITE_DIFFUSION_KINDS, ProfileJob, ProfileOutcome, arc_resistances, arcs_at_blocked_low_edge,
                      diffusion_times, diffusion_times_near_low_edge, gs_lengths_near_plain, open_above,
                      open_towards_infinite_length, profile_many, suspect_resistances)
from .result import FitResult
from ..model.weighting import check_weighting, residual_scales, weighting_in_use

# the options that may differ between the spectra of one batch: they enter each spectrum's data
# (an area per cm2 divided out) and derived quantities, never the shared batched problem
PER_SPECTRUM_OPTIONS = ("area_cm2", "thickness_cm", "symmetric")
COLLAPSE_DECADES = 12  # how far below its start a log-scale parameter bounded by 0 may go
PROFILE_WIDER = 1.05  # the profile replaces the Wald error when its half-width is this much wider


def fit(
    spectrum: Spectrum | tuple,
    circuit: str | CircuitDefinition | Circuit = "garnet-symmetric",
    *,
    area_cm2: float | None = None,
    thickness_cm: float | None = None,
    symmetric: bool = True,
    weighting: str = "modulus",
    sigma: Any = None,
    fmin: float | None = None,
    fmax: float | None = None,
    exclude_hz: Sequence[float] = (),
    drop_inductive: bool | str = "auto",
    initial: Mapping[str, float] | FitResult | None = None,
    fixed: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    expr: Mapping[str, str] | None = None,
    starts: int | str = "auto",
    engine: str = "fast",
    kk: bool = True,
    order_arcs: bool = True,
    guess: str = "auto",
    profile: bool | str = "auto",
) -> FitResult:
    """Fit an equivalent circuit to one spectrum; no initial guess needed.

    Parameters
    ----------
    spectrum : the data (Hz, complex ohm, Z'' < 0 capacitive): a Spectrum or a
        ``(frequency_Hz, z_ohm)`` tuple of arrays.
    circuit : a library name (``eisfit circuits``), a circuit string in impedance.py
        notation (``"R0-p(R1,CPE1)-p(R2,CPE2)"``), a .toml definition file, a
        :class:`~eisfit.model.CircuitDefinition`, an impedance.py ``CustomCircuit``
        (its circuit string; its initial guess and constants as ``initial`` and ``fixed``
        unless given). Through :func:`eisfit.fit` (:mod:`eisfit.api`) also ``"auto"``: the
        circuit :func:`eisfit.suggest_circuit` suggests, with the suggestion as
        ``result.suggestion``.
    area_cm2 : electrode contact area, cm2; enables ASR (ohm*cm2) and conductivity.
    thickness_cm : electrolyte thickness L, cm; with the area gives sigma = L/(R*A), S/cm.
    symmetric : symmetric cell (two identical interfaces in series): interface ASR is
        also reported per interface (R*A/2).
    weighting : ``modulus`` (default, 1/|Z| of the data), ``modulus-calc`` (1/|Zfit|), ``proportional``, ``unit``, or
        ``sigma`` with ``sigma=`` standard deviations (ohm).
    fmin, fmax : frequency window, Hz.
    exclude_hz : frequencies (Hz) whose points are left out, each matching the points
        within 1 % of it (:meth:`eisfit.Spectrum.exclude`): an outlier the ``kk-outlier``
        flag names, mains pick-up. A frequency with no point that close raises
        :class:`~eisfit.DataError`; the count goes into the flags (``excluded-points``).
    drop_inductive : drop points with Z'' > 0; ``"auto"`` drops them only when the
        circuit has no inductor (the count goes into the flags).
    initial : starting values by parameter name (others from the automatic guess), or a
        previous :class:`FitResult` of the same circuit.
    fixed : parameters held at the given values.
    bounds : (lower, upper) per parameter name, overriding the circuit definition.
    expr : lmfit expressions tying parameters (e.g. ``{"CPE2_1": "CPE1_1"}``); uses
        the lmfit engine.
    starts : ``"auto"`` = data guess (and ``initial``) plus a multi-start grid, adaptive:
        a quick round (the guess and the best placements of a linear time-constant screen
        for one or two processes, else 8 starts spread over the grid), more starts only
        where the quick optimum looks poor (:mod:`eisfit.fitting.solver`); an integer
        runs that many starts (no escalation);
        1 = local refinement from ``initial`` (or the data guess). Either way, an optimum
        with a collapsed or runaway process (a parameter on a bound, a CPE exponent below
        0.6, a runaway resistance) is restarted with that process put back where the first
        starts placed it (the solver's repair round; ``start_won`` then reads
        ``repair:...``).
    engine : ``"fast"`` (batched analytic-Jacobian Levenberg-Marquardt) or ``"lmfit"``
        (the best start polished by ``lmfit.minimize``; same optimum, slower).
    kk : True/False: run the Lin-KK test on the fitted points and flag a failure.
    order_arcs : True/False: after the fit, order interchangeable arcs by time constant so that
        R1 is always the faster arc.
    guess : ``"auto"`` (data guess from the -Z'' apexes plus the multi-start grid) or
        ``"drt"``: also start from the peaks of the DRT of the data (time constants,
        areas as arc resistances; :func:`eisfit.fitting.guess.drt_starts`), ~10-20 ms more.
        Ignored with ``starts=1``.
    profile : profile-likelihood errors for arc resistances (:mod:`eisfit.fitting.profile`).
        ``"auto"`` (default): only where the covariance error is suspect (an arc parameter
        on a bound or with stderr > value, arcs within a decade in time constant, or an arc
        whose apex lies below 3x f_min in a circuit not finite at DC:
        :func:`~eisfit.fitting.profile.arcs_at_blocked_low_edge`; and a Gs's phi within 3
        stderr of the plain Gerischer's regime: :func:`~eisfit.fitting.profile.gs_lengths_near_plain`); the
        stderr of such a resistance becomes max(1-sigma half-width, 3-sigma half-width / 3)
        of its profile intervals, wider side, when that exceeds the covariance error (flag
        ``profile-stderr:<name>``, intervals in ``FitResult.intervals``). ``True``: every
        arc resistance; ``False``: never (covariance errors only). Not with ``expr`` or the
        lmfit engine.

    Returns
    -------
    FitResult. A fit that does not converge, hits a bound or has a singular
    covariance says so in ``flags``; it does not raise on valid data.
    """
    spectrum, circuit, initial, fixed = fit_inputs(spectrum, circuit, initial, fixed)
    kk, order_arcs = check_choice("kk", kk), check_choice("order_arcs", order_arcs)
    options = dict(area_cm2=area_cm2, thickness_cm=thickness_cm, symmetric=symmetric, weighting=weighting,
                   sigma=sigma, fmin=fmin, fmax=fmax, exclude_hz=exclude_hz, drop_inductive=drop_inductive,
                   initial=initial, fixed=fixed,
                   bounds=bounds, expr=expr, starts=starts, engine=engine, guess_mode=guess, profile=profile)
    prep = _prepare(spectrum, circuit, **options)
    if prep.uses_lmfit:
        relaxed = None
        if expr and len(prep.start_list) > 1:  # the optimum without the ties, by the multi-start
            relaxed = _prepare(spectrum, circuit, **{**options, "expr": None, "engine": "fast"})
        p_best, converged = _solve_lmfit(prep, relaxed)
        return _finish(prep, p_best, converged, kk=kk, order_arcs=order_arcs)
    return fit_prepared([prep], kk=kk, order_arcs=order_arcs)[0]


def fit_prepared(preps: Sequence[_Prepared], *, kk: bool = True, order_arcs: bool = True,
                 solution: Solution | None = None) -> list[FitResult]:
    """FitResults of prepared fits (any grids), in input order: the one path of the fast
    engine. The optima come from :func:`eisfit.fitting.solver.solve` (adaptive multi-start
    batched LM) unless a ``solution`` is given; covariances, derived quantities and the
    Lin-KK verdicts are then computed per grid in batches."""
    preps = list(preps)
    kk, order_arcs = check_choice("kk", kk), check_choice("order_arcs", order_arcs)
    if not preps:
        return []
    if solution is None:
        solution = solve(preps, kk=kk)
    results: list[FitResult | None] = [None] * len(preps)
    for chunk in chunks_by_grid(preps):
        done = _assemble_grid([preps[i] for i in chunk], solution.rows(chunk), kk=kk, order_arcs=order_arcs)
        for i, res in zip(chunk, done):
            results[i] = res
    return results  # type: ignore[return-value]


def final_values(preps: Sequence[_Prepared], p_best: np.ndarray, order_arcs: bool) -> np.ndarray:
    """:func:`_final_values` of every row of ``p_best`` (S, M)."""
    return np.array([_final_values(p, pb, order_arcs) for p, pb in zip(preps, p_best)])


def _assemble_grid(preps: list[_Prepared], sol: Solution, *, kk: bool, order_arcs: bool,
                   may_repolish: bool = True) -> list[FitResult]:
    """FitResults of solved spectra of one batch: batched covariance and derived quantities,
    the solver's Lin-KK verdicts. Spectra whose profile walk met a lower chi-square than
    the solver's optimum are polished from there (one batched LM) and assembled again."""
    batch = BatchProblem.of(preps)
    p_final = final_values(preps, sol.p_best, order_arcs)
    covs = _covariances(batch, p_final)
    profiles = _profiles(preps, p_final, covs)
    better = [i for i, pr in enumerate(profiles) if pr is not None and pr.better is not None] if may_repolish else []
    redone = dict(zip(better, _assemble_grid([preps[i] for i in better], _repolished(preps, sol, profiles, better),
                                             kk=kk, order_arcs=order_arcs, may_repolish=False))) if better else {}
    applied = [None if pr is None else _apply_profile(p, pf, cov[0], pr)
               for p, pf, cov, pr in zip(preps, p_final, covs, profiles)]
    walds = [cov[0] for cov in covs]  # before the profiles widened them: the errors of the arcs' sums
    # the covariances as reported (widened by the profiles), for the derived quantities' errors
    covs = [cov if a is None else (a.cov, cov[1], cov[2]) for cov, a in zip(covs, applied)]
    values = [dict(zip(p.names, v)) for p, v in zip(preps, p_final)]
    derived = _derived_batch(preps, values, covs)
    moduli = band_moduli_of_fits(preps[0].definition.circuit, values, [p.data.frequency for p in preps])
    curves = preps[0].definition.circuit.impedance_at_each(p_final, [p.data.frequency for p in preps])
    kk_out = [KKOutcome.of(r) for r in sol.kk]
    return [redone[i] if i in redone else
            _finish(p, sol.p_best[i], bool(sol.converged[i]), kk=kk, order_arcs=order_arcs, covariance=covs[i],
                    derived=derived[i], kk_outcome=kk_out[i],
                    p_final=p_final[i], start_won=sol.start_won[i], n_starts=int(sol.n_starts[i]),
                    profile=applied[i], may_repolish=False, optima=None if sol.optima is None else sol.optima[i],
                    element_moduli=moduli[i], z_fit=curves[i], wald_covariance=walds[i])
            for i, p in enumerate(preps)]


def _repolished(preps: list[_Prepared], sol: Solution, profiles: list[ProfileOutcome | None],
                rows: list[int]) -> Solution:
    """The solution of ``rows`` polished (one batched LM) from the lower points their
    profile walks met."""
    p_best, cost, converged = polish_from([preps[i] for i in rows], [profiles[i].better for i in rows])
    optima = None if sol.optima is None else [
        merge_optima(sol.optima[i], [(float(c), p)]) for i, c, p in zip(rows, cost, p_best)]
    return Solution(p_best, sol.converged[rows] & converged, cost, [f"{sol.start_won[i]}+profile" for i in rows],
                    sol.n_starts[rows], sol.escalated[rows], [sol.kk[i] for i in rows], optima=optima)


def _profiles(preps: list[_Prepared], p_final: np.ndarray, covs) -> list[ProfileOutcome | None]:
    """The profile-likelihood checks of spectra of one batch, walked together (batched
    constrained fits, :func:`eisfit.fitting.profile.profile_many`)."""
    jobs = []
    for p, pf, (cov, singular, chisq) in zip(preps, p_final, covs):
        at_bound = [p.names[i] for i in _at_bound(p, pf)]
        jobs.append(_profile_job(p, pf, cov, chisq, at_bound))
    wanted = [i for i, j in enumerate(jobs) if j is not None]
    outcomes: list[ProfileOutcome | None] = [None] * len(preps)
    for i, outcome in zip(wanted, profile_many([jobs[i] for i in wanted])):
        outcomes[i] = outcome
    return outcomes


def _covariances(batch: BatchProblem, p_final: np.ndarray) -> list[tuple[np.ndarray | None, bool, float]]:
    """(cov, singular, chisq) per spectrum at ``p_final`` (S, M), as :func:`_covariance_at`."""
    ref = batch.preps[0].problem
    free, transform = ref.free, ref.transform
    theta = transform.to_internal(p_final[:, free])
    r, jac_int = batch.with_owner(np.arange(len(batch.preps))).residuals_and_jacobian(
        theta, np.arange(len(batch.preps)))
    chisq = np.sum(r**2, axis=1)
    jac = jac_int / transform.dp_dtheta(p_final[:, free])[:, None, :]
    cov, singular = covariances_from_jacobians(jac, chisq, np.array([2 * p.problem.frequency.size
                                                                     for p in batch.preps]))
    return [(cov[i] if np.isfinite(np.diagonal(cov[i])).any() else None, bool(singular[i]), float(chisq[i]))
            for i in range(len(chisq))]


def _derived_batch(preps: list[_Prepared], values: list[dict[str, float]], covs) -> list[tuple[dict, dict]]:
    """Derived quantities per spectrum, vectorised over the spectra that share roles."""
    ref = preps[0]
    cov_names = [ref.names[i] for i in ref.problem.free]
    roles = [result_roles(p.definition, v, p.settings.get("area_cm2")) for p, v in zip(preps, values)]
    by_roles: dict[tuple, list[int]] = {}  # the spectra of one batch may have their own area, thickness...
    for i, (p, r) in enumerate(zip(preps, roles)):
        own = tuple(repr(p.settings.get(k)) for k in PER_SPECTRUM_OPTIONS)
        by_roles.setdefault((tuple(sorted(r.items())), own), []).append(i)
    out: list[tuple[dict, dict]] = [({}, {})] * len(preps)
    m = len(cov_names)
    for members in by_roles.values():
        vals = {n: np.array([values[i][n] for i in members], float) for n in ref.names}
        cov = np.array([covs[i][0] if covs[i][0] is not None else np.full((m, m), np.nan) for i in members])
        has_cov = [covs[i][0] is not None for i in members]
        first = preps[members[0]]
        d, units = derived_quantities_batch(vals, cov.reshape(len(members), m, m), cov_names if any(has_cov) else [],
                                            **derived_settings(first.definition, roles[members[0]], first.settings))
        for j, i in enumerate(members):
            out[i] = ({k: float(v[j]) for k, v in d.items()}, units)
    return out


@dataclass
class _Prepared:
    """Everything between the arguments of :func:`fit` and the solver (one spectrum)."""

    definition: CircuitDefinition
    data: Spectrum
    problem: Problem
    start_list: Sequence[dict[str, float]]
    lower: np.ndarray
    upper: np.ndarray
    fixed: dict[str, float]
    expr: dict[str, str]
    flags: list[str]
    settings: dict[str, Any]
    initial: Mapping[str, float] | None
    fit_lower: np.ndarray  # lower bounds the optimiser uses (log-scale zero bounds lifted)
    start_labels: list[str]  # where each start comes from ("guess", "initial", "grid:<k>", ...)
    adaptive: bool = False  # starts="auto": the solver may stop after the quick round
    n_quick: int = QUICK_STARTS  # starts of the quick round of an adaptive list
    n_other_orders: int = 0  # the last starts: placements in other time orders (the solver's order round)

    @property
    def names(self) -> list[str]:
        return self.definition.circuit.param_names

    @property
    def uses_lmfit(self) -> bool:
        return bool(self.expr) or self.settings["engine"] == "lmfit"


def _in_ohm(spectrum: Spectrum, area_cm2: float | None, flags: list[str]) -> Spectrum:
    """:func:`spectrum_in_ohm`, noted by the flag ``per-area-data:<area>`` when it divides or
    when the spectrum was divided before (a campaign divides at loading)."""
    in_ohm = spectrum_in_ohm(spectrum, area_cm2)
    divided_by = in_ohm.meta.get(DIVIDED_BY_AREA_KEY)
    if divided_by is not None:
        flags.append(f"per-area-data:{divided_by:g}")
    return in_ohm


def _file_area_note(spectrum: Spectrum, area_cm2: float | None) -> list[str]:
    """``["file-area:<A>"]`` where the file states an electrode area A (cm2, an EC-Lab or Gamry
    setting: ``meta["area_cm2"]``) other than the one the fit uses (none, or one more than
    1 % away): the fit never takes the area from the file, whose value is often the
    instrument's default, but says that the file has one."""
    stated = spectrum.meta.get("area_cm2")
    if not (is_real_number(stated) and np.isfinite(stated) and stated > 0):
        return []
    if area_cm2 is not None and abs(stated / area_cm2 - 1.0) <= 0.01:
        return []
    return [f"file-area:{stated:g}"]


def spectrum_in_ohm(spectrum: Spectrum, area_cm2: float | None) -> Spectrum:
    """The spectrum to fit, in ohm: one read per area (``Spectrum.area_specific``) divided
    by the electrode area ``area_cm2`` (cm2); FitError when there is no area to divide by."""
    if not spectrum.area_specific:
        return spectrum
    if area_cm2 is None:
        raise FitError(f"{spectrum.label}: the file gives the impedance per area (ohm*cm2); give the electrode "
                       f"area (area_cm2= in Python, --area-cm2 on the command line) to fit it in ohm "
                       f"with ASR = R x area (area 1 fits the numbers as they are: R then reads as the ASR)")
    return spectrum.in_ohm(area_cm2)


def _prepare(spectrum, circuit, *, area_cm2, thickness_cm, symmetric, weighting, sigma, fmin, fmax,
             drop_inductive, initial, fixed, bounds, expr, starts, engine,
             guess_mode: str = "auto", profile: bool | str = "auto", exclude_hz: Any = ()) -> _Prepared:
    """Validate the arguments of :func:`fit`, select the points and build the problem and starts."""
    if not isinstance(spectrum, Spectrum):
        raise FitError(f"fit() needs an eisfit.Spectrum or a (frequency_Hz, z_ohm) tuple of arrays, got "
                       f"{type(spectrum).__name__}"
                       f"{not_a_spectrum_hint(spectrum)}")
    require_capacitive_negative(spectrum)
    definition = _definition(circuit)
    circ = definition.circuit
    names = circ.param_names
    if isinstance(initial, FitResult):  # a previous fit as the starting point; fixed values win
        initial = {k: v for k, v in initial.values.items() if k not in (fixed if isinstance(fixed, Mapping) else ())}
    _check_names(names, initial, "initial")
    _check_names(names, fixed, "fixed")
    _check_names(names, bounds, "bounds")
    _check_names(names, expr, "expr")
    lower, upper = _bounds(definition, bounds)
    _check_values(names, initial, fixed, lower, upper)
    check_expressions(names, expr)
    both = sorted(set(fixed or {}) & set(expr or {}))
    if both:
        raise FitError(f"{', '.join(both)}: both fixed and tied by expr; give each parameter one of the two")
    check_weighting(weighting)
    weighting = weighting_in_use(weighting, sigma)  # sigma= sets the scales: the fit is sigma-weighted
    for label, v in (("area_cm2", area_cm2), ("thickness_cm", thickness_cm), ("fmin", fmin), ("fmax", fmax)):
        positive_number_or_none(label, v)
    if fmin is not None and fmax is not None and not fmin < fmax:
        raise FitError(f"fmin ({fmin!r} Hz) must be below fmax ({fmax!r} Hz)")
    symmetric = check_choice("symmetric", symmetric)
    drop_inductive = check_choice("drop_inductive", drop_inductive, ("auto", True, False))
    check_engine(engine)
    check_guess(guess_mode)
    starts = check_starts(starts)
    profile = check_choice("profile", profile, ("auto", True, False))

    flags: list[str] = []
    spectrum = _in_ohm(spectrum, area_cm2, flags)
    flags.extend(_file_area_note(spectrum, area_cm2))
    if thickness_cm is not None and area_cm2 is None:
        flags.append("thickness-unused")
    exclude_hz = frequencies_to_exclude(exclude_hz)
    data, sig = _select_points(spectrum, circ, fmin, fmax, exclude_hz, drop_inductive, sigma, flags)
    f, z = data.frequency, data.z
    fixed = dict(fixed or {})
    free = np.array([i for i, n in enumerate(names) if n not in fixed and n not in (expr or {})], dtype=int)
    if free.size == 0:
        raise FitError(f"{spectrum.label}: every parameter is fixed or tied by expr: nothing to fit")
    require_distinct_frequencies(data, 2, "a fit")
    if np.all(lower >= 0):  # no element may go negative: a passive circuit, Z' >= 0 at every frequency
        require_positive_real_part(z, spectrum.label, "no passive circuit (R, C, CPE, L, Warburg...: Z' >= 0)")
    if weighting in ("modulus", "proportional"):
        require_nonzero_impedance(f, z, spectrum.label, f"{weighting} weighting divides by |Z|", FitError,
                                  otherwise=", or fit with weighting='unit'")
    n_res = 2 * f.size
    if free.size >= n_res:
        raise FitError(
            f"{spectrum.label}: {free.size} free parameters but only {f.size} "
            f"point{'s' if f.size != 1 else ''} ({n_res} real residuals) in the selected range")

    feats = spectrum_features(f, z)
    guess = base_guess(circ, feats)
    anchor = np.array([abs(guess[n]) for n in names], float)  # from the data only
    guess.update({k: float(v) for k, v in (initial or {}).items()})
    guess.update(fixed)
    fixed_vec = np.array([guess[n] for n in names], float)
    log_mask = log_scaled(circ, lower)
    # In log space a scale parameter bounded below by 0 could fall without limit (1e-300 ohm);
    # it may fall COLLAPSE_DECADES below its data-derived guess (the same floor whatever the
    # start, so seeded and cold fits agree), and ending there reads as "at-bound".
    floor = np.where(log_mask & (lower <= 0), anchor * 10.0 ** -COLLAPSE_DECADES, lower)
    transform = Transform(log_mask[free], floor[free], upper[free])
    scales = residual_scales(z, weighting, sig)
    problem = Problem(circ, f, z, scales, weighting, free, fixed_vec, transform)

    start_list, start_labels, n_quick = _start_list(circ, feats, guess, initial, fixed, starts)
    other_orders = getattr(start_list, "other_orders", 0)
    if guess_mode == "drt" and len(start_list) > 1:  # issue 8: DRT-seeded starts after the first
        extra = [{**s, **fixed} for s in drt_starts(circ, guess, f, z, weighting, sig)]
        start_list = list(start_list[:])
        start_list[1:1] = extra
        start_labels[1:1] = [f"drt:{k}" for k in range(len(extra))]
        n_quick += len(extra)
        if isinstance(starts, int):
            del start_list[starts:], start_labels[starts:]
    settings = {
        "weighting": weighting,
        "weighting_formula": weighting_formula(weighting),
        "area_cm2": area_cm2, "thickness_cm": thickness_cm, "symmetric": bool(symmetric),
        "fmin_Hz": fmin, "fmax_Hz": fmax, "drop_inductive": drop_inductive,
        **({"exclude_Hz": list(exclude_hz)} if exclude_hz else {}),
        "initial": {k: float(v) for k, v in (initial or {}).items()},
        "fixed": {k: float(v) for k, v in fixed.items()}, "expr": dict(expr or {}),
        "bounds": dict(zip(names, zip(lower.tolist(), upper.tolist()))),
        "starts": starts, "engine": "lmfit" if (expr or engine == "lmfit") else "fast",
        "profile": profile,
        **({"guess": guess_mode} if guess_mode != "auto" else {}),
    }
    return _Prepared(definition, data, problem, start_list, lower, upper, fixed, dict(expr or {}),
                     flags, settings, initial, floor, start_labels, adaptive=starts == "auto", n_quick=n_quick,
                     n_other_orders=other_orders)


def _final_values(prep: _Prepared, p_best: np.ndarray, order_arcs: bool) -> np.ndarray:
    """The solver's optimum after arc ordering and expressions (full parameter vector)."""
    names = prep.names
    values = dict(zip(names, p_best))
    if order_arcs:
        values = _order_arcs(prep.definition.circuit, values, prep.fixed, prep.expr, prep.lower, prep.upper)
    if prep.expr:
        values = _apply_expr(values, prep.expr)
    return np.array([values[n] for n in names])


def _finish(prep: _Prepared, p_best: np.ndarray, converged: bool, *, kk: bool, order_arcs: bool,
            covariance: tuple[np.ndarray | None, bool, float] | None = None,
            derived: tuple[dict, dict] | None = None,
            kk_outcome: KKOutcome | None = None,
            may_repolish: bool = True, p_final: np.ndarray | None = None,
            start_won: str = "", n_starts: int | None = None,
            profile: AppliedProfile | None | str = "compute",
            optima: Sequence[tuple[float, np.ndarray]] | None = None,
            element_moduli: Mapping[str, tuple[float, float]] | None = None,
            z_fit: np.ndarray | None = None, wald_covariance: np.ndarray | None = None) -> FitResult:
    """Statistics, covariance, flags and the FitResult at the solver's optimum.

    ``covariance`` = (cov, singular, chisq), ``derived``, ``kk_outcome`` and ``profile``
    (what this fit's :func:`_profile_job` outcome means for it, :func:`_apply_profile`;
    None when it has none) may be precomputed in batches (:func:`_assemble_grid`: the
    covariance then is the one the profile widened, and ``derived`` follows it); they are
    computed here otherwise (as is ``p_final``, the values after arc ordering). When the
    profile of a resistance meets a lower chi-square than the solver's optimum, the fit is
    polished from there and finished again (once). ``optima``: the distinct optima the
    solver met (:attr:`~eisfit.fitting.solver.Solution.optima`), whose parameters at a
    chi-square close to this one's are compared with the reported stderr
    (:func:`~eisfit.fitting.assemble.multimodal_flags`). ``element_moduli``: the elements'
    smallest and largest |Z| over the points at ``p_final``
    (:func:`~eisfit.fitting.assemble.band_moduli`), where computed in a batch; ``z_fit``
    the model at the points at ``p_final`` (``Circuit.impedance_at_each``), likewise;
    ``wald_covariance`` the covariance before the profile widened ``covariance``, likewise.
    """
    names = prep.names
    problem = prep.problem
    free = problem.free
    flags = list(prep.flags)
    if p_final is None:
        p_final = _final_values(prep, p_best, order_arcs)
    if covariance is None:
        covariance = _covariance_at(problem, p_final)
    cov, singular, chisq = covariance
    if wald_covariance is None:
        wald_covariance = cov
    on_bound = _at_bound(prep, p_final)
    at_bound = [names[i] for i in on_bound]
    flags.extend(f"at-bound:{n}" for n in at_bound)
    # Parameters at a bound stay in the covariance: dropping them would report the
    # (too small) conditional uncertainty of the others. The flag says they are at a bound.
    if singular:  # the parameters in its null directions have no stderr; the others keep theirs
        flags.append("singular-covariance")
    intervals: dict[str, dict] = {}
    if isinstance(profile, str):  # "compute"
        job = _profile_job(prep, p_final, cov, chisq, at_bound)
        profile = None if job is None else _apply_profile(prep, p_final, cov, profile_many([job])[0])
    if profile is not None:
        if profile.better is not None and may_repolish:
            p_new, new_cost, polished = polish_from([prep], [profile.better])
            return _finish(prep, p_new[0], converged and bool(polished[0]), kk=kk, order_arcs=order_arcs,
                           kk_outcome=kk_outcome, may_repolish=False, start_won=f"{start_won}+profile",
                           n_starts=n_starts, optima=merge_optima(optima or [], [(float(new_cost[0]), p_new[0])]))
        if profile.cov is not cov:
            cov, derived = profile.cov, None  # derived errors follow the widened covariance
        intervals = profile.intervals
        flags.extend(profile.flags)
    if not converged:  # issue 13: stopped on the iteration limit, but nothing left to gain?
        theta = problem.transform.to_internal(p_final[free])[None, :]
        r, jac = problem.residuals_and_jacobian(theta)
        converged = optimum_settled(r[0], jac[0], np.isin(free, on_bound))
    if not converged:
        flags.append("not-converged")
    if optima and cov is not None:
        flags.extend(_multimodal(prep, p_best, p_final, cov, chisq, optima, order_arcs))
    if singular:  # a finite Warburg's coefficient may be estimable where its Z0 and tau are not
        derived = _with_warburg_coefficient_errors(prep, p_final, cov, derived)
    return assemble_result(
        prep.data, prep.definition, dict(zip(names, p_final)), covariance=cov,
        cov_names=[names[i] for i in free], chisq=chisq, n_free=int(free.size), converged=converged,
        flags=flags, settings=prep.settings, fixed_names=sorted(set(prep.fixed) | set(prep.expr)),
        kk=kk, start="initial" if prep.initial else "auto",
        n_starts=len(prep.start_list) if n_starts is None else n_starts, start_won=start_won,
        derived=derived, kk_outcome=kk_outcome, intervals=intervals, element_moduli=element_moduli, z_fit=z_fit,
        wald_covariance=wald_covariance)


BARRIER_STEPS = (0.25, 0.5, 0.75)  # points on the way between two optima where a barrier is looked for


def _multimodal(prep: _Prepared, p_best: np.ndarray, p_final: np.ndarray, cov: np.ndarray, chisq: float,
                optima: Sequence[tuple[float, np.ndarray]], order_arcs: bool) -> list[str]:
    """The ``multimodal`` flags of a fit (:func:`~eisfit.fitting.assemble.multimodal_flags`)
    from the distinct optima the solver met, arcs ordered as the reported values: those of
    them that lie in another valley, a barrier of more than ``MULTIMODAL_BARRIER_S2`` s^2
    above the higher of the two on the straight way between them (internal coordinates:
    logs of scale parameters). Optima along one flat valley (a polish that settled at
    another point of it) are no second optimum. In a circuit not finite at DC, also the
    ``arc-numbering`` flags (:func:`~eisfit.fitting.assemble.arc_numbering_flags`) of optima
    up to ``ARC_NUMBERING_S2`` s^2 above it, the readings with an undetermined arc moved to
    the other end of the data among them (:func:`_other_end_readings`), which take the place
    of a ``multimodal`` flag of the same parameter."""
    problem, free = prep.problem, prep.problem.free
    names = [prep.names[i] for i in free]
    dof = max(2 * problem.frequency.size - free.size, 0)
    se = np.sqrt(np.clip(np.diagonal(cov), 0.0, None))
    groups = _blocked_arc_groups(problem.circuit) if order_arcs else ()
    # only optima within MULTIMODAL_S2 s^2 of this one (ARC_NUMBERING_S2 where arcs can be
    # renumbered) can be flagged: the others are not put in reported order (most of a
    # spectrum's optima are far above it)
    margin = ARC_NUMBERING_S2 if groups else MULTIMODAL_S2
    close = chisq + margin * (chisq / dof) if dof > 0 else -math.inf
    # the solver's optimum itself (``p_best``, whose reported values are ``p_final``) moves nothing
    if groups:
        optima = [*optima, *_other_end_readings(prep, p_final, se)]
    others = [(c, _final_values(prep, p, order_arcs)) for c, p in optima
              if math.isfinite(c) and c < close and not np.array_equal(p, p_best)]
    renumbered = arc_numbering_flags(names, p_final[free], chisq, dof, [(c, p[free]) for c, p in others],
                                     groups) if groups else []
    taken = {f.split(":", 1)[1] for f in renumbered}
    multimodal = [f for f in _multimodal_apart(prep, p_final, se, chisq, dof, others) if f.split(":", 1)[1] not in taken]
    return multimodal + renumbered


def _multimodal_apart(prep: _Prepared, p_final: np.ndarray, se: np.ndarray, chisq: float, dof: int,
                      others: Sequence[tuple[float, np.ndarray]]) -> list[str]:
    """:func:`~eisfit.fitting.assemble.multimodal_flags` of the optima ``others`` (full
    vectors in reported order) that lie in another valley than ``p_final`` (:func:`_multimodal`)."""
    problem, free = prep.problem, prep.problem.free
    names = [prep.names[i] for i in free]
    candidates = [(c, p) for c, p in others if multimodal_flags(names, p_final[free], se, chisq, dof, [(c, p[free])])]
    if not candidates:
        return []
    tr = problem.transform
    theta0 = tr.to_internal(p_final[free])
    path = []
    for _, p in candidates:
        theta1 = tr.to_internal(p[free])
        for t in BARRIER_STEPS:
            v = p_final.copy()
            v[free] = tr.to_physical(theta0 + t * (theta1 - theta0))
            path.append(v)
    costs = start_costs([prep] * len(path), np.array(path)).reshape(len(candidates), len(BARRIER_STEPS))
    s2 = chisq / max(dof, 1)
    apart = [(c, p[free]) for (c, p), on_way in zip(candidates, costs)
             if np.max(on_way) > max(chisq, c) + MULTIMODAL_BARRIER_S2 * s2]
    return multimodal_flags(names, p_final[free], se, chisq, dof, apart)


RENUMBER_HIGH_PLACEMENT = 3.0  # apex, x f_max, of an arc moved from the low end of the data to the high end
RENUMBER_HIGH_SHARE = 0.01  # its resistance, x the spread of Z' of the data


def _other_end_readings(prep: _Prepared, p_final: np.ndarray, se: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """(cost, full vector) of the optima polished from ``p_final`` (``se``: the reported
    stderr of the free parameters) with one arc whose resistance it leaves undetermined
    (stderr at or above the value, or unknown) moved to the other end of the data from the
    determined arcs of its group (:func:`_blocked_arc_groups`), one polish per such arc: an
    arc faster than them to the low end (apex ``EDGE_ARC_PLACEMENTS[0]`` x f_min, resistance
    ``EDGE_ARC_RESISTANCES[0]`` x the spread of Z', beside the blocking line), one slower to
    the high end (apex ``RENUMBER_HIGH_PLACEMENT`` x f_max, resistance
    ``RENUMBER_HIGH_SHARE`` x the spread): the readings in which the determined arc takes
    the other number (:func:`~eisfit.fitting.assemble.arc_numbering_flags`). The solver's
    list of optima may lack them: a flat valley's points crowd it (a blocking pellet whose
    8 kept optima lay within 0.02 s^2 of each other, the reading with the arcs renumbered
    4.7 s^2 above them)."""
    problem = prep.problem
    values = dict(zip(prep.names, p_final))
    error = dict(zip((prep.names[i] for i in problem.free), se))
    f, spread = problem.frequency, float(np.ptp(problem.z.real))
    starts = []
    for group in _blocked_arc_groups(problem.circuit):
        vanished = {a.resistor for a in group if undetermined(values[a.resistor], error.get(a.resistor, math.nan))}
        kept = [arc_tau_s(values, a) for a in group if a.resistor not in vanished]
        for arc in (a for a in group if a.resistor in vanished and kept):
            tau = arc_tau_s(values, arc)
            if tau < min(kept):
                start = arc_moved(prep, p_final, arc, EDGE_ARC_PLACEMENTS[0] * float(np.min(f)),
                                  EDGE_ARC_RESISTANCES[0] * spread)
            elif tau > max(kept):
                start = arc_moved(prep, p_final, arc, RENUMBER_HIGH_PLACEMENT * float(np.max(f)),
                                  RENUMBER_HIGH_SHARE * spread)
            else:
                start = None
            if start is not None:
                starts.append([start[n] for n in prep.names])
    if not starts:
        return []
    p_new, cost, _ = polish_from([prep] * len(starts), np.array(starts))
    return [(float(c), p) for c, p in zip(cost, p_new) if math.isfinite(c)]


@functools.lru_cache(maxsize=64)
def _blocked_arc_groups(circ: Circuit) -> tuple[tuple[Arc, ...], ...]:
    """The interchangeable arcs (:func:`_arc_groups`) of a circuit not finite at DC (a
    blocking element in series), whose numbering :func:`_multimodal` checks; () otherwise."""
    return () if finite_at_dc(circ) else _arc_groups(circ)


def _profile_job(prep: _Prepared, p_final: np.ndarray, cov: np.ndarray | None, chisq: float,
                 at_bound: list[str]) -> ProfileJob | None:
    """The profile-likelihood check this fit needs (see :mod:`eisfit.fitting.profile`):
    the suspect arc resistances with ``profile="auto"``, every arc resistance with
    ``profile=True``; None when there is nothing to profile (or no covariance)."""
    if cov is None or not prep.settings.get("profile", "auto") or prep.uses_lmfit:
        return None
    problem = prep.problem
    names = prep.names
    free_names = [names[i] for i in problem.free]
    wald = _wald(free_names, cov)
    log_free = [n for k, n in enumerate(free_names)
                if problem.transform.log_mask[k] and p_final[problem.free[k]] > 0]
    circ = problem.circuit
    if prep.settings.get("profile") == "auto":
        targets = suspect_resistances(circ, dict(zip(names, p_final)), wald, at_bound, log_free)
    else:
        targets = [r for r in arc_resistances(circ) if r in log_free]
    f_min = float(np.min(problem.frequency))
    targets += [r for r in arcs_at_blocked_low_edge(circ, dict(zip(names, p_final)), f_min)
                if r in log_free and r not in targets]
    targets += [n for n in diffusion_times_near_low_edge(circ, dict(zip(names, p_final)), f_min) if n in log_free]
    targets += [n for n in gs_lengths_near_plain(circ, dict(zip(names, p_final)), wald) if n in log_free]
    return ProfileJob(problem, p_final, chisq, tuple(targets), wald) if targets else None


def _wald(free_names: list[str], cov: np.ndarray) -> dict[str, float]:
    return {n: float(math.sqrt(max(cov[k, k], 0.0))) for k, n in enumerate(free_names)}


@dataclass(frozen=True)
class AppliedProfile:
    """What a profile outcome means for a fit's result (:func:`_apply_profile`)."""

    better: np.ndarray | None  # a full parameter vector with a lower chi-square, else None
    cov: np.ndarray  # the covariance, rows/columns of the resistances the profile widened scaled up
    intervals: dict[str, dict]  # profile intervals by parameter name (ProfileInterval.as_dict)
    flags: list[str]  # profile-stderr:<name> for each widened resistance, profile-open:<name> for each open above


def _apply_profile(prep: _Prepared, p_final: np.ndarray, cov: np.ndarray, outcome: ProfileOutcome) -> AppliedProfile:
    """What a profile outcome means for the result: a better parameter vector, or the
    covariance with the rows/columns of resistances whose profile interval is wider than
    the Wald error scaled up (correlations kept), the intervals and the flags. A parameter
    whose 3-sigma interval is open upwards (:func:`~eisfit.fitting.profile.open_above`,
    other than a diffusion time, which reads unresolved) gets a row/column of nan: no
    standard error, flag ``profile-open:<name>``; the quantities derived from it have none
    either, the others keep theirs (the delta method leaves out what a quantity does not
    depend on). With a better vector the intervals are kept too: a caller that may not
    polish again (the second walk also met a lower point) reports them, which are wider, if
    anything, than the walk from the true optimum would give, instead of the Wald error of a
    surface the walk showed is not quadratic."""
    free_names = [prep.names[i] for i in prep.problem.free]
    wald = _wald(free_names, cov)
    values = dict(zip(prep.names, p_final))
    cov = cov.copy()
    intervals, flags = {}, []
    times = set(diffusion_times(prep.problem.circuit))
    for name, iv in outcome.intervals.items():
        intervals[name] = iv.as_dict()
        if name in times and open_towards_infinite_length(intervals[name]):
            # tau and Z0 read unresolved; the covariance stays the curvature's, which gives the
            # determined Z0/sqrt(2 tau) its error (scaled up, that read 45 +- 7,561 ohm*s^-1/2)
            continue
        k = free_names.index(name)
        if open_above(intervals[name]):
            # no Gaussian error describes an interval the data do not close above: its upper end
            # is the walk's limit (Gs1_2 1.598 had read +- 530, 333 x the value, as every such
            # case did); the bounds stay in the intervals, the derived errors through it go nan
            cov[k, :] = math.nan
            cov[:, k] = math.nan
            flags.append(f"{PROFILE_OPEN_FLAG}:{name}")
            continue
        width = iv.equivalent_stderr(values[name])
        if wald[name] > 0 and width > PROFILE_WIDER * wald[name]:
            ratio = width / wald[name]
            cov[k, :] *= ratio
            cov[:, k] *= ratio
            flags.append(f"profile-stderr:{name}")
    return AppliedProfile(outcome.better, cov, intervals, flags)


def _covariance_at(problem: Problem, p_final: np.ndarray) -> tuple[np.ndarray | None, bool, float]:
    """(covariance over the free parameters or None, singular, chisq) at ``p_final``."""
    jac_phys, chisq = _physical_jacobian(problem, p_final)
    cov, singular = covariance_from_jacobian(jac_phys, chisq, 2 * problem.frequency.size)
    return cov, singular, chisq


def _physical_jacobian(problem: Problem, p_final: np.ndarray) -> tuple[np.ndarray, float]:
    """The Jacobian (2N, M) of the weighted residuals with respect to the free parameters in
    their physical units, and the chi-square, at ``p_final``."""
    free, transform = problem.free, problem.transform
    theta = transform.to_internal(p_final[free])[None, :]
    r, jac_int = problem.residuals_and_jacobian(theta)
    return jac_int[0] / transform.dp_dtheta(p_final[free]), float(np.sum(r[0] ** 2))


def warburg_coefficient_stderr(problem: Problem, p_final: np.ndarray) -> dict[str, float]:
    """The standard error (ohm*s^-1/2) of the Warburg coefficient Aw = Z0/sqrt(2 tau) of each
    finite Warburg (Wo, Ws) of ``problem`` whose Z0 and tau are both free, by element name,
    from the covariance in the coordinates (..., Aw, tau) instead of (..., Z0, tau): the
    columns d/dAw = sqrt(2 tau) d/dZ0 and d/dtau at fixed Aw = d/dtau + Z0/(2 tau) d/dZ0.

    Where tau lies far beyond the data the element is the semi-infinite Warburg, whose
    impedance depends on Aw only: the columns of Z0 and tau are collinear (a singular
    covariance, Z0's and tau's stderr nan, and so Aw's by the delta method), while Aw is an
    estimable function of the parameters, orthogonal to the null direction (Z0, 2 tau). In
    the new coordinates that direction lies along tau alone, and Aw keeps the variance the
    data give it (:func:`~eisfit.fitting.optimise.covariance_from_jacobian`'s rule: nan if
    it still has a share of a null direction). R0-p(R1,CPE1)-Wo1, tau 1e3-1e4 s, data to
    0.1 Hz: the ones with a singular covariance had read Aw 56.28 for a true 55.76 with
    no stderr."""
    circ, free = problem.circuit, problem.free.tolist()
    names = circ.param_names
    pairs = {e.name: (free.index(names.index(e.param_names[0])), free.index(names.index(e.param_names[1])))
             for e in circ.elements if e.kind in FINITE_DIFFUSION_KINDS
             and names.index(e.param_names[0]) in free and names.index(e.param_names[1]) in free}
    if not pairs:
        return {}
    jac, chisq = _physical_jacobian(problem, p_final)
    out = {}
    for element, (iz, it) in pairs.items():
        z0, tau = p_final[free[iz]], p_final[free[it]]
        if not (math.isfinite(z0) and math.isfinite(tau) and tau > 0):
            continue
        reparametrised = jac.copy()
        reparametrised[:, iz] = jac[:, iz] * math.sqrt(2.0 * tau)
        reparametrised[:, it] = jac[:, it] + jac[:, iz] * z0 / (2.0 * tau)
        cov, _ = covariance_from_jacobian(reparametrised, chisq, 2 * problem.frequency.size)
        if cov is not None and math.isfinite(cov[iz, iz]) and cov[iz, iz] >= 0:
            out[element] = math.sqrt(cov[iz, iz])
    return out


def _with_warburg_coefficient_errors(prep: _Prepared, p_final: np.ndarray, cov: np.ndarray | None,
                                     derived: tuple[dict, dict] | None) -> tuple[dict, dict]:
    """``derived`` (computed here from ``cov`` when None) with the stderr of each finite
    Warburg's coefficient that the singular covariance leaves unknown taken from
    :func:`warburg_coefficient_stderr` (its per-area value scaled by the area)."""
    values = dict(zip(prep.names, p_final))
    if derived is None:
        derived = fit_derived_quantities(prep.definition, values, cov,
                                         [prep.names[i] for i in prep.problem.free], prep.settings)
    numbers, units = dict(derived[0]), derived[1]
    for element, error in warburg_coefficient_stderr(prep.problem, p_final).items():
        key = f"{element}{WARBURG_COEFFICIENT_SUFFIX}ohm_per_sqrt_s"
        if key in numbers and not math.isfinite(numbers.get(f"{key}_stderr", math.nan)):
            numbers[f"{key}_stderr"] = error
            per_area = f"{element}{WARBURG_COEFFICIENT_SUFFIX}ohm_cm2_per_sqrt_s"
            if per_area in numbers and numbers[key] != 0:
                numbers[f"{per_area}_stderr"] = error * numbers[per_area] / numbers[key]
    return numbers, units


# --------------------------------------------------------------------------- helpers
def _definition(circuit) -> CircuitDefinition:
    if isinstance(circuit, CircuitDefinition):
        return circuit
    if isinstance(circuit, Circuit):
        return load_circuit(circuit.string)
    return load_circuit(circuit)


def _check_names(names: list[str], given: Mapping | None, what: str) -> None:
    """FitError unless ``given`` (``initial``, ``fixed``, ``bounds`` or ``expr``) is None or a
    mapping whose keys are parameters of the circuit."""
    check_mapping(given, what)
    unknown = sorted(set(given or {}) - set(names))
    if unknown:
        raise FitError(f"{what}: unknown parameter(s) {', '.join(unknown)}; the circuit has {', '.join(names)}")


def check_values_in_bounds(circuit, initial: Mapping[str, float] | FitResult | None,
                           fixed: Mapping[str, float] | None, bounds: Mapping | None) -> None:
    """FitError unless every ``initial`` and ``fixed`` value lies within its parameter's
    bounds (the circuit's with the user's ``bounds``): what :func:`fit` checks, for a campaign
    and the command line before any fit (a fixed n of 1.5 had failed every checkpoint)."""
    definition = _definition(circuit)
    if isinstance(initial, FitResult):
        initial = {k: v for k, v in initial.values.items() if k not in (fixed if isinstance(fixed, Mapping) else ())}
    lower, upper = _bounds(definition, bounds)
    _check_values(definition.circuit.param_names, initial, fixed, lower, upper)


def _check_values(names: list[str], initial: Mapping[str, float] | None, fixed: Mapping[str, float] | None,
                  lower: np.ndarray, upper: np.ndarray) -> None:
    """FitError unless every ``initial`` and ``fixed`` value is a finite number within its
    parameter's bounds [``lower``, ``upper``] (the same check for both: a start value the
    solver could not use is an error, not silently replaced), and no parameter is both
    fixed and given a different initial value."""
    box = dict(zip(names, zip(lower, upper))) if (initial or fixed) else None
    check_start_values(fixed, "fixed", box)
    check_start_values(initial, "initial", box)
    both = sorted(n for n in set(initial or {}) & set(fixed or {}) if initial[n] != fixed[n])
    if both:
        values = "; ".join(f"{n}: fixed {float(fixed[n])!r}, initial {float(initial[n])!r}" for n in both)
        raise FitError(f"{', '.join(both)} {'is' if len(both) == 1 else 'are'} both fixed and given an initial "
                       f"value ({values}); give each parameter one of the two")


def _select_points(spectrum, circ, fmin, fmax, exclude_hz, drop_inductive, sigma, flags):
    data = spectrum.restrict(fmin, fmax, exclude_hz)
    if exclude_hz:
        flags.append(f"excluded-points:{len(spectrum.restrict(fmin, fmax)) - len(data)}")
    sig = None if sigma is None else np.asarray(sigma)
    if sig is not None and sig.shape != (len(spectrum),):
        raise FitError(f"sigma has {sig.size} values, the spectrum has {len(spectrum)} points")
    if sig is not None and data is not spectrum:
        sig = sig[np.isin(np.flatnonzero(spectrum.mask), np.flatnonzero(data.mask))]
    has_inductor = any(e.kind in ("L", "La") for e in circ.elements)
    drop = (drop_inductive == "auto" and not has_inductor) or drop_inductive is True
    if drop:
        inductive = _inductive_high_frequency_run(data.frequency, data.z)
        keep, n_drop = ~inductive, int(np.count_nonzero(inductive))
        # issue 13: a run whose Z'' stays within 1 % of |Z| is noise around Z'' = 0, not a lead inductance
        if n_drop and keep.sum() >= 3 and np.max(data.z.imag[~keep] / np.abs(data.z[~keep])) > 0.01:
            data = data.select(keep)
            sig = None if sig is None else sig[keep]
            flags.append(f"dropped-inductive-points:{n_drop}")
    noisy = instrument_noisy_points(data.columns)
    if noisy:
        flags.append(f"noisy-points:{noisy}")
    return data, sig


def _inductive_high_frequency_run(f: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Mask of the points with Z'' > 0 that form a contiguous run from the highest
    frequency down (cable inductance); isolated noisy points mid-spectrum are kept."""
    order = np.argsort(-f)
    run = np.logical_and.accumulate(~(z.imag[order] <= 0))  # from the top down to the first Z'' <= 0
    mask = np.zeros(f.size, dtype=bool)
    mask[order[run]] = True
    return mask


def _bounds(definition: CircuitDefinition, user: Mapping | None) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) bounds of every parameter in parameter order: the user's ``bounds``
    over the definition's; FitError for a malformed or empty pair."""
    names = tuple(definition.circuit.param_names)
    pairs = tuple((user or {}).get(n, definition.bounds[n]) for n in names)
    try:
        lo, hi = _checked_bounds(names, pairs)
    except TypeError:  # an unhashable pair (a list): checked without the cache
        lo, hi = _checked_bounds.__wrapped__(names, pairs)
    return lo.copy(), hi.copy()


@functools.lru_cache(maxsize=64)
def _checked_bounds(names: tuple[str, ...], pairs: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The (lower, upper) arrays of the (lower, upper) ``pairs`` of the parameters ``names``,
    None read as unbounded; FitError for a malformed or empty pair. Cached: a campaign's
    spectra share their bounds (the arrays are the cache's: callers copy them)."""
    lo = np.empty(len(names))
    hi = np.empty(len(names))
    for i, (n, b) in enumerate(zip(names, pairs)):
        lo[i], hi[i] = bound_pair(n, b)
    return lo, hi


def _start_list(circ, feats, guess, initial, fixed, starts) -> tuple[Sequence[dict[str, float]], list[str], int]:
    """Start values, where each comes from, and the size of the quick round. The first is
    ``guess`` itself (the data guess with the user's initial values); with ``starts="auto"``
    the grid follows, ordered for the solver's rounds: the quick round is the guess and the
    screened placements (one or two processes), else ``QUICK_STARTS`` starts spread over
    the grid; every later prefix spreads over the rest."""
    first = "initial" if initial else "guess"
    if starts == 1:
        return [guess], [first], 1
    grid = multistart_guesses(circ, feats, guess, n_starts=None if starts == "auto" else starts,
                              keep=set(initial or ())).with_values(fixed)
    if isinstance(starts, int):
        return grid[:starts], [first] + [f"grid:{k}" for k in range(1, min(starts, len(grid)))], starts
    leading = leading_screened(circ, feats)
    n_quick = 1 + leading if leading else QUICK_STARTS
    order, labels = _adaptive_order(len(grid), n_quick, leading, grid.other_orders)
    return grid.reordered(order), [first, *labels[1:]], n_quick


@functools.lru_cache(maxsize=64)
def _adaptive_order(n: int, n_quick: int, leading: int, other_orders: int) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """(order, labels in that order) of an adaptive list of ``n`` starts: the first (the
    guess, which stays first; its label is the caller's: "guess" or "initial"), ``leading``
    screened placements, the grid, and the ``other_orders`` placements in other time orders
    last (:func:`_quick_first` orders all but those). Cached: the lists of a campaign's
    spectra have the same layout."""
    labels = ["first"] + [f"grid:{k}" for k in range(1, n)]
    labels[1:1 + leading] = [f"screened:{k}" for k in range(1, 1 + leading)]
    own = n - other_orders
    labels[own:] = [f"order:{k}" for k in range(other_orders)]
    order = tuple(_quick_first(own, n_quick, leading)) + tuple(range(own, n))
    return order, tuple(labels[i] for i in order)


def _quick_first(n: int, quick: int, leading: int = 0) -> list[int]:
    """The order of a start list for adaptive rounds: 0, the ``leading`` screened starts (or,
    without them, ``quick - 1`` indices spread evenly over 1..n-1), then the rest in an
    order whose every prefix spreads evenly over them (what an escalation runs)."""
    if n <= quick:
        return list(range(n))
    if leading:
        head = list(range(min(1 + leading, n)))
    else:
        head = [0] + sorted(set(np.linspace(1, n - 1, quick - 1).round().astype(int).tolist()))
    taken = set(head)
    rest = [i for i in range(n) if i not in taken]
    return head + [rest[i] for i in _spread_order(len(rest))]


@functools.lru_cache(maxsize=64)
def _spread_order(n: int) -> tuple[int, ...]:
    """0..n-1 ordered so that every prefix spreads evenly over the range (coarse to fine)."""
    order: list[int] = []
    seen: set[int] = set()
    level = 2
    while len(order) < n:
        for i in np.linspace(0, n - 1, min(level, n)).round().astype(int).tolist():
            if i not in seen:
                seen.add(i)
                order.append(i)
        level *= 2
    return tuple(order)


def _solve_lmfit(prep: _Prepared, relaxed: _Prepared | None = None) -> tuple[np.ndarray, bool]:
    """Multi-start stage with the fast engine's solver, then lmfit.minimize (leastsq) from the
    best start (expressions tie parameters: lmfit only). With expressions the multi-start
    runs on ``relaxed`` (the same fit without them): the lmfit polish starts from its
    optimum with the tied parameters set by their expressions, and keeps the better of
    that and the data guess (from the guess alone, 5 of 8 two-arc fits with n2 = n1 lost
    an arc, at up to 47x the chi-square)."""
    expr, names = prep.expr, prep.names
    if relaxed is not None:
        p_free = solve([relaxed], kk=False).p_best[0]
        starts = [_apply_expr(dict(zip(names, p_free.tolist())), expr), prep.start_list[0]]
    elif len(prep.start_list) > 1:
        starts = [dict(zip(names, solve([prep], kk=False).p_best[0].tolist()))]
    else:
        starts = [prep.start_list[0]]
    best = min((_lmfit_polish(prep, np.array([s[n] for n in names])) for s in starts), key=lambda r: r[2])
    return best[0], best[1]


def _lmfit_polish(prep: _Prepared, p_start: np.ndarray) -> tuple[np.ndarray, bool, float]:
    """lmfit.minimize (leastsq) from ``p_start``: (parameters, success, chi-square)."""
    import lmfit

    problem, lower, upper, expr, names = prep.problem, prep.lower, prep.upper, prep.expr, prep.names
    params = lmfit.Parameters()
    circ = problem.circuit
    log_mask = log_scaled(circ, lower)
    for i, n in enumerate(names):
        if n in expr:
            continue
        vary = i in set(problem.free.tolist())
        if log_mask[i] and vary:
            params.add(f"ln_{n}", value=math.log(max(p_start[i], 1e-300)),
                       min=math.log(lower[i]) if lower[i] > 0 else -np.inf,
                       max=math.log(upper[i]) if np.isfinite(upper[i]) else np.inf)
            params.add(n, expr=f"exp(ln_{n})")
        else:
            params.add(n, value=float(np.clip(p_start[i], lower[i], upper[i])), min=lower[i], max=upper[i], vary=vary)
    for n, e in expr.items():
        params.add(n, expr=e)
    sr, si = problem.scales

    def residual(pars):
        p = np.array([pars[n].value for n in names])
        with np.errstate(all="ignore"):
            zm = circ.impedance(p, problem.frequency)
            if problem.weighting == "modulus-calc":
                m = np.abs(zm)
                return finite_residuals(np.concatenate([(problem.z - zm).real / m, (problem.z - zm).imag / m]))
            d = problem.z - zm
            return finite_residuals(np.concatenate([d.real / sr, d.imag / si]))  # lmfit stops on a nan

    res = lmfit.minimize(residual, params, method="leastsq", max_nfev=20000)
    p = np.array([res.params[n].value for n in names])
    chisq = float(res.chisqr) if np.isfinite(res.chisqr) else np.inf
    return p, bool(res.success), chisq


def _apply_expr(values: dict[str, float], expr: Mapping[str, str]) -> dict[str, float]:
    from asteval import Interpreter

    ae = Interpreter()
    ae.symtable.update(values)
    out = dict(values)
    for n, e in expr.items():
        out[n] = float(ae(e))
    return out


def _order_arcs(circ: Circuit, values: dict[str, float], fixed, expr, lower, upper) -> dict[str, float]:
    """Swap the values of interchangeable arcs so that time constants ascend in name order.

    Arcs are interchangeable when they sit in the top-level series chain, have the same
    kind (R || CPE, R || C, a Zarc, a K) and no fixed or tied parameter; a reordering that
    would put a value outside the bounds of its new parameter is not made (the fit stays
    feasible).
    """
    index = {n: i for i, n in enumerate(circ.param_names)}
    out = dict(values)
    for members in _arc_groups(circ):
        params = [a.param_names for a in members]
        if any(p in (fixed or {}) or p in (expr or {}) for ps in params for p in ps):
            continue
        taus = [arc_tau_s(values, a) for a in members]
        order = sorted(range(len(members)), key=lambda k: (math.isnan(taus[k]), taus[k]))
        moved = {pd: values[ps] for dst, src in zip(params, [params[k] for k in order])
                 for pd, ps in zip(dst, src)}
        if all(lower[index[p]] <= v <= upper[index[p]] for p, v in moved.items()):
            out.update(moved)
    return out


@functools.lru_cache(maxsize=64)
def _arc_groups(circ: Circuit) -> tuple[tuple[Arc, ...], ...]:
    """The interchangeable arcs of a circuit (:func:`_order_arcs`): ``top_level_arc_groups``,
    then the Zarc and K elements of the top-level chain, two or more of a kind."""
    arcs = circ.arcs
    groups = [tuple(arcs[i] for i in g) for g in top_level_arc_groups(circ.tree, arcs)]
    top = {n.name for n in series_chain(circ.tree) if isinstance(n, Leaf)}
    by_kind: dict[str, list[Arc]] = {}
    for a in element_arcs([e for e in circ.elements if e.name in top]):
        by_kind.setdefault(a.kind, []).append(a)
    return tuple(groups + [tuple(g) for g in by_kind.values() if len(g) > 1])


def _at_bound(prep: _Prepared, p: np.ndarray) -> list[int]:
    """Indices of the free parameters of the full vector ``p`` that sit on a bound
    (:meth:`~eisfit.fitting.problem.Problem.free_on_bounds`, the solver's rule too)."""
    at_low, at_high = prep.problem.free_on_bounds(p)
    return [int(i) for i in prep.problem.free[at_low | at_high]]


