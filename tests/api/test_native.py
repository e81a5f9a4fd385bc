"""The native API end to end: services file and act for petitioners, officials act by token, the
rules answer; the public echo wall and figures follow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from schemas.common import Actor, Role, Tier
from tests.api.conftest import Api
from tests.factories import OTHER_REGION, filing_body


def _filing(petition_id: str) -> dict[str, Any]:
    return filing_body(petition_id)


async def _file(api: Api, petition_id: str) -> dict[str, Any]:
    response = await api.http.post("/v1/petitions", json=_filing(petition_id), headers=api.service)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_filing_answers_201_with_the_view_then_200_created_false(api: Api) -> None:
    first = await api.http.post("/v1/petitions", json=_filing("n-1"), headers=api.service)
    again = await api.http.post("/v1/petitions", json=_filing("n-1"), headers=api.service)

    assert first.status_code == 201
    assert first.json()["created"] is True
    petition = first.json()["petition"]
    assert (petition["petition_id"], petition["tier"], petition["stage"], petition["seq"]) == (
        "n-1",
        "village",
        "collect",
        1,
    )
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["petition"]["filed_at"] == petition["filed_at"]
    await api.stored("n-1", 1)
    assert await api.events("n-1") == ["PetitionFiled"]


async def test_filing_needs_a_service_key(api: Api) -> None:
    missing = await api.http.post("/v1/petitions", json=_filing("n-2"))
    wrong = await api.http.post("/v1/petitions", json=_filing("n-2"), headers={"X-API-Key": "guessed"})

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.json() == {
        "error": {"code": "unauthenticated", "reason": "an X-API-Key header is required"}
    }
    assert wrong.json()["error"] == {"code": "unauthenticated", "reason": "the API key is unknown or revoked"}
    assert missing.headers["www-authenticate"] == 'ApiKey realm="petitionflow", header="X-API-Key"'
    assert not await api.exists("n-2")


async def test_each_tier_acts_by_token_and_escalation_moves_who_may_act(api: Api) -> None:
    """The village lets its respond deadline pass: the petition climbs to the township on its own;
    the village official is then refused with the decider's reason, the township official is not."""
    await _file(api, "n-3")
    village = await api.official(Tier.VILLAGE)
    township = await api.official(Tier.TOWNSHIP)

    early = await api.http.post("/v1/petitions/n-3/actions/acknowledge", json={}, headers=township)
    assert early.status_code == 403
    assert early.json() == {
        "error": {
            "code": "wrong_tier",
            "reason": "the petition is at the village tier; township-official, "
            "an official of the township tier, may not acknowledge it",
        }
    }

    await api.env.sleep(timedelta(days=1, hours=1))

    late = await api.http.post("/v1/petitions/n-3/actions/acknowledge", json={}, headers=village)
    assert late.status_code == 403
    assert late.json() == {
        "error": {
            "code": "wrong_tier",
            "reason": "the petition is at the township tier; village-official, "
            "an official of the village tier, may not acknowledge it",
        }
    }
    taken = await api.http.post(
        "/v1/petitions/n-3/actions/acknowledge", json={"note": "Called the household."}, headers=township
    )
    assert taken.status_code == 200, taken.text
    view = taken.json()
    assert (view["tier"], view["stage"], view["acknowledged_by"], view["deadlines_missed"]) == (
        "township",
        "assess",
        "township-official",
        1,
    )
    await api.stored("n-3", view["seq"])
    assert await api.events("n-3") == [
        "PetitionFiled",
        "ReminderDue",
        "ReminderDue",
        "DeadlineMissed",
        "Escalated",
        "Acknowledged",
    ]


async def test_an_official_of_another_region_is_answered_404_as_if_nothing_were_filed(api: Api) -> None:
    """The rules' reason (wrong_region, naming the petition's village) would tell an official of
    another region that the petition exists and where: they get the answer a missing id gets."""
    await _file(api, "n-4")
    elsewhere = await api.official(Tier.VILLAGE, region=OTHER_REGION, official_id="xishan-official")
    above = await api.official(Tier.TOWNSHIP, official_id="xiazhuang-official")

    response = await api.http.post("/v1/petitions/n-4/actions/acknowledge", json={}, headers=elsewhere)
    in_scope = await api.http.post("/v1/petitions/n-4/actions/acknowledge", json={}, headers=above)

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "reason": "no petition n-4 was filed"}}
    assert (in_scope.status_code, in_scope.json()["error"]["code"]) == (403, "wrong_tier")
    assert await api.events("n-4") == ["PetitionFiled"]


async def test_an_auditor_token_cannot_act(api: Api) -> None:
    await _file(api, "n-5")
    auditor = await api.token(Actor(role=Role.AUDITOR, id="auditor-li"))

    response = await api.http.post("/v1/petitions/n-5/actions/acknowledge", json={}, headers=auditor)

    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "not_an_official",
        "reason": "only an official of the village tier may acknowledge; the actor is a auditor",
    }


async def test_wrong_stage_is_409_and_a_missing_reason_is_422(api: Api) -> None:
    await _file(api, "n-6")
    village = await api.official(Tier.VILLAGE)

    resolve_first = await api.http.post(
        "/v1/petitions/n-6/actions/resolve",
        json={"outcome": "resolved", "public_summary": "Fixed."},
        headers=village,
    )
    await api.http.post("/v1/petitions/n-6/actions/acknowledge", json={}, headers=village)
    no_reason = await api.http.post(
        "/v1/petitions/n-6/actions/assess", json={"decision": "beyond_tier"}, headers=village
    )

    assert resolve_first.status_code == 409
    assert resolve_first.json()["error"] == {
        "code": "wrong_stage",
        "reason": "acknowledge the petition before resolving it",
    }
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["code"] == "reason_required"


