"""The status flow: where the application stands and what is due on the person's loans."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from core.applications import lifecycle as apps
from core.dialogue import prompts as P
from core.dialogue.context import Ctx, current_application
from core.kernel.money import format_yuan
from core.kernel.timeutil import format_date_cn, to_local
from core.loans.status import is_overdue
from core.persistence.models import InstallmentRow, LoanRow


def show(ctx: Ctx) -> None:
    s = ctx.session
    svc = ctx.svc
    lines: list[str] = []
    app = current_application(ctx)
    if app is not None and app.id is not None:
        since = format_date_cn(to_local(app.stage_changed_at).date())
        lines.append(
            P.STATUS_APP.format(app_id=app.id, stage=apps.STAGE_LABELS[app.stage], since=since)
        )
        prog = apps.progress(apps.checklist(s, app.id))
        if prog.missing and app.stage not in apps.CLOSED:
            lines.append(P.STATUS_MISSING.format(labels="、".join(m.label for m in prog.missing)))
        exp = apps.expected_by(
            app,
            svc.calendar,
            svc.policy.step_days(app.applicant_type),
            svc.policy.total_days(app.applicant_type),
        )
        if exp is not None:
            lines.append(
                P.STATUS_EXPECTED.format(
                    days=svc.policy.total_days(app.applicant_type),
                    date=format_date_cn(exp),
                    estimate=P.ESTIMATE_NOTE if svc.calendar.is_estimate(exp) else "",
                )
            )
    if ctx.identity.verified and ctx.identity.person_id is not None:
        lines.extend(_loan_lines(s, ctx.identity.person_id, svc.today()))
    if not lines:
        lines.append(P.STATUS_NONE)
    ctx.say("\n".join(lines))


def _loan_lines(s: Session, person_id: int, today: date) -> list[str]:
    lines: list[str] = []
    loans = s.exec(
        select(LoanRow).where(LoanRow.borrower_id == person_id, LoanRow.status == "active")
    ).all()
    for loan in loans:
        unpaid = s.exec(
            select(InstallmentRow)
            .where(InstallmentRow.loan_id == loan.id, col(InstallmentRow.paid).is_(False))
            .order_by(col(InstallmentRow.due_on))
        ).all()
        masked = _mask_loan_no(loan.loan_no)
        overdue = [i for i in unpaid if is_overdue(i, today)]
        if overdue:
            total = sum(_due_fen(i) for i in overdue)
            lines.append(
                P.STATUS_LOAN_OVERDUE.format(
                    loan_no=masked, count=len(overdue), amount=format_yuan(total)
                )
            )
        elif unpaid:
            nxt = unpaid[0]
            lines.append(
                P.STATUS_LOAN.format(
                    loan_no=masked,
                    amount=format_yuan(_due_fen(nxt)),
                    date=format_date_cn(nxt.due_on),
                )
            )
        else:
            lines.append(P.STATUS_LOAN_DONE.format(loan_no=masked))
    return lines


def _due_fen(inst: InstallmentRow) -> int:
    return max(inst.principal_fen + inst.borrower_interest_fen - inst.paid_fen, 0)


def _mask_loan_no(loan_no: str) -> str:
    if len(loan_no) <= 4:
        return loan_no
    return "*" * (len(loan_no) - 4) + loan_no[-4:]
