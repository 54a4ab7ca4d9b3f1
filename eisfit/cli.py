"""The ``eisfit`` command: a thin layer over the library (parse options, call, print).

Conventions (CLI.md, "Exit status and messages"):

* results go to standard output (a table, CSV, or JSON with ``--json``); every other
  message goes to standard error as one line ``eisfit: error: ...`` or
  ``eisfit: warning: ...`` (notes such as ``wrote ...`` are plain lines on stderr);
* exit status 0 when all is well, 1 when something was done but some spectra,
  checkpoints or checks failed, 2 for usage or input errors (nothing done), 130 when
  interrupted (Ctrl-C; a campaign still writes what it finished);
* ``-h``/``--help``, ``-q``/``--quiet``, ``-v``/``--verbose`` and ``--debug`` (Python
  traceback of an error) on every command.

Each command lives in its own section below; nothing is computed here that the
library does not also offer.
"""
from __future__ import annotations

import json
import math
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, Sequence

import click

from . import __version__
from ._checks import ENGINES, GUESS_MODES
from ._files import atomic_text_file, distinct_names as _distinct_names, safe_name as _safe_name
from ._json import to_jsonable
from .errors import EisfitError
from .units import format_frequency, format_value, plain_number

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE: the reader of the output went away (eisfit ... | head), as shell tools end
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


# ---- section: conventions (messages, exit status, common options) -----------------
class _State:
    """Verbosity and debug flag of the current invocation (set by the common options)."""

    verbosity = 0   # -1 quiet, 0 normal, >= 1 verbose
    debug = False

    @classmethod
    def reset(cls) -> None:
        cls.verbosity, cls.debug = 0, False


def _echo(text: str = "", err: bool = False) -> None:
    """``click.echo``, except that a stream whose reader went away (``eisfit ... | head``) is
    pointed at the null device and the command carries on: its files are still written and its
    exit status is its work's (click would end the command there with status 1)."""
    try:
        click.echo(text, err=err)
    except BrokenPipeError:
        _silence(sys.stderr if err else sys.stdout)


def _error(text: str) -> None:
    """``eisfit: error: text`` on stderr (always shown)."""
    _echo(f"eisfit: error: {_one_line(text)}", err=True)


def _failed(exc: BaseException, text: str | None = None) -> None:
    """The ``eisfit: error:`` line of one file or spectrum that failed while the command goes
    on with the others (``text``, else the exception's message); with --debug the exception's
    traceback before it."""
    if _State.debug:
        _traceback(exc)
    _error(str(exc) if text is None else text)


def _traceback(exc: BaseException | str) -> None:
    """The Python traceback of ``exc`` (or its text, kept where it was caught) on stderr."""
    text = exc if isinstance(exc, str) else "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    _echo(text.rstrip("\n"), err=True)


def _warn(text: str) -> None:
    """``eisfit: warning: text`` on stderr (hidden by -q)."""
    if _State.verbosity >= 0:
        _echo(f"eisfit: warning: {_one_line(text)}", err=True)


def _note(text: str) -> None:
    """An informational line on stderr (hidden by -q)."""
    if _State.verbosity >= 0:
        _echo(text, err=True)


def _detail(text: str) -> None:
    """A line shown only with -v."""
    if _State.verbosity >= 1:
        _echo(text, err=True)


def _one_line(text: str) -> str:
    """The message on one line; a circuit-syntax error keeps its two caret lines under it
    (the circuit string and a ^ under the mistake), the only continuation allowed."""
    first, *rest = str(text).split("\n")
    if len(rest) == 2 and rest[1].strip() == "^":
        return str(text)
    return " ".join(part.strip() for part in [first, *rest] if part.strip())  # a file name's own spaces stay


def _print_json(data) -> None:
    """Strict JSON on stdout (NaN and infinities as null)."""
    _echo(json.dumps(to_jsonable(data), indent=1))


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Python warnings raised while a command runs, as ``eisfit: warning:`` lines.

    numpy's floating-point RuntimeWarnings ("overflow encountered in ...") are
    optimiser noise: shown only with -v.
    """
    text = str(message)
    if issubclass(category, RuntimeWarning) and "encountered in" in text:
        if _State.verbosity >= 1:
            _warn(text)
        return
    _warn(text)


def _exit_code(done: int, failed: int) -> int:
    """0 when nothing failed; 1 when something was done and something failed; 2 when
    nothing could be done."""
    if not failed:
        return EXIT_OK
    return EXIT_PARTIAL if done else EXIT_USAGE


# click (8.2 on) raises this for a group called with no command; its text is the whole help
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _Group(click.Group):
    """Runs a command with the eisfit conventions: one-line messages, exit status 0/1/2/130,
    tracebacks only with --debug (click's own usage errors included)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from ._processes import tune_allocator

        _State.reset()
        tune_allocator()  # the command's own process (and the workers it forks)
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            code = self._run(args, prog_name or "eisfit", complete_var, **extra)
        if not standalone_mode:
            return code
        sys.exit(code)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # click's answer to it is exit status 1, which reads as failed fits
            raise _OutputClosed() from None

    def _run(self, args, prog_name, complete_var, **extra) -> int:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _OutputClosed:
            _silence(sys.stdout)
            _silence(sys.stderr)
            return EXIT_OUTPUT_CLOSED
        except click.UsageError as exc:
            if isinstance(exc, _NO_ARGS_IS_HELP) and exc.ctx is not None:  # bare 'eisfit': its help, not one line
                _echo(exc.ctx.get_help(), err=True)
                return EXIT_USAGE
            where = exc.ctx.command_path if exc.ctx is not None else prog_name
            _error(f"{_lower_first(exc.format_message())} (see '{where} -h')")
            return EXIT_USAGE
        except click.ClickException as exc:
            _error(exc.format_message())
            return exc.exit_code
        except click.Abort:
            _error("interrupted")
            return EXIT_INTERRUPTED
        except EisfitError as exc:
            if _State.debug:
                raise
            _error(str(exc))
            return EXIT_USAGE
        except OSError as exc:
            if _State.debug:
                raise
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            _error(f"{where}{exc.strerror or exc}")
            return EXIT_USAGE
        except Exception as exc:  # a bug: one line, the traceback with --debug
            if _State.debug:
                raise
            _error(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)")
            return EXIT_PARTIAL
        return rv if isinstance(rv, int) else EXIT_OK


class _OutputClosed(Exception):
    """A broken pipe that no :func:`_echo` caught (another writer's): the command ends quietly."""


def _silence(stream) -> None:
    """Point ``stream`` (standard output or error) at the null device, so that what is written
    to it later, and flushing it at exit, raise no second broken pipe (the remedy of Python's
    signal documentation)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no file descriptor (a test's captured output)
        pass


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _set_quiet(ctx, param, value) -> None:
    if value:
        _State.verbosity = -1


def _set_verbose(ctx, param, value) -> None:
    if value and _State.verbosity >= 0:
        _State.verbosity = max(_State.verbosity, value)


def _set_debug(ctx, param, value) -> None:
    if value:
        _State.debug = True


def _common_options(f):
    """-q/--quiet, -v/--verbose and --debug, on the group and on every command."""
    f = click.option("--debug", is_flag=True, expose_value=False, callback=_set_debug,
                     help="On an error, show the Python traceback instead of one line.")(f)
    f = click.option("-v", "--verbose", count=True, expose_value=False, callback=_set_verbose,
                     help="More detail on stderr (settings used, timings, numerical warnings).")(f)
    f = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet,
                     help="Only results and errors: no warnings or notes.")(f)
    return f


def _command(name: str, examples: str):
    """A subcommand with the common options and a usage-examples epilog."""
    def wrap(f):
        epilog = "\b\nExamples:\n" + "\n".join(f"  {line}" for line in examples.strip().splitlines())
        own = list(getattr(f, "__click_params__", []))
        f = _common_options(f)
        common = f.__click_params__[len(own):]
        f.__click_params__ = common + own  # listed after the command's own options in --help
        return main.command(name, epilog=epilog, context_settings=CONTEXT)(f)
    return wrap


class _FormatName(click.ParamType):
    """A reader format name: exactly the names ``eisfit info`` prints (and their aliases)."""

    name = "NAME"

    def convert(self, value, param, ctx):
        from .errors import UnknownFormatError
        from .io import format_name

        try:
            return format_name(value)
        except UnknownFormatError as exc:
            self.fail(exc.reason, param, ctx)


_FORMAT = _FormatName()
class _FiniteFloatRange(click.FloatRange):
    """click's FloatRange without nan and inf, which it lets through (a comparison with nan
    is false): '--fmin nan' reached the fits and failed spectrum by spectrum."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


_POSITIVE = _FiniteFloatRange(min=0, min_open=True)
_EXCLUDE_HZ = click.option(
    "--exclude-hz", "exclude_hz", type=_POSITIVE, multiple=True, metavar="F",
    help="Leave out the points within 1 % of F Hz, e.g. an outlier that the kk-outlier flag names "
         "(repeatable; no point near F is an error).")


def _writable_folder(folder: str | Path, option: str = "--out") -> Path:
    """Create ``folder`` and check that a file can be written there (before any work).

    A folder created here is removed again when the command ends without writing
    anything into it (an error, or nothing to write)."""
    import tempfile

    path = Path(folder)
    created = [p for p in (path, *path.parents) if not p.exists()]  # the folders mkdir makes, innermost first
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise click.BadParameter(f"cannot write to {path}: {exc.strerror or exc}", param_hint=option) from None
    ctx = click.get_current_context(silent=True)
    if created and ctx is not None:
        ctx.call_on_close(lambda: _remove_empty_tree(path, created[1:]))
    return path


@click.group(name="eisfit", cls=_Group, context_settings=CONTEXT, epilog="""\b
Examples:
  eisfit info cell.mpr
  eisfit fit cell.mpr --circuit garnet-symmetric --area-cm2 0.785
  eisfit campaign sample_data/garnet_campaign/campaign.toml --out results/
  eisfit COMMAND -h        help of one command

\b
Exit status: 0 all well; 1 something was done but some spectra, checkpoints
or checks failed; 2 usage or input error; 130 interrupted (Ctrl-C);
143 stopped by SIGTERM; 141 a closed output pipe met where the command
cannot carry on past it.""")
@click.version_option(__version__, "-V", "--version", prog_name="eisfit")
@_common_options
def main() -> None:
    """Fit equivalent circuits to impedance spectra of solid-state cells."""


def run(prog_name: str | None = None) -> None:
    """The ``eisfit`` program (its console script and ``python -m eisfit``): :func:`main`
    on the process's arguments, then the process ends with its exit status. ``main`` itself
    (as tests and scripts call it) exits with ``SystemExit`` as any click command."""
    _end_process(main.main(prog_name=prog_name, standalone_mode=False))


