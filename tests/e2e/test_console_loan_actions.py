"""Acting on a loan in a real browser (the server fixture of test_console_browser): an officer
records a payment, adds a 联系记录 and marks the loan 代偿 (shown on the dashboard); a bad amount
is refused in Chinese; a viewer sees no forms; an admin reverses the 代偿 with a reason."""

from __future__ import annotations

from sqlmodel import Session, select

from core.persistence.db import session_scope
from core.persistence.models import LoanRow, NoticeRow, PaymentRow
from server.bootstrap import Container
from tests.e2e.test_console_browser import chromium, live, new_page, pytestmark, signed_in, submit
from tests.staff_seed import World

__all__ = ["live", "pytestmark"]


def test_act_on_a_loan_in_the_browser(live: tuple[str, Container, World]) -> None:
    from playwright.sync_api import expect

    base, container, w = live
    loan_url = f"{base}/console/loans/{w.overdue_loan}"

    with chromium() as browser:
        page = signed_in(browser, base, "alice")
        page.goto(loan_url)
        expect(page.locator("#loan-status")).to_have_text("在贷")

        def pay(amount: str) -> None:
            fields = {"input[name=amount_yuan]": amount, "input[name=reference]": "GUI-001"}
            submit(page, "#act-payment", fields)

        pay("100.123")  # a bad amount: refused in Chinese, nothing written
        expect(page.locator("div.flash")).to_contain_text("还款金额最多两位小数")
        pay("1,000.50")  # a good one
        expect(page.locator("div.flash[role=status]")).to_contain_text("已登记还款 1000.50 元")
        expect(page.locator("#payments")).to_contain_text("GUI-001")
        expect(page.locator("#payments")).to_contain_text("手工")

        note = {
            "select[name=contact]": "borrower",
            "select[name=channel]": "visit",
            "select[name=outcome]": "promised",
            "textarea[name=text]": "上门走访，借款人承诺月底前还清",
        }
        submit(page, "#act-note", note)
        expect(page.locator("#notes")).to_contain_text("上门走访，借款人承诺月底前还清")
        expect(page.locator("#notes")).to_contain_text("承诺还款")

        state = {
            "select[name=status]": "compensated",
            "input[name=amount_yuan]": "19000",
            "input[name=note]": "担保基金代偿",
        }
        submit(page, "#act-status", state)
        expect(page.locator("#loan-status")).to_have_text("已代偿")
        expect(page.locator("#states")).to_contain_text("19,000.00元")
        expect(page.locator(".reverse-form")).to_have_count(0)  # officers do not reverse
        page.goto(base + "/console/dashboard")
        expect(page.locator("#compensated-count")).to_have_text("1")
        expect(page.locator("#compensated-amount")).to_have_text("19,000.00元")
        with Session(container.engine) as s:
            pay = s.exec(select(PaymentRow).where(PaymentRow.reference == "GUI-001")).one()
            assert pay.source == "manual" and pay.amount_fen == 100_050

        # a viewer reads but gets no forms
        viewer = signed_in(browser, base, "vera")
        viewer.goto(loan_url)
        expect(viewer.locator("#history")).to_contain_text("状态变更")
        expect(viewer.locator("#act-payment")).to_have_count(0)
        expect(viewer.locator("#act-note")).to_have_count(0)
        expect(viewer.locator(".reverse-form")).to_have_count(0)

        # an admin reverses the 代偿 with a reason
        admin = signed_in(browser, base, "admin1")
        admin.goto(loan_url)
        row = admin.locator("#history tbody tr").first
        row.locator("input[name=reason]").fill("代偿金额有误，重新登记")
        row.locator("button[type=submit]").click()
        expect(admin.locator("div.flash[role=status]")).to_contain_text("已撤销：状态变更")
        expect(admin.locator("#loan-status")).to_have_text("在贷")
        expect(admin.locator("#history")).to_contain_text("代偿金额有误，重新登记")
        with Session(container.engine) as s:
            assert (s.get(LoanRow, w.overdue_loan) or LoanRow()).status == "active"


def test_held_notice_says_why_in_the_browser(live: tuple[str, Container, World]) -> None:
    from playwright.sync_api import expect

    base, container, _ = live
    with session_scope(container.engine) as s:
        s.add(
            NoticeRow(
                key="relay:terminal:1", kind="relay", channel="terminal", address="term-1",
                text="工作人员回复：请携带身份证到社区", status="failed",
                last_error="该渠道没有可用的发送器",
            )
        )  # fmt: skip
    with chromium() as browser:
        page = signed_in(browser, base, "vera")
        page.goto(base + "/console/notices?channel=&kind=relay")
        held = page.locator("small.held[data-reason=channel_cannot_receive]")
        expect(held).to_have_text("终端对话无法接收消息，不会发送到该渠道")


def test_root_and_api_docs_work_offline_in_the_browser(live: tuple[str, Container, World]) -> None:
    """`/` opens the console; /docs renders Swagger UI with every request to this server."""
    from playwright.sync_api import expect

    base, _, _ = live
    with chromium() as browser:
        page = new_page(browser)
        elsewhere: list[str] = []  # requests for another host, and how each ended
        page.on(
            "requestfailed",
            lambda req: (
                None if req.url.startswith(base) else elsewhere.append(f"{req.url} {req.failure}")
            ),
        )
        page.on(
            "requestfinished",
            lambda req: None if req.url.startswith(base) else elsewhere.append(req.url),
        )
        page.goto(base + "/")
        expect(page.locator("h1")).to_have_text("员工登录")
        page.goto(base + "/docs")
        expect(page.locator(".swagger-ui .title").first).to_contain_text("创贷前台")
        page.goto(base + "/redoc")
        expect(page.locator("h1").first).to_contain_text("创贷前台")
        # data: and blob: URLs (ReDoc's worker) are local; ReDoc's bundle asks for its logo
        # on cdn.redoc.ly, which the page's CSP blocks before it leaves the browser
        remote = [u for u in elsewhere if u.startswith(("http:", "https:"))]
        assert all(u.endswith(" csp") for u in remote), remote


def test_faq_addition_from_the_knowledge_page(live: tuple[str, Container, World]) -> None:
    """An officer writes a question and its answer; the id is generated, the entry stored in the
    database, and after 重新加载知识库 the bot answers it."""
    from playwright.sync_api import expect

    base, container, _ = live
    with chromium() as browser:
        page = signed_in(browser, base, "alice")
        page.goto(base + "/console/knowledge")
        question = {"input[name=question]": "担保中心周六上班吗"}
        page.locator("#new-entry summary").click()
        submit(page, "#new-entry", question)  # no answer yet
        expect(page.locator("div.flash")).to_contain_text("答案不能为空")
        page.locator("#new-entry summary").click()
        entry = {
            **question,
            "textarea[name=paraphrases]": (
                "周末能去办理吗\n星期六办公吗\n礼拜天上班不\n周末有人吗\n双休日能办贷款吗"
            ),
            "textarea[name=answer]": "担保中心周六不办公，请工作日前往{office}。",
        }
        submit(page, "#new-entry", entry)
        expect(page.locator("div.flash[role=status]")).to_contain_text("已新建条目 staff_0001")
        page.click("button:has-text('重新加载知识库')")
        expect(page.locator("div.flash[role=status]")).to_contain_text("知识库已重新加载")
        assert container.kb.answer("星期六你们办公吗").entry_id == "staff_0001"
        assert not list((container.knowledge_path / "faq").glob("staff_additions*"))
