"""Benchmark of the reminder sweep and the outbox dispatcher on PostgreSQL.

    .venv/bin/python bench/reminders_bench.py                        # everything
    .venv/bin/python bench/reminders_bench.py sweep --loans 200000 --scale 10
    .venv/bin/python bench/reminders_bench.py dispatch --rate 1000 --messages 30000
    .venv/bin/python bench/reminders_bench.py crash --messages 20000
    --database-url postgresql+psycopg://chuangdai:chuangdai@127.0.0.1:5432/chuangdai  (default)

It works in a scratch database `<name>_reminders_bench` next to the one in the URL (the role needs
CREATEDB), dropped at the end unless --keep.

1. sweep: 200,000 loans (quarterly instalments over two years = 1.6 million instalments, one
   counter-guarantor each, 2 % of past instalments unpaid) disbursed over the two years before the
   sweep day. Times a day's sweep into an empty outbox and an idempotent rerun; then adds 9× as
   many loans (half closed history, half active loans whose due dates fall outside the day's due
   window) and times the same day's sweep again: the sweep reads through the (paid, due_on) index,
   so its time follows what is due, not the number of loans.
2. dispatch: N notices sent by two dispatcher processes (FOR UPDATE SKIP LOCKED) to a local fake
   provider HTTP server that accepts at most R messages/s (429 beyond); reports the accepted rate.
3. crash: the dispatchers are killed with SIGKILL in the middle of sending and restarted; the
   provider's log shows per notice kind how many arrived twice and whether any was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_database  # noqa: E402
from core.kernel.quiet_hours import QuietHours  # noqa: E402
from core.kernel.timeutil import SHANGHAI  # noqa: E402
from core.kernel.workdays import WorkCalendar  # noqa: E402
from core.outbox.dispatch import DispatchConfig, Dispatcher  # noqa: E402
from core.outbox.senders import OutgoingMessage, SendResult  # noqa: E402
from core.persistence.db import make_engine, upgrade  # noqa: E402
from core.reminders.ladder import load_reminder_policy  # noqa: E402
from core.reminders.sweep import run_sweep  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://chuangdai:chuangdai@127.0.0.1:5432/chuangdai"
NO_QUIET = QuietHours.parse("00:00", "00:00")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- scratch database ------------------------------------------------------------------------


@contextmanager
def scratch_db(url: str, keep: bool) -> Iterator[str]:
    with scratch_database(url, suffix="reminders_bench", keep=keep) as scratch:
        upgrade(scratch)
        yield scratch


# --- 1. the sweep ----------------------------------------------------------------------------

INSERT_LOAN = """INSERT INTO loan (id, loan_no, borrower_id, amount_fen, annual_rate, disbursed_on,
                    term_months, maturity_on, repayment_method, subsidy_kind, status, bank,
                    created_at, updated_at)"""
BANKS = "ARRAY['兰州银行','中国农业银行兰州分行','甘肃银行','中国邮政储蓄银行']"


def load_active_loans(engine: Engine, loans: int, day: date) -> None:
    """`loans` active loans disbursed over the two years before `day`, 8 quarterly instalments,
    one counter-guarantor (with an employer contact) each; 2 % of past instalments unpaid.
    No interest subsidy, so every instalment has an amount to remind (under 个人全额贴息 the
    interest-only instalments cost the borrower nothing and are not reminded). Labelled
    equal_principal: loan.repayment_method is VARCHAR(32) and the name of the quarterly method,
    interest_quarterly_principal_at_maturity, has 40 characters."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                """
                INSERT INTO person (id, name, phone, created_at)
                SELECT g, '借款人' || g, '+86138' || lpad(g::text, 8, '0'), now()
                FROM generate_series(1, :n) g
                """
            ),
            {"n": loans},
        )
        conn.execute(
            sa.text(
                """
                INSERT INTO person (id, name, phone, created_at)
                SELECT :n + g, '反担保人' || g, '+86139' || lpad(g::text, 8, '0'), now()
                FROM generate_series(1, :n) g
                """
            ),
            {"n": loans},
        )
        conn.execute(
            sa.text(
                f"""
                {INSERT_LOAN}
                SELECT g, 'LZ' || lpad(g::text, 8, '0'), g, 5000000, 0.0435,
                    CAST(:day AS date) - (g % 730), 24,
                    (CAST(:day AS date) - (g % 730) + interval '24 months')::date,
                    'equal_principal', 'none', 'active',
                    ({BANKS})[1 + g % 4], now(), now()
                FROM generate_series(1, :n) g
                """
            ),
            {"n": loans, "day": day},
        )
        conn.execute(
            sa.text(
                """
                INSERT INTO counter_guarantor (loan_id, person_id, employer, employer_contact_name,
                    employer_contact_phone)
                SELECT g, :n + g, '兰州市第' || (g % 90 + 1) || '中学', '会计' || (g % 90 + 1),
                    '+86137' || lpad((g % 90 + 1)::text, 8, '0')
                FROM generate_series(1, :n) g
                """
            ),
            {"n": loans},
        )
        conn.execute(
            sa.text(
                """
                INSERT INTO installment (loan_id, seq, due_on, principal_fen, interest_fen,
                    borrower_interest_fen, paid_fen, paid, paid_on)
                SELECT l.id, k, d.due,
                    CASE WHEN k = 8 THEN 5000000 ELSE 0 END, 54375, 54375,
                    CASE WHEN p.paid THEN CASE WHEN k = 8 THEN 5054375 ELSE 54375 END ELSE 0 END,
                    p.paid, CASE WHEN p.paid THEN d.due END
                FROM loan l
                CROSS JOIN generate_series(1, 8) k
                CROSS JOIN LATERAL (
                    SELECT (l.disbursed_on + make_interval(months => 3 * k))::date AS due
                ) d
                CROSS JOIN LATERAL (
                    SELECT d.due < CAST(:day AS date) AND (l.id * 7 + k) % 50 <> 0 AS paid
                ) p
                WHERE l.id <= :n
                """
            ),
            {"n": loans, "day": day},
        )
        conn.execute(sa.text("SELECT setval('person_id_seq', (SELECT max(id) FROM person))"))
        conn.execute(sa.text("SELECT setval('loan_id_seq', (SELECT max(id) FROM loan))"))


def load_more_loans(engine: Engine, first: int, count: int, day: date, people: int) -> None:
    """`count` more loans that add nothing to the day's due window: half closed history (all
    paid), half active loans disbursed on the 10th of a month in the last two years (their unpaid
    instalments fall on the 10th, outside the window of a sweep on the 1st)."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"""
                {INSERT_LOAN}
                SELECT g, 'LZ' || lpad(g::text, 8, '0'), 1 + g % :people, 5000000, 0.0435, d.on_,
                    24, (d.on_ + interval '24 months')::date,
                    'equal_principal', 'none',
                    CASE WHEN g % 2 = 0 THEN 'closed' ELSE 'active' END,
                    ({BANKS})[1 + g % 4], now(), now()
                FROM generate_series(:a, :b) g
                CROSS JOIN LATERAL (
                    SELECT CASE WHEN g % 2 = 0
                        THEN DATE '2016-01-01' + (g % 1800)
                        ELSE (date_trunc('month', CAST(:day AS date))
                              - make_interval(months => 1 + g % 23) + interval '9 days')::date
                    END AS on_
                ) d
                """
            ),
            {"a": first, "b": first + count - 1, "day": day, "people": people},
        )
        conn.execute(
            sa.text(
                """
                INSERT INTO installment (loan_id, seq, due_on, principal_fen, interest_fen,
                    borrower_interest_fen, paid_fen, paid, paid_on)
                SELECT l.id, k, d.due, CASE WHEN k = 8 THEN 5000000 ELSE 0 END, 54375, 54375,
                    CASE WHEN d.due >= CAST(:day AS date) THEN 0
                         WHEN k = 8 THEN 5054375 ELSE 54375 END,
                    d.due < CAST(:day AS date), CASE WHEN d.due < CAST(:day AS date) THEN d.due END
                FROM loan l
                CROSS JOIN generate_series(1, 8) k
                CROSS JOIN LATERAL (
                    SELECT (l.disbursed_on + make_interval(months => 3 * k))::date AS due
                ) d
                WHERE l.id BETWEEN :a AND :b
                """
            ),
            {"a": first, "b": first + count - 1, "day": day},
        )


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar() or 0)


def analyze(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


def timed_sweep(engine: Engine, day: date, label: str) -> dict[str, Any]:
    policy = load_reminder_policy()
    cal = WorkCalendar()
    now = datetime(day.year, day.month, day.day, 7, 0, tzinfo=SHANGHAI).astimezone(UTC)
    out: dict[str, Any] = {}
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE notice, sweep_run CASCADE")
    # first: a cold start into an empty outbox (every catch-up window at once, the worst case);
    # rerun: the same day again (idempotent, nothing new); next_day: the following day after it,
    # i.e. the steady daily cost (only that day's new notices are inserted).
    for run, when in (("first", day), ("rerun", day), ("next_day", day + timedelta(days=1))):
        t0 = time.perf_counter()
        r = run_sweep(engine, policy, cal, when, now=now + (when - day), quiet=QuietHours())
        seconds = time.perf_counter() - t0
        out[run] = {
            "seconds": round(seconds, 3),
            "candidates": r.candidates,
            "planned": r.planned,
            "created": r.created,
        }
        log(
            f"{label} sweep {run}: {seconds:.2f} s, {r.candidates} instalments read, "
            f"{r.planned} notices planned, {r.created} created"
        )
    return out


def explain_candidates(engine: Engine, day: date) -> list[str]:
    from core.reminders.ladder import due_dates_in_play

    dates = due_dates_in_play(load_reminder_policy(), day, WorkCalendar())
    listed = ", ".join(f"DATE '{d}'" for d in dates)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "EXPLAIN SELECT i.id FROM installment i JOIN loan l ON l.id = i.loan_id "
            f"WHERE i.paid = false AND i.due_on IN ({listed}) AND l.status = 'active'"
        ).all()
    return [r[0] for r in rows]


def bench_sweep(url: str, loans: int, scale: int, day: date) -> dict[str, Any]:
    engine = make_engine(url)
    result: dict[str, Any] = {"loans": loans, "day": day.isoformat()}
    t0 = time.perf_counter()
    load_active_loans(engine, loans, day)
    analyze(engine)
    result["load_seconds"] = round(time.perf_counter() - t0, 1)
    result["installments"] = count(engine, "SELECT count(*) FROM installment")
    log(
        f"loaded {loans} loans / {result['installments']} instalments in {result['load_seconds']} s"
    )
    result["x1"] = timed_sweep(engine, day, "1x")
    result["plan"] = explain_candidates(engine, day)
    if scale > 1:
        t0 = time.perf_counter()
        step = 500_000
        first = loans + 1
        extra = loans * (scale - 1)
        while extra > 0:
            n = min(step, extra)
            load_more_loans(engine, first, n, day, people=loans)
            first += n
            extra -= n
            log(f"  … {first - 1} loans")
        analyze(engine)
        result["scale"] = scale
        result["scaled_load_seconds"] = round(time.perf_counter() - t0, 1)
        result["scaled_loans"] = count(engine, "SELECT count(*) FROM loan")
        result["scaled_installments"] = count(engine, "SELECT count(*) FROM installment")
        result["scaled_unpaid"] = count(engine, "SELECT count(*) FROM installment WHERE NOT paid")
        log(
            f"scaled to {result['scaled_loans']} loans / {result['scaled_installments']} "
            f"instalments ({result['scaled_unpaid']} unpaid)"
        )
        result[f"x{scale}"] = timed_sweep(engine, day, f"{scale}x")
        result["plan_scaled"] = explain_candidates(engine, day)
        first_1 = result["x1"]["first"]["seconds"]
        first_n = result[f"x{scale}"]["first"]["seconds"]
        result["growth"] = round(first_n / first_1, 2) if first_1 else None
    engine.dispose()
    return result


# --- 2./3. the fake provider and dispatcher workers --------------------------------------------


class FakeProvider:
    """A raw ASGI app: POST /send accepts at most `rate` messages/s (token bucket), else 429."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.reset()

    def reset(self) -> None:
        self.tokens = self.burst
        self.stamp = time.monotonic()
        self.accepted: Counter[int] = Counter()
        self.kinds: dict[int, str] = {}
        self.rejected = 0
        self.first: float | None = None
        self.last: float | None = None
        self.times: list[float] = []

    def _take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        status, payload, headers = 200, b"{}", [(b"content-type", b"application/json")]
        if path == "/send":
            data = json.loads(body)
            if self._take():
                nid = int(data["notice_id"])
                self.accepted[nid] += 1
                self.kinds[nid] = data.get("kind", "")
                now = time.monotonic()
                self.first = self.first or now
                self.last = now
                self.times.append(now)
                total = sum(self.accepted.values())
                payload = json.dumps({"id": f"P{total}"}).encode()
            else:
                self.rejected += 1
                status, payload = 429, b'{"error":"rate"}'
                headers.append((b"retry-after", b"1"))
        elif path == "/stats":
            by_kind: dict[str, dict[str, int]] = {}
            for nid, n in self.accepted.items():
                k = by_kind.setdefault(self.kinds[nid], {"unique": 0, "accepted": 0, "dup": 0})
                k["unique"] += 1
                k["accepted"] += n
                k["dup"] += 1 if n > 1 else 0
            span = (self.last - self.first) if self.first and self.last else 0.0
            n = len(self.times)
            lo, hi = int(n * 0.05), max(int(n * 0.95) - 1, 0)
            steady = (hi - lo) / (self.times[hi] - self.times[lo]) if hi > lo else 0.0
            payload = json.dumps(
                {
                    "accepted": sum(self.accepted.values()),
                    "unique": len(self.accepted),
                    "rejected": self.rejected,
                    "span_seconds": span,
                    "steady_per_second": steady,
                    "by_kind": by_kind,
                    "ids": sorted(self.accepted),
                    "dups": sorted(i for i, n in self.accepted.items() if n > 1),
                }
            ).encode()
        elif path == "/reset":
            self.reset()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def run_provider(port: int, rate: float) -> None:
    import uvicorn

    uvicorn.run(
        FakeProvider(rate, burst=max(rate / 10, 5)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
    )


class HttpSender:
    """A bench sender for channel "sms" posting to the fake provider (rate-limited client side,
    like the real SMS sender's SMS_RATE_PER_SECOND). aiohttp: httpx's async pool slows down
    sharply with many concurrent requests (≈150 req/s at 64 in flight on this machine)."""

    channel = "sms"

    def __init__(self, base_url: str, rate: float) -> None:
        self.base_url = base_url
        self.session: Any = None
        self.interval = 1.0 / rate
        self.next_slot = 0.0

    async def _pace(self) -> None:
        """Evenly spaced sends (no bursts): each send reserves the next 1/rate slot."""
        now = time.monotonic()
        slot = max(now, self.next_slot)
        self.next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def send(self, message: OutgoingMessage) -> SendResult:
        import aiohttp

        if self.session is None:
            self.session = aiohttp.ClientSession(
                base_url=self.base_url,
                connector=aiohttp.TCPConnector(limit=32),
                timeout=aiohttp.ClientTimeout(total=10),
            )
        body = {
            "notice_id": message.notice_id,
            "to": message.address,
            "text": message.text,
            "kind": message.kind,
        }
        await self._pace()
        try:
            async with self.session.post("/send", json=body) as r:
                status = r.status
                data: dict[str, Any] = await r.json() if status == 200 else {}
        except (aiohttp.ClientError, TimeoutError) as exc:
            return SendResult(ok=False, temporary=True, error=repr(exc)[:200])
        if status == 200:
            return SendResult(ok=True, provider_id=data["id"])
        if status == 429:
            # no Retry-After worth waiting for at 1,000/s: the dispatcher's backoff decides
            return SendResult(ok=False, temporary=True, error="429")
        return SendResult(ok=False, temporary=True, error=f"http {status}")


def run_worker(url: str, provider: str, rate: float, lease: float) -> None:
    """One dispatcher process; exits when nothing is pending or being sent."""

    async def main() -> None:
        engine = make_engine(url, pool_size=8)
        sender = HttpSender(provider, rate)
        d = Dispatcher(
            engine,
            {"sms": sender},
            quiet=NO_QUIET,
            config=DispatchConfig(
                batch_size=200,
                lease_seconds=lease,
                concurrency=200,
                lanes=3,
                idle_seconds=0.2,
                reclaim_every_seconds=min(lease, 5.0),
                backoff_base_seconds=0.2,
                max_attempts=20,
            ),
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)

        async def monitor() -> None:
            while not stop.is_set():
                await asyncio.sleep(1.0)
                left = await asyncio.to_thread(
                    count,
                    engine,
                    "SELECT count(*) FROM notice WHERE status IN ('pending','sending')",
                )
                if left == 0:
                    stop.set()

        await asyncio.gather(d.run_forever(stop), monitor())
        print(json.dumps(d.totals.as_dict()), flush=True)
        if sender.session is not None:
            await sender.session.close()
        engine.dispose()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def provider_process(rate: float) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "provider", "--port", str(port), "--rate", str(rate)]
    )
    base = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(100):
        try:
            httpx.get(f"{base}/stats", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def stats_of(base: str) -> dict[str, Any]:
    import httpx

    data: dict[str, Any] = httpx.get(f"{base}/stats", timeout=30).json()
    return data


def enqueue(engine: Engine, n: int, broadcast_share: float = 0.0) -> None:
    """n pending SMS notices due now; a share of them broadcasts (at-most-once)."""
    every = int(1 / broadcast_share) if broadcast_share else 0
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE notice CASCADE")
        conn.execute(
            sa.text(
                """
                INSERT INTO notice (key, kind, channel, address, params, text, status, send_after,
                    attempts, created_at, updated_at)
                SELECT 'bench:' || g,
                    CASE WHEN :every > 0 AND g % :every = 0 THEN 'broadcast' ELSE 'reminder' END,
                    'sms', '+86136' || lpad(g::text, 8, '0'), '{}',
                    '【创业担保贷款】您的创业担保贷款****' || lpad(g::text, 4, '0') || '第1期应还3,333.33元',
                    'pending', now() - interval '1 second', 0, now(), now()
                FROM generate_series(1, :n) g
                """
            ),
            {"n": n, "every": every},
        )


def start_workers(
    url: str, base: str, workers: int, rate: float, lease: float, headroom: float = 1.0
) -> list[Any]:
    """Dispatcher processes; each gets rate × headroom / workers as its client-side limit."""
    return [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "worker",
                "--database-url",
                url,
                "--provider",
                base,
                "--rate",
                str(rate * headroom / workers),
                "--lease",
                str(lease),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]


def bench_dispatch(
    url: str, messages: int, rate: float, workers: int, headroom: float
) -> dict[str, Any]:
    engine = make_engine(url)
    enqueue(engine, messages)
    with provider_process(rate) as base:
        t0 = time.perf_counter()
        procs = start_workers(url, base, workers, rate, lease=60, headroom=headroom)
        for p in procs:
            p.wait()
        wall = time.perf_counter() - t0
        s = stats_of(base)
    statuses = _status_counts(engine)
    engine.dispose()
    achieved = s["unique"] / s["span_seconds"] if s["span_seconds"] else 0.0
    out = {
        "messages": messages,
        "provider_rate": rate,
        "workers": workers,
        "client_rate_headroom": headroom,
        "wall_seconds": round(wall, 2),
        "send_span_seconds": round(s["span_seconds"], 2),
        "accepted": s["accepted"],
        "unique": s["unique"],
        "rejected_429": s["rejected"],
        "achieved_per_second": round(achieved, 1),
        "share_of_provider_rate": round(achieved / rate, 3),
        "steady_per_second": round(s["steady_per_second"], 1),
        "steady_share": round(s["steady_per_second"] / rate, 3),
        "statuses": statuses,
    }
    log(f"dispatch: {out}")
    return out


def _status_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT kind || ':' || status, count(*) FROM notice GROUP BY 1 ORDER BY 1"
        ).all()
    return {str(k): int(v) for k, v in rows}


