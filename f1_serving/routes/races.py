"""The season calendar, with each race's status and winner."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from f1_serving.deps import ServedDep, StrictQueryRoute, limit_by_user
from f1_serving.errors import error_responses
from f1_serving.schemas import Calendar
from f1_serving.served import queries
from f1_serving.served.response_cache import CONDITIONAL_GET, cached_json

router = APIRouter(prefix="/races", tags=["races"], dependencies=[Depends(limit_by_user)], route_class=StrictQueryRoute)


@router.get(
    "/{season}",
    response_model=Calendar,
    responses=error_responses(401, 404, 422, 429, 503),
    openapi_extra=CONDITIONAL_GET,
)
async def list_races(
    request: Request,
    served: ServedDep,
    season: Annotated[int, Path(ge=1950, le=2100, description="the season", examples=[2025])],
) -> Response:
    """The season's races: date, start time (UTC and local), circuit, status, the winner once run (a race without
    results has no winner fields), the next race flagged, and how fresh the data is."""
    return cached_json(
        request, served.version, ("calendar", season), lambda today: queries.calendar(served, season, today)
    )
