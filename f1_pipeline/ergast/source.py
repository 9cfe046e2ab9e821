"""Build the client for the configured source: the bundled data (default) or the live Jolpica API.

Both run the same `ErgastClient`; the bundled data only swaps the transport, and skips throttling and
backoff because reading a local file cannot be rate-limited or fail transiently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from f1_pipeline.ergast.bundled import BundledTransport
from f1_pipeline.ergast.client import ErgastClient
from f1_pipeline.http_source.client import RetryPolicy
from f1_pipeline.http_source.throttle import Throttle

DataSource = Literal["bundled", "live"]


def build_client(
    source: DataSource,
    *,
    base_url: str,
    bundled_dir: Path,
    page_size: int,
    attempts: int,
    backoff_seconds: float,
    throttle: Throttle,
) -> ErgastClient:
    """`throttle` is shared by every client of a run, so the hourly budget holds across assets."""
    if source == "bundled":
        return ErgastClient(
            base_url, transport=BundledTransport(bundled_dir), page_size=page_size, retry=RetryPolicy(attempts=1)
        )
    if source == "live":
        retry = RetryPolicy(attempts=attempts, backoff_seconds=backoff_seconds)
        return ErgastClient(base_url, throttle=throttle, page_size=page_size, retry=retry)
    raise ValueError(f"unknown data source {source!r}: use 'bundled' or 'live'")
