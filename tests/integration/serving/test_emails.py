"""Email addresses: control characters never reach the database (on SQLite and the real PostgreSQL), and every
spelling of one address (case, NFC/NFD, punycode, full-width look-alikes) is one account at registration and login."""

import unicodedata

import pytest
from fastapi.testclient import TestClient

from f1_serving.accounts.emails import canonical_email
from f1_serving.main import create_app
from tests.api_support import PASSWORD, api_settings

pytestmark = pytest.mark.postgres
REGISTER, LOGIN = "/api/v1/auth/register", "/api/v1/auth/login"
HOSTILE = [
    "a\u0000@example.org",
    "a@exam\u0000ple.org",
    "a\n@example.org",
    "a\u0085b@example.org",
    "a\u007f@example.org",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def client(request, tmp_path):
    overrides = {"rate_limit_per_minute": 10_000, "client_rate_limit_per_minute": 10_000}
    if request.param == "postgresql":
        overrides["users_database_url"] = request.getfixturevalue("postgres_database")
    with TestClient(create_app(api_settings(tmp_path, **overrides))) as client:
        yield client


def test_control_characters_are_refused_at_the_schema(client):
    for email in HOSTILE:
        for path in (LOGIN, REGISTER):
            response = client.post(path, json={"email": email, "password": PASSWORD})
            assert response.status_code == 422, response.text
            assert response.json()["error_code"] == "invalid_request"
            assert "control character" in response.json()["error"]
    spoof = "ann\u200b@example.org"
    assert client.post(REGISTER, json={"email": spoof, "password": PASSWORD}).status_code == 422
    assert client.post(LOGIN, json={"email": spoof, "password": PASSWORD}).status_code == 401, "no account has it"


FULL_WIDTH = "".join(chr(ord(c) + 0xFEE0) for c in "max@example") + ".org"
SPELLINGS = [
    ("Zoe@Example.ORG", "zoe@example.org", "zoe@example.org"),
    (
        unicodedata.normalize("NFD", "josé@example.org"),
        unicodedata.normalize("NFD", "josé@example.org"),
        "josé@example.org",
    ),
    (unicodedata.normalize("NFD", "rené@example.org"), "rené@example.org", "rené@example.org"),
    ("kim@bücher.example", "kim@xn--bcher-kva.example", "kim@bücher.example"),
    ("lee@xn--bcher-kva.example", "lee@BÜCHER.example", "lee@bücher.example"),
    (FULL_WIDTH, "max@example.org", "max@example.org"),
]
"""(registered as, logged in as, stored as)"""


def test_every_spelling_of_an_address_is_one_account(client):
    for registered, login, stored in SPELLINGS:
        created = client.post(REGISTER, json={"email": registered, "password": PASSWORD})
        assert created.status_code == 201, created.text
        assert created.json()["user"]["email"] == stored
        for spelling in {registered, login, stored}:
            assert client.post(LOGIN, json={"email": spelling, "password": PASSWORD}).status_code == 200, spelling
            taken = client.post(REGISTER, json={"email": spelling, "password": PASSWORD})
            assert taken.status_code == 409, spelling


def test_canonical_form_is_idempotent():
    for email in (FULL_WIDTH, "lee@xn--bcher-kva.example", "Zoe@Example.ORG"):
        assert canonical_email(canonical_email(email)) == canonical_email(email)
