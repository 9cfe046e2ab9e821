"""Predictions and race results as CSV or JSON file downloads."""

from __future__ import annotations

from typing import Annotated

import polars as pl
from fastapi import APIRouter, Depends, Query, Response

from f1_serving.deps import ServedDep, StrictQueryRoute, limit_by_user
from f1_serving.errors import error_responses
from f1_serving.schemas import ChampionshipExportRow, PredictionExportRow, ResultExportRow
from f1_serving.served.exports import CSV_RESPONSE, ExportFormat, export_response

router = APIRouter(
    prefix="/export", tags=["export"], dependencies=[Depends(limit_by_user)], route_class=StrictQueryRoute
)
SeasonQuery = Annotated[
    int | None, Query(ge=1950, le=2100, description="only this season; default: every season", examples=[2025])
]
FormatQuery = Annotated[ExportFormat, Query(alias="format", description="csv or json", examples=["csv"])]
_RESPONSES = CSV_RESPONSE | error_responses(401, 422, 429, 503)


def _season(rows: pl.DataFrame, season: int | None) -> pl.DataFrame:
    return rows if season is None else rows.filter(pl.col("season") == season)


def _name(kind: str, season: int | None) -> str:
    return f"f1-{kind}-{season if season is not None else 'all'}"


@router.get("/predictions", response_model=list[PredictionExportRow], responses=_RESPONSES)
async def export_predictions(
    served: ServedDep, season: SeasonQuery = None, file_format: FormatQuery = "csv"
) -> Response:
    """Every published prediction (walk-forward races and the next race), best first within each race and mode, with
    every chance the model derives and, for a race already run, whether the driver won and where he finished."""
    rows = pl.concat([served.table("race_predictions"), served.next_race], how="diagonal_relaxed")
    rows = _season(rows, season).sort("season", "round", "mode", "rank")
    return export_response(rows, PredictionExportRow, _name("predictions", season), file_format)


@router.get("/results", response_model=list[ResultExportRow], responses=_RESPONSES)
async def export_results(served: ServedDep, season: SeasonQuery = None, file_format: FormatQuery = "csv") -> Response:
    """Every car's result in every race (or one season's), in finishing order, as a download."""
    rows = _season(served.table("results"), season).sort("season", "round", "position_order")
    return export_response(rows, ResultExportRow, _name("results", season), file_format)


@router.get("/championship", response_model=list[ChampionshipExportRow], responses=_RESPONSES)
async def export_championship(served: ServedDep, file_format: FormatQuery = "csv") -> Response:
    """The current season's title odds, drivers' championship then constructors', most likely world champion first."""
    rows = served.table("championship_odds")
    season = int(rows["season"][0]) if rows.height else None
    return export_response(rows, ChampionshipExportRow, _name("championship", season), file_format)
