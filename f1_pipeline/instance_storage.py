"""Dagster instance storage chosen by the environment: PostgreSQL when a URL is set, SQLite otherwise.

`dagster.yaml` cannot branch on an environment variable, and a PostgreSQL block fails outright when
its variable is unset. This configurable class is what `dagster_home/dagster.yaml` names instead:
the laptop gets SQLite under `DAGSTER_HOME` with no setup, and production sets one variable. The
choice is made again in every process that loads the instance (webserver, daemon, run workers).

The one place the project uses Dagster's internals (tests/unit/pipeline/test_dagster_public_api.py holds it to these
imports): Dagster loads only a subclass of its storage base class here, and exports neither that class, its SQLite
storage nor the configurable-class protocol.
"""

from __future__ import annotations

import os
from typing import Any

from dagster import Field, StringSource
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClass, ConfigurableClassData

from f1_pipeline.database_urls import with_psycopg2_driver

POSTGRES_URL_ENV = "F1_DAGSTER_POSTGRES_URL"


def postgres_url_of(variable: str = POSTGRES_URL_ENV) -> str:
    """The PostgreSQL URL the instance's storage uses; empty for SQLite under `DAGSTER_HOME`."""
    return os.environ.get(variable, "").strip()


class EnvSelectedStorage(DagsterStorage, ConfigurableClass):
    """Never instantiated: `from_config_value` returns the PostgreSQL or the SQLite storage."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {
            "sqlite_base_dir": Field(StringSource, description="Where SQLite storage lives when no URL is set."),
            "postgres_url_env": Field(str, default_value=POSTGRES_URL_ENV, is_required=False),
        }

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]) -> DagsterStorage:  # type: ignore[override]
        postgres_url = postgres_url_of(config_value.get("postgres_url_env", POSTGRES_URL_ENV))
        if postgres_url:
            from dagster_postgres import DagsterPostgresStorage

            return DagsterPostgresStorage(postgres_url=with_psycopg2_driver(postgres_url), inst_data=inst_data)
        return DagsterSqliteStorage(base_dir=config_value["sqlite_base_dir"], inst_data=inst_data)
