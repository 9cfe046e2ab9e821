"""What one server process holds while it runs: settings, the users database, the rate limiter, the served data
and the response cache. Built in the app's lifespan, never at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from sqlalchemy import Engine

from f1_pipeline.registry.tracking import registry_for
from f1_serving.accounts.users import UserCache, users_engine
from f1_serving.guards.rate_limit import RateLimiter, rate_limiter
from f1_serving.served.response_cache import ResponseCache
from f1_serving.served.serving_state import REFRESH_DEGRADED, ServingState
from f1_serving.settings import ApiSettings

LOGGER = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: ApiSettings
    engine: Engine
    limiter: RateLimiter
    state: ServingState
    cache: ResponseCache
    users: UserCache
    limiter_degraded: str | None = None

    @classmethod
    def start(cls, settings: ApiSettings) -> Runtime:
        engine = users_engine(settings.users_database_url)
        return cls(
            settings=settings,
            engine=engine,
            limiter=rate_limiter(settings.redis_url, replicas=settings.api_replicas),
            state=ServingState(registry_for(settings), settings.serving_dir),
            cache=ResponseCache(settings.response_cache_entries),
            users=UserCache(engine, seconds=settings.user_cache_seconds),
        )

    async def refresh(self) -> bool:
        """Reload what moved (in a worker thread: loading a model blocks) and drop responses built from older data."""
        changed = await asyncio.to_thread(self.state.refresh)
        if changed:
            self.cache.clear()
        return changed

    async def keep_fresh(self) -> None:
        while True:
            await asyncio.sleep(self.settings.refresh_seconds)
            try:
                await self.refresh()
            except Exception as error:  # the loop must outlive any one failure; the last good data stays served
                LOGGER.exception("refreshing the served data failed")
                self.state.report(REFRESH_DEGRADED, error)

    def degraded(self) -> list[str]:
        if not self.state.problems and self.limiter_degraded is None:  # every answer asks: the usual case, quickly
            return []
        return sorted({*self.state.degraded, *([self.limiter_degraded] if self.limiter_degraded else [])})

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self.limiter.aclose()
        self.engine.dispose()
