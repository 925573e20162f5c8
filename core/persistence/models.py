"""SQLModel tables: the persistent state of the front office.

Table classes end in `Row` so that they are never mistaken for domain values. Money is integer fen,
times are timezone-aware UTC (stored naive-UTC on SQLite through `UTCDateTime`), dates are plain
calendar dates in Asia/Shanghai.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from core.kernel.timeutil import utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; always returns aware UTC datetimes (SQLite drops tzinfo)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _ts(index: bool = False, nullable: bool = False) -> Any:
    return Field(
        default_factory=utcnow if not nullable else None,
        sa_type=UTCDateTime,
        index=index,
        nullable=nullable,
    )


def _new_list() -> list[Any]:
    return []


def _new_dict() -> dict[str, Any]:
    return {}


# pydantic inspects a default factory's signature on every construction; for the builtins list
# and dict that means parsing their text signature (~0.3 ms a row): plain functions are cheap.
_FACTORIES: dict[Any, Any] = {list: _new_list, dict: _new_dict}


def _json(default: Any = None) -> Any:
    if default is None:
        return Field(default=None, sa_type=sa.JSON, nullable=True)
    return Field(default_factory=_FACTORIES.get(default, default), sa_type=sa.JSON, nullable=False)


class Channel(StrEnum):
    TELEGRAM = "telegram"
    WECHAT = "wechat"
    SMS = "sms"
    TERMINAL = "terminal"


class Stage(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    COMMUNITY_REVIEW = "community_review"
    STREET_REVIEW = "street_review"
    GUARANTEE_REVIEW = "guarantee_review"
    BANK_REVIEW = "bank_review"
    APPROVED = "approved"
    DISBURSED = "disbursed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class PersonRow(SQLModel, table=True):
    __tablename__ = "person"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    phone: str | None = Field(default=None, max_length=20, index=True)
    id_number: str | None = Field(default=None, max_length=18, unique=True)
    district: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = _ts()


class ChannelIdentityRow(SQLModel, table=True):
    """One address on one channel (a Telegram chat id, a phone number), maybe linked to a person."""

    __tablename__ = "channel_identity"
    __table_args__ = (
        sa.UniqueConstraint("channel", "address", name="uq_identity_channel_address"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=64)
    verified: bool = False
    opted_out: bool = Field(default=False, index=True)
    opted_out_at: datetime | None = _ts(nullable=True)
    unreachable: bool = False
    unreachable_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = _ts()


class ApplicationRow(SQLModel, table=True):
    __tablename__ = "application"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    identity_id: int | None = Field(default=None, foreign_key="channel_identity.id", index=True)
    applicant_type: str = Field(max_length=16)
    category: str | None = Field(default=None, max_length=16)
    profile: dict[str, Any] = _json(dict)
    precheck: dict[str, Any] | None = _json()
    policy: str = Field(default="lanzhou-2013", max_length=64)
    requested_amount_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    requested_term_months: int | None = None
    district: str | None = Field(default=None, max_length=64, index=True)
    business_type: str | None = Field(default=None, max_length=100)
    business_address: str | None = Field(default=None, max_length=200)
    planned_start: str | None = Field(default=None, max_length=32)  # "2027-03" or "已开业"
    company_name: str | None = Field(default=None, max_length=200)
    stage: str = Field(default=Stage.DRAFT.value, max_length=24, index=True)
    stage_changed_at: datetime = _ts()
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ApplicationStageRow(SQLModel, table=True):
    """The timestamped stage history of an application."""

    __tablename__ = "application_stage"

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    from_stage: str | None = Field(default=None, max_length=24)
    stage: str = Field(max_length=24)
    at: datetime = _ts()
    actor: str = Field(default="system", max_length=64)
    note: str | None = Field(default=None, max_length=500)


class DocumentItemRow(SQLModel, table=True):
    """One item of an application's checklist and the file received for it (if any)."""

    __tablename__ = "document_item"
    __table_args__ = (sa.UniqueConstraint("application_id", "code", name="uq_document_item"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    code: str = Field(max_length=32)
    label: str = Field(max_length=200)
    status: str = Field(default="missing", max_length=16)  # missing|received|accepted|rejected
    filename: str | None = Field(default=None, max_length=255)
    content_type: str | None = Field(default=None, max_length=64)
    size_bytes: int | None = None
    sha256: str | None = Field(default=None, max_length=64, index=True)
    storage_key: str | None = Field(default=None, max_length=128)
    reject_reason: str | None = Field(default=None, max_length=500)
    received_at: datetime | None = _ts(nullable=True)
    reviewed_at: datetime | None = _ts(nullable=True)
    reviewed_by: str | None = Field(default=None, max_length=64)


class LoanRow(SQLModel, table=True):
    __tablename__ = "loan"

    id: int | None = Field(default=None, primary_key=True)
    loan_no: str = Field(max_length=64, unique=True)
    borrower_id: int = Field(foreign_key="person.id", index=True)
    application_id: int | None = Field(default=None, foreign_key="application.id")
    amount_fen: int = Field(sa_type=sa.BigInteger)
    annual_rate: Decimal = Field(sa_type=sa.Numeric(9, 6))
    # 基准利率: enterprise_half subsidises 50% of the interest at this rate (兰州 第二十条).
    base_rate: Decimal | None = Field(default=None, sa_type=sa.Numeric(9, 6), nullable=True)
    disbursed_on: date
    term_months: int
    maturity_on: date = Field(index=True)
    repayment_method: str = Field(max_length=48)
    subsidy_kind: str = Field(max_length=32)
    status: str = Field(default="active", max_length=16, index=True)  # active|closed|written_off
    bank: str | None = Field(default=None, max_length=100)
    district: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class InstallmentRow(SQLModel, table=True):
    __tablename__ = "installment"
    __table_args__ = (
        sa.UniqueConstraint("loan_id", "seq", name="uq_installment_loan_seq"),
        sa.Index("ix_installment_paid_due", "paid", "due_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # (loan_id, seq) is unique and serves lookups by loan; (paid, due_on) serves the sweep.
    loan_id: int = Field(foreign_key="loan.id")
    seq: int
    due_on: date
    principal_fen: int = Field(sa_type=sa.BigInteger)
    interest_fen: int = Field(sa_type=sa.BigInteger)
    borrower_interest_fen: int = Field(sa_type=sa.BigInteger)
    paid_fen: int = Field(default=0, sa_type=sa.BigInteger)
    paid: bool = False
    paid_on: date | None = None


class PaymentRow(SQLModel, table=True):
    __tablename__ = "payment"
    __table_args__ = (sa.UniqueConstraint("loan_id", "reference", name="uq_payment_reference"),)

    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    paid_on: date
    amount_fen: int = Field(sa_type=sa.BigInteger)
    reference: str = Field(max_length=64)
    created_at: datetime = _ts()
    # import (a payments file) | manual (recorded by an officer, core/staff/loan_actions.py)
    source: str = Field(
        default="import", max_length=16, sa_column_kwargs={"server_default": "import"}
    )


class CounterGuarantorRow(SQLModel, table=True):
    """A 反担保人 of a loan, with the employer whose payroll may deduct wages (宜春 二(四))."""

    __tablename__ = "counter_guarantor"
    __table_args__ = (sa.UniqueConstraint("loan_id", "person_id", name="uq_counter_guarantor"),)

    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    employer: str | None = Field(default=None, max_length=200)
    employer_contact_name: str | None = Field(default=None, max_length=64)
    employer_contact_phone: str | None = Field(default=None, max_length=20)


class NoticeRow(SQLModel, table=True):
    """The outbox: every message the system sends on its own initiative goes through here."""

    __tablename__ = "notice"
    __table_args__ = (sa.Index("ix_notice_status_send_after", "status", "send_after"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=24, index=True)  # reminder|overdue|broadcast|relay|review
    loan_id: int | None = Field(default=None, foreign_key="loan.id", index=True)
    installment_id: int | None = Field(default=None, foreign_key="installment.id", index=True)
    broadcast_id: int | None = Field(default=None, foreign_key="broadcast.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    identity_id: int | None = Field(default=None, foreign_key="channel_identity.id")
    rule: str | None = Field(default=None, max_length=32)
    recipient_role: str | None = Field(default=None, max_length=24)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=64)
    template: str | None = Field(default=None, max_length=64)
    params: dict[str, Any] = _json(dict)
    text: str = Field(sa_type=sa.Text)
    status: str = Field(default="pending", max_length=16)
    send_after: datetime = _ts()
    expires_at: datetime | None = _ts(nullable=True)
    attempts: int = 0
    locked_until: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    provider_id: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)
    delivered_at: datetime | None = _ts(nullable=True)
    updated_at: datetime = _ts()


class BroadcastRow(SQLModel, table=True):
    __tablename__ = "broadcast"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    body: str = Field(sa_type=sa.Text)
    sms_body: str | None = Field(default=None, sa_type=sa.Text)
    audience: dict[str, Any] = _json(dict)
    status: str = Field(default="draft", max_length=16, index=True)
    audience_size: int = 0
    created_by: str = Field(max_length=64)
    confirmed_by: str | None = Field(default=None, max_length=64)
    scheduled_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ConversationRow(SQLModel, table=True):
    """Dialogue state of one address on one channel; `version` guards concurrent updates."""

    __tablename__ = "conversation"
    __table_args__ = (sa.UniqueConstraint("channel", "address", name="uq_conversation"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=64)
    identity_id: int | None = Field(default=None, foreign_key="channel_identity.id")
    flow: str | None = Field(default=None, max_length=32)
    step: str | None = Field(default=None, max_length=32)
    state: dict[str, Any] = _json(dict)
    version: int = 0
    updated_at: datetime = _ts()


class InboundMessageRow(SQLModel, table=True):
    """Every inbound message id seen, with the replies given: a repeated id is answered once."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        sa.UniqueConstraint("channel", "message_id", name="uq_inbound_message"),
        sa.Index("ix_inbound_message_pending", "channel", "answered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    message_id: str = Field(max_length=128)
    address: str = Field(max_length=64, index=True)
    replies: list[dict[str, Any]] = _json(list)
    created_at: datetime = _ts(index=True)
    # The durable inbox (core/dialogue/inbox.py): a door that answers before processing stores the raw
    # update here; processed_at is set in the engine's transaction, answered_at once the replies
    # went out; locked_until is the processing lease. `response` is the rendered answer a door
    # returns again on a provider retry (the TwiML of an SMS).
    payload: dict[str, Any] | None = _json()
    response: str | None = Field(default=None, sa_type=sa.Text, nullable=True)
    processed_at: datetime | None = _ts(nullable=True)
    answered_at: datetime | None = _ts(nullable=True)
    locked_until: datetime | None = _ts(nullable=True)


class HandoffTicketRow(SQLModel, table=True):
    """A conversation handed to a person (人工)."""

    __tablename__ = "handoff_ticket"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=64)
    identity_id: int | None = Field(default=None, foreign_key="channel_identity.id")
    question: str = Field(sa_type=sa.Text)
    reason: str = Field(default="user", max_length=32)  # user|unknown|faq_handoff
    status: str = Field(default="open", max_length=16, index=True)
    created_at: datetime = _ts()
    closed_at: datetime | None = _ts(nullable=True)


class HandoffMessageRow(SQLModel, table=True):
    __tablename__ = "handoff_message"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="handoff_ticket.id", index=True)
    sender: str = Field(max_length=16)  # applicant|staff
    staff_user: str | None = Field(default=None, max_length=64)
    text: str = Field(sa_type=sa.Text)
    at: datetime = _ts()


class UnansweredQuestionRow(SQLModel, table=True):
    """Questions the FAQ could not answer confidently (the 'misunderstood' queue for staff)."""

    __tablename__ = "unanswered_question"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    question: str = Field(sa_type=sa.Text)
    normalized: str = Field(sa_type=sa.Text)
    best_entry_id: str | None = Field(default=None, max_length=64)
    score: float = 0.0
    status: str = Field(default="new", max_length=16, index=True)  # new|resolved|ignored
    created_at: datetime = _ts()


class AuditEventRow(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(max_length=32)
    object_id: str | None = Field(default=None, max_length=64)
    before: dict[str, Any] | None = _json()
    after: dict[str, Any] | None = _json()


class StaffUserRow(SQLModel, table=True):
    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=64)
    role: str = Field(max_length=16)  # admin|officer|viewer
    password_hash: str = Field(max_length=255)
    api_token_hash: str | None = Field(default=None, max_length=128, unique=True)
    telegram_user_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    active: bool = True
    created_at: datetime = _ts()


class LinkTokenRow(SQLModel, table=True):
    """A one-time code linking a chat to a person (deep link, or a code sent to the number)."""

    __tablename__ = "link_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    purpose: str = Field(default="link", max_length=16)
    expires_at: datetime = _ts()
    used_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
