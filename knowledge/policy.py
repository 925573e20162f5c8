"""Policy files: caps, terms, ratios, documents, exclusions and working-day limits, by article.

A policy file is a YAML document under ``knowledge/policies/`` (``type: policy``, the default).
It may say ``extends: <other policy name>``: the parent file is loaded first and this file's
mappings are deep-merged over it (lists and scalars replace, mappings merge), so a later policy only
states what changed. Files with another ``type`` (for example ``type: reminders``) live in the
same folder but are not policies and are skipped by :func:`list_policies`.

This module belongs to the ``knowledge`` base layer and must not import ``core``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from knowledge._model import FrozenModel as _Model
from knowledge.exclusions import Exclusions

POLICIES_DIR = Path(__file__).resolve().parent / "policies"

CategoryKey = Literal["unemployed", "veteran", "graduate", "returnee", "woman"]
CATEGORY_KEYS: tuple[str, ...] = ("unemployed", "veteran", "graduate", "returnee", "woman")
APPLICANT_TYPES: tuple[str, ...] = ("individual", "partnership", "enterprise")
STAGES: tuple[str, ...] = ("community_review", "street_review", "guarantee_review", "bank_review")

# Placeholders that must come from the `texts:` mapping (the others are derived from figures).
TEXT_KEYS: tuple[str, ...] = (
    "policy_name",
    "policy_short",
    "caveat",
    "office",
    "art_types",
    "art_exclusions",
    "art_eligibility",
    "art_in_person",
    "art_credit",
    "art_guarantee_fund",
    "art_banks",
    "art_leverage",
    "art_process",
    "art_caps",
    "art_enterprise_conditions",
    "art_enterprise_docs",
    "art_enterprise_cap",
    "art_subsidy",
    "art_obligations",
    "art_guarantee_body",
    "art_bank_duties",
    "art_bank_claims",
    "art_enterprise_size",
    "art_subsidy_scope",
    "policy_origin",
    "naming_note",
    "validity_note",
    "subsidy_condition",
    "silent_scope",
)

# Every placeholder served by Policy.placeholders() (the table in knowledge/README.md).
PLACEHOLDER_KEYS: tuple[str, ...] = (
    "policy_name",
    "policy_doc",
    "policy_short",
    "caveat",
    "office",
    "cap_unemployed",
    "cap_veteran",
    "cap_woman",
    "cap_graduate",
    "cap_partnership",
    "cap_enterprise",
    "term_individual",
    "term_partnership",
    "term_enterprise",
    "ratio",
    "ratio_large",
    "large_staff",
    "contract_min",
    "days_individual",
    "days_community",
    "days_street",
    "days_guarantee",
    "days_bank",
    "days_ent_guarantee",
    "days_ent_bank",
    "subsidy_individual",
    "subsidy_enterprise",
    "leverage",
    *(k for k in TEXT_KEYS if k.startswith("art_")),
    "policy_origin",
    "naming_note",
    "validity_note",
    "subsidy_condition",
    "silent_scope",
)


class PolicyError(ValueError):
    """A policy file that cannot be loaded; the message names the file and the field."""


def format_yuan_wan(yuan: int) -> str:
    """50000 -> '5万元', 2000000 -> '200万元', 55000 -> '5.5万元', 8000 -> '8000元'."""
    if yuan >= 10000:
        whole, rest = divmod(yuan, 10000)
        if rest == 0:
            return f"{whole}万元"
        frac = f"{rest:04d}".rstrip("0")
        return f"{whole}.{frac}万元"
    return f"{yuan}元"


def format_months(months: int) -> str:
    """24 -> '2年', 18 -> '18个月'."""
    if months % 12 == 0:
        return f"{months // 12}年"
    return f"{months}个月"


class Category(_Model):
    """One group of individual applicants (第四条 lists them, 第十四条 caps them)."""

    label: str
    certificate: str
    certificate_article: str
    cap_yuan: int | None = Field(ge=0)
    term_months: int = Field(gt=0)
    article: str
    cap_note: str | None = None
    # What to tell someone without the certificate (who issues it, if the policy says so).
    certificate_hint: str = (
        "未持有的，请先到户籍地或居住地的社区、街道或县区就业服务机构办理，再申请贷款。"
    )


class Partnership(_Model):
    """Joint applications by several eligible people (合伙经营/组织起来就业)."""

    cap_yuan: int | None = Field(default=None, ge=0)
    member_cap_percent: int | None = Field(default=None, gt=0)
    term_months: int = Field(gt=0)
    min_members: int = Field(default=2, ge=2)
    article: str
    note: str

    @model_validator(mode="after")
    def _some_cap(self) -> Partnership:
        if self.cap_yuan is None and self.member_cap_percent is None:
            raise ValueError("cap_yuan 和 member_cap_percent 至少填写一项")
        return self

    def max_amount(self, members: int, member_cap_yuan: int | None) -> int | None:
        """Cap for `members` partners whose individual cap is `member_cap_yuan` (None: unknown)."""
        caps: list[int] = []
        if self.cap_yuan is not None:
            caps.append(self.cap_yuan)
        if self.member_cap_percent is not None:
            if member_cap_yuan is None:
                return self.cap_yuan
            caps.append(members * member_cap_yuan * self.member_cap_percent // 100)
        return min(caps) if caps else None


class Enterprise(_Model):
    """Small-enterprise loans (劳动密集型小企业 / 小微企业)."""

    label: str
    certificate: str
    certificate_article: str
    cap_yuan: int = Field(ge=0)
    term_months: int = Field(gt=0)
    article: str
    cap_note: str | None = None
    hiring_ratio_percent: int = Field(gt=0, le=100)
    large_ratio_percent: int = Field(gt=0, le=100)
    large_staff: int = Field(gt=0)
    ratio_article: str
    contract_min_months: int = Field(gt=0)
    contract_article: str
    social_insurance_required: bool
    conditions_article: str
    size_standard: str | None = None
    size_article: str | None = None

    def required_ratio_percent(self, employees: int) -> int:
        """Hiring ratio that applies to a firm of `employees` staff (large ratio above the limit)."""
        return (
            self.large_ratio_percent if employees > self.large_staff else self.hiring_ratio_percent
        )


class ArticleText(_Model):
    article: str
    text: str


class DocumentList(_Model):
    article: str
    items: tuple[str, ...] = Field(min_length=1)


class Documents(_Model):
    individual: DocumentList
    enterprise: DocumentList


class Step(_Model):
    stage: Literal["community_review", "street_review", "guarantee_review", "bank_review"]
    name: str
    days: int = Field(ge=0)
    article: str


class Procedure(_Model):
    article: str
    total_days: int = Field(ge=0)
    note: str | None = None
    steps: tuple[Step, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _total(self) -> Procedure:
        steps_sum = sum(s.days for s in self.steps)
        if steps_sum != self.total_days:
            raise ValueError(f"total_days={self.total_days} 与各步骤工作日之和 {steps_sum} 不一致")
        stages = [s.stage for s in self.steps]
        if len(set(stages)) != len(stages):
            raise ValueError("steps 中的 stage 重复")
        return self


class Procedures(_Model):
    individual: Procedure
    enterprise: Procedure


class PerApplicant(_Model):
    individual: ArticleText
    enterprise: ArticleText


class GuaranteeFund(_Model):
    """第十二条: a handling bank's outstanding balance may not exceed `leverage` × the guarantee
    fund of its county/district (第八条: funds are raised by county/district finance and held
    at the handling bank). Fund sizes are deployment data (settings), not policy."""

    leverage: int = Field(gt=0)
    article: str
    fund_article: str


class SourceRef(_Model):
    """A later or related source whose figures the FAQ answers may quote (`kb check` verifies
    that a typed figure sits in a sentence naming a source that states it)."""

    cite: tuple[str, ...] = Field(min_length=1)
    figures: tuple[str, ...] = ()
    confirmed: bool = True  # False: 🟡 in the notes, the answer must hedge it
    note: str | None = None


class BaseRate(_Model):
    """A benchmark annual rate the import may use for enterprise loans whose row has none."""

    rate: Decimal = Field(gt=0, lt=1)
    source: str


class Policy(_Model):
    """A validated policy file (after `extends` merging)."""

    type: Literal["policy"] = "policy"
    id: str
    extends: str | None = None
    name: str
    document: str
    issuer: str | None = None
    issued_on: date | None = None
    effective_from: date
    effective_to: date | None = None
    unconfirmed: tuple[str, ...] = ()
    categories: dict[CategoryKey, Category]
    partnership: Partnership
    enterprise: Enterprise
    credit: ArticleText
    in_person: ArticleText
    exclusions: Exclusions
    documents: Documents
    procedures: Procedures
    subsidy: PerApplicant
    next_steps: PerApplicant
    guarantee_fund: GuaranteeFund
    default_base_rate: BaseRate | None = None
    aliases: tuple[str, ...] = ()  # how answers name this policy's document in plain words
    references: tuple[SourceRef, ...] = ()
    texts: dict[str, str]
    districts: tuple[str, ...] = ()  # where an application is filed (numbered in the chat)
    intake_optional: tuple[str, ...] = ()  # intake questions an applicant may skip

    @model_validator(mode="after")
    def _complete(self) -> Policy:
        missing_cats = [k for k in CATEGORY_KEYS if k not in self.categories]
        if missing_cats:
            raise ValueError(f"categories 缺少：{', '.join(missing_cats)}")
        missing = [k for k in TEXT_KEYS if not (self.texts.get(k) or "").strip()]
        if missing:
            raise ValueError(f"texts 缺少：{', '.join(missing)}")
        return self

    # --- lookups used by the pre-check, the dialogue and the application tracker -------------

    def category(self, key: str) -> Category:
        return self.categories[key]  # type: ignore[index]

    def procedure(self, applicant_type: str) -> Procedure:
        """Procedure of an applicant type (partnerships follow the individual procedure)."""
        if applicant_type == "enterprise":
            return self.procedures.enterprise
        return self.procedures.individual

    def step_days(self, applicant_type: str) -> dict[str, int]:
        """Stage name -> working-day limit, e.g. {'community_review': 4, ...}."""
        return {s.stage: s.days for s in self.procedure(applicant_type).steps}

    def total_days(self, applicant_type: str) -> int:
        return self.procedure(applicant_type).total_days

    def document_list(self, applicant_type: str) -> DocumentList:
        if applicant_type == "enterprise":
            return self.documents.enterprise
        return self.documents.individual

    def documents_for(self, applicant_type: str) -> list[str]:
        return list(self.document_list(applicant_type).items)

    def subsidy_for(self, applicant_type: str) -> ArticleText:
        if applicant_type == "enterprise":
            return self.subsidy.enterprise
        return self.subsidy.individual

    def subsidy_condition(self, applicant_type: str) -> str:
        """The condition a subsidy depends on (texts `subsidy_condition[_enterprise]`), or ''."""
        key = (
            "subsidy_condition_enterprise"
            if applicant_type == "enterprise"
            else "subsidy_condition"
        )
        return self.texts.get(key, "")

    def next_steps_for(self, applicant_type: str) -> ArticleText:
        if applicant_type == "enterprise":
            return self.next_steps.enterprise
        return self.next_steps.individual

    def placeholders(self) -> dict[str, str]:
        """Every placeholder of the knowledge/README.md table, filled from this policy."""
        cats = self.categories
        ind = self.step_days("individual")
        ent = self.step_days("enterprise")

        def cap(key: str) -> str:
            c = cats[key]  # type: ignore[index]
            return format_yuan_wan(c.cap_yuan) if c.cap_yuan is not None else "未规定"

        p = self.partnership
        if p.cap_yuan is not None and p.member_cap_percent is None:
            cap_partnership = format_yuan_wan(p.cap_yuan)
        elif p.cap_yuan is None:
            cap_partnership = f"合伙人个人额度之和的{p.member_cap_percent}%"
        else:
            cap_partnership = f"合伙人个人额度之和的{p.member_cap_percent}%（且不超过{format_yuan_wan(p.cap_yuan)}）"
        e = self.enterprise
        values: dict[str, str] = {
            "policy_doc": self.document,
            "cap_unemployed": cap("unemployed"),
            "cap_veteran": cap("veteran"),
            "cap_woman": cap("woman"),
            "cap_graduate": cap("graduate"),
            "cap_partnership": cap_partnership,
            "cap_enterprise": format_yuan_wan(e.cap_yuan),
            "term_individual": format_months(cats["unemployed"].term_months),
            "term_partnership": format_months(p.term_months),
            "term_enterprise": format_months(e.term_months),
            "ratio": f"{e.hiring_ratio_percent}%",
            "ratio_large": f"{e.large_ratio_percent}%",
            "large_staff": str(e.large_staff),
            "contract_min": format_months(e.contract_min_months),
            "days_individual": str(self.total_days("individual")),
            "days_community": str(ind.get("community_review", 0)),
            "days_street": str(ind.get("street_review", 0)),
            "days_guarantee": str(ind.get("guarantee_review", 0)),
            "days_bank": str(ind.get("bank_review", 0)),
            "days_ent_guarantee": str(ent.get("guarantee_review", 0)),
            "days_ent_bank": str(ent.get("bank_review", 0)),
            "subsidy_individual": self.subsidy.individual.text,
            "subsidy_enterprise": self.subsidy.enterprise.text,
            "leverage": f"{self.guarantee_fund.leverage}倍",
        }
        values.update(self.texts)  # texts win (a deployment may reword any placeholder)
        return {k: values[k] for k in PLACEHOLDER_KEYS} | {
            k: v for k, v in values.items() if k not in PLACEHOLDER_KEYS
        }


# --- loading -------------------------------------------------------------------------------------


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge recursively; everything else (lists, scalars, null) in `override` replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyError(f"{path}: 政策文件不存在") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: YAML 格式错误：{exc}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: 顶层必须是映射（key: value）")
    return data


def _resolve(name_or_path: str, policies_dir: Path) -> Path:
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path or "\\" in name_or_path:
        return Path(name_or_path)
    return policies_dir / f"{name_or_path}.yaml"


def _load_chain(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[Path]]:
    """Raw merged mapping of `path` and its `extends` ancestors, plus the files read."""
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        raise PolicyError(f"{path}: extends 形成循环：{chain}")
    data = _read_yaml(path)
    kind = data.get("type", "policy")
    if kind != "policy":
        raise PolicyError(f"{path}: type={kind!r}，不是政策文件")
    parent = data.get("extends")
    if parent is None:
        return data, [path]
    if not isinstance(parent, str):
        raise PolicyError(f"{path}: extends 必须是另一个政策文件名")
    base, files = _load_chain(_resolve(parent, path.parent), (*seen, path))
    base.pop("type", None)
    return deep_merge(base, data), [*files, path]


def _format_error(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(顶层)"
        lines.append(f"{path}: 字段 {loc}: {err['msg']}")
    return "\n".join(lines)


def parse_policy(data: dict[str, Any], path: Path) -> Policy:
    """Validate an already merged mapping; errors name `path` and the field."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_format_error(path, exc)) from exc


