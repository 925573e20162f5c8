"""The PTB `Application` of the bot, built to live inside our FastAPI app (no Updater) or, for
development, to long-poll (`chuangdai bot poll`).

`TELEGRAM_API_BASE_URL` (default https://api.telegram.org/bot) is both the seam for a self-hosted
Bot API server and for the tests' fake; the file URL is derived from it (…/bot → …/file/bot).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from telegram import BotCommandScopeAllPrivateChats, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ContextTypes

from bot import texts as T
from bot.alerts import StaffAlerts
from bot.broadcasts import StaffBroadcasts
from bot.handlers import UPDATE_CHANNEL, Dialogue, UserHandlers
from bot.sender import TelegramSender
from bot.staff import StaffDesk
from core.broadcasts.texts import SmsCost
from core.database import Database
from core.dialogue import inbox
from core.dialogue.inbox import OrderedRunner
from core.kernel.settings import Settings

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "callback_query"]
START_RETRY_SECONDS = 30.0


def file_base_url(api_base_url: str) -> str:
    """https://host/bot → https://host/file/bot (the Bot API's layout, also when self-hosted)."""
    base = api_base_url.rstrip("/")
    if not base.endswith("/bot"):
        raise ValueError(
            "TELEGRAM_API_BASE_URL must end in /bot, e.g. https://api.telegram.org/bot"
        )
    return base[: -len("/bot")] + "/file/bot"


@dataclass(frozen=True)
class BotConfig:
    token: str
    api_base_url: str = "https://api.telegram.org/bot"
    webhook_secret: str | None = None
    staff_chat_id: int | None = None
    max_upload_bytes: int = 20 * 1024 * 1024
    confirm_threshold: int = 1000
    alert_interval: float = 5.0
    inbox_sweep_interval: float = 30.0
    single_process: bool = False  # SQLite: leases left by a killed process are void at start

    @classmethod
    def from_settings(cls, s: Settings) -> BotConfig | None:
        """None when no bot token is configured (the server then runs without the bot)."""
        if not s.telegram_bot_token:
            return None
        return cls(
            token=s.telegram_bot_token,
            api_base_url=s.telegram_api_base_url,
            webhook_secret=s.telegram_webhook_secret or None,
            staff_chat_id=s.telegram_staff_chat_id,
            max_upload_bytes=s.max_upload_mb * 1024 * 1024,
            confirm_threshold=s.broadcast_confirm_threshold,
            single_process=s.is_sqlite,
        )


