"""The API's contract: action bodies track the commands, the OpenAPI document describes every door,
and each request is logged with its id, petition and actor."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import structlog
from pydantic import BaseModel
from structlog.testing import capture_logs

from petitionflow.api import create_app, serve
from petitionflow.api.bodies import OFFICIAL_BODIES, PETITIONER_BODIES
from petitionflow.dev.embedded_pg import free_port
from schemas.commands import ACTION_TYPES
from schemas.common import Tier
from store.offices import OFFICE_FIELDS
from tests.api.conftest import Api
from tests.factories import filing_body


def _fields(model: type[BaseModel], *, leave_out: tuple[str, ...] = ()) -> dict[str, tuple[Any, Any]]:
    """Each field's type and default (``...`` when required)."""
    return {
        name: (field.annotation, ... if field.is_required() else field.default)
        for name, field in model.model_fields.items()
        if name not in leave_out
    }


def test_each_action_body_is_its_command_without_the_actor() -> None:
    assert sorted({**OFFICIAL_BODIES, **PETITIONER_BODIES}) == sorted(ACTION_TYPES)
    for verb, official_body in OFFICIAL_BODIES.items():
        body, command = _fields(official_body), _fields(ACTION_TYPES[verb], leave_out=("actor", "kind"))
        if verb in OFFICE_FIELDS:  # offices are named by id; the door resolves them from the directory
            given, resolved = OFFICE_FIELDS[verb]
            assert given in body and resolved in command, verb
            body.pop(given)
            command.pop(resolved)
            command.pop("chain", None)
        assert body == command, verb
    for verb, petitioner_body in PETITIONER_BODIES.items():
        assert _fields(petitioner_body, leave_out=("petitioner_id",)) == _fields(
            ACTION_TYPES[verb], leave_out=("actor", "kind")
        ), verb
        assert _fields(petitioner_body)["petitioner_id"][1] is ...


async def test_the_openapi_document_describes_bodies_errors_and_security(api: Api) -> None:
    document = (await api.http.get("/openapi.json")).json()
    paths = document["paths"]

    assert {p for p in paths if p.startswith("/v1/")} == {
        "/v1/petitions",
        "/v1/petitions/{petition_id}",
        "/v1/echo-wall",
        "/v1/figures",
        "/v1/directory/coverage",
        *(f"/v1/petitions/{{petition_id}}/actions/{verb}" for verb in ACTION_TYPES),
        *(
            f"/v1/audit/petitions/{{petition_id}}/{what}"
            for what in ("export", "verify", "timeline", "state", "proof")
        ),
        "/v1/audit/access-log",
        "/v1/petitions/{petition_id}/petitioner-link",
        "/v1/petitions/{petition_id}/as-petitioner",
        "/v1/sms/inbound",
        "/v1/audit/checkpoints",
        "/v1/audit/checkpoints/consistency",
    }
    assess = paths["/v1/petitions/{petition_id}/actions/assess"]["post"]
    assert assess["tags"] == ["actions"]
    assert assess["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AssessBody"
    }
    assert {"HTTPBearer": []} in assess["security"]
    for status in ("401", "403", "404", "409", "422"):
        assert assess["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"
        }
    schemas = document["components"]["schemas"]
    assert "actor" not in schemas["AssessBody"]["properties"]
    assert schemas["AssessBody"]["additionalProperties"] is False
    assert "petitioner_id" in schemas["RateBody"]["required"]
    rate = paths["/v1/petitions/{petition_id}/actions/rate"]["post"]
    assert {"APIKeyHeader": []} in rate["security"]
    filed = paths["/v1/petitions"]["post"]
    assert set(filed["responses"]) >= {"200", "201", "400", "401", "422"}
    assert paths["/v1/echo-wall"]["get"].get("security") is None, "the echo wall is public"
    assert "/open311/v2/requests.{fmt}" in paths


async def test_each_request_gets_an_id_and_a_log_line_with_its_petition_and_actor(api: Api) -> None:
    body = filing_body("log-1")
    await api.http.post("/v1/petitions", json=body, headers=api.service)
    village = await api.official(Tier.VILLAGE)

    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        acted = await api.http.post("/v1/petitions/log-1/actions/acknowledge", json={}, headers=village)
        echoed = await api.http.get("/v1/echo-wall", headers={"X-Request-ID": "trace-42"})

    lines = [line for line in logs if line["event"] == "request"]
    assert [
        (line["request_id"], line.get("petition_id"), line.get("actor"), line["status"], line["path"])
        for line in lines
    ] == [
        (
            acted.headers["x-request-id"],
            "log-1",
            "official:village-official",
            200,
            "/v1/petitions/log-1/actions/acknowledge",
        ),
        ("trace-42", None, None, 200, "/v1/echo-wall"),
    ]
    assert len(acted.headers["x-request-id"]) == 32
    assert echoed.headers["x-request-id"] == "trace-42"


async def test_serve_answers_on_a_real_socket_and_stops_when_cancelled(api: Api) -> None:
    app = create_app(temporal_client=api.env.client, pool=api.pool)
    port = free_port()
    server = asyncio.create_task(serve(app, port=port))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(200):
                try:
                    response = await http.get("/open311/v2/services.json")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.02)
            else:
                raise AssertionError("the server never answered")
        assert response.status_code == 200
        assert response.json()[0]["service_code"] == "roads"
    finally:
        server.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await server
    assert server.cancelled()
