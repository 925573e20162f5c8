"""Tables of the WeChat front end (kept apart from core/persistence/models.py).

- `wechat_token`: the account's `access_token`, one row per app id, shared by every worker.
  `refreshing_until` is a short lease: the one worker that wins it (compare-and-swap UPDATE)
  fetches a new token; the others wait for the row to change, so a token is fetched once per
  expiry for the whole deployment (WeChat limits the daily number of token calls).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.persistence.models import _ts


class WechatTokenRow(SQLModel, table=True):
    __tablename__ = "wechat_token"

    app_id: str = Field(primary_key=True, max_length=64)
    access_token: str | None = Field(default=None, max_length=512)
    expires_at: datetime | None = _ts(nullable=True)
    refreshing_until: datetime | None = _ts(nullable=True)
    fetched: int = 0  # number of tokens fetched (operations: compare with the daily quota)
    updated_at: datetime = _ts()
