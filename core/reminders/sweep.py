"""The daily reminder sweep: the ladder applied to the unpaid instalments due in a date window.

- It reads only the unpaid instalments whose due date is one for which some rule is due today
  (`due_dates_in_play`), through the index (paid, due_on): its cost grows with what is due, not
  with the number of loans.
- Each notice has a unique key (loan, instalment, rule, recipient[, channel for the SMS copy of
  overdue notices]); notices are inserted with `core.outbox.enqueue.enqueue_many` (ON CONFLICT DO NOTHING)
  in the sweep's own transaction, so running the sweep twice, or two sweepers at once, never
  creates a second notice. On PostgreSQL a transaction-level advisory lock lets only one sweeper
  work at a time (the others return `skipped`).
- Channel: Telegram or WeChat when the person linked a verified chat (the newest), otherwise
  SMS; overdue rules (`also_sms`) always go by SMS as well. Employer contacts get SMS only. A landline (0931-…) never
  receives SMS: such a recipient gets a `failed` notice naming the number for staff to call.
- Wage deduction (宜春 二(四)) is told only where it applies (core.reminders.ladder): the ladder enables
  it and the counter-guarantor has a recorded payroll employer; others get the rule's `contract`
  templates. `after:` rules (the wage-deduction notice) fire a month after the 催收 notice was
  actually sent to that counter-guarantor; `requires:` rules send the required (first) notice
  instead when it never went out. Opted-out numbers still
  get these notices: they concern the recipient's own loan obligations (opt-out covers
  broadcasts). A recipient with no usable address gets a `failed` notice on channel `none`, so
  staff see who must be told another way.
- Quiet hours (Asia/Shanghai) defer `send_after`; `expires_at` is the end of the rule's last
  meaningful day, after which the dispatcher cancels the notice instead of sending it late.
"""

from __future__ import annotations

import logging
import socket
import time as _time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from core.kernel.identity import e164_or_none, is_mobile
from core.kernel.money import format_yuan
from core.kernel.quiet_hours import QuietHours
from core.kernel.timeutil import format_date_cn, local_today, to_local, utcnow
from core.outbox.enqueue import enqueue_many
from core.outbox.senders import CHAT_CHANNELS
from core.outbox.templates import render
from core.persistence.db import session_scope
from core.persistence.models import (
    NoticeRow,
)
from core.persistence.models_reminders import SweepRunRow
from core.persistence.sql import chunks as _chunks
from core.persistence.sql import in_ as _in
from core.persistence.sql import table as _table
from core.reminders.escalation import after_rule_work, apply_requires
from core.reminders.ladder import (
    DueRule,
    ReminderPolicy,
    WorkdayCalendar,
    due_dates_in_play,
    local_day_end,
    local_day_start,
    mask_loan_no,
    rules_due,
)
from core.reminders.reads import (
    Candidate,
    counter_guarantors,
    last_seq,
    linked_chats,
    load_candidates,
    query_candidates,
    sms_identities,
)

log = logging.getLogger(__name__)

