"""Policy announcements (政策公告群发): audience, preview, confirmation, fan-out, progress, cancel.

Life of a broadcast (`BroadcastRow.status`):

    draft ─send─▶ pending_confirm ─confirm (another officer or admin)─▶ scheduled ─due─▶ fanout
      └─send, audience ≤ BROADCAST_CONFIRM_THRESHOLD─▶ scheduled (a time given) or fanout (now)
    fanout ─every recipient queued─▶ queued (shown as “done” once nothing is left to send)
    any of them ─cancel─▶ cancelled (the notices still pending are cancelled too)

- The audience is resolved when the fan-out runs (a scheduled broadcast reaches the people who
  are subscribed at that time). Opted-out people are always left out; so are unreachable
  addresses. A person gets one message: on Telegram or WeChat when they linked a verified chat
  (and that channel is among the chosen ones; Telegram first), else by SMS to the number on file.
- Fan-out writes one outbox row per recipient with the key ``broadcast:<id>:<identity id>`` in
  batches, each in its own transaction (the outbox's ON CONFLICT (key) DO NOTHING insert, done as
  INSERT … SELECT from a staging table for speed). A fan-out that dies half way is resumed from
  the start (`claim_due` takes over a fan-out that stopped moving) and only inserts what is
  missing, so nobody is queued twice; the dispatcher sends broadcasts at most once and at each
  channel's rate limit. A number on file without an SMS identity gets one first (linked to its
  person, as the dialogue engine does for a number that writes in: on SMS the number is the proof).
- Progress is counted from the notices' statuses; cancelling cancels the notices still pending
  (the few already handed to a sender go out).

SMS specifics (signature, unsubscribe hint, segment count, price) are not known to `core`: the
composition root passes an `SmsCost` built from `sms.templates` and `sms.segments`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from core.applications import STAGE_LABELS
from core.audit import audit
from core.db import session_scope
from core.errors import Conflict, Invalid, NotFound
from core.identity import IdentityError, is_mobile, normalize_phone
from core.loan_status import overdue_clause
from core.models import (
    ApplicationRow,
    BroadcastRow,
    ChannelIdentityRow,
    InstallmentRow,
    LoanRow,
    NoticeRow,
    PersonRow,
    Stage,
    UTCDateTime,
)
from core.notice_templates import render
from core.timeutil import local_today, utcnow

log = logging.getLogger(__name__)

TEMPLATE = "staff_broadcast"
KIND = "broadcast"
CHANNELS: tuple[str, ...] = ("telegram", "wechat", "sms")
CHAT_CHANNELS: tuple[str, ...] = ("telegram", "wechat")  # linked chats, preferred in this order
CHANNEL_LABELS = {"telegram": "Telegram", "wechat": "微信", "sms": "短信"}
GROUPS: dict[str, str] = {
    "all": "全部订阅用户",
    "applicants": "申请人（按阶段）",
    "borrowers": "在贷借款人",
    "overdue": "逾期借款人",
}
STATUS_LABELS: dict[str, str] = {
    "draft": "草稿",
    "pending_confirm": "待第二人确认",
    "scheduled": "已定时",
    "fanout": "正在排队",
    "queued": "发送中",
    "done": "已完成",
    "cancelled": "已取消",
}
OPEN_STATUSES = ("draft", "pending_confirm", "scheduled", "fanout", "queued")
ERR_CANCELLED = "群发已取消"
BATCH = 20_000
STALE_FANOUT = timedelta(minutes=2)
_E164_MIN, _E164_MAX = 8, 16


class BroadcastError(Conflict):
    """A broadcast operation that cannot be done; the message is Chinese."""


class BroadcastNotFound(NotFound, BroadcastError):
    """No broadcast with that id."""


class BroadcastInvalid(Invalid, BroadcastError):
    """A bad audience, title, body or SMS text."""


# --- audience ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """Who receives a broadcast: a group, narrowed by stages, districts and channels."""

    group: str = "all"
    stages: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    channels: tuple[str, ...] = CHANNELS
    min_overdue_days: int = 1

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Audience:
        """Validate a JSON audience (Chinese BroadcastError on bad input)."""
        data = dict(data or {})
        group = str(data.get("group") or "all")
        if group == "subscribers":  # drafts made in the staff Telegram chat
            group = "all"
        if group not in GROUPS:
            raise BroadcastInvalid(f"未知的受众类型：{group}")
        stages = tuple(dict.fromkeys(str(s) for s in (data.get("stages") or ())))
        known = {s.value for s in Stage}
        bad = [s for s in stages if s not in known]
        if bad:
            raise BroadcastInvalid(f"未知的申请阶段：{'、'.join(bad)}")
        districts = tuple(
            dict.fromkeys(
                str(d).strip()[:64] for d in (data.get("districts") or ()) if str(d).strip()
            )
        )
        raw_channels = data.get("channels")
        wanted = set(CHANNELS if raw_channels is None else raw_channels)
        channels = tuple(c for c in CHANNELS if c in wanted)
        if not channels:
            raise BroadcastInvalid("请至少选择一个发送渠道（Telegram 或短信）")
        try:
            min_days = int(data.get("min_overdue_days") or 1)
        except (TypeError, ValueError) as exc:
            raise BroadcastInvalid("逾期天数必须是正整数") from exc
        if min_days < 1:
            raise BroadcastInvalid("逾期天数必须是正整数")
        return cls(group, stages if group == "applicants" else (), districts, channels, min_days)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"group": self.group, "channels": list(self.channels)}
        if self.stages:
            out["stages"] = list(self.stages)
        if self.districts:
            out["districts"] = list(self.districts)
        if self.group == "overdue":
            out["min_overdue_days"] = self.min_overdue_days
        return out

    def describe(self) -> str:
        """One line in Chinese, e.g. “逾期借款人（逾期≥30天）；区县：城关区；渠道：短信”."""
        text = GROUPS[self.group]
        if self.group == "applicants" and self.stages:
            text = "申请人：" + "、".join(STAGE_LABELS.get(s, s) for s in self.stages)
        if self.group == "overdue" and self.min_overdue_days > 1:
            text += f"（逾期≥{self.min_overdue_days}天）"
        if self.districts:
            text += "；区县：" + "、".join(self.districts)
        return text + "；渠道：" + "、".join(CHANNEL_LABELS[c] for c in self.channels)


@dataclass(frozen=True)
class Recipient:
    channel: str
    address: str
    identity_id: int | None  # None: an SMS number on file without an identity row yet
    person_id: int | None


@dataclass
class Resolution:
    """The recipients of an audience and who was left out, and why."""

    recipients: list[Recipient] = field(default_factory=list)
    opted_out: int = 0
    unreachable: int = 0
    no_address: int = 0  # nobody to reach on the chosen channels

    def per_channel(self) -> dict[str, int]:
        out = dict.fromkeys(CHANNELS, 0)
        for r in self.recipients:
            out[r.channel] = out.get(r.channel, 0) + 1
        return out


def _t(model: Any) -> sa.Table:
    table: sa.Table = model.__table__
    return table


_CI, _P, _A, _L, _I = (
    _t(ChannelIdentityRow),
    _t(PersonRow),
    _t(ApplicationRow),
    _t(LoanRow),
    _t(InstallmentRow),
)


def _person_ids(audience: Audience, today: date) -> Any | None:
    """A SELECT of the person ids in the audience (None: the group has no person targets)."""
    d = list(audience.districts)
    if audience.group == "all":
        stmt = sa.select(_CI.c.person_id).where(
            _CI.c.person_id.is_not(None), _CI.c.channel.in_(list(CHANNELS))
        )
        if d:
            stmt = stmt.where(_CI.c.person_id.in_(sa.select(_P.c.id).where(_P.c.district.in_(d))))
        return stmt
    if audience.group == "applicants":
        stmt = sa.select(_A.c.person_id).where(_A.c.person_id.is_not(None))
        if audience.stages:
            stmt = stmt.where(_A.c.stage.in_(list(audience.stages)))
        if d:
            stmt = stmt.where(
                sa.or_(
                    _A.c.district.in_(d),
                    _A.c.person_id.in_(sa.select(_P.c.id).where(_P.c.district.in_(d))),
                )
            )
        return stmt
    stmt = sa.select(_L.c.borrower_id).where(_L.c.status == "active")
    if audience.group == "overdue":
        cutoff = today - timedelta(days=audience.min_overdue_days)
        stmt = stmt.where(
            sa.exists().where(_I.c.loan_id == _L.c.id, overdue_clause(_I, cutoff + timedelta(1)))
        )
    if d:
        stmt = stmt.where(
            sa.or_(
                _L.c.district.in_(d),
                _L.c.borrower_id.in_(sa.select(_P.c.id).where(_P.c.district.in_(d))),
            )
        )
    return stmt


def _loose_identity_ids(audience: Audience) -> Any | None:
    """A SELECT of identity ids targeted directly (chats not linked to a person)."""
    if audience.districts:
        return None  # an unlinked chat has no district
    if audience.group == "all":
        return sa.select(_CI.c.id).where(
            _CI.c.person_id.is_(None), _CI.c.channel.in_(list(audience.channels))
        )
    if audience.group == "applicants":
        stmt = sa.select(_A.c.identity_id).where(
            _A.c.person_id.is_(None), _A.c.identity_id.is_not(None)
        )
        if audience.stages:
            stmt = stmt.where(_A.c.stage.in_(list(audience.stages)))
        return stmt
    return None


_IDENT_COLS = (
    _CI.c.id,
    _CI.c.person_id,
    _CI.c.channel,
    _CI.c.address,
    _CI.c.verified,
    _CI.c.opted_out,
    _CI.c.unreachable,
)


def _e164(phone: str | None) -> str | None:
    """The person's number as an SMS address, or None (a landline never receives SMS)."""
    if not phone:
        return None
    phone = phone.strip()
    if not (phone.startswith("+") and phone[1:].isdigit() and _E164_MIN <= len(phone) <= _E164_MAX):
        try:
            phone = normalize_phone(phone)
        except IdentityError:
            return None
    return phone if is_mobile(phone) else None


