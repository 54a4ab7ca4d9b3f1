"""Figures linked from the README, made from the synthetic sample campaign.

    python scripts/make_readme_figures.py [OUT_DIR]      (default docs/figures)

Writes ``drt_sample.png``: left, the DRT of the 500 h checkpoint of
sample_data/garnet_campaign (eisfit.drt of the fitted points) with the DRT of the
fitted circuit (FitResult.drt) dashed over it; right, the DRT map of the whole
campaign (gamma against log tau and time, tracked peaks marked). Kept small
(< 150 kB): 8-bit palette PNG at 110 dpi.
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import eisfit  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CAMPAIGN = REPO / "sample_data" / "garnet_campaign" / "campaign.toml"
CHECKPOINT_LABEL = "500 h"
MAX_BYTES = 150_000


def drt_sample_figure(out: Path) -> Path:
    """The two-panel DRT figure of the sample campaign; returns the PNG path."""
    camp = eisfit.fit_campaign(CAMPAIGN, cache_dir=False, drt=True, progress=False)
    k = next(i for i, c in enumerate(camp.checkpoints) if c.label == CHECKPOINT_LABEL)
    fig, (ax_drt, ax_map) = plt.subplots(1, 2, figsize=(11.0, 4.2), gridspec_kw={"width_ratios": [1.2, 1.0]})
    eisfit.plotting.plot_drt(camp.drts[k], ax=ax_drt, fit=camp.results[k])
    camp.plot_drt_map(ax=ax_map)
    # the titles' text only: set_title would reset the pad that keeps them above a legend drawn
    # above the panel (it had covered the map's "tracked peaks")
    for ax, title in ((ax_drt, f"sample campaign, {CHECKPOINT_LABEL}: DRT of the data and of the fit "
                               f"({camp.results[k].circuit})"),
                      (ax_map, "DRT map of the 11 checkpoints (synthetic Li-Mg|LLZTO|Li-Mg)")):
        ax.title.set_text(title)
        ax.title.set_fontsize(9)
    fig.tight_layout()
    path = out / "drt_sample.png"
    _save_small_png(fig, path)
    plt.close(fig)
    return path


def _save_small_png(fig, path: Path, dpi: int = 110) -> None:
    """Save as PNG, then quantise to a 256-colour palette (Pillow) to keep it small."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else REPO / "docs" / "figures"
    path = drt_sample_figure(out)
    size = path.stat().st_size
    print(f"wrote {path} ({size / 1000:.0f} kB)")
    if size > MAX_BYTES:
        print(f"warning: {path.name} is larger than {MAX_BYTES / 1000:.0f} kB", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
