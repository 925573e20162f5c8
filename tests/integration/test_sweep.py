"""The reminder sweep on a real database: ladder notices, channels, idempotent reruns, payments,
quiet hours, the dry run and the CLI contract, two concurrent sweepers on PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from core.kernel.quiet_hours import QuietHours
from core.kernel.timeutil import SHANGHAI
from core.kernel.workdays import WorkCalendar
from core.persistence.db import session_scope
from core.persistence.models import (
    ChannelIdentityRow,
    CounterGuarantorRow,
    InstallmentRow,
    LoanRow,
    NoticeRow,
    PersonRow,
)
from core.persistence.models_reminders import SweepRunRow
from core.reminders.ladder import (
    DEFAULT_POLICY_DIR,
    load_reminder_policy,
    parse_reminder_policy,
)
from core.reminders.sweep import SweepResult, cancel_notices_for_installments, run_sweep
from tests.db_kit import add_guarantor, add_loan, add_person, link, run_together

CAL = WorkCalendar()
POLICY = load_reminder_policy()


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass
class Loan:
    id: int
    borrower_id: int
    installments: dict[date, int]  # due date -> installment id
    guarantor_ids: list[int]


_counter = iter(range(1, 10_000))


def make_loan(
    engine: Engine,
    dues: list[date],
    *,
    borrower: str = "张建国",
    phone: str | None = "+8613893100001",
    guarantors: int = 1,
    employer_phone: str | None = "+8613893100900",
    principal_fen: int = 333_333,
    status: str = "active",
) -> Loan:
    n = next(_counter)
    with session_scope(engine) as s:
        person = add_person(s, borrower, phone)
        loan_id, installment_ids = add_loan(
            s,
            f"LZ2026-{n:04d}",
            person,
            [(due, principal_fen) for due in dues],
            interest_fen=1200,
            disbursed_on=date(2025, 12, 1),
            status=status,
            bank="兰州银行",
        )
        g_ids = [
            add_guarantor(
                s,
                loan_id,
                f"李明{k or ''}",
                f"+86138931{n:03d}{k:02d}",
                employer="兰州市城关区第一小学",
                employer_contact_name="王会计",
                employer_contact_phone=employer_phone,
            )
            for k in range(guarantors)
        ]
        return Loan(loan_id, person, dict(zip(sorted(dues), installment_ids, strict=True)), g_ids)


def sweep(engine: Engine, today: date, **kw: object) -> SweepResult:
    now = kw.pop("now", None) or local(today.year, today.month, today.day)
    return run_sweep(engine, POLICY, CAL, today, now=now, quiet=QuietHours(), **kw)  # type: ignore[arg-type]


def notices(engine: Engine) -> list[NoticeRow]:
    with Session(engine) as s:
        return list(s.exec(select(NoticeRow).order_by(col(NoticeRow.id))))


def link_telegram(engine: Engine, person_id: int, chat: str = "555001") -> None:
    link(engine, "telegram", chat, person_id=person_id, verified=True)


@pytest.fixture
def today() -> date:
    return date(2026, 12, 1)  # a Tuesday


# --- what the sweep queues ---------------------------------------------------------------------


def test_sweep_queues_the_notices_of_the_day(engine: Engine, today: date) -> None:
    loan = make_loan(engine, [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 8)])
    result = sweep(engine, today)
    rows = notices(engine)
    got = sorted((r.rule, r.recipient_role, r.channel) for r in rows)
    assert got == [
        ("before_7", "borrower", "sms"),
        ("due_day", "borrower", "sms"),
        ("overdue_1", "borrower", "sms"),
        ("overdue_1", "counter_guarantor", "sms"),
    ]
    assert result.created == result.planned == 4
    assert result.candidates == 3
    by_rule = {(r.rule, r.recipient_role): r for r in rows}
    reminder = by_rule[("before_7", "borrower")]
    assert reminder.kind == "reminder" and reminder.status == "pending"
    assert reminder.address == "+8613893100001"
    assert reminder.installment_id == loan.installments[date(2026, 12, 8)]
    assert "3,333.33元" in reminder.text and "2026年12月8日" in reminder.text
    assert "兰州银行" in reminder.text and "LZ2026-" not in reminder.text
    assert reminder.template == "repay_reminder" and reminder.params["seq"] == 3
    overdue = by_rule[("overdue_1", "counter_guarantor")]
    assert overdue.kind == "overdue" and overdue.person_id == loan.guarantor_ids[0]
    assert overdue.text.startswith("逾期贷款催收通知书") and "张建国" in overdue.text
    assert reminder.send_after == local(2026, 12, 1)
    assert reminder.expires_at == local(2026, 12, 5, 0, 0)  # end of 12.4 (T-7 + 3 days)
    with Session(engine) as s:
        run = s.exec(select(SweepRunRow)).one()
    assert run.day == today and run.created == 4 and run.status == "done"


def test_telegram_when_linked_and_overdue_by_sms_as_well(engine: Engine, today: date) -> None:
    loan = make_loan(engine, [date(2026, 11, 30), date(2026, 12, 8)])
    link_telegram(engine, loan.borrower_id)
    sweep(engine, today)
    got = sorted((r.rule, r.recipient_role, r.channel, r.address) for r in notices(engine))
    assert got == [
        ("before_7", "borrower", "telegram", "555001"),
        ("overdue_1", "borrower", "sms", "+8613893100001"),
        ("overdue_1", "borrower", "telegram", "555001"),
        ("overdue_1", "counter_guarantor", "sms", got[3][3]),
    ]
    tg = next(r for r in notices(engine) if r.channel == "telegram" and r.rule == "overdue_1")
    assert tg.text.startswith("《逾期贷款催收通知书》")
    assert tg.identity_id is not None


def test_wechat_when_linked_with_the_chat_text(engine: Engine, today: date) -> None:
    loan = make_loan(engine, [date(2026, 12, 8)], guarantors=0)
    link(engine, "wechat", "oWx_borrower", person_id=loan.borrower_id, verified=True)
    sweep(engine, today)
    [notice] = notices(engine)
    assert (notice.channel, notice.address, notice.template) == (
        "wechat",
        "oWx_borrower",
        "repay_reminder",
    )
    assert "请直接回复本消息" in notice.text  # the chat wording, not the SMS one
    assert notice.identity_id is not None


def test_unverified_or_unreachable_chat_falls_back_to_sms(engine: Engine, today: date) -> None:
    loan = make_loan(engine, [date(2026, 12, 8)])
    link(engine, "telegram", "1", person_id=loan.borrower_id)
    link(engine, "telegram", "2", person_id=loan.borrower_id, verified=True, unreachable=True)
    sweep(engine, today)
    assert [r.channel for r in notices(engine)] == ["sms"]


def test_rerunning_the_sweep_creates_no_second_notice(engine: Engine, today: date) -> None:
    make_loan(engine, [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 8)], guarantors=2)
    first = sweep(engine, today)
    second = sweep(engine, today, now=local(2026, 12, 1, 15))
    assert first.created == 5 and second.created == 0 and second.planned == 5
    assert len(notices(engine)) == 5
    # linking Telegram later does not add a second reminder (the key has no channel) ...
    with Session(engine) as s:
        borrower_id = s.exec(select(LoanRow)).one().borrower_id
    link_telegram(engine, borrower_id)
    third = sweep(engine, today, now=local(2026, 12, 1, 16))
    assert [r.rule for r in notices(engine)[5:]] == ["overdue_1"]  # ... only the Telegram copy
    assert third.created == 1
    with Session(engine) as s:
        assert len(s.exec(select(SweepRunRow)).all()) == 3


def test_partial_payment_reminds_the_rest_and_paid_instalments_are_skipped(
    engine: Engine, today: date
) -> None:
    loan = make_loan(engine, [date(2026, 11, 30), date(2026, 12, 8)])
    with session_scope(engine) as s:
        overdue = s.get(InstallmentRow, loan.installments[date(2026, 11, 30)])
        upcoming = s.get(InstallmentRow, loan.installments[date(2026, 12, 8)])
        assert overdue and upcoming
        overdue.paid_fen = 333_333  # fully paid
        overdue.paid = True
        upcoming.paid_fen = 133_333  # partly paid in advance
        s.add_all([overdue, upcoming])
    sweep(engine, today)
    rows = notices(engine)
    assert [(r.rule, r.installment_id) for r in rows] == [
        ("before_7", loan.installments[date(2026, 12, 8)])
    ]
    assert "2,000.00元" in rows[0].text


def test_early_full_repayment_stops_every_notice(engine: Engine, today: date) -> None:
    make_loan(engine, [date(2026, 11, 30), date(2026, 12, 8)], status="closed")
    result = sweep(engine, today)
    assert result.planned == 0 and notices(engine) == []


def test_payment_after_the_overdue_notice_was_queued_cancels_it(
    engine: Engine, today: date
) -> None:
    loan = make_loan(engine, [date(2026, 11, 30), date(2026, 12, 8)])
    sweep(engine, today)
    assert {r.rule for r in notices(engine)} == {"overdue_1", "before_7"}
    inst = loan.installments[date(2026, 11, 30)]
    # the payment and the cancellation commit together (what the payments import does)
    with session_scope(engine) as s:
        row = s.get(InstallmentRow, inst)
        assert row is not None
        row.paid, row.paid_fen, row.paid_on = True, row.principal_fen, date(2026, 12, 1)
        s.add(row)
        cancelled = cancel_notices_for_installments(s, [inst])
    assert cancelled == 2  # borrower and counter-guarantor
    statuses = {(r.rule, r.recipient_role): r.status for r in notices(engine)}
    assert statuses[("overdue_1", "borrower")] == "cancelled"
    assert statuses[("overdue_1", "counter_guarantor")] == "cancelled"
    assert statuses[("before_7", "borrower")] == "pending"  # another instalment
    # and the next day's sweep does not bring it back
    assert sweep(engine, date(2026, 12, 2)).created == 0


def test_cancel_leaves_other_kinds_and_sent_notices_alone(engine: Engine, today: date) -> None:
    loan = make_loan(engine, [date(2026, 11, 30)])
    sweep(engine, today)
    inst = loan.installments[date(2026, 11, 30)]
    with session_scope(engine) as s:
        first = s.exec(select(NoticeRow)).first()
        assert first is not None
        first.status = "sent"
        s.add(first)
    with engine.begin() as conn:  # the payments import works on a Connection
        assert cancel_notices_for_installments(conn, [inst]) == 1
        assert cancel_notices_for_installments(conn, []) == 0
    assert sorted(r.status for r in notices(engine)) == ["cancelled", "sent"]


def test_quiet_hours_defer_send_after(engine: Engine, today: date) -> None:
    make_loan(engine, [date(2026, 12, 8)])
    sweep(engine, today, now=local(2026, 12, 1, 22, 30))
    assert notices(engine)[0].send_after == local(2026, 12, 2, 8, 0)


def test_early_morning_sweep_sends_at_the_end_of_quiet_hours(engine: Engine, today: date) -> None:
    make_loan(engine, [date(2026, 12, 8)])
    sweep(engine, today, now=local(2026, 12, 1, 7, 0))
    assert notices(engine)[0].send_after == local(2026, 12, 1, 8, 0)


def test_opted_out_number_still_gets_its_own_notices(engine: Engine, today: date) -> None:
    loan = make_loan(engine, [date(2026, 12, 8)])
    link(engine, "sms", "+8613893100001", person_id=loan.borrower_id, verified=True, opted_out=True)
    sweep(engine, today)
    rows = notices(engine)
    assert [(r.channel, r.status) for r in rows] == [("sms", "pending")]
    assert rows[0].identity_id is not None


def test_recipient_without_usable_address_is_visible_to_staff(engine: Engine, today: date) -> None:
    loan = make_loan(engine, [date(2026, 11, 30)], phone=None)
    with session_scope(engine) as s:  # the guarantor's number is known to be dead
        g = s.get(PersonRow, loan.guarantor_ids[0])
        assert g is not None and g.phone
        s.add(ChannelIdentityRow(channel="sms", address=g.phone, unreachable=True))
    result = sweep(engine, today)
    rows = notices(engine)
    assert result.no_address == 2
    assert {(r.recipient_role, r.channel, r.status) for r in rows} == {
        ("borrower", "none", "failed"),
        ("counter_guarantor", "none", "failed"),
    }
    assert all("另行通知" in (r.last_error or "") for r in rows)


def mark_sent(engine: Engine, rule: str, at: datetime) -> int:
    """Mark the queued notices of `rule` as sent at `at` (what the dispatcher records)."""
    with session_scope(engine) as s:
        rows = list(
            s.exec(select(NoticeRow).where(NoticeRow.rule == rule, NoticeRow.channel != "none"))
        )
        for r in rows:
            r.status, r.sent_at = "sent", at
        return len(rows)


def wage_rows(engine: Engine) -> list[NoticeRow]:
    return [r for r in notices(engine) if r.rule == "wage_deduction_30"]


def test_wage_deduction_one_month_after_the_notice_was_sent(engine: Engine) -> None:
    """宜春 二(四): one month after the 《逾期贷款催收通知书》 was actually sent — not 30 days
    after the due date."""
    make_loan(engine, [date(2026, 10, 30)], guarantors=1)  # a Friday
    assert sweep(engine, date(2026, 11, 2)).created == 2  # overdue_1: borrower + guarantor
    assert mark_sent(engine, "overdue_1", local(2026, 11, 3, 9)) == 2  # sent a day late
    sweep(engine, date(2026, 11, 29))  # 30 days after the due date: too early now
    sweep(engine, date(2026, 12, 2))
    assert wage_rows(engine) == []
    sweep(engine, date(2026, 12, 3))  # one month after 11-03
    rows = wage_rows(engine)
    assert sorted((r.recipient_role, r.channel) for r in rows) == [
        ("counter_guarantor", "sms"),
        ("employer", "sms"),
    ]
    employer = next(r for r in rows if r.recipient_role == "employer")
    assert employer.address == "+8613893100900"
    assert employer.text.startswith("王会计您好") and "李明" in employer.text
    assert "最低工资" in employer.text
    guarantor = next(r for r in rows if r.recipient_role == "counter_guarantor")
    assert "兰州市城关区第一小学" in guarantor.text


def test_no_wage_deduction_notice_without_a_sent_collection_notice(engine: Engine) -> None:
    make_loan(engine, [date(2026, 10, 30)], guarantors=1)
    sweep(engine, date(2026, 11, 2))  # queued, but never sent (e.g. the sender was down)
    for day in (date(2026, 11, 29), date(2026, 12, 2), date(2026, 12, 10)):
        sweep(engine, day)
    assert wage_rows(engine) == []


def _guarantor_without_employer(engine: Engine, loan: Loan) -> None:
    with session_scope(engine) as s:
        for g in s.exec(select(CounterGuarantorRow).where(CounterGuarantorRow.loan_id == loan.id)):
            g.employer = None
            g.employer_contact_name = None


def test_guarantor_without_payroll_employer_gets_the_contract_wording(engine: Engine) -> None:
    loan = make_loan(engine, [date(2026, 10, 30)], guarantors=1)
    _guarantor_without_employer(engine, loan)
    sweep(engine, date(2026, 11, 2))
    first = notices(engine)
    assert {r.template for r in first} == {
        "overdue_notice_borrower_contract",
        "overdue_notice_guarantor_contract",
    }
    assert all("工资" not in r.text and "扣划" not in r.text for r in first)
    assert any("反担保合同" in r.text for r in first if r.recipient_role == "counter_guarantor")
    mark_sent(engine, "overdue_1", local(2026, 11, 2, 9))
    sweep(engine, date(2026, 12, 2))
    rows = wage_rows(engine)
    assert [(r.recipient_role, r.template) for r in rows] == [
        ("counter_guarantor", "guarantor_liability_notice")
    ]  # nobody's employer is contacted
    assert "工资" not in rows[0].text and "反担保合同" in rows[0].text


def test_disabled_wage_deduction_tells_nobody_about_wages(engine: Engine) -> None:
    data = yaml.safe_load((DEFAULT_POLICY_DIR / "reminders-default.yaml").read_text("utf-8"))
    ladder = parse_reminder_policy({**data, "wage_deduction": False}, "no-wage")
    make_loan(engine, [date(2026, 10, 30)], guarantors=1)  # the guarantor has an employer
    day = date(2026, 11, 2)
    run_sweep(engine, ladder, CAL, day, now=local(2026, 11, 2), quiet=QuietHours())
    mark_sent(engine, "overdue_1", local(2026, 11, 2, 9))
    day = date(2026, 12, 2)
    run_sweep(engine, ladder, CAL, day, now=local(2026, 12, 2), quiet=QuietHours())
    rows = notices(engine)
    assert rows and all("工资" not in r.text and "扣划" not in r.text for r in rows)
    assert "employer" not in {r.recipient_role for r in rows}


def test_landline_is_never_an_sms_recipient(engine: Engine) -> None:
    loan = make_loan(engine, [date(2026, 10, 30)], guarantors=1, employer_phone="+869318812345")
    with session_scope(engine) as s:
        g = s.get(PersonRow, loan.guarantor_ids[0])
        assert g is not None
        g.phone = "+869318867890"  # 0931-8867890
    sweep(engine, date(2026, 11, 2))
    rows = notices(engine)
    (landline,) = [r for r in rows if r.recipient_role == "counter_guarantor"]
    assert (landline.channel, landline.status) == ("none", "failed")
    assert "只登记了固定电话+869318867890" in (landline.last_error or "")
    assert all(not r.address.startswith("+86931") for r in rows)
    # The employer contact's landline: the wage notice cannot go by SMS either.
    with session_scope(engine) as s:
        g = s.get(PersonRow, loan.guarantor_ids[0])
        assert g is not None
        g.phone = "+8613893100777"
    sweep(engine, date(2026, 11, 3))  # overdue_1 to the guarantor's new mobile (catch-up)
    mark_sent(engine, "overdue_1", local(2026, 11, 3, 9))
    sweep(engine, date(2026, 12, 3))
    (employer,) = [r for r in wage_rows(engine) if r.recipient_role == "employer"]
    assert (employer.channel, employer.status) == ("none", "failed")
    assert "固定电话+869318812345" in (employer.last_error or "")


def test_just_imported_overdue_loan_gets_the_first_notice_first(engine: Engine) -> None:
    """A loan imported 10 working days overdue: its first overdue message is the 《逾期贷款催收
    通知书》, not 第二次催收通知; the second follows after the gap."""
    make_loan(engine, [date(2026, 11, 16)], guarantors=1)
    sweep(engine, date(2026, 11, 30))
    assert {r.rule for r in notices(engine)} == {"overdue_1"}
    assert all("第二次" not in r.text for r in notices(engine))
    sweep(engine, date(2026, 12, 1))
    assert {r.rule for r in notices(engine)} == {"overdue_1"}  # not the next day
    sweep(engine, date(2026, 12, 3))
    assert {r.rule for r in notices(engine)} == {"overdue_1", "overdue_7"}


def test_spring_festival_overdue_waits_for_the_first_working_day(engine: Engine) -> None:
    make_loan(engine, [date(2026, 2, 14)])
    for day in (date(2026, 2, 16), date(2026, 2, 20), date(2026, 2, 23)):
        assert sweep(engine, day).planned == 0
    result = sweep(engine, date(2026, 2, 24))
    assert result.created == 2
    assert {r.rule for r in notices(engine)} == {"overdue_1"}


def test_a_missed_sweep_day_is_caught_up_next_day(engine: Engine) -> None:
    make_loan(engine, [date(2026, 12, 10)])
    # the sweep did not run on 12.3 (T-7); 12.4 catches it up
    assert sweep(engine, date(2026, 12, 4)).created == 1
    # it did not run again until the due date: no late T-3/T-1, only the due-day reminder
    assert sweep(engine, date(2026, 12, 10)).created == 1
    assert [r.rule for r in notices(engine)] == ["before_7", "due_day"]


def test_maturity_reminder_for_the_last_instalment_only(engine: Engine) -> None:
    make_loan(engine, [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)])
    # 30 days before 2026-12-01 is 11-01: due date of the second (not last) instalment
    sweep(engine, date(2026, 11, 1))
    assert {r.rule for r in notices(engine)} == {"due_day"}
    sweep(engine, date(2026, 12, 2))  # 30 days before 2027-01-01
    maturity = [r for r in notices(engine) if r.rule == "maturity_30"]
    assert [r.params["seq"] for r in maturity] == [3]
    assert "2027年1月1日到期" in maturity[0].text


def test_sweep_reads_only_the_due_window(engine: Engine, today: date) -> None:
    # many instalments far from today, one in the window
    make_loan(engine, [date(2026, m, 15) for m in range(1, 11)] + [date(2026, 12, 8)])
    make_loan(engine, [date(2027, m, 20) for m in range(1, 13)])
    result = sweep(engine, today)
    assert result.candidates == 1


# --- dry run and the CLI contract ---------------------------------------------------------------


def test_dry_run_writes_nothing(engine: Engine, today: date) -> None:
    make_loan(engine, [date(2026, 11, 30), date(2026, 12, 8)])
    result = sweep(engine, today, dry_run=True)
    assert result.planned == 3 and result.created == 0 and len(result.notices) == 3
    assert notices(engine) == []
    with Session(engine) as s:
        assert s.exec(select(SweepRunRow)).all() == []


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", db_url)  # each command builds its container from it
    yield


def cli() -> object:
    import typer

    from server import cli_reminders

    app = typer.Typer()
    cli_reminders.register(app)
    return app


def test_cli_dry_run_json_lines(engine: Engine, cli_env: None) -> None:
    make_loan(engine, [date(2026, 11, 30), date(2026, 12, 8)])
    runner = CliRunner()
    out = runner.invoke(
        cli(),  # type: ignore[arg-type]
        ["reminders", "run", "--today", "2026-12-01", "--dry-run", "--json"],
    )
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 3
    for line in lines:
        assert list(line) == [
            "loan_no",
            "installment_seq",
            "rule",
            "recipient_role",
            "channel",
            "to",
            "send_after",
            "text",
        ]
        assert line["recipient_role"] in ("borrower", "counter_guarantor", "employer")
        assert (
            line["send_after"].startswith("2026-12-01T08:00:00+08:00")
            or line["send_after"] > "2026-12-01T08"
        )
    first = next(x for x in lines if x["rule"] == "before_7")
    assert first["loan_no"].startswith("LZ2026-") and first["installment_seq"] == 2
    assert first["channel"] == "sms" and first["to"] == "+8613893100001"
    assert notices(engine) == []
    # without --dry-run: into the outbox, and a summary line
    out = runner.invoke(cli(), ["reminders", "run", "--today", "2026-12-01", "--json"])  # type: ignore[arg-type]
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    assert summary["created"] == 3 and summary["day"] == "2026-12-01"
    assert len(notices(engine)) == 3
    listing = runner.invoke(cli(), ["notices", "list", "--json"])  # type: ignore[arg-type]
    assert json.loads(listing.stdout)["counts"] == {"pending": 3}
    table = runner.invoke(cli(), ["notices", "list", "--status", "failed"])  # type: ignore[arg-type]
    assert table.exit_code == 0 and "待发送" in table.stdout


def test_cli_rejects_a_bad_date(cli_env: None) -> None:
    out = CliRunner().invoke(cli(), ["reminders", "run", "--today", "2026-13-01"])  # type: ignore[arg-type]
    assert out.exit_code != 0


# --- two sweepers at once (PostgreSQL) -----------------------------------------------------------


def test_two_concurrent_sweepers_never_create_a_second_notice(engine: Engine, today: date) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent sweepers: PostgreSQL only (set DATABASE_URL)")
    for _ in range(30):
        make_loan(engine, [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 8)], guarantors=2)
    barrier = threading.Barrier(2)
    results: list[SweepResult] = []

    def go(wait: bool) -> None:
        barrier.wait()
        results.append(sweep(engine, today, wait=wait))

    run_together(go, [(w,) for w in (False, True)])
    rows = notices(engine)
    assert len(rows) == 30 * 5
    assert len({r.key for r in rows}) == len(rows)
    assert sum(r.created for r in results) == 30 * 5
    # and a third, plain concurrent pair without the lock wait: one skips or finds everything
    barrier = threading.Barrier(2)
    results.clear()
    run_together(go, [(False,) for _ in range(2)])
    assert sum(r.created for r in results) == 0
    with Session(engine) as s:
        assert s.execute(sa.text("SELECT count(*) FROM notice")).scalar() == 30 * 5


def test_cli_sweep_then_dispatch_once_through_the_console_sender(
    engine: Engine, cli_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.kernel.timeutil import local_today

    monkeypatch.setenv("QUIET_HOURS_START", "00:00")  # no quiet hours: send now
    monkeypatch.setenv("QUIET_HOURS_END", "00:00")
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    make_loan(engine, [local_today() + timedelta(days=7)])
    runner = CliRunner()
    out = runner.invoke(cli(), ["reminders", "run"])  # type: ignore[arg-type]
    assert out.exit_code == 0, out.output
    assert "新写入发件箱 1 条" in out.stdout
    out = runner.invoke(cli(), ["notices", "dispatch", "--once"])  # type: ignore[arg-type]
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout.strip().splitlines()[-1])["sent"] == 1
    rows = notices(engine)
    assert [(r.status, (r.provider_id or "")[:8]) for r in rows] == [("sent", "console-")]
    with session_scope(engine) as s:
        row = s.get(NoticeRow, rows[0].id)
        assert row is not None
        row.status = "failed"
        s.add(row)
    out = runner.invoke(cli(), ["notices", "retry", str(rows[0].id)])  # type: ignore[arg-type]
    assert out.exit_code == 0 and "1 条" in out.stdout
    assert notices(engine)[0].status == "pending"
