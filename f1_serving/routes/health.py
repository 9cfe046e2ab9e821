"""Liveness (the process answers) and readiness (it has a champion and published data to serve)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from f1_serving.deps import RuntimeDep
from f1_serving.schemas import Health, Readiness

router = APIRouter(prefix="/health", tags=["health"])


@router.get("")
async def health() -> Health:
    return Health(status="ok")


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness, "description": "not ready"}})
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """200 once a champion and a publication are loaded (even if a source has failed since: see `degraded`)."""
    state = runtime.state
    served = state.served
    body = Readiness(
        ready=served is not None,
        model_version=served.champion.version if served else None,
        snapshot_id=served.publication.manifest.snapshot_id if served else None,
        refreshed_at=state.refreshed_at,
        degraded=runtime.degraded(),
        problems=dict(state.problems),
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if served else 503)
