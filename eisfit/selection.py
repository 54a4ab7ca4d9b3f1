"""Which circuit? Suggest the circuit the data support (issue 16).

:func:`suggest_circuit` reads the spectrum's features (DRT peaks, an inductive
high-frequency tail, the low-frequency behaviour), builds a small set of candidate
circuits, fits them with :func:`eisfit.fit`, and ranks them:

1. a candidate whose residuals are well above the data's own noise level (Lin-KK) has a
   *lack of fit* and is rejected;
2. a candidate with a parameter the data cannot inform (*unresolved*: a resistance far
   above |Z|, a time constant more than a decade outside the measured range, an element
   collapsed onto its bound, an uncertainty larger than the value) is rejected;
3. the remaining (adequate) candidates are ranked by BIC (or AIC), and among the adequate
   circuits within :data:`BIC_TIE` of the best criterion (which the data do not tell
   apart) the one without a Gerischer (G, Gs) is chosen, then the smallest
   (:func:`tie_break`): a Gerischer must beat the circuits of arcs and Warburgs by more
   than the tie margin, whatever its parameter count.

The search fits the circuits the features point to smallest first, goes on up to
:data:`LARGER_PARAMS` parameters beyond the first adequate one (the criterion decides),
and adds neighbours (one arc more or fewer, a series L, R0 toggled, a CPE -> C) while
nothing is adequate, and the smaller variants of every candidate rejected as unresolved
(:meth:`_Search._refinements`): 3-12 candidate fits per spectrum (:data:`MAX_FITS`), and
beyond that budget the series-L variants (at most :data:`INDUCTANCE_PROPOSALS`) of leading
candidates whose residuals call for a lead inductance (:func:`series_inductance_gain`) and
up to :data:`PROPOSAL_ROUNDS` rounds of at most :data:`DIFFUSION_PROPOSALS` diffusion
alternatives of the leading candidates (:meth:`_Search._diffusion_proposals`: the other
diffusion topology, a G or Gs, a W for a Wo/Ws beyond the data or a Ws/Wo for a W, and the
smaller variants of a lead left unresolved).

The lack-of-fit ratio and the unresolved test are computed here from the fit result
and the Lin-KK noise level (:func:`lack_of_fit_ratio`, :func:`unresolved_parameters`);
they are small functions meant to be swapped for the fit's own ``lack-of-fit`` and
``unresolved:<name>`` flags once the engine provides them (issue 13).

This module sits above :mod:`eisfit.fitting` and :mod:`eisfit.analysis`; analysis never
imports it, and fitting only through the one-line ``circuit="auto"`` hook at the top of
:func:`eisfit.fit` (imported at call time).
"""
from __future__ import annotations

import dataclasses
import math
import time
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ._processes import map_jobs
from .analysis.derived import APEX_OUTSIDE_RANGE, INTERFACE_FROM_F_PER_CM2, arc_tau_s, capacitance_bands, guess_roles
from .analysis.quality import MISFIT_RATIO, kk_noise_level, lack_of_fit_ratio as quality_lack_of_fit_ratio
from .errors import DataError, EisfitError, FitError
from .fitting.flags import PROFILE_OPEN_FLAG
from .fitting.intercept import InterceptOnly, intercept_only
from .model import load_circuit
from .model.elements import APEX_KINDS, WARBURG_KINDS
from .model.weighting import residual_scales
from .spectrum import Spectrum, as_spectrum, not_a_spectrum_hint, require_distinct_frequencies
from .units import format_value

__all__ = ["suggest_circuit", "candidate_list", "CircuitSuggestion", "fit_auto", "lack_of_fit_ratio",
           "unresolved_parameters", "intercept_only", "InterceptOnly", "circuit_from_shape", "CircuitShape",
           "choose_common_circuit", "CommonChoice", "differing_circuits_note"]

LACK_OF_FIT_RATIO = 1.5  # rms residual / Lin-KK noise level above which a model misses the data
R_UNRESOLVED_FACTOR = 100.0  # a resistance above 100 x max|Z| is not informed by the data
VANISHING_FRACTION = 5e-3  # an arc's R or a diffusion Z0 below 0.5 % of |Z| at its frequency is not there
TAU_UNRESOLVED_DECADES = 1.0  # a time constant this far outside the measured range is not informed
BIC_TIE = 2.0  # candidates within this of the best criterion count as equally supported
LARGER_PARAMS = 3  # after an adequate candidate, circuits up to 3 parameters larger are still fitted
MAX_FITS = 12  # candidate fits of the automatic search (user candidates are all fitted)
INDUCTANCE_LEADS = 3  # leading candidates whose residuals are tested for a missing series L
INDUCTANCE_PROPOSALS = 2  # their L variants fitted on that evidence, beyond MAX_FITS
DIFFUSION_PROPOSALS = 3  # diffusion / Gerischer / W / pruned variants of the leads per round, beyond MAX_FITS
PROPOSAL_ROUNDS = 2  # rounds of those proposals (a second one where the first moved the lead)
TAIL_PROPOSALS = 2  # the lead with other terminations, beyond MAX_FITS, where no candidate is adequate
CRITERION_LEADS = 2  # candidates lowest in the criterion (that fit, resolved or not) among the leads
PEAK_MIN_FRACTION = 0.04  # a DRT peak with less than 4 % of R_pol does not count as an arc
MAX_ARCS = 3
R0_SMALL = 0.02  # DRT R_inf below 2 % of max|Z|: blocking candidates are also tried without R0
L_NOISE_FACTOR = 5.0  # a DRT series L whose reactance at f_max exceeds 5 x the noise is evidence of L
INDUCTIVE_POINT_SIGMAS = 3.0  # a single top point with Z'' > 0 is inductive evidence beyond 3 noise SDs
INDUCTIVE_SHARE = 0.9  # at least 90 % of the points with Z'' > 0: the sign convention is probably reversed
CLOSED_PHASE_DEG = 5.0  # -phase at f_min below this: the last arc closes (no blocking line, no open diffusion)
STRONG_EVIDENCE = 6.0  # criterion differences below this are not strong evidence (Kass & Raftery 1995)
SUGGEST_MIN_FREQUENCIES = 5  # the DRT that gives the candidates needs 5 distinct frequencies
MODEL_DEPENDENT_SDS = 2.0  # a value that moves more than 2 of its stderr in an equally supported circuit
TAILS = ("none", "CPE", "C", "W", "Wo", "Ws", "Wo+C", "series W", "series Wo", "series Ws", "series G",
         "series Gs")
_DIFFUSION_TAILS = ("W", "Wo", "Ws", "Wo+C")  # Randles type: in series with the last arc's R
_SERIES_DIFFUSION_TAILS = ("series W", "series Wo", "series Ws", "series G", "series Gs")  # after the last arc
_GERISCHER_KINDS = ("G", "Gs")  # a claim of a coupled reaction (and, Gs, a finite length): see rank_candidates
# every candidate is fitted to the same points (no inductive points dropped for circuits
# without an L), so that chi-square, AIC and BIC compare
_CANDIDATE_FIT_OPTIONS = {"kk": False, "profile": False, "drop_inductive": False}


# ------------------------------------------------------------------ circuit shapes
@dataclass(frozen=True, order=True)
class CircuitShape:
    """A candidate's structure: series L, series R0, ``n_arcs`` R||CPE arcs, and the
    low-frequency termination ``tail`` (one of :data:`TAILS`): ``none`` (the last arc
    closes), ``CPE``/``C`` (blocking electrode in series), ``W`` / ``Wo`` / ``Ws``
    (diffusion in series with the last arc's resistance, Randles type), ``Wo+C``
    (the same with an ideal double-layer capacitor), ``series W`` / ``series Wo`` /
    ``series Ws`` (the diffusion element in series after the last arc,
    ``R0-p(R1,CPE1)-Wo1``), ``series G`` / ``series Gs`` (a Gerischer or a finite-length
    Gerischer there, ``R0-p(R1,CPE1)-G1``)."""

    inductor: bool
    series_r: bool
    n_arcs: int
    tail: str

    @property
    def valid(self) -> bool:
        """Whether the shape is a candidate: as many arcs as its tail needs (a Randles tail sits
        in the last arc; other tails and none stand alone), and without arcs a series R (no
        measured cell is a bare capacitor or Warburg)."""
        return min_arcs(self.tail) <= self.n_arcs <= MAX_ARCS and (self.n_arcs > 0 or self.series_r)

    def neighbours(self) -> list["CircuitShape"]:
        """Shapes one step away: one arc more or fewer, series L toggled, R0 toggled, and the
        plain alternative of a diffusion tail (:meth:`plain_alternatives`)."""
        out = self.plain_alternatives()
        lo = 1
        for n in (self.n_arcs + 1, self.n_arcs - 1):
            if lo <= n <= MAX_ARCS:
                out.append(CircuitShape(self.inductor, self.series_r, n, self.tail))
        out.append(CircuitShape(not self.inductor, self.series_r, self.n_arcs, self.tail))
        if self.tail in ("CPE", "C"):
            out.append(CircuitShape(self.inductor, not self.series_r, self.n_arcs, self.tail))
        return out


    def other_diffusion_topology(self) -> list["CircuitShape"]:
        """The same elements in the other diffusion topology: a Randles branch
        ``p(CPEk,Rk-Wok)`` <-> the arcs with ``Wo1`` in series after them (same parameter
        count). Series-Wo data were given R0-p(CPE1,R1-Wo1) by a BIC 10-16 worse than the
        never-fitted R0-p(R1,CPE1)-Wo1 (3 of 4 random spectra)."""
        if self.tail in ("W", "Wo", "Ws"):
            return [dataclasses.replace(self, tail=f"series {self.tail}")]
        if self.tail in _SERIES_DIFFUSION_TAILS and _series_kind(self.tail) not in _GERISCHER_KINDS:
            return [dataclasses.replace(self, tail=_series_kind(self.tail))]
        return []

    def plain_alternatives(self) -> list["CircuitShape"]:
        """The circuit without diffusion a closing ``Ws`` tail competes with on the same
        points: one R||CPE arc more (tail ``none``). Two arcs with time constants a factor 3
        apart were given R0-p(CPE1,R1-Ws1) and a "diffusion" role while the two-arc circuit,
        never fitted, had a BIC 10 lower. (An open W/Wo tail's blocking-CPE alternative is
        among the initial candidates where the low-frequency end allows it; adding it here
        spent the fit budget a three-arc spectrum needed.)"""
        if self.tail in ("Ws", "series Ws") and self.n_arcs + 1 <= MAX_ARCS:
            return [CircuitShape(self.inductor, self.series_r, self.n_arcs + 1, "none")]
        return []


def min_arcs(tail: str) -> int:
    """The fewest arcs a shape with ``tail`` has: 1 for a Randles tail (the diffusion sits in
    the last arc's branch), else 0 (a resistor, a blocking electrode R0-CPE1, a diffusion R0-W1)."""
    return 1 if tail in _DIFFUSION_TAILS else 0


def arcless(shape: CircuitShape) -> list[CircuitShape]:
    """``shape`` without its arcs: its series L and R0 (R0 kept in any case) and its
    termination, a Randles diffusion moved in series (``W`` -> ``series W``; ``Wo+C`` ->
    ``series Wo``); for a shape that closes (tail ``none``) also the blocking CPE its last
    arc becomes when its resistance runs away (a blocking electrode's R0-CPE1 data fitted
    with R0-p(R1,CPE1) leave R1 unresolved)."""
    tail = shape.tail
    if tail in _DIFFUSION_TAILS:
        tail = "series Wo" if tail == "Wo+C" else f"series {tail}"
    tails = (tail, "CPE") if tail == "none" else (tail,)
    return [CircuitShape(shape.inductor, True, 0, t) for t in tails]


def _tail_kind(tail: str) -> str:
    """The kind of a termination: ``blocking`` (CPE, C), ``randles`` (a diffusion in the last
    arc's branch), ``series`` (a diffusion or Gerischer after the arcs) or ``none``."""
    if tail in ("CPE", "C"):
        return "blocking"
    if tail in _DIFFUSION_TAILS:
        return "randles"
    return "series" if tail in _SERIES_DIFFUSION_TAILS else "none"


def circuit_from_shape(shape: CircuitShape) -> str:
    """The circuit string (impedance.py notation) of a :class:`CircuitShape`."""
    parts = []
    if shape.inductor:
        parts.append("L0")
    if shape.series_r:
        parts.append("R0")
    diffusion = shape.tail in ("W", "Wo", "Ws", "Wo+C")
    for k in range(1, shape.n_arcs + 1):
        if diffusion and k == shape.n_arcs:
            kind = "Wo" if shape.tail == "Wo+C" else shape.tail
            cap = f"C{k}" if shape.tail == "Wo+C" else f"CPE{k}"
            parts.append(f"p({cap},R{k}-{kind}{k})")
        else:
            parts.append(f"p(R{k},CPE{k})")
    if shape.tail in ("CPE", "C"):
        parts.append(f"{shape.tail}{shape.n_arcs + 1}")
    if shape.tail in _SERIES_DIFFUSION_TAILS:
        parts.append(f"{_series_kind(shape.tail)}1")
    return "-".join(parts)


def _series_kind(tail: str) -> str:
    """The element kind of a ``series ...`` tail (``series Wo`` -> ``Wo``)."""
    return tail.split()[-1]


# ------------------------------------------------------------------ data features
@dataclass(frozen=True)
class SpectrumEvidence:
    """What the candidate set is built from.

    ``n_peaks``: DRT peaks with at least :data:`PEAK_MIN_FRACTION` of R_pol and a time
    constant inside the measured range (+- 1 decade); ``inductive``: points with Z'' > 0
    at the high-frequency end (two, or one beyond ``INDUCTIVE_POINT_SIGMAS`` noise SDs) or a
    significant DRT series inductance; ``lf_slope``:
    d log(-Z'') / d log f over the lowest-frequency points (about -1 for a blocking
    capacitive line, -0.5 for diffusion, > 0 for a closing arc); ``lf_phase_deg``:
    -phase of Z at the lowest frequency, degrees; ``r_inf_fraction``: DRT R_inf / max|Z|;
    ``noise_pct``: Lin-KK rms residual, % of |Z|; ``noise_level``: the data's noise level
    the lack-of-fit ratio compares with (``KKResult.noise_level``, fraction of |Z|);
    ``kk_passed``: whether the points pass that Lin-KK test; ``noise_unjudged``: why that test
    gives no noise level to judge the fits by ('' when it does: :func:`noise_unjudged`), in
    which case ``noise_level`` is nan and ``kk_passed`` None.
    """

    n_peaks: int
    inductive: bool
    lf_slope: float
    lf_phase_deg: float
    r_inf_fraction: float
    noise_pct: float
    noise_level: float
    tails: tuple[str, ...]
    series_c: bool = False
    kk_passed: bool | None = None  # whether the points pass the Lin-KK test (None: not known)
    # (weighting, level): the rms residual of a Lin-KK chain fitted with that weighting, in
    # that weighting's measure (with_weighted_noise); see noise_level_for()
    weighted_noise: tuple[str, float] | None = None
    inductive_fraction: float = 0.0  # share of the points with Z'' > 0 (near 1: a reversed sign convention?)
    noise_unjudged: str = ""  # why the Lin-KK test gives no noise level ('' when it gives one)

    def noise_level_for(self, weighting: str) -> float:
        """The data's noise level in the measure of a fit's residuals under ``weighting``:
        ``noise_level`` (fraction of |Z| per real residual) for ``modulus`` and ``sigma``;
        for another weighting the level :func:`with_weighted_noise` measured (dimensionless,
        or ohm for ``unit``), nan when it was not measured."""
        if weighting in ("modulus", "sigma"):
            return self.noise_level
        if self.weighted_noise is not None and self.weighted_noise[0] == weighting:
            return self.weighted_noise[1]
        return math.nan