def bench_crash(
    url: str, messages: int, rate: float, workers: int, kill_after: float, lease: float
) -> dict[str, Any]:
    engine = make_engine(url)
    enqueue(engine, messages, broadcast_share=0.2)
    with provider_process(rate) as base:
        procs = start_workers(url, base, workers, rate, lease)
        time.sleep(kill_after)
        in_flight = count(engine, "SELECT count(*) FROM notice WHERE status = 'sending'")
        for p in procs:
            os.kill(p.pid, signal.SIGKILL)
        for p in procs:
            p.wait()
        killed_at = stats_of(base)["unique"]
        log(
            f"killed {workers} dispatchers after {kill_after} s: {killed_at} accepted so far, "
            f"{in_flight} rows leased at the kill"
        )
        t0 = time.perf_counter()
        procs = start_workers(url, base, workers, rate, lease)
        for p in procs:
            p.wait()
        restart_seconds = time.perf_counter() - t0
        s = stats_of(base)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, kind, status, last_error FROM notice").all()
    engine.dispose()
    accepted = set(s["ids"])
    dups = set(s["dups"])
    report: dict[str, Any] = {
        "messages": messages,
        "workers": workers,
        "lease_seconds": lease,
        "killed_after_seconds": kill_after,
        "accepted_before_kill": killed_at,
        "leased_at_kill": in_flight,
        "restart_to_done_seconds": round(restart_seconds, 1),
    }
    for kind in ("reminder", "broadcast"):
        mine = [r for r in rows if r.kind == kind]
        sent = [r for r in mine if r.status == "sent"]
        in_doubt = [r for r in mine if r.status == "failed"]
        report[kind] = {
            "guarantee": "at-most-once" if kind == "broadcast" else "at-least-once",
            "notices": len(mine),
            "status_sent": len(sent),
            "status_failed_in_doubt": len(in_doubt),
            "in_doubt_that_did_arrive": sum(1 for r in in_doubt if r.id in accepted),
            "arrived_twice": sum(1 for r in mine if r.id in dups),
            # at-least-once: every notice must reach the provider; at-most-once: one that did
            # not must at least be flagged failed (in doubt) for staff, never silently dropped
            "lost": sum(
                1
                for r in mine
                if r.id not in accepted and (kind == "reminder" or r.status != "failed")
            ),
            "other_statuses": dict(
                Counter(r.status for r in mine if r.status not in ("sent", "failed"))
            ),
        }
    log(f"crash: {json.dumps(report, ensure_ascii=False)}")
    return report


