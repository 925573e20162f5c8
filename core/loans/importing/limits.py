"""Bounds of one import (core/loans/importing): rows and columns per file, the number of errors
reported, and a stop flag so a shutting-down server abandons an import (nothing is written:
the import is one transaction)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_ROWS = 200_000
DEFAULT_MAX_COLUMNS = 64
MAX_REPORTED_ERRORS = 200
HEADER_SLACK = 10  # title and blank rows above the header


class ImportLimitError(Exception):
    """A file beyond the limits (message in Chinese); `row` is the row it stopped at."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


@dataclass(frozen=True)
class ImportLimits:
    max_rows: int = DEFAULT_MAX_ROWS
    max_columns: int = DEFAULT_MAX_COLUMNS
    stop: threading.Event = field(default_factory=threading.Event)


def limited_rows(
    rows: Iterable[tuple[int, list[Any]]], limits: ImportLimits
) -> Iterator[tuple[int, list[Any]]]:
    """`rows` cut to `max_columns` (data beyond it is an error), refused past `max_rows` data
    rows, and abandoned when `stop` is set."""
    most = limits.max_rows + HEADER_SLACK
    for count, (number, values) in enumerate(rows, start=1):
        if count % 1000 == 0 and limits.stop.is_set():
            raise ImportLimitError("服务器正在停止，导入已取消，未导入任何数据，请稍后重新导入")
        if count > most:
            raise ImportLimitError(
                f"数据行超过上限 {limits.max_rows} 行，请分成几个文件导入", number
            )
        if len(values) > limits.max_columns:
            extra = values[limits.max_columns :]
            if any(v is not None and str(v).strip() for v in extra):
                raise ImportLimitError(
                    f"列数超过上限 {limits.max_columns} 列，请删除多余的列后再导入", number
                )
            values = values[: limits.max_columns]
        yield number, values


def cap_errors(errors: list[Any], make_note: Any, limit: int = MAX_REPORTED_ERRORS) -> int:
    """Keep the first `limit` errors and a last line "…及另外 N 处错误"; returns N."""
    more = len(errors) - limit
    if more <= 0:
        return 0
    del errors[limit:]
    errors.append(make_note(f"…及另外 {more} 处错误"))
    return more
