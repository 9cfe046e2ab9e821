"""Serialized responses, keyed by what they were built from.

A key carries the served data's version (publication snapshot and champion version), so a new champion or a new
publication can never be answered from an older entry; the whole cache is also dropped when the version changes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

from fastapi import Response
from pydantic import BaseModel


class ResponseCache:
    """A bounded LRU of response bodies; one per process (replicas each warm their own)."""

    def __init__(self, entries: int) -> None:
        self._entries = entries
        self._bodies: OrderedDict[Hashable, bytes] = OrderedDict()

    def get(self, key: Hashable) -> bytes | None:
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
        return body

    def put(self, key: Hashable, body: bytes) -> None:
        self._bodies[key] = body
        self._bodies.move_to_end(key)
        while len(self._bodies) > self._entries:
            self._bodies.popitem(last=False)

    def clear(self) -> None:
        self._bodies.clear()


def cached_json(cache: ResponseCache, key: Hashable, build: Callable[[], BaseModel]) -> Response:
    """The cached body for `key`, or `build()` serialized once and kept; `X-Cache` says which."""
    body = cache.get(key)
    hit = body is not None
    if body is None:
        body = build().model_dump_json().encode()
        cache.put(key, body)
    return Response(body, media_type="application/json", headers={"X-Cache": "hit" if hit else "miss"})
