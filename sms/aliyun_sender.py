"""The Alibaba Cloud SMS adapter (阿里云短信, Dysmsapi 2017-05-25) of the SMS port.

Mainland carriers take application-to-person SMS only as a registered 签名 + 模板: each named
template maps to its 模板CODE and variables (sms/aliyun_templates.py, data in
knowledge/templates/aliyun_sms.yaml). Single messages go out with `SendSms`; broadcasts are
gathered by `SmsSender`'s batcher into `SendBatchSms` calls of at most `batch_limit` (100)
numbers. The official SDK (alibabacloud-dysmsapi20170525) signs every request (ACS3-HMAC-SHA256);
ALIYUN_SMS_ENDPOINT is a URL whose scheme becomes the SDK's `protocol` and whose host[:port]
its `endpoint`, so the tests' fake on http://127.0.0.1:PORT is spoken to over plain HTTP.

Every notice's provider id is `aliyun:<BizId>:<number>`: one SendBatchSms returns one BizId for
all its numbers, and receipts (SmsReport push, QuerySendDetails) name both. Errors are mapped by
the `errors:` table of the data file: isv.BUSINESS_LIMIT_CONTROL defers without counting an
attempt, isv.MOBILE_NUMBER_ILLEGAL / isv.BLACK_KEY_CONTROL_LIMIT mark the number unreachable,
flow control and 5xx retry with backoff, a bad signature or template fails with the reason
(Chinese, shown to staff). The AccessKey secret is held only by the SDK's credential object and
never logged; numbers are masked in logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi.utils_models import Config

from core.database import Database
from core.kernel.identity import mask_phone
from core.kernel.settings import Settings
from core.outbox.senders import ConsoleSender, Sender
from core.outbox.templates import TemplateError
from sms.aliyun_templates import AliyunCatalog, GatewayTemplate, load_catalog
from sms.port import BatchItem, PortResult, SmsSender

log = logging.getLogger(__name__)

PREFIX = "aliyun"
ERR_NOT_MAINLAND = "阿里云国内短信只能发往中国大陆手机号"
ERR_NOT_PROMOTION = "群发公告必须使用推广短信模板（含“拒收请回复R”）"


def provider_id(biz_id: str, phone: str) -> str:
    return f"{PREFIX}:{biz_id}:{phone}"


def parse_provider_id(value: str) -> tuple[str, str] | None:
    """(BizId, 11-digit number) of an Aliyun provider id, None for other providers' ids."""
    parts = value.split(":")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2].isdigit():
        return None
    return parts[1], parts[2]


def mainland_number(address: str) -> str | None:
    """+8613812348000 -> 13812348000 (the form Dysmsapi takes); None for other numbers."""
    if address.startswith("+86") and len(address) == 14 and address[3:].isdigit():
        return address[3:]
    return None


