"""Shared fixtures.

Database tests use a real database: a fresh SQLite file per test by default, or a fresh PostgreSQL
database per test when DATABASE_URL (or TEST_DATABASE_URL) is a postgresql+psycopg:// URL — CI runs
the `db` marked tests a second time that way. Any test that uses the `engine`/`db_url` fixtures is
marked `db` automatically. A guard fails any test that reaches a non-loopback host.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

import knowledge
from core.persistence.db import make_engine, upgrade
from knowledge.policy import Policy, load_policy
from tests.fakes.telegram_api import FakeBotApi
from tests.fakes.wechat_api import FakeWechatApi

PG_URL = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
USE_PG = PG_URL.startswith("postgresql")
DB_FIXTURES = {"db_url", "engine", "empty_db_url"}

# Keep jieba's cache and other writable state out of the source tree during tests.
os.environ.setdefault("CHUANGDAI_TEST", "1")
# Staff passwords hashed at the cheapest argon2 cost: every Settings() of the tests reads these
# (production defaults: 3 iterations, 64 MiB; tests/unit/test_password_cost.py checks both).
os.environ.setdefault("PASSWORD_HASH_TIME_COST", "1")
os.environ.setdefault("PASSWORD_HASH_MEMORY_KIB", "32")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


# --- the packaged knowledge ------------------------------------------------------------------


@pytest.fixture(scope="module")
def policy() -> Policy:
    """The Lanzhou 2013 policy, loaded once per test module."""
    return load_policy("lanzhou-2013")


@pytest.fixture(scope="module")
def kb(policy: Policy) -> knowledge.KnowledgeBase:
    """The packaged knowledge base under that policy, built once per test module."""
    return knowledge.KnowledgeBase.load(knowledge.PACKAGE_DIR, policy)


# --- fakes of outside services (tests/fakes), one server per test module, emptied per test -----


@pytest.fixture(scope="module")
def bot_api_server() -> Iterator[FakeBotApi]:
    server = FakeBotApi().start()
    yield server
    server.stop()


@pytest.fixture
def bot_api(bot_api_server: FakeBotApi) -> FakeBotApi:
    bot_api_server.reset()
    return bot_api_server


@pytest.fixture(scope="module")
def wechat_api_server() -> Iterator[FakeWechatApi]:
    server = FakeWechatApi().start()
    yield server
    server.stop()


@pytest.fixture
def wechat_api(wechat_api_server: FakeWechatApi) -> FakeWechatApi:
    wechat_api_server.reset()
    return wechat_api_server


# --- network guard ---------------------------------------------------------------------------

_real_connect = socket.socket.connect


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # unix sockets
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def guarded(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise RuntimeError(f"test tried to reach a non-loopback host: {address!r}")
        return _real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


# --- databases -------------------------------------------------------------------------------

# Every engine connected during a test (the test's own, a Container's, one a CLI command builds
# for itself) is disposed at the test's teardown, before its database is dropped: no pooled
# connection outlives its test (psycopg warns when one is collected while still open).
_connected: dict[int, Engine] = {}


@sa.event.listens_for(Engine, "engine_connect")
def _remember_engine(conn: sa.Connection) -> None:
    _connected.setdefault(id(conn.engine), conn.engine)


def _dispose_connected() -> None:
    while _connected:
        _, eng = _connected.popitem()
        eng.dispose()


@pytest.fixture(autouse=True)
def _engines_disposed() -> Iterator[None]:
    yield
    _dispose_connected()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dbtemplate") / "template.db"
    upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_template() -> Iterator[str]:
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"chuangdai_tmpl_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield name
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of its own for this test."""
    if USE_PG:
        template = request.getfixturevalue("_pg_template")
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        name = f"chuangdai_t_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        yield url
        _dispose_connected()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    else:
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "test.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def empty_db_url(tmp_path: Path) -> Iterator[str]:
    """An empty (unmigrated) database, for migration tests."""
    if USE_PG:
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        name = f"chuangdai_e_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        _dispose_connected()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    else:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
