"""DRT of every checkpoint of a campaign, with its peaks tracked across checkpoints.

``fit_campaign(..., drt=True)`` (CLI ``eisfit campaign ... --drt``) computes
:func:`eisfit.drt` of the points each kept fit used, with the fit's weighting, on
one common tau grid (so that the checkpoints can be drawn as a map).

Peak tracking
-------------
Only *major* peaks are tracked: area >= ``MAJOR_AREA_FRACTION`` (5 %) of the
polarisation resistance and height >= ``MAJOR_HEIGHT_FRACTION`` (10 %) of the highest
peak of that checkpoint, both of the closed part (open peaks left out, see
:func:`major_peaks`; the regularised DRT of noisy data leaves ripples of a few %;
see eisfit/analysis/drt.py), resolved from its neighbours (``peaks.resolved``: a
monotone tail of a larger neighbouring peak does not fit the data as well) and closed by
the data (``peaks.closed``: not a peak at an end of the data where -Z'' still rises, such as
a blocking electrode's CPE line, a low-frequency tail or an arc beyond f_max). Checkpoints
are walked in campaign order, each cell's on their own (a campaign of several cells: peaks of
different cells are never one track); each track remembers the log10 tau where it was last seen.
The major peaks of the next checkpoint are matched to the tracks by an order-preserving
alignment (peaks and tracks sorted by tau; processes do not overtake each other) that
minimises the sum of |delta log10 tau| / n, where n - 1 is the number of checkpoints without
a DRT (unreadable file, failed fit) since the track was last seen: a peak may only join a
track within ``MAX_JUMP_DECADES`` (1 decade) per step, and leaving a peak or a track unmatched
costs ``MAX_JUMP_DECADES``. An unmatched peak starts a new track; an unmatched track is empty
(NaN) at that checkpoint and stays open. Finally each cell's tracks are numbered by their
median tau: ``drt_peak1_*`` is the fastest process of its cell at every checkpoint.

A track that ends where an unresolved peak lies near its last tau, whose area a tracked
process beside it took (that process's resistance exceeds its own peak's by at least half
the unresolved peak's), has merged into that process there (:func:`_merges`): the
process's resistance at that checkpoint is not its own and is not reported
(``drt_peak<k>_R_process_ohm`` NaN, the report line says "merged with peak N").
"""
from __future__ import annotations

import math
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from .._processes import map_jobs

__all__ = ["campaign_drts", "track_peaks", "drt_tracks", "DRTTracks", "campaign_drt_tracks", "major_peaks",
           "drt_columns", "drt_peaks_table",
           "drt_report_lines", "KK_WARNING"]

MAJOR_AREA_FRACTION = 0.05
MAJOR_HEIGHT_FRACTION = 0.10
MAX_JUMP_DECADES = 1.0
KK_WARNING = "a DRT of invalid data is not evidence"


# ---- computing ------------------------------------------------------------------

def campaign_drts(results: Sequence[Any], options: Mapping[str, Any] | None = None,
                  executor: Executor | None = None) -> list[Any]:
    """One :class:`~eisfit.analysis.drt.DRTResult` per FitResult (None where there is no fit).

    The DRT uses the fitted points (``r.frequency``, ``r.z``) and the fit's weighting
    (``sigma`` weighting, whose standard deviations are not stored, falls back to
    ``modulus``), on a common grid over all checkpoints (10 points per decade, one decade
    beyond the measured range). ``options`` go to :func:`eisfit.drt` (e.g. ``lambda_``).
    Python warnings of the DRT are silenced; they stay in ``DRTResult.warnings``. A
    checkpoint whose DRT cannot be computed (e.g. fewer than 5 points) gets None.
    ``executor``: a :class:`concurrent.futures.Executor` (the campaign's workers) that
    computes them in chunks of :data:`DRT_CHUNK` (the same DRTs); one whose workers die
    leaves them to this process.
    """
    from ..analysis.drt import tau_grid

    fitted = [r for r in results if r is not None]
    if not fitted:
        return [None] * len(results)
    opts = dict(options or {})
    if "tau_s" not in opts:
        opts["tau_s"] = tau_grid(np.concatenate([np.asarray(r.frequency, float) for r in fitted]))
    points = [(np.asarray(r.frequency), np.asarray(r.z), r.label, _drt_weighting(r)) for r in fitted]
    chunks = [points] if executor is None else [points[a:a + DRT_CHUNK] for a in range(0, len(points), DRT_CHUNK)]
    found = (d for drts in map_jobs(executor, _drts_of, [(chunk, opts) for chunk in chunks]) for d in drts)
    return [None if r is None else next(found) for r in results]