def spectrum_evidence(spectrum: Spectrum) -> SpectrumEvidence:
    """Read the features that choose the candidate circuits off ``spectrum`` (its Lin-KK
    chain gives the noise level, on as few as 3 distinct frequencies: no verdict is drawn)."""
    from .spectrum import require_distinct_frequencies

    require_distinct_frequencies(spectrum, 3, "a Kramers-Kronig test")
    return spectra_evidence([spectrum])[0]


def spectra_evidence(spectra: Sequence[Spectrum]) -> list[SpectrumEvidence | None]:
    """:func:`spectrum_evidence` of many spectra, their Lin-KK tests computed together
    (:func:`eisfit.analysis.kk.kk_tests`, one batch per number of points); None for a
    spectrum the test refuses (too few distinct frequencies: its own
    :func:`spectrum_evidence` says why)."""
    from .analysis.kk import kk_tests
    from .spectrum import require_distinct_frequencies

    out: list[SpectrumEvidence | None] = [None] * len(spectra)
    by_length: dict[int, list[int]] = {}
    for i, s in enumerate(spectra):
        try:
            require_distinct_frequencies(s, 3, "a Kramers-Kronig test")
        except DataError:
            continue
        by_length.setdefault(s.frequency.size, []).append(i)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rows in by_length.values():
            results = kk_tests(np.array([spectra[i].frequency for i in rows]),
                               np.array([spectra[i].z for i in rows], dtype=complex),
                               labels=[spectra[i].label for i in rows])
            for i, kk in zip(rows, results):
                out[i] = _evidence(spectra[i], kk)
    return out


def _evidence(spectrum: Spectrum, kk) -> SpectrumEvidence:
    """The evidence of ``spectrum`` given its Lin-KK result ``kk`` (the DRT computed here)."""
    from .analysis.drt import drt

    f, z = spectrum.frequency, spectrum.z
    order = np.argsort(f)
    f, z = f[order], z[order]
    d = drt(spectrum, kk=False)
    zmax = float(np.max(np.abs(z)))
    n_peaks = _count_arcs(d)
    noise = kk_noise_level(kk)
    l_reactance = (d.inductance_H or 0.0) * 2 * math.pi * float(f[-1])
    inductive = _inductive_points(z, noise) or l_reactance > L_NOISE_FACTOR * kk.rms_residual_pct / 100 * abs(z[-1])
    slope = _lf_slope(f, z)
    phase = float(-np.degrees(np.angle(z[0])))
    tails = _plausible_tails(slope, phase)
    unjudged = noise_unjudged(f, bool(kk.passed))
    return SpectrumEvidence(
        n_peaks=n_peaks, inductive=inductive, lf_slope=slope, lf_phase_deg=phase,
        r_inf_fraction=float(d.r_inf_ohm / zmax), noise_pct=float(kk.rms_residual_pct),
        noise_level=math.nan if unjudged else noise, tails=tails,
        series_c=d.capacitance_F is not None, kk_passed=None if unjudged else bool(kk.passed),
        inductive_fraction=float(np.mean(z.imag > 0)), noise_unjudged=unjudged)


def noise_unjudged(frequency: np.ndarray, kk_passed: bool) -> str:
    """Why the Lin-KK test of a sweep's points gives no noise level to judge fits by, '' when
    it gives one: fewer than ``KK_MIN_POINTS`` frequencies (no test :func:`eisfit.kk_test`
    runs), or a failed test on points sparser than ``SPARSE_POINTS_PER_DECADE`` per decade,
    whose chain cannot follow an arc between them. Clean one-arc sweeps of 8-15 points over 6
    decades had been told they "fail the Lin-KK test (drift, a non-stationary cell or
    artefacts)", against a noise level 4-50x theirs that no candidate could lack fit by."""
    from .analysis.kk import KK_MIN_POINTS, SPARSE_POINTS_PER_DECADE, points_per_decade

    n = int(np.unique(frequency).size)
    if n < KK_MIN_POINTS:
        return f"{n} frequencies, fewer than the {KK_MIN_POINTS} a Lin-KK test needs"
    per_decade = points_per_decade(frequency)
    if not kk_passed and per_decade < SPARSE_POINTS_PER_DECADE:
        return (f"{per_decade:.2g} points per decade, too sparse for the Lin-KK chain to follow an arc between "
                "them: its failure and its residuals describe the test, not the data")
    return ""


WEIGHTED_NOISE = ("modulus-calc", "proportional", "unit")  # weightings judged in their own measure


def with_weighted_noise(evidence: SpectrumEvidence, spectrum: Spectrum, weighting: str) -> SpectrumEvidence:
    """``evidence`` with the noise level a fit under ``weighting`` is judged against (one of
    :data:`WEIGHTED_NOISE`; others return ``evidence`` unchanged): the rms weighted residual,
    sqrt(chisq / dof), of a Lin-KK chain fitted to ``spectrum`` with the same weighting.

    The noise level of the evidence is relative to |Z|; a fit under ``proportional``
    weighting minimises residuals relative to |Z'| and |Z''| instead, which on data whose
    noise is a fraction of |Z| lets a few points near the real axis pull it off: the true
    two-arc circuit so fitted missed the |Z|-relative noise 18-fold and was 'rejected for
    lack of fit'. Measured in the measure the fit minimised, a fit and a chain fitted with
    the same weights compare."""
    from .analysis.kk import kk_test

    if weighting not in WEIGHTED_NOISE:
        return evidence
    if evidence.noise_unjudged:  # no test to measure it with
        return dataclasses.replace(evidence, weighted_noise=(weighting, math.nan))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kk = kk_test(spectrum, weighting=weighting)
    z, z_kk = np.asarray(spectrum.z, complex), np.asarray(kk.z_fit, complex)
    sr, si = residual_scales(z, weighting, z_model=z_kk)
    r = z - z_kk
    n_extra = 1 + (kk.inductance_H is not None) + (kk.capacitance_F is not None)
    dof = 2 * z.size - int(kk.n_rc) - n_extra
    level = math.sqrt(float(np.sum((r.real / sr) ** 2 + (r.imag / si) ** 2)) / dof) if dof > 0 else math.nan
    return dataclasses.replace(evidence, weighted_noise=(weighting, level))


def _inductive_points(z: np.ndarray, noise_level: float) -> bool:
    """Whether the high-frequency end (``z`` in ascending frequency) is inductive: its two
    highest points with Z'' > 0, or the highest above ``INDUCTIVE_POINT_SIGMAS`` noise SDs
    (``noise_level``: fraction of |Z| per real residual). One point barely above 0 is
    noise: a one-arc spectrum whose top point had Z'' = +0.2 ohm (1.9 SDs) was given L0 in
    every candidate, the true circuit never tried (3 of 48 synthetic spectra without L)."""
    if z.size >= 2 and z.imag[-1] > 0 and z.imag[-2] > 0:
        return True
    sd = noise_level * abs(z[-1]) if math.isfinite(noise_level) else 0.0
    return bool(z.imag[-1] > INDUCTIVE_POINT_SIGMAS * sd)


def _count_arcs(d) -> int:
    """DRT peaks that look like processes: resolved (not a bump of a neighbour's process: the
    ripple a blocking CPE line leaves in a DRT fitted to the noise, 10 bumps on a one-arc
    pellet), large enough and not beyond the grid's measured part."""
    peaks = d.peaks
    if not len(peaks):
        return 0
    total = float(np.sum(peaks["R_ohm"]))
    lo, hi = d.tau_measured_s
    ok = (peaks["resolved"].astype(bool) & (peaks["R_ohm"] >= PEAK_MIN_FRACTION * total)
          & (peaks["tau_s"] >= lo / 10) & (peaks["tau_s"] <= hi * 10))
    return int(ok.sum())


def _lf_slope(f: np.ndarray, z: np.ndarray, n_points: int = 5) -> float:
    """d log(-Z'') / d log f over the lowest ``n_points`` (ascending f); nan if Z'' >= 0 there."""
    k = min(n_points, len(f))
    y = -z.imag[:k]
    if np.any(y <= 0):
        return float("nan")
    return float(np.polyfit(np.log(f[:k]), np.log(y), 1)[0])


def _plausible_tails(slope: float, phase_deg: float) -> tuple[str, ...]:
    """Low-frequency terminations the shape of the low-frequency end allows, likeliest first.
    A phase at f_min below ``CLOSED_PHASE_DEG`` is an arc closing on the real axis whatever
    the slope: -Z'' there is near the noise, and its slope over the last points is the
    noise's (-2.5 on a closed one-arc spectrum at 0.7 degrees, which read as a blocking line:
    no closing circuit was tried)."""
    if phase_deg < CLOSED_PHASE_DEG:  # closed, or the rise of a slow open diffusion only beginning
        return ("none", "Ws", "Wo")
    if not math.isfinite(slope) or slope > 0.15:  # -Z'' falls towards low f: a closing arc
        return ("none", "Ws")
    if slope < -0.75 and phase_deg < 60:  # capacitive -Z'' but a large, growing Z': open diffusion
        return ("Wo", "CPE", "C", "Wo+C")
    if slope < -0.75 or phase_deg > 65:  # a steep capacitive line: blocking electrode
        return ("CPE", "C", "Wo")
    if slope < -0.25:  # a 45-degree-ish line: diffusion (or a blocking CPE with low n)
        return ("Wo", "W", "CPE", "Wo+C", "Ws")
    return ("none", "Ws", "Wo")  # flattening: an arc closing below f_min, or finite diffusion


# ------------------------------------------------------------------ judging one fit
def lack_of_fit_ratio(result, evidence: SpectrumEvidence) -> float:
    """RMS relative residual of the fit over the data's own noise level (Lin-KK).

    :func:`eisfit.analysis.quality.lack_of_fit_ratio` with the noise level of the
    spectrum's one Lin-KK test (every candidate is judged against the same noise). Under
    ``modulus-calc``, ``proportional`` or ``unit`` weighting, the fit's own rms weighted
    residual sqrt(chisq / (2N - M)) over the same Lin-KK residuals measured with that
    weighting (:meth:`SpectrumEvidence.noise_level_for`): what the fit minimised against
    the noise in the same measure. About 1
    for a model that describes the data to their noise; above :data:`LACK_OF_FIT_RATIO`
    the model misses the data for the purpose of choosing (stricter than the fit's own
    ``lack-of-fit`` flag at 2).
    """
    if not (evidence.noise_level > 0):
        return float("nan")
    weighting = result.settings.get("weighting", "modulus")
    if weighting in ("modulus", "sigma"):
        return quality_lack_of_fit_ratio(result.z, result.z_fit, result.n_free, evidence.noise_level)
    noise = evidence.noise_level_for(weighting)
    if not (noise > 0) or result.dof <= 0:
        return float("nan")
    return math.sqrt(result.chisq / result.dof) / noise


def series_inductance_gain(result) -> float:
    """How much a series inductance L >= 0 added to the fit ``result`` would lower its
    chi-square, in units of its s^2 = chisq / dof, every other parameter held (a score
    test: the least-squares L of the weighted imaginary residuals against omega*L; 0 where
    they ask for a negative L, or where the weights are not known here, ``sigma``). A lower
    bound of what the refitted circuit with L gains."""
    weighting = result.settings.get("weighting", "modulus")
    if weighting == "sigma" or result.dof <= 0 or not result.chisq > 0:
        return 0.0
    z, z_fit = np.asarray(result.z, complex), np.asarray(result.z_fit, complex)
    _, s_imag = residual_scales(z, weighting, z_model=z_fit)
    omega = 2 * math.pi * np.asarray(result.frequency, float)
    w = 1.0 / s_imag**2
    push = float(np.sum(w * omega * (z - z_fit).imag))  # -1/2 d chisq / d L at L = 0
    if not (push > 0 and np.isfinite(push)):
        return 0.0
    drop = push**2 / float(np.sum(w * omega**2))
    return drop / (result.chisq / result.dof)


def unresolved_parameters(result) -> list[str]:
    """Parameters of ``result`` the data cannot inform (issue 13's ``unresolved:<name>``).

    * a resistance-like parameter (ohm) above :data:`R_UNRESOLVED_FACTOR` x max|Z|;
    * a vanishing element (:func:`vanishing_parameters`): an arc's resistance or a
      diffusion element's Z0 below :data:`VANISHING_FRACTION` x |Z| at the element's own
      frequency;
    * an arc's or a diffusion element's time constant more than
      :data:`TAU_UNRESOLVED_DECADES` outside 1/(2 pi f_max) .. 1/(2 pi f_min);
    * the time constant of a Gerischer (G, Gs) or a finite-length Warburg (Ws) whose apex
      (its largest -Z'') lies above f_max (the fit's ``fapex-outside-range:<element>``,
      :func:`eisfit.model.elements.element_apex_hz`): the data hold only
      its low-frequency side, the same as an arc's tail, and not the 45-degree branch that
      tells a Gerischer or a diffusion (a garnet measured to 1 MHz, its bulk arc's apex at
      ~13 MHz, was given R0-p(R1,CPE1)-G1 with t_G = 47 ns, apex 5.9 MHz, and R0 half the
      intercept; another R0-p(R1,CPE1)-Ws1 with tau = 0.18 us, apex 2.2 MHz);
    * a scale parameter (log-scale: R, Q, C, L, Z0, tau) on a bound: it collapsed (the
      element is not needed) or ran away;
    * a parameter whose standard error exceeds its value, or whose profile is open
      upwards (``profile-open``: no standard error, a lower bound only), or any parameter
      when the covariance is singular, reported as the parameters the flags name.
    """
    names = result.param_names
    values = result.values
    zmax = float(np.max(np.abs(result.z)))
    f = np.asarray(result.frequency, float)
    tau_lo, tau_hi = 1 / (2 * math.pi * f.max()), 1 / (2 * math.pi * f.min())
    margin = 10.0 ** TAU_UNRESOLVED_DECADES
    out: list[str] = []
    units = result.units
    for n in names:
        u = units.get(n, "")
        if u == "ohm" and values[n] > R_UNRESOLVED_FACTOR * zmax:
            out.append(n)
        if u == "s" and not (tau_lo / margin <= values[n] <= tau_hi * margin):
            out.append(n)
    circ = load_circuit(result.circuit).circuit
    out.extend(vanishing_parameters(result))
    out.extend(f"{e.name}_1" for e in circ.elements  # flagged by the fit where its apex lies above f_max
               if e.kind in APEX_KINDS and f"{APEX_OUTSIDE_RANGE}:{e.name}" in result.flags)
    for a in circ.arcs:
        tau = _arc_tau(values, a)
        if not (math.isfinite(tau) and tau_lo / margin <= tau <= tau_hi * margin):
            out.append(a.resistor)
    for flag in result.flags:
        kind, _, name = flag.partition(":")
        if kind in ("at-bound", "large-stderr", PROFILE_OPEN_FLAG) and name in values:
            if kind == "at-bound" and units.get(name, "") == "" and values[name] > 0.5:
                continue  # an exponent at 1: an ideal element, not a runaway
            out.append(name)
        elif kind == "arcs-unresolved":
            out.extend(name.split(","))
        elif kind == "unresolved" and name in values:  # the fit's own runaway flag
            out.append(name)
    return list(dict.fromkeys(p for name in out for p in _parameters_named(name, values)))


def _parameters_named(name: str, values: Mapping[str, float]) -> list[str]:
    """``name`` when it is a parameter, else the parameters of the element it names (an
    ``arcs-unresolved`` flag names elements: "CPE2" had been listed among the parameters)."""
    if name in values:
        return [name]
    return [p for p in values if p.split("_")[0] == name] or [name]


