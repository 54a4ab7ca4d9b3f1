"""A campaign loses nothing already computed and writes nothing that can be mistaken for a
result when a file, the disk, a worker or the user stops it (audit of the campaign command):
cache keys follow the circuit definition's content, outputs are complete or clearly not
there, an earlier run's files are not left beside a new run's, signals end the run cleanly."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import eisfit
from test_cli_conventions import CIRCUIT, QUICK, REPO, data_folder, read_rows, run

FAST = {"starts": 2, "profile": False, "progress": False}


# ---- 1. the cache key holds the circuit definition's content, not its path ----------------

def test_editing_a_circuit_file_refits_instead_of_reading_the_cache(tmp_path):
    """Bounds changed in my.toml: the old fits (CPE2_1 above the new bound) were read back
    from the cache (`fits run: 0`); now the edit changes the key."""
    folder = tmp_path / "data"
    data_folder(folder, 2)
    toml = tmp_path / "my.toml"
    toml.write_text(f'name = "my-cell"\ncircuit = "{CIRCUIT}"\n[parameters.CPE2_1]\nbounds = [0.5, 1.0]\n')
    out = tmp_path / "out"
    first = eisfit.fit_campaign(folder, circuit=str(toml), out=out, **FAST)
    assert first.stats["fits_run"] == 2
    again = eisfit.fit_campaign(folder, circuit=str(toml), out=out, **FAST)
    assert again.stats["fits_run"] == 0 and again.stats["cache_hits"] == 2  # nothing changed: all from the cache
    toml.write_text(f'name = "my-cell"\ncircuit = "{CIRCUIT}"\n[parameters.CPE2_1]\nbounds = [0.5, 0.8]\n')
    edited = eisfit.fit_campaign(folder, circuit=str(toml), out=out, **FAST)
    assert edited.stats["fits_run"] == 2 and edited.stats["cache_hits"] == 0
    assert all(r.values["CPE2_1"] <= 0.8 + 1e-12 for r in edited.results)
    toml.write_text('name = "my-cell"\ncircuit = "R0-p(R1,CPE1)"\n')
    one_arc = eisfit.fit_campaign(folder, circuit=str(toml), out=out, **FAST)
    assert one_arc.stats["fits_run"] == 2 and all("R2" not in r.values for r in one_arc.results)


def test_circuit_fingerprint_follows_bounds_units_and_roles_not_the_path(tmp_path):
    from eisfit.campaign.cache import circuit_fingerprint

    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    text = f'name = "x"\ncircuit = "{CIRCUIT}"\n'
    a.write_text(text)
    b.write_text(text)
    assert circuit_fingerprint(str(a)) == circuit_fingerprint(str(b)) == circuit_fingerprint(CIRCUIT)
    b.write_text(text + '[parameters.R1]\nbounds = [1, 1000]\n')
    assert circuit_fingerprint(str(b)) != circuit_fingerprint(str(a))
    assert circuit_fingerprint(None) is None and circuit_fingerprint("auto") is None
