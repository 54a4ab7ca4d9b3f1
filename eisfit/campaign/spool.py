"""A large campaign's fits and spectra kept on disk, not in memory.

Each kept FitResult of a campaign holds ~5 KB of Python objects (values, standard errors,
correlations, derived quantities, the fitted curve) for as long as the campaign runs: 10,000
checkpoints held ~50 MB of them in the campaign process, its memory growing with the
checkpoints (issue 12 asks for a peak flat in their number), and each spectrum read ~2 KB
more. From :data:`SPOOL_MIN_CHECKPOINTS` checkpoints on, the campaign writes each spectrum
read from a file to a :class:`Spool` before the fits, and each kept fit as it arrives, and
holds only where they lie (a :class:`Spooled`, ~100 bytes); reading a fit back costs ~40 us
(unpickling), so each pass over all the results (the table, the evolution figure, the
residual map) costs ~0.5 s per 10,000 checkpoints, and a campaign below the threshold keeps
its fits and spectra in memory.

The spool is an anonymous temporary file (removed by the system when it is closed, also when
the process dies), in the campaign's cache or output folder where it has one (a disk, where
the system's temporary folder may be memory), else in the temporary folder. When it cannot
be written (disk full), the fits and spectra from then on stay in memory, with one
:class:`~eisfit.campaign.CampaignWarning`; nothing is lost.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import os
import pickle
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator

import numpy as np

from .._caller import user_stacklevel
from ..errors import CampaignError, CampaignWarning
from ..fitting.flags import with_flags_added
from ..fitting.result import SHARED_FIELDS, FitResult, one_of_equal
from ..analysis.derived import circuit_arcs
from ..model import circuit_of
from ..model.circuit import resistance_names

__all__ = ["Spool", "Spooled", "SpooledResults", "SPOOL_MIN_CHECKPOINTS", "LIGHT_FIELDS", "loaded", "ResultView"]

SPOOL_MIN_CHECKPOINTS = 2000  # campaigns this large keep their fits and spectra on disk (see the module's docstring)


LIGHT_FIELDS = ("circuit", "flags", "kk_passed", "settings")  # held beside the place: what passes over all read
# where a FitResult's state (FitResult.__getstate__: its field values in order) holds the containers its
# campaign's results share: written once per spool, not with each result
_SHARED_AT = tuple(k for k, f in enumerate(dataclasses.fields(FitResult)) if f.name in SHARED_FIELDS)
_LIGHT_AT = tuple(next(k for k, f in enumerate(dataclasses.fields(FitResult)) if f.name == name)
                  for name in LIGHT_FIELDS)


class Spooled:
    """Where one FitResult (or spectrum) lies in a :class:`Spool` (read back with
    :meth:`load`), and a result's :data:`LIGHT_FIELDS` (``light``: the result's own objects,
    its settings shared with the campaign's other results), which the passes over all the
    results read without unpickling any (None for a spectrum). ``added``: flags the campaign
    gave a result after it was stored (read back with it; see :meth:`with_flags`)."""

    __slots__ = ("spool", "offset", "length", "light", "added")

    def __init__(self, spool: "Spool", offset: int, length: int, light: tuple | None, added: tuple = ()):
        self.spool, self.offset, self.length, self.light, self.added = spool, offset, length, light, added

    def load(self) -> Any:
        result = self.spool.load(self)
        return result.with_fields(flags=with_flags_added(result.flags, self.added)) if self.added else result

    def with_flags(self, flags: Sequence[str]) -> "Spooled":
        """The same stored result with ``flags`` added to its own (no duplicates), without
        reading or writing it again."""
        at = LIGHT_FIELDS.index("flags")
        light = self.light[:at] + (with_flags_added(self.light[at], flags),) + self.light[at + 1:]
        return Spooled(self.spool, self.offset, self.length, light, tuple(with_flags_added(self.added, flags)))

    def __reduce__(self):  # pickled (a worker, a saved result): the fit itself, not a place in a file
        return _identity, (self.load(),)


class ResultView:
    """What the campaign's passes over every kept fit before its outputs read of one: the arc
    jumps and swaps (:func:`eisfit.campaign.runner._flag_arc_jumps`: values, the resistances'
    standard errors, flags) and the first pass of the one role per arc
    (:func:`eisfit.campaign.roles.with_campaign_roles`: roles, the effective capacitances and
    their standard errors, the area). Taken while a fit is in memory, before it is stowed
    (:meth:`of`), so those passes read no fit back from the spool (each had read every fit:
    ~0.1 s per 5,000 checkpoints, in the campaign process alone, the workers done).

    Held by every checkpoint from its fit to the campaign's assembly, a view keeps its numbers
    in one array (``values``, ``stderr`` and ``derived`` are dicts made when asked for: the
    parameters, the resistances' standard errors and the effective capacitances with theirs,
    those the fit has) and shares its roles with the views of equal roles: ~0.3 KB each
    (dicts of the fit's own objects had been ~1.4 KB, 10,000 CSV files: +10 MB at the
    campaign's peak, the freed objects' memory left scattered among the checkpoints')."""

    __slots__ = ("circuit", "circuit_name", "roles", "flags", "settings", "_numbers", "_present")

    def __init__(self, circuit: str, circuit_name: str, numbers: np.ndarray, present: int,
                 roles: Mapping[str, str], flags: Sequence[str], settings: Mapping[str, Any]):
        self.circuit, self.circuit_name, self.roles, self.flags, self.settings = (circuit, circuit_name, roles,
                                                                                  flags, settings)
        self._numbers, self._present = numbers, present  # present: bit k set where optional key k was there

    @classmethod
    def of(cls, result: Any) -> "ResultView":
        """The view of a FitResult (its flags and settings themselves, not copies)."""
        names, optional = _viewed_keys(result.circuit)
        numbers = [result.values[n] for n in names]
        present = 0
        for bit, (field, key) in enumerate(optional):
            value = getattr(result, field).get(key)
            if value is not None:
                present |= 1 << bit
            numbers.append(math.nan if value is None else value)
        return cls(result.circuit, result.circuit_name, np.array(numbers, float), present,
                   _shared_roles(tuple(result.roles.items())), result.flags, result.settings)

    @property
    def values(self) -> dict[str, float]:
        names = _viewed_keys(self.circuit)[0]
        return dict(zip(names, self._numbers[:len(names)].tolist()))

    @property
    def stderr(self) -> dict[str, float]:
        return self._optional("stderr")

    @property
    def derived(self) -> dict[str, float]:
        return self._optional("derived")

    def _optional(self, field: str) -> dict[str, float]:
        names, optional = _viewed_keys(self.circuit)
        numbers = self._numbers[len(names):].tolist()
        return {key: numbers[bit] for bit, (source, key) in enumerate(optional)
                if source == field and self._present >> bit & 1}


@functools.lru_cache(maxsize=64)
def _viewed_keys(circuit: str) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(the parameter names, the (field, key) of the optional numbers: the resistances'
    standard errors, the effective capacitances and theirs) of a circuit string: what a
    :class:`ResultView` keeps."""
    circ = circuit_of(circuit)
    capacitive = [a.capacitive for a in circuit_arcs(circ, branches=True)]
    return (tuple(circ.param_names),
            tuple(("stderr", name) for name in resistance_names(circ.param_names))
            + tuple(("derived", f"{c}_ceff_F{end}") for c in capacitive for end in ("", "_stderr")))


@functools.lru_cache(maxsize=256)
def _shared_roles(items: tuple[tuple[str, str], ...]) -> Mapping[str, str]:
    """One read-only roles mapping for all the views of equal roles."""
    return MappingProxyType(dict(items))


def _identity(value: Any) -> Any:
    return value


def loaded(held: Any) -> Any:
    """``held`` itself, or the FitResult or spectrum it names when it is a :class:`Spooled`."""
    return held.load() if type(held) is Spooled else held


class Spool:
    """An append-only file of pickled FitResults and spectra: :meth:`store` a result,
    :meth:`stash` a spectrum, :meth:`load` either back."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = folder
        self._file: Any = None
        self._end = 0
        self.failed: str | None = None  # why the spool stopped writing (what follows then stays in memory)
        self._shared: dict = {}  # one instance of each equal container (fitting.result.one_of_equal)
        self._pool: list[Any] = []  # the results' shared containers (settings, units...), by index
        self._index_of: dict[int, int] = {}  # id of a pooled container -> its index

    def store(self, result: Any) -> Any:
        """Where the FitResult ``result`` now lies (a :class:`Spooled` with its
        :data:`LIGHT_FIELDS`); ``result`` itself when it is None or the spool cannot be written
        (then for the rest of the run). Its shared containers (settings, units...) are kept
        once for all the results (read back as one instance, as a campaign's results share
        them in memory; a result's pickle without them reads in ~30 us instead of ~55)."""
        if result is None:
            return result
        state = list(result.__getstate__())
        for k in _SHARED_AT:
            state[k] = self._pooled(state[k])
        return self._written(result, tuple(state), tuple(self._pool[state[k]] if k in _SHARED_AT else state[k]
                                                         for k in _LIGHT_AT))

    def stash(self, value: Any) -> Any:
        """Where ``value`` (a spectrum: anything picklable) now lies; ``value`` itself when it
        is None or the spool cannot be written."""
        return value if value is None else self._written(value, value, None)

    def _pooled(self, container: Any) -> int:
        """The index of the one pooled container equal to ``container`` (compared by its pickle
        only when not met before: a campaign's results share theirs already)."""
        k = self._index_of.get(id(container))
        if k is not None and self._pool[k] is container:
            return k
        pooled = one_of_equal(self._shared, container)
        k = self._index_of.get(id(pooled))
        if k is None or self._pool[k] is not pooled:
            k = self._index_of[id(pooled)] = len(self._pool)  # the pool keeps it alive: its id stays its own
            self._pool.append(pooled)
        return k

    def _written(self, value: Any, kept: Any, light: tuple | None) -> Any:
        """Where ``kept`` (what is written of ``value``) now lies; ``value`` when the spool
        cannot be written."""
        if self.failed is not None:
            return value
        blob = pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            if self._file is None:
                self._file = _temporary_file(self.folder)
            written = os.pwrite(self._file.fileno(), blob, self._end)
            if written != len(blob):
                raise OSError(f"wrote {written} of {len(blob)} bytes")
        except OSError as exc:
            self.failed = f"{exc.strerror or exc}"
            warnings.warn(f"the campaign's fits and spectra could not be kept on disk ({self.where()}: "
                          f"{self.failed}); the rest stay in memory", CampaignWarning, stacklevel=user_stacklevel())
            return value
        handle = Spooled(self, self._end, len(blob), light)
        self._end += len(blob)
        return handle

    def load(self, handle: Spooled) -> Any:
        try:
            blob = os.pread(self._file.fileno(), handle.length, handle.offset)
        except (OSError, AttributeError, ValueError) as exc:
            raise CampaignError(f"{self.where()}: a fit or spectrum kept there can no longer be read: {exc}") from None
        if len(blob) != handle.length:
            raise CampaignError(f"{self.where()}: a fit or spectrum kept there was cut short "
                                f"({len(blob)} of {handle.length} bytes)")
        kept = pickle.loads(blob)
        if handle.light is None:  # a spectrum, as it was
            return kept
        state = list(kept)
        for k in _SHARED_AT:
            state[k] = self._pool[state[k]]
        result = FitResult.__new__(FitResult)
        result.__setstate__(tuple(state))
        return result

    def where(self) -> str:
        """The folder of the spool's file, in words."""
        return f"a temporary file in {self.folder or tempfile.gettempdir()}"

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _temporary_file(folder: str | Path | None):
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryFile(prefix="eisfit-fits-", dir=folder)


class SpooledResults(Sequence):
    """The results of a campaign (:attr:`eisfit.campaign.CampaignResult.results`), one FitResult
    or None per checkpoint, each read from its :class:`Spool` when asked for (a new
    object each time: a change made to it in place is not kept; one put in with
    ``results[k] = result`` is). Pickled or copied, it is a plain list."""

    def __init__(self, kept: list[Any]):
        self._kept = kept

    def __len__(self) -> int:
        return len(self._kept)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [loaded(k) for k in self._kept[index]]
        return loaded(self._kept[index])

    def __setitem__(self, index: int, result: Any) -> None:
        """Put ``result`` (a FitResult or None) in the place of checkpoint ``index``, in memory."""
        self._kept[index] = result

    def __iter__(self) -> Iterator[Any]:
        return (loaded(k) for k in self._kept)

    def fitted(self) -> list[int]:
        """The indices of the checkpoints with a result, without reading any."""
        return [k for k, kept in enumerate(self._kept) if kept is not None]

    def field(self, name: str) -> list[Any]:
        """Each result's ``name`` (None where there is no result), read from the spool only
        for a name not in :data:`LIGHT_FIELDS`."""
        if name not in LIGHT_FIELDS:
            return [None if r is None else getattr(r, name) for r in self]
        at = LIGHT_FIELDS.index(name)
        return [None if kept is None else kept.light[at] if type(kept) is Spooled else getattr(kept, name)
                for kept in self._kept]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, SpooledResults)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __reduce__(self):
        return list, (list(self),)

    def __repr__(self) -> str:
        return f"SpooledResults({len(self)} results, read from disk when asked for)"
