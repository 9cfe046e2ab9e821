"""Lap times, race times and gaps as the Ergast API writes them, turned into seconds.

The API writes one clock format for everything: "1:23.456" (a lap), "1:32:03.897" (a race),
"+5.155" or "+1:07.667" (a gap to the winner). One parser serves all of them so that every
table agrees on what a time means.
"""

from __future__ import annotations

import re

import polars as pl

_CLOCK = re.compile(r"^\+?(?:(?:(\d+):)?(\d{1,2}):)?(\d{1,2}(?:\.\d+)?)$")
_CLOCK_PATTERN = r"^\+?(?:(?:\d+:)?\d{1,2}:)?\d{1,2}(?:\.\d+)?$"


def clock_to_seconds(text: str | None) -> float | None:
    """Seconds in "H:MM:SS.fff", "M:SS.fff", "SS.fff" (optionally with a leading "+"); None when empty.

    Raises ValueError for text that is not a clock reading, so a corrupt value is never read as a number.
    """
    if text is None or not text.strip():
        return None
    match = _CLOCK.match(text.strip())
    if match is None:
        raise ValueError(f"not a lap time or gap: {text!r}")
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


def clock_seconds_expr(column: str) -> pl.Expr:
    """The vectorised twin of `clock_to_seconds`: null for empty or unparseable text."""
    text = pl.col(column).str.strip_chars().str.strip_prefix("+")
    parts = text.str.split(":")
    n = parts.list.len()
    seconds = parts.list.get(-1, null_on_oob=True).cast(pl.Float64, strict=False)
    minutes = pl.when(n >= 2).then(parts.list.get(-2, null_on_oob=True).cast(pl.Float64, strict=False)).otherwise(0.0)
    hours = pl.when(n >= 3).then(parts.list.get(-3, null_on_oob=True).cast(pl.Float64, strict=False)).otherwise(0.0)
    valid = pl.col(column).str.strip_chars().str.contains(_CLOCK_PATTERN)
    return pl.when(valid).then(hours * 3600 + minutes * 60 + seconds).otherwise(None)


def is_clock_expr(column: str) -> pl.Expr:
    """True where the column is empty or a valid clock reading: the row-level rule for time columns."""
    text = pl.col(column).str.strip_chars()
    return text.is_null() | (text == "") | text.str.contains(_CLOCK_PATTERN)
