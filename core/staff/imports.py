"""The staff command that imports an uploaded loans or payments file with the CLI's importer
(same checks, same report), in one transaction, audited once."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session

from core.kernel.errors import Invalid
from core.loans.importing import ImportLimits, ImportReport, import_loans, import_payments
from core.persistence.audit import audit
from core.reminders.sweep import cancel_notices_for_installments

IMPORT_SUFFIXES = (".csv", ".xlsx", ".xlsm")


class UploadRefused(Invalid):
    """An upload refused before importing (empty, too large, not CSV/XLSX)."""


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class ImportRequest:
    kind: str  # loans | payments
    main: Upload
    installments: Upload | None = None
    skip_bad_rows: bool = False


def check(upload: Upload, max_bytes: int) -> None:
    if not upload.data:
        raise UploadRefused(f"文件 {upload.filename} 是空的")
    if len(upload.data) > max_bytes:
        raise UploadRefused(f"文件 {upload.filename} 超过 {max_bytes // (1024 * 1024)}MB")
    if not upload.filename.lower().endswith(IMPORT_SUFFIXES):
        raise UploadRefused("只接受 CSV 或 XLSX 文件（.csv / .xlsx）")


def run_import(
    session: Session,
    actor: str,
    request: ImportRequest,
    *,
    max_bytes: int,
    limits: ImportLimits,
    default_base_rate: Decimal | None = None,
) -> ImportReport:
    """Import the upload; the report says what was imported and every row error."""
    check(request.main, max_bytes)
    if request.installments is not None:
        check(request.installments, max_bytes)
    with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
        folder = Path(tmp)
        main_path = folder / request.main.filename
        main_path.write_bytes(request.main.data)
        inst_path = None
        if request.installments is not None:
            (folder / "installments").mkdir()
            inst_path = folder / "installments" / request.installments.filename
            inst_path.write_bytes(request.installments.data)
        skip = request.skip_bad_rows
        if request.kind == "loans":
            report = import_loans(
                session, main_path, inst_path, skip_bad_rows=skip, actor=actor,
                default_base_rate=default_base_rate, limits=limits,
            )  # fmt: skip
        else:
            report = import_payments(
                session, main_path, skip_bad_rows=skip, actor=actor, limits=limits
            )
            cancel_notices_for_installments(session, report.paid_installment_ids)
    report.cap_errors()
    after = {**report.counts(), "imported": report.imported}
    audit(
        session, actor, f"import.{request.kind}", "import", request.main.filename[:64], after=after
    )
    return report
