"""The household's signed link: it opens that petition's page and its rating form, in Chromium at
360 px; a forged, altered or foreign link opens nothing."""

from __future__ import annotations

import re

from playwright.async_api import Page

from petitionflow.proofs import sign_link
from schemas.commands import AcknowledgeInput, ResolveInput
from schemas.common import Outcome, Tier
from tests.factories import PETITIONER_ID, official
from tests.web.browser import overflow, serious_violations
from tests.web.conftest import LINK_SECRET, Site, screenshot
from tests.web.seed import filed


async def _answered(site: Site, petition_id: str) -> None:
    await filed(site, petition_id)
    cadre = official(Tier.VILLAGE)
    await site.petitions.act(petition_id, AcknowledgeInput(actor=cadre))
    state = await site.petitions.act(
        petition_id,
        ResolveInput(actor=cadre, outcome=Outcome.RESOLVED, public_summary="水管已接通，每天供水。"),
    )
    await site.stored(petition_id, state.seq)


async def test_household_opens_its_link_and_rates_the_answer(site: Site, phone: Page) -> None:
    await _answered(site, "p-hh-1")
    link = f"{site.base_url}/h/{sign_link(LINK_SECRET, 'p-hh-1', PETITIONER_ID)}"
    await phone.goto(link)
    assert await phone.locator("#answer").inner_text() == "水管已接通，每天供水。"
    assert await phone.locator("#stage").inner_text() == "待评价"
    assert "问题解决了吗？" in await phone.locator("main").inner_text()
    assert await overflow(phone) <= 0
    assert await serious_violations(phone) == []
    await screenshot(phone, "household")
    await phone.check("input[name='rating'][value='basically_satisfied']")
    await phone.fill("#comment", "水压还有点低。")
    await phone.click("form.actions button")
    await phone.wait_for_selector("#thanks")
    assert await phone.locator("#stage").inner_text() == "已办结"
    assert await phone.locator("#rating").inner_text() == "您的评价: 基本满意"
    assert await phone.locator("form.actions").count() == 0  # rated: no form any more
    assert await serious_violations(phone) == []
    stored = await site.pool.fetch("SELECT type FROM events WHERE petition_id = 'p-hh-1' ORDER BY seq")
    assert [r["type"] for r in stored][-2:] == ["FeedbackReceived", "Closed"]


async def test_a_link_opens_only_its_own_petition(site: Site) -> None:
    await _answered(site, "p-hh-2")
    await filed(site, "p-hh-3", petitioner_id="hh-0777")
    good = sign_link(LINK_SECRET, "p-hh-2", PETITIONER_ID)
    page = await site.http.get(f"/h/{good}")
    assert page.status_code == 200 and "水管已接通" in page.text
    assert "/queue" not in page.text and "/o/" not in page.text
    altered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    forged = sign_link("another-secret", "p-hh-2", PETITIONER_ID)
    foreign = sign_link(LINK_SECRET, "p-hh-3", PETITIONER_ID)  # not this household's petition
    for token in (altered, forged, foreign, "nonsense"):
        answer = await site.http.get(f"/h/{token}")
        assert answer.status_code == 404 and "此链接无法使用" in answer.text, token
    form_token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert form_token is not None
    stolen = await site.http.post(
        f"/h/{foreign}", data={"rating": "satisfied", "form_token": form_token.group(1)}
    )
    assert stolen.status_code == 404
    wrong_form = await site.http.post(f"/h/{good}", data={"rating": "satisfied", "form_token": "x"})
    assert wrong_form.status_code == 404
    assert await site.pool.fetchval("SELECT count(*) FROM events WHERE type = 'FeedbackReceived'") == 0
    again = await site.http.post(
        f"/h/{good}", data={"rating": "satisfied", "form_token": form_token.group(1)}, params={"lang": "en"}
    )
    assert again.status_code == 303
    twice = await site.http.post(
        f"/h/{good}", data={"rating": "satisfied", "form_token": form_token.group(1)}
    )
    assert twice.status_code == 409 and "未能办理" in twice.text
