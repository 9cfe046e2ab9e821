"""Seasons as partitions: 1950 to the current season, growing by itself on the first of January."""

from __future__ import annotations

import warnings

import dagster as dg

# Single-run backfills are what make 77 seasons one run; the parameter is marked beta, knowingly used.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

FIRST_SEASON = "1950"

season_partitions = dg.TimeWindowPartitionsDefinition(
    start=FIRST_SEASON, cron_schedule="0 0 1 1 *", fmt="%Y", end_offset=1
)
"""Yearly windows keyed "1950" ... "2026"; `end_offset=1` includes the season under way."""

SINGLE_RUN = dg.BackfillPolicy.single_run()
"""Every asset takes a range of seasons in one run: 77 seasons are one run, not 77."""
