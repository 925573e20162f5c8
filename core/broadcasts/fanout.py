"""Broadcast fan-out: staging, identity creation, batched notice inserts, due runs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from core.broadcasts.audience import _CI, Audience, Recipient, resolve
from core.broadcasts.common import BATCH, KIND, STALE_FANOUT, TEMPLATE, log
from core.broadcasts.texts import SmsCost, _params, sms_text, telegram_text
from core.kernel.timeutil import utcnow
from core.outbox.senders import CHAT_CHANNELS
from core.persistence.audit import audit
from core.persistence.db import session_scope
from core.persistence.models import (
    BroadcastRow,
    NoticeRow,
    UTCDateTime,
)
from core.persistence.sql import table as _t

# --- fan-out ------------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


_STAGE_MD = sa.MetaData()
_STAGE = sa.Table(
    "tmp_broadcast_stage",
    _STAGE_MD,
    sa.Column("key", sa.String(200)),
    sa.Column("person_id", sa.Integer),
    sa.Column("identity_id", sa.Integer),
    sa.Column("channel", sa.String(16)),
    sa.Column("address", sa.String(64)),
    prefixes=["TEMPORARY"],
)
_STAGE_COLS = ("key", "person_id", "identity_id", "channel", "address")


def _stage(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Load (key, person_id, identity_id, channel, address) rows into a fresh temporary table:
    COPY on psycopg, one executemany of plain values elsewhere (no per-row type processing)."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGE.name}")
    _STAGE.create(conn)
    if not rows:
        return
    cols = ", ".join(_STAGE_COLS)
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql" and type(driver).__module__.startswith("psycopg"):
        with driver.cursor() as cur, cur.copy(f"COPY {_STAGE.name} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    if conn.dialect.paramstyle == "qmark":
        conn.exec_driver_sql(
            f"INSERT INTO {_STAGE.name} ({cols}) VALUES (?, ?, ?, ?, ?)", list(rows)
        )
        return
    conn.execute(  # pragma: no cover - other drivers
        sa.insert(_STAGE), [dict(zip(_STAGE_COLS, r, strict=True)) for r in rows]
    )


def _drop_stage(conn: Connection) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGE.name}")


def _upsert(conn: Connection, table: sa.Table) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def _ensure_sms_identities(engine: Engine, recipients: Sequence[Recipient]) -> dict[str, int]:
    """Identity ids of SMS numbers on file, creating the missing identity rows (linked to the
    person and verified: on SMS the number itself is the proof, as in the dialogue engine)."""
    out: dict[str, int] = {}
    now = sa.bindparam("now", utcnow(), type_=UTCDateTime())
    for chunk in _chunks(list(recipients), BATCH * 4):
        with engine.begin() as conn:
            _stage(conn, [(None, r.person_id, None, "sms", r.address) for r in chunk])
            pick = sa.select(
                sa.literal("sms"),
                _STAGE.c.address,
                _STAGE.c.person_id,
                sa.true(),
                sa.false(),
                sa.false(),
                now,
            ).where(sa.true())
            conn.execute(
                _upsert(conn, _CI)
                .from_select(
                    [
                        "channel",
                        "address",
                        "person_id",
                        "verified",
                        "opted_out",
                        "unreachable",
                        "created_at",
                    ],
                    pick,
                )
                .on_conflict_do_nothing(index_elements=["channel", "address"])
            )
            found = conn.execute(
                sa.select(_CI.c.id, _CI.c.address)
                .select_from(_CI.join(_STAGE, _STAGE.c.address == _CI.c.address))
                .where(_CI.c.channel == "sms")
            )
            out.update({str(a): int(i) for i, a in found})
            _drop_stage(conn)
    return out


def _insert_notices(
    conn: Connection,
    broadcast_id: int,
    rows: Sequence[tuple[Any, ...]],
    texts: Mapping[str, str],
    params: Mapping[str, Mapping[str, str]],
) -> int:
    """One batch of the fan-out: the outbox's insert (ON CONFLICT (key) DO NOTHING, as
    `core.outbox.enqueue.enqueue_many`) done as INSERT … SELECT from a staging table, so that the values
    shared by every row (texts, params, timestamps) are converted once per batch, not per row.
    `person_id` stays empty on broadcast notices (their identity names the person): on
    PostgreSQL every foreign key costs a trigger call per row. Returns the number of notices
    inserted (exact on both databases)."""
    n = _t(NoticeRow)
    now = sa.bindparam("now", utcnow(), type_=UTCDateTime())
    is_tg = _STAGE.c.channel.in_(CHAT_CHANNELS)  # chats share the Telegram text
    pick = sa.select(
        _STAGE.c.key,
        sa.literal(KIND),
        sa.literal(broadcast_id),
        _STAGE.c.identity_id,
        _STAGE.c.channel,
        _STAGE.c.address,
        sa.literal(TEMPLATE),
        sa.case(
            (is_tg, sa.bindparam("p_tg", dict(params["telegram"]), type_=sa.JSON)),
            else_=sa.bindparam("p_sms", dict(params["sms"]), type_=sa.JSON),
        ),
        sa.case(
            (is_tg, sa.bindparam("t_tg", texts["telegram"], type_=sa.Text)),
            else_=sa.bindparam("t_sms", texts["sms"], type_=sa.Text),
        ),
        sa.literal("pending"),
        now,
        sa.literal(0),
        now,
        now,
    ).where(sa.true())
    _stage(conn, rows)
    done = conn.execute(
        _upsert(conn, n)
        .from_select(
            [
                "key",
                "kind",
                "broadcast_id",
                "identity_id",
                "channel",
                "address",
                "template",
                "params",
                "text",
                "status",
                "send_after",
                "attempts",
                "created_at",
                "updated_at",
            ],
            pick,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .execution_options(preserve_rowcount=True)  # INSERT rowcount is lost on psycopg otherwise
    )
    inserted = int(getattr(done, "rowcount", 0) or 0)
    _drop_stage(conn)
    return inserted


def _lock_open(session: Session, broadcast_id: int) -> bool:
    """Lock the broadcast row (PostgreSQL) and tell whether its fan-out may go on."""
    stmt = select(BroadcastRow.status).where(col(BroadcastRow.id) == broadcast_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.exec(stmt).first() == "fanout"


@dataclass
class FanOutResult:
    broadcast_id: int
    recipients: int = 0
    inserted: int = 0
    queued: int = 0  # notices of the broadcast after the run
    stopped: bool = False  # cancelled (or not in fan-out) before the end
    per_channel: dict[str, int] = field(default_factory=dict)


def fan_out(
    engine: Engine,
    broadcast_id: int,
    *,
    sms: SmsCost | None = None,
    today: date | None = None,
    batch_size: int = BATCH,
) -> FanOutResult:
    """Queue one notice per recipient (idempotent; resumable). Only runs in status `fanout`."""
    result = FanOutResult(broadcast_id)
    with session_scope(engine) as s:
        row = s.get(BroadcastRow, broadcast_id)
        if row is None or row.status != "fanout":
            result.stopped = True
            return result
        res = resolve(s, Audience.from_json(row.audience), today)
        tg_text = telegram_text(row)
        sms_plain = sms_text(row)
        sms_final = sms_text(row, sms) if sms is not None else sms_plain
        params = {"telegram": _params(row, "telegram"), "sms": _params(row, "sms")}
    result.recipients = len(res.recipients)
    result.per_channel = res.per_channel()
    missing = [r for r in res.recipients if r.identity_id is None]
    ids = _ensure_sms_identities(engine, missing) if missing else {}
    rows: list[tuple[Any, ...]] = []
    for r in res.recipients:
        identity_id = r.identity_id if r.identity_id is not None else ids.get(r.address)
        if identity_id is None:
            continue
        key = f"broadcast:{broadcast_id}:{identity_id}"
        rows.append((key, r.person_id, identity_id, r.channel, r.address))
    texts = {"telegram": tg_text, "sms": sms_final}
    b = _t(BroadcastRow)
    for chunk in _chunks(rows, batch_size):
        with session_scope(engine) as s:
            if not _lock_open(s, broadcast_id):
                result.stopped = True
                break
            conn = s.connection()
            result.inserted += _insert_notices(conn, broadcast_id, chunk, texts, params)
            s.execute(sa.update(b).where(b.c.id == broadcast_id).values(updated_at=utcnow()))
    with session_scope(engine) as s:
        n = _t(NoticeRow)
        result.queued = int(
            s.execute(
                sa.select(sa.func.count()).select_from(n).where(n.c.broadcast_id == broadcast_id)
            ).scalar_one()
        )
        if not result.stopped:
            done = s.execute(
                sa.update(b)
                .where(b.c.id == broadcast_id, b.c.status == "fanout")
                .values(status="queued", audience_size=result.queued, updated_at=utcnow())
            )
            if int(getattr(done, "rowcount", 0) or 0) == 1:
                audit(
                    s,
                    "system",
                    "broadcast.queued",
                    "broadcast",
                    broadcast_id,
                    after={"queued": result.queued, "per_channel": result.per_channel},
                )
            else:
                result.stopped = True
    log.info(
        "broadcast %s: %d recipients, %d notices queued%s",
        broadcast_id,
        result.recipients,
        result.queued,
        " (stopped)" if result.stopped else "",
    )
    return result


def claim_due(engine: Engine, now: datetime | None = None) -> list[int]:
    """Move scheduled broadcasts whose time has come to `fanout`, and take over fan-outs that
    stopped moving (a crashed process); returns the ids to run `fan_out` on."""
    now = now or utcnow()
    b = _t(BroadcastRow)
    with engine.begin() as conn:
        due = conn.execute(
            sa.update(b)
            .where(b.c.status == "scheduled", b.c.scheduled_at <= now)
            .values(status="fanout", updated_at=now)
            .returning(b.c.id)
        ).all()
        stale = conn.execute(
            sa.update(b)
            .where(b.c.status == "fanout", b.c.updated_at < now - STALE_FANOUT)
            .values(updated_at=now)
            .returning(b.c.id)
        ).all()
    ids = sorted({int(r[0]) for r in [*due, *stale]})
    if stale:
        log.warning("resuming interrupted broadcast fan-out: %s", [int(r[0]) for r in stale])
    return ids


def run_due(
    engine: Engine, *, sms: SmsCost | None = None, now: datetime | None = None
) -> list[FanOutResult]:
    """Fan out every broadcast that is due or was interrupted (the server runs this periodically)."""
    return [fan_out(engine, i, sms=sms) for i in claim_due(engine, now)]
