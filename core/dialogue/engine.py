"""The conversation engine: one set of flows for Telegram, SMS and the terminal.

`DialogueEngine.handle(event)` runs in one database transaction: it records the message id (a
repeat returns the stored replies), loads the conversation and its typed state, routes the message
(global commands here, everything else to the flow modules), stores the new state with an
optimistic version check (a concurrent update makes it retry) and returns replies. It sends
nothing itself. Files a message stored are deleted if its transaction fails; files it replaced are
deleted only after the commit.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.dialogue import (
    application,
    documents,
    handoff,
    intake,
    linking,
    precheck,
    status,
    subscription,
)
from core.dialogue import faq as faq_flow
from core.dialogue import prompts as P
from core.dialogue.commands import detect_command, detect_opt, squash
from core.dialogue.context import Ctx, Faq, Services, opts
from core.dialogue.events import EngineResult, InboundEvent, Reply
from core.dialogue.otp import OneTimeCodes
from core.dialogue.state import ConversationState, Flow, flow_of
from core.kernel.filestore import FileStore
from core.kernel.timeutil import local_today, utcnow
from core.kernel.workdays import WorkCalendar
from core.persistence.db import serialized_writes, session_scope
from core.persistence.models import (
    ChannelIdentityRow,
    ConversationRow,
    InboundMessageRow,
    PersonRow,
)
from core.persistence.sql import table
from knowledge.policy import Policy

log = logging.getLogger(__name__)

MAX_TEXT = 500  # longer messages are read up to here
MAX_RETRIES = 6

# Option keys of buttons that stand for a global command.
OPTION_COMMANDS = {
    "apply": "apply",
    "restart": "precheck",
    "human": "human",
    "submit": "submit",
    "docs": "docs",
    "status": "status",
    "precheck": "precheck",
    "cancel": "cancel",
}


Finish = Callable[[Session, list[Reply]], str | None]

_CONV = table(ConversationRow)
# The optimistic save, built once (a Core statement: the ORM-enabled UPDATE cost ~10% of a message)
_SAVE_CONVERSATION = (
    sa.update(_CONV)
    .where(_CONV.c.id == sa.bindparam("conv_id"), _CONV.c.version == sa.bindparam("loaded"))
    .values(
        flow=sa.bindparam("new_flow", type_=_CONV.c.flow.type),
        step=sa.bindparam("new_step", type_=_CONV.c.step.type),
        state=sa.bindparam("new_state", type_=_CONV.c.state.type),
        version=sa.bindparam("new_version"),
        updated_at=sa.bindparam("now", type_=_CONV.c.updated_at.type),
    )
)


class _Conflict(Exception):
    """Another process updated the conversation first; run the message again."""


class DialogueEngine:
    def __init__(
        self,
        db: Engine,
        *,
        faq: Faq,
        policy: Policy,
        calendar: WorkCalendar,
        files: FileStore,
        max_upload_bytes: int = 20 * 1024 * 1024,
        today: Callable[[], date] = local_today,
        codes: OneTimeCodes | None = None,
    ) -> None:
        self.db = db
        self.svc = Services(
            faq=faq,
            policy=policy,
            calendar=calendar,
            files=files,
            codes=codes or OneTimeCodes(),
            max_upload_bytes=max_upload_bytes,
            today=today,
        )

    # --- transaction, dedupe, optimistic concurrency ------------------------------------------

    def handle(self, event: InboundEvent, finish: Finish | None = None) -> EngineResult:
        """`finish(session, replies)` runs inside the same transaction after the flow (a door's
        own bookkeeping: mark its inbox row processed, count the reply cap, render the answer);
        what it returns is stored with the message id and given back on a repeat."""
        last: Exception | None = None
        for _attempt in range(MAX_RETRIES):
            stored: list[str] = []
            try:
                with serialized_writes(self.db):
                    result, replaced = self._handle_once(event, stored, finish)
            except (_Conflict, IntegrityError, sa.exc.OperationalError) as exc:
                # a concurrent update, a duplicate racing in, or a lock timeout: run again
                log.info("retrying message after %s", type(exc).__name__)
                self._delete(stored)  # that attempt rolled back: its files belong to nobody
                last = exc
                continue
            except BaseException:
                self._delete(stored)
                raise
            self._delete(replaced)  # committed: the replaced files are no longer referenced
            return result
        assert last is not None
        raise last

    def _delete(self, keys: list[str]) -> None:
        for key in keys:
            try:
                self.svc.files.delete(key)
            except OSError:
                log.warning("could not delete stored file %s", key)

    def _handle_once(
        self, event: InboundEvent, stored: list[str], finish: Finish | None = None
    ) -> tuple[EngineResult, list[str]]:
        with session_scope(self.db) as s:
            seen = s.exec(
                select(InboundMessageRow).where(
                    InboundMessageRow.channel == event.channel,
                    InboundMessageRow.message_id == event.message_id,
                )
            ).first()
            if seen is not None:
                replies = [Reply.from_dict(r) for r in seen.replies]
                return EngineResult(replies, duplicate=True, response=seen.response), []
            inbound = InboundMessageRow(
                channel=event.channel, message_id=event.message_id, address=event.address
            )
            s.add(inbound)
            s.flush()  # a concurrent duplicate fails here (unique) and is retried as a repeat
            identity = self._identity(s, event)
            conv = self._conversation(s, event, identity)
            loaded_version = conv.version
            text = unicodedata.normalize("NFC", event.text or "").strip()
            ctx = Ctx(
                session=s,
                svc=self.svc,
                event=event,
                identity=identity,
                flow=flow_of(conv.flow),
                step=conv.step,
                state=ConversationState.load(conv.state),
                text=text[:MAX_TEXT],
                truncated=len(text) > MAX_TEXT,
                stored_files=stored,
                resume=self._resume,
            )
            self._route(ctx)
            if not any(r.options for r in ctx.replies):
                ctx.state.options = []  # the last options offered win: none now
            replies = [r for r in ctx.replies if r.text]
            inbound.replies = [r.to_dict() for r in replies]
            if finish is not None:
                inbound.response = finish(s, replies)
            s.add(inbound)
            result = s.execute(
                _SAVE_CONVERSATION,
                {
                    "conv_id": conv.id,
                    "loaded": loaded_version,
                    "new_flow": ctx.flow.value if ctx.flow else None,
                    "new_step": ctx.step,
                    "new_state": ctx.state.dump(),
                    "new_version": loaded_version + 1,
                    "now": utcnow(),
                },
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise _Conflict()
        return EngineResult(replies, response=inbound.response), ctx.replaced_files

    def _identity(self, s: Session, event: InboundEvent) -> ChannelIdentityRow:
        identity = s.exec(
            select(ChannelIdentityRow).where(
                ChannelIdentityRow.channel == event.channel,
                ChannelIdentityRow.address == event.address,
            )
        ).first()
        if identity is None:
            identity = ChannelIdentityRow(channel=event.channel, address=event.address)
            if event.channel == "sms":
                # The number itself is the sender's proof on SMS.
                person = s.exec(select(PersonRow).where(PersonRow.phone == event.address)).first()
                if person is not None:
                    identity.person_id = person.id
                    identity.verified = True
            s.add(identity)
            s.flush()
        return identity

    def _conversation(
        self, s: Session, event: InboundEvent, identity: ChannelIdentityRow
    ) -> ConversationRow:
        query = select(ConversationRow).where(
            ConversationRow.channel == event.channel, ConversationRow.address == event.address
        )
        if s.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        conv = s.exec(query).first()
        if conv is None:
            conv = ConversationRow(
                channel=event.channel, address=event.address, identity_id=identity.id, state={}
            )
            s.add(conv)
            s.flush()
        return conv

    # --- routing ------------------------------------------------------------------------------

    def _route(self, ctx: Ctx) -> None:
        ev = ctx.event
        if ev.start_payload is not None:
            linking.start(ctx, ev.start_payload)
            return
        if ev.contact_phone:
            if not (ctx.flow == Flow.APPLY and application.contact(ctx, ev.contact_phone)):
                linking.contact(ctx, ev.contact_phone)
            return
        if ev.attachments:
            documents.attachments(ctx)
            return
        if ev.option and self._option(ctx, ev.option):
            return
        if ctx.truncated:
            ctx.say(P.TOO_LONG_NOTE)
        opt = detect_opt(ctx.text, ev.channel, in_flow=ctx.flow is not None)
        if opt is not None:
            subscription.opt(ctx, opt)
            return
        if ctx.text.startswith("/ask"):
            question = ctx.text[4:].strip()
            if question:
                faq_flow.answer(ctx, question)
            else:
                ctx.say(P.ASK_EMPTY)
            return
        command = detect_command(ctx.text)
        if ctx.flow == Flow.HANDOFF:
            handoff.check_open(ctx)
        if ctx.flow == Flow.HANDOFF:
            if command in ("end", "cancel", "back"):
                handoff.end(ctx)
                return
            if command is None:
                handoff.start(ctx, ctx.text)
                return
        if command is not None:
            self._command(ctx, command)
            return
        is_edit, field = intake.field_from_edit(ctx.text)
        if is_edit and application.edit(ctx, field):
            return
        if not squash(ctx.text):
            self._blank(ctx)
            return
        offered = ctx.offered()
        if offered is not None and self._option(ctx, offered):
            return
        if ctx.flow is None and squash(ctx.text).isascii() and squash(ctx.text).isdigit():
            ctx.say(P.NUMBER_WITHOUT_OPTIONS)  # a bare number means an option or nothing
            return
        self._flow_text(ctx)

    def _blank(self, ctx: Ctx) -> None:
        """Blank (or only punctuation): repeat the current question with its options."""
        if ctx.flow in faq_flow.RESUMABLE:
            ctx.say(P.EMPTY_IN_FLOW)
            self._resume(ctx)
        else:
            ctx.say(P.EMPTY_TEXT)

    def _flow_text(self, ctx: Ctx) -> None:
        if ctx.flow == Flow.PRECHECK:
            precheck.answer(ctx, ctx.text, None)
        elif ctx.flow == Flow.APPLY:
            application.answer(ctx)
        elif ctx.flow == Flow.DOCS:
            documents.text(ctx)
        elif ctx.flow == Flow.LINK:
            linking.code_answer(ctx)
        else:
            faq_flow.answer(ctx, ctx.text)

    def _command(self, ctx: Ctx, command: str) -> None:
        if command == "help":
            if ctx.flow in faq_flow.RESUMABLE:
                ctx.say(P.WELCOME, sms=P.WELCOME_SMS)  # no menu numbers: the flow's own win
                ctx.say(P.HELP_IN_FLOW)
                self._resume(ctx)
            else:
                ctx.ask(P.WELCOME, opts(P.WELCOME_OPTIONS), sms=P.WELCOME_SMS)
        elif command in ("cancel", "end"):
            if ctx.flow is None:
                ctx.say(P.NOTHING_TO_CANCEL)
            else:
                ctx.set_flow(None)
                ctx.state.precheck = None
                ctx.say(P.CANCELLED)
        elif command == "back":
            self._back(ctx)
        elif command == "restart":
            if ctx.flow in (Flow.DOCS, Flow.APPLY):
                documents.show(ctx)
            else:
                precheck.start(ctx)
        elif command == "human":
            handoff.start(ctx, ctx.text)
        elif command in ("opt_out", "opt_in"):
            subscription.opt(ctx, "out" if command == "opt_out" else "in")
        else:
            {
                "status": status.show,
                "precheck": precheck.start,
                "docs": documents.show,
                "apply": application.start,
                "submit": documents.submit,
                "link": linking.code_start,
            }[command](ctx)

    def _option(self, ctx: Ctx, key: str) -> bool:
        """A chosen option. Returns False when the key is not one we offered (treat as text)."""
        if key.startswith("q:"):
            return faq_flow.pick_suggestion(ctx, key)
        if ctx.flow == Flow.PRECHECK and ctx.step in precheck.OPTION_STEPS:
            precheck.answer(ctx, "", key)
            return True
        if ctx.flow == Flow.APPLY and application.option(ctx, key):
            return True
        if ctx.flow == Flow.DOCS and key.startswith("item:"):
            documents.choose(ctx, key[5:])
            return True
        if key in OPTION_COMMANDS:
            self._command(ctx, OPTION_COMMANDS[key])
            return True
        return False

    def _back(self, ctx: Ctx) -> None:
        if ctx.flow == Flow.PRECHECK:
            precheck.back(ctx)
        elif ctx.flow == Flow.DOCS and documents.back(ctx):
            return
        elif ctx.flow is not None:
            ctx.set_flow(None)
            ctx.say(P.CANCELLED)
        else:
            ctx.say(P.NOTHING_TO_CANCEL)

    def _resume(self, ctx: Ctx) -> None:
        """Ask the current flow's question again (after a FAQ answer or 帮助 in the middle)."""
        if ctx.flow == Flow.PRECHECK and ctx.step:
            precheck.prompt(ctx, ctx.step)
        elif ctx.flow == Flow.APPLY:
            application.prompt(ctx)
        elif ctx.flow == Flow.DOCS:
            documents.show(ctx)
