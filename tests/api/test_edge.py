"""The edge of the API (issue 10): no input gives a 500, bodies are limited, headers are set, the
docs load nothing from elsewhere, and Open311 stays in its own format and parseable XML."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from petitionflow.api import create_app
from petitionflow.api.edge import EdgeConfig
from petitionflow.client import PetitionClient
from petitionflow.settings import Settings
from schemas.commands import ResolveInput
from schemas.common import Actor, Outcome, Role, Tier
from tests.api import georeport
from tests.api.conftest import Api
from tests.factories import filing_body, official

UNPRINTABLE_REASON = "must not contain control characters (other than tab, newline, carriage return)"


def _client(api: Api, edge: EdgeConfig) -> httpx.AsyncClient:
    app = create_app(temporal_client=api.env.client, pool=api.pool, edge=edge)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://petitionflow.test")


def _spec_errors(response: httpx.Response) -> list[tuple[int, str]]:
    """The GeoReport errors of ``response`` (checked against the spec), XML's codes as numbers."""
    return [(int(e["code"]), e["description"]) for e in georeport.check(response, "errors")]


async def _filed(api: Api, petition_id: str, **changes: Any) -> httpx.Response:
    body = filing_body(petition_id) | changes
    return await api.http.post("/v1/petitions", json=body, headers=api.service)


# ------------------------------------------------------------------------------ the 22 inputs (2)

NATIVE_BAD = [
    ("/v1/petitions", {"region": "\x00"}, ("query", "region")),
    ("/v1/petitions", {"official": "\x00"}, ("query", "official")),
    ("/v1/echo-wall", {"region": "\x00"}, ("query", "region")),
    ("/v1/figures", {"region": "\x00"}, ("query", "region")),
    ("/v1/figures", {"official": "\x00"}, ("query", "official")),
    ("/v1/figures", {"since": "0001-01-01T00:00:00+14:00"}, ("query", "since")),
    ("/v1/figures", {"until": "0001-01-01T00:00:00+14:00"}, ("query", "until")),
    ("/v1/figures", {"since": "9999-12-31T23:59:59-23:59"}, ("query", "since")),
    ("/v1/figures", {"until": "9999-12-31T23:59:59-23:59"}, ("query", "until")),
]


@pytest.mark.parametrize(("path", "params", "field"), NATIVE_BAD)
async def test_nul_bytes_and_dates_utc_cannot_hold_are_422_naming_the_parameter(
    api: Api, path: str, params: dict[str, str], field: tuple[str, str]
) -> None:
    response = await api.http.get(path, params=params, headers=api.service)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert [(f["location"], f["path"]) for f in error["fields"]] == [field]
    assert error["reason"] == f"invalid: {field[0]}.{field[1]}"


OPEN311_BAD = [
    ("/open311/v2/requests.json", {"service_request_id": "\x00"}, "service_request_id"),
    ("/open311/v2/requests.xml", {"service_request_id": "a,\x00"}, "service_request_id"),
    ("/open311/v2/requests.json", {"service_code": "\x00"}, "service_code"),
    ("/open311/v2/requests/%00.json", {}, "service_request_id"),
    ("/open311/v2/requests/%00.xml", {}, "service_request_id"),
    ("/open311/v2/tokens/%00.xml", {}, "token"),
    ("/open311/v2/tokens/%00.json", {}, "token"),
    ("/open311/v2/requests.json", {"start_date": "9999-12-01T00:00:00Z"}, "start_date"),
    ("/open311/v2/requests.xml", {"end_date": "0001-01-05T00:00:00Z"}, "end_date"),
    ("/open311/v2/requests.json", {"start_date": "0001-01-01T00:00:00+14:00"}, "start_date"),
]


@pytest.mark.parametrize(("path", "params", "field"), OPEN311_BAD)
async def test_open311_parameters_with_nul_or_out_of_calendar_dates_are_400_in_its_format(
    api: Api, path: str, params: dict[str, str], field: str
) -> None:
    response = await api.http.get(path, params=params)

    assert response.status_code == 400, response.text
    [(code, description)] = _spec_errors(response)
    assert code == 400
    assert description.startswith(field), description


