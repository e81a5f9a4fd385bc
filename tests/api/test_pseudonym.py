"""Open311 pseudonyms are an HMAC under the server's secret: no secret, no guessing a phone back."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

import worker
from petitionflow.api import create_app
from petitionflow.api.open311 import pseudonym
from store import auth

TEST_SECRET = b"test-only-pseudonym-secret-1"
OTHER_SECRET = b"test-only-pseudonym-secret-2"
PHONE = "+86 139 0000 0042"


def test_a_pseudonym_is_the_hmac_of_the_contact_and_differs_with_another_secret() -> None:
    expected = hmac.new(TEST_SECRET, f"phone:{PHONE.lower()}".encode(), hashlib.sha256).hexdigest()[:24]
    assert pseudonym(TEST_SECRET, "phone", PHONE) == f"o311-{expected}"
    assert pseudonym(TEST_SECRET, "phone", f"  {PHONE} ") == pseudonym(TEST_SECRET, "phone", PHONE)
    assert pseudonym(OTHER_SECRET, "phone", PHONE) != pseudonym(TEST_SECRET, "phone", PHONE)
    bare = hashlib.sha256(f"phone:{PHONE.lower()}".encode()).hexdigest()[:24]
    assert pseudonym(TEST_SECRET, "phone", PHONE) != f"o311-{bare}", "no longer a bare hash of the phone"


async def test_a_reporter_filed_through_open311_gets_the_servers_pseudonym(
    env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    key = await auth.issue_api_key(pool, "hotline")
    form = {
        "api_key": key,
        "service_code": "roads",
        "address_id": "v-dongshan",
        "phone": PHONE,
        "description": "The bridge on the east lane collapsed.",
    }
    found = []
    for secret in (TEST_SECRET, OTHER_SECRET):
        task_queue = str(uuid.uuid4())
        app = create_app(
            temporal_client=env.client, pool=pool, task_queue=task_queue, pseudonym_secret=secret
        )
        async with (
            worker.build_worker(env.client, pool, task_queue=task_queue),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http,
        ):
            created = await http.post("/open311/v2/requests.json", data=form)
            assert created.status_code == 200, created.text
            petition_id = created.json()[0]["service_request_id"]
            view = await app.state.services.petitions.view(petition_id)
            found.append(view.petitioner_id)
    assert found == [pseudonym(TEST_SECRET, "phone", PHONE), pseudonym(OTHER_SECRET, "phone", PHONE)]
