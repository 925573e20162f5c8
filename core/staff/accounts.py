"""Staff accounts: roles, password hashing (pwdlib/argon2), API tokens, and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from functools import cached_property

import sqlalchemy as sa
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlmodel import Session, col, func, select

from core.kernel.errors import Conflict, Invalid, NotFound
from core.kernel.labels import labels
from core.kernel.timeutil import utcnow
from core.persistence.audit import audit
from core.persistence.models import StaffUserRow
from core.persistence.models_staff import StaffSessionRow
from core.persistence.sql import table

ROLES = ("admin", "officer", "viewer")
DEFAULT_ROLE = "viewer"  # a new account reads only until an admin chooses officer/admin
ROLE_LABELS = labels("role")
_RANK = {"viewer": 0, "officer": 1, "admin": 2}


class StaffError(Invalid):
    """A staff-account operation that cannot be done; the message is Chinese."""


class StaffNotFound(NotFound, StaffError):
    """No staff account with that id."""


class StaffConflict(Conflict, StaffError):
    """The change would leave the accounts in a state not allowed (no active admin)."""


class PasswordHasher:
    """argon2id at a given cost (settings PASSWORD_HASH_TIME_COST, PASSWORD_HASH_MEMORY_KIB).

    Built by the composition root from the settings and passed to whatever sets or checks a
    password; tests build a cheap one. A stored hash carries its own parameters, so verifying
    always uses the cost the hash was made with."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self.time_cost = time_cost
        self.memory_kib = memory_kib
        self._hash = PasswordHash((Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib),))

    def hash(self, password: str) -> str:
        return self._hash.hash(password)

    def verify(self, password: str, hashed: str) -> bool:
        try:
            return self._hash.verify(password, hashed)
        except Exception:  # malformed hash: never authenticates
            return False

    @cached_property
    def dummy_hash(self) -> str:
        """Checked when the user does not exist, so a login costs the same either way."""
        return self.hash("dummy-password-for-timing")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def role_at_least(role: str, needed: str) -> bool:
    return _RANK.get(role, -1) >= _RANK[needed]


def create_staff(
    session: Session,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    actor: str = "system",
    *,
    hasher: PasswordHasher,
) -> StaffUserRow:
    username = username.strip()
    if role not in ROLES:
        raise StaffError(f"角色必须是 {'/'.join(ROLES)} 之一")
    if not (3 <= len(username) <= 64) or not username.replace("_", "").replace(".", "").isalnum():
        raise StaffError("用户名须为3到64位字母、数字、下划线或点")
    if len(password) < 10:
        raise StaffError("密码至少10位")
    if session.exec(select(StaffUserRow).where(StaffUserRow.username == username)).first():
        raise StaffConflict(f"用户名 {username} 已存在")
    user = StaffUserRow(
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=hasher.hash(password),
    )
    session.add(user)
    session.flush()
    audit(
        session,
        actor,
        "staff.create",
        "staff_user",
        user.id,
        after={"username": username, "role": role},
    )
    return user


def issue_api_token(session: Session, user: StaffUserRow, actor: str) -> str:
    """A new API token for scripts (shown once; only its hash is stored)."""
    token = "cd_" + secrets.token_urlsafe(32)
    user.api_token_hash = hash_token(token)
    session.add(user)
    audit(session, actor, "staff.token", "staff_user", user.id)
    return token


def authenticate(
    session: Session, username: str, password: str, *, hasher: PasswordHasher
) -> StaffUserRow | None:
    user = session.exec(select(StaffUserRow).where(StaffUserRow.username == username)).first()
    if user is None:
        hasher.verify(password, hasher.dummy_hash)  # same cost whether or not the user exists
        return None
    if not user.active or not hasher.verify(password, user.password_hash):
        return None
    return user


def user_by_token(session: Session, token: str) -> StaffUserRow | None:
    if not token:
        return None
    user = session.exec(
        select(StaffUserRow).where(StaffUserRow.api_token_hash == hash_token(token))
    ).first()
    return user if user is not None and user.active else None


# --- staff accounts ------------------------------------------------------------------------------


def list_staff(session: Session) -> list[StaffUserRow]:
    return list(session.exec(select(StaffUserRow).order_by(col(StaffUserRow.username))))


def _active_admins(session: Session) -> int:
    return int(
        session.exec(
            select(func.count()).where(
                StaffUserRow.role == "admin", col(StaffUserRow.active).is_(True)
            )
        ).one()
    )


def revoke_sessions(session: Session, user_id: int) -> int:
    t = table(StaffSessionRow)
    done = session.execute(
        sa.update(t)
        .where(t.c.user_id == user_id, t.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(getattr(done, "rowcount", 0) or 0)


def update_staff(
    session: Session,
    user_id: int,
    *,
    actor: str,
    role: str | None = None,
    active: bool | None = None,
    display_name: str | None = None,
) -> StaffUserRow:
    """Change a staff user's role, active flag or name (never leaves the system without an admin)."""
    user = session.get(StaffUserRow, user_id)
    if user is None:
        raise StaffNotFound(f"用户 {user_id} 不存在")
    before = {"role": user.role, "active": user.active, "display_name": user.display_name}
    if role is not None and role not in ROLES:
        raise StaffError(f"角色必须是 {'/'.join(ROLES)} 之一")
    losing_admin = (
        user.role == "admin"
        and user.active
        and ((role is not None and role != "admin") or active is False)
    )
    if losing_admin and _active_admins(session) <= 1:
        raise StaffConflict("至少需要保留一名启用的管理员")
    if role is not None:
        user.role = role
    if active is not None:
        user.active = active
        if not active:
            user.api_token_hash = None
            revoke_sessions(session, user_id)
    if display_name is not None and display_name.strip():
        user.display_name = display_name.strip()[:64]
    session.add(user)
    after = {"role": user.role, "active": user.active, "display_name": user.display_name}
    audit(session, actor, "staff.update", "staff_user", user.id, before, after)
    return user


def set_password(
    session: Session, user_id: int, password: str, *, actor: str, hasher: PasswordHasher
) -> None:
    user = session.get(StaffUserRow, user_id)
    if user is None:
        raise StaffNotFound(f"用户 {user_id} 不存在")
    if len(password) < 10:
        raise StaffError("密码至少10位")
    user.password_hash = hasher.hash(password)
    session.add(user)
    revoke_sessions(session, user_id)
    audit(session, actor, "staff.password", "staff_user", user.id)
