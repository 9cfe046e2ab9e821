"""Row-level rules: a row that breaks one is set aside with the reason instead of being dropped.

Each rule is a named boolean expression that is true where a row is bad. `split` returns the good rows
and, for the others, one quarantine record each (table, key, every reason that applies, the raw row as
JSON), so a corrupt value is visible and recoverable rather than silently lost or silently coerced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

QUARANTINE_SCHEMA = {"source_table": pl.String, "row_key": pl.String, "reason": pl.String, "row": pl.String}


def not_int(column: str) -> pl.Expr:
    """True where a non-empty value is not an integer."""
    value = pl.col(column).str.strip_chars()
    return value.is_not_null() & (value != "") & value.cast(pl.Int64, strict=False).is_null()


def not_number(column: str) -> pl.Expr:
    value = pl.col(column).str.strip_chars()
    return value.is_not_null() & (value != "") & value.cast(pl.Float64, strict=False).is_null()


def missing(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def outside(column: str, low: float, high: float) -> pl.Expr:
    value = pl.col(column).str.strip_chars().cast(pl.Float64, strict=False)
    return value.is_not_null() & ((value < low) | (value > high))


def split(
    frame: pl.DataFrame, table: str, key: Sequence[str], rules: Mapping[str, pl.Expr]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows that pass every rule, quarantine records for the rest)."""
    if not rules or frame.height == 0:
        return frame, pl.DataFrame(schema=QUARANTINE_SCHEMA)
    failures = [pl.when(rule.fill_null(False)).then(pl.lit(reason)) for reason, rule in rules.items()]
    reasons = pl.concat_list(failures).list.drop_nulls()
    marked = frame.with_columns(__reasons=reasons)
    bad = marked.filter(pl.col("__reasons").list.len() > 0)
    quarantined = bad.select(
        source_table=pl.lit(table),
        row_key=pl.concat_str([pl.col(column).fill_null("") for column in key], separator="/"),
        reason=pl.col("__reasons").list.join("; "),
        row=pl.struct(frame.columns).struct.json_encode(),
    )
    good = marked.filter(pl.col("__reasons").list.len() == 0).drop("__reasons")
    return good, quarantined
