"""Circuit elements: impedance formulas, analytic derivatives and parameter metadata.

Every element is two small pure functions of the angular frequency
``omega = 2*pi*f`` (rad/s) and its parameters:

* ``<kind>(omega, *p) -> Z``: the impedance in ohm;
* ``<kind>_grad(omega, *p) -> (Z, (dZ/dp0, dZ/dp1, ...))``: the impedance and its
  complex derivatives with respect to each parameter (analytic).

Parameters are scalars or arrays of shape (K, 1) and ``omega`` has shape (N,), so
the same code evaluates one spectrum or K parameter sets at once by broadcasting.
Derivatives may be returned with a broadcastable shape (a resistor's dZ/dR is 1);
each derivative must be a new array, never the returned Z itself (the circuit
code scales derivative arrays in place).

The formulas and parameter conventions (order, names, meaning) follow impedance.py
1.7.1 (``impedance.models.circuits.elements``) exactly, so that circuit strings and
parameter values are interchangeable with it; the implementation is our own.
Where impedance.py's docstring and code disagree (``La``), the code is followed
and the difference is documented. Distributed elements (Wo, Ws, Gs, TLMQ, T) use
``numpy.tanh``, which saturates to +-1 instead of overflowing, and series
expansions where the closed form would cancel.

Metadata (unit, default bounds, log-scale flag, description) is declared once per
element, next to its functions, in :data:`ELEMENTS` (a read-only mapping).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np

INF = float("inf")
_HALF_PI = 0.5 * np.pi

ImpedanceFn = Callable[..., np.ndarray]
GradientFn = Callable[..., "tuple[np.ndarray, tuple[np.ndarray, ...]]"]


# --------------------------------------------------------------------------- metadata
@dataclass(frozen=True)
class ParamDef:
    """One parameter of an element.

    ``symbol`` is the physics name (Q, n, tau...), ``unit`` a plain string ('' for
    dimensionless), ``bounds`` the default (lo, hi) box, ``log_scale`` True for a
    strictly positive scale parameter that a fitter should vary in log space.
    """

    symbol: str
    unit: str
    bounds: tuple[float, float]
    log_scale: bool
    description: str


@dataclass(frozen=True)
class ElementDef:
    """A circuit element kind (R, CPE, Wo...): functions plus parameter metadata."""

    kind: str
    description: str
    formula: str
    reference: str
    params: tuple[ParamDef, ...]
    impedance: ImpedanceFn
    gradient: GradientFn
    #: optional admittance form Y = 1/Z and its gradient (Y, dY/dp), used inside p()
    #: where it saves divisions; it must agree with 1/impedance (tested)
    admittance: ImpedanceFn | None = None
    admittance_gradient: GradientFn | None = None
    #: Z stays finite as omega -> 0 whatever the parameters (a resistor, a short Warburg);
    #: False for elements that block a direct current (C, CPE, W, Wo) or may (TLMQ, T)
    finite_at_dc: bool = False

    @property
    def n_params(self) -> int:
        return len(self.params)

    def param_names(self, name: str) -> list[str]:
        """impedance.py parameter names of the instance ``name``: 'R1' or 'CPE1_0', 'CPE1_1'."""
        if len(self.params) == 1:
            return [name]
        return [f"{name}_{i}" for i in range(len(self.params))]


# --------------------------------------------------------------------------- helpers
def _jpow(omega: np.ndarray, a) -> np.ndarray:
    """(j*omega)^a for omega > 0 on the principal branch: exp(j*a*pi/2) * omega^a, the power
    as exp(a ln omega) (about 2x faster than ``omega**a``)."""
    return np.exp(1j * _HALF_PI * a) * np.exp(a * np.log(omega))


def _jlog(x: np.ndarray) -> np.ndarray:
    """log(j*x) = ln(x) + j*pi/2 for x > 0."""
    return np.log(x) + 1j * _HALF_PI


def _coth_over(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """g = coth(x)/x and h = x*g'(x) = -(csch(x)^2 + coth(x)/x), for Re x >= 0.

    tanh saturates to 1 for large Re x (no overflow); csch^2 is formed as
    (1-t)(1+t)/t^2, which has no cancellation problem relative to coth/x.
    """
    t = np.tanh(x)
    coth = 1.0 / t
    g = coth / x
    csch2 = (1.0 - t) * (1.0 + t) * coth * coth
    return g, -(csch2 + g)


_TANH_SERIES_LIMIT = 1e-2  # |x|^2 below which x*d/dx[tanh(x)/x] uses its Taylor series


def _tanh_over(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """g = tanh(x)/x and h = x*g'(x) = sech(x)^2 - tanh(x)/x, for Re x >= 0.

    h cancels for small |x| (h ~ -2x^2/3), so for |x|^2 < 1e-2 it is taken from the
    Taylor series of tanh(x)/x (truncation < 1e-11 relative).
    """
    t = np.tanh(x)
    g = t / x
    h = (1.0 - t) * (1.0 + t) - g
    x2 = x * x
    small = np.abs(x2) < _TANH_SERIES_LIMIT
    if np.any(small):
        s = np.broadcast_to(x2, h.shape)[small]
        series = s * (-2.0 / 3.0 + s * (8.0 / 15.0 + s * (-102.0 / 315.0
                      + s * (496.0 / 2835.0 + s * (-13820.0 / 155925.0)))))
        h = np.array(h, copy=True)
        h[small] = series
    return g, h


def _csch(x: np.ndarray) -> np.ndarray:
    """csch(x) = 2 e^-x / (1 - e^-2x) for Re x >= 0: no overflow for large x."""
    return 2.0 * np.exp(-x) / -np.expm1(-2.0 * x)


# --------------------------------------------------------------------------- elements
def resistor(omega, R):
    """Resistor. Z = R (ohm); returned unbroadcast (a scalar or (K, 1))."""
    return R


def resistor_grad(omega, R):
    return R, (1.0,)


def resistor_y(omega, R):
    """Resistor admittance Y = 1/R (S)."""
    return 1.0 / R


def resistor_y_grad(omega, R):
    y = 1.0 / R
    return y, (-y * y,)


def capacitor(omega, C):
    """Capacitor. Z = 1/(j*omega*C); C in F."""
    return 1.0 / (1j * omega * C)


def capacitor_grad(omega, C):
    z = capacitor(omega, C)
    return z, (-z / C,)


def capacitor_y(omega, C):
    """Capacitor admittance Y = j omega C (S)."""
    return (1j * C) * omega


def capacitor_y_grad(omega, C):
    d = 1j * omega + 0.0 * C
    return C * d, (d,)


def inductor(omega, L):
    """Inductor. Z = j*omega*L; L in H."""
    return 1j * omega * L


def inductor_grad(omega, L):
    return inductor(omega, L), (1j * omega + 0.0 * L,)


def inductor_y(omega, L):
    """Inductor admittance Y = 1/(j omega L) (S)."""
    return -1j / (omega * L)


def inductor_y_grad(omega, L):
    y = inductor_y(omega, L)
    return y, (-y / L,)


def cpe(omega, Q, n):
    """Constant phase element. Z = 1/(Q (j*omega)^n); Q in S*s^n, 0 < n <= 1.

    Hsu & Mansfeld, Corrosion 57 (2001) 747; impedance.py ``CPE`` (Q=p[0], alpha=p[1]).
    dZ/dQ = -Z/Q; dZ/dn = -ln(j*omega) Z.
    """
    return (np.exp(-1j * _HALF_PI * n) / Q) * np.exp(-n * np.log(omega))  # exp-log: ~2x faster than a power


def cpe_grad(omega, Q, n):
    z = cpe(omega, Q, n)
    return z, (z * (-1.0 / Q), -_jlog(omega) * z)


def cpe_y(omega, Q, n):
    """CPE admittance Y = Q (j omega)^n (S)."""
    return (Q * np.exp(1j * _HALF_PI * n)) * np.exp(n * np.log(omega))


def cpe_y_grad(omega, Q, n):
    y = cpe_y(omega, Q, n)
    return y, (y * (1.0 / Q), _jlog(omega) * y)


def warburg(omega, Aw):
    """Semi-infinite Warburg. Z = Aw (1 - j)/sqrt(omega); Aw in ohm*s^-1/2."""
    return Aw * (1.0 - 1.0j) / np.sqrt(omega)


def warburg_grad(omega, Aw):
    d = (1.0 - 1.0j) / np.sqrt(omega)
    return Aw * d, (d + 0.0 * Aw,)


def warburg_open(omega, Z0, tau):
    """Finite-space (open, reflective) Warburg. Z = Z0 coth(s)/s, s = sqrt(j*omega*tau).

    Z0 in ohm, tau = L^2/D in s. impedance.py ``Wo``.
    dZ/dtau = Z0 * s g'(s) / (2 tau) with g(s) = coth(s)/s.
    """
    s = np.sqrt(1j * omega * tau)
    return Z0 / (s * np.tanh(s))


def warburg_open_grad(omega, Z0, tau):
    s = np.sqrt(1j * omega * tau)
    g, h = _coth_over(s)
    z = Z0 * g
    return z, (g, Z0 * h / (2.0 * tau))


def warburg_short(omega, Z0, tau):
    """Finite-length (short, transmissive) Warburg. Z = Z0 tanh(s)/s, s = sqrt(j*omega*tau).

    Z0 in ohm, tau = L^2/D in s. impedance.py ``Ws``.
    dZ/dtau = Z0 * s g'(s) / (2 tau) with g(s) = tanh(s)/s (series for small s).
    """
    s = np.sqrt(1j * omega * tau)
    return Z0 * np.tanh(s) / s


def warburg_short_grad(omega, Z0, tau):
    s = np.sqrt(1j * omega * tau)
    g, h = _tanh_over(s)
    return Z0 * g, (g, Z0 * h / (2.0 * tau))


def modified_inductance(omega, L, alpha):
    """Modified inductance as coded in impedance.py ``La``: Z = (j*omega*L)^alpha.

    Note: impedance.py's docstring writes L (j omega)^alpha (BioLogic AN 42) but its
    code evaluates (j omega L)^alpha; we follow the code so values are interchangeable.
    L in H (Z in ohm only for alpha = 1), 0 < alpha <= 1.
    dZ/dL = alpha Z / L; dZ/dalpha = ln(j omega L) Z.
    """
    return _jpow(omega * L, alpha)


def modified_inductance_grad(omega, L, alpha):
    z = modified_inductance(omega, L, alpha)
    return z, (alpha * z / L, _jlog(omega * L) * z)


def gerischer(omega, R_G, t_G):
    """Gerischer. Z = R_G / sqrt(1 + j*omega*t_G); R_G in ohm, t_G in s.

    Lu, Kreller & Adler, J. Electrochem. Soc. 156 (2009) B513; impedance.py ``G``.
    dZ/dt_G = -Z j omega / (2 (1 + j omega t_G)).
    """
    return R_G / np.sqrt(1.0 + 1j * omega * t_G)


def gerischer_grad(omega, R_G, t_G):
    u2 = 1.0 + 1j * omega * t_G
    d_r = 1.0 / np.sqrt(u2)
    z = R_G * d_r
    return z, (d_r, -0.5j * omega * z / u2)


def gerischer_finite(omega, R_G, t_G, phi):
    """Finite-length Gerischer. Z = R_G / (u tanh(phi u)), u = sqrt(1 + j*omega*t_G).

    Green, Liu & Adler, Solid State Ionics 179 (2008) 647; impedance.py ``Gs``.
    dZ/dphi = -R_G csch^2(phi u); dZ/du = -R_G (coth(phi u)/u^2 + phi csch^2(phi u)/u).
    """
    u = np.sqrt(1.0 + 1j * omega * t_G)
    return R_G / (u * np.tanh(phi * u))


def gerischer_finite_grad(omega, R_G, t_G, phi):
    u = np.sqrt(1.0 + 1j * omega * t_G)
    t = np.tanh(phi * u)
    coth = 1.0 / t
    csch2 = (1.0 - t) * (1.0 + t) * coth * coth
    d_r = coth / u
    z = R_G * d_r
    dz_du = -R_G * (coth / (u * u) + phi * csch2 / u)
    return z, (d_r, dz_du * (0.5j * omega / u), -R_G * csch2)


def voigt(omega, R, tau):
    """RC (Voigt) element of the lin-KK model. Z = R / (1 + j*omega*tau); impedance.py ``K``."""
    return R / (1.0 + 1j * omega * tau)


def voigt_grad(omega, R, tau):
    d_r = 1.0 / (1.0 + 1j * omega * tau)
    z = R * d_r
    return z, (d_r, -1j * omega * z * d_r)


def zarc(omega, R, tau, gamma):
    """ZARC (R||CPE in R, tau form; Cole-Cole). Z = R / (1 + (j*omega*tau)^gamma).

    impedance.py ``Zarc``; R in ohm, tau in s, 0 < gamma <= 1.
    With w = (j omega tau)^gamma: dZ/dtau = -R gamma w / (tau (1+w)^2),
    dZ/dgamma = -R w ln(j omega tau) / (1+w)^2.
    """
    return R / (1.0 + _jpow(omega * tau, gamma))


def zarc_grad(omega, R, tau, gamma):
    w = _jpow(omega * tau, gamma)
    d_r = 1.0 / (1.0 + w)
    z = R * d_r
    k = -z * d_r * w  # -R w / (1+w)^2
    return z, (d_r, k * gamma / tau, k * _jlog(omega * tau))


def tlmq(omega, Rion, Qs, gamma):
    """Simplified transmission line with CPE interface. Z = sqrt(Rion Zs) coth(sqrt(Rion/Zs)).

    Zs = 1/(Qs (j omega)^gamma). Landesfeind et al., J. Electrochem. Soc. 163 (2016)
    A1373, eq. 11; impedance.py ``TLMQ``. Evaluated as Z = Rion coth(b)/b with
    b = sqrt(Rion Qs (j omega)^gamma) (identical on the principal branch).
    Rion in ohm, Qs in S*s^gamma.
    """
    b = np.sqrt(Rion * Qs * _jpow(omega, gamma))
    return Rion / (b * np.tanh(b))


def tlmq_grad(omega, Rion, Qs, gamma):
    b = np.sqrt(Rion * Qs * _jpow(omega, gamma))
    g, h = _coth_over(b)
    rh = 0.5 * Rion * h  # Rion * b g'(b) / 2 = d Z / d ln(b^2)
    return Rion * g, (g + 0.5 * h, rh / Qs, rh * _jlog(omega))


def paasch(omega, A, B, a, b):
    """Macrohomogeneous porous electrode (Paasch, Micka & Gersdorf, Electrochim. Acta 38 (1993) 2653).

    Z = A coth(beta)/beta + B / (beta sinh(beta)), beta = sqrt(a + j*omega*b).
    impedance.py ``T`` (A, B in ohm for an impedance in ohm: the papers' per-area A and B,
    ohm*m^2, over the electrode area; a dimensionless, b in s). impedance.py replaces
    sinh(beta) by 1e10 when Re(beta) >= 100; we use the exact, overflow-free
    csch(beta), so the two differ there by ~B*1e-10/|beta| (negligible).
    """
    beta = np.sqrt(a + 1j * omega * b)
    return A / (beta * np.tanh(beta)) + B * _csch(beta) / beta


def paasch_grad(omega, A, B, a, b):
    beta = np.sqrt(a + 1j * omega * b)
    g, h = _coth_over(beta)
    csch = _csch(beta)
    k = csch / beta
    # beta * d/dbeta [csch(beta)/beta] = -csch(beta) (coth(beta) + 1/beta)
    hk = -csch * (1.0 / np.tanh(beta) + 1.0 / beta)
    z = A * g + B * k
    dz_dlnb2 = 0.5 * (A * h + B * hk) / (beta * beta)  # dZ/d(beta^2)
    return z, (g, k, dz_dlnb2 + 0.0 * a, 1j * omega * dz_dlnb2)


# --------------------------------------------------------------------------- registry
_POS = (0.0, INF)
_EXP = (0.0, 1.0)


def _p(symbol: str, unit: str, description: str, bounds=_POS, log_scale: bool = True) -> ParamDef:
    return ParamDef(symbol, unit, (float(bounds[0]), float(bounds[1])), log_scale, description)


_DEFS = (
    ElementDef("R", "resistor", "Z = R", "impedance.py R",
               (_p("R", "ohm", "resistance"),), resistor, resistor_grad, resistor_y, resistor_y_grad,
               finite_at_dc=True),
    ElementDef("C", "capacitor", "Z = 1/(j w C)", "impedance.py C",
               (_p("C", "F", "capacitance"),), capacitor, capacitor_grad, capacitor_y,
               capacitor_y_grad),
    ElementDef("L", "inductor", "Z = j w L", "impedance.py L",
               (_p("L", "H", "inductance"),), inductor, inductor_grad, inductor_y, inductor_y_grad,
               finite_at_dc=True),
    ElementDef("CPE", "constant phase element", "Z = 1/(Q (j w)^n)",
               "Hsu & Mansfeld, Corrosion 57 (2001) 747",
               (_p("Q", "S*s^n", "CPE coefficient (a capacitance in F only when n = 1)"),
                _p("n", "", "CPE exponent (1 = ideal capacitor)", _EXP, False)),
               cpe, cpe_grad, cpe_y, cpe_y_grad),
    ElementDef("W", "semi-infinite Warburg", "Z = Aw (1 - j)/sqrt(w)", "impedance.py W",
               (_p("Aw", "ohm*s^-1/2", "Warburg coefficient"),), warburg, warburg_grad),
    ElementDef("Wo", "finite-space (open) Warburg", "Z = Z0 coth(sqrt(j w tau))/sqrt(j w tau)",
               "impedance.py Wo",
               (_p("Z0", "ohm", "diffusion resistance"),
                _p("tau", "s", "diffusion time constant L^2/D")),
               warburg_open, warburg_open_grad),
    ElementDef("Ws", "finite-length (short) Warburg", "Z = Z0 tanh(sqrt(j w tau))/sqrt(j w tau)",
               "impedance.py Ws",
               (_p("Z0", "ohm", "diffusion resistance"),
                _p("tau", "s", "diffusion time constant L^2/D")),
               warburg_short, warburg_short_grad, finite_at_dc=True),
    ElementDef("La", "modified inductance", "Z = (j w L)^alpha (impedance.py code form)",
               "BioLogic EC-Lab Application Note 42 (2019); impedance.py La",
               (_p("L", "H", "inductance"),
                _p("alpha", "", "inductance exponent (1 = ideal inductor)", _EXP, False)),
               modified_inductance, modified_inductance_grad, finite_at_dc=True),
    ElementDef("G", "Gerischer", "Z = R_G / sqrt(1 + j w t_G)",
               "Lu, Kreller & Adler, J. Electrochem. Soc. 156 (2009) B513",
               (_p("R_G", "ohm", "Gerischer resistance"),
                _p("t_G", "s", "Gerischer time constant")),
               gerischer, gerischer_grad, finite_at_dc=True),
    ElementDef("Gs", "finite-length Gerischer",
               "Z = R_G / (sqrt(1 + j w t_G) tanh(phi sqrt(1 + j w t_G)))",
               "Green, Liu & Adler, Solid State Ionics 179 (2008) 647",
               (_p("R_G", "ohm", "Gerischer resistance"),
                _p("t_G", "s", "Gerischer time constant"),
                _p("phi", "", "finite-length factor (thickness / utilisation length)")),
               gerischer_finite, gerischer_finite_grad, finite_at_dc=True),
    ElementDef("K", "RC (Voigt) element", "Z = R / (1 + j w tau)", "impedance.py K (lin-KK)",
               (_p("R", "ohm", "resistance"), _p("tau", "s", "time constant R*C")),
               voigt, voigt_grad, finite_at_dc=True),
    ElementDef("Zarc", "ZARC (R||CPE, Cole-Cole)", "Z = R / (1 + (j w tau)^gamma)",
               "impedance.py Zarc",
               (_p("R", "ohm", "resistance"), _p("tau", "s", "time constant"),
                _p("gamma", "", "dispersion exponent (1 = ideal RC)", _EXP, False)),
               zarc, zarc_grad, finite_at_dc=True),
    ElementDef("TLMQ", "transmission line with CPE interface",
               "Z = sqrt(Rion Zs) coth(sqrt(Rion/Zs)), Zs = 1/(Qs (j w)^gamma)",
               "Landesfeind et al., J. Electrochem. Soc. 163 (2016) A1373, eq. 11",
               (_p("Rion", "ohm", "ionic (pore) resistance"),
                _p("Qs", "S*s^n", "interface CPE coefficient"),
                _p("gamma", "", "interface CPE exponent", _EXP, False)),
               tlmq, tlmq_grad),
    ElementDef("T", "macrohomogeneous porous electrode",
               "Z = A coth(beta)/beta + B/(beta sinh(beta)), beta = sqrt(a + j w b)",
               "Paasch, Micka & Gersdorf, Electrochim. Acta 38 (1993) 2653",
               (_p("A", "ohm", "A = d (rho1^2 + rho2^2)/(rho1 + rho2) over the electrode area"),
                _p("B", "ohm", "B = d 2 rho1 rho2/(rho1 + rho2) over the electrode area"),
                _p("a", "", "a = k d^2 / K"),  # spans decades (0.01-100): moved in log space
                _p("b", "s", "b = d^2 / K")),
               paasch, paasch_grad),
)

#: Read-only mapping kind -> :class:`ElementDef` of every element eisfit knows.
ELEMENTS: Mapping[str, ElementDef] = MappingProxyType({d.kind: d for d in _DEFS})

#: Elements that are an arc by themselves: resistance ``<name>_0`` (ohm), time constant ``<name>_1`` (s).
ELEMENT_ARC_KINDS = ("Zarc", "K")
#: Warburg (diffusion) elements: semi-infinite W (Aw, ohm*s^-1/2), finite Wo and Ws (Z0 ohm, tau s).
WARBURG_KINDS = ("W", "Wo", "Ws")
#: A finite-length Gerischer (Gs) whose phi exceeds this is a plain Gerischer to 1e-8
#: (tanh(10) = 1 - 4e-9): no data tell phi there.
GS_PHI_SATURATED = 10.0


def gs_phi_saturated(phi: float) -> bool:
    """Whether a Gs's finite-length factor ``phi`` is beyond ``GS_PHI_SATURATED`` (or not a
    number): the element is a plain Gerischer there."""
    return not phi <= GS_PHI_SATURATED


#: Elements finite at DC with an apex (largest -Z'') of their own that, seen only on its
#: low-frequency side, is an arc's tail: their time constant is their second parameter.
APEX_KINDS = ("G", "Gs", "Ws")
_APEX_GRID = np.logspace(-3, 4, 561)  # omega * tau: 80 points a decade around the element's time constant


def element_apex_hz(kind: str, params) -> float:
    """The frequency (Hz) of the largest -Z'' of an element of ``kind`` (one of
    :data:`APEX_KINDS`) at its parameter values, from a grid of 80 points a decade over
    1e-3 .. 1e4 / (2 pi tau): a Gerischer's at sqrt(3)/(2 pi t_G), a finite-length
    Warburg's at ~2.5/(2 pi tau). nan where a value is not finite, tau is not positive or the
    element overflows at every point of the grid."""
    values = [float(v) for v in params]
    tau = values[1]
    if not (math.isfinite(tau) and tau > 0 and all(math.isfinite(v) for v in values)):
        return math.nan
    omega = _APEX_GRID / tau
    with np.errstate(all="ignore"):
        minus_imag = -ELEMENTS[kind].impedance(omega, *values).imag
    if not np.isfinite(minus_imag).any():  # values that overflow the element everywhere
        return math.nan
    return float(omega[int(np.nanargmax(minus_imag))] / (2.0 * math.pi))
