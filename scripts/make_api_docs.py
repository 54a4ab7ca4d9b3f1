"""Write docs/api.md, the API reference, from the docstrings of eisfit's public API.

    python scripts/make_api_docs.py           # (re)write docs/api.md
    python scripts/make_api_docs.py --check   # exit 1 when docs/api.md is out of date

The page lists, in order, the top-level functions and classes (``eisfit.read``,
``eisfit.fit``, ``eisfit.FitResult``...), the errors, the plotting functions, the
impedance.py interoperability and the display units. Each entry is the signature and the
docstring as written in the code; classes list their public methods and properties; a
constant (a number, a string, a mapping...) is listed with its value and the comment or
docstring that its assignment has in the source.
tests/test_api_docs.py checks that docs/api.md equals this script's output.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import io
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "api.md"

# (section title, module, names; None = the module's __all__)
SECTIONS = [
    ("Reading and the Spectrum", "eisfit", ["read", "detect_format", "ReaderOptions", "Spectrum"]),
    ("Formats and export (eisfit.io)", "eisfit.io", ["available_formats", "format_name", "columns_from_text",
                                                     "write_csv", "write_json"]),
    ("Fitting", "eisfit", ["fit", "FitResult"]),
    ("Circuits", "eisfit", ["load_circuit", "list_circuits", "Circuit"]),
    ("Validation and analysis", "eisfit", ["kk_test", "KKResult", "kk_valid_band", "KKBand", "drt", "DRTResult",
                                         "arrhenius"]),
    ("Which circuit?", "eisfit", ["suggest_circuit", "CircuitSuggestion"]),
    ("Campaigns", "eisfit", ["fit_campaign", "CampaignResult"]),
    ("Errors and warnings", "eisfit.errors", ["EisfitError", "DataError", "ReadError", "UnknownFormatError",
                                              "CorruptFileError", "MissingColumnError", "NoImpedanceDataError",
                                              "CircuitError", "FitError", "CampaignError", "DataWarning"]),
    ("Plotting (eisfit.plotting)", "eisfit.plotting",
     ["plot_nyquist", "plot_bode", "plot_fit_residuals", "plot_fit", "plot_kk_residuals", "plot_drt",
      "plot_campaign_nyquist", "plot_campaign_bode", "plot_campaign_evolution", "plot_campaign_fits",
      "plot_campaign_residual_map", "plot_campaign_drt_map", "plot_campaign_drt_stack", "plot_arrhenius",
      "CampaignLike"]),
    ("impedance.py interoperability (eisfit.fitting.interop)", "eisfit.fitting.interop", None),
    ("Fit flags (eisfit.fitting.flags)", "eisfit.fitting.flags", ["explain_flag", "flag_name", "severity"]),
    ("Display units (eisfit.units)", "eisfit.units", None),
]


class _Plain:
    """An annotation shown as written in the code (no quotes around string annotations)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _plain(annotation):
    if annotation is inspect.Signature.empty:
        return annotation
    return _Plain(annotation if isinstance(annotation, str) else inspect.formatannotation(annotation))


def _signature(obj) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    params = [p.replace(annotation=_plain(p.annotation)) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=_plain(sig.return_annotation)))


def _doc(obj) -> str:
    return inspect.getdoc(obj) or "(no docstring)"


def _members(cls) -> list[tuple[str, object]]:
    """Public methods and properties defined on ``cls`` itself, in definition order."""
    out = []
    for name, member in vars(cls).items():
        if name.startswith("_") or not (inspect.isfunction(member) or isinstance(member, (property, classmethod, staticmethod))):
            continue
        out.append((name, member))
    return out


def _render_member(prefix: str, cls, name: str, member) -> list[str]:
    if isinstance(member, property):
        return [f"#### `{prefix}.{name}` (property)", "", _doc(member.fget), ""]
    bound = getattr(cls, name)  # classmethods bound: no ``cls`` in the signature
    return [f"#### `{prefix}.{name}{_signature(bound)}`", "", _doc(bound), ""]


def _is_constant(obj) -> bool:
    """A value (number, string, mapping, tuple...), not a function, class or module."""
    return not (callable(obj) or inspect.ismodule(obj))


def _constant_note(module, name: str) -> str:
    """What the source says of the module-level constant ``name``: the docstring (a string
    literal) right after its assignment, else the comment at the end of its line, else the
    comment line(s) right above it; "" when there is none."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return ""
    body = ast.parse(source).body
    for k, node in enumerate(body):
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
            continue
        after = body[k + 1] if k + 1 < len(body) else None
        if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str):
            return inspect.cleandoc(after.value.value)
        comments = _comments_by_line(source)
        if node.end_lineno in comments:
            return comments[node.end_lineno]
        above, line = [], node.lineno - 1
        while line in comments and source.splitlines()[line - 1].lstrip().startswith("#"):
            above.insert(0, comments[line])
            line -= 1
        return " ".join(above)
    return ""


def _comments_by_line(source: str) -> dict[int, str]:
    """line number -> the text of the comment on that line (without ``#``)."""
    out = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            out[token.start[0]] = token.string.lstrip("#").strip()
    return out


def _render_constant(qualified: str, module, name: str, value) -> list[str]:
    note = _constant_note(module, name)
    return [f"### `{qualified}` (constant)", "", "```python", f"{qualified.rsplit('.', 1)[-1]} = {value!r}", "```",
            "", note or "(no comment in the source)", ""]


def _render_object(qualified: str, obj) -> list[str]:
    if inspect.isclass(obj):
        lines = [f"### class `{qualified}{_signature(obj) if not issubclass(obj, BaseException) else ''}`",
                 "", _doc(obj), ""]
        for name, member in _members(obj):
            lines += _render_member(qualified, obj, name, member)
        return lines
    return [f"### `{qualified}{_signature(obj)}`", "", _doc(obj), ""]


def render() -> str:
    """The whole page as markdown."""
    lines = [
        "# eisfit API reference",
        "",
        "Generated from the docstrings by `python scripts/make_api_docs.py`; do not edit by hand",
        "(tests/test_api_docs.py fails when this page and the code disagree).",
        "",
    ]
    for title, module_name, names in SECTIONS:
        module = importlib.import_module(module_name)
        lines += [f"## {title}", ""]
        for name in names if names is not None else list(module.__all__):
            obj = getattr(module, name)
            if _is_constant(obj):
                lines += _render_constant(f"{module_name}.{name}", module, name, obj)
            else:
                lines += _render_object(f"{module_name}.{name}", obj)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run python scripts/make_api_docs.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main(sys.argv[1:]))