def vanishing_parameters(result) -> list[str]:
    """Parameters (ohm) of elements ``result`` keeps although they contribute nothing: an
    arc's (or a Randles arc's) resistance, or a Wo/Ws element's Z0, below
    :data:`VANISHING_FRACTION` x |Z| of the data at the element's own frequency,
    1/(2 pi tau) (the nearest measured point; |Z| there, not max|Z|, which a blocking
    electrode makes MOhm). A noise-free arc + Wo spectrum was given a 12-parameter
    circuit with R1 = 0.06 ohm beside a 100 ohm arc, and a clean one-arc cell a
    "diffusion" Wo2 of 0.03 ohm: phantoms that the smaller nested circuit does without."""
    circ = load_circuit(result.circuit).circuit
    values = result.values
    f = np.asarray(result.frequency, float)
    zabs = np.abs(np.asarray(result.z, complex))
    found: list[tuple[str, float]] = []  # (parameter, its time constant, s)
    for a in list(circ.arcs) + list(circ.randles_arcs):
        found.append((a.resistor, _arc_tau(values, a)))
    found += [(f"{e.name}_0", values.get(f"{e.name}_1", math.nan)) for e in circ.elements if e.kind in ("Wo", "Ws")]
    out = []
    for name, tau in found:
        if name not in values:
            continue
        at = int(np.argmin(np.abs(np.log(f * 2 * math.pi * tau)))) if math.isfinite(tau) and tau > 0 else None
        scale = float(zabs[at]) if at is not None else float(np.min(zabs))
        if abs(values[name]) < VANISHING_FRACTION * scale:
            out.append(name)
    return out


def _arc_tau(values: Mapping[str, float], arc) -> float:
    """:func:`eisfit.analysis.derived.arc_tau_s` in logs (inf instead of an overflow), s."""
    if arc.kind != "CPE":
        return arc_tau_s(values, arc)
    r, q, n = values[arc.resistor], values[f"{arc.capacitive}_0"], values[f"{arc.capacitive}_1"]
    if not (r > 0 and q > 0 and n > 0):
        return float("nan")
    log_tau = math.log(r * q) / n
    return math.exp(log_tau) if log_tau < 700 else math.inf


# ------------------------------------------------------------------ the suggestion
def ratio_text(ratio: float) -> str:
    """A lack-of-fit ratio as the explanations write it: '1.0x', '13.4x', '0.26x'."""
    return f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2g}x"


def _comparable_verdict(row: Mapping[str, Any], names: set[str]) -> bool:
    """Whether a candidate's fit is one to compare values with: adequate, or rejected as
    unresolved in parameters among ``names`` only (not in elements of its own, whose
    undetermined values drag the rest anywhere)."""
    verdict = str(row["verdict"])
    if not verdict.startswith("rejected"):
        return True
    if not verdict.startswith("rejected: unresolved"):
        return False
    return set(str(row["unresolved"]).split(",")) <= names


@dataclass
class CircuitSuggestion:
    """Outcome of :func:`suggest_circuit`.

    ``best``: the suggested circuit string; ``table``: one row per candidate (circuit,
    name, n_params, chisq, redchi, aic, bic, lack_of_fit_ratio, unresolved, intercept_only,
    verdict), best first (``intercept_only``: the terms of a high-frequency intercept, "R0+R1",
    that the data fix only as a sum, their arc peaking above f_max, :func:`eisfit.selection.intercept_only`);
    ``fits``: circuit -> FitResult (fitted without KK test and profile, for speed);
    ``roles``: parameter -> role name of the best circuit's elements with
    ``roles_clear``; ``evidence``: the data features; ``criterion``: ``"bic"`` or ``"aic"``.
    """

    best: str
    table: Any
    fits: dict[str, Any]
    roles: dict[str, str]
    roles_note: str
    roles_clear: bool
    evidence: SpectrumEvidence | None
    criterion: str
    seconds: float
    label: str = ""
    notes: list[str] = field(default_factory=list)
    weighting: str = "modulus"  # of the candidate fits: what chisq, AIC, BIC and the ratio measure

    @property
    def best_fit(self):
        """The FitResult of :attr:`best`."""
        return self.fits[self.best]

    @property
    def adequate(self) -> bool:
        """Whether :attr:`best` is adequate (no lack of fit, nothing unresolved); False when
        no candidate was and it is only the least bad."""
        return len(self.table) > 0 and self.table.iloc[0]["verdict"] == "best"

    def model_dependent(self) -> dict[str, list[tuple[str, float, float]]]:
        """Parameters of :attr:`best` whose value depends on the circuit more than their
        standard error says: name -> [(circuit, value, stderr), ...] of the other candidates
        that hold the best circuit's parameters and more (or fewer: one nests the other,
        so a shared name is the same element), are adequate or leave only parameters of
        the best circuit unresolved (adding L0 can leave R0 undetermined: that is the
        point), or that do not nest with it but are adequate too (then the value must move more
        than ``MODEL_DEPENDENT_SDS`` of both stderr combined: R1 of L0-p(R1,CPE1)-CPE2
        110 +- 0.12 ohm against 99.7 +- 1.2 in R0-p(R1,CPE1)-CPE2 went unflagged), have a criterion lower than the best's or within ``STRONG_EVIDENCE`` above it
        (these data do not tell them apart), and put the value more than
        ``MODEL_DEPENDENT_SDS`` of the best fit's stderr away; listed in ascending order of
        the criterion. The acceptance spectrum of a garnet cell with a 100 nH lead
        inductance (R0 40, R1 60 ohm, bulk arc above 10 MHz) was best fitted without L0 at
        R0 62.1 +- 1.3 ohm, and with L0, as well supported, at 47.8 +- 9.1 ohm."""
        t, best_fit = self.table, self.fits.get(self.best)
        if not len(t) or best_fit is None:
            return {}
        best_score = float(t.iloc[0][self.criterion])
        mine = set(best_fit.param_names)
        out: dict[str, list[tuple[str, float, float]]] = {}
        for _, row in t.iloc[1:].sort_values(self.criterion, kind="stable").iterrows():
            other = self.fits.get(row["circuit"])
            if (other is None or not _comparable_verdict(row, mine)
                    or not float(row[self.criterion]) - best_score < STRONG_EVIDENCE):
                continue
            theirs = set(other.param_names)
            nested = mine <= theirs or theirs <= mine
            if not nested and not passes(str(row["verdict"])):
                continue
            undetermined_there = set(str(row["unresolved"]).split(","))
            for name in best_fit.param_names:
                if name not in theirs or name in undetermined_there:  # no value there to compare with
                    continue
                v, s, w = best_fit.values[name], best_fit.stderr.get(name, math.nan), other.values[name]
                if not nested:  # two circuits the data support alike: both errors count
                    s = math.hypot(s, other.stderr.get(name, math.nan))
                if math.isfinite(s) and s > 0 and abs(w - v) > MODEL_DEPENDENT_SDS * s:
                    out.setdefault(name, []).append((row["circuit"], w, other.stderr.get(name, math.nan)))
        return out

    def _model_dependent_sentence(self) -> str:
        """The explanation's sentence on :meth:`model_dependent` ('' when nothing depends)."""
        moved = self.model_dependent()
        if not moved:
            return ""
        fit = self.best_fit
        shown = []
        for name, others in moved.items():
            unit = fit.units.get(name, "")
            c, w, s = others[0]  # the best supported of the circuits that move it
            more = f" (and {len(others) - 1} more)" if len(others) > 1 else ""
            there = f"{format_value(w, s, unit, 3)} in {c}{more}"
            shown.append(f"{name} {format_value(fit.values[name], fit.stderr[name], unit, 3)} here, {there}")
        return ("These values depend on the circuit more than their standard errors say (circuits the data "
                f"support as well or better put them elsewhere): {'; '.join(shown)}. Their stderr hold for this "
                "circuit only; quote the spread, or choose the circuit from what is known of the cell.")

    def explain(self) -> str:
        """A few sentences: why the best circuit was chosen and what was rejected."""
        t = self.table
        row = t.iloc[0]
        crit = self.criterion.upper()
        ratio = float(row["lack_of_fit_ratio"])
        residuals = (f"residuals {ratio_text(ratio)} the Lin-KK noise level" if math.isfinite(ratio)
                     else "no noise level to compare the residuals with")
        n_params = int(row["n_params"])
        parts = [f"{self._title()}: {self.best} ({n_params} parameter{'s' * (n_params != 1)}, "
                 f"{crit} {row[self.criterion]:.1f}, {residuals}; chi-square, AIC and BIC under "
                 f"{self.weighting} weighting)."]
        if row["verdict"] == UNJUDGED_BEST and self.evidence is not None:
            parts.append(f"The data give no noise level to judge the fits by ({self.evidence.noise_unjudged}): no "
                         f"candidate can be shown to describe the points to their noise, nor rejected for lack of "
                         f"fit; this is the candidate the {crit} prefers among those whose parameters the data "
                         "determine.")
        if self.weighting in WEIGHTED_NOISE and math.isfinite(ratio):
            parts.append(f"The residuals are compared with those of a Lin-KK chain fitted with the same "
                         f"{self.weighting} weighting (the noise in the measure the fits minimise).")
        if row["verdict"] == KK_FAILED_BEST:
            parts.append("No candidate was adequate: the points fail the Lin-KK test, and the noise "
                         "level the residuals are compared with comes from that failed test, which holds the misfit "
                         "itself; this is the least bad of the candidates, not a circuit the data are shown to "
                         "follow (eisfit validate finds the band of frequencies that passes; suggest on that band).")
        elif row["verdict"] not in ("best", UNJUDGED_BEST):
            parts.append(f"No candidate was adequate; this is the least bad ({row['verdict']}).")
        others = t.iloc[1:]
        better = others[(others[self.criterion] < row[self.criterion])]
        adequate_better = better[better["verdict"] == "adequate"]
        hinted = adequate_better["intercept_only"].astype(bool) & (not row["intercept_only"])
        if hinted.any():
            parts.append(f"Adequate circuits with a lower {crit} that leave an arc above f_max "
                         f"({', '.join(adequate_better[hinted]['circuit'])}; only their intercept "
                         f"{', '.join(dict.fromkeys(adequate_better[hinted]['intercept_only']))} determined) were not "
                         f"preferred: an arc the data only hint at needs strong evidence ({crit} "
                         f"{STRONG_EVIDENCE:g} lower) against a circuit that determines all its parameters.")
        adequate_better = adequate_better[~hinted]
        gerischer = adequate_better["circuit"].map(claims_gerischer).astype(bool) & (not claims_gerischer(self.best))
        if len(adequate_better[~gerischer]):
            names = ", ".join(adequate_better[~gerischer]["circuit"])
            parts.append(f"Larger adequate circuits with a {crit} less than {BIC_TIE:g} lower "
                         f"({names}) were not preferred: the smaller circuit explains the data as well.")
        passed_over = self._gerischer_passed_over()
        if passed_over:
            parts.append(f"Adequate circuits with a Gerischer within {BIC_TIE:g} of its {crit} "
                         f"({', '.join(f'{c} ({d:+.1f})' for c, d in passed_over)}) were not preferred: within "
                         "the tie margin a Gerischer, a claim of a reaction coupled to diffusion, gives way to the "
                         "circuit without one whatever its parameter count.")
        lof = others[others["verdict"].str.startswith("rejected: lack of fit")]
        if len(lof):
            parts.append("Rejected for lack of fit (residuals above the noise): "
                         + ", ".join(f"{c} ({ratio_text(r)})" for c, r in zip(lof["circuit"], lof["lack_of_fit_ratio"]))
                         + ".")
        unres = others[others["verdict"].str.startswith("rejected: unresolved")]
        if len(unres):
            parts.append("Rejected for parameters the data cannot determine: "
                         + "; ".join(f"{c} ({u})" for c, u in zip(unres["circuit"], unres["unresolved"])) + ".")
        worse = others[others["verdict"].map(passes).astype(bool)]
        worse = worse[worse[self.criterion] >= row[self.criterion]]
        if len(worse):
            kind = "Adequate" if row["verdict"] == "best" else "Not rejected"
            parts.append(f"{kind} but with a higher {crit}: " + ", ".join(
                f"{c} (+{v - row[self.criterion]:.1f})" for c, v in zip(worse["circuit"], worse[self.criterion])) + ".")
        close = [c for c, v in zip(worse["circuit"], worse[self.criterion])
                 if v - row[self.criterion] < STRONG_EVIDENCE] if row["verdict"] == "best" else []
        if close:
            source = " (Kass and Raftery 1995)" if self.criterion == "bic" else ""
            parts.append(f"A {crit} difference below {STRONG_EVIDENCE:g} is not strong evidence{source}: "
                         f"these data do not tell {self.best} apart from {', '.join(close)}; the choice "
                         "between them, and the roles of the elements in which they differ, rest on what is known "
                         "of the cell, not on this spectrum.")
        parts.append(self._model_dependent_sentence())
        above = intercept_only(self.best_fit) if row["intercept_only"] else None
        if above is not None:
            parts.append(above.sentence(float(np.max(self.best_fit.frequency))))
        if row["verdict"] == "best" and ratio > MISFIT_RATIO:
            parts.append(f"Its residuals are {ratio_text(ratio)} the noise level, above {MISFIT_RATIO:g}: they are "
                         "systematic (what eisfit fit flags misfit).")
        if self.evidence is not None and self.evidence.kk_passed is False:
            parts.append("The points fail the Lin-KK test (drift, a non-stationary cell or artefacts): no circuit "
                         "describes them as a stable linear system, and the comparison is only as good as they "
                         "are (eisfit validate finds the band of frequencies that passes).")
        parts.append(self.roles_note)
        parts.extend(self.notes)
        return " ".join(p for p in parts if p)

    def _title(self) -> str:
        """The explanation's first words: what the chosen circuit is (:func:`_standing`)."""
        return {"suggested": "Suggested circuit", "preferred": f"Circuit preferred by {self.criterion.upper()}",
                "least bad": "Least bad circuit"}[_standing(self)]

    def headline(self) -> str:
        """What the chosen circuit is, as ``eisfit suggest`` heads its table with it:
        "suggested circuit", or why none is adequate ("no adequate circuit; least bad:")."""
        standing = _standing(self)
        if standing == "suggested":
            return "suggested circuit"
        if standing == "preferred":
            return f"preferred by {self.criterion.upper()} (no noise level to judge the fits by):"
        if self.evidence is not None and self.evidence.kk_passed is False:
            return "no adequate circuit (points fail Lin-KK); least bad:"
        return "no adequate circuit; least bad:"

    def _gerischer_passed_over(self) -> list[tuple[str, float]]:
        """The adequate circuits with a Gerischer that :func:`tie_break` put behind the best
        (which has none): within :data:`BIC_TIE` of its criterion, and lower in it or with
        fewer parameters (the old rule would have chosen them); (circuit, criterion minus
        the best's)."""
        t = self.table
        if self.best not in set(t["circuit"]) or claims_gerischer(self.best) or t.iloc[0]["verdict"] != "best":
            return []
        row = t.iloc[0]
        out = []
        for _, other in t.iloc[1:].iterrows():
            delta = float(other[self.criterion]) - float(row[self.criterion])
            if (other["verdict"] == "adequate" and abs(delta) <= BIC_TIE and claims_gerischer(other["circuit"])
                    and (delta < 0 or int(other["n_params"]) < int(row["n_params"]))):
                out.append((str(other["circuit"]), delta))
        return out

    def choice_record(self) -> dict[str, Any]:
        """How the circuit was chosen, for a fit's settings: ``circuit`` 'auto', ``chosen``,
        ``adequate``, ``criterion``, ``runner_up`` (the next row of the table, None when
        alone) and ``delta`` (its criterion minus the chosen one's; positive: the runner-up
        is worse, negative: a circuit within the tie the chosen one was preferred to by
        :func:`eisfit.selection.tie_break`, a larger one or one with a Gerischer, or one
        that leaves an arc above f_max), ``runner_up_verdict`` and ``runner_up_intercept_only``
        (its table entries), ``n_candidates``, ``weighting``; and where the chosen circuit's
        fastest arc lies above the data (:func:`eisfit.selection.intercept_only`) ``intercept_only`` (its
        terms, "R0+R1"), ``intercept_ohm`` and ``intercept_stderr_ohm``."""
        t = self.table
        runner = t.iloc[1] if len(t) > 1 else None
        delta = (float(runner[self.criterion]) - float(t.iloc[0][self.criterion])) if runner is not None else None
        record = {"circuit": "auto", "chosen": self.best, "adequate": self.adequate, "criterion": self.criterion,
                  "runner_up": None if runner is None else str(runner["circuit"]),
                  "runner_up_verdict": None if runner is None else str(runner["verdict"]),
                  "runner_up_intercept_only": None if runner is None else str(runner["intercept_only"]),
                  "delta": delta, "n_candidates": int(len(t)), "weighting": self.weighting}
        above = intercept_only(self.best_fit) if len(t) and t.iloc[0]["intercept_only"] else None
        if above is not None:
            record.update(intercept_only="+".join(above.summed), intercept_ohm=above.value_ohm,
                          intercept_stderr_ohm=above.stderr_ohm)
        return record

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary: best, criterion, weighting, roles, the ranked table and the explanation."""
        from ._json import to_jsonable

        return {"label": self.label, "best": self.best, "adequate": self.adequate, "criterion": self.criterion,
                "weighting": self.weighting,
                "roles": dict(self.roles), "roles_clear": self.roles_clear,
                "explanation": self.explain(), "seconds": self.seconds,
                "table": to_jsonable(self.table.to_dict(orient="records"))}

    def _repr_html_(self) -> str:
        """The notebook view: the ranked candidates (the criterion relative to the best, the
        lack-of-fit ratio, what the data leave unresolved, the verdict) and the explanation."""
        from ._html import escape, html_table

        t = self.table
        best = float(t.iloc[0][self.criterion]) if len(t) else math.nan
        rows = [(row["circuit"], int(row["n_params"]), f"{float(row[self.criterion]) - best:+.1f}",
                 f"{float(row['lack_of_fit_ratio']):.3g}",
                 row["unresolved"] if isinstance(row["unresolved"], str) and row["unresolved"] else "-",
                 verdict_text(row)) for _, row in t.iterrows()]
        table = html_table(["circuit", "parameters", f"{self.criterion.upper()} - best", "lack-of-fit ratio",
                            "unresolved", "verdict"], rows, numeric_from=1,
                           caption=f"{self.label}: best {self.best} ({self.weighting} weighting)")
        return table + f"<p>{escape(self.explain())}</p>"

    def __repr__(self) -> str:
        return f"CircuitSuggestion({self.label!r}: best={self.best!r}, {len(self.table)} candidates)"


def _standing(suggestion: CircuitSuggestion) -> str:
    """What a suggestion's chosen circuit is: ``suggested`` (adequate), ``preferred`` (by the
    criterion, the data giving no noise level to judge by) or ``least bad``; what its title, its
    headline and the flags of ``fit(circuit="auto")`` say."""
    if suggestion.adequate:
        return "suggested"
    if len(suggestion.table) and suggestion.table.iloc[0]["verdict"] == UNJUDGED_BEST:
        return "preferred"
    return "least bad"


def candidate_list(candidates: str | Sequence[str] | None) -> list[str] | None:
    """The ``candidates`` of :func:`suggest_circuit` as a list (None stays None: the automatic
    search). One string is one candidate (a library name, circuit string or .toml file), or
    several separated by ``;`` as on the command line (``--candidates "randles;garnet-symmetric"``;
    no circuit string holds a ``;``), never its characters; a list or tuple is taken item by
    item the same way. FitError for anything else; every circuit but ``"auto"`` is loaded
    here (:func:`eisfit.model.load_circuit`), so an invalid one is refused once, up front."""
    if candidates is None:
        return None
    items = [candidates] if isinstance(candidates, str) else candidates
    if isinstance(items, (bytes, Mapping)) or not isinstance(items, (list, tuple)):
        raise FitError(f"candidates must be a circuit (library name or circuit string), a list of them, or None, "
                       f"got {type(candidates).__name__}")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise FitError(f"candidates must be circuit strings or library names, got {item!r}")
        out.extend(c.strip() for c in item.split(";") if c.strip())
    if not out:
        raise FitError(f"candidates name no circuit (got {candidates!r})")
    for c in out:  # every circuit checked once, before any spectrum is read or fitted
        if c != "auto":
            load_circuit(c)
    return out


def suggest_circuit(
    spectrum: Spectrum,
    candidates: Sequence[str] | None = None,
    *,
    criterion: str = "bic",
    library: bool = False,
    max_fits: int = MAX_FITS,
    lack_of_fit_limit: float = LACK_OF_FIT_RATIO,
    area_cm2: float | None = None,
    **fit_options: Any,
) -> CircuitSuggestion:
    """Suggest the equivalent circuit the data of ``spectrum`` support.

    Parameters
    ----------
    spectrum : the data (Hz, ohm).
    candidates : circuit strings or library names to compare: a list, or one string (one
        circuit, or several separated by ``;`` as on the command line; :func:`eisfit.selection.candidate_list`).
        ``None`` (default): built
        from the data (DRT peaks -> arcs, inductive high-frequency tail -> L, low-frequency
        behaviour -> closing arc, blocking CPE or C, diffusion W / Wo / Ws, or a Gerischer
        G / Gs) by a small neighbourhood search; among circuits within 2 of the best BIC the
        one without a Gerischer, then the smallest, is chosen
        (:func:`eisfit.selection.tie_break`). A list that contains ``"auto"`` adds the
        automatic ones.
    criterion : ``"bic"`` (default) or ``"aic"`` (both as in :class:`~eisfit.FitResult`).
    library : also fit every circuit of the library (``eisfit circuits``).
    max_fits : limit on the automatic search's fits (beyond it, at most
        ``INDUCTANCE_PROPOSALS`` series-L variants that the residuals call for).
    lack_of_fit_limit : residual / noise ratio above which a candidate is rejected.
    area_cm2 : electrode area, cm2, for the role assignment (capacitance per area) and
        passed to the fits.
    **fit_options : passed to :func:`eisfit.fit` (``weighting``, ``fmin``, ``fmax``, ...).

    Returns
    -------
    :class:`CircuitSuggestion`. Raises :class:`~eisfit.errors.FitError` when no candidate
    could be fitted.
    """
    _check_suggest_options(max_fits, lack_of_fit_limit, area_cm2, fit_options)
    return _suggest(spectrum, candidate_list(candidates), criterion, library, max_fits, lack_of_fit_limit, area_cm2,
                    fit_options)


def _check_suggest_options(max_fits: Any, lack_of_fit_limit: Any, area_cm2: Any,
                           fit_options: Mapping[str, Any]) -> None:
    """FitError, before any fit, for an option of :func:`suggest_circuit` no fit can use:
    ``max_fits`` not a whole number >= 1, ``lack_of_fit_limit`` not a finite number > 0
    (nan silently turned the rejection off), ``area_cm2`` not a positive number (cm2), an
    unknown ``weighting``, a fit option :func:`eisfit.fit` does not take (it had raised a bare
    TypeError naming fit(), after the evidence was computed)."""
    import inspect

    from ._checks import positive_int, positive_number, positive_number_or_none
    from .fitting import fit
    from .model.weighting import check_weighting

    known = set(inspect.signature(fit).parameters) - {"spectrum", "circuit"}
    unknown = sorted(set(fit_options) - known)
    if unknown:
        raise FitError(f"suggest_circuit() got unknown option(s) {', '.join(map(repr, unknown))}; it takes "
                       f"candidates, criterion, library, max_fits, lack_of_fit_limit, area_cm2 and the options of "
                       f"eisfit.fit: {', '.join(sorted(known))}")

    positive_int("max_fits", max_fits)
    positive_number("lack_of_fit_limit", lack_of_fit_limit)
    positive_number_or_none("area_cm2", area_cm2)
    if fit_options.get("weighting") is not None:
        check_weighting(fit_options["weighting"])


def _suggest(spectrum: Spectrum, candidates: Sequence[str] | None, criterion: str, library: bool, max_fits: int,
             lack_of_fit_limit: float, area_cm2: float | None, fit_options: Mapping[str, Any],
             prefitted: Mapping[str, Any] | None = None,
             evidence: SpectrumEvidence | None = None) -> CircuitSuggestion:
    """:func:`suggest_circuit`; ``prefitted``: candidates' cold fits already made (by circuit
    string: a batched fit of many spectra), used instead of fitting them again;
    ``evidence``: the spectrum's evidence already read (:func:`spectra_evidence`)."""
    t0 = time.perf_counter()
    if isinstance(spectrum, tuple) and len(spectrum) == 2:  # (frequency_Hz, z_ohm), as fit() takes
        spectrum = as_spectrum(spectrum, "suggest_circuit()")
    if not isinstance(spectrum, Spectrum):
        raise FitError(f"suggest_circuit() needs an eisfit.Spectrum, got {type(spectrum).__name__}"
                       f"{not_a_spectrum_hint(spectrum)}")
    if criterion not in ("bic", "aic"):
        raise FitError(f"criterion must be 'bic' or 'aic', got {criterion!r}")
    from .fitting.engine import spectrum_in_ohm

    spectrum = spectrum_in_ohm(spectrum, area_cm2)  # data read per area: divided once, or refused once
    for key in ("initial", "fixed", "bounds", "expr"):
        if fit_options.get(key):
            raise FitError(f"{key}= names the parameters of one circuit; it cannot be used "
                           "when the circuit is chosen automatically")
    if evidence is None:
        require_distinct_frequencies(spectrum, SUGGEST_MIN_FREQUENCIES,
                                     "suggesting a circuit (its candidates come from the spectrum's DRT)")
        try:
            evidence = spectrum_evidence(_evidence_data(spectrum, fit_options))
        except DataError as exc:
            reason = str(exc).removeprefix(f"{spectrum.label}: ")  # named once
            raise FitError(f"{spectrum.label}: cannot suggest a circuit: {reason}") from None
    weighting = fit_options.get("weighting") or "modulus"
    if math.isnan(evidence.noise_level_for(weighting)):  # not measured yet for this weighting
        evidence = with_weighted_noise(evidence, _evidence_data(spectrum, fit_options), weighting)
    options = {**_CANDIDATE_FIT_OPTIONS, **fit_options, "area_cm2": area_cm2}
    search = _Search(spectrum, evidence, options, criterion, lack_of_fit_limit, prefitted)
    user = [c for c in (candidates or []) if c != "auto"]
    for c in user:
        search.evaluate(c, must=True)
    if library:
        from .model import list_circuits

        for d in list_circuits():
            search.evaluate(d.string)
    if candidates is None or "auto" in candidates:
        search.run(initial_shapes(evidence), max_fits)
    if not search.rows:
        raise FitError(f"{spectrum.label}: no candidate circuit could be fitted: "
                       + "; ".join(search.errors))
    table = search.ranked_table()
    if evidence.kk_passed is False:
        table = kk_failed_verdicts(table)
    elif evidence.noise_unjudged:
        table = unjudged_verdicts(table)
    best = str(table.iloc[0]["circuit"])
    roles, note, clear = assign_roles(search.fits[best], area_cm2, unresolved_parameters(search.fits[best]))
    rivals = rivals_of_other_kinds(table, criterion)
    if rivals:
        clear = False
        note += (f" Not the data's to decide: {', '.join(rivals)} {'describes' if len(rivals) == 1 else 'describe'} "
                 f"them as well ({criterion.upper()} within {STRONG_EVIDENCE:g}) with other elements.")
    return CircuitSuggestion(best=best, table=table, fits=search.fits, roles=roles,
                             roles_note=note, roles_clear=clear, evidence=evidence,
                             criterion=criterion, seconds=time.perf_counter() - t0,
                             label=spectrum.label, notes=[*_data_notes(evidence), *search.errors],
                             weighting=weighting)


