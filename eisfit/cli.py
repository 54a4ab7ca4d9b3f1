"""The ``eisfit`` command: a thin layer over the library (parse options, call, print).

Each command lives in its own section below; nothing is computed here that the
library does not also offer.
"""
from __future__ import annotations

import sys

import click

from . import __version__
from .errors import EisfitError


class _Group(click.Group):
    """Turns eisfit errors into one clear line and exit code 2 instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EisfitError as exc:
            click.echo(f"eisfit: error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="eisfit")
def main() -> None:
    """Fit equivalent circuits to impedance spectra of solid-state cells."""


# ---- section: read / info / convert (readers) ------------------------------
def _read_reporting(path: str, fmt: str | None, imag_sign: str | None):
    """Read one file; warnings go to stderr as ``eisfit: warning: ...`` lines."""
    import warnings
    from pathlib import Path

    from .io import read

    options = {"imag_sign": imag_sign} if imag_sign else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spectra = read(path, format=fmt, **options)
    for w in caught:
        text = str(w.message)
        where = "" if Path(path).name in text else f"{path}: "
        click.echo(f"eisfit: warning: {where}{text}", err=True)
    return spectra


def _sweep_line(s) -> str:
    """One line of ``eisfit info`` for one sweep."""
    m = s.meta
    f = s.frequency
    parts = [f"sweep {m.get('sweep', 0)}: {len(s)} points", f"{f.min():.4g}-{f.max():.4g} Hz"]
    area = m.get("area", m.get("area_cm2"))
    if area is not None:
        parts.append(f"area {area:g} {m.get('area_unit', 'cm^2') if 'area' in m else 'cm^2'}")
    start = m.get("sweep_start_time") or m.get("start_time")
    if start:
        parts.append(f"start {start}")
    return ", ".join(parts)


def _file_lines(path: str, spectra) -> list[str]:
    m = spectra[0].meta
    software = " ".join(str(x) for x in (m.get("software"), m.get("software_version")) if x)
    head = (f"{path}: format {m.get('format', '?')}, technique {m.get('technique', '?')}, "
            f"{len(spectra)} sweep{'s' if len(spectra) != 1 else ''}")
    if software:
        head += f", software {software}"
    return [head] + ["  " + _sweep_line(s) for s in spectra]


_IMAG_SIGN = click.Choice(["auto", "negative", "positive"])


@main.command("info")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", default=None, metavar="NAME",
              help="Force the file format (default: detect from content).")
@click.option("--imag-sign", type=_IMAG_SIGN, default=None,
              help="Sign convention of the imaginary column of tables (default: the format's, "
                   "or auto-detected).")
def info_command(files: tuple[str, ...], fmt: str | None, imag_sign: str | None) -> None:
    """Describe impedance files: format, technique, sweeps, points, frequency range,
    area, start time, software. Unreadable files are reported and skipped (exit 2)."""
    failed = 0
    for path in files:
        try:
            spectra = _read_reporting(path, fmt, imag_sign)
        except EisfitError as exc:
            click.echo(f"eisfit: error: {exc}", err=True)
            failed += 1
            continue
        for line in _file_lines(path, spectra):
            click.echo(line)
    if failed:
        sys.exit(2)


@main.command("read")
@click.argument("file", type=click.Path())
@click.option("--format", "fmt", default=None, metavar="NAME",
              help="Force the file format instead of detecting it from the content.")
@click.option("--imag-sign", type=_IMAG_SIGN, default=None,
              help="Sign convention of the imaginary column of a table (default: detect).")
@click.option("--sweep", type=int, default=None, help="Print only this sweep (0-based).")
def read_command(file: str, fmt: str | None, imag_sign: str | None, sweep: int | None) -> None:
    """Print the points of FILE as CSV: sweep, frequency_Hz, z_real_ohm, z_imag_ohm (Z'' < 0 capacitive)."""
    spectra = _read_reporting(file, fmt, imag_sign)
    if sweep is not None:
        if not 0 <= sweep < len(spectra):
            raise click.BadParameter(f"the file has {len(spectra)} sweep(s): 0..{len(spectra) - 1}",
                                     param_hint="--sweep")
        spectra = [spectra[sweep]]
    click.echo("sweep,frequency_Hz,z_real_ohm,z_imag_ohm")
    for s in spectra:
        k = s.meta.get("sweep", 0)
        for f, z in zip(s.frequency, s.z):
            click.echo(f"{k},{float(f)!r},{float(z.real)!r},{float(z.imag)!r}")


@main.command("convert")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--to", "to", type=click.Choice(["csv", "json"]), required=True,
              help="Output format.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (created if needed; default: beside each input file).")
@click.option("--format", "fmt", default=None, metavar="NAME",
              help="Force the input format (default: detect from content).")
@click.option("--imag-sign", type=_IMAG_SIGN, default=None,
              help="Sign convention of the imaginary column of input tables.")
def convert_command(files: tuple[str, ...], to: str, out_dir: str | None, fmt: str | None,
                    imag_sign: str | None) -> None:
    """Convert impedance files to CSV or JSON (frequency_Hz, z_real_ohm, z_imag_ohm,
    z_modulus_ohm, phase_deg, sweep + meta), one output file per input file."""
    from pathlib import Path

    from .errors import ReadError
    from .io.export import write_csv, write_json

    writer = write_csv if to == "csv" else write_json
    failed = 0
    for path in files:
        src = Path(path)
        folder = Path(out_dir) if out_dir else src.parent
        target = folder / f"{src.stem}.{to}"
        try:
            if target.resolve() == src.resolve():
                raise ReadError(src, f"output {target} would overwrite the input; use --out DIR")
            spectra = _read_reporting(path, fmt, imag_sign)
            folder.mkdir(parents=True, exist_ok=True)
            writer(spectra, target)
        except EisfitError as exc:
            click.echo(f"eisfit: error: {exc}", err=True)
            failed += 1
            continue
        click.echo(f"{path} -> {target} ({len(spectra)} sweep{'s' if len(spectra) != 1 else ''})")
    if failed:
        sys.exit(2)


# ---- end section: readers ---------------------------------------------------

# ---- section: circuits ------------------------------------------------------
@main.command("circuits")
@click.argument("spec", required=False, metavar="[NAME|FILE|STRING]")
def circuits_command(spec: str | None) -> None:
    """List the circuit library, or show one circuit's parameters.

    Without argument: every library circuit with its string, description and arc
    roles. With a library NAME, a .toml FILE or a circuit STRING: its parameters
    with units, default bounds and whether fits vary them in log space.
    """
    from .model import list_circuits, load_circuit

    if spec is None:
        for d in list_circuits():
            roles = ", ".join(f"{r}={role}" for r, role in d.roles.items()) or "-"
            click.echo(f"{d.name:<20} {d.string}")
            click.echo(f"{'':<20} {d.description}")
            click.echo(f"{'':<20} arcs: {roles}")
        click.echo("\nShow one: eisfit circuits NAME   (any NAME, .toml FILE or circuit STRING "
                   "is accepted by --circuit)")
        return
    d = load_circuit(spec)
    origin = f"{d.source}" + (f" {d.path}" if d.source == "file" else "")
    click.echo(f"name:        {d.name}  ({origin})")
    if d.description:
        click.echo(f"description: {d.description}")
    click.echo(f"circuit:     {d.string}")
    if d.roles:
        click.echo("arcs:        " + ", ".join(
            f"{a.resistor}||{a.capacitive} {d.roles[a.resistor]}" for a in d.circuit.arcs))
    click.echo(f"derived:     {', '.join(d.derived) or '-'}")
    if any(e.kind == "CPE" for e in d.circuit.elements):
        click.echo("CPE:         Z = 1/(Q (j omega)^n), Q in S*s^n, 0 < n <= 1")
    click.echo(f"\n{'parameter':<10} {'unit':<12} {'lower':>10} {'upper':>10}  {'log':<4} description")
    c = d.circuit
    for name, log, desc in zip(c.param_names, c.log_scale, c.param_descriptions):
        lo, hi = d.bounds[name]
        click.echo(f"{name:<10} {d.units[name] or '-':<12} {lo:>10.4g} {hi:>10.4g}  "
                   f"{'yes' if log else 'no':<4} {desc}")
# ---- end section: circuits --------------------------------------------------

# ---- section: fit -------------------------------------------------------------
@main.command("fit")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--circuit", default="garnet-symmetric", show_default=True, metavar="NAME|STRING|FILE|auto",
              help="Library name (eisfit circuits), circuit string or .toml file; 'auto': the circuit "
                   "'eisfit suggest' would choose.")
@click.option("--area-cm2", type=float, default=None, help="Electrode contact area, cm2 (enables ASR in ohm*cm2).")
@click.option("--thickness-cm", type=float, default=None, help="Electrolyte thickness, cm (with the area: sigma, S/cm).")
@click.option("--symmetric/--per-cell", default=True, show_default=True,
              help="Symmetric cell: interface ASR also per interface (R*A/2). --per-cell reports R*A only.")
@click.option("--weighting", type=click.Choice(["modulus", "boukamp", "proportional", "unit"]),
              default="modulus", show_default=True, help="Residual weighting.")
@click.option("--fmin", type=float, default=None, help="Lowest frequency fitted, Hz.")
@click.option("--fmax", type=float, default=None, help="Highest frequency fitted, Hz.")
@click.option("--fix", "fix", multiple=True, metavar="NAME=VALUE", help="Hold a parameter fixed (repeatable).")
@click.option("--initial", "initial", multiple=True, metavar="NAME=VALUE", help="Starting value (repeatable).")
@click.option("--engine", type=click.Choice(["fast", "lmfit"]), default="fast", show_default=True,
              help="Optimiser: batched analytic-Jacobian LM, or lmfit.minimize for the polish.")
@click.option("--guess", "guess_mode", type=click.Choice(["auto", "drt"]), default="auto", show_default=True,
              help="Automatic guess: -Z'' apexes + multi-start grid, or also starts from DRT peaks.")
@click.option("--profile", "profile", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="Profile-likelihood errors for arc resistances: where the covariance error is suspect "
                   "(overlapping or collapsed arcs), for every arc resistance, or never.")
@click.option("--format", "fmt", default=None, metavar="NAME", help="Force the file format.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON instead of the table.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Write <label>_fit.json, fits.csv (one row per spectrum) and, with --plot, figures.")
@click.option("--plot", is_flag=True, help="With --out: a PNG per spectrum (Nyquist, Bode, residuals).")
def fit_command(files, circuit, area_cm2, thickness_cm, symmetric, weighting, fmin, fmax, fix, initial,
                engine, guess_mode, profile, fmt, as_json, out_dir, plot) -> None:
    """Fit a circuit to every spectrum of FILE(s); no initial guess needed.

    Prints parameters with standard errors and units, chi-square, derived quantities
    (ASR per cell and per interface, C_eff, apex frequencies, conductivity) and flags.
    """
    import json as _json
    from pathlib import Path

    from .fitting import fit
    from .io import read

    fixed = _name_values(fix, "--fix")
    start = _name_values(initial, "--initial")
    results, failed = [], 0
    for path in files:
        try:
            spectra = read(path, format=fmt)
        except EisfitError as exc:
            click.echo(f"eisfit: error: {exc}", err=True)
            failed += 1
            continue
        for s in spectra:
            res = fit(s, circuit, area_cm2=area_cm2, thickness_cm=thickness_cm, symmetric=symmetric,
                      weighting=weighting, fmin=fmin, fmax=fmax, fixed=fixed or None,
                      initial=start or None, engine=engine, guess=guess_mode,
                      profile=_PROFILE_CHOICE[profile])
            results.append(res)
            if not as_json:
                click.echo(res.summary())
                click.echo("")
    if as_json:
        click.echo(_json.dumps([r.to_dict() for r in results], indent=1))
    if out_dir and results:
        _write_fit_outputs(results, Path(out_dir), plot)
    if failed:
        sys.exit(2)


# ---- section: suggest (issue 16) ------------------------------------------------
@main.command("suggest")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--candidates", "candidates", multiple=True, metavar="CIRCUIT[;CIRCUIT...]",
              help="Circuits to compare (library names or strings), ';'-separated or repeated; "
                   "include 'auto' to add the automatic candidates. Default: automatic "
                   "(from the DRT peaks, an inductive tail and the low-frequency behaviour).")
@click.option("--criterion", type=click.Choice(["bic", "aic"]), default="bic", show_default=True,
              help="Information criterion that ranks the adequate candidates.")
@click.option("--library", is_flag=True, help="Also fit every circuit of the library (eisfit circuits).")
@click.option("--area-cm2", type=float, default=None,
              help="Electrode area, cm2 (role names from the capacitance per area).")
@click.option("--weighting", type=click.Choice(["modulus", "boukamp", "proportional", "unit"]),
              default="modulus", show_default=True, help="Residual weighting of the candidate fits.")
@click.option("--fmin", type=float, default=None, help="Lowest frequency fitted, Hz.")
@click.option("--fmax", type=float, default=None, help="Highest frequency fitted, Hz.")
@click.option("--format", "fmt", default=None, metavar="NAME", help="Force the file format.")
@click.option("--json", "as_json", is_flag=True, help="Print the suggestions as JSON instead of the tables.")
def suggest_command(files, candidates, criterion, library, area_cm2, weighting, fmin, fmax, fmt,
                    as_json) -> None:
    """Which circuit? Rank candidate circuits for every spectrum of FILE(s).

    Prints, per spectrum, the candidates ranked (parameters, chi-square, reduced
    chi-square, AIC, BIC, residuals over the Lin-KK noise level, unresolved parameters,
    verdict) and a few sentences on why the best was chosen and what was rejected.
    """
    import json as _json

    from .io import read
    from .selection import suggest_circuit

    listed = [c.strip() for item in candidates for c in item.split(";") if c.strip()] or None
    out, failed = [], 0
    for path in files:
        try:
            spectra = read(path, format=fmt)
        except EisfitError as exc:
            click.echo(f"eisfit: error: {exc}", err=True)
            failed += 1
            continue
        for s in spectra:
            sug = suggest_circuit(s, listed, criterion=criterion, library=library, area_cm2=area_cm2,
                                  weighting=weighting, fmin=fmin, fmax=fmax)
            out.append(sug.to_dict())
            if not as_json:
                click.echo(_suggestion_text(sug))
    if as_json:
        click.echo(_json.dumps(out, indent=1))
    if failed:
        sys.exit(2)


def _suggestion_text(sug) -> str:
    """The ranked table and the explanation of one suggestion, for the terminal."""
    import textwrap

    lines = [f"== {sug.label or 'spectrum'}: suggested circuit {sug.best}  ({sug.seconds:.2f} s)"]
    width = max(len(c) for c in sug.table["circuit"])
    lines.append(f"{'circuit':<{width}}  {'M':>2} {'chisq':>10} {'redchi':>10} {'AIC':>9} {'BIC':>9} "
                 f"{'resid/noise':>11}  verdict")
    for _, r in sug.table.iterrows():
        lines.append(f"{r['circuit']:<{width}}  {int(r['n_params']):>2} {r['chisq']:>10.4g} "
                     f"{r['redchi']:>10.4g} {r['aic']:>9.1f} {r['bic']:>9.1f} "
                     f"{r['lack_of_fit_ratio']:>11.2f}  {r['verdict']}")
    lines.append(textwrap.fill(sug.explain(), width=100))
    return "\n".join(lines) + "\n"


# ---- end section: suggest ----------------------------------------------------------


def _name_values(items, option: str) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise click.BadParameter(f"expected NAME=VALUE with a number, got {item!r}", param_hint=option)
        if not sep:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint=option)
    return out


def _write_fit_outputs(results, out, plot: bool) -> None:
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for r in results:
        name = _safe_name(r.label or "spectrum")
        (out / f"{name}_fit.json").write_text(r.to_json())
        row = {"label": r.label, "file": r.source, "sweep": r.sweep, "circuit": r.circuit}
        for k in r.param_names:
            row[k] = r.values[k]
            row[f"{k}_stderr"] = r.stderr[k]
        row.update(r.derived)
        row.update({"chisq": r.chisq, "redchi": r.redchi, "pseudo_chisq": r.pseudo_chisq,
                    "kk_passed": r.kk_passed, "flags": ";".join(r.flags)})
        rows.append(row)
        if plot:
            import matplotlib.pyplot as plt

            from .plotting import plot_fit

            fig = plot_fit(r, area_cm2=None)
            fig.savefig(out / f"{name}_fit.png", dpi=120)
            plt.close(fig)
    pd.DataFrame(rows).to_csv(out / "fits.csv", index=False)
    click.echo(f"wrote {len(results)} fit(s) to {out}")


# ---- end section: fit ---------------------------------------------------------

# ---- section: validate (Kramers-Kronig) --------------------------------------
def _safe_name(label: str) -> str:
    """A file-name-safe version of a spectrum label."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "spectrum"


