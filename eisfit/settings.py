"""Fit and campaign settings: one typed, frozen, validated record each.

The command line and the library build the same objects, so an option is checked
once, before any fit, with one message whatever the door it came in by.

Precedence of the per-checkpoint fit settings (:class:`FitSettings`), highest first::

    campaign-file row  >  command-line option / function argument
                       >  campaign-file [defaults]  >  built-in default

:func:`FitSettings.layered` applies it: each layer is a mapping in which ``None``
(or an absent key) means "not given here".
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from ._checks import (check_choice, check_engine, check_guess, check_smooth, check_starts, did_you_mean,
                      positive_number_or_none)
from .errors import FitError
from .io.options import ReaderOptions
from .model.weighting import WEIGHTINGS, check_weighting
from .spectrum import frequencies_to_exclude

__all__ = ["FitSettings", "CampaignSettings", "check_fit_options", "check_parameter_names",
           "did_you_mean", "FIT_SETTING_NAMES"]

# every weighting except "sigma", which needs per-point standard deviations (eisfit.fit(sigma=...))
WEIGHTING_NAMES = tuple(w for w in WEIGHTINGS if w != "sigma")


def _is_auto(circuit: Any) -> bool:
    return isinstance(circuit, str) and circuit == "auto"


@dataclass(frozen=True)
class FitSettings:
    """The settings of :func:`eisfit.fit` that a campaign resolves per checkpoint.

    circuit : library name, circuit string, .toml file (or a CircuitDefinition), or
        ``"auto"`` (chosen from the data when the fit runs, :func:`eisfit.suggest_circuit`).
    area_cm2 : electrode contact area, cm2 (> 0) or None.
    thickness_cm : electrolyte thickness, cm (> 0) or None.
    symmetric : symmetric cell (interface ASR also per interface).
    weighting : ``modulus`` (1/|Z|^2 of the data), ``modulus-calc`` (1/|Zfit|^2), ``proportional`` or ``unit``.
    fmin_Hz, fmax_Hz : fitted frequency window, Hz (> 0, fmin < fmax) or None.
    exclude_Hz : frequencies (Hz) whose points are left out (each takes the points within
        1 % of it, :meth:`eisfit.Spectrum.exclude`); ``()`` = none. A later layer replaces
        the list of an earlier one, it does not add to it.

    Construction validates everything (the circuit is parsed): a bad value raises
    :class:`~eisfit.FitError` (or :class:`~eisfit.CircuitError`) at once.
    """

    circuit: Any = "garnet-symmetric"
    area_cm2: float | None = None
    thickness_cm: float | None = None
    symmetric: bool = True
    weighting: str = "modulus"
    fmin_Hz: float | None = None
    fmax_Hz: float | None = None
    exclude_Hz: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        from .model import load_circuit

        if not _is_auto(self.circuit):
            load_circuit(self.circuit)  # CircuitError with a caret / "did you mean" on a bad one
        for name in ("area_cm2", "thickness_cm", "fmin_Hz", "fmax_Hz"):
            object.__setattr__(self, name, positive_number_or_none(name, getattr(self, name)))
        object.__setattr__(self, "symmetric", check_choice("symmetric", self.symmetric))
        if self.weighting == "boukamp":
            check_weighting(self.weighting)  # the renamed weighting: what to use instead
        if self.weighting not in WEIGHTING_NAMES:
            raise FitError(f"unknown weighting {self.weighting!r}{did_you_mean(self.weighting, WEIGHTING_NAMES)}; "
                           f"use one of {', '.join(WEIGHTING_NAMES)}")
        if self.fmin_Hz is not None and self.fmax_Hz is not None and not self.fmin_Hz < self.fmax_Hz:
            raise FitError(f"fmin ({self.fmin_Hz:g} Hz) must be below fmax ({self.fmax_Hz:g} Hz)")
        object.__setattr__(self, "exclude_Hz", frequencies_to_exclude(self.exclude_Hz))

    # ---- the names used by eisfit.fit / campaign files (fmin, fmax without unit) ----
    @staticmethod
    def key_of(name: str) -> str:
        """Attribute name of a fit() / campaign-file key (``fmin`` -> ``fmin_Hz``)."""
        return _ATTRIBUTE_OF_KEY.get(name, name)

    @classmethod
    def layered(cls, *layers: Mapping[str, Any] | None) -> "FitSettings":
        """Settings from layers, lowest precedence first; ``None`` values are skipped.

        Keys are those of :func:`eisfit.fit` (``circuit``, ``area_cm2``,
        ``thickness_cm``, ``symmetric``, ``weighting``, ``fmin``, ``fmax``, ``exclude_hz``).
        """
        merged: dict[str, Any] = {}
        for layer in layers:
            for key, value in (layer or {}).items():
                if value is not None:
                    attr = cls.key_of(key)
                    if attr not in FIT_SETTING_ATTRS:
                        raise TypeError(f"unknown fit setting {key!r}{did_you_mean(key, FIT_SETTING_NAMES)}")
                    merged[attr] = value
        return cls(**merged)

    def fit_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`eisfit.fit` (``fmin``/``fmax``/``exclude_hz`` in Hz)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, attribute in _ATTRIBUTE_OF_KEY.items():
            d[key] = d.pop(attribute)
        return d


_ATTRIBUTE_OF_KEY = {"fmin": "fmin_Hz", "fmax": "fmax_Hz", "exclude_hz": "exclude_Hz"}
FIT_SETTING_ATTRS = tuple(f.name for f in fields(FitSettings))
FIT_SETTING_NAMES = ("circuit", "area_cm2", "thickness_cm", "symmetric", "weighting", "fmin", "fmax", "exclude_hz")


def _fit_parameters() -> dict[str, inspect.Parameter]:
    from .fitting import fit

    return dict(inspect.signature(fit).parameters)


# the options of eisfit.fit that take True/False (or "auto") only: "no" or "False" is not False
_FLAG_CHOICES = {"profile": ("auto", True, False), "drop_inductive": ("auto", True, False),
                 "kk": (True, False), "order_arcs": (True, False)}


def check_fit_options(options: Mapping[str, Any], caller: str = "fit_campaign") -> dict[str, Any]:
    """Validate the extra :func:`eisfit.fit` keywords given to ``caller``.

    Unknown names raise ``TypeError`` at once (with "did you mean"), as a misspelt
    keyword of any Python function does; the names :class:`FitSettings` holds are
    refused here (they are explicit arguments). Values that can be checked without
    data are checked (``initial``/``fixed`` finite, ``bounds`` (lower, upper) pairs,
    ``starts``, ``engine``, ``guess``, the flags ``profile``, ``drop_inductive``, ``kk`` and
    ``order_arcs``, ``expr`` strings): a bad one raises :class:`~eisfit.FitError`.
    """
    allowed = [n for n in _fit_parameters() if n not in ("spectrum",) and n not in FIT_SETTING_NAMES]
    for name in options:
        if name not in allowed:
            known = allowed + list(FIT_SETTING_NAMES)
            raise TypeError(f"{caller}() got an unexpected keyword argument {name!r}"
                            f"{did_you_mean(name, known + ['cache_dir', 'jobs', 'out', 'progress'])}")
    from .fitting.expressions import check_bounds, check_start_values

    out = dict(options)
    for what in ("initial", "fixed"):
        if isinstance(out.get(what), Mapping):
            check_start_values(out[what], what)
    check_starts(out.get("starts", "auto"))
    if "engine" in out:
        check_engine(out["engine"])
    if "guess" in out:
        check_guess(out["guess"])
    for name, choices in _FLAG_CHOICES.items():
        if name in out:
            out[name] = check_choice(name, out[name], choices)
    check_bounds(out.get("bounds"))
    if out.get("expr") is not None:
        if not isinstance(out["expr"], Mapping) or not all(isinstance(e, str) for e in out["expr"].values()):
            raise FitError("expr must map parameter names to expression strings")
    return out


def check_parameter_names(circuit: Any, options: Mapping[str, Any]) -> None:
    """FitError when ``initial``/``fixed``/``bounds``/``expr`` name a parameter that
    ``circuit`` does not have (with "did you mean"), or an ``initial``/``fixed`` value lies
    outside its bounds; checked before any fit."""
    from .model import load_circuit

    if _is_auto(circuit):  # the parameters are known once the circuit is chosen
        return
    names = load_circuit(circuit).circuit.param_names
    for what in ("initial", "fixed", "bounds", "expr"):
        given = options.get(what)
        if not isinstance(given, Mapping):
            continue
        for pname in given:
            if pname not in names:
                raise FitError(f"{what}: unknown parameter {pname!r}{did_you_mean(pname, names)}; "
                               f"the circuit {load_circuit(circuit).string} has {', '.join(names)}")
    from .fitting.engine import check_values_in_bounds

    check_values_in_bounds(circuit, options.get("initial"), options.get("fixed"), options.get("bounds"))


@dataclass(frozen=True)
class CampaignSettings:
    """How a campaign runs (not what is fitted): validated once, before any fit.

    fit : the argument layer of the fit settings (``None`` = not given), see
        :meth:`FitSettings.layered`; checked by building a FitSettings over the
        built-in defaults.
    fit_options : further :func:`eisfit.fit` keywords (checked by :func:`check_fit_options`).
    jobs : fitting processes on this machine (>= 1), or ``"auto"`` (see :func:`eisfit.fit_campaign`).
    reader : the argument layer of the reader options (:class:`eisfit.io.ReaderOptions`,
        checked when it was built; None = ``ReaderOptions()``, every file as detected); a
        campaign file's ``[defaults]`` and rows are layered with it where the files are read.
    shared, arrhenius_law : the parameters a joint fit across checkpoints shares or puts on an
        Arrhenius law (None = not asked; one name as a string is that name), as a list; none named
        twice, none both shared (or on a law) and in ``fit_options["fixed"]``
        (:func:`eisfit.series.joint.check_joint_roles`; the names against each checkpoint's
        circuit are checked once the circuits are known, still before any fit).
    smooth : the joint fit's smoothing: None, ``"auto"`` or a finite number >= 0
        (:func:`eisfit._checks.check_smooth`: ``-1``, ``"abc"``, ``inf`` and ``True`` are refused).
    """

    fit: Mapping[str, Any] = field(default_factory=dict)
    fit_options: Mapping[str, Any] = field(default_factory=dict)
    jobs: int | str = 1
    reader: ReaderOptions | None = None
    shared: Any = None
    smooth: Any = None
    arrhenius_law: Any = None

    def __post_init__(self) -> None:
        given = {k: v for k, v in dict(self.fit).items() if v is not None}
        FitSettings.layered(given)  # validates each given value (TypeError on an unknown name)
        object.__setattr__(self, "fit", given)
        object.__setattr__(self, "fit_options", check_fit_options(dict(self.fit_options)))
        automatic = isinstance(self.jobs, str) and self.jobs == "auto"
        if not automatic and (isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 1):
            raise FitError(f"jobs must be a whole number >= 1 or 'auto', got {self.jobs!r}")
        if self.reader is None:
            object.__setattr__(self, "reader", ReaderOptions())
        elif not isinstance(self.reader, ReaderOptions):
            raise FitError(f"reader must be an eisfit.ReaderOptions, e.g. reader=eisfit.ReaderOptions("
                           f"imag_sign='positive'), got {type(self.reader).__name__}")
        for name in ("shared", "arrhenius_law"):
            object.__setattr__(self, name, _parameter_names(name, getattr(self, name)))
        check_smooth(self.smooth)
        if self.joint:
            from .series.joint import check_joint_roles

            fixed = self.fit_options.get("fixed")
            check_joint_roles(self.shared or [], self.arrhenius_law or [],
                              fixed if isinstance(fixed, Mapping) else None, arrhenius_option="arrhenius_law")

    @property
    def joint(self) -> bool:
        """Whether a joint fit across checkpoints is asked for (shared, smooth or arrhenius_law
        given). ``smooth=0`` alone asks for none: a joint fit that shares, smooths and puts on a
        law nothing is the independent fits (it had been reported as "the joint fit, the data
        allow what it assumes")."""
        smooths = self.smooth is not None and not (isinstance(self.smooth, (int, float)) and self.smooth == 0)
        return bool(self.shared) or smooths or bool(self.arrhenius_law)


def _parameter_names(option: str, names: Any) -> list[str] | None:
    """Parameter names given to ``option`` as a list (one string: that one name, not its
    characters); None when not given; FitError for anything but strings."""
    if names is None:
        return None
    names = [names] if isinstance(names, str) else names
    try:
        names = list(names)
    except TypeError:
        raise FitError(f"{option} must be parameter names, got {names!r}") from None
    if not all(isinstance(n, str) for n in names):
        raise FitError(f"{option} must be parameter names (strings), got {names!r}")
    if not any(n.strip() for n in names):  # --shared "": a joint fit that assumed nothing had been run
        raise FitError(f"{option} names no parameter: give the parameters (e.g. {option}=['R1', 'CPE1_0']; on the "
                       f"command line --{option.replace('_', '-')} R1,CPE1_0), or leave it out")
    return names
