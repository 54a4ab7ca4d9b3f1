"""The one data type every reader returns and every analysis takes."""
from __future__ import annotations

import os
import warnings
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ._caller import user_stacklevel
from ._checks import positive_number
from ._sign import capacitive_sign, mixed_sign_ranges
from ._sweeps import describe_out_of_order, repeated_frequencies, sweep_parts
from .errors import DataError, DataWarning, FitError

__all__ = ["Spectrum", "as_spectrum", "require_distinct_frequencies", "not_a_spectrum_hint", "AREA_SPECIFIC_UNIT",
           "DIVIDED_BY_AREA_KEY", "EXCLUDE_RTOL", "frequencies_to_exclude", "shared_grid", "padded_points",
           "require_capacitive_negative", "points_spectrum", "share_equal_arrays", "warn_if_no_imaginary_part",
           "require_nonzero_impedance", "ZERO_IMPEDANCE_SHARE"]

AREA_SPECIFIC_UNIT = "ohm*cm2"  # meta["impedance_unit"] of a spectrum whose file gave Z per area
DIVIDED_BY_AREA_KEY = "impedance_per_area_divided_by_cm2"  # meta: the area (cm2) such a spectrum was divided by
EXCLUDE_RTOL = 0.01  # Spectrum.exclude: a frequency names the points within 1 % of it (files write 49.998 for 50 Hz)