def resolve(session: Session, audience: Audience, today: date | None = None) -> Resolution:
    """The recipients of `audience` now (reads only).

    Written for large audiences: three set-based queries, then one pass over plain tuples
    (100,000 people resolve in about a second)."""
    today = today or local_today()
    res = Resolution()
    seen: set[tuple[str, str]] = set()
    out = res.recipients
    want_sms = "sms" in audience.channels
    want_chats = [c for c in CHAT_CHANNELS if c in audience.channels]

    persons = _person_ids(audience, today)
    if persons is not None:
        people = session.execute(
            sa.select(_P.c.id, _P.c.phone).where(_P.c.id.in_(persons)).order_by(_P.c.id)
        ).all()
        opted: set[int] = set()
        chat: dict[tuple[str, int], tuple[int, str]] = {}  # newest verified reachable chat
        dead_chat: set[tuple[str, int]] = set()
        own_sms: dict[int, tuple[int, str]] = {}  # an SMS identity linked to the person
        dead_sms: set[int] = set()
        for iid, pid, channel, address, verified, opted_out, unreachable in session.execute(
            sa.select(*_IDENT_COLS).where(_CI.c.person_id.in_(persons))
        ).all():
            if opted_out:
                opted.add(pid)
            elif channel in CHAT_CHANNELS and verified:
                if unreachable:
                    dead_chat.add((channel, pid))
                elif (channel, pid) not in chat or iid > chat[(channel, pid)][0]:
                    chat[(channel, pid)] = (iid, address)
            elif channel == "sms":
                if unreachable:
                    dead_sms.add(pid)
                elif pid not in own_sms or iid > own_sms[pid][0]:
                    own_sms[pid] = (iid, address)
        by_phone: dict[str, tuple[int, bool, bool]] = {
            str(address): (int(iid), bool(opted_out), bool(unreachable))
            for iid, address, opted_out, unreachable in session.execute(
                sa.select(_CI.c.id, _CI.c.address, _CI.c.opted_out, _CI.c.unreachable).where(
                    _CI.c.channel == "sms",
                    _CI.c.address.in_(
                        sa.select(_P.c.phone).where(_P.c.id.in_(persons), _P.c.phone.is_not(None))
                    ),
                )
            ).all()
        }
        for pid, raw_phone in people:
            phone = _e164(raw_phone)
            on_file = by_phone.get(phone) if phone else None
            if pid in opted or (on_file is not None and on_file[1]):
                res.opted_out += 1
                continue
            found: tuple[str, str, int | None] | None = None
            for ch in want_chats:
                if (ch, pid) in chat:
                    iid, address = chat[(ch, pid)]
                    found = (ch, address, iid)
                    break
            if found is None and want_sms:
                if on_file is not None:
                    if not on_file[2]:
                        found = ("sms", str(phone), on_file[0])
                elif phone:
                    found = ("sms", phone, None)
                elif pid in own_sms:
                    iid, address = own_sms[pid]
                    found = ("sms", address, iid)
            if found is None:
                dead = any((ch, pid) in dead_chat for ch in want_chats) or (
                    want_sms and (pid in dead_sms or (on_file is not None and on_file[2]))
                )
                if dead:
                    res.unreachable += 1
                else:
                    res.no_address += 1
                continue
            key = (found[0], found[1])
            if key not in seen:
                seen.add(key)
                out.append(Recipient(found[0], found[1], found[2], pid))
    loose = _loose_identity_ids(audience)
    if loose is not None:
        for iid, pid, channel, address, _verified, opted_out, unreachable in session.execute(
            sa.select(*_IDENT_COLS).where(_CI.c.id.in_(loose)).order_by(_CI.c.id)
        ).all():
            if channel not in audience.channels:
                res.no_address += 1
            elif opted_out:
                res.opted_out += 1
            elif unreachable:
                res.unreachable += 1
            elif (channel, address) not in seen:
                seen.add((channel, address))
                out.append(Recipient(str(channel), str(address), int(iid), pid))
    return res


