"""Nothing is sent for events that may still be replaced: a local activity's events wait until
Temporal's history shows their workflow task recorded, and are then released promptly."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

import worker
from petitionflow.client import PetitionClient
from petitionflow.notify import Dispatcher
from store.eventlog import Tentative, append
from store.outbox import claim_notifications, held_back
from store.recorded import confirm_recorded
from tests.factories import filing
from tests.integration.story import Story
from tests.notify.conftest import add_directory, config
from tests.notify.receivers import Receiver


async def test_a_tentative_append_is_held_until_its_history_is_confirmed(
    env: WorkflowEnvironment, pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await add_directory(pool, receiver)
    task_queue = str(uuid.uuid4())
    petitions = PetitionClient(env.client, task_queue=task_queue)
    async with worker.build_worker(env.client, pool, task_queue=task_queue):
        await petitions.file(filing("p-1", petitioner_id="hh-p-1"))
        for _ in range(100):
            if await pool.fetchval("SELECT count(*) FROM notifications WHERE petition_id = 'p-1'"):
                break
            await asyncio.sleep(0.05)
        # The filing went by a local activity inside the workflow task that decided it.
        stream = await pool.fetchrow(
            "SELECT last_seq, recorded_through FROM streams WHERE petition_id = 'p-1'"
        )
        assert (stream["last_seq"], stream["recorded_through"]) == (1, 0)
        assert await claim_notifications(pool, lease=timedelta(0)) == []  # held: not claimable
        assert await held_back(pool) == [("p-1", 1)]
        dispatcher = Dispatcher(pool, config(receiver, confirm_after=timedelta(0)), client=env.client)
        running = asyncio.create_task(dispatcher.run())
        try:
            for _ in range(100):
                if len(receiver.received) >= 2:
                    break
                await asyncio.sleep(0.05)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await dispatcher.aclose()
    assert sorted(r.body["kind"] for r in receiver.received) == ["cadre_told_of_filing", "petition_filed"]
    assert await pool.fetchval("SELECT recorded_through FROM streams WHERE petition_id = 'p-1'") == 1
    assert dispatcher.counters.confirmed == 2


async def test_events_of_a_task_temporal_never_recorded_are_never_sent(
    env: WorkflowEnvironment, pool: asyncpg.Pool, receiver: Receiver
) -> None:
    """A lost task's append (no workflow in Temporal holds it) stays held, however often it is asked."""
    await add_directory(pool, receiver)
    story = Story("p-lost")
    story.wait(timedelta(days=1))
    await append(pool, story.envelopes[:1])  # the filing, recorded
    await append(pool, story.envelopes[1:], tentative=Tentative(from_seq=2, at=datetime.now(UTC)))
    dispatcher = Dispatcher(pool, config(receiver, confirm_after=timedelta(0)), client=env.client)
    try:
        for _ in range(5):
            await dispatcher.run_once()
            assert dispatcher._confirmer is not None
            dispatcher._confirmer._next_ask.clear()
            assert await dispatcher._confirmer.confirm_held() == 0
    finally:
        await dispatcher.aclose()
    assert sorted(r.body["kind"] for r in receiver.received) == ["cadre_told_of_filing", "petition_filed"]
    assert await pool.fetchval("SELECT count(*) FROM notifications WHERE sent_at IS NULL") == 7


async def test_the_mark_rises_only_over_events_the_history_holds_byte_for_byte(pool: asyncpg.Pool) -> None:
    story = Story("p-1")
    story.wait(timedelta(days=1))
    await append(pool, story.envelopes[:1])
    await append(pool, story.envelopes[1:], tentative=Tentative(from_seq=2, at=datetime.now(UTC)))
    other = Story("p-1")  # the same petition decided another way by a retried task
    other.acknowledge(after=timedelta(minutes=5))
    assert await confirm_recorded(pool, other.envelopes) == 1  # seq 2 differs: stays held
    assert await confirm_recorded(pool, story.envelopes[:3]) == 3  # what the history shows, no further
    assert await confirm_recorded(pool, story.envelopes) == len(story.envelopes)
    assert await confirm_recorded(pool, story.envelopes[:2]) == len(story.envelopes)  # never lowered
