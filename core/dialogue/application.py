"""The application flow: after a positive pre-check, one intake question at a time (written to the
draft as answered), a summary to confirm or edit ("修改 手机号"), then the documents."""

from __future__ import annotations

from sqlmodel import select

from core.applications import lifecycle as apps
from core.dialogue import documents, intake, verify
from core.dialogue import faq as faq_flow
from core.dialogue import prompts as P
from core.dialogue import prompts_intake as T
from core.dialogue.commands import looks_like_question, parse_yes_no, squash, wants_default
from core.dialogue.context import Ctx, current_application, opts
from core.dialogue.events import Option
from core.dialogue.state import ApplyState, Flow
from core.kernel.identity import IdentityError, mask_id_number, normalize_id_number
from core.kernel.numbers import is_not_positive, parse_amount_yuan, parse_months
from core.persistence.models import ApplicationRow, PersonRow, Stage
from knowledge.policy import format_yuan_wan

TEXT_FIELDS = ("business_type", "business_address", "company_name")
DEFAULT_STEPS = {"amount_default": "amount", "term_default": "term_months"}


def _load(ctx: Ctx) -> tuple[ApplicationRow | None, PersonRow | None]:
    app_id = ctx.state.apply.app_id
    app = ctx.session.get(ApplicationRow, app_id) if app_id is not None else None
    if app is None or app.stage != Stage.DRAFT:
        return None, None
    person = ctx.session.get(PersonRow, app.person_id) if app.person_id is not None else None
    return app, person


def start(ctx: Ctx) -> None:
    app = current_application(ctx)
    if app is not None and app.stage not in apps.CLOSED:
        ctx.state.apply.app_id = app.id
        _, person = _load(ctx)
        if app.stage == Stage.DRAFT and intake.required_missing(app, person, ctx.svc.policy):
            ctx.set_flow(Flow.APPLY)
            _next(ctx)
        else:
            documents.show(ctx)
        return
    last = ctx.state.last_precheck
    if last is None or not last.decision.get("eligible"):
        ctx.say(P.APPLY_NEED_PRECHECK)
        return
    ctx.state.apply = ApplyState()
    ctx.set_flow(Flow.APPLY)
    _ask(ctx, "name")


def edit(ctx: Ctx, field: str | None) -> bool:
    """ "修改 手机号": ask that question again; False when there is no application to edit."""
    app = current_application(ctx)
    if app is None:
        return False
    if app.stage != Stage.DRAFT:
        ctx.say(T.EDIT_NO_DRAFT)
        return True
    names = intake.fields_for(app)
    if field is None:
        ctx.say(T.EDIT_UNKNOWN.format(labels="、".join(T.LABELS[f] for f in names)))
        return True
    if field not in names:
        ctx.say(T.EDIT_NOT_APPLICABLE.format(label=T.LABELS[field]))
        return True
    ctx.state.apply.app_id = app.id
    ctx.state.apply.editing = True
    ctx.set_flow(Flow.APPLY)
    _ask(ctx, field)
    return True


def prompt(ctx: Ctx) -> None:
    """Ask the current question again (after a FAQ answer, 帮助 or a blank message)."""
    step = ctx.step
    if step in DEFAULT_STEPS:
        _offer_default(ctx, DEFAULT_STEPS[step])
    elif step in (None, "confirm"):
        _next(ctx)
    elif step == "code":
        ctx.say(T.CODE_ASK)
    else:
        _ask(ctx, step)


def _ask(ctx: Ctx, field: str) -> None:
    ctx.step = field
    if field == "phone":
        verify.ask(ctx)
    elif field == "district":
        names = ctx.svc.policy.districts
        ctx.ask(T.ASK[field], tuple(Option(f"district:{i}", n) for i, n in enumerate(names)))
    else:
        ctx.ask(T.ASK[field])


def _next(ctx: Ctx) -> None:
    """The next unanswered question, or the summary when all are answered."""
    app, person = _load(ctx)
    if app is None:
        documents.show(ctx)
        return
    st = ctx.state.apply
    todo = [] if st.editing else intake.missing(app, person, ctx.svc.policy, st.skipped)
    st.editing = False
    if todo and todo[0] == "phone" and ctx.sms and verify.from_sms(ctx, app):
        _next(ctx)
        return
    if todo and todo[0] == "business_type" and (app.profile or {}).get("industry"):
        app.business_type = str(app.profile["industry"])[:100]  # what the pre-check was told
        ctx.session.add(app)
        _next(ctx)
        return
    if todo:
        _ask(ctx, todo[0])
        return
    ctx.step = "confirm"
    ctx.ask(intake.summary(app, person), opts(T.SUMMARY_OPTIONS))


