"""The composition root: reads the settings once and builds the shared services.

Nothing outside `server/` reads the environment; CLI commands and the web app both get their
collaborators from a `Container` built here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

import knowledge
from core.broadcasts.texts import SmsCost
from core.dialogue.engine import DialogueEngine, Finish
from core.dialogue.events import EngineResult, InboundEvent
from core.dialogue.otp import OneTimeCodes
from core.kernel.filestore import LocalFileStore
from core.kernel.quiet_hours import QuietHours
from core.kernel.settings import Settings
from core.kernel.workdays import WorkCalendar
from core.outbox.senders import ConsoleSender, Sender
from core.persistence.db import make_engine, upgrade
from core.reminders.ladder import DEFAULT_POLICY, ReminderPolicy, load_reminder_policy
from core.staff import PasswordHasher
from core.staff.faq_edits import stored_entries
from knowledge import KnowledgeBase
from knowledge.answer_cache import CachedAnswers
from knowledge.policy import Policy, load_policy
from server.logsetup import MaskingFilter, configure_logging

if TYPE_CHECKING:  # the doors are imported when first built (a CLI command needs none of them)
    from bot.app import TelegramBot
    from sms.aliyun_push import AliyunPush
    from sms.webhooks import SmsWebhooks
    from wechat.client import WechatApiClient
    from wechat.texts import WechatData
    from wechat.webhooks import WechatWebhooks

log = logging.getLogger(__name__)
__all__ = [
    "Container",
    "LazyDialogue",
    "MaskingFilter",
    "configure_logging",
    "get_container",
    "use_container",
    "wechat_missing",
]


@dataclass
class Container:
    """Shared services built from one Settings object, each on first use and once. Route
    modules, workers and CLI commands read these accessors; nothing else writes into it."""

    settings: Settings = field(default_factory=Settings)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def calendar(self) -> WorkCalendar:
        return WorkCalendar(self.knowledge_path / "calendar")

    @property
    def knowledge_path(self) -> Path:
        if self.settings.knowledge_dir:
            return self.settings.knowledge_dir
        return Path(knowledge.__file__).resolve().parent

    @cached_property
    def policy(self) -> Policy:
        """The active policy file (setting POLICY)."""
        return load_policy(self.settings.policy, self.knowledge_path / "policies")

    @cached_property
    def knowledge_cache(self) -> Path:
        """DATA_DIR/cache, where the FAQ analysis and jieba's dictionary cache are kept (passed
        to knowledge/, which reads no environment)."""
        cache = self.settings.data_dir / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        knowledge.set_cache_dir(cache)
        return cache

    def faq_additions(self) -> list[dict[str, Any]]:
        """The FAQ entries staff added (stored in the database; a former
        faq/staff_additions.yaml is moved there first): the knowledge loader's extra entries."""
        return stored_entries(self.engine, self.knowledge_path)

    @cached_property
    def kb(self) -> KnowledgeBase:
        """The FAQ knowledge base, rendered with the active policy, with the staff additions."""
        self.knowledge_cache  # noqa: B018 - the cache folder is set before the index is built
        return KnowledgeBase.load(self.knowledge_path, self.policy, extra=self.faq_additions)

    @cached_property
    def hasher(self) -> PasswordHasher:
        """Staff password hashing at the configured argon2 cost."""
        return PasswordHasher(
            self.settings.password_hash_time_cost, self.settings.password_hash_memory_kib
        )

    @cached_property
    def files(self) -> LocalFileStore:
        return LocalFileStore(self.settings.documents_path)

    @cached_property
    def dialogue(self) -> DialogueEngine:
        """The conversation engine shared by Telegram, SMS and the terminal."""
        return DialogueEngine(
            self.engine,
            faq=CachedAnswers(self.kb),
            policy=self.policy,
            calendar=self.calendar,
            files=self.files,
            max_upload_bytes=self.settings.max_upload_mb * 1024 * 1024,
            codes=OneTimeCodes(self.settings.secret_key),
        )

    @cached_property
    def sms_sender(self) -> Sender:
        """The SMS_PROVIDER gateway (Twilio, Aliyun) when configured, else a console sender."""
        from sms.gateway import build_sms_sender

        return build_sms_sender(self.settings, self.engine)

    @cached_property
    def sms_cost(self) -> SmsCost:
        """Signature, unsubscribe hint, segments and price exactly as the SMS sender applies
        them (broadcast previews and fan-outs)."""
        from sms.segments import count_segments, encoding_of
        from sms.templates import decorate

        s = self.settings

        def final(text: str) -> str:
            return decorate(
                text,
                kind="broadcast",
                signature=s.sms_signature,
                unsubscribe_hint=s.sms_unsubscribe_hint,
            )

        return SmsCost(
            decorate=final,
            segments=count_segments,
            price_per_segment_yuan=Decimal(s.sms_segment_price_yuan),
            encoding=encoding_of,
        )

    @property
    def reminder_policy(self) -> ReminderPolicy:
        """The deployment's reminder ladder (setting REMINDER_POLICY, default reminders-default)."""
        name = str(self.settings.reminder_policy or DEFAULT_POLICY)
        return load_reminder_policy(name, self.knowledge_path / "policies")

    @property
    def quiet_hours(self) -> QuietHours:
        s = self.settings
        return QuietHours.parse(s.quiet_hours_start, s.quiet_hours_end)

    @cached_property
    def telegram(self) -> TelegramBot | None:
        """The process's bot in webhook mode (None without TELEGRAM_BOT_TOKEN)."""
        return self.build_telegram()

    def build_telegram(self, *, polling: bool = False) -> TelegramBot | None:
        """A new bot from the settings (`chuangdai bot poll` builds its own, polling)."""
        from bot.app import BotConfig, TelegramBot

        config = BotConfig.from_settings(self.settings)
        if config is None:
            return None
        return TelegramBot(
            config, LazyDialogue(self), self.engine, sms_cost=self.sms_cost, polling=polling
        )

    @cached_property
    def wechat_data(self) -> WechatData:
        from wechat.texts import load_wechat_data

        return load_wechat_data(self.knowledge_path / "templates" / "wechat.yaml")

    @cached_property
    def wechat_client(self) -> WechatApiClient | None:
        """The process's wechatpy client (None when WeChat is not configured); the webhook
        handler and the outbox sender share it, and its access_token lives in the database."""
        if wechat_missing(self.settings):
            return None
        from wechat.client import DbTokenStore, WechatApiClient, install_log_scrubbing

        s = self.settings
        install_log_scrubbing()
        assert s.wechat_app_id and s.wechat_app_secret
        return WechatApiClient(
            s.wechat_app_id,
            s.wechat_app_secret,
            DbTokenStore(self.engine, s.wechat_app_id),
            api_base_url=s.wechat_api_base_url,
        )

    @cached_property
    def wechat_sender(self) -> Sender:
        """The "wechat" sender of the outbox (a console sender that logs when not configured)."""
        client = self.wechat_client
        if client is None:
            return ConsoleSender("wechat")
        from wechat.sender import WechatSender

        rate = self.settings.wechat_rate_per_second
        return WechatSender(client, self.engine, self.wechat_data, rate_per_second=rate)

    @cached_property
    def senders(self) -> dict[str, Sender]:
        """channel -> outbox sender: Telegram (when the bot is configured), SMS (the configured
        gateway) and WeChat; a channel without credentials gets a console sender that logs."""
        bot = self.telegram
        return {
            "telegram": bot.sender if bot is not None else ConsoleSender("telegram"),
            "sms": self.sms_sender,
            "wechat": self.wechat_sender,
        }

    @cached_property
    def wechat_webhooks(self) -> WechatWebhooks:
        """GET/POST /wechat's handler."""
        from wechat.inbound import Authenticator
        from wechat.media import MediaFetcher
        from wechat.webhooks import WechatWebhooks

        s = self.settings
        client = self.wechat_client
        auth = None
        media = None
        if client is not None:
            assert s.wechat_token and s.wechat_app_id
            auth = Authenticator(
                token=s.wechat_token, app_id=s.wechat_app_id, aes_key=s.wechat_encoding_aes_key
            )
            media = MediaFetcher(client, max_bytes=s.max_upload_mb * 1024 * 1024)
        return WechatWebhooks(
            db=self.engine, dialogue=self._dialogue, auth=auth, media=media, data=self.wechat_data
        )

    @cached_property
    def sms_webhooks(self) -> SmsWebhooks:
        """Twilio's /sms/inbound and /sms/status handler."""
        from sms.media import MediaFetcher, allowed_media_hosts
        from sms.webhooks import SmsWebhooks

        s = self.settings
        auth = (
            (s.twilio_account_sid, s.twilio_auth_token)
            if s.twilio_account_sid and s.twilio_auth_token
            else None
        )
        media = MediaFetcher(
            auth=auth,
            max_bytes=s.max_upload_mb * 1024 * 1024,
            allowed_hosts=allowed_media_hosts(s.twilio_api_base_url),
        )
        return SmsWebhooks(
            db=self.engine,
            dialogue=self._dialogue,
            auth_token=s.twilio_auth_token,
            public_base_url=s.public_base_url,
            media=media,
            signature=s.sms_signature,
            replies_per_hour=s.sms_replies_per_hour,
        )

    @cached_property
    def aliyun_push(self) -> AliyunPush:
        """Aliyun's SmsReport/SmsUp push handler."""
        from sms.aliyun_push import AliyunPush

        token = self.settings.aliyun_sms_push_token
        return AliyunPush(
            db=self.engine,
            dialogue=self._dialogue,
            token=token.get_secret_value() if token is not None else None,
            replies_per_hour=self.settings.sms_replies_per_hour,
        )

    def _dialogue(self) -> DialogueEngine:
        """The dialogue engine, for a door that builds it on its first message."""
        return self.dialogue

    def migrate(self) -> None:
        upgrade(self.settings.database_url)


