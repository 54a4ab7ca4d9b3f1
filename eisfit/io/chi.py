"""Format module ``chi``: see :mod:`eisfit.io.instruments` (vendor ``CHI``)."""
from __future__ import annotations

from .instruments import CHI as _VENDOR

NAME = _VENDOR.name
NAMES = [NAME, *_VENDOR.aliases]
EXTENSIONS = list(_VENDOR.extensions)
sniff = _VENDOR.sniff
read = _VENDOR.read
