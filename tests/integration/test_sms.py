"""The SMS front end against a real database and a local fake Twilio REST server.

Webhooks are signed with twilio's own RequestValidator; the outbound sender talks real HTTP to a
fake server on 127.0.0.1 that records every request with a timestamp and can be told to answer
429/500/400 with Twilio error codes.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from twilio.request_validator import RequestValidator

from core.kernel.settings import Settings
from core.outbox.enqueue import enqueue
from core.outbox.receipts import link_notice, reconcile_all
from core.outbox.senders import ConsoleSender, OutgoingMessage
from core.persistence.db import make_engine, session_scope
from core.persistence.models import ChannelIdentityRow, InboundMessageRow, NoticeRow
from core.persistence.models_sms import SmsAutoReplyRow, SmsStatusEventRow
from server import routes_sms
from server.bootstrap import Container
from sms.media import MediaFetcher, MediaItem
from sms.port import SmsSender
from sms.twilio_sender import TwilioSmsPort, build_sms_sender
from tests.cli_kit import door_client
from tests.db_kit import count, notice, sms_identity

ACCOUNT = "AC" + "1" * 32
TOKEN = "test-auth-token"
SERVICE = "MG" + "2" * 32
PUBLIC = "https://sms.example.org"
PHONE = "+8613812348000"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 200


def sid(prefix: str = "SM") -> str:
    return prefix + uuid.uuid4().hex


# --- the fake Twilio REST server -------------------------------------------------------------


class FakeTwilio:
    """POST /2010-04-01/Accounts/{sid}/Messages.json and GET /media/{name}, recorded."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, Any]]] = []  # answers to give first, in order
        self.media: dict[str, tuple[bytes, str]] = {}
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                match = re.fullmatch(r"/2010-04-01/Accounts/(AC\w+)/Messages\.json", self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                if match is None:
                    self._answer(404, b"{}", "application/json")
                    return
                with fake.lock:
                    fake.requests.append(
                        {"t": time.monotonic(), "form": form, "auth": self.headers["Authorization"]}
                    )
                    scripted = fake.script.pop(0) if fake.script else None
                if scripted is not None:
                    status, payload = scripted
                    self._answer(status, json.dumps(payload).encode(), "application/json")
                    return
                resource = {
                    "sid": sid(),
                    "account_sid": match.group(1),
                    "status": "accepted" if "MessagingServiceSid" in form else "queued",
                    "to": form.get("To"),
                    "body": form.get("Body"),
                    "num_segments": "1",
                    "error_code": None,
                }
                self._answer(201, json.dumps(resource).encode(), "application/json")

            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                with fake.lock:
                    fake.requests.append(
                        {"t": time.monotonic(), "get": name, "auth": self.headers["Authorization"]}
                    )
                if name not in fake.media:
                    self._answer(404, b"", "text/plain")
                    return
                data, ctype = fake.media[name]
                self._answer(200, data, ctype)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=lambda: self.server.serve_forever(poll_interval=0.05), daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def messages(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if "form" in r]

    def error(self, status: int, code: int, message: str) -> None:
        self.script.append((status, {"code": code, "message": message, "status": status}))


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    server = FakeTwilio()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def settings_for(db_url: str, fake: FakeTwilio, tmp_path: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": tmp_path,
        "twilio_account_sid": ACCOUNT,
        "twilio_auth_token": TOKEN,
        "twilio_messaging_service_sid": SERVICE,
        "twilio_api_base_url": fake.base_url,
        "public_base_url": PUBLIC,
        **extra,
    }
    return Settings(_env_file=None, **values)


def port_for(fake: FakeTwilio, **extra: Any) -> TwilioSmsPort:
    return TwilioSmsPort(
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        messaging_service_sid=SERVICE,
        api_base_url=fake.base_url,
        status_callback=f"{PUBLIC}/sms/status",
        signature="【创业担保贷款】",
        unsubscribe_hint="拒收请回复R",
        **extra,
    )


# --- webhooks through the FastAPI routes ------------------------------------------------------


@pytest.fixture
def container(db_url: str, fake: FakeTwilio, tmp_path: Path) -> Container:
    return Container(settings_for(db_url, fake, tmp_path, sms_replies_per_hour=3))


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    yield from door_client(routes_sms.mount, container)


def post_signed(
    client: TestClient,
    path: str,
    params: dict[str, str],
    *,
    token: str = TOKEN,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    signature = RequestValidator(token).compute_signature(PUBLIC + path, params)
    return client.post(
        path, data=params, headers={"X-Twilio-Signature": signature, **(headers or {})}
    )


def inbound(text: str, message_sid: str | None = None, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": message_sid or sid(),
        "AccountSid": ACCOUNT,
        "From": PHONE,
        "To": "+15005550006",
        "Body": text,
        "NumMedia": "0",
        **extra,
    }


def twiml_messages(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [m.text or "" for m in ET.fromstring(response.text).iter("Message")]


def test_bad_or_missing_signature_is_403_and_stores_nothing(
    client: TestClient, engine: Engine
) -> None:
    params = inbound("我要退订")
    assert post_signed(client, "/sms/inbound", params, token="wrong").status_code == 403
    assert client.post("/sms/inbound", data=params).status_code == 403
    signed_other_path = RequestValidator(TOKEN).compute_signature(PUBLIC + "/sms/status", params)
    r = client.post("/sms/inbound", data=params, headers={"X-Twilio-Signature": signed_other_path})
    assert r.status_code == 403
    status = {"MessageSid": sid(), "MessageStatus": "delivered"}
    assert post_signed(client, "/sms/status", status, token="wrong").status_code == 403
    assert count(engine, InboundMessageRow) == 0
    assert count(engine, ChannelIdentityRow) == 0
    assert count(engine, SmsStatusEventRow) == 0


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"From": PHONE, "Body": "hi"},  # no MessageSid
        {"MessageSid": "garbage", "From": PHONE, "Body": "hi"},
        {"MessageSid": sid(), "From": "not-a-number", "Body": "hi"},
        {"MessageSid": sid(), "From": PHONE, "Body": "hi", "NumMedia": "many"},
        {"MessageSid": sid(), "From": PHONE, "Body": "hi", "NumMedia": "1"},  # no MediaUrl0
        {"MessageSid": sid(), "From": PHONE, "Body": "x" * 2000},
    ],
)
def test_signed_garbage_forms_are_400_and_store_nothing(
    client: TestClient, engine: Engine, params: dict[str, str]
) -> None:
    assert post_signed(client, "/sms/inbound", params).status_code == 400
    assert count(engine, InboundMessageRow) == 0
    assert count(engine, ChannelIdentityRow) == 0


