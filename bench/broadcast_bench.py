"""Benchmark of the broadcast fan-out: 100,000 recipients queued to the outbox (target ≤ 10 s).

    .venv/bin/python bench/broadcast_bench.py                        # SQLite (temporary file)
    .venv/bin/python bench/broadcast_bench.py --recipients 20000
    .venv/bin/python bench/broadcast_bench.py --database-url postgresql+psycopg://u:p@host/db

Two audiences are timed on each database, each from "confirmed" to "every notice queued"
(`core.broadcasts.fanout.fan_out`: audience resolution, opt-out exclusion, identity creation, batched
`enqueue_many` with ON CONFLICT DO NOTHING):

- subscribers: every person linked to a verified Telegram chat (1 in 50 opted out);
- borrowers: active borrowers known only by the phone number on file — the fan-out first creates
  their SMS identities (the heavier case).

Each fan-out is then run again on the same broadcast (a crash-resume): it must insert nothing.
The PostgreSQL run creates a scratch database next to the one in the URL (the role needs
CREATEDB) and drops it afterwards.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scratch import bench_parser, scratch_urls  # noqa: E402
from core.broadcasts import audience as bc_audience  # noqa: E402
from core.broadcasts import commands as bc_commands  # noqa: E402
from core.broadcasts import fanout as bc_fanout  # noqa: E402
from core.broadcasts import texts as bc_texts  # noqa: E402
from core.kernel.timeutil import utcnow  # noqa: E402
from core.persistence.db import make_engine, session_scope, upgrade  # noqa: E402
from core.persistence.models import (  # noqa: E402
    BroadcastRow,
    ChannelIdentityRow,
    LoanRow,
    NoticeRow,
    PersonRow,
)
from core.persistence.sql import table  # noqa: E402
from sms.segments import DEFAULT_PRICE_YUAN, count_segments  # noqa: E402

DISTRICTS = ["城关区", "七里河区", "西固区", "安宁区", "红古区", "永登县", "皋兰县", "榆中县"]
CHUNK = 10_000
SMS = bc_texts.SmsCost(
    decorate=lambda t: f"【创业担保贷款】{t}\n拒收请回复R",
    segments=count_segments,
    price_per_segment_yuan=DEFAULT_PRICE_YUAN,
)


def populate(engine: Engine, n: int) -> None:
    """n people with a verified Telegram chat, and n borrowers known by phone only."""
    p, ci, ln = table(PersonRow), table(ChannelIdentityRow), table(LoanRow)
    today = date.today()
    with engine.begin() as conn:
        for start in range(0, 2 * n, CHUNK):
            stop = min(start + CHUNK, 2 * n)
            conn.execute(
                sa.insert(p),
                [
                    {
                        "id": i + 1,
                        "name": f"用户{i}",
                        "phone": f"+86138{i:08d}",
                        "district": DISTRICTS[i % len(DISTRICTS)],
                        "created_at": utcnow(),
                    }
                    for i in range(start, stop)
                ],
            )
        for start in range(0, n, CHUNK):
            stop = min(start + CHUNK, n)
            conn.execute(
                sa.insert(ci),
                [
                    {
                        "person_id": i + 1,
                        "channel": "telegram",
                        "address": str(7_000_000_000 + i),
                        "verified": True,
                        "opted_out": i % 50 == 0,
                        "unreachable": False,
                        "created_at": utcnow(),
                    }
                    for i in range(start, stop)
                ],
            )
        for start in range(n, 2 * n, CHUNK):
            stop = min(start + CHUNK, 2 * n)
            conn.execute(
                sa.insert(ln),
                [
                    {
                        "loan_no": f"BENCH-{i:07d}",
                        "borrower_id": i + 1,
                        "amount_fen": 5_000_000,
                        "annual_rate": "0.0435",
                        "disbursed_on": today - timedelta(days=100),
                        "term_months": 24,
                        "maturity_on": today + timedelta(days=600),
                        "repayment_method": "equal_principal",
                        "subsidy_kind": "individual_full",
                        "status": "active",
                        "district": DISTRICTS[i % len(DISTRICTS)],
                        "created_at": utcnow(),
                        "updated_at": utcnow(),
                    }
                    for i in range(start, stop)
                ],
            )
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def time_fan_out(engine: Engine, label: str, audience: dict[str, object]) -> None:
    with session_scope(engine) as s:
        row = bc_commands.create_draft(
            s,
            bc_commands.Draft(
                "创业担保贷款政策调整",
                "个人创业担保贷款额度调整，详情请咨询所在社区。",
                None,
                bc_audience.Audience.from_json(audience),
            ),
            "bench",
        )
        bid = int(row.id or 0)
    started = time.perf_counter()
    with session_scope(engine) as s:
        bc_commands.request_send(
            s, bid, "bench", threshold=10**9
        )  # the "send" click: sizes the audience
    sent = time.perf_counter()
    first = bc_fanout.fan_out(engine, bid, sms=SMS)
    done = time.perf_counter()
    elapsed, fan = done - started, done - sent
    with session_scope(engine) as s:
        s.execute(
            sa.update(table(BroadcastRow))
            .where(table(BroadcastRow).c.id == bid)
            .values(status="fanout")
        )
    again_started = time.perf_counter()
    again = bc_fanout.fan_out(engine, bid, sms=SMS)
    again_elapsed = time.perf_counter() - again_started
    with engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count())
            .select_from(table(NoticeRow))
            .where(table(NoticeRow).c.broadcast_id == bid)
        ).scalar_one()
    verdict = "OK" if elapsed <= 10 else "SLOW"
    print(
        f"{engine.dialect.name:10s} {label:12s} {first.queued:>7d} queued in {elapsed:5.2f}s "
        f"from the send click (fan-out {fan:5.2f}s, {first.queued / fan:>7,.0f}/s) {verdict}; "
        f"channels {first.per_channel}; "
        f"resume inserted {again.inserted} in {again_elapsed:5.2f}s; notices in db {count}"
    )
    assert again.inserted == 0 and count == first.queued


def run(url: str, n: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        populate(engine, n)
        print(
            f"{engine.dialect.name:10s} populated {2 * n} people in {time.perf_counter() - started:.1f}s"
        )
        time_fan_out(engine, "subscribers", {"group": "all", "channels": ["telegram", "sms"]})
        time_fan_out(engine, "borrowers", {"group": "borrowers", "channels": ["sms"]})
    finally:
        engine.dispose()


def main() -> None:
    args = bench_parser(__doc__, "--recipients", 100_000).parse_args()
    with tempfile.TemporaryDirectory(prefix="chuangdai-bench-") as tmp:
        workdir = Path(tmp)
        for url in scratch_urls(args, workdir):
            run(url, args.recipients)


if __name__ == "__main__":
    main()
