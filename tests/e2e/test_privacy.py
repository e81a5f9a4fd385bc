"""The running dev stack encrypts what it hands Temporal: the raw history of a filed petition holds no
name, phone or petition text in clear, and the codec server decodes it for an auditor only."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
from google.protobuf import json_format
from temporalio.client import Client

from tests.e2e.conftest import DevStack
from tests.factories import filing_body

IN_CLEAR = ("Wang Fang", "139 0000 0042", "3 East Lane", "bridge on the east lane")


async def _raw_start_input(address: str, workflow_id: str) -> dict[str, object]:
    """The start event's input as a client with no codec sees it (what `temporal workflow show` sees)."""
    raw = await Client.connect(address)
    history = await raw.get_workflow_handle(workflow_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    return json.loads(json_format.MessageToJson(started.input))


def test_the_raw_history_is_ciphertext_and_the_codec_decodes_it_for_an_auditor_only(stack: DevStack) -> None:
    key = stack.secret("keys", "add", "privacy-hotline")
    auditor = stack.secret("officials", "add", "auditor-e2e", "--role", "auditor")
    cadre = stack.secret(
        "officials",
        "add",
        "cadre-zhang",  # the sample directory's cadre of v-dongshan (tokens go only to the roster)
        "--role",
        "contact_cadre",
        "--tier",
        "village",
        "--region",
        "v-dongshan",
    )
    body = filing_body("e2e-private")
    with httpx.Client(base_url=stack.api, timeout=30) as http:
        assert http.post("/v1/petitions", json=body, headers={"X-API-Key": key}).status_code == 201
        start = asyncio.run(
            _raw_start_input(stack.env["PETITIONFLOW_TEMPORAL_ADDRESS"], "petition-e2e-private")
        )
        [payload] = start["payloads"]  # type: ignore[index]
        raw = base64.b64decode(payload["data"])
        assert [text for text in IN_CLEAR if text.encode() in raw] == []
        assert base64.b64decode(payload["metadata"]["encoding"]) == b"binary/encrypted"

        decoded = http.post("/codec/decode", json=start, headers={"Authorization": f"Bearer {auditor}"})
        assert decoded.status_code == 200, decoded.text
        clear = base64.b64decode(decoded.json()["payloads"][0]["data"]).decode()
        assert [text for text in IN_CLEAR if text in clear] == list(IN_CLEAR)

        assert http.post("/codec/decode", json=start).status_code == 401
        assert http.post("/codec/decode", json=start, headers={"X-API-Key": key}).status_code == 403
        refused = http.post("/codec/decode", json=start, headers={"Authorization": f"Bearer {cadre}"})
        assert refused.status_code == 403
