"""Application services: open an application from a pre-check, its checklist, stages and status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from core.kernel.errors import Conflict
from core.kernel.labels import labels
from core.kernel.timeutil import local_today, to_local, utcnow
from core.kernel.workdays import WorkCalendar
from core.persistence.audit import audit
from core.persistence.models import (
    ApplicationRow,
    ApplicationStageRow,
    DocumentItemRow,
    Stage,
)

STAGE_LABELS = labels("stage")

# The forward path; rejected/withdrawn may be reached from any open stage.
FORWARD: list[str] = [
    Stage.DRAFT,
    Stage.SUBMITTED,
    Stage.COMMUNITY_REVIEW,
    Stage.STREET_REVIEW,
    Stage.GUARANTEE_REVIEW,
    Stage.BANK_REVIEW,
    Stage.APPROVED,
    Stage.DISBURSED,
]
ENTERPRISE_FORWARD: list[str] = [
    Stage.DRAFT,
    Stage.SUBMITTED,
    Stage.GUARANTEE_REVIEW,
    Stage.BANK_REVIEW,
    Stage.APPROVED,
    Stage.DISBURSED,
]
CLOSED = {Stage.DISBURSED, Stage.REJECTED, Stage.WITHDRAWN}


class StageError(Conflict):
    """A stage change that is not allowed; the message is Chinese."""


def forward_path(applicant_type: str) -> list[str]:
    return ENTERPRISE_FORWARD if applicant_type == "enterprise" else FORWARD


def next_stage(app: ApplicationRow) -> str | None:
    path = forward_path(app.applicant_type)
    if app.stage not in path:
        return None
    i = path.index(app.stage)
    return path[i + 1] if i + 1 < len(path) else None


def open_application(
    session: Session,
    *,
    identity_id: int | None,
    person_id: int | None,
    profile: dict[str, Any],
    decision: dict[str, Any],
    documents: list[str],
    policy_name: str,
    district: str | None = None,
) -> ApplicationRow:
    """Create a draft application with its document checklist (from the policy file)."""
    amount = profile.get("amount")
    app = ApplicationRow(
        person_id=person_id,
        identity_id=identity_id,
        applicant_type=str(profile.get("applicant_type", "individual")),
        category=profile.get("category"),
        profile=profile,
        precheck=decision,
        policy=policy_name,
        requested_amount_fen=int(amount) * 100 if isinstance(amount, int | float) else None,
        requested_term_months=profile.get("term_months"),
        district=district,
        stage=Stage.DRAFT,
    )
    session.add(app)
    session.flush()
    assert app.id is not None
    session.add(ApplicationStageRow(application_id=app.id, stage=Stage.DRAFT, actor="applicant"))
    for i, label in enumerate(documents, start=1):
        session.add(DocumentItemRow(application_id=app.id, code=f"d{i:02d}", label=label))
    session.flush()
    return app


def change_stage(
    session: Session, app: ApplicationRow, to_stage: str, actor: str, note: str | None = None
) -> None:
    """Move an application; forward one step along its path, or to rejected/withdrawn."""
    if to_stage not in {s.value for s in Stage}:
        raise StageError(f"未知的阶段：{to_stage}")
    if app.stage in CLOSED:
        raise StageError("该申请已结束，不能再变更阶段")
    if to_stage not in (Stage.REJECTED, Stage.WITHDRAWN) and to_stage != next_stage(app):
        raise StageError(
            f"不能从「{STAGE_LABELS[app.stage]}」直接变更为「{STAGE_LABELS[to_stage]}」"
        )
    before = app.stage
    now = utcnow()
    app.stage = to_stage
    app.stage_changed_at = now
    app.updated_at = now
    session.add(app)
    assert app.id is not None
    session.add(
        ApplicationStageRow(
            application_id=app.id, from_stage=before, stage=to_stage, actor=actor, note=note, at=now
        )
    )
    audit(
        session,
        actor,
        "application.stage",
        "application",
        app.id,
        before={"stage": before},
        after={"stage": to_stage, "note": note},
    )


def checklist(session: Session, application_id: int) -> list[DocumentItemRow]:
    return list(
        session.exec(
            select(DocumentItemRow)
            .where(DocumentItemRow.application_id == application_id)
            .order_by(col(DocumentItemRow.code))
        )
    )


@dataclass(frozen=True)
class Progress:
    received: int
    total: int
    missing: list[DocumentItemRow]


def progress(items: list[DocumentItemRow]) -> Progress:
    done = [i for i in items if i.status in ("received", "accepted")]
    missing = [i for i in items if i.status in ("missing", "rejected")]
    return Progress(received=len(done), total=len(items), missing=missing)


def expected_by(
    app: ApplicationRow, calendar: WorkCalendar, step_days: dict[str, int], total_days: int
) -> date | None:
    """Latest expected disbursement date: the working days left from the current stage.

    Before submission, counted from today; afterwards from when the current stage began, using the
    policy's per-step limits (time spent supplementing materials is not counted by the policy, so
    this is the date if nothing is missing)."""
    if app.stage in CLOSED or app.stage == Stage.APPROVED:
        return None
    if app.stage in (Stage.DRAFT, Stage.SUBMITTED):
        start = local_today() if app.stage == Stage.DRAFT else to_local(app.stage_changed_at).date()
        return calendar.add_workdays(start, total_days)
    path = forward_path(app.applicant_type)
    remaining = 0
    counting = False
    for stage in path:
        if stage == app.stage:
            counting = True
        if counting:
            remaining += step_days.get(stage, 0)
    return calendar.add_workdays(to_local(app.stage_changed_at).date(), remaining)


def applications_for_identity(session: Session, identity_id: int) -> list[ApplicationRow]:
    return list(
        session.exec(
            select(ApplicationRow)
            .where(ApplicationRow.identity_id == identity_id)
            .order_by(col(ApplicationRow.id).desc())
        )
    )


@dataclass(frozen=True)
class CapCheck:
    """The amount and term asked against the caps of the pre-check (flagged to staff when above)."""

    cap_amount_fen: int | None
    over_amount: bool
    cap_term_months: int | None
    over_term: bool


def cap_check(app: ApplicationRow) -> CapCheck:
    decision = app.precheck or {}
    cap = decision.get("max_amount")
    cap_fen = int(cap) * 100 if isinstance(cap, int) and cap > 0 else None
    term = decision.get("max_term_months")
    cap_term = int(term) if isinstance(term, int) and term > 0 else None
    asked, months = app.requested_amount_fen, app.requested_term_months
    return CapCheck(
        cap_amount_fen=cap_fen,
        over_amount=bool(cap_fen and asked and asked > cap_fen),
        cap_term_months=cap_term,
        over_term=bool(cap_term and months and months > cap_term),
    )
