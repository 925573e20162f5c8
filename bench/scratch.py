"""The scratch database of a benchmark run, shared by the bench scripts."""

from __future__ import annotations

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
