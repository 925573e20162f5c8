"""The staff console in a real browser: Debian's chromium driven by Playwright against a real
uvicorn server on 127.0.0.1 (with the outbox dispatcher running and console senders).

Log in, review documents (reject with a reason → the applicant's notice is queued; accept), compose
a broadcast above the confirmation threshold, have a second officer confirm it and watch the
progress page reach “已完成”."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlmodel import Session, col, select

from core.outbox.dispatch import DispatchConfig
from core.outbox.senders import ConsoleSender
from core.persistence.models import DocumentItemRow, NoticeRow
from server.app import create_app
from server.bootstrap import Container
from tests.staff_seed import PASSWORD, World, make_container, seed
from tests.waits import wait_until

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is not installed (apt-get install chromium; .ci/run does)",
    ),
]


@contextmanager
def chromium() -> Iterator[Any]:
    """The system's headless Chromium, closed at the end."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, **options: Any) -> Any:
    """A zh-CN page that waits at most 15 s for each step."""
    page = browser.new_page(locale="zh-CN", **options)
    page.set_default_timeout(15_000)
    return page


def login(page: Any, base: str, username: str) -> None:
    """Sign in on the console's login form; the dashboard opens."""
    from playwright.sync_api import expect

    page.goto(base + "/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("概览")


def submit(page: Any, form: str, fields: dict[str, str]) -> None:
    """Fill the fields of the form at selector `form` (a `select[…]` by its option value, any
    other field by typing) and press its submit button."""
    located = page.locator(form)
    for selector, value in fields.items():
        field = located.locator(selector)
        if selector.startswith("select"):
            field.select_option(value)
        else:
            field.fill(value)
    located.locator("button[type=submit]").click()


def signed_in(browser: Any, base: str, username: str, **options: Any) -> Any:
    """A new page (see `new_page`) signed in as `username`, on the dashboard."""
    page = new_page(browser, **options)
    login(page, base, username)
    return page


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(db_url: str, tmp_path: Path) -> Iterator[tuple[str, Container, World]]:
    from server.workers import install_scheduler

    container = make_container(db_url, tmp_path, scheduler_enabled=True)
    world = seed(container.engine, container.settings.documents_path)
    app = create_app(container, migrate=False, background=False)
    install_scheduler(  # the dispatcher with console senders, polling often
        app,
        container,
        {"telegram": ConsoleSender("telegram"), "sms": ConsoleSender("sms")},
        dispatch_config=DispatchConfig(idle_seconds=0.2),
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=15)  # uvicorn is serving
    try:
        yield f"http://127.0.0.1:{port}", container, world
    finally:
        server.should_exit = True
        thread.join(20)
        container.engine.dispose()


def test_review_and_broadcast_in_the_browser(live: tuple[str, Container, World]) -> None:
    from playwright.sync_api import expect

    base, container, w = live
    with chromium() as browser:
        page = signed_in(browser, base, "alice")
        # the dashboard shows the late application and the overdue bucket, with a chart
        expect(page.locator("svg.chart").first).to_be_visible()
        expect(page.locator("text=超时的审核环节")).to_be_visible()

        # --- review documents ----------------------------------------------------------
        page.click("a[href='/console/applications']")
        page.click(f"a[href='/console/applications/{w.app_id}']")
        expect(page.locator("h1")).to_contain_text(f"申请 #{w.app_id}")
        link = page.locator(f"#doc-{w.doc_png} a.view-doc")
        href = link.get_attribute("href")
        assert href is not None
        shown = page.request.get(base + href)  # the authorised route, with the session
        assert shown.status == 200 and shown.headers["content-type"] == "image/png"

        pdf_row = page.locator(f"#doc-{w.doc_pdf}")
        pdf_row.locator("input[name=reason]").fill("照片不清晰，请重新拍摄")
        pdf_row.locator("button[value=reject]").click()
        expect(page.locator("div.flash[role=status]")).to_contain_text("已退回，已通知申请人")
        expect(page.locator(f"#doc-{w.doc_pdf}")).to_contain_text("照片不清晰")
        page.locator(f"#doc-{w.doc_png} button[value=accept]").click()
        expect(page.locator("div.flash[role=status]")).to_contain_text("已通过")
        with Session(container.engine) as s:
            assert s.get(DocumentItemRow, w.doc_png).status == "accepted"  # type: ignore[union-attr]
            told = s.exec(select(NoticeRow).where(NoticeRow.template == "document_rejected")).one()
            assert told.address == "700001" and "照片不清晰" in told.text

        # --- compose a broadcast (above the threshold of 1) ------------------------------
        page.click("a[href='/console/broadcasts']")
        page.click("a[href='/console/broadcasts/new']")
        page.fill("input[name=title]", "创业担保贷款政策调整")
        page.fill("textarea[name=body]", "个人创业担保贷款额度调整，详情请咨询所在社区。")
        page.click("button:has-text('保存并预览')")
        expect(page.locator("#audience-total")).to_have_text("2 人")
        expect(page.locator("#preview-sms")).to_contain_text(
            container.settings.sms_unsubscribe_hint
        )
        expect(page.locator("#sms-segments")).to_have_text("1")
        page.click("#send-button")
        expect(page.locator("div.flash[role=status]")).to_contain_text("需由另一位工作人员确认")
        expect(page.locator("#bc-status")).to_have_text("待第二人确认")
        expect(page.locator("#confirm-button")).to_have_count(0)  # not by the same person
        url = page.url

        # --- a second officer confirms; the progress page follows the dispatcher ----------
        page.click("button:has-text('退出')")
        expect(page.locator("h1")).to_contain_text("员工登录")
        login(page, base, "bob")
        page.goto(url)
        page.click("#confirm-button")
        expect(page.locator("div.flash[role=status]")).to_contain_text("已确认")
        expect(page.locator("#bc-status")).to_have_text("已完成", timeout=30_000)
        expect(page.locator("#p-sent")).to_have_text("2")
        expect(page.locator("#p-queued")).to_have_text("0")

    with Session(container.engine) as s:
        sent = s.exec(
            select(NoticeRow).where(NoticeRow.kind == "broadcast").order_by(col(NoticeRow.id))
        ).all()
        assert [n.status for n in sent] == ["sent", "sent"]
        assert {n.address for n in sent} == {"700001", "700009"}
