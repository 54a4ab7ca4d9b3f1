"""Figures. Every function takes an optional ``ax=`` (or ``fig=``) and returns it,
so notebooks can compose figures; nothing here computes results, it only draws
what the analysis objects carry.
"""
from __future__ import annotations

# ---- section: spectrum and fit plots (fitting) ----------------------------
import numpy as _np


def _dense_frequency(f, per_decade: int = 30):
    lo, hi = _np.log10(_np.min(f)), _np.log10(_np.max(f))
    return _np.logspace(hi, lo, max(int((hi - lo) * per_decade), 2) + 1)


def plot_nyquist(data, ax=None, fit=None, area_cm2: float | None = None, label: str | None = None):
    """Nyquist plot, -Z'' against Z', equal axes.

    ``data`` is a :class:`~eisfit.Spectrum` or a :class:`~eisfit.FitResult` (then its
    fitted points and model are drawn). ``area_cm2`` scales both axes to ohm*cm2
    (per cell, Z*A). Arc apexes of a fit are marked. Returns ``ax``.
    """
    ax = _new_axes(ax)
    if fit is None and hasattr(data, "z_fit"):
        fit = data
    z = data.z
    scale = area_cm2 or 1.0
    unit = "ohm*cm2 (per cell, Z*A)" if area_cm2 else "ohm"
    ax.plot(z.real * scale, -z.imag * scale, "o", ms=3.5, mfc="none", label=label or "data")
    if fit is not None:
        fd = _dense_frequency(fit.frequency)
        zm = fit.model_impedance(fd)
        ax.plot(zm.real * scale, -zm.imag * scale, "-", lw=1.4, label=f"fit {fit.circuit}")
        for key, val in fit.derived.items():
            if key.endswith("_fapex_Hz") and _np.isfinite(val) and fit.frequency.min() <= val <= fit.frequency.max():
                za = fit.model_impedance(_np.array([val]))[0]
                ax.plot(za.real * scale, -za.imag * scale, "k^", ms=6)
                ax.annotate(f"{key.split('_')[0]}\n{val:.3g} Hz", (za.real * scale, -za.imag * scale),
                            textcoords="offset points", xytext=(0, 8), ha="center", fontsize=7)
    ax.set_xlabel(f"Z' / {unit}")
    ax.set_ylabel(f"-Z'' / {unit}")
    ax.set_aspect("equal", adjustable="datalim")
    ax.axhline(0, color="0.6", lw=0.5)
    ax.legend(fontsize=7, loc="best")
    return ax


def plot_bode(data, axes=None, fit=None):
    """Bode plot: |Z| (log) and phase against frequency on two axes. Returns the axes pair."""
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(2, 1, sharex=True, figsize=(6.0, 5.0))
    ax_m, ax_p = axes
    if fit is None and hasattr(data, "z_fit"):
        fit = data
    f, z = data.frequency, data.z
    ax_m.loglog(f, _np.abs(z), "o", ms=3.5, mfc="none", label="data")
    ax_p.semilogx(f, -_np.degrees(_np.angle(z)), "o", ms=3.5, mfc="none")
    if fit is not None:
        fd = _dense_frequency(fit.frequency)
        zm = fit.model_impedance(fd)
        ax_m.loglog(fd, _np.abs(zm), "-", lw=1.4, label="fit")
        ax_p.semilogx(fd, -_np.degrees(_np.angle(zm)), "-", lw=1.4)
    ax_m.set_ylabel("|Z| / ohm")
    ax_p.set_ylabel("-phase / deg")
    ax_p.set_xlabel("frequency / Hz")
    ax_m.legend(fontsize=7)
    return axes


