"""The dashboard in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright, against the API
server running on the session's materialized graph (seasons 2012-2026). Every page loads with no console error and
no failed request, its charts render, the numbers it shows are the JSON API's, and the keyboard reaches every link.

Screenshots of every page at desktop and phone widths go to a temporary directory. With `DASHBOARD_SCREENSHOTS`
set they go to the directory it names and the pages show what `make quickstart` made in this checkout, not the
session's graph: the documentation's images (`make screenshots`) are of the data the README quotes.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from f1_pipeline.settings import PipelineSettings
from f1_serving.dashboard.formatting import percent
from f1_serving.main import create_app
from tests.api_support import api_settings, bearer, new_email
from tests.chromium import chromium
from tests.local_server import serving

PAGES = {
    "/": "next-race",
    "/championship": "championship",
    "/season/2025": "season",
    "/race/2025/3": "race",
    "/accuracy": "accuracy",
    "/ratings": "ratings",
    "/model": "model",
}
CHARTED = ("/", "/championship", "/race/2025/3", "/accuracy", "/ratings")
"""Pages that draw SVG (bars or charts); the season page and the model card are tables."""
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}
SCREENSHOTS = os.environ.get("DASHBOARD_SCREENSHOTS")

from playwright.sync_api import Browser, Page  # noqa: E402  (after chromium's check that a browser can run)

if SCREENSHOTS:

    @pytest.fixture(scope="module")
    def pipeline() -> PipelineSettings:
        """The quick start's registry and publication in this checkout, in place of the session's graph."""
        settings = PipelineSettings()
        assert settings.serving_dir.is_dir(), f"no publication in {settings.serving_dir}: run `make quickstart`"
        return settings


@pytest.fixture(scope="module")
def server(pipeline, tmp_path_factory) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, in a thread of this process."""
    settings = api_settings(tmp_path_factory.mktemp("browser"), pipeline, rate_limit_per_minute=100_000)
    with serving(create_app(settings), lifespan="on") as url:
        yield url


