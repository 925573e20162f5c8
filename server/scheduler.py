"""Background work of the server: the daily reminder sweep and the continuous outbox dispatcher.

APScheduler's AsyncIOScheduler runs the sweep every day at the policy's `sweep_at` (Asia/Shanghai)
and once shortly after start-up when today's sweep has not run yet (a server that was down at
sweep time catches up; the ladder itself catches up missed days for the rules still meaningful).
The dispatcher runs as a long-lived task on the server's event loop. Both start and stop through
`app.state.startup_hooks` / `shutdown_hooks`; `SCHEDULER_ENABLED=false` turns them off (e.g. for
web-only processes).

Several server processes on PostgreSQL: every process runs both; only one sweeps at a time (the
sweep's advisory lock, the others skip) and the dispatchers share the work through
`FOR UPDATE SKIP LOCKED`. SQLite: run one server process, which does both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from fastapi import FastAPI
from sqlmodel import Session

from core.kernel.quiet_hours import QuietHours
from core.kernel.timeutil import SHANGHAI, local_today, to_local, utcnow
from core.outbox.dispatch import DispatchConfig, Dispatcher
from core.outbox.senders import ConsoleSender, Sender
from core.reminders.ladder import (
    DEFAULT_POLICY,
    ReminderPolicy,
    load_reminder_policy,
)
from core.reminders.sweep import SweepResult, last_sweep_day, run_sweep
from server.bootstrap import Container

log = logging.getLogger(__name__)


def reminder_policy(container: Container) -> ReminderPolicy:
    """The deployment's reminder ladder (setting REMINDER_POLICY, default reminders-default)."""
    name = str(getattr(container.settings, "reminder_policy", None) or DEFAULT_POLICY)
    return load_reminder_policy(name, container.knowledge_path / "policies")


def quiet_hours(container: Container) -> QuietHours:
    return container.quiet


def build_senders(container: Container) -> dict[str, Sender]:
    """channel -> sender: the container's if it has them, else Telegram (when the bot is
    configured), SMS (Twilio when configured) and WeChat (when configured); a channel without
    credentials gets a console sender that logs."""
    existing: Any = getattr(container, "senders", None)
    if isinstance(existing, Mapping):
        return dict(existing)
    from server.routes_telegram import telegram_of
    from server.routes_wechat import build_wechat_sender

    bot = telegram_of(container)
    senders: dict[str, Sender] = {
        "telegram": bot.sender if bot is not None else ConsoleSender("telegram"),
        "sms": container.sms_sender,
        "wechat": build_wechat_sender(container),
    }
    return senders


def room_for_batches(config: DispatchConfig, senders: Mapping[str, Sender]) -> DispatchConfig:
    """Enough sends in flight for a batching sender (Aliyun SendBatchSms) to fill its batches."""
    limits = [getattr(getattr(s, "batcher", None), "port", None) for s in senders.values()]
    limit = max((int(getattr(p, "batch_limit", 0)) for p in limits if p is not None), default=0)
    if limit <= config.concurrency:
        return config
    return replace(config, concurrency=limit, batch_size=max(config.batch_size, limit))


class BackgroundWork:
    """The sweep job and the dispatcher of one server process."""

    def __init__(
        self,
        container: Container,
        senders: Mapping[str, Sender] | None = None,
        *,
        dispatch_config: DispatchConfig | None = None,
        startup_delay_seconds: float = 5.0,
    ) -> None:
        self.container = container
        self._senders = senders
        self.dispatch_config = dispatch_config or DispatchConfig()
        self.startup_delay_seconds = startup_delay_seconds
        self.scheduler: AsyncIOScheduler | None = None
        self.dispatcher: Dispatcher | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.worker = f"{socket.gethostname()}"[:64]

    async def sweep(self, today: Any = None) -> SweepResult | None:
        """Run the sweep for today (in a thread); errors are logged, never raised."""
        c = self.container
        try:
            await asyncio.to_thread(self._prune_inbound)
        except Exception:
            log.exception("pruning old inbound message ids failed")
        try:
            return await asyncio.to_thread(
                run_sweep,
                c.engine,
                reminder_policy(c),
                c.calendar,
                today,
                quiet=quiet_hours(c),
                worker=self.worker,
            )
        except Exception:
            log.exception("reminder sweep failed")
            return None

    def _prune_inbound(self) -> None:
        from core.outbox.enqueue import prune_inbound
        from core.persistence.db import session_scope

        with session_scope(self.container.engine) as s:
            prune_inbound(s)

    def _swept_today(self) -> bool:
        with Session(self.container.engine) as s:
            last = last_sweep_day(s)
        return last is not None and last >= local_today()

    async def catch_up(self) -> SweepResult | None:
        """At start-up: sweep now if today's sweep time has passed and it has not run yet."""
        policy = reminder_policy(self.container)
        now_local = to_local(utcnow())
        if now_local.time() < policy.sweep_at:
            return None  # the daily job will run later today
        if await asyncio.to_thread(self._swept_today):
            return None
        log.info("today's reminder sweep has not run yet: running it now")
        return await self.sweep()

    async def start(self) -> None:
        policy = reminder_policy(self.container)
        senders = (
            dict(self._senders) if self._senders is not None else build_senders(self.container)
        )
        self.dispatcher = Dispatcher(
            self.container.engine,
            senders,
            quiet=quiet_hours(self.container),
            config=room_for_batches(self.dispatch_config, senders),
        )
        scheduler = AsyncIOScheduler(timezone=SHANGHAI)
        scheduler.add_job(
            self.sweep,
            CronTrigger(
                hour=policy.sweep_at.hour, minute=policy.sweep_at.minute, timezone=SHANGHAI
            ),
            id="reminder-sweep",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=6 * 3600,
            replace_existing=True,
        )
        scheduler.add_job(
            self.catch_up,
            "date",
            run_date=datetime.now(SHANGHAI) + timedelta(seconds=self.startup_delay_seconds),
            id="reminder-sweep-catch-up",
            replace_existing=True,
        )
        scheduler.start()
        self.scheduler = scheduler
        self._stop.clear()
        self._task = asyncio.create_task(self.dispatcher.run_forever(self._stop))
        log.info(
            "scheduler started: reminder sweep daily at %s (Asia/Shanghai), dispatcher for %s",
            policy.sweep_at.strftime("%H:%M"),
            ", ".join(sorted(senders)),
        )

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=30)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None


def install(
    app: FastAPI,
    container: Container,
    senders: Mapping[str, Sender] | None = None,
    *,
    dispatch_config: DispatchConfig | None = None,
) -> BackgroundWork | None:
    """Add the sweep and the dispatcher to the app's start-up/shutdown (unless disabled)."""
    if not container.settings.scheduler_enabled:
        log.info("SCHEDULER_ENABLED is off: no reminder sweep and no dispatcher in this process")
        return None
    work = BackgroundWork(container, senders, dispatch_config=dispatch_config)
    app.state.background = work

    async def start(_app: FastAPI) -> None:
        await work.start()

    async def stop(_app: FastAPI) -> None:
        await work.stop()

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(stop)
    return work
