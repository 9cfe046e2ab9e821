"""Passwords and access tokens.

Passwords are hashed with Argon2 (bcrypt hashes still verify and are upgraded on the next login). Tokens are
HS256 JWTs naming the user's id; decoding pins the algorithm, so a token claiming `alg: none` or another
algorithm is refused rather than trusted.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

ALGORITHM = "HS256"
_HASHER = PasswordHash((Argon2Hasher(), BcryptHasher()))


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or lacks a subject; the message says which, for logs only."""


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: datetime


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password: str, hashed: str) -> tuple[bool, str | None]:
    """Whether the password matches, and a fresh hash when the stored one used an older scheme or parameters."""
    return _HASHER.verify_and_update(password, hashed)


def dummy_verify(password: str) -> None:
    """Spend the time a real check would, so a login for an unknown email is not told apart by its speed."""
    _HASHER.verify_and_update(password, _DUMMY_HASH)


_DUMMY_HASH = _HASHER.hash("not-a-real-password")


def create_access_token(subject: str, secret: str, lifetime: timedelta, now: datetime | None = None) -> AccessToken:
    issued = now or datetime.now(UTC)
    expires = issued + lifetime
    claims = {"sub": subject, "iat": issued, "exp": expires}
    return AccessToken(token=jwt.encode(claims, secret, algorithm=ALGORITHM), expires_at=expires)


def token_subject(token: str, secret: str) -> str:
    """The user id a valid token names; `exp` and `sub` are required, the signature and expiry are verified.

    A client sends the same token with every request: its signature and claims are checked once per process (the
    HMAC and the JSON parsing were a fifth of a cached answer's time), its expiry on every use."""
    subject, expires = _verified_claims(token, secret)
    if expires <= time.time():
        raise InvalidTokenError("Signature has expired")
    return subject


@functools.lru_cache(maxsize=4096)
def _verified_claims(token: str, secret: str) -> tuple[str, float]:
    """Only tokens that verify are kept (an exception is never cached), so forged ones cannot fill the cache."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as error:
        raise InvalidTokenError(str(error)) from error
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise InvalidTokenError("the token names no subject")
    return subject, float(claims["exp"])
