"""Many spectra at once: batched fits, seeded chains and streaming to a summary CSV.

:func:`fit_batch` gives the same results as calling :func:`eisfit.fit` on every
spectrum (same starts, same Levenberg-Marquardt path per start, same flags) but
solves all spectra x all starts that share a frequency grid as one batched problem:
stage 1 (all starts of all spectra), the polish of each spectrum's best distinct
starts, the covariance (batched SVD), the derived quantities (vectorised delta
method) and the Kramers-Kronig test (one design matrix per chain length for the
whole batch) are each one vectorised step instead of a Python loop.

:func:`fit_chain` is the fast equivalent of a campaign's seeded chain (see its
docstring for how it relates to :func:`eisfit.fit_campaign`), and :func:`fit_stream`
fits an iterable of spectra or files in chunks, optionally over processes, appending
rows to a CSV file and keeping only a bounded window of spectra in memory.
"""
from __future__ import annotations

import csv
import dataclasses
import math
import multiprocessing
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from ..analysis.derived import derived_quantities_batch
from ..model import Circuit, CircuitDefinition
from ..spectrum import Spectrum
from .assemble import derived_settings, result_roles
from .engine import (N_POLISH, POLISH_ITER, POLISH_TOL, STAGE1_ITER, STAGE1_PRUNE, STAGE1_PRUNE_AFTER, _distinct_best,
                     _finish, _final_values, _Prepared, _prepare, normal_equations, weighted_residuals)
from .optimise import levenberg_marquardt
from .result import FitResult

__all__ = ["fit_batch", "fit_chain", "fit_stream", "summary_row", "ChainResult", "StreamSummary"]

MAX_PROBLEMS = 2048  # LM problems (spectra x starts) per batched call: ~20 MB of Jacobians
CHISQ_TIE_RTOL = 1e-6  # as the campaign runner: a seeded fit must beat the cold one by more
SEED_RTOL = 1e-6  # a chain position is refitted when its seed moved by more than this (relative)


# ============================================================================ fit_batch
def fit_batch(
    spectra: Sequence[Spectrum],
    circuit: str | CircuitDefinition | Circuit = "garnet-symmetric",
    *,
    initial: Mapping[str, float] | Sequence[Mapping[str, float] | None] | None = None,
    starts: int | str = "auto",
    weighting: str = "modulus",
    area_cm2: float | None = None,
    thickness_cm: float | None = None,
    symmetric: bool = True,
    fmin: float | None = None,
    fmax: float | None = None,
    drop_inductive: bool | str = "auto",
    fixed: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    kk: bool = True,
    order_arcs: bool = True,
    profile: bool | str = "auto",
) -> list[FitResult]:
    """Fit ``circuit`` to every spectrum; same results as :func:`eisfit.fit` per spectrum.

    Parameters are those of :func:`eisfit.fit` (frequencies in Hz, area in cm2,
    thickness in cm), except ``initial``: one mapping for all spectra, or a sequence
    with one mapping (or None) per spectrum, e.g. the previous checkpoint's values.
    Spectra whose selected frequency grids are equal are solved together; each grid is
    its own batch. Raises :class:`~eisfit.FitError` where :func:`eisfit.fit` would.
    """
    spectra = list(spectra)
    inits = _per_spectrum(initial, len(spectra))
    prepare = _preparer(circuit, dict(area_cm2=area_cm2, thickness_cm=thickness_cm, symmetric=symmetric,
                                      weighting=weighting, fmin=fmin, fmax=fmax, drop_inductive=drop_inductive,
                                      fixed=fixed, bounds=bounds, profile=profile))
    preps = [prepare(s, init, starts) for s, init in zip(spectra, inits)]
    if not preps:
        return []
    p_best, converged, _ = _solve_many(preps)
    return _assemble_many(preps, p_best, converged, kk=kk, order_arcs=order_arcs)


def _per_spectrum(initial, n: int) -> list[Mapping[str, float] | None]:
    if initial is None or isinstance(initial, Mapping):
        return [initial] * n
    out = list(initial)
    if len(out) != n:
        raise ValueError(f"initial has {len(out)} entries for {n} spectra")
    return out


