"""Database URLs as our SQLAlchemy-based tools (dagster-postgres, Optuna, MLflow) need them."""

from __future__ import annotations

DAGSTER_POSTGRES_URL_ENV = "F1_DAGSTER_POSTGRES_URL"
"""The Dagster database's URL, driver named (`postgresql+psycopg2://`): read by the PostgreSQL instance files
(dagster_home/postgres/dagster.yaml, deploy/dagster.yaml), which fail to load without it."""


def with_psycopg2_driver(url: str) -> str:
    """Name the driver that is installed: SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg 3, which is not."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg2://" + url[len(scheme) :]
    return url
