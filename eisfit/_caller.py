"""Where a warning of eisfit points: the user's line, not eisfit's own."""
from __future__ import annotations

import sys


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes ``warnings.warn``, called in the function that calls this,
    name the first frame outside the eisfit package: the notebook cell or script line that
    called eisfit (frames of :mod:`contextlib`'s decorators in between skipped too). A fixed
    stacklevel counts the frames of one path into the warning; a reader's warning is reached
    through ``eisfit.read``, a campaign's loader or a test calling the reader itself, at depths
    that differ (most of the 90 hand-counted levels had pointed inside eisfit)."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] in _SKIPPED:
        frame, level = frame.f_back, level + 1
    return level


# eisfit, and the decorators' plumbing between a public function and its caller
# (``fit_campaign`` runs inside a ``contextlib.ContextDecorator``)
_SKIPPED = frozenset({"eisfit", "contextlib"})