class Spectrum:
    """One impedance sweep.

    Parameters
    ----------
    frequency : 1-D array of real numbers, Hz, in file order (ascending or descending);
        a complex array is accepted only with every imaginary part 0. One sweep: several
        sweeps in one array raise :class:`~eisfit.DataError`; points out of sweep order or
        at a repeated frequency are kept with a :class:`~eisfit.DataWarning`
        (:func:`eisfit.spectrum.check_sweep_order`).
    z : 1-D array of complex, ohm, ``Z = Z' + jZ''`` with ``Z'' < 0`` for capacitive
        behaviour, whatever the convention of the source file. Several sweeps are
        several spectra: a 2-D array raises :class:`~eisfit.DataError`. Arrays that look
        like -Z'' (:func:`eisfit.spectrum.require_capacitive_negative`) are refused by fit, kk_test, drt and
        suggest_circuit unless ``meta`` states ``{"imag_sign": "negative"}``. A z with no
        imaginary part at any point (a real array: Z' or |Z| alone) is taken with a
        :class:`~eisfit.DataWarning` (:func:`eisfit.spectrum.warn_if_no_imaginary_part`).
    meta : mapping (or None) of metadata (source path, format, technique, sweep index,
        start time, electrode area and unit, instrument/software version...).
        ``meta["impedance_unit"] == "ohm*cm2"`` marks a spectrum whose file gave the
        impedance per area (its z values are then ohm*cm2): :meth:`in_ohm` divides
        it by the electrode area, which :func:`eisfit.fit` asks for.
    columns : optional extra per-point columns (``Ewe/V``, ``time/s``...),
        each an array of the same length as ``frequency``.
    mask : optional boolean selection of points. A masked spectrum keeps the
        original points: :attr:`original` gives them back.

    A ``Spectrum`` is immutable: :meth:`crop`, :meth:`drop_inductive` and
    :meth:`select` return new spectra sharing the original arrays.
    """

    __slots__ = ("_frequency", "_z", "_mask", "_all_selected", "meta", "_columns")

    def __init__(
        self,
        frequency: Any,
        z: Any,
        meta: Mapping[str, Any] | None = None,
        *,
        columns: Mapping[str, Any] | None = None,
        mask: Any = None,
    ):
        self._set_checked(frequency, z, meta, columns, mask)
        check_sweep_order(self)
        warn_if_no_imaginary_part(self)

    @classmethod
    def _unwarned(cls, frequency: Any, z: Any, meta: Mapping[str, Any] | None = None, *,
                  columns: Mapping[str, Any] | None = None, mask: Any = None) -> "Spectrum":
        """A spectrum checked as :class:`Spectrum` checks one, without the warnings about the
        data: for points eisfit already holds (a selection of a spectrum, a fit's points),
        whose caller was warned when they came in."""
        new = cls.__new__(cls)
        new._set_checked(frequency, z, meta, columns, mask)
        return new

    def _set_checked(self, frequency: Any, z: Any, meta: Mapping[str, Any] | None,
                     columns: Mapping[str, Any] | None, mask: Any) -> None:
        """Check the arguments of :class:`Spectrum` (DataError) and hold them."""
        if meta is not None and not isinstance(meta, Mapping):
            raise DataError(f"meta must be a mapping such as {{'source': 'cell.mpr'}} or None, "
                            f"got {type(meta).__name__}")
        source = (meta or {}).get("source")
        where = f"{source}: " if source else ""
        try:
            f = _real_frequencies(frequency, where)
            zz = np.array(z, dtype=complex)
        except DataError:
            raise
        except (TypeError, ValueError) as exc:
            raise DataError(f"{where}frequency (Hz) and z (ohm) must be arrays of numbers: {exc}") from None
        for name, values in (("frequency", f), ("z", zz)):
            if values.ndim > 1:
                hint = (f"pass np.ravel({name}) if it holds one sweep" if values.size == max(values.shape)
                        else "make one Spectrum per row, e.g. [Spectrum(f, z) for f, z in zip(frequency, z)]")
                raise DataError(f"{where}{name} must be one sweep (a 1-D array), got a {values.ndim}-D array of "
                                f"shape {values.shape}; {hint}")
        f, zz = f.reshape(-1), zz.reshape(-1)
        if f.shape != zz.shape:
            raise DataError(f"{where}frequency has {f.size} points but z has {zz.size}")
        if f.size == 0:
            raise DataError(f"{where}spectrum has no points")
        if not np.all(np.isfinite(f)) or np.any(f <= 0):
            raise DataError(f"{where}frequencies must be finite and > 0 Hz")
        if not np.all(np.isfinite(zz)):
            raise DataError(f"{where}impedance contains NaN or infinite values")
        if not np.any(zz):
            raise DataError(f"{where}impedance is 0 at every point: no measurement")
        f.flags.writeable = False
        zz.flags.writeable = False
        cols: dict[str, np.ndarray] = {}
        for name, values in (columns or {}).items():
            arr = np.asarray(values).reshape(-1)
            if arr.size != f.size:
                raise DataError(f"{where}column {name!r} has {arr.size} values, expected {f.size}")
            cols[str(name)] = arr
        if mask is None:
            m = np.ones(f.size, dtype=bool)
        else:
            m = np.array(mask, dtype=bool).reshape(-1)
            if m.size != f.size:
                raise DataError(f"{where}mask has {m.size} values, expected {f.size}")
            if not m.any():
                raise DataError(f"{where}the selection leaves no points")
        m.flags.writeable = False
        self._frequency = f
        self._z = zz
        self._mask = m
        self._all_selected = bool(m.all())
        self._columns = cols
        self.meta: dict[str, Any] = dict(meta or {})

    # -- data (masked) -------------------------------------------------
    @property
    def frequency(self) -> np.ndarray:
        """Frequencies of the selected points, Hz (read-only)."""
        return self._frequency if self._all_selected else self._read_only(self._frequency[self._mask])

    @property
    def z(self) -> np.ndarray:
        """Complex impedance of the selected points, ohm (Z'' < 0 capacitive; read-only)."""
        return self._z if self._all_selected else self._read_only(self._z[self._mask])

    @staticmethod
    def _read_only(values: np.ndarray) -> np.ndarray:
        values.flags.writeable = False
        return values

    @property
    def omega(self) -> np.ndarray:
        """Angular frequency 2*pi*f, rad/s."""
        return 2.0 * np.pi * self.frequency

    @property
    def z_real(self) -> np.ndarray:
        """Z', ohm."""
        return self.z.real

    @property
    def z_imag(self) -> np.ndarray:
        """Z'', ohm (negative for capacitive behaviour)."""
        return self.z.imag

    @property
    def modulus(self) -> np.ndarray:
        """|Z|, ohm."""
        return np.abs(self.z)

    @property
    def phase_deg(self) -> np.ndarray:
        """Phase of Z, degrees (negative for capacitive behaviour)."""
        return np.degrees(np.angle(self.z))

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """Extra per-point columns of the selected points."""
        return {k: v[self._mask] for k, v in self._columns.items()}

    @property
    def mask(self) -> np.ndarray:
        """Boolean selection over the original points."""
        return self._mask

    def __len__(self) -> int:
        return int(self._mask.sum())

    @property
    def n_points(self) -> int:
        """Number of selected points."""
        return len(self)

    @property
    def label(self) -> str:
        """A short human-readable name: file name and sweep index."""
        if "label" in self.meta:
            return str(self.meta["label"])
        src = self.meta.get("source")
        name = str(src).replace("\\", "/").rsplit("/", 1)[-1] if src else "spectrum"
        sweep = self.meta.get("sweep")
        return f"{name}#{sweep}" if sweep is not None else name

    # -- selections (never lose the original) --------------------------
    @property
    def original(self) -> "Spectrum":
        """The spectrum with every original point selected."""
        return self._with_mask(np.ones(self._frequency.size, dtype=bool))

    def select(self, mask: Any) -> "Spectrum":
        """Keep the selected points among those already selected.

        ``mask`` is a boolean array over the currently selected points.
        """
        m = np.array(mask, dtype=bool).reshape(-1)
        if m.size != len(self):
            raise DataError(f"selection has {m.size} values, expected {len(self)}")
        new = self._mask.copy()
        new[np.flatnonzero(self._mask)] = m
        return self._with_mask(new)

    def crop(self, fmin: float | None = None, fmax: float | None = None) -> "Spectrum":
        """Keep points with ``fmin <= f <= fmax`` (Hz; None = no limit)."""
        for name, value in (("fmin", fmin), ("fmax", fmax)):
            if value is not None and not (isinstance(value, (int, float, np.integer, np.floating))
                                          and not isinstance(value, bool) and np.isfinite(value)):
                raise DataError(f"{name} must be a frequency in Hz (a number) or None, got {value!r}")
        f = self.frequency
        keep = np.ones(f.size, dtype=bool)
        if fmin is not None:
            keep &= f >= fmin
        if fmax is not None:
            keep &= f <= fmax
        if not keep.any():
            window = " .. ".join(f"{name} {v:g} Hz" for name, v in (("fmin", fmin), ("fmax", fmax)) if v is not None)
            raise DataError(f"{window} leaves no point: the data span {f.min():g}-{f.max():g} Hz")
        return self.select(keep)

    def exclude(self, frequencies_Hz: Any, rtol: float = EXCLUDE_RTOL) -> "Spectrum":
        """Leave out the points at the given frequencies (Hz), e.g. an outlier that the
        Lin-KK test names (``KKResult.outliers_Hz``, the ``kk-outlier`` flag) or mains
        pick-up at 50 Hz.

        Each frequency leaves out every selected point within ``rtol`` (relative) of it;
        a frequency with no such point raises :class:`~eisfit.DataError` naming the
        nearest point, so that a mistyped value is never silently ignored."""
        targets = frequencies_to_exclude(frequencies_Hz)
        f = self.frequency
        keep = np.ones(f.size, dtype=bool)
        for target in targets:
            near = np.abs(f / target - 1.0) <= rtol
            if not near.any():
                nearest = f[np.argmin(np.abs(np.log(f / target)))] if f.size else float("nan")
                raise DataError(f"{self.label}: no point within {100 * rtol:g} % of {target:g} Hz to exclude "
                                f"(the nearest is at {nearest:.6g} Hz)")
            keep &= ~near
        return self.select(keep)

    def restrict(self, fmin: float | None = None, fmax: float | None = None, exclude_hz: Any = ()) -> "Spectrum":
        """The points that the options ``fmin``/``fmax``/``exclude_hz`` (Hz) of
        :func:`eisfit.fit` keep: :meth:`crop`, then :meth:`exclude` (the same errors);
        this spectrum itself when none is given."""
        data = self.crop(fmin, fmax) if (fmin is not None or fmax is not None) else self
        return data.exclude(exclude_hz) if frequencies_to_exclude(exclude_hz) else data

    def drop_inductive(self) -> "Spectrum":
        """Drop points with Z'' > 0 (inductive, usually cable artefacts at high frequency)."""
        return self.select(self.z.imag <= 0)

    def _with_mask(self, mask: np.ndarray) -> "Spectrum":
        return Spectrum._unwarned(self._frequency, self._z, self.meta, columns=self._columns, mask=mask)

    def only_columns(self, keep: Callable[[str], bool]) -> "Spectrum":
        """The same spectrum (points, selection, a copy of its meta) holding only the per-point
        columns whose names ``keep`` accepts; this spectrum itself when it holds no other. The
        points and the selection are this spectrum's own read-only arrays, already checked (not
        checked and copied again)."""
        kept = {name: values for name, values in self._columns.items() if keep(name)}
        if len(kept) == len(self._columns):
            return self
        new = Spectrum.__new__(Spectrum)
        new._frequency, new._z, new._mask, new._all_selected = self._frequency, self._z, self._mask, self._all_selected
        new._columns = kept
        new.meta = dict(self.meta)
        return new

    def with_meta(self, **updates: Any) -> "Spectrum":
        """A copy with metadata entries added or replaced."""
        meta = dict(self.meta)
        meta.update(updates)
        return Spectrum._unwarned(self._frequency, self._z, meta, columns=self._columns, mask=self._mask)

    @property
    def area_specific(self) -> bool:
        """True when z holds ohm*cm2 (the file gave the impedance per area), not ohm."""
        return self.meta.get("impedance_unit") == AREA_SPECIFIC_UNIT

    def in_ohm(self, area_cm2: float) -> "Spectrum":
        """The spectrum in ohm: an area-specific one (:attr:`area_specific`) divided by the
        electrode area ``area_cm2`` (cm2); a spectrum in ohm is returned as it is."""
        if not self.area_specific:
            return self
        positive_number(f"{self.label}: the electrode area (cm2)", area_cm2, DataError)
        meta = {**self.meta, "impedance_unit": "ohm", DIVIDED_BY_AREA_KEY: float(area_cm2)}
        return Spectrum._unwarned(self._frequency, self._z / area_cm2, meta, columns=self._columns, mask=self._mask)

    # -- conversion ------------------------------------------------------
    def to_dataframe(self):
        """Selected points as a pandas DataFrame with unit-suffixed columns (``z_real_ohm``...,
        ``z_real_ohm_cm2``... for an :attr:`area_specific` spectrum)."""
        import pandas as pd

        unit = "ohm_cm2" if self.area_specific else "ohm"
        data = {
            "frequency_Hz": self.frequency,
            f"z_real_{unit}": self.z.real,
            f"z_imag_{unit}": self.z.imag,
            f"z_modulus_{unit}": self.modulus,
            "phase_deg": self.phase_deg,
        }
        for k, v in self.columns.items():
            data[k] = v
        return pd.DataFrame(data)

    def __repr__(self) -> str:
        f = self.frequency
        label = self.label if len(self.label) <= 200 else self.label[:197] + "..."
        return (
            f"Spectrum({label!r}, {len(self)} points, "
            f"{f.min():.4g}-{f.max():.4g} Hz)"
        )

    def _repr_html_(self) -> str:
        """Notebook view: points, frequency range (Hz), Z' and -Z'' ranges (Ω), main metadata."""
        from ._html import escape, html_table

        f, z = self.frequency, self.z
        rows = [
            ("points", f"{len(self)}" + (f" of {self._frequency.size}" if len(self) < self._frequency.size else ""), ""),
            ("frequency", f"{f.min():.4g} – {f.max():.4g}", "Hz"),
            ("Z'", f"{z.real.min():.4g} – {z.real.max():.4g}", "Ω"),
            ("−Z''", f"{(-z.imag).min():.4g} – {(-z.imag).max():.4g}", "Ω"),
            ("|Z|", f"{np.abs(z).min():.4g} – {np.abs(z).max():.4g}", "Ω"),
        ]
        for key in ("source", "format", "technique", "sweep", "start_time", "area_cm2"):
            if self.meta.get(key) is not None:
                text = str(self.meta[key])
                rows.append((key, text if len(text) <= 120 else "..." + text[-117:], "cm²" if key == "area_cm2" else ""))
        return (f"<div><b>Spectrum</b> {escape(self.label)}"
                + html_table(("", "value", "unit"), rows, numeric_from=1) + "</div>")


