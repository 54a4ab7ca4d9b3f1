"""The ``eisfit`` program's entry (its console script and ``python -m eisfit``).

Python raises a Ctrl-C as ``KeyboardInterrupt`` wherever the program is, also while it
imports its own modules (numpy, click, the command line: ~0.2 s before a command
starts). The command line (:mod:`eisfit.cli`) answers an interrupt once its commands run;
this module, which imports nothing before it, answers one that comes earlier, or between
the command's end and the process's: one line and exit status 130, as an interrupted
command, never a traceback.
"""
from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as eisfit.cli's


def run(prog_name: str = "eisfit") -> None:
    """Run the ``eisfit`` command on the process's arguments and end the process."""
    try:
        from .cli import run as run_command

        run_command(prog_name=prog_name)
    except KeyboardInterrupt:
        try:
            sys.stderr.write(f"{prog_name}: error: interrupted\n")  # as eisfit.cli says it
            sys.stderr.flush()
        except (OSError, ValueError):  # a closed stderr: the status says it
            pass
        sys.exit(EXIT_INTERRUPTED)
