"""Which model answers: the registry's champion, as this server resolved and loaded it."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from f1_serving.deps import RuntimeDep, ServedDep, StrictQueryRoute, limit_by_user
from f1_serving.errors import error_responses
from f1_serving.schemas import ModelInfo
from f1_serving.served.queries import champion_decision

router = APIRouter(prefix="/model", tags=["model"], dependencies=[Depends(limit_by_user)], route_class=StrictQueryRoute)


@router.get("", responses=error_responses(401, 429, 503))
async def get_model(runtime: RuntimeDep, served: ServedDep) -> ModelInfo:
    """The champion as this server loaded it (version, training run, metrics), the decision that made it the
    champion (the registry gate's, or an operator's), the snapshot it serves, and which sources failed at the last
    refresh (`degraded`)."""
    champion = served.champion
    return ModelInfo(
        name=champion.name,
        version=champion.version,
        alias=champion.alias,
        run_id=champion.run_id,
        trained_at=champion.trained_at,
        registered_at=champion.registered_at,
        families=dict(champion.families),
        metrics=dict(champion.metrics),
        predictions_snapshot=served.publication.manifest.snapshot_id,
        published_by_version=served.publication.manifest.model_version,
        became_champion=champion_decision(served),
        degraded=runtime.degraded(),
    )