def share_equal_arrays(spectra: Iterable["Spectrum"]) -> None:
    """Have the spectra whose frequencies are equal (bit for bit) hold one read-only array of
    them, and so their selections: the sweeps of a campaign are mostly measured at the same
    frequencies, and each spectrum read from a file had its own copy (10,000 files of 51
    points: ~7 MB the campaign process held to the end, and each worker task's payload
    pickled every copy). The values do not change; only arrays' identity does."""
    frequencies: dict[bytes, np.ndarray] = {}
    masks: dict[bytes, np.ndarray] = {}
    for s in spectra:
        s._frequency = frequencies.setdefault(s._frequency.tobytes(), s._frequency)
        s._mask = masks.setdefault(s._mask.tobytes(), s._mask)


def warn_if_no_imaginary_part(spectrum: "Spectrum") -> bool:
    """Warn (:class:`~eisfit.DataWarning`) when the imaginary part of every point of
    ``spectrum`` is exactly 0, as it is when z was given as a real array: Z' alone, or |Z|
    (a classic mistake; a fit then returns nonsense flagged as model problems). Measured
    data always have some reactance. Returns whether it warned."""
    if np.any(spectrum._z.imag):
        return False
    source = spectrum.meta.get("source")
    warnings.warn(f"{source + ': ' if source else ''}z has no imaginary part: pass Z' + 1j*Z'' "
                  f"(Z'' < 0 capacitive), not Z' or |Z| alone",
                  DataWarning, stacklevel=user_stacklevel())  # at the line that made the Spectrum
    return True


