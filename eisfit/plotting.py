"""Figures. Every function takes an optional ``ax=`` (or ``fig=``) and returns it,
so notebooks can compose figures; nothing here computes results, it only draws
what the analysis objects carry.
"""
from __future__ import annotations

# ---- section: spectrum and fit plots (fitting) ----------------------------
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
        ax.plot(result.tau_s, fit.drt(result.tau_s), "--", lw=1.2, color="C1", label="circuit fit")
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
# ---- end section: campaign plots ----------------------------------------------
