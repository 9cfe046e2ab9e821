"""Cached answers and their entity tags: `If-None-Match` read as RFC 9110 (13.1.2) says, a 304 without a body, the
tag following the bytes."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from pydantic import BaseModel
from starlette.requests import Request

from f1_serving.served.response_cache import (
    CACHE_CONTROL,
    Cached,
    ResponseCache,
    answer_key,
    ascii_digits,
    cached_json,
    none_match,
    utc_today,
)


class Answer(BaseModel):
    winner: str


def _scope(*if_none_match: bytes) -> dict:
    return {"headers": [(b"host", b"testserver"), *((b"if-none-match", value) for value in if_none_match)]}


def _request(cache: ResponseCache, *if_none_match: bytes, path: str = "/next-race") -> Request:
    """A request to an app whose runtime holds `cache`: all `cached_json` reads of the app."""
    app = SimpleNamespace(state=SimpleNamespace(runtime=SimpleNamespace(cache=cache)))
    return Request({"type": "http", "app": app, "path": path, "query_string": b"", **_scope(*if_none_match)})


def _headers(response) -> dict[bytes, bytes]:
    return dict(response.raw_headers)


TAG = Cached.of(b'{"winner":"norris"}').etag


@pytest.mark.parametrize(
    "values",
    [
        (TAG,),
        (b"W/" + TAG,),
        (b"*",),
        (b" * ",),
        (b'"other", ' + TAG,),
        (b'W/"other",W/' + TAG + b" ",),
        (b'"other"', TAG),
        (b'"a,b", , ' + TAG,),
    ],
    ids=["strong", "weak", "star", "star-spaces", "list", "weak-list", "two-lines", "comma-in-tag-and-empty-member"],
)
def test_if_none_match_names_the_tag(values):
    assert none_match(_scope(*values), TAG)


@pytest.mark.parametrize(
    "values",
    [
        (),
        (b'"other"',),
        (b'W/"other", "another"',),
        (TAG[1:-1],),
        (TAG[:-1],),
        (b'"*"',),
        (b'*, "other"',),
        (b"",),
    ],
    ids=["absent", "other", "other-list", "unquoted", "unterminated", "quoted-star", "star-in-a-list", "empty"],
)
def test_if_none_match_does_not_name_the_tag(values):
    assert not none_match(_scope(*values), TAG)


def test_a_tag_is_a_digest_of_the_bytes():
    assert Cached.of(b"a").etag == Cached.of(b"a").etag != Cached.of(b"b").etag
    assert Cached.of(b"a").etag.startswith(b'"') and Cached.of(b"a").etag.endswith(b'"')
    assert len(Cached.of(b"a").etag) == 34


def test_the_answer_is_built_once_and_a_matching_request_gets_a_304_without_a_body():
    cache, built = ResponseCache(4), []

    def build(_today) -> Answer:
        built.append(1)
        return Answer(winner="norris")

    first = cached_json(_request(cache), "v1", ("next-race",), build)
    tag = _headers(first)[b"etag"]
    assert first.status_code == 200 and first.body == b'{"winner":"norris"}'
    assert _headers(first)[b"cache-control"] == CACHE_CONTROL.encode() == b"private, no-cache"
    assert _headers(first)[b"content-type"] == b"application/json" and b"x-cache" not in _headers(first)
    again = cached_json(_request(cache, tag), "v1", ("next-race",), build)
    assert again.status_code == 304 and again.body == b"" and built == [1]
    assert _headers(again)[b"etag"] == tag and _headers(again)[b"cache-control"] == b"private, no-cache"
    assert b"content-type" not in _headers(again) and b"content-length" not in _headers(again)
    assert b"x-cache" not in _headers(again)  # whether someone else asked first is not told
    stale = cached_json(_request(cache, b'"an-older-answer"'), "v1", ("next-race",), build)
    assert stale.status_code == 200 and stale.body == first.body


def test_a_changed_answer_has_a_new_tag_and_the_old_one_no_longer_matches():
    cache = ResponseCache(4)
    old = _headers(cached_json(_request(cache), "v1", ("next-race",), lambda _: Answer(winner="norris")))[b"etag"]
    new = cached_json(_request(cache, old), "v2", ("next-race",), lambda _: Answer(winner="piastri"))
    assert new.status_code == 200 and _headers(new)[b"etag"] != old
    same = cached_json(_request(cache, old), "v3", ("next-race",), lambda _: Answer(winner="norris"))
    assert same.status_code == 304, "the same bytes under a new version keep their tag"


def test_the_cache_keeps_the_most_recently_used_entries():
    cache = ResponseCache(2)
    cache.put("a", b"1")
    cache.put("b", b"2")
    assert cache.get("a") is not None
    cache.put("c", b"3")
    assert cache.get("b") is None and cache.get("a").body == b"1" and cache.get("c").body == b"3"
    cache.clear()
    assert cache.get("a") is None


def test_a_request_is_remembered_with_the_body_that_answered_it_for_its_day_and_data():
    cache = ResponseCache(4)
    request = _request(cache, path="/api/v1/predictions/next-race")
    first = cached_json(request, "v1", ("next-race",), lambda _: Answer(winner="norris"))
    today = utc_today()
    remembered = cache.answered(answer_key("v1", today, request.scope))
    assert remembered is not None and remembered.body == first.body
    assert cache.answered(answer_key("v2", today, request.scope)) is None, "not under other data"
    assert cache.answered(answer_key("v1", today - timedelta(days=1), request.scope)) is None, "nor another day"
    other = _request(cache, path="/api/v1/predictions/next-race")
    other.scope["query_string"] = b"mode=pre_qualifying"
    assert cache.answered(answer_key("v1", today, other.scope)) is None, "nor another query"
    cache.clear()
    assert cache.answered(answer_key("v1", today, request.scope)) is None


def test_digits_of_any_script_name_one_answer():
    assert ascii_digits("/season/٢٠٢٤") == ascii_digits("/season/\uff12\uff10\uff12\uff14") == "/season/2024"
    assert ascii_digits("/drivers/max_verstappen") == "/drivers/max_verstappen"
    keys = {
        answer_key("v1", utc_today(), {"path": path, "query_string": b""}) for path in ("/races/2024", "/races/٢٠٢٤")
    }
    assert len(keys) == 1