def _data_notes(evidence: SpectrumEvidence) -> list[str]:
    """Sentences on the data a suggestion cannot fix: (nearly) every point inductive
    (Z'' > 0, at least :data:`INDUCTIVE_SHARE` of them) is the mark of a reversed sign
    convention rather than of a cell."""
    if evidence.inductive_fraction >= INDUCTIVE_SHARE:
        return [f"{evidence.inductive_fraction:.0%} of the points have Z'' > 0 (inductive): the imaginary part's sign convention is probably "
                "reversed (--imag-sign / imag_sign: the column holds Z'' or -Z''); no circuit of the "
                "candidates describes such data."]
    return []


def _evidence_data(spectrum: Spectrum, fit_options: Mapping[str, Any]) -> Spectrum:
    """The points the evidence is read from: those the fits see (``fmin``/``fmax``,
    ``exclude_hz``, Hz)."""
    return spectrum.restrict(fit_options.get("fmin"), fit_options.get("fmax"), fit_options.get("exclude_hz"))


def initial_shapes(ev: SpectrumEvidence) -> list[CircuitShape]:
    """The first candidates, smallest first: the arcs the DRT counts (and one fewer) with
    each plausible low-frequency termination, a series L when the data show one, and for a
    blocking termination with a small high-frequency intercept also without R0."""
    shapes = []
    for tail in ev.tails:
        if tail in ("CPE", "C"):
            # the DRT's series C takes the blocking line; without it the line is one more peak
            n = ev.n_peaks - (0 if ev.series_c else 1)
            series = (True, False) if ev.r_inf_fraction < R0_SMALL else (True,)
        elif tail in _DIFFUSION_TAILS:
            n = ev.n_peaks - (0 if ev.series_c else 1)  # diffusion adds DRT peaks of its own
            series = (True,)
        else:
            n = ev.n_peaks
            series = (True,)
        for k in sorted({n - 1, n}):
            for r0 in series:
                shapes.append(CircuitShape(ev.inductive, r0, min(max(k, 1), MAX_ARCS), tail))
    return sorted(dict.fromkeys(shapes), key=lambda s: (_n_params(s), s.tail in _DIFFUSION_TAILS))


