"""The console in chromium, read as staff read it: every page reachable from the navigation (and
the detail pages they link to) with the seeded world and the demo data shows no internal code
(`snake_case` words) and fits an 800 px wide window without scrolling the page sideways; the
search box, the overdue buckets, the 导出Excel buttons and the import template work."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from openpyxl import load_workbook

from server.bootstrap import Container
from server.demo import load_demo
from tests.e2e import test_console_browser as browser_test
from tests.staff_seed import World

live = browser_test.live  # the real uvicorn server on a seeded SQLite file
pytestmark = browser_test.pytestmark
Live = tuple[str, Container, World]
SNAKE = re.compile(r"(?<![A-Za-z0-9_./-])[a-z][a-z0-9]*_[a-z0-9_]+(?![A-Za-z0-9_/.-])")
SKIP = re.compile(r"/(logout|export\.xlsx|template\.xlsx|file)$|/documents/")
MAX_PAGES = 120
PER_SHAPE = 4


@contextmanager
def _page(base: str, who: str, width: int = 1280) -> Iterator[Any]:
    with browser_test.chromium() as browser:
        viewport = {"width": width, "height": 900}
        yield browser_test.signed_in(browser, base, who, viewport=viewport, accept_downloads=True)


def _walk(page: Any, base: str) -> Iterator[str]:
    """Every console page reachable from the navigation, and the pages those link to (one of
    each path pattern with ids up to PER_SHAPE, so a long list is not walked row by row)."""
    seen_paths: set[str] = set()
    seen_shapes: dict[str, int] = {}
    queue = ["/console/dashboard"]
    while queue and len(seen_paths) < MAX_PAGES:
        path = queue.pop(0)
        page.goto(base + path)
        yield path
        hrefs = page.eval_on_selector_all(
            "a[href^='/console']", "els => els.map(e => e.getAttribute('href'))"
        )
        for href in hrefs:
            target = href.split("#")[0]
            bare = target.split("?")[0]
            shape = re.sub(r"/\d+", "/N", bare) + ("?" if "?" in target else "")
            if SKIP.search(bare) or target in seen_paths or seen_shapes.get(shape, 0) >= PER_SHAPE:
                continue
            seen_paths.add(target)
            seen_shapes[shape] = seen_shapes.get(shape, 0) + 1
            queue.append(target)


def _with_demo(container: Container) -> None:
    load_demo(container)  # the demo loans, payments, guarantors and the chat-made applications


def test_no_internal_code_on_any_page(live: Live) -> None:
    base, container, _ = live
    _with_demo(container)
    offenders: dict[str, list[str]] = {}
    pages = 0
    with _page(base, "admin1") as page:
        for path in _walk(page, base):
            pages += 1
            text = page.inner_text("body")
            found = sorted(set(SNAKE.findall(text)))
            if found:
                offenders[path] = found
    assert pages >= 15, pages
    assert offenders == {}


def test_every_page_fits_800_pixels(live: Live) -> None:
    base, container, _ = live
    _with_demo(container)
    wide: dict[str, int] = {}
    with _page(base, "admin1", width=800) as page:
        for path in _walk(page, base):
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 800:
                wide[path] = width
    assert wide == {}


def test_search_buckets_exports_and_template_in_the_browser(live: Live) -> None:
    from playwright.sync_api import expect

    base, _, w = live
    with _page(base, "alice") as page:
        # the dashboard's 31–90 bucket lists the overdue loan
        page.click("a.bucket:has-text('31–90天')")
        assert "overdue_days=31-90" in page.url
        expect(page.locator("table tbody tr")).to_have_count(1)
        expect(page.locator("table tbody")).to_contain_text("LZ-S-0001")
        # one search box: a phone typed with spaces finds the borrower's loan
        page.goto(base + "/console/loans")
        page.fill("form.search input[name=q]", "138 9310 0002")
        page.click("form.search button[type=submit]")
        expect(page.locator("table tbody tr")).to_have_count(1)
        expect(page.locator("table tbody")).to_contain_text("王秀兰")
        # 导出Excel exports the list as filtered
        with page.expect_download() as got:
            page.click("a.export:has-text('导出Excel')")
        ws = load_workbook(io.BytesIO(got.value.path().read_bytes())).active
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][0] == "贷款编号" and [r[0] for r in rows[1:]] == ["LZ-S-0001"]
        # applications, tickets and notices have the same box
        page.goto(base + "/console/applications")
        page.fill("form.search input[name=q]", "0116")
        page.click("form.search button[type=submit]")
        expect(page.locator("table tbody tr")).to_have_count(1)
        expect(page.locator("table tbody")).to_contain_text(f"#{w.app_id}")
        page.goto(base + "/console/handoff?status=")
        page.fill("form.search input[name=q]", "张建国")
        page.click("form.search button[type=submit]")
        expect(page.locator("table tbody")).to_contain_text(f"工单号 {w.ticket_id}")
        page.goto(base + "/console/notices")
        expect(page.locator("form.search input[name=q]")).to_be_visible()
        with page.expect_download() as got:
            page.click("a.export:has-text('导出Excel')")
        assert load_workbook(io.BytesIO(got.value.path().read_bytes())).active["A1"].value == "编号"
        # a bad query is a Chinese 422 page
        page.goto(base + "/console/loans?q=" + "x" * 60)
        expect(page.locator("body")).to_contain_text("搜索内容过长")
        # the import page offers the template
        page.goto(base + "/console/imports")
        with page.expect_download() as got:
            page.click("#template-download")
        book = load_workbook(io.BytesIO(got.value.path().read_bytes()))
        assert book.sheetnames[0] == "贷款"


@pytest.mark.parametrize("who", ["vera"])
def test_viewers_see_phones_masked_and_precheck_as_a_table(live: Live, who: str) -> None:
    from playwright.sync_api import expect

    base, _, w = live
    with _page(base, who) as page:
        page.goto(base + f"/console/loans/{w.overdue_loan}")
        expect(page.locator("body")).to_contain_text("138 **** 0002")
        page.goto(base + f"/console/applications/{w.app_id}")
        table = page.locator("table.answers")
        expect(table).to_contain_text("申请类型")
        expect(table).to_contain_text("个人")
        expect(page.locator("pre.json")).to_have_count(0)
    with _page(base, "alice") as page:
        page.goto(base + f"/console/loans/{w.overdue_loan}")
        expect(page.locator("body")).to_contain_text("138 9310 0002")
