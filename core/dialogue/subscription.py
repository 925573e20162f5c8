"""Subscription: opting out of (and back into) broadcasts, confirmed once and audited."""

from __future__ import annotations

import logging

from core.dialogue import prompts as P
from core.dialogue.context import Ctx
from core.kernel.identity import mask_phone
from core.kernel.timeutil import utcnow
from core.persistence.audit import audit

log = logging.getLogger(__name__)


def opt(ctx: Ctx, which: str) -> None:
    identity = ctx.identity
    want_out = which == "out"
    if identity.opted_out == want_out:
        return  # confirm once: a repeat changes nothing and costs no message
    identity.opted_out = want_out
    identity.opted_out_at = utcnow() if want_out else None
    ctx.session.add(identity)
    audit(
        ctx.session,
        f"{identity.channel}:{mask_phone(identity.address)}",
        "identity.opt_out" if want_out else "identity.opt_in",
        "channel_identity",
        identity.id,
        after={"opted_out": want_out},
    )
    log.info("%s %s", "opt-out" if want_out else "opt-in", mask_phone(identity.address))
    ctx.say(P.OPTED_OUT if want_out else P.OPTED_IN)
