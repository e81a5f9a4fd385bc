"""Bad input is refused with a stable error naming what is wrong, and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.common import Tier
from store import auth
from tests.api.conftest import Api
from tests.factories import filing_body, official


def _filing(petition_id: str, **changes: Any) -> dict[str, Any]:
    return filing_body(petition_id) | changes


async def _filed(api: Api, petition_id: str) -> None:
    response = await api.http.post("/v1/petitions", json=_filing(petition_id), headers=api.service)
    assert response.status_code == 201
    await api.stored(petition_id, 1)


async def test_malformed_json_is_400_and_files_nothing(api: Api) -> None:
    response = await api.http.post(
        "/v1/petitions",
        content=b'{"petition_id": "b-1", ',
        headers={**api.service, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["reason"]) == ("malformed_json", "the request body is not valid JSON")
    assert [(f["location"], f["path"]) for f in error["fields"]] == [("body", "")]
    assert not await api.exists("b-1")


async def test_unknown_fields_are_named_and_file_nothing(api: Api) -> None:
    body = _filing("b-2", priority="high")
    body["petitioner"]["nickname"] = "Fang"

    response = await api.http.post("/v1/petitions", json=body, headers=api.service)

    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "invalid_request",
            "reason": "invalid: body.petitioner.nickname, body.priority",
            "fields": [
                {
                    "location": "body",
                    "path": "petitioner.nickname",
                    "reason": "Extra inputs are not permitted",
                },
                {"location": "body", "path": "priority", "reason": "Extra inputs are not permitted"},
            ],
        }
    }
    assert not await api.exists("b-2")


async def test_a_4001_character_description_is_named_and_files_nothing(api: Api) -> None:
    response = await api.http.post(
        "/v1/petitions", json=_filing("b-3", description="x" * 4001), headers=api.service
    )

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {"location": "body", "path": "description", "reason": "String should have at most 4000 characters"}
    ]
    assert not await api.exists("b-3")
    assert await api.pool.fetchval("SELECT count(*) FROM events") == 0


async def test_wrong_types_name_each_field(api: Api) -> None:
    body = _filing("b-4", urgency="whenever", tier=3)
    body["region"] = "v-dongshan"

    response = await api.http.post("/v1/petitions", json=body, headers=api.service)

    assert response.status_code == 422
    assert [(f["path"], f["reason"]) for f in response.json()["error"]["fields"]] == [
        ("region", "Input should be a valid dictionary or object to extract fields from"),
        ("urgency", "Input should be 'normal' or 'urgent'"),
        ("tier", "Input should be 'village', 'township', 'county' or 'city'"),
    ]
    assert not await api.exists("b-4")


async def test_an_action_body_cannot_name_its_actor(api: Api) -> None:
    """The token fixes who acts: a body claiming another identity is refused, not obeyed."""
    await _filed(api, "b-5")
    village = await api.official(Tier.VILLAGE)
    claimed = official(Tier.VILLAGE, official_id="someone-else").model_dump(mode="json")

    response = await api.http.post(
        "/v1/petitions/b-5/actions/acknowledge", json={"actor": claimed}, headers=village
    )

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {"location": "body", "path": "actor", "reason": "Extra inputs are not permitted"}
    ]
    assert await api.events("b-5") == ["PetitionFiled"]


async def test_a_bad_action_body_changes_nothing(api: Api) -> None:
    await _filed(api, "b-6")
    village = await api.official(Tier.VILLAGE)
    await api.http.post("/v1/petitions/b-6/actions/acknowledge", json={}, headers=village)
    await api.stored("b-6", 2)

    response = await api.http.post(
        "/v1/petitions/b-6/actions/assess",
        json={"decision": "maybe", "common_issue": "often"},
        headers=village,
    )

    assert response.status_code == 422
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["decision", "common_issue"]
    view = (await api.http.get("/v1/petitions/b-6", headers=village)).json()
    assert (view["stage"], view["seq"]) == ("assess", 2)
    assert await api.events("b-6") == ["PetitionFiled", "Acknowledged"]


async def test_acting_on_a_missing_petition_is_404(api: Api) -> None:
    village = await api.official(Tier.VILLAGE)

    official_action = await api.http.post("/v1/petitions/b-404/actions/acknowledge", json={}, headers=village)
    petitioner_action = await api.http.post(
        "/v1/petitions/b-404/actions/withdraw",
        json={"petitioner_id": "hh-0042"},
        headers=await api.callback_service(),
    )

    assert official_action.status_code == petitioner_action.status_code == 404
    assert official_action.json() == {"error": {"code": "not_found", "reason": "no petition b-404 was filed"}}
    assert not await api.exists("b-404")


async def test_a_replayed_update_with_the_same_idempotency_key_is_applied_once(api: Api) -> None:
    await _filed(api, "b-7")
    village = await api.official(Tier.VILLAGE)
    headers = {**village, "Idempotency-Key": "ack-b-7-1"}

    first = await api.http.post("/v1/petitions/b-7/actions/acknowledge", json={}, headers=headers)
    replay = await api.http.post("/v1/petitions/b-7/actions/acknowledge", json={}, headers=headers)
    fresh = await api.http.post("/v1/petitions/b-7/actions/acknowledge", json={}, headers=village)

    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json()
    assert fresh.status_code == 409, "without the key it is a second acknowledgement, which the rules refuse"
    assert fresh.json()["error"] == {
        "code": "wrong_stage",
        "reason": "the petition was already acknowledged at the village tier",
    }
    await api.stored("b-7", 2)
    assert await api.events("b-7") == ["PetitionFiled", "Acknowledged"]


async def test_an_expired_token_is_401_and_changes_nothing(api: Api) -> None:
    await _filed(api, "b-8")
    token = await auth.issue_token(
        api.pool, official(Tier.VILLAGE), expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )

    response = await api.http.post(
        "/v1/petitions/b-8/actions/acknowledge", json={}, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="petitionflow", error="invalid_token"'
    assert response.json() == {
        "error": {"code": "unauthenticated", "reason": "the token is unknown, revoked or expired"}
    }
    assert await api.events("b-8") == ["PetitionFiled"]


async def test_a_revoked_token_is_401_and_changes_nothing(api: Api) -> None:
    await _filed(api, "b-9")
    village = await api.official(Tier.VILLAGE)
    assert await auth.revoke_token(api.pool, "village-official") == 1

    response = await api.http.post("/v1/petitions/b-9/actions/acknowledge", json={}, headers=village)
    missing = await api.http.post("/v1/petitions/b-9/actions/acknowledge", json={})

    assert response.status_code == missing.status_code == 401
    assert response.json()["error"]["reason"] == "the token is unknown, revoked or expired"
    assert missing.headers["www-authenticate"] == 'Bearer realm="petitionflow"'
    assert await api.events("b-9") == ["PetitionFiled"]


async def test_a_revoked_service_key_cannot_file(api: Api) -> None:
    assert await auth.revoke_api_key(api.pool, "hotline") == 1

    response = await api.http.post("/v1/petitions", json=_filing("b-10"), headers=api.service)

    assert response.status_code == 401
    assert not await api.exists("b-10")


async def test_a_finished_petition_answers_409_finished(api: Api) -> None:
    await _filed(api, "b-11")

    withdrawn = await api.http.post(
        "/v1/petitions/b-11/actions/withdraw", json={"petitioner_id": "hh-0042"}, headers=api.link("b-11")
    )
    assert withdrawn.json()["finished"] is True
    await api.stored("b-11", withdrawn.json()["seq"])
    after = await api.http.post(
        "/v1/petitions/b-11/actions/acknowledge", json={}, headers=await api.official(Tier.VILLAGE)
    )

    assert after.status_code == 409
    assert after.json()["error"]["code"] == "finished"
