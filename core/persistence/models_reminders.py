"""Tables added by the reminders feature (kept apart from core/persistence/models.py so features evolve independently)."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from core.persistence.models import _ts


class SweepRunRow(SQLModel, table=True):
    """One run of the daily reminder sweep (what it read and queued); staff and the scheduler's
    start-up catch-up look here to see whether today's sweep has run."""

    __tablename__ = "sweep_run"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)  # the local (Asia/Shanghai) day swept
    policy: str = Field(max_length=64)
    status: str = Field(default="done", max_length=16)  # done | error
    candidates: int = 0  # unpaid instalments read in the due window
    planned: int = 0  # notices computed
    created: int = 0  # notices newly queued (the rest existed already)
    duration_ms: int = 0
    worker: str | None = Field(default=None, max_length=64)
    started_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True)
