"""The staff API's JSON shapes: one function per object, shared by every API router (money in
integer fen, times ISO 8601 UTC, SMS addresses masked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse

from core.applications.lifecycle import cap_check
from core.broadcasts import progress as bc_progress
from core.kernel.identity import mask_id_number, mask_phone
from core.kernel.labels import ticket_number
from core.kernel.quiet_hours import QuietHours
from core.kernel.timeutil import local_today, utcnow
from core.loans.importing import ImportReport
from core.loans.status import days_overdue
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
from core.persistence.sql import table
from core.staff import queries as bo
from server.staff import schemas as S


def _row(row: Any) -> dict[str, Any]:
    """Every column of a table row (SQLModel's model_dump leaves out fields never assigned)."""
    return {c.key: getattr(row, c.key) for c in table(type(row)).columns}


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- JSON shapes: each one the response model of server/staff/schemas.py, filled from the row ---


def application_json(a: ApplicationRow, person_name: str | None = None) -> dict[str, Any]:
    row = {**_row(a), **intake_json(a), "person_name": person_name}
    return S.Application.model_validate(row).model_dump()


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
    url = f"/api/staff/applications/{d.application_id}/documents/{d.id}/file"
    row = {**_row(d), "file_url": url if d.storage_key else None}
    return S.Document.model_validate(row).model_dump()


def notice_json(n: NoticeRow, quiet: QuietHours | None = None) -> dict[str, Any]:
    """A notice; with the deployment's quiet hours, why it is held (`held_reason`, its label)."""
    held = held_reason(n, utcnow(), quiet) if quiet is not None else None
    address = mask_phone(n.address) if n.channel == "sms" else n.address
    row = {**_row(n), "address": address, **(held.to_json() if held else {})}
    return S.Notice.model_validate(row).model_dump()


def person_json(p: PersonRow | None, full_phone: bool = True) -> dict[str, Any] | None:
    if p is None:
        return None
    row = {
        **_row(p),
        "phone": p.phone if full_phone else mask_phone(p.phone),
        "id_number": mask_id_number(p.id_number),
    }
    return S.Person.model_validate(row).model_dump()


def loan_json(ln: LoanRow, borrower_name: str | None = None) -> dict[str, Any]:
    row = {**_row(ln), "borrower_name": borrower_name}
    return S.Loan.model_validate(row).model_dump()


def loan_item_json(item: bo.LoanListItem) -> dict[str, Any]:
    """A row of the loan list: the loan, its oldest overdue due date and days overdue."""
    since = item.overdue_since
    row = {
        **_row(item.loan),
        "borrower_name": item.borrower_name,
        "overdue_since": since,
        "overdue_days": days_overdue(since, local_today()) if since else None,
    }
    return S.LoanItem.model_validate(row).model_dump()


def installment_json(i: InstallmentRow, status: str | None = None) -> dict[str, Any]:
    """`status` is core.loans.status's (paid|due|overdue|not_due|nothing_due)."""
    return S.Installment.model_validate({**_row(i), "status": status}).model_dump()


def payment_json(p: PaymentRow) -> dict[str, Any]:
    return S.Payment.model_validate(_row(p)).model_dump()


def ticket_json(t: HandoffTicketRow) -> dict[str, Any]:
    address = mask_phone(t.address) if t.channel == "sms" else t.address
    row = {**_row(t), "address": address, "number": ticket_number(t.id)}
    return S.Ticket.model_validate(row).model_dump()


def message_json(m: HandoffMessageRow) -> dict[str, Any]:
    return S.Message.model_validate(_row(m)).model_dump()


def staff_json(u: StaffUserRow) -> dict[str, Any]:
    row = {**_row(u), "has_api_token": u.api_token_hash is not None}
    return S.StaffUser.model_validate(row).model_dump()


def broadcast_json(
    b: BroadcastRow, prog: bc_progress.Progress | None = None, quiet: QuietHours | None = None
) -> dict[str, Any]:
    row = {**_row(b), "status": bc_progress.display_status(b, prog)}
    out = S.Broadcast.model_validate(row).model_dump(exclude={"progress"})
    if prog is not None:
        out["progress"] = prog.to_json()
    held = quiet_now(quiet, utcnow()) if quiet is not None and prog and prog.queued else None
    if held is not None:
        out.update(held.to_json())
    return out


def audit_json(e: AuditEventRow) -> dict[str, Any]:
    return S.AuditEvent.model_validate(_row(e)).model_dump()


def page_json(page: bo.Page, items: list[Any]) -> dict[str, Any]:
    return {"total": page.total, "limit": page.limit, "offset": page.offset, "items": items}


def import_response(report: ImportReport) -> JSONResponse:
    body = report.to_dict()
    body["summary"] = report.summary()
    return JSONResponse(body, status_code=200 if report.imported else 422)
