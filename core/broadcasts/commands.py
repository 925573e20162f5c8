"""Broadcast commands: draft, edit, send, confirm, cancel, get and list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.broadcasts.audience import Audience, resolve
from core.broadcasts.common import (
    ERR_CANCELLED,
    OPEN_STATUSES,
    BroadcastError,
    BroadcastInvalid,
    BroadcastNotFound,
)
from core.kernel.timeutil import utcnow
from core.persistence.audit import audit
from core.persistence.models import (
    BroadcastRow,
    NoticeRow,
)
from core.persistence.sql import table as _t

# --- commands -----------------------------------------------------------------------------------


def _snapshot(row: BroadcastRow) -> dict[str, Any]:
    return {
        "title": row.title,
        "status": row.status,
        "audience": row.audience,
        "audience_size": row.audience_size,
        "scheduled_at": row.scheduled_at.isoformat() if row.scheduled_at else None,
    }


def _clean_texts(title: str, body: str, sms_body: str | None) -> tuple[str, str, str | None]:
    title, body = title.strip(), body.strip()
    if not title:
        raise BroadcastInvalid("请填写公告标题")
    if len(title) > 200:
        raise BroadcastInvalid("标题不能超过200字")
    if not body:
        raise BroadcastInvalid("请填写公告正文")
    if len(body) > 3500:
        raise BroadcastInvalid("正文不能超过3500字（Telegram 单条消息上限约4096字符）")
    sms = (sms_body or "").strip() or None
    if sms is not None and len(sms) > 500:
        raise BroadcastInvalid("短信内容不能超过500字")
    return title, body, sms


@dataclass(frozen=True)
class Draft:
    """What staff write: title, Telegram text, optional SMS text, audience (JSON or parsed)."""

    title: str
    body: str
    sms_body: str | None = None
    audience: Mapping[str, Any] | Audience | None = None

    def who(self) -> Audience:
        if isinstance(self.audience, Audience):
            return self.audience
        return Audience.from_json(self.audience)


def create_draft(session: Session, draft: Draft, actor: str) -> BroadcastRow:
    title, body, sms = _clean_texts(draft.title, draft.body, draft.sms_body)
    row = BroadcastRow(
        title=title,
        body=body,
        sms_body=sms,
        audience=draft.who().to_json(),
        status="draft",
        created_by=actor,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "broadcast.create", "broadcast", row.id, after=_snapshot(row))
    return row


def get(session: Session, broadcast_id: int) -> BroadcastRow:
    row = session.get(BroadcastRow, broadcast_id)
    if row is None:
        raise BroadcastNotFound(f"公告 {broadcast_id} 不存在")
    return row


def update_draft(session: Session, broadcast_id: int, draft: Draft, actor: str) -> BroadcastRow:
    row = get(session, broadcast_id)
    if row.status != "draft":
        raise BroadcastError("只有草稿可以修改")
    before = _snapshot(row)
    row.title, row.body, row.sms_body = _clean_texts(draft.title, draft.body, draft.sms_body)
    row.audience = draft.who().to_json()
    row.updated_at = utcnow()
    session.add(row)
    audit(session, actor, "broadcast.update", "broadcast", row.id, before, _snapshot(row))
    return row


def _next_status(scheduled_at: datetime | None, now: datetime) -> str:
    return "scheduled" if scheduled_at is not None and scheduled_at > now else "fanout"


def request_send(
    session: Session,
    broadcast_id: int,
    actor: str,
    *,
    threshold: int,
    scheduled_at: datetime | None = None,
    today: date | None = None,
) -> BroadcastRow:
    """Send now or at `scheduled_at`; above `threshold` recipients a second person must confirm.

    The new status is `pending_confirm`, `scheduled` or `fanout` (then run `fan_out`)."""
    row = get(session, broadcast_id)
    if row.status != "draft":
        raise BroadcastError("该公告已提交，不能重复提交")
    now = utcnow()
    if scheduled_at is not None:
        if scheduled_at.tzinfo is None:
            raise BroadcastError("定时时间缺少时区")
        if scheduled_at > now + timedelta(days=90):
            raise BroadcastError("定时发送最多可提前90天")
        if scheduled_at <= now:
            scheduled_at = None
    size = len(resolve(session, Audience.from_json(row.audience), today).recipients)
    if size == 0:
        raise BroadcastError("受众为空：没有可以发送的对象")
    before = _snapshot(row)
    row.audience_size = size
    row.scheduled_at = scheduled_at
    row.status = "pending_confirm" if size > threshold else _next_status(scheduled_at, now)
    row.updated_at = now
    session.add(row)
    audit(session, actor, "broadcast.send", "broadcast", row.id, before, _snapshot(row))
    return row


def confirm(session: Session, broadcast_id: int, actor: str) -> BroadcastRow:
    """The second person's confirmation of a large broadcast (not the one who submitted it)."""
    row = get(session, broadcast_id)
    if row.status != "pending_confirm":
        raise BroadcastError("该公告不在待确认状态")
    if actor == row.created_by:
        raise BroadcastError("受众较大的公告须由另一位工作人员确认，不能确认自己提交的公告")
    now = utcnow()
    before = _snapshot(row)
    claimed = session.execute(
        sa.update(_t(BroadcastRow))
        .where(
            _t(BroadcastRow).c.id == broadcast_id, _t(BroadcastRow).c.status == "pending_confirm"
        )
        .values(status=_next_status(row.scheduled_at, now), confirmed_by=actor, updated_at=now)
    )
    if int(getattr(claimed, "rowcount", 0) or 0) != 1:
        raise BroadcastError("该公告已被他人处理，请刷新页面")
    session.refresh(row)
    audit(session, actor, "broadcast.confirm", "broadcast", row.id, before, _snapshot(row))
    return row


def cancel(session: Session, broadcast_id: int, actor: str) -> int:
    """Cancel a broadcast and every notice of it still pending. Returns notices cancelled."""
    row = get(session, broadcast_id)
    if row.status not in OPEN_STATUSES:
        raise BroadcastError("该公告已取消，无法再次取消")
    now = utcnow()
    before = _snapshot(row)
    b = _t(BroadcastRow)
    # Updating the broadcast row first takes its lock: a fan-out batch (which locks the row and
    # re-reads the status) either committed before this, and its notices are cancelled below, or
    # it sees `cancelled` and stops.
    session.execute(
        sa.update(b).where(b.c.id == broadcast_id).values(status="cancelled", updated_at=now)
    )
    n = _t(NoticeRow)
    done = session.execute(
        sa.update(n)
        .where(n.c.broadcast_id == broadcast_id, n.c.status == "pending")
        .values(status="cancelled", last_error=ERR_CANCELLED, updated_at=now)
    )
    cancelled = int(getattr(done, "rowcount", 0) or 0)
    session.refresh(row)
    after = {**_snapshot(row), "cancelled_notices": cancelled}
    audit(session, actor, "broadcast.cancel", "broadcast", row.id, before, after)
    return cancelled


def list_broadcasts(session: Session, limit: int = 50, offset: int = 0) -> list[BroadcastRow]:
    return list(
        session.exec(
            select(BroadcastRow).order_by(col(BroadcastRow.id).desc()).offset(offset).limit(limit)
        )
    )
