"""Materialization metadata shown in the Dagster UI: counts, schema, a preview, season coverage.

Previews are for a person glancing at the UI: decimals to three places, metric columns under plain names
("favourite won", not "top1"), and a table of races shows its latest race first rather than 1950.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import polars as pl
from matplotlib.figure import Figure

from f1_pipeline.modeling.plots import figure_png
from f1_pipeline.tables import Table

PREVIEW_ROWS = 10
DECIMALS = 3
PLAIN_HEADERS = {
    "top1": "favourite won",
    "top3": "winner in top 3",
    "correct_winner": "favourite won",
    "winner_in_top3": "winner in top 3",
    "log_loss": "log loss",
    "brier": "Brier score",
}
LATEST_FIRST = ("season", "round")
"""Columns that order a table in time: a preview sorts on those it has, newest first."""


def figure_markdown(figure: Figure, title: str) -> str:
    """A figure inlined as a PNG data URI, so the Dagster UI shows it beside the materialization."""
    encoded = base64.b64encode(figure_png(figure)).decode("ascii")
    return f"![{title}](data:image/png;base64,{encoded})"


def markdown_preview(frame: pl.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    """The first `rows` rows as a Markdown table, in the frame's order."""
    head = frame.head(rows)
    lines = [
        "| " + " | ".join(PLAIN_HEADERS.get(name, name) for name in head.columns) + " |",
        "|" + "---|" * head.width,
    ]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in head.iter_rows()]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{DECIMALS}f}"
    return str(value).replace("|", "\\|")


def latest_first(frame: pl.DataFrame) -> pl.DataFrame:
    """The newest race's rows first (their order within a race kept); a frame without seasons as it is."""
    if "season" not in frame.columns:
        return frame
    keys = [column for column in LATEST_FIRST if column in frame.columns]
    return frame.sort(keys, descending=True, nulls_last=True, maintain_order=True)


def season_coverage(seasons: Sequence[Any]) -> str:
    years = sorted({int(season) for season in seasons if season is not None})
    if not years:
        return "no seasons"
    if len(years) == 1:
        return f"{years[0]} (1 season)"
    return f"{years[0]}-{years[-1]} ({len(years)} seasons)"


def column_schema(frame: pl.DataFrame, column_docs: Mapping[str, str] | None = None) -> dg.TableSchema:
    docs = column_docs or {}
    return dg.TableSchema(
        columns=[dg.TableColumn(name, str(dtype), docs.get(name)) for name, dtype in frame.schema.items()]
    )


def table_metadata(table: Table, frame: pl.DataFrame, column_docs: Mapping[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "dagster/row_count": frame.height,
        "dagster/table_name": table.qualified,
        "dagster/column_schema": column_schema(frame, column_docs),
        "preview": dg.MetadataValue.md(markdown_preview(latest_first(frame))),
    }
    if "season" in frame.columns:
        metadata["season_coverage"] = season_coverage(frame.get_column("season").unique().to_list())
    return metadata


def other_table_metadata(table: Table, frame: pl.DataFrame, column_docs: Mapping[str, str]) -> dict[str, Any]:
    """The columns of a table an asset writes beside its main one (`table_metadata`'s), each with its meaning, under
    the table's name: Dagster shows one table per asset, and every written column should still say what it is."""
    return {f"{table.name}_columns": column_schema(frame, column_docs)}
