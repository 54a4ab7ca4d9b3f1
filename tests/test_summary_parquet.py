"""summary.parquet: the table of summary.csv, typed; Arrow's allocator gives back what the
conversion used (a large campaign's process kept ~19 MB per 10,000 rows otherwise)."""
import numpy as np
import pandas as pd
import pytest

import eisfit
from eisfit import Spectrum
from eisfit.campaign import result as campaign_result
from eisfit.model import Circuit

pyarrow = pytest.importorskip("pyarrow", reason="summary.parquet needs pyarrow (the test extras install it)")

HEADLINE = "R0-p(R1,CPE1)-p(R2,CPE2)"
F = np.logspace(6, 0, 31)


@pytest.fixture(scope="module")
def camp():
    spectra = []
    for k in range(3):
        z = Circuit(HEADLINE).impedance(np.array([10.0, 80.0, 1e-9, 0.9, 200.0 - 40 * k, 2e-6, 0.85]), F)
        rng = np.random.default_rng(k)
        spectra.append(Spectrum(F, z * (1 + 0.002 * rng.standard_normal(F.size)), meta={"label": f"{100 * k} h"}))
    return eisfit.fit_campaign(spectra, circuit=HEADLINE, area_cm2=0.785, cache_dir=False, progress=False)


def test_parquet_holds_the_table_of_the_csv(camp, tmp_path):
    camp.write(tmp_path, figures=False)
    csv = pd.read_csv(tmp_path / "summary.csv")
    parquet = pd.read_parquet(tmp_path / "summary.parquet")
    assert list(parquet.columns) == list(csv.columns) and len(parquet) == 3
    np.testing.assert_allclose(parquet["R2_asr_ohm_cm2"].to_numpy(float), csv["R2_asr_ohm_cm2"].to_numpy(float),
                               rtol=1e-12)
    assert list(parquet["label"]) == ["0 h", "100 h", "200 h"]
    assert pd.api.types.is_string_dtype(parquet["flags"]) and parquet["flags"].dtype != object  # typed as text


class _Pool:
    released = 0

    def release_unused(self):
        _Pool.released += 1


def test_the_arrow_memory_is_given_back_after_writing_and_after_a_failure(camp, tmp_path, monkeypatch):
    monkeypatch.setattr(pyarrow, "default_memory_pool", lambda: _Pool())
    _Pool.released = 0
    campaign_result._write_parquet(camp.table, tmp_path / "summary.parquet")
    assert (tmp_path / "summary.parquet").exists() and _Pool.released == 1
    with pytest.warns(RuntimeWarning, match="summary.parquet not written"):
        campaign_result._write_parquet(camp.table, tmp_path / "missing-folder" / "summary.parquet")
    assert _Pool.released == 2


def test_parquet_written_in_row_groups_reads_back_as_the_whole_table_written_at_once(camp, tmp_path, monkeypatch):
    """The table is converted and written a few rows at a time (a large campaign's memory):
    two row groups of a 3-row table read back as the frame pandas writes in one piece."""
    import pyarrow.parquet

    monkeypatch.setattr(campaign_result, "PARQUET_CHUNK_ROWS", 2)
    table = camp.table
    campaign_result._write_parquet(table, tmp_path / "summary.parquet")
    assert pyarrow.parquet.ParquetFile(tmp_path / "summary.parquet").num_row_groups == 2
    table.astype({c: "string" for c in table.columns if table[c].dtype == object}).to_parquet(
        tmp_path / "whole.parquet", index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "summary.parquet"),
                                  pd.read_parquet(tmp_path / "whole.parquet"))
