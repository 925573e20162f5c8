"""A send-rate limit per sender shared by every worker through the database.

Each sender (a Messaging Service SID or a From number) has one `sms_rate_slot` row holding the next
free send slot (epoch microseconds). A worker claims the slot with a compare-and-swap UPDATE
(`WHERE next_at_us = <value read>`) that moves it one interval ahead; a lost race reads again. Both
SQLite and PostgreSQL execute that single-row UPDATE atomically, so N workers in any number of
processes together send at most `rate` messages per second per sender (up to clock skew between
machines). A worker then waits until its slot; a slot further away than `max_wait` is not claimed
and the caller is told to retry later instead (the outbox keeps the message).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.kernel.timeutil import utcnow
from core.persistence.models_sms import SmsRateSlotRow
from core.persistence.sql import insert_ignore, table

_TABLE = table(SmsRateSlotRow)


class RateLimited(Exception):
    """The next free slot is too far away; try again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after:.1f}s")
        self.retry_after = retry_after


def _now_us() -> int:
    return time.time_ns() // 1000


@dataclass
class DbRateLimiter:
    db: Engine
    sender_key: str
    rate_per_second: float = 1.0
    max_wait: float = 30.0

    @property
    def interval_us(self) -> int:
        return max(int(1_000_000 / self.rate_per_second), 1) if self.rate_per_second > 0 else 0

    def claim(self) -> float:
        """Claim the next slot; returns the seconds to wait until it (RateLimited if too far)."""
        interval = self.interval_us
        if interval == 0:
            return 0.0
        self._ensure_row()
        for _ in range(1000):
            # Read and swap in separate short transactions: the swap only succeeds if nobody
            # moved the slot in between (SQLite would refuse to upgrade a read snapshot anyway).
            with self.db.connect() as conn:
                current = conn.execute(
                    sa.select(_TABLE.c.next_at_us).where(_TABLE.c.sender_key == self.sender_key)
                ).scalar_one()
            now = _now_us()
            slot = max(int(current), now)
            wait = (slot - now) / 1_000_000
            if wait > self.max_wait:
                raise RateLimited(wait)
            try:
                with self.db.begin() as conn:
                    result = conn.execute(
                        sa.update(_TABLE)
                        .where(
                            _TABLE.c.sender_key == self.sender_key,
                            _TABLE.c.next_at_us == current,
                        )
                        .values(next_at_us=slot + interval, updated_at=utcnow())
                    )
            except sa.exc.OperationalError:  # SQLite busy under contention: read again
                time.sleep(0.005)
                continue
            if result.rowcount == 1:
                return wait
        raise RateLimited(1.0)  # pragma: no cover - only under extreme contention

    async def acquire(self) -> None:
        """Claim a slot (in a thread: the database call blocks) and sleep until it comes."""
        wait = await asyncio.to_thread(self.claim)
        if wait > 0:
            await asyncio.sleep(wait)

    def _ensure_row(self) -> None:
        values = {"sender_key": self.sender_key, "next_at_us": 0, "updated_at": utcnow()}
        with self.db.begin() as conn:
            exists = conn.execute(
                sa.select(_TABLE.c.sender_key).where(_TABLE.c.sender_key == self.sender_key)
            ).first()
            if exists is not None:
                return
            conn.execute(insert_ignore(conn.dialect.name, _TABLE), [values])
