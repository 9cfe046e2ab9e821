"""Accounts and tokens: registration rules, login, JWT verification, deleted accounts, production secrets, and the
users table on SQLite and on the real PostgreSQL."""

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from pwdlib.hashers.bcrypt import BcryptHasher
from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from f1_serving.accounts.security import create_access_token
from f1_serving.accounts.users import User
from f1_serving.main import create_app
from f1_serving.settings import DEVELOPMENT_SECRET
from tests.api_support import PASSWORD, api_settings, bearer, new_email, register


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    settings = api_settings(tmp_path_factory.mktemp("auth"), rate_limit_per_minute=10_000)
    with TestClient(create_app(settings)) as client:
        yield client


def test_register_answers_201_with_a_working_24_hour_token(client):
    email = new_email()
    response = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201
    body = response.json()
    assert body["token_type"] == "bearer" and body["user"]["email"] == email
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 24 * 3600
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    me = client.get("/api/v1/users/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == email


def test_an_email_registers_once_whatever_its_case(client):
    email = new_email()
    register(client, email)
    again = client.post("/api/v1/auth/register", json={"email": email.upper(), "password": PASSWORD})
    assert again.status_code == 409
    assert again.json() == {"error": "an account with this email already exists", "error_code": "email_taken"}


@pytest.mark.parametrize(
    ("password", "complaint"),
    [
        ("Sh0rt", "at least 8 characters"),
        ("alllower123", "an upper-case letter"),
        ("ALLUPPER123", "a lower-case letter"),
        ("NoDigitsHere", "a digit"),
        ("x" * 129, "at most 128 characters"),
    ],
)
def test_weak_passwords_are_refused_with_the_rule_they_break(client, password, complaint):
    response = client.post("/api/v1/auth/register", json={"email": new_email(), "password": password})
    assert response.status_code == 422
    body = response.json()
    assert body["error_code"] == "invalid_request" and complaint in body["error"]


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.org", "", "a b@example.org"])
def test_invalid_emails_are_refused(client, email):
    response = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 422 and response.json()["error_code"] == "invalid_request"


def test_login_gives_a_token_and_one_generic_401_for_every_failure(client):
    email = new_email()
    register(client, email)
    good = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert good.status_code == 200
    assert client.get("/api/v1/users/me", headers=bearer(good.json()["access_token"])).status_code == 200
    wrong_password = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD + "x"})
    unknown_email = client.post("/api/v1/auth/login", json={"email": new_email(), "password": PASSWORD})
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert (
        wrong_password.json()
        == unknown_email.json()
        == {
            "error": "incorrect email or password",
            "error_code": "invalid_credentials",
        }
    )


def test_passwords_are_stored_as_argon2_and_old_bcrypt_hashes_upgrade_on_login(client):
    email = new_email()
    register(client, email)
    engine = client.app.state.runtime.engine
    with Session(engine) as session:
        assert session.scalar(select(User.hashed_password).where(User.email == email)).startswith("$argon2id$")
        session.execute(update(User).where(User.email == email).values(hashed_password=BcryptHasher().hash(PASSWORD)))
        session.commit()
    assert client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200
    with Session(engine) as session:
        assert session.scalar(select(User.hashed_password).where(User.email == email)).startswith("$argon2id$")


