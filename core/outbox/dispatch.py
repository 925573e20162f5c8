"""The outbox dispatcher: claims due notices, re-checks them, sends them through the senders.

Every notice kind goes through here (reminder, overdue, relay = staff replies, broadcast, review).

Claiming. A claim is one statement that moves a batch of due `pending` rows to `sending` with a
lease (`locked_until`) and counts the attempt: on PostgreSQL the rows are picked with
`SELECT … FOR UPDATE SKIP LOCKED`, so several dispatchers in several processes never take the same
row; on SQLite the single `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING` is atomic under the
database's one-writer lock. The outcome of each send is written back only if the row still carries
the lease of this claim.

Crash window and delivery guarantee. A dispatcher that dies between claim and record leaves rows
in `sending` with a lease in the past; `reclaim_expired` then decides by kind:

- at-least-once kinds (reminder, overdue, relay, review …): the row goes back to `pending` and is
  sent again, so a message the provider accepted just before the crash may arrive twice; nothing
  is lost;
- at-most-once kinds (broadcast): the row becomes `failed` with an "in doubt" error for staff to
  check and is never sent again, so nothing arrives twice and nothing disappears silently.

Just before sending, loan notices (reminder, overdue) are re-checked: instalment still unpaid and
loan still active, notice not expired; for every kind the recipient must still be reachable (a
broadcast also not opted out) and, except for staff replies, the time outside quiet hours
(deferred to the end of the window otherwise). Temporary send errors retry with exponential
backoff until `max_attempts`, then the notice is `failed` (visible to staff: `chuangdai notices
list --status failed`). An unreachable address is marked on its ChannelIdentityRow.

Statuses: pending → sending → sent (→ delivered | undelivered by SMS receipts), or cancelled,
or failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time as _time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, func, select

from core.kernel.quiet_hours import QuietHours
from core.kernel.timeutil import utcnow
from core.outbox.reach import FALLBACK_KINDS, sms_fallback
from core.outbox.senders import OutgoingMessage, Sender, SendResult
from core.persistence.models import (
    ChannelIdentityRow,
    InstallmentRow,
    LoanRow,
    NoticeRow,
    UTCDateTime,
)
from core.persistence.sql import table as _table

log = logging.getLogger(__name__)

LOAN_NOTICE_KINDS = frozenset({"reminder", "overdue"})
AT_MOST_ONCE_KINDS = frozenset({"broadcast"})
# Answers to the person's own message: a staff reply (relay), a chat reply sent late (reply: the
# WeChat door's 客服消息), a one-time code they just asked for (otp: intake or 绑定).
QUIET_EXEMPT_KINDS = frozenset({"relay", "reply", "otp"})
_OUTGOING_KIND = {"broadcast": "broadcast", "relay": "reply", "reply": "reply"}

ERR_PAID = "该期已还清或贷款已结清，取消发送"
ERR_EXPIRED = "通知已过期，取消发送"
ERR_UNREACHABLE = "收件人无法送达"
ERR_OPTED_OUT = "收件人已退订群发消息"
ERR_IN_DOUBT = "发送过程中断，无法确定是否已送出；此类通知至多发送一次，不再重发，请人工核实"
ERR_TOO_MANY = "多次发送中断，已停止重试"
ERR_NO_SENDER = "该渠道没有可用的发送器"


@dataclass(frozen=True)
class DispatchConfig:
    batch_size: int = 100
    lease_seconds: float = 300.0  # must exceed the longest time a batch may take to send
    max_attempts: int = 5
    backoff_base_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0
    concurrency: int = 50  # sends in flight per batch (senders apply their own rate limits)
    lanes: int = 1  # concurrent claim→send→record loops in `run_forever`
    idle_seconds: float = 2.0
    reclaim_every_seconds: float = 30.0
    record_every: int = 50  # write outcomes back after this many results ...
    record_interval_seconds: float = 0.2  # ... or this long, whichever comes first

    def backoff(self, attempts: int) -> float:
        return float(
            min(self.backoff_base_seconds * (2 ** max(attempts - 1, 0)), self.backoff_max_seconds)
        )


@dataclass(frozen=True)
class ClaimedNotice:
    id: int
    kind: str
    channel: str
    address: str
    text: str
    template: str | None
    params: dict[str, Any]
    installment_id: int | None
    expires_at: datetime | None
    attempts: int
    lease: datetime  # the locked_until this claim wrote: proof of ownership when recording


@dataclass
class DispatchStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    deferred: int = 0
    cancelled: int = 0
    failed: int = 0
    unreachable: int = 0
    lost_lease: int = 0
    requeued: int = 0  # expired leases given back (at-least-once kinds)
    in_doubt: int = 0  # expired leases failed (at-most-once kinds)

    def add(self, other: DispatchStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class _Outcome:
    notice: ClaimedNotice
    status: str  # sent | pending | cancelled | failed
    error: str | None = None
    send_after: datetime | None = None
    provider_id: str | None = None
    undo_attempt: bool = False
    unreachable: bool = False
    stat: str = "sent"


_T = _table(NoticeRow)


class Dispatcher:
    """Claims, re-checks and sends outbox notices. Thread-safe DB access, asyncio sending."""

    def __init__(
        self,
        engine: Engine,
        senders: Mapping[str, Sender],
        *,
        quiet: QuietHours | None = None,
        config: DispatchConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.senders = dict(senders)
        self.quiet = quiet or QuietHours()
        self.config = config or DispatchConfig()
        self.clock = clock
        self.totals = DispatchStats()
        self._last_reclaim = 0.0

    # --- claiming ----------------------------------------------------------------------------

    def claim(self, limit: int | None = None) -> list[ClaimedNotice]:
        """Lease a batch of due notices (status `sending`, attempts + 1) and return them."""
        if not self.senders:
            return []
        now = self.clock()
        lease = now + timedelta(seconds=self.config.lease_seconds)
        conds: list[Any] = [
            _T.c.status == "pending",
            _T.c.send_after <= now,
            _T.c.channel.in_(sorted(self.senders)),
        ]
        if self.quiet.contains(now):
            conds.append(_T.c.kind.in_(sorted(QUIET_EXEMPT_KINDS)))
        pick = (
            sa.select(_T.c.id)
            .where(*conds)
            .order_by(_T.c.send_after, _T.c.id)
            .limit(limit or self.config.batch_size)
        )
        if self.engine.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        stmt = (
            sa.update(_T)
            .where(_T.c.id.in_(pick))
            .values(
                status="sending",
                locked_until=lease,
                attempts=_T.c.attempts + 1,
                updated_at=now,
            )
            .returning(
                _T.c.id,
                _T.c.kind,
                _T.c.channel,
                _T.c.address,
                _T.c.text,
                _T.c.template,
                _T.c.params,
                _T.c.installment_id,
                _T.c.expires_at,
                _T.c.attempts,
            )
        )
        with self.engine.begin() as conn:
            rows = conn.execute(stmt).all()
        claimed = [
            ClaimedNotice(
                id=r.id,
                kind=r.kind,
                channel=r.channel,
                address=r.address,
                text=r.text,
                template=r.template,
                params=dict(r.params or {}),
                installment_id=r.installment_id,
                expires_at=r.expires_at,
                attempts=r.attempts,
                lease=lease,
            )
            for r in rows
        ]
        claimed.sort(key=lambda n: n.id)
        return claimed

    def reclaim_expired(self) -> DispatchStats:
        """Rows whose lease ran out (a dispatcher died mid-batch): requeue or fail, by kind."""
        now = self.clock()
        stats = DispatchStats()
        expired = [_T.c.status == "sending", _T.c.locked_until < now]
        with self.engine.begin() as conn:
            stats.in_doubt = _rowcount(
                conn.execute(
                    sa.update(_T)
                    .where(*expired, _T.c.kind.in_(sorted(AT_MOST_ONCE_KINDS)))
                    .values(
                        status="failed", last_error=ERR_IN_DOUBT, locked_until=None, updated_at=now
                    )
                )
            )
            stats.failed = _rowcount(
                conn.execute(
                    sa.update(_T)
                    .where(
                        *expired,
                        _T.c.kind.not_in(sorted(AT_MOST_ONCE_KINDS)),
                        _T.c.attempts >= self.config.max_attempts,
                    )
                    .values(
                        status="failed", last_error=ERR_TOO_MANY, locked_until=None, updated_at=now
                    )
                )
            )
            stats.requeued = _rowcount(
                conn.execute(
                    sa.update(_T)
                    .where(*expired, _T.c.kind.not_in(sorted(AT_MOST_ONCE_KINDS)))
                    .values(status="pending", locked_until=None, updated_at=now)
                )
            )
        if stats.in_doubt or stats.requeued or stats.failed:
            log.warning(
                "expired leases: %d requeued, %d in doubt (at-most-once), %d failed",
                stats.requeued,
                stats.in_doubt,
                stats.failed,
            )
        self._last_reclaim = _time.monotonic()
        return stats

    # --- the re-check just before sending ----------------------------------------------------

    def recheck(self, claimed: list[ClaimedNotice]) -> tuple[list[ClaimedNotice], list[_Outcome]]:
        """Split a claimed batch into what may be sent now and what is cancelled or deferred."""
        now = self.clock()
        inst_ids = sorted(
            {n.installment_id for n in claimed if n.kind in LOAN_NOTICE_KINDS and n.installment_id}
        )
        settled: set[int] = set()
        addresses = sorted({n.address for n in claimed})
        identities: dict[tuple[str, str], tuple[bool, bool]] = {}
        with Session(self.engine) as session:
            if inst_ids:
                i, ln = _table(InstallmentRow), _table(LoanRow)
                rows = session.execute(
                    sa.select(i.c.id, i.c.paid, ln.c.status)
                    .select_from(i.join(ln, ln.c.id == i.c.loan_id))
                    .where(i.c.id.in_(inst_ids))
                )
                settled = {r.id for r in rows if r.paid or r.status != "active"}
            if addresses:
                ci = _table(ChannelIdentityRow)
                rows = session.execute(
                    sa.select(ci.c.channel, ci.c.address, ci.c.unreachable, ci.c.opted_out).where(
                        ci.c.address.in_(addresses)
                    )
                )
                identities = {(r.channel, r.address): (r.unreachable, r.opted_out) for r in rows}
        quiet = self.quiet.contains(now)
        ready: list[ClaimedNotice] = []
        outcomes: list[_Outcome] = []
        for n in claimed:
            unreachable, opted_out = identities.get((n.channel, n.address), (False, False))
            if n.expires_at is not None and n.expires_at <= now:
                outcomes.append(_Outcome(n, "cancelled", ERR_EXPIRED, stat="cancelled"))
            elif n.installment_id in settled:
                outcomes.append(_Outcome(n, "cancelled", ERR_PAID, stat="cancelled"))
            elif unreachable:
                outcomes.append(_Outcome(n, "cancelled", ERR_UNREACHABLE, stat="cancelled"))
            elif n.kind == "broadcast" and opted_out:
                outcomes.append(_Outcome(n, "cancelled", ERR_OPTED_OUT, stat="cancelled"))
            elif quiet and n.kind not in QUIET_EXEMPT_KINDS:
                outcomes.append(
                    _Outcome(
                        n,
                        "pending",
                        send_after=self.quiet.next_allowed(now),
                        undo_attempt=True,
                        stat="deferred",
                    )
                )
            elif n.channel not in self.senders:
                outcomes.append(_Outcome(n, "failed", ERR_NO_SENDER, stat="failed"))
            else:
                ready.append(n)
        return ready, outcomes

    # --- sending -----------------------------------------------------------------------------

    async def send(self, notices: list[ClaimedNotice]) -> list[_Outcome]:
        """Send a re-checked batch concurrently (the senders apply the channels' rate limits)."""
        return [await f for f in self._sends(notices)]

    def _sends(self, notices: list[ClaimedNotice]) -> Iterator[asyncio.Future[_Outcome]]:
        gate = asyncio.Semaphore(max(self.config.concurrency, 1))

        async def one(n: ClaimedNotice) -> _Outcome:
            async with gate:
                message = OutgoingMessage(
                    notice_id=n.id,
                    channel=n.channel,
                    address=n.address,
                    text=n.text,
                    kind=_OUTGOING_KIND.get(n.kind, "notification"),
                    template=n.template,
                    params=n.params,
                )
                try:
                    result = await self.senders[n.channel].send(message)
                except Exception as exc:  # a sender bug or a network error it did not map
                    log.exception("sender %s raised for notice %s", n.channel, n.id)
                    result = SendResult(ok=False, temporary=True, error=repr(exc)[:300])
                return self._outcome(n, result)

        return asyncio.as_completed([asyncio.ensure_future(one(n)) for n in notices])

    async def send_and_record(self, notices: list[ClaimedNotice]) -> DispatchStats:
        """Send a batch and write outcomes back as they come in (every `record_every` results or
        `record_interval_seconds`), which keeps the crash window small: a dispatcher killed
        mid-batch leaves unrecorded only what was sent since the last write."""
        stats = DispatchStats()
        done: list[_Outcome] = []
        last = _time.monotonic()
        for future in self._sends(notices):
            done.append(await future)
            now = _time.monotonic()
            if (
                len(done) >= self.config.record_every
                or now - last >= self.config.record_interval_seconds
            ):
                batch, done = done, []
                stats.add(await asyncio.to_thread(self.record, batch))
                last = _time.monotonic()
        if done:
            stats.add(await asyncio.to_thread(self.record, done))
        return stats

    def _outcome(self, n: ClaimedNotice, result: SendResult) -> _Outcome:
        if result.ok:
            return _Outcome(n, "sent", provider_id=result.provider_id, stat="sent")
        error = (result.error or "发送失败")[:500]
        if result.unreachable:
            return _Outcome(n, "failed", error, unreachable=True, stat="unreachable")
        if result.deferred:  # the provider's per-number limit: come back later, not a failure
            delay = max(float(result.retry_after or 0), 1.0)
            return _Outcome(
                n,
                "pending",
                error,
                send_after=self.clock() + timedelta(seconds=delay),
                undo_attempt=True,
                stat="deferred",
            )
        if result.temporary and n.attempts < self.config.max_attempts:
            delay = max(self.config.backoff(n.attempts), float(result.retry_after or 0))
            return _Outcome(
                n,
                "pending",
                error,
                send_after=self.clock() + timedelta(seconds=delay),
                stat="retried",
            )
        return _Outcome(n, "failed", error, stat="failed")

    # --- recording ---------------------------------------------------------------------------

    def record(self, outcomes: Iterable[_Outcome]) -> DispatchStats:
        """Write the outcomes back, each only if this claim still holds the row's lease."""
        stats = DispatchStats()
        outcomes = list(outcomes)
        if not outcomes:
            return stats
        now = self.clock()
        by_status: dict[str, list[dict[str, Any]]] = {}
        for o in outcomes:
            params: dict[str, Any] = {
                "b_id": o.notice.id,
                "b_lease": o.notice.lease,
                "b_error": o.error,
                "b_now": now,
            }
            if o.status == "sent":
                params["b_provider"] = o.provider_id
            else:
                params["b_status"] = o.status
            if o.status == "pending":
                params["b_after"] = o.send_after
                params["b_undo"] = 1 if o.undo_attempt else 0
            by_status.setdefault(o.status, []).append(params)
        with self.engine.begin() as conn:
            for status, rows in by_status.items():
                updated = _rowcount(conn.execute(_record_stmt(status), rows))
                if updated < len(rows):
                    stats.lost_lease += len(rows) - updated
            unreachable = [o for o in outcomes if o.unreachable]
            if unreachable:
                _mark_unreachable(conn, unreachable, now)
        self._fallback(outcomes)
        for o in outcomes:
            setattr(stats, o.stat, getattr(stats, o.stat) + 1)
        if stats.lost_lease:
            log.warning("%d outcomes not recorded: lease lost (lease too short?)", stats.lost_lease)
        return stats

    def _fallback(self, outcomes: list[_Outcome]) -> None:
        """Review results and staff replies that cannot reach the chat go by SMS (core/outbox/reach)."""
        ids = [
            o.notice.id
            for o in outcomes
            if o.notice.kind in FALLBACK_KINDS
            and o.notice.channel != "sms"
            and (o.unreachable or o.error in (ERR_UNREACHABLE, ERR_NO_SENDER))
        ]
        if ids:
            with Session(self.engine) as s:
                if sms_fallback(s, ids):
                    s.commit()

    # --- loops -------------------------------------------------------------------------------

    async def run_once(self, limit: int | None = None) -> DispatchStats:
        """Claim one batch, re-check, send, record."""
        claimed = await asyncio.to_thread(self.claim, limit)
        stats = DispatchStats(claimed=len(claimed))
        if not claimed:
            return stats
        ready, outcomes = await asyncio.to_thread(self.recheck, claimed)
        if outcomes:
            stats.add(await asyncio.to_thread(self.record, outcomes))
        if ready:
            stats.add(await self.send_and_record(ready))
        self.totals.add(stats)
        return stats

    async def drain(self, max_batches: int = 1000) -> DispatchStats:
        """Send everything due now (tests and the CLI's --once)."""
        total = DispatchStats()
        total.add(await asyncio.to_thread(self.reclaim_expired))
        for _ in range(max_batches):
            stats = await self.run_once()
            total.add(stats)
            if stats.claimed == 0:
                break
        return total

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Dispatch until `stop` is set: `lanes` concurrent loops, periodic lease reclaim."""

        async def lane() -> None:
            while not stop.is_set():
                try:
                    if _time.monotonic() - self._last_reclaim >= self.config.reclaim_every_seconds:
                        await asyncio.to_thread(self.reclaim_expired)
                    stats = await self.run_once()
                except Exception:
                    log.exception("dispatcher batch failed; retrying after a pause")
                    stats = DispatchStats()
                if stats.claimed == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self.config.idle_seconds)

        await asyncio.gather(*(lane() for _ in range(max(self.config.lanes, 1))))


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _record_stmt(status: str) -> Any:
    ts = UTCDateTime()
    where = [
        _T.c.id == sa.bindparam("b_id"),
        _T.c.locked_until == sa.bindparam("b_lease", type_=ts),
    ]
    values: dict[str, Any] = {
        "locked_until": None,
        "last_error": sa.bindparam("b_error"),
        "updated_at": sa.bindparam("b_now", type_=ts),
    }
    if status == "sent":
        # An SMS status callback may already have moved the row past `sending` (the SMS sender
        # links the provider id as soon as the provider accepts): keep that status.
        values["status"] = sa.case((_T.c.status == "sending", "sent"), else_=_T.c.status)
        values["provider_id"] = sa.func.coalesce(_T.c.provider_id, sa.bindparam("b_provider"))
        values["sent_at"] = sa.func.coalesce(_T.c.sent_at, sa.bindparam("b_now", type_=ts))
        return sa.update(_T).where(*where).values(**values)
    where.append(_T.c.status == "sending")
    values["status"] = sa.bindparam("b_status")
    if status == "pending":
        values["send_after"] = sa.bindparam("b_after", type_=ts)
        values["attempts"] = _T.c.attempts - sa.bindparam("b_undo", type_=sa.Integer())
    return sa.update(_T).where(*where).values(**values)


def _mark_unreachable(conn: Connection, outcomes: list[_Outcome], now: datetime) -> None:
    table = _table(ChannelIdentityRow)
    rows = {
        (o.notice.channel, o.notice.address): (o.error or ERR_UNREACHABLE)[:200] for o in outcomes
    }
    for (channel, address), reason in rows.items():
        values = {
            "channel": channel,
            "address": address,
            "unreachable": True,
            "unreachable_reason": reason,
            "verified": False,
            "opted_out": False,
            "created_at": now,
        }
        insert: Any = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)
        stmt = insert.values(**values).on_conflict_do_update(
            index_elements=["channel", "address"],
            set_={"unreachable": True, "unreachable_reason": reason},
        )
        conn.execute(stmt)


# --- staff views -----------------------------------------------------------------------------


def notice_counts(session: Session, kind: str | None = None) -> dict[str, int]:
    """Number of notices per status (optionally of one kind)."""
    stmt = select(NoticeRow.status, func.count()).group_by(NoticeRow.status)
    if kind:
        stmt = stmt.where(NoticeRow.kind == kind)
    return {str(s): int(n) for s, n in session.exec(stmt)}


def list_notices(
    session: Session, status: str | None = None, kind: str | None = None, limit: int = 50
) -> list[NoticeRow]:
    """The newest notices (optionally of one status / kind), newest first."""
    stmt = select(NoticeRow).order_by(col(NoticeRow.id).desc()).limit(limit)
    if status:
        stmt = stmt.where(NoticeRow.status == status)
    if kind:
        stmt = stmt.where(NoticeRow.kind == kind)
    return list(session.exec(stmt))


def requeue_notices(session: Session, ids: Iterable[int], now: datetime | None = None) -> int:
    """Give failed notices another round of attempts (staff action)."""
    now = now or utcnow()
    stmt = (
        sa.update(_T)
        .where(_T.c.id.in_(sorted(set(ids))), _T.c.status == "failed")
        .where(_T.c.channel != "none")
        .values(status="pending", attempts=0, send_after=now, locked_until=None, updated_at=now)
    )
    return _rowcount(session.execute(stmt))
