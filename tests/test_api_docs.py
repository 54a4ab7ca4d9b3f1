"""docs/api.md is generated from the docstrings (scripts/make_api_docs.py) and must be current."""
from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("make_api_docs", REPO / "scripts" / "make_api_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_up_to_date():
    expected = _script().render()
    current = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    assert current == expected, "docs/api.md is out of date: run python scripts/make_api_docs.py"


def test_api_reference_covers_the_public_api():
    text = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    for name in ("eisfit.read(", "eisfit.fit(", "class `eisfit.FitResult(", "eisfit.FitResult.to_dataframe(",
                 "eisfit.FitResult.to_impedance_py(", "eisfit.fit_campaign(", "class `eisfit.CampaignResult(",
                 "eisfit.plotting.plot_fit(", "eisfit.fitting.interop.load_impedance_json("):
        assert name in text, name
    import eisfit

    headings = [line for line in text.splitlines() if line.startswith("### ")]
    for name in eisfit.__all__:  # every top-level public name has its entry (errors under eisfit.errors)
        assert any(f".{name}(" in h or f".{name}`" in h for h in headings), name
    assert "(no docstring)" not in text


def test_the_readme_notebook_block_runs_as_written(monkeypatch):
    """Every line of README.md's "In a notebook" block, run from the repository root (it named
    files that do not exist and arrays it never defined)."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text[text.index("## In a notebook"):]
    code = block[block.index("```python") + len("```python"):]
    code = code[:code.index("```")]
    monkeypatch.chdir(REPO)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["res"].values["R2"] > 0 and len(namespace["camp"].table) == 11


def _documented(script):
    """(module, name, object, docstrings) of every entry of docs/api.md (a class with its members')."""
    import importlib
    import inspect

    for _, module_name, names in script.SECTIONS:
        module = importlib.import_module(module_name)
        for name in names if names is not None else list(module.__all__):
            obj = getattr(module, name)
            docs = [] if script._is_constant(obj) else [inspect.getdoc(obj) or ""]
            if inspect.isclass(obj):
                docs += [inspect.getdoc(getattr(obj, member)) or "" for member, _ in script._members(obj)]
            yield module, name, obj, docs


def test_every_public_name_a_docstring_refers_to_exists_where_the_reference_puts_it():
    """A reader of ``eisfit.read`` takes :func:`available_formats` for ``eisfit.available_formats``
    (which did not exist): an unqualified public reference must resolve in the module the entry
    is documented under (or on its class); others are written out in full (eisfit.io....)."""
    import importlib
    import inspect
    import re

    def resolves(dotted: str) -> bool:
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            try:
                for part in parts[i:]:
                    obj = getattr(obj, part)
            except AttributeError:
                return False
            return True
        return False

    missing = []
    for module, name, obj, docs in _documented(_script()):
        for doc in docs:
            for ref in re.findall(r":(?:func|class|data|exc):`~?([A-Za-z][\w.]*)`", doc):
                if "." in ref:  # written out in full: eisfit.io.available_formats, os.fsdecode
                    ok = resolves(ref)
                else:
                    ok = hasattr(module, ref) or (inspect.isclass(obj) and hasattr(obj, ref))
                if not ok:
                    missing.append(f"{module.__name__}.{name}: {ref}")
    assert not missing, missing


def test_constants_are_listed_with_their_value_not_a_builtin_docstring():
    text = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    assert "Convert a string or number to a floating point number" not in text and "dict() -> new empty" not in text
    for name, value in (("KELVIN_AT_0C", "273.15"), ("LOWEST_PLAUSIBLE_K", "100.0")):
        assert f"### `eisfit.units.{name}` (constant)" in text and f"{name} = {value}" in text
    assert "### `eisfit.units.EVOLUTION_AXIS_LABELS` (constant)" in text


def test_the_export_writers_are_importable_from_eisfit_io_and_documented(tmp_path):
    import numpy as np

    import eisfit
    from eisfit.io import write_csv, write_json

    s = eisfit.Spectrum(np.logspace(5, 0, 11), 10 + 100 / (1 + 1j * np.logspace(5, 0, 11) * 1e-3))
    for write, name in ((write_csv, "s.csv"), (write_json, "s.json")):
        back = eisfit.read(write(s, tmp_path / name))[0]
        np.testing.assert_allclose(back.z, s.z)
    text = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    assert "### `eisfit.io.write_csv(" in text and "### `eisfit.io.write_json(" in text
