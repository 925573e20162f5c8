"""The document flow: the checklist, files received (checked by content, size and sha256), submit.

Files are written to the store inside the message's transaction; the engine deletes a new file
when that transaction fails, and a replaced file only after it commits.
"""

from __future__ import annotations

from core.applications import lifecycle as apps
from core.dialogue import faq as faq_flow
from core.dialogue import intake
from core.dialogue import prompts as P
from core.dialogue import prompts_intake as T
from core.dialogue.commands import squash
from core.dialogue.context import Ctx, current_application, opts
from core.dialogue.events import Attachment
from core.dialogue.state import Flow
from core.kernel.filestore import UploadError, check_upload
from core.kernel.timeutil import format_date_cn, utcnow
from core.persistence.models import ApplicationRow, DocumentItemRow, PersonRow, Stage


def _not_draft(ctx: Ctx, app: ApplicationRow) -> bool:
    """Documents can only change while the application is a draft; say so otherwise."""
    if app.stage == Stage.DRAFT:
        return False
    ctx.say(P.DOCS_ALREADY_SUBMITTED.format(app_id=app.id, stage=apps.STAGE_LABELS[app.stage]))
    return True


def _draft(ctx: Ctx, app: ApplicationRow | None, missing: str) -> ApplicationRow | None:
    """The chat's application if its documents may still change; else None, having said why
    (`missing` when there is no application)."""
    if app is None or app.id is None:
        ctx.say(missing)
        return None
    return None if _not_draft(ctx, app) else app


def _max_mb(ctx: Ctx) -> int:
    return ctx.svc.max_upload_bytes // (1024 * 1024)


def show(ctx: Ctx, app: ApplicationRow | None = None) -> None:
    app = _draft(ctx, app or current_application(ctx), P.DOCS_NO_APP)
    if app is None or app.id is None:
        ctx.set_flow(None)
        return
    items = apps.checklist(ctx.session, app.id)
    prog = apps.progress(items)
    ctx.set_flow(Flow.DOCS)
    ctx.state.docs.app_id = app.id
    lines = [P.DOCS_HEADER.format(app_id=app.id, received=prog.received, total=prog.total)]
    for i, item in enumerate(items, start=1):
        status = P.DOCS_STATUS.get(item.status, item.status)
        lines.append(P.DOCS_LINE.format(index=i, label=item.label, status=status))
    lines.append(P.DOCS_HOW.format(max_mb=_max_mb(ctx)))
    sms = P.DOCS_SMS.format(app_id=app.id, received=prog.received, total=prog.total)
    if not prog.missing:
        ctx.ask("\n".join([*lines, P.DOCS_ALL_DONE]), opts(P.DOCS_SUBMIT_OPTIONS), sms=sms)
    else:
        ctx.ask("\n".join(lines), sms=sms)


def text(ctx: Ctx) -> None:
    """Text while the checklist is shown: a number picks an item; anything else goes to the FAQ."""
    t = squash(ctx.text)
    if t.isascii() and t.isdigit():
        choose(ctx, t)
        return
    found = faq_flow.match(ctx, ctx.text)
    if found is not None:
        faq_flow.answer(ctx, ctx.text, found)
        return
    ctx.say(P.NOT_UNDERSTOOD_STEP)  # an answer to the checklist, not a question for the FAQ log
    show(ctx)


def choose(ctx: Ctx, index_text: str) -> None:
    app_id = ctx.state.docs.app_id
    items = apps.checklist(ctx.session, app_id) if app_id else []
    if not items:
        show(ctx)
        return
    try:
        index = int(index_text)
    except ValueError:
        index = 0
    if not 1 <= index <= len(items):
        ctx.say(P.DOCS_BAD_INDEX.format(total=len(items)))
        return
    ctx.state.docs.item = items[index - 1].code
    ctx.say(P.DOCS_CHOSEN.format(label=items[index - 1].label))


