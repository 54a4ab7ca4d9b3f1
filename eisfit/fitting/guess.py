"""Initial values from the data, and the multi-start set built around them.

No user guess is needed: R0 from the high-frequency intercept, the polarisation
resistance from the low-frequency end, arc time constants from the apexes of
-Z'' (log-spaced over the measured range when fewer apexes are visible), CPE
exponents 0.85. The multi-start set then spans the arc time constants and the
split of the polarisation resistance between arcs on a grid.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..model.parser import Leaf, Parallel, Series
from ..spectrum import Spectrum

N_EXPONENT_START = 0.9
L_REACTANCE_FRACTION = 0.05  # start of a series L without inductive points: omega_max L = 5 % of |Z|


@dataclass(frozen=True)
class SpectrumFeatures:
    """What the guess reads off a spectrum (ohm, s)."""

    r_inf: float  # high-frequency intercept
    r_pol: float  # polarisation resistance (low-frequency Z' minus r_inf)
    tau_min: float  # 1/(2 pi f_max)
    tau_max: float  # 1/(2 pi f_min)
    apex_taus: tuple[float, ...]  # 1/(2 pi f_apex) of visible -Z'' maxima, largest apex first
    l_guess: float  # series inductance from inductive high-frequency points, H
    omega_min: float
    zimag_lf: float  # -Z'' at the lowest frequency, ohm


def spectrum_features(frequency: np.ndarray, z: np.ndarray) -> SpectrumFeatures:
    order = np.argsort(frequency)
    f = frequency[order]
    zz = z[order]
    w = 2 * np.pi * f
    capacitive = zz.imag <= 0
    hf = np.flatnonzero(capacitive)
    top = hf[-max(1, len(hf) // 10):] if hf.size else np.arange(f.size)[-3:]
    r_inf = float(max(np.min(zz.real[top]), 1e-6 * np.max(np.abs(zz))))
    r_lf = float(zz.real[0])
    r_pol = max(r_lf - r_inf, 0.05 * np.max(np.abs(zz)))
    apex_taus = _apex_taus(f, -zz.imag)
    # Series inductance: from inductive high-frequency points when there are any, else a
    # cable-like value whose reactance is a few % of |Z| at the highest frequency (starting
    # it near zero traps it there: in log space its gradient vanishes with it).
    l_guess = float(zz.imag[-1] / w[-1]) if zz.imag[-1] > 0 else float(L_REACTANCE_FRACTION * np.abs(zz[-1]) / w[-1])
    return SpectrumFeatures(
        r_inf=r_inf, r_pol=float(r_pol), tau_min=float(1 / w[-1]), tau_max=float(1 / w[0]),
        apex_taus=apex_taus, l_guess=l_guess, omega_min=float(w[0]), zimag_lf=float(-zz.imag[0]),
    )


def _apex_taus(f: np.ndarray, minus_im: np.ndarray) -> tuple[float, ...]:
    """Time constants of the local maxima of -Z'' (ascending f input), most prominent first."""
    if f.size < 5:
        return ()
    y = np.convolve(minus_im, np.ones(3) / 3, mode="same")
    y[0], y[-1] = minus_im[0], minus_im[-1]
    peaks = [i for i in range(1, f.size - 1) if y[i] > y[i - 1] and y[i] >= y[i + 1] and y[i] > 0]
    peaks.sort(key=lambda i: -y[i])
    return tuple(float(1 / (2 * np.pi * f[i])) for i in peaks)


def top_level_arc_groups(tree, arcs) -> list[list[int]]:
    """Groups of arc indices that may swap places: arcs that sit directly in the
    top-level series chain and share the capacitive kind."""
    top = tree.children if isinstance(tree, Series) else (tree,)
    top_arcs = []
    for node in top:
        if isinstance(node, Parallel) and len(node.children) == 2 and all(isinstance(k, Leaf) for k in node.children):
            names = {k.name for k in node.children}
            for i, a in enumerate(arcs):
                if {a.resistor, a.capacitive} == names:
                    top_arcs.append(i)
    groups: dict[str, list[int]] = {}
    for i in top_arcs:
        groups.setdefault(arcs[i].kind, []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def base_guess(circuit, feats: SpectrumFeatures) -> dict[str, float]:
    """One physically sensible starting point for every parameter of ``circuit``."""
    arcs = circuit.arcs
    arc_members = {a.resistor for a in arcs} | {a.capacitive for a in arcs}
    n_arcs = len(arcs)
    taus = arc_taus_from_features(feats, n_arcs)
    guess: dict[str, float] = {}
    for k, arc in enumerate(arcs):
        r = feats.r_pol / max(n_arcs, 1)
        guess.update(arc_values(arc, r, taus[k]))
    series_r = [e for e in circuit.elements if e.kind == "R" and e.name not in arc_members]
    mid_tau = math.sqrt(feats.tau_min * feats.tau_max)
    for e in circuit.elements:
        if e.name in arc_members:
            continue
        p = e.param_names
        if e.kind == "R":
            guess[p[0]] = feats.r_inf / max(len(series_r), 1)
        elif e.kind == "L":
            guess[p[0]] = feats.l_guess
        elif e.kind == "La":
            guess[p[0]] = feats.l_guess
            guess[p[1]] = 0.9
        elif e.kind == "C":
            guess[p[0]] = 1.0 / (feats.omega_min * max(feats.zimag_lf, 1e-3 * feats.r_pol))
        elif e.kind == "CPE":
            n = 0.8
            guess[p[0]] = 1.0 / (feats.omega_min ** n * max(feats.zimag_lf, 1e-3 * feats.r_pol))
            guess[p[1]] = n
        elif e.kind == "W":
            guess[p[0]] = max(feats.zimag_lf, 1e-3 * feats.r_pol) * math.sqrt(feats.omega_min)
        elif e.kind in ("Wo", "Ws"):
            guess[p[0]] = feats.r_pol / 2
            guess[p[1]] = feats.tau_max
        else:
            for name, unit in zip(p, [circuit.param_units[circuit.param_names.index(x)] for x in p]):
                guess[name] = _generic_value(unit, feats, mid_tau)
    return guess


def _generic_value(unit: str, feats: SpectrumFeatures, mid_tau: float) -> float:
    u = unit.lower()
    if u in ("ohm", "ω"):
        return feats.r_pol / 2
    if u == "s":
        return mid_tau
    if u == "":
        return 0.8
    if u == "f":
        return mid_tau / max(feats.r_pol, 1e-12)
    return 1.0


def arc_taus_from_features(feats: SpectrumFeatures, n_arcs: int) -> list[float]:
    """Arc time constants, ascending: visible apexes first, log-spaced fill otherwise."""
    if n_arcs == 0:
        return []
    visible = sorted(feats.apex_taus[:n_arcs])
    if len(visible) == n_arcs:
        return visible
    return list(np.geomspace(feats.tau_min * 3, feats.tau_max / 3, n_arcs))


def arc_values(arc, r: float, tau: float, n: float = N_EXPONENT_START) -> dict[str, float]:
    """Parameter values of one arc with resistance r (ohm) and time constant tau (s)."""
    if arc.kind == "CPE":
        return {arc.resistor: r, f"{arc.capacitive}_0": tau**n / r, f"{arc.capacitive}_1": n}
    return {arc.resistor: r, arc.capacitive: tau / r}


def multistart_guesses(circuit, feats: SpectrumFeatures, base: dict[str, float],
                       n_grid: int | None = None, rng: np.random.Generator | None = None,
                       n_starts: int | None = None) -> list[dict[str, float]]:
    """The base guess, then a grid over arc time constants (ascending) and resistance splits.

    With ``n_starts``, only the base guess and ``n_starts - 1`` grid points picked evenly
    across the grid are built (a short list that still spans the time constants).
    """
    arcs = circuit.arcs
    starts = [dict(base)]
    if not arcs:
        rng = rng or np.random.default_rng(0)
        for _ in range(8):
            s = dict(base)
            for name, is_log in zip(circuit.param_names, circuit.log_scale):
                if is_log:
                    s[name] = base[name] * 10 ** rng.uniform(-1, 1)
            starts.append(s)
        return starts
    n_arcs = len(arcs)
    grid_size = n_grid or {1: 9, 2: 6, 3: 5}.get(n_arcs, 4)
    lo, hi = feats.tau_min / 3, feats.tau_max * 3
    tau_grid = np.geomspace(lo, hi, grid_size)
    combos = [(taus, frac) for taus in itertools.combinations(tau_grid, n_arcs)
              for frac in _resistance_splits(n_arcs)]
    if n_starts is not None and n_starts - 1 < len(combos):
        picks = np.linspace(0, len(combos) - 1, max(n_starts - 1, 0)).round().astype(int)
        combos = [combos[i] for i in np.unique(picks)]
    for taus, frac in combos:
        s = dict(base)
        for arc, tau, fr in zip(arcs, taus, frac):
            s.update(arc_values(arc, feats.r_pol * fr, tau))
        starts.append(s)
    return starts


def _resistance_splits(n_arcs: int) -> list[tuple[float, ...]]:
    if n_arcs == 1:
        return [(1.0,)]
    if n_arcs == 2:
        return [(0.5, 0.5), (0.12, 0.88), (0.88, 0.12), (0.03, 0.97), (0.97, 0.03)]
    even = tuple([1.0 / n_arcs] * n_arcs)
    return [even]


# ---- DRT-seeded starts (issue 8: fit(..., guess="drt")) ----------------------------
DRT_SPLIT_DECADES = 0.5  # a peak shared by two arcs is split at tau * 10^(+-0.5)
DRT_N_RANGE = (0.5, 0.98)  # CPE exponents estimated from a peak's shape are clipped to this
DRT_N_STARTS = (None, N_EXPONENT_START, 0.95)  # None: exponent from the peak's shape


@dataclass(frozen=True)
class DRTPeak:
    """One relaxation process read off a DRT: tau (s), area R (ohm), CPE exponent n."""

    tau: float
    r: float
    n: float


def drt_starts(circuit, base: dict[str, float], frequency: np.ndarray, z: np.ndarray,
               weighting: str = "modulus", sigma=None) -> list[dict[str, float]]:
    """Starts seeded by the DRT of the data (:func:`eisfit.drt`, kk test off).

    Each arc of the circuit (in order, ascending tau) gets one DRT peak: its time
    constant (s), its area as the arc resistance (ohm) and, in the first start, the
    CPE exponent of a ZARC with the same height/area ratio (``gamma_max / R =
    cot((1 - n) pi / 2) / (2 pi)``, clipped to 0.5..0.98); the second and third use
    n = 0.85 and n = 0.95 (regularisation broadens peaks, so the shape estimate of a
    near-ideal arc is too low). With more peaks than arcs the largest areas are kept and the others
    added to their nearest kept neighbour (in log tau); with fewer, the largest peak
    is split in two (tau * 10^-+0.5, half the area each) until the counts match.
    Series resistances share the DRT's R_inf. Returns [] when the circuit has no
    arc or the DRT fails (e.g. too few points).
    """
    arcs = circuit.arcs
    if not arcs:
        return []
    res = _data_drt(frequency, z, weighting, sigma)
    if res is None or not len(res.peaks):
        return []
    peaks = _match_peak_count(_drt_peaks(res), len(arcs))
    starts = []
    for n_start in DRT_N_STARTS:
        s = dict(base)
        for arc, p in zip(arcs, peaks):
            s.update(arc_values(arc, p.r, p.tau, p.n if n_start is None else n_start))
        _set_series_resistance(circuit, s, res.r_inf_ohm)
        starts.append(s)
    return starts


def _data_drt(frequency: np.ndarray, z: np.ndarray, weighting: str, sigma):
    """DRTResult of the points, or None when it cannot be computed."""
    import warnings

    from ..analysis.drt import drt
    from ..errors import EisfitError

    mode = weighting if weighting in ("modulus", "proportional", "unit") else "modulus"
    if sigma is not None:
        mode = "sigma"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return drt(Spectrum(frequency, z), weighting=mode, sigma=sigma, kk=False)
    except (EisfitError, ValueError, np.linalg.LinAlgError):
        return None


def _drt_peaks(res) -> list[DRTPeak]:
    """The peaks of a DRTResult with an exponent estimated from height / area."""
    out = []
    for tau, g, r in zip(res.peaks["tau_s"], res.peaks["gamma_ohm"], res.peaks["R_ohm"]):
        a = 2.0 * math.atan(r / (2.0 * math.pi * max(g, 1e-300)))  # (1 - n) pi
        n = float(np.clip(1.0 - a / math.pi, *DRT_N_RANGE))
        out.append(DRTPeak(float(tau), float(r), n))
    return out


def _match_peak_count(peaks: list[DRTPeak], n_arcs: int) -> list[DRTPeak]:
    """Exactly ``n_arcs`` peaks, ascending tau (merge the smallest / split the largest)."""
    peaks = sorted(peaks, key=lambda p: p.tau)
    while len(peaks) > n_arcs:
        k = min(range(len(peaks)), key=lambda i: peaks[i].r)
        gone = peaks.pop(k)
        j = min(range(len(peaks)), key=lambda i: abs(math.log(peaks[i].tau / gone.tau)))
        peaks[j] = DRTPeak(peaks[j].tau, peaks[j].r + gone.r, peaks[j].n)
    while len(peaks) < n_arcs:
        k = max(range(len(peaks)), key=lambda i: peaks[i].r)
        big = peaks.pop(k)
        step = 10.0 ** DRT_SPLIT_DECADES
        peaks += [DRTPeak(big.tau / step, big.r / 2, big.n), DRTPeak(big.tau * step, big.r / 2, big.n)]
        peaks.sort(key=lambda p: p.tau)
    return peaks


def _set_series_resistance(circuit, start: dict[str, float], r_inf: float) -> None:
    """Share ``r_inf`` (ohm) between the resistors that are not part of an arc."""
    arc_members = {a.resistor for a in circuit.arcs}
    series = [e.param_names[0] for e in circuit.elements if e.kind == "R" and e.name not in arc_members]
    if series and r_inf > 0:
        for name in series:
            start[name] = r_inf / len(series)
# ---- end DRT-seeded starts ----------------------------------------------------------
