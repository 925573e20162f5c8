"""Why a message is held: the reason staff see beside a notice or a broadcast that has not gone.

- `quiet_hours`: a notice (not a staff reply, chat reply or code, which ignore quiet hours)
  waiting for the quiet window to end — now inside it, or deferred by the dispatcher to its end:
  "21:00–08:00 静默时段，08:00 后发送" (from the configured QUIET_HOURS_START/END);
- `channel_cannot_receive`: a notice for a door that cannot receive messages we push (the
  terminal chat, or no channel at all), which will never be sent there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from core.kernel.quiet_hours import QuietHours
from core.kernel.timeutil import to_local
from core.outbox.dispatch import QUIET_EXEMPT_KINDS

QUIET = "quiet_hours"
NO_RECEIVER = "channel_cannot_receive"
#: Channels with no sender that can push a message (the dispatcher fails them, core/outbox/reach.py
#: re-routes what it can by SMS).
CANNOT_RECEIVE = {"terminal": "终端对话", "none": "无渠道"}
WAITING = ("pending", "sending", "failed")


@dataclass(frozen=True)
class Held:
    code: str
    label: str

    def to_json(self) -> dict[str, str]:
        return {"held_reason": self.code, "held_reason_label": self.label}


class NoticeLike(Protocol):
    kind: str
    channel: str
    status: str
    send_after: datetime


def quiet_label(quiet: QuietHours) -> str:
    start, end = quiet.start.strftime("%H:%M"), quiet.end.strftime("%H:%M")
    return f"{start}–{end} 静默时段，{end} 后发送"


def quiet_now(quiet: QuietHours, now: datetime) -> Held | None:
    """The quiet-hours reason when `now` is inside the window (for a broadcast still sending)."""
    return Held(QUIET, quiet_label(quiet)) if quiet.contains(now) else None


def held_reason(n: NoticeLike, now: datetime, quiet: QuietHours) -> Held | None:
    """Why the notice `n` is waiting, or None when nothing holds it."""
    if n.channel in CANNOT_RECEIVE and n.status in WAITING:
        name = CANNOT_RECEIVE[n.channel]
        return Held(NO_RECEIVER, f"{name}无法接收消息，不会发送到该渠道")
    if n.status != "pending" or n.kind in QUIET_EXEMPT_KINDS or quiet.start == quiet.end:
        return None
    deferred = (
        n.send_after > now
        and to_local(n.send_after).time() == quiet.end
        and quiet.contains(n.send_after - timedelta(minutes=1))
    )
    if quiet.contains(now) or deferred:
        return Held(QUIET, quiet_label(quiet))
    return None
