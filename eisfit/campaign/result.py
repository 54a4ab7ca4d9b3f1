"""CampaignResult: the fitted checkpoints of a campaign as a table, figures and a report."""
from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from .._caller import user_stacklevel
from .._files import atomic_path, atomic_text_file
from ..units import EVOLUTION_AXIS_LABELS, KELVIN_AT_0C
from .sources import Checkpoint

if TYPE_CHECKING:  # annotations only: pandas and matplotlib are imported where used
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = ["CampaignResult", "CheckpointFailure", "checkpoint_row", "ordered_columns"]

FIT_STAT_COLUMNS = ("chisq", "redchi", "pseudo_chisq", "aic", "bic", "n_starts", "start_won")
METADATA_COLUMNS = ("label", "cell", "time_h", "cycle", "current_mA_cm2", "capacity_mAh_cm2",
                    "temperature_K", "temperature_C", "dc_potential_V", "area_cm2", "thickness_cm", "circuit")
TRAILING_COLUMNS = ("kk_passed", "flags", "seed_source", "notes", "file", "sweep", "start_time",
                    "time_source", "content_sha256", "settings_hash", "error")


@dataclass(frozen=True)
class CheckpointFailure:
    """A checkpoint that gave no result: where it came from and why (``stage`` = read or fit)."""

    label: str
    file: str | None
    sweep: int | None
    stage: str
    reason: str
    # the Python traceback behind ``reason`` where one was kept (a file the reader refused, a fit
    # that raised, in a worker process too), shown by ``eisfit --debug``
    traceback: str | None = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        where = self.file or self.label
        if self.sweep is not None:
            where += f" (sweep {self.sweep})"
        return f"{where}: {self.stage}: {self.reason}"


# The ``joint_fit`` column: which fit a row holds when a joint fit (shared=, smooth=, arrhenius_law=) was
# asked for. The rule (eisfit.campaign._joint_fit_of_cell): the joint fit when the data allow all it
# assumes (JointFitResult.accepted), else the row's own fit.
JOINT_USED = "joint"
JOINT_REJECTED = "independent: joint fit rejected"  # the data reject an assumption (notes: which)
JOINT_UNDETERMINED = "independent: joint fit did not converge"  # no verdict (JointFitResult.undetermined)
JOINT_LEFT_OUT = "independent: left out"            # its own fit is not determined or misses the data
JOINT_NOT_RUN = "independent: no joint fit"         # the cell had too few checkpoints (or temperatures)
JOINT_FIT_VALUES = (JOINT_USED, JOINT_REJECTED, JOINT_UNDETERMINED, JOINT_LEFT_OUT, JOINT_NOT_RUN)

EVOLUTION_AXES = ("time_h", "cycle", "capacity_mAh_cm2", "temperature_K")  # in order of preference
TEMPERATURE_SERIES_SPAN_K = 5.0  # temperatures spanning less are not an evolution axis
POTENTIAL_STEP_V = 0.01  # DC potential steps at least this large (V) make a potential scan
STAIRCASE_STEP_SPREAD = 0.25  # a staircase's steps within 25 % of their median (a scan's regular steps)
MIN_STAIRCASE_STEPS = 2  # at least 3 checkpoints per cell


