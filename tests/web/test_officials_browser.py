"""Officials in Debian's Chromium at 360 px: a village cadre signs in with a one-time code from the
outbox, sees the queue, acknowledges and resolves; a township official's refused action is shown in
Chinese; axe-core on every page; screenshots of the queue and the petition page."""

from __future__ import annotations

from playwright.async_api import Page

from tests.factories import CADRE_ID
from tests.web.browser import overflow, serious_violations
from tests.web.conftest import TOWNSHIP_EMAIL, TOWNSHIP_OFFICIAL, Site, screenshot
from tests.web.seed import filed


async def sign_in(site: Site, page: Page, login: str, person_id: str) -> None:
    """The roster's phone or email, then the code the outbox holds for the person."""
    await page.goto(site.base_url + "/signin")
    assert await serious_violations(page) == []
    await page.fill("#login", login)
    await page.click("form[action='/signin'] button")
    await page.wait_for_selector("#code")
    await page.fill("#code", await site.sign_in_code(person_id))
    await page.click("form[action='/signin/code'] button")
    await page.wait_for_url("**/queue")


async def test_cadre_signs_in_sees_the_queue_acknowledges_and_resolves(site: Site, phone: Page) -> None:
    await filed(site, "p-of-1")
    await filed(site, "p-of-2")
    await sign_in(site, phone, "139-0000-0001", CADRE_ID)  # the roster has +86 139 0000 0001
    cookies = {c["name"]: c for c in await phone.context.cookies()}
    session = cookies["pf_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"

    queue = await phone.locator("#queue").inner_text()
    assert "p-of-1" in queue and "p-of-2" in queue and "待受理" in queue
    assert await overflow(phone) <= 0
    assert await serious_violations(phone) == []
    await screenshot(phone, "queue")

    await phone.click("a[href='/o/p-of-1']")
    await phone.wait_for_url("**/o/p-of-1")
    assert "hh-0042" in await phone.locator("#contact").inner_text()  # the contact cadre sees the contact
    await phone.click("#form-acknowledge button")
    await phone.wait_for_selector("#done")
    assert await phone.locator("#stage").inner_text() == "研判"
    await phone.fill("#resolve-summary", "东巷的桥已于本周修复，可以通行。")
    await phone.click("#form-resolve button")
    await phone.wait_for_selector("#answer")
    assert await phone.locator("#stage").inner_text() == "待评价"
    assert await phone.locator("#answer").inner_text() == "东巷的桥已于本周修复，可以通行。"
    timeline = await phone.locator("#timeline").inner_text()
    assert "受理" in timeline and "答复" in timeline
    assert await overflow(phone) <= 0
    assert await serious_violations(phone) == []
    await screenshot(phone, "petition")
    stored = await site.pool.fetch("SELECT type FROM events WHERE petition_id = 'p-of-1' ORDER BY seq")
    assert [r["type"] for r in stored] == ["PetitionFiled", "Acknowledged", "Resolved"]

    await phone.goto(site.base_url + "/queue")
    assert "p-of-1" in await phone.locator("#queue").inner_text()  # waiting for the rating, still open

    await phone.click("footer form button")
    await phone.wait_for_url(site.base_url + "/")
    await phone.goto(site.base_url + "/queue")
    assert phone.url.endswith("/signin")


async def test_a_refused_action_shows_its_reason_in_chinese(site: Site, phone: Page) -> None:
    await filed(site, "p-of-3")
    await sign_in(site, phone, TOWNSHIP_EMAIL.upper(), TOWNSHIP_OFFICIAL)
    await phone.goto(site.base_url + "/o/p-of-3")
    assert await phone.locator("#contact").count() == 0  # not the office holding it, not its cadre
    await phone.click("#form-acknowledge button")
    refusal = phone.locator("#refusal")
    await refusal.wait_for()
    assert await refusal.inner_text() == ("未能办理：该件在村级办理；乡镇级工作人员 li-township 不能受理")
    assert await phone.locator("#stage").inner_text() == "待受理"
    assert await serious_violations(phone) == []
    await screenshot(phone, "refused")
    stored = await site.pool.fetchval("SELECT count(*) FROM events WHERE petition_id = 'p-of-3'")
    assert stored == 1
