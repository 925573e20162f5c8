"""Linking a chat to a person: /start deep-link tokens, a shared (verified) phone number, and
"绑定" — an SMS one-time code sent to the number on file (core/dialogue/otp.py, purpose `link`)."""

from __future__ import annotations

import hashlib
import re

from sqlmodel import select

from core.dialogue import prompts as P
from core.dialogue.context import Ctx, opts
from core.dialogue.events import Reply
from core.dialogue.state import Flow
from core.kernel.identity import IdentityError, mask_phone, normalize_phone
from core.kernel.timeutil import utcnow
from core.persistence.audit import audit
from core.persistence.models import LinkTokenRow, PersonRow


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
    elif ctx.channel == "wechat" and not ctx.identity.verified:
        ctx.say(P.LINK_CODE_HINT)


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


# --- 绑定: the number on file proves itself with an SMS one-time code ------------------------------

LINK_PURPOSE = "link"
LINK_TEMPLATE = "link_code"
_CODE = re.compile(r"^\d{6}$")


def code_start(ctx: Ctx) -> None:
    """ "绑定": ask for the number on file (an SMS chat is its number already)."""
    if ctx.sms:
        ctx.say(P.LINK_CODE_SMS)
    elif ctx.identity.verified and ctx.identity.person_id is not None:
        ctx.say(P.LINK_CODE_ALREADY)
    else:
        ctx.set_flow(Flow.LINK, "phone")
        ctx.say(P.LINK_CODE_ASK_PHONE)


def code_answer(ctx: Ctx) -> None:
    """One message inside the 绑定 flow: the number, then the code."""
    text = re.sub(r"[\s-]", "", ctx.text)
    if ctx.step == "code":
        _link_code(ctx, text)
    else:
        _link_phone(ctx, text)


def _link_phone(ctx: Ctx, text: str) -> None:
    digits = text.removeprefix("+86")
    try:
        if not (digits.isascii() and digits.isdigit() and len(digits) == 11):
            raise IdentityError("not a mobile number")
        phone = normalize_phone(digits)
    except IdentityError:
        ctx.say(P.LINK_CODE_BAD_PHONE)
        return
    person = ctx.session.exec(select(PersonRow).where(PersonRow.phone == phone)).first()
    issued = ctx.svc.codes.issue(
        ctx.session,
        channel=ctx.channel,
        address=ctx.event.address,
        phone=phone,
        purpose=LINK_PURPOSE,
        template=LINK_TEMPLATE,
        send=person is not None,  # the same answer either way: no enumeration of numbers
    )
    if issued.reason == "too_soon":  # the code sent a moment ago is still valid
        ctx.set_flow(Flow.LINK, "code")
        ctx.say(P.LINK_CODE_TOO_SOON.format(seconds=issued.wait_seconds))
    elif issued.reason == "too_many":
        ctx.set_flow(None)
        ctx.say(P.LINK_CODE_TOO_MANY)
    else:
        ctx.set_flow(Flow.LINK, "code")
        ctx.say(P.LINK_CODE_SENT.format(phone=mask_phone(phone)))


def _link_code(ctx: Ctx, text: str) -> None:
    if not _CODE.match(text):
        ctx.say(P.LINK_CODE_ASK_CODE)
        return
    checked = ctx.svc.codes.verify(
        ctx.session, channel=ctx.channel, address=ctx.event.address, code=text, purpose=LINK_PURPOSE
    )
    person = None
    if checked.ok:
        person = ctx.session.exec(select(PersonRow).where(PersonRow.phone == checked.phone)).first()
    if person is not None and person.id is not None:
        ctx.set_flow(None)
        link(ctx, person.id)
    elif checked.reason == "wrong":
        ctx.say(P.LINK_CODE_WRONG.format(tries=checked.tries_left))
    elif checked.reason == "locked":
        ctx.set_flow(None)
        ctx.say(P.LINK_CODE_LOCKED)
    else:
        ctx.set_flow(None)
        ctx.say(P.LINK_CODE_EXPIRED)
