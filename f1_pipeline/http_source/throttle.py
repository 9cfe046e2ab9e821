"""Client-side rate limiting to the API's published limits (a burst per second and a budget per hour).

A sliding log of request times is exact for several windows at once, which a single token bucket is
not. The log outlives an event loop, so one throttle can pace every asset of a run (each asset runs its
own loop); the clock and sleep are injectable so tests check the schedule without waiting for it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    requests: int
    per_seconds: float


class Throttle:
    """Waits before a request until every window has room for it."""

    def __init__(
        self,
        limits: Sequence[RateLimit],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._limits = tuple(limits)
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    async def acquire(self) -> None:
        async with self._lock():
            while (delay := self._delay(self._clock())) > 0:
                await self._sleep(delay)
            self._sent.append(self._clock())

    def _lock(self) -> asyncio.Lock:
        """One lock per event loop: an asyncio lock may only be awaited in the loop it first ran in."""
        loop = asyncio.get_running_loop()
        if loop not in self._locks:
            self._locks = {live: lock for live, lock in self._locks.items() if not live.is_closed()}
            self._locks[loop] = asyncio.Lock()
        return self._locks[loop]

    def _delay(self, now: float) -> float:
        horizon = max((limit.per_seconds for limit in self._limits), default=0.0)
        while self._sent and self._sent[0] <= now - horizon:
            self._sent.popleft()
        delay = 0.0
        for limit in self._limits:
            recent = [sent for sent in self._sent if sent > now - limit.per_seconds]
            if len(recent) >= limit.requests:
                delay = max(delay, recent[-limit.requests] + limit.per_seconds - now)
        return delay
