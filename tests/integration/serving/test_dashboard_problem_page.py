"""The dashboard's problem page, shown to anyone, says what is wrong in general terms only: the details (paths, SQL,
exception text) stay in the log and behind the operator token, as for readiness."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from f1_serving.main import create_app
from f1_serving.served.serving_state import SUMMARIES
from tests.api_support import api_settings


def nothing_published(root: Path) -> dict[str, object]:
    return {}


def broken_pointer_and_registry(root: Path) -> dict[str, object]:
    """`CURRENT` names no snapshot, and the registry is a file that is not a database."""
    (root / "serving").mkdir()
    (root / "serving" / "CURRENT").write_text("not-a-snapshot\n")
    (root / "mlflow.db").write_text("this is not a database")
    return {"mlflow_tracking_uri": f"sqlite:///{root / 'mlflow.db'}"}


def unreadable_snapshot(root: Path) -> dict[str, object]:
    """`CURRENT` names a snapshot whose manifest is not JSON."""
    snapshot = root / "serving" / "snapshots" / "20261125T072233Z-3f9a1c2b"
    snapshot.mkdir(parents=True)
    (snapshot / "manifest.json").write_text("{not json")
    (root / "serving" / "CURRENT").write_text("20261125T072233Z-3f9a1c2b\n")
    return {}


@pytest.mark.parametrize("failure", [nothing_published, broken_pointer_and_registry, unreadable_snapshot])
def test_the_problem_page_names_no_path_sql_or_exception(tmp_path, failure):
    settings = api_settings(tmp_path, **failure(tmp_path))
    with TestClient(create_app(settings)) as client:
        runtime = client.app.state.runtime
        page = client.get("/")
        assert page.status_code == 503 and runtime.state.problems  # the details are there, for the log
        text = page.text
        for detail in runtime.state.problems.values():
            assert detail not in text
        leaks = [str(tmp_path), "/tmp", "SQL", "sqlite", "Error", "Traceback", "not-a-snapshot", "CURRENT", "json"]
        assert [word for word in leaks if word in text] == []
        assert all(SUMMARIES[name] in text for name in runtime.state.problems)