def plot_fit_residuals(result, ax=None):
    """Fit residuals (Z - Zfit)/|Z| in % against frequency (log axis). Returns ``ax``."""
    ax = _new_axes(ax)
    f = result.frequency
    order = _np.argsort(f)
    ax.plot(f[order], 100 * result.residuals_real[order], "o-", ms=3, lw=0.8, label="real")
    ax.plot(f[order], 100 * result.residuals_imag[order], "s-", ms=3, lw=0.8, label="imag")
    ax.axhline(0, color="0.5", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("frequency / Hz")
    ax.set_ylabel("residual / % of |Z|")
    ax.legend(fontsize=7)
    return ax


def plot_fit(result, fig=None, area_cm2: float | None = None):
    """One figure per fit: Nyquist (equal axes), Bode |Z| and phase, residuals in %.

    The title carries the label, circuit, weighting, chi-square and the problem flags. Returns ``fig``.
    """
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=(11.0, 7.0))
    grid = fig.add_gridspec(3, 2, width_ratios=[1.1, 1.0])
    plot_nyquist(result, ax=fig.add_subplot(grid[:, 0]), area_cm2=area_cm2)
    ax_m = fig.add_subplot(grid[0, 1])
    ax_p = fig.add_subplot(grid[1, 1], sharex=ax_m)
    plot_bode(result, axes=(ax_m, ax_p))
    plot_fit_residuals(result, ax=fig.add_subplot(grid[2, 1], sharex=ax_m))
    from .fitting.flags import problems

    flags = ", ".join(problems(result.flags)) or "no problem flags"
    fig.suptitle(f"{result.label}: {result.circuit} ({result.settings.get('weighting')} weighting), "
                 f"chi2 = {result.chisq:.3g}, reduced {result.redchi:.3g}\n{flags}", fontsize=9)
    fig.tight_layout()
    return fig


# ---- end section: spectrum and fit plots ----------------------------------

# ---- section: kk and drt plots ----------------------------------------------


