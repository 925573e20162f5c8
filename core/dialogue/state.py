"""The typed state of a conversation, stored as JSON in `conversation.state`.

`Flow` names the flow a conversation is in (`conversation.flow`); each flow keeps its own part of
`ConversationState`. Unknown keys in a stored row are dropped on load (migration 0009 converted the
ad-hoc keys of older rows).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Flow(StrEnum):
    PRECHECK = "precheck"
    APPLY = "apply"  # intake questions of an application
    DOCS = "docs"
    HANDOFF = "handoff"
    LINK = "link"  # 绑定: link the chat to the number on file with an SMS one-time code


class _State(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=False)


class FaqState(_State):
    """Suggested questions offered with the last FAQ answer (picked by number or button)."""

    suggestions: list[str] = Field(default_factory=list)
    suggestion_ids: list[str] = Field(default_factory=list)
    # the entry answered last: a short follow-up ("那要多久？") reads against it
    last: str | None = None


class PrecheckState(_State):
    answers: dict[str, Any] = Field(default_factory=dict)
    order: list[str] = Field(default_factory=list)  # answered steps, for 返回
    default: int | None = None  # the cap offered as the default amount / term


class LastPrecheck(_State):
    profile: dict[str, Any] = Field(default_factory=dict)
    decision: dict[str, Any] = Field(default_factory=dict)


class ApplyState(_State):
    """Intake of an application: the draft it writes to and the question being edited."""

    app_id: int | None = None
    editing: bool = False  # a 修改 answer returns to the summary
    pending_phone: str | None = None  # E.164 number a one-time code was sent to
    skipped: list[str] = Field(default_factory=list)  # optional questions answered 跳过
    default: int | None = None  # the cap offered as the default amount / term


class DocsState(_State):
    app_id: int | None = None
    item: str | None = None  # code of the checklist item chosen for the next file


class HandoffState(_State):
    ticket_id: int | None = None  # the ticket this chat's hand-off messages go to


class ConversationState(_State):
    options: list[str] = Field(default_factory=list)  # keys of the last numbered options offered
    faq: FaqState = Field(default_factory=FaqState)
    precheck: PrecheckState | None = None
    last_precheck: LastPrecheck | None = None
    apply: ApplyState = Field(default_factory=ApplyState)
    docs: DocsState = Field(default_factory=DocsState)
    handoff: HandoffState = Field(default_factory=HandoffState)

    @classmethod
    def load(cls, raw: dict[str, Any] | None) -> ConversationState:
        return cls.model_validate(raw or {})

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def flow_of(raw: str | None) -> Flow | None:
    """The stored flow name as a Flow (an unknown name from an old row ends the flow)."""
    if raw is None:
        return None
    try:
        return Flow(raw)
    except ValueError:
        return None