def endpoint_config(url: str) -> tuple[str, str]:
    """ALIYUN_SMS_ENDPOINT -> (protocol, endpoint host[:port]) for the SDK's Config."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ValueError(f"ALIYUN_SMS_ENDPOINT is not an http(s) URL without a path: {url!r}")
    return parts.scheme, parts.netloc


@dataclass(frozen=True)
class DeliveryDetail:
    """One row of QuerySendDetails."""

    phone: str
    status: int  # 1 waiting for the receipt, 2 failed, 3 delivered
    err_code: str


class AliyunSmsPort:
    """SendSms / SendBatchSms / QuerySendDetails through the official SDK."""

    name = "aliyun"

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        endpoint: str = "https://dysmsapi.aliyuncs.com",
        catalog: AliyunCatalog | None = None,
        timeout: float = 15.0,
    ) -> None:
        protocol, host = endpoint_config(endpoint)
        config = Config(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            protocol=protocol,
            endpoint=host,
            read_timeout=int(timeout * 1000),
            connect_timeout=int(min(timeout, 5.0) * 1000),
        )
        self.client = Client(config)
        self.sign_name = sign_name
        self.catalog = catalog or load_catalog()
        self.batch_limit = self.catalog.batch_limit
        self.sender_key = f"{PREFIX}:{access_key_id}"[:80]

    # --- errors --------------------------------------------------------------------------

    def classify(self, code: str, message: str, status: int = 200) -> PortResult:
        """A refused request as a port result, by the data file's `errors:` table."""
        rule = self.catalog.error(code)
        text = (rule.reason if rule else f"阿里云拒绝发送：{message}")[:300]
        code = code or str(status)
        if rule is None:
            temporary = status == 429 or status >= 500 or code.startswith("Throttling")
            return PortResult(ok=False, error_code=code, error=text, temporary=temporary)
        if rule.action == "defer":
            return PortResult(
                ok=False,
                error_code=code,
                error=text,
                deferred=True,
                temporary=True,
                retry_after=rule.retry_after or 60.0,
            )
        if rule.action == "unreachable":
            return PortResult(ok=False, error_code=code, error=text, permanent=True)
        if rule.action == "retry":
            return PortResult(
                ok=False, error_code=code, error=text, temporary=True, retry_after=rule.retry_after
            )
        return PortResult(ok=False, error_code=code, error=text)

    def _call(self, action: str, request: Any) -> tuple[dict[str, Any] | None, PortResult | None]:
        """Run one SDK call; (response body, None) or (None, the failure as a port result)."""
        method = {
            "SendSms": self.client.send_sms,
            "SendBatchSms": self.client.send_batch_sms,
            "QuerySendDetails": self.client.query_send_details,
        }[action]
        try:
            body = method(request).body.to_map()
        except Exception as exc:  # the SDK raises its own exception tree, and network errors
            code = getattr(exc, "code", None)
            status = getattr(exc, "status_code", None)
            if isinstance(code, str) and isinstance(status, int):
                log.info("aliyun %s refused: HTTP %s %s", action, status, code)
                return None, self.classify(code, str(getattr(exc, "message", "")), status)
            log.info("aliyun %s failed: %s", action, type(exc).__name__)
            return None, PortResult(
                ok=False, error=f"network: {type(exc).__name__}", temporary=True
            )
        code = str(body.get("Code") or "")
        if code != "OK":
            return None, self.classify(code, str(body.get("Message") or ""))
        return body, None

    # --- sending -------------------------------------------------------------------------

    def _prepare(
        self, to: str, template: str, params: Mapping[str, Any], kind: str
    ) -> tuple[str, GatewayTemplate, dict[str, str]] | PortResult:
        phone = mainland_number(to)
        if phone is None:
            return PortResult(
                ok=False, error_code="not_mainland", error=ERR_NOT_MAINLAND, permanent=True
            )
        tpl, values = self.catalog.template_param(template, params)  # TemplateError: fails
        if kind == "broadcast" and tpl.type != "promotion":
            raise TemplateError(ERR_NOT_PROMOTION)
        return phone, tpl, values

    async def send_template(
        self, to: str, template: str, params: Mapping[str, Any], kind: str
    ) -> PortResult:
        prepared = self._prepare(to, template, params, kind)
        if isinstance(prepared, PortResult):
            return prepared
        return await asyncio.to_thread(self._send_one, *prepared)

    def _send_one(self, phone: str, tpl: GatewayTemplate, values: dict[str, str]) -> PortResult:
        request = sms_models.SendSmsRequest(
            phone_numbers=phone,
            sign_name=self.sign_name,
            template_code=tpl.code,
            template_param=json.dumps(values, ensure_ascii=False),
        )
        body, failure = self._call("SendSms", request)
        if failure is not None:
            log.info("aliyun SendSms to %s: %s", mask_phone(phone), failure.error_code)
            return failure
        assert body is not None
        return PortResult(
            ok=True,
            provider_id=provider_id(str(body.get("BizId")), phone),
            status="sent",
            segments=None,
        )

    async def send_batch(self, items: Sequence[BatchItem]) -> list[PortResult]:
        """One SendBatchSms for items of one template (a value that does not fit fails alone)."""
        results: list[PortResult | None] = [None] * len(items)
        ready: list[tuple[int, str, GatewayTemplate, dict[str, str]]] = []
        for i, item in enumerate(items):
            try:
                prepared = self._prepare(item.to, item.template, item.params, item.kind)
            except TemplateError as exc:
                results[i] = PortResult(ok=False, error_code="template", error=str(exc)[:300])
                continue
            if isinstance(prepared, PortResult):
                results[i] = prepared
            else:
                ready.append((i, *prepared))
        for start in range(0, len(ready), self.batch_limit):
            chunk = ready[start : start + self.batch_limit]
            outcome = await asyncio.to_thread(self._send_chunk, chunk)
            for (i, *_rest), result in zip(chunk, outcome, strict=True):
                results[i] = result
        return [r if r is not None else PortResult(ok=False, error="not sent") for r in results]

    def _send_chunk(
        self, chunk: list[tuple[int, str, GatewayTemplate, dict[str, str]]]
    ) -> list[PortResult]:
        codes = {tpl.code for _i, _p, tpl, _v in chunk}
        if len(codes) != 1:  # the batcher groups by template; a mixed chunk is a bug upstream
            raise ValueError("SendBatchSms takes one template code per call")
        request = sms_models.SendBatchSmsRequest(
            phone_number_json=json.dumps([p for _i, p, _t, _v in chunk]),
            sign_name_json=json.dumps([self.sign_name] * len(chunk), ensure_ascii=False),
            template_code=codes.pop(),
            template_param_json=json.dumps([v for _i, _p, _t, v in chunk], ensure_ascii=False),
        )
        body, failure = self._call("SendBatchSms", request)
        if failure is not None:
            log.info("aliyun SendBatchSms of %d numbers: %s", len(chunk), failure.error_code)
            return [failure] * len(chunk)
        assert body is not None
        biz_id = str(body.get("BizId"))
        return [
            PortResult(ok=True, provider_id=provider_id(biz_id, p), status="sent")
            for _i, p, _t, _v in chunk
        ]

    # --- receipts by polling -------------------------------------------------------------

    def query_details(
        self, phone: str, biz_id: str, send_date: date
    ) -> list[DeliveryDetail] | None:
        """QuerySendDetails for one message (None when the query itself failed)."""
        request = sms_models.QuerySendDetailsRequest(
            phone_number=phone,
            biz_id=biz_id,
            send_date=send_date.strftime("%Y%m%d"),
            page_size=10,
            current_page=1,
        )
        body, failure = self._call("QuerySendDetails", request)
        if failure is not None:
            return None
        assert body is not None
        rows = ((body.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO")) or []
        return [
            DeliveryDetail(
                str(r.get("PhoneNum") or ""),
                int(r.get("SendStatus") or 0),
                str(r.get("ErrCode") or ""),
            )
            for r in rows
        ]


def aliyun_configured(settings: Settings) -> bool:
    return bool(
        settings.aliyun_access_key_id
        and settings.aliyun_access_key_secret
        and settings.aliyun_sms_sign_name
    )


def build_aliyun_port(settings: Settings) -> AliyunSmsPort:
    assert settings.aliyun_access_key_id and settings.aliyun_access_key_secret
    return AliyunSmsPort(
        access_key_id=settings.aliyun_access_key_id,
        access_key_secret=settings.aliyun_access_key_secret.get_secret_value(),
        sign_name=settings.aliyun_sms_sign_name or "",
        endpoint=settings.aliyun_sms_endpoint,
    )


def build_aliyun_sender(settings: Settings, db: Database) -> Sender:
    """The "sms" sender of the outbox over Aliyun, or the console sender when not configured."""
    if not aliyun_configured(settings):
        log.warning(
            "SMS: SMS_PROVIDER=aliyun but ALIYUN_ACCESS_KEY_ID, ALIYUN_ACCESS_KEY_SECRET or "
            "ALIYUN_SMS_SIGN_NAME is missing; SMS are logged, not sent"
        )
        return ConsoleSender("sms")
    return SmsSender(build_aliyun_port(settings), db, rate_per_second=settings.sms_rate_per_second)
