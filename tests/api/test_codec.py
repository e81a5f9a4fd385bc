"""The codec server for the Temporal UI: it decodes for auditors and officials and for no one else,
and CORS answers only the configured UI origin."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

import worker
from petitionflow.api import create_app
from petitionflow.api.codec import COOKIE
from petitionflow.codec import Keyring, new_key
from petitionflow.converter import data_converter
from petitionflow.dev.testing import time_skipping
from schemas.common import Actor, Role, Tier
from store import auth
from tests.factories import contact_cadre, filing, official

UI = "http://ui.test:8233"
RING = Keyring([new_key("ui-key")], "ui-key")


@dataclass
class CodecApi:
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    service_key: str
    started_input: dict[str, object]
    """The raw (encrypted) start input of a filed petition, as the UI would post it."""

    async def bearer(self, actor: Actor) -> dict[str, str]:
        return {"Authorization": f"Bearer {await auth.issue_token(self.pool, actor)}"}


@pytest.fixture
async def codec_api(pool: asyncpg.Pool) -> AsyncIterator[CodecApi]:
    async with time_skipping(keyring=RING) as env:
        task_queue = str(uuid.uuid4())
        app = create_app(temporal_client=env.client, pool=pool, task_queue=task_queue, codec_origin=UI)
        key = await auth.issue_api_key(pool, "hotline")
        async with (
            worker.build_worker(env.client, pool, task_queue=task_queue),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http,
        ):
            await app.state.services.petitions.file(filing("p-ui"))
            yield CodecApi(http, pool, key, await _raw_start_input(env))


async def _raw_start_input(env: WorkflowEnvironment) -> dict[str, object]:
    raw = Client(**{**env.client.config(), "data_converter": data_converter()})
    history = await raw.get_workflow_handle("petition-p-ui").fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    return json.loads(json_format.MessageToJson(started.input))


def _texts(answer: httpx.Response) -> list[str]:
    payloads = json_format.Parse(answer.content, Payloads())
    return [p.data.decode() for p in payloads.payloads]


async def test_an_auditor_and_an_official_read_the_payloads_in_clear(codec_api: CodecApi) -> None:
    assert "Wang Fang" not in json.dumps(codec_api.started_input)
    for actor in (Actor(role=Role.AUDITOR, id="auditor-chen"), official(Tier.VILLAGE)):
        answer = await codec_api.http.post(
            "/codec/decode", json=codec_api.started_input, headers=await codec_api.bearer(actor)
        )
        assert answer.status_code == 200, answer.text
        [text] = _texts(answer)
        start = json.loads(text)
        assert start["filing"]["petitioner"]["name"] == "Wang Fang"
        assert start["filing"]["description"].startswith("The bridge on the east lane collapsed")


async def test_encode_then_decode_round_trips(codec_api: CodecApi) -> None:
    auditor = await codec_api.bearer(Actor(role=Role.AUDITOR, id="auditor-chen"))
    plain = {
        "payloads": [
            {
                "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                "data": base64.b64encode(b'"Li Lei"').decode(),
            }
        ]
    }
    encoded = await codec_api.http.post("/codec/encode", json=plain, headers=auditor)
    assert encoded.status_code == 200
    sealed = encoded.json()["payloads"][0]
    assert base64.b64decode(sealed["metadata"]["encryption-key-id"]) == b"ui-key"
    assert b"Li Lei" not in base64.b64decode(sealed["data"])
    decoded = await codec_api.http.post("/codec/decode", json=encoded.json(), headers=auditor)
    assert _texts(decoded) == ['"Li Lei"']


async def test_no_credentials_a_service_key_and_a_contact_cadre_are_refused(codec_api: CodecApi) -> None:
    body = codec_api.started_input
    nobody = await codec_api.http.post("/codec/decode", json=body)
    assert (nobody.status_code, nobody.json()["error"]["code"]) == (401, "unauthenticated")
    service = await codec_api.http.post(
        "/codec/decode", json=body, headers={"X-API-Key": codec_api.service_key}
    )
    assert service.status_code == 403
    assert (
        service.json()["error"]["reason"] == "the codec is for auditors and officials, not for service keys"
    )
    cadre = await codec_api.http.post(
        "/codec/decode", json=body, headers=await codec_api.bearer(contact_cadre())
    )
    assert cadre.status_code == 403
    assert (
        cadre.json()["error"]["reason"]
        == "the codec is for auditors and officials; the token is a contact_cadre's"
    )
    bad = await codec_api.http.post(
        "/codec/decode", json={"payloads": "x"}, headers=await codec_api.bearer(official(Tier.VILLAGE))
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_payloads")


async def test_the_session_cookie_authenticates_the_ui(codec_api: CodecApi) -> None:
    token = await auth.issue_token(codec_api.pool, Actor(role=Role.AUDITOR, id="auditor-chen"))
    started = await codec_api.http.post(
        "/codec/session",
        content=f"token={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert started.status_code == 303
    assert started.cookies.get(COOKIE) == token
    answer = await codec_api.http.post("/codec/decode", json=codec_api.started_input, headers={"Origin": UI})
    assert answer.status_code == 200
    assert json.loads(_texts(answer)[0])["filing"]["petitioner"]["name"] == "Wang Fang"


async def test_cors_answers_only_the_configured_origin(codec_api: CodecApi) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = await codec_api.http.options("/codec/decode", headers={"Origin": UI, **preflight})
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == UI
    assert ok.headers["Access-Control-Allow-Credentials"] == "true"
    assert ok.headers["Access-Control-Allow-Methods"] == "POST"
    assert "x-namespace" in ok.headers["Access-Control-Allow-Headers"]

    other = await codec_api.http.options("/codec/decode", headers={"Origin": "http://evil.test", **preflight})
    assert other.status_code == 403
    assert "Access-Control-Allow-Origin" not in other.headers

    auditor = await codec_api.bearer(Actor(role=Role.AUDITOR, id="auditor-chen"))
    from_other = await codec_api.http.post(
        "/codec/decode", json=codec_api.started_input, headers={**auditor, "Origin": "http://evil.test"}
    )
    assert "Access-Control-Allow-Origin" not in from_other.headers
    from_ui = await codec_api.http.post(
        "/codec/decode", json=codec_api.started_input, headers={**auditor, "Origin": UI}
    )
    assert from_ui.headers["Access-Control-Allow-Origin"] == UI
