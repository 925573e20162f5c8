"""Tables of the staff feature (kept apart from core/persistence/models.py).

Console sessions are stored server-side: the browser holds a signed random token, the table holds
only its SHA-256, so logging out (or deactivating a user) ends a session at once on every process.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.persistence.models import _ts


class StaffSessionRow(SQLModel, table=True):
    """One console login of a staff user."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    created_at: datetime = _ts()
    expires_at: datetime = _ts(index=True)
    last_seen_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=200)


class LoginFailureRow(SQLModel, table=True):
    """A failed console login, for throttling by address and network (server/throttle.py);
    the audit log keeps its own record."""

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    ip: str = Field(max_length=64, index=True)
    network: str = Field(max_length=64, index=True)
    at: datetime = _ts(index=True)