def option(ctx: Ctx, key: str) -> bool:
    """A chosen option in this flow (district, confirm, yes/no of a default)."""
    if key.startswith("district:") and ctx.step == "district":
        names = ctx.svc.policy.districts
        index = (
            int(key.split(":", 1)[1])
            if key.split(":", 1)[1].isascii() and key.split(":", 1)[1].isdigit()
            else -1
        )
        if 0 <= index < len(names):
            _save(ctx, "district", names[index])
            return True
        return False
    if key == "confirm" and ctx.step == "confirm":
        documents.show(ctx)
        return True
    if key in ("yes", "no") and ctx.step in DEFAULT_STEPS:
        _answer_default(ctx, key)
        return True
    return False


def contact(ctx: Ctx, phone: str) -> bool:
    """A contact shared during the phone question; False when not asking for the phone now."""
    app, _ = _load(ctx)
    if app is None or ctx.step not in ("phone", "code"):
        return False
    if verify.contact(ctx, app, phone):
        _next(ctx)
    return True


def answer(ctx: Ctx) -> None:
    step = ctx.step or "name"
    if step == "name" and ctx.state.apply.app_id is None:
        _create(ctx)
        return
    app, person = _load(ctx)
    if app is None:
        documents.show(ctx)
        return
    if step == "confirm":
        if parse_yes_no(ctx.text) == "yes" or squash(ctx.text) in T.CONFIRM_WORDS:
            documents.show(ctx)
        else:
            ctx.say(P.NOT_UNDERSTOOD_STEP)
            _next(ctx)
        return
    if step in DEFAULT_STEPS:
        _answer_default(ctx, parse_yes_no(ctx.text))
        return
    if squash(ctx.text) in T.SKIP_WORDS:
        _skip(ctx, step)
        return
    if step in ("phone", "code"):
        if verify.answer(ctx, app):
            _next(ctx)
        return
    if looks_like_question(ctx.text) and (found := faq_flow.match(ctx, ctx.text)) is not None:
        faq_flow.answer(ctx, ctx.text, found)
        return
    _field(ctx, app, person, step)


def _create(ctx: Ctx) -> None:
    name = ctx.text.strip()
    if not (2 <= len(name) <= 20) or any(ch.isdigit() for ch in name):
        ctx.say(T.NAME_BAD)
        return
    last = ctx.state.last_precheck
    profile = dict(last.profile if last else {})
    profile["applicant_name"] = name
    app = apps.open_application(
        ctx.session,
        identity_id=ctx.identity.id,
        person_id=ctx.identity.person_id,
        profile=profile,
        decision=last.decision if last else {},
        documents=ctx.svc.policy.documents_for(str(profile.get("applicant_type", "individual"))),
        policy_name=ctx.svc.policy.id,
    )
    ctx.state.apply = ApplyState(app_id=app.id)
    ctx.say(T.CREATED.format(app_id=app.id))
    _next(ctx)


def _skip(ctx: Ctx, step: str) -> None:
    if step not in ctx.svc.policy.intake_optional:
        ctx.say(T.REQUIRED)
        prompt(ctx)
        return
    if step not in ctx.state.apply.skipped:
        ctx.state.apply.skipped.append(step)
    ctx.say(T.SKIPPED.format(label=T.LABELS[step]))
    _next(ctx)


