"""`make fuzz`: schemathesis over /openapi.json of a real server process with an admin token,
and hypothesis over the webhook parsers. Zero 5xx is the pass condition. Not part of
`make test` (it lives outside tests/); FUZZ_EXAMPLES bounds the run (default 20 per operation).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.persistence.db import make_engine, upgrade
from tests.fakes.live_server import LiveServer
from tests.fakes.telegram_api import FakeBotApi
from tests.staff_seed import World, knowledge_copy, seed

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))


@pytest.fixture(scope="session")
def bot_api() -> Iterator[FakeBotApi]:
    fake = FakeBotApi().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def live(
    tmp_path_factory: pytest.TempPathFactory, bot_api: FakeBotApi
) -> Iterator[tuple[LiveServer, World]]:
    """A seeded database (staff with tokens, applications, loans, tickets) behind a real
    server process."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{folder / 'live.db'}"
    upgrade(url)
    engine = make_engine(url)
    world = seed(engine, folder / "documents")
    engine.dispose()
    server = LiveServer(folder, database_url=url, telegram_api=bot_api.base_url)
    server.extra_env.update(
        LOG_LEVEL="WARNING",
        DOCUMENT_DIR=str(folder / "documents"),
        KNOWLEDGE_DIR=str(knowledge_copy(folder)),  # staff FAQ additions land in the copy
        # every door configured, so each answers the fuzzer itself (an unconfigured WeChat door
        # answers 503 by design); nothing reaches a real WeChat or Aliyun server: their APIs are
        # pointed at a closed local port and no request passes the signature checks anyway
        WECHAT_APP_ID="wxfuzz",
        WECHAT_APP_SECRET="fuzz-secret",
        WECHAT_TOKEN="fuzz-token",
        WECHAT_API_BASE_URL="http://127.0.0.1:9/cgi-bin/",
        ALIYUN_SMS_PUSH_TOKEN="fuzz-push-token",
    )
    server.start()
    yield server, world
    server.stop()
    errors = [line for line in server.logs().splitlines() if "Traceback" in line]
    assert not errors, "the server logged tracebacks during the fuzz run"
