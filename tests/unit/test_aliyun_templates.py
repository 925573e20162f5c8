"""The Aliyun template catalogue (knowledge/templates/aliyun_sms.yaml): the shipped file passes
`kb check`, planted mistakes are caught, values are checked before sending, and the README shows
exactly what `chuangdai sms templates --provider aliyun` prints."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from core.outbox.templates import TemplateError, load_templates
from server.cli import _register, app
from server.cli_sms import aliyun_markdown
from sms.aliyun_templates import (
    CODE_TEMPLATES,
    REQUIRED_OUTSIDE_LADDER,
    check_catalog,
    ladder_templates,
    load_catalog,
    normalize_value,
)
from tests.contracts import REPAY_REMINDER_PARAMS

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "knowledge"


def test_the_shipped_catalogue_passes_and_covers_every_sent_template() -> None:
    assert check_catalog(KNOWLEDGE) == []
    cat = load_catalog()
    ladder = ladder_templates(KNOWLEDGE / "policies")
    assert {"repay_reminder", "overdue_notice_guarantor", "wage_deduction_employer"} <= ladder
    for name in ladder | set(REQUIRED_OUTSIDE_LADDER):
        assert name in cat.templates and name in load_templates()
    for name, tpl in cat.templates.items():
        if load_templates()[name].kind == "broadcast":
            assert tpl.type == "promotion" and tpl.content.endswith("拒收请回复R")
        elif name in CODE_TEMPLATES:  # one-time codes: 验证码 templates, the code the only variable
            assert tpl.type == "verification" and [v.name for v in tpl.variables] == ["code"]
        else:
            assert tpl.type == "notification" and "拒收" not in tpl.content


@pytest.fixture
def planted(tmp_path: Path) -> Any:
    """A copy of the knowledge folder's templates and policies, with the Aliyun file editable."""
    root = tmp_path / "kb"
    shutil.copytree(KNOWLEDGE / "templates", root / "templates")
    shutil.copytree(KNOWLEDGE / "policies", root / "policies")
    path = root / "templates" / "aliyun_sms.yaml"

    def edit(change: Any) -> list[str]:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data["aliyun"])
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return [str(p) for p in check_catalog(root)]

    edit.root = root  # type: ignore[attr-defined]
    return edit


def _set(d: dict[str, Any], *keys_and_value: Any) -> None:
    *keys, last, value = keys_and_value
    for k in keys:
        d = d[k]
    d[last] = value


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda a: a["templates"].pop("repay_reminder"),
            "repay_reminder: 该模板会通过短信发送，但没有登记",
        ),
        (lambda a: a["templates"].pop("staff_broadcast"), "staff_broadcast: 该模板会通过短信发送"),
        (
            lambda a: _set(
                a,
                "samples",
                "bank",
                "中国农业银行股份有限公司甘肃省兰州市城关区东岗西路第二支行城关营业部门口",
            ),
            "超过上限 35 字",
        ),
        (lambda a: _set(a, "samples", "name", "张三 www.example.com"), "含网址"),
        (lambda a: _set(a, "samples", "amount", "一百万元"), "不符合变量属性“金额”"),
        (
            lambda a: _set(
                a, "templates", "staff_broadcast", "content", "创业担保贷款政策公告：${text}"
            ),
            "推广短信模板必须以“拒收请回复R”结尾",
        ),
        (
            lambda a: _set(a, "templates", "staff_broadcast", "type", "notification"),
            "群发公告必须用推广短信模板",
        ),
        (
            lambda a: _set(
                a,
                "templates",
                "document_accepted",
                "content",
                "材料《${label}》已审核通过。拒收请回复R",
            ),
            "通知短信模板不得含退订提示",
        ),
        (
            lambda a: _set(
                a, "templates", "stage_changed", "content", "您的申请${app_id}，${stage}阶段"
            ),
            "不支持连续变量",
        ),
        (
            lambda a: _set(
                a,
                "templates",
                "document_accepted",
                "variables",
                {"label": {"param": "labels", "rule": "others"}},
            ),
            "参数 labels 不是模板",
        ),
        (lambda a: _set(a, "templates", "document_accepted", "code", "ABC123"), "不是阿里云的格式"),
        (
            lambda a: _set(
                a, "templates", "document_accepted", "content", "您的材料【${label}】已通过"
            ),
            "不得含【】",
        ),
        (
            lambda a: _set(a, "templates", "staff_reply", "variables", "text", "extended", False),
            "未标明 extended: true",
        ),
        (
            lambda a: _set(
                a, "templates", "document_accepted", "content", "材料《${mobile}》已审核通过。"
            ),
            "变量名 mobile 不合规",
        ),
        (
            lambda a: _set(a, "templates", "stage_changed", "code", "SMS_490120011"),
            "与 document_accepted 重复",
        ),
        (
            lambda a: _set(a, "errors", "isv.BUSINESS_LIMIT_CONTROL", "action", "ignore"),
            "错误处理方式 ignore 无效",
        ),
    ],
)
def test_planted_mistakes_are_reported(planted: Any, change: Any, expected: str) -> None:
    problems = planted(change)
    assert any(expected in p for p in problems), problems


def test_kb_check_fails_on_a_planted_mistake(planted: Any) -> None:
    planted(lambda a: a["templates"].pop("overdue_notice_borrower"))
    root: Path = planted.root
    shutil.copytree(KNOWLEDGE / "faq", root / "faq")
    for name in ("synonyms.yaml", "userdict.txt", "retrieval.yaml"):
        shutil.copy(KNOWLEDGE / name, root / name)
    _register()
    result = CliRunner().invoke(app, ["kb", "check", "--folder", str(root)])
    assert result.exit_code == 1, result.output
    assert (
        "overdue_notice_borrower: 该模板会通过短信发送，但没有登记阿里云模板CODE" in result.output
    )


def test_values_are_checked_before_sending() -> None:
    cat = load_catalog()
    params = REPAY_REMINDER_PARAMS
    tpl, values = cat.template_param("repay_reminder", params)
    assert tpl.code == "SMS_490120001" and values["seq"] == "3"
    assert cat.render(tpl, values, "创业担保贷款").startswith("【创业担保贷款】张建国您好，")
    with pytest.raises(TemplateError, match="超过上限 35 字"):
        cat.template_param("repay_reminder", {**params, "bank": "银" * 36})
    with pytest.raises(TemplateError, match="含网址"):
        cat.template_param("staff_reply", {"text": "请看 https://example.com/x 的说明"})
    with pytest.raises(TemplateError, match="缺少参数 label"):
        cat.template_param("document_accepted", {})
    with pytest.raises(TemplateError, match="没有登记阿里云模板CODE"):
        cat.template_param("sms_free_text", {"text": "你好"})
    assert normalize_value(" 第一行\n第二行【注意】 ") == "第一行 第二行〔注意〕"


def test_readme_carries_the_generated_template_texts() -> None:
    generated = aliyun_markdown()
    assert "拒收请回复R" in generated and "SMS_490120015" in generated
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert generated.strip() in readme, (
        "README is stale: rerun `chuangdai sms templates --provider aliyun`"
    )
    _register()
    result = CliRunner().invoke(app, ["sms", "templates", "--provider", "aliyun"])
    assert result.exit_code == 0 and result.output.strip() == generated.strip()
    bad = CliRunner().invoke(app, ["sms", "templates", "--provider", "tencent"])
    assert bad.exit_code != 0
