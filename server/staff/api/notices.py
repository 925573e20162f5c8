"""/api/staff/notices: the outbox for staff (list, requeue failed notices)."""

from __future__ import annotations

from fastapi import APIRouter

from core.staff import notices
from server.staff.bodies import IdsIn
from server.staff.deps import (
    ApiOfficer,
    ApiViewer,
    ContainerDep,
    Limit,
    Offset,
    SearchQ,
    SessionDep,
)
from server.staff.schemas import NoticePage, Requeued
from server.staff.shapes import notice_json, page_json

router = APIRouter(prefix="/api/staff", tags=["staff"])


@router.get("/notices", response_model=NoticePage)
def list_notices(
    s: SessionDep,
    user: ApiViewer,
    container: ContainerDep,
    status: str | None = None,
    kind: str | None = None,
    channel: str | None = None,
    q: SearchQ = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, object]:
    """Outbox notices, newest first, with counts per kind and status; `held_reason` (and its
    label) says why a notice waits: quiet hours, or a channel that cannot receive."""
    found = notices.list_notices(
        s,
        actor=user.username,
        q=q,
        status=status,
        kind=kind,
        channel=channel,
        limit=limit,
        offset=offset,
    )
    items = [notice_json(n, container.quiet_hours) for n in found.page.items]
    return {**page_json(found.page, items), "counts": found.counts}


@router.post("/notices/requeue", response_model=Requeued)
def requeue(s: SessionDep, body: IdsIn, user: ApiOfficer) -> dict[str, int]:
    """Give failed notices another round of attempts."""
    return {"requeued": notices.requeue(s, user.username, body.ids)}
