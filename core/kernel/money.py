"""Money is integer fen (分) everywhere; Decimal only at the edges (parsing and display)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN_PER_YUAN = 100


class MoneyError(ValueError):
    """A value that cannot be an amount of money."""


def yuan_to_fen(value: str | int | Decimal) -> int:
    """Parse an amount in yuan ("1234.5", 1234, Decimal) into integer fen, half-up to the fen."""
    if isinstance(value, float):  # pragma: no cover - guarded by typing, kept for safety
        raise MoneyError("金额不能是浮点数")
    text = str(value).strip()
    try:
        amount = None if text == "-" else parse_decimal(text)
    except MoneyError as exc:
        raise MoneyError(f"金额格式不正确：{value}") from exc
    if amount is None:
        raise MoneyError("金额为空")
    return int((amount * FEN_PER_YUAN).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fen_to_yuan(fen: int) -> Decimal:
    """Integer fen as a Decimal amount of yuan with two places."""
    return (Decimal(fen) / FEN_PER_YUAN).quantize(Decimal("0.01"))


def format_yuan(fen: int) -> str:
    """1234500 -> '12,345.00元'."""
    return f"{fen_to_yuan(fen):,.2f}元"


def parse_decimal(text: str) -> Decimal | None:
    """A number as people write amounts in spreadsheets ("1,234.50", "１２３４ 元"), exactly (no
    rounding); None when nothing is left once separators, spaces and 元 are removed."""
    clean = text.replace(",", "").replace("，", "").replace("元", "").replace(" ", "")
    if not clean:
        return None
    try:
        number = Decimal(clean)
    except InvalidOperation as exc:
        raise MoneyError(f"格式不正确：{text}") from exc
    if not number.is_finite():
        raise MoneyError(f"格式不正确：{text}")
    return number
