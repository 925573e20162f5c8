"""Policy facts of the FAQ under every policy file (issue 11): article references only from the
placeholders of the policy that holds them, no figure or document name the rendering policy does
not define, unsourced (🟡) claims hedged, and `chuangdai kb check` failing on a planted error."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import knowledge
from knowledge.factcheck import check_folder_policies, documents_in
from knowledge.policy import list_policies, load_policy
from knowledge.schema import parse_folder, render

FOLDER = knowledge.PACKAGE_DIR
POLICIES = list_policies()


def _rendered(policy_name: str) -> dict[str, str]:
    values = load_policy(policy_name).placeholders()
    entries, _ = parse_folder(FOLDER, values)
    return {
        e.id: "\n".join(render(t, values) for t in (e.answer, e.short, e.source)) for e in entries
    }


def test_every_policy_file_is_checked_and_clean() -> None:
    assert {"lanzhou-2013", "national-2023"} <= set(POLICIES)
    assert check_folder_policies(FOLDER) == []


@pytest.mark.parametrize("name", ["lanzhou-2013", "national-2023"])
def test_answers_render_under_every_policy(name: str) -> None:
    texts = _rendered(name)
    assert len(texts) >= 100
    assert all("{" not in t and "}" not in t for t in texts.values())


def test_national_answers_say_nothing_only_true_of_lanzhou() -> None:
    texts = _rendered("national-2023")
    joined = "\n".join(texts.values())
    assert "是更名前制定的" not in texts["renamed_xiaoe"].split("兰政发〔2013〕76号")[0]
    assert "市人社局、市财政局制定" not in joined
    # Lanzhou articles are never cited as articles of 财金〔2023〕75号
    assert not re.search(r"财金〔2023〕75号(?: )?第[一二三四五六七八九十]+条", joined)
    assert not re.search(r"财金〔2023〕75号）第[一二三四五六七八九十]+条", joined)
    # the village-official answer does not attribute the national 30万 to Lanzhou
    for line in re.split(r"[。；\n]", texts["village_official"]):
        assert not ("兰州" in line and "30万元" in line), line
    assert "{policy_name}" not in texts["other_loans"]
    assert "《普惠金融发展专项资金管理办法》（财金〔2023〕75号）没有限制" not in joined


def test_unsourced_claims_are_hedged_or_gone() -> None:
    for name in POLICIES:
        joined = "\n".join(_rendered(name).values())
        for claim in ("回收率", "LPR减150个基点", "免除反担保"):
            for line in re.split(r"[。\n]", joined):
                if claim in line and ("10倍" in line or "基点" in line or "10万元" in line):
                    assert "未能核实" in line or "未见" in line, line
        assert "现行政策不限户籍" not in joined
        assert "毕业5年内" not in joined
        assert "2023年10月起国家不再限于劳动密集型" not in joined
        assert "且所有小微企业均可申请" not in joined


@pytest.mark.parametrize("entry", ["interest_free", "what_is_loan", "subsidy_how"])
def test_subsidy_answers_state_the_micro_profit_condition(entry: str) -> None:
    lanzhou = _rendered("lanzhou-2013")[entry]
    assert "微利项目" in lanzhou and "第十九条" in lanzhou
    assert "微利项目" in _rendered("national-2023")[entry]


def test_documents_in() -> None:
    assert documents_in("按及兰政发〔2013〕76号第五条，如财金〔2023〕75号") == [
        "兰政发〔2013〕76号",
        "财金〔2023〕75号",
    ]


# --- `kb check` fails on planted errors ------------------------------------------------------


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(FOLDER / "faq", root / "faq")
    shutil.copytree(FOLDER / "policies", root / "policies")
    return root


def _plant(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _kb_check(root: Path) -> tuple[int, str]:
    from server import cli_kb

    app = typer.Typer()
    cli_kb.register(app)
    out = CliRunner().invoke(app, ["kb", "check", "--folder", str(root)])
    return out.exit_code, out.output


def test_kb_check_passes_on_the_copy(tmp_path: Path) -> None:
    code, output = _kb_check(_copy(tmp_path))
    assert code == 0, output


# (file, text replaced, replacement, what the report must say) — one planted error each
PLANTED = {
    "article_reference": (
        "faq/enterprise.yaml",
        "根据{policy_name}{art_enterprise_cap}，劳动密集型",
        "根据{policy_name}第十八条，劳动密集型",
        ["enterprise_amount", "条款“第十八条”", "[lanzhou-2013]", "[national-2023]"],
    ),
    "figure_and_document": (
        "faq/eligibility.yaml",
        "大中专院校毕业生最高{cap_graduate}",
        "大中专院校毕业生最高30万元（见甘政发〔2099〕1号）",
        ["数字“30万元”", "文件“甘政发〔2099〕1号”"],
    ),
    "inherited_bare_article": (
        "policies/national-2023.yaml",
        "  art_obligations: 及兰政发〔2013〕76号第六条\n",
        "",
        ["art_obligations", "没有注明所属文件"],
    ),
    "figure_attributed_to_another_policy": (
        "faq/after_loan.yaml",
        "按{policy_short}毕业生最高{cap_graduate}",
        "兰州办法按毕业生最高{cap_graduate}",
        ["句中写的是“兰州办法”，数字却来自财金〔2023〕75号"],
    ),
    "unhedged_unconfirmed_figure": (
        "faq/guarantee.yaml",
        "据对财金〔2020〕21号的转述（原文该项未能核实），",
        "2020年起（财金〔2020〕21号），",
        ["出自未核实的来源"],
    ),
}


@pytest.mark.parametrize("planted", PLANTED)
def test_kb_check_fails_on_a_planted_error(tmp_path: Path, planted: str) -> None:
    file, old, new, reported = PLANTED[planted]
    root = _copy(tmp_path)
    _plant(root, file, old, new)
    code, output = _kb_check(root)
    assert code == 1
    for text in reported:
        assert text in output, (text, output)