def back(ctx: Ctx) -> bool:
    """返回 while an item is chosen: un-choose it. False when there is nothing to undo here."""
    if ctx.state.docs.item is None:
        return False
    ctx.state.docs.item = None
    show(ctx)
    return True


def attachments(ctx: Ctx) -> None:
    app = _draft(ctx, current_application(ctx), P.DOCS_FILE_WITHOUT_APP)
    if app is None or app.id is None:
        return
    ctx.set_flow(Flow.DOCS)
    ctx.state.docs.app_id = app.id
    for att in ctx.event.attachments:
        _store(ctx, app, att)
    items = apps.checklist(ctx.session, app.id)
    prog = apps.progress(items)
    if not prog.missing:
        ctx.ask(P.DOCS_ALL_DONE, opts(P.DOCS_SUBMIT_OPTIONS))
    else:
        nxt = prog.missing[0]
        ctx.say(P.DOCS_NEXT.format(index=items.index(nxt) + 1, label=nxt.label))


def _target(ctx: Ctx, items: list[DocumentItemRow]) -> DocumentItemRow | None:
    code = ctx.state.docs.item
    ctx.state.docs.item = None
    target = next((it for it in items if it.code == code), None)
    if target is None:
        target = next((it for it in items if it.status in ("missing", "rejected")), None)
    return target


def _store(ctx: Ctx, app: ApplicationRow, att: Attachment) -> None:
    assert app.id is not None
    if att.too_large:
        ctx.say(P.DOCS_TOO_LARGE.format(max_mb=_max_mb(ctx)))
        return
    try:
        checked = check_upload(att.data, ctx.svc.max_upload_bytes)
    except UploadError as exc:
        ctx.say(str(exc))
        return
    items = apps.checklist(ctx.session, app.id)
    for i, item in enumerate(items, start=1):
        if item.sha256 == checked.sha256 and item.status != "missing":
            ctx.say(P.DOCS_DUPLICATE.format(index=i, label=item.label))
            return
    target = _target(ctx, items)
    if target is None:
        ctx.say(P.DOCS_ALL_DONE)
        return
    replaced = target.status != "missing"
    if replaced and target.storage_key:
        ctx.replaced_files.append(target.storage_key)
    key = ctx.svc.files.put(att.data, checked.suffix)
    ctx.stored_files.append(key)
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
    prog = apps.progress(items)
    template = P.DOCS_REPLACED if replaced else P.DOCS_RECEIVED
    ctx.say(
        template.format(
            index=items.index(target) + 1,
            label=target.label,
            received=prog.received,
            total=prog.total,
        )
    )


def submit(ctx: Ctx) -> None:
    app = _draft(ctx, current_application(ctx), P.DOCS_NO_APP)
    if app is None or app.id is None:
        return
    person = ctx.session.get(PersonRow, app.person_id) if app.person_id is not None else None
    todo = intake.required_missing(app, person, ctx.svc.policy)
    if todo:
        ctx.say(T.INCOMPLETE.format(labels="、".join(T.LABELS[f] for f in todo)))
        ctx.state.apply.app_id = app.id
        ctx.set_flow(Flow.APPLY)
        if ctx.resume is not None:
            ctx.resume(ctx)  # asks the first missing question
        return
    items = apps.checklist(ctx.session, app.id)
    prog = apps.progress(items)
    if prog.missing:
        labels = "、".join(P.DOCS_LABEL.format(label=m.label) for m in prog.missing[:5])
        ctx.say(P.DOCS_NOT_ALL.format(count=len(prog.missing), labels=labels))
        return
    apps.change_stage(ctx.session, app, Stage.SUBMITTED, actor="applicant")
    svc = ctx.svc
    expected = svc.calendar.add_workdays(svc.today(), svc.policy.total_days(app.applicant_type))
    ctx.set_flow(None)
    ctx.say(
        P.DOCS_SUBMITTED.format(
            app_id=app.id,
            days=svc.policy.total_days(app.applicant_type),
            date=format_date_cn(expected),
            estimate=P.ESTIMATE_NOTE if svc.calendar.is_estimate(expected) else "",
        )
    )
