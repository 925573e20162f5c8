"""Request bodies of the staff API (validated by pydantic; Chinese descriptions in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

# --- request bodies ------------------------------------------------------------------------------


class ReviewIn(BaseModel):
    decision: Literal["accept", "reject"]
    reason: str | None = Field(default=None, max_length=200, description="退回原因（退回时必填）")


class AdvanceIn(BaseModel):
    to_stage: str | None = Field(default=None, description="目标阶段；省略则进入下一阶段")
    note: str | None = Field(default=None, max_length=500)


class IdsIn(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=1000)


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class ParaphraseIn(BaseModel):
    entry_id: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=200)
    normalized: str | None = Field(
        default=None, description="未答问题分组的归一化文本；给出则该组标记为已解决"
    )


class EntryIn(BaseModel):
    """A new FAQ entry; its id is generated (staff_0001 …). Empty question or answer is refused
    by the command in Chinese; `short` defaults to the answer, `source` to 担保中心工作人员补充."""

    question: str = Field(default="", max_length=200)
    paraphrases: list[str] = Field(default_factory=list, max_length=50)
    answer: str = Field(default="", max_length=4000)
    short: str = Field(default="", max_length=300)
    source: str = Field(default="", max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=20)
    handoff: bool = False
    normalized: str | None = None


class NormalizedIn(BaseModel):
    normalized: str = Field(min_length=1)


class AudienceIn(BaseModel):
    group: Literal["all", "applicants", "borrowers", "overdue"] = "all"
    stages: list[str] = Field(default_factory=list)
    districts: list[str] = Field(default_factory=list)
    channels: list[Literal["telegram", "sms"]] = ["telegram", "sms"]
    min_overdue_days: int = Field(default=1, ge=1)


class BroadcastIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=3500)
    sms_body: str | None = Field(default=None, max_length=500)
    audience: AudienceIn = Field(default_factory=AudienceIn)


class SendIn(BaseModel):
    scheduled_at: datetime | None = Field(
        default=None, description="定时发送时间（ISO 8601，带时区）；省略则立即发送"
    )


class StaffIn(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=10, max_length=200)
    role: Literal["admin", "officer", "viewer"] = Field(
        default="viewer", description="默认 viewer（只读）；经办人员、管理员须明确指定"
    )
    display_name: str | None = Field(default=None, max_length=64)


class StaffPatch(BaseModel):
    role: Literal["admin", "officer", "viewer"] | None = None
    active: bool | None = None
    display_name: str | None = Field(default=None, max_length=64)
    password: str | None = Field(default=None, min_length=10, max_length=200)


# --- acting on a loan (core/staff/loan_actions.py) -----------------------------------------------
# Fields are plain strings checked by the command, so that a wrong value gets its Chinese message.


class LoanPaymentIn(BaseModel):
    amount_yuan: str | int | None = Field(default=None, description="还款金额（元，最多两位小数）")
    paid_on: str | None = Field(default=None, max_length=20, description="还款日期 YYYY-MM-DD")
    reference: str | None = Field(default=None, max_length=200, description="流水号")


class LoanNoteIn(BaseModel):
    contacted_on: str | None = Field(default=None, max_length=20, description="联系日期")
    contact: str | None = Field(
        default=None, max_length=32, description="联系对象：borrower | counter_guarantor | other"
    )
    channel: str | None = Field(
        default=None,
        max_length=32,
        description="联系方式：phone | visit | sms | wechat | letter | other",
    )
    outcome: str | None = Field(
        default=None,
        max_length=32,
        description="联系结果：promised | paid | no_answer | unreachable | refused | other",
    )
    text: str | None = Field(default=None, max_length=2000, description="联系情况")


class LoanStatusIn(BaseModel):
    status: str | None = Field(
        default=None,
        max_length=32,
        description="settled 结清 | compensated 代偿 | written_off 核销",
    )
    on: str | None = Field(default=None, max_length=20, description="日期 YYYY-MM-DD")
    amount_yuan: str | int | None = Field(default=None, description="代偿金额（元，代偿时必填）")
    note: str | None = Field(default=None, max_length=1000, description="说明")


class LoanReversalIn(BaseModel):
    action_id: int = Field(ge=1, le=2**63 - 1, description="要撤销的操作编号")
    reason: str | None = Field(default=None, max_length=1000, description="撤销原因（必填）")
