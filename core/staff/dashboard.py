"""The staff dashboard as a command: applications by stage (late review steps), loans, overdue
buckets, the 代偿 paid by the fund and the guarantee fund's leverage, from the active policy and the deployment's funds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session

from core.kernel.timeutil import local_today
from core.kernel.workdays import WorkCalendar
from core.staff import loan_actions
from core.staff import overview as dashboard
from knowledge.policy import Policy


@dataclass(frozen=True)
class Funds:
    """GUARANTEE_FUND_YUAN and GUARANTEE_FUNDS (per county)."""

    fund_yuan: int
    funds_yuan: Mapping[str, int] = field(default_factory=dict)


def build(
    session: Session,
    policy: Policy,
    calendar: WorkCalendar,
    funds: Funds,
    today: date | None = None,
) -> dashboard.Dashboard:
    steps = {kind: policy.step_days(kind) for kind in ("individual", "enterprise")}
    board = dashboard.build(
        session,
        step_days=steps,
        calendar=calendar,
        today=today or local_today(),
        fund_yuan=funds.fund_yuan,
        funds_yuan=funds.funds_yuan,
        leverage=policy.guarantee_fund.leverage,
        leverage_article=policy.guarantee_fund.article,
    )
    board.compensated_count, board.compensated_fen = loan_actions.compensation_totals(session)
    return board
