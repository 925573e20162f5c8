"""A small world for the staff side's tests: staff users of each role, people on each channel,
an application with stored documents, loans (one overdue), a hand-off ticket and unanswered
questions. Used by tests/integration/test_staff_api.py, test_broadcast.py and the browser test."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

import knowledge
from core.handoff.tickets import open_ticket
from core.kernel.filestore import LocalFileStore
from core.kernel.settings import Settings
from core.kernel.timeutil import local_today, utcnow
from core.persistence.db import session_scope
from core.persistence.models import (
    ApplicationRow,
    ApplicationStageRow,
    ChannelIdentityRow,
    DocumentItemRow,
    PersonRow,
    StaffUserRow,
    Stage,
    UnansweredQuestionRow,
)
from core.staff import PasswordHasher, issue_api_token
from server.app import create_app
from server.bootstrap import Container
from tests.db_kit import add_loan

PASSWORD = "correct-horse-battery"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 200
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FIXTURE_KB = Path(__file__).resolve().parent / "fixtures" / "kb"


#: The cheap cost the test settings use too (tests/conftest.py sets PASSWORD_HASH_*).
HASHER = PasswordHasher(time_cost=1, memory_kib=32)


@lru_cache(maxsize=1)
def _hash() -> str:
    """The argon2 hash of PASSWORD, computed once per test run."""
    return HASHER.hash(PASSWORD)


def knowledge_copy(tmp: Path) -> Path:
    """A writable knowledge folder: the packaged policies, calendar, synonyms and dictionary with
    the small FAQ of tests/fixtures/kb (fast to index)."""
    src = knowledge.PACKAGE_DIR
    dst = tmp / "knowledge"
    dst.mkdir()
    for name in ("policies", "calendar", "templates"):
        if (src / name).exists():
            shutil.copytree(src / name, dst / name)
    for name in ("synonyms.yaml", "userdict.txt", "retrieval.yaml"):
        if (src / name).exists():
            shutil.copyfile(src / name, dst / name)
    shutil.copytree(FIXTURE_KB / "faq", dst / "faq")
    return dst


def make_container(db_url: str, tmp: Path, **over: Any) -> Container:
    values: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": tmp,
        "knowledge_dir": knowledge_copy(tmp),
        "scheduler_enabled": False,
        "broadcast_confirm_threshold": 1,
        "secret_key": "test-secret-key-for-the-staff-console",
        "quiet_hours_start": "00:00",
        "quiet_hours_end": "00:00",
        "guarantee_fund_yuan": 100_000,
    }
    values.update(over)
    return Container(Settings(_env_file=None, **values))


@dataclass
class World:
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    app_id: int = 0
    doc_png: int = 0
    doc_pdf: int = 0
    doc_missing: int = 0
    chat_person: int = 0
    phone_person: int = 0
    opted_person: int = 0
    loose_identity: int = 0
    chat_identity: int = 0
    overdue_loan: int = 0
    current_loan: int = 0
    ticket_id: int = 0
    unanswered: str = ""


STAFF = (("admin1", "admin"), ("alice", "officer"), ("bob", "officer"), ("vera", "viewer"))


def seed(engine: Engine, files_root: Path) -> World:
    w = World()
    store = LocalFileStore(files_root)
    today = local_today()
    with session_scope(engine) as s:
        for name, role in STAFF:
            user = StaffUserRow(
                username=name, display_name=name.title(), role=role, password_hash=_hash()
            )
            s.add(user)
            s.flush()
            assert user.id is not None
            w.user_ids[name] = user.id
            w.tokens[name] = issue_api_token(s, user, "test")

        # a person who linked a verified Telegram chat and applied
        p1 = PersonRow(
            name="张建国", phone="+8613893100001", district="城关区", id_number="620102198503150116"
        )
        # a borrower known only by the phone number on file (overdue loan)
        p2 = PersonRow(name="王秀兰", phone="+8613893100002", district="七里河区")
        # a borrower who opted out by SMS
        p3 = PersonRow(name="李明", phone="+8613893100003", district="城关区")
        s.add_all([p1, p2, p3])
        s.flush()
        assert p1.id and p2.id and p3.id
        w.chat_person, w.phone_person, w.opted_person = p1.id, p2.id, p3.id
        chat = ChannelIdentityRow(
            channel="telegram", address="700001", person_id=p1.id, verified=True
        )
        opted = ChannelIdentityRow(
            channel="sms",
            address="+8613893100003",
            person_id=p3.id,
            verified=True,
            opted_out=True,
            opted_out_at=utcnow(),
        )
        loose = ChannelIdentityRow(channel="telegram", address="700009")
        s.add_all([chat, opted, loose])
        s.flush()
        assert chat.id and loose.id
        w.chat_identity, w.loose_identity = chat.id, loose.id

        precheck = {
            "eligible": True,
            "max_amount": 50000,
            "max_term_months": 24,
            "reasons": [],
            "documents": ["身份证", "就业失业登记证", "营业执照"],
            "subsidy": "规定期限内的个人贷款全额贴息",
            "next_steps": "携带材料到社区",
            "expected_by": (today + timedelta(days=20)).isoformat(),
        }
        app = ApplicationRow(
            person_id=p1.id,
            identity_id=chat.id,
            applicant_type="individual",
            category="unemployed",
            profile={"applicant_type": "individual", "amount": 50000},
            precheck=precheck,
            requested_amount_fen=5_000_000,
            requested_term_months=24,
            district="城关区",
            stage=Stage.COMMUNITY_REVIEW,
            stage_changed_at=utcnow() - timedelta(days=30),
        )
        s.add(app)
        s.flush()
        assert app.id
        w.app_id = app.id
        s.add(ApplicationStageRow(application_id=app.id, stage=Stage.DRAFT, actor="applicant"))
        docs = []
        for code, label, data, ctype in (
            ("d01", "身份证", PNG, "image/png"),
            ("d02", "就业失业登记证", PDF, "application/pdf"),
            ("d03", "营业执照", None, None),
        ):
            item = DocumentItemRow(application_id=app.id, code=code, label=label)
            if data is not None:
                item.status = "received"
                item.storage_key = store.put(data, "png" if ctype == "image/png" else "pdf")
                item.content_type = ctype
                item.filename = f"{label}.{'png' if ctype == 'image/png' else 'pdf'}"
                item.size_bytes = len(data)
                item.received_at = utcnow()
            s.add(item)
            docs.append(item)
        s.flush()
        w.doc_png, w.doc_pdf, w.doc_missing = (int(d.id or 0) for d in docs)

        def loan(no: str, person: int, due: date) -> int:
            loan_id, _ = add_loan(
                s,
                no,
                person,
                [(due, 2_000_000), (due + timedelta(days=365), 3_000_000)],
                interest_fen=10_000,
                disbursed_on=today - timedelta(days=200),
                term_months=24,
                maturity_on=today + timedelta(days=500),
                district="七里河区" if person == p2.id else "城关区",
            )
            return loan_id

        w.overdue_loan = loan("LZ-S-0001", p2.id, today - timedelta(days=40))
        w.current_loan = loan("LZ-S-0002", p3.id, today + timedelta(days=20))

        ticket, _ = open_ticket(
            s,
            channel="telegram",
            address="700001",
            identity_id=chat.id,
            text="我想问一下贷款进度",
            reason="user",
        )
        w.ticket_id = int(ticket.id or 0)
        w.unanswered = "贷款 能 分期 提前 还"
        for q in ("贷款能不能提前还呀", "贷款能提前还吗"):
            s.add(
                UnansweredQuestionRow(
                    channel="telegram",
                    question=q,
                    normalized=w.unanswered,
                    best_entry_id="amount_individual",
                    score=0.2,
                )
            )
        s.add(UnansweredQuestionRow(channel="sms", question="你们几点下班", normalized="几点 下班"))
    return w


# --- the staff side served ----------------------------------------------------------------------

#: What the staff tests' `served` fixtures yield: a client of the running app, its container, the
#: seeded world.
Served = tuple[TestClient, Container, World]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def serve_world(db_url: str, tmp: Path, **over: Any) -> Iterator[Served]:
    """The whole app (lifespan running) over a seeded world; the engine disposed afterwards."""
    container = make_container(db_url, tmp, **over)
    try:
        world = seed(container.engine, container.settings.documents_path)
        with TestClient(create_app(container, migrate=False)) as client:
            yield client, container, world
    finally:
        container.engine.dispose()


def bearer(world: World, who: str) -> dict[str, str]:
    """The API's Authorization header for the seeded staff user `who`."""
    return {"Authorization": f"Bearer {world.tokens[who]}"}


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token a console page's forms carry."""
    found = _CSRF.search(page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


def post_login(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """The console's login form posted as a browser does (the login page's CSRF token with it);
    the answer is not followed."""
    data = {
        "username": username,
        "password": password,
        "csrf_token": csrf_of(client.get("/console/login")),
    }
    return client.post("/console/login", data=data, follow_redirects=False)


def console_login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form (it must succeed); returns the CSRF token of the session."""
    answer = post_login(client, username, password)
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/console/dashboard"))
