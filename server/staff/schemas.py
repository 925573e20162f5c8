"""Response models of the staff API: the JSON each route has always answered, now documented in
OpenAPI and checked on the way out. Money is integer fen, times ISO 8601 in UTC (strings).

`Open` models (dashboard, preview, import report) name their main fields and pass the rest
through unchanged: those bodies are built by core and documented there."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Page(BaseModel):
    total: int
    limit: int
    offset: int


class Me(BaseModel):
    username: str
    display_name: str
    role: str


class Notice(BaseModel):
    id: int
    key: str
    kind: str
    channel: str
    address: str
    template: str | None
    text: str | None
    status: str
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


class Ticket(BaseModel):
    id: int
    channel: str
    address: str
    question: str | None
    reason: str | None
    status: str
    created_at: str | None
    closed_at: str | None


class TicketItem(Ticket):
    messages: int
    last_at: str | None


class TicketPage(Page):
    items: list[TicketItem]


class Message(BaseModel):
    id: int
    sender: str
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


class Broadcast(BaseModel):
    id: int
    title: str
    body: str
    sms_body: str | None
    audience: dict[str, Any]
    status: str
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


class StaffUser(BaseModel):
    id: int
    username: str
    display_name: str | None
    role: str
    active: bool
    has_api_token: bool
    created_at: str | None


class IssuedToken(BaseModel):
    username: str
    token: str = Field(description="只显示这一次")


class AuditEvent(BaseModel):
    id: int
    at: str | None
    actor: str
    action: str
    object_type: str
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


class Document(BaseModel):
    id: int
    code: str
    label: str
    status: str
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
