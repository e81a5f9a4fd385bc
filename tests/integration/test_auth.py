"""Credentials on a real PostgreSQL: tokens fix the actor, hashes only, revocation and expiry refuse."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from schemas.common import Actor, Role, Tier
from store import auth
from tests.factories import REGION, contact_cadre, official, petitioner

AUDITOR = Actor(role=Role.AUDITOR, id="auditor-li")


async def test_a_token_authenticates_as_the_actor_it_was_issued_to(pool: asyncpg.Pool) -> None:
    township = official(Tier.TOWNSHIP)
    tokens = {actor.id: await auth.issue_token(pool, actor) for actor in (township, contact_cadre(), AUDITOR)}

    assert await auth.authenticate(pool, tokens[township.id]) == Actor(
        role=Role.OFFICIAL, id="township-official", tier=Tier.TOWNSHIP, region_id=REGION.township
    )
    assert await auth.authenticate(pool, tokens["cadre-zhang"]) == contact_cadre()
    assert await auth.authenticate(pool, tokens["auditor-li"]) == AUDITOR


async def test_only_the_hash_is_stored_and_each_token_is_new(pool: asyncpg.Pool) -> None:
    actor = official(Tier.VILLAGE)
    first = await auth.issue_token(pool, actor)
    second = await auth.issue_token(pool, actor)

    assert first != second and len(first) >= 43
    stored = {bytes(r["token_hash"]) for r in await pool.fetch("SELECT token_hash FROM access_tokens")}
    assert stored == {hashlib.sha256(t.encode()).digest() for t in (first, second)}
    dump = await pool.fetchval("SELECT string_agg(t::text, ' ') FROM access_tokens t")
    assert first not in dump and second not in dump


async def test_unknown_and_empty_tokens_are_refused(pool: asyncpg.Pool) -> None:
    await auth.issue_token(pool, official(Tier.VILLAGE))

    assert await auth.authenticate(pool, "not-a-token") is None
    assert await auth.authenticate(pool, "") is None


async def test_revoking_a_person_revokes_all_their_tokens_and_no_one_else(pool: asyncpg.Pool) -> None:
    village = official(Tier.VILLAGE)
    county = official(Tier.COUNTY)
    a, b = await auth.issue_token(pool, village), await auth.issue_token(pool, village)
    other = await auth.issue_token(pool, county)

    assert await auth.revoke_token(pool, village.id) == 2
    assert (await auth.authenticate(pool, a), await auth.authenticate(pool, b)) == (None, None)
    assert await auth.authenticate(pool, other) == county
    assert await auth.revoke_token(pool, village.id) == 0, "already revoked: nothing left to revoke"
    assert await auth.revoke_token(pool, "nobody") == 0


async def test_an_expired_token_is_refused(pool: asyncpg.Pool) -> None:
    expires = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    token = await auth.issue_token(pool, official(Tier.CITY), expires_at=expires)

    assert await auth.authenticate(pool, token, now=expires - timedelta(seconds=1)) == official(Tier.CITY)
    assert await auth.authenticate(pool, token, now=expires) is None
    assert await auth.authenticate(pool, token) is None, "by the database's clock it is long expired"


async def test_a_token_expiring_in_the_future_works_now(pool: asyncpg.Pool) -> None:
    token = await auth.issue_token(pool, AUDITOR, expires_at=datetime.now(UTC) + timedelta(hours=1))

    assert await auth.authenticate(pool, token) == AUDITOR


@pytest.mark.parametrize("actor", [petitioner(), Actor.system()])
async def test_petitioners_and_the_system_hold_no_tokens(pool: asyncpg.Pool, actor: Actor) -> None:
    with pytest.raises(ValueError, match=f"a {actor.role.value} cannot hold a token"):
        await auth.issue_token(pool, actor)
    assert await pool.fetchval("SELECT count(*) FROM access_tokens") == 0


async def test_a_naive_expiry_is_refused(pool: asyncpg.Pool) -> None:
    with pytest.raises(ValueError, match="time zone"):
        await auth.issue_token(pool, AUDITOR, expires_at=datetime(2026, 3, 2, 9, 0))


async def test_api_keys_name_their_service_until_revoked(pool: asyncpg.Pool) -> None:
    hotline = await auth.issue_api_key(pool, "hotline")
    rotated = await auth.issue_api_key(pool, "hotline")
    web = await auth.issue_api_key(pool, "web-form")

    assert [await auth.authenticate_api_key(pool, k) for k in (hotline, rotated, web)] == [
        "hotline",
        "hotline",
        "web-form",
    ]
    assert await auth.authenticate_api_key(pool, "guess") is None
    assert await auth.authenticate_api_key(pool, "") is None
    stored = {bytes(r["key_hash"]) for r in await pool.fetch("SELECT key_hash FROM api_keys")}
    assert stored == {hashlib.sha256(k.encode()).digest() for k in (hotline, rotated, web)}

    assert await auth.revoke_api_key(pool, "hotline") == 2
    assert [await auth.authenticate_api_key(pool, k) for k in (hotline, rotated, web)] == [
        None,
        None,
        "web-form",
    ]
    assert await auth.revoke_api_key(pool, "hotline") == 0


async def test_a_token_is_not_an_api_key_nor_the_other_way_round(pool: asyncpg.Pool) -> None:
    token = await auth.issue_token(pool, AUDITOR)
    key = await auth.issue_api_key(pool, "hotline")

    assert await auth.authenticate_api_key(pool, token) is None
    assert await auth.authenticate(pool, key) is None
