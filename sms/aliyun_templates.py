"""The Aliyun template catalogue: template name -> registered 模板CODE, variables and their rules.

Data: knowledge/templates/aliyun_sms.yaml (see its header). `load_catalog` reads it once per
folder; `AliyunCatalog.template_param` turns a notice's template parameters into the
TemplateParam object Alibaba expects, refusing (TemplateError, with the reason in Chinese for
staff) any value that breaks the variable's rule — too long, a web address in a non-link
variable, characters the 变量属性 does not allow — so nothing is sent that Alibaba would refuse
or, worse, deliver mangled. `check_catalog` is the same rule set applied statically for
`chuangdai kb check`: every template that the reminder ladder, reviews, relays, broadcasts and
SMS replies use has a code, and the worst-case sample values fit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from core.broadcasts.common import TEMPLATE as BROADCAST_TEMPLATE
from core.outbox.templates import DEFAULT_DIR, Template, TemplateError, load_templates
from core.reminders.ladder import ReminderPolicyError, parse_reminder_policy
from knowledge.schema import Problem

FILE = "aliyun_sms.yaml"
AUTO_REPLY = "sms_auto_reply"
# Templates sent by code paths other than the ladder (whose templates come from the policy files).
REVIEW_TEMPLATES = ("document_rejected", "document_accepted", "stage_changed")
RELAY_TEMPLATES = ("staff_reply",)
CODE_TEMPLATES = ("verify_code", "link_code")  # core/dialogue/otp.py: intake mobile check, 绑定
REQUIRED_OUTSIDE_LADDER = (
    *REVIEW_TEMPLATES,
    *RELAY_TEMPLATES,
    *CODE_TEMPLATES,
    BROADCAST_TEMPLATE,
    AUTO_REPLY,
)
TYPES = ("notification", "promotion", "verification")
ACTIONS = ("defer", "unreachable", "retry", "fail")

_CODE = re.compile(r"^SMS_\d{6,}$")
_VAR = re.compile(r"\$\{([^}]*)\}")
_VAR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,24}$")
_RESERVED_NAMES = frozenset({"email", "mobile", "id", "nick", "site"})
_URL = re.compile(
    r"(?i)(https?://|www\.|\b[a-z0-9-]+\.(com|cn|net|org|gov|edu|top|xyz|info|io|cc|me|vip|shop|site|ly|co)\b)"
)
_WORDY = re.compile(r"[\u4e00-\u9fffA-Za-z]")
_SPACES = re.compile(r"\s+")
_OPT_OUT_WORDS = ("退订", "拒收", "回复R", "回T")


@dataclass(frozen=True)
class VariableRule:
    name: str
    label: str
    max_length: int
    pattern: re.Pattern[str] | None = None
    url: bool = False


@dataclass(frozen=True)
class Variable:
    name: str
    param: str
    rule: str
    extended: bool = False
    max_length: int | None = None


@dataclass(frozen=True)
class GatewayTemplate:
    name: str
    code: str
    type: str
    content: str
    variables: tuple[Variable, ...]


@dataclass(frozen=True)
class ErrorRule:
    action: str
    reason: str
    retry_after: float | None = None


@dataclass(frozen=True)
class AliyunCatalog:
    templates: Mapping[str, GatewayTemplate]
    rules: Mapping[str, VariableRule]
    errors: Mapping[str, ErrorRule]
    samples: Mapping[str, str] = field(default_factory=dict)
    batch_limit: int = 100
    max_message_length: int = 500
    max_extended_length: int = 500
    opt_out_hint: str = "拒收请回复R"

    def limit(self, var: Variable) -> int:
        rule = self.rules[var.rule]
        return var.max_length if var.extended and var.max_length else rule.max_length

    def template(self, name: str) -> GatewayTemplate:
        found = self.templates.get(name)
        if found is None:
            raise TemplateError(
                f"模板 {name} 没有登记阿里云模板CODE（{FILE}），阿里云只能发送已报备的模板"
            )
        return found

    def problems_of(self, var: Variable, value: str) -> list[str]:
        """What is wrong with `value` (already normalised) for `var`; empty when it fits."""
        rule = self.rules[var.rule]
        out: list[str] = []
        if not value:
            out.append(f"变量 {var.name} 为空（阿里云不接受空变量）")
        if len(value) > self.limit(var):
            out.append(f"变量 {var.name} 共 {len(value)} 字，超过上限 {self.limit(var)} 字")
        if not rule.url and _URL.search(value):
            out.append(f"变量 {var.name} 含网址，阿里云只允许链接参数变量带网址")
        if value and rule.pattern is not None and not rule.pattern.match(value):
            out.append(f"变量 {var.name} 不符合变量属性“{rule.label}”的格式：{value}")
        return out

    def template_param(
        self, name: str, params: Mapping[str, Any]
    ) -> tuple[GatewayTemplate, dict[str, str]]:
        """The template and its TemplateParam values (TemplateError when a value does not fit)."""
        tpl = self.template(name)
        values: dict[str, str] = {}
        problems: list[str] = []
        for var in tpl.variables:
            if var.param not in params:
                raise TemplateError(f"模板 {name} 缺少参数 {var.param}")
            value = normalize_value(params[var.param])
            problems.extend(self.problems_of(var, value))
            values[var.name] = value
        if problems:
            raise TemplateError(f"阿里云模板 {tpl.code}（{name}）：" + "；".join(problems))
        return tpl, values

    def render(self, tpl: GatewayTemplate, values: Mapping[str, str], sign_name: str = "") -> str:
        """The text as it arrives (Alibaba puts 【签名】 in front)."""
        text = _VAR.sub(lambda m: values.get(m.group(1), m.group(0)), tpl.content)
        return f"【{sign_name}】{text}" if sign_name else text

    def error(self, code: str) -> ErrorRule | None:
        return self.errors.get(code)


def normalize_value(raw: Any) -> str:
    """A parameter as a variable value: one line, no 【】 (they would read as a signature)."""
    text = _SPACES.sub(" ", str(raw)).strip()
    return text.replace("【", "〔").replace("】", "〕")


# --- loading -----------------------------------------------------------------------------------


class CatalogError(ValueError):
    pass


def _rules(spec: Mapping[str, Any]) -> dict[str, VariableRule]:
    rules: dict[str, VariableRule] = {}
    for name, r in (spec or {}).items():
        pattern = r.get("pattern")
        rules[str(name)] = VariableRule(
            name=str(name),
            label=str(r.get("label", name)),
            max_length=int(r.get("max_length", 35)),
            pattern=re.compile(str(pattern)) if pattern else None,
            url=bool(r.get("url", False)),
        )
    return rules


def _templates(spec: Mapping[str, Any]) -> dict[str, GatewayTemplate]:
    out: dict[str, GatewayTemplate] = {}
    for name, t in (spec or {}).items():
        variables = tuple(
            Variable(
                name=str(var),
                param=str(v.get("param", var)),
                rule=str(v.get("rule", "others")),
                extended=bool(v.get("extended", False)),
                max_length=int(v["max_length"]) if v.get("max_length") is not None else None,
            )
            for var, v in (t.get("variables") or {}).items()
        )
        out[str(name)] = GatewayTemplate(
            name=str(name),
            code=str(t.get("code", "")),
            type=str(t.get("type", "")),
            content=str(t.get("content", "")),
            variables=variables,
        )
    return out


def parse_catalog(data: Mapping[str, Any]) -> AliyunCatalog:
    spec = data.get("aliyun") if isinstance(data, Mapping) else None
    if not isinstance(spec, Mapping):
        raise CatalogError(f"{FILE}: 缺少顶层 aliyun:")
    try:
        errors = {
            str(code): ErrorRule(
                action=str(e.get("action", "fail")),
                reason=str(e.get("reason", code)),
                retry_after=float(e["retry_after"]) if e.get("retry_after") is not None else None,
            )
            for code, e in (spec.get("errors") or {}).items()
        }
        return AliyunCatalog(
            templates=_templates(spec.get("templates") or {}),
            rules=_rules(spec.get("variable_rules") or {}),
            errors=errors,
            samples={str(k): str(v) for k, v in (spec.get("samples") or {}).items()},
            batch_limit=int(spec.get("batch_limit", 100)),
            max_message_length=int(spec.get("max_message_length", 500)),
            max_extended_length=int(spec.get("max_extended_length", 500)),
            opt_out_hint=str(spec.get("opt_out_hint", "拒收请回复R")),
        )
    except (AttributeError, TypeError, ValueError, KeyError, re.error) as exc:
        raise CatalogError(f"{FILE}: 格式错误：{exc}") from exc


@lru_cache(maxsize=8)
def load_catalog(folder: Path = DEFAULT_DIR) -> AliyunCatalog:
    """knowledge/templates/aliyun_sms.yaml of `folder` (CatalogError if missing or malformed)."""
    path = folder / FILE
    if not path.is_file():
        raise CatalogError(f"找不到 {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CatalogError(f"{FILE}: YAML 无法解析：{exc}") from exc
    return parse_catalog(data)


# --- the static check (chuangdai kb check) ----------------------------------------------------


def ladder_templates(policy_dir: Path) -> set[str]:
    """Every template named by a reminder ladder file (type: reminders) in `policy_dir`."""
    names: set[str] = set()
    for path in sorted(policy_dir.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, Mapping) or data.get("type") != "reminders":
            continue
        try:
            policy = parse_reminder_policy(data, path.stem)
        except ReminderPolicyError:
            continue  # reported by the policy checks
        for rule in policy.rules:  # the wage-deduction wording and the 反担保合同 alternative
            names.update(tpl for _role, tpl in (*rule.recipients, *rule.contract_recipients))
    return names


def _content_problems(
    cat: AliyunCatalog, tpl: GatewayTemplate, defined: Template | None
) -> Iterable[str]:
    content = tpl.content
    if not _CODE.match(tpl.code):
        yield f"模板CODE“{tpl.code}”不是阿里云的格式（SMS_ 加数字）"
    if tpl.type not in TYPES:
        yield (
            "type 必须是 notification（通知短信）、promotion（推广短信）或 verification（验证码），"
            f"不是“{tpl.type}”"
        )
    if defined is not None and (defined.kind == "broadcast") != (tpl.type == "promotion"):
        yield "群发公告必须用推广短信模板，其他消息必须用通知短信模板"
    if tpl.type == "promotion" and not content.rstrip().endswith(cat.opt_out_hint):
        yield f"推广短信模板必须以“{cat.opt_out_hint}”结尾"
    if tpl.type == "verification" and len(_VAR.findall(content)) != 1:
        yield "验证码模板只能有一个变量（验证码本身）"
    if tpl.type != "promotion" and any(w in content for w in _OPT_OUT_WORDS):
        yield "通知短信模板不得含退订提示（退订/拒收/回复R）"
    if "【" in content or "】" in content:
        yield "模板内容不得含【】（会被当作签名）"
    names = _VAR.findall(content)
    declared = {v.name for v in tpl.variables}
    for n in names:
        if not _VAR_NAME.match(n) or n.lower() in _RESERVED_NAMES:
            yield f"变量名 {n} 不合规（字母开头、字母数字下划线、不超过25字，且不能是 email/mobile/id/nick/site）"
    if len(names) != len(set(names)):
        yield "同一变量在模板中只能出现一次"
    if set(names) != declared:
        yield f"模板内容中的变量 {sorted(set(names))} 与 variables 登记的 {sorted(declared)} 不一致"
    for gap in _VAR.split(content)[2:-1:2]:
        if not _WORDY.search(gap):
            yield "变量之间必须有文字说明（阿里云不支持连续变量）"
            break
    fixed = len(_VAR.sub("", content))
    longest = fixed + sum(cat.limit(v) for v in tpl.variables if v.rule in cat.rules)
    if longest > cat.max_message_length:
        yield f"模板连同变量最长 {longest} 字，超过阿里云上限 {cat.max_message_length} 字"


def _variable_problems(
    cat: AliyunCatalog, tpl: GatewayTemplate, defined: Template | None
) -> Iterable[str]:
    for var in tpl.variables:
        rule = cat.rules.get(var.rule)
        if rule is None:
            yield f"变量 {var.name} 的变量属性 {var.rule} 未在 variable_rules 中定义"
            continue
        if defined is not None and var.param not in defined.params:
            yield f"变量 {var.name} 对应的参数 {var.param} 不是模板 {tpl.name} 的参数 {list(defined.params)}"
        if var.max_length is not None and not var.extended:
            yield f"变量 {var.name} 设置了 max_length 却未标明 extended: true（需阿里云解除变量长度限制）"
        if var.extended and not (0 < cat.limit(var) <= cat.max_extended_length):
            yield f"变量 {var.name} 的长度上限须在 1–{cat.max_extended_length} 字之间"
        if rule.url and not re.search(r"[/=]$", tpl.content.split("${" + var.name + "}")[0]):
            yield f"链接参数变量 {var.name} 前必须是固定的网址（以 / 或 = 结尾）"
        sample = cat.samples.get(var.param)
        if sample is None:
            yield f"samples 缺少参数 {var.param} 的最长样例，无法检查变量 {var.name}"
            continue
        for p in cat.problems_of(var, normalize_value(sample)):
            yield f"样例不合规：{p}"


def check_catalog(knowledge_dir: Path) -> list[Problem]:
    """Every problem of knowledge_dir/templates/aliyun_sms.yaml, for `chuangdai kb check`."""
    templates_dir = knowledge_dir / "templates"
    if not (templates_dir / FILE).is_file():
        return []  # a knowledge folder without SMS templates (FAQ only): nothing to check
    try:
        cat = load_catalog.__wrapped__(templates_dir)
    except CatalogError as exc:
        return [Problem(f"templates/{FILE}", "-", str(exc))]
    try:
        defined = load_templates.__wrapped__(templates_dir)
    except TemplateError as exc:
        return [Problem("templates", "-", str(exc))]
    problems: list[Problem] = []

    def add(name: str, message: str) -> None:
        problems.append(Problem(f"templates/{FILE}", name, message))

    required = ladder_templates(knowledge_dir / "policies") | set(REQUIRED_OUTSIDE_LADDER)
    for name in sorted(required - set(cat.templates)):
        add(name, "该模板会通过短信发送，但没有登记阿里云模板CODE")
    for name, tpl in cat.templates.items():
        if name not in defined:
            add(name, "模板名不存在于 knowledge/templates/*.yaml")
        for message in _content_problems(cat, tpl, defined.get(name)):
            add(name, message)
        for message in _variable_problems(cat, tpl, defined.get(name)):
            add(name, message)
    codes: dict[str, str] = {}
    for name, tpl in cat.templates.items():
        if tpl.code in codes:
            add(name, f"模板CODE {tpl.code} 与 {codes[tpl.code]} 重复")
        codes.setdefault(tpl.code, name)
    for code, err in cat.errors.items():
        if err.action not in ACTIONS:
            add(code, f"错误处理方式 {err.action} 无效（可选 {', '.join(ACTIONS)}）")
    if not 1 <= cat.batch_limit <= 100:
        add("batch_limit", "SendBatchSms 每次最多 100 个号码")
    return problems
