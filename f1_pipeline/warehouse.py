"""The DuckDB warehouse: replace a table or some of its partitions in one transaction, read it back.

Writes are all-or-nothing (delete and insert share a transaction), so a failed or killed step never
leaves half a season behind. DuckDB lets one process write at a time; a connection that finds the file
locked waits and tries again instead of failing the step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from f1_pipeline.tables import Table

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def _table(name: str | Table) -> str:
    """The pipeline names its tables through `f1_pipeline.tables`; any other name (a test's scratch table) is checked
    to be a plain identifier before it goes into SQL."""
    qualified = str(name)
    if not _IDENTIFIER.match(qualified):
        raise ValueError(f"not a table name: {qualified!r}")
    return qualified


class MissingTableError(LookupError):
    """A table was read before the asset that writes it was materialized."""


class Warehouse:
    def __init__(self, path: Path | str, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only

    @retry(
        retry=retry_if_exception_type(duckdb.IOException),
        wait=wait_exponential(multiplier=0.1, max=2),
        stop=stop_after_delay(120),
        reraise=True,
    )
    def _connect(self) -> duckdb.DuckDBPyConnection:
        if not self.read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(self.path), read_only=self.read_only)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        connection = self._connect()
        try:
            yield connection
        finally:
            connection.close()

    @contextmanager
    def transaction(self) -> Iterator[Writes]:
        """Writes that land together or not at all (a failure or a kill rolls every one of them back)."""
        with self.connect() as con:
            con.execute("begin transaction")
            try:
                yield Writes(con)
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")

    def replace_table(self, name: str | Table, frame: pl.DataFrame) -> None:
        with self.transaction() as writes:
            writes.replace_table(name, frame)

    def replace_partitions(self, name: str | Table, frame: pl.DataFrame, column: str, values: Sequence[str]) -> None:
        with self.transaction() as writes:
            writes.replace_partitions(name, frame, column, values)

    def read(self, name: str | Table) -> pl.DataFrame:
        table = _table(name)
        with self.connect() as con:
            try:
                return con.sql(f"select * from {table}").pl()
            except duckdb.CatalogException as error:
                raise MissingTableError(f"{table} is not in the warehouse {self.path}: materialize it first") from error

    def query(self, sql: str, parameters: Sequence[object] = ()) -> pl.DataFrame:
        with self.connect() as con:
            return con.sql(sql, params=list(parameters) or None).pl()

    def tables(self) -> set[str]:
        if not self.path.exists():
            return set()
        with self.connect() as con:
            rows = con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
        return {row[0] for row in rows}


class Writes:
    """The writes of one open transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def replace_table(self, name: str | Table, frame: pl.DataFrame) -> None:
        table = self._prepare(name, frame)
        self._con.execute(f"create or replace table {table} as select * from incoming")

    def replace_partitions(self, name: str | Table, frame: pl.DataFrame, column: str, values: Sequence[str]) -> None:
        """Replace exactly the rows whose `column` is in `values` with `frame`'s rows."""
        if frame.height and not frame.get_column(column).is_in(list(values)).fill_null(False).all():
            raise ValueError(f"rows outside partitions {list(values)} (or without a {column}) offered to {name}")
        table = self._prepare(name, frame)
        self._con.execute(f"create table if not exists {table} as select * from incoming limit 0")
        self._con.execute(f'delete from {table} where "{column}" in (select unnest(?))', [list(values)])
        self._con.execute(f"insert into {table} by name select * from incoming")

    def _prepare(self, name: str | Table, frame: pl.DataFrame) -> str:
        table = _table(name)
        if "." in table:
            self._con.execute(f"create schema if not exists {table.split('.')[0]}")
        self._con.register("incoming", frame)
        return table