# several sweeps in one array: runs of at least MIN_SWEEP_POINTS points in one direction that
# hold SWEEPS_SHARE of the points (points in random order make short runs)
MIN_SWEEP_POINTS = 5
SWEEPS_SHARE = 0.9


def check_sweep_order(spectrum: "Spectrum") -> None:
    """The frequencies of ``spectrum`` (all its points) as one sweep, ascending or
    descending, as :func:`eisfit.read` splits a file's rows: :class:`~eisfit.DataError`
    where they restart (several sweeps in one array, which a fit would average into one
    set of values no sweep has); a :class:`~eisfit.DataWarning` for points out of sweep
    order or frequencies measured more than once (kept, each fitted as its own point)."""
    f = spectrum._frequency
    source = spectrum.meta.get("source")
    where = f"{source}: " if source else ""
    sweeps, out_of_order = sweep_parts(f)
    long = [s for s in sweeps if len(s) >= MIN_SWEEP_POINTS]
    if len(long) >= 2 and sum(map(len, long)) >= SWEEPS_SHARE * f.size:
        starts = "; ".join(f"point {s[0] + 1}, {f[s[0]]:g} Hz after {f[s[0] - 1]:g} Hz" for s in sweeps[1:4])
        raise DataError(f"{where}{len(sweeps)} sweeps in one array (a new sweep starts at {starts}"
                        f"{' ...' if len(sweeps) > 4 else ''}): a fit would average them into values no sweep has; "
                        f"make one Spectrum per sweep (eisfit.read splits a file's sweeps where the frequency "
                        f"restarts or turns)")
    notes = []
    if len(sweeps) > 1:
        notes.append(f"the frequencies change direction {len(sweeps) - 1} time(s), not one sweep in order")
    elif out_of_order:
        shown = describe_out_of_order(f, sweeps, out_of_order, name_sweeps=False)
        notes.append(f"{len(out_of_order)} point(s) out of sweep order ({shown})")
    repeated = repeated_frequencies(f)
    if repeated.size:
        shown = ", ".join(f"{v:g}" for v in repeated[:5]) + (" ..." if repeated.size > 5 else "")
        notes.append(f"{repeated.size} frequenc{'y' if repeated.size == 1 else 'ies'} measured more than once "
                     f"({shown} Hz)")
    if notes:
        warnings.warn(f"{where}{'; '.join(notes)}: the points are kept, each fitted as its own measurement; "
                      f"if they come from several sweeps, make one Spectrum per sweep", DataWarning,
                      stacklevel=user_stacklevel())


