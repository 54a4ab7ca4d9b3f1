"""The ``eisfit`` command: a thin layer over the library (parse options, call, print).

Each command lives in its own section below; nothing is computed here that the
library does not also offer.
"""
from __future__ import annotations

import sys

import click

from . import __version__
from .errors import EisfitError


class _Group(click.Group):
    """Turns eisfit errors into one clear line and exit code 2 instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EisfitError as exc:
            click.echo(f"eisfit: error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="eisfit")
def main() -> None:
    """Fit equivalent circuits to impedance spectra of solid-state cells."""


# ---- section: read / info / convert (readers) ------------------------------
# ---- end section: readers ---------------------------------------------------

# ---- section: circuits ------------------------------------------------------
# ---- end section: circuits --------------------------------------------------

# ---- section: fit -------------------------------------------------------------
# ---- end section: fit ---------------------------------------------------------

# ---- section: validate (Kramers-Kronig) --------------------------------------
# ---- end section: validate ----------------------------------------------------

# ---- section: drt --------------------------------------------------------------
# ---- end section: drt ----------------------------------------------------------

# ---- section: campaign --------------------------------------------------------
# ---- end section: campaign ----------------------------------------------------


if __name__ == "__main__":  # pragma: no cover
    main()