def _end_process(code: int) -> NoReturn:
    """Exit with ``code`` once the exit handlers have run and the output is flushed, without
    Python tearing the interpreter down object by object: that took ~0.2 s after a campaign
    of 5,000 checkpoints, growing with its results, and skipping it loses nothing (every file
    is closed by then). Where another thread still runs, Python's own exit, which waits for it."""
    import atexit
    import os
    import threading

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if threading.active_count() > 1 or run_exit_handlers is None:
        sys.exit(code)
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (eisfit ... | head): nothing more to say
            pass
    os._exit(code)
# ---- end section: conventions ----------------------------------------------------


# ---- section: read / info / convert (readers) ------------------------------
def _read_reporting(path: str, fmt: str | None, imag_sign: str | None,
                    columns: dict[str, int | str] | None = None):
    """Read one file; reader warnings go to stderr as ``eisfit: warning: ...`` lines, each
    naming the file as typed (a reader names it by its file name only: ``a/cell.mpr`` and
    ``b/cell.mpr`` would read alike)."""
    import warnings

    from .io import read

    options: dict = {"imag_sign": imag_sign} if imag_sign else {}
    if columns:
        options["columns"] = columns
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spectra = read(path, format=fmt, **options)
    for w in caught:
        _warn(_naming_the_file(str(w.message), path))
    return spectra


def _naming_the_file(text: str, path: str) -> str:
    """A reader's message that starts with the path as typed: a leading ``<file name>:`` is
    replaced by it, a message that names no file gets it in front."""
    name = Path(path).name
    if text.startswith(f"{name}:") and path != name:
        return f"{path}{text[len(name):]}"
    return text if name in text else f"{path}: {text}"


def _relabelled(spectrum, name: str):
    """``spectrum`` labelled ``<name>#<sweep>`` instead of ``<file name>#<sweep>`` (the same
    spectrum where ``name`` is its file name)."""
    label = spectrum.label
    base = Path(str(spectrum.meta.get("source", ""))).name
    if name == base or "label" in spectrum.meta or not label.startswith(base):
        return spectrum
    return spectrum.with_meta(label=name + label[len(base):])


def _format_name(path: str, fmt: str | None) -> str:
    """The reader name of a file: what ``--format`` accepts (not the reader's own label)."""
    from .io import _module_for, detect_format

    return _module_for(fmt).NAME if fmt else detect_format(path)


def _sweep_record(s) -> dict:
    """``eisfit info`` facts of one sweep (frequencies in Hz). ``start_time`` and
    ``sweep_start_time`` are ``meta``'s (ISO, local time, None where unknown): the start of the
    file's acquisition, and the start of this sweep where the file tells it (BioLogic: the
    acquisition start + time/s of its first point; a table with a clock column)."""
    m = s.meta
    area = m.get("area_cm2")  # converted by the reader; None when the file gives none (or 0)
    unit = "cm2" if area is not None else None
    record = {"sweep": m.get("sweep", 0), "points": len(s), "fmin_Hz": float(s.frequency.min()),
              "fmax_Hz": float(s.frequency.max()), "area": area, "area_unit": unit,
              "start_time": m.get("start_time") or None, "sweep_start_time": m.get("sweep_start_time") or None,
              "impedance_unit": "ohm*cm2" if s.area_specific else "ohm"}
    for key in ("sheet", "cycle", "loop", "time_s", "start_time_note", "channel", "dc_potential_V"):
        if m.get(key) is not None:
            record[key] = m[key]
    return record


def _parse_columns_option(text: str | None) -> dict[str, int | str] | None:
    """``frequency=0,real=2,imag=3`` -> {"frequency": 0, ...} (:func:`eisfit.io.columns_from_text`:
    a value that is not a whole number is a column name); a usage error for a bad pair."""
    if not text:
        return None
    from .errors import ReadError
    from .io import columns_from_text

    try:
        return columns_from_text(text)
    except ReadError as exc:
        raise click.BadParameter(exc.reason, param_hint="--columns") from None


def _reader_options(fmt: str | None, imag_sign: str | None, columns_text: str | None):
    """The :class:`eisfit.io.ReaderOptions` of ``--format``, ``--imag-sign`` and ``--columns``
    (checked as eisfit.read checks them: a bad column role is a usage error)."""
    from .errors import ReadError
    from .io import ReaderOptions

    try:
        return ReaderOptions(format=fmt, imag_sign=imag_sign, columns=_parse_columns_option(columns_text))
    except ReadError as exc:  # --format and --imag-sign are checked by click: it is --columns
        raise click.BadParameter(exc.reason, param_hint="--columns") from None


_COLUMNS_HELP = ("Column roles of a table, e.g. 'frequency=1,real=2,imag=3' (0-based positions or "
                 "header names; roles frequency, real, imag, modulus, phase, sweep, y_real, y_imag). "
                 "Default: by header name, or by content for a headerless table.")


def _file_record(path: str, fmt_name: str, spectra) -> dict:
    """``eisfit info`` facts of one file: format, technique, software (name and version), sweeps."""
    m = spectra[0].meta
    software = " ".join(str(x) for x in (m.get("software"), m.get("software_version")) if x)
    return {"file": path, "format": fmt_name, "technique": m.get("technique"),
            "software": software or None, "sweeps": [_sweep_record(s) for s in spectra]}


def _count(n: int, noun: str) -> str:
    """'1 point', '72 points'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _file_lines(rec: dict) -> list[str]:
    """The lines ``eisfit info`` prints for one file record (:func:`_file_record`)."""
    n = len(rec["sweeps"])
    head = (f"{rec['file']}: format {rec['format']}, technique {rec['technique'] or 'unknown'}, "
            f"{_count(n, 'sweep')}")
    if rec["software"]:
        head += f", software {rec['software']}"
    lines = [head]
    for sw in rec["sweeps"]:
        span = f"{format_frequency(sw['fmin_Hz'])} - {format_frequency(sw['fmax_Hz'])}"
        parts = [f"sweep {sw['sweep']}: {_count(sw['points'], 'point')}", span]
        if sw.get("sheet") is not None:
            parts.append(f"sheet {sw['sheet']!r}")
        if sw["area"] is not None:
            parts.append(f"area {sw['area']:g} {sw['area_unit']}")
        if sw["sweep_start_time"]:  # the sweep's own start; else the file's, said so
            parts.append(f"start {sw['sweep_start_time']}")
        elif sw["start_time"]:
            parts.append(f"file start {sw['start_time']}"
                         + (f" ({sw['start_time_note']})" if sw.get("start_time_note") else ""))
        for key in ("cycle", "loop"):
            if sw.get(key) is not None:
                parts.append(f"{key} {sw[key]:g}" if isinstance(sw[key], (int, float)) else f"{key} {sw[key]}")
        if sw.get("time_s") is not None:
            parts.append(f"time {sw['time_s']:g} s")
        if sw.get("channel") is not None:
            parts.append(f"channel {sw['channel']}")
        if sw.get("dc_potential_V") is not None:
            parts.append(f"E dc {sw['dc_potential_V']:.4g} V")
        if sw.get("impedance_unit") == "ohm*cm2":
            parts.append("impedance per area (ohm*cm2)")
        lines.append("  " + ", ".join(parts))
    return lines


_IMAG_SIGN = click.Choice(["auto", "negative", "positive"])
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")


def _TABLE_OPTIONS(command):
    """--imag-sign and --columns of the commands that read data files to analyse or convert
    them (as ``eisfit info`` and ``read`` take them): what the readers' messages tell to use."""
    command = click.option("--columns", "columns_text", default=None, metavar="ROLE=COL,...",
                           help=_COLUMNS_HELP)(command)
    return click.option("--imag-sign", type=_IMAG_SIGN, default=None,
                        help="Sign convention of the imaginary column of tables (default: the format's, "
                             "or auto-detected).")(command)


def _READER_OPTIONS(command):
    """--format, --imag-sign and --columns of the commands that read files to fit them
    (``eisfit fit``, ``eisfit campaign``): one definition, one help text."""
    command = _TABLE_OPTIONS(command)
    return click.option("--format", "fmt", type=_FORMAT, default=None,
                        help="Force the file format (names as eisfit info prints).")(command)


@_command("info", """
eisfit info cell.mpr run*.DTA
eisfit info export.txt --format csv --imag-sign positive
eisfit info cell.mpr --json
""")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=_FORMAT, default=None,
              help="Force the file format (default: detect from content).")
@click.option("--imag-sign", type=_IMAG_SIGN, default=None,
              help="Sign convention of the imaginary column of tables (default: the format's, "
                   "or auto-detected).")
@click.option("--columns", "columns_text", default=None, metavar="ROLE=COL,...", help=_COLUMNS_HELP)
@_JSON
def info_command(files: tuple[str, ...], fmt: str | None, imag_sign: str | None, columns_text: str | None,
                 as_json: bool) -> int:
    """Describe impedance files: format, technique, sweeps, points, frequency range,
    area, start time, cycle, loop and time, software. Unreadable files are reported and
    skipped (exit 2)."""
    failed, records = 0, []
    columns = _parse_columns_option(columns_text)
    for path in files:
        try:
            spectra = _read_reporting(path, fmt, imag_sign, columns)
            rec = _file_record(path, _format_name(path, fmt), spectra)
        except EisfitError as exc:
            _failed(exc)
            failed += 1
            continue
        records.append(rec)
        if not as_json:
            for line in _file_lines(rec):
                _echo(line)
    if as_json:
        _print_json(records)
    return EXIT_USAGE if failed else EXIT_OK


@_command("read", """
eisfit read cell.mpr --sweep 0 > cell_sweep0.csv
eisfit read export.txt --format csv --imag-sign positive
eisfit read cell.mpr --json
""")
@click.argument("file", type=click.Path())
@click.option("--format", "fmt", type=_FORMAT, default=None,
              help="Force the file format instead of detecting it from the content.")
@click.option("--imag-sign", type=_IMAG_SIGN, default=None,
              help="Sign convention of the imaginary column of a table (default: detect).")
