"""The scratch database of a benchmark run, shared by the bench scripts."""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url


@contextmanager
def scratch_database(
    url: str | None, workdir: Path | None = None, *, suffix: str | None = None, keep: bool = False
) -> Iterator[str]:
    """A database of its own for one run: without `url`, a SQLite file in `workdir`; else a
    PostgreSQL database created next to `url`'s (named `<database>_<suffix>` and dropped first
    when a suffix is given, else a random name) and dropped afterwards unless `keep`."""
    if url is None:
        assert workdir is not None
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    base = make_url(url)
    name = f"{base.database}_{suffix}" if suffix else f"chuangdai_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def bench_parser(doc: str | None, size_flag: str, default: int) -> argparse.ArgumentParser:
    """The options of a bench run on SQLite and, with --database-url, on PostgreSQL."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument(size_flag, type=int, default=default)
    parser.add_argument(
        "--database-url", default=None, help="postgresql+psycopg://… (SQLite is always run)"
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    return parser


def scratch_urls(args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    """The scratch database of each run the options ask for (SQLite, then PostgreSQL), each
    dropped when the caller moves on to the next."""
    if not args.skip_sqlite:
        with scratch_database(None, workdir) as url:
            yield url
    if args.database_url:
        with scratch_database(args.database_url, workdir) as url:
            yield url
