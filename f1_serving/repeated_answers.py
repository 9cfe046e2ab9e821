"""A request the API has already answered today, under the same served data, answered again without the router.

Clients poll: the same next-race question, with the same token, many times a minute. Through the router, such a
request costs FastAPI's routing, a `Request`, the query check and three dependency solves, about twice what the
answer itself costs. This middleware (the innermost, so the address budget, the body limit and every header of the
outer middleware apply as before) answers it from the response cache when `cached_json` remembers the same path and
query string answering it with the current data today. Everything the router's path checks still happens, in the
same order: the token names an existing account (otherwise the router answers, with its 401), the request counts
against that account's budget (a 429 when spent), and `If-None-Match` gets its 304. The bytes and headers are those
the router's path sends (`response_cache.answer`); any other request goes to the router untouched.
"""

from __future__ import annotations

from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from f1_serving.deps import limit_by_user
from f1_serving.errors import ApiError
from f1_serving.guards.middleware import send_error
from f1_serving.runtime import Runtime
from f1_serving.served.response_cache import answer, answer_key, utc_today


class RepeatedAnswers:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["method"] == "GET" and await _answered(scope, send)):
            await self.app(scope, receive, send)


async def _answered(scope: Scope, send: Send) -> bool:
    """Whether the request was answered here (its cached answer, or a 429); False leaves it to the router."""
    runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
    served = runtime.state.served if runtime is not None else None
    if runtime is None or served is None:
        return False
    entry = runtime.cache.answered(answer_key(served.version, utc_today(), scope))
    if entry is None:
        return False
    try:
        await limit_by_user(HTTPConnection(scope))  # the routes' own dependency: token, account, then budget
    except (ApiError, OperationalError):  # no valid token, no such account, or the accounts database unreachable:
        return False  # the router answers (401; 503 through the API's handler of OperationalError)
    except HTTPException as refused:
        await send_error(send, refused)
        return True
    status, headers, body = answer(scope, entry)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return True