@click.option("--sweep", type=click.IntRange(min=0), default=None, help="Print only this sweep (0-based).")
@click.option("--columns", "columns_text", default=None, metavar="ROLE=COL,...", help=_COLUMNS_HELP)
@_JSON
def read_command(file: str, fmt: str | None, imag_sign: str | None, sweep: int | None,
                 columns_text: str | None, as_json: bool) -> int:
    """Print the points of FILE as CSV: sweep, frequency_Hz, z_real_ohm, z_imag_ohm (Z'' < 0 capacitive;
    z_real_ohm_cm2, z_imag_ohm_cm2 for a file that gives the impedance per area)."""
    spectra = _read_reporting(file, fmt, imag_sign, _parse_columns_option(columns_text))
    if sweep is not None:
        if not 0 <= sweep < len(spectra):
            raise click.BadParameter(f"the file has {len(spectra)} sweep(s): 0..{len(spectra) - 1}",
                                     param_hint="--sweep")
        spectra = [spectra[sweep]]
    unit = "ohm_cm2" if any(s.area_specific for s in spectra) else "ohm"  # one table: one unit
    if as_json:
        _print_json([{"sweep": s.meta.get("sweep", 0), "frequency_Hz": s.frequency.tolist(),
                      f"z_real_{unit}": s.z.real.tolist(), f"z_imag_{unit}": s.z.imag.tolist()} for s in spectra])
        return EXIT_OK
    _echo(f"sweep,frequency_Hz,z_real_{unit},z_imag_{unit}")
    for s in spectra:
        k = s.meta.get("sweep", 0)
        for f, z in zip(s.frequency, s.z):
            _echo(f"{k},{float(f)!r},{float(z.real)!r},{float(z.imag)!r}")
    return EXIT_OK


@_command("convert", """
eisfit convert cell.DTA run*.mpt --to csv --out converted/
eisfit convert cell.DTA --to json
""")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--to", "to", type=click.Choice(["csv", "json"]), required=True,
              help="Output format.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (created if needed; default: beside each input file).")
@click.option("--format", "fmt", type=_FORMAT, default=None,
              help="Force the input format (default: detect from content).")
@_TABLE_OPTIONS
@_JSON
def convert_command(files: tuple[str, ...], to: str, out_dir: str | None, fmt: str | None,
                    imag_sign: str | None, columns_text: str | None, as_json: bool) -> int:
    """Convert impedance files to CSV or JSON (frequency_Hz, z_real_ohm, z_imag_ohm,
    z_modulus_ohm, phase_deg, sweep + meta), one output file per input file."""
    from .errors import ReadError
    from .io.export import is_export, write_csv, write_json

    columns = _parse_columns_option(columns_text)
    if out_dir:
        _writable_folder(out_dir)
    writer = write_csv if to == "csv" else write_json
    failed, records = 0, []
    written: dict[Path, str] = {}  # output -> the input written there in this run
    for path in files:
        src = Path(path)
        folder = Path(out_dir) if out_dir else src.parent
        target = folder / f"{src.stem}.{to}"
        try:
            if target.resolve() == src.resolve():
                raise ReadError(src, f"output {target} would overwrite the input; use --out DIR")
            if target.resolve() in written:  # two inputs with one name (a.mpt, sub/a.mpt) in one --out
                raise ReadError(src, f"output {target} was just written from {written[target.resolve()]}; "
                                     "convert them into different --out folders")
            if target.exists() and not is_export(target):
                raise ReadError(src, f"output {target} exists and is not an eisfit export (your own data?); "
                                     "remove it or use --out DIR")
            spectra = _read_reporting(path, fmt, imag_sign, columns)
            folder.mkdir(parents=True, exist_ok=True)
            writer(spectra, target)
        except EisfitError as exc:
            _failed(exc)
            failed += 1
            continue
        except OSError as exc:
            _failed(exc, f"{target}: cannot write: {exc.strerror or exc}")
            failed += 1
            continue
        written[target.resolve()] = path
        records.append({"input": path, "output": str(target), "sweeps": len(spectra)})
        if not as_json:
            _echo(f"{path} -> {target} ({len(spectra)} sweep{'s' if len(spectra) != 1 else ''})")
    if as_json:
        _print_json(records)
    return EXIT_USAGE if failed else EXIT_OK


# ---- end section: readers ---------------------------------------------------

# ---- section: circuits ------------------------------------------------------
def _fitted_in_log_space(d) -> list[bool]:
    """Per parameter of the circuit definition ``d``: whether fits vary it in log space."""
    import numpy as np

    from .fitting.problem import log_scaled

    return log_scaled(d.circuit, np.array([d.bounds[n][0] for n in d.circuit.param_names], float)).tolist()


def _circuit_record(d) -> dict:
    """What ``eisfit circuits NAME`` shows, as a dict (bounds and units per parameter)."""
    c = d.circuit
    return {
        "name": d.name, "source": d.source, "path": str(d.path) if d.path else None,
        "description": d.description, "circuit": d.string, "roles": dict(d.roles),
        "derived": list(d.derived),
        "parameters": [{"name": n, "unit": d.units[n] or "", "lower": d.bounds[n][0],
                        "upper": d.bounds[n][1], "log_scale": bool(log), "description": desc}
                       for n, log, desc in zip(c.param_names, _fitted_in_log_space(d), c.param_descriptions)],
    }


@_command("circuits", """
eisfit circuits
eisfit circuits garnet-symmetric
eisfit circuits "R0-p(R1,CPE1)-Wo2" --json
""")
@click.argument("spec", required=False, metavar="[NAME|FILE|STRING]")
@_JSON
def circuits_command(spec: str | None, as_json: bool) -> int:
    """List the circuit library, or show one circuit's parameters.

    Without argument: every library circuit with its string, description and arc
    roles. With a library NAME, a .toml FILE or a circuit STRING: its parameters
    with units, default bounds and whether fits vary them in log space.
    """
    from .model import list_circuits, load_circuit

    if spec is None:
        library = list_circuits()
        if as_json:
            _print_json([_circuit_record(d) for d in library])
            return EXIT_OK
        for d in library:
            roles = ", ".join(f"{r}={role}" for r, role in d.roles.items()) or "-"
            _echo(f"{d.name:<20} {d.string}")
            _echo(f"{'':<20} {d.description}")
            _echo(f"{'':<20} arcs: {roles}")
        _echo("\nShow one: eisfit circuits NAME   (any NAME, .toml FILE or circuit STRING "
              "is accepted by --circuit)")
        return EXIT_OK
    d = load_circuit(spec)
    if as_json:
        _print_json(_circuit_record(d))
        return EXIT_OK
    origin = f"{d.source}" + (f" {d.path}" if d.source == "file" else "")
    _echo(f"name:        {d.name}  ({origin})")
    if d.description:
        _echo(f"description: {d.description}")
    _echo(f"circuit:     {d.string}")
    if d.roles:
        _echo("arcs:        " + ", ".join(
            f"{a.resistor}||{a.capacitive} {d.roles[a.resistor]}" for a in d.circuit.arcs + d.circuit.branch_arcs
            if a.resistor in d.roles))
    _echo(f"derived:     {', '.join(d.derived) or '-'}")
    if any(e.kind == "CPE" for e in d.circuit.elements):
        _echo("CPE:         Z = 1/(Q (j omega)^n), Q in S*s^n, 0 < n <= 1")
    _echo(f"\n{'parameter':<10} {'unit':<12} {'lower':>10} {'upper':>10}  {'log':<4} description")
    c = d.circuit
    for name, log, desc in zip(c.param_names, _fitted_in_log_space(d), c.param_descriptions):
        lo, hi = d.bounds[name]
        _echo(f"{name:<10} {d.units[name] or '-':<12} {lo:>10.4g} {hi:>10.4g}  "
              f"{'yes' if log else 'no':<4} {desc}")
    return EXIT_OK
# ---- end section: circuits --------------------------------------------------

# ---- section: fit -------------------------------------------------------------
@_command("fit", """
eisfit fit cell.mpr
eisfit fit cell.mpr --circuit garnet-symmetric-L --area-cm2 0.785 --thickness-cm 0.03
eisfit fit run*.csv --fmin 1 --fix CPE1_1=0.9 --out fits/ --plot
eisfit fit cell.mpr --json > cell_fit.json
""")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--circuit", default="garnet-symmetric", show_default=True, metavar="NAME|STRING|FILE|auto",
              help="Library name (eisfit circuits), circuit string or .toml file; 'auto': the circuit "
                   "'eisfit suggest' would choose.")
@click.option("--area-cm2", type=_POSITIVE, default=None, help="Electrode contact area, cm2 (enables ASR in ohm*cm2).")
@click.option("--thickness-cm", type=_POSITIVE, default=None, help="Electrolyte thickness, cm (with the area: sigma, S/cm).")
@click.option("--symmetric/--per-cell", default=True, show_default=True,
              help="Symmetric cell: interface ASR also per interface (R*A/2). --per-cell reports R*A only.")
@click.option("--weighting", type=click.Choice(["modulus", "modulus-calc", "proportional", "unit"]),
              default="modulus", show_default=True, help="Residual weighting.")
@click.option("--fmin", type=_POSITIVE, default=None, help="Lowest frequency fitted, Hz (> 0).")
@click.option("--fmax", type=_POSITIVE, default=None, help="Highest frequency fitted, Hz (> 0).")
@_EXCLUDE_HZ
@click.option("--fix", "fix", multiple=True, metavar="NAME=VALUE", help="Hold a parameter fixed (repeatable).")
@click.option("--initial", "initial", multiple=True, metavar="NAME=VALUE", help="Starting value (repeatable).")
@click.option("--engine", type=click.Choice(ENGINES), default="fast", show_default=True,
              help="Optimiser: batched analytic-Jacobian LM, or lmfit.minimize for the polish.")
@click.option("--guess", "guess_mode", type=click.Choice(GUESS_MODES), default="auto", show_default=True,
              help="Automatic guess: -Z'' apexes + multi-start grid, or also starts from DRT peaks.")
@click.option("--profile", "profile", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="Profile-likelihood errors for arc resistances: where the covariance error is suspect "
                   "(overlapping or collapsed arcs), for every arc resistance, or never.")
@_READER_OPTIONS
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON instead of the table.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Write <label>_fit.json, fits.csv (one row per spectrum), columns.md (the units of fits.csv's "
                   "columns) and, with --plot, figures.")
@click.option("--plot", is_flag=True,
              help="A figure per spectrum (Nyquist, Bode, residuals; PNG and SVG) in --out (required).")
@click.option("--nyquist-asr", is_flag=True,
              help="With --plot and --area-cm2: the figures' impedances in ohm*cm2 (Z x area, per cell).")
@click.option("--jobs", default="auto", show_default=True, metavar="auto|N",
              help="Fitting processes on this machine: N, or auto: one per core, at most 8, where the spectra "
                   "gain from them (--circuit auto: 2 spectra or more, 4 where workers are spawned, not forked; "
                   "a given circuit: 250, or 1,000), else one. The results are the same.")
