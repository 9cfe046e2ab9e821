"""Register and log in; each answers with an access token. `/token` is the same login as an OAuth2 password grant
(form fields, the email as `username`), the flow the docs page's Authorize button speaks."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from sqlalchemy.orm import Session

from f1_serving.accounts.security import create_access_token
from f1_serving.accounts.users import EmailTakenError, User, authenticate, create_user
from f1_serving.deps import SessionDep, SettingsDep, StrictQueryRoute, limit_by_client
from f1_serving.errors import ApiError, error_responses
from f1_serving.schemas import Credentials, PasswordGrant, Registration, Token, UserPublic
from f1_serving.settings import ApiSettings

router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(limit_by_client)], route_class=StrictQueryRoute)


def _token(user: User, settings: ApiSettings) -> Token:
    token = create_access_token(
        str(user.id), settings.secret_key.get_secret_value(), timedelta(minutes=settings.access_token_minutes)
    )
    return Token(
        access_token=token.token,
        expires_at=token.expires_at,
        user=UserPublic.model_validate(user, from_attributes=True),
    )


@router.post("/register", status_code=201, responses=error_responses(400, 409, 413, 422, 429))
def register_user(body: Registration, session: SessionDep, settings: SettingsDep) -> Token:
    """Create an account; the password needs 8+ characters with an upper-case letter, a lower-case one and a digit."""
    try:
        user = create_user(session, body.email, body.password)
    except EmailTakenError as error:
        raise ApiError(409, "email_taken", "an account with this email already exists") from error
    return _token(user, settings)


@router.post("/login", responses=error_responses(400, 401, 413, 422, 429))
def log_in(body: Credentials, session: SessionDep, settings: SettingsDep) -> Token:
    """One answer for an unknown email and a wrong password, so the endpoint does not reveal who has an account."""
    return _token(_authenticated(session, body.email, body.password), settings)


@router.post("/token", responses=error_responses(400, 401, 413, 422, 429))
def create_token(form: Annotated[PasswordGrant, Form()], session: SessionDep, settings: SettingsDep) -> Token:
    """OAuth2 password grant (`application/x-www-form-urlencoded`): the same check and token as `/login`, for the
    docs page's Authorize and for OAuth2 clients."""
    return _token(_authenticated(session, form.username, form.password), settings)


def _authenticated(session: Session, email: str, password: str) -> User:
    user = authenticate(session, email, password)
    if user is None:
        raise ApiError(401, "invalid_credentials", "incorrect email or password", {"WWW-Authenticate": "Bearer"})
    return user
