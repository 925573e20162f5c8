"""Staff review of applications: accept or reject a document, move to the next stage.

Each change is audited and the applicant is told on the channel they used (the application's
chat, else a verified Telegram or WeChat chat of the person, else SMS to the number on file), through the
outbox with the templates `document_accepted`, `document_rejected` and `stage_changed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from core.applications.lifecycle import STAGE_LABELS, change_stage, checklist, next_stage
from core.kernel.errors import Conflict, NotFound
from core.kernel.timeutil import utcnow
from core.outbox.enqueue import enqueue
from core.outbox.reach import mobile_address
from core.outbox.senders import CHAT_CHANNELS
from core.outbox.templates import render
from core.persistence.audit import audit
from core.persistence.models import ApplicationRow, ChannelIdentityRow, DocumentItemRow

REVIEW_KIND = "review"


class ReviewError(Conflict):
    """A review action that cannot be done; the message is Chinese."""


class ReviewNotFound(NotFound, ReviewError):
    """No such application or document."""


@dataclass(frozen=True)
class Address:
    channel: str
    address: str
    identity_id: int | None


def applicant_address(session: Session, app: ApplicationRow) -> Address | None:
    """Where to tell the applicant: their application's chat, else the person's channels."""
    if app.identity_id is not None:
        ident = session.get(ChannelIdentityRow, app.identity_id)
        if (
            ident is not None
            and not ident.unreachable
            and ident.channel in ("telegram", "wechat", "sms")
        ):
            return Address(ident.channel, ident.address, ident.id)
    if app.person_id is None:
        return None
    chat = session.exec(
        select(ChannelIdentityRow)
        .where(
            ChannelIdentityRow.person_id == app.person_id,
            col(ChannelIdentityRow.channel).in_(CHAT_CHANNELS),
            col(ChannelIdentityRow.verified).is_(True),
            col(ChannelIdentityRow.unreachable).is_(False),
        )
        .order_by(col(ChannelIdentityRow.id).desc())
    ).first()
    if chat is not None:
        return Address(chat.channel, chat.address, chat.id)
    mobile = mobile_address(session, app.person_id)
    return Address("sms", *mobile) if mobile is not None else None


def _notify(
    session: Session,
    app: ApplicationRow,
    key: str,
    template: str,
    params: dict[str, Any],
) -> bool:
    """Queue a notice to the applicant; False when there is no way to reach them."""
    where = applicant_address(session, app)
    if where is None:
        return False
    return enqueue(
        session,
        key=key,
        kind=REVIEW_KIND,
        channel=where.channel,
        address=where.address,
        identity_id=where.identity_id,
        person_id=app.person_id,
        text=render(template, where.channel, params),
        template=template,
        params=params,
    )


@dataclass(frozen=True)
class ReviewResult:
    item: DocumentItemRow
    notified: bool


def review_document(
    session: Session,
    application_id: int,
    item_id: int,
    *,
    accept: bool,
    reason: str | None,
    actor: str,
) -> ReviewResult:
    """Accept or reject a received document (a reason is required to reject)."""
    app = session.get(ApplicationRow, application_id)
    item = session.get(DocumentItemRow, item_id)
    if app is None or item is None or item.application_id != application_id:
        raise ReviewNotFound("材料不存在")
    if item.status == "missing" or not item.storage_key:
        raise ReviewError("申请人尚未提交这项材料，无法审核")
    reason = (reason or "").strip()
    if not accept and not reason:
        raise ReviewError("退回材料时请填写原因，申请人会收到这条原因")
    if len(reason) > 200:
        raise ReviewError("原因不能超过200字")
    status = "accepted" if accept else "rejected"
    before = {"status": item.status, "reject_reason": item.reject_reason}
    now = utcnow()
    item.status = status
    item.reject_reason = None if accept else reason
    item.reviewed_at = now
    item.reviewed_by = actor
    session.add(item)
    session.flush()
    audit(
        session,
        actor,
        f"document.{'accept' if accept else 'reject'}",
        "document_item",
        item.id,
        before=before,
        after={"status": status, "reject_reason": item.reject_reason},
    )
    items = checklist(session, application_id)
    index = next((i for i, it in enumerate(items, start=1) if it.id == item.id), 1)
    stamp = now.strftime("%Y%m%d%H%M%S%f")
    if accept:
        notified = _notify(
            session,
            app,
            f"review:{item.id}:accepted:{stamp}",
            "document_accepted",
            {"label": item.label},
        )
    else:
        notified = _notify(
            session,
            app,
            f"review:{item.id}:rejected:{stamp}",
            "document_rejected",
            {"index": index, "label": item.label, "reason": reason},
        )
    return ReviewResult(item, notified)


@dataclass(frozen=True)
class StageResult:
    application: ApplicationRow
    from_stage: str
    to_stage: str
    notified: bool


def advance(
    session: Session,
    application_id: int,
    *,
    actor: str,
    to_stage: str | None = None,
    note: str | None = None,
) -> StageResult:
    """Move to `to_stage` (default: the next stage of the path) and tell the applicant."""
    app = session.get(ApplicationRow, application_id)
    if app is None:
        raise ReviewNotFound(f"申请 {application_id} 不存在")
    target = to_stage or next_stage(app)
    if target is None:
        raise ReviewError("该申请已在最后阶段，没有下一阶段")
    before = app.stage
    note = (note or "").strip()[:500] or None
    change_stage(session, app, target, actor, note)  # raises StageError with a Chinese message
    session.flush()
    assert app.id is not None
    notified = _notify(
        session,
        app,
        f"stage:{app.id}:{target}",
        "stage_changed",
        {"app_id": app.id, "stage": STAGE_LABELS.get(target, target)},
    )
    return StageResult(app, before, target, notified)
