"""Broadcasts on a real database: audiences, opt-out, confirmation, idempotent fan-out, cancel."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.broadcasts import audience as bc_audience
from core.broadcasts import commands as bc_commands
from core.broadcasts import common as bc_common
from core.broadcasts import fanout as bc_fanout
from core.broadcasts import progress as bc_progress
from core.broadcasts import texts as bc_texts
from core.kernel.quiet_hours import QuietHours
from core.kernel.timeutil import utcnow
from core.outbox.dispatch import DispatchConfig, Dispatcher
from core.outbox.senders import ConsoleSender
from core.persistence.db import session_scope
from core.persistence.models import BroadcastRow, ChannelIdentityRow, NoticeRow
from tests.staff_seed import World, seed

SMS = bc_texts.SmsCost(
    decorate=lambda t: f"【创业担保贷款】{t}\n拒收请回复R",
    segments=lambda t: 1 + len(t) // 67,
    price_per_segment_yuan=Decimal("0.05"),
)


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    return seed(engine, tmp_path / "files")


def resolve(engine: Engine, **audience: object) -> bc_audience.Resolution:
    with Session(engine) as s:
        return bc_audience.resolve(s, bc_audience.Audience.from_json(audience))


def addresses(res: bc_audience.Resolution) -> set[tuple[str, str]]:
    return {(r.channel, r.address) for r in res.recipients}


def test_audiences_and_opt_out(engine: Engine, world: World) -> None:
    everyone = resolve(engine, group="all")
    # the linked chat and the unlinked chat; the opted-out person is left out
    assert addresses(everyone) == {("telegram", "700001"), ("telegram", "700009")}
    assert everyone.opted_out == 1
    borrowers = resolve(engine, group="borrowers")
    assert addresses(borrowers) == {("sms", "+8613893100002")}  # phone on file, no identity yet
    assert borrowers.opted_out == 1
    assert addresses(resolve(engine, group="overdue")) == {("sms", "+8613893100002")}
    assert addresses(resolve(engine, group="overdue", min_overdue_days=41)) == set()
    applicants = resolve(engine, group="applicants", stages=["community_review"])
    assert addresses(applicants) == {("telegram", "700001")}
    assert addresses(resolve(engine, group="applicants", stages=["bank_review"])) == set()
    by_district = resolve(engine, group="all", districts=["城关区"])
    assert addresses(by_district) == {("telegram", "700001")}
    sms_only = resolve(engine, group="applicants", channels=["sms"])
    assert addresses(sms_only) == {("sms", "+8613893100001")}  # the applicant's phone on file
    with pytest.raises(bc_common.BroadcastError, match="渠道"):
        bc_audience.Audience.from_json({"channels": []})
    with pytest.raises(bc_common.BroadcastError, match="阶段"):
        bc_audience.Audience.from_json({"group": "applicants", "stages": ["nope"]})


def _draft(engine: Engine, actor: str = "alice", **audience: object) -> int:
    with session_scope(engine) as s:
        row = bc_commands.create_draft(
            s,
            bc_commands.Draft(
                "创业担保贷款政策调整",
                "自下月起，个人贷款额度上调。详情请咨询社区。",
                None,
                bc_audience.Audience.from_json(audience or {"group": "all"}),
            ),
            actor,
        )
        assert row.id is not None
        return row.id


def test_preview_texts_segments_and_cost(engine: Engine, world: World) -> None:
    bid = _draft(engine, group="borrowers")
    with Session(engine) as s:
        pv = bc_texts.preview(s, bc_commands.get(s, bid), SMS, threshold=2)
    assert pv.telegram_text.startswith("【政策公告】创业担保贷款政策调整")
    assert pv.sms_text.startswith("【创业担保贷款】创业担保贷款政策调整：自下月起")
    assert pv.sms_text.endswith("拒收请回复R")
    assert pv.per_channel == {"telegram": 0, "wechat": 0, "sms": 1} and pv.total == 1
    assert pv.sms_cost_yuan == Decimal("0.05") * pv.sms_segments
    assert not pv.needs_second_person


def test_second_person_above_threshold_and_idempotent_fan_out(engine: Engine, world: World) -> None:
    bid = _draft(engine, group="all", channels=["telegram", "sms"])
    with session_scope(engine) as s:
        row = bc_commands.request_send(s, bid, "alice", threshold=1)
        assert row.status == "pending_confirm" and row.audience_size == 2
    with session_scope(engine) as s, pytest.raises(bc_common.BroadcastError, match="另一位"):
        bc_commands.confirm(s, bid, "alice")
    with session_scope(engine) as s:
        assert bc_commands.confirm(s, bid, "bob").status == "fanout"
    first = bc_fanout.fan_out(engine, bid, sms=SMS, batch_size=1)
    assert first.queued == 2 and not first.stopped
    # a crashed fan-out resumed (or run twice) queues nobody twice
    with session_scope(engine) as s:
        s.execute(
            sa.update(BroadcastRow).where(col(BroadcastRow.id) == bid).values(status="fanout")
        )
    again = bc_fanout.fan_out(engine, bid, sms=SMS)
    assert again.inserted == 0 and again.queued == 2
    with Session(engine) as s:
        keys = sorted(n.key for n in s.exec(select(NoticeRow).where(NoticeRow.broadcast_id == bid)))
        assert keys == sorted(
            [f"broadcast:{bid}:{world.chat_identity}", f"broadcast:{bid}:{world.loose_identity}"]
        )
        assert bc_commands.get(s, bid).status == "queued"


def test_borrower_without_identity_gets_one_and_sends_by_sms(engine: Engine, world: World) -> None:
    bid = _draft(engine, group="overdue")
    with session_scope(engine) as s:
        assert bc_commands.request_send(s, bid, "alice", threshold=10).status == "fanout"
    bc_fanout.fan_out(engine, bid, sms=SMS)
    with Session(engine) as s:
        ident = s.exec(
            select(ChannelIdentityRow).where(ChannelIdentityRow.address == "+8613893100002")
        ).one()
        assert ident.person_id == world.phone_person and ident.channel == "sms"
        notice = s.exec(select(NoticeRow).where(NoticeRow.broadcast_id == bid)).one()
        assert notice.key == f"broadcast:{bid}:{ident.id}"
        assert notice.template == bc_common.TEMPLATE and notice.kind == "broadcast"
        assert notice.text.startswith("【创业担保贷款】") and notice.text.endswith("拒收请回复R")

    telegram, sms = ConsoleSender("telegram"), ConsoleSender("sms")
    dispatcher = Dispatcher(
        engine,
        {"telegram": telegram, "sms": sms},
        quiet=QuietHours.parse("00:00", "00:00"),
        config=DispatchConfig(idle_seconds=0.01),
    )
    asyncio.run(dispatcher.drain())
    assert [m.address for m in sms.sent] == ["+8613893100002"]
    with Session(engine) as s:
        prog = bc_progress.progress(s, bid)
        assert prog.sent == 1 and prog.finished and prog.percent == 100
        assert bc_progress.display_status(bc_commands.get(s, bid), prog) == "done"


def test_cancel_while_running_cancels_pending_notices(engine: Engine, world: World) -> None:
    bid = _draft(engine, group="all")
    with session_scope(engine) as s:
        bc_commands.request_send(s, bid, "alice", threshold=10)
    bc_fanout.fan_out(engine, bid, sms=SMS)
    with session_scope(engine) as s:
        assert bc_commands.cancel(s, bid, "bob") == 2
    with Session(engine) as s:
        prog = bc_progress.progress(s, bid)
        assert prog.cancelled == 2 and prog.queued == 0
        assert bc_commands.get(s, bid).status == "cancelled"
    with session_scope(engine) as s, pytest.raises(bc_common.BroadcastError):
        bc_commands.cancel(s, bid, "bob")
    # a fan-out that wakes up after the cancel queues nothing
    assert bc_fanout.fan_out(engine, bid, sms=SMS).stopped


def test_scheduled_broadcast_fans_out_when_due_and_stale_fan_out_resumes(
    engine: Engine, world: World
) -> None:
    bid = _draft(engine, group="all")
    later = utcnow() + timedelta(hours=2)
    with session_scope(engine) as s:
        assert bc_commands.request_send(
            s, bid, "alice", threshold=10, scheduled_at=later
        ).status == ("scheduled")
    assert bc_fanout.run_due(engine, sms=SMS) == []
    done = bc_fanout.run_due(engine, sms=SMS, now=later + timedelta(seconds=1))
    assert [r.queued for r in done] == [2]
    # a fan-out left in `fanout` by a crashed process is taken over after STALE_FANOUT
    other = _draft(engine, group="borrowers")
    with session_scope(engine) as s:
        bc_commands.request_send(s, other, "alice", threshold=10)
    assert bc_fanout.claim_due(engine) == []  # fresh: its own process is still working on it
    resumed = bc_fanout.run_due(
        engine, sms=SMS, now=utcnow() + bc_common.STALE_FANOUT + timedelta(seconds=5)
    )
    assert [(r.broadcast_id, r.queued) for r in resumed] == [(other, 1)]


def test_empty_audience_and_edit_rules(engine: Engine, world: World) -> None:
    bid = _draft(engine, group="applicants", stages=["bank_review"])
    with session_scope(engine) as s, pytest.raises(bc_common.BroadcastError, match="受众为空"):
        bc_commands.request_send(s, bid, "alice", threshold=10)
    with session_scope(engine) as s:
        row = bc_commands.update_draft(
            s,
            bid,
            bc_commands.Draft(
                "新标题", "正文", "短信正文", bc_audience.Audience.from_json({"group": "all"})
            ),
            "alice",
        )
        assert row.title == "新标题"
        bc_commands.request_send(s, bid, "alice", threshold=10)
    with session_scope(engine) as s, pytest.raises(bc_common.BroadcastError, match="草稿"):
        bc_commands.update_draft(
            s,
            bid,
            bc_commands.Draft("x", "y", None, bc_audience.Audience()),
            "alice",
        )
