"""Serialized responses, keyed by what they were built from, each with its entity tag.

A key carries the served data's version (publication snapshot and champion version), so a new champion or a new
publication can never be answered from an older entry; the whole cache is also dropped when the version changes.

The entity tag is a digest of the body, taken once when the body is built: it changes exactly when the bytes do
(new data, a new champion, a stale calendar, any field), is the same on every replica and after a restart, and is
strong, since two answers with one tag are the same bytes. A client that sends it back in `If-None-Match` gets a
304 without the body; `Cache-Control: private, no-cache` lets only the client's own cache keep an answer (it was
asked for with a token) and makes it ask again each time, so it never shows older data than the server serves.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from fastapi import Response
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


class ResponseCache:
    """A bounded LRU of response bodies; one per process (replicas each warm their own)."""

    def __init__(self, entries: int) -> None:
        self._entries = entries
        self._bodies: OrderedDict[Hashable, Cached] = OrderedDict()

    def get(self, key: Hashable) -> Cached | None:
        entry = self._bodies.get(key)
        if entry is not None:
            self._bodies.move_to_end(key)
        return entry

    def put(self, key: Hashable, body: bytes) -> Cached:
        entry = self._bodies[key] = Cached.of(body)
        self._bodies.move_to_end(key)
        while len(self._bodies) > self._entries:
            self._bodies.popitem(last=False)
        return entry

    def clear(self) -> None:
        self._bodies.clear()


def none_match(scope: Scope, etag: bytes) -> bool:
    """Whether the request's `If-None-Match` names `etag` (RFC 9110, 13.1.2): `*` names any current answer, a list
    names each of its tags, compared weakly (`W/"x"` matches `"x"`); every `If-None-Match` line counts, and a member
    that is not an entity tag matches nothing."""
    return any(
        name == b"if-none-match" and (value.strip() == b"*" or etag in _OPAQUE_TAG.findall(value))
        for name, value in scope["headers"]
    )


def cached_json(scope: Scope, cache: ResponseCache, key: Hashable, build: Callable[[], BaseModel]) -> Response:
    """The cached body for `key`, or `build()` serialized once and kept; `X-Cache` says which. A request whose
    `If-None-Match` names the body's tag gets a 304 with the validators and no body (nor its type: RFC 9110, 15.4.5)."""
    entry = cache.get(key)
    hit = entry is not None
    if entry is None:
        entry = cache.put(key, build().model_dump_json().encode())
    validators = [(b"etag", entry.etag), (b"cache-control", _CACHE_CONTROL), (b"x-cache", b"hit" if hit else b"miss")]
    if none_match(scope, entry.etag):
        response = Response(status_code=304)
    else:
        response = Response(entry.body)
        validators.append((b"content-type", b"application/json"))
    response.raw_headers += validators
    return response