class _Search:
    """Fits candidates once each and keeps their table rows."""

    def __init__(self, spectrum, evidence, options, criterion, limit, prefitted=None):
        self.spectrum = spectrum
        self.prefitted = dict(prefitted or {})
        self.evidence = evidence
        self.options = options
        self.criterion = criterion
        self.limit = limit
        self.fits: dict[str, Any] = {}
        self.rows: dict[str, dict[str, Any]] = {}
        self.errors: list[str] = []
        self.names = _library_names()
        self._local_fits: dict[tuple, Any] = {}  # (circuit, seed) -> its local fit, None where it failed

    def evaluate(self, circuit: str, must: bool = False) -> dict[str, Any] | None:
        from .fitting import fit

        try:
            key = load_circuit(circuit).string
        except EisfitError as exc:
            if must:
                raise
            self.errors.append(str(exc))
            return None
        if key in self.rows:
            return self.rows[key]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = self.prefitted.get(key) or fit(self.spectrum, circuit, **self.options)
                res = self._seeded(key, res)
        except FitError as exc:
            self.errors.append(f"{key} not fitted: {exc}")
            return None
        self.fits[key] = res
        self.rows[key] = _row(key, self.names.get(key, circuit if circuit != key else ""), res,
                              self.evidence, self.limit)
        return self.rows[key]

    def _seeded(self, circuit: str, cold):
        """The better of the cold fit and local fits started from the candidates already
        fitted (:func:`seeds_from_fits`); tried when the cold fit misses the data or the
        circuit has a diffusion element (the cold guess of Wo/Ws/W is still weak)."""
        diffusion = any(e.kind in WARBURG_KINDS for e in load_circuit(circuit).circuit.elements)
        ratio = lack_of_fit_ratio(cold, self.evidence)
        if ratio <= SEED_RATIO or (not diffusion and ratio <= self.limit):
            return cold  # at the noise level already (or adequate without diffusion elements)
        best = cold
        donors = {c: r for c, r in self.fits.items() if diffusion or r.chisq < cold.chisq}
        seeds = best_seeds(circuit, seeds_from_fits(circuit, donors, self.spectrum), self.spectrum,
                           SEEDS_PER_FIT)
        for seed in seeds:
            res = self._local_fit(circuit, seed)
            if res is not None and res.chisq < best.chisq * (1 - 1e-6):
                best = res
        return best

    def _local_fit(self, circuit: str, seed: Mapping[str, float]):
        """The fit of ``circuit`` from ``seed`` alone (None where it fails), made once per
        search: :meth:`reseed` asks again for seeds already tried (a fifth of the local fits
        of the eight families repeated one made before, to the same result)."""
        from .fitting import fit

        key = (circuit, tuple(sorted(seed.items())))
        if key not in self._local_fits:
            try:
                self._local_fits[key] = fit(self.spectrum, circuit, initial=seed, starts=1, **self.options)
            except FitError:
                self._local_fits[key] = None
        return self._local_fits[key]

    def run(self, shapes: Iterable[CircuitShape], max_fits: int) -> None:
        """Smallest first: fit the initial shapes in order of size until one is adequate and
        the next is larger; then, while no candidate is adequate, the neighbours of the
        leading ones (one arc more, L toggled, ...); finally re-seed candidates that miss
        the data from better fits made since."""
        self.seen: dict[str, CircuitShape] = {}
        n_fits = 0
        for s in self._admissible(shapes):
            lead_m = self._adequate_size()
            if n_fits >= max_fits or (lead_m is not None and _n_params(s) > lead_m + LARGER_PARAMS):
                break
            self._evaluate_shape(s)
            n_fits += 1
        proposed = self._fit_inductance_proposals(INDUCTANCE_PROPOSALS)
        for _ in range(6):
            lead = self._leading_shapes()
            if not lead or n_fits >= max_fits:
                break
            size = self._adequate_size()
            todo = self._neighbours(lead[0])
            if size is not None:  # adequate: neighbours up to LARGER_PARAMS more, BIC decides
                todo = [s for s in todo if _n_params(s) <= size + LARGER_PARAMS]
            else:
                for other in lead[1:]:
                    todo += self._neighbours(other)
            todo = self._refinements() + todo
            todo = [s for s in self._admissible(dict.fromkeys(todo)) if circuit_from_shape(s) not in self.seen]
            if not todo:
                break
            for s in sorted(todo, key=_n_params)[: max_fits - n_fits]:
                self._evaluate_shape(s)
                n_fits += 1
            pending = [r for r in self._refinements() if circuit_from_shape(r) not in self.seen]
            if size is not None and self._leading_shapes()[:1] == lead[:1] and not pending:
                break
        self._fit_inductance_proposals(INDUCTANCE_PROPOSALS - proposed)
        self._fit_diffusion_proposals(DIFFUSION_PROPOSALS)
        self._fit_tail_proposals(TAIL_PROPOSALS)
        self._fit_arcless_proposals()
        self.reseed()

    def _fit_tail_proposals(self, at_most: int) -> None:
        """Where no candidate is adequate, fit, beyond the budget, the leading candidate's arcs
        with each other termination the data allow (:attr:`SpectrumEvidence.tails`) not fitted
        yet, and then, where one of them took the lead, that one with an arc more: at most
        ``at_most`` fits each, fewest parameters first. The initial candidates try each
        termination with the DRT's arcs only, and the search's neighbours keep the
        termination: a coating spectrum was left with a two-arc Randles Ws circuit as the least
        bad, BIC -764, while two arcs with a blocking CPE, never fitted, had -846 (and three
        arcs with it -955)."""
        if self._adequate_size() is not None:
            return
        lead = self._leading_shapes(1)
        if not lead:
            return
        shape = lead[0]
        swapped = [dataclasses.replace(shape, tail=t) for t in self.evidence.tails if t != shape.tail]
        fresh = [v for v in self._admissible(swapped) if circuit_from_shape(v) not in self.seen]
        kind = _tail_kind(shape.tail)  # other kinds of termination first: a Wo beside a Ws is more of the same
        for variant in sorted(fresh, key=lambda v: (_tail_kind(v.tail) == kind, _n_params(v)))[:at_most]:
            self._evaluate_shape(variant)
        moved = self._leading_shapes(1)
        if moved and moved[0] != shape and moved[0].tail != shape.tail and self._adequate_size() is None:
            more = dataclasses.replace(moved[0], n_arcs=moved[0].n_arcs + 1)
            if more.valid and circuit_from_shape(more) not in self.seen:
                self._evaluate_shape(more)

    def _fit_arcless_proposals(self) -> None:
        """Fit, beyond the budget, each leading candidate without its arcs (:func:`arcless`:
        R0, L0-R0, R0-CPE1, R0-W1...; 1-4 parameters, quick), once the search is over, so that
        they compete in the ranking without steering the search (a circuit of none near the
        lack-of-fit limit on data that fail Lin-KK had stopped it before the arc circuits
        the data support). A resistor, a blocking electrode below its bulk arc or a pure
        diffusion had only ever been offered circuits with an arc: "no adequate circuit",
        or a charge-transfer arc the data do not hold."""
        for key in self._proposal_leads():
            shape = self.seen.get(key)
            if shape is not None and shape.n_arcs:
                for variant in arcless(shape):
                    self._evaluate_shape(variant)

    def _fit_diffusion_proposals(self, at_most: int) -> None:
        """Fit, beyond the search's budget, in up to :data:`PROPOSAL_ROUNDS` rounds of at
        most ``at_most`` each, the diffusion alternatives (:meth:`_diffusion_proposals`) of
        the leading candidates not fitted yet, smallest first; a round runs again while the
        last one moved the lead (a G it fitted leads: its finite-length Gs is tried next).
        The initial candidates of a diffusion spectrum fill the budget before any neighbour
        is tried: series Wo and W data were given a Randles or a blocking-CPE circuit 5-16
        worse in BIC than their own, never fitted."""
        for _ in range(PROPOSAL_ROUNDS):
            before = self._proposal_leads()
            proposals = self._diffusion_proposals()
            if not proposals:
                return
            for variant in proposals[:at_most]:
                self._evaluate_shape(variant)
            if self._proposal_leads() == before:
                return

    def _proposal_leads(self) -> list[str]:
        """The candidates whose alternatives are proposed: the :data:`INDUCTANCE_LEADS` first
        of the ranking, and the :data:`CRITERION_LEADS` lowest in the criterion among those
        that fit the data (no lack of fit) whatever they leave unresolved: an unresolved
        2-arc + G with the lowest BIC of all points at the 1-arc + G of G data, which the
        ranking (adequate circuits first) never reached."""
        table = self.ranked_table()
        keys = list(table["circuit"])[:INDUCTANCE_LEADS]
        fitting = table[~table["verdict"].str.startswith("rejected: lack of fit")]
        keys += list(fitting.sort_values(self.criterion, kind="stable")["circuit"])[:CRITERION_LEADS]
        return list(dict.fromkeys(keys))

    def _diffusion_proposals(self) -> list[CircuitShape]:
        """The alternatives of the :meth:`_proposal_leads` not fitted yet, fewest parameters
        first: the other topology of a diffusion element (a Randles branch <-> the element
        in series after the arcs; :meth:`CircuitShape.other_diffusion_topology`), a
        Gerischer or finite-length Gerischer (:func:`_gerischer_variants`), a semi-infinite W
        (:func:`_warburg_variants`) or, for a W, the finite ones (:func:`_finite_length_variants`); for a lead that leaves parameters unresolved only its
        other topology and its smaller variants (:func:`_pruned_variants`) in both
        topologies: an L0-R0-p(R1,CPE1)-p(R2,CPE2) with L0 unresolved had its L0 carried
        into a Gerischer variant, a fit spent on an element the data had already refused,
        and series-Wo data whose Randles R0-p(R1,CPE1)-p(CPE2,R2-Wo2) left R1 unresolved
        need the series topology of its one-arc variant, R0-p(R1,CPE1)-Wo1."""
        proposals: list[CircuitShape] = []
        for key in self._proposal_leads():
            shape, res = self.seen.get(key), self.fits.get(key)
            if shape is None:
                continue
            row = self.rows[key]
            if row["unresolved"] and not row["lack_of_fit"]:
                # its smaller circuits, in either diffusion topology: other elements would keep
                # what the data leave open
                pruned = _pruned_variants(shape, res)
                proposals += shape.other_diffusion_topology() + pruned
                proposals += [t for p in pruned for t in p.other_diffusion_topology()]
                if set(str(row["unresolved"]).split(",")) <= {"R0", "L0"}:
                    # only the series part is open, which the tail's alternatives keep as well: a
                    # G circuit of G data whose R0 (1.8 ohm, data to 10 kHz) every candidate left
                    # unresolved was never fitted, and a rejected Ws circuit 3.7 worse was chosen
                    proposals += (_gerischer_variants(shape) + _warburg_variants(shape, res)
                                  + _finite_length_variants(shape))
            elif not row["unresolved"]:
                proposals += (shape.other_diffusion_topology() + _gerischer_variants(shape)
                              + _warburg_variants(shape, res) + _finite_length_variants(shape))
        fresh = [v for v in dict.fromkeys(proposals) if circuit_from_shape(v) not in self.seen]
        return sorted(self._admissible(fresh), key=_n_params)

    def _fit_inductance_proposals(self, at_most: int) -> int:
        """Fit the series-L variants of the leading candidates whose residuals call for a
        lead inductance (:func:`series_inductance_gain` above the BIC's price of one more
        parameter, ln(2N)), at most ``at_most`` of them, beyond the search's budget: an
        inductance of cables at MHz hides under the first arc (no Z'' > 0), and the initial
        candidates often spend the whole budget before any neighbour is tried (Randles
        spectra with a lead L: the L circuits were never fitted on 4 of 20, and a circuit
        with an extra arc, or none adequate, was suggested). Returns the fits made."""
        if at_most <= 0:
            return 0
        table = self.ranked_table()
        proposals = []
        for key in list(table["circuit"])[:INDUCTANCE_LEADS]:
            shape, res = self.seen.get(key), self.fits.get(key)
            if shape is None or res is None or shape.inductor:
                continue
            if series_inductance_gain(res) > math.log(2 * res.n_points):
                variant = dataclasses.replace(shape, inductor=True)
                if circuit_from_shape(variant) not in self.seen:
                    proposals.append(variant)
        proposals = self._admissible(proposals)
        for variant in proposals[:at_most]:
            self._evaluate_shape(variant)
        return min(len(proposals), at_most)

    def _admissible(self, shapes: Iterable[CircuitShape]) -> list[CircuitShape]:
        """``shapes`` without those whose series L stands in for a series resistance the
        data do not show as inductive (:func:`l_replaces_r0`)."""
        return [s for s in shapes if s.valid and not l_replaces_r0(s, self.evidence)]

    def _adequate_size(self) -> int | None:
        """Parameters of the chosen candidate when it is adequate, else None."""
        table = self.ranked_table()
        if len(table) and table.iloc[0]["verdict"] == "best":
            return int(table.iloc[0]["n_params"])
        return None

    def _evaluate_shape(self, shape: CircuitShape) -> None:
        if not shape.valid:  # a variant stepped below its tail's arcs, or to an empty circuit
            return
        key = circuit_from_shape(shape)
        self.seen[key] = shape
        self.evaluate(key)

    def _leading_shapes(self, n: int = 2) -> list[CircuitShape]:
        """The shapes of the top ``n`` rows of the current ranking."""
        table = self.ranked_table()
        return [self.seen[c] for c in list(table["circuit"])[:n] if c in self.seen]

    def reseed(self) -> None:
        """Seed the candidates that miss the data again, from every fit made since (a local
        fit from a donor with a lower chi-square)."""
        table = self.ranked_table()
        if not len(table):
            return
        lead_m = int(table.iloc[0]["n_params"])
        for key, row in list(self.rows.items()):
            better = any(r.chisq < self.fits[key].chisq for c, r in self.fits.items() if c != key)
            if row["lack_of_fit_ratio"] > self.limit and better and row["n_params"] <= lead_m:
                res = self._seeded(key, self.fits[key])
                if res is not self.fits[key]:
                    self.fits[key] = res
                    self.rows[key] = _row(key, row["name"], res, self.evidence, self.limit)

    def _refinements(self) -> list[CircuitShape]:
        """The pruned and ideal variants of every candidate rejected only as unresolved,
        leading or not: a circuit that describes the data but leaves an element undetermined
        (a CPE at n = 1, a collapsed arc) points at the smaller circuit the data support,
        which the ranking of the others never reaches (a Randles L0-R0-p(R1,CPE1)-p(CPE2,R2-Wo2)
        fit at the optimum with n2 = 1 was rejected, its p(C2,R2-Wo2) variant never fitted)."""
        out = []
        for key, row in self.rows.items():
            shape = self.seen.get(key)
            if shape is not None and row["unresolved"] and not row["lack_of_fit"]:
                res = self.fits.get(key)
                out += _pruned_variants(shape, res) + _ideal_variants(shape, res)
        return out

    def _neighbours(self, shape: CircuitShape) -> list[CircuitShape]:
        key = circuit_from_shape(shape)
        res = self.fits.get(key)
        out = _pruned_variants(shape, res) + _ideal_variants(shape, res)
        # a series L is always a neighbour: a lead inductance of a few % of |Z| at f_max is
        # often hidden under the first arc (no Z'' > 0, no DRT inductance), yet the BIC
        # can tell; without one it collapses and is rejected as unresolved
        return out + shape.neighbours()

    def ranked_table(self):
        return rank_candidates(list(self.rows.values()), self.criterion)


SEEDS_PER_FIT = 2  # local fits per candidate from the best-matching seeds
SEED_RATIO = 1.1  # a cold fit with residuals within 1.1x the noise is not re-started
_TAU_FACTORS = (0.3, 3.0, 30.0)


def seeds_from_fits(circuit: str, fits: Mapping[str, Any], spectrum: Spectrum) -> list[dict[str, float]]:
    """Starting values for ``circuit`` from candidates already fitted (best chi-square first).

    Parameters with the same name are carried over. A diffusion element (W, Wo, Ws in
    series with the last arc's resistance) takes its values from what played its part in
    the donor: a blocking capacitor or CPE in series (Wo: Z0 = tau / C over a few tau) or a
    further arc (Ws/Wo: Z0 = its R, tau = a few times its time constant); a double-layer C
    takes the Hsu-Mansfeld capacitance of the donor's CPE of the same index. Parameters
    left out come from the fit's own data guess.
    """
    circ = load_circuit(circuit).circuit
    names = set(circ.param_names)
    f = np.asarray(spectrum.frequency, float)
    omega_min = 2 * math.pi * float(f.min())
    out: list[dict[str, float]] = []
    donors = sorted((r for c, r in fits.items() if c != circuit), key=lambda r: r.chisq)
    for donor in donors[:3]:
        base = {k: v for k, v in donor.values.items() if k in names and math.isfinite(v) and v > 0}
        for e in circ.elements:
            if e.kind == "C" and e.name not in base:
                q, n = donor.values.get(f"CPE{e.name[1:]}_0"), donor.values.get(f"CPE{e.name[1:]}_1")
                r = donor.values.get(f"R{e.name[1:]}")
                if q and n and r and q > 0 and n > 0 and r > 0 and abs(math.log(r * q) / n) < 700:
                    base[e.name] = math.exp(math.log(r * q) / n - math.log(r))
        for e in circ.elements:
            if e.kind not in WARBURG_KINDS:
                continue
            for guess in _diffusion_guesses(e.kind, int(e.name[len(e.kind):] or 0), donor, omega_min):
                out.append({**base, **{f"{e.name}_{k}" if e.kind != "W" else e.name: v
                                       for k, v in guess.items()}})
        if not any(e.kind in WARBURG_KINDS for e in circ.elements):
            out.append(base)
    return out


