"""Open311 GeoReport v2: every response checked against the spec's rules (``georeport.check``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from schemas.common import Tier
from tests.api import georeport
from tests.api.conftest import Api

V2 = "/open311/v2"
FORM = {
    "service_code": "roads",
    "address_id": "v-dongshan",
    "address_string": "3 East Lane, Dongshan",
    "account_id": "hh-0042",
    "first_name": "Fang",
    "last_name": "Wang",
    "phone": "+86 139 0000 0042",
    "email": "wang.fang@example.org",
    "description": "The bridge on the east lane collapsed in the rain; children cannot reach school.",
    "media_url": "https://photos.example.org/bridge.jpg",
}
PERSONAL = ("Fang", "Wang", "0042", "example.org", "East Lane", "collapsed")


async def _get(api: Api, path: str, kind: str, expect: int = 200, **params: str) -> Any:
    response = await api.http.get(V2 + path, params=params)
    assert response.status_code == expect, response.text
    return georeport.check(response, kind)


async def _post(api: Api, fmt: str = "json", status: int = 200, **fields: str) -> httpx.Response:
    form = {"api_key": api.service_key, **FORM} | fields
    form = {k: v for k, v in form.items() if v is not None}
    response = await api.http.post(f"{V2}/requests.{fmt}", data=form)
    assert response.status_code == status, response.text
    return response


async def _file(api: Api, **fields: str) -> str:
    items = georeport.check(await _post(api, **fields), "created")
    assert isinstance(items, list)
    petition_id: str = items[0]["service_request_id"]
    await api.stored(petition_id, 1)
    return petition_id


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_services_are_the_petition_categories(api: Api, fmt: str) -> None:
    services = await _get(api, f"/services.{fmt}", "services")

    assert [s["service_code"] for s in services] == [
        "roads",
        "water",
        "subsidies",
        "land",
        "health",
        "education",
        "disputes",
        "other",
    ]
    roads = services[0]
    assert (roads["service_name"], roads["group"], roads["type"]) == (
        "Roads and bridges",
        "infrastructure",
        "realtime",
    )
    assert roads["keywords"] == "road, bridge, pothole, culvert"
    assert roads["metadata"] in (True, "true")


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_a_service_definition_offers_the_urgency_crs_and_about_attributes(api: Api, fmt: str) -> None:
    definition = await _get(api, f"/services/water.{fmt}", "definition")

    assert definition["service_code"] == "water"
    [urgency, crs, about] = definition["attributes"]
    assert (urgency["code"], urgency["datatype"], str(urgency["order"])) == (
        "urgency",
        "singlevaluelist",
        "1",
    )
    assert [v["key"] for v in urgency["values"]] == ["normal", "urgent"]
    assert (crs["code"], crs["datatype"], str(crs["order"]), str(crs["required"]).lower()) == (
        "crs",
        "singlevaluelist",
        "2",
        "false",
    )
    assert [v["key"] for v in crs["values"]] == ["wgs84", "gcj02", "bd09"]
    assert (about["code"], about["datatype"], str(about["order"]), str(about["required"]).lower()) == (
        "about",
        "singlevaluelist",
        "3",
        "false",
    )
    assert [(v["key"], v["name"]) for v in about["values"]] == [
        ("contact_cadre", "本户的联系干部 / The household's contact cadre"),
        ("office", "本村（居）委会 / The village office"),
    ]
    assert about["description"].startswith("投诉的是本户的联系干部") and "recused" in about["description"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_an_unknown_service_definition_is_404_in_the_spec_error_format(api: Api, fmt: str) -> None:
    errors = await _get(api, f"/services/potholes.{fmt}", "errors", expect=404)

    assert [(str(e["code"]), e["description"]) for e in errors] == [
        ("404", "service_code 'potholes' was not found")
    ]


async def test_a_posted_request_is_filed_and_listed_in_json_and_xml(api: Api) -> None:
    response = await _post(api, **{"attribute[urgency]": "urgent"})
    [created] = georeport.check(response, "created")
    petition_id = created["service_request_id"]
    assert petition_id.startswith("o311-")
    assert created["account_id"] == "hh-0042"
    assert created["service_notice"] == (
        "The village office v-dongshan responds within 2 hours and resolves within 1 day; "
        "if it does not, the petition goes up to the township tier."
    )
    await api.stored(petition_id, 1)

    [listed] = await _get(api, "/requests.json", "requests")
    [as_xml] = await _get(api, "/requests.xml", "requests")
    [single] = await _get(api, f"/requests/{petition_id}.json", "requests")
    assert listed == single
    assert {k: (None if v in (None, "") else v) for k, v in as_xml.items()} == {
        k: (None if v is None else str(v)) for k, v in listed.items()
    }
    assert listed["service_request_id"] == petition_id
    assert (listed["status"], listed["service_code"], listed["service_name"]) == (
        "open",
        "roads",
        "Roads and bridges",
    )
    assert listed["agency_responsible"] == "village v-dongshan"
    assert listed["status_notes"] == "Received at the village tier; waiting for first contact."
    assert listed["description"] is None, "the petitioner's own words never appear on a public endpoint"
    assert (listed["address"], listed["address_id"]) == (
        "v-dongshan, t-xiazhuang, c-yishui, x-linyi",
        "v-dongshan",
    )
    requested = datetime.fromisoformat(listed["requested_datetime"])
    assert datetime.fromisoformat(listed["expected_datetime"]) == requested + timedelta(hours=2)

    view = (await api.http.get(f"/v1/petitions/{petition_id}", headers=await api.auditor())).json()
    assert (view["channel"], view["category"], view["urgency"], view["petitioner_id"]) == (
        "open311",
        "roads",
        "urgent",
        "hh-0042",
    )
    assert view["contact_cadre_id"] == "cadre-zhang", "the village's duty cadre, from the region directory"
    petitioner = await api.pool.fetchrow(
        "SELECT name, phone, address FROM petitioners WHERE petitioner_id = 'hh-0042'"
    )
    assert petitioner is not None
    assert tuple(petitioner) == ("Fang Wang", "+86 139 0000 0042", "3 East Lane, Dongshan")

    for path in ("/requests.json", "/requests.xml", f"/requests/{petition_id}.xml"):
        text = (await api.http.get(V2 + path)).text
        assert not [p for p in PERSONAL if p in text], path


async def test_a_posted_request_in_xml_answers_in_xml(api: Api) -> None:
    response = await _post(api, fmt="xml", account_id="hh-0043")
    [created] = georeport.check(response, "created")

    assert created["account_id"] == "hh-0043"
    [token] = await _get(api, f"/tokens/{created['service_request_id']}.xml", "token")
    assert token == {
        "service_request_id": created["service_request_id"],
        "token": created["service_request_id"],
    }


async def test_the_request_follows_the_petition_to_its_answer(api: Api) -> None:
    petition_id = await _file(api)
    await api.env.sleep(timedelta(days=1, hours=1))  # the village misses its respond deadline
    township = await api.official(Tier.TOWNSHIP)
    for verb, body in (
        ("acknowledge", {}),
        ("assess", {"decision": "accept"}),
        ("resolve", {"outcome": "resolved", "public_summary": "The township rebuilt the bridge."}),
    ):
        response = await api.http.post(
            f"/v1/petitions/{petition_id}/actions/{verb}", json=body, headers=township
        )
        assert response.status_code == 200, response.text
    await api.stored(petition_id, response.json()["seq"])

    [answered] = await _get(api, f"/requests/{petition_id}.json", "requests")
    assert (answered["status"], answered["agency_responsible"], answered["description"]) == (
        "open",
        "township t-xiazhuang",
        "The township rebuilt the bridge.",
    )
    assert answered["status_notes"] == (
        "Resolved at the township tier; waiting for the petitioner's rating. Escalated: village → township."
    )

    rated = await api.http.post(
        f"/v1/petitions/{petition_id}/actions/rate",
        json={"petitioner_id": "hh-0042", "rating": "basically_satisfied"},
        headers=api.link(petition_id),
    )
    await api.stored(petition_id, rated.json()["seq"])

    [closed] = await _get(api, "/requests.xml", "requests", status="closed")
    assert (closed["service_request_id"], closed["status"], closed["service_notice"]) == (
        petition_id,
        "closed",
        None,
    )
    assert closed["status_notes"] == (
        "Closed: the petitioner is basically satisfied with the answer. Escalated: village → township."
    )
    closed_at = datetime.fromisoformat(rated.json()["closed_at"]).replace(microsecond=0)
    assert datetime.fromisoformat(closed["updated_datetime"]) == closed_at, "closed: the moment it closed"
    assert await _get(api, "/requests.json", "requests", status="open") == []


async def test_requests_filter_by_id_code_status_and_date(api: Api) -> None:
    roads = await _file(api)
    water = await _file(api, service_code="water", account_id="hh-0050")
    now = datetime.now(UTC)

    def ids(items: list[dict[str, Any]]) -> set[str]:
        return {i["service_request_id"] for i in items}

    assert ids(await _get(api, "/requests.json", "requests")) == {roads, water}
    assert ids(await _get(api, "/requests.json", "requests", service_code="water")) == {water}
    assert ids(await _get(api, "/requests.json", "requests", service_code="water,roads")) == {roads, water}
    assert ids(await _get(api, "/requests.json", "requests", service_request_id=f"{roads},nope")) == {roads}
    assert ids(
        await _get(api, "/requests.json", "requests", service_request_id=roads, service_code="water")
    ) == {roads}, "service_request_id overrides every other filter"
    assert ids(await _get(api, "/requests.json", "requests", status="open,closed")) == {roads, water}
    assert await _get(api, "/requests.json", "requests", status="closed") == []
    past = (now - timedelta(days=30)).isoformat()
    assert await _get(api, "/requests.xml", "requests", end_date=past) == []
    window = await _get(
        api,
        "/requests.json",
        "requests",
        start_date=(now - timedelta(days=1)).isoformat(),
        end_date=(now + timedelta(days=1)).isoformat(),
    )
    assert ids(window) == {roads, water}


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"status": "pending"}, "status must be open, closed or both, not 'pending'"),
        ({"service_code": "potholes"}, "service_code 'potholes' was not found"),
        (
            {"start_date": "yesterday"},
            "start_date 'yesterday' is not a W3C date-time (e.g. 2026-03-01T00:00:00Z)",
        ),
        (
            {"end_date": "2026-03-01T00:00:00"},
            "end_date '2026-03-01T00:00:00' has no time zone (Z or ±hh:mm)",
        ),
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
            "start_date to end_date may not span more than 90 days",
        ),
    ],
)
async def test_bad_request_filters_are_400(api: Api, params: dict[str, str], description: str) -> None:
    for fmt in ("json", "xml"):
        errors = await _get(api, f"/requests.{fmt}", "errors", expect=400, **params)
        assert [(str(e["code"]), e["description"]) for e in errors] == [("400", description)]


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_a_missing_request_or_token_is_404(api: Api, fmt: str) -> None:
    errors = await _get(api, f"/requests/o311-nothing.{fmt}", "errors", expect=404)
    assert [e["description"] for e in errors] == ["service_request_id 'o311-nothing' was not found"]
    errors = await _get(api, f"/tokens/t-1.{fmt}", "errors", expect=404)
    assert [e["description"] for e in errors] == ["token 't-1' was not found"]


async def test_an_unknown_format_is_404(api: Api) -> None:
    response = await api.http.get(f"{V2}/services.yaml")

    assert response.status_code == 404
    assert response.json() == [
        {"code": 404, "description": "format 'yaml' is not offered: use .json or .xml"}
    ]


@pytest.mark.parametrize(
    ("fields", "status", "descriptions"),
    [
        ({"api_key": None}, 403, ["api_key was not provided -- can't proceed with create_request."]),
        ({"api_key": "guessed"}, 403, ["Invalid api_key received -- can't proceed with create_request."]),
        ({"service_code": None}, 400, ["service_code was not provided"]),
        ({"service_code": "potholes"}, 404, ["service_code 'potholes' was not found"]),
        ({"description": "x" * 4001}, 400, ["description: String should have at most 4000 characters"]),
        ({"description": None}, 400, ["description: String should have at least 1 character"]),
        ({"phone": "call me"}, 400, ["phone: String should match pattern '^[0-9+() -]+$'"]),
        (
            {"address_id": None, "address_string": None},
            400,
            ["a location is required: lat & long, address_string or address_id"],
        ),
        (
            {"address_id": None, "lat": "35.78", "long": "118.45"},
            400,
            [
                "lat/long 35.78,118.45 (GCJ-02) is in no village of this jurisdiction, nor within 200 m of "
                "one: the nearest is v-xishan 西山村 (Xishan), 14.1 km away (is attribute[crs] right? "
                "wgs84, gcj02 or bd09)"
            ],
        ),
        (
            {"address_id": None, "address_string": "夏庄镇"},
            400,
            [
                "address_string '夏庄镇' could be any of 2 villages: name the village with its township, "
                "or send its address_id",
                "candidate v-dongshan 东山村 (Dongshan), t-xiazhuang 夏庄镇 (Xiazhuang), "
                "c-yishui 沂水县 (Yishui), x-linyi 临沂市 (Linyi)",
                "candidate v-xishan 西山村 (Xishan), t-xiazhuang 夏庄镇 (Xiazhuang), "
                "c-yishui 沂水县 (Yishui), x-linyi 临沂市 (Linyi)",
            ],
        ),
        (
            {"address_id": None, "address_string": "1600 Pennsylvania Ave"},
            400,
            [
                "address_string '1600 Pennsylvania Ave' names no village, township, county or city of this "
                "jurisdiction: send address_id, or lat & long"
            ],
        ),
        (
            {"address_id": None, "lat": "35.78", "long": "118.63", "attribute[crs]": "osgb36"},
            400,
            ["attribute[crs] must be one of wgs84, gcj02, bd09, not 'osgb36'"],
        ),
        ({"lat": "35.78"}, 400, ["lat and long must be sent together"]),
        ({"lat": "95", "long": "118"}, 400, ["lat/long 95,118 is not a WGS84 position"]),
        (
            {"address_id": "v-atlantis"},
            400,
            ["address_id 'v-atlantis' is not a village of this jurisdiction"],
        ),
        (
            {"address_id": "v-dongshan/t-shangzhuang/c-yishui/x-linyi"},
            400,
            ["address_id 'v-dongshan/t-shangzhuang/c-yishui/x-linyi' is not a village of this jurisdiction"],
        ),
        (
            {"account_id": None, "email": None, "phone": None},
            400,
            ["account_id (or email, phone or device_id) is required to identify the petitioner"],
        ),
        (
            {"attribute[about]": "the mayor"},
            400,
            ["attribute[about] must be one of contact_cadre, office, not 'the mayor'"],
        ),
        (
            {"attribute[urgency]": "yesterday", "attribute[colour]": "red"},
            400,
            [
                "attribute[colour] is not an attribute of service 'roads'",
                "attribute[urgency] must be one of normal, urgent, not 'yesterday'",
            ],
        ),
    ],
)
async def test_bad_posts_are_refused_in_the_spec_format_and_file_nothing(
    api: Api, fields: dict[str, str | None], status: int, descriptions: list[str]
) -> None:
    for fmt in ("json", "xml"):
        response = await _post(api, fmt=fmt, status=status, **fields)  # type: ignore[arg-type]
        errors = georeport.check(response, "errors")
        assert [(str(e["code"]), e["description"]) for e in errors] == [
            (str(status), d) for d in descriptions
        ]
    assert await api.pool.fetchval("SELECT count(*) FROM events") == 0
    assert await api.pool.fetchval("SELECT count(*) FROM petitions") == 0


async def test_a_reporter_without_an_account_gets_a_stable_pseudonym(api: Api) -> None:
    first = await _file(api, account_id=None, phone=None)  # type: ignore[arg-type]
    second = await _file(api, account_id=None, phone=None)  # type: ignore[arg-type]

    auditor = await api.auditor()
    views = [(await api.http.get(f"/v1/petitions/{p}", headers=auditor)).json() for p in (first, second)]
    assert views[0]["petitioner_id"] == views[1]["petitioner_id"]
    assert views[0]["petitioner_id"].startswith("o311-")
    assert "wang" not in views[0]["petitioner_id"]


async def test_discovery_points_at_the_v2_endpoint(api: Api) -> None:
    response = await api.http.get("/open311/v2/discovery.json")

    [endpoint] = response.json()["endpoints"]
    assert (endpoint["specification"], endpoint["url"]) == (
        "http://wiki.open311.org/GeoReport_v2",
        "http://127.0.0.1:8000/open311/v2",  # EdgeConfig.public_base_url, not the Host
    )
    assert endpoint["formats"] == ["text/xml", "application/json"]


# ---------------------------------------------------------------------------------- the validator


def _response(path: str, content: str, content_type: str) -> httpx.Response:
    return httpx.Response(
        200,
        content=content.encode(),
        headers={"content-type": content_type},
        request=httpx.Request("GET", f"http://x{path}"),
    )


SPEC_EXAMPLE = """<?xml version="1.0" encoding="utf-8"?>
<service_requests>
    <request>
        <service_request_id>638344</service_request_id>
        <status>closed</status>
        <status_notes>Duplicate request.</status_notes>
        <service_name>Sidewalk and Curb Issues</service_name>
        <service_code>006</service_code>
        <description></description>
        <agency_responsible></agency_responsible>
        <service_notice></service_notice>
        <requested_datetime>2010-04-14T06:37:38-08:00</requested_datetime>
        <updated_datetime>2010-04-14T06:37:38-08:00</updated_datetime>
        <expected_datetime>2010-04-15T06:37:38-08:00</expected_datetime>
        <address>8TH AVE and JUDAH ST</address>
        <address_id>545483</address_id>
        <zipcode>94122</zipcode>
        <lat>37.762221815</lat>
        <long>-122.4651145</long>
        <media_url>http://city.gov.s3.amazonaws.com/requests/media/638344.jpg </media_url>
    </request>
