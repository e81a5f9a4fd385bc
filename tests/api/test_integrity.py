"""Nothing in a filing goes unchecked: another household's contact stays as stored, petition ids
belong to the service that filed them, categories come from the catalogue, the tier from the key."""

from __future__ import annotations

import asyncio
from typing import Any

from typer.testing import CliRunner

from petitionflow.cli import app as cli_app
from schemas.common import Tier
from store import auth
from tests.api.conftest import Api
from tests.factories import filing_body


def _filing(petition_id: str, **changes: Any) -> dict[str, Any]:
    """A filing body without ``tier`` (the key decides it), with ``changes``."""
    body = filing_body(petition_id)
    del body["tier"]
    return body | changes


async def _contact(api: Api, petitioner_id: str) -> tuple[Any, ...]:
    row = await api.pool.fetchrow(
        "SELECT name, phone, address FROM petitioners WHERE petitioner_id = $1", petitioner_id
    )
    assert row is not None
    return tuple(row)


async def test_filing_with_someone_elses_petitioner_id_leaves_their_contact_alone(api: Api) -> None:
    """A second filing naming hh-0042 (another service, another name and phone) and an Open311 POST
    with account_id hh-0042 and no name neither replace nor blank the stored contact."""
    other = {"X-API-Key": await auth.issue_api_key(api.pool, "web-form")}
    first = await api.http.post("/v1/petitions", json=_filing("i-1"), headers=api.service)
    assert first.status_code == 201, first.text
    await api.stored("i-1", 1)
    stored = await _contact(api, "hh-0042")
    assert stored == ("Wang Fang", "+86 139 0000 0042", "3 East Lane")

    impostor = _filing("i-2")
    impostor["petitioner"] = {"petitioner_id": "hh-0042", "name": "Mallory", "phone": "+86 139 6666 6666"}
    second = await api.http.post("/v1/petitions", json=impostor, headers=other)
    assert second.status_code == 201, second.text
    await api.stored("i-2", 1)
    posted = await api.http.post(
        "/open311/v2/requests.json",
        data={
            "api_key": api.service_key,
            "service_code": "roads",
            "address_id": "v-dongshan",
            "account_id": "hh-0042",
            "description": "The lane is flooded again.",
        },
    )
    assert posted.status_code == 200, posted.text
    await api.stored(posted.json()[0]["service_request_id"], 1)

    assert await _contact(api, "hh-0042") == stored


async def test_a_petition_id_filed_by_one_service_is_refused_to_another(api: Api) -> None:
    squatter = {"X-API-Key": await auth.issue_api_key(api.pool, "squatter")}
    squatted = await api.http.post("/v1/petitions", json=_filing("i-3"), headers=squatter)
    assert squatted.status_code == 201, squatted.text

    real = await api.http.post("/v1/petitions", json=_filing("i-3"), headers=api.service)
    again = await api.http.post("/v1/petitions", json=_filing("i-3"), headers=squatter)

    assert real.status_code == 409
    assert real.json() == {
        "error": {
            "code": "petition_id_taken",
            "reason": "petition id i-3 was filed by another service; choose another id",
        }
    }
    assert again.status_code == 200, "the owner's own retry is still answered created: false"
    assert again.json()["created"] is False
    assert await api.pool.fetchval("SELECT service FROM petition_ids WHERE petition_id = 'i-3'") == "squatter"


async def test_a_petition_filed_before_ownership_was_recorded_is_refiled_as_before(api: Api) -> None:
    """Migration 006 recorded existing petitions with no owner: refiling them still answers
    created: false with the petition, and its workflow id is unchanged."""
    assert (await api.http.post("/v1/petitions", json=_filing("i-4"), headers=api.service)).status_code == 201
    await api.pool.execute("UPDATE petition_ids SET service = NULL WHERE petition_id = 'i-4'")
    other = {"X-API-Key": await auth.issue_api_key(api.pool, "web-form")}

    again = await api.http.post("/v1/petitions", json=_filing("i-4"), headers=other)

    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["petition"]["petition_id"]) == (False, "i-4")


