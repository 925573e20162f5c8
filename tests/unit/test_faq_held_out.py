"""Issue 12, third round: mechanisms judged on the held-out aggregate (fresh4), each on examples
of its own (none taken from knowledge/eval), against the packaged knowledge base and the Lanzhou
policy."""

from __future__ import annotations

import pytest

import knowledge
from knowledge import KnowledgeBase
from knowledge.policy import load_policy
from knowledge.understand import Understanding

FOLDER = knowledge.PACKAGE_DIR
FIRM_IDS = {"enterprise_eligible", "enterprise_standard", "enterprise_amount", "enterprise_docs"}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(FOLDER, load_policy("lanzhou-2013"))


@pytest.fixture(scope="module")
def und() -> Understanding:
    return Understanding.load(FOLDER)


# --- an employer's story: the groups it names are the people it hires ------------------------------


def test_an_employers_story_asks_for_the_firm(und: Understanding) -> None:
    text = "我们厂做纸箱的，一共八十个人，去年新招了三十个下岗的，合同都签了三年，我们够不够条件"
    unit = und.parse(text, informative=lambda t: False).units[0]
    assert unit.query.startswith("企业") and "失业人员" not in unit.query
    assert und.employer(unit.story)


def test_an_applicants_own_story_keeps_its_facts(und: Understanding) -> None:
    # 厂子 is a firm word, but nobody is hired here: the applicant lost a job
    text = "我在印刷厂干了十五年，厂子关门后一直在家，现在想开个打字复印店，这样的能贷多少"
    unit = und.parse(text, informative=lambda t: True).units[0]
    assert unit.query.startswith("失业人员")
    assert not und.employer(unit.story)


@pytest.mark.parametrize(
    "text",
    [
        "我们公司做物流的，员工九十人，今年吸纳了三十个失业的，我们能申请吗",
        "我们厂今年新招了四十个下岗职工，签了两年合同，交了社保，符合条件吗",
    ],
)
def test_an_employers_question_is_answered_for_the_firm(kb: KnowledgeBase, text: str) -> None:
    a = kb.answer(text)
    assert a.entry_id != "unemployed_eligible", a
    assert not a.matched or a.entry_id in FIRM_IDS, a
