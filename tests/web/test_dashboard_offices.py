"""The dashboard's offices and departments (issue 12 item 6 on the page of issue 15): a table per
office with the figures ``/v1/figures?by=office`` serves, a server-drawn chart, and its CSV."""

from __future__ import annotations

import csv
import io
import re

from playwright.async_api import Page

from tests.web.browser import overflow, serious_violations
from tests.web.conftest import CENTRE_ID, WATER_ID, Site, screenshot
from tests.web.seed import offices_at_work

RATES = (
    "average_dispatch_minutes",
    "dispatch_on_time_rate",
    "timely_receipt_rate",
    "send_back_rate",
    "summons_on_time_rate",
)
STINT_RATES = ("response_rate", "resolution_rate", "satisfaction_rate")


def _table(html: str) -> dict[str, dict[str, float | None]]:
    """The offices' table as the page shows it: group -> rate -> the cell's value."""
    table = re.search(r'<table id="table-offices">(.*?)</table>', html, re.S)
    assert table, "no offices table"
    rows: dict[str, dict[str, float | None]] = {}
    for group, cells in re.findall(r'<tr data-group="([^"]*)">(.*?)</tr>', table.group(1), re.S):
        values = re.findall(r'data-rate="([a-z_]+)" data-value="([^"]*)"', cells)
        rows[group] = {rate: float(v) if v else None for rate, v in values}
    return rows


async def test_the_offices_table_holds_the_api_figures_and_downloads_as_csv(site: Site) -> None:
    await offices_at_work(site)
    api = (await site.http.get("/v1/figures", params={"by": "office"})).json()
    by_office = {r["group"]: r for r in api if r["office"] is not None}
    assert by_office[CENTRE_ID]["office"]["dispatched"] == 2
    assert by_office["o-xiazhuang"]["office"]["timely_receipt_rate"] == 1.0
    assert by_office[WATER_ID]["office"]["send_back_rate"] == 1.0

    page = await site.http.get("/dashboard")
    assert page.status_code == 200 and "办理单位与职能部门" in page.text
    shown = _table(page.text)
    assert set(shown) == set(by_office)
    for group, row in by_office.items():
        for rate in RATES:
            assert shown[group][rate] == row["office"][rate], (group, rate)
        for rate in STINT_RATES:
            assert shown[group][rate] == row[rate], (group, rate)
    assert re.search(r'<th scope="row">沂水县水利局</th><td>职能部门</td>', page.text)
    assert '<th scope="row">沂水县12345热线</th><td>受理中心</td>' in page.text
    # The chart is drawn on the server, one bar per office that received a dispatch.
    figure = r'<figure class="chart" id="chart-office-send_back_rate">(.*?)</figure>'
    chart = re.search(figure, page.text, re.S)
    assert chart and chart.group(1).startswith("<svg") and 'aria-label="退单率"' in chart.group(1)
    assert chart.group(1).count('aria-roledescription="bar"') == 2
    assert "desk-liu" not in page.text and "water-chen" not in page.text and "hh-0042" not in page.text

    got = await site.http.get("/dashboard/offices.csv")
    assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["单位编号", "单位", "类型", "派单数"]
    water = next(r for r in rows if r[0] == WATER_ID)
    head = rows[0]
    assert water[1] == "沂水县水利局" and water[head.index("退单率")] == "1.0000"
    assert water[head.index("收到派单数")] == "1"
    centre = next(r for r in rows if r[0] == CENTRE_ID)
    assert centre[head.index("派单数")] == "2"


async def test_the_office_charts_render_in_chromium_with_the_api_numbers(site: Site, phone: Page) -> None:
    await offices_at_work(site)
    api = [r for r in (await site.http.get("/v1/figures", params={"by": "office"})).json() if r["office"]]
    await phone.goto(site.base_url + "/dashboard")
    for rate in ("timely_receipt_rate", "send_back_rate"):
        svg = phone.locator(f"#chart-office-{rate} svg")
        assert await svg.count() == 1, rate
        box = await svg.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 40, rate
        # One bar per office with a rate, in the table's order, each labelled with the API's value.
        bars = await phone.locator(f"#chart-office-{rate} svg [aria-roledescription='bar']").all()
        expected = [r["office"][rate] for r in api if r["office"][rate] is not None]
        assert len(bars) == len(expected) == 2, rate
        for bar, value in zip(bars, expected, strict=True):
            label = await bar.get_attribute("aria-label") or ""
            assert f": {value * 100:.6f}%" in label, (rate, label)
    assert await phone.locator("#table-offices tbody tr").count() == len(api)
    for row in api:
        for rate in RATES:
            cell = phone.locator(f"#table-offices tr[data-group='{row['group']}'] td[data-rate='{rate}']")
            value = await cell.get_attribute("data-value")
            assert (float(value) if value else None) == row["office"][rate], (row["group"], rate)
    water = await phone.locator(f"#table-offices tr[data-group='{WATER_ID}']").inner_text()
    assert "沂水县水利局" in water and "100.0%" in water
    await phone.locator("#h-offices").scroll_into_view_if_needed()
    assert await overflow(phone) <= 0
    assert await serious_violations(phone) == []
    await screenshot(phone, "dashboard-offices")
