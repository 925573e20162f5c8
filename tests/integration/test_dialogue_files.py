"""A file received in a message is deleted only once its transaction has failed for good; a file it
replaced only after the commit."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import knowledge
from core.dialogue.events import Attachment
from core.persistence.models import DocumentItemRow
from knowledge.policy import Policy, load_policy
from tests.dialogue_kit import KNOWLEDGE, FixedCodes, User, id_number, make_engine, png


@pytest.fixture(scope="module")
def kb() -> knowledge.KnowledgeBase:
    return knowledge.KnowledgeBase.load(KNOWLEDGE, load_policy("lanzhou-2013"))


def stored(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*") if p.is_file()}


def with_application(engine: Engine, kb: knowledge.KnowledgeBase, tmp_path: Path) -> User:
    policy: Policy = load_policy("lanzhou-2013")
    user = User(make_engine(engine, kb, policy, tmp_path, FixedCodes()))
    for text in ("预审", "个人", "失业", "有", "开一家小饭馆", "进货", "没有", "5万", "2年", "1"):
        user.say(text)
    user.say("张三")
    user.say(contact_phone="+8613912340001")
    for text in (id_number("62010219900101123"), "1", "跳过", "已开业", "确认"):
        user.say(text)
    return user


def fail_conversation_updates(engine: Engine, on: bool) -> None:
    """A trigger that makes every conversation update fail (an integrity error), or none."""
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as c:
        c.execute(sa.text("DROP TRIGGER IF EXISTS conv_fail" + (" ON conversation" if pg else "")))
        if not on:
            return
        if pg:
            c.execute(
                sa.text(
                    "CREATE OR REPLACE FUNCTION conv_fail() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'storage failure' USING ERRCODE = '23000'; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            c.execute(
                sa.text(
                    "CREATE TRIGGER conv_fail BEFORE UPDATE ON conversation "
                    "FOR EACH ROW EXECUTE FUNCTION conv_fail()"
                )
            )
        else:
            c.execute(
                sa.text(
                    "CREATE TRIGGER conv_fail BEFORE UPDATE ON conversation "
                    "BEGIN SELECT RAISE(ABORT, 'storage failure'); END"
                )
            )


def test_failed_transaction_removes_its_file_and_keeps_the_replaced_one(
    engine: Engine, kb: knowledge.KnowledgeBase, tmp_path: Path
) -> None:
    user = with_application(engine, kb, tmp_path)
    root = tmp_path / "docs"
    assert "已收到第1项" in user.text(attachments=(Attachment(data=png(1)),))
    first = stored(root)
    assert len(first) == 1
    user.say("1")  # choose item 1 again: the next file replaces it
    fail_conversation_updates(engine, True)
    with pytest.raises(sa.exc.IntegrityError):
        user.say(attachments=(Attachment(data=png(2)),))
    assert stored(root) == first  # the new file is gone, the old one was never touched
    with Session(engine) as s:
        item = s.exec(select(DocumentItemRow).where(DocumentItemRow.code == "d01")).one()
        assert item.storage_key in first
    fail_conversation_updates(engine, False)
    user.say("1")
    assert "替换第1项" in user.text(attachments=(Attachment(data=png(3)),))
    after = stored(root)
    assert len(after) == 1 and after != first  # replaced file deleted after the commit
