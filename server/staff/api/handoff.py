"""/api/staff/handoff: the hand-off inbox, replies and closing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from core.staff import handoff
from server.params import DbId
from server.staff.bodies import TextIn
from server.staff.deps import ApiOfficer, ApiViewer, Limit, Offset, SearchQ, SessionDep
from server.staff.schemas import Message, Ticket, TicketDetail, TicketPage
from server.staff.shapes import iso, message_json, page_json, ticket_json

router = APIRouter(prefix="/api/staff", tags=["staff"])


@router.get("/handoff", response_model=TicketPage)
def tickets(
    s: SessionDep, user: ApiViewer, status: str | None = "open",
    q: SearchQ = None, limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:  # fmt: skip
    """Hand-off tickets (default: the open ones), newest first."""
    page = handoff.tickets(s, status=status, actor=user.username, q=q, limit=limit, offset=offset)
    items = [
        {**ticket_json(i.ticket), "messages": i.messages, "last_at": iso(i.last_at)}
        for i in page.items
    ]
    return page_json(page, items)


@router.get("/handoff/{ticket_id}", response_model=TicketDetail)
def ticket(s: SessionDep, ticket_id: DbId, user: ApiViewer) -> dict[str, Any]:
    """A ticket and its conversation, with the delivery status of each staff reply."""
    view = handoff.ticket(s, ticket_id)
    messages = [{**message_json(m), "delivery": view.delivery(m)} for m in view.messages]
    return {**ticket_json(view.ticket), "messages": messages}


@router.post("/handoff/{ticket_id}/reply", response_model=Message)
def reply(s: SessionDep, ticket_id: DbId, body: TextIn, user: ApiOfficer) -> dict[str, Any]:
    """Reply to the applicant (relayed on their channel through the outbox)."""
    return message_json(handoff.reply(s, user.username, ticket_id, body.text))


@router.post("/handoff/{ticket_id}/close", response_model=Ticket)
def close(s: SessionDep, ticket_id: DbId, user: ApiOfficer) -> dict[str, Any]:
    """Close a ticket."""
    return ticket_json(handoff.close(s, user.username, ticket_id))
