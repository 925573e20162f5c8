"""Verifying the applicant's mobile: the SMS sender number, a Telegram contact share, or a
one-time code sent by SMS (core/dialogue/otp.py). A number that belongs to someone else is refused."""

from __future__ import annotations

import re

from sqlmodel import col, select

from core.dialogue import prompts_intake as T
from core.dialogue.commands import squash
from core.dialogue.context import Ctx
from core.dialogue.events import Reply
from core.kernel.identity import IdentityError, mask_phone, normalize_phone
from core.persistence.audit import audit
from core.persistence.models import ApplicationRow, ChannelIdentityRow, PersonRow

_CODE = re.compile(r"^\d{6}$")


def ask(ctx: Ctx) -> None:
    ctx.step = "phone"
    ctx.state.options = []
    if ctx.channel == "telegram":
        ctx.replies.append(Reply(text=T.ASK_PHONE_TELEGRAM, request_contact=True))
    else:
        ctx.say(T.ASK_PHONE)


def claim(ctx: Ctx, app: ApplicationRow, e164: str) -> bool:
    """Make `e164` the verified mobile of this chat's person (and the application's).

    Refused (False, with a message) when the number is another person's: a person other than
    the one this chat is linked to, or one already linked to another chat."""
    s = ctx.session
    identity = ctx.identity
    taken, mine = _owner(ctx, e164)
    if taken:
        ctx.say(T.PHONE_TAKEN)
        return False
    name = str((app.profile or {}).get("applicant_name") or "")
    if mine is None:
        mine = PersonRow(name=name, phone=e164)
    mine.phone = e164
    if not mine.name:
        mine.name = name
    s.add(mine)
    s.flush()
    identity.person_id = mine.id
    identity.verified = True
    s.add(identity)
    app.person_id = mine.id
    s.add(app)
    audit(
        s,
        f"{identity.channel}:{mask_phone(identity.address)}",
        "identity.verify_phone",
        "channel_identity",
        identity.id,
        after={"person_id": mine.id, "phone": mask_phone(e164)},
    )
    return True


def _owner(ctx: Ctx, e164: str) -> tuple[bool, PersonRow | None]:
    """(taken, the person the number will belong to). Taken: the number is on file for a person
    other than the one this chat is linked to, or for one already linked to another chat. A
    person on file with no other chat (e.g. an imported borrower) is this chat's person."""
    s = ctx.session
    identity = ctx.identity
    mine = s.get(PersonRow, identity.person_id) if identity.person_id is not None else None
    owner = s.exec(select(PersonRow).where(PersonRow.phone == e164)).first()
    if owner is None or (mine is not None and owner.id == mine.id):
        return False, mine
    if mine is not None:
        return True, None
    elsewhere = s.exec(
        select(ChannelIdentityRow).where(
            ChannelIdentityRow.person_id == owner.id,
            col(ChannelIdentityRow.verified).is_(True),
            ChannelIdentityRow.id != identity.id,
        )
    ).first()
    return (True, None) if elsewhere is not None else (False, owner)


def from_sms(ctx: Ctx, app: ApplicationRow) -> bool:
    """On SMS the sender number itself is verified."""
    if not claim(ctx, app, ctx.event.address):
        return False
    ctx.say(T.PHONE_FROM_SMS.format(phone=mask_phone(ctx.event.address)))
    return True


def contact(ctx: Ctx, app: ApplicationRow, phone: str) -> bool:
    """A Telegram contact share of the user's own number (the adapter checked it is theirs)."""
    try:
        e164 = normalize_phone(phone)
    except IdentityError:
        ctx.say(T.PHONE_BAD)
        return False
    if not claim(ctx, app, e164):
        return False
    ctx.state.apply.pending_phone = None
    ctx.say(T.PHONE_VERIFIED.format(phone=mask_phone(e164)))
    return True


def _send(ctx: Ctx, phone: str) -> None:
    issued = ctx.svc.codes.issue(
        ctx.session, channel=ctx.channel, address=ctx.event.address, phone=phone
    )
    if issued.ok:
        ctx.state.apply.pending_phone = phone
        ctx.step = "code"
        ctx.say(T.CODE_SENT.format(phone=mask_phone(phone)))
    elif issued.reason == "too_soon":
        ctx.say(T.CODE_TOO_SOON.format(seconds=issued.wait_seconds))
    else:
        ctx.say(T.CODE_TOO_MANY)


def answer(ctx: Ctx, app: ApplicationRow) -> bool:
    """Text at the phone or code step. True once the number is verified."""
    t = squash(ctx.text)
    pending = ctx.state.apply.pending_phone
    if ctx.step == "code" and pending and any(w in t for w in T.RESEND_WORDS):
        _send(ctx, pending)
        return False
    if ctx.step == "code" and _CODE.match(t):
        return _check(ctx, app, t)
    try:
        e164 = normalize_phone(ctx.text)
    except IdentityError:
        ctx.say(T.CODE_ASK if ctx.step == "code" else T.PHONE_BAD)
        return False
    s = ctx.session
    mine = s.get(PersonRow, ctx.identity.person_id) if ctx.identity.person_id else None
    if mine is not None and mine.phone == e164 and ctx.identity.verified:
        ctx.say(T.PHONE_VERIFIED.format(phone=mask_phone(e164)))
        return True  # already this chat's verified number
    if _owner(ctx, e164)[0]:
        ctx.say(T.PHONE_TAKEN)  # refused before any code is sent
        return False
    _send(ctx, e164)
    return False


def _check(ctx: Ctx, app: ApplicationRow, code: str) -> bool:
    checked = ctx.svc.codes.verify(
        ctx.session, channel=ctx.channel, address=ctx.event.address, code=code
    )
    if checked.ok and checked.phone:
        if not claim(ctx, app, checked.phone):
            return False
        ctx.state.apply.pending_phone = None
        ctx.say(T.PHONE_VERIFIED.format(phone=mask_phone(checked.phone)))
        return True
    if checked.reason == "wrong":
        ctx.say(T.CODE_WRONG.format(left=checked.tries_left))
    elif checked.reason == "expired":
        ctx.say(T.CODE_EXPIRED)
    elif checked.reason == "locked":
        ctx.say(T.CODE_LOCKED)
    else:
        ctx.say(T.CODE_NONE)
        ask(ctx)
    return False