def best_seeds(circuit: str, seeds: Sequence[Mapping[str, float]], spectrum: Spectrum,
               n: int) -> list[dict[str, float]]:
    """The ``n`` seeds whose impedance is closest to the data (Boukamp pseudo chi-square,
    missing parameters from the fit's data guess): the local fits are the costly part."""
    from .fitting.guess import base_guess, spectrum_features

    if len(seeds) <= n:
        return [dict(s) for s in seeds]
    circ = load_circuit(circuit).circuit
    f, z = np.asarray(spectrum.frequency, float), np.asarray(spectrum.z)
    base = base_guess(circ, spectrum_features(f, z))
    full = [{**base, **s} for s in seeds]
    p = np.array([[s[k] for k in circ.param_names] for s in full])
    with np.errstate(all="ignore"):
        zm = circ.impedance(p, f)
        cost = np.sum(np.abs(z[None, :] - zm) ** 2 / np.abs(z[None, :]) ** 2, axis=1)
    cost = np.where(np.isfinite(cost), cost, np.inf)
    return [dict(seeds[i]) for i in np.argsort(cost, kind="stable")[:n]]


def _diffusion_guesses(kind: str, k: int, donor, omega_min: float) -> list[dict[Any, float]]:
    """Values of a W (key 0 -> ``W<k>``) or Wo/Ws (0: Z0 ohm, 1: tau s) diffusion element
    from the donor fit's element that played its part."""
    v = donor.values
    cap = None
    if f"C{k + 1}" in v:
        cap = v[f"C{k + 1}"]
    elif f"CPE{k + 1}_0" in v and f"R{k + 1}" not in v:
        q, n = v[f"CPE{k + 1}_0"], v[f"CPE{k + 1}_1"]
        cap = q * omega_min ** (n - 1)  # its capacitance at the lowest frequency
    arc = None
    if f"R{k + 1}" in v and f"CPE{k + 1}_0" in v:
        r, q, n = v[f"R{k + 1}"], v[f"CPE{k + 1}_0"], v[f"CPE{k + 1}_1"]
        if r > 0 and q > 0 and n > 0 and abs(math.log(r * q) / n) < 700:
            arc = (r, math.exp(math.log(r * q) / n))
    same = {i: v[f"{kind2}{k}_{i}"] for kind2 in ("Wo", "Ws") for i in (0, 1) if f"{kind2}{k}_{i}" in v}
    out: list[dict[Any, float]] = []
    if kind == "W":
        z_lf = abs(donor.z[np.argmin(donor.frequency)].imag)
        out.append({0: z_lf * math.sqrt(omega_min)})
        return out
    if len(same) == 2:
        out.append(dict(same))
    if cap and cap > 0:
        for t in (1 / omega_min * 0.3, 1 / omega_min * 3):
            out.append({0: t / cap, 1: t})
    if arc:
        r, tau = arc
        for fac in _TAU_FACTORS:
            out.append({0: r, 1: tau * fac})
    return out


def l_replaces_r0(shape: CircuitShape, evidence: SpectrumEvidence | None) -> bool:
    """Whether ``shape`` has a series L but no series R0 while ``evidence`` shows no inductive
    behaviour (no Z'' > 0 at the top frequencies, no significant DRT inductance). Such a
    candidate is not fitted by the automatic search: an L0 and an arc shifted to the high
    frequencies mimic the missing R0 (a blocking pellet with its bulk arc at 9.5 MHz got
    L0-p(R1,CPE1)-CPE2 by a BIC 8 lower, with R1 110 +- 0.12 ohm for a true 100: R0 absorbed)."""
    return shape.inductor and not shape.series_r and not (evidence is not None and evidence.inductive)


def _n_params(shape: CircuitShape) -> int:
    """Number of parameters of a shape's circuit."""
    return len(load_circuit(circuit_from_shape(shape)).circuit.param_names)


IDEAL_N = 0.95
IDEAL_N_DOUBLE_LAYER = 0.9  # a Randles double-layer CPE above it: also try an ideal C  # a CPE exponent at least this high suggests trying an ideal capacitor


def _ideal_variants(shape: CircuitShape, res) -> list[CircuitShape]:
    """The shape with its tail's (or Randles arc's) CPE replaced by a C when the fitted
    exponent is close to 1, or when the data leave that CPE unresolved (its Q or n, see
    :func:`unresolved_parameters`): a blocking CPE -> C, Wo with a double-layer CPE -> Wo+C.

    An unresolved CPE whatever its exponent: a Randles branch p(CPE2,R2-Wo2) on data of an
    ideal double layer reached an optimum 2 % below the true circuit's with n2 = 0.64
    absorbing the diffusion (CPE2_0, Wo2_0 and Wo2_1 unresolved), so the C variant, the
    circuit of the data, was never fitted and a smaller one with systematic residuals
    (1.3x the noise) was suggested (5 of 8 noise seeds; now 2 of them get the data's
    circuit, the other 3 leave its diffusion undetermined)."""
    if res is None:
        return []
    k = shape.n_arcs
    cpe = {"CPE": f"CPE{k + 1}", "Wo": f"CPE{k}"}.get(shape.tail)
    if cpe is None:
        return []
    ideal_n = IDEAL_N if shape.tail == "CPE" else IDEAL_N_DOUBLE_LAYER
    unresolved_cpe = any(n.split("_")[0] == cpe for n in unresolved_parameters(res))
    if res.values.get(f"{cpe}_1", 0.0) < ideal_n and not unresolved_cpe:
        return []
    return [CircuitShape(shape.inductor, shape.series_r, k, "C" if shape.tail == "CPE" else "Wo+C")]


WARBURG_N = (0.4, 0.6)  # a blocking CPE with its exponent in this range: also try a W in its place
_FINITE_DIFFUSION_TAILS = ("Wo", "Ws", "Wo+C", "series Wo", "series Ws")  # a Wo or Ws with a time constant


def _diffusion_element(shape: CircuitShape) -> str | None:
    """The name of the diffusion or Gerischer element of ``shape``'s tail (``Wo2`` of a
    Randles branch p(CPE2,R2-Wo2), ``G1`` in series), None for a tail without one."""
    if shape.tail in _SERIES_DIFFUSION_TAILS:
        return f"{_series_kind(shape.tail)}1"
    if shape.tail in _DIFFUSION_TAILS:
        return f"{'Wo' if shape.tail == 'Wo+C' else shape.tail}{shape.n_arcs}"
    return None


def _semi_infinite_variant(shape: CircuitShape) -> CircuitShape:
    """``shape`` with its finite diffusion (Wo, Ws) replaced by a semi-infinite W in the
    same topology: a Randles branch keeps it in series with its R (tail ``W``), a series
    element stays in series (``series W``)."""
    return dataclasses.replace(shape, tail="series W" if shape.tail in _SERIES_DIFFUSION_TAILS else "W")


def _beyond_low_end(res, element: str) -> bool:
    """Whether the time constant (``<element>_1``, s) of a finite diffusion in the fit
    ``res`` lies beyond the data's low-frequency end, above 1/(2 pi f_min): the measured
    points then see only its semi-infinite part (the W limit, one parameter fewer)."""
    tau = res.values.get(f"{element}_1", math.nan)
    f_min = float(np.min(np.asarray(res.frequency, float)))
    return bool(tau > 1 / (2 * math.pi * f_min))


def _warburg_variants(shape: CircuitShape, res) -> list[CircuitShape]:
    """A semi-infinite Warburg where the fit ``res`` of ``shape`` says the data see one:

    * a blocking CPE tail with its exponent near 0.5 (:data:`WARBURG_N`) -> a W in series
      (that CPE at n = 1/2, one parameter fewer): R0-p(R1,CPE1)-W1 data were given
      R0-p(R1,CPE1)-CPE2 (n2 ~ 0.5), a BIC 3-5 worse than the W circuit, which was never
      fitted (4 of 4 random spectra);
    * a finite Wo or Ws (Randles or in series) whose time constant lies beyond the
      low-frequency end (:func:`_beyond_low_end`) -> the W in the same topology: on data
      measured down to 1 Hz, Wo/Ws candidates of W data ran their tau off and were rejected
      as unresolved, and the choice fell back to one arc, a BIC 33-41 worse than
      R0-p(R1,CPE1)-W1, which was never fitted."""
    if res is None:
        return []
    if shape.tail == "CPE":
        n = res.values.get(f"CPE{shape.n_arcs + 1}_1", math.nan)
        return [dataclasses.replace(shape, tail="series W")] if WARBURG_N[0] <= n <= WARBURG_N[1] else []
    if shape.tail in _FINITE_DIFFUSION_TAILS and _beyond_low_end(res, _diffusion_element(shape)):
        return [_semi_infinite_variant(shape)]
    return []


def _finite_length_variants(shape: CircuitShape) -> list[CircuitShape]:
    """The finite-length diffusions (Ws, then Wo) in place of a semi-infinite W tail, in the
    same topology: a W that leads may be a Ws (or Wo) whose end the lowest frequencies only
    begin to show. Series Ws data measured down to 1 Hz (tau 1.6 s) got R0-p(R1,CPE1)-W1,
    a BIC 5 worse than the true circuit, which was never fitted (its series Wo sibling,
    with the wrong end, left tau unresolved)."""
    if shape.tail == "W":
        return [dataclasses.replace(shape, tail=t) for t in ("Ws", "Wo")]
    if shape.tail == "series W":
        return [dataclasses.replace(shape, tail=t) for t in ("series Ws", "series Wo")]
    return []


def _gerischer_variants(shape: CircuitShape) -> list[CircuitShape]:
    """Gerischer alternatives of ``shape`` (a G or Gs in series after the arcs), smallest first:

    * a closing finite Warburg (a Ws tail, Randles or in series) -> a G or a Gs with one arc
      fewer and with as many: they all rise at 45 degrees and close, and R0-p(R1,CPE1)-G1
      data were given a Ws circuit 12-66 worse in BIC (4 of 4 random spectra; no candidate
      had a G), Gs data a Ws circuit beside which the G lacked fit (+102);
    * closing arcs only (tail ``none``, two arcs or more) -> a G or a Gs in place of one
      arc: G data whose DRT showed two or three peaks got a 12-parameter 3-arc + Ws circuit
      (+35 in BIC) or two arcs (+75), no Ws leader to propose the G; Gs data of a short
      length (phi ~ 0.4: nearly an arc) two arcs (+8 to +25), the G lacking fit;
    * a G -> the finite-length Gs with as many arcs and one fewer (one parameter more; phi
      small turns it into an arc): no candidate had a Gs, and 6 of 6 Gs spectra got a G,
      Ws or arcs circuit 9-14 worse in BIC."""
    k = shape.n_arcs
    if shape.tail in ("Ws", "series Ws"):
        return [dataclasses.replace(shape, n_arcs=j, tail=tail) for j in (k - 1, k) if j >= 1
                for tail in ("series G", "series Gs")]
    if shape.tail == "none" and k >= 2:
        return [dataclasses.replace(shape, n_arcs=k - 1, tail=tail) for tail in ("series G", "series Gs")]
    if shape.tail == "series G":
        return [dataclasses.replace(shape, n_arcs=j, tail="series Gs") for j in (k - 1, k) if j >= 1]
    return []


def _pruned_variants(shape: CircuitShape, res) -> list[CircuitShape]:
    """The shape without the elements its fit left unresolved (:func:`unresolved_parameters`):
    the diffusion or blocking termination (tail ``none``), an arc (one fewer), the series L;
    for a Wo/Ws whose time constant is unresolved also its semi-infinite W (the limit the
    data see, :func:`_semi_infinite_variant`), for a Gs whose phi is unresolved the plain G.
    Where every candidate leaves something undetermined (noise-free or very clean data fit
    every larger circuit to the last digit), the step that drops what the data do not
    inform is the one to try: pyimpspec's noise-free R(RC)(RW) spectrum ended on a 13-parameter
    circuit with two unresolved parameters while R0-p(R1,CPE1)-p(R2,CPE2) was never fitted."""
    if res is None:
        return []
    unresolved = unresolved_parameters(res)
    if not unresolved:
        return []
    k = shape.n_arcs
    tail_elements = {"CPE": (f"CPE{k + 1}",), "C": (f"C{k + 1}",), "W": (f"W{k}",), "Wo": (f"Wo{k}",),
                     "Ws": (f"Ws{k}",), "Wo+C": (f"Wo{k}", f"C{k}")}.get(shape.tail, ())
    if shape.tail in _SERIES_DIFFUSION_TAILS:
        tail_elements = (f"{_series_kind(shape.tail)}1",)
    element_of = {n: n.split("_")[0] for n in unresolved}
    out: list[CircuitShape] = []
    diffusion = _diffusion_element(shape)
    if shape.tail in _FINITE_DIFFUSION_TAILS and f"{diffusion}_1" in unresolved:
        # a Wo/Ws whose time constant the data leave open is the semi-infinite W there
        out.append(_semi_infinite_variant(shape))
    if shape.tail == "series Gs" and f"{diffusion}_2" in unresolved:
        out.append(dataclasses.replace(shape, tail="series G"))  # phi saturated: a plain Gerischer
    if any(e in tail_elements for e in element_of.values()):
        out.append(CircuitShape(shape.inductor, shape.series_r, k, "none"))
    if shape.tail in _DIFFUSION_TAILS and k > 1 and any(e in (f"R{k}", f"CPE{k}", f"C{k}")
                                                        for e in element_of.values()):
        # the Randles branch p(CPEk,Rk-Wok) with Rk -> 0 and CPEk open is the diffusion
        # element alone in series: R0-p(R1,CPE1)-Wo1 data had the 3-arc + C circuit suggested
        # (BIC 35 worse) because that nested circuit was never among the candidates
        kind = "Wo" if shape.tail == "Wo+C" else shape.tail
        out.append(CircuitShape(shape.inductor, shape.series_r, k - 1, f"series {kind}"))
    arcs = {f"R{j}" for j in range(1, k + 1)} | {f"CPE{j}" for j in range(1, k + 1)}
    if k > 1 and any(e in arcs and e not in tail_elements for e in element_of.values()):
        out.append(CircuitShape(shape.inductor, shape.series_r, k - 1, shape.tail))
    if shape.inductor and "L0" in element_of.values():
        out.append(CircuitShape(False, shape.series_r, k, shape.tail))
    return out


def _library_names() -> dict[str, str]:
    from .model import list_circuits

    try:
        return {d.string: d.name for d in list_circuits()}
    except EisfitError:  # a broken user library must not stop the suggestion
        return {}


def _row(circuit: str, name: str, res, evidence: SpectrumEvidence, limit: float) -> dict[str, Any]:
    """A candidate's row of the table. A fit whose only unresolved parameters are those of an
    arc above the data and the series resistances it trades with (:func:`intercept_only`)
    has them in ``intercept_only`` (the intercept's terms, "R0+R1"), not in ``unresolved``:
    the data support the arc, whose low-frequency side they hold, and fix the intercept."""
    ratio = lack_of_fit_ratio(res, evidence)
    unresolved = unresolved_parameters(res)
    vanishing = bool(vanishing_parameters(res))
    above = None if vanishing or not unresolved else intercept_only(res)
    intercept = ""
    if above is not None and set(unresolved) <= set(above.names):
        intercept, unresolved = "+".join(above.summed), []
    return {"circuit": circuit, "name": name, "n_params": int(res.n_free), "chisq": res.chisq,
            "redchi": res.redchi, "aic": res.aic, "bic": res.bic, "lack_of_fit_ratio": ratio,
            "unresolved": ",".join(unresolved), "intercept_only": intercept, "lack_of_fit": bool(ratio > limit),
            "vanishing": vanishing, "verdict": ""}


