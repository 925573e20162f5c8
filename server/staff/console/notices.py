"""/console/notices: the outbox page and the requeue button."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from core.staff import notices
from core.staff import queries as bo
from server.params import DbId, PageOffset
from server.staff.console.views import PAGE_SIZE, ViewsDep, back, page_args, qs
from server.staff.deps import ConsoleUser, Officer, SessionDep

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/notices")
def notices_page(
    request: Request,
    s: SessionDep,
    views: ViewsDep,
    user: ConsoleUser,
    status: str = "",
    kind: str = "",
    channel: str = "",
    q: str = "",
    offset: PageOffset = 0,
) -> Response:
    found = notices.list_notices(
        s, actor=user.username, q=q or None, status=status or None, kind=kind or None, channel=channel or None,
        limit=PAGE_SIZE, offset=page_args(offset),
    )  # fmt: skip
    context = {
        "page": found.page,
        "counts": found.counts,
        "totals": found.totals(),
        "statuses": bo.NOTICE_STATUSES,
        "f": {"status": status, "kind": kind, "channel": channel, "q": q},
        "qs": qs(status=status, kind=kind, channel=channel, q=q),
    }
    return views.render(request, "notices.html", context, user=user)


@router.post("/notices/{notice_id}/requeue")
def requeue(
    request: Request, s: SessionDep, views: ViewsDep, notice_id: DbId, user: Officer
) -> Response:
    n = notices.requeue(s, user.username, [notice_id])
    text = "已重新排队发送" if n else "只有失败的通知可以重新发送"
    return views.redirect(back(request, "/console/notices"), text, "ok" if n else "error")
