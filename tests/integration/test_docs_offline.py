"""`GET /` opens the console; the API docs (/docs, /redoc) load Swagger UI and ReDoc from this
server (the fastapi-offline package), never from a CDN — mainland networks block or slow them."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from server.bootstrap import Container
from tests.integration.test_staff_api import served
from tests.staff_seed import World

__all__ = ["served"]
URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(["']?([^"')]+)""")


def test_root_redirects_to_the_console(served: tuple[TestClient, Container, World]) -> None:
    client, _, _ = served
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/console"
    assert client.get("/").url.path == "/console/login"  # then to the login page


def test_docs_use_no_cdn(served: tuple[TestClient, Container, World]) -> None:
    client, _, _ = served
    for page in ("/docs", "/redoc"):
        r = client.get(page)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert not re.search(r"https?://", r.text), (
            page,
            re.findall(r"https?://[^\s\"']+", r.text),
        )
        assets = [a or b for a, b in URL.findall(r.text)]
        assert any(a.endswith(".js") for a in assets), assets
        for asset in assets:
            got = client.get(asset)
            assert got.status_code == 200 and got.content, asset
    assert client.get("/openapi.json").json()["info"]["title"].startswith("创贷前台")
