"""Is sharing parameters across checkpoints supported by the data? AIC/BIC comparison.

Both fits use the same points and the same weighting; N = number of real residuals
(2 x points, summed over checkpoints), M = free parameters of the whole campaign:

* ``AIC = N ln(chisq/N) + 2M``, ``BIC = N ln(chisq/N) + M ln N``;
* ``delta_aic = aic_independent - aic_shared`` (> 0: sharing is supported);
* ``preferred`` = "shared" when ``aic_shared <= aic_independent``, else "independent".
"""
from __future__ import annotations

import math
from typing import Sequence

__all__ = ["information_criteria", "sharing_evidence", "sharing_statement"]


def information_criteria(chisq: float, n_residuals: int, n_free: int) -> tuple[float, float]:
    """(AIC, BIC) of a least-squares fit with ``chisq`` over ``n_residuals`` real residuals."""
    ll = n_residuals * math.log(max(chisq, 1e-300) / n_residuals)
    return ll + 2 * n_free, ll + n_free * math.log(n_residuals)


def sharing_evidence(
    shared: Sequence[str], n_checkpoints: int, n_residuals: int,
    chisq_shared: float, n_free_shared: int, chisq_independent: float, n_free_independent: int,
) -> dict:
    """The ``sharing`` dict of a joint fit (see module docstring), with a ``statement``."""
    aic_s, bic_s = information_criteria(chisq_shared, n_residuals, n_free_shared)
    aic_i, bic_i = information_criteria(chisq_independent, n_residuals, n_free_independent)
    out = {
        "shared": list(shared),
        "n_checkpoints": int(n_checkpoints),
        "n_residuals": int(n_residuals),
        "n_free_shared": int(n_free_shared),
        "n_free_independent": int(n_free_independent),
        "chisq_shared": float(chisq_shared),
        "chisq_independent": float(chisq_independent),
        "aic_shared": aic_s,
        "aic_independent": aic_i,
        "bic_shared": bic_s,
        "bic_independent": bic_i,
        "delta_aic": aic_i - aic_s,
        "delta_bic": bic_i - bic_s,
        "preferred": "shared" if aic_s <= aic_i else "independent",
    }
    out["statement"] = sharing_statement(out)
    return out


def sharing_statement(sharing: dict) -> str:
    """The verdict in words, e.g. 'Sharing R1, CPE1_0, CPE1_1 across 11 checkpoints is
    supported (dAIC = 35)'; never silent when the data contradict the sharing."""
    names = ", ".join(sharing["shared"])
    k = sharing["n_checkpoints"]
    d = sharing["delta_aic"]
    head = f"Sharing {names} across {k} checkpoints"
    if sharing["preferred"] == "shared":
        return f"{head} is supported (dAIC = {d:.0f})"
    bic_note = (f"; BIC would still prefer sharing (dBIC = {sharing['delta_bic']:.0f})"
                if sharing["delta_bic"] > 0 else "")
    return f"{head} is NOT supported by the data (dAIC = {d:.0f}): independent fits preferred{bic_note}"
