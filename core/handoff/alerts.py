"""Hand-off alerts for the staff chat: each new ticket and applicant message (any channel) is
posted once. Posting is claimed by inserting an outbox row under a unique key
(`staffalert:t:<ticket>` / `staffalert:m:<message>`), so several server processes never alert
twice; the row records the post's outcome."""

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
from core.persistence.models import HandoffMessageRow, HandoffTicketRow, NoticeRow

ALERT_KIND = "staff_alert"


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
    with Session(db) as s:
        return _new_tickets(s, since) + _new_messages(s, since)


def _new_tickets(s: Session, since: datetime) -> list[TicketAlert]:
    tickets = s.exec(
        select(HandoffTicketRow)
        .where(col(HandoffTicketRow.created_at) >= since)
        .where(_not_alerted("staffalert:t:", col(HandoffTicketRow.id)))
        .order_by(col(HandoffTicketRow.id))
    ).all()
    out: list[TicketAlert] = []
    for t in tickets:
        assert t.id is not None
        out.append(
            TicketAlert(f"staffalert:t:{t.id}", t.id, t.channel, t.address, t.question, True)
        )
    return out


def _new_messages(s: Session, since: datetime) -> list[TicketAlert]:
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
    out: list[TicketAlert] = []
    for m, t in rows:
        assert t.id is not None
        out.append(TicketAlert(f"staffalert:m:{m.id}", t.id, t.channel, t.address, m.text, False))
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
