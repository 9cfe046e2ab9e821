"""Requests per minute per key (a user, a client address), in fixed one-minute windows; each hit names its key's
budget, so one limiter counts every kind of key.

In-process by default; with a Redis URL every server process counts in the same Redis keys, so replicas share one
budget. When Redis fails, counting falls back to this process and the status says so, rather than refusing every
request or letting every request through. The fallback is fail-safe: it starts from the last count Redis gave this
process for the key in the current minute (not from zero), and each request it admits weighs the number of
replicas (`F1_API_REPLICAS`), so that the replicas together admit no more than the remainder they last saw. When
Redis answers again within the minute (a restarted Redis without persistence counts from zero), the larger of its
count and this process's carried count decides.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

LOGGER = logging.getLogger(__name__)
WINDOW_SECONDS = 60
REDIS_RETRY_SECONDS = 5.0
REDIS_DEGRADED = "rate-limit-store-unavailable"


@dataclass(frozen=True)
class RateLimitStatus:
    limit: int
    remaining: int
    reset_seconds: int
    allowed: bool
    degraded: str | None = None


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int) -> RateLimitStatus: ...

    async def aclose(self) -> None: ...


def _status(limit: int, count: int, now: float, degraded: str | None = None) -> RateLimitStatus:
    reset = WINDOW_SECONDS - int(now) % WINDOW_SECONDS
    return RateLimitStatus(limit, max(limit - count, 0), reset, count <= limit, degraded)


class InProcessRateLimiter:
    """Counts of the current window only: a new window starts from an empty table, so memory stays bounded."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._window = -1
        self._counts: dict[str, int] = {}

    def count(
        self, key: str, limit: int, degraded: str | None = None, weight: int = 1, at_least: int = 0
    ) -> RateLimitStatus:
        """One more request for `key`, weighing `weight`; the count is raised to `at_least` (a shared store's
        count) when that is more."""
        now = self._clock()
        window = int(now // WINDOW_SECONDS)
        if window != self._window:
            self._window, self._counts = window, {}
        count = max(self._counts.get(key, 0) + weight, at_least)
        self._counts[key] = count
        return _status(limit, count, now, degraded)

    async def hit(self, key: str, limit: int) -> RateLimitStatus:
        return self.count(key, limit)

    async def aclose(self) -> None:
        return None


class RedisRateLimiter:
    """INCR of `<prefix>:<key>:<window>` with a TTL past the window, in one transaction."""

    def __init__(
        self, url: str, prefix: str = "f1:ratelimit", clock: Callable[[], float] = time.time, replicas: int = 1
    ) -> None:
        from redis.asyncio import Redis  # the production extra's: the laptop's in-process limiter never needs it
        from redis.exceptions import RedisError

        self._redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._failures = (RedisError, OSError)
        self._prefix = prefix
        self._clock = clock
        self._replicas = replicas
        self._fallback = InProcessRateLimiter(clock)
        """Also while Redis answers: each key's count as this process knows it, carried into an outage."""
        self._retry_at = 0.0

    async def hit(self, key: str, limit: int) -> RateLimitStatus:
        now = self._clock()
        if now < self._retry_at:
            return self._fallback.count(key, limit, REDIS_DEGRADED, weight=self._replicas)
        window_key = f"{self._prefix}:{key}:{int(now // WINDOW_SECONDS)}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(window_key)
                pipe.expire(window_key, WINDOW_SECONDS + 1)
                count, _ = await pipe.execute()
        except self._failures as error:
            LOGGER.warning("Redis failed (%s); counting in this process for %ss", error, REDIS_RETRY_SECONDS)
            self._retry_at = now + REDIS_RETRY_SECONDS
            return self._fallback.count(key, limit, REDIS_DEGRADED, weight=self._replicas)
        return self._fallback.count(key, limit, at_least=int(count))

    async def aclose(self) -> None:
        await self._redis.aclose()


def rate_limiter(redis_url: str | None, clock: Callable[[], float] = time.time, replicas: int = 1) -> RateLimiter:
    return RedisRateLimiter(redis_url, clock=clock, replicas=replicas) if redis_url else InProcessRateLimiter(clock)
