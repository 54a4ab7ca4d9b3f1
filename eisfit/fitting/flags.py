"""What each fit flag means, in words a reader of a report understands.

Flags are short strings, ``name`` or ``name:detail`` (e.g. ``at-bound:CPE2_1``). The
fit (:mod:`eisfit.fitting.engine`, :mod:`eisfit.fitting.assemble`) and the campaign
runner (:mod:`eisfit.campaign.runner`) raise them; reports explain them with
:func:`explain_flag`.
"""
from __future__ import annotations

__all__ = ["FLAG_MEANINGS", "explain_flag", "flag_name"]

FLAG_MEANINGS: dict[str, str] = {
    "at-bound": "the parameter ended on a bound of its allowed range; its value is a limit, "
                "not an estimate, and it has no standard error",
    "large-stderr": "the standard error exceeds the value: the data hardly determine this parameter",
    "singular-covariance": "the covariance matrix could not be inverted: standard errors are not available",
    "not-converged": "the optimiser stopped at its iteration limit before converging",
    "profile-stderr": "the covariance error was too narrow for the chi-square surface (overlapping or "
                      "collapsed arcs); the reported error comes from the profile likelihood",
    "fapex-outside-range": "the arc's apex frequency lies outside the measured frequencies: only part "
                           "of the arc was measured, its resistance is an extrapolation",
    "low-n": "CPE exponent n < 0.6: the element behaves more like a diffusion or a resistor than "
             "a capacitance; its effective capacitance is doubtful",
    "arcs-overlap": "two arcs have time constants less than 2 decades apart: how the resistance is "
                    "split between them rests on the model shape",
    "arcs-unresolved": "two arcs have time constants less than half a decade apart: they can trade "
                       "labels between spectra, the split is not identifiable",
    "kk-failed": "the Lin-KK (Kramers-Kronig) test failed: the spectrum is not stationary or has "
                 "artefacts; the fit describes data that no linear stable system produces",
    "dropped-inductive-points": "points with Z'' > 0 (inductive, usually cables) were removed before fitting",
    "seed-disagreement": "campaign: the fit seeded by the previous checkpoint and the cold fit differ "
                         "by more than 3 combined standard errors in a resistance; the lower "
                         "chi-square was kept",
    "arc-jump": "campaign: a resistance changed more than 3x from the previous checkpoint without "
                "a change of conditions (cell, temperature, area, circuit)",
}


def flag_name(flag: str) -> str:
    """The name part of a flag: ``"at-bound:CPE2_1"`` -> ``"at-bound"``."""
    return flag.split(":", 1)[0]


def explain_flag(flag: str) -> str:
    """A one-sentence explanation of ``flag`` (its detail, e.g. the parameter, included)."""
    name, _, detail = flag.partition(":")
    meaning = FLAG_MEANINGS.get(name, "no description available for this flag")
    return f"{meaning} ({detail})" if detail else meaning