def _new_axes(ax):
    """The given axes, or a new figure's axes (pyplot imported only when needed)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(6.0, 3.8))
    return ax


def plot_kk_residuals(result, ax=None):
    """Lin-KK residuals (% of |Z|) against frequency (log axis), with the +-threshold band.

    ``result`` is a :class:`eisfit.analysis.kk.KKResult`. Returns ``ax``.
    """
    ax = _new_axes(ax)
    f = result.frequency
    order = f.argsort()
    ax.plot(f[order], 100.0 * result.residuals_real[order], "o-", ms=3, lw=1, label="Δ' (real)")
    ax.plot(f[order], 100.0 * result.residuals_imag[order], "s-", ms=3, lw=1, label="Δ'' (imag)")
    t = result.threshold_pct
    ax.axhspan(-t, t, color="0.9", zorder=0, label=f"±{t:g} %")
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("frequency / Hz")
    ax.set_ylabel("residual / % of |Z|")
    verdict = "passed" if result.passed else "FAILED"
    ax.set_title(
        f"{result.label}  Lin-KK {verdict}: M={result.n_rc}, μ={result.mu:.2f}, "
        f"max {result.max_residual_pct:.2f} %",
        fontsize=9,
    )
    ax.legend(fontsize=8, loc="best")
    return ax


def plot_drt(result, ax=None, fit=None):
    """DRT gamma (ohm) against tau (s, log axis) with the peaks marked.

    ``result`` is a :class:`eisfit.analysis.drt.DRTResult`. ``fit`` (optional) is any
    object with ``.drt(tau_s) -> gamma_ohm`` (e.g. a circuit FitResult): its DRT is
    overlaid. The title carries the Kramers-Kronig warning when the test failed.
    Returns ``ax``.
    """
    ax = _new_axes(ax)
    ax.plot(result.tau_s, result.gamma_ohm, "-", lw=1.5, color="C0", label="DRT")
    peaks = result.peaks
    if len(peaks):
        ax.plot(peaks["tau_s"], peaks["gamma_ohm"], "v", color="C3", ms=6, label="peaks")
        for _, row in peaks.iterrows():
            ax.annotate(
                f"{row['R_ohm']:.3g} Ω\n{row['f_Hz']:.3g} Hz",
                (row["tau_s"], row["gamma_ohm"]),
                textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7,
            )
    if fit is not None:
        fit_gamma = fit.drt(result.tau_s)
        if isinstance(fit_gamma, tuple):  # (tau_s, gamma_ohm)
            fit_gamma = fit_gamma[1]
        ax.plot(result.tau_s, fit_gamma, "--", lw=1.2, color="C1", label="circuit fit")
    if result.tau_measured_s is not None:
        lo, hi = result.tau_measured_s
        ax.axvspan(result.tau_s.min(), lo, color="0.93", zorder=0)
        ax.axvspan(hi, result.tau_s.max(), color="0.93", zorder=0)
    ax.set_xscale("log")
    ax.set_xlim(result.tau_s.min(), result.tau_s.max())
    ax.set_xlabel("τ / s")
    ax.set_ylabel("γ / Ω")
    title = f"{result.label}  DRT (λ={result.lambda_:.2g}, {result.lambda_rule})"
    if not result.kk_passed:
        title += "\nKramers-Kronig test failed: this DRT is not evidence"
        ax.set_title(title, fontsize=9, color="C3")
    else:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="best")
    return ax


# ---- end section: kk and drt plots ------------------------------------------

# ---- section: campaign plots --------------------------------------------------
# Figures of a CampaignResult (eisfit.campaign): they draw what the result carries.

def _camp_colours(camp):
    """(list of RGBA per checkpoint, ScalarMappable for the colour bar, label)."""
    import matplotlib as mpl
    import numpy as np

    values, label = camp.colour_values()
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    norm = mpl.colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1.0)
    cmap = mpl.colormaps["viridis"]
    mappable = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
    mappable.set_array(np.asarray(values, dtype=float))
    return [cmap(norm(v)) for v in values], mappable, label


def _camp_fitted(camp):
    return [(k, r) for k, r in enumerate(camp.results) if r is not None]


def _camp_dense_fit(r, points_per_decade: int = 20):
    """Model on a dense log grid over the fitted range (ohm), falling back to z_fit."""
    import numpy as np

    f = np.asarray(r.frequency, dtype=float)
    grid = np.logspace(np.log10(f.min()), np.log10(f.max()),
                       max(int(np.log10(f.max() / f.min()) * points_per_decade), 2))
    try:
        return grid, r.model_impedance(grid)
    except Exception:
        order = np.argsort(f)
        return f[order], np.asarray(r.z_fit)[order]


def plot_campaign_nyquist(camp, ax=None, area_normalised: bool = False):
    """Nyquist overlay (-Z'' against Z', equal axes) of every fitted checkpoint: data as
    points, fits as lines, coloured by time/cycle with a colour bar. ``area_normalised``
    plots Z*A in ohm*cm2 (per cell) using each checkpoint's area."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 5.0))
    colours, mappable, label = _camp_colours(camp)
    for k, r in _camp_fitted(camp):
        scale = 1.0
        if area_normalised:
            scale = camp.details[k].get("settings", {}).get("area_cm2") or float("nan")
        _, zf = _camp_dense_fit(r)
        ax.plot(r.z.real * scale, -r.z.imag * scale, "o", ms=3, color=colours[k], alpha=0.8)
        ax.plot(zf.real * scale, -zf.imag * scale, "-", lw=1.0, color=colours[k])
    unit = "Ω·cm² (per cell)" if area_normalised else "Ω"
    ax.set_xlabel(f"Z' / {unit}")
    ax.set_ylabel(f"−Z'' / {unit}")
    ax.set_aspect("equal", adjustable="box")
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    ax.figure.colorbar(mappable, ax=ax, label=label)
    ax.set_title("Nyquist: data (points) and fits (lines)")
    return ax


def plot_campaign_bode(camp, fig=None):
    """Bode overlay: |Z| (ohm) and -phase (deg) against f (Hz), data and fits, coloured
    by time/cycle; returns the figure."""
    import matplotlib.pyplot as plt
    import numpy as np

    if fig is None:
        fig = plt.figure(figsize=(6.5, 6.0))
    ax_mod, ax_ph = fig.subplots(2, 1, sharex=True)
    colours, mappable, label = _camp_colours(camp)
    for k, r in _camp_fitted(camp):
        fg, zf = _camp_dense_fit(r)
        ax_mod.loglog(r.frequency, np.abs(r.z), "o", ms=3, color=colours[k], alpha=0.8)
        ax_mod.loglog(fg, np.abs(zf), "-", lw=1.0, color=colours[k])
        ax_ph.semilogx(r.frequency, -np.degrees(np.angle(r.z)), "o", ms=3, color=colours[k], alpha=0.8)
        ax_ph.semilogx(fg, -np.degrees(np.angle(zf)), "-", lw=1.0, color=colours[k])
    ax_mod.set_ylabel("|Z| / Ω")
    ax_ph.set_ylabel("−phase / °")
    ax_ph.set_xlabel("f / Hz")
    fig.colorbar(mappable, ax=[ax_mod, ax_ph], label=label)
    return fig


_CAMP_X_LABELS = {"time_h": "time / h", "cycle": "cycle", "capacity_mAh_cm2": "capacity / mAh cm⁻²"}


def _camp_x(camp, x):
    import numpy as np

    options = [x] if x else list(_CAMP_X_LABELS)
    for name in options:
        values = [getattr(c, name, None) for c in camp.checkpoints]
        if all(v is not None for v in values):
            return np.asarray(values, dtype=float), _CAMP_X_LABELS.get(name, name)
    return np.arange(len(camp.checkpoints), dtype=float), "checkpoint"


def _camp_quantities(camp):
    """[(title, key, unit, is_resistance)]: each resistance as ASR per cell when an area
    is known (else ohm), and each effective capacitance (F)."""
    from .model.circuit import resistance_names

    first = next((r for r in camp.results if r is not None), None)
    if first is None:
        return []
    out = []
    for name in resistance_names(first.param_names):
        role = first.roles.get(name)
        tag = f" ({role})" if role else ""
        if f"{name}_asr_ohm_cm2" in first.derived:
            out.append((f"{name}{tag} ASR per cell", f"{name}_asr_ohm_cm2", "Ω·cm²", True))
        else:
            out.append((f"{name}{tag}", name, "Ω", True))
    for key in first.derived:
        if key.endswith("_ceff_F"):
            out.append((f"{key[:-7]} C_eff (Hsu-Mansfeld)", key, "F", False))
    return out


def plot_campaign_evolution(camp, x=None, fig=None):
    """Each resistance (ASR per cell, ohm*cm2, when the area is known) and effective
    capacitance (F) against time / cycle / capacity with 1-stderr error bars; checkpoints
    with a problem flag (:func:`eisfit.fitting.flags.has_problem`) are drawn as open red
    markers; a value flagged ``unresolved:<name>`` leaves a gap in the line, marked by a grey
    x at the foot of the panel, so that no axis is stretched by it. Returns the figure."""
    import math

    import matplotlib.pyplot as plt
    import numpy as np

    from .fitting.flags import has_problem, unresolved_keys

    quantities = _camp_quantities(camp)
    xs, xlabel = _camp_x(camp, x)
    n = max(len(quantities), 1)
    ncols = 2 if n > 1 else 1
    nrows = math.ceil(n / ncols)
    if fig is None:
        fig = plt.figure(figsize=(4.2 * ncols, 3.0 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True)).ravel()
    for ax, (title, key, unit, _) in zip(axes, quantities):
        pts = []
        for k, r in _camp_fitted(camp):
            if key in r.values:
                v, s = r.values[key], r.stderr.get(key, float("nan"))
            else:
                v, s = r.derived.get(key, float("nan")), r.derived.get(f"{key}_stderr", float("nan"))
            gone = bool(unresolved_keys(r.flags, [key]))  # issue 13: a gap, not a number
            pts.append((xs[k], np.nan if gone else v, 0.0 if gone or not np.isfinite(s) else s,
                        has_problem(r.flags), gone))
        if not pts:
            continue
        px, pv, ps, pf, pu = (np.array(a) for a in zip(*pts))
        # ---- series analysis: a parameter shared by the joint fit is one value: a band ----
        if _shared_by_joint(camp, key):
            ax.axhspan(pv[0] - ps[0], pv[0] + ps[0], color="C0", alpha=0.25, lw=0,
                       label="shared (joint fit) ± 1 s.e.")
            ax.axhline(pv[0], color="C0", lw=1.2)
            ax.legend(fontsize="small")
            ax.set_title(title, fontsize="medium")
            ax.set_ylabel(unit)
            continue
        # ---- end series analysis ----
        ax.errorbar(px, pv, yerr=ps, fmt="o-", ms=4, capsize=2, color="C0")
        if (pf & ~pu).any():
            ax.plot(px[pf & ~pu], pv[pf & ~pu], "o", ms=9, mfc="none", mec="red", label="problem flag")
        if pu.any():
            ax.plot(px[pu], np.full(pu.sum(), 0.03), "x", ms=7, color="0.4", transform=ax.get_xaxis_transform(),
                    clip_on=False, label="unresolved")
        if pf.any() or pu.any():
            ax.legend(fontsize="small")
        ax.set_title(title, fontsize="medium")
        ax.set_ylabel(unit)
        if unit == "F":
            ax.set_yscale("log")
    for ax in axes[len(quantities):]:
        ax.set_visible(False)
    for ax in axes[-ncols:]:
        ax.set_xlabel(xlabel)
    fig.tight_layout()
    return fig


def plot_campaign_residual_map(camp, ax=None):
    """Heat map of the relative residuals |Z-Zfit|/|Z| in % with the sign of the real
    residual (checkpoint rows x
    frequency columns); systematic bands point at a wrong model."""
    import matplotlib.pyplot as plt
    import numpy as np

    fitted = _camp_fitted(camp)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 0.35 * max(len(fitted), 4) + 1.5))
    if not fitted:
        return ax
    freqs = np.unique(np.concatenate([np.round(np.log10(r.frequency), 3) for _, r in fitted]))
    grid = np.full((len(fitted), freqs.size), np.nan)
    for row, (_, r) in enumerate(fitted):
        cols = np.searchsorted(freqs, np.round(np.log10(r.frequency), 3))
        grid[row, cols] = 100.0 * np.hypot(r.residuals_real, r.residuals_imag) * np.sign(r.residuals_real)
    lim = np.nanmax(np.abs(grid)) if np.isfinite(grid).any() else 1.0
    image = ax.imshow(grid, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest",
                      extent=(freqs[0], freqs[-1], len(fitted) - 0.5, -0.5))
    ax.set_yticks(range(len(fitted)))
    ax.set_yticklabels([camp.checkpoints[k].label for k, _ in fitted], fontsize="small")
    ax.set_xlabel("log10(f / Hz)")
    ax.figure.colorbar(image, ax=ax, label="residual |ΔZ|/|Z| × sign(ΔZ') / %")
    return ax

