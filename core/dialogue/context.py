"""What every flow step works with: the services, the typed FAQ port and the message context."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from sqlmodel import Session

from core.applications import lifecycle as apps
from core.dialogue.commands import squash
from core.dialogue.events import InboundEvent, Option, Reply
from core.dialogue.otp import OneTimeCodes
from core.dialogue.state import ConversationState, Flow
from core.kernel.filestore import FileStore
from core.kernel.workdays import WorkCalendar
from core.persistence.models import ApplicationRow, ChannelIdentityRow
from knowledge.policy import Policy


class FaqAnswer(Protocol):
    """One answer of the FAQ port (knowledge.Answer satisfies it)."""

    @property
    def matched(self) -> bool: ...
    @property
    def entry_id(self) -> str | None: ...
    @property
    def answer(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def source(self) -> str | None: ...
    @property
    def suggestions(self) -> list[str]: ...
    @property
    def suggestion_ids(self) -> list[str]: ...
    @property
    def handoff(self) -> bool: ...
    @property
    def out_of_scope(self) -> bool: ...
    @property
    def no_question(self) -> bool: ...


class Faq(Protocol):
    def answer(
        self, question: str, channel: str = "telegram", previous: str | None = None
    ) -> FaqAnswer: ...
    def answer_entry(self, entry_id: str, channel: str = "telegram") -> FaqAnswer: ...


@dataclass
class Services:
    """The collaborators of the flows (built once by the engine)."""

    faq: Faq
    policy: Policy
    calendar: WorkCalendar
    files: FileStore
    codes: OneTimeCodes
    max_upload_bytes: int
    today: Callable[[], date]


@dataclass
class Ctx:
    """What a flow step sees and may change."""

    session: Session
    svc: Services
    event: InboundEvent
    identity: ChannelIdentityRow
    flow: Flow | None
    step: str | None
    state: ConversationState
    text: str
    truncated: bool = False
    replies: list[Reply] = field(default_factory=list)
    stored_files: list[str] = field(default_factory=list)  # to delete if the transaction fails
    replaced_files: list[str] = field(default_factory=list)  # to delete after the commit
    resume: Callable[[Ctx], None] | None = None  # asks the current flow's question again

    def say(self, text: str, options: Sequence[Option] = (), sms: str | None = None) -> None:
        self.replies.append(Reply(text=text, options=tuple(options), sms_text=sms))

    def ask(self, text: str, options: Sequence[Option] = (), sms: str | None = None) -> None:
        """Say something with numbered options: a bare number now means one of these."""
        self.state.options = [o.key for o in options]
        self.say(text, options, sms)

    def set_flow(self, flow: Flow | None, step: str | None = None) -> None:
        self.flow, self.step = flow, step
        if flow is None:
            self.state.options = []

    def offered(self, text: str | None = None) -> str | None:
        """A number typed in reply to the last numbered options ("1", "2") -> the option key."""
        t = squash(self.text if text is None else text)
        offered = self.state.options
        if t.isascii() and t.isdigit() and offered:
            i = int(t) - 1
            if 0 <= i < len(offered):
                return offered[i]
        return None

    @property
    def channel(self) -> str:
        return self.event.channel

    @property
    def sms(self) -> bool:
        return self.event.channel == "sms"


def opts(pairs: Sequence[tuple[str, str]]) -> tuple[Option, ...]:
    return tuple(Option(k, v) for k, v in pairs)


def current_application(ctx: Ctx) -> ApplicationRow | None:
    """The open application of this chat, else its latest one."""
    if ctx.identity.id is None:
        return None
    found = apps.applications_for_identity(ctx.session, ctx.identity.id)
    open_apps = [a for a in found if a.stage not in apps.CLOSED]
    return open_apps[0] if open_apps else (found[0] if found else None)
