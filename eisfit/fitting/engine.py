"""``eisfit.fit``: one spectrum, one circuit, no initial guess needed.

Pipeline: select points -> guess from the data -> batched multi-start
Levenberg-Marquardt in log space -> polish the best starts -> order arcs by time
constant -> covariance, statistics, flags, derived quantities.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..analysis.derived import ArcSpec, arc_tau_s
from ..errors import FitError
from ..model import Circuit, CircuitDefinition, load_circuit
from ..spectrum import Spectrum
from .guess import base_guess, drt_starts, multistart_guesses, spectrum_features, top_level_arc_groups
from .optimise import Transform, covariance_from_jacobian, levenberg_marquardt, normal_from_residuals
from .assemble import assemble_result, weighting_formula
from .flags import optimum_settled
from .profile import profile_resistances, suspect_resistances
from .result import FitResult
from ..model.weighting import WEIGHTINGS, residual_scales

STAGE1_ITER = 30
STAGE1_PRUNE = 10.0  # starts 10x worse than the best after 8 iterations are abandoned
STAGE1_PRUNE_AFTER = 8
POLISH_ITER = 400
COLLAPSE_DECADES = 12  # how far below its start a log-scale parameter bounded by 0 may go
POLISH_TOL = 1e-10  # relative cost decrease / step at which the polish stops
N_POLISH = 5
PROFILE_WIDER = 1.05  # the profile replaces the Wald error when its half-width is this much wider


@dataclass(frozen=True)
class _Problem:
    """A prepared fit: data, circuit, free/fixed split and internal transform."""

    circuit: Circuit
    frequency: np.ndarray
    z: np.ndarray
    scales: tuple[np.ndarray, np.ndarray]
    weighting: str
    free: np.ndarray  # indices of free parameters
    fixed_values: np.ndarray  # full-length vector with fixed values filled in
    transform: Transform  # over free parameters

    def full(self, p_free: np.ndarray) -> np.ndarray:
        k = p_free.shape[0]
        p = np.broadcast_to(self.fixed_values, (k, self.fixed_values.size)).copy()
        p[:, self.free] = p_free
        return p

    def model_and_jacobian(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model Z (K, N) and its Jacobian with respect to the internal coordinates (K, N, Mf)."""
        p_free = self.transform.to_physical(theta)
        with np.errstate(all="ignore"):
            zm, dz = self.circuit.impedance_and_jacobian(self.full(p_free), self.frequency)
            if self.free.size != dz.shape[2]:
                dz = dz[:, :, self.free]
            dz *= self.transform.dp_dtheta(p_free)[:, None, :]
        return zm, dz

    def residuals_and_jacobian(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted residuals (K, 2N) and their Jacobian in internal coordinates (K, 2N, Mf)."""
        zm, dz = self.model_and_jacobian(theta)
        with np.errstate(all="ignore"):
            return weighted_residuals(self.z, zm, dz, self.scales, self.weighting)

    def normal_equations(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(chisq, J^T J, J^T r) per row of ``theta``: what the optimiser needs."""
        zm, dz = self.model_and_jacobian(theta)
        with np.errstate(all="ignore"):
            return normal_equations(self.z, zm, dz, self.scales, self.weighting)


def normal_equations(z: np.ndarray, zm: np.ndarray, dz: np.ndarray,
                     scales: tuple[np.ndarray, np.ndarray], weighting: str):
    """Gauss-Newton normal equations of the weighted complex residuals.

    When the real and imaginary parts share one scale s (modulus, unit, real sigma),
    J^T J = Re(Jw^H Jw) and J^T r = -Re(Jw^H dw) with Jw = dZ/s and dw = (Z - Zm)/s, which
    halves the memory traffic of the stacked real form; otherwise (proportional,
    boukamp) the stacked form is used.
    """
    sr, si = scales
    if weighting == "boukamp" or not (sr is si or np.array_equal(sr, si)):
        return normal_from_residuals(*weighted_residuals(z, zm, dz, scales, weighting))
    inv = 1.0 / sr
    dw = (z - zm) * inv
    jw = dz * inv[..., None]
    jh = jw.conj().transpose(0, 2, 1)
    cost = np.einsum("kn,kn->k", dw.real, dw.real) + np.einsum("kn,kn->k", dw.imag, dw.imag)
    return cost, (jh @ jw).real, -(jh @ dw[:, :, None])[:, :, 0].real


def weighted_residuals(z: np.ndarray, zm: np.ndarray, dz: np.ndarray,
                       scales: tuple[np.ndarray, np.ndarray], weighting: str) -> tuple[np.ndarray, np.ndarray]:
    """Stacked weighted residuals and Jacobian: scaled by the model modulus for
    ``boukamp``, by ``scales`` otherwise."""
    if weighting == "boukamp":
        return _boukamp_residuals(z, zm, dz)
    return stacked_residuals(z, zm, dz, scales)


def stacked_residuals(z: np.ndarray, zm: np.ndarray, dz: np.ndarray,
                      scales: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Weighted residuals [(Z'-Zm')/s', (Z''-Zm'')/s''] (K, 2N) and their Jacobian (K, 2N, M)
    from the model ``zm`` (K, N) and its Jacobian ``dz`` (K, N, M); the scales are (N,) or
    (K, N). Written into preallocated arrays (no concatenation copies)."""
    k, n, m = dz.shape
    sr, si = scales
    d = z - zm
    r = np.empty((k, 2 * n))
    np.divide(d.real, sr, out=r[:, :n])
    np.divide(d.imag, si, out=r[:, n:])
    jac = np.empty((k, 2 * n, m))
    np.divide(dz.real, -sr[..., None], out=jac[:, :n])
    np.divide(dz.imag, -si[..., None], out=jac[:, n:])
    return r, jac


def _boukamp_residuals(z, zm, dz):
    """Residuals scaled by the model modulus |Zfit| and their exact Jacobian."""
    mod = np.maximum(np.abs(zm), 1e-300)
    d = z - zm
    r = np.concatenate([d.real / mod, d.imag / mod], axis=1)
    dmod = np.real(np.conj(zm)[:, :, None] * dz) / mod[:, :, None]
    jr = (-dz.real * mod[:, :, None] - d.real[:, :, None] * dmod) / mod[:, :, None] ** 2
    ji = (-dz.imag * mod[:, :, None] - d.imag[:, :, None] * dmod) / mod[:, :, None] ** 2
    return r, np.concatenate([jr, ji], axis=1)


def fit(
    spectrum: Spectrum,
    circuit: str | CircuitDefinition | Circuit = "garnet-symmetric",
    *,
    area_cm2: float | None = None,
    thickness_cm: float | None = None,
    symmetric: bool = True,
    weighting: str = "modulus",
    sigma: Any = None,
    fmin: float | None = None,
    fmax: float | None = None,
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
    spectrum : the data (Hz, complex ohm, Z'' < 0 capacitive).
    circuit : a library name (``eisfit circuits``), a circuit string in impedance.py
        notation (``"R0-p(R1,CPE1)-p(R2,CPE2)"``), a .toml definition file, or a
        :class:`~eisfit.model.CircuitDefinition`.
    area_cm2 : electrode contact area, cm2; enables ASR (ohm*cm2) and conductivity.
    thickness_cm : electrolyte thickness L, cm; with the area gives sigma = L/(R*A), S/cm.
    symmetric : symmetric cell (two identical interfaces in series): interface ASR is
        also reported per interface (R*A/2).
    weighting : ``modulus`` (default), ``boukamp``, ``proportional``, ``unit``, or
        ``sigma`` with ``sigma=`` standard deviations (ohm).
    fmin, fmax : frequency window, Hz.
    drop_inductive : drop points with Z'' > 0; ``"auto"`` drops them only when the
        circuit has no inductor (the count goes into the flags).
    initial : starting values by parameter name (others from the automatic guess), or a
        previous :class:`FitResult` of the same circuit.
    fixed : parameters held at the given values.
    bounds : (lower, upper) per parameter name, overriding the circuit definition.
    expr : lmfit expressions tying parameters (e.g. ``{"CPE2_1": "CPE1_1"}``); uses
        the lmfit engine.
    starts : ``"auto"`` = data guess (and ``initial``) plus a multi-start grid;
        an integer limits the number of starts; 1 = local refinement from ``initial``
        (or the data guess) only.
    engine : ``"fast"`` (batched analytic-Jacobian Levenberg-Marquardt) or ``"lmfit"``
        (the best start polished by ``lmfit.minimize``; same optimum, slower).
    kk : run the Lin-KK test on the fitted points and flag a failure.
    order_arcs : after the fit, order interchangeable arcs by time constant so that
        R1 is always the faster arc.
    guess : ``"auto"`` (data guess from the -Z'' apexes plus the multi-start grid) or
        ``"drt"``: also start from the peaks of the DRT of the data (time constants,
        areas as arc resistances; :func:`eisfit.fitting.guess.drt_starts`), ~5-20 ms more.
        Ignored with ``starts=1``.
    profile : profile-likelihood errors for arc resistances (:mod:`eisfit.fitting.profile`).
        ``"auto"`` (default): only where the covariance error is suspect (an arc parameter
        on a bound or with stderr > value, or arcs within a decade in time constant); the
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
    prep = _prepare(spectrum, circuit, area_cm2=area_cm2, thickness_cm=thickness_cm,
                    symmetric=symmetric, weighting=weighting, sigma=sigma, fmin=fmin, fmax=fmax,
                    drop_inductive=drop_inductive, initial=initial, fixed=fixed, bounds=bounds,
                    expr=expr, starts=starts, engine=engine, guess_mode=guess, profile=profile)
    if prep.uses_lmfit:
        p_best, converged, _ = _solve_lmfit(prep.problem, prep.start_list, prep.lower, prep.upper,
                                            prep.expr, prep.names)
    else:
        p_best, converged, _ = _solve_fast(prep.problem, prep.start_list)
    return _finish(prep, p_best, converged, kk=kk, order_arcs=order_arcs)


@dataclass
class _Prepared:
    """Everything between the arguments of :func:`fit` and the solver (one spectrum)."""

    definition: CircuitDefinition
    data: Spectrum
    problem: _Problem
    start_list: list[dict[str, float]]
    lower: np.ndarray
    upper: np.ndarray
    fixed: dict[str, float]
    expr: dict[str, str]
    flags: list[str]
    settings: dict[str, Any]
    initial: Mapping[str, float] | None
    fit_lower: np.ndarray  # lower bounds the optimiser uses (log-scale zero bounds lifted)

    @property
    def names(self) -> list[str]:
        return self.definition.circuit.param_names

    @property
    def uses_lmfit(self) -> bool:
        return bool(self.expr) or self.settings["engine"] == "lmfit"


def _prepare(spectrum, circuit, *, area_cm2, thickness_cm, symmetric, weighting, sigma, fmin, fmax,
             drop_inductive, initial, fixed, bounds, expr, starts, engine,
             guess_mode: str = "auto", profile: bool | str = "auto") -> _Prepared:
    """Validate the arguments of :func:`fit`, select the points and build the problem and starts."""
    if not isinstance(spectrum, Spectrum):
        raise FitError(f"fit() needs an eisfit.Spectrum, got {type(spectrum).__name__}")
    definition = _definition(circuit)
    circ = definition.circuit
    names = circ.param_names
    if isinstance(initial, FitResult):  # a previous fit as the starting point
        initial = dict(initial.values)
    _check_names(names, initial, "initial")
    _check_names(names, fixed, "fixed")
    _check_names(names, bounds, "bounds")
    _check_names(names, expr, "expr")
    if weighting not in WEIGHTINGS:
        raise FitError(f"unknown weighting {weighting!r}; use one of {', '.join(WEIGHTINGS)}")
    for label, v in (("area_cm2", area_cm2), ("thickness_cm", thickness_cm)):
        if v is not None and not (np.isfinite(v) and v > 0):
            raise FitError(f"{label} must be a positive number, got {v!r}")
    if engine not in ("fast", "lmfit"):
        raise FitError(f"unknown engine {engine!r}; use 'fast' or 'lmfit'")
    if guess_mode not in ("auto", "drt"):
        raise FitError(f"unknown guess {guess_mode!r}; use 'auto' or 'drt'")
    if profile not in ("auto", True, False):
        raise FitError(f"profile must be 'auto', True or False, got {profile!r}")

    flags: list[str] = []
    data, sig = _select_points(spectrum, circ, fmin, fmax, drop_inductive, sigma, flags)
    f, z = data.frequency, data.z
    lower, upper = _bounds(definition, bounds)
    fixed = dict(fixed or {})
    for name, val in fixed.items():
        if not np.isfinite(val):
            raise FitError(f"fixed value of {name} must be finite, got {val!r}")
    free = np.array([i for i, n in enumerate(names) if n not in fixed and n not in (expr or {})], dtype=int)
    n_res = 2 * f.size
    if free.size >= n_res:
        raise FitError(
            f"{spectrum.label}: {free.size} free parameters but only {f.size} points "
            f"({n_res} real residuals) in the selected range")

    feats = spectrum_features(f, z)
    guess = base_guess(circ, feats)
    anchor = np.array([abs(guess[n]) for n in names], float)  # from the data only
    guess.update({k: float(v) for k, v in (initial or {}).items()})
    guess.update(fixed)
    fixed_vec = np.array([guess[n] for n in names], float)
    log_mask = np.array(circ.log_scale, bool) & (lower >= 0)
    # In log space a scale parameter bounded below by 0 could fall without limit (1e-300 ohm);
    # it may fall COLLAPSE_DECADES below its data-derived guess (the same floor whatever the
    # start, so seeded and cold fits agree), and ending there reads as "at-bound".
    floor = np.where(log_mask & (lower <= 0), anchor * 10.0 ** -COLLAPSE_DECADES, lower)
    transform = Transform(log_mask[free], floor[free], upper[free])
    scales = residual_scales(z, weighting if weighting != "boukamp" else "modulus", sig)
    problem = _Problem(circ, f, z, scales, weighting, free, fixed_vec, transform)

    start_list = _start_list(circ, feats, guess, initial, fixed, starts)
    if guess_mode == "drt" and len(start_list) > 1:  # issue 8: DRT-seeded starts after the first
        extra = [{**s, **fixed} for s in drt_starts(circ, guess, f, z, weighting, sig)]
        start_list[1:1] = extra
        if isinstance(starts, int):
            del start_list[starts:]
    settings = {
        "weighting": weighting if sig is None else "sigma",
        "weighting_formula": weighting_formula(weighting if sig is None else "sigma"),
        "area_cm2": area_cm2, "thickness_cm": thickness_cm, "symmetric": bool(symmetric),
        "fmin_Hz": fmin, "fmax_Hz": fmax, "drop_inductive": drop_inductive,
        "initial": {k: float(v) for k, v in (initial or {}).items()},
        "fixed": {k: float(v) for k, v in fixed.items()}, "expr": dict(expr or {}),
        "bounds": {n: (float(lower[i]), float(upper[i])) for i, n in enumerate(names)},
        "starts": starts, "engine": "lmfit" if (expr or engine == "lmfit") else "fast",
        "profile": profile,
        **({"guess": guess_mode} if guess_mode != "auto" else {}),
    }
    return _Prepared(definition, data, problem, start_list, lower, upper, fixed, dict(expr or {}),
                     flags, settings, initial, floor)


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
            kk_outcome: tuple[bool | None, float | None] | None = None,
            may_repolish: bool = True, p_final: np.ndarray | None = None) -> FitResult:
    """Statistics, covariance, flags and the FitResult at the solver's optimum.

    ``covariance`` = (cov, singular, chisq), ``derived`` and ``kk_outcome`` may be
    precomputed by the batched path (:mod:`eisfit.fitting.batch`); they are computed here
    otherwise (as is ``p_final``, the values after arc ordering). When the profile of a
    resistance meets a lower chi-square than the solver's optimum, the fit is polished from
    there and finished again (once).
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
    at_bound = [names[i] for i in _at_bound(p_final, prep.fit_lower, prep.upper, free)]
    flags.extend(f"at-bound:{n}" for n in at_bound)
    # Parameters at a bound stay in the covariance: dropping them would report the
    # (too small) conditional uncertainty of the others. The flag says they are at a bound.
    if singular:
        flags.append("singular-covariance")
        cov = None
    intervals: dict[str, dict] = {}
    if cov is not None and prep.settings.get("profile", "auto") and not prep.uses_lmfit:
        better, profiled_cov, intervals, profile_flags = _profile_uncertainty(prep, p_final, cov, chisq, at_bound)
        if better is not None and may_repolish:
            p_new, polished = _polish_from(problem, better)
            return _finish(prep, p_new, converged and polished, kk=kk, order_arcs=order_arcs,
                           kk_outcome=kk_outcome, may_repolish=False)
        if profiled_cov is not cov:
            cov, derived = profiled_cov, None  # derived errors follow the widened covariance
        flags.extend(profile_flags)
    if not converged:  # issue 13: stopped on the iteration limit, but nothing left to gain?
        theta = problem.transform.to_internal(p_final[free])[None, :]
        r, jac = problem.residuals_and_jacobian(theta)
        converged = optimum_settled(r[0], jac[0], np.isin(free, _at_bound(p_final, prep.fit_lower, prep.upper, free)))
    if not converged:
        flags.append("not-converged")
    return assemble_result(
        prep.data, prep.definition, dict(zip(names, p_final)), covariance=cov,
        cov_names=[names[i] for i in free], chisq=chisq, n_free=int(free.size), converged=converged,
        flags=flags, settings=prep.settings, fixed_names=sorted(set(prep.fixed) | set(prep.expr)),
        kk=kk, start="initial" if prep.initial else "auto", n_starts=len(prep.start_list),
        derived=derived, kk_outcome=kk_outcome, intervals=intervals)


def _profile_uncertainty(prep: _Prepared, p_final: np.ndarray, cov: np.ndarray, chisq: float,
                         at_bound: list[str]):
    """Profile-likelihood check of the arc resistances (see :mod:`eisfit.fitting.profile`).

    Returns (a better parameter vector or None, covariance with the rows/columns of
    resistances whose profile interval is wider than the Wald error scaled up (correlations
    kept), the intervals as dicts, flags).
    """
    problem = prep.problem
    names = prep.names
    free_names = [names[i] for i in problem.free]
    wald = {n: float(math.sqrt(max(cov[k, k], 0.0))) for k, n in enumerate(free_names)}
    log_free = [n for k, n in enumerate(free_names)
                if problem.transform.log_mask[k] and p_final[problem.free[k]] > 0]
    values = dict(zip(names, p_final))
    circ = problem.circuit
    if prep.settings.get("profile") == "auto":
        targets = suspect_resistances(circ, values, wald, at_bound, log_free)
    else:
        targets = [a.resistor for a in circ.arcs if a.resistor in log_free]
    if not targets:
        return None, cov, {}, []
    outcome = profile_resistances(problem, p_final, chisq, targets, wald)
    if outcome.better is not None:
        return outcome.better, cov, {}, []
    cov = cov.copy()
    intervals, flags = {}, []
    for name, iv in outcome.intervals.items():
        intervals[name] = iv.as_dict()
        width, k = iv.equivalent_stderr(values[name]), free_names.index(name)
        if wald[name] > 0 and width > PROFILE_WIDER * wald[name]:
            ratio = width / wald[name]
            cov[k, :] *= ratio
            cov[:, k] *= ratio
            flags.append(f"profile-stderr:{name}")
    return None, cov, intervals, flags


def _polish_from(problem: _Problem, p_full: np.ndarray) -> tuple[np.ndarray, bool]:
    """Local Levenberg-Marquardt from one full parameter vector (all free parameters)."""
    theta0 = problem.transform.clip_internal(problem.transform.to_internal(p_full[problem.free]))[None, :]
    out = levenberg_marquardt(problem.normal_equations, theta0, problem.transform.internal_lower,
                              problem.transform.internal_upper, max_iter=POLISH_ITER, ftol=POLISH_TOL,
                              xtol=POLISH_TOL)
    p = problem.fixed_values.copy()
    p[problem.free] = problem.transform.to_physical(out.theta[0])
    return p, bool(out.converged[0])


def _covariance_at(problem: _Problem, p_final: np.ndarray) -> tuple[np.ndarray | None, bool, float]:
    """(covariance over the free parameters or None, singular, chisq) at ``p_final``."""
    free, transform = problem.free, problem.transform
    theta = transform.to_internal(p_final[free])[None, :]
    r, jac_int = problem.residuals_and_jacobian(theta)
    chisq = float(np.sum(r[0] ** 2))
    jac_phys = jac_int[0] / transform.dp_dtheta(p_final[free])
    cov, singular = covariance_from_jacobian(jac_phys, chisq, 2 * problem.frequency.size)
    return cov, singular, chisq


# --------------------------------------------------------------------------- helpers
def _definition(circuit) -> CircuitDefinition:
    if isinstance(circuit, CircuitDefinition):
        return circuit
    if isinstance(circuit, Circuit):
        return load_circuit(circuit.string)
    return load_circuit(circuit)


def _check_names(names: list[str], given: Mapping | None, what: str) -> None:
    unknown = sorted(set(given or {}) - set(names))
    if unknown:
        raise FitError(f"{what}: unknown parameter(s) {', '.join(unknown)}; the circuit has {', '.join(names)}")


def _select_points(spectrum, circ, fmin, fmax, drop_inductive, sigma, flags):
    data = spectrum.crop(fmin, fmax) if (fmin is not None or fmax is not None) else spectrum
    sig = None if sigma is None else np.asarray(sigma)
    if sig is not None and sig.shape != (len(spectrum),):
        raise FitError(f"sigma has {sig.size} values, the spectrum has {len(spectrum)} points")
    if sig is not None and data is not spectrum:
        sig = sig[np.isin(np.flatnonzero(spectrum.mask), np.flatnonzero(data.mask))]
    has_inductor = any(e.kind in ("L", "La") for e in circ.elements)
    drop = (drop_inductive == "auto" and not has_inductor) or drop_inductive is True
    if drop:
        keep = ~_inductive_high_frequency_run(data.frequency, data.z)
        n_drop = int((~keep).sum())
        # issue 13: a run whose Z'' stays within 1 % of |Z| is noise around Z'' = 0, not a lead inductance
        if n_drop and keep.sum() >= 3 and np.max(data.z.imag[~keep] / np.abs(data.z[~keep])) > 0.01:
            data = data.select(keep)
            sig = None if sig is None else sig[keep]
            flags.append(f"dropped-inductive-points:{n_drop}")
    return data, sig


def _inductive_high_frequency_run(f: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Mask of the points with Z'' > 0 that form a contiguous run from the highest
    frequency down (cable inductance); isolated noisy points mid-spectrum are kept."""
    order = np.argsort(-f)
    mask = np.zeros(f.size, dtype=bool)
    for i in order:
        if z.imag[i] <= 0:
            break
        mask[i] = True
    return mask


def _bounds(definition: CircuitDefinition, user: Mapping | None) -> tuple[np.ndarray, np.ndarray]:
    names = definition.circuit.param_names
    lo = np.empty(len(names))
    hi = np.empty(len(names))
    for i, n in enumerate(names):
        b = (user or {}).get(n, definition.bounds[n])
        lo[i] = -np.inf if b[0] is None else float(b[0])
        hi[i] = np.inf if b[1] is None else float(b[1])
        if not lo[i] < hi[i]:
            raise FitError(f"bounds of {n}: lower {lo[i]} must be below upper {hi[i]}")
    return lo, hi


def _start_list(circ, feats, guess, initial, fixed, starts) -> list[dict[str, float]]:
    if starts == 1 or starts == "initial":
        return [guess]
    if isinstance(starts, int):
        if starts < 1:
            raise FitError(f"starts must be >= 1 or 'auto', got {starts}")
    elif starts != "auto":
        raise FitError(f"starts must be an integer or 'auto', got {starts!r}")
    # the first start is ``guess`` itself: the data guess with the user's initial values
    grid = multistart_guesses(circ, feats, guess, n_starts=None if starts == "auto" else starts)
    for s in grid:
        s.update(fixed)
    return grid[:starts] if isinstance(starts, int) else grid


def _solve_fast(problem: _Problem, start_list) -> tuple[np.ndarray, bool, int]:
    names = problem.circuit.param_names
    p0 = np.array([[s[n] for n in names] for s in start_list])[:, problem.free]
    theta0 = problem.transform.clip_internal(problem.transform.to_internal(p0))
    lo, hi = problem.transform.internal_lower, problem.transform.internal_upper
    if len(start_list) > 1:
        stage1 = levenberg_marquardt(problem.normal_equations, theta0, lo, hi, max_iter=STAGE1_ITER,
                                     ftol=1e-6, prune_factor=STAGE1_PRUNE, prune_after=STAGE1_PRUNE_AFTER)
        best = _distinct_best(stage1.theta, stage1.cost, N_POLISH)
        theta0 = stage1.theta[best]
    out = levenberg_marquardt(problem.normal_equations, theta0, lo, hi, max_iter=POLISH_ITER,
                              ftol=POLISH_TOL, xtol=POLISH_TOL, prune_factor=1.5 if theta0.shape[0] > 1 else None)
    k = int(np.argmin(out.cost))
    p = problem.fixed_values.copy()
    p[problem.free] = problem.transform.to_physical(out.theta[k])
    return p, bool(out.converged[k]), int(out.n_iter[k])


def _distinct_best(theta: np.ndarray, cost: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n lowest-cost starts that are not duplicates of each other."""
    order = np.argsort(cost)
    chosen: list[int] = []
    for i in order:
        if not np.isfinite(cost[i]):
            break
        if all(np.max(np.abs(theta[i] - theta[j])) > 1e-3 for j in chosen):
            chosen.append(int(i))
        if len(chosen) == n:
            break
    return np.array(chosen or [int(order[0])])


def _solve_lmfit(problem: _Problem, start_list, lower, upper, expr, names) -> tuple[np.ndarray, bool, int]:
    """Multi-start stage with the fast engine, then lmfit.minimize (leastsq) from the best start."""
    import lmfit

    if len(start_list) > 1 and not expr:
        p_start, _, _ = _solve_fast(problem, start_list)
    else:
        p_start = np.array([start_list[0][n] for n in names])
    params = lmfit.Parameters()
    circ = problem.circuit
    log_mask = np.array(circ.log_scale, bool) & (lower >= 0)
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
        zm = circ.impedance(p, problem.frequency)
        if problem.weighting == "boukamp":
            m = np.abs(zm)
            return np.concatenate([(problem.z - zm).real / m, (problem.z - zm).imag / m])
        d = problem.z - zm
        return np.concatenate([d.real / sr, d.imag / si])

    res = lmfit.minimize(residual, params, method="leastsq", max_nfev=20000)
    p = np.array([res.params[n].value for n in names])
    return p, bool(res.success), int(res.nfev)


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
    kind and no fixed or tied parameter; a reordering that would put a value outside
    the bounds of its new parameter is not made (the fit stays feasible).
    """
    arcs = circ.arcs
    index = {n: i for i, n in enumerate(circ.param_names)}
    out = dict(values)
    for group in _arc_groups(circ):
        members = [arcs[i] for i in group]
        params = [_arc_params(a) for a in members]
        if any(p in (fixed or {}) or p in (expr or {}) for ps in params for p in ps):
            continue
        taus = [arc_tau_s(values, ArcSpec(a.resistor, a.capacitive, a.kind)) for a in members]
        order = sorted(range(len(members)), key=lambda k: (math.isnan(taus[k]), taus[k]))
        moved = {pd: values[ps] for dst, src in zip(params, [params[k] for k in order])
                 for pd, ps in zip(dst, src)}
        if all(lower[index[p]] <= v <= upper[index[p]] for p, v in moved.items()):
            out.update(moved)
    return out


_ARC_GROUPS: dict[str, list[list[int]]] = {}


def _arc_groups(circ: Circuit) -> list[list[int]]:
    """``top_level_arc_groups`` of a circuit, computed once per circuit string."""
    groups = _ARC_GROUPS.get(circ.string)
    if groups is None:
        groups = _ARC_GROUPS[circ.string] = top_level_arc_groups(circ.tree, circ.arcs)
    return groups


def _arc_params(arc) -> list[str]:
    if arc.kind == "CPE":
        return [arc.resistor, f"{arc.capacitive}_0", f"{arc.capacitive}_1"]
    return [arc.resistor, arc.capacitive]


def _at_bound(p: np.ndarray, lower: np.ndarray, upper: np.ndarray, free: np.ndarray) -> list[int]:
    """Free parameters on a bound (within 1e-6, relative to the bound or to the span)."""
    out = []
    for i in free:
        span = upper[i] - lower[i]
        tol = 1e-6 * (span if np.isfinite(span) else max(abs(p[i]), 1.0))
        low = lower[i] * (1 + 1e-6) if lower[i] > 0 else lower[i] + tol
        high = upper[i] - tol
        if (np.isfinite(lower[i]) and p[i] <= low) or (np.isfinite(upper[i]) and p[i] >= high):
            out.append(int(i))
    return out