def _chunks_by_grid(preps: list[_Prepared]) -> Iterator[list[int]]:
    """Indices of spectra that share grid, weighting and free set, at most MAX_PROBLEMS starts each."""
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(preps):
        key = (p.problem.frequency.tobytes(), p.problem.weighting, p.problem.free.tobytes())
        groups.setdefault(key, []).append(i)
    for members in groups.values():
        chunk: list[int] = []
        load = 0
        for i in members:
            n = len(preps[i].start_list)
            if chunk and load + n > MAX_PROBLEMS:
                yield chunk
                chunk, load = [], 0
            chunk.append(i)
            load += n
        if chunk:
            yield chunk


def _assemble_prepared(preps: list[_Prepared], p_best: np.ndarray, converged: np.ndarray, *,
                       kk: bool, order_arcs: bool, p_final: np.ndarray | None = None) -> list[FitResult]:
    """FitResults of solved spectra on one grid: batched covariance, derived quantities and KK.
    ``p_final``: the values after arc ordering when the caller has them."""
    batch = _BatchProblem.of(preps)
    if p_final is None:
        p_final = np.array([_final_values(p, pb, order_arcs) for p, pb in zip(preps, p_best)])
    covs = _covariances(batch, p_final)
    values = [dict(zip(p.names, v)) for p, v in zip(preps, p_final)]
    derived = _derived(preps, values, covs)
    kk_out = kk_batch(preps[0].data.frequency, np.array([p.data.z for p in preps])) if kk else None
    return [_finish(p, pb, bool(c), kk=kk, order_arcs=order_arcs, covariance=cov, derived=d,
                    kk_outcome=None if kk_out is None else kk_out[i], p_final=pf)
            for i, (p, pb, c, cov, d, pf) in enumerate(zip(preps, p_best, converged, covs, derived, p_final))]