@pytest.fixture(scope="module")
def api(server) -> Iterator[httpx.Client]:
    """The JSON API as a registered user reads it."""
    with httpx.Client(base_url=server + "/api/v1", timeout=30) as client:
        registered = client.post("/auth/register", json={"email": new_email(), "password": "Sup3rSecret"})
        assert registered.status_code == 201, registered.text
        client.headers.update(bearer(registered.json()["access_token"]))
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    directory = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path_factory.mktemp("screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class Visit:
    """A page opened in a fresh tab, with every console error and failed or refused request it caused."""

    def __init__(self, browser: Browser, url: str, viewport: tuple[int, int]) -> None:
        self.problems: list[str] = []
        self.page: Page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", lambda request: self.problems.append(f"failed: {request.url}"))
        self.page.on(
            "response",
            lambda response: (
                self.problems.append(f"{response.status}: {response.url}") if response.status >= 400 else None
            ),
        )
        self.response = self.page.goto(url, wait_until="load")

    def _console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console {message.type}: {message.text}")

    def close(self) -> None:
        self.page.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads_cleanly_and_draws_its_charts(browser, server, screenshots, path, viewport):
    visit = Visit(browser, server + path, VIEWPORTS[viewport])
    try:
        assert visit.response is not None and visit.response.status == 200
        page = visit.page
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("h1").count() == 1
        charts = page.locator("main svg:visible")  # a phone leaves some table columns out
        if path in CHARTED:
            assert charts.count() > 0
            for index in range(charts.count()):
                box = charts.nth(index).bounding_box()
                assert box is not None and box["width"] > 0 and box["height"] > 0, f"SVG {index} is not drawn"
        for figure in page.locator("svg[role=img]").all():
            labels = (figure.get_attribute("aria-labelledby") or "").split()
            assert labels and all(page.locator(f"#{label}").count() == 1 for label in labels)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (
            "the page scrolls sideways"
        )
        shot = screenshots / f"{PAGES[path]}-{viewport}.png"
        page.screenshot(path=shot, full_page=True)
        assert shot.stat().st_size > 0
        assert visit.problems == []
    finally:
        visit.close()


def test_next_race_shows_the_apis_chances(browser, server, api):
    body = api.get("/predictions/next-race").json()
    visit = Visit(browser, server + "/", VIEWPORTS["desktop"])
    try:
        page = visit.page
        assert page.locator("h1").inner_text() == f"{body['season']} {body['race_name']}"
        rows = page.locator("table.chances tbody tr")
        assert rows.count() == len(body["predictions"])
        shown = [
            (
                rows.nth(index).locator("th").inner_text().split("\n")[0],
                rows.nth(index).locator(".bar-value").first.inner_text(),
            )
            for index in range(rows.count())
        ]
        assert shown == [(row["driver_name"], percent(row["probability"])) for row in body["predictions"]]
        widths = [
            float(rows.nth(index).locator(".bar-fill").first.get_attribute("width")) for index in range(rows.count())
        ]
        assert widths == pytest.approx([row["probability"] * 100 for row in body["predictions"]], abs=0.01)
        assert "Data through Hungarian Grand Prix, 26 July 2026." in page.locator(".freshness").inner_text()
        assert visit.problems == []
    finally:
        visit.close()


def test_season_shows_the_apis_favourites_and_winners(browser, server, api):
    calendar = api.get("/races/2025").json()["races"]
    visit = Visit(browser, server + "/season/2025", VIEWPORTS["desktop"])
    try:
        rows = visit.page.locator("table.season tbody tr")
        assert rows.count() == len(calendar)
        for index, race in enumerate(calendar):
            favourite = api.get(f"/predictions/races/2025/{race['round']}").json()["predictions"][0]
            cells = rows.nth(index).locator("td")
            texts = [cells.nth(cell).inner_text() for cell in range(cells.count())]
            assert texts[0] == str(race["round"])
            assert texts[-4:] == [
                favourite["driver_name"],
                percent(favourite["probability"]),
                race["winner_name"],
                "yes" if favourite["driver_id"] == race["winner_driver_id"] else "no",
            ]
    finally:
        visit.close()


def test_the_model_card_shows_the_gates_decision_the_api_gives(browser, server, api):
    model = api.get("/model").json()
    decision = model["became_champion"]
    visit = Visit(browser, server + "/model", VIEWPORTS["desktop"])
    try:
        said = visit.page.locator("p.decision").inner_text()
        assert said.startswith(f"The registry's gate made version {model['version']} the first champion on ")
        assert said.endswith(f": {decision['reason']}.")
        assert (decision["action"], decision["deciding_outcomes"]) == ("promotion", ["win"])
        first = visit.page.locator("section[aria-labelledby=decision] tbody tr").last
        assert first.locator("td").all_inner_texts() == [
            "promoted by the gate",
            model["version"],
            "Win",
            decision["reason"],
        ]
        assert visit.problems == []
    finally:
        visit.close()


def test_the_keyboard_reaches_every_link_with_a_visible_focus(browser, server):
    visit = Visit(browser, server + "/accuracy", VIEWPORTS["desktop"])
    try:
        page = visit.page
        links = page.locator("a").count()
        reached = []
        for _ in range(links):
            page.keyboard.press("Tab")
            reached.append(
                page.evaluate(
                    "() => { const e = document.activeElement;"
                    " return [e.tagName, e.textContent.trim(), getComputedStyle(e).outlineStyle]; }"
                )
            )
        assert reached[0][:2] == ["A", "Skip to content"]
        assert all(tag == "A" and outline != "none" for tag, _, outline in reached), reached
        assert {text for _, text, _ in reached} >= {"Next race", "Season", "Accuracy", "Ratings", "Model"}
        page.focus("a.skip")
        assert page.locator("a.skip").bounding_box()["x"] >= 0, "the focused skip link is on screen"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "content"
    finally:
        visit.close()


def test_a_race_page_shows_the_apis_chances_in_both_modes_and_the_result(browser, server, api):
    before = api.get("/predictions/races/2025/3", params={"mode": "pre_qualifying"}).json()["predictions"]
    after = api.get("/predictions/races/2025/3", params={"mode": "post_qualifying"}).json()["predictions"]
    chances_before = {row["driver_name"]: percent(row["probability"]) for row in before}
    visit = Visit(browser, server + "/race/2025/3", VIEWPORTS["desktop"])
    try:
        rows = visit.page.locator("table.race tbody tr")
        assert rows.count() == len(after)
        for index, expected in enumerate(after):
            row = rows.nth(index)
            driver = row.locator("th").inner_text().split("\n")[0].strip()
            values = row.locator(".bar-value").all_inner_texts()
            result = row.locator("td").last.inner_text()
            assert driver == expected["driver_name"]
            assert values == [chances_before[driver], percent(expected["probability"])]
            if expected["finish_position"] is not None:
                assert result == f"P{expected['finish_position']}"
        assert visit.problems == []
    finally:
        visit.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_an_unknown_address_gets_the_sites_404_page(browser, server, screenshots, viewport):
    visit = Visit(browser, server + "/no-such-page", VIEWPORTS[viewport])
    try:
        assert visit.response is not None and visit.response.status == 404
        assert visit.page.locator("h1").inner_text() == "Page not found"
        assert visit.page.locator("nav[aria-label=Pages] a").count() >= 4
        visit.page.screenshot(path=screenshots / f"not-found-{viewport}.png", full_page=True)
        own = "console error: Failed to load resource: the server responded with a status of 404 (Not Found)"
        others = [problem for problem in visit.problems if "/no-such-page" not in problem]
        assert others in ([], [own]), "only the page's own 404 is reported (Chromium logs it), no asset fails"
    finally:
        visit.close()
