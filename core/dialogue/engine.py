"""The conversation engine: one set of flows for Telegram, SMS and the terminal.

`DialogueEngine.handle(event)` runs in one database transaction: it records the message id (a
repeat returns the stored replies), loads the conversation, runs the flow, stores the new state
with an optimistic version check (a concurrent update makes it retry) and returns replies. It
sends nothing itself.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import applications as apps
from core.audit import audit
from core.db import serialized_writes, session_scope
from core.dialogue import prompts as P
from core.dialogue.commands import (
    APPLICANT_TYPE_WORDS,
    CATEGORY_WORDS,
    detect_command,
    detect_opt,
    looks_like_question,
    parse_keyword_choice,
    parse_yes_no,
    squash,
)
from core.dialogue.events import EngineResult, InboundEvent, Option, Reply
from core.dialogue.numbers import parse_amount_yuan, parse_count, parse_months
from core.eligibility import PrecheckInputError, parse_precheck_input, precheck
from core.filestore import FileStore, UploadError, check_upload
from core.handoff import open_ticket
from core.identity import IdentityError, mask_phone, normalize_phone
from core.models import (
    ApplicationRow,
    ChannelIdentityRow,
    ConversationRow,
    InboundMessageRow,
    InstallmentRow,
    LinkTokenRow,
    LoanRow,
    PersonRow,
    Stage,
    UnansweredQuestionRow,
)
from core.money import format_yuan
from core.timeutil import format_date_cn, local_today, to_local, utcnow
from core.workdays import WorkCalendar
from knowledge.policy import Policy, format_yuan_wan

log = logging.getLogger(__name__)

MAX_TEXT = 500  # longer messages are read up to here
MAX_RETRIES = 6


class FaqAnswer(Protocol):
    matched: bool
    entry_id: str | None
    answer: str
    score: float
    source: str | None
    suggestions: list[str]
    handoff: bool
    out_of_scope: bool


class Faq(Protocol):
    def answer(self, question: str, channel: str = "telegram") -> Any: ...


Finish = Callable[[Session, list[Reply]], str | None]


_CONV: sa.Table = ConversationRow.__table__  # type: ignore[attr-defined]
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


@dataclass
class Ctx:
    """What a flow step sees and may change."""

    session: Session
    event: InboundEvent
    identity: ChannelIdentityRow
    flow: str | None
    step: str | None
    state: dict[str, Any]
    text: str
    truncated: bool = False
    replies: list[Reply] = field(default_factory=list)

    def say(self, text: str, options: tuple[Option, ...] = (), sms: str | None = None) -> None:
        self.replies.append(Reply(text=text, options=options, sms_text=sms))

    def set_flow(self, flow: str | None, step: str | None = None) -> None:
        self.flow, self.step = flow, step
        if flow is None:
            self.state.pop("options", None)


def _opts(pairs: tuple[tuple[str, str], ...]) -> tuple[Option, ...]:
    return tuple(Option(k, v) for k, v in pairs)


PRECHECK_OPTION_STEPS = {
    "applicant_type": P.PC_TYPE_OPTIONS,
    "category": P.PC_CATEGORY_OPTIONS,
    "has_certificate": P.YES_NO,
    "bad_credit": P.PC_CREDIT_OPTIONS,
}


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
    ) -> None:
        self.db = db
        self.faq = faq
        self.policy = policy
        self.calendar = calendar
        self.files = files
        self.max_upload_bytes = max_upload_bytes
        self.today = today

    # --- transaction, dedupe, optimistic concurrency ------------------------------------------

    def handle(self, event: InboundEvent, finish: Finish | None = None) -> EngineResult:
        """`finish(session, replies)` runs inside the same transaction after the flow (a door's
        own bookkeeping: mark its inbox row processed, count the reply cap, render the answer);
        what it returns is stored with the message id and given back on a repeat."""
        last: Exception | None = None
        for _attempt in range(MAX_RETRIES):
            try:
                with serialized_writes(self.db):
                    return self._handle_once(event, finish)
            except (_Conflict, IntegrityError, sa.exc.OperationalError) as exc:
                # a concurrent update, a duplicate racing in, or a lock timeout: run again
                log.info("retrying message after %s", type(exc).__name__)
                last = exc
        assert last is not None
        raise last

    def _handle_once(self, event: InboundEvent, finish: Finish | None = None) -> EngineResult:
        with session_scope(self.db) as s:
            seen = s.exec(
                select(InboundMessageRow).where(
                    InboundMessageRow.channel == event.channel,
                    InboundMessageRow.message_id == event.message_id,
                )
            ).first()
            if seen is not None:
                replies = [Reply.from_dict(r) for r in seen.replies]
                return EngineResult(replies, duplicate=True, response=seen.response)
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
                event=event,
                identity=identity,
                flow=conv.flow,
                step=conv.step,
                state=dict(conv.state or {}),
                text=text[:MAX_TEXT],
                truncated=len(text) > MAX_TEXT,
            )
            self._dispatch(ctx)
            if not ctx.replies:
                ctx.replies.append(
                    Reply(text="", options=())
                )  # nothing to say (e.g. repeat opt-out)
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
                    "new_flow": ctx.flow,
                    "new_step": ctx.step,
                    "new_state": ctx.state,
                    "new_version": loaded_version + 1,
                    "now": utcnow(),
                },
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise _Conflict()
            return EngineResult(replies, response=inbound.response)

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

    def _dispatch(self, ctx: Ctx) -> None:
        ev = ctx.event
        if ev.start_payload is not None:
            self._start(ctx, ev.start_payload)
            return
        if ev.contact_phone:
            self._link_contact(ctx, ev.contact_phone)
            return
        if ev.attachments:
            self._attachments(ctx)
            return
        if ev.option and self._option(ctx, ev.option):
            return
        if ctx.truncated:
            ctx.say(P.TOO_LONG_NOTE)
        opt = detect_opt(ctx.text, ev.channel, in_flow=ctx.flow is not None)
        if opt is not None:
            self._opt(ctx, opt)
            return
        command = detect_command(ctx.text)
        if ctx.text.startswith("/ask"):
            question = ctx.text[4:].strip()
            if question:
                self._faq(ctx, question)
            else:
                ctx.say("请在 /ask 后面写上您的问题，例如：/ask 失业人员能贷多少")
            return
        if ctx.flow == "handoff":
            if command in ("end", "cancel", "back", None) and command is not None:
                ctx.set_flow(None)
                ctx.say(P.HANDOFF_ENDED)
                return
            if command is None:
                self._handoff(ctx, reason="user", text=ctx.text)
                return
        if command is not None:
            self._command(ctx, command)
            return
        if not ctx.text:
            ctx.say(P.EMPTY_TEXT)
            return
        if ctx.flow is None:
            offered = self._offered_option(ctx, ctx.text)
            if offered is not None and self._option(ctx, offered):
                return
        if ctx.flow == "precheck":
            self._precheck_answer(ctx, ctx.text, None)
        elif ctx.flow == "apply_name":
            self._apply_name(ctx)
        elif ctx.flow == "docs":
            self._docs_text(ctx)
        else:
            self._faq(ctx, ctx.text)

    def _command(self, ctx: Ctx, command: str) -> None:
        if command == "help":
            ctx.say(P.WELCOME, sms=P.WELCOME_SMS)
            if ctx.flow in ("precheck", "docs", "apply_name"):
                ctx.say(P.HELP_IN_FLOW)
                self._reprompt(ctx)
        elif command in ("cancel", "end"):
            if ctx.flow is None:
                ctx.say(P.NOTHING_TO_CANCEL)
            else:
                ctx.set_flow(None)
                ctx.state.pop("precheck", None)
                ctx.say(P.CANCELLED)
        elif command == "back":
            self._back(ctx)
        elif command == "restart":
            if ctx.flow in ("docs", "apply_name"):
                self._docs_show(ctx)
            else:
                self._precheck_start(ctx)
        elif command == "human":
            self._handoff(ctx, reason="user", text=ctx.text)
        elif command == "status":
            self._status(ctx)
        elif command == "precheck":
            self._precheck_start(ctx)
        elif command == "docs":
            self._docs_show(ctx)
        elif command == "apply":
            self._apply(ctx)
        elif command == "submit":
            self._submit(ctx)
        elif command == "opt_out":
            self._opt(ctx, "out")
        elif command == "opt_in":
            self._opt(ctx, "in")

    def _option(self, ctx: Ctx, key: str) -> bool:
        """A pressed button. Returns False when the key is not one we offered (treat as text)."""
        if key.startswith("q:"):
            suggestions = ctx.state.get("suggestions") or []
            ids = ctx.state.get("suggestion_ids") or []
            try:
                index = int(key[2:])
                question = suggestions[index]
            except (ValueError, IndexError):
                return False
            answer_entry = getattr(self.faq, "answer_entry", None)
            if index < len(ids) and answer_entry is not None:
                self._faq_reply(
                    ctx,
                    question,
                    answer_entry(ids[index], "telegram"),
                    answer_entry(ids[index], "sms"),
                )
            else:
                self._faq(ctx, question)
            return True
        if ctx.flow == "precheck" and ctx.step in PRECHECK_OPTION_STEPS:
            self._precheck_answer(ctx, "", key)
            return True
        if ctx.flow == "docs" and key.startswith("item:"):
            self._docs_choose(ctx, key[5:])
            return True
        mapping = {
            "apply": "apply",
            "restart": "precheck",
            "human": "human",
            "submit": "submit",
            "docs": "docs",
            "status": "status",
            "precheck": "precheck",
            "cancel": "cancel",
        }
        if key in mapping:
            self._command(ctx, mapping[key])
            return True
        return False

    def _offered_option(self, ctx: Ctx, text: str) -> str | None:
        """A number typed in reply to numbered options ("1", "2") -> the option key."""
        offered = ctx.state.get("options") or []
        t = squash(text)
        if t.isascii() and t.isdigit() and offered:
            i = int(t) - 1
            if 0 <= i < len(offered):
                return str(offered[i])
        return None

    def _ask(
        self, ctx: Ctx, text: str, options: tuple[Option, ...] = (), sms: str | None = None
    ) -> None:
        ctx.state["options"] = [o.key for o in options]
        ctx.say(text, options, sms)

    # --- FAQ ----------------------------------------------------------------------------------

    def _faq(self, ctx: Ctx, question: str, full: Any = None) -> None:
        """Answer from the FAQ (`full` is the Telegram answer when the caller already has it)."""
        channel = "sms" if ctx.event.channel == "sms" else "telegram"
        full = full if full is not None else self.faq.answer(question, channel="telegram")
        short = self.faq.answer(question, channel="sms") if channel == "sms" else full
        self._faq_reply(ctx, question, full, short)

    def _faq_reply(self, ctx: Ctx, question: str, full: Any, short: Any) -> None:
        if full.matched:
            text = full.answer
            if full.source and full.source not in text:
                text = f"{text}\n（依据：{full.source}）"
            related = list(full.suggestions or [])[:2]
            options: tuple[Option, ...] = ()
            if related and ctx.flow is None:
                ctx.state["suggestions"] = related
                ctx.state["suggestion_ids"] = list(getattr(full, "suggestion_ids", []) or [])[:2]
                options = tuple(Option(f"q:{i}", q) for i, q in enumerate(related))
                ctx.state["options"] = [o.key for o in options]
            ctx.say(text, options, sms=short.answer)
            if full.handoff:
                ticket, _ = open_ticket(
                    ctx.session,
                    channel=ctx.event.channel,
                    address=ctx.event.address,
                    identity_id=ctx.identity.id,
                    text=question,
                    reason="faq_handoff",
                )
                note = P.HANDOFF_ESC_NOTE.format(ticket=ticket.id)
                ctx.say(note)
        elif full.out_of_scope:
            ctx.say(full.answer, sms=short.answer)
        elif not squash(question):
            ctx.say(P.EMPTY_TEXT)
        else:
            ctx.session.add(
                UnansweredQuestionRow(
                    channel=ctx.event.channel,
                    question=question[:1000],
                    normalized=squash(question)[:1000],
                    best_entry_id=full.entry_id,
                    score=float(full.score),
                )
            )
            ticket, _ = open_ticket(
                ctx.session,
                channel=ctx.event.channel,
                address=ctx.event.address,
                identity_id=ctx.identity.id,
                text=question,
                reason="unknown",
            )
            suggestions = list(full.suggestions)[:3]
            ctx.state["suggestions"] = suggestions
            ctx.state["suggestion_ids"] = list(getattr(full, "suggestion_ids", []) or [])[:3]
            options = tuple(Option(f"q:{i}", s) for i, s in enumerate(suggestions))
            options += (Option("human", "转人工"),)
            ctx.state["options"] = [o.key for o in options]
            note = P.UNKNOWN_NOTE.format(ticket=ticket.id)
            ctx.say(f"{full.answer}\n{note}", options, sms=short.answer)
        if ctx.flow in ("precheck", "docs", "apply_name"):
            ctx.say(P.RESUME)
            self._reprompt(ctx)

    def _reprompt(self, ctx: Ctx) -> None:
        if ctx.flow == "precheck" and ctx.step:
            self._precheck_prompt(ctx, ctx.step)
        elif ctx.flow == "apply_name":
            ctx.say(P.APPLY_ASK_NAME)
        elif ctx.flow == "docs":
            self._docs_show(ctx)

    # --- hand-off and opt-out -----------------------------------------------------------------

    def _handoff(self, ctx: Ctx, reason: str, text: str) -> None:
        ticket, created = open_ticket(
            ctx.session,
            channel=ctx.event.channel,
            address=ctx.event.address,
            identity_id=ctx.identity.id,
            text=text if detect_command(text) != "human" else "",
            reason=reason,
        )
        first = ctx.flow != "handoff"
        ctx.set_flow("handoff")
        msg = P.HANDOFF_OPENED if (created or first) else P.HANDOFF_APPENDED
        ctx.say(msg.format(ticket=ticket.id))

    def _opt(self, ctx: Ctx, which: str) -> None:
        identity = ctx.identity
        want_out = which == "out"
        if identity.opted_out == want_out:
            return  # confirm once: a repeat changes nothing and costs no message
        identity.opted_out = want_out
        identity.opted_out_at = utcnow() if want_out else None
        ctx.session.add(identity)
        audit(
            ctx.session,
            f"{identity.channel}:{mask_phone(identity.address)}",
            "identity.opt_out" if want_out else "identity.opt_in",
            "channel_identity",
            identity.id,
            after={"opted_out": want_out},
        )
        log.info("%s %s", "opt-out" if want_out else "opt-in", mask_phone(identity.address))
        ctx.say(P.OPTED_OUT if want_out else P.OPTED_IN)

    # --- linking ------------------------------------------------------------------------------

    def _start(self, ctx: Ctx, payload: str) -> None:
        payload = payload.strip()
        if payload:
            token_hash = hashlib.sha256(payload.encode()).hexdigest()
            token = ctx.session.exec(
                select(LinkTokenRow).where(LinkTokenRow.token_hash == token_hash)
            ).first()
            if token is None or token.used_at is not None or token.expires_at < utcnow():
                ctx.say(P.LINK_TOKEN_BAD)
                return
            token.used_at = utcnow()
            ctx.session.add(token)
            self._link(ctx, token.person_id)
            return
        ctx.set_flow(None)
        ctx.say(P.WELCOME, sms=P.WELCOME_SMS)
        if ctx.event.channel == "telegram" and not ctx.identity.verified:
            ctx.replies.append(Reply(text=P.LINK_ASK_CONTACT, request_contact=True))

    def _link_contact(self, ctx: Ctx, phone: str) -> None:
        try:
            e164 = normalize_phone(phone)
        except IdentityError:
            ctx.say(P.LINK_NO_MATCH)
            return
        person = ctx.session.exec(select(PersonRow).where(PersonRow.phone == e164)).first()
        if person is None or person.id is None:
            ctx.say(P.LINK_NO_MATCH)
            return
        self._link(ctx, person.id)

    def _link(self, ctx: Ctx, person_id: int) -> None:
        person = ctx.session.get(PersonRow, person_id)
        identity = ctx.identity
        identity.person_id = person_id
        identity.verified = True
        ctx.session.add(identity)
        audit(
            ctx.session,
            f"{identity.channel}:{mask_phone(identity.address)}",
            "identity.link",
            "channel_identity",
            identity.id,
            after={"person_id": person_id},
        )
        ctx.say(P.LINK_OK.format(name=person.name if person else ""))

    # --- pre-check ----------------------------------------------------------------------------

    def _precheck_start(self, ctx: Ctx) -> None:
        ctx.state["precheck"] = {"answers": {}, "order": []}
        ctx.set_flow("precheck")
        ctx.say(P.PC_START)
        self._precheck_next(ctx)

    def _precheck_steps(self, answers: dict[str, Any]) -> list[str]:
        t = answers.get("applicant_type")
        steps = ["applicant_type"]
        if t in ("individual", "partnership"):
            steps += ["category", "has_certificate"]
        steps += ["industry", "purpose", "bad_credit"]
        if t == "partnership":
            steps += ["members"]
        if t == "enterprise":
            steps += ["employees", "new_hires", "contract_months"]
        return [*steps, "amount", "term_months"]

    def _precheck_next(self, ctx: Ctx) -> None:
        pc = ctx.state.setdefault("precheck", {"answers": {}, "order": []})
        for step in self._precheck_steps(pc["answers"]):
            if step not in pc["answers"]:
                ctx.step = step
                self._precheck_prompt(ctx, step)
                return
        self._precheck_finish(ctx)

    def _precheck_prompt(self, ctx: Ctx, step: str) -> None:
        answers = ctx.state.get("precheck", {}).get("answers", {})
        if step in PRECHECK_OPTION_STEPS:
            text = {
                "applicant_type": P.PC_TYPE,
                "category": P.PC_CATEGORY,
                "has_certificate": P.PC_CERT_RURAL
                if answers.get("category") in ("returnee", "woman")
                else P.PC_CERT,
                "bad_credit": P.PC_CREDIT,
            }[step]
            self._ask(ctx, text, _opts(PRECHECK_OPTION_STEPS[step]))
            return
        text = {
            "industry": P.PC_INDUSTRY,
            "purpose": P.PC_PURPOSE,
            "members": P.PC_MEMBERS,
            "employees": P.PC_EMPLOYEES,
            "new_hires": P.PC_NEW_HIRES,
            "contract_months": P.PC_CONTRACT,
            "amount": P.PC_AMOUNT,
            "term_months": P.PC_TERM,
        }[step]
        self._ask(ctx, text)

    def _parse_step(self, ctx: Ctx, step: str, text: str, key: str | None) -> tuple[bool, Any]:
        """(ok, value) for an answer to `step`."""
        if step in PRECHECK_OPTION_STEPS:
            keys = [k for k, _ in PRECHECK_OPTION_STEPS[step]]
            key = key or self._offered_option(ctx, text)
            if key is None:
                if step == "applicant_type":
                    key = parse_keyword_choice(text, APPLICANT_TYPE_WORDS)
                elif step == "category":
                    key = parse_keyword_choice(text, CATEGORY_WORDS)
                else:
                    key = parse_yes_no(text)
            if key not in keys:
                return False, None
            if step == "has_certificate":
                return True, key == "yes"
            if step == "bad_credit":
                return True, key == "yes"
            return True, key
        skip = squash(text) in P.SKIP_WORDS
        if step == "industry":
            value = text.strip()
            return (len(squash(value)) >= 2), value
        if step == "purpose":
            return True, (None if skip else text.strip())
        if step in ("amount",):
            if skip:
                return True, None
            amount = parse_amount_yuan(text)
            return amount is not None, amount
        if step == "term_months":
            if skip:
                return True, None
            months = parse_months(text)
            return months is not None, months
        if step == "contract_months":
            months = parse_months(text)
            return months is not None, months
        count = parse_count(text)
        return count is not None, count

    def _precheck_answer(self, ctx: Ctx, text: str, key: str | None) -> None:
        step = ctx.step or "applicant_type"
        free_text_step = step in ("industry", "purpose")
        if free_text_step and looks_like_question(text):
            found = self._faq_match(text)
            if found is not None:
                self._faq(ctx, text, found)
                return
        ok, value = self._parse_step(ctx, step, text, key)
        if not ok:
            found = self._faq_match(text) if text and not free_text_step else None
            if found is not None:
                self._faq(ctx, text, found)
                return
            if step in ("members", "employees", "new_hires", "contract_months", "amount"):
                ctx.say(P.PC_BAD_NUMBER)
            else:
                ctx.say(P.NOT_UNDERSTOOD_STEP)
            self._precheck_prompt(ctx, step)
            return
        pc = ctx.state.setdefault("precheck", {"answers": {}, "order": []})
        pc["answers"][step] = value
        pc["order"].append(step)
        self._precheck_next(ctx)

    def _faq_match(self, text: str) -> Any:
        """The FAQ's Telegram answer if it matched confidently, else None."""
        ans = self.faq.answer(text, channel="telegram")
        return ans if ans.matched else None

    def _back(self, ctx: Ctx) -> None:
        if ctx.flow == "precheck":
            pc = ctx.state.get("precheck") or {"answers": {}, "order": []}
            if not pc["order"]:
                ctx.say(P.NOTHING_TO_GO_BACK)
                self._precheck_prompt(ctx, ctx.step or "applicant_type")
                return
            last = pc["order"].pop()
            pc["answers"].pop(last, None)
            # answers of steps that no longer apply are dropped with it
            valid = set(self._precheck_steps(pc["answers"]))
            pc["answers"] = {k: v for k, v in pc["answers"].items() if k in valid}
            pc["order"] = [k for k in pc["order"] if k in pc["answers"]]
            ctx.step = last
            self._precheck_prompt(ctx, last)
        elif ctx.flow == "docs" and ctx.state.get("docs_item"):
            ctx.state.pop("docs_item", None)
            self._docs_show(ctx)
        elif ctx.flow is not None:
            ctx.set_flow(None)
            ctx.say(P.CANCELLED)
        else:
            ctx.say(P.NOTHING_TO_CANCEL)

    def _precheck_finish(self, ctx: Ctx) -> None:
        pc = ctx.state.get("precheck") or {"answers": {}}
        profile = {k: v for k, v in pc["answers"].items() if v is not None}
        try:
            inp = parse_precheck_input(profile)
        except PrecheckInputError as exc:
            ctx.say(exc.message)
            field_step = exc.field if exc.field in pc["answers"] else "applicant_type"
            pc["answers"].pop(field_step, None)
            pc["order"] = [k for k in pc["order"] if k != field_step]
            ctx.step = field_step
            self._precheck_prompt(ctx, field_step)
            return
        decision = precheck(inp, self.policy, self.today(), self.calendar)
        result = decision.to_json_dict()
        ctx.state["last_precheck"] = {"profile": profile, "decision": result}
        ctx.state.pop("precheck", None)
        ctx.set_flow(None)
        options = _opts(P.PC_AFTER_OK_OPTIONS if result["eligible"] else P.PC_AFTER_NO_OPTIONS)
        ctx.state["options"] = [o.key for o in options]
        ctx.say(self._decision_text(result), options, sms=self._decision_sms(result))

    def _decision_text(self, d: dict[str, Any]) -> str:
        lines = [P.PC_RESULT_OK if d["eligible"] else P.PC_RESULT_NO]
        if d["eligible"]:
            if d.get("max_amount"):
                lines.append(f"可申请额度：最高{format_yuan(int(d['max_amount']) * 100)}")
            if d.get("max_term_months"):
                lines.append(f"贷款期限：最长{d['max_term_months']}个月")
        lines.append("依据：")
        for r in d.get("reasons", []):
            lines.append(f"· {r['message']}（{r['article']}）")
        if d["eligible"]:
            if d.get("subsidy"):
                lines.append(f"贴息：{d['subsidy']}")
            docs = d.get("documents") or []
            if docs:
                lines.append(f"需准备材料（{len(docs)}项）：")
                lines.extend(f"{i}. {doc}" for i, doc in enumerate(docs, start=1))
            if d.get("expected_by"):
                exp = date.fromisoformat(d["expected_by"])
                lines.append(
                    f"预计最晚放款日期：{format_date_cn(exp)}（按工作日计，补材料时间不计）"
                )
        if d.get("next_steps"):
            lines.append(f"下一步：{d['next_steps']}")
        lines.append(P.PC_RESULT_FOOT)
        return "\n".join(lines)

    def _decision_sms(self, d: dict[str, Any]) -> str:
        """The decision in about two SMS segments, still citing the articles it rests on."""

        def article(code_prefixes: tuple[str, ...]) -> str:
            arts: list[str] = []
            for r in d.get("reasons", []):
                if str(r.get("code", "")).startswith(code_prefixes):
                    short = str(r.get("article", "")).split()[-1] if r.get("article") else ""
                    if short and short not in arts:
                        arts.append(short)
            return "、".join(arts[:2])

        if d["eligible"]:
            parts = ["预审：初步符合。"]
            if d.get("max_amount"):
                parts.append(f"最高{format_yuan_wan(int(d['max_amount']))}")
            if d.get("max_term_months"):
                parts.append(f"、{d['max_term_months']}个月")
            cited = article(("category_ok", "certificate_ok", "enterprise_cap", "partnership"))
            parts.append(f"（{cited}）。" if cited else "。")
            if d.get("expected_by"):
                exp = date.fromisoformat(d["expected_by"])
                parts.append(f"材料齐全预计{exp.month}月{exp.day}日前放款。")
            return "".join(parts)
        first = next((r for r in d.get("reasons", []) if r.get("code") != "category_ok"), None)
        if first is None:
            return "预审：暂不符合。"
        cited = str(first.get("article", "")).split()[-1] if first.get("article") else ""
        why = str(first["message"])[:90]
        return f"预审：暂不符合。{why}（{cited}）" if cited else f"预审：暂不符合。{why}"

    # --- application and documents ------------------------------------------------------------

    def _current_application(self, ctx: Ctx) -> ApplicationRow | None:
        if ctx.identity.id is None:
            return None
        found = apps.applications_for_identity(ctx.session, ctx.identity.id)
        open_apps = [a for a in found if a.stage not in apps.CLOSED]
        return open_apps[0] if open_apps else (found[0] if found else None)

    def _apply(self, ctx: Ctx) -> None:
        app = self._current_application(ctx)
        if app is not None and app.stage not in apps.CLOSED:
            self._docs_show(ctx)
            return
        last = ctx.state.get("last_precheck")
        if not last or not last["decision"].get("eligible"):
            ctx.say(P.APPLY_NEED_PRECHECK)
            return
        ctx.set_flow("apply_name")
        ctx.say(P.APPLY_ASK_NAME)

    def _apply_name(self, ctx: Ctx) -> None:
        name = ctx.text.strip()
        if not (2 <= len(name) <= 20) or any(ch.isdigit() for ch in name):
            ctx.say(P.APPLY_BAD_NAME)
            return
        s = ctx.session
        identity = ctx.identity
        last = ctx.state.get("last_precheck") or {}
        person: PersonRow | None = None
        if identity.person_id is not None:
            person = s.get(PersonRow, identity.person_id)
        if person is None:
            phone = identity.address if identity.channel == "sms" else None
            person = PersonRow(name=name, phone=phone)
            s.add(person)
            s.flush()
            identity.person_id = person.id
            identity.verified = identity.channel == "sms"
            s.add(identity)
        profile = dict(last.get("profile") or {})
        profile["applicant_name"] = name
        app = apps.open_application(
            s,
            identity_id=identity.id,
            person_id=person.id,
            profile=profile,
            decision=last.get("decision") or {},
            documents=self.policy.documents_for(str(profile.get("applicant_type", "individual"))),
            policy_name=self.policy.id,
        )
        ctx.say(P.APPLY_CREATED.format(app_id=app.id))
        self._docs_show(ctx, app)

    def _not_draft(self, ctx: Ctx, app: ApplicationRow) -> bool:
        """Documents can only change while the application is a draft; say so otherwise."""
        if app.stage == Stage.DRAFT:
            return False
        ctx.say(P.DOCS_ALREADY_SUBMITTED.format(app_id=app.id, stage=apps.STAGE_LABELS[app.stage]))
        return True

    def _docs_show(self, ctx: Ctx, app: ApplicationRow | None = None) -> None:
        app = app or self._current_application(ctx)
        if app is None or app.id is None:
            ctx.set_flow(None)
            ctx.say(P.DOCS_NO_APP)
            return
        if self._not_draft(ctx, app):
            ctx.set_flow(None)
            return
        items = apps.checklist(ctx.session, app.id)
        prog = apps.progress(items)
        ctx.set_flow("docs")
        ctx.state["docs_app"] = app.id
        lines = [P.DOCS_HEADER.format(app_id=app.id, received=prog.received, total=prog.total)]
        for i, item in enumerate(items, start=1):
            lines.append(f"{i}. {item.label}【{P.DOCS_STATUS.get(item.status, item.status)}】")
        lines.append(P.DOCS_HOW.format(max_mb=self.max_upload_bytes // (1024 * 1024)))
        sms = (
            f"申请{app.id}材料已收{prog.received}/{prog.total}项。回复序号选择材料后发送照片或PDF。"
        )
        if not prog.missing:
            options = _opts(P.DOCS_SUBMIT_OPTIONS)
            ctx.state["options"] = [o.key for o in options]
            ctx.say("\n".join([*lines, P.DOCS_ALL_DONE]), options, sms=sms)
        else:
            ctx.state["options"] = []
            ctx.say("\n".join(lines), sms=sms)

    def _docs_text(self, ctx: Ctx) -> None:
        offered = self._offered_option(ctx, ctx.text)
        if offered is not None and ctx.state.get("options"):
            self._option(ctx, offered)
            return
        t = squash(ctx.text)
        if t.isascii() and t.isdigit():
            self._docs_choose(ctx, t)
            return
        self._faq(ctx, ctx.text)

    def _docs_choose(self, ctx: Ctx, index_text: str) -> None:
        app_id = ctx.state.get("docs_app")
        items = apps.checklist(ctx.session, int(app_id)) if app_id else []
        if not items:
            self._docs_show(ctx)
            return
        try:
            index = int(index_text)
        except ValueError:
            index = 0
        if not 1 <= index <= len(items):
            ctx.say(P.DOCS_BAD_INDEX.format(total=len(items)))
            return
        ctx.state["docs_item"] = items[index - 1].code
        ctx.say(P.DOCS_CHOSEN.format(label=items[index - 1].label))

    def _attachments(self, ctx: Ctx) -> None:
        app = self._current_application(ctx)
        if app is None or app.id is None:
            ctx.say(P.DOCS_FILE_WITHOUT_APP)
            return
        if self._not_draft(ctx, app):
            return
        ctx.set_flow("docs")
        ctx.state["docs_app"] = app.id
        for att in ctx.event.attachments:
            self._store_attachment(ctx, app, att)
        items = apps.checklist(ctx.session, app.id)
        prog = apps.progress(items)
        if not prog.missing:
            options = _opts(P.DOCS_SUBMIT_OPTIONS)
            ctx.state["options"] = [o.key for o in options]
            ctx.say(P.DOCS_ALL_DONE, options)
        else:
            nxt = prog.missing[0]
            ctx.say(P.DOCS_NEXT.format(index=items.index(nxt) + 1, label=nxt.label))

    def _store_attachment(self, ctx: Ctx, app: ApplicationRow, att: Any) -> None:
        assert app.id is not None
        if att.too_large:
            ctx.say(UploadError(self._too_large()).args[0])
            return
        try:
            checked = check_upload(att.data, self.max_upload_bytes)
        except UploadError as exc:
            ctx.say(str(exc))
            return
        items = apps.checklist(ctx.session, app.id)
        for i, item in enumerate(items, start=1):
            if item.sha256 == checked.sha256 and item.status != "missing":
                ctx.say(P.DOCS_DUPLICATE.format(index=i, label=item.label))
                return
        code = ctx.state.pop("docs_item", None)
        target = next((it for it in items if it.code == code), None)
        if target is None:
            target = next((it for it in items if it.status in ("missing", "rejected")), None)
        if target is None:
            ctx.say(P.DOCS_ALL_DONE)
            return
        replaced = target.status != "missing"
        old_key = target.storage_key
        key = self.files.put(att.data, checked.suffix)
        target.status = "received"
        target.filename = (att.filename or f"{target.code}.{checked.suffix}")[:255]
        target.content_type = checked.content_type
        target.size_bytes = checked.size
        target.sha256 = checked.sha256
        target.storage_key = key
        target.reject_reason = None
        target.received_at = utcnow()
        ctx.session.add(target)
        ctx.session.flush()
        if replaced and old_key:
            self._delete_later(old_key)
        prog = apps.progress(items)
        index = items.index(target) + 1
        template = P.DOCS_REPLACED if replaced else P.DOCS_RECEIVED
        ctx.say(
            template.format(
                index=index, label=target.label, received=prog.received, total=prog.total
            )
        )

    def _delete_later(self, key: str) -> None:
        """Old files of replaced items are removed after commit (kept if the commit fails)."""
        try:
            self.files.delete(key)
        except OSError:
            log.warning("could not delete replaced file %s", key)

    def _too_large(self) -> str:
        return f"文件超过{self.max_upload_bytes // (1024 * 1024)}MB，请压缩后或分页拍照再发送。"

    def _submit(self, ctx: Ctx) -> None:
        app = self._current_application(ctx)
        if app is None or app.id is None:
            ctx.say(P.DOCS_NO_APP)
            return
        if self._not_draft(ctx, app):
            return
        items = apps.checklist(ctx.session, app.id)
        prog = apps.progress(items)
        if prog.missing:
            labels = "、".join(f"《{m.label}》" for m in prog.missing[:5])
            ctx.say(P.DOCS_NOT_ALL.format(count=len(prog.missing), labels=labels))
            return
        apps.change_stage(ctx.session, app, Stage.SUBMITTED, actor="applicant")
        expected = self.calendar.add_workdays(
            self.today(), self.policy.total_days(app.applicant_type)
        )
        ctx.set_flow(None)
        ctx.say(P.DOCS_SUBMITTED.format(app_id=app.id, date=format_date_cn(expected)))

    # --- status -------------------------------------------------------------------------------

    def _status(self, ctx: Ctx) -> None:
        s = ctx.session
        lines: list[str] = []
        app = self._current_application(ctx)
        if app is not None and app.id is not None:
            since = format_date_cn(to_local(app.stage_changed_at).date())
            lines.append(
                P.STATUS_APP.format(app_id=app.id, stage=apps.STAGE_LABELS[app.stage], since=since)
            )
            prog = apps.progress(apps.checklist(s, app.id))
            if prog.missing and app.stage not in apps.CLOSED:
                lines.append(
                    P.STATUS_MISSING.format(labels="、".join(m.label for m in prog.missing))
                )
            exp = apps.expected_by(
                app,
                self.calendar,
                self.policy.step_days(app.applicant_type),
                self.policy.total_days(app.applicant_type),
            )
            if exp is not None:
                lines.append(P.STATUS_EXPECTED.format(date=format_date_cn(exp)))
        if ctx.identity.verified and ctx.identity.person_id is not None:
            lines.extend(self._loan_lines(s, ctx.identity.person_id))
        if not lines:
            lines.append(P.STATUS_NONE)
        ctx.say("\n".join(lines))

    def _loan_lines(self, s: Session, person_id: int) -> list[str]:
        lines: list[str] = []
        today = self.today()
        loans = s.exec(
            select(LoanRow).where(LoanRow.borrower_id == person_id, LoanRow.status == "active")
        ).all()
        for loan in loans:
            unpaid = s.exec(
                select(InstallmentRow)
                .where(InstallmentRow.loan_id == loan.id, col(InstallmentRow.paid).is_(False))
                .order_by(col(InstallmentRow.due_on))
            ).all()
            masked = _mask_loan_no(loan.loan_no)
            overdue = [i for i in unpaid if i.due_on < today]
            if overdue:
                total = sum(_due_fen(i) for i in overdue)
                lines.append(
                    P.STATUS_LOAN_OVERDUE.format(
                        loan_no=masked, count=len(overdue), amount=format_yuan(total)
                    )
                )
            elif unpaid:
                nxt = unpaid[0]
                lines.append(
                    P.STATUS_LOAN.format(
                        loan_no=masked,
                        amount=format_yuan(_due_fen(nxt)),
                        date=format_date_cn(nxt.due_on),
                    )
                )
            else:
                lines.append(P.STATUS_LOAN_DONE.format(loan_no=masked))
        return lines


def _due_fen(inst: InstallmentRow) -> int:
    return max(inst.principal_fen + inst.borrower_interest_fen - inst.paid_fen, 0)


def _mask_loan_no(loan_no: str) -> str:
    if len(loan_no) <= 4:
        return loan_no
    return "*" * (len(loan_no) - 4) + loan_no[-4:]
