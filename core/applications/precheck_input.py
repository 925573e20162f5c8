"""The pre-check's input (see core.applications.eligibility for the JSON contract): one pydantic model and the
parser that turns what the API, the CLI and the dialogue hand over into it, with Chinese errors
that name the field."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.kernel.labels import labels
from core.kernel.numbers import parse_amount_yuan
from knowledge.policy import CATEGORY_KEYS

ApplicantType = Literal["individual", "partnership", "enterprise"]
Category = Literal["unemployed", "veteran", "graduate", "returnee", "woman"]

APPLICANT_TYPE_LABELS = labels("applicant_type")


class PrecheckInputError(ValueError):
    """Invalid pre-check input; `message` is Chinese and names `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class PrecheckInput(BaseModel):
    """Answers of a pre-check. Build it with `parse_precheck_input` for Chinese error messages."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    applicant_type: ApplicantType
    category: Category | None = None
    has_certificate: bool | None = None
    industry: str = Field(min_length=1)
    purpose: str | None = None
    bad_credit: bool | None  # None: the applicant does not know
    amount: Decimal | None = Field(default=None, ge=0)
    term_months: int | None = Field(default=None, gt=0)
    members: int | None = Field(default=None, ge=2)
    employees: int | None = Field(default=None, ge=1)
    new_hires: int | None = Field(default=None, ge=0)
    contract_months: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _by_type(self) -> PrecheckInput:
        err = _missing_for_type(self)
        if err is not None:
            raise ValueError(err.message)
        return self


# --- input parsing -------------------------------------------------------------------------------

_TRUE = {"true", "yes", "y", "1", "是", "有", "对"}
_FALSE = {"false", "no", "n", "0", "否", "没有", "无", "不是"}
CATEGORY_HINT = "unemployed/veteran/graduate/returnee/woman"


def _bool(data: Mapping[str, Any], name: str, what: str, required: bool) -> bool | None:
    value = data.get(name)
    if value is None:
        if required:
            raise PrecheckInputError(name, f"字段 {name} 缺失：请填写{what}（true/false）")
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise PrecheckInputError(name, f"字段 {name} 格式不正确：{what}只能是 true 或 false")


def _int(data: Mapping[str, Any], name: str, what: str, minimum: int) -> int | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float | Decimal):
        try:
            number = int(value) if value == int(value) else None
        except (OverflowError, ValueError, InvalidOperation):
            number = None
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    if number is None:
        raise PrecheckInputError(name, f"字段 {name} 格式不正确：{what}须为整数")
    if number < minimum:
        raise PrecheckInputError(name, f"字段 {name} 超出范围：{what}不能小于{minimum}")
    return number


def _amount(data: Mapping[str, Any]) -> Decimal | None:
    value = data.get("amount")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        if isinstance(value, float):
            amount = Decimal(str(value))
        elif isinstance(value, int | Decimal):
            amount = Decimal(value)
        elif isinstance(value, str):
            text = value.strip().replace(",", "").replace("，", "").removesuffix("元")
            try:
                amount = Decimal(text)
            except InvalidOperation:
                # Chinese amounts as people write them: 30万, 五万, 5w
                if text.startswith("-"):
                    raise
                spoken = parse_amount_yuan(text)
                if spoken is None:
                    raise
                amount = Decimal(spoken)
        else:
            raise InvalidOperation
    except InvalidOperation as exc:
        raise PrecheckInputError(
            "amount", "字段 amount 格式不正确：申请金额须为数字（单位：元）"
        ) from exc
    if not amount.is_finite():
        raise PrecheckInputError("amount", "字段 amount 格式不正确：申请金额须为数字（单位：元）")
    if amount < 0:
        raise PrecheckInputError("amount", "字段 amount 超出范围：申请金额不能为负数")
    return amount


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PrecheckInputError(name, f"字段 {name} 格式不正确：须为文字")
    return value.strip() or None


def _missing_for_type(inp: PrecheckInput) -> PrecheckInputError | None:
    t = inp.applicant_type
    if t in ("individual", "partnership"):
        if inp.category is None:
            return PrecheckInputError(
                "category",
                f"字段 category 缺失：个人和合伙申请须填写人员类别（{CATEGORY_HINT}）",
            )
        if inp.has_certificate is None:
            return PrecheckInputError(
                "has_certificate",
                "字段 has_certificate 缺失：个人和合伙申请须说明是否持有《就业失业登记证》"
                "（回乡创业带头人、农村妇女为户籍证明）",
            )
    if t == "partnership" and inp.members is None:
        return PrecheckInputError(
            "members", "字段 members 缺失：合伙申请须填写符合条件的合伙人数（至少2人）"
        )
    if t == "enterprise":
        for name, what in (
            ("employees", "企业现有在职职工总数"),
            ("new_hires", "当年新招用符合条件人员的人数"),
            ("contract_months", "与新招用人员签订的劳动合同期限（月）"),
        ):
            if getattr(inp, name) is None:
                return PrecheckInputError(name, f"字段 {name} 缺失：企业申请须填写{what}")
        assert inp.employees is not None and inp.new_hires is not None
        if inp.new_hires > inp.employees:
            return PrecheckInputError(
                "new_hires",
                f"字段 new_hires 超出范围：新招用人数（{inp.new_hires}）不能超过现有职工总数"
                f"（{inp.employees}），新招用人员也计入现有职工",
            )
    return None


def parse_precheck_input(data: Any) -> PrecheckInput:
    """Validate raw input (a JSON object) into a PrecheckInput.

    Raises PrecheckInputError(field, message) with a Chinese message naming the field; fields are
    checked in the order the dialogue asks them. Unknown keys are ignored."""
    if isinstance(data, PrecheckInput):
        return data
    if not isinstance(data, Mapping):
        raise PrecheckInputError("applicant_type", "输入格式不正确：须为 JSON 对象（字段名: 值）")
    t = data.get("applicant_type")
    if t is None:
        raise PrecheckInputError(
            "applicant_type",
            "字段 applicant_type 缺失：请填写申请类型（individual 个人/partnership 合伙/enterprise 企业）",
        )
    if not isinstance(t, str) or t not in APPLICANT_TYPE_LABELS:
        raise PrecheckInputError(
            "applicant_type",
            f"字段 applicant_type 取值不正确：{t!r}，只能是 individual、partnership 或 enterprise",
        )
    category = data.get("category")
    if category is not None and (not isinstance(category, str) or category not in CATEGORY_KEYS):
        raise PrecheckInputError(
            "category", f"字段 category 取值不正确：{category!r}，只能是 {CATEGORY_HINT}"
        )
    personal = t in ("individual", "partnership")
    if personal and category is None:
        raise PrecheckInputError(
            "category", f"字段 category 缺失：个人和合伙申请须填写人员类别（{CATEGORY_HINT}）"
        )
    has_certificate = _bool(data, "has_certificate", "是否持有所需证明", personal)
    industry = _text(data, "industry")
    if industry is None:
        raise PrecheckInputError(
            "industry", "字段 industry 缺失：请填写经营项目或行业（如：开餐馆）"
        )
    purpose = _text(data, "purpose")
    if "bad_credit" in data and data["bad_credit"] is None:
        bad_credit = None  # the applicant does not know (yet): unconfirmed, not "no"
    else:
        bad_credit = _bool(data, "bad_credit", "征信是否有不良记录", True)
    values: dict[str, Any] = {
        "applicant_type": t,
        "category": category,
        "has_certificate": has_certificate,
        "industry": industry,
        "purpose": purpose,
        "bad_credit": bad_credit,
        "members": _int(data, "members", "合伙人数", 2),
        "employees": _int(data, "employees", "现有职工总数", 1),
        "new_hires": _int(data, "new_hires", "新招用人数", 0),
        "contract_months": _int(data, "contract_months", "劳动合同期限（月）", 0),
        "amount": _amount(data),
        "term_months": _int(data, "term_months", "贷款期限（月）", 1),
    }
    inp = PrecheckInput.model_construct(**values)
    err = _missing_for_type(inp)
    if err is not None:
        raise err
    return PrecheckInput.model_validate(values)
