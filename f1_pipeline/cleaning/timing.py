"""Lap times, race times and gaps as the Ergast API writes them, turned into seconds.

The API writes one clock format for everything: "1:23.456" (a lap), "1:32:03.897" (a race),
"+5.155" or "+1:07.667" (a gap to the winner). One expression parses all of them so that every table
agrees on what a time means; `is_clock` is its row-level rule, so text that is not a clock reading is
quarantined rather than read as a number.
"""

from __future__ import annotations

import polars as pl

CLOCK_PATTERN = r"^\+?(?:(?:\d+:)?\d{1,2}:)?\d{1,2}(?:\.\d+)?$"


def clock_seconds(column: str) -> pl.Expr:
    """Seconds in "H:MM:SS.fff", "M:SS.fff" or "SS.fff", with or without a leading "+"; null otherwise."""
    text = pl.col(column).str.strip_chars()
    parts = text.str.strip_prefix("+").str.split(":")
    count = parts.list.len()

    def part(from_end: int) -> pl.Expr:
        return pl.when(count >= from_end).then(parts.list.get(-from_end, null_on_oob=True)).cast(pl.Float64)

    seconds = part(1) + part(2).fill_null(0.0) * 60 + part(3).fill_null(0.0) * 3600
    return pl.when(text.str.contains(CLOCK_PATTERN)).then(seconds)


def is_clock(column: str) -> pl.Expr:
    """True where the column is empty or a valid clock reading."""
    text = pl.col(column).str.strip_chars()
    return text.is_null() | (text == "") | text.str.contains(CLOCK_PATTERN)
