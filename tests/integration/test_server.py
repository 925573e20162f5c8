"""The composition root: migrations, /healthz, POST /api/precheck and `chuangdai check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.kernel.settings import Settings
from core.persistence.db import current_revision, downgrade, head_revision, make_engine, upgrade
from server.app import create_app
from server.bootstrap import Container
from server.cli import _register, app
from tests.cli_kit import ContainerRunner
from tests.contracts import PRECHECK_FIELDS

PROFILE = {
    "applicant_type": "individual",
    "category": "woman",
    "has_certificate": True,
    "industry": "服装零售",
    "bad_credit": False,
    "amount": 100000,
    "term_months": 36,
}


def test_migrations_from_empty_up_down_up(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    assert current_revision(engine) == head_revision()
    downgrade(empty_db_url, "base")
    assert current_revision(engine) is None
    upgrade(empty_db_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> TestClient:
    settings = Settings(
        database_url=db_url, data_dir=tmp_path, scheduler_enabled=False, _env_file=None
    )
    container = Container(settings)
    application = create_app(container)
    with TestClient(application) as c:
        yield c  # type: ignore[misc]


def test_healthz_reports_database_and_schema(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["database"] == "reachable"
    assert body["schema_version"] == head_revision()


def test_precheck_api_contract(client: TestClient) -> None:
    res = client.post("/api/precheck", json=PROFILE)
    assert res.status_code == 200
    body = res.json()
    assert list(body) == PRECHECK_FIELDS
    assert body["eligible"] is True and body["max_amount"] == 80000
    codes = {r["code"] for r in body["reasons"]}
    assert {"amount_above_cap", "term_above_limit"} <= codes
    assert all(r["article"] for r in body["reasons"])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**PROFILE, "applicant_type": "company"}, "applicant_type"),
        ({k: v for k, v in PROFILE.items() if k != "category"}, "category"),
        ({**PROFILE, "amount": -5}, "amount"),
    ],
)
def test_precheck_api_bad_input_is_422_in_chinese(
    client: TestClient, payload: dict[str, object], field: str
) -> None:
    res = client.post("/api/precheck", json=payload)
    assert res.status_code == 422
    assert res.json()["field"] == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in res.json()["detail"])


def test_precheck_api_rejects_non_json(client: TestClient) -> None:
    res = client.post(
        "/api/precheck", content=b"not json", headers={"content-type": "application/json"}
    )
    assert res.status_code == 422


def test_cli_check_json(db_url: str, tmp_path: Path) -> None:
    _register()
    runner = ContainerRunner(
        Container(Settings(database_url=db_url, data_dir=tmp_path, _env_file=None))
    )
    res = runner.invoke(app, ["check", "--json"], input=json.dumps(PROFILE))
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["max_amount"] == 80000
    bad = runner.invoke(app, ["check", "--json"], input='{"applicant_type": "individual"}')
    assert bad.exit_code == 2


def test_demo_load_is_idempotent(db_url: str, tmp_path: Path) -> None:
    import sqlalchemy as sa

    from server.demo import load_demo

    container = Container(Settings(database_url=db_url, data_dir=tmp_path, _env_file=None))
    load_demo(container)
    load_demo(container)
    with container.engine.connect() as conn:
        counts = {
            t: conn.execute(sa.text(f"select count(*) from {t}")).scalar_one()
            for t in ("loan", "payment", "application", "staff_user")
        }
    assert counts == {"loan": 5, "payment": 2, "application": 2, "staff_user": 1}
