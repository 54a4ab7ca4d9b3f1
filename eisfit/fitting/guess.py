"""Initial values from the data, and the multi-start set built around them.

No user guess is needed: R0 from the high-frequency intercept, the polarisation
resistance from the low-frequency end, arc time constants from the apexes of
-Z'' (log-spaced over the measured range when fewer apexes are visible), CPE
exponents 0.85. The multi-start set then spans the arc time constants and the
split of the polarisation resistance between arcs on a grid.
"""
from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import Callable, Collection, Mapping, Sequence

import numpy as np

from ..analysis.derived import arc_tau_s, paasch_dc_resistance
from ..model.circuit import Arc, branch_arc_of
from ..model.elements import ELEMENT_ARC_KINDS, paasch, warburg_open
from ..model.parser import Leaf, Parallel, Series, leaves, series_chain
from ..spectrum import points_spectrum

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
    omega: np.ndarray | None = None  # angular frequencies of the points, ascending, rad/s
    z: np.ndarray | None = None  # impedance at ``omega``, ohm

    @functools.cached_property
    def lf_exponent(self) -> float:
        """-dln(-Z'')/dln(omega) over the lowest-frequency decade, clipped to 0.8..1 (0.8
        without points): read only for circuits with a blocking element, so computed when
        first asked (a line fit, ~30 us, on every spectrum of a campaign otherwise)."""
        if self.omega is None or self.z is None:
            return 0.8
        return _low_frequency_exponent(self.omega, -self.z.imag)


