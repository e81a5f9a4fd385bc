"""How fast the auditor verifies: ``.venv/bin/python -m bench.audit_verify [--petitions N]``.

Starts its own embedded PostgreSQL (a temporary folder) and Temporal time-skipping servers; needs
nothing running. Prints three figures:

1. one petition with ~1,000 events, run through the real workflow and event-log activity (reopen
   loops), verified on every check: export (histories + rows), replay, chain, fold, history, view
   and read-model comparison;
2. ``verify --all`` over 10,000 petitions (~10 events each, built with the decider and appended
   through the real event log): the PostgreSQL side — chain, fold, read-model comparison;
3. the Temporal side of ``verify --all`` (fetch every run's history and replay it) on a smaller
   sample of petitions run through the real workflow, because running 10,000 workflows on the
   time-skipping server would time the server, not the auditor: replayed in worker processes (one
   per core, the default), then in this process alone (``--processes 1``).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path

import asyncpg

import worker
from petitionflow.audit import verify, verify_all
from petitionflow.client import PetitionClient
from petitionflow.dev.embedded_pg import EmbeddedPostgres, free_port
from petitionflow.dev.testing import time_skipping
from schemas.commands import (
    AcknowledgeInput,
    AssessInput,
    FilePetitionInput,
    RateInput,
    RecordReturnVisitInput,
    ResolveInput,
)
from schemas.common import AssessmentDecision, Outcome, Rating, Tier
from schemas.events import Envelope
from schemas.state import PetitionState
from store import eventlog
from store.migrate import migrate
from tests.factories import T0, contact_cadre, filing, official, petitioner
from tests.histories.record import settle
from workflows import lifecycle

H = timedelta(hours=1)
VILLAGE = official(Tier.VILLAGE)
_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def _rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


# ----------------------------------------------------------------- 1. one petition, 1,000 events


async def one_long_petition(pool: asyncpg.Pool, target: int) -> None:
    async with time_skipping() as env:
        task_queue = str(uuid.uuid4())
        petitions = PetitionClient(env.client, task_queue=task_queue)
        async with worker.build_worker(env.client, pool, task_queue=task_queue):
            started = time.perf_counter()
            await petitions.file(filing("long"))
            await petitions.act("long", AcknowledgeInput(actor=VILLAGE))
            await petitions.act("long", AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT))
            seq = 3
            while seq + 6 <= target:  # resolved, rated, closed, visit failed, reopened, assessed
                await petitions.act(
                    "long", ResolveInput(actor=VILLAGE, outcome=Outcome.RESOLVED, public_summary="Fixed.")
                )
                await petitions.act("long", RateInput(actor=petitioner(), rating=Rating.SATISFIED))
                await petitions.act("long", RecordReturnVisitInput(actor=contact_cadre(), held=False))
                view = await petitions.act(
                    "long", AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT)
                )
                seq = view.seq
            await settle(petitions, pool, "long")
            built = time.perf_counter() - started
            began = time.perf_counter()
            report = await verify(env.client, pool, "long")
            took = time.perf_counter() - began
    assert report.ok, report.findings
    print(
        f"1. one petition, {report.events} events, {report.runs} run(s) (built in {built:.1f}s):"
        f" full verify {took:.2f}s = {_rate(report.events, took)} events"
    )


# ------------------------------------------------------------ 2. 10,000 petitions, PostgreSQL side


def _petition(petition_id: str) -> list[Envelope]:
    """~10 events: reminders, an answer on time, a rating, the return visit."""
    state: PetitionState | None = None
    envelopes: list[Envelope] = []
    steps: Sequence[tuple[lifecycle.Command | FilePetitionInput | None, timedelta]] = (
        (filing(petition_id), timedelta(0)),
        (AcknowledgeInput(actor=VILLAGE), 13 * H),
        (AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT), 14 * H),
        (ResolveInput(actor=VILLAGE, outcome=Outcome.RESOLVED, public_summary="Fixed."), 130 * H),
        (RateInput(actor=petitioner(), rating=Rating.SATISFIED), 140 * H),
        (None, 140 * H + 31 * 24 * H),
        (RecordReturnVisitInput(actor=contact_cadre(), held=True), 140 * H + 32 * 24 * H),
    )
    for command, offset in steps:
        now = T0 + offset
        if command is None:
            assert state is not None
            events = lifecycle.catch_up(state, now)
        else:
            events = lifecycle.decide(state, command, now)
        for event in events:
            state = lifecycle.evolve(state, event)
            envelopes.append(Envelope(petition_id=petition_id, seq=state.seq, event=event))
    return envelopes


async def many_petitions(pool: asyncpg.Pool, count: int) -> None:
    started = time.perf_counter()
    batch: list[Envelope] = []
    for i in range(count):
        batch += _petition(f"bulk-{i:06d}")
        if len(batch) >= 5_000:
            await eventlog.append(pool, batch)
            batch = []
    if batch:
        await eventlog.append(pool, batch)
    built = time.perf_counter() - started
    began = time.perf_counter()
    sweep = await verify_all(pool, client=None)
    took = time.perf_counter() - began
    events = sum(r.events for r in sweep.reports)
    assert sweep.ok and len(sweep.reports) == count
    print(
        f"2. verify --all, PostgreSQL side (chain + fold + read model): {count:,} petitions,"
        f" {events:,} events (built in {built:.1f}s): {took:.2f}s ="
        f" {_rate(events, took)} events, {_rate(count, took)} petitions"
    )


# -------------------------------------------------------------- 3. the Temporal side, on a sample


async def temporal_sample(pool: asyncpg.Pool, count: int) -> None:
    async with time_skipping() as env:
        task_queue = str(uuid.uuid4())
        petitions = PetitionClient(env.client, task_queue=task_queue)
        async with worker.build_worker(env.client, pool, task_queue=task_queue):
            for i in range(count):
                pid = f"sample-{i:04d}"
                await petitions.file(filing(pid))
                await petitions.act(pid, AcknowledgeInput(actor=VILLAGE))
                await petitions.act(pid, AssessInput(actor=VILLAGE, decision=AssessmentDecision.ACCEPT))
                await petitions.act(
                    pid, ResolveInput(actor=VILLAGE, outcome=Outcome.RESOLVED, public_summary="Fixed.")
                )
                await petitions.act(pid, RateInput(actor=petitioner(), rating=Rating.SATISFIED))
            for i in range(count):
                await settle(petitions, pool, f"sample-{i:04d}")
            began = time.perf_counter()
            with_temporal = await verify_all(pool, client=env.client)
            took = time.perf_counter() - began
            began = time.perf_counter()
            in_process = await verify_all(pool, client=env.client, processes=1)
            here = time.perf_counter() - began
            began = time.perf_counter()
            await verify_all(pool, client=None)
            store_only = time.perf_counter() - began
    events = sum(r.events for r in with_temporal.reports)
    assert with_temporal.ok, [r.findings for r in with_temporal.reports if not r.ok][:1]
    assert in_process.ok and len(in_process.reports) == len(with_temporal.reports) == count
    workers = next((n for n in with_temporal.notes if "worker processes" in n), "replayed in this process")
    print(
        f"3. verify --all with Temporal (histories fetched + replayed) on a sample of {count} petitions,"
        f" {events} events: {took:.2f}s = {_rate(count, took)} petitions, {_rate(events, took)} events"
        f" ({workers}; of which PostgreSQL side {store_only:.2f}s)"
    )
    print(
        f"   the same, replayed in this process alone (--processes 1): {here:.2f}s ="
        f" {_rate(count, here)} petitions"
    )


async def main(petitions: int, long_events: int, sample: int) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedPostgres(Path(tmp) / "data", port=free_port(), settings=_SETTINGS) as pg,
    ):
        works: list[tuple[str, Callable[[asyncpg.Pool], Awaitable[None]]]] = [
            ("long", lambda pool: one_long_petition(pool, long_events)),
            ("many", lambda pool: many_petitions(pool, petitions)),
            ("sample", lambda pool: temporal_sample(pool, sample)),
        ]
        for name, work in works:
            pg.create_database(name)
            async with asyncpg.create_pool(pg.url(name), min_size=1, max_size=8) as pool:
                await migrate(pool)
                await work(pool)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--petitions", type=int, default=10_000)
    parser.add_argument("--long-events", type=int, default=1_000)
    parser.add_argument("--sample", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.petitions, args.long_events, args.sample))
