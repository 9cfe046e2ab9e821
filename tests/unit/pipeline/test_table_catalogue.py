"""The table catalogue is the one place a warehouse table is named: no package module, benchmark or notebook spells a
catalogued "schema.table" in its code, each table has one entry, and the serving snapshot reads exactly its catalogued
tables."""

import ast
import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from f1_pipeline import tables
from f1_pipeline.serving_tables import WarehouseTables
from f1_pipeline.tables import CATALOGUE, SERVED, Table

ROOT = Path(__file__).resolve().parents[3]
SCANNED = ("f1_pipeline", "f1_serving", "bench")
NAMED = re.compile(r"(?<![\w.])(" + "|".join(re.escape(table.qualified) for table in CATALOGUE) + r")(?![\w])")


def table_literals(source: str) -> list[tuple[int, str]]:
    """(line, name) of each catalogued table spelled in a string of the code. Docstrings (a string on its own as a
    statement: a module's, a function's, a constant's) may name tables: they explain, they do not read or write."""
    tree = ast.parse(source)
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [
        (node.lineno, match)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        for match in NAMED.findall(node.value)
    ]


def test_the_scan_finds_a_table_in_a_literal_an_f_string_and_sql_but_not_in_a_docstring():
    source = '''
"""Reads clean.races."""
RACES = "clean.races"
def read(store, season):
    """Also from models.promotions."""
    store.query(f"select * from features.race_features where season = {season}")
    return store.read("clean.race_results"), "clean.races_extra"
'''
    assert table_literals(source) == [(3, "clean.races"), (6, "features.race_features"), (7, "clean.race_results")]


def module_paths() -> list[Path]:
    return [
        path
        for package in SCANNED
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != Path(tables.__file__).resolve()
    ]


@pytest.mark.parametrize("path", module_paths(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_module_spells_a_catalogued_table(path):
    assert table_literals(path.read_text()) == [], "name the table through f1_pipeline.tables"


def python_of(cell: str) -> str:
    """A code cell without its IPython magics (`%matplotlib inline`), which are no Python."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.splitlines())


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda path: path.name)
def test_no_notebook_spells_a_catalogued_table(path):
    cells = [cell for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]
    spelled = {index: table_literals(python_of("".join(cell["source"]))) for index, cell in enumerate(cells)}
    assert {index: found for index, found in spelled.items() if found} == {}, (
        "import the tables from f1_pipeline.tables"
    )


def test_each_table_has_one_entry_and_a_description():
    names = [table.qualified for table in CATALOGUE]
    assert len(names) == len(set(names))
    assert all(table.writers and table.row for table in CATALOGUE)
    constants = {value for value in vars(tables).values() if isinstance(value, Table)}
    assert constants == set(CATALOGUE), "every table constant is in the catalogue"


def test_the_serving_snapshot_reads_each_of_its_tables_under_the_tables_name():
    assert sorted(table.name for table in SERVED) == sorted(field.name for field in fields(WarehouseTables))


def test_a_table_of_several_writers_has_no_single_asset_to_depend_on():
    assert tables.writers(tables.RACES, tables.RACE_RESULTS, tables.RACES) == ["races", "race_results"]
    with pytest.raises(ValueError, match=re.escape(f"{tables.QUARANTINE} is written by 7 assets")):
        _ = tables.QUARANTINE.asset
