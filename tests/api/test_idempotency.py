"""Idempotency-Key: a key names one request of one caller; it is applied once, across every API
process and every run of the petition, and a key reused with another request is 422."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg

from petitionflow.api import idempotency as api_idempotency
from schemas.common import Tier
from store import idempotency
from store.idempotency import Answer, Begin
from tests.api.conftest import Api
from tests.factories import contact_cadre, filing, filing_body, official


async def _filed(api: Api, petition_id: str) -> None:
    body = filing_body(petition_id)
    assert (await api.http.post("/v1/petitions", json=body, headers=api.service)).status_code == 201
    await api.stored(petition_id, 1)


def _keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


REUSED = {
    "error": {
        "code": "idempotency_key_reused",
        "reason": "this Idempotency-Key was sent before with another request (verb, petition or body); "
        "use a new key for a new request",
    }
}


async def test_a_key_reused_with_another_body_or_verb_is_422_and_applies_nothing(api: Api) -> None:
    await _filed(api, "k-1")
    village = _keyed(await api.official(Tier.VILLAGE), "k-1-first")

    first = await api.http.post(
        "/v1/petitions/k-1/actions/acknowledge", json={"note": "Called."}, headers=village
    )
    other_body = await api.http.post(
        "/v1/petitions/k-1/actions/acknowledge", json={"note": "Called again."}, headers=village
    )
    other_verb = await api.http.post(
        "/v1/petitions/k-1/actions/escalate", json={"reason": "Beyond us."}, headers=village
    )
    replay = await api.http.post(
        "/v1/petitions/k-1/actions/acknowledge", json={"note": "Called."}, headers=village
    )

    assert first.status_code == 200, first.text
    assert (other_body.status_code, other_body.json()) == (422, REUSED)
    assert (other_verb.status_code, other_verb.json()) == (422, REUSED)
    assert (replay.status_code, replay.json()) == (200, first.json())
    assert replay.headers["idempotent-replayed"] == "true"
    await api.stored("k-1", 2)
    assert await api.events("k-1") == ["PetitionFiled", "Acknowledged"]


async def test_a_key_is_scoped_to_its_caller(api: Api) -> None:
    """Another official sending the same key gets the rules' own answer to them, not the replay of
    the first official's success."""
    await _filed(api, "k-2")
    village = _keyed(await api.official(Tier.VILLAGE), "shared-key")
    township = _keyed(await api.official(Tier.TOWNSHIP), "shared-key")

    first = await api.http.post("/v1/petitions/k-2/actions/acknowledge", json={}, headers=village)
    intruder = await api.http.post("/v1/petitions/k-2/actions/acknowledge", json={}, headers=township)

    assert first.status_code == 200, first.text
    assert intruder.status_code == 403
    assert intruder.json()["error"]["code"] == "wrong_tier"
    assert "idempotent-replayed" not in intruder.headers


async def test_a_refusal_is_the_keys_final_answer(api: Api) -> None:
    await _filed(api, "k-3")
    township = _keyed(await api.official(Tier.TOWNSHIP), "k-3-ack")

    refused = await api.http.post("/v1/petitions/k-3/actions/acknowledge", json={}, headers=township)
    again = await api.http.post("/v1/petitions/k-3/actions/acknowledge", json={}, headers=township)

    assert refused.status_code == again.status_code == 403
    assert again.json() == refused.json()
    assert again.headers["idempotent-replayed"] == "true"


async def test_a_key_still_being_answered_is_409_with_retry_after(api: Api) -> None:
    await _filed(api, "k-4")
    actor = official(Tier.VILLAGE)
    caller = api_idempotency.caller_of(actor)
    request_hash = api_idempotency.fingerprint("acknowledge", "k-4", {"note": None})
    # Another API process is answering this very request right now.
    assert (await idempotency.begin(api.pool, caller, "k-4-ack", request_hash)).begin is Begin.EXECUTE

    busy = await api.http.post(
        "/v1/petitions/k-4/actions/acknowledge", json={}, headers=_keyed(await api.token(actor), "k-4-ack")
    )

    assert busy.status_code == 409
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["error"]["code"] == "idempotency_key_in_use"
    assert await api.events("k-4") == ["PetitionFiled"]


async def test_a_retry_after_continue_as_new_is_not_applied_again(api: Api) -> None:
    """Temporal dedupes update ids only within one run. A resolve retried with its key after the
    petition has continued as new, at a moment when resolving would be accepted again, is answered
    from the key table and stores no second resolution."""
    await api.petitions.file(filing("k-long"), history_limit=50)
    village = await api.official(Tier.VILLAGE)
    cadre = await api.token(contact_cadre())

    async def act(verb: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        response = await api.http.post(f"/v1/petitions/k-long/actions/{verb}", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    resolve = {"outcome": "resolved", "public_summary": "The bridge was rebuilt."}
    await act("acknowledge", {}, village)
    await act("assess", {"decision": "accept"}, village)
    first = await act("resolve", resolve, _keyed(village, "resolve-once"))
    first_run = (await api.petitions.handle("k-long").describe()).run_id
    for _ in range(5):  # rated, closed, the fix fails, reopened, accepted: resolvable again
        await act("rate", {"petitioner_id": "hh-0042", "rating": "satisfied"}, api.link("k-long"))
        await act("record_return_visit", {"held": False}, cadre)
        await act("assess", {"decision": "accept"}, village)
        if _ < 4:
            await act("resolve", {**resolve, "public_summary": "Fixed again."}, village)
    assert (await api.petitions.handle("k-long").describe()).run_id != first_run, "it continued as new"
    before = await api.petitions.view("k-long")

    retried = await api.http.post(
        "/v1/petitions/k-long/actions/resolve", json=resolve, headers=_keyed(village, "resolve-once")
    )

    assert (retried.status_code, retried.json()) == (200, first)
    after = await api.petitions.view("k-long")
    assert (after.seq, after.stage) == (before.seq, before.stage)
    await api.stored("k-long", before.seq)
    assert (await api.events("k-long")).count("Resolved") == 5


async def test_concurrent_requests_with_one_key_let_exactly_one_execute(pool: asyncpg.Pool) -> None:
    request_hash = api_idempotency.fingerprint("withdraw", "k-5", {"petitioner_id": "hh-1", "reason": None})

    claims = await asyncio.gather(
        *(idempotency.begin(pool, "service:hotline", "k-5-w", request_hash) for _ in range(8))
    )

    assert sorted(c.begin.value for c in claims) == ["execute"] + ["in_use"] * 7
    await idempotency.finish(pool, "service:hotline", "k-5-w", Answer(200, {"seq": 3}))
    replayed = await idempotency.begin(pool, "service:hotline", "k-5-w", request_hash)
    assert replayed == idempotency.Claimed(Begin.REPLAY, Answer(200, {"seq": 3}))


async def test_a_key_abandoned_by_a_dead_process_executes_again(pool: asyncpg.Pool) -> None:
    request_hash = api_idempotency.fingerprint("withdraw", "k-6", {})
    assert (await idempotency.begin(pool, "service:hotline", "k", request_hash)).begin is Begin.EXECUTE

    fresh = await idempotency.begin(pool, "service:hotline", "k", request_hash)
    stale = await idempotency.begin(pool, "service:hotline", "k", request_hash, stale_after=timedelta(0))

    assert (fresh.begin, stale.begin) == (Begin.IN_USE, Begin.EXECUTE)
