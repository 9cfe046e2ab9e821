"""Fetch whole seasons of one endpoint and flatten them into a raw table, with where each came from."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import polars as pl

from f1_pipeline.ergast.client import Endpoint, ErgastClient, Fetched
from f1_pipeline.ergast.flatten import columns_for, flatten

T = TypeVar("T")


@dataclass(frozen=True)
class RawBatch:
    frame: pl.DataFrame
    fetched: list[Fetched]
    fetched_at: datetime

    @property
    def pages(self) -> int:
        return sum(item.pages for item in self.fetched)

    def season(self, season: str) -> pl.DataFrame:
        return self.frame.filter(pl.col("season") == season)


async def fetch_seasons(client: ErgastClient, endpoint: Endpoint, seasons: Sequence[str]) -> RawBatch:
    """All rows of `endpoint` for `seasons`; any failed or malformed page fails the whole batch."""
    async with client:
        fetched = await asyncio.gather(*(client.fetch(endpoint, season) for season in seasons))
    empty = pl.DataFrame(schema={name: pl.String for name, _ in columns_for(endpoint)})
    return RawBatch(
        frame=pl.concat([empty, *(flatten(item) for item in fetched)]),
        fetched=list(fetched),
        fetched_at=datetime.now(UTC),
    )


def load_seasons(client: ErgastClient, endpoint: Endpoint, seasons: Sequence[str]) -> RawBatch:
    """`fetch_seasons` for synchronous callers, including those already inside an event loop (a notebook)."""
    return run_blocking(fetch_seasons(client, endpoint, seasons))


def run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, coroutine).result()