# --- texts and preview ------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsCost:
    """What `core` needs to know about SMS for a preview (built by the composition root)."""

    decorate: Callable[[str], str]  # signature + unsubscribe hint, exactly as the sender adds them
    segments: Callable[[str], int]
    price_per_segment_yuan: Decimal
    encoding: Callable[[str], str] = lambda _text: ""


def _params(row: BroadcastRow, channel: str) -> dict[str, str]:
    text = row.body if channel in CHAT_CHANNELS else sms_body_of(row)
    return {"title": row.title, "text": text}


def sms_body_of(row: BroadcastRow) -> str:
    """The SMS text before signature and hint: the SMS version, else the title and the body."""
    if row.sms_body and row.sms_body.strip():
        return row.sms_body.strip()
    return f"{row.title}：{row.body}".strip()


def telegram_text(row: BroadcastRow) -> str:
    return render(TEMPLATE, "telegram", _params(row, "telegram"))


def sms_text(row: BroadcastRow, sms: SmsCost | None = None) -> str:
    """The SMS as sent (with signature and unsubscribe hint when `sms` is given)."""
    text = render(TEMPLATE, "sms", _params(row, "sms"))
    return sms.decorate(text) if sms is not None else text


@dataclass(frozen=True)
class Preview:
    telegram_text: str
    sms_text: str
    sms_chars: int
    sms_encoding: str
    sms_segments: int
    per_channel: dict[str, int]
    total: int
    sms_total_segments: int
    sms_cost_yuan: Decimal
    opted_out: int
    unreachable: int
    no_address: int
    threshold: int
    needs_second_person: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "telegram_text": self.telegram_text,
            "sms_text": self.sms_text,
            "sms_chars": self.sms_chars,
            "sms_encoding": self.sms_encoding,
            "sms_segments": self.sms_segments,
            "audience": {"total": self.total, **self.per_channel},
            "sms_total_segments": self.sms_total_segments,
            "sms_cost_yuan": str(self.sms_cost_yuan),
            "excluded": {
                "opted_out": self.opted_out,
                "unreachable": self.unreachable,
                "no_address": self.no_address,
            },
            "threshold": self.threshold,
            "needs_second_person": self.needs_second_person,
        }