def fit_command(files, circuit, area_cm2, thickness_cm, symmetric, weighting, fmin, fmax, exclude_hz, fix, initial,
                engine, guess_mode, profile, fmt, imag_sign, columns_text, as_json, out_dir, plot, nyquist_asr,
                jobs) -> int:
    """Fit a circuit to every spectrum of FILE(s); no initial guess needed.

    Prints parameters with standard errors and units, chi-square, derived quantities
    (ASR per cell and per interface, C_eff, apex frequencies, conductivity) and flags.
    Every option is checked before the first fit. Exit status 1 when some spectra
    could not be read or fitted and others were.
    """
    from .api import fit_each
    from .settings import FitSettings, check_fit_options, check_parameter_names

    if plot and not out_dir:
        raise click.UsageError("--plot writes figures into the --out folder: give --out DIR")
    if nyquist_asr and not (plot and area_cm2):
        raise click.UsageError("--nyquist-asr draws the --plot figures in ohm*cm2: give --plot and --area-cm2")
    settings = FitSettings(circuit=circuit, area_cm2=area_cm2, thickness_cm=thickness_cm, symmetric=symmetric,
                           weighting=weighting, fmin_Hz=fmin, fmax_Hz=fmax, exclude_Hz=exclude_hz)
    options = {"fixed": _name_values(fix, "--fix") or None, "initial": _name_values(initial, "--initial") or None,
               "engine": engine, "guess": guess_mode, "profile": _PROFILE_CHOICE[profile]}
    if settings.circuit == "auto" and (fix or initial):
        raise click.UsageError("--fix and --initial name the parameters of one circuit; they cannot be combined "
                               "with --circuit auto (run eisfit suggest, then fit that circuit by name)")
    options = check_fit_options(options, caller="fit")
    check_parameter_names(settings.circuit, options)
    jobs = _auto_or_count(jobs, "--jobs")
    out = _writable_folder(out_dir) if out_dir else None
    _detail(f"settings: {settings.fit_kwargs()}, {options}, jobs {jobs}")
    results, failed = [], _Failures()
    spectra = (s for _, s in _each_spectrum(files, fmt, failed, imag_sign, columns_text))
    for s, res in fit_each(spectra, **settings.fit_kwargs(), **options, jobs=jobs, on_done=_fit_time):
        if isinstance(res, EisfitError):
            _failed(res, _labelled(s.label, res))
            failed.count += 1
            continue
        res = res.with_kk_valid_band()
        results.append(res)
        if not as_json:
            _echo(res.summary())
            band = res.kk_valid_band
            if band is not None:
                _echo(f"  Kramers-Kronig band: {_band_text(band['description'], band['fit_options'])}")
            _echo("")
    if settings.circuit == "auto":
        from .selection import differing_circuits_note

        note = differing_circuits_note(results)
        if note:
            _warn(note)
    if as_json:
        _print_json([r.to_dict() for r in results])
    if out is not None and results:
        failed.count += _write_fit_outputs(results, out, plot, area_cm2 if nyquist_asr else None)
    return _exit_code(len(results), failed.count)


_PROFILE_CHOICE = {"auto": "auto", "on": True, "off": False}


def _fit_time(spectra: list, outcomes: list, seconds: float) -> None:
    """-v: the wall time, s, of one task of ``eisfit fit`` where it ran (this process or a
    worker): ``cp1: fitted in 1.234 s``, or for a batch fitted together ``cp0 ... cp63: 64
    spectra fitted in 0.412 s``; a spectrum whose fit failed has its error line instead."""
    if len(spectra) > 1:
        _detail(f"{spectra[0].label} ... {spectra[-1].label}: {len(spectra)} spectra fitted in {seconds:.3f} s")
    elif not isinstance(outcomes[0], EisfitError):
        _detail(f"{spectra[0].label}: fitted in {seconds:.3f} s")


@dataclass
class _Failures:
    """How many files or spectra failed (shared by a command and :func:`_each_spectrum`)."""

    count: int = 0


def _each_spectrum(files, fmt: str | None, failed: _Failures, imag_sign: str | None = None,
                   columns_text: str | None = None):
    """(path, spectrum) for every sweep of every file (read with ``--format``, ``--imag-sign``,
    ``--columns``); a file that cannot be read is reported (one ``eisfit: error:`` line) and
    counted in ``failed``. Spectra of inputs with the same file name are labelled apart
    (:func:`_distinct_names`): their output files (``<label>_fit.json``, ``_kk.png``,
    ``_drt.csv``...) never overwrite each other."""
    columns = _parse_columns_option(columns_text)
    for path, name in zip(files, _distinct_names(files)):
        try:
            spectra = _read_reporting(path, fmt, imag_sign, columns)
        except EisfitError as exc:
            _failed(exc)
            failed.count += 1
            continue
        for s in spectra:
            yield path, _relabelled(s, name)


def _labelled(label: str, exc: Exception) -> str:
    """The message of ``exc`` preceded by the spectrum label (unless it already starts so)."""
    text = str(exc)
    return text if text.startswith(f"{label}:") else f"{label}: {text}"


# ---- section: suggest (issue 16) ------------------------------------------------
@_command("suggest", """
eisfit suggest cell.mpt
eisfit suggest runs/*.csv --candidates "R0-p(R1,CPE1);R0-p(R1,CPE1)-p(R2,CPE2)"
eisfit suggest cell.mpt --library --json
""")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--candidates", "candidates", multiple=True, metavar="CIRCUIT[;CIRCUIT...]",
              help="Circuits to compare (library names or strings), ';'-separated or repeated; "
                   "include 'auto' to add the automatic candidates. Default: automatic "
                   "(from the DRT peaks, an inductive tail and the low-frequency behaviour).")
@click.option("--criterion", type=click.Choice(["bic", "aic"]), default="bic", show_default=True,
              help="Information criterion that ranks the adequate candidates.")
@click.option("--library", is_flag=True, help="Also fit every circuit of the library (eisfit circuits).")
@click.option("--area-cm2", type=_POSITIVE, default=None,
              help="Electrode area, cm2 (role names from the capacitance per area).")
@click.option("--weighting", type=click.Choice(["modulus", "modulus-calc", "proportional", "unit"]),
              default="modulus", show_default=True, help="Residual weighting of the candidate fits.")
@click.option("--fmin", type=_POSITIVE, default=None, help="Lowest frequency fitted, Hz (> 0).")
@click.option("--fmax", type=_POSITIVE, default=None, help="Highest frequency fitted, Hz (> 0).")
@_EXCLUDE_HZ
@click.option("--format", "fmt", type=_FORMAT, default=None,
              help="Force the file format (default: detect from content).")
@_TABLE_OPTIONS
@_JSON
@click.option("--jobs", default="auto", show_default=True, metavar="auto|N",
              help="Processes on this machine: N, or auto: one per core, at most 8, for 2 spectra or more "
                   "(4 where workers are spawned, not forked), else one. The suggestions are the same.")
def suggest_command(files, candidates, criterion, library, area_cm2, weighting, fmin, fmax, exclude_hz, fmt,
                    imag_sign, columns_text, as_json, jobs) -> int:
    """Which circuit? Rank candidate circuits for every spectrum of FILE(s).

    Prints, per spectrum, the candidates ranked (parameters, chi-square, reduced
    chi-square, AIC, BIC, residuals over the Lin-KK noise level, unresolved parameters,
    verdict) and a few sentences on why the best was chosen and what was rejected.
    Exit status 1 when some spectra could not be read or suggested and others were.
    """
    from .api import suggest_each
    from .selection import candidate_list

    listed = candidate_list(list(candidates)) if candidates else None
    jobs = _auto_or_count(jobs, "--jobs")
    failed, done, records = _Failures(), 0, []
    spectra = (s for _, s in _each_spectrum(files, fmt, failed, imag_sign, columns_text))
    for s, sug in suggest_each(spectra, listed, jobs=jobs, criterion=criterion, library=library, area_cm2=area_cm2,
                               weighting=weighting, fmin=fmin, fmax=fmax,
                               **({"exclude_hz": exclude_hz} if exclude_hz else {})):
        if isinstance(sug, EisfitError):
            _failed(sug, _labelled(s.label, sug))
            failed.count += 1
            continue
        done += 1
        records.append(sug.to_dict())
        if not as_json:
            _echo(_suggestion_text(sug))
    if as_json:
        _print_json(records)
    return _exit_code(done, failed.count)


def _suggestion_text(sug) -> str:
    """The ranked table and the explanation of one suggestion, for the terminal."""
    import textwrap

    from .selection import verdict_text

    verdict = sug.headline()
    best_row = sug.table.iloc[0]
    # a least bad circuit with parameters the data leave open says so in the headline too
    open_ = f" (unresolved: {best_row['unresolved']})" if not sug.adequate and best_row["unresolved"] else ""
    lines = [f"== {sug.label or 'spectrum'}: {verdict} {sug.best}{open_}  ({sug.seconds:.2f} s, "
             f"{sug.weighting} weighting)"]
    width = max(len(c) for c in sug.table["circuit"])
    lines.append(f"{'circuit':<{width}}  {'M':>2} {'chisq':>10} {'redchi':>10} {'AIC':>9} {'BIC':>9} "
                 f"{'resid/noise':>11}  verdict")
    for _, r in sug.table.iterrows():
        lines.append(f"{r['circuit']:<{width}}  {int(r['n_params']):>2} {r['chisq']:>10.4g} "
                     f"{r['redchi']:>10.4g} {r['aic']:>9.1f} {r['bic']:>9.1f} "
                     f"{r['lack_of_fit_ratio']:>11.2f}  {verdict_text(r)}")
    lines.append(textwrap.fill(sug.explain(), width=100))
    return "\n".join(lines) + "\n"


# ---- end section: suggest ----------------------------------------------------------


def _name_values(items, option: str) -> dict[str, float]:
    """``NAME=VALUE`` options as a dict; a non-number or non-finite value is a usage error."""

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint=option)
        try:
            number = float(value)
        except ValueError:
            raise click.BadParameter(f"expected NAME=VALUE with a number, got {item!r}", param_hint=option) from None
        if not math.isfinite(number):
            raise click.BadParameter(f"the value must be a finite number, got {item!r}", param_hint=option)
        if name.strip() in out:
            raise click.BadParameter(f"{name.strip()} is given twice ({out[name.strip()]:g} and {number:g})",
                                     param_hint=option)
        out[name.strip()] = number
    return out


def _fit_row(r) -> dict:
    """One row of fits.csv: identity, parameters with _stderr, derived quantities, statistics
    (chi-square, reduced, pseudo, AIC, BIC: those columns.md describes),
    the Lin-KK verdict and valid band (``kk_valid_*``, as summary.csv's), flags."""
    from .fitting.kk_band import kk_band_columns_of

    row = {"label": r.label, "file": r.source, "sweep": r.sweep, "circuit": r.circuit, **r.table_row()}
    row.update({"chisq": r.chisq, "redchi": r.redchi, "pseudo_chisq": r.pseudo_chisq, "aic": r.aic, "bic": r.bic,
                "kk_passed": r.kk_passed,
                **kk_band_columns_of(r.kk_valid_band), "flags": ";".join(r.flags)})
    return row


