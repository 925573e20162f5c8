"""Cell parsers of the import files: text, dates, amounts, rates, terms, phones, ID numbers."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from core.kernel.identity import IdentityError, normalize_id_number, normalize_phone
from core.kernel.money import MoneyError, parse_decimal
from core.loans.schedule import normalize_method, normalize_subsidy_kind


class CellError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    return str(value)


def _required_text(value: Any) -> str:
    text = cell_text(value)
    if not text:
        raise CellError("不能为空")
    return text


_DATE_RE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _required_text(value)
    m = _DATE_RE.match(text) or _DATE_COMPACT_RE.match(text)
    if not m:
        raise CellError(f"日期格式不正确：{text}（应为 2026-01-05、2026/1/5 或 2026年1月5日）")
    try:
        parsed = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise CellError(f"日期不存在：{text}") from exc
    if parsed.year < 1990 or parsed.year > 2100:
        raise CellError(f"日期超出合理范围：{text}")
    return parsed


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    text = cell_text(value)
    try:
        number = parse_decimal(text)
    except MoneyError as exc:
        raise CellError(f"{what}{exc}") from exc
    if number is None:
        raise CellError("不能为空")
    return number


def parse_fen(value: Any, allow_zero: bool = False) -> int:
    amount = _decimal(value, "金额")
    if amount < 0:
        raise CellError(f"金额不能为负数：{cell_text(value)}")
    if amount == 0 and not allow_zero:
        raise CellError("金额必须大于0")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise CellError(f"金额最多保留两位小数（到分）：{cell_text(value)}")
    return int(fen)


_RATE_PLACES = Decimal("0.000001")


def parse_rate(value: Any) -> Decimal:
    text = cell_text(value)
    percent = False
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", text)
        if text.endswith("%"):
            percent = True
            text = text[:-1].strip()
    rate = _decimal(text if isinstance(value, str) else value, "年利率")
    if percent or rate > 1:
        rate = rate / 100
    if rate < 0:
        raise CellError(f"年利率不能为负数：{cell_text(value)}")
    if rate >= 1:
        raise CellError(f"年利率过高：{cell_text(value)}")
    if rate != rate.quantize(_RATE_PLACES):
        raise CellError(f"年利率最多精确到0.0001%：{cell_text(value)}")
    return rate.normalize() if rate else Decimal(0)


_TERM_RE = re.compile(r"^(\d+)(?:\.0+)?\s*(?:个月|月)?$")


def parse_term(value: Any) -> int:
    text = _required_text(value)
    m = _TERM_RE.match(text)
    if not m:
        raise CellError(f"期限应为整数月数：{text}")
    months = int(m.group(1))
    if months < 1 or months > 360:
        raise CellError(f"期限应在1到360个月之间：{text}")
    return months


def parse_seq(value: Any) -> int:
    text = cell_text(value)
    m = _TERM_RE.match(text) if text else None
    if not m or not 1 <= int(m.group(1)) <= 360:
        raise CellError(f"期次应为1到360之间的整数：{text}")
    return int(m.group(1))


def parse_phone(value: Any) -> str:
    """A phone cell into E.164 (core.kernel.identity.normalize_phone). Raises ValueError with a
    Chinese message."""
    text = _required_text(value)
    try:
        return normalize_phone(text)
    except IdentityError as exc:
        if re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", text.replace(" ", "")):
            raise CellError(
                "号码被 Excel 存成了科学计数法，请把该列设为文本格式后重新填写"
            ) from exc
        raise CellError(f"号码无效：{text}（应为11位手机号或带区号的固定电话）") from exc


def parse_id(value: Any) -> str:
    if isinstance(value, float):
        raise CellError("被 Excel 存成了数字，后几位可能已丢失，请把该列设为文本格式后重新填写")
    text = _required_text(value)
    try:
        return normalize_id_number(text)
    except IdentityError as exc:
        compact = text.replace(" ", "").upper()
        if re.fullmatch(r"\d(\.\d+)?E\+?\d+", compact):
            msg = "被 Excel 存成了科学计数法，请把该列设为文本格式后重新填写"
        elif len(compact) != 18:
            msg = f"应为18位，实际为{len(compact)}位"
        elif not re.fullmatch(r"\d{17}[\dX]", compact):
            msg = "格式不正确（前17位应为数字，最后一位为数字或X）"
        elif "出生日期" in str(exc):
            msg = "出生日期不正确"
        elif "校验位" in str(exc):
            msg = "校验位不正确"
        else:  # pragma: no cover - covered by the branches above
            msg = str(exc)
        raise CellError(msg) from exc


def parse_method(value: Any) -> str:
    return normalize_method(cell_text(value))


def parse_subsidy(value: Any) -> str:
    return normalize_subsidy_kind(cell_text(value))


# Columns whose values repeat across a portfolio (rates, dates, terms, amounts, methods) are parsed
# once per distinct cell value. Errors are not cached (lru_cache does not cache exceptions).
parse_fen_c = lru_cache(maxsize=65536)(parse_fen)
parse_rate_c = lru_cache(maxsize=1024)(parse_rate)
parse_date_c = lru_cache(maxsize=65536)(parse_date)
parse_term_c = lru_cache(maxsize=1024)(parse_term)
parse_method_c = lru_cache(maxsize=256)(parse_method)
parse_subsidy_c = lru_cache(maxsize=256)(parse_subsidy)

EXAMPLE_PREFIX = "示例"
EXAMPLE_ROW_ERROR = (
    "这是导入模板的示例行（贷款编号以“示例”开头或姓名标有“示例”），不会导入；请删除示例行后再导入"
)


def is_template_example(loan_no: str | None, name: str | None = None) -> bool:
    """A row of the `loans template` example (示例-2026-0001, 张三（示例）): never a real loan."""
    if loan_no and unicodedata.normalize("NFKC", loan_no).strip().startswith(EXAMPLE_PREFIX):
        return True
    return bool(name and "示例" in name)
