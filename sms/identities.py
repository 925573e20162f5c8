"""The SMS identity of a number: opted out of broadcasts, or unreachable for good."""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.kernel.identity import mask_phone
from core.persistence.db import session_scope
from core.persistence.models import ChannelIdentityRow

log = logging.getLogger(__name__)


def mark_unreachable_in(s: Session, address: str, reason: str) -> None:
    """Flag the SMS identity of `address` as unreachable (created if the number had none)."""
    identity = s.exec(
        select(ChannelIdentityRow).where(
            ChannelIdentityRow.channel == "sms", ChannelIdentityRow.address == address
        )
    ).first()
    if identity is None:
        identity = ChannelIdentityRow(channel="sms", address=address)
    identity.unreachable = True
    identity.unreachable_reason = reason[:200]
    s.add(identity)
    log.warning("sms number %s marked unreachable: %s", mask_phone(address), reason)


def mark_unreachable(db: Engine, address: str, reason: str) -> None:
    for _ in range(2):  # a concurrent first insert of the identity: the second pass updates it
        try:
            with session_scope(db) as s:
                mark_unreachable_in(s, address, reason)
            return
        except IntegrityError:
            continue


def is_opted_out(db: Engine, address: str) -> bool:
    with session_scope(db) as s:
        identity = s.exec(
            select(ChannelIdentityRow).where(
                ChannelIdentityRow.channel == "sms", ChannelIdentityRow.address == address
            )
        ).first()
        return bool(identity is not None and identity.opted_out)
