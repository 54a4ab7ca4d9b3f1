"""Build a :class:`FitResult` from fitted values and their covariance.

Shared by the single-spectrum engine, the batched campaign path and the joint
(series) fits, so that every result carries the same statistics, flags and
derived quantities.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..analysis.derived import (APEX_OUTSIDE_RANGE, ELEMENT_QUANTITY_KINDS, NEGLIGIBLE_ARC_SHARE,
                               SERIES_HOLDS_ARC_FLAG, TRADED_WITH_SERIES_FLAG, arc_tau_s, capacitance_outside_role,
                               circuit_arcs, closed_apex_range_hz, derived_quantities, derived_quantities_batch,
                               guess_roles, one_parameter_quantities, permittivity_unphysical, quantity_inputs,
                               resistance_scale_ohm, series_holding_arc)
from ..analysis.kk import KK_MIN_POINTS
from ..analysis.quality import (MISFIT_RATIO, data_kk_consistent, is_lack_of_fit, kk_noise_level,
                                lack_of_fit_ratio, modulus_phase_reading, unmodelled_capacitance_F,
                                stderr_spans_range, undetermined, unmodelled_inductance_H)
from ..model import Arc, CircuitDefinition
from ..model.elements import APEX_KINDS, ELEMENT_ARC_KINDS, ELEMENTS, element_apex_hz, gs_phi_saturated
from ..model.parser import Leaf, Series, leaves, parallels, series_chain
from ..spectrum import Spectrum, padded_points
from .arc_sums import arc_sum_quantities, determined_groups, is_arc_sum_key, split_undetermined_flags
from .flags import (ARC_NUMBERING_FLAG, FEW_FREQUENCIES_FLAG, KK_NOT_PASSIVE_FLAG, NOISE_DOMINATED_FLAG,
                    PROFILE_OPEN_FLAG, SPANS_RANGE_FLAG, WARBURG_COEFFICIENT_SUFFIX, flag_details, unresolved_keys,
                    unresolved_names)
from .profile import (DIFFUSION_EDGE_FACTOR, arcs_at_blocked_low_edge, diffusion_times,
                      open_towards_infinite_length)
from .intercept import (INTERCEPT_ASR_KEY, INTERCEPT_KEY, INTERCEPT_PREFIX, intercept_quantities, intercept_terms,
                        series_elements_above_data, z_re_at_fmax)
from .intervals import interval_through
from .result import Correlations, FitResult
from ..model.weighting import pseudo_chisq, residual_scales

if TYPE_CHECKING:
    from ..analysis.kk import KKResult

REL_STDERR_LIMIT = 1.0  # flag parameters whose stderr reaches their value (zero within 1 stderr)


@dataclass(frozen=True)
class KKOutcome:
    """What a fit's result takes from the Lin-KK test of its points (the defaults: the
    test did not run)."""

    passed: bool | None = None
    max_residual_pct: float | None = None
    noise_level: float = math.nan  # fraction of |Z| (:func:`~eisfit.analysis.quality.kk_noise_level`)
    outliers_Hz: tuple[float, ...] = ()  # isolated outliers (``KKResult.outliers_Hz``)
    inductance_H: float | None = None  # the Lin-KK chain's series inductance (``KKResult.inductance_H``)
    capacitance_F: float | None = None  # and its series capacitance (``KKResult.capacitance_F``)
    too_noisy_sd_pct: float | None = None  # status too-noisy: the residuals' robust SD, % of |Z|
    noise_dominated_sd_pct: float | None = None  # points that are noise (``KKResult.noise_dominated``): their SD, % of |Z|
    not_passive: bool = False  # the kept chain's mu <= 0: no chain of positive resistances gives the points

    @classmethod
    def of(cls, result: "KKResult | None") -> "KKOutcome":
        """The outcome of ``result``; on fewer than ``KK_MIN_POINTS`` distinct frequencies the
        chain gives the noise level only, no verdict (:func:`eisfit.kk_test` refuses them)."""
        if result is None:
            return cls()
        if np.unique(result.frequency).size < KK_MIN_POINTS:
            return cls(noise_level=kk_noise_level(result))
        return cls(bool(result.passed), float(result.max_residual_pct), kk_noise_level(result),
                   tuple(result.outliers_Hz), result.inductance_H, result.capacitance_F,
                   float(result.residual_sd_pct) if result.status == "too-noisy" else None,
                   float(result.noise_sd_pct) if result.noise_dominated else None, bool(result.mu <= 0))


CONVENTIONS = {
    "ceff_formula": "Hsu-Mansfeld (R*Q)^(1/n)/R; Brug in *_ceff_brug_F",
    "asr_convention": "per cell = R*A; per interface = R*A/2 (symmetric cells, interface arcs)",
    "cpe_definition": "Z_CPE = 1/(Q (j*omega)^n), Q in S*s^n",
}


def assemble_result(
    data: Spectrum,
    definition: CircuitDefinition,
    values: Mapping[str, float],
    *,
    covariance: np.ndarray | None,
    cov_names: Sequence[str],
    chisq: float,
    n_free: int,
    converged: bool,
    flags: Sequence[str] = (),
    settings: Mapping[str, Any] | None = None,
    fixed_names: Sequence[str] = (),
    kk: bool = True,
    start: str = "auto",
    n_starts: int = 0,
    start_won: str = "",
    derived: tuple[dict[str, float], dict[str, str]] | None = None,
    kk_outcome: KKOutcome | None = None,
    intervals: Mapping[str, Mapping[str, float | bool]] | None = None,
    element_moduli: Mapping[str, tuple[float, float]] | None = None,
    z_fit: np.ndarray | None = None,
    wald_covariance: np.ndarray | None = None,
) -> FitResult:
    """A complete FitResult for ``values`` fitted to the points of ``data``.

    ``covariance`` (or None when not estimable) is over ``cov_names``; ``chisq`` is
    the weighted sum of squares over the 2N residuals and ``n_free`` the number of
    free parameters M (shared parameters of a joint fit count in the joint M, the
    caller passes what applies). ``settings`` must hold area_cm2, thickness_cm and
    symmetric (None/False when unknown). ``derived`` (values, units) and ``kk_outcome``
    may be precomputed by a batched caller; the roles must then be
    those :func:`result_roles` gives. ``intervals``: profile-likelihood intervals by parameter name,
    where computed (:meth:`~eisfit.fitting.profile.ProfileInterval.as_dict`).
    ``element_moduli``: :func:`band_moduli` of ``values`` at the points of ``data``, where a
    batched caller computed them (:func:`band_moduli_of_fits`); ``z_fit`` likewise: the model
    impedance (ohm) of ``values`` at the points of ``data``. ``wald_covariance``: the
    covariance at the optimum before a profile widened ``covariance`` (None: the same), from
    which the summed resistance of arcs the data do not split takes its error
    (:func:`~eisfit.fitting.arc_sums.arc_sum_quantities`).
    """
    settings = dict(settings or {})
    circ = definition.circuit
    names = circ.param_names
    flags = list(flags)
    f, z = data.frequency, data.z
    stderr, correl = _stderr_and_correl(names, covariance, cov_names)
    if covariance is None and "singular-covariance" not in flags and cov_names:
        flags.append("singular-covariance")
    for n in cov_names:
        if values[n] != 0 and stderr[n] >= REL_STDERR_LIMIT * abs(values[n]):
            flags.append(f"large-stderr:{n}")
    flags.extend(spans_range_flags(circ, values, stderr, cov_names, flags))
    if z_fit is None:
        with np.errstate(all="ignore"):  # a runaway element (flagged unresolved) may overflow
            z_fit = circ.impedance(np.array([values[n] for n in names]), f)
    area_cm2 = settings.get("area_cm2")
    arcs = _derived_arcs(circ)
    roles = result_roles(definition, values, area_cm2)
    if derived is None:
        derived = fit_derived_quantities(definition, values, covariance, cov_names, settings)
    derived, derived_units = dict(derived[0]), dict(derived[1])
    flags.extend(_arc_flags(values, arcs, f, z))
    flags.extend(_element_apex_flags(values, circ, f))
    flags.extend(_branch_low_n_flags(values, circ, flags))
    flags.extend(_resistive_series_cpe_flags(values, circ))
    flags.extend(weight_dominated_flags(settings.get("weighting"), f, z))
    moduli = band_moduli(circ, values, f) if element_moduli is None else element_moduli
    flags.extend(unresolved_flags(definition, values, f, z, flags, moduli))
    flags.extend(profile_unresolved_flags(values, intervals or {}, flags, circ, float(np.min(f))))
    flags.extend(semi_infinite_flags(circ, values, float(np.min(f)), flags, moduli, z))
    flags.extend(_unresolved_element_parameters(names, flags))
    flags.extend(unresolved_derived_flags(definition, values, roles, settings, flags, derived,
                                          float(np.max(np.abs(z)))))
    flags = _without_judgements_of_unresolved(flags, arcs)
    series = derived_settings(definition, roles, settings)["series_resistors"]
    gone = unresolved_names(flags)
    flags.extend(f"{SERIES_HOLDS_ARC_FLAG}:{r}" for r in series_holding_arc(
        values, stderr, arcs, series, float(np.max(f)), gone, series_elements_above_data(circ, flags),
        resistance_scale_ohm(circ, values, gone)))
    flags.extend(_traded_with_series_flags(circ, values, stderr, flags, gone))
    intercept, intercept_units = intercept_quantities(circ, values, covariance, cov_names, flags, area_cm2,
                                                      z_re_at_fmax(f, z))
    derived.update(intercept)
    derived_units.update(intercept_units)
    flags.extend(_unresolved_intercept_flags(circ, values, flags, intercept, float(np.max(np.abs(z)))))
    wald = covariance if wald_covariance is None else wald_covariance
    groups = [] if wald is None else determined_groups(circ, values, wald, cov_names, flags, float(np.max(np.abs(z))),
                                                       intervals)
    sums, sum_units = arc_sum_quantities(groups, values, wald, cov_names, area_cm2)
    derived.update(sums)
    derived_units.update(sum_units)
    flags.extend(split_undetermined_flags(groups, values, stderr, intervals or {}, flags))
    flags.extend(unphysical_permittivity_flags(derived, arcs, flags))
    if _has_roles(definition):  # roles the circuit's definition gives (guessed ones fit by construction)
        flags.extend(_role_class_flags(values, arcs, roles, settings, flags))
    distinct = int(np.unique(f).size)
    if distinct < n_free:
        flags.append(f"{FEW_FREQUENCIES_FLAG}:{distinct}-for-{n_free}")
    kk_passed = kk_max = None
    if kk:
        outcome = _kk(data) if kk_outcome is None else kk_outcome
        kk_passed, kk_max = outcome.passed, outcome.max_residual_pct
        if kk_passed is None:  # too few points for a verdict: neither is its noise level one to judge a fit by
            flags.append(f"kk-not-run:{np.unique(f).size}-frequencies")
        elif kk_passed is False and outcome.too_noisy_sd_pct is not None:
            flags.append(f"kk-too-noisy:{outcome.too_noisy_sd_pct:.2g}%")
        elif kk_passed is False and not data_kk_consistent(kk_passed, values.values(), f, z, z_fit):
            flags.append("kk-failed")
            other = modulus_phase_reading(data)
            if other is not None:  # the file most probably holds |Z| and phase, not Z' and Z''
                flags.append(f"columns-modulus-phase:{other.max_residual_pct:.2g}%")
        if kk_passed and outcome.not_passive:  # a pass that says nothing of a passive system (validate's mu<=0)
            flags.append(KK_NOT_PASSIVE_FLAG)
        flags.extend(f"kk-outlier:{f:.4g}Hz" for f in outcome.outliers_Hz)
        if outcome.noise_dominated_sd_pct is not None:  # a fit "within the noise" of noise says nothing: no ratio
            flags.append(f"{NOISE_DOMINATED_FLAG}:{outcome.noise_dominated_sd_pct:.2g}%")
        judged = kk_passed is not None and outcome.noise_dominated_sd_pct is None
        ratio = lack_of_fit_ratio(z, z_fit, n_free, outcome.noise_level) if judged else math.nan
        if math.isfinite(ratio):
            derived[LACK_OF_FIT_KEY] = ratio
            derived_units[LACK_OF_FIT_KEY] = LACK_OF_FIT_UNIT
            flags.extend(lack_of_fit_flags(ratio))
        if ratio > MISFIT_RATIO:  # what the data hold and the circuit lacks, where it misses them
            flags.extend(_unmodelled_series_terms(circ, f, z, outcome))
    settings.update(CONVENTIONS)
    settings.setdefault("eisfit_version", _version())
    n_res = 2 * f.size
    dof = max(n_res - n_free, 1)
    return FitResult(
        circuit=circ.string, circuit_name=definition.name, param_names=list(names),
        values={k: float(values[k]) for k in names}, stderr=_finite_or_nan(stderr),
        units=dict(zip(names, circ.param_units)), fixed=list(fixed_names),
        correl=correl, chisq=float(chisq), redchi=float(chisq) / dof,
        pseudo_chisq=pseudo_chisq(z, z_fit),
        aic=n_res * math.log(max(chisq, 1e-300) / n_res) + 2 * n_free,
        bic=n_res * math.log(max(chisq, 1e-300) / n_res) + n_free * math.log(n_res),
        n_points=int(f.size), n_free=int(n_free), success=bool(converged) and covariance is not None,
        message="converged" if converged else "maximum number of iterations reached",
        flags=flags, derived=_finite_or_nan(derived), derived_units=derived_units, roles=roles, settings=settings,
        frequency=f.copy(), z=z.copy(), z_fit=z_fit, source=data.meta.get("source"),
        sweep=data.meta.get("sweep"), label=data.label, kk_passed=kk_passed,
        kk_max_residual_pct=kk_max, start=start, n_starts=int(n_starts), start_won=start_won,
        intervals={**{k: dict(v) for k, v in (intervals or {}).items()},
                   **open_derived_intervals(definition, values, roles, settings, intervals or {}, flags)},
    )


def open_derived_intervals(definition: CircuitDefinition, values: Mapping[str, float], roles: Mapping[str, str],
                           settings: Mapping[str, Any], intervals: Mapping[str, Mapping[str, Any]],
                           flags: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The intervals of the derived quantities computed from one parameter flagged
    ``profile-open`` alone (:func:`~eisfit.analysis.derived.one_parameter_quantities`: its ASR
    R*A and R*A/2, a conductivity L/(R*A)), by key: the parameter's profile interval carried
    through the quantity (:func:`~eisfit.fitting.intervals.interval_through`). Such a quantity has
    no stderr either, and what the data give is its bound: an ASR bounded below only, a
    conductivity bounded above only. {} where no parameter is flagged so, or it is unresolved."""
    bounded = [n for n in flag_details(flags, PROFILE_OPEN_FLAG) if n in intervals and n not in unresolved_names(flags)]
    if not bounded:
        return {}
    quantities = one_parameter_quantities(values, **derived_settings(definition, roles, settings))
    out = {}
    for key, (name, func) in quantities.items():
        if name in bounded:
            mapped = interval_through(intervals[name], func, values[name])
            if mapped is not None:
                out[key] = mapped
    return out


