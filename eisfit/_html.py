"""Small HTML building blocks for notebook views (``_repr_html_``) and reports.

Everything is escaped here; callers pass plain text.
"""
from __future__ import annotations

from html import escape
from typing import Iterable, Sequence

__all__ = ["escape", "html_table", "html_list"]

TABLE_STYLE = "border-collapse:collapse;font-size:90%"
CELL_STYLE = "padding:2px 8px;border-bottom:1px solid #ddd"


def html_table(head: Sequence[str], rows: Iterable[Sequence[object]], numeric_from: int = 1,
               caption: str | None = None) -> str:
    """An HTML table of plain-text cells; columns from ``numeric_from`` on are right-aligned."""
    def cell(tag: str, k: int, text: object) -> str:
        align = "right" if k >= numeric_from else "left"
        return f'<{tag} style="{CELL_STYLE};text-align:{align}">{escape(str(text))}</{tag}>'

    parts = [f'<table style="{TABLE_STYLE}">']
    if caption:
        parts.append(f'<caption style="text-align:left;font-weight:bold">{escape(caption)}</caption>')
    parts.append("<thead><tr>" + "".join(cell("th", k, h) for k, h in enumerate(head)) + "</tr></thead>")
    parts.append("<tbody>")
    for row in rows:
        parts.append("<tr>" + "".join(cell("td", k, c) for k, c in enumerate(row)) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def html_list(items: Iterable[str]) -> str:
    """An HTML bullet list of plain-text items (empty string when there are none)."""
    items = [f"<li>{escape(i)}</li>" for i in items]
    return f"<ul>{''.join(items)}</ul>" if items else ""
