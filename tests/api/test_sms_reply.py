"""A household rates its answer by SMS reply, end to end: the real app and its worker, the real
dispatcher sending the answer by SMS to a real HTTP gateway, and the reply posted back to
``POST /v1/sms/inbound``.

The answer goes to the household's phone in the county directory, which need not be the phone given
at filing; a retried answer SMS carries the code the first one did; a new answer's code replaces
the old one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from temporalio.testing import WorkflowEnvironment

from petitionflow.api.petitioner import ProofConfig
from petitionflow.notify import AnswerProofing, Dispatcher
from schemas.common import Tier
from store import auth
from tests.api.conftest import Api, open_api
from tests.factories import PETITIONER_ID, filing_body
from tests.notify.conftest import config
from tests.notify.receivers import Received, Receiver

SECRET = "reply-proof-test-secret"
FILING_PHONE = "13900000042"  # tests.factories: "+86 139 0000 0042"
DIRECTORY_PHONE = "+86 137 0000 0007"
OTHER_PHONE = "13700000099"
SHANGHAI = ZoneInfo("Asia/Shanghai")
GATEWAY = {"provider": "generic", "endpoint": "", "generic_headers": {"Authorization": "Bearer gateway-key"}}


class LosingGateway(Receiver):
    """A generic SMS gateway that takes the first ``lose`` answer messages (they reach the household)
    but whose acknowledgement never reaches the dispatcher (a 503 from the proxy in front of it)."""

    lose: int = 0

    async def _gateway(self, request: Request) -> Response:
        answered = await super()._gateway(request)
        if self.lose and self.received and "回复" in self.received[-1].body["text"]:
            self.lose -= 1
            return JSONResponse({"error": "upstream timed out"}, status_code=503)
        return answered


@pytest.fixture
async def gateway() -> AsyncIterator[LosingGateway]:
    receiver = LosingGateway()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


@pytest.fixture
async def api(env: WorkflowEnvironment, pool: asyncpg.Pool) -> AsyncIterator[Api]:
    async with open_api(env, pool, proofs=ProofConfig(secret=SECRET)) as running:
        yield running


def _noon() -> datetime:
    """Today at noon in Shanghai: outside the quiet hours a household's SMS waits through."""
    return datetime.now(SHANGHAI).replace(hour=12, minute=0, second=0, microsecond=0)


async def _dispatch(api: Api, gateway: Receiver, at: datetime) -> None:
    sms = {**GATEWAY, "endpoint": gateway.url("/gateway")}
    proofing = AnswerProofing(secret=SECRET, link_base="https://petitions.example/h/")
    dispatcher = Dispatcher(
        api.pool,
        config(gateway, sms=sms, confirm_after=timedelta(0)),
        client=api.env.client,
        proofs=proofing,
        clock=lambda: at,
    )
    try:
        for _ in range(20):
            if dispatcher._confirmer is not None:  # what the loop does first: confirm held messages
                await dispatcher._confirmer.confirm_held()
            if await dispatcher.run_once() == 0:
                break
    finally:
        await dispatcher.aclose()


def _answers(gateway: Receiver) -> list[Received]:
    return [r for r in gateway.at("/gateway") if "回复" in r.body["text"]]


async def _directory_phone(api: Api, phone: str) -> None:
    """The county directory holds ``phone`` for the household (not the one given at filing); imported
    after the filing, as the directory of the tests' region is not (its roster, its villages)."""
    await api.pool.execute("INSERT INTO directory_versions (version, source) VALUES (1, 'tests')")
    await api.pool.execute(
        "INSERT INTO directory_households (version, household_id, village_id, cadre_id, phone)"
        " VALUES (1, $1, 'v-dongshan', NULL, $2)",
        PETITIONER_ID,
        phone,
    )


async def _village(api: Api) -> dict[str, str]:
    """The village official's token (issued before a directory is imported: its roster has no one)."""
    return await api.official(Tier.VILLAGE)


async def _answered(api: Api, village: dict[str, str], petition_id: str, *, file: bool = True) -> None:
    """Filed (unless ``file`` is false), then acknowledged, accepted and resolved by the village;
    recorded, so the answer's SMS is due."""
    if file:
        body = filing_body(petition_id)
        assert (await api.http.post("/v1/petitions", json=body, headers=api.service)).status_code == 201
        steps = [("acknowledge", {}), ("assess", {"decision": "accept"})]
    else:
        steps = []
    steps.append(("resolve", {"outcome": "resolved", "public_summary": "The bridge was rebuilt."}))
    for verb, step in steps:
        done = await api.http.post(f"/v1/petitions/{petition_id}/actions/{verb}", json=step, headers=village)
        assert done.status_code == 200, done.text
    await api.stored(petition_id, (await api.petitions.view(petition_id)).seq)


async def _reply(api: Api, key: dict[str, str], phone: str, text: str) -> httpx.Response:
    return await api.http.post("/v1/sms/inbound", json={"phone": phone, "text": text}, headers=key)


