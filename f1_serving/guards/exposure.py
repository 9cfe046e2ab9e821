"""A loud warning when the development secret signs tokens on a server others can reach.

Anyone who knows the built-in secret (it is in the source) can sign a token for any account. Production refuses to
start with it (`ApiSettings`); in development the server warns at start-up, and again, louder, on the first request
that arrived on a non-loopback address (the bound address is only known from requests: `scope["server"]`).
"""

from __future__ import annotations

import logging
from ipaddress import ip_address

from starlette.types import Scope

from f1_serving.settings import DEVELOPMENT_SECRET, ApiSettings

LOGGER = logging.getLogger(__name__)
_LOOPBACK_NAMES = {"localhost", "testserver"}  # testserver: Starlette's test client, never a network


def uses_development_secret(settings: ApiSettings) -> bool:
    return settings.secret_key.get_secret_value() == DEVELOPMENT_SECRET


def warn_at_start(settings: ApiSettings) -> None:
    if uses_development_secret(settings):
        LOGGER.warning(
            "F1_SECRET_KEY is the built-in development secret: anyone who knows it can sign tokens. Keep this "
            "server on 127.0.0.1, or set F1_SECRET_KEY to a random secret of 32+ characters."
        )


def is_exposed(scope: Scope) -> bool:
    """Whether the request reached the server on an address other than loopback."""
    server = scope.get("server")
    if not server:
        return False
    host = str(server[0])
    if host in _LOOPBACK_NAMES:
        return False
    try:
        return not ip_address(host).is_loopback
    except ValueError:
        return True


def warn_exposed(scope: Scope) -> None:
    LOGGER.error(
        "!!! SECURITY: the development secret signs tokens and this server answers on %s, which is not loopback: "
        "anyone who can reach it can forge a token for any account. Set F1_SECRET_KEY (32+ random characters), or "
        "F1_ENVIRONMENT=production, which refuses to start without one. !!!",
        scope["server"][0],
    )
