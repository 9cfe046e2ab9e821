"""History is append-only: what a season partition about to replace the stored one would make disappear.

A source that answers consistently but short (a season's results with two rounds where the warehouse holds
twenty-four) looks healthy to every check that only reads the new rows; compared with the stored partition it is
plainly a loss. This module is that comparison, pure: the raw assets refuse to write a partition it finds losses in,
unless a person accepts them for one run (see `docs/operations.md`, "When a source loses history").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

ROW_TOLERANCE = 2
"""Rows (and entries) a season may lose without a person's say: a correction such as an entry struck from a
classification, or a duplicate the source removed. A whole race or session that had rows is never within it."""


@dataclass(frozen=True)
class HistoryShape:
    """How a table's history is counted within a season: `event` names a race or session (empty for a table with
    one row per race, such as the schedule), `entry` a row's identity within it (a driver, an hour)."""

    event: tuple[str, ...]
    entry: tuple[str, ...]


RESULTS_SHAPE = HistoryShape(event=("round",), entry=("driver_id", "number"))
"""Race, sprint and qualifying results: races with results, and each driver's result in them."""
SCHEDULE_SHAPE = HistoryShape(event=(), entry=("round",))
PRACTICE_SHAPE = HistoryShape(event=("round", "session"), entry=("driver_id",))
WEATHER_SHAPE = HistoryShape(event=("round",), entry=("time",))


@dataclass(frozen=True)
class SeasonLoss:
    """What one season would lose: whole events, entries (a driver's result), and rows."""

    season: str
    events: tuple[str, ...]
    entries: int
    rows: int

    def reason(self) -> str:
        parts = []
        if self.events:
            shown = ", ".join(self.events[:10]) + (
                f" and {len(self.events) - 10} more" if len(self.events) > 10 else ""
            )
            parts.append(f"{len(self.events)} race(s) or session(s) that had rows ({shown})")
        if self.entries:
            parts.append(f"{self.entries} entries")
        if self.rows:
            parts.append(f"{self.rows} rows")
        return f"season {self.season} would lose " + ", ".join(parts)


def season_losses(
    stored: pl.DataFrame,
    incoming: pl.DataFrame,
    seasons: Sequence[str],
    shape: HistoryShape,
    tolerance: int = ROW_TOLERANCE,
) -> list[SeasonLoss]:
    """The seasons whose incoming rows lose history: any event that had rows, or more than `tolerance` entries or
    rows. New races, new rows and changed values (a corrected result) are not losses."""
    losses = []
    for season in seasons:
        before = _season(stored, season)
        after = _season(incoming, season)
        if before.is_empty():
            continue
        events = _missing(before, after, list(shape.event)) if shape.event else ()
        entries = len(_missing(before, after, [*shape.event, *shape.entry]))
        rows = max(before.height - after.height, 0)
        if events or entries > tolerance or rows > tolerance:
            losses.append(SeasonLoss(season, events, entries, rows))
    return losses


def refusal(table: str, losses: Sequence[SeasonLoss], override: str) -> str:
    """The failure's message: which table, what would disappear, and how a person accepts it."""
    lines = [f"{table}: refused to replace stored history with the source's answer, which is shorter:"]
    lines += [f"- {loss.reason()}" for loss in losses]
    lines.append(f"The stored rows are unchanged. If the source really corrected this, rerun with {override}.")
    return "\n".join(lines)


def _season(frame: pl.DataFrame, season: str) -> pl.DataFrame:
    if frame.is_empty() or "season" not in frame.columns:
        return frame.clear()
    return frame.filter(pl.col("season").cast(pl.String) == season)


def _missing(before: pl.DataFrame, after: pl.DataFrame, key: list[str]) -> tuple[str, ...]:
    """Keys present before and absent after, as `a/b` labels, sorted."""
    old = before.select(pl.col(key).cast(pl.String)).unique()
    if after.is_empty():
        gone = old
    else:
        gone = old.join(after.select(pl.col(key).cast(pl.String)).unique(), on=key, how="anti", nulls_equal=True)
    labels = gone.select(pl.concat_str([pl.col(name).fill_null("?") for name in key], separator="/")).to_series()
    return tuple(sorted(labels.to_list(), key=_natural))


def _natural(label: str) -> tuple[tuple[int, str], ...]:
    """Round 2 before round 10."""
    return tuple((int(part), "") if part.isdigit() else (-1, part) for part in label.split("/"))
