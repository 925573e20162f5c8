"""Named message templates (text for people is data: knowledge/templates/*.yaml).

Every outgoing notice is rendered from a named template with parameters, because domestic SMS
gateways (Aliyun, Tencent Cloud) only send pre-approved templates. A template file looks like:

    templates:
      staff_reply:
        kind: reply                 # notification | broadcast | reply
        telegram: "【工作人员回复】{text}"
        sms: "工作人员回复：{text}"
        params: [text]

The Twilio adapter renders `sms` to text; a template gateway maps the name to its template code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "knowledge" / "templates"


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class Template:
    name: str
    kind: str
    telegram: str
    sms: str
    params: tuple[str, ...]

    def render(self, channel: str, params: dict[str, Any]) -> str:
        missing = [p for p in self.params if p not in params]
        if missing:
            raise TemplateError(f"template {self.name}: missing parameters {missing}")
        text = self.sms if channel == "sms" else self.telegram
        return text.format_map({k: params[k] for k in self.params})


@lru_cache(maxsize=8)
def load_templates(folder: Path = DEFAULT_DIR) -> dict[str, Template]:
    out: dict[str, Template] = {}
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, spec in (data.get("templates") or {}).items():
            if name in out:
                raise TemplateError(f"{path.name}: template {name} defined twice")
            try:
                out[name] = Template(
                    name=name,
                    kind=str(spec.get("kind", "notification")),
                    telegram=str(spec["telegram"]),
                    sms=str(spec.get("sms", spec["telegram"])),
                    params=tuple(spec.get("params") or ()),
                )
            except (KeyError, AttributeError) as exc:
                raise TemplateError(f"{path.name}: template {name}: {exc}") from exc
    return out


def render(name: str, channel: str, params: dict[str, Any]) -> str:
    templates = load_templates()
    if name not in templates:
        raise TemplateError(f"unknown template {name}")
    return templates[name].render(channel, params)
