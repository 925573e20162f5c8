"""Files as HTTP responses (both doors): a stored document (inline, never cached, sandboxed), a
list exported as XLSX (streamed download, audited) and the import template."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO
from urllib.parse import quote

from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from core.kernel.filestore import served_filename
from core.loans.importing import write_template
from core.staff import exports
from core.staff.applications import StoredFile
from core.staff.errors import Forbidden
from server.auth import StaffPrincipal

_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def file_response(stored: StoredFile, item_id: int) -> Response:
    safe = quote(served_filename(stored.filename, stored.content_type, f"document-{item_id}"))
    return Response(
        stored.data,
        media_type=stored.content_type or "application/octet-stream",
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{safe}",
            "Cache-Control": "no-store, private",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": _CSP,
        },
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(data: IO[bytes], name: str) -> StreamingResponse:
    """A written workbook (a spooled file at position 0) streamed as a download; closed after."""

    def chunks() -> Iterator[bytes]:
        try:
            while block := data.read(64 * 1024):
                yield block
        finally:
            data.close()

    ascii_name = "export.xlsx" if not name.isascii() else name
    return StreamingResponse(
        chunks(),
        media_type=XLSX,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
            ),
            "Cache-Control": "no-store, private",
            "X-Content-Type-Options": "nosniff",
        },
    )


def export_response(
    session: Session, user: StaffPrincipal, which: str, params: Mapping[str, str]
) -> StreamingResponse:
    """One staff list exported as filtered (core.staff.exports; audited there). Audit log exports
    are for admins; phones are shown whole to officers and admins, masked to viewers."""
    if which in exports.ADMIN_ONLY and not user.can("admin"):
        raise Forbidden("只有管理员可以导出操作日志")
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - closed by the stream
    try:
        exports.export_xlsx(
            session, user.username, which, params, out, full_phones=user.can("officer")
        )
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return xlsx_response(out, exports.filename(which))


def template_response() -> Response:
    """The import template workbook (core/loans/importing/template.py) as a download."""
    with tempfile.TemporaryDirectory() as tmp:
        data = write_template(Path(tmp) / "template.xlsx").read_bytes()
    name = quote("贷款导入模板.xlsx")
    return Response(
        data,
        media_type=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename=\"template.xlsx\"; filename*=UTF-8''{name}",
            "Cache-Control": "no-store, private",
        },
    )
