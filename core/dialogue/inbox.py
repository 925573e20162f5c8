"""The durable inbox of doors that acknowledge before they process (Telegram's webhook; any door
whose provider retries on a slow answer can use it).

`store` records the provider's id *and* the raw payload in one transaction, with a processing
lease for the caller; the door answers 200 after that commit. The engine marks the row processed
in its own transaction (`mark_processed`, through `DialogueEngine.handle(finish=…)`); the door
marks it answered once the replies went out. Rows not answered are taken up again by
`claim_pending` (at start-up and by a periodic sweep), oldest first, and `OrderedRunner` runs them
one at a time per chat, in order. Rows live in `inbound_message` (kept 30 days like every id).

Guarantee: every acknowledged update is processed by the engine exactly once (the engine's own
message id dedupes); its replies are sent at least once — a crash after the provider accepted a
reply and before `mark_answered` committed sends that reply again on recovery.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.kernel.timeutil import utcnow
from core.persistence.db import session_scope
from core.persistence.models import InboundMessageRow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class Stored:
    """The outcome of `store`: `claimed` means the caller must process the row now."""

    id: int
    fresh: bool
    answered: bool
    claimed: bool


@dataclass(frozen=True)
class Pending:
    id: int
    message_id: str
    address: str
    payload: dict[str, Any]


def _lease_free() -> sa.ColumnElement[bool]:
    column = col(InboundMessageRow.locked_until)
    return sa.or_(column.is_(None), column < utcnow())


def store(
    db: Engine,
    channel: str,
    message_id: str,
    address: str,
    payload: dict[str, Any],
    lease: timedelta = LEASE,
) -> Stored:
    """Record the id with its payload (claimed by the caller). A known id is claimed again only
    when it is not answered and nobody holds its lease: a provider retry of an update lost in a
    crash is processed, a retry of one in flight or answered is not."""
    row = InboundMessageRow(
        channel=channel,
        message_id=message_id,
        address=address[:64],
        payload=payload,
        locked_until=utcnow() + lease,
    )
    try:
        with session_scope(db) as s:
            s.add(row)
            s.flush()
            assert row.id is not None
            return Stored(row.id, fresh=True, answered=False, claimed=True)
    except IntegrityError:
        pass
    with session_scope(db) as s:
        seen = s.exec(
            select(InboundMessageRow).where(
                InboundMessageRow.channel == channel, InboundMessageRow.message_id == message_id
            )
        ).one()
        assert seen.id is not None
        if seen.answered_at is not None or seen.payload is None:
            return Stored(seen.id, fresh=False, answered=True, claimed=False)
        claimed = _claim(s, seen.id, lease, ignore_lease=False)
        return Stored(seen.id, fresh=False, answered=False, claimed=claimed)


def _claim(s: Session, row_id: int, lease: timedelta, *, ignore_lease: bool) -> bool:
    query = sa.update(InboundMessageRow).where(
        col(InboundMessageRow.id) == row_id, col(InboundMessageRow.answered_at).is_(None)
    )
    if not ignore_lease:
        query = query.where(_lease_free())
    result = s.execute(query.values(locked_until=utcnow() + lease))
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def claim_pending(
    db: Engine,
    channel: str,
    *,
    limit: int = 500,
    lease: timedelta = LEASE,
    ignore_leases: bool = False,
) -> list[Pending]:
    """Stored rows not answered, oldest first, claimed for this process. `ignore_leases` is for
    start-up on SQLite, where a single process runs (a lease left by a killed process is void)."""
    out: list[Pending] = []
    with session_scope(db) as s:
        query = (
            select(InboundMessageRow)
            .where(
                InboundMessageRow.channel == channel,
                col(InboundMessageRow.answered_at).is_(None),
                col(InboundMessageRow.payload).is_not(None),
            )
            .order_by(col(InboundMessageRow.id))
            .limit(limit)
        )
        if not ignore_leases:
            query = query.where(_lease_free())
        for row in s.exec(query).all():
            assert row.id is not None and row.payload is not None
            if _claim(s, row.id, lease, ignore_lease=ignore_leases):
                out.append(Pending(row.id, row.message_id, row.address, dict(row.payload)))
    return out


def mark_processed(s: Session, channel: str, message_id: str) -> None:
    """Inside the engine's transaction: the update's effects and this mark commit together."""
    s.execute(
        sa.update(InboundMessageRow)
        .where(
            col(InboundMessageRow.channel) == channel,
            col(InboundMessageRow.message_id) == message_id,
            col(InboundMessageRow.processed_at).is_(None),
        )
        .values(processed_at=utcnow())
    )


def processed_hook(channel: str, message_id: str) -> Callable[[Session, list[Any]], None]:
    """The engine's `finish` hook of a door with an inbox: marks the row processed."""

    def finish(s: Session, _replies: list[Any]) -> None:
        mark_processed(s, channel, message_id)

    return finish


def mark_answered(db: Engine, channel: str, message_id: str) -> None:
    """The replies went out (or there was nothing to answer): the row leaves the inbox."""
    now = utcnow()
    with session_scope(db) as s:
        s.execute(
            sa.update(InboundMessageRow)
            .where(
                col(InboundMessageRow.channel) == channel,
                col(InboundMessageRow.message_id) == message_id,
            )
            .values(
                answered_at=now,
                processed_at=sa.func.coalesce(col(InboundMessageRow.processed_at), now),
                locked_until=None,
            )
        )


class OrderedRunner:
    """Runs submitted jobs one at a time per key (a chat), in submission order, with at most
    `concurrency` keys at once; a job id already queued or running is not submitted twice."""

    def __init__(self, concurrency: int = 8) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._queues: dict[str, deque[tuple[str, Callable[[], Awaitable[None]]]]] = {}
        self._ids: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, key: str, job_id: str, job: Callable[[], Awaitable[None]]) -> bool:
        if job_id in self._ids:
            return False
        self._ids.add(job_id)
        queue = self._queues.get(key)
        if queue is not None:
            queue.append((job_id, job))
            return True
        self._queues[key] = deque([(job_id, job)])
        task = asyncio.create_task(self._drain(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    @property
    def busy(self) -> int:
        return len(self._ids)

    async def _drain(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                job_id, job = queue[0]
                try:
                    async with self._slots:
                        await job()
                except Exception:
                    log.exception("inbox job %s failed; the sweep retries it", job_id)
                finally:
                    queue.popleft()
                    self._ids.discard(job_id)
        finally:
            self._queues.pop(key, None)

    async def join(self, timeout: float | None = None) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
