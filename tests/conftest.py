"""Shared test fixtures.

Real measured files live in ``../shared/realdata`` beside the repository (never
copied into it: licences). Tests that need them use the ``realdata`` fixture or
``realdata_path`` and are skipped with a visible reason when the folder or file is
absent. Set ``EISFIT_REALDATA=/some/folder`` to read them from another root laid out
the same way (e.g. a scratch copy: ``<root>/text/eisfitpython/EIS_Data/...``).
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parent.parent
REALDATA = Path(os.environ.get("EISFIT_REALDATA", REPO.parent / "shared" / "realdata"))


def realdata_path(*parts: str) -> Path:
    """Path inside the real-data root, skipping the calling test when it is absent."""
    p = REALDATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not available: {p} is absent "
                    f"(real-data root {REALDATA}; override with EISFIT_REALDATA)")
    return p


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"real data folder {REALDATA} is absent; real-file conformance tests skipped")
    return REALDATA
