"""Console login throttling through the real login form: per address and per network with
backoff; a user name's lock never refuses the right password from an address that has not
failed; the flash cookie is Secure like the session cookie."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from core.persistence.db import session_scope
from core.persistence.models_staff import LoginFailureRow
from server.app import create_app
from server.bootstrap import Container
from server.throttle import backoff_seconds, network_of
from tests.staff_seed import PASSWORD, make_container, post_login, seed


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[tuple[FastAPI, Container]]:
    container = make_container(db_url, tmp_path, public_base_url="https://loans.example.test")
    seed(container.engine, container.settings.documents_path)
    yield create_app(container, migrate=False), container
    container.engine.dispose()


def attempt(app: FastAPI, ip: str, username: str, password: str) -> tuple[int, str, TestClient]:
    client = TestClient(app, base_url="https://loans.example.test", client=(ip, 50000))
    r = post_login(client, username, password)
    return r.status_code, r.text, client


def age_failures(container: Container, by: timedelta) -> None:
    with session_scope(container.engine) as s:
        for row in s.exec(select(LoginFailureRow)).all():
            row.at = row.at - by
            s.add(row)


def test_a_locked_user_name_still_opens_for_an_address_that_has_not_failed(
    app: tuple[FastAPI, Container],
) -> None:
    web, container = app
    attacker = "203.0.113.7"
    for _ in range(5):
        assert attempt(web, attacker, "alice", "wrong")[0] == 401
    age_failures(container, timedelta(minutes=2))  # past the attacker's backoff
    status, text, _ = attempt(web, attacker, "alice", PASSWORD)
    assert status == 401 and "登录失败次数过多" in text  # locked for the failing address
    status, _, client = attempt(web, "198.51.100.20", "alice", PASSWORD)
    assert status == 303  # the real alice, elsewhere, is not locked out
    assert client.get("/console/dashboard").status_code == 200


def test_an_address_that_keeps_failing_backs_off_across_user_names(
    app: tuple[FastAPI, Container],
) -> None:
    web, container = app
    ip = "192.0.2.50"
    for name in ("alice", "bob", "vera", "admin1", "nobody"):
        assert attempt(web, ip, name, "wrong")[0] == 401
    status, text, _ = attempt(web, ip, "bob", PASSWORD)
    assert status == 401 and "尝试过于频繁" in text  # the right password waits too
    age_failures(container, timedelta(seconds=6))
    assert attempt(web, ip, "bob", PASSWORD)[0] == 303  # after the backoff, bob is not locked
    assert backoff_seconds(4, 5) == 0 and backoff_seconds(5, 5) == 5
    assert backoff_seconds(7, 5) == 20 and backoff_seconds(50, 5) == 900


def test_a_network_spreading_its_guesses_is_throttled_as_a_whole(
    app: tuple[FastAPI, Container],
) -> None:
    web, _ = app
    for host in range(1, 21):  # one failure each from 20 addresses of one /24
        assert attempt(web, f"100.64.9.{host}", "admin1", "wrong")[0] == 401
    status, text, _ = attempt(web, "100.64.9.200", "vera", PASSWORD)
    assert status == 401 and "尝试过于频繁" in text
    assert attempt(web, "100.64.10.1", "vera", PASSWORD)[0] == 303  # another network
    assert network_of("2001:db8::1") == "2001:db8::/64"


def test_flash_cookie_is_secure_like_the_session_cookie(app: tuple[FastAPI, Container]) -> None:
    web, _ = app
    status, _, client = attempt(web, "198.51.100.30", "alice", PASSWORD)
    assert status == 303
    # the login answer sets the session and the welcome flash: both Secure over https
    r = post_login(client, "alice")
    cookies = r.headers.get_list("set-cookie")
    flash = [c for c in cookies if c.lower().startswith("cd_flash") or "flash" in c.split("=")[0]]
    session = [c for c in cookies if c.startswith("cd_session=")]
    assert flash and session
    assert all("secure" in c.lower() for c in flash + session)
