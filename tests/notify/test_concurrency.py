"""Several dispatchers at once, and the per-channel rate limit."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg

from petitionflow.notify import Dispatcher
from petitionflow.notify._delivery import channel_slots
from store.eventlog import append
from store.rate_limits import Slots
from tests.integration.story import Story
from tests.notify.conftest import add_directory, config
from tests.notify.receivers import Receiver


async def test_two_dispatchers_at_once_send_each_notification_once(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await add_directory(pool, receiver)
    envelopes = []
    for i in range(8):
        story = Story(f"p-{i + 1}")
        story.wait(timedelta(days=1))
        envelopes += story.envelopes
    await append(pool, envelopes)
    settings = config(receiver, batch=10, concurrency=4)
    one, two = Dispatcher(pool, settings), Dispatcher(pool, settings)
    try:
        for _ in range(30):
            done = await asyncio.gather(one.run_once(), two.run_once())
            if done == [0, 0]:
                break
    finally:
        await one.aclose()
        await two.aclose()
    keys = receiver.ids()
    assert len(keys) == len(set(keys)) == 8 * 9 + 8  # nine per petition, and the supervisor's copy
    assert one.counters.delivered > 0 and two.counters.delivered > 0
    assert one.counters.delivered + two.counters.delivered == 8 * 9


async def test_a_robot_over_its_rate_waits_its_turn(pool: asyncpg.Pool, receiver: Receiver) -> None:
    await add_directory(pool, receiver)
    story = Story("p-1")
    story.wait(timedelta(days=3, hours=12))  # at the county: its office is a WeCom robot
    await append(pool, story.envelopes)
    dispatcher = Dispatcher(pool, config(receiver, rate_limits={"wecom": 0.5}))
    try:
        while await dispatcher.run_once():
            pass
    finally:
        await dispatcher.aclose()
    deferred = await pool.fetch(
        "SELECT next_attempt_at, attempts FROM notifications WHERE sent_at IS NULL ORDER BY next_attempt_at"
    )
    wecom = receiver.at("/cgi-bin/webhook/send")
    # One in the two-second window, shared by every dispatcher: the rest wait (not tried, not failed).
    assert len(wecom) == 1 and deferred and all(r["attempts"] == 0 for r in deferred)
    assert dispatcher.counters.deferred == len(deferred) and dispatcher.counters.failed == 0


def test_a_channels_rate_becomes_a_window_of_whole_messages() -> None:
    slots = channel_slots({"sms": 20.0, "wecom": 0.33, "email": 2.5, "webhook": 0.0}, {"email": 4.0})
    assert slots["sms"] == Slots("sms", 20, 1.0)
    assert slots["wecom"] == Slots("wecom", 1, 1 / 0.33)  # one per three seconds: 19 a minute
    assert slots["email"] == Slots("email", 10, 4.0)
    assert "webhook" not in slots  # 0: unlimited, never reserved
