"""/api/staff/broadcasts: draft → preview → send or schedule → confirm → progress → cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from core.broadcasts import commands as bc_commands
from core.broadcasts import progress as bc_progress
from core.broadcasts import texts as bc_texts
from core.staff import broadcasts
from server import staff_services as svc
from server.params import DbId
from server.staff.bodies import BroadcastIn, SendIn
from server.staff.deps import (
    ApiOfficer,
    ApiViewer,
    ContainerDep,
    FanOutDep,
    Limit,
    Offset,
    SessionDep,
)
from server.staff.schemas import Broadcast, BroadcastCancelled, Open
from server.staff.shapes import broadcast_json

router = APIRouter(prefix="/api/staff", tags=["staff"])


@router.get("/broadcasts", response_model=list[Broadcast])
def list_broadcasts(
    s: SessionDep, user: ApiViewer, container: ContainerDep, limit: Limit = 50, offset: Offset = 0
) -> list[dict[str, Any]]:
    """Broadcasts, newest first, with delivery progress."""
    rows = bc_commands.list_broadcasts(s, limit=limit, offset=offset)
    return [
        broadcast_json(b, bc_progress.progress(s, b.id or 0), container.quiet_hours) for b in rows
    ]


@router.post("/broadcasts", status_code=201, response_model=Broadcast)
def create_broadcast(s: SessionDep, body: BroadcastIn, user: ApiOfficer) -> dict[str, Any]:
    """Save a draft announcement (nothing is sent yet)."""
    return broadcast_json(
        broadcasts.create(s, user.username, broadcasts.Draft(**body.model_dump()))
    )


@router.get("/broadcasts/{bid}", response_model=Broadcast)
def get_broadcast(
    s: SessionDep, bid: DbId, user: ApiViewer, container: ContainerDep
) -> dict[str, Any]:
    """A broadcast and its progress (queued, sent, delivered, failed, cancelled); while its
    messages wait for quiet hours to end, `held_reason` and `held_reason_label` say so."""
    return broadcast_json(
        bc_commands.get(s, bid), bc_progress.progress(s, bid), container.quiet_hours
    )


@router.put("/broadcasts/{bid}", response_model=Broadcast)
def update_broadcast(
    s: SessionDep, bid: DbId, body: BroadcastIn, user: ApiOfficer
) -> dict[str, Any]:
    """Change a draft."""
    draft = broadcasts.Draft(**body.model_dump())
    return broadcast_json(broadcasts.update(s, user.username, bid, draft))


@router.get("/broadcasts/{bid}/preview", response_model=Open)
def preview(s: SessionDep, container: ContainerDep, bid: DbId, user: ApiViewer) -> dict[str, Any]:
    """Telegram and SMS texts, SMS segments and cost, audience size per channel."""
    cost, threshold = svc.sms_cost(container), svc.threshold(container)
    return bc_texts.preview(s, bc_commands.get(s, bid), cost, threshold).to_json()


@router.post("/broadcasts/{bid}/send", response_model=Broadcast)
def send(
    s: SessionDep,
    container: ContainerDep,
    start: FanOutDep,
    bid: DbId,
    user: ApiOfficer,
    body: SendIn | None = None,
) -> dict[str, Any]:
    """Send now or at `scheduled_at`; above the threshold another officer must confirm."""
    when = body.scheduled_at if body else None
    threshold = svc.threshold(container)
    row = broadcasts.send(
        s, user.username, bid, threshold=threshold, start=start, scheduled_at=when
    )
    return broadcast_json(row)


@router.post("/broadcasts/{bid}/confirm", response_model=Broadcast)
def confirm(s: SessionDep, start: FanOutDep, bid: DbId, user: ApiOfficer) -> dict[str, Any]:
    """Second-person confirmation of a large broadcast (not by the one who submitted it)."""
    return broadcast_json(broadcasts.confirm(s, user.username, bid, start=start))


@router.post("/broadcasts/{bid}/cancel", response_model=BroadcastCancelled)
def cancel(s: SessionDep, bid: DbId, user: ApiOfficer) -> dict[str, Any]:
    """Cancel a broadcast; notices not yet handed to a sender are cancelled."""
    row, n = broadcasts.cancel(s, user.username, bid)
    return {**broadcast_json(row), "cancelled_notices": n}
