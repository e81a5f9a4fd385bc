"""The dispatch forms of the officials' petition page over plain HTTP (issue 12 on the pages of
issue 15): a centre dispatches a petition filed through it to an office of its area, picked from the
directory; the receiving office signs for it or sends it back with a reason; a holding office
summons another and that office answers with its part. Each form shows only to the office it is
for; the rules still decide, and their refusals read in Chinese."""

from __future__ import annotations

import re

import httpx

from schemas.common import Stage, Tier
from tests.factories import contact_cadre, filing_body
from tests.web.conftest import CENTRE_DESK, CENTRE_ID, CENTRE_PHONE, WATER_DESK, WATER_ID, Site
from tests.web.seed import filed_at_centre
from tests.web.test_officials_http import _hidden, _signed_in


def _options(html: str) -> list[str]:
    select = re.search(r'<select id="dispatch-office" name="office_id"[^>]*>(.*?)</select>', html, re.S)
    assert select, "no dispatch form"
    return re.findall(r'<option value="([^"]+)">', select.group(1))


async def _events(site: Site, petition_id: str) -> list[str]:
    rows = await site.pool.fetch("SELECT type FROM events WHERE petition_id = $1 ORDER BY seq", petition_id)
    return [r["type"] for r in rows]


async def _dispatch(site: Site, petition_id: str, office_id: str) -> None:
    done = await site.http.post(
        f"/o/{petition_id}/dispatch", headers=await site.token(CENTRE_DESK), data={"office_id": office_id}
    )
    assert done.status_code == 303, done.text


async def test_a_centre_official_dispatches_to_a_township_that_signs_for_it(site: Site) -> None:
    await filed_at_centre(site, "p-wd-1")
    centre = await site.token(CENTRE_DESK)
    county = await site.bearer(Tier.COUNTY)  # the county government: not the centre
    assert "p-wd-1" in (await site.http.get("/queue", headers=centre)).text
    assert "p-wd-1" not in (await site.http.get("/queue", headers=county)).text
    assert 'id="form-dispatch"' not in (await site.http.get("/o/p-wd-1", headers=county)).text

    page = await site.http.get("/o/p-wd-1", headers=centre)
    assert page.status_code == 200 and 'id="stage">待派单<' in page.text
    assert 'id="held-by">沂水县12345热线<' in page.text
    # The centre's area on the petition's path, from the directory: not the centre, not the city.
    assert _options(page.text) == ["o-yishui", WATER_ID, "o-xiazhuang", "o-dongshan"]
    assert "夏庄镇政府 · 属地政府" in page.text and "沂水县水利局 · 职能部门" in page.text
    assert 'id="form-acknowledge"' not in page.text and 'id="form-sign_for"' not in page.text
    english = await site.http.get("/o/p-wd-1", headers=centre, params={"lang": "en"})
    assert "Xiazhuang government · government" in english.text
    site.http.cookies.clear()  # the language switch set a cookie: back to Chinese

    unknown = await site.http.post("/o/p-wd-1/dispatch", headers=centre, data={"office_id": "o-nowhere"})
    assert unknown.status_code == 422 and "承办单位：名录中没有这个单位" in unknown.text
    await _dispatch(site, "p-wd-1", "o-xiazhuang")
    state = await site.petitions.view("p-wd-1")
    assert state.stage is Stage.SIGN_FOR and state.office is not None
    assert (state.office.office_id, state.office.name) == ("o-xiazhuang", "夏庄镇政府")
    assert [o.office_id for o in state.chain] == ["o-yishui", "o-linyi"]

    township = await site.bearer(Tier.TOWNSHIP)
    await site.stored("p-wd-1", state.seq)
    assert "p-wd-1" in (await site.http.get("/queue", headers=township)).text
    assert "p-wd-1" not in (await site.http.get("/queue", headers=centre)).text
    theirs = await site.http.get("/o/p-wd-1", headers=township)
    assert 'id="form-sign_for"' in theirs.text and 'id="form-send_back"' in theirs.text
    assert 'id="form-dispatch"' not in theirs.text and "派单 → 夏庄镇政府" in theirs.text
    assert 'id="form-sign_for"' not in (await site.http.get("/o/p-wd-1", headers=centre)).text

    signed = await site.http.post("/o/p-wd-1/sign_for", headers=township, data={"note": "属我镇办理"})
    assert signed.status_code == 303 and signed.headers["location"] == "/o/p-wd-1?done=sign_for"
    after = await site.http.get(signed.headers["location"], headers=township)
    assert 'id="stage">研判<' in after.text and "已完成：签收。" in after.text.replace(" ", "")
    assert 'id="form-assess"' in after.text and 'id="form-summon"' in after.text
    assert await _events(site, "p-wd-1") == ["PetitionFiled", "IntakeOpened", "Dispatched", "SignedFor"]


