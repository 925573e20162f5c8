"""Reading import files: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX, streamed, within limits."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.loans.importing.columns import Column, alias_map, norm_header
from core.loans.importing.limits import ImportLimitError, ImportLimits, limited_rows
from core.loans.importing.report import RowError


class _FileError(Exception):
    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


@dataclass
class Sheet:
    file: str
    headers: dict[str, str]  # field -> header text as written
    index: dict[str, int]  # field -> column index
    rows: list[tuple[int, list[Any]]]  # (row number, cell values)


def cell_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    data = path.read_bytes()
    if not data.strip():
        raise _FileError("文件为空")
    text: str | None = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:  # pragma: no cover - gb18030 decodes almost anything
        raise _FileError("无法识别文件编码，请保存为 UTF-8 或 GBK 编码的 CSV")
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for number, record in enumerate(reader, start=1):
        yield number, list(record)


def _xlsx_rows(path: Path, sheet: str) -> Iterator[tuple[int, list[Any]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _FileError("无法读取 Excel 文件（文件已损坏或不是 .xlsx 格式）") from exc
    try:
        ws = wb[sheet] if sheet in wb.sheetnames else wb.worksheets[0]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # the declared size (e.g. A1:XFD1048576) is not trusted
        for number, values in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
            yield number, list(values)
    finally:
        wb.close()


def _raw_rows(path: Path, sheet: str) -> Iterator[tuple[int, list[Any]]]:
    if not path.exists():
        raise _FileError("文件不存在")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise _FileError("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if suffix in (".xlsx", ".xlsm") or magic == b"PK\x03\x04":
        return _xlsx_rows(path, sheet)
    return _csv_rows(path)


def read_sheet(
    path: Path,
    columns: Sequence[Column],
    sheet: str,
    errors: list[RowError],
    limits: ImportLimits | None = None,
) -> Sheet | None:
    """Read a file into rows keyed by field; header problems are file errors (None returned)."""
    name = path.name
    aliases = alias_map(columns)
    try:
        rows = [
            (n, vals)
            for n, vals in limited_rows(_raw_rows(path, sheet), limits or ImportLimits())
            if any(not cell_blank(v) for v in vals)
        ]
    except (_FileError, ImportLimitError) as exc:
        errors.append(RowError(name, exc.row, None, exc.message))
        return None
    if not rows:
        errors.append(RowError(name, None, None, "文件为空（没有表头和数据）"))
        return None
    header_at = 0
    for i, (_n, vals) in enumerate(rows[:10]):
        known = sum(1 for v in vals if not cell_blank(v) and norm_header(str(v)) in aliases)
        if known >= 2:
            header_at = i
            break
    header_row, header_vals = rows[header_at]
    data_rows = rows[header_at + 1 :]
    headers: dict[str, str] = {}
    index: dict[str, int] = {}
    bad = False
    for col_idx, raw in enumerate(header_vals):
        if cell_blank(raw):
            if any(col_idx < len(v) and not cell_blank(v[col_idx]) for _n, v in data_rows):
                errors.append(
                    RowError(name, header_row, f"第{col_idx + 1}列", "有数据但没有表头（列名）")
                )
                bad = True
            continue
        text = str(raw).strip()
        col = aliases.get(norm_header(text))
        if col is None:
            errors.append(RowError(name, header_row, text, "无法识别的列名，请使用模板中的列名"))
            bad = True
            continue
        if col.field in index:
            errors.append(
                RowError(name, header_row, text, f"与“{headers[col.field]}”重复（同一列出现两次）")
            )
            bad = True
            continue
        headers[col.field] = text
        index[col.field] = col_idx
    missing = [c.label for c in columns if c.required and c.field not in index]
    if missing:
        errors.append(RowError(name, header_row, None, "缺少必填列：" + "、".join(missing)))
        bad = True
    if bad:
        return None
    if not data_rows:
        errors.append(RowError(name, None, None, "文件中没有数据行（只有表头）"))
        return None
    for col in columns:
        headers.setdefault(col.field, col.label)
    return Sheet(name, headers, index, data_rows)
