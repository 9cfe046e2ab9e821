"""The app factory: `uvicorn --factory f1_serving.main:create_app` (settings from `F1_*` variables).

The lifespan builds everything the process holds (users database, rate limiter, champion and published data) and
starts the refresher that picks up a new champion or a new publication without a restart. A server without a
champion or data yet still starts: readiness says 503 until the pipeline has published.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from importlib.metadata import version

from fastapi import FastAPI

from f1_serving.dashboard.routes import install_dashboard
from f1_serving.docs import install_docs
from f1_serving.errors import COMMON_ERRORS, install_error_handlers
from f1_serving.guards.exposure import uses_development_secret, warn_at_start
from f1_serving.guards.middleware import BodyLimit, RequestGuard, ServingHeaders
from f1_serving.repeated_answers import RepeatedAnswers
from f1_serving.routes import API_ROUTERS, operation_id
from f1_serving.runtime import Runtime
from f1_serving.settings import ApiSettings

API_PREFIX = "/api/v1"


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warn_at_start(settings)
        runtime = Runtime.start(settings)
        app.state.runtime = runtime
        await runtime.refresh()
        gc.collect()
        gc.freeze()  # start-up leaves ~440,000 tracked objects (MLflow, the model): a full collection took 200-330 ms
        refresher = asyncio.create_task(runtime.keep_fresh())
        try:
            yield
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            await runtime.aclose()

    app = FastAPI(
        title="f1-predict API",
        version=version("f1-predict"),
        description="Win probabilities of the champion model for every Formula 1 race, with analytics and exports.",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        redirect_slashes=False,  # a slash redirect would build its Location from the client's Host header
    )
    install_error_handlers(app)
    app.add_middleware(RepeatedAnswers)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        RequestGuard,
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
        development_secret=uses_development_secret(settings),
    )
    app.add_middleware(ServingHeaders)
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX, responses=COMMON_ERRORS)
    install_docs(app, API_PREFIX)  # after the API: routes are matched in order, the docs pages are rarely asked for
    install_dashboard(app)
    return app
