"""``python -m eisfit``: the ``eisfit`` command."""
from eisfit._launch import run

if __name__ == "__main__":
    run(prog_name="eisfit")
