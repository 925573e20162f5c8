"""A small demo data set for `make run`: loans with schedules and counter-guarantors, a payment
history, and a demo admin account. Idempotent: loading it twice changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

from sqlmodel import select

from core.loans.importing import import_loans, import_payments
from core.persistence.db import session_scope
from core.persistence.models import StaffUserRow
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
            create_staff(
                s,
                DEMO_ADMIN,
                DEMO_PASSWORD,
                "admin",
                "演示管理员",
                actor="demo",
                hasher=container.hasher,
            )
            lines.append(f"演示管理员：用户名 {DEMO_ADMIN}  密码 {DEMO_PASSWORD}（仅用于试用）")
        else:
            lines.append("员工账号已存在，未创建演示管理员")
    lines.extend(_demo_applications(container))
    return lines


# Two applicants talk to the bot in the terminal channel; one of them is moved a stage on. CODE
# stands for the one-time code the bot sent (read from the outbox, whose SMS is then cancelled).
CODE = "<code>"
_SCRIPTS = {
    "demo-applicant-1": [
        "预审",
        "1",
        "1",
        "有",
        "开一家牛肉面馆",
        "租门面和买灶具",
        "没有",
        "5万",
        "2年",
        "1",
        "马建华",
        "13800138001",
        CODE,
        "620102198805051236",
        "城关区",
        "城关区张掖路12号",
        "下个月",
        "确认",
    ],
    "demo-applicant-2": [
        "预审",
        "1",
        "5",
        "是",
        "服装零售",
        "进货",
        "没有",
        "8万",
        "跳过",
        "1",
        "李春梅",
        "13800138002",
        CODE,
        "620103199203032223",
        "七里河区",
        "七里河区西津西路8号",
        "已开业",
        "确认",
    ],
}


def _demo_applications(container: Container) -> list[str]:
    from core.applications.lifecycle import change_stage
    from core.dialogue.events import InboundEvent
    from core.persistence.models import ApplicationRow, ChannelIdentityRow

    engine = container.dialogue
    for address, script in _SCRIPTS.items():
        for i, text in enumerate(script):
            if text == CODE:
                text = _demo_code(container, address)
            engine.handle(
                InboundEvent(
                    channel="terminal", address=address, message_id=f"{address}-{i}", text=text
                )
            )
    with session_scope(container.engine) as s:
        identity = s.exec(
            select(ChannelIdentityRow).where(ChannelIdentityRow.address == "demo-applicant-2")
        ).first()
        app = (
            s.exec(select(ApplicationRow).where(ApplicationRow.identity_id == identity.id)).first()
            if identity
            else None
        )
        if app is not None and app.stage == "draft":
            change_stage(s, app, "submitted", actor="demo")
            change_stage(s, app, "community_review", actor="demo")
    return ["演示申请：2笔（草稿1笔、社区审核中1笔），可在控制台“申请”页查看"]


def _demo_code(container: Container, address: str) -> str:
    """The code sent to a demo applicant (its SMS to the made-up number is cancelled)."""
    from core.persistence.models import NoticeRow
    from core.persistence.models_otp import OneTimeCodeRow

    with session_scope(container.engine) as s:
        code = s.exec(
            select(OneTimeCodeRow)
            .where(OneTimeCodeRow.channel == "terminal", OneTimeCodeRow.address == address)
            .order_by(OneTimeCodeRow.id.desc())  # type: ignore[union-attr]
        ).first()
        notice = (
            s.exec(select(NoticeRow).where(NoticeRow.key == f"otp:{code.id}")).first()
            if code
            else None
        )
        if notice is None:
            return ""  # already verified on an earlier load
        notice.status = "cancelled"
        s.add(notice)
        found = re.search(r"\d{6}", notice.text)
        return found.group(0) if found else ""
