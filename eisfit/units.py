"""Units as people read them: Ω and Ω·cm², capacitances with an SI prefix (nF, µF).

eisfit stores units as plain ASCII strings (``"ohm"``, ``"ohm*cm2"``, ``"S*s^n"``,
``"F"``) in results and column names; this module turns them into the one display
style used by every figure, report and notebook view. It imports nothing from eisfit.
"""
from __future__ import annotations

import math
import warnings
from typing import Iterable

from ._caller import user_stacklevel

__all__ = ["pretty_unit", "si_scale", "format_value", "KELVIN_AT_0C", "EVOLUTION_AXIS_LABELS",
           "LOWEST_PLAUSIBLE_K", "CelsiusAsKelvinWarning", "warn_if_celsius_as_kelvin", "celsius_as_kelvin_note"]

KELVIN_AT_0C = 273.15  # T/K = t/°C + 273.15
LOWEST_PLAUSIBLE_K = 100.0
"""Temperatures in K of which the lowest is below this look like degrees Celsius entered as
kelvin: impedance of battery materials and solid electrolytes is measured down to ~100-170 K
(cryogenic EIS), essentially never below, while a campaign in °C nearly always holds a value
near room temperature: 25-85 °C given as ``temperature_K`` reads 25-85 K, and 25-120 °C (RT to
120 °C, a common garnet range) 25-120 K, which had passed a rule on the highest value
(Ea 0.013 eV for 0.40, silently). A series in °C starting at 100 °C or above, and plausible
kelvin, are not told apart: not flagged."""


class CelsiusAsKelvinWarning(UserWarning):
    """Temperatures given in K that look like degrees Celsius (:func:`warn_if_celsius_as_kelvin`)."""


CELSIUS_FIX_CAMPAIGN = "give them as temperature_C"


def celsius_as_kelvin_note(temperatures_K: Iterable[float], where: str, fix: str = CELSIUS_FIX_CAMPAIGN) -> str:
    """The words of :func:`warn_if_celsius_as_kelvin` when the lowest finite, positive
    temperature of ``temperatures_K`` (K) is below :data:`LOWEST_PLAUSIBLE_K` (they look like
    degrees Celsius given as kelvin), else "": for the outputs that carry it (the note of an
    Arrhenius table's rows, a joint fit's law lines), the one rule and the one text."""
    values = [float(t) for t in temperatures_K if t is not None]
    values = [t for t in values if math.isfinite(t) and t > 0]
    if not values or min(values) >= LOWEST_PLAUSIBLE_K:
        return ""
    low, high = min(values), max(values)
    kelvin = f"{low:g} K" if low == high else f"{low:g} … {high:g} K"
    celsius = (f"{low - KELVIN_AT_0C:.1f} °C" if low == high
               else f"{low - KELVIN_AT_0C:.1f} … {high - KELVIN_AT_0C:.1f} °C")
    below = "all below" if high < LOWEST_PLAUSIBLE_K else "the lowest below"
    return (f"{where} = {kelvin} (that is {celsius}), {below} {LOWEST_PLAUSIBLE_K:g} K: they look like "
            f"degrees Celsius; if they are, {fix} (K = °C + 273.15)")


def warn_if_celsius_as_kelvin(temperatures_K: Iterable[float], where: str, fix: str = CELSIUS_FIX_CAMPAIGN) -> bool:
    """Warn (:class:`CelsiusAsKelvinWarning`) when the lowest finite, positive temperature of
    ``temperatures_K`` (K) is below :data:`LOWEST_PLAUSIBLE_K`: they look like degrees
    Celsius given as kelvin (25-85 "K" made an Arrhenius Ea of 0.0106 eV instead of 0.4 eV,
    25-120 "K" 0.013 eV).
    ``where`` names what gave them (a campaign file and its key, an argument); ``fix`` says
    what to do if they are °C (default: give them as ``temperature_C``). Returns whether it
    warned. Not an error: cryogenic data below 100 K exist; the values are used as given.
    The words: :func:`celsius_as_kelvin_note`."""
    note = celsius_as_kelvin_note(temperatures_K, where, fix)
    if note:
        warnings.warn(note, CelsiusAsKelvinWarning, stacklevel=user_stacklevel())
    return bool(note)


# the axis label of each campaign evolution axis (a temperature series is told in °C, as its headline lines)
EVOLUTION_AXIS_LABELS = {"time_h": "time / h", "cycle": "cycle", "capacity_mAh_cm2": "capacity / mAh cm⁻²",
                         "temperature_K": "temperature / °C", "dc_potential_V": "E dc / V"}

# plain unit (first word of a units entry) -> display form
_PRETTY = {
    "ohm": "Ω",
    "ohm*cm2": "Ω·cm²",
    "S*s^n": "S·sⁿ",
    "S*s^0.5": "S·s^½",
    "ohm*s^-0.5": "Ω·s^-½",
    "F": "F",
    "F/cm2": "F/cm²",
    "H": "H",
    "s": "s",
    "Hz": "Hz",
    "S/cm": "S/cm",
    "": "",
}

