"""Staff commands on hand-off tickets: the inbox, one ticket with the delivery of each reply,
reply (queued to the applicant's channel through the outbox) and close. Audit in core.handoff.tickets."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from core.handoff.tickets import close_ticket, staff_reply
from core.persistence.models import HandoffMessageRow, HandoffTicketRow, NoticeRow
from core.staff import queries as bo
from core.staff import search as find


@dataclass(frozen=True)
class TicketView:
    ticket: HandoffTicketRow
    messages: list[HandoffMessageRow]
    relays: dict[str, NoticeRow]  # `relay:<message id>` → the notice carrying that reply

    def delivery(self, message: HandoffMessageRow) -> str | None:
        notice = self.relays.get(f"relay:{message.id}")
        return notice.status if notice is not None else None


def tickets(
    session: Session,
    *,
    status: str | None = "open",
    actor: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> bo.Page:
    """Tickets (default: the open ones), newest first, with message counts; `q` is the search box
    (a lookup by phone or ID number is audited)."""
    search = find.parse(q)
    page = bo.list_tickets(session, status=status, search=search, limit=limit, offset=offset)
    find.audit_lookup(session, actor, "handoff", search)
    return page


def ticket(session: Session, ticket_id: int) -> TicketView:
    found, messages, relays = bo.ticket_detail(session, ticket_id)
    return TicketView(found, messages, {n.key: n for n in relays})


def reply(session: Session, actor: str, ticket_id: int, text: str) -> HandoffMessageRow:
    """A staff reply, relayed to the applicant on the channel they used."""
    return staff_reply(session, ticket_id, actor, text)


def close(session: Session, actor: str, ticket_id: int) -> HandoffTicketRow:
    return close_ticket(session, ticket_id, actor)