async def test_a_send_back_needs_its_reason_and_returns_the_petition_to_the_centre(site: Site) -> None:
    await filed_at_centre(site, "p-wd-2")
    await _dispatch(site, "p-wd-2", WATER_ID)
    water = await site.token(WATER_DESK)
    county = await site.bearer(Tier.COUNTY)

    page = await site.http.get("/o/p-wd-2", headers=water)
    assert 'id="form-send_back"' in page.text and "退单理由（中心可见）" in page.text
    no_reason = await site.http.post("/o/p-wd-2/send_back", headers=water, data={"reason": "  "})
    assert no_reason.status_code == 422 and "理由：必须填写" in no_reason.text
    # The rules decide: the county government may not sign for the water bureau's petition.
    refused = await site.http.post("/o/p-wd-2/sign_for", headers=county, data={})
    assert refused.status_code == 403
    assert "未能办理：该件由其他部门或单位承办，您所在单位不能办理" in refused.text
    assert await _events(site, "p-wd-2") == ["PetitionFiled", "IntakeOpened", "Dispatched"]

    back = await site.http.post(
        "/o/p-wd-2/send_back", headers=water, data={"reason": "桥梁属交通部门管养，不属水利"}
    )
    assert back.status_code == 303
    state = await site.petitions.view("p-wd-2")
    assert state.stage is Stage.DISPATCH and state.office is not None and state.office.office_id == CENTRE_ID
    assert state.send_backs == 1
    centre = await site.http.get("/o/p-wd-2", headers=await site.token(CENTRE_DESK))
    assert 'id="form-dispatch"' in centre.text and 'id="send-backs">1 次<' in centre.text
    assert "退单 → 沂水县12345热线" in centre.text and "桥梁属交通部门管养，不属水利" in centre.text
    assert await _events(site, "p-wd-2") == ["PetitionFiled", "IntakeOpened", "Dispatched", "SentBack"]


async def test_a_summons_is_made_and_answered_with_the_helpers_part(site: Site) -> None:
    await filed_at_centre(site, "p-wd-3")
    await _dispatch(site, "p-wd-3", "o-xiazhuang")
    township = await site.bearer(Tier.TOWNSHIP)
    assert (await site.http.post("/o/p-wd-3/sign_for", headers=township, data={})).status_code == 303

    page = await site.http.get("/o/p-wd-3", headers=township)
    boxes = re.findall(r'name="office_ids" value="([^"]+)"', page.text)
    assert boxes == ["o-linyi", "o-yishui", WATER_ID, "o-dongshan"]  # not itself, no centre
    assert "各单位须在 30 分钟 内报到。" in page.text
    none = await site.http.post("/o/p-wd-3/summon", headers=township, data={"note": "x"})
    assert none.status_code == 422 and "协办单位：至少选择一项" in none.text
    summoned = await site.http.post(
        "/o/p-wd-3/summon", headers=township, data={"office_ids": [WATER_ID], "note": "请派员查看桥下河道"}
    )
    assert summoned.status_code == 303
    state = await site.petitions.view("p-wd-3")
    assert [(s.office.office_id, s.answered_at) for s in state.summons] == [(WATER_ID, None)]
    await site.stored("p-wd-3", state.seq)

    water = await site.token(WATER_DESK)
    queue = await site.http.get("/queue", headers=water)
    assert '<p class="lead">沂水县水利局' in queue.text, "a department's queue is headed with its name"
    helping = re.search(r'<ol class="cards queue" id="helping".*?</ol>', queue.text, re.S)
    assert helping and "p-wd-3" in helping.group(0)
    theirs = await site.http.get("/o/p-wd-3", headers=water)
    assert 'id="form-answer_summons"' in theirs.text and 'id="form-summon"' not in theirs.text
    empty = await site.http.post("/o/p-wd-3/answer_summons", headers=water, data={})
    assert empty.status_code == 422 and "协办内容：必须填写" in empty.text
    answered = await site.http.post(
        "/o/p-wd-3/answer_summons", headers=water, data={"part": "已派员清理河道，桥墩无冲刷"}
    )
    assert answered.status_code == 303
    state = await site.petitions.view("p-wd-3")
    assert state.summons[0].answered_at is not None
    await site.stored("p-wd-3", state.seq)
    after = await site.http.get("/o/p-wd-3", headers=township)
    assert "已派员清理河道，桥墩无冲刷" in after.text and "沂水县水利局: 已于" in after.text
    assert "p-wd-3" not in (await site.http.get("/queue", headers=water)).text
    assert (await _events(site, "p-wd-3"))[-2:] == ["Summoned", "SummonsAnswered"]