async def test_extreme_audit_moments_are_422(api: Api) -> None:
    auditor = await api.token(Actor(role=Role.AUDITOR, id="aud-1"))
    response = await api.http.get(
        "/v1/audit/petitions/p-1/state", params={"as_of": "0001-01-01T00:00:00+14:00"}, headers=auditor
    )

    assert response.status_code == 422, response.text
    assert [(f["location"], f["path"]) for f in response.json()["error"]["fields"]] == [("query", "as_of")]


# ------------------------------------------------------------------------- control characters (6)


async def test_a_filing_with_a_control_character_is_422_naming_the_field(api: Api) -> None:
    response = await _filed(api, "cc-1", description="The bridge\u0001 collapsed.")

    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"] == [
        {"location": "body", "path": "description", "reason": UNPRINTABLE_REASON}
    ]
    assert not await api.exists("cc-1")


async def test_an_action_with_a_control_character_is_422_and_changes_nothing(api: Api) -> None:
    assert (await _filed(api, "cc-2")).status_code == 201
    await api.stored("cc-2", 1)
    village = await api.official(Tier.VILLAGE)

    response = await api.http.post(
        "/v1/petitions/cc-2/actions/acknowledge", json={"note": "called\u001b[31m"}, headers=village
    )

    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"] == [
        {"location": "body", "path": "note", "reason": UNPRINTABLE_REASON}
    ]
    assert await api.events("cc-2") == ["PetitionFiled"]


async def test_an_open311_post_with_a_control_character_is_400_naming_the_field(api: Api) -> None:
    form = {
        "api_key": api.service_key,
        "service_code": "roads",
        "address_id": "v-dongshan",
        "account_id": "hh-cc",
        "description": "Lamp\u0001 out",
    }
    response = await api.http.post("/open311/v2/requests.xml", data=form)

    assert response.status_code == 400, response.text
    assert _spec_errors(response) == [(400, f"'description' {UNPRINTABLE_REASON}")]
    assert await api.pool.fetchval("SELECT count(*) FROM events") == 0


async def test_a_stored_control_character_does_not_break_the_public_xml_list(api: Api) -> None:
    """A summary stored before the door refused them (here sent past the API, straight to the
    workflow) is replaced by U+FFFD in XML, and the list still parses."""
    assert (await _filed(api, "cc-3")).status_code == 201
    village = await api.official(Tier.VILLAGE)
    for verb, body in (("acknowledge", {}), ("assess", {"decision": "accept"})):
        response = await api.http.post(f"/v1/petitions/cc-3/actions/{verb}", json=body, headers=village)
        assert response.status_code == 200, response.text
    state = await PetitionClient(api.env.client, pool=api.pool).act(
        "cc-3",
        ResolveInput(
            actor=official(Tier.VILLAGE), outcome=Outcome.RESOLVED, public_summary="Fixed\u0001 it."
        ),
    )
    await api.stored("cc-3", state.seq)

    response = await api.http.get("/open311/v2/requests.xml")

    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)  # raised "not well-formed" before
    [description] = [r.findtext("description") for r in root if r.findtext("service_request_id") == "cc-3"]
    assert description == "Fixed\ufffd it."


# ------------------------------------------------------------------------------ body limit (7)


