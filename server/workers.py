"""Every background loop of the web process, registered here and only here (`install`, called
once by server/app.py; route modules register nothing). In start order (stopped in reverse):

1. the Telegram bot (started in webhook mode, stopped after its updates in flight) and its inbox
   recovery loop (stored updates left unanswered are queued again every 30 s);
2. the WeChat handler's replies still running (drained at shutdown);
3. the broadcast worker (every 15 s, with SCHEDULER_ENABLED): fans out scheduled broadcasts when
   their time comes and resumes a fan-out a crashed process left behind;
4. the SMS loops, for whichever provider is configured: late receipts applied (30 s), old rows
   pruned (hourly), QuerySendDetails polling with SMS_PROVIDER=aliyun;
5. the reminder sweep (daily cron and the start-up catch-up) and the outbox dispatcher
   (`server.scheduler.BackgroundWork`, with SCHEDULER_ENABLED), last: the bot's sender is up
   before the dispatcher sends.

Also here: the fan-out run after a broadcast is sent or confirmed, and imports run off the event
loop. The staff-chat alert loop is the bot's own (it runs in polling mode too)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from core.broadcasts import fanout as bc_fanout
from core.dialogue import replycap
from core.loans.importing import ImportReport
from core.outbox import receipts
from core.outbox.dispatch import DispatchConfig
from core.outbox.senders import Sender
from core.persistence.db import session_scope
from core.staff import imports
from core.staff.imports import ImportRequest
from server import staff_services as svc
from server.bootstrap import Container
from server.scheduler import BackgroundWork
from sms.aliyun_receipts import poll_receipts
from sms.aliyun_sender import AliyunSmsPort
from sms.port import SmsSender

log = logging.getLogger(__name__)
WORKER_EVERY_SECONDS = 15.0


Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


async def periodic(
    stop: asyncio.Event, every: float, work: Callable[[], object], what: str
) -> None:
    """Run `work` in a thread now and then every `every` seconds until `stop` is set; a failure
    is logged and the next round tries again."""
    await every_round(stop, every, lambda: asyncio.to_thread(work), what)


async def every_round(
    stop: asyncio.Event,
    every: float,
    work: Callable[[], Awaitable[object]],
    what: str,
    *,
    wait_first: bool = False,
) -> None:
    """Await `work` now (or after one interval with `wait_first`) and then every `every`
    seconds until `stop` is set; a failure is logged and the next round tries again."""
    if wait_first:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
    while not stop.is_set():
        try:
            await work()
        except Exception:
            log.exception("%s failed; retrying later", what)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


def install(app: FastAPI, container: Container, *, background: bool = True) -> None:
    """Register every background loop on the app's start/stop hooks, in the order listed in
    this module's docstring. `background=False` leaves out the sweep and the dispatcher (a
    test installs its own with `install_scheduler`)."""
    install_telegram(app, container)
    install_wechat(app, container)
    install_broadcasts(app, container)
    install_sms(app, container)
    if background:
        install_scheduler(app, container)


def install_telegram(app: FastAPI, container: Container) -> None:
    """The bot's start/stop and its inbox recovery loop (stopped before the bot)."""
    bot = container.telegram
    if bot is None:
        return

    async def start(_app: FastAPI) -> None:
        await bot.start()

    async def stop(_app: FastAPI) -> None:
        await bot.stop()

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(stop)

    async def recover() -> None:
        if bot.ready:  # not before the bot has started (it retries while Telegram is away)
            await bot.recover()

    every = bot.config.inbox_sweep_interval
    _on_app(
        app,
        [lambda stop: every_round(stop, every, recover, "telegram inbox sweep", wait_first=True)],
    )


def install_wechat(app: FastAPI, container: Container) -> None:
    """WeChat replies still running when the server stops are waited for."""
    webhooks = container.wechat_webhooks

    async def stop(_app: FastAPI) -> None:
        await webhooks.drain()

    app.state.shutdown_hooks.append(stop)


