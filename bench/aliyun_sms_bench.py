"""Dispatch throughput through the Aliyun SMS adapter against the local fake gateway.

    .venv/bin/python bench/aliyun_sms_bench.py                       # both modes, rate 50/s
    .venv/bin/python bench/aliyun_sms_bench.py --rate 100 --messages 2000 --broadcast 20000
    --database-url sqlite:///… | postgresql+psycopg://…  (default: a scratch SQLite file)

The fake (tests/fakes/aliyun_sms.py) verifies every request's ACS3 signature and answers
`Throttling.User` above its configured QPS; SMS_RATE_PER_SECOND is set to the same rate, so the
database-shared limiter should keep the dispatcher just under it. Reported per mode: requests the
fake accepted per second between the first and the last accepted request, as a share of the
configured rate, and the number of throttled requests.

1. single: N reminder notices to N numbers, each one SendSms (the official SDK, real HTTP).
2. broadcast: M broadcast notices, sent as SendBatchSms of up to 100 numbers; the limit is on
   requests, so the numbers per second are up to 100 × the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.kernel.quiet_hours import QuietHours  # noqa: E402
from core.kernel.timeutil import utcnow  # noqa: E402
from core.outbox.dispatch import DispatchConfig, Dispatcher  # noqa: E402
from core.outbox.enqueue import enqueue_many  # noqa: E402
from core.persistence.db import make_engine, upgrade  # noqa: E402
from sms.aliyun_sender import AliyunSmsPort  # noqa: E402
from sms.aliyun_templates import load_catalog  # noqa: E402
from sms.port import SmsSender  # noqa: E402
from tests.fakes.aliyun_sms import FakeAliyunSms, RegisteredTemplate  # noqa: E402

AK, SECRET, SIGN = "LTAIbenchkey", "bench-secret", "创业担保贷款"
NO_QUIET = QuietHours.parse("00:00", "00:00")
LOAN = {"name": "张建国", "loan_no": "****0001", "seq": 3, "amount": "3,333.33元",
        "due_date": "2026年12月1日", "bank": "兰州银行"}  # fmt: skip


def fake_gateway(rate: float) -> FakeAliyunSms:
    cat = load_catalog()
    templates = {
        t.code: RegisteredTemplate(
            t.code, t.content, t.type, max(cat.limit(v) for v in t.variables)
        )
        for t in cat.templates.values()
    }
    return FakeAliyunSms({AK: SECRET}, {SIGN}, templates, qps=rate).start()


def queue(engine: Any, n: int, kind: str, offset: int) -> None:
    template, params = (
        ("staff_broadcast", {"title": "公告", "text": "本周六照常受理。"})
        if kind == "broadcast"
        else ("repay_reminder", LOAN)
    )
    rows = [
        {"key": f"bench:{kind}:{i}", "kind": kind, "channel": "sms",
         "address": f"+86139{offset + i:08d}", "text": "x", "template": template, "params": params,
         "send_after": utcnow() - timedelta(seconds=1)}
        for i in range(n)
    ]  # fmt: skip
    with engine.begin() as conn:
        from sqlmodel import Session

        with Session(bind=conn) as s:
            for start in range(0, n, 5000):
                enqueue_many(s, rows[start : start + 5000])
            s.commit()


def measure(fake: FakeAliyunSms, action: str, rate: float) -> dict[str, Any]:
    accepted = [r["t"] for r in fake.requests if r["action"] == action and not r.get("throttled")]
    throttled = sum(1 for r in fake.requests if r["action"] == action and r.get("throttled"))
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    achieved = (len(accepted) - 1) / span if span else 0.0
    return {"requests": len(accepted), "seconds": round(span, 2), "requests_per_s": round(achieved, 2),
            "share_of_rate": round(achieved / rate, 4), "throttled": throttled,
            "signature_rejections": len(fake.rejected)}  # fmt: skip


def run(mode: str, n: int, rate: float, url: str) -> dict[str, Any]:
    engine = make_engine(url)
    fake = fake_gateway(rate)
    try:
        queue(engine, n, "broadcast" if mode == "broadcast" else "reminder", 0)
        port = AliyunSmsPort(
            access_key_id=AK, access_key_secret=SECRET, sign_name=SIGN, endpoint=fake.endpoint
        )
        sender = SmsSender(port, engine, rate_per_second=rate)
        config = DispatchConfig(batch_size=200, concurrency=200 if mode == "broadcast" else 50)
        dispatcher = Dispatcher(engine, {"sms": sender}, quiet=NO_QUIET, config=config)
        started = time.monotonic()
        stats = asyncio.run(dispatcher.drain(max_batches=100_000))
        wall = time.monotonic() - started
        out = measure(fake, "SendBatchSms" if mode == "broadcast" else "SendSms", rate)
        out.update(mode=mode, notices=n, sent=stats.sent, retried=stats.retried, wall_s=round(wall, 2),
                   numbers_per_s=round(len(fake.sent) / wall, 1), configured_rate=rate)  # fmt: skip
        return out
    finally:
        fake.stop()
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("mode", nargs="?", choices=("single", "broadcast", "all"), default="all")
    ap.add_argument("--rate", type=float, default=50.0, help="fake QPS = SMS_RATE_PER_SECOND")
    ap.add_argument("--messages", type=int, default=1000, help="reminders in the single mode")
    ap.add_argument("--broadcast", type=int, default=10000, help="recipients in the broadcast mode")
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    for mode in ("single", "broadcast") if args.mode == "all" else (args.mode,):
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/bench.db"
            upgrade(url)
            n = args.messages if mode == "single" else args.broadcast
            print(json.dumps(run(mode, n, args.rate, url), ensure_ascii=False))


if __name__ == "__main__":
    main()
