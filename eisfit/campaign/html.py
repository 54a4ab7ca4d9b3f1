"""The campaign as HTML: the shareable, self-contained report.html and the notebook view.

report.html embeds its figures as base64 PNG (no file beside it is needed; it opens
in any browser, offline). Nothing here fits: the content comes from the
:class:`~eisfit.campaign.CampaignResult` and the figure files already written.
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Mapping

from .._html import escape, html_list, html_table
from ..plotting import FIGURE_DPI
from .kkband import kk_band_report_lines
from .report import FIGURE_CAPTIONS, evolution_lines, failure_lines, flag_explanations, table_rows, wall_time_line

__all__ = ["campaign_html", "campaign_repr_html"]

REPR_TABLE_ROWS = 5  # rows of the table in the notebook view

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 60em;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: 90%; color: #444; } code { background: #f3f3f3; padding: 0 .2em; }
.headline li { font-size: 105%; } .note { color: #555; font-size: 90%; }
"""

# figure order in the report; others written by the campaign follow
_ORDER = ("evolution", "nyquist", "fits", "bode", "residual_map", "drt_map", "drt_stack")


def _png_width_px(data: bytes) -> int | None:
    """Width of a PNG image from its IHDR chunk (None when the bytes are not a PNG)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    return int.from_bytes(data[16:20], "big")


def _figure_html(name: str, png: Path, dpi: float = FIGURE_DPI) -> str:
    """An embedded figure shown at its print width (pixels / dpi inches, at most the page)."""
    raw = png.read_bytes()
    width = _png_width_px(raw)
    size = f' style="width:{width / dpi:.2f}in"' if width else ""
    caption = FIGURE_CAPTIONS.get(name, name)
    return (f'<figure><img alt="{escape(name)}"{size} src="data:image/png;base64,'
            f'{base64.b64encode(raw).decode("ascii")}"><figcaption>{escape(caption)}</figcaption></figure>')


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


def _kk_html(camp) -> str:
    """The Kramers-Kronig section of report.md (:func:`~eisfit.campaign.kkband.kk_band_report_lines`)
    as HTML: its sentences, then the failing checkpoints as a list."""
    lines = [ln for ln in kk_band_report_lines(camp) if ln and not ln.startswith("## ")]
    if not lines:
        return ""
    text = [ln for ln in lines if not ln.startswith("- ")]
    items = [ln[2:].replace("`", "") for ln in lines if ln.startswith("- ")]
    return ("<h2>Kramers-Kronig</h2>" + "".join(f"<p>{escape(t.replace('`', ''))}</p>" for t in text)
            + (html_list(items) if items else ""))


def _joint_html(camp) -> str:
    joint = getattr(camp, "joint", None)
    if joint is None:
        return ""
    joints = joint.items() if isinstance(joint, dict) else [(None, joint)]
    lines = []
    for cell, j in joints:
        prefix = f"Cell {cell}: " if cell is not None else ""
        lines += [prefix + line for line in (j.summary_lines() or ["Joint fit without shared parameters or smoothing."])]
    return "<h2>Joint fit across checkpoints</h2>" + html_list(lines)


def campaign_html(camp, figures: Mapping[str, str | Path] | None = None) -> str:
    """The self-contained report page. ``figures`` maps a figure name (evolution, nyquist,
    fits, bode, residual_map, ...) to its PNG file, which is embedded (base64)."""
    title = f"{camp.name or 'Campaign'}: evolution of the fitted circuit"
    n_ok = sum(r is not None for r in camp.results)
    figures = {k: Path(v) for k, v in (figures or {}).items()}
    names = [n for n in _ORDER if n in figures] + [n for n in figures if n not in _ORDER]
    head, rows, note = table_rows(camp)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{len(camp.checkpoints)} checkpoints ({n_ok} fitted, {len(camp.errors)} failed), ordered by "
        f"{escape(str(camp.ordering))}. Circuit <code>{escape(str(camp.settings.get('circuit')))}</code>, "
        f"weighting <code>{escape(str(camp.settings.get('weighting')))}</code>.</p>",
        "<p class=\"note\">ASR per cell = R × A (both interfaces of a symmetric cell together); ASR per "
        "interface = R × A / 2. Uncertainties are 1 standard error.</p>",
        "<h2>Evolution</h2>", _headline_html(camp),
    ]
    if "evolution" in figures:
        parts.append(_figure_html("evolution", figures["evolution"]))
    parts.append(_joint_html(camp))
    parts += ["<h2>Per checkpoint</h2>", html_table(head, rows, numeric_from=1)]
    if note:
        parts.append(f'<p class="note">{escape(note)}</p>')
    parts += ["<h2>Flags</h2>", _flags_html(camp), _kk_html(camp)]
    if camp.errors:
        parts += ["<h2>Errors</h2>", html_list(failure_lines(camp.errors))]
    shown = [n for n in names if n != "evolution"]
    if shown:
        parts.append("<h2>Figures</h2>")
        parts += [_figure_html(n, figures[n]) for n in shown]
    settings = {k: v for k, v in camp.settings.items() if k != "settings_hash"}
    parts += [
        "<h2>Run</h2>", f"<p>{escape(wall_time_line(camp))}</p>",
        html_table(("setting", "value"), [(k, v) for k, v in settings.items()], numeric_from=2),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def campaign_repr_html(camp) -> str:
    """Notebook view: counts, the evolution headline, the first rows of the table, the flags."""
    head, rows, _ = table_rows(camp, max_rows=None)
    n_ok = sum(r is not None for r in camp.results)
    more = len(rows) - REPR_TABLE_ROWS
    parts = [
        f"<div><b>CampaignResult</b> {escape(camp.name or '')}: {len(camp.checkpoints)} checkpoints, "
        f"{n_ok} fitted, {len(camp.errors)} errors, ordered by {escape(str(camp.ordering))}",
        _headline_html(camp),
        html_table(head, rows[:REPR_TABLE_ROWS], numeric_from=1),
    ]
    if more > 0:
        parts.append(f"<p>... {more} more rows (<code>.table</code> has them all)</p>")
    parts.append(_flags_html(camp))
    parts.append("</div>")
    return "".join(parts)
