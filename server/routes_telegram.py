"""The Telegram door: `POST /telegram/webhook` feeding the bot's PTB application.

- no TELEGRAM_BOT_TOKEN → the server runs without the bot and the route answers 404;
- the `X-Telegram-Bot-Api-Secret-Token` header must equal TELEGRAM_WEBHOOK_SECRET (403 otherwise,
  and always 403 when no secret is configured): nothing is read or stored before that;
- malformed JSON or not an Update → 400, nothing stored;
- the update is stored (id and payload, `core.dialogue.inbox`) before the 200: a crash after the answer
  loses nothing, the stored update is processed at the next start (or by the periodic sweep);
- an `update_id` already answered or in flight → 200 and ignored; one stored but left
  unprocessed is processed;
- the bot not started yet (Telegram unreachable at start) → 503, so Telegram redelivers;
- otherwise 200 at once; the update is processed in the background, in order per chat.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from bot.handlers import UPDATE_CHANNEL
from core.dialogue import inbox
from server.bootstrap import Container

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"


def _answer(status: int, detail: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"ok": status == 200, **extra}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status)


def mount(app: FastAPI, container: Container) -> None:
    """The webhook route over the container's bot (started and stopped by server/workers.py)."""
    bot = container.telegram
    if bot is None:
        log.warning("TELEGRAM_BOT_TOKEN is not set: the server runs without the Telegram bot")
    elif not bot.config.webhook_secret:
        log.warning(
            "TELEGRAM_WEBHOOK_SECRET is not set: %s refuses every update "
            "(set it, or use `chuangdai bot poll` for development)",
            WEBHOOK_PATH,
        )
    router = APIRouter(tags=["telegram"])

    @router.post(WEBHOOK_PATH, include_in_schema=True)
    async def telegram_webhook(request: Request) -> JSONResponse:
        """Telegram Bot API updates (secret-token checked, deduplicated by update_id)."""
        if bot is None:
            return _answer(404, "Telegram 机器人未配置")
        secret = bot.config.webhook_secret or ""
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            return _answer(403, "forbidden")
        if not bot.ready:
            return _answer(503, "bot not started")
        body = await request.body()  # at most 1 MB: server.bodylimit counts it on the stream
        try:
            data = json.loads(body)
            update_id = data["update_id"]
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                raise ValueError("update_id")
            update = bot.parse(data)
        except Exception:  # anything that is not an Update: nothing is stored
            return _answer(400, "malformed update")
        if update.message is not None and update.message.chat is None:
            log.info("telegram update %s: a message without a chat; dropped", update_id)
            return _answer(200, dropped=True)  # nothing to answer; a retry would not help
        chat = update.effective_chat
        address = str(chat.id) if chat else ""
        stored = await asyncio.to_thread(
            inbox.store, container.engine, UPDATE_CHANNEL, str(update_id), address, data
        )
        if stored.claimed:  # new, or stored earlier and left unprocessed (e.g. by a crash)
            bot.feed(update)
        return _answer(200, duplicate=True) if not stored.fresh else _answer(200)

    app.include_router(router)
