"""Reaching an applicant when their chat cannot be reached: the same notice by SMS to their
verified mobile (the person's phone, proven by the SMS sender number, a Telegram contact share
or a one-time code).

The outbox dispatcher calls `sms_fallback` for review results, stage changes and staff replies
that failed because the chat is unreachable (a blocked bot) or has no sender (the terminal).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.kernel.identity import IdentityError, normalize_phone
from core.outbox.enqueue import enqueue
from core.outbox.templates import TemplateError, render
from core.persistence.models import ChannelIdentityRow, NoticeRow, PersonRow

FALLBACK_KINDS = frozenset({"review", "relay"})


def mobile_address(session: Session, person_id: int | None) -> tuple[str, int | None] | None:
    """The person's mobile in E.164 and its SMS identity id (None before the number ever wrote),
    unless that number is known to be unreachable."""
    person = session.get(PersonRow, person_id) if person_id is not None else None
    if person is None or not person.phone:
        return None
    try:
        phone = normalize_phone(person.phone)
    except IdentityError:
        return None
    ident = session.exec(
        select(ChannelIdentityRow).where(
            ChannelIdentityRow.channel == "sms", ChannelIdentityRow.address == phone
        )
    ).first()
    if ident is not None and ident.unreachable:
        return None
    return phone, ident.id if ident is not None else None


def verified_mobile(session: Session, person_id: int | None) -> str | None:
    """The person's mobile in E.164, unless that number is known to be unreachable."""
    found = mobile_address(session, person_id)
    return found[0] if found is not None else None


def sms_fallback(session: Session, notice_ids: list[int]) -> int:
    """Queue an SMS copy of each failed chat notice; returns how many were queued."""
    queued = 0
    for notice in session.exec(select(NoticeRow).where(col(NoticeRow.id).in_(notice_ids))):
        if notice.kind not in FALLBACK_KINDS or notice.channel == "sms":
            continue
        person_id = notice.person_id
        if person_id is None and notice.identity_id is not None:
            ident = session.get(ChannelIdentityRow, notice.identity_id)
            person_id = ident.person_id if ident is not None else None
        phone = verified_mobile(session, person_id)
        if phone is None:
            continue
        text = notice.text
        if notice.template:
            try:
                text = render(notice.template, "sms", dict(notice.params or {}))
            except TemplateError:
                text = notice.text
        queued += enqueue(
            session,
            key=f"{notice.key}:sms",
            kind=notice.kind,
            channel="sms",
            address=phone,
            person_id=person_id,
            text=text,
            template=notice.template,
            params=dict(notice.params or {}),
        )
    return queued
