"""Nothing is lost or written twice when workers die, PostgreSQL goes away or the stack restarts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
import pytest

from petitionflow.client import PetitionClient
from schemas.commands import AcknowledgeInput, AssessInput, RateInput, ResolveInput
from schemas.common import AssessmentDecision, Outcome, Rating, Stage, Tier
from schemas.policy import Policy, TierDeadlines
from store import eventlog
from store.rebuild import dump_read_models, rebuild_read_models
from tests.factories import filing, official, petitioner
from tests.faults.conftest import Servers
from workflows.lifecycle import fold

LOAD = 60
"""Petitions per test, each carried through five steps."""


@dataclass
class Progress:
    """Counts finished petitions and says when ``milestone`` of them are done."""

    milestone: int = LOAD // 5
    done: int = 0
    reached: asyncio.Event = field(default_factory=asyncio.Event)

    def one_more(self) -> None:
        self.done += 1
        if self.done >= self.milestone:
            self.reached.set()


async def carry(petitions: PetitionClient, petition_id: str, progress: Progress) -> None:
    """File a petition and take it all the way to closed."""
    actor = official(Tier.VILLAGE)
    await petitions.file(filing(petition_id))
    await petitions.act(petition_id, AcknowledgeInput(actor=actor))
    await petitions.act(petition_id, AssessInput(actor=actor, decision=AssessmentDecision.ACCEPT))
    await petitions.act(
        petition_id, ResolveInput(actor=actor, outcome=Outcome.RESOLVED, public_summary="Done.")
    )
    await petitions.act(petition_id, RateInput(actor=petitioner(), rating=Rating.SATISFIED))
    progress.one_more()


async def load(petitions: PetitionClient, ids: list[str], progress: Progress) -> None:
    gate = asyncio.Semaphore(15)

    async def one(petition_id: str) -> None:
        async with gate:
            await carry(petitions, petition_id, progress)

    await asyncio.gather(*(one(i) for i in ids))


async def verify_everything(database_url: str, petitions: PetitionClient, ids: list[str]) -> int:
    """Every event of every petition exactly once, every chain intact, read models = a rebuild.

    Returns the number of events checked.
    """
    async with asyncpg.create_pool(database_url, min_size=1, max_size=4) as pool:
        views = {i: await petitions.view(i) for i in ids}
        expected = sum(v.seq for v in views.values())
        deadline = time.monotonic() + 120
        while await pool.fetchval("select count(*) from events") < expected:
            assert time.monotonic() < deadline, "the event log never caught up"
            await asyncio.sleep(0.5)
        assert await pool.fetchval("select count(*) from events") == expected
        for petition_id, view in views.items():
            stored = await eventlog.read_events(pool, petition_id)
            assert [e.seq for e in stored] == list(range(1, view.seq + 1)), petition_id
            assert fold(e.event for e in stored) == view, petition_id
            assert await eventlog.verify_chain(pool, petition_id) == [], petition_id
        before = await dump_read_models(pool)
        await rebuild_read_models(pool)
        assert await dump_read_models(pool) == before
        return expected


async def _superseded(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        count: int = await connection.fetchval("SELECT count(*) FROM superseded_events")
    finally:
        await connection.close()
    return count


async def test_a_worker_killed_mid_load_loses_nothing(
    servers: Servers, petitions: PetitionClient, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    first = servers.start_worker()
    ids = [f"kill-{n}" for n in range(LOAD)]
    progress = Progress()
    running = asyncio.create_task(load(petitions, ids, progress))
    await progress.reached.wait()
    servers.kill(first)
    killed_at = progress.done
    servers.start_worker()
    await running

    assert 0 < killed_at < LOAD
    assert {(await petitions.view(i)).stage for i in ids} == {Stage.CLOSED}
    events = await verify_everything(servers.database_url, petitions, ids)
    # Events a killed workflow task had written (local activity) before its retry replaced them.
    replaced = await _superseded(servers.database_url)
    with capsys.disabled():
        print(
            f"\n[fault] worker SIGKILL after {killed_at}/{LOAD} petitions: all {LOAD} closed, "
            f"{events} events each stored once, chains verified, read models = rebuild, "
            f"{replaced} written by killed workflow tasks and replaced by their retries, "
            f"{time.monotonic() - started:.1f}s"
        )


async def test_postgres_down_for_30_seconds_loses_nothing(
    servers: Servers, petitions: PetitionClient, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    servers.start_worker()
    ids = [f"outage-{n}" for n in range(LOAD)]
    progress = Progress()
    running = asyncio.create_task(load(petitions, ids, progress))
    await progress.reached.wait()
    await asyncio.to_thread(servers.postgres.stop)
    stopped_at = progress.done
    await asyncio.sleep(30)
    answered_while_down = progress.done - stopped_at
    await asyncio.to_thread(servers.postgres.start)
    await running

    assert answered_while_down > 0, "officials are answered while the database is away"
    events = await verify_everything(servers.database_url, petitions, ids)
    with capsys.disabled():
        print(
            f"\n[fault] PostgreSQL stopped 30s after {stopped_at}/{LOAD} petitions; "
            f"{answered_while_down} completed while it was down; after restart {events} events stored "
            f"once each, chains verified, read models = rebuild, {time.monotonic() - started:.1f}s"
        )


def _quick_village(seconds: float) -> Policy:
    quick = TierDeadlines(respond_within=timedelta(seconds=seconds), resolve_within=timedelta(hours=1))
    slow = TierDeadlines(respond_within=timedelta(hours=1), resolve_within=timedelta(hours=2))
    return Policy(normal={Tier.VILLAGE: quick, Tier.TOWNSHIP: slow, Tier.COUNTY: slow, Tier.CITY: slow})


async def test_timers_fire_after_the_whole_stack_restarts(
    servers: Servers, capsys: pytest.CaptureFixture[str]
) -> None:
    import worker as wiring

    started = time.monotonic()
    servers.start_worker()
    client = PetitionClient(await wiring.connect(servers.temporal.address))
    ids = [f"restart-{n}" for n in range(20)]
    for petition_id in ids:
        await client.file(filing(petition_id, policy=_quick_village(8)))
    await asyncio.sleep(1)
    servers.stop_workers()
    servers.temporal.stop()
    await asyncio.to_thread(servers.postgres.stop)
    await asyncio.sleep(10)  # every village deadline passes while nothing runs

    await asyncio.to_thread(servers.postgres.start)
    servers.temporal.start()
    await servers.temporal.wait_ready()
    servers.start_worker()
    client = PetitionClient(await wiring.connect(servers.temporal.address))
    deadline = time.monotonic() + 60
    while {(await client.view(i)).tier for i in ids} != {Tier.TOWNSHIP}:
        assert time.monotonic() < deadline, "timers did not fire after the restart"
        await asyncio.sleep(0.5)
    events = await verify_everything(servers.database_url, client, ids)
    with capsys.disabled():
        print(
            f"\n[fault] whole stack stopped for 10s with {len(ids)} village deadlines pending: "
            f"after restart all {len(ids)} escalated to the township, {events} events verified, "
            f"{time.monotonic() - started:.1f}s"
        )


async def test_two_workers_on_one_queue_double_nothing(
    servers: Servers, petitions: PetitionClient, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    servers.start_worker()
    servers.start_worker()
    ids = [f"pair-{n}" for n in range(LOAD)]
    await load(petitions, ids, Progress())
    events = await verify_everything(servers.database_url, petitions, ids)
    with capsys.disabled():
        print(
            f"\n[fault] two workers on one task queue: {LOAD} petitions, {events} events, none doubled, "
            f"{time.monotonic() - started:.1f}s"
        )
