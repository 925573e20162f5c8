"""Private chats ↔ the dialogue engine: Updates become InboundEvents, Replies become messages.

Commands are passed to the engine as text ("/check", "/ask 问题", "/stop"); `/start <payload>`
passes the deep-link payload separately (it links a borrower's loan through a one-time token).
Files: the size limit is applied to the size Telegram declares *before* getFile and download, and
again while the file streams in (a document without a declared size stops at the limit).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import httpx
from telegram import Bot, Message, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot import texts as T
from bot.chat_locks import ChatLocks
from bot.render import contact_keyboard, to_messages
from core.database import Database
from core.dialogue import inbox
from core.dialogue.engine import Finish
from core.dialogue.events import Attachment, EngineResult, InboundEvent
from core.outbox import identities

log = logging.getLogger(__name__)
UPDATE_CHANNEL = "telegram-update"  # stored webhook updates in `inbound_message` (the inbox)


class Dialogue(Protocol):
    def handle(self, event: InboundEvent, finish: Finish | None = ...) -> EngineResult: ...


def split_command(text: str) -> tuple[str, str | None]:
    """(text for the engine, /start payload or None); "/cmd@bot args" → "/cmd args"."""
    if not text.startswith("/"):
        return text, None
    head, _, rest = text.partition(" ")
    command = head.split("@", 1)[0].lower()
    if command == "/start":
        return "", rest.strip()
    return f"{command} {rest.strip()}".strip(), None


class UserHandlers:
    def __init__(self, dialogue: Dialogue, db: Database, max_upload_bytes: int) -> None:
        self.dialogue = dialogue
        self.db = db
        self.max_upload_bytes = max_upload_bytes
        self.locks = ChatLocks()

    def register(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        private = filters.ChatType.PRIVATE
        application.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & private, self.on_message)
        )
        application.add_handler(CallbackQueryHandler(self.on_callback))

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.message
        if msg is None:
            return
        user = msg.from_user
        contact_phone: str | None = None
        if msg.contact is not None:
            if user is None or msg.contact.user_id != user.id:
                await msg.reply_text(T.CONTACT_NOT_OWN, reply_markup=contact_keyboard())
                return
            phone = msg.contact.phone_number
            contact_phone = phone if phone.startswith("+") else f"+{phone}"
        text, payload = split_command(msg.text or msg.caption or "")
        event = InboundEvent(
            channel="telegram",
            address=str(msg.chat.id),
            message_id=f"{msg.chat.id}:{msg.message_id}",
            text=text,
            attachments=await self._attachments(msg, context.bot),
            contact_phone=contact_phone,
            start_payload=payload,
            display_name=user.full_name if user else None,
        )
        await self._run(
            event, context.bot, msg.chat.id, update, remove_keyboard=contact_phone is not None
        )

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        if query.message is None or query.data is None or query.message.chat.type != "private":
            return
        label = ""
        markup = getattr(query.message, "reply_markup", None)
        for row in markup.inline_keyboard if markup else ():
            label = next((b.text for b in row if b.callback_data == query.data), label)
        chat_id = query.message.chat.id
        event = InboundEvent(
            channel="telegram",
            address=str(chat_id),
            message_id=f"cb:{query.id}",
            text=label,
            option=query.data,
            display_name=query.from_user.full_name,
        )
        await self._run(event, context.bot, chat_id, update)

    async def _attachments(self, msg: Message, bot: Bot) -> tuple[Attachment, ...]:
        if msg.photo:
            item: Any = max(msg.photo, key=lambda p: (p.file_size or 0, p.width * p.height))
            name: str | None = None
            mime: str | None = "image/jpeg"
        elif msg.document is not None:
            item, name, mime = msg.document, msg.document.file_name, msg.document.mime_type
        else:
            return ()
        size: int | None = item.file_size
        refused = Attachment(filename=name, declared_type=mime, declared_size=size, too_large=True)
        if size is not None and size > self.max_upload_bytes:
            return (refused,)  # refused before getFile: nothing is downloaded
        try:
            tg_file = await bot.get_file(item.file_id)
            if tg_file.file_size is not None and tg_file.file_size > self.max_upload_bytes:
                return (refused,)
            data = await download_limited(tg_file.file_path or "", self.max_upload_bytes)
        except BadRequest as exc:  # e.g. "file is too big" (the cloud Bot API stops at 20 MB)
            log.info("telegram getFile refused: %s", exc.message)
            return (refused,)
        except httpx.HTTPError as exc:
            log.warning("telegram file download failed: %s", type(exc).__name__)
            return (Attachment(filename=name, declared_type=mime, declared_size=size),)
        if data is None:
            return (refused,)
        return (Attachment(data=data, filename=name, declared_type=mime, declared_size=size),)

    async def _run(
        self,
        event: InboundEvent,
        bot: Bot,
        chat_id: int,
        update: Update,
        remove_keyboard: bool = False,
    ) -> None:
        async with self.locks.hold(event.address):
            await self._answer(event, bot, chat_id, str(update.update_id), remove_keyboard)

    async def _answer(
        self, event: InboundEvent, bot: Bot, chat_id: int, update_id: str, remove_keyboard: bool
    ) -> None:
        await asyncio.to_thread(identities.set_reachable, self.db, "telegram", event.address, True)
        try:
            result = await asyncio.to_thread(
                self.dialogue.handle, event, inbox.processed_hook(UPDATE_CHANNEL, update_id)
            )
        except Exception:
            log.exception("dialogue failed for telegram message %s", event.message_id)
            await bot.send_message(chat_id, T.INTERNAL_ERROR)
            return
        if result.duplicate:
            # The update came (back) from the inbox unanswered: the engine committed it before a
            # crash, its replies may not have gone out. Send the stored replies (at least once).
            log.info("telegram message %s: sending its stored replies", event.message_id)
        try:
            for reply in result.replies:
                for out in to_messages(reply, remove_keyboard):
                    await bot.send_message(chat_id, out.text, reply_markup=out.markup)
        except Forbidden as exc:
            await asyncio.to_thread(
                identities.set_reachable, self.db, "telegram", event.address, False, exc.message
            )


async def download_limited(url: str, max_bytes: int) -> bytes | None:
    """The file at `url`, read as a stream; None as soon as it passes `max_bytes` (a document
    without a declared size is never downloaded whole). The URL holds the bot token: not logged."""
    if not url.startswith(("https://", "http://")):
        raise httpx.InvalidURL("no file URL")
    data = bytearray()
    async with (
        httpx.AsyncClient(timeout=60) as client,
        client.stream("GET", url) as response,
    ):
        response.raise_for_status()
        declared = response.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
            return None
        async for chunk in response.aiter_bytes():
            data.extend(chunk)
            if len(data) > max_bytes:
                return None
    return bytes(data)
