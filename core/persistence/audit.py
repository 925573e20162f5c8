"""The audit log: who did what, when, with before/after, written in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from core.persistence.models import AuditEventRow


def audit(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEventRow(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            before=before,
            after=after,
        )
    )