def preview(
    session: Session, row: BroadcastRow, sms: SmsCost, threshold: int, today: date | None = None
) -> Preview:
    """Both texts, SMS segments and cost, and the audience size per channel (reads only)."""
    res = resolve(session, Audience.from_json(row.audience), today)
    per = res.per_channel()
    text = sms_text(row, sms)
    segments = sms.segments(text)
    total = len(res.recipients)
    return Preview(
        telegram_text=telegram_text(row),
        sms_text=text,
        sms_chars=len(text),
        sms_encoding=sms.encoding(text),
        sms_segments=segments,
        per_channel=per,
        total=total,
        sms_total_segments=segments * per.get("sms", 0),
        sms_cost_yuan=(sms.price_per_segment_yuan * segments * per.get("sms", 0)).quantize(
            Decimal("0.01")
        ),
        opted_out=res.opted_out,
        unreachable=res.unreachable,
        no_address=res.no_address,
        threshold=threshold,
        needs_second_person=total > threshold,
    )


# --- commands -----------------------------------------------------------------------------------


def _snapshot(row: BroadcastRow) -> dict[str, Any]:
    return {
        "title": row.title,
        "status": row.status,
        "audience": row.audience,
        "audience_size": row.audience_size,
        "scheduled_at": row.scheduled_at.isoformat() if row.scheduled_at else None,
    }