def _save_figure(ax, path) -> None:
    import matplotlib.pyplot as plt

    ax.figure.tight_layout()
    ax.figure.savefig(path, dpi=120)
    plt.close(ax.figure)


@main.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--threshold-pct", type=float, default=1.0, show_default=True,
              help="Residuals up to this (% of |Z|, every point) pass whatever their pattern.")
@click.option("--violation-pct", type=float, default=2.0, show_default=True,
              help="Residuals above this (% of |Z|) fail; in between, only random ones pass.")
@click.option("--c", "c", type=float, default=0.85, show_default=True,
              help="mu threshold of the Lin-KK element count.")
@click.option("--no-inductance", is_flag=True, help="Do not fit a series inductance.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for one residual plot per spectrum (<label>_kk.png).")
@click.option("--format", "fmt", default=None, metavar="NAME", help="Force the file format.")
def validate_command(files, threshold_pct, violation_pct, c, no_inductance, out_dir, fmt) -> None:
    """Lin-KK (Kramers-Kronig) test of every spectrum of FILE...

    Prints per spectrum mu, the number M of RC elements, the largest residual
    (% of |Z|), the status (valid, noisy, drift, violation) and pass/FAIL.
    Exit status 1 when any spectrum fails.
    """
    import matplotlib
    from pathlib import Path

    matplotlib.use("Agg")
    from .analysis.kk import kk_test
    from .plotting import plot_kk_residuals

    out = Path(out_dir) if out_dir else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    failed = 0
    click.echo(f"{'spectrum':40s} {'mu':>6s} {'M':>3s} {'max %':>7s} {'noise %':>8s}  {'status':9s} result")
    for path in files:
        for s in _read_reporting(path, fmt, None):
            res = kk_test(s, c=c, inductance=not no_inductance, threshold_pct=threshold_pct,
                          violation_pct=violation_pct)
            failed += not res.passed
            click.echo(f"{s.label:40s} {res.mu:6.3f} {res.n_rc:3d} {res.max_residual_pct:7.3f} "
                       f"{res.noise_estimate_pct:8.3f}  {res.status:9s} {'pass' if res.passed else 'FAIL'}")
            if out:
                _save_figure(plot_kk_residuals(res), out / f"{_safe_name(s.label)}_kk.png")
    if failed:
        sys.exit(1)