DRT_CHUNK = 64  # checkpoints per task of campaign_drts on an executor


def _drt_weighting(result: Any) -> str:
    """The weighting of a fit's DRT: the fit's own (``sigma``, whose standard deviations
    are not stored, as ``modulus``)."""
    weighting = result.settings.get("weighting", "modulus")
    return "modulus" if weighting == "sigma" else weighting


def _drts_of(points: Sequence[tuple[np.ndarray, np.ndarray, str | None, str]],
             options: Mapping[str, Any]) -> list[Any]:
    """:func:`eisfit.drt` of each (frequency Hz, Z ohm, label, weighting), warnings
    silenced; None where it cannot be computed."""
    from ..analysis.drt import drt
    from ..errors import EisfitError
    from ..spectrum import points_spectrum

    out: list[Any] = []
    for frequency, z, label, weighting in points:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out.append(drt(points_spectrum(frequency, z, label), **{"weighting": weighting, **options}))
            except EisfitError:  # e.g. fewer than 5 points: no DRT for this checkpoint
                out.append(None)
    return out


def major_peaks(res: Any) -> Any:
    """The peaks of a DRTResult that count as processes (see the module docstring). Both
    shares are of the closed part of the DRT, whether or not a peak is open: the area of
    the polarisation resistance less the open peaks' areas, the height of the highest
    closed peak (its apex, as the peak table gives it). A blocking line's open peak of
    several kOhm at the low-frequency end would otherwise make a 100 ohm arc beside it a
    minor ripple."""
    peaks = res.peaks
    if not len(peaks):
        return peaks
    closed = peaks["closed"].to_numpy(bool)
    r_ref = res.r_pol_ohm - float(peaks["R_ohm"][~closed].sum())
    gmax = float(peaks["gamma_ohm"][closed].max()) if closed.any() else math.inf
    keep = (peaks["R_ohm"] >= MAJOR_AREA_FRACTION * r_ref) & \
           (peaks["gamma_ohm"] >= MAJOR_HEIGHT_FRACTION * gmax) & peaks["resolved"] & closed
    return peaks[keep].reset_index(drop=True)


# ---- tracking -------------------------------------------------------------------

@dataclass
class _Track:
    last_log_tau: float
    last_seen: int  # position, in its cell's walk, of the checkpoint where it was last seen
    members: dict[int, int]  # checkpoint index -> row in that checkpoint's major peaks


@dataclass(frozen=True)
class DRTTracks:
    """The major peaks of each checkpoint's DRT (:func:`major_peaks`; None where there is
    no DRT) and the tracks across them (:func:`track_peaks`), made once for a campaign's
    table, peak table, report and figures (:func:`campaign_drt_tracks`). Track ``k`` (from 0)
    holds the k+1-th fastest process of every cell: its members are of several cells when the
    campaign has several (``cells``: each checkpoint's cell, None for a single-cell campaign)."""

    majors: list[Any]
    tracks: list[dict[int, int]]
    cells: list[Any] | None = None
    merged: dict[tuple[int, int], int] = field(default_factory=dict)  # (track, checkpoint) -> the track it took


def drt_tracks(drts: Sequence[Any], max_jump_decades: float = MAX_JUMP_DECADES,
               cells: Sequence[Any] | None = None) -> DRTTracks:
    """The :class:`DRTTracks` of ``drts`` (one DRTResult or None per checkpoint). ``cells``:
    each checkpoint's cell (None: one cell); each cell's checkpoints are tracked on their own,
    in campaign order, and its tracks numbered by median tau, so that track 1 is the fastest
    process of every checkpoint's own cell (two cells walked as one chained cell A's interface
    arc to cell B's electrolyte arc)."""
    majors = [None if res is None else major_peaks(res) for res in drts]
    log_taus = [None if m is None else np.log10(np.asarray(m["tau_s"], dtype=float)) for m in majors]
    merged: list[dict[int, int]] = []
    for walk in _cell_walks(len(drts), cells):
        for t, members in enumerate(_tracks_of_walk(walk, log_taus, max_jump_decades)):
            if t == len(merged):
                merged.append({})
            merged[t].update(members)
    tracks = [dict(sorted(m.items())) for m in merged]
    merges = {}
    for walk in _cell_walks(len(drts), cells):
        merges.update(_merges(walk, tracks, drts, majors, max_jump_decades))
    return DRTTracks(majors, tracks, None if cells is None else list(cells), merges)


