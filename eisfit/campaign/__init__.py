"""Campaign reprocessing: fit every checkpoint of a cycling test, follow each resistance.

    camp = eisfit.fit_campaign("sample_data/garnet_campaign/campaign.toml", out="results/")
    print(camp.report()); camp.table; camp.plot_evolution()

Modules: :mod:`.sources` (folder / glob / campaign file / spectra -> ordered
checkpoints), :mod:`.runner` (cold fits in parallel, seeded chains, flags),
:mod:`.cache` (one JSON per fit), :mod:`.result` (table, figures, writing),
:mod:`.report` (markdown).
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import math
import sys
import threading
import time
import warnings
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .._caller import user_stacklevel
from .. import __version__
from .._processes import (death_causes, long_lived_objects, pool_processes, release_freed_memory, settle_long_lived,
                          stop_pool, usable_cores,
                          worker_context, worker_deaths_text)
from ..errors import CampaignError, CircuitError, FitError
from ..io.options import ReaderOptions
from ..settings import CampaignSettings, FitSettings, check_parameter_names
from ..units import CelsiusAsKelvinWarning
from .cache import FitCache, MemoryCache, circuit_fingerprint, settings_hash
from .outputs import PARTIAL_ROWS, outputs_held
from .result import (JOINT_LEFT_OUT, JOINT_NOT_RUN, JOINT_REJECTED, JOINT_UNDETERMINED, JOINT_USED, CampaignResult,
                     CheckpointFailure)
from .roles import with_campaign_roles
from .runner import CheckpointFits, reflag_arc_jumps, run_campaign_fits, with_campaign_flags
from .sources import CONDITION_KEYS, CampaignWarning, Checkpoint, cell_phrase, load_checkpoints
from . import spool as spooling
from .spool import Spool, Spooled, SpooledResults

__all__ = ["fit_campaign", "CampaignResult", "Checkpoint", "CheckpointFailure", "CampaignWarning",
           "load_checkpoints"]

BUILTIN_DEFAULTS = FitSettings().fit_kwargs()  # garnet-symmetric, no area, symmetric, modulus, ...
CACHE_FOLDER = ".eisfit-cache"
INTERRUPTED_WARNING = "the campaign was interrupted"  # the warning's start (eisfit campaign says it its own way)
PROGRESS_MIN_CHECKPOINTS = 4


def _holding_out(fit: Callable[..., "CampaignResult"]) -> Callable[..., "CampaignResult"]:
    """``fit`` (:func:`fit_campaign`) with its ``out`` folder checked writable and held for the
    whole run (:func:`~eisfit.campaign.outputs.outputs_held`), before any file is read."""
    import functools
    import inspect

    signature = inspect.signature(fit)

    @functools.wraps(fit)
    def holding(*args: Any, **kwargs: Any) -> "CampaignResult":
        out = signature.bind(*args, **kwargs).arguments.get("out")
        if out is None:
            return fit(*args, **kwargs)
        folder = Path(out)
        made = not folder.exists()
        _check_writable(folder)
        try:
            with outputs_held(folder):
                return fit(*args, **kwargs)
        except BaseException:
            if made:  # a folder made for a run that stopped (a bad setting, nothing readable) goes again if empty
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise

    return holding


@_holding_out
@long_lived_objects()  # what a campaign keeps is frozen as it is made: full collections skip it
def fit_campaign(
    source: Any,
    circuit: str | None = None,
    area_cm2: float | None = None,
    thickness_cm: float | None = None,
    symmetric: bool | None = None,
    weighting: str | None = None,
    fmin: float | None = None,
    fmax: float | None = None,
    exclude_hz: Sequence[float] | None = None,
    jobs: int | str = 1,
    executor: Executor | None = None,
    out: str | Path | None = None,
    cache_dir: str | Path | bool | None = None,
    progress: bool | None = None,
    shared: Sequence[str] | None = None,
    smooth: Any = None,
    arrhenius_law: Sequence[str] | None = None,
    drt: bool | dict[str, Any] = False,
    rows_file: str | Path | None = None,
    arrhenius: bool = False,
    kk_band: bool = False,
    reader: ReaderOptions | None = None,
    **fit_options: Any,
) -> CampaignResult:
    """Fit every checkpoint of a campaign and follow each resistance.

    Parameters
    ----------
    source : a folder, a glob pattern, a campaign file (.toml / .csv with a ``file``
        column), a data file, or a list of :class:`~eisfit.Spectrum` (or of paths; a file
        listed twice is fitted once, with a :class:`~eisfit.campaign.CampaignWarning`).
    circuit, area_cm2 (cm2), thickness_cm (cm), symmetric, weighting, fmin, fmax, exclude_hz (Hz) :
        fit settings passed to :func:`eisfit.fit`. ``circuit="auto"``: one circuit for
        every checkpoint, chosen by :func:`eisfit.selection.choose_common_circuit` (the
        information criterion summed over the checkpoints; ``.circuit_choice`` and the
        report say which and why, and where single checkpoints would prefer another; with
        ``jobs`` or ``executor`` the choice runs on the workers too). ``None`` = the campaign file's
        ``[defaults]``, else ``garnet-symmetric``, no area, no thickness,
        ``symmetric=True``, ``modulus`` weighting, no cropping, no point left out
        (``exclude_hz``: a list of frequencies, each leaving out the points within 1 % of
        it; a layer's list replaces the one below). Precedence:
        campaign-file row > argument > campaign-file ``[defaults]`` > built-in.
    jobs : processes for the fits on this machine (ProcessPoolExecutor); they also read
        the data files when there are 64 or more. They are forked where that is safe
        (Linux, called from the main thread, no other thread running), else spawned: a
        script that uses spawned workers must call ``fit_campaign`` under
        ``if __name__ == "__main__":`` (a notebook need not). The campaign is
        cut into chunks (a seeded chain per cell, at most ``runner.CHUNK_SIZE`` checkpoints
        each), packed into tasks, every task one batched fit (with ``jobs``: one task per
        worker of up to ~500 checkpoints; see :mod:`eisfit.campaign.runner`). ``"auto"`` (what
        ``eisfit campaign`` does by default): one process per core this process may use, at
        most :data:`eisfit.campaign.AUTO_JOBS_MAX`, started only for a campaign of at least
        :data:`eisfit.campaign.AUTO_MIN_CHECKPOINTS` checkpoints (or files to read) for the start method that
        workers get here (fork: 250; spawn, whose workers first import eisfit: 1,000); below, or
        on one core, everything runs in this process. ``stats["workers"]`` says how many
        processes fitted (1: this one; None with ``executor``).
    executor : any :class:`concurrent.futures.Executor` (e.g. a Dask client's
        ``client.get_executor()``); takes precedence over ``jobs``.
    out : folder for summary.csv(.parquet), report.md and figures; also holds the
        cache in ``<out>/.eisfit-cache/`` unless ``cache_dir`` says otherwise. Held for the
        whole run (:func:`~eisfit.campaign.outputs.outputs_held`): another campaign into it
        meanwhile raises :class:`~eisfit.CampaignError` before reading a file.
    cache_dir : cache folder; ``False`` disables the cache.
    progress : tqdm progress bar counting checkpoints; ``None`` = only on a terminal and
        for >= 4 checkpoints.
    shared, smooth : joint fit across checkpoints (parameter names shared by all
        checkpoints; smoothness ``"auto"`` or a float lambda), delegated to
        ``eisfit.series.joint_fit`` after the independent fits, which seed it; the
        :class:`~eisfit.series.JointFitResult` is kept as ``CampaignResult.joint``. The table
        holds the joint fit only when it converged and the data allow all it assumes
        (:attr:`~eisfit.series.JointFitResult.accepted`: the sharing by the AIC, the smoothing
        by its chi-square rise, any law by its own test, each checkpoint weighted by its own
        noise level), else the independent fits, with a warning; its ``joint_fit`` column says
        which fit each row holds (``joint``, ``independent: joint fit rejected`` / ``joint fit
        did not converge`` / ``left out`` / ``no joint fit``, the why in ``notes``). ``smooth``
        and the names are checked before any file is read. Each cell needs one circuit,
        weighting, area, thickness and symmetry (:class:`~eisfit.CampaignError` before any fit
        otherwise).
    arrhenius_law : resistances that follow an Arrhenius law across the checkpoints of a
        cell, fitted jointly (``eisfit.series.joint_fit(arrhenius=...)``: Ea and its prefactor
        instead of one free value per checkpoint, in the sigma*T form); every checkpoint needs
        a temperature and each cell at least 3 different ones (checked before the first fit).
    drt : also compute the DRT of every checkpoint's fitted points (same weighting) and
        track its peaks across checkpoints (``drt_peak<k>_*`` columns, ``.drts``, DRT
        figures, drt_peaks.csv, a DRT section in report.md; see
        :mod:`eisfit.campaign.drt`); a dict passes options to :func:`eisfit.drt`. With
        ``jobs`` or ``executor`` they are computed on the workers, as the fits.
    rows_file : CSV file the table rows are appended to as the fits finish (in the order
        the chunks finish, without the campaign flags and arc roles decided at the end; whole
        rows only), so that a run that dies leaves them on disk; default
        ``<out>/summary.partial.csv`` with ``out`` (removed once summary.csv holds the whole
        table), else none.
    **fit_options : passed on to :func:`eisfit.fit` (``bounds``, ``fixed``, ``guess``, ...);
        an unknown name raises ``TypeError`` at once.

    kk_band : for every checkpoint whose fitted points fail the Lin-KK test, also find the
        band of frequencies where they pass (:func:`eisfit.kk_valid_band`): ``kk_valid_*``
        columns, ``.kk_bands``, and a report section with the campaign-file ``fmin``/``fmax``/
        ``exclude_hz`` that fit only those points (nothing is refitted; see
        :mod:`eisfit.campaign.kkband`).
    arrhenius : True: check before the first fit that :meth:`CampaignResult.arrhenius` can
        run (every checkpoint has a temperature, at least two different ones, and area and
        thickness); :class:`~eisfit.CampaignError` otherwise (``eisfit campaign --arrhenius``).
        With ``out``, arrhenius.csv, arrhenius.png/.svg and a report.md section are written
        there too (:meth:`CampaignResult.write`).
    reader : how the data files are read (:class:`eisfit.io.ReaderOptions`: ``format``,
        ``imag_sign``, ``columns``, checked when it is built), e.g.
        ``reader=eisfit.ReaderOptions(imag_sign="positive")`` for exports whose imaginary
        column holds -Z''; ``None`` = every file as detected. It reads every file of a
        folder, glob or list, in the worker processes too; a campaign file's rows and
        ``[defaults]`` may give their own ``format``, ``imag_sign`` and ``columns``, with the
        precedence of the fit settings (row > argument > ``[defaults]``). They are part of
        each checkpoint's cache key (other options: the file is read and fitted again), and
        ``settings["reader"]`` and report.md name them. Not used for spectra given in memory
        (a :class:`~eisfit.campaign.CampaignWarning` says so).

    Every setting is validated before any fit (:class:`eisfit.settings.CampaignSettings`):
    a bad value raises :class:`~eisfit.FitError` / :class:`~eisfit.CircuitError`, a bad
    campaign file :class:`~eisfit.CampaignError`. When the run is interrupted
    (KeyboardInterrupt), the fits finished so far are kept, the others are reported as
    not fitted, ``stats["interrupted"]`` is True, a
    :class:`~eisfit.campaign.CampaignWarning` says how many were fitted and the outputs are
    written as usual.

    Returns
    -------
    :class:`CampaignResult` (``.table``, ``.results``, ``.errors``, ``.ordering``,
    ``.settings``, ``.stats``, plots, ``.write()``, ``.report()``).
    """
    t0 = time.perf_counter()
    arguments = {"circuit": None if circuit == "auto" else circuit, "area_cm2": area_cm2,
                 "thickness_cm": thickness_cm, "symmetric": symmetric, "weighting": weighting,
                 "fmin": fmin, "fmax": fmax, "exclude_hz": exclude_hz}
    run = CampaignSettings(fit=arguments, fit_options=fit_options, jobs=jobs, reader=reader, shared=shared,
                           smooth=smooth, arrhenius_law=arrhenius_law)  # the joint fit's settings too, before any file is read
    shared, arrhenius_law = run.shared, run.arrhenius_law  # one name as a string: that name
    joint = _joint_fit_function() if run.joint else None
    if smooth is not None and not run.joint:  # smooth=0 alone: said, not run as a joint fit that assumes nothing
        warnings.warn("smooth=0 smooths nothing: no joint fit is run, the table holds the independent fits",
                      CampaignWarning, stacklevel=user_stacklevel())
    workers = _Workers(jobs if executor is None else 1)
    try:  # the campaign's own worker processes also read the files
        src = load_checkpoints(source, executor=workers.executor_for, reader=run.reader)
        read_s = time.perf_counter() - t0
        n_read = sum(c.ok for c in src.checkpoints)
        workers.executor_for(n_read)
        own_pool = workers.pool
        settle_long_lived()  # the spectra stay to the end
        file_defaults = _fit_defaults(src.defaults, source)
        choice, choice_s = None, 0.0
        if circuit == "auto" or (circuit is None and file_defaults.get("circuit") == "auto"):
            # issue 16: one circuit for the whole campaign, chosen before any checkpoint is fitted
            file_defaults.pop("circuit", None)
            t_choice = time.perf_counter()
            choice = _choose_campaign_circuit(src.checkpoints,
                                              FitSettings.layered(file_defaults, run.fit).fit_kwargs(),
                                              own_pool.executor if own_pool else executor)
            choice_s = time.perf_counter() - t_choice
            run = dataclasses.replace(run, fit={**run.fit, "circuit": choice.circuit})
        common = FitSettings.layered(file_defaults, run.fit).fit_kwargs()
        items = _items(src.checkpoints, file_defaults, run)
        if joint is not None:
            _check_joint_names(items, shared, arrhenius_law)
        try:  # what the checkpoints lack for the analyses asked, before any fit, named by the source
            if arrhenius:
                _check_arrhenius_possible(src.checkpoints, items)
            if arrhenius_law:
                _check_arrhenius_law_possible(src.checkpoints)
            if joint is not None:
                _check_joint_settings(src.checkpoints, items)
        except CampaignError as exc:
            raise CampaignError(f"{source}: {exc}" if isinstance(source, (str, Path)) else str(exc)) from None
        cache = _cache(out, cache_dir)
        spool = _spool(n_read, cache, out)
        if spool is not None:
            _stash_spectra(src.checkpoints, items, spool)
            release_freed_memory()  # the spectra's arrays, freed, back to the system before the fits
        chains = _chains(src.checkpoints)
    except BaseException:
        if workers.pool:
            workers.pool.shutdown(cancel_futures=True)
        raise
    interrupted = False
    if rows_file is None and out is not None:
        rows_file = Path(out) / PARTIAL_ROWS
    on_chunk = None if rows_file is None else _row_streamer(Path(rows_file), src.checkpoints, items)
    # outputs follow the fits: written here (out) or by the caller that streams the rows (eisfit campaign)
    outputs_follow = out is not None or rows_file is not None
    t_fits = time.perf_counter()
    try:
        fits, stats = run_campaign_fits(items, chains, own_pool.executor if own_pool else executor, cache,
                                        lambda n: _progress_bar(progress, n), on_chunk=on_chunk,
                                        respawn=own_pool and own_pool.respawn,
                                        workers=own_pool.jobs if own_pool else None,
                                        on_core_free=_output_module_loader(figures=outputs_follow),
                                        on_last_outcome=_after_last_outcome(own_pool, figures=outputs_follow,
                                                                            keep_pool=bool(drt)),
                                        spool=spool)
    except KeyboardInterrupt:
        if own_pool:
            stop_pool(own_pool.executor)
        fits, stats = _fits_so_far(items, chains, cache, spool)
        interrupted = True
    except BaseException:
        if own_pool:
            own_pool.finish_shutdown()
        raise
    stats.update(read_seconds=read_s, fit_seconds=choice_s + time.perf_counter() - t_fits)
    try:
        joint_result = None
        if joint is not None:
            joint_result = _apply_joint_fit(joint, src.checkpoints, items, fits, shared, smooth, fit_options,
                                            arrhenius_law)
        result = _assemble(src, items, fits, common, stats, spool)
        if drt:  # DRT (issue 8), on the workers that fitted (unless the run was interrupted)
            result.compute_drt(executor=None if interrupted else own_pool.executor if own_pool else executor,
                               **(drt if isinstance(drt, dict) else {}))
    finally:
        if own_pool:
            own_pool.finish_shutdown()  # before anything that may fork (a running thread makes forking unsafe)
    keeping = _keeping(cache, on_chunk)
    # from here on the result holds all that is kept: each checkpoint's fit as the runner gave it
    # (before the campaign's roles and flags) and the kept fits an interrupt would have been read
    # back from are freed before the tables and figures are made (10,000 CSV files: they had
    # stayed to the end, ~3 KB per checkpoint)
    del fits, items, on_chunk
    cache.release()
    if spool is not None:
        release_freed_memory()  # what the run's bookkeeping held, back to the system before the outputs
    settle_long_lived()
    if own_pool and own_pool.death_causes:
        result.stats["worker_death_causes"] = list(dict.fromkeys(own_pool.death_causes))
    result.stats["workers"] = None if executor is not None else own_pool.jobs if own_pool else 1
    _warn_worker_deaths(result.stats)
    result.joint = joint_result
    if joint is not None:  # what was asked of the joint fit (what it did, per cell: result.joint_records())
        result.settings.update(shared=list(shared or []), smooth=smooth,
                               **({"arrhenius_law": list(arrhenius_law)} if arrhenius_law else {}))
    if choice is not None:
        result.circuit_choice = choice
        result.settings["circuit_choice"] = choice.explain()
    if kk_band:
        result.compute_kk_bands()
    result.stats["wall_seconds"] = time.perf_counter() - t0
    result.started_perf_s = t0
    result.stats["interrupted"] = interrupted
    result.stats.update(keeping)
    if interrupted:  # a notebook's run had returned without a word (the command says it in its own line)
        fitted = sum(r is not None for r in result.results)
        warnings.warn(f"{INTERRUPTED_WARNING}: {fitted} of {len(result.results)} checkpoints fitted; the others are "
                      "rows 'not fitted: the campaign was interrupted' (stats['interrupted'] is True)",
                      CampaignWarning, stacklevel=user_stacklevel())
    if out is not None:
        result.write(out, arrhenius=arrhenius)  # the reports count the figures too (wall time measured after them)
    result.wall_time_s = time.perf_counter() - t0
    return result


# ---- settings -------------------------------------------------------------------

def _fit_defaults(file_defaults: dict[str, Any], source: Any = None) -> dict[str, Any]:
    """The fit settings of a campaign file's [defaults] (temperature and cell are not),
    checked on their own so that an error names the file (``source``) and [defaults]."""
    fit_defaults = {k: v for k, v in file_defaults.items() if k in BUILTIN_DEFAULTS}
    try:
        FitSettings.layered(fit_defaults)
    except (FitError, CircuitError) as exc:
        where = f"{source}: " if isinstance(source, (str, Path)) else "campaign file "
        raise type(exc)(f"{where}[defaults]: {exc}") from None
    return fit_defaults


_WHERE_TEMPERATURES = ("(temperature_C or temperature_K in a campaign file, or in every file name with its "
                       "unit: LLZO_25degC.csv)")


def _check_arrhenius_possible(checkpoints: list[Checkpoint], items: list[dict[str, Any]]) -> None:
    """CampaignError unless the readable checkpoints all have a temperature, at least two
    different ones, and area and thickness (conductivity = L / (R A))."""
    readable = [(c, it) for c, it in zip(checkpoints, items) if c.ok]
    what = "an Arrhenius fit of the conductivities"
    missing = [c.label for c, _ in readable if c.temperature_K is None]
    if missing:
        raise CampaignError(f"{what} needs a temperature {_WHERE_TEMPERATURES} for every checkpoint; "
                            f"{len(missing)} have none ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})")
    temperatures = {round(c.temperature_K, 6) for c, _ in readable}
    if len(temperatures) < 2:
        raise CampaignError(f"{what} needs at least 2 different temperatures; every checkpoint is at "
                            f"{next(iter(temperatures), float('nan')):g} K")
    for key, option in (("area_cm2", "--area-cm2"), ("thickness_cm", "--thickness-cm")):
        bare = [c.label for c, it in readable if not it["settings"].get(key)]
        if bare:  # name the one missing (both were named where only the thickness was)
            raise CampaignError(f"{what} needs {key} ({option}) for every checkpoint; {len(bare)} have none "
                                f"({', '.join(bare[:3])}{', ...' if len(bare) > 3 else ''})")


def _check_arrhenius_law_possible(checkpoints: list[Checkpoint]) -> None:
    """CampaignError unless every readable checkpoint has a temperature and every cell at
    least 3 different ones (an Arrhenius law across a cell's checkpoints, ``arrhenius_law``)."""
    readable = [c for c in checkpoints if c.ok]
    missing = [c.label for c in readable if c.temperature_K is None]
    if missing:
        raise CampaignError(f"an Arrhenius law across the checkpoints needs a temperature {_WHERE_TEMPERATURES} "
                            f"for every checkpoint; {len(missing)} have none "
                            f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})")
    from ..series.joint import MIN_LAW_TEMPERATURES

    cells: dict[str, set] = {}
    for c in readable:
        cells.setdefault(c.cell, set()).add(round(c.temperature_K, 6))
    few = {cell: t for cell, t in cells.items() if len(t) < MIN_LAW_TEMPERATURES}
    if few:
        cell, t = next(iter(few.items()))
        raise CampaignError(f"an Arrhenius law across the checkpoints needs at least {MIN_LAW_TEMPERATURES} different "
                            f"temperatures in each cell; {cell_phrase(cell)} has {len(t)}")


def _check_joint_names(items: list[dict[str, Any]], shared, arrhenius_law) -> None:
    """CampaignError, before any fit, where the joint fit would refuse the parameters named
    for it in a checkpoint's circuit (:func:`eisfit.series.joint.check_joint_parameters`)."""
    from ..model import load_circuit
    from ..series.joint import check_joint_parameters

    for circuit_name in dict.fromkeys(it["settings"].get("circuit") for it in items if it["spectrum"] is not None):
        try:
            check_joint_parameters(load_circuit(circuit_name).circuit, list(shared or ()), list(arrhenius_law or ()),
                                   arrhenius_option="arrhenius_law")
        except FitError as exc:
            raise CampaignError(str(exc)) from None


def _items(checkpoints: list[Checkpoint], file_defaults: dict[str, Any],
           run: CampaignSettings) -> list[dict[str, Any]]:
    """One runner item per checkpoint; the settings of each are layered and validated here,
    before any fit: row > argument > [defaults] > built-in."""
    resolved: dict[tuple, FitSettings] = {}
    shared: dict[Any, Any] = {}  # one settings dict and hash per resolved settings, one dict per conditions
    items = []
    for c in checkpoints:
        row = {k: v for k, v in c.settings.items() if v is not None}
        key = tuple(sorted((k, repr(v)) for k, v in row.items()))
        if key not in resolved:
            try:
                resolved[key] = FitSettings.layered(file_defaults, run.fit, row)
                check_parameter_names(resolved[key].circuit, run.fit_options)
            except (FitError, CircuitError) as exc:
                raise type(exc)(f"{_row_of(c) if row else ''}{exc}") from None
        items.append(_item(c, resolved[key], run.fit_options, shared))
    _check_areas_of_per_area_data(checkpoints, items)
    return items


def _row_of(c: Checkpoint) -> str:
    """The prefix of an error about a checkpoint's own settings: the campaign-file row that
    gives them and its data file (``camp.csv: row 3 (cell_0200h.csv): ``), else the file."""
    if c.origin:
        return f"{c.origin} ({c.file}): " if c.file else f"{c.origin}: "
    return f"{c.file}: " if c.file else ""


def _check_areas_of_per_area_data(checkpoints: list[Checkpoint], items: list[dict[str, Any]]) -> None:
    """CampaignError, before any fit, when checkpoints whose files give the impedance per
    area (ohm*cm2) have no electrode area to divide it by (:meth:`_item` divided the others)."""
    lacking = [c.label for c, it in zip(checkpoints, items)
               if it["spectrum"] is not None and it["spectrum"].area_specific]
    if lacking:
        raise CampaignError(
            f"{len(lacking)} checkpoint(s) give the impedance per area (ohm*cm2: {', '.join(lacking[:3])}"
            f"{', ...' if len(lacking) > 3 else ''}): give the electrode area (area_cm2= in Python, --area-cm2 on "
            f"the command line, or an area_cm2 column in the campaign file) so that they are fitted in ohm")


def _item(c: Checkpoint, fit_settings: FitSettings, fit_options: dict[str, Any],
          shared: dict[Any, Any] | None = None) -> dict[str, Any]:
    """What the runner needs for one checkpoint: spectrum, fit settings, hashes, conditions,
    the reader options its file was read with (``reader_key``: "" when read as detected).
    ``shared``: checkpoints with the same resolved settings share one settings dict and hash, and
    those with equal conditions one conditions dict."""
    known = None if shared is None else shared.get(id(fit_settings))
    if known is None:
        settings = {**fit_settings.fit_kwargs(), **fit_options}
        known = settings, settings_hash({**settings, "eisfit_version": __version__,
                                         "circuit_definition": circuit_fingerprint(settings.get("circuit"))})
        if shared is not None:
            shared[id(fit_settings)] = known
    settings, digest = known
    conditions = {"cell": c.cell, "temperature_K": c.temperature_K, "current_mA_cm2": c.current_mA_cm2,
                  **{k: settings.get(k) for k in CONDITION_KEYS if k in settings}}
    if shared is not None:  # one dict for the checkpoints of one cell and state (compared, never changed)
        conditions = shared.setdefault(("conditions", repr(sorted(conditions.items()))), conditions)
    spectrum = c.spectrum if c.ok else None
    if spectrum is not None and spectrum.area_specific and settings.get("area_cm2"):
        spectrum = spectrum.in_ohm(settings["area_cm2"])  # read in ohm*cm2: the fit, cache and plots see ohm
    return {"spectrum": spectrum, "source": None if spectrum is None else spectrum.meta.get("source"),
            "settings": settings, "settings_hash": digest,
            "content_sha256": c.content_sha256, "sweep": c.sweep, "conditions": conditions,
            "dc_potential_V": None if spectrum is None else spectrum.meta.get("dc_potential_V"),
            "reader_key": "" if c.reader is None else c.reader.key()}


def _chains(checkpoints: list[Checkpoint]) -> list[list[int]]:
    """Item indices per cell, in campaign order (one seeded chain per cell)."""
    chains: dict[str, list[int]] = {}
    for i, c in enumerate(checkpoints):
        if c.ok:
            chains.setdefault(c.cell, []).append(i)
    return list(chains.values())


def _choose_campaign_circuit(checkpoints: list[Checkpoint], common: dict[str, Any], executor: Executor | None = None):
    """``circuit="auto"``: one circuit for every checkpoint, by the criterion summed over
    the checkpoints (:func:`eisfit.selection.choose_common_circuit`, on the campaign's
    executor where it has one: the workers that fit it afterwards)."""
    from ..selection import choose_common_circuit

    ok = [c for c in checkpoints if c.ok and c.spectrum is not None]
    if not ok:
        raise CampaignError("circuit='auto' needs at least one readable checkpoint")
    for c in ok:
        if c.settings.get("circuit") not in (None, "auto"):
            raise CampaignError(f"{c.label}: circuit='auto' chooses one circuit for the whole campaign; "
                                f"remove the per-checkpoint circuit {c.settings['circuit']!r}")
    options = {k: common[k] for k in ("weighting", "fmin", "fmax", "exclude_hz", "area_cm2") if common.get(k)}
    return choose_common_circuit([c.spectrum for c in ok], executor=executor, **options)


# ---- execution helpers ----------------------------------------------------------

AUTO_JOBS_MAX = 8  # jobs="auto": processes at most (each holds ~90 MB; more cores than this gain less)
# jobs="auto": fewer run here. The workers' start costs ~0.2-0.3 s of the command (2 cores, hard spectra
# of ~2.5 ms: `python bench/bench_public.py --cases defaults --defaults-n 100/200/400`: 2.35/2.52/2.88 s on
# two forked workers, 2.16/2.52/3.17 s in one process); a spawned worker first imports eisfit (0.3 s here,
# ~1 s on slower machines)
AUTO_MIN_CHECKPOINTS = {"fork": 250, "spawn": 1000}


class _Workers:
    """The campaign's own worker processes as ``jobs`` asks: ``pool`` (a :class:`_WorkerPool`)
    for a number, started at once when it is 2 or more; for ``"auto"`` started by
    :meth:`executor_for` once the campaign is large enough."""

    def __init__(self, jobs: int | str):
        self.automatic = jobs == "auto"
        self.jobs = min(usable_cores(), AUTO_JOBS_MAX) if self.automatic else int(jobs)
        self.pool = _WorkerPool(self.jobs) if not self.automatic and self.jobs > 1 else None
        self._tried = False  # "auto" tried to start them (once: a system that refused them refuses again)

    @property
    def executor(self) -> Executor | None:
        return self.pool.executor if self.pool else None

    def executor_for(self, n: int) -> Executor | None:
        """The workers to read ``n`` data files or fit ``n`` checkpoints with (None: this
        process): with ``"auto"``, started now when ``n`` is at least the start method's
        :data:`AUTO_MIN_CHECKPOINTS` and there are two cores or more."""
        if self.automatic and not self._tried and self.jobs > 1:
            if n >= AUTO_MIN_CHECKPOINTS[worker_context().get_start_method()]:
                self._tried = True
                self.pool = _started_or_none(self.jobs)
        return self.executor


def _started_or_none(jobs: int) -> _WorkerPool | None:
    """A pool of ``jobs`` workers, started now (one task run on it); None, with a warning,
    when the system cannot start them (no processes left: ``"auto"`` asked for none by name,
    so the campaign is fitted in this process instead of failing)."""
    pool = _WorkerPool(jobs)
    try:
        pool.executor.submit(int).result()
    except (OSError, BrokenExecutor) as exc:
        with contextlib.suppress(Exception):
            pool.shutdown(cancel_futures=True)
        warnings.warn(f"could not start {jobs} worker processes ({exc}): the campaign is fitted in this process",
                      CampaignWarning, stacklevel=user_stacklevel())
        return None
    return pool


class _WorkerPool:
    """The campaign's own worker processes (``jobs > 1``): a process pool that is replaced
    by a fresh one when a worker dies (killed, out of memory), which breaks the whole pool
    (the runner then refits the unfinished tasks, see :func:`run_campaign_fits`)."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.executor = _process_pool(jobs)
        self.death_causes: list[str] = []  # how the workers that broke a pool ended
        self._ending: threading.Thread | None = None  # the shutdown begun by begin_shutdown

    def respawn(self) -> ProcessPoolExecutor:
        """A fresh pool in place of the broken one (whose remaining workers are ended); how
        its dead worker ended is kept in :attr:`death_causes` (``signal 9 (SIGKILL)``)."""
        processes = pool_processes(self.executor)
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.death_causes.extend(death_causes(processes))
        self.executor = _process_pool(self.jobs)
        return self.executor

    def shutdown(self, cancel_futures: bool = False) -> None:
        self.executor.shutdown(cancel_futures=cancel_futures)

    def begin_shutdown(self) -> None:
        """:meth:`shutdown` in a thread of this process (once): the caller goes on while the
        workers exit (10-20 ms), e.g. storing the last outcomes, and calls
        :meth:`finish_shutdown` before anything that may fork (a running thread makes forking
        unsafe, see :func:`eisfit._processes.fork_is_safe`)."""
        if self._ending is None:
            self._ending = threading.Thread(target=self.shutdown, name="eisfit-pool-shutdown")
            self._ending.start()

    def finish_shutdown(self) -> None:
        """The pool shut down when this returns: the shutdown begun by :meth:`begin_shutdown`
        joined, else done here."""
        if self._ending is None:
            self.shutdown()
        else:
            self._ending.join()


def _process_pool(jobs: int) -> ProcessPoolExecutor:
    # forked where safe, else spawned (eisfit._processes); each worker ignores SIGINT (the
    # main process stops the campaign) and exits when the main process dies
    # (eisfit.campaign.workers).
    from .._processes import owned_pool
    from .workers import init_worker, load_before_fork

    load_before_fork()
    return owned_pool(jobs, setup=init_worker)


def _output_module_loader(figures: bool) -> Callable[[], None]:
    """What to import while a worker is idle at the end of the fits (its freed memory handed
    back, :func:`eisfit.campaign.runner._release_idle_worker`), so that the import does not
    run after the fits, alone: where outputs follow (``figures``: ``out``, a rows file, what
    ``eisfit campaign`` writes) matplotlib's pyplot, which the figures need (0.3-0.5 s; this
    process draws some of them), else pandas, which the table needs (0.2-0.35 s).

    Not both: pandas (with pyarrow, when installed, ~65 MB) and pyplot (~29 MB) imported
    while the last worker still fitted had stacked on the workers' memory and made the
    command's summed peak, and its growth with the checkpoints (10,000 CSV files: 377 MB
    then; 351 MB with pandas imported once the workers ended: the fits' own peak; 1,000 files:
    328 MB either way, the outputs'). The command imports pandas after the fits, for the
    table. Stopped half-way (Ctrl-C), it leaves no module behind
    (:func:`_imported_whole_or_not_at_all`)."""
    def load() -> None:
        with _imported_whole_or_not_at_all():
            importlib.import_module("matplotlib.pyplot" if figures else "pandas")

    return load


@contextlib.contextmanager
def _imported_whole_or_not_at_all() -> Iterator[None]:
    """Within: imports that an exception stops half-way (Ctrl-C's KeyboardInterrupt) are
    undone, every module imported since the start taken out of ``sys.modules``, so that the
    next import starts afresh. Python takes out only the modules whose code was running: the
    submodules they had imported stayed, holding the half-made package, and the interrupted
    campaign, which goes on to write what it finished, failed as it imported matplotlib again
    for its figures (internal error, exit 1: ``module 'matplotlib' has no attribute
    'get_data_path'`` from the kept ``matplotlib.cbook``, or ``KeyError: 'Text:kwdoc'``)."""
    before = set(sys.modules)
    try:
        yield
    except BaseException:
        for name in [name for name in sys.modules if name not in before]:
            sys.modules.pop(name, None)
        raise


def _after_last_outcome(pool: _WorkerPool | None, figures: bool, keep_pool: bool = False) -> Callable[[], None] | None:
    """What to do once the last task's outcome is in: begin ending the worker processes (not
    with ``keep_pool``: they compute the campaign's DRTs next), and,
    when figures will be drawn, have the figure process reserved before the fits (if there is
    one) import pyplot while this process assembles the result (it had imported it when its
    inputs came, 0.3 s between the fits and its first figure; at the first free core instead,
    its 64 MB had come while both workers still lived)."""
    if pool is None:
        return None

    def after() -> None:
        if not keep_pool:
            pool.begin_shutdown()
        if figures:
            from .._figure_process import warm_up_reserved

            warm_up_reserved()

    return after


def _check_writable(folder: Path) -> None:
    """CampaignError, before any fit, when ``folder`` cannot be created or written."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise CampaignError(f"{folder}: cannot write the outputs there: {exc.strerror or exc}") from None


def _cache(out: str | Path | None, cache_dir: str | Path | bool | None) -> FitCache:
    """The result cache; without a folder, an in-memory one (what an interrupted run keeps)."""
    if cache_dir is False:
        return MemoryCache()
    if cache_dir is not None and cache_dir is not True:
        return FitCache(cache_dir)
    if out is not None:
        return FitCache(Path(out) / CACHE_FOLDER)
    return MemoryCache()


def _spool(n_checkpoints: int, cache: FitCache, out: str | Path | None) -> Spool | None:
    """Where a campaign of ``n_checkpoints`` (read) keeps its fits and spectra: on disk from
    :data:`~eisfit.campaign.spool.SPOOL_MIN_CHECKPOINTS` on (in the cache folder, else the
    output folder, else the system's temporary folder), else in memory (None)."""
    if n_checkpoints < spooling.SPOOL_MIN_CHECKPOINTS:
        return None
    return Spool(cache.folder if cache.folder is not None else out)


def _stash_spectra(checkpoints: list[Checkpoint], items: list[dict[str, Any]], spool: Spool) -> None:
    """The spectra read from files into ``spool`` (checkpoints and runner items hold where they
    lie); spectra given in memory stay there (their caller holds them anyway)."""
    for c, item in zip(checkpoints, items):
        if c.reader is None or item["spectrum"] is None:
            continue
        same = item["spectrum"] is c.spectrum  # else a copy of it in ohm (data per area)
        held = c.stash_spectrum(spool)
        item["spectrum"] = held if same else spool.stash(item["spectrum"])


class _NotRun(Executor):
    """An executor that runs nothing: every task reports that the campaign was interrupted."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        fut: Future = Future()
        fut.set_result({"key": getattr(args[0], "key", ""), "error": "not fitted: the campaign was interrupted",
                        "not_run": True})
        return fut


def _fits_so_far(items, chains, cache: FitCache, spool: Spool | None = None):
    """After an interrupt: the fits stored in the cache (memory or disk), the rest not fitted.
    The folder's packs are read again: the interrupt may have come between a pack's rename
    and its entry in the index."""
    cache.reread()
    done = {"fits_run": cache.writes + getattr(cache, "stored", 0), "cache_hits": cache.hits,
            "cache_writes": cache.writes}
    fits, _ = run_campaign_fits(items, chains, _NotRun(), cache, lambda n: None, repair=False, spool=spool)
    return fits, done


def _progress_bar(progress: bool | None, total: int):
    if progress is False or total == 0:
        return None
    if progress is None and (total < PROGRESS_MIN_CHECKPOINTS or not sys.stderr.isatty()):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="checkpoints", unit="checkpoint")


# ---- result assembly -------------------------------------------------------------

def _row_streamer(path: Path, checkpoints: list[Checkpoint], items: list[dict[str, Any]]):
    """``on_chunk`` of the runner: the rows of the finished checkpoints to ``path``. They
    are not kept for the table: made again at the end (~9 us a row: 0.09 s of CPU per 10,000
    checkpoints), they no longer hold ~2.2 KB per checkpoint until then (a dict of ~60 cells
    and its details: 21 MB of the campaign process at 10,000 checkpoints, session 57)."""
    from .result import checkpoint_row, ordered_columns
    from .rows import RowStream

    stream = RowStream(path, columns=ordered_columns)

    def on_chunk(indices: list[int], fits: list[CheckpointFits]) -> None:
        rows = []
        for i in indices:
            f = fits[i]
            if f.kept is not None:  # failures are in the table written at the end
                c = checkpoints[i]
                details = _details(c, items[i], f, f.kept)
                rows.append(checkpoint_row(c, f.kept, details))
        stream.write(rows)

    on_chunk.stream = stream  # what it wrote, for the run statistics (_keeping)
    return on_chunk


def _warn_worker_deaths(stats: dict[str, Any]) -> None:
    """One CampaignWarning when worker processes died during the fits (killed, out of memory):
    how often, how they ended, and that their checkpoints were fitted again (those whose worker
    died every time are failures of their own). A death the run recovered from was silent."""
    deaths = stats.get("worker_deaths") or 0
    if not deaths:
        return
    again = "; after the second death one task at a time" if deaths >= 2 else ""
    warnings.warn(worker_deaths_text(deaths, stats.get("worker_death_causes") or [])
                  + "; the checkpoints it was fitting were fitted again on a fresh pool" + again,
                  CampaignWarning, stacklevel=user_stacklevel())


def _keeping(cache: FitCache, on_chunk) -> dict[str, Any]:
    """Where the run's fits are kept besides the result (what a failed write can point to):
    ``cache_folder`` (None without a cache folder), ``cache_write_error`` (the cache stopped
    writing: not every fit is in it), ``rows_file`` and ``rows_streamed`` (the rows written to
    it as the fits finished, 0 when its writing failed)."""
    stream = getattr(on_chunk, "stream", None)
    return {"cache_folder": None if cache.folder is None else str(cache.folder),
            "cache_write_error": cache.write_error,
            "rows_file": None if stream is None else str(stream.path),
            "rows_streamed": 0 if stream is None or stream.error else stream.n_rows}


def _details(c: Checkpoint, item: dict[str, Any], f: CheckpointFits, kept) -> dict[str, Any]:
    error = c.error if not c.ok else (f.error if kept is None else None)
    if kept is None:
        error = error or "no fit result"
    return {"seed_source": f.seed_source, "notes": list(f.notes), "error": error,
            "settings": item["settings"], "settings_hash": item["settings_hash"], "joint_fit": f.joint_fit}


def _assemble(src, items, fits: list[CheckpointFits], common, stats, spool: Spool | None = None) -> CampaignResult:
    results, errors, details = [], [], []
    kept_results = with_campaign_roles([item["settings"].get("circuit") for item in items],
                                       [_with_campaign_flags(f) for f in fits], spool, [f.stowed_view for f in fits])
    for c, item, f, kept in zip(src.checkpoints, items, fits, kept_results):
        d = _details(c, item, f, kept)
        if kept is None:
            errors.append(CheckpointFailure(c.label, c.file, c.sweep, "read" if not c.ok else "fit", d["error"],
                                            traceback=f.error_traceback if c.ok else c.error_traceback))
        results.append(kept)
        details.append(d)
    settings = {**{FitSettings.key_of(k): v for k, v in common.items()},  # fmin -> fmin_Hz, as a fit's settings
                **_readers_used(src.checkpoints),
                "eisfit_version": __version__,
                "settings_hash": sorted({d["settings_hash"] for d in details})}
    return CampaignResult(src.checkpoints, results if spool is None else SpooledResults(results), errors,
                          src.ordering, settings, dict(stats), details, name=src.name)


def _with_campaign_flags(f: CheckpointFits):
    """A checkpoint's kept fit with its campaign flags, as held (in the spool: the flags beside it)."""
    if not f.flags or f.held is None:
        return f.held
    if type(f.held) is Spooled:
        return f.held.with_flags(f.flags)
    return with_campaign_flags(f.held, f.flags)


def _readers_used(checkpoints: list[Checkpoint]) -> dict[str, str]:
    """``{"reader": ...}``: the reader options the campaign's files were read with, in words
    (:meth:`eisfit.io.ReaderOptions.describe`: ``as detected``, ``imag_sign positive``; several
    (a campaign file's rows): ``per checkpoint: ...``); {} for spectra given in memory."""
    used = list(dict.fromkeys(c.reader for c in checkpoints if c.reader is not None))
    if not used:
        return {}
    if len(used) == 1:
        return {"reader": used[0].describe()}
    shown = "; ".join(r.describe() for r in used[:3]) + ("; ..." if len(used) > 3 else "")
    return {"reader": f"per checkpoint: {shown}"}


# ---- hook: joint fits across checkpoints (eisfit.series, another module) ------------

def _joint_fit_function():
    """``eisfit.series.joint_fit`` or a clear CampaignError when it is not there yet."""
    try:
        module = importlib.import_module("eisfit.series")
        return getattr(module, "joint_fit")
    except (ImportError, AttributeError):
        raise CampaignError(
            "shared=/smooth= (joint fit across checkpoints) need eisfit.series.joint_fit, "
            "which is not available in this version of eisfit"
        ) from None


def _apply_joint_fit(joint, checkpoints, items, fits, shared, smooth, fit_options, arrhenius_law=None):
    """Replace the kept fits by joint fits across the fitted checkpoints, one per cell.

    Calls ``eisfit.series.joint_fit(spectra, circuit, shared=..., smooth=...,
    start_values=<kept values>, weighting, area_cm2, thickness_cm, symmetric, labels,
    fixed, bounds)`` on the points the independent fits used, then
    ``JointFitResult.fit_results(templates)`` for per-checkpoint FitResults
    (seed_source ``"joint"``). Not cached. Parameters are shared (or smoothed) within
    a cell, never across cells; each cell needs one circuit, area and thickness
    (CampaignError otherwise). Returns the JointFitResult of a single-cell campaign,
    else a dict cell -> JointFitResult.
    """
    out = {}
    for chain in _chains(checkpoints):
        fitted = [i for i in chain if fits[i].kept is not None]
        ok = [i for i in fitted if not _unjoinable(fits[i].kept.flags)]
        left_out = [i for i in fitted if i not in ok]
        _warn_left_out_of_joint(checkpoints, fits, left_out)
        for i in left_out:
            fits[i].joint_fit = JOINT_LEFT_OUT
            fits[i].notes.append(f"left out of the joint fit ({', '.join(_unjoinable(fits[i].kept.flags)[:2])}): "
                                 "this row holds its own fit")
        res = None
        if len(ok) >= 2:
            res = _joint_fit_of_cell(joint, checkpoints, items, fits, ok, shared, smooth, fit_options, arrhenius_law)
            if res is not None:
                out[checkpoints[ok[0]].cell] = res
                if res.accepted:  # arc-jump, arc-swap of the values the rows now hold
                    reflag_arc_jumps(items, chain, fits)
        elif fitted:
            warnings.warn(f"joint fit: {cell_phrase(checkpoints[fitted[0]].cell)} has {len(ok)} checkpoint(s) to fit "
                          "jointly (2 needed): its rows keep their own fits", CampaignWarning,
                          stacklevel=user_stacklevel())
        if res is None:
            for i in ok:
                fits[i].joint_fit = JOINT_NOT_RUN
                fits[i].notes.append("no joint fit of this cell (too few checkpoints or temperatures): "
                                     "this row holds its own fit")
    if not out:
        return None
    return next(iter(out.values())) if len(out) == 1 else out


def _unjoinable(flags: Sequence[str]) -> list[str]:
    """The flags that keep a checkpoint out of a joint fit: a fit whose own values are not
    determined (``unresolved:``), miss the data (``lack-of-fit``) or did not settle
    (``not-converged``). One such checkpoint (a spectrum of noise) pulled a shared R1 from
    60 to 68.5 ohm and every R2 of the cell off by 5-17 %, with no word. Data that fail
    Lin-KK alone (drift) stay in: real campaigns are full of them."""
    return [f for f in flags if f.startswith(("unresolved:", "lack-of-fit", "not-converged"))]


def _warn_left_out_of_joint(checkpoints, fits, left_out: list[int]) -> None:
    if not left_out:
        return
    shown = [f"{checkpoints[i].label} ({', '.join(_unjoinable(fits[i].kept.flags)[:2])})" for i in left_out[:5]]
    more = f" and {len(left_out) - 5} more" if len(left_out) > 5 else ""
    warnings.warn(f"joint fit: left out {len(left_out)} checkpoint(s) whose own fit is not determined or "
                  f"misses the data: {'; '.join(shown)}{more}; their rows keep their own fits",
                  CampaignWarning, stacklevel=user_stacklevel())


JOINT_SETTING_KEYS = ("circuit", "weighting", "area_cm2", "thickness_cm", "symmetric")  # one per cell


def _check_joint_settings(checkpoints: list[Checkpoint], items: list[dict[str, Any]]) -> None:
    """CampaignError, before any fit, when a cell's readable checkpoints do not all have the
    same circuit, weighting, area, thickness and symmetry, which one joint fit of the cell
    needs (a missing area_cm2 counts as a value of its own)."""
    for chain in _chains(checkpoints):
        _joint_settings_of_cell(checkpoints, items, [i for i in chain if items[i]["spectrum"] is not None])


def _joint_settings_of_cell(checkpoints: list[Checkpoint], items: list[dict[str, Any]],
                            members: list[int]) -> dict[str, Any]:
    """The settings the joint fit of one cell's checkpoints ``members`` (item indices) uses
    (``JOINT_SETTING_KEYS``); CampaignError naming the checkpoints and files of each value
    where they differ."""
    common: dict[str, Any] = {}
    for key in JOINT_SETTING_KEYS:
        groups: dict[str, list[int]] = {}
        for i in members:
            value = items[i]["settings"].get(key)
            groups.setdefault("none" if value is None else repr(value), []).append(i)
        if len(groups) > 1:
            def named(indices: list[int]) -> str:
                shown = [checkpoints[i].file or checkpoints[i].label for i in indices[:3]]
                return ", ".join(shown) + (f" and {len(indices) - 3} more" if len(indices) > 3 else "")

            uses = "; ".join(f"{value} ({named(indices)})" for value, indices in groups.items())
            raise CampaignError(f"a joint fit (--shared, --smooth, --arrhenius-law; shared=, smooth=, arrhenius_law=) "
                                f"needs one {key} for all checkpoints of a cell; "
                                f"{cell_phrase(checkpoints[members[0]].cell)} "
                                f"has {key} {uses}: give them the same one, or fit without a joint fit")
        common[key] = items[members[0]]["settings"].get(key) if members else None
    return common


def _smoothing_positions(checkpoints, ok: Sequence[int]) -> list[float] | None:
    """The checkpoints' ``time_h`` for the smoothness penalty's divided differences
    (``joint_fit(positions=...)``), when every checkpoint fitted jointly has one and they
    increase strictly in campaign order; None (equally spaced) otherwise."""
    times = [checkpoints[i].time_h for i in ok]
    if any(t is None for t in times):
        return None
    times = [float(t) for t in times]
    if not all(math.isfinite(t) for t in times) or any(b <= a for a, b in zip(times, times[1:])):
        return None
    return times


def _joint_fit_of_cell(joint, checkpoints, items, fits, ok, shared, smooth, fit_options, arrhenius_law=None):
    from ..spectrum import points_spectrum

    common = _joint_settings_of_cell(checkpoints, items, ok)  # checked for the whole cell before the fits
    templates = [fits[i].kept for i in ok]
    spectra = [points_spectrum(r.frequency, r.z, checkpoints[i].label) for i, r in zip(ok, templates)]
    extra = {k: fit_options[k] for k in ("fixed", "bounds") if fit_options.get(k) is not None}
    if arrhenius_law:
        from ..series.joint import MIN_LAW_TEMPERATURES

        temperatures = [checkpoints[i].temperature_K for i in ok]
        if len(set(temperatures)) < MIN_LAW_TEMPERATURES:  # checkpoints left out of the joint fit can leave too few
            cell = cell_phrase(checkpoints[ok[0]].cell)
            warnings.warn(f"arrhenius_law: {cell} has {len(set(temperatures))} different "
                          f"temperatures among the checkpoints fitted jointly ({MIN_LAW_TEMPERATURES} needed): its rows "
                          "keep their own fits", CampaignWarning, stacklevel=user_stacklevel())
            return None
        extra.update(arrhenius=tuple(arrhenius_law), temperatures_K=temperatures)
    positions = _smoothing_positions(checkpoints, ok) if smooth is not None else None
    if positions is not None:
        extra.update(positions=positions)
    # its verdicts are warned below, with what the table does about them; temperatures that look
    # like °C were warned about when the campaign was read, naming its file
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CelsiusAsKelvinWarning)
        res = joint(spectra, common["circuit"], shared=tuple(shared or ()), smooth=smooth,
                    weighting=common["weighting"], start_values=[r.values for r in templates],
                    area_cm2=common["area_cm2"], thickness_cm=common["thickness_cm"],
                    symmetric=bool(common["symmetric"]), labels=[checkpoints[i].label for i in ok],
                    warn_verdicts=False, **extra)
    # the one rule: the table holds the joint fit when it converged and the data allow all it assumes
    # (JointFitResult.accepted)
    if not res.accepted:
        why = (f"undetermined: {res.undetermined}" if res.undetermined else "; ".join(res.rejected_assumptions))
        warnings.warn(f"{cell_phrase(checkpoints[ok[0]].cell)}: {why}; the table keeps the independent "
                      "fits (the joint fit is in CampaignResult.joint)", CampaignWarning, stacklevel=user_stacklevel())
        for i in ok:
            fits[i].joint_fit = JOINT_UNDETERMINED if res.undetermined else JOINT_REJECTED
            fits[i].notes.append(f"joint fit {res.verdict_summary}; this row holds its own fit" if res.undetermined else
                                 f"joint fit rejected by the data: {res.rejection_summary}; this row holds its own fit")
        return res
    for i, r in zip(ok, res.fit_results(templates)):
        if r is not None:
            fits[i].kept, fits[i].seed_source, fits[i].joint_fit = r, "joint", JOINT_USED
    return res
