"""API users in a SQLAlchemy database: SQLite by default, PostgreSQL (or any SQLAlchemy URL) in production.

Ids are random UUIDs, never reused, so a token of a deleted account can never name a later one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Dialect, Engine, String, TypeDecorator, Uuid, create_engine, delete, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from starlette.concurrency import run_in_threadpool

from f1_pipeline.database_urls import with_psycopg2_driver
from f1_serving.accounts.emails import canonical_email, login_email
from f1_serving.accounts.security import dummy_verify, hash_password, verify_password


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend: SQLite keeps no zone and would hand back naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=lambda: datetime.now(UTC))


class EmailTakenError(Exception):
    pass


def users_engine(url: str) -> Engine:
    """An engine with the users table in place; a SQLite file's directory is created first."""
    parsed = make_url(with_psycopg2_driver(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, pool_pre_ping=True)
    Base.metadata.create_all(engine)
    return engine


def create_user(session: Session, email: str, password: str) -> User:
    user = User(email=canonical_email(email), hashed_password=hash_password(password))
    session.add(user)
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise EmailTakenError(email) from error
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user when email and password match; an unknown email costs the same time as a wrong password."""
    user = session.scalar(select(User).where(User.email == login_email(email)))
    if user is None:
        dummy_verify(password)
        return None
    matches, upgraded = verify_password(password, user.hashed_password)
    if not matches:
        return None
    if upgraded is not None:
        user.hashed_password = upgraded
        session.commit()
    return user


def user_by_id(session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)


def delete_user(session: Session, user_id: uuid.UUID) -> None:
    session.execute(delete(User).where(User.id == user_id))
    session.commit()


class UserCache:
    """Accounts looked up in the last `seconds`, so an authenticated request does not cost a database query in a
    worker thread (three quarters of a cached answer's time). Deleting an account through this process forgets it at
    once; a deletion through another replica is seen within `seconds`. Unknown ids are never kept."""

    def __init__(
        self, engine: Engine, seconds: float = 5.0, entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._engine = engine
        self._seconds = seconds
        self._entries = entries
        self._clock = clock
        self._users: dict[uuid.UUID, tuple[float, User]] = {}
        self._loading: dict[uuid.UUID, asyncio.Future[User | None]] = {}
        self._forgets = 0

    async def get(self, user_id: uuid.UUID) -> User | None:
        kept = self._users.get(user_id)
        if kept is not None and kept[0] > self._clock():
            return kept[1]
        loading = self._loading.get(user_id)
        if loading is None:
            loading = self._loading[user_id] = asyncio.ensure_future(self._load(user_id))
        return await asyncio.shield(loading)

    def forget(self, user_id: uuid.UUID) -> None:
        """Safe from a worker thread (a sync route): it only drops the entry and marks that something was forgotten."""
        self._forgets += 1
        self._users.pop(user_id, None)

    async def _load(self, user_id: uuid.UUID) -> User | None:
        """One query per account however many requests wait for it: when an entry expires under load, every request
        in flight misses at once, and 64 queries queued in the threadpool stalled them all for 100 ms."""
        forgets = self._forgets
        try:
            user = await run_in_threadpool(self._query, user_id)
        finally:
            del self._loading[user_id]
        if user is not None and forgets == self._forgets:  # not kept if an account was deleted meanwhile
            if len(self._users) >= self._entries:
                self._users.pop(next(iter(self._users)))
            self._users[user_id] = (self._clock() + self._seconds, user)
        return user

    def _query(self, user_id: uuid.UUID) -> User | None:
        with Session(self._engine) as session:
            return user_by_id(session, user_id)