def _series_c_text(capacitance_F: float | None) -> str:
    """The DRT line's series capacitance: its value, "none" where its 1/C came out 0 (inf),
    nothing where the model had none."""
    if not capacitance_F:
        return ""
    if not math.isfinite(capacitance_F):
        return ", series C none (its 1/C came out 0)"
    return f", series C {format_value(capacitance_F, None, 'F')}"


def _write_csv_rows(rows: list[dict], path: Path) -> None:
    """A CSV of dict rows (columns in first-seen order; an empty cell for a missing value,
    None or nan: an unresolved parameter, a stderr that is unknown, as summary.csv)."""
    import csv

    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    with atomic_text_file(path) as fh:  # no cut-off file on a full disk
        writer = csv.DictWriter(fh, fieldnames=list(columns), restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None or (isinstance(v, float) and math.isnan(v)) else v)
                             for k, v in row.items()})


def _write_text(path: Path, text: str) -> None:
    """``text`` into ``path``, written beside it and renamed into place (no cut-off file)."""
    with atomic_text_file(path) as fh:
        fh.write(text)


def _write_fit_outputs(results, out: Path, plot: bool, plot_area_cm2: float | None = None) -> int:
    """<label>_fit.json per fit, fits.csv and, with ``plot``, <label>_fit.png (impedances in
    ohm*cm2 with ``plot_area_cm2``, cm2); returns 1 when writing failed (fits.csv then goes to
    a temporary folder named in the message)."""
    rows = [_fit_row(r) for r in results]
    try:
        for r in results:
            name = _safe_name(r.label or "spectrum")
            _write_text(out / f"{name}_fit.json", r.to_json())
            if plot:
                _agg()
                from .plotting import plot_fit, save_figure

                save_figure(plot_fit(r, area_cm2=plot_area_cm2), out / f"{name}_fit")
        _write_csv_rows(rows, out / "fits.csv")
        _write_text(out / "columns.md", _fits_columns_text(results))
    except OSError as exc:
        fallback = _written_elsewhere("eisfit-fit-", "fits.csv", lambda path: _write_csv_rows(rows, path))
        where = f"written to {fallback} instead" if fallback else "not saved either"
        _error(f"cannot write to {out}: {_written(exc, out)}{exc.strerror or exc}; the table of {len(rows)} fit(s) was "
               f"{where}")
        return 1
    _note(f"wrote {len(results)} fit(s) to {out}")
    return 0


def _fits_columns_text(results) -> str:
    """columns.md beside fits.csv: the units of its columns whose names carry none."""
    from .fitting.report import columns_lines

    return "\n".join(columns_lines(list(results), "fits.csv")).lstrip("\n") + "\n"


def _written_elsewhere(prefix: str, name: str, write) -> Path | None:
    """The table an output folder could not take, written by ``write(path)`` (atomically: no
    cut-off file) as ``name`` in a new folder of the system's temporary directory; its path, or
    None when that fails too (the folder then removed: a campaign under a file-size limit had
    left its table there cut off mid-row, unmentioned)."""
    import shutil
    import tempfile

    try:
        folder = Path(tempfile.mkdtemp(prefix=prefix))
    except OSError:
        return None
    try:
        write(folder / name)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return folder / name


# ---- end section: fit ---------------------------------------------------------

# ---- section: validate (Kramers-Kronig) --------------------------------------
def _write_frame(frame, path: Path) -> None:
    with atomic_text_file(path) as fh:
        frame.to_csv(fh, index=False)


def _write_outputs(label: str, outputs) -> int:
    """Write each (path, writer) of one spectrum; a file that cannot be written is named in one
    error line and the command goes on with the next spectrum (exit status 1 at the end, as
    CLI.md says for an output that fails after the work); returns 1 if any failed, else 0."""
    for path, write in outputs:
        try:
            write(path)
        except OSError as exc:  # named as asked for, not as the temporary file an atomic write was filling
            _failed(exc, f"{label}: cannot write {path}: {exc.strerror or exc}")
            return 1
    return 0


def _save_figure(ax, stem) -> None:
    from .plotting import save_figure

    save_figure(ax.figure, stem)


@_command("validate", """
eisfit validate cell.mpr
eisfit validate runs/*.txt --out kk/ --threshold-pct 0.5
eisfit validate cell.mpr --json
eisfit validate cell.mpr --exclude-hz 50 --fmin 0.1
""")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--threshold-pct", type=_POSITIVE, default=1.0, show_default=True,
              help="Residuals up to this (% of |Z|, every point) pass whatever their pattern.")
@click.option("--violation-pct", type=_POSITIVE, default=2.0, show_default=True,
              help="Residuals above this (% of |Z|) fail; in between, only random ones pass.")
@click.option("--c", "c", type=_FiniteFloatRange(min=0, max=1, min_open=True), default=0.85, show_default=True,
              help="mu threshold of the Lin-KK element count (0 < c <= 1).")
@click.option("--no-inductance", is_flag=True, help="Do not fit a series inductance.")
@click.option("--fmin", type=_POSITIVE, default=None, help="Lowest frequency tested, Hz (> 0).")
@click.option("--fmax", type=_POSITIVE, default=None, help="Highest frequency tested, Hz (> 0).")
@_EXCLUDE_HZ
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for one residual plot per spectrum (<label>_kk.png).")
@click.option("--format", "fmt", type=_FORMAT, default=None, help="Force the file format.")
@_TABLE_OPTIONS
@_JSON
def validate_command(files, threshold_pct, violation_pct, c, no_inductance, fmin, fmax, exclude_hz, out_dir, fmt,
                     imag_sign, columns_text, as_json) -> int:
    """Lin-KK (Kramers-Kronig) test of every spectrum of FILE...

    Prints per spectrum mu, the number M of RC elements, the largest residual
    (% of |Z|), the noise SD (% of |Z|), the largest residual in those SDs, the status (valid,
    noisy, drift, too-noisy, violation) and pass/FAIL, a line naming
    isolated outliers (single points that deviate alone) where there are any, one counting
    the points whose instrument-reported noise-to-signal ratio (BioLogic NSR) is 100 % or
    more, and for a spectrum that fails, the band of frequencies on which it passes (cut
    from either end).
    --fmin, --fmax and --exclude-hz test the points a fit with the same options uses.
    Exit status 1 when any spectrum fails or cannot be read (2 when none could be tested).
    """
    from .analysis.kk import kk_test, kk_valid_band
    from .analysis.quality import instrument_noisy_points, modulus_phase_reading

    _check_window(fmin, fmax)
    if threshold_pct > violation_pct:
        raise click.BadParameter(f"--threshold-pct ({threshold_pct:g} %) must not exceed --violation-pct "
                                 f"({violation_pct:g} %): residuals between them are judged by their randomness",
                                 param_hint="--threshold-pct")
    out = _writable_folder(out_dir) if out_dir else None
    if out:
        _agg()
    failed, done, records, unwritten = _Failures(), 0, [], 0
    for path, s in _each_spectrum(files, fmt, failed, imag_sign, columns_text):
        options = dict(c=c, inductance=not no_inductance, threshold_pct=threshold_pct, violation_pct=violation_pct)
        try:
            s = s.restrict(fmin, fmax, exclude_hz)
            res = kk_test(s, **options)
            unjudged = res.status == "too-noisy" or res.noise_dominated  # no band sought, as eisfit fit
            band = None if res.passed or unjudged else kk_valid_band(s, **options)
        except EisfitError as exc:
            _failed(exc, _labelled(s.label, exc))
            failed.count += 1
            continue
        done += 1
        failed.count += not res.passed
        noisy = instrument_noisy_points(s.columns)
        records.append({"label": s.label, "file": path, "mu": res.mu, "n_rc": res.n_rc,
                        "max_residual_pct": res.max_residual_pct,
                        "noise_estimate_pct": res.noise_estimate_pct, "residual_sd_pct": res.residual_sd_pct,
                        "noise_sd_pct": res.noise_sd_pct, "max_residual_sds": res.max_residual_sds,
                        "status": res.status,
                        "passed": bool(res.passed), "passed_by_threshold_only": res.passed_by_threshold_only,
                        "noise_dominated": res.noise_dominated,
                        "outliers_Hz": list(res.outliers_Hz),
                        "low_end_extension_decades": res.low_end_extension_decades,
                        "noisy_points": noisy, "valid_band": None if band is None else band.as_dict()})
        if not as_json:
            if done == 1:  # the header over the first row: none over errors only
                _echo(f"{'spectrum':40s} {'mu':>6s} {'M':>3s} {'max %|Z|':>8s} {'SD %|Z|':>8s} "
                      f"{'max/SD':>6s}  {'status':9s} result")
            _echo(f"{s.label:40s} {res.mu:6.3f} {res.n_rc:3d} {res.max_residual_pct:8.3f} "
                  f"{res.noise_sd_pct:8.3g} {res.max_residual_sds:6.1f}  {res.status:9s} "
                  f"{'FAIL' if not res.passed else 'pass (mu<=0)' if res.mu <= 0 else 'pass'}")
            if res.passed_by_threshold_only:
                _echo(f"{'':40s} passes by the {res.threshold_pct:g} % threshold only: the residuals are "
                      f"systematic, the largest {res.max_residual_sds:.0f} noise SDs out (a drift, or the "
                      f"instrument's own error, below the threshold)")
            if res.noise_dominated:
                _echo(f"{'':40s} the points are noise: they scatter by {res.noise_sd_pct:.0f} % of |Z| from one "
                      f"to the next (an open lead, a cell not connected); nothing fitted to them describes a cell")
            if res.low_end_extension_decades:
                _echo(f"{'':40s} time constants to {res.low_end_extension_decades:g} decades beyond "
                      f"1/(2 pi f_min): a relaxation peaks just below the lowest frequency")
            if res.outliers_Hz:
                _echo(f"{'':40s} isolated outlier(s) at "
                      + ", ".join(format_frequency(f) for f in res.outliers_Hz))
            if noisy:
                _echo(f"{'':40s} {noisy} point(s) with an instrument noise-to-signal ratio of 100 % or more "
                      f"(NSR): mostly noise")
            if not res.passed:
                _echo(f"{'':40s} " + (_validate_band_text(band) if not unjudged else
                                      "too noisy for the test to judge: no band is sought (a band of such "
                                      "points would keep whatever part scatters least)"))
                other = modulus_phase_reading(s)
                if other is not None:
                    reading, option = s.meta["columns_alternative"].split("; ")
                    _echo(f"{'':40s} read as {reading}, the data pass (max {other.max_residual_pct:.2g} %): "
                          f"the file most probably holds |Z| and phase; read it with {option}")
        if out:
            from .plotting import plot_kk_residuals

            unwritten += _write_outputs(s.label, [
                (out / f"{_safe_name(s.label)}_kk", lambda p: _save_figure(plot_kk_residuals(res), p))])
    if as_json:
        _print_json(records)
    return max(_exit_code(done, failed.count), EXIT_PARTIAL if unwritten else EXIT_OK)


