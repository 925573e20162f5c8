"""The few database operations of the Telegram adapter (synchronous: call via asyncio.to_thread).

- the channel name of stored webhook updates in `inbound_message` (the inbox is core/dialogue/inbox.py);
- reachability of a chat (blocked the bot → unreachable; writes again → reachable);
- hand-off alerts for the staff chat: one outbox row per ticket / applicant message, claimed by
  inserting it under its unique key, so several server processes never alert twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from core.kernel.timeutil import utcnow
from core.persistence.db import session_scope
from core.persistence.models import (
    ChannelIdentityRow,
    HandoffMessageRow,
    HandoffTicketRow,
    NoticeRow,
    StaffUserRow,
)

UPDATE_CHANNEL = "telegram-update"
ALERT_KIND = "staff_alert"


def set_reachable(db: Engine, address: str, reachable: bool, reason: str | None = None) -> int:
    """Mark the Telegram chat reachable or not (only rows whose flag changes). Returns rows changed."""
    with session_scope(db) as s:
        result = s.execute(
            sa.update(ChannelIdentityRow)
            .where(
                col(ChannelIdentityRow.channel) == "telegram",
                col(ChannelIdentityRow.address) == address,
                col(ChannelIdentityRow.unreachable).is_(reachable),
            )
            .values(unreachable=not reachable, unreachable_reason=None if reachable else reason)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def staff_name(db: Engine, telegram_user_id: int) -> str:
    """The staff username linked to this Telegram user, else "telegram:<id>" (for the audit log)."""
    with Session(db) as s:
        user = s.exec(
            select(StaffUserRow).where(StaffUserRow.telegram_user_id == telegram_user_id)
        ).first()
    return user.username if user is not None else f"telegram:{telegram_user_id}"


@dataclass(frozen=True)
class TicketAlert:
    key: str
    ticket_id: int
    channel: str
    address: str
    text: str
    new_ticket: bool


def _not_alerted(prefix: str, id_col: Any) -> sa.ColumnElement[bool]:
    key = sa.literal(prefix) + sa.cast(id_col, sa.String)
    return ~sa.exists().where(col(NoticeRow.key) == key)


def pending_alerts(db: Engine, since: datetime) -> list[TicketAlert]:
    """Tickets opened and applicant messages written since `since` that staff were not told of."""
    out: list[TicketAlert] = []
    with Session(db) as s:
        tickets = s.exec(
            select(HandoffTicketRow)
            .where(col(HandoffTicketRow.created_at) >= since)
            .where(_not_alerted("staffalert:t:", col(HandoffTicketRow.id)))
            .order_by(col(HandoffTicketRow.id))
        ).all()
        for t in tickets:
            assert t.id is not None
            out.append(
                TicketAlert(f"staffalert:t:{t.id}", t.id, t.channel, t.address, t.question, True)
            )
        other = aliased(HandoffMessageRow)
        first = (
            sa.select(sa.func.min(other.id))
            .where(col(other.ticket_id) == col(HandoffTicketRow.id))
            .correlate(HandoffTicketRow)
            .scalar_subquery()
        )
        rows = s.exec(
            select(HandoffMessageRow, HandoffTicketRow)
            .join(HandoffTicketRow, col(HandoffMessageRow.ticket_id) == col(HandoffTicketRow.id))
            .where(col(HandoffMessageRow.sender) == "applicant")
            .where(col(HandoffMessageRow.at) >= since)
            # the first message of a ticket is its question, already in the ticket alert
            .where(sa.or_(col(HandoffMessageRow.id) != first, col(HandoffTicketRow.question) == ""))
            .where(_not_alerted("staffalert:m:", col(HandoffMessageRow.id)))
            .order_by(col(HandoffMessageRow.id))
        ).all()
        for m, t in rows:
            assert t.id is not None
            key = f"staffalert:m:{m.id}"
            out.append(TicketAlert(key, t.id, t.channel, t.address, m.text, False))
    return out


def claim_alert(db: Engine, alert: TicketAlert, staff_chat: str, text: str) -> int | None:
    """Write the alert's outbox row (status "sending", no lease, so the dispatcher leaves it
    alone); its id if this process won the claim (the key is unique), else None."""
    row = NoticeRow(
        key=alert.key,
        kind=ALERT_KIND,
        channel="telegram",
        address=staff_chat,
        text=text,
        status="sending",
        attempts=1,
    )
    try:
        with session_scope(db) as s:
            s.add(row)
            s.flush()
            return row.id
    except IntegrityError:
        return None


def finish_alert(db: Engine, notice_id: int, provider_id: str | None, error: str | None) -> None:
    with session_scope(db) as s:
        now = utcnow()
        s.execute(
            sa.update(NoticeRow)
            .where(col(NoticeRow.id) == notice_id)
            .values(
                status="sent" if error is None else "failed",
                provider_id=provider_id,
                last_error=error[:500] if error else None,
                sent_at=now if error is None else None,
                updated_at=now,
            )
        )
