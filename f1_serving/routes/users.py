"""The caller's own account."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from f1_serving.accounts.users import delete_user
from f1_serving.deps import CurrentUser, RuntimeDep, SessionDep, StrictQueryRoute, limit_by_user
from f1_serving.errors import error_responses
from f1_serving.schemas import UserPublic

router = APIRouter(prefix="/users", tags=["users"], dependencies=[Depends(limit_by_user)], route_class=StrictQueryRoute)


@router.get("/me", responses=error_responses(401, 429))
def get_current_user(user: CurrentUser) -> UserPublic:
    """The account the token belongs to."""
    return UserPublic.model_validate(user, from_attributes=True)


@router.delete("/me", status_code=204, response_class=Response, responses=error_responses(401, 429))
def delete_current_user(user: CurrentUser, session: SessionDep, runtime: RuntimeDep) -> Response:
    """Delete the account; its tokens stop working at once (ids are never reused)."""
    delete_user(session, user.id)
    runtime.users.forget(user.id)
    return Response(status_code=204)
