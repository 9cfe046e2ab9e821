"""The API's documentation pages, served offline: Swagger UI at `/api/v1/docs` and ReDoc at `/api/v1/redoc`, with
their JavaScript and CSS from the `fastapi-offline` package's copies (Swagger UI: Apache-2.0; ReDoc: MIT) under
`/docs-assets`, never from a CDN.

ReDoc's bundle names one file outside the server, Redocly's logo in its "API docs by Redocly" footer; the bundle is
served with that address pointed at the local favicon, so the page requests nothing from the network.

Each page's inline start-up script is allowed by its SHA-256 in the page's content-security policy, so the policy
keeps refusing any other inline script. Swagger UI's Authorize logs in with the OAuth2 password flow against
`/api/v1/auth/token` (email as the username) and sends the token with every "Try it out".
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from f1_serving.guards.middleware import CONTENT_SECURITY_POLICY

ASSETS = "/docs-assets"
_ASSET_DIR = Path(fastapi_offline.__file__).parent / "static"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def install_docs(app: FastAPI, prefix: str) -> None:
    """Routes for both pages and the redirect page Swagger UI's OAuth2 support expects; not in the OpenAPI document."""
    openapi_url = f"{prefix}/openapi.json"
    redirect_url = f"{prefix}/docs/oauth2-redirect"
    swagger = _with_script_hashes(
        get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            oauth2_redirect_url=redirect_url,
            swagger_ui_parameters={"persistAuthorization": False, "tryItOutEnabled": True},
        )
    )
    redoc = _with_script_hashes(
        get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
    )
    redirect = _with_script_hashes(get_swagger_ui_oauth2_redirect_html())
    redoc_bundle = (_ASSET_DIR / "redoc.standalone.js").read_text(encoding="utf-8")
    app.add_api_route(
        f"{ASSETS}/redoc.standalone.js",
        _page(Response(redoc_bundle.replace(_REDOC_LOGO, f"{ASSETS}/favicon.png"), media_type="text/javascript")),
        methods=["GET"],
        include_in_schema=False,
    )
    app.mount(ASSETS, StaticFiles(directory=_ASSET_DIR), name="docs-assets")
    for path, page in ((f"{prefix}/docs", swagger), (f"{prefix}/redoc", redoc), (redirect_url, redirect)):
        app.add_api_route(path, _page(page), methods=["GET"], include_in_schema=False)


def _page(page: Response) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(_: Request) -> Response:
        return page

    return endpoint


def _with_script_hashes(page: HTMLResponse) -> HTMLResponse:
    """The page with a content-security policy that allows exactly its own inline scripts."""
    body = bytes(page.body)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(body.decode())
    )
    policy = CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {hashes}".rstrip())
    return HTMLResponse(body, headers={"Content-Security-Policy": policy})
