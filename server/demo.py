"""A small demo data set for `make run`: loans with schedules and counter-guarantors, a payment
history, and a demo admin account. Idempotent: loading it twice changes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from core.db import session_scope
from core.importer import import_loans, import_payments
from core.models import StaffUserRow
from core.staff import create_staff
from server.bootstrap import Container

DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
DEMO_ADMIN = "admin"
DEMO_PASSWORD = "chuangdai-demo"  # printed on start; only ever created by `demo load`


def load_demo(container: Container) -> list[str]:
    lines: list[str] = []
    with session_scope(container.engine) as s:
        report = import_loans(s, DEMO_DIR / "loans.csv", actor="demo")
        lines.append(f"演示贷款：{report.summary()}")
    with session_scope(container.engine) as s:
        report = import_payments(s, DEMO_DIR / "payments.csv", actor="demo")
        lines.append(f"演示还款：{report.summary()}")
    with session_scope(container.engine) as s:
        if s.exec(select(StaffUserRow)).first() is None:
            create_staff(s, DEMO_ADMIN, DEMO_PASSWORD, "admin", "演示管理员", actor="demo")
            lines.append(f"演示管理员：用户名 {DEMO_ADMIN}  密码 {DEMO_PASSWORD}（仅用于试用）")
        else:
            lines.append("员工账号已存在，未创建演示管理员")
    return lines
