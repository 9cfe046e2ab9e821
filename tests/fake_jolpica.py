"""A local stand-in for the Jolpica API: the bundled seasons, small pages, scripted failures.

Used by the live-mode tests, and by hand to try `F1_DATA_SOURCE=live` offline:

    python -m tests.fake_jolpica --port 8765 --page-cap 30 --fail-every 10 --rate-limit-every 25
    F1_DATA_SOURCE=live F1_ERGAST_BASE_URL=http://127.0.0.1:8765/ergast/f1 make run SEASONS=2020...2021
"""

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from f1_pipeline.ergast.bundled import BUNDLED_ERGAST, BundledTransport
from tests import local_server
from tests.local_server import Answer, FlakyServer, free_port

__all__ = ["FakeJolpica", "free_port", "serving"]


class FakeJolpica(FlakyServer):
    """An ASGI app serving the bundled data's pages, capped at `page_cap` rows, with scripted failures."""

    rate_limited_body = b'{"detail": "rate limited"}'

    def __init__(
        self,
        bundled_dir: Path = BUNDLED_ERGAST,
        page_cap: int = 30,
        fail_every: int = 0,
        rate_limit_every: int = 0,
        retry_after: str = "1",
    ) -> None:
        super().__init__(fail_every, rate_limit_every, retry_after)
        self.transport = BundledTransport(bundled_dir, max_limit=page_cap)

    async def answer(self, scope: dict) -> Answer:
        query = scope["query_string"].decode()
        request = httpx.Request("GET", f"http://fake{scope['path']}" + (f"?{query}" if query else ""))
        response = await self.transport.handle_async_request(request)
        await response.aread()
        return response.status_code, [(b"content-type", b"application/json")], response.content


@contextmanager
def serving(app: FakeJolpica) -> Iterator[str]:
    """Run `app` on 127.0.0.1 in a thread; yields the base URL to give `F1_ERGAST_BASE_URL`."""
    with local_server.serving(app, "/ergast/f1") as url:
        yield url


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
