"""Dependencies the routes declare: the runtime, the settings, the caller, rate limits and the served data.

Tests replace any of them with `app.dependency_overrides`. Every dependency a request path solves is `async`: FastAPI
runs a plain `def` dependency in the threadpool, a thread round trip per dependency and request.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from f1_serving.client_address import client_address
from f1_serving.errors import ApiError
from f1_serving.middleware import tighter, too_many
from f1_serving.runtime import Runtime
from f1_serving.security import InvalidTokenError, token_subject
from f1_serving.serving_state import SUMMARIES, Served
from f1_serving.settings import ApiSettings
from f1_serving.users import User

TOKEN_URL = "/api/v1/auth/token"
_TOKEN = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL,
    auto_error=False,
    description=(
        "An access token from POST /api/v1/auth/register, /login or /token, sent as `Authorization: Bearer <token>`. "
        "On the docs page, Authorize logs in with your email (as the username) and password."
    ),
)
"""The security scheme every protected operation declares, so the OpenAPI document (and the docs page) knows to send
the token; it only reads the header (a missing or bad token is answered by the route's own 401)."""
TokenDep = Annotated[str | None, Depends(_TOKEN)]
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def _query_names(route: APIRoute) -> frozenset[str]:
    """Every query parameter a route or any of its dependencies declares (by the name clients send)."""
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        current = pending.pop()
        names.update(field.alias for field in current.query_params)
        pending.extend(current.dependencies)
    return frozenset(names)


async def reject_unknown_query(request: Request) -> None:
    """A misspelt parameter (`?seson=2023`) would otherwise be ignored and answer a question nobody asked."""
    if not request.query_params:
        return
    allowed = _query_names(request.scope["route"])
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "no query parameters"
        raise ApiError(
            422, "invalid_request", f"unknown query parameter {', '.join(unknown)}; this endpoint takes {takes}"
        )


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(runtime: RuntimeDep) -> ApiSettings:
    return runtime.settings


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with Session(runtime.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def current_user(runtime: RuntimeDep, token: TokenDep) -> User:
    """The account a valid, unexpired token names, if it still exists; one generic 401 for every other case."""
    return await _caller(runtime, token)


async def _caller(runtime: Runtime, token: str | None) -> User:
    if not token:
        raise ApiError(401, "not_authenticated", "send an access token: Authorization: Bearer <token>", _UNAUTHORIZED)
    try:
        user_id = uuid.UUID(token_subject(token, runtime.settings.secret_key.get_secret_value()))
    except (InvalidTokenError, ValueError) as error:
        raise ApiError(401, "invalid_token", "the access token is invalid or expired", _UNAUTHORIZED) from error
    user = await runtime.users.get(user_id)
    if user is None:
        raise ApiError(401, "invalid_token", "the access token is invalid or expired", _UNAUTHORIZED)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def _limit(request: Request, runtime: Runtime, key: str, limit: int) -> None:
    status = await runtime.limiter.hit(key, limit)
    runtime.limiter_degraded = status.degraded
    request.state.rate_limit = tighter(getattr(request.state, "rate_limit", None), status)
    if not status.allowed:
        raise too_many(status)


async def limit_by_user(request: Request, token: TokenDep) -> None:
    """The caller and its budget in one dependency rather than a tree of four: FastAPI spends about 10 us solving each
    dependency of each request, as much as the rest of a cached answer. (Every request, with or without a valid
    token, has already been counted against its address's budget by the `RequestGuard` middleware.)"""
    runtime: Runtime = request.app.state.runtime
    user = await _caller(runtime, token)
    await _limit(request, runtime, f"user:{user.id}", runtime.settings.rate_limit_per_minute)


async def limit_by_client(request: Request, runtime: RuntimeDep) -> None:
    """Before login there is no user: registration and login have a budget per client address (the user budget,
    tighter than the address's budget over all requests), which slows password guessing."""
    address = getattr(request.state, "client_address", None) or client_address(
        request.scope, runtime.settings.trusted_proxies
    )
    await _limit(request, runtime, f"client:{address}", runtime.settings.rate_limit_per_minute)


async def get_served(runtime: RuntimeDep) -> Served:
    served = runtime.state.served
    if served is None:
        problems = "; ".join(SUMMARIES[name] for name in sorted(runtime.state.problems)) or "loading"
        raise ApiError(503, "not_ready", f"no model and data to serve yet: {problems}", {"Retry-After": "10"})
    return served


ServedDep = Annotated[Served, Depends(get_served)]
