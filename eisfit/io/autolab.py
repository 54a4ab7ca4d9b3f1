"""Format module ``autolab``: see :mod:`eisfit.io.instruments` (vendor ``AUTOLAB``)."""
from __future__ import annotations

from .instruments import AUTOLAB as _VENDOR

NAME = _VENDOR.name
NAMES = [NAME, *_VENDOR.aliases]
EXTENSIONS = list(_VENDOR.extensions)
sniff = _VENDOR.sniff
read = _VENDOR.read