def _check_window(fmin: float | None, fmax: float | None) -> None:
    if fmin is not None and fmax is not None and not fmin < fmax:
        raise click.BadParameter(f"--fmin ({fmin:g} Hz) must be below --fmax ({fmax:g} Hz)", param_hint="--fmin")


def _band_text(description: str, fit_options: dict) -> str:
    """Where a spectrum that fails the Lin-KK test passes it (``KKBand.describe()``, or that
    no band does: no options) and the fit options that use only those points."""
    if not fit_options:
        return description
    options = " ".join(_band_option(k, v) for k, v in fit_options.items())
    return f"{description}: fit there with {options}"


def _validate_band_text(band) -> str:
    """:func:`_band_text` of a ``KKBand`` (None: no band passes)."""
    from .fitting.kk_band import BAND_OPTION_DIGITS, NO_BAND

    if band is None:
        return NO_BAND
    return _band_text(band.describe(), band.fit_options(digits=BAND_OPTION_DIGITS))


def _band_option(key: str, value) -> str:
    """One command-line option of a band's fit options."""
    if key == "exclude_hz":
        return " ".join(f"--exclude-hz {plain_number(f)}" for f in value)
    return f"--{key} {plain_number(value)}"


# ---- end section: validate ----------------------------------------------------

# ---- section: drt --------------------------------------------------------------
def _lambda_value(text: str):
    """--lambda: 'auto' or a finite number > 0 (usage error otherwise, before any file is read)."""
    try:
        value = text if text == "auto" else float(text)
    except ValueError:
        raise click.BadParameter(f"expected 'auto' or a number, got {text!r}", param_hint="--lambda") from None
    if value != "auto" and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"must be 'auto' or a finite number > 0, got {text!r}", param_hint="--lambda")
    return value


_INDUCTANCE_CHOICES = {"auto": "auto", "yes": True, "no": False}


def _drt_record(res, path) -> dict:
    """The --json record of one DRT: :meth:`DRTResult.to_dict` (every scalar, the warnings, the
    KK outcome, peaks and peaks_outside, the distribution) with the file it came from."""
    return {"file": str(path), **res.to_dict()}


def _inductance_text(res) -> str:
    """', L 86.3 ± 69 nH' (value ± standard deviation, H with an SI prefix); '' without L."""
    if not res.inductance_H:
        return ""
    return f", L {format_value(res.inductance_H, res.inductance_sd_H, 'H')}"


@_command("drt", """
eisfit drt cell.csv
eisfit drt runs/*.txt --out drt --circuit garnet-symmetric
eisfit drt cell.csv --lambda 1e-2 --json
eisfit drt cell.csv --exclude-hz 50 --fmin 0.1
""")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--lambda", "lam", default="auto", show_default=True, metavar="auto|VALUE",
              help="Regularisation strength (dimensionless, finite, > 0) or 'auto' (GCV + discrepancy).")
@click.option("--inductance", type=click.Choice(list(_INDUCTANCE_CHOICES)), default="auto", show_default=True,
              help="Series inductance L: 'auto' (kept when an F-test on the nearly unregularised fit requires it), "
                   "'yes' (always fitted, >= 0) or 'no' (never).")
@click.option("--weighting", type=click.Choice(["modulus", "proportional", "unit"]), default="modulus",
              show_default=True, help="Residual scales: |Z| (modulus), |Z'| and |Z''| (proportional) or 1 ohm (unit).")
@click.option("--circuit", default=None, metavar="NAME|STRING|FILE",
              help="Also fit this circuit and overlay its DRT in the figure (needs --out).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for <label>_drt.csv, <label>_peaks.csv, <label>_drt.json (the --json record) and "
                   "<label>_drt.png/.svg.")
@click.option("--format", "fmt", type=_FORMAT, default=None, help="Force the file format.")
@_TABLE_OPTIONS
@click.option("--area-cm2", type=_POSITIVE, default=None,
              help="Electrode area, cm2: divides data that a file gives per area (ohm*cm2) to ohm.")
@click.option("--fmin", type=_POSITIVE, default=None, help="Lowest frequency analysed, Hz (> 0).")
@click.option("--fmax", type=_POSITIVE, default=None, help="Highest frequency analysed, Hz (> 0).")
@_EXCLUDE_HZ
@_JSON
def drt_command(files, lam, inductance, weighting, circuit, out_dir, fmt, imag_sign, columns_text, area_cm2, fmin, fmax, exclude_hz,
                as_json) -> int:
    """Distribution of relaxation times of every spectrum of FILE...

    Prints R_inf, R_pol, L (with its standard deviation), lambda and its rule, then the peaks
    (tau_s, f_Hz, R_ohm, R_process_ohm, resolved, closed, determined) per spectrum; --json prints the whole
    result (warnings, Kramers-Kronig status, peaks_outside, the distribution). --fmin, --fmax
    and --exclude-hz analyse the points a fit with the same options uses. Exit status 1 when
    some spectra could not be read or analysed and others were.
    """
    from .analysis.drt import R_POL_OPEN_SHARE, drt

    _check_window(fmin, fmax)
    lambda_ = _lambda_value(lam)
    if circuit is not None:
        if not out_dir:
            raise click.UsageError("--circuit overlays the fitted DRT in the figures of --out: give --out DIR")
        from .model import load_circuit

        load_circuit(circuit)
    out = _writable_folder(out_dir) if out_dir else None
    if out:
        _agg()
    failed, done, records, unwritten = _Failures(), 0, [], 0
    in_ohm_already: list[str] = []  # spectra in ohm that --area-cm2 leaves as they are
    for path, s in _each_spectrum(files, fmt, failed, imag_sign, columns_text):
        if area_cm2 is not None:
            if not s.area_specific:
                in_ohm_already.append(s.label)
            s = s.in_ohm(area_cm2)
        try:
            s = s.restrict(fmin, fmax, exclude_hz)
            res = drt(s, lambda_=lambda_, inductance=_INDUCTANCE_CHOICES[inductance], weighting=weighting)
        except EisfitError as exc:
            _failed(exc, _labelled(s.label, exc))
            failed.count += 1
            continue
        done += 1
        records.append(_drt_record(res, path))
        if not as_json:
            open_share = res.r_pol_open_share
            _echo(f"{s.label}: R_inf {res.r_inf_ohm:.4g} ohm"
                  + ("" if res.r_inf_determined else " (undetermined: see the warning)")
                  + f", R_pol {res.r_pol_ohm:.4g} ohm"
                  + (f" (undetermined: {100 * open_share:.0f} % in open peaks)"
                     if open_share > R_POL_OPEN_SHARE else "")
                  + _inductance_text(res)
                  + _series_c_text(res.capacitance_F)
                  + f", lambda {res.lambda_:.3g} ({res.lambda_rule})")
            _echo_peak_rows(res.peaks)
        if out:
            from .plotting import plot_drt

            stem = _safe_name(s.label)
            fit = _fit_for_overlay(s, circuit) if circuit else None
            unwritten += _write_outputs(s.label, [
                (out / f"{stem}_drt.csv", lambda p: _write_frame(res.to_dataframe(), p)),
                (out / f"{stem}_peaks.csv", lambda p: _write_frame(res.peaks, p)),
                (out / f"{stem}_drt.json",
                 lambda p: _write_text(p, json.dumps(to_jsonable(records[-1]), indent=1) + "\n")),
                (out / f"{stem}_drt", lambda p: _save_figure(plot_drt(res, fit=fit), p))])
    if in_ohm_already:
        n = len(in_ohm_already)
        _warn(f"--area-cm2 changed nothing for {n} {'spectrum' if n == 1 else 'spectra'} given in ohm "
              f"({in_ohm_already[0]}{', ...' if len(in_ohm_already) > 1 else ''}): the DRT is in ohm; the area only "
              "converts data a file gives per area (ohm*cm2)")
    if as_json:
        _print_json(records)
    return max(_exit_code(done, failed.count), EXIT_PARTIAL if unwritten else EXIT_OK)


def _echo_peak_rows(peaks) -> None:
    """The peak table of a DRT as printed by ``eisfit drt``: '-' for an empty R_process_ohm,
    yes/no for the flags (``determined``: the data determine that row's R_process_ohm)."""
    _echo(f"  {'tau_s':>11s} {'f_Hz':>11s} {'R_ohm':>10s} {'R_process_ohm':>13s}  resolved  closed  determined")
    yes_no = {True: "yes", False: "no"}
    for _, pk in peaks.iterrows():
        process = f"{pk['R_process_ohm']:.4g}" if math.isfinite(pk["R_process_ohm"]) else "-"
        _echo(f"  {pk['tau_s']:11.4g} {pk['f_Hz']:11.4g} {pk['R_ohm']:10.4g} {process:>13s}  "
              f"{yes_no[bool(pk['resolved'])]:8s}  {yes_no[bool(pk['closed'])]:6s}  {yes_no[bool(pk['determined'])]}")


def _fit_for_overlay(spectrum, circuit: str):
    """eisfit.fit(spectrum, circuit=...) for the DRT overlay; None (with a warning) when it fails."""
    from . import fit as fit_spectrum

    try:
        return fit_spectrum(spectrum, circuit=circuit)
    except EisfitError as exc:
        _warn(f"{spectrum.label}: circuit overlay unavailable ({exc})")
        return None


# ---- end section: drt ----------------------------------------------------------

# ---- section: campaign --------------------------------------------------------
_CAMPAIGN_OUT_DEFAULT = "eisfit-campaign"


@_command("campaign", """
eisfit campaign sample_data/garnet_campaign/campaign.toml --out results/
eisfit campaign "data/*.mpr" --circuit garnet-symmetric-L --area-cm2 0.785 --jobs 2
eisfit campaign data/ --scheduler tcp://127.0.0.1:8786 --out results/
eisfit campaign campaign.toml --out results/ --json > results.json
eisfit campaign exports/ --imag-sign positive --columns frequency=0,real=1,imag=2
""")
@click.argument("source", metavar="SOURCE")
@click.option("--circuit", default=None, metavar="NAME|FILE|STRING|auto",
              help="Circuit (overrides the campaign file's [defaults]; a row's own circuit wins; "
                   "built-in default garnet-symmetric); 'auto': one circuit for every checkpoint, "
                   "chosen by the BIC summed over them.")
@click.option("--area-cm2", type=_POSITIVE, default=None, help="Electrode contact area, cm2 (enables ASR).")
@click.option("--thickness-cm", type=_POSITIVE, default=None, help="Electrolyte thickness, cm (enables sigma).")
@click.option("--symmetric/--per-cell", "symmetric", default=None,
              help="Symmetric cell: also report ASR per interface (= per cell / 2). Default: symmetric.")
