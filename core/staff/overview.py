"""The console's dashboard figures (pure reads).

- Applications by stage; an application in a review step longer than the policy's working-day
  limit for that step (兰州 第十三条 / 第十六条: community 4, street 2, guarantee 6, bank 6 working
  days; enterprises 10 + 10) is flagged, counted with `WorkCalendar.workdays_between` from the
  day the stage began.
- Loans: active loans, outstanding principal, overdue loans in buckets of days past the oldest
  unpaid due date (1–30, 31–90, 90+).
- Leverage: outstanding principal against 5× the guarantee fund (兰州 第十二条: “贷款余额不得超过
  小额贷款担保基金的5倍”), overall (GUARANTEE_FUND_YUAN) and **per handling bank** against the fund
  of its county/district (第八条: funds are raised by county/district finance and held at the
  handling bank): GUARANTEE_FUNDS gives the fund per district, GUARANTEE_FUND_YUAN the fund of a
  district not listed. The multiple comes from the policy file (`guarantee_fund.leverage`).

Outstanding principal counts each unpaid instalment's principal less what was paid on it beyond
its interest (payments settle the borrower's interest first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlmodel import Session

from core.applications.lifecycle import STAGE_LABELS, forward_path
from core.kernel.labels import labels
from core.kernel.timeutil import to_local
from core.kernel.workdays import WorkCalendar
from core.loans.status import BUCKETS, bucket_of, days_overdue, overdue_clause
from core.persistence.models import ApplicationRow, InstallmentRow, LoanRow, NoticeRow, Stage
from core.persistence.sql import chunks
from core.persistence.sql import table as _t

LEVERAGE = 5  # 兰州 第十二条
BUCKET_LABELS = labels("overdue_bucket")
STAGE_ORDER: tuple[str, ...] = tuple(s.value for s in Stage)


@dataclass(frozen=True)
class LateApplication:
    id: int
    stage: str
    applicant_type: str
    district: str | None
    days_in_stage: int  # working days since the stage began
    limit: int


@dataclass(frozen=True)
class StageCount:
    stage: str
    label: str
    count: int
    late: int
    limit: int | None  # working-day limit of the step (individual procedure), if any


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    loans: int
    overdue_fen: int  # unpaid amounts already due
    outstanding_fen: int  # outstanding principal of these loans


class _LeverageUse:
    """Outstanding principal against leverage × a guarantee fund (兰州 第十二条)."""

    fund_fen: int
    leverage: int
    outstanding_fen: int

    @property
    def limit_fen(self) -> int:
        return self.fund_fen * self.leverage

    @property
    def usage_percent(self) -> float:
        return 0.0 if self.limit_fen == 0 else round(100 * self.outstanding_fen / self.limit_fen, 1)

    @property
    def over_limit(self) -> bool:
        return self.outstanding_fen > self.limit_fen


@dataclass(frozen=True)
class BankUse(_LeverageUse):
    """One handling bank's balance in one county/district against leverage × that fund."""

    district: str | None
    bank: str | None
    loans: int
    outstanding_fen: int
    fund_fen: int
    fund_listed: bool  # False: the district is not in GUARANTEE_FUNDS (default fund used)
    leverage: int

    def to_json(self) -> dict[str, Any]:
        return {
            "district": self.district,
            "bank": self.bank,
            "loans": self.loans,
            "outstanding_fen": self.outstanding_fen,
            "fund_fen": self.fund_fen,
            "fund_listed": self.fund_listed,
            "limit_fen": self.limit_fen,
            "usage_percent": self.usage_percent,
            "over_limit": self.over_limit,
        }


