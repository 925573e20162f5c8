"""The staff API under /api/staff: the console's operations as JSON for scripts.

Authentication: `Authorization: Bearer <token>` (`chuangdai staff token USERNAME`); 401 without a
valid token, 403 when the role is too low (viewer: reads only; officer: reviews, replies,
broadcasts, imports, knowledge; admin: also staff accounts and the audit log). Errors are
`{"detail": "<Chinese message>"}`. Money is integer fen (`*_fen`), times ISO 8601 in UTC.

Also here: the broadcast worker (every 15 s, in processes with SCHEDULER_ENABLED) that fans out
scheduled broadcasts when their time comes and resumes a fan-out a crashed process left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    BackgroundTasks,
    FastAPI,
    File,
    Form,
    HTTPException,
    Query,
    UploadFile,
)
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from core import backoffice as bo
from core import broadcast as bc
from core.applications import STAGE_LABELS, cap_check
from core.audit import audit
from core.db import session_scope
from core.dispatch import requeue_notices
from core.faq_additions import FaqEditError
from core.handoff import close_ticket, staff_reply
from core.identity import mask_id_number, mask_phone
from core.importer import ImportReport
from core.models import (
    ApplicationRow,
    AuditEventRow,
    BroadcastRow,
    DocumentItemRow,
    HandoffMessageRow,
    HandoffTicketRow,
    InstallmentRow,
    LoanRow,
    NoticeRow,
    PaymentRow,
    PersonRow,
    StaffUserRow,
)
from core.review import advance, review_document
from core.staff import StaffError, create_staff, issue_api_token
from server import staff_services as svc
from server.auth import ApiAdmin, ApiOfficer, ApiViewer, install
from server.bootstrap import Container
from server.params import DbId, PageOffset

log = logging.getLogger(__name__)
WORKER_EVERY_SECONDS = 15.0
DOMAIN_ERRORS = svc.DOMAIN_ERRORS

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = PageOffset


def _fail(exc: Exception) -> HTTPException:
    text = str(exc)
    return HTTPException(404 if "不存在" in text else 409, text)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- JSON shapes ----------------------------------------------------------------------------------


def application_json(a: ApplicationRow, person_name: str | None = None) -> dict[str, Any]:
    return {
        "id": a.id,
        "stage": a.stage,
        "stage_label": STAGE_LABELS.get(a.stage, a.stage),
        "applicant_type": a.applicant_type,
        "category": a.category,
        "district": a.district,
        "person_id": a.person_id,
        "person_name": person_name,
        "requested_amount_fen": a.requested_amount_fen,
        "requested_term_months": a.requested_term_months,
        **intake_json(a),
        "policy": a.policy,
        "created_at": _iso(a.created_at),
        "stage_changed_at": _iso(a.stage_changed_at),
    }


def intake_json(a: ApplicationRow) -> dict[str, Any]:
    """What the intake collected, with the amount/term flagged against the policy caps."""
    caps = cap_check(a)
    profile = a.profile or {}
    return {
        "applicant_name": profile.get("applicant_name"),
        "business_type": a.business_type,
        "business_address": a.business_address,
        "planned_start": a.planned_start,
        "company_name": a.company_name,
        "member_names": profile.get("member_names") or [],
        "cap_amount_fen": caps.cap_amount_fen,
        "over_cap": caps.over_amount,
        "cap_term_months": caps.cap_term_months,
        "over_term_cap": caps.over_term,
    }


def document_json(d: DocumentItemRow) -> dict[str, Any]:
    return {
        "id": d.id,
        "code": d.code,
        "label": d.label,
        "status": d.status,
        "filename": d.filename,
        "content_type": d.content_type,
        "size_bytes": d.size_bytes,
        "sha256": d.sha256,
        "reject_reason": d.reject_reason,
        "received_at": _iso(d.received_at),
        "reviewed_at": _iso(d.reviewed_at),
        "reviewed_by": d.reviewed_by,
        "file_url": (
            f"/api/staff/applications/{d.application_id}/documents/{d.id}/file"
            if d.storage_key
            else None
        ),
    }


def notice_json(n: NoticeRow) -> dict[str, Any]:
    return {
        "id": n.id,
        "key": n.key,
        "kind": n.kind,
        "channel": n.channel,
        "address": mask_phone(n.address) if n.channel == "sms" else n.address,
        "template": n.template,
        "text": n.text,
        "status": n.status,
        "attempts": n.attempts,
        "last_error": n.last_error,
        "loan_id": n.loan_id,
        "broadcast_id": n.broadcast_id,
        "send_after": _iso(n.send_after),
        "sent_at": _iso(n.sent_at),
        "delivered_at": _iso(n.delivered_at),
        "created_at": _iso(n.created_at),
    }


def person_json(p: PersonRow | None, full_phone: bool = True) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "id": p.id,
        "name": p.name,
        "phone": p.phone if full_phone else mask_phone(p.phone),
        "id_number": mask_id_number(p.id_number),
        "district": p.district,
    }


def loan_json(ln: LoanRow, borrower_name: str | None = None) -> dict[str, Any]:
    return {
        "id": ln.id,
        "loan_no": ln.loan_no,
        "borrower_id": ln.borrower_id,
        "borrower_name": borrower_name,
        "amount_fen": ln.amount_fen,
        "annual_rate": str(ln.annual_rate),
        "disbursed_on": ln.disbursed_on.isoformat(),
        "term_months": ln.term_months,
        "maturity_on": ln.maturity_on.isoformat(),
        "repayment_method": ln.repayment_method,
        "subsidy_kind": ln.subsidy_kind,
        "status": ln.status,
        "bank": ln.bank,
        "district": ln.district,
    }


def installment_json(i: InstallmentRow, status: str | None = None) -> dict[str, Any]:
    """`status` is core.loan_status's (paid|due|overdue|not_due|nothing_due)."""
    return {
        "seq": i.seq,
        "due_on": i.due_on.isoformat(),
        "principal_fen": i.principal_fen,
        "interest_fen": i.interest_fen,
        "borrower_interest_fen": i.borrower_interest_fen,
        "paid_fen": i.paid_fen,
        "paid": i.paid,
        "paid_on": i.paid_on.isoformat() if i.paid_on else None,
        "status": status,
    }


