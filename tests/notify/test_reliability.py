"""Delivery you can trust: a receiver down for 30 s, a dispatcher killed mid-batch, quiet hours."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from zoneinfo import ZoneInfo

import asyncpg

from petitionflow.notify import Dispatcher
from store.eventlog import append
from store.outbox import list_notifications
from tests.integration.story import Story
from tests.notify.conftest import add_directory, config
from tests.notify.receivers import Receiver, receiving

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def eventually(condition: Callable[[], bool], *, within: float, every: float = 0.1) -> None:
    """Return once ``condition()`` holds, or after ``within`` seconds (the assertions then tell)."""
    for _ in range(int(within / every)):
        if condition():
            return
        await asyncio.sleep(every)


async def _file_many(pool: asyncpg.Pool, count: int) -> list[int]:
    """``count`` petitions, each escalated once: 11 notifications apiece, none to a household by SMS
    except the escalation notice."""
    envelopes = []
    for i in range(count):
        story = Story(f"p-{i + 1}")
        story.wait(timedelta(days=1))
        envelopes += story.envelopes
    await append(pool, envelopes)
    return [n.id for i in range(count) for n in await list_notifications(pool, f"p-{i + 1}")]


def _expected_keys(ids: list[int], rows: list[tuple[int, str, str]]) -> set[str]:
    keys = {str(i) for i in ids}
    keys |= {
        f"{i}-supervisor" for i, kind, role in rows if kind == "deadline_missed" and role == "tier_office"
    }
    return keys


async def _rows(pool: asyncpg.Pool) -> list[tuple[int, str, str]]:
    return [
        (r["id"], r["kind"], r["recipient_role"]) for r in await pool.fetch("SELECT * FROM notifications")
    ]


def _arrived(receiver: Receiver) -> set[str]:
    return {r.body.get("id") or r.body.get("OutId") or "" for r in receiver.received} | {
        r.headers.get("idempotency-key", "") for r in receiver.received
    } - {""}


async def test_a_receiver_down_for_30_seconds_gets_everything_after(pool: asyncpg.Pool) -> None:
    receiver = Receiver()  # not started: nothing listens on its port yet
    await add_directory(pool, receiver)
    ids = await _file_many(pool, 5)
    dispatcher = Dispatcher(
        pool, config(receiver, backoff_initial=timedelta(seconds=1), backoff_max=timedelta(seconds=4))
    )
    running = asyncio.create_task(dispatcher.run())
    started = time.monotonic()
    try:
        await asyncio.sleep(30)
        tries_while_down = dispatcher.counters.retried
        assert dispatcher.counters.delivered == 0 and tries_while_down >= len(ids) * 3
        await receiver.start()
        up = time.monotonic()
        expected = _expected_keys(ids, await _rows(pool))
        await eventually(lambda: _arrived(receiver) >= expected, within=15)
        after = time.monotonic() - up
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await dispatcher.aclose()
        await receiver.stop()
    print(f"down {up - started:.1f} s, {tries_while_down} failed tries;", end=" ")
    print(f"all {len(expected)} arrived {after:.1f} s after")
    assert _arrived(receiver) == expected
    assert after < 10  # the backoff is capped at 4 s (and this machine is shared)
    rows = await pool.fetch("SELECT attempts, delivered_at, failed_at, last_error FROM notifications")
    assert all(
        r["delivered_at"] is not None and r["failed_at"] is None and r["last_error"] is None for r in rows
    )
    assert min(r["attempts"] for r in rows) >= 4  # each tried, and backed off, while the receiver was down


async def test_a_dispatcher_killed_mid_batch_loses_nothing(pool: asyncpg.Pool) -> None:
    async with receiving(delay=0.05) as receiver:
        await add_directory(pool, receiver)
        ids = await _file_many(pool, 10)
        expected = _expected_keys(ids, await _rows(pool))
        settings = config(receiver, concurrency=4, batch=50, lease=timedelta(seconds=1))
        first = Dispatcher(pool, settings)
        running = asyncio.create_task(first.run())
        await eventually(lambda: len(receiver.received) >= 20, within=20, every=0.01)
        running.cancel()  # killed mid-batch: some delivered, none of this batch marked
        await asyncio.gather(running, return_exceptions=True)
        await first.aclose()
        arrived_before = len(receiver.received)
        unmarked = await pool.fetchval("SELECT count(*) FROM notifications WHERE sent_at IS NULL")
        assert arrived_before >= 20 and unmarked == len(ids)  # the batch in flight was never marked
        second = Dispatcher(pool, settings)
        running = asyncio.create_task(second.run())
        try:
            for _ in range(200):
                if not await pool.fetchval("SELECT count(*) FROM notifications WHERE sent_at IS NULL"):
                    break
                await asyncio.sleep(0.1)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await second.aclose()
    arrived = _arrived(receiver)
    duplicates = len(receiver.received) - len(arrived)
    print(f"killed after {arrived_before} arrivals; {unmarked} unmarked; {duplicates} sent twice (same key)")
    assert arrived == expected
    assert duplicates > 0  # at least once: what was in flight went again, under the same key
    assert await pool.fetchval("SELECT count(*) FROM notifications WHERE delivered_at IS NULL") == 0


async def test_quiet_hours_hold_a_households_sms_until_morning(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await add_directory(pool, receiver)
    story = Story("p-1")
    story.wait(timedelta(days=1))
    await append(pool, story.envelopes)
    today = datetime.now(SHANGHAI).date()
    clock = [
        datetime.combine(today + timedelta(days=1), datetime.min.time(), SHANGHAI).replace(hour=23, minute=30)
    ]
    quiet = config(receiver, quiet_start=day_time(22, 0), quiet_end=day_time(7, 0))
    dispatcher = Dispatcher(pool, quiet, clock=lambda: clock[0])
    try:
        while await dispatcher.run_once():
            pass
        assert receiver.at("/aliyun/") == []  # 23:30 in Shanghai: no SMS to a household
        assert receiver.at("/hook/township")  # offices are told at once
        (held,) = await pool.fetch("SELECT * FROM notifications WHERE sent_at IS NULL")
        assert held["recipient_role"] == "petitioner" and held["attempts"] == 0
        morning = datetime.combine(today + timedelta(days=2), datetime.min.time(), SHANGHAI).replace(hour=7)
        assert held["next_attempt_at"] == morning.astimezone(UTC)
        clock[0] = morning - timedelta(minutes=1)
        assert await dispatcher.run_once() == 0  # 06:59: still held
        clock[0] = morning + timedelta(minutes=1)
        assert await dispatcher.run_once() == 1
    finally:
        await dispatcher.aclose()
    (sms,) = receiver.at("/aliyun/")
    assert sms.body["OutId"] == str(held["id"])
    assert dispatcher.counters.deferred == 1 and dispatcher.counters.delivered == 9