class LazyDialogue:
    """The container's dialogue engine, built on the first message (not at app creation)."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def handle(self, event: InboundEvent, finish: Finish | None = None) -> EngineResult:
        return self.container.dialogue.handle(event, finish)


def wechat_missing(settings: Settings) -> list[str]:
    """The WeChat settings that are missing or malformed (none: WeChat is configured)."""
    wanted = {
        "WECHAT_APP_ID": settings.wechat_app_id,
        "WECHAT_APP_SECRET": settings.wechat_app_secret,
        "WECHAT_TOKEN": settings.wechat_token,
    }
    missing = [name for name, value in wanted.items() if not value]
    key = settings.wechat_encoding_aes_key
    if key and len(key) != 43:
        missing.append("WECHAT_ENCODING_AES_KEY (must be 43 characters)")
    return missing


_bound: ContextVar[Container | None] = ContextVar("chuangdai_container", default=None)


@contextmanager
def use_container(container: Container) -> Iterator[Container]:
    """Run the `chuangdai` commands called inside with this container (how a test, or a program
    embedding the CLI, passes its own); scoped to the current thread or task, not the process."""
    token = _bound.set(container)
    try:
        yield container
    finally:
        _bound.reset(token)


def get_container() -> Container:
    """The container of a `chuangdai` command: the one bound by `use_container`, else a new one
    built from the settings (the environment and .env). There is no process-wide container."""
    return _bound.get() or Container()