@click.option("--weighting", type=click.Choice(["modulus", "modulus-calc", "proportional", "unit"]), default=None,
              help="Residual weighting (default: [defaults], else modulus).")
@click.option("--fmin", type=_POSITIVE, default=None, help="Lowest frequency fitted, Hz (> 0).")
@click.option("--fmax", type=_POSITIVE, default=None, help="Highest frequency fitted, Hz (> 0).")
@_EXCLUDE_HZ
@_READER_OPTIONS
@click.option("--jobs", default="auto", show_default=True, metavar="auto|N",
              help="Fitting processes on this machine (with 64 or more data files they also read them): "
                   "N, or auto: one per core, at most 8, for a campaign large enough to gain from them "
                   "(250 checkpoints or files; 1,000 where workers are spawned, not forked), else one.")
@click.option("--starts", default="auto", show_default=True, metavar="auto|N",
              help="Starts of each checkpoint's cold fit: auto (adaptive: a quick round, more starts "
                   "where the fit looks poor) or N (no escalation; the seeded fit from the previous "
                   "checkpoint still runs where its seed fits the data better than the quick starts).")
@click.option("--profile", "profile", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="Profile-likelihood errors for arc resistances (as in 'eisfit fit').")
@click.option("--fix", "fix", multiple=True, metavar="NAME=VALUE",
              help="Hold a parameter fixed in every checkpoint (repeatable; as in 'eisfit fit').")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler address (tcp://host:8786): fit on its workers.")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help=f"Output folder (summary.csv, report.md, figures, cache). Default: ./{_CAMPAIGN_OUT_DEFAULT}, "
                   "named in the output; nothing is written when no checkpoint could be fitted.")
@click.option("--no-cache", is_flag=True, help="Refit everything; do not read or write the cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Cache folder (default: OUT/.eisfit-cache).")
@click.option("--nyquist-asr", is_flag=True, help="Nyquist overlay in ohm*cm2 (Z x area, per cell).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option("--drt", "drt_", is_flag=True,
              help="DRT of every checkpoint, peaks tracked across checkpoints: drt_* columns, "
                   "drt_map/drt_stack figures, drt_peaks.csv, DRT section in report.md.")
@click.option("--kk-band", "kk_band", is_flag=True,
              help="For each checkpoint that fails the Lin-KK test, the band of frequencies where it "
                   "passes: kk_valid_* columns and a report section with the campaign-file fmin/fmax/"
                   "exclude_hz that fit only those points (nothing is refitted).")
@_JSON
# ---- series analysis options (eisfit.series, Arrhenius) ----
@click.option("--shared", default=None, metavar="P1,P2,...",
              help="Joint fit: these parameters take one value for the whole campaign (e.g. R1,CPE1_0,CPE1_1).")
@click.option("--smooth", default=None, metavar="auto|LAMBDA",
              help="Joint fit with a smoothness penalty across checkpoints: 'auto' (GCV) or a number >= 0.")
@click.option("--arrhenius-law", "arrhenius_law", default=None, metavar="R1,R2,...",
              help="Joint fit: these resistances follow an Arrhenius law across the checkpoints "
                   "(needs their temperatures; Ea in the report).")
@click.option("--arrhenius", "arrhenius_", is_flag=True,
              help="Arrhenius fit of each conductivity and interface ASR vs temperature: arrhenius.csv, "
                   "arrhenius.png/svg, report section.")
# ---- end series analysis options ----
def campaign_command(source: str, circuit, area_cm2, thickness_cm, symmetric, weighting, fmin, fmax, exclude_hz,
                     fmt: str | None, imag_sign: str | None, columns_text: str | None,
                     jobs: str | int, starts: str, profile: str, fix: tuple[str, ...], scheduler: str | None,
                     out: str | None, no_cache: bool,
                     cache_dir, nyquist_asr: bool, progress, shared, smooth, arrhenius_law, arrhenius_,
                     drt_: bool = False, kk_band: bool = False, as_json: bool = False) -> int:
    """Fit every checkpoint of a campaign: SOURCE is a folder, a glob, a campaign file
    (.toml / .csv) or a data file. Writes OUT/summary.csv, report.md and figures, and
    prints the evolution of each resistance.

    Settings precedence: campaign-file row > command-line option > campaign-file
    [defaults] > built-in; so too for --format, --imag-sign and --columns, which read
    every data file (a campaign file's format, imag_sign and columns). Every option and
    the campaign file are checked before the first fit. Exit status 0 when every
    checkpoint was fitted, 1 when some were not, 2 when none could be (nothing is
    written then), 130 when interrupted (the checkpoints fitted so far are written).
    """
    from ._figure_process import reserved_figure_process
    from ._processes import interrupt_on_signals, long_lived_objects
    from .campaign.outputs import outputs_held

    out_default = out is None
    folder = Path(_CAMPAIGN_OUT_DEFAULT if out is None else out)
    fixed = _name_values(fix, "--fix")
    reader = _reader_options(fmt, imag_sign, columns_text)
    jobs = _auto_or_count(jobs, "--jobs")
    options = {**_series_options(shared, smooth, arrhenius_law), **_starts_option(starts),
               **({} if profile == "auto" else {"profile": _PROFILE_CHOICE[profile]}),
               **({"fixed": fixed} if fixed else {})}
    _check_scheduler_address(scheduler)
    _writable_folder(folder)
    cache = False if no_cache else (cache_dir or folder / ".eisfit-cache")
    run = {"source": source, "folder": folder, "out_default": out_default, "nyquist_asr": nyquist_asr,
           "drt_": drt_, "arrhenius_": arrhenius_, "as_json": as_json, "signals": None}
    fit_kwargs = dict(circuit=circuit, area_cm2=area_cm2, thickness_cm=thickness_cm, symmetric=symmetric,
                      weighting=weighting, fmin=fmin, fmax=fmax, exclude_hz=exclude_hz or None, jobs=jobs,
                      out=None, cache_dir=cache, progress=False if _State.verbosity < 0 else progress, drt=drt_,
                      arrhenius=arrhenius_, kk_band=kk_band, reader=reader, **options)
    # a figure process forked now, while the heap is small (eisfit._figure_process); what the command
    # keeps is frozen as it is made (eisfit._processes); SIGINT and SIGTERM stop it alike
    with outputs_held(folder), reserved_figure_process(), long_lived_objects(), interrupt_on_signals() as signals:
        state: dict = {}
        run["signals"] = signals
        try:
            code = _run_campaign(run, fit_kwargs, scheduler, state)
        except KeyboardInterrupt:
            return _campaign_interrupted(run, state, signals)
    if code == EXIT_INTERRUPTED:
        return _interrupted_code(signals)
    if signals.received is not None:
        # the interrupt came where Python could not raise it (a finalizer): the run went on to its end
        _error(f"{_interruption(signals)}: the run went on to its end and wrote its outputs")
        return _interrupted_code(signals)
    return code


EXIT_TERMINATED = 143  # 128 + SIGTERM: a campaign stopped by SIGTERM (timeout, a batch scheduler)


def _interrupted_code(signals) -> int:
    """130 after Ctrl-C (SIGINT), 143 after SIGTERM."""
    return EXIT_TERMINATED if signals.name == "SIGTERM" else EXIT_INTERRUPTED


def _interruption(signals) -> str:
    """"interrupted" (Ctrl-C) or "terminated (SIGTERM)"."""
    return "terminated (SIGTERM)" if signals.name == "SIGTERM" else "interrupted"


def _campaign_interrupted(run: dict, state: dict, signals) -> int:
    """The one error line of a campaign stopped outside its fits (which it handles itself):
    before any fit (nothing written), or while its outputs were written (incomplete: no
    report.md) or printed."""
    camp = state.get("camp")
    what = _interruption(signals)
    if camp is None:
        _error(f"{what} before any checkpoint of {run['source']} was fitted; nothing written")
    elif not state.get("written"):
        _error(f"{what} while writing the outputs to {run['folder']}: report.md not written, the files there are "
               f"incomplete (earlier runs' files removed); {_kept_elsewhere(camp)}")
    else:
        _error(f"{what} after the outputs were written to {run['folder']}")
    return _interrupted_code(signals)


def _run_campaign(run: dict, fit_kwargs: dict, scheduler: str | None, state: dict) -> int:
    """The campaign command after its options are checked: fit, report failures, write,
    print; ``state`` records how far it got (``camp``, ``written``) for an interrupt."""
    from .campaign import INTERRUPTED_WARNING, fit_campaign
    from .campaign.outputs import PARTIAL_ROWS
    from .campaign.report import failure_lines
    from .fitting.result import fitted_indices

    source, folder = run["source"], run["folder"]
    client = _campaign_dask_client(scheduler) if scheduler else None
    try:
        with warnings.catch_warnings():  # an interrupt is said in this command's own error line
            warnings.filterwarnings("ignore", message=INTERRUPTED_WARNING)
            camp = fit_campaign(source, executor=None if client is None else client.get_executor(),
                                rows_file=folder / PARTIAL_ROWS, **fit_kwargs)
    finally:
        if client is not None:
            client.close()
    state["camp"] = camp
    ok = len(fitted_indices(camp.results))
    interrupted = bool(camp.stats.get("interrupted"))
    not_run = [f for f in camp.errors if interrupted and "interrupted" in f.reason]
    failures = [f for f in camp.errors if f not in not_run]
    if _State.debug:  # the tracebacks kept with the failures (a file the reader refused, a fit that raised)
        for f in failures:
            if f.traceback:
                _traceback(f.traceback)
    for line in failure_lines(failures):
        _error(line)
    if ok == 0 and interrupted:
        _error(f"{_interruption(run['signals'])} before any checkpoint of {source} was fitted; nothing written")
        return EXIT_INTERRUPTED
    if ok == 0:
        _error(f"no checkpoint of {source} could be fitted ({len(camp.checkpoints)} tried); nothing written")
        return EXIT_PARTIAL if camp.stats.get("worker_deaths") else EXIT_USAGE  # the machine failed, not the input
    _detail(f"settings: {camp.settings}")
    for c, d in zip(camp.checkpoints, camp.details):
        _detail(f"{c.label}: kept the {d.get('seed_source') or '-'} fit"
                + "".join(f"; {n}" for n in d.get("notes", [])))
    written = _write_campaign(camp, folder, run["nyquist_asr"], run["out_default"], run["arrhenius_"])
    state["written"] = True
    if run["as_json"]:
        _print_json(camp.to_dict(arrhenius=run["arrhenius_"] and written, out=folder if written else None))
    else:
        _print_campaign(camp, run["drt_"], camp.arrhenius_lines() if (run["arrhenius_"] and written) else [])
    if interrupted:
        _error(f"{_interruption(run['signals'])}: {ok} of {len(camp.checkpoints)} checkpoints fitted, "
               f"{len(not_run)} not"
               + (f"; written to {folder}" if written else ""))
        return EXIT_INTERRUPTED
    return EXIT_OK if (written and not camp.errors) else EXIT_PARTIAL


