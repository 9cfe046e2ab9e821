"""Build the client for the configured source: the bundled snapshot (default) or the live Jolpica API.

Both run the same `ErgastClient`; the snapshot only swaps the transport, and skips throttling and
backoff because reading a local file cannot be rate-limited or fail transiently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from f1_pipeline.ergast.client import ErgastClient, RetryPolicy
from f1_pipeline.ergast.snapshot import SnapshotTransport
from f1_pipeline.ergast.throttle import JOLPICA_LIMITS, RateLimit, Throttle

DataSource = Literal["snapshot", "live"]


def build_client(
    source: DataSource,
    *,
    base_url: str,
    snapshot_dir: Path,
    page_size: int,
    attempts: int,
    limits: tuple[RateLimit, ...] = JOLPICA_LIMITS,
    backoff_seconds: float = 1.0,
) -> ErgastClient:
    if source == "snapshot":
        return ErgastClient(
            base_url, transport=SnapshotTransport(snapshot_dir), page_size=page_size, retry=RetryPolicy(attempts=1)
        )
    if source == "live":
        return ErgastClient(
            base_url,
            throttle=Throttle(limits),
            page_size=page_size,
            retry=RetryPolicy(attempts=attempts, backoff_seconds=backoff_seconds),
        )
    raise ValueError(f"unknown data source {source!r}: use 'snapshot' or 'live'")