def _real_frequencies(frequency: Any, where: str) -> np.ndarray:
    """``frequency`` as a new float array (Hz). A complex array is accepted only when
    every imaginary part is 0 (casting would otherwise drop them silently): DataError."""
    values = np.asarray(frequency)
    if np.iscomplexobj(values):
        if np.any(values.imag != 0):
            raise DataError(f"{where}frequencies must be real numbers (Hz), got complex values with a non-zero "
                            f"imaginary part at {int(np.count_nonzero(values.imag))} point(s); "
                            f"pass the impedance as z, not as frequency")
        values = values.real
    return np.array(values, dtype=float)


def frequencies_to_exclude(value: Any) -> tuple[float, ...]:
    """``exclude_hz`` (one frequency or several, Hz; None = none) as a tuple of positive
    numbers; :class:`~eisfit.FitError` on anything else."""
    if value is None:
        return ()
    values = [value] if isinstance(value, (int, float, np.integer, np.floating)) else value
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise FitError(f"exclude_hz must be a frequency or a list of frequencies (Hz), got {value!r}")
    out = []
    for v in values:
        ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        if not (ok and np.isfinite(v) and v > 0):
            raise FitError(f"exclude_hz: frequencies must be positive numbers (Hz), got {v!r}")
        out.append(float(v))
    return tuple(out)


