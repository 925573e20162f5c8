"""New staff accounts default to the viewer role (只读) from the API, the console form and the
CLI; an admin must choose officer or admin explicitly."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from core.persistence.models import StaffUserRow
from server import cli_staff
from server.bootstrap import Container
from tests.cli_kit import ContainerRunner
from tests.integration.test_staff_api import served
from tests.staff_seed import World, bearer, make_container
from tests.staff_seed import console_login as login

__all__ = ["served"]


def _role(container: Container, username: str) -> str:
    with Session(container.engine) as s:
        return s.exec(select(StaffUserRow).where(StaffUserRow.username == username)).one().role


def test_api_and_console_default_to_viewer(served: tuple[TestClient, Container, World]) -> None:
    client, container, w = served
    new = {"username": "dora", "password": "a-long-password"}
    r = client.post("/api/staff/users", headers=bearer(w, "admin1"), json=new)
    assert r.status_code == 201 and r.json()["role"] == "viewer"
    r = client.post(
        "/api/staff/users",
        headers=bearer(w, "admin1"),
        json={**new, "username": "eddie", "role": "officer"},
    )
    assert r.json()["role"] == "officer"

    csrf = login(client, "admin1")
    page = client.get("/console/staff").text
    form = page[page.index('action="/console/staff"') :]
    selected = re.findall(r'<option value="(\w+)" selected>', form)
    assert selected == ["viewer"] and "新账号默认为“只读”" in form
    r = client.post(
        "/console/staff",
        data={"username": "fay", "password": "a-long-password", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _role(container, "fay") == "viewer"


def test_cli_defaults_to_viewer(db_url: str, tmp_path: Path) -> None:
    container = make_container(db_url, tmp_path)
    app = typer.Typer()
    cli_staff.register(app)
    app.command("noop")(lambda: None)
    runner = ContainerRunner(container)
    try:
        r = runner.invoke(
            app, ["staff", "create", "--username", "gus", "--password", "a-long-password"]
        )
        assert r.exit_code == 0, r.output
        assert "已创建员工账号 gus（只读）" in r.output
        assert _role(container, "gus") == "viewer"
    finally:
        container.engine.dispose()
