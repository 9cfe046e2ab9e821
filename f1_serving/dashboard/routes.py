"""The dashboard's pages: thin routes that build a page's view from the served data and render its template.

Public and read-only (no login), rate-limited per client address with the API's limiter. A rendered page is kept in
the process's response cache under the served data's version, so it is built once per publication or champion
and the day: every page carries the data's freshness, which depends on the date.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from f1_serving.dashboard import views
from f1_serving.deps import limit_by_client
from f1_serving.runtime import Runtime
from f1_serving.served.response_cache import ascii_digits
from f1_serving.served.serving_state import SUMMARIES, Served

HERE = Path(__file__).parent
ASSETS = "/dashboard/assets"
router = APIRouter(include_in_schema=False, dependencies=[Depends(limit_by_client)])


@cache
def templates() -> Environment:
    """Autoescaped: every name and number from the data is escaped, never trusted as markup."""
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["assets"] = ASSETS
    return environment


def install_dashboard(app: FastAPI) -> None:
    """The pages at `/` and their stylesheet under `ASSETS`; an unknown address outside the API gets a page in the
    site's look (the API's own 404s stay JSON). Installed after the API's error handlers, whose 404 it wraps."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=HERE / "static"), name="dashboard-assets")
    api_handler = app.exception_handlers[StarletteHTTPException]

    async def not_found(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code != 404 or request.url.path.startswith(API_ROOT) or request.method not in ("GET", "HEAD"):
            answer = api_handler(request, error)
            return await answer if inspect.isawaitable(answer) else answer
        return _not_found_page(request)

    app.add_exception_handler(StarletteHTTPException, not_found)


API_ROOT = "/api"
"""Addresses under it belong to the JSON API, whose errors are JSON whatever the address."""


def _not_found_page(request: Request) -> HTMLResponse:
    """The site's 404: what was asked for, and the pages there are (the navigation)."""
    served = request.app.state.runtime.state.served
    return _render(
        "message.html",
        404,
        title="Page not found",
        message=f"There is no page at {request.url.path}. The pages of the site are listed above.",
        nav=_nav(served),
        current=request.url.path,
    )


def today() -> date:
    return datetime.now(UTC).date()


def _render(
    template: str, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    body = templates().get_template(template).render(**context)
    return HTMLResponse(body, status_code=status_code, headers=headers)


def _page(
    request: Request, key: tuple[object, ...], template: str, build: Callable[[Served], dict[str, Any]]
) -> HTMLResponse:
    """The cached page for `key` under the served version, or built and kept; a plain page when nothing is served
    yet or the data has no such page."""
    runtime: Runtime = request.app.state.runtime
    served = runtime.state.served
    if served is None:
        # General summaries only, as readiness gives anonymous callers: the details name files and SQL (see the log).
        problems = "; ".join(SUMMARIES[name] for name in sorted(runtime.state.problems)) or "the server is loading"
        return _render(
            "message.html",
            503,
            {"Retry-After": "10"},
            title="No predictions yet",
            message=f"Nothing to show yet: {problems}.",
            nav=_nav(None),
            current=request.url.path,
        )
    day = today()
    cache_key = (served.version, day, "dashboard", template, *key)
    cached = runtime.cache.get(cache_key)
    if cached is not None:
        return HTMLResponse(cached.body)
    try:
        context = build(served)
    except views.PageNotFoundError as error:
        message = str(error)[:1].upper() + str(error)[1:] + "."
        return _render(
            "message.html", 404, title="Not found", message=message, nav=_nav(served), current=request.url.path
        )
    response = _render(
        template,
        nav=_nav(served),
        footer=_footer(served),
        freshness=views.freshness(served.table("calendar"), day),
        current=request.url.path,
        **context,
    )
    runtime.cache.put(cache_key, bytes(response.body))
    return response


def _nav(served: Served | None) -> list[tuple[str, str]]:
    """Links to every page the data can fill: title odds only once they are published."""
    links = [("/", "Next race")]
    if served is not None:
        if views.CHAMPIONSHIP_TABLE in served.publication.tables:
            links.append(("/championship", "Championship"))
        links.append((f"/season/{views.latest_season(served)}", "Season"))
    links += [("/accuracy", "Accuracy"), ("/ratings", "Ratings"), ("/model", "Model")]
    return links


def _footer(served: Served) -> dict[str, str]:
    return {
        "snapshot": served.publication.manifest.snapshot_id,
        "model": f"{served.champion.name} v{served.champion.version}",
    }


@router.get("/", response_class=HTMLResponse)
async def next_race(request: Request) -> HTMLResponse:
    day = today()
    return _page(request, (), "next_race.html", lambda served: {"page": views.next_race(served, day)})


@router.get("/season/{year}", response_class=HTMLResponse)
async def season(request: Request, year: str) -> HTMLResponse:
    """`year` is read here rather than validated by FastAPI, so a bad one gets a page, not a JSON error; in ASCII
    digits, so `/season/٢٠٢٤` and `/season/2024` are one page and one cache entry."""
    year = ascii_digits(year)

    def build(served: Served) -> dict[str, Any]:
        if not (year.isdigit() and len(year) == 4):
            raise views.PageNotFoundError(f"{year!r} is not a season")
        return {"page": views.season(served, int(year), today())}

    return _page(request, (year,), "season.html", build)


@router.get("/accuracy", response_class=HTMLResponse)
async def accuracy(request: Request) -> HTMLResponse:
    return _page(request, (), "accuracy.html", lambda served: {"page": views.accuracy(served)})


@router.get("/ratings", response_class=HTMLResponse)
async def ratings(request: Request) -> HTMLResponse:
    return _page(request, (), "ratings.html", lambda served: {"page": views.ratings(served)})


@router.get("/model", response_class=HTMLResponse)
async def model(request: Request) -> HTMLResponse:
    return _page(request, (), "model.html", lambda served: {"page": views.model_card(served)})


@router.get("/championship", response_class=HTMLResponse)
async def championship(request: Request) -> HTMLResponse:
    return _page(request, (), "championship.html", lambda served: {"page": views.championship(served)})


@router.get("/race/{year}/{number}", response_class=HTMLResponse)
async def race(request: Request, year: str, number: str) -> HTMLResponse:
    """One race's chances before and after qualifying beside the result; read here like `season`, so a bad path gets
    a page, not a JSON error."""

    def build(served: Served) -> dict[str, Any]:
        if not (year.isdigit() and len(year) == 4 and number.isdigit() and len(number) <= 2):
            raise views.PageNotFoundError(f"{year}/{number} is not a season and round")
        return {"page": views.race(served, int(year), int(number), today())}

    return _page(request, (year, number), "race.html", build)
