"""The documentation stays true to the code: every setting is documented, every documented setting exists, every
asset of the graph and every warehouse table of the catalogue is in the data page, and no page points outside the
repository."""

import re
import subprocess
import sys
from pathlib import Path

from f1_pipeline.definitions import build_definitions
from f1_pipeline.settings import PipelineSettings
from f1_pipeline.tables import CATALOGUE, QUARANTINE
from f1_serving.settings import ApiSettings

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
TEST_ONLY = {"F1_TEST_POSTGRES_URL", "F1_TEST_REDIS_URL"}
OUTSIDE_SETTINGS_CLASSES = {"F1_DAGSTER_POSTGRES_URL"}  # read by the PostgreSQL instance files, not a settings class


def settings_variables() -> set[str]:
    fields = set(PipelineSettings.model_fields) | set(ApiSettings.model_fields)
    return {f"F1_{name.upper()}" for name in fields} | OUTSIDE_SETTINGS_CLASSES


def test_configuration_page_names_exactly_the_settings():
    documented = set(re.findall(r"^\| `(F1_[A-Z0-9_]+)`", (DOCS / "configuration.md").read_text(), re.MULTILINE))
    assert settings_variables() - documented == set(), "settings missing from docs/configuration.md"
    assert documented - settings_variables() - TEST_ONLY == set(), "docs/configuration.md names no such setting"


def test_every_asset_is_in_the_data_page():
    page = (DOCS / "data.md").read_text()
    assets = build_definitions(PipelineSettings()).resolve_asset_graph().get_all_asset_keys()
    missing = sorted(key.to_user_string() for key in assets if f"`{key.to_user_string()}`" not in page)
    assert missing == []


def catalogue_rows() -> list[str]:
    """The data page's table of warehouse tables, as the catalogue says it."""
    return [
        f"| `{table.qualified}` | {', '.join(f'`{writer}`' for writer in table.writers)} | {table.row} |"
        for table in CATALOGUE
    ]


def test_the_data_page_lists_the_catalogues_warehouse_tables():
    section = (DOCS / "data.md").read_text().split("\n## Warehouse tables\n", 1)[1].split("\n## ", 1)[0]
    listed = [line for line in section.splitlines() if line.startswith("| `")]
    assert listed == catalogue_rows(), "the rows as the catalogue has them:\n" + "\n".join(catalogue_rows())


def test_the_data_page_names_tables_as_the_catalogue_does():
    """The asset graph's table names each table in its writer's row, and no page names a table that is not there."""
    page = (DOCS / "data.md").read_text()
    graph = page.split("\n## The asset graph\n", 1)[1].split("\n## ", 1)[0]
    cells = [line.split(" | ") for line in graph.splitlines() if line.startswith("| ") and line.count(" | ") == 3]
    beside_writer = {
        (asset, table)
        for _, assets, tables, _ in cells
        for asset in re.findall(r"`([a-z_]+)`", assets)
        for table in re.findall(r"`([a-z_]+\.[a-z_]+)`", tables)
    }
    missing = [table.qualified for table in CATALOGUE if (table.writers[0], table.qualified) not in beside_writer]
    assert missing == [QUARANTINE.qualified], "only the quarantine, written by every cleaning asset, is not in a row"
    schemas = "|".join({table.schema for table in CATALOGUE})
    named = {
        name
        for path in [ROOT / "README.md", *DOCS.glob("*.md")]
        for name in re.findall(rf"`((?:{schemas})\.[a-z_]+)`", path.read_text())
    }
    assert named - {table.qualified for table in CATALOGUE} == set()


def test_no_page_points_outside_the_repository():
    pages = [ROOT / "README.md", *DOCS.glob("*.md")]
    offenders = [page.name for page in pages if re.search(r"\.\./shared|DESIGN\.md", page.read_text())]
    assert offenders == []


def test_docs_site_builds_with_no_broken_link(tmp_path):
    """`mkdocs build --strict` fails on a link to a missing page or anchor: a renamed page cannot leave one behind."""
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert build.returncode == 0, build.stderr
    assert (tmp_path / "site" / "getting-started" / "index.html").is_file()
