"""Liveness (the process answers) and readiness (it has a champion and published data to serve).

Both answer without a login, so readiness tells anonymous callers what is wrong only in general terms
(`serving_state.SUMMARIES`); the details (file paths, database errors, addresses) go to the log and to operators
who send `X-Operator-Token` with the value of `F1_OPERATOR_TOKEN`."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from f1_serving.deps import RuntimeDep, StrictQueryRoute
from f1_serving.schemas import Health, Readiness
from f1_serving.served.serving_state import SUMMARIES
from f1_serving.settings import ApiSettings

router = APIRouter(prefix="/health", tags=["health"], route_class=StrictQueryRoute)


@router.get("")
async def get_health() -> Health:
    """Liveness: 200 whenever the process answers."""
    return Health(status="ok")


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness, "description": "not ready"}})
async def get_readiness(
    runtime: RuntimeDep,
    operator_token: Annotated[
        str | None,
        Header(
            alias="X-Operator-Token",
            max_length=512,
            examples=["the-operator-token"],
            description="F1_OPERATOR_TOKEN's value: `problems` then holds each failure's full message",
        ),
    ] = None,
) -> JSONResponse:
    """200 once a champion and a publication are loaded (even if a source has failed since: see `degraded`)."""
    state = runtime.state
    detailed = _is_operator(runtime.settings, operator_token)
    served = state.served
    body = Readiness(
        ready=served is not None,
        model_version=served.champion.version if served else None,
        snapshot_id=served.publication.manifest.snapshot_id if served else None,
        refreshed_at=state.refreshed_at,
        degraded=runtime.degraded(),
        problems={name: error if detailed else SUMMARIES[name] for name, error in state.problems.items()},
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if served else 503)


def _is_operator(settings: ApiSettings, token: str | None) -> bool:
    expected = settings.operator_token
    if not token or expected is None:
        return False
    return hmac.compare_digest(token.encode(), expected.get_secret_value().encode())
