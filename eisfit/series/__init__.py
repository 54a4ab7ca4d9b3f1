"""Series analysis of a campaign: joint fits with shared parameters, smoothness across
checkpoints, evidence for sharing (AIC/BIC).

    from eisfit.series import joint_fit
    res = joint_fit(spectra, "garnet-symmetric", shared=["R1", "CPE1_0", "CPE1_1"], smooth="auto")
    res.sharing["statement"]   # 'Sharing R1, CPE1_0, CPE1_1 across 12 checkpoints is supported (dAIC = 35)'
    res.table()                # one row per checkpoint, shared values repeated

Modules: :mod:`.solver` (Schur-complement Levenberg-Marquardt on block-sparse
problems), :mod:`.blocktri` (block-tridiagonal solves), :mod:`.smoothing`
(robust Tikhonov penalty, GCV), :mod:`.evidence` (AIC/BIC verdict), :mod:`.joint`.
"""
from .evidence import sharing_evidence, sharing_statement
from .joint import JointFitResult, joint_fit

__all__ = ["joint_fit", "JointFitResult", "sharing_evidence", "sharing_statement"]
