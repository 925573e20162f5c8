"""FAQ retrieval benchmark: index build, warm latency, cold start, dev-set accuracy.

    .venv/bin/python bench/faq_bench.py [--entries 1000] [--queries 2000] [--sets dev,fresh]

A synthetic base of about `--entries` entries is made by replicating the packaged entries with
perturbed paraphrases (district names, politeness prefixes, fillers), written to a temporary
folder in the real schema and loaded like any knowledge folder, with the packaged learned
question model (knowledge/learned.py: its first copy keeps the real ids, so the model's cost per
message is measured as on the real base). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge import PACKAGE_DIR, KnowledgeBase  # noqa: E402
from knowledge.evaluation import (  # noqa: E402
    leave_one_out,
    load_questions,
    metrics,
    oos_ids_of,
    predict,
)
from knowledge.index import _Index  # noqa: E402
from knowledge.learned import MODEL_FILE  # noqa: E402
from knowledge.policy import load_policy  # noqa: E402
from knowledge.schema import parse_folder, placeholder_values  # noqa: E402

PLACES = ["城关区", "七里河区", "西固区", "安宁区", "红古区", "永登县", "皋兰县", "榆中县"]
PREFIX = ["", "请问", "你好，", "想问下", "麻烦问一下", "我想知道"]
SUFFIX = ["", "啊", "呢", "？", "谢谢", "急"]


def synthetic_base(target: int, out: Path, seed: int = 7) -> int:
    """Write ≈target entries (real ones replicated with perturbed paraphrases) under out/faq."""
    rng = random.Random(seed)
    entries, _ = parse_folder(PACKAGE_DIR, None)
    (out / "faq").mkdir(parents=True)
    rows = []
    copies = max(1, target // max(1, len(entries)) + 1)
    for c in range(copies):
        for e in entries:
            if len(rows) >= target:
                break
            place = PLACES[c % len(PLACES)] + ("" if c < len(PLACES) else str(c))

            def perturb(text: str, place: str = place) -> str:
                return f"{rng.choice(PREFIX)}{place}{text}{rng.choice(SUFFIX)}"

            rows.append(
                {
                    # the first copy keeps the real ids, so that the packaged learned model
                    # (copied below) reads the synthetic base as it reads the real one
                    "id": e.id if c == 0 else f"{e.id}_r{c}",
                    "kind": e.kind,
                    "question": perturb(e.question),
                    "paraphrases": [perturb(p) for p in e.paraphrases],
                    "answer": e.answer,
                    "short": e.short,
                    "source": e.source,
                }
            )
    path = out / "faq" / "synthetic.yaml"
    path.write_text(yaml.safe_dump({"entries": rows}, allow_unicode=True), encoding="utf-8")
    if (PACKAGE_DIR / MODEL_FILE).exists():
        shutil.copy(PACKAGE_DIR / MODEL_FILE, out / MODEL_FILE)
    return len(rows)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entries", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument(
        "--best-of",
        type=int,
        default=0,
        help="also time every distinct sample question this many times and report the p50/p99 "
        "of each question's fastest answer (steadier than the sample on a noisy machine)",
    )
    ap.add_argument(
        "--sets",
        default="",
        help="comma-separated evaluation sets whose questions make the sample (default: all present)",
    )
    args = ap.parse_args()
    policy = load_policy(os.environ.get("POLICY", "lanzhou-2013"))
    rows: list[tuple[str, str, str]] = []

    # real base: load time and accuracy
    t0 = time.perf_counter()
    real = KnowledgeBase.load(PACKAGE_DIR, policy)
    real_load = time.perf_counter() - t0
    n_real = len(real.entries)
    docs_real = len(real.documents())
    rows.append(("real base", f"{n_real} entries, {docs_real} documents", ""))
    rows.append(("real base load (parse + index, warm process)", f"{real_load * 1000:.0f} ms", ""))

    dev_file = PACKAGE_DIR / "eval" / "dev.yaml"
    questions = load_questions(dev_file) if dev_file.exists() else []
    if questions:
        cfg = real.config
        oos = oos_ids_of(real)
        m = metrics(predict(real, questions), oos, cfg.threshold, cfg.margin)
        loo = metrics(leave_one_out(real), oos, cfg.threshold, cfg.margin)
        rows += [
            ("dev questions", f"{m.n_in} in-domain + {m.n_ood} OOD", ""),
            ("dev top-1 (answered and right)", f"{m.top1:.1%}", "≥ 95%"),
            ("dev top-1 ranking only / top-3", f"{m.top1_raw:.1%} / {m.top3:.1%}", ""),
            ("dev OOD rejection", f"{m.ood_rejection:.1%}", "≥ 97%"),
            ("dev wrong answers (in-domain)", f"{m.wrong_answer:.1%}", ""),
            (
                "leave-one-paraphrase-out top-1 / ranking",
                f"{loo.top1:.1%} / {loo.top1_raw:.1%}",
                "",
            ),
        ]

    # synthetic 1,000-entry base
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        n = synthetic_base(args.entries, folder)
        entries, _ = parse_folder(folder, placeholder_values(policy))
        kb = KnowledgeBase.load(folder, policy)
        builds = []
        for _ in range(3):
            t0 = time.perf_counter()
            index = _Index(entries, kb.normalizer, kb.config)
            builds.append(time.perf_counter() - t0)
        kb.normalizer.use_cache = False
        t0 = time.perf_counter()
        _Index(entries, kb.normalizer, kb.config)
        uncached = time.perf_counter() - t0
        kb.normalizer.use_cache = True
        t0 = time.perf_counter()
        KnowledgeBase.load(folder, policy)
        full_load = time.perf_counter() - t0
        rows.append(("synthetic base", f"{n} entries, {index.n_docs} documents", ""))
        med = statistics.median(builds) * 1000
        rows.append(("index build, analyses cached (median of 3)", f"{med:.0f} ms", "≤ 1 s"))
        rows.append(("index build, all texts re-analysed (jieba)", f"{uncached * 1000:.0f} ms", ""))
        rows.append(("load incl. YAML parse and validation", f"{full_load * 1000:.0f} ms", ""))
        # questions of every evaluation set (stories and several questions included)
        files = sorted((PACKAGE_DIR / "eval").glob("*.yaml"))
        if args.sets:
            wanted = {f"{n.strip()}.yaml" for n in args.sets.split(",")}
            files = [f for f in files if f.name in wanted]
        qs = [q.q for f in files for q in load_questions(f)]
        qs = qs or [e.question for e in entries]
        rng = random.Random(1)
        sample = [rng.choice(qs) for _ in range(args.queries)]
        for q in sample[:50]:
            kb.answer(q)
        lat, cpu = [], []
        for q in sample:
            kb.normalizer.forget_recent()  # no help from the previous asking of the same question
            t0, c0 = time.perf_counter(), time.thread_time()
            kb.answer(q)
            lat.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
        rows.append(("warm answer p50", f"{pct(lat, 50) * 1000:.2f} ms", ""))
        rows.append(("warm answer p99", f"{pct(lat, 99) * 1000:.2f} ms", "≤ 2 ms"))
        rows.append(("warm answer max", f"{max(lat) * 1000:.2f} ms", ""))
        # CPU time of the answering thread: on a shared machine, closer to what an idle one shows
        cpu_row = f"{pct(cpu, 50) * 1000:.2f} / {pct(cpu, 99) * 1000:.2f} ms"
        rows.append(("warm answer CPU time p50 / p99 (thread_time)", cpu_row, ""))
        if args.best_of > 0:
            distinct = sorted(set(qs))
            best = dict.fromkeys(distinct, float("inf"))
            for _ in range(args.best_of):
                for q in distinct:
                    kb.normalizer.forget_recent()
                    t0 = time.perf_counter()
                    kb.answer(q)
                    best[q] = min(best[q], time.perf_counter() - t0)
            fastest = list(best.values())
            label = f"warm answer p50 / p99, best of {args.best_of} per question ({len(distinct)})"
            value = f"{pct(fastest, 50) * 1000:.2f} / {pct(fastest, 99) * 1000:.2f} ms"
            rows.append((label, value, ""))

    # cold start of a fresh process (real base)
    code = "import knowledge; knowledge.answer('下岗证能贷多少钱')"
    colds = []
    for _ in range(args.cold_runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
        colds.append(time.perf_counter() - t0)
    rows.append(
        (
            f"cold start to first answer (median / max of {args.cold_runs})",
            f"{statistics.median(colds):.2f} s / {max(colds):.2f} s",
            "≤ 1.5 s",
        )
    )

    print("| measure | value | target |")
    print("|---|---:|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")


if __name__ == "__main__":
    main()
