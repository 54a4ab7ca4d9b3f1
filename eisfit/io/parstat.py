"""Format module ``parstat``: see :mod:`eisfit.io.instruments` (vendor ``PARSTAT``)."""
from __future__ import annotations

from .instruments import PARSTAT as _VENDOR

NAME = _VENDOR.name
NAMES = [NAME, *_VENDOR.aliases]
EXTENSIONS = list(_VENDOR.extensions)
sniff = _VENDOR.sniff
read = _VENDOR.read
