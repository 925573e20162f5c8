"""The canonical XLSX import template: sheets 贷款, 还款计划, 还款记录, 说明."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.loans.importing.columns import (
    INSTALLMENT_COLUMNS,
    INSTALLMENTS_SHEET,
    LOAN_COLUMNS,
    LOANS_SHEET,
    PAYMENT_COLUMNS,
    PAYMENTS_SHEET,
    Column,
)
from core.money import fen_to_yuan
from core.schedule import METHOD_LABELS, SUBSIDY_LABELS, schedule_rows

_EXAMPLE_LOAN_NO = "示例-2026-0001"


def _example_id() -> str:
    first17 = "62010219900101123"
    from core.identity import id_check_digit

    return first17 + id_check_digit(first17)


def write_template(path: str | Path) -> Path:
    """Write the canonical import workbook: sheets 贷款, 还款计划 (optional), 还款记录, 说明."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    path = Path(path)
    wb = Workbook()
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    optional_fill = PatternFill("solid", fgColor="E2EFDA")
    hints = {
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

    def header(ws: Any, columns: Sequence[Column]) -> None:
        for idx, col in enumerate(columns, start=1):
            cell = ws.cell(row=1, column=idx, value=col.label)
            cell.font = bold
            cell.fill = required_fill if col.required else optional_fill
            if col.field in hints and ws.title == LOANS_SHEET:
                cell.comment = Comment(hints[col.field], "chuangdai")
            ws.column_dimensions[cell.column_letter].width = max(12, len(col.label) * 2 + 4)

    loan_cols = [c for c in LOAN_COLUMNS if c.field != "note"]
    ws = wb.active
    ws.title = LOANS_SHEET
    header(ws, loan_cols)
    example = {
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
    for idx, col in enumerate(loan_cols, start=1):
        cell = ws.cell(row=2, column=idx, value=example.get(col.field) or None)
        if col.field in (
            "id_number",
            "borrower_phone",
            "counter_guarantor_phone",
            "counter_guarantor_id_number",
            "counter_guarantor_employer_phone",
            "loan_no",
        ):
            cell.number_format = "@"
        if isinstance(cell.value, date):
            cell.number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"

    plan = schedule_rows(
        5_000_000, Decimal("0.0435"), date(2026, 1, 5), 24, "equal_principal", "individual_full"
    )
    ws2 = wb.create_sheet(INSTALLMENTS_SHEET)
    header(ws2, [c for c in INSTALLMENT_COLUMNS if c.field != "note"])
    for seq, due, principal, interest, _b in plan:
        ws2.append([_EXAMPLE_LOAN_NO, seq, due, fen_to_yuan(principal), fen_to_yuan(interest)])
        ws2.cell(row=ws2.max_row, column=3).number_format = "yyyy-mm-dd"
    ws2.freeze_panes = "A2"

    ws3 = wb.create_sheet(PAYMENTS_SHEET)
    header(ws3, [c for c in PAYMENT_COLUMNS if c.field != "note"])
    first = plan[0]
    ws3.append([_EXAMPLE_LOAN_NO, first[1], fen_to_yuan(first[2] + first[4]), "示例流水号0001"])
    ws3.cell(row=2, column=2).number_format = "yyyy-mm-dd"
    ws3.freeze_panes = "A2"

    ws4 = wb.create_sheet("说明")
    lines = [
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
    for line in lines:
        ws4.append([line])
    ws4["A1"].font = bold
    ws4.column_dimensions["A"].width = 100
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
