"""``python -m eisfit``: the ``eisfit`` command."""
from eisfit.cli import main

if __name__ == "__main__":
    main(prog_name="eisfit")
