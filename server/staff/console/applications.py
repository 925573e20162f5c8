"""/console/applications and /console/dashboard: the list, one application with its documents,
review and stage moves; the dashboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from core.applications.lifecycle import STAGE_LABELS, cap_check
from core.persistence.models import Stage
from core.staff import applications
from core.staff.errors import StaffCommandError
from core.staff.queries import districts
from server.params import DbId, PageOffset
from server.staff.console.views import PAGE_SIZE, ViewsDep, page_args, qs
from server.staff.deps import ConsoleUser, ContainerDep, Officer, SessionDep
from server.staff.files import file_response

router = APIRouter(prefix="/console", include_in_schema=False)
Text = Annotated[str, Form()]
UNREACHABLE = "（申请人没有可用的联系渠道，未能通知）"


@router.get("/applications")
def list_page(
    request: Request,
    s: SessionDep,
    views: ViewsDep,
    user: ConsoleUser,
    stage: str = "",
    district: str = "",
    applicant_type: str = "",
    q: str = "",
    offset: PageOffset = 0,
) -> Response:
    page = applications.applications(
        s, actor=user.username, q=q or None, stage=stage or None, district=district or None,
        applicant_type=applicant_type or None, limit=PAGE_SIZE, offset=page_args(offset),
    )  # fmt: skip
    context = {
        "page": page,
        "stages": [x.value for x in Stage],
        "districts": districts(s),
        "f": {"stage": stage, "district": district, "applicant_type": applicant_type, "q": q},
        "qs": qs(stage=stage, district=district, applicant_type=applicant_type, q=q),
    }
    return views.render(request, "applications.html", context, user=user)


@router.get("/applications/{app_id}")
def application_page(
    request: Request,
    s: SessionDep,
    views: ViewsDep,
    container: ContainerDep,
    app_id: DbId,
    user: ConsoleUser,
) -> Response:
    detail = applications.application(s, app_id)
    categories = {k: c.label for k, c in container.policy.categories.items()}
    context = {"a": detail, "categories": categories, "caps": cap_check(detail.app)}
    return views.render(request, "application.html", context, user=user)


@router.get("/applications/{app_id}/documents/{item_id}/file")
def document_file(
    s: SessionDep, container: ContainerDep, app_id: DbId, item_id: DbId, user: ConsoleUser
) -> Response:
    stored = applications.document_file(s, user.username, container.files, app_id, item_id)
    return file_response(stored, item_id)


@router.post("/applications/{app_id}/documents/{item_id}/review")
def review(
    s: SessionDep,
    views: ViewsDep,
    app_id: DbId,
    item_id: DbId,
    user: Officer,
    decision: Text = "",
    reason: Text = "",
) -> Response:
    url = f"/console/applications/{app_id}"
    if decision not in ("accept", "reject"):
        return views.redirect(url, "请选择通过或退回", "error")
    try:
        result = applications.review(
            s, user.username, app_id, item_id, accept=decision == "accept", reason=reason
        )
    except StaffCommandError as exc:
        return views.refused(s, url, exc)
    verb = "已通过" if decision == "accept" else "已退回"
    tail = "，已通知申请人" if result.notified else UNREACHABLE
    return views.redirect(url, f"材料《{result.item.label}》{verb}{tail}")


@router.post("/applications/{app_id}/advance")
def advance_stage(
    s: SessionDep,
    views: ViewsDep,
    app_id: DbId,
    user: Officer,
    to_stage: Text = "",
    note: Text = "",
) -> Response:
    url = f"/console/applications/{app_id}"
    try:
        result = applications.move(s, user.username, app_id, to_stage=to_stage or None, note=note)
    except StaffCommandError as exc:
        return views.refused(s, url, exc)
    tail = "，已通知申请人" if result.notified else UNREACHABLE
    return views.redirect(url, f"已进入「{STAGE_LABELS[result.to_stage]}」{tail}")
