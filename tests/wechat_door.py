"""WeChat's side of /wechat for tests: real signed (and AES-encrypted) requests, replies read back.

Signatures are computed here with hashlib (independently of the code under test); encryption uses
wechatpy's WeChatCrypto as the WeChat server would.
"""

from __future__ import annotations

import hashlib
import itertools
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import httpx
from fastapi.testclient import TestClient
from wechatpy.crypto import WeChatCrypto

from tests.fakes.wechat_api import APP_ID

TOKEN = "wechat-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters
OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz01"
SERVICE = "gh_0123456789ab"
_ids = itertools.count(int(time.time() * 1000) % 10**9 * 1000)


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def new_msg_id() -> str:
    return str(6_000_000_000_000_000_000 + next(_ids))


def text_xml(content: str, msg_id: str | None = None, openid: str = OPENID) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{SERVICE}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or new_msg_id()}</MsgId></xml>"
    )


def media_xml(kind: str, media_id: str, msg_id: str | None = None, openid: str = OPENID) -> str:
    extra = "<Format><![CDATA[amr]]></Format>" if kind == "voice" else ""
    extra += "<PicUrl><![CDATA[http://mmbiz.example/x]]></PicUrl>" if kind == "image" else ""
    extra += "<Title><![CDATA[营业执照.pdf]]></Title>" if kind == "file" else ""
    return (
        f"<xml><ToUserName><![CDATA[{SERVICE}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId>{extra}<MsgId>{msg_id or new_msg_id()}</MsgId>"
        "</xml>"
    )


def event_xml(event: str, key: str = "", openid: str = OPENID, at: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{SERVICE}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{at or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>"
    )


class Door:
    """Posts to /wechat as the WeChat server does, in plaintext or 安全模式."""

    def __init__(self, client: TestClient, encrypted: bool = False) -> None:
        self.client = client
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID) if encrypted else None

    def query(self, *, timestamp: int | None = None, token: str = TOKEN) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = uuid.uuid4().hex[:10]
        return {"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce}

    def post(self, xml: str, **kw: Any) -> httpx.Response:
        query = self.query(**kw)
        body = xml
        if self.crypto is not None:
            sealed = self.crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
            root = ET.fromstring(sealed)
            body = f"<xml><ToUserName><![CDATA[{SERVICE}]]></ToUserName><Encrypt><![CDATA[{root.findtext('Encrypt')}]]></Encrypt></xml>"
            query.update(
                encrypt_type="aes", msg_signature=str(root.findtext("MsgSignature")), openid=OPENID
            )
        return self.client.post("/wechat", params=query, content=body.encode())

    def reply(self, response: httpx.Response) -> str:
        """The passive reply's text ('' for "success" or an empty body)."""
        assert response.status_code == 200, (response.status_code, response.text)
        if response.text in ("", "success"):
            return ""
        xml = response.text
        if self.crypto is not None:
            root = ET.fromstring(xml)
            xml = self.crypto.decrypt_message(
                xml,
                str(root.findtext("MsgSignature")),
                str(root.findtext("TimeStamp")),
                str(root.findtext("Nonce")),
            )
        root = ET.fromstring(xml)
        assert root.findtext("MsgType") == "text"
        assert root.findtext("ToUserName") is not None
        return str(root.findtext("Content"))

    def say(self, text: str, **kw: Any) -> str:
        return self.reply(self.post(text_xml(text, **kw)))
