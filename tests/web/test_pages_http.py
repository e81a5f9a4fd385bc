"""The public pages over plain HTTP (no JavaScript): languages, filters, CSV, no personal data."""

from __future__ import annotations

import csv
import dataclasses
import io

from petitionflow import web
from schemas.common import Rating
from tests.factories import OTHER_REGION, REGION
from tests.web.conftest import Site
from tests.web.seed import PETITIONER_NAME, PETITIONER_PHONE, SECRET_TEXT, answered


async def test_home_shows_answers_in_chinese_by_default_and_english_on_request(site: Site) -> None:
    await answered(site, "p-web-1", "桥已修好，孩子们可以上学了。", rating=Rating.SATISFIED)
    zh = await site.http.get("/")
    assert zh.status_code == 200
    assert zh.headers["content-language"] == "zh-CN"
    assert "回音壁" in zh.text and "桥已修好" in zh.text and "满意" in zh.text and "东山村" in zh.text
    en = await site.http.get("/?lang=en")
    assert "Echo wall" in en.text and "Dongshan" in en.text and "satisfied" in en.text
    assert en.cookies.get("lang") == "en"
    site.http.cookies.clear()
    by_header = await site.http.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Latest answers" in by_header.text
    for page in (zh.text, en.text):
        assert SECRET_TEXT not in page and PETITIONER_NAME not in page and PETITIONER_PHONE not in page


async def test_region_wall_filters_by_region_category_period_and_text(site: Site) -> None:
    await answered(site, "p-web-a", "东山村的路灯修好了")
    await answered(site, "p-web-b", "西山村的水井清理完毕", region=OTHER_REGION)
    east = await site.http.get(f"/wall/{REGION.township}")
    assert east.status_code == 200 and "路灯" in east.text and "水井" not in east.text
    west = await site.http.get(f"/wall/{OTHER_REGION.village}", params={"q": "水井"})
    assert "水井" in west.text and "路灯" not in west.text
    none = await site.http.get(f"/wall/{REGION.village}", params={"q": "不存在的词"})
    assert "暂无答复" in none.text
    other_category = await site.http.get(f"/wall/{REGION.village}", params={"category": "water"})
    assert "路灯" not in other_category.text
    recent = await site.http.get(f"/wall/{REGION.village}", params={"period": "30d"})
    assert "路灯" in recent.text  # resolved on the test server's clock, which starts now
    assert (await site.http.get("/wall/v-nowhere")).status_code == 404


async def test_public_petition_page_shows_steps_without_personal_data(site: Site) -> None:
    await answered(site, "p-web-2", "已更换路灯", rating=Rating.BASICALLY_SATISFIED)
    page = await site.http.get("/p/p-web-2")
    assert page.status_code == 200
    for step in ("登记", "受理", "答复", "评价"):
        assert step in page.text
    assert "已更换路灯" in page.text and "基本满意" in page.text
    assert (
        SECRET_TEXT not in page.text
        and PETITIONER_NAME not in page.text
        and PETITIONER_PHONE not in page.text
    )
    assert (await site.http.get("/p/p-missing")).status_code == 404


async def test_dashboard_csv_has_a_byte_order_mark_and_the_api_figures(site: Site) -> None:
    await answered(site, "p-web-3", "答复一", rating=Rating.SATISFIED)
    await answered(site, "p-web-4", "答复二", rating=Rating.DISSATISFIED)
    answer = await site.http.get("/dashboard/tiers.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["层级", "及时受理率", "办结率", "满意率"]
    api = (await site.http.get("/v1/figures", params={"by": "tier"})).json()
    village = next(r for r in api if r["group"] == "village")
    ours = next(r for r in rows if r[0] == "村级")
    assert float(ours[1]) == round(village["response_rate"], 4)
    assert float(ours[3]) == round(village["satisfaction_rate"], 4)
    for table in ("regions", "months", "league", "overdue"):
        got = await site.http.get(f"/dashboard/{table}.csv?lang=en")
        assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf"), table
    assert (await site.http.get("/dashboard/nothing.csv")).status_code == 404


async def test_the_dashboard_is_counted_at_start_and_then_at_most_once_a_minute(site: Site) -> None:
    await web.warm(site.app)  # as `petitionflow api` does when it starts
    await answered(site, "p-web-5", "答复丙", rating=Rating.SATISFIED)
    cached = await site.http.get("/dashboard/tiers.csv")
    assert len(cached.content.decode("utf-8-sig").splitlines()) == 1  # counted before the petition
    site.app.state.web.config = dataclasses.replace(site.app.state.web.config, dashboard_seconds=0)
    fresh = await site.http.get("/dashboard/tiers.csv")
    assert [r[0] for r in csv.reader(io.StringIO(fresh.content.decode("utf-8-sig")))] == ["层级", "村级"]
