"""Inputs that used to make a 500, and body limits: every route answers 4xx, never 5xx.

One app with every door (Telegram against the local fake Bot API, Twilio webhooks with real
signatures, the staff API with a real token) on a real database.
"""

from __future__ import annotations

import select as io_select
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from twilio.request_validator import RequestValidator

from core.dialogue.events import InboundEvent
from core.persistence.models import HandoffTicketRow, InboundMessageRow
from server.bootstrap import Container
from tests.fakes.live_server import TELEGRAM_HEADERS, LiveServer
from tests.fakes.telegram_api import FakeBotApi
from tests.staff_seed import Served, serve_world
from tests.waits import wait_until

TWILIO_TOKEN = "hardening-token"
PUBLIC = "https://loans.example.test"
SECRET = "hardening-secret"
TG = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


@pytest.fixture
def served(db_url: str, tmp_path: Path, bot_api: FakeBotApi) -> Iterator[Served]:
    with serve_world(
        db_url,
        tmp_path,
        twilio_auth_token=TWILIO_TOKEN,
        public_base_url=PUBLIC,
        telegram_bot_token=bot_api.token,
        telegram_webhook_secret=SECRET,
        telegram_api_base_url=bot_api.base_url,
        max_import_mb=1,
    ) as served:
        yield served


def signed(client: TestClient, form: dict[str, str]) -> Any:
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + "/sms/inbound", form)
    return client.post("/sms/inbound", data=form, headers={"X-Twilio-Signature": signature})


def sms(text: str, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "1" * 32,
        "From": "+8613812348000",
        "To": "+15005550006",
        "Body": text,
        "NumMedia": "0",
        **extra,
    }


# --- 3: the public pre-check ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{}, {"applicant_type": []}, {"applicant_type": {}}, {"category": [1]}, [], "x", 7,
     {"applicant_type": "individual", "category": ["woman"]},
     {"applicant_type": "enterprise", "industry": "x", "bad_credit": False, "employees": 10**30},
     {"applicant_type": "individual", "amount": "1e999999"}, {"amount": float("1e308")}],
)  # fmt: skip
def test_precheck_bad_bodies_are_422_in_chinese_naming_the_field(served: Served, body: Any) -> None:
    client, _, _ = served
    response = client.post("/api/precheck", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert set(problem) == {"detail", "field"}
    assert problem["field"] in problem["detail"] or "JSON" in problem["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["detail"])


def test_precheck_422_is_the_documented_schema(served: Served) -> None:
    client, _, _ = served
    spec = client.get("/openapi.json").json()
    documented = spec["paths"]["/api/precheck"]["post"]["responses"]["422"]
    ref = documented["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    schema = spec["components"]["schemas"][ref]
    assert set(schema["required"]) == {"detail", "field"}
    body = spec["paths"]["/api/precheck"]["post"]["requestBody"]["content"]["application/json"]
    fields = spec["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]
    assert {"applicant_type", "category", "amount", "term_months", "members"} <= set(fields)


# --- 4: integers beyond 64 bits ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/staff/loans/9223372036854775808",
        "/api/staff/applications/99999999999999999999999",
        "/api/staff/applications/1/documents/9223372036854775808",
        "/api/staff/tickets/-9223372036854775809",
        "/api/staff/broadcasts/18446744073709551616",
        "/api/staff/loans?offset=9223372036854775808",
        "/api/staff/notices?offset=99999999999999999999",
        "/console/loans/9223372036854775808",
        "/console/tickets?offset=99999999999999999999",
    ],
)
def test_huge_integers_in_paths_and_queries_are_not_500(served: Served, path: str) -> None:
    client, _, world = served
    headers = {"Authorization": f"Bearer {world.tokens['admin1']}"}
    response = client.get(path, headers=headers, follow_redirects=False)
    assert response.status_code in (303, 404, 422), (path, response.status_code)


def test_largest_id_is_a_clean_404(served: Served) -> None:
    client, _, world = served
    headers = {"Authorization": f"Bearer {world.tokens['admin1']}"}
    assert client.get("/api/staff/loans/2147483647", headers=headers).status_code == 404
    assert client.get("/api/staff/loans/2147483648", headers=headers).status_code == 422


# --- 5 and 6: webhook inputs ----------------------------------------------------------------


@pytest.mark.parametrize("count", ["²", "١", "0x1", "-1", "99999999999999999999", "1.0", " "])
def test_sms_odd_num_media_is_a_400_not_a_500(served: Served, count: str) -> None:
    client, _, _ = served
    assert signed(client, sms("你好", NumMedia=count)).status_code == 400


def test_sms_lone_surrogate_free_text_is_answered(served: Served) -> None:
    client, _, _ = served
    response = signed(client, sms("人工 \U0001f600 ok"))
    assert response.status_code == 200


def test_lone_surrogate_text_opens_a_ticket_cleanly(served: Served) -> None:
    _, container, _ = served
    event = InboundEvent("telegram", "777", "777:1", text="人工 \ud800abc", display_name="\udfff")
    result = container.dialogue.handle(event)
    assert result.replies
    with Session(container.engine) as s:
        tickets = s.exec(select(HandoffTicketRow).where(HandoffTicketRow.address == "777")).all()
    assert tickets and "\ufffd" in tickets[0].question


def test_telegram_update_with_message_but_no_chat_is_dropped_cleanly(
    served: Served, bot_api: FakeBotApi
) -> None:
    client, container, _ = served
    update = {
        "update_id": 4242,
        "message": {"message_id": 1, "date": 1, "text": "hi", "from": {"id": 5, "is_bot": False,
                                                                      "first_name": "a"}},
    }  # fmt: skip
    response = client.post("/telegram/webhook", json=update, headers=TG)
    assert response.status_code == 200 and response.json().get("dropped") is True
    surrogate = {
        "update_id": 4243,
        "message": {"message_id": 2, "date": 1, "text": "\ud800abc",
                    "chat": {"id": 9001, "type": "private"},
                    "from": {"id": 9001, "is_bot": False, "first_name": "\udc00"}},
    }  # fmt: skip
    raw = __import__("json").dumps(surrogate)  # keeps the lone surrogate as an escape
    response = client.post("/telegram/webhook", content=raw, headers=TG)
    assert response.status_code == 200
    wait_until(lambda: bot_api.sent(9001), timeout=15)
    assert all("内部错误" not in c.params["text"] for c in bot_api.sent(9001))
    with Session(container.engine) as s:
        row = s.exec(
            select(InboundMessageRow).where(col(InboundMessageRow.message_id) == "4243")
        ).one()
    wait_until(lambda: _answered(container, "4243"), timeout=15)
    assert row.payload is not None


def _answered(container: Container, message_id: str) -> bool:
    with Session(container.engine) as s:
        row = s.exec(
            select(InboundMessageRow).where(col(InboundMessageRow.message_id) == message_id)
        ).one()
        return row.answered_at is not None


# --- 7: body limits on the stream -----------------------------------------------------------


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, bot_api_server: FakeBotApi
) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("live"), telegram_api=bot_api_server.base_url)
    server.start()
    yield server
    server.stop()


