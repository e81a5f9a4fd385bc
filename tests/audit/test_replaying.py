"""A sweep's replay in worker processes finds what the replay in this process finds."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from petitionflow.audit import Check, read_export
from petitionflow.audit.exporting import histories
from petitionflow.audit.replaying import MIN_RUNS_PER_PROCESS, ReplayPool, replay
from petitionflow.audit.verify import verify_all
from tests.audit.conftest import AuditStack, settled
from tests.audit.variants import ChangedPetitionWorkflow
from tests.factories import filing
from workflows.petition import PetitionWorkflow

GOLDEN = Path(__file__).parents[1] / "histories"


def _runs(count: int) -> list[WorkflowHistory]:
    """``count`` runs with distinct run ids, cycling through every golden history (all generations)."""
    golden = [
        run
        for path in sorted([*GOLDEN.glob("*.json"), *GOLDEN.glob("v1/*.json"), *GOLDEN.glob("v2/*.json")])
        for run in histories(read_export(path))
    ]
    runs = []
    for i in range(count):
        events = [type(e)() for e in golden[i % len(golden)].events]
        for copy, original in zip(events, golden[i % len(golden)].events, strict=True):
            copy.CopyFrom(original)
        events[0].workflow_execution_started_event_attributes.original_execution_run_id = str(uuid.uuid4())
        runs.append(WorkflowHistory(f"petition-replayed-{i}", events))
    return runs


@pytest.fixture(scope="module")
def runs() -> list[WorkflowHistory]:
    return _runs(2 * MIN_RUNS_PER_PROCESS)


async def test_worker_processes_replay_every_run_and_name_the_same_failures(
    runs: list[WorkflowHistory],
) -> None:
    here = await replay(runs, [ChangedPetitionWorkflow])
    async with ReplayPool(2) as pool:
        assert await pool.replay(runs, [PetitionWorkflow]) == {}, "today's code replays every golden run"
        there = await pool.replay(runs, [ChangedPetitionWorkflow])
        assert len(pool.replayed_in) == 2 and os.getpid() not in pool.replayed_in
    # The changed code breaks every run that starts work at once; each is named once, as here.
    assert there == here
    assert len(there) > len(runs) // 2
    assert all(len(found) == 1 and found[0].run_id == run_id for run_id, found in there.items())
    assert "[TMPRL1100] Nondeterminism error" in next(iter(there.values()))[0].message


async def test_few_runs_replay_in_this_process(runs: list[WorkflowHistory]) -> None:
    few = runs[: 2 * MIN_RUNS_PER_PROCESS - 1]  # not enough for two processes
    async with ReplayPool(2) as pool:
        assert await pool.replay(few, [ChangedPetitionWorkflow]) == await replay(
            few, [ChangedPetitionWorkflow]
        )
        assert pool.replayed_in == set()


async def test_dead_workers_leave_the_replay_to_this_process(runs: list[WorkflowHistory]) -> None:
    here = await replay(runs, [ChangedPetitionWorkflow])
    async with ReplayPool(2) as pool:
        await pool.replay(runs[:1], [PetitionWorkflow])  # in this process: the workers still start
        executor = pool._executor
        assert executor is not None
        for _ in range(50):  # the workers are started by entering; wait until both are up
            if len(executor._processes) == 2:
                break
            await asyncio.sleep(0.1)
        for process in list(executor._processes.values()):
            process.kill()
        assert await pool.replay(runs, [ChangedPetitionWorkflow]) == here
        assert pool.replayed_in == set()


async def test_a_sweep_big_enough_replays_in_worker_processes_and_reports_as_one_process_does(
    audit_stack: AuditStack,
) -> None:
    ids = [f"swept-{i:03d}" for i in range(2 * MIN_RUNS_PER_PROCESS)]
    for pid in ids:
        await audit_stack.petitions.file(filing(pid))
    for pid in ids:
        await settled(audit_stack, pid)
    client, pool = audit_stack.env.client, audit_stack.pool

    clean = await verify_all(pool, client=client, processes=2)
    assert clean.ok and [r.petition_id for r in clean.reports] == ids
    assert "the histories replayed in 2 worker processes" in clean.notes

    here = await verify_all(pool, client=client, processes=1, workflows=[ChangedPetitionWorkflow])
    there = await verify_all(pool, client=client, processes=2, workflows=[ChangedPetitionWorkflow])
    assert not there.ok and all(Check.REPLAY in [f.check for f in r.findings] for r in there.reports)
    assert [r.findings for r in there.reports] == [r.findings for r in here.reports]
    assert "the histories replayed in 2 worker processes" not in here.notes


async def test_the_workers_start_without_the_deployments_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys and secrets passed in the environment stay in this process (the workers decode nothing)."""
    monkeypatch.setenv("PETITIONFLOW_KEYS", "key-a:c2VjcmV0")
    monkeypatch.setenv("PETITIONFLOW_LINK_SECRET", "link-secret")
    async with ReplayPool(2) as pool:
        assert pool._executor is not None
        loop = asyncio.get_running_loop()
        seen = await asyncio.gather(
            *(loop.run_in_executor(pool._executor, os.getenv, name) for name in ("PETITIONFLOW_KEYS",) * 4),
            loop.run_in_executor(pool._executor, os.getenv, "PETITIONFLOW_LINK_SECRET"),
            loop.run_in_executor(pool._executor, os.getenv, "PATH"),
        )
    assert seen[:5] == [None] * 5 and seen[5], "no setting reaches a worker; the rest of the environment does"
    assert os.environ["PETITIONFLOW_KEYS"] == "key-a:c2VjcmV0", "this process keeps its own"
