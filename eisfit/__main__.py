"""``python -m eisfit``: the ``eisfit`` command."""
from eisfit.cli import run

if __name__ == "__main__":
    run(prog_name="eisfit")
