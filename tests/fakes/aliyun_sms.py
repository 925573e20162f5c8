"""A local fake of Alibaba Cloud SMS (Dysmsapi 2017-05-25) for the tests and the benchmark.

It speaks the RPC API the official SDK (alibabacloud-dysmsapi20170525) calls, over plain HTTP on
127.0.0.1, and **verifies every request's signature** with the V3 algorithm (ACS3-HMAC-SHA256)
as Alibaba documents it: the canonical request (method, path, sorted RFC 3986-encoded query,
the signed headers lower-cased and trimmed, the SHA-256 of the body) is hashed, signed with
HMAC-SHA256 under the AccessKey secret and compared with the `Authorization` header; the body
hash must match `x-acs-content-sha256`, `x-acs-date` must be within 15 minutes and a
`x-acs-signature-nonce` is accepted once. Failures answer like the real gateway
(SignatureDoesNotMatch, InvalidAccessKeyId.NotFound, SignatureNonceUsed, InvalidTimeStamp.Expired).

Actions: SendSms, SendBatchSms, QuerySendDetails, with realistic bodies and `isv.*` business
errors (HTTP 200 with a Code), flow control (`Throttling.User`, HTTP 400) above a configured QPS
(a token bucket with a 0.2 s burst),
optional per-number frequency control (isv.BUSINESS_LIMIT_CONTROL), scripted answers, and the
SmsReport / SmsUp push bodies Alibaba would POST to our server.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

CST = timezone(timedelta(hours=8))
ALGORITHM = "ACS3-HMAC-SHA256"
REQUIRED_SIGNED = ("host", "x-acs-action", "x-acs-content-sha256", "x-acs-date",
                   "x-acs-signature-nonce", "x-acs-version")  # fmt: skip
_VAR = re.compile(r"\$\{(\w+)\}")


def canonical_query(query: list[tuple[str, str]]) -> str:
    """Sorted `key=value` pairs, both percent-encoded per RFC 3986 (space is %20, ~ kept)."""
    pairs = sorted((quote(k, safe="~"), quote(v, safe="~")) for k, v in query)
    return "&".join(f"{k}={v}" for k, v in pairs)


def string_to_sign(method: str, path: str, query: list[tuple[str, str]],
                   headers: dict[str, str], signed: list[str], body: bytes) -> str:  # fmt: skip
    canonical_headers = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in signed)
    canonical = "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query(query),
            canonical_headers,
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    return f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


class SignatureError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def verify_acs3(method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str],
                body: bytes, secrets: dict[str, str], seen_nonces: set[str]) -> str:  # fmt: skip
    """Check one request's V3 signature; returns the AccessKey id (SignatureError otherwise)."""
    auth = headers.get("authorization", "")
    match = re.fullmatch(
        rf"{ALGORITHM} Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{{64}})", auth
    )
    if match is None:
        raise SignatureError(400, "IncompleteSignature", "The request signature is malformed.")
    key_id, signed_raw, signature = match.groups()
    if key_id not in secrets:
        raise SignatureError(
            404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
        )
    signed = signed_raw.split(";")
    if signed != sorted(signed) or any(h not in signed for h in REQUIRED_SIGNED):
        raise SignatureError(400, "IncompleteSignature", "Required headers are not signed.")
    if headers.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
        raise SignatureError(400, "SignatureDoesNotMatch", "The payload hash does not match.")
    try:
        stamp = datetime.strptime(headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError as exc:
        raise SignatureError(400, "InvalidTimeStamp.Format", "x-acs-date is malformed.") from exc
    if abs((datetime.now(UTC).replace(tzinfo=None) - stamp).total_seconds()) > 900:
        raise SignatureError(400, "InvalidTimeStamp.Expired", "x-acs-date is out of range.")
    expected = hmac.new(
        secrets[key_id].encode(),
        string_to_sign(method, path, query, headers, signed, body).encode(),
        hashlib.sha256,
    ).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise SignatureError(
            400,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation.",
        )
    nonce = headers.get("x-acs-signature-nonce", "")
    if nonce in seen_nonces:
        raise SignatureError(
            400, "SignatureNonceUsed", "Specified signature nonce was used already."
        )
    seen_nonces.add(nonce)
    return key_id


@dataclass
class RegisteredTemplate:
    code: str
    content: str  # with ${var}
    kind: str = "notification"  # notification | promotion
    max_var_length: int = 35


@dataclass
class Sent:
    biz_id: str
    phone: str  # 11 digits, as the API takes it
    template: str
    params: dict[str, str]
    content: str
    sign: str
    at: datetime
    action: str
    out_id: str | None = None
    status: int = 3  # 1 waiting for the receipt, 2 failed, 3 delivered
    err_code: str = "DELIVERED"


@dataclass
class FakeAliyunSms:
    """The fake gateway. `secrets` maps AccessKey ids to secrets; `signs` are approved 签名."""

    secrets: dict[str, str]
    signs: set[str]
    templates: dict[str, RegisteredTemplate]
    qps: float | None = None  # flow control over all actions (Throttling.User above it)
    burst_seconds: float = 0.2  # the bucket holds this many seconds' worth of requests
    per_number_per_minute: int | None = None  # isv.BUSINESS_LIMIT_CONTROL when set
    batch_limit: int = 100
    requests: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    undeliverable: dict[str, str] = field(default_factory=dict)  # phone -> receipt error code
    pending_receipts: set[str] = field(default_factory=set)  # phones whose receipt has not come
    rejected: list[dict[str, Any]] = field(default_factory=list)  # signature failures

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._nonces: set[str] = set()
        self._tokens = 0.0
        self._bucket_at: float | None = None
        self._per_number: dict[str, deque[float]] = {}
        self._seq = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=lambda: self.server.serve_forever(poll_interval=0.05), daemon=True
        )

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> FakeAliyunSms:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # --- scripting and inspection --------------------------------------------------------

    def answer(self, status: int, code: str, message: str = "") -> None:
        """Answer the next request with this error (HTTP status, Code, Message)."""
        self.script.append((status, {"Code": code, "Message": message or code}))

    def calls(self, action: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.requests if action is None or r["action"] == action]

    def report_body(self, sent: list[Sent] | None = None) -> list[dict[str, Any]]:
        """The SmsReport push Alibaba POSTs (a JSON array) for these messages."""
        rows = []
        for s in sent if sent is not None else self.sent:
            if s.phone in self.pending_receipts:
                continue
            ok = s.status == 3
            rows.append(
                {
                    "phone_number": s.phone,
                    "send_time": s.at.strftime("%Y-%m-%d %H:%M:%S"),
                    "report_time": (s.at + timedelta(seconds=3)).strftime("%Y-%m-%d %H:%M:%S"),
                    "success": ok,
                    "err_code": s.err_code,
                    "err_msg": "用户接收成功" if ok else "失败",
                    "sms_size": "1",
                    "biz_id": s.biz_id,
                    "out_id": s.out_id or "",
                }
            )
        return rows

    def up_body(
        self, phone: str, content: str, sequence_id: int | None = None
    ) -> list[dict[str, Any]]:
        """The SmsUp push (上行短信) for one reply from `phone`."""
        return [
            {
                "phone_number": phone,
                "send_time": datetime.now(CST).strftime("%Y-%m-%d %H:%M:%S"),
                "content": content,
                "sign_name": next(iter(sorted(self.signs)), ""),
                "dest_code": "1234",
                "sequence_id": sequence_id if sequence_id is not None else next(self._seq) + 10**9,
            }
        ]

    # --- the API ---------------------------------------------------------------------------

    def _throttled(self, now: float) -> bool:
        """Flow control as a token bucket: `qps` tokens a second, a burst of `burst_seconds`."""
        if not self.qps:
            return False
        capacity = max(1.0, self.qps * self.burst_seconds)
        if self._bucket_at is None:
            self._tokens, self._bucket_at = capacity, now
        self._tokens = min(capacity, self._tokens + (now - self._bucket_at) * self.qps)
        self._bucket_at = now
        if self._tokens < 1.0:
            return True
        self._tokens -= 1.0
        return False

    def _frequency_limited(self, phone: str, now: float) -> bool:
        if not self.per_number_per_minute:
            return False
        times = self._per_number.setdefault(phone, deque())
        while times and now - times[0] >= 60.0:
            times.popleft()
        if len(times) >= self.per_number_per_minute:
            return True
        times.append(now)
        return False

    def _check_message(
        self, phone: str, sign: str, code: str, params: dict[str, str]
    ) -> dict[str, Any] | None:
        template = self.templates.get(code)
        if sign not in self.signs:
            return {"Code": "isv.SMS_SIGNATURE_ILLEGAL", "Message": "该账号下找不到对应签名"}
        if template is None:
            return {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "该账号下找不到对应模板"}
        if not re.fullmatch(r"1[3-9]\d{9}", phone):
            return {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}
        if phone.startswith("170"):
            return {"Code": "isv.BLACK_KEY_CONTROL_LIMIT", "Message": "黑名单管控"}
        names = _VAR.findall(template.content)
        if any(not params.get(n) for n in names):
            return {"Code": "isv.TEMPLATE_MISSING_PARAMETERS", "Message": "模板变量缺少对应参数值"}
        if any(len(params[n]) > template.max_var_length for n in names):
            return {"Code": "isv.PARAM_LENGTH_LIMIT", "Message": "参数超出长度限制"}
        return None

    def _record(self, action: str, phone: str, sign: str, code: str, params: dict[str, str],
                biz_id: str, out_id: str | None) -> None:  # fmt: skip
        content = _VAR.sub(lambda m: params.get(m.group(1), ""), self.templates[code].content)
        sent = Sent(biz_id=biz_id, phone=phone, template=code, params=params,
                    content=f"【{sign}】{content}", sign=sign, at=datetime.now(CST),
                    action=action, out_id=out_id)  # fmt: skip
        if phone in self.undeliverable:
            sent.status, sent.err_code = 2, self.undeliverable[phone]
        if phone in self.pending_receipts:
            sent.status, sent.err_code = 1, ""
        self.sent.append(sent)

    @staticmethod
    def _biz_id() -> str:
        return f"{int(time.time() * 1000) % 10**12:012d}{uuid.uuid4().int % 10**6:06d}^0"

    def _send_sms(self, q: dict[str, str], now: float) -> dict[str, Any]:
        phones = [p.strip() for p in q.get("PhoneNumbers", "").split(",") if p.strip()]
        params = json.loads(q.get("TemplateParam") or "{}")
        for phone in phones:
            error = self._check_message(
                phone, q.get("SignName", ""), q.get("TemplateCode", ""), params
            )
            if error is not None:
                return error
        if any(self._frequency_limited(p, now) for p in phones):
            return {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1"}
        biz_id = self._biz_id()
        for phone in phones:
            self._record(
                "SendSms", phone, q["SignName"], q["TemplateCode"], params, biz_id, q.get("OutId")
            )
        return {"Code": "OK", "Message": "OK", "BizId": biz_id}

    def _send_batch(self, q: dict[str, str]) -> dict[str, Any]:
        phones = json.loads(q.get("PhoneNumberJson") or "[]")
        signs = json.loads(q.get("SignNameJson") or "[]")
        params = json.loads(q.get("TemplateParamJson") or "[]")
        if len(phones) > self.batch_limit:
            return {"Code": "isv.MOBILE_COUNT_OVER_LIMIT", "Message": "手机号码数量超过限制"}
        if not phones or len(signs) != len(phones) or (params and len(params) != len(phones)):
            return {"Code": "isv.INVALID_JSON_PARAM", "Message": "JSON参数不合法"}
        for phone, sign, p in zip(phones, signs, params or [{}] * len(phones), strict=True):
            error = self._check_message(phone, sign, q.get("TemplateCode", ""), p)
            if error is not None:
                return error
        biz_id = self._biz_id()
        for phone, sign, p in zip(phones, signs, params or [{}] * len(phones), strict=True):
            self._record("SendBatchSms", phone, sign, q["TemplateCode"], p, biz_id, q.get("OutId"))
        return {"Code": "OK", "Message": "OK", "BizId": biz_id}

    def _query(self, q: dict[str, str]) -> dict[str, Any]:
        phone, biz_id = q.get("PhoneNumber", ""), q.get("BizId", "")
        if not phone or not q.get("SendDate") or not q.get("PageSize") or not q.get("CurrentPage"):
            return {"Code": "isv.INVALID_PARAMETERS", "Message": "参数异常"}
        found = [s for s in self.sent if s.phone == phone and (not biz_id or s.biz_id == biz_id)]
        dtos = [
            {
                "SendDate": s.at.strftime("%Y-%m-%d %H:%M:%S"),
                "SendStatus": s.status,
                "ReceiveDate": (s.at + timedelta(seconds=3)).strftime("%Y-%m-%d %H:%M:%S")
                if s.status != 1
                else "",
                "ErrCode": s.err_code,
                "TemplateCode": s.template,
                "Content": s.content,
                "PhoneNum": s.phone,
                "OutId": s.out_id or "",
            }
            for s in found
        ]
        return {"Code": "OK", "Message": "OK", "TotalCount": len(dtos),
                "SmsSendDetailDTOs": {"SmsSendDetailDTO": dtos}}  # fmt: skip

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(raw_path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        form = parse_qsl(body.decode("utf-8"), keep_blank_values=True) if body else []
        now = time.monotonic()
        with self.lock:
            try:
                verify_acs3(method, parts.path, query, headers, body, self.secrets, self._nonces)
            except SignatureError as exc:
                self.rejected.append({"code": exc.code, "headers": headers})
                return exc.status, {
                    "Code": exc.code,
                    "Message": exc.message,
                    "HostId": "dysmsapi.aliyuncs.com",
                }
            q = dict(query) | dict(form)
            action = headers.get("x-acs-action", "")
            self.requests.append({"t": now, "action": action, "query": q, "headers": headers})
            if self.script:
                status, payload = self.script.pop(0)
                return status, payload
            if self._throttled(now):
                self.requests[-1]["throttled"] = True
                return 400, {
                    "Code": "Throttling.User",
                    "Message": "Request was denied due to user flow control.",
                }
            if headers.get("x-acs-version") != "2017-05-25":
                return 400, {
                    "Code": "InvalidVersion",
                    "Message": "Specified parameter Version is not valid.",
                }
            if action == "SendSms":
                return 200, self._send_sms(q, now)
            if action == "SendBatchSms":
                return 200, self._send_batch(q)
            if action == "QuerySendDetails":
                return 200, self._query(q)
            return 404, {"Code": "InvalidAction.NotFound", "Message": "Specified api is not found."}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload = fake.handle(self.command, self.path, headers, body)
                payload.setdefault("RequestId", str(uuid.uuid4()).upper())
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = _serve
            do_GET = _serve

        return Handler
