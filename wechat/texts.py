"""The WeChat door's data: its texts and the 模板消息 mapping (knowledge/templates/wechat.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_FIELD_CHARS = 200


class WechatDataError(ValueError):
    pass


@dataclass(frozen=True)
class TemplateMessage:
    """One outbox template carried by one WeChat template (empty id: not set up)."""

    name: str
    template_id: str
    data: dict[str, str]
    url: str | None = None

    def render(self, params: dict[str, Any]) -> dict[str, dict[str, str]]:
        """The `data` of message/template/send: {field: {"value": text}}."""
        out: dict[str, dict[str, str]] = {}
        for field, pattern in self.data.items():
            try:
                value = pattern.format_map(params)
            except (KeyError, IndexError, ValueError) as exc:
                raise WechatDataError(f"wechat template {self.name}.{field}: {exc}") from exc
            out[field] = {"value": value[:MAX_FIELD_CHARS]}
        return out


@dataclass(frozen=True)
class WechatData:
    texts: dict[str, str]
    templates: dict[str, TemplateMessage]

    def text(self, name: str) -> str:
        return self.texts[name]

    def template(self, name: str | None) -> TemplateMessage | None:
        found = self.templates.get(name or "")
        return found if found is not None and found.template_id else None

    def missing_ids(self) -> list[str]:
        return sorted(n for n, t in self.templates.items() if not t.template_id)


REQUIRED_TEXTS = ("voice", "unsupported", "faq_prompt", "busy", "media_failed")


def load_wechat_data(path: Path) -> WechatData:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    texts = {str(k): str(v) for k, v in (raw.get("texts") or {}).items()}
    missing = [t for t in REQUIRED_TEXTS if t not in texts]
    if missing:
        raise WechatDataError(f"{path.name}: texts missing {missing}")
    templates: dict[str, TemplateMessage] = {}
    for name, spec in (raw.get("template_messages") or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("data"), dict):
            raise WechatDataError(f"{path.name}: template_messages.{name} needs a data mapping")
        templates[str(name)] = TemplateMessage(
            name=str(name),
            template_id=str(spec.get("template_id") or "").strip(),
            data={str(k): str(v) for k, v in spec["data"].items()},
            url=str(spec["url"]) if spec.get("url") else None,
        )
    return WechatData(texts, templates)
