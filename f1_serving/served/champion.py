"""The champion: whichever registered version the `champion` alias names, loaded with what the API reports of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mlflow.pyfunc import PyFuncModel
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

from f1_pipeline.registry.tracking import CHAMPION, ModelRegistry, comparison_metrics, families_of


@dataclass(frozen=True)
class Champion:
    name: str
    version: str
    alias: str
    run_id: str
    registered_at: datetime
    trained_at: datetime | None
    metrics: Mapping[str, float]
    """The training run's own metrics, and its comparison runs' as `<mode>.<model>.<metric>` (model families,
    baselines)."""
    families: Mapping[str, str]
    model: PyFuncModel
    params: Mapping[str, str] = field(default_factory=dict)
    """The training run's params: the season split and each mode's model family."""


def _utc(milliseconds: int | None) -> datetime | None:
    return None if milliseconds is None else datetime.fromtimestamp(milliseconds / 1000, UTC)


def champion_version(registry: ModelRegistry) -> str | None:
    """The version the alias names now (None when no champion is set); raises when the registry cannot answer."""
    version = registry.champion()
    return None if version is None else str(version.version)


def load_champion(registry: ModelRegistry, version: str) -> Champion:
    """The version's model, its training run's metrics and params and what it was compared with
    (`models:/<name>@champion` resolved to `version`); read once per champion, never per request."""
    registered = registry.version(version)
    if registered.run_id is None:
        raise ValueError(f"version {version} of {registry.model_name} was not logged from a run")
    client = registry.client()
    run = client.get_run(registered.run_id)
    return Champion(
        name=registry.model_name,
        version=version,
        alias=CHAMPION,
        run_id=registered.run_id,
        registered_at=_utc(registered.creation_timestamp) or datetime.now(UTC),
        trained_at=_utc(run.info.start_time),
        metrics={**comparison_metrics(client, run), **run.data.metrics},
        families=families_of(registered),
        model=registry.load(version),
        params=dict(run.data.params),
    )


def reconnect(registry: ModelRegistry) -> None:
    """Close the registry's pooled database connections, so the next look-up opens the database afresh.

    MLflow keeps one SQLAlchemy engine per database URI for the whole process (class-level maps of its stores, whose
    instances it caches too). A pooled SQLite connection stays on the file it opened: a database restored by `mv` (a
    new file) would never be seen through it. Disposing the engine keeps it usable: it connects again on demand."""
    for store in (TrackingStore, RegistryStore):
        engine = store._engine_map.get(registry.tracking_uri)
        if engine is not None:
            engine.dispose()
