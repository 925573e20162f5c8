"""Whole conversations through the terminal door (`chuangdai chat --json`, lines on stdin):
pre-check → application intake → documents → submit → status → hand-off, in Chinese, for an
individual, a partnership and an enterprise. The one-time code is read where a person would get
it: the SMS, which the console sender shows on standard error."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

import knowledge
import server.cli_chat  # registers `chat`
import server.cli_dialogue  # noqa: F401  (a second command: `chat` stays a sub-command)
from core.kernel.settings import Settings
from core.persistence.models import ApplicationRow, HandoffTicketRow, PersonRow
from server.bootstrap import Container
from server.cli import app as cli
from tests.cli_kit import ContainerRunner
from tests.dialogue_kit import id_number, png

ID_1 = id_number("62010219900101123")
ID_2 = id_number("62010219850505441")
ID_3 = id_number("62010219790909662")


@pytest.fixture
def container(db_url: str, tmp_path: Path, kb: knowledge.KnowledgeBase) -> Iterator[Container]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=db_url,
        data_dir=tmp_path,
        scheduler_enabled=False,
        max_upload_mb=1,
    )
    c = Container(settings)
    c.__dict__["kb"] = kb  # the module's knowledge base (built once for all tests here)
    yield c


class Chat:
    def __init__(self, address: str, files: Path, container: Container) -> None:
        self.address, self.files, self.container = address, files, container
        self.replies: list[dict[str, Any]] = []
        self.sms: list[str] = []

    def run(self, *lines: str) -> list[dict[str, Any]]:
        result = ContainerRunner(self.container).invoke(
            cli,
            ["chat", "--json", "--address", self.address],
            input="\n".join(lines) + "\n",
        )
        assert result.exit_code == 0, result.output
        replies = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        for r in replies:
            assert set(r) >= {"text", "options"} and isinstance(r["options"], list)
        self.replies += replies
        self.sms += [line for line in result.stderr.splitlines() if line.startswith("[短信")]
        return replies

    def code(self) -> str:
        found = re.search(r"验证码(\d{6})", self.sms[-1])
        assert found, self.sms
        return found.group(1)

    def attach_all(self, count: int, seed: int) -> list[str]:
        lines = []
        for i in range(count):
            path = self.files / f"{self.address}-{i}.png"
            path.write_bytes(png(seed + i))
            lines.append(f"/attach {path}")
        return lines


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in replies)


def finish(chat: Chat, docs: int, total: int, seed: int) -> None:
    """The rest of the documents, submit, status and hand-off: the same for every type."""
    replies = chat.run(
        *chat.attach_all(docs, seed), "提交", "进度", "人工", "我想问问什么时候能办好"
    )
    out = texts(replies)
    assert f"已收 {total}/{total} 项" in out and "材料已全部收到" in out
    assert "申请已提交" in out and "已提交，等待社区受理" in out
    assert "工单号 " in out


def test_individual_transcript(container: Container, tmp_path: Path) -> None:
    chat = Chat("term-ind", tmp_path, container)
    first = chat.run(
        "预审", "1", "1", "有", "开一家牛肉面馆", "租门面和买设备", "没有", "5万", "2年"
    )
    result = texts(first)
    assert "初步符合申请条件" in result and "第十四条" in result
    assert first[-1]["options"] == ["开始申请并提交材料", "重新预审"]
    intake = texts(chat.run("1", "张三", "13912340001"))
    assert "验证码已通过短信发送到 +86139****0001" in intake
    summary = texts(chat.run(chat.code(), ID_1, "1", "城关区张掖路1号", "2027年3月"))
    assert "手机号已验证" in summary and "620102********" + ID_1[-4:] in summary
    assert "经营项目：开一家牛肉面馆" in summary and "开业时间：2027年3月" in summary
    docs = chat.run("修改 经营地址", "城关区张掖路2号", "确认")
    assert "张掖路2号" in texts(docs) and "已收 0/5 项" in docs[-1]["text"]
    dup = texts(chat.run(*chat.attach_all(1, 40), *chat.attach_all(1, 40)))
    assert "已作为第1项" in dup
    bad = tmp_path / "virus.exe"
    bad.write_bytes(b"MZ\x90\x00 not an image")
    big = tmp_path / "big.png"
    big.write_bytes(png(99) + b"0" * (2 * 1024 * 1024))
    refused = texts(chat.run(f"/attach {bad}", f"/attach {big}"))
    assert "只接收 jpg、png 图片或 PDF" in refused and "文件超过1MB" in refused
    finish(chat, 4, 5, 50)
    with Session(container.engine) as s:
        app = s.exec(select(ApplicationRow)).one()
        assert app.stage == "submitted" and app.district == "城关区"
        assert app.business_address == "城关区张掖路2号" and app.planned_start == "2027-03"
        person = s.exec(select(PersonRow)).one()
        assert person.phone == "+8613912340001" and person.id_number == ID_1
        assert s.exec(select(HandoffTicketRow)).one().channel == "terminal"


def test_partnership_transcript(container: Container, tmp_path: Path) -> None:
    chat = Chat("term-par", tmp_path, container)
    first = chat.run("预审", "2", "大学生", "有", "开农家乐", "装修", "不清楚", "3", "随便")
    out = texts(first)
    assert "人民银行征信中心" in out  # 不清楚 at the credit question is unknown, explained
    assert "最高30万元，按最高额度预审可以吗？" in out
    result = texts(chat.run("是", "2年"))
    assert "初步符合" in result and "征信情况未确认" in result
    chat.run("1", "李明", "13912340002")
    summary = texts(chat.run(chat.code(), ID_2, "安宁区", "跳过", "已开业", "王强、赵敏"))
    assert "合伙人：王强、赵敏" in summary and "经营地址：（未填）" in summary
    assert "符合条件合伙人3人" in summary and "申请金额：30万元" in summary
    assert "已收 0/5 项" in texts(chat.run("1"))
    finish(chat, 5, 5, 60)
    with Session(container.engine) as s:
        app = s.exec(select(ApplicationRow)).one()
        assert app.applicant_type == "partnership" and app.district == "安宁区"
        assert app.profile["member_names"] == ["王强", "赵敏"]
        assert app.profile["bad_credit"] is None and app.requested_amount_fen == 30_000_000


def test_enterprise_transcript(container: Container, tmp_path: Path) -> None:
    chat = Chat("term-ent", tmp_path, container)
    first = chat.run(
        "预审", "3", "服装加工", "买缝纫设备", "没有", "50", "20", "一年", "0", "100万", "两年"
    )
    out = texts(first)
    assert "金额需大于0" in out and "初步符合" in out
    chat.run("1", "陈经理", "13912340003")
    summary = texts(
        chat.run(chat.code(), ID_3, "12", "8", "西固区福利路8号", "下个月", "兰州陈氏服装有限公司")
    )
    assert "请回复列表中的序号" in summary  # 12 is not in the list of 11 districts
    assert "区县：榆中县" in summary  # 8
    finish_summary = texts(chat.run("修改 区县", "9"))
    assert "区县：兰州新区" in finish_summary
    assert "企业名称：兰州陈氏服装有限公司" in finish_summary
    assert "现有职工50人" in finish_summary
    assert "已收 0/20 项" in texts(chat.run("确认"))
    finish(chat, 20, 20, 70)
    with Session(container.engine) as s:
        app = s.exec(select(ApplicationRow)).one()
        assert app.company_name == "兰州陈氏服装有限公司" and app.district == "兰州新区"
