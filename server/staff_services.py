"""What the staff doors take from the container: the broadcast cost model and threshold, the
dashboard's configuration, import limits, and uploads read in pieces. The operations themselves
are the commands of core/staff."""

from __future__ import annotations

import threading

from fastapi import UploadFile
from sqlmodel import Session

from core.broadcasts import texts as bc_texts
from core.kernel.filestore import safe_basename
from core.loans.importing import ImportLimits
from core.staff import dashboard as staff_dashboard
from core.staff import overview as dashboard
from core.staff.imports import Upload, UploadRefused
from server.bootstrap import Container


def sms_cost(container: Container) -> bc_texts.SmsCost:
    """The container's SMS cost model (built in server/bootstrap.py)."""
    return container.sms_cost


def threshold(container: Container) -> int:
    return int(container.settings.broadcast_confirm_threshold)


def build_dashboard(session: Session, container: Container) -> dashboard.Dashboard:
    s = container.settings
    funds = staff_dashboard.Funds(s.guarantee_fund_yuan, s.guarantee_funds)
    return staff_dashboard.build(session, container.policy, container.calendar, funds)


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
            raise UploadRefused(f"文件 {safe_basename(file.filename, fallback)} 超过 "
                                f"{max_bytes // (1024 * 1024)}MB")  # fmt: skip
    return Upload(safe_basename(file.filename, fallback), bytes(data))
