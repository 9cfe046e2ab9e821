"""A table's columns declared once: each column's name, type, meaning, the rule its values keep and an example value.

What readers and checks need of a table is derived from its `Contract`: the schema a reader checks
(`Contract.schema`), the value rules a publication is refused on (`Contract.rules`), the Great Expectations keys and
values suites of a warehouse table (`quality.suites.declared_keys`, `declared_values`), the column descriptions of
the Dagster asset metadata, the API's field descriptions (`field_docs`) and the docs' table reference
(`reference_markdown`). Adding a column is one `Column` in one contract; nothing else spells its type or meaning.
Polars only (no Dagster, no Great Expectations), so the CLI, the API and notebooks import it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import polars as pl

Schema = Mapping[str, "pl.DataType | type[pl.DataType]"]
"""Columns a table must hold and their types; a table may hold more (readers ignore what they do not use)."""


@dataclass(frozen=True)
class ColumnRule:
    """What every value of one column must be: present (`not_null`), a finite number (`finite`: no NaN or
    infinity), within `within` (inclusive; numbers or dates) and one of `allowed`. A null passes `finite`, `within`
    and `allowed`, so that `not_null` alone says whether a column may be empty."""

    not_null: bool = False
    finite: bool = False
    within: tuple[object, object] | None = None
    allowed: tuple[object, ...] | None = None


@dataclass(frozen=True)
class SumRule:
    """`column` sums to `total` (within `tolerance`) over each group of rows sharing `per`: a distribution."""

    column: str
    per: tuple[str, ...]
    total: float = 1.0
    tolerance: float = 1e-6


@dataclass(frozen=True)
class ValueRules:
    """A table's value contract beside its schema: a rule per column, and sums per group. A rule on a column the
    table lacks is left to the schema check; columns without a rule are not looked at (tables may carry more)."""

    columns: Mapping[str, ColumnRule]
    sums: tuple[SumRule, ...] = ()


REQUIRED = ColumnRule(not_null=True)
FINITE = ColumnRule(finite=True)
"""A number that is not NaN or infinite, or null."""


def within(low: object, high: object) -> ColumnRule:
    """Any value from `low` to `high` (inclusive), or null."""
    return ColumnRule(within=(low, high))


PROBABILITY = ColumnRule(not_null=True, finite=True, within=(0.0, 1.0))
SHARE = ColumnRule(finite=True, within=(0.0, 1.0))
"""A share or a probability from 0 to 1, or null."""
SEASON = ColumnRule(not_null=True, within=(1950, 2100))
ROUND = ColumnRule(not_null=True, within=(1, 99))
RACE_DATE = ColumnRule(not_null=True, within=(date(1950, 1, 1), date(2100, 12, 31)))


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType | type[pl.DataType]
    description: str
    """What a value means, for a person: the same words in the asset metadata, the API and the docs."""
    rule: ColumnRule | None = None
    """What every value must be; None: any value of the type."""
    example: Any = None
    """A typical value as the API shows it; None for a column the API documents no example of."""

    def ruled(self, rule: ColumnRule) -> Column:
        """The same column under another rule (a season is required in one table and a bound in another)."""
        return replace(self, rule=rule)


@dataclass(frozen=True)
class Contract:
    """A table's guaranteed columns, in the order they are written, and the sums its rows keep. A table may carry
    more columns (a reader relies only on the declared ones), so a column a reader starts to use is declared here."""

    name: str
    row: str
    """What one row is."""
    columns: tuple[Column, ...]
    sums: tuple[SumRule, ...] = ()
    key: tuple[str, ...] = ()
    """Columns no two rows share all of; empty: none declared."""
    may_be_empty: bool = False
    """Whether a complete publication may hold no rows of it (a table that fills only once enough history exists)."""

    def __post_init__(self) -> None:
        names = [column.name for column in self.columns]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"the table {self.name} declares {', '.join(repeated)} more than once")
        undeclared = sorted({name for rule in self.sums for name in (rule.column, *rule.per)} - set(names))
        if undeclared:
            raise ValueError(f"the table {self.name} sums over undeclared columns: {', '.join(undeclared)}")
        if not set(self.key) <= set(names):
            raise ValueError(
                f"the table {self.name} is keyed on undeclared columns: {sorted(set(self.key) - set(names))}"
            )

    @property
    def schema(self) -> Schema:
        return {column.name: column.dtype for column in self.columns}

    @property
    def rules(self) -> ValueRules:
        return ValueRules(
            {column.name: column.rule for column in self.columns if column.rule is not None}, sums=self.sums
        )

    @property
    def descriptions(self) -> dict[str, str]:
        return {column.name: column.description for column in self.columns}

    def column(self, name: str) -> Column:
        """The declared column `name`, for a table that holds the same column in the same words."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"the table {self.name} declares no column {name!r}")