def _stream_until_answered(
    server: LiveServer, path: str, headers: dict[str, str]
) -> tuple[int, int]:
    """POST a chunked body of up to 64 MB over a raw socket, 64 KB a chunk, and stop as soon as
    the server answers. (status, bytes sent before the answer)."""
    chunk = b" " * (64 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}",
                "Transfer-Encoding: chunked", "Content-Type: application/json"]  # fmt: skip
        head += [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        answer = b""
        while sent < 64 * 1024 * 1024:
            readable, _, _ = io_select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except OSError:  # the server closed after answering
                break
            sent += len(chunk)
        answer = sock.recv(4096)
    return int(answer.split(b" ", 2)[1]), sent


@pytest.mark.parametrize(
    ("path", "limit"),
    [("/telegram/webhook", 1024 * 1024), ("/api/precheck", 64 * 1024),
     ("/sms/inbound", 1024 * 1024), ("/api/staff/broadcasts", 1024 * 1024)],
)  # fmt: skip
def test_chunked_bodies_over_the_limit_are_413_before_all_is_read(
    live: LiveServer, path: str, limit: int
) -> None:
    status, sent = _stream_until_answered(live, path, TELEGRAM_HEADERS)
    assert status == 413
    assert sent <= limit + 8 * 1024 * 1024  # socket buffers hold a few MB; not 64 MB


def test_declared_length_over_the_limit_is_refused_before_reading(served: Served) -> None:
    client, _, world = served
    headers = {"Authorization": f"Bearer {world.tokens['admin1']}"}
    big = b"x" * (3 * 1024 * 1024)  # max_import_mb=1: two files and a form allowed
    files = {"file": ("loans.csv", big, "text/csv")}
    response = client.post("/api/staff/imports/loans", files=files, headers=headers)
    assert response.status_code == 413
    small = {"file": ("loans.csv", b"x" * 1000, "text/csv")}
    response = client.post("/api/staff/imports/loans", files=small, headers=headers)
    assert response.status_code == 422  # read and refused on content, not on size


# --- 9: served document names keep the real type's extension ---------------------------------


def test_served_document_name_has_the_extension_of_its_real_type(served: Served) -> None:
    from core.persistence.models import DocumentItemRow

    client, container, world = served
    with Session(container.engine) as s:
        item = s.get(DocumentItemRow, world.doc_png)
        assert item is not None and item.content_type == "image/png"
        item.filename = "../证件 扫描.html"
        s.add(item)
        s.commit()
    headers = {"Authorization": f"Bearer {world.tokens['admin1']}"}
    response = client.get(
        f"/api/staff/applications/{world.app_id}/documents/{world.doc_png}/file", headers=headers
    )
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.endswith(".png") and ".html" not in disposition and "/" not in disposition
