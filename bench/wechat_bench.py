"""WeChat door benchmark: time from POST /wechat to the passive reply, against the 4 s budget.

    .venv/bin/python bench/wechat_bench.py [--rounds 20] [--database-url URL]

Runs the real app in-process (FastAPI TestClient, real engine, knowledge base and database; the
WeChat API is the local fake of tests/fakes, used for the image download). Each round is one
conversation: three FAQ questions, a full pre-check, an application, one document image, status and
人工. Done once in plaintext and once in 安全模式 (AES). Prints a Markdown table of latencies.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from core.kernel.settings import Settings  # noqa: E402
from core.persistence.db import upgrade  # noqa: E402
from server.app import create_app  # noqa: E402
from server.bootstrap import Container  # noqa: E402
from tests.fakes.wechat_api import APP_ID, APP_SECRET, FakeWechatApi  # noqa: E402
from tests.wechat_door import AES_KEY, TOKEN, Door, media_xml, text_xml  # noqa: E402

SCRIPT = [
    "失业人员能贷多少",
    "贷款需要交利息吗",
    "申请要准备哪些材料",
    "预审",
    "1",
    "1",
    "有",
    "开一家小饭馆",
    "进货和租门面",
    "没有",
    "五万",
    "两年",
    "1",
    "张三",
    "<image>",
    "进度",
    "人工",
]


def run(url: str, data_dir: Path, api: FakeWechatApi, rounds: int, encrypted: bool) -> list[float]:
    extra = {"wechat_encoding_aes_key": AES_KEY} if encrypted else {}
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        data_dir=data_dir,
        wechat_app_id=APP_ID,
        wechat_app_secret=APP_SECRET,
        wechat_token=TOKEN,
        wechat_api_base_url=api.base_url,
        scheduler_enabled=False,
        **extra,
    )
    api.media["BENCH"] = (_png(), "image/png")
    timings: list[float] = []
    with TestClient(create_app(Container(settings))) as client:
        door = Door(client, encrypted=encrypted)
        door.say("预热")  # builds the FAQ index once
        for r in range(rounds):
            openid = f"oBench{int(encrypted)}{r:022d}"
            for step in SCRIPT:
                xml = (
                    media_xml("image", "BENCH", openid=openid)
                    if step == "<image>"
                    else text_xml(step, openid=openid)
                )
                started = time.perf_counter()
                response = door.post(xml)
                timings.append(time.perf_counter() - started)
                assert response.status_code == 200 and response.text != "success", response.text
    return timings


def _png() -> bytes:
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    api = FakeWechatApi().start()
    print("| mode | messages | p50 | p95 | max | over 4 s |")
    print("|---|---:|---:|---:|---:|---:|")
    try:
        for encrypted in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                url = args.database_url or f"sqlite:///{tmp}/bench.db"
                upgrade(url)
                t = sorted(run(url, Path(tmp), api, args.rounds, encrypted))
                p95 = t[int(len(t) * 0.95) - 1]
                over = sum(1 for x in t if x > 4.0)
                print(
                    f"| {'安全模式 (AES)' if encrypted else 'plaintext'} | {len(t)} | "
                    f"{statistics.median(t) * 1000:.0f} ms | {p95 * 1000:.0f} ms | "
                    f"{t[-1] * 1000:.0f} ms | {over} |"
                )
    finally:
        api.stop()


if __name__ == "__main__":
    main()
