"""The HTTP doors of the running stack: Open311 for any GeoReport v2 client, /v1 for officials."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import asyncpg
import coordTransform
import httpx
from shapely.geometry import shape

from schemas.common import Tier
from tests.e2e.conftest import DevStack
from tests.factories import REGION, filing, filing_body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_open311_client_files_and_tracks_a_petition(stack: DevStack) -> None:
    key = stack.secret("keys", "add", "open311-app")
    with httpx.Client(base_url=stack.api, timeout=30) as http:
        posted = http.post(
            "/open311/v2/requests.json",
            data={
                "api_key": key,
                "service_code": "roads",
                "address_id": REGION.village,
                "account_id": "hh-311",
                "first_name": "Zhao",
                "description": "Potholes on the school road.",
            },
        )
        assert posted.status_code == 200, posted.text
        request_id = posted.json()[0]["service_request_id"]

        # The read model follows the workflow by the event log's lag (well under a second).
        deadline = time.monotonic() + 10
        while True:
            listed = http.get("/open311/v2/requests.json", params={"service_request_id": request_id})
            assert listed.status_code == 200
            if listed.json() or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        (tracked,) = listed.json()
        assert (tracked["service_request_id"], tracked["status"], tracked["agency_responsible"]) == (
            request_id,
            "open",
            f"village {REGION.village}",
        )
        assert "Zhao" not in listed.text and "Potholes" not in listed.text  # public: no personal data

        as_xml = http.get(f"/open311/v2/requests/{request_id}.xml")
        assert as_xml.status_code == 200
        assert as_xml.text.count("<request>") == 1 and f"<service_request_id>{request_id}<" in as_xml.text

        unknown = http.post(
            "/open311/v2/requests.json",
            data={
                "api_key": key,
                "service_code": "teleportation",
                "address_id": REGION.village,
                "account_id": "hh-311",
                "description": "x",
            },
        )
        assert unknown.status_code in (400, 404)
        assert "teleportation" in unknown.json()[0]["description"]


def test_officials_answer_over_http_after_an_automatic_escalation(stack: DevStack) -> None:
    key = stack.secret("keys", "add", "hotline")
    village = stack.secret("officials", "add", "wu-village", "--tier", "village", "--region", REGION.village)
    township = stack.secret(
        "officials", "add", "wu-township", "--tier", "township", "--region", REGION.township
    )
    # The stack's policy file gives an urgent petition 2 s at the village (tests/e2e/conftest.py).
    body = {**filing_body("e2e-http"), "urgency": "urgent"}
    with httpx.Client(base_url=stack.api, timeout=30) as http:
        carrying = http.post(
            "/v1/petitions", json=filing("e2e-policy").model_dump(mode="json"), headers={"X-API-Key": key}
        )
        assert carrying.status_code == 422
        assert carrying.json()["error"]["fields"][0]["path"] == "policy"
        filed = http.post("/v1/petitions", json=body, headers={"X-API-Key": key})
        assert (filed.status_code, filed.json()["created"]) == (201, True)
        again = http.post("/v1/petitions", json=body, headers={"X-API-Key": key})
        assert (again.status_code, again.json()["created"]) == (200, False)

        deadline = time.monotonic() + 30
        view: dict[str, Any] = {}
        while view.get("tier") != "township" and time.monotonic() < deadline:
            view = http.get("/v1/petitions/e2e-http", headers=_bearer(township)).json()
            time.sleep(0.5)
        assert (view["tier"], view["deadlines_missed"]) == ("township", 1)

        late = http.post("/v1/petitions/e2e-http/actions/acknowledge", json={}, headers=_bearer(village))
        assert late.status_code == 403
        assert late.json()["error"]["code"] == "wrong_tier"

        def act(verb: str, payload: dict[str, Any], token: str) -> dict[str, Any]:
            done = http.post(f"/v1/petitions/e2e-http/actions/{verb}", json=payload, headers=_bearer(token))
            assert done.status_code == 200, done.text
            result: dict[str, Any] = done.json()
            return result

        act("acknowledge", {}, township)
        act("assess", {"decision": "accept"}, township)
        act(
            "resolve", {"outcome": "resolved", "public_summary": "Road resurfaced by the township."}, township
        )
        refused = http.post(
            "/v1/petitions/e2e-http/actions/rate",
            json={"petitioner_id": "hh-0042", "rating": "basically_satisfied"},
            headers={"X-API-Key": key},
        )
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "petitioner_proof_required")
        link = http.post("/v1/petitions/e2e-http/petitioner-link", headers={"X-API-Key": key})
        assert link.status_code == 201, link.text
        rated = http.post(
            "/v1/petitions/e2e-http/actions/rate",
            json={"petitioner_id": "hh-0042", "rating": "basically_satisfied"},
            headers={"X-Petitioner-Token": link.json()["token"]},
        )
        assert (rated.status_code, rated.json()["closed_reason"]) == (200, "basically_satisfied")

        time.sleep(1)
        wall = http.get("/v1/echo-wall").json()
        entry = next(e for e in wall if e["petition_id"] == "e2e-http")
        assert (entry["tier"], entry["rating"]) == (Tier.TOWNSHIP.value, "basically_satisfied")
        figures = {row["group"]: row for row in http.get("/v1/figures", params={"by": "tier"}).json()}
        assert figures["township"]["resolved"] >= 1

        # The same process serves the web pages: the public echo wall, the petition's page, the dashboard.
        home = http.get("/", params={"lang": "en"})
        assert home.status_code == 200 and "Road resurfaced by the township." in home.text
        assert "回音壁" in http.get("/", params={"lang": "zh-CN"}).text
        assert http.get("/p/e2e-http").status_code == 200
        assert http.get("/dashboard").status_code == 200


def test_bad_requests_get_a_4xx_naming_the_problem_and_change_nothing(stack: DevStack) -> None:
    key = stack.secret("keys", "add", "careless-service")
    with httpx.Client(base_url=stack.api, timeout=30) as http:
        before = len(http.get("/v1/petitions", params={"limit": 1000}, headers={"X-API-Key": key}).json())

        malformed = http.post(
            "/v1/petitions",
            content=b"{not json",
            headers={"X-API-Key": key, "Content-Type": "application/json"},
        )
        assert malformed.status_code in (400, 422)

        body = filing_body("e2e-bad")
        too_long = http.post(
            "/v1/petitions", json={**body, "description": "x" * 4001}, headers={"X-API-Key": key}
        )
        assert too_long.status_code == 422 and "description" in too_long.text

        unknown = http.post("/v1/petitions", json={**body, "priority": "high"}, headers={"X-API-Key": key})
        assert unknown.status_code == 422 and "priority" in unknown.text

        no_key = http.post("/v1/petitions", json=body)
        assert no_key.status_code == 401

        missing = http.get("/v1/petitions/e2e-nowhere", headers={"X-API-Key": key})
        assert missing.status_code == 404

        wrong_token = http.post(
            "/v1/petitions/e2e-bad/actions/acknowledge", json={}, headers=_bearer("not-a-real-token")
        )
        assert wrong_token.status_code == 401

        after = len(http.get("/v1/petitions", params={"limit": 1000}, headers={"X-API-Key": key}).json())
        assert after == before


def test_the_dev_stack_locates_open311_requests_by_address_and_gcj02_point(stack: DevStack) -> None:
    key = stack.secret("keys", "add", "civic-map-app")
    # A point inside 西山村's boundary in the dev stack's own directory (the generated sample), given
    # in GCJ-02 as a map in China gives it.
    boundary = asyncio.run(_boundary(stack.env["PETITIONFLOW_DATABASE_URL"], "v-xishan"))
    inside = shape(boundary).representative_point()
    lon, lat = coordTransform.wgs84_to_gcj02(inside.x, inside.y)
    placed = {"address_string": "夏庄镇西山村", "lat": f"{lat:.6f}", "long": f"{lon:.6f}"}
    with httpx.Client(base_url=stack.api, timeout=30) as http:
        villages = []
        for field in (("address_string",), ("lat", "long")):
            posted = http.post(
                "/open311/v2/requests.json",
                data={
                    "api_key": key,
                    "service_code": "water",
                    "email": "villager@example.org",
                    "description": "The well pump has stopped.",
                    **{f: placed[f] for f in field},
                },
            )
            assert posted.status_code == 200, posted.text
            request_id = posted.json()[0]["service_request_id"]
            villages.append(http.get(f"/open311/v2/requests/{request_id}.json").json()[0]["address_id"])
        assert villages == ["v-xishan", "v-xishan"]


async def _boundary(database_url: str, village_id: str) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    try:
        text = await conn.fetchval(
            "SELECT boundary::text FROM directory_regions WHERE region_id = $1"
            " AND version = (SELECT max(version) FROM directory_versions)",
            village_id,
        )
    finally:
        await conn.close()
    assert text is not None, f"{village_id} has no boundary in the dev stack's directory"
    boundary: dict[str, Any] = json.loads(text)
    return boundary
