"""The staff Telegram chat's operations: the same core/staff commands the staff API and the
console call (hand-off reply, broadcast create/send/confirm/cancel), each in a transaction of its
own (the chat has no request to hang a unit of work on). The acting staff member is the account
linked to the Telegram user, else "telegram:<id>" (as the audit log names them)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.broadcasts import commands as bc_commands
from core.broadcasts import texts as bc_texts
from core.persistence.db import session_scope
from core.persistence.models import StaffUserRow
from core.staff import broadcasts, handoff


def staff_name(db: Engine, telegram_user_id: int) -> str:
    """The staff username linked to this Telegram user, else "telegram:<id>"."""
    with Session(db) as s:
        user = s.exec(
            select(StaffUserRow).where(StaffUserRow.telegram_user_id == telegram_user_id)
        ).first()
    return user.username if user is not None else f"telegram:{telegram_user_id}"


def reply(db: Engine, actor: str, ticket_id: int, text: str) -> None:
    """`core.staff.handoff.reply` (raises HandoffError with the Chinese reason)."""
    with session_scope(db) as s:
        handoff.reply(s, actor, ticket_id, text)


def draft(
    db: Engine,
    actor: str,
    what: broadcasts.Draft,
    cost: bc_texts.SmsCost,
    threshold: int,
) -> tuple[int, bc_texts.Preview]:
    """Save a broadcast draft; its id and preview (audience, cost, second-person rule)."""
    with session_scope(db) as s:
        row = broadcasts.create(s, actor, what)
        assert row.id is not None
        return row.id, bc_texts.preview(s, row, cost, threshold)


@dataclass(frozen=True)
class Submitted:
    status: str  # "pending_confirm": waiting for a second person; else on its way
    audience_size: int


def submit(
    db: Engine,
    actor: str,
    broadcast_id: int,
    *,
    threshold: int,
    start: broadcasts.FanOutStarter,
) -> Submitted | None:
    """A press of the confirm button: sends a draft (which may then wait for a second person)
    or gives the second person's confirmation; None when the broadcast is past both. The
    command calls `start` when the broadcast may go."""
    with session_scope(db) as s:
        row = bc_commands.get(s, broadcast_id)
        if row.status == "draft":
            row = broadcasts.send(s, actor, broadcast_id, threshold=threshold, start=start)
        elif row.status == "pending_confirm":
            row = broadcasts.confirm(s, actor, broadcast_id, start=start)
        else:
            return None
        return Submitted(row.status, row.audience_size)


def cancel(db: Engine, actor: str, broadcast_id: int) -> None:
    with session_scope(db) as s:
        broadcasts.cancel(s, actor, broadcast_id)
