"""SMS rendering of named templates (core.outbox.templates) and the text every SMS carries.

A text gateway (Twilio) renders the template's `sms` text and adds the signature itself; a
template gateway (Aliyun, Tencent Cloud) sends the template code and its registered signature is
added by the provider, so it uses `template_kind` and the parameters only.
"""

from __future__ import annotations

from typing import Any

from core.outbox.templates import load_templates, render

FREE_TEXT = "sms_free_text"
REPLY_OVERFLOW = "sms_reply_overflow"


def render_sms(template: str, params: dict[str, Any]) -> str:
    """The SMS text of a named template (TemplateError for an unknown name or missing params)."""
    return render(template, "sms", params)


def template_kind(template: str) -> str:
    """notification | broadcast | reply, as declared in the template file (unknown: notification)."""
    found = load_templates().get(template)
    return found.kind if found is not None else "notification"


def with_signature(text: str, signature: str) -> str:
    """Prefix the signature (【创业担保贷款】) unless the text already carries it."""
    if not signature or text.startswith(signature) or text.endswith(signature):
        return text
    return f"{signature}{text}"


def with_unsubscribe_hint(text: str, hint: str) -> str:
    """Broadcasts end with the unsubscribe hint (拒收请回复R); notifications never do."""
    if not hint or text.rstrip().endswith(hint):
        return text
    return f"{text.rstrip()}\n{hint}"


def decorate(text: str, *, kind: str, signature: str, unsubscribe_hint: str) -> str:
    """The final text of an outgoing SMS: hint for broadcasts, then the signature prefix."""
    if kind == "broadcast":
        text = with_unsubscribe_hint(text, unsubscribe_hint)
    return with_signature(text, signature)
