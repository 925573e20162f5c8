"""SMS one-time codes that prove a chat belongs to the person with a number on file.

Any chat door (WeChat, Telegram) can link its address to a person this way:

1. `request_code(session, channel=…, address=…, phone=…)`: if the number belongs to a person, a
   6-digit code is queued as an SMS (template `link_code`, outbox kind `link_code`, expiring with
   the code) to that number. The answer does not say whether the number is on file (no
   enumeration of registered numbers). Codes are rate-limited: one per minute and five per hour
   per chat, five per hour and ten per day per number (the caps domestic gateways apply to
   verification codes; failed requests count too).
2. `verify_code(session, channel=…, address=…, code=…)`: the newest open code of that chat; at most
   five tries, valid five minutes, used once. Only a salted SHA-256 of the code is stored.

The caller links the identity (and audits it) when `verify_code` answers `ok`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.models import PersonRow
from core.models_link import LinkCodeRow
from core.notice_templates import render
from core.outbox import enqueue
from core.timeutil import utcnow

CODE_TTL = timedelta(minutes=5)
MAX_TRIES = 5
MIN_INTERVAL = timedelta(minutes=1)
PER_CHAT_PER_HOUR = 5
PER_PHONE_PER_HOUR = 5
PER_PHONE_PER_DAY = 10
KIND = "link_code"
TEMPLATE = "link_code"


@dataclass(frozen=True)
class CodeRequest:
    status: str  # sent | too_soon | too_many
    retry_after_seconds: int = 0


@dataclass(frozen=True)
class CodeCheck:
    status: str  # ok | wrong | expired | locked | none
    person_id: int | None = None
    tries_left: int = 0


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _count(session: Session, *conds: Any) -> int:
    return int(session.exec(select(func.count()).select_from(LinkCodeRow).where(*conds)).one())


def _limited(session: Session, channel: str, address: str, phone: str, now: datetime) -> bool:
    chat = (col(LinkCodeRow.channel) == channel, col(LinkCodeRow.address) == address)
    number = col(LinkCodeRow.phone) == phone
    return (
        _count(session, *chat, col(LinkCodeRow.created_at) > now - timedelta(hours=1))
        >= PER_CHAT_PER_HOUR
        or _count(session, number, col(LinkCodeRow.created_at) > now - timedelta(hours=1))
        >= PER_PHONE_PER_HOUR
        or _count(session, number, col(LinkCodeRow.created_at) > now - timedelta(days=1))
        >= PER_PHONE_PER_DAY
    )


def _last_request(session: Session, channel: str, address: str, phone: str) -> datetime | None:
    row = session.exec(
        select(LinkCodeRow)
        .where(
            (col(LinkCodeRow.phone) == phone)
            | ((col(LinkCodeRow.channel) == channel) & (col(LinkCodeRow.address) == address))
        )
        .order_by(col(LinkCodeRow.created_at).desc())
    ).first()
    return row.created_at if row is not None else None


def request_code(
    session: Session,
    *,
    channel: str,
    address: str,
    phone: str,
    now: datetime | None = None,
    code: str | None = None,
) -> CodeRequest:
    """Queue a code by SMS to `phone` (E.164) if a person has that number; see the module doc."""
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        # one request per number at a time (SQLite serialises writers anyway)
        lock = int.from_bytes(
            hashlib.sha1(f"link-code:{phone}".encode()).digest()[:8], "big", signed=True
        )
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(lock)))
    last = _last_request(session, channel, address, phone)
    if last is not None and now - last < MIN_INTERVAL:
        return CodeRequest("too_soon", int((MIN_INTERVAL - (now - last)).total_seconds()) + 1)
    if _limited(session, channel, address, phone, now):
        return CodeRequest("too_many")
    person = session.exec(select(PersonRow).where(PersonRow.phone == phone)).first()
    code = code or new_code()
    salt = secrets.token_hex(8)
    row = LinkCodeRow(
        channel=channel,
        address=address,
        person_id=person.id if person is not None else None,
        phone=phone,
        salt=salt,
        code_hash=_hash(salt, code),
        expires_at=now + CODE_TTL,
        created_at=now,
    )
    session.add(row)
    session.flush()
    if person is not None:
        params = {"code": code, "minutes": int(CODE_TTL.total_seconds() // 60)}
        enqueue(
            session,
            key=f"link_code:{row.id}",
            kind=KIND,
            channel="sms",
            address=phone,
            person_id=person.id,
            template=TEMPLATE,
            params=params,
            text=render(TEMPLATE, "sms", params),
            expires_at=row.expires_at,
            send_after=now,
        )
    return CodeRequest("sent")


def verify_code(
    session: Session, *, channel: str, address: str, code: str, now: datetime | None = None
) -> CodeCheck:
    """Check a code typed into the chat `channel`/`address` (see the module doc)."""
    now = now or utcnow()
    row = session.exec(
        select(LinkCodeRow)
        .where(
            LinkCodeRow.channel == channel,
            LinkCodeRow.address == address,
            col(LinkCodeRow.used_at).is_(None),
        )
        .order_by(col(LinkCodeRow.id).desc())
    ).first()
    if row is None:
        return CodeCheck("none")
    if row.expires_at <= now:
        return CodeCheck("expired")
    if row.attempts >= MAX_TRIES:
        return CodeCheck("locked")
    if row.person_id is not None and hmac.compare_digest(row.code_hash, _hash(row.salt, code)):
        row.used_at = now
        session.add(row)
        return CodeCheck("ok", person_id=row.person_id)
    row.attempts += 1
    session.add(row)
    left = MAX_TRIES - row.attempts
    return CodeCheck("wrong" if left > 0 else "locked", tries_left=left)