def as_spectrum(data: Any, purpose: str) -> "Spectrum":
    """``data`` as a Spectrum: a Spectrum itself, or a ``(frequency_Hz, z_ohm)`` tuple of
    arrays (Z'' < 0 capacitive). ``purpose`` names the caller in the error (DataError)."""
    if isinstance(data, Spectrum):
        require_capacitive_negative(data)
        return data
    if isinstance(data, tuple) and len(data) == 2:
        spectrum = Spectrum(frequency=data[0], z=data[1], meta={"label": "arrays"})
        require_capacitive_negative(spectrum)
        return spectrum
    what = f"a tuple of {len(data)} items" if isinstance(data, tuple) else type(data).__name__
    raise DataError(f"{purpose} takes a Spectrum or a (frequency_Hz, z_ohm) tuple of arrays, got {what}"
                    f"{not_a_spectrum_hint(data)}")


MIRRORED_CHECK_SHARE = 0.3  # spectra with fewer points above the real axis than this share are not checked


def require_positive_real_part(z: np.ndarray, label: str, model: str) -> None:
    """DataError when Z' (ohm) is nowhere positive: ``model`` (what would have to describe
    the points, e.g. "no passive circuit") gives Z' >= 0 at every frequency, so the points
    hold a swapped or negated column, or another convention, more likely than a cell (the
    DRT had come out R_inf = R_pol = 0, a fit R0 = 0 with every element at a bound)."""
    if not np.any(np.asarray(z).real > 0):
        raise DataError(f"{label}: Z' is negative or zero at every frequency: {model} can describe these "
                        "points; check the columns and the sign of Z' (--columns on the command line)")


