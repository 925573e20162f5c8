"""/api/staff/<list>/export.xlsx: each staff list as filtered, as an Excel file (audited), and the
import template. Registered before the resource routers (`/loans/export.xlsx` is no loan id)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from server.staff.deps import ApiViewer, SessionDep
from server.staff.files import XLSX, export_response, template_response

router = APIRouter(prefix="/api/staff", tags=["staff"])
ListName = Literal["loans", "overdue", "applications", "notices", "audit"]
_XLSX: dict[int | str, dict[str, Any]] = {200: {"content": {XLSX: {}}, "description": "XLSX 文件"}}


@router.get(
    "/{which}/export.xlsx",
    response_class=StreamingResponse,
    responses=_XLSX,
)
def export(request: Request, s: SessionDep, which: ListName, user: ApiViewer) -> StreamingResponse:
    """The list as filtered (the list route's own query parameters: `q`, `status`, `district` …),
    Chinese headers, money in yuan with two decimals, dates as dates. The audit log is admins'."""
    return export_response(s, user, which, request.query_params)


@router.get(
    "/imports/template.xlsx",
    response_class=Response,
    responses=_XLSX,
)
def import_template(user: ApiViewer) -> Response:
    """The loan and payment import template (like `chuangdai loans template`)."""
    return template_response()
