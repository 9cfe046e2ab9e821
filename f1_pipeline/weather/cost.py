"""What fetching weather costs against the free API's budget: requests, calls as Open-Meteo counts them, and the
time the throttle makes them take (the server's own answering time comes on top)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass

from f1_pipeline.http_source.throttle import RateLimit, Throttle
from f1_pipeline.weather.client import FREE_API_LIMITS, Location, call_weight


@dataclass(frozen=True)
class Cost:
    requests: int
    calls: float
    throttled_seconds: float
    """How long the throttle spreads the calls over: zero while every window has room."""


def cost(groups: Sequence[Sequence[Location]], batch_size: int, limits: Sequence[RateLimit] = FREE_API_LIMITS) -> Cost:
    """The cost of asking for each group of locations (the archive's, the forecast's) in batches of `batch_size`,
    as the client sends them."""
    batches = [group[i : i + batch_size] for group in groups for i in range(0, len(group), batch_size)]
    weights = [math.ceil(call_weight(batch)) for batch in batches]
    return Cost(
        requests=len(batches),
        calls=sum(call_weight(batch) for batch in batches),
        throttled_seconds=asyncio.run(_throttled(weights, limits)),
    )


async def _throttled(weights: Sequence[int], limits: Sequence[RateLimit]) -> float:
    """The throttle's schedule on a clock that only moves when it waits."""
    now = [0.0]

    async def wait(seconds: float) -> None:
        now[0] += seconds

    throttle = Throttle(limits, clock=lambda: now[0], sleep=wait)
    for weight in weights:
        for _ in range(weight):
            await throttle.acquire()
    return now[0]
