"""A stored document as an HTTP response (both doors): inline, never cached, sandboxed."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response

from core.kernel.filestore import served_filename
from core.staff.applications import StoredFile

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
