"""Conditional requests on the materialized pipeline's answers: an `ETag` with every read the server caches, a 304
without a body for a client that sends it back, a new tag once a new publication or a new champion changes the
answer, and never a 304 before the token and the budgets have been checked."""

import polars as pl
from fastapi.testclient import TestClient

from f1_pipeline.publication import publish, read_publication
from tests.api_support import (
    api_client,
    api_settings,
    bearer,
    champion_as_a_new_version,
    refresh,
    register,
)

API = "/api/v1"
NEXT_RACE = f"{API}/predictions/next-race"


def _tag(client: TestClient, headers: dict[str, str], path: str = NEXT_RACE) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


def test_an_unchanged_answer_is_a_304_without_a_body(own_copy):
    _, client, headers = own_copy
    first = client.get(NEXT_RACE, headers=headers)
    tag = first.headers["etag"]
    assert first.status_code == 200 and first.json()["predictions"]
    assert first.headers["cache-control"] == "private, no-cache"
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/"), "a strong tag"
    again = client.get(NEXT_RACE, headers={**headers, "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag and again.headers["cache-control"] == "private, no-cache"
    assert "content-type" not in again.headers
    assert int(again.headers["x-ratelimit-remaining"]) < int(first.headers["x-ratelimit-remaining"])
    assert again.headers["x-content-type-options"] == "nosniff"
    for sent in (f'"something-else", W/{tag}', "*", f'W/"x"\t, {tag}'):
        assert client.get(NEXT_RACE, headers={**headers, "If-None-Match": sent}).status_code == 304, sent
    for sent in ('"something-else"', tag.strip('"'), f'"{tag}"', '"*"'):
        answer = client.get(NEXT_RACE, headers={**headers, "If-None-Match": sent})
        assert answer.status_code == 200 and answer.content == first.content, sent
    other_mode = client.get(NEXT_RACE, params={"mode": "pre_qualifying"}, headers=headers)
    assert (other_mode.headers["etag"] == tag) == (other_mode.content == first.content), "the tag follows the bytes"


def test_the_calendar_the_title_odds_and_a_past_race_have_tags_too(own_copy):
    _, client, headers = own_copy
    for path in (f"{API}/races/2025", f"{API}/championship", f"{API}/predictions/races/2025/1"):
        first = client.get(path, headers=headers)
        assert first.status_code == 200 and first.headers["cache-control"] == "private, no-cache", path
        again = client.get(path, headers={**headers, "If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b"", path
    tags = {_tag(client, headers, path) for path in (f"{API}/races/2025", f"{API}/races/2026", NEXT_RACE)}
    assert len(tags) == 3
    missing = client.get(f"{API}/races/1950", headers={**headers, "If-None-Match": "*"})
    assert missing.status_code == 404 and "etag" not in missing.headers, "no answer, no precondition"
    uncached = client.get(f"{API}/analytics/accuracy", headers=headers)
    assert uncached.headers["cache-control"] == "no-store" and "etag" not in uncached.headers


def test_no_304_without_a_valid_token(own_copy):
    _, client, headers = own_copy
    tag = _tag(client, headers)
    for sent in (tag, "*"):
        anonymous = client.get(NEXT_RACE, headers={"If-None-Match": sent})
        assert anonymous.status_code == 401 and anonymous.json()["error_code"] == "not_authenticated"
        assert "etag" not in anonymous.headers
        forged = client.get(NEXT_RACE, headers={**bearer("forged.token.value"), "If-None-Match": sent})
        assert forged.status_code == 401 and "etag" not in forged.headers


def test_a_304_counts_against_the_budget(pipeline, tmp_path):
    with api_client(api_settings(tmp_path, pipeline, rate_limit_per_minute=3)) as client:
        headers = bearer(register(client))
        conditional = {**headers, "If-None-Match": _tag(client, headers)}
        assert [client.get(NEXT_RACE, headers=conditional).status_code for _ in range(3)] == [304, 304, 429]


def test_a_new_publication_changes_the_tag(own_copy):
    settings, client, headers = own_copy
    tag = _tag(client, headers)
    old = read_publication(settings.serving_dir)
    tables = dict(old.tables)
    tables["race_predictions"] = tables["race_predictions"].filter(pl.col("season") != 2025)
    manifest = publish(
        settings.serving_dir, tables, model_name=old.manifest.model_name, model_version=old.manifest.model_version
    )
    refresh(client)
    answer = client.get(NEXT_RACE, headers={**headers, "If-None-Match": tag})
    assert answer.status_code == 200 and answer.json()["snapshot_id"] == manifest.snapshot_id
    assert answer.headers["etag"] != tag
    assert client.get(NEXT_RACE, headers={**headers, "If-None-Match": answer.headers["etag"]}).status_code == 304


def test_a_new_champion_changes_the_tag(own_copy):
    settings, client, headers = own_copy
    tag = _tag(client, headers)
    _, promoted = champion_as_a_new_version(settings)
    refresh(client)
    answer = client.get(NEXT_RACE, headers={**headers, "If-None-Match": tag})
    assert answer.status_code == 200 and answer.json()["model_version"] == str(promoted.version)
    assert answer.headers["etag"] != tag