def require_capacitive_negative(spectrum: "Spectrum") -> None:
    """DataError where a spectrum made from arrays holds -Z'' instead of Z''.

    A reader decides the sign of each file (``meta["format"]``, ``meta["imag_sign"]``); a
    Spectrum built from arrays takes them as given, and -Z'' passed for Z'' would be fitted
    as a mirrored spectrum (its points dropped as inductive, the arcs wrong) with no word
    of it. Where the data's low-frequency end is above the real axis and the arc grows
    toward low frequency there (:func:`eisfit._sign.capacitive_sign`, the readers' rule),
    the sign is wrong. ``meta={"imag_sign": "negative"}`` states the z values are right.
    Where the sign changes over part of the sweep instead (:func:`eisfit._sign.mixed_sign_ranges`:
    no convention gives that), the error names the ranges and says that conjugating would
    not help: those points are refused, and the same meta lets the Lin-KK test judge them.
    """
    meta = spectrum.meta
    if "format" in meta or "imag_sign" in meta:
        return
    z = spectrum.z
    if np.count_nonzero(z.imag > 0) < MIRRORED_CHECK_SHARE * z.size:
        return
    sign, rule = capacitive_sign(spectrum.frequency, z.real, z.imag)
    if sign > 0 and (mixed := mixed_sign_ranges(spectrum.frequency, z.real, z.imag, sign)):
        raise DataError(f"{spectrum.label}: {_mixed_sign_text(mixed)}")
    if sign > 0:
        raise DataError(
            f"{spectrum.label}: the imaginary part looks like -Z'', not Z'' ({rule}); "
            "eisfit.Spectrum takes z = Z' + jZ'' with Z'' < 0 for capacitive points: pass np.conj(z) "
            "(or Z' - 1j * minus_Z''), or meta={'imag_sign': 'negative'} if the values are right as they are")


def _mixed_sign_text(ranges: list[tuple[int, float, float, int]]) -> str:
    """Why a spectrum whose imaginary part changes sign over part of the sweep is refused."""
    from .units import format_frequency

    words = [f"{'> 0' if sign > 0 else '< 0'} at {format_frequency(lo)}"
             + (f" - {format_frequency(hi)}" if hi > lo else "") + f" ({n} point{'s' if n > 1 else ''})"
             for sign, lo, hi, n in ranges]
    shown = "; ".join(words[:4]) + (f"; and {len(words) - 4} more ranges" if len(words) > 4 else "")
    return ("the signs of the imaginary part are mixed: Z'' " + shown + " (points with |Z''| >= 5 % of |Z|). "
            "This is not a sign convention problem: no convention gives a sign that changes over part of the sweep, "
            "and conjugating z (np.conj) would mirror the ranges that are right. The points may be damaged, or "
            "stored with a sign that changes within the sweep; to test them as they are (the Lin-KK test reports "
            "the inconsistency), pass meta={'imag_sign': 'negative'}")


def points_spectrum(frequency: Any, z: Any, label: str | None = None) -> "Spectrum":
    """A spectrum of points eisfit already holds in its own convention (a fit's points, a
    reading of a spectrum's columns to test): its meta states the sign (``imag_sign``), so
    the -Z'' check (:func:`require_capacitive_negative`) does not judge them again (a file
    read with ``imag_sign="positive"`` on the caller's word had been fitted, then refused by
    the Lin-KK band search of the same points)."""
    meta: dict[str, Any] = {"imag_sign": "negative"}
    if label:
        meta["label"] = label
    return Spectrum._unwarned(frequency, z, meta)


