"""The pre-check flow (资格预审): one question a step, then the decision with its articles."""

from __future__ import annotations

from typing import Any

from core.applications.eligibility import precheck
from core.applications.precheck_input import PrecheckInputError, parse_precheck_input
from core.dialogue import decision
from core.dialogue import faq as faq_flow
from core.dialogue import prompts as P
from core.dialogue.commands import (
    APPLICANT_TYPE_WORDS,
    CATEGORY_WORDS,
    looks_like_question,
    parse_keyword_choice,
    parse_yes_no,
    squash,
    wants_default,
)
from core.dialogue.context import Ctx, opts
from core.dialogue.state import Flow, LastPrecheck, PrecheckState
from core.kernel.numbers import (
    is_not_positive,
    parse_amount_yuan,
    parse_count,
    parse_months,
)
from knowledge.policy import format_yuan_wan

OPTION_STEPS = {
    "applicant_type": P.PC_TYPE_OPTIONS,
    "category": P.PC_CATEGORY_OPTIONS,
    "has_certificate": P.YES_NO,
    "bad_credit": P.PC_CREDIT_OPTIONS,
}
NUMBER_STEPS = ("members", "employees", "new_hires", "contract_months", "amount")
DEFAULT_STEPS = {"amount_default": "amount", "term_default": "term_months"}
TEXT_PROMPTS = {
    "industry": P.PC_INDUSTRY,
    "purpose": P.PC_PURPOSE,
    "members": P.PC_MEMBERS,
    "employees": P.PC_EMPLOYEES,
    "new_hires": P.PC_NEW_HIRES,
    "contract_months": P.PC_CONTRACT,
    "amount": P.PC_AMOUNT,
    "term_months": P.PC_TERM,
}


def _pc(ctx: Ctx) -> PrecheckState:
    if ctx.state.precheck is None:
        ctx.state.precheck = PrecheckState()
    return ctx.state.precheck


def start(ctx: Ctx) -> None:
    ctx.state.precheck = PrecheckState()
    ctx.set_flow(Flow.PRECHECK)
    ctx.say(P.PC_START)
    _next(ctx)


def steps(answers: dict[str, Any]) -> list[str]:
    t = answers.get("applicant_type")
    out = ["applicant_type"]
    if t in ("individual", "partnership"):
        out += ["category", "has_certificate"]
    out += ["industry", "purpose", "bad_credit"]
    if t == "partnership":
        out += ["members"]
    if t == "enterprise":
        out += ["employees", "new_hires", "contract_months"]
    return [*out, "amount", "term_months"]


def _next(ctx: Ctx) -> None:
    pc = _pc(ctx)
    for step in steps(pc.answers):
        if step not in pc.answers:
            ctx.step = step
            prompt(ctx, step)
            return
    _finish(ctx)


def prompt(ctx: Ctx, step: str) -> None:
    answers = _pc(ctx).answers
    if step in DEFAULT_STEPS:
        cap = _pc(ctx).default
        text = (
            P.PC_AMOUNT_DEFAULT.format(cap=format_yuan_wan(cap or 0))
            if step == "amount_default"
            else P.PC_TERM_DEFAULT.format(months=cap)
        )
        ctx.ask(text, opts(P.YES_NO))
        return
    if step in OPTION_STEPS:
        text = {
            "applicant_type": P.PC_TYPE,
            "category": P.PC_CATEGORY,
            "has_certificate": P.PC_CERT_RURAL
            if answers.get("category") in ("returnee", "woman")
            else P.PC_CERT,
            "bad_credit": P.PC_CREDIT,
        }[step]
        ctx.ask(text, opts(OPTION_STEPS[step]))
        return
    ctx.ask(TEXT_PROMPTS[step])


def _parse_option(ctx: Ctx, step: str, text: str, key: str | None) -> tuple[bool, Any]:
    keys = [k for k, _ in OPTION_STEPS[step]]
    key = key or ctx.offered(text)
    if key is None:
        if step == "applicant_type":
            key = parse_keyword_choice(text, APPLICANT_TYPE_WORDS)
        elif step == "category":
            key = parse_keyword_choice(text, CATEGORY_WORDS)
        else:
            key = parse_yes_no(text)
    if key not in keys:
        return False, None
    if step in ("has_certificate", "bad_credit"):
        return True, key == "yes"
    return True, key


def parse_step(ctx: Ctx, step: str, text: str, key: str | None) -> tuple[bool, Any]:
    """(ok, value) for an answer to `step`."""
    if step in OPTION_STEPS:
        return _parse_option(ctx, step, text, key)
    skip = squash(text) in P.SKIP_WORDS
    if step == "industry":
        value = text.strip()
        return (len(squash(value)) >= 2), value
    if step == "purpose":
        return True, (None if skip else text.strip())
    if step == "amount":
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


