"""What a door knows of an address (`channel_identity`): opted out of broadcasts, or unreachable
(blocked the bot, unsubscribed, a number that cannot receive SMS). The dispatcher and the
broadcast audience skip unreachable and opted-out addresses."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.kernel.identity import mask_phone
from core.persistence.db import session_scope
from core.persistence.models import ChannelIdentityRow

log = logging.getLogger(__name__)


def _identity(s: Session, channel: str, address: str) -> ChannelIdentityRow | None:
    return s.exec(
        select(ChannelIdentityRow).where(
            ChannelIdentityRow.channel == channel, ChannelIdentityRow.address == address
        )
    ).first()


def mark_in(s: Session, channel: str, address: str, reachable: bool, reason: str | None) -> None:
    """Flag the identity of `address` reachable or not, inside the caller's transaction (created
    if the address had none)."""
    identity = _identity(s, channel, address) or ChannelIdentityRow(
        channel=channel, address=address
    )
    identity.unreachable = not reachable
    identity.unreachable_reason = None if reachable else (reason or "")[:200]
    s.add(identity)
    if not reachable:
        log.warning("%s address %s marked unreachable: %s", channel, mask_phone(address), reason)


def mark(
    db: Engine, channel: str, address: str, reachable: bool, reason: str | None = None
) -> None:
    """`mark_in` in its own transaction."""
    for _ in range(2):  # a concurrent first insert of the identity: the second pass updates it
        try:
            with session_scope(db) as s:
                mark_in(s, channel, address, reachable, reason)
            return
        except IntegrityError:
            continue


def set_reachable(
    db: Engine, channel: str, address: str, reachable: bool, reason: str | None = None
) -> int:
    """Flip the flag of an existing identity whose flag changes (none is created); returns the
    rows changed."""
    with session_scope(db) as s:
        result = s.execute(
            sa.update(ChannelIdentityRow)
            .where(
                col(ChannelIdentityRow.channel) == channel,
                col(ChannelIdentityRow.address) == address,
                col(ChannelIdentityRow.unreachable).is_(reachable),
            )
            .values(unreachable=not reachable, unreachable_reason=None if reachable else reason)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def is_opted_out(db: Engine, channel: str, address: str) -> bool:
    with Session(db) as s:
        identity = _identity(s, channel, address)
        return bool(identity is not None and identity.opted_out)
