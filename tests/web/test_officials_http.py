"""Officials' sign-in and actions over plain HTTP (no JavaScript): codes throttled, single use and
counted; the session cookie's flags, CSRF, sign-out; a bearer token; forms that work without htmx."""

from __future__ import annotations

import dataclasses
import re

import httpx

from petitionflow.cli._engine import web_config
from petitionflow.settings import Settings
from schemas.common import Actor, Tier
from store import sessions
from tests.factories import CADRE_ID, OTHER_REGION
from tests.web.conftest import CADRE_PHONE, TOWNSHIP_EMAIL, TOWNSHIP_OFFICIAL, Site
from tests.web.seed import filed


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name} in the page"
    return found.group(1)


async def _ask(http: httpx.AsyncClient, login: str) -> httpx.Response:
    page = await http.get("/signin")
    return await http.post("/signin", data={"login": login, "pre": _hidden(page.text, "pre")})


async def _signed_in(site: Site, login: str, person_id: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=site.base_url)
    asked = await _ask(http, login)
    code = await site.sign_in_code(person_id)
    done = await http.post(
        "/signin/code", data={"login": login, "code": code, "pre": _hidden(asked.text, "pre")}
    )
    assert done.status_code == 303 and done.headers["location"] == "/queue"
    return http


async def test_a_code_goes_to_the_outbox_and_works_once(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.base_url) as http:
        asked = await _ask(http, CADRE_PHONE)
        assert asked.status_code == 200 and 'name="code"' in asked.text
        row = await site.pool.fetchrow(
            "SELECT petition_id, recipient_role, recipient_id, kind, payload FROM notifications"
            " WHERE kind = 'sign_in_code'"
        )
        assert row["recipient_id"] == CADRE_ID and row["petition_id"] == sessions.SIGN_IN_OUTBOX
        code = await site.sign_in_code(CADRE_ID)
        assert re.fullmatch(r"\d{6}", code)
        stored = await site.pool.fetchval("SELECT code_hash FROM sign_in_codes")
        assert code.encode() not in stored  # only a hash is kept
        pre = _hidden(asked.text, "pre")
        first = await http.post("/signin/code", data={"login": CADRE_PHONE, "code": code, "pre": pre})
        assert first.status_code == 303
        cookie = first.headers["set-cookie"]
        assert (
            "pf_session=" in cookie
            and "HttpOnly" in cookie
            and "SameSite=lax" in cookie.replace("Lax", "lax")
        )
        assert "Secure" not in cookie  # http here; WebConfig(secure_cookies=True) behind https
        fresh = _hidden((await http.get("/signin")).text, "pre")  # signing in spent the old one
        again = await http.post("/signin/code", data={"login": CADRE_PHONE, "code": code, "pre": fresh})
        assert again.status_code == 401 and "验证码错误或已过期" in again.text


async def test_unknown_logins_get_the_same_answer_and_no_code(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.base_url) as http:
        asked = await _ask(http, "+86 138 9999 9999")
        assert asked.status_code == 200 and 'name="code"' in asked.text
    assert await site.pool.fetchval("SELECT count(*) FROM notifications") == 0


async def test_wrong_codes_are_counted_and_then_the_code_is_dead(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.base_url) as http:
        asked = await _ask(http, TOWNSHIP_EMAIL)
        pre = _hidden(asked.text, "pre")
        code = await site.sign_in_code(TOWNSHIP_OFFICIAL)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(sessions.MAX_ATTEMPTS):
            bad = await http.post("/signin/code", data={"login": TOWNSHIP_EMAIL, "code": wrong, "pre": pre})
            assert bad.status_code == 401
        late = await http.post("/signin/code", data={"login": TOWNSHIP_EMAIL, "code": code, "pre": pre})
        assert late.status_code in (401, 429)
        assert "pf_session" not in late.headers.get("set-cookie", "")