# ---- end section: validate ----------------------------------------------------

# ---- section: drt --------------------------------------------------------------
@main.command("drt")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--lambda", "lam", default="auto", show_default=True, metavar="auto|VALUE",
              help="Regularisation strength (dimensionless) or 'auto' (GCV + discrepancy).")
@click.option("--circuit", default=None, metavar="NAME|STRING|FILE",
              help="Also fit this circuit and overlay its DRT in the figure.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for <label>_drt.csv, <label>_peaks.csv and <label>_drt.png.")
@click.option("--format", "fmt", default=None, metavar="NAME", help="Force the file format.")
def drt_command(files, lam, circuit, out_dir, fmt) -> None:
    """Distribution of relaxation times of every spectrum of FILE...

    Prints the peaks (tau, frequency, resistance) per spectrum.
    """
    import matplotlib
    import warnings
    from pathlib import Path

    matplotlib.use("Agg")
    from .analysis.drt import drt
    from .plotting import plot_drt

    try:
        lambda_ = lam if lam == "auto" else float(lam)
    except ValueError:
        raise click.BadParameter(f"expected 'auto' or a number, got {lam!r}", param_hint="--lambda")
    out = Path(out_dir) if out_dir else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    for path in files:
        for s in _read_reporting(path, fmt, None):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                res = drt(s, lambda_=lambda_)
            for w in caught:
                click.echo(f"eisfit: warning: {w.message}", err=True)
            click.echo(f"{s.label}: R_inf {res.r_inf_ohm:.4g} ohm, R_pol {res.r_pol_ohm:.4g} ohm"
                       + (f", L {res.inductance_H:.3g} H" if res.inductance_H is not None else "")
                       + f", lambda {res.lambda_:.3g} ({res.lambda_rule})")
            click.echo(f"  {'tau_s':>11s} {'f_Hz':>11s} {'R_ohm':>10s}")
            for _, row in res.peaks.iterrows():
                click.echo(f"  {row['tau_s']:11.4g} {row['f_Hz']:11.4g} {row['R_ohm']:10.4g}")
            if out:
                stem = _safe_name(s.label)
                res.to_dataframe().to_csv(out / f"{stem}_drt.csv", index=False)
                res.peaks.to_csv(out / f"{stem}_peaks.csv", index=False)
                fit = _fit_for_overlay(s, circuit) if circuit else None
                _save_figure(plot_drt(res, fit=fit), out / f"{stem}_drt.png")


