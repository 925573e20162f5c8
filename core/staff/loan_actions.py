"""Staff commands that act on a loan: record a payment by hand, add a collection note (联系记录),
mark the loan settled (结清) / compensated (代偿, the guarantee fund paid the bank) / written off
(核销), and an admin's reversal of any of these with a reason.

Each command writes its `loan_action` row and its audit entry (before/after) in the caller's
transaction and raises the typed errors of core.kernel.errors (Chinese messages).

- A manual payment is stored and allocated exactly as an imported one
  (`core.loans.importing.payments.store_payments`: earliest unpaid instalments first, the loan
  closed when fully paid), and the queued reminder/overdue notices of the instalments it pays off
  are cancelled (`core.reminders.sweep.cancel_notices_for_installments`), as the import does.
- A loan settled, compensated or written off is no longer `active`: the sweep reads only active
  loans (core/reminders/reads.py), the dispatcher cancels a queued notice of a loan that is not
  active, and the command cancels the loan's queued notices at once.
- A reversal (admins only, checked by the doors) takes back what the action did: a payment's
  amounts come off the instalments it paid (they re-open) and its payment row is removed; a state
  change restores the previous state. Cancelled notices are never resent; their keys are freed
  so that the next sweep plans again what is then due.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.kernel.errors import Conflict, Invalid, NotFound
from core.kernel.labels import label, labels
from core.kernel.money import MoneyError, fen_to_yuan, parse_decimal
from core.kernel.timeutil import local_today, utcnow
from core.loans.importing.payments import store_payments
from core.loans.importing.rows import PaymentIn
from core.loans.status import borrower_owed_fen
from core.persistence.audit import audit
from core.persistence.models import InstallmentRow, LoanRow, PaymentRow
from core.persistence.models_loan_actions import LoanActionRow
from core.reminders.sweep import cancel_notices_for_installments, release_cancelled_notices

MANUAL_FILE = "手工登记"
MAX_AMOUNT_FEN = 10_000_000_000  # 1亿元: far above any loan here, a typo guard
OPEN_STATES = ("active", "closed")  # a loan in these may take payments and a new state
FINAL_STATES = ("settled", "compensated", "written_off")


#: Chinese labels of the codes this module introduces (category → code → label).
@dataclass(frozen=True)
class ActionResult:
    action: LoanActionRow
    message: str  # a Chinese summary for the console's flash and the API
    warnings: list[str] = field(default_factory=list)


# --- input checks ---------------------------------------------------------------------------------


def parse_amount(text: str | int | Decimal | None, what: str = "金额") -> int:
    """An amount in yuan (at most two decimals, above zero) as fen."""
    raw = "" if text is None else str(text).strip()
    if not raw:
        raise Invalid(f"请填写{what}（元）")
    try:
        amount = parse_decimal(raw)
    except MoneyError as exc:
        raise Invalid(f"{what}格式不正确：{raw}") from exc
    if amount is None:
        raise Invalid(f"请填写{what}（元）")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise Invalid(f"{what}最多两位小数：{raw}")
    fen = int(amount * 100)
    if fen <= 0:
        raise Invalid(f"{what}必须大于0")
    if fen > MAX_AMOUNT_FEN:
        raise Invalid(f"{what}过大：{raw}")
    return fen


def parse_day(value: date | str | None, what: str, *, earliest: date | None = None) -> date:
    """A date (YYYY-MM-DD) not in the future and not before `earliest`."""
    if isinstance(value, date):
        day = value
    else:
        raw = (value or "").strip()
        if not raw:
            raise Invalid(f"请填写{what}")
        try:
            day = date.fromisoformat(raw)
        except ValueError as exc:
            raise Invalid(f"{what}格式不正确（应为 年-月-日，如 2026-03-15）：{raw}") from exc
    if day > local_today():
        raise Invalid(f"{what}不能晚于今天")
    if earliest is not None and day < earliest:
        raise Invalid(f"{what}不能早于放款日 {earliest.isoformat()}")
    return day


def _text(value: str | None, what: str, limit: int, *, required: bool = True) -> str:
    text = " ".join((value or "").split())
    if required and not text:
        raise Invalid(f"请填写{what}")
    if len(text) > limit:
        raise Invalid(f"{what}不能超过{limit}字")
    return text


def _choice(value: str | None, category: str, what: str) -> str:
    code = (value or "").strip()
    if code not in labels(category):
        allowed = "、".join(labels(category).values())
        raise Invalid(f"{what}须为：{allowed}")
    return code


def _loan(session: Session, loan_id: int) -> LoanRow:
    loan = session.get(LoanRow, loan_id)
    if loan is None:
        raise NotFound(f"贷款 {loan_id} 不存在")
    return loan


def _unpaid_ids(session: Session, loan_id: int) -> list[int]:
    return [
        int(i)
        for i in session.exec(
            select(InstallmentRow.id).where(
                InstallmentRow.loan_id == loan_id, InstallmentRow.paid == sa.false()
            )
        )
        if i is not None
    ]


# --- commands -------------------------------------------------------------------------------------


def record_payment(
    session: Session,
    actor: str,
    loan_id: int,
    *,
    amount: str | int | Decimal | None,
    paid_on: date | str | None,
    reference: str | None,
) -> ActionResult:
    """Record a payment by hand; it is applied as an imported payment is."""
    loan = _loan(session, loan_id)
    fen = parse_amount(amount, "还款金额")
    day = parse_day(paid_on, "还款日期", earliest=loan.disbursed_on)
    ref = _text(reference, "流水号", 64)
    if loan.status not in OPEN_STATES:
        raise Conflict(
            f"贷款{label('loan_status', loan.status)}，不能登记还款；如需更正请由管理员先撤销状态变更"
        )
    taken = session.exec(
        select(PaymentRow.id).where(PaymentRow.loan_id == loan_id, PaymentRow.reference == ref)
    ).first()
    if taken is not None:
        raise Conflict(f"流水号 {ref} 已登记过这笔贷款的还款")
    paid_before = _paid_total(session, loan_id)
    before = {"status": loan.status, "paid_fen": paid_before}
    payment = PaymentIn(row=0, loan_no=loan.loan_no, paid_on=day, amount_fen=fen, reference=ref)
    applied = store_payments(
        session.connection(), {loan_id: [payment]}, MANUAL_FILE, source="manual"
    )
    cancelled = cancel_notices_for_installments(
        session, applied.paid_ids, reason="手工登记还款，该期已还清"
    )
    session.refresh(loan)
    warnings = [w.message for w in applied.warnings]
    action = LoanActionRow(
        loan_id=loan_id,
        kind="payment",
        happened_on=day,
        amount_fen=fen,
        actor=actor,
        details={
            "reference": ref,
            "allocation": [[iid, take] for iid, take in applied.takes.get((loan_id, ref), [])],
            "closed_loan": loan_id in applied.closed and before["status"] == "active",
            "notices_cancelled": cancelled,
            "warnings": warnings,
        },
    )
    session.add(action)
    session.flush()
    after = {
        "action_id": action.id,
        "amount_fen": fen,
        "paid_on": day.isoformat(),
        "reference": ref,
        "status": loan.status,
        "paid_fen": paid_before + fen,
        "installments_paid": len(applied.paid_ids),
        "notices_cancelled": cancelled,
    }
    audit(session, actor, "loan.payment", "loan", loan_id, before=before, after=after)
    message = f"已登记还款 {fen_to_yuan(fen)} 元（流水号 {ref}）"
    if cancelled:
        message += f"，取消待发提醒 {cancelled} 条"
    return ActionResult(action, message, warnings)


def add_note(
    session: Session,
    actor: str,
    loan_id: int,
    *,
    contacted_on: date | str | None,
    contact: str | None,
    channel: str | None,
    outcome: str | None,
    text: str | None,
) -> ActionResult:
    """Add a collection note (联系记录) to a loan."""
    _loan(session, loan_id)
    day = parse_day(contacted_on, "联系日期")
    details = {
        "contact": _choice(contact, "note_contact", "联系对象"),
        "channel": _choice(channel, "note_channel", "联系方式"),
        "outcome": _choice(outcome, "note_outcome", "联系结果"),
        "text": _text(text, "联系情况", 1000, required=False),
    }
    action = LoanActionRow(
        loan_id=loan_id, kind="note", happened_on=day, actor=actor, details=details
    )
    session.add(action)
    session.flush()
    after = {"action_id": action.id, "contacted_on": day.isoformat(), **details}
    audit(session, actor, "loan.note", "loan", loan_id, after=after)
    return ActionResult(action, "联系记录已保存")


def change_status(
    session: Session,
    actor: str,
    loan_id: int,
    *,
    status: str | None,
    on: date | str | None,
    amount: str | int | Decimal | None = None,
    note: str | None = None,
) -> ActionResult:
    """Mark a loan settled (结清), compensated (代偿: amount and date) or written off (核销)."""
    loan = _loan(session, loan_id)
    code = (status or "").strip()
    if code not in FINAL_STATES:
        raise Invalid("贷款状态须为：已结清、已代偿、已核销")
    if loan.status not in OPEN_STATES:
        raise Conflict(f"贷款已是“{label('loan_status', loan.status)}”，请由管理员先撤销原状态变更")
    day = parse_day(on, "日期", earliest=loan.disbursed_on)
    fen = parse_amount(amount, "代偿金额") if code == "compensated" else None
    text = _text(note, "说明", 500, required=False)
    unpaid = _unpaid_ids(session, loan_id)
    cancelled = cancel_notices_for_installments(
        session, unpaid, reason=f"贷款{label('loan_status', code)}"
    )
    before = {"status": loan.status}
    action = LoanActionRow(
        loan_id=loan_id,
        kind="status",
        happened_on=day,
        amount_fen=fen,
        status_from=loan.status,
        status_to=code,
        actor=actor,
        details={"note": text, "notices_cancelled": cancelled},
    )
    loan.status = code
    loan.updated_at = utcnow()
    session.add_all([loan, action])
    session.flush()
    after = {
        "action_id": action.id,
        "status": code,
        "on": day.isoformat(),
        "amount_fen": fen,
        "note": text,
        "notices_cancelled": cancelled,
    }
    audit(session, actor, "loan.status", "loan", loan_id, before=before, after=after)
    message = f"贷款已标记为“{label('loan_status', code)}”"
    if fen is not None:
        message += f"，代偿金额 {fen_to_yuan(fen)} 元"
    return ActionResult(action, message)


def reverse(
    session: Session, actor: str, loan_id: int, action_id: int, reason: str | None
) -> ActionResult:
    """Undo an action on a loan (admins only; the doors check the role), with a reason."""
    why = _text(reason, "撤销原因", 500)
    loan = _loan(session, loan_id)
    action = session.get(LoanActionRow, action_id)
    if action is None or action.loan_id != loan_id:
        raise NotFound(f"贷款 {loan.loan_no} 没有编号为 {action_id} 的操作记录")
    if action.reversed_at is not None:
        raise Conflict("这项操作已撤销过")
    before: dict[str, Any] = {"action_id": action.id, "kind": action.kind, "status": loan.status}
    if action.kind == "payment":
        _undo_payment(session, loan, action)
    elif action.kind == "status":
        _undo_status(session, loan, action)
    action.reversed_at = utcnow()
    action.reversed_by = actor
    action.reversal_reason = why
    session.add(action)
    session.flush()
    after = {"action_id": action.id, "kind": action.kind, "status": loan.status, "reason": why}
    audit(session, actor, "loan.reversal", "loan", loan_id, before=before, after=after)
    return ActionResult(action, f"已撤销：{label('loan_action', action.kind)}")


def _undo_payment(session: Session, loan: LoanRow, action: LoanActionRow) -> None:
    """Take the payment's amounts off the instalments it paid; re-open them and the loan."""
    reopened: list[int] = []
    for iid, take in action.details.get("allocation") or []:
        inst = session.get(InstallmentRow, int(iid))
        if inst is None:  # pragma: no cover - instalments are never deleted
            continue
        inst.paid_fen = max(inst.paid_fen - int(take), 0)
        if inst.paid and inst.paid_fen < borrower_owed_fen(
            inst.principal_fen, inst.borrower_interest_fen
        ):
            inst.paid, inst.paid_on = False, None
            reopened.append(int(iid))
        session.add(inst)
    ref = str(action.details.get("reference", ""))
    row = session.exec(
        select(PaymentRow).where(
            PaymentRow.loan_id == loan.id,
            PaymentRow.reference == ref,
            PaymentRow.source == "manual",
        )
    ).first()
    if row is not None:
        session.delete(row)
    if reopened and loan.status == "closed":
        loan.status = "active"
        loan.updated_at = utcnow()
        session.add(loan)
    session.flush()
    release_cancelled_notices(session, reopened)


