"""Escalation rules of the reminder ladder that depend on notices already sent (core.reminders.ladder).

- `requires:` (the second 催收 notice): fires only once a notice of the required rule exists for
  the instalment, at least `gap_days` earlier; with none (a loan imported already overdue), the
  required rule — the first notice — is sent instead.
- `after:` (the wage-deduction notice, 宜春 二(四)): fires `after_months` after the required notice
  was *actually sent* to a counter-guarantor, for instalments still unpaid, and only to those
  counter-guarantors; never when none was sent.

Used by core.reminders.sweep.plan_notices; reads only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from core.kernel.timeutil import to_local
from core.loans.schedule import add_months
from core.persistence.models import NoticeRow
from core.persistence.sql import chunks, in_, table
from core.reminders.ladder import DueRule, ReminderPolicy, local_day_end, local_day_start

SENT_STATUSES = ("sent", "delivered")
# (candidate instalment, rules due, counter-guarantor person ids it is limited to or None)
Work = tuple[Any, list[DueRule], frozenset[int] | None]


def notice_firsts(
    session: Session, rule_id: str, installment_ids: Sequence[int]
) -> dict[int, datetime]:
    """installment id -> the earliest `send_after` of a notice of `rule_id` for it (any status;
    `send_after` is on the local day of the sweep that queued it)."""
    n = table(NoticeRow)
    out: dict[int, datetime] = {}
    for chunk in chunks(sorted(set(installment_ids))):
        stmt = (
            sa.select(n.c.installment_id, sa.func.min(n.c.send_after))
            .where(n.c.rule == rule_id, in_(session, n.c.installment_id, chunk))
            .group_by(n.c.installment_id)
        )
        for iid, first in session.execute(stmt):
            out[int(iid)] = first
    return out


def apply_requires(
    session: Session,
    policy: ReminderPolicy,
    work: list[Work],
    today: date,
) -> list[Work]:
    """`requires:` rules: without a notice of the required rule for the instalment, send that
    rule instead (the first notice comes first); with one queued less than `gap_days` ago, wait."""
    needed = {d.rule.requires for _, rules, _ in work for d in rules if d.rule.requires}
    if not needed:
        return work
    ids = [c.installment_id for c, rules, _ in work if any(d.rule.requires for d in rules)]
    firsts = {rule_id: notice_firsts(session, rule_id, ids) for rule_id in needed if rule_id}
    out = []
    for c, rules, only in work:
        kept: list[DueRule] = []
        for d in rules:
            req = d.rule.requires
            if req is None:
                kept.append(d)
                continue
            first = firsts[req].get(c.installment_id)
            if first is None:
                if all(k.rule.id != req for k in kept):
                    kept.append(DueRule(policy.rule(req), d.fires_on, d.last_day))
            elif (today - to_local(first).date()).days >= d.rule.gap_days:
                kept.append(d)
        if kept:
            out.append((c, kept, only))
    return out


def after_rule_work(
    session: Session,
    policy: ReminderPolicy,
    today: date,
    load: Callable[[Sequence[int]], list[Any]],
) -> list[Work]:
    """`after:` rules due today: `after_months` after the required notice was actually sent to a
    counter-guarantor, for instalments still unpaid; only those counter-guarantors are told."""
    n = table(NoticeRow)
    out: list[Work] = []
    for rule in policy.rules:
        if rule.after_rule is None:
            continue
        latest = add_months(today, -rule.after_months)
        earliest = add_months(today - timedelta(days=rule.catch_up_days + 31), -rule.after_months)
        stmt = (
            sa.select(n.c.installment_id, n.c.person_id, sa.func.min(n.c.sent_at))
            .where(
                n.c.rule == rule.after_rule,
                n.c.recipient_role == "counter_guarantor",
                n.c.status.in_(SENT_STATUSES),
                n.c.sent_at.is_not(None),
                n.c.sent_at >= local_day_start(earliest),
                n.c.sent_at < local_day_end(latest),
            )
            .group_by(n.c.installment_id, n.c.person_id)
        )
        due_people: dict[int, tuple[set[int], date]] = {}
        for iid, pid, first_sent in session.execute(stmt):
            fires = add_months(to_local(first_sent).date(), rule.after_months)
            if fires <= today <= fires + timedelta(days=rule.catch_up_days):
                people, first = due_people.setdefault(int(iid), (set(), fires))
                people.add(int(pid))
                due_people[int(iid)] = (people, min(first, fires))
        if not due_people:
            continue
        for c in load(sorted(due_people)):
            people, fires = due_people[c.installment_id]
            last = fires + timedelta(days=rule.catch_up_days)
            out.append((c, [DueRule(rule, fires, last)], frozenset(people)))
    return out
