"""Small HTML building blocks for notebook views (``_repr_html_``) and reports.

Everything is escaped here; callers pass plain text.
"""
from __future__ import annotations

import re
from html import escape
from typing import Callable, Iterable, Sequence

__all__ = ["escape", "html_table", "html_list", "markdown_html"]

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


_IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)]*)\)$")
_INLINE = re.compile(r"`([^`]*)`|\*\*([^*]+)\*\*")


def _inline(text: str) -> str:
    """Escaped text with `code` and **bold** as HTML."""
    out, last = [], 0
    for m in _INLINE.finditer(text):
        out.append(escape(text[last:m.start()]))
        out.append(f"<code>{escape(m.group(1))}</code>" if m.group(1) is not None else f"<b>{escape(m.group(2))}</b>")
        last = m.end()
    return "".join(out) + escape(text[last:])


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def markdown_html(text: str, image: Callable[[str, str], str]) -> str:
    """The HTML of the markdown eisfit's reports write: ``#``/``##`` headings, ``- `` lists,
    ``|`` tables (a header row, then a ``|---|`` row), ``![name](file)`` figures (their HTML
    from ``image(name, file)``), paragraphs; `code` and **bold** inline. One text for
    report.md and report.html: sections added to one reached the other (the HTML had lacked
    the Arrhenius, DRT and circuit-choice sections)."""
    parts: list[str] = []
    lines = text.splitlines()
    k = 0
    while k < len(lines):
        line = lines[k].rstrip()
        if not line:
            k += 1
        elif line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 6)
            parts.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
            k += 1
        elif (m := _IMAGE.match(line)) is not None:
            parts.append(image(m.group(1), m.group(2)))
            k += 1
        elif line.startswith("- "):
            items = []
            while k < len(lines) and lines[k].startswith("- "):
                items.append(f"<li>{_inline(lines[k][2:].strip())}</li>")
                k += 1
            parts.append(f"<ul>{''.join(items)}</ul>")
        elif line.startswith("|") and k + 1 < len(lines) and lines[k + 1].startswith("|-"):
            head = _cells(line)
            k += 2
            rows = []
            while k < len(lines) and lines[k].startswith("|"):
                rows.append(_cells(lines[k]))
                k += 1
            parts.append(_markdown_table(head, rows))
        else:
            paragraph = []
            while k < len(lines) and lines[k].strip() and not lines[k].startswith(("#", "- ", "|", "![")):
                paragraph.append(lines[k].strip())
                k += 1
            parts.append(f"<p>{_inline(' '.join(paragraph))}</p>")
    return "\n".join(parts)


def _markdown_table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table of markdown cells (inline markup kept); every column but the first right-aligned."""
    def cell(tag: str, k: int, text: str) -> str:
        return f'<{tag} style="{CELL_STYLE};text-align:{"left" if k == 0 else "right"}">{_inline(text)}</{tag}>'

    body = "".join("<tr>" + "".join(cell("td", k, c) for k, c in enumerate(row)) + "</tr>" for row in rows)
    return (f'<table style="{TABLE_STYLE}"><thead><tr>' + "".join(cell("th", k, h) for k, h in enumerate(head))
            + f"</tr></thead><tbody>{body}</tbody></table>")
