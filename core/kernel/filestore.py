"""Document storage behind a small interface, so object storage can replace the local folder.

Files are stored under random names in a folder that is never served; staff see them only
through an authorised route.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import filetype

ALLOWED_TYPES = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}

_UNSAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


def safe_basename(filename: str | None, fallback: str = "") -> str:
    """A file name as people sent it, reduced to a safe base name: no folders, no control or
    shell characters, no leading dot, at most 100 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = _UNSAFE_NAME.sub("_", name)[:100].lstrip(".")
    return name or fallback


def served_filename(filename: str | None, content_type: str | None, fallback: str) -> str:
    """The name a stored document is served under: its safe base name with the extension of its
    real (checked) type, so a PNG sent as "x.html" is served as "x.png"."""
    name = safe_basename(filename, fallback)
    suffix = ALLOWED_TYPES.get(content_type or "")
    if suffix is None:
        return name
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{stem or fallback}.{suffix}"


class FileStore(Protocol):
    def put(self, data: bytes, suffix: str) -> str: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...


class LocalFileStore:
    """Files in a local folder, two-level fan-out, random names, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ValueError("invalid storage key")
        return self.root / key[:2] / key

    def put(self, data: bytes, suffix: str) -> str:
        key = f"{secrets.token_hex(16)}.{suffix}"
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return key

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


@dataclass(frozen=True)
class CheckedFile:
    content_type: str
    suffix: str
    sha256: str
    size: int


class UploadError(ValueError):
    """An upload we refuse; the message is Chinese and tells the user what to do."""


def check_upload(data: bytes, max_bytes: int) -> CheckedFile:
    """Size and type checks: jpg, png or pdf by content (never by the file name)."""
    if not data:
        raise UploadError("文件是空的，请重新发送。")
    if len(data) > max_bytes:
        raise UploadError(f"文件超过{max_bytes // (1024 * 1024)}MB，请压缩后或分页拍照再发送。")
    kind = filetype.guess(data)
    mime = kind.mime if kind else None
    if mime not in ALLOWED_TYPES:
        raise UploadError("只接收 jpg、png 图片或 PDF 文件，请换一种格式再发送。")
    return CheckedFile(
        content_type=mime,
        suffix=ALLOWED_TYPES[mime],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )
