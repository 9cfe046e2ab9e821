"""Materialization metadata shown in the Dagster UI: counts, schema, a preview, season coverage."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import polars as pl
from matplotlib.figure import Figure

from f1_pipeline.modeling.plots import figure_png

PREVIEW_ROWS = 10


def figure_markdown(figure: Figure, title: str) -> str:
    """A figure inlined as a PNG data URI, so the Dagster UI shows it beside the materialization."""
    encoded = base64.b64encode(figure_png(figure)).decode("ascii")
    return f"![{title}](data:image/png;base64,{encoded})"


def markdown_preview(frame: pl.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    head = frame.head(rows)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * head.width]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in head.iter_rows()]
    return "\n".join(lines)


def season_coverage(seasons: Sequence[Any]) -> str:
    years = sorted({int(season) for season in seasons if season is not None})
    if not years:
        return "no seasons"
    if len(years) == 1:
        return f"{years[0]} (1 season)"
    return f"{years[0]}-{years[-1]} ({len(years)} seasons)"


def table_metadata(table: str, frame: pl.DataFrame, column_docs: Mapping[str, str] | None = None) -> dict[str, Any]:
    docs = column_docs or {}
    metadata: dict[str, Any] = {
        "dagster/row_count": frame.height,
        "dagster/table_name": table,
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, str(dtype), docs.get(name)) for name, dtype in frame.schema.items()]
        ),
        "preview": dg.MetadataValue.md(markdown_preview(frame)),
    }
    if "season" in frame.columns:
        metadata["season_coverage"] = season_coverage(frame.get_column("season").unique().to_list())
    return metadata
