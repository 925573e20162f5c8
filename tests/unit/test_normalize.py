"""Normalisation and segmentation of FAQ questions (knowledge/normalize.py).

The segmentation table is a regression guard: every change to userdict.txt or synonyms.yaml can
move jieba's cuts (adding 创业贷 once turned 创业贷款 into 创业贷 / 款), so the expected tokens of
these sentences are pinned here.
"""

from __future__ import annotations

import pytest

from knowledge.normalize import (
    Normalizer,
    char_bigrams,
    clean,
    cn_to_int,
    convert_numbers,
    cut_block,
    default_normalizer,
    synonym_problems,
)


@pytest.fixture(scope="module")
def norm() -> Normalizer:
    return default_normalizer()


SEGMENTATION = [
    # the certificate named for its holder: what a laid-off person may borrow (synonyms.yaml)
    ("下岗证能贷多少钱", ["失业人员", "能", "贷款", "多少", "钱"]),
    ("下岗证要去哪办", ["就业失业登记证", "去", "哪里", "办"]),
    ("创业贷款需要反担保人吗", ["创业担保贷款", "需要", "反担保人"]),
    ("创业担保贷款需要反担保吗", ["创业担保贷款", "需要", "反担保"]),
    ("我想开个网吧能贷吗", ["开", "网吧", "能", "贷款"]),
    ("就业失业登记证丢了怎么办", ["就业失业登记证", "丢", "怎么办"]),
    ("合伙开店最多能贷多少", ["合伙", "开店", "最高", "能", "贷款", "多少"]),
    ("征信有逾期还能贷吗", ["征信", "有", "逾期", "能", "贷款"]),
    ("贴息是怎么算的", ["贴息", "怎么", "算"]),
    ("微利项目是什么", ["微利项目", "什么"]),
    ("没有营业执照能申请吗", ["没有", "营业执照", "能", "申请"]),
    ("信用社区有什么好处", ["信用社区", "有", "什么", "好处"]),
    ("担保机构审核要几天", ["担保机构", "审核", "多久"]),
    ("返担保人要什么条件", ["反担保人", "什么", "条件"]),
    ("大学生村官能申请创业贷款吗", ["大学生村官", "能", "申请", "创业担保贷款"]),
    ("花呗逾期会上征信吗", ["花呗", "逾期", "会上", "征信"]),
    ("公司贷款去哪办", ["企业", "贷款", "去", "哪里", "办"]),
    ("经办银行放款要几个工作日", ["经办银行", "放款", "多久", "工作日"]),
    ("在淘宝上卖东西能贷吗", ["网店", "上", "卖", "东西", "能", "贷款"]),
    ("拼多多开店能申请吗", ["网店", "开店", "能", "申请"]),
    ("毕业没工作能贷吗", ["毕业", "失业", "能", "贷款"]),
    ("我没有工作了能申请吗", ["失业", "能", "申请"]),
    ("待业在家能办吗", ["失业", "在家", "能", "办"]),
    ("女同志能贷多少", ["妇女", "能", "贷款", "多少"]),
    ("女性创业有专门的贷款吗", ["妇女", "创业", "有", "专门", "贷款"]),
    ("能借多少", ["能", "贷款", "多少"]),
    ("贷款金额最多多少", ["贷款", "额度", "最高", "多少"]),
    ("什么时候能打款", ["什么", "时候", "能", "放款"]),
    ("钱下来要几天", ["放款", "多久"]),
    ("借款人跑路了担保人怎么办", ["借款人", "跑路", "反担保人", "怎么办"]),
    # 失业正/下岗正 (typos of 失业证) -> the certificate, but 失业正在 stays 失业 + 正在
    ("没有失业正能贷吗", ["没有", "就业失业登记证", "能", "贷款"]),
    ("下岗正能贷多少", ["就业失业登记证", "能", "贷款", "多少"]),
    ("我失业正在找工作", ["失业", "正在", "找", "工作"]),
    # 还掉/还清/还完/结清 -> 还款 (jieba splits 还 off as a stopword otherwise)
    ("手头有钱了能提前还掉吗", ["手头", "有钱", "能", "提前还款"]),
    ("提前结清有违约金吗", ["提前还款", "有", "违约金"]),
    ("还完了还能再贷吗", ["还款", "能", "再", "贷款"]),
    # jieba cuts 什么样的人才有… as 人才; fold it back to 人
    ("什么样的人才有资格贷", ["什么样", "人", "条件", "贷款"]),
]


@pytest.mark.parametrize(("sentence", "tokens"), SEGMENTATION)
def test_segmentation_table(norm: Normalizer, sentence: str, tokens: list[str]) -> None:
    assert list(norm.analyze(sentence).tokens) == tokens


