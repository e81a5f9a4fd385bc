"""The wrong person in every position: reads scoped to jurisdiction and to the filing service, the
personal fields only to the office holding the petition (and logged), and households that must prove
who they are, by link token, SMS reply code or hotline callback, with guesses throttled."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from petitionflow import proofs
from petitionflow.api import create_app
from petitionflow.api.petitioner import ProofConfig
from petitionflow.cli import app as cli_app
from schemas.common import Actor, Role, Tier
from store import auth
from tests.api.conftest import Api
from tests.factories import OTHER_REGION, PETITIONER_ID, REGION, filing, filing_body, official

NOT_FOUND = {"error": {"code": "not_found", "reason": "no petition {} was filed"}}


def _missing(petition_id: str) -> dict[str, Any]:
    return {"error": {**NOT_FOUND["error"], "reason": f"no petition {petition_id} was filed"}}


async def _file(api: Api, petition_id: str, headers: dict[str, str] | None = None) -> None:
    body = filing_body(petition_id)
    response = await api.http.post("/v1/petitions", json=body, headers=headers or api.service)
    assert response.status_code == 201, response.text
    await api.stored(petition_id, 1)


async def _answered(api: Api, petition_id: str) -> None:
    """Acknowledged, accepted and resolved by the village: waiting for the petitioner's rating."""
    village = await api.official(Tier.VILLAGE)
    for verb, body in (
        ("acknowledge", {}),
        ("assess", {"decision": "accept"}),
        ("resolve", {"outcome": "resolved", "public_summary": "The bridge was rebuilt."}),
    ):
        done = await api.http.post(f"/v1/petitions/{petition_id}/actions/{verb}", json=body, headers=village)
        assert done.status_code == 200, done.text


async def _actors(api: Api, petition_id: str, event_type: str) -> list[dict[str, Any]]:
    rows = await api.pool.fetch(
        "SELECT actor::text FROM events WHERE petition_id = $1 AND type = $2 ORDER BY seq",
        petition_id,
        event_type,
    )
    return [json.loads(r["actor"]) for r in rows]


async def _access_log(api: Api, petition_id: str) -> list[tuple[str, str, list[str]]]:
    rows = await api.pool.fetch(
        "SELECT reader_role, reader_id, fields FROM access_log WHERE petition_id = $1 ORDER BY id",
        petition_id,
    )
    return [(r["reader_role"], r["reader_id"], list(r["fields"])) for r in rows]