# --- main ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "what",
        nargs="?",
        default="all",
        choices=["all", "sweep", "dispatch", "crash", "provider", "worker"],
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--day", default="2026-12-01")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--crash-messages", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--headroom",
        type=float,
        default=1.0,
        help="client-side rate limit as a multiple of the provider's (split over the workers)",
    )
    parser.add_argument("--kill-after", type=float, default=5.0)
    parser.add_argument("--lease", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--provider", default="")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--json-out", default="", help="also write the results to this file")
    args = parser.parse_args()

    if args.what == "provider":
        run_provider(args.port, args.rate)
        return
    if args.what == "worker":
        run_worker(args.database_url, args.provider, args.rate, args.lease)
        return
    if not args.database_url.startswith("postgresql"):
        parser.error("this benchmark needs PostgreSQL (--database-url postgresql+psycopg://…)")
    results: dict[str, Any] = {"machine": machine(), "command": " ".join(sys.argv)}
    with scratch_db(args.database_url, args.keep) as url:
        if args.what in ("all", "sweep"):
            results["sweep"] = bench_sweep(
                url, args.loans, args.scale, date.fromisoformat(args.day)
            )
        if args.what in ("all", "dispatch"):
            results["dispatch"] = bench_dispatch(
                url, args.messages, args.rate, args.workers, args.headroom
            )
        if args.what in ("all", "crash"):
            results["crash"] = bench_crash(
                url, args.crash_messages, args.rate, args.workers, args.kill_after, args.lease
            )
    text = json.dumps(results, ensure_ascii=False, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