def install_scheduler(
    app: FastAPI,
    container: Container,
    senders: Mapping[str, Sender] | None = None,
    *,
    dispatch_config: DispatchConfig | None = None,
) -> BackgroundWork | None:
    """The reminder sweep and the outbox dispatcher (unless SCHEDULER_ENABLED is off); `senders`
    replaces the container's (tests)."""
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


def _on_app(app: FastAPI, loops: list[Loop]) -> None:
    """Start `loops` with the app and stop them (waiting for each) when it shuts down."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def start(_app: FastAPI) -> None:
        stop.clear()
        tasks.extend(asyncio.create_task(loop(stop)) for loop in loops)

    async def halt(_app: FastAPI) -> None:
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=30)
        tasks.clear()

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(halt)


def install_sms(app: FastAPI, container: Container) -> None:
    """The SMS loops, once, for whichever provider is configured."""
    settings = container.settings
    aliyun = settings.sms_provider == "aliyun"
    if not (settings.twilio_auth_token or aliyun):
        return
    db = container.engine
    loops: list[Loop] = [
        lambda stop: periodic(stop, 30.0, lambda: _apply_late_receipts(db), "sms receipts"),
        lambda stop: periodic(stop, 3600.0, lambda: _prune_sms(db), "sms pruning"),
    ]
    sender: Any = container.sms_sender
    every = settings.aliyun_sms_poll_seconds
    if aliyun and isinstance(sender, SmsSender) and isinstance(sender.port, AliyunSmsPort):
        query = sender.port.query_details
        if every > 0:
            loops.append(
                lambda stop: periodic(
                    stop, every, lambda: poll_receipts(db, query), "aliyun receipt polling"
                )
            )
    _on_app(app, loops)


def _apply_late_receipts(db: Engine) -> None:
    """Receipts that arrived before the dispatcher released their notice."""
    applied = receipts.reconcile_all(db)
    if applied:
        log.info("sms: %d delivery receipts applied late", applied)


def _prune_sms(db: Engine) -> None:
    receipts.prune_unapplied(db)
    replycap.prune(db)


def run_fan_out(container: Container, broadcast_id: int) -> None:
    """Queue one broadcast now (after a send/confirm; errors logged, the worker resumes it)."""
    try:
        bc_fanout.fan_out(container.engine, broadcast_id, sms=container.sms_cost)
    except Exception:
        log.exception("broadcast %s fan-out failed; it will be resumed", broadcast_id)


def install_broadcasts(app: FastAPI, container: Container) -> None:
    """The broadcast worker (with SCHEDULER_ENABLED)."""
    if not container.settings.scheduler_enabled:
        return

    def due() -> None:
        bc_fanout.run_due(container.engine, sms=container.sms_cost)

    _on_app(app, [lambda stop: periodic(stop, WORKER_EVERY_SECONDS, due, "broadcast worker")])


async def import_off_thread(
    container: Container, actor: str, request: ImportRequest
) -> ImportReport:
    """The import command in its own daemon thread and transaction. When the request is
    cancelled (the server stops), the import is told to stop; it writes nothing (one
    transaction) and never holds up the exit."""
    stop = threading.Event()
    loop = asyncio.get_running_loop()
    future: asyncio.Future[ImportReport] = loop.create_future()
    base = container.policy.default_base_rate
    limits = svc.import_limits(container, stop)
    max_bytes = container.settings.max_import_mb * 1024 * 1024

    def settle(result: ImportReport | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            assert result is not None
            future.set_result(result)

    def work() -> None:
        try:
            with session_scope(container.engine) as s:
                report = imports.run_import(
                    s, actor, request, max_bytes=max_bytes, limits=limits,
                    default_base_rate=None if base is None else base.rate,
                )  # fmt: skip
        except BaseException as exc:
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, report, None)

    threading.Thread(target=work, name=f"import-{request.kind}", daemon=True).start()
    try:
        return await future
    except asyncio.CancelledError:
        stop.set()
        raise