# ---- DRT of a campaign (issue 8; data from CampaignResult.drts, eisfit/campaign/drt.py) ----
def _camp_drt_axis(camp):
    """(values, label) of the checkpoint axis of DRT figures: time_h, else cycle, else index."""
    import numpy as np

    for name, label in (("time_h", "time / h"), ("cycle", "cycle")):
        values = [getattr(c, name, None) for c in camp.checkpoints]
        if all(v is not None for v in values) and len(set(values)) == len(values):
            return np.asarray(values, dtype=float), label
    return np.arange(len(camp.checkpoints), dtype=float), "checkpoint index"


def _edges(centres):
    """Cell edges around increasing centres (midpoints; end cells mirrored)."""
    import numpy as np

    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])


def plot_campaign_drt_map(camp, ax=None):
    """Heat map of the DRT gamma (ohm per unit ln tau): checkpoints (time in h, else cycle,
    else index) against log10(tau / s); tracked peaks as white markers, checkpoints whose
    Kramers-Kronig test failed marked 'KK!'. Needs ``camp.drts`` (``drt=True``). Returns ``ax``."""
    import matplotlib.pyplot as plt
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.3 * max(len(camp.checkpoints), 8) + 1.5))
    drts = camp.drts or []
    rows = [k for k, d in enumerate(drts) if d is not None]
    if not rows:
        return ax
    ys, ylabel = _camp_drt_axis(camp)
    order = sorted(rows, key=lambda k: ys[k])
    log_tau = np.log10(drts[order[0]].tau_s)
    gamma = np.array([np.interp(log_tau, np.log10(drts[k].tau_s), drts[k].gamma_ohm) for k in order])
    mesh = ax.pcolormesh(_edges(log_tau), _edges(ys[order]), gamma, cmap="magma", shading="flat")
    ax.figure.colorbar(mesh, ax=ax, label="γ / Ω")
    table = camp.table  # the tracked peaks are columns drt_peak<k>_tau_s of the table
    n_tracks = sum(1 for key in table.columns if key.startswith("drt_peak") and key.endswith("_tau_s"))
    for t in range(1, n_tracks + 1):
        tau = table[f"drt_peak{t}_tau_s"].to_numpy(dtype=float)[order]
        ax.plot(np.log10(tau), ys[order], "o-", ms=3.5, lw=0.8, color="white", mec="k", mew=0.4,
                label="tracked peaks" if t == 1 else None)
    for k in order:
        if not drts[k].kk_passed:
            ax.annotate("KK!", (log_tau[-1], ys[k]), color="C3", fontsize=7, ha="right", va="center")
    ax.set_xlabel("log10(τ / s)")
    ax.set_ylabel(ylabel)
    ax.set_title("DRT map (γ of the fitted points)", fontsize=9)
    if n_tracks:
        ax.legend(fontsize=7, loc="best")
    return ax


