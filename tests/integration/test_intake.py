"""Application intake: the fields staff need, the verified mobile (one-time code) and edits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import knowledge
from core.persistence.models import ApplicationRow, ChannelIdentityRow, NoticeRow, PersonRow
from core.persistence.models_otp import OneTimeCodeRow
from knowledge.policy import Policy
from tests.dialogue_kit import FixedCodes, User, id_number, make_engine

PHONE = "+8613912340001"
ID_OK = id_number("62010219900101123")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def codes() -> FixedCodes:
    return FixedCodes()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def user(
    engine: Engine,
    kb: knowledge.KnowledgeBase,
    policy: Policy,
    tmp_path: Path,
    codes: FixedCodes,
    clock: Clock,
) -> User:
    return User(make_engine(engine, kb, policy, tmp_path, codes, now=clock))


def precheck_ok(user: User, amount: str = "五万", term: str = "两年") -> None:
    for text in ("预审", "个人", "失业", "有", "开一家小饭馆", "进货", "没有", amount, term):
        user.say(text)


def to_phone(user: User) -> str:
    precheck_ok(user)
    user.say("1")  # 开始申请
    return user.text("张三")


def test_telegram_offers_contact_share_or_a_code(user: User) -> None:
    precheck_ok(user)
    user.say("1")
    replies = user.say("张三")
    assert "已为您建立申请" in replies[0].text
    assert replies[-1].request_contact and "验证码" in replies[-1].text


def test_one_time_code_verifies_the_mobile(user: User, engine: Engine, codes: FixedCodes) -> None:
    to_phone(user)
    sent = user.text("139 1234 0001")
    assert "验证码已通过短信发送到 +86139****0001" in sent
    with Session(engine) as s:
        notice = s.exec(select(NoticeRow).where(NoticeRow.kind == "otp")).one()
        assert notice.channel == "sms" and notice.address == PHONE
        assert codes.sent[-1] in notice.text  # the SMS carries the code
        row = s.exec(select(OneTimeCodeRow)).one()
        assert codes.sent[-1] not in row.code_hash and len(row.code_hash) == 64
    assert "还可以再试4次" in user.text("000000")
    done = user.text(codes.sent[-1])
    assert "手机号已验证：+86139****0001" in done and "身份证号" in done
    with Session(engine) as s:
        person = s.exec(select(PersonRow)).one()
        assert person.phone == PHONE and person.name == "张三"
        ident = s.exec(select(ChannelIdentityRow)).one()
        assert ident.verified and ident.person_id == person.id
        app = s.exec(select(ApplicationRow)).one()
        assert app.person_id == person.id
        notice = s.exec(select(NoticeRow).where(NoticeRow.kind == "otp")).one()
        assert codes.sent[-1] not in notice.text  # blanked once used


def test_expired_code(user: User, codes: FixedCodes, clock: Clock) -> None:
    to_phone(user)
    user.say("13912340001")
    clock.now += timedelta(minutes=5, seconds=1)
    assert "验证码已过期" in user.text(codes.sent[-1])
    assert "验证码已通过短信发送" in user.text("重发")
    assert "手机号已验证" in user.text(codes.sent[-1])


def test_five_wrong_codes_lock_the_code(user: User, codes: FixedCodes, clock: Clock) -> None:
    to_phone(user)
    user.say("13912340001")
    for left in (4, 3, 2, 1):
        assert f"还可以再试{left}次" in user.text("111111")
    assert "错误次数过多" in user.text("111111")
    assert "错误次数过多" in user.text(codes.sent[-1])  # even the right code no longer works
    assert "秒后" in user.text("重发")  # one code a minute
    clock.now += timedelta(seconds=61)
    assert "验证码已通过短信发送" in user.text("重发")
    assert "手机号已验证" in user.text(codes.sent[-1])


def test_codes_are_rate_limited_per_number(user: User, clock: Clock) -> None:
    to_phone(user)
    for _ in range(5):
        assert "验证码已通过短信发送" in user.text("13912340001")
        clock.now += timedelta(seconds=61)
    assert "过于频繁" in user.text("13912340001")
    other = user.as_("telegram", "3003")
    precheck_ok(other)
    other.say("1")
    other.say("李四")
    assert "过于频繁" in other.text("13912340001")  # the limit is the number's, not the chat's


def test_a_number_linked_to_someone_else_is_refused(user: User, codes: FixedCodes) -> None:
    first = user.as_("telegram", "4004")
    to_phone(first)
    first.say(contact_phone=PHONE)
    to_phone(user)
    assert "已与其他申请人关联" in user.text("13912340001")
    assert not codes.sent  # refused before any code was sent
    assert "已与其他申请人关联" in user.text(contact_phone=PHONE)


def test_contact_share_verifies_and_adopts_a_person_on_file(user: User, engine: Engine) -> None:
    with Session(engine) as s:
        s.add(PersonRow(name="张三", phone=PHONE))  # e.g. an imported borrower
        s.commit()
    to_phone(user)
    assert "手机号已验证" in user.text(contact_phone=PHONE)
    with Session(engine) as s:
        assert len(s.exec(select(PersonRow)).all()) == 1
        app = s.exec(select(ApplicationRow)).one()
        assert app.person_id is not None


def test_bad_id_check_digit_and_masking(user: User, engine: Engine) -> None:
    to_phone(user)
    user.say(contact_phone=PHONE)
    bad = ID_OK[:-1] + ("0" if ID_OK[-1] != "0" else "1")
    assert "校验位不正确" in user.text(bad)
    assert "18位" in user.text("12345")
    saved = user.text(ID_OK.lower())
    assert "620102********" + ID_OK[-4:] in saved and ID_OK not in saved
    assert "区县" in saved
    with Session(engine) as s:
        assert s.exec(select(PersonRow)).one().id_number == ID_OK


def fill_to_summary(user: User) -> str:
    to_phone(user)
    user.say(contact_phone=PHONE)
    user.say(ID_OK)
    user.say("2")  # 七里河区
    user.say("跳过")  # the address may be skipped (policy intake_optional)
    return user.text("2027年3月")


def test_summary_edit_and_confirm(user: User, engine: Engine, codes: FixedCodes) -> None:
    summary = fill_to_summary(user)
    assert "七里河区" in summary and "2027年3月" in summary and "（未填）" in summary
    assert "开一家小饭馆" in summary  # the business type from the pre-check
    assert "+86139****0001（已验证）" in summary
    assert "经营地址" in user.text("修改 经营地址")
    again = user.text("城关区张掖路1号")
    assert "请核对申请信息" in again and "城关区张掖路1号" in again
    over = user.text("修改 金额")
    assert "申请多少钱" in over
    flagged = user.text("8万")
    assert "超过政策上限5万元" in flagged and "（超过上限5万元）" in flagged
    assert "手机号" in user.text("修改手机号")
    assert "验证码已通过短信发送" in user.text("13912340002")
    assert "+86139****0002（已验证）" in user.text(codes.sent[-1])
    assert "已收 0/5 项" in user.text(option="confirm")
    with Session(engine) as s:
        app = s.exec(select(ApplicationRow)).one()
        assert app.district == "七里河区" and app.business_address == "城关区张掖路1号"
        assert app.planned_start == "2027-03" and app.requested_amount_fen == 8_000_000
        assert app.business_type == "开一家小饭馆"


def test_required_questions_cannot_be_skipped(user: User) -> None:
    to_phone(user)
    assert "不能跳过" in user.text("跳过")  # the mobile
    user.say(contact_phone=PHONE)
    reply = user.text("跳过")
    assert "不能跳过" in reply and "身份证号" in reply


def test_confirm_shows_the_checklist_and_submit_needs_the_intake(user: User) -> None:
    summary = fill_to_summary(user)
    assert "请核对申请信息" in summary
    assert "已收 0/5 项" in user.text("1")  # 1 = 确认
    assert "还有 5 项材料未提交" in user.text("提交")


def test_submit_asks_for_missing_intake_first(user: User, engine: Engine) -> None:
    fill_to_summary(user)
    with Session(engine) as s:
        app = s.exec(select(ApplicationRow)).one()
        app.district = None
        s.add(app)
        s.commit()
    reply = user.text("提交")
    assert "申请信息还没填完：区县" in reply and "在哪个区县申请" in reply


def test_sms_sender_number_is_the_verified_mobile(user: User, engine: Engine) -> None:
    sms = user.as_("sms", "+8613912340009")
    precheck_ok(sms)
    sms.say("1")
    reply = sms.text("王五")
    assert "即您发短信的号码，已验证" in reply and "身份证号" in reply
    with Session(engine) as s:
        assert s.exec(select(PersonRow)).one().phone == "+8613912340009"


def test_edit_after_submit_is_refused(user: User, engine: Engine) -> None:
    fill_to_summary(user)
    with Session(engine) as s:
        app = s.exec(select(ApplicationRow)).one()
        app.stage = "submitted"
        s.add(app)
        s.commit()
    assert "只有尚未提交的申请可以修改" in user.text("修改 手机号")


def test_changing_a_business_question_is_not_an_edit(user: User) -> None:
    fill_to_summary(user)
    assert "只有尚未提交" not in user.text("改行业可以吗")