async def test_the_whole_loop_with_a_rating_by_link_token_and_the_public_boards(api: Api) -> None:
    await _file(api, "n-7")
    village = await api.official(Tier.VILLAGE)
    await api.stored("n-7", 1)
    assert (await api.http.get("/v1/echo-wall")).json() == []
    before = (await api.http.get("/v1/figures")).json()
    assert [(f["group"], f["stints"], f["resolved"], f["rated"]) for f in before] == [("village", 1, 0, 0)]

    for verb, body in (
        ("acknowledge", {}),
        ("assess", {"decision": "accept", "urgency": "urgent", "common_issue": True}),
        ("resolve", {"outcome": "resolved", "public_summary": "The east-lane bridge was rebuilt."}),
    ):
        response = await api.http.post(f"/v1/petitions/n-7/actions/{verb}", json=body, headers=village)
        assert response.status_code == 200, (verb, response.text)

    household = await api.household("n-7")
    not_theirs = await api.http.post(
        "/v1/petitions/n-7/actions/rate",
        json={"petitioner_id": "hh-9999", "rating": "satisfied"},
        headers=household,
    )
    official_cannot_rate = await api.http.post(
        "/v1/petitions/n-7/actions/rate",
        json={"petitioner_id": "hh-0042", "rating": "satisfied"},
        headers=village,
    )
    rated = await api.http.post(
        "/v1/petitions/n-7/actions/rate",
        json={"petitioner_id": "hh-0042", "rating": "satisfied", "comment": "Thank you."},
        headers=household,
    )

    assert not_theirs.status_code == 403
    assert not_theirs.json()["error"]["code"] == "petitioner_unproven"
    assert official_cannot_rate.status_code == 401, "petitioner actions come with a proof"
    assert rated.status_code == 200, rated.text
    view = rated.json()
    assert (view["stage"], view["closed_reason"], view["rating"]) == ("closed", "satisfied", "satisfied")

    await api.stored("n-7", view["seq"])
    wall = (await api.http.get("/v1/echo-wall", params={"region": "t-xiazhuang"})).json()
    assert [(e["petition_id"], e["tier"], e["outcome"], e["public_summary"], e["rating"]) for e in wall] == [
        ("n-7", "village", "resolved", "The east-lane bridge was rebuilt.", "satisfied")
    ]
    text = (await api.http.get("/v1/echo-wall")).text
    for personal in ("Wang Fang", "hh-0042", "0042", "East Lane", "collapsed", "Thank you"):
        assert personal not in text
    assert (await api.http.get("/v1/echo-wall", params={"region": "v-xishan"})).json() == []

    figures = (await api.http.get("/v1/figures", params={"by": "tier"})).json()
    assert [(f["group"], f["stints"], f["resolved"], f["rated"], f["satisfied"]) for f in figures] == [
        ("village", 1, 1, 1, 1)
    ]
    assert figures[0]["satisfaction_rate"] == 1.0
    by_official = (await api.http.get("/v1/figures", params={"by": "official"})).json()
    assert [f["group"] for f in by_official] == ["village-official"]


async def test_reading_a_petition_needs_credentials(api: Api) -> None:
    await _file(api, "n-8")
    auditor = await api.token(Actor(role=Role.AUDITOR, id="auditor-li"))

    anonymous = await api.http.get("/v1/petitions/n-8")
    by_auditor = await api.http.get("/v1/petitions/n-8", headers=auditor)
    by_service = await api.http.get("/v1/petitions/n-8", headers=api.service)
    missing = await api.http.get("/v1/petitions/n-404", headers=auditor)

    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == (
        'Bearer realm="petitionflow", ApiKey realm="petitionflow", header="X-API-Key"'
    )
    assert by_auditor.status_code == by_service.status_code == 200
    assert by_auditor.json()["petitioner_id"] == "hh-0042"
    assert by_auditor.json()["contact"]["name"] == "Wang Fang"
    assert (by_service.json()["petitioner_id"], by_service.json()["description"]) == (None, None)
    assert by_service.json()["withheld"] == ["description", "info_question", "petitioner_id", "contact"]
    assert {
        k: v
        for k, v in by_auditor.json().items()
        if k not in {"description", "petitioner_id", "contact", "withheld"}
    } == {
        k: v
        for k, v in by_service.json().items()
        if k not in {"description", "petitioner_id", "contact", "withheld"}
    }
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "reason": "no petition n-404 was filed"}}


async def test_listing_pages_through_the_read_model_with_filters(api: Api) -> None:
    for petition_id in ("l-1", "l-2", "l-3"):
        await _file(api, petition_id)
        await api.stored(petition_id, 1)
    township = await api.official(Tier.TOWNSHIP)

    first = await api.http.get("/v1/petitions", params={"limit": 2}, headers=township)
    second = await api.http.get(
        "/v1/petitions", params={"limit": 2, "after": first.json()["next_after"]}, headers=township
    )
    filtered = await api.http.get(
        "/v1/petitions", params={"tier": "township", "region": "v-dongshan"}, headers=api.service
    )
    anonymous = await api.http.get("/v1/petitions")
    bad_limit = await api.http.get("/v1/petitions", params={"limit": 0}, headers=township)

    assert [p["petition_id"] for p in first.json()["items"]] == ["l-1", "l-2"]
    assert first.json()["next_after"] == "l-2"
    assert [p["petition_id"] for p in second.json()["items"]] == ["l-3"]
    assert second.json()["next_after"] is None
    assert filtered.json() == {"items": [], "next_after": None}
    assert anonymous.status_code == 401
    assert bad_limit.status_code == 422
    assert bad_limit.json()["error"]["fields"] == [
        {"location": "query", "path": "limit", "reason": "Input should be greater than or equal to 1"}
    ]