def _solve_many(preps: list[_Prepared]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Optima of spectra on any grids, without results: (p_best (S, M), converged (S,), chisq (S,))."""
    m = len(preps[0].names) if preps else 0
    p_best, converged, cost = np.empty((len(preps), m)), np.zeros(len(preps), bool), np.empty(len(preps))
    for chunk in _chunks_by_grid(preps):
        p, c, k = _solve_batch(_BatchProblem.of([preps[i] for i in chunk]), [preps[i] for i in chunk])
        p_best[chunk], converged[chunk], cost[chunk] = p, c, k
    return p_best, converged, cost


def _assemble_many(preps: list[_Prepared], p_best: np.ndarray, converged: np.ndarray, *,
                   kk: bool, order_arcs: bool, p_final: np.ndarray | None = None) -> list[FitResult]:
    """:func:`_assemble_prepared` over spectra on any grids, results in input order."""
    results: list[FitResult | None] = [None] * len(preps)
    for chunk in _chunks_by_grid(preps):
        done = _assemble_prepared([preps[i] for i in chunk], p_best[chunk], converged[chunk], kk=kk,
                                  order_arcs=order_arcs, p_final=None if p_final is None else p_final[chunk])
        for i, res in zip(chunk, done):
            results[i] = res
    return results  # type: ignore[return-value]


# ---------------------------------------------------------------------- batched problem
@dataclass(frozen=True)
class _BatchProblem:
    """Spectra on one grid; LM problem j belongs to spectrum ``owner[j]``."""

    preps: list[_Prepared]
    z: np.ndarray  # (S, N) complex ohm
    sr: np.ndarray  # (S, N) residual scales, ohm
    si: np.ndarray
    fixed_values: np.ndarray  # (S, M) full parameter vectors (fixed values filled in)
    owner: np.ndarray  # (K,) spectrum of each problem

    @classmethod
    def of(cls, preps: list[_Prepared], owner: np.ndarray | None = None) -> "_BatchProblem":
        probs = [p.problem for p in preps]
        return cls(preps, np.array([q.z for q in probs]), np.array([q.scales[0] for q in probs]),
                   np.array([q.scales[1] for q in probs]), np.array([q.fixed_values for q in probs]),
                   np.arange(len(preps)) if owner is None else owner)

    def with_owner(self, owner: np.ndarray) -> "_BatchProblem":
        return _BatchProblem(self.preps, self.z, self.sr, self.si, self.fixed_values, owner)

    def _model_and_jacobian(self, theta: np.ndarray, idx: np.ndarray):
        """Model Z and its Jacobian (internal coordinates); row j is spectrum ``owner[idx[j]]``."""
        ref = self.preps[0].problem
        s = self.owner[idx]
        p_free = ref.transform.to_physical(theta)
        with np.errstate(all="ignore"):
            p = self.fixed_values[s].copy()
            p[:, ref.free] = p_free
            zm, dz = ref.circuit.impedance_and_jacobian(p, ref.frequency)
            if ref.free.size != dz.shape[2]:
                dz = dz[:, :, ref.free]
            dz *= ref.transform.dp_dtheta(p_free)[:, None, :]
        return s, zm, dz

    def normal_equations(self, theta: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As ``_Problem.normal_equations`` (same arithmetic, bit for bit); row j uses the
        data of spectrum ``owner[idx[j]]``."""
        s, zm, dz = self._model_and_jacobian(theta, idx)
        with np.errstate(all="ignore"):
            return normal_equations(self.z[s], zm, dz, (self.sr[s], self.si[s]), self.preps[0].problem.weighting)

    def residuals_and_jacobian(self, theta: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stacked weighted residuals and Jacobian (for the covariance), as ``_Problem``'s."""
        s, zm, dz = self._model_and_jacobian(theta, idx)
        with np.errstate(all="ignore"):
            return weighted_residuals(self.z[s], zm, dz, (self.sr[s], self.si[s]),
                                      self.preps[0].problem.weighting)


def _solve_batch(batch: _BatchProblem, preps: list[_Prepared]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The engine's ``_solve_fast`` for every spectrum at once: (p_best (S, M), converged (S,),
    chisq (S,) at p_best)."""
    ref = preps[0].problem
    names = ref.circuit.param_names
    # each spectrum keeps its own internal bounds (log-scale floors depend on its guess)
    lo_of = np.array([p.problem.transform.internal_lower for p in preps])
    hi_of = np.array([p.problem.transform.internal_upper for p in preps])
    thetas, owners = [], []
    multi = [i for i, p in enumerate(preps) if len(p.start_list) > 1]
    single = [i for i, p in enumerate(preps) if len(p.start_list) == 1]
    starts = {i: preps[i].problem.transform.clip_internal(ref.transform.to_internal(
        np.array([[s[n] for n in names] for s in preps[i].start_list])[:, ref.free])) for i in range(len(preps))}
    if multi:
        owner1 = np.concatenate([np.full(len(starts[i]), i) for i in multi])
        stage1 = levenberg_marquardt(batch.with_owner(owner1).normal_equations,
                                     np.concatenate([starts[i] for i in multi]), lo_of[owner1], hi_of[owner1],
                                     max_iter=STAGE1_ITER, ftol=1e-6, prune_factor=STAGE1_PRUNE,
                                     prune_after=STAGE1_PRUNE_AFTER, groups=owner1, indexed=True)
        for i in multi:
            rows = np.flatnonzero(owner1 == i)
            best = _distinct_best(stage1.theta[rows], stage1.cost[rows], N_POLISH)
            thetas.append(stage1.theta[rows][best])
            owners.append(np.full(best.size, i))
    for i in single:
        thetas.append(starts[i])
        owners.append(np.full(1, i))
    owner2 = np.concatenate(owners)
    out = levenberg_marquardt(batch.with_owner(owner2).normal_equations, np.concatenate(thetas),
                              lo_of[owner2], hi_of[owner2],
                              max_iter=POLISH_ITER, ftol=POLISH_TOL, xtol=POLISH_TOL, prune_factor=1.5,
                              groups=owner2, indexed=True)
    p_best = batch.fixed_values.copy()
    converged = np.zeros(len(preps), dtype=bool)
    cost = np.empty(len(preps))
    for i in range(len(preps)):
        rows = np.flatnonzero(owner2 == i)
        k = rows[int(np.argmin(out.cost[rows]))]
        p_best[i, ref.free] = ref.transform.to_physical(out.theta[k])
        converged[i], cost[i] = out.converged[k], out.cost[k]
    return p_best, converged, cost


# --------------------------------------------------------------------------- statistics
def _covariances(batch: _BatchProblem, p_final: np.ndarray) -> list[tuple[np.ndarray | None, bool, float]]:
    """(cov, singular, chisq) per spectrum at ``p_final`` (S, M), as ``engine._covariance_at``."""
    ref = batch.preps[0].problem
    free, transform = ref.free, ref.transform
    theta = transform.to_internal(p_final[:, free])
    r, jac_int = batch.with_owner(np.arange(len(batch.preps))).residuals_and_jacobian(
        theta, np.arange(len(batch.preps)))
    chisq = np.sum(r**2, axis=1)
    jac = jac_int / transform.dp_dtheta(p_final[:, free])[:, None, :]
    cov, singular = covariances_from_jacobians(jac, chisq, 2 * ref.frequency.size)
    return [(None if singular[i] else cov[i], bool(singular[i]), float(chisq[i])) for i in range(len(chisq))]


def covariances_from_jacobians(jac: np.ndarray, cost: np.ndarray, n_residuals: int,
                               rcond: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """``optimise.covariance_from_jacobian`` for a stack (S, R, M): (cov (S, M, M), singular (S,))."""
    s_count, _, m = jac.shape
    if m == 0:
        return np.zeros((s_count, 0, 0)), np.zeros(s_count, bool)
    dof = n_residuals - m
    if dof <= 0:
        return np.full((s_count, m, m), np.nan), np.ones(s_count, bool)
    norms = np.linalg.norm(jac, axis=1)
    bad = np.any(norms == 0, axis=1) | ~np.all(np.isfinite(norms), axis=1)
    safe_norms = np.where(bad[:, None], 1.0, norms)
    js = np.where(bad[:, None, None], np.eye(jac.shape[1], m), jac / safe_norms[:, None, :])
    _, sv, vt = np.linalg.svd(js, full_matrices=False)
    singular = bad | (sv[:, -1] <= rcond * sv[:, 0])
    with np.errstate(all="ignore"):
        inv = np.einsum("kim,ki,kin->kmn", vt, 1.0 / sv**2, vt)
        cov = inv / (safe_norms[:, :, None] * safe_norms[:, None, :]) * (cost / dof)[:, None, None]
    singular |= ~np.all(np.isfinite(cov), axis=(1, 2))
    return cov, singular


def _derived(preps: list[_Prepared], values: list[dict[str, float]], covs) -> list[tuple[dict, dict]]:
    """Derived quantities per spectrum, vectorised over the spectra that share roles."""
    ref = preps[0]
    cov_names = [ref.names[i] for i in ref.problem.free]
    roles = [result_roles(p.definition, v, p.settings.get("area_cm2")) for p, v in zip(preps, values)]
    by_roles: dict[tuple, list[int]] = {}
    for i, r in enumerate(roles):
        by_roles.setdefault(tuple(sorted(r.items())), []).append(i)
    out: list[tuple[dict, dict]] = [({}, {})] * len(preps)
    m = len(cov_names)
    for members in by_roles.values():
        vals = {n: np.array([values[i][n] for i in members], float) for n in ref.names}
        cov = np.array([covs[i][0] if covs[i][0] is not None else np.full((m, m), np.nan) for i in members])
        has_cov = [covs[i][0] is not None for i in members]
        d, units = derived_quantities_batch(vals, cov.reshape(len(members), m, m), cov_names if any(has_cov) else [],
                                            **derived_settings(ref.definition, roles[members[0]], ref.settings))
        for j, i in enumerate(members):
            out[i] = ({k: float(v[j]) for k, v in d.items()}, units)
    return out


# ================================================================================ KK
def kk_batch(frequency: np.ndarray, z: np.ndarray, c: float = 0.85, threshold_pct: float = 1.0,
             violation_pct: float = 2.0) -> list[tuple[bool | None, float | None, float]]:
    """(passed, max residual %, noise level as a fraction of |Z|; see
    :func:`eisfit.analysis.quality.kk_noise_level`) of :func:`eisfit.analysis.kk.kk_test` (defaults) for S spectra
    on one grid (``z`` (S, N), ohm); the Voigt design matrix is built once per chain length."""
    from ..analysis import kk as _kk

    omega = 2.0 * np.pi * np.asarray(frequency, float)
    without = _kk_config(_kk, omega, z, c, False, threshold_pct, violation_pct)
    out: list[tuple[bool | None, float | None, float]] = [(None, None, math.nan)] * z.shape[0]
    redo = [i for i, w in enumerate(without) if w is not None and w[2] != "valid"]
    with_c = _kk_config(_kk, omega, z[redo], c, True, threshold_pct, violation_pct) if redo else []
    alt = dict(zip(redo, with_c))
    for i, w in enumerate(without):
        best = w
        a = alt.get(i)
        if a is not None and (w is None or a[1] < w[1]):
            best = a
        out[i] = (None, None, math.nan) if best is None else (best[0], best[1], best[3])  # [3]: noise level (issue 13)
    return out


def _kk_config(_kk, omega, z, c, capacitance, threshold_pct, violation_pct):
    """(passed, max_pct, status) per spectrum for one Lin-KK configuration (or None if not testable)."""
    s_count, n = z.shape
    n_extra = 2 + int(capacitance)
    if 2 * n < n_extra + 2:
        return [None] * s_count
    max_rc = int(max(1, min(_kk.default_max_rc(n, omega.min(), omega.max()), 2 * n - n_extra - 1)))
    scale = np.maximum(np.abs(z), 1e-300)
    b = np.concatenate([z.real / scale, z.imag / scale], axis=1)
    z_fit = np.zeros_like(z)
    first_fit: dict[int, np.ndarray] = {}  # first chain with mu < c, kept if every later one is under-fitted
    pending = np.arange(s_count)
    n_rc = np.full(s_count, max_rc)  # chain length kept per spectrum (noise level dof)
    for m in range(1, max_rc + 1):
        tau = _kk.voigt_time_constants(omega.min(), omega.max(), m)
        design = _kk._design_matrix(omega, tau, True, capacitance)
        coef = _lstsq_batch(design, scale[pending], b[pending])
        fit_m = coef @ design.T
        z_fit[pending] = fit_m
        rk = coef[:, 1:1 + m]
        pos = np.sum(np.where(rk >= 0, rk, 0.0), axis=1)
        neg = -np.sum(np.where(rk < 0, rk, 0.0), axis=1)
        mu = np.where(pos <= 0, 0.0, 1.0 - neg / np.where(pos <= 0, 1.0, pos))
        done = mu < c
        rel = (z[pending] - fit_m) / scale[pending]
        large = done & (100.0 * np.maximum(np.abs(rel.real), np.abs(rel.imag)).max(axis=1) > threshold_pct)
        for j in np.flatnonzero(large):  # the runs test only where the residuals are above the threshold
            i = int(pending[j])
            if _kk._underfitted(omega, z[i], fit_m[j], threshold_pct):
                done[j] = False
                first_fit.setdefault(i, (fit_m[j], m))
        n_rc[pending[done]] = m
        pending = pending[~done]
        if pending.size == 0:
            break
    for i in pending:
        if int(i) in first_fit:
            z_fit[i], n_rc[i] = first_fit[int(i)]
        else:
            warnings.warn(f"mu stayed >= {c} up to M = {max_rc} RC elements; using M = {max_rc}", stacklevel=3)
    res_re = (z.real - z_fit.real) / np.abs(z)
    res_im = (z.imag - z_fit.imag) / np.abs(z)
    max_pct = 100.0 * np.max(np.abs(np.concatenate([res_re, res_im], axis=1)), axis=1)
    order = np.argsort(omega)
    out = []
    for i in range(s_count):
        passed, status, _ = _kk._verdict(float(max_pct[i]), res_re[i, order], res_im[i, order],
                                         threshold_pct, violation_pct)
        noise = math.sqrt(float(np.sum(res_re[i] ** 2 + res_im[i] ** 2)) / max(2 * n - n_extra - n_rc[i], 1))
        out.append((bool(passed), float(max_pct[i]), status, noise))
    return out


def _lstsq_batch(design: np.ndarray, scale: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Weighted, column-scaled least squares of ``kk._solve_weighted`` for S spectra.

    The spectra share the design D and differ in their weights 1/scale^2, so every Gram
    matrix is one row of a single matrix product: G_s = sum_i w_si (Re D_i Re D_i^T +
    Im D_i Im D_i^T) = (w @ O)_s with O_i the per-point outer products. The normal
    equations are column-scaled and solved by Cholesky (the Voigt design is well
    conditioned once scaled); spectra where the factorisation fails or its diagonal shows a
    condition number above ~1e8 fall back to QR, then to lstsq's SVD.
    """
    n, k = design.shape
    dr, di = design.real, design.imag
    outer = (dr[:, :, None] * dr[:, None, :] + di[:, :, None] * di[:, None, :]).reshape(n, k * k)
    inv_scale = 1.0 / scale
    gram = ((inv_scale * inv_scale) @ outer).reshape(-1, k, k)
    rhs = (b[:, :n] * inv_scale) @ dr + (b[:, n:] * inv_scale) @ di
    norms = np.sqrt(np.maximum(np.diagonal(gram, axis1=1, axis2=2), 0.0))
    norms[norms == 0] = 1.0
    gram = gram / (norms[:, :, None] * norms[:, None, :])
    rhs = rhs / norms
    coef = np.empty_like(rhs)
    try:
        c = np.linalg.cholesky(gram)
        d = np.abs(np.diagonal(c, axis1=1, axis2=2))
        ok = (d.min(axis=1) > 0) & ((d.max(axis=1) / np.maximum(d.min(axis=1), 1e-300)) ** 2 < 1e8)
    except np.linalg.LinAlgError:
        ok = np.zeros(gram.shape[0], dtype=bool)
    if ok.any():
        y = np.linalg.solve(c[ok], rhs[ok][:, :, None])
        coef[ok] = np.linalg.solve(c[ok].transpose(0, 2, 1), y)[:, :, 0]
    if (~ok).any():
        bad = ~ok
        a = np.concatenate([dr[None] * inv_scale[bad][:, :, None], di[None] * inv_scale[bad][:, :, None]], axis=1)
        coef[bad] = _lstsq_qr(a / norms[bad][:, None, :], b[bad])
    return coef / norms


def _lstsq_qr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched QR least squares; numerically rank-deficient systems use lstsq's SVD."""
    q, r = np.linalg.qr(a)
    diag = np.abs(np.diagonal(r, axis1=1, axis2=2))
    cutoff = 1e3 * np.finfo(float).eps * max(a.shape[1:]) * diag.max(axis=1, keepdims=True)
    deficient = np.any(diag <= cutoff, axis=1)
    coef = np.empty((a.shape[0], a.shape[2]))
    good = ~deficient
    if good.any():
        qtb = np.einsum("kri,kr->ki", q[good], b[good])
        coef[good] = np.linalg.solve(r[good], qtb[:, :, None])[:, :, 0]
    if deficient.any():
        coef[deficient] = _lstsq_svd(a[deficient], b[deficient])
    return coef


def _lstsq_svd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    u, sv, vt = np.linalg.svd(a, full_matrices=False)
    cutoff = np.finfo(float).eps * max(a.shape[1:]) * sv[:, :1]
    inv_s = np.where(sv > cutoff, 1.0 / np.where(sv > cutoff, sv, 1.0), 0.0)
    ub = np.einsum("kri,kr->ki", u, b) * inv_s
    return np.einsum("kip,ki->kp", vt, ub)


# ========================================================================== fit_chain
@dataclass
class ChainResult:
    """Outcome of :func:`fit_chain`: per position the kept fit (a full FitResult), where it
    came from, and the chi-square of the cold and of the seeded fit (nan: no seeded fit)."""

    kept: list[FitResult]
    seed_source: list[str]  # "cold" or "seeded"
    rounds: int  # seeded batches run until the chain was self-consistent
    cold_chisq: np.ndarray
    seeded_chisq: np.ndarray


def fit_chain(spectra: Sequence[Spectrum], circuit: str | CircuitDefinition | Circuit = "garnet-symmetric", *,
              first_seed: Mapping[str, float] | None = None, max_rounds: int = 50, **options: Any) -> ChainResult:
    """A seeded chain (the campaign's semantics) computed with batched fits.

    Campaign semantics (``eisfit.campaign.runner``): checkpoint k gets a cold fit
    (``starts="auto"``) and a seeded fit from the values kept at k-1
    (``initial=..., starts=1``); the seeded one is kept when its chi-square is lower by
    more than 1e-6 (relative), else the cold one. Sequentially that is a loop.

    Here: one batched cold pass; then seeded passes: round 1 seeds every k from the cold
    fit kept at k-1; a later round refits only the positions whose seed (the kept fit at
    k-1) changed since their last seeded fit by more than ``SEED_RTOL`` (relative, any
    parameter). When no seed changes the chain satisfies the campaign's rule at every
    position, i.e. it is the sequential result up to that tolerance (a seed moved by
    < 1e-6 converges to the same optimum). The choices are made on the optimisers'
    chi-squares; only the kept fit of each position is turned into a FitResult
    (covariance, derived quantities, KK, profile where suspect), in one batch at the end.
    ``first_seed`` seeds position 0 (e.g. the last kept fit of a previous chunk).
    ``options`` are :func:`fit_batch`'s.
    """
    spectra = list(spectra)
    kk = options.pop("kk", True)
    order_arcs = options.pop("order_arcs", True)
    starts = options.pop("starts", "auto")
    prepare = _preparer(circuit, options)
    cold_preps = [prepare(s, None, starts) for s in spectra]
    cold_p, cold_conv, cold_chisq = _solve_many(cold_preps)
    kept_preps, kept_p, kept_conv = list(cold_preps), cold_p.copy(), cold_conv.copy()
    kept_values = [_final_values(p, pb, order_arcs) for p, pb in zip(cold_preps, cold_p)]
    seeded_chisq = np.full(len(spectra), np.nan)
    source = ["cold"] * len(spectra)
    used: list[np.ndarray | None] = [None] * len(spectra)
    names = cold_preps[0].names if cold_preps else []
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        todo = []
        for k in range(len(spectra)):
            seed = (None if first_seed is None else np.array([first_seed[n] for n in names], float)) \
                if k == 0 else kept_values[k - 1]
            if seed is None or not np.all(np.isfinite(seed)):
                continue
            if used[k] is not None and np.allclose(seed, used[k], rtol=SEED_RTOL, atol=0):
                continue
            todo.append(k)
            used[k] = seed.copy()
        if not todo:
            break
        preps = [_reseeded(cold_preps[k], dict(zip(names, used[k].tolist()))) for k in todo]
        p_s, conv_s, chisq_s = _solve_many(preps)
        for j, k in enumerate(todo):
            seeded_chisq[k] = chisq_s[j]
            if chisq_s[j] < cold_chisq[k] * (1.0 - CHISQ_TIE_RTOL):
                kept_preps[k], kept_p[k], kept_conv[k], source[k] = preps[j], p_s[j], conv_s[j], "seeded"
                kept_values[k] = _final_values(preps[j], p_s[j], order_arcs)
            else:
                kept_preps[k], kept_p[k], kept_conv[k], source[k] = cold_preps[k], cold_p[k], cold_conv[k], "cold"
                kept_values[k] = _final_values(cold_preps[k], cold_p[k], order_arcs)
    kept = _assemble_many(kept_preps, kept_p, kept_conv, kk=kk, order_arcs=order_arcs,
                          p_final=np.array(kept_values)) if spectra else []
    return ChainResult(kept, source, rounds, cold_chisq, seeded_chisq)


def _reseeded(prep: _Prepared, seed: dict[str, float]) -> _Prepared:
    """``prep`` as ``_prepare(..., initial=seed, starts=1)`` would build it (same points,
    bounds and floors; one start at the seed), without redoing the data analysis."""
    settings = {**prep.settings, "initial": {k: float(v) for k, v in seed.items()}, "starts": 1}
    return dataclasses.replace(prep, start_list=[{**seed, **prep.fixed}], initial=seed, settings=settings)


def _preparer(circuit, options: Mapping[str, Any]):
    """``prepare(spectrum, initial, starts)`` with :func:`fit_batch`'s fixed options."""
    opts = dict(area_cm2=options.get("area_cm2"), thickness_cm=options.get("thickness_cm"),
                symmetric=options.get("symmetric", True), weighting=options.get("weighting", "modulus"),
                sigma=None, fmin=options.get("fmin"), fmax=options.get("fmax"),
                drop_inductive=options.get("drop_inductive", "auto"), fixed=options.get("fixed"),
                bounds=options.get("bounds"), expr=None, engine="fast", profile=options.get("profile", "auto"))
    unknown = set(options) - set(opts)
    if unknown:
        raise TypeError(f"fit_chain() got unexpected option(s) {', '.join(sorted(unknown))}")

    def prepare(spectrum: Spectrum, initial, starts) -> _Prepared:
        return _prepare(spectrum, circuit, initial=initial, starts=starts, **opts)

    return prepare


# ========================================================================= fit_stream
@dataclass
class StreamSummary:
    """What :func:`fit_stream` did: rows written, chunks, CSV path."""

    n_rows: int
    n_chunks: int
    path: Path


def summary_row(res: FitResult, seed_source: str = "") -> dict[str, Any]:
    """One summary-CSV row of a fit: label, source, values and stderr, derived, statistics, flags."""
    row: dict[str, Any] = {"label": res.label, "source": res.source}
    for n in res.param_names:
        row[n] = res.values[n]
        row[f"{n}_stderr"] = res.stderr[n]
    row.update(res.derived)
    row.update({"chisq": res.chisq, "redchi": res.redchi, "aic": res.aic, "bic": res.bic,
                "n_points": res.n_points, "success": res.success, "kk_passed": res.kk_passed,
                "kk_max_residual_pct": res.kk_max_residual_pct, "flags": ";".join(res.flags),
                "seed_source": seed_source})
    return row


def fit_stream(
    source: Iterable[Spectrum | str | Path],
    circuit: str = "garnet-symmetric",
    out_csv: str | Path = "summary.csv",
    *,
    chunk_size: int = 500,
    jobs: int = 1,
    seeded: bool = True,
    executor: Any = None,
    **options: Any,
) -> StreamSummary:
    """Fit an iterable of spectra (or data files) in chunks and append rows to ``out_csv``.

    Memory stays bounded: at most ``jobs + 1`` chunks of spectra are held at a time and
    only their summary rows (no FitResult, no model curves) come back from the workers.
    With ``seeded`` each chunk is a seeded chain (:func:`fit_chain`); the first spectrum of
    a chunk after the first is seeded from the previous spectrum of the stream, which is
    re-fitted (cold + seeded within the chunk, row not written) as the chunk's lead-in, so
    chunks stay independent and can run in parallel. ``jobs > 1`` uses spawned processes
    with one BLAS thread each. Rows are written in input order; the header is that of the
    first chunk. ``executor``: an existing ``concurrent.futures`` executor to run the
    chunks on (kept open; ``jobs`` then sets how many chunks are in flight).
    ``options`` are :func:`fit_batch`'s (``area_cm2``, ``weighting``...).
    """
    out_csv = Path(out_csv)
    own_pool = executor is None and jobs > 1
    pool = _stream_pool(jobs) if own_pool else executor
    writer = _RowWriter(out_csv)
    pending: list[Future] = []
    n_chunks = 0
    try:
        for chunk in _stream_chunks(source, chunk_size, lead_in=seeded):
            args = ([(s.frequency, s.z, dict(s.meta)) for s in chunk[1]], chunk[0], circuit, seeded, options)
            n_chunks += 1
            if pool is None:
                writer.write(_fit_chunk_rows(*args))
                continue
            pending.append(pool.submit(_fit_chunk_rows, *args))
            while len(pending) > jobs:
                writer.write(pending.pop(0).result())
        for fut in pending:
            writer.write(fut.result())
    finally:
        writer.close()
        if own_pool:
            pool.shutdown(cancel_futures=True)
    return StreamSummary(writer.n_rows, n_chunks, out_csv)


def _stream_chunks(source, chunk_size: int, lead_in: bool) -> Iterator[tuple[bool, list[Spectrum]]]:
    """(has_lead_in, spectra) per chunk; with ``lead_in`` the previous spectrum is prepended."""
    buf: list[Spectrum] = []
    last: Spectrum | None = None
    for item in source:
        buf.append(_as_spectrum(item))
        if len(buf) == chunk_size:
            yield (last is not None and lead_in), ([last] if (last is not None and lead_in) else []) + buf
            last, buf = buf[-1], []
    if buf:
        yield (last is not None and lead_in), ([last] if (last is not None and lead_in) else []) + buf


def _as_spectrum(item: Spectrum | str | Path) -> Spectrum:
    if isinstance(item, Spectrum):
        return item
    from ..io import read

    spectra = read(item)
    return spectra[0] if isinstance(spectra, list) else spectra


def _fit_chunk_rows(data: list[tuple], has_lead_in: bool, circuit: str, seeded: bool,
                    options: dict[str, Any]) -> list[dict[str, Any]]:
    """Worker: fit one chunk, return its summary rows (lead-in row dropped)."""
    from ..analysis.kk import small_blas

    spectra = [Spectrum(f, z, meta) for f, z, meta in data]
    with small_blas():
        if seeded:
            chain = fit_chain(spectra, circuit, **options)
            rows = [summary_row(r, s) for r, s in zip(chain.kept, chain.seed_source)]
        else:
            rows = [summary_row(r, "cold") for r in fit_batch(spectra, circuit, **options)]
    return rows[1:] if has_lead_in else rows


def _stream_pool(jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=int(jobs), mp_context=multiprocessing.get_context("spawn"),
                               initializer=_one_blas_thread)


def _one_blas_thread() -> None:
    """Worker initializer: one BLAS thread per process (small matrices; 2 cores shared)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return
    threadpool_limits(limits=1, user_api="blas")


class _RowWriter:
    """Appends dict rows to a CSV file; the first rows fix the columns."""

    def __init__(self, path: Path):
        self.path = path
        self.handle = None
        self.writer: csv.DictWriter | None = None
        self.n_rows = 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.writer is None:
            self.handle = open(self.path, "w", newline="")
            self.writer = csv.DictWriter(self.handle, fieldnames=list(rows[0]), extrasaction="ignore")
            self.writer.writeheader()
        self.writer.writerows({k: _cell(v) for k, v in r.items()} for r in rows)
        self.handle.flush()
        self.n_rows += len(rows)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


def _cell(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return ""
    return v
