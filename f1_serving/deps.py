"""Dependencies the routes declare: the runtime, the settings, the caller, rate limits and the served data, and the
route class that refuses unknown query parameters.

Tests replace any of them with `app.dependency_overrides`. Every dependency a request path solves is `async`: FastAPI
runs a plain `def` dependency in the threadpool, a thread round trip per dependency and request. And each one is a
cost of its own: FastAPI spends about 10 us solving a dependency (or a sub-dependency) per request, as much as the
rest of a cached answer, so the hot path solves as few as it can: the caller and its budget are one dependency, the
served data another, and the query check is no dependency at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from f1_serving.accounts.security import InvalidTokenError, token_subject
from f1_serving.accounts.users import User
from f1_serving.errors import ApiError
from f1_serving.guards.client_address import client_address
from f1_serving.guards.middleware import tighter, too_many
from f1_serving.runtime import Runtime
from f1_serving.served.serving_state import SUMMARIES, Served
from f1_serving.settings import ApiSettings

TOKEN_URL = "/api/v1/auth/token"
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


class StrictQueryRoute(APIRoute):
    """A route that answers 422 to a query parameter it does not take: a misspelt one (`?seson=2023`) would otherwise
    be ignored and answer a question nobody asked. Checked before any dependency (so before the token), against the
    names the route and its dependencies declare, collected once when the route is built."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        allowed = _query_names(self)
        takes = ", ".join(sorted(allowed)) or "no query parameters"

        async def strict(request: Request) -> Response:
            if request.scope["query_string"]:
                unknown = sorted(set(request.query_params) - allowed)
                if unknown:
                    raise ApiError(
                        422,
                        "invalid_request",
                        f"unknown query parameter {', '.join(unknown)}; this endpoint takes {takes}",
                    )
            return await handler(request)

        return strict


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


async def _caller(runtime: Runtime, token: str | None) -> User:
    """The account a valid, unexpired token names, if it still exists; one generic 401 for every other case."""
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


async def _limit(request: HTTPConnection, runtime: Runtime, key: str, limit: int) -> None:
    status = await runtime.limiter.hit(key, limit)
    runtime.limiter_degraded = status.degraded
    request.state.rate_limit = tighter(getattr(request.state, "rate_limit", None), status)
    if not status.allowed:
        raise too_many(status)


class _CallerWithinBudget(OAuth2PasswordBearer):
    """The security scheme every protected operation declares, so the OpenAPI document (and the docs page) knows to
    send the token, and in the same dependency the caller and its budget (one dependency rather than a tree of four).
    Every request, with or without a valid token, has already been counted against its address's budget by the
    `RequestGuard` middleware."""

    # The scheme's dependency answers the caller rather than the bare token: a deliberate narrowing of the base.
    async def __call__(self, request: HTTPConnection) -> User:  # type: ignore[override]
        runtime: Runtime = request.app.state.runtime
        user = await _caller(runtime, await super().__call__(request))
        await _limit(request, runtime, f"user:{user.id}", runtime.settings.rate_limit_per_minute)
        return user


limit_by_user = _CallerWithinBudget(
    tokenUrl=TOKEN_URL,
    scheme_name="OAuth2PasswordBearer",
    auto_error=False,
    description=(
        "An access token from POST /api/v1/auth/register, /login or /token, sent as `Authorization: Bearer <token>`. "
        "On the docs page, Authorize logs in with your email (as the username) and password."
    ),
)
"""A router's dependency; a route that needs the account too declares `CurrentUser`, the same dependency, which
FastAPI solves once per request."""
CurrentUser = Annotated[User, Depends(limit_by_user)]


async def limit_by_client(request: Request) -> None:
    """Before login there is no user: registration and login have a budget per client address (the user budget,
    tighter than the address's budget over all requests), which slows password guessing."""
    runtime: Runtime = request.app.state.runtime
    address = getattr(request.state, "client_address", None) or client_address(
        request.scope, runtime.settings.trusted_proxies
    )
    await _limit(request, runtime, f"client:{address}", runtime.settings.rate_limit_per_minute)


async def get_served(request: Request) -> Served:
    runtime: Runtime = request.app.state.runtime
    served = runtime.state.served
    if served is None:
        problems = "; ".join(SUMMARIES[name] for name in sorted(runtime.state.problems)) or "loading"
        raise ApiError(503, "not_ready", f"no model and data to serve yet: {problems}", {"Retry-After": "10"})
    return served


ServedDep = Annotated[Served, Depends(get_served)]
