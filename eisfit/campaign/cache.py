"""Result cache of a campaign: the fits of each chunk in one pack file, written as soon as
the chunk ends.

A pack (``pack-<engine>-<hash>.jsonl``) holds one line per fit: its 40-character key, a
tab, and a JSON object (format, what the fit was of, the result without its per-point
arrays). The result's values, standard errors, derived quantities and correlation matrix
are packed blocks (:func:`packed_block`): each its names and its numbers as the base64 of
their float64 bytes, exact to the bit (nan and inf included). One JSON number each had been
most of what the campaign process spent on the cache while the workers fitted: a hard
spectrum's entry took ~110 us to write and ~110 us to read back, packed ~50 and ~75 (entries
of format 2, every number as JSON, are still read). Only the packs of this code's
:func:`engine_fingerprint` are read: another version's could never match a key, and a cache
folder kept across upgrades is not read whole at every run. One file per chunk
instead of one per fit: creating and renaming 5,000 small files cost ~3 s of system time
here, one file per chunk of 250 fits a few milliseconds; and a killed run loses what it
lost before, the chunk that was running. A key written again (a refit of an unusable
entry) is read from the newest pack that holds it.

What is stored is each checkpoint's *kept* fit (the better of its cold and seeded fits, with
its flags and notes). Its key (:meth:`FitCache.kept_key`) is the sha256 of (file content
sha256, sweep, settings hash, ``"kept"``, engine, and the reader options when the file was not
read as detected):

* the settings hash covers every fit setting and the content of the circuit definition
  (:func:`circuit_fingerprint`: string, bounds, units, roles), not only its name or path;
* ``engine`` is :func:`engine_fingerprint`, the hash of the code that reads the file and
  computes the fit, so an entry written by another version of eisfit (other reader, other
  optimiser, other flags) is never read as this version's result;
* the reader options (:meth:`eisfit.io.ReaderOptions.key`: ``format``, ``imag_sign``,
  ``columns``) decide what the same bytes are read as (``imag_sign="positive"`` flips every
  Z''), so another choice is another key; a file read as detected has the key it had before
  they existed.

The key holds no seed: the previous checkpoint's fit, from which a checkpoint's seeded fit
started, is not part of it. So a re-run with nothing changed fits nothing; adding a
checkpoint fits only it (led in by the checkpoint before it); changing or inserting one fits
that one again, and the checkpoints after it keep their cached fits although their seed
changed. A table partly read from the cache can therefore differ from a fresh run of the same
inputs where a checkpoint has two almost equal minima (a real campaign listed in reverse
order: R0 = 1503 vs 427 ohm at chi-square 0.00499 vs 0.00501): it depends on the cache's
history; ``cache_dir=False`` (``--no-cache``) gives the table of the inputs alone. Failed fits
are not cached (they are retried on the next run).
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import re
import stat
import struct
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Iterable, Mapping, Sequence

import numpy as np

from .._caller import user_stacklevel
from .._files import atomic_text_file
from .._json import to_jsonable
from ..errors import CampaignError
from ..fitting.result import NUMBER_FIELDS, SHARED_FIELDS, Correlations
from .sources import CampaignWarning

__all__ = ["FitCache", "MemoryCache", "KeptEntry", "SharedTexts", "settings_hash", "circuit_fingerprint", "seed_hash",
           "fit_key", "engine_fingerprint", "packed_block", "unpacked"]

CACHE_FORMAT = "eisfit-campaign-cache/3"  # 3: numbers in packed blocks; 2: each entry holds the sha256 of its result
READ_FORMATS = (CACHE_FORMAT, "eisfit-campaign-cache/2")  # an entry of format 2 (every number as JSON) is read too
PACKED_NUMBERS = "@float64"  # the key of a packed block's numbers (no field of a result is so named)
PACKED_FIELDS = (*NUMBER_FIELDS, "correl")  # the result's fields a pack line holds packed
STALE_PACK_DAYS = 30.0  # packs of other code untouched this long are removed by the next run that writes
KEY_LENGTH = 40  # hex digits of a key (fit_key)
_KEY = re.compile(rb"[0-9a-f]{%d}\t" % KEY_LENGTH)


def _canonical(value: Any) -> Any:
    """JSON-stable form: floats to 12 significant digits, nan -> None, sorted keys."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    try:
        x = float(value)
    except (TypeError, ValueError):
        return repr(value)
    return None if not math.isfinite(x) else float(f"{x:.12g}")


