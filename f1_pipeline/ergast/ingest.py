"""Fetch whole seasons of one endpoint and flatten them into a raw table, with where they came from."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from f1_pipeline.ergast.client import Endpoint, ErgastClient
from f1_pipeline.ergast.flatten import columns_for, flatten


@dataclass(frozen=True)
class RawBatch:
    frame: pl.DataFrame
    urls: list[str]
    pages: int
    fetched_at: datetime


async def fetch_seasons(client: ErgastClient, endpoint: Endpoint, seasons: Sequence[str]) -> RawBatch:
    """All rows of `endpoint` for `seasons`; any failed or malformed page fails the whole batch."""
    async with client:
        fetched = await asyncio.gather(*(client.fetch(endpoint, season) for season in seasons))
    frames = [flatten(item) for item in fetched]
    empty = pl.DataFrame(schema={name: pl.String for name, _ in columns_for(endpoint)})
    return RawBatch(
        frame=pl.concat([empty, *frames]),
        urls=[item.url for item in fetched],
        pages=sum(item.pages for item in fetched),
        fetched_at=datetime.now(UTC),
    )
