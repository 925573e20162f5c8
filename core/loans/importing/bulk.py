"""Bulk SQL of the importers: chunked key lookups and COPY/executemany inserts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import repeat
from typing import Any

import sqlalchemy as sa
from sqlalchemy import insert
from sqlalchemy.engine import Connection

from core.loans.schedule import ScheduleColumns
from core.persistence.models import (
    CounterGuarantorRow,
    InstallmentRow,
    LoanRow,
    NoticeRow,
    PaymentRow,
    PersonRow,
)
from core.persistence.sql import table

CHUNK = 5000
ProgressFn = Callable[[int, int], None]

LOAN_T = table(LoanRow)
PERSON_T = table(PersonRow)
INST_T = table(InstallmentRow)
PAY_T = table(PaymentRow)
GUAR_T = table(CounterGuarantorRow)
NOTICE_T = table(NoticeRow)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def select_in(conn: Connection, sql: str, keys: Iterable[Any]) -> list[tuple[Any, ...]]:
    """Run `sql` for chunks of distinct keys; ``{IN}`` in it stands for the key match (an
    ``IN (?, …)`` list, or ``= ANY(%s)`` with one array parameter on PostgreSQL, which plans
    far faster than thousands of parameters). Returns raw driver rows.

    Plain driver SQL: SQLAlchemy's expanding IN costs more than the query itself at these sizes.
    Raw rows carry the driver's types (on SQLite dates are ISO strings, see `as_date`).
    """
    unique = list(dict.fromkeys(keys))
    out: list[tuple[Any, ...]] = []
    if not unique:
        return out
    if conn.dialect.name == "postgresql" and conn.dialect.paramstyle in ("format", "pyformat"):
        stmt = sql.replace("{IN}", "= ANY(%s)")
        for part in chunks(unique, 4 * CHUNK):
            out.extend(conn.exec_driver_sql(stmt, (list(part),)).all())
        return out
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    for part in chunks(unique):
        stmt = sql.replace("{IN}", "IN (" + ", ".join([mark] * len(part)) + ")")
        out.extend(conn.exec_driver_sql(stmt, tuple(part)).all())
    return out


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def as_decimal(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


class Bulk:
    """Bulk inserts of plain tuples: COPY on PostgreSQL (psycopg), executemany elsewhere.

    Values go through the column types' bind processors (the same conversions SQLAlchemy applies
    to ORM writes), without building a dict per row or compiling a statement per batch.
    """

    INST_COLS = (
        "loan_id", "seq", "due_on", "principal_fen", "interest_fen", "borrower_interest_fen",
        "paid_fen", "paid",
    )  # fmt: skip

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        driver: Any = conn.connection.driver_connection
        self.copy = self.dialect.name == "postgresql" and _is_psycopg(driver)
        self.driver = driver
        self.installments = 0

    def insert(self, table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        procs = [
            (i, proc)
            for i, name in enumerate(columns)
            if (proc := table.c[name].type.dialect_impl(self.dialect).bind_processor(self.dialect))
        ]
        if procs:
            converted: list[tuple[Any, ...]] = []
            memo: dict[tuple[int, Any], Any] = {}  # timestamps etc. repeat: convert once
            for row in rows:
                values = list(row)
                for i, proc in procs:
                    value = values[i]
                    if value is not None:
                        key = (i, value)
                        out = memo.get(key, memo)
                        if out is memo:
                            out = memo[key] = proc(value)
                        values[i] = out
                converted.append(tuple(values))
            rows = converted
        cols = ", ".join(columns)
        if self.copy:
            with (
                self.driver.cursor() as cur,
                cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        style = self.dialect.paramstyle
        if style in ("qmark", "format", "pyformat"):
            mark = "?" if style == "qmark" else "%s"
            marks = ", ".join([mark] * len(columns))
            self.conn.exec_driver_sql(f"INSERT INTO {table.name} ({cols}) VALUES ({marks})", rows)
            return
        self.conn.execute(  # pragma: no cover - other drivers
            insert(table), [dict(zip(columns, row, strict=True)) for row in rows]
        )

    def insert_installments(self, schedules: Iterable[tuple[int, int, ScheduleColumns]]) -> None:
        """New unpaid instalments: (loan_id, seq of the first one, schedule)."""
        # The hot path of an import: rows are zipped in C from the (cached) schedule columns,
        # dates as ISO text on SQLite (what SQLAlchemy's Date stores there), and inserted in
        # due-date order, which keeps the due_on indexes' page accesses local (≈15% faster on
        # SQLite; the loan_id indexes stay local because a batch covers consecutive loans).
        if self.copy:
            self._copy_installments(schedules)
            return
        sqlite = self.dialect.name == "sqlite"
        iso: dict[tuple[date, ...], tuple[str, ...]] = {}
        rows: list[tuple[Any, ...]] = []
        for loan_id, first, plan in schedules:
            n = len(plan.due_on)
            if sqlite:
                days = iso.get(plan.due_on)
                if days is None:
                    days = iso[plan.due_on] = tuple(d.isoformat() for d in plan.due_on)
                rows.extend(
                    zip(
                        repeat(loan_id, n),
                        range(first, first + n),
                        days,
                        plan.principal_fen,
                        plan.interest_fen,
                        plan.borrower_interest_fen,
                        strict=True,
                    )
                )
            else:
                rows.extend(
                    zip(
                        repeat(loan_id, n),
                        range(first, first + n),
                        plan.due_on,
                        plan.principal_fen,
                        plan.interest_fen,
                        plan.borrower_interest_fen,
                        repeat(0, n),
                        repeat(False, n),
                        strict=True,
                    )
                )
        if not rows:
            return
        self.installments += len(rows)
        rows.sort(key=_due_key)
        if sqlite:
            self.conn.exec_driver_sql(
                f"INSERT INTO installment ({', '.join(self.INST_COLS)})"
                " VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
                rows,
            )
            return
        self.insert(INST_T, self.INST_COLS, rows)

    def _copy_installments(self, schedules: Iterable[tuple[int, int, ScheduleColumns]]) -> None:
        """COPY new instalments as preformatted text (PostgreSQL + psycopg).

        Every value is an integer, a date or a boolean, so the text format needs no escaping.
        The lines of a schedule without the loan id are built once per distinct schedule (the
        cached columns of core.loans.schedule are shared between loans with the same terms); a loan's
        rows are then one str.join. Far cheaper than `Copy.write_row` per instalment, and the
        server parses COPY text faster than it plans anything else.
        """
        # Text of "seq<TAB>due" per (due dates, first seq) and of the amounts per amount columns,
        # keyed by the ids of the (cached, shared) column tuples; the values keep the tuples
        # alive, so the ids stay unique while the memo lives.
        dues: dict[tuple[int, int], tuple[tuple[date, ...], list[str]]] = {}
        amounts: dict[tuple[int, int, int], tuple[ScheduleColumns, list[str]]] = {}
        parts: list[str] = []
        count = 0
        for loan_id, first, plan in schedules:
            dkey = (id(plan.due_on), first)
            dhit = dues.get(dkey)
            if dhit is None:
                dhit = dues[dkey] = (
                    plan.due_on,
                    [f"{seq}\t{due.isoformat()}" for seq, due in enumerate(plan.due_on, first)],
                )
            akey = (id(plan.principal_fen), id(plan.interest_fen), id(plan.borrower_interest_fen))
            ahit = amounts.get(akey)
            if ahit is None:
                ahit = amounts[akey] = (
                    plan,
                    [
                        f"{p}\t{i}\t{b}\t0\tf\n"
                        for p, i, b in zip(
                            plan.principal_fen,
                            plan.interest_fen,
                            plan.borrower_interest_fen,
                            strict=True,
                        )
                    ],
                )
            parts.extend(
                [f"{loan_id}\t{sd}\t{am}" for sd, am in zip(dhit[1], ahit[1], strict=True)]
            )
            count += len(plan.due_on)
        if not count:
            return
        self.installments += count
        cols = ", ".join(self.INST_COLS)
        with (
            self.driver.cursor() as cur,
            cur.copy(f"COPY installment ({cols}) FROM STDIN") as copy,
        ):
            for start in range(0, len(parts), 20000):
                copy.write("".join(parts[start : start + 20000]))


def _due_key(row: tuple[Any, ...]) -> Any:
    return row[2]


def _is_psycopg(driver: Any) -> bool:
    return type(driver).__module__.startswith("psycopg")
