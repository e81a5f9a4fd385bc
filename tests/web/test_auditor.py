"""The auditor's page: a petition's verification and its timeline as of a chosen moment, in
Chromium; only an auditor's token opens it."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Page

from schemas.commands import AcknowledgeInput
from schemas.common import Actor, Role, Tier
from store import auth
from tests.factories import official
from tests.web.browser import serious_violations
from tests.web.conftest import Site, screenshot
from tests.web.seed import filed


async def test_auditor_sees_verification_and_the_timeline_as_of_a_moment(site: Site, phone: Page) -> None:
    await filed(site, "p-au-1")
    await site.env.sleep(timedelta(hours=2))
    state = await site.petitions.act("p-au-1", AcknowledgeInput(actor=official(Tier.VILLAGE)))
    await site.stored("p-au-1", state.seq)
    token = await auth.issue_token(site.pool, Actor(role=Role.AUDITOR, id="auditor-zhou"))

    await phone.goto(site.base_url + "/signin")
    await phone.click("details summary")
    await phone.fill("#token", token)
    await phone.click("form[action='/signin/token'] button")
    await phone.wait_for_url("**/audit")
    await phone.fill("#a-petition", "p-au-1")
    await phone.click("form.filters button")
    await phone.wait_for_url("**/audit/p-au-1")
    assert "核验通过" in await phone.locator("#verdict").inner_text()
    timeline = await phone.locator("#timeline li").all_inner_texts()
    assert [" 登记 · " in timeline[0], " 受理 · " in timeline[1]] == [True, True]
    assert await serious_violations(phone) == []
    await screenshot(phone, "audit")

    one_hour_in = (state.filed_at + timedelta(hours=1)).astimezone(ZoneInfo("Asia/Shanghai"))
    await phone.fill("#a-at", one_hour_in.strftime("%Y-%m-%dT%H:%M"))
    await phone.click("form.filters button")
    await phone.wait_for_url("**at=**")
    earlier = await phone.locator("#timeline li").all_inner_texts()
    assert len(earlier) == 1 and " 登记 · " in earlier[0]  # the acknowledgement came later
    assert "待受理" in await phone.locator("#as-of-state").inner_text()


async def test_the_audit_page_is_for_auditors_only(site: Site) -> None:
    await filed(site, "p-au-2")
    officer = await site.bearer(Tier.VILLAGE)
    assert (await site.http.get("/audit/p-au-2", headers=officer)).status_code == 303
    assert (await site.http.get("/audit/p-au-2")).status_code == 303
    token = await auth.issue_token(site.pool, Actor(role=Role.AUDITOR, id="auditor-zhou"))
    page = await site.http.get("/audit/p-au-2", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200 and "核验通过" in page.text
