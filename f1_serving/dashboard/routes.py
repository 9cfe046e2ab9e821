"""The dashboard's pages: thin routes that build a page's view from the served data and render its template.

Public and read-only (no login), rate-limited per client address with the API's limiter. A rendered page is kept in
the process's response cache under the served data's version, so it is built once per publication or champion
(and, for the next race, once a day: its freshness note depends on the date).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from f1_serving.dashboard import views
from f1_serving.deps import limit_by_client
from f1_serving.response_cache import ascii_digits
from f1_serving.runtime import Runtime
from f1_serving.serving_state import SUMMARIES, Served

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
    """The pages at `/` and their stylesheet under `ASSETS`."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=HERE / "static"), name="dashboard-assets")


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
    cache_key = (served.version, "dashboard", template, *key)
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
    response = _render(template, nav=_nav(served), footer=_footer(served), current=request.url.path, **context)
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
    return _page(request, (day,), "next_race.html", lambda served: {"page": views.next_race(served, day)})


@router.get("/season/{year}", response_class=HTMLResponse)
async def season(request: Request, year: str) -> HTMLResponse:
    """`year` is read here rather than validated by FastAPI, so a bad one gets a page, not a JSON error; in ASCII
    digits, so `/season/٢٠٢٤` and `/season/2024` are one page and one cache entry."""
    year = ascii_digits(year)

    def build(served: Served) -> dict[str, Any]:
        if not (year.isdigit() and len(year) == 4):
            raise views.PageNotFoundError(f"{year!r} is not a season")
        return {"page": views.season(served, int(year))}

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