def _clean_texts(title: str, body: str, sms_body: str | None) -> tuple[str, str, str | None]:
    title, body = title.strip(), body.strip()
    if not title:
        raise BroadcastInvalid("请填写公告标题")
    if len(title) > 200:
        raise BroadcastInvalid("标题不能超过200字")
    if not body:
        raise BroadcastInvalid("请填写公告正文")
    if len(body) > 3500:
        raise BroadcastInvalid("正文不能超过3500字（Telegram 单条消息上限约4096字符）")
    sms = (sms_body or "").strip() or None
    if sms is not None and len(sms) > 500:
        raise BroadcastInvalid("短信内容不能超过500字")
    return title, body, sms


def create_draft(
    session: Session,
    *,
    title: str,
    body: str,
    sms_body: str | None,
    audience: Audience,
    actor: str,
) -> BroadcastRow:
    title, body, sms = _clean_texts(title, body, sms_body)
    row = BroadcastRow(
        title=title,
        body=body,
        sms_body=sms,
        audience=audience.to_json(),
        status="draft",
        created_by=actor,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "broadcast.create", "broadcast", row.id, after=_snapshot(row))
    return row


def get(session: Session, broadcast_id: int) -> BroadcastRow:
    row = session.get(BroadcastRow, broadcast_id)
    if row is None:
        raise BroadcastNotFound(f"公告 {broadcast_id} 不存在")
    return row


def update_draft(
    session: Session,
    broadcast_id: int,
    *,
    title: str,
    body: str,
    sms_body: str | None,
    audience: Audience,
    actor: str,
) -> BroadcastRow:
    row = get(session, broadcast_id)
    if row.status != "draft":
        raise BroadcastError("只有草稿可以修改")
    before = _snapshot(row)
    row.title, row.body, row.sms_body = _clean_texts(title, body, sms_body)
    row.audience = audience.to_json()
    row.updated_at = utcnow()
    session.add(row)
    audit(session, actor, "broadcast.update", "broadcast", row.id, before, _snapshot(row))
    return row


def _next_status(scheduled_at: datetime | None, now: datetime) -> str:
    return "scheduled" if scheduled_at is not None and scheduled_at > now else "fanout"


def request_send(
    session: Session,
    broadcast_id: int,
    actor: str,
    *,
    threshold: int,
    scheduled_at: datetime | None = None,
    today: date | None = None,
) -> BroadcastRow:
    """Send now or at `scheduled_at`; above `threshold` recipients a second person must confirm.

    The new status is `pending_confirm`, `scheduled` or `fanout` (then run `fan_out`)."""
    row = get(session, broadcast_id)
    if row.status != "draft":
        raise BroadcastError("该公告已提交，不能重复提交")
    now = utcnow()
    if scheduled_at is not None:
        if scheduled_at.tzinfo is None:
            raise BroadcastError("定时时间缺少时区")
        if scheduled_at > now + timedelta(days=90):
            raise BroadcastError("定时发送最多可提前90天")
        if scheduled_at <= now:
            scheduled_at = None
    size = len(resolve(session, Audience.from_json(row.audience), today).recipients)
    if size == 0:
        raise BroadcastError("受众为空：没有可以发送的对象")
    before = _snapshot(row)
    row.audience_size = size
    row.scheduled_at = scheduled_at
    row.status = "pending_confirm" if size > threshold else _next_status(scheduled_at, now)
    row.updated_at = now
    session.add(row)
    audit(session, actor, "broadcast.send", "broadcast", row.id, before, _snapshot(row))
    return row


def confirm(session: Session, broadcast_id: int, actor: str) -> BroadcastRow:
    """The second person's confirmation of a large broadcast (not the one who submitted it)."""
    row = get(session, broadcast_id)
    if row.status != "pending_confirm":
        raise BroadcastError("该公告不在待确认状态")
    if actor == row.created_by:
        raise BroadcastError("受众较大的公告须由另一位工作人员确认，不能确认自己提交的公告")
    now = utcnow()
    before = _snapshot(row)
    claimed = session.execute(
        sa.update(_t(BroadcastRow))
        .where(
            _t(BroadcastRow).c.id == broadcast_id, _t(BroadcastRow).c.status == "pending_confirm"
        )
        .values(status=_next_status(row.scheduled_at, now), confirmed_by=actor, updated_at=now)
    )
    if int(getattr(claimed, "rowcount", 0) or 0) != 1:
        raise BroadcastError("该公告已被他人处理，请刷新页面")
    session.refresh(row)
    audit(session, actor, "broadcast.confirm", "broadcast", row.id, before, _snapshot(row))
    return row


