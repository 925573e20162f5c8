"""Reads and small commands of the staff side (console and staff API share them).

Lists are paginated (`limit`/`offset`) and return the total; the commands audit who did what with
before/after. Phone and ID numbers are returned whole; the views mask them for display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.applications.lifecycle import checklist, next_stage, progress
from core.kernel.errors import Conflict, Invalid, NotFound
from core.kernel.labels import labels, ticket_number
from core.kernel.timeutil import local_today, utcnow
from core.loans.status import bucket_due_range, installment_status, is_overdue, overdue_clause
from core.persistence.audit import audit
from core.persistence.models import (
    ApplicationRow,
    ApplicationStageRow,
    AuditEventRow,
    ChannelIdentityRow,
    CounterGuarantorRow,
    DocumentItemRow,
    HandoffMessageRow,
    HandoffTicketRow,
    InstallmentRow,
    LoanRow,
    NoticeRow,
    PaymentRow,
    PersonRow,
    UnansweredQuestionRow,
)
from core.persistence.sql import table
from core.staff.search import (
    Search,
    application_clause,
    loan_clause,
    notice_clause,
    ticket_clause,
)

NOTICE_STATUSES = (
    "pending",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "cancelled",
)
NOTICE_STATUS_LABELS = labels("notice_status")
NOTICE_KIND_LABELS = labels("notice_kind")
DOCUMENT_STATUS_LABELS = labels("document_status")


class BackofficeError(Conflict):
    """A staff operation that cannot be done; the message is Chinese."""


class BackofficeInvalid(Invalid, BackofficeError):
    """A value the operation does not take."""


class BackofficeNotFound(NotFound, BackofficeError):
    """The application, document, loan or ticket does not exist."""


@dataclass
class Page:
    items: list[Any]
    total: int
    limit: int
    offset: int

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total

    @property
    def has_prev(self) -> bool:
        return self.offset > 0


def _count(session: Session, stmt: Any) -> int:
    return int(session.exec(select(func.count()).select_from(stmt.subquery())).one())


def _where_equal(stmt: Any, *filters: tuple[Any, object]) -> Any:
    """`stmt` narrowed to `column == value` for each (column, value) whose value is given."""
    for column, value in filters:
        if value:
            stmt = stmt.where(column == value)
    return stmt


def _newest_page(
    session: Session, stmt: Any, id_column: Any, limit: int, offset: int
) -> tuple[int, list[Any]]:
    """(total, rows of the page): `stmt` counted, then newest first by `id_column`."""
    total = _count(session, stmt)
    rows = session.exec(stmt.order_by(col(id_column).desc()).offset(offset).limit(limit)).all()
    return total, list(rows)


# --- applications -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationListItem:
    app: ApplicationRow
    person_name: str | None


def list_applications(
    session: Session,
    *,
    stage: str | None = None,
    district: str | None = None,
    applicant_type: str | None = None,
    search: Search | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    stmt = select(ApplicationRow, PersonRow.name).join(
        PersonRow, col(PersonRow.id) == col(ApplicationRow.person_id), isouter=True
    )
    if search is not None:
        stmt = stmt.where(application_clause(search))
    stmt = _where_equal(
        stmt,
        (ApplicationRow.stage, stage),
        (ApplicationRow.district, district),
        (ApplicationRow.applicant_type, applicant_type),
    )
    total, rows = _newest_page(session, stmt, ApplicationRow.id, limit, offset)
    return Page([ApplicationListItem(a, n) for a, n in rows], total, limit, offset)


def districts(session: Session) -> list[str]:
    """Every district named on an application, a person or a loan (for filter lists)."""
    found: set[str] = set()
    for model in (ApplicationRow, PersonRow, LoanRow):
        column = table(model).c.district
        found.update(
            str(d)
            for (d,) in session.execute(sa.select(column).where(column.is_not(None)).distinct())
        )
    return sorted(found)


@dataclass
class ApplicationDetail:
    app: ApplicationRow
    person: PersonRow | None
    identity: ChannelIdentityRow | None
    documents: list[DocumentItemRow]
    history: list[ApplicationStageRow]
    notices: list[NoticeRow]
    next_stage: str | None
    received: int
    total_documents: int


def application_detail(session: Session, application_id: int) -> ApplicationDetail:
    app = session.get(ApplicationRow, application_id)
    if app is None:
        raise BackofficeNotFound(f"申请 {application_id} 不存在")
    person = session.get(PersonRow, app.person_id) if app.person_id else None
    identity = session.get(ChannelIdentityRow, app.identity_id) if app.identity_id else None
    items = checklist(session, application_id)
    history = list(
        session.exec(
            select(ApplicationStageRow)
            .where(ApplicationStageRow.application_id == application_id)
            .order_by(col(ApplicationStageRow.at), col(ApplicationStageRow.id))
        )
    )
    conds = []
    if app.person_id is not None:
        conds.append(col(NoticeRow.person_id) == app.person_id)
    if identity is not None:
        conds.append(
            sa.and_(
                col(NoticeRow.channel) == identity.channel,
                col(NoticeRow.address) == identity.address,
            )
        )
    notices: list[NoticeRow] = []
    if conds:
        notices = list(
            session.exec(
                select(NoticeRow)
                .where(sa.or_(*conds), col(NoticeRow.kind).in_(["review", "relay"]))
                .order_by(col(NoticeRow.id).desc())
                .limit(50)
            )
        )
    prog = progress(items)
    return ApplicationDetail(
        app, person, identity, items, history, notices, next_stage(app), prog.received, prog.total
    )


def document(session: Session, application_id: int, item_id: int) -> DocumentItemRow:
    item = session.get(DocumentItemRow, item_id)
    if item is None or item.application_id != application_id or not item.storage_key:
        raise BackofficeNotFound("材料不存在或尚未提交")
    return item


# --- loans --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoanListItem:
    loan: LoanRow
    borrower_name: str
    overdue_since: Any  # date of the oldest unpaid instalment already due, or None


def list_loans(
    session: Session,
    *,
    status: str | None = None,
    district: str | None = None,
    search: Search | None = None,
    overdue_only: bool = False,
    overdue_days: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Loans, newest first. `overdue_days` is a bucket of core.loans.status (1-30, 31-90, 90+):
    the active loans whose oldest overdue instalment is that many days late."""
    today = local_today()
    i = table(InstallmentRow)
    oldest = (
        sa.select(sa.func.min(i.c.due_on))
        .where(i.c.loan_id == LoanRow.id, overdue_clause(i, today))
        .correlate(table(LoanRow))
        .scalar_subquery()
    )
    stmt = select(LoanRow, PersonRow.name, oldest).join(
        PersonRow, col(PersonRow.id) == col(LoanRow.borrower_id)
    )
    stmt = _where_equal(stmt, (LoanRow.status, status), (LoanRow.district, district))
    if search is not None:
        stmt = stmt.where(loan_clause(search))
    if overdue_only or overdue_days:
        stmt = stmt.where(oldest.is_not(None), LoanRow.status == "active")
    if overdue_days:
        if overdue_days not in labels("overdue_bucket"):
            raise BackofficeInvalid("逾期天数只能是 1-30、31-90 或 90+")
        earliest, latest = bucket_due_range(overdue_days, today)
        stmt = stmt.where(oldest <= latest)
        if earliest is not None:
            stmt = stmt.where(oldest >= earliest)
    total, rows = _newest_page(session, stmt, LoanRow.id, limit, offset)
    return Page([LoanListItem(ln, name, od) for ln, name, od in rows], total, limit, offset)


