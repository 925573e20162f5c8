"""Policy files: loading, `extends`, placeholders, validation messages, exclusion word lists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from knowledge.policy import (
    PLACEHOLDER_KEYS,
    POLICIES_DIR,
    PolicyError,
    format_months,
    format_yuan_wan,
    list_policies,
    load_policy,
)
from tests.contracts import LANZHOU_2013

README = Path(__file__).resolve().parents[2] / "knowledge" / "README.md"


def readme_placeholders() -> set[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Placeholders", 1)[1]
    return set(re.findall(r"`\{(\w+)\}`", section))


def test_list_policies_skips_other_types() -> None:
    names = list_policies()
    assert "lanzhou-2013" in names
    assert "national-2023" in names
    assert "reminders-default" not in names  # `type: reminders` in the same folder


@pytest.mark.parametrize("name", ["lanzhou-2013", "national-2023"])
def test_placeholders_cover_readme_table(name: str) -> None:
    ph = load_policy(name).placeholders()
    wanted = readme_placeholders()
    assert wanted, "placeholder table not found in knowledge/README.md"
    assert wanted == set(PLACEHOLDER_KEYS)
    missing = [k for k in wanted if not ph.get(k)]
    assert missing == []


def test_lanzhou_placeholders_match_readme_values() -> None:
    ph = load_policy("lanzhou-2013").placeholders()
    for key, value in LANZHOU_2013.items():
        assert ph[key] == value, key
    assert ph["caveat"].startswith("以上为兰州2013年实施办法标准")
    assert "户籍地、居住地或经营地" in ph["office"]
    assert "全额贴息" in ph["subsidy_individual"]
    assert "25%" in ph["subsidy_enterprise"]


def test_lanzhou_facts() -> None:
    p = load_policy("lanzhou-2013")
    assert p.categories["returnee"].cap_yuan is None
    assert p.categories["returnee"].certificate == "户籍证明"
    assert "户籍证明" in p.categories["woman"].certificate
    assert p.enterprise.social_insurance_required
    assert p.enterprise.contract_min_months == 12
    assert len(p.documents.individual.items) == 5
    assert len(p.documents.enterprise.items) == 20
    assert p.step_days("individual") == {
        "community_review": 4,
        "street_review": 2,
        "guarantee_review": 6,
        "bank_review": 6,
    }
    assert p.total_days("individual") == p.total_days("partnership") == 18
    assert p.step_days("enterprise") == {"guarantee_review": 10, "bank_review": 10}
    assert p.credit.article.endswith("第五条")
    assert [c.name for c in p.exclusions.industries] == [
        "建筑业",
        "娱乐业",
        "广告业",
        "桑拿",
        "按摩",
        "网吧",
        "氧吧",
    ]
    assert p.unconfirmed


def test_every_rule_has_an_article() -> None:
    """Every mapping in the raw files that holds a rule carries an article naming its document."""
    p = load_policy("lanzhou-2013")
    articles = [
        *(c.article for c in p.categories.values()),
        *(c.certificate_article for c in p.categories.values()),
        p.partnership.article,
        p.enterprise.article,
        p.enterprise.ratio_article,
        p.enterprise.contract_article,
        p.enterprise.conditions_article,
        p.credit.article,
        p.exclusions.article,
        p.documents.individual.article,
        p.documents.enterprise.article,
        p.procedures.individual.article,
        *(s.article for s in p.procedures.individual.steps),
        p.subsidy.individual.article,
        p.subsidy.enterprise.article,
    ]
    assert all(a.startswith("兰政发〔2013〕76号 第") for a in articles)


def test_national_extends_and_overrides() -> None:
    lz = load_policy("lanzhou-2013")
    nat = load_policy("national-2023")
    assert nat.extends == "lanzhou-2013"
    assert nat.document == "财金〔2023〕75号"
    assert str(nat.effective_from) == "2023-10-01"
    assert {c.cap_yuan for c in nat.categories.values()} == {300000}
    assert {c.term_months for c in nat.categories.values()} == {36}
    assert nat.enterprise.cap_yuan == 4000000
    assert nat.enterprise.term_months == 24
    assert (nat.enterprise.hiring_ratio_percent, nat.enterprise.large_ratio_percent) == (10, 5)
    assert nat.partnership.member_cap_percent == 110
    assert "50%" in nat.subsidy.individual.text
    # unchanged parts come from Lanzhou
    assert nat.documents == lz.documents
    assert nat.procedures == lz.procedures
    assert nat.exclusions == lz.exclusions
    assert nat.categories["unemployed"].certificate == lz.categories["unemployed"].certificate
    # everything not confirmed is listed, and the caveat says so
    joined = "".join(nat.unconfirmed)
    assert "合伙" in joined and "利率" in joined
    assert "尚未核实" in nat.texts["caveat"]
    ph = nat.placeholders()
    assert (ph["cap_unemployed"], ph["cap_enterprise"], ph["term_individual"]) == (
        "30万元",
        "400万元",
        "3年",
    )
    assert (ph["ratio"], ph["ratio_large"]) == ("10%", "5%")
    assert "110%" in ph["cap_partnership"]


def test_cache_and_path_loading(tmp_path: Path) -> None:
    assert load_policy("lanzhou-2013") is load_policy("lanzhou-2013")
    by_path = load_policy(str(POLICIES_DIR / "lanzhou-2013.yaml"))
    assert by_path.id == "lanzhou-2013"


def _copy_lanzhou(tmp_path: Path) -> dict:
    data = yaml.safe_load((POLICIES_DIR / "lanzhou-2013.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_reload_after_edit(tmp_path: Path) -> None:
    data = _copy_lanzhou(tmp_path)
    path = tmp_path / "lanzhou-2013.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_policy("lanzhou-2013", tmp_path).enterprise.cap_yuan == 2000000
    data["enterprise"]["cap_yuan"] = 2500000
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    import os

    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert load_policy("lanzhou-2013", tmp_path).enterprise.cap_yuan == 2500000


def test_child_in_other_dir_extends_sibling(tmp_path: Path) -> None:
    data = _copy_lanzhou(tmp_path)
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    (tmp_path / "child.yaml").write_text(
        "extends: base\nid: child\ncategories:\n  graduate:\n    cap_yuan: 150000\n", "utf-8"
    )
    child = load_policy("child", tmp_path)
    assert child.categories["graduate"].cap_yuan == 150000
    assert child.placeholders()["cap_graduate"] == "15万元"
    assert child.categories["woman"].cap_yuan == 80000
    assert sorted(list_policies(tmp_path)) == ["base", "child"]


def test_validation_error_names_file_and_field(tmp_path: Path) -> None:
    data = _copy_lanzhou(tmp_path)
    data["categories"]["woman"]["cap_yuan"] = "eighty thousand"
    del data["texts"]["art_caps"]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(PolicyError) as err:
        load_policy("bad", tmp_path)
    msg = str(err.value)
    assert "bad.yaml" in msg
    assert "categories.woman.cap_yuan" in msg


def test_missing_text_and_bad_totals_reported(tmp_path: Path) -> None:
    data = _copy_lanzhou(tmp_path)
    del data["texts"]["art_caps"]
    data["procedures"]["individual"]["total_days"] = 20
    (tmp_path / "bad2.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(PolicyError) as err:
        load_policy("bad2", tmp_path)
    msg = str(err.value)
    assert "bad2.yaml" in msg and "procedures.individual" in msg
    del data["procedures"]
    data["procedures"] = _copy_lanzhou(tmp_path)["procedures"]
    (tmp_path / "bad3.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(PolicyError, match="art_caps"):
        load_policy("bad3", tmp_path)


def test_unknown_field_and_missing_file(tmp_path: Path) -> None:
    data = _copy_lanzhou(tmp_path)
    data["enterprise"]["ratio_pct"] = 30
    (tmp_path / "typo.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(PolicyError, match=r"typo\.yaml: 字段 enterprise\.ratio_pct"):
        load_policy("typo", tmp_path)
    with pytest.raises(PolicyError, match="不存在"):
        load_policy("nope", tmp_path)
    (tmp_path / "loop-a.yaml").write_text("extends: loop-b\n", "utf-8")
    (tmp_path / "loop-b.yaml").write_text("extends: loop-a\n", "utf-8")
    with pytest.raises(PolicyError, match="循环"):
        load_policy("loop-a", tmp_path)
    with pytest.raises(PolicyError, match="不是政策文件"):
        load_policy("reminders-default")


def test_formatting() -> None:
    assert format_yuan_wan(50000) == "5万元"
    assert format_yuan_wan(2000000) == "200万元"
    assert format_yuan_wan(55000) == "5.5万元"
    assert format_yuan_wan(8000) == "8000元"
    assert format_months(24) == "2年"
    assert format_months(18) == "18个月"


# --- exclusion word lists ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cls"),
    [
        ("开个KTV", "娱乐业"),
        ("ｋｔｖ", "娱乐业"),
        ("歌厅", "娱乐业"),
        ("夜总会", "娱乐业"),
        ("装修公司", "建筑业"),
        ("搞装修", "建筑业"),
        ("工程队", "建筑业"),
        ("给人盖房", "建筑业"),
        ("包工程，包工头", "建筑业"),
        ("卖建材兼做装修", "建筑业"),
        ("足疗店", "按摩"),
        ("洗脚城", "按摩"),
        ("汗蒸馆", "桑拿"),
        ("广告公司", "广告业"),
        ("做广告牌", "广告业"),
        ("网咖", "网吧"),
        ("氧吧", "氧吧"),
        ("给别人家做室内装修", "建筑业"),
        ("家装", "建筑业"),
        ("搞装潢", "建筑业"),
        ("开网咖", "网吧"),
        ("歌厅KTV", "娱乐业"),
    ],
)
def test_industry_words_match(text: str, cls: str) -> None:
    m = load_policy("lanzhou-2013").exclusions.match_industry(text)
    assert m is not None and m.name == cls


@pytest.mark.parametrize(
    ("text", "cls"),
    [
        ("小酒吧", "娱乐业"),
        ("棋牌室", "娱乐业"),
        ("盲人推拿", "按摩"),
        ("洗浴中心", "桑拿"),
        ("开个澡堂", "桑拿"),
        ("文化传媒", "广告业"),
        ("图文打印", "广告业"),
        ("电竞馆", "网吧"),
    ],
)
def test_looser_words_are_a_caution_not_a_refusal(text: str, cls: str) -> None:
    ex = load_policy("lanzhou-2013").exclusions
    assert ex.match_industry(text) is None
    m = ex.caution_industry(text)
    assert m is not None and m.name == cls


@pytest.mark.parametrize(
    "text",
    ["进货，绝不炒股", "不买房，租门面", "不开网吧，开饭店", "我从不炒股，只想进货", "不会去买房"],
)
def test_negated_words_do_not_count(text: str) -> None:
    ex = load_policy("lanzhou-2013").exclusions
    assert ex.match_use(text) is None and ex.match_industry(text) is None


@pytest.mark.parametrize("text", ["能不能开网吧", "我不知道网吧能不能贷", "我想开个不错的网吧"])
def test_question_forms_are_not_negations(text: str) -> None:
    m = load_policy("lanzhou-2013").exclusions.match_industry(text)
    assert m is not None and m.name == "网吧"


@pytest.mark.parametrize(
    "text",
    [
        "装修材料店",  # retail, not construction
        "卖装饰材料",
        "建筑材料批发",
        "按摩椅专卖",
        "洗浴用品批发",
        "开餐馆",
        "牛肉面馆",
        "服装加工",
        "养羊",
        "打印复印",
        "电脑维修",
        "蔬菜大棚",
        "汽车修理",
        "超市",
        "快递代收点",
    ],
)
def test_industry_words_do_not_misfire(text: str) -> None:
    assert load_policy("lanzhou-2013").exclusions.match_industry(text) is None


@pytest.mark.parametrize(
    ("text", "cls"),
    [
        ("炒股", "股票、债券、基金投资"),
        ("买基金", "股票、债券、基金投资"),
        ("买理财", "股票、债券、基金投资"),
        ("买房", "房产投资"),
        ("还房贷", "房产投资"),
        ("买车自己开", "个人消费支出"),
        ("结婚用", "个人消费支出"),
        ("出去旅游", "个人消费支出"),
        ("装修自家房子", "非生产经营性支出"),
        ("还信用卡", "非生产经营性支出"),
    ],
)
def test_use_words_match(text: str, cls: str) -> None:
    m = load_policy("lanzhou-2013").exclusions.match_use(text)
    assert m is not None and m.name == cls


@pytest.mark.parametrize(
    "text",
    [
        "进货",
        "买设备",
        "店面装修",  # decorating the business premises is a business use
        "租门面",
        "买货车跑运输",
        "买三轮车送货",
        "搞乡村旅游项目",
        "开农家乐接待旅游",
        "等银行放贷后进货",
        "创业启动资金",
        "进一批家用电器",
        "交房租",
    ],
)
def test_use_words_do_not_misfire(text: str) -> None:
    assert load_policy("lanzhou-2013").exclusions.match_use(text) is None
