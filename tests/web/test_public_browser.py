"""The public pages in Debian's Chromium at 360 px: the echo wall without personal data, the
dashboard's charts and their numbers against the API's figures, axe-core, screenshots."""

from __future__ import annotations

from playwright.async_api import Page

from schemas.commands import EscalateInput
from schemas.common import Rating, Tier
from tests.factories import REGION, official
from tests.web.browser import overflow, serious_violations
from tests.web.conftest import Site, screenshot
from tests.web.seed import PETITIONER_NAME, PETITIONER_PHONE, SECRET_TEXT, answered, filed


async def test_echo_wall_shows_answers_without_name_phone_or_petition_text(site: Site, phone: Page) -> None:
    await answered(site, "p-br-1", "东巷的桥已重建，孩子们可以正常上学。", rating=Rating.SATISFIED)
    await answered(site, "p-br-2", "村口水井已清淤，水质检测合格。", rating=Rating.BASICALLY_SATISFIED)
    await phone.goto(f"{site.base_url}/wall/{REGION.township}")
    wall = phone.locator("#echo-wall")
    await wall.wait_for()
    text = await phone.locator("main").inner_text()
    assert "东巷的桥已重建" in text and "村口水井已清淤" in text
    assert "满意" in text and "基本满意" in text and "按时" in text and "村委会" in text
    body = await phone.content()
    assert SECRET_TEXT not in body and PETITIONER_NAME not in body and PETITIONER_PHONE not in body
    assert await overflow(phone) <= 0
    assert await serious_violations(phone) == []
    await screenshot(phone, "echo-wall")

    await phone.select_option("#f-category", "water")
    await phone.click("form.filters button")
    await phone.wait_for_url("**category=water**")
    # Both were filed as roads: no answer about water.
    assert await phone.locator("#echo-wall").inner_text() == "暂无答复。"
    await phone.select_option("#f-category", "roads")
    await phone.fill("#f-q", "水井")
    await phone.click("form.filters button")
    await phone.wait_for_function("() => new URLSearchParams(location.search).get('q') === '水井'")
    await phone.wait_for_selector("#echo-wall li")
    only = await phone.locator("#echo-wall").inner_text()
    assert "村口水井已清淤" in only and "东巷" not in only


async def test_home_and_public_petition_page_at_360_px(site: Site, phone: Page) -> None:
    await answered(site, "p-br-3", "道路坑洼已填平。", rating=Rating.SATISFIED)
    await filed(site, "p-br-4")
    await phone.goto(site.base_url + "/")
    assert await phone.locator("h1").inner_text() == "回音壁"
    assert await overflow(phone) <= 0
    assert await serious_violations(phone) == []
    await screenshot(phone, "home")
    await phone.click("a[href='/p/p-br-3']")
    await phone.wait_for_url("**/p/p-br-3")
    steps = await phone.locator("#steps").inner_text()
    assert "登记" in steps and "受理" in steps and "答复" in steps and "评价" in steps
    assert await phone.locator("#answer").inner_text() == "道路坑洼已填平。"
    assert await serious_violations(phone) == []
    await phone.click("text=English")
    await phone.wait_for_url("**lang=en**")
    assert "Steps" in await phone.locator("main").inner_text()


async def test_dashboard_charts_render_and_their_numbers_equal_the_api_figures(
    site: Site, phone: Page
) -> None:
    await answered(site, "p-br-5", "答复甲", rating=Rating.SATISFIED)
    await answered(site, "p-br-6", "答复乙", rating=Rating.DISSATISFIED)
    await filed(site, "p-br-7")
    escalated = await site.petitions.act(
        "p-br-7", EscalateInput(actor=official(Tier.VILLAGE), reason="需要乡镇协调水利站")
    )
    await site.stored("p-br-7", escalated.seq)
    await phone.goto(site.base_url + "/dashboard")
    for chart in ("response_rate", "resolution_rate", "satisfaction_rate", "months"):
        svg = phone.locator(f"#chart-{chart} svg")
        assert await svg.count() == 1, chart
        box = await svg.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100, chart
    api = (await site.http.get("/v1/figures", params={"by": "tier"})).json()
    assert [r["group"] for r in api] == ["village", "township"]
    # The bars are the API's numbers: Vega labels each bar mark with its value, in tier order.
    for rate in ("response_rate", "resolution_rate", "satisfaction_rate"):
        bars = await phone.locator(f"#chart-{rate} svg [aria-roledescription='bar']").all()
        expected = [r[rate] for r in api if r[rate] is not None]
        assert len(bars) == len(expected), rate
        for bar, value in zip(bars, expected, strict=True):
            label = await bar.get_attribute("aria-label") or ""
            assert f": {value * 100:.6f}%" in label, (rate, label)
    # The tables beside them hold the same numbers, every rate of every row.
    for table, rows in (
        ("table-tiers", api),
        ("table-townships", (await site.http.get("/v1/figures?by=region&tier=township")).json()),
        ("table-counties", (await site.http.get("/v1/figures?by=region&tier=county")).json()),
    ):
        shown = await phone.locator(f"#{table} tbody tr").count()
        assert shown == len(rows), table
        for row in rows:
            for rate in (
                "response_rate",
                "resolution_rate",
                "satisfaction_rate",
                "on_time_rate",
                "escalation_rate",
                "reopen_rate",
            ):
                cell = phone.locator(f"#{table} tr[data-group='{row['group']}'] td[data-rate='{rate}']")
                value = await cell.get_attribute("data-value")
                assert (float(value) if value else None) == row[rate], (table, row["group"], rate)
    overdue = await phone.locator("#table-overdue tbody tr").all_inner_texts()
    # p-br-6 reopened at the village (dissatisfied), p-br-7 escalated to the township.
    assert [r.split() for r in overdue[:2]] == [["村级", "0", "1"], ["乡镇级", "0", "1"]]
    assert await overflow(phone) <= 0
    assert await serious_violations(phone) == []
    await screenshot(phone, "dashboard")