async def test_asking_for_codes_is_throttled(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.base_url) as http:
        answers = [(await _ask(http, CADRE_PHONE)).status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]
    assert await site.pool.fetchval("SELECT count(*) FROM notifications") == 5


async def test_sign_in_forms_need_the_pre_session_token(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.base_url) as http:
        forged = await http.post("/signin", data={"login": CADRE_PHONE, "pre": "made-up"})
    assert forged.status_code == 403
    assert await site.pool.fetchval("SELECT count(*) FROM notifications") == 0


async def test_actions_need_the_csrf_token_and_work_without_javascript(site: Site) -> None:
    await filed(site, "p-oh-1")
    http = await _signed_in(site, CADRE_PHONE, CADRE_ID)
    try:
        page = await http.get("/o/p-oh-1")
        assert page.status_code == 200
        forged = await http.post("/o/p-oh-1/acknowledge", data={"csrf": "wrong"})
        assert forged.status_code == 403
        assert await site.pool.fetchval("SELECT count(*) FROM events WHERE petition_id = 'p-oh-1'") == 1
        done = await http.post("/o/p-oh-1/acknowledge", data={"csrf": _hidden(page.text, "csrf")})
        assert done.status_code == 303 and done.headers["location"] == "/o/p-oh-1?done=acknowledge"
        after = await http.get(done.headers["location"])
        assert 'id="stage">研判<' in after.text
        empty = await http.post(
            "/o/p-oh-1/resolve", data={"csrf": _hidden(page.text, "csrf"), "outcome": "resolved"}
        )
        assert empty.status_code == 422 and "公开答复：必须填写" in empty.text

        out = await http.post("/signout", data={"csrf": _hidden(page.text, "csrf")})
        assert out.status_code == 303
        assert await site.pool.fetchval("SELECT count(*) FROM web_sessions WHERE revoked_at IS NULL") == 0
        assert (await http.get("/queue")).headers["location"] == "/signin"
    finally:
        await http.aclose()


async def test_a_bearer_token_reads_the_queue_and_acts_without_a_session(site: Site) -> None:
    await filed(site, "p-oh-2")
    headers = await site.bearer(Tier.VILLAGE)
    queue = await site.http.get("/queue", headers=headers)
    assert queue.status_code == 200 and "p-oh-2" in queue.text
    done = await site.http.post("/o/p-oh-2/acknowledge", headers=headers, data={})
    assert done.status_code == 303
    refused = await site.http.post("/o/p-oh-2/acknowledge", headers=headers, data={}, params={"lang": "en"})
    assert refused.status_code == 409
    assert "Not done: the petition was already acknowledged at the village tier" in refused.text
    assert (await site.http.get("/queue")).status_code == 303  # no token, no cookie


async def test_a_cadre_files_for_a_household_of_their_village(site: Site) -> None:
    http = await _signed_in(site, CADRE_PHONE, CADRE_ID)
    try:
        form = await http.get("/file")
        assert form.status_code == 200
        csrf = _hidden(form.text, "csrf")
        visit = {
            "household_id": "hh-0042",
            "name": "王芳",
            "category": "water",
            "description": "村东头的水井干了，全组二十户没有饮用水。",
            "urgency": "urgent",
            "csrf": csrf,
        }
        elsewhere = await http.post("/file", data={**visit, "household_id": "hh-0099"})
        assert elsewhere.status_code == 403 and "该户不在您的村" in elsewhere.text, re.findall(
            r"id=\"error\">[^<]*", elsewhere.text
        )
        unknown = await http.post("/file", data={**visit, "household_id": "hh-nobody"})
        assert unknown.status_code == 422 and "名录中没有这个户号" in unknown.text
        filed_ = await http.post("/file", data=visit)
        assert filed_.status_code == 303
        petition_id = filed_.headers["location"].removeprefix("/o/")
        state = await site.petitions.view(petition_id)
        assert state.channel.value == "cadre_visit" and state.petitioner_id == "hh-0042"
        assert state.contact_cadre_id == CADRE_ID and state.urgency.value == "urgent"
        assert state.region.township == "t-xiazhuang" and state.category == "water"
        page = await http.get(filed_.headers["location"])
        assert "村东头的水井干了" in page.text and "+86 139 0000 0042" in page.text
    finally:
        await http.aclose()