def _digest(value: Any) -> str:
    text = json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def settings_hash(settings: Mapping[str, Any]) -> str:
    """Short hash (16 hex digits) of the fit settings of one checkpoint."""
    return _digest(settings)[:16]


def circuit_fingerprint(circuit: Any) -> str | None:
    """sha256 (16 hex digits) of everything a circuit definition gives a fit: the circuit
    string, every parameter's bounds and unit, the arc roles and the derived quantities
    (:class:`~eisfit.model.CircuitDefinition`), read again at each call; ``None`` for no
    circuit or ``"auto"``. A circuit named by a TOML file (``--circuit my.toml``) or a library
    file edited in a development checkout thus gets another cache key as soon as its content
    changes; the path or name given is hashed as well, with the other settings."""
    if circuit is None or (isinstance(circuit, str) and circuit == "auto"):
        return None
    from ..model import load_circuit

    d = load_circuit(circuit)
    return _digest({"string": d.string, "bounds": {k: list(v) for k, v in d.bounds.items()},
                    "units": d.units, "roles": d.roles, "derived": list(d.derived)})[:16]


def seed_hash(initial: Mapping[str, float] | None) -> str:
    return "" if not initial else _digest(initial)[:16]


def fit_key(content_sha256: str, sweep: int | None, settings_digest: str, kind: str,
            seed: str = "", reader: str = "") -> str:
    """The cache key (40 hex digits) of a fit of the file whose bytes have ``content_sha256``,
    read with the reader options ``reader`` (:meth:`eisfit.io.ReaderOptions.key`, "" as
    detected), with the settings whose hash is ``settings_digest``, by this code."""
    parts = [content_sha256, sweep, settings_digest, kind, seed, engine_fingerprint()]
    return _digest(parts + [reader] if reader else parts)[:40]


# what a cached fit depends on besides the file's bytes and the settings: the readers that
# turn the bytes into a spectrum and the code that fits it
_ENGINE_SOURCES = ("io", "fitting", "model", "analysis", "spectrum.py", "units.py", "__init__.py")


@functools.lru_cache(maxsize=1)
def engine_fingerprint() -> str:
    """sha256 (16 hex digits) of eisfit's version and of the source of the modules that
    read a file and compute its fit (io, fitting, model, analysis, spectrum): a cache entry
    written by other code (an upgrade, a development checkout) has another key and is
    fitted again."""
    from .. import __version__

    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256(__version__.encode())
    for name in _ENGINE_SOURCES:
        path = root / name
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


