"""The real workflow with the real event-log activity: Temporal (time-skipping) and PostgreSQL agree."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

import worker
from petitionflow.client import PetitionClient
from schemas.commands import AcknowledgeInput, AssessInput, RateInput, ResolveInput
from schemas.common import AssessmentDecision, Clock, ClosedReason, Outcome, Rating, Stage, Tier
from store import eventlog, queries
from store.rebuild import dump_read_models, rebuild_read_models
from tests.factories import filing, official, petitioner
from workflows.lifecycle import fold


async def _stored_count(pool: asyncpg.Pool, petition_id: str, count: int) -> None:
    for _ in range(200):
        if await pool.fetchval("select count(*) from events where petition_id = $1", petition_id) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the event log never reached {count} events for {petition_id}")


@pytest.mark.parametrize("sandboxed", [False, True], ids=["unsandboxed", "sandboxed"])
async def test_events_read_models_and_the_workflow_view_agree(
    env: WorkflowEnvironment, pool: asyncpg.Pool, sandboxed: bool
) -> None:
    """Both ways the worker can run workflow code (``PETITIONFLOW_WORKFLOW_SANDBOX``)."""
    task_queue = str(uuid.uuid4())
    petitions = PetitionClient(env.client, task_queue=task_queue)
    async with worker.build_worker(env.client, pool, task_queue=task_queue, sandboxed=sandboxed):
        await petitions.file(filing("e2e"))
        await env.sleep(timedelta(days=1, hours=1))  # the village lets its respond deadline pass
        township = official(Tier.TOWNSHIP)
        await petitions.act("e2e", AcknowledgeInput(actor=township))
        await petitions.act("e2e", AssessInput(actor=township, decision=AssessmentDecision.ACCEPT))
        await petitions.act(
            "e2e",
            ResolveInput(
                actor=township, outcome=Outcome.RESOLVED, public_summary="Bridge rebuilt by the township."
            ),
        )
        view = await petitions.act("e2e", RateInput(actor=petitioner(), rating=Rating.SATISFIED))
        await _stored_count(pool, "e2e", view.seq)

    assert (view.tier, view.stage, view.closed_reason, view.deadlines_missed) == (
        Tier.TOWNSHIP,
        Stage.CLOSED,
        ClosedReason.SATISFIED,
        1,
    )
    stored = await eventlog.read_events(pool, "e2e")
    assert [e.seq for e in stored] == list(range(1, view.seq + 1))
    assert [e.event.type for e in stored] == [
        "PetitionFiled",
        "ReminderDue",
        "ReminderDue",
        "DeadlineMissed",
        "Escalated",
        "Acknowledged",
        "Assessed",
        "Resolved",
        "FeedbackReceived",
        "Closed",
    ]
    missed = stored[3].event
    assert (missed.type, getattr(missed, "clock", None)) == ("DeadlineMissed", Clock.RESPOND)

    assert fold(e.event for e in stored) == view, "the event log folds to the workflow's own view"
    row = await queries.get_petition(pool, "e2e")
    assert row is not None
    assert (row.state, row.tier, row.stage, row.last_seq) == (view, Tier.TOWNSHIP, Stage.CLOSED, view.seq)
    assert await eventlog.verify_chain(pool, "e2e") == []
    wall = await queries.echo_wall(pool)
    assert [(entry.petition_id, entry.tier, entry.public_summary) for entry in wall] == [
        ("e2e", Tier.TOWNSHIP, "Bridge rebuilt by the township.")
    ]
    petitioner_row = await pool.fetchrow("select name from petitioners where petitioner_id = 'hh-0042'")
    assert petitioner_row is not None and petitioner_row["name"] == "Wang Fang"

    before = await dump_read_models(pool)
    await rebuild_read_models(pool)
    assert await dump_read_models(pool) == before, "the read models equal a rebuild from events"
