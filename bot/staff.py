"""The staff chat (TELEGRAM_STAFF_CHAT_ID): announcements, replies to hand-off tickets, alerts.

- `/broadcast 内容` → preview + audience size + confirm/cancel buttons → queued to the outbox;
- `/reply 工单号 内容`, or a reply to the bot's ticket alert → core.handoff.staff_reply;
- every new ticket / applicant message is posted to the staff chat once (see bot/store.py).
Staff commands from any other chat are refused.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.ext import MessageHandler, filters

from bot import broadcasts, store
from bot import texts as T
from core.db import session_scope
from core.handoff import HandoffError, staff_reply
from core.identity import mask_phone, mask_text
from core.timeutil import utcnow

log = logging.getLogger(__name__)
TICKET_IN_ALERT = re.compile(r"工单 #(\d+)")
ALERT_WINDOW = timedelta(hours=24)


class StaffDesk:
    def __init__(self, db: Engine, staff_chat_id: int | None, confirm_threshold: int) -> None:
        self.db = db
        self.staff_chat_id = staff_chat_id
        self.confirm_threshold = confirm_threshold

    def register(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        only_new = filters.UpdateType.MESSAGE
        application.add_handler(CommandHandler("broadcast", self.on_broadcast, only_new))
        application.add_handler(CommandHandler("reply", self.on_reply_command, only_new))
        application.add_handler(CallbackQueryHandler(self.on_button, pattern=r"^bc:(ok|no):\d+$"))
        if self.staff_chat_id is not None:
            replies = filters.Chat(self.staff_chat_id) & filters.REPLY & filters.TEXT
            application.add_handler(MessageHandler(only_new & replies & ~filters.COMMAND, self.on_reply))

    def _is_staff_chat(self, chat_id: int) -> bool:
        return self.staff_chat_id is not None and chat_id == self.staff_chat_id

    async def _staff_message(self, update: Update) -> Message | None:
        msg = update.message
        if msg is None or msg.from_user is None:
            return None
        if not self._is_staff_chat(msg.chat.id):
            await msg.reply_text(T.STAFF_ONLY)
            return None
        return msg

    async def on_broadcast(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = await self._staff_message(update)
        if msg is None or msg.from_user is None:
            return
        parts = (msg.text or "").split(maxsplit=1)
        body = parts[1].strip() if len(parts) > 1 else ""
        if not body:
            await msg.reply_text(T.BROADCAST_USAGE)
            return
        who = await asyncio.to_thread(store.staff_name, self.db, msg.from_user.id)
        draft_id, size = await asyncio.to_thread(broadcasts.draft, self.db, body, who)
        text = T.BROADCAST_PREVIEW.format(
            draft=draft_id, text=broadcasts.preview_text(body), size=size
        )
        if size > self.confirm_threshold:
            text += "\n" + T.BROADCAST_SECOND_PERSON.format(threshold=self.confirm_threshold)
        buttons = [
            InlineKeyboardButton(T.BROADCAST_CONFIRM, callback_data=f"bc:ok:{draft_id}"),
            InlineKeyboardButton(T.BROADCAST_CANCEL, callback_data=f"bc:no:{draft_id}"),
        ]
        await msg.reply_text(text, reply_markup=InlineKeyboardMarkup([buttons]))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or query.data is None or query.message is None:
            return
        chat_id = query.message.chat.id
        if not self._is_staff_chat(chat_id):
            await query.answer(T.STAFF_ONLY, show_alert=True)
            return
        _, action, raw_id = query.data.split(":")
        draft_id = int(raw_id)
        who = await asyncio.to_thread(store.staff_name, self.db, query.from_user.id)
        try:
            if action == "ok":
                count = await asyncio.to_thread(
                    broadcasts.confirm, self.db, draft_id, who, self.confirm_threshold
                )
                done = T.BROADCAST_QUEUED.format(draft=draft_id, who=who, count=count)
            else:
                await asyncio.to_thread(broadcasts.cancel, self.db, draft_id, who)
                done = T.BROADCAST_CANCELLED.format(draft=draft_id)
        except broadcasts.BroadcastError as exc:
            await query.answer(str(exc), show_alert=True)
            return
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=None)
        await context.bot.send_message(chat_id, done)

    async def on_reply_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = await self._staff_message(update)
        if msg is None or msg.from_user is None:
            return
        parts = (msg.text or "").split(maxsplit=2)
        if len(parts) < 3 or not parts[1].lstrip("#").isdigit():
            await msg.reply_text(T.REPLY_USAGE)
            return
        await msg.reply_text(await self._relay(int(parts[1].lstrip("#")), msg.from_user.id, parts[2]))

    async def on_reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.message
        if msg is None or msg.from_user is None or msg.reply_to_message is None:
            return
        original = msg.reply_to_message
        if original.from_user is None or original.from_user.id != context.bot.id:
            return  # a conversation among staff, not an answer to a ticket alert
        found = TICKET_IN_ALERT.search(original.text or "")
        if found is None:
            return
        await msg.reply_text(await self._relay(int(found.group(1)), msg.from_user.id, msg.text or ""))

    async def _relay(self, ticket_id: int, telegram_user_id: int, text: str) -> str:
        def run() -> str:
            who = store.staff_name(self.db, telegram_user_id)
            try:
                with session_scope(self.db) as s:
                    staff_reply(s, ticket_id, who, text)
            except HandoffError as exc:
                return str(exc)
            return T.REPLY_SENT.format(ticket=ticket_id)

        return await asyncio.to_thread(run)

    async def push_alerts(self, bot: Bot) -> int:
        """Post tickets and applicant messages staff have not seen yet; returns how many."""
        if self.staff_chat_id is None:
            return 0
        alerts = await asyncio.to_thread(store.pending_alerts, self.db, utcnow() - ALERT_WINDOW)
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

    async def run_alerts(self, bot: Bot, interval: float) -> None:
        while True:
            try:
                await self.push_alerts(bot)
            except Exception:
                log.exception("posting hand-off alerts to the staff chat failed")
            await asyncio.sleep(interval)
