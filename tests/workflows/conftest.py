"""Workflow tests run the real Petition workflow on Temporal's time-skipping test server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.memory import MemoryEventLogActivities
from petitionflow.client import PetitionClient
from workflows.petition import PetitionWorkflow


class FakeEventLog(MemoryEventLogActivities):
    """Stands in for the PostgreSQL append activity: the in-memory event log (``store.memory``), with
    the same hashes, conflicts, gaps and tentative zone.

    With ``refuse_local`` it fails every local attempt, as a database that is down would; with
    ``stall_local`` it makes each local attempt wait that many seconds first, as a slow one would.
    ``calls`` counts the append attempts that reached the log.
    """

    def __init__(self, *, refuse_local: bool = False, stall_local: float = 0.0) -> None:
        super().__init__()
        self.refuse_local = refuse_local
        self.stall_local = stall_local
        self.calls = 0

    async def _maybe_refuse(self, local: bool) -> None:
        if local:
            if self.refuse_local:
                raise ConnectionRefusedError("the event log is down (local attempts refused)")
            await asyncio.sleep(self.stall_local)

    async def before_append(self, *, local: bool) -> None:
        await self._maybe_refuse(local)
        self.calls += 1

    async def before_record(self, *, local: bool) -> None:
        await self._maybe_refuse(local)

    def types(self, petition_id: str) -> list[str]:
        return [e.event.type for e in self.events.get(petition_id, [])]


@dataclass
class Stack:
    env: WorkflowEnvironment
    client: Client
    petitions: PetitionClient
    log: FakeEventLog
    task_queue: str


@asynccontextmanager
async def running(
    env: WorkflowEnvironment, log: FakeEventLog, workflow: type = PetitionWorkflow
) -> AsyncIterator[Stack]:
    """A worker for ``workflow`` on a fresh task queue, storing into ``log``."""
    task_queue = str(uuid.uuid4())
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[workflow],
        activities=[log.append_events, log.record_petitioner],
    ):
        yield Stack(env, env.client, PetitionClient(env.client, task_queue=task_queue), log, task_queue)


@pytest.fixture
async def stack(env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    """A worker on a fresh task queue with an in-memory event log."""
    async with running(env, FakeEventLog()) as started:
        yield started
