"""Hostile requests get a 4xx in the error envelope, never a 500: oversized bodies, malformed JSON, unknown routes
and methods, injection-looking input; and the users table survives them."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from f1_serving.accounts.users import User
from f1_serving.main import create_app
from tests.api_support import PASSWORD, api_settings, bearer, new_email, register


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    settings = api_settings(tmp_path_factory.mktemp("security"), rate_limit_per_minute=10_000)
    with TestClient(create_app(settings)) as client:
        yield client


def _envelope(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_code"} and body["error_code"] == code and body["error"]


def test_a_body_over_the_limit_is_refused_before_it_is_read(client):
    big = {"email": new_email(), "password": "Aa1" + "x" * 100_000}
    _envelope(client.post("/api/v1/auth/register", json=big), 413, "payload_too_large")


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(client):
    def chunks():
        yield b'{"email": "a@example.org", "password": "'
        for _ in range(100):
            yield b"A1a" * 1000
        yield b'"}'

    response = client.post("/api/v1/auth/register", content=chunks(), headers={"Content-Type": "application/json"})
    _envelope(response, 413, "payload_too_large")


def test_a_lying_content_length_is_refused(client):
    response = client.post(
        "/api/v1/auth/login", content=b"{}", headers={"Content-Length": "-1", "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 413)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"email": 5, "password": []}',
        b'{"email": "a@example.org"}',
        b'{"email": "a@example.org", "password": "Passw0rdOK", "is_admin": true}',
        "\udcff".encode("utf-8", "surrogatepass"),
    ],
)
def test_malformed_bodies_get_422(client, body):
    response = client.post("/api/v1/auth/register", content=body, headers={"Content-Type": "application/json"})
    _envelope(response, 422, "invalid_request")


def test_unknown_routes_and_methods_use_the_envelope(client):
    _envelope(client.get("/api/v1/nothing-here"), 404, "not_found")
    _envelope(client.put("/api/v1/auth/login", json={}), 405, "method_not_allowed")


@pytest.mark.parametrize(
    "email",
    [
        "' OR '1'='1' --@example.org",
        "admin@example.org'; DROP TABLE users; --",
        "robert'); DELETE FROM users;--@example.org",
        "${jndi:ldap://127.0.0.1/a}@example.org",
    ],
)
def test_injection_looking_credentials_are_refused_and_change_nothing(client, email):
    token = register(client)
    engine = client.app.state.runtime.engine
    with Session(engine) as session:
        before = session.scalar(select(func.count()).select_from(User))
    login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code in (401, 422)
    signup = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert signup.status_code in (201, 422)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(User)) == before + (signup.status_code == 201)
    assert client.get("/api/v1/users/me", headers=bearer(token)).status_code == 200


def test_injection_looking_headers_are_just_invalid_tokens(client):
    for value in ("Bearer ' OR 1=1 --", "Bearer ../../etc/passwd", "Bearer " + "A" * 8000):
        _envelope(client.get("/api/v1/users/me", headers={"Authorization": value}), 401, "invalid_token")
