"""The shared request counter on PostgreSQL: exact under concurrent writers, windows that end start
over, and address windows skipped only for a valid credential."""

from __future__ import annotations

import asyncio

import asyncpg

from store import auth, rate_limits
from store.rate_limits import Window

HOUR = 3600.0


async def test_concurrent_hits_are_each_counted_once(pool: asyncpg.Pool) -> None:
    window = Window("address:198.51.100.7", limit=15, seconds=HOUR)

    counts = await asyncio.gather(*(rate_limits.hit(pool, [window]) for _ in range(20)))

    assert sorted(c.hits for [c] in counts) == list(range(1, 21))
    assert sum(c.exceeded for [c] in counts) == 5


async def test_a_window_that_has_ended_starts_over_and_is_purged(pool: asyncpg.Pool) -> None:
    window = Window("key:abc", limit=2, seconds=HOUR)
    for _ in range(3):
        await rate_limits.hit(pool, [window])
    await pool.execute("UPDATE rate_limits SET window_start = now() - interval '2 hours'")
    stale = Window("token:old", limit=2, seconds=60)
    await rate_limits.hit(pool, [stale])
    await pool.execute(
        "UPDATE rate_limits SET window_start = now() - interval '2 minutes' WHERE bucket = 'token:old'"
    )

    [count] = await rate_limits.hit(pool, [window])

    assert (count.hits, count.exceeded) == (1, False)
    assert 3590 < count.resets_in <= 3600
    assert await rate_limits.purge(pool) == 1
    assert [r["bucket"] for r in await pool.fetch("SELECT bucket FROM rate_limits")] == ["key:abc"]


async def test_an_address_window_is_skipped_only_for_a_live_credential(pool: asyncpg.Pool) -> None:
    key = await auth.issue_api_key(pool, "hotline")
    revoked = await auth.issue_api_key(pool, "old-desk")
    await auth.revoke_api_key(pool, "old-desk")
    address = Window("address:198.51.100.7", limit=10, seconds=HOUR, anonymous_only=True)

    with_key = await rate_limits.hit(pool, [address], key_digest=auth.digest(key))
    with_revoked = await rate_limits.hit(pool, [address], key_digest=auth.digest(revoked))
    with_guess = await rate_limits.hit(pool, [address], token_digest=auth.digest("guessed"))

    assert with_key == []
    assert [c.hits for c in with_revoked + with_guess] == [1, 2]


async def test_concurrent_reservations_share_a_channels_window_exactly(pool: asyncpg.Pool) -> None:
    sms = rate_limits.Slots("sms", limit=25, seconds=HOUR)
    webhook = rate_limits.Slots("webhook", limit=100, seconds=HOUR)

    grants = await asyncio.gather(
        *(rate_limits.take_slots(pool, [(sms, 4), (webhook, 3)]) for _ in range(10))
    )

    by_channel = {c: [g.granted for gs in grants for g in gs if g.channel == c] for c in ("sms", "webhook")}
    assert sum(by_channel["sms"]) == 25 and sorted(by_channel["sms"]) == [0, 0, 0, 1] + [4] * 6
    assert by_channel["webhook"] == [3] * 10
    assert all(0 < g.resets_in <= HOUR for gs in grants for g in gs)
    row = await pool.fetchrow("SELECT used, window_limit FROM notify_rate_windows WHERE channel = 'sms'")
    assert (row["used"], row["window_limit"]) == (25, 25)


async def test_a_channels_next_window_grants_again(pool: asyncpg.Pool) -> None:
    sms = rate_limits.Slots("sms", limit=3, seconds=HOUR)
    [first] = await rate_limits.take_slots(pool, [(sms, 5)])
    [none] = await rate_limits.take_slots(pool, [(sms, 1)])
    await pool.execute("UPDATE notify_rate_windows SET window_start = now() - interval '2 hours'")
    [again] = await rate_limits.take_slots(pool, [(sms, 2)])

    assert (first.granted, none.granted, again.granted) == (3, 0, 2)
    assert await rate_limits.take_slots(pool, [(sms, 0)]) == []