SWEEP_LOCK_KEY = 0x63647273  # "cdrs": pg advisory lock of the reminder sweep
LOAN_NOTICE_KINDS = ("reminder", "overdue")
NO_ADDRESS_ERROR = "无可用联系方式（未绑定Telegram且无有效手机号），请工作人员另行通知"
LANDLINE_ERROR = "只登记了固定电话{phone}，不能接收短信，请工作人员电话通知"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PlannedNotice:
    """One notice the sweep wants in the outbox."""

    key: str
    kind: str
    rule: str
    loan_id: int
    loan_no: str
    installment_id: int
    installment_seq: int
    recipient_role: str  # borrower | counter_guarantor | employer
    person_id: int | None
    identity_id: int | None
    channel: str  # telegram | sms | none
    address: str
    template: str
    params: dict[str, Any]
    text: str
    send_after: datetime
    expires_at: datetime
    error: str = NO_ADDRESS_ERROR  # why a `none` notice could not be sent

    def with_times(self, send_after: datetime, expires_at: datetime) -> PlannedNotice:
        return replace(self, send_after=send_after, expires_at=expires_at)

    def to_json(self) -> dict[str, Any]:
        """The `reminders run --dry-run --json` line (a public contract)."""
        return {
            "loan_no": self.loan_no,
            "installment_seq": self.installment_seq,
            "rule": self.rule,
            "recipient_role": self.recipient_role,
            "channel": self.channel,
            "to": self.address,
            "send_after": to_local(self.send_after).isoformat(),
            "text": self.text,
        }

    def to_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "key": self.key,
            "kind": self.kind,
            "loan_id": self.loan_id,
            "installment_id": self.installment_id,
            "person_id": self.person_id,
            "identity_id": self.identity_id,
            "rule": self.rule,
            "recipient_role": self.recipient_role,
            "channel": self.channel,
            "address": self.address,
            "template": self.template,
            "params": self.params,
            "text": self.text,
            "send_after": self.send_after,
            "expires_at": self.expires_at,
        }
        # Every row carries the same keys: an executemany takes its columns from the first row.
        failed = self.channel == "none"
        row["status"] = "failed" if failed else "pending"
        row["last_error"] = self.error if failed else None
        return row


@dataclass
class SweepResult:
    day: date
    policy: str
    candidates: int = 0  # unpaid instalments read
    planned: int = 0  # notices computed (including `none`)
    created: int = 0  # newly inserted
    no_address: int = 0  # recipients with no usable address
    skipped: bool = False  # another sweeper held the lock
    duration_ms: int = 0
    notices: list[PlannedNotice] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "policy": self.policy,
            "candidates": self.candidates,
            "planned": self.planned,
            "created": self.created,
            "no_address": self.no_address,
            "skipped": self.skipped,
            "duration_ms": self.duration_ms,
        }


@dataclass(frozen=True)
class _Recipient:
    role: str
    ref: str  # part of the notice key
    person_id: int | None
    name: str
    phone: str | None
    extra: tuple[tuple[str, str], ...] = ()
    wage: bool = False  # wage deduction applies to what this recipient is told


def _due_work(
    session: Session, policy: ReminderPolicy, calendar: WorkdayCalendar, today: date
) -> tuple[list[tuple[Candidate, list[DueRule], frozenset[int] | None]], int]:
    """Each instalment with the rules due for it today (and, for `after:` rules, the
    counter-guarantors concerned), and the number of instalments read."""
    by_date: dict[tuple[date, bool], list[DueRule]] = {}

    def due(d: date, is_last: bool) -> list[DueRule]:
        k = (d, is_last)
        if k not in by_date:
            by_date[k] = rules_due(policy, d, today, calendar, is_last=is_last)
        return by_date[k]

    dates = due_dates_in_play(policy, today, calendar)
    every = [d for d in dates if due(d, False)]
    last_only = [d for d in dates if not due(d, False)]
    candidates = load_candidates(session, every, last_only)

    # Only instalments where a last-instalment rule would fire need to know whether they are last.
    need_last = {
        c.loan_id for c in candidates if len(due(c.due_on, True)) > len(due(c.due_on, False))
    }
    last_seqs = last_seq(session, need_last) if need_last else {}

    work: list[tuple[Candidate, list[DueRule], frozenset[int] | None]] = []
    for c in candidates:
        rules = due(c.due_on, last_seqs.get(c.loan_id) == c.seq)
        if rules:
            work.append((c, rules, None))
    work = apply_requires(session, policy, work, today)
    after_work = after_rule_work(
        session, policy, today, lambda ids: query_candidates(session, (), False, ids=ids)
    )
    work.extend(after_work)
    return work, len(candidates) + len(after_work)