def _undo_status(session: Session, loan: LoanRow, action: LoanActionRow) -> None:
    """Restore the state the loan had before the change (only the loan's current state)."""
    if loan.status != action.status_to:
        raise Conflict("贷款状态已再次变更，只能撤销最近一次状态变更")
    loan.status = action.status_from or "active"
    loan.updated_at = utcnow()
    session.add(loan)
    session.flush()
    release_cancelled_notices(session, _unpaid_ids(session, int(loan.id or 0)))


# --- reads ----------------------------------------------------------------------------------------


def _paid_total(session: Session, loan_id: int) -> int:
    total = session.exec(
        select(sa.func.coalesce(sa.func.sum(PaymentRow.amount_fen), 0)).where(
            PaymentRow.loan_id == loan_id
        )
    ).one()
    return int(total or 0)


def history(session: Session, loan_id: int) -> list[LoanActionRow]:
    """The loan's manual actions, newest first (reversed ones included, stamped)."""
    _loan(session, loan_id)
    return list(
        session.exec(
            select(LoanActionRow)
            .where(LoanActionRow.loan_id == loan_id)
            .order_by(col(LoanActionRow.id).desc())
        )
    )


def compensation_totals(session: Session) -> tuple[int, int]:
    """(count, total fen) of the 代偿 in force (not reversed), for the dashboard."""
    row = session.exec(
        select(sa.func.count(), sa.func.coalesce(sa.func.sum(LoanActionRow.amount_fen), 0)).where(
            LoanActionRow.kind == "status",
            LoanActionRow.status_to == "compensated",
            col(LoanActionRow.reversed_at).is_(None),
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def action_json(a: LoanActionRow) -> dict[str, Any]:
    """One action as the API shows it (codes with their `*_label` beside them)."""
    d = a.details or {}
    out: dict[str, Any] = {
        "id": a.id,
        "kind": a.kind,
        "kind_label": label("loan_action", a.kind),
        "happened_on": a.happened_on.isoformat(),
        "amount_fen": a.amount_fen,
        "actor": a.actor,
        "created_at": a.created_at.isoformat(),
        "reversed": a.reversed_at is not None,
        "reversed_at": a.reversed_at.isoformat() if a.reversed_at else None,
        "reversed_by": a.reversed_by,
        "reversal_reason": a.reversal_reason,
    }
    if a.kind == "payment":
        out.update(reference=d.get("reference"), warnings=d.get("warnings") or [])
    elif a.kind == "note":
        for key in ("contact", "channel", "outcome"):
            out[key] = d.get(key)
            out[f"{key}_label"] = label(f"note_{key}", d.get(key))
        out["text"] = d.get("text", "")
    else:
        out.update(
            status_from=a.status_from,
            status_from_label=label("loan_status", a.status_from),
            status_to=a.status_to,
            status_to_label=label("loan_status", a.status_to),
            note=d.get("note", ""),
        )
    return out
