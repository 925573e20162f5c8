"""Staff commands in the staff chat (TELEGRAM_STAFF_CHAT_ID); refused in any other chat.

- `/broadcast 标题\n正文` → preview + audience size + confirm/cancel buttons → core.broadcasts
  (a second staff member confirms above BROADCAST_CONFIRM_THRESHOLD) → the outbox;
- `/reply 工单号 内容`, or a reply to the bot's ticket alert (bot/alerts.py) →
  core.staff.handoff.reply (through core.staff.chat), which queues the answer to the applicant on their channel.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import texts as T
from bot.broadcasts import BroadcastError, Outcome, StaffBroadcasts
from core.database import Database
from core.handoff.tickets import HandoffError
from core.staff import chat

log = logging.getLogger(__name__)
TICKET_IN_ALERT = re.compile(r"工单(?:号\s*|\s*#)(\d+)")  # older alerts said "工单 #N"


class StaffDesk:
    def __init__(
        self, db: Database, staff_chat_id: int | None, broadcasts: StaffBroadcasts
    ) -> None:
        self.db = db
        self.staff_chat_id = staff_chat_id
        self.broadcasts = broadcasts

    def register(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        only_new = filters.UpdateType.MESSAGE
        application.add_handler(CommandHandler("broadcast", self.on_broadcast, only_new))
        application.add_handler(CommandHandler("reply", self.on_reply_command, only_new))
        application.add_handler(CallbackQueryHandler(self.on_button, pattern=r"^bc:(ok|no):\d+$"))
        if self.staff_chat_id is not None:
            replies = filters.Chat(self.staff_chat_id) & filters.REPLY & filters.TEXT
            application.add_handler(
                MessageHandler(only_new & replies & ~filters.COMMAND, self.on_reply)
            )

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
        who = await asyncio.to_thread(chat.staff_name, self.db, msg.from_user.id)
        try:
            draft_id, text = await asyncio.to_thread(self.broadcasts.draft, body, who)
        except BroadcastError as exc:
            await msg.reply_text(str(exc))
            return
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
        who = await asyncio.to_thread(chat.staff_name, self.db, query.from_user.id)
        try:
            if action == "ok":
                outcome = await asyncio.to_thread(self.broadcasts.confirm, draft_id, who)
            else:
                text = await asyncio.to_thread(self.broadcasts.cancel, draft_id, who)
                outcome = Outcome(text, done=True)
        except BroadcastError as exc:
            await query.answer(str(exc), show_alert=True)
            return
        await query.answer()
        if outcome.done:  # the buttons stay while a second person's confirmation is awaited
            await query.edit_message_reply_markup(reply_markup=None)
        await context.bot.send_message(chat_id, outcome.text)

    async def on_reply_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = await self._staff_message(update)
        if msg is None or msg.from_user is None:
            return
        parts = (msg.text or "").split(maxsplit=2)
        if len(parts) < 3 or not (
            parts[1].lstrip("#").isascii() and parts[1].lstrip("#").isdigit()
        ):
            await msg.reply_text(T.REPLY_USAGE)
            return
        await msg.reply_text(
            await self._relay(int(parts[1].lstrip("#")), msg.from_user.id, parts[2])
        )

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
        await msg.reply_text(
            await self._relay(int(found.group(1)), msg.from_user.id, msg.text or "")
        )

    async def _relay(self, ticket_id: int, telegram_user_id: int, text: str) -> str:
        def run() -> str:
            who = chat.staff_name(self.db, telegram_user_id)
            try:
                chat.reply(self.db, who, ticket_id, text)
            except HandoffError as exc:
                return str(exc)
            return T.REPLY_SENT.format(ticket=ticket_id)

        return await asyncio.to_thread(run)