def _used(camp, column: str) -> str:
    """The value of a setting the fitted checkpoints used (a campaign file may set it per
    row): the one value, "per checkpoint: a, b" when several, "-" when none."""
    from .fitting.result import fitted_indices

    table = camp.table
    values = [v for v in table[column].iloc[fitted_indices(camp.results)] if v is not None and v == v]
    distinct = list(dict.fromkeys(f"{v:g}" if isinstance(v, float) else str(v) for v in values))
    if not distinct:
        fallback = camp.settings.get(column)
        return "-" if fallback is None else str(fallback)
    return distinct[0] if len(distinct) == 1 else "per checkpoint: " + ", ".join(distinct[:4]) + \
        (", ..." if len(distinct) > 4 else "")


def _file_areas(camp) -> str:
    """The settings line's mention of an electrode area the files state but that is not the
    one used (none given, or another: the fits' note ``file-area``), e.g. " (the files state
    0.317 cm2, not used: ...)"; "" when there is none."""
    from .campaign.report import any_area_used
    from .fitting.result import results_field

    stated = dict.fromkeys(f.split(":", 1)[1] for flags in results_field(camp.results, "flags") if flags is not None
                           for f in flags if f.startswith("file-area:"))
    if not stated:
        return ""
    listed = ", ".join(list(stated)[:3]) + (", ..." if len(stated) > 3 else "")
    given = any_area_used(camp)
    return (f" (the files state {listed} cm2: {'not the area given' if given else 'no area was given'}; eisfit "
            "normalises by --area-cm2 or the campaign file's area_cm2 only)")


def _print_campaign(camp, drt_: bool, arrhenius_lines: list[str]) -> None:
    from .fitting.result import fitted_indices

    ok = len(fitted_indices(camp.results))
    if camp.circuit_choice is not None:  # --circuit auto (issue 16)
        _echo(camp.circuit_choice.explain())
    _echo(f"{_count(len(camp.checkpoints), 'checkpoint')}, {ok} fitted, ordered by {camp.ordering}"
          f"{camp.axis_note()}")
    from .campaign.report import areas_used

    reader = camp.settings.get("reader")
    _echo(f"circuit {_used(camp, 'circuit')}, weighting {camp.settings.get('weighting')}, "
          f"area {areas_used(camp)}{_file_areas(camp)}"
          + (f", files read with {reader}" if reader and reader != "as detected" else ""))
    for line in camp.evolution_lines():
        _echo(line)
    from .campaign.report import caution_line

    cautions = caution_line(camp)
    if cautions:
        _echo(cautions)
    if drt_:  # DRT (issue 8): one line per tracked peak; the KK warnings counted in one warning
        from .campaign.drt import KK_WARNING, drt_report_lines

        failing = 0
        for line in drt_report_lines(camp):
            if line.startswith("- **Warning**"):
                failing += 1
            elif line.startswith("- "):
                _echo(line[2:].replace("**", ""))
        if failing:
            _warn(f"{failing} of {ok} checkpoints fail the Kramers-Kronig test: {KK_WARNING} "
                  "(report.md names them)")
    from .campaign.kkband import kk_band_report_lines

    for line in kk_band_report_lines(camp)[3:]:  # the section's text without its heading
        if line:
            _echo(line[2:].replace("`", "") if line.startswith("- ") else line.replace("`", ""))
    # ---- series analysis output ----
    from .campaign.report import joint_table_line

    for cell, joint in camp.joint_fits():
        prefix = f"cell {cell}: " if cell is not None else ""
        if joint.statement:
            _echo(prefix + joint.statement)
        for line in joint.law_lines():
            _echo(line)
        for note in joint.notes:
            _echo(prefix + note)
        _echo(prefix + joint_table_line(joint))
    for line in arrhenius_lines:
        _echo(line)
    # ---- end series analysis output ----


def _written(exc: OSError, folder: Path) -> str:
    """"NAME: " of the file a failed write named (eisfit's writers name the file asked for), as a
    path inside ``folder`` where it is there, else ""."""
    name = getattr(exc, "filename", None)
    if not name:
        return ""
    try:
        return f"{Path(name).resolve().relative_to(Path(folder).resolve())}: "
    except ValueError:
        return f"{name}: "


def _write_campaign(camp, folder: Path, nyquist_asr: bool, out_default: bool, arrhenius: bool) -> bool:
    """Write the outputs into ``folder``; on failure, one error line that says what is
    where: the table in a temporary folder when that can be written, and whether the fits
    are in the cache (:func:`_kept_elsewhere`). True when written. An interrupt while
    writing propagates (the caller reports it)."""
    _agg()
    try:
        camp.write(folder, area_normalised=nyquist_asr, arrhenius=arrhenius)
    except OSError as exc:
        saved = _kept_elsewhere(camp)
        fallback = _written_elsewhere("eisfit-campaign-", "summary.csv", lambda path: _write_frame(camp.table, path))
        saved = (f"the table was written to {fallback} instead" if fallback
                 else "the table could not be written to a temporary folder either") + f"; {saved}"
        _error(f"cannot write the outputs to {folder}: {_written(exc, folder)}{exc.strerror or exc} (report.md not "
               f"written: the files there are incomplete; no zero-byte or cut-off file is left); {saved}")
        return False
    removed = camp.stats.get("cache_packs_removed", 0)
    choice = getattr(camp, "circuit_choice", None)
    _note(f"fits run: {camp.stats.get('fits_run', 0)}, cache hits: {camp.stats.get('cache_hits', 0)}"
          + (f", candidate fits of --circuit auto: {choice.n_candidate_fits} (never cached)" if choice else "")
          + (f", {removed} cache pack(s) of other eisfit code unused for 30 days removed" if removed else "")
          + f"; wrote {folder / 'summary.csv'}, report.md and figures"
          + (", arrhenius.csv and arrhenius.png/svg" if arrhenius else "")
          + (" (default --out)" if out_default else ""))
    earlier = camp.stats.get("earlier_outputs_removed") or []
    if earlier:
        _note(f"removed {len(earlier)} file(s) of an earlier run that this run does not write: "
              + ", ".join(earlier[:6]) + (", ..." if len(earlier) > 6 else ""))
    from .campaign.report import wall_time_split

    wall = getattr(camp, "wall_time_s", None)
    split = wall_time_split(camp.stats, wall)
    _detail(f"wall time {wall if wall is not None else float('nan'):.2f} s in all" + (f" ({split})" if split else ""))
    return True


def _kept_elsewhere(camp) -> str:
    """What of a campaign whose outputs could not be written is kept, in words: the fits in
    the cache folder (when there is one and it stored every fit), the rows streamed during
    the fits (summary.partial.csv), or nothing."""
    stats = camp.stats
    kept = []
    if stats.get("cache_folder") and not stats.get("cache_write_error"):
        kept.append(f"the fits are in the cache ({stats['cache_folder']}): rerun the same command to write them")
    elif stats.get("cache_folder"):
        kept.append(f"the cache stopped storing fits ({stats['cache_write_error']}): a rerun fits again those it "
                    "lacks")
    else:
        kept.append("there is no cache (--no-cache): a rerun fits everything again")
    if stats.get("rows_streamed"):
        kept.append(f"the {stats['rows_streamed']} rows finished during the fits are in {stats['rows_file']} "
                    "(without the flags decided at the end)")
    return "; ".join(kept)


def _remove_empty_tree(folder: Path, parents: Sequence[Path] = ()) -> None:
    """Remove ``folder`` when it holds nothing but empty folders (e.g. an unused cache), then
    each of ``parents`` (the folders made for it, innermost first) left empty (``--out a/b/c``
    on an error had left ``a/b``)."""
    import os

    for root, dirs, files in os.walk(folder, topdown=False):
        if files:
            return
        for name in dirs:
            try:
                os.rmdir(Path(root) / name)
            except OSError:
                return
    for made in (folder, *parents):
        try:
            made.rmdir()
        except OSError:
            return


def _agg() -> None:
    """Figures are only written to files: the Agg backend, whatever the display."""
    import matplotlib

    matplotlib.use("Agg")


def _auto_or_count(value: str, option: str) -> int | str:
    """The value of an option that takes ``auto`` or a whole number >= 1 (``--jobs``, ``--starts``)."""
    if value == "auto":
        return value
    try:
        n = int(value)
    except ValueError:
        raise click.BadParameter(f"expected 'auto' or a whole number, got {value!r}", param_hint=option) from None
    if n < 1:
        raise click.BadParameter("must be at least 1", param_hint=option)
    return n


def _starts_option(starts: str) -> dict:
    n = _auto_or_count(starts, "--starts")
    return {} if n == "auto" else {"starts": n}


def _series_options(shared: str | None, smooth: str | None, arrhenius_law: str | None = None) -> dict:
    """fit_campaign keywords for --shared / --smooth / --arrhenius-law (none when none is given)."""
    def names(text: str) -> list[str]:  # "R1, CPE1_0" -> ["R1", "CPE1_0"]
        return [p.strip() for p in text.split(",") if p.strip()]

    out: dict = {}
    if shared is not None:
        out["shared"] = names(shared)
    if arrhenius_law is not None:
        out["arrhenius_law"] = names(arrhenius_law)
    if smooth is not None:
        from ._checks import check_smooth

        try:  # the rule of fit_campaign(smooth=...): inf and 1e400 too are refused before any file is read
            out["smooth"] = check_smooth(smooth)
        except EisfitError:
            raise click.BadParameter(f"expected 'auto' or a finite number >= 0, got {smooth!r}",
                                     param_hint="--smooth") from None
    return out


_SCHEDULER_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")


def _check_scheduler_address(address: str | None) -> None:
    """A usage error unless ``address`` looks like a Dask scheduler (scheme://host:port or host:port)."""
    if address is None:
        return
    import re

    scheme, sep, rest = address.partition("://")
    ok = (scheme in _SCHEDULER_SCHEMES and rest) if sep else re.fullmatch(r"[\w.\-\[\]:]+:\d+", address)
    if not ok:
        raise click.BadParameter(f"{address!r} is not a Dask scheduler address "
                                 f"(expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786)", param_hint="--scheduler")


def _campaign_dask_client(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise EisfitError("--scheduler needs Dask: pip install 'dask[distributed]'") from None
    try:
        return Client(address, timeout=30)
    except (OSError, TimeoutError, ValueError) as exc:
        raise EisfitError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
# ---- end section: campaign ----------------------------------------------------


if __name__ == "__main__":  # pragma: no cover
    run(prog_name="eisfit")
