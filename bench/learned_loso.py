"""Leave-one-set-out figures of the learned question model (knowledge/learned.py).

    .venv/bin/python bench/learned_loso.py [--sets dev2,fresh4,...]

The shipped model is trained on every set of retrieval.yaml's `train_sets`, so `kb eval` on those
sets is in-sample. This script measures each set through the whole answering path with a model
trained on the base and every *other* training set (the honest figure for questions the model has
not seen) and prints a Markdown table, with the sum over the sets measured. Takes about 20 s of
training per set on the benchmark machine.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge import PACKAGE_DIR, KnowledgeBase  # noqa: E402
from knowledge.eval_report import run_set  # noqa: E402
from knowledge.evaluation import load_questions, train_model  # noqa: E402
from knowledge.policy import load_policy  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="", help="comma-separated set names (default: train_sets)")
    ap.add_argument("--policy", default="lanzhou-2013")
    args = ap.parse_args()
    kb = KnowledgeBase.load(PACKAGE_DIR, load_policy(args.policy))
    folder = PACKAGE_DIR / "eval"
    train = list(kb.config.train_sets)
    sets = [f"{s.strip()}.yaml" for s in args.sets.split(",") if s.strip()] or train
    print(
        "| set | in domain / off-topic | answered and right | right in top-3 | wrong | off-topic accepted |"
    )
    print("|---|---|---|---|---|---|")
    n_in = right = wrong = n_ood = accepted = 0
    for name in sets:
        model, _ = train_model(kb, [folder / s for s in train if s != name])
        model.restrict(e.id for e in kb.entries)
        kb._snap = replace(kb._snap, model=model)
        r = run_set(kb, load_questions(folder / name), name)
        print(
            f"| {name} | {r.n_in} / {r.n_ood} | {r.right_rate:.1%} | {r.top3_rate:.1%} "
            f"| {r.wrong_rate:.1%} | {r.ood_accept_rate:.1%} |",
            flush=True,
        )
        n_in, right, wrong = n_in + r.n_in, right + r.right, wrong + r.wrong
        n_ood, accepted = n_ood + r.n_ood, accepted + r.ood_accepted
    print(
        f"| all | {n_in} / {n_ood} | {right / n_in:.1%} | | {wrong / n_in:.1%} "
        f"| {accepted / max(1, n_ood):.1%} |"
    )


if __name__ == "__main__":
    main()
