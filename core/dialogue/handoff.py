"""The hand-off flow (人工): messages go to the person's open ticket until they end it."""

from __future__ import annotations

from core.dialogue import prompts as P
from core.dialogue.commands import detect_command
from core.dialogue.context import Ctx
from core.dialogue.state import Flow
from core.handoff.tickets import open_ticket
from core.persistence.models import HandoffTicketRow


def ticket_for(ctx: Ctx, text: str, reason: str) -> tuple[HandoffTicketRow, bool]:
    """Open (or add `text` to) the ticket of the chat's address; (ticket, newly opened)."""
    return open_ticket(
        ctx.session,
        channel=ctx.channel,
        address=ctx.event.address,
        identity_id=ctx.identity.id,
        text=text,
        reason=reason,
    )


def start(ctx: Ctx, text: str, reason: str = "user") -> None:
    """Open (or add to) the ticket of this address and stay in the hand-off flow."""
    ticket, created = ticket_for(ctx, text if detect_command(text) != "human" else "", reason)
    first = ctx.flow != Flow.HANDOFF
    ctx.set_flow(Flow.HANDOFF)
    ctx.state.handoff.ticket_id = ticket.id
    msg = P.HANDOFF_OPENED if (created or first) else P.HANDOFF_APPENDED
    ctx.say(msg.format(ticket=ticket.id))


def end(ctx: Ctx) -> None:
    ctx.set_flow(None)
    ctx.say(P.HANDOFF_ENDED)


def check_open(ctx: Ctx) -> None:
    """In the hand-off flow with a ticket staff closed: leave the flow (the message is then
    handled as any other, never added to the closed ticket or a new one unasked)."""
    ticket_id = ctx.state.handoff.ticket_id
    ticket = ctx.session.get(HandoffTicketRow, ticket_id) if ticket_id is not None else None
    if ticket is not None and ticket.status == "open":
        return
    ctx.set_flow(None)
    ctx.state.handoff.ticket_id = None
    if ticket is not None:
        ctx.say(P.HANDOFF_TICKET_CLOSED.format(ticket=ticket.id))
