"""Every API setting, read from `F1_*` environment variables (or a `.env` file), with the embedded default.

The registry location and the serving directory come from the base the pipeline's settings share, so one variable
points both at the same place. Nothing here opens a file or a connection.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from f1_pipeline.settings import SharedSettings, working_directory_sqlite_url

DEVELOPMENT_SECRET = "development-only-secret-change-me"  # refused outside development
MIN_SECRET_LENGTH = 32


class ApiSettings(SharedSettings):
    environment: Literal["development", "production"] = "development"
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    access_token_minutes: int = Field(default=24 * 60, ge=1)
    users_database_url: str = Field(default_factory=lambda: working_directory_sqlite_url("warehouse", "users.db"))
    redis_url: str | None = None
    api_replicas: int = Field(default=1, ge=1)
    """How many API processes share the Redis budgets: while Redis is down, each counts every request it admits this
    many times, so that together they stay within a budget (see `rate_limit`)."""
    rate_limit_per_minute: int = Field(default=100, ge=1)
    """Requests per minute per user, and per client address on registration and login."""
    client_rate_limit_per_minute: int = Field(default=600, ge=1)
    """Requests per minute per client address over every request (any path, with or without a token)."""
    trusted_proxies: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = ()
    """Comma-separated addresses or networks of the reverse proxies in front of the API: only a request from one of
    them has its client address taken from `X-Forwarded-For`. Empty: the connection's address is the client."""
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    max_headers: int = Field(default=100, ge=10)
    operator_token: SecretStr | None = None
    """Sent as `X-Operator-Token`, it lets `/health/ready` show the details of a failure (paths, errors)."""
    refresh_seconds: float = Field(default=10.0, gt=0)
    max_body_bytes: int = Field(default=16 * 1024, ge=256)
    response_cache_entries: int = Field(default=512, ge=1)
    """Bodies kept per process, and as many requests remembered with the body that answered them."""
    user_cache_seconds: float = Field(default=5.0, ge=0)
    """How long a replica trusts that a token's account still exists (an account deleted through another replica
    is refused after at most this long; through this one, at once). 0 looks the account up on every request."""

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _secret_fit_for_production(self) -> Self:
        """Tokens signed with a known or guessable key can be forged by anyone: production refuses to start."""
        if self.environment != "production":
            return self
        secret = self.secret_key.get_secret_value()
        if secret == DEVELOPMENT_SECRET:
            raise ValueError("F1_SECRET_KEY is the development default; set a random secret for production")
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"F1_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters in production")
        return self
