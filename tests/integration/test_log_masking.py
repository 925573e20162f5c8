"""No personal data or secret in any log line of a real server process (uvicorn's access log
included): planted ID numbers, phone numbers and tokens are grepped for in its output."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import httpx
import pytest

from server.logsetup import MaskingFormatter, configure_logging, mask_log_text
from tests.fakes.live_server import LiveServer, signed_sms, sms_form

ID_NUMBER = "110101199003077777"
PHONE = "13812345678"
TOKEN = "cd_" + "Z" * 40
BOT_TOKEN = "987654:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"


@pytest.mark.timeout(180)
def test_planted_ids_phones_and_tokens_never_reach_the_logs(tmp_path: Path) -> None:
    server = LiveServer(tmp_path, extra_env={"LOG_LEVEL": "DEBUG"}).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            client.get(f"/api/staff/loans?q={ID_NUMBER}", headers=headers)
            client.get(f"/api/staff/loans?q={PHONE}&name=张三", headers=headers)
            client.get(f"/console/loans?q={ID_NUMBER}")
            client.get(f"/healthz?token={TOKEN}&phone={PHONE}")
            client.get(f"/nowhere/{ID_NUMBER}?id={ID_NUMBER}")
            url = server.url + "/sms/inbound"
            form = sms_form("SM" + uuid.uuid4().hex, f"+86{PHONE}", f"人工 我的身份证{ID_NUMBER}")
            assert client.post(url, data=form, headers=signed_sms(url, form)).status_code == 200
    finally:
        server.stop()
    logs = server.logs()
    assert '"GET /api/staff/loans?' in logs  # the access log is there, masked
    for planted in (ID_NUMBER, PHONE, TOKEN, "张三"):
        assert planted not in logs, planted


def test_every_logger_goes_through_the_masking_handler(capsys: pytest.CaptureFixture[str]) -> None:
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.addHandler(logging.StreamHandler())  # as uvicorn's own config does
    uvicorn_access.propagate = False
    configure_logging("INFO")
    root = logging.getLogger()
    assert any(isinstance(h.formatter, MaskingFormatter) for h in root.handlers)
    assert not uvicorn_access.handlers and uvicorn_access.propagate
    logging.getLogger("httpx").warning("POST https://api.telegram.org/bot%s/sendMessage", BOT_TOKEN)
    assert BOT_TOKEN not in capsys.readouterr().err
    assert TOKEN not in mask_log_text(f"Authorization: Bearer {TOKEN}")
