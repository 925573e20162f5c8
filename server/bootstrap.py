"""The composition root: reads the settings once and builds the shared services.

Nothing outside `server/` reads the environment; CLI commands and the web app both get their
collaborators from a `Container` built here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy.engine import Engine

import knowledge
from core.db import make_engine, upgrade
from core.dialogue.engine import DialogueEngine
from core.filestore import LocalFileStore
from core.otp import OneTimeCodes
from core.senders import Sender
from core.settings import Settings
from core.workdays import WorkCalendar
from knowledge import KnowledgeBase
from knowledge.answer_cache import CachedAnswers
from knowledge.policy import Policy, load_policy
from server.logsetup import MaskingFilter, configure_logging

log = logging.getLogger(__name__)
__all__ = ["Container", "MaskingFilter", "configure_logging", "get_container", "set_container"]


@dataclass
class Container:
    """Shared services built from one Settings object."""

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
    def kb(self) -> KnowledgeBase:
        """The FAQ knowledge base, rendered with the active policy; also the process default."""
        cache = self.settings.data_dir / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        knowledge.set_cache_dir(cache)
        kb = KnowledgeBase.load(self.knowledge_path, self.policy)
        knowledge.set_default(kb)
        return kb

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

    def migrate(self) -> None:
        upgrade(self.settings.database_url)


_container: Container | None = None


def get_container() -> Container:
    """The process-wide container (built on first use)."""
    global _container
    if _container is None:
        _container = Container()
    return _container


def set_container(container: Container | None) -> None:
    global _container
    _container = container
