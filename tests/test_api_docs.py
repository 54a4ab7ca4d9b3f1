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