MERGED_SHARE = 0.5  # a process holding this share of an unresolved peak's area beyond its own took it


def _merges(walk: Sequence[int], tracks: Sequence[dict[int, int]], drts: Sequence[Any], majors: Sequence[Any],
            gate: float) -> dict[tuple[int, int], int]:
    """{(track, checkpoint): the track it took} along one cell's ``walk``: where a track seen at
    the checkpoint before (with a DRT) is missing, an unresolved peak lies within ``gate``
    decades of its last tau and the tracked process nearest that peak holds at least
    ``MERGED_SHARE`` of its area beyond its own peak's, that process took the ended track (an
    interface arc shrinking into the bulk arc's time constant: "R 50.5 -> 74.4 ohm" for a
    bulk arc that stayed 50 ohm, the circuit fit giving 50.7 +- 1.9)."""
    out: dict[tuple[int, int], int] = {}
    with_drt = [k for k in walk if drts[k] is not None and majors[k] is not None]
    for before, k in zip(with_drt, with_drt[1:]):
        peaks = drts[k].peaks
        lone = peaks[~peaks["resolved"].to_numpy(bool)]
        here = [(t, majors[k].iloc[m[k]]) for t, m in enumerate(tracks) if k in m]
        if not len(lone) or not here:
            continue
        for gone, members in enumerate(tracks):
            if before not in members or k in members:
                continue
            last = math.log10(float(majors[before]["tau_s"].iloc[members[before]]))
            for tau, area in zip(lone["tau_s"], lone["R_ohm"]):
                if abs(math.log10(tau) - last) > gate:
                    continue
                t, row = min(here, key=lambda h: abs(math.log10(h[1]["tau_s"] / tau)))
                if row["R_process_ohm"] - row["R_ohm"] >= MERGED_SHARE * area:
                    out[(t, k)] = gone
    return out


def _cell_walks(n: int, cells: Sequence[Any] | None) -> list[list[int]]:
    """The checkpoint indices of each cell, in campaign order; cells in order of appearance."""
    if cells is None:
        return [list(range(n))]
    walks: dict[Any, list[int]] = {}
    for k, cell in enumerate(cells):
        walks.setdefault(cell, []).append(k)
    return list(walks.values())


def _tracks_of_walk(walk: Sequence[int], log_taus: Sequence[Any], max_jump_decades: float) -> list[dict[int, int]]:
    """The tracks (``{checkpoint index: row}``, ordered by median log10 tau) along the
    checkpoints ``walk`` of one cell. A checkpoint without a DRT (its file unreadable, its
    fit failed) is a gap: a track last seen n steps back may have drifted n gates since, so it
    is matched on its drift per step, |delta log10 tau| / n, within the gate (one unreadable
    file doubled a 1.2-decade step and split an arc into two tracks)."""
    tracks: list[_Track] = []
    for pos, k in enumerate(walk):
        log_tau = log_taus[k]
        if log_tau is None:
            continue
        order = sorted(range(len(tracks)), key=lambda t: tracks[t].last_log_tau)
        steps = [1 + _gaps_between(walk, log_taus, tracks[t].last_seen, pos) for t in order]
        pairs = _align([tracks[t].last_log_tau for t in order], list(log_tau), max_jump_decades, steps)
        matched = set()
        for ti, pi in pairs:
            track = tracks[order[ti]]
            track.members[k] = pi
            track.last_log_tau = float(log_tau[pi])
            track.last_seen = pos
            matched.add(pi)
        for pi in range(log_tau.size):
            if pi not in matched:
                tracks.append(_Track(float(log_tau[pi]), pos, {k: pi}))

    def median_log_tau(track: _Track) -> float:
        return float(np.median([log_taus[k][i] for k, i in track.members.items()]))

    return [t.members for t in sorted(tracks, key=median_log_tau)]


