"""/api/staff/applications: list, detail, stored documents, review and stage moves."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from core.kernel.labels import answers
from core.staff import applications
from server.params import DbId
from server.staff.bodies import AdvanceIn, ReviewIn
from server.staff.deps import (
    ApiOfficer,
    ApiViewer,
    ContainerDep,
    Limit,
    Offset,
    SearchQ,
    SessionDep,
)
from server.staff.files import file_response
from server.staff.schemas import ApplicationPage, Moved, Open, Reviewed
from server.staff.shapes import (
    application_json,
    document_json,
    iso,
    notice_json,
    page_json,
    person_json,
)

router = APIRouter(prefix="/api/staff", tags=["staff"])
FILE_TYPES: dict[str, dict[str, object]] = {
    "application/pdf": {},
    "image/png": {},
    "image/jpeg": {},
}


@router.get("/applications", response_model=ApplicationPage)
def list_applications(
    s: SessionDep,
    user: ApiViewer,
    stage: str | None = None,
    district: str | None = None,
    applicant_type: str | None = None,
    q: SearchQ = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Applications, newest first, filtered by stage, district and applicant type."""
    page = applications.applications(
        s, actor=user.username, q=q, stage=stage, district=district, applicant_type=applicant_type, limit=limit,
        offset=offset,
    )  # fmt: skip
    return page_json(page, [application_json(i.app, i.person_name) for i in page.items])


@router.get("/applications/{app_id}", response_model=Open)
def application(s: SessionDep, app_id: DbId, user: ApiViewer) -> dict[str, Any]:
    """One application: profile, pre-check result, documents, stage history, notices."""
    d = applications.application(s, app_id)
    history = [
        {"from": h.from_stage, "to": h.stage, "at": iso(h.at), "actor": h.actor, "note": h.note}
        for h in d.history
    ]
    return {
        **application_json(d.app, d.person.name if d.person else None),
        "profile": d.app.profile,
        "answers": [
            {"field": f, "field_label": fl, "answer": text}
            for f, fl, text in answers(d.app.profile)
        ],
        "precheck": d.app.precheck,
        "person": person_json(d.person, full_phone=user.can("officer")),
        "channel": d.identity.channel if d.identity else None,
        "documents": [document_json(i) for i in d.documents],
        "documents_received": d.received,
        "documents_total": d.total_documents,
        "history": history,
        "next_stage": d.next_stage,
        "notices": [notice_json(n) for n in d.notices],
    }


@router.get(
    "/applications/{app_id}/documents/{item_id}/file",
    response_class=Response,
    responses={200: {"content": FILE_TYPES}},
)
def document_file(
    s: SessionDep, container: ContainerDep, app_id: DbId, item_id: DbId, user: ApiViewer
) -> Response:
    """The stored file of a document (streamed; each view is audited)."""
    stored = applications.document_file(s, user.username, container.files, app_id, item_id)
    return file_response(stored, item_id)


@router.post("/applications/{app_id}/documents/{item_id}/review", response_model=Reviewed)
def review(
    s: SessionDep, app_id: DbId, item_id: DbId, body: ReviewIn, user: ApiOfficer
) -> dict[str, Any]:
    """Accept or reject (with a reason) a document; the applicant is told on their channel."""
    res = applications.review(
        s, user.username, app_id, item_id, accept=body.decision == "accept", reason=body.reason
    )
    return {**document_json(res.item), "applicant_notified": res.notified}


@router.post("/applications/{app_id}/advance", response_model=Moved)
def advance_stage(s: SessionDep, app_id: DbId, body: AdvanceIn, user: ApiOfficer) -> dict[str, Any]:
    """Move to the next stage (or to rejected/withdrawn); the applicant is told."""
    res = applications.move(s, user.username, app_id, to_stage=body.to_stage, note=body.note)
    return {
        **application_json(res.application),
        "from_stage": res.from_stage,
        "applicant_notified": res.notified,
    }
