"""Format module ``powersuite``: see :mod:`eisfit.io.instruments` (vendor ``POWERSUITE``)."""
from __future__ import annotations

from .instruments import POWERSUITE as _VENDOR

NAME = _VENDOR.name
NAMES = [NAME, *_VENDOR.aliases]
EXTENSIONS = list(_VENDOR.extensions)
sniff = _VENDOR.sniff
read = _VENDOR.read
