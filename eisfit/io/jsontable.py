"""Tables saved as JSON: what ``pandas.DataFrame.to_json`` writes, and plain dicts of lists.

What this reader accepts (one table per file, column names as headers, so the rules of
delimited tables apply: units in the names, the Z'' sign, sweeps):

* ``{"column": {"0": value, "1": value, ...}, ...}``: pandas' default ("columns") layout;
  rows follow the index keys (numerically when they are integers);
* ``{"0": {"column": value, ...}, "1": {...}}``: the "index" layout (integer outer keys);
* ``{"column": [values...], ...}``: a dict of equally long lists;
* ``[{"column": value, ...}, ...]``: the "records" layout;
* ``{"columns": [...], "data": [[...], ...]}``: the "split" layout (``"index"`` ignored);
* ``{"schema": {...}, "data": [{...}, ...]}``: the "table" layout (records in ``data``).

Values may be numbers or numeric text; ``null`` is a missing value (an error where a
frequency or an impedance is needed). eisfit's own JSON export has its own reader
(:mod:`eisfit.io.export`).
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Mapping

from ..errors import CorruptFileError, MissingColumnError
from ._common import file_bytes
from ..spectrum import Spectrum
from ._sheets import cell_text
from .tabular import TableFormat, decode_text, head_text, names_a_frequency, read_table_lines

NAME = "json-table"
NAMES = ["json-table", "json"]
EXTENSIONS = [".json"]


def sniff(head: bytes, path: Path) -> int:
    """65 for JSON text whose first bytes name a frequency column (a key, or a name in a
    "columns" list; above what a delimited table scores); 0 otherwise. eisfit's own export
    and PalmSens sessions are claimed by their readers with higher scores."""
    text = head_text(head).text.lstrip("\ufeff \t\r\n")
    if not text.startswith(("{", "[")):
        return 0
    return 65 if any(names_a_frequency(s) for s in _JSON_STRING.findall(text[:4096])) else 0


_JSON_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def read(path: str | Path, *, imag_sign: str | None = None, decimal: str | None = None,
         columns: Mapping[str, int | str] | None = None) -> list[Spectrum]:
    """Read the impedance table of a JSON file (frequency Hz, Z ohm, Z'' < 0 capacitive);
    the options are those of delimited tables (:func:`eisfit.io.tabular.read`)."""
    p = Path(path)
    data = file_bytes(p)
    try:
        doc = json.loads(decode_text(data).lstrip("\ufeff"))
    except UnicodeDecodeError as exc:
        raise CorruptFileError(p, f"undecodable text ({exc.reason})") from None
    except ValueError as exc:
        raise CorruptFileError(p, f"damaged JSON: {exc} (truncated file?)") from None
    names, rows = _table(p, doc)
    if not rows:
        raise CorruptFileError(p, "the JSON table has no rows")
    lines = ["\t".join(cell_text(str(n)) for n in names)] + ["\t".join(_field(v) for v in row) for row in rows]
    return read_table_lines(p, lines, TableFormat(name=NAME), {}, delimiter="\t", decimal=decimal, header=True,
                            imag_sign=imag_sign, columns=columns)


def _field(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    if isinstance(value, (dict, list)):
        return "?"  # not a table cell: reported by the table engine if the column is needed
    return cell_text(str(value))


def _table(p: Path, doc: Any) -> tuple[list[str], list[list[Any]]]:
    """(column names, rows) of the layouts listed in the module docstring."""
    if isinstance(doc, dict) and isinstance(doc.get("data"), list) and ("columns" in doc or "schema" in doc):
        if "columns" in doc:  # split
            names = [str(c) for c in doc["columns"]]
            rows = [list(r) if isinstance(r, list) else [] for r in doc["data"]]
            return names, rows
        return _records(p, doc["data"])  # table
    if isinstance(doc, list):
        return _records(p, doc)
    if not isinstance(doc, dict) or not doc:
        raise MissingColumnError(p, "JSON that is not a table (no columns)")
    values = list(doc.values())
    if all(isinstance(v, list) for v in values):
        lengths = {len(v) for v in values}
        if len(lengths) != 1:
            raise CorruptFileError(p, f"columns of different lengths ({', '.join(map(str, sorted(lengths)))})")
        return [str(k) for k in doc], [list(r) for r in zip(*values)]
    if all(isinstance(v, dict) for v in values):
        if all(_is_int(k) for k in doc) and not all(_is_int(k) for v in values for k in v):
            return _records(p, [doc[k] for k in sorted(doc, key=int)])  # index layout
        index = list(dict.fromkeys(k for v in values for k in v))  # the document's order
        if all(_is_int(k) for k in index):  # a row number: its order
            index.sort(key=int)
        return [str(k) for k in doc], [[doc[c].get(i) for c in doc] for i in index]
    raise MissingColumnError(p, "JSON that is not a table: values must be columns (lists or index -> value)")


def _records(p: Path, records: list) -> tuple[list[str], list[list[Any]]]:
    if not all(isinstance(r, dict) for r in records):
        raise MissingColumnError(p, "JSON records that are not objects of column -> value")
    names: list[str] = []
    for r in records:
        names += [k for k in r if k not in names]
    return names, [[r.get(n) for n in names] for r in records]


def _is_int(key: Any) -> bool:
    try:
        int(key)
    except (TypeError, ValueError):
        return False
    return True
