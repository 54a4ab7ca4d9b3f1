"""A parsed circuit compiled to direct NumPy evaluation with an analytic Jacobian.

``Circuit("R0-p(R1,CPE1)-p(R2,CPE2)")`` parses the string once into a small tree
(:mod:`eisfit.model.parser`) and compiles it into two closures of NumPy operations:
one for Z(f) and one for Z(f) together with dZ/dp. The Jacobian follows the chain
rule through the tree: in series dZ/dZi = 1, in parallel Z = 1/sum(1/Zi) so
dZ/dZi = (Z/Zi)^2.

Shapes: ``params`` (M,) -> Z (N,), J (N, M); ``params`` (K, M) -> Z (K, N),
J (K, N, M), vectorised over K (no Python loop). ``frequency`` is in Hz, shape (N,), or
(K, N) with ``params`` (K, M): one grid per row (spectra measured on grids of equal length
that differ in their values); omega = 2*pi*f. Z in ohm, Z'' < 0 for capacitive behaviour.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ..errors import CircuitError, DataError
from ..spectrum import padded_points
from .elements import ELEMENT_ARC_KINDS, ELEMENTS, WARBURG_KINDS, _jlog, _jpow
from .parser import Leaf, Node, Parallel, Series, leaves, parallels, parse, series_chain, to_string

_TWO_PI = 2.0 * np.pi

# cols: parameter columns (M,) scalars or (M, K, 1); omega: (N,)
_ZFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
_GFn = Callable[[np.ndarray, np.ndarray], "tuple[np.ndarray, list[tuple[int, np.ndarray]]]"]


@dataclass(frozen=True)
class ElementInstance:
    """One element of a circuit: name='CPE1', kind='CPE', param_names=['CPE1_0', 'CPE1_1']."""

    name: str
    kind: str
    param_names: list[str]


@dataclass(frozen=True)
class Arc:
    """A semicircle of a circuit: a p() node of exactly one resistor and one CPE or
    capacitor (kind 'CPE' or 'C'), the arc of a branch p(C|CPE, R-X-...)
    (:func:`branch_arc_of`), or an element that is an arc by itself (kind 'Zarc' or 'K':
    ``capacitive`` is the element's name, ``resistor`` its resistance parameter)."""

    resistor: str
    capacitive: str
    kind: str  # 'CPE', 'C', 'Zarc' or 'K'

    @property
    def param_names(self) -> tuple[str, ...]:
        """The arc's parameters: (R, Q, n) of a CPE arc, (R, C) of a capacitor's, (R, tau,
        gamma) of a Zarc, (R, tau) of a K."""
        if self.kind == "CPE":
            return self.resistor, f"{self.capacitive}_0", f"{self.capacitive}_1"
        if self.kind == "Zarc":
            return self.resistor, f"{self.capacitive}_1", f"{self.capacitive}_2"
        if self.kind == "K":
            return self.resistor, f"{self.capacitive}_1"
        return self.resistor, self.capacitive

    @property
    def exponent(self) -> str | None:
        """The arc's dispersion exponent parameter (a CPE's n, a Zarc's gamma); None for a
        capacitor's arc and a K."""
        return self.param_names[2] if self.kind in ("CPE", "Zarc") else None


def branch_arc_of(node: Node) -> Arc | None:
    """The arc of a branch ``p(C|CPE, R-X-...)``: a p() node of one capacitive leaf and one
    series chain that holds exactly one resistor, whatever else (a Randles branch
    ``p(CPE2,R2-Wo2)``: double layer and charge transfer; a ladder ``p(CPE1,R1-p(R2,CPE2))``:
    the outer arc). None for any other node, a plain R || C/CPE pair included."""
    if not isinstance(node, Parallel) or len(node.children) != 2:
        return None
    caps = [k for k in node.children if isinstance(k, Leaf) and k.kind in ("C", "CPE")]
    chains = [k for k in node.children if isinstance(k, Series)]
    if len(caps) != 1 or len(chains) != 1:
        return None
    rs = [k for k in chains[0].children if isinstance(k, Leaf) and k.kind == "R"]
    return Arc(rs[0].name, caps[0].name, caps[0].kind) if len(rs) == 1 else None


def _is_randles(node: Node) -> bool:
    """Whether a branch's series chain holds a Warburg element (W, Wo, Ws) beside its
    resistor: the resistor is a charge transfer, the capacitance the double layer."""
    chain = next(k for k in node.children if isinstance(k, Series))
    return any(isinstance(k, Leaf) and k.kind in WARBURG_KINDS for k in chain.children)


# --------------------------------------------------------------------------- compilation
def _leaf_fn(leaf: Leaf, start: dict[str, int], fn: Callable) -> Callable:
    """Bind an element function to its parameter columns: (cols, omega) -> fn(omega, *p)."""
    a = start[leaf.name]
    b = a + ELEMENTS[leaf.kind].n_params
    if b - a == 1:
        return lambda cols, omega: fn(omega, cols[a])
    return lambda cols, omega: fn(omega, *cols[a:b])


def _scale(d, factor: np.ndarray) -> np.ndarray:
    """factor * d, in place when d is already a full-size complex array (saves allocations).

    Derivative arrays returned by element gradient functions are fresh arrays that
    nothing else references (the functions never return Z itself as a derivative).
    """
    if isinstance(d, np.ndarray) and d.dtype.kind == "c" and d.shape == np.shape(factor):
        d *= factor
        return d
    return factor * d


def _compile_z(node: Node, start: dict[str, int]) -> _ZFn:
    """Closure computing Z of ``node``."""
    if isinstance(node, Leaf):
        return _leaf_fn(node, start, ELEMENTS[node.kind].impedance)
    if isinstance(node, Series):
        parts = [_compile_z(child, start) for child in node.children]

        def series(cols, omega):
            z = parts[0](cols, omega)
            for part in parts[1:]:
                z = z + part(cols, omega)
            return z
        return series

    ys = [_compile_y(child, start) for child in node.children]

    def parallel(cols, omega):
        y = ys[0](cols, omega)
        for part in ys[1:]:
            y = y + part(cols, omega)
        return 1.0 / y
    return parallel


def _compile_y(node: Node, start: dict[str, int]) -> _ZFn:
    """Closure computing the admittance Y = 1/Z of a branch of p() (direct form for leaves that have one)."""
    if isinstance(node, Leaf) and ELEMENTS[node.kind].admittance is not None:
        return _leaf_fn(node, start, ELEMENTS[node.kind].admittance)
    zfn = _compile_z(node, start)
    return lambda cols, omega: 1.0 / zfn(cols, omega)


def _compile_grad(node: Node, start: dict[str, int]) -> _GFn:
    """Closure computing (Z, [(param index, dZ/dp), ...]) of ``node``."""
    if isinstance(node, Leaf):
        fn = _leaf_fn(node, start, ELEMENTS[node.kind].gradient)
        idx = range(start[node.name], start[node.name] + ELEMENTS[node.kind].n_params)

        def leaf(cols, omega):
            z, grads = fn(cols, omega)
            return z, list(zip(idx, grads))
        return leaf

    if isinstance(node, Series):
        parts = [_compile_grad(child, start) for child in node.children]

        def series(cols, omega):
            z, d = parts[0](cols, omega)
            for part in parts[1:]:
                zi, di = part(cols, omega)
                z = z + zi
                d = d + di
            return z, d
        return series

    fused = _r_cpe_arc(node, start)
    if fused is not None:
        return fused

    # parallel: Z = 1/sum(Yi). A branch given by its admittance contributes
    # dZ/dp = -Z^2 dYi/dp; a branch given by its impedance (Z/Zi)^2 dZi/dp.
    branches = []
    for child in node.children:
        edef = ELEMENTS[child.kind] if isinstance(child, Leaf) else None
        if edef is not None and edef.admittance_gradient is not None:
            fn = _leaf_fn(child, start, edef.admittance_gradient)
            idx = range(start[child.name], start[child.name] + edef.n_params)
            branches.append((True, fn, idx))
        else:
            branches.append((False, _compile_grad(child, start), None))

    def parallel(cols, omega):
        results = []
        y = None
        for is_y, fn, idx in branches:
            if is_y:
                yi, dy = fn(cols, omega)
                results.append((True, yi, list(zip(idx, dy))))
            else:
                zi, dz = fn(cols, omega)
                yi = 1.0 / zi
                results.append((False, yi, dz))
            y = yi if y is None else y + yi
        z = 1.0 / y
        minus_z2 = -(z * z)
        d: list[tuple[int, np.ndarray]] = []
        for is_y, yi, di in results:
            if is_y:
                factor = minus_z2
            else:
                factor = z * yi
                factor *= factor  # dZ/dZi = (Z/Zi)^2
            d.extend((j, _scale(dj, factor)) for j, dj in di)
        return z, d
    return parallel


def _r_cpe_arc(node: Node, start: dict[str, int]) -> _GFn | None:
    """A fused closure for p(R, CPE), the semicircle of almost every battery circuit (None
    for any other node): Y = 1/R + Q (j omega)^n, Z = 1/Y, dZ/dR = Z^2/R^2,
    dZ/dQ = -Z^2 (j omega)^n, dZ/dn = -Z^2 Q (j omega)^n ln(j omega). The same values as the
    generic parallel rule, in about 60 % of its time (fewer temporaries and calls)."""
    kids = node.children
    if not isinstance(node, Parallel) or len(kids) != 2 or not all(isinstance(k, Leaf) for k in kids):
        return None
    if sorted(k.kind for k in kids) != ["CPE", "R"]:
        return None
    i_r = start[next(k.name for k in kids if k.kind == "R")]
    i_q = start[next(k.name for k in kids if k.kind == "CPE")]

    def arc(cols, omega):
        r, q, n = cols[i_r], cols[i_q], cols[i_q + 1]
        jw_n = _jpow(omega, n)
        y = q * jw_n
        y += 1.0 / r
        z = 1.0 / y
        minus_z2 = z * z
        minus_z2 *= -1.0
        d_q = minus_z2 * jw_n
        d_n = d_q * (q * _jlog(omega))
        d_r = minus_z2 * (-1.0 / (r * r))
        return z, [(i_r, d_r), (i_q, d_q), (i_q + 1, d_n)]
    return arc


# --------------------------------------------------------------------------- Circuit
class Circuit:
    """An equivalent circuit in impedance.py notation, ready for fast evaluation.

    >>> c = Circuit("R0-p(R1,CPE1)-p(R2,CPE2)")
    >>> c.param_names
    ['R0', 'R1', 'CPE1_0', 'CPE1_1', 'R2', 'CPE2_0', 'CPE2_1']

    Raises :class:`eisfit.CircuitError` for an invalid string. Instances are
    immutable, hashable, compare equal by normalised string, and pickle by string.
    """

    __slots__ = ("string", "tree", "elements", "param_names", "param_units", "default_bounds",
                 "log_scale", "param_descriptions", "arcs", "branch_arcs", "randles_arcs", "linear_series", "_z",
                 "_grad", "__weakref__")

    string: str
    tree: Node
    elements: list[ElementInstance]
    param_names: list[str]
    param_units: list[str]
    default_bounds: list[tuple[float, float]]
    log_scale: list[bool]
    param_descriptions: list[str]
    arcs: list[Arc]
    branch_arcs: list[Arc]  # the arcs of branches p(C|CPE, R-X-...) (:func:`branch_arc_of`), string order
    randles_arcs: list[Arc]  # those of them whose chain holds a Warburg element: R charge transfer, C double layer
    # parameters of elements in series with the whole circuit whose impedance is proportional
    # to them (R: Z = R, L: Z = j w L; R0 and L0 of L0-R0-p(R1,CPE1)): the model is linear in them
    linear_series: tuple[str, ...]

    def __init__(self, string: str):
        if isinstance(string, Circuit):
            string = string.string
        tree = parse(string)
        set_ = object.__setattr__
        set_(self, "tree", tree)
        set_(self, "string", to_string(tree))

        elements, names, units, bounds, logs, descs = [], [], [], [], [], []
        start: dict[str, int] = {}
        for leaf in leaves(tree):
            edef = ELEMENTS[leaf.kind]
            start[leaf.name] = len(names)
            pnames = edef.param_names(leaf.name)
            elements.append(ElementInstance(leaf.name, leaf.kind, pnames))
            for pname, pdef in zip(pnames, edef.params):
                names.append(pname)
                units.append(pdef.unit)
                bounds.append(pdef.bounds)
                logs.append(pdef.log_scale)
                descs.append(f"{edef.description} {leaf.name}: {pdef.description} ({pdef.symbol})")
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise CircuitError(f"invalid circuit {string!r}: duplicate parameter names {dup}")
        set_(self, "elements", elements)
        set_(self, "param_names", names)
        set_(self, "param_units", units)
        set_(self, "default_bounds", bounds)
        set_(self, "log_scale", logs)
        set_(self, "param_descriptions", descs)

        arcs = []
        for node in parallels(tree):
            kids = node.children
            if len(kids) == 2 and all(isinstance(k, Leaf) for k in kids):
                by_kind = {k.kind: k.name for k in kids}
                cap = [k for k in ("CPE", "C") if k in by_kind]
                if "R" in by_kind and cap:
                    arcs.append(Arc(by_kind["R"], by_kind[cap[0]], cap[0]))
        set_(self, "arcs", arcs)
        branches = [(node, branch_arc_of(node)) for node in parallels(tree)]
        set_(self, "branch_arcs", [a for _, a in branches if a is not None])
        set_(self, "randles_arcs", [a for node, a in branches if a is not None and _is_randles(node)])
        set_(self, "linear_series", tuple(k.name for k in series_chain(tree) if isinstance(k, Leaf)
                                          and k.kind in ("R", "L")))
        set_(self, "_z", _compile_z(tree, start))
        set_(self, "_grad", _compile_grad(tree, start))

    # -- immutability, identity, pickling
    def __setattr__(self, name, value):
        raise AttributeError("Circuit is immutable")

    def __reduce__(self):
        return (Circuit, (self.string,))

    def __eq__(self, other) -> bool:
        return isinstance(other, Circuit) and other.string == self.string

    def __hash__(self) -> int:
        return hash(("Circuit", self.string))

    def __repr__(self) -> str:
        return f"Circuit({self.string!r})"

    def __str__(self) -> str:
        return self.string

    @property
    def n_params(self) -> int:
        """Number of parameters M."""
        return len(self.param_names)

    def param_index(self, name: str) -> int:
        """Position of parameter ``name`` in :attr:`param_names` (CircuitError if unknown)."""
        try:
            return self.param_names.index(name)
        except ValueError:
            raise CircuitError(
                f"circuit {self.string!r} has no parameter {name!r}; "
                f"its parameters are {', '.join(self.param_names)}") from None

    # -- evaluation
    def _prepare(self, params, frequency) -> tuple[np.ndarray, np.ndarray, bool]:
        p = np.asarray(params, dtype=float)
        f = np.asarray(frequency, dtype=float)
        m = len(self.param_names)
        if f.ndim == 2 and p.ndim == 2 and p.shape == (f.shape[0], m):  # one grid per row
            return p.T[:, :, None], _TWO_PI * f, True
        if f.ndim != 1:
            raise DataError(f"frequency must be a 1-D array (Hz), or (K, N) with params (K, M), "
                            f"got shape {f.shape}")
        if p.ndim == 1 and p.shape[0] == m:
            return p, _TWO_PI * f, False
        if p.ndim == 2 and p.shape[1] == m:
            return p.T[:, :, None], _TWO_PI * f, True
        raise CircuitError(
            f"circuit {self.string!r} takes {m} parameters ({', '.join(self.param_names)}): "
            f"params must have shape ({m},) or (K, {m}), got {p.shape}")

    def impedance(self, params: Sequence[float] | np.ndarray | Mapping[str, float],
                  frequency: np.ndarray) -> np.ndarray:
        """Impedance Z (ohm, complex) at ``frequency`` (Hz, (N,) or (K, N)): (N,) for params
        (M,), (K, N) for (K, M); ``params`` may also be a mapping by parameter name (a fit's
        ``values``)."""
        if isinstance(params, Mapping):
            params = self.values_in_order(params)
        cols, omega, batched = self._prepare(params, frequency)
        z = self._z(cols, omega)
        shape = (cols.shape[1], omega.shape[-1]) if batched else omega.shape
        if z.shape != shape or z.dtype.kind != "c":
            z = np.broadcast_to(z, shape).astype(complex)
        return z

    def impedance_at_each(self, params: np.ndarray, frequencies: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The impedance (ohm, complex) of each parameter vector (rows of ``params``, (K, M))
        at its own frequencies (Hz, K arrays of any lengths), in one evaluation: shorter grids
        are padded with their last frequency and cut back (the circuit's functions are
        elementwise: each curve equals its own evaluation to the bit). A runaway element
        overflows silently (non-finite values). Each curve is an array of its own."""
        n = max(np.size(f) for f in frequencies)
        grid = np.array([padded_points(np.asarray(f, float), n) for f in frequencies])
        with np.errstate(all="ignore"):
            z = self.impedance(np.asarray(params, float), grid)
        return [row[:np.size(f)].copy() for row, f in zip(z, frequencies)]

    def values_in_order(self, values: Mapping[str, float]) -> np.ndarray:
        """The values of a mapping by parameter name in :attr:`param_names` order;
        CircuitError naming the parameters it lacks."""
        missing = [n for n in self.param_names if n not in values]
        if missing:
            raise CircuitError(f"{self.string}: no value for {', '.join(missing)} (the circuit's parameters are "
                               f"{', '.join(self.param_names)})")
        return np.array([values[n] for n in self.param_names], dtype=float)

    def impedance_and_jacobian(self, params: Sequence[float] | np.ndarray,
                               frequency: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Z and the analytic complex Jacobian dZ/dp: ((N,), (N, M)) or ((K, N), (K, N, M))."""
        cols, omega, batched = self._prepare(params, frequency)
        z, d = self._grad(cols, omega)
        m = len(self.param_names)
        if batched:
            shape = (cols.shape[1], omega.shape[-1])
            jac = np.empty(shape + (m,), dtype=complex)
            for j, dj in d:
                jac[:, :, j] = dj
        else:
            shape = omega.shape
            jac = np.empty(shape + (m,), dtype=complex)
            for j, dj in d:
                jac[:, j] = dj
        if z.shape != shape or z.dtype.kind != "c":
            z = np.broadcast_to(z, shape).astype(complex)
        return z, jac

    def impedance_and_gradients(self, params: np.ndarray, frequency: np.ndarray
                                ) -> tuple[np.ndarray, list[tuple[int, Any]]]:
        """Z (K, N) of params (K, M) and the columns of dZ/dp as (parameter index, array
        broadcastable to (K, N)) pairs: the Jacobian unassembled, for callers that transform
        each column anyway (the solver's normal equations)."""
        cols, omega, batched = self._prepare(params, frequency)
        if not batched:
            raise CircuitError("impedance_and_gradients takes params of shape (K, M)")
        z, d = self._grad(cols, omega)
        shape = (cols.shape[1], omega.shape[-1])
        if z.shape != shape or z.dtype.kind != "c":
            z = np.broadcast_to(z, shape).astype(complex)
        return z, d

    def jacobian(self, params: Sequence[float] | np.ndarray, frequency: np.ndarray) -> np.ndarray:
        """Analytic complex Jacobian dZ/dp (ohm per parameter unit): (N, M) or (K, N, M)."""
        return self.impedance_and_jacobian(params, frequency)[1]


@functools.lru_cache(maxsize=256)
def finite_at_dc(circuit: Circuit) -> bool:
    """Whether the impedance of ``circuit`` stays finite as the frequency goes to 0 whatever
    its parameters: every element in series is finite there, and a parallel group has a
    branch that is (``ElementDef.finite_at_dc``). False where a capacitive tail (a blocking
    electrode, an open Warburg) can rise at low frequency."""
    def finite(node: Node) -> bool:
        if isinstance(node, Leaf):
            return ELEMENTS[node.kind].finite_at_dc
        if isinstance(node, Series):
            return all(finite(child) for child in node.children)
        return any(finite(child) for child in node.children)

    return finite(circuit.tree)


def resistance_names(names: Iterable[str]) -> list[str]:
    """The resistances among parameter names: the plain resistors (R0, R1, ...) and the
    resistances of Zarc and K elements, arcs by themselves (Zarc1_0, K2_0)."""
    return [n for n in names if _RESISTANCE.fullmatch(n)]


_RESISTANCE = re.compile(r"R\d+|(?:" + "|".join(ELEMENT_ARC_KINDS) + r")\d+_0")


@functools.lru_cache(maxsize=256)
def circuit_of(string: str) -> Circuit:
    """The :class:`Circuit` of a circuit string, parsed once per process (circuits are
    immutable, so every caller can share one): for the strings that results carry and
    that the library resolves. Raises :class:`eisfit.CircuitError` as ``Circuit`` does."""
    return Circuit(string)