def _gaps_between(walk: Sequence[int], log_taus: Sequence[Any], start: int, stop: int) -> int:
    """The checkpoints of ``walk`` strictly between positions ``start`` and ``stop`` that have
    no DRT (None)."""
    return sum(log_taus[walk[j]] is None for j in range(start + 1, stop))


def track_peaks(drts: Sequence[Any], max_jump_decades: float = MAX_JUMP_DECADES,
                cells: Sequence[Any] | None = None) -> list[dict[int, int]]:
    """Tracks of major peaks across checkpoints, ordered by median tau (per cell, ``cells``
    one per checkpoint; see :func:`drt_tracks`).

    Each track is ``{checkpoint index: row in major_peaks(drts[index])}``; see the
    module docstring for the matching rule.
    """
    return drt_tracks(drts, max_jump_decades, cells).tracks


def campaign_cells(camp: Any) -> list[Any] | None:
    """Each checkpoint's cell when the campaign has several cells, else None (one cell)."""
    cells = [c.cell for c in camp.checkpoints]
    return cells if len(set(cells)) > 1 else None


def campaign_drt_tracks(camp: Any) -> DRTTracks:
    """:func:`drt_tracks` of ``camp.drts``, per cell, made once per DRT list of the campaign
    (kept in its ``_memo``: the table's columns, the peak table, the report and the figures read it)."""
    memo = getattr(camp, "_memo", None)
    drts = camp.drts or []
    known = None if memo is None else memo.get("drt_tracks")
    if known is not None and known[0] is drts:
        return known[1]
    tracks = drt_tracks(drts, MAX_JUMP_DECADES, campaign_cells(camp))
    if memo is not None:
        memo["drt_tracks"] = (drts, tracks)
    return tracks


def _align(a: list[float], b: list[float], gate: float, steps: Sequence[int] | None = None) -> list[tuple[int, int]]:
    """Order-preserving matching of sorted a and b minimising the sum of |a_i - b_j| / steps_i
    (the drift per step of a track last seen ``steps_i`` checkpoints back; 1 each when None),
    pairs within ``gate`` per step, an unmatched element costing ``gate``. Returns the (i, j) pairs."""
    n, m = len(a), len(b)
    steps = [1] * n if steps is None else list(steps)

    def drift(i: int, j: int) -> float:
        return abs(a[i] - b[j]) / steps[i]

    cost = np.zeros((n + 1, m + 1))
    cost[:, 0] = gate * np.arange(n + 1)
    cost[0, :] = gate * np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d = drift(i - 1, j - 1)
            pair = cost[i - 1, j - 1] + d if d <= gate else math.inf
            cost[i, j] = min(pair, cost[i - 1, j] + gate, cost[i, j - 1] + gate)
    pairs, i, j = [], n, m
    while i > 0 and j > 0:
        d = drift(i - 1, j - 1)
        if d <= gate and math.isclose(cost[i, j], cost[i - 1, j - 1] + d):
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif math.isclose(cost[i, j], cost[i - 1, j] + gate):
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


# ---- table, CSV, report ---------------------------------------------------------

