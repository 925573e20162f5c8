"""Import columns: the fields of each file, their Chinese labels and the aliases banks use."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

LOANS_SHEET = "贷款"
INSTALLMENTS_SHEET = "还款计划"
PAYMENTS_SHEET = "还款记录"


@dataclass(frozen=True)
class Column:
    field: str
    label: str
    aliases: tuple[str, ...] = ()
    required: bool = True


LOAN_COLUMNS: tuple[Column, ...] = (
    Column(
        "loan_no", "贷款编号", ("借款合同号", "合同编号", "贷款合同号", "借款合同编号", "借据号")
    ),
    Column("borrower_name", "借款人姓名", ("借款人", "借款人名称", "姓名")),
    Column(
        "borrower_phone",
        "借款人手机",
        ("联系电话", "借款人电话", "借款人手机号", "借款人联系电话", "手机号", "手机号码"),
    ),
    Column(
        "id_number", "身份证号", ("身份证号码", "借款人身份证号", "借款人身份证号码", "证件号码")
    ),
    Column("amount_yuan", "贷款金额(元)", ("贷款金额", "放款金额(元)", "放款金额", "金额(元)")),
    Column("annual_rate", "年利率", ("利率", "贷款利率", "执行利率", "年利率(%)")),
    Column("base_rate", "基准利率", ("基准年利率", "基准利率(%)"), required=False),
    Column("disbursed_on", "放款日期", ("发放日期", "贷款发放日期", "放款日")),
    Column("term_months", "期限(月)", ("贷款期限(月)", "期限", "贷款期限", "期限(个月)")),
    Column("repayment_method", "还款方式", ()),
    Column("subsidy_kind", "贴息类型", ("贴息方式", "贴息")),
    Column("counter_guarantor_name", "反担保人姓名", ("反担保人",)),
    Column("counter_guarantor_phone", "反担保人电话", ("反担保人手机", "反担保人联系电话")),
    Column("counter_guarantor_employer", "反担保人工作单位", ("反担保人单位", "工作单位")),
    Column("district", "所属区县", ("区县", "所属县区", "县区")),
    Column("bank", "经办银行", ("贷款银行", "经办行", "放款银行"), required=False),
    Column(
        "counter_guarantor_employer_contact",
        "反担保人单位联系人",
        ("单位联系人",),
        required=False,
    ),
    Column(
        "counter_guarantor_employer_phone",
        "反担保人单位电话",
        ("单位电话", "单位联系电话", "反担保人单位联系电话"),
        required=False,
    ),
    Column(
        "counter_guarantor_id_number",
        "反担保人身份证号",
        ("反担保人身份证号码",),
        required=False,
    ),
    Column("note", "备注", ("说明",), required=False),
)

INSTALLMENT_COLUMNS: tuple[Column, ...] = (
    Column("loan_no", "贷款编号", ("借款合同号", "合同编号", "贷款合同号", "借据号")),
    Column("seq", "期次", ("期数", "期号", "第几期")),
    Column("due_on", "应还日期", ("还款日期", "到期日期", "计划还款日期")),
    Column("principal_yuan", "应还本金(元)", ("应还本金", "本金(元)", "本金")),
    Column("interest_yuan", "应还利息(元)", ("应还利息", "利息(元)", "利息")),
    Column("note", "备注", ("说明",), required=False),
)

PAYMENT_COLUMNS: tuple[Column, ...] = (
    Column("loan_no", "贷款编号", ("借款合同号", "合同编号", "贷款合同号", "借据号")),
    Column("paid_on", "还款日期", ("实还日期", "交易日期", "入账日期")),
    Column("amount_yuan", "还款金额(元)", ("还款金额", "实还金额(元)", "实还金额", "金额(元)")),
    Column("reference", "流水号", ("交易流水号", "还款流水号", "凭证号", "业务流水号")),
    Column("note", "备注", ("说明",), required=False),
)


def norm_header(text: str) -> str:
    value = unicodedata.normalize("NFKC", text).strip().lower()
    return re.sub(r"[\s*＊:：]", "", value)


def alias_map(columns: Sequence[Column]) -> dict[str, Column]:
    out: dict[str, Column] = {}
    for col in columns:
        for name in (col.field, col.label, *col.aliases):
            out[norm_header(name)] = col
    return out
