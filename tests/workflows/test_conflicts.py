"""A conflicting append never ends a petition: it is retried, visibly, until an operator settles it.

The real workflow, the real event-log activity and PostgreSQL, on the time-skipping server. Another
writer stores a different event at the seq the workflow sends next: the append is refused
(``EventConflict``), retried with backoff, and logged; ``petitionflow conflicts show`` sets the rows
beside the history; ``conflicts settle`` moves them aside; the petition goes on, timers and all.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import structlog
from click.testing import Result
from structlog.testing import capture_logs
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

import worker
from activities.eventlog import CONFLICT
from petitionflow.cli import app
from petitionflow.client import PetitionClient
from schemas.commands import AcknowledgeInput
from schemas.common import Tier
from schemas.events import Acknowledged, Envelope
from store import eventlog
from tests.factories import T0, filing, official
from workflows.lifecycle import fold


async def _stored(pool: asyncpg.Pool, petition_id: str) -> list[str]:
    return [e.event.type for e in await eventlog.read_events(pool, petition_id)]


async def _until_stored(pool: asyncpg.Pool, petition_id: str, count: int, env: WorkflowEnvironment) -> None:
    for _ in range(100):
        if len(await _stored(pool, petition_id)) >= count:
            return
        await env.sleep(timedelta(seconds=5))  # past the retry's backoff
    raise AssertionError(f"the event log never reached {count} events for {petition_id}")


async def _retrying_append(env: WorkflowEnvironment, petition_id: str, attempts: int) -> PendingActivityInfo:
    handle = env.client.get_workflow_handle(f"petition-{petition_id}")
    for _ in range(100):
        pending = [
            p
            for p in (await handle.describe()).raw_description.pending_activities
            if p.activity_type.name == "append_events"
        ]
        if pending and pending[0].attempt >= attempts:
            return pending[0]
        await env.sleep(timedelta(seconds=5))
    raise AssertionError(f"append_events of {petition_id} never reached attempt {attempts}")


async def _cli(env: WorkflowEnvironment, database_url: str, *args: str) -> Result:
    variables = {
        "PETITIONFLOW_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "PETITIONFLOW_DATABASE_URL": database_url,
        "COLUMNS": "200",
    }
    # In a thread: the CLI runs its own event loop while this one keeps the worker answering.
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=variables)


async def test_a_conflicting_append_waits_for_the_operator_and_the_petition_goes_on(
    env: WorkflowEnvironment, pool: asyncpg.Pool, database_url: str
) -> None:
    task_queue = str(uuid.uuid4())
    petitions = PetitionClient(env.client, task_queue=task_queue)
    village = official(Tier.VILLAGE)
    async with worker.build_worker(env.client, pool, task_queue=task_queue):
        await petitions.file(filing("clash"))
        await _until_stored(pool, "clash", 1, env)
        # Another writer takes seq 2 first (a second worker fleet, a hand edit): not the workflow's.
        planted = Acknowledged(
            at=T0, actor=official(Tier.VILLAGE, official_id="intruder"), tier=Tier.VILLAGE, note="planted"
        )
        await eventlog.append(pool, [Envelope(petition_id="clash", seq=2, event=planted)])

        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            view = await petitions.act("clash", AcknowledgeInput(actor=village))
            assert view.seq == 2, "the reply does not wait for the event log"
            pending = await _retrying_append(env, "clash", attempts=3)

        handle = env.client.get_workflow_handle("petition-clash")
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
        failure = pending.last_failure
        assert failure.message == (
            "petition clash: seq 2 already holds a different event; see `petitionflow conflicts show clash`"
        )
        assert failure.application_failure_info.type == CONFLICT
        assert not failure.application_failure_info.non_retryable
        conflicts = [entry for entry in logs if entry["event"] == "event_log_conflict"]
        assert len(conflicts) >= 3, "every attempt is logged"
        assert conflicts[-1].keys() == {
            "event",
            "log_level",
            "petition_id",
            "workflow_id",
            "run_id",
            "attempt",
            "local",
            "conflict_seq",
            "see",
        }, "ids and seqs only: no event content, nothing personal"
        assert (conflicts[-1]["petition_id"], conflicts[-1]["conflict_seq"]) == ("clash", 2)
        assert await _stored(pool, "clash") == ["PetitionFiled", "Acknowledged"]

        shown = await _cli(env, database_url, "conflicts", "show", "clash")
        assert shown.exit_code == 0, shown.output
        assert "petition clash: workflow running" in shown.stdout
        assert "UnsettledEventConflict" not in shown.stdout  # the message, not the type
        assert "seq 2 already holds a different event" in shown.stdout
        assert "actor.id: stored 'intruder', sent 'village-official'" in shown.stdout
        assert "body.note: stored 'planted', sent None" in shown.stdout
        assert "settle: petitionflow conflicts settle clash --seq 2" in shown.stdout

        wrong = await _cli(env, database_url, "conflicts", "settle", "clash", "--seq", "1")
        assert wrong.exit_code == 2
        assert (
            "seq 1 is not where the conflict starts: the event log first differs from the workflow at seq 2"
            in (" ".join(wrong.output.split()))
        )
        assert await _stored(pool, "clash") == ["PetitionFiled", "Acknowledged"], (
            "a refused settle moves nothing"
        )

        settled = await _cli(env, database_url, "conflicts", "settle", "clash", "--seq", "2")
        assert settled.exit_code == 0, settled.output
        assert "petition clash: seqs 2..2 moved to superseded_events" in " ".join(settled.stdout.split())

        await _until_stored(pool, "clash", 2, env)
        stored = await eventlog.read_events(pool, "clash")
        assert stored[1].event.actor == village, "the workflow's own event took seq 2"
        moved = await pool.fetch(
            "SELECT seq, actor->>'id' AS who FROM superseded_events WHERE petition_id = 'clash'"
        )
        assert [(r["seq"], r["who"]) for r in moved] == [(2, "intruder")]

        # The petition goes on: the village lets its resolve deadline (7 days) pass, and it climbs.
        await env.sleep(timedelta(days=8))
        view = await petitions.view("clash")
        assert view.tier is Tier.TOWNSHIP
        await _until_stored(pool, "clash", view.seq, env)
        stored = await eventlog.read_events(pool, "clash")
        assert "Escalated" in [e.event.type for e in stored]
        assert fold(e.event for e in stored) == view, "the event log folds to the workflow's view"
        assert await eventlog.verify_chain(pool, "clash") == []
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING

        verified = await _cli(env, database_url, "audit", "verify", "clash")
        assert verified.exit_code == 0, verified.output
        clean = await _cli(env, database_url, "conflicts", "show", "clash")
        assert "every event the workflow sent is stored: no append is waiting" in clean.stdout
