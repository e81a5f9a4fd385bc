"""Rate limits per client address, API key and token: 429 with Retry-After, counted in PostgreSQL so
that every API process shares the count."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from petitionflow.api import create_app
from petitionflow.api.limits import Limits
from schemas.common import Tier
from store import auth
from tests.factories import official

HOUR = 3600.0
"""Windows far longer than a test, so no window ends while one runs."""


@asynccontextmanager
async def _instance(
    env: WorkflowEnvironment, database_url: str, limits: Limits, address: str = "198.51.100.7"
) -> AsyncIterator[httpx.AsyncClient]:
    """One API process of its own (its own pool), seen from the client ``address``."""
    async with asyncpg.create_pool(database_url, min_size=1, max_size=2) as pool:
        app = create_app(temporal_client=env.client, pool=pool, limits=limits)
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://petitionflow.test") as http:
            yield http


async def test_the_request_after_the_limit_is_answered_429_with_retry_after(
    env: WorkflowEnvironment, database_url: str
) -> None:
    limits = Limits(per_address=3, window_seconds=HOUR)
    async with _instance(env, database_url, limits) as http:
        allowed = [(await http.get("/v1/echo-wall")).status_code for _ in range(3)]
        refused = await http.get("/v1/echo-wall")
        refused_311 = await http.get("/open311/v2/services.json")

    assert allowed == [200, 200, 200]
    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    assert 3500 < retry_after <= 3600
    assert refused.json() == {
        "error": {
            "code": "rate_limited",
            "reason": f"too many requests from this client address: at most 3 in 3600 s; "
            f"retry after {retry_after} s",
        }
    }
    assert "x-request-id" in refused.headers
    assert refused_311.status_code == 429
    assert refused_311.json()[0]["code"] == 429, "Open311 routes answer in GeoReport's format"
    assert "retry-after" in refused_311.headers


async def test_two_api_processes_share_the_count(env: WorkflowEnvironment, database_url: str) -> None:
    limits = Limits(per_address=4, window_seconds=HOUR)
    async with _instance(env, database_url, limits) as one, _instance(env, database_url, limits) as two:
        statuses = [
            (await one.get("/v1/echo-wall")).status_code,
            (await two.get("/v1/echo-wall")).status_code,
            (await one.get("/v1/echo-wall")).status_code,
            (await two.get("/v1/echo-wall")).status_code,
            (await one.get("/v1/echo-wall")).status_code,
        ]
    async with _instance(env, database_url, limits, address="203.0.113.9") as three:
        other_address = [(await three.get("/v1/echo-wall")).status_code]

    assert statuses == [200, 200, 200, 200, 429]
    assert other_address == [200], "another address has a count of its own"


async def test_an_api_key_and_a_token_are_limited_wherever_they_come_from(
    env: WorkflowEnvironment, database_url: str, pool: asyncpg.Pool
) -> None:
    """The key's and the token's windows follow them across addresses; the address's own window is
    untouched by the refusal of another."""
    limits = Limits(per_address=100, per_api_key=2, per_token=1, window_seconds=HOUR)
    key = {"X-API-Key": await auth.issue_api_key(pool, "hotline")}
    token = {"Authorization": f"Bearer {await auth.issue_token(pool, official(Tier.VILLAGE))}"}
    async with (
        _instance(env, database_url, limits, address="198.51.100.1") as a,
        _instance(env, database_url, limits, address="198.51.100.2") as b,
    ):
        keyed = [
            (await a.get("/v1/petitions", headers=key)).status_code,
            (await b.get("/v1/petitions", headers=key)).status_code,
            (await b.get("/v1/petitions", headers=key)).status_code,
        ]
        tokened = [
            (await a.get("/v1/petitions", headers=token)).status_code,
            (await b.get("/v1/petitions", headers=token)).status_code,
        ]
        open311_key = (
            await a.get("/open311/v2/services.json", params={"api_key": key["X-API-Key"]})
        ).status_code
        posted = await b.post("/open311/v2/requests.json", data={"api_key": key["X-API-Key"]})
        public = (await b.get("/v1/echo-wall")).status_code

    assert keyed == [200, 200, 429]
    assert tokened == [200, 429]
    assert open311_key == 429, "Open311's api_key in the query is the same key"
    assert posted.status_code == 429, "and so is one in a POST's form"
    assert posted.json()[0]["description"].startswith("too many requests from this API key")
    assert public == 200
    stored = await pool.fetch("SELECT bucket FROM rate_limits")
    assert not [r for r in stored if key["X-API-Key"] in r["bucket"]], "secrets are stored only hashed"


async def test_guessed_keys_count_against_the_address_and_a_valid_key_does_not(
    env: WorkflowEnvironment, database_url: str, pool: asyncpg.Pool
) -> None:
    """Each guess presents a different key, so only the address's window can stop guessing; a
    service known by its valid key is limited by the key's window, not by the address it shares."""
    limits = Limits(per_address=3, per_api_key=10, window_seconds=HOUR)
    valid = {"X-API-Key": await auth.issue_api_key(pool, "hotline")}
    async with _instance(env, database_url, limits) as http:
        keyed = [(await http.get("/v1/petitions", headers=valid)).status_code for _ in range(5)]
        guesses = [
            (await http.get("/v1/petitions", headers={"X-API-Key": f"guess-{n}"})).status_code
            for n in range(4)
        ]
        public = (await http.get("/v1/echo-wall")).status_code
        still_keyed = (await http.get("/v1/petitions", headers=valid)).status_code

    assert keyed == [200] * 5, "valid keyed requests are not counted against the address"
    assert guesses == [401, 401, 401, 429]
    assert public == 429, "the address's window is spent"
    assert still_keyed == 200, "the valid key has a window of its own"


async def test_with_limits_off_nothing_is_counted(
    env: WorkflowEnvironment, database_url: str, pool: asyncpg.Pool
) -> None:
    async with _instance(env, database_url, Limits(per_address=1, enabled=False)) as http:
        statuses = [(await http.get("/v1/echo-wall")).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert await pool.fetchval("SELECT count(*) FROM rate_limits") == 0
