"""Table of the one-time code service (core/dialogue/otp.py), kept apart from core/persistence/models.py.

`one_time_code`: one row per code sent. Only a keyed hash of the code is stored; `attempts` counts
wrong tries, `used_at` marks a code consumed (or superseded by a newer one).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.persistence.models import _ts


class OneTimeCodeRow(SQLModel, table=True):
    __tablename__ = "one_time_code"
    __table_args__ = (sa.Index("ix_one_time_code_subject", "channel", "address", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(default="verify_phone", max_length=24)
    channel: str = Field(max_length=16)  # the door asking (telegram, wechat, terminal …)
    address: str = Field(max_length=64)  # the chat on that door
    phone: str = Field(max_length=20, index=True)  # E.164 number the code was sent to
    code_hash: str = Field(max_length=64)
    attempts: int = 0
    expires_at: datetime = _ts()
    used_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
