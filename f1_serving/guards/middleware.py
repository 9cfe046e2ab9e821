"""Plain ASGI middleware (no per-request task or body copy, unlike Starlette's BaseHTTPMiddleware), outermost first:

- `ServingHeaders` adds the security headers to every response (an unexpected error's 500 included, which it
  answers itself), `Cache-Control: no-store` to API answers that set
  no caching of their own, the rate-limit headers of the tightest budget the request was counted against and, when
  the server is serving older data because a source failed, `X-Serving-Degraded` naming the failed sources;
- `RequestGuard` refuses oversized headers (431), resolves the client's address (`client_address`) and counts every
  request against that address's budget (429), whatever the path and whether or not a token comes with it; it also
  warns once when the development secret is in use on a non-loopback address;
- `BodyLimit` refuses oversized request bodies before any route reads them.
"""

from __future__ import annotations

import json
import logging

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from f1_serving.errors import CODES, ErrorResponse
from f1_serving.guards.client_address import client_address
from f1_serving.guards.exposure import is_exposed, warn_exposed
from f1_serving.guards.rate_limit import RateLimitStatus

LOGGER = logging.getLogger(__name__)
UNEXPECTED = HTTPException(500, "the server failed to answer; the error is logged")
DEGRADED_HEADER = "X-Serving-Degraded"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""Only this server's own files run: scripts from its static folders (the dashboard's, the API docs' vendored
Swagger UI and ReDoc, whose inline start-up script a docs page allows by its hash). Inline styles are allowed for
the charts' SVG attributes and ReDoc's generated styles; no page may be framed by another site."""
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
_CSP_HEADER = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())
API_PATH = "/api/"


class RequestGuard:
    def __init__(self, app: ASGIApp, max_header_bytes: int, max_headers: int, development_secret: bool) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self._unwarned = development_secret
        self._loopback: set[tuple[object, ...]] = set()
        """Server addresses already seen to be loopback: the check parses an address, once per address."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._unwarned and (server := tuple(scope.get("server") or ())) not in self._loopback:
            if is_exposed(scope):
                self._unwarned = False
                warn_exposed(scope)
            else:
                self._loopback.add(server)
        headers = scope["headers"]
        size = sum(len(name) + len(value) for name, value in headers)
        if len(headers) > self.max_headers or size > self.max_header_bytes:
            detail = f"send at most {self.max_headers} headers and {self.max_header_bytes} bytes of them"
            await send_error(send, HTTPException(431, detail))
            return
        runtime = getattr(scope["app"].state, "runtime", None)
        if runtime is not None:
            address = client_address(scope, runtime.settings.trusted_proxies)
            state = scope.setdefault("state", {})
            state["client_address"] = address
            status = await runtime.limiter.hit(f"address:{address}", runtime.settings.client_rate_limit_per_minute)
            runtime.limiter_degraded = status.degraded
            state["rate_limit"] = status
            if not status.allowed:
                await send_error(send, too_many(status), _rate_limit_headers(status))
                return
        await self.app(scope, receive, send)


def too_many(status: RateLimitStatus) -> HTTPException:
    return HTTPException(
        429,
        f"more than {status.limit} requests in a minute; retry in {status.reset_seconds} s",
        {"Retry-After": str(status.reset_seconds)},
    )


def tighter(current: RateLimitStatus | None, new: RateLimitStatus) -> RateLimitStatus:
    """The budget a client should watch: a refusal first, else the one with fewer requests left."""
    if current is None or (not new.allowed and current.allowed):
        return new
    if not current.allowed and new.allowed:
        return current
    return new if new.remaining < current.remaining else current


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
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await send_error(send, self._too_large())
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


async def send_error(send: Send, error: HTTPException, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    """The error envelope, sent from middleware (outside FastAPI's exception handlers)."""
    envelope = ErrorResponse(error=error.detail, error_code=CODES[error.status_code])
    body = json.dumps(envelope.model_dump()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in (error.headers or {}).items()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ServingHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = _headers(scope, list(message.get("headers", ())))
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            # Answered here, not by an exception handler (which Starlette runs outside every middleware), so that
            # a 500 carries the security headers like every other answer.
            LOGGER.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await send_error(with_headers, UNEXPECTED)


def _headers(scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    headers += SECURITY_HEADERS
    if b"content-security-policy" not in present:
        headers.append(_CSP_HEADER)
    if b"cache-control" not in present and scope["path"].startswith(API_PATH):
        headers.append((b"cache-control", b"no-store"))
    status = scope.get("state", {}).get("rate_limit")
    if status is not None and b"x-ratelimit-limit" not in present:
        headers += _rate_limit_headers(status)
    runtime = getattr(scope["app"].state, "runtime", None)
    degraded = runtime.degraded() if runtime is not None else []
    if degraded:
        headers.append((DEGRADED_HEADER.lower().encode(), ", ".join(degraded).encode()))
    return headers


def _rate_limit_headers(status: RateLimitStatus) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-ratelimit-limit", str(status.limit).encode()),
        (b"x-ratelimit-remaining", str(status.remaining).encode()),
        (b"x-ratelimit-reset", str(status.reset_seconds).encode()),
    ]
