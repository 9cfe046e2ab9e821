"""One thin router per resource; `api_router` assembles them under the version prefix."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from f1_serving.deps import reject_unknown_query
from f1_serving.routes import analytics, auth, exports, health, model, predictions, races, users

api_router = APIRouter(dependencies=[Depends(reject_unknown_query)])
for module in (auth, users, predictions, races, analytics, exports, model, health):
    api_router.include_router(module.router)
