"""Response models of the staff API: the JSON each route has always answered, now documented in
OpenAPI and checked on the way out. Money is integer fen, times ISO 8601 in UTC (strings).

`Open` models (dashboard, preview, import report) name their main fields and pass the rest
through unchanged: those bodies are built by core and documented there."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.kernel.labels import label


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Shape(BaseModel):
    """A response model that server/staff/shapes.py fills from a table row's fields: dates and
    times become ISO 8601 strings, Decimals strings, and every code named in `LABELS` (field →
    category of core/kernel/labels.py) gets its Chinese label in `<field>_label`."""

    LABELS: ClassVar[dict[str, str]] = {}

    @field_validator("*", mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        return value

    @model_validator(mode="after")
    def _labelled(self) -> Shape:
        for name, category in self.LABELS.items():
            code = getattr(self, name)
            setattr(self, f"{name}_label", label(category, code) if code is not None else None)
        return self


class Page(BaseModel):
    total: int
    limit: int
    offset: int


class Me(Shape):
    LABELS = {"role": "role"}
    username: str
    display_name: str
    role: str
    role_label: str | None = None


class Notice(Shape):
    LABELS = {
        "kind": "notice_kind",
        "channel": "channel",
        "status": "notice_status",
        "recipient_role": "recipient",
    }
    id: int
    key: str
    kind: str
    kind_label: str | None = None
    channel: str
    channel_label: str | None = None
    address: str
    recipient_role: str | None = None
    recipient_role_label: str | None = None
    template: str | None
    text: str | None
    status: str
    status_label: str | None = None
    attempts: int
    last_error: str | None
    loan_id: int | None
    broadcast_id: int | None
    send_after: str | None
    sent_at: str | None
    delivered_at: str | None
    created_at: str | None
    held_reason: str | None = Field(
        default=None, description="quiet_hours | channel_cannot_receive"
    )
    held_reason_label: str | None = Field(default=None, description="为何暂未发送（中文）")


class NoticePage(Page):
    items: list[Notice]
    counts: dict[str, dict[str, int]] = Field(description="类型 → 状态 → 数量")


class Requeued(BaseModel):
    requeued: int


class Ticket(Shape):
    LABELS = {"channel": "channel", "reason": "ticket_reason", "status": "ticket_status"}
    id: int
    number: str = Field(default="", description="工单号（如“工单号 12”）")
    channel: str
    channel_label: str | None = None
    address: str
    question: str | None
    reason: str | None
    reason_label: str | None = None
    status: str
    status_label: str | None = None
    created_at: str | None
    closed_at: str | None


class TicketItem(Ticket):
    messages: int
    last_at: str | None


class TicketPage(Page):
    items: list[TicketItem]


class Message(Shape):
    LABELS = {"sender": "message_sender"}
    id: int
    sender: str
    sender_label: str | None = None
    staff_user: str | None
    text: str
    at: str | None


class MessageWithDelivery(Message):
    delivery: str | None = Field(description="人工回复的发送状态（来自通知）")


class TicketDetail(Ticket):
    messages: list[MessageWithDelivery]


class Progress(BaseModel):
    total: int
    queued: int
    sent: int
    delivered: int
    failed: int
    cancelled: int
    percent: int
    by_status: dict[str, int]
    by_channel: dict[str, dict[str, int]] = Field(description="渠道 → 状态 → 数量")


class Broadcast(Shape):
    LABELS = {"status": "broadcast_status"}
    id: int
    title: str
    body: str
    sms_body: str | None
    audience: dict[str, Any]
    status: str
    status_label: str | None = None
    audience_size: int | None
    created_by: str | None
    confirmed_by: str | None
    scheduled_at: str | None
    created_at: str | None
    updated_at: str | None
    progress: Progress | None = None
    held_reason: str | None = Field(default=None, description="quiet_hours（静默时段）")
    held_reason_label: str | None = Field(default=None, description="为何暂未发送（中文）")


class BroadcastCancelled(Broadcast):
    cancelled_notices: int


class StaffUser(Shape):
    LABELS = {"role": "role"}
    id: int
    username: str
    display_name: str | None
    role: str
    role_label: str | None = None
    active: bool
    has_api_token: bool
    created_at: str | None


class IssuedToken(BaseModel):
    username: str
    token: str = Field(description="只显示这一次")


class AuditEvent(Shape):
    LABELS = {"action": "audit_action", "object_type": "object_type"}
    id: int
    at: str | None
    actor: str
    action: str
    action_label: str | None = None
    object_type: str
    object_type_label: str | None = None
    object_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(Page):
    items: list[AuditEvent]


class UnansweredGroup(BaseModel):
    normalized: str
    count: int
    sample: str
    last_at: str | None
    best_entry_id: str | None
    channels: str = Field(description="渠道（逗号分隔）")


class UnansweredPage(Page):
    items: list[UnansweredGroup]


class FaqEntry(BaseModel):
    id: str
    question: str
    file: str
    kind: str


class EntryWritten(BaseModel):
    entry_id: str


class Ignored(BaseModel):
    ignored: int


class Reloaded(BaseModel):
    reloaded: bool
    entries: int


class OpenPage(Page):
    items: list[Open]


class Document(Shape):
    LABELS = {"status": "document_status"}
    id: int
    code: str
    label: str
    status: str
    status_label: str | None = None
    filename: str | None
    content_type: str | None
    size_bytes: int | None
    sha256: str | None
    reject_reason: str | None
    received_at: str | None
    reviewed_at: str | None
    reviewed_by: str | None
    file_url: str | None


class Reviewed(Document):
    applicant_notified: bool


class Moved(Open):
    from_stage: str
    applicant_notified: bool


class Person(Shape):
    id: int
    name: str
    phone: str | None
    id_number: str
    district: str | None


class Loan(Shape):
    LABELS = {
        "repayment_method": "repayment_method",
        "subsidy_kind": "subsidy_kind",
        "status": "loan_status",
    }
    id: int
    loan_no: str
    borrower_id: int
    borrower_name: str | None
    amount_fen: int
    annual_rate: str
    disbursed_on: str
    term_months: int
    maturity_on: str
    repayment_method: str
    repayment_method_label: str | None = None
    subsidy_kind: str
    subsidy_kind_label: str | None = None
    status: str
    status_label: str | None = None
    bank: str | None
    district: str | None


class LoanItem(Loan):
    overdue_since: str | None = None
    overdue_days: int | None = Field(default=None, description="最早一期逾期的天数")


class LoanPage(Page):
    items: list[LoanItem]


class Installment(Shape):
    LABELS = {"status": "installment_status"}
    seq: int
    due_on: str
    principal_fen: int
    interest_fen: int
    borrower_interest_fen: int
    paid_fen: int
    paid: bool
    paid_on: str | None
    status: str | None
    status_label: str | None = None


class Payment(Shape):
    LABELS = {"source": "payment_source"}
    paid_on: str
    amount_fen: int
    reference: str | None
    source: str = "import"
    source_label: str | None = None


class Application(Shape):
    LABELS = {
        "stage": "stage",
        "applicant_type": "applicant_type",
        "category": "category",
        "policy": "policy",
    }
    id: int
    stage: str
    stage_label: str | None = None
    applicant_type: str | None
    applicant_type_label: str | None = None
    category: str | None
    category_label: str | None = None
    district: str | None
    person_id: int | None
    person_name: str | None
    requested_amount_fen: int | None
    requested_term_months: int | None
    applicant_name: str | None
    business_type: str | None
    business_address: str | None
    planned_start: str | None
    company_name: str | None
    member_names: list[str]
    cap_amount_fen: int | None
    over_cap: bool
    cap_term_months: int | None
    over_term_cap: bool
    policy: str | None
    policy_label: str | None = None
    created_at: str | None
    stage_changed_at: str | None


class ApplicationPage(Page):
    items: list[Application]