def rank_candidates(rows: Sequence[Mapping[str, Any]], criterion: str = "bic"):
    """Ranked table: the chosen circuit first, with a verdict per row.

    Adequate rows (no lack of fit, nothing unresolved; an arc above the data whose intercept
    is fixed, ``intercept_only``, is no bar) come first, ordered by the criterion;
    among the adequate circuits within :data:`BIC_TIE` of the best criterion the one
    :func:`tie_break` puts first (a circuit without a Gerischer, then the fewest
    parameters) is moved to the top. A candidate read as ``intercept_only`` is chosen
    over one that determines all its parameters only when its criterion is lower by
    :data:`STRONG_EVIDENCE` or more, and comes after it within the tie. When nothing is
    adequate, rows without lack of fit come before the others, those with the fewest
    unresolved parameters first, and those whose unresolved parameters include a
    vanishing element (:func:`vanishing_parameters`, row key ``vanishing``) after the rest.
    """
    import pandas as pd

    cols = ["circuit", "name", "n_params", "chisq", "redchi", "aic", "bic", "lack_of_fit_ratio",
            "unresolved", "intercept_only", "verdict"]
    rows = [{"intercept_only": "", **r} for r in rows]  # rows of an older table have no such column
    if not rows:
        return pd.DataFrame(columns=cols)

    def group(r: Mapping[str, Any]) -> int:
        # 0 adequate, 1 fits but leaves parameters unresolved, 2 fits only with an element that
        # vanishes (a phantom: the nested circuit without it comes first), 3 lacks fit
        if r["lack_of_fit"]:
            return 3
        return (2 if r.get("vanishing") else 1) if r["unresolved"] else 0

    def n_unresolved(r: Mapping[str, Any]) -> int:
        # among candidates that fit but leave parameters undetermined, the data determine best
        # the one with the fewest such parameters (an 11-parameter circuit with 5 unresolved was
        # preferred by BIC to an 8-parameter one with 2)
        return len(r["unresolved"].split(",")) if group(r) in (1, 2) else 0

    def crit(r: Mapping[str, Any]) -> tuple[bool, float]:  # nan last
        c = float(r[criterion])
        return (math.isnan(c), c)

    def intercept(r: Mapping[str, Any]) -> bool:
        return bool(r.get("intercept_only"))

    ranked = sorted(rows, key=lambda r: (group(r), n_unresolved(r), crit(r), r["n_params"]))
    first = ranked[0]
    if group(first) == 0 and intercept(first):
        # an arc only hinted at (above f_max) needs strong evidence against a circuit that
        # determines every parameter: a blocking pellet (bulk apex 9.5 MHz, f_max 10 MHz) had
        # L0-R0-p(R1,CPE1)-CPE2, R0 on its bound, preferred by 2.9 to the true circuit
        resolved = [r for r in ranked if group(r) == 0 and not intercept(r)
                    and float(r[criterion]) < float(first[criterion]) + STRONG_EVIDENCE]
        first = resolved[0] if resolved else first
    tied = [r for r in ranked if group(r) == group(first) and n_unresolved(r) == n_unresolved(first)
            and float(r[criterion]) <= float(first[criterion]) + BIC_TIE]
    chosen = min(tied, key=lambda r: (intercept(r), tie_break(r["circuit"], r["n_params"], crit(r)))) \
        if tied else first
    ranked.insert(0, ranked.pop(next(k for k, r in enumerate(ranked) if r is chosen)))
    table = []
    for i, r in enumerate(ranked):
        if r["lack_of_fit"]:
            verdict = f"rejected: lack of fit ({r['lack_of_fit_ratio']:.2g}x noise)" + (
                f"; unresolved {r['unresolved']}" if r["unresolved"] else "")
        elif r["unresolved"]:
            verdict = f"rejected: unresolved {r['unresolved']}"
        else:
            verdict = "best" if i == 0 else "adequate"
        table.append({**{c: r[c] for c in cols[:-1]}, "verdict": verdict})
    return pd.DataFrame(table, columns=cols)


def claims_gerischer(circuit: str) -> bool:
    """Whether ``circuit`` holds a Gerischer (G) or finite-length Gerischer (Gs) element
    (False for a name that is no circuit: it holds none)."""
    try:
        return any(e.kind in _GERISCHER_KINDS for e in load_circuit(circuit).circuit.elements)
    except EisfitError:
        return False


def tie_break(circuit: str, n_params: int, score: Any = 0.0) -> tuple[bool, int, Any]:
    """The order in which candidates the criterion cannot tell apart (within
    :data:`BIC_TIE`) are chosen: a circuit without a Gerischer first, then the fewest
    parameters, then the criterion ``score``.

    A Gerischer (G, Gs) states a mechanism (a reaction coupled to diffusion, in a porous
    or mixed conductor) that R||CPE arcs and Warburgs do not; where the data cannot tell a
    G circuit from one without (a BIC difference below the tie margin), the circuit of
    arcs and Warburgs is the reading a battery researcher takes, and the Gerischer must
    earn its place by more than the margin, its one parameter fewer notwithstanding
    (two-arc data were given R0-p(R1,CPE1)-G1, 6 parameters against the truth's 7, by a
    BIC within 2 of the true circuit's). Among circuits alike in this, the fewer
    parameters, as the tie margin says."""
    return claims_gerischer(circuit), int(n_params), score


KK_FAILED_BEST = "least bad (points fail Lin-KK)"  # verdicts where the noise yardstick is inflated
KK_FAILED_OTHER = "not rejected (points fail Lin-KK)"


def kk_failed_verdicts(table):
    """``table`` (:func:`rank_candidates`) for points that fail the Lin-KK test: the noise
    level every candidate is judged against then comes from the failed chain, which holds
    the misfit itself, so "best" reads :data:`KK_FAILED_BEST` and "adequate"
    :data:`KK_FAILED_OTHER`: a Gamry spectrum whose fit missed the low-frequency end by 7
    degrees of phase was called adequate at 1.1x that noise. Rejections stay."""
    table = table.copy()
    table["verdict"] = table["verdict"].replace({"best": KK_FAILED_BEST, "adequate": KK_FAILED_OTHER})
    return table


UNJUDGED_BEST = "best by the criterion (fit not judged: no noise level)"
UNJUDGED_OTHER = "not rejected (fit not judged: no noise level)"


def unjudged_verdicts(table):
    """``table`` (:func:`rank_candidates`) for data with no noise level to judge the fits by
    (:attr:`SpectrumEvidence.noise_unjudged`): no candidate can be rejected for lack of fit
    nor shown adequate, so "best" reads :data:`UNJUDGED_BEST` and "adequate"
    :data:`UNJUDGED_OTHER`. Rejections for unresolved parameters stay."""
    table = table.copy()
    table["verdict"] = table["verdict"].replace({"best": UNJUDGED_BEST, "adequate": UNJUDGED_OTHER})
    return table


def verdict_text(row: Mapping[str, Any]) -> str:
    """A table row's verdict as shown: with the intercept a candidate's data fix only as a
    sum, "best (R0+R1 only: an arc above f_max)"."""
    intercept = row.get("intercept_only")
    if isinstance(intercept, str) and intercept:
        return f"{row['verdict']} ({intercept} only: an arc above f_max)"
    return str(row["verdict"])


def passes(verdict: str) -> bool:
    """Whether a table verdict is one of a candidate not rejected (adequate, or only not
    rejected because the points fail Lin-KK or give no noise level to judge fits by)."""
    return verdict in ("best", "adequate", KK_FAILED_BEST, KK_FAILED_OTHER, UNJUDGED_BEST, UNJUDGED_OTHER)


# ------------------------------------------------------------------ roles
def rivals_of_other_kinds(table, criterion: str) -> list[str]:
    """The candidates of a ranked ``table`` not rejected whose criterion lies within
    :data:`STRONG_EVIDENCE` of the chosen one's (first row) and that hold other kinds of
    element (a Warburg where the chosen has none, or none where it has one; a lead L and an
    ideal C for a CPE do not count): the data then do not decide the roles of the elements
    in which they differ. Two arcs half a decade apart had been given a Randles arc with a
    "diffusion" Ws1 and ``roles_clear`` True, the two-arc circuit 1.1 behind in BIC."""
    if not len(table):
        return []
    first = table.iloc[0]
    mine = _process_kinds(str(first["circuit"]))
    return [str(r["circuit"]) for _, r in table.iloc[1:].iterrows()
            if passes(str(r["verdict"])) and abs(float(r[criterion]) - float(first[criterion])) < STRONG_EVIDENCE
            and _process_kinds(str(r["circuit"])) != mine]


def _process_kinds(circuit: str) -> frozenset[str]:
    """The kinds of element of ``circuit`` that name processes (an ideal C counted as a CPE; no
    L: a lead, not a process)."""
    kinds = {"CPE" if e.kind == "C" else e.kind for e in load_circuit(circuit).circuit.elements}
    return frozenset(kinds - {"L", "La"})


def assign_roles(result, area_cm2: float | None = None,
                 unresolved: Sequence[str] = ()) -> tuple[dict[str, str], str, bool]:
    """Role names of the elements of a fitted circuit, and whether they are clear.

    Each arc's Hsu-Mansfeld C_eff (per cm2 with an area) is placed in the capacitance
    bands of Irvine, Sinclair & West (1990); the assignment is clear when C_eff / 2 and
    C_eff x 2 fall in the same band and no two arcs share a band. A series R is the
    electrolyte (plus leads) when no arc is assigned to the electrolyte; a Warburg element
    is diffusion, a series CPE or C a blocking electrode. An element with a parameter in
    ``unresolved`` (names as :func:`unresolved_parameters` gives them: ``R1``, ``Wo2_0``,
    ``CPE1``) gets no role: an element the data do not determine, or one that vanishes,
    is no evidence of a process. Returns (parameter -> role, a sentence, clear).
    """
    circ = load_circuit(result.circuit).circuit
    values = result.values
    roles: dict[str, str] = {}
    unclear: list[str] = []
    gone = {n.split("_")[0] for n in unresolved}
    arcs = [a for a in list(circ.arcs) + list(circ.randles_arcs) if not {a.resistor, a.capacitive} & gone]
    for a in arcs:
        tau = _arc_tau(values, a)
        c = tau / values[a.resistor] if values[a.resistor] > 0 else float("nan")
        c = c / area_cm2 if area_cm2 else c
        if not math.isfinite(c) or c <= 0:
            unclear.append(a.resistor)
            continue
        candidates = capacitance_bands(c)
        roles[a.resistor] = " or ".join(candidates)
        if len(candidates) > 1:
            unclear.append(a.resistor)
    taken = [r for r in roles.values()]
    shared = {r for r in taken if taken.count(r) > 1}
    unclear.extend(k for k, r in roles.items() if r in shared and k not in unclear)
    arc_members = {a.resistor for a in arcs} | {a.capacitive for a in arcs}
    for e in circ.elements:
        if e.name in arc_members or e.name in gone:
            continue
        if e.kind == "R":
            roles[e.name] = "electrolyte (with leads)" if "electrolyte" not in taken else "leads"
        elif e.kind in WARBURG_KINDS:
            roles[e.name] = "diffusion"
        elif e.kind in ("CPE", "C"):
            roles[e.name] = "electrode (blocking)"
        elif e.kind in ("L", "La"):
            roles[e.name] = "leads (inductance)"
    clear = not unclear
    described = ", ".join(f"{k}: {v}" for k, v in roles.items())
    basis = "C_eff per cm2" if area_cm2 else "C_eff for a cell constant of ~1/cm (no area given)"
    if clear:
        note = f"Roles from the arcs' capacitances ({basis}): {described}."
    else:
        note = (f"Roles are not clear for {', '.join(unclear)}: their capacitances ({basis}) sit "
                f"on a band boundary or share a band with another arc. Tentative: {described}.")
    if gone:
        note += (f" No role for {', '.join(sorted(gone))}: the data do not determine "
                 f"{'it' if len(gone) == 1 else 'them'} (unresolved or vanishing).")
    determined = [a for a in circ.arcs if not {a.resistor, a.capacitive} & gone]
    return roles, note + _derived_classes_sentence(values, determined, area_cm2), clear


def _derived_classes_sentence(values: Mapping[str, float], arcs, area_cm2: float | None) -> str:
    """How ``eisfit fit`` classes the same arcs for its derived quantities (two classes,
    :func:`eisfit.analysis.derived.guess_roles`), which the band names above refine."""
    classes = guess_roles(values, arcs, area_cm2)
    if not classes:
        return ""
    listed = ", ".join(f"{r} {c}" for r, c in classes.items())
    return (f" For its derived quantities eisfit fit of this circuit string counts an arc below "
            f"{INTERFACE_FROM_F_PER_CM2:g} F{'/cm2' if area_cm2 else ''} as electrolyte (conductivity), "
            f"from it on as interface (ASR per interface): {listed}.")


# ------------------------------------------------------------------ fit(circuit="auto")
def fit_auto(spectrum: Spectrum, **fit_options: Any):
    """``eisfit.fit(spectrum, circuit="auto", ...)``: the best suggestion's fit.

    The suggested circuit is fitted again with the caller's options (KK test, profile
    errors), seeded by the candidate fit; the :class:`CircuitSuggestion` is attached
    as ``result.suggestion`` (a field left out of ``to_dict()``). Parameters whose
    value another candidate, supported as well or better, puts more than 2 stderr away
    (:meth:`CircuitSuggestion.model_dependent`) are flagged ``model-dependent:<name>``.
    """
    from .fitting import fit

    for key in ("initial", "fixed", "bounds", "expr"):
        if fit_options.pop(key, None):
            raise FitError(f"{key}= names the parameters of one circuit; it cannot be used "
                           "with circuit='auto'")
    keys = ("weighting", "sigma", "fmin", "fmax", "exclude_hz", "drop_inductive", "area_cm2")
    suggestion = suggest_circuit(spectrum, **{k: fit_options[k] for k in keys
                                              if fit_options.get(k) is not None})
    best = suggestion.best_fit
    result = fit(spectrum, suggestion.best, initial=best, **fit_options)
    if result.chisq > best.chisq * (1 + 1e-9):  # keep the candidate's optimum
        result = fit(spectrum, suggestion.best, initial=best, **{**fit_options, "starts": 1})
    added = [f"model-dependent:{name}" for name in suggestion.model_dependent() if name in result.values]
    added += {"preferred": ["circuit-not-judged"], "least bad": ["least-bad-circuit"]}.get(_standing(suggestion), [])
    settings = {**result.settings, "circuit_choice": _choice_of_fit(suggestion.choice_record(), result, best)}
    return result.with_fields(flags=[*result.flags, *added], settings=settings, suggestion=suggestion)


def _choice_of_fit(record: dict[str, Any], result: Any, ranked: Any) -> dict[str, Any]:
    """The choice record (:meth:`CircuitSuggestion.choice_record`) as the fit of the chosen
    circuit, ``result``, reads it: its intercept where its fastest arc lies above the data (the
    ranking's fit had given it: a fit of the same circuit from there may end elsewhere), and,
    where that fit met an optimum lower than the ranking's fit (``ranked``) by more than s^2,
    both chi-squares (``refit_chisq``, ``ranked_chisq``): the ranking judged the circuit at the
    higher one (a fit had printed R1 313.7 ohm and Wo2 as numbers where the ranking, at a
    chi-square 17 % higher, had called Wo2 unresolved and R1 97 ohm, without a word)."""
    record = {k: v for k, v in record.items() if not k.startswith("intercept_")}
    above = intercept_only(result)
    if above is not None:
        record.update(intercept_only="+".join(above.summed), intercept_ohm=above.value_ohm,
                      intercept_stderr_ohm=above.stderr_ohm)
    if result.chisq < ranked.chisq - ranked.redchi:
        record.update(refit_chisq=float(result.chisq), ranked_chisq=float(ranked.chisq))
    return record


