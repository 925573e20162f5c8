"""Staff commands on staff accounts (admins only, checked by the doors) and the audit log:
create, change role/active/name/password (sessions end), issue an API token."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from core.persistence.models import StaffUserRow
from core.staff import queries as bo
from core.staff.accounts import (
    DEFAULT_ROLE,
    PasswordHasher,
    StaffNotFound,
    create_staff,
    issue_api_token,
    list_staff,
    set_password,
    update_staff,
)


@dataclass(frozen=True)
class Change:
    role: str | None = None
    active: bool | None = None
    display_name: str | None = None
    password: str | None = None


def users(session: Session) -> list[StaffUserRow]:
    return list_staff(session)


def create(
    session: Session,
    actor: str,
    *,
    username: str,
    password: str,
    role: str = DEFAULT_ROLE,
    display_name: str | None = None,
    hasher: PasswordHasher,
) -> StaffUserRow:
    return create_staff(session, username, password, role, display_name, actor=actor, hasher=hasher)


def update(
    session: Session, actor: str, user_id: int, change: Change, *, hasher: PasswordHasher
) -> StaffUserRow:
    """Role, active flag, display name, password (a new password ends the user's sessions)."""
    user = update_staff(
        session, user_id, actor=actor, role=change.role, active=change.active,
        display_name=change.display_name,
    )  # fmt: skip
    if change.password:
        set_password(session, user_id, change.password, actor=actor, hasher=hasher)
    return user


def new_token(session: Session, actor: str, user_id: int) -> tuple[StaffUserRow, str]:
    """A new API token (shown once; the old one stops working)."""
    target = session.get(StaffUserRow, user_id)
    if target is None:
        raise StaffNotFound(f"用户 {user_id} 不存在")
    return target, issue_api_token(session, target, actor)


def audit_log(
    session: Session, *, actor: str | None, action: str | None, limit: int, offset: int
) -> bo.Page:
    """Who did what, when, before/after (newest first; `action` is a prefix)."""
    return bo.list_audit(session, actor=actor, action=action, limit=limit, offset=offset)
