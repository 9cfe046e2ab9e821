"""Dagster through its public API only: no module of the packages, the benchmarks or the tests reaches `dagster._`.

A private module can move or change in any Dagster release; the version range in pyproject.toml can stay wide only
while nothing depends on one. An import anywhere in a file counts (inside a function too), and so does a string
naming a private module (what `importlib.import_module` or an instance file's `module:` would load)."""

import ast
from pathlib import Path

from f1_pipeline.settings import REPO_ROOT
from tests.import_rules import imported_modules

SCANNED = ("f1_pipeline", "f1_serving", "bench", "tests")


def private_references(path: Path) -> set[str]:
    """The private Dagster modules the file imports or names in a string."""
    strings = {
        node.value
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    return {name for name in imported_modules(path) | strings if name.startswith("dagster._")}


def test_no_module_reaches_past_dagsters_public_api():
    found = {}
    for package in SCANNED:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            relative = path.relative_to(REPO_ROOT).as_posix()
            if path == Path(__file__):
                continue  # its own test below names private modules
            private = private_references(path)
            if private:
                found[relative] = private
    assert found == {}


def test_an_import_inside_a_function_or_a_module_named_in_a_string_is_found(tmp_path):
    source = tmp_path / "sneaky.py"
    source.write_text(
        "import importlib\n"
        "import dagster as dg\n"
        "\n"
        "def run() -> None:\n"
        "    from dagster._core.errors import DagsterError\n"
        "    importlib.import_module('dagster._utils.interrupts')\n"
    )
    assert private_references(source) == {"dagster._core.errors", "dagster._utils.interrupts"}