def _fit_for_overlay(spectrum, circuit: str):
    """eisfit.fit(spectrum, circuit=...) when the fitting engine offers FitResult.drt, else None."""
    import numpy as np

    try:
        from . import fit as fit_spectrum

        result = fit_spectrum(spectrum, circuit=circuit)
        result.drt(np.logspace(-6, -3, 4))  # probe: the overlay needs FitResult.drt
    except (ImportError, AttributeError, NotImplementedError) as exc:
        click.echo(f"eisfit: warning: circuit overlay unavailable ({exc})", err=True)
        return None
    return result


# ---- end section: drt ----------------------------------------------------------

# ---- section: campaign --------------------------------------------------------
@main.command("campaign")
@click.argument("source", metavar="SOURCE")
@click.option("--circuit", default=None, metavar="NAME|FILE|STRING|auto",
              help="Circuit (default: the campaign file's [defaults], else garnet-symmetric); "
                   "'auto': one circuit for every checkpoint, chosen by the BIC summed over them.")
@click.option("--area-cm2", type=float, default=None, help="Electrode contact area, cm2 (enables ASR).")
@click.option("--thickness-cm", type=float, default=None, help="Electrolyte thickness, cm (enables sigma).")
@click.option("--symmetric/--per-cell", "symmetric", default=None,
              help="Symmetric cell: also report ASR per interface (= per cell / 2). Default: symmetric.")
