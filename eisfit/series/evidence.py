"""Is sharing parameters across checkpoints supported by the data? AIC/BIC comparison.
And is a smoothing across checkpoints (:func:`smoothing_evidence`)?

Both fits use the same points and the same weighting, each checkpoint's chi-square weighted
by its own noise level (``chisq = sum_k w_k chisq_k``, ``w_k = s^2 / s_k^2`` from the
checkpoints' independent fits: the statistical model of :mod:`eisfit.series.joint`, in which
checkpoint k's residuals have variance ``sigma^2 s_k^2`` with one unknown ``sigma^2``, whose
maximum-likelihood profile gives the ``N ln(chisq/N)`` below); N = number of real residuals
(2 x points, summed over checkpoints), M = free parameters of the whole campaign:

* ``AIC = N ln(chisq/N) + 2M``, ``BIC = N ln(chisq/N) + M ln N``;
* ``delta_aic = aic_independent - aic_shared`` (> 0: sharing is supported);
* ``preferred`` = "shared" when ``aic_shared <= aic_independent``, else "independent";
  ``supported`` = ``preferred == "shared"``; ``verdict`` "supported" or "rejected".

A pooled chi-square without the noise weights let one noisy sweep decide: one checkpoint
of eight at 5 % noise (the others 0.5 %) made the AIC accept sharing an R1 that truly drifted
3 % in 8 of 10 seeds (dAIC = +29); weighted, it rejects it as with eight quiet ones.

A verdict needs fits at their optimum: a joint fit that did not converge (``undetermined``,
the reason in words) gives ``verdict`` "undetermined", ``supported`` False, ``preferred``
"undetermined", ``delta_aic``/``delta_bic`` NaN and a statement that says so (a shared fit
stopped on its iteration limit at 10x its optimum's chi-square read dAIC = -4774, -363 at
the optimum). Likewise for :func:`smoothing_evidence` and :func:`law_evidence`.

The rule is the AIC's, and only the AIC's (:data:`SHARING_RULE`): a sharing (or an
Arrhenius law) the AIC rejects is not supported, whatever the BIC says. The BIC, whose
penalty per parameter (ln N, 6.7 for N = 828) is larger, favours sharing where the AIC does
not: six spectra of an R1 drifting 60 -> 61.5 ohm read dAIC = -15, dBIC = +79, and the
shared R1 (60.53 +- 0.16 ohm) lay 3-6 standard errors from the checkpoints' own values.
Independent fits cost precision; a rejected sharing costs correctness. ``delta_bic`` is
reported, and the statement names a BIC that disagrees, but it decides nothing.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

__all__ = ["information_criteria", "sharing_evidence", "sharing_statement", "smoothing_evidence", "law_evidence",
           "SHARING_RULE"]

SHARING_RULE = "the AIC decides: supported when dAIC = AIC(independent) - AIC(shared) >= 0; the BIC is reported only"


def information_criteria(chisq: float, n_residuals: int, n_free: int) -> tuple[float, float]:
    """(AIC, BIC) of a least-squares fit with ``chisq`` over ``n_residuals`` real residuals."""
    ll = n_residuals * math.log(max(chisq, 1e-300) / n_residuals)
    return ll + 2 * n_free, ll + n_free * math.log(n_residuals)


def sharing_evidence(
    shared: Sequence[str], n_checkpoints: int, n_residuals: int,
    chisq_shared: float, n_free_shared: int, chisq_independent: float, n_free_independent: int,
    arrhenius: Sequence[str] = (), undetermined: str = "",
) -> dict:
    """The ``sharing`` dict of a joint fit (see module docstring: ``supported`` is the AIC's
    verdict), with a ``statement``;
    ``arrhenius``: the parameters that follow an Arrhenius law across the checkpoints, weighed
    with the sharing (the "shared" fit is then the fit with every such constraint);
    ``undetermined``: why the fits decide nothing ("" when they do: see module docstring)."""
    aic_s, bic_s = information_criteria(chisq_shared, n_residuals, n_free_shared)
    aic_i, bic_i = information_criteria(chisq_independent, n_residuals, n_free_independent)
    out = {
        "shared": list(shared),
        "arrhenius": list(arrhenius),
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
        "supported": bool(aic_s <= aic_i),
        "verdict": "supported" if aic_s <= aic_i else "rejected",
        "rule": SHARING_RULE,
    }
    if undetermined:
        out.update(delta_aic=math.nan, delta_bic=math.nan, preferred="undetermined", supported=False,
                   verdict="undetermined", undetermined=undetermined)
    out["statement"] = sharing_statement(out)
    return out


def sharing_statement(sharing: dict) -> str:
    """The verdict in words, e.g. 'Sharing R1, CPE1_0, CPE1_1 across 11 checkpoints is
    supported (dAIC = 35)'; never silent when the data contradict the sharing."""
    k = sharing["n_checkpoints"]
    d = sharing["delta_aic"]
    parts = [f"Sharing {', '.join(sharing['shared'])}"] if sharing["shared"] else []
    if sharing.get("arrhenius"):
        law = f"an Arrhenius law for {', '.join(sharing['arrhenius'])}"
        parts.append(law if parts else law[0].upper() + law[1:])
    head = f"{' and '.join(parts)} across {k} checkpoints"
    if sharing.get("verdict") == "undetermined":
        return f"{head}: undetermined: {sharing.get('undetermined') or 'the joint fit did not converge'}"
    if sharing.get("supported", sharing["preferred"] == "shared"):
        return f"{head} is supported (dAIC = {d:.0f})"
    what = "sharing" if sharing["shared"] else "the law"  # an Arrhenius law alone shares nothing
    bic_note = (f"; the BIC alone would prefer {what} (dBIC = {sharing['delta_bic']:.0f}), but the AIC decides"
                if sharing["delta_bic"] > 0 else "")
    return f"{head} is NOT supported by the data (dAIC = {d:.0f}): independent fits preferred{bic_note}"


