"""Announcements from the staff chat, through the one broadcast service (core.broadcasts):
draft → preview with the audience size → confirm (a second person above the threshold) →
fan-out to the outbox, which the dispatcher sends at each channel's rate limit.

The audience is every subscriber (opted-out and unreachable addresses left out) on Telegram and,
when the composition root passes the SMS cost model, by SMS for people without a linked chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot import texts as T
from core.broadcasts import audience as bc_audience
from core.broadcasts import common as bc_common
from core.broadcasts import fanout as bc_fanout
from core.broadcasts import texts as bc_texts
from core.database import Database
from core.staff import broadcasts, chat

BroadcastError = bc_common.BroadcastError
_TELEGRAM_ONLY = bc_texts.SmsCost(
    decorate=lambda text: text, segments=lambda _text: 0, price_per_segment_yuan=Decimal(0)
)


@dataclass(frozen=True)
class Outcome:
    text: str
    done: bool  # False: still waiting for a second person's confirmation


class StaffBroadcasts:
    def __init__(
        self, db: Database, threshold: int, sms_cost: bc_texts.SmsCost | None = None
    ) -> None:
        self.db = db
        self.threshold = threshold
        self.sms_cost = sms_cost
        channels = ["telegram", "sms"] if sms_cost is not None else ["telegram"]
        self.audience = bc_audience.Audience.from_json({"group": "all", "channels": channels})

    def draft(self, message: str, actor: str) -> tuple[int, str]:
        """Store a draft from '/broadcast 标题\\n正文' (one line: a default title); returns
        (draft id, preview text)."""
        first, _, rest = message.strip().partition("\n")
        title, body = (first, rest) if rest.strip() else (T.BROADCAST_DEFAULT_TITLE, first)
        what = broadcasts.Draft(title, body, None, self.audience)
        cost = self.sms_cost or _TELEGRAM_ONLY
        draft_id, p = chat.draft(self.db, actor, what, cost, self.threshold)
        text = T.BROADCAST_PREVIEW.format(
            draft=draft_id,
            text=p.telegram_text,
            audience=self.audience.describe(),
            total=p.total,
            telegram=p.per_channel.get("telegram", 0),
            opted_out=p.opted_out,
            unreachable=p.unreachable,
        )
        if p.per_channel.get("sms"):
            text += "\n" + T.BROADCAST_SMS.format(
                sms=p.per_channel["sms"], segments=p.sms_segments, cost=p.sms_cost_yuan
            )
        if p.needs_second_person:
            text += "\n" + T.BROADCAST_SECOND_PERSON.format(threshold=self.threshold)
        return draft_id, text + "\n" + T.BROADCAST_ASK_CONFIRM

    def confirm(self, broadcast_id: int, actor: str) -> Outcome:
        """First press submits (a large audience then waits for another person's press);
        the command starts the fan-out as soon as the broadcast may go, and the chat waits for
        it so that the answer can say how many messages were queued."""
        queued: list[int] = []

        def start(bid: int) -> None:
            queued.append(bc_fanout.fan_out(self.db, bid, sms=self.sms_cost).queued)

        done = chat.submit(self.db, actor, broadcast_id, threshold=self.threshold, start=start)
        if done is None:
            raise BroadcastError(T.BROADCAST_GONE)
        if done.status == "pending_confirm":
            text = T.BROADCAST_WAITING.format(
                draft=broadcast_id, size=done.audience_size, threshold=self.threshold
            )
            return Outcome(text, done=False)
        count = queued[0] if queued else 0
        return Outcome(T.BROADCAST_QUEUED.format(draft=broadcast_id, who=actor, count=count), True)

    def cancel(self, broadcast_id: int, actor: str) -> str:
        chat.cancel(self.db, actor, broadcast_id)
        return T.BROADCAST_CANCELLED.format(draft=broadcast_id)