def plot_campaign_drt_stack(camp, ax=None, offset: float | None = None):
    """One DRT (γ in ohm against τ in s, log axis) per checkpoint, shifted up by ``offset``
    ohm each (default: 0.6 x the largest γ), coloured by time/cycle like the Nyquist
    overlay; the fitted circuit's DRT (``FitResult.drt``) dashed in the same colour.
    Returns ``ax``."""
    import matplotlib.pyplot as plt
    import numpy as np

    drts = camp.drts or []
    items = [(k, d, camp.results[k]) for k, d in enumerate(drts) if d is not None]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.45 * max(len(items), 6) + 1.5))
    if not items:
        return ax
    colours, mappable, label = _camp_colours(camp)
    step = offset if offset is not None else 0.6 * max(float(np.max(d.gamma_ohm)) for _, d, _ in items)
    for row, (k, d, r) in enumerate(items):
        base = row * step
        ax.plot(d.tau_s, d.gamma_ohm + base, "-", lw=1.3, color=colours[k])
        if r is not None:
            ax.plot(d.tau_s, r.drt(d.tau_s)[1] + base, "--", lw=1.0, color=colours[k], alpha=0.8)
        text = camp.checkpoints[k].label + ("  (KK failed)" if not d.kk_passed else "")
        ax.annotate(text, (d.tau_s[-1], base), fontsize=7, ha="right", va="bottom",
                    color="C3" if not d.kk_passed else "0.2")
    ax.set_xscale("log")
    ax.set_xlim(min(d.tau_s.min() for _, d, _ in items), max(d.tau_s.max() for _, d, _ in items))
    ax.set_xlabel("τ / s")
    ax.set_ylabel(f"γ / Ω (offset {step:.3g} Ω per checkpoint)")
    ax.plot([], [], "-", color="0.3", label="DRT of the data")
    ax.plot([], [], "--", color="0.3", label="DRT of the fit")
    ax.legend(fontsize=7, loc="upper left")
    ax.figure.colorbar(mappable, ax=ax, label=label)
    ax.set_title("DRT per checkpoint", fontsize=9)
    return ax
