"""Who is asking: the address a per-client budget is counted against.

The connection's peer is the client, unless the peer is one of the configured reverse proxies
(`F1_TRUSTED_PROXIES`, none by default): then the client is the last address in `X-Forwarded-For` that is not a
trusted proxy, since each proxy appends the address it received the request from and only those entries can be
believed. A forged `X-Forwarded-For` from anyone else is ignored, so it cannot reset a budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from starlette.types import Scope

Networks = Sequence[IPv4Network | IPv6Network]


def client_address(scope: Scope, trusted: Networks) -> str:
    peer = scope.get("client")
    host = peer[0] if peer else "unknown"
    if not trusted or not _is_trusted(host, trusted):
        return host
    hops = [
        hop.strip()
        for name, value in scope["headers"]
        if name == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
    ]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop if _is_address(hop) else host
    return host


def _is_address(value: str) -> bool:
    try:
        ip_address(value)
    except ValueError:
        return False
    return True


def _is_trusted(value: str, trusted: Networks) -> bool:
    try:
        address = ip_address(value)
    except ValueError:
        return False
    return any(address in network for network in trusted)
