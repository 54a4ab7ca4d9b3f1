"""Shared test fixtures.

Real measured files live in ``../shared/realdata`` beside the repository (never
copied into it: licences). Tests that need them use the ``realdata`` fixture and
are skipped with a visible reason when the folder is absent.
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
    """Path inside ../shared/realdata, skipping the calling test when it is absent."""
    p = REALDATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not available: {p} (../shared/realdata is absent)")
    return p


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"real data folder {REALDATA} is absent; real-file conformance tests skipped")
    return REALDATA
