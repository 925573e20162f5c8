"""Webhook throughput: signed POST /sms/inbound and POST /telegram/webhook against one uvicorn
worker (a real server process on a SQLite file), client on the same machine.

    .venv/bin/python bench/webhook_bench.py                    # 2,000 SMS + 2,000 updates, c=20
    .venv/bin/python bench/webhook_bench.py --sms 500 --telegram 0 --concurrency 20
    .venv/bin/python bench/webhook_bench.py --database-url postgresql+psycopg://u:p@host/db

SMS: each request is a fresh MessageSid from one of 500 numbers asking one of a few FAQ questions
(the engine, the FAQ and the TwiML reply all run); the figure is requests/s and the latency
percentiles of the webhook responses. Telegram: the webhook acknowledges at once (after storing
the update), so it reports the acknowledgement rate and latency, and separately how long the bot
took until the local fake Bot API had received every reply.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.live_server import (  # noqa: E402
    TELEGRAM_HEADERS,
    LiveServer,
    signed_sms,
    sms_form,
    telegram_update,
)
from tests.fakes.telegram_api import FakeBotApi  # noqa: E402

QUESTIONS = [
    "贷款额度是多少",
    "需要什么材料",
    "怎么申请创业担保贷款",
    "利息谁出",
    "期限多长",
    "你好",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_requests(
    server: LiveServer, count: int, concurrency: int, make: object
) -> tuple[float, list[float], dict[int, int]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            path, kwargs = make(i)  # type: ignore[operator]
            started = time.perf_counter()
            res = await client.post(server.url + path, **kwargs)
            latencies.append(time.perf_counter() - started)
            statuses[res.status_code] = statuses.get(res.status_code, 0) + 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, statuses


def sms_request(server: LiveServer) -> object:
    url = server.url + "/sms/inbound"

    def make(i: int) -> tuple[str, dict[str, object]]:
        form = sms_form(
            "SM" + uuid.uuid4().hex, f"+86138{i % 500:08d}", QUESTIONS[i % len(QUESTIONS)]
        )
        return "/sms/inbound", {"data": form, "headers": signed_sms(url, form)}

    return make


def telegram_request(base_update: int) -> object:
    def make(i: int) -> tuple[str, dict[str, object]]:
        update = telegram_update(base_update + i, 10_000 + i % 500, QUESTIONS[i % 6], i + 1)
        return "/telegram/webhook", {"json": update, "headers": TELEGRAM_HEADERS}

    return make


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server process (the machine may be shared: CPU per
    request is the figure that other load disturbs least)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(server: LiveServer, count: int, concurrency: int, make: object) -> tuple:
    assert server.proc is not None
    before = cpu_seconds(server.proc.pid)
    result = asyncio.run(run_requests(server, count, concurrency, make))
    return (*result, cpu_seconds(server.proc.pid) - before)


def report(
    name: str, count: int, elapsed: float, lat: list[float], st: dict[int, int], cpu: float
) -> None:
    print(
        f"{name}: {count} requests in {elapsed:.1f} s = {count / elapsed:.0f} req/s; "
        f"p50 {percentile(lat, 0.5) * 1000:.0f} ms, p99 {percentile(lat, 0.99) * 1000:.0f} ms, "
        f"mean {statistics.mean(lat) * 1000:.0f} ms; server CPU {cpu / count * 1000:.1f} ms/req; "
        f"statuses {st}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sms", type=int, default=2000)
    parser.add_argument("--telegram", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    api = FakeBotApi().start()
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp), database_url=args.database_url, telegram_api=api.base_url)
        server.extra_env["LOG_LEVEL"] = "WARNING"
        server.start()
        try:
            if args.sms:
                make = sms_request(server)
                asyncio.run(run_requests(server, args.warmup, 4, make))
                report("sms /sms/inbound", args.sms, *measured(
                    server, args.sms, args.concurrency, make
                ))  # fmt: skip
            if args.telegram:
                make = telegram_request(1_000_000)
                sent_before = len(api.sent())
                started = time.perf_counter()
                report("telegram /telegram/webhook (ack)", args.telegram, *measured(
                    server, args.telegram, args.concurrency, make
                ))  # fmt: skip
                deadline = time.monotonic() + 600
                while len(api.sent()) - sent_before < args.telegram and time.monotonic() < deadline:
                    time.sleep(0.2)
                done = len(api.sent()) - sent_before
                total = time.perf_counter() - started
                print(
                    f"telegram end to end: {done}/{args.telegram} replied in {total:.1f} s = "
                    f"{done / total:.0f} updates/s"
                )
        finally:
            server.stop()
            api.stop()


if __name__ == "__main__":
    main()
