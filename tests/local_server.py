"""Serving an ASGI app on 127.0.0.1 in a thread of the test process, and the scripted failures of the fake sources.

Used by the fake live sources (Jolpica, F1DB, Open-Meteo) and by the browser tests, which run the real API."""

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
"""Status, headers and body of one HTTP answer."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(app: Any, path: str = "", lifespan: str = "off", **options: Any) -> Iterator[str]:
    """Run `app` under uvicorn on a free loopback port; yields its base URL (with `path` appended)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server for {type(app).__name__} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class FlakyServer:
    """An ASGI app logging every request with its status: every `fail_every`-th request answers 503, every
    `rate_limit_every`-th 429 with Retry-After, and the others what `answer` says."""

    rate_limited_body = b'{"message": "rate limited"}'

    def __init__(self, fail_every: int = 0, rate_limit_every: int = 0, retry_after: str = "1") -> None:
        self.fail_every = fail_every
        self.rate_limit_every = rate_limit_every
        self.retry_after = retry_after
        self.requests: list[tuple[str, int]] = []
        self._lock = asyncio.Lock()

    async def __call__(self, scope: dict, receive: object, send: Any) -> None:
        if scope["type"] != "http":
            return
        async with self._lock:
            number = len(self.requests) + 1
            status, headers, body = self._scripted(number) or await self.answer(scope)
            self.requests.append((scope["path"], status))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _scripted(self, number: int) -> Answer | None:
        if self.rate_limit_every and number % self.rate_limit_every == 0:
            return 429, [(b"retry-after", self.retry_after.encode())], self.rate_limited_body
        if self.fail_every and number % self.fail_every == 0:
            return 503, [], b"Service Unavailable"
        return None

    async def answer(self, scope: dict) -> Answer:
        raise NotImplementedError
