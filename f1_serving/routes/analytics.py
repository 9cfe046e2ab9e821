"""How well the champion has predicted, and who is strongest: ELO, wins and points per season."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from f1_serving import queries
from f1_serving.deps import ServedDep, limit_by_user
from f1_serving.errors import error_responses
from f1_serving.queries import RankingSort
from f1_serving.schemas import AccuracySummary, DriverRankings, Mode, SeasonAccuracyDetail, TeamRankings

router = APIRouter(prefix="/analytics", tags=["analytics"], dependencies=[Depends(limit_by_user)])
ModeQuery = Annotated[Mode, Query(description="which predictions to score")]
SeasonQuery = Annotated[int | None, Query(ge=1950, le=2100, description="default: the latest season")]
SortQuery = Annotated[RankingSort, Query()]
LimitQuery = Annotated[int, Query(ge=1, le=200)]
_ERRORS = error_responses(401, 404, 422, 429, 503)


@router.get("/accuracy", responses=_ERRORS)
async def accuracy(served: ServedDep, mode: ModeQuery = "post_qualifying") -> AccuracySummary:
    """Per season: mean log loss and Brier score, how often the favourite won, how often the winner was in the top 3."""
    return queries.accuracy_summary(served, mode)


@router.get("/accuracy/{season}", responses=_ERRORS)
async def season_accuracy(
    served: ServedDep, season: Annotated[int, Path(ge=1950, le=2100)], mode: ModeQuery = "post_qualifying"
) -> SeasonAccuracyDetail:
    """The season's summary and every race's scores."""
    return queries.season_accuracy(served, season, mode)


@router.get("/rankings/drivers", responses=_ERRORS)
async def driver_rankings(
    served: ServedDep, season: SeasonQuery = None, sort: SortQuery = "points", limit: LimitQuery = 50
) -> DriverRankings:
    return queries.driver_rankings(served, season, sort, limit)


@router.get("/rankings/teams", responses=_ERRORS)
async def team_rankings(
    served: ServedDep, season: SeasonQuery = None, sort: SortQuery = "points", limit: LimitQuery = 50
) -> TeamRankings:
    return queries.team_rankings(served, season, sort, limit)
