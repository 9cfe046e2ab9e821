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
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from f1_serving.errors import ApiError
from f1_serving.runtime import Runtime
from f1_serving.security import InvalidTokenError, token_subject
from f1_serving.serving_state import Served
from f1_serving.settings import ApiSettings
from f1_serving.users import User

_BEARER = HTTPBearer(auto_error=False, description="the access token from /api/v1/auth/register or /login")
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


async def current_user(
    runtime: RuntimeDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
) -> User:
    """The account a valid, unexpired token names, if it still exists; one generic 401 for every other case."""
    return await _caller(runtime, credentials)


async def _caller(runtime: Runtime, credentials: HTTPAuthorizationCredentials | None) -> User:
    if credentials is None:
        raise ApiError(401, "not_authenticated", "send an access token: Authorization: Bearer <token>", _UNAUTHORIZED)
    try:
        user_id = uuid.UUID(token_subject(credentials.credentials, runtime.settings.secret_key.get_secret_value()))
    except (InvalidTokenError, ValueError) as error:
        raise ApiError(401, "invalid_token", "the access token is invalid or expired", _UNAUTHORIZED) from error
    user = await runtime.users.get(user_id)
    if user is None:
        raise ApiError(401, "invalid_token", "the access token is invalid or expired", _UNAUTHORIZED)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def _limit(request: Request, runtime: Runtime, key: str) -> None:
    status = await runtime.limiter.hit(key)
    runtime.limiter_degraded = status.degraded
    request.state.rate_limit = status
    if not status.allowed:
        raise ApiError(
            429,
            "rate_limited",
            f"more than {status.limit} requests in a minute; retry in {status.reset_seconds} s",
            {"Retry-After": str(status.reset_seconds)},
        )


async def limit_by_user(request: Request) -> None:
    """The caller and its budget in one dependency rather than a tree of four: FastAPI spends about 10 us solving each
    dependency of each request, as much as the rest of a cached answer."""
    runtime: Runtime = request.app.state.runtime
    user = await _caller(runtime, await _BEARER(request))
    await _limit(request, runtime, f"user:{user.id}")


async def limit_by_client(request: Request, runtime: RuntimeDep) -> None:
    """Before login there is no user: the budget belongs to the client address (it also slows password guessing)."""
    await _limit(request, runtime, f"client:{request.client.host if request.client else 'unknown'}")


async def get_served(runtime: RuntimeDep) -> Served:
    served = runtime.state.served
    if served is None:
        problems = "; ".join(runtime.state.problems.values()) or "loading"
        raise ApiError(503, "not_ready", f"no model and data to serve yet: {problems}", {"Retry-After": "10"})
    return served


ServedDep = Annotated[Served, Depends(get_served)]
