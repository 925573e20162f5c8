"""/console/broadcasts: list, composer, preview page, progress polling, send/confirm/cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import Session

from core.broadcasts import audience as bc_audience
from core.broadcasts import commands as bc_commands
from core.broadcasts import common as bc_common
from core.broadcasts import progress as bc_progress
from core.broadcasts import texts as bc_texts
from core.persistence.models import BroadcastRow, Stage
from core.staff import broadcasts
from core.staff import queries as bo
from core.staff.errors import Invalid, NotFound, StaffCommandError
from server import staff_services as svc
from server.auth import StaffPrincipal, console_page
from server.params import DbId, PageOffset
from server.staff.console.views import (
    PAGE_SIZE,
    BroadcastForm,
    Views,
    ViewsDep,
    page_args,
    parse_local,
)
from server.staff.deps import ConsoleUser, ContainerDep, FanOutDep, Officer, SessionDep

router = APIRouter(prefix="/console", include_in_schema=False)
OfficerPage = Annotated[StaffPrincipal, Depends(console_page("officer"))]


@router.get("/broadcasts")
def list_page(
    request: Request, s: SessionDep, views: ViewsDep, user: ConsoleUser, offset: PageOffset = 0
) -> Response:
    rows = bc_commands.list_broadcasts(s, limit=PAGE_SIZE, offset=page_args(offset))
    items = [(r, bc_progress.display_status(r, bc_progress.progress(s, r.id or 0))) for r in rows]
    return views.render(request, "broadcasts.html", {"items": items}, user=user)


def _composer(
    request: Request,
    s: Session,
    views: Views,
    threshold: int,
    user: StaffPrincipal,
    row: BroadcastRow | None,
    form: dict[str, Any] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    audience = (
        bc_audience.Audience.from_json(row.audience) if row is not None else bc_audience.Audience()
    )
    values = form or {
        "title": row.title if row else "",
        "body": row.body if row else "",
        "sms_body": (row.sms_body or "") if row else "",
        "group": audience.group,
        "stages": list(audience.stages),
        "districts": "，".join(audience.districts),
        "channels": list(audience.channels),
        "min_overdue_days": audience.min_overdue_days,
    }
    context = {
        "row": row,
        "v": values,
        "error": error,
        "stages": [x.value for x in Stage],
        "districts": bo.districts(s),
        "threshold": threshold,
    }
    return views.render(
        request, "broadcast_form.html", context, user=user, status=422 if error else 200
    )


@router.get("/broadcasts/new")
def new_page(
    request: Request, s: SessionDep, views: ViewsDep, container: ContainerDep, user: OfficerPage
) -> Response:
    return _composer(request, s, views, svc.threshold(container), user, None)


@router.post("/broadcasts")
def create(
    request: Request,
    s: SessionDep,
    views: ViewsDep,
    container: ContainerDep,
    user: Officer,
    data: Annotated[BroadcastForm, Form()],
) -> Response:
    try:
        row = broadcasts.create(s, user.username, data.draft())
    except bc_common.BroadcastError as exc:
        s.rollback()
        threshold = svc.threshold(container)
        return _composer(request, s, views, threshold, user, None, data.model_dump(), str(exc))
    return views.redirect(f"/console/broadcasts/{row.id}", "草稿已保存，请核对预览")


@router.get("/broadcasts/{bid}")
def page(
    request: Request,
    s: SessionDep,
    views: ViewsDep,
    container: ContainerDep,
    bid: DbId,
    user: ConsoleUser,
) -> Response:
    row = bc_commands.get(s, bid)
    prog = bc_progress.progress(s, bid)
    threshold = svc.threshold(container)
    pv = None
    if row.status in ("draft", "pending_confirm", "scheduled"):
        pv = bc_texts.preview(s, row, svc.sms_cost(container), threshold)
    context = {
        "b": row,
        "p": prog,
        "pv": pv,
        "audience": bc_audience.Audience.from_json(row.audience).describe(),
        "status": bc_progress.display_status(row, prog),
        "threshold": threshold,
    }
    return views.render(request, "broadcast.html", context, user=user)


@router.get("/broadcasts/{bid}/progress")
def progress(s: SessionDep, bid: DbId, user: ConsoleUser) -> Response:
    try:
        row = bc_commands.get(s, bid)
    except NotFound as exc:  # polled by the page's script: JSON, not the error page
        return JSONResponse({"detail": str(exc)}, status_code=404)
    prog = bc_progress.progress(s, bid)
    status = bc_progress.display_status(row, prog)
    body = {
        **prog.to_json(),
        "status": status,
        "status_label": bc_common.STATUS_LABELS.get(status, status),
        "running": status in ("fanout", "queued", "scheduled"),
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/broadcasts/{bid}/edit")
def edit_page(
    request: Request,
    s: SessionDep,
    views: ViewsDep,
    container: ContainerDep,
    bid: DbId,
    user: OfficerPage,
) -> Response:
    row = bc_commands.get(s, bid)
    if row.status != "draft":
        return views.redirect(f"/console/broadcasts/{bid}", "只有草稿可以修改", "error")
    return _composer(request, s, views, svc.threshold(container), user, row)


@router.post("/broadcasts/{bid}/edit")
def update(
    request: Request,
    s: SessionDep,
    views: ViewsDep,
    container: ContainerDep,
    bid: DbId,
    user: Officer,
    data: Annotated[BroadcastForm, Form()],
) -> Response:
    try:
        row = broadcasts.update(s, user.username, bid, data.draft())
    except bc_common.BroadcastError as exc:
        s.rollback()
        current = s.get(BroadcastRow, bid)
        threshold = svc.threshold(container)
        return _composer(request, s, views, threshold, user, current, data.model_dump(), str(exc))
    return views.redirect(f"/console/broadcasts/{row.id}", "草稿已更新")


@router.post("/broadcasts/{bid}/send")
def send(
    s: SessionDep,
    views: ViewsDep,
    container: ContainerDep,
    start: FanOutDep,
    bid: DbId,
    user: Officer,
    mode: Annotated[str, Form()] = "now",
    scheduled_at: Annotated[str, Form()] = "",
) -> Response:
    url = f"/console/broadcasts/{bid}"
    threshold = svc.threshold(container)
    try:
        when = parse_local(scheduled_at) if mode == "schedule" else None
        if mode == "schedule" and when is None:
            raise Invalid("请选择定时发送的时间")
        row = broadcasts.send(
            s, user.username, bid, threshold=threshold, start=start, scheduled_at=when
        )
    except StaffCommandError as exc:
        return views.refused(s, url, exc)
    size = row.audience_size
    if row.status == "fanout":
        return views.redirect(url, f"已开始发送，共 {size} 位接收人")
    if row.status == "scheduled":
        return views.redirect(url, f"已定时发送，共 {size} 位接收人")
    text = f"接收人 {size} 位，超过 {threshold} 位：需由另一位工作人员确认后才会发送"
    return views.redirect(url, text, "warn")


@router.post("/broadcasts/{bid}/confirm")
def confirm(s: SessionDep, views: ViewsDep, start: FanOutDep, bid: DbId, user: Officer) -> Response:
    url = f"/console/broadcasts/{bid}"
    try:
        row = broadcasts.confirm(s, user.username, bid, start=start)
    except StaffCommandError as exc:
        return views.refused(s, url, exc)
    if row.status == "fanout":
        return views.redirect(url, "已确认，开始发送")
    return views.redirect(url, "已确认，将在定时时间发送")


@router.post("/broadcasts/{bid}/cancel")
def cancel(s: SessionDep, views: ViewsDep, bid: DbId, user: Officer) -> Response:
    url = f"/console/broadcasts/{bid}"
    try:
        _row, n = broadcasts.cancel(s, user.username, bid)
    except StaffCommandError as exc:
        return views.refused(s, url, exc)
    return views.redirect(url, f"已取消；{n} 条尚未发送的消息不再发送")
