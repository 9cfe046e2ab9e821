"""Downloads of published tables as CSV or JSON files, with the columns a response model names."""

from __future__ import annotations

from typing import Literal

import polars as pl
from fastapi import Response
from pydantic import BaseModel

ExportFormat = Literal["csv", "json"]
_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def export_response(rows: pl.DataFrame, model: type[BaseModel], name: str, file_format: ExportFormat) -> Response:
    """`rows` restricted to the model's fields, as an attachment named `<name>.<format>`."""
    table = rows.select(list(model.model_fields))
    body = table.write_csv() if file_format == "csv" else table.write_json()
    return Response(
        body.encode(),
        media_type=_MEDIA_TYPES[file_format],
        headers={"Content-Disposition": f'attachment; filename="{name}.{file_format}"'},
    )


CSV_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {
        "description": "the rows as a file download (Content-Disposition: attachment)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}
"""With `response_model=list[Row]` on the route, the OpenAPI document lists both the JSON rows and the CSV text."""
