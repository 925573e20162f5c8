"""The "绑定" flow: link a chat to the person with the number on file by an SMS one-time code.

Steps: `phone` (the number on file) → a code is queued by SMS (core.linkcode) → `code` (6 digits)
→ the identity is linked with proof. Kept out of engine.py: the engine only routes to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from core import linkcode
from core.dialogue import prompts as P
from core.identity import IdentityError, mask_phone, normalize_phone

FLOW = "link"
_CODE = re.compile(r"^\d{6}$")


def start(ctx: Any) -> None:
    """`ctx` is the engine's Ctx (session, event, identity, flow state, say)."""
    if ctx.event.channel == "sms":
        ctx.say(P.LINK_CODE_SMS)
        return
    if ctx.identity.verified and ctx.identity.person_id is not None:
        ctx.say(P.LINK_CODE_ALREADY)
        return
    ctx.set_flow(FLOW, "phone")
    ctx.say(P.LINK_CODE_ASK_PHONE)


def answer(ctx: Any, link: Callable[[Any, int], None]) -> None:
    """One message inside the flow; `link(ctx, person_id)` links the identity (engine._link)."""
    text = re.sub(r"[\s-]", "", ctx.text)
    if ctx.step == "code":
        _code(ctx, text, link)
    else:
        _phone(ctx, text)


def _phone(ctx: Any, text: str) -> None:
    digits = text.removeprefix("+86")
    try:
        if not (digits.isdigit() and len(digits) == 11):
            raise IdentityError("bad")
        phone = normalize_phone(digits)
    except IdentityError:
        ctx.say(P.LINK_CODE_BAD_PHONE)
        return
    result = linkcode.request_code(
        ctx.session, channel=ctx.event.channel, address=ctx.event.address, phone=phone
    )
    if result.status == "too_soon":  # the code sent a moment ago is still valid
        ctx.set_flow(FLOW, "code")
        ctx.say(P.LINK_CODE_TOO_SOON.format(seconds=result.retry_after_seconds))
        return
    if result.status == "too_many":
        ctx.set_flow(None)
        ctx.say(P.LINK_CODE_TOO_MANY)
        return
    ctx.set_flow(FLOW, "code")
    ctx.say(P.LINK_CODE_SENT.format(phone=mask_phone(phone)))


def _code(ctx: Any, text: str, link: Callable[[Any, int], None]) -> None:
    if not _CODE.match(text):
        ctx.say(P.LINK_CODE_ASK_CODE)
        return
    check = linkcode.verify_code(
        ctx.session, channel=ctx.event.channel, address=ctx.event.address, code=text
    )
    if check.status == "ok" and check.person_id is not None:
        ctx.set_flow(None)
        link(ctx, check.person_id)
    elif check.status == "wrong":
        ctx.say(P.LINK_CODE_WRONG.format(tries=check.tries_left))
    elif check.status == "locked":
        ctx.set_flow(None)
        ctx.say(P.LINK_CODE_LOCKED)
    else:
        ctx.set_flow(None)
        ctx.say(P.LINK_CODE_EXPIRED)
