"""The outbox dispatcher on a real database: claims with leases, re-checks before sending, quiet
hours, retries with backoff, unreachable addresses, the crash window (at-least-once vs
at-most-once), concurrent dispatchers, and the server's scheduler hooks."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.kernel.quiet_hours import QuietHours
from core.kernel.timeutil import SHANGHAI
from core.kernel.workdays import WorkCalendar
from core.outbox.dispatch import (
    ERR_IN_DOUBT,
    DispatchConfig,
    Dispatcher,
    list_notices,
    notice_counts,
    requeue_notices,
)
from core.outbox.enqueue import enqueue, enqueue_many
from core.outbox.senders import OutgoingMessage, SendResult
from core.persistence.db import session_scope
from core.persistence.models import (
    ChannelIdentityRow,
    InstallmentRow,
    NoticeRow,
)
from core.reminders.ladder import load_reminder_policy
from core.reminders.sweep import run_sweep
from tests.db_kit import add_guarantor, add_loan, add_person
from tests.waits import until, wait_until

CAL = WorkCalendar()
POLICY = load_reminder_policy()
pytestmark = pytest.mark.anyio


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI).astimezone(UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class RecordingSender:
    """A hand-written fake of our Sender port: records messages, answers from a script."""

    def __init__(self, channel: str, script: list[SendResult | Exception] | None = None) -> None:
        self.channel = channel
        self.sent: list[OutgoingMessage] = []
        self.script: deque[SendResult | Exception] = deque(script or [])

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.sent.append(message)
        if self.script:
            answer = self.script.popleft()
            if isinstance(answer, Exception):
                raise answer
            return answer
        return SendResult(ok=True, provider_id=f"{self.channel}-{len(self.sent)}")


def make_loan(engine: Engine, due: date, phone: str = "+8613893100001") -> int:
    """A loan with one instalment due on `due`; returns the instalment id."""
    with session_scope(engine) as s:
        person = add_person(s, "张建国", phone)
        loan_id, [installment] = add_loan(
            s, f"LZ-{phone[-4:]}", person, [(due, 1_000_000)], bank="兰州银行"
        )
        add_guarantor(s, loan_id)
        return installment


def sweep(engine: Engine, today: date, now: datetime) -> int:
    return run_sweep(engine, POLICY, CAL, today, now=now, quiet=QuietHours()).created


def rows(engine: Engine) -> list[NoticeRow]:
    with Session(engine) as s:
        return list(s.exec(select(NoticeRow).order_by(col(NoticeRow.id))))


def dispatcher(
    engine: Engine, clock: Clock, *senders: RecordingSender, **config: float
) -> Dispatcher:
    cfg = DispatchConfig(**{"lease_seconds": 60, **config})  # type: ignore[arg-type]
    return Dispatcher(
        engine, {s.channel: s for s in senders}, quiet=QuietHours(), config=cfg, clock=clock
    )


def relay(
    engine: Engine,
    n: int,
    *,
    kind: str = "relay",
    channel: str = "sms",
    send_after: datetime | None = None,
) -> None:
    with session_scope(engine) as s:
        enqueue_many(
            s,
            [
                {
                    "key": f"{kind}:{i}",
                    "kind": kind,
                    "channel": channel,
                    "address": f"+86138{i:08d}",
                    "text": f"消息{i}",
                    "send_after": send_after or local(2026, 12, 1, 9),
                }
                for i in range(n)
            ],
        )


# --- the normal path ------------------------------------------------------------------------------


async def test_sends_due_notices_and_records_the_provider_id(engine: Engine) -> None:
    make_loan(engine, date(2026, 11, 30))
    clock = Clock(local(2026, 12, 1, 7, 30))
    assert sweep(engine, date(2026, 12, 1), clock.now) == 2  # overdue_1: borrower + guarantor
    sms = RecordingSender("sms")
    d = dispatcher(engine, clock, sms, RecordingSender("telegram"))
    assert (await d.run_once()).claimed == 0  # quiet hours until 08:00
    clock.now = local(2026, 12, 1, 8, 0)
    stats = await d.drain()
    assert stats.sent == 2 and stats.claimed == 2
    assert sorted(m.address for m in sms.sent) == ["+8613893100001", "+8613893100101"]
    # the counter-guarantor has no payroll employer on file: 反担保合同 wording, no wage threat
    assert {m.template for m in sms.sent} == {
        "overdue_notice_borrower_contract",
        "overdue_notice_guarantor_contract",
    }
    assert all(m.kind == "notification" and m.notice_id for m in sms.sent)
    for r in rows(engine):
        assert r.status == "sent" and r.attempts == 1 and r.locked_until is None
        assert r.provider_id and r.provider_id.startswith("sms-") and r.sent_at == clock.now
    assert (await d.drain()).claimed == 0  # nothing twice
    assert sweep(engine, date(2026, 12, 1), clock.now) == 0


async def test_not_before_send_after_and_only_channels_with_a_sender(engine: Engine) -> None:
    with session_scope(engine) as s:
        for key, channel, address, text, hour in (
            ("a", "sms", "+8613800000001", "x", 12),
            ("b", "terminal", "local", "y", 9),
        ):
            when = local(2026, 12, 1, hour)
            enqueue(
                s,
                key=key,
                kind="relay",
                channel=channel,
                address=address,
                text=text,
                send_after=when,
            )
    clock = Clock(local(2026, 12, 1, 11))
    sms = RecordingSender("sms")
    d = dispatcher(engine, clock, sms)
    assert (await d.drain()).claimed == 0
    clock.now = local(2026, 12, 1, 12)
    assert (await d.drain()).sent == 1
    assert [r.status for r in rows(engine)] == ["sent", "pending"]


# --- re-checks just before sending ---------------------------------------------------------------


async def test_payment_between_queueing_and_sending_cancels_the_notice(engine: Engine) -> None:
    inst = make_loan(engine, date(2026, 11, 30))
    clock = Clock(local(2026, 12, 1, 9))
    sweep(engine, date(2026, 12, 1), clock.now)
    sms = RecordingSender("sms")
    d = dispatcher(engine, clock, sms)
    claimed = d.claim()
    assert len(claimed) == 2
    # the payment commits after the claim (the import ran meanwhile, without cancelling)
    with session_scope(engine) as s:
        row = s.get(InstallmentRow, inst)
        assert row is not None
        row.paid, row.paid_fen = True, row.principal_fen
        s.add(row)
    ready, outcomes = d.recheck(claimed)
    assert ready == [] and {o.status for o in outcomes} == {"cancelled"}
    d.record(outcomes)
    assert sms.sent == []
    assert [(r.status, r.last_error) for r in rows(engine)] == [
        ("cancelled", "该期已还清或贷款已结清，取消发送")
    ] * 2


async def test_expired_notice_is_cancelled_not_sent_late(engine: Engine) -> None:
    make_loan(engine, date(2026, 12, 8))
    sweep(engine, date(2026, 12, 1), local(2026, 12, 1, 9))  # before_7, caught up until 12.4
    clock = Clock(local(2026, 12, 5, 9))  # the dispatcher was down for four days
    sms = RecordingSender("sms")
    stats = await dispatcher(engine, clock, sms).drain()
    assert stats.cancelled == 1 and sms.sent == []
    assert rows(engine)[0].last_error == "通知已过期，取消发送"


async def test_unreachable_recipient_is_cancelled(engine: Engine) -> None:
    make_loan(engine, date(2026, 12, 8))
    clock = Clock(local(2026, 12, 1, 9))
    sweep(engine, date(2026, 12, 1), clock.now)
    with session_scope(engine) as s:
        s.add(ChannelIdentityRow(channel="sms", address="+8613893100001", unreachable=True))
    sms = RecordingSender("sms")
    assert (await dispatcher(engine, clock, sms).drain()).cancelled == 1
    assert sms.sent == []


async def test_broadcast_to_an_opted_out_number_is_cancelled(engine: Engine) -> None:
    relay(engine, 2, kind="broadcast")
    with session_scope(engine) as s:
        s.add(ChannelIdentityRow(channel="sms", address="+8613800000001", opted_out=True))
    sms = RecordingSender("sms")
    stats = await dispatcher(engine, Clock(local(2026, 12, 1, 10)), sms).drain()
    assert stats.sent == 1 and stats.cancelled == 1
    assert [m.kind for m in sms.sent] == ["broadcast"]


async def test_quiet_hours_defer_without_spending_an_attempt(engine: Engine) -> None:
    make_loan(engine, date(2026, 12, 8))
    sweep(engine, date(2026, 12, 1), local(2026, 12, 1, 9))
    clock = Clock(local(2026, 12, 1, 20, 59))
    sms = RecordingSender("sms")
    d = dispatcher(engine, clock, sms)
    claimed = d.claim()
    assert len(claimed) == 1
    clock.now = local(2026, 12, 1, 21, 1)  # quiet hours began while it was claimed
    ready, outcomes = d.recheck(claimed)
    assert ready == []
    assert d.record(outcomes).deferred == 1
    row = rows(engine)[0]
    assert row.status == "pending" and row.attempts == 0
    assert row.send_after == local(2026, 12, 2, 8, 0)
    assert (await d.drain()).claimed == 0  # still quiet
    clock.now = local(2026, 12, 2, 8, 0)
    assert (await d.drain()).sent == 1


async def test_staff_replies_are_not_held_by_quiet_hours(engine: Engine) -> None:
    relay(engine, 1)
    relay(engine, 1, kind="review")
    sms = RecordingSender("sms")
    stats = await dispatcher(engine, Clock(local(2026, 12, 1, 23)), sms).drain()
    assert stats.sent == 1 and [m.kind for m in sms.sent] == ["reply"]


# --- failures --------------------------------------------------------------------------------------


async def test_temporary_errors_back_off_exponentially_then_fail(engine: Engine) -> None:
    relay(engine, 1)
    temp = SendResult(ok=False, temporary=True, error="503")
    sms = RecordingSender("sms", [temp, temp, temp])
    clock = Clock(local(2026, 12, 1, 10))
    d = dispatcher(engine, clock, sms, max_attempts=3, backoff_base_seconds=30)
    assert (await d.drain()).retried == 1
    row = rows(engine)[0]
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "503")
    assert row.send_after == clock.now + timedelta(seconds=30)
    clock.advance(29)
    assert (await d.drain()).claimed == 0
    clock.advance(1)
    assert (await d.drain()).retried == 1
    assert rows(engine)[0].send_after == clock.now + timedelta(seconds=60)
    clock.advance(60)
    assert (await d.drain()).failed == 1
    row = rows(engine)[0]
    assert (row.status, row.attempts) == ("failed", 3)
    with Session(engine) as s:
        assert notice_counts(s) == {"failed": 1}
        assert row.id is not None
        assert [r.id for r in list_notices(s, "failed")] == [row.id]
        assert requeue_notices(s, [row.id], clock.now) == 1
        s.commit()
    assert (await d.drain()).sent == 1


async def test_retry_after_from_the_provider_wins_over_backoff(engine: Engine) -> None:
    relay(engine, 1)
    sms = RecordingSender("sms", [SendResult(ok=False, temporary=True, retry_after=600)])
    clock = Clock(local(2026, 12, 1, 10))
    await dispatcher(engine, clock, sms).drain()
    assert rows(engine)[0].send_after == clock.now + timedelta(seconds=600)


async def test_a_sender_exception_is_a_temporary_error(engine: Engine) -> None:
    relay(engine, 1)
    sms = RecordingSender("sms", [ConnectionError("reset")])
    stats = await dispatcher(engine, Clock(local(2026, 12, 1, 10)), sms).drain()
    assert stats.retried == 1 and "ConnectionError" in (rows(engine)[0].last_error or "")


async def test_permanent_error_fails_at_once(engine: Engine) -> None:
    relay(engine, 1)
    sms = RecordingSender("sms", [SendResult(ok=False, error="template rejected")])
    assert (await dispatcher(engine, Clock(local(2026, 12, 1, 10)), sms).drain()).failed == 1
    assert rows(engine)[0].status == "failed"


async def test_unreachable_address_is_marked_and_later_sweeps_skip_it(engine: Engine) -> None:
    make_loan(engine, date(2026, 12, 8))
    clock = Clock(local(2026, 12, 1, 9))
    sweep(engine, date(2026, 12, 1), clock.now)
    sms = RecordingSender("sms", [SendResult(ok=False, unreachable=True, error="21211 invalid")])
    assert (await dispatcher(engine, clock, sms).drain()).unreachable == 1
    assert rows(engine)[0].status == "failed"
    with Session(engine) as s:
        ident = s.exec(select(ChannelIdentityRow)).one()
    assert (ident.channel, ident.address, ident.unreachable) == ("sms", "+8613893100001", True)
    assert ident.unreachable_reason == "21211 invalid"
    sweep(engine, date(2026, 12, 5), local(2026, 12, 5, 9))  # T-3: nowhere to send
    assert [(r.rule, r.channel, r.status) for r in rows(engine)][-1] == (
        "before_3",
        "none",
        "failed",
    )


# --- the crash window -------------------------------------------------------------------------------


async def test_crash_between_claim_and_send_at_least_once(engine: Engine) -> None:
    make_loan(engine, date(2026, 11, 30))
    clock = Clock(local(2026, 12, 1, 9))
    sweep(engine, date(2026, 12, 1), clock.now)
    dying = dispatcher(engine, clock, RecordingSender("sms"))
    assert len(dying.claim()) == 2  # ... and the process is killed here, before sending
    del dying
    sms = RecordingSender("sms")
    d = dispatcher(engine, clock, sms)
    assert (await d.drain()).claimed == 0  # leased: nobody else takes them
    assert {r.status for r in rows(engine)} == {"sending"}
    clock.advance(61)  # the lease (60 s) runs out
    stats = await d.drain()
    assert stats.requeued == 2 and stats.sent == 2
    assert len(sms.sent) == 2 and len({m.notice_id for m in sms.sent}) == 2
    assert [(r.status, r.attempts) for r in rows(engine)] == [("sent", 2)] * 2


async def test_crash_for_an_at_most_once_kind_is_never_resent(engine: Engine) -> None:
    relay(engine, 3, kind="broadcast")
    clock = Clock(local(2026, 12, 1, 10))
    assert len(dispatcher(engine, clock, RecordingSender("sms")).claim()) == 3  # then dies
    clock.advance(61)
    sms = RecordingSender("sms")
    stats = await dispatcher(engine, clock, sms).drain()
    assert stats.in_doubt == 3 and stats.sent == 0 and sms.sent == []
    assert {(r.status, r.last_error) for r in rows(engine)} == {("failed", ERR_IN_DOUBT)}


async def test_too_many_crashes_end_in_failed(engine: Engine) -> None:
    relay(engine, 1)
    clock = Clock(local(2026, 12, 1, 10))
    for _ in range(2):
        d = dispatcher(engine, clock, RecordingSender("sms"), max_attempts=2)
        assert len(d.claim()) == 1
        clock.advance(61)
        d.reclaim_expired()
    assert rows(engine)[0].status == "failed"


async def test_a_slow_dispatcher_that_lost_its_lease_does_not_overwrite(engine: Engine) -> None:
    relay(engine, 1)
    clock = Clock(local(2026, 12, 1, 10))
    slow = dispatcher(engine, clock, RecordingSender("sms"))
    claimed = slow.claim()
    clock.advance(61)
    fast_sender = RecordingSender("sms", [SendResult(ok=True, provider_id="fast")])
    assert (await dispatcher(engine, clock, fast_sender).drain()).sent == 1
    outcomes = await slow.send(claimed)  # the slow one finally sends (a duplicate) ...
    assert slow.record(outcomes).lost_lease == 1  # ... but cannot overwrite the record
    assert rows(engine)[0].provider_id == "fast"


# --- several dispatchers ------------------------------------------------------------------------------


async def test_concurrent_dispatchers_never_send_a_notice_twice(engine: Engine) -> None:
    relay(engine, 300)
    clock = Clock(local(2026, 12, 1, 10))
    senders = [RecordingSender("sms") for _ in range(3)]
    ds = [dispatcher(engine, clock, s, batch_size=20) for s in senders]
    await asyncio.gather(*(d.drain() for d in ds))
    ids = [m.notice_id for s in senders for m in s.sent]
    assert len(ids) == 300 and len(set(ids)) == 300
    if engine.dialect.name == "postgresql":
        assert all(s.sent for s in senders)  # SKIP LOCKED shares the work
    assert {r.status for r in rows(engine)} == {"sent"}


async def test_run_forever_stops_on_request(engine: Engine) -> None:
    relay(engine, 5, send_after=datetime.now(UTC))
    sms = RecordingSender("sms")
    d = Dispatcher(
        engine,
        {"sms": sms},
        quiet=QuietHours.parse("00:00", "00:00"),
        config=DispatchConfig(idle_seconds=0.05, lanes=2),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(d.run_forever(stop))
    await until(lambda: len(sms.sent) == 5)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(sms.sent) == 5 and d.totals.sent == 5


# --- the server's scheduler ------------------------------------------------------------------------


def test_scheduler_hooks_start_and_stop_the_dispatcher(db_url: str) -> None:
    from fastapi.testclient import TestClient

    from core.kernel.settings import Settings
    from server.app import create_app
    from server.bootstrap import Container
    from server.workers import install_scheduler

    container = Container(
        Settings(database_url=db_url, quiet_hours_start="00:00", quiet_hours_end="00:00")
    )
    relay(container.engine, 3, send_after=datetime.now(UTC))
    sms = RecordingSender("sms")
    try:
        app = create_app(container, migrate=False, background=False)
        work = install_scheduler(
            app, container, {"sms": sms}, dispatch_config=DispatchConfig(idle_seconds=0.05)
        )
        assert work is not None
        with TestClient(app):
            wait_until(lambda: len(sms.sent) == 3)
            assert work.scheduler is not None
            assert work.scheduler.get_job("reminder-sweep") is not None
        assert len(sms.sent) == 3 and work.scheduler is None
        disabled = Container(Settings(database_url=db_url, scheduler_enabled=False))
        assert (
            install_scheduler(create_app(disabled, migrate=False, background=False), disabled)
            is None
        )
    finally:
        container.engine.dispose()
