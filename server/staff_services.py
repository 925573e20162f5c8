"""What the console and the staff API share: services from the container, and the operations
both doors run (so the two cannot drift apart). Every operation runs in one unit of work and
audits inside it."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import UploadFile

import knowledge
from core import backoffice, dashboard
from core import broadcast as bc
from core.applications import StageError
from core.audit import audit
from core.db import session_scope
from core.errors import Invalid
from core.faq_additions import FaqEditError
from core.filestore import FileStore, safe_basename
from core.handoff import HandoffError
from core.import_limits import ImportLimits
from core.importer import ImportReport, import_loans, import_payments
from core.review import ReviewError
from core.staff import StaffError
from core.timeutil import local_today
from knowledge.policy import Policy
from server.bootstrap import Container
from sms.segments import count_segments, encoding_of
from sms.templates import decorate

log = logging.getLogger(__name__)
IMPORT_SUFFIXES = (".csv", ".xlsx", ".xlsm")


def policy_of(container: Container) -> Policy:
    """The active policy."""
    return container.policy


def kb_of(container: Container) -> knowledge.KnowledgeBase:
    """The knowledge base the bot answers from (reloaded in place by the console)."""
    return container.kb


def files_of(container: Container) -> FileStore:
    return container.files


def sms_cost(container: Container) -> bc.SmsCost:
    """Signature, unsubscribe hint, segments and price exactly as the SMS sender applies them."""
    s = container.settings
    price = Decimal(s.sms_segment_price_yuan)

    def final(text: str) -> str:
        return decorate(
            text,
            kind="broadcast",
            signature=s.sms_signature,
            unsubscribe_hint=s.sms_unsubscribe_hint,
        )

    return bc.SmsCost(
        decorate=final, segments=count_segments, price_per_segment_yuan=price, encoding=encoding_of
    )


def threshold(container: Container) -> int:
    return int(container.settings.broadcast_confirm_threshold)


def build_dashboard(container: Container, today: date | None = None) -> dashboard.Dashboard:
    policy = policy_of(container)
    steps = {kind: policy.step_days(kind) for kind in ("individual", "enterprise")}
    with session_scope(container.engine) as s:
        return dashboard.build(
            s,
            step_days=steps,
            calendar=container.calendar,
            today=today or local_today(),
            fund_yuan=container.settings.guarantee_fund_yuan,
            funds_yuan=container.settings.guarantee_funds,
            leverage=policy.guarantee_fund.leverage,
            leverage_article=policy.guarantee_fund.article,
        )


# --- uploads ------------------------------------------------------------------------------------


class UploadRefused(Invalid):
    """An upload we refuse before importing; the message is Chinese."""


# Errors whose message is meant for staff (Chinese): both doors turn them into a 4xx answer.
DOMAIN_ERRORS: tuple[type[Exception], ...] = (
    bc.BroadcastError,
    backoffice.BackofficeError,
    ReviewError,
    StageError,
    HandoffError,
    StaffError,
    FaqEditError,
    UploadRefused,
)


def safe_name(filename: str | None, fallback: str) -> str:
    return safe_basename(filename, fallback)


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def _check(upload: Upload, max_bytes: int) -> None:
    if not upload.data:
        raise UploadRefused(f"文件 {upload.filename} 是空的")
    if len(upload.data) > max_bytes:
        raise UploadRefused(f"文件 {upload.filename} 超过 {max_bytes // (1024 * 1024)}MB")
    if not upload.filename.lower().endswith(IMPORT_SUFFIXES):
        raise UploadRefused("只接受 CSV 或 XLSX 文件（.csv / .xlsx）")


def import_limits(container: Container, stop: threading.Event | None = None) -> ImportLimits:
    s = container.settings
    return ImportLimits(
        max_rows=s.import_max_rows,
        max_columns=s.import_max_columns,
        stop=stop or threading.Event(),
    )


async def read_upload(file: UploadFile, fallback: str, max_bytes: int) -> Upload:
    """An uploaded file read in 1 MB pieces, refused as soon as it passes `max_bytes`."""
    data = bytearray()
    while chunk := await file.read(1024 * 1024):
        data.extend(chunk)
        if len(data) > max_bytes:
            raise UploadRefused(f"文件 {safe_name(file.filename, fallback)} 超过 "
                                f"{max_bytes // (1024 * 1024)}MB")  # fmt: skip
    return Upload(safe_name(file.filename, fallback), bytes(data))


async def run_import_off_thread(
    container: Container, kind: str, main: Upload, **options: Any
) -> ImportReport:
    """`run_import` in its own daemon thread. When the request is cancelled (the server stops),
    the import is told to stop; it writes nothing (one transaction) and never holds up the exit."""
    stop = threading.Event()
    loop = asyncio.get_running_loop()
    future: asyncio.Future[ImportReport] = loop.create_future()

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
            report = run_import(container, kind, main, stop=stop, **options)
        except BaseException as exc:
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, report, None)

    threading.Thread(target=work, name=f"import-{kind}", daemon=True).start()
    try:
        return await future
    except asyncio.CancelledError:
        stop.set()
        raise


def run_import(
    container: Container,
    kind: str,
    main: Upload,
    *,
    installments: Upload | None = None,
    skip_bad_rows: bool = False,
    actor: str,
    stop: threading.Event | None = None,
) -> ImportReport:
    """Import uploaded loans or payments with the CLI's importer (same checks, same report)."""
    limits = import_limits(container, stop)
    max_bytes = container.settings.max_import_mb * 1024 * 1024
    _check(main, max_bytes)
    if installments is not None:
        _check(installments, max_bytes)
    with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
        folder = Path(tmp)
        main_path = folder / main.filename
        main_path.write_bytes(main.data)
        inst_path = None
        if installments is not None:
            (folder / "installments").mkdir()
            inst_path = folder / "installments" / installments.filename
            inst_path.write_bytes(installments.data)
        with session_scope(container.engine) as s:
            if kind == "loans":
                base = container.policy.default_base_rate
                report = import_loans(
                    s,
                    main_path,
                    inst_path,
                    skip_bad_rows=skip_bad_rows,
                    actor=actor,
                    default_base_rate=None if base is None else base.rate,
                    limits=limits,
                )
            else:
                report = import_payments(
                    s, main_path, skip_bad_rows=skip_bad_rows, actor=actor, limits=limits
                )
            report.cap_errors()
            audit(
                s,
                actor,
                f"import.{kind}",
                "import",
                main.filename[:64],
                after={**report.counts(), "imported": report.imported},
            )
    return report