class FitCache:
    """A folder of pack files holding ``FitResult.to_dict()`` by key; ``None`` disables it.

    A folder that cannot be created raises :class:`~eisfit.CampaignError` (before any
    fit). An entry that cannot be used (not JSON, wrong shape, not a FitResult) is
    ignored with a :class:`~eisfit.campaign.CampaignWarning`, so that its fit is run
    again and written to a newer pack, which is read from then on; lines of a pack that
    hold no key are counted in one warning. A write that fails (disk full, folder made
    read-only) warns once and the cache stops writing; the campaign goes on.
    """

    def __init__(self, folder: str | Path | None):
        self.folder = None if folder is None else Path(folder)
        self.hits = 0
        self.writes = 0
        self.pruned = 0  # packs of other code removed (prune_other_versions)
        self._pruned_once = False
        self._warned_packs: set[Path] = set()  # packs with an unusable entry, warned about once
        self.write_error: str | None = None
        self._index: dict[str, tuple[Path, int]] | None = None  # key -> (pack, byte offset of its line)
        self._texts = SharedTexts()
        if self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CampaignError(f"{self.folder}: cannot create the cache folder: "
                                    f"{exc.strerror or exc} (use another --cache-dir or --no-cache)") from None

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def release(self) -> None:
        """Forget what is held in memory (the index of the packs, read again if asked: see
        :meth:`reread`): the campaign no longer reads from the cache once its fits are assembled."""
        self.reread()

    def kept_key(self, content_sha256: str, sweep: int | None, settings_digest: str, reader: str = "") -> str:
        """The key of a checkpoint's kept fit (:func:`fit_key`; ``reader``: the reader options'
        :meth:`eisfit.io.ReaderOptions.key`)."""
        return fit_key(content_sha256, sweep, settings_digest, "kept", reader=reader)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored result dict (its numbers packed as written: :func:`unpacked` reads
        them), or None (absent, disabled, unreadable or malformed); counted in :attr:`hits`
        when found."""
        found = self.get_with_result(key)
        return None if found is None else found[0]

    def get_with_result(self, key: str) -> tuple[dict[str, Any], Any] | None:
        """:meth:`get` and the FitResult the stored dict holds: checking an entry parses it
        once, and the campaign needs it parsed (5,000 hits: 0.4 s when parsed again)."""
        found = self._read(key)
        if found is not None:
            self.hits += 1
        return found

    def peek(self, key: str) -> dict[str, Any] | None:
        """:meth:`get` without counting a hit: a look at what this run stored itself."""
        found = self._read(key)
        return None if found is None else found[0]

    def _read(self, key: str) -> tuple[dict[str, Any], Any] | None:
        """(the stored result dict, its FitResult), or None (see :meth:`get`)."""
        if self.folder is None:
            return None
        where = self._lookup().get(key)
        if where is None:
            return None
        path, offset = where
        try:
            with path.open("rb") as fh:
                fh.seek(offset)
                line = fh.readline()
        except OSError as exc:
            return self._unusable(path, key, f"cannot read it: {exc.strerror or exc}")
        try:
            text = line[KEY_LENGTH + 1:].decode("utf-8")
        except UnicodeDecodeError:
            return self._unusable(path, key, "not UTF-8 text")
        try:
            data = json.loads(text)
        except ValueError:
            return self._unusable(path, key, "not valid JSON")
        result = _entry_result(data, text)
        if isinstance(result, str):
            return self._unusable(path, key, result)
        return data["result"], result

    def _unusable(self, path: Path, key: str, problem: str) -> None:
        """None for an entry that cannot be used (its fit runs again); one warning per pack
        (a damaged pack has hundreds of such entries)."""
        if path not in self._warned_packs:
            self._warned_packs.add(path)
            warnings.warn(f"cache entry {key[:12]} in {path} is unusable ({problem}); fitting again (and "
                          "every other unusable entry of this pack, without a warning each)", CampaignWarning,
                          stacklevel=user_stacklevel())
        return None

    def _lookup(self) -> dict[str, tuple[Path, int]]:
        """The index of this code's packs in the folder, built on the first lookup; packs
        are read oldest first, so a key written again is found in the newest."""
        if self._index is None:
            self._index = {}
            try:
                paths = list(self.folder.glob(f"pack-{engine_fingerprint()}-*.jsonl"))
            except OSError:
                paths = []
            packs = sorted(found for found in map(self._readable_pack, paths) if found is not None)
            for _, _, path in packs:
                self._index_pack(path)
        return self._index

    def _readable_pack(self, path: Path) -> tuple[int, str, Path] | None:
        """(modification time, name, path) of a pack that is a regular file; None, with a warning,
        for one that is not (a dangling link, a named pipe, a folder, a pack removed since the
        folder was listed): one such entry had emptied the whole index (a dangling link: every
        fit run again, on every rerun, without a word), and a named pipe made the lookup wait
        for ever, a SIGTERM's interrupt path waiting on it again."""
        try:
            info = path.stat()
        except OSError as exc:
            problem = exc.strerror or str(exc)
        else:
            if stat.S_ISREG(info.st_mode):
                return info.st_mtime_ns, path.name, path
            problem = "not a regular file"
        warnings.warn(f"cache pack {path} cannot be read ({problem}); left out", CampaignWarning,
                      stacklevel=user_stacklevel())
        return None

    def reread(self) -> None:
        """Forget the index: the next lookup reads the folder's packs again. After an
        interrupt: a pack renamed into place just before it may not be indexed yet."""
        self._index = None

    def _index_pack(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            warnings.warn(f"cache pack {path} cannot be read ({exc.strerror or exc}); its fits run again",
                          CampaignWarning, stacklevel=user_stacklevel())
            return
        offset, unreadable = 0, 0
        for line in data.splitlines(keepends=True):
            if _KEY.match(line):
                self._index[line[:KEY_LENGTH].decode("ascii")] = (path, offset)
            elif line.strip():
                unreadable += 1
            offset += len(line)
        if unreadable:  # whether such a line held a fit is unknown: its checkpoint, if any, is fitted again
            warnings.warn(f"cache pack {path} has {unreadable} line(s) without a key (damaged, or not written by "
                          "eisfit): left out, any fit they held runs again", CampaignWarning,
                          stacklevel=user_stacklevel())

    def prune_other_versions(self, max_age_days: float = STALE_PACK_DAYS) -> int:
        """Remove the packs written by other code (another :func:`engine_fingerprint`: an
        upgrade, an edited checkout) more than ``max_age_days`` ago (file modification time);
        their keys can never match this code's, and each upgrade left a folder's worth of them
        for ever. Packs another installation sharing the folder wrote within that time stay.
        Returns how many were removed (also counted in :attr:`pruned`)."""
        if self.folder is None:
            return 0
        limit = time.time() - max_age_days * 86400.0
        own = f"pack-{engine_fingerprint()}-"
        removed = 0
        try:
            packs = list(self.folder.glob("pack-*.jsonl"))
        except OSError:
            return 0
        for pack in packs:
            try:
                if not pack.name.startswith(own) and pack.stat().st_mtime < limit:
                    pack.unlink()
                    removed += 1
            except OSError:  # gone already, or not ours to remove: leave it
                continue
        self.pruned += removed
        return removed

    def put_many(self, entries: Sequence[tuple[str, dict[str, Any], Mapping[str, Any]]]) -> None:
        """Store (key, result, about) entries in one new pack, atomically (temp file +
        rename), so an interrupted run leaves no half file. The first write of a run
        removes the stale packs of other code (:meth:`prune_other_versions`)."""
        if self.folder is None or self.write_error is not None or not entries:
            return
        if not self._pruned_once:
            self._pruned_once = True
            self.prune_other_versions()
        # ASCII JSON (json.dumps' default): a line's bytes are its characters
        lines = [f"{key}\t{_entry_line(result, about, self._texts)}\n" for key, result, about in entries]
        digest = hashlib.sha256("".join(k for k, _, _ in entries).encode()).hexdigest()[:24]
        path = self.folder / f"pack-{engine_fingerprint()}-{digest}.jsonl"
        try:
            with atomic_text_file(path) as fh:
                fh.write("".join(lines))
        except OSError as exc:
            self.write_error = f"{exc.strerror or exc}"
            warnings.warn(f"cannot write to the cache folder {self.folder} ({self.write_error}); "
                          "the campaign goes on without caching", CampaignWarning, stacklevel=user_stacklevel())
            return
        if self._index is not None:
            offset = 0
            for (key, _, _), line in zip(entries, lines):
                self._index[key] = (path, offset)
                offset += len(line)
        self.writes += len(entries)


class MemoryCache(FitCache):
    """A cache kept in memory for one run (used when no cache folder is wanted): it
    lets an interrupted campaign keep the fits it finished. Counts no hits or writes
    in the run statistics of an uninterrupted run (its keys are never read twice)."""

    def __init__(self) -> None:
        super().__init__(None)
        self._store: dict[str, dict[str, Any]] = {}
        self.stored = 0  # results put (not counted as cache writes)

    @property
    def enabled(self) -> bool:
        return False

    def kept_key(self, content_sha256: str, sweep: int | None, settings_digest: str, reader: str = "") -> str:
        """A key for this run only: the inputs themselves, not their digest (same code, same
        process; 1,000 digests cost ~13 ms before the first fit could start); one file read
        two ways (two rows of a campaign file) has two keys."""
        return f"{content_sha256}/{sweep}/{settings_digest}" + (f"/{reader}" if reader else "")

    def get(self, key: str) -> dict[str, Any] | None:
        return self._store.get(key)

    def get_with_result(self, key: str) -> tuple[Any, None] | None:
        """(the entry as stored, None): this run's own entries need no parsing."""
        entry = self._store.get(key)
        return None if entry is None else (entry, None)

    def peek(self, key: str) -> dict[str, Any] | None:
        return self._store.get(key)

    def put_many(self, entries: Sequence[tuple[str, Any, Mapping[str, Any]]]) -> None:
        for key, result, _ in entries:
            self._store[key] = result
        self.stored += len(entries)

    def release(self) -> None:
        """Forget the fits kept for an interrupt (the run is over; the result holds them)."""
        self._store.clear()


@dataclass(frozen=True)
class KeptEntry:
    """What a pack stores of one kept fit, before it is written: the result
    (:meth:`~eisfit.fitting.result.FitResult.to_dict`) and the campaign's fields beside it
    (``extra``). Written by :func:`_entry_line`, whose :class:`SharedTexts` encode the
    result's :data:`~eisfit.fitting.result.SHARED_FIELDS` once for all the results that
    share them (5,000 CSV files: the settings alone had been 20 us of each entry's ~110)."""

    result: Any  # FitResult
    extra: Mapping[str, Any]

    def json_text(self, texts: "SharedTexts") -> str:
        """The JSON object of :meth:`FitResult.to_dict` with ``extra``'s keys added, the
        numbers of :data:`PACKED_FIELDS` packed (:func:`packed_fields`; :func:`unpacked`
        reads them back; the shared fields come last)."""
        packed = packed_fields(self.result)
        own = json.dumps({**self.result.dict_without(SHARED_FIELDS + tuple(packed)), **packed, **self.extra})
        shared = ", ".join(f'"{name}": {texts.text(getattr(self.result, name))}' for name in SHARED_FIELDS)
        return f"{own[:-1]}, {shared}}}"


def packed_block(names: Collection[str], numbers: Iterable[float] | np.ndarray) -> dict[str, str] | None:
    """``{"@float64": <base64 of the numbers as little-endian float64>, "names": "R0 R1 ..."}``:
    numbers in one JSON string, every bit kept; None where a name holds a space (or is empty)
    or a number is not one (such a field stays plain JSON)."""
    joined = " ".join(names)
    if joined.count(" ") != max(len(names) - 1, 0) or "" in names:
        return None
    if isinstance(numbers, np.ndarray):
        data = numbers.astype("<f8").tobytes()
    else:
        numbers = list(numbers)
        try:
            data = struct.pack(f"<{len(numbers)}d", *numbers)
        except (struct.error, TypeError):
            return None
    return {PACKED_NUMBERS: base64.b64encode(data).decode("ascii"), "names": joined}


def packed_fields(result: Any) -> dict[str, dict[str, str]]:
    """The packed blocks of a FitResult's values, stderr and derived quantities (name ->
    number each) and of its correlation matrix (a :class:`Correlations`: its names, the n x n
    numbers row by row); a field that cannot be packed is left out (written as JSON)."""
    out: dict[str, dict[str, str]] = {}
    for name in NUMBER_FIELDS:
        numbers = getattr(result, name)
        block = packed_block(numbers, numbers.values())
        if block is not None:
            out[name] = block
    correl = result.correl
    if isinstance(correl, Correlations):
        block = packed_block(correl.names, correl.matrix.ravel())
        if block is not None:
            out["correl"] = block
    return out


def unpacked(result: Mapping[str, Any]) -> Mapping[str, Any]:
    """A pack line's result object with its packed blocks read (:func:`packed_fields`):
    values, stderr and derived as dicts of floats, the correlations as a
    :class:`Correlations`; ``result`` itself where it holds none (format 2, or an entry
    stored as a plain dict). ValueError for a damaged block."""
    out = None
    for name in PACKED_FIELDS:
        block = result.get(name)
        if isinstance(block, dict) and PACKED_NUMBERS in block:
            if out is None:
                out = dict(result)
            out[name] = _block_value(name, block)
    return result if out is None else out


def _block_value(field_name: str, block: Mapping[str, Any]) -> Any:
    names = str(block["names"]).split(" ") if block["names"] else []
    numbers = np.frombuffer(base64.b64decode(str(block[PACKED_NUMBERS]), validate=True), dtype="<f8")
    if field_name == "correl":
        return Correlations(names, numbers.reshape(len(names), len(names)))
    if numbers.size != len(names):
        raise ValueError(f"{field_name}: {numbers.size} numbers for {len(names)} names")
    return dict(zip(names, numbers.tolist()))


class SharedTexts:
    """JSON texts of containers that many entries of a run share (the one settings dict of
    a campaign's results, its units...), each encoded once. Keyed by identity, the container
    held meanwhile so that its id is not reused; such containers are never changed in place
    (:func:`~eisfit.fitting.result.share_equal_fields`)."""

    LIMIT = 256  # containers remembered at most (a run has a few per circuit and settings)

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Any, str]] = {}

    def text(self, value: Any, canonical: bool = False) -> str:
        """``json.dumps(to_jsonable(value))`` (:func:`_canonical` instead with ``canonical``)."""
        key = (id(value), canonical)
        known = self._texts.get(key)
        if known is None or known[0] is not value:
            if len(self._texts) >= self.LIMIT:
                self._texts.clear()
            known = self._texts[key] = (value, json.dumps(_canonical(value) if canonical else to_jsonable(value)))
        return known[1]


