"""How the readers read a file, as one typed, frozen, validated record: :class:`ReaderOptions`.

:func:`eisfit.read` takes the options one by one (``format=``, ``imag_sign=``,
``columns=``); a campaign (:func:`eisfit.fit_campaign`, ``eisfit campaign --format
--imag-sign --columns``) takes them as one ReaderOptions for every file it reads, and a
campaign file's ``[defaults]`` and rows may give their own, layered by
:meth:`ReaderOptions.layered`. The checks are those of :func:`eisfit.read`, made once,
when the record is built: a bad value raises :class:`~eisfit.ReadError` (an unknown format
name :class:`~eisfit.UnknownFormatError`) before any file is read.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import ReadError

__all__ = ["ReaderOptions", "columns_from_text", "READER_OPTION_NAMES"]

READER_OPTION_NAMES = ("format", "imag_sign", "columns")  # the fields of ReaderOptions, as eisfit.read names them


def columns_from_text(text: str) -> dict[str, int | str]:
    """The ``columns`` option written as text (``--columns``, a campaign file's CSV cell):
    ``frequency=0,real=2,imag=3`` -> ``{"frequency": 0, "real": 2, "imag": 3}``; pairs
    separated by ``,`` or ``;``; a column that is not a whole number is a header name.
    ReadError for a pair that is not ROLE=COLUMN or a role given twice (the roles are
    checked by ReaderOptions and :func:`eisfit.read`)."""
    out: dict[str, int | str] = {}
    for item in str(text).replace(";", ",").split(","):
        role, sep, where = item.partition("=")
        if not sep or not role.strip() or not where.strip():
            raise ReadError(None, f"expected ROLE=COLUMN pairs separated by commas (or ;), got {item!r}")
        where, role = where.strip(), role.strip()
        if role in out:  # 'real=1,real=3' had kept the last one without a word
            raise ReadError(None, f"the role {role!r} is given twice ({out[role]} and {where})")
        out[role] = int(where) if where.isdigit() else where
    return out


@dataclass(frozen=True)
class ReaderOptions:
    """The options of :func:`eisfit.read` that a campaign passes to every file it reads.

    format : force a reader (a name of :func:`eisfit.io.available_formats`, any case; kept
        in lower case); None = detect each file's format from its content.
    imag_sign : the sign convention of a table's imaginary column: ``"negative"`` (it holds
        Z'', capacitive values negative), ``"positive"`` (it holds -Z''), ``"auto"`` (the
        data decide, whatever the format's convention); None = the format's convention, else
        the header's minus sign, else the data (what :func:`eisfit.read` does without it).
    columns : column roles of a table, role -> 0-based column index or header name, e.g.
        ``{"frequency": 0, "real": 1, "imag": 2}`` (roles frequency, real, imag, modulus,
        phase, sweep, y_real, y_imag); kept as a read-only mapping; None = by header name, or
        by content for a headerless table.

    Construction checks each value as :func:`eisfit.read` does (one implementation): an
    unknown format name raises :class:`~eisfit.UnknownFormatError` (with "did you mean"), a
    bad ``imag_sign`` or ``columns`` :class:`~eisfit.ReadError`. ``ReaderOptions()`` reads
    every file as detected.
    """

    format: str | None = None
    imag_sign: str | None = None
    columns: Mapping[str, int | str] | None = None

    def __post_init__(self) -> None:
        from . import _check_columns_option, format_name
        from .tabular import check_imag_sign

        if self.format is not None:
            object.__setattr__(self, "format", format_name(self.format))
        check_imag_sign(self.imag_sign, None)
        _check_columns_option(None, self.columns)
        if self.columns is not None:  # {} names no column: as None
            object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)) if self.columns else None)

    def __hash__(self) -> int:
        return hash(self.key())

    def __reduce__(self) -> tuple:
        """Pickled (for the campaign's worker processes) by its values: a read-only mapping
        cannot be pickled itself."""
        return (type(self), (self.format, self.imag_sign, None if self.columns is None else dict(self.columns)))

    @classmethod
    def layered(cls, *layers: "Mapping[str, Any] | ReaderOptions | None") -> "ReaderOptions":
        """Options from layers, lowest precedence first (a campaign: ``[defaults]``, the
        argument or command-line options, a row); in each, ``None`` or an absent name means
        "not given here". A layer is a mapping with the names of
        :data:`eisfit.io.options.READER_OPTION_NAMES` or a ReaderOptions (its :meth:`given`
        options); another name raises TypeError."""
        from .._checks import did_you_mean

        merged: dict[str, Any] = {}
        for layer in layers:
            given = layer.given() if isinstance(layer, ReaderOptions) else dict(layer or {})
            for name, value in given.items():
                if name not in READER_OPTION_NAMES:
                    raise TypeError(f"unknown reader option {name!r}{did_you_mean(name, READER_OPTION_NAMES)}")
                if value is not None:
                    merged[name] = value
        return cls(**merged)

    def given(self) -> dict[str, Any]:
        """The options that are set (not None), as :func:`eisfit.read` takes them (``columns``
        as a dict; ``eisfit.read(path, **options.given())``): ``{}`` for ``ReaderOptions()``."""
        values = {"format": self.format, "imag_sign": self.imag_sign,
                  "columns": None if self.columns is None else dict(self.columns)}
        return {name: value for name, value in values.items() if value is not None}

    def key(self) -> str:
        """A text that changes with every option that can change what is read: "" when none
        is set (a campaign's cache keys are then those of a campaign read as detected)."""
        given = self.given()
        return json.dumps(given, sort_keys=True, separators=(",", ":")) if given else ""

    def describe(self) -> str:
        """The options in words, as the campaign's settings and report.md name them:
        ``imag_sign positive, columns frequency=0,real=1,imag=2``; ``as detected`` when none
        is set."""
        parts = [f"format {self.format}" if self.format else "",
                 f"imag_sign {self.imag_sign}" if self.imag_sign else "",
                 "columns " + ",".join(f"{r}={c}" for r, c in self.columns.items()) if self.columns else ""]
        return ", ".join(p for p in parts if p) or "as detected"