@pytest.fixture
async def strict(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """The same servers behind an app allowing only 3 attempts at proving a petitioner per window."""
    app = create_app(
        temporal_client=api.env.client,
        pool=api.pool,
        proofs=ProofConfig(secret=api.link_secret, guesses=3, guess_window_seconds=600),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://strict.test"
    ) as http:
        yield http


# ------------------------------------------------------------------------------------------ reads


async def test_an_official_of_another_county_is_told_the_petition_does_not_exist(api: Api) -> None:
    await _file(api, "s-1")
    elsewhere = await api.official(Tier.COUNTY, region=OTHER_REGION)
    other_village = await api.official(Tier.VILLAGE, region=OTHER_REGION)

    read = await api.http.get("/v1/petitions/s-1", headers=elsewhere)
    listed = await api.http.get("/v1/petitions", headers=elsewhere)
    by_region = await api.http.get("/v1/petitions", params={"region": REGION.county}, headers=elsewhere)
    village_read = await api.http.get("/v1/petitions/s-1", headers=other_village)
    never_filed = await api.http.get("/v1/petitions/s-404", headers=elsewhere)

    assert (read.status_code, read.json()) == (404, _missing("s-1"))
    assert (village_read.status_code, village_read.json()) == (404, _missing("s-1"))
    assert (never_filed.status_code, never_filed.json()) == (404, _missing("s-404")), "the same answer"
    assert listed.json() == by_region.json() == {"items": [], "next_after": None}
    assert await _access_log(api, "s-1") == []


async def test_offices_above_read_the_petition_without_its_text_and_the_holding_office_with_it(
    api: Api,
) -> None:
    await _file(api, "s-2")
    village = await api.official(Tier.VILLAGE)
    township = await api.official(Tier.TOWNSHIP)
    county = await api.official(Tier.COUNTY)
    cadre = await api.token(Actor.contact_cadre("cadre-zhang", REGION.village))

    holding = (await api.http.get("/v1/petitions/s-2", headers=village)).json()
    above = [(await api.http.get("/v1/petitions/s-2", headers=h)).json() for h in (township, county)]
    by_cadre = (await api.http.get("/v1/petitions/s-2", headers=cadre)).json()
    county_list = (await api.http.get("/v1/petitions", headers=county)).json()["items"]

    assert holding["description"].startswith("The bridge on the east lane collapsed")
    assert holding["contact"] == {
        "petitioner_id": PETITIONER_ID,
        "name": "Wang Fang",
        "phone": "+86 139 0000 0042",
        "address": "3 East Lane",
    }
    assert (holding["withheld"], by_cadre["contact"]["name"]) == ([], "Wang Fang")
    for view in [*above, county_list[0]["state"]]:
        assert (view["petition_id"], view["tier"], view["stage"]) == ("s-2", "village", "collect")
        assert (view["description"], view["petitioner_id"], view["contact"]) == (None, None, None)
        assert view["withheld"] == ["description", "info_question", "petitioner_id", "contact"]
    assert [i["petition_id"] for i in county_list] == ["s-2"]
    assert await _access_log(api, "s-2") == [
        ("official", "village-official", ["description", "info_question", "petitioner_id", "contact"]),
        ("contact_cadre", "cadre-zhang", ["description", "info_question", "petitioner_id", "contact"]),
    ]


async def test_after_an_escalation_the_text_goes_to_the_township_and_no_longer_to_the_village(
    api: Api,
) -> None:
    await _file(api, "s-3")
    village = await api.official(Tier.VILLAGE)
    township = await api.official(Tier.TOWNSHIP)
    escalated = await api.http.post(
        "/v1/petitions/s-3/actions/escalate", json={"reason": "beyond the village"}, headers=village
    )
    assert escalated.status_code == 200, escalated.text
    await api.stored("s-3", escalated.json()["seq"])

    by_village = (await api.http.get("/v1/petitions/s-3", headers=village)).json()
    by_township = (await api.http.get("/v1/petitions/s-3", headers=township)).json()
    listed = (await api.http.get("/v1/petitions", headers=township)).json()["items"]

    assert (by_village["tier"], by_village["description"]) == ("township", None)
    assert by_township["description"] is not None and by_township["contact"]["name"] == "Wang Fang"
    assert listed[0]["state"]["description"] is not None
    assert [(role, who) for role, who, _ in await _access_log(api, "s-3")] == [
        ("official", "township-official"),
        ("official", "township-official"),
    ]


async def test_a_service_reads_only_what_it_filed(api: Api) -> None:
    await _file(api, "s-4")
    other_key = await auth.issue_api_key(api.pool, "web-form")
    other = {"X-API-Key": other_key}
    await api.petitions.file(filing("s-unowned"))  # no owner recorded, as before migration 006
    await api.stored("s-unowned", 1)

    mine = await api.http.get("/v1/petitions/s-4", headers=api.service)
    theirs = await api.http.get("/v1/petitions/s-4", headers=other)
    unowned = await api.http.get("/v1/petitions/s-unowned", headers=api.service)
    listed_by_other = await api.http.get("/v1/petitions", headers=other)
    listed_by_owner = await api.http.get("/v1/petitions", headers=api.service)
    link_by_other = await api.http.post("/v1/petitions/s-4/petitioner-link", headers=other)

    assert mine.status_code == 200
    refiled = await api.http.post("/v1/petitions", json=filing_body("s-4"), headers=api.service)
    assert (refiled.json()["created"], refiled.json()["petition"]["description"]) == (False, None)
    assert (mine.json()["description"], mine.json()["withheld"][0]) == (None, "description")
    assert (theirs.status_code, theirs.json()) == (404, _missing("s-4"))
    assert (unowned.status_code, unowned.json()) == (404, _missing("s-unowned"))
    assert listed_by_other.json() == {"items": [], "next_after": None}
    assert [i["petition_id"] for i in listed_by_owner.json()["items"]] == ["s-4"]
    assert (link_by_other.status_code, link_by_other.json()) == (404, _missing("s-4"))


# -------------------------------------------------------------------------------- petitioners act


async def test_a_service_key_alone_does_not_act_for_a_household(api: Api) -> None:
    await _file(api, "s-5")
    await _answered(api, "s-5")
    rate = {"petitioner_id": PETITIONER_ID, "rating": "satisfied"}
    callback_key = await auth.issue_api_key(api.pool, "hotline-12345", callback=True)

    plain = await api.http.post("/v1/petitions/s-5/actions/rate", json=rate, headers=api.service)
    operator_without_permission = await api.http.post(
        "/v1/petitions/s-5/actions/withdraw",
        json={"petitioner_id": PETITIONER_ID},
        headers={**api.service, "X-Callback-Operator": "operator-liu"},
    )
    permission_without_operator = await api.http.post(
        "/v1/petitions/s-5/actions/rate", json=rate, headers={"X-API-Key": callback_key}
    )

    for refused in (plain, operator_without_permission, permission_without_operator):
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "petitioner_proof_required"
    assert "link token (X-Petitioner-Token)" in plain.json()["error"]["reason"]
    assert (await api.petitions.view("s-5")).stage == "feedback"
    assert await _actors(api, "s-5", "FeedbackReceived") == []


async def test_wrong_expired_and_borrowed_link_tokens_and_a_wrong_id_answer_alike(api: Api) -> None:
    await _file(api, "s-6")
    await _file(api, "s-6b")
    await _answered(api, "s-6")
    rate = {"petitioner_id": PETITIONER_ID, "rating": "satisfied"}
    stale = proofs.issue_link(
        api.link_secret, "s-6", PETITIONER_ID, now=datetime.now(UTC) - timedelta(days=31)
    )
    attempts = {
        "forged": {
            "X-Petitioner-Token": proofs.issue_link("not-the-secret-0000000000000", "s-6", PETITIONER_ID)
        },
        "expired": {"X-Petitioner-Token": stale},
        "another petition's": await api.household("s-6b"),
        "garbage": {"X-Petitioner-Token": "guess"},
    }

    answers = {
        what: await api.http.post("/v1/petitions/s-6/actions/rate", json=rate, headers=headers)
        for what, headers in attempts.items()
    }
    wrong_id = await api.http.post(
        "/v1/petitions/s-6/actions/rate",
        json={**rate, "petitioner_id": "hh-9999"},
        headers=api.link("s-6", "hh-9999"),
    )

    bodies = {(a.status_code, a.text) for a in [*answers.values(), wrong_id]}
    assert len(bodies) == 1, "no answer tells a guesser what was wrong"
    [(status, text)] = bodies
    assert (status, json.loads(text)["error"]["code"]) == (403, "petitioner_unproven")
    assert (await api.petitions.view("s-6")).stage == "feedback"


async def test_a_household_rates_by_link_token_and_the_event_names_the_proof(api: Api) -> None:
    await _file(api, "s-7")
    await _answered(api, "s-7")

    rated = await api.http.post(
        "/v1/petitions/s-7/actions/rate",
        json={"petitioner_id": PETITIONER_ID, "rating": "basically_satisfied"},
        headers={**await api.household("s-7"), **api.service},
    )

    assert rated.status_code == 200, rated.text
    assert rated.json()["description"].startswith("The bridge"), "the household reads its own petition"
    assert rated.json()["withheld"] == ["contact"]
    await api.stored("s-7", rated.json()["seq"])
    assert await _actors(api, "s-7", "FeedbackReceived") == [
        {
            "role": "petitioner",
            "id": PETITIONER_ID,
            "tier": None,
            "region_id": None,
            "relay": {"proof": "link", "service": "hotline", "operator": None},
        }
    ]
    verified = await api.http.get("/v1/audit/petitions/s-7/verify", headers=await api.auditor())
    assert verified.json()["ok"] is True, "replay, chain and fold agree with the relay recorded"


async def test_a_household_reads_its_own_petition_by_link_token_and_nothing_else(api: Api) -> None:
    await _file(api, "s-15")
    await _file(api, "s-15b")
    household = await api.household("s-15")

    own = await api.http.get("/v1/petitions/s-15/as-petitioner", headers=household)
    other = await api.http.get("/v1/petitions/s-15b/as-petitioner", headers=household)
    missing = await api.http.get("/v1/petitions/s-404/as-petitioner", headers=api.link("s-404"))
    none = await api.http.get("/v1/petitions/s-15/as-petitioner")

    assert own.status_code == 200, own.text
    assert (own.json()["petition_id"], own.json()["petitioner_id"]) == ("s-15", PETITIONER_ID)
    assert own.json()["description"].startswith("The bridge") and own.json()["contact"] is None
    assert other.status_code == missing.status_code == 403
    assert other.json() == missing.json(), "a token for a petition that does not exist answers alike"
    assert none.status_code == 401


async def test_guesses_at_a_petitions_link_are_throttled_and_then_even_a_good_one_waits(
    api: Api, strict: httpx.AsyncClient
) -> None:
    await _file(api, "s-8")
    await _answered(api, "s-8")
    rate = {"petitioner_id": PETITIONER_ID, "rating": "satisfied"}

    guesses = [
        (
            await strict.post(
                "/v1/petitions/s-8/actions/rate", json=rate, headers={"X-Petitioner-Token": f"g{n}"}
            )
        )
        for n in range(3)
    ]
    good = await strict.post("/v1/petitions/s-8/actions/rate", json=rate, headers=api.link("s-8"))

    assert [g.status_code for g in guesses] == [403, 403, 403]
    assert good.status_code == 429
    assert good.json()["error"]["code"] == "rate_limited"
    assert "to prove a petitioner for this petition: at most 3 in 600 s" in good.json()["error"]["reason"]
    assert 0 < int(good.headers["retry-after"]) <= 600
    assert (await api.petitions.view("s-8")).stage == "feedback"


async def test_a_hotline_callback_is_recorded_with_its_operator_and_service(api: Api) -> None:
    await _file(api, "s-9")
    await _answered(api, "s-9")
    callback = await api.callback_service("hotline-12345")

    wrong_household = await api.http.post(
        "/v1/petitions/s-9/actions/rate",
        json={"petitioner_id": "hh-9999", "rating": "satisfied"},
        headers=callback,
    )
    rated = await api.http.post(
        "/v1/petitions/s-9/actions/rate",
        json={"petitioner_id": PETITIONER_ID, "rating": "dissatisfied"},
        headers=callback,
    )

    assert (wrong_household.status_code, wrong_household.json()["error"]["code"]) == (
        403,
        "petitioner_unproven",
    )
    assert rated.status_code == 200, rated.text
    assert (rated.json()["description"], rated.json()["petitioner_id"]) == (None, None), "a service's answer"
    await api.stored("s-9", rated.json()["seq"])
    [actor] = await _actors(api, "s-9", "FeedbackReceived")
    assert actor["relay"] == {"proof": "callback", "service": "hotline-12345", "operator": "operator-liu"}


async def test_an_sms_reply_code_rates_once_from_the_phone_on_record(api: Api) -> None:
    await _file(api, "s-10")
    await _answered(api, "s-10")
    sent = await proofs.issue_answer_proofs(api.pool, api.link_secret, "s-10", PETITIONER_ID)
    assert proofs.check_link(api.link_secret, sent.link_token, "s-10") == PETITIONER_ID
    code = sent.reply_code
    wrong = f"{(int(code) + 1) % 10_000:04d}"
    gateway = {"X-API-Key": await auth.issue_api_key(api.pool, "sms-gateway")}

    no_key = await api.http.post("/v1/sms/inbound", json={"phone": "13900000042", "text": f"{code} 1"})
    wrong_code = await api.http.post(
        "/v1/sms/inbound", json={"phone": "+8613900000042", "text": f"{wrong} 1"}, headers=gateway
    )
    wrong_phone = await api.http.post(
        "/v1/sms/inbound", json={"phone": "13900000099", "text": f"{code} 1"}, headers=gateway
    )
    rated = await api.http.post(
        "/v1/sms/inbound", json={"phone": "+86 139 0000 0042", "text": f"{code}1 满意"}, headers=gateway
    )
    again = await api.http.post(
        "/v1/sms/inbound", json={"phone": "13900000042", "text": f"{code} 3"}, headers=gateway
    )

    assert no_key.status_code == 401
    assert wrong_code.json() == wrong_phone.json() == again.json()
    assert (wrong_code.status_code, wrong_code.json()["error"]["code"]) == (403, "reply_unproven")
    assert (rated.status_code, rated.json()) == (200, {"petition_id": "s-10", "rating": "satisfied"})
    view = await api.petitions.view("s-10")
    assert (view.stage, view.closed_reason) == ("closed", "satisfied")
    await api.stored("s-10", view.seq)
    [actor] = await _actors(api, "s-10", "FeedbackReceived")
    assert actor["relay"] == {"proof": "reply_code", "service": "sms-gateway", "operator": None}
    assert await api.pool.fetchval("SELECT count(*) FROM rate_limits WHERE bucket LIKE '%13900000042%'") == 0


async def test_reply_code_guesses_from_one_phone_are_throttled(api: Api, strict: httpx.AsyncClient) -> None:
    body = filing_body("s-11", petitioner_id="hh-0077")
    body["petitioner"]["phone"] = "+86 139 0000 0077"
    assert (await api.http.post("/v1/petitions", json=body, headers=api.service)).status_code == 201
    await _answered(api, "s-11")
    code = await proofs.issue_reply_code(api.pool, api.link_secret, "s-11", "hh-0077")
    wrong = [c for c in ("0000", "1111", "2222", "3333") if c != code][:3]
    gateway = {"X-API-Key": await auth.issue_api_key(api.pool, "sms-gateway")}

    async def sms(text: str) -> httpx.Response:
        return await strict.post(
            "/v1/sms/inbound", json={"phone": "13900000077", "text": text}, headers=gateway
        )

    guesses = [await sms(f"{c} 1") for c in wrong]
    right = await sms(f"{code} 1")

    assert [g.status_code for g in guesses] == [403, 403, 403]
    assert (right.status_code, right.json()["error"]["code"]) == (429, "rate_limited")
    assert "to prove a petitioner for this phone" in right.json()["error"]["reason"]
    assert (await api.petitions.view("s-11")).stage == "feedback"


# ----------------------------------------------------------------------------------- access log


async def test_auditors_list_and_export_the_access_log_and_others_may_not(api: Api) -> None:
    await _file(api, "s-12")
    village = await api.official(Tier.VILLAGE)
    auditor = await api.auditor()
    assert (await api.http.get("/v1/petitions/s-12", headers=village)).status_code == 200
    assert (await api.http.get("/v1/audit/petitions/s-12/timeline", headers=auditor)).status_code == 200

    listed = await api.http.get("/v1/audit/access-log", params={"petition": "s-12"}, headers=auditor)
    exported = await api.http.get(
        "/v1/audit/access-log", params={"petition": "s-12", "format": "csv"}, headers=auditor
    )
    by_official = await api.http.get("/v1/audit/access-log", headers=village)

    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [(i["reader_role"], i["reader_id"], i["reader_tier"], i["fields"], i["route"]) for i in items] == [
        (
            "official",
            "village-official",
            "village",
            ["description", "info_question", "petitioner_id", "contact"],
            "/v1/petitions/s-12",
        ),
        ("auditor", "auditor-li", None, ["events"], "/v1/audit/petitions/s-12/timeline"),
    ]
    assert all(len(i["request_id"]) == 32 for i in items)
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.splitlines()
    assert (
        lines[0]
        == "id,at,reader_role,reader_id,reader_tier,reader_region,service,petition_id,fields,route,request_id"
    )
    assert len(lines) == 3 and ",description info_question petitioner_id contact," in lines[1]
    assert "Wang Fang" not in exported.text and "collapsed" not in exported.text
    assert (by_official.status_code, by_official.json()["error"]["code"]) == (403, "not_an_auditor")


# ------------------------------------------------------------------------------------------- CLI


async def test_the_cli_names_its_operator_adds_callback_keys_and_prints_the_access_log(
    api: Api, database_url: str
) -> None:
    await _file(api, "s-13")
    assert (
        await api.http.get("/v1/petitions/s-13", headers=await api.official(Tier.VILLAGE))
    ).status_code == 200
    env = {
        "PETITIONFLOW_TEMPORAL_ADDRESS": api.env.client.service_client.config.target_host,
        "PETITIONFLOW_DATABASE_URL": database_url,
    }
    runner = CliRunner()

    async def cli(*args: str) -> Any:
        return await asyncio.to_thread(runner.invoke, cli_app, list(args), env=env)

    as_village = ["--official", "li", "--tier", "village", "--region", REGION.village]
    anonymous = await cli("act", "s-13", "acknowledge", *as_village)
    named = await cli("act", "s-13", "acknowledge", *as_village, "--operator", "ops-chen", "--json")
    added = await cli("keys", "add", "hotline-12345", "--callback")
    logged = await cli("audit", "access-log", "--petition", "s-13", "--json")

    assert anonymous.exit_code == 2
    assert "--operator NAME is required without --token" in " ".join(anonymous.output.split())
    assert named.exit_code == 0, named.output
    await api.stored("s-13", 2)
    [actor] = await _actors(api, "s-13", "Acknowledged")
    assert actor == {
        **official(Tier.VILLAGE, official_id="li").model_dump(mode="json"),
        "relay": {"proof": "operator", "service": None, "operator": "ops-chen"},
    }
    assert added.exit_code == 0, added.output
    assert "with the callback permission" in " ".join(added.output.split())
    key = await auth.authenticate_service(api.pool, added.output.strip().splitlines()[-1])
    assert key == auth.ServiceKey(name="hotline-12345", tier=Tier.VILLAGE, callback=True)
    assert logged.exit_code == 0, logged.output
    assert [(r["reader_id"], r["petition_id"]) for r in json.loads(logged.stdout)] == [
        ("village-official", "s-13")
    ]


def test_an_auditor_actor_still_serializes_without_a_relay() -> None:
    """Actors recorded before ``relay`` existed hash and replay as they were written."""
    assert Actor(role=Role.AUDITOR, id="a").model_dump(mode="json") == {
        "role": "auditor",
        "id": "a",
        "tier": None,
        "region_id": None,
    }


# ------------------------------------------------------------------------- nothing personal outside


async def test_a_petition_id_carrying_the_phone_or_name_is_refused_it_would_be_the_workflow_id(
    api: Api,
) -> None:
    for petition_id, what in (("hl-139-0000-0042", "phone number"), ("p-wangfang-1", "name")):
        body = filing_body(petition_id)
        response = await api.http.post("/v1/petitions", json=body, headers=api.service)

        assert response.status_code == 422, response.text
        [problem] = response.json()["error"]["fields"]
        assert (problem["location"], problem["path"]) == ("body", "petition_id")
        assert f"must not contain the petitioner's {what}" in problem["reason"]
        assert not await api.exists(petition_id)


async def test_search_attributes_and_memo_hold_nothing_personal(api: Api) -> None:
    await _file(api, "s-14")
    described = await api.petitions.handle("s-14").describe()

    attributes = {key.name: value for key, value in described.typed_search_attributes}
    ours = {"PetitionTier", "PetitionStage", "PetitionRegion", "PetitionOverdue"}
    assert set(attributes) <= {*ours, "TemporalChangeVersion"}, "the SDK's own: the patches applied"
    assert attributes["PetitionRegion"] == [REGION.village, REGION.township, REGION.county, REGION.city]
    assert await described.memo() == {}
    assert described.id == "petition-s-14"