@dataclass
class LoanDetail:
    loan: LoanRow
    borrower: PersonRow | None
    installments: list[InstallmentRow]
    payments: list[PaymentRow]
    guarantors: list[tuple[CounterGuarantorRow, PersonRow]]
    notices: list[NoticeRow]
    paid_fen: int = 0
    outstanding_principal_fen: int = 0
    overdue: list[InstallmentRow] = field(default_factory=list)
    statuses: dict[int, str] = field(default_factory=dict)  # seq -> core.loans.status status


def loan_detail(session: Session, loan_id: int) -> LoanDetail:
    loan = session.get(LoanRow, loan_id)
    if loan is None:
        raise BackofficeNotFound(f"贷款 {loan_id} 不存在")
    installments = list(
        session.exec(
            select(InstallmentRow)
            .where(InstallmentRow.loan_id == loan_id)
            .order_by(col(InstallmentRow.seq))
        )
    )
    payments = list(
        session.exec(
            select(PaymentRow)
            .where(PaymentRow.loan_id == loan_id)
            .order_by(col(PaymentRow.paid_on), col(PaymentRow.id))
        )
    )
    guarantors = [
        (g, p)
        for g, p in session.exec(
            select(CounterGuarantorRow, PersonRow)
            .join(PersonRow, col(PersonRow.id) == col(CounterGuarantorRow.person_id))
            .where(CounterGuarantorRow.loan_id == loan_id)
        ).all()
    ]
    notices = list(
        session.exec(
            select(NoticeRow).where(NoticeRow.loan_id == loan_id).order_by(col(NoticeRow.id).desc())
        )
    )
    today = local_today()
    left = 0
    for inst in installments:
        if inst.paid:
            continue
        principal_paid = max(inst.paid_fen - inst.borrower_interest_fen, 0)
        left += max(inst.principal_fen - principal_paid, 0)
    return LoanDetail(
        loan=loan,
        borrower=session.get(PersonRow, loan.borrower_id),
        installments=installments,
        payments=payments,
        guarantors=guarantors,
        notices=notices,
        paid_fen=sum(p.amount_fen for p in payments),
        outstanding_principal_fen=left,
        overdue=[i for i in installments if is_overdue(i, today)],
        statuses={i.seq: installment_status(i, today) for i in installments},
    )


