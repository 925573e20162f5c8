"""Background work of the web process, registered once from server/app.py (route modules
register nothing): the broadcast worker and the fan-out it resumes, and imports run off the
event loop. The reminder sweep and the outbox dispatcher are in server/scheduler.py, the
channel doors' own loops (Telegram inbox recovery, Aliyun receipt polling) with their doors.

The broadcast worker (every 15 s, in processes with SCHEDULER_ENABLED) fans out scheduled
broadcasts when their time comes and resumes a fan-out a crashed process left behind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from fastapi import FastAPI

from core.broadcast import fanout as bc_fanout
from core.db import session_scope
from core.loans.importing import ImportReport
from core.staff import imports
from core.staff.imports import ImportRequest
from server import staff_services as svc
from server.bootstrap import Container

log = logging.getLogger(__name__)
WORKER_EVERY_SECONDS = 15.0


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
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def loop() -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(
                    bc_fanout.run_due, container.engine, sms=svc.sms_cost(container)
                )
            except Exception:
                log.exception("broadcast worker failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=WORKER_EVERY_SECONDS)

    async def start(_app: FastAPI) -> None:
        stop.clear()
        tasks.append(asyncio.create_task(loop()))

    async def halt(_app: FastAPI) -> None:
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=30)
        tasks.clear()

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(halt)


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
