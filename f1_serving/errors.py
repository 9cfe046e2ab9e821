"""One error envelope, `{"error": ..., "error_code": ...}`, for every failure the API reports.

Bad input of any kind (validation, unknown route, wrong method, malformed token) maps to a 4xx here, so a client
never sees a 500 for something it sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from f1_serving.field_docs import Documented

LOGGER = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal_error",
    503: "not_ready",
}


class ErrorResponse(Documented):
    error: str
    error_code: str


class ApiError(Exception):
    def __init__(self, status_code: int, error_code: str, error: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(error)
        self.status_code = status_code
        self.error_code = error_code
        self.error = error
        self.headers = dict(headers or {})


def envelope(status_code: int, error_code: str, error: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        ErrorResponse(error=error, error_code=error_code).model_dump(), status_code=status_code, headers=headers
    )


_MEANINGS = {
    400: "the request could not be read",
    401: "no access token, or one that is invalid, expired or names a deleted account",
    404: "nothing there; `error` says why (race_not_found, season_not_found, predictions_not_available, ...)",
    409: "an account with this email already exists",
    413: "the body is larger than F1_MAX_BODY_BYTES",
    422: "invalid parameters or body (an unknown query parameter included); `error` names the field and the rule",
    429: "over a rate limit (per address, or per user); retry after `Retry-After` seconds",
    431: "more header bytes than F1_MAX_HEADER_BYTES, or more headers than F1_MAX_HEADERS",
    503: "no champion and published data to serve yet (or any more); retry after `Retry-After` seconds",
}


_EXAMPLES = {
    400: ("bad_request", "There was an error parsing the body"),
    401: ("invalid_token", "the access token is invalid or expired"),
    404: ("race_not_found", "there is no round 30 in the 2026 calendar"),
    409: ("email_taken", "an account with this email already exists"),
    413: ("payload_too_large", "the request body is larger than 16384 bytes"),
    422: ("invalid_request", "query.mode: Input should be 'pre_qualifying' or 'post_qualifying'"),
    429: ("rate_limited", "more than 100 requests in a minute; retry in 42 s"),
    431: ("headers_too_large", "send at most 100 headers and 16384 bytes of them"),
    503: ("not_ready", "no model and data to serve yet: the registry has no champion"),
}
"""What each status looks like in the docs: an answer the server gives, not one envelope for every status."""


def error_responses(*status_codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI entries for a route's error statuses, so clients and fuzzers know the envelope's shape, each with an
    example of its own."""
    return {
        code: {
            "model": ErrorResponse,
            "description": f"{CODES.get(code, 'error')}: {_MEANINGS[code]}",
            "content": {
                "application/json": {"example": {"error": _EXAMPLES[code][1], "error_code": _EXAMPLES[code][0]}}
            },
        }
        for code in status_codes
    }


COMMON_ERRORS = error_responses(413, 422, 429, 431)
"""What any operation may answer: an oversized body or headers, an unknown query parameter, the address budget."""


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item.get("loc", ()))
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is invalid"


async def _api_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return envelope(error.status_code, error.error_code, error.error, error.headers)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = CODES.get(error.status_code, f"http_{error.status_code}")
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return envelope(error.status_code, code, str(error.detail), headers)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path: Starlette's 405 lists only the first route's, so
    `/users/me` (one route for GET, another for DELETE) would not admit it takes DELETE."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


async def _invalid_request(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return envelope(422, CODES[422], _validation_message(error))


async def _database_unreachable(request: Request, error: Exception) -> JSONResponse:
    """The accounts database down or restarting (a replica outlives it): a 503 the client can retry, not a 500."""
    LOGGER.warning("accounts database unreachable on %s %s: %s", request.method, request.url.path, error)
    return envelope(503, "accounts_unavailable", "the accounts database cannot be reached; retry", {"Retry-After": "5"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(OperationalError, _database_unreachable)
    # An unexpected error is answered by `middleware.ServingHeaders`, inside the middleware that sets the security
    # headers: a handler for `Exception` here would run in Starlette's outermost layer, outside every middleware.