def plan_notices(
    session: Session,
    policy: ReminderPolicy,
    calendar: WorkdayCalendar,
    today: date,
    *,
    now: datetime | None = None,
    quiet: QuietHours | None = None,
) -> tuple[list[PlannedNotice], int]:
    """The notices due on `today` (local day) and the number of instalments read. Writes nothing."""
    now = now or utcnow()
    quiet = quiet or QuietHours()
    work, read = _due_work(session, policy, calendar, today)
    if not work:
        return [], read
    guarantor_loans = {
        c.loan_id
        for c, rules, _ in work
        if any(
            role in ("counter_guarantor", "employer") or d.rule.contract_recipients
            for d in rules
            for role in d.rule.roles
        )
    }
    guarantors = counter_guarantors(session, guarantor_loans) if guarantor_loans else {}

    person_ids: set[int] = {c.borrower_id for c, _, _ in work}
    for rows in guarantors.values():
        person_ids.update(int(r.person_id) for r in rows)
    chats = linked_chats(session, person_ids)
    phones: dict[str | None, str | None] = {}

    def phone_of(raw: str | None) -> str | None:
        if raw not in phones:
            phones[raw] = e164_or_none(raw)
        return phones[raw]

    all_phones = {phone_of(c.borrower_phone) for c, _, _ in work}
    for rows in guarantors.values():
        for r in rows:
            all_phones.add(phone_of(r.phone))
            all_phones.add(phone_of(r.employer_contact_phone))
    sms_ids = sms_identities(session, [p for p in all_phones if p and is_mobile(p)])

    send_after = quiet.next_allowed(max(now, local_day_start(today)))
    planned: list[PlannedNotice] = []
    for c, rules, only in work:
        base = {
            "loan_no": mask_loan_no(c.loan_no),
            "seq": c.seq,
            "amount": format_yuan(c.due_fen),
            "due_date": format_date_cn(c.due_on),
            "bank": c.bank or "经办银行",
            "borrower": c.borrower_name,
        }
        loan_guarantors = guarantors.get(c.loan_id, [])
        for d in rules:
            expires_at = local_day_end(d.last_day)
            for recipient in _recipients(
                c, d, loan_guarantors, phone_of, policy.wage_deduction, only
            ):
                template = d.rule.template_for(recipient.role, recipient.wage)
                if template is None:
                    continue  # e.g. no employer notice where wage deduction does not apply
                params = {**base, "name": recipient.name, **dict(recipient.extra)}
                for channel, address, identity_id in _channels(
                    recipient, d.rule.also_sms, chats, sms_ids
                ):
                    planned.append(
                        _notice(
                            c, d, recipient, template, params, (channel, address, identity_id)
                        ).with_times(send_after, expires_at)
                    )
    return planned, read


def _notice(
    c: Candidate,
    d: DueRule,
    recipient: _Recipient,
    template: str,
    params: dict[str, Any],
    via: tuple[str, str, int | None],
) -> PlannedNotice:
    """One notice of rule `d` for instalment `c` to `recipient` on one channel (times unset)."""
    channel, address, identity_id = via
    key = f"rem:{c.loan_id}:{c.installment_id}:{d.rule.id}:{recipient.ref}"
    return PlannedNotice(
        key=f"{key}:{channel}" if d.rule.also_sms or channel == "none" else key,
        kind=d.rule.kind,
        rule=d.rule.id,
        loan_id=c.loan_id,
        loan_no=c.loan_no,
        installment_id=c.installment_id,
        installment_seq=c.seq,
        recipient_role=recipient.role,
        person_id=recipient.person_id,
        identity_id=identity_id,
        channel=channel,
        address=address,
        template=template,
        params=params,
        text=render(template, channel if channel in CHAT_CHANNELS else "sms", params),
        send_after=_EPOCH,
        expires_at=_EPOCH,
        error=_no_address_error(recipient.phone),
    )


def _no_address_error(phone: str | None) -> str:
    if phone and not is_mobile(phone):
        return LANDLINE_ERROR.format(phone=phone)
    return NO_ADDRESS_ERROR