_PREFIXES = ((1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, ""),
             (1e3, "k"), (1e6, "M"), (1e9, "G"))
# units that read better with an SI prefix than with a power of ten
_PREFIXABLE = ("F", "F/cm²", "H", "s", "S/cm", "S·sⁿ", "Hz")
_OHM_UNITS = ("Ω", "Ω·cm²")  # prefixed on plot axes only (si_scale(..., prefix_ohm=True))


def pretty_unit(unit: str | None) -> str:
    """Display form of a plain unit string: ``"ohm*cm2 (per cell, R*A)"`` -> ``"Ω·cm² (per cell, R·A)"``.

    The first word is the unit; a parenthesised explanation after it is kept, with
    ``ohm`` and ``*`` rewritten the same way.
    """
    if not unit:
        return ""
    head, _, rest = unit.partition(" ")
    out = _PRETTY.get(head, head.replace("ohm", "Ω").replace("*", "·").replace("cm2", "cm²"))
    if rest:
        out += " " + rest.replace("ohm*cm2", "Ω·cm²").replace("ohm", "Ω").replace("*", "·")
    return out


def si_scale(values: Iterable[float] | float, unit: str, *, prefix_ohm: bool = False) -> tuple[float, str]:
    """(factor, prefixed unit) to show ``values`` (in ``unit``) with an SI prefix.

    ``value / factor`` is the number to show in the prefixed unit, e.g. capacitances
    around 3e-7 F give (1e-6, "µF"). Units that do not take a prefix (Ω, Ω·cm², Hz,
    dimensionless) come back with factor 1. The prefix is chosen from the largest finite
    magnitude, so that every value of an axis or a column reads >= 0.001 in it.
    ``prefix_ohm``: Ω and Ω·cm² take one too, for plot axes, from 10 kΩ on (numbers of
    1-9999: 5000 Ω stays Ω) and below 1 Ω (mΩ): a 20 MΩ arc read "1e7" above a matplotlib
    offset; tables and texts keep Ω.
    """
    unit = pretty_unit(unit)
    ohm = prefix_ohm and unit in _OHM_UNITS
    if unit not in _PREFIXABLE and not ohm:
        return 1.0, unit
    vals = [abs(float(v)) for v in (values if isinstance(values, Iterable) else [values])]
    vals = [v for v in vals if math.isfinite(v) and v > 0]
    if not vals:
        return 1.0, unit
    top = max(vals)
    if ohm:
        for f, p in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m")):
            if top >= (10.0 * f if f > 1.0 else f):
                return f, p + unit
        return 1e-3, "m" + unit
    factor, prefix = _PREFIXES[0]
    for f, p in _PREFIXES:
        if top >= f:
            factor, prefix = f, p
    return factor, prefix + unit


def format_value(value: float | None, stderr: float | None = None, unit: str = "", digits: int = 4) -> str:
    """``"117.3 ± 0.36 Ω·cm²"`` / ``"482 ± 3 nF"``: value, 1 stderr and unit with an SI prefix
    where it helps; ``nan`` for a missing value, no ``±`` part when ``stderr`` is None, and
    ``"117.3 Ω·cm² (stderr unknown)"`` when it is not finite (not "± nan")."""
    if value is None or not math.isfinite(float(value)):
        return "nan"
    # the prefix of the value as shown: 999999 Hz to 4 digits is 1 MHz, not '1000 kHz'
    factor, shown_unit = si_scale([float(f"{float(value):.{digits}g}")], unit)
    text = f"{value / factor:.{digits}g}"
    unknown = stderr is not None and not math.isfinite(float(stderr))
    if stderr is not None and not unknown:
        text += f" ± {stderr / factor:.2g}"
    return f"{text} {shown_unit}".rstrip() + (" (stderr unknown)" if unknown else "")


def format_frequency(f_Hz: float, digits: int = 4) -> str:
    """A frequency as people write it: ``"1 MHz"``, ``"14.45 kHz"``, ``"177.8 Hz"``,
    ``"133.4 mHz"`` (``digits`` significant digits; :func:`format_value` in Hz)."""
    return format_value(f_Hz, None, "Hz", digits)


def plain_number(value: float, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits as a person types it on a command line or
    in a campaign file: ``21150`` rather than ``2.115e+04``, ``0.1333``; exponent notation
    only below 1e-4 or from 1e7 on."""
    rounded = float(f"{float(value):.{digits}g}")
    if rounded != 0 and not 1e-4 <= abs(rounded) < 1e7:
        return f"{rounded:.{digits}g}"
    text = f"{rounded:.10f}".rstrip("0").rstrip(".")
    return text or "0"