def payment_json(p: PaymentRow) -> dict[str, Any]:
    return {
        "paid_on": p.paid_on.isoformat(),
        "amount_fen": p.amount_fen,
        "reference": p.reference,
    }


def ticket_json(t: HandoffTicketRow) -> dict[str, Any]:
    return {
        "id": t.id,
        "channel": t.channel,
        "address": mask_phone(t.address) if t.channel == "sms" else t.address,
        "question": t.question,
        "reason": t.reason,
        "status": t.status,
        "created_at": _iso(t.created_at),
        "closed_at": _iso(t.closed_at),
    }


def message_json(m: HandoffMessageRow) -> dict[str, Any]:
    return {
        "id": m.id,
        "sender": m.sender,
        "staff_user": m.staff_user,
        "text": m.text,
        "at": _iso(m.at),
    }


def staff_json(u: StaffUserRow) -> dict[str, Any]:
    return {
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role,
        "active": u.active,
        "has_api_token": u.api_token_hash is not None,
        "created_at": _iso(u.created_at),
    }


def broadcast_json(b: BroadcastRow, prog: bc.Progress | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": b.id,
        "title": b.title,
        "body": b.body,
        "sms_body": b.sms_body,
        "audience": b.audience,
        "status": bc.display_status(b, prog),
        "audience_size": b.audience_size,
        "created_by": b.created_by,
        "confirmed_by": b.confirmed_by,
        "scheduled_at": _iso(b.scheduled_at),
        "created_at": _iso(b.created_at),
        "updated_at": _iso(b.updated_at),
    }
    if prog is not None:
        out["progress"] = prog.to_json()
    return out


