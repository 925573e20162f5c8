"""/console/handoff: the hand-off inbox, a ticket's conversation, reply and close."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from core.kernel.labels import ticket_number
from core.staff import handoff
from core.staff.errors import StaffCommandError
from server.params import DbId, PageOffset
from server.staff.console.views import PAGE_SIZE, ViewsDep, page_args, qs
from server.staff.deps import ConsoleUser, Officer, SessionDep

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/handoff")
def inbox(
    request: Request,
    s: SessionDep,
    views: ViewsDep,
    user: ConsoleUser,
    status: str = "open",
    q: str = "",
    offset: PageOffset = 0,
) -> Response:
    page = handoff.tickets(
        s, status=status or None, actor=user.username, q=q or None, limit=PAGE_SIZE,
        offset=page_args(offset),
    )  # fmt: skip
    context = {"page": page, "status": status, "q": q, "qs": qs(status=status, q=q)}
    return views.render(request, "handoff.html", context, user=user)


@router.get("/handoff/{ticket_id}")
def ticket_page(
    request: Request, s: SessionDep, views: ViewsDep, ticket_id: DbId, user: ConsoleUser
) -> Response:
    view = handoff.ticket(s, ticket_id)
    context = {"t": view.ticket, "messages": view.messages, "relays": view.relays}
    return views.render(request, "ticket.html", context, user=user)


@router.post("/handoff/{ticket_id}/reply")
def reply(
    s: SessionDep,
    views: ViewsDep,
    ticket_id: DbId,
    user: Officer,
    text: Annotated[str, Form()] = "",
) -> Response:
    url = f"/console/handoff/{ticket_id}"
    try:
        handoff.reply(s, user.username, ticket_id, text)
    except StaffCommandError as exc:
        return views.refused(s, url, exc)
    return views.redirect(url, "回复已排队发送给申请人")


@router.post("/handoff/{ticket_id}/close")
def close(s: SessionDep, views: ViewsDep, ticket_id: DbId, user: Officer) -> Response:
    try:
        handoff.close(s, user.username, ticket_id)
    except StaffCommandError as exc:
        return views.refused(s, f"/console/handoff/{ticket_id}", exc)
    return views.redirect("/console/handoff", f"{ticket_number(ticket_id)} 已关闭")
