"""The current season's title odds: drivers' and constructors' championships."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from f1_serving.deps import ServedDep, StrictQueryRoute, limit_by_user
from f1_serving.errors import error_responses
from f1_serving.schemas import ChampionshipOdds, TitleOddsHistory
from f1_serving.served import queries
from f1_serving.served.response_cache import CONDITIONAL_GET, cached_json

router = APIRouter(
    prefix="/championship", tags=["championship"], dependencies=[Depends(limit_by_user)], route_class=StrictQueryRoute
)


@router.get(
    "",
    response_model=ChampionshipOdds,
    responses=error_responses(401, 404, 422, 429, 503),
    openapi_extra=CONDITIONAL_GET,
)
async def get_championship_odds(request: Request, served: ServedDep) -> Response:
    """Each driver's and team's probability of winning the current season's title (also as a percentage) and
    expected final points, from the standings after the last completed round and a simulation of the remaining
    rounds and sprints with the champion's chances as the pipeline published them; 404 when none are published."""
    return cached_json(request, served.version, ("championship",), lambda today: queries.championship(served, today))


@router.get(
    "/history",
    response_model=TitleOddsHistory,
    responses=error_responses(401, 404, 422, 429, 503),
    openapi_extra=CONDITIONAL_GET,
)
async def get_title_odds_history(request: Request, served: ServedDep) -> Response:
    """The current season's title odds after every completed round (each driver's and team's probability, expected
    final points and whether the title is mathematically decided), as the pipeline simulated them then; 404 when
    none are published."""
    return cached_json(
        request, served.version, ("championship", "history"), lambda today: queries.title_odds_history(served, today)
    )
