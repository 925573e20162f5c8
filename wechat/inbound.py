"""Authenticating and reading what WeChat posts to /wechat (wechatpy does the protocol).

- `signature` = SHA-1 over the sorted token, timestamp and nonce (wechatpy.utils.check_signature)
  is checked on every request; the timestamp must lie within 5 minutes of now (replays refused).
- 安全模式: with WECHAT_ENCODING_AES_KEY set, the body is `<xml><Encrypt>…</Encrypt></xml>` and
  `msg_signature` covers the ciphertext; wechatpy's WeChatCrypto checks it and decrypts (AES-256-CBC,
  the app id inside must be ours). Replies are encrypted the same way.
- Everything here is pure: a refusal is a `Refused(status, reason)`, nothing touches the database.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.utils import check_signature

MAX_SKEW_SECONDS = 300


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Incoming:
    """One authenticated message or event."""

    message: BaseMessage
    raw: dict[str, Any]
    kind: str  # text | image | voice | file | event:<name> | <other msg type>
    openid: str
    dedupe_key: str  # MsgId, or FromUserName:CreateTime for events


class Authenticator:
    def __init__(
        self,
        *,
        token: str,
        app_id: str,
        aes_key: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None
        self.clock = clock

    @property
    def encrypted(self) -> bool:
        return self.crypto is not None

    def _check(self, query: Mapping[str, str]) -> None:
        signature = query.get("signature", "")
        timestamp = query.get("timestamp", "")
        nonce = query.get("nonce", "")
        if not (signature and timestamp and nonce):
            raise Refused(403, "missing signature, timestamp or nonce")
        try:
            check_signature(self.token, signature, timestamp, nonce)
        except InvalidSignatureException as exc:
            raise Refused(403, "invalid signature") from exc

    def _fresh(self, query: Mapping[str, str]) -> None:
        timestamp = query.get("timestamp", "")
        if not timestamp.isdigit() or abs(self.clock() - int(timestamp)) > MAX_SKEW_SECONDS:
            raise Refused(403, "timestamp outside the 5-minute window (replay?)")

    def verify(self, query: Mapping[str, str]) -> str:
        """The server verification GET: the echostr to answer with."""
        self._check(query)
        echostr = query.get("echostr", "")
        if not echostr:
            raise Refused(400, "missing echostr")
        return echostr

    def open(self, query: Mapping[str, str], body: bytes) -> Incoming:
        """Authenticate and parse a POST (Refused 403 on authentication, 400 on bad XML)."""
        self._check(query)
        self._fresh(query)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Refused(400, "body is not UTF-8") from exc
        if self.crypto is not None:
            text = self._decrypt(query, text)
        try:
            message = parse_message(text)
        except (ExpatError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise Refused(400, "malformed XML") from exc
        if message is None:
            raise Refused(400, "empty body")
        return _incoming(message)

    def _decrypt(self, query: Mapping[str, str], text: str) -> str:
        assert self.crypto is not None
        msg_signature = query.get("msg_signature", "")
        if not msg_signature:
            raise Refused(403, "missing msg_signature (安全模式 is on)")
        try:
            plain: str = self.crypto.decrypt_message(
                text, msg_signature, query["timestamp"], query["nonce"]
            )
        except InvalidSignatureException as exc:
            raise Refused(403, "invalid msg_signature") from exc
        except InvalidAppIdException as exc:
            raise Refused(403, "encrypted for another app id") from exc
        except (ExpatError, KeyError, TypeError) as exc:
            raise Refused(400, "malformed XML") from exc
        except Exception as exc:  # bad base64, bad padding: not something WeChat sent
            raise Refused(400, "undecryptable message") from exc
        return plain

    def seal(self, xml: str, query: Mapping[str, str]) -> str:
        """The reply body: encrypted in 安全模式, as is otherwise."""
        if self.crypto is None or not xml:
            return xml
        sealed: str = self.crypto.encrypt_message(
            xml, query.get("nonce", ""), str(int(self.clock()))
        )
        return sealed


def _incoming(message: BaseMessage) -> Incoming:
    raw: dict[str, Any] = dict(message._data)
    msg_type = str(raw.get("MsgType") or "").lower()
    openid = str(raw.get("FromUserName") or "")
    if not openid or not (str(raw.get("CreateTime") or "").isdigit()):
        raise Refused(400, "FromUserName or CreateTime missing")
    if msg_type == "event":
        event = str(raw.get("Event") or "").lower()
        kind = f"event:{event}"
        # FromUserName + CreateTime identify an event (WeChat's rule); the event and its key are
        # added so that two different clicks in the same second are not taken for a retry.
        event_key = hashlib.sha1(str(raw.get("EventKey") or "").encode()).hexdigest()[:12]
        key = f"{openid}:{raw['CreateTime']}:{event[:20]}:{event_key}"
    else:
        msg_id = str(raw.get("MsgId") or "")
        if not msg_id.isdigit():
            raise Refused(400, "MsgId missing")
        kind, key = msg_type, msg_id
    if len(openid) > 64 or len(key) > 128:
        raise Refused(400, "identifier too long")
    return Incoming(message=message, raw=raw, kind=kind, openid=openid, dedupe_key=key)
