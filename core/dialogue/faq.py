"""The FAQ flow: answer a question from the knowledge base, offer related questions, escalate."""

from __future__ import annotations

from core.dialogue import prompts as P
from core.dialogue.commands import squash
from core.dialogue.context import Ctx, FaqAnswer
from core.dialogue.events import Option
from core.dialogue.handoff import ticket_for
from core.dialogue.state import Flow
from core.persistence.models import UnansweredQuestionRow

RESUMABLE = (Flow.PRECHECK, Flow.APPLY, Flow.DOCS)


def answer(ctx: Ctx, question: str, full: FaqAnswer | None = None) -> None:
    """Answer from the FAQ (`full` is the Telegram answer when the caller already has it)."""
    faq = ctx.svc.faq
    previous = ctx.state.faq.last
    full = full if full is not None else faq.answer(question, "telegram", previous)
    short = faq.answer(question, "sms", previous) if ctx.sms else full
    if full.matched and full.entry_id:
        ctx.state.faq.last = full.entry_id
    reply(ctx, question, full, short)


def match(ctx: Ctx, text: str) -> FaqAnswer | None:
    """The FAQ's Telegram answer if it matched confidently, else None."""
    found = ctx.svc.faq.answer(text, channel="telegram")
    return found if found.matched else None


def pick_suggestion(ctx: Ctx, key: str) -> bool:
    """A suggested question chosen ("q:1"); False when it is not one we offered."""
    suggestions = ctx.state.faq.suggestions
    ids = ctx.state.faq.suggestion_ids
    try:
        index = int(key[2:])
        question = suggestions[index]
    except (ValueError, IndexError):
        return False
    if index < len(ids):
        faq = ctx.svc.faq
        full = faq.answer_entry(ids[index], "telegram")
        short = faq.answer_entry(ids[index], "sms") if ctx.sms else full
        reply(ctx, question, full, short)
    else:
        answer(ctx, question)
    return True


def reply(ctx: Ctx, question: str, full: FaqAnswer, short: FaqAnswer) -> None:
    if full.matched:
        _matched(ctx, question, full, short)
    elif full.out_of_scope or full.no_question:  # nothing for staff: no ticket, not logged
        ctx.say(full.answer, sms=short.answer)
    elif not squash(question):
        ctx.say(P.EMPTY_TEXT)
    else:
        _unknown(ctx, question, full, short)
    if ctx.flow in RESUMABLE and ctx.resume is not None:
        ctx.say(P.RESUME)
        ctx.resume(ctx)


def _matched(ctx: Ctx, question: str, full: FaqAnswer, short: FaqAnswer) -> None:
    text = full.answer
    if full.source and full.source not in text:
        text = P.FAQ_SOURCE.format(text=text, source=full.source)
    related = list(full.suggestions)[:2]
    options: tuple[Option, ...] = ()
    if related and ctx.flow is None:
        ctx.state.faq.suggestions = related
        ctx.state.faq.suggestion_ids = list(full.suggestion_ids)[:2]
        options = tuple(Option(f"q:{i}", q) for i, q in enumerate(related))
        ctx.ask(text, options, sms=short.answer)
    else:
        ctx.say(text, sms=short.answer)
    if full.handoff:
        ticket, _ = ticket_for(ctx, question, "faq_handoff")
        ctx.say(P.HANDOFF_ESC_NOTE.format(ticket=ticket.id))


def _unknown(ctx: Ctx, question: str, full: FaqAnswer, short: FaqAnswer) -> None:
    """Not answered confidently: log it for staff, open a ticket, offer the nearest questions."""
    ctx.session.add(
        UnansweredQuestionRow(
            channel=ctx.channel,
            question=question[:1000],
            normalized=squash(question)[:1000],
            best_entry_id=full.entry_id,
            score=float(full.score),
        )
    )
    ticket, _ = ticket_for(ctx, question, "unknown")
    suggestions = list(full.suggestions)[:3]
    ctx.state.faq.suggestions = suggestions
    ctx.state.faq.suggestion_ids = list(full.suggestion_ids)[:3]
    options = tuple(Option(f"q:{i}", s) for i, s in enumerate(suggestions))
    options += (Option("human", P.OPT_HUMAN),)
    note = P.UNKNOWN_NOTE.format(ticket=ticket.id)
    ctx.ask(f"{full.answer}\n{note}", options, sms=short.answer)