SMOOTHING_REJECT_SDS = 4.0  # the smoothed chi-square may exceed the unsmoothed one by the removed dof + 4 SDs


def smoothing_evidence(chisq_smoothed: float, chisq_unsmoothed: float, dof_unsmoothed: float,
                       removed: float, automatic: bool = False, undetermined: str = "") -> dict[str, Any]:
    """Whether the data allow the smoothing: the rise of chi-square over the unsmoothed fit,
    in units of its s^2 = chisq / dof, against the parameters the smoothing removed
    (``removed`` = local parameters - effective ones). Were the values as smooth as the
    penalty makes them, the rise would be a chi-square of ``removed`` degrees of freedom; one
    above ``removed`` + ``SMOOTHING_REJECT_SDS`` x sqrt(2 removed) means the penalty pulls the
    values away from what the data say (a lambda of 1e9 flattened a real 117 -> 35 ohm*cm2
    evolution to 55.8 at every checkpoint, silently). Returns ``delta_chisq_s2``,
    ``removed_parameters``, ``supported`` and a ``statement`` (``automatic``: lambda came
    from the data, so the advice is not to smooth rather than to let it do so). A rise below 0
    (the smoothed fit, more constrained, below the unsmoothed one) is no evidence but a failure
    of the unsmoothed fit, which :func:`~eisfit.series.joint.joint_fit` refits and, failing
    that, calls ``undetermined`` (then ``verdict`` "undetermined", ``supported`` False)."""
    s2 = chisq_unsmoothed / dof_unsmoothed if dof_unsmoothed > 0 else float("nan")
    rise = (chisq_smoothed - chisq_unsmoothed) / s2 if s2 > 0 else float("nan")
    removed, limit, supported = _rise_verdict(rise, removed, SMOOTHING_REJECT_SDS)
    if undetermined:
        return {"delta_chisq_s2": float(rise), "removed_parameters": removed, "supported": False,
                "verdict": "undetermined", "statement": f"Smoothing: undetermined: {undetermined}"}
    statement = (f"Smoothing raises chi-square by {rise:.3g} s^2 for {removed:.1f} parameters removed"
                 + ("" if supported else
                    f" (more than {limit:.3g}): the data do NOT allow it: the penalty pulls the values away from "
                    "what the spectra say; " + ("fit without smoothing" if automatic
                                                else "use a weaker lambda or smooth='auto'")))
    return {"delta_chisq_s2": float(rise), "removed_parameters": removed, "supported": bool(supported),
            "verdict": "supported" if supported else "rejected", "statement": statement}


