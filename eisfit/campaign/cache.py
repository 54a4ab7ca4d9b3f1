"""Result cache of a campaign: one JSON file per fit, written as soon as the fit ends.

A key is the sha256 of (file content sha256, sweep, settings hash, pass, seed):

* ``pass`` is ``"cold"`` (multi-start from the automatic guess) or ``"seeded"``;
* ``seed`` is the hash of the starting values of a seeded fit (empty for cold fits).

So a re-run with nothing changed fits nothing; adding a checkpoint at the end of a
chain fits only it; inserting or changing one re-runs its cold fit and the seeded
fits of the checkpoints after it in the same chain (their seed changed). Failed
fits are not cached (they are retried on the next run).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

__all__ = ["FitCache", "settings_hash", "seed_hash", "fit_key"]

CACHE_FORMAT = "eisfit-campaign-cache/1"


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


def seed_hash(initial: Mapping[str, float] | None) -> str:
    return "" if not initial else _digest(initial)[:16]


def fit_key(content_sha256: str, sweep: int | None, settings_digest: str, kind: str,
            seed: str = "") -> str:
    return _digest([content_sha256, sweep, settings_digest, kind, seed])[:40]


class FitCache:
    """A folder of ``<key>.json`` files holding ``FitResult.to_dict()``; ``None`` disables it."""

    def __init__(self, folder: str | Path | None):
        self.folder = None if folder is None else Path(folder)
        self.hits = 0
        self.writes = 0
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored result dict, or None (absent, disabled or unreadable)."""
        if self.folder is None:
            return None
        path = self.folder / f"{key}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("format") != CACHE_FORMAT or "result" not in data:
            return None
        self.hits += 1
        return data["result"]

    def put(self, key: str, result: dict[str, Any], about: Mapping[str, Any]) -> None:
        """Store atomically (temp file + rename), so an interrupted run leaves no half file."""
        if self.folder is None:
            return
        data = {"format": CACHE_FORMAT, "about": _canonical(dict(about)), "result": result}
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, self.folder / f"{key}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.writes += 1
