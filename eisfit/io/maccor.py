"""Format module ``maccor``: see :mod:`eisfit.io.instruments` (vendor ``MACCOR``)."""
from __future__ import annotations

from .instruments import MACCOR as _VENDOR

NAME = _VENDOR.name
NAMES = [NAME, *_VENDOR.aliases]
EXTENSIONS = list(_VENDOR.extensions)
sniff = _VENDOR.sniff
read = _VENDOR.read
