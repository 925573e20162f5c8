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
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

import knowledge
from core.dialogue.engine import DialogueEngine
from core.dialogue.otp import OneTimeCodes
from core.kernel.filestore import LocalFileStore
from core.kernel.quiet_hours import QuietHours
from core.kernel.settings import Settings
from core.kernel.workdays import WorkCalendar
from core.outbox.senders import Sender
from core.persistence.db import make_engine, upgrade
from core.staff import PasswordHasher
from core.staff.faq_edits import stored_entries
from knowledge import KnowledgeBase
from knowledge.answer_cache import CachedAnswers
from knowledge.policy import Policy, load_policy
from server.logsetup import MaskingFilter, configure_logging

log = logging.getLogger(__name__)
__all__ = ["Container", "MaskingFilter", "configure_logging", "get_container", "use_container"]


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
    def quiet(self) -> QuietHours:
        """Quiet hours (QUIET_HOURS_START/END, Asia/Shanghai): no notice or broadcast is sent."""
        return QuietHours.parse(self.settings.quiet_hours_start, self.settings.quiet_hours_end)

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

    def migrate(self) -> None:
        upgrade(self.settings.database_url)


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
