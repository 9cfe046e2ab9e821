"""The OpenAPI document is complete: every protected operation declares its security (so the docs page sends the
token), the OAuth2 password flow the docs page logs in with, every status the server can send, and a description
and an example for every operation, parameter and field."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from f1_serving.main import create_app
from f1_serving.schemas import Registration
from tests.api_support import PASSWORD, api_settings, bearer, new_email, register

PUBLIC = {"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/token", "/api/v1/health", "/api/v1/health/ready"}
SERVES_DATA = ("/api/v1/predictions", "/api/v1/races", "/api/v1/analytics", "/api/v1/export", "/api/v1/model")


@pytest.fixture(scope="module")
def document(tmp_path_factory):
    return create_app(api_settings(tmp_path_factory.mktemp("openapi"))).openapi()


def _operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_protected_operation_declares_the_oauth2_scheme_and_its_401(document):
    scheme = document["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    protected = [(path, method, op) for path, method, op in _operations(document) if path not in PUBLIC]
    assert len(protected) >= 12
    for path, method, operation in protected:
        assert operation.get("security") == [{"OAuth2PasswordBearer": []}], f"{method} {path}"
        assert "401" in operation["responses"], f"{method} {path}"
    for path, method, operation in _operations(document):
        if path in PUBLIC:
            assert "security" not in operation, f"{method} {path} needs no token"


def test_every_status_the_server_can_send_is_documented(document):
    for path, method, operation in _operations(document):
        statuses = set(operation["responses"])
        assert {"413", "422", "429", "431"} <= statuses, f"{method} {path}: {sorted(statuses)}"
        if path.startswith(SERVES_DATA):
            assert "503" in statuses, f"{method} {path}"
    token = document["paths"]["/api/v1/auth/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert "401" in token["responses"]


def test_every_operation_parameter_and_field_is_described_with_an_example(document):
    for path, method, operation in _operations(document):
        assert operation.get("description"), f"{method} {path} has no description"
        for parameter in operation.get("parameters", []):
            where = f"{method} {path} {parameter['name']}"
            assert parameter.get("description"), where
            assert parameter.get("examples") or parameter["schema"].get("examples"), where
    for name, schema in document["components"]["schemas"].items():
        if name in {"HTTPValidationError", "ValidationError"} or name.startswith("Body_"):
            continue
        for field, spec in schema.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{field} has no description"
            if "$ref" not in spec and spec.get("type") != "array" and "additionalProperties" not in spec:
                assert spec.get("examples") or spec.get("enum") or spec.get("const"), f"{name}.{field} no example"


def test_the_register_example_is_a_valid_registration(document):
    [example] = document["components"]["schemas"]["Registration"]["examples"]
    assert Registration.model_validate(example).email == "ann@example.org"


def test_the_password_grant_logs_in_like_login(tmp_path):
    with TestClient(create_app(api_settings(tmp_path))) as client:
        email = new_email()
        register(client, email)
        form = {"grant_type": "password", "username": email.upper(), "password": PASSWORD}
        granted = client.post("/api/v1/auth/token", data=form)
        assert granted.status_code == 200 and granted.json()["token_type"] == "bearer"
        me = client.get("/api/v1/users/me", headers=bearer(granted.json()["access_token"]))
        assert me.json()["email"] == email
        wrong = client.post("/api/v1/auth/token", data={**form, "password": "Wr0ngPassword"})
        assert wrong.status_code == 401 and wrong.json()["error_code"] == "invalid_credentials"
        hostile = client.post("/api/v1/auth/token", data={**form, "username": "a\x00@example.org"})
        assert hostile.status_code == 422


def test_each_documented_error_has_an_example_of_its_own_status(document):
    """Not one envelope (`invalid_token`) shown for every status: the example's code is the one the status sends."""
    seen = {}
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            content = response.get("content", {}).get("application/json", {})
            if not status.startswith(("4", "5")) or not content["schema"]["$ref"].endswith("/ErrorResponse"):
                continue  # the readiness probe's 503 is its own report
            example = content["example"]
            assert set(example) == {"error", "error_code"}, f"{method} {path} {status}"
            seen.setdefault(status, set()).add(example["error_code"])
    assert len(seen) >= 8
    assert all(len(codes) == 1 for codes in seen.values()), seen
    codes = {status: next(iter(found)) for status, found in seen.items()}
    assert codes["404"] == "race_not_found" and codes["429"] == "rate_limited" and codes["409"] == "email_taken"
    assert len(set(codes.values())) == len(codes), "every status has its own example"


def test_the_200_examples_describe_one_race(document):
    """The venue, date and freshness fields of the examples belong to the same race and day, not a 2025 race with
    2026 freshness."""
    race = document["components"]["schemas"]["NextRacePredictions"]["properties"]
    example = {name: race[name]["examples"][0] for name in ("season", "round", "race_name", "date", "circuit_name")}
    assert example == {
        "season": 2026,
        "round": 12,
        "race_name": "Dutch Grand Prix",
        "date": "2026-08-23",
        "circuit_name": "Circuit Park Zandvoort",
    }
    through = race["data_through"]["examples"][0]
    assert through["season"] == example["season"] and through["round"] == example["round"] - 1
    assert race["local_starts_at"]["examples"][0].startswith(example["date"])
    assert race["starts_at"]["examples"][0].startswith(example["date"])


def test_every_operation_id_is_a_unique_name_for_people_and_documented(document):
    """Generated clients name their calls after the operation ids: `get_next_race`, not FastAPI's default spelled
    from path and method (`next_race_api_v1_predictions_next_race_get`)."""
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids)) == 20
    documented = (Path(__file__).parents[3] / "docs" / "api.md").read_text()
    for path, method, operation in _operations(document):
        name = operation["operationId"]
        assert re.fullmatch(r"(get|list|export|create|register|log|delete)(_[a-z]+)+", name), f"{method} {path}: {name}"
        assert "api_v1" not in name and not name.endswith(f"_{method}"), name
        assert f"`{name}`" in documented, f"{name} is not in docs/api.md"