# --- notices ------------------------------------------------------------------------------------


def list_notices(
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    channel: str | None = None,
    search: Search | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    stmt = select(NoticeRow)
    if search is not None:
        stmt = stmt.where(notice_clause(search))
    stmt = _where_equal(
        stmt, (NoticeRow.status, status), (NoticeRow.kind, kind), (NoticeRow.channel, channel)
    )
    total, rows = _newest_page(session, stmt, NoticeRow.id, limit, offset)
    return Page(rows, total, limit, offset)


def notice_counts_by_kind(session: Session) -> dict[str, dict[str, int]]:
    """kind → status → count."""
    out: dict[str, dict[str, int]] = {}
    for kind, status, n in session.exec(
        select(NoticeRow.kind, NoticeRow.status, func.count()).group_by(
            NoticeRow.kind, NoticeRow.status
        )
    ):
        out.setdefault(str(kind), {})[str(status)] = int(n)
    return out


# --- hand-off -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketListItem:
    ticket: HandoffTicketRow
    messages: int
    last_at: datetime | None


def list_tickets(
    session: Session,
    *,
    status: str | None = "open",
    search: Search | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    m = HandoffMessageRow
    counts = (
        select(m.ticket_id, func.count().label("n"), func.max(m.at).label("last"))
        .group_by(col(m.ticket_id))
        .subquery()
    )
    stmt = select(HandoffTicketRow, counts.c.n, counts.c.last).join(
        counts, counts.c.ticket_id == col(HandoffTicketRow.id), isouter=True
    )
    stmt = _where_equal(stmt, (HandoffTicketRow.status, status))
    if search is not None:
        stmt = stmt.where(ticket_clause(search))
    total, rows = _newest_page(session, stmt, HandoffTicketRow.id, limit, offset)
    return Page([TicketListItem(t, int(n or 0), last) for t, n, last in rows], total, limit, offset)


def ticket_detail(
    session: Session, ticket_id: int
) -> tuple[HandoffTicketRow, list[HandoffMessageRow], list[NoticeRow]]:
    ticket = session.get(HandoffTicketRow, ticket_id)
    if ticket is None:
        raise BackofficeNotFound(f"{ticket_number(ticket_id)} 不存在")
    messages = list(
        session.exec(
            select(HandoffMessageRow)
            .where(HandoffMessageRow.ticket_id == ticket_id)
            .order_by(col(HandoffMessageRow.at), col(HandoffMessageRow.id))
        )
    )
    keys = [f"relay:{m.id}" for m in messages if m.sender == "staff"]
    relays = (
        list(session.exec(select(NoticeRow).where(col(NoticeRow.key).in_(keys)))) if keys else []
    )
    return ticket, messages, relays


# --- unanswered questions -------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionGroup:
    normalized: str
    count: int
    sample: str
    last_at: datetime
    best_entry_id: str | None
    channels: str


def unanswered_groups(
    session: Session, *, status: str = "new", limit: int = 100, offset: int = 0
) -> Page:
    """Unanswered questions grouped by their normalized text, most frequent first."""
    u = UnansweredQuestionRow
    t = table(u)
    base = sa.select(t.c.normalized).where(t.c.status == status).group_by(t.c.normalized)
    total = _count(session, base)
    rows = session.execute(
        sa.select(
            t.c.normalized,
            sa.func.count(),
            sa.func.min(t.c.question),
            sa.func.max(t.c.created_at),
            sa.func.max(t.c.best_entry_id),
            sa.func.min(t.c.channel),
            sa.func.max(t.c.channel),
        )
        .where(t.c.status == status)
        .group_by(t.c.normalized)
        .order_by(sa.func.count().desc(), sa.func.max(t.c.created_at).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    groups = [
        QuestionGroup(
            normalized=str(norm),
            count=int(n),
            sample=str(sample),
            last_at=last if isinstance(last, datetime) else utcnow(),
            best_entry_id=best,
            channels=c1 if c1 == c2 else f"{c1}、{c2}",
        )
        for norm, n, sample, last, best, c1, c2 in rows
    ]
    return Page(groups, total, limit, offset)


def questions_of_group(
    session: Session, normalized: str, status: str = "new"
) -> list[UnansweredQuestionRow]:
    return list(
        session.exec(
            select(UnansweredQuestionRow)
            .where(
                UnansweredQuestionRow.normalized == normalized,
                UnansweredQuestionRow.status == status,
            )
            .order_by(col(UnansweredQuestionRow.id).desc())
            .limit(50)
        )
    )


def resolve_group(
    session: Session,
    normalized: str,
    *,
    status: str,
    actor: str,
    note: dict[str, Any] | None = None,
) -> int:
    """Mark every new question of a group `resolved` or `ignored`. Returns how many."""
    if status not in ("resolved", "ignored"):
        raise BackofficeInvalid("状态只能是 resolved 或 ignored")
    t = table(UnansweredQuestionRow)
    done = session.execute(
        sa.update(t).where(t.c.normalized == normalized, t.c.status == "new").values(status=status)
    )
    n = int(getattr(done, "rowcount", 0) or 0)
    audit(
        session,
        actor,
        f"unanswered.{status}",
        "unanswered_question",
        normalized[:64],
        before={"status": "new"},
        after={"status": status, "questions": n, **(note or {})},
    )
    return n


def list_audit(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page:
    stmt = select(AuditEventRow)
    stmt = _where_equal(stmt, (AuditEventRow.actor, actor))
    if action:
        stmt = stmt.where(col(AuditEventRow.action).startswith(action))
    total, rows = _newest_page(session, stmt, AuditEventRow.id, limit, offset)
    return Page(rows, total, limit, offset)
