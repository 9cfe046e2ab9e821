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

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def _table(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a table name: {name!r}")
    return name


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

    def replace_table(self, name: str, frame: pl.DataFrame) -> None:
        table = _table(name)
        with self.connect() as con:
            con.register("incoming", frame)
            con.execute("begin transaction")
            self._ensure_schema(con, table)
            con.execute(f"create or replace table {table} as select * from incoming")
            con.execute("commit")

    def replace_partitions(self, name: str, frame: pl.DataFrame, column: str, values: Sequence[str]) -> None:
        """Replace exactly the rows whose `column` is in `values` with `frame`'s rows."""
        table = _table(name)
        if frame.height and not frame.get_column(column).is_in(list(values)).fill_null(False).all():
            raise ValueError(f"rows outside partitions {list(values)} (or without a {column}) offered to {table}")
        with self.connect() as con:
            con.register("incoming", frame)
            con.execute("begin transaction")
            self._ensure_schema(con, table)
            con.execute(f"create table if not exists {table} as select * from incoming limit 0")
            con.execute(f'delete from {table} where "{column}" in (select unnest(?))', [list(values)])
            con.execute(f"insert into {table} by name select * from incoming")
            con.execute("commit")

    def read(self, name: str) -> pl.DataFrame:
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

    @staticmethod
    def _ensure_schema(con: duckdb.DuckDBPyConnection, table: str) -> None:
        if "." in table:
            con.execute(f"create schema if not exists {table.split('.')[0]}")