def not_a_spectrum_hint(data: Any) -> str:
    """What to do instead, for the two things passed most often where one Spectrum is
    wanted: the list :func:`eisfit.read` returns, and a file path ("" otherwise)."""
    if isinstance(data, (list, tuple)) and data and all(isinstance(s, Spectrum) for s in data):
        return (f" of {len(data)} spectra (eisfit.read gives one per sweep): pass one, e.g. spectra[0], "
                f"or all of them to eisfit.fit_campaign")
    if isinstance(data, (str, os.PathLike)):
        return ": a file path; read it first, e.g. eisfit.read(path)[0]"
    return ""


ZERO_IMPEDANCE_SHARE = 1e-12  # |Z| at most this share of a spectrum's largest |Z| counts as 0: twelve
# decades below it, a range no sweep spans (a pure capacitor would need twelve decades of frequency), where
# 1/|Z| weights and residuals relative to |Z| are no longer numbers (a |Z| of 1e-300 squares to 0)


def require_nonzero_impedance(frequency: Any, z: Any, label: str, why: str,
                              error: type[Exception] = DataError, otherwise: str = "") -> None:
    """``error`` naming the points whose |Z| is 0 (or at most ``ZERO_IMPEDANCE_SHARE`` of the
    largest |Z|: an instrument's drop-out), with their frequencies, where a computation
    divides by |Z| (``why`` says which: a fit's modulus weights, the Lin-KK residuals;
    ``otherwise``: another way out than leaving the points out); nothing otherwise. The one
    check of :func:`eisfit.fit` (FitError, which a campaign reports per checkpoint) and of
    :func:`eisfit.kk_test` / :func:`eisfit.kk_valid_band` (DataError)."""
    from .units import format_frequency, plain_number

    modulus = np.abs(np.asarray(z, dtype=complex))
    if not modulus.size:
        return
    bad = np.flatnonzero(modulus <= ZERO_IMPEDANCE_SHARE * modulus.max())
    if not bad.size:
        return
    at = np.sort(np.asarray(frequency, dtype=float)[bad])
    shown = ", ".join(format_frequency(f) for f in at[:5]) + (f" and {at.size - 5} more" if at.size > 5 else "")
    example = ", ".join(plain_number(f) for f in at[:3])
    raise error(f"{label}: the impedance is 0 at {at.size} point(s) ({shown}): {why}; leave them out "
                f"(exclude_hz=[{example}] in eisfit.fit, Spectrum.exclude([{example}]), --exclude-hz on the "
                f"command line){otherwise}")


def require_distinct_frequencies(spectrum: "Spectrum", needed: int, purpose: str) -> None:
    """DataError unless the selected points span at least ``needed`` distinct frequencies
    (a single-frequency recording is no spectrum to fit or to test)."""
    distinct = np.unique(spectrum.frequency).size
    if distinct < needed:
        raise DataError(f"{spectrum.label}: {purpose} needs at least {needed} distinct frequencies, "
                        f"the points have {distinct}")


def padded_points(values: np.ndarray, n: int, fill: float | None = None) -> np.ndarray:
    """``values`` (N,) extended to ``n`` with ``fill`` (default: copies of its last value, which
    move no smallest or largest value): spectra of fewer points stacked with longer ones."""
    values = np.asarray(values)
    if values.size >= n:
        return values
    return np.concatenate([values, np.full(n - values.size, values[-1] if fill is None else fill, values.dtype)])


def shared_grid(frequencies: Sequence[np.ndarray] | np.ndarray) -> np.ndarray | None:
    """The one frequency grid (Hz) that every row of ``frequencies`` (a list of arrays, or
    an (S, N) array) equals, else None: spectra measured on one grid share one design
    matrix or one model evaluation grid in the batched solvers."""
    if len(frequencies) == 0:
        return None
    first = np.asarray(frequencies[0])
    same = all(f is first or np.array_equal(f, first) for f in frequencies[1:])
    return first if same else None