def drt_columns(drts: Sequence[Any], tracks: DRTTracks | None = None) -> list[dict[str, Any]]:
    """Per checkpoint: ``drt_peak<k>_tau_s`` (s), ``_f_Hz`` (Hz), ``_R_ohm`` (the peak's area,
    ohm), ``_R_process_ohm`` (with the side lobes and shoulders it owns, ohm; see
    :func:`eisfit.analysis.drt.process_areas`; NaN where the DRT does not determine it, its
    ``determined`` False: a process reaching past f_max) for every track k (NaN where the
    track has no peak), ``drt_n_peaks`` (major peaks), ``drt_lambda``, ``drt_kk_warning`` (True when the
    KK test of the points failed). ``tracks``: :func:`drt_tracks` of ``drts`` if made already."""
    tracks = drt_tracks(drts) if tracks is None else tracks
    rows = []
    for k, res in enumerate(drts):
        row: dict[str, Any] = {}
        peaks = tracks.majors[k]
        values = None if peaks is None else {col: peaks[col].to_numpy(float) for col in DRT_PEAK_COLUMNS}
        if values is not None:
            values["R_process_ohm"] = np.where(_determined(peaks), values["R_process_ohm"], math.nan)
        for t, members in enumerate(tracks.tracks, start=1):
            i = members.get(k)
            for col in DRT_PEAK_COLUMNS:
                row[f"drt_peak{t}_{col}"] = float(values[col][i]) if values is not None and i is not None else math.nan
            if (t - 1, k) in tracks.merged:  # not this process's own resistance
                row[f"drt_peak{t}_R_process_ohm"] = math.nan
        row["drt_n_peaks"] = len(peaks) if peaks is not None else math.nan
        row["drt_lambda"] = res.lambda_ if res is not None else math.nan
        row["drt_kk_warning"] = res.kk_violation if res is not None else None
        rows.append(row)
    return rows


DRT_PEAK_COLUMNS = ("tau_s", "f_Hz", "R_ohm", "R_process_ohm")  # each track's columns in the table


def _determined(peaks: Any) -> np.ndarray:
    """Whether each row of a peak table has a process resistance the data determine (a
    table without the column: every row)."""
    if "determined" not in peaks:
        return np.ones(len(peaks), bool)
    return peaks["determined"].to_numpy(bool)


def drt_peaks_table(camp) -> Any:
    """Every DRT peak of every checkpoint (long format) with its track number
    (``track`` 0 = minor peak, not tracked; numbered within the checkpoint's cell): label, cell, time_h, cycle, checkpoint,
    track, tau_s, f_Hz, gamma_ohm, R_ohm, R_process_ohm, resolved, closed, determined (whether the data
    determine R_process_ohm, :func:`eisfit.drt`), major, lambda, kk_passed."""
    import pandas as pd

    drts = camp.drts or []
    tracks = campaign_drt_tracks(camp)
    track_of = {}
    for t, members in enumerate(tracks.tracks, start=1):
        for k, i in members.items():
            track_of[(k, i)] = t
    rows = []
    for k, (c, res) in enumerate(zip(camp.checkpoints, drts)):
        if res is None:
            continue
        major = tracks.majors[k]
        for _, p in res.peaks.iterrows():
            hit = np.flatnonzero(np.isclose(major["tau_s"], p["tau_s"], rtol=1e-12, atol=0))
            t = track_of.get((k, int(hit[0]))) if hit.size else None
            rows.append({"label": c.label, "cell": c.cell, "time_h": c.time_h, "cycle": c.cycle, "checkpoint": k,
                         "track": t or 0, "tau_s": p["tau_s"], "f_Hz": p["f_Hz"],
                         "gamma_ohm": p["gamma_ohm"], "R_ohm": p["R_ohm"], "R_process_ohm": p["R_process_ohm"],
                         "resolved": bool(p["resolved"]), "closed": bool(p["closed"]),
                         "determined": bool(p.get("determined", True)), "major": bool(hit.size),
                         "lambda": res.lambda_, "kk_passed": res.kk_passed})
    columns = ["label", "cell", "time_h", "cycle", "checkpoint", "track", "tau_s", "f_Hz", "gamma_ohm",
               "R_ohm", "R_process_ohm", "resolved", "closed", "determined", "major", "lambda", "kk_passed"]
    return pd.DataFrame(rows, columns=columns)


