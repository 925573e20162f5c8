"""The reminder ladder (pure): month ends, 春节 and 国庆 with working-day rules, catch-up, quiet
hours, the policy file and the templates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import yaml

from core.kernel.quiet_hours import QuietHours
from core.kernel.settings import Settings
from core.kernel.timeutil import SHANGHAI
from core.kernel.workdays import WorkCalendar
from core.outbox.templates import load_templates
from core.reminders.ladder import (
    DEFAULT_POLICY_DIR,
    ReminderPolicy,
    ReminderPolicyError,
    due_dates_in_play,
    fires_on,
    load_reminder_policy,
    mask_loan_no,
    parse_reminder_policy,
    rules_due,
    validate_order,
)

CAL = WorkCalendar()
POLICY = load_reminder_policy()


def due_ids(
    due_on: date, today: date, policy: ReminderPolicy = POLICY, last: bool = False
) -> set[str]:
    return {d.rule.id for d in rules_due(policy, due_on, today, CAL, is_last=last)}


def rule(id: str, offset: int, unit: str = "calendar", **extra: Any) -> dict[str, Any]:
    kind = "reminder" if offset <= 0 else "overdue"
    return {
        "id": id,
        "kind": kind,
        "offset": offset,
        "unit": unit,
        "recipients": {"borrower": "repay_reminder"},
        **extra,
    }


WORKDAY_POLICY = parse_reminder_policy(
    {
        "type": "reminders",
        "name": "workdays-test",
        "rules": [
            rule("before_3", -3, "workdays", group="before", catch_up_days=1),
            rule("before_1", -1, "workdays", group="before"),
            rule("due_day", 0, group="before"),
            rule("overdue_1", 1, "workdays", catch_up_days=2),
        ],
    },
    "workdays-test",
)


# --- the policy file -----------------------------------------------------------------------


def test_default_policy_has_the_yichun_ladder_with_sources() -> None:
    ids = [r.id for r in POLICY.rules]
    assert ids[:4] == ["before_7", "before_3", "before_1", "due_day"]
    assert {"maturity_30", "overdue_1", "overdue_7", "wage_deduction_30"} <= set(ids)
    first = POLICY.rule("overdue_1")
    assert set(first.roles) == {"borrower", "counter_guarantor"}
    assert first.also_sms and first.kind == "overdue"
    wage = POLICY.rule("wage_deduction_30")
    assert set(wage.roles) == {"counter_guarantor", "employer"}
    # one month after the 催收通知书 was actually sent (宜春 二(四)), not 30 days after the due date
    assert (wage.after_rule, wage.after_months) == ("overdue_1", 1)
    assert wage not in POLICY.dated_rules
    assert dict(wage.contract_recipients) == {"counter_guarantor": "guarantor_liability_notice"}
    assert POLICY.wage_deduction is True  # on in the 宜春-style default ladder
    assert POLICY.rule("overdue_7").requires == "overdue_1"
    for r in POLICY.rules:
        assert r.source, r.id
        if r.kind == "overdue":
            assert "宜春调研报告 二(四)" in r.source
    assert POLICY.rule("maturity_30").only_last
    assert POLICY.sweep_at == time(7, 0)


def test_policy_file_is_skipped_by_the_loan_policy_loader() -> None:
    data = yaml.safe_load((DEFAULT_POLICY_DIR / "reminders-default.yaml").read_text("utf-8"))
    assert data["type"] == "reminders"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"rules": [rule("x", 2) | {"kind": "reminder"}]}, "on or before"),
        ({"rules": [rule("x", -2) | {"kind": "overdue"}]}, "after the due date"),
        ({"rules": [rule("x", -2) | {"recipients": {"neighbour": "t"}}]}, "role"),
        ({"rules": [rule("x", -2) | {"unit": "fortnights"}]}, "unit"),
        ({"rules": [rule("x", -2), rule("x", -1)]}, "duplicate"),
        ({"rules": []}, "no rules"),
        ({"rules": [rule("x", 1) | {"kind": "overdue", "after": {"rule": "y"}}]}, "earlier rule"),
        (
            {"rules": [rule("y", 1) | {"kind": "overdue", "requires": {"rule": "z"}}]},
            "earlier rule",
        ),
        ({"type": "policy", "rules": [rule("x", -1)]}, "not a reminder policy"),
    ],
)
def test_policy_validation(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ReminderPolicyError, match=message):
        parse_reminder_policy(bad, "bad")


def test_every_template_of_the_ladder_exists_and_fits_two_sms_segments() -> None:
    templates = load_templates()
    signature = Settings().sms_signature
    long_params = {
        "name": "兰州惠民餐饮有限公司",
        "borrower": "兰州惠民餐饮有限公司",
        "guarantor": "欧阳建国",
        "employer": "兰州市城关区人民医院",
        "loan_no": mask_loan_no("LZ2026-000001"),
        "seq": 24,
        "amount": "1,500,000.00元",
        "due_date": "2026年12月31日",
        "bank": "中国农业银行兰州分行",
    }
    for r in POLICY.rules:
        for role, name in (*r.recipients, *r.contract_recipients):
            assert name in templates, (r.id, role, name)
            t = templates[name]
            sms = signature + t.render("sms", long_params)
            assert len(sms) <= 134, (name, len(sms), sms)
            text = t.render("telegram", long_params)
            for hint in ("拒收", "退订", "回复R"):
                assert hint not in sms and hint not in text
            assert "1,500,000.00元" in sms and "****0001" in sms
            if "due_date" in t.params:
                assert "2026年12月31日" in text


def test_overdue_template_is_the_collection_notice() -> None:
    templates = load_templates()
    params = {
        "name": "张建国",
        "borrower": "张建国",
        "loan_no": "****0001",
        "seq": 3,
        "amount": "3,333.33元",
        "due_date": "2026年12月1日",
        "bank": "兰州银行",
    }
    text = templates["overdue_notice_borrower"].render("telegram", params)
    assert text.startswith("《逾期贷款催收通知书》")
    assert "2026年12月1日" in text and "3,333.33元" in text and "兰州银行" in text
    assert "回复" in text  # how to ask
    guarantor = templates["overdue_notice_guarantor"].render("sms", params)
    assert "反担保" in guarantor and "工资" in guarantor


WAGE_WORDS = ("工资", "扣划", "工资发放单位")


def test_no_template_threatens_wage_deduction_where_it_cannot_apply() -> None:
    """Only the templates used where wage deduction applies (ladder enables it, the counter-
    guarantor has a payroll employer) name it; every contract variant and every other template
    (reminders, SMS replies, broadcasts) does not."""
    templates = load_templates()
    wage_templates = {
        name for r in POLICY.rules for _, name in r.recipients if r.contract_recipients
    }
    contract = {name for r in POLICY.rules for _, name in r.contract_recipients}
    assert contract and not (contract & wage_templates)
    for name, t in templates.items():
        for channel in ("telegram", "sms"):
            raw = getattr(t, channel, None) or ""
            if name in wage_templates:
                continue
            assert not any(w in raw for w in WAGE_WORDS), (name, channel)
    for name in contract:
        assert "反担保合同" in templates[name].telegram or "合同" in templates[name].telegram


def test_mask_loan_no() -> None:
    assert mask_loan_no("LZ2026-0001") == "****0001"
    assert "LZ2026" not in mask_loan_no("LZ2026-0001")


# --- the ladder: calendar days ---------------------------------------------------------------


def test_calendar_ladder_over_a_month_end() -> None:
    due = date(2026, 3, 1)  # Sunday; February has 28 days
    assert fires_on(POLICY.rule("before_7"), due, CAL) == date(2026, 2, 22)
    assert fires_on(POLICY.rule("before_3"), due, CAL) == date(2026, 2, 26)
    assert fires_on(POLICY.rule("before_1"), due, CAL) == date(2026, 2, 28)
    assert due_ids(due, date(2026, 2, 28)) == {"before_1"}
    assert due_ids(due, date(2026, 3, 1)) == {"due_day"}
    assert due_ids(due, date(2026, 3, 2)) == {"overdue_1"}  # Monday, a working day
    # 31 December -> the ladder crosses the year end
    due = date(2026, 12, 31)
    assert due_ids(due, date(2026, 12, 24)) == {"before_7"}
    # 2027 has no official arrangement yet: the estimate still knows 元旦 (Friday 1 January)
    assert fires_on(POLICY.rule("overdue_1"), due, CAL) == date(2027, 1, 4)


def test_each_rule_fires_once_per_day_sequence_when_the_sweep_runs_daily() -> None:
    due = date(2026, 6, 15)
    fired: list[tuple[date, str]] = []
    seen: set[str] = set()
    day = due - timedelta(days=40)
    while day <= due + timedelta(days=60):
        for rid in sorted(due_ids(due, day, last=True)):
            if rid not in seen:
                seen.add(rid)
                fired.append((day, rid))
        day += timedelta(days=1)
    assert [r for _, r in fired] == [
        "maturity_30",
        "before_7",
        "before_3",
        "before_1",
        "due_day",
        "overdue_1",
        "overdue_7",
    ]  # the wage-deduction notice is not dated from the due date (see test_sweep)
    assert dict((r, d) for d, r in fired)["overdue_1"] == date(2026, 6, 16)


def test_maturity_reminder_only_for_the_last_instalment() -> None:
    due = date(2026, 12, 1)
    assert due_ids(due, date(2026, 11, 1), last=True) == {"maturity_30"}
    assert due_ids(due, date(2026, 11, 1), last=False) == set()


# --- 春节 and 国庆 with working-day rules -----------------------------------------------------


def test_overdue_notice_waits_for_the_first_working_day_after_spring_festival() -> None:
    due = date(2026, 2, 14)  # Saturday, a 调休 working day just before 春节 (2.15–2.23)
    for day in (date(2026, 2, 15), date(2026, 2, 19), date(2026, 2, 23)):
        assert due_ids(due, day) == set(), day
    assert due_ids(due, date(2026, 2, 24)) == {"overdue_1"}
    # the second notice counts working days too: 7 working days after 2.14
    assert fires_on(POLICY.rule("overdue_7"), due, CAL) == date(2026, 3, 3)


def test_due_on_friday_before_a_makeup_saturday() -> None:
    # 2026-02-13 is a Friday; the next working day is the 调休 Saturday 2026-02-14
    assert fires_on(POLICY.rule("overdue_1"), date(2026, 2, 13), CAL) == date(2026, 2, 14)


def test_national_day_holiday_pushes_the_overdue_notice_to_october_8() -> None:
    due = date(2026, 9, 30)
    assert fires_on(POLICY.rule("overdue_1"), due, CAL) == date(2026, 10, 8)
    for offset in range(1, 8):
        assert due_ids(due, date(2026, 10, offset)) == set()
    assert due_ids(due, date(2026, 10, 8)) == {"overdue_1"}
    # an instalment due on the holiday itself: same first working day
    assert fires_on(POLICY.rule("overdue_1"), date(2026, 10, 3), CAL) == date(2026, 10, 8)


def test_working_day_reminders_before_a_due_date_after_a_long_holiday() -> None:
    due = date(2026, 2, 24)  # first working day after 春节
    before_3 = WORKDAY_POLICY.rule("before_3")
    before_1 = WORKDAY_POLICY.rule("before_1")
    # working days before 2.24: 2.14 (调休 Saturday), 2.13, 2.12
    assert fires_on(before_1, due, CAL) == date(2026, 2, 14)
    assert fires_on(before_3, due, CAL) == date(2026, 2, 12)
    assert due_ids(due, date(2026, 2, 12), WORKDAY_POLICY) == {"before_3"}
    assert due_ids(due, date(2026, 2, 14), WORKDAY_POLICY) == {"before_1"}
    # nothing during the holiday: T-1 has no catch-up days
    assert due_ids(due, date(2026, 2, 16), WORKDAY_POLICY) == set()
    # after 国庆: T-1 working day of 10.8 is 9.30
    assert fires_on(before_1, date(2026, 10, 8), CAL) == date(2026, 9, 30)


def test_overdue_steps_never_fire_out_of_order() -> None:
    days = [date(2025, 12, 1) + timedelta(days=i) for i in range(800)]  # 2026 and 2027
    assert validate_order(POLICY, CAL, days) == []


# --- catch-up of a missed day -----------------------------------------------------------------


def test_missed_day_is_caught_up_only_while_meaningful() -> None:
    due = date(2026, 12, 10)
    # T-7 (12.3) missed: still sent on 12.4–12.6, replaced by T-3 from 12.7
    assert due_ids(due, date(2026, 12, 5)) == {"before_7"}
    assert due_ids(due, date(2026, 12, 7)) == {"before_3"}
    # T-3 (12.7) missed: caught up on 12.8, but on 12.9 T-1 is due instead
    assert due_ids(due, date(2026, 12, 8)) == {"before_3"}
    assert due_ids(due, date(2026, 12, 9)) == {"before_1"}
    # never a before-due reminder on or after the due date
    assert due_ids(due, date(2026, 12, 10)) == {"due_day"}
    # the overdue notice (12.11) is caught up for five days, then it is too late
    assert due_ids(due, date(2026, 12, 14)) == {"overdue_1"}
    assert "overdue_1" not in due_ids(due, date(2026, 12, 17))


def test_no_before_due_reminder_after_the_due_date_even_with_long_catch_up() -> None:
    policy = parse_reminder_policy(
        {"rules": [rule("before_3", -3, catch_up_days=30), rule("overdue_1", 1)]}, "t"
    )
    due = date(2026, 12, 10)
    assert due_ids(due, date(2026, 12, 9), policy) == {"before_3"}
    assert due_ids(due, date(2026, 12, 10), policy) == set()
    assert due_ids(due, date(2026, 12, 11), policy) == {"overdue_1"}


def test_due_dates_in_play_cover_exactly_the_dates_with_a_due_rule() -> None:
    today = date(2026, 12, 1)
    dates = set(due_dates_in_play(POLICY, today, CAL))
    for delta in range(-120, 121):
        d = today + timedelta(days=delta)
        assert (d in dates) == bool(due_ids(d, today, last=True)), d
    assert date(2026, 12, 8) in dates  # T-7
    assert date(2026, 12, 1) in dates  # due today
    assert date(2026, 12, 31) in dates  # maturity in 30 days
    assert date(2026, 12, 15) not in dates


# --- quiet hours --------------------------------------------------------------------------------


def local(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI).astimezone(UTC)


def test_quiet_hours_wrap_midnight() -> None:
    q = QuietHours.parse("21:00", "08:00")
    assert not q.contains(local(2026, 12, 1, 20, 59))
    assert q.contains(local(2026, 12, 1, 21, 0))
    assert q.contains(local(2026, 12, 2, 7, 59))
    assert not q.contains(local(2026, 12, 2, 8, 0))
    assert q.next_allowed(local(2026, 12, 1, 22, 30)) == local(2026, 12, 2, 8, 0)
    assert q.next_allowed(local(2026, 12, 2, 3, 0)) == local(2026, 12, 2, 8, 0)
    noon = local(2026, 12, 2, 12, 0)
    assert q.next_allowed(noon) == noon
    day = QuietHours.parse("12:00", "14:00")
    assert day.contains(local(2026, 12, 2, 13, 0)) and not day.contains(local(2026, 12, 2, 15, 0))
    assert not QuietHours.parse("00:00", "00:00").contains(noon)