def test_garbage_bodies_and_status_forms(client: TestClient, engine: Engine) -> None:
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/sms/inbound", {})
    r = client.post(
        "/sms/inbound",
        content=b'{"MessageSid": 1}',
        headers={"X-Twilio-Signature": signature, "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    r = client.post(
        "/sms/inbound",
        content=b"\xff\xfe=\x00",
        headers={"X-Twilio-Signature": "x", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code in (400, 403)
    assert post_signed(client, "/sms/status", {"MessageSid": sid()}).status_code == 400
    bad_status = {"MessageSid": sid(), "MessageStatus": "exploded"}
    assert post_signed(client, "/sms/status", bad_status).status_code == 400
    bad_code = {"MessageSid": sid(), "MessageStatus": "failed", "ErrorCode": "x1"}
    assert post_signed(client, "/sms/status", bad_code).status_code == 400
    assert count(engine, SmsStatusEventRow) == 0
    assert count(engine, InboundMessageRow) == 0


# --- status callbacks -------------------------------------------------------------------------


def make_notice(engine: Engine, provider_id: str | None, status: str = "sent") -> int:
    with session_scope(engine) as s:
        enqueue(
            s,
            key=f"test:{uuid.uuid4().hex}",
            kind="reminder",
            channel="sms",
            address=PHONE,
            text="还款提醒",
        )
        notice = s.exec(select(NoticeRow).order_by(col(NoticeRow.id).desc())).first()
        assert notice is not None and notice.id is not None
        notice.provider_id = provider_id
        notice.status = status
        s.add(notice)
        return notice.id


def status_cb(
    client: TestClient, message_sid: str, status: str, token: str | None = None, **extra: str
) -> httpx.Response:
    headers = {"I-Twilio-Idempotency-Token": token} if token else {}
    params = {"MessageSid": message_sid, "MessageStatus": status, "AccountSid": ACCOUNT, **extra}
    return post_signed(client, "/sms/status", params, headers=headers)


def test_status_moves_forward_only_and_repeats_change_nothing(
    client: TestClient, engine: Engine
) -> None:
    msid = sid()
    nid = make_notice(engine, msid, status="sent")
    assert status_cb(client, msid, "queued").text == "stale"  # late: queued after sent
    assert notice(engine, nid).status == "sent"
    assert status_cb(client, msid, "delivered", token="tok-1").text == "applied"
    row = notice(engine, nid)
    assert row.status == "delivered" and row.delivered_at is not None
    delivered_at = row.delivered_at
    # the same webhook retried (same token), and the same MessageSid + status again
    assert status_cb(client, msid, "delivered", token="tok-1").text == "duplicate"
    assert status_cb(client, msid, "delivered", token="tok-2").text == "duplicate"
    assert status_cb(client, msid, "sent", token="tok-1").text == "duplicate"
    # out of order: sent arrives after delivered
    assert status_cb(client, msid, "sent").text == "stale"
    assert status_cb(client, msid, "undelivered", ErrorCode="30003").text == "stale"
    row = notice(engine, nid)
    assert row.status == "delivered" and row.delivered_at == delivered_at
    assert count(engine, SmsStatusEventRow) == 4


def test_status_failure_records_error_and_marks_dead_numbers(
    client: TestClient, engine: Engine
) -> None:
    msid = sid()
    nid = make_notice(engine, msid, status="pending")
    assert status_cb(client, msid, "queued").text == "applied"
    assert notice(engine, nid).status == "queued"
    assert status_cb(client, msid, "undelivered", ErrorCode="30006").text == "applied"
    row = notice(engine, nid)
    assert row.status == "undelivered" and "30006" in (row.last_error or "")
    found = sms_identity(engine, PHONE)
    assert found is not None and found.unreachable


def test_status_for_unknown_message_is_200_and_applied_once_known(
    client: TestClient, engine: Engine
) -> None:
    msid = sid()
    r = status_cb(client, msid, "delivered")
    assert r.status_code == 200 and r.text == "unknown"
    assert status_cb(client, msid, "delivered").text == "duplicate"  # no error loop
    # The dispatcher leased the notice and the sender linked the sid right after Twilio accepted:
    # receipts are held while the dispatcher owns the row ...
    nid = make_notice(engine, None, status="sending")
    link_notice(engine, nid, msid)
    assert status_cb(client, msid, "sent").text == "held"
    assert reconcile_all(engine) == 0
    assert notice(engine, nid).status == "sending"
    # ... and applied, in order, once it recorded `sent`.
    with session_scope(engine) as s:
        s.execute(sa.update(NoticeRow).where(col(NoticeRow.id) == nid).values(status="sent"))
    assert reconcile_all(engine) == 1  # delivered; the held `sent` is not a step forward
    assert notice(engine, nid).status == "delivered"
    assert reconcile_all(engine) == 0


# --- outbound ---------------------------------------------------------------------------------


def outgoing(kind: str = "notification", notice_id: int | None = None) -> OutgoingMessage:
    return OutgoingMessage(
        notice_id=notice_id,
        channel="sms",
        address=PHONE,
        text="",
        kind=kind,
        template="document_accepted",
        params={"label": "营业执照"},
    )


def test_send_renders_template_signature_hint_and_retries_429(
    fake: FakeTwilio, engine: Engine
) -> None:
    sender = SmsSender(port_for(fake), engine, rate_per_second=100, backoff=0.05)
    fake.error(429, 20429, "Too Many Requests")
    nid = make_notice(engine, None, status="sending")
    result = asyncio.run(sender.send(outgoing(notice_id=nid)))
    assert result.ok and result.provider_id and result.provider_id.startswith("SM")
    assert len(fake.messages()) == 2  # 429, then success
    form = fake.messages()[-1]["form"]
    assert form["MessagingServiceSid"] == SERVICE and form["To"] == PHONE
    assert form["StatusCallback"] == f"{PUBLIC}/sms/status"
    assert form["Body"] == "【创业担保贷款】材料《营业执照》已审核通过。"  # no unsubscribe hint
    expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert fake.messages()[-1]["auth"] == expected_auth
    assert notice(engine, nid).provider_id == result.provider_id

    asyncio.run(sender.send(outgoing(kind="broadcast")))
    assert fake.messages()[-1]["form"]["Body"].endswith("\n拒收请回复R")


def test_send_5xx_exhausts_retries_as_temporary(fake: FakeTwilio, engine: Engine) -> None:
    sender = SmsSender(port_for(fake), engine, rate_per_second=100, attempts=3, backoff=0.02)
    for _ in range(3):
        fake.error(503, 20503, "Service Unavailable")
    result = asyncio.run(sender.send(outgoing()))
    assert not result.ok and result.temporary and not result.unreachable
    assert len(fake.messages()) == 3


def test_permanent_errors_mark_the_number_and_stop(fake: FakeTwilio, engine: Engine) -> None:
    sender = SmsSender(port_for(fake), engine, rate_per_second=100, backoff=0.02)
    fake.error(400, 21610, "Attempt to send to unsubscribed recipient")
    result = asyncio.run(sender.send(outgoing()))
    assert not result.ok and result.unreachable and not result.temporary
    assert len(fake.messages()) == 1
    found = sms_identity(engine, PHONE)
    assert found is not None and found.unreachable and "21610" in (found.unreachable_reason or "")

    fake.error(400, 21211, "The 'To' number is not a valid phone number.")
    other = OutgoingMessage(None, "sms", "+8613900001111", "你好", kind="reply")
    assert asyncio.run(sender.send(other)).unreachable
    assert len(fake.messages()) == 2


def test_broadcasts_skip_opted_out_numbers(fake: FakeTwilio, engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(ChannelIdentityRow(channel="sms", address=PHONE, opted_out=True))
    sender = SmsSender(port_for(fake), engine, rate_per_second=100)
    result = asyncio.run(sender.send(outgoing(kind="broadcast")))
    assert not result.ok and "opted_out" in (result.error or "")
    assert asyncio.run(sender.send(outgoing(kind="notification"))).ok  # own-loan notices still go
    assert len(fake.messages()) == 1


def test_rate_limit_is_shared_through_the_database(
    fake: FakeTwilio, db_url: str, tmp_path: Path
) -> None:
    settings = settings_for(db_url, fake, tmp_path)  # SMS_RATE_PER_SECOND default: 1/s
    engine_a, engine_b = make_engine(db_url), make_engine(db_url)  # two workers' pools
    try:
        sender_a = build_sms_sender(settings, engine_a)
        sender_b = build_sms_sender(settings, engine_b)
        assert isinstance(sender_a, SmsSender) and isinstance(sender_b, SmsSender)

        async def both() -> None:
            await asyncio.gather(
                *(s.send(outgoing()) for s in (sender_a, sender_b, sender_a, sender_b))
            )

        asyncio.run(both())
    finally:
        engine_a.dispose()
        engine_b.dispose()
    times = sorted(r["t"] for r in fake.messages())
    assert len(times) == 4
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.85, gaps  # 1/s together, with slack for scheduling


def test_no_credentials_means_console_sender(db_url: str, engine: Engine) -> None:
    sender = build_sms_sender(Settings(_env_file=None, database_url=db_url), engine)
    assert isinstance(sender, ConsoleSender) and sender.channel == "sms"


def test_media_download_streams_within_the_limit(fake: FakeTwilio) -> None:
    fake.media["small"] = (PNG, "image/png")
    fake.media["big"] = (b"\x00" * 50_000, "image/jpeg")
    fetcher = MediaFetcher(
        auth=(ACCOUNT, TOKEN), max_bytes=10_000, allowed_hosts=frozenset({"127.0.0.1"})
    )
    items = [
        MediaItem(f"{fake.base_url}/media/small", "image/png"),
        MediaItem(f"{fake.base_url}/media/big", "image/jpeg"),
        MediaItem("https://evil.example.com/x.png", "image/png"),  # not a Twilio host: skipped
    ]
    small, big = asyncio.run(fetcher.fetch_all(items))
    assert small.data == PNG and not small.too_large
    assert big.too_large and big.data == b""
    assert all(r["auth"].startswith("Basic ") for r in fake.requests if "get" in r)


# --- inbound conversations (the real dialogue engine) -----------------------------------------


def test_opt_out_words_in_context(client: TestClient, engine: Engine) -> None:
    question = twiml_messages(post_signed(client, "/sms/inbound", inbound("怎么退订")))
    found = sms_identity(engine, PHONE)
    assert found is not None and not found.opted_out  # a question, not an opt-out
    assert question  # answered

    confirm = twiml_messages(post_signed(client, "/sms/inbound", inbound("我要退订")))
    found = sms_identity(engine, PHONE)
    assert found is not None and found.opted_out
    assert (
        len(confirm) == 1 and "已退订" in confirm[0] and confirm[0].startswith("【创业担保贷款】")
    )
    again = twiml_messages(post_signed(client, "/sms/inbound", inbound("TD")))
    assert again == []  # confirmed once

    back = twiml_messages(post_signed(client, "/sms/inbound", inbound("订阅")))
    assert "重新订阅" in back[0]
    assert not sms_identity(engine, PHONE).opted_out  # type: ignore[union-attr]
    twiml_messages(post_signed(client, "/sms/inbound", inbound("td")))
    assert sms_identity(engine, PHONE).opted_out  # type: ignore[union-attr]


def test_duplicate_message_sid_returns_the_stored_reply(client: TestClient, engine: Engine) -> None:
    """Twilio retries when our answer was lost: the retry gets the same TwiML (ARCHITECTURE.md:
    a repeat returns the stored replies), nothing is processed or counted twice."""
    params = inbound("帮助")
    first = post_signed(client, "/sms/inbound", params)
    assert twiml_messages(first)
    second = post_signed(client, "/sms/inbound", params)
    assert second.status_code == 200 and second.text == first.text
    assert count(engine, InboundMessageRow) == 1
    assert count(engine, SmsAutoReplyRow) == 1


def test_reply_cap_records_but_does_not_answer(client: TestClient, engine: Engine) -> None:
    answered = [
        twiml_messages(post_signed(client, "/sms/inbound", inbound("帮助"))) for _ in range(5)
    ]
    assert [bool(a) for a in answered] == [True, True, True, False, False]  # cap 3 per hour
    assert count(engine, InboundMessageRow) == 5  # every message recorded
    # an opt-out above the cap still takes effect, silently
    assert twiml_messages(post_signed(client, "/sms/inbound", inbound("退订"))) == []
    assert sms_identity(engine, PHONE).opted_out  # type: ignore[union-attr]


def test_mms_media_goes_to_the_document_flow(
    client: TestClient, engine: Engine, fake: FakeTwilio
) -> None:
    fake.media["ME1"] = (PNG, "image/png")
    params = inbound(
        "",
        NumMedia="1",
        MediaUrl0=f"{fake.base_url}/2010-04-01/Accounts/{ACCOUNT}/Messages/MM1/Media/ME1",
        MediaContentType0="image/png",
    )
    reply = twiml_messages(post_signed(client, "/sms/inbound", params))
    assert any(r.get("get") == "ME1" for r in fake.requests)  # downloaded with credentials
    assert reply and "申请" in reply[0]  # the document flow answered (no application yet)
