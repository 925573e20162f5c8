"""Background work of the web process, registered once from server/app.py (route modules
register nothing): the broadcast worker and the fan-out it resumes, and imports run off the
event loop, and the SMS loops (late receipts applied and old rows pruned for either provider,
QuerySendDetails polling with SMS_PROVIDER=aliyun). The reminder sweep and the outbox dispatcher
are in server/scheduler.py, Telegram inbox recovery with its door.

The broadcast worker (every 15 s, in processes with SCHEDULER_ENABLED) fans out scheduled
broadcasts when their time comes and resumes a fan-out a crashed process left behind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from core.broadcasts import fanout as bc_fanout
from core.loans.importing import ImportReport
from core.persistence.db import session_scope
from core.staff import imports
from core.staff.imports import ImportRequest
from server import staff_services as svc
from server.bootstrap import Container
from sms import replycap
from sms import status as sms_status
from sms.aliyun_receipts import poll_receipts
from sms.aliyun_sender import AliyunSmsPort
from sms.port import SmsSender

log = logging.getLogger(__name__)
WORKER_EVERY_SECONDS = 15.0


async def periodic(
    stop: asyncio.Event, every: float, work: Callable[[], object], what: str
) -> None:
    """Run `work` in a thread now and then every `every` seconds until `stop` is set; a failure
    is logged and the next round tries again."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(work)
        except Exception:
            log.exception("%s failed; retrying later", what)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


def _on_app(
    app: FastAPI, loops: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]]
) -> None:
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
    loops: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = [
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
    applied = sms_status.reconcile_all(db)
    if applied:
        log.info("sms: %d delivery receipts applied late", applied)


def _prune_sms(db: Engine) -> None:
    sms_status.prune_unapplied(db)
    replycap.prune(db)


def run_fan_out(container: Container, broadcast_id: int) -> None:
    """Queue one broadcast now (after a send/confirm; errors logged, the worker resumes it)."""
    try:
        bc_fanout.fan_out(container.engine, broadcast_id, sms=svc.sms_cost(container))
    except Exception:
        log.exception("broadcast %s fan-out failed; it will be resumed", broadcast_id)


def install(app: FastAPI, container: Container) -> None:
    """Register the broadcast worker on the app's start/stop hooks (once)."""
    if not container.settings.scheduler_enabled:
        return

    def due() -> None:
        bc_fanout.run_due(container.engine, sms=svc.sms_cost(container))

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
