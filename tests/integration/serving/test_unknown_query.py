"""A query parameter an operation does not take is a 422 that names it and what the operation takes, before the
token is looked at: a misspelt parameter is never silently ignored."""

import pytest
from fastapi.testclient import TestClient

from f1_serving.main import create_app
from tests.api_support import api_settings, bearer, register

API = "/api/v1"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with TestClient(create_app(api_settings(tmp_path_factory.mktemp("query")))) as client:
        yield client


def test_an_unknown_parameter_is_named_with_the_ones_the_operation_takes(client):
    refused = client.get(f"{API}/analytics/rankings/drivers", params={"seson": "2023", "sort": "wins"})
    assert refused.status_code == 422 and refused.json()["error_code"] == "invalid_request"
    assert refused.json()["error"] == "unknown query parameter seson; this endpoint takes limit, season, sort"
    health = client.get(f"{API}/health", params={"verbose": "1"})
    assert health.status_code == 422
    assert health.json()["error"] == "unknown query parameter verbose; this endpoint takes no query parameters"


def test_the_query_is_checked_before_the_token_and_known_parameters_pass(client):
    misspelt = client.get(f"{API}/predictions/next-race", params={"mod": "pre_qualifying"})
    assert misspelt.status_code == 422 and "unknown query parameter mod" in misspelt.json()["error"]
    known = client.get(f"{API}/predictions/next-race", params={"mode": "pre_qualifying"})
    assert known.status_code == 401 and known.json()["error_code"] == "not_authenticated"
    headers = bearer(register(client))
    assert client.get(f"{API}/predictions/next-race", headers=headers).status_code == 503, "nothing published here"
    assert client.get(f"{API}/users/me", params={"x": "1"}, headers=headers).status_code == 422
    assert client.get(f"{API}/users/me", headers=headers).status_code == 200
