"""The WeChat access_token shared by every worker through one `wechat_token` row per app id
(the sender's credential; wechat/client.py's `DbTokenStore` is the wechatpy side of it).

A token about to expire is refreshed by exactly one worker: the one that wins a short lease with
a compare-and-swap UPDATE that also requires the row still to hold the stale token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.kernel.timeutil import utcnow
from core.persistence.models import UTCDateTime
from core.persistence.models_wechat import WechatTokenRow
from core.persistence.sql import insert_ignore, table

_T = table(WechatTokenRow)


@dataclass(frozen=True)
class TokenRows:
    db: Engine
    app_id: str

    def store(self, token: str, ttl_seconds: int) -> None:
        """A freshly fetched token: stored, and the lease released."""
        now = utcnow()
        with self.db.begin() as conn:
            conn.execute(
                sa.update(_T)
                .where(_T.c.app_id == self.app_id)
                .values(
                    access_token=token,
                    expires_at=now + timedelta(seconds=ttl_seconds),
                    refreshing_until=None,
                    fetched=_T.c.fetched + 1,
                    updated_at=now,
                )
            )

    def forget(self) -> None:
        with self.db.begin() as conn:
            conn.execute(sa.update(_T).where(_T.c.app_id == self.app_id).values(access_token=None))

    def current(self) -> tuple[str | None, datetime | None]:
        """The stored token and when it expires (None, None before the first fetch)."""
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(_T.c.access_token, _T.c.expires_at).where(_T.c.app_id == self.app_id)
            ).first()
        if row is None:
            return None, None
        expires = UTCDateTime().process_result_value(row.expires_at, self.db.dialect)
        return row.access_token, expires

    def ensure(self) -> None:
        """The app's row exists (created empty by the first worker)."""
        with self.db.begin() as conn:
            insert = insert_ignore(conn.dialect.name, _T, ["app_id"])
            conn.execute(insert.values(app_id=self.app_id, fetched=0, updated_at=utcnow()))

    def win_lease(self, stale: str | None, early: timedelta, lease: timedelta) -> bool:
        """Take the refresh lease if the token is missing, expires within `early`, or is still
        `stale`, and nobody holds the lease; True if this worker won it."""
        now = utcnow()
        stale_now = sa.or_(
            _T.c.access_token.is_(None),
            _T.c.expires_at.is_(None),
            _T.c.expires_at < now + early,
        )
        if stale is not None:
            stale_now = sa.or_(stale_now, _T.c.access_token == stale)
        with self.db.begin() as conn:
            result = conn.execute(
                sa.update(_T)
                .where(
                    _T.c.app_id == self.app_id,
                    sa.or_(_T.c.refreshing_until.is_(None), _T.c.refreshing_until < now),
                    stale_now,
                )
                .values(refreshing_until=now + lease, updated_at=now)
            )
            return int(result.rowcount or 0) == 1

    def release(self) -> None:
        with self.db.begin() as conn:
            conn.execute(
                sa.update(_T).where(_T.c.app_id == self.app_id).values(refreshing_until=None)
            )
