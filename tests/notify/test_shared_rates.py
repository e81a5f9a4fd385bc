"""A channel's rate limit holds for every dispatcher together (an SMS gateway's contract counts the
account's messages, not a process's): two dispatchers drain one outbox to the real receiver."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg

from petitionflow.notify import Dispatcher
from store.eventlog import append
from tests.integration.story import Story
from tests.notify.conftest import add_directory, config
from tests.notify.receivers import Receiver

PETITIONS = 8
MESSAGES = PETITIONS * 9 + PETITIONS  # nine per petition, and the supervisor's copy


async def escalations(pool: asyncpg.Pool, receiver: Receiver) -> None:
    await add_directory(pool, receiver)
    envelopes = []
    for i in range(PETITIONS):
        story = Story(f"p-{i + 1}")
        story.wait(timedelta(days=1))
        envelopes += story.envelopes
    await append(pool, envelopes)


def hooks(receiver: Receiver) -> int:
    """Messages the webhook channel delivered (the offices' and people's webhooks)."""
    return sum(r.path.startswith("/hook/") for r in receiver.received)


async def unsent(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM notifications WHERE sent_at IS NULL"))


async def test_two_dispatchers_together_send_no_more_than_a_windows_limit(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await escalations(pool, receiver)
    # Six webhook messages a minute for the whole county; every other channel unlimited.
    settings = config(
        receiver, batch=10, concurrency=4, rate_limits={"webhook": 0.1}, rate_windows={"webhook": 60}
    )
    one, two = Dispatcher(pool, settings), Dispatcher(pool, settings)
    per_window: list[int] = []
    try:
        for _ in range(40):
            before = hooks(receiver)
            for _ in range(40):  # both dispatchers, until neither finds anything due
                if await asyncio.gather(one.run_once(), two.run_once()) == [0, 0]:
                    break
            per_window.append(hooks(receiver) - before)
            used = await pool.fetchval("SELECT used FROM notify_rate_windows WHERE channel = 'webhook'")
            assert used == per_window[-1]  # the limiter's record agrees with the receiver
            if await unsent(pool) == 0:
                break
            # The minute passes: the window ends, and what waited for it is due.
            await pool.execute(
                "UPDATE notify_rate_windows SET window_start = window_start - interval '1 hour'"
            )
            await pool.execute(
                "UPDATE notifications SET next_attempt_at = now()"
                " WHERE sent_at IS NULL AND next_attempt_at > now()"
            )
    finally:
        await one.aclose()
        await two.aclose()
    # Each window: six, though each dispatcher alone would have allowed six.
    assert per_window[0] == 6 and all(n <= 6 for n in per_window) and len(per_window) > 2
    assert one.counters.deferred + two.counters.deferred > 0
    assert one.counters.failed == two.counters.failed == 0
    # Everything arrived exactly once, and a wait for the window was never a try.
    keys = receiver.ids()
    assert len(keys) == len(set(keys)) == MESSAGES
    attempts = await pool.fetch("SELECT attempts, delivered_at IS NOT NULL AS done FROM notifications")
    assert all(r["done"] and r["attempts"] == 1 for r in attempts)


async def test_two_running_dispatchers_share_a_one_second_limit_and_deliver_everything_once(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await escalations(pool, receiver)
    limit = 20
    settings = config(receiver, batch=10, concurrency=4, rate_limits={"webhook": float(limit)})
    one, two = Dispatcher(pool, settings), Dispatcher(pool, settings)
    stop = asyncio.Event()
    loops = [asyncio.create_task(d.run(stop)) for d in (one, two)]
    try:
        for _ in range(1200):  # until the outbox is empty (not a time limit on the test's assertion)
            if await unsent(pool) == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*loops)
        await one.aclose()
        await two.aclose()
    keys = receiver.ids()
    assert len(keys) == len(set(keys)) == MESSAGES
    assert one.counters.delivered > 0 and two.counters.delivered > 0
    # A fixed window lets at most two windows' worth arrive within a second (one window's worth and
    # the next's first); unshared, each dispatcher's own burst and rate would let four arrive.
    arrived = sorted(r.arrived for r in receiver.received if r.path.startswith("/hook/"))
    first_second = [t for t in arrived if t < arrived[0] + 1.0]
    assert len(first_second) <= 2 * limit