async def test_a_centre_official_signed_in_with_a_code_acts_for_the_centre(site: Site) -> None:
    """The session carries the office the roster gives its person: the centre's desk is not the
    county government, which may not dispatch what the centre holds."""
    await filed_at_centre(site, "p-wd-4")
    http = await _signed_in(site, CENTRE_PHONE, CENTRE_DESK.id)
    try:
        assert "p-wd-4" in (await http.get("/queue")).text
        page = await http.get("/o/p-wd-4")
        assert 'id="form-dispatch"' in page.text
        done = await http.post(
            "/o/p-wd-4/dispatch", data={"csrf": _hidden(page.text, "csrf"), "office_id": "o-xiazhuang"}
        )
        assert done.status_code == 303
    finally:
        await http.aclose()
    dispatched = await site.pool.fetchrow(
        "SELECT actor->>'office_id' AS office_id, actor->>'id' AS id FROM events"
        " WHERE petition_id = 'p-wd-4' AND type = 'Dispatched'"
    )
    assert (dispatched["id"], dispatched["office_id"]) == (CENTRE_DESK.id, CENTRE_ID)


async def test_a_recused_cadre_cannot_open_the_complaint_about_them(site: Site) -> None:
    body = {**filing_body("p-wd-5"), "about": "contact_cadre"}
    body.pop("tier", None)
    filed = await site.http.post("/v1/petitions", json=body, headers={"X-API-Key": site.service_key})
    assert filed.status_code == 201, filed.text
    await site.stored("p-wd-5", 2)
    cadre = await site.token(contact_cadre())
    hidden = await site.http.get("/o/p-wd-5", headers=cadre)
    assert hidden.status_code == 404 and "<h1>未找到</h1>" in hidden.text and "east lane" not in hidden.text
    assert "p-wd-5" not in (await site.http.get("/queue", headers=cadre)).text
    township = await site.http.get("/o/p-wd-5", headers=await site.bearer(Tier.TOWNSHIP))
    assert township.status_code == 200 and 'id="held-by">夏庄镇政府<' in township.text


async def test_a_session_holds_only_while_the_roster_lists_its_person_at_its_office(site: Site) -> None:
    """The session fixes the office at sign-in; a person the roster then drops, or moves, is not
    the county government by default: they sign in again (and are refused if still not listed)."""
    http = await _signed_in(site, CENTRE_PHONE, CENTRE_DESK.id)
    try:
        assert (await http.get("/queue")).status_code == 200
        stored = await site.pool.fetchval(
            "SELECT office_id FROM web_sessions WHERE actor_id = $1", CENTRE_DESK.id
        )
        assert stored == CENTRE_ID

        await site.pool.execute(  # moved to the county government's own office
            "UPDATE directory_people SET office_id = 'o-yishui' WHERE person_id = $1", CENTRE_DESK.id
        )
        moved = await http.get("/queue")
        assert (moved.status_code, moved.headers["location"]) == (303, "/signin")

        await site.pool.execute("DELETE FROM directory_people WHERE person_id = $1", CENTRE_DESK.id)
        gone = await http.get("/o/p-none")
        assert (gone.status_code, gone.headers["location"]) == (303, "/signin")
    finally:
        await http.aclose()


async def test_a_token_of_someone_the_roster_no_longer_lists_opens_no_session(site: Site) -> None:
    """A token issued while the roster listed its person, who is gone since (as if the import that
    dropped them had not revoked it): the pages open no session for it, not even as the government."""
    token = (await site.token(WATER_DESK))["Authorization"].removeprefix("Bearer ")
    await site.pool.execute("DELETE FROM directory_people WHERE person_id = $1", WATER_DESK.id)
    async with httpx.AsyncClient(base_url=site.base_url) as http:
        page = await http.get("/signin")
        answer = await http.post("/signin/token", data={"token": token, "pre": _hidden(page.text, "pre")})
        assert answer.status_code == 403 and "县里的人员名册中没有您在该单位的记录" in answer.text
        assert "pf_session" not in answer.cookies
        assert (await http.get("/queue")).status_code == 303
    live = await site.pool.fetchval(
        "SELECT count(*) FROM web_sessions WHERE actor_id = $1 AND revoked_at IS NULL", WATER_DESK.id
    )
    assert live == 0
