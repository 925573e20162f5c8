"""/api/staff/me, /users and /audit: the caller, staff accounts and the audit log (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from core.staff import users
from server.params import DbId
from server.staff.bodies import StaffIn, StaffPatch
from server.staff.deps import ApiAdmin, ApiViewer, ContainerDep, Limit, Offset, SessionDep
from server.staff.schemas import AuditPage, IssuedToken, Me, StaffUser
from server.staff.shapes import audit_json, page_json, staff_json

router = APIRouter(prefix="/api/staff", tags=["staff"])


@router.get("/me", response_model=Me)
def me(user: ApiViewer) -> dict[str, Any]:
    """The user behind the token."""
    return Me(username=user.username, display_name=user.display_name, role=user.role).model_dump()


@router.get("/users", response_model=list[StaffUser])
def list_users(s: SessionDep, user: ApiAdmin) -> list[dict[str, Any]]:
    """Staff accounts."""
    return [staff_json(u) for u in users.users(s)]


@router.post("/users", status_code=201, response_model=StaffUser)
def create_user(
    s: SessionDep, body: StaffIn, user: ApiAdmin, container: ContainerDep
) -> dict[str, Any]:
    """Create a staff account."""
    made = users.create(s, user.username, **body.model_dump(), hasher=container.hasher)
    return staff_json(made)


@router.patch("/users/{user_id}", response_model=StaffUser)
def update_user(
    s: SessionDep, user_id: DbId, body: StaffPatch, user: ApiAdmin, container: ContainerDep
) -> dict[str, Any]:
    """Change role, active flag, display name or password (ends the user's sessions)."""
    change = users.Change(**body.model_dump())
    return staff_json(users.update(s, user.username, user_id, change, hasher=container.hasher))


@router.post("/users/{user_id}/token", response_model=IssuedToken)
def new_token(s: SessionDep, user_id: DbId, user: ApiAdmin) -> dict[str, str]:
    """Issue a new API token for a user (shown once; the old one stops working)."""
    target, token = users.new_token(s, user.username, user_id)
    return {"username": target.username, "token": token}


@router.get("/audit", response_model=AuditPage)
def audit_log(
    s: SessionDep,
    user: ApiAdmin,
    actor: str | None = None,
    action: str | None = Query(default=None, description="动作前缀，如 broadcast."),
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The audit log: who did what, when, before/after."""
    page = users.audit_log(s, actor=actor, action=action, limit=limit, offset=offset)
    return page_json(page, [audit_json(e) for e in page.items])
