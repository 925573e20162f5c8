"""Linking a chat to a person: /start deep-link tokens and a shared (verified) phone number."""

from __future__ import annotations

import hashlib

from sqlmodel import select

from core.audit import audit
from core.dialogue import prompts as P
from core.dialogue.context import Ctx, opts
from core.dialogue.events import Reply
from core.identity import IdentityError, mask_phone, normalize_phone
from core.models import LinkTokenRow, PersonRow
from core.timeutil import utcnow


def start(ctx: Ctx, payload: str) -> None:
    """/start: a deep-link token links the chat; a bare /start shows the welcome."""
    payload = payload.strip()
    if payload:
        token_hash = hashlib.sha256(payload.encode()).hexdigest()
        token = ctx.session.exec(
            select(LinkTokenRow).where(LinkTokenRow.token_hash == token_hash)
        ).first()
        if token is None or token.used_at is not None or token.expires_at < utcnow():
            ctx.say(P.LINK_TOKEN_BAD)
            return
        token.used_at = utcnow()
        ctx.session.add(token)
        link(ctx, token.person_id)
        return
    ctx.set_flow(None)
    ctx.ask(P.WELCOME, opts(P.WELCOME_OPTIONS), sms=P.WELCOME_SMS)
    if ctx.channel == "telegram" and not ctx.identity.verified:
        ctx.replies.append(Reply(text=P.LINK_ASK_CONTACT, request_contact=True))


def contact(ctx: Ctx, phone: str) -> None:
    """A contact shared outside the intake: link to the person with that number, if any."""
    try:
        e164 = normalize_phone(phone)
    except IdentityError:
        ctx.say(P.LINK_NO_MATCH)
        return
    person = ctx.session.exec(select(PersonRow).where(PersonRow.phone == e164)).first()
    if person is None or person.id is None:
        ctx.say(P.LINK_NO_MATCH)
        return
    link(ctx, person.id)


def link(ctx: Ctx, person_id: int) -> None:
    person = ctx.session.get(PersonRow, person_id)
    identity = ctx.identity
    identity.person_id = person_id
    identity.verified = True
    ctx.session.add(identity)
    audit(
        ctx.session,
        f"{identity.channel}:{mask_phone(identity.address)}",
        "identity.link",
        "channel_identity",
        identity.id,
        after={"person_id": person_id},
    )
    ctx.say(P.LINK_OK.format(name=person.name if person else ""))