async def test_behind_https_the_session_cookie_is_secure(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.base_url) as http:
        asked = await _ask(http, CADRE_PHONE)  # over http: a Secure pre-session cookie would not come back
        site.app.state.web.config = dataclasses.replace(site.app.state.web.config, secure_cookies=True)
        done = await http.post(
            "/signin/code",
            data={
                "login": CADRE_PHONE,
                "code": await site.sign_in_code(CADRE_ID),
                "pre": _hidden(asked.text, "pre"),
            },
        )
    cookie = next(
        v for k, v in done.headers.multi_items() if k == "set-cookie" and v.startswith("pf_session=")
    )
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_the_cli_marks_cookies_secure_when_the_public_address_is_https() -> None:
    settings = Settings(timezone="Asia/Urumqi", link_secret="s", web_session_hours=2)
    config = web_config(settings, public_base_url="https://xinfang.example.gov.cn")
    assert config.secure_cookies and config.timezone == "Asia/Urumqi" and config.link_secret == "s"
    assert config.session_ttl.total_seconds() == 7200
    assert not web_config(settings, public_base_url="http://127.0.0.1:8000").secure_cookies


async def test_assess_escalate_and_the_reason_the_rules_require(site: Site) -> None:
    await filed(site, "p-oh-3")
    headers = await site.bearer(Tier.VILLAGE)
    assert (await site.http.post("/o/p-oh-3/acknowledge", headers=headers, data={})).status_code == 303
    page = await site.http.get("/o/p-oh-3", headers=headers)
    assert page.headers["cache-control"] == "no-store"
    assert 'id="form-assess"' in page.text and 'id="form-escalate"' in page.text
    no_reason = await site.http.post("/o/p-oh-3/assess", headers=headers, data={"decision": "beyond_tier"})
    assert no_reason.status_code == 422
    assert "未能办理：研判为“超出本级权限”须写明理由" in no_reason.text
    moved = await site.http.post(
        "/o/p-oh-3/assess", headers=headers, data={"decision": "beyond_tier", "reason": "涉及跨村水源调配"}
    )
    assert moved.status_code == 303
    state = await site.petitions.view("p-oh-3")
    assert state.tier is Tier.TOWNSHIP and state.stage.value == "collect"
    queue = await site.http.get("/queue", headers=headers)
    assert "p-oh-3" not in queue.text
    township = await site.http.get("/queue", headers=await site.bearer(Tier.TOWNSHIP))
    assert "p-oh-3" in township.text


async def test_an_official_of_another_region_finds_no_such_petition(site: Site) -> None:
    """As the API answers (``lifecycle.may_know``): the page of a petition outside the official's
    region is not there, and its text is not shown."""
    await filed(site, "p-elsewhere")
    await site.pool.execute(
        "INSERT INTO directory_offices (version, office_id, kind, tier, region_id, name_zh, name_en)"
        " VALUES (1, 'o-shangzhuang', 'territorial', 'township', $1, '上庄镇政府', 'Shangzhuang')",
        OTHER_REGION.township,
    )
    await site.pool.execute(
        "INSERT INTO directory_people (version, person_id, name, role, office_id)"
        " VALUES (1, 'far-official', '王镇长', 'official', 'o-shangzhuang')"
    )
    far = await site.token(Actor.official("far-official", Tier.TOWNSHIP, OTHER_REGION.township))
    page = await site.http.get("/o/p-elsewhere", headers=far)
    assert page.status_code == 404 and "<h1>未找到</h1>" in page.text
    assert "bridge" not in page.text.lower()
    near = await site.http.get("/o/p-elsewhere", headers=await site.bearer(Tier.VILLAGE))
    assert near.status_code == 200
