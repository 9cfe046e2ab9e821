"""The API docs pages in a real browser (Debian's Chromium driven by Playwright), offline: Swagger UI and ReDoc load
every file from this server with no failed request and no console error under the content-security policy, and
Swagger UI's Authorize logs in with email and password (OAuth2 password grant) so that "Try it out" on the next-race
endpoint is sent with the token and answers 200.

Screenshots go to a temporary directory, or to the directory named by `DOCS_SCREENSHOTS`."""

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from f1_serving.main import create_app
from tests.api_support import PASSWORD, api_settings, new_email
from tests.chromium import chromium
from tests.local_server import serving


@pytest.fixture(scope="module")
def server(trained, tmp_path_factory) -> Iterator[str]:
    """The app under uvicorn (proxy headers off, as `make serve` runs it) on a free loopback port."""
    pipeline, result = trained
    assert result.success
    settings = api_settings(
        tmp_path_factory.mktemp("docs-browser"),
        pipeline,
        rate_limit_per_minute=100_000,
        client_rate_limit_per_minute=100_000,
    )
    with serving(create_app(settings), lifespan="on", proxy_headers=False) as url:
        yield url


@pytest.fixture(scope="module")
def page(server) -> Iterator[Page]:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()


@pytest.fixture
def shots(tmp_path) -> Path:
    return Path(os.environ.get("DOCS_SCREENSHOTS") or tmp_path)


class Watch:
    """Every failed request, off-server request and console error of a page while it is watched (ReDoc's search
    runs in a web worker made from a same-origin `blob:` URL)."""

    def __init__(self, page: Page, origin: str) -> None:
        self.problems: list[str] = []
        page.on("requestfailed", lambda request: self.problems.append(f"failed: {request.url} {request.failure}"))
        page.on("console", lambda message: message.type == "error" and self.problems.append(message.text))
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on(
            "request",
            lambda request: request.url.startswith((origin, f"blob:{origin}")) or self.problems.append(request.url),
        )


def test_swagger_ui_authorizes_with_email_and_password_and_try_it_out_sends_the_token(server, page, shots):
    email = new_email()
    registered = httpx.post(f"{server}/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 201
    watch = Watch(page, server)
    page.goto(f"{server}/api/v1/docs")
    operation = page.locator("#operations-predictions-get_next_race")
    operation.wait_for()
    page.screenshot(path=shots / "h5_docs.png", full_page=False)

    page.locator(".auth-wrapper .authorize").click()
    page.locator("#oauth_username").fill(email)
    page.locator("#oauth_password").fill(PASSWORD)
    with page.expect_response(lambda response: "/api/v1/auth/token" in response.url) as token_answer:
        page.locator(".auth-btn-wrapper .authorize").click()
    assert token_answer.value.status == 200
    page.locator(".auth-btn-wrapper .btn-done").click()

    operation.locator(".opblock-summary").click()  # "Try it out" is on from the start (tryItOutEnabled)
    with page.expect_response(lambda response: "/api/v1/predictions/next-race" in response.url) as answer:
        operation.locator(".execute").click()
    response = answer.value
    assert response.request.headers["authorization"].startswith("Bearer ")
    assert response.status == 200, response.text()
    assert response.json()["predictions"], "every entrant of the next race"
    operation.locator(".live-responses-table").wait_for()
    operation.scroll_into_view_if_needed()
    page.screenshot(path=shots / "h5_docs_try_it_out.png", full_page=False)
    assert watch.problems == []


def test_redoc_renders_offline(server, page, shots):
    watch = Watch(page, server)
    page.goto(f"{server}/api/v1/redoc")
    page.get_by_text("Win probabilities of the champion model").first.wait_for()
    page.get_by_text("/predictions/next-race").first.wait_for()
    page.screenshot(path=shots / "h5_redoc.png", full_page=False)
    assert watch.problems == []


def test_the_real_server_refuses_huge_headers(server):
    """uvicorn with httptools sets no header limit of its own: the app's guard answers 431 on the real socket."""
    with httpx.Client(base_url=f"{server}/api/v1", timeout=60) as client:
        huge = client.get("/users/me", headers={"Authorization": "Bearer " + "A" * (8 * 1024 * 1024)})
        assert huge.status_code == 431 and huge.json()["error_code"] == "headers_too_large"
        many = client.get("/health", headers=[(f"x-probe-{i}", "1") for i in range(10_000)])
        assert many.status_code == 431
        assert client.get("/health").status_code == 200
