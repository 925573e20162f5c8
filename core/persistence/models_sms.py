"""Tables of the SMS front end (kept apart from core/persistence/models.py).

- `sms_rate_slot`: one row per sending identity (Messaging Service SID or From number); the next
  free send slot in epoch microseconds, advanced by compare-and-swap so every worker on the same
  database shares one rate limit.
- `sms_status_event`: every delivery status callback received, unique per (message, status) and per
  idempotency token, so a retried webhook changes nothing; events for a message we do not know yet
  stay unapplied until `core.outbox.receipts.reconcile` sees the notice.
- `sms_auto_reply`: the automatic replies given per number, counted for the hourly reply cap.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.persistence.models import _ts


class SmsRateSlotRow(SQLModel, table=True):
    __tablename__ = "sms_rate_slot"

    sender_key: str = Field(primary_key=True, max_length=80)
    next_at_us: int = Field(default=0, sa_type=sa.BigInteger)  # epoch microseconds, UTC
    updated_at: datetime = _ts()


class SmsStatusEventRow(SQLModel, table=True):
    __tablename__ = "sms_status_event"
    __table_args__ = (
        sa.UniqueConstraint("message_sid", "status", name="uq_sms_status_event"),
        sa.UniqueConstraint("idempotency_token", name="uq_sms_status_event_token"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_sid: str = Field(max_length=64, index=True)
    status: str = Field(max_length=16)
    error_code: str | None = Field(default=None, max_length=16)
    idempotency_token: str | None = Field(default=None, max_length=128)
    notice_id: int | None = Field(default=None, foreign_key="notice.id")
    applied: bool = False
    received_at: datetime = _ts()


class SmsAutoReplyRow(SQLModel, table=True):
    __tablename__ = "sms_auto_reply"
    __table_args__ = (
        sa.Index("ix_sms_auto_reply_address_at", "address", "at"),
        sa.UniqueConstraint("message_sid", name="uq_sms_auto_reply_sid"),
    )

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(max_length=64)
    message_sid: str = Field(max_length=64)
    suppressed: bool = False  # over the cap: recorded, not answered
    at: datetime = _ts()
