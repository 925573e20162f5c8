"""/api/staff/loans/{loan_id}/…: act on a loan — record a payment by hand, add a collection
note, mark it settled / compensated (代偿) / written off, and (admins) reverse any of these."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from core.staff import loan_actions as acts
from server.params import DbId
from server.staff.bodies import LoanNoteIn, LoanPaymentIn, LoanReversalIn, LoanStatusIn
from server.staff.deps import ApiAdmin, ApiOfficer, ApiViewer, SessionDep
from server.staff.schemas import Open

router = APIRouter(prefix="/api/staff", tags=["staff"])


def _done(result: acts.ActionResult) -> dict[str, Any]:
    return {
        "action": acts.action_json(result.action),
        "message": result.message,
        "warnings": result.warnings,
    }


@router.get("/loans/{loan_id}/actions", response_model=Open)
def actions(s: SessionDep, loan_id: DbId, user: ApiViewer) -> dict[str, Any]:
    """The loan's manual payments, collection notes and state changes, newest first."""
    return {"items": [acts.action_json(a) for a in acts.history(s, loan_id)]}


@router.post("/loans/{loan_id}/payments", response_model=Open, status_code=201)
def record_payment(
    s: SessionDep, loan_id: DbId, body: LoanPaymentIn, user: ApiOfficer
) -> dict[str, Any]:
    """Record a payment by hand (allocated and cancelling queued notices as an import does)."""
    return _done(
        acts.record_payment(
            s, user.username, loan_id, amount=body.amount_yuan, paid_on=body.paid_on,
            reference=body.reference,
        )
    )  # fmt: skip


@router.post("/loans/{loan_id}/notes", response_model=Open, status_code=201)
def add_note(s: SessionDep, loan_id: DbId, body: LoanNoteIn, user: ApiOfficer) -> dict[str, Any]:
    """Add a collection note (联系记录)."""
    return _done(
        acts.add_note(
            s, user.username, loan_id, contacted_on=body.contacted_on, contact=body.contact,
            channel=body.channel, outcome=body.outcome, text=body.text,
        )
    )  # fmt: skip


@router.post("/loans/{loan_id}/status", response_model=Open, status_code=201)
def change_status(
    s: SessionDep, loan_id: DbId, body: LoanStatusIn, user: ApiOfficer
) -> dict[str, Any]:
    """Mark the loan settled (结清), compensated (代偿: amount and date) or written off (核销)."""
    return _done(
        acts.change_status(
            s, user.username, loan_id, status=body.status, on=body.on, amount=body.amount_yuan,
            note=body.note,
        )
    )  # fmt: skip


@router.post("/loans/{loan_id}/reversals", response_model=Open, status_code=201)
def reverse(s: SessionDep, loan_id: DbId, body: LoanReversalIn, user: ApiAdmin) -> dict[str, Any]:
    """Reverse a payment, note or state change (admins only; a reason is required)."""
    return _done(acts.reverse(s, user.username, loan_id, body.action_id, body.reason))