def spectrum_features(frequency: np.ndarray, z: np.ndarray) -> SpectrumFeatures:
    order = np.argsort(frequency)
    f = frequency[order]
    zz = z[order]
    w = 2 * np.pi * f
    minus_im = -zz.imag
    abs_z = np.abs(zz)
    z_max = abs_z.max()
    hf = np.flatnonzero(minus_im >= 0)  # capacitive points
    top = hf[-max(1, len(hf) // 10):] if hf.size else np.arange(f.size)[-3:]
    r_inf = float(max(zz.real[top].min(), 1e-6 * z_max))
    r_lf = float(zz.real[0])
    r_pol = max(r_lf - r_inf, 0.05 * z_max)
    # Series inductance: from inductive high-frequency points when there are any, else a
    # cable-like value whose reactance is a few % of |Z| at the highest frequency (a start
    # near zero trapped it there while it was fitted in log space; now linear, a start of the
    # right size still saves iterations).
    l_guess = float(zz.imag[-1] / w[-1]) if zz.imag[-1] > 0 else float(L_REACTANCE_FRACTION * abs_z[-1] / w[-1])
    return SpectrumFeatures(
        r_inf=r_inf, r_pol=float(r_pol), tau_min=float(1 / w[-1]), tau_max=float(1 / w[0]),
        apex_taus=_apex_taus(f, minus_im), l_guess=l_guess, omega_min=float(w[0]), zimag_lf=float(minus_im[0]),
        omega=w, z=zz,
    )


def _low_frequency_exponent(w: np.ndarray, minus_im: np.ndarray) -> float:
    """Exponent of a blocking line from the slope -dln(-Z'')/dln(omega) over the
    lowest-frequency decade (ascending ``w``), clipped to 0.8..1: ~1 for a blocking
    capacitor, n for a steep CPE line; 0.8 (the generic start) when the slope is
    shallower (an arc's tail still in that decade pulls it down) or -Z'' is not positive."""
    low = w <= w[0] * 10
    line = minus_im[low]
    if line.size < 3 or (line <= 0).any():
        return 0.8
    slope = np.polyfit(np.log(w[low]), np.log(line), 1)[0]
    return float(min(max(-slope, 0.8), 1.0))


def _apex_taus(f: np.ndarray, minus_im: np.ndarray) -> tuple[float, ...]:
    """Time constants of the local maxima of -Z'' (ascending f input), most prominent first."""
    if f.size < 5:
        return ()
    y = np.convolve(minus_im, np.ones(3) / 3, mode="same")
    y[0], y[-1] = minus_im[0], minus_im[-1]
    inner = y[1:-1]
    peaks = 1 + np.flatnonzero((inner > y[:-2]) & (inner >= y[2:]) & (inner > 0))
    peaks = peaks[np.argsort(-y[peaks], kind="stable")]  # equal heights: lower frequency first
    return tuple((1 / (2 * np.pi * f[peaks])).tolist())


def top_level_arc_groups(tree, arcs) -> list[list[int]]:
    """Groups of arc indices that may swap places: arcs that sit directly in the
    top-level series chain and share the capacitive kind."""
    top = series_chain(tree)
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


DIFFUSION_KINDS = ("Wo", "Ws")  # finite diffusion elements: a magnitude Z0 (ohm) and a time constant (s)
# elements placed on the time axis by a magnitude (ohm, their first parameter) and a time
# constant (s; :func:`element_tau_s`): the finite diffusions, the relaxations K, Zarc, G, Gs,
# the transmission line TLMQ (Rion, with tau = (Rion Qs)^(1/gamma)) and the porous electrode T
# (A, with tau = b/a)
TIME_CONSTANT_KINDS = DIFFUSION_KINDS + ELEMENT_ARC_KINDS + ("G", "Gs", "TLMQ", "T")
SCREEN_SHAPE = {"K": "arc", "Zarc": "arc", "Gs": "G"}  # unit response the linear screen takes for a kind
EXPONENT_PARAM = {"Zarc": 2, "TLMQ": 2}  # an element's dispersion exponent (its parameter index)
GS_PHI_START = 1.0  # finite-length factor of a Gs start (tanh(1) = 0.76: between a short and a Gerischer)
# the reaction-over-transport ratio a of a T (Paasch) start, alternating along the start list:
# a = 1 (with B = 0 the element is a Gs of phi = sqrt(a) = 1 and t_G = b/a), and a slow
# reaction, a = 0.03: a 45-degree line above 1/b, a capacitive line, then an arc at b/a
T_A_STARTS = (1.0, 0.03)
T_B_SHARE = 0.1  # B = T_B_SHARE * A in a T start


@dataclass(frozen=True)
class Process:
    """One relaxation the guess places on the time axis (circuit order, fast to slow).

    ``arc`` for a semicircle (a plain R || CPE, or the arc of a branch ``p(CPE, R-...)``
    whose capacitance shunts a resistor in series with more elements), or ``element``
    (name and kind of one element of ``TIME_CONSTANT_KINDS``: a Wo/Ws diffusion, a K, Zarc,
    G or Gs relaxation, a TLMQ transmission line). ``branch_arc``: for a process that sits
    in series behind the resistor of such a branch (a diffusion, a nested arc), the arc
    whose capacitance shunts it.
    """

    arc: Arc | None = None
    element: str | None = None
    element_kind: str | None = None
    branch_arc: Arc | None = None

    @property
    def in_branch(self) -> bool:
        """Whether this process sits behind a branch arc's resistor (``branch_arc``)."""
        return self.branch_arc is not None

    @property
    def is_diffusion(self) -> bool:
        """Whether this is a finite diffusion (Wo, Ws)."""
        return self.element_kind in DIFFUSION_KINDS


@functools.lru_cache(maxsize=64)
def processes(circuit) -> tuple[Process, ...]:
    """The arcs and the elements of ``TIME_CONSTANT_KINDS`` of ``circuit`` in series order.

    Besides the circuit's plain arcs, a parallel pair of a capacitive leaf and a series
    branch holding one resistor (:func:`_branch_processes`: a Randles branch
    ``p(CPE2,R2-Wo2)``, a ladder ``p(CPE1,R1-p(R2,CPE2))``, a nested Randles
    ``p(CPE1,R1-p(CPE2,R2-Wo2))``) gives its arc followed by the processes of the branch,
    and an element of ``TIME_CONSTANT_KINDS`` (a Wo, a Zarc...) in the top-level chain a
    process of its own.
    """
    arcs = {frozenset((a.resistor, a.capacitive)): a for a in circuit.arcs}
    out: list[Process] = []
    for node in series_chain(circuit.tree):
        out.extend(_node_processes(node, arcs, None))
    covered = {p.arc.resistor for p in out if p.arc is not None}
    out.extend(Process(arc=a) for a in circuit.arcs
               if a.resistor not in covered)
    return tuple(out)  # cached per circuit (immutable, hashable): read-only


def _node_processes(node, arcs: Mapping[frozenset, Arc], branch_arc: Arc | None) -> list[Process]:
    """The processes of one element in a series chain (``branch_arc``: the arc whose
    branch the chain is, None at the top level): an element of ``TIME_CONSTANT_KINDS``, a
    plain arc, or a branch (:func:`_branch_processes`); [] for anything else."""
    if isinstance(node, Leaf):
        if node.kind in TIME_CONSTANT_KINDS:
            return [Process(element=node.name, element_kind=node.kind, branch_arc=branch_arc)]
        return []
    if not isinstance(node, Parallel) or len(node.children) != 2:
        return []
    plain = arcs.get(frozenset(k.name for k in node.children if isinstance(k, Leaf)))
    if plain is not None and all(isinstance(k, Leaf) for k in node.children):
        return [Process(arc=plain, branch_arc=branch_arc)]
    return _branch_processes(node, arcs, branch_arc)


def _branch_processes(node: Parallel, arcs: Mapping[frozenset, Arc], branch_arc: Arc | None) -> list[Process]:
    """The processes of a branch p(C|CPE, R-X-...): its arc (R with the capacitive leaf),
    then those of X, ... in string order (elements of ``TIME_CONSTANT_KINDS``, plain arcs,
    branches nested in turn; a semi-infinite W, which has no time constant, adds none); []
    when the branch holds anything else or not exactly one resistor."""
    arc = branch_arc_of(node)
    if arc is None:
        return []
    out = [Process(arc=arc, branch_arc=branch_arc)]
    for member in next(k for k in node.children if isinstance(k, Series)).children:
        if isinstance(member, Leaf) and (member.name == arc.resistor or member.kind == "W"):
            continue
        inner = _node_processes(member, arcs, arc)
        if not inner:
            return []
        out.extend(inner)
    return out


def process_members(procs: Sequence[Process]) -> set[str]:
    """Element names whose starting values the processes set."""
    out: set[str] = set()
    for p in procs:
        if p.arc is not None:
            out |= {p.arc.resistor, p.arc.capacitive}
        else:
            out.add(p.element)
    return out


def process_values(proc: Process, r_ohm: float, tau_s: float, feats: SpectrumFeatures,
                   n: float = N_EXPONENT_START, t_a: float = T_A_STARTS[0]) -> dict[str, float]:
    """Starting values of one process with resistance share ``r_ohm`` and time constant ``tau_s``.

    An arc gets R = r_ohm and C (or Q) from tau. A short (Ws) Warburg closes on the real
    axis, so Z0 = r_ohm. An open (Wo) Warburg ends in a capacitive line: Z0 is set so that
    its -Z'' at the lowest frequency equals the measured -Z'' there (when the data end in
    such a line), else Z0 = 3 r_ohm (its low-frequency real part is Z0/3). A K, Zarc, G or
    Gs gets R = r_ohm and tau = tau_s (a Zarc's exponent ``n``, a Gs's phi ``GS_PHI_START``),
    a TLMQ Rion = r_ohm and Qs = tau_s^n / Rion (its exponent ``n``), a T (Paasch) the
    ratio ``t_a``, b = t_a tau_s, B = ``T_B_SHARE`` A and A such that its DC resistance is
    r_ohm.
    """
    if proc.arc is not None:
        return arc_values(proc.arc, r_ohm, tau_s, n)
    z0, e = r_ohm, proc.element
    if proc.element_kind == "Zarc":
        return {f"{e}_0": r_ohm, f"{e}_1": tau_s, f"{e}_2": n}
    if proc.element_kind == "Gs":
        return {f"{e}_0": r_ohm, f"{e}_1": tau_s, f"{e}_2": GS_PHI_START}
    if proc.element_kind == "TLMQ":
        return {f"{e}_0": r_ohm, f"{e}_1": tau_s ** n / r_ohm, f"{e}_2": n}
    if proc.element_kind == "T":
        a_coef = r_ohm / _paasch_dc_per_a(t_a)
        return {f"{e}_0": a_coef, f"{e}_1": T_B_SHARE * a_coef, f"{e}_2": t_a, f"{e}_3": t_a * tau_s}
    if proc.element_kind == "Wo":
        z0 = 3.0 * r_ohm
        if feats.zimag_lf > 0:
            unit = -complex(warburg_open(np.array([feats.omega_min]), 1.0, tau_s)[0]).imag
            if unit > 0:
                z0 = float(np.clip(feats.zimag_lf / unit, 1e-3 * r_ohm, 30.0 * max(r_ohm, feats.r_pol)))
    return {f"{e}_0": z0, f"{e}_1": tau_s}


def _paasch_dc_per_a(a: float) -> float:
    """The DC resistance of a T (Paasch) start of ratio ``a`` (B = ``T_B_SHARE`` A) over its A."""
    return float(paasch_dc_resistance(1.0, T_B_SHARE, a))


def element_tau_s(values: Mapping[str, float], proc: Process) -> float:
    """The time constant (s) of an element process at ``values``: its second parameter, or
    (Rion Qs)^(1/gamma) for a TLMQ, b/a for a T (Paasch: its reaction's, the slowest; with
    B = 0 a T is a Gs of t_G = b/a) (nan where that is undefined)."""
    e = proc.element
    if proc.element_kind == "T":
        a_coef, b = float(values[f"{e}_2"]), float(values[f"{e}_3"])
        if not (b > 0 and a_coef >= 0):
            return math.nan
        return b / a_coef if a_coef > 0 else math.inf
    if proc.element_kind == "TLMQ":
        rion, qs, gamma = float(values[f"{e}_0"]), float(values[f"{e}_1"]), float(values[f"{e}_2"])
        if not (rion > 0 and qs > 0 and gamma > 0):
            return math.nan
        log_tau = (math.log(rion) + math.log(qs)) / gamma  # in logs: a runaway element cannot overflow
        return math.exp(log_tau) if log_tau < _LOG_MAX_FLOAT else math.inf
    return float(values[f"{e}_1"])


_LOG_MAX_FLOAT = math.log(np.finfo(float).max)


def element_exponent(values: Mapping[str, float], proc: Process) -> float | None:
    """The dispersion exponent of an element process (a Zarc's gamma, a TLMQ's), else None."""
    k = EXPONENT_PARAM.get(str(proc.element_kind))
    return None if k is None else float(values[f"{proc.element}_{k}"])


def base_guess(circuit, feats: SpectrumFeatures) -> dict[str, float]:
    """One physically sensible starting point for every parameter of ``circuit``."""
    procs = processes(circuit)
    members = process_members(procs)
    taus = arc_taus_from_features(feats, len(procs))
    share = feats.r_pol / max(len(procs), 1)
    guess: dict[str, float] = {}
    for proc, tau in zip(procs, taus):
        guess.update(process_values(proc, share, tau, feats))
    chain = set(_top_level_leaves(circuit))
    series_r = [e for e in circuit.elements if e.kind == "R" and e.name not in members and e.name in chain]
    mid_tau = math.sqrt(feats.tau_min * feats.tau_max)
    for e in circuit.elements:
        if e.name in members:
            continue
        p = e.param_names
        if e.kind == "R" and e.name not in chain:  # a shunt inside a nested branch: it carries the DC current
            guess[p[0]] = feats.r_pol
        elif e.kind == "R":
            guess[p[0]] = feats.r_inf / max(len(series_r), 1)
        elif e.kind == "L":
            guess[p[0]] = feats.l_guess
        elif e.kind == "La":
            guess[p[0]] = feats.l_guess
            guess[p[1]] = 0.9
        elif e.kind == "C":
            guess[p[0]] = 1.0 / (feats.omega_min * max(feats.zimag_lf, 1e-3 * feats.r_pol))
        elif e.kind == "CPE":  # a blocking line: n from the low-frequency slope of -Z''
            n = feats.lf_exponent
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


def _top_level_leaves(circuit) -> list[str]:
    """Names of the elements in the circuit's top-level series chain (not inside a p())."""
    return [n.name for n in series_chain(circuit.tree) if isinstance(n, Leaf)]


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
    return list(_log_grid(feats.tau_min * 3, feats.tau_max / 3, n_arcs))


def arc_values(arc, r: float, tau: float, n: float = N_EXPONENT_START) -> dict[str, float]:
    """Parameter values of one arc with resistance r (ohm) and time constant tau (s)."""
    if arc.kind == "CPE":
        return {arc.resistor: r, f"{arc.capacitive}_0": tau**n / r, f"{arc.capacitive}_1": n}
    return {arc.resistor: r, arc.capacitive: tau / r}


class StartList(Sequence):
    """Starting values (dicts of parameter values), each built when first read.

    An adaptive fit runs a handful of its ~100 starts; building every dict up front cost
    more than the quick round's linear algebra. ``order`` permutes the items, ``extra``
    values are applied on top of every item (e.g. the user's fixed values).
    """

    def __init__(self, make: Callable[[int], dict[str, float]], n: int,
                 order: Sequence[int] | None = None, extra: Mapping[str, float] | None = None,
                 other_orders: int = 0):
        self._make, self._n = make, n
        self._order: Sequence[int] = range(n) if order is None else tuple(order)  # read-only: lists share it
        self._extra = dict(extra or {})
        self._built: dict[int, dict[str, float]] = {}
        self.other_orders = other_orders  # the last items: placements in other time orders

    @classmethod
    def of(cls, items: Sequence[Mapping[str, float]]) -> "StartList":
        items = [dict(i) for i in items]
        return cls(lambda k: dict(items[k]), len(items))

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(len(self))[k]]
        i = self._order[k]
        if i not in self._built:
            self._built[i] = {**self._make(i), **self._extra}
        return self._built[i]

    def reordered(self, order: Sequence[int]) -> "StartList":
        """The items in the order ``order`` (positions in this list)."""
        return StartList(self._make, self._n, tuple(map(self._order.__getitem__, order)), self._extra,
                         self.other_orders)

    def with_values(self, values: Mapping[str, float]) -> "StartList":
        """Every item with ``values`` set on top."""
        return StartList(self._make, self._n, self._order, {**self._extra, **values}, self.other_orders)


def multistart_guesses(circuit, feats: SpectrumFeatures, base: dict[str, float],
                       n_grid: int | None = None, rng: np.random.Generator | None = None,
                       n_starts: int | None = None, keep: Collection[str] = ()) -> StartList:
    """The base guess, then a grid over process time constants (ascending) and resistance splits.

    Processes are the arcs and finite-diffusion elements (:func:`processes`); the grid
    spans 1/(3 omega_max) .. 3/omega_min. For one or two processes the grid is preceded
    by the ``SCREENED_FIRST`` placements of a fine time-constant grid whose linear fit of
    the magnitudes (:func:`screened_starts`) describes the data best: the quick round of
    an adaptive fit takes them: with the base guess, 5 starts reach the optimum on 291/300
    hard two-arc spectra, 8 starts spread over the coarse grid on 272/300. Two placements
    instead of four (a quick round of 3 starts, the escalation rounds unchanged) lost no
    optimum: 1,000 hard spectra 998/1000 either way, ``scripts/robustness.py 500 100``
    500/500 (R2 within 3 stderr 497/500), the families x seeds 13-15 446/450, the circuit
    suggestion score the same on seeds 7-9; 8 % fewer LM iterations. For three or
    more processes the ``LINEAR_SCREEN_KEEP`` screened placements (best first, at most
    ``SCREEN_SHARE_CAP`` of them with one process at the same time constant) come before
    the coarse grid, whose magnitudes the linear fit sets too: the quick round, spread
    over the list, then holds the best screened placement and a few others besides coarse
    ones. Issue 13, 6 seeds x 30 spectra per family, with the visibility floor of
    :func:`process_magnitudes`: 12 misses of the optimum instead of 27 on the three Randles
    families, 1 instead of 8 on three arcs. With ``n_starts``, only the base guess and
    ``n_starts - 1`` grid points picked evenly across the grid are built (a short list
    that still spans the time constants).

    Starts placed by the linear fit also take its series inductance (when the circuit has
    one L and the fit gives it a positive value): a cable inductance whose reactance is
    hidden under a capacitive arc at f_max (no inductive point) is otherwise started at
    the generic 5 % of |Z| and collapses to its floor, where the log-space gradient
    vanishes (L0-R0-p(R1,CPE1)-p(R2,CPE2) with omega_max L = 22 % of |Z|: 22x the optimum's
    chi-square from every start). Parameters named in ``keep`` (the user's initial values)
    are never replaced.
    """
    procs = processes(circuit)
    if not procs:
        starts = [dict(base)]
        rng = rng or np.random.default_rng(0)
        for _ in range(8):
            s = dict(base)
            for name, is_log in zip(circuit.param_names, circuit.log_scale):
                if is_log:
                    s[name] = base[name] * 10 ** rng.uniform(-1, 1)
            starts.append(s)
        return StartList.of(starts)
    n_proc = len(procs)
    linear = n_proc >= 3 and feats.z is not None  # magnitudes by linear least squares per tau set
    grid_size = n_grid or {1: 9, 2: 6, 3: 7}.get(n_proc, 5 if linear else 4)
    _, tau_sets = _tau_sets(feats.tau_min / 3, feats.tau_max * 3, grid_size, n_proc)
    if linear:  # the best screened placements first, then the coarse grid
        combos = screened_starts(circuit, procs, feats, LINEAR_SCREEN_GRID, LINEAR_SCREEN_KEEP) \
            .then(_linear_screen(circuit, procs, tau_sets, feats).placements(tau_sets))
    else:
        combos = _split_grid(circuit, procs, tau_sets, feats)
        leading = leading_screened(circuit, feats, n_starts)
        if leading:  # the best placements first (the quick round)
            combos = screened_starts(circuit, procs, feats, LINEAR_SCREEN_GRID, leading).then(combos)
    other_orders = time_orders(circuit, procs)[1:] if feats.z is not None else []
    if n_starts is not None:  # a short list spreads over the other orders' grid too
        other_grid = other_order_grid(circuit, procs, feats, grid_size, other_orders)
        combos = combos.then(other_grid) if len(other_grid) else combos
        if n_starts - 1 < len(combos):
            picks = np.linspace(0, len(combos) - 1, max(n_starts - 1, 0)).round().astype(int)
            combos = combos.rows(np.unique(picks))
    n_reordered = 0
    if other_orders and n_starts is None:
        reordered = screened_starts(circuit, procs, feats, LINEAR_SCREEN_GRID, OTHER_ORDER_KEEP, other_orders)
        other_grid = other_order_grid(circuit, procs, feats, grid_size, other_orders)
        if len(other_grid):
            reordered = reordered.then(other_grid)
        combos, n_reordered = combos.then(reordered), len(reordered)
    base = dict(base)

    def make(k: int) -> dict[str, float]:
        s = dict(base)
        if k:
            t_a = T_A_STARTS[k % len(T_A_STARTS)]  # a T's shape alternates along the list
            for proc, tau, r in zip(procs, combos.taus[k - 1], combos.magnitudes[k - 1]):
                s.update(process_values(proc, float(r), tau, feats, t_a=t_a))
            s.update({name: v for name, v in combos.series_values(k - 1).items() if name not in keep})
        return s

    return StartList(make, 1 + len(combos), other_orders=n_reordered)


@dataclass(frozen=True)
class Placements:
    """Starts that place the processes on the time axis, one per row."""

    taus: np.ndarray  # (K, P) time constant of each process, s
    magnitudes: np.ndarray  # (K, P) resistance (magnitude) of each process, ohm
    inductance_H: np.ndarray  # (K,) the linear fit's series inductance, H (nan: none)
    inductance_param: str | None = None  # the circuit's one series L (or La) parameter, else None

    def __len__(self) -> int:
        return len(self.taus)

    def rows(self, rows: Sequence[int] | np.ndarray) -> "Placements":
        """The placements at positions ``rows``, in that order."""
        return Placements(self.taus[rows], self.magnitudes[rows], self.inductance_H[rows], self.inductance_param)

    def then(self, other: "Placements") -> "Placements":
        """These placements followed by ``other``'s (placements of the same processes)."""
        return Placements(np.concatenate([self.taus, other.taus]),
                          np.concatenate([self.magnitudes, other.magnitudes]),
                          np.concatenate([self.inductance_H, other.inductance_H]),
                          self.inductance_param or other.inductance_param)

    def series_values(self, row: int) -> dict[str, float]:
        """{inductance parameter: value} for row ``row`` when the circuit has exactly one
        series L (or La) and the linear fit gives it a positive finite value, else {}."""
        if self.inductance_param is None:
            return {}
        value = float(self.inductance_H[row])
        return {self.inductance_param: value} if math.isfinite(value) and value > 0 else {}


def _split_grid(circuit, procs: Sequence[Process], tau_sets: np.ndarray, feats: SpectrumFeatures) -> Placements:
    """The coarse grid of one or two processes: each tau set (C, P; s) with each split of
    the polarisation resistance (:func:`_resistance_splits`), and the tau set's linear-fit
    inductance when the circuit has a series L and there are data."""
    n_splits = len(_resistance_splits(len(procs)))
    inductance, param = np.full(len(tau_sets), np.nan), None
    if feats.z is not None and any(e.kind in ("L", "La") for e in circuit.elements):
        screened = _linear_screen(circuit, procs, tau_sets, feats).placements(tau_sets)
        inductance, param = screened.inductance_H, screened.inductance_param
    magnitudes = feats.r_pol * _split_fractions(len(procs), len(tau_sets))
    return Placements(np.repeat(tau_sets, n_splits, axis=0), magnitudes, np.repeat(inductance, n_splits), param)


@functools.lru_cache(maxsize=16)
def _split_fractions(n_proc: int, n_sets: int) -> np.ndarray:
    """(n_sets * S, P): the S resistance splits of ``n_proc`` processes
    (:func:`_resistance_splits`), repeated for each of ``n_sets`` tau sets; read-only."""
    fractions = np.tile(np.array(_resistance_splits(n_proc)), (n_sets, 1))
    fractions.flags.writeable = False
    return fractions


def leading_screened(circuit, feats: SpectrumFeatures, n_starts: int | None = None) -> int:
    """How many screened placements :func:`multistart_guesses` puts right after the base
    guess (one or two processes, data available, full list): ``SCREENED_FIRST`` or 0."""
    n_proc = len(processes(circuit))
    return SCREENED_FIRST if (1 <= n_proc <= 2 and feats.z is not None and n_starts is None) else 0


LINEAR_SCREEN_GRID = 13  # fine time-constant grid screened by the linear fit (3+ processes)
LINEAR_SCREEN_KEEP = 32  # tau sets of the fine grid kept as starts: the best linear fits
SCREEN_SHARE_CAP = 10  # kept tau sets that may give one process the same grid time constant
SCREENED_FIRST = 2  # one or two processes: best screened placements put before the coarse grid
TAIL_PLACEMENTS = 4  # screened placements of the other processes per arc made the tail (blocking_arc_starts)
VISIBLE_FRACTION = 0.05  # a start's process magnitude is at least this fraction of |Z| at 1/tau
GRID_CACHE_SIZE = 128  # time-constant grids kept (a campaign's spectra share one frequency grid)


@functools.lru_cache(maxsize=GRID_CACHE_SIZE)
def _log_grid(lo_s: float, hi_s: float, size: int) -> np.ndarray:
    """``size`` time constants log-spaced from ``lo_s`` to ``hi_s`` (s); cached, read-only."""
    grid = np.geomspace(lo_s, hi_s, size)
    grid.flags.writeable = False
    return grid


@functools.lru_cache(maxsize=GRID_CACHE_SIZE)
def _tau_sets(lo_s: float, hi_s: float, grid_size: int, n_proc: int,
              order: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(grid indices (C, P), time constants (C, P), s) of every choice of ``n_proc`` of the
    ``grid_size`` time constants log-spaced over ``lo_s``..``hi_s``: ascending in the time
    order ``order`` (positions of the processes, fastest first; default: their own order).
    Cached per grid (both arrays read-only)."""
    ascending = np.array(list(itertools.combinations(range(grid_size), n_proc)), dtype=int).reshape(-1, n_proc)
    index_sets = np.empty_like(ascending)
    index_sets[:, list(order or range(n_proc))] = ascending
    tau_sets = _log_grid(lo_s, hi_s, grid_size)[index_sets]
    index_sets.flags.writeable = tau_sets.flags.writeable = False
    return index_sets, tau_sets


def screened_starts(circuit, procs: Sequence[Process], feats: SpectrumFeatures, grid_size: int,
                    keep: int, orders: Sequence[tuple[int, ...]] | None = None) -> Placements:
    """The placements of the ``keep`` ascending tau sets on a fine grid whose linear fit
    (:func:`process_magnitudes`) leaves the smallest residual: a cheap screen of hundreds
    of placements before any nonlinear iteration; with the linear fit's inductance (see
    :meth:`Placements.series_values`).

    At most ``SCREEN_SHARE_CAP`` kept sets give one process the same grid time constant
    (:func:`_diverse_best`). The screen's arcs have one exponent (0.9), so a broad arc
    (n ~ 0.75) is screened best as two narrow arcs: on a Randles-Ws spectrum the best 32
    placements all put the bulk and charge-transfer processes on the bulk arc and left the
    charge-transfer arc to the Warburg, which swallowed it (R2 -> 0, 2.3x and 5.6x the
    optimum's chi-square from every start of the list). 25 spectra x 10 seeds per family:
    Ws 236 -> 240, Wo 242 -> 246, L0 + Wo 250 -> 249, three arcs 246 -> 245 at the optimum.

    ``orders``: the time orders of the processes screened (:func:`time_orders`), ``keep``
    placements each; by default the circuit's own (ascending time constants in process order).
    """
    parts = []
    for order in orders or [None]:
        index_sets, tau_sets = _tau_sets(feats.tau_min / 3, feats.tau_max * 3, grid_size, len(procs),
                                         None if order is None else tuple(order))
        screen = _linear_screen(circuit, procs, tau_sets, feats)
        parts.append(screen.placements(tau_sets, _diverse_best(screen.cost, index_sets, keep, SCREEN_SHARE_CAP)))
    return functools.reduce(Placements.then, parts)


MAX_TIME_ORDERS = 6  # orders of the series blocks the screen tries
OTHER_ORDER_KEEP = 4  # screened placements of each other time order (the solver's order round)
OTHER_ORDER_GRID = 8  # coarse-grid placements of each other time order that moves a non-arc element


def time_orders(circuit, procs: Sequence[Process]) -> list[tuple[int, ...]]:
    """Orders in time (fast to slow) in which the screen may place the processes ``procs``
    (of ``circuit``): tuples of positions in ``procs``, the circuit's own order first.

    Elements in series add whatever their order in the string, so the process of the first
    top-level element need not be the fastest: in R0-p(R1,CPE1)-p(CPE2,R2-Wo2) the Randles
    branch may be faster than the plain arc. Each top-level element is a block (a Randles
    branch: its charge-transfer arc, then its diffusion, always in that order); blocks of
    the same kinds are interchangeable (the same fit with other names), so only the orders
    that differ in kinds are screened (at most ``MAX_TIME_ORDERS``). With the string's order
    only, R0-p(R1,CPE1)-p(CPE2,R2-Ws2) on spectra whose Randles branch is the faster ended
    2-46x above the optimum (12 of 12 synthetic spectra; a Gamry example 1.08x).
    """
    return list(_time_orders(circuit, tuple(procs)))


def other_order_grid(circuit, procs: Sequence[Process], feats: SpectrumFeatures, grid_size: int,
                     orders: Sequence[tuple[int, ...]]) -> Placements:
    """Placements spread over the coarse time-constant grid (``grid_size`` values over
    1/(3 omega_max) .. 3/omega_min) in each of ``orders`` (:func:`time_orders`, not the
    circuit's own) that moves an element whose unit response is not an arc's (a Wo, Ws, G,
    Gs, TLMQ or T in series) to another place among the arcs: ``OTHER_ORDER_GRID`` tau sets
    per such order picked evenly along the grid, magnitudes by the linear fit
    (:func:`process_magnitudes`). The screen's best placements in another order
    (``OTHER_ORDER_KEEP``) are not enough there: its arcs have one exponent (0.9), so it
    puts such an element right under a broad arc, where it widens the arc, and never where
    its own shape shows at the high-frequency end. A real VersaStudio spectrum fitted with
    R0-p(R1,CPE1)-Ws1 ended 2.6x above the optimum (R1 654 for 1,483 ohm): its optimum has
    the Ws at 4e-5 s before a 0.3 s arc; its four screened placements put the Ws within two
    decades of the arc, and every start of the string's order puts the Ws after the arc.
    Empty where no order moves such an element (plain arcs, a Randles branch's diffusion,
    which stays behind its arc)."""
    moving = [k for k, p in enumerate(procs) if p.element is not None and not p.in_branch
              and SCREEN_SHAPE.get(str(p.element_kind), p.element_kind) != "arc"]
    if not moving or feats.z is None:
        return Placements(np.zeros((0, len(procs))), np.zeros((0, len(procs))), np.zeros(0))
    own = tuple(range(len(procs)))
    parts = []
    for order in orders:
        if all(order.index(k) == own.index(k) for k in moving):
            continue
        _, tau_sets = _tau_sets(feats.tau_min / 3, feats.tau_max * 3, grid_size, len(procs), tuple(order))
        rows = np.unique(np.linspace(0, len(tau_sets) - 1, min(OTHER_ORDER_GRID, len(tau_sets))).round().astype(int))
        parts.append(_linear_screen(circuit, procs, tau_sets, feats).placements(tau_sets, rows.tolist()))
    if not parts:
        return Placements(np.zeros((0, len(procs))), np.zeros((0, len(procs))), np.zeros(0))
    return functools.reduce(Placements.then, parts)


@functools.lru_cache(maxsize=64)
def _time_orders(circuit, procs: tuple[Process, ...]) -> tuple[tuple[int, ...], ...]:
    """:func:`time_orders`, cached per circuit and processes."""
    block_of = _process_blocks(circuit)
    blocks: dict[int, list[int]] = {}
    for k, proc in enumerate(procs):
        blocks.setdefault(block_of.get(proc, -1 - k), []).append(k)
    groups = list(blocks.values())
    signature = [tuple(_process_kind(procs[k]) for k in g) for g in groups]
    orders: dict[tuple, tuple[int, ...]] = {}
    for perm in itertools.permutations(range(len(groups))):
        key = tuple(signature[b] for b in perm)
        if key not in orders:
            orders[key] = tuple(k for b in perm for k in groups[b])
        if len(orders) == MAX_TIME_ORDERS:
            break
    return tuple(orders.values())


@functools.lru_cache(maxsize=64)
def _process_blocks(circuit) -> dict[Process, int]:
    """The top-level series element (its position) each process of ``circuit`` belongs to;
    processes nested deeper are left out (they keep their place)."""
    names = {}
    for position, node in enumerate(series_chain(circuit.tree)):
        for leaf in leaves(node):
            names[leaf.name] = position
    out = {}
    for proc in processes(circuit):
        name = proc.arc.resistor if proc.arc is not None else proc.element
        if name in names:
            out[proc] = names[name]
    return out


def _process_kind(proc: Process) -> str:
    return proc.arc.kind if proc.arc is not None else str(proc.element_kind)


BLOCKING_R_FACTOR = 1e3  # an arc started as the blocking element: R = 1000 x max |Z|


def blocking_arc_starts(circuit, feats: SpectrumFeatures, base: Mapping[str, float], free: Collection[str],
                        keep: int = TAIL_PLACEMENTS) -> list[tuple[str, dict[str, float]]]:
    """(label, start) pairs in which one arc of ``circuit`` plays the capacitive
    low-frequency tail of the data, for a circuit whose impedance stays finite at DC.

    Data that end in a blocking line (a blocking electrode, an open diffusion) fitted with
    such a circuit have their optimum where one arc's resistance runs away: that arc is
    then its CPE (or C) alone, in series. The start grid places every arc on the measured
    arcs and never reaches it (a text-file spectrum fitted with R0-p(R1,CPE1)-p(CPE2,R2-Ws2)
    ended 143x above that optimum). Here the arc's R starts at ``BLOCKING_R_FACTOR`` x
    max |Z|, its CPE (exponent: the data's low-frequency slope) or C gives the measured
    -Z'' at the lowest frequency, and the other processes take the ``keep`` best
    placements of the linear screen with that tail as its blocking column
    (:func:`screened_starts`). Arcs whose resistance is not in ``free`` are skipped.
    """
    procs = processes(circuit)
    zmax = float(np.max(np.abs(feats.z))) if feats.z is not None else 0.0
    if zmax <= 0 or feats.zimag_lf <= 0:
        return []
    out = []
    for proc in procs:
        arc = proc.arc
        if arc is None or arc.resistor not in free:
            continue
        tail = {arc.resistor: BLOCKING_R_FACTOR * zmax}
        if arc.kind == "CPE":
            n = feats.lf_exponent
            tail[f"{arc.capacitive}_1"] = n
            tail[f"{arc.capacitive}_0"] = math.sin(n * math.pi / 2) / (feats.zimag_lf * feats.omega_min ** n)
        else:
            tail[arc.capacitive] = 1.0 / (feats.zimag_lf * feats.omega_min)
        others = tuple(p for p in procs if p is not proc)
        placements = screened_starts(circuit, others, feats, LINEAR_SCREEN_GRID, keep) if others \
            else Placements(np.zeros((1, 0)), np.zeros((1, 0)), np.full(1, np.nan))
        for k in range(len(placements)):
            start = dict(base)
            for other, tau, r in zip(others, placements.taus[k], placements.magnitudes[k]):
                start.update(process_values(other, float(r), tau, feats))
            start.update({name: v for name, v in placements.series_values(k).items() if name in free})
            start.update(tail)
            out.append((f"tail:{arc.resistor}<-screen:{k}", start))
    return out


SWAP_DIFFUSION_TAU_FACTOR = 10.0  # a Randles branch's diffusion restarts this much slower than its arc
SWAP_DIFFUSION_SHARE = 0.5  # ... with a magnitude of this share of its arc's resistance


def swapped_order_starts(circuit, values: Mapping[str, float]) -> list[tuple[str, dict[str, float]]]:
    """(label, start) pairs that put two arcs of an optimum ``values`` back into the time
    order of the circuit string, where the optimum has them the other way round and their
    blocks differ in shape (a plain arc and a Randles branch; two plain arcs of one kind
    only trade names, which the result's arc ordering handles).

    Each start is ``values`` with the two arcs' R and C (or CPE) values exchanged (between a
    C and a CPE arc: their R and time constants, each keeping its kind and exponent) and the
    diffusion of a Randles branch whose arc became the slower restarted
    ``SWAP_DIFFUSION_TAU_FACTOR`` x slower than that arc, with Z0 = ``SWAP_DIFFUSION_SHARE``
    x its R. The grid's placements in the other order can win with the string's own order
    missed: R0-p(R1,CPE1)-p(CPE2,R2-Wo2), 25 seeded spectra, two fits ended 1.016x and 1.053x
    above the optimum with the Randles arc faster than the plain one; these starts reach it
    (L0-R0-p(R1,CPE1)-p(C2,R2-Wo2), seed 43: 1.06x, R1 and R2 exchanged, before C and CPE
    arcs were swapped).

    For each Randles branch of the pair, a second start keeps its diffusion where the optimum
    has it: the other arc takes the Randles arc's R and time constant, and the Randles arc
    restarts ``SWAP_DIFFUSION_TAU_FACTOR`` x faster than its diffusion with R =
    ``SWAP_DIFFUSION_SHARE`` x Z0. Where the plain arc of the pair ran off to the lowest
    frequencies (an optimum with R0-p(R1,CPE1)-p(R2,CPE2)-p(CPE3,R3-Wo3)'s R2 = 8.5 kohm at
    tau = 28 s, the Randles arc on the second arc's place), the plain swap hands that runaway
    arc to the Randles branch; this one reaches the optimum (1.32x and 1.20x before).
    """
    out = []
    for first, second, diffusions in _swappable_pairs(circuit):
        tau_first, tau_second = arc_tau_s(values, first), arc_tau_s(values, second)
        if not (math.isfinite(tau_first) and math.isfinite(tau_second) and tau_first > tau_second):
            continue
        start = dict(values)
        for to, frm, tau in ((first, second, tau_second), (second, first, tau_first)):
            if to.kind == frm.kind:
                start.update(zip(to.param_names, (values[n] for n in frm.param_names)))
            else:
                start.update(_arc_placed(to, values[frm.resistor], tau, values))
        new_tau = {first.resistor: tau_second, second.resistor: tau_first}
        for arc, diffusion in diffusions:
            start[f"{diffusion}_1"] = SWAP_DIFFUSION_TAU_FACTOR * new_tau[arc.resistor]
            start[f"{diffusion}_0"] = SWAP_DIFFUSION_SHARE * start[arc.resistor]
        out.append((f"swap:{first.resistor}<->{second.resistor}", start))
        for arc, diffusion in diffusions:
            other = second if arc == first else first
            kept = dict(values)
            kept.update(_arc_placed(other, values[arc.resistor], arc_tau_s(values, arc), values))
            kept.update(_arc_placed(arc, SWAP_DIFFUSION_SHARE * values[f"{diffusion}_0"],
                                    values[f"{diffusion}_1"] / SWAP_DIFFUSION_TAU_FACTOR, values))
            out.append((f"swap:{first.resistor}<->{second.resistor}:{diffusion}-kept", kept))
    return out


def relabelled_arc_starts(circuit, values: Mapping[str, float], lower: Mapping[str, float],
                          upper: Mapping[str, float], free: Collection[str]) -> list[tuple[str, dict[str, float]]]:
    """Starts with the parameters of two interchangeable arcs (:func:`top_level_arc_groups`:
    the same kind, in the top-level series chain) exchanged, for each arc of ``values`` with
    a parameter on a bound (``lower``/``upper`` by name) that the other arc does not have
    (a looser bound there: a library circuit's n >= 0.6 for its bulk arc, 0.5 for the
    others). Each value is clipped into its new parameter's bounds. The arcs' time order is
    the optimiser's to find; the start grid places them in the string's order, so an arc
    pinned on its slot's bound is never started in the slot where it could go on."""
    arcs = circuit.arcs
    out: list[tuple[str, dict[str, float]]] = []
    for group in top_level_arc_groups(circuit.tree, arcs):
        for ia, ib in itertools.permutations(group, 2):
            a, b = arcs[ia], arcs[ib]
            pa, pb = list(a.param_names), list(b.param_names)
            if not set(pa + pb) <= set(free) or len(pa) != len(pb):
                continue
            pinned = any((_on(values[x], lower[x]) and lower[y] < lower[x]) or
                         (_on(values[x], upper[x]) and upper[y] > upper[x]) for x, y in zip(pa, pb))
            if not pinned or (ib, ia) in [k for k, _ in out]:
                continue
            start = dict(values)
            for x, y in zip(pa, pb):
                start[x] = float(np.clip(values[y], lower[x], upper[x]))
                start[y] = float(np.clip(values[x], lower[y], upper[y]))
            out.append(((ia, ib), start))
    return [(f"relabel:{arcs[ia].resistor}<->{arcs[ib].resistor}", start) for (ia, ib), start in out]


def _on(value: float, bound: float) -> bool:
    """Whether ``value`` sits on the finite ``bound``."""
    return math.isfinite(bound) and abs(value - bound) <= 1e-6 * max(abs(bound), 1e-12)


def exchanged_capacitance_starts(circuit, values: Mapping[str, float]) -> list[tuple[str, dict[str, float]]]:
    """(label, start) pairs with the capacitive values (Q and n, or C) of a ladder's outer arc
    and of an arc nested right behind its resistor exchanged, resistances kept, for every
    such pair of one kind (``p(CPE1,R1-p(CPE2,R2-...))``).

    A ladder has a second local minimum with the two capacitances the other way round: a
    nested Randles spectrum ended at 1.36x the optimum's chi-square with CPE1 = 1.2e-6
    (n 0.94) and CPE2 = 5.9e-6 (n 0.82) for the true 6.0e-6 (n 0.82) and 1.1e-6 (n 0.92), and
    R1 = 9 ohm for 22; this start reaches the optimum.
    """
    out = []
    for proc in processes(circuit):
        outer = proc.branch_arc
        if proc.arc is None or outer is None or outer.kind != proc.arc.kind:
            continue
        inner = proc.arc
        start = dict(values)
        for a, b in zip(*(x.param_names[1:] for x in (outer, inner))):
            start[a], start[b] = values[b], values[a]  # Q and n, or C
        out.append((f"exchange:{outer.capacitive}<->{inner.capacitive}", start))
    return out


def _arc_placed(arc: Arc, r: float, tau: float, values: Mapping[str, float]) -> dict[str, float]:
    """The parameters of ``arc`` with resistance ``r`` (ohm) and time constant ``tau`` (s):
    C = tau / R, or Q = tau^n / R with the CPE's exponent n of ``values``."""
    if arc.kind == "CPE":
        n = values[arc.exponent]
        return {arc.resistor: r, f"{arc.capacitive}_0": tau ** n / r, arc.exponent: n}
    return {arc.resistor: r, arc.capacitive: tau / r}


TRANSFER_KEEP = (0.3, 0.03)  # shares of its resistance an arc keeps in transfer starts; the rest goes to its neighbour


GS_PHI_ALTERNATIVES = (0.3, 0.6, 2.0)  # finite-length factors of the Gs round's starts
GS_TAU_FACTORS = (1 / 3, 1.0, 3.0)  # its time constant, times these
GS_TRANSFER = 0.5  # share of an arc's (or the Gs's dc) resistance moved to the other


def gs_length_starts(circuit, values: Mapping[str, float]) -> list[tuple[str, dict[str, float]]]:
    """(label, start) pairs around an optimum ``values`` for each finite-length Gerischer
    (Gs) of ``circuit``: its length phi put at each of ``GS_PHI_ALTERNATIVES`` (those
    within a factor 1.5 of its own skipped) with its dc resistance R_G / tanh(phi) kept, and
    ``GS_TRANSFER`` of a plain arc's resistance moved to its dc resistance and back (the
    arc keeping its time constant), each with the Gs's time constant times
    ``GS_TAU_FACTORS``.

    The Gs trades resistance, length and time constant with the arc before it along a valley
    the grid's starts (all at ``GS_PHI_START``) do not cross: a Gs of phi 0.61 beside an arc
    was fitted at phi 1.08 with R1 90 ohm (true 62) and R_G 11 ohm (true 23), 22.7 s^2 above
    the optimum, the same with 200 starts; starts that change phi alone fall back into it,
    those that move half of R1 to the Gs and triple its time constant reach the optimum."""
    out = []
    arcs = [a for a in circuit.arcs if a.kind in ("CPE", "C")]
    for e in circuit.elements:
        if e.kind != "Gs":
            continue
        r_name, tau_name, phi_name = (f"{e.name}_{k}" for k in range(3))
        phi, tau = values[phi_name], values[tau_name]
        if not all(math.isfinite(x) and x > 0 for x in (values[r_name], phi, tau)):
            continue
        dc = values[r_name] / math.tanh(phi)
        moves: list[tuple[str, dict[str, float]]] = [
            (f"{phi_name}={alt:g}", {r_name: dc * math.tanh(alt), phi_name: alt})
            for alt in GS_PHI_ALTERNATIVES if abs(math.log(alt / phi)) >= math.log(1.5)]
        for arc in arcs:
            r_arc, tau_arc = values[arc.resistor], arc_tau_s(values, arc)
            if not (math.isfinite(tau_arc) and tau_arc > 0 and r_arc > 0):
                continue
            n = values.get(f"{arc.capacitive}_1", N_EXPONENT_START)
            for label, new_arc, new_dc in ((f"{arc.resistor}->{e.name}", (1 - GS_TRANSFER) * r_arc,
                                            dc + GS_TRANSFER * r_arc),
                                           (f"{e.name}->{arc.resistor}", r_arc + GS_TRANSFER * dc,
                                            (1 - GS_TRANSFER) * dc)):
                moves.append((label, {**arc_values(arc, new_arc, tau_arc, n), r_name: new_dc * math.tanh(phi)}))
        for label, change in moves:
            for factor in GS_TAU_FACTORS:
                out.append((f"gs:{label}:tau*{factor:.3g}", {**values, **change, tau_name: tau * factor}))
    return out


def transferred_resistance_starts(circuit, values: Mapping[str, float], overlap_ratio: float
                                  ) -> list[tuple[str, dict[str, float]]]:
    """(label, start) pairs that move most of one arc's resistance (1 - ``TRANSFER_KEEP``)
    to its neighbour in time constant, each arc keeping its time constant and exponent,
    both ways, for every two plain arcs (R with C or CPE) of an optimum ``values`` that are
    closer than ``overlap_ratio`` in time constant.

    Overlapping arcs trade resistance along a valley of the chi-square with minima at both
    ends: a small sharp arc beside a large one, or the two of comparable size and broad. A
    multi-start grid can miss one end; a start moved along the valley from the other reaches
    it (1,000 hard spectra: two fits 3-5 % above the optimum with R0 at 0 and a broad second
    arc of 20 % of R1, the optimum's second arc 1 % of R1 and nearly ideal; from 70 % of
    R1 moved to R2, the optimum)."""
    arcs = list(circuit.arcs)
    timed = sorted((tau, k) for k, a in enumerate(arcs)
                   if math.isfinite(tau := arc_tau_s(values, a)) and tau > 0)
    out = []
    for (tau_a, a), (tau_b, b) in zip(timed, timed[1:]):
        if tau_b >= overlap_ratio * tau_a:
            continue
        for give, take in ((arcs[a], arcs[b]), (arcs[b], arcs[a])):
            for keep in TRANSFER_KEEP:
                moved = (1.0 - keep) * values[give.resistor]
                start = dict(values)
                for arc, r in ((give, values[give.resistor] - moved), (take, values[take.resistor] + moved)):
                    n = values.get(f"{arc.capacitive}_1", N_EXPONENT_START)
                    start.update(arc_values(arc, r, arc_tau_s(values, arc), n))
                out.append((f"transfer:{give.resistor}->{take.resistor}:{keep:g}", start))
    return out


# the diffusion of a Randles branch put where the branch's arc was (diffusion_arc_starts):
# (its time constant / the arc's, its Z0 / the arc's R, the branch CPE's exponent, the CPE's
# |Z| at the arc's frequency / Z0). Of a 4 x 2 x 2 x 2 grid of these factors (0.3-10, 1-3,
# 0.1-0.3, 2-5), run from the optimum of three real spectra that lack fit (yadg mb.mpr and
# mb.issue_223.mpr with Wo2, echemistpy's Biologic_EIS.mpr with Ws2), the first reached the
# lowest minimum of all three, the second of two (the third ends within a polish of it)
DIFFUSION_ARC_STARTS = ((0.3, 3.0, 0.1, 2.0), (1.0, 1.0, 0.3, 2.0))
DIFFUSION_ARC_R_SHARE = 0.3  # the branch resistor keeps this share of its value


def diffusion_arc_starts(circuit, values: Mapping[str, float]) -> list[tuple[str, dict[str, float]]]:
    """(label, start) pairs in which the finite diffusion (Wo, Ws) of a Randles branch
    p(CPE, R-W) of an optimum ``values`` takes the place of the branch's arc: its time
    constant near the arc's, its Z0 the arc's resistance or more, the resistor a share of
    its value and the CPE a weak shunt with a low exponent (:data:`DIFFUSION_ARC_STARTS`).

    A finite diffusion whose time constant lies at a high-frequency feature is itself an
    arc-like line, and the CPE with n ~ 0.05 beside it is almost a resistor: real spectra
    whose high-frequency part is no CPE arc are described that way far better (a BioLogic
    file fitted with R0-p(R1,CPE1)-p(CPE2,R2-Ws2): chi-square 7.6x lower; yadg's files
    with Wo2: 1.9x and 1.14x), while every start of the grid and of the other rounds stays
    in the minimum where the branch's CPE holds the arc."""
    out = []
    for proc in processes(circuit):
        arc = proc.branch_arc
        if not proc.is_diffusion or arc is None or arc.kind != "CPE":
            continue
        r = values[arc.resistor]
        tau = arc_tau_s(values, arc)
        if not (math.isfinite(tau) and tau > 0 and math.isfinite(r) and r > 0):
            continue
        for tau_factor, z0_factor, n, shunt in DIFFUSION_ARC_STARTS:
            z0 = z0_factor * r
            start = dict(values)
            start.update({f"{proc.element}_0": z0, f"{proc.element}_1": tau_factor * tau,
                          arc.resistor: DIFFUSION_ARC_R_SHARE * r,
                          f"{arc.capacitive}_1": n, f"{arc.capacitive}_0": tau**n / (shunt * z0)})
            out.append((f"diffusion-arc:{proc.element}:{tau_factor:g}", start))
    return out


@functools.lru_cache(maxsize=64)
def _swappable_pairs(circuit) -> tuple:
    """(earlier arc, later arc, ((arc, its diffusion), ...)) for every two arcs in top-level
    blocks of different shapes (:func:`swapped_order_starts`: a plain arc and a Randles
    branch, a C arc and a CPE arc); arcs as :class:`~eisfit.model.Arc`."""
    procs = processes(circuit)
    block_of = _process_blocks(circuit)
    shape: dict[int, list[str]] = {}
    for proc in procs:
        if proc in block_of:
            shape.setdefault(block_of[proc], []).append(_process_kind(proc))
    diffusion_of = {}  # arc resistor -> the diffusion behind it in its branch
    for proc in procs:
        if proc.branch_arc is not None and proc.is_diffusion:
            diffusion_of.setdefault(proc.branch_arc.resistor, proc.element)
    heads: dict[int, Process] = {}  # the first arc of each top-level block (not a ladder's nested arc,
    for proc in procs:             # which processes() lists after it)
        if proc.arc is not None and proc in block_of:
            heads.setdefault(block_of[proc], proc)
    arcs = [heads[b] for b in sorted(heads)]
    out = []
    for a, b in itertools.combinations(arcs, 2):
        if shape[block_of[a]] == shape[block_of[b]]:
            continue
        specs = [p.arc for p in (a, b)]
        diffusions = tuple((spec, diffusion_of[spec.resistor]) for spec in specs if spec.resistor in diffusion_of)
        out.append((specs[0], specs[1], diffusions))
    return tuple(out)


def _diverse_best(cost: np.ndarray, index_sets: np.ndarray, keep: int, cap: int) -> list[int]:
    """Rows of ``index_sets`` (C, P: each process's grid index) in ascending ``cost``, the
    first ``keep`` of them that do not give a process a grid index that ``cap`` rows taken
    before already give it."""
    ranked = np.argsort(cost)
    if keep <= cap:  # fewer than ``cap`` rows taken before any row: none can be refused
        return ranked[:keep].tolist()
    taken = [[0] * (int(index_sets.max(initial=0)) + 1) for _ in range(index_sets.shape[1])]  # [process][index]
    rows = index_sets.tolist()
    chosen: list[int] = []
    for i in ranked.tolist():
        if len(chosen) == keep:
            break
        row = rows[i]
        if any(taken[p][g] >= cap for p, g in enumerate(row)):
            continue
        for p, g in enumerate(row):
            taken[p][g] += 1
        chosen.append(i)
    return chosen


@dataclass(frozen=True)
class _LinearScreen:
    """The linear fits of :func:`process_magnitudes` for C rows of time constants."""

    magnitudes: np.ndarray  # (C, P) process resistances, ohm (floored)
    cost: np.ndarray  # (C,) weighted sum of squares left with the floored magnitudes
    inductance_H: np.ndarray | None  # (C,) coefficient of j omega, H (None: no L in the circuit)
    inductance_param: str | None  # the circuit's one series L (or La) parameter, else None

    def placements(self, taus: np.ndarray, rows: Sequence[int] | None = None) -> Placements:
        """The screened time constants ``taus`` (C, P; s) with their magnitudes and
        inductance: every row, or those at positions ``rows`` in that order."""
        inductance = np.full(len(taus), np.nan) if self.inductance_H is None else self.inductance_H
        placed = Placements(taus, self.magnitudes, inductance, self.inductance_param)
        return placed if rows is None else placed.rows(rows)


def process_magnitudes(circuit, procs: Sequence[Process], taus: np.ndarray, feats: SpectrumFeatures,
                       with_cost: bool = False):
    """Resistances (ohm) of the processes for each row of time constants ``taus`` (C, P), s
    (with ``with_cost``: (resistances, cost), see below).

    With the time constants fixed, a series of ZARCs (n = 0.9), unit Warburg responses,
    a high-frequency resistance and, when the circuit has them, an inductance and a
    blocking element (a CPE line with the data's low-frequency slope ``lf_exponent``, or a
    capacitor) is linear in its magnitudes: those come from one weighted
    (1/|Z|) linear least-squares fit per row. Each magnitude is floored at
    ``VISIBLE_FRACTION`` of the data's |Z| at omega = 1/tau (and, without a blocking
    element, at 0.1 % of the polarisation resistance): a process the linear fit would
    switch off (it gives the shape of a neighbour to another process, e.g. the
    charge-transfer resistance of a Randles branch to its Warburg) stays visible above the
    noise, so the optimiser, in log space, can still move it; started at 0.1 % it stays
    off. With a blocking element Z' at f_min is mostly the line's own real part, not the
    polarisation resistance: the floor of 8 kOhm it gave hid two arcs of 166 and 255 ohm
    and left the fit at 86x the optimum's chi-square.
    With ``with_cost``, also the weighted sum of squares left by each row with the floored
    magnitudes (C,): returns (magnitudes, cost).
    """
    screen = _linear_screen(circuit, procs, np.asarray(taus, dtype=float), feats)
    return (screen.magnitudes, screen.cost) if with_cost else screen.magnitudes


@dataclass(frozen=True)
class _ScreenTerms:
    """What a linear screen of some processes of a circuit fits besides them."""

    shapes: tuple[str, ...]  # per process: "arc", "Wo", "Ws", "G", "TLMQ" or "T" (its unit response)
    inductive: bool  # a series L or La outside the processes: a j omega column
    blocking: str | None  # "CPE" or "C" outside the processes: a blocking column, else None
    inductance_param: str | None  # the circuit's one series L (or La) parameter, else None


@functools.lru_cache(maxsize=64)
def _screen_terms(circuit, procs: tuple[Process, ...]) -> _ScreenTerms:
    """The :class:`_ScreenTerms` of ``procs`` in ``circuit`` (cached per circuit and processes)."""
    members = process_members(procs)
    kinds = {e.kind for e in circuit.elements if e.name not in members}
    blocking = ("CPE" if "CPE" in kinds else "C") if kinds & {"C", "CPE"} else None
    l_names = [e.param_names[0] for e in circuit.elements if e.kind in ("L", "La")]
    return _ScreenTerms(tuple("arc" if p.arc is not None else SCREEN_SHAPE.get(p.element_kind, p.element_kind)
                              for p in procs),
                        bool(kinds & {"L", "La"}), blocking, l_names[0] if len(l_names) == 1 else None)


SCREEN_CACHE_SIZE = 32  # screen layouts kept (each < 1 MB): one per process shapes, frequency grid and tau sets


@dataclass(frozen=True)
class _ScreenLayout:
    """The part of a linear screen that depends only on the process shapes, the angular
    frequencies and the tau sets, not on the impedance (:func:`_screen_layout`)."""

    # (S*U + E, 2N) unweighted columns, real then imaginary parts: the unit response of each
    # process shape at each of the U distinct taus, then the series terms 1 (and j omega)
    columns: np.ndarray
    gather: np.ndarray  # (C, Q, Q) flat positions in the (K, K) Gram matrix of each row's Q columns
    ridge: np.ndarray  # (Q, Q) 1e-10 I, added to each row's Gram matrix
    idx: np.ndarray  # (C, Q) basis column of each row's processes and extra terms (a blocking column last)
    where: np.ndarray  # (C, P) position of each process's tau among the distinct taus
    log_omega_at_tau: np.ndarray  # (U,) ln(1/tau) of the distinct taus, ln(rad/s)
    omega_order: np.ndarray  # (N,) ascending order of the angular frequencies
    log_omega_sorted: np.ndarray  # (N,) their logarithms in that order, ln(rad/s)


def _real_imag(col: np.ndarray) -> np.ndarray:
    """complex (..., N) -> real (..., 2N): the real parts, then the imaginary parts."""
    return np.concatenate([col.real, col.imag], axis=-1)


@functools.lru_cache(maxsize=SCREEN_CACHE_SIZE)
def _screen_layout(terms: _ScreenTerms, omega_bytes: bytes, tau_bytes: bytes, tau_shape: tuple[int, int]
                   ) -> _ScreenLayout:
    """The :class:`_ScreenLayout` of ``terms`` at the angular frequencies (rad/s) and tau
    sets (s) given as float64 bytes: cached, so the spectra of a campaign on one frequency
    grid build the unit responses once."""
    w = np.frombuffer(omega_bytes)
    taus = np.frombuffer(tau_bytes).reshape(tau_shape)
    n_proc = tau_shape[1]
    unique, where = np.unique(taus, return_inverse=True)  # a grid repeats a few values
    where = where.reshape(taus.shape)
    w_tau = w[None, :] * unique[:, None]
    s_ = np.sqrt(1j * w_tau)
    shapes = list(dict.fromkeys(terms.shapes))
    # ZARC: (j w tau)^n = (w tau)^n e^(j n pi / 2), a real power (a complex one costs ~10x)
    blocks = {"arc": lambda: 1.0 / (1.0 + w_tau ** N_EXPONENT_START * np.exp(0.5j * np.pi * N_EXPONENT_START)),
              "Wo": lambda: 1.0 / (s_ * np.tanh(s_)), "Ws": lambda: np.tanh(s_) / s_,
              "G": lambda: 1.0 / np.sqrt(1.0 + 1j * w_tau), "TLMQ": lambda: _unit_tlmq(w_tau),
              "T": lambda: _unit_paasch(w_tau)}
    extra = [np.ones_like(w, dtype=complex)] + ([1j * w] if terms.inductive else [])
    columns = np.vstack([_real_imag(blocks[k]()) for k in shapes] + [_real_imag(e)[None, :] for e in extra])
    n_extra = len(extra) + (terms.blocking is not None)
    idx = np.empty((taus.shape[0], n_proc + n_extra), dtype=int)
    for k, kind in enumerate(terms.shapes):
        idx[:, k] = shapes.index(kind) * unique.size + where[:, k]
    idx[:, n_proc:] = len(shapes) * unique.size + np.arange(n_extra)
    n_columns = len(columns) + (terms.blocking is not None)
    order = np.argsort(w)
    layout = _ScreenLayout(columns, idx[:, :, None] * n_columns + idx[:, None, :], 1e-10 * np.eye(idx.shape[1]),
                           idx, where, np.log(1.0 / unique), order, np.log(w[order]))
    for a in (layout.columns, layout.gather, layout.ridge, layout.idx, layout.where):
        a.flags.writeable = False
    return layout


def _unit_tlmq(w_tau: np.ndarray) -> np.ndarray:
    """A TLMQ's impedance over Rion with exponent 0.9 at omega * tau = ``w_tau``:
    1/(b tanh b), b = sqrt((j w tau)^0.9) (a blocking line below 1/tau, 45 degrees above)."""
    b = np.sqrt(w_tau ** N_EXPONENT_START * np.exp(0.5j * np.pi * N_EXPONENT_START))
    return 1.0 / (b * np.tanh(b))


def _unit_paasch(w_tau: np.ndarray) -> np.ndarray:
    """A T (Paasch) element of the first start shape (a = ``T_A_STARTS[0]``, B =
    ``T_B_SHARE`` A) over its DC resistance at omega * tau = ``w_tau`` (tau = b/a): a
    45-degree line above 1/tau bending into an arc below."""
    a = T_A_STARTS[0]
    return paasch(w_tau, 1.0, T_B_SHARE, a, a) / _paasch_dc_per_a(a)  # omega b = a * w_tau


def _linear_screen(circuit, procs: Sequence[Process], taus: np.ndarray, feats: SpectrumFeatures) -> _LinearScreen:
    """The linear fits behind :func:`process_magnitudes`, with their cost and inductance."""
    w, z = feats.omega, feats.z
    n_proc = taus.shape[1]
    terms = _screen_terms(circuit, tuple(procs))
    layout = _screen_layout(terms, np.ascontiguousarray(w, dtype=float).tobytes(),
                            np.ascontiguousarray(taus, dtype=float).tobytes(), taus.shape)
    columns = layout.columns
    if terms.blocking is not None:  # a blocking element: a CPE line with the data's low-frequency slope
        line = (1j * w) ** -(feats.lf_exponent if terms.blocking == "CPE" else 1.0)
        columns = np.vstack([columns, _real_imag(line)[None, :]])
    abs_z = np.abs(z)
    scale = np.concatenate([abs_z, abs_z])
    basis = columns / scale  # weighted by 1/|Z|
    norms = np.maximum(np.linalg.norm(basis, axis=1), 1e-300)
    basis /= norms[:, None]
    data = np.concatenate([z.real, z.imag]) / scale
    rhs_all = basis @ data
    gram_all = basis @ basis.T
    idx = layout.idx
    gram = gram_all.ravel()[layout.gather] + layout.ridge
    rhs = rhs_all[idx]
    x = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]  # coefficients of the normalised columns
    coef = x / norms[idx]
    z_at = np.interp(layout.log_omega_at_tau, layout.log_omega_sorted, abs_z[layout.omega_order])  # |Z| at 1/tau
    # with a blocking element Z'(f_min) holds the line's own real part, not R_pol: no R_pol term
    floor = np.maximum(VISIBLE_FRACTION * z_at, 0.0 if terms.blocking else 1e-3 * feats.r_pol)
    mags = np.maximum(coef[:, :n_proc], floor[layout.where])
    x[:, :n_proc] = mags * norms[idx[:, :n_proc]]
    b_norm2 = float(np.sum(data ** 2))
    cost = b_norm2 - 2 * np.einsum("ci,ci->c", x, rhs) + np.einsum("ci,cij,cj->c", x, gram, x)
    inductance = coef[:, n_proc + 1] if terms.inductive else None  # column 1j w follows the ones
    return _LinearScreen(mags, cost, inductance, terms.inductance_param)


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
# the DRTs whose peaks seed the engine's last round for poor fits (solver._drt_round): lambda
# "auto" (it fits the data to their noise) and a ladder of smoother ones, whose slow tails stay
# single peaks where the weaker lambda rings or hands them to the series C (a real BioLogic
# sweep, three-arc circuit: the peaks of the DRT at 3e-2 lead to an optimum 6x lower in
# chi-square than any start from the "auto" DRT's)
DRT_SEED_LAMBDAS: tuple[float | str, ...] = ("auto", 3e-3, 3e-2, 3e-1)


@dataclass(frozen=True)
class DRTPeak:
    """One relaxation process read off a DRT: tau (s), area R (ohm), CPE exponent n."""

    tau: float
    r: float
    n: float


def drt_starts(circuit, base: dict[str, float], frequency: np.ndarray, z: np.ndarray,
               weighting: str = "modulus", sigma=None,
               lambdas: Sequence[float | str] = ("auto",)) -> list[dict[str, float]]:
    """Starts seeded by the DRTs of the data (:func:`eisfit.drt`, kk test off) at each lambda
    of ``lambdas`` (the engine's last round for poor fits: :data:`DRT_SEED_LAMBDAS`, ~30 ms
    for the four DRTs of a 60-point spectrum), a set of three per DRT whose matched peaks
    differ from the sets before.

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
    starts: list[dict[str, float]] = []
    seen: set[tuple] = set()
    for lambda_ in lambdas:
        found = _data_drt_peaks(frequency, z, weighting, sigma, lambda_)
        if found is None or not len(found[0]):
            continue
        tau, gamma, r, r_inf = found
        peaks = _match_peak_count(_drt_peaks(tau, gamma, r), len(arcs))
        key = tuple((round(math.log10(p.tau), 1), round(math.log10(max(p.r, 1e-300)), 1)) for p in peaks)
        if key in seen:  # an earlier DRT gave the same arcs: no second set of starts
            continue
        seen.add(key)
        for n_start in DRT_N_STARTS:
            s = dict(base)
            for arc, p in zip(arcs, peaks):
                s.update(arc_values(arc, p.r, p.tau, p.n if n_start is None else n_start))
            _set_series_resistance(circuit, s, r_inf)
            starts.append(s)
    return starts


def _data_drt_peaks(frequency: np.ndarray, z: np.ndarray, weighting: str, sigma, lambda_: float | str = "auto"):
    """The peaks of the points' DRT at ``lambda_``, (tau s, gamma ohm, R ohm, R_inf ohm)
    (:func:`eisfit.analysis.drt.drt_peak_arrays`), or None when it cannot be computed.
    Without ``sigma`` the last few are remembered by the points' values: the DRT round of
    each candidate circuit of ``suggest_circuit`` asks for the same spectrum's (4-10 times)."""
    if sigma is not None:
        return _computed_drt_peaks(frequency, z, "sigma", sigma, lambda_)
    mode = weighting if weighting in ("modulus", "proportional", "unit") else "modulus"
    f = np.ascontiguousarray(frequency, dtype=float)
    zc = np.ascontiguousarray(z, dtype=complex)
    return _remembered_drt_peaks(f.tobytes(), zc.tobytes(), mode, lambda_)


@functools.lru_cache(maxsize=16)
def _remembered_drt_peaks(frequency_bytes: bytes, z_bytes: bytes, mode: str, lambda_: float | str = "auto"):
    """:func:`_computed_drt_peaks` of the points given as the bytes of their float64
    frequencies and complex128 impedances (read-only arrays: the values are shared)."""
    found = _computed_drt_peaks(np.frombuffer(frequency_bytes, dtype=float).copy(),
                                np.frombuffer(z_bytes, dtype=complex).copy(), mode, None, lambda_)
    if found is not None:
        for a in found[:3]:
            a.setflags(write=False)
    return found


def _computed_drt_peaks(frequency: np.ndarray, z: np.ndarray, mode: str, sigma, lambda_: float | str = "auto"):
    """:func:`eisfit.analysis.drt.drt_peak_arrays` of the points with DRT weighting ``mode``
    (and ``sigma`` for ``"sigma"``) at ``lambda_``, None where the DRT refuses them."""
    import warnings

    from ..analysis.drt import drt_peak_arrays
    from ..errors import EisfitError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return drt_peak_arrays(points_spectrum(frequency, z), weighting=mode, sigma=sigma, lambda_=lambda_)
    except (EisfitError, ValueError, np.linalg.LinAlgError):
        return None


def _drt_peaks(tau_s: np.ndarray, gamma_ohm: np.ndarray, r_ohm: np.ndarray) -> list[DRTPeak]:
    """The peaks of a DRT with an exponent estimated from height / area."""
    out = []
    for tau, g, r in zip(tau_s, gamma_ohm, r_ohm):
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
