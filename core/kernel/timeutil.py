"""Time helpers: everything is stored in UTC and shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def to_local(dt: datetime) -> datetime:
    """A UTC (or naive-UTC) datetime shown in Asia/Shanghai."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(SHANGHAI)


def local_today(now: datetime | None = None) -> date:
    """Today's date in Asia/Shanghai."""
    return to_local(now or utcnow()).date()


def format_date_cn(d: date) -> str:
    """2026-12-01 -> 2026年12月1日."""
    return f"{d.year}年{d.month}月{d.day}日"


def format_datetime_cn(dt: datetime) -> str:
    """A UTC datetime as 2026年12月1日 09:30 in Asia/Shanghai."""
    local = to_local(dt)
    return f"{format_date_cn(local.date())} {local:%H:%M}"
