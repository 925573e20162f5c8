"""Staff commands on broadcasts (core.broadcasts does the work): draft, edit, send, confirm,
cancel. `send` and `confirm` start the fan-out themselves once their transaction has committed,
whichever door called them (API, console, staff Telegram chat); the door only says *how* a
fan-out runs (`FanOutStarter`: after the HTTP response, or at once in the chat)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import event
from sqlmodel import Session

from core.broadcasts import commands as bc_commands
from core.broadcasts.commands import Draft
from core.persistence.models import BroadcastRow

FanOutStarter = Callable[[int], None]


def create(session: Session, actor: str, draft: Draft) -> BroadcastRow:
    """Save a draft (nothing is sent yet)."""
    return bc_commands.create_draft(session, draft, actor)


def update(session: Session, actor: str, broadcast_id: int, draft: Draft) -> BroadcastRow:
    """Change a draft."""
    return bc_commands.update_draft(session, broadcast_id, draft, actor)


def send(
    session: Session,
    actor: str,
    broadcast_id: int,
    *,
    threshold: int,
    start: FanOutStarter,
    scheduled_at: datetime | None = None,
) -> BroadcastRow:
    """Send now or at `scheduled_at`; above `threshold` recipients another person confirms."""
    row = bc_commands.request_send(
        session, broadcast_id, actor, threshold=threshold, scheduled_at=scheduled_at
    )
    _fan_out_after_commit(session, row, start)
    return row


def confirm(
    session: Session, actor: str, broadcast_id: int, *, start: FanOutStarter
) -> BroadcastRow:
    """The second person's confirmation of a large broadcast."""
    row = bc_commands.confirm(session, broadcast_id, actor)
    _fan_out_after_commit(session, row, start)
    return row


def cancel(session: Session, actor: str, broadcast_id: int) -> tuple[BroadcastRow, int]:
    """Cancel a broadcast; returns it and the number of notices cancelled."""
    n = bc_commands.cancel(session, broadcast_id, actor)
    return bc_commands.get(session, broadcast_id), n


def _fan_out_after_commit(session: Session, row: BroadcastRow, start: FanOutStarter) -> None:
    """The one place that decides a fan-out starts: the broadcast may go now."""
    if row.status != "fanout" or row.id is None:
        return
    broadcast_id = row.id
    event.listen(session, "after_commit", lambda _session: start(broadcast_id), once=True)