def test_official_name_is_one_token_and_never_doubled(norm: Normalizer) -> None:
    for text in (
        "创业担保贷款",
        "创业贷款",
        "创业贷",
        "小额担保贷款",
        "劳动局免息贷款",
        "无息贷款",
    ):
        assert norm.analyze(text).tokens == ("创业担保贷款",), text
    assert "贷款款" not in norm.normalize("我想借款，贷款能贷多少")


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("失业证", "就业失业登记证"),
        ("下岗证", "就业失业登记证"),
        ("就业创业证", "就业失业登记证"),
        ("再就业优惠证", "就业失业登记证"),
        ("代款", "贷款"),
        ("额渡", "额度"),
        ("担宝", "担保"),
        ("返担保", "反担保"),
        ("营业执造", "营业执照"),
        ("身份正", "身份证"),
        ("贴西", "贴息"),
        ("帖息", "贴息"),
        ("正信", "征信"),
        ("麻达", "问题"),
        ("阿么", "怎么"),
        ("啥", "什么"),
    ],
)
def test_typos_and_dialect(norm: Normalizer, variant: str, canonical: str) -> None:
    assert norm.normalize(variant) == canonical


def test_word_level_synonyms(norm: Normalizer) -> None:
    assert norm.analyze("zx不好").tokens[0] == "征信"
    assert norm.analyze("尕个体户").tokens[0] == "小"
    assert "失业" in norm.analyze("我下岗了").tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("五万", "5万"),
        ("十万", "10万"),
        ("三十万", "30万"),
        ("10w", "10万"),
        ("10W", "10万"),
        ("10个w", "10万"),
        ("五w", "5万"),
        ("两年", "2年"),
        ("十八个工作日", "18个工作日"),
        ("百分之三十", "30%"),
        ("贷一百五", "贷150"),
        ("一百五十万", "150万"),
        ("千万别逾期", "千万别逾期"),
        ("一起去", "一起去"),
        ("十分着急", "十分着急"),
    ],
)
def test_numbers(norm: Normalizer, text: str, expected: str) -> None:
    assert norm.normalize(text) == expected


def test_convert_numbers_keeps_latin_words() -> None:
    assert convert_numbers("wifi") == "wifi"
    assert convert_numbers("3 w") == "3万"


def test_width_case_and_script() -> None:
    assert clean("１０Ｗ") == "10w"
    assert clean("創業擔保貸款") == "创业担保贷款"
    assert clean("能貸嗎？！") == "能贷吗"
    assert clean("ABC") == "abc"


def test_fillers_and_punctuation_do_not_change_tokens(norm: Normalizer) -> None:
    plain = norm.analyze("个人最多能贷多少").tokens
    for noisy in (
        "个人最多能贷多少啊？",
        "请问个人最多能贷多少呢",
        "个人最多能贷多少吧～",
        "个人最多能贷多少哈哈",
        "个人最多能贷多少呀！！！😀",
        "個人最多能貸多少",
    ):
        assert norm.analyze(noisy).tokens == plain, noisy


def test_place_names_with_particle_characters_survive(norm: Normalizer) -> None:
    assert "网吧" in norm.analyze("开网吧能贷款吗").tokens
    assert "氧吧" in norm.analyze("开氧吧行不行").tokens


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "？？！！", "……", "\n\t"])
def test_empty_inputs(norm: Normalizer, text: str) -> None:
    a = norm.analyze(text)
    assert a.empty
    assert a.bigrams == ()


def test_long_input_is_cut(norm: Normalizer) -> None:
    a = norm.analyze("贷款" * 10_000)
    assert len(a.text) <= 200
    assert a.tokens


def test_bigrams_keep_numbers_whole() -> None:
    assert char_bigrams(["贷款", "10万"]) == ("贷款", "款10万")
    assert char_bigrams(["贷"]) == ("贷",)


def test_synonym_file_problems() -> None:
    assert synonym_problems({"replace": {"a": ["x"], "b": ["x"]}})
    assert synonym_problems({"oops": {}})
    assert synonym_problems({"replace": {"a": ["x"]}, "stopwords": ["的"]}) == []


@pytest.mark.parametrize(
    "text",
    ["一", "两", "十", "十五", "二十", "一百", "一百五", "一百零五", "两千", "两千三", "三千零五十",
     "九千九百九十九", "一千零一", "二百零八", "一百一十"],
)  # fmt: skip
def test_numeral_parser_agrees_with_cn2an(text: str) -> None:
    cn2an = pytest.importorskip("cn2an")
    assert cn_to_int(text) == cn2an.cn2an(text, "smart")


@pytest.mark.parametrize("text", ["一两", "三四", "千", "百", "零", "五六十"])
def test_numeral_parser_refuses_ranges(text: str) -> None:
    assert cn_to_int(text) is None


@pytest.mark.parametrize(
    "block",
    [
        "我下岗三年了想开个早餐铺能贷多少钱",
        "创业担保贷款需要反担保人吗",
        "zx不好能贷吗",
        "abc3万元的贷款wifi",
        "a1b2c3",
        "贷款10万元3年期利率4.35%",
        "\u3400\u4dbf\u9fff龘",
        "的的的的的的的的的的",
        "x",
    ],
)
def test_block_cut_is_jiebas(norm: Normalizer, block: str) -> None:
    tok = norm._tok
    assert cut_block(tok, block) == list(tok._Tokenizer__cut_DAG_NO_HMM(block))