# ------------------------------------------------------------------ campaigns
@dataclass
class CommonChoice:
    """One circuit for a set of spectra (a campaign): :func:`choose_common_circuit`.

    ``circuit``: the choice; ``table``: per candidate, the summed criterion, the number of
    spectra where it is adequate / rejected, verdict; ``per_spectrum``: label -> the
    circuit that spectrum alone prefers; ``disagree``: labels whose own best differs.
    """

    circuit: str
    table: Any
    per_spectrum: dict[str, str]
    suggestions: list[CircuitSuggestion]
    criterion: str
    left_out: dict[str, str] = field(default_factory=dict)  # label -> why no circuit could be suggested for it

    @property
    def disagree(self) -> list[str]:
        return [k for k, v in self.per_spectrum.items() if v != self.circuit]

    @property
    def n_candidate_fits(self) -> int:
        """The candidate fits the choice ran: one per candidate circuit of each spectrum's
        suggestion (not cached: a rerun fits them again)."""
        return sum(len(s.table) for s in self.suggestions)

    def _why_not_next(self, row: Any, alt: Any) -> str:
        """Why the chosen circuit (``row``) beat one the criterion alone prefers (``alt``):
        adequate in more spectra, or, equally adequate and within the tie margin
        (:data:`BIC_TIE` per spectrum, :func:`choose_common_circuit`), no Gerischer or fewer
        parameters (:func:`tie_break`)."""
        if int(row["n_adequate"]) != int(alt["n_adequate"]):
            return (f"the choice goes to the circuit adequate in more spectra ({int(row['n_adequate'])} against "
                    f"{int(alt['n_adequate'])}).")
        n = len(self.per_spectrum)
        margin = (f"both are adequate in {int(row['n_adequate'])} spectra and within the tie margin "
                  f"({BIC_TIE:g} per spectrum, {BIC_TIE * n:g} over {n}), so the choice goes to ")
        if claims_gerischer(str(alt["circuit"])) and not claims_gerischer(str(row["circuit"])):
            return margin + "the circuit without a Gerischer (one must do better than the margin to be chosen)."
        return margin + (f"the circuit with fewer parameters ({int(row['n_params'])} against "
                         f"{int(alt['n_params'])}).")

    def explain(self) -> str:
        row = self.table.iloc[0]
        n = len(self.per_spectrum)
        text = (f"Circuit chosen for all {n} spectra: {self.circuit} (summed "
                f"{self.criterion.upper()} {row['sum_' + self.criterion]:.1f}, adequate in "
                f"{int(row['n_adequate'])} of {n}).")
        if len(self.table) > 1:
            alt = self.table.iloc[1]
            gap = alt["sum_" + self.criterion] - row["sum_" + self.criterion]
            text += (f" Next: {alt['circuit']} (summed {self.criterion.upper()} "
                     f"{alt['sum_' + self.criterion]:.1f}, {gap:+.1f}; adequate in "
                     f"{int(alt['n_adequate'])}).")
            if gap < 0:  # the rule puts adequacy, then parsimony within a tie, first: say which decided
                text += f" The {self.criterion.upper()} alone prefers {alt['circuit']}; " + self._why_not_next(row, alt)
        if self.disagree:
            by_circuit: dict[str, list[str]] = {}
            for k in self.disagree:
                by_circuit.setdefault(self.per_spectrum[k], []).append(k)
            text += (f" {len(self.disagree)} of {n} spectra alone would prefer another circuit (where no "
                     "candidate is adequate for a spectrum, its least bad): "
                     + "; ".join(f"{c} ({_some(labels)})" for c, labels in by_circuit.items()) + ".")
        else:
            text += " Every spectrum alone prefers the same circuit."
        if self.left_out:
            text += (f" Left out of the choice ({len(self.left_out)}): "
                     + "; ".join(f"{k}: {v}" for k, v in list(self.left_out.items())[:EXPLAIN_LABELS]))
            text += f" and {len(self.left_out) - EXPLAIN_LABELS} more." if len(self.left_out) > EXPLAIN_LABELS else "."
        return text

    def to_dict(self) -> dict[str, Any]:
        from ._json import to_jsonable

        return {"circuit": self.circuit, "criterion": self.criterion,
                "per_spectrum": dict(self.per_spectrum), "left_out": dict(self.left_out),
                "explanation": self.explain(),
                "table": to_jsonable(self.table.to_dict(orient="records"))}


EXPLAIN_LABELS = 5  # spectra named per group in CommonChoice.explain() (the rest counted)


def differing_circuits_note(results: Sequence[Any]) -> str | None:
    """What a user of ``fit(circuit="auto")`` on several spectra (the sweeps of one file, a
    folder) should know when the spectra got different circuits: a parameter of one name
    (R1) is then a different element from spectrum to spectrum (an electrolyte arc here, a
    charge transfer there), so its column is no evolution. None when they share one circuit."""
    by_circuit: dict[str, list[str]] = {}
    for r in results:
        by_circuit.setdefault(r.circuit, []).append(r.label)
    if len(by_circuit) < 2:
        return None
    listed = "; ".join(f"{c} for {len(labels)} ({_some(labels)})" for c, labels in by_circuit.items())
    return (f"circuit 'auto' chose {len(by_circuit)} different circuits: {listed}. A parameter of one "
            "name (R1...) is a different element from circuit to circuit; to compare the spectra, fit "
            "one circuit (--circuit NAME) or let `eisfit campaign --circuit auto` choose one for all")


def _some(labels: Sequence[str]) -> str:
    """``labels`` for a sentence: all of a few, else the first ones and how many more."""
    if len(labels) <= EXPLAIN_LABELS:
        return ", ".join(labels)
    named = ", ".join(labels[:EXPLAIN_LABELS - 1])
    return f"{len(labels)} spectra: {named} and {len(labels) - EXPLAIN_LABELS + 1} more"


def choose_common_circuit(spectra: Sequence[Spectrum], *, criterion: str = "bic",
                          candidates: Sequence[str] | None = None, n_explore: int = 3,
                          executor: Executor | None = None, **fit_options: Any) -> CommonChoice:
    """One circuit for all ``spectra`` by the criterion summed over them.

    The automatic search (:func:`suggest_circuit`) runs on ``n_explore`` spectra spread
    over the series (first, middle, last; all when ``n_explore`` is None); the circuits
    they found adequate (and their bests) are then fitted to every spectrum. The circuit
    adequate in the most spectra with the smallest summed criterion is chosen (within
    :data:`BIC_TIE` per spectrum of the lowest sum, the one :func:`tie_break` puts first:
    without a Gerischer, then with fewer parameters).
    ``per_spectrum`` gives the circuit each spectrum alone prefers among those candidates.
    A spectrum no circuit can be suggested for (a single-frequency recording, no candidate
    fitted) is left out of the choice, with the reason in ``left_out``; FitError when
    that leaves none.

    ``executor``: a :class:`concurrent.futures.Executor` (worker processes, a Dask
    client's) that runs the explored searches side by side and the candidates' fits of the
    other spectra in chunks of :data:`CHOICE_CHUNK` (a batched fit per circuit and chunk);
    the choice is the same, the fits' values agree with one batch's to the optimiser's
    tolerance. None: all here, one batched fit per circuit.
    """
    import pandas as pd

    if not spectra:
        raise FitError("choose_common_circuit needs at least one spectrum")
    candidates = candidate_list(candidates)
    from .fitting.engine import spectrum_in_ohm

    # data read per area: divided once here (suggest_circuit and the batched fits then see ohm)
    spectra = [spectrum_in_ohm(s, fit_options.get("area_cm2")) for s in spectra]
    names = [s.label or f"#{i}" for i, s in enumerate(spectra)]
    left_out: dict[str, str] = {}  # name -> reason
    reasons = [_no_evidence_reason(s, fit_options) for s in spectra]
    left_out.update((name, r) for name, r in zip(names, reasons) if r)
    spectra = [s for s, r in zip(spectra, reasons) if not r]
    names = [name for name, r in zip(names, reasons) if not r]
    n = len(spectra)
    failed: set[int] = set()  # positions (in spectra) for which no circuit could be suggested
    explore = (list(range(n)) if n_explore is None or n <= n_explore
               else sorted({int(round(k)) for k in np.linspace(0, n - 1, n_explore)}))
    explored: dict[int, CircuitSuggestion] = {}
    searches = map_jobs(executor, _explored_search, [(spectra[i], candidates, criterion, fit_options) for i in explore])
    for i, found in zip(explore, searches):
        if isinstance(found, str):
            left_out[names[i]] = found
            failed.add(i)
        else:
            explored[i] = found
    if not explored:
        raise FitError("no circuit could be suggested for any spectrum: "
                       + "; ".join(f"{k}: {v}" for k, v in left_out.items()))
    pool: list[str] = []
    for sug in explored.values():
        t = sug.table
        pool.extend(t[t["verdict"].map(passes).astype(bool)]["circuit"])
        pool.append(sug.best)
    pool = list(dict.fromkeys(pool))
    missing_of = [[] if i in failed else [c for c in pool if i not in explored or c not in explored[i].fits]
                  for i in range(n)]
    chunks = [list(range(n))] if executor is None else [list(range(a, min(a + CHOICE_CHUNK, n)))
                                                        for a in range(0, n, CHOICE_CHUNK)]
    jobs = [([spectra[i] for i in chunk], [missing_of[i] for i in chunk],
             [explored[i].evidence if i in explored else None for i in chunk], [i in explored for i in chunk],
             criterion, fit_options) for chunk in chunks]
    suggestions, suggested = [], []
    for chunk, completed in zip(chunks, map_jobs(executor, _candidates_completed, jobs)):
        for i, extra in zip(chunk, completed):
            if i in failed:
                continue
            sug = explored.get(i)
            if isinstance(extra, str):  # no circuit could be suggested for it (an explored one's error was raised)
                left_out[names[i]] = extra
                failed.add(i)
                continue
            if sug is None:
                sug = extra
            elif extra is not None:
                rows = [r for _, r in sug.table.iterrows()] + [r for _, r in extra.table.iterrows()]
                sug.fits.update(extra.fits)
                sug.table = _reranked(rows, criterion)
                sug.best = str(sug.table.iloc[0]["circuit"])
            suggestions.append(sug)
            suggested.append(names[i])
    records = []
    for c in pool:
        rows = [sug.table[sug.table["circuit"] == c] for sug in suggestions]
        if any(len(r) == 0 for r in rows):
            continue
        crit = [float(r[criterion].iloc[0]) for r in rows]
        verdicts = [str(r["verdict"].iloc[0]) for r in rows]
        records.append({"circuit": c, "n_params": int(rows[0]["n_params"].iloc[0]),
                        f"sum_{criterion}": float(np.sum(crit)),
                        "n_adequate": sum(passes(v) for v in verdicts),
                        "n_lack_of_fit": sum(v.startswith("rejected: lack") for v in verdicts),
                        "n_unresolved": sum(v.startswith("rejected: unres") for v in verdicts)})
    if not records:
        raise FitError("no circuit could be fitted to every spectrum")
    t = pd.DataFrame(records).sort_values(["n_adequate", f"sum_{criterion}"], ascending=[False, True],
                                          kind="stable").reset_index(drop=True)
    top = t[t["n_adequate"] == t["n_adequate"].iloc[0]]
    tied = top[top[f"sum_{criterion}"] <= top[f"sum_{criterion}"].iloc[0] + BIC_TIE * len(suggestions)]
    chosen = min(tied.index, key=lambda i: tie_break(tied.at[i, "circuit"], tied.at[i, "n_params"],
                                                     tied.at[i, f"sum_{criterion}"]))
    t = pd.concat([t.loc[[chosen]], t.drop(index=chosen)]).reset_index(drop=True)
    per = {name: _preferred(sug, pool) for name, sug in zip(suggested, suggestions)}
    return CommonChoice(circuit=str(t.iloc[0]["circuit"]), table=t, per_spectrum=per,
                        suggestions=suggestions, criterion=criterion, left_out=left_out)


CHOICE_CHUNK = 64  # spectra per task of choose_common_circuit with an executor (a batched fit per circuit each)


def _explored_search(spectrum: Spectrum, candidates: Sequence[str] | None, criterion: str,
                     fit_options: Mapping[str, Any]) -> CircuitSuggestion | str:
    """:func:`suggest_circuit` of one explored spectrum, or why none could be suggested."""
    try:
        return suggest_circuit(spectrum, candidates, criterion=criterion, **fit_options)
    except FitError as exc:
        return _reason(exc, spectrum)


def _candidates_completed(spectra: Sequence[Spectrum], missing_of: Sequence[Sequence[str]],
                          evidence_of: Sequence[Any], explored: Sequence[bool], criterion: str,
                          fit_options: Mapping[str, Any]) -> list[CircuitSuggestion | str | None]:
    """Per spectrum of a chunk, the suggestion among its missing candidates (``missing_of``;
    None where none is missing), or why none could be made (a str; for an explored spectrum,
    whose evidence is given, the FitError is raised). The candidates' cold fits are batched
    per circuit over the chunk (:func:`_batched_fits`), the evidence of the spectra not
    explored read together (:func:`spectra_evidence`)."""
    prefitted = _batched_fits(spectra, missing_of, fit_options)
    unexplored = [k for k in range(len(spectra)) if not explored[k] and missing_of[k]]
    evidence = dict(zip(unexplored, spectra_evidence([_evidence_data(spectra[k], fit_options) for k in unexplored])))
    out: list[CircuitSuggestion | str | None] = []
    for k, s in enumerate(spectra):
        if not missing_of[k]:
            out.append(None)
            continue
        try:
            out.append(_suggest(s, missing_of[k], criterion, False, MAX_FITS, LACK_OF_FIT_RATIO,
                                fit_options.get("area_cm2"), {key: v for key, v in fit_options.items() if key != "area_cm2"},
                                prefitted[k], evidence_of[k] if explored[k] else evidence.get(k)))
        except FitError as exc:
            if explored[k]:
                raise
            out.append(_reason(exc, s))
    return out


def _no_evidence_reason(spectrum: Spectrum, fit_options: Mapping[str, Any]) -> str | None:
    """Why no circuit can be suggested for ``spectrum`` (too few distinct frequencies in
    the fitted range), or None."""
    from .spectrum import require_distinct_frequencies

    try:
        require_distinct_frequencies(_evidence_data(spectrum, fit_options), 3, "a circuit suggestion")
    except DataError as exc:
        return _reason(exc, spectrum)
    return None


def _reason(exc: Exception, spectrum: Spectrum) -> str:
    """The message of ``exc`` without the spectrum's label in front (named beside it)."""
    text = str(exc)
    while spectrum.label and text.startswith(f"{spectrum.label}: "):
        text = text[len(spectrum.label) + 2:]
    return text


def _batched_fits(spectra: Sequence[Spectrum], missing_of: Sequence[Sequence[str]],
                  fit_options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The cold fits of every spectrum's missing candidates, one batched fit per circuit
    (:func:`eisfit.fitting.batch.fit_batch`: the results of :func:`eisfit.fit`); per
    spectrum {circuit string: FitResult}. A circuit whose batch cannot run (an option the
    batch does not take, a spectrum the engine refuses) is left to the fits one by one."""
    from .fitting.batch import fit_batch

    out: list[dict[str, Any]] = [{} for _ in spectra]
    for circuit in dict.fromkeys(c for m in missing_of for c in m):
        rows = [i for i, m in enumerate(missing_of) if circuit in m]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fits = fit_batch([spectra[i] for i in rows], circuit, **{**_CANDIDATE_FIT_OPTIONS, **fit_options})
        except (FitError, TypeError):
            continue
        key = load_circuit(circuit).string
        for i, res in zip(rows, fits):
            out[i][key] = res
    return out


def _preferred(sug: CircuitSuggestion, pool: Sequence[str]) -> str:
    """The circuit a spectrum alone prefers among the campaign's candidates."""
    ranked = [c for c in sug.table["circuit"] if c in pool]
    return ranked[0] if ranked else sug.best


def _reranked(rows, criterion):
    """Rank table rows of one spectrum again (after candidates were added)."""
    recs = []
    for r in rows:
        d = dict(r)
        d["lack_of_fit"] = str(d["verdict"]).startswith("rejected: lack")
        recs.append(d)
    seen: dict[str, dict] = {}
    for d in recs:
        seen.setdefault(d["circuit"], d)
    return rank_candidates(list(seen.values()), criterion)