def cancel(session: Session, broadcast_id: int, actor: str) -> int:
    """Cancel a broadcast and every notice of it still pending. Returns notices cancelled."""
    row = get(session, broadcast_id)
    if row.status not in OPEN_STATUSES:
        raise BroadcastError("该公告已取消，无法再次取消")
    now = utcnow()
    before = _snapshot(row)
    b = _t(BroadcastRow)
    # Updating the broadcast row first takes its lock: a fan-out batch (which locks the row and
    # re-reads the status) either committed before this, and its notices are cancelled below, or
    # it sees `cancelled` and stops.
    session.execute(
        sa.update(b).where(b.c.id == broadcast_id).values(status="cancelled", updated_at=now)
    )
    n = _t(NoticeRow)
    done = session.execute(
        sa.update(n)
        .where(n.c.broadcast_id == broadcast_id, n.c.status == "pending")
        .values(status="cancelled", last_error=ERR_CANCELLED, updated_at=now)
    )
    cancelled = int(getattr(done, "rowcount", 0) or 0)
    session.refresh(row)
    after = {**_snapshot(row), "cancelled_notices": cancelled}
    audit(session, actor, "broadcast.cancel", "broadcast", row.id, before, after)
    return cancelled


# --- fan-out ------------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


_STAGE_MD = sa.MetaData()
_STAGE = sa.Table(
    "tmp_broadcast_stage",
    _STAGE_MD,
    sa.Column("key", sa.String(200)),
    sa.Column("person_id", sa.Integer),
    sa.Column("identity_id", sa.Integer),
    sa.Column("channel", sa.String(16)),
    sa.Column("address", sa.String(64)),
    prefixes=["TEMPORARY"],
)
_STAGE_COLS = ("key", "person_id", "identity_id", "channel", "address")


def _stage(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Load (key, person_id, identity_id, channel, address) rows into a fresh temporary table:
    COPY on psycopg, one executemany of plain values elsewhere (no per-row type processing)."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGE.name}")
    _STAGE.create(conn)
    if not rows:
        return
    cols = ", ".join(_STAGE_COLS)
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql" and type(driver).__module__.startswith("psycopg"):
        with driver.cursor() as cur, cur.copy(f"COPY {_STAGE.name} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    if conn.dialect.paramstyle == "qmark":
        conn.exec_driver_sql(
            f"INSERT INTO {_STAGE.name} ({cols}) VALUES (?, ?, ?, ?, ?)", list(rows)
        )
        return
    conn.execute(  # pragma: no cover - other drivers
        sa.insert(_STAGE), [dict(zip(_STAGE_COLS, r, strict=True)) for r in rows]
    )


def _drop_stage(conn: Connection) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGE.name}")


def _upsert(conn: Connection, table: sa.Table) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def _ensure_sms_identities(engine: Engine, recipients: Sequence[Recipient]) -> dict[str, int]:
    """Identity ids of SMS numbers on file, creating the missing identity rows (linked to the
    person and verified: on SMS the number itself is the proof, as in the dialogue engine)."""
    out: dict[str, int] = {}
    now = sa.bindparam("now", utcnow(), type_=UTCDateTime())
    for chunk in _chunks(list(recipients), BATCH * 4):
        with engine.begin() as conn:
            _stage(conn, [(None, r.person_id, None, "sms", r.address) for r in chunk])
            pick = sa.select(
                sa.literal("sms"),
                _STAGE.c.address,
                _STAGE.c.person_id,
                sa.true(),
                sa.false(),
                sa.false(),
                now,
            ).where(sa.true())
            conn.execute(
                _upsert(conn, _CI)
                .from_select(
                    [
                        "channel",
                        "address",
                        "person_id",
                        "verified",
                        "opted_out",
                        "unreachable",
                        "created_at",
                    ],
                    pick,
                )
                .on_conflict_do_nothing(index_elements=["channel", "address"])
            )
            found = conn.execute(
                sa.select(_CI.c.id, _CI.c.address)
                .select_from(_CI.join(_STAGE, _STAGE.c.address == _CI.c.address))
                .where(_CI.c.channel == "sms")
            )
            out.update({str(a): int(i) for i, a in found})
            _drop_stage(conn)
    return out


