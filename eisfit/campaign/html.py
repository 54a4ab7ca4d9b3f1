"""The campaign as HTML: the shareable, self-contained report.html and the notebook view.

report.html embeds its figures as base64 PNG (no file beside it is needed; it opens
in any browser, offline). Nothing here fits: the content comes from the
:class:`~eisfit.campaign.CampaignResult` and the figure files already written.
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Mapping

from .._html import escape, html_list, html_table, markdown_html
from ..fitting.result import fitted_indices
from ..plotting import FIGURE_DPI
from .report import evolution_lines, flag_explanations, table_rows

__all__ = ["campaign_html", "campaign_repr_html"]

REPR_TABLE_ROWS = 5  # rows of the table in the notebook view

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 60em;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; }
code { background: #f3f3f3; padding: 0 .2em; }
"""

def _png_width_px(data: bytes) -> int | None:
    """Width of a PNG image from its IHDR chunk (None when the bytes are not a PNG)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    return int.from_bytes(data[16:20], "big")


def _figure_html(name: str, png: Path, dpi: float = FIGURE_DPI) -> str:
    """An embedded figure shown at its print width (pixels / dpi inches, at most the page);
    its caption is the paragraph the report writes below it."""
    raw = png.read_bytes()
    width = _png_width_px(raw)
    size = f' style="width:{width / dpi:.2f}in"' if width else ""
    return (f'<figure><img alt="{escape(name)}"{size} src="data:image/png;base64,'
            f'{base64.b64encode(raw).decode("ascii")}"></figure>')


def _headline_html(camp) -> str:
    lines = evolution_lines(camp, pretty=True)
    if not lines:
        return "<p>No checkpoint could be fitted.</p>"
    return '<ul class="headline">' + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"


def _flags_html(camp) -> str:
    explained = flag_explanations(camp)
    if not explained:
        return "<p>No fit was flagged.</p>"
    items = [f"{name} ({n} checkpoint{'s' if n > 1 else ''}): {meaning}." for name, meaning, n in explained]
    return "<p>What the flags in the table mean:</p>" + html_list(items)


def campaign_html(camp, figures: Mapping[str, str | Path] | None = None, markdown: str | None = None) -> str:
    """The self-contained report page: the text of report.md (``markdown``, else
    :meth:`CampaignResult.report` with these figures) as HTML, each figure it links embedded
    from ``figures`` (name -> PNG file, base64). One text for both reports: a section added
    to report.md is on the page too."""
    figures = {k: Path(v) for k, v in (figures or {}).items()}
    text = markdown if markdown is not None else camp.report(figures={k: v.name for k, v in figures.items()})
    by_file = {png.name: (name, png) for name, png in figures.items()}

    def image(name: str, file: str) -> str:
        return _figure_html(*by_file[file]) if file in by_file else f"<p>{escape(name)}: {escape(file)}</p>"

    title = f"{camp.name or 'Campaign'}: evolution of the fitted circuit"
    return "\n".join(["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
                      f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
                      markdown_html(text, image), "</body></html>"])


def campaign_repr_html(camp) -> str:
    """Notebook view: counts, the evolution headline, the first rows of the table, the flags."""
    head, rows, _ = table_rows(camp, max_rows=None)
    n_ok = len(fitted_indices(camp.results))
    more = len(rows) - REPR_TABLE_ROWS
    parts = [
        f"<div><b>CampaignResult</b> {escape(camp.name or '')}: {len(camp.checkpoints)} checkpoints, "
        f"{n_ok} fitted, {len(camp.errors)} errors, ordered by {escape(str(camp.ordering) + camp.axis_note())}",
        _headline_html(camp),
        html_table(head, rows[:REPR_TABLE_ROWS], numeric_from=1),
    ]
    if more > 0:
        parts.append(f"<p>... {more} more rows (<code>.table</code> has them all)</p>")
    parts.append(_flags_html(camp))
    parts.append("</div>")
    return "".join(parts)
