"""One thin router per resource, included by the app under the version prefix.

Included straight into the app, not through an intermediate router: FastAPI matches each level of included routers
candidate by candidate on every request. The most requested come first."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from f1_serving.routes import analytics, auth, championship, exports, health, model, predictions, races, users

API_ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router for module in (predictions, races, championship, analytics, exports, model, auth, users, health)
)


def operation_id(route: APIRoute) -> str:
    """The endpoint function's name (`get_next_race`, `list_races`): what the OpenAPI document and the clients
    generated from it call the operation, where FastAPI's default spells out path and method
    (`race_api_v1_predictions_races__season___round__get`)."""
    return route.name