async def test_a_reply_from_the_directory_phone_the_answer_went_to_rates_it(
    api: Api, gateway: LosingGateway
) -> None:
    village = await _village(api)
    await _answered(api, village, "r-1")
    await _directory_phone(api, DIRECTORY_PHONE)
    await _dispatch(api, gateway, _noon())
    (answer,) = _answers(gateway)
    assert answer.body["phone"] == DIRECTORY_PHONE  # not the phone given at filing
    code = answer.body["params"]["reply_code"]
    key = {"X-API-Key": await auth.issue_api_key(api.pool, "sms-gateway")}

    rated = await _reply(api, key, "+8613700000007", f"{code} 2")

    assert (rated.status_code, rated.json()) == (200, {"petition_id": "r-1", "rating": "basically_satisfied"})
    assert (await api.petitions.view("r-1")).closed_reason == "basically_satisfied"
    # The number is kept only as a keyed hash: no table of the reply codes holds it.
    dump = await api.pool.fetchval("SELECT string_agg(r::text, ' ') FROM reply_codes r")
    assert "13700000007" not in dump and "3700000007" not in dump


async def test_a_third_number_is_refused_like_a_wrong_code_and_the_filing_phone_still_holds(
    api: Api, gateway: LosingGateway
) -> None:
    village = await _village(api)
    await _answered(api, village, "r-2")
    await _directory_phone(api, DIRECTORY_PHONE)
    await _dispatch(api, gateway, _noon())
    (answer,) = _answers(gateway)
    code = answer.body["params"]["reply_code"]
    wrong = f"{(int(code) + 1) % 10_000:04d}"
    key = {"X-API-Key": await auth.issue_api_key(api.pool, "sms-gateway")}

    third = await _reply(api, key, OTHER_PHONE, f"{code} 1")
    wrong_code = await _reply(api, key, DIRECTORY_PHONE, f"{wrong} 1")
    filed = await _reply(api, key, FILING_PHONE, f"{code} 1")

    assert (third.status_code, third.json()["error"]["code"]) == (403, "reply_unproven")
    assert third.json() == wrong_code.json()
    assert (filed.status_code, filed.json()) == (200, {"petition_id": "r-2", "rating": "satisfied"})


async def test_a_retried_answer_sms_carries_the_same_code_and_the_first_ones_holds(
    api: Api, gateway: LosingGateway
) -> None:
    village = await _village(api)
    await _answered(api, village, "r-3")
    await _directory_phone(api, DIRECTORY_PHONE)
    gateway.lose = 1
    noon = _noon()
    await _dispatch(api, gateway, noon)
    (first,) = _answers(gateway)  # it reached the household, but the dispatcher heard a 503
    (row,) = await api.pool.fetch(
        "SELECT attempts, sent_at FROM notifications WHERE kind = 'resolution_to_petitioner'"
    )
    assert (row["attempts"], row["sent_at"]) == (1, None)
    await _dispatch(api, gateway, noon + timedelta(minutes=5))  # the retry, past its backoff
    first_again, second = _answers(gateway)
    assert first_again is first and second.body["id"] == first.body["id"]  # the same notification
    code = first.body["params"]["reply_code"]
    assert second.body["params"]["reply_code"] == code
    key = {"X-API-Key": await auth.issue_api_key(api.pool, "sms-gateway")}

    rated = await _reply(api, key, DIRECTORY_PHONE, f"{code} 1")
    again = await _reply(api, key, DIRECTORY_PHONE, f"{code} 1")

    assert (rated.status_code, rated.json()) == (200, {"petition_id": "r-3", "rating": "satisfied"})
    assert (again.status_code, again.json()["error"]["code"]) == (403, "reply_unproven")  # spent once


async def test_a_new_answers_code_replaces_the_old_one(api: Api, gateway: LosingGateway) -> None:
    village = await _village(api)
    await _answered(api, village, "r-4")
    await _directory_phone(api, DIRECTORY_PHONE)
    noon = _noon()
    await _dispatch(api, gateway, noon)
    (old,) = _answers(gateway)
    # Dissatisfied, through the link (the SMS code is left unspent): the village answers again.
    link = old.body["text"].rsplit("/h/", 1)[1].strip()
    rate = {"petitioner_id": PETITIONER_ID, "rating": "dissatisfied"}
    reopened = await api.http.post(
        "/v1/petitions/r-4/actions/rate", json=rate, headers={"X-Petitioner-Token": link}
    )
    assert reopened.status_code == 200, reopened.text
    await _answered(api, village, "r-4", file=False)
    await _dispatch(api, gateway, noon + timedelta(minutes=5))
    _, new = _answers(gateway)
    old_code, new_code = old.body["params"]["reply_code"], new.body["params"]["reply_code"]
    assert new.body["id"] != old.body["id"] and new_code != old_code
    key = {"X-API-Key": await auth.issue_api_key(api.pool, "sms-gateway")}

    stale = await _reply(api, key, DIRECTORY_PHONE, f"{old_code} 1")
    fresh = await _reply(api, key, DIRECTORY_PHONE, f"{new_code} 1")

    assert (stale.status_code, stale.json()["error"]["code"]) == (403, "reply_unproven")
    assert (fresh.status_code, fresh.json()) == (200, {"petition_id": "r-4", "rating": "satisfied"})