def field_docs(contracts: Iterable[Contract], choose: Mapping[str, str]) -> dict[str, Column]:
    """Every column name of `contracts` with its one declaration, for documents keyed by name alone (the API's field
    descriptions). A name declared with different meanings in different tables (the points of one race, the points
    of a season) is left out, unless `choose` names the table whose column the name stands for."""
    declared: dict[str, dict[str, Column]] = {}
    for contract in contracts:
        for column in contract.columns:
            declared.setdefault(column.name, {})[contract.name] = column
    unknown = sorted(name for name, table in choose.items() if table not in declared.get(name, {}))
    if unknown:
        raise ValueError(f"no such column to choose: {', '.join(unknown)}")
    fields = {}
    for name, by_table in declared.items():
        meanings = {(column.description, repr(column.example)) for column in by_table.values()}
        if name in choose:
            fields[name] = by_table[choose[name]]
        elif len(meanings) == 1:
            fields[name] = next(iter(by_table.values()))
    return fields


def reference_markdown(contracts: Iterable[Contract]) -> str:
    """Each table under a heading: what a row is, then its columns with type, meaning and rule, then its sums."""
    sections = []
    for contract in contracts:
        lines = [
            f"## `{contract.name}`",
            "",
            f"One row is {contract.row}.",
            "",
            "| column | type | meaning | every value |",
            "|---|---|---|---|",
        ]
        lines += [_reference_row(column) for column in contract.columns]
        lines += [
            "",
            *(f"- `{rule.column}` sums to {rule.total:g} per {', '.join(rule.per)}" for rule in contract.sums),
            *([f"- one row per {', '.join(contract.key)}"] if contract.key else []),
        ]
        sections.append("\n".join(lines).rstrip())
    return "\n\n".join(sections) + "\n"


def _reference_row(column: Column) -> str:
    return (
        f"| `{column.name}` | {_type_name(column.dtype)} | {_cell(column.description)} | {_rule_words(column.rule)} |"
    )


def _type_name(dtype: pl.DataType | type[pl.DataType]) -> str:
    return str(dtype() if isinstance(dtype, type) else dtype)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _rule_words(rule: ColumnRule | None) -> str:
    if rule is None:
        return ""
    words = ["present" if rule.not_null else "", "finite" if rule.finite else ""]
    if rule.within is not None:
        low, high = (value.isoformat() if isinstance(value, date) else value for value in rule.within)
        words.append(f"from {low} to {high}")
    if rule.allowed is not None:
        words.append("one of " + ", ".join(str(value) for value in rule.allowed))
    return ", ".join(word for word in words if word)


def schema_problems(frame: pl.DataFrame, schema: Schema) -> list[str]:
    """What `frame` lacks of `schema`: missing columns, and columns of another kind of type. Kinds, not exact
    types: an Int32 where Int64 is declared, or a Datetime in another unit, reads the same to every consumer."""
    problems = []
    for column, declared in schema.items():
        actual = frame.schema.get(column)
        if actual is None:
            problems.append(f"column {column!r} is missing")
        elif _type_kind(actual) != _type_kind(declared):
            problems.append(f"column {column!r} is {actual}, declared {declared}")
    return problems


def value_problems(frame: pl.DataFrame, rules: ValueRules) -> list[str]:
    """How `frame`'s values break `rules`, each with a count and the first offending value: empty when they hold."""
    problems = []
    for column, rule in rules.columns.items():
        if column not in frame.columns:
            continue
        values = frame.get_column(column)
        if rule.not_null and values.null_count():
            problems.append(f"column {column!r} has {values.null_count()} null value(s)")
        if rule.finite and values.dtype.is_float():
            broken = values.drop_nulls().filter(~values.drop_nulls().is_finite())
            if broken.len():
                problems.append(f"column {column!r} has {broken.len()} value(s) that are not finite, e.g. {broken[0]}")
        if rule.within is not None:
            low, high = rule.within
            present = values.drop_nulls()
            if present.dtype.is_float():
                present = present.filter(~present.is_nan())
            outside = present.filter((present < low) | (present > high))
            if outside.len():
                problems.append(
                    f"column {column!r} has {outside.len()} value(s) outside [{low}, {high}], e.g. {outside[0]}"
                )
        if rule.allowed is not None:
            unknown = values.drop_nulls().filter(~values.drop_nulls().is_in(rule.allowed))
            if unknown.len():
                problems.append(f"column {column!r} has {unknown.len()} value(s) not allowed, e.g. {unknown[0]}")
    for distribution in rules.sums:
        if (
            distribution.column not in frame.columns
            or not set(distribution.per) <= set(frame.columns)
            or frame.is_empty()
        ):
            continue
        totals = frame.group_by(distribution.per, maintain_order=True).agg(
            pl.col(distribution.column).sum().alias("total")
        )
        off = totals.filter(~((pl.col("total") - distribution.total).abs() <= distribution.tolerance))
        if off.height:
            example = off.row(0, named=True)
            group = ", ".join(f"{key}={example[key]}" for key in distribution.per)
            problems.append(
                f"column {distribution.column!r} sums to {example['total']} (not {distribution.total}) in "
                f"{off.height} group(s) of {', '.join(distribution.per)}, e.g. {group}"
            )
    return problems


def _type_kind(dtype: pl.DataType | type[pl.DataType]) -> str:
    if dtype.is_integer():
        return "integer"
    if dtype.is_float():
        return "float"
    return dtype.base_type().__name__