@dataclass
class CampaignResult:
    """Result of :func:`eisfit.fit_campaign`.

    Attributes
    ----------
    checkpoints : the :class:`~eisfit.campaign.Checkpoint` list, in campaign order.
    results : one FitResult per checkpoint (the kept one of the cold and seeded
        fits, with campaign flags added), None where reading or fitting failed. A campaign
        of :data:`eisfit.campaign.spool.SPOOL_MIN_CHECKPOINTS` checkpoints or more keeps them
        on disk: a :class:`~eisfit.campaign.spool.SpooledResults` (a sequence that reads each
        when asked for, a new object each time; pickled, a list).
    errors : :class:`eisfit.campaign.result.CheckpointFailure` for each failed checkpoint.
    ordering : how the checkpoints were ordered (campaign file, acquisition time,
        natural file name, as given).
    settings : the campaign-wide fit settings (the names of a fit's settings: ``fmin_Hz``,
        ``fmax_Hz``, ``area_cm2``...) and per-checkpoint settings hashes.
    stats : ``fits_run``, ``cache_hits``, ``cache_writes``, ``read_seconds`` (reading the
        files, s), ``fit_seconds`` (the fits, s: a circuit choice's included; up to an
        interrupt), ``wall_seconds`` (reading, fitting and assembling the result, s, before any
        table or figure), ``workers`` (the processes that fitted: 1 this one; None on an
        executor given).
    table : pandas DataFrame, one row per checkpoint (see :meth:`build_table`).
    wall_time_s : wall time of the whole run in s, reading, fitting, tables and figures
        (set by :func:`eisfit.fit_campaign`, updated by :meth:`write` after the figures).
    """

    checkpoints: list[Checkpoint]
    results: Sequence[Any]  # a list, or SpooledResults (a large campaign's, on disk)
    errors: list[CheckpointFailure]
    ordering: str
    settings: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)
    details: list[dict[str, Any]] = field(default_factory=list)  # per checkpoint: seed_source, notes, hashes
    name: str | None = None
    joint: Any = None   # eisfit.series.JointFitResult (dict cell -> it for several cells) with shared=/smooth=
    drts: Any = None    # DRT (issue 8): one DRTResult (or None) per checkpoint with drt=True
    kk_bands: Any = None  # one KKBand (or None) per checkpoint with kk_band=True (campaign/kkband.py)
    wall_time_s: float | None = None  # the whole run: reading, fits, tables, figures (fit_campaign / write)
    started_perf_s: float | None = field(default=None, repr=False)  # time.perf_counter() at the start
    circuit_choice: Any = None  # eisfit.selection.CommonChoice with circuit="auto" (issue 16)
    _table: Any = field(default=None, repr=False)
    _memo: dict = field(default_factory=dict, repr=False, compare=False)  # what the reports share

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickling: a result pickled by an older eisfit lacks the attributes added since
        (``kk_bands``, ``circuit_choice``...); they take their defaults. One it no longer has
        (``streamed_rows``: the rows streamed during the fits, kept until the table was built
        up to session 56) is dropped."""
        state.pop("streamed_rows", None)
        for f in dataclasses.fields(self):
            if f.name not in state:
                state[f.name] = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        self.__dict__.update(state)

    # -- series analysis (eisfit.series) ----------------------------------------
    def joint_of(self, cell: str | None):
        """The joint fit that covers ``cell`` (None without shared=/smooth=)."""
        if isinstance(self.joint, dict):
            return self.joint.get(cell)
        return self.joint

    def joint_fits(self) -> list[tuple[str | None, Any]]:
        """(cell, joint fit) of every joint fit, the cell None for a single-cell campaign's;
        empty without ``shared=``, ``smooth=`` or ``arrhenius_law=``."""
        if isinstance(self.joint, dict):
            return list(self.joint.items())
        return [] if self.joint is None else [(None, self.joint)]

    @property
    def sharing(self):
        """Evidence for the shared parameters: dict with chisq_shared, chisq_independent,
        aic_*, bic_*, preferred, delta_aic, delta_bic, supported (the AIC's verdict, the one
        rule), statement (per cell: dict cell -> that dict); None without ``shared=``."""
        if isinstance(self.joint, dict):
            return {cell: j.sharing for cell, j in self.joint.items()}
        return None if self.joint is None else self.joint.sharing

    def joint_records(self) -> list[dict[str, Any]]:
        """The joint fits as plain records (``eisfit campaign --json``, key ``joint``), one per
        cell: ``cell``, ``table_holds`` (``"joint"`` or ``"independent"``: the one rule, the
        joint fit when it converged and the data allow all it assumes), ``verdict``
        (``accepted``, ``rejected``, ``undetermined``: the joint fit did not converge, its numbers
        are no verdict), ``undetermined`` (why, or ""), ``why`` (which fit the table holds, in
        words, as the terminal and report.md say it), ``rejected`` (the verdicts the data give
        against it), ``shared``, ``smoothed``, ``arrhenius_law`` (parameter names),
        ``shared_values`` (name -> value, stderr, unit, the joint fit's whether the table holds
        it or not, and ``status``: ``accepted``, ``tried; rejected`` or ``tried; undetermined:
        the joint fit did not converge``), ``sharing`` (AIC/BIC evidence of the noise-weighted
        chi-squares: chisq_*, aic_*, bic_*, delta_aic, delta_bic (NaN when undetermined),
        n_free_*, n_residuals, preferred, supported, verdict, rule, statement; None without
        sharing or law), ``smoothing`` (lambda per parameter, rule, edf, robust, jumps,
        delta_chisq_s2, removed_parameters, supported, verdict, statement; None without
        smoothing), ``noise_weights`` (checkpoint label -> w_k, the weight of its own noise
        level), ``notes`` (e.g. a smoothing that had nothing to smooth), ``rows`` (how many rows
        hold the joint fit)."""
        from .report import joint_table_line

        records = []
        for cell, joint in self.joint_fits():
            units = joint.settings.get("units", {})
            smoothing = None if joint.smoothing is None else {k: v for k, v in joint.smoothing.items() if k != "scales"}
            rows = sum(d.get("joint_fit") == JOINT_USED and (cell is None or c.cell == cell)
                       for c, d in zip(self.checkpoints, self.details))
            status = {"accepted": "accepted", "rejected": "tried; rejected",
                      "undetermined": "tried; undetermined: the joint fit did not converge"}[joint.verdict]
            records.append({
                "cell": cell if cell is not None else next((c.cell for c in self.checkpoints), None),
                "table_holds": "joint" if joint.accepted else "independent",
                "verdict": joint.verdict,
                "undetermined": joint.undetermined,
                "why": joint_table_line(joint),
                "rejected": list(joint.rejected_assumptions),
                "shared": list(joint.shared), "smoothed": list(joint.smoothed),
                "arrhenius_law": list((joint.arrhenius or {}).get("laws", {})),
                "shared_values": {n: {"value": joint.values[0][n], "stderr": joint.stderr[0][n],
                                      "unit": units.get(n, ""), "status": status} for n in joint.shared},
                "noise_weights": dict(zip(joint.labels, joint.noise_weights)),
                "notes": list(joint.notes),
                "sharing": None if joint.sharing is None else dict(joint.sharing),
                "smoothing": smoothing,
                "rows": int(rows),
            })
        return records

    @property
    def smoothing(self):
        """Smoothing strength and rule used (per cell for several cells); None without ``smooth=``."""
        if isinstance(self.joint, dict):
            return {cell: j.smoothing for cell, j in self.joint.items()}
        return None if self.joint is None else self.joint.smoothing

    # -- table ---------------------------------------------------------------
    @property
    def table(self):
        """One row per checkpoint (pandas DataFrame; see :meth:`build_table`): a copy, so that
        editing it in a notebook changes neither :meth:`write`'s summary.csv nor
        :meth:`to_dict` (an edited column had gone into summary.csv while the evolution figure
        and lines kept the fitted values)."""
        return self._frame().copy()

    def _frame(self):
        """The table itself, built once (what the outputs read)."""
        if self._table is None:
            self._table = self.build_table()
        return self._table

    def build_table(self):
        """One row per checkpoint: metadata, each parameter and ``<name>_stderr``, every
        derived quantity (ASR per cell and per interface in ohm*cm2, effective
        capacitances in F, apex frequencies in Hz, conductivity in S/cm), fit
        statistics, KK flag, ``;``-joined flags, file, sweep, settings hash, error."""
        rows: Iterable[dict[str, Any]] = (checkpoint_row(c, r, d, self.joint_of(c.cell))
                                          for c, r, d in zip(self.checkpoints, self.results, self.details))
        if self.drts is not None:  # ---- DRT (issue 8): tracked peaks, see campaign/drt.py ----
            from .drt import campaign_drt_tracks, drt_columns

            rows = _with_columns(rows, drt_columns(self.drts, campaign_drt_tracks(self)))
        if self.kk_bands is not None:
            from .kkband import kk_band_columns

            rows = _with_columns(rows, kk_band_columns(self.results, self.kk_bands))
        return table_of_rows(rows)

    # ---- series analysis (eisfit.series / eisfit.analysis.arrhenius) -------------
    def arrhenius(self, resistances: Sequence[str] | None = None, form: str = "sigmaT",
                  weighted: bool = False) -> "pd.DataFrame":
        """Arrhenius fit of each resistance against temperature: the conductivity of an
        electrolyte (or series) resistance, the area-specific conductance 1/ASR of an interface
        arc (per interface on a symmetric cell).

        Needs ``temperature_C``/``temperature_K`` per checkpoint, the area, and for
        conductivities the thickness (``<R>_sigma_S_per_cm`` and ``<R>_asr_*`` columns).
        ``resistances`` defaults to every resistance with either, plus the total ``"Rb+Rgb"``
        when the circuit's roles name a bulk and a grain-boundary arc. A resistance whose
        values the joint fit's Arrhenius law made (``arrhenius_law=``, the law supported: the
        table's ``arrhenius_law`` column) takes the law's Ea and standard error, not a line's
        through its own law (:meth:`applied_laws`). Returns a DataFrame: resistance, ea_eV,
        ea_stderr_eV, prefactor, prefactor_unit, r_squared, n_points, form, weighted, quantity,
        n_undetermined, ea_source, ea_of_constant_eV, barely_temperature_dependent, note; with
        several cells, one row per cell and resistance, the first column ``cell``. See
        :func:`eisfit.analysis.arrhenius.arrhenius_table`.
        """
        from ..analysis.arrhenius import PROBLEM_FLAGS_COLUMN, arrhenius_table
        from ..fitting.flags import whole_fit_problems
        from ..units import CelsiusAsKelvinWarning

        table = self._frame()
        fitted = table[[r is not None for r in self.results]] if len(table) else table
        if len(fitted):  # the lines name the points whose fit has a problem (lack-of-fit...)
            fitted = fitted.assign(**{PROBLEM_FLAGS_COLUMN: [";".join(whole_fit_problems(r.flags))
                                                             for r in self.results if r is not None]})
        cells = list(dict.fromkeys(fitted["cell"])) if "cell" in fitted.columns else []
        # one line per cell: two cells pooled into one line gave an Ea of neither (0.410 eV from
        # cells of 0.350 and 0.499 eV); each cell with its own joint fit's laws
        groups = [(None, fitted, self.applied_laws())] if len(cells) <= 1 else \
            [(cell, fitted[fitted["cell"] == cell], _supported_laws(self.joint_of(cell))) for cell in cells]
        roles = self._roles()
        parts = []
        with warnings.catch_warnings():  # temperatures that look like °C were warned about, naming the file, when read
            warnings.simplefilter("ignore", CelsiusAsKelvinWarning)
            for cell, rows, laws in groups:
                part = arrhenius_table(rows, resistances, roles=roles, form=form, weighted=weighted, laws=laws)
                if cell is not None:
                    part.insert(0, "cell", cell)
                parts.append(part)
        if len(parts) == 1:
            return parts[0]
        import pandas as pd

        return pd.concat(parts, ignore_index=True)

    def applied_laws(self) -> dict[str, dict]:
        """The joint fits' Arrhenius laws whose values the table holds, by resistance name
        (``JointFitResult.arrhenius["laws"]`` entries: ``ea_eV``, ``ea_stderr_eV``, ``form``...):
        a law the data rejected is left out (the table keeps the independent fits), and so is a
        name whose law differs from cell to cell (no one Ea is its)."""
        by_name: dict[str, list[dict]] = {}
        for _, joint in self.joint_fits():
            for name, law in _supported_laws(joint).items():
                by_name.setdefault(name, []).append(law)
        return {name: found[0] for name, found in by_name.items() if len(found) == 1}

    def arrhenius_lines(self) -> list[str]:
        """One line per resistance of the default :meth:`arrhenius` fit, e.g.
        ``Arrhenius R1: Ea = 0.412 ± 0.006 eV (R^2 = 0.9993, 5 points)``, with what its Ea is
        not where it is not the line's measurement (the table's ``note``)."""
        from ..analysis.arrhenius import arrhenius_summary_lines

        return arrhenius_summary_lines(self.arrhenius())

    def _roles(self) -> dict:
        for r in self.results:
            if r is not None:
                return dict(r.roles)
        return {}

    def plot_arrhenius(self, resistances: Sequence[str] | None = None, ax: "Axes | None" = None,
                       form: str = "sigmaT") -> "Axes":
        """log10(sigma) (and log10(1/ASR) of interface arcs) against 1000/T with the fitted
        lines (Ea in the legend)."""
        from ..plotting import plot_arrhenius

        return plot_arrhenius(self, resistances=resistances, ax=ax, form=form)
    # ---- end series analysis -------------------------------------------------------

    # -- figures ---------------------------------------------------------------
    def colour_values(self) -> tuple[list[float], str]:
        """Values used to colour checkpoints and their axis label: the evolution axis
        (:meth:`evolution_axis`: hours, cycle, capacity, or a temperature series in °C, as the
        headline lines tell it), else the checkpoint number (a temperature series had been
        coloured by "checkpoint index" under a caption saying "by time")."""
        name = self.evolution_axis()
        if name is None:
            return [float(k) for k in range(len(self.checkpoints))], "checkpoint"
        return [c.value_on(name) for c in self.checkpoints], EVOLUTION_AXIS_LABELS[name]

    def checkpoints_without_area(self) -> list[str]:
        """Labels of the fitted checkpoints that have no electrode area (figures in ohm*cm2 need it)."""
        return [c.label for c, d, r in zip(self.checkpoints, self.details, self.results)
                if r is not None and not d.get("settings", {}).get("area_cm2")]

    def _area_normalisable(self, area_normalised: bool) -> bool:
        """Whether figures can be drawn in ohm*cm2: ``area_normalised`` and every fitted
        checkpoint has an area; else a warning and ohm (the figures had been empty)."""
        missing = self.checkpoints_without_area() if area_normalised else []
        if missing:
            warnings.warn(f"Nyquist figures in ohm*cm2 need the electrode area of every checkpoint; {len(missing)} "
                          f"have none ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}): drawn in ohm "
                          "(give --area-cm2, or area_cm2 in the campaign file)", stacklevel=user_stacklevel())
        return area_normalised and not missing

    def plot_nyquist(self, ax: "Axes | None" = None, area_normalised: bool = False,
                     max_spectra: int | None = 20) -> "Axes":
        """Nyquist overlay of the checkpoints with their fits, coloured by time/cycle (at most
        ``max_spectra`` evenly chosen; None = all). One panel: returns the Axes."""
        from ..plotting import plot_campaign_nyquist

        return plot_campaign_nyquist(self, ax=ax, area_normalised=area_normalised, max_spectra=max_spectra)

    def plot_bode(self, fig: "Figure | SubFigure | None" = None, max_spectra: int | None = 20) -> "Figure | SubFigure":
        """Bode overlay (|Z| and −phase against f) of the checkpoints with fits (at most
        ``max_spectra``). Two panels: returns the Figure."""
        from ..plotting import plot_campaign_bode

        return plot_campaign_bode(self, fig=fig, max_spectra=max_spectra)

    def evolution_axis(self, x: str | None = None) -> str | None:
        """What the evolution is told against: ``x`` when given; else the DC potential
        (``dc_potential_V``) where the checkpoints step it as a staircase
        (:func:`eisfit.campaign.result.potential_staircase`: a potential scan such as BioLogic's SPEIS, whose
        sweeps' hours say only how long the scan took); else the first of ``EVOLUTION_AXES``
        ("time_h", "cycle", "capacity_mAh_cm2", "temperature_K": a temperature series) that
        every checkpoint has and that changes between them (a file whose time or cycle column
        reads 0 for every sweep gives none); None: the checkpoint number. The figure and the
        headline lines both use it. A potential that is no staircase (an open-circuit
        potential drifting between cycling checkpoints, channels interleaved) is no axis."""
        if x is not None:
            return x
        if potential_staircase(self.checkpoints):
            return "dc_potential_V"
        for name in EVOLUTION_AXES:
            values = [getattr(c, name, None) for c in self.checkpoints]
            if all(v is not None for v in values) and (len(set(values)) > 1 or len(values) == 1):
                if name == "temperature_K" and max(values) - min(values) < TEMPERATURE_SERIES_SPAN_K:
                    continue  # a room's few tenths of a degree are no temperature series
                return name
        return None

    def axis_note(self) -> str:
        """``; told against the DC potential (...)`` where :meth:`evolution_axis` chose a
        potential staircase over the checkpoints' hours, else ''. Follows the ordering's
        sentence in the terminal, ``report.md`` and the notebook view."""
        if self.evolution_axis() != "dc_potential_V":
            return ""
        scan = [c.dc_potential_V for c in self.checkpoints if c.cell == self.checkpoints[0].cell]  # one cell's
        first, last = scan[0], scan[-1]
        step = (last - first) / (len(scan) - 1)  # type: ignore[operator]
        return (f"; told against the DC potential (the sweeps step it from {first:+.3f} to {last:+.3f} V, "
                f"{abs(step) * 1e3:.3g} mV a step: a potential scan)")

    def plot_evolution(self, x: str | None = None, fig: "Figure | SubFigure | None" = None) -> "Figure | SubFigure":
        """Each resistance (ASR per cell, and per interface for an interface arc of a
        symmetric cell, when an area is known) and effective capacitance against ``x`` =
        "time_h", "cycle" or "capacity_mAh_cm2" (default: :meth:`evolution_axis`), with
        error bars. Several panels: returns the Figure."""
        from ..plotting import plot_campaign_evolution

        return plot_campaign_evolution(self, x=x, fig=fig)

    def plot_fits(self, fig: "Figure | SubFigure | None" = None, max_spectra: int | None = 20,
                  area_normalised: bool = False) -> "Figure | SubFigure":
        """One small Nyquist panel (data and fit) per checkpoint, at most ``max_spectra``
        evenly chosen. Several panels: returns the Figure."""
        from ..plotting import plot_campaign_fits

        return plot_campaign_fits(self, fig=fig, max_spectra=max_spectra, area_normalised=area_normalised)

    def plot_residual_map(self, ax: "Axes | None" = None) -> "Axes":
        """Heat map of the relative residuals (checkpoint x frequency), % of |Z|."""
        from ..plotting import plot_campaign_residual_map

        return plot_campaign_residual_map(self, ax=ax)

    # ---- Kramers-Kronig bands (eisfit/campaign/kkband.py) ---------------------------
    def compute_kk_bands(self) -> list[Any]:
        """For every checkpoint whose fitted points fail the Lin-KK test, the band of
        frequencies where they pass (:func:`eisfit.kk_valid_band`; None elsewhere, or where
        no band passes); stores them in ``.kk_bands`` and adds the ``kk_valid_*`` columns to
        ``.table`` and a Kramers-Kronig section to the report."""
        from .kkband import campaign_kk_bands

        self.kk_bands = campaign_kk_bands(self.results)
        self._table = None
        return self.kk_bands

    # ---- DRT (issue 8, eisfit/campaign/drt.py) -------------------------------------
    def compute_drt(self, executor: Executor | None = None, **drt_options: Any) -> list[Any]:
        """DRT of every checkpoint's fitted points (same weighting, common tau grid);
        stores them in ``.drts`` and adds the ``drt_*`` columns to ``.table``.
        ``drt_options`` go to :func:`eisfit.drt` (e.g. ``lambda_=1e-2``); ``executor``
        (worker processes, a Dask client's) computes them in chunks, side by side."""
        from .drt import campaign_drts

        self.drts = campaign_drts(self.results, drt_options, executor)
        self._table = None
        return self.drts

    def drt_peaks(self) -> "pd.DataFrame":
        """Every DRT peak of every checkpoint with its track number (DataFrame)."""
        from .drt import drt_peaks_table

        return drt_peaks_table(self)

    def plot_drt_map(self, ax: "Axes | None" = None) -> "Axes":
        """Heat map of gamma: checkpoints (time/cycle/index) x log10 tau, tracked peaks marked."""
        from ..plotting import plot_campaign_drt_map

        return plot_campaign_drt_map(self, ax=ax)

    def plot_drt_stack(self, ax: "Axes | None" = None) -> "Axes":
        """One DRT per checkpoint, offset, coloured as the Nyquist overlay; fit's DRT dashed."""
        from ..plotting import plot_campaign_drt_stack

        return plot_campaign_drt_stack(self, ax=ax)
    # ---- end DRT --------------------------------------------------------------------

    # -- outputs -----------------------------------------------------------------
    def report(self, figures: dict[str, str] | None = None) -> str:
        """The evolution of each resistance in words, the table and the flags explained
        (markdown); ``figures`` (name -> file name) are linked."""
        from .report import campaign_report

        return campaign_report(self, figures=figures)

    def report_html(self, figures: dict[str, str | Path] | None = None, markdown: str | None = None) -> str:
        """The self-contained HTML report: the text of :meth:`report` (or ``markdown``) with
        the figures (name -> PNG path) embedded."""
        from .html import campaign_html

        return campaign_html(self, figures=figures, markdown=markdown)

    def evolution_lines(self) -> list[str]:
        """One line per resistance, e.g. ``R2 (interface, per cell): 117 -> 58 -> 35 ohm*cm2``."""
        from .report import evolution_lines

        return evolution_lines(self)

    def to_dict(self, arrhenius: bool = False, out: str | Path | None = None) -> dict[str, Any]:
        """The campaign as one JSON-ready record (what ``eisfit campaign --json`` prints; NaN
        as None, every digit kept): ``checkpoints``, ``fitted`` (counts), ``ordering``,
        ``settings`` (the campaign-wide fit settings, units in their names: ``fmin_Hz``,
        ``area_cm2``...), ``out`` (``out``: the folder the outputs were written to, None when
        not written), ``interrupted``, ``fits_run``, ``cache_hits``, ``workers`` (the processes
        that fitted: 1 this one; None on an executor given), ``evolution``
        (:meth:`evolution_lines`), ``joint`` (:meth:`joint_records`), ``arrhenius`` (the lines
        of :meth:`arrhenius_lines`) and ``arrhenius_fits`` (the rows of :meth:`arrhenius`: Ea in
        eV...) when ``arrhenius`` is true, else empty; ``arrhenius_laws`` (each cell's joint-fit
        laws, ``arrhenius_law=``: ``cell`` and ``JointFitResult.arrhenius``), ``errors`` (one
        line per failed checkpoint) and ``table`` (:attr:`table`, one record per checkpoint)."""
        from .._json import to_jsonable
        from ..analysis.arrhenius import arrhenius_summary_lines

        fits = self.arrhenius() if arrhenius else None
        settings = {k: v for k, v in self.settings.items() if k != "settings_hash"}
        return {
            "checkpoints": len(self.checkpoints), "fitted": sum(r is not None for r in self.results),
            "ordering": self.ordering, "settings": to_jsonable(settings), "out": None if out is None else str(out),
            "interrupted": bool(self.stats.get("interrupted")),
            "fits_run": self.stats.get("fits_run", 0), "cache_hits": self.stats.get("cache_hits", 0),
            "workers": self.stats.get("workers"),
            "evolution": self.evolution_lines(), "joint": to_jsonable(self.joint_records()),
            "arrhenius": [] if fits is None else arrhenius_summary_lines(fits),
            "arrhenius_fits": [] if fits is None else to_jsonable(fits.to_dict(orient="records")),
            "arrhenius_laws": [to_jsonable({"cell": cell, **joint.arrhenius}) for cell, joint in self.joint_fits()
                               if joint.arrhenius is not None],
            "errors": [str(e) for e in self.errors],
            # every digit (DataFrame.to_json keeps 10 decimals)
            "table": to_jsonable(self._frame().to_dict(orient="records")),
        }

    def write(self, out: str | Path, figures: bool = True, area_normalised: bool = False,
              wall_time_s: float | None = None, arrhenius: bool = False) -> Path:
        """Write summary.csv (+ summary.parquet with pyarrow), the figures (PNG at 300 dpi and
        SVG, journal column widths), report.md (linking the figures) and report.html
        (self-contained, figures embedded) into ``out``; returns the folder. With
        ``arrhenius``, also the Arrhenius fit of every conductivity and interface ASR (:meth:`arrhenius`):
        arrhenius.csv, arrhenius.png/.svg and a section of report.md.

        Each file is whole or absent (written beside and renamed into place); the reports come
        last and name the files of this run. The files an earlier run wrote into ``out`` that
        this one does not are removed first (``stats["earlier_outputs_removed"]``), and when
        the writing fails or is interrupted, so are the earlier run's files not yet replaced:
        the folder never mixes two runs (:mod:`eisfit.campaign.outputs`). The rows streamed
        during the fits (summary.partial.csv) are removed once summary.csv is written.

        The reports state the wall time of the whole run: ``wall_time_s`` when given, else
        the time since ``started_perf_s`` (set by :func:`eisfit.fit_campaign`) measured
        after the figures, else :attr:`wall_time_s` as it is."""
        from .outputs import PARTIAL_ROWS, clear_earlier_outputs, remove_unreplaced, snapshot

        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        area_normalised = figures and self._area_normalisable(area_normalised)
        makers = self._figure_makers(area_normalised) if figures else {}
        planned = self._planned_outputs(makers, arrhenius and figures, arrhenius)
        before = snapshot(folder, planned)
        self.stats["earlier_outputs_removed"] = clear_earlier_outputs(folder, planned)
        try:
            self._write_outputs(folder, makers, wall_time_s, arrhenius, figures, area_normalised)
        except BaseException:
            remove_unreplaced(folder, before)
            raise
        (folder / PARTIAL_ROWS).unlink(missing_ok=True)
        return folder

    def _planned_outputs(self, makers: dict[str, Any], arrhenius_figure: bool, arrhenius: bool) -> list[str]:
        """The names of the files :meth:`write` writes (see :func:`eisfit.campaign.outputs.output_names`)."""
        from .outputs import REPORTS, figure_files

        names = ["summary.csv", *REPORTS]
        if _parquet_available():
            names.append("summary.parquet")
        if self.drts is not None:
            names.append("drt_peaks.csv")
        if arrhenius:
            names.append("arrhenius.csv")
        for name in [*makers, *(["arrhenius"] if arrhenius_figure else [])]:
            names += figure_files(name)
        return names

    def _write_outputs(self, folder: Path, makers: dict[str, Any], wall_time_s: float | None,
                       arrhenius: bool, figures: bool, area_normalised: bool) -> None:
        """:meth:`write`'s files: tables and figures (drawn by another process meanwhile: one
        reserved before the fits, which is sent the figures' inputs, or one forked now), then
        the reports."""
        import time

        from ..plotting import start_figures
        from . import figure_inputs as inputs

        if self.drts is not None:  # the DRT figures read the table: built before the workers fork, they inherit it
            table = self._frame()
        pending = start_figures(_costliest_first(makers), folder, campaign_inputs=lambda: inputs.figure_inputs(self),
                                area_normalised=area_normalised) if makers else None
        try:  # the table is built and written here while the workers draw
            table = self._frame()
            with atomic_text_file(folder / "summary.csv") as fh:  # replaces the rows streamed during the fits
                table.to_csv(fh, index=False)
            _write_parquet(table, folder / "summary.parquet")
            if self.drts is not None:  # DRT (issue 8)
                with atomic_text_file(folder / "drt_peaks.csv") as fh:
                    self.drt_peaks().to_csv(fh, index=False)
        except BaseException:
            if pending is not None:
                pending.cancel()
            raise
        drawn = pending.result() if pending is not None else {}
        written = {name: drawn[name][0] for name in makers}  # PNG paths, in report order
        arrhenius_section = self._write_arrhenius(folder, figures) if arrhenius else []
        if arrhenius and figures:
            written["arrhenius"] = folder / "arrhenius.png"
        if wall_time_s is not None:
            self.wall_time_s = float(wall_time_s)
        elif self.started_perf_s is not None:
            self.wall_time_s = time.perf_counter() - self.started_perf_s
        report = self.report(figures={k: v.name for k, v in written.items() if k != "arrhenius"})
        if arrhenius_section:
            report = report.rstrip("\n") + "\n\n" + "\n".join(arrhenius_section) + "\n"
        with atomic_text_file(folder / "report.html") as fh:  # report.md last: its presence means a whole run
            fh.write(self.report_html(figures=written, markdown=report))
        with atomic_text_file(folder / "report.md") as fh:
            fh.write(report)

    def _write_arrhenius(self, folder: Path, figure: bool) -> list[str]:
        """arrhenius.csv and (with ``figure``) arrhenius.png/.svg; returns the report section."""
        from ..analysis.arrhenius import arrhenius_report_lines
        from ..plotting import save_figure
        from .report import FIGURE_CAPTIONS

        fits = self.arrhenius()
        with atomic_text_file(folder / "arrhenius.csv") as fh:
            fits.to_csv(fh, index=False)
        lines = arrhenius_report_lines(fits)
        if figure:
            save_figure(self.plot_arrhenius().figure, folder / "arrhenius")
            lines += ["", "![arrhenius](arrhenius.png)", "", FIGURE_CAPTIONS["arrhenius"]]
        return lines

    def _figure_makers(self, area_normalised: bool) -> dict[str, Any]:
        """name -> function making the figure, in report order; none when no checkpoint was fitted."""
        if not any(r is not None for r in self.results):
            return {}
        from ..plotting import CAMPAIGN_FIGURES, DRT_FIGURES, campaign_figure

        names = CAMPAIGN_FIGURES + (DRT_FIGURES if self.drts is not None else ())  # DRT (issue 8)
        return {name: functools.partial(campaign_figure, name, self, area_normalised) for name in names}

    def __repr__(self) -> str:
        ok = sum(r is not None for r in self.results)
        name = f"{self.name!r}, " if self.name and len(self.name) <= 120 else ""
        return (f"CampaignResult({name}{len(self.checkpoints)} checkpoints, {ok} fitted, "
                f"{len(self.errors)} errors, ordering={str(self.ordering)[:200]!r})")

    def _repr_html_(self) -> str:
        from .html import campaign_repr_html

        return campaign_repr_html(self)


def checkpoint_row(c: Checkpoint, r: Any, d: dict[str, Any], joint: Any = None) -> dict[str, Any]:
    """The table row of one checkpoint: its metadata, the fit ``r`` (None: not fitted) and the
    details ``d`` (seed_source, notes, settings, settings_hash, error, joint_fit); ``joint``: the
    joint fit covering its cell. With a joint fit asked for, ``joint_fit`` says which fit the row
    holds (``joint``, or ``independent: ...`` and why, the why also in ``notes``), ``shared`` and
    ``smoothed`` name the parameters the joint fit shared or smoothed in it (empty where the
    row holds its own fit)."""
    row: dict[str, Any] = {
        "label": c.label, "cell": c.cell, "time_h": c.time_h, "cycle": c.cycle,
        "current_mA_cm2": c.current_mA_cm2, "capacity_mAh_cm2": c.capacity_mAh_cm2,
        "temperature_K": c.temperature_K,
        "temperature_C": None if c.temperature_K is None else c.temperature_K - KELVIN_AT_0C,
        "dc_potential_V": c.dc_potential_V,
        "area_cm2": d.get("settings", {}).get("area_cm2"),
        "thickness_cm": d.get("settings", {}).get("thickness_cm"),
        "circuit": d.get("settings", {}).get("circuit"),
    }
    if r is not None:
        row.update(r.table_row())
        for stat in FIT_STAT_COLUMNS:
            row[stat] = getattr(r, stat)
    else:
        row.update(unfitted_parameter_columns(row["circuit"]))
    # ---- series analysis (eisfit.series): which fit the row holds, what the joint fit made of it ----
    joined = joint is not None and d.get("seed_source") == "joint"  # not a row left out or kept independent
    row["joint_fit"] = d.get("joint_fit", "")
    row["shared"] = ",".join(joint.shared) if joined else ""
    row["smoothed"] = ",".join(joint.smoothed) if joined else ""
    if joint is not None and joint.arrhenius is not None:  # the values of these follow the cell's law
        row["arrhenius_law"] = ",".join(joint.arrhenius["laws"]) if joined else ""
    # ---- end series analysis ----
    row.update({
        "kk_passed": None if r is None else r.kk_passed,
        "flags": "" if r is None else ";".join(r.flags),
        "seed_source": d.get("seed_source", ""),
        "notes": "; ".join(d.get("notes", [])),
        "file": c.file, "sweep": c.sweep, "start_time": c.start_time,
        "time_source": c.extra.get("time_source"),
        "content_sha256": c.content_sha256, "settings_hash": d.get("settings_hash", ""),
        "error": d.get("error") or "",
    })
    for key, value in c.extra.items():
        row.setdefault(key, value)
    return row


def potential_staircase(checkpoints: Sequence[Checkpoint]) -> bool:
    """Whether the checkpoints step the DC potential as a scan does: every one states its
    potential, and within each cell (at least three checkpoints) every step goes the same
    way, is at least ``POTENTIAL_STEP_V`` and within ``STAIRCASE_STEP_SPREAD`` of the
    median step (a staircase: Hem1's SPEIS from -0.40 to +0.60 V in 25 mV steps). An
    open-circuit potential drifting between a cycling campaign's checkpoints, or a
    state-of-charge series' irregular steps, is no staircase: their hours stay the axis."""
    potentials = [c.dc_potential_V for c in checkpoints]
    if not checkpoints or any(v is None for v in potentials):
        return False
    by_cell: dict[str, list[float]] = {}
    for c in checkpoints:
        by_cell.setdefault(c.cell, []).append(float(c.dc_potential_V))  # type: ignore[arg-type]
    return all(_is_staircase(values) for values in by_cell.values())


def _is_staircase(potentials: list[float]) -> bool:
    steps = [b - a for a, b in zip(potentials, potentials[1:])]
    if len(steps) < MIN_STAIRCASE_STEPS:
        return False
    median = sorted(steps)[len(steps) // 2]
    return abs(median) >= POTENTIAL_STEP_V and all(
        abs(step - median) <= STAIRCASE_STEP_SPREAD * abs(median) for step in steps)


def unfitted_parameter_columns(circuit: Any) -> dict[str, float]:
    """NaN for each parameter of ``circuit`` and its ``<name>_stderr`` (in the order of
    :meth:`FitResult.table_row`): the columns of a checkpoint that was not fitted, so that a
    table whose every checkpoint failed still has them (``table[["R2"]]`` holds NaN, no
    KeyError); {} when the circuit is not known (None, or one that does not load)."""
    if circuit is None:
        return {}
    from ..errors import EisfitError
    from ..model import load_circuit

    try:
        names = load_circuit(circuit).circuit.param_names
    except (EisfitError, OSError, TypeError):
        return {}
    return {column: math.nan for name in names for column in (name, f"{name}_stderr")}


def _parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


PARQUET_CHUNK_ROWS = 1000  # rows of the table converted to Arrow at a time (_write_parquet)


def _write_parquet(table, path: Path) -> None:
    """summary.parquet, whole or not at all (an earlier one is removed when this fails: it
    would disagree with summary.csv): the table's text columns typed as text, converted and
    written ``PARQUET_CHUNK_ROWS`` rows at a time (one row group each). The whole table
    converted at once had raised a campaign process's peak by ~20 MB at 10,000 rows (its
    text copy and Arrow's buffers), the peak of the run; the file reads back as the same
    frame."""
    if not _parquet_available():
        return
    import pyarrow
    import pyarrow.parquet

    text = {c: "string" for c in table.columns if table[c].dtype == object}
    try:
        schema = pyarrow.Schema.from_pandas(table.iloc[:0].astype(text), preserve_index=False)
        with atomic_path(path) as tmp, pyarrow.parquet.ParquetWriter(tmp, schema) as writer:
            for start in range(0, len(table), PARQUET_CHUNK_ROWS):
                rows = table.iloc[start:start + PARQUET_CHUNK_ROWS].astype(text)
                writer.write_table(pyarrow.Table.from_pandas(rows, schema=schema, preserve_index=False))
    except Exception as exc:  # parquet is a convenience; the CSV is the record
        path.unlink(missing_ok=True)
        warnings.warn(f"summary.parquet not written: {exc}", RuntimeWarning, stacklevel=user_stacklevel())
    finally:  # Arrow's allocator keeps what the conversion used (10,000 rows: ~19 of 27 MB) until told
        pyarrow.default_memory_pool().release_unused()


def _supported_laws(joint) -> dict[str, dict]:
    """The Arrhenius laws of one joint fit (or None) whose values the table holds, by
    resistance name: none where the data rejected the fit's assumptions."""
    if joint is None or joint.arrhenius is None or joint.rejected_assumptions:
        return {}
    return dict(joint.arrhenius["laws"])


TABLE_CHUNK_ROWS = 500  # rows made into a DataFrame at a time (table_of_rows)


def table_of_rows(rows: Iterable[dict[str, Any]]):
    """The DataFrame of ``rows`` (dicts by column name; a missing key is an empty cell), its
    columns in :func:`ordered_columns` order, made ``TABLE_CHUNK_ROWS`` rows at a time: all
    the rows of a campaign as dicts, each holding its own numbers, had taken ~3 KB per
    checkpoint at once (10,000 checkpoints: ~31 MB above what the campaign process held).
    The same frame, dtypes included, as ``pd.DataFrame(rows, columns=ordered_columns(rows))``:
    a column whose pieces differ in dtype (one of no value but None, object, among floats) is
    inferred again over all its values."""
    import pandas as pd

    pieces = [pd.DataFrame(chunk, columns=ordered_columns(chunk)) for chunk in _chunks(rows, TABLE_CHUNK_ROWS)]
    if len(pieces) <= 1:
        return pieces[0] if pieces else pd.DataFrame([], columns=ordered_columns([]))
    columns = ordered_columns(dict.fromkeys(p.columns) for p in pieces)  # each piece's names in first-seen order
    pieces = [p.reindex(columns=columns) for p in pieces]
    table = pd.concat(pieces, ignore_index=True)
    for name in columns:
        if len({p[name].dtype for p in pieces}) > 1:
            table[name] = table[name].astype(object).infer_objects()
    return table


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _with_columns(rows: Iterable[dict[str, Any]], extras: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for row, extra in zip(rows, extras):
        row.update(extra)
        yield row


def ordered_columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    """The table's column order: metadata first, fit statistics and trailing columns last."""
    seen: dict[str, None] = dict.fromkeys(METADATA_COLUMNS)
    last = set(FIT_STAT_COLUMNS + TRAILING_COLUMNS)
    for row in rows:  # 5,000 rows: 0.15 s when every key was looked up in the tuples
        for key in row:
            if key not in seen and key not in last:
                seen[key] = None
    for name in FIT_STAT_COLUMNS + TRAILING_COLUMNS:
        seen[name] = None
    return list(seen)


def _costliest_first(makers: dict[str, Any]) -> dict[str, Any]:
    """The figure makers reordered, the costliest first, so that the forked figure worker (which
    starts at once, with the first) and this process (which writes the tables first) finish
    together (5,000 checkpoints, session 45: evolution 1.7 s, fits 1.1, residual map 1.0,
    Bode 0.8, Nyquist 0.15, each PNG and SVG)."""
    cost_order = ("evolution", "fits", "residual_map", "bode")
    return {name: makers[name] for name in sorted(makers, key=lambda n: cost_order.index(n) if n in cost_order else 9)}
