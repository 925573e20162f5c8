"""Database engine, sessions and migrations (SQLite embedded default, PostgreSQL in production)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import Session

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout for several processes."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


_SERIAL: dict[int, threading.Lock] = {}
_SERIAL_GUARD = threading.Lock()


@contextmanager
def serialized_writes(engine: Engine) -> Iterator[None]:
    """On SQLite, one write transaction of this process at a time (others wait on a lock, FIFO
    enough, instead of in SQLite's busy handler, which sleeps up to 100 ms a round and makes a
    reader that wants to write fail and retry). PostgreSQL locks rows: nothing is held here."""
    if engine.dialect.name != "sqlite":
        yield
        return
    with _SERIAL_GUARD:
        lock = _SERIAL.setdefault(id(engine), threading.Lock())
    with lock:
        yield


_WRITERS: dict[int, ThreadPoolExecutor] = {}


def writer_executor(engine: Engine) -> ThreadPoolExecutor | None:
    """Where a door runs engine transactions: on SQLite one thread per process (the writes are
    serialised anyway; a queue is cheaper than threads waking each other), elsewhere None (the
    default pool)."""
    if engine.dialect.name != "sqlite":
        return None
    with _SERIAL_GUARD:
        pool = _WRITERS.get(id(engine))
        if pool is None:
            pool = _WRITERS[id(engine)] = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        return pool


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: commits on success, rolls back on any error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision` (alembic upgrade)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.SQLAlchemyError:
        log.exception("database ping failed")
        return False
