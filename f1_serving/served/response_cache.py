"""Serialized responses, keyed by what they were built from, each with its entity tag.

A key carries the served data's version (publication snapshot and champion version), so a new champion or a new
publication can never be answered from an older entry; the whole cache is also dropped when the version changes.
Date-dependent answers (the next race, staleness) carry the UTC day too. Each request a body answered is remembered
with it under the same version and day, for `repeated_answers` to answer that request again without the router.

The entity tag is a digest of the body, taken once when the body is built: it changes exactly when the bytes do
(new data, a new champion, a stale calendar, any field), is the same on every replica and after a restart, and is
strong, since two answers with one tag are the same bytes. A client that sends it back in `If-None-Match` gets a
304 without the body; `Cache-Control: private, no-cache` lets only the client's own cache keep an answer (it was
asked for with a token) and makes it ask again each time, so it never shows older data than the server serves.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from fastapi import Request, Response
from pydantic import BaseModel
from starlette.types import Scope

CACHE_CONTROL = "private, no-cache"
_CACHE_CONTROL = CACHE_CONTROL.encode()
_OPAQUE_TAG = re.compile(rb'"[^"]*"')
"""The quoted part of each entity tag in a list: an opaque tag never holds a double quote (RFC 9110, 8.8.3)."""
_VALIDATORS = {
    "ETag": {
        "description": "The answer's strong entity tag (a digest of the body): send it back in `If-None-Match`",
        "required": True,
        "schema": {"type": "string", "examples": ['"0c5e2f9a41d7b3e86a1f0d2c9b7e4a35"']},
    },
    "Cache-Control": {
        "description": "`private, no-cache`: only the client's own cache may keep the answer, and it revalidates "
        "it (with `If-None-Match`) before each use",
        "required": True,
        "schema": {"type": "string", "examples": [CACHE_CONTROL]},
    },
}
_NOT_MODIFIED = "not modified: the answer is still the one `If-None-Match` names; no body"
CONDITIONAL_GET: dict[str, Any] = {
    "parameters": [
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": "The `ETag` of an answer the client holds (or several, comma-separated, `W/` or not, or "
            "`*`): when one is the current answer's, the server answers 304 without a body",
            "schema": {"type": "string", "examples": ['"0c5e2f9a41d7b3e86a1f0d2c9b7e4a35"']},
        }
    ],
    "responses": {
        "200": {"headers": _VALIDATORS},
        "304": {"description": _NOT_MODIFIED, "headers": _VALIDATORS},
    },
}
"""The operation's OpenAPI additions (`openapi_extra`) for an answer served by `cached_json`: the request header the
route reads itself (FastAPI would validate a declared parameter on every request) and the validators it sends."""


@dataclass(frozen=True, slots=True)
class Cached:
    body: bytes
    etag: bytes
    """The `ETag` header's value, quoted: `"<32 hex digits>"`."""

    @classmethod
    def of(cls, body: bytes) -> Cached:
        return cls(body, b'"' + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b'"')


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Lru(Generic[K, V]):
    def __init__(self, entries: int) -> None:
        self._entries = entries
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: K, item: V) -> V:
        self._items[key] = item
        self._items.move_to_end(key)
        while len(self._items) > self._entries:
            self._items.popitem(last=False)
        return item

    def clear(self) -> None:
        self._items.clear()


AnswerKey = tuple[Hashable, date, str, bytes]
"""What an answer is valid for: the served data's version, the UTC day, the request's path and its query string."""


class ResponseCache:
    """Bounded LRUs of response bodies, one per process (replicas each warm their own): by what a body was built
    from, and by the request a body answered (read by `repeated_answers`, without the router)."""

    def __init__(self, entries: int) -> None:
        self._bodies: _Lru[Hashable, Cached] = _Lru(entries)
        self._answers: _Lru[AnswerKey, Cached] = _Lru(entries)

    def get(self, key: Hashable) -> Cached | None:
        return self._bodies.get(key)

    def put(self, key: Hashable, body: bytes) -> Cached:
        return self._bodies.put(key, Cached.of(body))

    def answered(self, key: AnswerKey) -> Cached | None:
        """The body that answered this same request today under the same served data, if one did."""
        return self._answers.get(key)

    def remember(self, key: AnswerKey, entry: Cached) -> None:
        self._answers.put(key, entry)

    def clear(self) -> None:
        self._bodies.clear()
        self._answers.clear()


def utc_today() -> date:
    """The day a date-dependent answer (the next race, whether the data is stale) was built for."""
    return datetime.now(UTC).date()


def ascii_digits(text: str) -> str:
    """`text` with every decimal digit of any script (Arabic-Indic, fullwidth) as its ASCII digit: Python and FastAPI
    read them as the same number, so a path that differs only in them names the same answer and one cache entry."""
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in text)


def answer_key(version: Hashable, today: date, scope: Scope) -> AnswerKey:
    return version, today, ascii_digits(scope["path"]), scope["query_string"]


def none_match(scope: Scope, etag: bytes) -> bool:
    """Whether the request's `If-None-Match` names `etag` (RFC 9110, 13.1.2): `*` names any current answer, a list
    names each of its tags, compared weakly (`W/"x"` matches `"x"`); every `If-None-Match` line counts, and a member
    that is not an entity tag matches nothing."""
    return any(
        name == b"if-none-match" and (value.strip() == b"*" or etag in _OPAQUE_TAG.findall(value))
        for name, value in scope["headers"]
    )


def answer(scope: Scope, entry: Cached) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body of a cached answer; a request whose `If-None-Match` names the body's tag gets a 304
    with the validators and no body (nor its type or length: RFC 9110, 15.4.5). The router's path (`cached_json`)
    and the repeated-answer path both send exactly this. No header says whether the body was cached: a hit on a
    user's first request would tell him that someone else asked the same today."""
    headers = [(b"etag", entry.etag), (b"cache-control", _CACHE_CONTROL)]
    if none_match(scope, entry.etag):
        return 304, headers, b""
    headers += ((b"content-type", b"application/json"), (b"content-length", str(len(entry.body)).encode()))
    return 200, headers, entry.body


def cached_json(
    request: Request, version: Hashable, parts: tuple[Hashable, ...], build: Callable[[date], BaseModel]
) -> Response:
    """The cached body for `parts` under the served `version` and today's date, or `build(today)` serialized once
    and kept. The request is remembered as answered by that body, so the same request again
    is answered without the router (`repeated_answers`)."""
    cache: ResponseCache = request.app.state.runtime.cache
    today = utc_today()
    key = (version, today, *parts)
    entry = cache.get(key)
    if entry is None:
        entry = cache.put(key, build(today).model_dump_json().encode())
    cache.remember(answer_key(version, today, request.scope), entry)
    status, headers, body = answer(request.scope, entry)
    response = Response(status_code=status)
    response.body, response.raw_headers = body, headers
    return response
