"""Joint fit of all checkpoints of a campaign with shared parameters and optional smoothing.

``joint_fit`` solves ONE least-squares problem over every checkpoint: the
parameters named in ``shared`` take one value for the whole campaign, the other
free parameters one value per checkpoint. Weighting, bounds, fixed parameters and
the internal coordinates (ln p for positive scale parameters, p for exponents, box
bounds by projection) are those of :func:`eisfit.fit`; see
:mod:`eisfit.series.solver` for the Schur-complement Levenberg-Marquardt and
:mod:`eisfit.series.smoothing` for the smoothness penalty.

The points fitted are exactly those of the spectra given (no cropping here): pass
the points the single fits used (``FitResult.frequency`` / ``FitResult.z``) so
that the shared-versus-independent comparison is on the same data.

Statistical model: each checkpoint has its own noise level. The residuals of checkpoint k
(weighted as :func:`eisfit.fit` weights them) have variance ``sigma^2 s_k^2``, where
``s_k^2 = chisq_k / (2 n_k - p)`` is the chi-square per degree of freedom of its
independent fit (same points, same weighting, all parameters its own) and ``sigma^2`` one
factor for the whole campaign. So every fit here (independent, shared, smoothed, with
Arrhenius laws) minimises the noise-weighted chi-square ``sum_k w_k chisq_k`` with the
noise weights ``w_k = s^2 / s_k^2`` (:func:`noise_weights`; ``s^2`` the pooled
``sum chisq_k / sum (2 n_k - p)``, so that the independent fits' noise-weighted chi-square
equals their plain one). A checkpoint measured with 10x the noise of the others (a sweep
with contact noise, drift) weighs 1/100 as much, instead of as much as a quiet one: with
one sweep at 5 % noise among 0.5 % ones, an equal weight made the AIC accept a shared R1 that
truly drifted 3 % (8 of 10 seeds), gave the noisy checkpoint's R2 a standard error 2.4x too
small and the quiet checkpoints' 1.5x too large. The evidence
(:mod:`eisfit.series.evidence`) is that of this model: AIC/BIC of the noise-weighted
chi-squares, the smoothing's rise in their s^2, the laws' rise in each checkpoint's s_k^2.

Uncertainties: ``cov = s_w^2 H^-1`` with H the Gauss-Newton normal matrix of the
whole noise-weighted problem (plus the penalty Hessian when smoothing) and
``s_w^2 = chisq_w / (N - M)`` its chi-square per degree of freedom (lmfit's convention; the
estimate of ``sigma^2 s^2``, about the pooled s^2 when the model holds, and above it where
the joint fit's constraints pull the values; with smoothing M is the effective number of parameters
``q + tr((U+P)^-1 U)``). Shared parameters get one standard error, repeated on every
checkpoint; local ones their diagonal covariance block, computed by the Schur-complement
formula (no dense inverse). Without shared parameters and smoothing the checkpoints are
decoupled and each gets its own ``s^2 = chisq_k / (2 n_k - p)``, exactly as a single fit.

Convergence: a fit that stops on its iteration limit is continued (up to
:data:`MAX_RESTARTS` times); an unsmoothed fit that the smoothed one ends below (a more
constrained fit cannot fit better) is fitted again from the smoothed optimum, and an
independent fit that the shared one ends below, from the shared optimum. A joint fit that
still has not converged decides nothing: its verdicts read "undetermined: the joint fit did
not converge" (:attr:`JointFitResult.undetermined`), and a campaign keeps the independent fits.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np

from .._caller import user_stacklevel
from .._checks import check_choice, check_smooth, did_you_mean
from ..analysis.derived import derived_quantities_batch
from ..errors import FitError
from ..fitting.assemble import derived_settings, result_roles
from ..fitting.engine import spectrum_in_ohm
from ..fitting.optimise import Transform
from ..fitting.problem import calc_modulus_residuals, log_scaled
from ..fitting.result import Correlations
from ..model.weighting import check_weighting, residual_scales, weighting_in_use
from ..spectrum import Spectrum, shared_grid
from ..units import celsius_as_kelvin_note, format_value, warn_if_celsius_as_kelvin
from . import smoothing as sm
from .evidence import law_evidence, sharing_evidence, smoothing_evidence
from .solver import BlockLMOutcome, BlockProblem, block_covariance, block_lm, independent_lm, normal_blocks

__all__ = ["JointFitResult", "joint_fit", "joint_roles", "joint_role", "smoothed_names", "noise_weights",
           "check_joint_parameters", "check_joint_roles", "JOINT_ROLES"]

MAX_ITER = 300
MAX_RESTARTS = 3  # a fit stopped on MAX_ITER is continued this many times before it counts as not converged
MIN_NOISE_RATIO = 1e-6  # no checkpoint's noise variance counts below this x the pooled one (weight <= 1e6)
NOISY_CHECKPOINT_RATIO = 3.0  # a checkpoint's noise SD above this x the median is named in the summary
JUMP_EDGE_WEIGHT = sm.JUMP_EDGE_WEIGHT  # both rows around a step below this: a jump (freed, reported)


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class JointFitResult:
    """Outcome of :func:`joint_fit`: one entry per checkpoint, in the order given.

    values / stderr : per checkpoint, every parameter (physical units, impedance.py
        names); shared parameters have the same value and stderr on every checkpoint;
        stderr is nan for fixed parameters and parameters at a bound.
    covariance, cov_names : per checkpoint, covariance (physical units) of the free
        parameters ``cov_names`` (local and shared), or None when singular.
    derived, derived_units : ASR, C_eff, f_apex, sigma (``<R>_sigma_S_per_cm``)... per
        checkpoint with ``<key>_stderr``, as :func:`eisfit.fit` computes them.
    chisq : the noise-weighted chi-square the fit minimised, ``sum_k w_k chisq_k`` (no
        penalty; see the module docstring); chisq_checkpoints : each checkpoint's own
        chi-square ``chisq_k`` (the weighting of :func:`eisfit.fit`, comparable with its
        single fit's), independent_chisq likewise for the independent fits.
    noise_weights : w_k = s^2 / s_k^2 of each checkpoint (1 for all when their independent
        fits have one noise level; 0.01 for a checkpoint with 10x the noise).
    n_residuals : N = 2 x points over all checkpoints; n_free : M of the joint fit.
    converged : whether every fit the verdicts rest on converged (after continuing);
        undetermined : "" or why the joint fit decides nothing ("the joint fit did not
        converge ..."): then no verdict is the data's (:attr:`verdict`), and
        :attr:`accepted` is False.
    sharing : evidence dict (see :mod:`eisfit.series.evidence`), None when nothing is shared.
    smoothing : ``{"lambda", "rule", "edf", "robust", "jumps", "scales"}`` or None.
    notes : what the fit says of itself beyond the verdicts (e.g. that ``smooth`` had nothing
        to smooth), sentences; also in :meth:`summary_lines`.
    independent_values / independent_stderr / independent_chisq : the independent
        fits (same data, same weighting, solved by the same engine).
    arrhenius : with ``joint_fit(arrhenius=...)``, ``{"laws": {name: {"ea_eV", "ea_stderr_eV",
        "prefactor", "prefactor_stderr", "prefactor_unit", "law", "form"}}, "statement",
        "temperatures_K", "evidence"}``; None otherwise. The law parameters' values per
        checkpoint follow the law (``values``); the AIC/BIC evidence is in ``sharing``, and
        ``evidence`` (:func:`~eisfit.series.evidence.law_evidence`) weighs each checkpoint's
        chi-square rise in its own s^2: a law it rejects is in :attr:`rejected_assumptions`.
    """

    labels: list[str]
    param_names: list[str]
    shared: list[str]
    local: list[str]
    fixed: dict[str, float]
    values: list[dict[str, float]]
    stderr: list[dict[str, float]]
    covariance: list[np.ndarray | None] = field(repr=False)
    cov_names: list[str] = field(repr=False)
    derived: list[dict[str, float]] = field(repr=False)
    derived_units: dict[str, str] = field(repr=False)
    roles: dict[str, str]
    chisq: float
    chisq_checkpoints: list[float]
    n_residuals: int
    n_free: float
    converged: bool
    n_iter: int
    flags: list[list[str]]
    sharing: dict[str, Any] | None
    smoothing: dict[str, Any] | None
    independent_values: list[dict[str, float]] = field(repr=False)
    independent_stderr: list[dict[str, float]] = field(repr=False)
    independent_chisq: list[float] = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)
    arrhenius: dict[str, Any] | None = None
    noise_weights: list[float] = field(default_factory=list, repr=False)
    undetermined: str = ""
    notes: list[str] = field(default_factory=list)
    definition: Any = field(default=None, repr=False, compare=False)  # the CircuitDefinition fitted

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickling: a result pickled by an older eisfit lacks the fields added since
        (``noise_weights``, ``undetermined``, ``notes``...); they take their defaults."""
        for f in dataclasses.fields(self):
            if f.name not in state:
                state[f.name] = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        self.__dict__.update(state)

    @property
    def n_checkpoints(self) -> int:
        return len(self.values)

    @property
    def redchi(self) -> float:
        """The noise-weighted chi-square per degree of freedom, s_w^2 = chisq / (N - M): the
        factor of the covariance (about the independent fits' pooled s^2 when the model holds)."""
        return self.chisq / (self.n_residuals - self.n_free)

    @property
    def rejected_assumptions(self) -> list[str]:
        """The verdicts of the fit against its own assumptions, in words: a sharing (or
        Arrhenius law) that the AIC does not support (``sharing["supported"]``, the one rule of
        :mod:`eisfit.series.evidence`: a BIC that would still prefer it decides nothing; six
        spectra of an R1 drifting 60 -> 61.5 ohm read dAIC = -15, dBIC = +79 and the shared
        R1 lay 3-6 standard errors from the checkpoints' own values), a smoothing that raises
        chi-square beyond what the removed parameters allow
        (:func:`~eisfit.series.evidence.smoothing_evidence`), a law that a checkpoint's own
        chi-square rejects. Empty when the data allow all; otherwise its values assume what
        the data reject, and so do their error bars (a sharing rejected at dAIC = -2177 gave
        R2 55.5 +- 0.34 ohm*cm2 for a true 35). A campaign's table holds the joint fit only
        when this is empty and the fit converged (:attr:`accepted`). Empty too when the joint
        fit did not converge: a fit that stopped anywhere is no verdict of the data
        (:attr:`undetermined`)."""
        return [statement for _, statement in self._rejections()]

    @property
    def rejection_summary(self) -> str:
        """The rejected assumptions in a few words, e.g. ``sharing (dAIC = -15)``; '' when
        none is (:attr:`accepted`, or :attr:`undetermined`)."""
        return "; ".join(short for short, _ in self._rejections())

    @property
    def verdict(self) -> str:
        """``"accepted"`` (the data allow all the joint fit assumes), ``"rejected"`` (they
        reject something: :attr:`rejected_assumptions`) or ``"undetermined"`` (the joint fit did
        not converge: :attr:`undetermined` says how; no verdict is the data's)."""
        if self.undetermined:
            return "undetermined"
        return "rejected" if self._rejections() else "accepted"

    @property
    def verdict_summary(self) -> str:
        """Why a campaign's table does not hold this joint fit, in a few words: ``undetermined:
        the joint fit did not converge ...`` or :attr:`rejection_summary`; '' when it is
        :attr:`accepted`."""
        return f"undetermined: {self.undetermined}" if self.undetermined else self.rejection_summary

    def _rejections(self) -> list[tuple[str, str]]:
        """(few words, statement) of every assumption the data reject; none when the joint fit
        did not converge (:attr:`undetermined`: its verdicts are not the data's)."""
        if self.undetermined:
            return []
        out = []
        if self.sharing is not None and _rejected(self.sharing, self.sharing.get("preferred") == "shared"):
            what = "sharing" if self.shared else "Arrhenius law against independent fits"
            out.append((f"{what} (dAIC = {self.sharing['delta_aic']:.0f})", self.sharing["statement"]))
        if self.smoothing is not None and _rejected(self.smoothing):
            out.append((f"smoothing (chi-square rise {self.smoothing['delta_chisq_s2']:.3g} s^2 for "
                        f"{self.smoothing['removed_parameters']:.1f} parameters removed)", self.smoothing["statement"]))
        if self.arrhenius is not None and _rejected(self.arrhenius["evidence"]):
            ev = self.arrhenius["evidence"]
            out.append(("Arrhenius law against each checkpoint's own fit (chi-square rise "
                        f"{ev['delta_chisq_s2']:.3g} s^2 for "
                        f"{ev['removed_parameters']:.0f} parameters removed)", ev["statement"]))
        return out

    @property
    def accepted(self) -> bool:
        """True when the joint fit converged and the data allow every assumption it makes (no
        :attr:`rejected_assumptions`, not :attr:`undetermined`): then, and only then, a
        campaign's table holds it."""
        return not self.undetermined and not self.rejected_assumptions

    @property
    def smoothed(self) -> list[str]:
        """The local parameters the smoothness penalty acted on (lambda > 0); empty without
        smoothing or when the rule chose no smoothing."""
        return smoothed_names(self.smoothing)

    @property
    def statement(self) -> str:
        """The sharing verdict in words ('' when nothing is shared)."""
        return "" if self.sharing is None else self.sharing["statement"]

    def summary_lines(self) -> list[str]:
        """The joint fit in words (markdown lines): what was shared, the verdict with
        chisq/AIC/BIC of both fits, and the smoothing used."""
        lines = []
        if self.sharing is not None:
            sh = self.sharing
            units = self.settings.get("units", {})
            vals = ", ".join(f"{n} = {format_value(self.values[0][n], self.stderr[0][n], units.get(n, ''))}"
                             for n in self.shared)
            lines.append(f"{sh['statement']}.")
            if vals:
                lines.append(f"Shared values{self.tried_label}: {vals}.")
            stopped = ("; the joint fit's numbers are where it stopped, not an optimum" if self.undetermined
                       else "")
            lines.append(
                f"Same data, same weighting, each checkpoint weighted by its own noise level: chisq "
                f"{sh['chisq_shared']:.5g} ({'shared' if not self.arrhenius else 'joint'}, M = {sh['n_free_shared']}) "
                f"vs {sh['chisq_independent']:.5g} (independent, M = {sh['n_free_independent']}); "
                f"AIC {sh['aic_shared']:.1f} vs {sh['aic_independent']:.1f}; "
                f"BIC {sh['bic_shared']:.1f} vs {sh['bic_independent']:.1f} (N = {sh['n_residuals']}){stopped}.")
            med_j = _median_relative_errors(self.local, self.stderr, self.values)
            med_i = _median_relative_errors(self.local, self.independent_stderr, self.independent_values)
            gains = ", ".join(f"{n} {_percent_or_none(a)} (independent {_percent_or_none(b)})"
                              for n, a, b in zip(self.local, med_j, med_i))
            lines.append(f"Median relative standard error per checkpoint: {gains}.")
        lines += self.law_lines()
        if self.smoothing is not None:
            sm_ = self.smoothing
            lam = ", ".join(f"{n} {v:.3g}" for n, v in sm_["lambda"].items())
            jumps = "; ".join(f"{j['parameter']} after checkpoint {self.labels[j['after_checkpoint']]}"
                              for j in sm_["jumps"]) or "none"
            lines.append(
                f"Smoothing across checkpoints ({sm_['rule']}: {sm_['rule_description']}): lambda {lam}; "
                f"effective local parameters {sm_['edf']:.1f} of {len(self.local) * self.n_checkpoints}; "
                f"{'robust (edge-preserving) penalty' if sm_['robust'] else 'quadratic penalty'}; "
                f"jumps kept: {jumps}.")
            if "statement" in sm_:
                lines.append(f"{sm_['statement']}.")
        noise = self.noise_line()
        if noise and (self.sharing is not None or self.smoothing is not None):
            lines.append(noise)
        lines += list(self.notes)
        return lines

    @property
    def tried_label(self) -> str:
        """What the joint fit's values are when the table does not hold them, as the texts put
        it after "Shared values": " (tried; rejected)" (the data reject an assumption), " (tried;
        undetermined: the joint fit did not converge)"; "" when :attr:`accepted`."""
        if self.undetermined:
            return " (tried; undetermined: the joint fit did not converge)"
        return " (tried; rejected)" if self._rejections() else ""

    def noise_line(self) -> str:
        """The checkpoints' noise levels in words (the weights of the statistical model, see
        the module docstring): their spread and the noisiest; '' without weights."""
        w = np.asarray(self.noise_weights, float)
        if str(self.settings.get("noise_weighting", "")).startswith("none"):
            return "Every checkpoint weighs the same (one noise level for all: noise_weighting=False)."
        if w.size < 2 or not np.all(np.isfinite(w) & (w > 0)):
            return ""
        sd = 1.0 / np.sqrt(w)  # each checkpoint's noise SD over the pooled one
        text = (f"Each checkpoint is weighted by its own noise level (s_k^2, the chi-square per degree of freedom "
                f"of its independent fit): s_k from {sd.min():.2g} to {sd.max():.2g} times the pooled s")
        worst = int(np.argmax(sd))
        if sd.max() > NOISY_CHECKPOINT_RATIO * np.median(sd):
            text += (f"; {self.labels[worst]} is the noisiest ({sd[worst] / np.median(sd):.2g}x the median noise), "
                     f"weighted {1.0 / (sd[worst] / np.median(sd)) ** 2:.2g}x as much")
        return text + "."

    def law_lines(self) -> list[str]:
        """The Arrhenius laws in words: one line per law (Ea and R_A with standard errors),
        then what each checkpoint's chi-square says of them, and a note when the temperatures
        look like degrees Celsius given as kelvin; none without laws."""
        if self.arrhenius is None:
            return []
        lines = []
        # a law in a joint fit the data reject (its own chi-square rise, or the AIC of what the
        # fit assumes), or that did not converge, is what was tried, not a result: its line says so
        tried = ("" if self.accepted else " (tried; undetermined: the joint fit did not converge)" if self.undetermined
                 else " (tried; the data reject the joint fit, see below)")
        for name, law in self.arrhenius["laws"].items():
            lines.append(f"Arrhenius law for {name} across {self.n_checkpoints} checkpoints{tried}: "
                         f"Ea = {format_value(law['ea_eV'], law['ea_stderr_eV'], 'eV')} ({law['law']}, "
                         f"R_A = {format_value(law['prefactor'], law['prefactor_stderr'], law['prefactor_unit'])}).")
        note = self.arrhenius.get("temperature_note")
        return lines + [f"{self.arrhenius['evidence']['statement']}."] + ([f"Warning: {note}."] if note else [])

    def table(self):
        """pandas DataFrame, one row per checkpoint: label, every parameter and
        ``<name>_stderr``, derived quantities, ``chisq``, ``shared`` (names joined by ',')."""
        import pandas as pd

        rows = []
        for k, label in enumerate(self.labels):
            row: dict[str, Any] = {"label": label}
            for n in self.param_names:
                row[n] = self.values[k][n]
                row[f"{n}_stderr"] = self.stderr[k][n]
            row.update(self.derived[k])
            row["chisq"] = self.chisq_checkpoints[k]
            row["shared"] = ",".join(self.shared)
            if self.arrhenius is not None:
                row["arrhenius"] = ",".join(self.arrhenius["laws"])
            row["flags"] = ";".join(self.flags[k])
            rows.append(row)
        return pd.DataFrame(rows)

    def fit_results(self, templates: Sequence[Any]) -> list[Any]:
        """Per-checkpoint :class:`~eisfit.fitting.FitResult` objects: ``templates`` (the
        independent FitResults, same order) with the joint values, stderr, correlations,
        derived quantities, chisq/statistics and quality flags replaced;
        ``settings["joint"]`` describes the joint fit (shared names, smoothing, evidence)."""
        out = []
        for k, t in enumerate(templates):
            if t is None:
                out.append(None)
                continue
            out.append(self._fit_result(k, t))
        return out

    def _fit_result(self, k: int, t: Any) -> Any:
        from ..model import circuit_of

        values = dict(self.values[k])
        p = np.array([values[n] for n in t.param_names])
        z_fit = circuit_of(t.circuit).impedance(p, t.frequency)
        chisq = self.chisq_checkpoints[k]
        n_res = 2 * int(t.n_points)
        laws = list((self.arrhenius or {}).get("laws", {}))
        m = len(self.local) + (len(self.shared) + 2 * len(laws)) / max(self.n_checkpoints, 1)
        flags, derived = self._row_flags(k, t, z_fit, int(round(m)))
        settings = dict(t.settings)
        settings["joint"] = {"shared": list(self.shared), "smoothing": self.smoothing,
                             "param_names": list(self.param_names),
                             "sharing": self.sharing, "n_checkpoints": self.n_checkpoints,
                             "arrhenius": self.arrhenius}
        return replace(
            t, values=values, stderr=dict(self.stderr[k]), correl=self._correl(k),
            derived=derived, derived_units=dict(self.derived_units), chisq=chisq,
            redchi=chisq / (n_res - m) if n_res > m else float("nan"),
            aic=n_res * math.log(max(chisq, 1e-300) / n_res) + 2 * m,
            bic=n_res * math.log(max(chisq, 1e-300) / n_res) + m * math.log(n_res),
            z_fit=z_fit, flags=flags, success=bool(self.converged), settings=settings,
            n_free=int(round(m)), intervals={},
        )

    def _row_flags(self, k: int, t: Any, z_fit: np.ndarray, n_free: int) -> tuple[list[str], dict[str, float]]:
        """The quality flags of checkpoint ``k`` at the joint values (and its derived
        quantities with the lack-of-fit ratio of the joint values): the template's (the
        checkpoint's single fit ``t``) described the single fit's values and stderr. Those
        that judge the values (``arc-overlap``, ``fapex-outside-range``, ``low-n``,
        ``unresolved``, ``large-stderr``, ``series-holds-arc``...) are judged again by the
        single fit's own rules (:func:`eisfit.fitting.assemble.assemble_result`) on the joint
        values and covariance; ``profile-stderr`` goes (the stderr are the joint covariance's);
        ``lack-of-fit``/``misfit`` follow the joint values' residuals against the data's noise
        level (the single fit's ratio scaled by the two fits' RMS relative residuals); those
        of the data alone (Lin-KK, points left out, the file's area...) stay."""
        from ..analysis.quality import MISFIT_RATIO, rms_relative_residual
        from ..fitting.assemble import LACK_OF_FIT_KEY, assemble_result, lack_of_fit_flags
        from ..fitting.flags import flag_name
        from ..model import load_circuit
        from ..spectrum import points_spectrum

        defn = self.definition if self.definition is not None else load_circuit(t.circuit)
        cov = self.covariance[k]
        derived = dict(self.derived[k])
        assembled = assemble_result(
            points_spectrum(t.frequency, t.z, t.label), defn, self.values[k], covariance=cov,
            cov_names=self.cov_names if cov is not None else [], chisq=self.chisq_checkpoints[k], n_free=n_free,
            converged=self.converged, flags=self.flags[k], settings=t.settings, fixed_names=t.fixed, kk=False,
            derived=(derived, dict(self.derived_units)))
        flags = [f for f in t.flags if flag_name(f) in DATA_FLAGS] + list(assembled.flags)
        single = t.derived.get(LACK_OF_FIT_KEY, math.nan)
        if math.isfinite(single):
            before = rms_relative_residual(t.z, t.z_fit, t.n_free)
            ratio = single * rms_relative_residual(t.z, z_fit, n_free) / before if before > 0 else math.nan
            if math.isfinite(ratio):
                derived[LACK_OF_FIT_KEY] = ratio
                flags += lack_of_fit_flags(ratio)
                if ratio > MISFIT_RATIO:  # what the data hold that the circuit lacks, where it misses them
                    flags += [f for f in t.flags if flag_name(f) in MISSING_TERM_FLAGS]
        return list(dict.fromkeys(flags)), derived

    def _correl(self, k: int) -> Mapping[str, Mapping[str, float]]:
        cov = self.covariance[k]
        return {} if cov is None else Correlations.of_covariance(self.cov_names, cov)


DATA_FLAGS = ("kk-not-run", "kk-too-noisy", "kk-failed", "columns-modulus-phase", "kk-outlier", "noisy-points",
              "excluded-points", "dropped-inductive-points", "thickness-unused", "file-area", "per-area-data",
              "model-dependent", "least-bad-circuit", "circuit-not-judged")
"""Flags of a single fit that describe its data (or the circuit chosen), not its values: a
joint fit's row keeps them (:meth:`JointFitResult.fit_results`)."""
MISSING_TERM_FLAGS = ("inductance-in-data", "capacitive-tail-in-data")  # the data's, named where the fit misses them


# --------------------------------------------------------------------------- roles
JOINT_ROLES = ("shared", "Arrhenius law", "smoothed")  # what a joint fit makes of a parameter, in that precedence


def smoothed_names(smoothing: Mapping[str, Any] | None) -> list[str]:
    """The parameters a joint fit's ``smoothing`` dict (:attr:`JointFitResult.smoothing`)
    smoothed: those with lambda > 0."""
    return [n for n, lam in ((smoothing or {}).get("lambda") or {}).items() if lam > 0]


def joint_roles(joint_settings: Mapping[str, Any] | None) -> dict[str, str]:
    """What a joint fit made of each parameter it constrained: ``{name: role}`` with role
    ``"shared"`` (one value for every checkpoint), ``"Arrhenius law"`` (on the cell's law) or
    ``"smoothed"`` (a smoothness penalty across checkpoints); parameters it left free are
    absent. ``joint_settings``: a joint-fitted FitResult's ``settings["joint"]``, or None (no
    joint fit: empty). One reading for the table columns, the report and the figures."""
    if not joint_settings:
        return {}
    roles = {n: "smoothed" for n in smoothed_names(joint_settings.get("smoothing"))}
    roles.update({n: "Arrhenius law" for n in ((joint_settings.get("arrhenius") or {}).get("laws") or {})})
    roles.update({n: "shared" for n in joint_settings.get("shared") or ()})
    return roles


RESISTANCE_QUANTITIES = ("_asr_ohm_cm2", "_asr_per_interface_ohm_cm2", "_sigma_S_per_cm")  # of one resistance


def joint_role(joint_settings: Mapping[str, Any] | None, key: str, circuit: str | None = None) -> str:
    """The role (:func:`joint_roles`) of a parameter or of a quantity derived from it: a
    quantity of one resistance (``R1_asr_ohm_cm2``, ``R1_sigma_S_per_cm``) takes that
    resistance's role; another derived quantity takes the role of the parameters of its
    element and, with ``circuit`` (the fit's circuit string), of its arc's resistance
    (``CPE1_ceff_F`` of CPE1_0, CPE1_1 and R1): ``shared`` when all of them are (one value),
    else ``smoothed`` or ``Arrhenius law`` when any is; "" when the joint fit left them free."""
    roles = joint_roles(joint_settings)
    if not roles or key in roles:
        return roles.get(key, "")
    element = key.split("_", 1)[0]
    if key.endswith(RESISTANCE_QUANTITIES):
        return roles.get(element, "")
    names = (joint_settings or {}).get("param_names") or [n for n in roles]
    inputs = [n for n in names if n == element or n.startswith(element + "_")]
    if circuit is not None:
        from ..analysis.derived import circuit_arcs
        from ..model import circuit_of

        inputs += [a.resistor for a in circuit_arcs(circuit_of(circuit), branches=True)
                   if a.capacitive == element and a.resistor]
    given = [roles.get(n, "") for n in inputs]
    if circuit is not None and given and all(r == "shared" for r in given):
        return "shared"
    return next((r for r in JOINT_ROLES if r in given and r != "shared"), "")


# --------------------------------------------------------------------------- problem
@dataclass(frozen=True)
class _Layout:
    """Which parameter is fixed, local, shared or follows an Arrhenius law across the
    checkpoints, and the internal transform of each.

    The shared coordinates b are the shared parameters' (internal, as local ones), then two
    per law parameter: ln p_k = b_a + b_s * law_x[k] + law_offset[k], with law_x the
    checkpoints' 1/T centred and scaled to unit spread (coordinates of order 1 for the
    optimiser) and law_offset ln T_k for the ``sigmaT`` form (p ~ T exp(Ea / k_B T)), else 0.
    """

    names: list[str]
    fixed_values: np.ndarray  # (M,) with fixed values filled in (others arbitrary)
    local_idx: np.ndarray
    shared_idx: np.ndarray
    transform: Transform  # over all M parameters
    law_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    law_t: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (K,) temperatures, K
    law_form: str = "sigmaT"

    @functools.cached_property
    def law_inverse_t(self) -> tuple[float, float]:
        """(mean, spread) of the checkpoints' 1/T, 1/K."""
        inv_t = 1.0 / self.law_t
        return float(inv_t.mean()), float(inv_t.std())

    @functools.cached_property
    def law_x(self) -> np.ndarray:
        """(K,) the checkpoints' 1/T, centred and scaled to unit spread."""
        mean, spread = self.law_inverse_t
        return (1.0 / self.law_t - mean) / spread

    @functools.cached_property
    def law_offset(self) -> np.ndarray:
        """(K,) ln T in the ``sigmaT`` form (R ~ T exp(Ea / k_B T)), else 0."""
        return np.log(self.law_t) if self.law_form == "sigmaT" else np.zeros(self.law_t.size)

    @property
    def n_shared_coords(self) -> int:
        return self.shared_idx.size + 2 * self.law_idx.size

    def shared_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Internal box of the shared coordinates (an Arrhenius law's are free)."""
        st = self.shared_transform()
        free = np.full(2 * self.law_idx.size, np.inf)
        return np.r_[st.internal_lower, -free], np.r_[st.internal_upper, free]

    def law_values(self, b: np.ndarray) -> np.ndarray:
        """(K, L) values of the law parameters from the shared coordinates ``b``."""
        q1 = self.shared_idx.size
        coords = b[q1:].reshape(-1, 2)
        with np.errstate(over="ignore"):
            return np.exp(coords[:, 0][None, :] + self.law_x[:, None] * coords[:, 1][None, :]
                          + self.law_offset[:, None])

    def local_transform(self) -> Transform:
        t = self.transform
        i = self.local_idx
        return Transform(t.log_mask[i], t.lower[i], t.upper[i])

    def shared_transform(self) -> Transform:
        t = self.transform
        i = self.shared_idx
        return Transform(t.log_mask[i], t.lower[i], t.upper[i])

    def physical(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Full physical parameter matrix (K, M) from internal local a (K, p) and shared b (q,)."""
        k = a.shape[0]
        p = np.broadcast_to(self.fixed_values, (k, self.fixed_values.size)).copy()
        p[:, self.local_idx] = self.local_transform().to_physical(a)
        p[:, self.shared_idx] = self.shared_transform().to_physical(b[:self.shared_idx.size])[None, :]
        if self.law_idx.size:
            p[:, self.law_idx] = self.law_values(b)
        return p


class _CampaignData:
    """Spectra grouped by number of points for batched evaluation, each row on its own
    frequencies where they differ (``Circuit`` takes one grid per row)."""

    def __init__(self, spectra: Sequence[Spectrum], weighting: str, sigma: Sequence[Any] | None):
        self.k = len(spectra)
        self.n_points = np.array([len(s) for s in spectra])
        self.m = 2 * int(self.n_points.max())
        self.z = [np.asarray(s.z) for s in spectra]
        self.weighting = weighting_in_use(weighting, sigma)  # modulus-calc would otherwise override the SDs
        self.scales = [
            residual_scales(z, weighting, None if sigma is None else sigma[i])
            for i, z in enumerate(self.z)
        ]
        groups: dict[int, list[int]] = {}
        for i, s in enumerate(spectra):
            groups.setdefault(len(s), []).append(i)
        self.groups = [(_grid_of([spectra[i] for i in idx]), np.array(idx)) for idx in groups.values()]
        self.group_z = [np.stack([self.z[i] for i in idx]) for _, idx in self.groups]
        self.group_scales = [
            (np.stack([self.scales[i][0] for i in idx]), np.stack([self.scales[i][1] for i in idx]))
            for _, idx in self.groups
        ]

    @property
    def n_residuals(self) -> int:
        return int(2 * self.n_points.sum())


def _grid_of(spectra: Sequence[Spectrum]) -> np.ndarray:
    """The frequencies (Hz) of spectra of as many points: (N,) when they share them, else
    one row per spectrum (K, N)."""
    grid = shared_grid([s.frequency for s in spectra])
    return grid if grid is not None else np.array([s.frequency for s in spectra])


def _make_evaluate(circuit, layout: _Layout, data: _CampaignData, weights: np.ndarray | None = None):
    """evaluate(a, b) -> (r (K, m), J_local (K, m, p), J_shared (K, m, q)) in internal coordinates;
    ``weights`` (K,): each checkpoint's rows times sqrt(w_k) (its chi-square times w_k), the
    noise weights of :func:`noise_weights`; None = 1."""
    li, si, law = layout.local_idx, layout.shared_idx, layout.law_idx
    lt, st = layout.local_transform(), layout.shared_transform()
    root_w = np.ones(data.k) if weights is None else np.sqrt(np.asarray(weights, float))

    def evaluate(a: np.ndarray, b: np.ndarray):
        k = a.shape[0]
        P = layout.physical(a, b)
        dpa = lt.dp_dtheta(P[:, li])  # (K, p)
        dpb = st.dp_dtheta(P[0, si]) if si.size else np.zeros(0)
        r = np.zeros((k, data.m))
        Ja = np.zeros((k, data.m, li.size))
        Jb = np.zeros((k, data.m, layout.n_shared_coords))
        for (f, idx), z, (sr, si_) in zip(data.groups, data.group_z, data.group_scales):
            with np.errstate(all="ignore"):
                zm, dz = circuit.impedance_and_jacobian(P[idx], f)
                n = f.shape[-1]
                if data.weighting == "modulus-calc":
                    rr, jj = calc_modulus_residuals(z, zm, dz)
                else:
                    d = z - zm
                    rr = np.concatenate([d.real / sr, d.imag / si_], axis=1)
                    jj = -np.concatenate([dz.real / sr[:, :, None], dz.imag / si_[:, :, None]], axis=1)
                rr = rr * root_w[idx, None]
                jj = jj * root_w[idx, None, None]
            r[idx, : 2 * n] = rr
            Ja[idx, : 2 * n] = jj[:, :, li] * dpa[idx, None, :]
            if si.size:
                Jb[idx, : 2 * n, : si.size] = jj[:, :, si] * dpb[None, None, :]
            for j, c in enumerate(law):  # d p_k / d b_a = p_k, d p_k / d b_s = p_k x_k
                col = jj[:, :, c] * P[idx, c][:, None]
                Jb[idx, : 2 * n, si.size + 2 * j] = col
                Jb[idx, : 2 * n, si.size + 2 * j + 1] = col * layout.law_x[idx][:, None]
        bad = ~np.isfinite(r).all(axis=1)
        if bad.any():
            r[bad] = 1e100  # rejected by the LM acceptance test
        return r, Ja, Jb

    return evaluate


# --------------------------------------------------------------------------- entry point
def joint_fit(
    spectra: Sequence[Spectrum],
    definition: Any = "garnet-symmetric",
    *,
    shared: Sequence[str] = (),
    arrhenius: Sequence[str] = (),
    temperatures_K: Sequence[float] | None = None,
    arrhenius_form: str = "sigmaT",
    smooth: None | str | float = None,
    robust: bool = True,
    positions: Sequence[float] | None = None,
    weighting: str = "modulus",
    sigma: Sequence[Any] | None = None,
    fixed: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    start_values: Sequence[Mapping[str, float]] | None = None,
    area_cm2: float | None = None,
    thickness_cm: float | None = None,
    symmetric: bool = True,
    labels: Sequence[str] | None = None,
    max_iter: int = MAX_ITER,
    warn_verdicts: bool = True,
    noise_weighting: bool = True,
) -> JointFitResult:
    """Fit all checkpoints at once, with shared parameters and/or smoothness.

    Parameters
    ----------
    spectra : the checkpoints, in campaign order (order matters for smoothing).
    definition : circuit (library name, string, .toml, Circuit or CircuitDefinition).
    shared : free parameters that take one value for the whole campaign.
    arrhenius : resistances (parameters in ohm) that follow an Arrhenius law across the
        checkpoints instead of taking one free value each: R_k = R_A T_k exp(Ea / (k_B T_k))
        (``arrhenius_form="sigmaT"``: sigma*T, or 1/ASR*T, Arrhenius-activated) or
        R_k = R_A exp(Ea / (k_B T_k)) (``"sigma"``); two parameters per law (Ea in eV and
        R_A) fitted to every spectrum at once. Needs ``temperatures_K``. The result's
        :attr:`JointFitResult.arrhenius` gives Ea and R_A with their standard errors, and its
        ``sharing`` evidence weighs the laws (and any sharing) against the independent fits.
    temperatures_K : one temperature per spectrum, K (at least 3 different ones for a law).
    arrhenius_form : ``"sigmaT"`` (default, as :func:`eisfit.arrhenius`) or ``"sigma"``.
    smooth : None, ``"auto"`` (lambda by GCV) or a float lambda >= 0 (dimensionless,
        see :mod:`eisfit.series.smoothing`): penalty on the second differences of the
        local parameters across consecutive checkpoints (a trend linear in the
        checkpoints' positions is not penalised, at the ends as in the interior).
    robust : edge-preserving (Cauchy IRLS) smoothing weights; False = plain quadratic.
    positions : the checkpoints' positions for smoothing (e.g. time in hours), strictly
        increasing in the order of ``spectra``: second *divided* differences on them, so a
        trend linear in time is free however the checkpoints are spaced. None (default):
        equally spaced (the index).
    weighting, sigma : as :func:`eisfit.fit` (``sigma``: one array per spectrum, ohm).
    fixed : parameters held at the given values (all checkpoints).
    bounds : (lower, upper) per parameter, overriding the circuit definition.
    start_values : one dict of parameter values per checkpoint (the independent,
        seeded fits); missing ones are fitted with :func:`eisfit.fit` first.
    area_cm2, thickness_cm, symmetric : for derived quantities (ASR in ohm*cm2,
        sigma = L/(R*A) in S/cm), as :func:`eisfit.fit`.
    labels : checkpoint names (default: spectrum labels).
    warn_verdicts : warn (RuntimeWarning) when the data do not support the sharing or reject
        the smoothing; False for a caller that reports :attr:`JointFitResult.rejected_assumptions`
        itself (the campaign says what its table does about them).
    noise_weighting : True (default): each checkpoint weighted by its own noise level (see the
        module docstring); False: one noise level for all (every ``w_k = 1``), the convention of
        a plain stacked least-squares fit (EISFitpython's, lmfit's), to compare with one: a
        noisy checkpoint then weighs as much as a quiet one.
    """
    from ..model import load_circuit

    spectra = [spectrum_in_ohm(s, area_cm2) for s in spectra]  # a file read per area: divided by the area
    if len(spectra) < 2:
        raise FitError(f"joint_fit needs at least 2 spectra, got {len(spectra)}: one spectrum has nothing to share "
                       "or smooth across (fit it with eisfit.fit)")
    check_weighting(weighting)
    if sigma is not None and len(sigma) != len(spectra):
        raise FitError(f"sigma: {len(sigma)} arrays for {len(spectra)} spectra")
    defn = load_circuit(definition)
    circuit = defn.circuit
    names = list(circuit.param_names)
    fixed = {k: float(v) for k, v in (fixed or {}).items()}
    shared = [shared] if isinstance(shared, str) else list(shared or [])  # one name, not its characters
    arrhenius = [arrhenius] if isinstance(arrhenius, str) else list(arrhenius or [])
    check_joint_parameters(circuit, shared, arrhenius, fixed, bounds)
    law_t = _law_temperatures(arrhenius, temperatures_K, arrhenius_form, len(spectra))
    lam_spec = check_smooth(smooth)
    positions = _positions(positions, len(spectra))
    starts = _start_values(spectra, defn, start_values, weighting, sigma, fixed, bounds, names)
    layout = _layout(defn, names, fixed, shared, bounds, arrhenius, law_t, arrhenius_form)
    data = _CampaignData(spectra, weighting, sigma)
    n_res = data.n_residuals
    k = len(spectra)
    p, q = layout.local_idx.size, layout.n_shared_coords
    if p * k + q >= n_res:
        raise FitError(f"{p * k + q} free parameters for only {n_res} real residuals")

    # 1. independent fits (every free parameter local), from the seeded values; their chi-square
    # per degree of freedom is each checkpoint's noise level, which weights it from here on
    indep_layout = _layout(defn, names, fixed, [], bounds)
    it_ = indep_layout.local_transform()
    start_p = np.array([[s[n] for n in names] for s in starts])
    a_ind0 = it_.clip_internal(it_.to_internal(start_p[:, indep_layout.local_idx]))
    indep = independent_lm(_box(_make_evaluate(circuit, indep_layout, data), indep_layout), a_ind0,
                           max_iter=max_iter)
    weights = (noise_weights(indep.chisq_blocks, data.n_points, indep_layout.local_idx.size)
               if check_choice("noise_weighting", noise_weighting) else np.ones(k))
    indep_problem = _box(_make_evaluate(circuit, indep_layout, data, weights), indep_layout)
    indep = _reweighted(indep_problem, indep)  # the same optimum, its chi-square noise-weighted
    problem = _box(_make_evaluate(circuit, layout, data, weights), layout)

    # 2. unsmoothed fit with the shared parameters and laws (start: independent optimum,
    # median shared, each law's line through the independent values), continued until it converges
    if q:
        p_ind = indep_layout.physical(indep.a, np.zeros(0))
        th_ind = layout.transform.to_internal(p_ind)
        a0 = th_ind[:, layout.local_idx]
        b0 = np.r_[np.median(th_ind[:, layout.shared_idx], axis=0), _law_starts(layout, p_ind)]
        base = _minimise(problem, a0, b0, None, max_iter, n_res - (k * p + q))
        indep = _independent_below(indep_problem, indep, base, layout, indep_layout, data.n_points, max_iter)
    else:
        base = indep

    # 3. smoothing; an unsmoothed fit the (more constrained) smoothed one ends below is not at
    # its minimum: fitted again from the smoothed optimum, and smoothed again from there
    final, plan, edf = base, None, float(k * p)
    notes = []
    if lam_spec is not None and k > 2 and p:
        final, plan, edf = _smoothed_fit(problem, base, lam_spec, robust, n_res, q, max_iter, positions)
        if _below(final.chisq, base.chisq, n_res - (k * p + q)):
            again = _minimise(problem, final.a, final.b, None, max_iter, n_res - (k * p + q))
            if again.chisq < base.chisq:
                base = again
                # (without shared coordinates the unsmoothed fit is the independent one)
                indep = (_independent_below(indep_problem, indep, base, layout, indep_layout, data.n_points,
                                            max_iter) if q else base)
                final, plan, edf = _smoothed_fit(problem, base, lam_spec, robust, n_res, q, max_iter, positions)
    elif lam_spec is not None:
        why = (f"a second difference needs at least 3 checkpoints, there are {k}" if k <= 2 else
               "no local parameter is left to smooth (every free parameter is shared or follows an Arrhenius law)")
        notes.append(f"Smoothing (smooth = {smooth!r}) had no effect: {why}.")
        warnings.warn(f"joint fit: {notes[-1]}", RuntimeWarning, stacklevel=user_stacklevel())

    undetermined = _undetermined(base, final, plan, n_res - (k * p + q), q)
    sharing = None
    if q:
        sharing = sharing_evidence(shared, k, n_res, base.chisq, k * p + q, indep.chisq,
                                   k * (p + layout.shared_idx.size + layout.law_idx.size), arrhenius=arrhenius,
                                   undetermined=undetermined)
    result = _assemble(
        defn, layout, data, final, plan, edf, indep, indep_layout, sharing, spectra, labels,
        weighting, fixed, area_cm2, thickness_cm, symmetric, robust, weights, undetermined, notes,
        noise_weighting, unsmoothed=base,
    )
    if result.smoothing is not None:
        result.smoothing.update(smoothing_evidence(final.chisq, base.chisq, n_res - (k * p + q), k * p - edf,
                                                   automatic=lam_spec == "auto", undetermined=undetermined))
    if warn_verdicts:
        if undetermined:
            warnings.warn(f"joint fit: undetermined: {undetermined}; its verdicts are not the data's",
                          RuntimeWarning, stacklevel=user_stacklevel())
        for statement in result.rejected_assumptions:
            warnings.warn(statement, RuntimeWarning, stacklevel=user_stacklevel())
    return result


def noise_weights(chisq: Sequence[float], n_points: Sequence[int], n_free: int) -> np.ndarray:
    """The noise weight ``w_k = s^2 / s_k^2`` of each checkpoint (see the module docstring):
    ``s_k^2 = chisq_k / (2 n_k - n_free)`` of its independent fit (``chisq``, ``n_points``),
    ``s^2`` the pooled ``sum chisq_k / sum (2 n_k - n_free)``. A checkpoint without degrees of
    freedom (or a chi-square that is not a number) weighs 1, and none more than
    ``1 / MIN_NOISE_RATIO`` (a checkpoint whose fit is exact, on noise-free data); all 1 when the
    pooled s^2 is 0 (every fit exact)."""
    chisq = np.asarray(chisq, float)
    dof = 2 * np.asarray(n_points, float) - n_free
    ok = (dof > 0) & np.isfinite(chisq) & (chisq >= 0)
    pooled = float(chisq[ok].sum() / dof[ok].sum()) if ok.any() else math.nan
    if not (math.isfinite(pooled) and pooled > 0):
        return np.ones(chisq.size)
    s2 = np.where(ok, chisq / np.where(ok, dof, 1.0), pooled)
    return pooled / np.maximum(s2, MIN_NOISE_RATIO * pooled)


def _reweighted(problem: BlockProblem, out: BlockLMOutcome) -> BlockLMOutcome:
    """``out`` (an optimum of the same problem with other weights per block) evaluated in
    ``problem``: its chi-square and normal matrix there (each block's minimum does not move)."""
    r, A, B = problem.evaluate(out.a, out.b)
    blocks = np.sum(r * r, axis=1)
    return replace(out, chisq=float(blocks.sum()), chisq_blocks=blocks, normal=normal_blocks(r, A, B))


def _minimise(problem: BlockProblem, a0: np.ndarray, b0: np.ndarray, penalty, max_iter: int,
              dof: float) -> BlockLMOutcome:
    """:func:`~eisfit.series.solver.block_lm` from (a0, b0), then started again from where it
    stopped (its damping reset) until a run converges without lowering the objective by more
    than :data:`NEGATIVE_RISE_S2` of s^2 = chisq / ``dof``, at most :data:`MAX_RESTARTS` times;
    ``converged`` is False when the last run did not converge or still lowered it. A real
    32-sweep campaign's shared fit stopped on its iteration limit with a chi-square 10x its
    optimum's, and its dAIC of -4774 (-363 at the optimum) was reported as the data's verdict;
    ill-conditioned (an element collapsed), the solver also stops on a step too small to lower
    the objective far from the optimum, which a fresh start moves on from."""
    def objective(o: BlockLMOutcome) -> float:
        return o.chisq + o.penalty

    out = block_lm(problem, a0, b0, penalty=penalty, max_iter=max_iter)
    n_iter, settled = out.n_iter, False
    for _ in range(MAX_RESTARTS):
        again = block_lm(problem, out.a, out.b, penalty=penalty, max_iter=max_iter)
        n_iter += again.n_iter
        s2 = out.chisq / dof if dof > 0 else math.nan
        gain = objective(out) - objective(again)
        if objective(again) <= objective(out):
            out = again
        if again.converged and not (s2 > 0 and gain > NEGATIVE_RISE_S2 * s2):
            settled = True
            break
    return replace(out, n_iter=n_iter, converged=settled)


# a more constrained fit below a freer one by more than this (in s^2): the freer one is not at its minimum
NEGATIVE_RISE_S2 = 0.01


def _below(constrained: float, free: float, dof: float) -> bool:
    """Whether a more constrained fit's chi-square ``constrained`` lies below the freer fit's
    ``free`` by more than :data:`NEGATIVE_RISE_S2` of the freer fit's s^2 = free / dof: the
    freer fit then did not reach its minimum (it cannot fit worse than a constrained one)."""
    s2 = free / dof if dof > 0 else math.nan
    return bool(s2 > 0 and (free - constrained) / s2 > NEGATIVE_RISE_S2)


def _independent_below(problem: BlockProblem, indep: BlockLMOutcome, base: BlockLMOutcome, layout: _Layout,
                       indep_layout: _Layout, n_points: np.ndarray, max_iter: int) -> BlockLMOutcome:
    """The independent fits, each checkpoint's fitted again from the shared (or law) fit's
    values where those fit it better (a checkpoint's own fit is then not at its minimum, and its
    chi-square rise would come out negative); every checkpoint keeps the lower of the two."""
    dof = 2 * np.asarray(n_points, float) - indep_layout.local_idx.size
    lower = np.array([_below(cb, ci, d) for cb, ci, d in zip(base.chisq_blocks, indep.chisq_blocks, dof)])
    if not lower.any():
        return indep
    it_ = indep_layout.local_transform()
    start = indep.a.copy()
    p_base = layout.physical(base.a, base.b)
    start[lower] = it_.clip_internal(it_.to_internal(p_base[lower][:, indep_layout.local_idx]))
    again = independent_lm(problem, start, max_iter=max_iter)
    better = again.chisq_blocks < indep.chisq_blocks
    return _reweighted(problem, replace(indep, a=np.where(better[:, None], again.a, indep.a)))


def _undetermined(base: BlockLMOutcome, final: BlockLMOutcome, plan, dof: float, q: int) -> str:
    """Why the joint fit decides nothing ("" when it does): a fit its verdicts rest on did not
    converge, or the unsmoothed fit still ends above the smoothed one."""
    if not base.converged and q:
        return (f"the joint fit did not converge (the fit with the shared parameters stopped after {base.n_iter} "
                "iterations)")
    if not final.converged and plan is not None and plan.active:
        return f"the joint fit did not converge (the smoothed fit stopped after {final.n_iter} iterations)"
    if plan is not None and plan.active and _below(final.chisq, base.chisq, dof):
        return ("the joint fit did not converge (the unsmoothed fit ends above the smoothed one, which is more "
                "constrained: it is not at its minimum)")
    return ""


def _box(evaluate, layout: _Layout) -> BlockProblem:
    lt = layout.local_transform()
    return BlockProblem(evaluate, lt.internal_lower, lt.internal_upper, *layout.shared_bounds())


def _law_starts(layout: _Layout, p_ind: np.ndarray) -> np.ndarray:
    """(b_a, b_s) of every Arrhenius law: the least-squares line of the independent fits'
    ln p - offset against the scaled 1/T."""
    out = []
    for c in layout.law_idx:
        y = np.log(np.clip(p_ind[:, c], 1e-300, None)) - layout.law_offset
        slope, intercept = np.polyfit(layout.law_x, y, 1)
        out += [intercept, slope]
    return np.array(out, float)


ARRHENIUS_FORMS = ("sigmaT", "sigma")


MIN_LAW_TEMPERATURES = 3  # an Arrhenius law (two parameters) across fewer temperatures would not be tested


def _law_temperatures(arrhenius: list[str], temperatures_K, form: str, k: int) -> np.ndarray | None:
    """The checkpoints' temperatures (K) when parameters follow an Arrhenius law; FitError
    when they cannot (an unknown form; no, too few or bad temperatures)."""
    if not arrhenius:
        return None
    if form not in ARRHENIUS_FORMS:
        raise FitError(f"arrhenius_form must be 'sigmaT' or 'sigma', got {form!r}")
    if temperatures_K is None:
        raise FitError("arrhenius needs temperatures_K: one temperature (K) per spectrum")
    t = np.asarray(temperatures_K, dtype=float).reshape(-1)
    if t.size != k:
        raise FitError(f"temperatures_K: {t.size} temperatures for {k} spectra")
    if not (np.all(np.isfinite(t)) and np.all(t > 0)):
        raise FitError("temperatures_K must be finite and > 0 K (give kelvin, not Celsius)")
    warn_if_celsius_as_kelvin(t, "joint_fit: temperatures_K", fix="add 273.15")
    if np.unique(t).size < MIN_LAW_TEMPERATURES:
        raise FitError(f"an Arrhenius law across the checkpoints needs at least {MIN_LAW_TEMPERATURES} different "
                       f"temperatures, got {np.unique(t).size}")
    return t


def _smoothed_fit(problem, base, lam_spec, robust, n_res, q, max_iter, positions=None):
    U, a0 = base.normal.U, base.a
    if lam_spec == "auto":
        plan = sm.choose_lambda(U, a0, base.chisq, n_res, q, robust=robust, positions=positions)
    else:
        plan = sm.plan_for_lambda(U, a0, float(lam_spec), robust, positions=positions)
    if not plan.active:
        return base, plan, float(a0.size)
    dof = n_res - (a0.size + q)
    out = _minimise(problem, a0, base.b, plan.penalty, max_iter, dof)
    if plan.delta is not None:  # one IRLS update of the edge weights at the nonlinear optimum
        edge = sm.robust_edges(out.a, plan.delta, plan.rows)
        plan = replace(plan, edge=edge)
        out = _minimise(problem, out.a, out.b, plan.penalty, max_iter, dof)
    return out, plan, sm.effective_dof(out.normal.U, plan.penalty)


def _positions(positions, k: int) -> np.ndarray | None:
    """The checkpoints' positions for the smoothness penalty (None: equally spaced); FitError
    unless there is one finite value per spectrum, strictly increasing."""
    if positions is None:
        return None
    s = np.asarray(positions, dtype=float).reshape(-1)
    if s.size != k:
        raise FitError(f"positions: {s.size} values for {k} spectra")
    if not (np.all(np.isfinite(s)) and np.all(np.diff(s) > 0)):
        raise FitError("positions must be finite and strictly increasing, in the order of the spectra")
    return s


# --------------------------------------------------------------------------- helpers
def check_joint_parameters(circuit, shared: Sequence[str] = (), arrhenius: Sequence[str] = (),
                           fixed: Mapping[str, float] | None = None, bounds: Mapping[str, Any] | None = None,
                           arrhenius_option: str = "arrhenius") -> None:
    """FitError unless the parameters named for a joint fit of ``circuit`` can take those
    parts: every name is the circuit's, none is named twice, none both shared and fixed,
    and an Arrhenius-law parameter is a resistance (ohm) neither shared nor fixed.
    ``arrhenius_option``: what the caller calls the Arrhenius names (in messages). Run by
    :func:`joint_fit`, and by a campaign before its first fit."""
    names = list(circuit.param_names)
    fixed = fixed or {}
    for what, given in (("shared", shared), ("fixed", fixed), ("bounds", bounds or {}),
                        (arrhenius_option, arrhenius)):
        unknown = sorted(set(given) - set(names))
        if unknown:
            same = next((n for n in names if n.lower() == unknown[0].lower()), None)  # --shared r1: R1
            hint = f" (did you mean {same!r}?)" if same else did_you_mean(unknown[0], names)
            raise FitError(f"{what}: unknown parameter(s) {', '.join(unknown)}{hint}; "
                           f"the circuit has {', '.join(names)}")
    check_joint_roles(shared, arrhenius, fixed, arrhenius_option)
    units = dict(zip(names, circuit.param_units))
    not_ohm = [n for n in arrhenius if units[n] != "ohm"]
    if not_ohm:
        raise FitError(f"{arrhenius_option}: {', '.join(not_ohm)} is not a resistance (ohm); an Arrhenius law is "
                       "fitted to resistances")


def check_joint_roles(shared: Sequence[str] = (), arrhenius: Sequence[str] = (),
                      fixed: Mapping[str, float] | None = None, arrhenius_option: str = "arrhenius") -> None:
    """FitError unless the parts named for a joint fit exclude each other, whatever the circuit:
    no name twice, none both shared and fixed, no Arrhenius-law parameter shared or fixed.
    Part of :func:`check_joint_parameters`; a campaign runs it with its settings, before it
    reads a file (:class:`eisfit.settings.CampaignSettings`)."""
    fixed = fixed or {}
    both = sorted(set(shared) & set(fixed))
    if both:
        raise FitError(f"parameter(s) {', '.join(both)} cannot be both shared and fixed")
    for what, given in (("shared", shared), (arrhenius_option, arrhenius)):
        twice = sorted({n for n in given if list(given).count(n) > 1})
        if twice:
            raise FitError(f"{what}: {', '.join(twice)} named twice")
    for other, given in (("shared", shared), ("fixed", fixed)):
        both = sorted(set(arrhenius) & set(given))
        if both:
            raise FitError(f"parameter(s) {', '.join(both)} cannot both follow an Arrhenius law and be {other}")


def _layout(defn, names, fixed, shared, bounds, arrhenius=(), temperatures_K=None, form="sigmaT") -> _Layout:
    circuit = defn.circuit
    lower = np.empty(len(names))
    upper = np.empty(len(names))
    for i, n in enumerate(names):
        lo, hi = (bounds or {}).get(n, defn.bounds[n])
        lower[i] = -np.inf if lo is None else float(lo)
        upper[i] = np.inf if hi is None else float(hi)
        if not lower[i] < upper[i]:
            raise FitError(f"bounds of {n}: lower {lower[i]} must be below upper {upper[i]}")
    log_mask = log_scaled(circuit, lower)
    fixed_values = np.array([fixed.get(n, np.nan) for n in names])
    local = [i for i, n in enumerate(names) if n not in fixed and n not in shared and n not in arrhenius]
    shared_idx = [names.index(n) for n in shared]
    laws = {} if not arrhenius else {"law_idx": np.array([names.index(n) for n in arrhenius], int),
                                     "law_t": np.asarray(temperatures_K, float), "law_form": form}
    return _Layout(list(names), fixed_values, np.array(local, int), np.array(shared_idx, int),
                   Transform(log_mask, lower, upper), **laws)


def _start_values(spectra, defn, start_values, weighting, sigma, fixed, bounds, names):
    if start_values is not None and len(start_values) != len(spectra):
        raise FitError(f"start_values: {len(start_values)} dicts for {len(spectra)} spectra")
    out = []
    for i, s in enumerate(spectra):
        given = None if start_values is None else start_values[i]
        if given is None or any(n not in given and n not in fixed for n in names):
            from ..fitting import fit

            res = fit(s, defn, weighting=weighting, sigma=None if sigma is None else sigma[i],
                      fixed=fixed or None, bounds=bounds, drop_inductive=False, kk=False)
            given = {**res.values, **(given or {})}
        vals = {n: float(given[n]) if n in given else float("nan") for n in names}
        vals.update(fixed)
        out.append(vals)
    return out


def _assemble(defn, layout, data, out, plan, edf, indep, indep_layout, sharing, spectra, labels,
              weighting, fixed, area_cm2, thickness_cm, symmetric, robust, weights, undetermined,
              notes, noise_weighting=True, unsmoothed: BlockLMOutcome | None = None) -> JointFitResult:
    """The :class:`JointFitResult` of the final fit ``out`` (smoothed when ``plan`` is active);
    ``unsmoothed``: the fit with the same shared parameters and laws but no smoothing (``out``
    itself when None), which the laws' evidence weighs against the independent fits."""
    circuit = defn.circuit
    names = layout.names
    k = data.k
    q = layout.n_shared_coords
    n_res = data.n_residuals
    m_eff = q + edf
    P = layout.physical(out.a, out.b)
    penalty = plan.penalty if (plan is not None and plan.active) else None
    cov_names = [names[i] for i in np.r_[layout.local_idx, layout.shared_idx, layout.law_idx].astype(int)]
    covs, flags, shared_cov = _physical_covariances(out, penalty, layout, n_res - m_eff, P, data.n_points)
    lower, upper = layout.transform.lower, layout.transform.upper
    values, stderr = [], []
    on_bound = _at_bounds(layout.transform, P)
    for i in range(k):
        values.append({n: float(P[i, j]) for j, n in enumerate(names)})
        se = {n: float("nan") for n in names}
        if covs[i] is not None:
            sd = np.sqrt(np.clip(np.diag(covs[i]), 0, None))
            se.update({n: float(v) for n, v in zip(cov_names, sd)})
        for j, n in enumerate(names):
            if n not in fixed and on_bound[i, j]:
                se[n] = float("nan")
                flags[i].append(f"at-bound:{n}")
        stderr.append(se)
    if undetermined:
        for f in flags:
            f.append("not-converged")

    roles = result_roles(defn, values[0], area_cm2)
    settings = derived_settings(defn, roles, {"area_cm2": area_cm2, "thickness_cm": thickness_cm,
                                              "symmetric": symmetric})
    derived, units = _derived_per_checkpoint(P, names, covs, cov_names, settings)

    ind_P = indep_layout.physical(indep.a, np.zeros(0))
    ind_names = [names[i] for i in indep_layout.local_idx]
    ind_covs, _, _ = _physical_covariances(indep, None, indep_layout, n_res - indep.a.size, ind_P,
                                        data.n_points)
    ind_values, ind_stderr = [], []
    for i in range(k):
        ind_values.append({n: float(ind_P[i, j]) for j, n in enumerate(names)})
        se = {n: float("nan") for n in names}
        if ind_covs[i] is not None:
            se.update({n: float(v) for n, v in zip(ind_names, np.sqrt(np.clip(np.diag(ind_covs[i]), 0, None)))})
        ind_stderr.append(se)

    smoothing = None
    if plan is not None:
        smoothing = _smoothing_dict(plan, edf, layout, names, robust)
    laws = None
    if layout.law_idx.size:
        laws = _arrhenius_dict(layout, out.b, shared_cov, names, sharing)
        dof = 2 * data.n_points - (layout.local_idx.size + layout.shared_idx.size + layout.law_idx.size)
        removed = layout.shared_idx.size * (k - 1) + layout.law_idx.size * (k - 2)
        # Like with like: the laws (and sharing) removed exactly ``removed`` parameters from the
        # independent fits, and the fit with them but without smoothing is the one that differs from
        # the independent fits by these alone, so its rise is a chi-square of ``removed`` degrees of
        # freedom when the laws hold. The smoothed fit's rise also holds the smoothing's, a further
        # k*p - edf effective parameters, which smoothing_evidence weighs (smoothed vs this fit):
        # charged to the laws, a true law was rejected in 4 of 12 seeds (29.3 s^2 = 8.9 of the law's
        # + 20.3 of the smoothing's, against 8 parameters). Each step of indep > laws > laws+smoothing
        # is tested against the parameters it removed, as the sharing's AIC already was.
        law_fit = out if unsmoothed is None else unsmoothed
        laws["evidence"] = law_evidence(law_fit.chisq_blocks, indep.chisq_blocks, dof, removed,
                                        [names[i] for i in layout.law_idx], undetermined=undetermined)
    return JointFitResult(
        labels=list(labels) if labels is not None else [s.label for s in spectra],
        param_names=names, shared=[names[i] for i in layout.shared_idx],
        local=[names[i] for i in layout.local_idx], fixed=dict(fixed), values=values, stderr=stderr,
        covariance=covs, cov_names=cov_names, derived=derived, derived_units=units, roles=roles,
        chisq=out.chisq, chisq_checkpoints=[float(c) for c in out.chisq_blocks / weights], n_residuals=n_res,
        n_free=float(m_eff), converged=not undetermined, n_iter=int(out.n_iter), flags=flags,
        sharing=sharing, smoothing=smoothing, independent_values=ind_values,
        independent_stderr=ind_stderr, independent_chisq=[float(c) for c in indep.chisq_blocks / weights],
        arrhenius=laws, noise_weights=[float(w) for w in weights], undetermined=undetermined, notes=list(notes),
        definition=defn,
        settings={"circuit": circuit.string, "circuit_name": defn.name, "weighting": weighting,
                  "units": dict(zip(circuit.param_names, circuit.param_units)),
                  "bounds": {n: (float(lower[j]), float(upper[j])) for j, n in enumerate(names)},
                  "area_cm2": area_cm2, "thickness_cm": thickness_cm, "symmetric": bool(symmetric),
                  "covariance": "s_w^2 H^-1 of the noise-weighted problem, s_w^2 = chisq/(N - M) of its "
                                "noise-weighted chisq (M effective with smoothing)",
                  "noise_weighting": ("checkpoint k weighted by w_k = s^2/s_k^2, s_k^2 = chisq_k/(2 n_k - p) of its "
                                      "independent fit, s^2 the pooled one") if noise_weighting else
                                     "none: one noise level for every checkpoint (w_k = 1)"},
    )


def _derived_per_checkpoint(P: np.ndarray, names: list[str], covs: list, cov_names: list[str],
                            settings: dict) -> tuple[list[dict[str, float]], dict[str, str]]:
    """Derived quantities of every checkpoint of a joint fit (values ``P`` (K, len(names)),
    covariances over ``cov_names``, None where a checkpoint has none: its stderr nan), in one
    batch, and their units."""
    m = len(cov_names)
    stack = np.array([np.full((m, m), np.nan) if c is None else np.asarray(c, float) for c in covs])
    batch, units = derived_quantities_batch({n: P[:, j] for j, n in enumerate(names)}, stack, cov_names,
                                            **settings)
    derived = [{key: float(v[i]) for key, v in batch.items()} for i in range(P.shape[0])]
    for d, cov in zip(derived, covs):
        if cov is None:
            d.update({key: math.nan for key in d if key.endswith("_stderr")})
    return derived, units


def _rejected(evidence: Mapping[str, Any], supported_by_default: bool = True) -> bool:
    """Whether an evidence dict (sharing, smoothing, law) is the data's rejection: its
    ``verdict`` is "rejected" (not "undetermined"); a dict without one (pickled by an older
    eisfit): ``supported`` is False."""
    verdict = evidence.get("verdict")
    if verdict is not None:
        return verdict == "rejected"
    return not evidence.get("supported", supported_by_default)


def _median_relative_errors(names: Sequence[str], stderr: Sequence[Mapping[str, float]],
                            values: Sequence[Mapping[str, float]]) -> list[float]:
    """Per name, the median over checkpoints of stderr / |value| where it is finite; nan where
    no checkpoint has one (a joint fit that did not converge has no covariance)."""
    if not names:
        return []
    ratios = np.array([[_relative(e[n], v[n]) for n in names] for e, v in zip(stderr, values)], float)
    ratios = ratios.reshape(-1, len(names))
    return [float(np.median(col[np.isfinite(col)])) if np.isfinite(col).any() else math.nan for col in ratios.T]


def _percent_or_none(fraction: float) -> str:
    return f"{100 * fraction:.2g} %" if math.isfinite(fraction) else "none (no finite standard error)"


def _relative(stderr: float, value: float) -> float:
    """stderr / |value|, nan where the value is 0 or either is not finite."""
    with np.errstate(all="ignore"):
        return float(stderr / abs(value)) if value != 0 and math.isfinite(value) else float("nan")


COLLAPSE_RATIO = 1e-12  # a zero lower bound counts as reached 12 decades below the parameter's scale


def _at_bounds(transform: Transform, P: np.ndarray) -> np.ndarray:
    """(K, M): which parameters of each checkpoint sit on a bound. The single fit's rule
    (:meth:`~eisfit.fitting.optimise.Transform.on_bounds`), and, since a joint fit gives a
    log coordinate bounded below by 0 no collapse floor, such a parameter also counts as
    on its bound ``COLLAPSE_RATIO`` below its magnitude over the checkpoints (a CPE Q of
    1e-10 S*s^n is not "on" 0)."""
    with np.errstate(invalid="ignore"):
        low, high = transform.on_bounds(transform.to_internal(P))
        scale = np.nanmax(np.abs(P), axis=0)
        collapsed = transform.log_mask & (transform.lower == 0) & (P <= COLLAPSE_RATIO * scale)
    return low | high | collapsed


def _physical_covariances(out, penalty, layout: _Layout, dof: float, P: np.ndarray,
                          n_points: np.ndarray):
    """Per-checkpoint covariance of the (local, shared, Arrhenius-law) free parameters in
    physical units, the flags, and the covariance of the shared coordinates (internal,
    scaled by s^2; None when singular)."""
    k = P.shape[0]
    flags: list[list[str]] = [[] for _ in range(k)]
    if dof <= 0:
        return [None] * k, [["singular-covariance"] for _ in range(k)], None
    try:
        loc, sh, cr = block_covariance(out.normal, penalty, 1.0)
    except np.linalg.LinAlgError:
        return [None] * k, [["singular-covariance"] for _ in range(k)], None
    if layout.n_shared_coords == 0 and penalty is None:
        # decoupled checkpoints: each its own s^2 = chisq_k / (2 n_k - p), as a single fit
        dof_k = 2 * n_points - layout.local_idx.size
        s2 = np.where(dof_k > 0, out.chisq_blocks / np.maximum(dof_k, 1), np.nan)
    else:
        s2 = np.full(k, out.chisq / dof)  # one joint problem: pooled s^2 (lmfit's convention)
    loc = loc * s2[:, None, None]
    cr = cr * s2[:, None, None]
    sh = sh * s2[0]
    p, q1, n_law = layout.local_idx.size, layout.shared_idx.size, layout.law_idx.size
    idx = np.r_[layout.local_idx, layout.shared_idx].astype(int)
    log_mask = layout.transform.log_mask[idx]
    n_internal = p + q1 + 2 * n_law
    covs: list[np.ndarray | None] = []
    for i in range(k):
        c = np.empty((n_internal, n_internal))
        c[:p, :p] = loc[i]
        c[:p, p:] = cr[i]
        c[p:, :p] = cr[i].T
        c[p:, p:] = sh
        # d physical / d internal: diagonal for local and shared parameters, and per law
        # p_k (d b_a) and p_k x_k (d b_s)
        g = np.zeros((p + q1 + n_law, n_internal))
        g[np.arange(p + q1), np.arange(p + q1)] = np.where(log_mask, P[i, idx], 1.0)
        for j, col in enumerate(layout.law_idx):
            g[p + q1 + j, p + q1 + 2 * j] = P[i, col]
            g[p + q1 + j, p + q1 + 2 * j + 1] = P[i, col] * layout.law_x[i]
        c = g @ c @ g.T
        if not np.all(np.isfinite(c)) or np.any(np.diag(c) < 0):
            covs.append(None)
            flags[i].append("singular-covariance")
        else:
            covs.append(c)
    return covs, flags, sh


def _smoothing_dict(plan, edf, layout, names, robust) -> dict[str, Any]:
    local = [names[i] for i in layout.local_idx]
    jumps = []
    if plan.active:
        for kk, j in sm.jump_locations(plan.edge, JUMP_EDGE_WEIGHT):
            if plan.lam[j] > 0:
                rows = plan.edge[max(kk - 1, 0):kk + 1, j]  # the rows centred on both sides of the jump
                jumps.append({"after_checkpoint": int(kk), "parameter": local[j], "edge_weight": float(rows.max())})
    rule = {"gcv": "generalised cross-validation on the Gauss-Newton linearisation at the unsmoothed fit",
            "fixed": "given"}.get(plan.rule, plan.rule)
    return {
        "lambda": {n: float(v) for n, v in zip(local, plan.lam)},
        "rule": plan.rule,
        "rule_description": rule,
        "robust": bool(robust and plan.delta is not None),
        "edf": float(edf),
        "scales": {n: float(s) for n, s in zip(local, plan.scales)},
        "jumps": jumps,
        "penalty": "sqrt(lambda*c_kj)*D2_kj/tau_j, D2 = second divided difference of theta on the checkpoints' "
                   "positions, theta = ln p (scale) or p (exponent)",
        "spacing": plan.spacing,
    }


def _arrhenius_dict(layout: _Layout, b: np.ndarray, shared_cov: np.ndarray | None, names: list[str],
                    evidence: dict | None) -> dict[str, Any]:
    """Each law's activation energy (eV) and prefactor R_A with standard errors:
    ln R = ln R_A + offset + (Ea / k_B)(1/T), from ln R = b_a + offset + b_s (1/T - mean) / scale."""
    from ..analysis.arrhenius import K_B_EV_PER_K

    q1 = layout.shared_idx.size
    form = layout.law_form
    mean, spread = layout.law_inverse_t
    laws = {}
    for j, col in enumerate(layout.law_idx):
        ia, is_ = q1 + 2 * j, q1 + 2 * j + 1
        slope = b[is_] / spread  # d ln R / d(1/T), K
        ln_ra = b[ia] - slope * mean
        if shared_cov is not None:
            var_s = shared_cov[is_, is_] / spread**2
            # ln R_A = b_a - b_s * mean / spread: its variance from the (b_a, b_s) block
            grad = np.array([1.0, -mean / spread])
            var_ra = float(grad @ shared_cov[np.ix_([ia, is_], [ia, is_])] @ grad)
            slope_se, ln_ra_se = math.sqrt(max(var_s, 0.0)), math.sqrt(max(var_ra, 0.0))
        else:
            slope_se = ln_ra_se = math.nan
        r_a = math.exp(ln_ra)
        laws[names[col]] = {
            "ea_eV": float(slope * K_B_EV_PER_K), "ea_stderr_eV": float(slope_se * K_B_EV_PER_K),
            "prefactor": r_a, "prefactor_stderr": r_a * ln_ra_se,
            "prefactor_unit": "ohm/K" if form == "sigmaT" else "ohm",
            "law": ("R = R_A * T * exp(Ea / (k_B * T))" if form == "sigmaT" else "R = R_A * exp(Ea / (k_B * T))"),
            "form": form,
        }
    return {"laws": laws, "statement": evidence["statement"] if evidence else "",
            "temperatures_K": [float(t) for t in layout.law_t],
            "temperature_note": celsius_as_kelvin_note(layout.law_t, "the temperatures", fix="give them in kelvin")}
