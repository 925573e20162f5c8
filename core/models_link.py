"""One-time codes that link a chat (WeChat, Telegram) to a person, sent by SMS to the number on file.

A `link_code` row holds the salted hash of a 6-digit code (never the code), the chat that asked
for it, the person it would link to, its expiry (5 minutes) and the number of wrong tries (at most
5). Rows also serve the rate limit: codes sent per chat and per number in the last hour/day.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models import _ts


class LinkCodeRow(SQLModel, table=True):
    __tablename__ = "link_code"
    __table_args__ = (
        sa.Index("ix_link_code_channel_address", "channel", "address", "created_at"),
        sa.Index("ix_link_code_phone", "phone", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    address: str = Field(max_length=64)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    phone: str = Field(max_length=20)
    salt: str = Field(max_length=32)
    code_hash: str = Field(max_length=64)
    attempts: int = 0
    expires_at: datetime = _ts()
    used_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