</service_requests>"""


def test_the_validator_accepts_the_spec_s_own_example() -> None:
    [item] = georeport.check(_response("/requests.xml", SPEC_EXAMPLE, "text/xml; charset=utf-8"), "requests")
    assert item["service_request_id"] == "638344"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("<status>closed</status>", "<status>pending</status>"), "is not open/closed"),
        (("2010-04-14T06:37:38-08:00</req", "2010-04-14 06:37</req"), "is not a W3C date-time"),
        (("2010-04-14T06:37:38-08:00</upd", "2010-04-14T06:37:38</upd"), "is not a W3C date-time"),
        (("<request>", "<service_request>"), "the spec says only <request>"),
        (("<service_requests>", "<requests>"), "the spec says <service_requests>"),
        (
            ("<zipcode>94122</zipcode>", "<zipcode>94122</zipcode><ward>7</ward>"),
            r"fields outside the spec \['ward'\]",
        ),
        (("<service_code>006</service_code>", ""), r"missing \['service_code'\]"),
    ],
)
def test_the_validator_refuses_what_the_spec_does_not_allow(change: tuple[str, str], message: str) -> None:
    broken = SPEC_EXAMPLE.replace(*change).replace("</requests>", "</service_requests>")
    if change[1] == "<requests>":
        broken = broken.replace("</service_requests>", "</requests>")
    if change[1] == "<service_request>":
        broken = broken.replace("</request>", "</service_request>")
    with pytest.raises(georeport.Invalid, match=message):
        georeport.check(_response("/requests.xml", broken, "text/xml; charset=utf-8"), "requests")


def test_the_validator_wants_the_xml_declaration_and_content_type() -> None:
    body = SPEC_EXAMPLE.split("\n", 1)[1]
    with pytest.raises(georeport.Invalid, match="declaration"):
        georeport.check(_response("/requests.xml", body, "text/xml; charset=utf-8"), "requests")
    with pytest.raises(georeport.Invalid, match="content type"):
        georeport.check(_response("/requests.xml", SPEC_EXAMPLE, "application/xml"), "requests")
