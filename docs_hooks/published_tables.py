"""MkDocs hook: the Published tables page, written from the tables' declarations (`serving_tables.CONTRACTS`) at each
build, so the documented columns, types, meanings and rules are the ones the pipeline and the API check."""

from typing import Any

from mkdocs.structure.files import File, Files

from f1_pipeline.contracts import reference_markdown
from f1_pipeline.serving_tables import CONTRACTS

INTRO = """# Published tables

What the pipeline publishes for the REST API and the dashboard: the `serving_data` asset, one Parquet file per table
in a snapshot under `F1_SERVING_DIR` (see [Configuration](configuration.md)). Each table's guaranteed columns are
listed in the order they are written; a table may carry more, which no reader relies on. The pipeline refuses to
publish a snapshot that lacks a column, holds it in another type or breaks a rule of the last column ("present": no
null, "finite": no NaN or infinity, a range: inclusive, nulls aside), and the API refuses to take such a snapshot
into service. This page is generated from the same declarations.

"""


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "published-tables.md", content=INTRO + reference_markdown(CONTRACTS)))
    return files
