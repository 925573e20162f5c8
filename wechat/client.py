"""The wechatpy client pointed at WECHAT_API_BASE_URL, with the access_token kept in the database.

- Base URL: `WeChatClient.API_BASE_URL` is wechatpy's seam for every API path (message/custom/send,
  message/template/send, media/get, menu/create); the token request, which the library builds from
  a fixed URL, goes to the same base (`token`). Tests point it at a local fake.
- The token: `DbTokenStore` is the client's `session` storage (wechatpy's `SessionStorage`
  interface) over core/outbox/tokens.py. Every worker reads one `wechat_token` row; a token about to expire (5 minutes
  before, when WeChat already accepts a successor) or refused by WeChat (40001/40014/42001) is
  refreshed by exactly one worker: the one that wins a short lease with a compare-and-swap UPDATE
  that also requires the row still to hold the stale token. The others wait for the row to change.
- `auto_retry` is off: the sender refreshes once and retries once itself (wechatpy's own retry
  would loop on a token that keeps failing).
- Secrets: errors are scrubbed of the app secret and tokens before they reach logs or notices.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from core.database import Database
from core.kernel.timeutil import utcnow
from core.outbox.tokens import TokenRows

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.weixin.qq.com/cgi-bin/"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
TOKEN_HINTS = {
    40164: "(add this server's outgoing IP to the 公众号 IP allow-list, 基本配置 → IP白名单)",
    40125: "(check WECHAT_APP_SECRET)",
    40013: "(check WECHAT_APP_ID)",
}
EARLY = timedelta(minutes=5)  # refresh this long before expiry
LEASE = timedelta(seconds=20)  # one worker fetches; must exceed the HTTP timeout
_SECRET_PARAMS = re.compile(r"(access_token|secret)=[^&\s'\"]+")


class TokenUnavailable(RuntimeError):
    """No valid access_token could be obtained (the fetch failed, or another worker's hangs)."""


class DbTokenStore(SessionStorage):
    """wechatpy session storage for the access_token, shared by all workers through the database."""

    def __init__(self, db: Database, app_id: str, *, wait_seconds: float = 15.0) -> None:
        self.db = db
        self.app_id = app_id
        self.rows = TokenRows(db, app_id)
        self.wait_seconds = wait_seconds
        self._served = threading.local()

    # --- wechatpy's SessionStorage interface --------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        token = self.valid_token()
        self._served.token = token
        return token if token is not None else default

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        """Called by wechatpy with a freshly fetched token: store it and release the lease."""
        self.rows.store(str(value), int(ttl or 7200))
        self._served.token = str(value)

    def delete(self, key: str) -> None:
        self.rows.forget()

    # --- the shared refresh -------------------------------------------------------------------

    def last_served(self) -> str | None:
        """The token this thread last handed to the client (the one a refused call used)."""
        return getattr(self._served, "token", None)

    def valid_token(self) -> str | None:
        token, expires = self.rows.current()
        if token and expires is not None and expires - EARLY > utcnow():
            return str(token)
        return None

    def refresh(self, fetch: Callable[[], Any], stale: str | None = None) -> str:
        """A valid token other than `stale`: fetched by this worker if it wins the lease, else
        the one another worker stores meanwhile."""
        self.rows.ensure()
        deadline = time.monotonic() + self.wait_seconds
        while True:
            token = self.valid_token()
            if token is not None and token != stale:
                self._served.token = token
                return token
            if self.rows.win_lease(stale, EARLY, LEASE):
                try:
                    fetch()  # wechatpy stores the new token through set()
                except BaseException:
                    self.rows.release()
                    raise
                token = self.valid_token()
                if token is None:
                    raise TokenUnavailable("access_token fetched but not stored")
                self._served.token = token
                return token
            if time.monotonic() > deadline:
                raise TokenUnavailable("waited too long for another worker's token refresh")
            time.sleep(0.05)


class _TimeoutSession(requests.Session):
    """The client's HTTP session with a default timeout (wechatpy's token request sets none)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)


class WechatApiClient(WeChatClient):
    """wechatpy's client for one official account, on a configurable base URL."""

    def __init__(
        self,
        app_id: str,
        secret: str,
        tokens: DbTokenStore,
        *,
        api_base_url: str = DEFAULT_API_BASE_URL,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(app_id, secret, session=tokens, timeout=timeout, auto_retry=False)
        self._http = _TimeoutSession(timeout)
        self.API_BASE_URL = api_base_url.rstrip("/") + "/"
        self.tokens = tokens

    @property
    def access_token(self) -> str:
        token = self.tokens.get(self.access_token_key)
        if token is not None:
            return str(token)
        return self.tokens.refresh(self._fetch_from_wechat)

    def fetch_access_token(self) -> Any:
        """wechatpy's hook: refresh through the shared store (once for all workers)."""
        return self.tokens.refresh(self._fetch_from_wechat)

    def refresh_after_refusal(self) -> str:
        """The token just used was refused (40001/42001): replace it unless another worker did."""
        return self.tokens.refresh(self._fetch_from_wechat, stale=self.tokens.last_served())

    def _fetch_from_wechat(self) -> Any:
        log.info("wechat: fetching a new access_token")
        try:
            return self._fetch_access_token(
                url=self.API_BASE_URL + "token",
                params={
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self.secret,
                },
            )
        except (WeChatClientException, requests.RequestException) as exc:
            code = getattr(exc, "errcode", None)
            hint = TOKEN_HINTS.get(code or 0, "")
            message = self.scrub(f"access_token request failed: {code} {exc} {hint}".strip())
            log.error("wechat: %s", message)
            raise TokenUnavailable(message) from exc

    def scrub(self, text: str) -> str:
        """`text` without the app secret or any access_token (also inside URLs)."""
        for secret in (self.secret, self.tokens.last_served()):
            if secret:
                text = text.replace(secret, "***")
        return _SECRET_PARAMS.sub(r"\1=***", text)


class SecretQueryFilter(logging.Filter):
    """Masks `access_token=` and `secret=` query values in log records of the HTTP libraries
    (httpx logs every request URL at INFO, urllib3 at DEBUG; WeChat puts both in the query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "access_token=" in message or "secret=" in message:
            record.msg = _SECRET_PARAMS.sub(r"\1=***", message)
            record.args = ()
        return True


def install_log_scrubbing() -> None:
    """Add `SecretQueryFilter` to the loggers that print request URLs (once)."""
    for name in ("httpx", "urllib3.connectionpool"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, SecretQueryFilter) for f in logger.filters):
            logger.addFilter(SecretQueryFilter())
