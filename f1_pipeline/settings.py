"""Every pipeline setting, read from `F1_*` environment variables, with the embedded default.

One place reads the environment so that the README's table, the Dagster resources and the tests
agree on names and defaults. Nothing here opens a file or a connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from f1_pipeline.ergast.client import JOLPICA_BASE_URL, MAX_PAGE_SIZE
from f1_pipeline.ergast.snapshot import BUNDLED_SNAPSHOT
from f1_pipeline.ergast.source import DataSource

REPO_ROOT = Path(__file__).resolve().parent.parent


class PipelineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="F1_", frozen=True, extra="ignore")

    data_source: DataSource = "snapshot"
    ergast_base_url: str = Field(default=JOLPICA_BASE_URL, pattern=r"^https?://[^\s/]+")
    snapshot_dir: Path = BUNDLED_SNAPSHOT
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=1000)
    request_attempts: int = Field(default=5, ge=1)
    retry_backoff_seconds: float = Field(default=1.0, ge=0)
    requests_per_second: int = Field(default=4, ge=1)
    requests_per_hour: int = Field(default=500, ge=1)
    warehouse_path: Path = REPO_ROOT / "warehouse" / "f1.duckdb"
    dagster_executor: Literal["in_process", "multiprocess"] = "in_process"