def drt_report_lines(camp) -> list[str]:
    """The "DRT" section of report.md: processes per checkpoint vs arcs, tracked peaks,
    and a warning line per checkpoint whose Kramers-Kronig test failed."""
    from ..model import circuit_of

    drts = camp.drts or []
    lines = ["", "## DRT", "",
             "DRT of the fitted points of each checkpoint (same weighting, regularisation by "
             "GCV + discrepancy principle). A process is a DRT peak with >= "
             f"{MAJOR_AREA_FRACTION:.0%} of R_pol and >= {MAJOR_HEIGHT_FRACTION:.0%} of the "
             "highest peak (both shares of the closed part: open peaks left out), resolved from its "
             "neighbours and closed by the data (not a peak at an end of the data where -Z'' still "
             "rises); peaks are tracked across checkpoints by nearest log tau "
             f"(at most {MAX_JUMP_DECADES:g} decade per checkpoint; across checkpoints without a DRT, "
             f"{MAX_JUMP_DECADES:g} decade per step), each cell on its own.", ""]
    counts = []
    majors = campaign_drt_tracks(camp).majors
    for c, r, res, major in zip(camp.checkpoints, camp.results, drts, majors):
        if res is None or r is None:
            continue
        n_arcs = len(circuit_of(r.circuit).arcs)
        n = len(major)
        mark = "" if n == n_arcs else " (differs)"
        counts.append(f"{c.label}: {n} vs {n_arcs}{mark}")
    if counts:
        lines.append("Processes found by the DRT vs arcs in the circuit: " + "; ".join(counts) + ".")
    lines += _track_lines(camp)
    for c, res in zip(camp.checkpoints, drts):
        if res is not None and res.kk_violation:
            pct = res.kk_max_residual_pct
            worst = "" if pct is None else f" (max residual {pct:.2g} %)"
            lines.append(f"- **Warning** {c.label}: Kramers-Kronig test failed{worst}: {KK_WARNING}.")
    noisy = [c.label for c, res in zip(camp.checkpoints, drts) if res is not None and res.kk_status == "too-noisy"]
    if noisy:
        lines.append(f"- {len(noisy)} checkpoint(s) too noisy for the Kramers-Kronig test to judge "
                     f"({', '.join(noisy)}): neither passed nor a violation; their DRTs' small peaks may be noise.")
    return lines


def _track_lines(camp) -> list[str]:
    """One line per tracked peak (and cell, named, when the campaign has several): its tau
    and process resistance at the first and last checkpoints it is present at, how many of
    its cell's checkpoints it is present at, and the checkpoints without a DRT it was
    followed across; read from the campaign's tracks (:func:`campaign_drt_tracks`)."""
    tracks = campaign_drt_tracks(camp)
    drts = camp.drts or []
    out = [""] if tracks.tracks else []
    axis = camp.evolution_axis()
    walks = _cell_walks(len(drts), tracks.cells)
    for t, members in enumerate(tracks.tracks, start=1):
        for walk in walks:
            own = [k for k in walk if k in members]
            if not own:
                continue
            first, last = own[0], own[-1]

            def peak(k: int, col: str) -> float:
                return float(tracks.majors[k][col].iloc[members[k]])

            def resistance(k: int) -> str:  # never a number the data do not determine
                if (t - 1, k) in tracks.merged:  # the caveat says with which
                    return "merged"
                determined = _determined(tracks.majors[k])[members[k]]
                return f"{peak(k, 'R_process_ohm'):.3g}" if determined else "undetermined"

            def name(k: int) -> str:
                return camp.checkpoints[k].name_on(axis, k)

            cell = f", cell {camp.checkpoints[first].cell}" if tracks.cells is not None else ""
            gaps = [k for k in walk[walk.index(first) + 1:walk.index(last)] if drts[k] is None]
            across = (f"; followed across {len(gaps)} checkpoint(s) without a DRT ({', '.join(name(k) for k in gaps)}), "
                      f"the {MAX_JUMP_DECADES:g}-decade gate widened per missing step" if gaps else "")
            undetermined = sum(not _determined(tracks.majors[k])[members[k]] for k in own)
            failed = sum(bool(drts[k].kk_violation) for k in own)
            merges = [f"peak {tracks.merged[(t - 1, k)] + 1} at {name(k)}" for k in own if (t - 1, k) in tracks.merged]
            caveats = (f"; R not determined by the data at {undetermined} of them" if undetermined else "") + (
                f"; the Lin-KK test fails at {failed} of them" if failed else "") + (
                f"; merged with {', '.join(merges)} (R there not its own)" if merges else "")
            out.append(f"- DRT peak {t}{cell}: tau {peak(first, 'tau_s'):.3g} -> {peak(last, 'tau_s'):.3g} s, "
                       f"R {resistance(first)} -> {resistance(last)} ohm with its side "
                       f"lobes ({name(first)} -> {name(last)}; "
                       f"present at {len(own)} of {len(walk)} checkpoints{caveats}{across})")
    return out
