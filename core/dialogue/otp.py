"""One-time codes sent by SMS to prove a mobile number (any door: Telegram, WeChat, terminal).

`OneTimeCodes.issue` stores a keyed hash of a fresh 6-digit code and queues the SMS through the
outbox (template `verify_code`, kind `otp`, sent also in quiet hours, expiring with the code);
`verify` checks a typed code. A code lives 5 minutes and allows 5 tries; a number gets at most 5
codes an hour, one a minute per number and per chat. The code text in the outbox is blanked once the code is used.
Results carry reason codes, never text for people: each door words them in its own prompts.
Purposes: `verify_phone` (the intake proves the applicant's mobile) and `link` (the 绑定 flow links
a chat to the person with the number on file; template `link_code`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.kernel.timeutil import utcnow
from core.outbox.enqueue import enqueue
from core.outbox.templates import render
from core.persistence.models import NoticeRow
from core.persistence.models_otp import OneTimeCodeRow

TTL = timedelta(minutes=5)
MAX_TRIES = 5
RESEND_AFTER = timedelta(seconds=60)
MAX_PER_HOUR = 5
OTP_KIND = "otp"
TEMPLATE = "verify_code"


def six_digits() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


@dataclass(frozen=True)
class Issued:
    ok: bool
    reason: str | None = None  # too_soon | too_many
    wait_seconds: int = 0


@dataclass(frozen=True)
class Checked:
    ok: bool
    phone: str | None = None
    reason: str | None = None  # none | expired | wrong | locked
    tries_left: int = 0


class OneTimeCodes:
    """The code service; `pepper` keys the hashes (the deployment's secret key)."""

    def __init__(
        self,
        pepper: str = "",
        *,
        generate: Callable[[], str] = six_digits,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._pepper = pepper.encode()
        self._generate = generate
        self._now = now

    def _hash(self, channel: str, address: str, code: str) -> str:
        msg = f"{channel}:{address}:{code}".encode()
        return hmac.new(self._pepper, msg, hashlib.sha256).hexdigest()

    def issue(
        self,
        s: Session,
        *,
        channel: str,
        address: str,
        phone: str,
        purpose: str = "verify_phone",
        template: str = TEMPLATE,
        send: bool = True,
    ) -> Issued:
        """Send a new code to `phone` for this chat (earlier unused codes stop working).

        `send=False` records the request (it counts against the limits) without sending anything:
        the linking flow uses it for a number nobody has on file, so that its answer and its limits
        do not tell whether a number is registered.
        """
        now = self._now()
        hour_ago = now - timedelta(hours=1)
        if s.get_bind().dialect.name == "postgresql":
            # one request per number at a time (SQLite serialises writers anyway)
            lock = int.from_bytes(
                hashlib.sha1(f"otp:{phone}".encode()).digest()[:8], "big", signed=True
            )
            s.execute(sa.select(sa.func.pg_advisory_xact_lock(lock)))
        recent = s.exec(
            select(OneTimeCodeRow)
            .where(
                sa.or_(
                    col(OneTimeCodeRow.phone) == phone,
                    sa.and_(
                        col(OneTimeCodeRow.channel) == channel,
                        col(OneTimeCodeRow.address) == address,
                    ),
                ),
                col(OneTimeCodeRow.created_at) >= hour_ago,
            )
            .order_by(col(OneTimeCodeRow.created_at).desc())
        ).all()
        # one code a minute to a number and to a chat: several chats asking for one number at once
        # send one SMS, and a chat cannot spray codes at several numbers
        if recent and now - recent[0].created_at < RESEND_AFTER:
            wait = RESEND_AFTER - (now - recent[0].created_at)
            return Issued(False, "too_soon", max(int(wait.total_seconds()), 1))
        if len(recent) >= MAX_PER_HOUR:
            return Issued(
                False,
                "too_many",
                int((recent[-1].created_at + timedelta(hours=1) - now).total_seconds()),
            )
        for old in self._open(s, channel, address, purpose):
            old.used_at = now
            s.add(old)
        code = self._generate()
        row = OneTimeCodeRow(
            purpose=purpose,
            channel=channel,
            address=address,
            phone=phone,
            code_hash=self._hash(channel, address, code),
            expires_at=now + TTL,
            created_at=now,
        )
        s.add(row)
        s.flush()
        if not send:
            return Issued(True)
        params = {"code": code, "minutes": int(TTL.total_seconds() // 60)}
        enqueue(
            s,
            key=f"otp:{row.id}",
            kind=OTP_KIND,
            channel="sms",
            address=phone,
            text=render(template, "sms", params),
            template=template,
            params=params,
            expires_at=now + TTL,
        )
        return Issued(True)

    def verify(
        self, s: Session, *, channel: str, address: str, code: str, purpose: str = "verify_phone"
    ) -> Checked:
        """Check a typed code against the chat's latest code."""
        now = self._now()
        rows = self._open(s, channel, address, purpose)
        if not rows:
            return Checked(False, reason="none")
        row = rows[0]
        if row.expires_at <= now:
            return Checked(False, reason="expired")
        if row.attempts >= MAX_TRIES:
            return Checked(False, reason="locked")
        given = self._hash(channel, address, code.strip())
        if not hmac.compare_digest(given, row.code_hash):
            row.attempts += 1
            s.add(row)
            left = MAX_TRIES - row.attempts
            return Checked(False, reason="wrong" if left > 0 else "locked", tries_left=left)
        row.used_at = now
        s.add(row)
        self._blank(s, row)
        return Checked(True, phone=row.phone)

    def _open(self, s: Session, channel: str, address: str, purpose: str) -> list[OneTimeCodeRow]:
        return list(
            s.exec(
                select(OneTimeCodeRow)
                .where(
                    OneTimeCodeRow.channel == channel,
                    OneTimeCodeRow.address == address,
                    OneTimeCodeRow.purpose == purpose,
                    col(OneTimeCodeRow.used_at).is_(None),
                )
                .order_by(col(OneTimeCodeRow.id).desc())
            ).all()
        )

    def _blank(self, s: Session, row: OneTimeCodeRow) -> None:
        """A used code need not stay readable in the outbox."""
        notice = s.exec(select(NoticeRow).where(NoticeRow.key == f"otp:{row.id}")).first()
        if notice is not None:
            params = {"code": "******", "minutes": notice.params.get("minutes", 5)}
            notice.params = params
            notice.text = render(notice.template or TEMPLATE, "sms", params)
            s.add(notice)