# ---- end DRT of a campaign ----
# ---- end section: campaign plots ----------------------------------------------

# ---- section: series analysis plots (eisfit.series, Arrhenius) ------------------


def _shared_by_joint(camp, key: str) -> bool:
    """True when ``key`` (a parameter, or a quantity derived from shared parameters only,
    e.g. R1_asr_ohm_cm2 with R1 shared) takes one value in the campaign's joint fit."""
    joint = getattr(camp, "joint", None)
    if joint is None or not joint.shared:
        return False
    if key in joint.shared:
        return True
    base = key.split("_", 1)[0]
    return base in joint.shared and key.startswith(f"{base}_") and (
        key.endswith(("_asr_ohm_cm2", "_asr_per_interface_ohm_cm2", "_sigma_S_per_cm")))


def plot_arrhenius(camp, resistances=None, ax=None, form: str = "sigmaT"):
    """Arrhenius plot of a campaign: log10(sigma / S cm-1) against 1000/T (K-1), one
    colour per resistance, the fitted line of :meth:`CampaignResult.arrhenius` and its
    activation energy (eV, +- 1 s.e.) in the legend. Returns ``ax``."""
    import numpy as np

    from .analysis.arrhenius import arrhenius_points

    ax = _new_axes(ax)
    fits = camp.arrhenius(resistances, form=form)
    table = camp.table
    fitted = table[[r is not None for r in camp.results]]
    points = arrhenius_points(fitted, list(fits["resistance"]))
    for i, row in fits.iterrows():
        t, sigma = points[row["resistance"]]
        colour = f"C{i % 10}"
        ax.plot(1000.0 / t, np.log10(sigma), "o", color=colour, ms=5)
        tt = np.linspace(t.min(), t.max(), 50)
        y = row["prefactor"] * np.exp(-row["ea_eV"] / (8.617333262e-5 * tt))
        line = y / tt if form == "sigmaT" else y
        ax.plot(1000.0 / tt, np.log10(line), "-", color=colour,
                label=f"{row['resistance']}: Ea = {row['ea_eV']:.3f} ± {row['ea_stderr_eV']:.3f} eV")
    ax.set_xlabel("1000 / T  (K$^{-1}$)")
    ax.set_ylabel("log$_{10}$(σ / S cm$^{-1}$)")
    ax.set_title("Arrhenius: ln(σT) = ln A − Ea/(k_B T)" if form == "sigmaT"
                 else "Arrhenius: ln σ = ln A − Ea/(k_B T)", fontsize=9)
    ax.legend(fontsize=8)
    return ax
# ---- end section: series analysis plots -------------------------------------------