@pytest.fixture
async def small(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(api, EdgeConfig(max_body_bytes=1000)) as http:
        yield http


async def test_a_declared_large_body_is_413_before_credentials(small: httpx.AsyncClient) -> None:
    response = await small.post(
        "/v1/petitions",
        content=b"x" * 1001,
        headers={"X-API-Key": "not-a-key", "Content-Type": "application/json"},
    )

    assert response.status_code == 413, response.text
    assert response.json() == {
        "error": {"code": "content_too_large", "reason": "the request body is larger than 1000 bytes"}
    }
    assert response.headers["x-request-id"]


async def test_a_streamed_body_is_counted_and_cut_at_the_limit(small: httpx.AsyncClient) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(100):
            sent += 1
            yield b"[" * 100

    response = await small.post(
        "/v1/petitions", content=chunks(), headers={"X-API-Key": "nope", "Content-Type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "content_too_large"
    assert sent < 100, "the rest of the body was never asked for"


async def test_a_large_open311_post_is_413_in_the_spec_format(small: httpx.AsyncClient) -> None:
    response = await small.post("/open311/v2/requests.json", data={"description": "x" * 2000})

    assert response.status_code == 413
    assert _spec_errors(response) == [(413, "the request body is larger than 1000 bytes")]


async def test_a_body_within_the_limit_goes_through(api: Api, small: httpx.AsyncClient) -> None:
    response = await small.post(
        "/v1/petitions", json={"petition_id": "x"}, headers={"X-API-Key": api.service_key}
    )

    assert response.status_code == 422  # read, parsed and judged: it is just incomplete


# ------------------------------------------------------------------------------ headers and gaps (9)


async def test_every_answer_is_nosniff_with_a_csp_and_private_ones_are_no_store(api: Api) -> None:
    public = await api.http.get("/v1/echo-wall")
    private = await api.http.get("/v1/petitions", headers=api.service)
    error = await api.http.get("/open311/v2/requests/nope.xml")

    for response in (public, private, error):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert "strict-transport-security" not in response.headers
    assert private.headers["cache-control"] == "no-store"
    assert "cache-control" not in public.headers


async def test_hsts_is_sent_when_the_public_address_is_https(api: Api) -> None:
    async with _client(api, EdgeConfig(public_base_url="https://petitions.example.gov")) as http:
        response = await http.get("/v1/echo-wall")

    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_discovery_urls_come_from_the_setting_not_the_host_header(api: Api) -> None:
    async with _client(api, EdgeConfig(public_base_url="https://petitions.example.gov")) as http:
        response = await http.get("/open311/v2/discovery.json", headers={"Host": "evil.example"})

    assert [e["url"] for e in response.json()["endpoints"]] == ["https://petitions.example.gov/open311/v2"]
    assert "evil" not in response.text


async def test_a_wrong_content_type_is_415(api: Api) -> None:
    native = await api.http.post(
        "/v1/petitions",
        content=b"petition_id=x",
        headers={**api.service, "Content-Type": "application/x-www-form-urlencoded"},
    )
    open311 = await api.http.post("/open311/v2/requests.json", json={"service_code": "roads"})

    assert native.status_code == 415
    assert native.json()["error"] == {
        "code": "unsupported_media_type",
        "reason": "the body must be application/json, not application/x-www-form-urlencoded",
    }
    assert open311.status_code == 415
    assert _spec_errors(open311) == [
        (415, "the body must be application/x-www-form-urlencoded, not application/json")
    ]


async def test_deep_nesting_is_400_with_a_reason(api: Api) -> None:
    response = await api.http.post(
        "/v1/petitions",
        content=b"[" * 200_000,
        headers={**api.service, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "malformed_json",
        "reason": "the request body is nested too deeply to be read",
        "fields": [{"location": "body", "path": "", "reason": "nested too deeply"}],
    }


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_an_open311_405_is_in_the_spec_format(api: Api, fmt: str) -> None:
    response = await api.http.delete(f"/open311/v2/requests.{fmt}")

    assert response.status_code == 405
    assert _spec_errors(response) == [(405, "Method Not Allowed")]


async def test_the_docs_load_nothing_from_another_host(api: Api) -> None:
    response = await api.http.get("/docs")

    assert response.status_code == 200
    links = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", response.text)
    assert sorted(links) == [
        "/docs/assets/favicon.png",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
        "/openapi.json",
    ]
    assert "://" not in response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in policy and "https:" not in policy
    for link in links:
        assert (await api.http.get(link)).status_code == 200, link
    assert (await api.http.get("/redoc")).status_code == 404


async def test_discovery_in_xml_is_the_spec_s_shape(api: Api) -> None:
    """Found by the fuzz test: ``discovery.xml`` was a 500 (no element name for ``endpoints``)."""
    response = await api.http.get("/open311/v2/discovery.xml")

    assert response.status_code == 200, response.text
    [endpoint] = ElementTree.fromstring(response.content).findall("endpoints/endpoint")
    assert endpoint.findtext("url") == "http://127.0.0.1:8000/open311/v2"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]


def test_the_public_address_is_the_setting_or_where_the_api_listens() -> None:
    listening = "http://127.0.0.1:8123"

    assert EdgeConfig.from_settings(Settings(), listening=listening).public_base_url == listening
    configured = Settings(public_base_url="https://petitions.example.gov/", max_body_bytes=10)
    edge = EdgeConfig.from_settings(configured, listening=listening)
    assert (edge.public_base_url, edge.max_body_bytes, edge.sends_hsts) == (
        "https://petitions.example.gov",
        10,
        True,
    )
