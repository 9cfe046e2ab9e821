"""Plain ASGI middleware (no per-request task or body copy, unlike Starlette's BaseHTTPMiddleware).

`BodyLimit` refuses oversized request bodies before any route reads them; `ServingHeaders` adds the rate-limit
headers a route's dependency recorded and, when the server is serving older data because a source failed,
`X-Serving-Degraded` naming the failed sources.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from f1_serving.errors import ErrorResponse

DEGRADED_HEADER = "X-Serving-Degraded"


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> HTTPException:
        """An HTTPException, because FastAPI turns anything else raised while it reads a body into a 400."""
        return HTTPException(413, f"the request body is larger than {self.max_bytes} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _send_error(send, self._too_large())
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise self._too_large()
            return message

        await self.app(scope, counted, send)


async def _send_error(send: Send, error: HTTPException) -> None:
    envelope = ErrorResponse(error=error.detail, error_code="payload_too_large")
    body = json.dumps(envelope.model_dump()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ServingHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *_headers(scope)]
            await send(message)

        await self.app(scope, receive, with_headers)


def _headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    headers = []
    status = scope.get("state", {}).get("rate_limit")
    if status is not None:
        headers += [
            (b"x-ratelimit-limit", str(status.limit).encode()),
            (b"x-ratelimit-remaining", str(status.remaining).encode()),
            (b"x-ratelimit-reset", str(status.reset_seconds).encode()),
        ]
    runtime = getattr(scope["app"].state, "runtime", None)
    degraded = runtime.degraded() if runtime is not None else []
    if degraded:
        headers.append((DEGRADED_HEADER.lower().encode(), ", ".join(degraded).encode()))
    return headers