def audit_json(e: AuditEventRow) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": _iso(e.at),
        "actor": e.actor,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "before": e.before,
        "after": e.after,
    }


def page_json(page: bo.Page, items: list[Any]) -> dict[str, Any]:
    return {"total": page.total, "limit": page.limit, "offset": page.offset, "items": items}


def import_response(report: ImportReport) -> JSONResponse:
    body = report.to_dict()
    body["summary"] = report.summary()
    return JSONResponse(body, status_code=200 if report.imported else 422)


# --- request bodies ------------------------------------------------------------------------------


class ReviewIn(BaseModel):
    decision: Literal["accept", "reject"]
    reason: str | None = Field(default=None, max_length=200, description="退回原因（退回时必填）")


class AdvanceIn(BaseModel):
    to_stage: str | None = Field(default=None, description="目标阶段；省略则进入下一阶段")
    note: str | None = Field(default=None, max_length=500)


class IdsIn(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=1000)


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class ParaphraseIn(BaseModel):
    entry_id: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=200)
    normalized: str | None = Field(
        default=None, description="未答问题分组的归一化文本；给出则该组标记为已解决"
    )


class EntryIn(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    question: str = Field(min_length=1, max_length=200)
    paraphrases: list[str] = Field(default_factory=list, max_length=50)
    answer: str = Field(min_length=1, max_length=4000)
    short: str = Field(min_length=1, max_length=300)
    source: str = Field(min_length=1, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=20)
    handoff: bool = False
    normalized: str | None = None


class NormalizedIn(BaseModel):
    normalized: str = Field(min_length=1)


class AudienceIn(BaseModel):
    group: Literal["all", "applicants", "borrowers", "overdue"] = "all"
    stages: list[str] = Field(default_factory=list)
    districts: list[str] = Field(default_factory=list)
    channels: list[Literal["telegram", "sms"]] = ["telegram", "sms"]
    min_overdue_days: int = Field(default=1, ge=1)


class BroadcastIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=3500)
    sms_body: str | None = Field(default=None, max_length=500)
    audience: AudienceIn = Field(default_factory=AudienceIn)


class SendIn(BaseModel):
    scheduled_at: datetime | None = Field(
        default=None, description="定时发送时间（ISO 8601，带时区）；省略则立即发送"
    )


class StaffIn(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=10, max_length=200)
    role: Literal["admin", "officer", "viewer"]
    display_name: str | None = Field(default=None, max_length=64)


class StaffPatch(BaseModel):
    role: Literal["admin", "officer", "viewer"] | None = None
    active: bool | None = None
    display_name: str | None = Field(default=None, max_length=64)
    password: str | None = Field(default=None, min_length=10, max_length=200)


# --- routes ---------------------------------------------------------------------------------------


