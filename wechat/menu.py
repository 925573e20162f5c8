"""The custom menu (自定义菜单) from knowledge/wechat_menu.yaml, checked and pushed with wechatpy.

WeChat's rules, checked before anything is sent: 1–3 top-level buttons, at most 5 sub_buttons
each; names at most 16 bytes (top level) / 60 bytes (sub buttons); a `click` button needs a `key`
(at most 128 bytes) that /wechat understands, a `view` button a `url`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from wechat.webhooks import CLICK_WORDS

KNOWN_KEYS = frozenset({"faq", *CLICK_WORDS})


class MenuError(ValueError):
    """A menu file WeChat would refuse; the message names the button."""


def _check_button(button: Any, where: str, top: bool) -> None:
    if not isinstance(button, dict):
        raise MenuError(f"{where}: not a mapping")
    name = str(button.get("name") or "")
    limit = 16 if top else 60
    if not name or len(name.encode()) > limit:
        raise MenuError(f"{where}: name missing or longer than {limit} bytes")
    subs = button.get("sub_button")
    if subs is not None:
        if not top or not isinstance(subs, list) or not 1 <= len(subs) <= 5:
            raise MenuError(f"{where}: sub_button must be a list of 1 to 5 buttons")
        for i, sub in enumerate(subs, start=1):
            _check_button(sub, f"{where}.sub_button[{i}]", top=False)
        return
    kind = button.get("type")
    if kind == "click":
        key = str(button.get("key") or "")
        if key not in KNOWN_KEYS:
            raise MenuError(f"{where}: click key {key!r} is not one of {sorted(KNOWN_KEYS)}")
    elif kind == "view":
        if not str(button.get("url") or "").startswith(("http://", "https://")):
            raise MenuError(f"{where}: view button needs an http(s) url")
    else:
        raise MenuError(f"{where}: type must be click or view (or give sub_button)")


def load_menu(path: Path) -> dict[str, Any]:
    """The menu/create payload from the YAML file (MenuError when WeChat would refuse it)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MenuError(f"{path}: {exc}") from exc
    buttons = data.get("button") if isinstance(data, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise MenuError(f"{path.name}: button must be a list of 1 to 3 buttons")
    for i, button in enumerate(buttons, start=1):
        _check_button(button, f"button[{i}]", top=True)
    return {"button": buttons}
