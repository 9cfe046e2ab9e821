"""The configuration page's defaults are the code's: a default changed in the settings classes and not on the page
(or the other way round) fails here, so the page never retypes a stale number."""

import re
from pathlib import Path
from typing import Any

import pytest

from f1_pipeline.settings import PipelineSettings
from f1_serving.settings import ApiSettings

PAGE = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"
ROW = re.compile(r"^\| `(F1_[A-Z0-9_]+)` \| (.*?) \|", re.MULTILINE)


def defaults() -> dict[str, Any]:
    fields = {**PipelineSettings.model_fields, **ApiSettings.model_fields}
    return {f"F1_{name.upper()}": field.get_default(call_default_factory=True) for name, field in fields.items()}


def spellings(default: Any) -> set[str]:
    """How the page may write `default`: as code (`10`, `warehouse/f1.duckdb`, `sqlite:///…/mlruns/mlflow.db`)."""
    if isinstance(default, bool):
        return {str(default).lower()}
    if isinstance(default, int | float):
        return {str(default), f"{default:g}"}
    text = str(default)
    here = str(Path.cwd())
    return {text, text.replace(here + "/", ""), text.replace(here, "…"), text.replace(here, "/…")}


def documented() -> dict[str, str]:
    return {name: cell for name, cell in ROW.findall(PAGE.read_text())}


@pytest.mark.parametrize("name", sorted(defaults()))
def test_the_documented_default_is_the_code_default(name):
    default, cell = defaults()[name], documented()[name]
    if hasattr(default, "get_secret_value"):
        return  # a secret's default is described, never printed
    if default is None:
        assert cell == "unset"
    elif default == () or default == []:
        assert cell == "empty"
    elif isinstance(default, int | float) or re.fullmatch(r"`[^`]*`", cell):
        assert cell.strip("`") in spellings(default), f"{name}: the page says {cell}, the code {default!r}"
    else:
        assert isinstance(default, str | Path), f"{name}: describe only a text or path default in words"
