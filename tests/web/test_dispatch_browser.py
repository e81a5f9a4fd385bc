"""Dispatch in Debian's Chromium at 360 px: the county centre's desk signs in with a one-time code,
finds the petition filed through the centre in its queue and dispatches it to the township picked
from the directory; the township's official signs in and signs for it. axe-core on each page;
screenshots of both steps."""

from __future__ import annotations

from playwright.async_api import Browser, Page

from tests.web.browser import overflow, serious_violations
from tests.web.conftest import CENTRE_DESK, CENTRE_PHONE, TOWNSHIP_EMAIL, TOWNSHIP_OFFICIAL, Site, screenshot
from tests.web.seed import filed_at_centre
from tests.web.test_officials_browser import sign_in


async def test_a_centre_dispatches_and_the_township_signs_for_it(
    site: Site, phone: Page, browser: Browser
) -> None:
    await filed_at_centre(site, "p-wdb-1")
    await sign_in(site, phone, CENTRE_PHONE, CENTRE_DESK.id)
    queue = await phone.locator("#queue").inner_text()
    assert "p-wdb-1" in queue and "待派单" in queue
    await phone.click("a[href='/o/p-wdb-1']")
    await phone.wait_for_url("**/o/p-wdb-1")
    assert await phone.locator("#held-by").inner_text() == "沂水县12345热线"
    options = await phone.locator("#dispatch-office option").all_inner_texts()
    assert "夏庄镇政府 · 属地政府" in options and "沂水县水利局 · 职能部门" in options
    assert await serious_violations(phone) == []
    await phone.select_option("#dispatch-office", "o-xiazhuang")
    await phone.fill("#dispatch-note", "桥梁在夏庄镇辖区")
    await phone.click("#form-dispatch button")
    await phone.wait_for_selector("#done")
    assert await phone.locator("#stage").inner_text() == "待签收"
    assert await phone.locator("#held-by").inner_text() == "夏庄镇政府"
    assert "派单 → 夏庄镇政府" in await phone.locator("#timeline").inner_text()
    assert await phone.locator("#form-dispatch").count() == 0
    assert await overflow(phone) <= 0
    assert await serious_violations(phone) == []
    await screenshot(phone, "dispatch")

    context = await browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    township = await context.new_page()
    try:
        await sign_in(site, township, TOWNSHIP_EMAIL, TOWNSHIP_OFFICIAL)
        assert "p-wdb-1" in await township.locator("#queue").inner_text()
        await township.click("a[href='/o/p-wdb-1']")
        await township.wait_for_url("**/o/p-wdb-1")
        assert await township.locator("#form-send_back").count() == 1
        await township.click("#form-sign_for button")
        await township.wait_for_selector("#done")
        assert await township.locator("#stage").inner_text() == "研判"
        assert "签收" in await township.locator("#timeline").inner_text()
        assert await township.locator("#form-assess").count() == 1
        assert await overflow(township) <= 0
        assert await serious_violations(township) == []
        await screenshot(township, "signed-for")
    finally:
        await context.close()
    stored = await site.pool.fetch("SELECT type FROM events WHERE petition_id = 'p-wdb-1' ORDER BY seq")
    assert [r["type"] for r in stored] == ["PetitionFiled", "IntakeOpened", "Dispatched", "SignedFor"]
