"""Hand-off to a person (人工): tickets staff see, and staff replies relayed to the applicant."""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.kernel.errors import Conflict, Invalid, NotFound
from core.kernel.labels import ticket_number
from core.kernel.timeutil import utcnow
from core.outbox.enqueue import enqueue
from core.outbox.templates import render
from core.persistence.audit import audit
from core.persistence.models import HandoffMessageRow, HandoffTicketRow


class HandoffError(Conflict):
    """A ticket operation that cannot be done; the message is Chinese."""


class TicketNotFound(NotFound, HandoffError):
    """No ticket with that number."""


class HandoffInvalid(Invalid, HandoffError):
    """An empty or unusable reply."""


def open_ticket(
    session: Session,
    *,
    channel: str,
    address: str,
    identity_id: int | None,
    text: str,
    reason: str,
) -> tuple[HandoffTicketRow, bool]:
    """The open ticket of this address (a new one if none); the text is added to it.

    Returns (ticket, created)."""
    ticket = session.exec(
        select(HandoffTicketRow)
        .where(
            HandoffTicketRow.channel == channel,
            HandoffTicketRow.address == address,
            HandoffTicketRow.status == "open",
        )
        .order_by(col(HandoffTicketRow.id).desc())
    ).first()
    created = ticket is None
    if ticket is None:
        ticket = HandoffTicketRow(
            channel=channel,
            address=address,
            identity_id=identity_id,
            question=text[:2000],
            reason=reason,
        )
        session.add(ticket)
        session.flush()
    assert ticket.id is not None
    if text:
        session.add(HandoffMessageRow(ticket_id=ticket.id, sender="applicant", text=text[:2000]))
    return ticket, created


def staff_reply(session: Session, ticket_id: int, staff_user: str, text: str) -> HandoffMessageRow:
    """Record a staff reply and queue it to the applicant on the channel they used."""
    text = text.strip()
    if not text:
        raise HandoffInvalid("回复内容不能为空")
    ticket = session.get(HandoffTicketRow, ticket_id)
    if ticket is None:
        raise TicketNotFound(f"{ticket_number(ticket_id)} 不存在")
    if ticket.status != "open":
        raise HandoffError(f"{ticket_number(ticket_id)} 已关闭")
    msg = HandoffMessageRow(ticket_id=ticket_id, sender="staff", staff_user=staff_user, text=text)
    session.add(msg)
    session.flush()
    enqueue(
        session,
        key=f"relay:{msg.id}",
        kind="relay",
        channel=ticket.channel,
        address=ticket.address,
        identity_id=ticket.identity_id,
        text=render("staff_reply", ticket.channel, {"text": text}),
        template="staff_reply",
        params={"text": text},
    )
    audit(
        session,
        staff_user,
        "handoff.reply",
        "handoff_ticket",
        ticket_id,
        after={"message_id": msg.id},
    )
    return msg


def close_ticket(session: Session, ticket_id: int, staff_user: str) -> HandoffTicketRow:
    ticket = session.get(HandoffTicketRow, ticket_id)
    if ticket is None:
        raise TicketNotFound(f"{ticket_number(ticket_id)} 不存在")
    if ticket.status == "open":
        ticket.status = "closed"
        ticket.closed_at = utcnow()
        session.add(ticket)
        audit(session, staff_user, "handoff.close", "handoff_ticket", ticket_id)
    return ticket
