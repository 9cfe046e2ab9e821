"""Row-level rules: a row that breaks one is set aside with the reason instead of being dropped.

Each rule is a named boolean expression that is true where a row is bad. `split` returns the good rows
and, for the others, one quarantine record each (table, key, every reason that applies, the raw row as
JSON), so a corrupt value is visible and recoverable rather than silently lost or silently coerced.
`flag` records the same for rows that are kept with the bad value read as null: an unreadable birth date
does not remove a driver, but it is on record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from f1_pipeline.contracts import REQUIRED, Column, Contract
from f1_pipeline.tables import QUARANTINE

QUARANTINE_CONTRACT = Contract(
    QUARANTINE.qualified,
    QUARANTINE.row,
    (
        Column(
            "source_table",
            pl.String,
            "the clean table the row was meant for (each cleaning asset replaces its own)",
            REQUIRED,
        ),
        Column(
            "row_key",
            pl.String,
            "the row's key in that table, its values joined by '/' (an empty part: a missing value)",
            REQUIRED,
        ),
        Column(
            "reason",
            pl.String,
            "every rule the row breaks, joined by '; ' (a kept row's say it was read as null)",
            REQUIRED,
        ),
        Column(
            "row", pl.String, "the raw row as JSON, every value as the source gave it, to correct and reload", REQUIRED
        ),
    ),
)
QUARANTINE_SCHEMA = pl.Schema(QUARANTINE_CONTRACT.schema)


def not_int(column: str) -> pl.Expr:
    """True where a non-empty value is not an integer."""
    value = pl.col(column).str.strip_chars()
    return value.is_not_null() & (value != "") & value.cast(pl.Int64, strict=False).is_null()


def not_number(column: str) -> pl.Expr:
    value = pl.col(column).str.strip_chars()
    return value.is_not_null() & (value != "") & value.cast(pl.Float64, strict=False).is_null()


def missing(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def as_date(column: str) -> pl.Expr:
    """The API's ISO date (YYYY-MM-DD), null otherwise: the one date format every table reads."""
    return pl.col(column).str.strip_chars().str.to_date("%Y-%m-%d", strict=False)


def not_date(column: str) -> pl.Expr:
    value = pl.col(column).str.strip_chars()
    return value.is_not_null() & (value != "") & as_date(column).is_null()


def outside(column: str, low: float, high: float) -> pl.Expr:
    value = pl.col(column).str.strip_chars().cast(pl.Float64, strict=False)
    return value.is_not_null() & ((value < low) | (value > high))


def kept(entity: str, rules: Mapping[str, pl.Expr]) -> dict[str, pl.Expr]:
    """Rules for `flag`: each reason says the bad value was read as null and the row kept."""
    return {f"{reason} (read as null, {entity} kept)": rule for reason, rule in rules.items()}


def _marked(frame: pl.DataFrame, rules: Mapping[str, pl.Expr]) -> pl.DataFrame:
    """`frame` with `__reasons`: every rule a row breaks. A rule that cannot be evaluated for a row
    (null, e.g. a comparison with a missing value) counts as broken: a row is good only when every rule
    says so."""
    failures = [pl.when(rule.fill_null(True)).then(pl.lit(reason)) for reason, rule in rules.items()]
    return frame.with_columns(__reasons=pl.concat_list(failures).list.drop_nulls())


def _records(marked: pl.DataFrame, table: str, key: Sequence[str]) -> pl.DataFrame:
    columns = [column for column in marked.columns if column != "__reasons"]
    return marked.filter(pl.col("__reasons").list.len() > 0).select(
        source_table=pl.lit(table),
        row_key=pl.concat_str([pl.col(column).fill_null("") for column in key], separator="/"),
        reason=pl.col("__reasons").list.join("; "),
        row=pl.struct(columns).struct.json_encode(),
    )


def flag(frame: pl.DataFrame, table: str, key: Sequence[str], rules: Mapping[str, pl.Expr]) -> pl.DataFrame:
    """Quarantine records for the rows that break a rule; the rows themselves stay where they are."""
    if not rules or frame.height == 0:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    return _records(_marked(frame, rules), table, key)


def split(
    frame: pl.DataFrame, table: str, key: Sequence[str], rules: Mapping[str, pl.Expr]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows that pass every rule, quarantine records for the rest)."""
    if not rules or frame.height == 0:
        return frame, pl.DataFrame(schema=QUARANTINE_SCHEMA)
    marked = _marked(frame, rules)
    good = marked.filter(pl.col("__reasons").list.len() == 0).drop("__reasons")
    return good, _records(marked, table, key)