def _entry_line(result: Mapping[str, Any] | KeptEntry, about: Mapping[str, Any], texts: SharedTexts) -> str:
    """The JSON object of one pack line: format, about, result and the result's sha256
    (the result's text made once: it is most of the line). ``about``'s values are written
    as :func:`_canonical` gives them, its keys sorted; a settings dict shared by many
    entries is encoded once (``texts``)."""
    result_text = result.json_text(texts) if isinstance(result, KeptEntry) else json.dumps(result)
    about_text = ", ".join(f"{json.dumps(str(k))}: {_about_value_text(v, texts)}"
                           for k, v in sorted(about.items(), key=lambda kv: str(kv[0])))
    return (f'{{"format": "{CACHE_FORMAT}", "about": {{{about_text}}}, {_RESULT_FIELD}{result_text}'
            f'{_SHA256_FIELD}"{_sha256_of(result_text)}"}}')


def _about_value_text(value: Any, texts: SharedTexts) -> str:
    """The JSON text of one value of an entry's about, in :func:`_canonical` form (a dict, the
    settings, through ``texts``: the items of one settings share one dict)."""
    return texts.text(value, canonical=True) if isinstance(value, Mapping) else json.dumps(_canonical(value))


def _sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _stored_result_text(line: str) -> str:
    """The text of the result object in a pack line (:func:`_entry_line`): what its sha256
    was computed from, so an entry whose numbers were edited or damaged since it was
    written no longer matches (a hand-edited R2 = 1e30 had been shown beside the ASR of the
    fitted value); "" when the line is not laid out so (rewritten by another program)."""
    start, end = line.find(_RESULT_FIELD), line.rfind(_SHA256_FIELD)
    return line[start + len(_RESULT_FIELD):end] if 0 <= start < end else ""


