"""Atomic text files: complete or absent, with the permissions of any new file."""
from __future__ import annotations

import os
import sys

import pytest

from eisfit._files import atomic_path, atomic_text_file


@pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX permissions")
def test_atomic_file_gets_the_permissions_of_a_new_file(tmp_path):
    """summary.csv was written 0600 (the private temporary file renamed) beside 0644 outputs."""
    old = os.umask(0o022)
    try:
        with atomic_text_file(tmp_path / "summary.csv") as fh:
            fh.write("a,b\n1,2\n")
        (tmp_path / "plain.csv").write_text("a\n")
    finally:
        os.umask(old)
    assert (tmp_path / "summary.csv").stat().st_mode & 0o777 == (tmp_path / "plain.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "summary.csv").read_text() == "a,b\n1,2\n"


def test_atomic_file_left_as_it_was_when_the_block_fails(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_text_file(target) as fh:
            fh.write("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_a_failed_atomic_write_names_the_file_asked_for_not_its_temporary_one(tmp_path):
    """A folder in place of summary.csv: the error had named `.tmp-fbc2yrve.csv` as its file and the
    command's message only the output folder."""
    (tmp_path / "summary.csv").mkdir()
    with pytest.raises(IsADirectoryError) as caught:
        with atomic_text_file(tmp_path / "summary.csv") as fh:
            fh.write("a\n")
    assert caught.value.filename == str(tmp_path / "summary.csv")
    with pytest.raises(IsADirectoryError) as caught:
        with atomic_path(tmp_path / "summary.csv") as tmp:
            tmp.write_text("a\n")
    assert caught.value.filename == str(tmp_path / "summary.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.csv"]  # no temporary file left


def test_an_atomic_file_in_a_missing_folder_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        with atomic_text_file(tmp_path / "gone" / "report.md"):
            pass
    assert caught.value.filename == str(tmp_path / "gone" / "report.md")