@dataclass
class Dashboard(_LeverageUse):
    today: date
    stages: list[StageCount]
    late: list[LateApplication]
    applications_total: int
    active_loans: int
    outstanding_fen: int
    buckets: list[Bucket]
    fund_fen: int
    leverage: int = LEVERAGE
    notices: dict[str, int] = field(default_factory=dict)
    banks: list[BankUse] = field(default_factory=list)
    leverage_article: str = "兰政发〔2013〕76号 第十二条"
    compensated_count: int = 0  # 代偿 in force (core/staff/loan_actions.py)
    compensated_fen: int = 0

    @property
    def overdue_loans(self) -> int:
        return sum(b.loans for b in self.buckets)

    def to_json(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "applications": {
                "total": self.applications_total,
                "by_stage": [
                    {
                        "stage": s.stage,
                        "label": s.label,
                        "count": s.count,
                        "late": s.late,
                        "limit_workdays": s.limit,
                    }
                    for s in self.stages
                ],
                "late": [
                    {
                        "id": a.id,
                        "stage": a.stage,
                        "applicant_type": a.applicant_type,
                        "district": a.district,
                        "workdays_in_stage": a.days_in_stage,
                        "limit_workdays": a.limit,
                    }
                    for a in self.late
                ],
            },
            "loans": {
                "active": self.active_loans,
                "outstanding_fen": self.outstanding_fen,
                "overdue": [
                    {
                        "bucket": b.key,
                        "label": b.label,
                        "loans": b.loans,
                        "overdue_fen": b.overdue_fen,
                        "outstanding_fen": b.outstanding_fen,
                        "loans_url": "/api/staff/loans?" + urlencode({"overdue_days": b.key}),
                    }
                    for b in self.buckets
                ],
                "compensated": {
                    "count": self.compensated_count,
                    "amount_fen": self.compensated_fen,
                },
            },
            "guarantee": {
                "fund_fen": self.fund_fen,
                "leverage": self.leverage,
                "limit_fen": self.limit_fen,
                "outstanding_fen": self.outstanding_fen,
                "usage_percent": self.usage_percent,
                "over_limit": self.over_limit,
                "article": self.leverage_article,
                "banks": [b.to_json() for b in self.banks],
            },
            "notices": self.notices,
        }


def _outstanding_expr(i: sa.Table) -> Any:
    """Outstanding principal of one instalment (0 once paid)."""
    beyond_interest = i.c.paid_fen - i.c.borrower_interest_fen
    principal_paid = sa.case((beyond_interest > 0, beyond_interest), else_=0)
    left = i.c.principal_fen - principal_paid
    return sa.case((i.c.paid == sa.true(), 0), (left > 0, left), else_=0)


def _late_applications(
    session: Session,
    step_days: Mapping[str, Mapping[str, int]],
    calendar: WorkCalendar,
    today: date,
) -> list[LateApplication]:
    """Applications in a review stage longer than its working-day limit."""
    a = _t(ApplicationRow)
    review_stages = sorted({s for limits in step_days.values() for s in limits})
    late: list[LateApplication] = []
    if review_stages:
        rows = session.execute(
            sa.select(a.c.id, a.c.stage, a.c.applicant_type, a.c.district, a.c.stage_changed_at)
            .where(a.c.stage.in_(review_stages))
            .order_by(a.c.stage_changed_at)
        )
        for r in rows:
            kind = "enterprise" if r.applicant_type == "enterprise" else "individual"
            limit = step_days.get(kind, {}).get(r.stage)
            if limit is None or r.stage not in forward_path(r.applicant_type):
                continue
            days = calendar.workdays_between(to_local(r.stage_changed_at).date(), today)
            if days > limit:
                late.append(
                    LateApplication(
                        int(r.id), str(r.stage), str(r.applicant_type), r.district, days, limit
                    )
                )
    return late


def _overdue_buckets(session: Session, today: date) -> list[Bucket]:
    """Overdue loans by days overdue: count, amount overdue, outstanding principal."""
    ln, i = _t(LoanRow), _t(InstallmentRow)
    active = ln.c.status == "active"
    due_left = i.c.principal_fen + i.c.borrower_interest_fen - i.c.paid_fen
    overdue_rows = session.execute(
        sa.select(
            i.c.loan_id,
            sa.func.min(i.c.due_on),
            sa.func.sum(sa.case((due_left > 0, due_left), else_=0)),
        )
        .select_from(i.join(ln, ln.c.id == i.c.loan_id))
        .where(active, overdue_clause(i, today))
        .group_by(i.c.loan_id)
    ).all()
    per_loan: dict[str, list[tuple[int, int]]] = {key: [] for key, _, _ in BUCKETS}
    for loan_id, oldest, amount in overdue_rows:
        key = bucket_of(days_overdue(oldest, today))
        if key is not None:
            per_loan[key].append((int(loan_id), int(amount or 0)))
    outstanding_by_loan: dict[int, int] = {}
    overdue_ids = [lid for items in per_loan.values() for lid, _ in items]
    for chunk in chunks(overdue_ids, 2000):
        for loan_id, left in session.execute(
            sa.select(i.c.loan_id, sa.func.sum(_outstanding_expr(i)))
            .where(i.c.loan_id.in_(chunk), i.c.paid == sa.false())
            .group_by(i.c.loan_id)
        ):
            outstanding_by_loan[int(loan_id)] = int(left or 0)
    buckets = [
        Bucket(
            key,
            BUCKET_LABELS[key],
            len(per_loan[key]),
            sum(amount for _, amount in per_loan[key]),
            sum(outstanding_by_loan.get(lid, 0) for lid, _ in per_loan[key]),
        )
        for key, _, _ in BUCKETS
    ]
    return buckets


