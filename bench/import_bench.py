"""Benchmark of the loan importer: 100,000 generated loans with their generated schedules.

    .venv/bin/python bench/import_bench.py                      # SQLite (temporary file)
    .venv/bin/python bench/import_bench.py --rows 20000
    .venv/bin/python bench/import_bench.py --database-url postgresql+psycopg://u:p@host/db

The PostgreSQL run creates a scratch database next to the one in the URL (the role needs
CREATEDB) and drops it afterwards. Every run imports the file twice: the first import creates
everything, the second checks that re-importing changes nothing (and times the no-op path).
"""

from __future__ import annotations

import csv
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scratch import bench_parser, scratch_urls  # noqa: E402
from core.kernel.identity import id_check_digit  # noqa: E402
from core.loans.importing import import_loans  # noqa: E402
from core.persistence.db import make_engine, session_scope, upgrade  # noqa: E402

HEADERS = [
    "贷款编号", "借款人姓名", "借款人手机", "身份证号", "贷款金额(元)", "年利率", "放款日期",
    "期限(月)", "还款方式", "贴息类型", "反担保人姓名", "反担保人电话", "反担保人工作单位",
    "所属区县", "经办银行", "基准利率",
]  # fmt: skip
DISTRICTS = ["城关区", "七里河区", "西固区", "安宁区", "红古区", "永登县", "皋兰县", "榆中县"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "建国秀兰洋明强丽涛芳军敏静磊伟娟勇艳杰娜超霞"
EMPLOYERS = ["兰州市第一小学", "城关区税务局", "甘肃某机械厂", "兰州市人民医院", "七里河区街道办"]
MOBILE_PREFIXES = ["138", "139", "135", "136", "150", "151", "158", "186", "187", "189"]


def make_id(rng: random.Random, area: str = "620102") -> str:
    birth = date(1965, 1, 1) + timedelta(days=rng.randrange(0, 365 * 40))
    first17 = f"{area}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + id_check_digit(first17)


def generate_csv(path: Path, rows: int, seed: int = 20260105) -> None:
    """Write `rows` valid loans (unique ID numbers and phones) as a UTF-8 CSV."""
    rng = random.Random(seed)
    ids: set[str] = set()
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        for i in range(rows):
            id_number = make_id(rng)
            while id_number in ids:
                id_number = make_id(rng)
            ids.add(id_number)
            enterprise = rng.random() < 0.1
            if enterprise:
                amount = rng.randrange(200_000, 2_000_001, 1000)
                method, term, subsidy = "按季付息、到期还本", 24, "企业50%贴息"
            else:
                amount = rng.randrange(10_000, 150_001, 1000)
                method = rng.choice(["等额本金", "按季付息、到期还本", "等额本息"])
                term = rng.choice([12, 24, 24, 36])
                subsidy = "个人全额贴息"
            disbursed = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 730))
            writer.writerow(
                [
                    f"BENCH-{i:07d}",
                    rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                    f"{rng.choice(MOBILE_PREFIXES)}{i:08d}",
                    id_number,
                    amount,
                    rng.choice(["4.35%", "0.0435", "4.75"]),
                    rng.choice([disbursed.isoformat(), f"{disbursed:%Y/%-m/%-d}"]),
                    term,
                    method,
                    subsidy,
                    rng.choice(SURNAMES) + rng.choice(GIVEN),
                    f"{rng.choice(MOBILE_PREFIXES)}{(i + 50_000_000):08d}",
                    rng.choice(EMPLOYERS),
                    rng.choice(DISTRICTS),
                    "某某银行",
                    "4.35%" if enterprise else "",
                ]
            )


def _widen_repayment_method(engine: sa.Engine) -> None:
    """loan.repayment_method is VARCHAR(32) in migration 0001, but the quarterly method's code
    (interest_quarterly_principal_at_maturity) has 40 characters: PostgreSQL rejects it. Until
    the schema is widened, widen it in this scratch database only (SQLite does not check)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        width = conn.exec_driver_sql(
            "SELECT character_maximum_length FROM information_schema.columns"
            " WHERE table_name = 'loan' AND column_name = 'repayment_method'"
        ).scalar_one()
        if width is not None and width < 40:
            print(
                f"note: widening loan.repayment_method VARCHAR({width}) → VARCHAR(64) (scratch db)"
            )
            conn.exec_driver_sql("ALTER TABLE loan ALTER COLUMN repayment_method TYPE varchar(64)")


def run(url: str, csv_path: Path, rows: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    label = engine.dialect.name
    _widen_repayment_method(engine)
    try:
        for attempt in ("first import", "re-import"):
            started = time.perf_counter()
            with session_scope(engine) as session:
                report = import_loans(session, csv_path, actor="bench")
            elapsed = time.perf_counter() - started
            if report.errors:
                for err in report.errors[:10]:
                    print("  ", err)
                raise SystemExit(f"{label}: import failed with {len(report.errors)} errors")
            print(
                f"{label:10s} {attempt:12s} {rows:>7d} loans in {elapsed:6.2f}s  "
                f"{rows / elapsed:>9,.0f} loans/s  "
                f"{report.installments_created:>9d} installments "
                f"({report.installments_created / elapsed:>9,.0f}/s)  "
                f"created={report.created} unchanged={report.unchanged}"
            )
        with engine.connect() as conn:
            counts = {
                t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
                for t in ("loan", "person", "installment", "counter_guarantor")
            }
        print(f"{label:10s} rows in db: {counts}")
    finally:
        engine.dispose()


def main() -> None:
    args = bench_parser(__doc__, "--rows", 100_000).parse_args()
    with tempfile.TemporaryDirectory(prefix="chuangdai-bench-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / "loans.csv"
        started = time.perf_counter()
        generate_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(
            f"generated {args.rows} loans ({size_mb:.1f} MB) in {time.perf_counter() - started:.1f}s"
        )
        for url in scratch_urls(args, workdir):
            run(url, csv_path, args.rows)


if __name__ == "__main__":
    main()