@click.option("--weighting", default=None, metavar="NAME",
              help="modulus (default), boukamp, proportional or unit.")
@click.option("--fmin", type=float, default=None, help="Lowest frequency fitted, Hz.")
@click.option("--fmax", type=float, default=None, help="Highest frequency fitted, Hz.")
@click.option("--jobs", type=int, default=1, show_default=True, help="Fitting processes on this machine.")
@click.option("--starts", default="auto", show_default=True, metavar="auto|N",
              help="Starts of each checkpoint's cold fit: auto (full multi-start) or N (faster; "
                   "the seeded fit from the previous checkpoint still runs).")
@click.option("--profile", "profile", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="Profile-likelihood errors for arc resistances (as in 'eisfit fit').")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler address (tcp://host:8786): fit on its workers.")
@click.option("--out", "out", type=click.Path(file_okay=False), default="eisfit-campaign",
              show_default=True, help="Output folder (summary.csv, report.md, figures, cache).")
@click.option("--no-cache", is_flag=True, help="Refit everything; do not read or write the cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Cache folder (default: OUT/.eisfit-cache).")
@click.option("--nyquist-asr", is_flag=True, help="Nyquist overlay in ohm*cm2 (Z x area, per cell).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option("--drt", "drt_", is_flag=True,
              help="DRT of every checkpoint, peaks tracked across checkpoints: drt_* columns, "
                   "drt_map/drt_stack figures, drt_peaks.csv, DRT section in report.md.")
# ---- series analysis options (eisfit.series, Arrhenius) ----
@click.option("--shared", default=None, metavar="P1,P2,...",
              help="Joint fit: these parameters take one value for the whole campaign (e.g. R1,CPE1_0,CPE1_1).")
@click.option("--smooth", default=None, metavar="auto|LAMBDA",
              help="Joint fit with a smoothness penalty across checkpoints: 'auto' (GCV) or a number >= 0.")
@click.option("--arrhenius", "arrhenius_", is_flag=True,
              help="Arrhenius fit of each conductivity vs temperature: arrhenius.csv, arrhenius.png/svg, report section.")
# ---- end series analysis options ----
def campaign_command(source: str, circuit, area_cm2, thickness_cm, symmetric, weighting, fmin, fmax,
                     jobs: int, starts: str, profile: str, scheduler: str | None, out: str, no_cache: bool,
                     cache_dir, nyquist_asr: bool, progress, shared, smooth, arrhenius_,
                     drt_: bool = False) -> None:
    """Fit every checkpoint of a campaign: SOURCE is a folder, a glob, a campaign file
    (.toml / .csv) or a data file. Writes OUT/summary.csv, report.md and figures, and
    prints the evolution of each resistance."""
    from pathlib import Path

    from .campaign import fit_campaign

    cache = False if no_cache else (cache_dir or Path(out) / ".eisfit-cache")
    client = _campaign_dask_client(scheduler) if scheduler else None
    try:
        camp = fit_campaign(
            source, circuit=circuit, area_cm2=area_cm2, thickness_cm=thickness_cm, symmetric=symmetric,
            weighting=weighting, fmin=fmin, fmax=fmax, jobs=jobs,
            executor=None if client is None else client.get_executor(), out=None, cache_dir=cache,
            progress=progress, drt=drt_, **_series_options(shared, smooth), **_starts_option(starts),
            **({} if profile == "auto" else {"profile": _PROFILE_CHOICE[profile]}),
        )
    finally:
        if client is not None:
            client.close()
    camp.write(out, area_normalised=nyquist_asr)
    ok = sum(r is not None for r in camp.results)
    if camp.circuit_choice is not None:  # --circuit auto (issue 16)
        click.echo(camp.circuit_choice.explain())
    click.echo(f"{len(camp.checkpoints)} checkpoints, {ok} fitted, ordered by {camp.ordering}")
    for line in camp.evolution_lines():
        click.echo(line)
    for failure in camp.errors:
        click.echo(f"error: {failure}", err=True)
    click.echo(f"fits run: {camp.stats.get('fits_run', 0)}, cache hits: {camp.stats.get('cache_hits', 0)}; "
               f"wrote {Path(out) / 'summary.csv'}, report.md and figures")
    if drt_:  # DRT (issue 8): one line per tracked peak, KK warnings
        from .campaign.drt import drt_report_lines

        for line in drt_report_lines(camp):
            if line.startswith("- "):
                click.echo(line[2:].replace("**", ""))
    # ---- series analysis output ----
    joints = camp.joint.values() if isinstance(camp.joint, dict) else [camp.joint]
    for joint in joints:
        if joint is not None and joint.statement:
            click.echo(joint.statement)
    if arrhenius_:
        _write_arrhenius(camp, Path(out))
    # ---- end series analysis output ----


_PROFILE_CHOICE = {"auto": "auto", "on": True, "off": False}


def _starts_option(starts: str) -> dict:
    if starts == "auto":
        return {}
    try:
        n = int(starts)
    except ValueError:
        raise click.BadParameter(f"expected 'auto' or a whole number, got {starts!r}", param_hint="--starts")
    if n < 1:
        raise click.BadParameter("must be at least 1", param_hint="--starts")
    return {"starts": n}


def _series_options(shared: str | None, smooth: str | None) -> dict:
    """fit_campaign keywords for --shared / --smooth (none when neither is given)."""
    out: dict = {}
    if shared is not None:
        out["shared"] = [p.strip() for p in shared.split(",") if p.strip()]
    if smooth is not None:
        out["smooth"] = smooth
    return out


def _write_arrhenius(camp, folder) -> None:
    """arrhenius.csv, arrhenius.png/.svg and a report.md section for --arrhenius."""
    import matplotlib.pyplot as plt

    from .analysis.arrhenius import arrhenius_report_lines

    fits = camp.arrhenius()
    fits.to_csv(folder / "arrhenius.csv", index=False)
    ax = camp.plot_arrhenius()
    for ext in ("png", "svg"):
        ax.figure.savefig(folder / f"arrhenius.{ext}", dpi=200, bbox_inches="tight")
    plt.close(ax.figure)
    report = folder / "report.md"
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    report.write_text(text.rstrip("\n") + "\n\n" + "\n".join(arrhenius_report_lines(fits)) + "\n",
                      encoding="utf-8")
    for _, row in fits.iterrows():
        click.echo(f"Arrhenius {row['resistance']}: Ea = {row['ea_eV']:.3f} ± {row['ea_stderr_eV']:.3f} eV "
                   f"(R^2 = {row['r_squared']:.4f}, {row['n_points']} points)")
    click.echo(f"wrote {folder / 'arrhenius.csv'} and arrhenius.png/svg")


def _campaign_dask_client(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise EisfitError("--scheduler needs Dask: pip install 'dask[distributed]'") from None
    try:
        return Client(address, timeout=30)
    except (OSError, TimeoutError) as exc:
        raise EisfitError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
# ---- end section: campaign ----------------------------------------------------


if __name__ == "__main__":  # pragma: no cover
    main()
