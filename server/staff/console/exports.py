"""/console/<list>/export.xlsx (the 导出Excel buttons, with the console session) and the import
template download. Registered before the resource routers."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from server.staff.deps import ConsoleUser, SessionDep
from server.staff.files import export_response, template_response

router = APIRouter(prefix="/console", include_in_schema=False)
ListName = Literal["loans", "overdue", "applications", "notices", "audit"]


@router.get("/{which}/export.xlsx")
def export(
    request: Request, s: SessionDep, which: ListName, user: ConsoleUser
) -> StreamingResponse:
    return export_response(s, user, which, request.query_params)


@router.get("/imports/template.xlsx")
def import_template(user: ConsoleUser) -> Response:
    return template_response()
