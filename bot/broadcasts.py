"""Announcements drafted in the staff chat: draft → preview with audience size → confirm → outbox.

The audience of a Telegram-drafted announcement is every Telegram chat that is subscribed (not
opted out) and reachable. Confirmation writes one outbox row per chat (key
"broadcast:<id>:<identity>"), so a double press or a crash never queues a chat twice; the
outbox dispatcher sends them through `TelegramSender` at Telegram's rate limits.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot import texts as T
from core.db import session_scope
from core.models import AuditEventRow, BroadcastRow, ChannelIdentityRow
from core.notice_templates import render
from core.outbox import enqueue_many
from core.timeutil import utcnow

TEMPLATE = "telegram_broadcast"
AUDIENCE: dict[str, Any] = {"channels": ["telegram"], "group": "subscribers", "via": "telegram"}
BATCH = 5000


class BroadcastError(ValueError):
    """The draft cannot be confirmed or cancelled; the message is Chinese."""


def _audience() -> Any:
    return select(ChannelIdentityRow.id, ChannelIdentityRow.address, ChannelIdentityRow.person_id).where(
        col(ChannelIdentityRow.channel) == "telegram",
        col(ChannelIdentityRow.opted_out).is_(False),
        col(ChannelIdentityRow.unreachable).is_(False),
    )


def preview_text(body: str) -> str:
    return render(TEMPLATE, "telegram", {"text": body})


def draft(db: Engine, body: str, created_by: str) -> tuple[int, int]:
    """Store a draft; returns (broadcast id, audience size)."""
    with session_scope(db) as s:
        size = int(s.exec(select(sa.func.count()).select_from(_audience().subquery())).one())
        row = BroadcastRow(
            title=body.strip().splitlines()[0][:40],
            body=body,
            audience=AUDIENCE,
            status="draft",
            audience_size=size,
            created_by=created_by,
        )
        s.add(row)
        s.flush()
        assert row.id is not None
        s.add(_audit(created_by, "broadcast.draft", row.id, {"audience_size": size}))
        return row.id, size


def confirm(db: Engine, broadcast_id: int, confirmed_by: str, threshold: int) -> int:
    """Queue the announcement to its audience; returns how many messages were queued.

    Above `threshold` recipients the person confirming must not be the one who drafted it."""
    with session_scope(db) as s:
        row = s.get(BroadcastRow, broadcast_id)
        if row is None or row.status != "draft":
            raise BroadcastError(T.BROADCAST_GONE)
        if row.audience_size > threshold and confirmed_by == row.created_by:
            raise BroadcastError(T.BROADCAST_NEED_OTHER)
        claimed = s.execute(
            sa.update(BroadcastRow)
            .where(col(BroadcastRow.id) == broadcast_id, col(BroadcastRow.status) == "draft")
            .values(status="queued", confirmed_by=confirmed_by, updated_at=utcnow())
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise BroadcastError(T.BROADCAST_GONE)
        text = preview_text(row.body)
        queued = 0
        batch: list[dict[str, Any]] = []
        for identity_id, address, person_id in s.execute(_audience()).all():
            batch.append(
                {
                    "key": f"broadcast:{broadcast_id}:{identity_id}",
                    "kind": "broadcast",
                    "broadcast_id": broadcast_id,
                    "identity_id": identity_id,
                    "person_id": person_id,
                    "channel": "telegram",
                    "address": address,
                    "text": text,
                    "template": TEMPLATE,
                    "params": {"text": row.body},
                }
            )
            if len(batch) >= BATCH:
                queued += enqueue_many(s, batch)
                batch = []
        queued += enqueue_many(s, batch)
        s.add(_audit(confirmed_by, "broadcast.confirm", broadcast_id, {"queued": queued}))
        return queued


def cancel(db: Engine, broadcast_id: int, by: str) -> None:
    with session_scope(db) as s:
        done = s.execute(
            sa.update(BroadcastRow)
            .where(col(BroadcastRow.id) == broadcast_id, col(BroadcastRow.status) == "draft")
            .values(status="cancelled", updated_at=utcnow())
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise BroadcastError(T.BROADCAST_GONE)
        s.add(_audit(by, "broadcast.cancel", broadcast_id, None))


def _audit(actor: str, action: str, broadcast_id: int, after: dict[str, Any] | None) -> AuditEventRow:
    return AuditEventRow(
        actor=actor, action=action, object_type="broadcast", object_id=str(broadcast_id), after=after
    )
