"""API users in a SQLAlchemy database: SQLite by default, PostgreSQL (or any SQLAlchemy URL) in production.

Ids are random UUIDs, never reused, so a token of a deleted account can never name a later one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Dialect, Engine, String, TypeDecorator, Uuid, create_engine, delete, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from f1_pipeline.database_urls import with_psycopg2_driver
from f1_serving.security import dummy_verify, hash_password, verify_password


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


def normalised_email(email: str) -> str:
    """Emails compare case-insensitively, so `Ann@x.org` cannot register beside `ann@x.org`."""
    return email.strip().lower()


def create_user(session: Session, email: str, password: str) -> User:
    user = User(email=normalised_email(email), hashed_password=hash_password(password))
    session.add(user)
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise EmailTakenError(email) from error
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user when email and password match; an unknown email costs the same time as a wrong password."""
    user = session.scalar(select(User).where(User.email == normalised_email(email)))
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