def build(
    session: Session,
    *,
    step_days: Mapping[str, Mapping[str, int]],
    calendar: WorkCalendar,
    today: date,
    fund_yuan: int,
    funds_yuan: Mapping[str, int] | None = None,
    leverage: int = LEVERAGE,
    leverage_article: str = "兰政发〔2013〕76号 第十二条",
) -> Dashboard:
    """The dashboard as of `today` (local date). `step_days`: applicant type → stage → limit."""
    a, ln, i = _t(ApplicationRow), _t(LoanRow), _t(InstallmentRow)
    counts = {
        str(stage): int(n)
        for stage, n in session.execute(sa.select(a.c.stage, sa.func.count()).group_by(a.c.stage))
    }
    late = _late_applications(session, step_days, calendar, today)
    late_by_stage: dict[str, int] = {}
    for app in late:
        late_by_stage[app.stage] = late_by_stage.get(app.stage, 0) + 1
    individual = step_days.get("individual", {})
    stages = [
        StageCount(
            s,
            STAGE_LABELS.get(s, s),
            counts.get(s, 0),
            late_by_stage.get(s, 0),
            individual.get(s),
        )
        for s in STAGE_ORDER
    ]

    active = ln.c.status == "active"
    active_loans = int(
        session.execute(sa.select(sa.func.count()).select_from(ln).where(active)).scalar_one()
    )
    outstanding = int(
        session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(_outstanding_expr(i)), 0))
            .select_from(i.join(ln, ln.c.id == i.c.loan_id))
            .where(active, i.c.paid == sa.false())
        ).scalar_one()
    )
    buckets = _overdue_buckets(session, today)
    n = _t(NoticeRow)
    notices = {
        str(s): int(c)
        for s, c in session.execute(sa.select(n.c.status, sa.func.count()).group_by(n.c.status))
    }
    banks = _bank_use(session, funds_yuan or {}, fund_yuan, leverage)
    return Dashboard(
        today=today,
        stages=stages,
        late=late,
        applications_total=sum(counts.values()),
        active_loans=active_loans,
        outstanding_fen=outstanding,
        buckets=buckets,
        fund_fen=int(fund_yuan) * 100,
        leverage=leverage,
        notices=notices,
        banks=banks,
        leverage_article=leverage_article,
    )


def _bank_use(
    session: Session, funds_yuan: Mapping[str, int], default_yuan: int, leverage: int
) -> list[BankUse]:
    """Outstanding principal of active loans per (district, handling bank), fullest first."""
    ln, i = _t(LoanRow), _t(InstallmentRow)
    rows = session.execute(
        sa.select(
            ln.c.district,
            ln.c.bank,
            sa.func.count(sa.distinct(ln.c.id)),
            sa.func.coalesce(sa.func.sum(_outstanding_expr(i)), 0),
        )
        .select_from(i.join(ln, ln.c.id == i.c.loan_id))
        .where(ln.c.status == "active", i.c.paid == sa.false())
        .group_by(ln.c.district, ln.c.bank)
    ).all()
    out = [
        BankUse(
            district=district,
            bank=bank,
            loans=int(n),
            outstanding_fen=int(amount),
            fund_fen=int(funds_yuan.get(district or "", default_yuan)) * 100,
            fund_listed=(district or "") in funds_yuan,
            leverage=leverage,
        )
        for district, bank, n, amount in rows
    ]
    return sorted(out, key=lambda b: (-b.usage_percent, b.district or "", b.bank or ""))