def fit_derived_quantities(definition: CircuitDefinition, values: Mapping[str, float],
                           covariance: np.ndarray | None, cov_names: Sequence[str],
                           settings: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    """The derived quantities of a fit and their units (:func:`~eisfit.analysis.derived.
    derived_quantities`), with the roles :func:`result_roles` gives ``values`` and the fit's
    ``settings`` (area_cm2, thickness_cm, symmetric); ``covariance`` over ``cov_names`` or None."""
    roles = result_roles(definition, values, settings.get("area_cm2"))
    return derived_quantities(values, covariance, list(cov_names) if covariance is not None else [],
                              **derived_settings(definition, roles, settings))


def _finite_or_nan(numbers: Mapping[str, float]) -> dict[str, float]:
    """``numbers`` with every non-finite value as nan: a time constant or capacitance that
    overflows (a runaway element, flagged) is not determined, not infinite; and a result
    read back from its JSON form (campaign cache, worker) holds the same nan."""
    return {k: (float(v) if math.isfinite(v) else math.nan) for k, v in numbers.items()}


def result_roles(definition: CircuitDefinition, values: Mapping[str, float],
                 area_cm2: float | None) -> dict[str, str]:
    """Arc roles: the definition's, else guessed from the effective capacitances (of the
    R || C/CPE arcs, the branch arcs and the Zarc and K elements); the resistor of a
    Randles branch (a Warburg beside it) is a ``charge transfer`` unless the definition
    names its role."""
    circ = definition.circuit
    if _has_roles(definition):
        roles = dict(definition.roles)
        for a in circ.randles_arcs:
            if roles.get(a.resistor, "arc") == "arc":
                roles[a.resistor] = "charge transfer"
        return roles
    roles = guess_roles(values, _derived_arcs(circ), area_cm2)
    roles.update((a.resistor, "charge transfer") for a in circ.randles_arcs)
    return roles


def roles_guessed(definition: CircuitDefinition) -> bool:
    """Whether a fit of ``definition`` guesses its arcs' roles from their capacitances (a
    circuit string; a library or file circuit that names roles keeps them)."""
    return not _has_roles(definition)


def with_roles(results: Sequence[FitResult], definition: CircuitDefinition,
               roles: Mapping[str, str]) -> list[FitResult]:
    """``results`` (fits of ``definition``) with the roles of their arcs set to ``roles`` and
    what depends on them computed again: the derived quantities (their errors from the
    covariance each result reports, its stderr and correlations) and which of them are
    unresolved (:func:`unresolved_derived_flags`: the keys a role adds or takes away, the total
    conductivities); a result whose roles do not change is returned as it is. A campaign
    labels each arc once for all its checkpoints: an arc whose capacitance lies near the
    guess's threshold was an interface in one checkpoint and the electrolyte in the next.
    The results of one set of roles, settings and free parameters are computed together
    (443 of 1,000 hard spectra changed: 0.22 s one by one)."""
    out = list(results)
    groups: dict[tuple, list[int]] = {}
    for k, r in enumerate(results):
        new_roles = {**r.roles, **{a: role for a, role in roles.items() if a in r.roles}}
        if new_roles != r.roles:
            key = (tuple(new_roles.items()), r.settings.get("area_cm2"), r.settings.get("thickness_cm"),
                   bool(r.settings.get("symmetric", True)), tuple(r.correl))
            groups.setdefault(key, []).append(k)
    for (role_items, *_, names), members in groups.items():
        new_roles = dict(role_items)
        group = [results[k] for k in members]
        values = {n: np.array([r.values[n] for r in group]) for n in group[0].values}
        covariance = np.array([_reported_covariance(r, names) for r in group]) if names else None
        derived, units = derived_quantities_batch(values, covariance, list(names),
                                                  **derived_settings(definition, new_roles, group[0].settings))
        units_with_lack_of_fit = {**units, LACK_OF_FIT_KEY: LACK_OF_FIT_UNIT}  # one of each for the group
        for j, (k, r) in enumerate(zip(members, group)):
            own = {key: float(v[j]) for key, v in derived.items()}
            own_units = units
            if LACK_OF_FIT_KEY in r.derived:  # not a quantity of the roles
                own[LACK_OF_FIT_KEY], own_units = r.derived[LACK_OF_FIT_KEY], units_with_lack_of_fit
            kept = {key: v for key, v in r.derived.items() if _role_free_key(key)}
            if kept:
                own.update(kept)
                own_units = {**own_units, **{key: r.derived_units.get(key, "") for key in kept}}
            flags = [f for f in r.flags if not (_derived_unresolved_flag(f, r.values) and
                                                not _role_free_key(f.partition(":")[2]))
                     and not f.startswith(f"{PERMITTIVITY_FLAG}:")]
            z_max = float(np.max(np.abs(r.z))) if np.size(r.z) else math.inf
            flags += unresolved_derived_flags(definition, r.values, new_roles, r.settings, flags, own, z_max)
            flags += unphysical_permittivity_flags(own, _derived_arcs(definition.circuit), flags)
            out[k] = r.with_fields(roles=new_roles, derived=_finite_or_nan(own), derived_units=own_units, flags=flags,
                                   intervals=_intervals_with_roles(r, definition, new_roles, flags))
    return out


def _role_free_key(key: str) -> bool:
    """Whether a derived key is one of the quantities that no arc role changes, which
    :func:`with_roles` keeps as they are: the high-frequency intercept's and the arcs' sums
    (:func:`~eisfit.fitting.arc_sums.arc_sum_quantities`), with their stderr and per-area forms."""
    return key.startswith(INTERCEPT_PREFIX) or is_arc_sum_key(key)


def _intervals_with_roles(result: FitResult, definition: CircuitDefinition, roles: Mapping[str, str],
                          flags: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The profile intervals of ``result`` under other arc ``roles``: the parameters' as they
    are, the derived quantities' computed again (:func:`open_derived_intervals`): a role changes
    which quantities an arc has (an electrolyte's conductivity, an interface's ASR per
    interface), and an interval kept under a quantity the roles took away described nothing."""
    intervals = {k: v for k, v in result.intervals.items() if k in result.values}
    return {**intervals, **open_derived_intervals(definition, result.values, roles, result.settings, intervals, flags)}


def _reported_covariance(result: FitResult, names: Sequence[str]) -> np.ndarray:
    """The covariance over ``names`` that ``result``'s stderr and correlations describe."""
    sd = np.array([result.stderr[n] for n in names])
    correl = result.correl
    if isinstance(correl, Correlations):
        corr = correl.over(names)
    else:  # a dict of dicts (a joint fit's, a hand-made result)
        corr = np.array([[1.0 if a == b else correl.get(a, {}).get(b, math.nan) for b in names] for a in names])
    return corr * np.outer(sd, sd)


def _derived_arcs(circ) -> list[Arc]:
    """The arcs that derived quantities are computed for: those of
    :func:`~eisfit.analysis.derived.circuit_arcs`, branch arcs included."""
    return circuit_arcs(circ, branches=True)


def derived_settings(definition: CircuitDefinition, roles: Mapping[str, str],
                     settings: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`~eisfit.analysis.derived.derived_quantities` for a fit:
    the resistances are the R elements and the Zarc and K resistances; the series
    resistances those R in series with the whole circuit (R0, the high-frequency intercept)."""
    circ = definition.circuit
    arcs = _derived_arcs(circ)
    resistors = [e.name for e in circ.elements if e.kind == "R"] + \
        [a.resistor for a in arcs if a.kind in ELEMENT_ARC_KINDS]
    return dict(resistors=resistors, arcs=arcs, roles=dict(roles),
                series_resistors=[r for r in circ.linear_series if r in resistors],
                elements=[(e.name, e.kind) for e in circ.elements if e.kind in ELEMENT_QUANTITY_KINDS],
                area_cm2=settings.get("area_cm2"), thickness_cm=settings.get("thickness_cm"),
                symmetric=bool(settings.get("symmetric", True)))


def _stderr_and_correl(names, cov, cov_names) -> tuple[dict[str, float], Mapping[str, Mapping[str, float]]]:
    """(stderr by name, nan where not free or not known; the :class:`Correlations` of the free
    parameters ``cov_names``, {} without a covariance)."""
    stderr = {n: float("nan") for n in names}
    if cov is None:
        return stderr, {}
    with np.errstate(all="ignore"):  # a parameter without variance (nan)
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    stderr.update(zip(cov_names, sd.tolist()))
    return stderr, Correlations.of_covariance(cov_names, cov)


def spans_range_flags(circ, values: Mapping[str, float], stderr: Mapping[str, float], free: Sequence[str],
                      flags: Sequence[str]) -> list[str]:
    """``stderr-spans-range:<name>`` for each free parameter of ``circ`` with a bounded
    physical range (the elements' default bounds, both finite: the exponents n, alpha, gamma
    of CPE, La, Zarc, TLMQ, 0-1) whose 1-sigma interval covers half of it or more
    (:func:`~eisfit.analysis.quality.stderr_spans_range`) and that no ``large-stderr`` flag
    in ``flags`` names already: a noisy 19-point sweep had printed CPE2_1 0.98804 +- 0.68 as a
    number beside eight undetermined parameters."""
    out = []
    for name, (lower, upper), log in zip(circ.param_names, circ.default_bounds, circ.log_scale):
        if (not log and name in free and f"large-stderr:{name}" not in flags
                and stderr_spans_range(values[name], stderr[name], lower, upper)):
            out.append(f"{SPANS_RANGE_FLAG}:{name}")
    return out


def _has_roles(definition: CircuitDefinition) -> bool:
    return bool(definition.roles) and any(r not in ("arc", "") for r in definition.roles.values())


def _arc_flags(values, arcs, f, z) -> list[str]:
    """``fapex-outside-range`` of the arcs whose apex the data do not close
    (:func:`~eisfit.analysis.derived.closed_apex_range_hz`: outside the fitted range, or within
    half a decade inside an end where -Z'' still rises; an arc with its apex 0.2 decade above
    f_min had read as measured where the DRT called its peak open), ``low-n`` and the
    overlap flags."""
    flags = []
    low, high = closed_apex_range_hz(f, z)
    for a in arcs:
        tau = arc_tau_s(values, a)
        if math.isfinite(tau) and tau > 0:
            fa = 1 / (2 * math.pi * tau)
            if fa < low or fa > high:
                flags.append(f"{APEX_OUTSIDE_RANGE}:{a.capacitive}")
        if a.exponent is not None and values[a.exponent] < LOW_N:
            flags.append(f"low-n:{a.capacitive}")
    flags.extend(_overlap_flags(values, arcs))
    return flags


def _element_apex_flags(values, circ, f) -> list[str]:
    """``fapex-outside-range:<element>`` for a G, Gs or Ws whose apex (largest -Z'') lies above
    f_max (:func:`~eisfit.model.elements.element_apex_hz`): the data hold only its
    low-frequency side, an arc's tail, not the branch that tells a Gerischer or a diffusion
    (a garnet measured to 1 MHz, its bulk arc's apex at ~13 MHz, fitted with
    R0-p(R1,CPE1)-G1: t_G = 47 ns, apex 5.9 MHz, R0 half the intercept)."""
    return [f"{APEX_OUTSIDE_RANGE}:{e.name}" for e in circ.elements if e.kind in APEX_KINDS
            and element_apex_hz(e.kind, [values[n] for n in e.param_names]) > float(np.max(f))]


def _role_class_flags(values, arcs, roles, settings, flags: list[str]) -> list[str]:
    """``capacitance-class:<R>`` for an arc whose effective capacitance does not fit the
    role its circuit definition gives it (:func:`~eisfit.analysis.derived.capacitance_outside_role`):
    a library circuit for a garnet cell fitted to a Li-ion electrode's spectrum calls a
    3.9 F arc the electrolyte. Not for an arc already flagged unresolved."""
    gone = unresolved_names(flags)
    out = []
    for a in arcs:
        if _arc_unresolved(a, gone) or f"{PERMITTIVITY_FLAG}:{a.capacitive}" in flags:
            continue  # an unphysical permittivity says more than the class (and what to check)
        r = values[a.resistor]
        ceff = arc_tau_s(values, a) / r if r > 0 else float("nan")
        if capacitance_outside_role(roles.get(a.resistor, ""), ceff, settings.get("area_cm2"),
                                    settings.get("thickness_cm")):
            out.append(f"capacitance-class:{a.resistor}")
    return out


def _arc_unresolved(arc: Arc, gone: set[str]) -> bool:
    """Whether the resistance or the capacitance of ``arc`` is among the unresolved names ``gone``."""
    return arc.resistor in gone or f"{arc.capacitive}_0" in gone or arc.capacitive in gone


PERMITTIVITY_FLAG = "unphysical-permittivity"
EPS_R_SUFFIX = "_eps_r"


def unphysical_permittivity_flags(derived: Mapping[str, float], arcs: Sequence[Arc],
                                  flags: Sequence[str]) -> list[str]:
    """``unphysical-permittivity:<C or CPE>`` for each electrolyte arc whose relative
    permittivity ``<C>_eps_r`` (C_eff*L/(eps0*A), computed with a thickness and an area) is
    below 1 (:func:`~eisfit.analysis.derived.permittivity_unphysical`): a 1 um thickness
    given for a 300 um pellet read eps_r 0.71 with no flag. Not for an arc flagged unresolved."""
    gone = unresolved_names(flags)
    return [f"{PERMITTIVITY_FLAG}:{a.capacitive}" for a in arcs
            if not _arc_unresolved(a, gone)
            and permittivity_unphysical(derived.get(f"{a.capacitive}{EPS_R_SUFFIX}", math.nan))]


def unresolved_derived_flags(definition: CircuitDefinition, values: Mapping[str, float],
                             roles: Mapping[str, str], settings: Mapping[str, Any], flags: Sequence[str],
                             derived: Mapping[str, float], z_max_ohm: float) -> list[str]:
    """``unresolved:<key>`` for each derived quantity computed from a parameter that ``flags``
    call unresolved and that no flag hides already (:func:`~eisfit.fitting.flags.unresolved_keys`:
    ``unresolved:R1`` hides ``R1_asr_ohm_cm2``): the tau, f_apex and C_eff of a CPE whose arc's
    R ran away (a Randles fit printed CPE1_tau_s = 2.9e190 s and CPE1_ceff_F = 7.7e70 F beside
    ``unresolved:R1``); one flag per key, which hides its ``_stderr`` and the keys it begins
    (``unresolved:CPE1_ceff_F`` hides ``CPE1_ceff_F_per_cm2``). A quantity that takes an
    unresolved resistance only through a sum (a total conductivity, the Re of a Brug
    capacitance: :func:`~eisfit.analysis.derived.quantity_inputs`) is unresolved only when it
    is not determined itself (its stderr unknown or above its value) or the sum runs away
    (:func:`beyond_data`): an R1 of an arc above f_max had given sigma_total from whatever R1
    stopped at; R0 + R1, the intercept, stays determined there and keeps its number.
    ``settings``: the fit's (area_cm2, thickness_cm, symmetric), as the derived quantities'."""
    gone = unresolved_names(flags)
    if not gone:
        return []
    out: list[str] = []
    inputs = quantity_inputs(values, **derived_settings(definition, roles, settings))
    for key, (direct, summed) in inputs.items():
        if key not in derived or unresolved_keys([*flags, *out], [key]):
            continue
        if _semi_infinite_coefficient(key, flags):  # Z0 and tau unresolved, Z0/sqrt(2 tau) not
            error = derived.get(f"{key}_stderr", math.nan)
            if undetermined(derived[key], error) or not error > 0:  # 0: a singular covariance's
                out.append(f"unresolved:{key}")
        elif gone & set(direct):
            out.append(f"unresolved:{key}")
        elif gone & set(summed) and _sum_unresolved(sum(values[r] for r in summed), derived[key],
                                                    derived.get(f"{key}_stderr"), z_max_ohm):
            out.append(f"unresolved:{key}")
    return out


WEIGHT_SPIKE_SHARE = 0.01  # a proportional scale below 1 % of |Z|: that residual weighs 1e4x a modulus weight
WEIGHT_DOMINATED_FLAG = "weight-dominated"


def weight_dominated_flags(weighting: str | None, f: np.ndarray, z: np.ndarray) -> list[str]:
    """``weight-dominated:<f>Hz`` where ``proportional`` weighting (s' = |Z'|, s'' = |Z''| of
    the data) weighs a point's residual as if measured to better than ``WEIGHT_SPIKE_SHARE`` of
    its |Z| (its Z'' or Z' near zero, where the spectrum meets an axis): that point, the one
    named (the smallest scale), decides the fit. R2 173 ohm for a true 400 (|Z''| 4e-5 of |Z|
    at 0.03 Hz): the optimum of that objective (chi-square 38 against 8,609 at the truth),
    whose flags lack-of-fit and at-bound had blamed the circuit."""
    if weighting != "proportional" or not z.size:
        return []
    with np.errstate(all="ignore"):  # the weighting's own scales, as a share of |Z|
        share = np.minimum(*residual_scales(z, "proportional")) / np.abs(z)
    k = int(np.nanargmin(share)) if np.isfinite(share).any() else -1
    return [f"{WEIGHT_DOMINATED_FLAG}:{f[k]:.4g}Hz"] if k >= 0 and share[k] < WEIGHT_SPIKE_SHARE else []


TRADED_RELATIVE_STDERR = 1.0 / 3.0  # an arc R trading with a series R: determined only when zero lies 3 stderr away


def _traded_with_series_flags(circ, values: Mapping[str, float], stderr: Mapping[str, float],
                              flags: Sequence[str], gone: set[str]) -> list[str]:
    """``traded-with-series:<R>`` for the resistance of the process that a series resistance
    flagged ``series-holds-arc`` holds too (:func:`~eisfit.fitting.intercept.intercept_terms`),
    where the trade leaves it undetermined at 3 stderr though not at 1 (its stderr between a
    third of its value and the value, ``TRADED_RELATIVE_STDERR``): a number of it (R1 0.583 +-
    0.32 ohm beside R0 0 +- 0.31, its arc peaking at 2.6 MHz above a 2 MHz f_max) had been
    printed as the arc's resistance, whereas the data measure only R0 + R1. An R1 of 200 +- 1
    ohm beside an R0 of nearly nothing (0 +- 1) is the arc's, whichever way they trade; one
    undetermined by its stderr already needs no second flag."""
    found = intercept_terms(circ, values, flags)
    traded = None if found is None else found.summed[-1]
    if traded is None or traded in gone:
        return []
    value, error = values[traded], stderr.get(traded, math.nan)
    if undetermined(value, error) or not error > TRADED_RELATIVE_STDERR * abs(value):
        return []
    return [f"{TRADED_WITH_SERIES_FLAG}:{traded}"]


def _unresolved_intercept_flags(circ, values: Mapping[str, float], flags: Sequence[str],
                                intercept: Mapping[str, float], z_max_ohm: float) -> list[str]:
    """``unresolved:<key>`` for the intercept quantities (:func:`~eisfit.fitting.intercept.
    intercept_quantities`) of a sum that holds an unresolved resistance and is not determined
    itself (stderr unknown or above its value) or runs away (:func:`beyond_data`), as for a
    total conductivity: a 9-point sweep's R0 + R1 = 321 ohm, above every measured Z' (203-266
    ohm), with no stderr, had been kept in summary.csv beside its unresolved R1."""
    if INTERCEPT_KEY not in intercept:
        return []
    found = intercept_terms(circ, values, flags)
    if found is None or not unresolved_names(flags) & set(found.summed):
        return []
    value = intercept[INTERCEPT_KEY]
    if not _sum_unresolved(value, value, intercept.get(f"{INTERCEPT_KEY}_stderr"), z_max_ohm):
        return []
    return [f"unresolved:{key}" for key in (INTERCEPT_KEY, INTERCEPT_ASR_KEY) if key in intercept]


def _sum_unresolved(total_ohm: float, value: float, stderr: float | None, z_max_ohm: float) -> bool:
    """Whether a quantity that takes an unresolved resistance only through a sum of
    resistances (``total_ohm``) is unresolved itself: the sum runs away (:func:`beyond_data`)
    or the quantity's ``value`` is not determined (its ``stderr`` unknown or above it)."""
    return beyond_data(total_ohm, z_max_ohm) or undetermined(value, stderr)


def _semi_infinite_coefficient(key: str, flags: Sequence[str]) -> bool:
    """Whether ``key`` is the Warburg coefficient of an element flagged ``semi-infinite``."""
    return any(key.startswith(f"{e}{WARBURG_COEFFICIENT_SUFFIX}") for e in flag_details(flags, "semi-infinite"))


def _derived_unresolved_flag(flag: str, values: Mapping[str, float]) -> bool:
    """Whether ``flag`` is an ``unresolved:<key>`` of a derived quantity (no parameter)."""
    kind, _, detail = flag.partition(":")
    return kind == "unresolved" and detail not in values


def _unresolved_element_parameters(names: Sequence[str], flags: Sequence[str]) -> list[str]:
    """``unresolved:<name>`` for each parameter that reads "unresolved" without a flag naming
    it: the other parameters of a flagged element (``unresolved:Wo3_1`` hides ``Wo3_0`` too,
    :func:`~eisfit.fitting.flags.unresolved_keys`), so that every parameter shown
    unresolved is named by a flag."""
    named = unresolved_names(flags)
    return [f"unresolved:{n}" for n in names if n in unresolved_keys(flags, [n]) and n not in named]


STDERR_JUDGEMENTS = ("large-stderr", "profile-stderr", PROFILE_OPEN_FLAG, SPANS_RANGE_FLAG, "multimodal",
                     ARC_NUMBERING_FLAG)  # say no more than unresolved of the same parameter

MULTIMODAL_FLAG = "multimodal"
MULTIMODAL_S2 = 2.0  # another optimum within this many s^2 (s^2 = chisq / dof) of the reported one ...
MULTIMODAL_STDERR = 3.0  # ... that puts a parameter more than this many of its stderr away: multimodal
MULTIMODAL_BARRIER_S2 = 1.0  # ... when the way between the two rises this many s^2 above both (two valleys)
ARC_NUMBERING_S2 = 9.0  # another reading with an arc under another arc's number within this many s^2 (3 sigma)
RENUMBERED_R_FACTOR = 2.0  # an arc "reappears" under another number: its R within this factor ...


def multimodal_flags(names: Sequence[str], values: np.ndarray, stderr: np.ndarray, chisq: float, dof: int,
                     others: Sequence[tuple[float, np.ndarray]]) -> list[str]:
    """``multimodal:<name>`` for each parameter (``names``, ``values`` and their reported
    ``stderr``) that another optimum the solver met (``others``: (chisq, values) pairs, in
    the same parametrisation and arc order) puts more than ``MULTIMODAL_STDERR`` stderr away
    with a chi-square less than ``MULTIMODAL_S2`` s^2 above this one's. Within a quadratic
    valley a point k stderr away costs k^2 s^2 more; an optimum 3 stderr away at under
    2 s^2 is a second valley that the data do not tell from this one, and the stderr (and a
    profile walked from this optimum) do not cover it. A real BioLogic sweep with
    garnet-three-arc: R3 = 2.56 +- 0.08 ohm at one optimum, 0.49 at another 0.9 s^2 away."""
    moved = _moved_parameters(values, stderr, chisq, dof, others, MULTIMODAL_S2)
    return [f"{MULTIMODAL_FLAG}:{n}" for n, m in zip(names, moved) if m]


def _moved_parameters(values: np.ndarray, stderr: np.ndarray, chisq: float, dof: int,
                      others: Sequence[tuple[float, np.ndarray]], margin_s2: float) -> np.ndarray:
    """Which parameters (bool per entry of ``values``, reported ``stderr`` alike) another
    optimum of ``others`` ((chisq, values) pairs, same parametrisation and arc order) with a
    chi-square less than ``margin_s2`` s^2 (s^2 = ``chisq`` / ``dof``) above ``chisq`` puts
    more than ``MULTIMODAL_STDERR`` stderr away."""
    moved = np.zeros(len(values), dtype=bool)
    if dof <= 0 or not math.isfinite(chisq):
        return moved
    s2 = chisq / dof
    for cost, other in others:
        if not (math.isfinite(cost) and cost < chisq + margin_s2 * s2):
            continue
        with np.errstate(all="ignore"):
            apart = np.abs(np.asarray(other, float) - values) > MULTIMODAL_STDERR * stderr
        moved |= apart & np.isfinite(stderr) & (stderr > 0)
    return moved


def renumbered_arcs(groups: Sequence[Sequence[Arc]], values: Mapping[str, float],
                    other: Mapping[str, float]) -> list[tuple[Arc, Arc]]:
    """(arc, slot) pairs of interchangeable arcs (``groups``: arcs of one kind in the
    top-level series chain, whose values a fit orders by time constant) where the arc of
    ``values`` reappears in ``other`` under the number of another arc of its group, ``slot``:
    a resistance within ``RENUMBERED_R_FACTOR`` and a time constant within
    ``ARCS_UNRESOLVED_RATIO`` of its own. With the arcs ordered by time constant in both,
    an arc can change numbers only where another arc of the group crossed it: an arc that
    vanished at one end of the data in ``values`` stands at the other end in ``other``."""
    out = []
    for group in groups:
        for arc in group:
            r, tau = values[arc.resistor], arc_tau_s(values, arc)
            if not (r > 0 and math.isfinite(tau) and tau > 0):
                continue
            for slot in group:
                r_other, tau_other = other[slot.resistor], arc_tau_s(other, slot)
                if slot is not arc and r_other > 0 and math.isfinite(tau_other) and tau_other > 0 \
                        and abs(math.log(r_other / r)) < math.log(RENUMBERED_R_FACTOR) \
                        and abs(math.log(tau_other / tau)) < math.log(ARCS_UNRESOLVED_RATIO):
                    out.append((arc, slot))
    return out


def arc_numbering_flags(names: Sequence[str], values: np.ndarray, chisq: float, dof: int,
                        others: Sequence[tuple[float, np.ndarray]], groups: Sequence[Sequence[Arc]]) -> list[str]:
    """``arc-numbering:<name>`` for each parameter of two arcs whose numbers another reading
    of the data exchanges: an optimum of ``others`` ((chisq, values) pairs over ``names``,
    arcs ordered as ``values``) less than ``ARC_NUMBERING_S2`` s^2 (3 sigma) above ``chisq``
    in which an arc of ``values`` reappears under another arc's number
    (:func:`renumbered_arcs`, arcs of ``groups``): every parameter of the arc and of the arc
    whose number it takes (which arc each is, not a value, is what the data leave open).
    Beside a blocking element (a circuit not finite at DC) one arc of two can vanish at
    either end of the data, the other arc then taking either number: a blocking pellet whose
    interface arc (2,080 ohm, apex 0.32 Hz) lay below the data (f_min 0.69 Hz) was read with
    its bulk arc (241 ohm) as arc 2, "R2 = 238 +- 79 ohm", arc 1 vanishing at 54 kHz; the
    reading with the bulk arc as arc 1 and arc 2 running off at the low end is 3.0 s^2
    higher, beyond ``MULTIMODAL_S2``."""
    if dof <= 0 or not math.isfinite(chisq):
        return []
    current = dict(zip(names, values))
    involved: set[str] = set()
    for cost, other in others:
        if math.isfinite(cost) and cost < chisq + ARC_NUMBERING_S2 * chisq / dof:
            pairs = renumbered_arcs(groups, current, dict(zip(names, other)))
            involved.update(n for pair in pairs for arc in pair for n in arc.param_names)
    return [f"{ARC_NUMBERING_FLAG}:{n}" for n in names if n in involved]


def _without_judgements_of_unresolved(flags: list[str], arcs: list[Arc]) -> list[str]:
    """``flags`` without ``low-n`` of a CPE the data do not resolve, or of an arc whose
    resistance they do not (``low-n:CPE2`` beside ``unresolved:R2``: the n of a runaway arc
    is no measured property), and without ``large-stderr``/``profile-stderr``/``profile-open``/
    ``stderr-spans-range`` of an unresolved parameter (one flag per parameter, the stronger)."""
    names = unresolved_names(flags)
    elements = {n.rsplit("_", 1)[0] for n in names} | names
    elements |= {a.capacitive for a in arcs if a.resistor in elements}

    def judged_away(flag: str) -> bool:
        kind, _, detail = flag.partition(":")
        return (kind == "low-n" and detail in elements) or (kind in STDERR_JUDGEMENTS and detail in names)
    return [f for f in flags if not judged_away(f)]


def _branch_low_n_flags(values, circ, flags: list[str]) -> list[str]:
    """``low-n`` for a CPE in parallel with anything other than one resistor (the double
    layer of a Randles branch p(R-Wo, CPE)...), as for the arcs: a capacitive branch with
    n below 0.6 is no double layer. A CPE in series (a blocking electrode, a diffusion
    tail) is not judged."""
    out = []
    for node in parallels(circ.tree):
        for child in node.children:
            flag = f"low-n:{getattr(child, 'name', '')}"
            if isinstance(child, Leaf) and child.kind == "CPE" and flag not in flags and flag not in out \
                    and values[f"{child.name}_1"] < 0.6:
                out.append(flag)
    return out


RESISTIVE_CPE_N = 0.3  # a series CPE below this exponent (phase < 27 deg) acts as a resistance


def _resistive_series_cpe_flags(values, circ) -> list[str]:
    """``resistive-cpe`` for a CPE in the top-level series chain whose exponent is below
    ``RESISTIVE_CPE_N``: neither a blocking capacitance (n 0.7-1) nor a diffusion tail
    (0.5), it stands in for a resistance (real VersaStudio and BioLogic sweeps fitted with
    ...-CPE3: n 0.04 and 0.06, R0 on its bound of 0, with no word of it)."""
    return [f"resistive-cpe:{node.name}" for node in series_chain(circ.tree)
            if isinstance(node, Leaf) and node.kind == "CPE" and values[f"{node.name}_1"] < RESISTIVE_CPE_N]


ARCS_OVERLAP_RATIO = 10.0  # time constants closer than a decade: the arcs merge into one feature
ARCS_UNRESOLVED_RATIO = 3.0  # closer than half a decade: which arc is which is not identifiable


def _overlap_flags(values, arcs) -> list[str]:
    """Flags for neighbouring arcs (by time constant) whose time constants are close:
    ``arcs-overlap`` (ratio < 10: the arcs merge into one feature, the R split rests on
    the model shape) or
    ``arcs-unresolved`` (ratio < 3: the two arcs can trade labels between spectra)."""
    taus = sorted((arc_tau_s(values, a), a.capacitive) for a in arcs if math.isfinite(arc_tau_s(values, a)))
    out = []
    for (t1, c1), (t2, c2) in zip(taus, taus[1:]):
        if t1 > 0 and t2 / t1 < ARCS_UNRESOLVED_RATIO:
            out.append(f"arcs-unresolved:{c1},{c2}")
        elif t1 > 0 and t2 / t1 < ARCS_OVERLAP_RATIO:
            out.append(f"arcs-overlap:{c1},{c2}")
    return out


def _unmodelled_series_terms(circ, f: np.ndarray, z: np.ndarray, outcome: KKOutcome) -> list[str]:
    """``inductance-in-data:<L>H`` and ``capacitive-tail-in-data:<C>F`` for the series terms
    of the Lin-KK chain that the data hold and the circuit lacks."""
    out = []
    inductance = unmodelled_inductance_H(circ, f, z, outcome.passed, outcome.inductance_H, outcome.noise_level)
    if inductance is not None:
        out.append(f"inductance-in-data:{inductance:.3g}H")
    capacitance = unmodelled_capacitance_F(circ, f, z, outcome.passed, outcome.capacitance_F, outcome.noise_level)
    if capacitance is not None:
        out.append(f"capacitive-tail-in-data:{capacitance:.3g}F")
    return out


def _kk(data: Spectrum) -> KKOutcome:
    """The Lin-KK test of ``data`` (not run when it raises: the KK test only informs a fit;
    it must never stop one)."""
    from ..analysis.kk import kk_tests

    try:  # the batched test, as the engine's: on few points it gives the noise level, no verdict
        return KKOutcome.of(kk_tests(data.frequency, np.asarray(data.z, complex)[None, :], labels=[data.label])[0])
    except Exception:
        return KKOutcome()


def lack_of_fit_flags(ratio: float) -> list[str]:
    """The flag of a fit's lack-of-fit ratio (its RMS relative residual over the data's noise
    level): ``lack-of-fit:X`` (a problem: :func:`~eisfit.analysis.quality.is_lack_of_fit`),
    else ``misfit:X`` (a caution) above ``MISFIT_RATIO``; none below it or for nan."""
    if is_lack_of_fit(ratio):
        return [f"lack-of-fit:{ratio:.1f}"]
    return [f"misfit:{ratio:.2f}"] if ratio > MISFIT_RATIO else []


LACK_OF_FIT_KEY = "lack_of_fit_ratio"
LACK_OF_FIT_UNIT = "dimensionless (RMS relative residual of the fit / Lin-KK noise level)"
LOW_N = 0.6  # a CPE exponent below which an arc reads low-n: no capacitance, a diffusion line or a collapse
UNRESOLVED_R_FACTOR = 100.0  # a resistance (an element's |Z|) above 100 x max |Z| is not informed by the data
UNRESOLVED_TAU_DECADES = 1.0  # a time constant this far outside 1/(2 pi f) of the data
SHORTED_FRACTION = 1e-3  # an element whose |Z| stays below this x min |Z| of the data: nothing (a C/CPE: a short)


def beyond_data(z_ohm: float, z_max_ohm: float) -> bool:
    """Whether an impedance of ``z_ohm`` (a resistance, an element's smallest |Z| over the
    measured band, a sum of resistances) lies beyond what data of largest |Z| ``z_max_ohm``
    can inform: above ``UNRESOLVED_R_FACTOR`` x ``z_max_ohm``."""
    return z_ohm > UNRESOLVED_R_FACTOR * z_max_ohm


PROFILE_ZERO_FRACTION = 0.1  # a 1-sigma profile interval reaching below this x the value reaches zero


def profile_reaches_zero(value: float, interval: Mapping[str, float | bool]) -> bool:
    """Whether the 1-sigma profile-likelihood interval of a positive ``value`` (ohm)
    reaches down to about zero: open below (the walk met no 1-sigma rise before its limit,
    value/1000, or the bound), or its lower end under ``PROFILE_ZERO_FRACTION`` x the
    value. The data then allow the resistance to be nearly nothing at a chi-square within
    s^2 of the optimum: it is not determined, whatever the covariance error says (a real
    BioLogic sweep: R2 = 44.5 ohm, 1 sigma [0.41, 45.7], stderr 44 ohm, 1 % short of
    reading undetermined). A 3-sigma interval open towards zero alone is not enough: on
    hard synthetic spectra it met R1 values within 0.5 % of the truth and 1-sigma
    intervals of +-1.5 % (a second valley, far away, where the arcs trade places)."""
    if not (math.isfinite(value) and value > 0):
        return False
    return bool(interval.get("open_lower_1sigma")) or float(interval["lower_1sigma"]) < PROFILE_ZERO_FRACTION * value


PROFILE_FAR_ABOVE_FACTOR = 10.0  # a 1-sigma profile interval reaching above this x the value: no upper end


def profile_reaches_far_above(value: float, interval: Mapping[str, float | bool]) -> bool:
    """Whether the 1-sigma profile-likelihood interval of a positive ``value`` (ohm) has no
    upper end the data set: open above (the walk met no 1-sigma rise ``MAX_DECADES`` above the
    value, or the bound), or its upper end above ``PROFILE_FAR_ABOVE_FACTOR`` x the value.
    The mirror of :func:`profile_reaches_zero`: the data allow the resistance to be ten times
    larger or more at a chi-square within s^2 of the optimum (an arc beside a blocking
    electrode, its apex below the data, merging into the capacitive line that takes any
    resistance the arc lacks)."""
    if not (math.isfinite(value) and value > 0):
        return False
    return bool(interval.get("open_upper_1sigma")) \
        or float(interval["upper_1sigma"]) > PROFILE_FAR_ABOVE_FACTOR * value


def profile_unresolved_flags(values: Mapping[str, float], intervals: Mapping[str, Mapping[str, float | bool]],
                             flags: Sequence[str] = (), circuit=None, f_min_Hz: float = math.nan) -> list[str]:
    """``unresolved:<name>`` for each profiled resistance whose 1-sigma interval reaches
    zero (:func:`profile_reaches_zero`), or ten times its value (:func:`profile_reaches_far_above`)
    where it is the resistance of an arc at the low end of a circuit not finite at DC
    (:func:`~eisfit.fitting.profile.arcs_at_blocked_low_edge`, ``f_min_Hz`` the lowest fitted
    frequency: a blocking element takes what the arc lacks), and each diffusion time of
    ``circuit`` whose 3-sigma interval is open towards an infinite length
    (:func:`~eisfit.fitting.profile.open_towards_infinite_length`; its Z0 follows it), that
    ``flags`` do not already call unresolved."""
    if not intervals:  # most fits: nothing was profiled
        return []
    named = unresolved_names(flags)
    times = set(diffusion_times(circuit)) if circuit is not None else set()
    blocked = set(arcs_at_blocked_low_edge(circuit, values, f_min_Hz)) if circuit is not None else set()

    def undetermined_by_profile(name: str, iv: Mapping[str, float | bool]) -> bool:
        if name in times:
            return open_towards_infinite_length(iv)
        return profile_reaches_zero(values[name], iv) or (name in blocked and profile_reaches_far_above(values[name], iv))

    return [f"unresolved:{name}" for name, iv in intervals.items()
            if name in values and name not in named and undetermined_by_profile(name, iv)]


def semi_infinite_flags(circ, values: Mapping[str, float], f_min_Hz: float, flags: Sequence[str],
                        moduli: Mapping[str, tuple[float, float]] | None = None,
                        z: np.ndarray | None = None) -> list[str]:
    """``semi-infinite:<element>`` for each finite-length Warburg (Wo, Ws) whose time
    constant ``flags`` call unresolved while its transition 1/(2 pi tau) lies below
    ``DIFFUSION_EDGE_FACTOR`` x the lowest fitted frequency ``f_min_Hz``, and whose Z0 they
    do not call unresolved, or call so only for its value: the element's impedance over the
    measured band (``moduli``, :func:`band_moduli`, with the data ``z``) is neither beyond the
    data nor negligible (:func:`_runaway_or_negligible`), as a Z0 = Aw sqrt(2 tau) that grew
    with tau beyond 100x max|Z| leaves it (tau 1.2e3 s read as 2.5e4 s, Z0 4.0e4 ohm, the
    coefficient 178.9 +- 0.23 for a true 179.1). Over the data the element is the
    semi-infinite Warburg, Z0/sqrt(j w tau), which fixes its coefficient Z0/sqrt(2 tau)
    (Z0 = 200 ohm, tau = 10 s measured down to 1 Hz: Z0 and tau unresolved, the coefficient
    45.4 +- 1.0 ohm*s^-1/2 for a true 44.7; over 30 noise seeds within 2 stderr in 29)."""
    gone = unresolved_names(flags)
    out = []
    for name in diffusion_times(circ):
        element = name.rsplit("_", 1)[0]
        tau = values.get(name, math.nan)
        if name in gone and math.isfinite(tau) and 1.0 / (2.0 * math.pi * tau) < DIFFUSION_EDGE_FACTOR * f_min_Hz \
                and (f"{element}_0" not in gone or _within_data(circ, values, element, moduli, z)):
            out.append(f"semi-infinite:{element}")
    return out


def _within_data(circ, values: Mapping[str, float], element: str,
                 moduli: Mapping[str, tuple[float, float]] | None, z: np.ndarray | None) -> bool:
    """Whether the impedance of ``element`` over the measured band (``moduli``) is neither
    beyond the data ``z`` nor negligible beside them (:func:`_runaway_or_negligible` names
    none of its parameters); False where either is unknown."""
    if moduli is None or z is None or not np.all(np.isfinite(moduli.get(element, (math.nan,)))):
        return False
    modulus = np.abs(z)
    flagged = _runaway_or_negligible(circ, values, moduli, float(np.max(modulus)), float(np.min(modulus)))
    return not {f"{element}_0", f"{element}_1"} & set(flagged)


def unresolved_flags(definition: CircuitDefinition, values: Mapping[str, float], f: np.ndarray,
                     z: np.ndarray, flags: Sequence[str] = (),
                     moduli: Mapping[str, tuple[float, float]] | None = None) -> list[str]:
    """``unresolved:<name>`` for every parameter beyond what the data can inform.

    * a resistance (parameter in ohm) above 100 x the spectrum's max |Z|;
    * a time constant (parameter in s, or an arc's (R Q)^(1/n), flagged on R and Q; on R alone
      where R is beyond the data, the arc then its C or CPE over the band) more than a decade
      outside [1/(2 pi f_max), 1/(2 pi f_min)], or not finite; for the arc of a branch
      p(C|CPE, R-X-...) (a Randles circuit's charge transfer) flagged on its R alone, where that
      R also collapsed (below ``NEGLIGIBLE_ARC_SHARE`` of the circuit's resistances: 2e-4 ohm
      beside arcs of 39 and 66 ohm, its time constant 1e-135 s); its C or CPE, in parallel with
      the rest of the branch, is what the data see (a branch's time constant says little of
      what they see at a low n: p(R1-Wo1,CPE1) with n 0.3 has (R Q)^(1/n) = 2e-8 s, far above
      100 kHz, and every parameter determined);
    * a CPE whose exponent n sits on its lower bound while Q is on a bound (``at-bound``
      in ``flags``): flagged on Q and n;
    * a finite-length Gerischer's phi above ``GS_PHI_SATURATED`` (a plain Gerischer there);
    * an element whose |Z| stays above ``UNRESOLVED_R_FACTOR`` x max |Z| over the measured
      band (a runaway W, Aw = 1.0e304 ohm*s^-1/2 on a real CH Instruments file), with every
      parameter of the branch of a p() that it opens; or, other than a resistance, an element
      whose |Z| stays below ``SHORTED_FRACTION`` x the data's smallest |Z| (a C or CPE that ran
      away: a short the data do not hold; a real BioLogic sweep fitted with R0-p(R1,CPE1)-CPE2
      printed CPE2_0 = 1.0e304 S*s^n), with the other branches of the p() it shorts
      (:func:`_runaway_or_negligible`; ``moduli``: :func:`band_moduli` of ``values`` at ``f``
      when known).
    """
    circ = definition.circuit
    z_max = float(np.max(np.abs(z)))
    tau_lo = 1.0 / (2 * math.pi * float(np.max(f))) / 10**UNRESOLVED_TAU_DECADES
    tau_hi = 1.0 / (2 * math.pi * float(np.min(f))) * 10**UNRESOLVED_TAU_DECADES
    out: list[str] = []

    def add(name: str) -> None:
        if f"unresolved:{name}" not in out:
            out.append(f"unresolved:{name}")

    for name, unit in zip(circ.param_names, circ.param_units):
        v = values[name]
        if unit == "ohm" and beyond_data(v, z_max):
            add(name)
        elif unit == "s" and v > 0 and not tau_lo <= v <= tau_hi:
            add(name)
    for a in circ.arcs:
        tau = arc_tau_s(values, a)
        if not (math.isfinite(tau) and tau_lo <= tau <= tau_hi):  # nan: R*Q overflowed
            add(a.resistor)
            if not _capacitive_alone(a, values, z_max):
                add(f"{a.capacitive}_0" if a.kind == "CPE" else a.capacitive)
    scale = resistance_scale_ohm(circ, values, unresolved_names(out))
    for a in circ.branch_arcs:  # a Randles branch's R that collapsed; its C or CPE, beside the rest, stays
        tau = arc_tau_s(values, a)
        if not (math.isfinite(tau) and tau_lo <= tau <= tau_hi) and values[a.resistor] < NEGLIGIBLE_ARC_SHARE * scale:
            add(a.resistor)
    moduli = band_moduli(circ, values, f) if moduli is None else moduli
    for name in _runaway_or_negligible(circ, values, moduli, z_max, float(np.min(np.abs(z))), out):
        add(name)
    on_bound = {fl.split(":", 1)[1] for fl in flags if fl.startswith("at-bound:")}
    for e in circ.elements:
        if e.kind == "Gs" and gs_phi_saturated(values[e.param_names[2]]):
            add(e.param_names[2])  # tanh(phi) = 1: a plain Gerischer, phi not told by the data
        if e.kind == "CPE":
            q, n = e.param_names
            n_low = definition.bounds[n][0]
            if n in on_bound and q in on_bound and n_low is not None and values[n] <= n_low + 1e-3:
                add(q)
                add(n)
    return out


def _capacitive_alone(arc: Arc, values: Mapping[str, float], z_max_ohm: float) -> bool:
    """Whether the R of ``arc`` ran away (:func:`beyond_data`) and over the data the arc is its
    capacitive element alone, a C or a CPE of n >= ``LOW_N`` (a blocking line), which the data
    still inform: a biosensor's blocking line fitted with R0-p(R1,CPE1) had read Q 1.05e-5 +-
    2.7e-7 and n 0.774 +- 0.005 as unresolved beside R1 = 3e22 ohm. A CPE of lower n there is
    a collapsed arc (n 0.1: a nearly flat resistance of Q 33.5 S*s^n), whose Q stays unresolved;
    a C or CPE that runs away itself is judged by :func:`_runaway_or_negligible`."""
    if arc.kind not in ("C", "CPE") or not beyond_data(values[arc.resistor], z_max_ohm):
        return False
    return arc.kind == "C" or values[f"{arc.capacitive}_1"] >= LOW_N


def band_moduli(circ, values: Mapping[str, float], f: np.ndarray) -> dict[str, tuple[float, float]]:
    """The smallest and largest |Z| (ohm) of each element of ``circ`` (by name) over the
    frequencies ``f`` (Hz), nan where its impedance is not a number."""
    return band_moduli_of_fits(circ, [values], [f])[0]


def band_moduli_of_fits(circ, values: Sequence[Mapping[str, float]],
                        frequencies: Sequence[np.ndarray]) -> list[dict[str, tuple[float, float]]]:
    """:func:`band_moduli` of many fits of ``circ`` (parameter values and frequencies, Hz,
    each fit its own), each element evaluated once for all of them: the elements' functions
    take a column of values per parameter. Shorter frequency lists are padded with their
    last frequency, which moves no smallest or largest |Z|."""
    n = max(np.size(f) for f in frequencies)
    omega = 2 * math.pi * np.array([padded_points(np.asarray(f, float), n) for f in frequencies])
    out: list[dict[str, tuple[float, float]]] = [{} for _ in values]
    for e in circ.elements:
        columns = [np.array([float(v[name]) for v in values])[:, None] for name in e.param_names]
        with np.errstate(all="ignore"):  # a runaway element overflows
            modulus = np.abs(np.broadcast_to(ELEMENTS[e.kind].impedance(omega, *columns), omega.shape))
        for moduli, lo, hi in zip(out, np.min(modulus, axis=1).tolist(), np.max(modulus, axis=1).tolist()):
            moduli[e.name] = (lo, hi)
    return out


def _runaway_or_negligible(circ, values: Mapping[str, float], moduli: Mapping[str, tuple[float, float]],
                           z_max_ohm: float, z_min_ohm: float, named: Sequence[str] = ()) -> list[str]:
    """Parameters an element beyond the data leaves undetermined, judged by the element's
    impedance over the measured frequencies (``moduli``: its smallest and largest |Z| there,
    :func:`band_moduli`):

    * runaway: its smallest |Z| is beyond the data (:func:`beyond_data`: the rule of a
      resistance above ``UNRESOLVED_R_FACTOR`` x ``z_max_ohm``, which it is for an R); as a
      series member of a branch of a p() it opens the branch: every parameter of that branch
      (a Randles branch R1-W1 whose W1 ran to 1.7e23 ohm*s^-1/2, 1.8e19 x max|Z|, printed
      R1 = 22,929 +- 5.9e40 ohm, which the data allow to be anything);
    * negligible, other than a resistance: its largest |Z| is below ``SHORTED_FRACTION`` x
      ``z_min_ohm`` (a |Z| of exactly 0 too, as of a Q so large that it underflows, but not
      where the element's first parameter is 0: absent on its bound, which ``at-bound``
      tells): it is nothing at any measured frequency (a C or CPE whose C or Q ran away: a
      short; a W or L that vanished); as a branch of a p() it shorts the p(): the parameters
      of every other branch of it too (a Randles branch p(CPE2,R2-Wo2) on a real sweep printed
      CPE2_0 = 1.0e14 S*s^n and R2 = 1130 +- 1e38 ohm). A plain R||C arc is mostly left to the
      time-constant rule.

    An element with a parameter flagged in ``named`` (``unresolved:<name>`` flags) is not
    named again: the rest of its parameters follow it (:func:`_unresolved_element_parameters`)."""
    runaway = {name for name, (lo, _) in moduli.items() if beyond_data(lo, z_max_ohm)}
    negligible = set()
    for e in circ.elements:
        hi = moduli[e.name][1]
        absent = hi == 0.0 and values[e.param_names[0]] == 0.0  # on a bound of 0, not a runaway
        if e.kind != "R" and hi < SHORTED_FRACTION * z_min_ohm and not absent:
            negligible.add(e.name)
    flagged = unresolved_names(named)
    out: list[str] = []

    def add(names) -> None:
        out.extend(n for n in names if n not in out)

    for e in circ.elements:
        if e.name in runaway | negligible and not flagged & set(e.param_names):
            add(e.param_names)
    for par in parallels(circ.tree):
        for child in par.children:
            members = child.children if isinstance(child, Series) else (child,)
            if any(isinstance(m, Leaf) and m.name in runaway for m in members):
                add(_param_names(circ, child))  # an open branch
            if isinstance(child, Leaf) and child.name in negligible:
                add(n for sib in par.children if sib is not child for n in _param_names(circ, sib))
    return out


def _param_names(circ, node) -> list[str]:
    """The parameter names of the elements under ``node`` (in the circuit's order)."""
    under = {leaf.name for leaf in leaves(node)}
    return [n for e in circ.elements if e.name in under for n in e.param_names]


def weighting_formula(w: str) -> str:
    """The exact chi-square definition of a weighting scheme, for reports."""
    return {
        "modulus": "chisq = sum(((Z'-Zfit')^2 + (Z''-Zfit'')^2) / |Z|^2), |Z| of the data",
        "modulus-calc": "chisq = sum(((Z'-Zfit')^2 + (Z''-Zfit'')^2) / |Zfit|^2), |Zfit| of the model",
        "proportional": "chisq = sum((Z'-Zfit')^2/Z'^2 + (Z''-Zfit'')^2/Z''^2)",
        "unit": "chisq = sum((Z'-Zfit')^2 + (Z''-Zfit'')^2), ohm^2",
        "sigma": "chisq = sum(((Z'-Zfit')/s')^2 + ((Z''-Zfit'')/s'')^2), user sigma",
    }[w]


def _version() -> str:
    from .. import __version__

    return __version__
