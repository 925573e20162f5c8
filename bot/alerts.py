"""Hand-off alerts: each new ticket and applicant message (any channel) is posted to the staff
chat once. Staff answer by replying to the alert (bot/staff.py parses "工单号 N" from it).

Posting is claimed through an outbox row with a unique key (core/handoff/alerts.py), so several server
processes never post the same alert twice; delivery is at most once (a crash between claim and
send loses the alert, the ticket itself stays in the console's hand-off inbox).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import TelegramError

from bot import texts as T
from core.database import Database
from core.handoff import alerts as store
from core.kernel.identity import mask_phone, mask_text
from core.kernel.timeutil import utcnow

log = logging.getLogger(__name__)
WINDOW = timedelta(hours=24)  # tickets older than this are not alerted after a restart


class StaffAlerts:
    def __init__(self, db: Database, staff_chat_id: int | None) -> None:
        self.db = db
        self.staff_chat_id = staff_chat_id

    async def push(self, bot: Bot) -> int:
        """Post tickets and applicant messages staff have not seen yet; returns how many."""
        if self.staff_chat_id is None:
            return 0
        alerts = await asyncio.to_thread(store.pending_alerts, self.db, utcnow() - WINDOW)
        posted = 0
        for a in alerts:
            text = T.TICKET_ALERT.format(
                ticket=a.ticket_id,
                channel=T.CHANNEL_LABELS.get(a.channel, a.channel),
                who=mask_phone(a.address),
                kind=T.TICKET_NEW if a.new_ticket else T.TICKET_MORE,
                text=mask_text(a.text) if a.text else T.TICKET_NO_TEXT,
            )
            claimed = await asyncio.to_thread(
                store.claim_alert, self.db, a, str(self.staff_chat_id), text
            )
            if claimed is None:
                continue  # another process posts this one
            provider_id, error = None, None
            try:
                sent = await bot.send_message(self.staff_chat_id, text)
                provider_id = str(sent.message_id)
            except TelegramError as exc:
                error = str(exc)
            await asyncio.to_thread(store.finish_alert, self.db, claimed, provider_id, error)
            posted += 1
        return posted

    async def run(self, bot: Bot, interval: float) -> None:
        while True:
            try:
                await self.push(bot)
            except Exception:
                log.exception("posting hand-off alerts to the staff chat failed")
            await asyncio.sleep(interval)
