"""Broadcast delivery progress and the status to show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from core.persistence.models import (
    BroadcastRow,
    NoticeRow,
)
from core.persistence.sql import table as _t

# --- progress -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Delivery statistics of one broadcast, from its notices."""

    by_status: dict[str, int]
    by_channel: dict[str, dict[str, int]]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    def _n(self, *statuses: str) -> int:
        return sum(self.by_status.get(s, 0) for s in statuses)

    @property
    def queued(self) -> int:
        return self._n("pending", "sending")

    @property
    def sent(self) -> int:
        return self._n("sent", "delivered", "undelivered")

    @property
    def delivered(self) -> int:
        return self._n("delivered")

    @property
    def failed(self) -> int:
        return self._n("failed", "undelivered")

    @property
    def cancelled(self) -> int:
        return self._n("cancelled")

    @property
    def finished(self) -> bool:
        return self.queued == 0

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else int(100 * (self.total - self.queued) / self.total)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "queued": self.queued,
            "sent": self.sent,
            "delivered": self.delivered,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "percent": self.percent,
            "by_status": self.by_status,
            "by_channel": self.by_channel,
        }


def progress(session: Session, broadcast_id: int) -> Progress:
    n = _t(NoticeRow)
    rows = session.execute(
        sa.select(n.c.channel, n.c.status, sa.func.count())
        .where(n.c.broadcast_id == broadcast_id)
        .group_by(n.c.channel, n.c.status)
    ).all()
    by_status: dict[str, int] = {}
    by_channel: dict[str, dict[str, int]] = {}
    for channel, status, count in rows:
        by_status[str(status)] = by_status.get(str(status), 0) + int(count)
        by_channel.setdefault(str(channel), {})[str(status)] = int(count)
    return Progress(by_status, by_channel)


def display_status(row: BroadcastRow, prog: Progress | None = None) -> str:
    """The status to show: a queued broadcast with nothing left to send is `done`."""
    if row.status == "queued" and prog is not None and prog.finished:
        return "done"
    return row.status