def _insert_notices(
    conn: Connection,
    broadcast_id: int,
    rows: Sequence[tuple[Any, ...]],
    texts: Mapping[str, str],
    params: Mapping[str, Mapping[str, str]],
) -> int:
    """One batch of the fan-out: the outbox's insert (ON CONFLICT (key) DO NOTHING, as
    `core.outbox.enqueue_many`) done as INSERT … SELECT from a staging table, so that the values
    shared by every row (texts, params, timestamps) are converted once per batch, not per row.
    `person_id` stays empty on broadcast notices (their identity names the person): on
    PostgreSQL every foreign key costs a trigger call per row. Returns the number of notices
    inserted (exact on both databases)."""
    n = _t(NoticeRow)
    now = sa.bindparam("now", utcnow(), type_=UTCDateTime())
    is_tg = _STAGE.c.channel.in_(CHAT_CHANNELS)  # chats share the Telegram text
    pick = sa.select(
        _STAGE.c.key,
        sa.literal(KIND),
        sa.literal(broadcast_id),
        _STAGE.c.identity_id,
        _STAGE.c.channel,
        _STAGE.c.address,
        sa.literal(TEMPLATE),
        sa.case(
            (is_tg, sa.bindparam("p_tg", dict(params["telegram"]), type_=sa.JSON)),
            else_=sa.bindparam("p_sms", dict(params["sms"]), type_=sa.JSON),
        ),
        sa.case(
            (is_tg, sa.bindparam("t_tg", texts["telegram"], type_=sa.Text)),
            else_=sa.bindparam("t_sms", texts["sms"], type_=sa.Text),
        ),
        sa.literal("pending"),
        now,
        sa.literal(0),
        now,
        now,
    ).where(sa.true())
    _stage(conn, rows)
    done = conn.execute(
        _upsert(conn, n)
        .from_select(
            [
                "key",
                "kind",
                "broadcast_id",
                "identity_id",
                "channel",
                "address",
                "template",
                "params",
                "text",
                "status",
                "send_after",
                "attempts",
                "created_at",
                "updated_at",
            ],
            pick,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .execution_options(preserve_rowcount=True)  # INSERT rowcount is lost on psycopg otherwise
    )
    inserted = int(getattr(done, "rowcount", 0) or 0)
    _drop_stage(conn)
    return inserted


def _lock_open(session: Session, broadcast_id: int) -> bool:
    """Lock the broadcast row (PostgreSQL) and tell whether its fan-out may go on."""
    stmt = select(BroadcastRow.status).where(col(BroadcastRow.id) == broadcast_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.exec(stmt).first() == "fanout"


@dataclass
class FanOutResult:
    broadcast_id: int
    recipients: int = 0
    inserted: int = 0
    queued: int = 0  # notices of the broadcast after the run
    stopped: bool = False  # cancelled (or not in fan-out) before the end
    per_channel: dict[str, int] = field(default_factory=dict)


def fan_out(
    engine: Engine,
    broadcast_id: int,
    *,
    sms: SmsCost | None = None,
    today: date | None = None,
    batch_size: int = BATCH,
) -> FanOutResult:
    """Queue one notice per recipient (idempotent; resumable). Only runs in status `fanout`."""
    result = FanOutResult(broadcast_id)
    with session_scope(engine) as s:
        row = s.get(BroadcastRow, broadcast_id)
        if row is None or row.status != "fanout":
            result.stopped = True
            return result
        res = resolve(s, Audience.from_json(row.audience), today)
        tg_text = telegram_text(row)
        sms_plain = sms_text(row)
        sms_final = sms_text(row, sms) if sms is not None else sms_plain
        params = {"telegram": _params(row, "telegram"), "sms": _params(row, "sms")}
    result.recipients = len(res.recipients)
    result.per_channel = res.per_channel()
    missing = [r for r in res.recipients if r.identity_id is None]
    ids = _ensure_sms_identities(engine, missing) if missing else {}
    rows: list[tuple[Any, ...]] = []
    for r in res.recipients:
        identity_id = r.identity_id if r.identity_id is not None else ids.get(r.address)
        if identity_id is None:
            continue
        key = f"broadcast:{broadcast_id}:{identity_id}"
        rows.append((key, r.person_id, identity_id, r.channel, r.address))
    texts = {"telegram": tg_text, "sms": sms_final}
    b = _t(BroadcastRow)
    for chunk in _chunks(rows, batch_size):
        with session_scope(engine) as s:
            if not _lock_open(s, broadcast_id):
                result.stopped = True
                break
            conn = s.connection()
            result.inserted += _insert_notices(conn, broadcast_id, chunk, texts, params)
            s.execute(sa.update(b).where(b.c.id == broadcast_id).values(updated_at=utcnow()))
    with session_scope(engine) as s:
        n = _t(NoticeRow)
        result.queued = int(
            s.execute(
                sa.select(sa.func.count()).select_from(n).where(n.c.broadcast_id == broadcast_id)
            ).scalar_one()
        )
        if not result.stopped:
            done = s.execute(
                sa.update(b)
                .where(b.c.id == broadcast_id, b.c.status == "fanout")
                .values(status="queued", audience_size=result.queued, updated_at=utcnow())
            )
            if int(getattr(done, "rowcount", 0) or 0) == 1:
                audit(
                    s,
                    "system",
                    "broadcast.queued",
                    "broadcast",
                    broadcast_id,
                    after={"queued": result.queued, "per_channel": result.per_channel},
                )
            else:
                result.stopped = True
    log.info(
        "broadcast %s: %d recipients, %d notices queued%s",
        broadcast_id,
        result.recipients,
        result.queued,
        " (stopped)" if result.stopped else "",
    )
    return result


def claim_due(engine: Engine, now: datetime | None = None) -> list[int]:
    """Move scheduled broadcasts whose time has come to `fanout`, and take over fan-outs that
    stopped moving (a crashed process); returns the ids to run `fan_out` on."""
    now = now or utcnow()
    b = _t(BroadcastRow)
    with engine.begin() as conn:
        due = conn.execute(
            sa.update(b)
            .where(b.c.status == "scheduled", b.c.scheduled_at <= now)
            .values(status="fanout", updated_at=now)
            .returning(b.c.id)
        ).all()
        stale = conn.execute(
            sa.update(b)
            .where(b.c.status == "fanout", b.c.updated_at < now - STALE_FANOUT)
            .values(updated_at=now)
            .returning(b.c.id)
        ).all()
    ids = sorted({int(r[0]) for r in [*due, *stale]})
    if stale:
        log.warning("resuming interrupted broadcast fan-out: %s", [int(r[0]) for r in stale])
    return ids


def run_due(
    engine: Engine, *, sms: SmsCost | None = None, now: datetime | None = None
) -> list[FanOutResult]:
    """Fan out every broadcast that is due or was interrupted (the server runs this periodically)."""
    return [fan_out(engine, i, sms=sms) for i in claim_due(engine, now)]


# --- progress -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Delivery statistics of one broadcast, from its notices."""

    by_status: dict[str, int]
    by_channel: dict[str, dict[str, int]]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    def _n(self, *statuses: str) -> int:
        return sum(self.by_status.get(s, 0) for s in statuses)

    @property
    def queued(self) -> int:
        return self._n("pending", "sending")

    @property
    def sent(self) -> int:
        return self._n("sent", "delivered", "undelivered")

    @property
    def delivered(self) -> int:
        return self._n("delivered")

    @property
    def failed(self) -> int:
        return self._n("failed", "undelivered")

    @property
    def cancelled(self) -> int:
        return self._n("cancelled")

    @property
    def finished(self) -> bool:
        return self.queued == 0

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else int(100 * (self.total - self.queued) / self.total)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "queued": self.queued,
            "sent": self.sent,
            "delivered": self.delivered,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "percent": self.percent,
            "by_status": self.by_status,
            "by_channel": self.by_channel,
        }


def progress(session: Session, broadcast_id: int) -> Progress:
    n = _t(NoticeRow)
    rows = session.execute(
        sa.select(n.c.channel, n.c.status, sa.func.count())
        .where(n.c.broadcast_id == broadcast_id)
        .group_by(n.c.channel, n.c.status)
    ).all()
    by_status: dict[str, int] = {}
    by_channel: dict[str, dict[str, int]] = {}
    for channel, status, count in rows:
        by_status[str(status)] = by_status.get(str(status), 0) + int(count)
        by_channel.setdefault(str(channel), {})[str(status)] = int(count)
    return Progress(by_status, by_channel)


def display_status(row: BroadcastRow, prog: Progress | None = None) -> str:
    """The status to show: a queued broadcast with nothing left to send is `done`."""
    if row.status == "queued" and prog is not None and prog.finished:
        return "done"
    return row.status


def list_broadcasts(session: Session, limit: int = 50, offset: int = 0) -> list[BroadcastRow]:
    return list(
        session.exec(
            select(BroadcastRow).order_by(col(BroadcastRow.id).desc()).offset(offset).limit(limit)
        )
    )
