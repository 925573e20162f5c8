"""What the doors ask about inbound message ids (`inbound_message`, kept 30 days): whether one
was handled and what was answered, deferred replies (WeChat), when an address last wrote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from core.persistence.db import session_scope
from core.persistence.models import InboundMessageRow


@dataclass(frozen=True)
class Handled:
    """A message id the engine recorded, with the response stored with it (None for rows
    stored before responses were kept)."""

    response: str | None


def handled(db: Engine, channel: str, message_id: str) -> Handled | None:
    """The record of `message_id` on `channel`, or None when it was never handled."""
    with Session(db) as s:
        row = s.exec(
            select(InboundMessageRow).where(
                InboundMessageRow.channel == channel,
                InboundMessageRow.message_id == message_id,
            )
        ).first()
    return None if row is None else Handled(row.response)


def seen(db: Engine, channel: str, message_id: str) -> bool:
    with Session(db) as s:
        found = s.exec(
            select(InboundMessageRow.id).where(
                InboundMessageRow.channel == channel, InboundMessageRow.message_id == message_id
            )
        ).first()
    return found is not None


def record(db: Engine, channel: str, message_id: str, address: str) -> None:
    """Record an id under a channel of the door's own (e.g. "wechat-deferred"); a repeat is a
    no-op."""
    try:
        with session_scope(db) as s:
            s.add(InboundMessageRow(channel=channel, message_id=message_id, address=address))
    except IntegrityError:
        pass  # already recorded by an earlier delivery of the same message


def last_inbound_at(db: Engine, channel: str, address: str) -> datetime | None:
    """When `address` last wrote to us on `channel`."""
    with Session(db) as s:
        value = s.exec(
            select(func.max(InboundMessageRow.created_at)).where(
                col(InboundMessageRow.channel) == channel,
                col(InboundMessageRow.address) == address,
            )
        ).one()
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns the aggregate as text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
