"""The result of one fit: an immutable object that carries what produced it."""
from __future__ import annotations

import functools
import json
import math
import operator
import pickle
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import MISSING, FrozenInstanceError, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from .._json import to_jsonable
from ..errors import DataError
from .intervals import with_open_ends_empty

if TYPE_CHECKING:  # annotations only: pandas is imported where used
    import pandas as pd

__all__ = ["FitResult", "Correlations", "ARRAY_KEYS", "NO_POINTS", "SHARED_FIELDS", "NUMBER_FIELDS",
           "share_equal_fields", "shared_fields", "one_of_equal", "fitted_indices", "results_field"]

# the per-point arrays' keys in to_dict (units in the names; Z'' < 0 capacitive, as everywhere)
ARRAY_KEYS = {"frequency": "frequency_Hz", "z_real": "z_real_ohm", "z_imag": "z_imag_ohm",
              "z_fit_real": "z_fit_real_ohm", "z_fit_imag": "z_fit_imag_ohm"}



# a result's per-point arrays, emptied (FitResult.with_fields(**NO_POINTS)): for a receiver that
# holds the spectrum (a campaign's worker results) or draws no point of it (the figure inputs)
NO_POINTS = {"frequency": np.zeros(0), "z": np.zeros(0, complex), "z_fit": np.zeros(0, complex)}


class Correlations(Mapping):
    """The correlation coefficients of the free parameters (dimensionless, -1..1; nan where a
    parameter has no finite variance), read as a dict of dicts: ``correl["R1"]["R2"]``, each
    parameter's dict holding every other free parameter. Kept as one matrix instead of a dict
    per parameter: ~0.6 KB per result instead of ~3.2 KB (seven free parameters), which a
    campaign of 10,000 checkpoints holds once each. Read-only; pickled as its matrix."""

    __slots__ = ("names", "matrix")

    def __init__(self, names: Any, matrix: Any) -> None:
        names = tuple(names)
        matrix = np.array(matrix, dtype=float)  # a copy: nothing outside can change it
        if matrix.shape != (len(names), len(names)):
            raise ValueError(f"a correlation matrix of {len(names)} parameters must be "
                             f"{len(names)} x {len(names)}, got {matrix.shape}")
        matrix[~np.isfinite(matrix)] = math.nan  # an overflow is no correlation
        matrix.setflags(write=False)
        self.names, self.matrix = names, matrix

    @classmethod
    def of_covariance(cls, names: Any, cov: np.ndarray) -> "Correlations":
        """The correlations of the covariance matrix ``cov`` over ``names``: nan where a
        variance is zero, not finite or unknown."""
        with np.errstate(all="ignore"):
            sd = np.sqrt(np.clip(np.diag(cov), 0, None))
            scale = np.outer(sd, sd)
            return cls(names, np.where((scale > 0) & (scale < math.inf), cov / scale, math.nan))

    @classmethod
    def of(cls, nested: Mapping[str, Mapping[str, float]]) -> "Mapping[str, Mapping[str, float]]":
        """``nested`` (a dict of dicts, e.g. read from JSON) as Correlations when it has that
        layout (every parameter's dict names each other parameter once), else as it is."""
        if isinstance(nested, Correlations) or not nested:
            return nested
        names = list(nested)
        index = {n: i for i, n in enumerate(names)}
        matrix = np.eye(len(names))
        for i, n in enumerate(names):
            row = nested[n]
            if len(row) != len(names) - 1 or n in row or not all(m in index for m in row):
                return nested
            for m, v in row.items():
                matrix[i, index[m]] = math.nan if v is None else float(v)
        return cls(names, matrix)

    def over(self, names: Any) -> np.ndarray:
        """The matrix over ``names`` in that order: 1 on the diagonal, nan for a name that is
        not a free parameter here."""
        names = tuple(names)
        if names == self.names:  # its own order (a campaign's relabelled results)
            out = self.matrix.copy()
            np.fill_diagonal(out, 1.0)
            return out
        index = {n: i for i, n in enumerate(self.names)}
        at = np.array([index.get(n, -1) for n in names], dtype=int)
        known = at >= 0
        out = np.full((len(at), len(at)), math.nan)
        out[np.ix_(known, known)] = self.matrix[np.ix_(at[known], at[known])]
        np.fill_diagonal(out, 1.0)
        return out

    def __getitem__(self, name: str) -> dict[str, float]:
        try:
            i = self.names.index(name)
        except ValueError:
            raise KeyError(name) from None
        return {m: v for j, (m, v) in enumerate(zip(self.names, self.matrix[i].tolist())) if j != i}

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __reduce__(self):
        return Correlations, (self.names, self.matrix)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


