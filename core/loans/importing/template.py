"""The canonical XLSX import template: sheets 贷款, 还款计划, 还款记录, 说明."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.kernel.identity import id_check_digit
from core.kernel.money import fen_to_yuan
from core.loans.importing.columns import (
    INSTALLMENT_COLUMNS,
    INSTALLMENTS_SHEET,
    LOAN_COLUMNS,
    LOANS_SHEET,
    PAYMENT_COLUMNS,
    PAYMENTS_SHEET,
    Column,
)
from core.loans.schedule import METHOD_LABELS, SUBSIDY_LABELS, schedule_columns

_EXAMPLE_LOAN_NO = "示例-2026-0001"
_TEXT_FIELDS = (
    "id_number",
    "borrower_phone",
    "counter_guarantor_phone",
    "counter_guarantor_id_number",
    "counter_guarantor_employer_phone",
    "loan_no",
)
_HINTS: dict[str, str] = {
    "loan_no": "借款合同号，全表唯一；再次导入同一编号会更新该笔贷款",
    "borrower_phone": "11位手机号，可带+86",
    "id_number": "18位身份证号（请设为文本格式，避免 Excel 改成科学计数法）",
    "amount_yuan": "单位：元，最多两位小数",
    "annual_rate": "如 4.35% 或 0.0435 或 4.35（大于1按百分数理解）",
    "disbursed_on": "如 2026-01-05、2026/1/5 或 2026年1月5日",
    "term_months": "整数月数，如 24",
    "repayment_method": "等额本金 / 按季付息、到期还本 / 等额本息",
    "subsidy_kind": "个人全额贴息（微利项目）/ 个人非微利项目不贴息 / 按实际利率50%贴息 / "
    "企业50%贴息 / 无贴息",
    "base_rate": "企业50%贴息必填：放款时的基准年利率，如 4.75%（第二十条按基准利率计息的50%贴息）",
    "counter_guarantor_name": "无反担保人时本行反担保人各列留空",
}


def _example_id() -> str:
    first17 = "62010219900101123"
    return first17 + id_check_digit(first17)


def _example_loan() -> dict[str, Any]:
    return {
        "loan_no": _EXAMPLE_LOAN_NO,
        "borrower_name": "张三（示例）",
        "borrower_phone": "13800138000",
        "id_number": _example_id(),
        "amount_yuan": 50000,
        "annual_rate": "4.35%",
        "disbursed_on": date(2026, 1, 5),
        "term_months": 24,
        "repayment_method": METHOD_LABELS["equal_principal"],
        "subsidy_kind": SUBSIDY_LABELS["individual_full"],
        "counter_guarantor_name": "李四（示例）",
        "counter_guarantor_phone": "13900139000",
        "counter_guarantor_employer": "兰州市某某小学",
        "district": "城关区",
        "bank": "某某银行城关支行",
        "counter_guarantor_employer_contact": "王老师",
        "counter_guarantor_employer_phone": "0931-8888888",
        "counter_guarantor_id_number": "",
    }


def _notes() -> list[str]:
    return [
        "创业担保贷款导入模板说明",
        "1. “贷款”表：每行一笔贷款，黄色列为必填列（反担保人各列在无反担保人时可留空），绿色列可选。",
        "2. 示例行（贷款编号以“示例”开头的行）不会被导入，导入时会报错：请先删除示例行。",
        "3. 还款方式：等额本金、按季付息、到期还本、等额本息；贴息类型："
        + "、".join(SUBSIDY_LABELS.values())
        + "（个人全额贴息仅限担保机构认定的微利项目）。企业50%贴息须填写“基准利率”列。",
        "4. “还款计划”表可选：不提供时系统按还款方式自动生成；提供时各期本金合计须等于贷款金额。",
        "5. “还款记录”表用于登记还款：同一流水号重复导入不会重复记账。",
        "6. 任一行有错误时整个文件不导入（可在命令行加 --skip-bad-rows 跳过错误行）。",
        "7. 身份证号、手机号请设置为文本格式。支持 .xlsx 和 CSV（UTF-8 或 GBK 编码）。",
    ]


class _Styles:
    def __init__(self) -> None:
        from openpyxl.styles import Font, PatternFill

        self.bold = Font(bold=True)
        self.required = PatternFill("solid", fgColor="FFF2CC")
        self.optional = PatternFill("solid", fgColor="E2EFDA")

    def header(self, ws: Any, columns: Sequence[Column]) -> None:
        from openpyxl.comments import Comment

        for idx, col in enumerate(columns, start=1):
            cell = ws.cell(row=1, column=idx, value=col.label)
            cell.font = self.bold
            cell.fill = self.required if col.required else self.optional
            if col.field in _HINTS and ws.title == LOANS_SHEET:
                cell.comment = Comment(_HINTS[col.field], "chuangdai")
            ws.column_dimensions[cell.column_letter].width = max(12, len(col.label) * 2 + 4)


def _shown(columns: Sequence[Column]) -> list[Column]:
    return [c for c in columns if c.field != "note"]


def write_template(path: str | Path) -> Path:
    """Write the canonical import workbook: sheets 贷款, 还款计划 (optional), 还款记录, 说明."""
    from openpyxl import Workbook

    path = Path(path)
    wb = Workbook()
    styles = _Styles()
    _loans_sheet(wb.active, styles)
    plan = schedule_columns(
        5_000_000, Decimal("0.0435"), date(2026, 1, 5), 24, "equal_principal", "individual_full"
    ).rows()
    _installments_sheet(wb.create_sheet(INSTALLMENTS_SHEET), styles, plan)
    _payments_sheet(wb.create_sheet(PAYMENTS_SHEET), styles, plan)
    ws4 = wb.create_sheet("说明")
    for line in _notes():
        ws4.append([line])
    ws4["A1"].font = styles.bold
    ws4.column_dimensions["A"].width = 100
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _loans_sheet(ws: Any, styles: _Styles) -> None:
    loan_cols = _shown(LOAN_COLUMNS)
    ws.title = LOANS_SHEET
    styles.header(ws, loan_cols)
    example = _example_loan()
    for idx, col in enumerate(loan_cols, start=1):
        cell = ws.cell(row=2, column=idx, value=example.get(col.field) or None)
        if col.field in _TEXT_FIELDS:
            cell.number_format = "@"
        if isinstance(cell.value, date):
            cell.number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"


def _installments_sheet(ws: Any, styles: _Styles, plan: list[Any]) -> None:
    styles.header(ws, _shown(INSTALLMENT_COLUMNS))
    for seq, due, principal, interest, _b in plan:
        ws.append([_EXAMPLE_LOAN_NO, seq, due, fen_to_yuan(principal), fen_to_yuan(interest)])
        ws.cell(row=ws.max_row, column=3).number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"


def _payments_sheet(ws: Any, styles: _Styles, plan: list[Any]) -> None:
    styles.header(ws, _shown(PAYMENT_COLUMNS))
    first = plan[0]
    ws.append([_EXAMPLE_LOAN_NO, first[1], fen_to_yuan(first[2] + first[4]), "示例流水号0001"])
    ws.cell(row=2, column=2).number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"