def _field(ctx: Ctx, app: ApplicationRow, person: PersonRow | None, step: str) -> None:
    text = ctx.text.strip()
    if step == "name":
        if not (2 <= len(text) <= 20) or any(ch.isdigit() for ch in text):
            ctx.say(T.NAME_BAD)
            return
        _save(ctx, step, text)
    elif step == "id_number":
        _id_number(ctx, person, text)
    elif step == "district":
        found = [d for d in ctx.svc.policy.districts if squash(text) and squash(text) in d]
        if len(found) == 1:
            _save(ctx, step, found[0])
        else:
            ctx.say(T.DISTRICT_BAD)
            _ask(ctx, step)
    elif step in TEXT_FIELDS:
        if len(squash(text)) >= 2 and len(text) <= 100:
            _save(ctx, step, text)
        else:
            ctx.say(T.TEXT_BAD)
    elif step == "planned_start":
        value = intake.parse_planned_start(text, ctx.svc.today())
        if value is None:
            ctx.say(T.START_BAD)
            return
        _save(ctx, step, value)
    elif step in ("amount", "term_months"):
        _number(ctx, app, step, text)
    elif step == "members":
        names = intake.parse_members(text)
        if names is None:
            ctx.say(T.MEMBERS_BAD)
            return
        _save(ctx, step, names)


def _id_number(ctx: Ctx, person: PersonRow | None, text: str) -> None:
    if person is None:  # the mobile is verified first: the ID number belongs to that person
        _ask(ctx, "phone")
        return
    try:
        value = normalize_id_number(text)
    except IdentityError as exc:
        ctx.say(str(exc))
        return
    other = ctx.session.exec(
        select(PersonRow).where(PersonRow.id_number == value, PersonRow.id != person.id)
    ).first()
    if other is not None:
        ctx.say(T.ID_TAKEN)
        return
    ctx.say(T.ID_SAVED.format(masked=mask_id_number(value)))
    _save(ctx, "id_number", value)


def _number(ctx: Ctx, app: ApplicationRow, step: str, text: str) -> None:
    if wants_default(text) and _offer_default(ctx, step):
        return
    if is_not_positive(text):
        ctx.say(P.PC_AMOUNT_NOT_POSITIVE if step == "amount" else P.PC_TERM_NOT_POSITIVE)
        return
    value = parse_amount_yuan(text) if step == "amount" else parse_months(text)
    if value is None:
        ctx.say(P.PC_BAD_NUMBER)
        return
    decision = app.precheck or {}
    cap = decision.get("max_amount" if step == "amount" else "max_term_months")
    if intake.over(value, cap):
        if step == "amount":
            ctx.say(
                T.OVER_CAP.format(asked=format_yuan_wan(value), cap=format_yuan_wan(int(cap or 0)))
            )
        else:
            ctx.say(T.OVER_TERM.format(asked=value, cap=cap))
    _save(ctx, step, value)


def _offer_default(ctx: Ctx, step: str) -> bool:
    app, _ = _load(ctx)
    decision = (app.precheck if app else None) or {}
    cap = decision.get("max_amount" if step == "amount" else "max_term_months")
    if not cap:
        return False
    ctx.state.apply.default = int(cap)
    ctx.step = "amount_default" if step == "amount" else "term_default"
    text = (
        P.PC_AMOUNT_DEFAULT.format(cap=format_yuan_wan(int(cap or 0)))
        if step == "amount"
        else P.PC_TERM_DEFAULT.format(months=cap)
    )
    ctx.ask(text, opts(P.YES_NO))
    return True


def _answer_default(ctx: Ctx, choice: str | None) -> None:
    target = DEFAULT_STEPS[ctx.step or "amount_default"]
    if choice == "yes" and ctx.state.apply.default:
        _save(ctx, target, ctx.state.apply.default)
    elif choice == "no":
        _ask(ctx, target)
    else:
        ctx.say(P.NOT_UNDERSTOOD_STEP)
        _offer_default(ctx, target)


def _save(ctx: Ctx, field: str, value: object) -> None:
    """Write one answer to the draft (and its person), then go on."""
    app, person = _load(ctx)
    if app is None:
        documents.show(ctx)
        return
    profile = dict(app.profile or {})
    if field == "name":
        profile["applicant_name"] = value
        if person is not None:
            person.name = str(value)
    elif field == "id_number" and person is not None:
        person.id_number = str(value)
    elif field == "district":
        app.district = str(value)
        if person is not None:
            person.district = str(value)
    elif field == "amount":
        app.requested_amount_fen = int(value) * 100  # type: ignore[call-overload]
    elif field == "term_months":
        app.requested_term_months = int(value)  # type: ignore[call-overload]
    elif field == "members":
        profile["member_names"] = value
    else:
        setattr(app, field, value)
    app.profile = profile
    ctx.session.add(app)
    if person is not None:
        ctx.session.add(person)
    ctx.session.flush()
    _next(ctx)