LAW_REJECT_SDS = 4.0  # the laws may raise chi-square by the removed parameters + 4 SDs (in each checkpoint's s^2)


def law_evidence(chisq_joint: Sequence[float], chisq_independent: Sequence[float], dof: Sequence[float],
                 removed: float, laws: Sequence[str], undetermined: str = "") -> dict[str, Any]:
    """Whether the data follow the Arrhenius laws of a joint fit: the rise of each checkpoint's
    chi-square over its independent fit, in units of that checkpoint's own s^2 = chisq / dof,
    summed, against the parameters the laws (and any sharing) removed. Were the values on
    their laws, the rise would be a chi-square of ``removed`` degrees of freedom; one above
    ``removed`` + ``LAW_REJECT_SDS`` x sqrt(2 removed) means the laws pull values away from
    what the spectra say. Unlike the pooled AIC, one checkpoint with a large chi-square of its
    own (a noisy sweep) does not hide the others' misfit (three checkpoints, one of noise: the
    AIC "supported" a law that had swapped another checkpoint's arcs, 320 s^2 above its own
    fit). Returns ``delta_chisq_s2``, ``removed_parameters``, ``supported``, ``verdict``
    ("supported", "rejected", or "undetermined" when ``undetermined`` says why the joint fit
    decides nothing), ``statement``.

    ``chisq_joint`` is the fit with the laws (and sharing) but WITHOUT smoothing: the
    smoothing's own rise (a chi-square of its k*p - edf removed parameters, weighed by
    :func:`smoothing_evidence` against this fit) would otherwise be charged to the laws' few
    (a true law was rejected in 4 of 12 seeds with ``smooth="auto"``)."""
    rise = 0.0
    for cj, ci, d in zip(chisq_joint, chisq_independent, dof):
        s2 = ci / d if d > 0 else float("nan")
        rise += (cj - ci) / s2 if s2 > 0 else 0.0
    removed, limit, supported = _rise_verdict(rise, removed, LAW_REJECT_SDS)
    names = ", ".join(laws)
    if undetermined:
        return {"delta_chisq_s2": float(rise), "removed_parameters": removed, "supported": False,
                "verdict": "undetermined", "statement": f"The Arrhenius law for {names}: undetermined: {undetermined}"}
    statement = (f"The Arrhenius law for {names} raises the checkpoints' chi-square by {rise:.3g} s^2 (each its own) "
                 f"for {removed:.0f} parameters removed"
                 + ("" if supported else f" (more than {limit:.3g}): the data do NOT follow the law; "
                                         "the independent fits stand"))
    return {"delta_chisq_s2": float(rise), "removed_parameters": removed, "supported": bool(supported),
            "verdict": "supported" if supported else "rejected", "statement": statement}


def _rise_verdict(rise: float, removed: float, sds: float) -> tuple[float, float, bool]:
    """(removed, limit, supported) for a chi-square rise of ``rise`` s^2 where a constraint
    removed ``removed`` parameters: were the data as the constraint makes them, the rise would
    be a chi-square of ``removed`` degrees of freedom; above ``removed`` + ``sds`` x its SD
    sqrt(2 removed) the constraint pulls the values away from the data (not supported)."""
    removed = max(float(removed), 0.0)
    limit = removed + sds * math.sqrt(2.0 * max(removed, 1.0))
    return removed, limit, not (math.isfinite(rise) and rise > limit)
