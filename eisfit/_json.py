"""Conversion of nested metadata and settings to JSON-safe values (shared by exporters and results)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    """Dicts, lists, tuples and arrays recursively; numpy scalars to Python; non-finite
    floats to None; anything else that JSON cannot hold (paths, datetimes) to text."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # the common leaves first
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