def mount(app: FastAPI, container: Container) -> None:
    """Add /api/staff/… and the broadcast worker to the app."""
    install(app, container)
    engine = container.engine
    r = APIRouter(prefix="/api/staff", tags=["staff"])

    def audience_of(body: AudienceIn) -> bc.Audience:
        try:
            return bc.Audience.from_json(body.model_dump())
        except bc.BroadcastError as exc:
            raise HTTPException(422, str(exc)) from exc

    @r.get("/me")
    def me(user: ApiViewer) -> dict[str, Any]:
        """The user behind the token."""
        return {"username": user.username, "display_name": user.display_name, "role": user.role}

    @r.get("/dashboard")
    def dashboard(user: ApiViewer) -> dict[str, Any]:
        """Applications by stage (late review steps), loans, overdue buckets, 5× fund limit."""
        return svc.build_dashboard(container).to_json()

    # applications
    @r.get("/applications")
    def applications(
        user: ApiViewer,
        stage: str | None = None,
        district: str | None = None,
        applicant_type: str | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Applications, newest first, filtered by stage, district and applicant type."""
        with session_scope(engine) as s:
            page = bo.list_applications(
                s,
                stage=stage,
                district=district,
                applicant_type=applicant_type,
                limit=limit,
                offset=offset,
            )
            return page_json(page, [application_json(i.app, i.person_name) for i in page.items])

    @r.get("/applications/{app_id}")
    def application(app_id: DbId, user: ApiViewer) -> dict[str, Any]:
        """One application: profile, pre-check result, documents, stage history, notices."""
        with session_scope(engine) as s:
            try:
                d = bo.application_detail(s, app_id)
            except bo.BackofficeError as exc:
                raise _fail(exc) from exc
            return {
                **application_json(d.app, d.person.name if d.person else None),
                "profile": d.app.profile,
                "precheck": d.app.precheck,
                "person": person_json(d.person),
                "channel": d.identity.channel if d.identity else None,
                "documents": [document_json(i) for i in d.documents],
                "documents_received": d.received,
                "documents_total": d.total_documents,
                "history": [
                    {
                        "from": h.from_stage,
                        "to": h.stage,
                        "at": _iso(h.at),
                        "actor": h.actor,
                        "note": h.note,
                    }
                    for h in d.history
                ],
                "next_stage": d.next_stage,
                "notices": [notice_json(n) for n in d.notices],
            }

    @r.get(
        "/applications/{app_id}/documents/{item_id}/file",
        response_class=Response,
        responses={200: {"content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}}}},
    )
    def document_file(app_id: DbId, item_id: DbId, user: ApiViewer) -> Response:
        """The stored file of a document (streamed; each view is audited)."""
        return svc.document_response(container, app_id, item_id, user)

    @r.post("/applications/{app_id}/documents/{item_id}/review")
    def review(app_id: DbId, item_id: DbId, body: ReviewIn, user: ApiOfficer) -> dict[str, Any]:
        """Accept or reject (with a reason) a document; the applicant is told on their channel."""
        try:
            with session_scope(engine) as s:
                res = review_document(
                    s,
                    app_id,
                    item_id,
                    accept=body.decision == "accept",
                    reason=body.reason,
                    actor=user.username,
                )
                return {**document_json(res.item), "applicant_notified": res.notified}
        except DOMAIN_ERRORS as exc:
            raise _fail(exc) from exc

    @r.post("/applications/{app_id}/advance")
    def advance_stage(app_id: DbId, body: AdvanceIn, user: ApiOfficer) -> dict[str, Any]:
        """Move to the next stage (or to rejected/withdrawn); the applicant is told."""
        try:
            with session_scope(engine) as s:
                res = advance(
                    s, app_id, actor=user.username, to_stage=body.to_stage, note=body.note
                )
                return {
                    **application_json(res.application),
                    "from_stage": res.from_stage,
                    "applicant_notified": res.notified,
                }
        except DOMAIN_ERRORS as exc:
            raise _fail(exc) from exc

    # loans and imports
    @r.get("/loans")
    def loans(
        user: ApiViewer,
        status: str | None = None,
        district: str | None = None,
        q: str | None = Query(default=None, description="贷款编号或借款人姓名（部分匹配）"),
        overdue: bool = False,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Loans, newest first; `overdue=true` keeps the active loans with an overdue instalment."""
        with session_scope(engine) as s:
            page = bo.list_loans(
                s,
                status=status,
                district=district,
                q=q,
                overdue_only=overdue,
                limit=limit,
                offset=offset,
            )
            return page_json(
                page,
                [
                    {
                        **loan_json(i.loan, i.borrower_name),
                        "overdue_since": i.overdue_since.isoformat() if i.overdue_since else None,
                    }
                    for i in page.items
                ],
            )

    @r.get("/loans/{loan_id}")
    def loan(loan_id: DbId, user: ApiViewer) -> dict[str, Any]:
        """One loan: borrower, schedule, payments, counter-guarantors and every notice."""
        with session_scope(engine) as s:
            try:
                d = bo.loan_detail(s, loan_id)
            except bo.BackofficeError as exc:
                raise _fail(exc) from exc
            return {
                **loan_json(d.loan, d.borrower.name if d.borrower else None),
                "borrower": person_json(d.borrower),
                "outstanding_principal_fen": d.outstanding_principal_fen,
                "paid_fen": d.paid_fen,
                "installments": [
                    installment_json(i, d.statuses.get(i.seq)) for i in d.installments
                ],
                "payments": [payment_json(p) for p in d.payments],
                "counter_guarantors": [
                    {"name": p.name, "phone": p.phone, "employer": g.employer}
                    for g, p in d.guarantors
                ],
                "notices": [notice_json(n) for n in d.notices],
            }

    @r.post("/imports/loans")
    async def import_loans(
        user: ApiOfficer,
        file: Annotated[UploadFile, File(description="贷款文件（CSV 或 XLSX）")],
        installments: Annotated[UploadFile | None, File(description="还款计划（可选）")] = None,
        skip_bad_rows: Annotated[bool, Form()] = False,
    ) -> JSONResponse:
        """Import loans like `chuangdai loans import` (422 with the row errors if nothing imported)."""
        limit = container.settings.max_import_mb * 1024 * 1024
        try:
            main = await svc.read_upload(file, "loans.csv", limit)
            inst = None
            if installments is not None and installments.filename:
                inst = await svc.read_upload(installments, "installments.csv", limit)
            report = await svc.run_import_off_thread(
                container,
                "loans",
                main,
                installments=inst,
                skip_bad_rows=skip_bad_rows,
                actor=user.username,
            )
        except svc.UploadRefused as exc:
            raise HTTPException(422, str(exc)) from exc
        return import_response(report)

    @r.post("/imports/payments")
    async def import_payments(
        user: ApiOfficer,
        file: Annotated[UploadFile, File(description="还款记录文件（CSV 或 XLSX）")],
        skip_bad_rows: Annotated[bool, Form()] = False,
    ) -> JSONResponse:
        """Import payments like `chuangdai payments import` (422 with row errors on failure)."""
        limit = container.settings.max_import_mb * 1024 * 1024
        try:
            main = await svc.read_upload(file, "payments.csv", limit)
            report = await svc.run_import_off_thread(
                container,
                "payments",
                main,
                skip_bad_rows=skip_bad_rows,
                actor=user.username,
            )
        except svc.UploadRefused as exc:
            raise HTTPException(422, str(exc)) from exc
        return import_response(report)

    # notices
    @r.get("/notices")
    def notices(
        user: ApiViewer,
        status: str | None = None,
        kind: str | None = None,
        channel: str | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Outbox notices, newest first, with counts per kind and status."""
        with session_scope(engine) as s:
            page = bo.list_notices(
                s, status=status, kind=kind, channel=channel, limit=limit, offset=offset
            )
            return {
                **page_json(page, [notice_json(n) for n in page.items]),
                "counts": bo.notice_counts_by_kind(s),
            }

    @r.post("/notices/requeue")
    def requeue(body: IdsIn, user: ApiOfficer) -> dict[str, Any]:
        """Give failed notices another round of attempts."""
        with session_scope(engine) as s:
            n = requeue_notices(s, body.ids)
            audit(
                s,
                user.username,
                "notice.requeue",
                "notice",
                None,
                after={"ids": body.ids[:100], "requeued": n},
            )
        return {"requeued": n}

    # hand-off
    @r.get("/handoff")
    def tickets(
        user: ApiViewer, status: str | None = "open", limit: Limit = 50, offset: Offset = 0
    ) -> dict[str, Any]:
        """Hand-off tickets (default: the open ones), newest first."""
        with session_scope(engine) as s:
            page = bo.list_tickets(s, status=status, limit=limit, offset=offset)
            return page_json(
                page,
                [
                    {**ticket_json(i.ticket), "messages": i.messages, "last_at": _iso(i.last_at)}
                    for i in page.items
                ],
            )

    @r.get("/handoff/{ticket_id}")
    def ticket(ticket_id: DbId, user: ApiViewer) -> dict[str, Any]:
        """A ticket and its conversation, with the delivery status of each staff reply."""
        with session_scope(engine) as s:
            try:
                t, messages, relays = bo.ticket_detail(s, ticket_id)
            except bo.BackofficeError as exc:
                raise _fail(exc) from exc
            status = {n.key: n.status for n in relays}
            return {
                **ticket_json(t),
                "messages": [
                    {**message_json(m), "delivery": status.get(f"relay:{m.id}")} for m in messages
                ],
            }

    @r.post("/handoff/{ticket_id}/reply")
    def reply(ticket_id: DbId, body: TextIn, user: ApiOfficer) -> dict[str, Any]:
        """Reply to the applicant (relayed on their channel through the outbox)."""
        try:
            with session_scope(engine) as s:
                msg = staff_reply(s, ticket_id, user.username, body.text)
                return message_json(msg)
        except DOMAIN_ERRORS as exc:
            raise _fail(exc) from exc

    @r.post("/handoff/{ticket_id}/close")
    def close(ticket_id: DbId, user: ApiOfficer) -> dict[str, Any]:
        """Close a ticket."""
        try:
            with session_scope(engine) as s:
                return ticket_json(close_ticket(s, ticket_id, user.username))
        except DOMAIN_ERRORS as exc:
            raise _fail(exc) from exc

    # knowledge
    @r.get("/knowledge/unanswered")
    def unanswered(
        user: ApiViewer,
        status: Literal["new", "resolved", "ignored"] = "new",
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Questions the bot could not answer, grouped by normalized text, most frequent first."""
        with session_scope(engine) as s:
            page = bo.unanswered_groups(s, status=status, limit=limit, offset=offset)
            return page_json(
                page,
                [
                    {
                        "normalized": g.normalized,
                        "count": g.count,
                        "sample": g.sample,
                        "last_at": _iso(g.last_at),
                        "best_entry_id": g.best_entry_id,
                        "channels": g.channels,
                    }
                    for g in page.items
                ],
            )

    @r.get("/knowledge/entries")
    def entries(user: ApiViewer) -> list[dict[str, Any]]:
        """FAQ entries in service (id, question, file, kind)."""
        return [
            {"id": e.id, "question": e.question, "file": e.file, "kind": e.kind}
            for e in svc.kb_of(container).entries
        ]

    @r.post("/knowledge/paraphrase")
    def paraphrase(body: ParaphraseIn, user: ApiOfficer) -> dict[str, Any]:
        """Add a paraphrase to an entry (staff_additions.yaml, validated); reload to apply."""
        try:
            written = svc.add_paraphrase_for(
                container, body.normalized or "", body.entry_id, body.text, user.username
            )
        except FaqEditError as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"entry_id": written}

    @r.post("/knowledge/entries")
    def new_entry(body: EntryIn, user: ApiOfficer) -> dict[str, Any]:
        """Add a new FAQ entry (staff_additions.yaml, validated); reload to apply."""
        fields = body.model_dump()
        fields["entry_id"] = fields.pop("id")
        try:
            written = svc.add_entry_for(container, body.normalized or "", fields, user.username)
        except FaqEditError as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"entry_id": written}

    @r.post("/knowledge/unanswered/ignore")
    def ignore(body: NormalizedIn, user: ApiOfficer) -> dict[str, Any]:
        """Mark a group of unanswered questions as ignored."""
        with session_scope(engine) as s:
            return {
                "ignored": bo.resolve_group(
                    s, body.normalized, status="ignored", actor=user.username
                )
            }

    @r.post("/knowledge/reload")
    def reload(user: ApiOfficer) -> dict[str, Any]:
        """Reload the knowledge base without restart (a broken file keeps the old one: 422)."""
        try:
            changed, count = svc.reload_kb(container, user.username)
        except Exception as exc:
            raise HTTPException(422, f"重新加载失败，仍使用原知识库：{exc}") from exc
        return {"reloaded": changed, "entries": count}

    # broadcasts
    @r.get("/broadcasts")
    def broadcasts(user: ApiViewer, limit: Limit = 50, offset: Offset = 0) -> list[dict[str, Any]]:
        """Broadcasts, newest first, with delivery progress."""
        with session_scope(engine) as s:
            return [
                broadcast_json(b, bc.progress(s, b.id or 0))
                for b in bc.list_broadcasts(s, limit=limit, offset=offset)
            ]

    @r.post("/broadcasts", status_code=201)
    def create_broadcast(body: BroadcastIn, user: ApiOfficer) -> dict[str, Any]:
        """Save a draft announcement (nothing is sent yet)."""
        audience = audience_of(body.audience)
        try:
            with session_scope(engine) as s:
                row = bc.create_draft(
                    s,
                    title=body.title,
                    body=body.body,
                    sms_body=body.sms_body,
                    audience=audience,
                    actor=user.username,
                )
                return broadcast_json(row)
        except bc.BroadcastError as exc:
            raise HTTPException(422, str(exc)) from exc

    @r.get("/broadcasts/{bid}")
    def get_broadcast(bid: DbId, user: ApiViewer) -> dict[str, Any]:
        """A broadcast and its progress (queued, sent, delivered, failed, cancelled)."""
        with session_scope(engine) as s:
            try:
                row = bc.get(s, bid)
            except bc.BroadcastError as exc:
                raise _fail(exc) from exc
            return broadcast_json(row, bc.progress(s, bid))

    @r.put("/broadcasts/{bid}")
    def update_broadcast(bid: DbId, body: BroadcastIn, user: ApiOfficer) -> dict[str, Any]:
        """Change a draft."""
        audience = audience_of(body.audience)
        try:
            with session_scope(engine) as s:
                row = bc.update_draft(
                    s,
                    bid,
                    title=body.title,
                    body=body.body,
                    sms_body=body.sms_body,
                    audience=audience,
                    actor=user.username,
                )
                return broadcast_json(row)
        except bc.BroadcastError as exc:
            raise _fail(exc) from exc

    @r.get("/broadcasts/{bid}/preview")
    def preview(bid: DbId, user: ApiViewer) -> dict[str, Any]:
        """Telegram and SMS texts, SMS segments and cost, audience size per channel."""
        with session_scope(engine) as s:
            try:
                row = bc.get(s, bid)
            except bc.BroadcastError as exc:
                raise _fail(exc) from exc
            return bc.preview(s, row, svc.sms_cost(container), svc.threshold(container)).to_json()

    @r.post("/broadcasts/{bid}/send")
    def send(
        bid: DbId, user: ApiOfficer, background: BackgroundTasks, body: SendIn | None = None
    ) -> dict[str, Any]:
        """Send now or at `scheduled_at`; above the threshold another officer must confirm."""
        try:
            with session_scope(engine) as s:
                row = bc.request_send(
                    s,
                    bid,
                    user.username,
                    threshold=svc.threshold(container),
                    scheduled_at=body.scheduled_at if body else None,
                )
                out = broadcast_json(row)
        except bc.BroadcastError as exc:
            raise _fail(exc) from exc
        if row.status == "fanout":
            background.add_task(svc.run_fan_out, engine, bid, svc.sms_cost(container))
        return out

    @r.post("/broadcasts/{bid}/confirm")
    def confirm(bid: DbId, user: ApiOfficer, background: BackgroundTasks) -> dict[str, Any]:
        """Second-person confirmation of a large broadcast (not by the one who submitted it)."""
        try:
            with session_scope(engine) as s:
                row = bc.confirm(s, bid, user.username)
                out = broadcast_json(row)
        except bc.BroadcastError as exc:
            raise _fail(exc) from exc
        if row.status == "fanout":
            background.add_task(svc.run_fan_out, engine, bid, svc.sms_cost(container))
        return out

    @r.post("/broadcasts/{bid}/cancel")
    def cancel(bid: DbId, user: ApiOfficer) -> dict[str, Any]:
        """Cancel a broadcast; notices not yet handed to a sender are cancelled."""
        try:
            with session_scope(engine) as s:
                n = bc.cancel(s, bid, user.username)
                return {**broadcast_json(bc.get(s, bid)), "cancelled_notices": n}
        except bc.BroadcastError as exc:
            raise _fail(exc) from exc

    # staff accounts and audit (admins)
    @r.get("/users")
    def users(user: ApiAdmin) -> list[dict[str, Any]]:
        """Staff accounts."""
        with session_scope(engine) as s:
            return [staff_json(u) for u in bo.list_staff(s)]

    @r.post("/users", status_code=201)
    def create_user(body: StaffIn, user: ApiAdmin) -> dict[str, Any]:
        """Create a staff account."""
        try:
            with session_scope(engine) as s:
                return staff_json(
                    create_staff(
                        s,
                        body.username,
                        body.password,
                        body.role,
                        body.display_name,
                        actor=user.username,
                        hasher=container.hasher,
                    )
                )
        except StaffError as exc:
            raise HTTPException(422, str(exc)) from exc

    @r.patch("/users/{user_id}")
    def update_user(user_id: DbId, body: StaffPatch, user: ApiAdmin) -> dict[str, Any]:
        """Change role, active flag, display name or password (ends the user's sessions)."""
        try:
            with session_scope(engine) as s:
                u = bo.update_staff(
                    s,
                    user_id,
                    actor=user.username,
                    role=body.role,
                    active=body.active,
                    display_name=body.display_name,
                )
                if body.password:
                    bo.set_password(
                        s, user_id, body.password, actor=user.username, hasher=container.hasher
                    )
                return staff_json(u)
        except StaffError as exc:
            raise _fail(exc) from exc

    @r.post("/users/{user_id}/token")
    def new_token(user_id: DbId, user: ApiAdmin) -> dict[str, Any]:
        """Issue a new API token for a user (shown once; the old one stops working)."""
        with session_scope(engine) as s:
            target = s.get(StaffUserRow, user_id)
            if target is None:
                raise HTTPException(404, f"用户 {user_id} 不存在")
            return {"username": target.username, "token": issue_api_token(s, target, user.username)}

    @r.get("/audit")
    def audit_log(
        user: ApiAdmin,
        actor: str | None = None,
        action: str | None = Query(default=None, description="动作前缀，如 broadcast."),
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """The audit log: who did what, when, before/after."""
        with session_scope(engine) as s:
            page = bo.list_audit(s, actor=actor, action=action, limit=limit, offset=offset)
            return page_json(page, [audit_json(e) for e in page.items])

    app.include_router(r)
    _install_worker(app, container)


def _install_worker(app: FastAPI, container: Container) -> None:
    """Fan out scheduled broadcasts when due and resume interrupted fan-outs (every 15 s)."""
    if not container.settings.scheduler_enabled:
        return
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def loop() -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(bc.run_due, container.engine, sms=svc.sms_cost(container))
            except Exception:
                log.exception("broadcast worker failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=WORKER_EVERY_SECONDS)

    async def start(_app: FastAPI) -> None:
        stop.clear()
        tasks.append(asyncio.create_task(loop()))

    async def halt(_app: FastAPI) -> None:
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=30)
        tasks.clear()

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(halt)
