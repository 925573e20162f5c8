"""`chuangdai ask …` and `chuangdai kb check|eval|calibrate|train`: the FAQ knowledge base from a shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

CHANNELS = ("telegram", "sms")

#: the options `ask` and every `kb` command share: which knowledge folder and which policy
FolderOption = Annotated[Path | None, typer.Option("--folder", help="知识库目录（默认内置）")]
PolicyOption = Annotated[str | None, typer.Option("--policy", help="政策文件名（默认 $POLICY）")]


def _policy(name: str | None) -> Any:
    from knowledge.policy import load_policy
    from server.bootstrap import get_container

    if name is None:
        return get_container().policy  # setting POLICY, under KNOWLEDGE_DIR
    return load_policy(name)


def _folder(folder: Path | None) -> Path:
    from server.bootstrap import get_container

    return folder if folder is not None else get_container().knowledge_path


def _load(folder: Path | None, policy: str | None) -> Any:
    """The knowledge base to use: the deployment's (settings POLICY, KNOWLEDGE_DIR) unless a
    folder or policy is given."""
    import knowledge
    from server.bootstrap import get_container

    container = get_container()
    if folder is None and policy is None:
        return container.kb
    container.knowledge_cache  # noqa: B018 - DATA_DIR/cache for the index
    return knowledge.KnowledgeBase.load(_folder(folder), _policy(policy), extra=_extra(folder))


def _extra(folder: Path | None) -> Any:
    """The staff additions stored in the database, for the deployment's knowledge folder (none
    for another folder given with --folder)."""
    from server.bootstrap import get_container

    return get_container().faq_additions if folder is None else None


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


kb_app = typer.Typer(
    name="kb",
    help="FAQ 知识库：检查、评估、校准。",
    no_args_is_help=True,
    add_completion=False,
)


def ask(
    question: str | None = typer.Argument(None, help="要问的问题"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON"),
    channel: str = typer.Option("telegram", "--channel", help="telegram 或 sms"),
    batch: Path | None = typer.Option(
        None, "--batch", help="每行一个问题的文本文件；每行输出一个 JSON 对象", exists=True
    ),
    folder: FolderOption = None,
    policy: PolicyOption = None,
) -> None:
    """Ask the FAQ a question (as the bot would answer it)."""
    from knowledge import KnowledgeError

    if channel not in CHANNELS:
        raise typer.BadParameter("只能是 telegram 或 sms", param_hint="--channel")
    if (question is None) == (batch is None):
        _fail("请给出一个问题，或用 --batch FILE 批量提问。")
    try:
        kb = _load(folder, policy)
    except KnowledgeError as exc:
        _fail(str(exc))
    if batch is not None:
        lines = batch.read_text(encoding="utf-8").splitlines()
        for line in lines:
            a = kb.answer(line, channel)
            if as_json:
                typer.echo(json.dumps(a.to_json(), ensure_ascii=False))
            else:
                typer.echo(f"{line}\t{_status(a)}\t{a.score:.3f}")
        return
    assert question is not None
    a = kb.answer(question, channel)
    if as_json:
        typer.echo(json.dumps(a.to_json(), ensure_ascii=False, indent=2))
        return
    typer.echo(a.answer)
    if a.source:
        typer.echo(f"\n来源：{a.source}")
    typer.echo(f"[{_status(a)}，置信度 {a.score:.3f}]", err=True)


@kb_app.command("check")
def kb_check(
    folder: FolderOption = None,
    policy: PolicyOption = None,
) -> None:
    """Validate the knowledge base: schema, duplicates, SMS length, placeholders, and the
    policy facts of every entry rendered under every policy file."""
    from knowledge import check_folder
    from knowledge.factcheck import check_folder_policies
    from knowledge.schema import EXTRA_FILE, parse_folder, placeholder_values
    from sms.aliyun_templates import check_catalog

    root = _folder(folder)
    pol = _policy(policy)
    # Schema, placeholders and SMS length under the active policy; policy facts (articles,
    # figures, document names) with every entry rendered under every policy file.
    source = _extra(folder)
    extra = source() if source is not None else []
    problems = (
        check_folder(root, pol, extra) + check_folder_policies(root, extra) + check_catalog(root)
    )
    if problems:
        by_file: dict[str, list[str]] = {}
        for p in problems:
            by_file.setdefault(p.file, []).append(str(p))
        for file, lines in by_file.items():
            typer.echo(f"== {file}（{len(lines)} 个问题）")
            for line in lines:
                typer.echo(f"  {line}")
        # The files of the checkout are held to every rule; an addition staff made in the console
        # fails the check only with an error (a warning such as few paraphrases is a reminder).
        blocking = [p for p in problems if p.error or p.file != EXTRA_FILE]
        if blocking:
            _fail(f"知识库检查未通过：共 {len(blocking)} 个问题。")
        typer.echo(f"以上 {len(problems)} 条为员工补充条目的提醒（不影响使用），建议补充相似问。")
    entries, _ = parse_folder(root, placeholder_values(pol), extra)
    faq = sum(1 for e in entries if not e.out_of_scope)
    texts = sum(len(e.texts) for e in entries)
    staff = f"（其中员工补充 {len(extra)} 条）" if extra else ""
    typer.echo(
        f"知识库检查通过：{faq} 条 FAQ{staff}，{len(entries) - faq} 条范围外，共 {texts} 个问法。"
    )


@kb_app.command("eval")
def kb_eval(
    files: list[Path] | None = typer.Argument(
        None,
        help="评估集 YAML（questions: [{q, label}]）；不给则评估 eval/ 下的 dev、dev2、fresh、fresh2～fresh24",
        exists=True,
        show_default=False,
    ),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON"),
    loo: bool = typer.Option(True, "--loo/--no-loo", help="同时做留一问法交叉验证（单个评估集）"),
    show_misses: bool = typer.Option(False, "--misses", help="列出每个评估集未答对的问题"),
    summary: bool = typer.Option(
        False, "--summary", help="只输出各评估集的汇总数字，不列出任何问题（测留出集时用）"
    ),
    folder: FolderOption = None,
    policy: PolicyOption = None,
) -> None:
    """Evaluate retrieval: per set answered-and-right, top-3, wrong answers, off-topic accepted.

    With one file the report is detailed and lists the misses; `--summary` keeps it to the
    figures, so a held-out set can be measured without anyone reading its questions.
    """
    from knowledge import KnowledgeError
    from knowledge.eval_report import default_sets, markdown_reports, run_files

    if summary and show_misses:
        _fail("--summary 与 --misses 不能同时使用。")
    paths = list(files or default_sets(_folder(folder)))
    if not paths:
        _fail("没有评估集：请给出 YAML 文件，或在知识库目录的 eval/ 下放 dev.yaml。")
    try:
        kb = _load(folder, policy)
        reports = run_files(kb, paths)
    except (KnowledgeError, ValueError) as exc:
        _fail(str(exc))
    if len(paths) == 1 and not summary:
        _eval_one(kb, paths[0], reports[0], as_json, loo)
        return
    if as_json:
        sets = [{**r.summary(), "by_style": r.by_style()} for r in reports]
        if show_misses:
            for row, r in zip(sets, reports, strict=True):
                row["misses"] = [o.to_json() for o in r.misses]
        typer.echo(json.dumps({"sets": sets}, ensure_ascii=False, indent=2))
        return
    typer.echo(markdown_reports(reports))
    if show_misses:
        for r in reports:
            typer.echo(f"\n{r.name} 未答对（{len(r.misses)}）：问题 | 期望 | 实际 | 前三候选")
            for o in r.misses:
                typer.echo("  " + _miss_line(o))


@kb_app.command("calibrate")
def kb_calibrate(
    file: Path | None = typer.Argument(
        None, help="评估集 YAML（默认 知识库目录/eval/dev.yaml）", show_default=False
    ),
    target: float = typer.Option(0.97, "--target", help="域外问题至少拒答的比例"),
    write: bool = typer.Option(False, "--write", help="写入 retrieval.yaml"),
    folder: FolderOption = None,
    policy: PolicyOption = None,
) -> None:
    """Learn the answer/refuse model from the base and pick threshold and margin."""
    from knowledge import KnowledgeBase, KnowledgeError
    from knowledge.evaluation import calibrate, load_questions, markdown_sweep, write_config

    root = _folder(folder)
    try:
        kb = KnowledgeBase.load(root, _policy(policy), extra=_extra(folder))
        questions = load_questions(file or root / "eval" / "dev.yaml")
    except (KnowledgeError, ValueError, OSError) as exc:
        _fail(str(exc))
    c = calibrate(kb, questions, target)
    typer.echo(f"阈值 {c.config.threshold:.2f}，差距 {c.config.margin:.2f}")
    typer.echo(
        f"  评估集：top-1 {c.dev.top1:.1%}，域外拒答 {c.dev.ood_rejection:.1%}，"
        f"答错 {c.dev.wrong_answer:.1%}"
    )
    typer.echo(f"  留一问法：top-1 {c.loo.top1:.1%}；留一条目：拒答 {c.loeo_rejection:.1%}")
    typer.echo(markdown_sweep(c.sweep))
    if write:
        note = (
            f"calibrated on {file or 'eval/dev.yaml'}: dev top-1 {c.dev.top1:.3f}, "
            f"OOD rejection {c.dev.ood_rejection:.3f}, LOO top-1 {c.loo.top1:.3f}"
        )
        path = write_config(root, c.config, note)
        typer.echo(f"已写入 {path}")


def register(app: typer.Typer) -> None:
    """Add `ask` and the `kb` group to the chuangdai command line."""
    app.command("ask")(ask)
    app.add_typer(kb_app, name="kb")


def _status(a: Any) -> str:
    """The entry (entries of a message with several questions) an answer gives, or why not."""
    if a.parts:
        return "+".join(p.entry_id for p in a.parts if p.entry_id)
    return str(a.entry_id or ("范围外" if a.out_of_scope else "未匹配"))


def _miss_line(o: Any) -> str:
    expected = " + ".join("/".join(p) for p in o.q.expected)
    ctx = f"（上一问：{o.q.context}）" if o.q.context else ""
    got = ",".join(o.answered) or "-"
    return f"{o.q.q}{ctx} | {expected} | {got} [{o.verdict}] | {','.join(o.top3)}"


def _eval_one(kb: Any, file: Path, report: Any, as_json: bool, loo: bool) -> None:
    """One evaluation set in detail: the four figures, ranking metrics, thresholds, misses."""
    from knowledge.eval_report import markdown_reports
    from knowledge.evaluation import (
        leave_one_out,
        load_questions,
        markdown_sweep,
        metrics,
        oos_ids_of,
        predict,
        sweep,
    )

    questions = load_questions(file)
    cfg = kb.config
    oos = oos_ids_of(kb)
    preds = predict(kb, questions)
    m = metrics(preds, oos, cfg.threshold, cfg.margin)
    table = sweep(preds, oos, cfg.margin)
    loo_m = metrics(leave_one_out(kb), oos, cfg.threshold, cfg.margin) if loo else None
    if as_json:
        out: dict[str, Any] = m.to_json()
        out["sweep"] = [{k: v for k, v in r.to_json().items() if k != "misses"} for r in table]
        if loo_m is not None:
            out["loo"] = {k: v for k, v in loo_m.to_json().items() if k != "misses"}
        out["report"] = {**report.summary(), "by_style": report.by_style()}
        out["report"]["misses"] = [o.to_json() for o in report.misses]
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    typer.echo(f"评估集 {file}：{m.n_in} 个域内问题，{m.n_ood} 个域外问题")
    typer.echo(markdown_reports([report]))
    typer.echo(f"阈值 {cfg.threshold:.2f}，差距 {cfg.margin:.2f}（以下只看单个问题的排序和判定）")
    typer.echo(f"  top-1 准确率（域内，已作答且正确） {m.top1:.1%}")
    typer.echo(f"  top-1（只看排序）                 {m.top1_raw:.1%}")
    typer.echo(f"  top-3 召回                        {m.top3:.1%}")
    typer.echo(f"  域外拒答率                        {m.ood_rejection:.1%}")
    typer.echo(f"  域外误答率                        {m.false_accept:.1%}")
    typer.echo(f"  域内答错率                        {m.wrong_answer:.1%}")
    if loo_m is not None:
        typer.echo(
            f"留一问法：top-1 {loo_m.top1:.1%}（排序 {loo_m.top1_raw:.1%}），"
            f"top-3 {loo_m.top3:.1%}，{loo_m.n_in} 个问法"
        )
    typer.echo("\n各阈值下：\n" + markdown_sweep(table))
    if report.misses:
        typer.echo(f"\n未答对（{len(report.misses)}）：问题 | 期望 | 实际 | 前三候选")
        for o in report.misses:
            typer.echo("  " + _miss_line(o))


@kb_app.command("train")
def kb_train(
    files: list[Path] | None = typer.Argument(
        None,
        help="带标注的问题集 YAML；不给则用 retrieval.yaml 的 train_sets（eval/ 下）",
        exists=True,
        show_default=False,
    ),
    write: bool = typer.Option(False, "--write", help="把模型写入知识库目录（question_model.npz）"),
    folder: FolderOption = None,
    policy: PolicyOption = None,
) -> None:
    """Fit the learned question model (knowledge.learned) on the base and labelled sets."""
    from knowledge import KnowledgeError
    from knowledge.evaluation import train_model
    from knowledge.learned import MODEL_FILE

    try:
        kb = _load(folder, policy)
    except KnowledgeError as exc:
        _fail(str(exc))
    root = _folder(folder)
    paths = list(files or (root / "eval" / n for n in kb.config.train_sets))
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _fail("找不到训练用问题集：" + "、".join(missing))
    try:
        model, n = train_model(kb, paths)
    except ValueError as exc:
        _fail(f"训练失败：{exc}")
    kept = int((model.weights != 0).sum())
    typer.echo(
        f"已训练：{n} 条问法（{len(paths)} 个问题集与知识库本身），"
        f"{len(model.classes)} 个类别，{len(model.idf)} 个特征，保留 {kept} 个权重。"
    )
    if write:
        model.save(root / MODEL_FILE)
        typer.echo(f"已写入 {root / MODEL_FILE}")
