"""A request answered before, today and under the same served data, is answered again without the router: the same
bytes and headers, after the same checks (the token, the account, the budget, `If-None-Match`), and never for another
query, other data or another day."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from f1_serving import repeated_answers
from f1_serving.deps import get_served, limit_by_user
from f1_serving.main import create_app
from f1_serving.served import response_cache
from f1_serving.served.response_cache import utc_today
from tests.api_support import api_client, api_settings, bearer, register

NEXT_RACE = "/api/v1/predictions/next-race"
BUDGET = 6


@dataclass(frozen=True)
class Served:
    """What the cached path reads of the served data: its version (the bodies are put in the cache beforehand)."""

    version: tuple[str, int]


class Api:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.routed = 0
        self.headers = bearer(register(client))
        self.serve("snapshot-1")
        client.app.dependency_overrides[get_served] = self._served

    def _served(self) -> Served:
        self.routed += 1
        return self.client.app.state.runtime.state.served

    def serve(self, snapshot: str, body: bytes = b'{"winner":"norris"}') -> None:
        """Serve another version whose answers (every mode, today and tomorrow) are already cached."""
        runtime = self.client.app.state.runtime
        runtime.state.served = Served((snapshot, 1))
        for day in (utc_today(), utc_today() + timedelta(days=1)):
            for mode in (None, "pre_qualifying"):
                runtime.cache.put(((snapshot, 1), day, "next-race", mode), body)

    def get(self, path: str = NEXT_RACE, **headers: str):
        return self.client.get(path, headers={**self.headers, **headers})


@pytest.fixture
def api(tmp_path):
    with api_client(api_settings(tmp_path, rate_limit_per_minute=BUDGET)) as client:
        yield Api(client)


def _without_budget(response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name != "x-ratelimit-remaining"}


def test_the_same_request_again_is_answered_without_the_router_with_the_same_bytes_and_headers(api):
    first, again = api.get(), api.get()
    assert api.routed == 1
    assert first.status_code == again.status_code == 200
    assert again.content == first.content == b'{"winner":"norris"}'
    assert _without_budget(again) == _without_budget(first)
    assert int(again.headers["x-ratelimit-remaining"]) == int(first.headers["x-ratelimit-remaining"]) - 1
    not_modified = api.get(**{"If-None-Match": first.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b"" and api.routed == 1
    assert "content-type" not in not_modified.headers and not_modified.headers["etag"] == first.headers["etag"]


def test_a_spent_budget_is_a_429_on_the_cached_path_too(api):
    answers = [api.get() for _ in range(BUDGET + 1)]
    assert [answer.status_code for answer in answers] == [200] * BUDGET + [429]
    assert api.routed == 1
    refused = answers[-1]
    assert refused.json()["error_code"] == "rate_limited" and refused.headers["retry-after"]
    assert refused.headers["x-ratelimit-remaining"] == "0" and refused.headers["x-content-type-options"] == "nosniff"


def test_a_bad_token_or_a_deleted_account_is_left_to_the_router_and_refused(api):
    api.get()
    assert api.client.get(NEXT_RACE).status_code == 401
    assert api.client.get(NEXT_RACE, headers=bearer(api.headers["Authorization"][7:] + "x")).status_code == 401
    assert (
        api.client.get(NEXT_RACE, headers={"Authorization": "Basic " + api.headers["Authorization"][7:]}).status_code
        == 401
    )
    assert api.client.delete("/api/v1/users/me", headers=api.headers).status_code == 204
    deleted = api.get()
    assert deleted.status_code == 401 and deleted.json()["error_code"] == "invalid_token"


def test_another_query_other_data_or_another_day_goes_through_the_router(api, monkeypatch):
    api.get()
    assert api.get(f"{NEXT_RACE}?mode=pre_qualifying").status_code == 200 and api.routed == 2
    api.serve("snapshot-2", b'{"winner":"piastri"}')
    assert api.get().content == b'{"winner":"piastri"}' and api.routed == 3
    tomorrow = utc_today() + timedelta(days=1)
    for module in (repeated_answers, response_cache):
        monkeypatch.setattr(module, "utc_today", lambda: tomorrow)
    assert api.get().status_code == 200 and api.routed == 4
    assert api.get().status_code == 200 and api.routed == 4


def test_every_cached_answer_is_behind_the_token_and_the_user_budget_the_cached_path_checks(tmp_path):
    """The cached path answers only with a valid token and counts the user budget: right for every operation whose
    answers it remembers (those taking `If-None-Match`), since each one declares the scheme (`limit_by_user`, the
    token and the user budget in one dependency) and its 401 and 429."""
    document = create_app(api_settings(tmp_path)).openapi()
    cached = {
        path: operation
        for path, operations in document["paths"].items()
        for operation in operations.values()
        if any(parameter["name"] == "If-None-Match" for parameter in operation.get("parameters", []))
    }
    assert set(cached) >= {NEXT_RACE, "/api/v1/races/{season}", "/api/v1/championship"}
    for path, operation in cached.items():
        assert operation["security"] == [{limit_by_user.scheme_name: []}], path
        assert {"401", "429"} <= set(operation["responses"]), path