async def test_an_unknown_category_is_refused_naming_the_field(api: Api) -> None:
    response = await api.http.post(
        "/v1/petitions", json=_filing("i-5", category="zzz-made-up"), headers=api.service
    )

    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "invalid_request",
            "reason": "invalid: body.category",
            "fields": [
                {
                    "location": "body",
                    "path": "category",
                    "reason": "'zzz-made-up' is not a petition category; use one of roads, water, "
                    "subsidies, land, health, education, disputes, other",
                }
            ],
        }
    }
    assert not await api.exists("i-5")


async def test_an_assessment_into_an_unknown_category_is_refused(api: Api) -> None:
    assert (await api.http.post("/v1/petitions", json=_filing("i-6"), headers=api.service)).status_code == 201
    village = await api.official(Tier.VILLAGE)
    assert (await api.http.post("/v1/petitions/i-6/actions/acknowledge", json={}, headers=village)).is_success

    response = await api.http.post(
        "/v1/petitions/i-6/actions/assess",
        json={"decision": "accept", "category": "zzz-made-up"},
        headers=village,
    )

    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "category"
    assert await api.events("i-6") == ["PetitionFiled", "Acknowledged"]


async def test_the_tier_comes_from_the_services_key(api: Api) -> None:
    county = {"X-API-Key": await auth.issue_api_key(api.pool, "county-hotline", tier=Tier.COUNTY)}

    at_county = await api.http.post("/v1/petitions", json=_filing("i-7"), headers=county)
    named = await api.http.post("/v1/petitions", json=_filing("i-8", tier="county"), headers=county)
    other = await api.http.post("/v1/petitions", json=_filing("i-9", tier="city"), headers=county)
    village_key = await api.http.post(
        "/v1/petitions", json=_filing("i-10", tier="county"), headers=api.service
    )

    assert at_county.status_code == 201, at_county.text
    assert at_county.json()["petition"]["tier"] == "county"
    assert (named.status_code, named.json()["petition"]["tier"]) == (201, "county")
    assert other.status_code == 422
    assert other.json()["error"]["fields"] == [
        {
            "location": "body",
            "path": "tier",
            "reason": "this service's API key files at the county tier; a filing cannot choose the "
            "city tier (leave tier out)",
        }
    ]
    assert village_key.status_code == 422, "a key without a tier files at the village"
    assert not await api.exists("i-9") and not await api.exists("i-10")


async def test_an_open311_post_is_filed_at_the_keys_tier(api: Api) -> None:
    key = await auth.issue_api_key(api.pool, "township-app", tier=Tier.TOWNSHIP)
    posted = await api.http.post(
        "/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "water",
            "address_id": "v-dongshan",
            "account_id": "hh-0050",
            "first_name": "Li",
            "description": "The well is dry.",
        },
    )
    assert posted.status_code == 200, posted.text
    petition_id = posted.json()[0]["service_request_id"]

    view = await api.http.get(f"/v1/petitions/{petition_id}", headers={"X-API-Key": key})
    assert view.json()["tier"] == "township", "the service that filed it reads it"


async def test_keys_add_binds_the_tier(api: Api, database_url: str) -> None:
    env = {"PETITIONFLOW_DATABASE_URL": database_url}
    runner = CliRunner()
    added = await asyncio.to_thread(
        runner.invoke, cli_app, ["keys", "add", "city-desk", "--tier", "city"], env=env
    )
    default = await asyncio.to_thread(runner.invoke, cli_app, ["keys", "add", "cadres-app"], env=env)

    assert added.exit_code == 0, added.output
    assert default.exit_code == 0, default.output
    city = await auth.authenticate_service(api.pool, added.output.strip().splitlines()[-1])
    village = await auth.authenticate_service(api.pool, default.output.strip().splitlines()[-1])
    assert city == auth.ServiceKey(name="city-desk", tier=Tier.CITY)
    assert village == auth.ServiceKey(name="cadres-app", tier=Tier.VILLAGE)


def test_the_cli_refuses_an_unknown_category_too() -> None:
    args = "file --id i-11 --petitioner-id hh-1 --name Li --village v-a --township t-a --county c-a"
    args += " --city x-a --description Broken. --cadre cadre-li --category zzz-made-up"
    result = CliRunner().invoke(cli_app, args.split())

    assert result.exit_code == 2, result.output
    assert "category: 'zzz-made-up' is not a petition category" in result.output
