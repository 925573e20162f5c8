"""Migration 0009: conversations stored with the old ad-hoc state keep going with typed state."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

import knowledge
from core.dialogue.events import InboundEvent
from core.dialogue.state import ConversationState, Flow
from core.persistence.db import downgrade, make_engine, upgrade
from core.persistence.models import ConversationRow, UTCDateTime
from knowledge.policy import load_policy
from tests.dialogue_kit import FixedCodes
from tests.dialogue_kit import make_engine as make_dialogue

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
OLD_PRECHECK = {
    "options": ["individual", "partnership", "enterprise"],
    "precheck": {"answers": {"applicant_type": "individual"}, "order": ["applicant_type"]},
    "suggestions": ["贷款利息是多少"],
    "suggestion_ids": ["interest"],
}


def test_old_rows_are_converted_and_continue(empty_db_url: str, tmp_path: Path) -> None:
    upgrade(empty_db_url, "0004")
    engine = make_engine(empty_db_url)
    # the table as revision 0004 left it (its timestamps written the way the models write them)
    conv = sa.Table(
        "conversation",
        sa.MetaData(),
        sa.Column("updated_at", UTCDateTime()),
        autoload_with=engine,
    )
    with engine.begin() as c:
        c.execute(
            conv.insert(),
            [
                {
                    "channel": "telegram",
                    "address": "1",
                    "flow": "precheck",
                    "step": "category",
                    "state": OLD_PRECHECK,
                    "version": 3,
                    "updated_at": NOW,
                },
                {
                    "channel": "telegram",
                    "address": "2",
                    "flow": "docs",
                    "step": None,
                    "state": {"docs_app": 7, "docs_item": "d02", "options": []},
                    "version": 1,
                    "updated_at": NOW,
                },
                {
                    "channel": "sms",
                    "address": "+8613800000000",
                    "flow": "apply_name",
                    "step": None,
                    "state": {},
                    "version": 1,
                    "updated_at": NOW,
                },
            ],
        )
    upgrade(empty_db_url)
    with Session(engine) as s:
        rows = {r.address: r for r in s.exec(select(ConversationRow))}
    first = ConversationState.load(rows["1"].state)
    assert first.precheck is not None and first.precheck.answers == {"applicant_type": "individual"}
    assert first.faq.suggestion_ids == ["interest"]
    docs = ConversationState.load(rows["2"].state)
    assert (docs.docs.app_id, docs.docs.item) == (7, "d02")
    assert rows["+8613800000000"].flow == Flow.APPLY and rows["+8613800000000"].step == "name"
    policy = load_policy("lanzhou-2013")
    kb = knowledge.KnowledgeBase.load(knowledge.PACKAGE_DIR, policy)
    dialogue = make_dialogue(engine, kb, policy, tmp_path, FixedCodes())
    reply = dialogue.handle(InboundEvent("telegram", "1", "m1", text="失业"))
    assert "就业失业登记证" in reply.replies[-1].text  # the converted pre-check goes on
    downgrade(empty_db_url, "0004")
    with engine.connect() as c:
        state = c.execute(sa.select(conv.c.state).where(conv.c.address == "2")).scalar_one()
        assert state["docs_app"] == 7
    engine.dispose()
