"""`TelegramSender`: the outbox's port to Telegram, within Telegram's flood limits.

- about 30 messages/s overall and 20/min per group: PTB's `AIORateLimiter` on the bot (see
  bot/app.py), which also waits out a 429 `retry_after` and retries once;
- 1 message/s per chat: an `aiolimiter` bucket per chat here;
- a 429 that persists → temporary failure carrying `retry_after` (the dispatcher defers);
- 403 (blocked, deactivated) or "chat not found" → the chat is marked unreachable and the result
  says so; the batch goes on.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.render import inline_keyboard, split_text
from core.database import Database
from core.outbox import identities
from core.outbox.senders import OutgoingMessage, PerAddressLimits, SendResult

log = logging.getLogger(__name__)
MAX_CHAT_LIMITERS = 10_000


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    channel = "telegram"

    def __init__(self, bot: Bot, db: Database | None = None, per_chat_per_second: float = 1.0):
        self.bot = bot
        self.db = db
        self.per_chat_per_second = per_chat_per_second
        self._chats = PerAddressLimits(per_chat_per_second, MAX_CHAT_LIMITERS)

    async def send(self, message: OutgoingMessage) -> SendResult:
        try:
            chat_id = int(message.address)
        except ValueError:
            return SendResult(ok=False, unreachable=True, error="not a Telegram chat id")
        pieces = split_text(message.text)
        markup = inline_keyboard(message.options) if message.options else None
        first_id: str | None = None
        try:
            await self.bot.initialize()
            for i, piece in enumerate(pieces):
                async with self._chats.of(message.address):
                    sent = await self.bot.send_message(
                        chat_id=chat_id,
                        text=piece,
                        reply_markup=markup if i == len(pieces) - 1 else None,
                    )
                first_id = first_id or str(sent.message_id)
        except RetryAfter as exc:
            seconds = retry_seconds(exc)
            log.warning("telegram flood limit: retry after %.0f s", seconds)
            return SendResult(ok=False, temporary=True, retry_after=seconds, error=str(exc))
        except Forbidden as exc:
            return await self._unreachable(message.address, exc.message)
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                return await self._unreachable(message.address, exc.message)
            return SendResult(ok=False, error=exc.message)
        except (NetworkError, TelegramError) as exc:  # timeouts, 5xx, bad token: try later
            error = str(exc).replace(self.bot.token, "***")  # InvalidToken quotes the token
            return SendResult(ok=False, temporary=True, error=error)
        return SendResult(ok=True, provider_id=first_id, segments=len(pieces))

    async def _unreachable(self, address: str, reason: str) -> SendResult:
        log.info("telegram chat unreachable: %s", reason)
        if self.db is not None:
            await asyncio.to_thread(
                identities.set_reachable, self.db, "telegram", address, False, reason[:200]
            )
        return SendResult(ok=False, unreachable=True, error=reason)

    async def close(self) -> None:
        """Release the HTTP client when the sender was used without the application (CLI)."""
        await self.bot.shutdown()