def _segments(token: str) -> list[str]:
    return token.split(".")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _forged_tokens(token: str) -> dict[str, str]:
    header, payload, signature = _segments(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    now = datetime.now(UTC)
    return {
        "tampered payload": ".".join(
            [header, _b64({**claims, "sub": "00000000-0000-0000-0000-000000000000"}), signature]
        ),
        "tampered signature": ".".join([header, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")]),
        "alg none": ".".join([_b64({"alg": "none", "typ": "JWT"}), payload, ""]),
        "alg none, encoded by PyJWT": jwt.encode(claims, key=None, algorithm="none"),
        "other secret": jwt.encode(claims, "another-secret-of-enough-length-123", algorithm="HS256"),
        "HS512 with the right secret": jwt.encode(claims, DEVELOPMENT_SECRET, algorithm="HS512"),
        "expired": create_access_token(
            claims["sub"], DEVELOPMENT_SECRET, timedelta(hours=24), now - timedelta(days=2)
        ).token,
        "no expiry": jwt.encode({"sub": claims["sub"]}, DEVELOPMENT_SECRET, algorithm="HS256"),
        "subject not a user id": jwt.encode({**claims, "sub": "admin"}, DEVELOPMENT_SECRET, algorithm="HS256"),
        "garbage": "not.a.token",
        "empty": "",
    }


def test_forged_expired_and_alg_none_tokens_get_401(client):
    token = register(client)
    assert client.get("/api/v1/users/me", headers=bearer(token)).status_code == 200
    for name, forged in _forged_tokens(token).items():
        response = client.get("/api/v1/users/me", headers=bearer(forged))
        assert response.status_code == 401, name
        assert response.json()["error_code"] in ("invalid_token", "not_authenticated"), name
        assert response.headers["www-authenticate"] == "Bearer", name


def test_requests_without_a_bearer_token_get_401(client):
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}):
        response = client.get("/api/v1/predictions/next-race", headers=headers)
        assert response.status_code == 401 and response.json()["error_code"] == "not_authenticated"


def test_a_deleted_accounts_token_stops_working_and_never_names_a_later_account(client):
    token = register(client)
    assert client.delete("/api/v1/users/me", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/users/me", headers=bearer(token)).status_code == 401
    later = register(client)
    assert client.get("/api/v1/users/me", headers=bearer(later)).status_code == 200
    assert client.get("/api/v1/users/me", headers=bearer(token)).status_code == 401


def test_production_refuses_the_default_or_a_short_secret(tmp_path):
    for secret in (DEVELOPMENT_SECRET, "short-secret"):
        with pytest.raises(ValidationError, match="F1_SECRET_KEY"):
            api_settings(tmp_path, environment="production", secret_key=secret)
    assert api_settings(tmp_path, environment="production", secret_key="s" * 40).environment == "production"


def test_the_server_does_not_start_in_production_with_the_default_secret(tmp_path):
    env = {"F1_ENVIRONMENT": "production", "F1_USERS_DATABASE_URL": f"sqlite:///{tmp_path / 'users.db'}"}
    started = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", "f1_serving.main:create_app", "--port", "0"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0
    assert "F1_SECRET_KEY is the development default" in started.stderr


@pytest.mark.postgres
def test_users_live_in_postgresql_when_its_url_is_given(tmp_path, postgres_database):
    settings = api_settings(tmp_path, users_database_url=postgres_database)
    with TestClient(create_app(settings)) as client:
        email = new_email()
        token = register(client, email)
        assert client.get("/api/v1/users/me", headers=bearer(token)).json()["email"] == email
        assert client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}).status_code == 409
        assert client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200
        assert client.app.state.runtime.engine.dialect.name == "postgresql"


@pytest.mark.postgres
def test_an_unreachable_accounts_database_answers_503_and_the_api_recovers(tmp_path, postgres_database):
    """A replica outliving its PostgreSQL (restarted, failed over) says so with a retryable 503, never a 500."""
    settings = api_settings(tmp_path, users_database_url=postgres_database, user_cache_seconds=0)
    name = postgres_database.rsplit("/", 1)[1]
    admin = postgres_database.rsplit("/", 1)[0] + "/postgres"
    with TestClient(create_app(settings)) as client:
        email = new_email()
        token = register(client, email)
        kill = f"select pg_terminate_backend(pid) from pg_stat_activity where datname = '{name}'"
        subprocess.run(["psql", admin, "-qc", f'alter database "{name}" with allow_connections false'], check=True)
        subprocess.run(["psql", admin, "-qc", kill], check=True)
        try:
            for down in (
                client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}),
                client.get("/api/v1/users/me", headers=bearer(token)),
            ):
                assert down.status_code == 503
                assert down.json()["error_code"] == "accounts_unavailable" and down.headers["Retry-After"] == "5"
        finally:
            subprocess.run(["psql", admin, "-qc", f'alter database "{name}" with allow_connections true'], check=True)
        assert client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200
        assert client.get("/api/v1/users/me", headers=bearer(token)).json()["email"] == email


def test_another_replica_refuses_a_deleted_accounts_token_once_its_user_cache_expires(tmp_path):
    shared = {"rate_limit_per_minute": 10_000, "user_cache_seconds": 0}
    first = create_app(api_settings(tmp_path, **shared))
    second = create_app(api_settings(tmp_path, **shared))
    with TestClient(first) as one, TestClient(second) as other:
        token = register(one)
        assert other.get("/api/v1/users/me", headers=bearer(token)).status_code == 200
        assert one.delete("/api/v1/users/me", headers=bearer(token)).status_code == 204
        assert other.get("/api/v1/users/me", headers=bearer(token)).status_code == 401


async def test_the_user_cache_keeps_an_account_for_its_lifetime_and_forgets_a_deleted_one(tmp_path):
    from f1_serving.accounts.users import UserCache, create_user, users_engine

    engine = users_engine(f"sqlite:///{tmp_path / 'users.db'}")
    with Session(engine) as session:
        created = create_user(session, new_email(), PASSWORD)
        user_id, email = created.id, created.email
    now = [100.0]
    cache = UserCache(engine, seconds=5, clock=lambda: now[0])
    assert (await cache.get(user_id)).email == email
    with Session(engine) as session:
        session.execute(update(User).where(User.id == user_id).values(email="changed@example.org"))
        session.commit()
    assert (await cache.get(user_id)).email == email, "kept for 5 s"
    now[0] += 6
    assert (await cache.get(user_id)).email == "changed@example.org"
    with Session(engine) as session:
        session.execute(delete(User).where(User.id == user_id))
        session.commit()
    cache.forget(user_id)
    assert await cache.get(user_id) is None