@dataclass(frozen=True)
class _Cached:
    stamps: tuple[tuple[Path, int], ...]
    policy: Policy


_cache: dict[tuple[str, str], _Cached] = {}
_lock = threading.Lock()


def _stamps(files: list[Path]) -> tuple[tuple[Path, int], ...] | None:
    try:
        return tuple((f, f.stat().st_mtime_ns) for f in files)
    except OSError:
        return None


def load_policy(name_or_path: str, policies_dir: Path | None = None) -> Policy:
    """Load a policy by name (file stem under `policies_dir`, default knowledge/policies/) or path.

    Cached per (name, dir); an entry is re-read when one of its files (including `extends`
    ancestors) changed on disk, so console edits take effect without a restart.
    Raises PolicyError naming the file and field when the file is missing or invalid.
    """
    directory = (policies_dir or POLICIES_DIR).resolve()
    key = (name_or_path, str(directory))
    with _lock:
        hit = _cache.get(key)
    if hit is not None and _stamps([p for p, _ in hit.stamps]) == hit.stamps:
        return hit.policy
    path = _resolve(name_or_path, directory)
    data, files = _load_chain(path)
    policy = parse_policy(data, path)
    stamps = _stamps(files)
    if stamps is not None:
        with _lock:
            _cache[key] = _Cached(stamps, policy)
    return policy


def clear_policy_cache() -> None:
    with _lock:
        _cache.clear()


def list_policies(policies_dir: Path | None = None) -> list[str]:
    """Names of the policy files in `policies_dir` (files with another `type:` are skipped)."""
    directory = policies_dir or POLICIES_DIR
    names: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            names.append(path.stem)  # broken policy files are listed so `kb check` reports them
            continue
        if isinstance(data, dict) and data.get("type", "policy") != "policy":
            continue
        names.append(path.stem)
    return names
