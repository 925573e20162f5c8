"""/console/loans/{loan_id}/…: the loan page's forms — record a payment, add a collection note,
change the loan's state, and (admins) reverse an action with a reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from sqlmodel import Session

from core.staff import loan_actions as acts
from core.staff.errors import StaffCommandError
from server.params import DbId
from server.staff.console.views import Views, ViewsDep
from server.staff.deps import Admin, Officer, SessionDep

router = APIRouter(prefix="/console", include_in_schema=False)
Text = Annotated[str, Form()]


def _url(loan_id: int) -> str:
    return f"/console/loans/{loan_id}"


def _done(
    views: Views,
    s: Session,
    loan_id: int,
    anchors: tuple[str, str],
    action: Callable[[], acts.ActionResult],
) -> Response:
    """Run a loan form's `action`: refused → back to the form (anchors[0]) with why; done → the
    loan page's section anchors[1] with its message and warnings."""
    form, section = anchors
    try:
        result = action()
    except StaffCommandError as exc:
        return views.refused(s, _url(loan_id) + form, exc)
    return views.redirect(_url(loan_id) + section, "；".join([result.message, *result.warnings]))


@router.post("/loans/{loan_id}/payments")
def record_payment(
    s: SessionDep,
    views: ViewsDep,
    loan_id: DbId,
    user: Officer,
    amount_yuan: Text = "",
    paid_on: Text = "",
    reference: Text = "",
) -> Response:
    return _done(
        views, s, loan_id, ("#act-payment", "#payments"),
        lambda: acts.record_payment(
            s, user.username, loan_id, amount=amount_yuan, paid_on=paid_on, reference=reference
        ),
    )  # fmt: skip


@router.post("/loans/{loan_id}/notes")
def add_note(
    s: SessionDep,
    views: ViewsDep,
    loan_id: DbId,
    user: Officer,
    contacted_on: Text = "",
    contact: Text = "",
    channel: Text = "",
    outcome: Text = "",
    text: Text = "",
) -> Response:
    return _done(
        views, s, loan_id, ("#act-note", "#notes"),
        lambda: acts.add_note(
            s, user.username, loan_id, contacted_on=contacted_on, contact=contact,
            channel=channel, outcome=outcome, text=text,
        ),
    )  # fmt: skip


@router.post("/loans/{loan_id}/status")
def change_status(
    s: SessionDep,
    views: ViewsDep,
    loan_id: DbId,
    user: Officer,
    status: Text = "",
    on: Text = "",
    amount_yuan: Text = "",
    note: Text = "",
) -> Response:
    return _done(
        views, s, loan_id, ("#act-status", "#states"),
        lambda: acts.change_status(
            s, user.username, loan_id, status=status, on=on, amount=amount_yuan or None, note=note
        ),
    )  # fmt: skip


@router.post("/loans/{loan_id}/reversals")
def reverse(
    s: SessionDep,
    views: ViewsDep,
    loan_id: DbId,
    user: Admin,
    action_id: Annotated[int, Form()] = 0,
    reason: Text = "",
) -> Response:
    return _done(
        views, s, loan_id, ("#history", "#history"),
        lambda: acts.reverse(s, user.username, loan_id, action_id, reason),
    )  # fmt: skip