def _caps(ctx: Ctx) -> tuple[int | None, int | None]:
    """The policy's cap (amount in yuan, term in months) for the answers given so far."""
    answers = {k: v for k, v in _pc(ctx).answers.items() if k not in ("amount", "term_months")}
    try:
        inp = parse_precheck_input(_profile(answers))
    except PrecheckInputError:
        return None, None
    svc = ctx.svc
    d = precheck(inp, svc.policy, svc.today(), svc.calendar)
    return d.max_amount, d.max_term_months


def _offer_default(ctx: Ctx, step: str) -> bool:
    amount_cap, term_cap = _caps(ctx)
    cap = amount_cap if step == "amount" else term_cap
    if not cap:
        return False
    _pc(ctx).default = int(cap)
    ctx.step = "amount_default" if step == "amount" else "term_default"
    prompt(ctx, ctx.step)
    return True


def _answer_default(ctx: Ctx, step: str, text: str, key: str | None) -> None:
    """Yes: take the cap; no: ask for the number again; else repeat the offer."""
    target = DEFAULT_STEPS[step]
    choice = key or ctx.offered(text) or parse_yes_no(text)
    if choice == "yes":
        _record(ctx, target, _pc(ctx).default)
    elif choice == "no":
        ctx.step = target
        prompt(ctx, target)
    else:
        ctx.say(P.NOT_UNDERSTOOD_STEP)
        prompt(ctx, step)


def _special(ctx: Ctx, step: str, text: str, key: str | None) -> bool:
    """Answers that are neither a value nor a question: unknown, "whatever", zero. True if handled."""
    if step in ("has_certificate", "bad_credit"):
        choice = key or ctx.offered(text) or parse_yes_no(text)
        if choice != "unknown":
            return False
        if step == "bad_credit":
            ctx.say(P.PC_CREDIT_UNKNOWN)
            _record(ctx, step, None)
        else:
            ctx.say(P.PC_CERT_UNKNOWN)
            prompt(ctx, step)
        return True
    if step in ("amount", "term_months") and key is None:
        if wants_default(text) and _offer_default(ctx, step):
            return True
        if is_not_positive(text):
            ctx.say(P.PC_AMOUNT_NOT_POSITIVE if step == "amount" else P.PC_TERM_NOT_POSITIVE)
            prompt(ctx, step)
            return True
    return False


def answer(ctx: Ctx, text: str, key: str | None) -> None:
    step = ctx.step or "applicant_type"
    if step in DEFAULT_STEPS:
        _answer_default(ctx, step, text, key)
        return
    if _special(ctx, step, text, key):
        return
    free_text_step = step in ("industry", "purpose")
    if free_text_step and looks_like_question(text):
        found = faq_flow.match(ctx, text)
        if found is not None:
            faq_flow.answer(ctx, text, found)
            return
    ok, value = parse_step(ctx, step, text, key)
    if not ok:
        found = faq_flow.match(ctx, text) if text and not free_text_step else None
        if found is not None:
            faq_flow.answer(ctx, text, found)
            return
        ctx.say(P.PC_BAD_NUMBER if step in NUMBER_STEPS else P.NOT_UNDERSTOOD_STEP)
        prompt(ctx, step)
        return
    _record(ctx, step, value)


def _record(ctx: Ctx, step: str, value: Any) -> None:
    pc = _pc(ctx)
    pc.answers[step] = value
    pc.order.append(step)
    _next(ctx)


def _profile(answers: dict[str, Any]) -> dict[str, Any]:
    """Answers as pre-check input: unanswered optional values left out; an unknown credit kept."""
    return {k: v for k, v in answers.items() if v is not None or k == "bad_credit"}


def back(ctx: Ctx) -> None:
    pc = _pc(ctx)
    if not pc.order:
        ctx.say(P.NOTHING_TO_GO_BACK)
        prompt(ctx, ctx.step or "applicant_type")
        return
    last = pc.order.pop()
    pc.answers.pop(last, None)
    # answers of steps that no longer apply are dropped with it
    valid = set(steps(pc.answers))
    pc.answers = {k: v for k, v in pc.answers.items() if k in valid}
    pc.order = [k for k in pc.order if k in pc.answers]
    ctx.step = last
    prompt(ctx, last)


def _finish(ctx: Ctx) -> None:
    pc = _pc(ctx)
    profile = _profile(pc.answers)
    try:
        inp = parse_precheck_input(profile)
    except PrecheckInputError as exc:
        ctx.say(exc.message)
        field_step = exc.field if exc.field in pc.answers else "applicant_type"
        pc.answers.pop(field_step, None)
        pc.order = [k for k in pc.order if k != field_step]
        ctx.step = field_step
        prompt(ctx, field_step)
        return
    svc = ctx.svc
    result = precheck(inp, svc.policy, svc.today(), svc.calendar).to_json_dict()
    ctx.state.last_precheck = LastPrecheck(profile=profile, decision=result)
    ctx.state.precheck = None
    ctx.set_flow(None)
    options = opts(P.PC_AFTER_OK_OPTIONS if result["eligible"] else P.PC_AFTER_NO_OPTIONS)
    ctx.ask(decision.text(result), options, sms=decision.sms(result))