def _recipients(
    c: Candidate,
    d: DueRule,
    guarantors: list[Any],
    phone_of: Any,
    wage_enabled: bool = False,
    only: frozenset[int] | None = None,
) -> Iterator[_Recipient]:
    """The recipients of one rule; `only` limits counter-guarantors (and their employers) to
    those person ids. Wage deduction applies to a counter-guarantor with a payroll employer on
    file, when the ladder enables it; the borrower is told of it when it applies to one of them."""
    wage_any = wage_enabled and any(g.employer for g in guarantors)
    for role in d.rule.roles:
        if role == "borrower":
            yield _Recipient(
                role=role,
                ref=f"p{c.borrower_id}",
                person_id=c.borrower_id,
                name=c.borrower_name,
                phone=phone_of(c.borrower_phone),
                wage=wage_any,
            )
            continue
        for g in guarantors:
            if only is not None and int(g.person_id) not in only:
                continue
            wage = wage_enabled and bool(g.employer)
            if role == "counter_guarantor":
                yield _Recipient(
                    role=role,
                    ref=f"p{g.person_id}",
                    person_id=int(g.person_id),
                    name=str(g.name),
                    phone=phone_of(g.phone),
                    extra=(("employer", g.employer or "您的工资发放单位"),),
                    wage=wage,
                )
            elif role == "employer" and wage:
                yield _Recipient(
                    role=role,
                    ref=f"e{g.id}",
                    person_id=None,
                    name=g.employer_contact_name or "单位负责人",
                    phone=phone_of(g.employer_contact_phone),
                    extra=(("guarantor", str(g.name)), ("employer", g.employer or "贵单位")),
                    wage=True,
                )


def _channels(
    recipient: _Recipient,
    also_sms: bool,
    chats: dict[int, tuple[int, str, str]],
    sms_ids: dict[str, tuple[int, bool]],
) -> list[tuple[str, str, int | None]]:
    """(channel, address, identity id) for one recipient of one rule. A landline never gets SMS."""
    sms: tuple[str, str, int | None] | None = None
    if recipient.phone and is_mobile(recipient.phone):
        ident = sms_ids.get(recipient.phone)
        if ident is None or not ident[1]:
            sms = ("sms", recipient.phone, ident[0] if ident else None)
    chat = chats.get(recipient.person_id) if recipient.person_id is not None else None
    if recipient.role == "employer":
        chat = None
    out: list[tuple[str, str, int | None]] = []
    if chat is not None:
        out.append((chat[2], chat[1], chat[0]))
        if also_sms and sms is not None:
            out.append(sms)
    elif sms is not None:
        out.append(sms)
    else:
        out.append(("none", "", None))
    return out


def _acquire_lock(session: Session, wait: bool) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: one writer at a time anyway, and keys are unique
    fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    got = session.execute(sa.text(f"SELECT {fn}(:k)"), {"k": SWEEP_LOCK_KEY}).scalar()
    return True if wait else bool(got)


def run_sweep(
    engine: Engine,
    policy: ReminderPolicy,
    calendar: WorkdayCalendar,
    today: date | None = None,
    *,
    now: datetime | None = None,
    quiet: QuietHours | None = None,
    dry_run: bool = False,
    wait: bool = False,
    worker: str | None = None,
) -> SweepResult:
    """Compute the notices due on `today` (default: the local date now) and queue them.

    With `dry_run` nothing is written and `result.notices` holds what would be queued. On
    PostgreSQL, when another sweeper holds the lock, returns at once with `skipped=True` (or waits
    for it with `wait=True`, then finds the keys already there)."""
    now = now or utcnow()
    today = today or local_today(now)
    started = _time.perf_counter()
    result = SweepResult(day=today, policy=policy.name)
    with session_scope(engine) as session:
        if not dry_run and not _acquire_lock(session, wait):
            log.info("reminder sweep for %s skipped: another sweeper is running", today)
            result.skipped = True
            return result
        planned, result.candidates = plan_notices(
            session, policy, calendar, today, now=now, quiet=quiet
        )
        result.planned = len(planned)
        result.no_address = sum(1 for n in planned if n.channel == "none")
        if dry_run:
            result.notices = planned
            session.rollback()
            result.duration_ms = int((_time.perf_counter() - started) * 1000)
            return result
        stamp = utcnow()  # created_at of this sweep's rows: tells new rows from existing ones
        for chunk in _chunks(planned, 1000):
            # Most of a day's notices were queued by an earlier run (catch-up windows span
            # several days): skip them before the insert; ON CONFLICT covers any race.
            existing = _existing_keys(session, [n.key for n in chunk])
            rows = [
                {**n.to_row(), "created_at": stamp, "updated_at": stamp}
                for n in chunk
                if n.key not in existing
            ]
            if not rows:
                continue
            inserted = enqueue_many(session, rows)
            if inserted < 0:  # psycopg reports -1 for executemany INSERT … ON CONFLICT DO NOTHING
                inserted = _count_created(session, [r["key"] for r in rows], stamp)
            result.created += inserted
        result.duration_ms = int((_time.perf_counter() - started) * 1000)
        session.add(
            SweepRunRow(
                day=today,
                policy=policy.name,
                status="done",
                candidates=result.candidates,
                planned=result.planned,
                created=result.created,
                duration_ms=result.duration_ms,
                worker=worker or socket.gethostname()[:64],
                started_at=now,
                finished_at=utcnow(),
            )
        )
    log.info(
        "reminder sweep %s: %d instalments read, %d notices planned, %d new",
        today,
        result.candidates,
        result.planned,
        result.created,
    )
    return result


