"""How well the champion has predicted, and who is strongest: ELO, wins and points per season."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from f1_serving.deps import ServedDep, StrictQueryRoute, limit_by_user
from f1_serving.errors import error_responses
from f1_serving.schemas import AccuracySummary, DriverRankings, Mode, SeasonAccuracyDetail, TeamRankings
from f1_serving.served import queries
from f1_serving.served.queries import RankingSort
from f1_serving.served.response_cache import utc_today

router = APIRouter(
    prefix="/analytics", tags=["analytics"], dependencies=[Depends(limit_by_user)], route_class=StrictQueryRoute
)
ModeQuery = Annotated[
    Mode,
    Query(description="which predictions to score: pre_qualifying or post_qualifying", examples=["post_qualifying"]),
]
SeasonQuery = Annotated[
    int | None, Query(ge=1950, le=2100, description="the season; default: the latest season", examples=[2025])
]
SortQuery = Annotated[
    RankingSort, Query(description="order by season points, end-of-season ELO or wins", examples=["points"])
]
LimitQuery = Annotated[int, Query(ge=1, le=200, description="how many rows at most", examples=[10])]
_ERRORS = error_responses(401, 404, 422, 429, 503)


@router.get("/accuracy", responses=_ERRORS)
async def get_accuracy(served: ServedDep, mode: ModeQuery = "post_qualifying") -> AccuracySummary:
    """Per season: mean log loss and Brier score, how often the favourite won, how often the winner was in the top 3."""
    return queries.accuracy_summary(served, mode, utc_today())


@router.get("/accuracy/{season}", responses=_ERRORS)
async def get_season_accuracy(
    served: ServedDep,
    season: Annotated[int, Path(ge=1950, le=2100, description="the season", examples=[2025])],
    mode: ModeQuery = "post_qualifying",
) -> SeasonAccuracyDetail:
    """The season's summary and every race's scores."""
    return queries.season_accuracy(served, season, mode, utc_today())


@router.get("/rankings/drivers", responses=_ERRORS)
async def list_driver_rankings(
    served: ServedDep, season: SeasonQuery = None, sort: SortQuery = "points", limit: LimitQuery = 50
) -> DriverRankings:
    """Every driver of the season with his wins, podiums, points and end-of-season ELO, in the order asked for."""
    return queries.driver_rankings(served, season, sort, limit, utc_today())


@router.get("/rankings/teams", responses=_ERRORS)
async def list_team_rankings(
    served: ServedDep, season: SeasonQuery = None, sort: SortQuery = "points", limit: LimitQuery = 50
) -> TeamRankings:
    """Every team of the season with its wins, podiums, points and end-of-season ELO, in the order asked for."""
    return queries.team_rankings(served, season, sort, limit, utc_today())
