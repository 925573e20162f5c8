"""The staff API's JSON shapes: one function per object, shared by every API router (money in
integer fen, times ISO 8601 UTC, SMS addresses masked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse

from core.applications.lifecycle import STAGE_LABELS, cap_check
from core.broadcasts import progress as bc_progress
from core.kernel.identity import mask_id_number, mask_phone
from core.kernel.quiet_hours import QuietHours
from core.kernel.timeutil import utcnow
from core.loans.importing import ImportReport
from core.outbox.held import held_reason, quiet_now
from core.persistence.models import (
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
from core.staff import loan_actions
from core.staff import queries as bo


def iso(value: datetime | None) -> str | None:
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
        "created_at": iso(a.created_at),
        "stage_changed_at": iso(a.stage_changed_at),
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
        "received_at": iso(d.received_at),
        "reviewed_at": iso(d.reviewed_at),
        "reviewed_by": d.reviewed_by,
        "file_url": (
            f"/api/staff/applications/{d.application_id}/documents/{d.id}/file"
            if d.storage_key
            else None
        ),
    }


def notice_json(n: NoticeRow, quiet: QuietHours | None = None) -> dict[str, Any]:
    """A notice; with the deployment's quiet hours, why it is held (`held_reason`, its label)."""
    held = held_reason(n, utcnow(), quiet) if quiet is not None else None
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
        "send_after": iso(n.send_after),
        "sent_at": iso(n.sent_at),
        "delivered_at": iso(n.delivered_at),
        "created_at": iso(n.created_at),
        "held_reason": held.code if held else None,
        "held_reason_label": held.label if held else None,
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
    """`status` is core.loans.status's (paid|due|overdue|not_due|nothing_due)."""
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
        "source": p.source,
        "source_label": loan_actions.label("payment_source", p.source),
    }


def ticket_json(t: HandoffTicketRow) -> dict[str, Any]:
    return {
        "id": t.id,
        "channel": t.channel,
        "address": mask_phone(t.address) if t.channel == "sms" else t.address,
        "question": t.question,
        "reason": t.reason,
        "status": t.status,
        "created_at": iso(t.created_at),
        "closed_at": iso(t.closed_at),
    }


def message_json(m: HandoffMessageRow) -> dict[str, Any]:
    return {
        "id": m.id,
        "sender": m.sender,
        "staff_user": m.staff_user,
        "text": m.text,
        "at": iso(m.at),
    }


def staff_json(u: StaffUserRow) -> dict[str, Any]:
    return {
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role,
        "active": u.active,
        "has_api_token": u.api_token_hash is not None,
        "created_at": iso(u.created_at),
    }


def broadcast_json(
    b: BroadcastRow, prog: bc_progress.Progress | None = None, quiet: QuietHours | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": b.id,
        "title": b.title,
        "body": b.body,
        "sms_body": b.sms_body,
        "audience": b.audience,
        "status": bc_progress.display_status(b, prog),
        "audience_size": b.audience_size,
        "created_by": b.created_by,
        "confirmed_by": b.confirmed_by,
        "scheduled_at": iso(b.scheduled_at),
        "created_at": iso(b.created_at),
        "updated_at": iso(b.updated_at),
    }
    if prog is not None:
        out["progress"] = prog.to_json()
    held = quiet_now(quiet, utcnow()) if quiet is not None and prog and prog.queued else None
    out["held_reason"] = held.code if held else None
    out["held_reason_label"] = held.label if held else None
    return out


def audit_json(e: AuditEventRow) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": iso(e.at),
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
