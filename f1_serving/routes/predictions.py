"""The champion's win probabilities: the next race, and any race the walk-forward backtest covers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from f1_serving.deps import ServedDep, StrictQueryRoute, limit_by_user
from f1_serving.errors import error_responses
from f1_serving.schemas import Mode, NextRacePredictions, RacePredictions
from f1_serving.served import queries
from f1_serving.served.response_cache import CONDITIONAL_GET, cached_json

router = APIRouter(
    prefix="/predictions", tags=["predictions"], dependencies=[Depends(limit_by_user)], route_class=StrictQueryRoute
)
ModeQuery = Annotated[
    Mode | None,
    Query(
        description="pre_qualifying or post_qualifying; default: the most informed one available",
        examples=["pre_qualifying"],
    ),
]
Season = Annotated[int, Path(ge=1950, le=2100, description="the season", examples=[2025])]
Round = Annotated[int, Path(ge=1, le=40, description="the round within the season", examples=[1])]


@router.get(
    "/next-race",
    response_model=NextRacePredictions,
    responses=error_responses(401, 404, 422, 429, 503),
    openapi_extra=CONDITIONAL_GET,
)
async def get_next_race(request: Request, served: ServedDep, mode: ModeQuery = None) -> Response:
    """Every entrant of the next race with the champion's chances (win, podium, top 6, points, ahead of teammate,
    team win, expected place; each also as a percentage), most likely winner first (the win chances sum to 1), and
    the features that moved each driver most. The race's circuit, local start time and how fresh the data is come
    with it; an entrant has no result fields, the race not being run. Post-qualifying predictions exist once
    qualifying is in; before that, asking for them is a 404."""
    return cached_json(
        request, served.version, ("next-race", mode), lambda today: queries.next_race(served, mode, today)
    )


@router.get(
    "/races/{season}/{round}",
    response_model=RacePredictions | NextRacePredictions,
    responses=error_responses(401, 404, 422, 429, 503),
    openapi_extra=CONDITIONAL_GET,
)
async def get_race_predictions(
    request: Request, served: ServedDep, season: Season, round: Round, mode: ModeQuery = None
) -> Response:
    """A race the walk-forward backtest covers, predicted by a model trained only on the races before it, with every
    chance `/next-race` gives and, per driver, whether he won and where he finished; the next race answers as
    `/next-race` does."""
    return cached_json(
        request,
        served.version,
        ("race", season, round, mode),
        lambda today: queries.race(served, season, round, mode, today),
    )