def _existing_keys(session: Session, keys: list[str]) -> set[str]:
    t = _table(NoticeRow)
    return set(session.execute(sa.select(t.c.key).where(_in(session, t.c.key, keys))).scalars())


def _count_created(session: Session, keys: list[str], stamp: datetime) -> int:
    t = _table(NoticeRow)
    stmt = sa.select(sa.func.count()).where(
        _in(session, t.c.key, keys),
        t.c.created_at == sa.bindparam("stamp", stamp, type_=t.c.created_at.type),
    )
    return int(session.execute(stmt).scalar() or 0)


def last_sweep_day(session: Session) -> date | None:
    """The latest day a sweep completed for (the scheduler's start-up catch-up looks here)."""
    t = _table(SweepRunRow)
    value: date | None = session.execute(
        sa.select(sa.func.max(t.c.day)).where(t.c.status == "done")
    ).scalar()
    return value


def cancel_notices_for_installments(
    session: Session | Connection, installment_ids: Iterable[int], reason: str = "该期已还清"
) -> int:
    """Cancel the queued (pending) loan notices of instalments a payment has just covered.

    Call it with the session or connection of the payment update, in the same transaction (the
    payments import does), so a paid instalment never keeps a queued reminder; pass the ids of
    the instalments that became fully paid (all of them on an early full repayment). Notices
    already claimed by a dispatcher are re-checked by it just before sending. Returns the number
    of notices cancelled."""
    ids = sorted({int(i) for i in installment_ids})
    if not ids:
        return 0
    t = _table(NoticeRow)
    return _update_loan_notices(
        session, ids, [t.c.status == "pending"], status="cancelled", last_error=reason
    )


def release_cancelled_notices(session: Session | Connection, installment_ids: Iterable[int]) -> int:
    """Free the keys of the cancelled loan notices of instalments that are unpaid again (a
    manual payment reversed, a loan's 结清/代偿/核销 undone): the cancelled rows stay as they are
    (nothing is resent silently), and the next sweep plans again whatever is then due."""
    ids = sorted({int(i) for i in installment_ids})
    t = _table(NoticeRow)
    return _update_loan_notices(
        session,
        ids,
        [t.c.status == "cancelled", t.c.key.not_like("%:void:%")],
        key=t.c.key + ":void:" + sa.cast(t.c.id, sa.String),
    )


def _update_loan_notices(
    session: Session | Connection, ids: list[int], where: list[Any], **values: Any
) -> int:
    """Set `values` (and updated_at) on the loan notices of instalments `ids` matching `where`;
    returns the number of rows changed."""
    t = _table(NoticeRow)
    total = 0
    now = utcnow()
    for chunk in _chunks(ids):
        stmt = (
            sa.update(t)
            .where(t.c.installment_id.in_(list(chunk)), t.c.kind.in_(LOAN_NOTICE_KINDS), *where)
            .values(**values, updated_at=now)
        )
        total += int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
    return total