_RESULT_FIELD = '"result": '
_SHA256_FIELD = ', "sha256": '


def _entry_result(data: Any, line: str) -> Any:
    """The FitResult of a parsed pack line (``line`` its text), or why it cannot be used (a str)."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    if data.get("format") not in READ_FORMATS:
        return f"format {data.get('format')!r}, expected {CACHE_FORMAT!r}"
    if not isinstance(data.get("result"), dict):
        return "no result object"
    if data.get("sha256") != _sha256_of(_stored_result_text(line)):
        return "its result does not match its checksum (edited or damaged)"
    from ..fitting.result import FitResult

    try:
        result = FitResult.from_dict(unpacked(data["result"]))
    except Exception as exc:  # any malformation of the stored dict (a damaged packed block too): refit
        return f"not a fit result: {type(exc).__name__}: {exc}"
    return _result_problem(result) or result


def _result_problem(result: Any) -> str | None:
    """What makes a FitResult read from a cache file unusable (an edited or damaged entry
    that from_dict still accepts), or None."""
    if not (isinstance(result.flags, list) and all(isinstance(f, str) for f in result.flags)):
        return "flags are not a list of texts"
    for name in result.param_names:
        value = result.values.get(name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
            return f"parameter {name} has no value"
    if len(result.frequency) != len(result.z) or len(result.z_fit) != len(result.z):
        return "frequency, z and z_fit differ in length"
    return None
