"""Fit flags and their severity.

Every flag a fit, a joint fit or a campaign can carry is listed here with one of
three severities:

* ``problem``: a number of the fit should not be used as it stands (the optimiser
  stopped short, the model misses the data, a parameter ran away, the data fail
  Kramers-Kronig). Plots and reports mark these.
* ``caution``: the numbers are usable with care (a parameter on a bound, a large or
  profile-widened standard error, an arc outside the measured range...).
* ``note``: information about what was done (points dropped, parameters shared).

A flag is ``name`` or ``name:detail`` (``at-bound:R2``, ``lack-of-fit:12.3``); its
severity depends on the name only. Reports explain flags with :func:`explain_flag`.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from ..analysis.derived import APEX_NOT_CLOSED_TEXT

PROBLEM, CAUTION, NOTE = "problem", "caution", "note"
SEVERITY_ORDER = (PROBLEM, CAUTION, NOTE)

FLAGS: dict[str, tuple[str, str]] = {
    # name: (severity, meaning), the meaning as documented in CLI.md
    "not-converged": (PROBLEM, "the optimiser stopped on its iteration limit before the chi-square settled"),
    "lack-of-fit": (PROBLEM, "the fit's residuals are this many times the noise level of the data "
                             "(Lin-KK residuals), more than 2x: the model cannot describe data that a "
                             "KK-consistent Voigt chain describes down to their noise (with a weighting "
                             "other than modulus, also when that weighting misjudges the data's noise: "
                             "compare a modulus-weighted fit)"),
    "unresolved": (PROBLEM, "the parameter ran beyond what the data can inform (resistance above 100x max |Z|, "
                            "or any element whose |Z| stays above that over the measured band, with every "
                            "parameter of the p() branch it opens as a series member; "
                            "time constant more than a decade outside the measured range (an arc's flagged on its R "
                            "and Q, on its R alone where that R ran away and its C or CPE of n >= 0.6 is then the "
                            "arc over the data), CPE with n at its "
                            "lower bound and Q at its limit, a Gs phi above 10 (a plain Gerischer), "
                            "an element other than a resistance whose |Z| stays below 0.1 % of "
                            "the data's smallest |Z| (a C or CPE shorted), with the p() branches it shorts; "
                            "a resistance whose "
                            "1-sigma profile-likelihood interval reaches down to below 10 % of its value or "
                            "is open towards zero, or, for an arc whose apex lies below 3x the lowest "
                            "frequency beside a blocking element (a circuit not finite at DC), up to above "
                            "10x its value or open upwards: the data allow it to be nearly nothing, or "
                            "ten times larger, whatever its stderr; a finite-length Warburg's (Wo, Ws) time constant, with its Z0, whose "
                            "transition lies near or below the lowest frequency and whose profile is open "
                            "towards an infinite length at 3 sigma (the data fix only Z0/sqrt(tau)); "
                            "a derived quantity computed from such a parameter (a total conductivity "
                            "or a Brug C_eff that takes it only through a sum of resistances: when not "
                            "determined itself)); it is printed as "
                            "'unresolved' and left empty in tables and JSON, with every quantity of its "
                            "element (each of the element's parameters is named by a flag of its own; no "
                            "large-stderr, profile-stderr or profile-open beside it; JSON keeps what the "
                            "optimiser stopped at under unresolved_values)"),
    "multimodal": (PROBLEM, "another optimum that the solver met, with a chi-square less than 2 s^2 above this "
                            "one's (s^2 = chisq/dof) or below it, puts this parameter more than 3 of its stderr "
                            "away: the data do not tell the two apart, and neither the stderr nor a profile "
                            "interval walked from this optimum covers the other; the value is kept (the lowest "
                            "optimum's) but reads 'undetermined' in headline numbers, figures and evolution "
                            "lines, as a value whose stderr reaches it (fix an arc, or fit a simpler circuit: "
                            "eisfit suggest)"),
    "arc-numbering": (PROBLEM, "beside a blocking element (a circuit not finite at DC) the data fit almost as "
                               "well (a chi-square less than 9 s^2 above this one's: 3 sigma) with one arc under "
                               "another arc's number, the arc that vanishes or runs off at one end of the data in "
                               "this fit standing at the other end: which arc this parameter's arc is (bulk or "
                               "interface, R1 or R2) is not determined by the data, only its shape; the value "
                               "is kept (the lowest optimum's) but reads 'undetermined' in headline numbers, "
                               "figures and evolution lines, as 'multimodal' (measure further down in "
                               "frequency, fix one arc, or judge the arc by its effective capacitance)"),
    "kk-failed": (PROBLEM, "the Lin-KK test of the fitted points failed and the fitted circuit (itself "
                           "KK-consistent) does not pass the same acceptance rule either; eisfit validate "
                           "(in a campaign: --kk-band) names the band of frequencies where the data pass, "
                           "when one does"),
    "noise-dominated": (PROBLEM, "the fitted points scatter from one to the next by this much of |Z| (their noise "
                                 "SD from the Lin-KK residuals' second differences, 20 % or more): they are noise, "
                                 "not a spectrum (an open lead, a cell that was not connected, a current too small "
                                 "to measure), and no value of the fit describes the cell, whatever its stderr: "
                                 "every value reads 'undetermined' in headline numbers, figures and evolution "
                                 "lines, and no lack-of-fit ratio is given (a fit within such noise says nothing)"),
    "kk-not-passive": (CAUTION, "the Lin-KK test passed with a chain whose negative resistances outweigh its "
                                "positive ones (mu <= 0; eisfit validate: 'pass (mu<=0)'): no chain of positive "
                                "resistances, no passive system, gives these points (inductive points, a negative "
                                "resistance); the pass says the chain follows them, not that a passive cell gave "
                                "them"),
    "kk-too-noisy": (CAUTION, "the Lin-KK test cannot judge these data: its residuals are random noise of this "
                              "robust SD (% of |Z|), 1.5-5 %, which hides what the test looks for (a drift of a "
                              "few %); neither passed nor a violation. The stderr carry the noise; a drift "
                              "during the sweep cannot be ruled out"),
    "columns-modulus-phase": (PROBLEM, "a headerless table's last two columns were read as Z' and Z'' (ohm), "
                                       "which fail the Lin-KK test; read as |Z| and phase they pass it (max "
                                       "residual this many %): the file most probably holds |Z| and phase; read "
                                       "it with --columns naming them (eisfit validate prints the option, e.g. "
                                       "--columns frequency=0,modulus=1,phase=2; columns={...} in Python)"),
    "misfit": (CAUTION, "the fit's residuals are this many times the noise level of the data, 1.2-2x: "
                        "systematically above it (right-model fits stay below 1.1), as when an element is "
                        "missing (the lead inductance of MHz data) or the cell changed during the sweep (a "
                        "drift at the lowest frequencies that the Lin-KK test let pass: residuals of one sign "
                        "at one end); the stderr understate the uncertainty; compare circuits with eisfit "
                        "suggest, or fit without the drifting end (--fmin)"),
    "few-frequencies": (CAUTION, "few-frequencies:N-for-M: fewer distinct frequencies (N) than free parameters (M): "
                                 "the 2N residuals leave fewer degrees of freedom than there are parameters, too "
                                 "few to tell them apart (arcs trade labels between alike spectra); fit a simpler "
                                 "circuit (eisfit suggest) or measure more frequencies. Where 2N - M is 2 or less, "
                                 "every value reads 'undetermined': its standard error rests on 1-2 residual "
                                 "degrees of freedom (3 of them cover the truth 80 % of the time at 1)"),
    "kk-not-run": (NOTE, "the Lin-KK test needs at least 10 distinct frequencies and the fitted points have "
                         "this many: no Kramers-Kronig verdict, and no lack-of-fit ratio (its noise level comes "
                         "from that test)"),
    "weight-dominated": (CAUTION, "proportional weighting (s' = |Z'|, s'' = |Z''| of the data) weighs the point "
                                  "at this frequency as if measured to better than 1 % of its |Z|: its Z'' (or "
                                  "Z') lies near zero, where the spectrum meets an axis, and it decides the fit "
                                  "(flags such as lack-of-fit then blame the circuit): use the default modulus "
                                  "weighting, or leave the point out (--exclude-hz F)"),
    "kk-outlier": (CAUTION, "one point at this frequency deviates from the Lin-KK chain by more than 6 robust "
                            "noise SDs and 1 % of |Z| while both its neighbours do not: a glitch (mains "
                            "pick-up, a contact); leave it out and fit again (eisfit fit/campaign --exclude-hz F; "
                            "Python: exclude_hz=[F])"),
    "inductance-in-data": (CAUTION, "the fit misses the data (ratio above 1.2) that hold a series inductance "
                                    "of this many H (the Lin-KK chain's, on data that pass the test: more than 3 "
                                    "noise levels of |Z| at f_max) that the circuit lacks: add L0 "
                                    "(garnet-symmetric-L) or fit below the frequencies it affects (--fmax)"),
    "capacitive-tail-in-data": (CAUTION, "the fit misses the data (ratio above 1.2) that end in a capacitive "
                                         "tail (the Lin-KK chain's series capacitance of this many F, on data "
                                         "that pass the test: more than 3 noise levels of |Z| at f_min) that the "
                                         "circuit cannot follow, its impedance finite at low frequency: add a "
                                         "CPE or Wo in series (a blocking electrode, an open diffusion) or fit "
                                         "above the tail (--fmin)"),
    "noisy-points": (CAUTION, "this many fitted points have an instrument-reported noise-to-signal ratio of "
                              "100 % or more (BioLogic's NSR quality indicator, the NSR Ewe/% or NSR I/% column "
                              "of the file): the response's noise is as large as the response there, so those "
                              "impedances are mostly noise (an excitation amplitude too small for the cell's "
                              "impedance at those frequencies); leave them out (--fmin/--fmax, --exclude-hz) or "
                              "measure with a larger amplitude"),
    "at-bound": (CAUTION, "the parameter sits on a bound (its stderr is the local curvature only)"),
    "semi-infinite": (CAUTION, "a finite-length Warburg (Wo, Ws) whose time constant is unresolved beyond the "
                               "low-frequency end (its transition 1/(2 pi tau) below 3x the lowest fitted "
                               "frequency): over the data it is the semi-infinite Warburg, so its Z0 and tau "
                               "are unresolved and only their Warburg coefficient Aw = Z0/sqrt(2 tau) "
                               "(<element>_aw_ohm_per_sqrt_s: Z -> Aw (1-j)/sqrt(w)) is determined (also where "
                               "Z0 = Aw sqrt(2 tau) ran beyond 100x max|Z| with tau); where the covariance "
                               "is singular (Z0 and tau trade exactly) its stderr comes from the covariance "
                               "in the coordinates (Aw, tau), in which it is estimable; it keeps its number "
                               "unless that stderr is unknown or above it"),
    "large-stderr": (CAUTION, "the parameter's stderr reaches or exceeds its value (zero lies within 1 stderr)"),
    "singular-covariance": (CAUTION, "J^T J is singular (an element the data do not inform, or parameters that "
                                     "trade exactly): the parameters in its null directions have no stderr (nan, "
                                     "or 'unresolved' where so flagged); the others keep theirs, from the "
                                     "pseudo-inverse, as the data give them; with no finite variance at all, "
                                     "every stderr is nan"),
    "profile-stderr": (CAUTION, "the covariance error of this resistance (or finite-length Gerischer phi) was "
                                "too narrow for the chi-square surface; the stderr comes from its profile "
                                "likelihood"),
    "profile-open": (CAUTION, "the profile likelihood of this parameter (a resistance, a finite-length Gerischer "
                              "phi) stays below the 3-sigma level (9 s^2) up to where its walk stops (1000x the "
                              "value, or its bound): the data bound it below only. No standard error describes "
                              "that (the walk's limit had given one of 333x the value): the stderr is empty (nan, "
                              "null in JSON, an empty cell in tables), with those of the quantities derived from "
                              "it, and the value reads 'undetermined' with the bounds the profile gives: "
                              "'> lower 3-sigma end (3 sigma lower bound; the 1-sigma interval; the data do not "
                              "bound it above)'; the bounds are in the fit's intervals, the open end null"),
    "stderr-spans-range": (CAUTION, "an exponent with a bounded range (a CPE's or a ZARC's n, 0-1) whose 1-sigma "
                                    "interval, value +- stderr, is at least half as wide as that range: the data "
                                    "do not tell a capacitor-like n from a diffusion-like one, whatever the "
                                    "stderr is next to the value; it reads 'undetermined' in headline numbers, "
                                    "figures and evolution lines, its value and stderr kept in tables and JSON"),
    "fapex-outside-range": (CAUTION, "the arc's apex frequency lies outside the fitted range, or within half a "
                                     "decade inside an end of it where the data's -Z'' has not turned down (where "
                                     "the DRT calls its peak open): the data hold at most about half of the arc, "
                                     "its R is extrapolated; "
                                     "for a G, Gs or Ws (named by the element), its apex lies above f_max: the data "
                                     "hold only its low-frequency side, an arc's tail, not its own shape"),
    "arcs-overlap": (CAUTION, "two arcs' time constants are less than a decade apart: their R split rests "
                              "on the model shape"),
    "arcs-unresolved": (CAUTION, "two arcs' time constants are less than half a decade apart: which arc is "
                                 "which is not identifiable"),
    "capacitance-class": (CAUTION, "the arc's effective capacitance lies outside the Irvine-Sinclair-West "
                                   "range of the role its circuit gives it (electrolyte: C*L/A eps0 = 8.85e-14.."
                                   "2e-8 F/cm with a thickness and an area, below eps0 flagged "
                                   "unphysical-permittivity instead; C 5e-15..2e-8 F without them; "
                                   "interface, electrode, surface layer: C/A 5e-10..2e-3 F/cm2): the role, and "
                                   "what follows from it (conductivity, per-interface ASR), may be wrong"),
    "unphysical-permittivity": (CAUTION, "the electrolyte arc's relative permittivity C_eff*L/(eps0*A) is below 1 "
                                         "(C*L/A under eps0 = 8.854e-14 F/cm, the vacuum's), which no material has: "
                                         "the thickness or the area given is wrong (a thickness in the wrong unit, "
                                         "an area too large), or the arc is not the bulk or grain boundary (a surface "
                                         "layer, a stray capacitance): check L and A, and the arc's role, before "
                                         "using its conductivity"),
    "resistive-cpe": (CAUTION, "a CPE in series whose exponent is below 0.3 (phase under 27 degrees): neither "
                               "a blocking capacitance nor a diffusion tail, it acts as a resistance and likely "
                               "stands in for the series resistance (R0 on its bound)"),
    "series-holds-arc": (CAUTION, "this series resistance (R0, the high-frequency intercept) also holds the "
                                  "resistance of the arc right after it, whose apex lies above f_max, where it or "
                                  "the arc's resistance is not determined by the data (unresolved, or stderr >= "
                                  "value), or of a Gerischer or finite-length Warburg in series whose apex lies "
                                  "above f_max (the data hold only its low-frequency side, which any depressed arc "
                                  "gives): the two trade, only their sum is measured (hf_intercept_ohm, per area "
                                  "hf_intercept_asr_ohm_cm2; sigma_total_with_series_S_per_cm). The value is no "
                                  "series resistance alone: reports read it 'undetermined' and Arrhenius "
                                  "lines leave it out"),
    "traded-with-series": (CAUTION, "the resistance of the arc that a series resistance holds too "
                                    "(series-holds-arc), its apex above f_max: the two trade, only their sum is "
                                    "measured (hf_intercept_ohm); its number is no arc resistance alone and reads "
                                    "'undetermined', Arrhenius lines leave it out"),
    "split-undetermined": (CAUTION, "the resistance of an arc that the data measure only together with its "
                                    "neighbour in time constant: their sum is determined (R1+R2_ohm), the split "
                                    "is not (the other arc can take this one's share at under 3 stderr, or "
                                    "another optimum close in chi-square does); its number is no arc resistance "
                                    "alone and reads 'undetermined', Arrhenius lines leave it out"),
    "low-n": (CAUTION, "exponent below 0.6 of a CPE in parallel (an arc, a double layer): closer to a diffusion line than a capacitance"),
    "seed-disagreement": (CAUTION, "campaign: the fit seeded by the previous checkpoint found a minimum more than "
                                   "0.1 % and more than 1 s^2 below the automatic (cold) fit's, which alone would "
                                   "have missed it"),
    "arc-jump": (CAUTION, "campaign: a resistance changes more than 3x from the previous checkpoint"),
    "arc-swap": (CAUTION, "campaign: this arc's time constant moved by more than 2 decades (100x) from the "
                          "previous checkpoint with the same conditions: its parameters now describe another "
                          "process (two labellings of the circuit fit almost equally and the arcs swapped "
                          "places, or an arc was lost or found); its evolution compares different processes "
                          "there. The seeded chain keeps the previous checkpoint's identities where the "
                          "swapped labelling is lower by less than 2 in BIC, so a flagged swap is one the data "
                          "prefer clearly (also across chunk boundaries: a chunk start whose cold lead-in "
                          "swapped them is refitted from the kept fit before it)"),
    "model-dependent": (CAUTION, "circuit='auto': a circuit that these data support as well or better (a BIC "
                                 "lower, or less than 6 higher) puts this parameter more than 2 of its stderr "
                                 "away (a lead inductance L0 moves the R0/R1 split of an arc above f_max): its "
                                 "stderr holds for the chosen circuit only (eisfit suggest names the values)"),
    "least-bad-circuit": (CAUTION, "circuit='auto': no candidate circuit was adequate (each lacks fit or leaves "
                                   "parameters unresolved); this one is the least bad of them (eisfit suggest "
                                   "lists them)"),
    "circuit-not-judged": (CAUTION, "circuit='auto': the data give no noise level to judge the candidates' fits "
                                    "by (fewer than 10 frequencies, or a failed Lin-KK test on fewer than 3 points "
                                    "per decade): the circuit is the one BIC prefers, not one shown adequate "
                                    "(eisfit suggest lists the candidates)"),
    "excluded-points": (NOTE, "this many points were left out on request (exclude_hz, --exclude-hz: the points "
                              "within 1 % of each frequency given)"),
    "dropped-inductive-points": (NOTE, "this many high-frequency points with Z'' > 0 (reaching 1 % of |Z|) "
                                       "were dropped (circuit without inductor)"),
    "thickness-unused": (NOTE, "a thickness was given without an electrode area: conductivities (L/(R*A)) and "
                               "permittivities need both, so none was computed (give area_cm2=, --area-cm2)"),
    "file-area": (NOTE, "the file states an electrode area of this many cm2 (the instrument's settings, often "
                        "its default), not the area used: eisfit normalises by the area given only (area_cm2=, "
                        "--area-cm2; none given: no ASR), never by the file's"),
    "per-area-data": (NOTE, "the file gave the impedance per area (ohm*cm2); it was divided by this electrode "
                            "area (cm2) and fitted in ohm"),
}


FLAG_MEANINGS: dict[str, str] = {name: meaning for name, (_, meaning) in FLAGS.items()}


def with_flags_added(flags: Sequence[str], more: Iterable[str]) -> list[str]:
    """``flags`` followed by those of ``more`` they do not hold yet (a campaign's own flags)."""
    return list(flags) + [f for f in dict.fromkeys(more) if f not in flags]


def explain_flag(flag: str) -> str:
    """A one-sentence explanation of ``flag`` (its detail, e.g. the parameter, included)."""
    name, _, detail = flag.partition(":")
    meaning = FLAG_MEANINGS.get(name, "no description available for this flag")
    return f"{meaning} ({detail})" if detail else meaning


def flag_name(flag: str) -> str:
    """The name of a flag without its detail: ``at-bound:R2`` -> ``at-bound``."""
    return flag.split(":", 1)[0]


def flag_counts(flag_lists: Iterable[Iterable[str] | None]) -> dict[str, int]:
    """{flag name: how many of ``flag_lists`` (one per fit; None for none) hold a flag of that
    name}, in the order the names first appear."""
    counts: dict[str, int] = {}
    for flags in flag_lists:
        for name in dict.fromkeys(map(flag_name, flags or ())):
            counts[name] = counts.get(name, 0) + 1
    return counts


def flag_detail(flags: Iterable[str], name: str) -> str | None:
    """The detail of the first flag ``name:detail`` among ``flags`` (``kk-too-noisy:2.1%`` ->
    ``2.1%``), None where there is none."""
    return next((f.split(":", 1)[1] for f in flags if f.startswith(name + ":")), None)


def flag_details(flags: Iterable[str], name: str) -> set[str]:
    """The details of every flag ``name:detail`` among ``flags`` (``unresolved:R2``,
    ``unresolved:CPE2_0`` -> ``{"R2", "CPE2_0"}``)."""
    return {f.split(":", 1)[1] for f in flags if flag_name(f) == name and ":" in f}


def severity(flag: str) -> str:
    """``problem``, ``caution`` or ``note`` (an unknown flag counts as a caution)."""
    return FLAGS.get(flag_name(flag), (CAUTION, ""))[0]


def problems(flags: Iterable[str]) -> list[str]:
    """The flags of severity ``problem``, in their order."""
    return [f for f in flags if severity(f) == PROBLEM]


PARAMETER_PROBLEMS = ("unresolved", "multimodal", "arc-numbering")  # problems of one parameter, not of the whole fit


def _is_whole_fit_problem(flag: str) -> bool:
    """A flag of severity ``problem`` other than ``unresolved``, ``multimodal`` and
    ``arc-numbering`` (which concern one parameter)."""
    return severity(flag) == PROBLEM and flag_name(flag) not in PARAMETER_PROBLEMS


def whole_fit_problems(flags: Iterable[str]) -> list[str]:
    """The flags of severity ``problem`` that concern the whole fit (``lack-of-fit``,
    ``not-converged``, ``kk-failed``...); ``unresolved`` concerns one parameter, whose value
    reads "unresolved" (and leaves a gap in plots) instead, nor does ``multimodal``, whose
    parameter reads "undetermined" (:func:`reads_undetermined`)."""
    return [f for f in flags if _is_whole_fit_problem(f)]


MARKED_CAUTIONS = ("arc-swap",)  # caution flags that mark a checkpoint's numbers like a problem of the whole fit


def marked_flags(flags: Iterable[str]) -> list[str]:
    """The flags that mark a checkpoint's numbers in a campaign's evolution lines and
    figures: the problems of the whole fit (:func:`whole_fit_problems`) and ``arc-swap``
    (the arcs' parameters describe other processes than at the checkpoint before)."""
    return [f for f in flags if _is_whole_fit_problem(f) or flag_name(f) in MARKED_CAUTIONS]


def holds_arc(flags: Iterable[str], key: str) -> bool:
    """Whether ``key`` (a parameter or a derived quantity: ``R0``, ``R0_sigma_S_per_cm``)
    belongs to a series resistance flagged ``series-holds-arc:<R>``, to the arc's resistance
    it trades with (``traded-with-series:<R>``) or to an arc's resistance measured only in a
    sum with its neighbour's (``split-undetermined:<R>``): its value is not that resistance's
    alone and reads 'undetermined'."""
    held = flag_details(flags, "series-holds-arc") | flag_details(flags, "traded-with-series") | flag_details(
        flags, "split-undetermined")
    return any(key == r or key.startswith(r + "_") for r in held)


def multimodal_names(flags: Iterable[str]) -> set[str]:
    """Parameter names flagged ``multimodal:<name>`` or ``arc-numbering:<name>`` (another
    optimum puts them elsewhere)."""
    return flag_details(flags, "multimodal") | flag_details(flags, "arc-numbering")


PROFILE_OPEN_FLAG = "profile-open"  # profile-open:<name>: no stderr, a lower bound only (profile.open_above)
NOISE_DOMINATED_FLAG = "noise-dominated"  # noise-dominated:<pct>%: the points are noise (KKResult.noise_dominated)
KK_NOT_PASSIVE_FLAG = "kk-not-passive"  # a Lin-KK pass whose chain has mu <= 0 (no passive system gives the points)
SPANS_RANGE_FLAG = "stderr-spans-range"  # stderr-spans-range:<name>: an exponent's stderr spans its range
ARC_NUMBERING_FLAG = "arc-numbering"  # arc-numbering:<name>: the data fit almost as well with its arc under another number
FEW_FREQUENCIES_FLAG = "few-frequencies"  # few-frequencies:5-for-7: fewer distinct frequencies than free parameters
MIN_STDERR_DOF = 3  # a fit of fewer residual degrees of freedom (2N - M) has no usable standard errors
UNDETERMINING_FLAGS = frozenset({"series-holds-arc", "traded-with-series", "split-undetermined", "multimodal",
                                 FEW_FREQUENCIES_FLAG, ARC_NUMBERING_FLAG,
                                 SPANS_RANGE_FLAG, NOISE_DOMINATED_FLAG})  # read by
# reads_undetermined


def too_few_degrees_of_freedom(flags: Iterable[str]) -> bool:
    """Whether a fit flagged ``few-frequencies:N-for-M`` has fewer than ``MIN_STDERR_DOF``
    residual degrees of freedom (2N - M): its s^2 rests on one or two numbers, so its standard
    errors say nothing (4 frequencies for 7 parameters: the truth lay outside 3 reported
    stderr in 15-28 % of 60 fits)."""
    for detail in flag_details(flags, FEW_FREQUENCIES_FLAG):
        n, _, m = detail.partition("-for-")
        if n.isdigit() and m.isdigit() and 2 * int(n) - int(m) < MIN_STDERR_DOF:
            return True
    return False


def reads_undetermined(flags: Iterable[str], key: str) -> bool:
    """Whether ``key`` (a parameter or a derived quantity) must read 'undetermined' in
    headline numbers, figures and evolution lines by a flag, whatever its stderr: a series
    resistance that holds an arc (:func:`holds_arc`), a parameter flagged
    ``multimodal:<name>`` or ``arc-numbering:<name>`` with every quantity of its element (``multimodal:R3`` covers
    ``R3_asr_ohm_cm2``; ``multimodal:CPE3_0`` covers ``CPE3_ceff_F``...), or an exponent
    flagged ``stderr-spans-range:<name>`` (that parameter only: the quantities derived from
    it carry its variance in their own stderr); every key of a fit flagged ``noise-dominated``
    (its points are noise) or with too few degrees of freedom (:func:`too_few_degrees_of_freedom`)."""
    flags = list(flags)
    names = set(map(flag_name, flags))
    if UNDETERMINING_FLAGS.isdisjoint(names):
        return False
    if NOISE_DOMINATED_FLAG in names or too_few_degrees_of_freedom(flags):
        return True
    if holds_arc(flags, key) or key in flag_details(flags, SPANS_RANGE_FLAG):
        return True
    for name in multimodal_names(flags):
        element = name.rsplit("_", 1)[0] if "_" in name and name.rsplit("_", 1)[-1].isdigit() else name
        if key == name or key == element or key.startswith(element + "_"):
            return True
    return False


def unresolved_names(flags: Iterable[str]) -> set[str]:
    """Parameter names flagged ``unresolved:<name>``."""
    return flag_details(flags, "unresolved")


def unresolved_keys(flags: Iterable[str], keys: Iterable[str]) -> set[str]:
    """The parameter names and derived-quantity keys among ``keys`` that must read
    "unresolved": the flagged parameters, and every key of the same element
    (``unresolved:CPE2_0`` covers ``CPE2_1``, ``CPE2_tau_s``, ``CPE2_ceff_F``...;
    ``unresolved:R2`` covers ``R2_asr_ohm_cm2``...)."""
    names = unresolved_names(flags)
    if not names:  # most fits: no key to look at (a table row, a cache entry and a figure ask for every fit)
        return set()
    elements = {n.rsplit("_", 1)[0] if n.rsplit("_", 1)[-1].isdigit() and "_" in n else n for n in names}
    kept = {f"{e}{WARBURG_COEFFICIENT_SUFFIX}" for e in flag_details(flags, "semi-infinite")}
    return {k for k in keys if k in names or (any(k.startswith(e + "_") or k == e for e in elements)
                                              and not any(k.startswith(w) for w in kept))}


#: the key (after the element's name) of a finite Warburg's coefficient Z0/sqrt(2 tau), which a
#: ``semi-infinite:<element>`` flag keeps while the element's Z0 and tau read unresolved
WARBURG_COEFFICIENT_SUFFIX = "_aw_"


def arcs_not_told_apart(flags: Iterable[str]) -> set[str]:
    """The capacitive elements named by ``arcs-unresolved:<C1>,<C2>`` flags: arcs whose time
    constants are less than half a decade apart, which the data do not tell apart (figures
    draw their apexes as no distinct process)."""
    return {name for detail in flag_details(flags, "arcs-unresolved") for name in detail.split(",") if name}


EXTRAPOLATED_LABEL = f"extrapolated ({APEX_NOT_CLOSED_TEXT})"  # what the flag means for an arc's R


LOW_N_CAPACITANCE_SUFFIXES = ("_ceff_", "_eps_r")  # derived keys read as a capacitance of their element


def low_n_capacitance_keys(flags: Iterable[str], keys: Iterable[str]) -> set[str]:
    """The derived keys among ``keys`` that read a capacitance from a CPE flagged
    ``low-n:<CPE>`` (exponent below 0.6): its effective capacitance in every form
    (``CPE1_ceff_F``, ``_ceff_brug_F``, ``_ceff_F_per_cm2``, ``_ceff_per_interface_F_per_cm2``,
    their ``_stderr``) and the relative permittivity ``CPE1_eps_r``. Such an element is closer
    to a diffusion line than a capacitance (domain conventions 2.4: flag it rather than read a
    capacitance): the numbers are the arithmetic of its parameters (tables keep them, with the
    flag in the row), never a headline value (figures and headline lines leave them out, as an
    unresolved one). Its time constant and apex frequency stay."""
    elements = flag_details(flags, "low-n")
    return {k for k in keys for e in elements
            if k.startswith(e) and any(k[len(e):].startswith(suffix) for suffix in LOW_N_CAPACITANCE_SUFFIXES)}


def undetermined_reason(stderr: float) -> str:
    """Why :func:`undetermined` said so: ``stderr unknown`` or ``stderr >= value``."""
    return "stderr >= value" if math.isfinite(stderr) else "stderr unknown"


def by_severity(flags: Iterable[str]) -> dict[str, list[str]]:
    """The flags grouped by severity (problem, caution, note; empty groups kept)."""
    out: dict[str, list[str]] = {s: [] for s in SEVERITY_ORDER}
    for f in flags:
        out[severity(f)].append(f)
    return out


SETTLED_CHISQ_FRACTION = 0.1  # Gauss-Newton gain below 0.1 s^2: the optimum is within ~0.3 stderr


def optimum_settled(residuals: np.ndarray, jacobian: np.ndarray, on_bound: np.ndarray) -> bool:
    """True when a stopped optimiser has nothing left to gain, so that ``not-converged``
    would be misleading.

    ``residuals`` (R,) are the weighted residuals at the final values, ``jacobian`` (R, M)
    their Jacobian (any parametrisation), ``on_bound`` (M,) bool marks parameters held on a
    bound (left out of the step). The full Gauss-Newton step over the other parameters
    would lower the chi-square by ``|J dp|^2``; when that is below 10 % of
    s^2 = chisq / (R - M), every parameter is within ~0.3 standard error of where it
    would end, and the fit counts as converged.
    """
    r = np.asarray(residuals, float)
    jac = np.asarray(jacobian, float)[:, ~np.asarray(on_bound, bool)]
    dof = r.size - np.asarray(jacobian).shape[1]
    if dof <= 0 or not (np.all(np.isfinite(r)) and np.all(np.isfinite(jac))):
        return False
    if jac.shape[1] == 0:
        return True
    chisq = float(r @ r)
    step, *_ = np.linalg.lstsq(jac, -r, rcond=1e-12)
    gain = float(np.sum((jac @ step) ** 2))
    return gain <= SETTLED_CHISQ_FRACTION * chisq / dof