def _json_float(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _json_numbers(numbers: Mapping[str, float], hidden: set[str]) -> dict[str, float | None]:
    """``numbers`` (name -> value) as JSON-safe floats: None where not finite or ``hidden``.
    All finite and none hidden (most results) in one pass over the values."""
    values = list(map(float, numbers.values()))
    if not hidden and math.isfinite(sum(values)):  # a sum that overflows takes the careful way
        return dict(zip(numbers, values))
    return {k: None if k in hidden else _json_float(x) for k, x in zip(numbers, values)}


def _json_correlations(correl: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float | None]]:
    """The correlations as a JSON-safe dict of dicts (None where not finite), read from a
    :class:`Correlations` matrix at once."""
    if not isinstance(correl, Correlations):
        return {k: {k2: _json_float(x) for k2, x in d.items()} for k, d in correl.items()}
    names, rows = correl.names, correl.matrix.tolist()
    if not np.isfinite(correl.matrix).all():
        rows = [[x if math.isfinite(x) else None for x in row] for row in rows]
    return {n: {m: x for j, (m, x) in enumerate(zip(names, row)) if j != i}
            for i, (n, row) in enumerate(zip(names, rows))}


def _from_json_float(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _bounds_from_json(bounds: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """(lower, upper) by parameter from JSON, where an infinite bound was written as None."""
    return {name: (-math.inf if lo is None else float(lo), math.inf if hi is None else float(hi))
            for name, (lo, hi) in bounds.items()}


@dataclass(frozen=True, slots=True)
class FitResult:
    """Outcome of :func:`eisfit.fit`.

    Parameter values use impedance.py's names (``R0``, ``CPE1_0`` = Q in S*s^n,
    ``CPE1_1`` = n, ...); units are in :attr:`units`. ``stderr`` is nan where it
    cannot be estimated (parameter fixed or tied by ``expr``, singular covariance); a
    parameter on a bound (flag ``at-bound``) keeps the error of the curvature there, which
    describes the side away from the bound only. ``correl`` holds the correlation
    coefficients of the free parameters, ``correl["R1"]["R2"]``
    (:class:`~eisfit.fitting.result.Correlations`, read as a dict of dicts; {} without a
    covariance).

    Statistics (all with the weighting in ``settings["weighting"]``):
    ``chisq`` = sum of squared weighted residuals over 2N real numbers;
    ``redchi`` = chisq / (2N - M); ``pseudo_chisq`` = Boukamp's sum |Z-Zfit|^2/|Z|^2;
    ``aic`` = 2N ln(chisq/2N) + 2M; ``bic`` = 2N ln(chisq/2N) + M ln(2N); M = free parameters.

    ``stderr`` comes from the covariance s^2 (J^T J)^-1, except for arc resistances flagged
    ``profile-stderr:<name>``: there the covariance error was too narrow for the chi-square
    surface (overlapping or collapsed arcs) and the error implied by the profile likelihood
    is reported instead: max(1-sigma half-width, 3-sigma half-width / 3), the wider side.
    ``intervals`` holds the profile intervals by parameter (``lower_1sigma``,
    ``upper_1sigma``, ``lower_3sigma``, ``upper_3sigma`` in the parameter's unit,
    ``open_lower``/``open_upper`` when the walk ended before the 3-sigma level,
    ``open_lower_1sigma``/``open_upper_1sigma`` before the 1-sigma level; an open end is None:
    the data give no number there; see :mod:`eisfit.fitting.profile` and
    :func:`~eisfit.fitting.intervals.interval_end`).
    Where the 3-sigma interval is open upwards (flag ``profile-open:<name>``: the data bound
    the parameter below only) ``stderr`` is nan (None in JSON, empty in tables), and so are
    the stderr of the derived quantities that depend on it and its correlations: where the
    walk stopped (1000x the value) is no bound, and the error it implied, 333x the value,
    described the walk, not the data. The lower bounds stay in ``intervals``; :meth:`summary`
    prints ``> lower_3sigma`` with the 1-sigma interval. A derived quantity computed from such
    a parameter alone (its ASR, a conductivity) has its interval there too, under its key, the
    parameter's carried through it (:func:`~eisfit.fitting.intervals.interval_through`): an ASR
    bounded below only (``> lower_3sigma``), a conductivity L/(R*A) above only (``< upper_3sigma``).
    An exponent flagged ``stderr-spans-range:<name>`` (value +- stderr covers half
    of its 0-1 range or more) keeps its value and stderr here and reads 'undetermined' in
    reports and figures.

    ``kk_valid_band`` is None unless :meth:`with_kk_valid_band` looked for the band on which
    points that fail the Lin-KK test pass (``eisfit fit`` always does: its terminal line,
    JSON and ``fits.csv`` columns ``kk_valid_*``); see :func:`eisfit.fitting.kk_band.kk_band_record`.
    ``suggestion`` is the :class:`~eisfit.selection.CircuitSuggestion` behind a fit with
    ``circuit="auto"`` (None otherwise; not part of :meth:`to_dict`).

    The fields are slots: a result holds no per-instance dict (35 fields were a 1.6 KB dict
    each, more than CPython shares between instances; a campaign of 10,000 checkpoints
    keeps ~30 MB less).
    """

    circuit: str
    circuit_name: str
    param_names: list[str]
    values: dict[str, float]
    stderr: dict[str, float]
    units: dict[str, str]
    fixed: list[str]
    correl: Mapping[str, Mapping[str, float]]  # Correlations (a dict of dicts where read from elsewhere)
    chisq: float
    redchi: float
    pseudo_chisq: float
    aic: float
    bic: float
    n_points: int
    n_free: int
    success: bool
    message: str
    flags: list[str]
    derived: dict[str, float]
    derived_units: dict[str, str]
    roles: dict[str, str]
    settings: dict[str, Any]
    frequency: np.ndarray = field(repr=False)
    z: np.ndarray = field(repr=False)
    z_fit: np.ndarray = field(repr=False)
    source: str | None = None
    sweep: int | None = None
    label: str | None = None
    kk_passed: bool | None = None
    kk_max_residual_pct: float | None = None
    start: str = "auto"
    n_starts: int = 0
    start_won: str = ""  # the start the optimum came from ("guess", "initial", "seed", "grid:<k>", "repair:...", ...)
    intervals: dict[str, dict[str, Any]] = field(default_factory=dict)
    kk_valid_band: dict[str, Any] | None = None  # set by with_kk_valid_band() (eisfit fit does); see kk_band.py
    suggestion: Any = field(default=None, repr=False, compare=False)  # fit(circuit="auto"): not in to_dict()

    # -- convenience ------------------------------------------------------
    @property
    def dof(self) -> int:
        """Degrees of freedom 2N - M."""
        return 2 * self.n_points - self.n_free

    @property
    def residuals_real(self) -> np.ndarray:
        """(Z' - Zfit') / |Z| per point (fraction)."""
        return (self.z.real - self.z_fit.real) / np.abs(self.z)

    @property
    def residuals_imag(self) -> np.ndarray:
        """(Z'' - Zfit'') / |Z| per point (fraction)."""
        return (self.z.imag - self.z_fit.imag) / np.abs(self.z)

    @property
    def rms_relative_error_pct(self) -> float:
        """RMS of the relative residuals, % of |Z|."""
        r = np.concatenate([self.residuals_real, self.residuals_imag])
        return float(100.0 * np.sqrt(np.mean(r * r)))

    @property
    def parameter_array(self) -> np.ndarray:
        """The values in ``param_names`` order (units in :attr:`units`)."""
        return np.array([self.values[n] for n in self.param_names])

    @property
    def unresolved(self) -> set[str]:
        """The parameter names and derived-quantity keys that the data do not resolve: the
        parameters flagged ``unresolved:<name>`` and every key of their element (a runaway
        R2 of 1e272 ohm takes ``R2_asr_ohm_cm2``, ``CPE2_tau_s``... with it). Reports print
        them as 'unresolved'; tables and JSON leave them empty (:meth:`table_row`,
        :meth:`to_dict`); ``values`` keeps what the optimiser stopped at."""
        from .flags import unresolved_keys

        return unresolved_keys(self.flags, [*self.values, *self.derived])

    def held_fixed(self, key: str) -> bool:
        """Whether ``key`` is a parameter held fixed (``fixed=``, ``--fix``) or a derived
        quantity of held parameters only (its stderr exactly 0, as from R0 held:
        ``R0_asr_ohm_cm2``): a value given, not measured, whose stderr reads "fixed" in
        reports rather than a "± 0" that looks perfectly determined."""
        if key in self.fixed:
            return True
        return bool(self.fixed) and key in self.derived and self.derived.get(f"{key}_stderr") == 0.0

    def table_row(self) -> dict[str, float]:
        """The numbers of one row of a results table: each parameter and ``<name>_stderr``
        (units in :attr:`units`), then every derived quantity (units in their names); NaN
        for the keys in :attr:`unresolved`, never a runaway value as a number."""
        hidden = self.unresolved
        row: dict[str, float] = {}
        for name in self.param_names:
            row[name] = math.nan if name in hidden else self.values.get(name, math.nan)
            row[f"{name}_stderr"] = math.nan if name in hidden else self.stderr.get(name, math.nan)
        row.update({k: math.nan if k in hidden else v for k, v in self.derived.items()})
        return row

    def model_impedance(self, frequency: Any) -> np.ndarray:
        """The fitted circuit evaluated at ``frequency`` (Hz), complex ohm."""
        from ..model import circuit_of

        return circuit_of(self.circuit).impedance(self.parameter_array, np.asarray(frequency, float))

    def drt(self, tau_s: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """The DRT implied by the fitted circuit (closed form per R-CPE arc).

        Returns (tau_s, gamma_ohm): gamma in ohm per unit ln(tau). For an R||CPE arc
        tau0 = (R Q)^(1/n) and gamma is the Fuoss-Kirkwood ZARC distribution;
        an R||C arc is a narrow peak of area R at tau = RC.
        """
        from ..analysis.drt_of_circuit import circuit_drt

        return circuit_drt(self, tau_s)

    @property
    def params(self):
        """The values as ``lmfit.Parameters`` (value, stderr, bounds, vary, correl)."""
        import lmfit

        p = lmfit.Parameters()
        bounds = self.settings.get("bounds", {})
        for name in self.param_names:
            lo, hi = bounds.get(name, (-np.inf, np.inf))
            p.add(name, value=self.values[name], min=lo, max=hi, vary=name not in self.fixed)
            err = self.stderr.get(name, np.nan)
            p[name].stderr = None if not np.isfinite(err) else err
            p[name].correl = dict(self.correl.get(name, {})) or None
        return p

    def with_kk_valid_band(self) -> "FitResult":
        """A copy whose ``kk_valid_band`` says where the fitted points pass the Lin-KK test
        when they fail it (a violation, not ``kk-too-noisy``): the band's end points (Hz),
        point counts, status, description and the ``fmin``/``fmax``/``exclude_hz`` (Hz) of
        :func:`eisfit.fit` that fit only those points (:func:`eisfit.kk_valid_band` on the
        fitted points, as ``eisfit fit`` prints it). It stays None where the points pass
        (the band is the whole spectrum), were not tested or are too noisy to judge; where no
        band of at least half the points passes, ``n_points`` is 0 and the limits None.
        Takes a few Lin-KK tests (~0.1-0.5 s) for a failing fit, nothing otherwise."""
        from .kk_band import fit_kk_band, kk_band_record

        return self.with_fields(kk_valid_band=kk_band_record(self, fit_kk_band(self)))

    def summary(self) -> str:
        """A readable multi-line report with units and the conventions used."""
        from .report import format_fit_summary

        return format_fit_summary(self)

    def to_dataframe(self) -> "pd.DataFrame":
        """The parameters and derived quantities as a pandas DataFrame indexed by name:
        ``kind`` (parameter / derived), ``value``, ``stderr`` (1 standard error, nan when
        not estimable), ``unit`` (``ohm``, ``ohm*cm2``, ``F``, ``S*s^n``...) and ``note``
        (``fixed``, or the formula of a derived quantity)."""
        from .report import fit_dataframe

        return fit_dataframe(self)

    def to_impedance_py(self):
        """An ``impedance.models.circuits.CustomCircuit`` of the same circuit holding the
        fitted values (``parameters_``, 1-stderr ``conf_``, initial guess = fitted values),
        so ``predict(f)`` gives this fit's model. Needs impedance.py (imported here only)."""
        from .interop import to_custom_circuit

        return to_custom_circuit(self)

    def __repr__(self) -> str:
        from .report import fit_repr

        return fit_repr(self)

    def _repr_html_(self) -> str:
        from .report import fit_html

        return fit_html(self)

    # -- serialisation ------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (nan/inf -> None, arrays -> lists); round-trips via :meth:`from_dict`.

        The keys in :attr:`unresolved` are None in ``values``, ``stderr`` and ``derived``
        (JSON read by people and other programs shows no runaway value as a number);
        ``unresolved_values`` holds what the optimiser stopped at, by the same three names."""
        return self.dict_without(())

    def dict_without(self, left_out: Sequence[str]) -> dict[str, Any]:
        """:meth:`to_dict` without the fields named in ``left_out`` (a writer that encodes
        some fields itself, e.g. once for many results: the campaign cache)."""
        out: dict[str, Any] = {}
        written = _fields_written(tuple(left_out))
        numbers = [name for name, kind in written if kind == "numbers"]
        hidden = self.unresolved if numbers else set()
        for name, kind in written:
            v = getattr(self, name)
            if kind == "numbers":
                out[name] = _json_numbers(v, hidden)
            elif kind == "frequency":
                out[ARRAY_KEYS[name]] = np.asarray(v, float).tolist()
            elif kind == "complex":
                out[ARRAY_KEYS[name + "_real"]] = np.real(v).astype(float).tolist()
                out[ARRAY_KEYS[name + "_imag"]] = np.imag(v).astype(float).tolist()
            elif kind == "correl":
                out[name] = _json_correlations(v)
            elif kind == "intervals":  # an older result may hold the walk's limit at an open end
                out[name] = {k: with_open_ends_empty(iv) for k, iv in v.items()}
            elif isinstance(v, float):
                out[name] = _json_float(v)
            else:
                out[name] = to_jsonable(v)
        if hidden:
            out["unresolved_values"] = {
                name: {k: _json_float(x) for k, x in getattr(self, name).items() if k in hidden} for name in numbers}
        out["eisfit_result"] = "FitResult/2"  # 2: array keys with units
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FitResult":
        """The FitResult of a :meth:`to_dict` dict (None -> nan, lists -> arrays); the
        array keys without units of earlier versions (``frequency``, ``z_real``...) are read
        too, and ``correl`` given as a :class:`~eisfit.fitting.result.Correlations` is taken
        as it is. :class:`~eisfit.DataError` for a dict that is no such record (a key
        missing, a value of the wrong kind), naming what is wrong."""
        if not isinstance(d, Mapping):
            raise DataError(f"not an eisfit fit result record: a {type(d).__name__}, not a dict")
        try:
            return cls._of_record(d)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            what = f"no {exc.args[0]!r} entry" if isinstance(exc, KeyError) else str(exc)
            raise DataError(f"not an eisfit fit result record (FitResult.to_dict): {what}") from None

    @classmethod
    def _of_record(cls, d: Mapping[str, Any]) -> "FitResult":
        kw: dict[str, Any] = {}

        def array(key: str) -> np.ndarray:
            return np.array(d[ARRAY_KEYS[key]] if ARRAY_KEYS[key] in d else d[key], float)

        for f in fields(cls):
            if f.name in ("z", "z_fit"):
                kw[f.name] = array(f.name + "_real") + 1j * array(f.name + "_imag")
            elif f.name == "frequency":
                kw[f.name] = array(f.name)
            elif f.name in NUMBER_FIELDS:
                raw = d.get("unresolved_values", {}).get(f.name, {})
                kw[f.name] = {k: _from_json_float(raw.get(k, x)) for k, x in d[f.name].items()}
            elif f.name == "correl":  # a Correlations as it is (the campaign cache's packed matrix)
                kw[f.name] = d[f.name] if isinstance(d[f.name], Correlations) else Correlations.of(
                    {k: {k2: _from_json_float(x) for k2, x in v.items()} for k, v in d[f.name].items()})
            elif f.name in ("chisq", "redchi", "pseudo_chisq", "aic", "bic"):
                kw[f.name] = _from_json_float(d[f.name])
            elif f.name == "intervals":
                kw[f.name] = {k: with_open_ends_empty(iv) for k, iv in d.get(f.name, {}).items()}
            elif f.name == "settings" and "bounds" in d.get(f.name, {}):
                kw[f.name] = {**d[f.name], "bounds": _bounds_from_json(d[f.name]["bounds"])}
            elif f.name in d:
                kw[f.name] = d[f.name]
        return cls(**kw)

    def to_json(self, indent: int | None = 1) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> "FitResult":
        """The FitResult of a :meth:`to_json` text; :class:`~eisfit.DataError` for text that
        is no JSON, or no such record."""
        try:
            record = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise DataError(f"not an eisfit fit result (FitResult.to_json): not JSON text ({exc})") from None
        return cls.from_dict(record)

    def with_fields(self, **changes: Any) -> "FitResult":
        """A copy with ``changes`` (field name -> value), the other fields shared with this one:
        ``dataclasses.replace`` without re-running ``__init__`` over every field, which cost
        ~9 us where this costs ~1.5 (a campaign copies each result once or twice: 1,000 results
        are ~15 ms of the main process after the last fit)."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise TypeError(f"FitResult has no field(s) {', '.join(sorted(unknown))}")
        copy = object.__new__(type(self))
        for set_field, value in zip(_SLOT_SETTERS.values(), _FIELD_VALUES(self)):  # frozen: through the slots
            set_field(copy, value)
        for name, value in changes.items():
            _SLOT_SETTERS[name](copy, value)
        return copy

    def __getstate__(self) -> tuple:
        """The field values in field order (a slotted result has no ``__dict__``)."""
        return _FIELD_VALUES(self)

    def __setstate__(self, state: tuple | dict) -> None:
        """From :meth:`__getstate__`, or from the ``__dict__`` an earlier eisfit pickled (a
        field it did not have takes its default)."""
        if type(state) is tuple and len(state) == len(_SLOT_SETTERS):
            for set_field, value in zip(_SLOT_SETTERS.values(), state):
                set_field(self, value)
            return
        given = state if isinstance(state, dict) else dict(zip(_SLOT_SETTERS, state))
        for f in fields(self):
            if f.name in given:
                value = given[f.name]
            elif f.default_factory is not MISSING:
                value = f.default_factory()
            else:
                value = f.default
            object.__setattr__(self, f.name, value)

    def __eq__(self, other: object) -> bool:  # arrays make the dataclass __eq__ ambiguous
        if not isinstance(other, FitResult):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def _frozen(self: FitResult, name: str, *value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


# dataclass(frozen=True, slots=True) of Python 3.10-3.11 checks against the class it replaced and
# raised TypeError (super(type, obj)) for an assignment: a result says it is frozen instead
FitResult.__setattr__ = _frozen  # type: ignore[method-assign,assignment]
FitResult.__delattr__ = _frozen  # type: ignore[method-assign,assignment]
# the setter of each field's slot, in field order, and all field values at once (with_fields, pickles)
_SLOT_SETTERS = {f.name: getattr(FitResult, f.name).__set__ for f in fields(FitResult)}
_FIELD_VALUES = operator.attrgetter(*_SLOT_SETTERS)

# the fields whose values are equal in most results of a campaign (one circuit, one set of settings)
SHARED_FIELDS = ("settings", "units", "derived_units", "param_names", "roles", "fixed")
NOT_SERIALISED = ("suggestion",)  # fields that to_dict() leaves out (an object of its own, not a number)
_FIELD_KINDS = {"values": "numbers", "stderr": "numbers", "derived": "numbers", "frequency": "frequency",
                "z": "complex", "z_fit": "complex", "correl": "correl", "intervals": "intervals"}
NUMBER_FIELDS = tuple(name for name, kind in _FIELD_KINDS.items() if kind == "numbers")  # dicts name -> number
# (name, how to_dict writes it) of each serialised field, in field order
_DICT_FIELDS = tuple((f.name, _FIELD_KINDS.get(f.name, "")) for f in fields(FitResult) if f.name not in NOT_SERIALISED)


@functools.lru_cache(maxsize=16)
def _fields_written(left_out: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The (name, kind) of :data:`_DICT_FIELDS` that :meth:`FitResult.dict_without` writes
    when it leaves out ``left_out`` (a writer leaves out the same few fields every time)."""
    return tuple((name, kind) for name, kind in _DICT_FIELDS if name not in left_out)


def share_equal_fields(result: FitResult, pool: dict) -> FitResult:
    """``result`` with each of its :data:`SHARED_FIELDS` replaced by the equal container
    already in ``pool`` (a dict kept for a campaign; the first of each value is put there):
    a campaign's results then hold one settings dict, one units dict, ... between them
    (~2.4 KB less per result, 300 hard spectra). Those containers are then shared: nothing may
    change one in place (nothing in eisfit does: a changed container is a new one, given with
    :meth:`FitResult.with_fields`)."""
    return result.with_fields(**shared_fields(result, pool))


def shared_fields(result: FitResult, pool: dict, seen: dict[int, Any] | None = None) -> dict[str, Any]:
    """The :data:`SHARED_FIELDS` of ``result`` as :func:`share_equal_fields` replaces them
    (field name -> the pool's equal container). ``seen``: {id of a container: the pool's},
    for results whose containers are themselves shared (a worker's task, see
    :func:`eisfit.fitting.batch.lean_result`) and alive while it is used: each is looked up
    in the pool once instead of once per result."""
    if seen is None:
        return {name: one_of_equal(pool, getattr(result, name)) for name in SHARED_FIELDS}
    out = {}
    for name in SHARED_FIELDS:
        value = getattr(result, name)
        pooled = seen.get(id(value))
        if pooled is None:
            pooled = seen[id(value)] = one_of_equal(pool, value)
        out[name] = pooled
    return out


def one_of_equal(pool: dict, value: Any) -> Any:
    """The one instance in ``pool`` equal to the dict or list ``value`` (``value`` itself the
    first time), keyed by its pickle: equal items of equal types, nested containers too
    (1, 1.0 and True are not taken for one another; nan is equal to itself)."""
    return pool.setdefault(pickle.dumps(value, pickle.HIGHEST_PROTOCOL), value)


def fitted_indices(results: Sequence[Any]) -> list[int]:
    """The indices of a campaign's results that are not None (a campaign that keeps its
    results on disk says so without reading them: its ``results.fitted()``)."""
    fitted = getattr(results, "fitted", None)
    return fitted() if fitted is not None else [k for k, r in enumerate(results) if r is not None]


def results_field(results: Sequence[Any], name: str) -> list[Any]:
    """Each result's field ``name``, None where the result is None (a campaign that keeps its
    results on disk holds its flags, settings, circuit and ``kk_passed`` beside them:
    its ``results.field(name)``)."""
    field_of = getattr(results, "field", None)
    return field_of(name) if field_of is not None else [None if r is None else getattr(r, name) for r in results]
