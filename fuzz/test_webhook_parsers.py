"""Hypothesis over the doors' parsers and the webhooks with valid signatures and secrets:
any input is answered 2xx/4xx, never 5xx, and never crashes a parser."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.applications.precheck_input import PrecheckInputError, parse_precheck_input
from fuzz.conftest import EXAMPLES
from sms.inbound import InboundFormError, parse_inbound_form
from sms.status import StatusFormError, parse_status_form
from tests.fakes.live_server import TELEGRAM_HEADERS, LiveServer, signed_sms
from tests.staff_seed import World

SETTINGS = settings(
    max_examples=EXAMPLES * 10, deadline=None, suppress_health_check=list(HealthCheck)
)
text = st.text(max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
FORM_KEYS = ["MessageSid", "From", "To", "Body", "NumMedia", "MediaUrl0", "MediaContentType0",
             "MessageStatus", "ErrorCode", "SmsSid", "AccountSid"]  # fmt: skip
forms = st.dictionaries(st.sampled_from(FORM_KEYS) | text, text, max_size=8)
sids = st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True)


@SETTINGS
@given(forms)
def test_sms_form_parsers_only_raise_their_own_errors(form: dict[str, str]) -> None:
    for parse in (parse_inbound_form, lambda f: parse_status_form(f, None)):
        with contextlib.suppress(InboundFormError, StatusFormError):
            parse(form)


@SETTINGS
@given(json_values)
def test_precheck_parser_only_raises_its_own_error(data: Any) -> None:
    with contextlib.suppress(PrecheckInputError):
        parse_precheck_input(data)


@SETTINGS
@given(
    sid=sids,
    sender=st.sampled_from(["+8613812348000", "+15005550006"]) | text,
    body=st.text(max_size=300),
    extra=st.dictionaries(st.sampled_from(FORM_KEYS), text, max_size=3),
)
def test_signed_sms_webhooks_never_5xx(
    live: tuple[LiveServer, World], sid: str, sender: str, body: str, extra: dict[str, str]
) -> None:
    server, _ = live
    form = {"MessageSid": sid, "From": sender, "To": "+15005550006", "Body": body, **extra}
    form = {k: v for k, v in form.items() if "\x00" not in k}
    for path in ("/sms/inbound", "/sms/status"):
        url = server.url + path
        try:
            response = httpx.post(url, data=form, headers=signed_sms(url, form), timeout=60)
        except UnicodeEncodeError:  # a lone surrogate cannot even be sent
            return
        assert response.status_code < 500, (path, form, response.text)


update_ids = st.integers(min_value=-(2**70), max_value=2**70)


@SETTINGS
@given(
    update_id=update_ids,
    message=st.fixed_dictionaries(
        {},
        optional={
            "message_id": st.integers(min_value=-(2**64), max_value=2**64),
            "date": st.integers(min_value=0, max_value=2**40),
            "text": st.text(max_size=200),
            "chat": st.fixed_dictionaries(
                {
                    "id": st.integers(min_value=-(2**64), max_value=2**64),
                    "type": st.sampled_from(["private", "group", "channel"]) | text,
                }
            ),
            "from": st.fixed_dictionaries(
                {
                    "id": st.integers(min_value=1, max_value=2**40),
                    "is_bot": st.booleans(),
                    "first_name": text,
                }
            ),
            "document": st.dictionaries(text, json_values, max_size=3),
            "caption": text,
        },
    ),
    other=st.dictionaries(text, json_values, max_size=2),
)
def test_telegram_webhook_with_the_secret_never_5xx(
    live: tuple[LiveServer, World], update_id: int, message: dict[str, Any], other: dict[str, Any]
) -> None:
    server, _ = live
    body = json.dumps({**other, "update_id": update_id, "message": message})
    response = httpx.post(
        server.url + "/telegram/webhook",
        content=body,
        headers={**TELEGRAM_HEADERS, "Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code < 500, (body, response.text)
