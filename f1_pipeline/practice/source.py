"""Practice results from the configured source (`F1_PRACTICE_SOURCE`): the bundled data (default) or F1DB's
repository (live).

A setting of its own rather than `F1_DATA_SOURCE`: the two sources are different services, and the Ergast API going
live (the daily schedule does it for every run) must not send practice to GitHub unless asked to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from f1_pipeline.ergast.ingest import run_blocking
from f1_pipeline.ergast.source import DataSource
from f1_pipeline.practice.bundled import load_bundled
from f1_pipeline.practice.f1db import F1dbClient, fetch_seasons
from f1_pipeline.practice.raw import PracticeBatch


def load_practice(
    source: DataSource, seasons: Sequence[str], *, bundled_path: Path, client: Callable[[], F1dbClient]
) -> PracticeBatch:
    """`client` builds the live client only when the live source is asked for."""
    if source == "bundled":
        return load_bundled(bundled_path, seasons)
    if source == "live":
        return run_blocking(fetch_seasons(client(), seasons))
    raise ValueError(f"unknown data source {source!r}: use 'bundled' or 'live'")
