"""The table rows of a campaign, streamed to a CSV file as the fits finish.

:class:`RowStream` appends the rows of each finished chunk to the results file (the
campaign's ``summary.csv``) at once, so a campaign that dies (a killed process, a lost
worker, a full disk later on) leaves every row already computed on disk. The rows come in
the order the chunks finish and without the campaign flags decided at the end
(``arc-jump``); :meth:`CampaignResult.write` replaces the file by the whole table, in
campaign order, when the run ends.

The first rows fix the columns; a later row with new columns (a checkpoint with another
circuit) rewrites the file once with the wider header. A write that fails warns once and
the campaign goes on (the table is still written at the end). Rows are appended whole: a
chunk's rows that cannot all be written (a full disk) are cut off again, so the file never
ends in a half row that reads as a number (a disk filled mid-run had left the last line cut
mid-field, and pandas read its first cell as a value of 1.0). The campaign streams to
``summary.partial.csv`` (:data:`eisfit.campaign.outputs.PARTIAL_ROWS`), a name no finished
table has.
"""
from __future__ import annotations

import csv
import io
import os
import warnings
from pathlib import Path
from typing import Any, Iterable

from .._caller import user_stacklevel
from .._files import atomic_text_file
from .sources import CampaignWarning

__all__ = ["RowStream"]


class RowStream:
    """Appends dict rows to a CSV file; ``columns`` orders the header (see module doc)."""

    def __init__(self, path: str | Path, columns=None):
        self.path = Path(path)
        self.header: list[str] | None = None
        self.n_rows = 0
        self.error: str | None = None
        self._order = columns  # callable: rows -> ordered column names

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        if not rows or self.error is not None:
            return
        try:
            if self.header is None:
                self.header = self._columns(rows)
                self._write_all(rows, self.header)
            elif not self._known.issuperset(k for r in rows for k in r):
                self._widen(rows)
            else:
                self._append(rows)
        except OSError as exc:
            self.error = f"{exc.strerror or exc}"
            warnings.warn(f"cannot write the rows to {self.path} ({self.error}); the campaign goes on "
                          "and writes the table at the end", CampaignWarning, stacklevel=user_stacklevel())
            return
        self.n_rows += len(rows)

    def _append(self, rows: list[dict[str, Any]]) -> None:
        """The rows at the end of the file, all or none: on an error the file is cut back
        to its length before (a partial last line would read as data)."""
        text = io.StringIO(newline="")
        csv.writer(text).writerows(_line(r, self.header or []) for r in rows)
        data = text.getvalue().encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            size = os.fstat(fd).st_size
            try:
                while data:
                    data = data[os.write(fd, data):]
            except OSError:
                try:
                    os.ftruncate(fd, size)
                except OSError:
                    pass
                raise
        finally:
            os.close(fd)

    @property
    def _known(self) -> set[str]:
        return set(self.header or ())

    def _columns(self, rows: list[dict[str, Any]]) -> list[str]:
        if self._order is not None:
            return list(self._order(rows))
        seen: dict[str, None] = {}
        for r in rows:
            seen.update(dict.fromkeys(r))
        return list(seen)

    def _widen(self, rows: list[dict[str, Any]]) -> None:
        """Rewrite the file with a header that also holds the new columns (rare)."""
        with self.path.open(newline="", encoding="utf-8") as fh:
            old = list(csv.DictReader(fh))
        header = self._columns([dict.fromkeys(self.header or ()), *rows])
        self._write_all(old + rows, header)
        self.header = header

    def _write_all(self, rows: list[dict[str, Any]], header: list[str]) -> None:
        """The whole file at once, atomically."""
        with atomic_text_file(self.path) as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(_line(r, header) for r in rows)


def _line(row: dict[str, Any], header: list[str]) -> list[Any]:
    """The cells of ``row`` in the order of ``header``, as pandas writes them: None, NaN
    and a column the row lacks empty (NaN: the float unequal to itself)."""
    cells = [row.get(name) for name in header]
    return ["" if v is None or (isinstance(v, float) and v != v) else v for v in cells]
