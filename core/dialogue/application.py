"""The application flow: after a positive pre-check, the intake questions, then the documents."""

from __future__ import annotations

from core import applications as apps
from core.dialogue import documents
from core.dialogue import prompts as P
from core.dialogue.context import Ctx, current_application
from core.dialogue.state import Flow
from core.models import PersonRow


def start(ctx: Ctx) -> None:
    app = current_application(ctx)
    if app is not None and app.stage not in apps.CLOSED:
        documents.show(ctx)
        return
    last = ctx.state.last_precheck
    if last is None or not last.decision.get("eligible"):
        ctx.say(P.APPLY_NEED_PRECHECK)
        return
    ctx.set_flow(Flow.APPLY, "name")
    ctx.ask(P.APPLY_ASK_NAME)


def prompt(ctx: Ctx) -> None:
    ctx.ask(P.APPLY_ASK_NAME)


def answer(ctx: Ctx) -> None:
    name = ctx.text.strip()
    if not (2 <= len(name) <= 20) or any(ch.isdigit() for ch in name):
        ctx.say(P.APPLY_BAD_NAME)
        return
    s = ctx.session
    identity = ctx.identity
    last = ctx.state.last_precheck
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
    profile = dict(last.profile if last else {})
    profile["applicant_name"] = name
    app = apps.open_application(
        s,
        identity_id=identity.id,
        person_id=person.id,
        profile=profile,
        decision=last.decision if last else {},
        documents=ctx.svc.policy.documents_for(str(profile.get("applicant_type", "individual"))),
        policy_name=ctx.svc.policy.id,
    )
    ctx.say(P.APPLY_CREATED.format(app_id=app.id))
    documents.show(ctx, app)
