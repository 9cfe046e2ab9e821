"""Building the API for tests: settings under a temporary directory, and a registered user's token."""

import functools
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from f1_pipeline.settings import PipelineSettings
from f1_serving.guards.rate_limit import rate_limiter
from f1_serving.main import create_app
from f1_serving.settings import ApiSettings

PASSWORD = "Sup3rSecret"


def api_settings(root: Path, pipeline: PipelineSettings | None = None, **overrides: Any) -> ApiSettings:
    """The API over a pipeline's registry and publication (or empty ones under `root`), users under `root`."""
    located = (
        {
            "mlflow_tracking_uri": pipeline.mlflow_tracking_uri,
            "mlflow_artifact_location": pipeline.mlflow_artifact_location,
            "serving_dir": pipeline.serving_dir,
        }
        if pipeline
        else {"mlflow_tracking_uri": empty_registry(root), "serving_dir": root / "serving"}
    )
    return ApiSettings(
        **{
            "users_database_url": f"sqlite:///{root / 'users.db'}",
            "refresh_seconds": 3600,  # tests refresh explicitly
            **located,
            **overrides,
        }
    )


def stopped_clock() -> Callable[[], float]:
    stopped = time.time()
    return lambda: stopped


@contextmanager
def api_client(settings: ApiSettings, clock: Callable[[], float] | None = None) -> Iterator[TestClient]:
    """A started app whose budgets count every request in one minute: its limiter's clock is stopped (`clock`, by
    default when the app starts), so a test of a small budget never straddles two calendar-minute windows, and never
    waits for a new one to start."""
    with TestClient(create_app(settings)) as client:
        runtime = client.app.state.runtime
        client.portal.call(runtime.limiter.aclose)
        runtime.limiter = rate_limiter(settings.redis_url, clock or stopped_clock(), settings.api_replicas)
        yield client


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.org"


def register(client: TestClient, email: str | None = None, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/register", json={"email": email or new_email(), "password": password})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@functools.cache
def _empty_registry_template() -> Path:
    """An MLflow database with its tables created once per test process: creating them takes seconds per app."""
    path = Path(tempfile.mkdtemp(prefix="f1-empty-registry-")) / "mlflow.db"
    uri = f"sqlite:///{path}"
    MlflowClient(tracking_uri=uri, registry_uri=uri).search_registered_models()
    return path


def empty_registry(root: Path) -> str:
    """A tracking URI of an empty registry of its own under `root`."""
    path = root / "mlflow.db"
    if not path.exists():
        shutil.copyfile(_empty_registry_template(), path)
    return f"sqlite:///{path}"


@contextmanager
def api_on_a_copy(
    pipeline: PipelineSettings, root: Path
) -> Iterator[tuple[PipelineSettings, TestClient, dict[str, str]]]:
    """The API over a copy of the pipeline's registry database and publication under `root`, so a test can move the
    champion, republish, or break and restore them; yields the copy's settings, a client and a user's header."""
    shutil.copy(pipeline.mlflow_tracking_uri.removeprefix("sqlite:///"), root / "mlflow.db")
    shutil.copytree(pipeline.serving_dir, root / "serving")
    copy = pipeline.model_copy(
        update={"mlflow_tracking_uri": f"sqlite:///{root / 'mlflow.db'}", "serving_dir": root / "serving"}
    )
    with TestClient(create_app(api_settings(root, copy))) as client:
        yield copy, client, bearer(register(client))


def champion_as_a_new_version(settings: PipelineSettings) -> tuple[ModelVersion, ModelVersion]:
    """The champion's model registered again as a new version and given the alias: a new champion whose predictions
    are the old one's. Returns (the old champion, the new)."""
    registry = MlflowClient(settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)
    current = registry.get_model_version_by_alias(settings.registered_model_name, "champion")
    promoted = registry.create_model_version(
        settings.registered_model_name, current.source, run_id=current.run_id, tags=current.tags
    )
    registry.set_registered_model_alias(settings.registered_model_name, "champion", promoted.version)
    return current, promoted


def refresh(client: TestClient) -> None:
    """What the server's periodic refresh does, now."""
    client.portal.call(client.app.state.runtime.refresh)