class TelegramBot:
    """The application, its handlers, the outbox sender and the staff-alert loop."""

    def __init__(
        self,
        config: BotConfig,
        dialogue: Dialogue,
        db: Database,
        *,
        sms_cost: SmsCost | None = None,
        polling: bool = False,
    ) -> None:
        """`sms_cost` (from the composition root) lets staff-chat announcements reach people
        without a linked chat by SMS; without it they go to Telegram subscribers only."""
        self.config = config
        # httpx logs every request URL at INFO, and Bot API URLs contain the token.
        logging.getLogger("httpx").setLevel(max(logging.getLogger("httpx").level, logging.WARNING))
        limiter = AIORateLimiter(
            overall_max_rate=30, overall_time_period=1, group_max_rate=20, group_time_period=60,
            max_retries=1,  # a 429 is waited out (retry_after) and retried once
        )  # fmt: skip
        builder = (
            Application.builder()
            .token(config.token)
            .base_url(config.api_base_url)
            .base_file_url(file_base_url(config.api_base_url))
            .rate_limiter(limiter)
            .concurrent_updates(8)
            .job_queue(None)
            .post_init(self._post_init)
            .post_shutdown(self._post_shutdown)
        )
        if not polling:
            builder = builder.updater(None)
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        broadcasts = StaffBroadcasts(db, config.confirm_threshold, sms_cost)
        self.staff = StaffDesk(db, config.staff_chat_id, broadcasts)
        self.staff.register(self.application)  # before the catch-all user handlers
        self.alerts = StaffAlerts(db, config.staff_chat_id)
        UserHandlers(dialogue, db, config.max_upload_bytes).register(self.application)
        self.application.add_error_handler(self._on_error)
        self.sender = TelegramSender(self.application.bot, db)
        self.db = db
        self.runner = OrderedRunner(concurrency=8)
        self._tasks: list[asyncio.Task[None]] = []
        self._alerts: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self.application.running

    def parse(self, data: dict[str, Any]) -> Update:
        return Update.de_json(data, self.application.bot)

    def feed(self, update: Update) -> bool:
        """Process a stored webhook update in the background, after the updates of its chat that
        came before it; its inbox row is marked answered once the handlers are done. False when
        this update is already queued or running here."""
        chat = update.effective_chat
        key = str(chat.id) if chat else "-"

        async def job() -> None:
            await self.application.process_update(update)
            await asyncio.to_thread(
                inbox.mark_answered, self.db, UPDATE_CHANNEL, str(update.update_id)
            )

        return self.runner.submit(key, str(update.update_id), job)

    async def recover(self, *, at_start: bool = False) -> int:
        """Queue the stored updates that are not answered (after a crash, or whose processing
        failed), oldest first. At start on a single-process database every lease is void."""
        pending = await asyncio.to_thread(
            inbox.claim_pending,
            self.db,
            UPDATE_CHANNEL,
            ignore_leases=at_start and self.config.single_process,
        )
        queued = 0
        for row in pending:
            try:
                update = self.parse(row.payload)
            except Exception:  # stored before parsing succeeded: cannot happen; never loop on it
                log.error("stored telegram update %s is unreadable; dropped", row.message_id)
                await asyncio.to_thread(
                    inbox.mark_answered, self.db, UPDATE_CHANNEL, row.message_id
                )
                continue
            queued += self.feed(update)
        if queued:
            log.info("telegram inbox: %d stored updates queued again", queued)
        return queued

    async def start(self) -> None:
        """Start inside the web server. If Telegram is unreachable, keep retrying in the
        background (the webhook answers 503 meanwhile, so Telegram redelivers)."""
        try:
            await self._start_once()
        except TelegramError as exc:
            log.error(
                "Telegram bot could not start (%s); retrying every %.0f s",
                self._safe(exc),
                START_RETRY_SECONDS,
            )
            self._tasks.append(asyncio.create_task(self._keep_starting()))

    async def _start_once(self) -> None:
        await self.application.initialize()
        await self._post_init(self.application)
        await self.application.start()
        log.info("Telegram bot @%s started (webhook mode)", self.application.bot.username)
        await self.recover(at_start=True)  # then every 30 s from server/workers.py

    async def _keep_starting(self) -> None:
        while not self.application.running:
            await asyncio.sleep(START_RETRY_SECONDS)
            try:
                await self._start_once()
            except TelegramError as exc:
                log.warning("Telegram bot still not started: %s", self._safe(exc))

    def _safe(self, exc: Exception) -> str:
        """An error message without the bot token (PTB's InvalidToken quotes it)."""
        return str(exc).replace(self.config.token, "***")

    async def stop(self) -> None:
        await self.runner.join(timeout=10)  # updates in flight finish; the rest stay stored
        await self.runner.cancel()
        if self.application.running:
            await self.application.stop()
        await self._post_shutdown(self.application)
        await self.application.shutdown()

    def run_polling(self) -> None:
        """Long polling for development (blocks; Ctrl-C stops)."""
        self.application.run_polling(allowed_updates=ALLOWED_UPDATES)

    async def _post_init(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        try:
            await app.bot.set_my_commands(T.COMMAND_MENU, scope=BotCommandScopeAllPrivateChats())
            if self.config.staff_chat_id is not None:
                scope = BotCommandScopeChat(self.config.staff_chat_id)
                await app.bot.set_my_commands(T.STAFF_COMMAND_MENU, scope=scope)
        except TelegramError as exc:
            log.warning("could not set the Telegram command menu: %s", exc)
        if self.config.staff_chat_id is not None and self._alerts is None:
            loop = self.alerts.run(app.bot, self.config.alert_interval)
            self._alerts = asyncio.create_task(loop)
            self._tasks.append(self._alerts)

    async def _post_shutdown(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._alerts = None

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed", exc_info=context.error)
