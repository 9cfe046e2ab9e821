"""Every API setting, read from `F1_*` environment variables, with the embedded default.

The registry location and the serving directory come from the base the pipeline's settings share, so one variable
points both at the same place. Nothing here opens a file or a connection.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator

from f1_pipeline.settings import REPO_ROOT, SharedSettings

DEVELOPMENT_SECRET = "development-only-secret-change-me"  # refused outside development
MIN_SECRET_LENGTH = 32


class ApiSettings(SharedSettings):
    environment: Literal["development", "production"] = "development"
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    access_token_minutes: int = Field(default=24 * 60, ge=1)
    users_database_url: str = f"sqlite:///{REPO_ROOT / 'warehouse' / 'users.db'}"
    redis_url: str | None = None
    rate_limit_per_minute: int = Field(default=100, ge=1)
    refresh_seconds: float = Field(default=10.0, gt=0)
    max_body_bytes: int = Field(default=16 * 1024, ge=256)
    response_cache_entries: int = Field(default=512, ge=1)
    user_cache_seconds: float = Field(default=5.0, ge=0)
    """How long a replica trusts that a token's account still exists (an account deleted through another replica
    is refused after at most this long; through this one, at once). 0 looks the account up on every request."""

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
