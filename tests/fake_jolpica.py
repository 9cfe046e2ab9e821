"""A local stand-in for the Jolpica API: the bundled seasons, small pages, scripted failures.

Used by the live-mode tests, and by hand to try `F1_DATA_SOURCE=live` offline:

    python -m tests.fake_jolpica --port 8765 --page-cap 30 --fail-every 10 --rate-limit-every 25
    F1_DATA_SOURCE=live F1_ERGAST_BASE_URL=http://127.0.0.1:8765/ergast/f1 make run SEASONS=2020...2021
"""

import argparse
import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from f1_pipeline.ergast.snapshot import BUNDLED_SNAPSHOT, SnapshotTransport


class FakeJolpica:
    """An ASGI app: every `fail_every`-th request answers 503, every `rate_limit_every`-th 429 with Retry-After."""

    def __init__(
        self,
        snapshot_dir: Path = BUNDLED_SNAPSHOT,
        page_cap: int = 30,
        fail_every: int = 0,
        rate_limit_every: int = 0,
        retry_after: str = "1",
    ) -> None:
        self.transport = SnapshotTransport(snapshot_dir, max_limit=page_cap)
        self.fail_every = fail_every
        self.rate_limit_every = rate_limit_every
        self.retry_after = retry_after
        self.requests: list[tuple[str, int]] = []
        self._lock = asyncio.Lock()

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        if scope["type"] != "http":
            return
        async with self._lock:
            number = len(self.requests) + 1
            status, headers, body = await self._answer(scope, number)
            self.requests.append((scope["path"], status))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: dict, number: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if self.rate_limit_every and number % self.rate_limit_every == 0:
            return 429, [(b"retry-after", self.retry_after.encode())], b'{"detail": "rate limited"}'
        if self.fail_every and number % self.fail_every == 0:
            return 503, [], b"Service Unavailable"
        query = scope["query_string"].decode()
        request = httpx.Request("GET", f"http://fake{scope['path']}" + (f"?{query}" if query else ""))
        response = await self.transport.handle_async_request(request)
        await response.aread()
        return response.status_code, [(b"content-type", b"application/json")], response.content


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(app: FakeJolpica) -> Iterator[str]:
    """Run `app` on 127.0.0.1 in a thread; yields the base URL to give `F1_ERGAST_BASE_URL`."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the fake Jolpica server did not start")
        threading.Event().wait(0.02)
    try:
        yield f"http://127.0.0.1:{port}/ergast/f1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--page-cap", type=int, default=30)
    parser.add_argument("--fail-every", type=int, default=0)
    parser.add_argument("--rate-limit-every", type=int, default=0)
    args = parser.parse_args()
    app = FakeJolpica(page_cap=args.page_cap, fail_every=args.fail_every, rate_limit_every=args.rate_limit_every)
    uvicorn.run(app, host="127.0.0.1", port=args.port, lifespan="off")


if __name__ == "__main__":
    main()
